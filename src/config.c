/* config.c — probes.yaml (libyaml document API) -> struct pd_config: the entry points
 * (load a file or a string, read only store.path), the top level and its known keys,
 * `defaults:`, `probes:` (status, expect and its JSON Schema, ca_file, cert_expiry,
 * freshness), `location:` and `store:`, the did-you-mean table of keys written one level
 * off, pd_config_free and the lookups over a loaded config.
 *
 * The file is loaded into a libyaml document (nodes keep their start marks), then walked
 * with a fixed set of known keys per mapping. Every problem is recorded with the position
 * of the offending node and parsing goes on, so the operator sees all errors at once.
 * Errors are sorted by position before they are handed out (diag callback, err->msg).
 *
 * Secrets: a scalar that contained ${VAR} or ${file:...} is "secret". Its expanded
 * value is registered with pd_log_add_secret() (free-form strings) and error messages
 * only ever quote the text as written in the file, never the expansion.
 *
 * The other files of the module, behind config_int.h: config_yaml.c (messages, node
 * walking, syntax errors, YAML -> cJSON), config_expand.c (${...}), config_units.c (typed
 * values), config_notify.c (`notify:`), config_sections.c (http, classify, heartbeat,
 * maintenance, runbooks, slo).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "probed/buf.h"
#include "probed/config.h"
#include "probed/jsonschema.h"
#include "probed/notify.h"
#include "config_int.h"

#define CFG_MAX_FILE (8 * 1024 * 1024) /* probes.yaml itself */
#define CFG_LOCATION_MAX 48            /* location: fits every dedup key */
#define CFG_PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"

#define CFG_DEF_INTERVAL_MS (30 * 1000)
#define CFG_DEF_CONFIRM_MS (5 * 1000)
#define CFG_DEF_RETENTION_MS ((int64_t)30 * 86400 * 1000)
#define CFG_DEF_INCIDENT_RETENTION_MS ((int64_t)90 * 86400 * 1000)
#define CFG_DEF_STORE_PATH "/var/lib/probed/probed.db"
#define CFG_EMPTY_MSG "empty configuration (at least 'probes' is required)"
#define CFG_MIN_INTERVAL_MS 100

/* ---------------------------------------------------------------- memory */

static void
cfg_headers_free(struct pd_header *h, size_t n)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static void
cfg_probe_cleanup(struct pd_probe_cfg *p)
{
	free(p->name);
	free(p->family);
	free(p->url);
	free(p->url_display);
	free(p->method);
	free(p->body);
	cfg_headers_free(p->headers, p->nheaders);
	free(p->status);
	cJSON_Delete(p->json_schema);
	free(p->severity);
	free(p->fresh_field); /* freshness */
	free(p->fresh_url_buf);
	free(p->ca_file);
	memset(p, 0, sizeof(*p));
}

static void
cfg_notify_cleanup(struct pd_notify_cfg *n)
{
	const struct pd_notify_ops *ops = pd_notify_ops_for(n->type);

	if (ops != NULL && ops->cleanup != NULL)
		ops->cleanup(n);
	free(n->name);
	free(n->url);
	free(n->url_display);
	free(n->routing_key);
	cfg_headers_free(n->headers, n->nheaders);
	/* delivery targets */
	free(n->api_key);
	for (size_t i = 0; i < n->ncommand; i++)
		free(n->command[i]);
	free(n->command);
	free(n->generator_url);
	memset(n, 0, sizeof(*n));
}

void
pd_config_free(struct pd_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->location);
	free(cfg->store_path);
	free(cfg->http_listen);
	free(cfg->http_bearer_token);
	free(cfg->heartbeat_url);
	free(cfg->runbooks_base_url);
	for (size_t i = 0; i < cfg->nprobes; i++)
		cfg_probe_cleanup(&cfg->probes[i]);
	free(cfg->probes);
	for (size_t i = 0; i < cfg->nnotify; i++)
		cfg_notify_cleanup(&cfg->notify[i]);
	free(cfg->notify);
	for (size_t i = 0; i < cfg->nmaint; i++)
		pd_maint_window_cleanup(&cfg->maint[i]);
	free(cfg->maint);
	for (size_t i = 0; i < cfg->nslos; i++)
		free(cfg->slos[i].name);
	free(cfg->slos);
	free(cfg);
}

/* ---------------------------------------------------------------- lookups */

const char *
pd_config_tier_str(enum pd_tier t)
{
	switch (t) {
	case PD_TIER_CORE:
		return "core";
	case PD_TIER_SECONDARY:
		return "secondary";
	case PD_TIER_SITE:
		return "site";
	default:
		return "unknown";
	}
}

const struct pd_probe_cfg *
pd_config_probe(const struct pd_config *cfg, const char *name)
{
	if (cfg == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->nprobes; i++)
		if (cfg->probes[i].name != NULL && strcmp(cfg->probes[i].name, name) == 0)
			return &cfg->probes[i];
	return NULL;
}

