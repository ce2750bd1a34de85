/* store_results.c — results and what is computed from them: the batch writes of
 * results and paging state, per-minute and per-hour aggregates (and their backfill),
 * windows and baselines for the classifier, history queries, the status page series,
 * retention of results. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include "probed/classify.h"   /* struct pd_window (windows) */
#include "probed/clock.h"
#include "probed/hash.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/store.h"
#include "store_int.h"

/* The statements this file runs (see pd_store_stmt_get). */
const char *const pd_store_sql_results[S__COUNT] = {
	[S_RES_LASTKEY] = "SELECT ts_ms, seq FROM results WHERE probe_id = ?1 "
			  "ORDER BY ts_ms DESC, seq DESC LIMIT 1",
	[S_RES_NEXTSEQ] = "SELECT coalesce(max(seq) + 1, 0) FROM results "
			  "WHERE probe_id = ?1 AND ts_ms = ?2",
	[S_RES_ADD] = "INSERT INTO results(probe_id, seq, " RESULT_COLS ") "
		      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	[S_RES_LAST] = "SELECT " RESULT_COLS " FROM results WHERE probe_id = ?1 "
		       "ORDER BY ts_ms DESC, seq DESC LIMIT 1",
	[S_RES_RANGE] = "SELECT " RESULT_COLS " FROM results "
			"WHERE probe_id = ?1 AND ts_ms >= ?2 ORDER BY ts_ms, seq",
	/* stats without a callback: two columns instead of twelve halves the walk */
	[S_RES_STATS] = "SELECT outcome, total_ms FROM results "
			"WHERE probe_id = ?1 AND ts_ms >= ?2",
	[S_STATE_SAVE] = "INSERT INTO probe_state(probe_id, status, consec_fail, consec_ok, "
			 "since_ms, first_fail_ms, paged_at_ms, last_page_ms, last_outcome, "
			 "dedup_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
			 "ON CONFLICT(probe_id) DO UPDATE SET status = excluded.status, "
			 "consec_fail = excluded.consec_fail, consec_ok = excluded.consec_ok, "
			 "since_ms = excluded.since_ms, first_fail_ms = excluded.first_fail_ms, "
			 "paged_at_ms = excluded.paged_at_ms, "
			 "last_page_ms = excluded.last_page_ms, "
			 "last_outcome = excluded.last_outcome, dedup_key = excluded.dedup_key",
	[S_STATE_LOAD] = "SELECT status, consec_fail, consec_ok, since_ms, first_fail_ms, "
			 "paged_at_ms, last_page_ms, last_outcome, dedup_key "
			 "FROM probe_state WHERE probe_id = ?1",
	[S_EVENT_ADD] = "INSERT INTO events(ts_ms, probe_id, kind, detail) "
			"VALUES (?1, ?2, ?3, ?4)",
	[S_EVENT_LASTPAGE] = "SELECT max(ts_ms) FROM events "
			     "WHERE probe_id = ?1 AND kind = 'trigger'",
	[S_EVENTS_ALL] = "SELECT e.ts_ms, p.name, e.kind, e.detail FROM events e "
			 "LEFT JOIN probes p ON p.id = e.probe_id "
			 "WHERE e.ts_ms >= ?1 ORDER BY e.ts_ms, e.id",
	[S_EVENTS_PROBE] = "SELECT e.ts_ms, p.name, e.kind, e.detail FROM events e "
			   "LEFT JOIN probes p ON p.id = e.probe_id "
			   "WHERE e.probe_id = ?1 AND e.ts_ms >= ?2 ORDER BY e.ts_ms, e.id",
	/* CROSS JOIN pins probes as the outer loop: one PK range seek per probe instead
	 * of a full scan; nothing old -> nprobes cheap seeks */
	[S_PRUNE_RES] = "DELETE FROM results WHERE (probe_id, ts_ms, seq) IN ("
			"SELECT r.probe_id, r.ts_ms, r.seq FROM probes p CROSS JOIN results r "
			"ON r.probe_id = p.id WHERE r.ts_ms < ?1 LIMIT ?2)",
	[S_PRUNE_EV] = "DELETE FROM events WHERE id IN ("
		       "SELECT id FROM events WHERE ts_ms < ?1 LIMIT ?2)",
	[S_STATUS_PROBES] = "SELECT p.id, p.name FROM probes p "
			    "WHERE EXISTS (SELECT 1 FROM results r WHERE r.probe_id = p.id) "
			    "OR EXISTS (SELECT 1 FROM probe_state s WHERE s.probe_id = p.id) "
			    "ORDER BY p.name",
	/* a bounded range of one probe, key order (= time order), 3 columns */
	[S_RES_SERIES] = "SELECT ts_ms, outcome, total_ms FROM results "
			 "WHERE probe_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms, seq",
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
	/* fingerprints not seen since the cutoff (a shape seen again later counts
	 * as new: the drift baseline forgets with the results) */
	[S_PRUNE_SHAPES] = "DELETE FROM shapes WHERE rowid IN ("
			   "SELECT rowid FROM shapes WHERE last_seen_ms < ?1 LIMIT ?2)",
	/* the timeline of incidents resolved before the cutoff (resolved_ms = 0: open,
	 * never), then those incidents once their timeline is gone (incidents_open index) */
	[S_PRUNE_INC_EV] = "DELETE FROM incident_events WHERE id IN ("
			   "SELECT e.id FROM incidents i CROSS JOIN incident_events e "
			   "ON e.incident_id = i.id WHERE i.resolved_ms > 0 "
			   "AND i.resolved_ms < ?1 LIMIT ?2)",
	[S_PRUNE_INC] = "DELETE FROM incidents WHERE id IN ("
			"SELECT i.id FROM incidents i WHERE i.resolved_ms > 0 "
			"AND i.resolved_ms < ?1 AND NOT EXISTS (SELECT 1 FROM incident_events e "
			"WHERE e.incident_id = i.id) LIMIT ?2)",
	/* dead letters queued before the cutoff; a live (undelivered) row is never pruned,
	 * a delivered one is already gone (S_OB_DONE) */
	[S_PRUNE_DEAD] = "DELETE FROM outbox WHERE id IN ("
			 "SELECT id FROM outbox WHERE dead <> 0 AND created_ms < ?1 LIMIT ?2)",
	[S_PRUNE_DELIV] = "DELETE FROM deliveries WHERE (dedup_key, target, event) IN ("
			  "SELECT dedup_key, target, event FROM deliveries "
			  "WHERE delivered_ms < ?1 LIMIT ?2)",
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
#define AGG_SLOTS_MAX 256       /* a range blob starts with a one-byte index */
#define AGG_LAT_MIN 0.1
#define AGG_LAT_MAX 60000.0
#define AGG_TS_LIMIT ((int64_t)1 << 61)   /* window bounds are clamped to +-this */

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
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
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
	int lo, hi;             /* valid when hi >= lo */
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
				       agg_fn_counts_step, agg_fn_counts_final, NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(st->db, "pd_agg_merge", 1, fl, NULL, NULL,
				       agg_fn_merge_step, agg_fn_counts_final, NULL) != SQLITE_OK)
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
static int
agg_after_add(struct pd_store *st, int64_t probe_id, int64_t prev_ts, int64_t ts,
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
static int
agg_prune(struct pd_store *st, int64_t cutoff_ms, int64_t budget, int64_t *n,
	  struct pd_err *err)
{
	static const enum stmt_id sid[2] = { S_PRUNE_AGG, S_PRUNE_AGGH };
	const int64_t unit[2] = { AGG_MINUTE_MS, AGG_HOUR_MS };
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
			      err)) != 0 || has_agg ||
	    (ret = pd_store_pragma_int(st, "SELECT EXISTS (SELECT 1 FROM results)", &has_res, err)) != 0 ||
	    !has_res)
		return ret;
	if ((ret = pd_store_exec_sql(st, "BEGIN IMMEDIATE", err)) != 0)
		return ret;
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
			    "(%" PRId64 " ms)", st->path, pd_clock_mono_ms() - t0);
