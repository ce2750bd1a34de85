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
#include "probed/store.h"
#include <ev.h>

enum pd_notify_verdict {
	PD_NOTIFY_DELIVERED = 0,
	PD_NOTIFY_RETRY = 1,     /* timeouts, connect errors, 5xx, 429: transient */
	PD_NOTIFY_PERMANENT = 2, /* other 4xx: dead-letter, log loudly */
};

/* what the generic parts (config.c, outbox.c) know about a type, as flags. */
#define PD_NOTIFY_F_URL_REQUIRED 0x01u /* `url` required (else default_url, or none) */
#define PD_NOTIFY_F_NO_URL 0x02u       /* `url` and `headers` refused (exec) */
#define PD_NOTIFY_F_URL_SECRET 0x04u   /* the URL is a credential (Slack): masked */
#define PD_NOTIFY_F_COMMAND 0x08u      /* delivered by running t->command (notify_exec) */
#define PD_NOTIFY_F_RESENDS 0x10u      /* Alertmanager's re-sends (pd_notify_am_*) */
#define PD_NOTIFY_F_IDEMPOTENCY 0x20u  /* send the Idempotency-Key header */

/* A target type: one file (src/notify_<name>.c) and one line in notify.c's table; the
 * type's number (enum pd_notify_type for the first six) is its index in the table.
 * config.c and outbox.c have no per-type code: everything a type needs beyond one HTTP
 * POST of render()'s body is below. */
struct pd_notify_ops {
	enum pd_notify_type type; /* not read: a type's number is its index in the
				   * table; the first six set it to their enum value */
	const char *name;         /* "webhook", "pagerduty": the `type:` in probes.yaml */
	/* configuration. keys: the type's own keys (NULL-terminated; NULL = none)
	 * next to the common ones (name, type, url, headers, timeout, role, severities,
	 * retry, breaker); a key of another type is refused at its node. configure reads
	 * them through the pd_config_notify_* readers (config.h) into t (t->ext for keys
	 * without a field there, freed by cleanup) and reports problems at their nodes; it
	 * is called once the common keys are read. default_url when `url` is absent (and
	 * not required); default_role when `role` is absent (DEFAULT = ticket); schemes:
	 * the URL schemes taken (NULL = "http,https"; also curl's protocols). */
	const char *const *keys;
	int (*configure)(struct pd_notify_conf *nc, struct pd_notify_cfg *t);
	void (*cleanup)(struct pd_notify_cfg *t);
	const char *default_url;
	enum pd_notify_role default_role;
	const char *schemes;
	unsigned flags; /* PD_NOTIFY_F_* */
	/* optional: render with the wall clock (the outbox's injectable clock);
	 * preferred over render. */
	int (*render_at)(const struct pd_notify_cfg *t, const cJSON *event, int64_t now_ms,
			 struct pd_buf *body, struct pd_err *err);
	/* optional: transport options of the request the outbox built (another
	 * protocol's envelope, credentials, upload instead of POST); may replace the
	 * headers. Pointers set must live as long as t. 0 or negative pd_errc. */
	int (*prepare)(const struct pd_notify_cfg *t, struct pd_request *req, struct pd_err *err);
	/* optional: the answer's verdict (default pd_notify_classify) and the word
	 * for its status in logs (default "HTTP"). */
	enum pd_notify_verdict (*classify)(const struct pd_response *resp);
	const char *status_word;
	/* Render the request body for event into body (JSON). 0 or negative pd_errc. */
	int (*render)(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
		      struct pd_err *err);
	/* optional. The request URL when it is not t->url (Opsgenie's close,
	 * Alertmanager's /api/v2/alerts), appended to url. 0 or negative pd_errc. */
	int (*request_url)(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *url,
			   struct pd_err *err);
	/* optional. A header built from the target's secrets (Opsgenie's
	 * "Authorization: GenieKey KEY"): writes the value into val (cap bytes) and returns
	 * the header name, or NULL when there is none. The value is a secret. */
	const char *(*auth_header)(const struct pd_notify_cfg *t, char *val, size_t cap);
	/* optional. How many requests event takes (absent or <= 1: one, built by
	 * render and request_url). Opsgenie updates an alert it already has (an escalation)
	 * with one request per field: priority, message, description. The outbox sends them
	 * in order, each one after the previous was accepted, and retries the whole row (the
	 * requests are idempotent) when one fails. */
	int (*requests)(const struct pd_notify_cfg *t, const cJSON *event);
	/* With requests() > 1: request k (0-based) of event: its method ("POST", "PUT"), its
	 * body and its URL (appended to body and url). 0 or negative pd_errc. */
	int (*request_step)(const struct pd_notify_cfg *t, const cJSON *event, int k,
			    const char **method, struct pd_buf *body, struct pd_buf *url,
			    struct pd_err *err);
	/* optional. The receiver's receipt in an accepted (2xx) answer: Opsgenie
	 * answers 202 "Request will be processed" with a requestId, and processes the request
	 * later, so "delivered" only means "accepted"; the id makes it traceable (Opsgenie's
	 * GET /v2/alerts/requests/{id}). Writes it into out (cap bytes, [A-Za-z0-9._-] only)
	 * and returns 1; returns 0 when the answer carries none although the protocol
	 * promises one (the outbox logs a warning: the answer may not be Opsgenie's). */
	int (*receipt)(const struct pd_notify_cfg *t, const struct pd_response *resp, char *out,
		       size_t cap);
};

