/* bench/query.c — how fast the classifier's facts come out of a full store.
 *
 * Fills a temporary database with DAYS days of results at one per INTERVAL per probe
 * for a few probes, through the real write path (pd_store_add_result, batched flushes:
 * results + per-minute aggregate UPSERT in the same commit), then times:
 *   - the write cost of the aggregates: pd_store_add_result vs. the plain results
 *     INSERT alone (same statement, same table, same batch sizes) vs. the design not
 *     taken (an aggregate UPSERT per result), per result;
 *   - pd_store_window over 24 h and 5 min, pd_store_family_window, and the baseline
 *     (pd_store_baseline_p95: the same hour on the 7 previous days);
 *   - the plain-SQL alternatives for "p95 of one probe over 24 h": ORDER BY ... OFFSET,
 *     reading every value (pd_store_history and a bare SELECT + sort), and the same
 *     through a covering index (probe_id, ts_ms, total_ms);
 *   - the accuracy of the histogram percentiles against the exact ones;
 *   - building the aggregates of the whole file from the results (what an upgraded
 *     database does once, on its first writer open).
 * Each query is repeated many times on a warm cache; median, p99 and mean are printed
 * as Markdown (bench/query.sh puts them into bench/RESULTS-query.md).
 *
 *   query [--days N] [--interval-ms N] [--probes N] [--reps N] [--batch N] [--keep]
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "probed/classify.h"
#include "probed/outcome.h"
#include "probed/store.h"

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL

static int opt_days = 30, opt_probes = 3, opt_reps = 2000, opt_batch = 60, opt_keep = 0;
static int64_t opt_interval = 10000;

static const char *const probe_names[] = {"userid",    "userinfo",      "post-detail", "user-posts",
					  "dashboard", "stats-archive", "p7",          "p8"};
static const double probe_median[] = {80, 150, 300, 220, 400, 60, 100, 100};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static double
unit(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

static void
die(const char *what, const char *msg)
{
	fprintf(stderr, "query: %s: %s\n", what, msg);
	exit(1);
}

/* one synthetic result: log-normal latency with a daily cycle, rare spikes, ~0.3 %
 * failures of assorted classes */
static struct pd_result
synth(int p, int64_t ts)
{
	static const int classes[] = {PD_OUT_TIMEOUT, PD_OUT_HTTP_5XX, PD_OUT_SHAPE, PD_OUT_CONNECT,
				      PD_OUT_QUOTA};
	struct pd_result r;
	double hour = (double)((ts % DAY_MS) / HOUR_MS);
	double z = (unit() + unit() + unit() + unit() - 2.0) * 1.7;
	double ms = probe_median[p] * (1 + 0.3 * sin(hour / 24 * 2 * M_PI)) * exp(0.25 * z);

	memset(&r, 0, sizeof(r));
	if (unit() < 0.005)
		ms *= 5;
	r.ts_ms = ts;
	r.http_status = 200;
	r.dns_ms = 0.2;
	r.connect_ms = 1;
	r.tls_ms = 2;
	r.ttfb_ms = ms * 0.9;
	r.total_ms = ms;
	r.body_size = 420;
	r.lateness_us = (int64_t)(rng() % 900);
	strcpy(r.verdict, "ok");
	if (unit() < 0.003) {
		r.outcome = classes[rng() % 5];
		r.http_status = r.outcome == PD_OUT_HTTP_5XX ? 502
				: r.outcome == PD_OUT_QUOTA  ? 429
				: r.outcome == PD_OUT_SHAPE  ? 200
							     : 0;
		if (r.outcome == PD_OUT_CONNECT) {
			r.total_ms = -1;
			r.ttfb_ms = -1;
		}
		if (r.outcome == PD_OUT_TIMEOUT)
			r.total_ms = 10000;
		snprintf(r.verdict, sizeof(r.verdict), "%s", pd_outcome_str(r.outcome));
	}
	return r;
}

/* ---- timing ---- */

struct stat_set {
	double med, p99, mean;
};

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct stat_set
summarize(double *v, int n)
{
	struct stat_set s = {0, 0, 0};

	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	for (int i = 0; i < n; i++)
		s.mean += v[i];
	s.mean /= n;
	s.med = v[n / 2];
	s.p99 = v[(int)ceil(0.99 * n) - 1];
	return s;
}

typedef void (*bench_fn)(void *ud);

static struct stat_set
timeit(bench_fn fn, void *ud, int reps)
{
	double *v = malloc(sizeof(*v) * (size_t)reps);

	if (v == NULL)
		die("timeit", "out of memory");
	for (int i = 0; i < reps / 20 + 2; i++) /* warm the cache */
		fn(ud);
	for (int i = 0; i < reps; i++) {
		double t = now_us();

		fn(ud);
		v[i] = now_us() - t;
	}
	struct stat_set s = summarize(v, reps);

	free(v);
	return s;
}

