/* check_sched.c — the scheduler: the start spread, the fixed-rate grid's arithmetic
 * (times passed in), and absolute-time timers on a real libev loop with an injected
 * monotonic clock (exact lateness, no wall-clock bounds). */
#include <check.h>
#include "testlib.h"
#include <stdio.h>
#include <time.h>
#include <ev.h>
#include "probed/sched.h"

static int64_t fake_us;

static int64_t
fake_now(void *ud)
{
	return *(int64_t *)ud;
}

struct fired {
	int n;
	int64_t lateness_us[8];
	int order[8];
	int64_t now_at_fire[8];
};

static void
on_fire(struct pd_sched_entry *e, int64_t lateness_us)
{
	int *id = e->owner;
	struct fired *f = ev_userdata(e->loop);

	if (f->n < 8) {
		f->lateness_us[f->n] = lateness_us;
		f->order[f->n] = *id;
		f->now_at_fire[f->n] = pd_sched_now_us();
	}
	f->n++;
}

static struct ev_loop *
loop_new(struct fired *f)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);

	ck_assert_ptr_nonnull(loop);
	ev_set_userdata(loop, f);
	return loop;
}

static void
fake_setup(void)
{
	fake_us = 1000000000; /* 1000 s on the fake monotonic clock */
	pd_sched_set_clock(fake_now, &fake_us);
}

static void
fake_teardown(void)
{
	pd_sched_set_clock(NULL, NULL);
}

/* ---- spread ------------------------------------------------------------------ */

START_TEST(test_spread_stable_values)
{
	/* FNV-1a 64 from the legacy seed, mod the interval, computed independently (Python):
	 * an upgrade must not move every probe's phase */
	ck_assert_int_eq(pd_sched_spread_ms("post-detail", 30000), 20569);
	ck_assert_int_eq(pd_sched_spread_ms("userid", 30000), 25997);
	ck_assert_int_eq(pd_sched_spread_ms("control", 60000), 20484);
	ck_assert_int_eq(pd_sched_spread_ms("api/\xc3\xa4", 1000), 205);
	ck_assert_int_eq(pd_sched_spread_ms("", 7), 3);
}
END_TEST

START_TEST(test_spread_bounds)
{
	static const int64_t intervals[] = {1, 2, 7, 1000, 30000, 86400000};
	char name[32];

	ck_assert_int_eq(pd_sched_spread_ms("api", 0), 0);
	ck_assert_int_eq(pd_sched_spread_ms("api", -5000), 0);
	for (size_t k = 0; k < sizeof(intervals) / sizeof(intervals[0]); k++)
		for (int i = 0; i < 2000; i++) {
			int64_t off;

			snprintf(name, sizeof(name), "probe-%d", i);
			off = pd_sched_spread_ms(name, intervals[k]);
			ck_assert_msg(off >= 0 && off < intervals[k], "%s in %lld: %lld", name,
				      (long long)intervals[k], (long long)off);
			ck_assert_int_eq(pd_sched_spread_ms(name, intervals[k]), off);
		}
}
END_TEST

START_TEST(test_spread_is_spread)
{
	/* 10,000 probes over a 60 s interval: every 6 s tenth gets about 1,000 of them (the
	 * standard deviation is ~30: these bounds only fail for a badly clustered spread) */
	int bucket[10] = {0}, same_ms = 0;
	static int64_t seen[60000];
	char name[32];

	for (int i = 0; i < 10000; i++) {
		int64_t off;

		snprintf(name, sizeof(name), "tpl-%d", i);
		off = pd_sched_spread_ms(name, 60000);
		bucket[off / 6000]++;
		same_ms += seen[off]++ > 0;
	}
	for (int b = 0; b < 10; b++)
		ck_assert_msg(bucket[b] >= 850 && bucket[b] <= 1150, "tenth %d: %d", b, bucket[b]);
	/* birthday bound: ~800 expected to share a millisecond with another; clustering
	 * would make it thousands */
	ck_assert_msg(same_ms < 1500, "%d starts share a millisecond", same_ms);
}
END_TEST

/* ---- the fixed-rate grid (pure: times passed in) ------------------------------------ */

START_TEST(test_first_due_spread_or_confirm)
{
	int64_t now = 5000000000; /* any monotonic time */

	/* its slot in the interval (20569 ms for this name, as above) */
	ck_assert_int_eq(pd_sched_first_due("post-detail", now, 30000, 5000, 0),
			 now + 20569 * 1000);
	/* resuming an unconfirmed change: at most the confirm delay away */
	ck_assert_int_eq(pd_sched_first_due("post-detail", now, 30000, 5000, 1), now + 5000000);
	/* ... but never later than its own slot */
	ck_assert_int_eq(pd_sched_first_due("post-detail", now, 30000, 25000, 1),
			 now + 20569 * 1000);
	ck_assert_int_eq(pd_sched_first_due("api", now, 0, 5000, 0), now);
}
END_TEST

