/* check_incident.c — the incident manager over a real SQLite file, with time passed in
 * explicitly (no sleeps): grouping, severity that only goes up, P3 -> P2 after 30 min,
 * routing by severity, resolve only to the targets that got the trigger, restart. */
#include <check.h>
#include "testlib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "probed/incident.h"
#include "probed/log.h"
#include "probed/outcome.h"

static struct pd_test_store sto;
static char cfgpath[160];
static struct pd_config *cfg;
static struct pd_store *st;
static struct pd_incidents *m;

#define T0 1795000000000LL
#define MIN (60 * 1000LL)

static void
setup(void)
{
	static const char yaml[] =
		"probes:\n"
		"  - {name: userid, family: userid, url: 'http://127.0.0.1:1/userid/'}\n"
		"  - {name: post-detail, family: post-detail, url: 'http://127.0.0.1:1/post-detail/'}\n"
		"  - {name: archive, family: stats, tier: secondary, url: 'http://127.0.0.1:1/stats/archive/x.json'}\n"
		"  - {name: docs, family: docs, tier: secondary, severity: P4, url: 'http://127.0.0.1:1/documentation/'}\n"
		"notify:\n"
		"  - {name: pager, type: pagerduty, routing_key: abc, url: 'http://127.0.0.1:1/pd'}\n"
		"  - {name: chat, type: slack, url: 'http://127.0.0.1:1/slack/hook'}\n"
		"  - {name: tickets, type: webhook, url: 'http://127.0.0.1:1/hook'}\n";
	struct pd_err err = {0};

	st = pd_test_store_open(&sto, "incident");
	snprintf(cfgpath, sizeof(cfgpath), "%s/probes.yaml", sto.dir);
	pd_test_write_file(cfgpath, yaml, 0644);
	ck_assert_int_eq(pd_config_load(cfgpath, &cfg, &err, NULL, NULL), 0);
	m = pd_incident_new(st, NULL, &err);
	ck_assert_ptr_nonnull(m);
	pd_incident_set_config(m, cfg);
}

static void
teardown(void)
{
	pd_incident_free(m);
	pd_config_free(cfg);
	pd_test_store_close(&sto);
}

/* Four probes, all fine, with a full clean window. */
static void
inputs(struct pd_class_input in[4])
{
	static const char *names[] = {"userid", "post-detail", "archive", "docs"};
	static const char *fams[] = {"userid", "post-detail", "stats", "docs"};

	memset(in, 0, 4 * sizeof(*in));
	for (int i = 0; i < 4; i++) {
		in[i].name = names[i];
		in[i].family = fams[i];
		in[i].tier = i < 2 ? PD_TIER_CORE : PD_TIER_SECONDARY;
		in[i].status = PD_EVAL_UP;
		in[i].last_outcome = PD_OUT_OK;
		in[i].win.count = 30;
		in[i].win.p50_ms = 20;
		in[i].win.p95_ms = 40;
		in[i].baseline_p95_ms = 40;
	}
	in[2].freshness = 1;
	in[3].severity_override = 4;
}

static void
down(struct pd_class_input *p, int outcome, int64_t since)
{
	p->status = PD_EVAL_DOWN;
	p->consec_fail = 3;
	p->last_outcome = outcome;
	p->fail_since_ms = since;
	p->win.failures = 3;
	p->win.error_rate = 0.1;
	p->win.by_class[outcome] = 3;
}

struct seen {
	int n;
	char target[16][64];
	char event[16][16];
	char key[16][128];
	char sev[16][4];
	int upd[16];          /* the event's "update" (a target that had the trigger) */
	char mode[16][32];    /* the event's "mode", "-" without */
	char runbook[16][96]; /* the event's "runbook", "-" without */
	char mtitle[16][96];  /* the event's "mode_title", "-" without */
};

/* Every outbox row so far (delivery is not running in this test), marking them done. */
static void
drain(struct seen *s)
{
	struct pd_outbox_row rows[16];
	struct pd_err err = {0};
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	for (int round = 0; round < 16; round++) {
		memset(rows, 0, sizeof(rows));
		ck_assert_int_eq(pd_store_outbox_due(st, T0 + 1000 * MIN, rows, 16, &n, &err), 0);
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			cJSON *ev = cJSON_Parse(rows[i].payload);
			const cJSON *sev = cJSON_GetObjectItem(ev, "severity");

			ck_assert_int_lt(s->n, 16);
			snprintf(s->target[s->n], 64, "%s", rows[i].target);
			snprintf(s->event[s->n], 16, "%s", rows[i].event);
			snprintf(s->key[s->n], 128, "%s", rows[i].dedup_key);
			snprintf(s->sev[s->n], 4, "%s",
				 cJSON_IsString(sev) ? sev->valuestring : "-");
			s->upd[s->n] = cJSON_IsTrue(cJSON_GetObjectItem(ev, "update"));
			{
				const cJSON *mo = cJSON_GetObjectItem(ev, "mode");
				const cJSON *rb = cJSON_GetObjectItem(ev, "runbook");
				const cJSON *mt = cJSON_GetObjectItem(ev, "mode_title");

				snprintf(s->mode[s->n], 32, "%s",
					 cJSON_IsString(mo) ? mo->valuestring : "-");
				snprintf(s->runbook[s->n], 96, "%s",
					 cJSON_IsString(rb) ? rb->valuestring : "-");
				snprintf(s->mtitle[s->n], 96, "%s",
					 cJSON_IsString(mt) ? mt->valuestring : "-");
			}
			s->n++;
			cJSON_Delete(ev);
			ck_assert_int_eq(pd_store_outbox_done(st, rows[i].id, &err), 0);
			pd_store_outbox_row_cleanup(&rows[i]);
		}
	}
	ck_assert_int_eq(pd_store_flush(st, &err), 0);
}

static int
has(const struct seen *s, const char *target, const char *event, const char *sev)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		if (strcmp(s->target[i], target) == 0 && strcmp(s->event[i], event) == 0 &&
		    (sev == NULL || strcmp(s->sev[i], sev) == 0))
			n++;
	return n;
}

/* Rows for target/event with "update": true. */
static int
has_update(const struct seen *s, const char *target, const char *event)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		n += strcmp(s->target[i], target) == 0 && strcmp(s->event[i], event) == 0 &&
		     s->upd[i];
	return n;
}

static size_t
open_total(size_t counts[5])
{
	return pd_incident_open_counts(m, counts);
}

/* a certificate incident is the probe's own: routed by its level, escalated
 * (never downgraded), resolved on its own, and never merged with an outage. */
