/* config_sections.c — the top-level sections of probes.yaml around the probes: `http:`
 * (listener, bearer token), `classify:` (the P1–P4 ladder's thresholds and words; their
 * defaults are pd_classify_rules_default's), `heartbeat:`, `maintenance:` (windows; the rule is in maint.h),
 * `runbooks:` and `slo:` (objectives and burn-rate rules; see slo.h). A section that
 * names probes or families reads them from the probes already loaded.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/check.h"
#include "probed/classify.h"
#include "probed/config.h"
#include "probed/log.h"
#include "config_int.h"

/* "host:port", "[v6]:port"; host is a name or an address. */
static int
cfg_listen_ok(const char *s)
{
	const char *colon, *port;
	long pv = 0;
	size_t i;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		char a6[64];
		struct in6_addr in6;

		if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(a6))
			return 0;
		memcpy(a6, s + 1, (size_t)(close - s - 1));
		a6[close - s - 1] = '\0';
		if (inet_pton(AF_INET6, a6, &in6) != 1)
			return 0;
		colon = close + 1;
	} else {
		colon = strchr(s, ':');
		if (colon == NULL || colon == s || strchr(colon + 1, ':') != NULL)
			return 0;
		for (const char *h = s; h < colon; h++)
			if (!((*h >= 'A' && *h <= 'Z') || (*h >= 'a' && *h <= 'z') ||
			      (*h >= '0' && *h <= '9') || *h == '.' || *h == '-' || *h == '_'))
				return 0;
	}
	port = colon + 1;
	for (i = 0; port[i] >= '0' && port[i] <= '9' && i < 5; i++)
		pv = pv * 10 + (port[i] - '0');
	return i > 0 && port[i] == '\0' && pv >= 1 && pv <= 65535;
}

enum { HT_LISTEN, HT_BEARER, HT_N };
static const char *const http_keys[] = {"listen", "bearer_token", NULL};

void
pd_config_read_http(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg)
{
	yaml_node_t *v[HT_N], *k[HT_N];
	char show[CFG_SHOW_MAX + 8];
	int secret;

	if (pd_config_map(c, n, "http", http_keys, v, k) != 0)
		return;
	if (v[HT_LISTEN] != NULL) {
		char *s = pd_config_string(c, v[HT_LISTEN], "listen", &secret);

		if (s != NULL && !cfg_listen_ok(s)) {
			pd_config_error(
				c, v[HT_LISTEN],
				"listen: invalid address '%s' (host:port, e.g. "
				"127.0.0.1:9464 or [::1]:9464)",
				pd_config_disp(v[HT_LISTEN], s, secret, show, sizeof(show)));
			free(s);
			s = NULL;
		}
		cfg->http_listen = s;
	}
	if (v[HT_BEARER] != NULL) {
		cfg->http_bearer_token = pd_config_string(c, v[HT_BEARER], "bearer_token", &secret);
		pd_config_token_line(c, v[HT_BEARER], "bearer_token", cfg->http_bearer_token);
		if (cfg->http_bearer_token != NULL && cfg->http_bearer_token[0] == '\0') {
			pd_config_error(c, v[HT_BEARER], "bearer_token: must not be empty");
			free(cfg->http_bearer_token);
			cfg->http_bearer_token = NULL;
		}
		if (cfg->http_bearer_token != NULL)
			pd_log_add_secret(cfg->http_bearer_token);
	}
}

enum {
	CL_WINDOW,
	CL_CORE_TIMEOUT,
	CL_LAT_FACTOR,
	CL_ERR_LOW,
	CL_ERR_HIGH,
	CL_MIN_COUNT,
	CL_BASELINE,
	CL_CORE_FAMILY,
	CL_P3_ESCALATE,
	CL_CORRELATION,
	CL_REFERENCE,
	CL_UPSTREAM,
	CL_N
};
static const char *const classify_keys[] = {
	"window",
	"core_timeout",
	"latency_factor",
	"error_rate_low",
	"error_rate_high",
	"min_window_count",
	"baseline_latency",
	"core_family_down",
	"p3_escalate",
	"correlation_window",
	"reference_probe",
	"upstream",
	NULL,
};