START_TEST(test_next_due_keeps_the_grid)
{
	const int64_t iv = 30000000, due = 1000000000;

	/* not yet due: unchanged */
	ck_assert_int_eq(pd_sched_next_due(due, due - 1, iv), due);
	/* fired on time: the next slot */
	ck_assert_int_eq(pd_sched_next_due(due, due, iv), due + iv);
	ck_assert_int_eq(pd_sched_next_due(due, due + 1200, iv), due + iv);
	/* a late start (2.5 intervals): the missed slots are skipped, the phase kept */
	ck_assert_int_eq(pd_sched_next_due(due, due + 5 * iv / 2, iv), due + 3 * iv);
	/* a microsecond before a slot: that slot, still ahead */
	ck_assert_int_eq(pd_sched_next_due(due, due + 2 * iv - 1, iv), due + 2 * iv);
	/* late by exactly two intervals: that slot is now, so the one after */
	ck_assert_int_eq(pd_sched_next_due(due, due + 2 * iv, iv), due + 3 * iv);
	/* the host slept an hour: one step to the first slot after now, on the grid */
	ck_assert_int_eq(pd_sched_next_due(due, due + 3600000000LL + 7, iv), due + 121 * iv);
	/* a degenerate interval never loops */
	ck_assert_int_eq(pd_sched_next_due(due, due + 5, 0), due + 6);
}
END_TEST

START_TEST(test_next_due_matches_stepping)
{
	/* the closed form equals stepping one interval at a time, whatever the lateness */
	uint64_t x = 88172645463325252ULL;

	for (int k = 0; k < 20000; k++) {
		int64_t iv, due, now, want;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		iv = (int64_t)(x % 120000000) + 1;
		due = (int64_t)(x >> 20) % 4000000000LL;
		now = due + (int64_t)(x % 1000) * (k % 3 == 0 ? iv : 997) - 500 * 997;
		if (k % 5 == 0)
			now = due + (int64_t)(x % 7) * iv - (int64_t)(x % 3); /* at a slot's edge */
		for (want = due; want <= now;)
			want += iv;
		ck_assert_int_eq(pd_sched_next_due(due, now, iv), want);
	}
}
END_TEST

START_TEST(test_reprobe_before_the_grid)
{
	const int64_t now = 2000000000, next = now + 30000000;

	/* a confirm re-probe 5 s from now, the grid's next start 30 s away */
	ck_assert_int_eq(pd_sched_reprobe_due(now, 5000, 60000, next), now + 5000000);
	/* the grid comes first (or at the same time): the grid serves */
	ck_assert_int_eq(pd_sched_reprobe_due(now, 30000, 60000, next), -1);
	ck_assert_int_eq(pd_sched_reprobe_due(now, 45000, 60000, next), -1);
	/* a delay of a whole interval is no re-probe */
	ck_assert_int_eq(pd_sched_reprobe_due(now, 10000, 10000, now + 60000000), -1);
}
END_TEST

START_TEST(test_restart_after_shorter_interval)
{
	const int64_t now = 3000000000;

	/* the old 5 min interval left 50 s to wait; the new one is 30 s: restart */
	ck_assert_int_eq(pd_sched_needs_restart(now + 50000000, now, 30000), 1);
	/* within one new interval: keep the grid */
	ck_assert_int_eq(pd_sched_needs_restart(now + 20000000, now, 30000), 0);
	ck_assert_int_eq(pd_sched_needs_restart(now + 30000000, now, 30000), 0);
	ck_assert_int_eq(pd_sched_needs_restart(now - 1000, now, 30000), 0);
}
END_TEST

/* ---- timers, with the injected clock ----------------------------------------------- */