START_TEST(test_cert_incident_apart_from_outages)
{
	struct pd_class_input in[4];
	struct pd_incident_row row;
	struct seen s;
	struct pd_err err = {0};
	size_t c[5];
	char cert_key[128];

	inputs(in);
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0), 0);
	/* ticket level: P4 to the ticket target only */
	ck_assert_int_eq(pd_incident_cert(m, "userid", 4, "expires in 20d", T0), 1);
	drain(&s);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(has(&s, "tickets", "trigger", "P4"), 1);
	ck_assert_ptr_nonnull(strstr(s.key[0], "probed:cert-"));
	ck_assert_ptr_nonnull(strstr(s.key[0], "-userid"));
	snprintf(cert_key, sizeof(cert_key), "%s", s.key[0]);
	/* the same level again: nothing re-sent */
	ck_assert_int_eq(pd_incident_cert(m, "userid", 4, "expires in 19d", T0 + MIN), 0);
	/* chat level: the same incident escalates, to chat and ticket targets */
	ck_assert_int_eq(pd_incident_cert(m, "userid", 3, "expires in 6d", T0 + 2 * MIN), 2);
	drain(&s);
	ck_assert_int_eq(has(&s, "chat", "trigger", "P3"), 1);
	ck_assert_int_eq(has(&s, "tickets", "trigger", "P3"), 1);
	ck_assert_str_eq(s.key[0], cert_key);
	/* a less urgent level does not downgrade it */
	ck_assert_int_eq(pd_incident_cert(m, "userid", 4, "expires in 20d", T0 + 3 * MIN), 0);
	ck_assert_uint_eq(open_total(c), 1);
	ck_assert_uint_eq(c[3], 1);
	/* the probe is not "in an incident" for the outage rules: an outage opens its own */
	ck_assert_int_eq(pd_incident_has_probe(m, "userid"), 0);
	down(&in[1], PD_OUT_HTTP_5XX, T0 + 3 * MIN);
	down(&in[0], PD_OUT_HTTP_5XX, T0 + 3 * MIN);
	ck_assert_int_gt(pd_incident_update(m, in, NULL, 4, T0 + 4 * MIN), 0);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "trigger", NULL), 1);
	for (int i = 0; i < s.n; i++)
		ck_assert_ptr_nonnull(strstr(s.key[i], "probed:inc-"));
	ck_assert_uint_eq(open_total(c), 2);
	/* renewed: the certificate incident resolves to the targets that had it; the
	 * outage stays open */
	ck_assert_int_eq(pd_incident_cert(m, "userid", 0, "renewed", T0 + 5 * MIN), 2);
	drain(&s);
	ck_assert_int_eq(has(&s, "chat", "resolve", NULL), 1);
	ck_assert_int_eq(has(&s, "tickets", "resolve", NULL), 1);
	ck_assert_str_eq(s.key[0], cert_key);
	ck_assert_uint_eq(open_total(c), 1);
	ck_assert_int_eq(pd_incident_cert(m, "userid", 0, "renewed", T0 + 6 * MIN), 0);
	/* stored with its mode and reason */
	memset(&row, 0, sizeof(row));
	ck_assert_int_eq(pd_store_incident_get(st, 1, &row, &err), 0);
	ck_assert_int_eq(row.mode, PD_MODE_CERT);
	ck_assert_str_eq(row.reason, "renewed");
	ck_assert_int_gt(row.resolved_ms, 0);
	pd_store_incident_row_cleanup(&row);
}
END_TEST

START_TEST(test_p2_mode1_routes_to_pager_and_resolves_once)
{
	struct pd_class_input in[4];
	struct seen s;
	size_t c[5];

	inputs(in);
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0), 0);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	ck_assert_int_gt(pd_incident_update(m, in, NULL, 4, T0 + 1000), 0);
	ck_assert_uint_eq(open_total(c), 1);
	ck_assert_uint_eq(c[2], 1);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "trigger", "P2"), 1);
	ck_assert_int_eq(has(&s, "chat", "trigger", "P2"), 1);
	ck_assert_int_eq(has(&s, "tickets", "trigger", "P2"), 1);
	ck_assert_ptr_nonnull(strstr(s.key[0], "probed:inc-"));
	/* still down: nothing new */
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0 + 2000), 0);
	/* recovered */
	inputs(in);
	ck_assert_int_gt(pd_incident_update(m, in, NULL, 4, T0 + 3000), 0);
	ck_assert_uint_eq(open_total(c), 0);
	drain(&s);
	ck_assert_int_eq(s.n, 3);
	ck_assert_int_eq(has(&s, "pager", "resolve", NULL), 1);
}
END_TEST

START_TEST(test_p3_escalates_to_p2_after_30_minutes_and_never_downgrades)
{
	struct pd_class_input in[4];
	struct seen s;
	size_t c[5];

	inputs(in);
	down(&in[2], PD_OUT_HTTP_4XX, T0);
	pd_incident_update(m, in, NULL, 4, T0);
	ck_assert_uint_eq(open_total(c), 1);
	ck_assert_uint_eq(c[3], 1);
	drain(&s);
	/* P3: chat and tickets, never the pager */
	ck_assert_int_eq(has(&s, "pager", "trigger", NULL), 0);
	ck_assert_int_eq(has(&s, "chat", "trigger", "P3"), 1);
	/* 29 minutes later: still P3 */
	pd_incident_update(m, in, NULL, 4, T0 + 29 * MIN);
	open_total(c);
	ck_assert_uint_eq(c[3], 1);
	drain(&s);
	ck_assert_int_eq(s.n, 0);
	/* 31 minutes: escalated to P2, and now the pager is told */
	pd_incident_update(m, in, NULL, 4, T0 + 31 * MIN);
	open_total(c);
	ck_assert_uint_eq(c[2], 1);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "trigger", "P2"), 1);
	/* the pager's first trigger creates; chat had the P3 one: an update of it */
	ck_assert_int_eq(has_update(&s, "pager", "trigger"), 0);
	ck_assert_int_eq(has(&s, "chat", "trigger", "P2"), 1);
	ck_assert_int_eq(has_update(&s, "chat", "trigger"), 1);
	/* the same facts much later never lower it */
	pd_incident_update(m, in, NULL, 4, T0 + 90 * MIN);
	open_total(c);
	ck_assert_uint_eq(c[2], 1);
	/* recovery: resolve goes to every target that got a trigger (pager included) */
	inputs(in);
	pd_incident_update(m, in, NULL, 4, T0 + 91 * MIN);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "resolve", NULL), 1);
	ck_assert_int_eq(has(&s, "chat", "resolve", NULL), 1);
	ck_assert_int_eq(has(&s, "tickets", "resolve", NULL), 1);
}
END_TEST