void
pd_config_classify_defaults(struct pd_config *cfg)
{
	pd_classify_rules_default(&cfg->classify);
	cfg->correlation_ms = 2 * 60 * 1000;
}

/* classify: reference_probe must name a probe (or a family); upstream is free text. */
static void
cfg_classify_words(struct cfg_ctx *c, yaml_node_t *ref, yaml_node_t *up, struct pd_config *cfg)
{
	struct pd_classify_rules *r = &cfg->classify;
	char *s;

	if (ref != NULL && (s = pd_config_name(c, ref, "reference_probe")) != NULL) {
		if (pd_config_probe(cfg, s) == NULL && !pd_config_has_family(cfg, s))
			pd_config_error(c, ref,
					"classify: reference_probe: no probe (nor family) is "
					"named '%s'",
					s);
		else
			snprintf(r->reference_probe, sizeof(r->reference_probe), "%s", s);
		free(s);
	}
	if (up != NULL && (s = pd_config_string(c, up, "upstream", NULL)) != NULL) {
		size_t len = strlen(s);

		if (len == 0 || len >= sizeof(r->upstream) || strpbrk(s, "\n\r\t") != NULL)
			pd_config_error(c, up,
					"classify: upstream: 1-%zu characters on one line "
					"(the upstream's name, e.g. TikTok)",
					sizeof(r->upstream) - 1);
		else
			snprintf(r->upstream, sizeof(r->upstream), "%s", s);
		free(s);
	}
}

void
pd_config_read_classify(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg)
{
	static const char *const p12[] = {"P1", "P2", NULL};
	struct pd_classify_rules *r = &cfg->classify;
	yaml_node_t *v[CL_N], *k[CL_N];
	double d;
	int i;

	if (pd_config_map(c, n, "classify", classify_keys, v, k) != 0)
		return;
	if (v[CL_WINDOW])
		pd_config_duration(c, v[CL_WINDOW], "window", 10000, &r->window_ms);
	if (v[CL_CORE_TIMEOUT])
		pd_config_duration(c, v[CL_CORE_TIMEOUT], "core_timeout", 1, &r->core_timeout_ms);
	if (v[CL_LAT_FACTOR] &&
	    pd_config_number(c, v[CL_LAT_FACTOR], "latency_factor", 1.0, 1000, &d) == 0)
		r->latency_factor = d;
	if (v[CL_ERR_LOW] && pd_config_number(c, v[CL_ERR_LOW], "error_rate_low", 0, 1, &d) == 0)
		r->error_rate_low = d;
	if (v[CL_ERR_HIGH] && pd_config_number(c, v[CL_ERR_HIGH], "error_rate_high", 0, 1, &d) == 0)
		r->error_rate_high = d;
	if (r->error_rate_low > r->error_rate_high)
		pd_config_error(c, n, "classify: error_rate_low must not exceed error_rate_high");
	if (v[CL_MIN_COUNT] &&
	    pd_config_int(c, v[CL_MIN_COUNT], "min_window_count", 1, 1000000, &i) == 0)
		r->min_window_count = i;
	if (v[CL_BASELINE]) {
		int64_t ms;

		if (pd_config_duration(c, v[CL_BASELINE], "baseline_latency", 1, &ms) == 0)
			r->baseline_latency_ms = (double)ms;
	}
	if (v[CL_CORE_FAMILY]) {
		int e = pd_config_enum(c, v[CL_CORE_FAMILY], "core_family_down", p12, "P1 or P2");

		if (e >= 0)
			r->core_family_down_p1 = e == 0;
	}
	if (v[CL_P3_ESCALATE])
		pd_config_duration(c, v[CL_P3_ESCALATE], "p3_escalate", 1000, &r->p3_escalate_ms);
	if (v[CL_CORRELATION])
		pd_config_duration(c, v[CL_CORRELATION], "correlation_window", 0,
				   &cfg->correlation_ms);
	cfg_classify_words(c, v[CL_REFERENCE], v[CL_UPSTREAM], cfg);
}

