/* incident.h — incidents: group the probes that fail together, keep severity and mode
 * from the classifier, keep a timeline, and queue notifications (in the store's batch).
 *
 *   probe alerting (confirmed DOWN, or a window rule) ──► join the open incident whose
 *   last join is within correlation_ms, else open a new one (stable key
 *   "probed:[LOCATION/]inc-<opened_ms>", the dedup key of every notification)
 *        │
 *        ▼ every update: pd_classify() over the members, in the context of all probes
 *   severity only ever goes up while open (P3 -> P2 -> P1: "severity changed", re-sent
 *   to every target routed for the new severity); mode recorded with its evidence
 *        │
 *        ▼ every member recovered (state UP, last result OK, window clear if it joined
 *   on a window rule) ──► resolved: resolve sent to every target that got a trigger
 *
 * Membership. Every probe that alerts joins once and stays a member until the incident
 * resolves; there is no cap on the number of members (they are all stored, in join
 * order, and reloaded after a restart), so a probe never "joins" twice.
 *
 * Notifications: one incident, one trigger per target, whatever the number of probes.
 *   declared          trigger to every target routed for the severity
 *   severity changed  trigger again to every target routed for the new severity (the
 *                     priority is what changed; at most 3 steps, P4 -> P1)
 *   probe joined      nothing to a target that has the trigger: the incident is updated
 *                     in the store (members, title, evidence, status draft, timeline),
 *                     not re-paged. A routed target without the trigger yet (added by a
 *                     reload, or its row could not be queued) gets its first one.
 *   resolved          resolve to every target that got a trigger
 * So each target gets at most 4 triggers and 1 resolve per incident. Payloads list the
 * first 64 probes by name ("probes") and count them all ("probe_count").
 *
 * The manager reads the config (targets, location, rules) and writes only through the
 * store; the caller commits the batch (the daemon's ev_prepare) and kicks the outbox. */
#ifndef PROBED_INCIDENT_H
#define PROBED_INCIDENT_H
#include <stddef.h>
#include <stdint.h>
#include "probed/classify.h"
#include "probed/clock.h"
#include "probed/config.h"
#include "probed/result.h"
#include "probed/store.h"

struct pd_incidents;

/* Borrowed: store and clock must outlive the manager. */
struct pd_incidents *pd_incidents_new(struct pd_store *st, const struct pd_clock *clock,
				      struct pd_err *err);
void pd_incidents_free(struct pd_incidents *m);
/* The live config (targets, location, classifier rules); borrowed until the next call. */
void pd_incidents_set_config(struct pd_incidents *m, const struct pd_config *cfg);
/* Load open incidents from the store (after a restart). */
int pd_incidents_load(struct pd_incidents *m, struct pd_err *err);

/* Feed the current facts of all n probes (last[i] may be NULL: no result yet). Opens,
 * joins, escalates and resolves incidents, queueing notifications and timeline rows in
 * the current batch. Returns how many notifications were queued. */
int pd_incidents_update(struct pd_incidents *m, const struct pd_class_input *in,
			const struct pd_result *const *last, size_t n, int64_t now_ms);

/* Open incidents by severity: counts[1..4]. Returns the total open. */
size_t pd_incidents_open_counts(const struct pd_incidents *m, size_t counts[5]);
/* Is probe a member of an open incident? */
int pd_incidents_has_probe(const struct pd_incidents *m, const char *probe);

/* Queue a clearly marked drill incident of the given severity (1..4) through the real
 * routing ("drill": true, "[Pn] DRILL" in the summary). It is closed in probed's own
 * records at once; the on-call resolves the pager's copy when the ritual is done.
 * Returns the number of notifications queued, or a negative pd_errc. */
int pd_incidents_drill(struct pd_incidents *m, int severity, int64_t now_ms, struct pd_err *err);

/* Endpoint label for a probe: its URL's path ("/post-detail/"), else the family. */
void pd_incident_endpoint(const struct pd_probe_cfg *p, char *out, size_t cap);

#endif
