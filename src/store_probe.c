/* store_probe.c — what is known about a probe beyond its results: its response shapes
 * (drift) and its TLS certificate expiry. */
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

/* The statements this file runs (see pd_store_stmt_get). */
const char *const pd_store_sql_probe[S__COUNT] = {
	[S_SHAPE_SEEN] = "INSERT INTO shapes(probe_id, hash, first_seen_ms,"
			 " last_seen_ms, paths) VALUES(?1, ?2, ?3, ?3, ?4)"
			 " ON CONFLICT(probe_id, hash) DO UPDATE SET"
			 " last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
			 " paths = coalesce(paths, excluded.paths)",
	[S_SHAPES] = "SELECT hash, first_seen_ms, last_seen_ms, paths FROM shapes"
		     " WHERE probe_id = ?1 AND last_seen_ms >= ?2"
		     " ORDER BY last_seen_ms DESC, first_seen_ms DESC",
	[S_CERT_SAVE] = "INSERT INTO probe_certs(probe_id, not_after_s, checked_ms) "
			"VALUES (?1, ?2, ?3) ON CONFLICT(probe_id) DO UPDATE "
			"SET not_after_s = ?2, checked_ms = ?3",
	[S_CERT_GET] = "SELECT c.not_after_s FROM probe_certs c JOIN probes p "
		       "ON p.id = c.probe_id WHERE p.name = ?1",
	[S_CERTS] = "SELECT p.name, c.not_after_s, c.checked_ms FROM "
		    "probe_certs c JOIN probes p ON p.id = c.probe_id ORDER BY p.name",
};

/* ---- response shape fingerprints (shape drift) --------------------------- */

int
pd_store_shape_seen(struct pd_store *st, const char *probe, uint64_t hash, const char *paths,
		    int64_t now_ms, struct pd_err *err)
{
	struct name_ent *e = NULL;
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = pd_store_probe_write(st, probe, &e, err)) != 0 ||
	    (ret = pd_store_stmt_prep(st, S_SHAPE_SEEN, &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, e->id);
	sqlite3_bind_int64(s, 2, (int64_t)hash);
	sqlite3_bind_int64(s, 3, now_ms);
	pd_store_bind_text_or_null(s, 4, paths);
	if ((ret = pd_store_stmt_exec(st, s, "shape seen", err)) != 0)
		return ret;
	st->pending++;
	return 0;
}

int
pd_store_shapes(struct pd_store *st, const char *probe, int64_t since_ms, pd_store_shape_fn fn,
		void *ud, struct pd_err *err)
{
	struct name_ent *e = NULL;
	sqlite3_stmt *s = NULL;
	int ret, rc, opened = 0;

	if ((ret = pd_store_probe_lookup(st, probe, 0, &e, err)) != 0)
		return ret;
	if ((ret = pd_store_read_begin(st, &opened, err)) != 0)
		return ret;
	if ((ret = pd_store_stmt_prep(st, S_SHAPES, &s, err)) != 0)
		goto out;
	sqlite3_bind_int64(s, 1, e->id);
	sqlite3_bind_int64(s, 2, since_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pd_shape_row r;

		r.hash = (uint64_t)sqlite3_column_int64(s, 0);
		r.first_seen_ms = sqlite3_column_int64(s, 1);
		r.last_seen_ms = sqlite3_column_int64(s, 2);
		r.paths = (const char *)sqlite3_column_text(s, 3);
		if (fn != NULL && fn(ud, &r) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "shapes");
out:
	pd_store_stmt_done(s);
	pd_store_read_end(st, opened);
	return ret;
}

/* ---- TLS certificate expiry per probe ---- */

int
pd_store_cert_save(struct pd_store *st, const char *probe, int64_t not_after_s, int64_t checked_ms,
		   struct pd_err *err)
{
	struct name_ent *e;
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = pd_store_probe_write(st, probe, &e, err)) != 0)
		return ret;
	if ((s = pd_store_stmt_get(st, S_CERT_SAVE, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, e->id);
	sqlite3_bind_int64(s, 2, not_after_s);
	sqlite3_bind_int64(s, 3, checked_ms);
	ret = pd_store_stmt_exec(st, s, "save certificate", err);
	if (ret == 0)
		st->pending++;
	return ret;
}

int
pd_store_certs(struct pd_store *st, pd_store_cert_fn fn, void *ud, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	if ((s = pd_store_stmt_get(st, S_CERTS, err)) == NULL)
		return PD_ERR_DB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(s, 0);

		if ((ret = fn(ud, name ? (const char *)name : "", sqlite3_column_int64(s, 1),
			      sqlite3_column_int64(s, 2))) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = pd_store_db_fail(st, err, "certificates");
	pd_store_stmt_done(s);
	return ret;
}

int
pd_store_cert_get(struct pd_store *st, const char *probe, int64_t *not_after_s, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	*not_after_s = -1;
	if ((s = pd_store_stmt_get(st, S_CERT_GET, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_text(s, 1, probe, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*not_after_s = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "certificate");
	pd_store_stmt_done(s);
	return ret;
}
