/* check_store_window.c — the store's per-minute aggregates: windows, family windows,
 * baselines, pruning and the v3 backfill, on real SQLite files under mkdtemp. Every
 * figure is checked against a brute-force computation over the same generated results. */
#include <check.h>
#include "testlib.h"
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "probed/classify.h"
#include "probed/outcome.h"
#include "probed/store.h"

#define MIN_MS 60000
#define HOUR_MS 3600000
#define DAY_MS 86400000
/* the documented bound (R - 1, R = 600000^(1/126)) plus float slack */
#define REL_BOUND 0.1115

static struct pd_test_store sto; /* the scratch directory and sto.path; nothing open */

static void
setup(void)
{
	pd_test_store_dir(&sto, "window");
}

static void
teardown(void)
{
	pd_test_store_close(&sto);
}

static struct pd_result
mkres(int64_t ts, int outcome, double total)
{
	struct pd_result r;

	memset(&r, 0, sizeof(r));
	r.ts_ms = ts;
	r.outcome = outcome;
	r.http_status = outcome == 0 ? 200 : 502;
	r.tls_ms = -1;
	r.total_ms = total;
	snprintf(r.verdict, sizeof(r.verdict), "%s", outcome == 0 ? "ok" : "failed");
	return r;
}

static void
add_ok(struct pd_store *st, const char *probe, const struct pd_result *r)
{
	struct pd_err err = {0};
	int rc = pd_store_add_result(st, probe, r, &err);

	ck_assert_msg(rc == 0, "add_result: %d %s", rc, err.msg);
}

static void
flush_ok(struct pd_store *st)
{
	struct pd_err err = {0};

	ck_assert_int_eq(pd_store_flush(st, &err), 0);
}

static struct pd_window
window_ok(struct pd_store *st, const char *probe, int64_t since, int64_t until)
{
	struct pd_window w;
	struct pd_err err = {0};
	int rc = pd_store_window(st, probe, since, until, &w, &err);

	ck_assert_msg(rc == 0, "window(%s): %d %s", probe, rc, err.msg);
	return w;
}

