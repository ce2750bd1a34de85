/* store_agg.c — the per-minute and per-hour aggregates of results: their blob format
 * and SQL functions, their upkeep as results are written (and their backfill), their
 * pruning, and the windows, family latencies and 7-day baselines the classifier reads
 * from them, and the status page's 15-minute series and 24 h totals. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sqlite3.h>
#include "probed/classify.h" /* struct pd_window (windows) */
#include "probed/clock.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/store.h"
#include "store_int.h"


/* The statements this file runs (see pd_store_stmt_get). */
const char *const pd_store_sql_agg[S__COUNT] = {
	/* (re)compute one probe's minute from its results, in the result's batch */
	[S_AGG_CLOSE] = "INSERT OR REPLACE INTO agg_minute(" AGG_COLS ") "
			"SELECT ?1, ?2, " AGG_EXPRS " FROM results "
			"WHERE probe_id = ?1 AND ts_ms >= ?3 AND ts_ms < ?4 HAVING count(*) > 0",
	[S_AGG_RANGE] = "SELECT n, failures, by_class, n_lat, min_ms, max_ms, hist, minute "
			"FROM agg_minute WHERE probe_id = ?1 AND minute >= ?2 AND minute < ?3 "
			"ORDER BY minute",
	/* the partial minutes at the edges of a window come from the results */
	[S_AGG_RAW] = "SELECT outcome, total_ms FROM results "
		      "WHERE probe_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3",
	[S_PRUNE_AGG] = "DELETE FROM agg_minute WHERE (probe_id, minute) IN ("
			"SELECT a.probe_id, a.minute FROM probes p CROSS JOIN agg_minute a "
			"ON a.probe_id = p.id WHERE a.minute < ?1 LIMIT ?2)",
	/* an hour of one probe from its 60 minute rows */
	[S_AGGH_CLOSE] = "INSERT OR REPLACE INTO agg_hour(" AGGH_COLS ") "
			 "SELECT ?1, ?2, " AGGH_EXPRS " FROM agg_minute "
			 "WHERE probe_id = ?1 AND minute >= ?2 * 60 AND minute < ?2 * 60 + 60 "
			 "HAVING count(*) > 0",
	[S_AGGH_RANGE] = "SELECT n, failures, by_class, n_lat, min_ms, max_ms, hist, hour "
			 "FROM agg_hour WHERE probe_id = ?1 AND hour >= ?2 AND hour < ?3 "
			 "ORDER BY hour",
	[S_PRUNE_AGGH] = "DELETE FROM agg_hour WHERE (probe_id, hour) IN ("
			 "SELECT a.probe_id, a.hour FROM probes p CROSS JOIN agg_hour a "
			 "ON a.probe_id = p.id WHERE a.hour < ?1 LIMIT ?2)",
};

/* ---- per-minute aggregates ------------------------------------------------
 *
 * agg_minute holds, per probe and UTC minute: results, failures, failures per outcome
 * class, latency count/sum/min/max and a latency histogram; agg_hour the same per UTC
 * hour, summed from the minute rows. The classifier's windows and baselines read these
 * small rows instead of every result: a 24 h window is ~25 hour rows plus up to 118
 * minute rows (see acc_window), the 7-day baseline 7 hour rows, whatever the interval.
 *
 * When: a probe's minute is aggregated when it closes, i.e. by the pd_store_add_result
 * that stores the probe's first result of a later minute, from the results themselves
 * (INSERT OR REPLACE ... SELECT), in the same batch. A late result for an older minute
 * recomputes that minute the same way. So every minute of a probe except its newest is
 * aggregated, in every committed state, and readers take the newest (open) minute from
 * the results, as they take the partial minutes at a window's edges. Hours work the
 * same one level up: closed (from their minute rows) by the first result of a later
 * hour, recomputed by a late result; readers take the open hour from its minute rows.
 * One aggregate write per probe per minute (and per hour), not per result: an UPSERT
 * per result costs one more dirty page per probe in every commit, and the daemon
 * commits once per loop iteration (bench/RESULTS-query.md has both figures).
 * Retention drops minute and hour rows that ended by the cutoff; the row that spans
 * the cutoff keeps counting its pruned results until it ends.
 *
 * Histogram: AGG_BUCKETS fixed log-spaced buckets. Bucket 0 is [0, 0.1 ms); bucket i
 * in 1..126 is [0.1 ms * R^(i-1), 0.1 ms * R^i) with R = 600000^(1/126) ~ 1.1114, so
 * bucket 126 ends at 60 s; bucket 127 is [60 s, inf). A percentile is interpolated
 * geometrically inside the bucket holding the nearest-rank sample, that bucket first
 * clamped to the window's exact min and max. Error bound: the estimate and the exact
 * nearest-rank value lie in the same clamped bucket, so the estimate is within
 * R - 1 ~ 11.1 % of the exact value (within 0.1 ms below 0.1 ms; above 60 s, between
 * 60 s and the window's max). All samples equal -> exact. The bucket layout is part of
 * the file format: change it only together with a new table.
 *
 * Blobs (by_class, hist) are sparse ranges: byte 0 = first index, then one little-endian
 * uint32 per slot up to the last non-zero slot. One minute's latencies span a few
 * buckets, so a row is tens of bytes, not 600; outcome classes appended to the enum
 * later fit without a schema change. A damaged blob reads as empty (counts survive);
 * the minute is rebuilt whenever it is recomputed.
 */
