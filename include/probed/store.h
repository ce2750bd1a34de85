/* store.h — the only module that includes sqlite3.h.
 *
 * One SQLite file in WAL mode; schema versioned by PRAGMA user_version with forward
 * migrations; prepared statements cached. Writes are batched: the first write after a
 * flush opens a transaction (BEGIN IMMEDIATE) and pd_store_flush() commits it, so the
 * daemon commits once per event-loop iteration (an ev_prepare watcher), not per row.
 * A state change and the outbox row it produces therefore land in the same commit.
 *
 * Readers (probectl) open with readonly=1 and never take a write lock; they see the
 * last committed batch (WAL snapshot isolation). busy_timeout is set on every handle.
 *
 * Nothing secret is ever passed in: callers store url_display and redacted strings.
 */
#ifndef PROBED_STORE_H
#define PROBED_STORE_H
#include <stddef.h>
#include <stdint.h>
#include "probed/err.h"
#include "probed/result.h"
#include "probed/eval.h"
#include "probed/maint.h"

struct pd_store;

/* Open (and create + migrate unless readonly) the database at path. When the path is
 * the reason it cannot be opened (a directory, a missing directory, a file in the way,
 * no permission for this uid, a read-only file system), err says so and suggests
 * --db PATH or store.path, and the code is PD_ERR_IO; SQLite's own failures are
 * PD_ERR_DB. A reader finding no database gets PD_ERR_NOTFOUND. */
int pd_store_open(const char *path, int readonly, struct pd_store **out, struct pd_err *err);
/* Commits any open batch, then closes. NULL is a no-op. */
void pd_store_free(struct pd_store *st);
/* How long a write waits for another writer's lock, retrying every millisecond (the
 * daemon's own handle keeps a short STORE_BUSY_MS, never stalling the loop). probectl's
 * writes wait longer: the daemon holds its batch open for up to PD_STORE_COMMIT_MS and
 * frees the lock only for the moment between a commit and its next write. */
void pd_store_set_busy_ms(struct pd_store *st, int ms);
/* Schema version after migrations (PRAGMA user_version). */
int pd_store_schema_version(struct pd_store *st);

/* ---- batched writes (open a transaction lazily; pd_store_flush commits) ---- */
int pd_store_add_result(struct pd_store *st, const char *probe, const struct pd_result *r,
			struct pd_err *err);
int pd_store_save_state(struct pd_store *st, const char *probe, const struct pd_eval_state *s,
			struct pd_err *err);
/* Append an event to the probe/incident log (kind: "trigger", "resolve", "failing",
 * "flap", "recovering", "relapse", "notify_ok", "notify_fail", "dead_letter", ...). */
int pd_store_add_event(struct pd_store *st, int64_t ts_ms, const char *probe, const char *kind,
		       const char *detail, struct pd_err *err);
/* Commit the open batch, if any. Returns 0 when nothing was pending. */
int pd_store_flush(struct pd_store *st, struct pd_err *err);
/* Rows written since the last flush (0 = no open transaction). */
size_t pd_store_pending(const struct pd_store *st);

/* ---- commits batched by time ----
 * A batch is committed at most PD_STORE_COMMIT_MS after its first write, at once when
 * it holds delivery state (an outbox row: a page is sent only after the commit that
 * stored it, so it must not wait for the timer), and on drain, reload and before
 * pruning. A kill -9 loses at most the last PD_STORE_COMMIT_MS of results. */
#define PD_STORE_COMMIT_MS 200
/* The policy, pure: how long a batch of `pending` rows (0 = none), opened at opened_ms,
 * may still wait at now_ms: -1 = nothing to commit, 0 = commit now, else milliseconds.
 * urgent or max_ms <= 0 means now. */
int64_t pd_store_commit_wait_ms(size_t pending, int urgent, int64_t opened_ms, int64_t now_ms,
				int64_t max_ms);
/* The policy applied to the open batch (now_ms: pd_clock_mono_ms()). */
int64_t pd_store_batch_wait_ms(const struct pd_store *st, int64_t now_ms, int64_t max_ms);

/* ---- WAL checkpoints, off the event loop ----
 * The writer handle turns SQLite's auto-checkpoint off (it would run inside a COMMIT on
 * the loop and fsync) and checkpoints from a thread of its own with its own connection:
 * PASSIVE when a commit leaves the WAL at PD_STORE_CKPT_FRAMES pages or more (SQLite's
 * own threshold; the commit only wakes the thread), at least every period, and again soon
 * after a pass that left frames; a RESTART right after the commit that left the WAL at
 * 64 MiB (without it, a busy writer never lets the WAL start over). A reader on an old
 * snapshot keeps the WAL growing until it ends; the file is cut back to 64 MiB when the
 * WAL starts over (journal_size_limit). */
