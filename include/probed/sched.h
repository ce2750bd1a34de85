/* sched.h — one ev_timer per probe against absolute monotonic due times, so lateness
 * (actual start - scheduled start) can be measured. Starts are spread over the interval
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
	ev_timer timer;        /* timer.data = the entry */
	struct ev_loop *loop;
	int64_t due_us;        /* monotonic microseconds */
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

#endif