int
pd_config_has_family(const struct pd_config *cfg, const char *family)
{
	if (cfg == NULL || family == NULL)
		return 0;
	for (size_t i = 0; i < cfg->nprobes; i++)
		if (cfg->probes[i].family != NULL && strcmp(cfg->probes[i].family, family) == 0)
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- sections */

static int
cfg_status_one(const char *s, struct pd_status_range *r)
{
	int lo = 0, hi, i = 0;

	for (; s[i] >= '0' && s[i] <= '9' && i < 3; i++)
		lo = lo * 10 + (s[i] - '0');
	if (i != 3)
		return -1;
	hi = lo;
	if (s[i] == '-') {
		const char *p = s + i + 1;
		int k;

		hi = 0;
		for (k = 0; p[k] >= '0' && p[k] <= '9' && k < 3; k++)
			hi = hi * 10 + (p[k] - '0');
		if (k != 3)
			return -1;
		i += 1 + k;
	}
	if (s[i] != '\0' || lo < 100 || hi > 599 || lo > hi)
		return -1;
	r->lo = lo;
	r->hi = hi;
	return 0;
}

static int
cfg_status(struct cfg_ctx *c, yaml_node_t *n, struct pd_probe_cfg *p)
{
	char show[CFG_SHOW_MAX + 8];
	yaml_node_item_t *items = NULL;
	size_t cnt = 1;
	int bad = 0;

	if (n->type == YAML_SEQUENCE_NODE) {
		if (pd_config_seq(c, n, "status", &items, &cnt) != 0)
			return -1;
		if (cnt == 0) {
			pd_config_error(c, n, "status: list is empty");
			return -1;
		}
	}
	free(p->status);
	p->nstatus = 0;
	p->status = pd_config_calloc(c, cnt, sizeof(*p->status));
	if (p->status == NULL)
		return -1;
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *e = items ? pd_config_node(c, items[i]) : n;
		int secret;
		char *s = pd_config_scalar(c, e, "status", &secret);

		if (s == NULL) {
			bad = 1;
			continue;
		}
		if (cfg_status_one(s, &p->status[p->nstatus]) != 0) {
			pd_config_error(c, e,
					"status: invalid status '%s' (a code 100-599 or "
					"a range like \"200-299\")",
					pd_config_disp(e, s, secret, show, sizeof(show)));
			bad = 1;
		} else {
			p->nstatus++;
		}
		free(s);
	}
	return bad ? -1 : 0;
}

enum { EX_STATUS, EX_MAX_LATENCY, EX_JSON, EX_N };
static const char *const expect_keys[] = {"status", "max_latency", "json", NULL};

static void
cfg_expect(struct cfg_ctx *c, yaml_node_t *n, struct pd_probe_cfg *p)
{
	yaml_node_t *v[EX_N], *k[EX_N];

	if (pd_config_map(c, n, "expect", expect_keys, v, k) != 0)
		return;
	if (v[EX_STATUS] != NULL)
		cfg_status(c, v[EX_STATUS], p);
	if (v[EX_MAX_LATENCY] != NULL)
		pd_config_duration(c, v[EX_MAX_LATENCY], "max_latency", 0, &p->max_latency_ms);
	if (v[EX_JSON] != NULL && !pd_config_is_null(v[EX_JSON])) {
		size_t before = c->nmsgs;
		struct pd_schema *s;
		struct pd_err e = {0, ""};

		c->json_nodes = 0;
		c->json_overflow = 0;
		c->njmarks = 0;
		p->json_schema = pd_config_json(c, v[EX_JSON], 0);
		if (p->json_schema == NULL) {
			if (c->nmsgs == before)
				c->nomem = 1;
			return;
		}
		/* legal JSON Schema, but in a config a typo that switches the check off */
		if (c->njmarks > 0)
			qsort(c->jmarks, c->njmarks, sizeof(*c->jmarks), pd_config_jmark_cmp);
		if (c->jreported == NULL)
			c->jreported = pd_config_calloc(
				c, (size_t)(c->doc.nodes.top - c->doc.nodes.start), 1);
		pd_jsonschema_lint(p->json_schema, pd_config_json_lint, c);
		s = pd_jsonschema_new(p->json_schema, &e);
		if (s == NULL)
			pd_config_error(c, v[EX_JSON], "json: invalid JSON Schema: %s",
					e.msg[0] ? e.msg : "rejected by the validator");
		pd_jsonschema_free(s);
	}
}

/* Template for probes: the defaults section (values not set here stay at built-ins). */
enum {
	DF_INTERVAL,
	DF_TIMEOUT,
	DF_FAILURES,
	DF_CONFIRM,
	DF_SUCCESSES,
	DF_HEADERS,
	DF_MAX_BODY,
	DF_METHOD,
	DF_CA_FILE,
	DF_CERT_EXPIRY,
	DF_N
};
static const char *const defaults_keys[] = {
	"interval",
	"timeout",
	"failures_before_page",
	"confirm_after",
	"successes_before_resolve",
	"headers",
	"max_body",
	"method",
	"ca_file",
	"cert_expiry",
	NULL,
};

