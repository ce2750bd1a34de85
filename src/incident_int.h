/* incident_int.h — what the files of the incident manager (src/incident*.c) share and
 * nothing else may see: the open incidents and their members, and the helpers that
 * store, notify and draft them. The public API is include/probed/incident.h.
 * incident.c — the manager: members, loading, grouping by cause, classify / escalate /
 * resolve; incident_notify.c — titles, status drafts and the notifications routed to the
 * targets; incident_kinds.c — certificate, SLO burn-rate and drill incidents. */
#ifndef PROBED_INCIDENT_INT_H
#define PROBED_INCIDENT_INT_H
#include <stddef.h>
#include <stdint.h>
#include "probed/incident.h"

#define INC_MAX_OPEN 32
#define INC_DRAFT_MAX 64  /* affected endpoints named in the status draft */
#define INC_TITLE_MAX 128 /* a mode's title (pd_incident_mode_title's buffer) */

/* Membership has no cap: every probe that joins is kept (and stored) until the incident
 * resolves, so a probe is a member once and joins once, whatever the number of probes.
 * The members sit in join order in a growing array, indexed by an open-addressing hash
 * of the name so that the per-pass lookups stay O(1). Members never leave an open
 * incident. */
struct inc_member {
	char *probe;
	int by_window; /* joined on a window rule (not a confirmed DOWN) */
};

struct inc {
	struct pd_incident_row row;
	struct inc_member *m; /* join order; m[0] opened the incident */
	size_t nm, mcap;
	uint32_t *slot;  /* hash of member names: index + 1, 0 = empty */
	size_t nslot;    /* a power of two, at least twice nm */
	char **notified; /* targets that have the trigger of this incident */
	size_t nn;
	int joined;         /* a probe joined after the incident was declared */
	int held;           /* its pages are held by maintenance (a row says so) */
	enum pd_mode cause; /* the opener's own mode, until the incident has one */
};

struct pd_incidents {
	struct pd_store *st;
	const struct pd_clock *clock;
	const struct pd_config *cfg;
	const struct pd_silence *sil; /* silences in force (borrowed) */
	size_t nsil;
	struct inc *open[INC_MAX_OPEN];
	size_t nopen;
};

/* Who gets a notification (the rule is in incident.h, "Notifications"). */
enum inc_to {
	INC_TO_ROUTED,   /* trigger: every target routed for the severity (declared, escalated) */
	INC_TO_MISSING,  /* trigger: routed targets that do not have this incident yet (joined) */
	INC_TO_NOTIFIED, /* resolve: every target that got a trigger */
};

/* ---- incident.c: one incident, its members and its rows ---- */
void pd_incident_inc_free(struct inc *i);
/* An SLO burn-rate incident (its one member is "slo:NAME"). */
int pd_incident_is_slo(const struct inc *i);
/* The member's index in join order, or -1. */
int pd_incident_member_idx(const struct inc *i, const char *probe);
/* Add probe as a member (a no-op when it already is one): its index, or -1 when out of
 * memory (the incident is unchanged then). */
int pd_incident_member_add(struct inc *i, const char *probe, int by_window);
int pd_incident_notified_has(const struct inc *i, const char *target);
/* Record that target has the trigger. 0, or -1 when out of memory. */
int pd_incident_notified_add(struct inc *i, const char *target);
/* The first max members (all of them with max = (size_t)-1) as a JSON array. */
char *pd_incident_members_json(const struct inc *i, size_t max);
/* Write the incident's row (members and notified targets included); 0 or logged. */
int pd_incident_save(struct pd_incidents *m, struct inc *i);
/* A timeline row (redacted). */
void pd_incident_event(struct pd_incidents *m, struct inc *i, int64_t now, const char *kind,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A new open incident with a fresh key (the newest open one when every slot is taken),
 * or NULL when out of memory. */
struct inc *pd_incident_open(struct pd_incidents *m, int64_t now);
/* Free open incident idx and drop it from the open list. */
void pd_incident_close(struct pd_incidents *m, size_t idx);

/* ---- incident_notify.c: words and notifications ---- */
/* The mode's title in the user's words (buf: INC_TITLE_MAX bytes). */
const char *pd_incident_mode_title(const struct pd_incidents *m, int mode, char *buf);
/* The configured probe of that name, or NULL. */
const struct pd_probe_cfg *pd_incident_cfg_probe(const struct pd_incidents *m, const char *name);
/* Append p's endpoint to list (n entries, their text in buf) unless list or other (the
 * nother endpoints already listed elsewhere) has it. */
void pd_incident_draft_add(const struct pd_probe_cfg *p, char (*buf)[96], const char **list,
			   size_t *n, const char *const *other, size_t nother);
/* The status-page draft for the incident's current state. */
void pd_incident_draft(struct pd_incidents *m, struct inc *i, const struct pd_class_input *in,
		       size_t n, int64_t now);
/* Queue action ("trigger" | "resolve") for the incident to the targets `to` selects:
 * how many rows were queued. */
int pd_incident_notify(struct pd_incidents *m, struct inc *i, const char *action, enum inc_to to,
		       const struct pd_class_input *in, const struct pd_result *const *last,
		       size_t n, int64_t now);
/* The title from the mode and the members' endpoints. */
void pd_incident_title(struct pd_incidents *m, struct inc *i);

#endif