enum { HB_URL, HB_INTERVAL, HB_N };
static const char *const heartbeat_keys[] = {"url", "interval", NULL};

void
pd_config_read_heartbeat(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg)
{
	yaml_node_t *v[HB_N], *k[HB_N];
	int secret = 0;
	char *display = NULL;

	cfg->heartbeat_interval_ms = 60000;
	if (pd_config_map(c, n, "heartbeat", heartbeat_keys, v, k) != 0)
		return;
	if (v[HB_URL] == NULL)
		pd_config_error(c, n, "heartbeat is missing required key 'url'");
	else
		pd_config_url(c, v[HB_URL], "url", &cfg->heartbeat_url, &display, &secret);
	free(display);
	if (v[HB_INTERVAL] != NULL)
		pd_config_duration(c, v[HB_INTERVAL], "interval", 1000,
				   &cfg->heartbeat_interval_ms);
}

/* ---- maintenance windows (the rule is in maint.h) ---- */
enum {
	MT_NAME,
	MT_REASON,
	MT_START,
	MT_WEEKDAYS,
	MT_TIME,
	MT_DURATION,
	MT_PROBES,
	MT_FAMILIES,
	MT_ALL,
	MT_N
};
static const char *const maint_keys[] = {
	"name",     "reason", "start",    "weekdays", "time",
	"duration", "probes", "families", "all",      NULL,
};

static void
cfg_maint_weekday(struct cfg_ctx *c, yaml_node_t *n, unsigned *mask)
{
	char show[CFG_SHOW_MAX + 8];
	int secret, d;
	char *s = pd_config_scalar(c, n, "weekdays", &secret);

	if (s == NULL)
		return;
	if ((d = pd_maint_weekday_parse(s)) < 0)
		pd_config_error(
			c, n, "weekdays: unknown weekday '%s' (mon, tue, wed, thu, fri, sat, sun)",
			pd_config_disp(n, s, secret, show, sizeof(show)));
	else
		*mask |= 1u << d;
	free(s);
}

/* A list of probe or family names that must exist in the configuration. */
static void
cfg_maint_scope(struct cfg_ctx *c, yaml_node_t *n, const char *what, int family,
		const struct pd_config *cfg, char ***out, size_t *nout)
{
	yaml_node_item_t *items;
	size_t cnt;

	if (pd_config_seq(c, n, what, &items, &cnt) != 0)
		return;
	if (cnt == 0) {
		pd_config_error(c, n, "%s: list is empty", what);
		return;
	}
	if ((*out = pd_config_calloc(c, cnt, sizeof(**out))) == NULL)
		return;
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *e = pd_config_node(c, items[i]);
		char *s = pd_config_name(c, e, what);
		if (s == NULL)
			continue;
		if (family ? !pd_config_has_family(cfg, s) : pd_config_probe(cfg, s) == NULL) {
			char show[CFG_SHOW_MAX + 8];

			pd_config_error(c, e, "%s: no %s named '%s' in this configuration", what,
					family ? "probe family" : "probe",
					pd_config_disp(e, s, 0, show, sizeof(show)));
			free(s);
			continue;
		}
		(*out)[(*nout)++] = s;
	}
}

static void
cfg_maint_one(struct cfg_ctx *c, yaml_node_t *n, const struct pd_config *cfg,
	      struct pd_maint_window *w, yaml_node_t **name_node)
{
	yaml_node_t *v[MT_N], *k[MT_N];
	char show[CFG_SHOW_MAX + 8];
	int secret;

