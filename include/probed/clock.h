/* clock.h — injectable clock. Everything that decides on time reads a struct pd_clock,
 * so tests can move time instead of sleeping. NULL means the real clock. */
#ifndef PROBED_CLOCK_H
#define PROBED_CLOCK_H
#include <stdint.h>
#include <stddef.h>

struct pd_clock {
	int64_t (*wall_ms)(void *ud); /* UTC milliseconds since the epoch */
	void *ud;
};

int64_t pd_clock_wall_ms(const struct pd_clock *c);
/* Real monotonic milliseconds (for measuring, never for stored timestamps). */
int64_t pd_clock_mono_ms(void);
/* Format ms since epoch as RFC 3339 UTC with milliseconds: 2026-11-22T05:05:32.123Z */
void pd_clock_rfc3339(int64_t ms, char *out, size_t cap);

#endif