#define AGG_MINUTE_MS 60000
#define AGG_HOUR_MS 3600000
#define AGG_DAY_MS 86400000
#define AGG_BUCKETS 128
#define AGG_SLOTS_MAX 256 /* a range blob starts with a one-byte index */
#define AGG_LAT_MIN 0.1
#define AGG_LAT_MAX 60000.0
#define AGG_TS_LIMIT ((int64_t)1 << 61) /* window bounds are clamped to +-this */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static double
agg_log_r(void)
{
	return log(AGG_LAT_MAX / AGG_LAT_MIN) / (AGG_BUCKETS - 2);
}

/* Histogram bucket of a latency; -1 for "no latency" (negative, NaN). */
static int
agg_bucket(double ms)
{
	double x;

	if (!(ms >= 0))
		return -1;
	if (ms < AGG_LAT_MIN)
		return 0;
	if (ms >= AGG_LAT_MAX)
		return AGG_BUCKETS - 1;
	x = floor(log(ms / AGG_LAT_MIN) / agg_log_r());
	if (x < 0)
		x = 0;
	if (x > AGG_BUCKETS - 3)
		x = AGG_BUCKETS - 3;
	return 1 + (int)x;
}

/* Lower edge of bucket i (0..AGG_BUCKETS-1). */
static double
agg_edge(int i)
{
	if (i <= 0)
		return 0;
	if (i >= AGG_BUCKETS - 1)
		return AGG_LAT_MAX;
	return AGG_LAT_MIN * exp((double)(i - 1) * agg_log_r());
}

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
wr32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Parse a range blob: *lo first index, *k slots. 0 ok (k = 0 for NULL/empty), -1 bad. */
static int
range_parse(const unsigned char *b, int len, int *lo, int *k)
{
	*lo = 0;
	*k = 0;
	if (b == NULL || len == 0)
		return 0;
	if (len < 5 || (len - 1) % 4 != 0 || b[0] + (len - 1) / 4 > AGG_SLOTS_MAX)
		return -1;
	*lo = b[0];
	*k = (len - 1) / 4;
	return 0;
}

/* Encode slots lo..hi of c[] as a range blob into buf; returns its length. */
static int
range_encode(unsigned char *buf, const uint32_t *c, int lo, int hi)
{
	buf[0] = (unsigned char)lo;
	for (int i = lo; i <= hi; i++)
		wr32(buf + 1 + 4 * (i - lo), c[i]);
	return 1 + 4 * (hi - lo + 1);
}

/* Add a range blob's counts into dst[0..nslots-1] (slots beyond nslots are ignored:
 * outcome classes newer than this build). Returns the total added. */
static uint64_t
range_add(const unsigned char *b, int len, uint64_t *dst, int nslots)
{
	uint64_t total = 0;
	int lo, k;

	if (range_parse(b, len, &lo, &k) != 0)
		return 0;
	for (int i = 0; i < k; i++) {
		uint32_t v = rd32(b + 1 + 4 * i);

		if (lo + i < nslots) {
			dst[lo + i] += v;
			total += v;
		}
	}
	return total;
}

/* SQL pd_lat_bucket(ms): histogram bucket of a latency, NULL for none. */
static void
agg_fn_bucket(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int b;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
	    (b = agg_bucket(sqlite3_value_double(argv[0]))) < 0)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_int(ctx, b);
}

/* SQL aggregate pd_agg_counts(idx): a range blob of how often each idx occurred
 * (NULLs skipped; NULL when there were none). */
struct agg_counts {
	uint32_t c[AGG_SLOTS_MAX];
	int lo, hi; /* valid when hi >= lo */
	int any;
};

static void
agg_fn_counts_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct agg_counts *a = sqlite3_aggregate_context(ctx, (int)sizeof(*a));
	int idx;

	(void)argc;
	if (a == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	idx = sqlite3_value_int(argv[0]);
	if (idx < 0 || idx >= AGG_SLOTS_MAX) {
		sqlite3_result_error(ctx, "pd_agg_counts: slot out of range", -1);
		return;
	}
	if (!a->any || idx < a->lo)
		a->lo = idx;
	if (!a->any || idx > a->hi)
		a->hi = idx;
	a->any = 1;
	if (a->c[idx] < UINT32_MAX)
		a->c[idx]++;
}

