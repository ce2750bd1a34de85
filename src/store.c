/* store.c — SQLite persistence: results, aggregates and windows, paging state, incidents,
 * the durable outbox and delivery log, Alertmanager state, shapes, retention.
 *
 * The only file that includes sqlite3.h. One connection per struct pd_store; the
 * daemon holds the single writer, probectl opens read-only handles. WAL mode gives
 * readers a snapshot of the last commit without ever taking the write lock.
 *
 * Batching: every write goes through tx_begin(), which opens BEGIN IMMEDIATE
 * on the first write after a flush; pd_store_flush() commits. A failed statement or
 * COMMIT that SQLite rolled back (SQLITE_FULL, IOERR, ...) is detected with
 * sqlite3_get_autocommit() and the handle is reset to "no batch" so it stays usable.
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

#define STORE_NAME_MAX 127     /* probe names: at most 127 bytes */
/* How long a write waits for another process's lock. Short: probed is the only regular
 * writer, the wait runs on the event loop, and a lock held longer is handled as a failed
 * commit (the state is rebuilt from the database and the events go out later). */
#define STORE_BUSY_MS 200

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
	"  verdict TEXT,"                       /* NULL = "ok" */
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
	"  dedup_key TEXT"                      /* NULL = no current outage */
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
	 * baselines; see "per-minute aggregates" below). Filled from the results already
	 * stored by agg_backfill() when a writer opens the file. */
	"CREATE TABLE agg_minute ("
	"  probe_id INTEGER NOT NULL REFERENCES probes(id),"
	"  minute INTEGER NOT NULL,"            /* floor(ts_ms / 60000), UTC */
	"  n INTEGER NOT NULL,"                 /* results */
	"  failures INTEGER NOT NULL,"          /* outcome <> 0 */
	"  by_class BLOB,"                      /* failures per outcome; NULL = none */
	"  n_lat INTEGER NOT NULL,"             /* results with total_ms >= 0 */
	"  sum_ms REAL NOT NULL,"
	"  min_ms REAL,"
	"  max_ms REAL,"
	"  hist BLOB,"                          /* latency histogram; NULL = no latency */
	"  PRIMARY KEY (probe_id, minute)"
	") WITHOUT ROWID;"
	"CREATE TABLE agg_hour ("                /* the same per UTC hour (floor(minute/60)) */
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
	"  ends_ms INTEGER NOT NULL DEFAULT 0,"     /* 0 = firing */
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
	"  created_ms INTEGER NOT NULL,"        /* when the row was queued */
	"  delivered_ms INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL,"          /* including the accepted one */
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
	"  probe TEXT NOT NULL DEFAULT '',"      /* '' when by family */
	"  family TEXT NOT NULL DEFAULT '',"     /* '' when by probe */
	"  reason TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  until_ms INTEGER NOT NULL,"
	"  expired_ms INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX silences_until ON silences(until_ms);",
};
#define STORE_SCHEMA_VERSION ((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

/* ---- prepared statements (prepared lazily, once, kept for the handle's life) ---- */
#define RESULT_COLS "ts_ms, outcome, http_status, curl_code, dns_ms, connect_ms, tls_ms, " \
		    "ttfb_ms, total_ms, body_size, lateness_us, verdict"
/* the aggregate of a set of results rows (agg_minute's columns after the key) */
#define AGG_COLS "probe_id, minute, n, failures, by_class, n_lat, sum_ms, min_ms, max_ms, hist"
#define AGG_EXPRS "count(*), sum(outcome <> 0), " \
	"pd_agg_counts(CASE WHEN outcome BETWEEN 1 AND 255 THEN outcome " \
	"WHEN outcome <> 0 THEN 15 END), count(CASE WHEN total_ms >= 0 THEN 1 END), " \
	"coalesce(sum(CASE WHEN total_ms >= 0 THEN total_ms END), 0), " \
	"min(CASE WHEN total_ms >= 0 THEN total_ms END), " \
	"max(CASE WHEN total_ms >= 0 THEN total_ms END), pd_agg_counts(pd_lat_bucket(total_ms))"
#define AGGH_COLS "probe_id, hour, n, failures, by_class, n_lat, sum_ms, min_ms, max_ms, hist"
#define AGGH_EXPRS "sum(n), sum(failures), pd_agg_merge(by_class), sum(n_lat), sum(sum_ms), " \
	"min(min_ms), max(max_ms), pd_agg_merge(hist)"
#define OUTBOX_COLS "id, target, dedup_key, event, payload, created_ms, next_at_ms, " \
		    "attempts, last_error, dead"
/* the oldest live row of each target: the only row of a target that may be sent */
#define OUTBOX_HEADS "SELECT min(id) FROM outbox WHERE dead = 0 GROUP BY target"

enum stmt_id {
	S_BEGIN_WRITE,
	S_BEGIN_READ,
	S_COMMIT,
	S_ROLLBACK,
	S_PROBE_GET,
	S_PROBE_ADD,
	S_RES_LASTKEY,
	S_RES_NEXTSEQ,
	S_RES_ADD,
	S_RES_LAST,
	S_RES_RANGE,
	S_RES_STATS,
	S_STATE_SAVE,
	S_STATE_LOAD,
	S_EVENT_ADD,
	S_EVENT_LASTPAGE,
	S_EVENTS_ALL,
	S_EVENTS_PROBE,
	S_PRUNE_RES,
	S_PRUNE_EV,
	S_OB_ADD,
	S_OB_DUE,
	S_OB_DONE,
	S_OB_RETRY,
	S_OB_DEAD,
	S_OB_STATS,
	S_OB_NEXT,
	S_OB_LIST,
	S_OB_REQUEUE,
	S_STATUS_PROBES,
	S_RES_SERIES,      /* status page series */
	/* per-minute aggregates (classifier windows, baselines) */
	S_AGG_CLOSE,
	S_AGG_RANGE,
	S_AGG_RAW,
	S_PRUNE_AGG,
	S_AGGH_CLOSE,
	S_AGGH_RANGE,
	S_PRUNE_AGGH,
	/* retention of everything else that grows */
	S_PRUNE_SHAPES,
	S_PRUNE_INC_EV,
	S_PRUNE_INC,
	S_PRUNE_DEAD,
	S_PRUNE_DELIV,
	S__COUNT
};

