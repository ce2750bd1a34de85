/* check_fresh.c — freshness of batch resources (kind: freshness): the day's batch and
 * its deadline, the timestamp field and its age, RFC 3339 parsing. Pure. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "probed/check.h"
#include "probed/clock.h"
#include "probed/hash.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/tlscert.h"
#include "check_int.h"

/* ---- freshness ---------------------------------------------------------- */

#define DAY_MS 86400000LL

static int64_t
floor_div64(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian; H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div64(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div64(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

void
pd_check_batch(const struct pd_probe_cfg *p, int64_t now_ms, char date[11], int64_t *due_ms)
{
	int64_t day = floor_div64(now_ms, DAY_MS);
	int y, m, d;

	if (now_ms - day * DAY_MS < p->fresh_deadline_ms)
		day--; /* before today's deadline: yesterday's batch */
	civil_from_days(day, &y, &m, &d);
	y = y < 0 ? 0 : (y > 9999 ? 9999 : y);
	date[0] = (char)('0' + y / 1000);
	date[1] = (char)('0' + y / 100 % 10);
	date[2] = (char)('0' + y / 10 % 10);
	date[3] = (char)('0' + y % 10);
	date[4] = '-';
	date[5] = (char)('0' + m / 10);
	date[6] = (char)('0' + m % 10);
	date[7] = '-';
	date[8] = (char)('0' + d / 10);
	date[9] = (char)('0' + d % 10);
	date[10] = '\0';
	if (due_ms != NULL)
		*due_ms = day * DAY_MS + p->fresh_deadline_ms;
}

/* Copy src to dst (cap bytes), each {date} replaced by date. */
void
pd_check_expand_date(char *dst, size_t cap, const char *src, size_t srclen, const char *date)
{
	size_t o = 0;

	for (size_t i = 0; i < srclen && o + 1 < cap;) {
		if (strncmp(src + i, "{date}", 6) == 0 && i + 6 <= srclen) {
			for (size_t j = 0; date[j] != '\0' && o + 1 < cap; j++)
				dst[o++] = date[j];
			i += 6;
		} else {
			dst[o++] = src[i++];
		}
	}
	if (cap > 0)
		dst[o] = '\0';
}

/* "27h", "2h05m", "45m", "30s" */
static void
age_format(int64_t ms, char *out, size_t cap)
{
	int64_t s = (ms < 0 ? -ms : ms) / 1000, h = s / 3600, m = (s % 3600) / 60;
	const char *sign = ms < 0 ? "-" : "";

	if (h > 0 && m > 0)
		snprintf(out, cap, "%s%lldh%02lldm", sign, (long long)h, (long long)m);
	else if (h > 0)
		snprintf(out, cap, "%s%lldh", sign, (long long)h);
	else if (m > 0)
		snprintf(out, cap, "%s%lldm", sign, (long long)m);
	else
		snprintf(out, cap, "%s%llds", sign, (long long)s);
}

/* A 404/410 for the batch: late by now - due. */
void
pd_check_fresh_missing(const struct pd_probe_cfg *p, int64_t now_ms, struct pd_result *out)
{
	const char *disp = p->url_display ? p->url_display : (p->url ? p->url : "");
	const char *path = strstr(disp, "://");
	char date[11], where[160], late[32], dl[8];
	size_t len;
	int64_t due;

	pd_check_batch(p, now_ms, date, &due);
	/* the resource, without scheme, host and query: "stats/archive/2026-11-22.json" */
	path = path ? strchr(path + 3, '/') : NULL;
	path = path ? path + 1 : disp;
	len = strcspn(path, "?#");
	pd_check_expand_date(where, sizeof(where), path, len, date);
	age_format(now_ms - due, late, sizeof(late));
	snprintf(dl, sizeof(dl), "%02d:%02d", (int)(p->fresh_deadline_ms / 3600000),
		 (int)(p->fresh_deadline_ms / 60000 % 60));
	out->outcome = PD_OUT_LATE;
	snprintf(out->verdict, sizeof(out->verdict),
		 "%s not there %s after the %s UTC deadline (status %d)",
		 where[0] ? where : "batch", late, dl, out->http_status);
}

/* Digits at *q (exactly n); -1 when not. */
int
pd_check_digits(const char **q, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*q)++) {
		if (**q < '0' || **q > '9')
			return -1;
		v = v * 10 + (**q - '0');
	}
	return v;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : days[m - 1];
}

/* RFC 3339 ("2026-11-22T05:05:32Z", ".123", "+02:00"; ' ' or 't' for T) -> ms. 0 ok. */
int
pd_check_rfc3339_parse(const char *s, int64_t *ms)
{
	const char *q = s;
	int y, mo, d, h, mi, se, frac = 0, fdig = 0;
	int64_t off = 0, v;

	/* the day must exist in its month (RFC 3339 5.7): 2026-11-31 is not December 1 */
	if ((y = pd_check_digits(&q, 4)) < 0 || *q++ != '-' || (mo = pd_check_digits(&q, 2)) < 1 ||
	    mo > 12 || *q++ != '-' || (d = pd_check_digits(&q, 2)) < 1 ||
	    d > days_in_month(y, mo) || (*q != 'T' && *q != 't' && *q != ' '))
		return -1;
	q++;
	if ((h = pd_check_digits(&q, 2)) < 0 || h > 23 || *q++ != ':' ||
	    (mi = pd_check_digits(&q, 2)) < 0 || mi > 59 || *q++ != ':' ||
	    (se = pd_check_digits(&q, 2)) < 0 || se > 60)
		return -1;
	if (*q == '.') {
		q++;
		if (*q < '0' || *q > '9')
			return -1;
		for (; *q >= '0' && *q <= '9'; q++, fdig++)
			if (fdig < 3)
				frac = frac * 10 + (*q - '0');
		for (int i = fdig; i < 3; i++)
			frac *= 10;
	}
	if (*q == 'Z' || *q == 'z') {
		q++;
	} else if (*q == '+' || *q == '-') {
		int sign = *q++ == '-' ? -1 : 1, oh, om;

		if ((oh = pd_check_digits(&q, 2)) < 0 || oh > 23 || *q++ != ':' ||
		    (om = pd_check_digits(&q, 2)) < 0 || om > 59)
			return -1;
		off = sign * ((int64_t)oh * 60 + om) * 60000;
	} else {
		return -1;
	}
	if (*q != '\0')
		return -1;
	v = days_from_civil(y, mo, d) * DAY_MS + ((int64_t)h * 3600 + mi * 60 + se) * 1000 + frac;
	*ms = v - off;
	return 0;
}

/* The freshness field (dotted path) of doc as ms since the epoch. 0 ok, -1 missing,
 * -2 not a timestamp. */
static int
fresh_field_ms(const cJSON *doc, const char *field, int64_t *ms)
{
	const cJSON *n = doc;
	const char *q = field;
	char key[128];

	while (*q != '\0' && n != NULL) {
		size_t len = strcspn(q, ".");

		if (len >= sizeof(key) || !cJSON_IsObject(n))
			return -1;
		memcpy(key, q, len);
		key[len] = '\0';
		n = cJSON_GetObjectItemCaseSensitive(n, key);
		q += len;
		if (*q == '.')
			q++;
	}
	if (n == NULL)
		return -1;
	if (cJSON_IsNumber(n)) {
		double v = n->valuedouble;

		if (!(v > -1e11 && v < 1e11))
			return -2; /* epoch seconds only */
		*ms = (int64_t)(v * 1000.0);
		return 0;
	}
	if (cJSON_IsString(n) && n->valuestring != NULL)
		return pd_check_rfc3339_parse(n->valuestring, ms) == 0 ? 0 : -2;
	return -2;
}

void
pd_check_fresh_field_check(const struct pd_probe_cfg *p, const cJSON *doc, int64_t now_ms,
			   struct pd_result *out)
{
	char age[32], max[32];
	int64_t ts = 0;
	int rc = doc ? fresh_field_ms(doc, p->fresh_field, &ts) : -1;

	if (rc != 0) {
		out->outcome = PD_OUT_SHAPE;
		snprintf(out->verdict, sizeof(out->verdict), "freshness field %.*s %s",
			 pd_check_utf8_prefix(p->fresh_field, 100), p->fresh_field,
			 rc == -1 ? "missing" : "is not a timestamp (RFC 3339 or epoch seconds)");
		return;
	}
	if (now_ms - ts > p->fresh_max_age_ms) {
		age_format(now_ms - ts, age, sizeof(age));
		age_format(p->fresh_max_age_ms, max, sizeof(max));
		out->outcome = PD_OUT_LATE;
		snprintf(out->verdict, sizeof(out->verdict), "%.*s is %s old > max_age %s",
			 pd_check_utf8_prefix(p->fresh_field, 100), p->fresh_field, age, max);
	}
}
