/* check_notify.c — delivery targets: what each target renders from the neutral event
 * (exact fields), severity routing, the receiver-answer classifier, the notify keys of
 * the config, and the exec runner (real processes). The outbox delivering to these
 * targets is check_outbox_targets.c. Everything real: temp dirs, processes; no mocks. */
#include <check.h>
#include "testlib.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ev.h>
#include <cjson/cJSON.h>
#include "probed/clock.h"
#include "probed/config.h"
#include "probed/log.h"
#include "probed/buf.h"
#include "probed/notify.h"
#include "probed/runner.h"

#define T0_MS PD_TEST_T0_MS /* pd_test_event's times: 2026-11-18T11:06:40Z on */
#define WAIT_S 10.0
#define GENIE_KEY "G3N1E-CANARY-0123456789"
#define ROUTING_KEY "R0UT1NG-CANARY-0123456789abcdef"

/* ================================================================ helpers */

/* Render event for target t; returns the parsed body (the caller deletes it). */
static cJSON *
render(const struct pd_notify_cfg *t, const cJSON *event)
{
	const struct pd_notify_ops *ops = pd_notify_ops_for(t->type);
	struct pd_err err = {0};
	struct pd_buf body;
	cJSON *j;

	ck_assert_ptr_nonnull(ops);
	pd_buf_init(&body, 0);
	ck_assert_msg(ops->render(t, event, &body, &err) == 0, "%s", err.msg);
	j = cJSON_Parse(body.data);
	ck_assert_msg(j != NULL, "not JSON: %s", body.data);
	pd_buf_cleanup(&body);
	return j;
}

static char *
request_url(const struct pd_notify_cfg *t, const cJSON *event)
{
	const struct pd_notify_ops *ops = pd_notify_ops_for(t->type);
	struct pd_err err = {0};
	struct pd_buf url;

	ck_assert_ptr_nonnull(ops->request_url);
	pd_buf_init(&url, 0);
	ck_assert_msg(ops->request_url(t, event, &url, &err) == 0, "%s", err.msg);
	return url.data;
}

/* ================================================================ event, helpers */

/* Invalid UTF-8 (a verdict cut mid-character by a fixed buffer, raw response bytes) never
 * reaches a receiver: it could answer 400 and dead-letter the page. */
START_TEST(test_utf8_scrub)
{
	static const struct {
		const char *in, *out;
		size_t fixed;
	} t[] = {
		{"plain", "plain", 0},
		{"caf\xc3\xa9", "caf\xc3\xa9", 0},             /* é */
		{"cut \xc3", "cut ?", 1},                      /* é cut in half */
		{"\xe2\x82", "??", 2},                         /* € cut after 2 bytes */
		{"\xe2\x82\xac ok", "\xe2\x82\xac ok", 0},     /* € whole */
		{"\xc0\xaf", "??", 2},                         /* overlong '/' */
		{"\xed\xa0\x80", "???", 3},                    /* a surrogate */
		{"\xf4\x90\x80\x80", "????", 4},               /* above U+10FFFF */
		{"\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!", 0}, /* an emoji */
		{"\xff\xfe", "??", 2},
	};
	struct pd_notify_event ev = {0};
	char buf[64], *json;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", t[i].in);
		ck_assert_uint_eq(pd_buf_utf8_scrub(buf), t[i].fixed);
		ck_assert_str_eq(buf, t[i].out);
	}
	ev.event = "trigger";
	ev.dedup_key = "k";
	ev.probe = "p";
	ev.family = "f";
	ev.summary = "s";
	ev.reason = "$.name: got \"Jos\xc3"; /* cut mid-character */
	json = pd_notify_event_json(&ev);
	ck_assert_ptr_nonnull(json);
	ck_assert_ptr_nonnull(strstr(json, "\"reason\":\"$.name: got \\\"Jos?\""));
	free(json);
}
END_TEST

START_TEST(test_event_json_fields)
{
	cJSON *e = pd_test_event("trigger", "P2"), *plain = pd_test_event("trigger", NULL);
	struct pd_notify_event ev = {0};
	char *json;
	cJSON *d;

	ck_assert_str_eq(pd_test_jstr(e, "severity"), "P2");
	ck_assert_str_eq(pd_test_jstr(e, "mode"), "mode1-upstream");
	ck_assert_str_eq(pd_test_jstr(e, "mode_title"),
			 "Mode 1: upstream TikTok API down or changed");
	ck_assert_str_eq(pd_test_jstr(e, "runbook"), "runbooks/mode1-upstream-changed.md");
	ck_assert_int_eq((int)pd_test_jget(e, "incident_id")->valuedouble, 7);
	ck_assert_ptr_nonnull(strstr(pd_test_jstr(e, "status_message"), "INVESTIGATING"));
	ck_assert_str_eq(pd_test_jstr(e, "down_since"), "2026-11-18T11:06:40.000Z");
	ck_assert_ptr_null(pd_test_jget(e, "drill"));
	/* unset fields are omitted, not null */
	for (const char *const *k =
		     (const char *const[]){"severity", "mode", "mode_title", "runbook",
					   "incident_id", "status_message", "drill", NULL};
	     *k; k++)
		ck_assert_msg(pd_test_jget(plain, *k) == NULL, "%s present", *k);
	/* drill is a real boolean */
	ev.event = "trigger";
	ev.dedup_key = "k";
	ev.probe = ev.family = ev.summary = ev.reason = "x";
	ev.drill = 1;
	json = pd_notify_event_json(&ev);
	d = cJSON_Parse(json);
	ck_assert(cJSON_IsTrue(pd_test_jget(d, "drill")));
	cJSON_Delete(d);
	free(json);
	cJSON_Delete(e);
	cJSON_Delete(plain);
}
END_TEST

START_TEST(test_event_severity)
{
	cJSON *o = cJSON_CreateObject();

	/* missing or junk severity in an event: treated as P1 (pd_classify_severity_parse itself is
	 * tested in check_classify) */
	ck_assert_int_eq(pd_notify_event_severity(o), 1);
	cJSON_AddStringToObject(o, "severity", "urgent");
	ck_assert_int_eq(pd_notify_event_severity(o), 1);
	cJSON_ReplaceItemInObject(o, "severity", cJSON_CreateString("p3"));
	ck_assert_int_eq(pd_notify_event_severity(o), 1);
	cJSON_ReplaceItemInObject(o, "severity", cJSON_CreateString("P3"));
	ck_assert_int_eq(pd_notify_event_severity(o), 3);
	cJSON_Delete(o);
}
END_TEST