	if (pd_config_map(c, n, "maintenance", maint_keys, v, k) != 0)
		return;
	if (n->type != YAML_MAPPING_NODE) {
		pd_config_error(c, n, "maintenance: expected a mapping");
		return;
	}
	if (v[MT_NAME] != NULL && (w->name = pd_config_name(c, v[MT_NAME], "name")) != NULL)
		*name_node = v[MT_NAME];
	if (v[MT_REASON] == NULL)
		pd_config_error(c, n,
				"maintenance is missing required key 'reason' (what the on-call "
				"reads: e.g. \"upstream provider's announced maintenance\")");
	else
		w->reason = pd_config_string(c, v[MT_REASON], "reason", NULL);
	if (v[MT_START] != NULL && v[MT_WEEKDAYS] != NULL) {
		pd_config_error(c, k[MT_WEEKDAYS],
				"maintenance: 'start' (one-off) and 'weekdays' "
				"(recurring) exclude each other");
	} else if (v[MT_START] != NULL) {
		char *s = pd_config_scalar(c, v[MT_START], "start", &secret);
		int64_t ms = 0;

		if (s != NULL && (pd_check_rfc3339_parse(s, &ms) != 0 || ms <= 0))
			pd_config_error(c, v[MT_START],
					"start: '%s' is not an RFC 3339 time (UTC, e.g. "
					"2026-12-07T02:00:00Z)",
					pd_config_disp(v[MT_START], s, secret, show, sizeof(show)));
		else if (s != NULL)
			w->start_ms = ms;
		free(s);
		if (k[MT_TIME] != NULL)
			pd_config_error(
				c, k[MT_TIME],
				"time is only valid with 'weekdays' (a recurring "
				"window); a one-off window has its date and time in 'start'");
	} else if (v[MT_WEEKDAYS] != NULL) {
		yaml_node_t *wd = v[MT_WEEKDAYS];

		if (wd->type == YAML_SEQUENCE_NODE) {
			yaml_node_item_t *items;
			size_t cnt;

			if (pd_config_seq(c, wd, "weekdays", &items, &cnt) == 0 && cnt == 0)
				pd_config_error(c, wd, "weekdays: list is empty");
			for (size_t i = 0; i < cnt; i++)
				cfg_maint_weekday(c, pd_config_node(c, items[i]), &w->weekdays);
		} else {
			cfg_maint_weekday(c, wd, &w->weekdays);
		}
		if (v[MT_TIME] == NULL) {
			pd_config_error(c, n,
					"maintenance is missing required key 'time' (HH:MM, UTC) "
					"for its weekdays");
		} else {
			char *s = pd_config_scalar(c, v[MT_TIME], "time", &secret);

			if (s != NULL && (w->time_ms = pd_config_time_of_day(s)) < 0)
				pd_config_error(
					c, v[MT_TIME],
					"time: invalid time of day '%s' (HH:MM, UTC, "
					"00:00 to 23:59)",
					pd_config_disp(v[MT_TIME], s, secret, show, sizeof(show)));
			free(s);
		}
	} else {
		pd_config_error(c, n,
				"maintenance needs 'start' (a one-off window) or 'weekdays' and "
				"'time' (a recurring one)");
	}
	if (v[MT_DURATION] == NULL)
		pd_config_error(c, n, "maintenance is missing required key 'duration'");
	else if (pd_config_duration(c, v[MT_DURATION], "duration", 1, &w->duration_ms) == 0 &&
		 v[MT_WEEKDAYS] != NULL && w->duration_ms > PD_MAINT_WEEK_MS)
		pd_config_error(c, v[MT_DURATION], "duration: a recurring window lasts at most 7d");
	if (v[MT_ALL] != NULL) {
		char *s = pd_config_scalar(c, v[MT_ALL], "all", &secret);
		int b = 0;

		if (s != NULL && (pd_config_yaml_bool(s, &b) == 0 || !b))
			pd_config_error(c, v[MT_ALL],
					"all: must be true (or leave it out and list "
					"probes or families)");
		free(s);
		w->all = b;
		if (b && (k[MT_PROBES] != NULL || k[MT_FAMILIES] != NULL))
			pd_config_error(c, k[MT_ALL], "all: true excludes 'probes' and 'families'");
	}
	if (v[MT_PROBES] != NULL)
		cfg_maint_scope(c, v[MT_PROBES], "probes", 0, cfg, &w->probes, &w->nprobes);
	if (v[MT_FAMILIES] != NULL)
		cfg_maint_scope(c, v[MT_FAMILIES], "families", 1, cfg, &w->families, &w->nfamilies);
	if (k[MT_ALL] == NULL && k[MT_PROBES] == NULL && k[MT_FAMILIES] == NULL)
		pd_config_error(c, n,
				"maintenance needs a scope: 'probes: [...]', 'families: [...]' or "
				"'all: true'");
}

