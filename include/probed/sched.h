/* sched.h — one ev_timer per probe against absolute monotonic due times, so lateness
 * (actual start - scheduled start) can be measured, and the fixed-rate grid that picks
 * those due times (pure arithmetic, tested with times passed in). Starts are spread over the interval
 * by a stable hash of the probe name (like Prometheus's scrape offsets): a thousand
 * probes never fire in the same millisecond, and a restart keeps the same phase. */
#ifndef PROBED_SCHED_H
#define PROBED_SCHED_H
#include <stdint.h>
#include <ev.h>

struct pd_sched_entry;
/* lateness_us >= 0: how late the timer fired against its due time. */
typedef void (*pd_sched_fire_fn)(struct pd_sched_entry *e, int64_t lateness_us);

struct pd_sched_entry {
	ev_timer timer; /* timer.data = the entry */
	struct ev_loop *loop;
	int64_t due_us; /* monotonic microseconds */
	pd_sched_fire_fn fire;
	void *owner;
};

void pd_sched_init(struct pd_sched_entry *e, struct ev_loop *loop, pd_sched_fire_fn fire,
		   void *owner);
/* Arm for the absolute monotonic time due_us. */
void pd_sched_at(struct pd_sched_entry *e, int64_t due_us);
void pd_sched_stop(struct pd_sched_entry *e);
int pd_sched_armed(const struct pd_sched_entry *e);
/* Monotonic now in microseconds: CLOCK_MONOTONIC, or the clock pd_sched_set_clock
 * installed. Due times and lateness are measured with it. */
int64_t pd_sched_now_us(void);
/* Replace the monotonic clock (tests: fire and measure lateness at chosen times; libev
 * still waits in real time for the difference). NULL restores CLOCK_MONOTONIC. */
typedef int64_t (*pd_sched_clock_fn)(void *ud);
void pd_sched_set_clock(pd_sched_clock_fn now_us, void *ud);
/* Stable offset in [0, interval_ms) from the name (FNV-1a). */
int64_t pd_sched_spread_ms(const char *name, int64_t interval_ms);

/* ---- the fixed-rate grid (pure: every time is passed in, monotonic microseconds) ----
 * A probe starts on a grid of its interval, anchored at its first start; a confirm
 * re-probe does not move the grid, and a start that comes late (a busy loop, a suspended
 * host) skips the slots it missed instead of firing them in a burst. */

/* The first start: now plus the probe's spread slot in the interval, or at most
 * confirm_ms away when it resumes an unconfirmed change (quick != 0). */
int64_t pd_sched_first_due(const char *name, int64_t now_us, int64_t interval_ms,
			   int64_t confirm_ms, int quick);
/* The next start on the grid: due_us when it is after now_us, else due_us stepped by
 * whole intervals to the first slot after now_us (interval_us > 0; otherwise the slot
 * right after now_us). */
int64_t pd_sched_next_due(int64_t due_us, int64_t now_us, int64_t interval_us);
/* A confirm re-probe delay_ms after now_us: its due time when the delay is shorter than
 * the interval and it comes before the next start on the grid (next_due_us), else -1
 * (the grid's next start serves). */
int64_t pd_sched_reprobe_due(int64_t now_us, int64_t delay_ms, int64_t interval_ms,
			     int64_t next_due_us);
/* After a reload: 1 when the next start is further away than one (new) interval, so the
 * probe takes its first slot again instead of waiting out an old, longer interval. */
int pd_sched_needs_restart(int64_t next_due_us, int64_t now_us, int64_t interval_ms);

#endif
