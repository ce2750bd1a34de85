/* check_classify.c — the P1–P4 ladder and outage modes, table-driven.
 *
 * Every case starts from the same healthy TikLiveAPI-shaped set of probes (three core
 * endpoints, a secondary one, a site page, a freshness check, a control probe and a
 * probe pinned P4), applies a few changes, takes as the incident's members the probes
 * pd_classify_alerting flags (as the incident manager does) — or all probes — and
 * checks severity, mode, paging, runbook and what the reason and evidence say. */
#include <check.h>
#include "testlib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/classify.h"

#define NOW ((int64_t)1767225600000 + 14 * 3600000)
#define SEC 1000
#define MIN (60 * SEC)

enum {
	P_USERID,
	P_USERINFO,
	P_POSTDETAIL,
	P_USERPOSTS,
	P_DASHBOARD,
	P_ARCHIVE,
	P_CONTROL,
	P_CACHED,
	P__N
};

static void
base(struct pd_class_input *in)
{
	static const struct {
		const char *name, *family;
		enum pd_tier tier;
		int freshness, override, control;
	} def[P__N] = {
		[P_USERID] = {"userid", "userid", PD_TIER_CORE, 0, 0, 0},
		[P_USERINFO] = {"userinfo", "userinfo-by-username", PD_TIER_CORE, 0, 0, 0},
		[P_POSTDETAIL] = {"post-detail", "post-detail", PD_TIER_CORE, 0, 0, 0},
		[P_USERPOSTS] = {"user-posts", "user-posts", PD_TIER_SECONDARY, 0, 0, 0},
		[P_DASHBOARD] = {"dashboard", "site", PD_TIER_SITE, 0, 0, 0},
		[P_ARCHIVE] = {"stats-archive", "stats-archive", PD_TIER_SECONDARY, 1, 0, 0},
		[P_CONTROL] = {"control", "control", PD_TIER_CORE, 0, 0, 1},
		[P_CACHED] = {"cached-field", "profile", PD_TIER_SECONDARY, 0, 4, 0},
	};

	memset(in, 0, sizeof(*in) * P__N);
	for (int i = 0; i < P__N; i++) {
		in[i].name = def[i].name;
		in[i].family = def[i].family;
		in[i].tier = def[i].tier;
		in[i].freshness = def[i].freshness;
		in[i].severity_override = def[i].override;
		in[i].control = def[i].control;
		in[i].status = PD_EVAL_UP;
		in[i].last_outcome = PD_OUT_OK;
		in[i].win.count = 30;
		in[i].win.p50_ms = 100;
		in[i].win.p95_ms = 200;
		in[i].baseline_p95_ms = 250;
	}
}

enum ch_kind {
	CH_END = 0,
	CH_DOWN,    /* confirmed failure of class cls for ago ms, 100% of the window */
	CH_FAILING, /* one unconfirmed failure */
	CH_SLOW,    /* p95 = x times its baseline (x < 0: no baseline, p95 = -x ms) */
	CH_RATE,    /* state UP, window: count results, fails of class cls */
	CH_DRIFT,
	CH_PIN,    /* severity_override = cls */
	CH_FAMILY, /* family = str */
};

struct change {
	enum ch_kind kind;
	int probe;
	int cls;
	int64_t ago;
	double x;
	int64_t count, fails;
	const char *str;
};

static void
apply(struct pd_class_input *in, const struct change *c)
{
	struct pd_class_input *p = &in[c->probe];

	switch (c->kind) {
	case CH_DOWN:
	case CH_FAILING:
		p->status = c->kind == CH_DOWN ? PD_EVAL_DOWN : PD_EVAL_FAILING;
		p->consec_fail = c->kind == CH_DOWN ? 3 : 1;
		p->last_outcome = c->cls;
		p->fail_since_ms = NOW - c->ago;
		if (c->kind == CH_DOWN) {
			p->win.failures = p->win.count;
			p->win.error_rate = 1;
			memset(p->win.by_class, 0, sizeof(p->win.by_class));
			p->win.by_class[c->cls] = p->win.count;
		}
		break;
	case CH_SLOW:
		if (c->x < 0) {
			p->baseline_p95_ms = -1;
			p->win.p95_ms = -c->x;
		} else {
			p->win.p95_ms = p->baseline_p95_ms * c->x;
		}
		break;
	case CH_RATE:
		p->win.count = c->count;
		p->win.failures = c->fails;
		p->win.error_rate = c->count ? (double)c->fails / (double)c->count : 0;
		p->win.by_class[c->cls] = c->fails;
		break;
	case CH_DRIFT:
		p->shape_drift = 1;
		break;
	case CH_PIN:
		p->severity_override = c->cls;
		break;
	case CH_FAMILY:
		p->family = c->str;
		break;
	case CH_END:
		break;
	}
}

#define DOWN(p, c, ago)                           \
	{                                         \
		CH_DOWN, p, c, ago, 0, 0, 0, NULL \
	}
#define FAILING(p, c, ago)                           \
	{                                            \
		CH_FAILING, p, c, ago, 0, 0, 0, NULL \
	}
#define SLOW(p, x)                              \
	{                                       \
		CH_SLOW, p, 0, 0, x, 0, 0, NULL \
	}
#define RATE(p, n, f, c)                        \
	{                                       \
		CH_RATE, p, c, 0, 0, n, f, NULL \
	}