static void
row(const char *what, const char *how, struct stat_set s, int reps)
{
	printf("| %s | %s | %.3f | %.3f | %.3f | %d |\n", what, how, s.med / 1000, s.p99 / 1000,
	       s.mean / 1000, reps);
}

/* ---- the queries under test ---- */

struct q {
	struct pd_store *st;
	sqlite3 *db;
	sqlite3_stmt *stmt;
	const char *probe;
	const char *const *fam;
	size_t nfam;
	int64_t probe_id, since, until, now;
	double p95;
	struct pd_window w;
	double *buf;
	size_t cap;
};

static void
q_window(void *ud)
{
	struct q *q = ud;
	struct pd_err err = {0};

	if (pd_store_window(q->st, q->probe, q->since, q->until, &q->w, &err) != 0)
		die("pd_store_window", err.msg);
	q->p95 = q->w.p95_ms;
}

static void
q_family(void *ud)
{
	struct q *q = ud;
	struct pd_err err = {0};

	if (pd_store_family_window(q->st, q->fam, q->nfam, q->since, q->until, &q->w, &err) != 0)
		die("pd_store_family_window", err.msg);
	q->p95 = q->w.p95_ms;
}

static void
q_baseline(void *ud)
{
	struct q *q = ud;
	struct pd_err err = {0};

	if (pd_store_baseline_p95(q->st, q->probe, q->now, 1, &q->p95, &err) != 0)
		die("pd_store_baseline_p95", err.msg);
}

static void
q_history(void *ud)
{
	struct q *q = ud;
	struct pd_history_stats hs;
	struct pd_err err = {0};

	if (pd_store_history(q->st, q->probe, q->since, NULL, NULL, &hs, &err) != 0)
		die("pd_store_history", err.msg);
	q->p95 = hs.p95_ms;
}

/* plain SQL, one statement: the p95 row by ORDER BY ... LIMIT 1 OFFSET rank-1 */
static void
q_sql_offset(void *ud)
{
	struct q *q = ud;

	sqlite3_bind_int64(q->stmt, 1, q->probe_id);
	sqlite3_bind_int64(q->stmt, 2, q->since);
	sqlite3_bind_int64(q->stmt, 3, q->until);
	if (sqlite3_step(q->stmt) != SQLITE_ROW)
		die("offset query", sqlite3_errmsg(q->db));
	q->p95 = sqlite3_column_double(q->stmt, 0);
	sqlite3_reset(q->stmt);
}

/* plain SQL: read every value of the window, nearest-rank p95 in C (qsort) */
static void
q_sql_all(void *ud)
{
	struct q *q = ud;
	size_t n = 0;
	int rc;

	sqlite3_bind_int64(q->stmt, 1, q->probe_id);
	sqlite3_bind_int64(q->stmt, 2, q->since);
	sqlite3_bind_int64(q->stmt, 3, q->until);
	while ((rc = sqlite3_step(q->stmt)) == SQLITE_ROW) {
		if (n == q->cap) {
			q->cap = q->cap ? q->cap * 2 : 16384;
			if ((q->buf = realloc(q->buf, q->cap * sizeof(*q->buf))) == NULL)
				die("read all", "out of memory");
		}
		q->buf[n++] = sqlite3_column_double(q->stmt, 0);
	}
	if (rc != SQLITE_DONE)
		die("read all", sqlite3_errmsg(q->db));
	sqlite3_reset(q->stmt);
	qsort(q->buf, n, sizeof(*q->buf), cmp_d);
	q->p95 = n ? q->buf[(95 * n + 99) / 100 - 1] : -1;
}

static sqlite3_stmt *
prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		die(sql, sqlite3_errmsg(db));
	return s;
}

static void
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die(sql, msg ? msg : "?");
}

static int64_t
one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = prep(db, sql);
	int64_t v = -1;

	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* exact nearest-rank p of the values of [since, until) of probe_id (plain SQL) */
static double
exact_pct(sqlite3 *db, int64_t probe_id, int64_t since, int64_t until, unsigned p)
{
	sqlite3_stmt *s = prep(db, "SELECT total_ms FROM results WHERE probe_id = ?1 AND "
				   "ts_ms >= ?2 AND ts_ms < ?3 AND total_ms >= 0");
	double *v = NULL;
	size_t n = 0, cap = 0;
	double r;

	sqlite3_bind_int64(s, 1, probe_id);
	sqlite3_bind_int64(s, 2, since);
	sqlite3_bind_int64(s, 3, until);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((v = realloc(v, cap * sizeof(*v))) == NULL)
				die("exact", "out of memory");
		}
		v[n++] = sqlite3_column_double(s, 0);
	}
	sqlite3_finalize(s);
	qsort(v, n, sizeof(*v), cmp_d);
	r = n ? v[(p * n + 99) / 100 - 1] : -1;
	free(v);
	return r;
}

