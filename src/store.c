/* store.c — the core of the SQLite store: open/close, the schema and its migrations, the
 * prepared statements, the probe name cache, batching, and the helpers every store file
 * uses (store_int.h). The rest of the store is split by what it keeps: store_results.c
 * (results, probe state, events, history, series), store_agg.c (per-minute and per-hour
 * aggregates, windows, baselines), store_prune.c (retention), store_outbox.c (outbox,
 * delivery log, Alertmanager state), store_incidents.c (incidents, timeline, silences),
 * store_probe.c (shapes, certificates).
 *
 * Only the store*.c files include sqlite3.h. One connection per struct pd_store; the
 * daemon holds the single writer, probectl opens read-only handles. WAL mode gives
 * readers a snapshot of the last commit without ever taking the write lock.
 *
 * Batching: every write goes through pd_store_tx_begin(), which opens BEGIN IMMEDIATE
 * on the first write after a flush; pd_store_flush() commits. A failed statement or
 * COMMIT that SQLite rolled back (SQLITE_FULL, IOERR, ...) is detected with
 * sqlite3_get_autocommit() and the handle is reset to "no batch" so it stays usable.
 * When to commit is the caller's (the daemon's ev_prepare) through the pure policy
 * pd_store_commit_wait_ms(): at most PD_STORE_COMMIT_MS after the batch's first write,
 * at once when an outbox write (pd_store_tx_begin_urgent) marked it urgent.
 *
 * Checkpoints: the one thread of probed besides the loop. SQLite's auto-checkpoint runs
 * inside the COMMIT that crosses 1000 WAL pages and fsyncs the database (7-20 ms on the
 * loop at 1,000 probes/s); there is no incremental or event-driven checkpoint to call
 * instead. The writer turns it off (wal_autocheckpoint=0) and ckpt_main() runs on its own
 * connection: PASSIVE when a commit's WAL hook (on the loop: a mutex and a signal) sees
 * PD_STORE_CKPT_FRAMES pages or more, SQLite's own threshold, and at least every
 * PD_STORE_CKPT_PERIOD_MS. PASSIVE takes no write lock and waits for none, so commits on
 * the loop go on beside it; the WAL starts over at the first commit after a pass that
 * copied everything. A pass that left frames (commits came in meanwhile, or a reader
 * holds an old snapshot) is followed by another after STORE_CKPT_CATCHUP_MS.
 * Bounded growth: the WAL starts over only at a commit whose batch began with every
 * frame copied, and the loop opens its next batch ~1 ms after each commit (1,000
 * probes/s), before a PASSIVE can finish: measured, the WAL grew to 120 MB in 60 s. So
 * when a commit leaves PD_STORE_CKPT_RESTART_FRAMES or more, the hook asks for a RESTART,
 * which the thread tries right away, while the writer's lock is free: it copies about
 * one batch, syncs and starts the WAL over, and a BEGIN on the loop waits for it (a stall
 * of a few ms once per 64 MiB of WAL, not one per 4 MiB as SQLite's own). It never waits
 * for a lock (no busy handler): in the way, it is a PASSIVE and the next commit asks
 * again. The writer's journal_size_limit cuts the file back to 64 MiB when it starts
 * over. TRUNCATE is never used: it also truncates the file under the write lock (273 ms
 * measured on a 234k-page WAL, longer than STORE_BUSY_MS: the loop's BEGIN failed). A
 * reader holding an old snapshot (a long probectl query) keeps the WAL growing until it
 * ends. The thread shares only its counters
 * (under a mutex) and never sees the daemon; pd_store_free() joins it
 * before the writer's close. Read-only handles never checkpoint (NO_CKPT_ON_CLOSE).
 *
 * Schema changes are forward-only migrations (store_migrations[]), each applied in
 * its own transaction together with PRAGMA user_version = index + 1. To add tables
 * (windows, incidents), append a string; never edit a released one.
 * Migrations run inside a transaction, where PRAGMA foreign_keys cannot be changed:
 * a migration that rebuilds a referenced table must keep the ids stable.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "probed/classify.h" /* struct pd_window (windows) */
#include "probed/clock.h"
#include "probed/hash.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/store.h"
#include "store_int.h"

static void ckpt_start(struct pd_store *st);
static void ckpt_stop(struct pd_store *st);

/* ---- schema ---------------------------------------------------------------------
 *
 * results is a WITHOUT ROWID table clustered on PRIMARY KEY (probe_id, ts_ms, seq).
 * The hot read is "results of one probe over a window" (history, the issue-3
 * classifier's 24 h p95, status's last result): with the rows stored in key order
 * that is one B-tree seek plus a contiguous range scan of full rows, and "last result"
 * is a single seek from the right end. A rowid table would need a secondary index and
 * then one random rowid lookup per row (a probe's rows are interleaved with every other
 * probe's rows in rowid order), or a covering index that duplicates the whole row.
 * An insert is one B-tree insert (a rowid table plus index pays two). Measured on
 * this design: 3 probes x 30 days at 10 s (778k rows, ~40 bytes/row on disk), one
 * probe's 24 h stats (8640 rows, p50/p95/p99 in C) ~2.3 ms, the walk alone ~1.5 ms.
 * seq only disambiguates two results of one probe in the same millisecond; it is 0
 * almost always. verdict is NULL for "ok" to keep the common row small (~40 bytes).
 *
 * Retention deletes by (probe_id, ts_ms < cutoff) per probe through the same key
 * (probes CROSS JOIN results), in bounded chunks.
 */