/* ---- ca_file and cert_expiry (defaults and probes) ---- */
enum { CE_TICKET, CE_CHAT, CE_PAGE, CE_N };
static const char *const cert_expiry_keys[] = {"ticket", "chat", "page", NULL};

static void
cfg_ca_file(struct cfg_ctx *c, yaml_node_t *n, char **out)
{
	char show[CFG_SHOW_MAX + 8];
	int secret;
	char *s = pd_config_scalar(c, n, "ca_file", &secret);

	if (s == NULL)
		return;
	if (access(s, R_OK) != 0) {
		int e = errno;

		pd_config_error(c, n,
				"ca_file: cannot read '%s': %s (a PEM file of the CA "
				"certificates that sign the endpoint's certificate)",
				pd_config_disp(n, s, secret, show, sizeof(show)), strerror(e));
		free(s);
		return;
	}
	free(*out);
	*out = s;
}

/* `cert_expiry: false` (off), `true`, or {ticket, chat, page}: each a duration or off. */
static void
cfg_cert_expiry(struct cfg_ctx *c, yaml_node_t *n, struct pd_cert_expiry *ce)
{
	yaml_node_t *v[CE_N], *k[CE_N];
	int64_t *lv[CE_N] = {&ce->ticket_ms, &ce->chat_ms, &ce->page_ms};
	int b;

	if (n != NULL && n->type == YAML_SCALAR_NODE && !pd_config_is_null(n)) {
		const char *raw = pd_config_raw(n);

		if (strcmp(raw, "off") == 0)
			ce->enabled = 0;
		else if (pd_config_yaml_bool(raw, &b))
			ce->enabled = b;
		else
			pd_config_error(c, n,
					"cert_expiry: expected false (off), true, or a mapping of "
					"ticket, chat, page thresholds (e.g. ticket: 21d)");
		return;
	}
	if (pd_config_map(c, n, "cert_expiry", cert_expiry_keys, v, k) != 0)
		return;
	ce->enabled = 1;
	for (int i = 0; i < CE_N; i++) {
		if (v[i] == NULL)
			continue;
		if (v[i]->type == YAML_SCALAR_NODE && (strcmp(pd_config_raw(v[i]), "off") == 0 ||
						       strcmp(pd_config_raw(v[i]), "false") == 0))
			*lv[i] = 0;
		else
			pd_config_duration(c, v[i], cert_expiry_keys[i], 1, lv[i]);
	}
	/* page <= chat <= ticket among the levels that are on */
	if (ce->page_ms && ce->chat_ms && ce->page_ms > ce->chat_ms)
		pd_config_error(c, v[CE_PAGE] ? v[CE_PAGE] : n,
				"cert_expiry: page must not be longer "
				"than chat (page is the most urgent level)");
	else if (ce->chat_ms && ce->ticket_ms && ce->chat_ms > ce->ticket_ms)
		pd_config_error(c, v[CE_CHAT] ? v[CE_CHAT] : n,
				"cert_expiry: chat must not be longer "
				"than ticket");
	else if (ce->page_ms && ce->ticket_ms && ce->page_ms > ce->ticket_ms)
		pd_config_error(c, v[CE_PAGE] ? v[CE_PAGE] : n,
				"cert_expiry: page must not be longer "
				"than ticket");
}

/* Keys shared by defaults and probes, applied to p. */
static void
cfg_probe_common(struct cfg_ctx *c, struct pd_probe_cfg *p, yaml_node_t *interval,
		 yaml_node_t *timeout, yaml_node_t *failures, yaml_node_t *confirm,
		 yaml_node_t *successes, yaml_node_t *max_body, yaml_node_t *method)
{
	if (interval != NULL)
		pd_config_duration(c, interval, "interval", CFG_MIN_INTERVAL_MS, &p->interval_ms);
	if (timeout != NULL)
		pd_config_duration(c, timeout, "timeout", 1, &p->timeout_ms);
	if (confirm != NULL)
		pd_config_duration(c, confirm, "confirm_after", 1, &p->confirm_after_ms);
	if (failures != NULL)
		pd_config_int(c, failures, "failures_before_page", 1, 100,
			      &p->failures_before_page);
	if (successes != NULL)
		pd_config_int(c, successes, "successes_before_resolve", 1, 100,
			      &p->successes_before_resolve);
	if (max_body != NULL)
		pd_config_size(c, max_body, "max_body", &p->max_body);
	if (method != NULL) {
		char *m = pd_config_method(c, method);

		if (m != NULL) {
			free(p->method);
			p->method = m;
		}
	}
}

