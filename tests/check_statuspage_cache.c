/* check_statuspage_cache.c — the status page's series cache on a real daemon over a real
 * SQLite file (its loop never runs): what a first request shows (one refresh slice),
 * how the rest fills in bounded steps, that the filled series equals the raw scan
 * (counts exactly, p95 within the histogram bound), when the open part is recomputed
 * (after PD_STATUSPAGE_CACHE_MS, not before), how a bucket closes after the grace and the
 * window slides, and a jump of days. Time is injected: now_ms is passed in, and the
 * refresh budget's clock is a counter that moves 10 ms per reading, so every slice is
 * exactly one step. */
#include <check.h>
#include "testlib.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include "probed/config.h"
#include "probed/daemon.h"
#include "probed/log.h"
#include "probed/statuspage.h"
#include "probed/store.h"

#define BMS PD_STATUSPAGE_BUCKET_MS
#define NBK PD_STATUSPAGE_BUCKETS
/* the histogram bound, plus the cache's 16-bit floats (0.025 %) and float slack */
#define REL_BOUND 0.1120

static struct pd_test_store sto;
static struct ev_loop *loop;
static struct pd_daemon *d;
static int64_t fake_us;

static int64_t
fake_mono(void *ud)
{
	(void)ud;
	fake_us += 10000; /* every reading: 10 ms later, more than a slice's budget */
	return fake_us;
}

static void
setup(void)
{
	char yaml[512];
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	struct pd_daemon_opts opts = {0};

	pd_test_store_dir(&sto, "spcache");
	snprintf(yaml, sizeof(yaml),
		 "store:\n  path: %s\nprobes:\n"
		 "  - name: alpha\n    interval: 1h\n    url: http://127.0.0.1:1/alpha/\n"
		 "  - name: beta\n    interval: 1h\n    url: http://127.0.0.1:1/beta/\n",
		 sto.path);
	ck_assert_msg(pd_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &err, NULL, NULL) ==
			      0,
		      "%s", err.msg);
	loop = ev_loop_new(EVFLAG_AUTO);
	d = pd_daemon_new(loop, cfg, &opts, &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
}

static void
teardown(void)
{
	pd_daemon_free(d);
	ev_loop_destroy(loop);
	pd_test_store_close(&sto);
}

static void
add(const char *probe, int64_t ts, int outcome, double ms)
{
	struct pd_result r;
	struct pd_err err = {0};

	memset(&r, 0, sizeof(r));
	r.ts_ms = ts;
	r.outcome = outcome;
	r.http_status = outcome == 0 ? 200 : 502;
	r.tls_ms = -1;
	r.total_ms = ms;
	snprintf(r.verdict, sizeof(r.verdict), "%s", outcome == 0 ? "ok" : "failed");
	ck_assert_msg(pd_store_add_result(pd_daemon_store(d), probe, &r, &err) == 0, "%s", err.msg);
}

static void
flush(void)
{
	struct pd_err err = {0};

	ck_assert_int_eq(pd_store_flush(pd_daemon_store(d), &err), 0);
}

static const struct pd_statuspage_probe *
find(const struct pd_statuspage_view *v, const char *name)
{
	for (size_t i = 0; i < v->nprobes; i++)
		if (strcmp(v->probes[i].name, name) == 0)
			return &v->probes[i];
	ck_abort_msg("no probe %s", name);
	return NULL;
}

static void
collect(struct pd_statuspage *sp, int64_t now, struct pd_statuspage_view *v)
{
	struct pd_err err = {0};

	ck_assert_msg(pd_statuspage_collect(sp, d, now, v, &err) == 0, "%s", err.msg);
}

