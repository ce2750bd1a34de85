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
 * same dedup key, which every receiver uses to deduplicate. */
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
/* Send whatever is due now; re-arms its timer for the next due row. */
void pd_outbox_kick(struct pd_outbox *ob);
/* Requests in flight. */
size_t pd_outbox_inflight(const struct pd_outbox *ob);
/* Counters since start. */
struct pd_outbox_counters {
	uint64_t sent, retried, dead;
};
void pd_outbox_counters(const struct pd_outbox *ob, struct pd_outbox_counters *c);

/* Backoff for attempt n (0-based) in ms before jitter: 1s, 2s, 4s … capped at 5 min. */
int64_t pd_outbox_backoff_ms(int attempt);

#endif