static void
cfg_defaults(struct cfg_ctx *c, yaml_node_t *n, struct pd_probe_cfg *d)
{
	yaml_node_t *v[DF_N], *k[DF_N];

	d->interval_ms = CFG_DEF_INTERVAL_MS;
	d->timeout_ms = CFG_DEF_TIMEOUT_MS;
	d->confirm_after_ms = CFG_DEF_CONFIRM_MS;
	d->failures_before_page = 2;
	d->successes_before_resolve = 2;
	d->max_body = PD_CONFIG_DEFAULT_MAX_BODY;
	d->method = pd_config_strdup(c, "GET");
	d->cert_expiry.enabled = 1;
	d->cert_expiry.ticket_ms = (int64_t)21 * 86400 * 1000;
	d->cert_expiry.chat_ms = (int64_t)7 * 86400 * 1000;
	d->cert_expiry.page_ms = (int64_t)2 * 86400 * 1000;
	if (n == NULL || pd_config_map(c, n, "defaults", defaults_keys, v, k) != 0)
		return;
	cfg_probe_common(c, d, v[DF_INTERVAL], v[DF_TIMEOUT], v[DF_FAILURES], v[DF_CONFIRM],
			 v[DF_SUCCESSES], v[DF_MAX_BODY], v[DF_METHOD]);
	if (v[DF_HEADERS] != NULL)
		pd_config_headers(c, v[DF_HEADERS], &d->headers, &d->nheaders);
	if (v[DF_CA_FILE] != NULL)
		cfg_ca_file(c, v[DF_CA_FILE], &d->ca_file);
	if (v[DF_CERT_EXPIRY] != NULL)
		cfg_cert_expiry(c, v[DF_CERT_EXPIRY], &d->cert_expiry);
}

enum {
	PR_NAME,
	PR_FAMILY,
	PR_TIER,
	PR_URL,
	PR_METHOD,
	PR_BODY,
	PR_HEADERS,
	PR_INTERVAL,
	PR_TIMEOUT,
	PR_CONFIRM,
	PR_FAILURES,
	PR_SUCCESSES,
	PR_MAX_BODY,
	PR_SEVERITY,
	PR_EXPECT,
	PR_CONTROL,
	PR_KIND,
	PR_FRESHNESS,
	PR_CA_FILE,
	PR_CERT_EXPIRY,
	PR_N
};
static const char *const probe_keys[] = {
	"name",
	"family",
	"tier",
	"url",
	"method",
	"body",
	"headers",
	"interval",
	"timeout",
	"confirm_after",
	"failures_before_page",
	"successes_before_resolve",
	"max_body",
	"severity",
	"expect",
	"control",
	"kind",
	"freshness",
	"ca_file",
	"cert_expiry",
	NULL,
};
static const char *const tier_words[] = {"core", "secondary", "site", NULL};
const char *const pd_config_severity_words[] = {"P1", "P2", "P3", "P4", NULL};

/* ---- freshness probes (kind: freshness, freshness: {deadline, max_age, field}) */
enum { FR_DEADLINE, FR_MAX_AGE, FR_FIELD, FR_N };
static const char *const freshness_keys[] = {"deadline", "max_age", "field", NULL};
static const char *const kind_words[] = {"http", "freshness", NULL};

static void
cfg_freshness(struct cfg_ctx *c, yaml_node_t *n, struct pd_probe_cfg *p)
{
	yaml_node_t *v[FR_N], *k[FR_N];
	char show[CFG_SHOW_MAX + 8];
	int secret;

	if (pd_config_map(c, n, "freshness", freshness_keys, v, k) != 0)
		return;
	if (v[FR_DEADLINE] != NULL) {
		char *s = pd_config_scalar(c, v[FR_DEADLINE], "deadline", &secret);
		int64_t t = s ? pd_config_time_of_day(s) : 0;

		if (s != NULL && t < 0)
			pd_config_error(
				c, v[FR_DEADLINE],
				"deadline: invalid time of day '%s' (UTC "
				"\"HH:MM\", 00:00 to 23:59)",
				pd_config_disp(v[FR_DEADLINE], s, secret, show, sizeof(show)));
		else if (s != NULL)
			p->fresh_deadline_ms = t;
		free(s);
	}
	if (v[FR_MAX_AGE] != NULL)
		pd_config_duration(c, v[FR_MAX_AGE], "max_age", 1, &p->fresh_max_age_ms);
	if (v[FR_FIELD] != NULL) {
		char *s = pd_config_scalar(c, v[FR_FIELD], "field", &secret);

		if (s != NULL && (s[0] == '\0' || s[0] == '.' || s[strlen(s) - 1] == '.' ||
				  strstr(s, "..") != NULL)) {
			pd_config_error(c, v[FR_FIELD],
					"field: invalid JSON field '%s' (a key, or "
					"dotted keys like meta.generated_at)",
					pd_config_disp(v[FR_FIELD], s, secret, show, sizeof(show)));
			free(s);
		} else if (s != NULL) {
			p->fresh_field = s;
		}
	}
	if (v[FR_FIELD] != NULL && v[FR_MAX_AGE] == NULL)
		pd_config_error(c, k[FR_FIELD], "freshness: field needs max_age");
	if (v[FR_MAX_AGE] != NULL && v[FR_FIELD] == NULL)
		pd_config_error(c, k[FR_MAX_AGE],
				"freshness: max_age needs field (the JSON timestamp "
				"to check)");
}

