/* clock.c — injectable wall clock, monotonic clock, RFC 3339 formatting. */
#include <stdio.h>
#include <time.h>
#include "probed/clock.h"

int64_t
pd_clock_wall_ms(const struct pd_clock *c)
{
	struct timespec ts;

	if (c != NULL && c->wall_ms != NULL)
		return c->wall_ms(c->ud);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
pd_clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
pd_clock_rfc3339(int64_t ms, char *out, size_t cap)
{
	time_t secs = (time_t)(ms / 1000);
	int msec = (int)(ms % 1000);
	struct tm tm;

	if (msec < 0) {
		msec += 1000;
		secs -= 1;
	}
	gmtime_r(&secs, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msec);
}