#define DRIFT(p)                                 \
	{                                        \
		CH_DRIFT, p, 0, 0, 0, 0, 0, NULL \
	}
#define PIN(p, s)                              \
	{                                      \
		CH_PIN, p, s, 0, 0, 0, 0, NULL \
	}
#define FAMILY(p, s)                           \
	{                                      \
		CH_FAMILY, p, 0, 0, 0, 0, 0, s \
	}
#define ALL_CORE_DOWN(c, ago) \
	DOWN(P_USERID, c, ago), DOWN(P_USERINFO, c, ago), DOWN(P_POSTDETAIL, c, ago)

struct kase {
	const char *name;
	struct change ch[10];
	int all_members;  /* members = all probes, not the alerting ones */
	int64_t open_ago; /* incident opened this long before NOW (0 = new) */
	int core_family_down_p1;
	int sev;
	enum pd_mode mode;
	const char *reason_has;
	const char *evidence_has[3];
};

static const struct kase cases[] = {
	{"post-detail 502 only -> P2 Mode 1",
	 {DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, 2 * MIN)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_UPSTREAM,
	 "post-detail down (http_5xx)",
	 {"post-detail: http_5xx for 2m, 100% errors over 5m", "userid: ok", "userinfo: ok"}},
	{"post-detail shape change -> P2 Mode 1",
	 {DOWN(P_POSTDETAIL, PD_OUT_SHAPE, 40 * SEC)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_UPSTREAM,
	 "userid stays green",
	 {"post-detail: shape for 40s"}},
	{"post-detail 502, core_family_down = P1 -> P1 Mode 1",
	 {DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, 2 * MIN)},
	 0,
	 0,
	 1,
	 1,
	 PD_MODE_UPSTREAM,
	 "core endpoint post-detail down (http_5xx)",
	 {NULL}},
	{"user-posts 502, core_family_down = P1: secondary stays P2",
	 {DOWN(P_USERPOSTS, PD_OUT_HTTP_5XX, 2 * MIN)},
	 0,
	 0,
	 1,
	 2,
	 PD_MODE_UPSTREAM,
	 "user-posts down",
	 {NULL}},
	{"all core 5xx -> P1",
	 {ALL_CORE_DOWN(PD_OUT_HTTP_5XX, 90 * SEC)},
	 0,
	 0,
	 0,
	 1,
	 PD_MODE_NONE,
	 "every core probe failing (3/3)",
	 {"userid: http_5xx", "user-posts: ok", "dashboard: ok"}},
	{"all core 5xx, one not yet confirmed -> P1",
	 {DOWN(P_USERID, PD_OUT_HTTP_5XX, MIN), DOWN(P_USERINFO, PD_OUT_HTTP_5XX, MIN),
	  FAILING(P_POSTDETAIL, PD_OUT_HTTP_5XX, 5 * SEC)},
	 0,
	 0,
	 0,
	 1,
	 PD_MODE_NONE,
	 "every core probe failing (3/3)",
	 {"(unconfirmed)"}},
	{"all core failing, none confirmed -> not P1",
	 {FAILING(P_USERID, PD_OUT_HTTP_5XX, 5 * SEC),
	  FAILING(P_USERINFO, PD_OUT_HTTP_5XX, 5 * SEC),
	  FAILING(P_POSTDETAIL, PD_OUT_HTTP_5XX, 5 * SEC)},
	 1,
	 0,
	 0,
	 2,
	 PD_MODE_NONE,
	 "failing (http_5xx)",
	 {NULL}},
	{"everything 5xx incl. tier site -> P1 Mode 2",
	 {ALL_CORE_DOWN(PD_OUT_HTTP_5XX, 3 * MIN), DOWN(P_USERPOSTS, PD_OUT_HTTP_5XX, 3 * MIN),
	  DOWN(P_DASHBOARD, PD_OUT_HTTP_5XX, 3 * MIN)},
	 0,
	 0,
	 0,
	 1,
	 PD_MODE_DATABASE,
	 "all 5 endpoints slow or failing",
	 {"dashboard: http_5xx"}},
	{"all core timing out for 30 s -> P2, not yet P1",
	 {ALL_CORE_DOWN(PD_OUT_TIMEOUT, 30 * SEC)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_NONE,
	 "down (timeout)",
	 {"userid: timeout for 30s"}},
	{"all core timing out for 61 s -> P1",
	 {ALL_CORE_DOWN(PD_OUT_TIMEOUT, 61 * SEC)},
	 0,
	 0,
	 0,
	 1,
	 PD_MODE_NONE,
	 "every core probe failing (3/3)",
	 {"post-detail: timeout for 1m1s"}},
	{"two core 5xx, one core timing out for 30 s -> P2",
	 {DOWN(P_USERID, PD_OUT_HTTP_5XX, MIN), DOWN(P_USERINFO, PD_OUT_HTTP_5XX, MIN),
	  DOWN(P_POSTDETAIL, PD_OUT_TIMEOUT, 30 * SEC)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_NONE,
	 "down",
	 {NULL}},
	{"all core connection refused -> P1",
	 {ALL_CORE_DOWN(PD_OUT_CONNECT, 20 * SEC)},
	 0,
	 0,
	 0,
	 1,
	 PD_MODE_NONE,
	 "every core probe failing",
	 {NULL}},
	{"401 on the key -> P1 Mode 4",
	 {DOWN(P_USERID, PD_OUT_KEY_REJECTED, 20 * SEC)},
	 0,
	 0,
	 0,
	 1,
	 PD_MODE_KEY,
	 "test key rejected (401/403) on userid",
	 {"userid: key_rejected for 20s"}},
	{"403 on a secondary endpoint -> P1 Mode 4",
	 {DOWN(P_USERPOSTS, PD_OUT_KEY_REJECTED, 20 * SEC)},
	 0,
	 0,
	 0,
	 1,
	 PD_MODE_KEY,
	 "test key rejected",
	 {NULL}},
	{"every endpoint slow 4x -> P2 Mode 2",
	 {SLOW(P_USERID, 4), SLOW(P_USERINFO, 4), SLOW(P_POSTDETAIL, 4), SLOW(P_USERPOSTS, 4),
	  SLOW(P_DASHBOARD, 4)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_DATABASE,
	 "all 5 endpoints slow or failing at once",
	 {"userid: p95 1000 ms = 4.0x baseline 250 ms", "dashboard: p95 1000 ms"}},
	{"every endpoint but the site page slow -> P2, not Mode 2",
	 {SLOW(P_USERID, 4), SLOW(P_USERINFO, 4), SLOW(P_POSTDETAIL, 4), SLOW(P_USERPOSTS, 4)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_NONE,
	 "p95 1000 ms >= 3.0x baseline 250 ms",
	 {"dashboard: ok"}},
	{"everything slow or failing (mixed) -> Mode 2",
	 {SLOW(P_USERID, 5), DOWN(P_USERINFO, PD_OUT_TIMEOUT, 20 * SEC), SLOW(P_POSTDETAIL, 3),
	  DOWN(P_USERPOSTS, PD_OUT_HTTP_5XX, MIN), DOWN(P_DASHBOARD, PD_OUT_HTTP_5XX, MIN)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_DATABASE,
	 NULL,
	 {NULL}},
	{"2.9x baseline -> nothing",
	 {SLOW(P_USERID, 2.9)},
	 1,
	 0,
	 0,
	 0,
	 PD_MODE_NONE,
	 "nothing wrong",
	 {NULL}},
	{"no baseline known: the fallback (500 ms) is used, 1600 ms -> P2",
	 {SLOW(P_USERID, -1600)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_NONE,
	 ">= 3.0x baseline 500 ms",
	 {NULL}},
	{"no baseline known: 1400 ms -> nothing",
	 {SLOW(P_USERID, -1400)},
	 1,
	 0,
	 0,
	 0,
	 PD_MODE_NONE,
	 NULL,
	 {NULL}},
	{"freshness late -> P3 Mode 3",
	 {DOWN(P_ARCHIVE, PD_OUT_HTTP_4XX, 10 * MIN)},
	 0,
	 10 * MIN,
	 0,
	 3,
	 PD_MODE_QUEUE,
	 "freshness probe stats-archive late",
	 {"stats-archive: late: http_4xx", "userid: ok"}},
	{"freshness late, incident open 29 min -> still P3",
	 {DOWN(P_ARCHIVE, PD_OUT_HTTP_4XX, 29 * MIN)},
	 0,
	 29 * MIN,
	 0,
	 3,
	 PD_MODE_QUEUE,
	 NULL,
	 {NULL}},
	{"freshness late, incident open 30 min -> P2",
	 {DOWN(P_ARCHIVE, PD_OUT_HTTP_4XX, 31 * MIN)},
	 0,
	 30 * MIN,
	 0,
	 2,
	 PD_MODE_QUEUE,
	 "P3 unresolved for 30m, escalated",
	 {NULL}},
	{"freshness late while an endpoint fails -> not Mode 3",
	 {DOWN(P_ARCHIVE, PD_OUT_HTTP_4XX, 10 * MIN), DOWN(P_USERPOSTS, PD_OUT_TIMEOUT, MIN)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_NONE,
	 NULL,
	 {NULL}},
	{"P4 probe failing -> P4, no page",
	 {DOWN(P_CACHED, PD_OUT_SHAPE, 5 * MIN)},
	 0,
	 0,
	 0,
	 4,
	 PD_MODE_NONE,
	 "cached-field (pinned P4) failing",
	 {"cached-field: shape"}},
	{"P4 probe failing for an hour -> still P4",
	 {DOWN(P_CACHED, PD_OUT_SHAPE, 60 * MIN)},
	 0,
	 60 * MIN,
	 0,
	 4,
	 PD_MODE_NONE,
	 NULL,
	 {NULL}},
	{"P4 probe failing with post-detail -> the others decide (P2 Mode 1)",
	 {DOWN(P_CACHED, PD_OUT_HTTP_5XX, MIN), DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, MIN)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_UPSTREAM,
	 NULL,
	 {NULL}},
	{"P4 probe with a rejected key -> P4",
	 {DOWN(P_CACHED, PD_OUT_KEY_REJECTED, MIN)},
	 0,
	 0,
	 0,
	 4,
	 PD_MODE_NONE,
	 NULL,
	 {NULL}},
	{"429 alone -> not P1/P2 (P4, quota noted)",
	 {DOWN(P_USERID, PD_OUT_QUOTA, 5 * MIN)},
	 0,
	 0,
	 0,
	 4,
	 PD_MODE_NONE,
	 "test key quota exhausted (429) on userid: not an outage",
	 {"userid: quota (test key quota exhausted)"}},
	{"429 on every core probe -> not P1/P2",
	 {ALL_CORE_DOWN(PD_OUT_QUOTA, 5 * MIN)},
	 0,
	 0,
	 0,
	 4,
	 PD_MODE_NONE,
	 "quota",
	 {"post-detail: quota (test key quota exhausted)"}},
	{"429 on one core probe, 5xx on the others -> not P1",
	 {DOWN(P_USERID, PD_OUT_QUOTA, MIN), DOWN(P_USERINFO, PD_OUT_HTTP_5XX, MIN),
	  DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, MIN)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_NONE,
	 NULL,
	 {"userid: quota (test key quota exhausted)"}},
	{"429s in the window are not errors (50% quota) -> nothing",
	 {RATE(P_USERID, 100, 50, PD_OUT_QUOTA)},
	 1,
	 0,
	 0,
	 0,
	 PD_MODE_NONE,
	 NULL,
	 {NULL}},
	{"error rate 5% -> P2",
	 {RATE(P_USERINFO, 100, 5, PD_OUT_HTTP_5XX)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_UPSTREAM,
	 "userinfo error rate 5.0%",
	 {"userinfo: 5.0% errors over 5m (http_5xx)", "userid: ok"}},
	{"error rate 5% on userid itself -> P2, not Mode 1",
	 {RATE(P_USERID, 100, 5, PD_OUT_HTTP_5XX)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_NONE,
	 "userid error rate 5.0%",
	 {NULL}},
	{"error rate 5% of timeouts -> P2, no mode",
	 {RATE(P_USERPOSTS, 100, 5, PD_OUT_TIMEOUT)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_NONE,
	 "user-posts error rate 5.0%",
	 {NULL}},
	{"error rate 0.5% -> nothing",
	 {RATE(P_USERID, 200, 1, PD_OUT_HTTP_5XX)},
	 1,
	 0,
	 0,
	 0,
	 PD_MODE_NONE,
	 NULL,
	 {"userid: 0.5% errors over 5m"}},
	{"error rate 1% of 100 -> P2 (the floor is inclusive)",
	 {RATE(P_USERINFO, 100, 1, PD_OUT_HTTP_5XX)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_UPSTREAM,
	 NULL,
	 {NULL}},
	{"error rate 33% of 3 results (under min_window_count) -> nothing",
	 {RATE(P_USERID, 3, 1, PD_OUT_HTTP_5XX)},
	 1,
	 0,
	 0,
	 0,
	 PD_MODE_NONE,
	 NULL,
	 {NULL}},
	{"error rate 20% (>= high): the family is down -> P2",
	 {RATE(P_POSTDETAIL, 50, 10, PD_OUT_SHAPE)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_UPSTREAM,
	 "post-detail down (shape)",
	 {NULL}},
	{"control probe failing -> ignored",
	 {DOWN(P_CONTROL, PD_OUT_CONNECT, 5 * MIN)},
	 1,
	 0,
	 0,
	 0,
	 PD_MODE_NONE,
	 "nothing wrong",
	 {NULL}},
	{"control probe failing with all core 5xx -> P1, control not in evidence",
	 {DOWN(P_CONTROL, PD_OUT_CONNECT, MIN), ALL_CORE_DOWN(PD_OUT_HTTP_5XX, MIN)},
	 0,
	 0,
	 0,
	 1,
	 PD_MODE_NONE,
	 "every core probe failing (3/3)",
	 {NULL}},
	{"shape drift -> P4",
	 {DRIFT(P_POSTDETAIL)},
	 0,
	 0,
	 0,
	 4,
	 PD_MODE_NONE,
	 "shape drift on post-detail",
	 {"post-detail: shape drift"}},
	{"pinned P2 secondary failing -> P2",
	 {PIN(P_ARCHIVE, 2), DOWN(P_ARCHIVE, PD_OUT_HTTP_4XX, MIN)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_QUEUE,
	 "(pinned P2)",
	 {NULL}},
	{"pinned P3 endpoint failing -> P3",
	 {PIN(P_USERPOSTS, 3), DOWN(P_USERPOSTS, PD_OUT_HTTP_5XX, MIN)},
	 0,
	 0,
	 0,
	 3,
	 PD_MODE_UPSTREAM,
	 "(pinned P3)",
	 {NULL}},
	{"the probe named userid is the reference, whatever its family",
	 {FAMILY(P_USERID, "lookup"), DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, MIN)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_UPSTREAM,
	 "while userid stays green",
	 {NULL}},
	{"userid failing too -> not Mode 1",
	 {DOWN(P_USERID, PD_OUT_HTTP_5XX, MIN), DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, MIN)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_NONE,
	 NULL,
	 {NULL}},
	{"userid family spelled /userid/ -> Mode 1",
	 {FAMILY(P_USERID, "/userid/"), DOWN(P_POSTDETAIL, PD_OUT_INVALID_JSON, MIN)},
	 0,
	 0,
	 0,
	 2,
	 PD_MODE_UPSTREAM,
	 "userid stays green",
	 {NULL}},
	{"all healthy -> nothing",
	 {{CH_END, 0, 0, 0, 0, 0, 0, NULL}},
	 1,
	 0,
	 0,
	 0,
	 PD_MODE_NONE,
	 "nothing wrong",
	 {"userid: ok", "dashboard: ok"}},
};

static const char *const runbooks[] = {
	[PD_MODE_NONE] = NULL,
	[PD_MODE_UPSTREAM] = "runbooks/mode1-upstream-changed.md",
	[PD_MODE_DATABASE] = "runbooks/mode2-database-bottleneck.md",
	[PD_MODE_QUEUE] = "runbooks/mode3-queue-backed-up.md",
	[PD_MODE_KEY] = "runbooks/key-rejected.md",
};

START_TEST(test_cases)
{
	const struct kase *k = &cases[_i];
	struct pd_class_input in[P__N];
	struct pd_classify_rules rules;
	struct pd_verdict v;
	int alerting[P__N], member[P__N], any = 0;

	pd_classify_rules_default(&rules);
	rules.core_family_down_p1 = k->core_family_down_p1;
	base(in);
	for (size_t c = 0; c < sizeof(k->ch) / sizeof(k->ch[0]) && k->ch[c].kind != CH_END; c++)
		apply(in, &k->ch[c]);
	pd_classify_alerting(in, P__N, &rules, NOW, alerting);
	for (int i = 0; i < P__N; i++) {
		member[i] = alerting[i] > 0;
		any |= member[i];
	}
	if (!k->all_members)
		ck_assert_msg(any, "%s: nothing alerting", k->name);
	pd_classify(in, P__N, k->all_members ? NULL : member, &rules, NOW,
		    k->open_ago ? NOW - k->open_ago : 0, &v);
	ck_assert_msg(v.severity == k->sev, "%s: severity %s, expected %s (%s)", k->name,
		      pd_classify_severity_str(v.severity), pd_classify_severity_str(k->sev),
		      v.reason);
	ck_assert_msg(v.mode == k->mode, "%s: mode %s, expected %s (%s)", k->name,
		      pd_classify_mode_str(v.mode), pd_classify_mode_str(k->mode), v.reason);
	ck_assert_int_eq(v.pages, k->sev == 1 || k->sev == 2);
	if (runbooks[k->mode] == NULL)
		ck_assert_ptr_null(v.runbook);
	else
		ck_assert_str_eq(v.runbook, runbooks[k->mode]);
	if (k->reason_has != NULL)
		ck_assert_msg(strstr(v.reason, k->reason_has) != NULL,
			      "%s: reason \"%s\" lacks \"%s\"", k->name, v.reason, k->reason_has);
	for (int e = 0; e < 3 && k->evidence_has[e] != NULL; e++)
		ck_assert_msg(strstr(v.evidence, k->evidence_has[e]) != NULL,
			      "%s: evidence \"%s\" lacks \"%s\"", k->name, v.evidence,
			      k->evidence_has[e]);
	/* control probes never show up in the evidence */
	ck_assert_msg(strstr(v.evidence, "control:") == NULL, "%s: %s", k->name, v.evidence);
}
END_TEST

/* ---- pd_classify_alerting: what one probe implies on its own ---- */

struct acase {
	const char *name;
	struct change ch[4];
	int core_family_down_p1;
	int probe;
	int expect;
};

static const struct acase acases[] = {
	{"healthy", {{CH_END, 0, 0, 0, 0, 0, 0, NULL}}, 0, P_USERID, 0},
	{"one unconfirmed 5xx", {FAILING(P_USERID, PD_OUT_HTTP_5XX, 0)}, 0, P_USERID, 0},
	{"confirmed 5xx on core", {DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, MIN)}, 0, P_POSTDETAIL, 2},
	{"confirmed 5xx on core, core_family_down P1",
	 {DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, MIN)},
	 1,
	 P_POSTDETAIL,
	 1},
	{"core timeout 10 s, core_family_down P1",
	 {DOWN(P_USERID, PD_OUT_TIMEOUT, 10 * SEC)},
	 1,
	 P_USERID,
	 2},
	{"core timeout 61 s, core_family_down P1",
	 {DOWN(P_USERID, PD_OUT_TIMEOUT, 61 * SEC)},
	 1,
	 P_USERID,
	 1},
	{"secondary 5xx, core_family_down P1",
	 {DOWN(P_USERPOSTS, PD_OUT_HTTP_5XX, MIN)},
	 1,
	 P_USERPOSTS,
	 2},
	{"confirmed 401", {DOWN(P_USERINFO, PD_OUT_KEY_REJECTED, MIN)}, 0, P_USERINFO, 1},
	{"unconfirmed 401", {FAILING(P_USERINFO, PD_OUT_KEY_REJECTED, 0)}, 0, P_USERINFO, 0},
	{"confirmed 429", {DOWN(P_USERID, PD_OUT_QUOTA, MIN)}, 0, P_USERID, 4},
	{"5% errors, state UP", {RATE(P_USERID, 100, 5, PD_OUT_HTTP_5XX)}, 0, P_USERID, 2},
	{"0.5% errors", {RATE(P_USERID, 200, 1, PD_OUT_HTTP_5XX)}, 0, P_USERID, 0},
	{"slow 3x", {SLOW(P_DASHBOARD, 3)}, 0, P_DASHBOARD, 2},
	{"freshness late", {DOWN(P_ARCHIVE, PD_OUT_EMPTY, MIN)}, 0, P_ARCHIVE, 3},
	{"pinned P4 failing", {DOWN(P_CACHED, PD_OUT_SHAPE, MIN)}, 0, P_CACHED, 4},
	{"pinned P4 slow", {SLOW(P_CACHED, 10)}, 0, P_CACHED, 4},
	{"control failing", {DOWN(P_CONTROL, PD_OUT_CONNECT, MIN)}, 0, P_CONTROL, 0},
	{"shape drift", {DRIFT(P_USERINFO)}, 0, P_USERINFO, 4},
	{"pinned P1 failing",
	 {PIN(P_USERPOSTS, 1), DOWN(P_USERPOSTS, PD_OUT_TIMEOUT, MIN)},
	 0,
	 P_USERPOSTS,
	 1},
	{"pinned P1 with drift only", {PIN(P_USERPOSTS, 1), DRIFT(P_USERPOSTS)}, 0, P_USERPOSTS, 4},
};

START_TEST(test_alerting)
{
	const struct acase *k = &acases[_i];
	struct pd_class_input in[P__N];
	struct pd_classify_rules rules;
	int alerting[P__N];

	pd_classify_rules_default(&rules);
	rules.core_family_down_p1 = k->core_family_down_p1;
	base(in);
	for (size_t c = 0; c < sizeof(k->ch) / sizeof(k->ch[0]) && k->ch[c].kind != CH_END; c++)
		apply(in, &k->ch[c]);
	memset(alerting, 0x7f, sizeof(alerting));
	pd_classify_alerting(in, P__N, &rules, NOW, alerting);
	ck_assert_msg(alerting[k->probe] == k->expect, "%s: %d, expected %d", k->name,
		      alerting[k->probe], k->expect);
	/* nobody else is alerting */
	for (int i = 0; i < P__N; i++)
		if (i != k->probe)
			ck_assert_msg(alerting[i] == 0, "%s: %s alerting (%d)", k->name, in[i].name,
				      alerting[i]);
}
END_TEST

/* ---- the rest ---- */

START_TEST(test_members_scope)
{
	struct pd_class_input in[P__N];
	struct pd_classify_rules rules;
	struct pd_verdict v;
	int member[P__N] = {0};
	const struct change c = DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, MIN);

	pd_classify_rules_default(&rules);
	base(in);
	apply(in, &c);
	/* an incident of userid alone says nothing about post-detail */
	member[P_USERID] = 1;
	pd_classify(in, P__N, member, &rules, NOW, 0, &v);
	ck_assert_int_eq(v.severity, 0);
	ck_assert_int_eq(v.pages, 0);
	ck_assert_ptr_null(v.runbook);
	/* the members come first in the evidence */
	member[P_USERID] = 0;
	member[P_POSTDETAIL] = 1;
	pd_classify(in, P__N, member, &rules, NOW, 0, &v);
	ck_assert_int_eq(v.severity, 2);
	ck_assert_msg(strncmp(v.evidence, "post-detail: http_5xx", 21) == 0, "%s", v.evidence);
	/* no probes at all */
	pd_classify(in, 0, NULL, &rules, NOW, 0, &v);
	ck_assert_int_eq(v.severity, 0);
	ck_assert_int_eq(v.mode, PD_MODE_NONE);
}
END_TEST

START_TEST(test_evidence_bounded)
{
	enum { N = 300 };
	struct pd_class_input *in = calloc(N, sizeof(*in));
	char(*names)[32] = calloc(N, 32);
	struct pd_classify_rules rules;
	struct pd_verdict v;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(names);
	pd_classify_rules_default(&rules);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], 32, "endpoint-with-a-long-name-%03d", i);
		in[i].name = names[i];
		in[i].family = names[i];
		in[i].tier = PD_TIER_CORE;
		in[i].status = PD_EVAL_DOWN;
		in[i].last_outcome = PD_OUT_HTTP_5XX;
		in[i].fail_since_ms = NOW - 2 * MIN;
		in[i].win.count = 10;
		in[i].win.failures = 10;
		in[i].win.by_class[PD_OUT_HTTP_5XX] = 10;
		in[i].win.p95_ms = -1;
		in[i].baseline_p95_ms = -1;
	}
	pd_classify(in, N, NULL, &rules, NOW, 0, &v);
	ck_assert_int_eq(v.severity, 1);
	ck_assert_int_eq(v.mode, PD_MODE_DATABASE);
	ck_assert_str_eq(v.reason, "every core probe failing (300/300); all 300 endpoints "
				   "slow or failing at once");
	ck_assert_uint_lt(strlen(v.evidence), sizeof(v.evidence));
	ck_assert_str_eq(v.evidence + strlen(v.evidence) - 3, "...");
	free(in);
	free(names);
}
END_TEST

START_TEST(test_strings_and_defaults)
{
	struct pd_classify_rules r;

	memset(&r, 0xff, sizeof(r));
	pd_classify_rules_default(&r);
	ck_assert_int_eq(r.window_ms, 5 * MIN);
	ck_assert_int_eq(r.core_timeout_ms, 60 * SEC);
	ck_assert_double_eq(r.latency_factor, 3.0);
	ck_assert_double_eq(r.error_rate_low, 0.01);
	ck_assert_double_eq(r.error_rate_high, 0.10);
	ck_assert_int_eq(r.min_window_count, 5);
	ck_assert_double_eq(r.baseline_latency_ms, 500);
	ck_assert_int_eq(r.core_family_down_p1, 0);
	ck_assert_int_eq(r.p3_escalate_ms, 30 * MIN);

	ck_assert_str_eq(pd_classify_severity_str(0), "-");
	ck_assert_str_eq(pd_classify_severity_str(1), "P1");
	ck_assert_str_eq(pd_classify_severity_str(4), "P4");
	ck_assert_str_eq(pd_classify_severity_str(5), "-");
	ck_assert_str_eq(pd_classify_severity_str(-1), "-");
	/* the one parser: exactly P1..P4, the form every surface writes */
	ck_assert_int_eq(pd_classify_severity_parse("P1"), 1);
	ck_assert_int_eq(pd_classify_severity_parse("P4"), 4);
	ck_assert_int_eq(pd_classify_severity_parse("P5"), 0);
	ck_assert_int_eq(pd_classify_severity_parse("P0"), 0);
	ck_assert_int_eq(pd_classify_severity_parse("p1"), 0);
	ck_assert_int_eq(pd_classify_severity_parse("P12"), 0);
	ck_assert_int_eq(pd_classify_severity_parse("P"), 0);
	ck_assert_int_eq(pd_classify_severity_parse(""), 0);
	ck_assert_int_eq(pd_classify_severity_parse(NULL), 0);
	for (int s = 1; s <= 4; s++)
		ck_assert_int_eq(pd_classify_severity_parse(pd_classify_severity_str(s)), s);
	ck_assert_str_eq(pd_classify_mode_str(PD_MODE_NONE), "none");
	ck_assert_str_eq(pd_classify_mode_str(PD_MODE_UPSTREAM), "mode1-upstream");
	ck_assert_str_eq(pd_classify_mode_str(PD_MODE_DATABASE), "mode2-database");
	ck_assert_str_eq(pd_classify_mode_str(PD_MODE_QUEUE), "mode3-queue");
	ck_assert_str_eq(pd_classify_mode_str(PD_MODE_KEY), "key-rejected");
	ck_assert_str_eq(pd_classify_mode_title(PD_MODE_UPSTREAM),
			 "Mode 1: upstream TikTok API down or changed");
	ck_assert_ptr_nonnull(strstr(pd_classify_mode_title(PD_MODE_DATABASE), "Mode 2"));
	ck_assert_ptr_nonnull(strstr(pd_classify_mode_title(PD_MODE_QUEUE), "Mode 3"));
	ck_assert_ptr_null(pd_classify_mode_runbook(PD_MODE_NONE));
	/* the runbook files exist in the tree, under the names the verdicts link */
	for (int m = PD_MODE_UPSTREAM; m <= PD_MODE_KEY; m++) {
		char path[512];
		FILE *f;

		ck_assert_str_eq(runbooks[m] + strlen("runbooks/"), pd_classify_mode_runbook(m));
		snprintf(path, sizeof(path), "%s/../../runbooks/%s", PD_FIXTURES,
			 pd_classify_mode_runbook(m));
		f = fopen(path, "r");
		ck_assert_msg(f != NULL, "%s missing", path);
		fclose(f);
	}
}
END_TEST

/* ---- the mode one probe's own failure indicates (grouping by cause) ---- */

static enum pd_mode
mode_of(const struct change *ch, size_t nch, int probe)
{
	struct pd_class_input in[P__N];
	struct pd_classify_rules rules;

	pd_classify_rules_default(&rules);
	base(in);
	for (size_t c = 0; c < nch; c++)
		apply(in, &ch[c]);
	return pd_classify_mode_of(in, P__N, (size_t)probe, &rules, NOW);
}

START_TEST(test_mode_of_one_probe)
{
	/* the case: /post-detail/ 502 while the stats batch is late */
	const struct change m13[] = {DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, MIN),
				     DOWN(P_ARCHIVE, PD_OUT_HTTP_4XX, MIN)};
	/* everything slow: Mode 2 from every synchronous probe; the batch is still late */
	const struct change m2[] = {SLOW(P_USERID, 5),     SLOW(P_USERINFO, 5),
				    SLOW(P_POSTDETAIL, 5), SLOW(P_USERPOSTS, 5),
				    SLOW(P_DASHBOARD, 5),  DOWN(P_ARCHIVE, PD_OUT_HTTP_4XX, MIN)};
	const struct change key[] = {DOWN(P_USERINFO, PD_OUT_KEY_REJECTED, MIN),
				     DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, MIN)};
	const struct change tmo[] = {DOWN(P_USERPOSTS, PD_OUT_TIMEOUT, 10 * SEC)};
	const struct change ref_down[] = {DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, MIN),
					  DOWN(P_USERID, PD_OUT_HTTP_5XX, MIN)};

	ck_assert_int_eq(mode_of(m13, 2, P_POSTDETAIL), PD_MODE_UPSTREAM);
	ck_assert_int_eq(mode_of(m13, 2, P_ARCHIVE), PD_MODE_QUEUE);
	ck_assert_int_eq(mode_of(m2, 6, P_USERINFO), PD_MODE_DATABASE);
	ck_assert_int_eq(mode_of(m2, 6, P_DASHBOARD), PD_MODE_DATABASE);
	ck_assert_int_eq(mode_of(m2, 6, P_ARCHIVE), PD_MODE_QUEUE);
	ck_assert_int_eq(mode_of(key, 2, P_USERINFO), PD_MODE_KEY);
	ck_assert_int_eq(mode_of(key, 2, P_POSTDETAIL), PD_MODE_UPSTREAM);
	/* a timeout alone tells no cause */
	ck_assert_int_eq(mode_of(tmo, 1, P_USERPOSTS), PD_MODE_NONE);
	/* 5xx while the reference fails too: not Mode 1, no cause from one probe */
	ck_assert_int_eq(mode_of(ref_down, 2, P_POSTDETAIL), PD_MODE_NONE);
	/* out of range */
	ck_assert_int_eq(mode_of(m13, 2, P__N), PD_MODE_NONE);
}
END_TEST

/* A batch incident of its own is Mode 3 while a synchronous endpoint fails elsewhere;
 * with the failing endpoint among the members it is not. */
START_TEST(test_mode3_members_only)
{
	struct pd_class_input in[P__N];
	struct pd_classify_rules rules;
	struct pd_verdict v;
	int member[P__N] = {0};

	pd_classify_rules_default(&rules);
	base(in);
	apply(in, &(struct change)DOWN(P_POSTDETAIL, PD_OUT_HTTP_5XX, MIN));
	apply(in, &(struct change)DOWN(P_ARCHIVE, PD_OUT_HTTP_4XX, MIN));
	member[P_ARCHIVE] = 1;
	pd_classify(in, P__N, member, &rules, NOW, 0, &v);
	ck_assert_int_eq(v.severity, 3);
	ck_assert_int_eq(v.mode, PD_MODE_QUEUE);
	ck_assert_str_eq(v.runbook, "runbooks/mode3-queue-backed-up.md");
	member[P_POSTDETAIL] = 1;
	pd_classify(in, P__N, member, &rules, NOW, 0, &v);
	ck_assert_int_eq(v.mode, PD_MODE_UPSTREAM);
}
END_TEST

/* The user's own API: login, orders, catalog; no probe is named userid. */
START_TEST(test_reference_probe_words)
{
	static const char *const names[] = {"login", "orders", "catalog"};
	struct pd_class_input in[3];
	struct pd_classify_rules rules;
	struct pd_verdict v;
	char title[128];

	pd_classify_rules_default(&rules);
	ck_assert_str_eq(rules.reference_probe, "userid");
	ck_assert_str_eq(rules.upstream, "TikTok");
	memset(in, 0, sizeof(in));
	for (int i = 0; i < 3; i++) {
		in[i].name = in[i].family = names[i];
		in[i].tier = PD_TIER_CORE;
		in[i].status = PD_EVAL_UP;
		in[i].last_outcome = PD_OUT_OK;
		in[i].win.count = 30;
		in[i].win.p50_ms = 100;
		in[i].win.p95_ms = 200;
		in[i].baseline_p95_ms = 250;
	}
	in[1].status = PD_EVAL_DOWN;
	in[1].last_outcome = PD_OUT_HTTP_5XX;
	in[1].fail_since_ms = NOW - MIN;
	in[1].win.failures = 30;
	in[1].win.by_class[PD_OUT_HTTP_5XX] = 30;
	/* default reference, no such probe: the words name the green core family that
	 * stands in, never userid */
	pd_classify(in, 3, NULL, &rules, NOW, 0, &v);
	ck_assert_int_eq(v.mode, PD_MODE_UPSTREAM);
	ck_assert_msg(strstr(v.reason, "orders fails with 5xx/shape errors while core family "
				       "catalog stays green") != NULL,
		      "%s", v.reason);
	ck_assert_ptr_null(strstr(v.reason, "userid"));
	ck_assert_ptr_null(strstr(v.evidence, "userid"));
	ck_assert_str_eq(pd_classify_mode_title_of(v.mode, &rules, title, sizeof(title)),
			 "Mode 1: upstream TikTok API down or changed");
	/* configured: login is the reference, the upstream is Acme */
	snprintf(rules.reference_probe, sizeof(rules.reference_probe), "login");
	snprintf(rules.upstream, sizeof(rules.upstream), "Acme");
	pd_classify(in, 3, NULL, &rules, NOW, 0, &v);
	ck_assert_int_eq(v.mode, PD_MODE_UPSTREAM);
	ck_assert_msg(strstr(v.reason, "orders fails with 5xx/shape errors while login stays "
				       "green") != NULL,
		      "%s", v.reason);
	ck_assert_str_eq(pd_classify_mode_title_of(v.mode, &rules, title, sizeof(title)),
			 "Mode 1: upstream Acme API down or changed");
	ck_assert_str_eq(pd_classify_mode_title_of(PD_MODE_QUEUE, &rules, title, sizeof(title)),
			 pd_classify_mode_title(PD_MODE_QUEUE));
	rules.upstream[0] = '\0';
	ck_assert_str_eq(pd_classify_mode_title_of(PD_MODE_UPSTREAM, &rules, title, sizeof(title)),
			 "Mode 1: upstream API down or changed");
	/* the reference fails too: not Mode 1 (the reference rules, not another green core
	 * family) */
	in[0] = in[1];
	in[0].name = in[0].family = "login";
	pd_classify(in, 3, NULL, &rules, NOW, 0, &v);
	ck_assert_int_ne(v.mode, PD_MODE_UPSTREAM);
}
END_TEST

static Suite *
classify_suite(void)
{
	Suite *s = suite_create("classify");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_cases, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_loop_test(tc, test_alerting, 0, (int)(sizeof(acases) / sizeof(acases[0])));
	tcase_add_test(tc, test_members_scope);
	tcase_add_test(tc, test_evidence_bounded);
	tcase_add_test(tc, test_strings_and_defaults);
	tcase_add_test(tc, test_mode_of_one_probe);
	tcase_add_test(tc, test_mode3_members_only);
	tcase_add_test(tc, test_reference_probe_words);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(classify_suite());
}