/* After the probe's keys: kind/freshness consistency and the {date} URL buffer. */
static void
cfg_probe_kind(struct cfg_ctx *c, yaml_node_t *n, yaml_node_t *v[], yaml_node_t *k[],
	       struct pd_probe_cfg *p)
{
	size_t ndate = 0;

	if (v[PR_KIND] != NULL) {
		int t = pd_config_enum(c, v[PR_KIND], "kind", kind_words, "http or freshness");

		if (t >= 0)
			p->kind = (enum pd_probe_kind)t;
	}
	for (const char *q = p->url; q != NULL && (q = strstr(q, "{date}")) != NULL; q += 6)
		ndate++;
	if (v[PR_FRESHNESS] != NULL && p->kind != PD_KIND_FRESHNESS) {
		pd_config_error(c, k[PR_FRESHNESS],
				"freshness: only for probes with kind: freshness");
		return;
	}
	if (p->kind != PD_KIND_FRESHNESS) {
		if (ndate > 0)
			pd_config_error(c, v[PR_URL],
					"url: {date} is only expanded in kind: freshness "
					"probes");
		return;
	}
	if (v[PR_FRESHNESS] != NULL)
		cfg_freshness(c, v[PR_FRESHNESS], p);
	if (ndate == 0 && p->fresh_field == NULL && p->url != NULL)
		pd_config_error(c, v[PR_KIND] ? v[PR_KIND] : n,
				"kind freshness: nothing to check: put "
				"{date} in the url, or set freshness.field and freshness.max_age");
	if (ndate > 0) {
		/* "{date}" (6) -> "YYYY-MM-DD" (10) */
		p->fresh_url_cap = strlen(p->url) + 4 * ndate + 1;
		p->fresh_url_buf = pd_config_calloc(c, p->fresh_url_cap, 1);
	}
}

static void
cfg_probe(struct cfg_ctx *c, yaml_node_t *n, const struct pd_probe_cfg *d, struct pd_probe_cfg *p,
	  yaml_node_t **name_node)
{
	yaml_node_t *v[PR_N], *k[PR_N];
	struct pd_header *own = NULL;
	size_t nown = 0;

	*name_node = NULL;
	p->line = (int)n->start_mark.line + 1;
	p->col = (int)n->start_mark.column + 1;
	p->interval_ms = d->interval_ms;
	p->timeout_ms = d->timeout_ms;
	p->confirm_after_ms = d->confirm_after_ms;
	p->failures_before_page = d->failures_before_page;
	p->successes_before_resolve = d->successes_before_resolve;
	p->max_body = d->max_body;
	p->tier = PD_TIER_CORE;
	if (pd_config_map(c, n, "probe", probe_keys, v, k) != 0)
		return;
	if (v[PR_NAME] == NULL)
		pd_config_error(c, n, "probe is missing required key 'name'");
	else if ((p->name = pd_config_name(c, v[PR_NAME], "name")) != NULL)
		*name_node = v[PR_NAME];
	if (v[PR_FAMILY] != NULL)
		p->family = pd_config_name(c, v[PR_FAMILY], "family");
	else if (p->name != NULL)
		p->family = pd_config_strdup(c, p->name);
	if (v[PR_TIER] != NULL) {
		int t = pd_config_enum(c, v[PR_TIER], "tier", tier_words,
				       "core, secondary or site");

		if (t >= 0)
			p->tier = (enum pd_tier)t;
	}
	if (v[PR_URL] == NULL)
		pd_config_error(c, n, "probe is missing required key 'url'");
	else
		pd_config_url(c, v[PR_URL], "url", &p->url, &p->url_display, &p->url_secret);
	cfg_probe_common(c, p, v[PR_INTERVAL], v[PR_TIMEOUT], v[PR_FAILURES], v[PR_CONFIRM],
			 v[PR_SUCCESSES], v[PR_MAX_BODY], v[PR_METHOD]);
	if (p->method == NULL && d->method != NULL)
		p->method = pd_config_strdup(c, d->method);
	if (v[PR_BODY] != NULL)
		p->body = pd_config_string(c, v[PR_BODY], "body", NULL);
	if (v[PR_HEADERS] != NULL)
		pd_config_headers(c, v[PR_HEADERS], &own, &nown);
	if (v[PR_CONTROL] != NULL && v[PR_CONTROL]->type == YAML_SCALAR_NODE)
		(void)pd_config_yaml_bool(pd_config_raw(v[PR_CONTROL]),
					  &p->control); /* checked below */
	/* a control probe points outside the API (a well-known site): it never inherits
	 * defaults.headers, which carry the API key; only its own headers are sent */
	if (p->control)
		pd_config_headers_merge(c, NULL, 0, own, nown, &p->headers, &p->nheaders);
	else
		pd_config_headers_merge(c, d->headers, d->nheaders, own, nown, &p->headers,
					&p->nheaders);
	cfg_headers_free(own, nown);
	if (v[PR_SEVERITY] != NULL) {
		int s = pd_config_enum(c, v[PR_SEVERITY], "severity", pd_config_severity_words,
				       "P1, P2, P3 or P4");

		if (s >= 0)
			p->severity = pd_config_strdup(c, pd_config_severity_words[s]);
	}
	if (v[PR_EXPECT] != NULL)
		cfg_expect(c, v[PR_EXPECT], p);
	if (v[PR_CONTROL] != NULL) {
		const char *raw =
			v[PR_CONTROL]->type == YAML_SCALAR_NODE ? pd_config_raw(v[PR_CONTROL]) : "";

		if (!pd_config_yaml_bool(raw, &p->control))
			pd_config_error(c, v[PR_CONTROL], "control: expected true or false");
	}
	cfg_probe_kind(c, n, v, k, p); /* freshness */
	p->cert_expiry = d->cert_expiry;
	if (d->ca_file != NULL && v[PR_CA_FILE] == NULL)
		p->ca_file = pd_config_strdup(c, d->ca_file);
	if (v[PR_CA_FILE] != NULL)
		cfg_ca_file(c, v[PR_CA_FILE], &p->ca_file);
	if (v[PR_CERT_EXPIRY] != NULL)
		cfg_cert_expiry(c, v[PR_CERT_EXPIRY], &p->cert_expiry);
	if (p->nstatus == 0) {
		free(p->status);
		p->status = pd_config_calloc(c, 1, sizeof(*p->status));
		if (p->status != NULL) {
			p->status[0].lo = 200;
			p->status[0].hi = 299;
			p->nstatus = 1;
		}
	}
}

