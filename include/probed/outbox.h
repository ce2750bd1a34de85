/* outbox.h — durable, at-least-once delivery of page events.
 *
 * Rows are written by the caller (pd_store_outbox_add) in the same batch as the state
 * change that produced them; pd_outbox_kick() is called after the batch commits and
 * sends what is due. A row is deleted only after the receiver accepted it (2xx).
 * Per target, rows go strictly in order, one in flight at a time, so a resolve never
 * overtakes its trigger, and a dead target never stalls the others. Transient failures
 * (timeouts, connect errors, 5xx, 429) back off exponentially with jitter (honouring
 * Retry-After); permanent ones (other 4xx) are dead-lettered and logged loudly.
 * A kill -9 between "accepted" and "deleted" re-sends the row after restart with the
 * same dedup key, which every receiver uses to deduplicate.
 *
 * Issue 3: each target type renders its own request from the stored neutral event
 * (notify.h). `exec` targets run their command instead of an HTTP request (exit 0 =
 * delivered, anything else or the timeout = transient). Alertmanager targets also keep
 * what they delivered in the store (pd_store_am_*) and re-post it every
 * resend_interval while firing and for resend_resolved_for after the resolve; a resolve
 * row resends the stored label sets with endsAt. Routing is not decided here: the
 * caller queues a trigger only for targets that take its severity
 * (pd_notify_routes) and a resolve for every target that got the trigger. */
#ifndef PROBED_OUTBOX_H
#define PROBED_OUTBOX_H
#include <ev.h>
#include "probed/clock.h"
#include "probed/config.h"
#include "probed/runner.h"
#include "probed/store.h"

struct pd_outbox;

/* Borrowed: loop, store, runner, clock (may be NULL = real) must outlive the outbox. */
struct pd_outbox *pd_outbox_new(struct ev_loop *loop, struct pd_store *store,
				struct pd_runner *runner, const struct pd_clock *clock,
				struct pd_err *err);
void pd_outbox_free(struct pd_outbox *ob);
/* Point at the live config's notify targets (borrowed until the next call). */
void pd_outbox_set_config(struct pd_outbox *ob, const struct pd_config *cfg);
/* Send only the rows of dedup_key (NULL or "": all), each only when it is its target's
 * head (the strict per-target order holds), and arm no timer for later rows: for
 * `probectl drill`, which must not deliver the daemon's rows beside it. */
void pd_outbox_only(struct pd_outbox *ob, const char *dedup_key);
/* Send whatever is due now; re-arms its timer for the next due row. */
void pd_outbox_kick(struct pd_outbox *ob);
/* Requests in flight. */
size_t pd_outbox_inflight(const struct pd_outbox *ob);
/* Counters since start. */
struct pd_outbox_counters {
	uint64_t sent, retried, dead;
};
void pd_outbox_counters(const struct pd_outbox *ob, struct pd_outbox_counters *c);

/* Backoff for attempt n (0-based) in ms before jitter: 1s, 2s, 4s … capped at 5 min
 * (and then at the target's policy max_backoff). */
int64_t pd_outbox_backoff_ms(int attempt);

/* A target's delivery policy: its `retry:` and `breaker:` keys, defaults by role.
 * Page-role targets (pagerduty, opsgenie, or role: page) must reach the on-call soon after
 * the pager is back: their backoff is capped at 5 s by default, and their breaker's
 * cool-down never exceeds that cap (a pager outage ends -> the queued page goes within
 * max_backoff). Others back off to 5 min and cool down 60 s .. 10 min. Retry-After (both
 * forms) is honoured up to max_retry_after (default 2 min); a 429 without one waits
 * PD_OUTBOX_429_WAIT_MS (or max_backoff when longer), capped the same way. */
struct pd_outbox_policy {
	int64_t max_backoff_ms;
	int64_t max_retry_after_ms;
	int breaker_failures;
	int64_t cooldown_ms;
	int64_t max_cooldown_ms;
};
#define PD_OUTBOX_PAGE_MAX_BACKOFF_MS 5000
#define PD_OUTBOX_MAX_BACKOFF_MS 300000
#define PD_OUTBOX_MAX_RETRY_AFTER_MS 120000
#define PD_OUTBOX_429_WAIT_MS 30000
void pd_outbox_policy(const struct pd_notify_cfg *t, struct pd_outbox_policy *out);

/* ---- per-target circuit breaker ----
 *
 *   CLOSED ──(PD_OUTBOX_BREAKER_FAILURES transient failures in a row)──► OPEN
 *     ▲                                                                   │ cool-down
 *     │ delivered (or a permanent 4xx: the target answers)                ▼ elapsed
 *     └──────────────────────────── HALF_OPEN ◄───────────────────────────┘
 *                                       │ the one probe request fails
 *                                       └──► OPEN, cool-down doubled (max 10 min)
 * (failures, cool-down and its maximum come from the target's policy: pd_outbox_policy)
 *
 * While OPEN nothing is sent to the target: its head row is deferred to the end of
 * the cool-down (rows wait, in order, in the database). HALF_OPEN sends exactly one
 * request (the head row; a target never has more than one in flight). Other targets
 * are never affected. State changes are logged and recorded as events
 * ("breaker_open", "breaker_closed"). Breakers live in memory: after a restart every
 * target starts CLOSED, its rows still deferred as stored. */
#define PD_OUTBOX_BREAKER_FAILURES 5
#define PD_OUTBOX_BREAKER_COOLDOWN_MS 60000
#define PD_OUTBOX_BREAKER_MAX_COOLDOWN_MS 600000
enum pd_breaker_state { PD_BREAKER_CLOSED = 0, PD_BREAKER_OPEN = 1, PD_BREAKER_HALF_OPEN = 2 };
struct pd_outbox_breaker {
	enum pd_breaker_state state;
	int failures;          /* consecutive transient failures */
	int64_t open_until_ms; /* OPEN: when the half-open probe may go (UTC ms) */
	int64_t cooldown_ms;   /* current cool-down (0 while CLOSED) */
	uint64_t opened;       /* times it opened since start */
};
/* The breaker of target (by name); a target never seen reads CLOSED with zeros. */
void pd_outbox_breaker(const struct pd_outbox *ob, const char *target,
		       struct pd_outbox_breaker *out);
/* "closed", "open", "half-open". */
const char *pd_outbox_breaker_str(enum pd_breaker_state s);
/* Alertmanager re-sends since start (accepted, failed). */
struct pd_outbox_am_counters {
	uint64_t resent, failed;
};
void pd_outbox_am_counters(const struct pd_outbox *ob, struct pd_outbox_am_counters *c);

#endif