/* The runbook link of every payload: relative, or under runbooks.base_url. */
START_TEST(test_runbook_url)
{
	char out[512];

	pd_incident_runbook_url(NULL, "mode1-upstream-changed.md", out, sizeof(out));
	ck_assert_str_eq(out, "runbooks/mode1-upstream-changed.md");
	pd_incident_runbook_url("https://wiki.example.com/ops/runbooks",
				"mode1-upstream-changed.md", out, sizeof(out));
	ck_assert_str_eq(out, "https://wiki.example.com/ops/runbooks/mode1-upstream-changed.md");
	pd_incident_runbook_url("https://wiki.example.com/rb//", "m.md", out, sizeof(out));
	ck_assert_str_eq(out, "https://wiki.example.com/rb/m.md");
}
END_TEST

START_TEST(test_p4_never_pages)
{
	struct pd_class_input in[4];
	struct seen s;
	size_t c[5];

	inputs(in);
	down(&in[3], PD_OUT_HTTP_5XX, T0);
	pd_incident_update(m, in, NULL, 4, T0);
	open_total(c);
	ck_assert_uint_eq(c[4], 1);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "trigger", NULL), 0);
	ck_assert_int_eq(has(&s, "chat", "trigger", NULL), 0);
	ck_assert_int_eq(has(&s, "tickets", "trigger", "P4"), 1);
}
END_TEST

START_TEST(test_grouping_escalation_and_restart)
{
	struct pd_class_input in[4];
	struct pd_err err = {0};
	struct seen s;
	size_t c[5];

	inputs(in);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	pd_incident_update(m, in, NULL, 4, T0);
	drain(&s);
	/* within the correlation window (2 min) userid fails too: same incident, and
	 * every core probe failing is P1 */
	down(&in[0], PD_OUT_HTTP_5XX, T0 + 30000);
	pd_incident_update(m, in, NULL, 4, T0 + 30000);
	ck_assert_uint_eq(open_total(c), 1);
	ck_assert_uint_eq(c[1], 1);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "trigger", "P1"), 1);
	/* P2 -> P1: the pager has the alert, the escalation updates it */
	ck_assert_int_eq(has_update(&s, "pager", "trigger"), 1);
	ck_assert_str_eq(s.key[0], s.key[s.n - 1]);
	/* a restart: the open incident is loaded, no second trigger, the resolve goes out */
	pd_incident_free(m);
	m = pd_incident_new(st, NULL, &err);
	pd_incident_set_config(m, cfg);
	ck_assert_int_eq(pd_incident_load(m, &err), 0);
	ck_assert_uint_eq(open_total(c), 1);
	pd_incident_update(m, in, NULL, 4, T0 + 60000);
	drain(&s);
	ck_assert_int_eq(s.n, 0);
	inputs(in);
	pd_incident_update(m, in, NULL, 4, T0 + 90000);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "resolve", NULL), 1);
	ck_assert_uint_eq(open_total(c), 0);
}
END_TEST

START_TEST(test_a_later_failure_opens_a_new_incident)
{
	struct pd_class_input in[4];
	struct seen s;
	size_t c[5];

	inputs(in);
	down(&in[1], PD_OUT_SHAPE, T0);
	pd_incident_update(m, in, NULL, 4, T0);
	drain(&s);
	/* 10 minutes later, outside the correlation window, a different probe fails */
	down(&in[3], PD_OUT_HTTP_5XX, T0 + 10 * MIN);
	pd_incident_update(m, in, NULL, 4, T0 + 10 * MIN);
	ck_assert_uint_eq(open_total(c), 2);
	drain(&s);
	ck_assert_int_eq(has(&s, "tickets", "trigger", "P4"), 1);
	ck_assert_str_ne(s.key[0], "");
}
END_TEST

/* Issue 9: more probes than the old 64-member cap fail together. Each joins once, the
 * incident counts them all (after a restart too), and a join re-pages no one: a target
 * gets one trigger plus one per severity step, then one resolve. */
#define MANY 100
START_TEST(test_many_members_join_once_and_never_repage)
{
	static char names[MANY][8];
	struct pd_class_input in[MANY];
	struct pd_config *big = NULL;
	struct pd_err err = {0};
	char path[160];
	struct seen s;
	size_t c[5];
	FILE *f;

	snprintf(path, sizeof(path), "%s/many.yaml", sto.dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("probes:\n", f);
	for (int k = 0; k < MANY; k++)
		fprintf(f, "  - {name: p%03d, family: f%d, url: 'http://127.0.0.1:1/e%d/'}\n", k,
			k % 4, k % 4);
	fputs("notify:\n"
	      "  - {name: pager, type: pagerduty, routing_key: abc, url: 'http://127.0.0.1:1/pd'}\n"
	      "  - {name: tickets, type: webhook, url: 'http://127.0.0.1:1/hook'}\n",
	      f);
	fclose(f);
	ck_assert_int_eq(pd_config_load(path, &big, &err, NULL, NULL), 0);
	pd_incident_set_config(m, big);
	memset(in, 0, sizeof(in));
	for (int k = 0; k < MANY; k++) {
		snprintf(names[k], sizeof(names[k]), "p%03d", k);
		in[k].name = names[k];
		in[k].family = big->probes[k].family;
		in[k].tier = PD_TIER_CORE;
		in[k].status = PD_EVAL_UP;
		in[k].last_outcome = PD_OUT_OK;
		in[k].win.count = 30;
		in[k].baseline_p95_ms = 40;
	}
	/* 10, then 50, then all 100 fail, one pass a second */
	for (int w = 0, k = 0; w < 3; w++) {
		static const int wave[] = {10, 50, MANY};

		for (; k < wave[w]; k++)
			down(&in[k], PD_OUT_HTTP_5XX, T0);
		pd_incident_update(m, in, NULL, MANY, T0 + w * 1000);
	}
	ck_assert_uint_eq(open_total(c), 1);
	ck_assert(pd_incident_has_probe(m, "p099"));
	drain(&s);
	ck_assert_int_ge(has(&s, "pager", "trigger", NULL), 1);
	ck_assert_int_le(has(&s, "pager", "trigger", NULL), 4);
	/* a re-sent trigger is an escalation: "P1" < "P2" */
	for (int a = 0; a < s.n; a++)
		for (int b = a + 1; b < s.n; b++)
			if (strcmp(s.target[a], s.target[b]) == 0)
				ck_assert_int_gt(strcmp(s.sev[a], s.sev[b]), 0);
	/* the same facts, pass after pass: nobody joins again, nothing is sent */
	for (int pass = 3; pass < 10; pass++)
		ck_assert_int_eq(pd_incident_update(m, in, NULL, MANY, T0 + pass * 1000), 0);
	drain(&s);
	ck_assert_int_eq(s.n, 0);
	/* after a restart every member is still one */
	pd_incident_free(m);
	m = pd_incident_new(st, NULL, &err);
	ck_assert_ptr_nonnull(m);
	pd_incident_set_config(m, big);
	ck_assert_int_eq(pd_incident_load(m, &err), 0);
	ck_assert(pd_incident_has_probe(m, "p000"));
	ck_assert(pd_incident_has_probe(m, "p099"));
	ck_assert(!pd_incident_has_probe(m, "p100"));
	ck_assert_int_eq(pd_incident_update(m, in, NULL, MANY, T0 + 20000), 0);
	/* recovered: one resolve per target */
	for (int k = 0; k < MANY; k++) {
		in[k].status = PD_EVAL_UP;
		in[k].last_outcome = PD_OUT_OK;
	}
	ck_assert_int_eq(pd_incident_update(m, in, NULL, MANY, T0 + 30000), 2);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "resolve", NULL), 1);
	ck_assert_int_eq(has(&s, "tickets", "resolve", NULL), 1);
	ck_assert_uint_eq(open_total(c), 0);
	pd_incident_set_config(m, cfg);
	pd_config_free(big);
}
END_TEST