static void
agg_fn_counts_final(sqlite3_context *ctx)
{
	struct agg_counts *a = sqlite3_aggregate_context(ctx, 0);
	unsigned char out[1 + 4 * AGG_SLOTS_MAX];

	if (a == NULL || !a->any) {
		sqlite3_result_null(ctx);
		return;
	}
	sqlite3_result_blob(ctx, out, range_encode(out, a->c, a->lo, a->hi), SQLITE_TRANSIENT);
}

/* SQL aggregate pd_agg_merge(blob): the slot-wise sum of range blobs (NULLs and
 * damaged blobs skipped; NULL when nothing was added). */
static void
agg_fn_merge_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct agg_counts *a = sqlite3_aggregate_context(ctx, (int)sizeof(*a));
	const unsigned char *b;
	int lo, k;

	(void)argc;
	if (a == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (sqlite3_value_type(argv[0]) != SQLITE_BLOB)
		return;
	b = sqlite3_value_blob(argv[0]);
	if (range_parse(b, sqlite3_value_bytes(argv[0]), &lo, &k) != 0 || k == 0)
		return;
	if (!a->any || lo < a->lo)
		a->lo = lo;
	if (!a->any || lo + k - 1 > a->hi)
		a->hi = lo + k - 1;
	a->any = 1;
	for (int i = 0; i < k; i++) {
		uint64_t v = (uint64_t)a->c[lo + i] + rd32(b + 1 + 4 * i);

		a->c[lo + i] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	}
}