static char *
cfg_maint_item(struct cfg_ctx *c, yaml_node_t *n, size_t i, void *ud, yaml_node_t **name_node)
{
	struct pd_config *cfg = ud;

	cfg_maint_one(c, n, cfg, &cfg->maint[i], name_node);
	return cfg->maint[i].name;
}

void
pd_config_read_maintenance(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg)
{
	yaml_node_item_t *items;
	size_t cnt;

	if (pd_config_seq(c, n, "maintenance", &items, &cnt) != 0 || cnt == 0)
		return;
	cfg->maint = pd_config_calloc(c, cnt, sizeof(*cfg->maint));
	if (cfg->maint != NULL)
		pd_config_named(c, items, cnt, "maintenance", cfg_maint_item, cfg, &cfg->nmaint);
}

/* runbooks: {base_url: URL}: where the runbooks/ directory is published; every payload
 * then carries BASE_URL/<file> (an absolute link: PagerDuty's links[], Slack's button)
 * instead of the relative "runbooks/<file>". */
enum { RB_BASE_URL, RB_N };
static const char *const runbooks_keys[] = {"base_url", NULL};

void
pd_config_read_runbooks(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg)
{
	yaml_node_t *v[RB_N], *k[RB_N];
	int secret = 0;
	char *display = NULL;

	if (pd_config_map(c, n, "runbooks", runbooks_keys, v, k) != 0)
		return;
	if (v[RB_BASE_URL] == NULL) {
		pd_config_error(c, n, "runbooks is missing required key 'base_url'");
		return;
	}
	if (pd_config_url(c, v[RB_BASE_URL], "base_url", &cfg->runbooks_base_url, &display,
			  &secret) != 0)
		return;
	free(display);
	if (strlen(cfg->runbooks_base_url) > PD_CONFIG_RUNBOOK_URL_MAX)
		pd_config_error(c, v[RB_BASE_URL], "base_url: at most %d bytes, got %zu",
				PD_CONFIG_RUNBOOK_URL_MAX, strlen(cfg->runbooks_base_url));
	else if (strpbrk(cfg->runbooks_base_url, "?#") != NULL)
		pd_config_error(c, v[RB_BASE_URL],
				"base_url: no query or fragment (the runbook's "
				"file name is appended to it)");
}

/* ---- `slo:` (objectives per family or probe, burn-rate rules; see slo.h) ---- */
enum { SLO_OBJECTIVES, SLO_RULES, SLO_N };
static const char *const slo_keys[] = {"objectives", "rules", NULL};
enum { SO_FAMILY, SO_PROBE, SO_AVAIL, SO_OVER, SO_LATENCY, SO_N };
static const char *const slo_obj_keys[] = {"family", "probe",   "availability",
					   "over",   "latency", NULL};
enum { SL_UNDER, SL_TARGET, SL_N };
static const char *const slo_lat_keys[] = {"under", "target", NULL};
enum { SR_BURN, SR_LONG, SR_SHORT, SR_SEVERITY, SR_N };
static const char *const slo_rule_keys[] = {"burn_rate", "long", "short", "severity", NULL};