START_TEST(test_drill)
{
	struct pd_err err = {0};
	struct seen s;
	size_t c[5];

	ck_assert_int_eq(pd_incident_drill(m, 1, T0, &err), 3);
	ck_assert_int_eq(pd_store_flush(st, &err), 0);
	ck_assert_uint_eq(open_total(c), 0);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "trigger", "P1"), 1);
	ck_assert_ptr_nonnull(strstr(s.key[0], "drill-"));
	ck_assert_int_lt(pd_incident_drill(m, 5, T0, &err), 0);
}
END_TEST

/* The severity every surface shows is the manager's, read back from the store: the open
 * incident's, most severe first; nothing outside an incident, for drills, or once resolved. */
static int
sev_of(const char *probe, const char **key)
{
	struct pd_incident_sevmap sm;
	struct pd_err err = {0};
	int sev;

	pd_incident_sevmap_init(&sm);
	ck_assert_int_eq(pd_incident_sevmap_load(&sm, st, &err), 0);
	sev = pd_incident_sevmap_of(&sm, probe, NULL);
	if (key != NULL) {
		const char *k;

		pd_incident_sevmap_of(&sm, probe, &k);
		*key = k != NULL ? strdup(k) : NULL;
	}
	pd_incident_sevmap_cleanup(&sm);
	return sev;
}

START_TEST(test_severity_map_is_the_managers)
{
	struct pd_class_input in[4];
	struct pd_incident_sevmap sm;
	struct pd_incident_row r;
	struct pd_err err = {0};
	struct seen s;
	const char *key = NULL;
	char *first;

	inputs(in);
	/* one core family down: P2 for its probe, nothing for the others (core or not) */
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	pd_incident_update(m, in, NULL, 4, T0);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "trigger", "P2"), 1);
	ck_assert_int_eq(sev_of("post-detail", &key), 2);
	ck_assert_str_eq(key, s.key[0]);
	first = (char *)key;
	ck_assert_int_eq(sev_of("userid", NULL), 0);
	ck_assert_int_eq(sev_of("archive", NULL), 0);
	ck_assert_int_eq(sev_of("no-such-probe", NULL), 0);
	/* userid joins: every core probe down, P1 for both members at once */
	down(&in[0], PD_OUT_HTTP_5XX, T0 + 30000);
	pd_incident_update(m, in, NULL, 4, T0 + 30000);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "trigger", "P1"), 1);
	ck_assert_int_eq(sev_of("post-detail", NULL), 1);
	ck_assert_int_eq(sev_of("userid", &key), 1);
	ck_assert_str_eq(key, first);
	free((char *)key);
	free(first);
	/* the pinned-P4 probe, later: its own incident, its own severity */
	down(&in[3], PD_OUT_HTTP_5XX, T0 + 10 * MIN);
	pd_incident_update(m, in, NULL, 4, T0 + 10 * MIN);
	ck_assert_int_eq(sev_of("docs", NULL), 4);
	ck_assert_int_eq(sev_of("userid", NULL), 1);
	/* a drill is in no probe's severity */
	ck_assert_int_gt(pd_incident_drill(m, 1, T0 + 11 * MIN, &err), 0);
	pd_incident_sevmap_init(&sm);
	ck_assert_int_eq(pd_incident_sevmap_load(&sm, st, &err), 0);
	ck_assert_uint_eq(sm.counts[1], 1);
	ck_assert_uint_eq(sm.counts[4], 1);
	ck_assert_uint_eq(sm.counts[2] + sm.counts[3], 0);
	pd_incident_sevmap_cleanup(&sm);
	/* all recovered: nothing left */
	inputs(in);
	pd_incident_update(m, in, NULL, 4, T0 + 12 * MIN);
	ck_assert_int_eq(sev_of("userid", NULL), 0);
	ck_assert_int_eq(sev_of("post-detail", NULL), 0);
	ck_assert_int_eq(sev_of("docs", NULL), 0);

	/* the pure part: in two incidents (after a restart) -> the most severe; resolved,
	 * drill and undeclared rows and junk members count for nothing */
	pd_incident_sevmap_init(&sm);
	memset(&r, 0, sizeof(r));
	snprintf(r.key, sizeof(r.key), "k3");
	r.severity = 3;
	r.members = (char *)"[\"b\",\"a\",\"c\"]";
	ck_assert_int_eq(pd_incident_sevmap_add(&sm, &r), 0);
	snprintf(r.key, sizeof(r.key), "k2");
	r.severity = 2;
	r.members = (char *)"[\"c\",\"d\",7,\"\"]";
	ck_assert_int_eq(pd_incident_sevmap_add(&sm, &r), 0);
	r.severity = 1;
	r.resolved_ms = T0;
	ck_assert_int_eq(pd_incident_sevmap_add(&sm, &r), 0);
	r.resolved_ms = 0;
	r.drill = 1;
	ck_assert_int_eq(pd_incident_sevmap_add(&sm, &r), 0);
	r.drill = 0;
	r.severity = 0;
	ck_assert_int_eq(pd_incident_sevmap_add(&sm, &r), 0);
	r.severity = 4;
	r.members = (char *)"not json";
	ck_assert_int_eq(pd_incident_sevmap_add(&sm, &r), 0);
	ck_assert_int_eq(pd_incident_sevmap_of(&sm, "a", &key), 3);
	ck_assert_str_eq(key, "k3");
	ck_assert_int_eq(pd_incident_sevmap_of(&sm, "c", &key), 2);
	ck_assert_str_eq(key, "k2");
	ck_assert_int_eq(pd_incident_sevmap_of(&sm, "d", NULL), 2);
	ck_assert_int_eq(pd_incident_sevmap_of(&sm, "e", &key), 0);
	ck_assert_ptr_null(key);
	ck_assert_int_eq(pd_incident_sevmap_of(&sm, NULL, NULL), 0);
	ck_assert_uint_eq(sm.n, 4);
	ck_assert_uint_eq(sm.counts[2], 1);
	ck_assert_uint_eq(sm.counts[3], 1);
	ck_assert_uint_eq(sm.counts[4], 1);
	ck_assert_uint_eq(sm.counts[1], 0);
	pd_incident_sevmap_cleanup(&sm);
	pd_incident_sevmap_cleanup(&sm); /* cleanup twice is harmless */
}
END_TEST