/* xorshift64*: deterministic data, so a failure reproduces */
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static double
rng_unit(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

/* ---- brute force over the generated results ---- */

struct gen {
	struct pd_result *r;
	size_t n;
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Exact window: counts and nearest-rank percentiles (pd_store_history's definition). */
static void
brute(const struct gen *g, int64_t since, int64_t until, struct pd_window *w)
{
	double *v = malloc((g->n + 1) * sizeof(*v));
	size_t nv = 0;

	ck_assert_ptr_nonnull(v);
	memset(w, 0, sizeof(*w));
	w->p50_ms = w->p95_ms = -1;
	for (size_t i = 0; i < g->n; i++) {
		const struct pd_result *r = &g->r[i];

		if (r->ts_ms < since || r->ts_ms >= until)
			continue;
		w->count++;
		if (r->outcome != 0) {
			w->failures++;
			w->by_class[r->outcome]++;
		}
		if (r->total_ms >= 0)
			v[nv++] = r->total_ms;
	}
	w->error_rate = w->count ? (double)w->failures / (double)w->count : 0;
	if (nv > 0) {
		size_t r50 = (50 * nv + 99) / 100, r95 = (95 * nv + 99) / 100;

		qsort(v, nv, sizeof(*v), cmp_double);
		w->p50_ms = v[r50 - 1];
		w->p95_ms = v[r95 - 1];
	}
	free(v);
}

static void
assert_close(double got, double exact, const char *what)
{
	if (exact < 0) {
		ck_assert_msg(got == -1, "%s: expected -1, got %g", what, got);
		return;
	}
	if (exact < 0.1)
		ck_assert_msg(fabs(got - exact) <= 0.1, "%s: %g vs exact %g", what, got, exact);
	else
		ck_assert_msg(fabs(got - exact) <= REL_BOUND * exact, "%s: %g vs exact %g (%.1f%%)",
			      what, got, exact, 100 * fabs(got - exact) / exact);
}

static void
assert_window(const struct pd_window *got, const struct pd_window *exp, const char *ctx)
{
	ck_assert_msg(got->count == exp->count, "%s: count %lld vs %lld", ctx,
		      (long long)got->count, (long long)exp->count);
	ck_assert_msg(got->failures == exp->failures, "%s: failures %lld vs %lld", ctx,
		      (long long)got->failures, (long long)exp->failures);
	ck_assert_double_eq_tol(got->error_rate, exp->error_rate, 1e-12);
	for (int c = 0; c < PD_OUT__COUNT; c++)
		ck_assert_msg(got->by_class[c] == exp->by_class[c], "%s: class %s %lld vs %lld",
			      ctx, pd_outcome_str(c), (long long)got->by_class[c],
			      (long long)exp->by_class[c]);
	assert_close(got->p50_ms, exp->p50_ms, "p50");
	assert_close(got->p95_ms, exp->p95_ms, "p95");
}

/* n results of one probe from t0 at ~step ms with jitter, log-normal latencies around
 * median_ms, about fail_pct % failures of random classes, some without a latency. */
static struct gen
generate(int64_t t0, int64_t step, size_t n, double median_ms, double fail_pct)
{
	struct gen g = {calloc(n, sizeof(struct pd_result)), n};
	static const int classes[] = {PD_OUT_TIMEOUT, PD_OUT_HTTP_5XX, PD_OUT_SHAPE,
				      PD_OUT_CONNECT, PD_OUT_QUOTA,    PD_OUT_KEY_REJECTED};

	ck_assert_ptr_nonnull(g.r);
	for (size_t i = 0; i < n; i++) {
		int64_t ts = t0 + (int64_t)i * step + (int64_t)(rng() % (uint64_t)(step / 2 + 1));
		double z = (rng_unit() + rng_unit() + rng_unit() - 1.5) * 2.0;
		double ms = median_ms * exp(0.5 * z);
		int outcome = 0;

		if (rng_unit() * 100 < fail_pct)
			outcome = classes[rng() % (sizeof(classes) / sizeof(classes[0]))];
		if (outcome == PD_OUT_CONNECT)
			ms = -1; /* no response, no latency */
		g.r[i] = mkres(ts, outcome, ms);
	}
	return g;
}

/* ---- tests ---- */

START_TEST(test_window_matches_brute_force)
{
	struct pd_store *st = pd_test_store_at(sto.path, 0), *ro;
	const int64_t t0 = (int64_t)1767225600000;              /* 2026-01-01T00:00:00Z */
	struct gen g = generate(t0 + 1234, 7000, 3000, 120, 6); /* ~5.8 h, out of order below */
	struct pd_window got, exp;
	char ctx[128];

	/* insert in a shuffled order: the UPSERT must also fix up older minutes */
	size_t *ord = malloc(g.n * sizeof(*ord));

	ck_assert_ptr_nonnull(ord);
	for (size_t i = 0; i < g.n; i++)
		ord[i] = i;
	for (size_t i = g.n - 1; i > 0; i--) {
		size_t j = rng() % (i + 1), t = ord[i];

		ord[i] = ord[j];
		ord[j] = t;
	}
	for (size_t i = 0; i < g.n; i++) {
		add_ok(st, "userid", &g.r[ord[i]]);
		if (i % 97 == 0)
			flush_ok(st);
	}
	free(ord);
	/* inside the open batch the writer sees its own rows */
	exp = (struct pd_window){0};
	brute(&g, t0, t0 + DAY_MS, &exp);
	got = window_ok(st, "userid", t0, t0 + DAY_MS);
	assert_window(&got, &exp, "whole, in batch");
	flush_ok(st);
	ro = pd_test_store_at(sto.path, 1);

	/* windows: minute-aligned, unaligned, inside one minute, hour-spanning, empty,
	 * reversed */
	for (int k = 0; k < 600; k++) {
		int64_t a = t0 - MIN_MS + (int64_t)(rng() % (uint64_t)(7 * HOUR_MS));
		int64_t len;

		switch (k % 5) {
		case 0: /* aligned both ends */
			a -= a % MIN_MS;
			len = (int64_t)(1 + rng() % 120) * MIN_MS;
			break;
		case 1: /* inside one minute or across one boundary */
			len = (int64_t)(rng() % MIN_MS);
			break;
		case 2: /* the classifier's 5 min */
			len = 5 * MIN_MS;
			break;
		case 3: /* hours, across the end of the data (the open minute and hour) */
			len = (int64_t)(rng() % (uint64_t)(8 * HOUR_MS));
			break;
		default:
			len = (int64_t)(rng() % (uint64_t)(3 * HOUR_MS));
			break;
		}
		brute(&g, a, a + len, &exp);
		got = window_ok(ro, "userid", a, a + len);
		snprintf(ctx, sizeof(ctx), "window %d [%lld, +%lld)", k, (long long)(a - t0),
			 (long long)len);
		assert_window(&got, &exp, ctx);
	}
	got = window_ok(ro, "userid", t0 + HOUR_MS, t0 + HOUR_MS);
	ck_assert_int_eq(got.count, 0);
	ck_assert_double_eq(got.p95_ms, -1);
	got = window_ok(ro, "userid", t0 + HOUR_MS, t0);
	ck_assert_int_eq(got.count, 0);
	ck_assert_double_eq(got.p50_ms, -1);
	/* the extremes of int64 are clamped, not overflowed */
	got = window_ok(ro, "userid", INT64_MIN, INT64_MAX);
	ck_assert_int_eq(got.count, (int64_t)g.n);
	pd_store_free(ro);
	pd_store_free(st);
	free(g.r);
}
END_TEST

/* The same p95 that pd_store_history computes exactly, within the bound. */
START_TEST(test_window_vs_history)
{
	struct pd_store *st = pd_test_store_at(sto.path, 0);
	const int64_t t0 = (int64_t)1767225600000;
	struct gen g = generate(t0, 10000, 8640, 250, 1);
	struct pd_history_stats hs;
	struct pd_err err = {0};
	struct pd_window w;

	for (size_t i = 0; i < g.n; i++)
		add_ok(st, "post-detail", &g.r[i]);
	flush_ok(st);
	ck_assert_int_eq(pd_store_history(st, "post-detail", t0, NULL, NULL, &hs, &err), 0);
	w = window_ok(st, "post-detail", t0, INT64_MAX);
	ck_assert_int_eq(w.count, hs.count);
	ck_assert_int_eq(w.failures, hs.failures);
	assert_close(w.p95_ms, hs.p95_ms, "p95 vs history");
	assert_close(w.p50_ms, hs.p50_ms, "p50 vs history");
	pd_store_free(st);
	free(g.r);
}
END_TEST

START_TEST(test_window_exact_cases)
{
	struct pd_store *st = pd_test_store_at(sto.path, 0);
	const int64_t t0 = 10 * (int64_t)DAY_MS;
	struct pd_result r;
	struct pd_window w;
	struct pd_err err = {0};

	/* identical latencies: the estimate is exact (clamped to min = max) */
	for (int i = 0; i < 100; i++) {
		r = mkres(t0 + i * 1000, 0, 123.25);
		add_ok(st, "same", &r);
	}
	/* below 0.1 ms and above 60 s: the two open-ended buckets */
	for (int i = 0; i < 50; i++) {
		r = mkres(t0 + i * 1000, 0, 0.05);
		add_ok(st, "edges", &r);
		r = mkres(t0 + i * 1000 + 500, PD_OUT_TIMEOUT, 90000);
		add_ok(st, "edges", &r);
	}
	/* only failures without a response: counted, no percentiles */
	for (int i = 0; i < 7; i++) {
		r = mkres(t0 + i * 1000, PD_OUT_DNS, -1);
		add_ok(st, "nolat", &r);
	}
	flush_ok(st);
	w = window_ok(st, "same", t0, t0 + HOUR_MS);
	ck_assert_int_eq(w.count, 100);
	ck_assert_double_eq(w.p50_ms, 123.25);
	ck_assert_double_eq(w.p95_ms, 123.25);

	w = window_ok(st, "edges", t0, t0 + HOUR_MS);
	ck_assert_int_eq(w.count, 100);
	ck_assert_int_eq(w.failures, 50);
	ck_assert_int_eq(w.by_class[PD_OUT_TIMEOUT], 50);
	ck_assert_msg(fabs(w.p50_ms - 0.05) <= 0.1 && w.p50_ms >= 0.05, "p50 %g", w.p50_ms);
	ck_assert_msg(w.p95_ms >= 60000 && w.p95_ms <= 90000, "p95 %g", w.p95_ms);

	w = window_ok(st, "nolat", t0, t0 + HOUR_MS);
	ck_assert_int_eq(w.count, 7);
	ck_assert_int_eq(w.failures, 7);
	ck_assert_double_eq(w.error_rate, 1.0);
	ck_assert_int_eq(w.by_class[PD_OUT_DNS], 7);
	ck_assert_double_eq(w.p50_ms, -1);
	ck_assert_double_eq(w.p95_ms, -1);

	/* a probe the store has never seen: NOTFOUND, window still initialised */
	memset(&w, 0x5a, sizeof(w));
	ck_assert_int_eq(pd_store_window(st, "nope", t0, t0 + HOUR_MS, &w, &err), PD_ERR_NOTFOUND);
	ck_assert_int_eq(w.count, 0);
	ck_assert_int_eq(w.by_class[PD_OUT_DNS], 0);
	ck_assert_double_eq(w.p95_ms, -1);
	pd_store_free(st);
}
END_TEST

START_TEST(test_family_window)
{
	struct pd_store *st = pd_test_store_at(sto.path, 0);
	const int64_t t0 = (int64_t)1767225600000;
	struct gen a = generate(t0 + 3, 10000, 600, 80, 5),
		   b = generate(t0 + 17, 15000, 400, 900, 20);
	struct gen both = {calloc(a.n + b.n, sizeof(struct pd_result)), a.n + b.n};
	const char *fam[] = {"userinfo-a", "ghost", "userinfo-b"};
	const char *ghosts[] = {"ghost", "ghost2"};
	struct pd_window got, exp;
	struct pd_err err = {0};

	ck_assert_ptr_nonnull(both.r);
	for (size_t i = 0; i < a.n; i++) {
		add_ok(st, "userinfo-a", &a.r[i]);
		both.r[i] = a.r[i];
	}
	for (size_t i = 0; i < b.n; i++) {
		add_ok(st, "userinfo-b", &b.r[i]);
		both.r[a.n + i] = b.r[i];
	}
	flush_ok(st);
	for (int k = 0; k < 50; k++) {
		int64_t s = t0 + (int64_t)(rng() % (uint64_t)(2 * HOUR_MS));
		int64_t len = (int64_t)(rng() % (uint64_t)HOUR_MS);

		ck_assert_int_eq(pd_store_family_window(st, fam, 3, s, s + len, &got, &err), 0);
		brute(&both, s, s + len, &exp);
		assert_window(&got, &exp, "family");
	}
	/* nothing known: an empty window, not an error */
	ck_assert_int_eq(pd_store_family_window(st, ghosts, 2, t0, t0 + HOUR_MS, &got, &err), 0);
	ck_assert_int_eq(got.count, 0);
	ck_assert_double_eq(got.p95_ms, -1);
	pd_store_free(st);
	free(a.r);
	free(b.r);
	free(both.r);
}
END_TEST

START_TEST(test_baseline)
{
	struct pd_store *st = pd_test_store_at(sto.path, 0);
	/* now = day 20, 14:37:12 UTC; the baseline hour is 14:00-15:00 of days 13..19 */
	const int64_t day20 = (int64_t)1767225600000 + 20 * (int64_t)DAY_MS;
	const int64_t now = day20 + 14 * (int64_t)HOUR_MS + 37 * MIN_MS + 12345;
	double *v = calloc(7 * 60 * 6, sizeof(*v)), p95;
	struct pd_err err = {0};
	size_t nv = 0;
	struct pd_result r;

	ck_assert_ptr_nonnull(v);
	for (int d = 1; d <= 9; d++) {
		int64_t day = day20 - d * (int64_t)DAY_MS;

		for (int i = 0; i < 24 * 360; i++) { /* every 10 s, all day */
			int64_t ts = day + (int64_t)i * 10000;
			int hour = i / 360;
			double ms;

			if (hour == 14 && d <= 7) {
				ms = 100 + (double)(rng() % 1000) / 10.0 * d; /* 100..~800 */
				v[nv++] = ms;
			} else if (hour == 14) {
				ms = 50000; /* day -8, -9: outside the 7 days */
			} else {
				ms = 20000; /* other hours */
			}
			r = mkres(ts, 0, ms);
			add_ok(st, "userid", &r);
		}
	}
	/* today, the current hour: not part of its own baseline */
	for (int i = 0; i < 200; i++) {
		r = mkres(day20 + 14 * (int64_t)HOUR_MS + i * 10000, 0, 30000);
		add_ok(st, "userid", &r);
	}
	flush_ok(st);
	ck_assert_uint_eq(nv, 7 * 360);
	qsort(v, nv, sizeof(*v), cmp_double);
	ck_assert_int_eq(pd_store_baseline_p95(st, "userid", now, 100, &p95, &err), 0);
	assert_close(p95, v[(95 * nv + 99) / 100 - 1], "baseline p95");
	/* min_samples: exactly the stored count is enough, one more is not */
	ck_assert_int_eq(pd_store_baseline_p95(st, "userid", now, (int64_t)nv, &p95, &err), 0);
	ck_assert(p95 > 0);
	ck_assert_int_eq(pd_store_baseline_p95(st, "userid", now, (int64_t)nv + 1, &p95, &err), 0);
	ck_assert_double_eq(p95, -1);
	/* a different hour of the day has a different baseline (20 s) */
	ck_assert_int_eq(pd_store_baseline_p95(st, "userid", now + 2 * HOUR_MS, 1, &p95, &err), 0);
	assert_close(p95, 20000, "other hour");
	/* no data at all at that hour (days 13..19 at 14h, 30 days later) */
	ck_assert_int_eq(
		pd_store_baseline_p95(st, "userid", now + 30 * (int64_t)DAY_MS, 1, &p95, &err), 0);
	ck_assert_double_eq(p95, -1);
	ck_assert_int_eq(pd_store_baseline_p95(st, "nope", now, 1, &p95, &err), PD_ERR_NOTFOUND);
	ck_assert_double_eq(p95, -1);
	free(v);
	pd_store_free(st);
}
END_TEST

static int64_t
count_rows(const char *path, const char *table)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char sql[128];
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static int64_t
count_agg_rows(const char *path)
{
	return count_rows(path, "agg_minute");
}

START_TEST(test_prune_aggregates)
{
	struct pd_store *st = pd_test_store_at(sto.path, 0);
	const int64_t t0 = 100 * (int64_t)MIN_MS;
	const int64_t cutoff = t0 + 5 * MIN_MS + 30000; /* in the middle of minute 105 */
	struct pd_result r;
	struct pd_window w;
	struct pd_err err = {0};
	int deleted, total = 0;

	/* 10 minutes x 6 results, one probe */
	for (int i = 0; i < 60; i++) {
		r = mkres(t0 + i * 10000, i % 10 == 0 ? PD_OUT_HTTP_5XX : 0, 100 + i);
		add_ok(st, "p", &r);
	}
	flush_ok(st);
	ck_assert_int_eq(count_agg_rows(sto.path), 9); /* minute 109 is still open */
	/* a small budget: results first, then aggregates, each call committed */
	do {
		ck_assert_int_eq(pd_store_prune(st, cutoff, 7, &deleted, &err), 0);
		total += deleted;
	} while (deleted == 7);
	/* 33 results (< cutoff) and the 5 minutes that ended by the cutoff */
	ck_assert_int_eq(total, 33 + 5);
	ck_assert_int_eq(count_agg_rows(sto.path), 4);
	w = window_ok(st, "p", 0, cutoff - 30000);
	ck_assert_int_eq(w.count, 0);
	ck_assert_double_eq(w.p95_ms, -1);
	/* what is after the cutoff is intact */
	w = window_ok(st, "p", cutoff, t0 + 10 * MIN_MS);
	ck_assert_int_eq(w.count, 27);
	ck_assert_int_eq(w.failures, 2); /* i = 40, 50 */
	w = window_ok(st, "p", t0 + 6 * MIN_MS, t0 + 10 * MIN_MS);
	ck_assert_int_eq(w.count, 24);
	ck_assert_int_eq(pd_store_prune(st, cutoff, 100, &deleted, &err), 0);
	ck_assert_int_eq(deleted, 0);
	pd_store_free(st);
}
END_TEST

static void
sql_ok(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql,
		      msg ? msg : "?");
	sqlite3_close(db);
}

/* A database from before the aggregates: a writer opening it builds them from the
 * results, and the windows come out the same as when written incrementally. */
START_TEST(test_migration_backfill)
{
	struct pd_store *st = pd_test_store_at(sto.path, 0);
	const int64_t t0 = (int64_t)1767225600000;
	struct gen g = generate(t0, 10000, 2000, 300, 10);
	struct pd_window before[20], after;
	int64_t win[20][2], n, nh;

	for (size_t i = 0; i < g.n; i++)
		add_ok(st, "post-detail", &g.r[i]);
	flush_ok(st);
	for (int k = 0; k < 20; k++) {
		win[k][0] = t0 + (int64_t)(rng() % (uint64_t)(5 * HOUR_MS));
		win[k][1] = win[k][0] + (int64_t)(rng() % (uint64_t)HOUR_MS);
		before[k] = window_ok(st, "post-detail", win[k][0], win[k][1]);
	}
	n = count_agg_rows(sto.path);
	nh = count_rows(sto.path, "agg_hour");
	ck_assert_int_ge(nh, 5);
	pd_store_free(st);
	/* what the migration leaves on a file from before: the table, empty */
	sql_ok(sto.path, "DELETE FROM agg_minute");
	ck_assert_int_eq(count_agg_rows(sto.path), 0);
	/* a reader does not build them */
	st = pd_test_store_at(sto.path, 1);
	ck_assert_int_eq(count_agg_rows(sto.path), 0);
	pd_store_free(st);
	st = pd_test_store_at(sto.path, 0);
	ck_assert_int_eq(count_agg_rows(sto.path), n);
	ck_assert_int_eq(count_rows(sto.path, "agg_hour"), nh);
	for (int k = 0; k < 20; k++) {
		after = window_ok(st, "post-detail", win[k][0], win[k][1]);
		ck_assert_int_eq(after.count, before[k].count);
		ck_assert_int_eq(after.failures, before[k].failures);
		ck_assert_int_eq(memcmp(after.by_class, before[k].by_class, sizeof(after.by_class)),
				 0);
		ck_assert_double_eq(after.p50_ms, before[k].p50_ms);
		ck_assert_double_eq(after.p95_ms, before[k].p95_ms);
	}
	pd_store_free(st);
	free(g.r);
}
END_TEST

/* A minute is aggregated when the probe's first result of a later minute arrives; until
 * then windows read it from the results. A late result recomputes its minute. */
START_TEST(test_minute_close)
{
	struct pd_store *st = pd_test_store_at(sto.path, 0), *ro;
	const int64_t t0 = 2000 * (int64_t)MIN_MS;
	struct pd_result r;
	struct pd_window w;

	for (int i = 0; i < 3; i++) {
		r = mkres(t0 + i * 10000, i == 2 ? PD_OUT_HTTP_5XX : 0, 100 + i);
		add_ok(st, "p", &r);
	}
	flush_ok(st);
	ck_assert_int_eq(count_agg_rows(sto.path), 0);
	ro = pd_test_store_at(sto.path, 1);
	w = window_ok(ro, "p", t0, t0 + 3 * MIN_MS);
	ck_assert_int_eq(w.count, 3);
	ck_assert_int_eq(w.by_class[PD_OUT_HTTP_5XX], 1);
	/* first result two minutes later: minute 0 closes, minute 2 is open */
	r = mkres(t0 + 2 * MIN_MS + 5, 0, 50);
	add_ok(st, "p", &r);
	flush_ok(st);
	ck_assert_int_eq(count_agg_rows(sto.path), 1);
	w = window_ok(ro, "p", t0, t0 + 3 * MIN_MS);
	ck_assert_int_eq(w.count, 4);
	ck_assert_int_eq(w.failures, 1);
	/* late results: one into the empty minute 1, one into the closed minute 0 */
	r = mkres(t0 + MIN_MS + 7, PD_OUT_TIMEOUT, 10000);
	add_ok(st, "p", &r);
	r = mkres(t0 + 59999, PD_OUT_SHAPE, 90);
	add_ok(st, "p", &r);
	flush_ok(st);
	ck_assert_int_eq(count_agg_rows(sto.path), 2);
	w = window_ok(ro, "p", t0, t0 + 3 * MIN_MS);
	ck_assert_int_eq(w.count, 6);
	ck_assert_int_eq(w.failures, 3);
	ck_assert_int_eq(w.by_class[PD_OUT_SHAPE], 1);
	ck_assert_int_eq(w.by_class[PD_OUT_TIMEOUT], 1);
	w = window_ok(ro, "p", t0, t0 + MIN_MS);
	ck_assert_int_eq(w.count, 4);
	/* a restart in the middle: the store learns the newest minute from the file */
	pd_store_free(st);
	st = pd_test_store_at(sto.path, 0);
	r = mkres(t0 + 3 * MIN_MS, 0, 60);
	add_ok(st, "p", &r);
	flush_ok(st);
	ck_assert_int_eq(count_agg_rows(sto.path), 3);
	w = window_ok(ro, "p", t0, t0 + 4 * MIN_MS);
	ck_assert_int_eq(w.count, 7);
	pd_store_free(ro);
	pd_store_free(st);
}
END_TEST

/* Hours close like minutes: when the probe's first result of a later hour arrives, from
 * the minute rows; a late result recomputes a closed hour; pruning drops the hours that
 * ended by the cutoff. */
START_TEST(test_hour_close)
{
	struct pd_store *st = pd_test_store_at(sto.path, 0);
	const int64_t t0 = 500 * (int64_t)HOUR_MS;
	struct pd_result r;
	struct pd_window w;
	struct pd_err err = {0};
	int deleted, total = 0;

	/* every 10 min for 3 hours: hours 0 and 1 close, hour 2 is open */
	for (int i = 0; i < 18; i++) {
		r = mkres(t0 + i * 10 * MIN_MS, i % 6 == 0 ? PD_OUT_TIMEOUT : 0, 100 + i);
		add_ok(st, "p", &r);
	}
	flush_ok(st);
	ck_assert_int_eq(count_rows(sto.path, "agg_hour"), 2);
	w = window_ok(st, "p", t0, t0 + 3 * HOUR_MS);
	ck_assert_int_eq(w.count, 18);
	ck_assert_int_eq(w.by_class[PD_OUT_TIMEOUT], 3);
	/* late: into the closed hour 0, into the open hour 2 */
	r = mkres(t0 + 5 * MIN_MS, PD_OUT_SHAPE, 70);
	add_ok(st, "p", &r);
	r = mkres(t0 + 2 * HOUR_MS + 5 * MIN_MS, PD_OUT_SHAPE, 70);
	add_ok(st, "p", &r);
	flush_ok(st);
	ck_assert_int_eq(count_rows(sto.path, "agg_hour"), 2);
	w = window_ok(st, "p", t0, t0 + HOUR_MS);
	ck_assert_int_eq(w.count, 7);
	ck_assert_int_eq(w.by_class[PD_OUT_SHAPE], 1);
	w = window_ok(st, "p", t0 - HOUR_MS, t0 + 4 * HOUR_MS);
	ck_assert_int_eq(w.count, 20);
	ck_assert_int_eq(w.failures, 5);
	/* a window that starts mid-hour and ends after the data */
	w = window_ok(st, "p", t0 + 30 * MIN_MS + 1, t0 + 30 * HOUR_MS);
	ck_assert_int_eq(w.count, 20 - 5); /* not 0:00, 0:05, 0:10, 0:20, 0:30 */
	/* prune at 1:30: results, the 90 minute rows before, hour 0 */
	do {
		ck_assert_int_eq(pd_store_prune(st, t0 + 90 * MIN_MS, 5, &deleted, &err), 0);
		total += deleted;
	} while (deleted == 5);
	ck_assert_int_eq(count_rows(sto.path, "agg_hour"), 1);
	ck_assert_int_eq(total, (6 + 1 + 3) + (6 + 1 + 3) + 1);
	w = window_ok(st, "p", t0 + 2 * HOUR_MS, t0 + 3 * HOUR_MS);
	ck_assert_int_eq(w.count, 7);
	pd_store_free(st);
}
END_TEST

/* A damaged aggregate blob is read as empty and never blocks writes; recomputing the
 * minute rebuilds it. */
START_TEST(test_damaged_blob)
{
	struct pd_store *st = pd_test_store_at(sto.path, 0);
	const int64_t t0 = 1000 * (int64_t)MIN_MS;
	struct pd_result r;
	struct pd_window w;

	r = mkres(t0, PD_OUT_SHAPE, 10);
	add_ok(st, "p", &r);
	r = mkres(t0 + MIN_MS, 0, 10); /* closes minute t0 */
	add_ok(st, "p", &r);
	pd_store_free(st);
	ck_assert_int_eq(count_agg_rows(sto.path), 1);
	sql_ok(sto.path, "UPDATE agg_minute SET hist = x'01', by_class = x'02ffff'");
	st = pd_test_store_at(sto.path, 0);
	w = window_ok(st, "p", t0, t0 + MIN_MS);
	ck_assert_int_eq(w.count, 1); /* counts survive, the damaged parts read empty */
	ck_assert_int_eq(w.failures, 1);
	ck_assert_double_eq(w.p95_ms, -1);
	ck_assert_int_eq(w.by_class[PD_OUT_SHAPE], 0);
	r = mkres(t0 + 1000, PD_OUT_HTTP_5XX, 20); /* late: recomputes minute t0 */
	add_ok(st, "p", &r);
	flush_ok(st);
	w = window_ok(st, "p", t0, t0 + MIN_MS);
	ck_assert_int_eq(w.count, 2);
	ck_assert_int_eq(w.failures, 2);
	ck_assert_int_eq(w.by_class[PD_OUT_SHAPE], 1);
	ck_assert_int_eq(w.by_class[PD_OUT_HTTP_5XX], 1);
	assert_close(w.p95_ms, 20, "rebuilt histogram");
	pd_store_free(st);
}
END_TEST

/* pd_store_series_agg against pd_store_series (the raw scan) on the same file: 24 h in
 * 96 buckets of 15 minutes, the open minute included; counts, failures and max equal,
 * p95 within the bound; then buckets that start before the data and run past it, and the
 * argument checks. pd_store_window_stats against pd_store_history's stats. */
START_TEST(test_series_agg_vs_raw)
{
	struct pd_store *st = pd_test_store_at(sto.path, 0);
	const int64_t bms = 15 * MIN_MS, t0 = (int64_t)1767225600000; /* 00:00 UTC */
	struct gen g = generate(t0 + 777, 10000, 8700, 90, 3);        /* ~24.2 h, open minute */
	struct pd_series_bucket a[96], r[96];
	struct pd_history_stats ta, tr, ws;
	struct pd_err err = {0};
	int64_t since = t0 + bms, sum = 0; /* to 24:15: the last bucket holds the end */
	char ctx[64];

	for (size_t i = 0; i < g.n; i++) {
		add_ok(st, "userinfo", &g.r[i]);
		if (i % 500 == 0)
			flush_ok(st);
	}
	flush_ok(st);
	ck_assert_msg(pd_store_series_agg(st, "userinfo", since, bms, a, 96, &ta, &err) == 0, "%s",
		      err.msg);
	ck_assert_int_eq(pd_store_series(st, "userinfo", since, bms, r, 96, &tr, &err), 0);
	for (int i = 0; i < 96; i++) {
		snprintf(ctx, sizeof(ctx), "bucket %d p95", i);
		ck_assert_int_eq(a[i].start_ms, r[i].start_ms);
		ck_assert_int_eq(a[i].count, r[i].count);
		ck_assert_int_eq(a[i].failures, r[i].failures);
		ck_assert_double_eq_tol(a[i].max_ms, r[i].max_ms, 1e-9);
		assert_close(a[i].p95_ms, r[i].p95_ms, ctx);
		sum += a[i].count;
	}
	/* the last bucket holds the probe's open (not yet aggregated) minute */
	ck_assert_int_gt(a[95].count, 0);
	ck_assert_int_eq(sum, ta.count);
	ck_assert_int_eq(ta.count, tr.count);
	ck_assert_int_eq(ta.failures, tr.failures);
	ck_assert_double_eq_tol(ta.error_rate, tr.error_rate, 1e-12);
	ck_assert_double_eq_tol(ta.max_ms, tr.max_ms, 1e-9);
	assert_close(ta.p50_ms, tr.p50_ms, "total p50");
	assert_close(ta.p95_ms, tr.p95_ms, "total p95");
	assert_close(ta.p99_ms, tr.p99_ms, "total p99");
	/* the totals alone, from hour rows: the same counts */
	ck_assert_int_eq(pd_store_window_stats(st, "userinfo", since, since + 96 * bms, &ws, &err),
			 0);
	ck_assert_int_eq(ws.count, tr.count);
	ck_assert_int_eq(ws.failures, tr.failures);
	ck_assert_double_eq_tol(ws.max_ms, tr.max_ms, 1e-9);
	assert_close(ws.p95_ms, tr.p95_ms, "window_stats p95");
	assert_close(ws.p99_ms, tr.p99_ms, "window_stats p99");

	/* 8 hourly buckets from 2 h before the data: empty ones, then data */
	ck_assert_int_eq(
		pd_store_series_agg(st, "userinfo", t0 - 2 * HOUR_MS, HOUR_MS, a, 8, NULL, &err),
		0);
	ck_assert_int_eq(
		pd_store_series(st, "userinfo", t0 - 2 * HOUR_MS, HOUR_MS, r, 8, NULL, &err), 0);
	ck_assert_int_eq(a[0].count, 0);
	ck_assert(a[0].p95_ms == -1 && a[0].max_ms == -1);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(a[i].count, r[i].count);
		ck_assert_int_eq(a[i].failures, r[i].failures);
		assert_close(a[i].p95_ms, r[i].p95_ms, "hourly p95");
	}
	/* a range after the data: empty */
	ck_assert_int_eq(pd_store_series_agg(st, "userinfo", t0 + 2 * DAY_MS, bms, a, 4, &ta, &err),
			 0);
	ck_assert_int_eq(a[3].count + ta.count, 0);
	ck_assert(ta.p95_ms == -1);
	/* unknown probe, bad arguments */
	ck_assert_int_eq(pd_store_series_agg(st, "nope", since, bms, a, 4, NULL, &err),
			 PD_ERR_NOTFOUND);
	ck_assert_int_eq(pd_store_window_stats(st, "nope", since, since + bms, &ws, &err),
			 PD_ERR_NOTFOUND);
	ck_assert_int_eq(pd_store_series_agg(st, "userinfo", since + 1, bms, a, 4, NULL, &err),
			 PD_ERR_INVALID);
	ck_assert_int_eq(pd_store_series_agg(st, "userinfo", since, 90000, a, 4, NULL, &err),
			 PD_ERR_INVALID);
	ck_assert_int_eq(pd_store_series_agg(st, "userinfo", since, bms, a, 0, NULL, &err),
			 PD_ERR_INVALID);
	pd_store_free(st);
	free(g.r);
}
END_TEST

static Suite *
store_window_suite(void)
{
	Suite *s = suite_create("store_window");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_window_matches_brute_force);
	tcase_add_test(tc, test_window_vs_history);
	tcase_add_test(tc, test_window_exact_cases);
	tcase_add_test(tc, test_family_window);
	tcase_add_test(tc, test_baseline);
	tcase_add_test(tc, test_prune_aggregates);
	tcase_add_test(tc, test_migration_backfill);
	tcase_add_test(tc, test_minute_close);
	tcase_add_test(tc, test_hour_close);
	tcase_add_test(tc, test_damaged_blob);
	tcase_add_test(tc, test_series_agg_vs_raw);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(store_window_suite());
}