/* "99.9%" -> 0.999 (strictly between 0 and 100 %); 0 ok, -1 error (reported). */
static int
cfg_percent(struct cfg_ctx *c, yaml_node_t *n, const char *what, double *out)
{
	const char *raw = n->type == YAML_SCALAR_NODE ? pd_config_raw(n) : "";
	size_t len = strlen(raw);
	char num[32];
	double v;

	if (len < 2 || len >= sizeof(num) || raw[len - 1] != '%')
		goto bad;
	memcpy(num, raw, len - 1);
	num[len - 1] = '\0';
	if (!pd_config_yaml_number(num, &v) || !(v > 0 && v < 100))
		goto bad;
	*out = v / 100.0;
	return 0;
bad:
	pd_config_error(c, n, "%s: expected a percentage above 0%% and below 100%%, e.g. 99.9%%",
			what);
	return -1;
}

/* o, and the latency objective lat (name NULL when none) */
static void
cfg_slo_objective(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg, struct pd_slo_cfg *o,
		  struct pd_slo_cfg *lat)
{
	yaml_node_t *v[SO_N], *k[SO_N];

	o->period_ms = 30LL * 24 * 60 * 60 * 1000;
	o->line = (int)n->start_mark.line + 1;
	o->col = (int)n->start_mark.column + 1;
	if (pd_config_map(c, n, "slo objective", slo_obj_keys, v, k) != 0)
		return;
	if ((v[SO_FAMILY] == NULL) == (v[SO_PROBE] == NULL)) {
		pd_config_error(c, n, "slo objective: give exactly one of 'family' or 'probe'");
		return;
	}
	o->by_probe = v[SO_PROBE] != NULL;
	o->name = pd_config_name(c, v[o->by_probe ? SO_PROBE : SO_FAMILY],
				 o->by_probe ? "probe" : "family");
	if (o->name != NULL && !(o->by_probe ? pd_config_probe(cfg, o->name) != NULL
					     : pd_config_has_family(cfg, o->name)))
		pd_config_error(c, v[o->by_probe ? SO_PROBE : SO_FAMILY],
				"slo objective: no probe %s '%s'",
				o->by_probe ? "is named" : "has the family", o->name);
	if (v[SO_AVAIL] == NULL)
		pd_config_error(
			c, n, "slo objective is missing required key 'availability' (e.g. 99.9%%)");
	else
		cfg_percent(c, v[SO_AVAIL], "availability", &o->objective);
	if (v[SO_OVER] != NULL)
		pd_config_duration(c, v[SO_OVER], "over", 60 * 60 * 1000, &o->period_ms);
	/* results older than the retention are pruned: the SLI would silently cover less */
	if (o->period_ms > cfg->retention_ms) {
		char per[32], ret[32];

		pd_config_duration_format(o->period_ms, per, sizeof(per));
		pd_config_duration_format(cfg->retention_ms, ret, sizeof(ret));
		pd_config_error(c, v[SO_OVER] ? v[SO_OVER] : n,
				"slo objective: over %s is longer than "
				"store.retention (%s): raise the retention or shorten the period",
				per, ret);
	}
	if (v[SO_LATENCY] != NULL) {
		yaml_node_t *lv[SL_N], *lk[SL_N];

		if (pd_config_map(c, v[SO_LATENCY], "slo latency", slo_lat_keys, lv, lk) != 0)
			return;
		for (int j = 0; j < SL_N; j++)
			if (lv[j] == NULL)
				pd_config_error(c, v[SO_LATENCY],
						"slo latency is missing required key '%s'",
						slo_lat_keys[j]);
		if (lv[SL_UNDER] == NULL || lv[SL_TARGET] == NULL)
			return;
		*lat = *o;
		lat->name = pd_config_strdup(c, o->name ? o->name : "");
		pd_config_duration(c, lv[SL_UNDER], "under", 1, &lat->lat_under_ms);
		cfg_percent(c, lv[SL_TARGET], "target", &lat->objective);
		lat->line = (int)v[SO_LATENCY]->start_mark.line + 1;
		lat->col = (int)v[SO_LATENCY]->start_mark.column + 1;
	}
}