out:
	if (ret != 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* ---- writes ---- */

/* Next free seq for (probe, ts). Results arrive in time order, so the cached newest
 * key answers without a query almost always. */
static int
result_seq(struct pd_store *st, struct name_ent *e, int64_t ts, int64_t *seq,
	   struct pd_err *err)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	if (!e->key_known) {
		if ((s = pd_store_stmt_get(st, S_RES_LASTKEY, err)) == NULL)
			return PD_ERR_DB;
		sqlite3_bind_int64(s, 1, e->id);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			e->last_ts = sqlite3_column_int64(s, 0);
			e->last_seq = sqlite3_column_int64(s, 1);
		} else if (rc == SQLITE_DONE) {
			e->last_ts = INT64_MIN;
			e->last_seq = -1;
		} else {
			ret = pd_store_db_fail(st, err, "last result key");
		}
		pd_store_stmt_done(s);
		if (ret != 0)
			return ret;
		e->key_known = 1;
	}
	if (ts > e->last_ts) {
		*seq = 0;
		return 0;
	}
	if (ts == e->last_ts) {
		*seq = e->last_seq + 1;
		return 0;
	}
	if ((s = pd_store_stmt_get(st, S_RES_NEXTSEQ, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, e->id);
	sqlite3_bind_int64(s, 2, ts);
	if (sqlite3_step(s) == SQLITE_ROW)
		*seq = sqlite3_column_int64(s, 0);
	else
		ret = pd_store_db_fail(st, err, "result seq");
	pd_store_stmt_done(s);
	return ret;
}

int
pd_store_add_result(struct pd_store *st, const char *probe, const struct pd_result *r,
		    struct pd_err *err)
{
	struct name_ent *e;
	sqlite3_stmt *s;
	int64_t seq = 0, prev_ts;
	int ret, rc, attempt;

	if ((ret = pd_store_check_name(st, probe, err)) != 0 || (ret = pd_store_tx_begin(st, err)) != 0 ||
	    (ret = pd_store_probe_lookup(st, probe, 1, &e, err)) != 0 ||
	    (ret = result_seq(st, e, r->ts_ms, &seq, err)) != 0)
		return ret;
	prev_ts = e->last_ts;   /* newest result before this one (result_seq knows) */
	if ((s = pd_store_stmt_get(st, S_RES_ADD, err)) == NULL)
		return PD_ERR_DB;
	for (attempt = 0;; attempt++) {
		sqlite3_bind_int64(s, 1, e->id);
		sqlite3_bind_int64(s, 2, seq);
		sqlite3_bind_int64(s, 3, r->ts_ms);
		sqlite3_bind_int(s, 4, r->outcome);
		sqlite3_bind_int(s, 5, r->http_status);
		sqlite3_bind_int(s, 6, r->curl_code);
		sqlite3_bind_double(s, 7, r->dns_ms);
		sqlite3_bind_double(s, 8, r->connect_ms);
		sqlite3_bind_double(s, 9, r->tls_ms);
		sqlite3_bind_double(s, 10, r->ttfb_ms);
		sqlite3_bind_double(s, 11, r->total_ms);
		sqlite3_bind_int64(s, 12, r->body_size);
		sqlite3_bind_int64(s, 13, r->lateness_us);
		if (strcmp(r->verdict, "ok") == 0)
			sqlite3_bind_null(s, 14);
		else
			sqlite3_bind_text(s, 14, r->verdict, (int)strnlen(r->verdict,
					  sizeof(r->verdict) - 1), SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc == SQLITE_CONSTRAINT_PRIMARYKEY && attempt == 0) {
			/* someone else wrote this key (a second writer): ask the table */
			pd_store_stmt_done(s);
			e->key_known = 1;
			e->last_ts = INT64_MAX;
			if ((ret = result_seq(st, e, r->ts_ms, &seq, err)) != 0)
				return ret;
			e->key_known = 0;
			continue;
		}
		ret = pd_store_db_fail(st, err, "add result");
		pd_store_stmt_done(s);
		return ret;
	}
	pd_store_stmt_done(s);
	if (e->key_known && r->ts_ms >= e->last_ts) {
		e->last_ts = r->ts_ms;
		e->last_seq = seq;
	}
	/* the per-minute aggregate of a minute this result closes or reopens */
	if ((ret = agg_after_add(st, e->id, prev_ts, r->ts_ms, err)) != 0)
		return ret;
	st->pending++;
	return 0;
}

int
pd_store_save_state(struct pd_store *st, const char *probe, const struct pd_eval_state *es,
		    struct pd_err *err)
{
	struct name_ent *e;
	sqlite3_stmt *s;
	int ret;

	if ((ret = pd_store_check_name(st, probe, err)) != 0 || (ret = pd_store_tx_begin(st, err)) != 0 ||
	    (ret = pd_store_probe_lookup(st, probe, 1, &e, err)) != 0)
		return ret;
	if ((s = pd_store_stmt_get(st, S_STATE_SAVE, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, e->id);
	sqlite3_bind_int(s, 2, (int)es->status);
	sqlite3_bind_int(s, 3, es->consec_fail);
	sqlite3_bind_int(s, 4, es->consec_ok);
	sqlite3_bind_int64(s, 5, es->since_ms);
	sqlite3_bind_int64(s, 6, es->first_fail_ms);
	sqlite3_bind_int64(s, 7, es->paged_at_ms);
	sqlite3_bind_int64(s, 8, es->last_page_ms);
	sqlite3_bind_int(s, 9, es->last_outcome);
	if (es->dedup_key[0] == '\0')
		sqlite3_bind_null(s, 10);
	else
		sqlite3_bind_text(s, 10, es->dedup_key, (int)strnlen(es->dedup_key,
				  sizeof(es->dedup_key) - 1), SQLITE_STATIC);
	if ((ret = pd_store_stmt_exec(st, s, "save state", err)) != 0)
		return ret;
	st->pending++;
	return 0;
}

int
pd_store_add_event(struct pd_store *st, int64_t ts_ms, const char *probe, const char *kind,
		   const char *detail, struct pd_err *err)
{
	struct name_ent *e = NULL;
	sqlite3_stmt *s;
	int ret;

	if (kind == NULL || kind[0] == '\0')
		return pd_err_set(err, PD_ERR_INVALID, "event without a kind");
	if ((probe != NULL && (ret = pd_store_check_name(st, probe, err)) != 0) ||
	    (ret = pd_store_tx_begin(st, err)) != 0 ||
	    (probe != NULL && (ret = pd_store_probe_lookup(st, probe, 1, &e, err)) != 0))
		return ret;
	if ((s = pd_store_stmt_get(st, S_EVENT_ADD, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, ts_ms);
	if (e != NULL)
		sqlite3_bind_int64(s, 2, e->id);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
	if (detail != NULL)
		sqlite3_bind_text(s, 4, detail, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 4);
	if ((ret = pd_store_stmt_exec(st, s, "add event", err)) != 0)
		return ret;
	st->pending++;
	return 0;
}

/* ---- reads ---- */

/* Fill *es from the state row of probe id; 1 if found, 0 if none, <0 on error. */
static int
state_read(struct pd_store *st, int64_t id, struct pd_eval_state *es, struct pd_err *err)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	if ((s = pd_store_stmt_get(st, S_STATE_LOAD, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memset(es, 0, sizeof(*es));
		es->status = (enum pd_eval_status)sqlite3_column_int(s, 0);
		es->consec_fail = sqlite3_column_int(s, 1);
		es->consec_ok = sqlite3_column_int(s, 2);
		es->since_ms = sqlite3_column_int64(s, 3);
		es->first_fail_ms = sqlite3_column_int64(s, 4);
		es->paged_at_ms = sqlite3_column_int64(s, 5);
		es->last_page_ms = sqlite3_column_int64(s, 6);
		es->last_outcome = sqlite3_column_int(s, 7);
		pd_store_copy_text(es->dedup_key, sizeof(es->dedup_key), sqlite3_column_text(s, 8));
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = pd_store_db_fail(st, err, "load state");
	}
	pd_store_stmt_done(s);
	return ret;
}

int
pd_store_load_state(struct pd_store *st, const char *probe, struct pd_eval_state *es,
		    struct pd_err *err)
{
	struct pd_eval_state tmp;
	struct name_ent *e;
	int ret;

	if ((ret = pd_store_probe_lookup(st, probe, 0, &e, err)) != 0)
		return ret;
	if ((ret = state_read(st, e->id, &tmp, err)) < 0)
		return ret;
	if (ret == 0)
		return pd_err_set(err, PD_ERR_NOTFOUND, "no saved state for probe \"%s\"",
				  probe);
	*es = tmp;
	return 0;
}

int
pd_store_prune(struct pd_store *st, int64_t cutoff_ms, int max_rows, int *deleted,
	       struct pd_err *err)
{
	sqlite3_stmt *s;
	int64_t n = 0;
	int ret;

	*deleted = 0;
	if ((ret = pd_store_check_writable(st, err)) != 0)
		return ret;
	if (max_rows <= 0)
		return 0;
	if ((ret = pd_store_flush(st, err)) != 0 || (ret = pd_store_tx_begin(st, err)) != 0)
		return ret;
	/* results first; events get what is left of the budget */
	if ((s = pd_store_stmt_get(st, S_PRUNE_RES, err)) == NULL) {
		ret = PD_ERR_DB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, cutoff_ms);
	sqlite3_bind_int(s, 2, max_rows);
	if ((ret = pd_store_stmt_exec(st, s, "prune results", err)) != 0)
		goto out;
	n = sqlite3_changes64(st->db);
	/* then the per-minute aggregates of minutes that ended by the cutoff */
	if (n < max_rows && (ret = agg_prune(st, cutoff_ms, max_rows - n, &n, err)) != 0)
		goto out;
	if (n < max_rows) {
		if ((s = pd_store_stmt_get(st, S_PRUNE_EV, err)) == NULL) {
			ret = PD_ERR_DB;
			goto out;
		}
		sqlite3_bind_int64(s, 1, cutoff_ms);
		sqlite3_bind_int64(s, 2, max_rows - n);
		if ((ret = pd_store_stmt_exec(st, s, "prune events", err)) != 0)
			goto out;
		n += sqlite3_changes64(st->db);
	}
	st->pending += (size_t)n;
	if ((ret = pd_store_flush(st, err)) != 0)
		goto out;
	*deleted = (int)n;
out:
	if (ret != 0 && st->in_tx) {
		if (!sqlite3_get_autocommit(st->db))
			pd_store_simple_exec(st, S_ROLLBACK, "rollback", NULL);
		pd_store_batch_lost(st);
	}
	return ret;
}

int
pd_store_prune_history(struct pd_store *st, int64_t cutoff_ms, int64_t incident_cutoff_ms,
		       int max_rows, struct pd_store_pruned *out, struct pd_err *err)
{
	static const enum stmt_id sid[] = { S_PRUNE_SHAPES, S_PRUNE_INC_EV, S_PRUNE_INC,
					    S_PRUNE_DEAD, S_PRUNE_DELIV };
	static const char *const what[] = { "prune shapes", "prune incident events",
					    "prune incidents", "prune dead letters",
					    "prune deliveries" };
	int64_t got[5] = { 0 }, n = 0;
	sqlite3_stmt *s;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = pd_store_check_writable(st, err)) != 0)
		return ret;
	if (max_rows <= 0)
		return 0;
	if ((ret = pd_store_flush(st, err)) != 0 || (ret = pd_store_tx_begin(st, err)) != 0)
		return ret;
	for (size_t i = 0; i < sizeof(sid) / sizeof(sid[0]) && n < max_rows; i++) {
		if ((s = pd_store_stmt_get(st, sid[i], err)) == NULL) {
			ret = PD_ERR_DB;
			goto out;
		}
		sqlite3_bind_int64(s, 1, sid[i] == S_PRUNE_INC_EV || sid[i] == S_PRUNE_INC ?
				   incident_cutoff_ms : cutoff_ms);
		sqlite3_bind_int64(s, 2, max_rows - n);
		if ((ret = pd_store_stmt_exec(st, s, what[i], err)) != 0)
			goto out;
		got[i] = sqlite3_changes64(st->db);
		n += got[i];
	}
	st->pending += (size_t)n;
	if ((ret = pd_store_flush(st, err)) != 0)
		goto out;
	out->shapes = got[0];
	out->incident_events = got[1];
	out->incidents = got[2];
	out->dead_letters = got[3];
	out->deliveries = got[4];
	out->total = n;
out:
	if (ret != 0 && st->in_tx) {
		if (!sqlite3_get_autocommit(st->db))
			pd_store_simple_exec(st, S_ROLLBACK, "rollback", NULL);
		pd_store_batch_lost(st);
	}
	return ret;
}

/* ---- queries ---- */

static int
status_one(struct pd_store *st, int64_t id, struct pd_probe_status *ps, struct pd_err *err)
{
	sqlite3_stmt *s;
	int rc, ret;

	/* last result: one seek to the right end of the probe's key range */
	if ((s = pd_store_stmt_get(st, S_RES_LAST, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		pd_store_result_from_row(s, 0, &ps->last);
		ps->has_result = 1;
	}
	pd_store_stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return pd_store_db_fail(st, err, "last result");

	if ((ret = state_read(st, id, &ps->state, err)) < 0)
		return ret;
	ps->has_state = ret;
	if (ps->has_state)
		ps->last_page_ms = ps->state.last_page_ms;

	/* the event log still knows about pages if the state row was reset */
	if ((s = pd_store_stmt_get(st, S_EVENT_LASTPAGE, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL &&
	    sqlite3_column_int64(s, 0) > ps->last_page_ms)
		ps->last_page_ms = sqlite3_column_int64(s, 0);
	pd_store_stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return pd_store_db_fail(st, err, "last page");
	return 0;
}

int
pd_store_status(struct pd_store *st, struct pd_probe_status **out, size_t *n,
		struct pd_err *err)
{
	struct pd_probe_status *v = NULL, *nv;
	size_t len = 0, cap = 0;
	sqlite3_stmt *s = NULL;
	int ret = 0, rc, opened = 0;

	*out = NULL;
	*n = 0;
	/* one snapshot for all the statements below */
	if ((ret = pd_store_read_begin(st, &opened, err)) != 0)
		return ret;
	if ((s = pd_store_stmt_get(st, S_STATUS_PROBES, err)) == NULL) {
		ret = PD_ERR_DB;
		goto out;
	}
	/* collect ids first: status_one runs other statements */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				ret = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
				goto out;
			}
			v = nv;
		}
		memset(&v[len], 0, sizeof(v[len]));
		/* stash the id in ts_ms until status_one fills the row */
		v[len].last.ts_ms = sqlite3_column_int64(s, 0);
		pd_store_copy_text(v[len].probe, sizeof(v[len].probe), sqlite3_column_text(s, 1));
		len++;
	}
	if (rc != SQLITE_DONE) {
		ret = pd_store_db_fail(st, err, "status");
		goto out;
	}
	pd_store_stmt_done(s);
	s = NULL;
	for (size_t i = 0; i < len; i++) {
		int64_t id = v[i].last.ts_ms;

		v[i].last.ts_ms = 0;
		if ((ret = status_one(st, id, &v[i], err)) != 0)
			goto out;
	}
	*out = v;
	*n = len;
	v = NULL;
out:
	if (s != NULL)
		pd_store_stmt_done(s);
	pd_store_read_end(st, opened);
	free(v);
	return ret;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n-1], n >= 1: the smallest value with at
 * least p% of the values <= it, i.e. v[ceil(p * n / 100) - 1]. Integer arithmetic,
 * so 1..100 gives p95 = 95 exactly; n = 1 gives the value; n = 2 gives v[0] for
 * p50 and v[1] for p95/p99. Always an observed value, never interpolated. */
static double
percentile(const double *v, size_t n, unsigned p)
{
	size_t rank = (p * n + 99) / 100;

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

/* Error rate and nearest-rank percentiles of the latencies in vals (sorted in place)
 * into *out, from the counts in *hs. */
static void
stats_finish(struct pd_history_stats *hs, double *vals, size_t nvals, struct pd_history_stats *out)
{
	hs->error_rate = hs->count > 0 ? (double)hs->failures / (double)hs->count : 0.0;
	if (nvals > 0) {
		qsort(vals, nvals, sizeof(*vals), cmp_double);
		hs->p50_ms = percentile(vals, nvals, 50);
		hs->p95_ms = percentile(vals, nvals, 95);
		hs->p99_ms = percentile(vals, nvals, 99);
		hs->max_ms = vals[nvals - 1];
	}
	*out = *hs;
}

int
pd_store_history(struct pd_store *st, const char *probe, int64_t since_ms,
		 pd_store_result_fn fn, void *ud, struct pd_history_stats *stats,
		 struct pd_err *err)
{
	struct pd_history_stats hs = { .p50_ms = -1, .p95_ms = -1, .p99_ms = -1, .max_ms = -1 };
	struct pd_result r;
	struct name_ent *e;
	sqlite3_stmt *s = NULL;
	double *vals = NULL, *nv;
	size_t nvals = 0, cap = 0;
	int ret, rc;

	if (stats != NULL)
		*stats = hs;
	if ((ret = pd_store_probe_lookup(st, probe, 0, &e, err)) != 0)
		return ret;
	if ((s = pd_store_stmt_get(st, fn != NULL ? S_RES_RANGE : S_RES_STATS, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, e->id);
	sqlite3_bind_int64(s, 2, since_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fn != NULL) {
			pd_store_result_from_row(s, 0, &r);
		} else {
			r.outcome = sqlite3_column_int(s, 0);
			r.total_ms = sqlite3_column_double(s, 1);
		}
		hs.count++;
		if (r.outcome != 0)
			hs.failures++;
		if (stats != NULL && r.total_ms >= 0) {
			if (nvals == cap) {
				cap = cap ? cap * 2 : 256;
				if ((nv = realloc(vals, cap * sizeof(*vals))) == NULL) {
					ret = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
					goto out;
				}
				vals = nv;
			}
			vals[nvals++] = r.total_ms;
		}
		if (fn != NULL && (ret = fn(ud, probe, &r)) != 0)
			goto out; /* the callback stopped the walk; pass its value on */
	}
	if (rc != SQLITE_DONE) {
		ret = pd_store_db_fail(st, err, "history");
		goto out;
	}
	if (stats != NULL)
		stats_finish(&hs, vals, nvals, stats);
out:
	pd_store_stmt_done(s);
	free(vals);
	return ret;
}

int
pd_store_events(struct pd_store *st, const char *probe, int64_t since_ms,
		pd_store_event_fn fn, void *ud, struct pd_err *err)
{
	struct name_ent *e;
	sqlite3_stmt *s;
	int ret = 0, rc;

	if (probe != NULL) {
		if ((ret = pd_store_probe_lookup(st, probe, 0, &e, err)) != 0)
			return ret;
		if ((s = pd_store_stmt_get(st, S_EVENTS_PROBE, err)) == NULL)
			return PD_ERR_DB;
		sqlite3_bind_int64(s, 1, e->id);
		sqlite3_bind_int64(s, 2, since_ms);
	} else {
		if ((s = pd_store_stmt_get(st, S_EVENTS_ALL, err)) == NULL)
			return PD_ERR_DB;
		sqlite3_bind_int64(s, 1, since_ms);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fn != NULL &&
		    (ret = fn(ud, sqlite3_column_int64(s, 0),
			      (const char *)sqlite3_column_text(s, 1),
			      (const char *)sqlite3_column_text(s, 2),
			      (const char *)sqlite3_column_text(s, 3))) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "events");
out:
	pd_store_stmt_done(s);
	return ret;
}

/* ---- bucketed series for the status page -------------------------------- */

/* Close bucket b over vals[from..to): nearest-rank p95 and max of its latencies. The
 * subrange is sorted in place; the whole array is sorted again for the totals later,
 * which is fine because sorting a subrange does not change the multiset. */
static void
series_close(struct pd_series_bucket *b, double *vals, size_t from, size_t to)
{
	size_t n = to - from;

	if (n == 0)
		return;
	qsort(vals + from, n, sizeof(*vals), cmp_double);
	b->p95_ms = percentile(vals + from, n, 95);
	b->max_ms = vals[to - 1];
}

int
pd_store_series(struct pd_store *st, const char *probe, int64_t since_ms, int64_t bucket_ms,
		struct pd_series_bucket *out, size_t n, struct pd_history_stats *total,
		struct pd_err *err)
{
	struct pd_history_stats hs = { .p50_ms = -1, .p95_ms = -1, .p99_ms = -1, .max_ms = -1 };
	struct name_ent *e;
	sqlite3_stmt *s = NULL;
	double *vals = NULL, *nv;
	size_t nvals = 0, cap = 0, cur = 0, cur_from = 0;
	int ret = 0, rc;

	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].start_ms = since_ms + (int64_t)i * bucket_ms;
		out[i].p95_ms = out[i].max_ms = -1;
	}
	if (total != NULL)
		*total = hs;
	if (bucket_ms <= 0 || n == 0)
		return pd_err_set(err, PD_ERR_INVALID, "series: bucket_ms and n must be > 0");
	if ((ret = pd_store_probe_lookup(st, probe, 0, &e, err)) != 0)
		return ret;
	if ((s = pd_store_stmt_get(st, S_RES_SERIES, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, e->id);
	sqlite3_bind_int64(s, 2, since_ms);
	sqlite3_bind_int64(s, 3, since_ms + (int64_t)n * bucket_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t ts = sqlite3_column_int64(s, 0);
		int failed = sqlite3_column_int(s, 1) != 0;
		double ms = sqlite3_column_double(s, 2);
		size_t b = (size_t)((ts - since_ms) / bucket_ms);

		if (b >= n)
			continue; /* cannot happen with the bounds above; be safe */
		if (b != cur) {
			/* rows come in time order: the previous bucket is complete */
			series_close(&out[cur], vals, cur_from, nvals);
			cur = b;
			cur_from = nvals;
		}
		out[b].count++;
		hs.count++;
		if (failed) {
			out[b].failures++;
			hs.failures++;
		}
		if (ms < 0)
			continue;
		if (nvals == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((nv = realloc(vals, cap * sizeof(*vals))) == NULL) {
				ret = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
				goto out;
			}
			vals = nv;
		}
		vals[nvals++] = ms;
	}
	if (rc != SQLITE_DONE) {
		ret = pd_store_db_fail(st, err, "series");
		goto out;
	}
	series_close(&out[cur], vals, cur_from, nvals);
	if (total != NULL)
		stats_finish(&hs, vals, nvals, total);
out:
	pd_store_stmt_done(s);
	free(vals);
	return ret;
}

/* ---- windows and baselines from the per-minute aggregates ----------------- */

struct agg_acc {
	int64_t n, failures;
	uint64_t n_lat;            /* latency samples (sum of hist) */
	double min_ms, max_ms;     /* valid when n_lat > 0 */
	uint64_t by_class[PD_OUT__COUNT];
	uint64_t hist[AGG_BUCKETS];
};

static void
acc_minmax(struct agg_acc *a, double lo, double hi)
{
	if (a->n_lat == 0 || lo < a->min_ms)
		a->min_ms = lo;
	if (a->n_lat == 0 || hi > a->max_ms)
		a->max_ms = hi;
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
	if ((s = pd_store_stmt_get(st, sid, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, m0);
	sqlite3_bind_int64(s, 3, m1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *b;
		uint64_t lat;

		*last = sqlite3_column_int64(s, 7);
		a->n += sqlite3_column_int64(s, 0);
		a->failures += sqlite3_column_int64(s, 1);
		if ((b = sqlite3_column_blob(s, 2)) != NULL)
			range_add(b, sqlite3_column_bytes(s, 2), a->by_class, PD_OUT__COUNT);
		if (sqlite3_column_int64(s, 3) <= 0 || (b = sqlite3_column_blob(s, 6)) == NULL)
			continue;
		/* count what the histogram holds, so ranks always land in it */
		lat = range_add(b, sqlite3_column_bytes(s, 6), a->hist, AGG_BUCKETS);
		if (lat == 0)
			continue;
		acc_minmax(a, sqlite3_column_double(s, 4), sqlite3_column_double(s, 5));
		a->n_lat += lat;
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
	if ((s = pd_store_stmt_get(st, S_AGG_RAW, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, t0);
	sqlite3_bind_int64(s, 3, t1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int outcome = sqlite3_column_int(s, 0);
		double ms = sqlite3_column_double(s, 1);
		int b = agg_bucket(ms);

		a->n++;
		if (outcome != 0) {
			a->failures++;
			/* a class newer than this build counts in failures only */
			if (outcome > 0 && outcome < PD_OUT__COUNT)
				a->by_class[outcome]++;
		}
		if (b < 0)
			continue;
		acc_minmax(a, ms, ms);
		a->hist[b]++;
		a->n_lat++;
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
acc_window(struct pd_store *st, int64_t id, int64_t since_ms, int64_t until_ms,
	   struct agg_acc *a, struct pd_err *err)
{
	int64_t m0, m1, h0, h1, mt, last, l;
	int ret;

	if (since_ms < -AGG_TS_LIMIT)
		since_ms = -AGG_TS_LIMIT;
	if (until_ms > AGG_TS_LIMIT)
		until_ms = AGG_TS_LIMIT;
	if (until_ms <= since_ms)
		return 0;
	m0 = -floor_div(-since_ms, AGG_MINUTE_MS);   /* first whole minute */
	m1 = floor_div(until_ms, AGG_MINUTE_MS);     /* end of the last whole minute */
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
	rank = (p * a->n_lat + 99) / 100;       /* nearest rank, as percentile() */
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

int
pd_store_window(struct pd_store *st, const char *probe, int64_t since_ms, int64_t until_ms,
		struct pd_window *out, struct pd_err *err)
{
	return pd_store_family_window(st, &probe, 1, since_ms, until_ms, out, err);
}

int
pd_store_family_window(struct pd_store *st, const char *const *probes, size_t n,
		       int64_t since_ms, int64_t until_ms, struct pd_window *out,
		       struct pd_err *err)
{
	struct agg_acc a;
	struct name_ent *e;
	struct pd_err lerr = { 0 };
	size_t known = 0;
	int ret = 0, opened = 0;

	memset(&a, 0, sizeof(a));
	acc_to_window(&a, out);
	if ((ret = pd_store_read_begin(st, &opened, err)) != 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		int rc = pd_store_probe_lookup(st, probes[i], 0, &e, &lerr);

		if (rc == PD_ERR_NOTFOUND)
			continue;
		if (rc != 0) {
			if (err != NULL)
				*err = lerr;
			ret = rc;
			goto out;
		}
		known++;
		if ((ret = acc_window(st, e->id, since_ms, until_ms, &a, err)) != 0)
			goto out;
	}
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
pd_store_family_latency(struct pd_store *st, const char *const *probes, size_t n,
			int64_t since_ms, int64_t until_ms, double under_ms, int64_t *total,
			int64_t *slow, struct pd_err *err)
{
	struct agg_acc a;
	struct name_ent *e;
	struct pd_err lerr = { 0 };
	double sl = 0;
	int ret = 0, opened = 0;

	memset(&a, 0, sizeof(a));
	*total = *slow = 0;
	if ((ret = pd_store_read_begin(st, &opened, err)) != 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		int rc = pd_store_probe_lookup(st, probes[i], 0, &e, &lerr);

		if (rc == PD_ERR_NOTFOUND)
			continue;
		if (rc != 0) {
			if (err != NULL)
				*err = lerr;
			ret = rc;
			goto out;
		}
		if ((ret = acc_window(st, e->id, since_ms, until_ms, &a, err)) != 0)
			goto out;
	}
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
pd_store_baseline_p95(struct pd_store *st, const char *probe, int64_t now_ms,
		      int64_t min_samples, double *p95_ms, struct pd_err *err)
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