/* Register the aggregate SQL functions on this handle. */
int
pd_store_agg_register(struct pd_store *st, struct pd_err *err)
{
	const int fl = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;

	if (sqlite3_create_function_v2(st->db, "pd_lat_bucket", 1, fl, NULL, agg_fn_bucket, NULL,
				       NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(st->db, "pd_agg_counts", 1, fl, NULL, NULL,
				       agg_fn_counts_step, agg_fn_counts_final,
				       NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(st->db, "pd_agg_merge", 1, fl, NULL, NULL, agg_fn_merge_step,
				       agg_fn_counts_final, NULL) != SQLITE_OK)
		return pd_store_db_fail(st, err, "register aggregate functions");
	return 0;
}

/* (Re)compute minute m of probe id from its results (inside the open batch). */
static int
agg_close(struct pd_store *st, int64_t probe_id, int64_t m, struct pd_err *err)
{
	sqlite3_stmt *s;

	if ((s = pd_store_stmt_get(st, S_AGG_CLOSE, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, probe_id);
	sqlite3_bind_int64(s, 2, m);
	sqlite3_bind_int64(s, 3, m * AGG_MINUTE_MS);
	sqlite3_bind_int64(s, 4, (m + 1) * AGG_MINUTE_MS);
	return pd_store_stmt_exec(st, s, "aggregate minute", err);
}

/* (Re)compute hour h of probe id from its minute rows (inside the open batch). */
static int
agg_close_hour(struct pd_store *st, int64_t probe_id, int64_t h, struct pd_err *err)
{
	sqlite3_stmt *s;

	if ((s = pd_store_stmt_get(st, S_AGGH_CLOSE, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, probe_id);
	sqlite3_bind_int64(s, 2, h);
	return pd_store_stmt_exec(st, s, "aggregate hour", err);
}

/* A result at ts was stored for probe id whose newest result before it was at prev_ts
 * (INT64_MIN: none). Its first result of a later minute closes the previous newest
 * minute (and hour, if it opens a later hour); a late result recomputes its own,
 * already closed, minute (and hour, if that hour is closed); a result in the newest
 * minute leaves it open. */
int
pd_store_agg_after_add(struct pd_store *st, int64_t probe_id, int64_t prev_ts, int64_t ts,
		       struct pd_err *err)
{
	int64_t m, pm, h, ph;
	int ret;

	if (prev_ts == INT64_MIN || prev_ts == INT64_MAX)
		return 0;
	m = floor_div(ts, AGG_MINUTE_MS);
	pm = floor_div(prev_ts, AGG_MINUTE_MS);
	if (m == pm)
		return 0;
	h = floor_div(m, 60);
	ph = floor_div(pm, 60);
	if ((ret = agg_close(st, probe_id, m > pm ? pm : m, err)) != 0)
		return ret;
	if (h == ph)
		return 0;
	return agg_close_hour(st, probe_id, h > ph ? ph : h, err);
}

/* Delete up to budget aggregate rows of minutes, then of hours, that ended at or
 * before cutoff_ms; adds the count to *n. Inside the prune transaction. */
int
pd_store_agg_prune(struct pd_store *st, int64_t cutoff_ms, int64_t budget, int64_t *n,
		   struct pd_err *err)
{
	static const enum stmt_id sid[2] = {S_PRUNE_AGG, S_PRUNE_AGGH};
	const int64_t unit[2] = {AGG_MINUTE_MS, AGG_HOUR_MS};
	sqlite3_stmt *s;
	int64_t done = 0;
	int ret;

	for (int i = 0; i < 2 && done < budget; i++) {
		if ((s = pd_store_stmt_get(st, sid[i], err)) == NULL)
			return PD_ERR_DB;
		sqlite3_bind_int64(s, 1, floor_div(cutoff_ms, unit[i]));
		sqlite3_bind_int64(s, 2, budget - done);
		if ((ret = pd_store_stmt_exec(st, s, "prune aggregates", err)) != 0)
			return ret;
		done += sqlite3_changes64(st->db);
	}
	*n += done;
	return 0;
}

/* ---- aggregates of results stored before them ---- */

/* The aggregates of every closed minute (all but each probe's newest) of every stored
 * result, in one statement: the same rows agg_close writes; then those of every closed
 * hour from them, as agg_close_hour writes them. */
static const char agg_backfill_sql[] =
	"WITH open_min(pid, start_ms) AS MATERIALIZED ("
	"  SELECT id, (SELECT max(ts_ms) FROM results WHERE probe_id = id) FROM probes) "
	"INSERT INTO agg_minute(" AGG_COLS ") "
	"SELECT r.probe_id, CASE WHEN r.ts_ms >= 0 THEN r.ts_ms / 60000 "
	"  ELSE -((59999 - r.ts_ms) / 60000) END, " AGG_EXPRS " "
	"FROM open_min o CROSS JOIN results r ON r.probe_id = o.pid "
	"WHERE o.start_ms IS NOT NULL AND r.ts_ms < o.start_ms - "
	"  ((o.start_ms % 60000) + 60000) % 60000 "
	"GROUP BY 1, 2";
static const char agg_backfill_hours_sql[] =
	"WITH open_min(pid, start_ms) AS MATERIALIZED ("
	"  SELECT id, (SELECT max(ts_ms) FROM results WHERE probe_id = id) FROM probes) "
	"INSERT INTO agg_hour(" AGGH_COLS ") "
	"SELECT a.probe_id, CASE WHEN a.minute >= 0 THEN a.minute / 60 "
	"  ELSE -((59 - a.minute) / 60) END, " AGGH_EXPRS " "
	"FROM open_min o CROSS JOIN agg_minute a ON a.probe_id = o.pid "
	"WHERE o.start_ms IS NOT NULL AND a.minute * 60000 < o.start_ms - "
	"  ((o.start_ms % 3600000) + 3600000) % 3600000 "
	"GROUP BY 1, 2";

/* Writer open: results stored but no aggregates (the v3 migration just ran on an
 * older file, or the table was emptied by hand) -> build them from the results, in
 * one transaction. Two cheap EXISTS probes otherwise. */
int
pd_store_agg_backfill(struct pd_store *st, struct pd_err *err)
{
	int has_agg = 0, has_res = 0, ret;
	int64_t t0 = pd_clock_mono_ms();

	if ((ret = pd_store_pragma_int(st, "SELECT EXISTS (SELECT 1 FROM agg_minute)", &has_agg,
				       err)) != 0 ||
	    has_agg ||
	    (ret = pd_store_pragma_int(st, "SELECT EXISTS (SELECT 1 FROM results)", &has_res,
				       err)) != 0 ||
	    !has_res)
		return ret;
	/* another writer holds the lock (a running daemon's batch, which keeps the aggregates
	 * itself; in a fresh database's first minute none is closed yet): the backfill is for
	 * a database older than the aggregates and waits for an open that gets the lock */
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		if ((sqlite3_errcode(st->db) & 0xff) == SQLITE_BUSY)
			return 0;
		return pd_store_db_fail(st, err, "BEGIN IMMEDIATE");
	}
	if ((ret = pd_store_pragma_int(st, "SELECT EXISTS (SELECT 1 FROM agg_minute)", &has_agg,
				       err)) != 0)
		goto out;
	if (!has_agg && ((ret = pd_store_exec_sql(st, "DELETE FROM agg_hour", err)) != 0 ||
			 (ret = pd_store_exec_sql(st, agg_backfill_sql, err)) != 0 ||
			 (ret = pd_store_exec_sql(st, agg_backfill_hours_sql, err)) != 0))
		goto out;
	ret = pd_store_exec_sql(st, "COMMIT", err);
	if (ret == 0 && !has_agg)
		pd_log_info("store: %s: per-minute aggregates built from the stored results "
			    "(%" PRId64 " ms)",
			    st->path, pd_clock_mono_ms() - t0);
out:
	if (ret != 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* ---- windows and baselines from the per-minute aggregates ----------------- */

struct agg_acc {
	int64_t n, failures;
	uint64_t n_lat;        /* latency samples (sum of hist) */
	double min_ms, max_ms; /* valid when n_lat > 0 */
	uint64_t by_class[PD_OUT__COUNT];
	uint64_t hist[AGG_BUCKETS];
};

static void acc_add_result(struct agg_acc *a, int outcome, double ms);

static void
acc_minmax(struct agg_acc *a, double lo, double hi)
{
	if (a->n_lat == 0 || lo < a->min_ms)
		a->min_ms = lo;
	if (a->n_lat == 0 || hi > a->max_ms)
		a->max_ms = hi;
}

/* Statement sid of a window's pieces, bound to probe id and the range [lo, hi). */
static sqlite3_stmt *
range_query(struct pd_store *st, enum stmt_id sid, int64_t id, int64_t lo, int64_t hi,
	    struct pd_err *err)
{
	sqlite3_stmt *s;

	if ((s = pd_store_stmt_get(st, sid, err)) == NULL)
		return NULL;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, lo);
	sqlite3_bind_int64(s, 3, hi);
	return s;
}

/* Add one aggregate row (the columns of S_AGG_RANGE) to a. */
static void
acc_add_row(sqlite3_stmt *s, struct agg_acc *a)
{
	const unsigned char *b;
	uint64_t lat;

	a->n += sqlite3_column_int64(s, 0);
	a->failures += sqlite3_column_int64(s, 1);
	if ((b = sqlite3_column_blob(s, 2)) != NULL)
		range_add(b, sqlite3_column_bytes(s, 2), a->by_class, PD_OUT__COUNT);
	if (sqlite3_column_int64(s, 3) <= 0 || (b = sqlite3_column_blob(s, 6)) == NULL)
		return;
	/* count what the histogram holds, so ranks always land in it */
	if ((lat = range_add(b, sqlite3_column_bytes(s, 6), a->hist, AGG_BUCKETS)) == 0)
		return;
	acc_minmax(a, sqlite3_column_double(s, 4), sqlite3_column_double(s, 5));
	a->n_lat += lat;
}

/* Minutes (sid S_AGG_RANGE) or hours (S_AGGH_RANGE) [m0, m1) of probe id from the
 * aggregates; *last = the newest one found (INT64_MIN when none). */
static int
acc_rows(struct pd_store *st, enum stmt_id sid, int64_t id, int64_t m0, int64_t m1,
	 struct agg_acc *a, int64_t *last, struct pd_err *err)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	*last = INT64_MIN;
	if (m0 >= m1)
		return 0;
	if ((s = range_query(st, sid, id, m0, m1, err)) == NULL)
		return PD_ERR_DB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*last = sqlite3_column_int64(s, 7);
		acc_add_row(s, a);
	}
	if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "window aggregates");
	pd_store_stmt_done(s);
	return ret;
}

/* Results of probe id with t0 <= ts_ms < t1 (a partial minute at a window's edge). */
static int
acc_raw(struct pd_store *st, int64_t id, int64_t t0, int64_t t1, struct agg_acc *a,
	struct pd_err *err)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	if (t0 >= t1)
		return 0;
	if ((s = range_query(st, S_AGG_RAW, id, t0, t1, err)) == NULL)
		return PD_ERR_DB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		acc_add_result(a, sqlite3_column_int(s, 0), sqlite3_column_double(s, 1));
	}
	if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "window edge results");
	pd_store_stmt_done(s);
	return ret;
}

