/* store_int.h — what the files of the store module (src/store*.c) share and nothing
 * else may see: the handle, the prepared-statement ids, the helpers. The public API is
 * include/probed/store.h. */
#ifndef PROBED_STORE_INT_H
#define PROBED_STORE_INT_H
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sqlite3.h>
#include "probed/store.h"


#define STORE_NAME_MAX 127 /* probe names: at most 127 bytes */
/* How long a write waits for another process's lock. Short: probed is the only regular
 * writer, the wait runs on the event loop, and a lock held longer is handled as a failed
 * commit (the state is rebuilt from the database and the events go out later). */
#define STORE_BUSY_MS 200
/* The checkpoint thread comes back this soon after a pass that left WAL frames. */
#define STORE_CKPT_CATCHUP_MS 50

/* ---- prepared statements (prepared lazily, once, kept for the handle's life) ---- */
#define RESULT_COLS                                                            \
	"ts_ms, outcome, http_status, curl_code, dns_ms, connect_ms, tls_ms, " \
	"ttfb_ms, total_ms, body_size, lateness_us, verdict"
/* the aggregate of a set of results rows (agg_minute's columns after the key) */
#define AGG_COLS "probe_id, minute, n, failures, by_class, n_lat, sum_ms, min_ms, max_ms, hist"
#define AGG_EXPRS                                                                     \
	"count(*), sum(outcome <> 0), "                                               \
	"pd_agg_counts(CASE WHEN outcome BETWEEN 1 AND 255 THEN outcome "             \
	"WHEN outcome <> 0 THEN 15 END), count(CASE WHEN total_ms >= 0 THEN 1 END), " \
	"coalesce(sum(CASE WHEN total_ms >= 0 THEN total_ms END), 0), "               \
	"min(CASE WHEN total_ms >= 0 THEN total_ms END), "                            \
	"max(CASE WHEN total_ms >= 0 THEN total_ms END), pd_agg_counts(pd_lat_bucket(total_ms))"
#define AGGH_COLS "probe_id, hour, n, failures, by_class, n_lat, sum_ms, min_ms, max_ms, hist"
#define AGGH_EXPRS                                                                 \
	"sum(n), sum(failures), pd_agg_merge(by_class), sum(n_lat), sum(sum_ms), " \
	"min(min_ms), max(max_ms), pd_agg_merge(hist)"
#define OUTBOX_COLS                                                       \
	"id, target, dedup_key, event, payload, created_ms, next_at_ms, " \
	"attempts, last_error, dead"
/* the oldest live row of each target: the only row of a target that may be sent */
#define OUTBOX_HEADS "SELECT min(id) FROM outbox WHERE dead = 0 GROUP BY target"

enum stmt_id {
	/* store.c */
	S_BEGIN_WRITE,
	S_BEGIN_READ,
	S_COMMIT,
	S_ROLLBACK,
	S_PROBE_GET,
	S_PROBE_ADD,
	/* store_results.c: results, probe state, events, status, history, series */
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
	S_STATUS_PROBES,
	S_RES_SERIES, /* status page series */
	/* store_agg.c: per-minute and per-hour aggregates, windows, their pruning */
	S_AGG_CLOSE,
	S_AGG_RANGE,
	S_AGG_RAW,
	S_PRUNE_AGG,
	S_AGGH_CLOSE,
	S_AGGH_RANGE,
	S_PRUNE_AGGH,
	/* store_prune.c: retention of results, events and history */
	S_PRUNE_RES,
	S_PRUNE_EV,
	S_PRUNE_SHAPES,
	S_PRUNE_INC_EV,
	S_PRUNE_INC,
	S_PRUNE_DEAD,
	S_PRUNE_DELIV,
	/* store_outbox.c: outbox, Alertmanager alerts, delivery log */
	S_OB_ADD,
	S_OB_DUE,
	S_OB_DONE,
	S_OB_RETRY,
	S_OB_DEAD,
	S_OB_STATS,
	S_OB_NEXT,
	S_OB_LIST,
	S_OB_REQUEUE,
	S_AM_SUPERSEDE,
	S_AM_UPSERT,
	S_AM_RESOLVE,
	S_AM_LIST,
	S_AM_SENT,
	S_AM_PRUNE,
	S_DELIV_ADD,
	S_DELIV_KEY,    /* schema >= 6: outbox rows and the delivery log */
	S_DELIV_KEY_V5, /* older read-only databases: outbox rows only */
	S_PROBE_INCIDENT,
	/* store_incidents.c: incidents, their timeline, silences */
	S_INC_INSERT,
	S_INC_UPDATE,
	S_INC_EVENT_ADD,
	S_INC_OPEN,
	S_INC_ALL,
	S_INC_GET,
	S_INC_EVENTS,
	S_SIL_ADD,
	S_SIL_EXPIRE,
	S_SIL_LIST,
	/* store_probe.c: shapes, certificates */
	S_SHAPE_SEEN,
	S_SHAPES,
	S_CERT_SAVE,
	S_CERT_GET,
	S_CERTS,
	S__COUNT
};