static const char *const stmt_sql[S__COUNT] = {
	[S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[S_BEGIN_READ] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_PROBE_GET] = "SELECT id FROM probes WHERE name = ?1",
	[S_PROBE_ADD] = "INSERT INTO probes(name) VALUES (?1)",
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

/* ---- probe name -> id cache (open addressing, FNV-1a) ---- */
struct name_ent {
	char *name;        /* NULL = empty slot */
	int64_t id;
	int key_known;     /* last_ts/last_seq valid */
	int64_t last_ts;   /* newest result key of this probe */
	int64_t last_seq;
};

struct pd_store {
	sqlite3 *db;
	char *path;
	int readonly;
	int version;
	int in_tx;         /* a write batch is open */
	int lost;          /* a batch was rolled back since the last pd_store_flush() */
	size_t pending;    /* rows written in the open batch */
	sqlite3_stmt *stmts[S__COUNT];
	struct name_ent *names;
	size_t names_cap;  /* power of two, 0 = not allocated */
	size_t names_len;
};

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
	struct name_ent e = { 0 };

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

static void
copy_text(char *dst, size_t cap, const unsigned char *src)
{
	snprintf(dst, cap, "%s", src != NULL ? (const char *)src : "");
}

static void
stmt_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* The batch is gone (rolled back by us or by SQLite): forget it and every cached
 * fact that may have come from it (ids interned in it, newest result keys). */
static void
batch_lost(struct pd_store *st)
{
	if (st->pending > 0)
		pd_log_warn("store: %zu uncommitted row(s) rolled back", st->pending);
	st->in_tx = 0;
	st->pending = 0;
	st->lost = 1; /* the next pd_store_flush() reports it */
	names_clear(st);
}

/* Report the connection's last error; notice an automatic rollback. */
static int
db_fail(struct pd_store *st, struct pd_err *err, const char *what)
{
	int ret = pd_err_set(err, PD_ERR_DB, "%s: %s: %s", st->path, what,
			     sqlite3_errmsg(st->db));

	if (st->in_tx && sqlite3_get_autocommit(st->db))
		batch_lost(st);
	return ret;
}

static sqlite3_stmt *
stmt_get(struct pd_store *st, enum stmt_id id, struct pd_err *err)
{
	if (st->stmts[id] == NULL &&
	    sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
			       &st->stmts[id], NULL) != SQLITE_OK) {
		db_fail(st, err, "prepare");
		st->stmts[id] = NULL;
		return NULL;
	}
	return st->stmts[id];
}

/* Run a statement that returns no rows (or whose rows are ignored). */
static int
stmt_exec(struct pd_store *st, sqlite3_stmt *s, const char *what, struct pd_err *err)
{
	int rc = sqlite3_step(s), ret = 0;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_fail(st, err, what);
	stmt_done(s);
	return ret;
}

static int
simple_exec(struct pd_store *st, enum stmt_id id, const char *what, struct pd_err *err)
{
	sqlite3_stmt *s = stmt_get(st, id, err);

	if (s == NULL)
		return PD_ERR_DB;
	return stmt_exec(st, s, what, err);
}

static void
bind_text_or_null(sqlite3_stmt *s, int idx, const char *v)
{
	if (v == NULL || v[0] == '\0')
		sqlite3_bind_null(s, idx);
	else
		sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT);
}

static int
check_writable(struct pd_store *st, struct pd_err *err)
{
	if (st->readonly)
		return pd_err_set(err, PD_ERR_INVALID, "%s: store opened read-only", st->path);
	return 0;
}

/* Open the write batch if none is open. */
static int
tx_begin(struct pd_store *st, struct pd_err *err)
{
	int ret;

	if ((ret = check_writable(st, err)) != 0)
		return ret;
	if (st->in_tx)
		return 0;
	if ((ret = simple_exec(st, S_BEGIN_WRITE, "begin", err)) != 0) {
		/* the write that wanted this batch is dropped: the caller's state may already
		 * have moved on it, so the next flush must report a lost batch */
		st->lost = 1;
		return ret;
	}
	st->in_tx = 1;
	st->pending = 0;
	return 0;
}

/* Read snapshot for multi-statement queries: inside an open batch the batch is the
 * snapshot; otherwise a deferred (read) transaction, which in WAL never blocks the
 * writer. *opened tells read_end whether to close it. */
static int
read_begin(struct pd_store *st, int *opened, struct pd_err *err)
{
	*opened = 0;
	if (st->in_tx || !sqlite3_get_autocommit(st->db))
		return 0;
	if (simple_exec(st, S_BEGIN_READ, "begin read", err) != 0)
		return PD_ERR_DB;
	*opened = 1;
	return 0;
}

static void
read_end(struct pd_store *st, int opened)
{
	if (opened && !sqlite3_get_autocommit(st->db))
		simple_exec(st, S_COMMIT, "end read", NULL);
}

static int
check_name(struct pd_store *st, const char *probe, struct pd_err *err)
{
	size_t len;

	if (probe == NULL || (len = strlen(probe)) == 0)
		return pd_err_set(err, PD_ERR_INVALID, "%s: empty probe name", st->path);
	if (len > STORE_NAME_MAX)
		return pd_err_set(err, PD_ERR_INVALID, "%s: probe name longer than %d bytes",
				  st->path, STORE_NAME_MAX);
	return 0;
}

/* Resolve a probe name to its id, from the cache or the probes table; with create
 * (batch open) intern it. PD_ERR_NOTFOUND when unknown and !create. */
static int
probe_lookup(struct pd_store *st, const char *probe, int create, struct name_ent **out,
	     struct pd_err *err)
{
	struct name_ent *e;
	sqlite3_stmt *s;
	int64_t id = 0;
	int rc, ret;