/* [since, until) of probe id:
 *   results   the partial minute at the start;
 *   minutes   the whole minutes up to the first whole hour;
 *   hours     the whole hours, up to the newest aggregated one;
 *   minutes   after it, up to the last whole minute;
 *   results   after the newest aggregated minute: the probe's open minute if it is in
 *             the window, and the partial minute at the end.
 * Every hour of a probe but its newest, and every minute but its newest, is aggregated
 * (see "per-minute aggregates"), so each result is counted exactly once. A 24 h window
 * is about 25 hour rows and up to 118 minute rows. */
static int
acc_window(struct pd_store *st, int64_t id, int64_t since_ms, int64_t until_ms, struct agg_acc *a,
	   struct pd_err *err)
{
	int64_t m0, m1, h0, h1, mt, last, l;
	int ret;

	if (since_ms < -AGG_TS_LIMIT)
		since_ms = -AGG_TS_LIMIT;
	if (until_ms > AGG_TS_LIMIT)
		until_ms = AGG_TS_LIMIT;
	if (until_ms <= since_ms)
		return 0;
	m0 = -floor_div(-since_ms, AGG_MINUTE_MS); /* first whole minute */
	m1 = floor_div(until_ms, AGG_MINUTE_MS);   /* end of the last whole minute */
	if (m0 >= m1)
		return acc_raw(st, id, since_ms, until_ms, a, err);
	if ((ret = acc_raw(st, id, since_ms, m0 * AGG_MINUTE_MS, a, err)) != 0)
		return ret;
	last = m0 - 1;
	mt = m0;
	h0 = -floor_div(-m0, 60);
	h1 = floor_div(m1, 60);
	if (h0 < h1) {
		if ((ret = acc_rows(st, S_AGG_RANGE, id, m0, h0 * 60, a, &l, err)) != 0)
			return ret;
		if (l > last)
			last = l;
		if ((ret = acc_rows(st, S_AGGH_RANGE, id, h0, h1, a, &l, err)) != 0)
			return ret;
		mt = l != INT64_MIN ? (l + 1) * 60 : h0 * 60;
		if (l != INT64_MIN && mt - 1 > last)
			last = mt - 1;
	}
	if ((ret = acc_rows(st, S_AGG_RANGE, id, mt, m1, a, &l, err)) != 0)
		return ret;
	if (l > last)
		last = l;
	return acc_raw(st, id, (last + 1) * AGG_MINUTE_MS, until_ms, a, err);
}

