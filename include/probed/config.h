/* config.h — probes.yaml (libyaml) -> struct pd_config.
 *
 * Every error is reported as "FILE:LINE:COL: message" (1-based line and column of the
 * offending YAML node). Unknown keys, bad durations, bad URLs, duplicate names, unset
 * ${VAR}, unreadable ${file:...}, invalid JSON Schemas and unknown keywords in them
 * (pd_jsonschema_lint): all rejected, never defaulted. An unknown key or keyword comes with
 * the nearest valid one (pd_err_nearest).
 *
 * Values may contain ${VAR} (environment) and ${file:/path} (file contents, trailing
 * newline stripped; systemd credentials). A string that contained such a reference is
 * marked secret: its expanded value is registered with pd_log_add_secret() and must
 * never be logged, stored or printed. For URLs the unexpanded text is kept in url_display.
 */
#ifndef PROBED_CONFIG_H
#define PROBED_CONFIG_H
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "probed/err.h"
#include "probed/maint.h"
#include "probed/slo.h"

#define PD_CONFIG_DEFAULT_MAX_BODY (1024 * 1024)

struct pd_header {
	char *name;
	char *value; /* expanded */
	int secret;  /* value came from ${...} */
};

struct pd_status_range {
	int lo, hi; /* inclusive; "200" -> 200..200, "200-299" -> 200..299 */
};

enum pd_tier { PD_TIER_CORE = 0, PD_TIER_SECONDARY = 1, PD_TIER_SITE = 2 };

/* what a probe checks. A freshness probe checks that a batch resource
 * (stats/archive/{date}.json) is there by a deadline of the day, or that a JSON
 * timestamp field is newer than max_age; failing that its outcome is PD_OUT_LATE. */
enum pd_probe_kind { PD_KIND_HTTP = 0, PD_KIND_FRESHNESS = 1 };

/* certificate expiry thresholds (`cert_expiry:` in defaults or a probe). An
 * HTTPS probe alerts when the earliest notAfter of the presented chain is closer than a
 * threshold: ticket (P4), chat (P3), page (P2). 0 = that level off; enabled 0 = none. */
struct pd_cert_expiry {
	int enabled;       /* default 1 */
	int64_t ticket_ms; /* default 21d */
	int64_t chat_ms;   /* default 7d */
	int64_t page_ms;   /* default 2d */
};

struct pd_probe_cfg {
	char *name;        /* unique, [A-Za-z0-9_.-]+ */
	char *family;      /* defaults to name */
	enum pd_tier tier; /* default core */
	char *url;         /* expanded; may hold secrets if url_secret */
	char *url_display; /* as written (with ${VAR} unexpanded): safe to print/store */
	int url_secret;
	char *method;                 /* default "GET" */
	char *body;                   /* request body or NULL */
	int64_t interval_ms;          /* default 30s */
	int64_t timeout_ms;           /* default 10s */
	int64_t confirm_after_ms;     /* default 5s */
	int failures_before_page;     /* default 2 */
	int successes_before_resolve; /* default 2 */
	size_t max_body;              /* default 1 MiB ("max_body: 1MiB", sizes: B, KiB, MiB) */
	struct pd_header *headers;    /* defaults.headers merged with probe headers (probe wins) */
	size_t nheaders;
	/* expect */
	struct pd_status_range *status; /* default [200-299] when absent */
	size_t nstatus;
	int64_t max_latency_ms; /* 0 = no bound */
	cJSON *json_schema;     /* owned; NULL = body not checked (freed, NULL, once
				 * pd_daemon_apply has compiled it) */
	char *severity;         /* "P1".."P4" or NULL (classifier decides) */
	int control;            /* 1 = known-good control target: when it fails together
				  * with the others, the monitoring host is the suspect */
	int line, col;          /* where the probe's mapping starts */
	/* freshness probes (`kind: freshness` + `freshness:`) */
	enum pd_probe_kind kind;   /* default PD_KIND_HTTP */
	int64_t fresh_deadline_ms; /* `deadline: "06:00"`: ms after 00:00 UTC (default 0) */
	int64_t fresh_max_age_ms;  /* `max_age: 26h`; 0 = not checked */
	char *fresh_field;         /* `field: generated_at` (dotted path) or NULL */
	char *fresh_url_buf;       /* url with {date} expanded, written by pd_check_request;
				  * NULL when the url has no {date} */
	size_t fresh_url_cap;
	/* TLS */
	char *ca_file; /* `ca_file:` PEM bundle to verify against (private CA); NULL =
				  * the system's store */
	struct pd_cert_expiry cert_expiry;
};

