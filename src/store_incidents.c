/* store_incidents.c — incidents, their timeline, and silences. */
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

#define INC_COLS                                                                        \
	"id, key, opened_ms, resolved_ms, last_join_ms, severity, mode, title, reason," \
	" evidence, members, notified, status_message, drill"

/* The statements this file runs (see pd_store_stmt_get). */
const char *const pd_store_sql_incidents[S__COUNT] = {
	[S_INC_INSERT] =
		"INSERT INTO incidents(key, opened_ms, resolved_ms, last_join_ms, severity,"
		" mode, title, reason, evidence, members, notified, status_message, drill)"
		" VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
	[S_INC_UPDATE] = "UPDATE incidents SET key=?1, opened_ms=?2, resolved_ms=?3,"
			 " last_join_ms=?4, severity=?5, mode=?6, title=?7, reason=?8, evidence=?9,"
			 " members=?10, notified=?11, status_message=?12, drill=?13 WHERE id=?14",
	[S_INC_EVENT_ADD] = "INSERT INTO incident_events(incident_id, ts_ms, kind, detail)"
			    " VALUES(?1,?2,?3,?4)",
	[S_INC_OPEN] = "SELECT " INC_COLS " FROM incidents WHERE resolved_ms = 0"
		       " ORDER BY id DESC LIMIT ?1",
	[S_INC_ALL] = "SELECT " INC_COLS " FROM incidents ORDER BY id DESC LIMIT ?1",
	[S_INC_GET] = "SELECT " INC_COLS " FROM incidents WHERE id = ?1",
	[S_INC_EVENTS] = "SELECT ts_ms, kind, detail FROM incident_events"
			 " WHERE incident_id = ?1 ORDER BY id",
	[S_SIL_ADD] = "INSERT INTO silences(probe, family, reason, created_ms, until_ms)"
		      " VALUES(?1,?2,?3,?4,?5)",
	[S_SIL_EXPIRE] = "UPDATE silences SET until_ms = ?2, expired_ms = ?2"
			 " WHERE id = ?1 AND until_ms > ?2",
	[S_SIL_LIST] = "SELECT id, probe, family, reason, created_ms, until_ms,"
		       " expired_ms FROM silences WHERE until_ms > ?1 ORDER BY id",
};

/* ---- incidents ------------------------------------------------------------
 * Writes join the open batch like every other write. */

void
pd_store_incident_row_cleanup(struct pd_incident_row *r)
{
	free(r->members);
	free(r->notified);
	free(r->status_message);
	r->members = r->notified = r->status_message = NULL;
}

int
pd_store_incident_save(struct pd_store *st, struct pd_incident_row *r, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = pd_store_tx_begin(st, err)) != 0 ||
	    (ret = pd_store_stmt_prep(st, r->id ? S_INC_UPDATE : S_INC_INSERT, &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, r->key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, r->opened_ms);
	sqlite3_bind_int64(s, 3, r->resolved_ms);
	sqlite3_bind_int64(s, 4, r->last_join_ms);
	sqlite3_bind_int(s, 5, r->severity);
	sqlite3_bind_int(s, 6, r->mode);
	sqlite3_bind_text(s, 7, r->title, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 8, r->reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 9, r->evidence, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 10, r->members ? r->members : "[]", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 11, r->notified ? r->notified : "[]", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 12, r->status_message ? r->status_message : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 13, r->drill);
	if (r->id)
		sqlite3_bind_int64(s, 14, r->id);
	if ((ret = pd_store_stmt_exec(st, s, "save incident", err)) != 0)
		return ret;
	if (r->id == 0)
		r->id = sqlite3_last_insert_rowid(st->db);
	st->pending++;
	return 0;
}

int
pd_store_incident_event(struct pd_store *st, int64_t incident_id, int64_t ts_ms, const char *kind,
			const char *detail, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = pd_store_tx_begin(st, err)) != 0 ||
	    (ret = pd_store_stmt_prep(st, S_INC_EVENT_ADD, &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, incident_id);
	sqlite3_bind_int64(s, 2, ts_ms);
	sqlite3_bind_text(s, 3, kind, -1, SQLITE_TRANSIENT);
	pd_store_bind_text_or_null(s, 4, detail);
	if ((ret = pd_store_stmt_exec(st, s, "add incident event", err)) != 0)
		return ret;
	st->pending++;
	return 0;
}

char *
pd_store_col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return strdup(t ? (const char *)t : "");
}