/* ---- the per-result UPSERT design, for the write-cost comparison ---- */

/* the store's bucket layout (src/store.c: 128 log-spaced buckets, 0.1 ms .. 60 s) */
static int
bench_bucket(double ms)
{
	double lr = log(600000.0) / 126, x;

	if (ms < 0.1)
		return 0;
	if (ms >= 60000)
		return 127;
	x = floor(log(ms / 0.1) / lr);
	return 1 + (int)(x < 0 ? 0 : x > 125 ? 125 : x);
}

/* bench_bump(blob, idx): a sparse-range blob (byte 0 first slot, then LE uint32 counts)
 * with slot idx incremented — what an UPSERT per result needs */
static void
bench_bump(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	unsigned char out[1 + 4 * 256];
	uint32_t c[256];
	const unsigned char *b = NULL;
	int len = 0, lo = 0, k = 0, idx, nlo, nhi;

	(void)argc;
	if (sqlite3_value_type(argv[1]) == SQLITE_NULL) {
		sqlite3_result_value(ctx, argv[0]);
		return;
	}
	idx = sqlite3_value_int(argv[1]) & 255;
	if (sqlite3_value_type(argv[0]) == SQLITE_BLOB) {
		b = sqlite3_value_blob(argv[0]);
		len = sqlite3_value_bytes(argv[0]);
	}
	if (b != NULL && len >= 5 && (len - 1) % 4 == 0) {
		lo = b[0];
		k = (len - 1) / 4;
		if (lo + k > 256)
			k = 0;
	}
	nlo = k > 0 && lo < idx ? lo : idx;
	nhi = k > 0 && lo + k - 1 > idx ? lo + k - 1 : idx;
	memset(c + nlo, 0, sizeof(c[0]) * (size_t)(nhi - nlo + 1));
	for (int i = 0; i < k; i++)
		c[lo + i] = (uint32_t)b[1 + 4 * i] | (uint32_t)b[2 + 4 * i] << 8 |
			    (uint32_t)b[3 + 4 * i] << 16 | (uint32_t)b[4 + 4 * i] << 24;
	c[idx]++;
	out[0] = (unsigned char)nlo;
	for (int i = nlo; i <= nhi; i++) {
		unsigned char *o = out + 1 + 4 * (i - nlo);

		o[0] = (unsigned char)c[i];
		o[1] = (unsigned char)(c[i] >> 8);
		o[2] = (unsigned char)(c[i] >> 16);
		o[3] = (unsigned char)(c[i] >> 24);
	}
	sqlite3_result_blob(ctx, out, 1 + 4 * (nhi - nlo + 1), SQLITE_TRANSIENT);
}

/* bench_lat_bucket(ms) and the aggregate bench_counts(idx): the store's pd_lat_bucket
 * and pd_agg_counts, for the as-built design in plain SQL */
static void
bench_lat_bucket(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_double(argv[0]) < 0)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_int(ctx, bench_bucket(sqlite3_value_double(argv[0])));
}

struct bench_cnt {
	uint32_t c[256];
	int lo, hi, any;
};

static void
bench_counts_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct bench_cnt *a = sqlite3_aggregate_context(ctx, (int)sizeof(*a));
	int idx;

	(void)argc;
	if (a == NULL || sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	idx = sqlite3_value_int(argv[0]) & 255;
	if (!a->any || idx < a->lo)
		a->lo = idx;
	if (!a->any || idx > a->hi)
		a->hi = idx;
	a->any = 1;
	a->c[idx]++;
}

static void
bench_counts_final(sqlite3_context *ctx)
{
	struct bench_cnt *a = sqlite3_aggregate_context(ctx, 0);
	unsigned char out[1 + 4 * 256];

	if (a == NULL || !a->any) {
		sqlite3_result_null(ctx);
		return;
	}
	out[0] = (unsigned char)a->lo;
	for (int i = a->lo; i <= a->hi; i++) {
		unsigned char *o = out + 1 + 4 * (i - a->lo);

		o[0] = (unsigned char)a->c[i];
		o[1] = (unsigned char)(a->c[i] >> 8);
		o[2] = (unsigned char)(a->c[i] >> 16);
		o[3] = (unsigned char)(a->c[i] >> 24);
	}
	sqlite3_result_blob(ctx, out, 1 + 4 * (a->hi - a->lo + 1), SQLITE_TRANSIENT);
}

/* ---- main ---- */