/* Classifier thresholds (`classify:` in probes.yaml); defaults from the playbook. */
struct pd_classify_rules {
	int64_t window_ms;          /* 5 min */
	int64_t core_timeout_ms;    /* 60 s: a core timeout counts for P1 after this long */
	double latency_factor;      /* 3.0: p95 >= factor x baseline -> P2 */
	double error_rate_low;      /* 0.01 */
	double error_rate_high;     /* 0.10: at or above: a family is "down" */
	int64_t min_window_count;   /* 5: below this, rates and p95 are not trusted */
	double baseline_latency_ms; /* fallback baseline (e.g. 500) when none is known */
	int core_family_down_p1;    /* 0 = the ladder (P2); 1 = the upstream runbook (P1) */
	int64_t p3_escalate_ms;     /* 30 min: an unresolved P3 becomes P2 */
	/* the classifier's words for the user's API. reference_probe: the probe
	 * (by name, else a family) that plays the playbook's /userid/ role in Mode 1 (it
	 * stays green while the upstream fails); "userid"; "" or no such probe: any core
	 * family. upstream: the upstream's name in the Mode 1 title; "TikTok". */
	char reference_probe[65];
	char upstream[65];
};

enum pd_notify_type {
	PD_NOTIFY_WEBHOOK = 0,
	PD_NOTIFY_PAGERDUTY = 1,
	/* delivery targets */
	PD_NOTIFY_OPSGENIE = 2,
	PD_NOTIFY_SLACK = 3,
	PD_NOTIFY_ALERTMANAGER = 4,
	PD_NOTIFY_EXEC = 5,
};

/* What a target is for (the playbook's escalation map): page = wakes someone up
 * (P1, P2), chat = the team channel (P1..P3), ticket = records and automation (P1..P4).
 * DEFAULT = by type: pagerduty/opsgenie page, slack chat, everything else ticket. */
enum pd_notify_role {
	PD_NOTIFY_ROLE_DEFAULT = 0,
	PD_NOTIFY_ROLE_PAGE = 1,
	PD_NOTIFY_ROLE_CHAT = 2,
	PD_NOTIFY_ROLE_TICKET = 3,
};

struct pd_notify_cfg {
	char *name;
	enum pd_notify_type type;
	char *url; /* webhook: required; pagerduty: default Events API v2 URL */
	char *url_display;
	char *routing_key; /* pagerduty: required (usually ${file:...}); secret */
	struct pd_header *headers;
	size_t nheaders;
	int64_t timeout_ms; /* default 10s (exec: then SIGTERM, SIGKILL 2 s later) */
	int line, col;
	/* delivery targets */
	char *api_key;  /* opsgenie: required; secret (GenieKey header) */
	char **command; /* exec: argv (ncommand entries + NULL), no shell */
	size_t ncommand;
	enum pd_notify_role role;   /* as configured; DEFAULT = by type */
	unsigned severities;        /* bit n-1 = Pn; 0 = the role's default */
	int64_t resend_interval_ms; /* alertmanager: re-send firing alerts (default 60s) */
	int64_t resend_resolved_ms; /* alertmanager: re-send resolved ones (default 5m) */
	char *generator_url;        /* alertmanager: optional generatorURL */
	/* delivery policy; 0 = the outbox's default for the role (pd_outbox_policy) */
	int64_t retry_max_backoff_ms;    /* retry.max_backoff */
	int64_t retry_max_after_ms;      /* retry.max_retry_after: cap on Retry-After */
	int breaker_failures;            /* breaker.failures */
	int64_t breaker_cooldown_ms;     /* breaker.cooldown */
	int64_t breaker_max_cooldown_ms; /* breaker.max_cooldown */
	/* the type's own settings when they have no field above (its ops->configure
	 * sets it, its ops->cleanup frees it) */
	void *ext;
};

/* reading a notification target's own keys (struct pd_notify_ops: keys,
 * configure) without config internals. key is one of the type's keys. Every problem is
 * reported as "FILE:LINE:COL: message" at the key's value (pd_config_notify_error; key
 * NULL: at the entry) and fails the load. Readers return NULL / -1 when the key is
 * absent or was wrong (reported). */