/* The SQL of the statements, one table per store file, indexed by stmt_id and holding
 * only that file's entries; pd_store_stmt_get prepares from the one that has it. */
extern const char *const pd_store_sql_results[S__COUNT];
extern const char *const pd_store_sql_agg[S__COUNT];
extern const char *const pd_store_sql_prune[S__COUNT];
extern const char *const pd_store_sql_outbox[S__COUNT];
extern const char *const pd_store_sql_incidents[S__COUNT];
extern const char *const pd_store_sql_probe[S__COUNT];

struct name_ent {
	char *name; /* NULL = empty slot */
	int64_t id;
	int key_known;   /* last_ts/last_seq valid */
	int64_t last_ts; /* newest result key of this probe */
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
	int urgent;        /* the open batch holds delivery state (outbox): commit it now */
	int64_t opened_ms; /* monotonic time the open batch began */
	sqlite3_stmt *stmts[S__COUNT];
	struct name_ent *names;
	size_t names_cap; /* power of two, 0 = not allocated */
	size_t names_len;
	/* the WAL checkpointer (writer handles only): its own thread and connection */
	struct store_ckpt *ckpt;
	int busy_tries; /* pd_store_set_busy_ms: 1 ms retries of a locked write */
};

/* The checkpoint thread (store.c). It owns ckdb; the rest is shared under mu. */
struct store_ckpt {
	sqlite3 *ckdb;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	int kick;          /* the writer's WAL passed kick_frames: checkpoint now */
	int64_t period_ms; /* and at least this often */
	int64_t kick_frames;
	int64_t restart_frames; /* a commit left this many: RESTART the WAL right after it */
	int restart;            /* set by the hook with kick: try RESTART, not PASSIVE */
	struct pd_store_ckpt_stats stats;
};

/* helpers defined in one store file, used in another */
void pd_store_copy_text(char *dst, size_t cap, const unsigned char *src);
void pd_store_stmt_done(sqlite3_stmt *s);
void pd_store_batch_lost(struct pd_store *st);
int pd_store_db_fail(struct pd_store *st, struct pd_err *err, const char *what);
sqlite3_stmt *pd_store_stmt_get(struct pd_store *st, enum stmt_id id, struct pd_err *err);
int pd_store_stmt_exec(struct pd_store *st, sqlite3_stmt *s, const char *what, struct pd_err *err);
int pd_store_simple_exec(struct pd_store *st, enum stmt_id id, const char *what,
			 struct pd_err *err);
void pd_store_bind_text_or_null(sqlite3_stmt *s, int idx, const char *v);
int pd_store_check_writable(struct pd_store *st, struct pd_err *err);
int pd_store_tx_begin(struct pd_store *st, struct pd_err *err);
/* The same, for a write whose batch must be committed without waiting for the batch
 * timer (delivery state: the outbox and what it sends). */
int pd_store_tx_begin_urgent(struct pd_store *st, struct pd_err *err);
int pd_store_read_begin(struct pd_store *st, int *opened, struct pd_err *err);
void pd_store_read_end(struct pd_store *st, int opened);
int pd_store_check_name(struct pd_store *st, const char *probe, struct pd_err *err);
int pd_store_probe_lookup(struct pd_store *st, const char *probe, int create, struct name_ent **out,
			  struct pd_err *err);
/* A write about a probe: check the name (before any transaction), open the write
 * transaction, find or add the probe's row. */
int pd_store_probe_write(struct pd_store *st, const char *probe, struct name_ent **out,
			 struct pd_err *err);
void pd_store_result_from_row(sqlite3_stmt *s, int c, struct pd_result *r);
int pd_store_pragma_int(struct pd_store *st, const char *sql, int *val, struct pd_err *err);
int pd_store_exec_sql(struct pd_store *st, const char *sql, struct pd_err *err);
int pd_store_agg_register(struct pd_store *st, struct pd_err *err);
int pd_store_agg_backfill(struct pd_store *st, struct pd_err *err);
int pd_store_agg_after_add(struct pd_store *st, int64_t probe_id, int64_t prev_ts, int64_t ts,
			   struct pd_err *err);
int pd_store_agg_prune(struct pd_store *st, int64_t cutoff_ms, int64_t budget, int64_t *n,
		       struct pd_err *err);
int pd_store_stmt_prep(struct pd_store *st, enum stmt_id id, sqlite3_stmt **s, struct pd_err *err);
char *pd_store_col_dup(sqlite3_stmt *s, int i);

#endif
