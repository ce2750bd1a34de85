/* sched.c — absolute-time ev_timers with lateness measurement, the start spread, and the
 * fixed-rate grid arithmetic (first start, next start, confirm re-probes, restarts). */
#include <time.h>
#include "probed/hash.h"
#include "probed/sched.h"

static pd_sched_clock_fn sched_clock; /* NULL: CLOCK_MONOTONIC */
static void *sched_clock_ud;

void
pd_sched_set_clock(pd_sched_clock_fn now_us, void *ud)
{
	sched_clock = now_us;
	sched_clock_ud = ud;
}

int64_t
pd_sched_now_us(void)
{
	struct timespec ts;

	if (sched_clock != NULL)
		return sched_clock(sched_clock_ud);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
pd_sched_spread_ms(const char *name, int64_t interval_ms)
{
	if (interval_ms <= 0)
		return 0;
	return (int64_t)(pd_hash_str(PD_HASH_LEGACY_SEED, name) % (uint64_t)interval_ms);
}

int64_t
pd_sched_first_due(const char *name, int64_t now_us, int64_t interval_ms, int64_t confirm_ms,
		   int quick)
{
	int64_t first = pd_sched_spread_ms(name, interval_ms) * 1000;

	/* resume an unconfirmed change quickly; otherwise take our slot in the interval */
	if (quick && confirm_ms * 1000 < first)
		first = confirm_ms * 1000;
	return now_us + first;
}

int64_t
pd_sched_next_due(int64_t due_us, int64_t now_us, int64_t interval_us)
{
	if (due_us > now_us)
		return due_us;
	if (interval_us <= 0)
		return now_us + 1;
	/* every slot up to and including now is missed: step over them at once */
	return due_us + ((now_us - due_us) / interval_us + 1) * interval_us;
}

int64_t
pd_sched_reprobe_due(int64_t now_us, int64_t delay_ms, int64_t interval_ms, int64_t next_due_us)
{
	if (delay_ms < interval_ms && now_us + delay_ms * 1000 < next_due_us)
		return now_us + delay_ms * 1000;
	return -1;
}

int
pd_sched_needs_restart(int64_t next_due_us, int64_t now_us, int64_t interval_ms)
{
	return interval_ms * 1000 < next_due_us - now_us;
}

static void
sched_arm(struct pd_sched_entry *e)
{
	/* libev measures timers from its cached loop time, which is stale by however long
	 * this iteration has been running: bring it up to date first, so we fire on time.
	 * The delay comes from the monotonic due time, never from wall-clock readings
	 * (ev_time() - ev_now()): a wall clock step of +1 h would arm every probe an hour
	 * late. */
	double delay;

	ev_now_update(e->loop);
	delay = (double)(e->due_us - pd_sched_now_us()) / 1e6;
	if (delay < 0)
		delay = 0;
	ev_timer_stop(e->loop, &e->timer);
	ev_timer_set(&e->timer, delay, 0.);
	ev_timer_start(e->loop, &e->timer);
}

static void
sched_on_timer(EV_P_ ev_timer *w, int revents)
{
	struct pd_sched_entry *e = w->data;
	int64_t now = pd_sched_now_us();

	(void)EV_A;
	(void)revents;
	if (now < e->due_us - 200) {
		/* fired early (clock granularity): wait out the rest */
		sched_arm(e);
		return;
	}
	e->fire(e, now > e->due_us ? now - e->due_us : 0);
}

void
pd_sched_init(struct pd_sched_entry *e, struct ev_loop *loop, pd_sched_fire_fn fire, void *owner)
{
	e->loop = loop;
	e->fire = fire;
	e->owner = owner;
	e->due_us = 0;
	ev_timer_init(&e->timer, sched_on_timer, 0., 0.);
	e->timer.data = e;
}

void
pd_sched_at(struct pd_sched_entry *e, int64_t due_us)
{
	e->due_us = due_us;
	sched_arm(e);
}

void
pd_sched_stop(struct pd_sched_entry *e)
{
	ev_timer_stop(e->loop, &e->timer);
}

int
pd_sched_armed(const struct pd_sched_entry *e)
{
	return ev_is_active(&e->timer);
}