static const char *const store_migrations[] = {
	/* v1 */
	"CREATE TABLE probes ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE"
	");"
	"CREATE TABLE results ("
	"  probe_id INTEGER NOT NULL REFERENCES probes(id),"
	"  ts_ms INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL DEFAULT 0,"
	"  outcome INTEGER NOT NULL,"
	"  http_status INTEGER NOT NULL,"
	"  curl_code INTEGER NOT NULL,"
	"  dns_ms REAL NOT NULL,"
	"  connect_ms REAL NOT NULL,"
	"  tls_ms REAL NOT NULL,"
	"  ttfb_ms REAL NOT NULL,"
	"  total_ms REAL NOT NULL,"
	"  body_size INTEGER NOT NULL,"
	"  lateness_us INTEGER NOT NULL,"
	"  verdict TEXT," /* NULL = "ok" */
	"  PRIMARY KEY (probe_id, ts_ms, seq)"
	") WITHOUT ROWID;"
	"CREATE TABLE probe_state ("
	"  probe_id INTEGER PRIMARY KEY REFERENCES probes(id),"
	"  status INTEGER NOT NULL,"
	"  consec_fail INTEGER NOT NULL,"
	"  consec_ok INTEGER NOT NULL,"
	"  since_ms INTEGER NOT NULL,"
	"  first_fail_ms INTEGER NOT NULL,"
	"  paged_at_ms INTEGER NOT NULL,"
	"  last_page_ms INTEGER NOT NULL,"
	"  last_outcome INTEGER NOT NULL,"
	"  dedup_key TEXT" /* NULL = no current outage */
	");"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  ts_ms INTEGER NOT NULL,"
	"  probe_id INTEGER REFERENCES probes(id),"
	"  kind TEXT NOT NULL,"
	"  detail TEXT"
	");"
	"CREATE INDEX events_ts ON events(ts_ms);"
	"CREATE INDEX events_probe_ts ON events(probe_id, ts_ms);"
	/* AUTOINCREMENT: ids never reused, so id order is enqueue order forever */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  target TEXT NOT NULL,"
	"  dedup_key TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  payload TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  next_at_ms INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  dead INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX outbox_target ON outbox(target, dead, id);",
	/* v2: incidents. members/notified are small JSON arrays of names. */
	"CREATE TABLE incidents ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  key TEXT NOT NULL UNIQUE,"
	"  opened_ms INTEGER NOT NULL,"
	"  resolved_ms INTEGER NOT NULL DEFAULT 0,"
	"  last_join_ms INTEGER NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  mode INTEGER NOT NULL,"
	"  title TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  evidence TEXT NOT NULL,"
	"  members TEXT NOT NULL,"
	"  notified TEXT NOT NULL,"
	"  status_message TEXT NOT NULL,"
	"  drill INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX incidents_open ON incidents(resolved_ms, id);"
	"CREATE TABLE incident_events ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	"  ts_ms INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  detail TEXT"
	");"
	"CREATE INDEX incident_events_by_incident ON incident_events(incident_id, id);",
	/* v3: per-minute and per-hour aggregates per probe (classifier windows and
	 * baselines; see "per-minute aggregates" in store_agg.c). Filled from the results already
	 * stored by pd_store_agg_backfill() when a writer opens the file. */
	"CREATE TABLE agg_minute ("
	"  probe_id INTEGER NOT NULL REFERENCES probes(id),"
	"  minute INTEGER NOT NULL,"   /* floor(ts_ms / 60000), UTC */
	"  n INTEGER NOT NULL,"        /* results */
	"  failures INTEGER NOT NULL," /* outcome <> 0 */
	"  by_class BLOB,"             /* failures per outcome; NULL = none */
	"  n_lat INTEGER NOT NULL,"    /* results with total_ms >= 0 */
	"  sum_ms REAL NOT NULL,"
	"  min_ms REAL,"
	"  max_ms REAL,"
	"  hist BLOB," /* latency histogram; NULL = no latency */
	"  PRIMARY KEY (probe_id, minute)"
	") WITHOUT ROWID;"
	"CREATE TABLE agg_hour (" /* the same per UTC hour (floor(minute/60)) */
	"  probe_id INTEGER NOT NULL REFERENCES probes(id),"
	"  hour INTEGER NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  failures INTEGER NOT NULL,"
	"  by_class BLOB,"
	"  n_lat INTEGER NOT NULL,"
	"  sum_ms REAL NOT NULL,"
	"  min_ms REAL,"
	"  max_ms REAL,"
	"  hist BLOB,"
	"  PRIMARY KEY (probe_id, hour)"
	") WITHOUT ROWID;",
	/* v4: Alertmanager alerts being kept alive by re-sends (delivery; see
	 * pd_store_am_* in store.h). labels is the JSON object text, part of the key. */
	"CREATE TABLE am_alerts ("
	"  target TEXT NOT NULL,"
	"  dedup_key TEXT NOT NULL,"
	"  labels TEXT NOT NULL,"
	"  annotations TEXT NOT NULL,"
	"  generator_url TEXT,"
	"  starts_ms INTEGER NOT NULL,"
	"  ends_ms INTEGER NOT NULL DEFAULT 0," /* 0 = firing */
	"  last_sent_ms INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (target, dedup_key, labels)"
	");",
	/* v5: response shape fingerprints per probe (shape drift; see
	 * pd_store_shape_* in store.h). hash is the 64-bit fingerprint as a signed integer. */
	"CREATE TABLE shapes ("
	"  probe_id INTEGER NOT NULL REFERENCES probes(id),"
	"  hash INTEGER NOT NULL,"
	"  first_seen_ms INTEGER NOT NULL,"
	"  last_seen_ms INTEGER NOT NULL,"
	"  paths TEXT,"
	"  PRIMARY KEY (probe_id, hash)"
	");",
	/* v6: the delivery log. A delivered outbox row is deleted; its last
	 * accepted delivery per (dedup key, target, event) is kept here, so the views can
	 * say "delivered at T" (pd_store_deliveries). Outbox rows are looked up by key. */
	"CREATE TABLE deliveries ("
	"  dedup_key TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL," /* when the row was queued */
	"  delivered_ms INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL," /* including the accepted one */
	"  PRIMARY KEY (dedup_key, target, event)"
	") WITHOUT ROWID;"
	"CREATE INDEX outbox_dedup ON outbox(dedup_key);",
	/* the earliest notAfter of each HTTPS probe's TLS chain, last known value
	 * (pd_store_cert_save / pd_store_certs) */
	"CREATE TABLE probe_certs ("
	"  probe_id INTEGER PRIMARY KEY REFERENCES probes(id),"
	"  not_after_s INTEGER NOT NULL,"
	"  checked_ms INTEGER NOT NULL"
	");",
	/* silences: `probectl silence add` holds the pages of one probe or one
	 * family until until_ms; `expire` moves until_ms to now (expired_ms records it).
	 * The daemon reads the rows still in force (maint.h). */
	"CREATE TABLE silences ("
	"  id INTEGER PRIMARY KEY,"
	"  probe TEXT NOT NULL DEFAULT '',"  /* '' when by family */
	"  family TEXT NOT NULL DEFAULT ''," /* '' when by probe */
	"  reason TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  until_ms INTEGER NOT NULL,"
	"  expired_ms INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX silences_until ON silences(until_ms);",
};
#define STORE_SCHEMA_VERSION ((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

