/* store_outbox.c — the durable outbox, the delivery log and the Alertmanager re-send
 * state. */
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
#include "probed/classify.h" /* struct pd_window (windows) */
#include "probed/clock.h"
#include "probed/hash.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/store.h"
#include "store_int.h"

/* the delivery state of one dedup key (pd_store_deliveries) */
#define DELIV_OUTBOX                                                            \
	"SELECT target, event, 0 AS src, id, created_ms, next_at_ms, attempts," \
	" last_error, dead, 0 AS delivered_ms FROM outbox WHERE dedup_key = ?1"
#define DELIV_LOG                                                                  \
	" UNION ALL SELECT target, event, 1, 0, created_ms, 0, attempts, NULL, 0," \
	" delivered_ms FROM deliveries WHERE dedup_key = ?1"
#define DELIV_ORDER ") ORDER BY target, event <> 'trigger', event, created_ms, src DESC, id"

/* The statements this file runs (see pd_store_stmt_get). */
const char *const pd_store_sql_outbox[S__COUNT] = {
	[S_AM_SUPERSEDE] = "UPDATE am_alerts SET ends_ms = ?4 WHERE target = ?1"
			   " AND dedup_key = ?2 AND labels <> ?3 AND ends_ms = 0",
	[S_AM_UPSERT] = "INSERT INTO am_alerts(target, dedup_key, labels, annotations,"
			" generator_url, starts_ms, ends_ms, last_sent_ms)"
			" VALUES(?1,?2,?3,?4,?5,?6,0,?7)"
			" ON CONFLICT(target, dedup_key, labels) DO UPDATE SET"
			" annotations = excluded.annotations,"
			" generator_url = excluded.generator_url, ends_ms = 0,"
			" last_sent_ms = excluded.last_sent_ms",
	[S_AM_RESOLVE] = "UPDATE am_alerts SET ends_ms = ?3 WHERE target = ?1"
			 " AND dedup_key = ?2 AND ends_ms = 0",
	[S_AM_LIST] = "SELECT target, dedup_key, labels, annotations, generator_url,"
		      " starts_ms, ends_ms, last_sent_ms FROM am_alerts"
		      " WHERE (?1 IS NULL OR target = ?1)"
		      " AND (?2 IS NULL OR dedup_key = ?2)"
		      " ORDER BY target, starts_ms, dedup_key, labels",
	[S_AM_SENT] = "UPDATE am_alerts SET last_sent_ms = ?2 WHERE target = ?1",
	[S_AM_PRUNE] = "DELETE FROM am_alerts WHERE target = ?1 AND (?2 <= 0"
		       " OR (ends_ms > 0 AND ends_ms < ?2))",
	[S_DELIV_ADD] = "INSERT OR REPLACE INTO deliveries(dedup_key, target, event,"
			" created_ms, delivered_ms, attempts) SELECT dedup_key, target,"
			" event, created_ms, ?2, attempts + 1 FROM outbox WHERE id = ?1",
	/* outbox rows (src 0) and delivery-log rows (src 1) of the key, grouped by (target,
	 * trigger first), oldest first: the last row of a group is its state. At the same
	 * created_ms a row still in the outbox is the newer news. */
	[S_DELIV_KEY] = "SELECT * FROM (" DELIV_OUTBOX DELIV_LOG DELIV_ORDER,
	[S_DELIV_KEY_V5] = "SELECT * FROM (" DELIV_OUTBOX DELIV_ORDER,
	[S_PROBE_INCIDENT] = "SELECT id, key FROM incidents WHERE json_valid(members) AND"
			     " EXISTS (SELECT 1 FROM json_each(incidents.members)"
			     " WHERE value = ?1) ORDER BY id DESC LIMIT 1",
	[S_OB_ADD] = "INSERT INTO outbox(target, dedup_key, event, payload, created_ms, "
		     "next_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
	[S_OB_DUE] = "SELECT " OUTBOX_COLS " FROM outbox WHERE id IN (" OUTBOX_HEADS ") "
		     "AND next_at_ms <= ?1 ORDER BY id LIMIT ?2",
	[S_OB_DONE] = "DELETE FROM outbox WHERE id = ?1",
	[S_OB_RETRY] = "UPDATE outbox SET attempts = attempts + 1, next_at_ms = ?2, "
		       "last_error = ?3 WHERE id = ?1",
	/* the attempt that ended in the dead letter counts ("after N attempts") */
	[S_OB_DEAD] = "UPDATE outbox SET dead = 1, attempts = attempts + 1, last_error = ?2 "
		      "WHERE id = ?1",
	[S_OB_STATS] = "SELECT coalesce(sum(dead = 0), 0), "
		       "min(CASE WHEN dead = 0 THEN created_ms END), "
		       "coalesce(sum(dead <> 0), 0) FROM outbox",
	/* over head rows only: a later row of a backed-off target cannot be sent before
	 * its head, so counting it would make the caller wake up for nothing */
	[S_OB_NEXT] = "SELECT min(next_at_ms) FROM outbox WHERE id IN (" OUTBOX_HEADS ")",
	[S_OB_LIST] = "SELECT " OUTBOX_COLS " FROM outbox ORDER BY id",
	/* ?1 = 0: every dead row */
	[S_OB_REQUEUE] = "UPDATE outbox SET dead = 0, attempts = 0, next_at_ms = ?2, "
			 "last_error = 'requeued by hand' WHERE dead = 1 AND (?1 = 0 OR id = ?1)",
};