void
pd_config_read_slo(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg)
{
	yaml_node_t *v[SLO_N], *k[SLO_N];
	yaml_node_item_t *it;
	size_t cnt;

	if (pd_config_map(c, n, "slo", slo_keys, v, k) != 0)
		return;
	if (v[SLO_RULES] != NULL && pd_config_seq(c, v[SLO_RULES], "slo rules", &it, &cnt) == 0) {
		if (cnt == 0 || cnt > PD_SLO_MAX_RULES)
			pd_config_error(c, v[SLO_RULES], "slo rules: from 1 to %d rules",
					PD_SLO_MAX_RULES);
		else
			cfg->nslo_rules = cnt;
		for (size_t i = 0; i < cnt && cfg->nslo_rules; i++) {
			yaml_node_t *rn = pd_config_node(c, it[i]), *rv[SR_N], *rk[SR_N];
			struct pd_slo_rule *r = &cfg->slo_rules[i];
			int sev;

			if (pd_config_map(c, rn, "slo rule", slo_rule_keys, rv, rk) != 0)
				continue;
			for (int j = 0; j < SR_N; j++)
				if (rv[j] == NULL)
					pd_config_error(c, rn,
							"slo rule is missing required key '%s'",
							slo_rule_keys[j]);
			if (rv[SR_BURN])
				pd_config_number(c, rv[SR_BURN], "burn_rate", 0.01, 100000,
						 &r->burn);
			if (rv[SR_LONG])
				pd_config_duration(c, rv[SR_LONG], "long", 60000, &r->long_ms);
			if (rv[SR_SHORT])
				pd_config_duration(c, rv[SR_SHORT], "short", 60000, &r->short_ms);
			if (rv[SR_LONG] && rv[SR_SHORT] && r->short_ms > r->long_ms)
				pd_config_error(c, rv[SR_SHORT], "short: must not exceed long");
			if (rv[SR_SEVERITY] && (sev = pd_config_enum(c, rv[SR_SEVERITY], "severity",
								     pd_config_severity_words,
								     "P1, P2, P3 or P4")) >= 0)
				r->severity = sev + 1;
		}
	}
	if (v[SLO_OBJECTIVES] == NULL ||
	    pd_config_seq(c, v[SLO_OBJECTIVES], "slo objectives", &it, &cnt) != 0)
		return;
	if (cnt == 0)
		return;
	/* room for a latency objective per entry */
	if ((cfg->slos = pd_config_calloc(c, 2 * cnt, sizeof(*cfg->slos))) == NULL)
		return;
	for (size_t i = 0; i < cnt; i++) {
		struct pd_slo_cfg lat;

		memset(&lat, 0, sizeof(lat));
		cfg_slo_objective(c, pd_config_node(c, it[i]), cfg, &cfg->slos[cfg->nslos++], &lat);
		if (lat.name != NULL)
			cfg->slos[cfg->nslos++] = lat;
	}
	for (size_t i = 0; i < cfg->nslos; i++)
		for (size_t j = 0; j < i; j++)
			if (cfg->slos[i].name && cfg->slos[j].name &&
			    strcmp(cfg->slos[i].name, cfg->slos[j].name) == 0 &&
			    (cfg->slos[i].lat_under_ms > 0) == (cfg->slos[j].lat_under_ms > 0))
				pd_config_error_at(
					c, (size_t)cfg->slos[i].line, (size_t)cfg->slos[i].col,
					"duplicate slo objective '%s' (first defined at %d:%d)",
					cfg->slos[i].name, cfg->slos[j].line, cfg->slos[j].col);
}