/* ---- maintenance holds pages ---- */

static int
last_row(void *ud, const struct pd_incident_row *r)
{
	struct pd_incident_row *out = ud;

	if (out->id == 0) {
		out->id = r->id;
		out->resolved_ms = r->resolved_ms;
		out->severity = r->severity;
	}
	return 0;
}

struct tl_seen {
	int maint, resolved, declared;
	char detail[4][256];
};

static int
tl_row(void *ud, int64_t ts, const char *kind, const char *detail)
{
	struct tl_seen *t = ud;

	(void)ts;
	if (strcmp(kind, "maintenance") == 0 && t->maint < 4)
		snprintf(t->detail[t->maint++], 256, "%s", detail ? detail : "");
	t->resolved += strcmp(kind, "resolved") == 0;
	t->declared += strcmp(kind, "declared") == 0;
	return 0;
}

static void
newest(struct pd_incident_row *r, struct tl_seen *t)
{
	struct pd_err err = {0};

	memset(r, 0, sizeof(*r));
	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(pd_store_flush(st, &err), 0);
	ck_assert_int_eq(pd_store_incidents(st, 0, 1, last_row, r, &err), 0);
	ck_assert_int_gt(r->id, 0);
	ck_assert_int_eq(pd_store_incident_events(st, r->id, tl_row, t, &err), 0);
}

static struct pd_silence sil;

static void
silence(const char *probe, const char *family, int64_t from, int64_t until)
{
	memset(&sil, 0, sizeof(sil));
	sil.id = 42;
	snprintf(sil.probe, sizeof(sil.probe), "%s", probe ? probe : "");
	snprintf(sil.family, sizeof(sil.family), "%s", family ? family : "");
	snprintf(sil.reason, sizeof(sil.reason), "vendor deploy");
	sil.created_ms = from;
	sil.until_ms = until;
	pd_incident_set_silences(m, &sil, 1);
}

START_TEST(test_held_then_pages_when_the_silence_ends)
{
	struct pd_class_input in[4];
	struct pd_incident_row r;
	struct tl_seen t;
	struct seen s;
	size_t c[5];

	inputs(in);
	silence("post-detail", NULL, T0, T0 + 10 * MIN);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0 + 1000), 0);
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0 + 5 * MIN), 0);
	drain(&s);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(open_total(c), 1);
	ck_assert_uint_eq(c[0], 1); /* open, not declared */
	newest(&r, &t);
	ck_assert_int_eq(t.maint, 1); /* one row, not one per pass */
	ck_assert_ptr_nonnull(strstr(t.detail[0], "pages held: silence #42 until "));
	ck_assert_ptr_nonnull(strstr(t.detail[0], "(vendor deploy)"));
	ck_assert_int_eq(t.declared, 0);
	/* the silence ends while it still fails: it pages on the first pass after */
	ck_assert_int_gt(pd_incident_update(m, in, NULL, 4, T0 + 10 * MIN), 0);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "trigger", "P2"), 1);
	newest(&r, &t);
	ck_assert_int_eq(t.maint, 2);
	ck_assert_str_eq(t.detail[1], "maintenance over, still failing: paging now");
	ck_assert_int_eq(t.declared, 1);
	/* and resolves as usual */
	inputs(in);
	ck_assert_int_gt(pd_incident_update(m, in, NULL, 4, T0 + 11 * MIN), 0);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "resolve", NULL), 1);
}
END_TEST

START_TEST(test_recovery_inside_the_window_closes_quietly)
{
	struct pd_class_input in[4];
	struct pd_incident_row r;
	struct tl_seen t;
	struct seen s;
	size_t c[5];

	inputs(in);
	silence(NULL, "post-detail", T0, T0 + 10 * MIN);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0 + 1000), 0);
	/* recovering (answers again, not enough successes yet): still held */
	in[1].status = PD_EVAL_RECOVERING;
	in[1].last_outcome = PD_OUT_OK;
	in[1].consec_fail = 0;
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0 + MIN), 0);
	ck_assert_int_eq(open_total(c), 1);
	inputs(in);
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0 + 2 * MIN), 0);
	ck_assert_int_eq(open_total(c), 0);
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0 + 20 * MIN), 0);
	drain(&s);
	ck_assert_int_eq(s.n, 0);
	newest(&r, &t);
	ck_assert_int_eq(r.resolved_ms, T0 + 2 * MIN);
	ck_assert_int_eq(r.severity, 0);
	ck_assert_int_eq(t.resolved, 1);
	ck_assert_int_eq(t.declared, 0);
}
END_TEST