#define PD_STORE_CKPT_FRAMES 1000
#define PD_STORE_CKPT_PERIOD_MS 10000
#define PD_STORE_CKPT_RESTART_FRAMES 16384 /* 64 MiB of 4 KiB pages: RESTART after a commit */
struct pd_store_ckpt_stats {
	int64_t checkpoints;    /* passes that ran (PASSIVE or RESTART) */
	int64_t restarts;       /* RESTARTs: the WAL started over at 64 MiB */
	int64_t busy;           /* passes that left frames (readers, new commits, a lock) */
	int64_t errors;         /* other failures */
	int64_t total_us;       /* time spent checkpointing */
	int64_t max_us;         /* the longest pass */
	int64_t wal_frames;     /* WAL frames after the last pass */
	int64_t wal_backfilled; /* of them, copied into the database */
};
/* Counters of the checkpoint thread (all zero for read-only handles). */
void pd_store_ckpt_stats(struct pd_store *st, struct pd_store_ckpt_stats *out);
/* Tests: change the period, the waking size and the RESTART size of a running
 * checkpointer (ms, frames, frames). */
void pd_store_ckpt_tune(struct pd_store *st, int64_t period_ms, int64_t kick_frames,
			int64_t restart_frames);

/* Load saved state; returns PD_ERR_NOTFOUND (state untouched) when none. */
int pd_store_load_state(struct pd_store *st, const char *probe, struct pd_eval_state *s,
			struct pd_err *err);

/* Delete results (and events) older than cutoff_ms, at most max_rows per call, in its
 * own small transaction (flushes a pending batch first). *deleted gets the count.
 * The per-minute aggregates of minutes that ended by cutoff_ms go too (after the
 * results, before the events, in the same budget and count). */
int pd_store_prune(struct pd_store *st, int64_t cutoff_ms, int max_rows, int *deleted,
		   struct pd_err *err);
/* Issue 9: the rest of what grows, the same way (at most max_rows per call, its own
 * small transaction): shape fingerprints last seen before cutoff_ms, dead-lettered
 * outbox rows queued before cutoff_ms, deliveries made before cutoff_ms, and incidents
 * resolved before incident_cutoff_ms with their timeline (the timeline first; an
 * incident row goes once its timeline is gone). Open incidents and live outbox rows
 * are never touched. *out gets the counts. */
struct pd_store_pruned {
	int64_t shapes, incident_events, incidents, dead_letters, deliveries;
	int64_t total;
};
int pd_store_prune_history(struct pd_store *st, int64_t cutoff_ms, int64_t incident_cutoff_ms,
			   int max_rows, struct pd_store_pruned *out, struct pd_err *err);

/* ---- durable outbox ---- */
struct pd_outbox_row {
	int64_t id;
	char target[64]; /* notify target name */
	char dedup_key[128];
	char event[16]; /* "trigger" | "resolve" */
	char *payload;  /* JSON (malloc'd, no secrets); freed by pd_store_outbox_row_cleanup */
	int64_t created_ms;
	int64_t next_at_ms;
	int attempts;
	char last_error[256];
	int dead; /* 1 = dead-lettered, no longer retried */
};
void pd_store_outbox_row_cleanup(struct pd_outbox_row *r);

/* Queue an event (inside the current batch). *id (may be NULL) is set. */
int pd_store_outbox_add(struct pd_store *st, const char *target, const char *dedup_key,
			const char *event, const char *payload, int64_t now_ms, int64_t *id,
			struct pd_err *err);
/* The oldest live (not dead) row per target whose next_at_ms <= now_ms, ordered by id,
 * at most max rows. Rows are strictly ordered per target: a target whose oldest live
 * row is not yet due returns nothing for that target. Caller cleans up each row. */
int pd_store_outbox_due(struct pd_store *st, int64_t now_ms, struct pd_outbox_row *rows, size_t max,
			size_t *n, struct pd_err *err);
/* Delivered: delete the row. */
int pd_store_outbox_done(struct pd_store *st, int64_t id, struct pd_err *err);
/* Delivered at now_ms: record it in the delivery log (target, dedup key, event,
 * when queued, when delivered, attempts), then delete the row; one batch. */
