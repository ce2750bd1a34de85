/* maint.h — maintenance windows and silences: is probe P (family F) held at time T, until
 * when, and by what. Pure: no I/O, no clock (the caller passes now, in UTC epoch ms).
 *
 *   config `maintenance:` ──► pd_maint_window: one-off (start + duration) or recurring
 *                             (weekdays + time of day, UTC, + duration), scoped to
 *                             probes, families or all
 *   probectl silence add   ──► pd_silence (the store's silences table): one probe or one
 *                             family, from created_ms until until_ms (expire sets it to now)
 *
 * While a probe is held its pages are held (the incident manager, incident.h): it is still
 * probed and recorded. Intervals are half-open: [start, start + duration). */
#ifndef PROBED_MAINT_H
#define PROBED_MAINT_H
#include <stddef.h>
#include <stdint.h>

#define PD_MAINT_DAY_MS 86400000LL
#define PD_MAINT_WEEK_MS (7 * PD_MAINT_DAY_MS)

struct pd_maint_window {
	char *name;          /* optional label (NULL: "maintenance #N", N from 1) */
	char *reason;        /* required */
	int64_t start_ms;    /* one-off: the start, UTC epoch ms; 0 = recurring */
	unsigned weekdays;   /* recurring: bit 0 = Monday .. bit 6 = Sunday */
	int64_t time_ms;     /* recurring: the start, ms after 00:00 UTC */
	int64_t duration_ms; /* > 0; at most 7 days for a recurring window */
	int all;             /* every probe */
	char **probes;       /* by name */
	size_t nprobes;
	char **families; /* by family */
	size_t nfamilies;
};

struct pd_silence {
	int64_t id;
	char probe[128];  /* "" when the silence is by family */
	char family[128]; /* "" when by probe */
	char reason[256];
	int64_t created_ms;
	int64_t until_ms;   /* the end; an expired silence has until_ms <= expiry time */
	int64_t expired_ms; /* 0 unless ended early by probectl silence expire */
};

/* What holds a probe (the one that lasts longest when several do). */
struct pd_maint_hit {
	int silence;   /* 1: an ad-hoc silence (id), 0: a config window (name) */
	int64_t id;    /* the silence's id */
	char name[64]; /* the window's name, or "silence #ID" */
	char reason[256];
	int64_t start_ms, until_ms;
};

void pd_maint_window_cleanup(struct pd_maint_window *w);

/* "mon".."sun" or "monday".."sunday" (any case) -> 0..6 (Monday = 0); -1 otherwise. */
int pd_maint_weekday_parse(const char *s);
/* Day of week of a UTC epoch ms: 0 = Monday .. 6 = Sunday. */
int pd_maint_weekday(int64_t ms);

/* Is w open at now? 1 with [*start, *end) of the occurrence that contains now (either
 * pointer may be NULL), else 0. A recurring window that starts on a listed weekday runs
 * on past midnight and across the week's end (Sunday 23:00 + 2h holds until Monday 01:00). */
int pd_maint_window_active(const struct pd_maint_window *w, int64_t now, int64_t *start,
			   int64_t *end);
/* Does w cover the probe (name, family may be NULL)? */
int pd_maint_window_covers(const struct pd_maint_window *w, const char *probe, const char *family);
/* Is the silence in force at now for the probe? */
int pd_maint_silence_active(const struct pd_silence *s, const char *probe, const char *family,
			    int64_t now);

/* Is the probe held at now by any of the nw windows (w may be NULL when nw is 0) or ns
 * silences? 1 and *hit filled (the one that ends last; hit may be NULL), else 0. */
int pd_maint_check(const struct pd_maint_window *w, size_t nw, const struct pd_silence *s,
		   size_t ns, const char *probe, const char *family, int64_t now,
		   struct pd_maint_hit *hit);

#endif
