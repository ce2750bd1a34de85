/* store_prune.c — retention: bounded deletes of results, aggregates and events older
 * than the cutoff (pd_store_prune), then of shapes, resolved incidents, dead letters and
 * the delivery log (pd_store_prune_history). */
#include <stdint.h>
#include <string.h>
#include <sqlite3.h>
#include "probed/store.h"
#include "store_int.h"

/* The statements this file runs (see pd_store_stmt_get). */
const char *const pd_store_sql_prune[S__COUNT] = {
	/* CROSS JOIN pins probes as the outer loop: one PK range seek per probe instead
	 * of a full scan; nothing old -> nprobes cheap seeks */
	[S_PRUNE_RES] = "DELETE FROM results WHERE (probe_id, ts_ms, seq) IN ("
			"SELECT r.probe_id, r.ts_ms, r.seq FROM probes p CROSS JOIN results r "
			"ON r.probe_id = p.id WHERE r.ts_ms < ?1 LIMIT ?2)",
	[S_PRUNE_EV] = "DELETE FROM events WHERE id IN ("
		       "SELECT id FROM events WHERE ts_ms < ?1 LIMIT ?2)",
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

/* Start a prune of at most max_rows rows: on a writable handle, after the pending
 * batch, in a transaction of its own; *go = 0 when there is nothing to do. */
static int
prune_begin(struct pd_store *st, int max_rows, int *go, struct pd_err *err)
{
	int ret;

	*go = 0;
	if ((ret = pd_store_check_writable(st, err)) != 0)
		return ret;
	if (max_rows <= 0)
		return 0;
	if ((ret = pd_store_flush(st, err)) != 0 || (ret = pd_store_tx_begin(st, err)) != 0)
		return ret;
	*go = 1;
	return 0;
}

/* Run the bounded delete sid (?1 = cutoff, ?2 = budget rows at most); adds the rows
 * it deleted to *n. */
static int
prune_run(struct pd_store *st, enum stmt_id sid, int64_t cutoff_ms, int64_t budget,
	  const char *what, int64_t *n, struct pd_err *err)
{
	sqlite3_stmt *s;
	int ret;

	if ((s = pd_store_stmt_get(st, sid, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, cutoff_ms);
	sqlite3_bind_int64(s, 2, budget);
	if ((ret = pd_store_stmt_exec(st, s, what, err)) != 0)
		return ret;
	*n += sqlite3_changes64(st->db);
	return 0;
}

/* End of a prune transaction that failed (ret != 0): roll back and drop the batch. */
static int
prune_end(struct pd_store *st, int ret)
{
	if (ret != 0 && st->in_tx) {
		if (!sqlite3_get_autocommit(st->db))
			pd_store_simple_exec(st, S_ROLLBACK, "rollback", NULL);
		pd_store_batch_lost(st);
	}
	return ret;
}

int
pd_store_prune(struct pd_store *st, int64_t cutoff_ms, int max_rows, int *deleted,
	       struct pd_err *err)
{
	int64_t n = 0;
	int ret, go;

	*deleted = 0;
	if ((ret = prune_begin(st, max_rows, &go, err)) != 0 || !go)
		return ret;
	/* results first; events get what is left of the budget */
	if ((ret = prune_run(st, S_PRUNE_RES, cutoff_ms, max_rows, "prune results", &n, err)) != 0)
		goto out;
	/* then the per-minute aggregates of minutes that ended by the cutoff */
	if (n < max_rows && (ret = pd_store_agg_prune(st, cutoff_ms, max_rows - n, &n, err)) != 0)
		goto out;
	if (n < max_rows && (ret = prune_run(st, S_PRUNE_EV, cutoff_ms, max_rows - n,
					     "prune events", &n, err)) != 0)
		goto out;
	st->pending += (size_t)n;
	if ((ret = pd_store_flush(st, err)) != 0)
		goto out;
	*deleted = (int)n;
out:
	return prune_end(st, ret);
}

int
pd_store_prune_history(struct pd_store *st, int64_t cutoff_ms, int64_t incident_cutoff_ms,
		       int max_rows, struct pd_store_pruned *out, struct pd_err *err)
{
	static const enum stmt_id sid[] = {S_PRUNE_SHAPES, S_PRUNE_INC_EV, S_PRUNE_INC,
					   S_PRUNE_DEAD, S_PRUNE_DELIV};
	static const char *const what[] = {"prune shapes", "prune incident events",
					   "prune incidents", "prune dead letters",
					   "prune deliveries"};
	int64_t got[5] = {0}, n = 0;
	int ret, go;

	memset(out, 0, sizeof(*out));
	if ((ret = prune_begin(st, max_rows, &go, err)) != 0 || !go)
		return ret;
	for (size_t i = 0; i < sizeof(sid) / sizeof(sid[0]) && n < max_rows; i++) {
		if ((ret = prune_run(st, sid[i],
				     sid[i] == S_PRUNE_INC_EV || sid[i] == S_PRUNE_INC
					     ? incident_cutoff_ms
					     : cutoff_ms,
				     max_rows - n, what[i], &got[i], err)) != 0)
			goto out;
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
	return prune_end(st, ret);
}