int pd_store_outbox_delivered(struct pd_store *st, int64_t id, int64_t now_ms, struct pd_err *err);
/* Failed transiently: attempts+1, next_at_ms, last_error. */
int pd_store_outbox_retry(struct pd_store *st, int64_t id, int64_t next_at_ms,
			  const char *last_error, struct pd_err *err);
/* Failed permanently: mark dead with the error (attempts+1: that attempt counts). */
int pd_store_outbox_dead(struct pd_store *st, int64_t id, const char *last_error,
			 struct pd_err *err);
/* Live rows and age of the oldest (ms, 0 when empty). */
int pd_store_outbox_stats(struct pd_store *st, int64_t now_ms, int64_t *depth,
			  int64_t *oldest_age_ms, int64_t *dead, struct pd_err *err);
/* Earliest next_at_ms among live rows (0 when none). */
int pd_store_outbox_next_due(struct pd_store *st, int64_t *next_at_ms, struct pd_err *err);
/* Every row, pending and dead-lettered, oldest first; fn's row is valid during the call;
 * a non-zero return from fn stops the walk and is returned. */
typedef int (*pd_store_outbox_fn)(void *ud, const struct pd_outbox_row *r);
int pd_store_outbox_list(struct pd_store *st, pd_store_outbox_fn fn, void *ud, struct pd_err *err);
/* Put dead-lettered row id (0 = every dead row) back in the queue, due now, attempts
 * reset (in the current batch: flush to commit). *n = rows requeued. */
int pd_store_outbox_requeue(struct pd_store *st, int64_t id, int64_t now_ms, int *n,
			    struct pd_err *err);

/* ---- queries (probectl, status) ---- */
struct pd_probe_status {
	char probe[128];
	int has_result;
	struct pd_result last; /* valid when has_result */
	int has_state;
	struct pd_eval_state state;
	int64_t last_page_ms; /* from events; 0 if never */
};
/* All probes known to the store (results or state), sorted by name.
 * *out is malloc'd (free()), *n its length. */
int pd_store_status(struct pd_store *st, struct pd_probe_status **out, size_t *n,
		    struct pd_err *err);

struct pd_history_stats {
	int64_t count, failures;
	double error_rate; /* failures / count, 0 when count == 0 */
	double p50_ms, p95_ms,
		p99_ms; /* of total_ms over all results with a response; -1 if none */
	double max_ms;
};
/* Results of probe with ts_ms >= since_ms, oldest first, each passed to fn (may be NULL);
 * stats (may be NULL) over the same window. */
typedef int (*pd_store_result_fn)(void *ud, const char *probe, const struct pd_result *r);
int pd_store_history(struct pd_store *st, const char *probe, int64_t since_ms,
		     pd_store_result_fn fn, void *ud, struct pd_history_stats *stats,
		     struct pd_err *err);

/* Events with ts_ms >= since_ms (probe NULL = all), oldest first. */
typedef int (*pd_store_event_fn)(void *ud, int64_t ts_ms, const char *probe, const char *kind,
				 const char *detail);
int pd_store_events(struct pd_store *st, const char *probe, int64_t since_ms, pd_store_event_fn fn,
		    void *ud, struct pd_err *err);

/* ---- windows and baselines (the classifier's facts) ----
 * The store keeps per-minute and per-hour aggregates of each probe's results (count,
 * failures, failures per outcome class, latency sum/min/max and a 128-bucket log-spaced
 * latency histogram from 0.1 ms to 60 s). pd_store_add_result writes a minute's (hour's)
 * row in the same batch when the probe's first result of a later minute (hour) closes
 * it, and rewrites it for a late result; the open minute is read from the results. So
 * these queries read a few small rows, never every result: a 24 h window ~150 rows.
 * Percentiles are interpolated inside a histogram bucket: within 11.1 % of the exact
 * nearest-rank value (pd_store_history's definition) over results with a response
 * (total_ms >= 0). Counts, failures and classes are exact for any window (partial minutes
 * at the edges come from the results). pd_store_prune drops the minute and hour rows
 * that ended by its cutoff. A writer opening a file with results but no aggregates
 * (before this schema) builds them first. */
struct pd_window; /* probed/classify.h */
/* Facts about probe over since_ms <= ts_ms < until_ms (empty when until <= since).
 * *out is always initialised (count 0, p50/p95 -1 when there is no data);
 * PD_ERR_NOTFOUND when the store has never seen the probe. */
