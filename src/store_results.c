/* store_results.c — results and what is read back from them: the batch writes of
 * results, paging state and events; the probe status rows, history walks and stats,
 * the event log, the bucketed series by a raw scan (the reference the status page's
 * aggregate series, store_agg.c, is tested against). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "probed/buf.h"
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
	[S_STATUS_PROBES] = "SELECT p.id, p.name FROM probes p "
			    "WHERE EXISTS (SELECT 1 FROM results r WHERE r.probe_id = p.id) "
			    "OR EXISTS (SELECT 1 FROM probe_state s WHERE s.probe_id = p.id) "
			    "ORDER BY p.name",
	/* a bounded range of one probe, key order (= time order), 3 columns */
	[S_RES_SERIES] = "SELECT ts_ms, outcome, total_ms FROM results "
			 "WHERE probe_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms, seq",
};

/* ---- writes ---- */

/* Next free seq for (probe, ts). Results arrive in time order, so the cached newest
 * key answers without a query almost always. */
static int
result_seq(struct pd_store *st, struct name_ent *e, int64_t ts, int64_t *seq, struct pd_err *err)
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

	if ((ret = pd_store_probe_write(st, probe, &e, err)) != 0 ||
	    (ret = result_seq(st, e, r->ts_ms, &seq, err)) != 0)
		return ret;
	prev_ts = e->last_ts; /* newest result before this one (result_seq knows) */
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
			sqlite3_bind_text(s, 14, r->verdict,
					  (int)strnlen(r->verdict, sizeof(r->verdict) - 1),
					  SQLITE_STATIC);
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
	if ((ret = pd_store_agg_after_add(st, e->id, prev_ts, r->ts_ms, err)) != 0)
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

	if ((ret = pd_store_probe_write(st, probe, &e, err)) != 0)
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
		sqlite3_bind_text(s, 10, es->dedup_key,
				  (int)strnlen(es->dedup_key, sizeof(es->dedup_key) - 1),
				  SQLITE_STATIC);
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
	if (probe == NULL)
		ret = pd_store_tx_begin(st, err); /* an event about no probe */
	else
		ret = pd_store_probe_write(st, probe, &e, err);
	if (ret != 0)
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
		return pd_err_set(err, PD_ERR_NOTFOUND, "no saved state for probe \"%s\"", probe);
	*es = tmp;
	return 0;
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
pd_store_status(struct pd_store *st, struct pd_probe_status **out, size_t *n, struct pd_err *err)
{
	struct pd_probe_status *v = NULL;
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
		if (pd_buf_grow(&v, &cap, len + 1, sizeof(*v)) != 0) {
			ret = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
			goto out;
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

/* Append v to vals[0..*n) (*cap allocated, first_cap on the first growth). */
static int
vals_push(double **vals, size_t *n, size_t *cap, size_t first_cap, double v, struct pd_err *err)
{
	/* the first growth goes straight to first_cap (a power of two times 8) */
	if (pd_buf_grow(vals, cap, *n < first_cap ? first_cap : *n + 1, sizeof(**vals)) != 0)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	(*vals)[(*n)++] = v;
	return 0;
}

int
pd_store_history(struct pd_store *st, const char *probe, int64_t since_ms, pd_store_result_fn fn,
		 void *ud, struct pd_history_stats *stats, struct pd_err *err)
{
	struct pd_history_stats hs = {.p50_ms = -1, .p95_ms = -1, .p99_ms = -1, .max_ms = -1};
	struct pd_result r;
	struct name_ent *e;
	sqlite3_stmt *s = NULL;
	double *vals = NULL;
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
		if (stats != NULL && r.total_ms >= 0 &&
		    (ret = vals_push(&vals, &nvals, &cap, 256, r.total_ms, err)) != 0)
			goto out;
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
pd_store_events(struct pd_store *st, const char *probe, int64_t since_ms, pd_store_event_fn fn,
		void *ud, struct pd_err *err)
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
		if (fn != NULL && (ret = fn(ud, sqlite3_column_int64(s, 0),
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
	struct pd_history_stats hs = {.p50_ms = -1, .p95_ms = -1, .p99_ms = -1, .max_ms = -1};
	struct name_ent *e;
	sqlite3_stmt *s = NULL;
	double *vals = NULL;
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
		if (ms >= 0 && (ret = vals_push(&vals, &nvals, &cap, 1024, ms, err)) != 0)
			goto out;
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