const struct pd_notify_ops *pd_notify_ops_for(enum pd_notify_type type);
/* the table. How many types; type i (NULL past the end); the type named name
 * (-1 when none); the names, NULL-terminated, and "a, b or c" for messages. */
size_t pd_notify_ntypes(void);
const struct pd_notify_ops *pd_notify_ops_at(size_t i);
int pd_notify_type_find(const char *name);
const char *const *pd_notify_type_names(void);
const char *pd_notify_type_list(void);

/* The neutral event: {"event","dedup_key","probe","family","summary","reason","ts",
 * "consecutive_failures", "outcome", "location"?}. Returns a malloc'd JSON string. */
struct pd_notify_event {
	const char *event; /* "trigger" | "resolve" */
	const char *dedup_key;
	const char *probe;
	const char *family;
	const char *tier;
	const char *summary;
	const char *reason;
	const char *outcome;
	const char *location; /* may be NULL */
	int64_t ts_ms;
	int consecutive_failures;
	int64_t down_since_ms; /* first failure (resolve: how long it lasted) */
	/* set by the incident layer; NULL/0 = omitted */
	const char *severity;   /* "P1".."P4" */
	const char *mode;       /* "mode1-upstream", ... */
	const char *mode_title; /* "Mode 1: upstream TikTok API down or changed" */
	const char *runbook;    /* "runbooks/mode1-upstream-changed.md" */
	int64_t incident_id;
	const char *probes_json;    /* JSON array of the incident's probes (the first 64 by name) */
	size_t probe_count;         /* how many probes the incident has in all (0 = omitted) */
	const char *status_message; /* drafted status-page text */
	const char *evidence;
	int drill;  /* 1 = a drill: clearly marked, routed like the real thing */
	int update; /* 1 = "update": true, a trigger for a target that already has
				 * this incident (an escalation): Opsgenie updates the alert */
};
char *pd_notify_event_json(const struct pd_notify_event *ev);
/* The stored event, unformatted, appended to body (webhook, exec); err names `what` when
 * it is over body's limit. */
int pd_notify_render_event(const cJSON *event, struct pd_buf *body, const char *what,
			   struct pd_err *err);
/* The version of the event JSON (the webhook body); the outbox adds it, and a unique
 * "event_id" (stable across retries of one event), to every payload at send time. */
#define PD_NOTIFY_PAYLOAD_VERSION 1

/* Does target t take events of this severity (1..4)? The playbook's routing:
 * P1/P2 page, P3 chat only, P4 ticket only (see notify.c for the per-type defaults).
 *
 * A target's `severities:` list wins; without one its role decides: page -> P1, P2;
 * chat -> P1..P3; ticket -> P1..P4. Default roles: pagerduty and opsgenie page, slack
 * chat, webhook, exec and alertmanager ticket (Alertmanager's own routes decide from
 * the severity label). So by default P1/P2 reach pagers, chat and tickets; P3 chat and
 * tickets but no pager; P4 tickets only. Out-of-range severities route nowhere.
 *
 * The caller (incident layer) applies this to triggers only: a resolve goes to every
 * target that got the trigger, whatever its severity, so no pager is left ringing. */
int pd_notify_routes(const struct pd_notify_cfg *t, int severity);

/* inadyn's check_error: classify a receiver's answer. */
enum pd_notify_verdict pd_notify_classify(const struct pd_response *resp);

/* ---- helpers ---- */
/* The event's "severity" (the incident's, parsed by pd_classify_severity_parse) as 1..4; missing or
 * invalid -> 1: an event without one (the control target's "monitoring host degraded"
 * page) still needs a pager severity, and an untriaged page is treated as a P1. */
int pd_notify_event_severity(const cJSON *event);
/* The effective role (DEFAULT resolved by type) and severities mask (bit n-1 = Pn). */
enum pd_notify_role pd_notify_role_of(const struct pd_notify_cfg *t);
unsigned pd_notify_severities_of(const struct pd_notify_cfg *t);
/* "page", "chat", "ticket" ("default" for DEFAULT). */
const char *pd_notify_role_str(enum pd_notify_role r);
/* Copy s into out (cap bytes), cut to at most max_bytes bytes on a UTF-8 character
 * boundary; with ellipsis, a cut string ends in "\u2026" (still within max_bytes).
 * cap must be > max_bytes. */