/* ---- outbox ---- */

void
pd_store_outbox_row_cleanup(struct pd_outbox_row *r)
{
	if (r == NULL)
		return;
	free(r->payload);
	r->payload = NULL;
}

int
pd_store_outbox_add(struct pd_store *st, const char *target, const char *dedup_key,
		    const char *event, const char *payload, int64_t now_ms, int64_t *id,
		    struct pd_err *err)
{
	sqlite3_stmt *s;
	int ret;

	if (target == NULL || target[0] == '\0' || strlen(target) >= 64 || dedup_key == NULL ||
	    strlen(dedup_key) >= 128 || event == NULL || event[0] == '\0' || strlen(event) >= 16 ||
	    payload == NULL)
		return pd_err_set(err, PD_ERR_INVALID, "outbox: bad target, dedup_key or event");
	if ((ret = pd_store_tx_begin_urgent(st, err)) != 0)
		return ret;
	if ((s = pd_store_stmt_get(st, S_OB_ADD, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_text(s, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, dedup_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, payload, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, now_ms);
	if ((ret = pd_store_stmt_exec(st, s, "outbox add", err)) != 0)
		return ret;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	st->pending++;
	return 0;
}

/* One row of OUTBOX_COLS into r (payload malloc'd). 0, or -1 out of memory. */
static int
outbox_row_read(sqlite3_stmt *s, struct pd_outbox_row *r)
{
	const unsigned char *p = sqlite3_column_text(s, 4);

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	pd_store_copy_text(r->target, sizeof(r->target), sqlite3_column_text(s, 1));
	pd_store_copy_text(r->dedup_key, sizeof(r->dedup_key), sqlite3_column_text(s, 2));
	pd_store_copy_text(r->event, sizeof(r->event), sqlite3_column_text(s, 3));
	r->payload = strdup(p != NULL ? (const char *)p : "");
	if (r->payload == NULL)
		return -1;
	r->created_ms = sqlite3_column_int64(s, 5);
	r->next_at_ms = sqlite3_column_int64(s, 6);
	r->attempts = sqlite3_column_int(s, 7);
	pd_store_copy_text(r->last_error, sizeof(r->last_error), sqlite3_column_text(s, 8));
	r->dead = sqlite3_column_int(s, 9);
	return 0;
}

int
pd_store_outbox_list(struct pd_store *st, pd_store_outbox_fn fn, void *ud, struct pd_err *err)
{
	struct pd_outbox_row r;
	sqlite3_stmt *s;
	int rc, ret = 0;

	if ((s = pd_store_stmt_get(st, S_OB_LIST, err)) == NULL)
		return PD_ERR_DB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (outbox_row_read(s, &r) != 0) {
			ret = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
			break;
		}
		ret = fn(ud, &r);
		pd_store_outbox_row_cleanup(&r);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "outbox list");
	pd_store_stmt_done(s);
	return ret;
}

int
pd_store_outbox_requeue(struct pd_store *st, int64_t id, int64_t now_ms, int *n, struct pd_err *err)
{
	sqlite3_stmt *s;
	int ret;

	*n = 0;
	if ((ret = pd_store_tx_begin_urgent(st, err)) != 0)
		return ret;
	if ((s = pd_store_stmt_get(st, S_OB_REQUEUE, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now_ms);
	if ((ret = pd_store_stmt_exec(st, s, "outbox requeue", err)) == 0)
		*n = sqlite3_changes(st->db);
	return ret;
}

int
pd_store_outbox_due(struct pd_store *st, int64_t now_ms, struct pd_outbox_row *rows, size_t max,
		    size_t *n, struct pd_err *err)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	*n = 0;
	if (max == 0)
		return 0;
	if ((s = pd_store_stmt_get(st, S_OB_DUE, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int64(s, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		if (outbox_row_read(s, &rows[*n]) != 0) {
			ret = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
			break;
		}
		(*n)++;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "outbox due");
	pd_store_stmt_done(s);
	if (ret != 0) {
		for (size_t i = 0; i < *n; i++)
			pd_store_outbox_row_cleanup(&rows[i]);
		*n = 0;
	}
	return ret;
}

/* done / retry / dead: one row by id, inside the batch. */
static int
outbox_update(struct pd_store *st, enum stmt_id sid, int64_t id, int64_t next_at_ms,
	      const char *last_error, struct pd_err *err)
{
	char msg[256];
	sqlite3_stmt *s;
	int ret;

	if ((ret = pd_store_tx_begin_urgent(st, err)) != 0)
		return ret;
	if ((s = pd_store_stmt_get(st, sid, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, id);
	/* stored truncated like the struct field, so what is read back is what was kept */
	snprintf(msg, sizeof(msg), "%s", last_error != NULL ? last_error : "");
	if (sid == S_OB_RETRY) {
		sqlite3_bind_int64(s, 2, next_at_ms);
		pd_store_bind_text_or_null(s, 3, msg);
	} else if (sid == S_OB_DEAD) {
		pd_store_bind_text_or_null(s, 2, msg);
	}
	if ((ret = pd_store_stmt_exec(st, s, "outbox update", err)) != 0)
		return ret;
	if (sqlite3_changes(st->db) == 0)
		return pd_err_set(err, PD_ERR_NOTFOUND, "outbox row %" PRId64 " not found", id);
	st->pending++;
	return 0;
}

int
pd_store_outbox_done(struct pd_store *st, int64_t id, struct pd_err *err)
{
	return outbox_update(st, S_OB_DONE, id, 0, NULL, err);
}

int
pd_store_outbox_retry(struct pd_store *st, int64_t id, int64_t next_at_ms, const char *last_error,
		      struct pd_err *err)
{
	return outbox_update(st, S_OB_RETRY, id, next_at_ms, last_error, err);
}

int
pd_store_outbox_dead(struct pd_store *st, int64_t id, const char *last_error, struct pd_err *err)
{
	return outbox_update(st, S_OB_DEAD, id, 0, last_error, err);
}

int
pd_store_outbox_stats(struct pd_store *st, int64_t now_ms, int64_t *depth, int64_t *oldest_age_ms,
		      int64_t *dead, struct pd_err *err)
{
	sqlite3_stmt *s;
	int ret = 0;

	*depth = 0;
	*oldest_age_ms = 0;
	*dead = 0;
	if ((s = pd_store_stmt_get(st, S_OB_STATS, err)) == NULL)
		return PD_ERR_DB;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*depth = sqlite3_column_int64(s, 0);
		if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
			int64_t age = now_ms - sqlite3_column_int64(s, 1);

			*oldest_age_ms = age > 0 ? age : 0;
		}
		*dead = sqlite3_column_int64(s, 2);
	} else {
		ret = pd_store_db_fail(st, err, "outbox stats");
	}
	pd_store_stmt_done(s);
	return ret;
}

int
pd_store_outbox_next_due(struct pd_store *st, int64_t *next_at_ms, struct pd_err *err)
{
	sqlite3_stmt *s;
	int ret = 0;

	*next_at_ms = 0;
	if ((s = pd_store_stmt_get(st, S_OB_NEXT, err)) == NULL)
		return PD_ERR_DB;
	if (sqlite3_step(s) == SQLITE_ROW)
		*next_at_ms = sqlite3_column_int64(s, 0); /* NULL -> 0 */
	else
		ret = pd_store_db_fail(st, err, "outbox next due");
	pd_store_stmt_done(s);
	return ret;
}

/* ---- Alertmanager re-sends (contract in store.h) ---------------------------
 * A handful of rows per target, touched once per resend_interval: prepared per call,
 * like the incident statements. */

void
pd_store_am_alert_cleanup(struct pd_am_alert *a)
{
	free(a->labels);
	free(a->annotations);
	free(a->generator_url);
	a->labels = a->annotations = a->generator_url = NULL;
}

int
pd_store_am_fire(struct pd_store *st, const struct pd_am_alert *a, int64_t now_ms,
		 struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = pd_store_tx_begin_urgent(st, err)) != 0 ||
	    (ret = pd_store_stmt_prep(st, S_AM_SUPERSEDE, &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, a->target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, a->dedup_key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, a->labels, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, now_ms);
	if ((ret = pd_store_stmt_exec(st, s, "end superseded alerts", err)) != 0)
		return ret;
	if ((ret = pd_store_stmt_prep(st, S_AM_UPSERT, &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, a->target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, a->dedup_key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, a->labels, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, a->annotations ? a->annotations : "{}", -1, SQLITE_TRANSIENT);
	pd_store_bind_text_or_null(s, 5, a->generator_url);
	sqlite3_bind_int64(s, 6, a->starts_ms);
	sqlite3_bind_int64(s, 7, now_ms);
	if ((ret = pd_store_stmt_exec(st, s, "save alert", err)) != 0)
		return ret;
	st->pending++;
	return 0;
}

int
pd_store_am_resolve(struct pd_store *st, const char *target, const char *dedup_key, int64_t ends_ms,
		    int *n, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if (n != NULL)
		*n = 0;
	if ((ret = pd_store_tx_begin_urgent(st, err)) != 0 ||
	    (ret = pd_store_stmt_prep(st, S_AM_RESOLVE, &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, dedup_key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, ends_ms);
	if ((ret = pd_store_stmt_exec(st, s, "resolve alerts", err)) != 0)
		return ret;
	if (n != NULL)
		*n = sqlite3_changes(st->db);
	st->pending++;
	return 0;
}

int
pd_store_am_list(struct pd_store *st, const char *target, const char *dedup_key, pd_store_am_fn fn,
		 void *ud, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	struct pd_am_alert a;
	int ret, rc;

	if ((ret = pd_store_stmt_prep(st, S_AM_LIST, &s, err)) != 0)
		return ret;
	if (target != NULL)
		sqlite3_bind_text(s, 1, target, -1, SQLITE_TRANSIENT);
	if (dedup_key != NULL)
		sqlite3_bind_text(s, 2, dedup_key, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&a, 0, sizeof(a));
		pd_store_copy_text(a.target, sizeof(a.target), sqlite3_column_text(s, 0));
		pd_store_copy_text(a.dedup_key, sizeof(a.dedup_key), sqlite3_column_text(s, 1));
		a.labels = pd_store_col_dup(s, 2);
		a.annotations = pd_store_col_dup(s, 3);
		if (sqlite3_column_type(s, 4) != SQLITE_NULL)
			a.generator_url = pd_store_col_dup(s, 4);
		a.starts_ms = sqlite3_column_int64(s, 5);
		a.ends_ms = sqlite3_column_int64(s, 6);
		a.last_sent_ms = sqlite3_column_int64(s, 7);
		if (a.labels == NULL || a.annotations == NULL) {
			pd_store_am_alert_cleanup(&a);
			ret = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
			goto out;
		}
		ret = fn ? fn(ud, &a) : 0;
		pd_store_am_alert_cleanup(&a);
		if (ret != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "alertmanager alerts");
out:
	pd_store_stmt_done(s);
	return ret;
}

int
pd_store_am_sent(struct pd_store *st, const char *target, int64_t now_ms, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = pd_store_tx_begin_urgent(st, err)) != 0 ||
	    (ret = pd_store_stmt_prep(st, S_AM_SENT, &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, now_ms);
	if ((ret = pd_store_stmt_exec(st, s, "alerts sent", err)) != 0)
		return ret;
	st->pending++;
	return 0;
}

int
pd_store_am_prune(struct pd_store *st, const char *target, int64_t cutoff_ms, int *deleted,
		  struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if (deleted != NULL)
		*deleted = 0;
	if ((ret = pd_store_tx_begin_urgent(st, err)) != 0 ||
	    (ret = pd_store_stmt_prep(st, S_AM_PRUNE, &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, cutoff_ms);
	if ((ret = pd_store_stmt_exec(st, s, "prune alerts", err)) != 0)
		return ret;
	if (deleted != NULL)
		*deleted = sqlite3_changes(st->db);
	st->pending++;
	return 0;
}

/* ---- delivery state (contract in store.h) ----------------------------------
 */

const char *
pd_store_delivery_state_str(enum pd_delivery_state s)
{
	switch (s) {
	case PD_DELIVERY_QUEUED:
		return "queued";
	case PD_DELIVERY_FAILING:
		return "failing";
	case PD_DELIVERY_DEAD:
		return "dead_lettered";
	case PD_DELIVERY_DELIVERED:
		return "delivered";
	}
	return "?";
}

int
pd_store_outbox_delivered(struct pd_store *st, int64_t id, int64_t now_ms, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = pd_store_tx_begin_urgent(st, err)) != 0 ||
	    (ret = pd_store_stmt_prep(st, S_DELIV_ADD, &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now_ms);
	if ((ret = pd_store_stmt_exec(st, s, "delivery log", err)) != 0)
		return ret;
	return outbox_update(st, S_OB_DONE, id, 0, NULL, err);
}

int
pd_store_deliveries(struct pd_store *st, const char *dedup_key, struct pd_delivery *out, size_t max,
		    size_t *n, struct pd_err *err)
{
	struct pd_delivery *cur = NULL;
	sqlite3_stmt *s = NULL;
	int64_t last_ok = 0;
	int ret, rc;

	*n = 0;
	if (dedup_key == NULL)
		return pd_err_set(err, PD_ERR_INVALID, "deliveries: no dedup key");
	/* one statement: one snapshot, no read transaction needed */
	if ((ret = pd_store_stmt_prep(st, st->version >= 6 ? S_DELIV_KEY : S_DELIV_KEY_V5, &s,
				      err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, dedup_key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *target = (const char *)sqlite3_column_text(s, 0);
		const char *event = (const char *)sqlite3_column_text(s, 1);

		target = target ? target : "";
		event = event ? event : "";
		if (cur == NULL || strcmp(cur->target, target) != 0 ||
		    strcmp(cur->event, event) != 0) {
			if (*n >= max) {
				cur = NULL;
				continue;
			}
			cur = &out[(*n)++];
			memset(cur, 0, sizeof(*cur));
			snprintf(cur->target, sizeof(cur->target), "%s", target);
			snprintf(cur->event, sizeof(cur->event), "%s", event);
			last_ok = 0;
		}
		cur->created_ms = sqlite3_column_int64(s, 4);
		cur->attempts = sqlite3_column_int(s, 6);
		cur->last_error[0] = '\0';
		cur->next_at_ms = 0;
		if (sqlite3_column_int(s, 2) == 1) {
			cur->state = PD_DELIVERY_DELIVERED;
			cur->delivered_ms = sqlite3_column_int64(s, 9);
			if (cur->delivered_ms > last_ok)
				last_ok = cur->delivered_ms;
			continue;
		}
		cur->delivered_ms = last_ok; /* an earlier row of this target and event */
		pd_store_copy_text(cur->last_error, sizeof(cur->last_error),
				   sqlite3_column_text(s, 7));
		if (sqlite3_column_int(s, 8) != 0) {
			cur->state = PD_DELIVERY_DEAD;
		} else {
			cur->state = cur->attempts > 0 ? PD_DELIVERY_FAILING : PD_DELIVERY_QUEUED;
			cur->next_at_ms = sqlite3_column_int64(s, 5);
		}
	}
	if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "deliveries");
	pd_store_stmt_done(s);
	return ret;
}

int
pd_store_probe_incident(struct pd_store *st, const char *probe, int64_t *id, char *key, size_t cap,
			struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret, rc;

	*id = 0;
	if (cap > 0)
		key[0] = '\0';
	if ((ret = pd_store_stmt_prep(st, S_PROBE_INCIDENT, &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, probe, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		pd_store_copy_text(key, cap, sqlite3_column_text(s, 1));
	} else if (rc != SQLITE_DONE) {
		ret = pd_store_db_fail(st, err, "incident of probe");
	}
	pd_store_stmt_done(s);
	return ret;
}