START_TEST(test_recovering_at_the_end_does_not_page)
{
	struct pd_class_input in[4];
	struct pd_incident_row r;
	struct tl_seen t;
	struct seen s;

	inputs(in);
	silence("post-detail", NULL, T0, T0 + 10 * MIN);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0 + 9 * MIN), 0);
	in[1].status = PD_EVAL_RECOVERING;
	in[1].last_outcome = PD_OUT_OK;
	in[1].consec_fail = 0;
	in[1].win.failures = 0;
	in[1].win.error_rate = 0;
	memset(in[1].win.by_class, 0, sizeof(in[1].win.by_class));
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0 + 10 * MIN), 0);
	inputs(in);
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0 + 10 * MIN + 2000), 0);
	drain(&s);
	ck_assert_int_eq(s.n, 0);
	newest(&r, &t);
	ck_assert_int_eq(t.declared, 0);
	ck_assert_int_eq(t.resolved, 1);
}
END_TEST

START_TEST(test_a_probe_not_held_still_pages)
{
	struct pd_class_input in[4];
	struct seen s;

	inputs(in);
	silence("post-detail", NULL, T0, T0 + 10 * MIN);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	ck_assert_int_eq(pd_incident_update(m, in, NULL, 4, T0 + 1000), 0);
	/* userid fails too, not silenced: it joins and the incident pages */
	down(&in[0], PD_OUT_HTTP_5XX, T0 + 2000);
	ck_assert_int_gt(pd_incident_update(m, in, NULL, 4, T0 + 3000), 0);
	drain(&s);
	ck_assert_int_ge(has(&s, "pager", "trigger", NULL), 1);
	/* a silence that has not started yet holds nothing */
	pd_incident_set_silences(m, NULL, 0);
	ck_assert_int_eq(pd_incident_held(m, "post-detail", "post-detail", T0, NULL), 0);
	silence("userid", NULL, T0 + MIN, T0 + 2 * MIN);
	ck_assert_int_eq(pd_incident_held(m, "userid", "userid", T0, NULL), 0);
	ck_assert_int_eq(pd_incident_held(m, "userid", "userid", T0 + MIN, NULL), 1);
}
END_TEST

/* a burn-rate incident is its own (never joins, never absorbs probes), routed by
 * its rule's severity, escalated P4 -> P2 with a second trigger, untouched by the probe
 * pass (also after a restart) and resolved when its objective leaves the config. */
struct slo_rows {
	int n;
	char members[4][128];
	char evidence[4][512];
};

static int
slo_row(void *ud, const struct pd_incident_row *r)
{
	struct slo_rows *x = ud;

	if (strstr(r->key, ":slo-") == NULL || x->n >= 4)
		return 0;
	snprintf(x->members[x->n], 128, "%s", r->members);
	snprintf(x->evidence[x->n], 512, "%s", r->evidence);
	x->n++;
	return 0;
}

START_TEST(test_slo_burn_incident)
{
	struct pd_slo_cfg o = {
		.name = "post-detail", .objective = 0.999, .period_ms = 30 * 24 * 60 * MIN};
	struct pd_slo_status ss;
	struct pd_class_input in[4];
	struct slo_rows rows = {0};
	struct pd_err err = {0};
	struct seen s;
	size_t c[5];

	memset(&ss, 0, sizeof(ss));
	ss.objective = 0.999;
	ss.period_ms = o.period_ms;
	ss.sli = 0.9995;
	ss.budget_left = 0.5;
	ss.budget_minutes = 43.2;
	ss.exhaustion_ms = -1;
	ss.nwin = 2;
	ss.win_ms[0] = 2 * 60 * MIN;
	ss.win_ms[1] = 24 * 60 * MIN;
	ss.burn[0] = ss.burn[1] = 3.5;
	ss.severity = 4;
	ss.rule = 2;
	/* a probe incident first: post-detail down */
	inputs(in);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	pd_incident_update(m, in, NULL, 4, T0);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "trigger", "P2"), 1);
	/* the slow burn: a ticket of its own, within the correlation window */
	ck_assert_int_eq(pd_incident_slo(m, &o, &ss, T0 + 30000), 1);
	drain(&s);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(has(&s, "tickets", "trigger", "P4"), 1);
	ck_assert_ptr_nonnull(strstr(s.key[0], ":slo-post-detail-"));
	ck_assert_uint_eq(open_total(c), 2);
	/* userid fails too: it joins the probe incident, not the burn */
	down(&in[0], PD_OUT_HTTP_5XX, T0 + 40000);
	pd_incident_update(m, in, NULL, 4, T0 + 40000);
	ck_assert_int_eq(pd_store_flush(st, &err), 0);
	ck_assert_int_eq(pd_store_incidents(st, 1, 0, slo_row, &rows, &err), 0);
	ck_assert_int_eq(rows.n, 1);
	ck_assert_str_eq(rows.members[0], "[\"slo:post-detail\"]");
	ck_assert_ptr_nonnull(strstr(rows.evidence[0], "budget left 50.0% of 43.2 min"));
	drain(&s);
	/* the fast burn: escalated to P2, re-sent to every P2 target */
	ss.severity = 2;
	ss.rule = 0;
	ck_assert_int_eq(pd_incident_slo(m, &o, &ss, T0 + MIN), 3);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "trigger", "P2"), 1);
	ck_assert_int_eq(has(&s, "chat", "trigger", "P2"), 1);
	ck_assert_int_eq(has(&s, "tickets", "trigger", "P2"), 1);
	/* the same again, or a ticket rule only: nothing new (never lowered while open) */
	ck_assert_int_eq(pd_incident_slo(m, &o, &ss, T0 + 2 * MIN), 0);
	ss.severity = 4;
	ck_assert_int_eq(pd_incident_slo(m, &o, &ss, T0 + 3 * MIN), 0);
	/* restart; every probe recovers: the probe incident resolves, the burn stays */
	ck_assert_int_eq(pd_store_flush(st, &err), 0);
	pd_incident_free(m);
	m = pd_incident_new(st, NULL, &err);
	pd_incident_set_config(m, cfg);
	ck_assert_int_eq(pd_incident_load(m, &err), 0);
	inputs(in);
	pd_incident_update(m, in, NULL, 4, T0 + 10 * MIN);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "resolve", NULL), 1);
	ck_assert_uint_eq(open_total(c), 1);
	ck_assert_uint_eq(c[2], 1);
	/* no rule fires: resolved to the three targets that have it */
	ss.severity = 0;
	ss.rule = -1;
	ck_assert_int_eq(pd_incident_slo(m, &o, &ss, T0 + 11 * MIN), 3);
	drain(&s);
	ck_assert_int_eq(has(&s, "pager", "resolve", NULL), 1);
	ck_assert_int_eq(has(&s, "tickets", "resolve", NULL), 1);
	ck_assert_uint_eq(open_total(c), 0);
	/* a new burn of an objective the config does not have (a reload removed it) */
	ss.severity = 4;
	ss.rule = 2;
	ck_assert_int_eq(pd_incident_slo(m, &o, &ss, T0 + 20 * MIN), 1);
	pd_incident_slo_prune(m, T0 + 21 * MIN);
	drain(&s);
	ck_assert_int_eq(has(&s, "tickets", "resolve", NULL), 1);
	ck_assert_uint_eq(open_total(c), 0);
}
END_TEST

