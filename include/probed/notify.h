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
};
char *pd_notify_event_json(const struct pd_notify_event *ev);

enum pd_notify_verdict {
	PD_NOTIFY_DELIVERED = 0,
	PD_NOTIFY_RETRY = 1,      /* timeouts, connect errors, 5xx, 429: transient */
	PD_NOTIFY_PERMANENT = 2,  /* other 4xx: dead-letter, log loudly */
};
/* inadyn's check_error: classify a receiver's answer. */
enum pd_notify_verdict pd_notify_classify(const struct pd_response *resp);

#endif