struct cfg_probes_ud {
	const struct pd_probe_cfg *defaults;
	struct pd_config *cfg;
};

static char *
cfg_probe_item(struct cfg_ctx *c, yaml_node_t *n, size_t i, void *ud, yaml_node_t **name_node)
{
	struct cfg_probes_ud *u = ud;

	cfg_probe(c, n, u->defaults, &u->cfg->probes[i], name_node);
	return u->cfg->probes[i].name;
}

static void
cfg_probes(struct cfg_ctx *c, yaml_node_t *n, const struct pd_probe_cfg *d, struct pd_config *cfg)
{
	struct cfg_probes_ud u = {d, cfg};
	yaml_node_item_t *items;
	size_t cnt;

	if (pd_config_seq(c, n, "probes", &items, &cnt) != 0)
		return;
	if (cnt == 0) {
		pd_config_error(c, n, "probes: list is empty (nothing to watch)");
		return;
	}
	cfg->probes = pd_config_calloc(c, cnt, sizeof(*cfg->probes));
	if (cfg->probes != NULL)
		pd_config_named(c, items, cnt, "probe", cfg_probe_item, &u, &cfg->nprobes);
}

enum { ST_PATH, ST_RETENTION, ST_INC_RETENTION, ST_N };
static const char *const store_keys[] = {"path", "retention", "incident_retention", NULL};

static void
cfg_store(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg)
{
	yaml_node_t *v[ST_N], *k[ST_N];

	if (n == NULL || pd_config_map(c, n, "store", store_keys, v, k) != 0)
		return;
	if (v[ST_PATH] != NULL) {
		char *s = pd_config_string(c, v[ST_PATH], "path", NULL);

		if (s != NULL && s[0] == '\0') {
			pd_config_error(c, v[ST_PATH], "path: must not be empty");
			free(s);
		} else if (s != NULL) {
			free(cfg->store_path);
			cfg->store_path = s;
		}
	}
	if (v[ST_RETENTION] != NULL)
		pd_config_duration(c, v[ST_RETENTION], "retention", 1, &cfg->retention_ms);
	if (v[ST_INC_RETENTION] != NULL)
		pd_config_duration(c, v[ST_INC_RETENTION], "incident_retention", 1,
				   &cfg->incident_retention_ms);
}

enum {
	TOP_DEFAULTS,
	TOP_STORE,
	TOP_PROBES,
	TOP_NOTIFY,
	TOP_LOCATION,
	TOP_HTTP,
	TOP_HEARTBEAT,
	TOP_CLASSIFY,
	TOP_MAINTENANCE,
	TOP_RUNBOOKS,
	TOP_SLO,
	TOP_N
};
static const char *const top_keys[] = {
	"defaults",  "store",    "probes",      "notify",   "location", "http",
	"heartbeat", "classify", "maintenance", "runbooks", "slo",      NULL,
};

/* Keys written one level off: in the mapping `what`, a key of names[] belongs `where`.
 * Consulted only when the key is no typo of a key valid where it stands. */