/* Interpolated percentile p (1..100) of the histogram; -1 when empty. See the error
 * bound at "per-minute aggregates". */
static double
acc_percentile(const struct agg_acc *a, unsigned p)
{
	uint64_t rank, c = 0;
	double lo, hi, f;
	int b;

	if (a->n_lat == 0)
		return -1;
	rank = (p * a->n_lat + 99) / 100; /* nearest rank, as percentile() */
	if (rank < 1)
		rank = 1;
	for (b = 0; b < AGG_BUCKETS - 1 && c + a->hist[b] < rank; b++)
		c += a->hist[b];
	if (a->hist[b] == 0)
		return a->max_ms;
	lo = agg_edge(b);
	hi = b + 1 < AGG_BUCKETS ? agg_edge(b + 1) : a->max_ms;
	if (lo < a->min_ms)
		lo = a->min_ms;
	if (hi > a->max_ms)
		hi = a->max_ms;
	if (hi < lo)
		hi = lo;
	/* the middle of the rank's share of the bucket */
	f = ((double)(rank - c) - 0.5) / (double)a->hist[b];
	if (lo > 0)
		return lo * pow(hi / lo, f);
	return lo + f * (hi - lo);
}

static void
acc_to_window(const struct agg_acc *a, struct pd_window *w)
{
	memset(w, 0, sizeof(*w));
	w->count = a->n;
	w->failures = a->failures;
	w->error_rate = a->n > 0 ? (double)a->failures / (double)a->n : 0.0;
	w->p50_ms = acc_percentile(a, 50);
	w->p95_ms = acc_percentile(a, 95);
	for (int i = 0; i < PD_OUT__COUNT; i++)
		w->by_class[i] = (int64_t)a->by_class[i];
}

/* [since, until) of each known probe of probes[0..n-1] into *a; unknown names are
 * skipped (*known counts the others, *lerr holds the last lookup's error). */
static int
acc_family(struct pd_store *st, const char *const *probes, size_t n, int64_t since_ms,
	   int64_t until_ms, struct agg_acc *a, size_t *known, struct pd_err *lerr,
	   struct pd_err *err)
{
	struct name_ent *e;
	int ret;

	for (size_t i = 0; i < n; i++) {
		int rc = pd_store_probe_lookup(st, probes[i], 0, &e, lerr);

		if (rc == PD_ERR_NOTFOUND)
			continue;
		if (rc != 0) {
			if (err != NULL)
				*err = *lerr;
			return rc;
		}
		(*known)++;
		if ((ret = acc_window(st, e->id, since_ms, until_ms, a, err)) != 0)
			return ret;
	}
	return 0;
}

int
pd_store_window(struct pd_store *st, const char *probe, int64_t since_ms, int64_t until_ms,
		struct pd_window *out, struct pd_err *err)
{
	return pd_store_family_window(st, &probe, 1, since_ms, until_ms, out, err);
}

int
pd_store_family_window(struct pd_store *st, const char *const *probes, size_t n, int64_t since_ms,
		       int64_t until_ms, struct pd_window *out, struct pd_err *err)
{
	struct agg_acc a;
	struct pd_err lerr = {0};
	size_t known = 0;
	int ret = 0, opened = 0;

	memset(&a, 0, sizeof(a));
	acc_to_window(&a, out);
	if ((ret = pd_store_read_begin(st, &opened, err)) != 0)
		return ret;
	if ((ret = acc_family(st, probes, n, since_ms, until_ms, &a, &known, &lerr, err)) != 0)
		goto out;
	/* one name (pd_store_window): an unknown probe is NOTFOUND, as in history */
	if (known == 0 && n == 1)
		ret = pd_err_set(err, PD_ERR_NOTFOUND, "%s", lerr.msg);
	acc_to_window(&a, out);
out:
	pd_store_read_end(st, opened);
	return ret;
}