int pd_store_window(struct pd_store *st, const char *probe, int64_t since_ms, int64_t until_ms,
		    struct pd_window *out, struct pd_err *err);
/* The same over the union of the results of n probes (a family: its probe names from
 * the config); names the store has never seen contribute nothing. */
int pd_store_family_window(struct pd_store *st, const char *const *probes, size_t n,
			   int64_t since_ms, int64_t until_ms, struct pd_window *out,
			   struct pd_err *err);
/* of the results with a latency (total_ms >= 0) of the n probes over
 * [since_ms, until_ms): *total, and *slow = those at or above under_ms, from the same
 * aggregates (inside the histogram bucket holding under_ms, the share above it is
 * interpolated as the percentiles are: within one bucket, 11.1 %, of the exact count).
 * Unknown names contribute nothing. */
int pd_store_family_latency(struct pd_store *st, const char *const *probes, size_t n,
			    int64_t since_ms, int64_t until_ms, double under_ms, int64_t *total,
			    int64_t *slow, struct pd_err *err);
/* Latency baseline: p95 of probe's total_ms over the same UTC hour-of-day as now_ms on
 * each of the 7 previous days (the hour [H:00, H+1:00) of day -1 ... day -7), merged.
 * *p95_ms = -1 when fewer than min_samples latencies are stored there (or none).
 * PD_ERR_NOTFOUND (and -1) when the store has never seen the probe. */
int pd_store_baseline_p95(struct pd_store *st, const char *probe, int64_t now_ms,
			  int64_t min_samples, double *p95_ms, struct pd_err *err);

/* ---- bucketed series (status page) ---- */
struct pd_series_bucket {
	int64_t start_ms;        /* UTC */
	int64_t count, failures; /* results in [start_ms, start_ms + bucket_ms) */
	double p95_ms; /* nearest-rank p95 of total_ms (results with a response); -1 if none */
	double max_ms; /* -1 if none */
};
/* Results of probe with since_ms <= ts_ms < since_ms + n * bucket_ms, grouped into n
 * buckets of bucket_ms (out[i].start_ms = since_ms + i * bucket_ms; empty buckets have
 * count 0 and p95 -1). total (may be NULL) gets the stats over the whole range, as
 * pd_store_history computes them. One range scan of the results primary key, three
 * columns per row. out and total are initialised even on failure; PD_ERR_NOTFOUND when
 * the store has never seen the probe. */
int pd_store_series(struct pd_store *st, const char *probe, int64_t since_ms, int64_t bucket_ms,
		    struct pd_series_bucket *out, size_t n, struct pd_history_stats *total,
		    struct pd_err *err);
/* The same from the per-minute aggregates (see "windows and baselines" above): one
 * range read of the probe's minute rows (15 per 15-minute bucket, whatever the interval)
 * plus its open minute from the results, never a scan of every result. since_ms and
 * bucket_ms must be whole minutes (PD_ERR_INVALID otherwise). Counts, failures and max
 * are exact; p95 (and total's p50/p95/p99) are interpolated in the merged histogram:
 * within 11.1 % of pd_store_series's nearest-rank values. */
int pd_store_series_agg(struct pd_store *st, const char *probe, int64_t since_ms, int64_t bucket_ms,
			struct pd_series_bucket *out, size_t n, struct pd_history_stats *total,
			struct pd_err *err);
/* pd_store_history's stats (count, failures, error rate, p50/p95/p99, max) of probe over
 * since_ms <= ts_ms < until_ms from the aggregates, as pd_store_window reads them (~150
 * rows for 24 h; percentiles within 11.1 %). *out is always initialised; PD_ERR_NOTFOUND
 * when the store has never seen the probe. */
int pd_store_window_stats(struct pd_store *st, const char *probe, int64_t since_ms,
			  int64_t until_ms, struct pd_history_stats *out, struct pd_err *err);