static void
usage(void)
{
	fprintf(stderr, "usage: query [--days N] [--interval-ms N] [--probes N] [--reps N] "
			"[--batch TICKS] [--keep]\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/pdquery.XXXXXX", path[256], sqlbuf[512];
	struct pd_store *st = NULL;
	struct pd_err err = {0};
	sqlite3 *db = NULL;
	struct q q;
	int64_t t0, t_end, ticks, nres = 0, ids[8];
	double t, fill_s;
	struct stat sb;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--days") == 0)
			opt_days = atoi(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--interval-ms") == 0)
			opt_interval = atoll(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--probes") == 0)
			opt_probes = atoi(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--reps") == 0)
			opt_reps = atoi(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--batch") == 0)
			opt_batch = atoi(argv[++i]);
		else if (strcmp(argv[i], "--keep") == 0)
			opt_keep = 1;
		else
			usage();
	}
	if (opt_days < 8 || opt_interval < 100 || opt_probes < 1 || opt_probes > 8 ||
	    opt_reps < 20 || opt_batch < 1)
		usage();
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", strerror(errno));
	snprintf(path, sizeof(path), "%s/probed.db", dir);

	/* ---- fill through the real write path ---- */
	if (pd_store_open(path, 0, &st, &err) != 0)
		die("open", err.msg);
	/* 2026-01-01T00:00:00Z minus the days; the data ends at 2026-01-01 */
	t_end = 1767225600000LL;
	t0 = t_end - opt_days * DAY_MS;
	ticks = opt_days * DAY_MS / opt_interval;
	t = now_us();
	for (int64_t k = 0; k < ticks; k++) {
		for (int p = 0; p < opt_probes; p++) {
			struct pd_result r =
				synth(p, t0 + k * opt_interval + p * 997 + (int64_t)(rng() % 300));

			if (pd_store_add_result(st, probe_names[p], &r, &err) != 0)
				die("add_result", err.msg);
			nres++;
		}
		if ((k + 1) % opt_batch == 0 && pd_store_flush(st, &err) != 0)
			die("flush", err.msg);
	}
	if (pd_store_flush(st, &err) != 0)
		die("flush", err.msg);
	fill_s = (now_us() - t) / 1e6;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		die("sqlite3_open", sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	exec(db, "PRAGMA synchronous=NORMAL"); /* as the store's own connection */
	for (int p = 0; p < opt_probes; p++) {
		snprintf(sqlbuf, sizeof(sqlbuf), "SELECT id FROM probes WHERE name = '%s'",
			 probe_names[p]);
		ids[p] = one_int(db, sqlbuf);
	}

	printf("## Data\n\n");
	printf("- %d probes x %d days at one result per %lld ms: %lld results "
	       "(%lld per probe per day), written with pd_store_add_result, "
	       "one flush (commit) every %d tick(s) of %d result(s)\n",
	       opt_probes, opt_days, (long long)opt_interval, (long long)nres,
	       (long long)(DAY_MS / opt_interval), opt_batch, opt_probes);
	printf("- fill: %.1f s (%.1f us per result, aggregates included, in big batches)\n", fill_s,
	       fill_s * 1e6 / (double)nres);
	printf("- aggregate rows: %lld minute rows, %lld hour rows (one per probe per closed "
	       "minute / hour)\n",
	       (long long)one_int(db, "SELECT count(*) FROM agg_minute"),
	       (long long)one_int(db, "SELECT count(*) FROM agg_hour"));
	if (stat(path, &sb) == 0)
		printf("- database file: %.1f MiB\n", (double)sb.st_size / 1048576.0);
	{
		sqlite3_stmt *s = NULL;

		if (sqlite3_prepare_v2(db,
				       "SELECT name, sum(pgsize) FROM dbstat "
				       "WHERE name IN ('results', 'agg_minute', 'agg_hour') "
				       "GROUP BY name ORDER BY name",
				       -1, &s, NULL) == SQLITE_OK) {
			while (sqlite3_step(s) == SQLITE_ROW) {
				const char *name = (const char *)sqlite3_column_text(s, 0);
				double bytes = (double)sqlite3_column_int64(s, 1), rows;

				snprintf(sqlbuf, sizeof(sqlbuf), "SELECT count(*) FROM %s", name);
				rows = (double)one_int(db, sqlbuf);
				printf("- table %s: %.1f MiB (%.1f bytes per row)\n", name,
				       bytes / 1048576.0, rows > 0 ? bytes / rows : 0);
			}
			sqlite3_finalize(s);
		}
	}

	/* ---- write cost: the aggregates vs. the results INSERT alone ---- */
	{
		/* path 0: pd_store_add_result (results INSERT; a minute's aggregate when the
		 *         minute closes);
		 * path 1: the store's results INSERT alone (plain SQL) for other probes;
		 * path 2: the design not taken: the INSERT plus an UPSERT of the minute's
		 *         aggregate per result, into a copy of agg_minute;
		 * path 3: path 0's design in plain SQL (INSERT; INSERT OR REPLACE ... SELECT of
		 *         the previous minute when a result opens a new one), into the copy. */
		enum { NW = 4 };
		sqlite3_stmt *ins, *ups, *cls, *beg, *com;
		const int rounds = 30, per_round = 200; /* ticks */
		double stm[NW] = {0}, cmt[NW] = {0};
		int64_t base = t_end + 60000, plain_id[NW][8], nres_p[NW] = {0}, ticks_p[NW] = {0};
		int64_t open_min[8];

		for (int p = 0; p < 8; p++)
			open_min[p] = INT64_MIN;
		if (sqlite3_create_function(db, "bench_bump", 2, SQLITE_UTF8, NULL, bench_bump,
					    NULL, NULL) != SQLITE_OK ||
		    sqlite3_create_function(db, "bench_lat_bucket", 1, SQLITE_UTF8, NULL,
					    bench_lat_bucket, NULL, NULL) != SQLITE_OK ||
		    sqlite3_create_function(db, "bench_counts", 1, SQLITE_UTF8, NULL, NULL,
					    bench_counts_step, bench_counts_final) != SQLITE_OK)
			die("bench functions", sqlite3_errmsg(db));
		exec(db,
		     "CREATE TABLE bench_agg (probe_id INTEGER NOT NULL, minute INTEGER NOT "
		     "NULL, n INTEGER NOT NULL, failures INTEGER NOT NULL, by_class BLOB, n_lat "
		     "INTEGER NOT NULL, sum_ms REAL NOT NULL, min_ms REAL, max_ms REAL, hist BLOB, "
		     "PRIMARY KEY (probe_id, minute)) WITHOUT ROWID");
		exec(db, "INSERT INTO bench_agg SELECT probe_id, minute, n, failures, by_class, "
			 "n_lat, sum_ms, min_ms, max_ms, hist FROM agg_minute"); /* same size */
		/* one plain probe per probe and path: each writes its own key range, as the
		 * real path does */
		for (int w = 1; w < NW; w++) {
			for (int p = 0; p < opt_probes; p++) {
				snprintf(sqlbuf, sizeof(sqlbuf),
					 "INSERT INTO probes(name) VALUES "
					 "('bench-plain-%d-%d')",
					 w, p);
				exec(db, sqlbuf);
				snprintf(sqlbuf, sizeof(sqlbuf),
					 "SELECT id FROM probes WHERE name = "
					 "'bench-plain-%d-%d'",
					 w, p);
				plain_id[w][p] = one_int(db, sqlbuf);
			}
		}
		ins = prep(
			db,
			"INSERT INTO results(probe_id, seq, ts_ms, outcome, http_status, "
			"curl_code, dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, body_size, "
			"lateness_us, verdict) VALUES (?1, 0, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, ?9, "
			"?10, ?11, ?12)");
		ups = prep(
			db,
			"INSERT INTO bench_agg(probe_id, minute, n, failures, by_class, "
			"n_lat, sum_ms, min_ms, max_ms, hist) VALUES (?1, ?2, 1, ?3 IS NOT NULL, "
			"bench_bump(NULL, ?3), ?4 IS NOT NULL, coalesce(?4, 0), ?4, ?4, "
			"bench_bump(NULL, ?5)) ON CONFLICT(probe_id, minute) DO UPDATE SET "
			"n = n + 1, failures = failures + excluded.failures, "
			"by_class = bench_bump(by_class, ?3), n_lat = n_lat + excluded.n_lat, "
			"sum_ms = sum_ms + excluded.sum_ms, "
			"min_ms = min(coalesce(min_ms, ?4), coalesce(?4, min_ms)), "
			"max_ms = max(coalesce(max_ms, ?4), coalesce(?4, max_ms)), "
			"hist = bench_bump(hist, ?5)");
		cls = prep(
			db,
			"INSERT OR REPLACE INTO bench_agg(probe_id, minute, n, failures, "
			"by_class, n_lat, sum_ms, min_ms, max_ms, hist) SELECT ?1, ?2, count(*), "
			"sum(outcome <> 0), bench_counts(CASE WHEN outcome <> 0 THEN outcome END), "
			"count(CASE WHEN total_ms >= 0 THEN 1 END), "
			"coalesce(sum(CASE WHEN total_ms >= 0 THEN total_ms END), 0), "
			"min(CASE WHEN total_ms >= 0 THEN total_ms END), "
			"max(CASE WHEN total_ms >= 0 THEN total_ms END), "
			"bench_counts(bench_lat_bucket(total_ms)) FROM results WHERE probe_id = ?1 "
			"AND ts_ms >= ?2 * 60000 AND ts_ms < ?2 * 60000 + 60000 "
			"HAVING count(*) > 0");
		beg = prep(db, "BEGIN IMMEDIATE");
		com = prep(db, "COMMIT");
		/* Blocks of per_round ticks, the paths taking turns block by block, each alone
		 * on the file meanwhile (connections taking turns commit by commit would each
		 * pay for invalidating the other's page cache). */
		for (int rd = 0; rd < NW * rounds; rd++) {
			int way = rd % NW;
			int64_t from = base + (int64_t)(rd / NW) * per_round * opt_interval;

			for (int k = 0; k < per_round; k++) {
				struct pd_result r[8];
				double t1, t2;

				for (int p = 0; p < opt_probes; p++)
					r[p] = synth(p, from + k * opt_interval + p * 997);
				ticks_p[way]++;
				nres_p[way] += opt_probes;
				if (way == 0) {
					/* the real API (its first write opens the batch) */
					t1 = now_us();
					for (int p = 0; p < opt_probes; p++)
						if (pd_store_add_result(st, probe_names[p], &r[p],
									&err) != 0)
							die("add_result", err.msg);
					t2 = now_us();
					if (pd_store_flush(st, &err) != 0)
						die("flush", err.msg);
					stm[0] += t2 - t1;
					cmt[0] += now_us() - t2;
					continue;
				}
				t1 = now_us();
				if (sqlite3_step(beg) != SQLITE_DONE)
					die("begin", sqlite3_errmsg(db));
				sqlite3_reset(beg);
				for (int p = 0; p < opt_probes; p++) {
					sqlite3_bind_int64(ins, 1, plain_id[way][p]);
					sqlite3_bind_int64(ins, 2, r[p].ts_ms);
					sqlite3_bind_int(ins, 3, r[p].outcome);
					sqlite3_bind_int(ins, 4, r[p].http_status);
					sqlite3_bind_double(ins, 5, r[p].dns_ms);
					sqlite3_bind_double(ins, 6, r[p].connect_ms);
					sqlite3_bind_double(ins, 7, r[p].tls_ms);
					sqlite3_bind_double(ins, 8, r[p].ttfb_ms);
					sqlite3_bind_double(ins, 9, r[p].total_ms);
					sqlite3_bind_int64(ins, 10, r[p].body_size);
					sqlite3_bind_int64(ins, 11, r[p].lateness_us);
					if (r[p].outcome != 0)
						sqlite3_bind_text(ins, 12, r[p].verdict, -1,
								  SQLITE_STATIC);
					else
						sqlite3_bind_null(ins, 12);
					if (sqlite3_step(ins) != SQLITE_DONE)
						die("plain insert", sqlite3_errmsg(db));
					sqlite3_reset(ins);
					if (way == 3) {
						int64_t m = r[p].ts_ms / 60000;

						if (open_min[p] != INT64_MIN && m != open_min[p]) {
							sqlite3_bind_int64(cls, 1,
									   plain_id[way][p]);
							sqlite3_bind_int64(cls, 2, open_min[p]);
							if (sqlite3_step(cls) != SQLITE_DONE)
								die("close", sqlite3_errmsg(db));
							sqlite3_reset(cls);
						}
						open_min[p] = m;
					}
					if (way != 2)
						continue;
					sqlite3_bind_int64(ups, 1, plain_id[way][p]);
					sqlite3_bind_int64(ups, 2, r[p].ts_ms / 60000);
					if (r[p].outcome != 0)
						sqlite3_bind_int(ups, 3, r[p].outcome);
					else
						sqlite3_bind_null(ups, 3);
					if (r[p].total_ms >= 0) {
						sqlite3_bind_double(ups, 4, r[p].total_ms);
						sqlite3_bind_int(ups, 5,
								 bench_bucket(r[p].total_ms));
					} else {
						sqlite3_bind_null(ups, 4);
						sqlite3_bind_null(ups, 5);
					}
					if (sqlite3_step(ups) != SQLITE_DONE)
						die("upsert", sqlite3_errmsg(db));
					sqlite3_reset(ups);
				}
				t2 = now_us();
				if (sqlite3_step(com) != SQLITE_DONE)
					die("commit", sqlite3_errmsg(db));
				sqlite3_reset(com);
				stm[way] += t2 - t1;
				cmt[way] += now_us() - t2;
			}
		}
		printf("\n## Write cost of the aggregates\n\n");
		printf("Steady state on the full file: %lld ticks of %d result(s) per path, one "
		       "commit per tick (the daemon commits once per loop iteration), the paths "
		       "taking turns in blocks of %d ticks. \"statements\" is the time in the "
		       "writes before the commit (BEGIN included), \"commit\" the COMMIT itself "
		       "(WAL, synchronous=NORMAL, checkpoints included).\n\n",
		       (long long)ticks_p[0], opt_probes, per_round);
		printf("| path | statements per result (us) | commit per tick (us) | "
		       "total per result (us) |\n|---|---:|---:|---:|\n");
		{
			static const char *const what[NW] = {
				"**pd_store_add_result** (results INSERT; a minute's and an hour's "
				"aggregate written once, when they close)",
				"plain SQL: results INSERT alone (the store's statement)",
				"plain SQL: INSERT + aggregate of the minute when it closes (as built; "
				"the hour close, once per probe per hour, left out)",
				"plain SQL: INSERT + an aggregate UPSERT per result (not taken)",
			};
			static const int order[NW] = {0, 1, 3, 2};
			double tot[NW];

			for (int j = 0; j < NW; j++) {
				int i = order[j];

				tot[i] = (stm[i] + cmt[i]) / (double)nres_p[i];
				printf("| %s | %.2f | %.1f | %.2f |\n", what[j],
				       stm[i] / (double)nres_p[i], cmt[i] / (double)ticks_p[i],
				       tot[i]);
			}
			printf("\nIn plain SQL, like for like: the aggregates as built add %+.2f us "
			       "per result (%+.0f %%) to the bare INSERT; an UPSERT per result would "
			       "add %+.2f us (%+.0f %%), as every commit then carries one more dirty "
			       "page per probe. pd_store_add_result itself costs %+.2f us per result "
			       "over the bare INSERT (its own bookkeeping included).\n",
			       tot[3] - tot[1], 100 * (tot[3] / tot[1] - 1), tot[2] - tot[1],
			       100 * (tot[2] / tot[1] - 1), tot[0] - tot[1]);
		}
		sqlite3_finalize(ins);
		sqlite3_finalize(ups);
		sqlite3_finalize(cls);
		sqlite3_finalize(beg);
		sqlite3_finalize(com);
		exec(db, "DROP TABLE bench_agg");
		exec(db, "DELETE FROM results WHERE probe_id IN (SELECT id FROM probes "
			 "WHERE name LIKE 'bench-plain-%')");
		exec(db, "DELETE FROM probes WHERE name LIKE 'bench-plain-%'");
		t_end = base + (int64_t)rounds * per_round * opt_interval;
	}

	/* ---- queries ---- */
	memset(&q, 0, sizeof(q));
	q.st = st;
	q.db = db;
	q.probe = probe_names[opt_probes > 2 ? 2 : 0];
	q.probe_id = ids[opt_probes > 2 ? 2 : 0];
	q.now = t_end - 12345; /* not on a minute boundary: edges come from the results */
	q.until = q.now;
	q.since = q.now - DAY_MS;
	q.fam = probe_names;
	q.nfam = (size_t)opt_probes;

	printf("\n## Queries\n\n");
	printf("Probe `%s`, window ending at a time that is not on a minute boundary; "
	       "warm cache; times in ms.\n\n",
	       q.probe);
	printf("| query | how | median | p99 | mean | runs |\n|---|---|---:|---:|---:|---:|\n");
	row("p95, one probe, 24 h", "**pd_store_window** (hour + minute histograms)",
	    timeit(q_window, &q, opt_reps), opt_reps);
	{
		double w95 = q.p95, w50 = q.w.p50_ms;
		int64_t wcount = q.w.count;
		double e95 = exact_pct(db, q.probe_id, q.since, q.until, 95);
		double e50 = exact_pct(db, q.probe_id, q.since, q.until, 50);
		int slow_reps = opt_reps / 10 < 50 ? 50 : opt_reps / 10;

		row("p95, one probe, 24 h", "pd_store_history (reads all values, sorts)",
		    timeit(q_history, &q, slow_reps), slow_reps);
		q.stmt = prep(db,
			      "SELECT total_ms FROM results WHERE probe_id = ?1 AND ts_ms >= ?2 "
			      "AND ts_ms < ?3 AND total_ms >= 0 ORDER BY total_ms LIMIT 1 OFFSET "
			      "(SELECT (count(*) * 95 + 99) / 100 - 1 FROM results WHERE "
			      "probe_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 AND total_ms >= 0)");
		row("p95, one probe, 24 h", "plain SQL: ORDER BY total_ms LIMIT 1 OFFSET n",
		    timeit(q_sql_offset, &q, slow_reps), slow_reps);
		if (fabs(q.p95 - e95) > 1e-9)
			die("offset query", "disagrees with the exact p95");
		sqlite3_finalize(q.stmt);
		q.stmt =
			prep(db, "SELECT total_ms FROM results WHERE probe_id = ?1 AND ts_ms >= ?2 "
				 "AND ts_ms < ?3 AND total_ms >= 0");
		row("p95, one probe, 24 h", "plain SQL: read all values, sort in C",
		    timeit(q_sql_all, &q, slow_reps), slow_reps);
		sqlite3_finalize(q.stmt);
		t = now_us();
		exec(db, "CREATE INDEX bench_cover ON results(probe_id, ts_ms, total_ms)");
		printf("| (covering index built in %.1f s) | | | | | |\n", (now_us() - t) / 1e6);
		q.stmt = prep(
			db, "SELECT total_ms FROM results INDEXED BY bench_cover "
			    "WHERE probe_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 AND total_ms >= 0");
		row("p95, one probe, 24 h",
		    "plain SQL: covering index (probe_id, ts_ms, total_ms), "
		    "read all, sort",
		    timeit(q_sql_all, &q, slow_reps), slow_reps);
		sqlite3_finalize(q.stmt);
		q.stmt = NULL;
		exec(db, "DROP INDEX bench_cover");

		q.since = q.now - 5 * 60000;
		row("error rate + p50/p95, one probe, 5 min", "**pd_store_window**",
		    timeit(q_window, &q, opt_reps), opt_reps);
		row("the same, family of all probes, 5 min", "**pd_store_family_window**",
		    timeit(q_family, &q, opt_reps), opt_reps);
		q.since = q.now - DAY_MS;
		row("the same, family of all probes, 24 h", "**pd_store_family_window**",
		    timeit(q_family, &q, opt_reps), opt_reps);
		row("baseline: p95 at this hour on the 7 previous days",
		    "**pd_store_baseline_p95**", timeit(q_baseline, &q, opt_reps), opt_reps);

		printf("\n## Accuracy of the histogram percentiles\n\n");
		printf("| figure | histogram | exact (nearest rank) | error |\n|---|---:|---:|---:|\n");
		printf("| 24 h p50 (%lld results) | %.2f ms | %.2f ms | %+.2f %% |\n",
		       (long long)wcount, w50, e50, 100 * (w50 - e50) / e50);
		printf("| 24 h p95 | %.2f ms | %.2f ms | %+.2f %% |\n", w95, e95,
		       100 * (w95 - e95) / e95);
		{
			double *v = NULL, hb;
			size_t n = 0, cap = 0;
			int64_t hour = q.now / HOUR_MS * HOUR_MS;

			q_baseline(&q);
			hb = q.p95;
			for (int d = 1; d <= 7; d++) {
				sqlite3_stmt *s =
					prep(db, "SELECT total_ms FROM results WHERE "
						 "probe_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 "
						 "AND total_ms >= 0");

				sqlite3_bind_int64(s, 1, q.probe_id);
				sqlite3_bind_int64(s, 2, hour - d * DAY_MS);
				sqlite3_bind_int64(s, 3, hour - d * DAY_MS + HOUR_MS);
				while (sqlite3_step(s) == SQLITE_ROW) {
					if (n == cap) {
						cap = cap ? cap * 2 : 4096;
						if ((v = realloc(v, cap * sizeof(*v))) == NULL)
							die("baseline", "out of memory");
					}
					v[n++] = sqlite3_column_double(s, 0);
				}
				sqlite3_finalize(s);
			}
			qsort(v, n, sizeof(*v), cmp_d);
			if (n > 0)
				printf("| baseline p95 (%zu results) | %.2f ms | %.2f ms | %+.2f %% |\n",
				       n, hb, v[(95 * n + 99) / 100 - 1],
				       100 * (hb - v[(95 * n + 99) / 100 - 1]) /
					       v[(95 * n + 99) / 100 - 1]);
			free(v);
		}
		printf("\nDocumented bound: within 11.1 %% of the exact nearest-rank value "
		       "(128 log-spaced buckets from 0.1 ms to 60 s, R = 1.1114).\n");
	}

	/* ---- building the aggregates of an older file ---- */
	exec(db, "DELETE FROM agg_minute");
	sqlite3_close(db);
	db = NULL;
	pd_store_free(st);
	st = NULL;
	t = now_us();
	if (pd_store_open(path, 0, &st, &err) != 0)
		die("reopen", err.msg);
	printf("\n## Upgrade\n\nBuilding the aggregates of all %lld results from scratch "
	       "(first writer open of a file from before them): %.1f s.\n",
	       (long long)nres, (now_us() - t) / 1e6);
	fflush(stdout);
	pd_store_free(st);
	free(q.buf);
	if (opt_keep) {
		fprintf(stderr, "query: kept %s\n", path);
	} else {
		char p2[300];
		const char *sfx[] = {"", "-wal", "-shm"};

		for (int i = 0; i < 3; i++) {
			snprintf(p2, sizeof(p2), "%s%s", path, sfx[i]);
			unlink(p2);
		}
		rmdir(dir);
	}
	return 0;
}