/* share of a histogram bucket above under_ms (geometric inside the bucket, as
 * acc_percentile interpolates). */
static double
acc_frac_above(const struct agg_acc *a, int b, double under_ms)
{
	double lo = agg_edge(b), hi = b + 1 < AGG_BUCKETS ? agg_edge(b + 1) : a->max_ms;

	if (lo < a->min_ms)
		lo = a->min_ms;
	if (hi > a->max_ms)
		hi = a->max_ms;
	if (lo >= under_ms)
		return 1;
	if (hi <= under_ms)
		return 0;
	if (lo > 0)
		return log(hi / under_ms) / log(hi / lo);
	return (hi - under_ms) / (hi - lo);
}

int
pd_store_family_latency(struct pd_store *st, const char *const *probes, size_t n, int64_t since_ms,
			int64_t until_ms, double under_ms, int64_t *total, int64_t *slow,
			struct pd_err *err)
{
	struct agg_acc a;
	struct pd_err lerr = {0};
	size_t known = 0;
	double sl = 0;
	int ret = 0, opened = 0;

	memset(&a, 0, sizeof(a));
	*total = *slow = 0;
	if ((ret = pd_store_read_begin(st, &opened, err)) != 0)
		return ret;
	if ((ret = acc_family(st, probes, n, since_ms, until_ms, &a, &known, &lerr, err)) != 0)
		goto out;
	for (int b = 0; b < AGG_BUCKETS && a.n_lat > 0; b++)
		if (a.hist[b] > 0)
			sl += (double)a.hist[b] * acc_frac_above(&a, b, under_ms);
	*total = (int64_t)a.n_lat;
	*slow = (int64_t)llround(sl);
out:
	pd_store_read_end(st, opened);
	return ret;
}

int
pd_store_baseline_p95(struct pd_store *st, const char *probe, int64_t now_ms, int64_t min_samples,
		      double *p95_ms, struct pd_err *err)
{
	struct agg_acc a;
	struct name_ent *e;
	int64_t hour;
	int ret, opened = 0;

	*p95_ms = -1;
	memset(&a, 0, sizeof(a));
	if ((ret = pd_store_probe_lookup(st, probe, 0, &e, err)) != 0)
		return ret;
	if (now_ms < -AGG_TS_LIMIT || now_ms > AGG_TS_LIMIT)
		return pd_err_set(err, PD_ERR_INVALID, "baseline: time out of range");
	if ((ret = pd_store_read_begin(st, &opened, err)) != 0)
		return ret;
	/* the same UTC hour of each of the 7 previous days: 7 seeks, 60 rows each */
	hour = floor_div(now_ms, AGG_HOUR_MS) * AGG_HOUR_MS;
	for (int d = 1; d <= 7; d++) {
		int64_t h0 = hour - (int64_t)d * AGG_DAY_MS;

		if ((ret = acc_window(st, e->id, h0, h0 + AGG_HOUR_MS, &a, err)) != 0)
			goto out;
	}
	if (a.n_lat > 0 && (int64_t)a.n_lat >= min_samples)
		*p95_ms = acc_percentile(&a, 95);
out:
	pd_store_read_end(st, opened);
	return ret;
}

/* ---- the status page's series from the aggregates ------------------------- */


/* Add one result (outcome, total_ms) to a, as acc_raw does. */
static void
acc_add_result(struct agg_acc *a, int outcome, double ms)
{
	int b = agg_bucket(ms);

	a->n++;
	if (outcome != 0) {
		a->failures++;
		/* a class newer than this build counts in failures only */
		if (outcome > 0 && outcome < PD_OUT__COUNT)
			a->by_class[outcome]++;
	}
	if (b < 0)
		return;
	acc_minmax(a, ms, ms);
	a->hist[b]++;
	a->n_lat++;
}

static void
acc_to_stats(const struct agg_acc *a, struct pd_history_stats *hs)
{
	hs->count = a->n;
	hs->failures = a->failures;
	hs->error_rate = a->n > 0 ? (double)a->failures / (double)a->n : 0.0;
	hs->p50_ms = acc_percentile(a, 50);
	hs->p95_ms = acc_percentile(a, 95);
	hs->p99_ms = acc_percentile(a, 99);
	hs->max_ms = a->n_lat > 0 ? a->max_ms : -1;
}

/* Close the series bucket out (its accumulator a) and empty a. */
static void
series_bucket_close(struct pd_series_bucket *out, struct agg_acc *a)
{
	out->count = a->n;
	out->failures = a->failures;
	out->p95_ms = acc_percentile(a, 95);
	out->max_ms = a->n_lat > 0 ? a->max_ms : -1;
	memset(a, 0, sizeof(*a));
}