static const struct {
	const char *what;
	const char *const *names;
	const char *where;
} cfg_elsewhere[] = {
	{"probe", expect_keys, "under 'expect:'"},
	{"probe", freshness_keys, "under 'freshness:', with kind: freshness"},
	{"probe", top_keys, "at the top level: check this line's indentation"},
	{"defaults", expect_keys, "under 'expect:' of each probe"},
	{"defaults", probe_keys, "in each probe; defaults cannot set it"},
	{"expect", probe_keys, "in the probe, beside 'expect:'"},
	{"top level", defaults_keys, "under 'defaults:' or in a probe"},
	{"top level", probe_keys, "in a probe, under 'probes:'"},
	{"top level", store_keys, "under 'store:'"},
	{"notify", top_keys, "at the top level: check this line's indentation"},
};

const char *
pd_config_key_elsewhere(const char *what, const char *key)
{
	for (size_t i = 0; i < sizeof(cfg_elsewhere) / sizeof(cfg_elsewhere[0]); i++) {
		if (strcmp(cfg_elsewhere[i].what, what) != 0)
			continue;
		for (size_t j = 0; cfg_elsewhere[i].names[j] != NULL; j++)
			if (strcmp(cfg_elsewhere[i].names[j], key) == 0)
				return cfg_elsewhere[i].where;
	}
	return NULL;
}

static void
cfg_root(struct cfg_ctx *c, yaml_node_t *root, struct pd_config *cfg)
{
	yaml_node_t *v[TOP_N], *k[TOP_N];
	struct pd_probe_cfg d;

	memset(&d, 0, sizeof(d));
	if (root->type != YAML_MAPPING_NODE) {
		pd_config_error(c, root,
				"expected a mapping at the top level (defaults, store, probes, "
				"notify, location, http)");
		return;
	}
	pd_config_map(c, root, "top level", top_keys, v, k);
	cfg_defaults(c, v[TOP_DEFAULTS], &d);
	cfg_store(c, v[TOP_STORE], cfg);
	if (v[TOP_PROBES] == NULL)
		pd_config_error(c, root, "missing required key 'probes'");
	else
		cfg_probes(c, v[TOP_PROBES], &d, cfg);
	if (v[TOP_NOTIFY] != NULL)
		pd_config_read_notify(c, v[TOP_NOTIFY], cfg);
	if (v[TOP_LOCATION] != NULL) {
		cfg->location = pd_config_string(c, v[TOP_LOCATION], "location", NULL);
		/* it is part of every incident's dedup key ("probed:LOCATION/inc-<ms>", 96
		 * bytes): a longer one cut the keys, and separate incidents shared one */
		if (cfg->location != NULL && strlen(cfg->location) > CFG_LOCATION_MAX)
			pd_config_error(c, v[TOP_LOCATION],
					"location: at most %d bytes (it is part of "
					"every incident key), got %zu",
					CFG_LOCATION_MAX, strlen(cfg->location));
	}
	if (v[TOP_HTTP] != NULL)
		pd_config_read_http(c, v[TOP_HTTP], cfg);
	if (v[TOP_HEARTBEAT] != NULL)
		pd_config_read_heartbeat(c, v[TOP_HEARTBEAT], cfg);
	if (v[TOP_CLASSIFY] != NULL)
		pd_config_read_classify(c, v[TOP_CLASSIFY], cfg);
	if (v[TOP_MAINTENANCE] != NULL)
		pd_config_read_maintenance(c, v[TOP_MAINTENANCE], cfg);
	if (v[TOP_RUNBOOKS] != NULL)
		pd_config_read_runbooks(c, v[TOP_RUNBOOKS], cfg);
	pd_slo_rules_default(cfg->slo_rules, &cfg->nslo_rules);
	if (v[TOP_SLO] != NULL)
		pd_config_read_slo(c, v[TOP_SLO], cfg);
	cfg_probe_cleanup(&d);
}

/* ---------------------------------------------------------------- entry points */

static int config_load_string(const char *yaml, size_t len, const char *name, unsigned flags,
			      struct pd_config **out, struct pd_err *err, pd_config_diag_fn diag,
			      void *ud);

int
pd_config_load_string(const char *yaml, size_t len, const char *name, struct pd_config **out,
		      struct pd_err *err, pd_config_diag_fn diag, void *ud)
{
	return config_load_string(yaml, len, name, 0, out, err, diag, ud);
}

static int
config_load_string(const char *yaml, size_t len, const char *name, unsigned flags,
		   struct pd_config **out, struct pd_err *err, pd_config_diag_fn diag, void *ud)
{
	struct cfg_ctx c;
	struct pd_config *cfg = NULL;
	yaml_node_t *root;
	int have_doc = 0, rc = PD_ERR_CONFIG;

	memset(&c, 0, sizeof(c));
	*out = NULL;
	c.file = name ? name : "(config)";
	c.flags = flags;
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		c.nomem = 1;
		goto out;
	}
	cfg->path = pd_config_strdup(&c, c.file);
	cfg->store_path = pd_config_strdup(&c, CFG_DEF_STORE_PATH);
	cfg->retention_ms = CFG_DEF_RETENTION_MS;
	cfg->incident_retention_ms = CFG_DEF_INCIDENT_RETENTION_MS;
	pd_config_classify_defaults(cfg);
	root = pd_config_parse(&c, yaml, len, CFG_EMPTY_MSG,
			       "only one YAML document is allowed per file", &have_doc);
	if (root != NULL)
		cfg_root(&c, root, cfg);