START_TEST(test_truncate)
{
	char out[64];

	pd_notify_truncate(out, sizeof(out), "short", 10, 1);
	ck_assert_str_eq(out, "short");
	pd_notify_truncate(out, sizeof(out), "0123456789abc", 10, 0);
	ck_assert_str_eq(out, "0123456789");
	pd_notify_truncate(out, sizeof(out), "0123456789abc", 10, 1);
	ck_assert_str_eq(out, "0123456\xe2\x80\xa6");
	/* never inside a UTF-8 sequence: "é" is 2 bytes, "€" 3 */
	pd_notify_truncate(out, sizeof(out), "\xc3\xa9\xc3\xa9\xc3\xa9", 5, 0);
	ck_assert_str_eq(out, "\xc3\xa9\xc3\xa9");
	pd_notify_truncate(out, sizeof(out), "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 8, 1);
	ck_assert_str_eq(out, "\xe2\x82\xac\xe2\x80\xa6");
	/* the cap of out wins over max_bytes */
	pd_notify_truncate(out, 4, "abcdefgh", 100, 0);
	ck_assert_str_eq(out, "abc");
}
END_TEST

/* ================================================================ routing */

static struct pd_notify_cfg
tcfg(enum pd_notify_type type, enum pd_notify_role role, unsigned sev)
{
	struct pd_notify_cfg t = {0};

	t.name = "t";
	t.type = type;
	t.role = role;
	t.severities = sev;
	return t;
}

/* The playbook: P1/P2 page (+ chat, + tickets), P3 chat only (+ tickets), P4 tickets. */
START_TEST(test_routing_defaults)
{
	static const struct {
		enum pd_notify_type type;
		const char *want; /* routes for P1..P4 */
		enum pd_notify_role role;
	} cases[] = {
		{PD_NOTIFY_PAGERDUTY, "1100", PD_NOTIFY_ROLE_PAGE},
		{PD_NOTIFY_OPSGENIE, "1100", PD_NOTIFY_ROLE_PAGE},
		{PD_NOTIFY_SLACK, "1110", PD_NOTIFY_ROLE_CHAT},
		{PD_NOTIFY_WEBHOOK, "1111", PD_NOTIFY_ROLE_TICKET},
		{PD_NOTIFY_EXEC, "1111", PD_NOTIFY_ROLE_TICKET},
		{PD_NOTIFY_ALERTMANAGER, "1111", PD_NOTIFY_ROLE_TICKET},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pd_notify_cfg t = tcfg(cases[i].type, PD_NOTIFY_ROLE_DEFAULT, 0);

		ck_assert_int_eq(pd_notify_role_of(&t), cases[i].role);
		for (int sev = 1; sev <= 4; sev++)
			ck_assert_msg(pd_notify_routes(&t, sev) == (cases[i].want[sev - 1] == '1'),
				      "type %d P%d", cases[i].type, sev);
		ck_assert_int_eq(pd_notify_routes(&t, 0), 0);
		ck_assert_int_eq(pd_notify_routes(&t, 5), 0);
		ck_assert_int_eq(pd_notify_routes(&t, -1), 0);
	}
	/* the combined picture: which roles a severity reaches */
	for (int sev = 1; sev <= 4; sev++) {
		struct pd_notify_cfg page = tcfg(PD_NOTIFY_PAGERDUTY, 0, 0);
		struct pd_notify_cfg chat = tcfg(PD_NOTIFY_SLACK, 0, 0);
		struct pd_notify_cfg ticket = tcfg(PD_NOTIFY_WEBHOOK, 0, 0);

		ck_assert_int_eq(pd_notify_routes(&page, sev), sev <= 2);
		ck_assert_int_eq(pd_notify_routes(&chat, sev), sev <= 3);
		ck_assert_int_eq(pd_notify_routes(&ticket, sev), 1);
	}
}
END_TEST

START_TEST(test_routing_role_and_severities)
{
	struct pd_notify_cfg t;

	/* a webhook acting as a pager */
	t = tcfg(PD_NOTIFY_WEBHOOK, PD_NOTIFY_ROLE_PAGE, 0);
	ck_assert(pd_notify_routes(&t, 1) && pd_notify_routes(&t, 2));
	ck_assert(!pd_notify_routes(&t, 3) && !pd_notify_routes(&t, 4));
	/* a pagerduty service used as a ticket queue */
	t = tcfg(PD_NOTIFY_PAGERDUTY, PD_NOTIFY_ROLE_TICKET, 0);
	ck_assert(pd_notify_routes(&t, 4));
	/* an explicit list wins over the role */
	t = tcfg(PD_NOTIFY_PAGERDUTY, PD_NOTIFY_ROLE_PAGE, 1u << 0);
	ck_assert(pd_notify_routes(&t, 1) && !pd_notify_routes(&t, 2));
	t = tcfg(PD_NOTIFY_SLACK, 0, (1u << 3) | (1u << 2));
	ck_assert(!pd_notify_routes(&t, 1) && !pd_notify_routes(&t, 2));
	ck_assert(pd_notify_routes(&t, 3) && pd_notify_routes(&t, 4));
	ck_assert_uint_eq(pd_notify_severities_of(&t), 12);
	ck_assert_str_eq(pd_notify_role_str(PD_NOTIFY_ROLE_CHAT), "chat");
	ck_assert_str_eq(pd_notify_role_str(pd_notify_role_of(&t)), "chat");
}
END_TEST

/* ================================================================ classify */

START_TEST(test_classify)
{
	static const struct {
		int curl;
		long status;
		enum pd_notify_verdict want;
	} cases[] = {
		{0, 200, PD_NOTIFY_DELIVERED}, {0, 202, PD_NOTIFY_DELIVERED},
		{0, 204, PD_NOTIFY_DELIVERED}, {0, 299, PD_NOTIFY_DELIVERED},
		{0, 408, PD_NOTIFY_RETRY},     {0, 429, PD_NOTIFY_RETRY},
		{0, 500, PD_NOTIFY_RETRY},     {0, 502, PD_NOTIFY_RETRY},
		{0, 503, PD_NOTIFY_RETRY},     {0, 504, PD_NOTIFY_RETRY},
		{0, 400, PD_NOTIFY_PERMANENT}, {0, 401, PD_NOTIFY_PERMANENT},
		{0, 403, PD_NOTIFY_PERMANENT}, {0, 404, PD_NOTIFY_PERMANENT},
		{0, 410, PD_NOTIFY_PERMANENT}, {0, 422, PD_NOTIFY_PERMANENT},
		{0, 301, PD_NOTIFY_PERMANENT}, {0, 100, PD_NOTIFY_RETRY},
		{7, 0, PD_NOTIFY_RETRY},       {28, 0, PD_NOTIFY_RETRY},
		{7, 200, PD_NOTIFY_RETRY},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pd_response r = {0};

		r.curl_code = cases[i].curl;
		r.http_status = cases[i].status;
		ck_assert_msg(pd_notify_classify(&r) == cases[i].want, "curl %d HTTP %ld",
			      cases[i].curl, cases[i].status);
	}
}
END_TEST

START_TEST(test_exec_classify)
{
	struct pd_exec_result r = {0};
	char why[128];

	r.exited = 1;
	ck_assert_int_eq(pd_notify_exec_classify(&r), PD_NOTIFY_DELIVERED);
	pd_notify_exec_describe(&r, why, sizeof(why));
	ck_assert_str_eq(why, "exit 0");
	r.exit_status = 75;
	ck_assert_int_eq(pd_notify_exec_classify(&r), PD_NOTIFY_RETRY);
	pd_notify_exec_describe(&r, why, sizeof(why));
	ck_assert_str_eq(why, "exit 75");
	memset(&r, 0, sizeof(r));
	r.signaled = 1;
	r.signal = SIGSEGV;
	ck_assert_int_eq(pd_notify_exec_classify(&r), PD_NOTIFY_RETRY);
	/* a command that exits 0 after we sent SIGTERM still timed out */
	memset(&r, 0, sizeof(r));
	r.exited = 1;
	r.timed_out = 1;
	r.elapsed_ms = 1234;
	ck_assert_int_eq(pd_notify_exec_classify(&r), PD_NOTIFY_RETRY);
	pd_notify_exec_describe(&r, why, sizeof(why));
	ck_assert_ptr_nonnull(strstr(why, "timed out after 1234 ms"));
}
END_TEST

/* ================================================================ config */

START_TEST(test_config_targets)
{
	struct pd_config *cfg;
	const struct pd_notify_cfg *n;

	ck_assert_int_eq(setenv("PD_TEST_GENIE", GENIE_KEY, 1), 0);
	cfg = pd_test_notify_cfg(
		"  - name: og\n    type: opsgenie\n    api_key: ${PD_TEST_GENIE}\n"
		"  - name: og-eu\n    type: opsgenie\n    url: https://api.eu.opsgenie.com\n"
		"    api_key: plain-key\n    severities: [P1]\n"
		"  - name: chat\n    type: slack\n"
		"    url: https://hooks.slack.com/services/T000/B000/XXXXSECRET\n"
		"  - name: am\n    type: alertmanager\n    url: http://127.0.0.1:9093\n"
		"    resend_interval: 2s\n    resend_resolved_for: 1m\n"
		"    generator_url: http://probe-host:9464/\n"
		"  - name: script\n    type: exec\n"
		"    command: [/usr/local/bin/notify, --to, ops]\n    timeout: 5s\n"
		"    role: page\n"
		"  - name: hook\n    type: webhook\n    url: http://127.0.0.1:1/h\n"
		"    severities: [P4, P3]\n");
	ck_assert_uint_eq(cfg->nnotify, 6);
	n = &cfg->notify[0];
	ck_assert_int_eq(n->type, PD_NOTIFY_OPSGENIE);
	ck_assert_str_eq(n->url, "https://api.opsgenie.com");
	ck_assert_str_eq(n->api_key, GENIE_KEY);
	ck_assert_int_eq(pd_notify_role_of(n), PD_NOTIFY_ROLE_PAGE);
	n = &cfg->notify[1];
	ck_assert_str_eq(n->url, "https://api.eu.opsgenie.com");
	ck_assert_uint_eq(n->severities, 1);
	n = &cfg->notify[2];
	ck_assert_int_eq(n->type, PD_NOTIFY_SLACK);
	ck_assert_str_eq(n->url, "https://hooks.slack.com/services/T000/B000/XXXXSECRET");
	/* shown redacted: the path of an incoming webhook is its credential */
	ck_assert_str_eq(n->url_display, "https://hooks.slack.com/[REDACTED]");
	n = &cfg->notify[3];
	ck_assert_int_eq(n->type, PD_NOTIFY_ALERTMANAGER);
	ck_assert_int_eq(n->resend_interval_ms, 2000);
	ck_assert_int_eq(n->resend_resolved_ms, 60000);
	ck_assert_str_eq(n->generator_url, "http://probe-host:9464/");
	n = &cfg->notify[4];
	ck_assert_int_eq(n->type, PD_NOTIFY_EXEC);
	ck_assert_uint_eq(n->ncommand, 3);
	ck_assert_str_eq(n->command[0], "/usr/local/bin/notify");
	ck_assert_str_eq(n->command[2], "ops");
	ck_assert_ptr_null(n->command[3]);
	ck_assert_ptr_null(n->url);
	ck_assert_int_eq(n->timeout_ms, 5000);
	ck_assert_int_eq(n->role, PD_NOTIFY_ROLE_PAGE);
	ck_assert(pd_notify_routes(n, 2) && !pd_notify_routes(n, 3));
	n = &cfg->notify[5];
	ck_assert_uint_eq(n->severities, 12);
	ck_assert_int_eq(n->timeout_ms, 10000); /* defaults everywhere */
	pd_config_free(cfg);
	/* the re-send defaults are alertmanager's (its configure) */
	cfg = pd_test_notify_cfg(
		"  - name: am\n    type: alertmanager\n    url: http://127.0.0.1:9093\n");
	ck_assert_int_eq(cfg->notify[0].resend_interval_ms, 60000);
	ck_assert_int_eq(cfg->notify[0].resend_resolved_ms, 5 * 60000);
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_config_secrets_masked)
{
	struct pd_config *cfg;
	char line[256];

	pd_log_clear_secrets();
	cfg = pd_test_notify_cfg(
		"  - name: og\n    type: opsgenie\n    api_key: clear-text-genie-key\n"
		"  - name: chat\n    type: slack\n"
		"    url: https://hooks.slack.com/services/T1/B1/slacktoken123\n");
	snprintf(line, sizeof(line), "key clear-text-genie-key path /services/T1/B1/slacktoken123");
	pd_log_redact(line, sizeof(line));
	ck_assert_msg(strstr(line, "clear-text-genie-key") == NULL, "%s", line);
	ck_assert_msg(strstr(line, "slacktoken123") == NULL, "%s", line);
	pd_config_free(cfg);
	pd_log_clear_secrets();
}
END_TEST

START_TEST(test_config_errors)
{
	static const struct {
		const char *yaml;
		const char *want;
	} cases[] = {
		{"  - name: og\n    type: opsgenie\n", "missing required key 'api_key'"},
		{"  - name: s\n    type: slack\n", "slack is missing required key 'url'"},
		{"  - name: a\n    type: alertmanager\n",
		 "alertmanager is missing required key 'url'"},
		{"  - name: e\n    type: exec\n", "exec is missing required key 'command'"},
		{"  - name: e\n    type: exec\n    command: /bin/notify --x\n",
		 "command: expected a list"},
		{"  - name: e\n    type: exec\n    command: []\n", "command: list is empty"},
		{"  - name: e\n    type: exec\n    command: [/bin/true]\n    url: http://x/\n",
		 "url is not valid for type exec"},
		{"  - name: s\n    type: slack\n    url: http://x/\n    routing_key: k\n",
		 "routing_key is only valid for type pagerduty"},
		{"  - name: w\n    type: webhook\n    url: http://x/\n    api_key: k\n",
		 "api_key is only valid for type opsgenie"},
		{"  - name: w\n    type: webhook\n    url: http://x/\n    resend_interval: 5s\n",
		 "resend_interval is only valid for type alertmanager"},
		{"  - name: w\n    type: webhook\n    url: http://x/\n    severities: [P5]\n",
		 "severities: must be P1, P2, P3 or P4, got 'P5'"},
		{"  - name: w\n    type: webhook\n    url: http://x/\n    severities: []\n",
		 "severities: list is empty"},
		{"  - name: w\n    type: webhook\n    url: http://x/\n    role: pager\n",
		 "role: must be page, chat or ticket, got 'pager'"},
		{"  - name: a\n    type: alertmanager\n    url: http://x/\n    resend_interval: 100ms\n",
		 "resend_interval: must be at least 1s"},
		{"  - name: x\n    type: teams\n    url: http://x/\n",
		 "type: must be webhook, pagerduty, opsgenie, slack, alertmanager, exec or email"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pd_err err = {0};
		struct pd_config *cfg = pd_test_notify_cfg_load(cases[i].yaml, &err);

		ck_assert_msg(cfg == NULL, "case %zu accepted:\n%s", i, cases[i].yaml);
		ck_assert_msg(strstr(err.msg, cases[i].want) != NULL,
			      "case %zu: got '%s', want '%s'", i, err.msg, cases[i].want);
		ck_assert_msg(strncmp(err.msg, "notify-test.yaml:", 17) == 0, "no position: %s",
			      err.msg);
	}
}
END_TEST

/* ================================================================ renderers */

START_TEST(test_render_pagerduty_severity)
{
	static const char *const want[] = {"critical", "error", "warning", "info"};
	struct pd_notify_cfg t = tcfg(PD_NOTIFY_PAGERDUTY, 0, 0);
	cJSON *e, *j, *p;

	t.routing_key = ROUTING_KEY;
	for (int s = 1; s <= 4; s++) {
		char sev[4];

		snprintf(sev, sizeof(sev), "P%d", s);
		e = pd_test_event("trigger", sev);
		j = render(&t, e);
		ck_assert_str_eq(pd_test_jstr(j, "routing_key"), ROUTING_KEY);
		ck_assert_str_eq(pd_test_jstr(j, "event_action"), "trigger");
		ck_assert_str_eq(pd_test_jstr(j, "dedup_key"),
				 "probed:eu-west-1/inc-1795000000000");
		p = cJSON_GetObjectItemCaseSensitive(j, "payload");
		ck_assert_str_eq(pd_test_jstr(p, "severity"), want[s - 1]);
		ck_assert_str_eq(pd_test_jstr(p, "source"), "eu-west-1");
		ck_assert_str_eq(pd_test_jstr(p, "component"), "post-detail");
		ck_assert_str_eq(pd_test_jstr(pd_test_jget(p, "custom_details"), "mode"),
				 "mode1-upstream");
		ck_assert_str_eq(pd_test_jstr(pd_test_jget(p, "custom_details"), "runbook"),
				 "runbooks/mode1-upstream-changed.md");
		/* a repository path is not a link */
		ck_assert_ptr_null(pd_test_jget(j, "links"));
		cJSON_Delete(j);
		cJSON_Delete(e);
	}
	/* no severity (the core pager before the incident layer): critical */
	e = pd_test_event("trigger", NULL);
	j = render(&t, e);
	ck_assert_str_eq(pd_test_jstr(pd_test_jget(j, "payload"), "severity"), "critical");
	cJSON_Delete(j);
	cJSON_Delete(e);
	/* resolve: no payload */
	e = pd_test_event("resolve", "P2");
	j = render(&t, e);
	ck_assert_str_eq(pd_test_jstr(j, "event_action"), "resolve");
	ck_assert_ptr_null(pd_test_jget(j, "payload"));
	cJSON_Delete(j);
	cJSON_Delete(e);
	/* a drill is marked; a runbook URL becomes a link */
	e = pd_test_event("trigger", "P1");
	cJSON_AddBoolToObject(e, "drill", 1);
	cJSON_ReplaceItemInObject(e, "runbook", cJSON_CreateString("https://wiki/rb.md"));
	j = render(&t, e);
	ck_assert_str_eq(pd_test_jstr(pd_test_jget(j, "payload"), "summary"),
			 "[DRILL] post-detail DOWN: http_5xx (2 consecutive failures)");
	ck_assert_str_eq(pd_test_jstr(cJSON_GetArrayItem(pd_test_jget(j, "links"), 0), "href"),
			 "https://wiki/rb.md");
	cJSON_Delete(j);
	cJSON_Delete(e);
}
END_TEST

START_TEST(test_render_opsgenie_create)
{
	struct pd_notify_cfg t = tcfg(PD_NOTIFY_OPSGENIE, 0, 0);
	const struct pd_notify_ops *ops = pd_notify_ops_for(PD_NOTIFY_OPSGENIE);
	cJSON *e = pd_test_event("trigger", "P2"), *j, *tags, *d;
	char val[256], *url;
	const char *name;
	int has_p2 = 0, has_family = 0;

	t.url = "https://api.opsgenie.com/";
	t.api_key = GENIE_KEY;
	j = render(&t, e);
	ck_assert_str_eq(pd_test_jstr(j, "message"),
			 "[P2] post-detail DOWN: http_5xx (2 consecutive failures)");
	/* the key's "/" mapped, a hash of the key appended (pd_notify_alias) */
	ck_assert_str_eq(pd_test_jstr(j, "alias"), PD_TEST_OG_ALIAS);
	ck_assert_str_eq(pd_test_jstr(j, "priority"), "P2");
	ck_assert_str_eq(pd_test_jstr(j, "source"), "probed@eu-west-1");
	ck_assert_str_eq(pd_test_jstr(j, "entity"), "post-detail");
	ck_assert_ptr_nonnull(strstr(pd_test_jstr(j, "description"), "Reason: status 502"));
	ck_assert_ptr_nonnull(strstr(pd_test_jstr(j, "description"),
				     "Likely mode: Mode 1: upstream TikTok API down or changed"));
	ck_assert_ptr_nonnull(strstr(pd_test_jstr(j, "description"),
				     "Runbook: runbooks/mode1-upstream-changed.md"));
	ck_assert_ptr_nonnull(
		strstr(pd_test_jstr(j, "description"), "Status-page draft:\nINVESTIGATING"));
	tags = pd_test_jget(j, "tags");
	ck_assert(cJSON_IsArray(tags));
	for (int i = 0; i < cJSON_GetArraySize(tags); i++) {
		const char *tg = cJSON_GetArrayItem(tags, i)->valuestring;

		has_p2 |= strcmp(tg, "P2") == 0;
		has_family |= strcmp(tg, "post-detail") == 0;
	}
	ck_assert(has_p2 && has_family);
	d = pd_test_jget(j, "details");
	ck_assert_str_eq(pd_test_jstr(d, "severity"), "P2");
	ck_assert_str_eq(pd_test_jstr(d, "mode"), "mode1-upstream");
	ck_assert_str_eq(pd_test_jstr(d, "incident_id"), "7");
	/* details values are all strings (Opsgenie rejects anything else) */
	for (cJSON *it = d->child; it; it = it->next)
		ck_assert_msg(cJSON_IsString(it), "details.%s is not a string", it->string);
	/* no unknown fields: exactly the Alert API's */
	for (cJSON *it = j->child; it; it = it->next)
		ck_assert_msg(
			strstr(" message alias description tags details entity source priority ",
			       it->string) != NULL,
			"unexpected field %s", it->string);
	url = request_url(&t, e);
	ck_assert_str_eq(url, "https://api.opsgenie.com/v2/alerts");
	free(url);
	name = ops->auth_header(&t, val, sizeof(val));
	ck_assert_str_eq(name, "Authorization");
	ck_assert_str_eq(val, "GenieKey " GENIE_KEY);
	cJSON_Delete(j);
	cJSON_Delete(e);
}
END_TEST

START_TEST(test_render_opsgenie_limits_and_close)
{
	struct pd_notify_cfg t = tcfg(PD_NOTIFY_OPSGENIE, 0, 0);
	cJSON *e = pd_test_event("trigger", "P1"), *j;
	char longsum[1200], *url;
	const char *msg;

	t.url = "http://127.0.0.1:8080";
	t.api_key = "k";
	for (size_t i = 0; i + 2 < sizeof(longsum); i += 2)
		memcpy(longsum + i, "\xc3\xa9", 2);
	longsum[sizeof(longsum) - 2] = '\0';
	cJSON_ReplaceItemInObject(e, "summary", cJSON_CreateString(longsum));
	j = render(&t, e);
	msg = pd_test_jstr(j, "message");
	ck_assert_msg(strlen(msg) <= 130, "message %zu bytes", strlen(msg));
	ck_assert(pd_test_utf8_valid((const unsigned char *)msg, strlen(msg)));
	ck_assert_int_eq(strncmp(msg, "[P1] \xc3\xa9", 7), 0);
	ck_assert_str_eq(msg + strlen(msg) - 3, "\xe2\x80\xa6");
	cJSON_Delete(j);
	cJSON_Delete(e);

	/* the incident layer's summaries carry their tag already: not twice */
	e = pd_test_event("trigger", "P1");
	cJSON_ReplaceItemInObject(e, "summary",
				  cJSON_CreateString("[P1] DRILL eu: Elevated errors"));
	cJSON_AddBoolToObject(e, "drill", 1);
	j = render(&t, e);
	ck_assert_str_eq(pd_test_jstr(j, "message"), "[P1] DRILL eu: Elevated errors");
	ck_assert_ptr_nonnull(strstr(pd_test_jstr(j, "description"), "[P1] DRILL eu"));
	cJSON_Delete(j);
	cJSON_Delete(e);

	/* close by alias: the create's alias as is (path-safe: no %2F), identifierType=alias */
	e = pd_test_event("resolve", "P1");
	j = render(&t, e);
	ck_assert_str_eq(pd_test_jstr(j, "source"), "probed@eu-west-1");
	ck_assert_str_eq(pd_test_jstr(j, "note"), "post-detail RECOVERED after 5m");
	ck_assert_ptr_null(pd_test_jget(j, "message"));
	url = request_url(&t, e);
	ck_assert_str_eq(url, "http://127.0.0.1:8080/v2/alerts/" PD_TEST_OG_ALIAS
			      "/close?identifierType=alias");
	free(url);
	cJSON_Delete(j);
	cJSON_Delete(e);
}
END_TEST

/* pd_notify_alias: safe keys as they are; others mapped, hashed, capped, deterministic. */
START_TEST(test_notify_alias)
{
	char a[PD_NOTIFY_ALIAS_MAX + 1], b[PD_NOTIFY_ALIAS_MAX + 1], key[700];

	pd_notify_alias("probed:inc-1795000000000", a, sizeof(a));
	ck_assert_str_eq(a, "probed:inc-1795000000000");
	pd_notify_alias("probed:eu-west-1/inc-1795000000000", a, sizeof(a));
	ck_assert_str_eq(a, PD_TEST_OG_ALIAS);
	pd_notify_alias("probed:eu-west-1/inc-1795000000000", b, sizeof(b));
	ck_assert_str_eq(a, b);
	/* the key that "/" -> "_" alone would collide with keeps a different alias */
	pd_notify_alias("probed:eu-west-1_inc-1795000000000", b, sizeof(b));
	ck_assert_str_eq(b, "probed:eu-west-1_inc-1795000000000");
	ck_assert_str_ne(a, b);
	/* two keys differing only in a mapped byte: different hashes */
	pd_notify_alias("probed:eu west/inc-1", a, sizeof(a));
	pd_notify_alias("probed:eu/west/inc-1", b, sizeof(b));
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(strncmp(a, "probed:eu_west_inc-1-", 21), 0);
	ck_assert_int_eq(strncmp(b, "probed:eu_west_inc-1-", 21), 0);
	ck_assert_uint_eq(strlen(a), strlen("probed:eu west/inc-1") + 17);
	/* too long (UTF-8, 1000 bytes): cut, hashed, within 512 bytes, only safe bytes */
	for (size_t i = 0; i + 2 < sizeof(key); i += 2)
		memcpy(key + i, "\xc3\xa9", 2);
	key[sizeof(key) - 2] = '\0';
	pd_notify_alias(key, a, sizeof(a));
	ck_assert_uint_eq(strlen(a), PD_NOTIFY_ALIAS_MAX);
	ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789._:-"),
			  strlen(a));
	ck_assert_int_eq(a[PD_NOTIFY_ALIAS_MAX - 17], '-');
	/* a long safe key is cut and hashed too: never over the cap */
	memset(key, 'k', 600);
	key[600] = '\0';
	pd_notify_alias(key, a, sizeof(a));
	ck_assert_uint_eq(strlen(a), PD_NOTIFY_ALIAS_MAX);
	key[599] = 'j';
	pd_notify_alias(key, b, sizeof(b));
	ck_assert_str_ne(a, b);
	/* a small buffer: still terminated, still within it */
	pd_notify_alias("probed:eu-west-1/inc-1795000000000", a, 24);
	ck_assert_uint_le(strlen(a), 23);
}
END_TEST

/* An escalation ("update": true) of an alert Opsgenie has: three PUTs by alias (priority,
 * message, description), no create; other events take one request. */
START_TEST(test_render_opsgenie_update)
{
	static const char *const field[] = {"priority", "message", "description"};
	struct pd_notify_cfg t = tcfg(PD_NOTIFY_OPSGENIE, 0, 0);
	const struct pd_notify_ops *ops = pd_notify_ops_for(PD_NOTIFY_OPSGENIE);
	cJSON *e = pd_test_event("trigger", "P1"), *j;
	struct pd_err err = {0};
	struct pd_buf body, url;
	const char *method;
	char want[256];

	t.url = "http://127.0.0.1:8080/";
	t.api_key = "k";
	ck_assert_ptr_nonnull(ops->requests);
	ck_assert_ptr_nonnull(ops->request_step);
	ck_assert_int_eq(ops->requests(&t, e), 1); /* a first trigger: create */
	cJSON_AddBoolToObject(e, "update", 1);
	ck_assert_int_eq(ops->requests(&t, e), 3);
	for (int k = 0; k < 3; k++) {
		pd_buf_init(&body, 0);
		pd_buf_init(&url, 0);
		method = NULL;
		ck_assert_msg(ops->request_step(&t, e, k, &method, &body, &url, &err) == 0, "%s",
			      err.msg);
		ck_assert_str_eq(method, "PUT");
		snprintf(want, sizeof(want),
			 "http://127.0.0.1:8080/v2/alerts/" PD_TEST_OG_ALIAS
			 "/%s?identifierType=alias",
			 field[k]);
		ck_assert_str_eq(url.data, want);
		j = cJSON_ParseWithLength(body.data, body.len);
		ck_assert_ptr_nonnull(j);
		/* exactly the one field */
		ck_assert_int_eq(cJSON_GetArraySize(j), 1);
		ck_assert_ptr_nonnull(pd_test_jget(j, field[k]));
		if (k == 0)
			ck_assert_str_eq(pd_test_jstr(j, "priority"), "P1");
		if (k == 1)
			ck_assert_str_eq(
				pd_test_jstr(j, "message"),
				"[P1] post-detail DOWN: http_5xx (2 consecutive failures)");
		if (k == 2)
			ck_assert_ptr_nonnull(
				strstr(pd_test_jstr(j, "description"),
				       "Runbook: runbooks/mode1-upstream-changed.md"));
		cJSON_Delete(j);
		pd_buf_cleanup(&body);
		pd_buf_cleanup(&url);
	}
	pd_buf_init(&body, 0);
	pd_buf_init(&url, 0);
	ck_assert_int_ne(ops->request_step(&t, e, 3, &method, &body, &url, &err), 0);
	pd_buf_cleanup(&body);
	pd_buf_cleanup(&url);
	cJSON_Delete(e);
	/* a resolve is one close, whatever the flag */
	e = pd_test_event("resolve", "P1");
	cJSON_AddBoolToObject(e, "update", 1);
	ck_assert_int_eq(ops->requests(&t, e), 1);
	cJSON_Delete(e);
}
END_TEST

/* The requestId of Opsgenie's 202 is the receipt; a 2xx without one is not one. */
START_TEST(test_opsgenie_receipt)
{
	struct pd_notify_cfg t = tcfg(PD_NOTIFY_OPSGENIE, 0, 0);
	const struct pd_notify_ops *ops = pd_notify_ops_for(PD_NOTIFY_OPSGENIE);
	struct pd_response r = {0};
	char id[64];

	r.http_status = 202;
	pd_buf_init(&r.body, 0);
	pd_buf_printf(&r.body, "{\"result\":\"Request will be processed\",\"took\":0.2,"
			       "\"requestId\":\"43a29c5c-3dbf-4fa4-9c26-f4f71023e120\"}");
	ck_assert_int_eq(ops->receipt(&t, &r, id, sizeof(id)), 1);
	ck_assert_str_eq(id, "43a29c5c-3dbf-4fa4-9c26-f4f71023e120");
	pd_buf_cleanup(&r.body);
	/* only safe bytes reach the log */
	pd_buf_init(&r.body, 0);
	pd_buf_printf(&r.body, "{\"requestId\":\"ab\\ncd\\u001b[31m\"}");
	ck_assert_int_eq(ops->receipt(&t, &r, id, sizeof(id)), 1);
	ck_assert_str_eq(id, "abcd31m");
	pd_buf_cleanup(&r.body);
	pd_buf_init(&r.body, 0);
	pd_buf_printf(&r.body, "{\"result\":\"Request will be processed\"}");
	ck_assert_int_eq(ops->receipt(&t, &r, id, sizeof(id)), 0);
	pd_buf_cleanup(&r.body);
	pd_buf_init(&r.body, 0);
	pd_buf_printf(&r.body, "<html>captive portal</html>");
	ck_assert_int_eq(ops->receipt(&t, &r, id, sizeof(id)), 0);
	pd_buf_cleanup(&r.body);
	ck_assert_ptr_null(pd_notify_ops_for(PD_NOTIFY_PAGERDUTY)->receipt);
}
END_TEST

/* Collect the text of every block (and the fallback) into one string for searching. */
static void
slack_texts(const cJSON *j, char *out, size_t cap)
{
	const cJSON *b;

	snprintf(out, cap, "%s\n", pd_test_jstr(j, "text"));
	cJSON_ArrayForEach(b, pd_test_jget(j, "blocks"))
	{
		const cJSON *f;
		size_t n = strlen(out);

		if (pd_test_jget(b, "text"))
			snprintf(out + n, cap - n, "%s\n",
				 pd_test_jstr(pd_test_jget(b, "text"), "text"));
		cJSON_ArrayForEach(f, pd_test_jget(b, "fields"))
		{
			n = strlen(out);
			snprintf(out + n, cap - n, "%s\n", pd_test_jstr(f, "text"));
		}
		cJSON_ArrayForEach(f, pd_test_jget(b, "elements"))
		{
			n = strlen(out);
			snprintf(out + n, cap - n, "%s\n", pd_test_jstr(f, "text"));
		}
	}
}

START_TEST(test_render_slack)
{
	struct pd_notify_cfg t = tcfg(PD_NOTIFY_SLACK, 0, 0);
	cJSON *e = pd_test_event("trigger", "P1"), *j, *blocks, *h;
	char all[16384];
	const cJSON *b;

	t.url = "https://hooks.slack.com/services/T/B/X";
	cJSON_ReplaceItemInObject(e, "reason", cJSON_CreateString("got <html> & \"junk\""));
	j = render(&t, e);
	ck_assert_str_eq(pd_test_jstr(j, "text"),
			 ":red_circle: [P1] post-detail DOWN: http_5xx (2 consecutive failures)");
	blocks = pd_test_jget(j, "blocks");
	ck_assert(cJSON_IsArray(blocks));
	h = cJSON_GetArrayItem(blocks, 0);
	ck_assert_str_eq(pd_test_jstr(h, "type"), "header");
	ck_assert_str_eq(pd_test_jstr(pd_test_jget(h, "text"), "type"), "plain_text");
	ck_assert_str_eq(pd_test_jstr(pd_test_jget(h, "text"), "text"),
			 ":red_circle: P1 customer-facing down: post-detail");
	cJSON_ArrayForEach(b, blocks)
	{
		const char *type = pd_test_jstr(b, "type");

		ck_assert_msg(strcmp(type, "header") == 0 || strcmp(type, "section") == 0 ||
				      strcmp(type, "context") == 0,
			      "block type %s", type);
	}
	slack_texts(j, all, sizeof(all));
	ck_assert_ptr_nonnull(strstr(all, "*Severity*\nP1 customer-facing down"));
	ck_assert_ptr_nonnull(
		strstr(all, "*Likely mode*\nMode 1: upstream TikTok API down or changed"));
	ck_assert_ptr_nonnull(strstr(all, "*Runbook:* `runbooks/mode1-upstream-changed.md`"));
	ck_assert_ptr_nonnull(strstr(all, "*Status-page draft*\n```INVESTIGATING - We are seeing"));
	ck_assert_ptr_nonnull(strstr(all, "dedup_key `probed:eu-west-1/inc-1795000000000`"));
	/* mrkdwn control characters escaped, the way Slack wants them */
	ck_assert_ptr_nonnull(strstr(all, "got &lt;html&gt; &amp; \"junk\""));
	ck_assert_ptr_null(strstr(all, "<html>"));
	cJSON_Delete(j);
	cJSON_Delete(e);

	/* each severity has its emoji and the playbook's words */
	for (int s = 2; s <= 4; s++) {
		static const char *const words[] = {
			NULL, NULL, ":large_orange_circle: P2 partial or degraded",
			":large_yellow_circle: P3 batch slowness", ":white_circle: P4 cosmetic"};
		char sev[4];

		snprintf(sev, sizeof(sev), "P%d", s);
		e = pd_test_event("trigger", sev);
		j = render(&t, e);
		h = cJSON_GetArrayItem(pd_test_jget(j, "blocks"), 0);
		ck_assert_msg(strncmp(pd_test_jstr(pd_test_jget(h, "text"), "text"), words[s],
				      strlen(words[s])) == 0,
			      "%s", pd_test_jstr(pd_test_jget(h, "text"), "text"));
		cJSON_Delete(j);
		cJSON_Delete(e);
	}
	/* an incident summary with its tag: the emoji only */
	e = pd_test_event("trigger", "P2");
	cJSON_ReplaceItemInObject(e, "summary",
				  cJSON_CreateString("[P2] eu: Elevated errors on /x/"));
	j = render(&t, e);
	ck_assert_str_eq(pd_test_jstr(j, "text"),
			 ":large_orange_circle: [P2] eu: Elevated errors on /x/");
	cJSON_Delete(j);
	cJSON_Delete(e);
	/* resolve and drill */
	e = pd_test_event("resolve", "P1");
	cJSON_AddBoolToObject(e, "drill", 1);
	j = render(&t, e);
	ck_assert_str_eq(pd_test_jstr(j, "text"),
			 "[DRILL] :white_check_mark: RESOLVED: post-detail RECOVERED after 5m");
	slack_texts(j, all, sizeof(all));
	ck_assert_ptr_nonnull(strstr(all, "*THIS IS A DRILL*"));
	cJSON_Delete(j);
	cJSON_Delete(e);
}
END_TEST

START_TEST(test_render_slack_limits)
{
	struct pd_notify_cfg t = tcfg(PD_NOTIFY_SLACK, 0, 0);
	cJSON *e = pd_test_event("trigger", "P2"), *j;
	char *big = malloc(20001);
	const cJSON *b;

	for (int i = 0; i < 20000; i++)
		big[i] = "ab&<"[i % 4];
	big[20000] = '\0';
	cJSON_ReplaceItemInObject(e, "probe", cJSON_CreateString(big));
	cJSON_ReplaceItemInObject(e, "status_message", cJSON_CreateString(big));
	cJSON_ReplaceItemInObject(e, "summary", cJSON_CreateString(big));
	j = render(&t, e);
	ck_assert_uint_le(strlen(pd_test_jstr(j, "text")), 3000);
	cJSON_ArrayForEach(b, pd_test_jget(j, "blocks"))
	{
		const char *type = pd_test_jstr(b, "type");
		const cJSON *f;

		if (strcmp(type, "header") == 0)
			ck_assert_uint_le(strlen(pd_test_jstr(pd_test_jget(b, "text"), "text")),
					  150);
		if (pd_test_jget(b, "text") &&
		    strcmp(pd_test_jstr(pd_test_jget(b, "text"), "type"), "mrkdwn") == 0) {
			const char *s = pd_test_jstr(pd_test_jget(b, "text"), "text");
			const char *amp = strrchr(s, '&');

			ck_assert_uint_le(strlen(s), 3000);
			/* never half an entity */
			ck_assert(amp == NULL || strncmp(amp, "&amp;", 5) == 0 ||
				  strncmp(amp, "&lt;", 4) == 0 || strncmp(amp, "&gt;", 4) == 0);
		}
		cJSON_ArrayForEach(f, pd_test_jget(b, "fields"))
			ck_assert_uint_le(strlen(pd_test_jstr(f, "text")), 2000);
	}
	cJSON_Delete(j);
	cJSON_Delete(e);
	free(big);
}
END_TEST

START_TEST(test_render_alertmanager)
{
	struct pd_notify_cfg t = tcfg(PD_NOTIFY_ALERTMANAGER, 0, 0);
	struct pd_am_alert a;
	struct pd_err err = {0};
	struct pd_buf body;
	cJSON *e = pd_test_event("trigger", "P2"), *j, *al, *l;
	char *url;
	int nlabels = 0;

	t.name = "am";
	t.url = "http://127.0.0.1:9093/";
	t.resend_interval_ms = 60000;
	ck_assert_int_eq(pd_notify_am_alert(&t, e, T0_MS + 400000, &a, &err), 0);
	ck_assert_str_eq(a.target, "am");
	ck_assert_str_eq(a.dedup_key, "probed:eu-west-1/inc-1795000000000");
	ck_assert_int_eq(a.starts_ms, T0_MS); /* down_since */
	ck_assert_int_eq(a.ends_ms, 0);
	pd_buf_init(&body, 0);
	ck_assert_int_eq(pd_notify_am_body(&t, &a, 1, T0_MS + 400000, &body, &err), 0);
	j = cJSON_Parse(body.data);
	ck_assert(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 1);
	al = cJSON_GetArrayItem(j, 0);
	l = pd_test_jget(al, "labels");
	ck_assert_str_eq(pd_test_jstr(l, "alertname"), "ProbedIncident");
	ck_assert_str_eq(pd_test_jstr(l, "probe"), "post-detail");
	ck_assert_str_eq(pd_test_jstr(l, "family"), "post-detail");
	ck_assert_str_eq(pd_test_jstr(l, "severity"), "P2");
	ck_assert_str_eq(pd_test_jstr(l, "mode"), "mode1-upstream");
	ck_assert_str_eq(pd_test_jstr(l, "location"), "eu-west-1");
	ck_assert_str_eq(pd_test_jstr(l, "incident_id"), "7");
	for (cJSON *it = l->child; it; it = it->next, nlabels++)
		ck_assert(cJSON_IsString(it));
	ck_assert_int_eq(nlabels, 7);
	ck_assert_str_eq(pd_test_jstr(pd_test_jget(al, "annotations"), "summary"),
			 "post-detail DOWN: http_5xx (2 consecutive failures)");
	ck_assert_str_eq(pd_test_jstr(pd_test_jget(al, "annotations"), "runbook"),
			 "runbooks/mode1-upstream-changed.md");
	ck_assert_ptr_nonnull(
		strstr(pd_test_jstr(pd_test_jget(al, "annotations"), "description"), "status 502"));
	ck_assert_str_eq(pd_test_jstr(al, "startsAt"), "2026-11-18T11:06:40.000Z");
	/* firing: valid for PD_NOTIFY_AM_VALIDITY re-send intervals past now (4 min) */
	ck_assert_str_eq(pd_test_jstr(al, "endsAt"), "2026-11-18T11:17:20.000Z");
	ck_assert_ptr_null(pd_test_jget(al, "generatorURL"));
	cJSON_Delete(j);
	pd_buf_cleanup(&body);
	pd_store_am_alert_cleanup(&a);
	url = request_url(&t, e);
	ck_assert_str_eq(url, "http://127.0.0.1:9093/api/v2/alerts");
	free(url);
	t.url = "http://am.internal/api/v2/alerts";
	url = request_url(&t, e);
	ck_assert_str_eq(url, "http://am.internal/api/v2/alerts");
	free(url);
	cJSON_Delete(e);

	/* a probe page without incident: ProbeDown, severity P1, mode unknown; a resolve
	 * ends at its own time (ts), not at the sending time */
	e = pd_test_event("resolve", NULL);
	t.generator_url = "http://probe-host:9464/";
	ck_assert_int_eq(pd_notify_am_alert(&t, e, T0_MS + 900000, &a, &err), 0);
	ck_assert_int_eq(a.ends_ms, T0_MS + 300000);
	pd_buf_init(&body, 0);
	ck_assert_int_eq(pd_notify_am_body(&t, &a, 1, T0_MS + 900000, &body, &err), 0);
	j = cJSON_Parse(body.data);
	al = cJSON_GetArrayItem(j, 0);
	l = pd_test_jget(al, "labels");
	ck_assert_str_eq(pd_test_jstr(l, "alertname"), "ProbeDown");
	ck_assert_str_eq(pd_test_jstr(l, "severity"), "P1");
	ck_assert_str_eq(pd_test_jstr(l, "mode"), "unknown");
	ck_assert_ptr_null(pd_test_jget(l, "incident_id"));
	ck_assert_str_eq(pd_test_jstr(al, "endsAt"), "2026-11-18T11:11:40.000Z");
	ck_assert_str_eq(pd_test_jstr(al, "generatorURL"), "http://probe-host:9464/");
	cJSON_Delete(j);
	pd_buf_cleanup(&body);
	pd_store_am_alert_cleanup(&a);
	cJSON_Delete(e);
}
END_TEST

START_TEST(test_render_webhook_and_exec_as_is)
{
	cJSON *e = pd_test_event("trigger", "P3"), *j;
	enum pd_notify_type types[] = {PD_NOTIFY_WEBHOOK, PD_NOTIFY_EXEC};

	for (size_t i = 0; i < 2; i++) {
		struct pd_notify_cfg t = tcfg(types[i], 0, 0);

		j = render(&t, e);
		ck_assert(cJSON_Compare(j, e, 1));
		cJSON_Delete(j);
		ck_assert_ptr_null(pd_notify_ops_for(types[i])->request_url);
	}
	cJSON_Delete(e);
	/* every configurable type has ops, with its config name */
	ck_assert_str_eq(pd_notify_ops_for(PD_NOTIFY_OPSGENIE)->name, "opsgenie");
	ck_assert_str_eq(pd_notify_ops_for(PD_NOTIFY_SLACK)->name, "slack");
	ck_assert_str_eq(pd_notify_ops_for(PD_NOTIFY_ALERTMANAGER)->name, "alertmanager");
	ck_assert_str_eq(pd_notify_ops_for(PD_NOTIFY_EXEC)->name, "exec");
	ck_assert_ptr_null(pd_notify_ops_for((enum pd_notify_type)99));
}
END_TEST

/* ================================================================ exec runner */

struct exec_wait {
	int done;
	struct pd_exec_result res;
};

static void
exec_done(void *ud, const struct pd_exec_result *res)
{
	struct exec_wait *w = ud;

	w->done++;
	w->res = *res;
}

static void
noop_timer(EV_P_ ev_timer *w, int revents)
{
	(void)EV_A;
	(void)w;
	(void)revents;
}

static void
loop_until_done(struct ev_loop *loop, struct exec_wait *w, double max_s)
{
	ev_timer tick;
	int64_t end = pd_clock_mono_ms() + (int64_t)(max_s * 1000);

	ev_timer_init(&tick, noop_timer, 0.02, 0.02);
	ev_timer_start(loop, &tick);
	while (!w->done && pd_clock_mono_ms() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
}

struct exec_fx {
	char dir[64];
	char script[128];
	char out[128];
	struct pd_notify_cfg t;
	char *argv[6];
};

static void
exec_fx_init(struct exec_fx *x, const char *script_body, const char *arg2)
{
	memset(x, 0, sizeof(*x));
	pd_test_tmpdir(x->dir, sizeof(x->dir), "exec");
	snprintf(x->script, sizeof(x->script), "%s/cmd.sh", x->dir);
	snprintf(x->out, sizeof(x->out), "%s/out", x->dir);
	pd_test_write_file(x->script, script_body, 0755);
	x->argv[0] = x->script;
	x->argv[1] = x->out;
	x->argv[2] = (char *)arg2;
	x->t.name = "script";
	x->t.type = PD_NOTIFY_EXEC;
	x->t.command = x->argv;
	x->t.ncommand = arg2 ? 3 : 2;
	x->t.timeout_ms = 5000;
}

static void
exec_fx_free(struct exec_fx *x)
{
	pd_test_rm_tree(x->dir);
}

static void
run_exec_ok(struct ev_loop *loop)
{
	static const char *const env[] = {"PROBED_EVENT=trigger", "PROBED_DEDUP_KEY=k:1", NULL};
	struct exec_fx x;
	struct exec_wait w = {0};
	struct pd_err err = {0};
	char path[160], *got;
	size_t n, biglen = 1024 * 1024 + 17;
	char *big = malloc(biglen);

	/* stdin to a file, the environment and the signal state to another, arguments
	 * verbatim (no shell ever saw them) */
	exec_fx_init(
		&x,
		"#!/bin/sh\ncat > \"$1\"\n"
		"printf '%s|%s|%s\\n' \"$PROBED_EVENT\" \"$PROBED_DEDUP_KEY\" \"$2\" > \"$1.env\"\n"
		"exit 0\n",
		"$(id); rm -rf /nonexistent *");
	for (size_t i = 0; i < biglen; i++)
		big[i] = (char)('a' + i % 26);
	ck_assert_ptr_nonnull(
		pd_notify_exec_start(loop, &x.t, big, biglen, env, exec_done, &w, &err));
	ck_assert_int_eq(w.done, 0); /* never called back from inside start */
	loop_until_done(loop, &w, WAIT_S);
	ck_assert_int_eq(w.done, 1);
	ck_assert(w.res.exited && w.res.exit_status == 0 && !w.res.timed_out);
	ck_assert_int_eq(pd_notify_exec_classify(&w.res), PD_NOTIFY_DELIVERED);
	got = pd_test_slurp(x.out, &n);
	ck_assert_uint_eq(n, biglen);
	ck_assert(memcmp(got, big, biglen) == 0);
	free(got);
	snprintf(path, sizeof(path), "%s.env", x.out);
	got = pd_test_slurp(path, NULL);
	ck_assert_str_eq(got, "trigger|k:1|$(id); rm -rf /nonexistent *\n");
	free(got);
	free(big);
	exec_fx_free(&x);
}

START_TEST(test_exec_ok_own_loop)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);

	run_exec_ok(loop);
	ev_loop_destroy(loop);
}
END_TEST