/* The statements of this file; every store file keeps the SQL of the statements it
 * runs in its own table (pd_store_sql_<file>, indexed by enum stmt_id). */
static const char *const stmt_sql_core[S__COUNT] = {
	[S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[S_BEGIN_READ] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_PROBE_GET] = "SELECT id FROM probes WHERE name = ?1",
	[S_PROBE_ADD] = "INSERT INTO probes(name) VALUES (?1)",
};

/* Every statement's SQL is in exactly one of these tables (checked at open). */
static const char *const *const stmt_tables[] = {
	stmt_sql_core,       pd_store_sql_results,   pd_store_sql_agg,   pd_store_sql_prune,
	pd_store_sql_outbox, pd_store_sql_incidents, pd_store_sql_probe,
};

/* ---- probe name -> id cache (open addressing, FNV-1a) ---- */

static uint64_t
name_hash(const char *s)
{
	return pd_hash_str(PD_HASH_FNV_OFFSET, s);
}

static void
names_clear(struct pd_store *st)
{
	for (size_t i = 0; i < st->names_cap; i++)
		free(st->names[i].name);
	free(st->names);
	st->names = NULL;
	st->names_cap = 0;
	st->names_len = 0;
}

static struct name_ent *
names_find(struct pd_store *st, const char *name)
{
	size_t mask, i;

	if (st->names_cap == 0)
		return NULL;
	mask = st->names_cap - 1;
	for (i = (size_t)name_hash(name) & mask; st->names[i].name != NULL; i = (i + 1) & mask)
		if (strcmp(st->names[i].name, name) == 0)
			return &st->names[i];
	return NULL;
}

/* Place an entry (name ownership moves in) into a table known to have room. */
static struct name_ent *
names_place(struct name_ent *tab, size_t cap, const struct name_ent *e)
{
	size_t mask = cap - 1, i;

	for (i = (size_t)name_hash(e->name) & mask; tab[i].name != NULL; i = (i + 1) & mask)
		;
	tab[i] = *e;
	return &tab[i];
}

static struct name_ent *
names_add(struct pd_store *st, const char *name, int64_t id)
{
	struct name_ent e = {0};

	/* keep the load factor under 1/2 */
	if ((st->names_len + 1) * 2 > st->names_cap) {
		size_t ncap = st->names_cap ? st->names_cap * 2 : 64;
		struct name_ent *ntab = calloc(ncap, sizeof(*ntab));

		if (ntab == NULL)
			return NULL;
		for (size_t i = 0; i < st->names_cap; i++)
			if (st->names[i].name != NULL)
				names_place(ntab, ncap, &st->names[i]);
		free(st->names);
		st->names = ntab;
		st->names_cap = ncap;
	}
	e.name = strdup(name);
	if (e.name == NULL)
		return NULL;
	e.id = id;
	st->names_len++;
	return names_place(st->names, st->names_cap, &e);
}

/* ---- small helpers ---- */

void
pd_store_copy_text(char *dst, size_t cap, const unsigned char *src)
{
	snprintf(dst, cap, "%s", src != NULL ? (const char *)src : "");
}

void
pd_store_stmt_done(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* The batch is gone (rolled back by us or by SQLite): forget it and every cached
 * fact that may have come from it (ids interned in it, newest result keys). */
void
pd_store_batch_lost(struct pd_store *st)
{
	if (st->pending > 0)
		pd_log_warn("store: %zu uncommitted row(s) rolled back", st->pending);
	st->in_tx = 0;
	st->pending = 0;
	st->urgent = 0;
	st->lost = 1; /* the next pd_store_flush() reports it */
	names_clear(st);
}

/* Report the connection's last error; notice an automatic rollback. */
int
pd_store_db_fail(struct pd_store *st, struct pd_err *err, const char *what)
{
	int ret = pd_err_set(err, PD_ERR_DB, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));

	if (st->in_tx && sqlite3_get_autocommit(st->db))
		pd_store_batch_lost(st);
	return ret;
}

