/* buf.h — a growable byte buffer with a hard cap (response bodies, rendered text), and
 * pd_buf_grow for growing arrays. */
#ifndef PROBED_BUF_H
#define PROBED_BUF_H
#include <stddef.h>

struct pd_buf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t limit; /* 0 = unlimited */
	int over;     /* set once an append would have exceeded limit */
};

void pd_buf_init(struct pd_buf *b, size_t limit);
/* Append n bytes. Returns 0, PD_ERR_NOMEM, or PD_ERR_INVALID when the limit would be
 * exceeded (nothing is appended then, and b->over is set). */
int pd_buf_append(struct pd_buf *b, const void *p, size_t n);
/* Append the NUL-terminated s (pd_buf_append's returns). */
int pd_buf_puts(struct pd_buf *b, const char *s);
/* Append v in decimal, without printf (pd_buf_append's returns). */
int pd_buf_put_i64(struct pd_buf *b, long long v);
int pd_buf_printf(struct pd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pd_buf_reset(struct pd_buf *b);
void pd_buf_cleanup(struct pd_buf *b);
/* Make the array *pp (cap elements of elem bytes) hold at least need: realloc'd to twice
 * its capacity (8 at first) until it does. pp is the address of the array's pointer.
 * 0, or -1 when out of memory (the array is left as it was). */
int pd_buf_grow(void *pp, size_t *cap, size_t need, size_t elem);

/* Make the NUL-terminated s valid UTF-8 in place: each byte that does not start or belong
 * to a well-formed sequence (a string cut mid-character by a fixed-size buffer, a
 * response's raw bytes) becomes '?'. Returns how many bytes were replaced. A receiver
 * that gets invalid UTF-8 may answer 400, and a 400 dead-letters the page. */
size_t pd_buf_utf8_scrub(char *s);

#endif