/* On the default loop libev reaps every child itself: the ev_child path. */
START_TEST(test_exec_ok_default_loop)
{
	struct ev_loop *loop = ev_default_loop(0);

	ck_assert(ev_is_default_loop(loop));
	run_exec_ok(loop);
}
END_TEST

/* The command starts with every signal at its default and none blocked, although the
 * test (like probed) ignores SIGPIPE and blocks some; no descriptor above 2 leaks. cp,
 * started directly, copies its own /proc status and fd list. */
START_TEST(test_exec_clean_process_state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct exec_fx x;
	struct exec_wait w = {0};
	struct pd_err err = {0};
	char *argv[4], *got, *line;
	sigset_t block, old;
	int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC: closefrom must catch it */

	ck_assert_int_gt(leak, 2);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &block, &old), 0);
	signal(SIGHUP, SIG_IGN);
	exec_fx_init(&x, "#!/bin/sh\nexit 0\n", NULL);
	argv[0] = "cp";
	argv[1] = "/proc/self/status";
	argv[2] = x.out;
	argv[3] = NULL;
	x.t.command = argv;
	x.t.ncommand = 3;
	ck_assert_ptr_nonnull(pd_notify_exec_start(loop, &x.t, "{}", 2, NULL, exec_done, &w, &err));
	loop_until_done(loop, &w, WAIT_S);
	ck_assert_int_eq(w.done, 1);
	ck_assert(w.res.exited && w.res.exit_status == 0);
	got = pd_test_slurp(x.out, NULL);
	ck_assert_ptr_nonnull(got);
	line = strstr(got, "\nSigBlk:");
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(strncmp(line, "\nSigBlk:\t0000000000000000\n", 26), 0);
	line = strstr(got, "\nSigIgn:");
	ck_assert_ptr_nonnull(line);
	/* glibc's posix_spawn leaves its two internal signals (32, 33: SIGCANCEL and
	 * SIGSETXID, unusable by programs) ignored; everything else must be default */
	ck_assert_msg((strtoull(line + 9, NULL, 16) & ~0x180000000ULL) == 0, "%.40s", line);
	free(got);
	/* no inherited descriptor: the test's own fd (opened without O_CLOEXEC) is closed
	 * in the child, so `test -e /proc/self/fd/N` fails there */
	{
		char fdpath[64];
		char *argv2[] = {"/usr/bin/test", "-e", fdpath, NULL};

		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", leak);
		x.t.command = argv2;
		x.t.ncommand = 3;
		memset(&w, 0, sizeof(w));
		ck_assert_ptr_nonnull(
			pd_notify_exec_start(loop, &x.t, "{}", 2, NULL, exec_done, &w, &err));
		loop_until_done(loop, &w, WAIT_S);
		ck_assert_int_eq(w.done, 1);
		ck_assert_msg(w.res.exited && w.res.exit_status == 1,
			      "fd %d leaked into the command", leak);
		/* and the same check sees a descriptor that is there (stdin) */
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/0");
		memset(&w, 0, sizeof(w));
		ck_assert_ptr_nonnull(
			pd_notify_exec_start(loop, &x.t, "{}", 2, NULL, exec_done, &w, &err));
		loop_until_done(loop, &w, WAIT_S);
		ck_assert(w.res.exited && w.res.exit_status == 0);
	}
	close(leak);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGHUP, SIG_DFL);
	exec_fx_free(&x);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_exec_fail_status_and_stdin_ignored)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct exec_fx x;
	struct exec_wait w = {0};
	struct pd_err err = {0};
	size_t biglen = 4 * 1024 * 1024;
	char *big = calloc(1, biglen);

	/* exits 3 at once without reading a 4 MiB stdin: EPIPE for us, not a crash */
	exec_fx_init(&x, "#!/bin/sh\nexit 3\n", NULL);
	ck_assert_ptr_nonnull(
		pd_notify_exec_start(loop, &x.t, big, biglen, NULL, exec_done, &w, &err));
	loop_until_done(loop, &w, WAIT_S);
	ck_assert_int_eq(w.done, 1);
	ck_assert(w.res.exited && w.res.exit_status == 3);
	ck_assert_int_eq(pd_notify_exec_classify(&w.res), PD_NOTIFY_RETRY);
	free(big);
	exec_fx_free(&x);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_exec_timeout_term)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct exec_fx x;
	struct exec_wait w = {0};
	struct pd_err err = {0};
	int64_t t0 = pd_clock_mono_ms();

	exec_fx_init(&x, "#!/bin/sh\nsleep 30\n", NULL);
	x.t.timeout_ms = 300;
	ck_assert_ptr_nonnull(pd_notify_exec_start(loop, &x.t, "{}", 2, NULL, exec_done, &w, &err));
	loop_until_done(loop, &w, WAIT_S);
	ck_assert_int_eq(w.done, 1);
	ck_assert(w.res.timed_out);
	ck_assert(w.res.signaled && w.res.signal == SIGTERM);
	ck_assert_int_lt(pd_clock_mono_ms() - t0, 1900);
	ck_assert_int_eq(pd_notify_exec_classify(&w.res), PD_NOTIFY_RETRY);
	exec_fx_free(&x);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_exec_timeout_kill)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct exec_fx x;
	struct exec_wait w = {0};
	struct pd_err err = {0};
	int64_t t0 = pd_clock_mono_ms(), took;
	char pidfile[160], *pidtext;
	pid_t child;

	/* ignores SIGTERM, and so does the child it starts: SIGKILL to the group 2 s later
	 * stops both */
	exec_fx_init(&x, "#!/bin/sh\ntrap '' TERM\nsleep 30 &\necho $! > \"$1.pid\"\nwait\n", NULL);
	x.t.timeout_ms = 200;
	ck_assert_ptr_nonnull(pd_notify_exec_start(loop, &x.t, "{}", 2, NULL, exec_done, &w, &err));
	loop_until_done(loop, &w, WAIT_S);
	took = pd_clock_mono_ms() - t0;
	ck_assert_int_eq(w.done, 1);
	ck_assert(w.res.timed_out && w.res.signaled && w.res.signal == SIGKILL);
	ck_assert_msg(took >= 2100 && took < 4000, "took %lld ms", (long long)took);
	snprintf(pidfile, sizeof(pidfile), "%s.pid", x.out);
	pidtext = pd_test_slurp(pidfile, NULL);
	ck_assert_ptr_nonnull(pidtext);
	child = (pid_t)atoi(pidtext);
	free(pidtext);
	ck_assert_int_gt(child, 1);
	/* the grandchild (reparented, reaped by init or us) is gone too */
	for (int i = 0; i < 100 && kill(child, 0) == 0; i++)
		usleep(20000);
	ck_assert_msg(kill(child, 0) != 0, "grandchild %d survived", (int)child);
	exec_fx_free(&x);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_exec_cannot_start_and_cancel)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct exec_fx x;
	struct exec_wait w = {0};
	struct pd_err err = {0};
	struct pd_exec *run;
	char *argv[] = {"/nonexistent/notify", NULL}, pidfile[160], *pidtext;
	char *argv2[] = {"no-such-command-probed-test", NULL};
	pid_t pid;
	int status;

	exec_fx_init(&x, "#!/bin/sh\necho $$ > \"$1.pid\"\nexec sleep 30\n", NULL);
	x.t.command = argv;
	ck_assert_ptr_null(pd_notify_exec_start(loop, &x.t, "{}", 2, NULL, exec_done, &w, &err));
	ck_assert_msg(strstr(err.msg, "cannot run /nonexistent/notify") != NULL, "%s", err.msg);
	x.t.command = argv2;
	ck_assert_ptr_null(pd_notify_exec_start(loop, &x.t, "{}", 2, NULL, exec_done, &w, &err));
	/* cancel: killed and reaped now, no callback */
	x.t.command = x.argv;
	run = pd_notify_exec_start(loop, &x.t, "{}", 2, NULL, exec_done, &w, &err);
	ck_assert_ptr_nonnull(run);
	snprintf(pidfile, sizeof(pidfile), "%s.pid", x.out);
	for (int i = 0; i < 250 && access(pidfile, R_OK) != 0; i++)
		usleep(20000);
	usleep(50000);
	pidtext = pd_test_slurp(pidfile, NULL);
	ck_assert_ptr_nonnull(pidtext);
	pid = (pid_t)atoi(pidtext);
	free(pidtext);
	pd_notify_exec_cancel(run);
	ck_assert_int_eq(waitpid(pid, &status, WNOHANG), -1); /* already reaped */
	ck_assert_int_eq(errno, ECHILD);
	ck_assert_int_ne(kill(pid, 0), 0);
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(w.done, 0);
	pd_notify_exec_cancel(NULL);
	exec_fx_free(&x);
	ev_loop_destroy(loop);
}
END_TEST

