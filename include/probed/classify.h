/* classify.h — the playbook's P1–P4 ladder and three outage modes, as a pure function
 * of windowed facts (computed from SQLite, never from in-memory guesses) and rules.
 * No I/O, no clock reads: (facts, rules, now) -> verdict. Unit-tested in isolation.
 *
 * Defaults (all configurable, see struct pd_classify_rules):
 *   P1  every core probe failing (5xx, or timing out for > 60 s); or the key is rejected
 *       (401/403) anywhere; (optionally: one core family down, the upstream runbook's rule)
 *   P2  one endpoint family down while others are up; or p95 >= 3x baseline;
 *       or window error rate in [1%, 10%)
 *   P3  a freshness probe is late (batch slowness); escalates to P2 after 30 min
 *   P4  a probe marked severity: P4 fails; or shape drift. Never pages.
 * Modes: 1 upstream changed (some endpoints 5xx/shape while the reference probe's family,
 *          `classify: reference_probe`, default userid, is green),
 *        2 database bottleneck (everything slow or failing at once, incl. tier: site),
 *        3 queue/worker backed up (freshness late while the synchronous members are green),
 *        4 API key rejected.
 */
#ifndef PROBED_CLASSIFY_H
#define PROBED_CLASSIFY_H
#include <stddef.h>
#include <stdint.h>
#include "probed/config.h"
#include "probed/eval.h"
#include "probed/outcome.h"

/* Windowed facts about one probe (from the store's per-minute aggregates). */
struct pd_window {
	int64_t count; /* results in the window */
	int64_t failures;
	double error_rate;               /* failures / count; 0 when count == 0 */
	double p50_ms, p95_ms;           /* -1 when no data */
	int64_t by_class[PD_OUT__COUNT]; /* failures per outcome class */
};

enum pd_mode {
	PD_MODE_NONE = 0,
	PD_MODE_UPSTREAM = 1, /* Mode 1 */
	PD_MODE_DATABASE = 2, /* Mode 2 */
	PD_MODE_QUEUE = 3,    /* Mode 3 */
	PD_MODE_KEY = 4,      /* API key rejected */
	PD_MODE_CERT = 5,     /* TLS certificate expiring (never from the
				    * classifier: pd_incident_cert opens these) */
};

/* What the classifier knows about one probe. */
struct pd_class_input {
	const char *name;
	const char *family;
	enum pd_tier tier;
	int freshness;              /* 1 = a freshness (batch) probe */
	int severity_override;      /* 0, or 1..4 from `severity: Pn` */
	int control;                /* control probes are ignored by the ladder */
	enum pd_eval_status status; /* paging state machine (DOWN = confirmed) */
	int consec_fail;
	int last_outcome;       /* enum pd_outcome of the latest result */
	int64_t fail_since_ms;  /* first failure of the current run, 0 when OK */
	struct pd_window win;   /* the rolling window (window_ms) */
	double baseline_p95_ms; /* -1 when unknown (rules->baseline_latency_ms is used) */
	int shape_drift;        /* 1 = structure changed from the last 24 h fingerprint */
};

/* struct pd_classify_rules lives in config.h (it is configuration: `classify:`). */
void pd_classify_rules_default(struct pd_classify_rules *r);

struct pd_verdict {
	int severity; /* 1..4, 0 = nothing wrong */
	enum pd_mode mode;
	char reason[256];    /* the rule that fired: "every core probe failing (3/3)" */
	char evidence[512];  /* facts: "post-detail: http_5xx 100% over 5m; userid: ok" */
	const char *runbook; /* "runbooks/mode1-upstream-changed.md" or NULL */
	int pages;           /* 1 for P1/P2 */
};

/* Classify the situation of the probes flagged in member[] (an incident's probes), in the
 * context of all n probes. member may be NULL (= all probes). incident_open_ms is when
 * the incident opened (for P3 -> P2 escalation), 0 if new. */
void pd_classify(const struct pd_class_input *in, size_t n, const int *member,
		 const struct pd_classify_rules *rules, int64_t now_ms, int64_t incident_open_ms,
		 struct pd_verdict *out);

/* Which probes are alerting right now on their own (confirmed DOWN, or window rules:
 * error rate >= low, p95 >= factor x baseline, freshness late, shape drift).
 * alerting[i] is set to 0 or the severity (1..4) that probe alone implies. */
void pd_classify_alerting(const struct pd_class_input *in, size_t n,
			  const struct pd_classify_rules *rules, int64_t now_ms, int *alerting);

/* the mode probe k's own failure indicates, in the context of all n probes:
 * pd_classify() with k as the only member. A rejected key -> KEY; every synchronous probe
 * bad (k among them) -> DATABASE; k failing upstream-style while the reference stays
 * green -> UPSTREAM; k a late freshness probe -> QUEUE (whatever else fails: the batch
 * is its own cause unless Mode 2 covers it); else NONE (a timeout, a connect error, one
 * slow endpoint, a pinned-P4 probe, drift: the cause cannot be told from k alone).
 * The incident manager groups alerts by it (incident.h, "Grouping"). Pure. */
enum pd_mode pd_classify_mode_of(const struct pd_class_input *in, size_t n, size_t k,
				 const struct pd_classify_rules *rules, int64_t now_ms);
/* The mode's title in the user's words: Mode 1 names rules->upstream ("Mode 1: upstream
 * TikTok API down or changed"; no name: "Mode 1: upstream API down or changed"), written
 * into buf; the other modes return pd_classify_mode_title(m). r NULL: pd_classify_mode_title(m). */
const char *pd_classify_mode_title_of(enum pd_mode m, const struct pd_classify_rules *r, char *buf,
				      size_t cap);
const char *pd_classify_mode_str(enum pd_mode m); /* "none", "mode1-upstream", ... */
const char *
pd_classify_mode_title(enum pd_mode m); /* "Mode 1: upstream TikTok API down or changed" */
const char *pd_classify_mode_runbook(enum pd_mode m); /* "mode1-upstream-changed.md" */
/* "P1".."P4" ("-" for 0) */
const char *pd_classify_severity_str(int severity);
/* The one parser of a severity word: exactly "P1".."P4" -> 1..4; anything else (NULL,
 * "p1", "P5", "P12", "") -> 0. Config (`severity:`), event JSON and the CLI all use it. */
int pd_classify_severity_parse(const char *s);

#endif