/* ---- incidents ---- */
struct pd_incident_row {
	int64_t id;   /* 0 = not stored yet */
	char key[96]; /* stable dedup key: "probed:[LOCATION/]inc-<opened_ms>" */
	int64_t opened_ms, resolved_ms, last_join_ms; /* resolved_ms 0 = open */
	int severity;                                 /* 1..4 (never lowered while open) */
	int mode;                                     /* enum pd_mode */
	char title[160];
	char reason[256];
	char evidence[512];
	char *members;        /* JSON array of probe names (malloc'd) */
	char *notified;       /* JSON array of targets that got a trigger (malloc'd) */
	char *status_message; /* the drafted status-page text (malloc'd) */
	int drill;
};
void pd_store_incident_row_cleanup(struct pd_incident_row *r);
/* Insert (id == 0; sets id) or update, inside the current batch. */
int pd_store_incident_save(struct pd_store *st, struct pd_incident_row *r, struct pd_err *err);
/* Append to an incident's timeline (UTC ms). */
int pd_store_incident_event(struct pd_store *st, int64_t incident_id, int64_t ts_ms,
			    const char *kind, const char *detail, struct pd_err *err);
typedef int (*pd_store_incident_fn)(void *ud, const struct pd_incident_row *r);
/* Newest first; limit <= 0 = all. The row passed to fn is valid during the call. */
int pd_store_incidents(struct pd_store *st, int open_only, int limit, pd_store_incident_fn fn,
		       void *ud, struct pd_err *err);
/* PD_ERR_NOTFOUND when there is no such incident; caller cleans up out. */
int pd_store_incident_get(struct pd_store *st, int64_t id, struct pd_incident_row *out,
			  struct pd_err *err);
typedef int (*pd_store_ievent_fn)(void *ud, int64_t ts_ms, const char *kind, const char *detail);
int pd_store_incident_events(struct pd_store *st, int64_t id, pd_store_ievent_fn fn, void *ud,
			     struct pd_err *err);

/* ---- Alertmanager re-sends (delivery) ----
 * Alertmanager forgets an alert that is not re-sent before its endsAt, so the outbox
 * keeps every alert it delivered to an alertmanager target here and re-posts them:
 * firing ones (ends_ms 0) while they fire, resolved ones for a few minutes after.
 * One row per (target, dedup_key, labels): a label change (severity escalated) ends
 * the old label set and starts a new one. */
struct pd_am_alert {
	char target[64];
	char dedup_key[128];
	char *labels;        /* JSON object text (malloc'd) */
	char *annotations;   /* JSON object text (malloc'd) */
	char *generator_url; /* malloc'd or NULL */
	int64_t starts_ms;
	int64_t ends_ms;      /* 0 = firing */
	int64_t last_sent_ms; /* last accepted (re-)send */
};
void pd_store_am_alert_cleanup(struct pd_am_alert *a);
/* A firing alert was delivered (inside the batch): insert it, or refresh annotations
 * and last_sent of the same label set (starts_ms kept, ends_ms back to 0). Every other
 * firing label set of (target, dedup_key) is ended at now_ms. */
int pd_store_am_fire(struct pd_store *st, const struct pd_am_alert *a, int64_t now_ms,
		     struct pd_err *err);
/* End every firing label set of (target, dedup_key) at ends_ms; *n (may be NULL) = rows. */
int pd_store_am_resolve(struct pd_store *st, const char *target, const char *dedup_key,
			int64_t ends_ms, int *n, struct pd_err *err);
/* Rows of target (NULL = all targets) and dedup_key (NULL = all), oldest first. The row
 * passed to fn is valid during the call; fn returns non-zero to stop. */
typedef int (*pd_store_am_fn)(void *ud, const struct pd_am_alert *a);
int pd_store_am_list(struct pd_store *st, const char *target, const char *dedup_key,
		     pd_store_am_fn fn, void *ud, struct pd_err *err);
/* last_sent_ms = now_ms for every row of target. */
int pd_store_am_sent(struct pd_store *st, const char *target, int64_t now_ms, struct pd_err *err);
/* Delete rows of target that ended before cutoff_ms (with cutoff_ms <= 0: every row of
 * target, firing or not — the target is gone). *deleted may be NULL. */
int pd_store_am_prune(struct pd_store *st, const char *target, int64_t cutoff_ms, int *deleted,
		      struct pd_err *err);

/* ---- response shape fingerprints (shape drift) ----
 * One row per (probe, fingerprint): when it was first and last seen, and its path list
 * ("path:type" lines, see pd_check_shape_of in check.h). */
struct pd_shape_row {
	uint64_t hash;
	int64_t first_seen_ms, last_seen_ms;
	const char *paths; /* NULL when not stored */
};
/* Record that probe's response had fingerprint hash at now_ms (inside the batch): a new
 * row with paths (may be NULL), or last_seen_ms of the known one moved forward. */