static const char *
stmt_text(enum stmt_id id)
{
	for (size_t t = 0; t < sizeof(stmt_tables) / sizeof(stmt_tables[0]); t++)
		if (stmt_tables[t][id] != NULL)
			return stmt_tables[t][id];
	return NULL;
}

/* Each statement id has its SQL in exactly one file's table: a missing or doubled
 * entry is a programming error, reported when the store opens rather than at the
 * first use of the statement. */
static int
stmt_tables_check(struct pd_err *err)
{
	for (int id = 0; id < S__COUNT; id++) {
		int n = 0;

		for (size_t t = 0; t < sizeof(stmt_tables) / sizeof(stmt_tables[0]); t++)
			n += stmt_tables[t][id] != NULL;
		if (n != 1)
			return pd_err_set(err, PD_ERR_INVALID,
					  "store: statement %d has %d SQL texts (want 1)", id, n);
	}
	return 0;
}

sqlite3_stmt *
pd_store_stmt_get(struct pd_store *st, enum stmt_id id, struct pd_err *err)
{
	if (st->stmts[id] == NULL &&
	    sqlite3_prepare_v3(st->db, stmt_text(id), -1, SQLITE_PREPARE_PERSISTENT, &st->stmts[id],
			       NULL) != SQLITE_OK) {
		pd_store_db_fail(st, err, "prepare");
		st->stmts[id] = NULL;
		return NULL;
	}
	return st->stmts[id];
}

/* pd_store_stmt_get for a chain of `(ret = ...) != 0` steps: 0, or the error. */
int
pd_store_stmt_prep(struct pd_store *st, enum stmt_id id, sqlite3_stmt **s, struct pd_err *err)
{
	*s = pd_store_stmt_get(st, id, err);
	return *s != NULL ? 0 : PD_ERR_DB;
}

/* Run a statement that returns no rows (or whose rows are ignored). */
int
pd_store_stmt_exec(struct pd_store *st, sqlite3_stmt *s, const char *what, struct pd_err *err)
{
	int rc = sqlite3_step(s), ret = 0;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = pd_store_db_fail(st, err, what);
	pd_store_stmt_done(s);
	return ret;
}

int
pd_store_simple_exec(struct pd_store *st, enum stmt_id id, const char *what, struct pd_err *err)
{
	sqlite3_stmt *s = pd_store_stmt_get(st, id, err);

	if (s == NULL)
		return PD_ERR_DB;
	return pd_store_stmt_exec(st, s, what, err);
}

void
pd_store_bind_text_or_null(sqlite3_stmt *s, int idx, const char *v)
{
	if (v == NULL || v[0] == '\0')
		sqlite3_bind_null(s, idx);
	else
		sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT);
}

int
pd_store_check_writable(struct pd_store *st, struct pd_err *err)
{
	if (st->readonly)
		return pd_err_set(err, PD_ERR_INVALID, "%s: store opened read-only", st->path);
	return 0;
}

/* Open the write batch if none is open. */
int
pd_store_tx_begin(struct pd_store *st, struct pd_err *err)
{
	int ret;

	if ((ret = pd_store_check_writable(st, err)) != 0)
		return ret;
	if (st->in_tx)
		return 0;
	if ((ret = pd_store_simple_exec(st, S_BEGIN_WRITE, "begin", err)) != 0) {
		/* the write that wanted this batch is dropped: the caller's state may already
		 * have moved on it, so the next flush must report a lost batch */
		st->lost = 1;
		return ret;
	}
	st->in_tx = 1;
	st->pending = 0;
	st->urgent = 0;
	st->opened_ms = pd_clock_mono_ms();
	return 0;
}

int
pd_store_tx_begin_urgent(struct pd_store *st, struct pd_err *err)
{
	int ret;

	if ((ret = pd_store_tx_begin(st, err)) == 0)
		st->urgent = 1;
	return ret;
}

/* Read snapshot for multi-statement queries: inside an open batch the batch is the
 * snapshot; otherwise a deferred (read) transaction, which in WAL never blocks the
 * writer. *opened tells read_end whether to close it. */
int
pd_store_read_begin(struct pd_store *st, int *opened, struct pd_err *err)
{
	*opened = 0;
	if (st->in_tx || !sqlite3_get_autocommit(st->db))
		return 0;
	if (pd_store_simple_exec(st, S_BEGIN_READ, "begin read", err) != 0)
		return PD_ERR_DB;
	*opened = 1;
	return 0;
}

void
pd_store_read_end(struct pd_store *st, int opened)
{
	if (opened && !sqlite3_get_autocommit(st->db))
		pd_store_simple_exec(st, S_COMMIT, "end read", NULL);
}

int
pd_store_check_name(struct pd_store *st, const char *probe, struct pd_err *err)
{
	size_t len;

	if (probe == NULL || (len = strlen(probe)) == 0)
		return pd_err_set(err, PD_ERR_INVALID, "%s: empty probe name", st->path);
	if (len > STORE_NAME_MAX)
		return pd_err_set(err, PD_ERR_INVALID, "%s: probe name longer than %d bytes",
				  st->path, STORE_NAME_MAX);
	return 0;
}

int
pd_store_probe_write(struct pd_store *st, const char *probe, struct name_ent **out,
		     struct pd_err *err)
{
	int ret;

	if ((ret = pd_store_check_name(st, probe, err)) != 0 ||
	    (ret = pd_store_tx_begin(st, err)) != 0)
		return ret;
	return pd_store_probe_lookup(st, probe, 1, out, err);
}