/* The buckets of [since, since + n * bucket_ms) of probe id: one range read of its minute
 * rows (every closed minute), then its results after the newest of those (the open
 * minute), both in time order, so one accumulator walks the buckets; *tot (may be NULL)
 * gets every row as well. */
static int
series_rows(struct pd_store *st, int64_t id, int64_t since_ms, int64_t bucket_ms,
	    struct pd_series_bucket *out, size_t n, struct agg_acc *tot, struct pd_err *err)
{
	int64_t m0 = floor_div(since_ms, AGG_MINUTE_MS);
	int64_t m1 = m0 + (int64_t)n * (bucket_ms / AGG_MINUTE_MS), last = m0 - 1;
	struct agg_acc a;
	size_t cur = 0;
	sqlite3_stmt *s;
	int rc, ret = 0;

	memset(&a, 0, sizeof(a));
	if ((s = range_query(st, S_AGG_RANGE, id, m0, m1, err)) == NULL)
		return PD_ERR_DB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t m = sqlite3_column_int64(s, 7);
		size_t b = (size_t)((m - m0) * AGG_MINUTE_MS / bucket_ms);

		if (b >= n)
			continue;
		if (b != cur) {
			series_bucket_close(&out[cur], &a);
			cur = b;
		}
		acc_add_row(s, &a);
		if (tot != NULL)
			acc_add_row(s, tot);
		last = m;
	}
	if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "series aggregates");
	pd_store_stmt_done(s);
	if (ret != 0)
		return ret;
	if ((s = range_query(st, S_RES_SERIES, id, (last + 1) * AGG_MINUTE_MS, m1 * AGG_MINUTE_MS,
			     err)) == NULL)
		return PD_ERR_DB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t ts = sqlite3_column_int64(s, 0);
		int outcome = sqlite3_column_int(s, 1);
		double ms = sqlite3_column_double(s, 2);
		size_t b = (size_t)((ts - since_ms) / bucket_ms);

		if (ts < since_ms || b >= n)
			continue;
		if (b != cur) {
			series_bucket_close(&out[cur], &a);
			cur = b;
		}
		acc_add_result(&a, outcome, ms);
		if (tot != NULL)
			acc_add_result(tot, outcome, ms);
	}
	if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "series open minute");
	pd_store_stmt_done(s);
	if (ret == 0)
		series_bucket_close(&out[cur], &a);
	return ret;
}

int
pd_store_series_agg(struct pd_store *st, const char *probe, int64_t since_ms, int64_t bucket_ms,
		    struct pd_series_bucket *out, size_t n, struct pd_history_stats *total,
		    struct pd_err *err)
{
	struct agg_acc tot;
	struct name_ent *e;
	int ret, opened = 0;

	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].start_ms = since_ms + (int64_t)i * bucket_ms;
		out[i].p95_ms = out[i].max_ms = -1;
	}
	memset(&tot, 0, sizeof(tot));
	if (total != NULL)
		acc_to_stats(&tot, total);
	if (bucket_ms <= 0 || n == 0 || bucket_ms % AGG_MINUTE_MS != 0 ||
	    since_ms % AGG_MINUTE_MS != 0)
		return pd_err_set(err, PD_ERR_INVALID,
				  "series: bucket_ms and since_ms must be whole minutes, n > 0");
	if (since_ms < -AGG_TS_LIMIT / 2 || since_ms > AGG_TS_LIMIT / 2 ||
	    (int64_t)n > AGG_TS_LIMIT / 2 / bucket_ms)
		return pd_err_set(err, PD_ERR_INVALID, "series: time out of range");
	if ((ret = pd_store_probe_lookup(st, probe, 0, &e, err)) != 0)
		return ret;
	if ((ret = pd_store_read_begin(st, &opened, err)) != 0)
		return ret;
	ret = series_rows(st, e->id, since_ms, bucket_ms, out, n, total ? &tot : NULL, err);
	if (ret == 0 && total != NULL)
		acc_to_stats(&tot, total);
	pd_store_read_end(st, opened);
	return ret;
}

int
pd_store_window_stats(struct pd_store *st, const char *probe, int64_t since_ms, int64_t until_ms,
		      struct pd_history_stats *out, struct pd_err *err)
{
	struct agg_acc a;
	struct name_ent *e;
	int ret, opened = 0;

	memset(&a, 0, sizeof(a));
	acc_to_stats(&a, out);
	if ((ret = pd_store_probe_lookup(st, probe, 0, &e, err)) != 0)
		return ret;
	if ((ret = pd_store_read_begin(st, &opened, err)) != 0)
		return ret;
	if ((ret = acc_window(st, e->id, since_ms, until_ms, &a, err)) == 0)
		acc_to_stats(&a, out);
	pd_store_read_end(st, opened);
	return ret;
}
