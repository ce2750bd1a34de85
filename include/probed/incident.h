/* incident.h — incidents: group the probes that fail together, keep severity and mode
 * from the classifier, keep a timeline, and queue notifications (in the store's batch).
 *
 *   probe alerting (confirmed DOWN, or a window rule)
 *        │ pd_classify_mode_of: the mode its own failure indicates
 *        ▼
 *   join the open incident whose last join is within correlation_ms AND that plausibly
 *   shares its cause (Grouping, below), else open a new one (stable key
 *   "probed:[LOCATION/]inc-<opened_ms>[-N]", the dedup key of every notification)
 *        │
 *        ▼ every update: pd_classify() over the members, in the context of all probes
 *   severity only ever goes up while open (P3 -> P2 -> P1: "severity changed", re-sent
 *   to every target routed for the new severity); mode recorded with its evidence
 *        │
 *        ▼ every member recovered (state UP, last result OK, window clear if it joined
 *   on a window rule) ──► resolved: resolve sent to every target that got a trigger
 *
 * Grouping. An incident's cause is its mode, or, before it has one, the mode
 * of the probe that opened it. A probe indicating mode W joins an incident of cause H
 * when: H == W (preferred); H or W is Mode 2 (everything slow absorbs the rest), unless
 * the other is a rejected key; W is none, H is Mode 1 and the probe is synchronous. A
 * rejected key joins only a rejected key. Probes that indicate a mode are placed first
 * in a pass, so those that do not find their incident. Certificate, SLO and drill
 * incidents never take probes. When a Mode 2 probe joins an outage of another mode, the
 * incident widens to Mode 2 (a "mode_identified" row). Two incidents opened in the same
 * millisecond get keys "...inc-<ms>" and "...inc-<ms>-2".
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
struct pd_incidents *pd_incident_new(struct pd_store *st, const struct pd_clock *clock,
				     struct pd_err *err);
void pd_incident_free(struct pd_incidents *m);
/* The live config (targets, location, classifier rules); borrowed until the next call. */
void pd_incident_set_config(struct pd_incidents *m, const struct pd_config *cfg);
/* the silences in force (probectl silence add; borrowed until the next call).
 * The config's maintenance windows come with pd_incident_set_config. While every failing
 * member of an incident is held by a window or a silence, its pages are held: nothing is
 * queued, the timeline gets a "maintenance" row (by what, until when), the log a line.
 * When the hold ends and a member still fails, it pages at once (the next pass, within a
 * second in the daemon); when every member recovers first, an incident that never paged
 * closes quietly (nothing sent). A probe that is not held pages as usual, and so does an
 * incident that has one among its failing members. */
void pd_incident_set_silences(struct pd_incidents *m, const struct pd_silence *s, size_t n);
/* Is the probe held at now (by a window of the live config or a silence)? 1 and *hit. */
int pd_incident_held(const struct pd_incidents *m, const char *probe, const char *family,
		     int64_t now, struct pd_maint_hit *hit);
/* Load open incidents from the store (after a restart). */
int pd_incident_load(struct pd_incidents *m, struct pd_err *err);
/* Forget the open incidents held in memory and read them again from the store (after a
 * failed commit rolled back what the memory already held). Errors as pd_incident_load. */
int pd_incident_reload(struct pd_incidents *m, struct pd_err *err);

/* Feed the current facts of all n probes (last[i] may be NULL: no result yet). Opens,
 * joins, escalates and resolves incidents, queueing notifications and timeline rows in
 * the current batch. Returns how many notifications were queued. */
int pd_incident_update(struct pd_incidents *m, const struct pd_class_input *in,
		       const struct pd_result *const *last, size_t n, int64_t now_ms);

/* Open incidents by severity: counts[1..4]. Returns the total open. */
size_t pd_incident_open_counts(const struct pd_incidents *m, size_t counts[5]);
/* Is probe a member of an open incident? */
int pd_incident_has_probe(const struct pd_incidents *m, const char *probe);
/* The open incidents pd_incident_update() manages (outages: not drills, certificates or
 * SLOs). With none open and no probe alerting, an update has nothing to do. */
size_t pd_incident_open_outages(const struct pd_incidents *m);

/* the SLO o's status s at now: opens its burn-rate incident when a rule fires
 * (severity from the rule, evidence = the budget figures, runbook
 * runbooks/slo-burn-rate.md, key "probed:[LOCATION/]slo-NAME-<opened_ms>"), escalates
 * it when a more severe rule fires (never lowers it while open), resolves it when no
 * rule fires. One incident per objective, apart from probe incidents. Returns the
 * number of notifications queued. */