struct pd_notify_conf;
int pd_config_notify_has(struct pd_notify_conf *nc, const char *key);
void pd_config_notify_error(struct pd_notify_conf *nc, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Error at item i of key's list. */
void pd_config_notify_item_error(struct pd_notify_conf *nc, const char *key, size_t i,
				 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A string (${VAR} / ${file:...} expanded; *secret set when it came from one; secret may
 * be NULL). malloc'd. */
char *pd_config_notify_string(struct pd_notify_conf *nc, const char *key, int *secret);
/* A credential: a string registered as a secret (masked in logs) even when written in
 * the clear, one line of printable characters. malloc'd. */
char *pd_config_notify_secret(struct pd_notify_conf *nc, const char *key);
/* A duration of at least min_ms into *out (untouched when absent). 0, or -1. */
int pd_config_notify_duration(struct pd_notify_conf *nc, const char *key, int64_t min_ms,
			      int64_t *out);
/* A URL with one of schemes ("http,https" when NULL); *display: the text as written. */
char *pd_config_notify_url(struct pd_notify_conf *nc, const char *key, const char *schemes,
			   char **display);
/* A list of strings (a scalar is an error: "KEY: expected a list" + scalar_hint), at
 * least one; *n of them, NULL-terminated, malloc'd (items too). */
char **pd_config_notify_list(struct pd_notify_conf *nc, const char *key, const char *scalar_hint,
			     size_t *n);
/* One of words (expect: "a, b or c" for the message): its index, or -1. */
int pd_config_notify_enum(struct pd_notify_conf *nc, const char *key, const char *const *words,
			  const char *expect);
/* true/false: 0 or 1, or -1. */
int pd_config_notify_bool(struct pd_notify_conf *nc, const char *key);

#define PD_CONFIG_RUNBOOK_URL_MAX 400 /* runbooks.base_url, bytes */

struct pd_config {
	char *path;                    /* file it was read from */
	char *location;                /* optional label, NULL when absent */
	char *store_path;              /* default /var/lib/probed/probed.db */
	int64_t retention_ms;          /* default 30d */
	int64_t incident_retention_ms; /* resolved incidents; default 90d */
	char *http_listen;             /* optional "127.0.0.1:9464", NULL = off */
	char *http_bearer_token;       /* optional, secret */
	char *heartbeat_url;           /* optional dead man's switch, pinged while healthy */
	int64_t heartbeat_interval_ms; /* default 60s */
	char *runbooks_base_url;       /* runbooks.base_url: NULL = runbook links stay relative */
	struct pd_probe_cfg *probes;
	size_t nprobes;
	struct pd_notify_cfg *notify;
	size_t nnotify;
	struct pd_classify_rules
		classify; /* `classify:`; pd_classify_rules_default() when absent */
	int64_t correlation_ms; /* classify.correlation_window: failures this close share an incident (2m) */
	struct pd_maint_window *maint; /* `maintenance:` windows (maint.h), in file order */
	size_t nmaint;
	/* `slo:` objectives and burn-rate rules (the workbook's when absent) */
	struct pd_slo_cfg *slos;
	size_t nslos;
	struct pd_slo_rule slo_rules[PD_SLO_MAX_RULES];
	size_t nslo_rules;
};

/* Called once per error line ("FILE:LINE:COL: message"); ud is passed through. */
typedef void (*pd_config_diag_fn)(void *ud, const char *line);

/* Parse path. On success *out is a new config owned by the caller (pd_config_free).
 * On failure returns PD_ERR_CONFIG (or PD_ERR_IO when unreadable) with the first error
 * in err->msg; every error (not just the first) is passed to diag when diag != NULL. */
int pd_config_load(const char *path, struct pd_config **out, struct pd_err *err,
		   pd_config_diag_fn diag, void *ud);
/* pd_config_load with flags:
 * PD_CONFIG_NO_SECRET_FILES  check each ${file:PATH} for syntax (absolute path) but do not
 *                            read it: the value stands in as "unread-secret". For
 *                            `probectl validate --no-secret-files`, which systemd runs in
 *                            ExecReload=, where the service's credentials are not readable. */
#define PD_CONFIG_NO_SECRET_FILES 0x1u
int pd_config_load_flags(const char *path, unsigned flags, struct pd_config **out,
			 struct pd_err *err, pd_config_diag_fn diag, void *ud);
/* Same, from a string; name is used in messages in place of a file name. */
int pd_config_load_string(const char *yaml, size_t len, const char *name, struct pd_config **out,
			  struct pd_err *err, pd_config_diag_fn diag, void *ud);
void pd_config_free(struct pd_config *cfg);
/* only the database path path names (store.path, expanded; the default
 * /var/lib/probed/probed.db when absent), for readers that need nothing else (probectl
 * status, history, incidents). The rest of the file is not validated, so a config whose
 * other ${VAR} or ${file:...} references cannot be resolved here (a shell without the
 * service's credentials) still names its database. YAML syntax errors and a bad
 * store.path are errors ("FILE:LINE:COL: message" in err; PD_ERR_CONFIG, or PD_ERR_IO
 * when unreadable). On success *out is malloc'd (caller frees). */
int pd_config_store_path(const char *path, char **out, struct pd_err *err);

/* Lookup by name; NULL when absent. */
const struct pd_probe_cfg *pd_config_probe(const struct pd_config *cfg, const char *name);
/* Does some probe of cfg have this family? */
int pd_config_has_family(const struct pd_config *cfg, const char *family);

/* "30s", "500ms", "5m", "2h", "30d", "1m30s" -> milliseconds. 0 ok, PD_ERR_INVALID. */
int pd_config_duration_parse(const char *s, int64_t *ms);
/* Format ms as a short duration ("1m30s", "250ms", "0s") into out. */
void pd_config_duration_format(int64_t ms, char *out, size_t cap);
/* "1048576", "512KiB", "1MiB", "1MB" -> bytes. 0 ok, PD_ERR_INVALID. */
int pd_config_size_parse(const char *s, size_t *bytes);

const char *pd_config_tier_str(enum pd_tier t);

#endif

#ifndef PROBED_CONFIG_YAML_JSON
#define PROBED_CONFIG_YAML_JSON
/* Convert a YAML document to cJSON with the same scalar typing as expect.json
 * (plain 1/1.5/true/null typed, quoted scalars strings). name is used in messages
 * ("NAME:LINE:COL: ..."). Returns a new tree (cJSON_Delete) or NULL with err set. */
cJSON *pd_config_yaml_to_json(const char *yaml, size_t len, const char *name, struct pd_err *err);
#endif