/* p's buckets and totals equal the raw scan of the same window (the open bucket too). */
static void
assert_matches_raw(const struct pd_statuspage_probe *p, int64_t w0_ms)
{
	struct pd_series_bucket r[NBK];
	struct pd_history_stats tot;
	struct pd_err err = {0};

	ck_assert_int_eq(
		pd_store_series(pd_daemon_store(d), p->name, w0_ms, BMS, r, NBK, &tot, &err), 0);
	for (int i = 0; i < NBK; i++) {
		ck_assert_int_eq(p->buckets[i].start_ms, r[i].start_ms);
		ck_assert_msg(p->buckets[i].count == r[i].count, "%s bucket %d: count %lld vs %lld",
			      p->name, i, (long long)p->buckets[i].count, (long long)r[i].count);
		ck_assert_int_eq(p->buckets[i].failures, r[i].failures);
		/* max is exact in the store; the cache keeps it within 0.025 % (or 1 us) */
		ck_assert_msg(fabs(p->buckets[i].max_ms - r[i].max_ms) <=
				      fmax(0.00026 * r[i].max_ms, 0.0006),
			      "%s bucket %d: max %g vs %g", p->name, i, p->buckets[i].max_ms,
			      r[i].max_ms);
		if (r[i].p95_ms < 0)
			ck_assert(p->buckets[i].p95_ms == -1);
		else
			ck_assert_msg(fabs(p->buckets[i].p95_ms - r[i].p95_ms) <=
					      REL_BOUND * r[i].p95_ms,
				      "%s bucket %d: p95 %g vs %g", p->name, i,
				      p->buckets[i].p95_ms, r[i].p95_ms);
	}
	ck_assert_int_eq(p->day.count, tot.count);
	ck_assert_int_eq(p->day.failures, tot.failures);
	if (tot.count > 0)
		ck_assert(fabs(p->day.p95_ms - tot.p95_ms) <= REL_BOUND * tot.p95_ms);
}

/* Refresh slices (one step each) until nothing is pending; returns how many ran. */
static int
drain(struct pd_statuspage *sp, int64_t now)
{
	int n = 0;

	while (n < 1000) {
		n++;
		if (pd_statuspage_refresh(sp, pd_daemon_store(d), now, PD_STATUSPAGE_SLICE_US) == 0)
			return n;
	}
	ck_abort_msg("refresh does not converge");
	return n;
}