out:
	if (have_doc)
		pd_config_doc_delete(&c);
	if (c.nomem) {
		rc = pd_err_set(err, PD_ERR_NOMEM, "%s: out of memory", c.file);
	} else if (c.nmsgs == 0) {
		*out = cfg;
		cfg = NULL;
		rc = 0;
	} else {
		qsort(c.msgs, c.nmsgs, sizeof(*c.msgs), pd_config_msg_cmp);
		pd_err_set(err, PD_ERR_CONFIG, "%s", c.msgs[0].text);
		if (diag != NULL)
			for (size_t i = 0; i < c.nmsgs; i++)
				diag(ud, c.msgs[i].text);
		rc = PD_ERR_CONFIG;
	}
	for (size_t i = 0; i < c.nmsgs; i++)
		free(c.msgs[i].text);
	free(c.msgs);
	free(c.jmarks);
	free(c.jreported);
	pd_config_free(cfg);
	return rc;
}

/* The whole of path into b (at most CFG_MAX_FILE bytes). 0 or a PD_ERR_* with err set. */
static int
cfg_read_file(const char *path, struct pd_buf *b, struct pd_err *err)
{
	int errnum = 0;

	if (pd_config_read_file(path, 0, CFG_MAX_FILE, b, &errnum) == 0)
		return 0;
	if (errnum == EFBIG)
		return pd_err_set(err, PD_ERR_IO, "%s: file is larger than %d bytes", path,
				  CFG_MAX_FILE);
	if (errnum == ENOMEM)
		return pd_err_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
	return pd_err_set(err, PD_ERR_IO, "%s: %s", path, strerror(errnum));
}

int
pd_config_load(const char *path, struct pd_config **out, struct pd_err *err, pd_config_diag_fn diag,
	       void *ud)
{
	return pd_config_load_flags(path, 0, out, err, diag, ud);
}

int
pd_config_load_flags(const char *path, unsigned flags, struct pd_config **out, struct pd_err *err,
		     pd_config_diag_fn diag, void *ud)
{
	struct pd_buf b;
	int rc;

	*out = NULL;
	pd_buf_init(&b, CFG_MAX_FILE);
	rc = cfg_read_file(path, &b, err);
	if (rc == 0)
		rc = config_load_string(b.data ? b.data : "", b.len, path, flags, out, err, diag,
					ud);
	pd_buf_cleanup(&b);
	return rc;
}

int
pd_config_store_path(const char *path, char **out, struct pd_err *err)
{
	struct cfg_ctx c;
	struct pd_buf b;
	yaml_node_t *root, *v, *top[TOP_N], *topk[TOP_N], *st[ST_N], *stk[ST_N];
	char *res = NULL;
	int have_doc = 0, rc;

	memset(&c, 0, sizeof(c));
	*out = NULL;
	c.file = path;
	pd_buf_init(&b, CFG_MAX_FILE);
	if ((rc = cfg_read_file(path, &b, err)) != 0)
		goto out;
	/* the keys that lead to the path are checked as strictly as by the full load (a
	 * typo must not turn into the default database); nothing else is looked at */
	root = pd_config_parse(&c, b.data ? b.data : "", b.len, CFG_EMPTY_MSG, NULL, &have_doc);
	if (root == NULL)
		goto out;
	if (root->type != YAML_MAPPING_NODE) {
		pd_config_error(&c, root,
				"expected a mapping at the top level (defaults, store, probes, "
				"notify, location, http)");
		goto out;
	}
	pd_config_map(&c, root, "top level", top_keys, top, topk);
	if (top[TOP_STORE] != NULL &&
	    pd_config_map(&c, top[TOP_STORE], "store", store_keys, st, stk) != 0)
		goto out;
	v = top[TOP_STORE] != NULL ? st[ST_PATH] : NULL;
	if (c.nmsgs > 0)
		goto out;
	if (v == NULL) {
		res = pd_config_strdup(&c, CFG_DEF_STORE_PATH);
	} else { /* as cfg_store() */
		res = pd_config_string(&c, v, "path", NULL);
		if (res != NULL && res[0] == '\0')
			pd_config_error(&c, v, "path: must not be empty");
	}
out:
	if (have_doc)
		pd_config_doc_delete(&c);
	pd_buf_cleanup(&b);
	if (rc == 0 && c.nomem) {
		rc = pd_err_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
	} else if (rc == 0 && c.nmsgs > 0) {
		qsort(c.msgs, c.nmsgs, sizeof(*c.msgs), pd_config_msg_cmp);
		rc = pd_err_set(err, PD_ERR_CONFIG, "%s", c.msgs[0].text);
	}
	for (size_t i = 0; i < c.nmsgs; i++)
		free(c.msgs[i].text);
	free(c.msgs);
	if (rc == 0) {
		*out = res;
		res = NULL;
	}
	free(res);
	return rc;
}