/* ---- incidents grouped by cause ---- */

/* The trigger row sent to target: its index in s, or -1. */
static int
trigger_to(const struct seen *s, const char *target, const char *key)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->target[i], target) == 0 && strcmp(s->event[i], "trigger") == 0 &&
		    (key == NULL || strcmp(s->key[i], key) == 0))
			return i;
	return -1;
}

/* Mode 1 (/post-detail/ 502) and Mode 3 (the batch late) within the correlation window:
 * two incidents, each with its own severity, mode, runbook and draft. */
START_TEST(test_mode1_and_mode3_stay_apart)
{
	struct pd_class_input in[4];
	struct seen s;
	size_t c[5];
	int a, b;
	char k1[128];

	inputs(in);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	pd_incident_update(m, in, NULL, 4, T0);
	drain(&s);
	a = trigger_to(&s, "pager", NULL);
	ck_assert_int_ge(a, 0);
	ck_assert_str_eq(s.sev[a], "P2");
	ck_assert_str_eq(s.mode[a], "mode1-upstream");
	ck_assert_str_eq(s.runbook[a], "runbooks/mode1-upstream-changed.md");
	snprintf(k1, sizeof(k1), "%s", s.key[a]);
	/* 30 s later the stats batch is late: its own incident, P3, Mode 3 */
	down(&in[2], PD_OUT_HTTP_4XX, T0 + 30000);
	ck_assert_int_gt(pd_incident_update(m, in, NULL, 4, T0 + 30000), 0);
	ck_assert_uint_eq(open_total(c), 2);
	ck_assert_uint_eq(c[2], 1);
	ck_assert_uint_eq(c[3], 1);
	drain(&s);
	/* the outage is not re-paged; the batch goes to chat and tickets, not the pager */
	ck_assert_int_eq(has(&s, "pager", "trigger", NULL), 0);
	b = trigger_to(&s, "chat", NULL);
	ck_assert_int_ge(b, 0);
	ck_assert_str_eq(s.sev[b], "P3");
	ck_assert_str_eq(s.mode[b], "mode3-queue");
	ck_assert_str_eq(s.runbook[b], "runbooks/mode3-queue-backed-up.md");
	ck_assert_str_ne(s.key[b], k1);
	ck_assert_int_eq(pd_incident_has_probe(m, "archive"), 1);
	/* the batch recovers: only its incident resolves */
	inputs(in);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	pd_incident_update(m, in, NULL, 4, T0 + 60000);
	ck_assert_uint_eq(open_total(c), 1);
	ck_assert_uint_eq(c[2], 1);
	drain(&s);
	for (int i = 0; i < s.n; i++) {
		ck_assert_str_eq(s.event[i], "resolve");
		ck_assert_str_ne(s.key[i], k1);
	}
	ck_assert_int_eq(has(&s, "chat", "resolve", NULL), 1);
}
END_TEST

/* The same two in one pass, the batch listed first: still two incidents. */
START_TEST(test_mode1_and_mode3_in_one_pass)
{
	struct pd_class_input in[4];
	struct seen s;
	size_t c[5];
	int a, b;

	inputs(in);
	down(&in[2], PD_OUT_HTTP_4XX, T0);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	pd_incident_update(m, in, NULL, 4, T0);
	ck_assert_uint_eq(open_total(c), 2);
	ck_assert_uint_eq(c[2], 1);
	ck_assert_uint_eq(c[3], 1);
	drain(&s);
	a = trigger_to(&s, "pager", NULL);
	ck_assert_int_ge(a, 0);
	ck_assert_str_eq(s.mode[a], "mode1-upstream");
	b = -1;
	for (int i = 0; i < s.n; i++)
		if (strcmp(s.sev[i], "P3") == 0)
			b = i;
	ck_assert_int_ge(b, 0);
	ck_assert_str_eq(s.mode[b], "mode3-queue");
	ck_assert_str_ne(s.key[a], s.key[b]);
	ck_assert_ptr_nonnull(strstr(s.key[a], "probed:inc-"));
	ck_assert_ptr_nonnull(strstr(s.key[b], "probed:inc-"));
}
END_TEST

/* Mode 2 absorbs the rest: every endpoint slow, then the batch late -> one incident,
 * Mode 2. */
START_TEST(test_mode2_absorbs_the_rest)
{
	struct pd_class_input in[4];
	struct pd_incident_row row;
	struct tl_seen t;
	struct seen s;
	size_t c[5];

	inputs(in);
	in[0].win.p95_ms = in[1].win.p95_ms = 400; /* 10x the 40 ms baseline */
	pd_incident_update(m, in, NULL, 4, T0);
	ck_assert_uint_eq(open_total(c), 1);
	drain(&s);
	ck_assert_int_ge(trigger_to(&s, "pager", NULL), 0);
	ck_assert_str_eq(s.mode[0], "mode2-database");
	ck_assert_str_eq(s.runbook[0], "runbooks/mode2-database-bottleneck.md");
	down(&in[2], PD_OUT_HTTP_4XX, T0 + 30000);
	pd_incident_update(m, in, NULL, 4, T0 + 30000);
	ck_assert_uint_eq(open_total(c), 1);
	ck_assert_uint_eq(c[2], 1);
	drain(&s);
	ck_assert_int_eq(s.n, 0); /* joined: nobody re-paged */
	newest(&row, &t);
	ck_assert_int_eq(row.severity, 2);
	ck_assert_int_eq(pd_incident_has_probe(m, "archive"), 1);
	memset(&row, 0, sizeof(row));
	ck_assert_int_eq(pd_store_incident_get(st, 1, &row, NULL), 0);
	ck_assert_int_eq(row.mode, PD_MODE_DATABASE);
	ck_assert_ptr_nonnull(strstr(row.members, "archive"));
	pd_store_incident_row_cleanup(&row);
}
END_TEST

/* A Mode 1 outage, then everything fails: the new failures join it and it widens to
 * Mode 2 (never a second page for the same outage). */
