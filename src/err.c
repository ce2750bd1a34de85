/* err.c — error buffer helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "probed/err.h"

int
pd_err_set(struct pd_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *
pd_err_code_str(int code)
{
	switch (code) {
	case PD_OK:
		return "ok";
	case PD_ERR_NOMEM:
		return "out of memory";
	case PD_ERR_IO:
		return "i/o error";
	case PD_ERR_CONFIG:
		return "configuration error";
	case PD_ERR_DB:
		return "database error";
	case PD_ERR_INVALID:
		return "invalid argument";
	case PD_ERR_HTTP:
		return "http error";
	case PD_ERR_NOTFOUND:
		return "not found";
	default:
		return "unknown error";
	}
}

#define ERR_NEAREST_MAX 64 /* longer words are not typos of a key */

static int
err_fold(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A' + 'a';
	return ch == '-' ? '_' : ch;
}

/* Optimal string alignment distance of a and b (both at most ERR_NEAREST_MAX long). */
static size_t
err_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[3][ERR_NEAREST_MAX + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *t;

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			int ca = err_fold((unsigned char)a[i - 1]),
			    cb = err_fold((unsigned char)b[j - 1]);
			size_t d = prev[j - 1] + (ca != cb);

			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && ca == err_fold((unsigned char)b[j - 2]) &&
			    err_fold((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *
pd_err_nearest(const char *word, const char *const names[])
{
	const char *best = NULL;
	size_t lw, bestd, maxd;

	if (word == NULL || names == NULL)
		return NULL;
	lw = strlen(word);
	if (lw == 0 || lw > ERR_NEAREST_MAX)
		return NULL;
	/* 1 edit for short words, up to 3 for long ones: "tier" is not a typo of "type" */
	maxd = (lw + 1) / 3;
	if (maxd < 1)
		maxd = 1;
	if (maxd > 3)
		maxd = 3;
	bestd = maxd + 1;
	for (size_t i = 0; names[i] != NULL; i++) {
		size_t ln = strlen(names[i]), d;

		if (strcmp(word, names[i]) == 0)
			return NULL;
		if (ln > ERR_NEAREST_MAX || (ln > lw ? ln - lw : lw - ln) >= bestd)
			continue;
		d = err_distance(word, lw, names[i], ln);
		if (d < bestd && d < ln) {
			bestd = d;
			best = names[i];
		}
	}
	return best;
}