	if ((ret = check_name(st, probe, err)) != 0)
		return ret;
	if ((e = names_find(st, probe)) != NULL) {
		*out = e;
		return 0;
	}
	if ((s = stmt_get(st, S_PROBE_GET, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_text(s, 1, probe, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		ret = db_fail(st, err, "probe lookup");
	stmt_done(s);
	if (ret != 0)
		return ret;
	if (rc == SQLITE_DONE) {
		if (!create)
			return pd_err_set(err, PD_ERR_NOTFOUND, "no probe named \"%s\" in %s",
					  probe, st->path);
		if ((s = stmt_get(st, S_PROBE_ADD, err)) == NULL)
			return PD_ERR_DB;
		sqlite3_bind_text(s, 1, probe, -1, SQLITE_STATIC);
		if ((ret = stmt_exec(st, s, "add probe", err)) != 0)
			return ret;
		id = sqlite3_last_insert_rowid(st->db);
	}
	if ((e = names_add(st, probe, id)) == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	*out = e;
	return 0;
}

static void
result_from_row(sqlite3_stmt *s, int c, struct pd_result *r)
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
static int
agg_register(struct pd_store *st, struct pd_err *err)
{
	const int fl = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;

	if (sqlite3_create_function_v2(st->db, "pd_lat_bucket", 1, fl, NULL, agg_fn_bucket, NULL,
				       NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(st->db, "pd_agg_counts", 1, fl, NULL, NULL,
				       agg_fn_counts_step, agg_fn_counts_final, NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(st->db, "pd_agg_merge", 1, fl, NULL, NULL,
				       agg_fn_merge_step, agg_fn_counts_final, NULL) != SQLITE_OK)
		return db_fail(st, err, "register aggregate functions");
	return 0;
}

/* (Re)compute minute m of probe id from its results (inside the open batch). */
static int
agg_close(struct pd_store *st, int64_t probe_id, int64_t m, struct pd_err *err)
{
	sqlite3_stmt *s;

	if ((s = stmt_get(st, S_AGG_CLOSE, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, probe_id);
	sqlite3_bind_int64(s, 2, m);
	sqlite3_bind_int64(s, 3, m * AGG_MINUTE_MS);
	sqlite3_bind_int64(s, 4, (m + 1) * AGG_MINUTE_MS);
	return stmt_exec(st, s, "aggregate minute", err);
}

/* (Re)compute hour h of probe id from its minute rows (inside the open batch). */
static int
agg_close_hour(struct pd_store *st, int64_t probe_id, int64_t h, struct pd_err *err)
{
	sqlite3_stmt *s;

	if ((s = stmt_get(st, S_AGGH_CLOSE, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, probe_id);
	sqlite3_bind_int64(s, 2, h);
	return stmt_exec(st, s, "aggregate hour", err);
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
		if ((s = stmt_get(st, sid[i], err)) == NULL)
			return PD_ERR_DB;
		sqlite3_bind_int64(s, 1, floor_div(cutoff_ms, unit[i]));
		sqlite3_bind_int64(s, 2, budget - done);
		if ((ret = stmt_exec(st, s, "prune aggregates", err)) != 0)
			return ret;
		done += sqlite3_changes64(st->db);
	}
	*n += done;
	return 0;
}

/* ---- open / close ---- */

static int
pragma_int(struct pd_store *st, const char *sql, int *val, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret = 0, rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		ret = db_fail(st, err, sql);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*val = sqlite3_column_int(s, 0);
	else if (rc != SQLITE_DONE)
		ret = db_fail(st, err, sql);
out:
	sqlite3_finalize(s);
	return ret;
}

static int
exec_sql(struct pd_store *st, const char *sql, struct pd_err *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(st, err, sql);
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
		ret = db_fail(st, err, "journal_mode=WAL");
		goto out;
	}
	mode = (const char *)sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0)
		pd_log_warn("store: %s: WAL unavailable (journal_mode=%s); readers may block "
			    "the writer", st->path, mode ? mode : "?");
out:
	sqlite3_finalize(s);
	return ret;
}

static int
migrate(struct pd_store *st, struct pd_err *err)
{
	char sql[64];
	int ret = 0, v = 0;

	for (;;) {
		if ((ret = exec_sql(st, "BEGIN IMMEDIATE", err)) != 0)
			return ret;
		/* re-read under the write lock: another opener may have migrated */
		if ((ret = pragma_int(st, "PRAGMA user_version", &v, err)) != 0)
			goto out;
		if (v >= STORE_SCHEMA_VERSION)
			break;
		if ((ret = exec_sql(st, store_migrations[v], err)) != 0)
			goto out;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((ret = exec_sql(st, sql, err)) != 0)
			goto out;
		if ((ret = exec_sql(st, "COMMIT", err)) != 0)
			goto out;
		pd_log_info("store: %s: schema migrated to v%d", st->path, v + 1);
	}
	ret = exec_sql(st, "COMMIT", err);
	st->version = v;
out:
	if (ret != 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
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
static int
agg_backfill(struct pd_store *st, struct pd_err *err)
{
	int has_agg = 0, has_res = 0, ret;
	int64_t t0 = pd_clock_mono_ms();

	if ((ret = pragma_int(st, "SELECT EXISTS (SELECT 1 FROM agg_minute)", &has_agg,
			      err)) != 0 || has_agg ||
	    (ret = pragma_int(st, "SELECT EXISTS (SELECT 1 FROM results)", &has_res, err)) != 0 ||
	    !has_res)
		return ret;
	if ((ret = exec_sql(st, "BEGIN IMMEDIATE", err)) != 0)
		return ret;
	if ((ret = pragma_int(st, "SELECT EXISTS (SELECT 1 FROM agg_minute)", &has_agg,
			      err)) != 0)
		goto out;
	if (!has_agg && ((ret = exec_sql(st, "DELETE FROM agg_hour", err)) != 0 ||
			 (ret = exec_sql(st, agg_backfill_sql, err)) != 0 ||
			 (ret = exec_sql(st, agg_backfill_hours_sql, err)) != 0))
		goto out;
	ret = exec_sql(st, "COMMIT", err);
	if (ret == 0 && !has_agg)
		pd_log_info("store: %s: per-minute aggregates built from the stored results "
			    "(%" PRId64 " ms)", st->path, pd_clock_mono_ms() - t0);
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
			return pd_err_set(err, PD_ERR_IO, "%s: %s is a file, not a directory; use "
					  "another path: " STORE_WAYOUT, path, part);
		if (errno == EACCES)
			return pd_err_set(err, PD_ERR_IO, "%s: permission denied: %s may not enter a "
					  "directory of this path; run as root or as the service, or use "
					  STORE_WAYOUT, path, who);
		if (errno != ENOENT || readonly)
			return 0;
		if (stat(dir, &sb) != 0 && errno == ENOENT)
			return pd_err_set(err, PD_ERR_IO, "%s: directory %s does not exist (systemd "
					  "makes it for probed.service); create it, or use "
					  STORE_WAYOUT, path, dir);
		if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
			return pd_err_set(err, PD_ERR_IO, "%s: %s is a file, not a directory; use "
					  "another path: " STORE_WAYOUT, path, dir);
	} else if (S_ISDIR(sb.st_mode)) {
		return pd_err_set(err, PD_ERR_IO, "%s is a directory: name the database file "
				  "itself, e.g. --db %s%sprobed.db (or store.path in probes.yaml)",
				  path, path, path[strlen(path) - 1] == '/' ? "" : "/");
	} else if (faccessat(AT_FDCWD, path, mode, AT_EACCESS) != 0) {
		if (errno == EROFS)
			return pd_err_set(err, PD_ERR_IO, "%s: read-only file system; use a file on a "
					  "writable one: " STORE_WAYOUT, path);
		if (errno == EACCES)
			return pd_err_set(err, PD_ERR_IO, "%s: permission denied: %s may not %s it "
					  "(owner uid %u, mode %03o); run as root or as the service, or use "
					  STORE_WAYOUT, path, who,
					  readonly ? "read" : "write", (unsigned)sb.st_uid,
					  (unsigned)(sb.st_mode & 0777));
		return 0;
	} else if (readonly) {
		return 0;
	}
	/* a writer creates the file, and SQLite its -wal and -shm files, in dir */
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
		if (errno == EROFS)
			return pd_err_set(err, PD_ERR_IO, "%s: %s is on a read-only file system; use "
					  "a file on a writable one: " STORE_WAYOUT, path, dir);
		if (errno == EACCES && stat(dir, &sb) == 0)
			return pd_err_set(err, PD_ERR_IO, "%s: permission denied: %s may not write in "
					  "directory %s (owner uid %u, mode %03o); run as root or as "
					  "the service, or use " STORE_WAYOUT, path, who, dir,
					  (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 0777));
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
		else if (sqlite3_system_errno(st->db) != 0)   /* what the OS said, at least */
			ret = pd_err_set(err, PD_ERR_DB, "%s: open: %s (%s)", path,
					 sqlite3_errmsg(st->db),
					 strerror(sqlite3_system_errno(st->db)));
		else
			ret = db_fail(st, err, "open");
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	if ((ret = agg_register(st, err)) != 0)   /* before migrate (v3 uses them) */
		goto out;
	if (!readonly) {
		if ((ret = set_wal(st, err)) != 0 ||
		    (ret = exec_sql(st, "PRAGMA synchronous=NORMAL", err)) != 0)
			goto out;
	}
	if ((ret = exec_sql(st, "PRAGMA foreign_keys=ON", err)) != 0 ||
	    (ret = pragma_int(st, "PRAGMA user_version", &v, err)) != 0)
		goto out;
	if (v > STORE_SCHEMA_VERSION) {
		ret = pd_err_set(err, PD_ERR_DB, "%s: schema v%d is newer than this build "
				 "understands (v%d); upgrade probed", path, v,
				 STORE_SCHEMA_VERSION);
		goto out;
	}
	if (readonly) {
		if (v == 0) {
			ret = pd_err_set(err, PD_ERR_NOTFOUND,
					 "no database at %s (has probed run?)", path);
			goto out;
		}
		st->version = v;
	} else if ((ret = migrate(st, err)) != 0 ||
		   (ret = agg_backfill(st, err)) != 0) {
		goto out;
	}
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

void
pd_store_free(struct pd_store *st)
{
	struct pd_err err = { 0 };

	if (st == NULL)
		return;
	if (st->db != NULL && pd_store_flush(st, &err) != 0)
		pd_log_err("store: final commit failed: %s", err.msg);
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
			simple_exec(st, S_ROLLBACK, "rollback", NULL);
		if (st->in_tx)
			batch_lost(st);
		st->lost = 0;
		return pd_err_set(err, PD_ERR_DB, "%s: a write of this batch failed; the batch "
				  "was rolled back", st->path);
	}
	if (!st->in_tx)
		return 0;
	if ((ret = simple_exec(st, S_COMMIT, "commit", err)) != 0) {
		/* SQLITE_FULL / IOERR: drop the batch, keep the handle usable */
		if (!sqlite3_get_autocommit(st->db))
			simple_exec(st, S_ROLLBACK, "rollback", NULL);
		if (st->in_tx)
			batch_lost(st);
		st->lost = 0; /* reported here */
		return ret;
	}
	st->in_tx = 0;
	st->pending = 0;
	return 0;
}

size_t
pd_store_pending(const struct pd_store *st)
{
	/* a lost batch counts: the next flush must report it */
	return st->pending + (st->lost ? 1 : 0);
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
		if ((s = stmt_get(st, S_RES_LASTKEY, err)) == NULL)
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
			ret = db_fail(st, err, "last result key");
		}
		stmt_done(s);
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
	if ((s = stmt_get(st, S_RES_NEXTSEQ, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, e->id);
	sqlite3_bind_int64(s, 2, ts);
	if (sqlite3_step(s) == SQLITE_ROW)
		*seq = sqlite3_column_int64(s, 0);
	else
		ret = db_fail(st, err, "result seq");
	stmt_done(s);
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

	if ((ret = check_name(st, probe, err)) != 0 || (ret = tx_begin(st, err)) != 0 ||
	    (ret = probe_lookup(st, probe, 1, &e, err)) != 0 ||
	    (ret = result_seq(st, e, r->ts_ms, &seq, err)) != 0)
		return ret;
	prev_ts = e->last_ts;   /* newest result before this one (result_seq knows) */
	if ((s = stmt_get(st, S_RES_ADD, err)) == NULL)
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
			stmt_done(s);
			e->key_known = 1;
			e->last_ts = INT64_MAX;
			if ((ret = result_seq(st, e, r->ts_ms, &seq, err)) != 0)
				return ret;
			e->key_known = 0;
			continue;
		}
		ret = db_fail(st, err, "add result");
		stmt_done(s);
		return ret;
	}
	stmt_done(s);
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

	if ((ret = check_name(st, probe, err)) != 0 || (ret = tx_begin(st, err)) != 0 ||
	    (ret = probe_lookup(st, probe, 1, &e, err)) != 0)
		return ret;
	if ((s = stmt_get(st, S_STATE_SAVE, err)) == NULL)
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
	if ((ret = stmt_exec(st, s, "save state", err)) != 0)
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
	if ((probe != NULL && (ret = check_name(st, probe, err)) != 0) ||
	    (ret = tx_begin(st, err)) != 0 ||
	    (probe != NULL && (ret = probe_lookup(st, probe, 1, &e, err)) != 0))
		return ret;
	if ((s = stmt_get(st, S_EVENT_ADD, err)) == NULL)
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
	if ((ret = stmt_exec(st, s, "add event", err)) != 0)
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

	if ((s = stmt_get(st, S_STATE_LOAD, err)) == NULL)
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
		copy_text(es->dedup_key, sizeof(es->dedup_key), sqlite3_column_text(s, 8));
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = db_fail(st, err, "load state");
	}
	stmt_done(s);
	return ret;
}

int
pd_store_load_state(struct pd_store *st, const char *probe, struct pd_eval_state *es,
		    struct pd_err *err)
{
	struct pd_eval_state tmp;
	struct name_ent *e;
	int ret;

	if ((ret = probe_lookup(st, probe, 0, &e, err)) != 0)
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
	if ((ret = check_writable(st, err)) != 0)
		return ret;
	if (max_rows <= 0)
		return 0;
	if ((ret = pd_store_flush(st, err)) != 0 || (ret = tx_begin(st, err)) != 0)
		return ret;
	/* results first; events get what is left of the budget */
	if ((s = stmt_get(st, S_PRUNE_RES, err)) == NULL) {
		ret = PD_ERR_DB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, cutoff_ms);
	sqlite3_bind_int(s, 2, max_rows);
	if ((ret = stmt_exec(st, s, "prune results", err)) != 0)
		goto out;
	n = sqlite3_changes64(st->db);
	/* then the per-minute aggregates of minutes that ended by the cutoff */
	if (n < max_rows && (ret = agg_prune(st, cutoff_ms, max_rows - n, &n, err)) != 0)
		goto out;
	if (n < max_rows) {
		if ((s = stmt_get(st, S_PRUNE_EV, err)) == NULL) {
			ret = PD_ERR_DB;
			goto out;
		}
		sqlite3_bind_int64(s, 1, cutoff_ms);
		sqlite3_bind_int64(s, 2, max_rows - n);
		if ((ret = stmt_exec(st, s, "prune events", err)) != 0)
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
			simple_exec(st, S_ROLLBACK, "rollback", NULL);
		batch_lost(st);
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
	if ((ret = check_writable(st, err)) != 0)
		return ret;
	if (max_rows <= 0)
		return 0;
	if ((ret = pd_store_flush(st, err)) != 0 || (ret = tx_begin(st, err)) != 0)
		return ret;
	for (size_t i = 0; i < sizeof(sid) / sizeof(sid[0]) && n < max_rows; i++) {
		if ((s = stmt_get(st, sid[i], err)) == NULL) {
			ret = PD_ERR_DB;
			goto out;
		}
		sqlite3_bind_int64(s, 1, sid[i] == S_PRUNE_INC_EV || sid[i] == S_PRUNE_INC ?
				   incident_cutoff_ms : cutoff_ms);
		sqlite3_bind_int64(s, 2, max_rows - n);
		if ((ret = stmt_exec(st, s, what[i], err)) != 0)
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
			simple_exec(st, S_ROLLBACK, "rollback", NULL);
		batch_lost(st);
	}
	return ret;
}

/* ---- outbox ---- */

void
pd_outbox_row_cleanup(struct pd_outbox_row *r)
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

	if (target == NULL || target[0] == '\0' || strlen(target) >= 64 ||
	    dedup_key == NULL || strlen(dedup_key) >= 128 ||
	    event == NULL || event[0] == '\0' || strlen(event) >= 16 || payload == NULL)
		return pd_err_set(err, PD_ERR_INVALID, "outbox: bad target, dedup_key or event");
	if ((ret = tx_begin(st, err)) != 0)
		return ret;
	if ((s = stmt_get(st, S_OB_ADD, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_text(s, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, dedup_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, payload, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, now_ms);
	if ((ret = stmt_exec(st, s, "outbox add", err)) != 0)
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
	copy_text(r->target, sizeof(r->target), sqlite3_column_text(s, 1));
	copy_text(r->dedup_key, sizeof(r->dedup_key), sqlite3_column_text(s, 2));
	copy_text(r->event, sizeof(r->event), sqlite3_column_text(s, 3));
	r->payload = strdup(p != NULL ? (const char *)p : "");
	if (r->payload == NULL)
		return -1;
	r->created_ms = sqlite3_column_int64(s, 5);
	r->next_at_ms = sqlite3_column_int64(s, 6);
	r->attempts = sqlite3_column_int(s, 7);
	copy_text(r->last_error, sizeof(r->last_error), sqlite3_column_text(s, 8));
	r->dead = sqlite3_column_int(s, 9);
	return 0;
}

int
pd_store_outbox_list(struct pd_store *st, pd_store_outbox_fn fn, void *ud, struct pd_err *err)
{
	struct pd_outbox_row r;
	sqlite3_stmt *s;
	int rc, ret = 0;

	if ((s = stmt_get(st, S_OB_LIST, err)) == NULL)
		return PD_ERR_DB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (outbox_row_read(s, &r) != 0) {
			ret = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
			break;
		}
		ret = fn(ud, &r);
		pd_outbox_row_cleanup(&r);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_fail(st, err, "outbox list");
	stmt_done(s);
	return ret;
}

int
pd_store_outbox_requeue(struct pd_store *st, int64_t id, int64_t now_ms, int *n,
			struct pd_err *err)
{
	sqlite3_stmt *s;
	int ret;

	*n = 0;
	if ((ret = tx_begin(st, err)) != 0)
		return ret;
	if ((s = stmt_get(st, S_OB_REQUEUE, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now_ms);
	if ((ret = stmt_exec(st, s, "outbox requeue", err)) == 0)
		*n = sqlite3_changes(st->db);
	return ret;
}

int
pd_store_outbox_due(struct pd_store *st, int64_t now_ms, struct pd_outbox_row *rows,
		    size_t max, size_t *n, struct pd_err *err)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	*n = 0;
	if (max == 0)
		return 0;
	if ((s = stmt_get(st, S_OB_DUE, err)) == NULL)
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
		ret = db_fail(st, err, "outbox due");
	stmt_done(s);
	if (ret != 0) {
		for (size_t i = 0; i < *n; i++)
			pd_outbox_row_cleanup(&rows[i]);
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

	if ((ret = tx_begin(st, err)) != 0)
		return ret;
	if ((s = stmt_get(st, sid, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, id);
	/* stored truncated like the struct field, so what is read back is what was kept */
	snprintf(msg, sizeof(msg), "%s", last_error != NULL ? last_error : "");
	if (sid == S_OB_RETRY) {
		sqlite3_bind_int64(s, 2, next_at_ms);
		bind_text_or_null(s, 3, msg);
	} else if (sid == S_OB_DEAD) {
		bind_text_or_null(s, 2, msg);
	}
	if ((ret = stmt_exec(st, s, "outbox update", err)) != 0)
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
pd_store_outbox_retry(struct pd_store *st, int64_t id, int64_t next_at_ms,
		      const char *last_error, struct pd_err *err)
{
	return outbox_update(st, S_OB_RETRY, id, next_at_ms, last_error, err);
}

int
pd_store_outbox_dead(struct pd_store *st, int64_t id, const char *last_error,
		     struct pd_err *err)
{
	return outbox_update(st, S_OB_DEAD, id, 0, last_error, err);
}

int
pd_store_outbox_stats(struct pd_store *st, int64_t now_ms, int64_t *depth,
		      int64_t *oldest_age_ms, int64_t *dead, struct pd_err *err)
{
	sqlite3_stmt *s;
	int ret = 0;

	*depth = 0;
	*oldest_age_ms = 0;
	*dead = 0;
	if ((s = stmt_get(st, S_OB_STATS, err)) == NULL)
		return PD_ERR_DB;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*depth = sqlite3_column_int64(s, 0);
		if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
			int64_t age = now_ms - sqlite3_column_int64(s, 1);

			*oldest_age_ms = age > 0 ? age : 0;
		}
		*dead = sqlite3_column_int64(s, 2);
	} else {
		ret = db_fail(st, err, "outbox stats");
	}
	stmt_done(s);
	return ret;
}

int
pd_store_outbox_next_due(struct pd_store *st, int64_t *next_at_ms, struct pd_err *err)
{
	sqlite3_stmt *s;
	int ret = 0;

	*next_at_ms = 0;
	if ((s = stmt_get(st, S_OB_NEXT, err)) == NULL)
		return PD_ERR_DB;
	if (sqlite3_step(s) == SQLITE_ROW)
		*next_at_ms = sqlite3_column_int64(s, 0); /* NULL -> 0 */
	else
		ret = db_fail(st, err, "outbox next due");
	stmt_done(s);
	return ret;
}

/* ---- queries ---- */

static int
status_one(struct pd_store *st, int64_t id, struct pd_probe_status *ps, struct pd_err *err)
{
	sqlite3_stmt *s;
	int rc, ret;

	/* last result: one seek to the right end of the probe's key range */
	if ((s = stmt_get(st, S_RES_LAST, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		result_from_row(s, 0, &ps->last);
		ps->has_result = 1;
	}
	stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st, err, "last result");

	if ((ret = state_read(st, id, &ps->state, err)) < 0)
		return ret;
	ps->has_state = ret;
	if (ps->has_state)
		ps->last_page_ms = ps->state.last_page_ms;

	/* the event log still knows about pages if the state row was reset */
	if ((s = stmt_get(st, S_EVENT_LASTPAGE, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL &&
	    sqlite3_column_int64(s, 0) > ps->last_page_ms)
		ps->last_page_ms = sqlite3_column_int64(s, 0);
	stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st, err, "last page");
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
	if ((ret = read_begin(st, &opened, err)) != 0)
		return ret;
	if ((s = stmt_get(st, S_STATUS_PROBES, err)) == NULL) {
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
		copy_text(v[len].probe, sizeof(v[len].probe), sqlite3_column_text(s, 1));
		len++;
	}
	if (rc != SQLITE_DONE) {
		ret = db_fail(st, err, "status");
		goto out;
	}
	stmt_done(s);
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
		stmt_done(s);
	read_end(st, opened);
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
	if ((ret = probe_lookup(st, probe, 0, &e, err)) != 0)
		return ret;
	if ((s = stmt_get(st, fn != NULL ? S_RES_RANGE : S_RES_STATS, err)) == NULL)
		return PD_ERR_DB;
	sqlite3_bind_int64(s, 1, e->id);
	sqlite3_bind_int64(s, 2, since_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fn != NULL) {
			result_from_row(s, 0, &r);
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
		ret = db_fail(st, err, "history");
		goto out;
	}
	if (stats != NULL)
		stats_finish(&hs, vals, nvals, stats);
out:
	stmt_done(s);
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
		if ((ret = probe_lookup(st, probe, 0, &e, err)) != 0)
			return ret;
		if ((s = stmt_get(st, S_EVENTS_PROBE, err)) == NULL)
			return PD_ERR_DB;
		sqlite3_bind_int64(s, 1, e->id);
		sqlite3_bind_int64(s, 2, since_ms);
	} else {
		if ((s = stmt_get(st, S_EVENTS_ALL, err)) == NULL)
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
		ret = db_fail(st, err, "events");
out:
	stmt_done(s);
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
	if ((ret = probe_lookup(st, probe, 0, &e, err)) != 0)
		return ret;
	if ((s = stmt_get(st, S_RES_SERIES, err)) == NULL)
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
		ret = db_fail(st, err, "series");
		goto out;
	}
	series_close(&out[cur], vals, cur_from, nvals);
	if (total != NULL)
		stats_finish(&hs, vals, nvals, total);
out:
	stmt_done(s);
	free(vals);
	return ret;
}

/* ---- incidents ------------------------------------------------------------
 * Rare writes (a few per incident), so these statements are prepared per call rather
 * than cached. Writes join the open batch like every other write. */

void
pd_incident_row_cleanup(struct pd_incident_row *r)
{
	free(r->members);
	free(r->notified);
	free(r->status_message);
	r->members = r->notified = r->status_message = NULL;
}

static int
inc_prepare(struct pd_store *st, const char *sql, sqlite3_stmt **s, struct pd_err *err)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) != SQLITE_OK) {
		*s = NULL;
		return db_fail(st, err, "prepare incident statement");
	}
	return 0;
}

static int
inc_step_done(struct pd_store *st, sqlite3_stmt *s, const char *what, struct pd_err *err)
{
	int rc = sqlite3_step(s), ret = 0;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_fail(st, err, what);
	sqlite3_finalize(s);
	if (st->in_tx && sqlite3_get_autocommit(st->db))
		batch_lost(st);
	return ret;
}

int
pd_store_incident_save(struct pd_store *st, struct pd_incident_row *r, struct pd_err *err)
{
	static const char ins[] =
		"INSERT INTO incidents(key, opened_ms, resolved_ms, last_join_ms, severity, mode,"
		" title, reason, evidence, members, notified, status_message, drill)"
		" VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)";
	static const char upd[] =
		"UPDATE incidents SET key=?1, opened_ms=?2, resolved_ms=?3, last_join_ms=?4,"
		" severity=?5, mode=?6, title=?7, reason=?8, evidence=?9, members=?10,"
		" notified=?11, status_message=?12, drill=?13 WHERE id=?14";
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = tx_begin(st, err)) != 0 ||
	    (ret = inc_prepare(st, r->id ? upd : ins, &s, err)) != 0)
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
	if ((ret = inc_step_done(st, s, "save incident", err)) != 0)
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

	if ((ret = tx_begin(st, err)) != 0 ||
	    (ret = inc_prepare(st, "INSERT INTO incident_events(incident_id, ts_ms, kind, detail)"
				   " VALUES(?1,?2,?3,?4)", &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, incident_id);
	sqlite3_bind_int64(s, 2, ts_ms);
	sqlite3_bind_text(s, 3, kind, -1, SQLITE_TRANSIENT);
	bind_text_or_null(s, 4, detail);
	if ((ret = inc_step_done(st, s, "add incident event", err)) != 0)
		return ret;
	st->pending++;
	return 0;
}

static char *
col_dup(sqlite3_stmt *s, int i)
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
	r->members = col_dup(s, 10);
	r->notified = col_dup(s, 11);
	r->status_message = col_dup(s, 12);
	r->drill = sqlite3_column_int(s, 13);
}

#define INC_COLS "id, key, opened_ms, resolved_ms, last_join_ms, severity, mode, title, reason," \
		 " evidence, members, notified, status_message, drill"

int
pd_store_incidents(struct pd_store *st, int open_only, int limit, pd_store_incident_fn fn,
		   void *ud, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	struct pd_incident_row r;
	int ret, rc;

	ret = inc_prepare(st, open_only ? "SELECT " INC_COLS " FROM incidents WHERE resolved_ms = 0"
					  " ORDER BY id DESC LIMIT ?1"
					: "SELECT " INC_COLS " FROM incidents ORDER BY id DESC LIMIT ?1",
			  &s, err);
	if (ret != 0)
		return ret;
	sqlite3_bind_int(s, 1, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		inc_row_read(s, &r);
		ret = fn ? fn(ud, &r) : 0;
		pd_incident_row_cleanup(&r);
		if (ret != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(st, err, "incidents");
out:
	sqlite3_finalize(s);
	return ret;
}

int
pd_store_incident_get(struct pd_store *st, int64_t id, struct pd_incident_row *out,
		      struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret, rc;

	if ((ret = inc_prepare(st, "SELECT " INC_COLS " FROM incidents WHERE id = ?1", &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		inc_row_read(s, out);
	else if (rc == SQLITE_DONE)
		ret = pd_err_set(err, PD_ERR_NOTFOUND, "no incident %lld", (long long)id);
	else
		ret = db_fail(st, err, "incident");
	sqlite3_finalize(s);
	return ret;
}

int
pd_store_incident_events(struct pd_store *st, int64_t id, pd_store_ievent_fn fn, void *ud,
			 struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret, rc;

	if ((ret = inc_prepare(st, "SELECT ts_ms, kind, detail FROM incident_events"
				   " WHERE incident_id = ?1 ORDER BY id", &s, err)) != 0)
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
		ret = db_fail(st, err, "incident events");
out:
	sqlite3_finalize(s);
	return ret;
}

/* ---- Alertmanager re-sends (contract in store.h) ---------------------------
 * A handful of rows per target, touched once per resend_interval: prepared per call,
 * like the incident statements. */

void
pd_am_alert_cleanup(struct pd_am_alert *a)
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

	if ((ret = tx_begin(st, err)) != 0 ||
	    (ret = inc_prepare(st, "UPDATE am_alerts SET ends_ms = ?4 WHERE target = ?1"
				   " AND dedup_key = ?2 AND labels <> ?3 AND ends_ms = 0", &s,
			       err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, a->target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, a->dedup_key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, a->labels, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, now_ms);
	if ((ret = inc_step_done(st, s, "end superseded alerts", err)) != 0)
		return ret;
	if ((ret = inc_prepare(st, "INSERT INTO am_alerts(target, dedup_key, labels, annotations,"
				   " generator_url, starts_ms, ends_ms, last_sent_ms)"
				   " VALUES(?1,?2,?3,?4,?5,?6,0,?7)"
				   " ON CONFLICT(target, dedup_key, labels) DO UPDATE SET"
				   " annotations = excluded.annotations,"
				   " generator_url = excluded.generator_url, ends_ms = 0,"
				   " last_sent_ms = excluded.last_sent_ms", &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, a->target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, a->dedup_key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, a->labels, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, a->annotations ? a->annotations : "{}", -1, SQLITE_TRANSIENT);
	bind_text_or_null(s, 5, a->generator_url);
	sqlite3_bind_int64(s, 6, a->starts_ms);
	sqlite3_bind_int64(s, 7, now_ms);
	if ((ret = inc_step_done(st, s, "save alert", err)) != 0)
		return ret;
	st->pending++;
	return 0;
}

int
pd_store_am_resolve(struct pd_store *st, const char *target, const char *dedup_key,
		    int64_t ends_ms, int *n, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if (n != NULL)
		*n = 0;
	if ((ret = tx_begin(st, err)) != 0 ||
	    (ret = inc_prepare(st, "UPDATE am_alerts SET ends_ms = ?3 WHERE target = ?1"
				   " AND dedup_key = ?2 AND ends_ms = 0", &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, dedup_key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, ends_ms);
	if ((ret = inc_step_done(st, s, "resolve alerts", err)) != 0)
		return ret;
	if (n != NULL)
		*n = sqlite3_changes(st->db);
	st->pending++;
	return 0;
}

int
pd_store_am_list(struct pd_store *st, const char *target, const char *dedup_key,
		 pd_store_am_fn fn, void *ud, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	struct pd_am_alert a;
	int ret, rc;

	if ((ret = inc_prepare(st, "SELECT target, dedup_key, labels, annotations, generator_url,"
				   " starts_ms, ends_ms, last_sent_ms FROM am_alerts"
				   " WHERE (?1 IS NULL OR target = ?1)"
				   " AND (?2 IS NULL OR dedup_key = ?2)"
				   " ORDER BY target, starts_ms, dedup_key, labels", &s, err)) != 0)
		return ret;
	if (target != NULL)
		sqlite3_bind_text(s, 1, target, -1, SQLITE_TRANSIENT);
	if (dedup_key != NULL)
		sqlite3_bind_text(s, 2, dedup_key, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&a, 0, sizeof(a));
		copy_text(a.target, sizeof(a.target), sqlite3_column_text(s, 0));
		copy_text(a.dedup_key, sizeof(a.dedup_key), sqlite3_column_text(s, 1));
		a.labels = col_dup(s, 2);
		a.annotations = col_dup(s, 3);
		if (sqlite3_column_type(s, 4) != SQLITE_NULL)
			a.generator_url = col_dup(s, 4);
		a.starts_ms = sqlite3_column_int64(s, 5);
		a.ends_ms = sqlite3_column_int64(s, 6);
		a.last_sent_ms = sqlite3_column_int64(s, 7);
		if (a.labels == NULL || a.annotations == NULL) {
			pd_am_alert_cleanup(&a);
			ret = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
			goto out;
		}
		ret = fn ? fn(ud, &a) : 0;
		pd_am_alert_cleanup(&a);
		if (ret != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(st, err, "alertmanager alerts");
out:
	sqlite3_finalize(s);
	return ret;
}

int
pd_store_am_sent(struct pd_store *st, const char *target, int64_t now_ms, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = tx_begin(st, err)) != 0 ||
	    (ret = inc_prepare(st, "UPDATE am_alerts SET last_sent_ms = ?2 WHERE target = ?1", &s,
			       err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, now_ms);
	if ((ret = inc_step_done(st, s, "alerts sent", err)) != 0)
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
	if ((ret = tx_begin(st, err)) != 0 ||
	    (ret = inc_prepare(st, "DELETE FROM am_alerts WHERE target = ?1 AND (?2 <= 0"
				   " OR (ends_ms > 0 AND ends_ms < ?2))", &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, cutoff_ms);
	if ((ret = inc_step_done(st, s, "prune alerts", err)) != 0)
		return ret;
	if (deleted != NULL)
		*deleted = sqlite3_changes(st->db);
	st->pending++;
	return 0;
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
	if ((s = stmt_get(st, sid, err)) == NULL)
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
		ret = db_fail(st, err, "window aggregates");
	stmt_done(s);
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
	if ((s = stmt_get(st, S_AGG_RAW, err)) == NULL)
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
		ret = db_fail(st, err, "window edge results");
	stmt_done(s);
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
	if ((ret = read_begin(st, &opened, err)) != 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		int rc = probe_lookup(st, probes[i], 0, &e, &lerr);

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
	read_end(st, opened);
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
	if ((ret = read_begin(st, &opened, err)) != 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		int rc = probe_lookup(st, probes[i], 0, &e, &lerr);

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
	read_end(st, opened);
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
	if ((ret = probe_lookup(st, probe, 0, &e, err)) != 0)
		return ret;
	if (now_ms < -AGG_TS_LIMIT || now_ms > AGG_TS_LIMIT)
		return pd_err_set(err, PD_ERR_INVALID, "baseline: time out of range");
	if ((ret = read_begin(st, &opened, err)) != 0)
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
	read_end(st, opened);
	return ret;
}

/* ---- response shape fingerprints (shape drift) --------------------------- */

int
pd_store_shape_seen(struct pd_store *st, const char *probe, uint64_t hash, const char *paths,
		    int64_t now_ms, struct pd_err *err)
{
	struct name_ent *e = NULL;
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = check_name(st, probe, err)) != 0 || (ret = tx_begin(st, err)) != 0 ||
	    (ret = probe_lookup(st, probe, 1, &e, err)) != 0 ||
	    (ret = inc_prepare(st, "INSERT INTO shapes(probe_id, hash, first_seen_ms,"
				   " last_seen_ms, paths) VALUES(?1, ?2, ?3, ?3, ?4)"
				   " ON CONFLICT(probe_id, hash) DO UPDATE SET"
				   " last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
				   " paths = coalesce(paths, excluded.paths)", &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, e->id);
	sqlite3_bind_int64(s, 2, (int64_t)hash);
	sqlite3_bind_int64(s, 3, now_ms);
	bind_text_or_null(s, 4, paths);
	if ((ret = inc_step_done(st, s, "shape seen", err)) != 0)
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

	if ((ret = probe_lookup(st, probe, 0, &e, err)) != 0)
		return ret;
	if ((ret = read_begin(st, &opened, err)) != 0)
		return ret;
	if ((ret = inc_prepare(st, "SELECT hash, first_seen_ms, last_seen_ms, paths FROM shapes"
				   " WHERE probe_id = ?1 AND last_seen_ms >= ?2"
				   " ORDER BY last_seen_ms DESC, first_seen_ms DESC", &s, err)) != 0)
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
		ret = db_fail(st, err, "shapes");
out:
	sqlite3_finalize(s);
	read_end(st, opened);
	return ret;
}

/* ---- delivery state (contract in store.h) ----------------------------------
 * Read per call, like the incident statements: a view asks for a handful of keys. */

const char *
pd_delivery_state_str(enum pd_delivery_state s)
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

	if ((ret = tx_begin(st, err)) != 0 ||
	    (ret = inc_prepare(st, "INSERT OR REPLACE INTO deliveries(dedup_key, target, event,"
				   " created_ms, delivered_ms, attempts) SELECT dedup_key, target,"
				   " event, created_ms, ?2, attempts + 1 FROM outbox WHERE id = ?1",
			       &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now_ms);
	if ((ret = inc_step_done(st, s, "delivery log", err)) != 0)
		return ret;
	return outbox_update(st, S_OB_DONE, id, 0, NULL, err);
}

int
pd_store_deliveries(struct pd_store *st, const char *dedup_key, struct pd_delivery *out,
		    size_t max, size_t *n, struct pd_err *err)
{
	/* outbox rows (src 0) and delivery-log rows (src 1) of the key, grouped by (target,
	 * trigger first), oldest first: the last row of a group is its state. At the same
	 * created_ms a row still in the outbox is the newer news. */
	static const char q_outbox[] =
		"SELECT target, event, 0 AS src, id, created_ms, next_at_ms, attempts,"
		" last_error, dead, 0 AS delivered_ms FROM outbox WHERE dedup_key = ?1";
	static const char q_log[] =
		" UNION ALL SELECT target, event, 1, 0, created_ms, 0, attempts, NULL, 0,"
		" delivered_ms FROM deliveries WHERE dedup_key = ?1";
	static const char q_order[] =
		") ORDER BY target, event <> 'trigger', event, created_ms, src DESC, id";
	char sql[600];
	struct pd_delivery *cur = NULL;
	sqlite3_stmt *s = NULL;
	int64_t last_ok = 0;
	int ret, rc;

	*n = 0;
	if (dedup_key == NULL)
		return pd_err_set(err, PD_ERR_INVALID, "deliveries: no dedup key");
	snprintf(sql, sizeof(sql), "SELECT * FROM (%s%s%s", q_outbox,
		 st->version >= 6 ? q_log : "", q_order);
	/* one statement: one snapshot, no read transaction needed */
	if ((ret = inc_prepare(st, sql, &s, err)) != 0)
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
		cur->delivered_ms = last_ok;   /* an earlier row of this target and event */
		copy_text(cur->last_error, sizeof(cur->last_error), sqlite3_column_text(s, 7));
		if (sqlite3_column_int(s, 8) != 0) {
			cur->state = PD_DELIVERY_DEAD;
		} else {
			cur->state = cur->attempts > 0 ? PD_DELIVERY_FAILING : PD_DELIVERY_QUEUED;
			cur->next_at_ms = sqlite3_column_int64(s, 5);
		}
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(st, err, "deliveries");
	sqlite3_finalize(s);
	return ret;
}

int
pd_store_probe_incident(struct pd_store *st, const char *probe, int64_t *id, char *key,
			size_t cap, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret, rc;

	*id = 0;
	if (cap > 0)
		key[0] = '\0';
	if ((ret = inc_prepare(st, "SELECT id, key FROM incidents WHERE json_valid(members) AND"
				   " EXISTS (SELECT 1 FROM json_each(incidents.members)"
				   " WHERE value = ?1) ORDER BY id DESC LIMIT 1", &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, probe, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		copy_text(key, cap, sqlite3_column_text(s, 1));
	} else if (rc != SQLITE_DONE) {
		ret = db_fail(st, err, "incident of probe");
	}
	sqlite3_finalize(s);
	return ret;
}

/* ---- TLS certificate expiry per probe ---- */

int
pd_store_cert_save(struct pd_store *st, const char *probe, int64_t not_after_s,
		   int64_t checked_ms, struct pd_err *err)
{
	struct name_ent *e;
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = check_name(st, probe, err)) != 0 || (ret = tx_begin(st, err)) != 0 ||
	    (ret = probe_lookup(st, probe, 1, &e, err)) != 0)
		return ret;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO probe_certs(probe_id, not_after_s, "
			       "checked_ms) VALUES (?1, ?2, ?3) ON CONFLICT(probe_id) DO UPDATE "
			       "SET not_after_s = ?2, checked_ms = ?3", -1, &s, NULL) != SQLITE_OK)
		return db_fail(st, err, "save certificate");
	sqlite3_bind_int64(s, 1, e->id);
	sqlite3_bind_int64(s, 2, not_after_s);
	sqlite3_bind_int64(s, 3, checked_ms);
	ret = stmt_exec(st, s, "save certificate", err);
	sqlite3_finalize(s);
	if (ret == 0)
		st->pending++;
	return ret;
}

int
pd_store_certs(struct pd_store *st, pd_store_cert_fn fn, void *ud, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT p.name, c.not_after_s, c.checked_ms FROM "
			       "probe_certs c JOIN probes p ON p.id = c.probe_id ORDER BY p.name",
			       -1, &s, NULL) != SQLITE_OK)
		return db_fail(st, err, "certificates");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(s, 0);

		if ((ret = fn(ud, name ? (const char *)name : "", sqlite3_column_int64(s, 1),
			      sqlite3_column_int64(s, 2))) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_fail(st, err, "certificates");
	sqlite3_finalize(s);
	return ret;
}

int
pd_store_cert_get(struct pd_store *st, const char *probe, int64_t *not_after_s,
		  struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	*not_after_s = -1;
	if (sqlite3_prepare_v2(st->db, "SELECT c.not_after_s FROM probe_certs c JOIN probes p "
			       "ON p.id = c.probe_id WHERE p.name = ?1", -1, &s, NULL) != SQLITE_OK)
		return db_fail(st, err, "certificate");
	sqlite3_bind_text(s, 1, probe, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*not_after_s = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		ret = db_fail(st, err, "certificate");
	sqlite3_finalize(s);
	return ret;
}
/* ---- silences ---- */

int
pd_store_silence_add(struct pd_store *st, struct pd_silence *sl, struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	if ((ret = tx_begin(st, err)) != 0 ||
	    (ret = inc_prepare(st, "INSERT INTO silences(probe, family, reason, created_ms, until_ms)"
				   " VALUES(?1,?2,?3,?4,?5)", &s, err)) != 0)
		return ret;
	sqlite3_bind_text(s, 1, sl->probe, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, sl->family, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, sl->reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, sl->created_ms);
	sqlite3_bind_int64(s, 5, sl->until_ms);
	if ((ret = inc_step_done(st, s, "add silence", err)) != 0)
		return ret;
	sl->id = sqlite3_last_insert_rowid(st->db);
	st->pending++;
	return 0;
}

int
pd_store_silence_expire(struct pd_store *st, int64_t id, int64_t now_ms, int *n,
			struct pd_err *err)
{
	sqlite3_stmt *s = NULL;
	int ret;

	*n = 0;
	if ((ret = tx_begin(st, err)) != 0 ||
	    (ret = inc_prepare(st, "UPDATE silences SET until_ms = ?2, expired_ms = ?2"
				   " WHERE id = ?1 AND until_ms > ?2", &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now_ms);
	if ((ret = inc_step_done(st, s, "expire silence", err)) != 0)
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

	if ((ret = inc_prepare(st, "SELECT id, probe, family, reason, created_ms, until_ms,"
				   " expired_ms FROM silences WHERE until_ms > ?1 ORDER BY id",
			       &s, err)) != 0)
		return ret;
	sqlite3_bind_int64(s, 1, min_until_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&sl, 0, sizeof(sl));
		sl.id = sqlite3_column_int64(s, 0);
		copy_text(sl.probe, sizeof(sl.probe), sqlite3_column_text(s, 1));
		copy_text(sl.family, sizeof(sl.family), sqlite3_column_text(s, 2));
		copy_text(sl.reason, sizeof(sl.reason), sqlite3_column_text(s, 3));
		sl.created_ms = sqlite3_column_int64(s, 4);
		sl.until_ms = sqlite3_column_int64(s, 5);
		sl.expired_ms = sqlite3_column_int64(s, 6);
		if ((ret = fn ? fn(ud, &sl) : 0) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(st, err, "silences");
out:
	sqlite3_finalize(s);
	return ret;
}

int
pd_store_data_version(struct pd_store *st, int64_t *v, struct pd_err *err)
{
	int iv = 0, ret = pragma_int(st, "PRAGMA data_version", &iv, err);

	*v = iv;
	return ret;
}