int pd_incident_slo(struct pd_incidents *m, const struct pd_slo_cfg *o,
		    const struct pd_slo_status *s, int64_t now);
/* Resolve the open burn-rate incidents whose objective the live config no longer has. */
void pd_incident_slo_prune(struct pd_incidents *m, int64_t now);

/* Queue a clearly marked drill incident of the given severity (1..4) through the real
 * routing ("drill": true, "[Pn] DRILL" in the summary). It is closed in probed's own
 * records at once; the on-call resolves the pager's copy when the ritual is done.
 * Returns the number of notifications queued, or a negative pd_errc. */
int pd_incident_drill(struct pd_incidents *m, int severity, int64_t now_ms, struct pd_err *err);
/* the certificate-expiry incident of one probe, apart from outages (it never
 * joins nor absorbs another incident; mode PD_MODE_CERT, runbook cert-expiry.md, key
 * "probed:[LOCATION/]cert-PROBE-<opened_ms>"). severity 1..4 (see pd_tlscert_severity):
 * opens one (trigger to every target routed for it) or escalates the open one (a more
 * urgent level re-triggers; a less urgent one only updates the reason); 0: resolves the
 * open one (certificate renewed, probe removed or cert_expiry off). reason is the
 * pd_tlscert_reason text. Returns the number of notifications queued. */
int pd_incident_cert(struct pd_incidents *m, const char *probe, int severity, const char *reason,
		     int64_t now_ms);

/* The dedup key pd_incident_drill(m, ..., now_ms) gives its drill. */
void pd_incident_drill_key(const struct pd_incidents *m, int64_t now_ms, char *out, size_t cap);

/* ---- one severity, everywhere ----
 * The severity the status page, /api/status, /metrics and probectl show for a probe is the
 * classifier's, through this manager: that of the open incident the probe is a member of
 * (the most severe, should it be in two). The map is built from the store's incident rows,
 * so the daemon's views and probectl (another process) read the same thing the
 * notifications were sent with. A probe in no open incident has none (0), also while its
 * own page is open: the ladder does not rank such a page (the control target's
 * "monitoring host degraded" page, pages held while the control target fails) and no
 * second rule guesses for it. Drills and incidents not yet declared (severity 0) give none.
 */
struct pd_incident_sev {
	char probe[128];
	int severity; /* 1..4 */
	char key[96]; /* the incident's dedup key */
};
struct pd_incident_sevmap {
	struct pd_incident_sev *v; /* sorted by probe name (malloc'd) */
	size_t n, cap;
	size_t counts[5]; /* open declared incidents by severity, counts[1..4] */
};
void pd_incident_sevmap_init(struct pd_incident_sevmap *m);
void pd_incident_sevmap_cleanup(struct pd_incident_sevmap *m);
/* Take one incident row: its members get its severity unless they have a higher one.
 * Resolved rows, drills and rows without a severity are skipped. Pure; 0 or PD_ERR_NOMEM. */
int pd_incident_sevmap_add(struct pd_incident_sevmap *m, const struct pd_incident_row *r);
/* Add every open incident of the store. 0, or the store's error (err set). */
int pd_incident_sevmap_load(struct pd_incident_sevmap *m, struct pd_store *st, struct pd_err *err);
/* The probe's severity, 1..4, or 0 when it is in no open incident; *key (when key is not
 * NULL) gets the incident's dedup key (borrowed from m), or NULL. */
int pd_incident_sevmap_of(const struct pd_incident_sevmap *m, const char *probe, const char **key);

/* The endpoint a person reads in titles, drafts and on the status page — one rule for all:
 * the path of the URL as written, without query or fragment ("https://h/post-detail/?url=x"
 * -> "/post-detail/"); when there is no path beyond "/", or it is not plain text (holds
 * "${"), or there is no URL: the family (pd_incident_endpoint: else the probe's name).
 * Always terminated; cut to cap - 1 bytes. */
void pd_incident_endpoint_label(const char *url_display, const char *family, char *out, size_t cap);
void pd_incident_endpoint(const struct pd_probe_cfg *p, char *out, size_t cap);

/* The runbook link every payload carries for a runbook file ("mode1-upstream-changed.md"):
 * BASE_URL/file (trailing slashes of base_url dropped) when runbooks.base_url is set,
 * else the relative "runbooks/file". */
void pd_incident_runbook_url(const char *base_url, const char *file, char *out, size_t cap);

#endif
