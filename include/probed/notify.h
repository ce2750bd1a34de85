/* notify.h — notification targets. One ops struct per target type, listed in an explicit
 * array in notify.c. The outbox stores a neutral event (the webhook body, no secrets);
 * each target renders its own request from it at send time, adding its secrets
 * (routing keys, auth headers) from the live config, so secrets never reach the DB. */
#ifndef PROBED_NOTIFY_H
#define PROBED_NOTIFY_H
#include <cjson/cJSON.h>
#include "probed/buf.h"
#include "probed/config.h"
#include "probed/err.h"
#include "probed/runner.h"

struct pd_notify_ops {
	enum pd_notify_type type;
	const char *name;   /* "webhook", "pagerduty" */
	/* Render the request body for event into body (JSON). 0 or negative pd_errc. */
	int (*render)(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
		      struct pd_err *err);
};

const struct pd_notify_ops *pd_notify_ops_for(enum pd_notify_type type);

/* The neutral event: {"event","dedup_key","probe","family","summary","reason","ts",
 * "consecutive_failures", "outcome", "location"?}. Returns a malloc'd JSON string. */
struct pd_notify_event {
	const char *event;      /* "trigger" | "resolve" */
	const char *dedup_key;
	const char *probe;
	const char *family;
	const char *tier;
	const char *summary;
	const char *reason;
	const char *outcome;
	const char *location;   /* may be NULL */
	int64_t ts_ms;
	int consecutive_failures;
	int64_t down_since_ms;  /* first failure (resolve: how long it lasted) */
	/* set by the incident layer (issue 3); NULL/0 = omitted */
	const char *severity;   /* "P1".."P4" */
	const char *mode;       /* "mode1-upstream", ... */
	const char *mode_title; /* "Mode 1: upstream TikTok API down or changed" */
	const char *runbook;    /* "runbooks/mode1-upstream-changed.md" */
	int64_t incident_id;
	const char *probes_json;/* JSON array of the incident's probes */
	const char *status_message; /* drafted status-page text */
	const char *evidence;
	int drill;              /* 1 = a drill: clearly marked, routed like the real thing */
};
char *pd_notify_event_json(const struct pd_notify_event *ev);

/* Does target t take events of this severity (1..4)? The playbook's routing:
 * P1/P2 page, P3 chat only, P4 ticket only (see notify.c for the per-type defaults). */
int pd_notify_routes(const struct pd_notify_cfg *t, int severity);

enum pd_notify_verdict {
	PD_NOTIFY_DELIVERED = 0,
	PD_NOTIFY_RETRY = 1,      /* timeouts, connect errors, 5xx, 429: transient */
	PD_NOTIFY_PERMANENT = 2,  /* other 4xx: dead-letter, log loudly */
};
/* inadyn's check_error: classify a receiver's answer. */
enum pd_notify_verdict pd_notify_classify(const struct pd_response *resp);

#endif