static void
inc_row_read(sqlite3_stmt *s, struct pd_incident_row *r)
{
	const unsigned char *t;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	t = sqlite3_column_text(s, 1);
	snprintf(r->key, sizeof(r->key), "%s", t ? (const char *)t : "");
	r->opened_ms = sqlite3_column_int64(s, 2);
	r->resolved_ms = sqlite3_column_int64(s, 3);
	r->last_join_ms = sqlite3_column_int64(s, 4);
	r->severity = sqlite3_column_int(s, 5);
	r->mode = sqlite3_column_int(s, 6);
	t = sqlite3_column_text(s, 7);
	snprintf(r->title, sizeof(r->title), "%s", t ? (const char *)t : "");
	t = sqlite3_column_text(s, 8);
	snprintf(r->reason, sizeof(r->reason), "%s", t ? (const char *)t : "");
	t = sqlite3_column_text(s, 9);
	snprintf(r->evidence, sizeof(r->evidence), "%s", t ? (const char *)t : "");
	r->members = pd_store_col_dup(s, 10);
	r->notified = pd_store_col_dup(s, 11);
	r->status_message = pd_store_col_dup(s, 12);
	r->drill = sqlite3_column_int(s, 13);
}

int
pd_store_incidents(struct pd_store *st, int open_only, int limit, pd_store_incident_fn fn, void *ud,
		   struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	struct pd_incident_row r;
	int ret, rc;

	ret = pd_store_stmt_prep(st, open_only ? S_INC_OPEN : S_INC_ALL, &s, err);
	if (ret != 0)
		return ret;
	sqlite3_bind_int(s, 1, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		inc_row_read(s, &r);
		ret = fn ? fn(ud, &r) : 0;
		pd_store_incident_row_cleanup(&r);
		if (ret != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "incidents");
out:
	pd_store_stmt_done(s);
	return ret;
}

int
pd_store_incident_get(struct pd_store *st, int64_t id, struct pd_incident_row *out,
		      struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret, rc;

	if ((ret = pd_store_stmt_prep(st, S_INC_GET, &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		inc_row_read(s, out);
	else if (rc == SQLITE_DONE)
		ret = pd_err_set(err, PD_ERR_NOTFOUND, "no incident %lld", (long long)id);
	else
		ret = pd_store_db_fail(st, err, "incident");
	pd_store_stmt_done(s);
	return ret;
}

int
pd_store_incident_events(struct pd_store *st, int64_t id, pd_store_ievent_fn fn, void *ud,
			 struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret, rc;

	if ((ret = pd_store_stmt_prep(st, S_INC_EVENTS, &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *d = sqlite3_column_text(s, 2);

		if (fn && (ret = fn(ud, sqlite3_column_int64(s, 0),
				    (const char *)sqlite3_column_text(s, 1),
				    d ? (const char *)d : "")) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "incident events");
out:
	pd_store_stmt_done(s);
	return ret;
}

/* ---- silences ---- */

int
pd_store_silence_add(struct pd_store *st, struct pd_silence *sl, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = pd_store_tx_begin(st, err)) != 0 ||
	    (ret = pd_store_stmt_prep(st, S_SIL_ADD, &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, sl->probe, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, sl->family, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, sl->reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, sl->created_ms);
	sqlite3_bind_int64(s, 5, sl->until_ms);
	if ((ret = pd_store_stmt_exec(st, s, "add silence", err)) != 0)
		return ret;
	sl->id = sqlite3_last_insert_rowid(st->db);
	st->pending++;
	return 0;
}

int
pd_store_silence_expire(struct pd_store *st, int64_t id, int64_t now_ms, int *n, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	*n = 0;
	if ((ret = pd_store_tx_begin(st, err)) != 0 ||
	    (ret = pd_store_stmt_prep(st, S_SIL_EXPIRE, &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now_ms);
	if ((ret = pd_store_stmt_exec(st, s, "expire silence", err)) != 0)
		return ret;
	*n = sqlite3_changes(st->db);
	st->pending++;
	return 0;
}

int
pd_store_silences(struct pd_store *st, int64_t min_until_ms, pd_store_silence_fn fn, void *ud,
		  struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	struct pd_silence sl;
	int ret, rc;

	if ((ret = pd_store_stmt_prep(st, S_SIL_LIST, &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, min_until_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&sl, 0, sizeof(sl));
		sl.id = sqlite3_column_int64(s, 0);
		pd_store_copy_text(sl.probe, sizeof(sl.probe), sqlite3_column_text(s, 1));
		pd_store_copy_text(sl.family, sizeof(sl.family), sqlite3_column_text(s, 2));
		pd_store_copy_text(sl.reason, sizeof(sl.reason), sqlite3_column_text(s, 3));
		sl.created_ms = sqlite3_column_int64(s, 4);
		sl.until_ms = sqlite3_column_int64(s, 5);
		sl.expired_ms = sqlite3_column_int64(s, 6);
		if ((ret = fn ? fn(ud, &sl) : 0) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "silences");
out:
	pd_store_stmt_done(s);
	return ret;
}

int
pd_store_data_version(struct pd_store *st, int64_t *v, struct pd_err *err)
{
	int iv = 0, ret = pd_store_pragma_int(st, "PRAGMA data_version", &iv, err);

	*v = iv;
	return ret;
}