START_TEST(test_mode2_probe_joins_an_outage)
{
	struct pd_class_input in[4];
	struct pd_incident_row row;
	struct seen s;
	size_t c[5];

	inputs(in);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	pd_incident_update(m, in, NULL, 4, T0);
	drain(&s);
	in[0].win.p95_ms = in[1].win.p95_ms = 400;
	pd_incident_update(m, in, NULL, 4, T0 + 30000);
	ck_assert_uint_eq(open_total(c), 1);
	memset(&row, 0, sizeof(row));
	ck_assert_int_eq(pd_store_flush(st, NULL), 0);
	ck_assert_int_eq(pd_store_incident_get(st, 1, &row, NULL), 0);
	ck_assert_int_eq(row.mode, PD_MODE_DATABASE);
	ck_assert_ptr_nonnull(strstr(row.members, "userid"));
	pd_store_incident_row_cleanup(&row);
}
END_TEST

/* Mode 1 outage plus a certificate warning on the same probe and a burn-rate alert of
 * the same family: three incidents, none merged. */
START_TEST(test_cert_and_burn_stay_apart_from_an_outage)
{
	struct pd_slo_cfg o = {
		.name = "post-detail", .objective = 0.999, .period_ms = 30 * 24 * 60 * MIN};
	struct pd_slo_status ss;
	struct pd_class_input in[4];
	struct seen s;
	size_t c[5];
	int a;
	char k1[128];

	inputs(in);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	pd_incident_update(m, in, NULL, 4, T0);
	drain(&s);
	a = trigger_to(&s, "pager", NULL);
	ck_assert_int_ge(a, 0);
	snprintf(k1, sizeof(k1), "%s", s.key[a]);
	/* a fast burn of the same family during the outage: its own page */
	memset(&ss, 0, sizeof(ss));
	ss.objective = 0.999;
	ss.period_ms = o.period_ms;
	ss.sli = 0.98;
	ss.budget_left = 0.2;
	ss.budget_minutes = 43.2;
	ss.exhaustion_ms = -1;
	ss.nwin = 2;
	ss.win_ms[0] = 60 * MIN;
	ss.win_ms[1] = 5 * MIN;
	ss.burn[0] = ss.burn[1] = 20;
	ss.severity = 2;
	ss.rule = 0;
	ck_assert_int_eq(pd_incident_slo(m, &o, &ss, T0 + 10000), 3);
	/* the certificate of the failing probe expires in 6 days: its own P3 */
	ck_assert_int_eq(pd_incident_cert(m, "post-detail", 3, "expires in 6d", T0 + 20000), 2);
	ck_assert_uint_eq(open_total(c), 3);
	drain(&s);
	a = trigger_to(&s, "pager", NULL);
	ck_assert_int_ge(a, 0);
	ck_assert_ptr_nonnull(strstr(s.key[a], ":slo-post-detail-"));
	ck_assert_str_eq(s.runbook[a], "runbooks/slo-burn-rate.md");
	a = trigger_to(&s, "chat", NULL);
	for (int i = 0; i < s.n; i++)
		if (strstr(s.key[i], "cert-") != NULL)
			a = i;
	ck_assert_ptr_nonnull(strstr(s.key[a], "probed:cert-"));
	ck_assert_str_eq(s.mode[a], "cert-expiry");
	ck_assert_str_eq(s.runbook[a], "runbooks/cert-expiry.md");
	for (int i = 0; i < s.n; i++)
		ck_assert_str_ne(s.key[i], k1);
	/* userid fails too (a Mode 2 signature): it joins the outage, not the burn or cert */
	down(&in[0], PD_OUT_HTTP_5XX, T0 + 30000);
	pd_incident_update(m, in, NULL, 4, T0 + 30000);
	ck_assert_uint_eq(open_total(c), 3);
	drain(&s);
	for (int i = 0; i < s.n; i++)
		ck_assert_str_eq(s.key[i], k1);
}
END_TEST

/* The Mode 1 title names the configured upstream; the draft and payload carry it. */
START_TEST(test_upstream_name_in_payload)
{
	struct pd_class_input in[4];
	struct pd_incident_row row;
	struct seen s;

	snprintf(cfg->classify.upstream, sizeof(cfg->classify.upstream), "Acme");
	inputs(in);
	down(&in[1], PD_OUT_HTTP_5XX, T0);
	pd_incident_update(m, in, NULL, 4, T0);
	drain(&s);
	ck_assert_int_gt(s.n, 0);
	for (int i = 0; i < s.n; i++)
		ck_assert_str_eq(s.mtitle[i], "Mode 1: upstream Acme API down or changed");
	memset(&row, 0, sizeof(row));
	ck_assert_int_eq(pd_store_incident_get(st, 1, &row, NULL), 0);
	ck_assert_int_eq(row.mode, PD_MODE_UPSTREAM);
	ck_assert_ptr_null(strstr(row.reason, "TikTok"));
	pd_store_incident_row_cleanup(&row);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("incident");
	TCase *tc = tcase_create("core");

	pd_log_set_level(PD_LOG_WARN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_p2_mode1_routes_to_pager_and_resolves_once);
	tcase_add_test(tc, test_cert_incident_apart_from_outages);
	tcase_add_test(tc, test_p3_escalates_to_p2_after_30_minutes_and_never_downgrades);
	tcase_add_test(tc, test_p4_never_pages);
	tcase_add_test(tc, test_grouping_escalation_and_restart);
	tcase_add_test(tc, test_runbook_url);
	tcase_add_test(tc, test_a_later_failure_opens_a_new_incident);
	tcase_add_test(tc, test_many_members_join_once_and_never_repage);
	tcase_add_test(tc, test_drill);
	tcase_add_test(tc, test_severity_map_is_the_managers);
	tcase_add_test(tc, test_held_then_pages_when_the_silence_ends);
	tcase_add_test(tc, test_recovery_inside_the_window_closes_quietly);
	tcase_add_test(tc, test_recovering_at_the_end_does_not_page);
	tcase_add_test(tc, test_a_probe_not_held_still_pages);
	tcase_add_test(tc, test_slo_burn_incident);
	tcase_add_test(tc, test_mode1_and_mode3_stay_apart);
	tcase_add_test(tc, test_mode1_and_mode3_in_one_pass);
	tcase_add_test(tc, test_mode2_absorbs_the_rest);
	tcase_add_test(tc, test_mode2_probe_joins_an_outage);
	tcase_add_test(tc, test_cert_and_burn_stay_apart_from_an_outage);
	tcase_add_test(tc, test_upstream_name_in_payload);
	suite_add_tcase(su, tc);
	return pd_test_run(su);
}