START_TEST(test_cache_fill_and_refresh)
{
	struct pd_statuspage *sp = pd_statuspage_new();
	struct pd_statuspage_view v;
	const struct pd_statuspage_probe *a;
	/* 7 minutes into a bucket, so the previous one is past the grace */
	int64_t now = (PD_TEST_T0_MS / BMS) * BMS + 7 * 60000, w0 = now - now % BMS - 95 * BMS;
	int64_t t;
	int i = 0;

	ck_assert_ptr_nonnull(sp);
	pd_statuspage_set_clock(sp, fake_mono, NULL);
	/* 25 h of alpha at 60 s (failures every 37th, no latency every 53rd), up to 30 s before
	 * now; beta has none */
	for (t = now - 25 * 3600000LL; t < now - 30000; t += 60000, i++)
		add("alpha", t, i % 37 == 0 ? 5 : 0,
		    i % 53 == 0 ? -1 : 0.5 * pow(1.25, i % 50)); /* 0.5 ms .. 28 s, some none */
	flush();

	/* a first request: one step (24 closed buckets of alpha), the rest not there yet */
	collect(sp, now, &v);
	a = find(&v, "alpha");
	ck_assert_int_eq(a->series_complete, 0);
	ck_assert_int_eq(a->buckets[0].count, 15);
	ck_assert_int_eq(a->buckets[23].count, 15);
	ck_assert_int_eq(a->buckets[24].count, 0);
	ck_assert_int_eq(a->day.count, 0);
	ck_assert_int_eq(find(&v, "beta")->series_complete, 0);
	pd_statuspage_view_cleanup(&v);
	ck_assert_int_eq(pd_statuspage_busy(sp, now), 1);

	/* the rest, a step per slice: alpha 3 more fills (95 closed buckets) + its open part,
	 * beta 4 fills + its open part */
	ck_assert_int_eq(drain(sp, now), 3 + 1 + 4 + 1);
	collect(sp, now, &v);
	a = find(&v, "alpha");
	ck_assert_int_eq(a->series_complete, 1);
	ck_assert_int_eq(find(&v, "beta")->series_complete, 1);
	ck_assert_int_eq(find(&v, "beta")->day.count, 0);
	ck_assert_int_eq(v.window_start_ms, w0);
	assert_matches_raw(a, w0);
	ck_assert_int_eq(a->buckets[95].count, 7); /* the open bucket: minutes 0..6 */
	pd_statuspage_view_cleanup(&v);

	/* a new result: not shown before PD_STATUSPAGE_CACHE_MS, shown after */
	add("alpha", now - 1000, 0, 33);
	flush();
	ck_assert_int_eq(pd_statuspage_refresh(sp, pd_daemon_store(d), now + 5000, 0), 0);
	collect(sp, now + PD_STATUSPAGE_CACHE_MS - 1, &v);
	ck_assert_int_eq(find(&v, "alpha")->buckets[95].count, 7);
	pd_statuspage_view_cleanup(&v);
	ck_assert_int_eq(drain(sp, now + PD_STATUSPAGE_CACHE_MS), 2); /* alpha's + beta's */
	collect(sp, now + PD_STATUSPAGE_CACHE_MS, &v);
	a = find(&v, "alpha");
	ck_assert_int_eq(a->buckets[95].count, 8);
	assert_matches_raw(a, w0);
	pd_statuspage_view_cleanup(&v);

	/* the next bucket, within the grace: the window slid by one, the previous bucket is
	 * still recomputed (a late result for it counts) */
	t = now - now % BMS + BMS + 60000;
	add("alpha", now - 500, 0, 40); /* late, for the previous bucket */
	add("alpha", t - 30000, 0, 41);
	flush();
	drain(sp, t);
	collect(sp, t, &v);
	a = find(&v, "alpha");
	ck_assert_int_eq(a->series_complete, 1);
	ck_assert_int_eq(v.window_start_ms, w0 + BMS);
	ck_assert_int_eq(a->buckets[94].count, 9);
	assert_matches_raw(a, w0 + BMS);
	pd_statuspage_view_cleanup(&v);
	/* after the grace: it is closed (one fill step per probe), the same figures */
	t += PD_STATUSPAGE_GRACE_MS;
	ck_assert_int_eq(drain(sp, t), 2 * 2);
	collect(sp, t, &v);
	assert_matches_raw(find(&v, "alpha"), w0 + BMS);
	pd_statuspage_view_cleanup(&v);

	/* the clock steps back 3 hours: the cache starts over and shows that window */
	drain(sp, now - 3 * 3600000LL);
	collect(sp, now - 3 * 3600000LL, &v);
	a = find(&v, "alpha");
	ck_assert_int_eq(a->series_complete, 1);
	assert_matches_raw(a, w0 - 12 * BMS);
	pd_statuspage_view_cleanup(&v);
	t = now - now % BMS + BMS + 60000 + PD_STATUSPAGE_GRACE_MS;
	drain(sp, t);

	/* two days later: nothing of the ring is in the window any more */
	t += 2 * 86400000LL;
	drain(sp, t);
	collect(sp, t, &v);
	a = find(&v, "alpha");
	ck_assert_int_eq(a->series_complete, 1);
	ck_assert_int_eq(a->day.count, 0);
	for (int k = 0; k < NBK; k++)
		ck_assert_int_eq(a->buckets[k].count, 0);
	pd_statuspage_view_cleanup(&v);

	/* not viewed for PD_STATUSPAGE_IDLE_MS: the listener stops refreshing */
	ck_assert_int_eq(pd_statuspage_busy(sp, t + PD_STATUSPAGE_IDLE_MS - 1), 1);
	ck_assert_int_eq(pd_statuspage_busy(sp, t + PD_STATUSPAGE_IDLE_MS), 0);
	/* under 1 KB per allocated entry (the array grows by doubling, from 8) */
	ck_assert_uint_lt(pd_statuspage_cache_bytes(sp), 8 * 1024);
	ck_assert_uint_gt(pd_statuspage_cache_bytes(sp), 2 * 800);
	pd_statuspage_free(sp);
}
END_TEST

static Suite *
statuspage_cache_suite(void)
{
	Suite *s = suite_create("statuspage_cache");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cache_fill_and_refresh);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	pd_log_set_level(PD_LOG_ERR);
	return pd_test_run(statuspage_cache_suite());
}