int pd_store_shape_seen(struct pd_store *st, const char *probe, uint64_t hash, const char *paths,
			int64_t now_ms, struct pd_err *err);
/* Fingerprints of probe last seen at or after since_ms, most recently seen first. The
 * row passed to fn is valid during the call; fn returns non-zero to stop.
 * PD_ERR_NOTFOUND when the store has never seen the probe. */
typedef int (*pd_store_shape_fn)(void *ud, const struct pd_shape_row *r);
int pd_store_shapes(struct pd_store *st, const char *probe, int64_t since_ms, pd_store_shape_fn fn,
		    void *ud, struct pd_err *err);

/* ---- what became of a notification ----
 * Per (target, event) of one dedup key, the state of its newest row: from the outbox
 * (queued, failing, dead-lettered) and from the delivery log (delivered). */
enum pd_delivery_state {
	PD_DELIVERY_QUEUED = 0,    /* in the outbox, not attempted yet */
	PD_DELIVERY_FAILING = 1,   /* in the outbox after >= 1 failed attempt; retried */
	PD_DELIVERY_DEAD = 2,      /* dead-lettered: rejected (4xx) or unsendable; never retried */
	PD_DELIVERY_DELIVERED = 3, /* the receiver accepted it */
};
struct pd_delivery {
	char target[64];
	char event[16]; /* "trigger" | "resolve" */
	enum pd_delivery_state state;
	int attempts;         /* made so far, including the accepted (DELIVERED) or
				    * the final (DEAD) one */
	int64_t created_ms;   /* when it was queued */
	int64_t next_at_ms;   /* QUEUED, FAILING: the next attempt, not before; else 0 */
	int64_t delivered_ms; /* DELIVERED: when; otherwise when an earlier row of the
				    * same target and event was delivered (0: never) */
	char last_error[256]; /* FAILING, DEAD: why the last attempt failed; else "" */
};
/* "queued", "failing", "dead_lettered", "delivered". */
const char *pd_store_delivery_state_str(enum pd_delivery_state s);
/* The deliveries of dedup_key, at most max, by target (trigger before resolve). A
 * database older than the delivery log (schema < 6) knows only what is still in the
 * outbox: a delivered row left no trace there. */
int pd_store_deliveries(struct pd_store *st, const char *dedup_key, struct pd_delivery *out,
			size_t max, size_t *n, struct pd_err *err);
/* The newest incident that has probe among its members: *id (0 when none) and its key
 * (cap bytes). */
int pd_store_probe_incident(struct pd_store *st, const char *probe, int64_t *id, char *key,
			    size_t cap, struct pd_err *err);

/* ---- TLS certificate expiry ----
 * The earliest notAfter (unix seconds) of a probe's TLS chain, as last seen at
 * checked_ms. Saved in the current batch; a probe without a handshake keeps its row. */
int pd_store_cert_save(struct pd_store *st, const char *probe, int64_t not_after_s,
		       int64_t checked_ms, struct pd_err *err);
/* Every probe's row, by name; fn returning non-zero stops (and is returned). */
typedef int (*pd_store_cert_fn)(void *ud, const char *probe, int64_t not_after_s,
				int64_t checked_ms);
int pd_store_certs(struct pd_store *st, pd_store_cert_fn fn, void *ud, struct pd_err *err);
/* One probe's notAfter, -1 when none is stored. */
int pd_store_cert_get(struct pd_store *st, const char *probe, int64_t *not_after_s,
		      struct pd_err *err);
/* ---- silences (maint.h) ----
 * Add one (in the current batch: flush to commit; sets sl->id). Expire one: its until_ms
 * becomes now, *n = 1, or 0 when it is unknown or over already. List those with until_ms
 * > min_until_ms, oldest first (the row passed to fn is valid during the call). */
int pd_store_silence_add(struct pd_store *st, struct pd_silence *sl, struct pd_err *err);
int pd_store_silence_expire(struct pd_store *st, int64_t id, int64_t now_ms, int *n,
			    struct pd_err *err);
typedef int (*pd_store_silence_fn)(void *ud, const struct pd_silence *s);
int pd_store_silences(struct pd_store *st, int64_t min_until_ms, pd_store_silence_fn fn, void *ud,
		      struct pd_err *err);
/* PRAGMA data_version: changes when another connection commits (cheap; the daemon reads
 * the silences again only then). */
int pd_store_data_version(struct pd_store *st, int64_t *v, struct pd_err *err);

#endif
