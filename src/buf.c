/* buf.c — capped, growable, NUL-terminated byte buffer; growing arrays (pd_buf_grow);
 * UTF-8 scrubbing of text. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/buf.h"
#include "probed/err.h"

void
pd_buf_init(struct pd_buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

static int
buf_reserve(struct pd_buf *b, size_t need)
{
	size_t ncap;
	char *p;

	if (need + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need + 1)
		ncap *= 2;
	p = realloc(b->data, ncap);
	if (p == NULL)
		return PD_ERR_NOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
pd_buf_grow(void *pp, size_t *cap, size_t need, size_t elem)
{
	void **p = pp;
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	if (elem != 0 && ncap > SIZE_MAX / elem)
		return -1;
	np = realloc(*p, ncap * elem);
	if (np == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

int
pd_buf_append(struct pd_buf *b, const void *p, size_t n)
{
	if (b->limit && (n > b->limit || b->len > b->limit - n)) {
		b->over = 1;
		return PD_ERR_INVALID;
	}
	if (buf_reserve(b, b->len + n) != 0)
		return PD_ERR_NOMEM;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
pd_buf_puts(struct pd_buf *b, const char *s)
{
	return pd_buf_append(b, s, strlen(s));
}

int
pd_buf_put_i64(struct pd_buf *b, long long v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *q = e;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--q = '-';
	return pd_buf_append(b, q, (size_t)(e - q));
}

int
pd_buf_printf(struct pd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char small[512];

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return PD_ERR_INVALID;
	if ((size_t)n < sizeof(small))
		return pd_buf_append(b, small, (size_t)n);
	if (b->limit && ((size_t)n > b->limit || b->len > b->limit - (size_t)n)) {
		b->over = 1;
		return PD_ERR_INVALID;
	}
	if (buf_reserve(b, b->len + (size_t)n) != 0)
		return PD_ERR_NOMEM;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
pd_buf_reset(struct pd_buf *b)
{
	b->len = 0;
	b->over = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
pd_buf_cleanup(struct pd_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->over = 0;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates,
 * at most U+10FFFF), 0 when there is none. */
static size_t
utf8_seq(const unsigned char *p)
{
	unsigned char c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80
			       ? 4
			       : 0;
	}
	return 0;
}

size_t
pd_buf_utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t fixed = 0;

	while (p != NULL && *p) {
		size_t n = utf8_seq(p); /* a NUL ends any check above: no read past the end */

		if (n == 0) {
			*p++ = '?';
			fixed++;
		} else {
			p += n;
		}
	}
	return fixed;
}