START_TEST(test_past_due_fires_now_with_its_lateness)
{
	struct fired f = {0};
	struct ev_loop *loop = loop_new(&f);
	struct pd_sched_entry e;
	int id = 1;

	pd_sched_init(&e, loop, on_fire, &id);
	ck_assert_int_eq(pd_sched_armed(&e), 0);
	pd_sched_at(&e, fake_us - 7000);
	ck_assert_int_eq(e.due_us, fake_us - 7000);
	ck_assert_int_ne(pd_sched_armed(&e), 0);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(f.n, 1);
	ck_assert_int_eq(f.lateness_us[0], 7000);
	ck_assert_int_eq(pd_sched_armed(&e), 0); /* one shot */
	/* exactly on time */
	pd_sched_at(&e, fake_us);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(f.n, 2);
	ck_assert_int_eq(f.lateness_us[1], 0);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_early_fire_waits_out_the_rest)
{
	struct fired f = {0};
	struct ev_loop *loop = loop_new(&f);
	struct pd_sched_entry e;
	int64_t due = fake_us + 1000;
	int id = 1;

	pd_sched_init(&e, loop, on_fire, &id);
	pd_sched_at(&e, due); /* 1 ms of real waiting; the fake clock does not move */
	ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(f.n, 0);                /* fired early: not delivered */
	ck_assert_int_ne(pd_sched_armed(&e), 0); /* re-armed for the rest */
	fake_us = due + 1500;
	ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(f.n, 1);
	ck_assert_int_eq(f.lateness_us[0], 1500);
	ck_assert_int_eq(f.now_at_fire[0], due + 1500);
	ck_assert_int_eq(pd_sched_armed(&e), 0);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_within_granularity_is_on_time)
{
	struct fired f = {0};
	struct ev_loop *loop = loop_new(&f);
	struct pd_sched_entry e;
	int id = 1;

	/* up to 200 us early counts as on time (timer granularity), lateness 0 */
	pd_sched_init(&e, loop, on_fire, &id);
	pd_sched_at(&e, fake_us + 150);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(f.n, 1);
	ck_assert_int_eq(f.lateness_us[0], 0);
	/* 201 us early is early */
	pd_sched_at(&e, fake_us + 201);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(f.n, 1);
	ck_assert_int_ne(pd_sched_armed(&e), 0);
	pd_sched_stop(&e);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_stop_and_rearm)
{
	struct fired f = {0};
	struct ev_loop *loop = loop_new(&f);
	struct pd_sched_entry a, b;
	int ida = 1, idb = 2;

	pd_sched_init(&a, loop, on_fire, &ida);
	pd_sched_init(&b, loop, on_fire, &idb);
	/* stopped before it fires: never fires */
	pd_sched_at(&a, fake_us - 10);
	pd_sched_stop(&a);
	ck_assert_int_eq(pd_sched_armed(&a), 0);
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(f.n, 0);
	/* re-arming moves the due time; the old one is gone */
	pd_sched_at(&b, fake_us + 3600LL * 1000000);
	pd_sched_at(&b, fake_us - 25);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(f.n, 1);
	ck_assert_int_eq(f.order[0], 2);
	ck_assert_int_eq(f.lateness_us[0], 25);
	ck_assert_int_eq(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left active */
	ck_assert_int_eq(f.n, 1);
	ev_loop_destroy(loop);
}
END_TEST

/* ---- the real monotonic clock: order and lower bounds only ---------------------- */

START_TEST(test_real_clock)
{
	struct fired f = {0};
	struct ev_loop *loop = loop_new(&f);
	struct pd_sched_entry e[3];
	int ids[3] = {30, 10, 20};
	int64_t base, due[3];
	struct timespec t0, t1;
	int64_t x, lo, hi;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	x = pd_sched_now_us();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	lo = (int64_t)t0.tv_sec * 1000000 + t0.tv_nsec / 1000;
	hi = (int64_t)t1.tv_sec * 1000000 + t1.tv_nsec / 1000;
	ck_assert(x >= lo && x <= hi);

	base = pd_sched_now_us();
	for (int i = 0; i < 3; i++) {
		due[i] = base + ids[i] * 1000;
		pd_sched_init(&e[i], loop, on_fire, &ids[i]);
		pd_sched_at(&e[i], due[i]);
	}
	ev_run(loop, 0); /* until no timer is left */
	ck_assert_int_eq(f.n, 3);
	ck_assert_int_eq(f.order[0], 10);
	ck_assert_int_eq(f.order[1], 20);
	ck_assert_int_eq(f.order[2], 30);
	for (int i = 0; i < 3; i++) {
		int64_t d = base + f.order[i] * 1000;

		ck_assert_int_ge(f.lateness_us[i], 0);
		ck_assert_int_ge(f.now_at_fire[i], d - 200); /* never early */
	}
	ev_loop_destroy(loop);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sched");
	TCase *spread = tcase_create("spread");
	TCase *grid = tcase_create("grid");
	TCase *fake = tcase_create("injected clock");
	TCase *real = tcase_create("real clock");

	tcase_add_test(spread, test_spread_stable_values);
	tcase_add_test(spread, test_spread_bounds);
	tcase_add_test(spread, test_spread_is_spread);
	suite_add_tcase(s, spread);
	tcase_add_test(grid, test_first_due_spread_or_confirm);
	tcase_add_test(grid, test_next_due_keeps_the_grid);
	tcase_add_test(grid, test_next_due_matches_stepping);
	tcase_add_test(grid, test_reprobe_before_the_grid);
	tcase_add_test(grid, test_restart_after_shorter_interval);
	suite_add_tcase(s, grid);
	tcase_add_checked_fixture(fake, fake_setup, fake_teardown);
	tcase_add_test(fake, test_past_due_fires_now_with_its_lateness);
	tcase_add_test(fake, test_early_fire_waits_out_the_rest);
	tcase_add_test(fake, test_within_granularity_is_on_time);
	tcase_add_test(fake, test_stop_and_rearm);
	suite_add_tcase(s, fake);
	tcase_add_test(real, test_real_clock);
	suite_add_tcase(s, real);
	return pd_test_run(s);
}