void pd_notify_truncate(char *out, size_t cap, const char *s, size_t max_bytes, int ellipsis);
/* Does summary already start with its severity tag ("[P1] ...", as the incident layer
 * writes it)? Renderers then do not add another. */
int pd_notify_summary_tagged(const char *summary);
/* The Opsgenie alias of a dedup key, the same in create, update and close: the key itself
 * when it is at most PD_NOTIFY_ALIAS_MAX bytes of [A-Za-z0-9._:-]; otherwise every other
 * byte ("/" of "probed:LOCATION/inc-...", spaces, UTF-8) becomes "_", the result is cut to
 * leave room, and "-" plus 16 hex digits of the key's 64-bit FNV-1a hash are appended, so
 * distinct keys keep distinct aliases and the alias needs no escaping in a URL path
 * (proxies and Opsgenie mis-route "%2F"). out needs PD_NOTIFY_ALIAS_MAX + 1 bytes. */
#define PD_NOTIFY_ALIAS_MAX 512
void pd_notify_alias(const char *key, char *out, size_t cap);
/* String member k of JSON object o, or dflt. */
const char *pd_notify_jstr(const cJSON *o, const char *k, const char *dflt);

/* ---- Alertmanager (notify_alertmanager.c) ----
 * Alertmanager forgets an alert whose endsAt has passed. Firing alerts are sent with
 * endsAt = now + PD_NOTIFY_AM_VALIDITY x resend_interval (as Prometheus does) and
 * re-sent every resend_interval by the outbox while they fire; resolved ones are
 * re-sent with their endsAt for resend_resolved_for (store: pd_store_am_*). */
#define PD_NOTIFY_AM_VALIDITY 4
/* The alert for event: labels {alertname (ProbedIncident for an incident, else
 * ProbeDown), probe, family, severity, mode, location?, incident_id?}, annotations
 * {summary, description, runbook?, dedup_key, status_message?}, starts_ms (down_since,
 * else ts, else now_ms), ends_ms = 0 for a trigger, for a resolve the event's ts (the
 * recovery time; now_ms when absent), never before starts_ms. out is filled (strings
 * malloc'd; pd_store_am_alert_cleanup). 0 or negative pd_errc. */
int pd_notify_am_alert(const struct pd_notify_cfg *t, const cJSON *event, int64_t now_ms,
		       struct pd_am_alert *out, struct pd_err *err);
/* The POST /api/v2/alerts body (a JSON array) for n alerts at now_ms. */
int pd_notify_am_body(const struct pd_notify_cfg *t, const struct pd_am_alert *alerts, size_t n,
		      int64_t now_ms, struct pd_buf *body, struct pd_err *err);

/* ---- exec (notify_exec.c) ----
 * Runs t->command (argv, no shell, PATH searched when argv[0] has no '/') in its own
 * process group with input on stdin (written without blocking the loop), stdout to
 * /dev/null, stderr inherited, signals at their defaults and unblocked, fds above 2
 * closed, and the caller's extra environment (the outbox passes PROBED_EVENT,
 * PROBED_DEDUP_KEY, PROBED_SEVERITY, PROBED_TARGET).
 * After t->timeout_ms the group gets SIGTERM, 2 s later SIGKILL. On the default loop
 * the child is watched with ev_child (libev reaps every child there); on other loops
 * with a pidfd. */
struct pd_exec;
struct pd_exec_result {
	int exited, exit_status; /* normal exit */
	int signaled, signal;    /* killed by a signal */
	int timed_out;           /* we sent SIGTERM (and maybe SIGKILL) */
	int64_t elapsed_ms;
};
typedef void (*pd_exec_done_fn)(void *ud, const struct pd_exec_result *res);
/* Start the command; fn is called once, on the loop, when it has exited (never from
 * inside this call). The run frees itself after fn returns. env: extra "K=V" strings
 * (NULL-terminated, may be NULL). NULL with err set when it could not be started. */
struct pd_exec *pd_notify_exec_start(struct ev_loop *loop, const struct pd_notify_cfg *t,
				     const char *input, size_t len, const char *const *env,
				     pd_exec_done_fn fn, void *ud, struct pd_err *err);
/* SIGKILL the process group, reap it and free the run without calling fn. NULL: no-op. */
void pd_notify_exec_cancel(struct pd_exec *x);
/* Exit 0 -> delivered; any other exit, a signal or the timeout -> retry. */
enum pd_notify_verdict pd_notify_exec_classify(const struct pd_exec_result *res);
/* One line for the log: "exit 0", "exit 3", "killed by SIGKILL", "timed out after 10s". */
void pd_notify_exec_describe(const struct pd_exec_result *res, char *out, size_t cap);

#endif