/* Resolve a probe name to its id, from the cache or the probes table; with create
 * (batch open) intern it. PD_ERR_NOTFOUND when unknown and !create. */
int
pd_store_probe_lookup(struct pd_store *st, const char *probe, int create, struct name_ent **out,
		      struct pd_err *err)
{
	struct name_ent *e;
	sqlite3_stmt *s;
	int64_t id = 0;
	int rc, ret;

	if ((ret = pd_store_check_name(st, probe, err)) != 0)
		return ret;
	if ((e = names_find(st, probe)) != NULL) {
		*out = e;
		return 0;
	}
	if ((s = pd_store_stmt_get(st, S_PROBE_GET, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_text(s, 1, probe, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, "probe lookup");
	pd_store_stmt_done(s);
	if (ret != 0)
		return ret;
	if (rc == SQLITE_DONE) {
		if (!create)
			return pd_err_set(err, PD_ERR_NOTFOUND, "no probe named \"%s\" in %s",
					  probe, st->path);
		if ((s = pd_store_stmt_get(st, S_PROBE_ADD, err)) == NULL)
			return PD_ERR_DB;
		sqlite3_bind_text(s, 1, probe, -1, SQLITE_STATIC);
		if ((ret = pd_store_stmt_exec(st, s, "add probe", err)) != 0)
			return ret;
		id = sqlite3_last_insert_rowid(st->db);
	}
	if ((e = names_add(st, probe, id)) == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	*out = e;
	return 0;
}

void
pd_store_result_from_row(sqlite3_stmt *s, int c, struct pd_result *r)
{
	const unsigned char *v;
	size_t len;

	r->ts_ms = sqlite3_column_int64(s, c + 0);
	r->outcome = sqlite3_column_int(s, c + 1);
	r->http_status = sqlite3_column_int(s, c + 2);
	r->curl_code = sqlite3_column_int(s, c + 3);
	r->dns_ms = sqlite3_column_double(s, c + 4);
	r->connect_ms = sqlite3_column_double(s, c + 5);
	r->tls_ms = sqlite3_column_double(s, c + 6);
	r->ttfb_ms = sqlite3_column_double(s, c + 7);
	r->total_ms = sqlite3_column_double(s, c + 8);
	r->body_size = sqlite3_column_int64(s, c + 9);
	r->lateness_us = sqlite3_column_int64(s, c + 10);
	v = sqlite3_column_text(s, c + 11);
	if (v == NULL) {
		memcpy(r->verdict, "ok", 3);
		return;
	}
	len = (size_t)sqlite3_column_bytes(s, c + 11);
	if (len >= sizeof(r->verdict))
		len = sizeof(r->verdict) - 1;
	memcpy(r->verdict, v, len);
	r->verdict[len] = '\0';
}

/* ---- open / close ---- */

int
pd_store_pragma_int(struct pd_store *st, const char *sql, int *val, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret = 0, rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		ret = pd_store_db_fail(st, err, sql);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*val = sqlite3_column_int(s, 0);
	else if (rc != SQLITE_DONE)
		ret = pd_store_db_fail(st, err, sql);
out:
	sqlite3_finalize(s);
	return ret;
}

int
pd_store_exec_sql(struct pd_store *st, const char *sql, struct pd_err *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return pd_store_db_fail(st, err, sql);
	return 0;
}

static int
set_wal(struct pd_store *st, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret = 0;
	const char *mode;

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		ret = pd_store_db_fail(st, err, "journal_mode=WAL");
		goto out;
	}
	mode = (const char *)sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0)
		pd_log_warn("store: %s: WAL unavailable (journal_mode=%s); readers may block "
			    "the writer",
			    st->path, mode ? mode : "?");
out:
	sqlite3_finalize(s);
	return ret;
}

static int
migrate(struct pd_store *st, struct pd_err *err)
{
	char sql[64];
	int ret = 0, v = 0;

	/* up to date: no write lock needed (a probectl write opening beside a running daemon
	 * would wait for its batch here with the short open-time busy timeout) */
	if ((ret = pd_store_pragma_int(st, "PRAGMA user_version", &v, err)) != 0)
		return ret;
	if (v >= STORE_SCHEMA_VERSION) {
		st->version = v;
		return 0;
	}
	for (;;) {
		if ((ret = pd_store_exec_sql(st, "BEGIN IMMEDIATE", err)) != 0)
			return ret;
		/* re-read under the write lock: another opener may have migrated */
		if ((ret = pd_store_pragma_int(st, "PRAGMA user_version", &v, err)) != 0)
			goto out;
		if (v >= STORE_SCHEMA_VERSION)
			break;
		if ((ret = pd_store_exec_sql(st, store_migrations[v], err)) != 0)
			goto out;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((ret = pd_store_exec_sql(st, sql, err)) != 0)
			goto out;
		if ((ret = pd_store_exec_sql(st, "COMMIT", err)) != 0)
			goto out;
		pd_log_info("store: %s: schema migrated to v%d", st->path, v + 1);
	}
	ret = pd_store_exec_sql(st, "COMMIT", err);
	st->version = v;
out:
	if (ret != 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* ---- why a database path cannot be opened ----
 *
 * SQLite says "unable to open database file" or "disk I/O error" whatever the cause.
 * When opening fails, store_explain() looks at the path the way this process sees it
 * (effective uid) and names the cause and the way out. It runs only after a failure,
 * so an ACL or a capability that lets SQLite in is never second-guessed. */

#define STORE_WAYOUT "--db PATH or store.path in probes.yaml"

/* "uid 1000 (alice)" for messages: who this process is. */
static void
store_whoami(char *out, size_t cap)
{
	uid_t uid = geteuid();
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(out, cap, "uid %u (%s)", (unsigned)uid, pw->pw_name);
	else
		snprintf(out, cap, "uid %u", (unsigned)uid);
}

/* dir gets the directory part of path ("." or "/" when it has none). */
static void
store_dirname(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		snprintf(dir, cap, ".");
		return;
	}
	while (slash > path && slash[-1] == '/')
		slash--;
	n = slash == path ? 1 : (size_t)(slash - path);
	snprintf(dir, cap, "%.*s", (int)(n < cap ? n : cap - 1), path);
}

/* For ENOTDIR: the first leading part of path that exists and is not a directory. */
static int
store_notdir(const char *path, char *part, size_t cap)
{
	struct stat sb;

	for (const char *p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		snprintf(part, cap, "%.*s", (int)(p - path), path);
		if (stat(part, &sb) == 0 && !S_ISDIR(sb.st_mode))
			return 1;
	}
	return 0;
}

/* Explain why path cannot be opened (for writing unless readonly) into err. Returns the
 * error code when a cause was found, 0 when the path looks fine (SQLite's own words
 * then stand). */
static int
store_explain(const char *path, int readonly, struct pd_err *err)
{
	char who[96], dir[PATH_MAX], part[PATH_MAX];
	struct stat sb;
	int mode = readonly ? R_OK : R_OK | W_OK;

	store_whoami(who, sizeof(who));
	store_dirname(path, dir, sizeof(dir));
	if (stat(path, &sb) != 0) {
		if (errno == ENOTDIR && store_notdir(path, part, sizeof(part)))
			return pd_err_set(err, PD_ERR_IO,
					  "%s: %s is a file, not a directory; use "
					  "another path: " STORE_WAYOUT,
					  path, part);
		if (errno == EACCES)
			return pd_err_set(
				err, PD_ERR_IO,
				"%s: permission denied: %s may not enter a "
				"directory of this path; run as root or as the service, or use " STORE_WAYOUT,
				path, who);
		if (errno != ENOENT || readonly)
			return 0;
		if (stat(dir, &sb) != 0 && errno == ENOENT)
			return pd_err_set(
				err, PD_ERR_IO,
				"%s: directory %s does not exist (systemd "
				"makes it for probed.service); create it, or use " STORE_WAYOUT,
				path, dir);
		if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
			return pd_err_set(err, PD_ERR_IO,
					  "%s: %s is a file, not a directory; use "
					  "another path: " STORE_WAYOUT,
					  path, dir);
	} else if (S_ISDIR(sb.st_mode)) {
		return pd_err_set(err, PD_ERR_IO,
				  "%s is a directory: name the database file "
				  "itself, e.g. --db %s%sprobed.db (or store.path in probes.yaml)",
				  path, path, path[strlen(path) - 1] == '/' ? "" : "/");
	} else if (faccessat(AT_FDCWD, path, mode, AT_EACCESS) != 0) {
		if (errno == EROFS)
			return pd_err_set(err, PD_ERR_IO,
					  "%s: read-only file system; use a file on a "
					  "writable one: " STORE_WAYOUT,
					  path);
		if (errno == EACCES)
			return pd_err_set(
				err, PD_ERR_IO,
				"%s: permission denied: %s may not %s it "
				"(owner uid %u, mode %03o); run as root or as the service, or use " STORE_WAYOUT,
				path, who, readonly ? "read" : "write", (unsigned)sb.st_uid,
				(unsigned)(sb.st_mode & 0777));
		return 0;
	} else if (readonly) {
		return 0;
	}
	/* a writer creates the file, and SQLite its -wal and -shm files, in dir */
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
		if (errno == EROFS)
			return pd_err_set(err, PD_ERR_IO,
					  "%s: %s is on a read-only file system; use "
					  "a file on a writable one: " STORE_WAYOUT,
					  path, dir);
		if (errno == EACCES && stat(dir, &sb) == 0)
			return pd_err_set(
				err, PD_ERR_IO,
				"%s: permission denied: %s may not write in "
				"directory %s (owner uid %u, mode %03o); run as root or as "
				"the service, or use " STORE_WAYOUT,
				path, who, dir, (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 0777));
	}
	return 0;
}

int
pd_store_open(const char *path, int readonly, struct pd_store **out, struct pd_err *err)
{
	struct pd_store *st = NULL;
	struct stat sb;
	int ret = 0, flags, v = 0;

	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return pd_err_set(err, PD_ERR_INVALID, "no database path");
	if ((ret = stmt_tables_check(err)) != 0)
		return ret;
	if (readonly && stat(path, &sb) != 0) {
		if (errno == ENOENT)
			return pd_err_set(err, PD_ERR_NOTFOUND,
					  "no database at %s (has probed run?)", path);
		ret = pd_err_set(err, PD_ERR_IO, "%s: %s", path, strerror(errno));
		return store_explain(path, readonly, err) ? PD_ERR_IO : ret;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->path = strdup(path)) == NULL) {
		ret = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		goto out;
	}
	st->readonly = readonly ? 1 : 0;
	flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (st->db == NULL)
			ret = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		else if (sqlite3_system_errno(st->db) != 0) /* what the OS said, at least */
			ret = pd_err_set(err, PD_ERR_DB, "%s: open: %s (%s)", path,
					 sqlite3_errmsg(st->db),
					 strerror(sqlite3_system_errno(st->db)));
		else
			ret = pd_store_db_fail(st, err, "open");
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	if ((ret = pd_store_agg_register(st, err)) != 0) /* before migrate (v3 uses them) */
		goto out;
	if (!readonly) {
		if ((ret = set_wal(st, err)) != 0 ||
		    (ret = pd_store_exec_sql(st, "PRAGMA synchronous=NORMAL", err)) != 0 ||
		    /* the file shrinks back when the WAL restarts after a full checkpoint */
		    (ret = pd_store_exec_sql(st, "PRAGMA journal_size_limit=67108864", err)) != 0)
			goto out;
	}
	if ((ret = pd_store_exec_sql(st, "PRAGMA foreign_keys=ON", err)) != 0 ||
	    (ret = pd_store_pragma_int(st, "PRAGMA user_version", &v, err)) != 0)
		goto out;
	if (v > STORE_SCHEMA_VERSION) {
		ret = pd_err_set(err, PD_ERR_DB,
				 "%s: schema v%d is newer than this build "
				 "understands (v%d); upgrade probed",
				 path, v, STORE_SCHEMA_VERSION);
		goto out;
	}
	if (readonly) {
		if (v == 0) {
			ret = pd_err_set(err, PD_ERR_NOTFOUND,
					 "no database at %s (has probed run?)", path);
			goto out;
		}
		st->version = v;
	} else if ((ret = migrate(st, err)) != 0 || (ret = pd_store_agg_backfill(st, err)) != 0) {
		goto out;
	}
	if (readonly)
		sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	else
		ckpt_start(st);
	*out = st;
	st = NULL;
out:
	/* SQLite's "unable to open database file" / "disk I/O error": say why, if the path
	 * is the reason (a file SQLite cannot read is no path problem: its words stand) */
	if (ret == PD_ERR_DB && store_explain(path, readonly, err) != 0)
		ret = PD_ERR_IO;
	pd_store_free(st);
	return ret;
}

/* Retry every millisecond, up to *ud tries. SQLite's own busy timeout backs off to 100 ms
 * sleeps, and the daemon releases the write lock only between a COMMIT and its next write
 * (a gap of a few ms, about every PD_STORE_COMMIT_MS): probectl's writes starved behind
 * it ("database is locked" after 5 s). */
static int
store_busy_fast(void *ud, int tries)
{
	struct timespec ts = {0, 1000000};

	if (tries >= *(int *)ud)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

void
pd_store_set_busy_ms(struct pd_store *st, int ms)
{
	st->busy_tries = ms;
	sqlite3_busy_handler(st->db, store_busy_fast, &st->busy_tries);
}

void
pd_store_free(struct pd_store *st)
{
	struct pd_err err = {0};

	if (st == NULL)
		return;
	if (st->db != NULL && pd_store_flush(st, &err) != 0)
		pd_log_err("store: final commit failed: %s", err.msg);
	ckpt_stop(st); /* joined before the last connection closes (and checkpoints) */
	for (int i = 0; i < S__COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	sqlite3_close_v2(st->db);
	names_clear(st);
	free(st->path);
	free(st);
}

int
pd_store_schema_version(struct pd_store *st)
{
	return st->version;
}

/* ---- batching ---- */

int
pd_store_flush(struct pd_store *st, struct pd_err *err)
{
	int ret;

	if (st->lost) {
		/* a statement of this batch failed and SQLite rolled the transaction back:
		 * what was written after it is only part of a batch, so it goes too */
		if (st->in_tx && !sqlite3_get_autocommit(st->db))
			pd_store_simple_exec(st, S_ROLLBACK, "rollback", NULL);
		if (st->in_tx)
			pd_store_batch_lost(st);
		st->lost = 0;
		return pd_err_set(err, PD_ERR_DB,
				  "%s: a write of this batch failed; the batch "
				  "was rolled back",
				  st->path);
	}
	if (!st->in_tx)
		return 0;
	if ((ret = pd_store_simple_exec(st, S_COMMIT, "commit", err)) != 0) {
		/* SQLITE_FULL / IOERR: drop the batch, keep the handle usable */
		if (!sqlite3_get_autocommit(st->db))
			pd_store_simple_exec(st, S_ROLLBACK, "rollback", NULL);
		if (st->in_tx)
			pd_store_batch_lost(st);
		st->lost = 0; /* reported here */
		return ret;
	}
	st->in_tx = 0;
	st->pending = 0;
	st->urgent = 0;
	return 0;
}

size_t
pd_store_pending(const struct pd_store *st)
{
	/* a lost batch counts: the next flush must report it */
	return st->pending + (st->lost ? 1 : 0);
}

int64_t
pd_store_commit_wait_ms(size_t pending, int urgent, int64_t opened_ms, int64_t now_ms,
			int64_t max_ms)
{
	if (pending == 0)
		return -1;
	/* a clock that went back (it is monotonic: only a caller's mistake) commits too */
	if (urgent || max_ms <= 0 || now_ms < opened_ms || now_ms - opened_ms >= max_ms)
		return 0;
	return opened_ms + max_ms - now_ms;
}

int64_t
pd_store_batch_wait_ms(const struct pd_store *st, int64_t now_ms, int64_t max_ms)
{
	/* a lost batch (pending counts it) has no open time: report it now */
	return pd_store_commit_wait_ms(pd_store_pending(st), st->urgent || st->lost, st->opened_ms,
				       now_ms, max_ms);
}

/* ---- the checkpoint thread ---- */

static int64_t
ckpt_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One pass, on the thread's own connection: PASSIVE never takes the write lock nor waits
 * for a lock (no busy handler on ckdb), so the writer on the loop is never held up by it.
 * Returns 1 when frames were left (a reader on an old snapshot, or commits that came in
 * meanwhile): the thread comes back soon to catch up. */
static int
ckpt_pass(struct store_ckpt *c, int restart, struct pd_store_ckpt_stats *d)
{
	int64_t t0 = ckpt_now_us(), dt;
	int log = 0, done = 0, rc, left = 0;

	if (restart) {
		/* the WAL is past restart_frames and the writer has just committed (the hook
		 * woke us): the write lock is free until its next batch begins. RESTART
		 * takes it, copies what PASSIVE has not (about one batch), syncs and starts
		 * the WAL over; a BEGIN on the loop meanwhile waits that long (its busy
		 * handler). Without a busy handler here: if the writer or a reader is in the
		 * way, PASSIVE instead and again after the next commit. */
		rc = sqlite3_wal_checkpoint_v2(c->ckdb, NULL, SQLITE_CHECKPOINT_RESTART, &log,
					       &done);
		if (rc == SQLITE_OK) {
			dt = ckpt_now_us() - t0;
			d->checkpoints++;
			d->restarts++;
			d->wal_frames = 0;
			d->wal_backfilled = 0;
			d->total_us += dt;
			if (dt > d->max_us)
				d->max_us = dt;
			return 0;
		}
	}
	rc = sqlite3_wal_checkpoint_v2(c->ckdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	dt = ckpt_now_us() - t0;
	if (rc == SQLITE_OK) {
		d->checkpoints++;
		left = done < log;
		d->wal_frames = log;
		d->wal_backfilled = done;
	} else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
		left = 1; /* another checkpointer (a probectl that is not read-only?) */
	} else {
		d->errors++;
	}
	if (left)
		d->busy++;
	d->total_us += dt;
	if (dt > d->max_us)
		d->max_us = dt;
	return left;
}

static void *
ckpt_main(void *arg)
{
	struct store_ckpt *c = arg;
	int left = 0, restart;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct pd_store_ckpt_stats d;
		struct timespec ts;
		int64_t wait = left ? STORE_CKPT_CATCHUP_MS : c->period_ms;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (wait % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (!c->kick && pthread_cond_timedwait(&c->cv, &c->mu, &ts) != ETIMEDOUT &&
		    !c->kick)
			continue; /* stop, or a new period: look again */
		restart = c->kick && c->restart;
		c->kick = 0;
		c->restart = 0;
		d = c->stats;
		pthread_mutex_unlock(&c->mu);
		left = ckpt_pass(c, restart, &d);
		pthread_mutex_lock(&c->mu);
		c->stats = d;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* SQLite calls this on the writer (the loop) after each commit, in place of its own
 * auto-checkpoint: it only wakes the thread when the WAL has grown to kick_frames. */
static int
ckpt_wal_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
	struct store_ckpt *c = ud;

	(void)db;
	(void)name;
	pthread_mutex_lock(&c->mu);
	if (frames >= c->restart_frames)
		c->restart = 1;
	if ((frames >= c->kick_frames || c->restart) && !c->kick) {
		c->kick = 1;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return SQLITE_OK;
}

/* Start the checkpointer of a writer handle. On failure the handle keeps SQLite's
 * auto-checkpoint (on the loop, as before): slower, never wrong. */
static void
ckpt_start(struct pd_store *st)
{
	struct store_ckpt *c;
	pthread_condattr_t ca;
	struct pd_err err = {0};

	if (!sqlite3_threadsafe() || (c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->period_ms = PD_STORE_CKPT_PERIOD_MS;
	c->kick_frames = PD_STORE_CKPT_FRAMES;
	c->restart_frames = PD_STORE_CKPT_RESTART_FRAMES;
	if (sqlite3_open_v2(st->path, &c->ckdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    /* a connection opens the WAL on its first read; before that a checkpoint on it
	     * is a silent no-op */
	    sqlite3_exec(c->ckdb, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
		    SQLITE_OK) {
		sqlite3_close_v2(c->ckdb);
		free(c);
		goto fail;
	}
	/* the writer's close checkpoints at the end, not this one's */
	sqlite3_db_config(c->ckdb, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		sqlite3_close_v2(c->ckdb);
		free(c);
		goto fail;
	}
	st->ckpt = c;
	/* only now: the thread checkpoints from here on */
	if (pd_store_exec_sql(st, "PRAGMA wal_autocheckpoint=0", &err) != 0)
		pd_log_warn("store: %s", err.msg);
	sqlite3_wal_hook(st->db, ckpt_wal_hook, c); /* after: the pragma clears the hook */
	return;
fail:
	pd_log_warn("store: %s: no checkpoint thread; SQLite checkpoints inside commits", st->path);
}

static void
ckpt_stop(struct pd_store *st)
{
	struct store_ckpt *c = st->ckpt;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	sqlite3_wal_hook(st->db, NULL, NULL);
	sqlite3_close_v2(c->ckdb);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	st->ckpt = NULL;
}

void
pd_store_ckpt_stats(struct pd_store *st, struct pd_store_ckpt_stats *out)
{
	struct store_ckpt *c = st->ckpt;

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	*out = c->stats;
	pthread_mutex_unlock(&c->mu);
}

void
pd_store_ckpt_tune(struct pd_store *st, int64_t period_ms, int64_t kick_frames,
		   int64_t restart_frames)
{
	struct store_ckpt *c = st->ckpt;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->period_ms = period_ms > 0 ? period_ms : 1;
	c->kick_frames = kick_frames;
	c->restart_frames = restart_frames;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}