static Suite *
notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tr = tcase_create("render");
	TCase *te = tcase_create("exec");

	tcase_add_test(tr, test_event_json_fields);
	tcase_add_test(tr, test_utf8_scrub);
	tcase_add_test(tr, test_event_severity);
	tcase_add_test(tr, test_truncate);
	tcase_add_test(tr, test_routing_defaults);
	tcase_add_test(tr, test_routing_role_and_severities);
	tcase_add_test(tr, test_classify);
	tcase_add_test(tr, test_exec_classify);
	tcase_add_test(tr, test_config_targets);
	tcase_add_test(tr, test_config_secrets_masked);
	tcase_add_test(tr, test_config_errors);
	tcase_add_test(tr, test_render_pagerduty_severity);
	tcase_add_test(tr, test_render_opsgenie_create);
	tcase_add_test(tr, test_render_opsgenie_limits_and_close);
	tcase_add_test(tr, test_notify_alias);
	tcase_add_test(tr, test_render_opsgenie_update);
	tcase_add_test(tr, test_opsgenie_receipt);
	tcase_add_test(tr, test_render_slack);
	tcase_add_test(tr, test_render_slack_limits);
	tcase_add_test(tr, test_render_alertmanager);
	tcase_add_test(tr, test_render_webhook_and_exec_as_is);
	suite_add_tcase(s, tr);

	tcase_set_timeout(te, 30);
	tcase_add_test(te, test_exec_ok_own_loop);
	tcase_add_test(te, test_exec_ok_default_loop);
	tcase_add_test(te, test_exec_clean_process_state);
	tcase_add_test(te, test_exec_fail_status_and_stdin_ignored);
	tcase_add_test(te, test_exec_timeout_term);
	tcase_add_test(te, test_exec_timeout_kill);
	tcase_add_test(te, test_exec_cannot_start_and_cancel);
	suite_add_tcase(s, te);
	return s;
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	pd_log_set_level(PD_LOG_ERR);
	return pd_test_run(notify_suite());
}
