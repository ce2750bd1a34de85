/* check_statuspage.c — the status page's pure parts: endpoint names, HTML escaping,
 * state derivation (probe -> family -> overall), the INVESTIGATING draft, and the HTML /
 * JSON renderers over hand-built views with hostile strings in them; every severity shown is
 * the incident's (a probe's own tier or config never gives one). (The live path, collect
 * from a daemon + store, runs in tests/integration/test_statuspage.sh and
 * test_severity_surfaces.sh.) */
#include <check.h>
#include "testlib.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/incident.h"
#include "probed/statuspage.h"

/* 2026-05-29 05:05:00.000 UTC */
#define T0 1780031100000LL

static void
add_probe(struct pd_statuspage_view *v, const char *name, const char *family,
	  enum pd_eval_status eval, int has_result, int ok)
{
	struct pd_statuspage_probe *p;

	v->probes = realloc(v->probes, (v->nprobes + 1) * sizeof(*v->probes));
	ck_assert_ptr_nonnull(v->probes);
	p = &v->probes[v->nprobes++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->family, sizeof(p->family), "%s", family);
	snprintf(p->tier, sizeof(p->tier), "core");
	snprintf(p->endpoint, sizeof(p->endpoint), "/%s/", family);
	p->eval = eval;
	p->has_result = has_result;
	p->last.outcome = ok ? PD_OUT_OK : PD_OUT_HTTP_5XX;
	p->last.http_status = ok ? 200 : 502;
	p->last.total_ms = 12.5;
	snprintf(p->last.verdict, sizeof(p->last.verdict), "%s",
		 ok ? "ok" : "status 502, expected 200");
	if (eval == PD_EVAL_DOWN || eval == PD_EVAL_RECOVERING) {
		p->first_fail_ms = T0;
		p->paged_at_ms = T0 + 5000;
		p->consec_fail = 3;
		snprintf(p->dedup_key, sizeof(p->dedup_key), "probed:%s:%lld", name, (long long)T0);
	}
	for (size_t i = 0; i < PD_STATUSPAGE_BUCKETS; i++) {
		p->buckets[i].start_ms =
			T0 - (int64_t)(PD_STATUSPAGE_BUCKETS - 1 - i) * PD_STATUSPAGE_BUCKET_MS;
		p->buckets[i].p95_ms = p->buckets[i].max_ms = -1;
	}
}

static void
view_init(struct pd_statuspage_view *v)
{
	memset(v, 0, sizeof(*v));
	v->now_ms = T0 + 120000;
	v->window_start_ms = T0 - (int64_t)(PD_STATUSPAGE_BUCKETS - 1) * PD_STATUSPAGE_BUCKET_MS;
	snprintf(v->location, sizeof(v->location), "eu-west-1");
	snprintf(v->version, sizeof(v->version), "test");
}

static enum pd_statuspage_state
fam_state(const struct pd_statuspage_view *v, const char *name)
{
	for (size_t k = 0; k < v->nfamilies; k++)
		if (strcmp(v->families[k].name, name) == 0)
			return v->families[k].state;
	ck_abort_msg("no family %s", name);
	return PD_STATUSPAGE_UNKNOWN;
}

START_TEST(endpoint_from_url)
{
	char out[64];

	pd_incident_endpoint_label("https://api.example.com/post-detail/?url=https%3A%2F%2Fx", "pd",
				   out, sizeof(out));
	ck_assert_str_eq(out, "/post-detail/");
	pd_incident_endpoint_label("http://127.0.0.1:8080/userid/?username=tiktok#frag", "u", out,
				   sizeof(out));
	ck_assert_str_eq(out, "/userid/");
	pd_incident_endpoint_label("https://example.com", "site", out, sizeof(out));
	ck_assert_str_eq(out, "site");
	pd_incident_endpoint_label("https://example.com/?x=1", "site", out, sizeof(out));
	ck_assert_str_eq(out, "site");
	pd_incident_endpoint_label("https://${HOST}/userinfo/", "ui", out, sizeof(out));
	ck_assert_str_eq(out, "/userinfo/");
	pd_incident_endpoint_label("https://h/${PATH}/x", "fam", out, sizeof(out));
	ck_assert_str_eq(out, "fam");
	pd_incident_endpoint_label(NULL, "fam", out, sizeof(out));
	ck_assert_str_eq(out, "fam");
	pd_incident_endpoint_label("https://h/a-very-long-path-that-does-not-fit", "f", out, 8);
	ck_assert_uint_eq(strlen(out), 7);
}
END_TEST

START_TEST(html_escape)
{
	struct pd_buf b;

	pd_buf_init(&b, 0);
	ck_assert_int_eq(pd_statuspage_html_escape(&b, "a<b>&\"c'\x01\x7f"
						       "d\n"),
			 0);
	ck_assert_str_eq(b.data, "a&lt;b&gt;&amp;&quot;c&#39;d\n");
	pd_buf_reset(&b);
	ck_assert_int_eq(pd_statuspage_html_escape(&b, ""), 0);
	ck_assert_uint_eq(b.len, 0);
	pd_buf_cleanup(&b);
}
END_TEST

START_TEST(derive_states)
{
	struct pd_statuspage_view v;
	struct pd_err err = {0};

	view_init(&v);
	add_probe(&v, "a", "fa", PD_EVAL_UP, 1, 1);
	add_probe(&v, "b1", "fb", PD_EVAL_DOWN, 1, 0); /* fb: one of two down */
	add_probe(&v, "b2", "fb", PD_EVAL_UP, 1, 1);
	add_probe(&v, "c", "fc", PD_EVAL_DOWN, 1, 0);       /* fc: all down */
	add_probe(&v, "d", "fd", PD_EVAL_UP, 0, 0);         /* fd: no result yet */
	add_probe(&v, "e", "fe", PD_EVAL_FAILING, 1, 0);    /* fe: failing, unconfirmed */
	add_probe(&v, "f", "ff", PD_EVAL_RECOVERING, 1, 1); /* ff: page open, succeeding */
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	ck_assert_uint_eq(v.nfamilies, 6);
	ck_assert_int_eq(fam_state(&v, "fa"), PD_STATUSPAGE_UP);
	ck_assert_int_eq(fam_state(&v, "fb"), PD_STATUSPAGE_DEGRADED);
	ck_assert_int_eq(fam_state(&v, "fc"), PD_STATUSPAGE_DOWN);
	ck_assert_int_eq(fam_state(&v, "fd"), PD_STATUSPAGE_UNKNOWN);
	ck_assert_int_eq(fam_state(&v, "fe"), PD_STATUSPAGE_DEGRADED);
	ck_assert_int_eq(fam_state(&v, "ff"), PD_STATUSPAGE_DEGRADED);
	ck_assert_int_eq(v.overall, PD_STATUSPAGE_DEGRADED);
	ck_assert_uint_eq(v.npages, 3); /* b1, c, f */
	ck_assert_int_eq(v.incident_start_ms, T0);
	ck_assert_int_eq(v.probes[1].state, PD_STATUSPAGE_DOWN);
	ck_assert_int_eq(v.probes[4].state, PD_STATUSPAGE_UNKNOWN);
	ck_assert_int_eq(v.probes[6].state, PD_STATUSPAGE_DEGRADED);
	ck_assert(v.probes[6].page_open);
	pd_statuspage_view_cleanup(&v);

	/* every known family down (an unknown one does not count) -> overall down */
	view_init(&v);
	add_probe(&v, "x", "fx", PD_EVAL_DOWN, 1, 0);
	add_probe(&v, "y", "fy", PD_EVAL_DOWN, 0, 0);
	add_probe(&v, "z", "fz", PD_EVAL_UP, 0, 0);
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	ck_assert_int_eq(v.overall, PD_STATUSPAGE_DOWN);
	pd_statuspage_view_cleanup(&v);

	/* nothing known yet */
	view_init(&v);
	add_probe(&v, "x", "fx", PD_EVAL_UP, 0, 0);
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	ck_assert_int_eq(v.overall, PD_STATUSPAGE_UNKNOWN);
	ck_assert_ptr_null(v.draft);
	pd_statuspage_view_cleanup(&v);

	/* all up; derive twice (idempotent, no leak) */
	view_init(&v);
	add_probe(&v, "x", "fx", PD_EVAL_UP, 1, 1);
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	ck_assert_int_eq(v.overall, PD_STATUSPAGE_UP);
	ck_assert_uint_eq(v.npages, 0);
	ck_assert_ptr_null(v.draft);
	pd_statuspage_view_cleanup(&v);

	/* no probes at all */
	view_init(&v);
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	ck_assert_int_eq(v.overall, PD_STATUSPAGE_UNKNOWN);
	pd_statuspage_view_cleanup(&v);
}
END_TEST

START_TEST(draft_investigating)
{
	struct pd_statuspage_view v;
	struct pd_err err = {0};

	view_init(&v);
	add_probe(&v, "userid", "userid", PD_EVAL_UP, 1, 1);
	add_probe(&v, "userinfo", "userinfo-by-username", PD_EVAL_UP, 1, 1);
	add_probe(&v, "post-detail", "post-detail", PD_EVAL_DOWN, 1, 0);
	add_probe(&v, "user-posts", "user-posts", PD_EVAL_FAILING, 1, 0); /* neither */
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	ck_assert_ptr_nonnull(v.draft);
	ck_assert_msg(strncmp(v.draft, "[INVESTIGATING] Elevated error rates on /post-detail/\n",
			      54) == 0,
		      "%s", v.draft);
	ck_assert_ptr_nonnull(strstr(v.draft, "/userid/"));
	ck_assert_ptr_nonnull(strstr(v.draft, "/userinfo-by-username/"));
	ck_assert_ptr_nonnull(strstr(v.draft, "unaffected"));
	/* a failing-but-unconfirmed family is neither affected nor "unaffected" */
	ck_assert_ptr_null(strstr(v.draft, "/user-posts/"));
	ck_assert_ptr_nonnull(strstr(v.draft, "Next update: 15 minutes."));
	ck_assert_ptr_nonnull(strstr(
		v.draft, "\nStarted: 2026-05-29 05:05 UTC. Posted: 2026-05-29 05:07 UTC.\n"));
	pd_statuspage_view_cleanup(&v);

	/* two families paged, nothing left working */
	view_init(&v);
	add_probe(&v, "a", "a", PD_EVAL_DOWN, 1, 0);
	add_probe(&v, "b", "b", PD_EVAL_RECOVERING, 1, 1);
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	ck_assert_ptr_nonnull(v.draft);
	ck_assert_ptr_nonnull(strstr(v.draft, "/a/"));
	ck_assert_ptr_nonnull(strstr(v.draft, "/b/"));
	ck_assert_ptr_null(strstr(v.draft, "unaffected"));
	pd_statuspage_view_cleanup(&v);
}
END_TEST

START_TEST(html_hostile_strings)
{
	struct pd_statuspage_view v;
	struct pd_err err = {0};
	struct pd_buf b;

	view_init(&v);
	snprintf(v.location, sizeof(v.location), "<b>loc</b>");
	add_probe(&v, "ok-probe", "fam\"><script>alert(1)</script>", PD_EVAL_UP, 1, 1);
	add_probe(&v, "bad", "bad", PD_EVAL_DOWN, 1, 0);
	snprintf(v.probes[1].last.verdict, sizeof(v.probes[1].last.verdict),
		 "$.id: got \"<img src=x onerror=alert(1)>\" & more");
	v.probes[0].buckets[PD_STATUSPAGE_BUCKETS - 1].count = 10;
	v.probes[0].buckets[PD_STATUSPAGE_BUCKETS - 1].failures = 1;
	v.probes[0].buckets[PD_STATUSPAGE_BUCKETS - 1].p95_ms = 42.5;
	v.probes[0].day.count = 10;
	v.probes[0].day.failures = 1;
	v.probes[0].day.p95_ms = 42.5;
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	pd_buf_init(&b, 0);
	ck_assert_int_eq(pd_statuspage_html(&v, &b, &err), 0);
	ck_assert_ptr_null(strstr(b.data, "<script"));
	ck_assert_ptr_null(strstr(b.data, "<img"));
	ck_assert_ptr_null(strstr(b.data, "<b>loc"));
	ck_assert_ptr_nonnull(strstr(b.data, "&lt;img src=x onerror=alert(1)&gt;"));
	ck_assert_ptr_nonnull(strstr(b.data, "fam&quot;&gt;&lt;script&gt;"));
	ck_assert_ptr_nonnull(strstr(b.data, "&lt;b&gt;loc&lt;/b&gt;"));
	ck_assert_ptr_nonnull(strstr(b.data, "<!DOCTYPE html>"));
	ck_assert_ptr_nonnull(strstr(b.data, "</html>"));
	ck_assert_ptr_nonnull(strstr(b.data, "uptime <b data-uptime=\"90.0000\">90.00%</b>"));
	ck_assert_ptr_nonnull(strstr(b.data, "id=\"draft\">[INVESTIGATING]"));
	ck_assert_ptr_nonnull(strstr(b.data, "data-state=\"degraded\""));
	pd_buf_cleanup(&b);
	pd_statuspage_view_cleanup(&v);
}
END_TEST

/* history's arrays are written as text, not cJSON nodes: the same text cJSON prints for
 * the same numbers (counts; p95 rounded to 0.001 ms, null for none), edge values too. */
START_TEST(json_history_numbers)
{
	static const double ms[] = {0,    0.0004, 0.0005, 0.001,       0.01,   0.1,
				    1,    1.5,    10.25,  12.3456,     99.999, 99.9995,
				    1000, 4095.7, 60000,  123456.7891, 2.5e9,  -1};
	const size_t nms = sizeof(ms) / sizeof(ms[0]);
	struct pd_statuspage_view v;
	struct pd_err err = {0};
	struct pd_buf b;
	cJSON *want_c = cJSON_CreateArray(), *want_f = cJSON_CreateArray(),
	      *want_p = cJSON_CreateArray(), *root;
	char *wc, *wf, *wp, *gc, *gf, *gp;

	view_init(&v);
	add_probe(&v, "userid", "userid", PD_EVAL_UP, 1, 1);
	for (size_t i = 0; i < PD_STATUSPAGE_BUCKETS; i++) {
		struct pd_series_bucket *bk = &v.probes[0].buckets[i];
		double x = ms[i % nms];

		bk->count = (int64_t)(i * 977 % 9001);
		bk->failures = (int64_t)(i % 3 == 0 ? 0 : i * 13);
		bk->p95_ms = x;
		cJSON_AddItemToArray(want_c, cJSON_CreateNumber((double)bk->count));
		cJSON_AddItemToArray(want_f, cJSON_CreateNumber((double)bk->failures));
		cJSON_AddItemToArray(want_p,
				     x < 0 ? cJSON_CreateNull()
					   : cJSON_CreateNumber(round(x * 1000.0) / 1000.0));
	}
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	pd_buf_init(&b, 0);
	ck_assert_int_eq(pd_statuspage_json(&v, &b, &err), 0);
	root = cJSON_Parse(b.data);
	ck_assert_ptr_nonnull(root);
	{
		cJSON *h = cJSON_GetObjectItem(
			cJSON_GetArrayItem(cJSON_GetObjectItem(root, "probes"), 0), "history");

		gc = cJSON_PrintUnformatted(cJSON_GetObjectItem(h, "count"));
		gf = cJSON_PrintUnformatted(cJSON_GetObjectItem(h, "failures"));
		gp = cJSON_PrintUnformatted(cJSON_GetObjectItem(h, "p95_ms"));
	}
	wc = cJSON_PrintUnformatted(want_c);
	wf = cJSON_PrintUnformatted(want_f);
	wp = cJSON_PrintUnformatted(want_p);
	ck_assert_str_eq(gc, wc);
	ck_assert_str_eq(gf, wf);
	ck_assert_str_eq(gp, wp);
	/* and the document's own text holds them as cJSON prints them */
	ck_assert_ptr_nonnull(strstr(b.data, wp));
	ck_assert_ptr_nonnull(strstr(b.data, wc));
	free(gc);
	free(gf);
	free(gp);
	free(wc);
	free(wf);
	free(wp);
	cJSON_Delete(want_c);
	cJSON_Delete(want_f);
	cJSON_Delete(want_p);
	cJSON_Delete(root);
	pd_buf_cleanup(&b);
	pd_statuspage_view_cleanup(&v);
}
END_TEST

START_TEST(json_document)
{
	struct pd_statuspage_view v;
	struct pd_err err = {0};
	struct pd_buf b;
	cJSON *root, *probes, *p, *h, *pages, *fams;

	view_init(&v);
	add_probe(&v, "userid", "userid", PD_EVAL_UP, 1, 1);
	add_probe(&v, "post-detail", "post-detail", PD_EVAL_DOWN, 1, 0);
	snprintf(v.probes[1].last.verdict, sizeof(v.probes[1].last.verdict), "got \"<x>\"\n");
	v.probes[0].buckets[3].count = 4;
	v.probes[0].buckets[3].failures = 1;
	v.probes[0].buckets[3].p95_ms = 10.25;
	v.probes[0].day.count = 4;
	v.probes[0].day.failures = 1;
	v.probes[0].day.p95_ms = 10.25;
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	pd_buf_init(&b, 0);
	ck_assert_int_eq(pd_statuspage_json(&v, &b, &err), 0);
	root = cJSON_Parse(b.data);
	ck_assert_ptr_nonnull(root);
	ck_assert_str_eq(cJSON_GetObjectItem(root, "overall")->valuestring, "degraded");
	ck_assert_str_eq(cJSON_GetObjectItem(root, "location")->valuestring, "eu-west-1");
	ck_assert_str_eq(cJSON_GetObjectItem(root, "generated_at")->valuestring,
			 "2026-05-29T05:07:00.000Z");
	fams = cJSON_GetObjectItem(root, "families");
	ck_assert_int_eq(cJSON_GetArraySize(fams), 2);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(fams, 1), "state")->valuestring,
			 "down");
	pages = cJSON_GetObjectItem(root, "pages");
	ck_assert_int_eq(cJSON_GetArraySize(pages), 1);
	p = cJSON_GetArrayItem(pages, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(p, "probe")->valuestring, "post-detail");
	ck_assert_str_eq(cJSON_GetObjectItem(p, "since")->valuestring, "2026-05-29T05:05:00.000Z");
	ck_assert_str_eq(cJSON_GetObjectItem(p, "reason")->valuestring, "got \"<x>\"\n");
	/* a page in no incident has no severity: null, never a guess */
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(p, "severity")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(p, "incident")));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "incidents")), 0);
	ck_assert_str_eq(
		cJSON_GetObjectItem(cJSON_GetObjectItem(root, "draft"), "source")->valuestring,
		"pages");
	probes = cJSON_GetObjectItem(root, "probes");
	p = cJSON_GetArrayItem(probes, 0);
	ck_assert_double_eq_tol(cJSON_GetObjectItem(p, "uptime_24h")->valuedouble, 75.0, 1e-9);
	ck_assert_double_eq_tol(cJSON_GetObjectItem(p, "p95_24h_ms")->valuedouble, 10.25, 1e-9);
	h = cJSON_GetObjectItem(p, "history");
	ck_assert_int_eq(cJSON_GetObjectItem(h, "bucket_seconds")->valueint, 900);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(h, "count")),
			 PD_STATUSPAGE_BUCKETS);
	ck_assert_int_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "count"), 3)->valueint, 4);
	ck_assert_int_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "failures"), 3)->valueint, 1);
	ck_assert(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "p95_ms"), 2)));
	ck_assert_double_eq_tol(
		cJSON_GetArrayItem(cJSON_GetObjectItem(h, "p95_ms"), 3)->valuedouble, 10.25, 1e-9);
	/* a probe without results has null uptime */
	p = cJSON_GetArrayItem(probes, 1);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(p, "uptime_24h")));
	cJSON_Delete(root);
	pd_buf_cleanup(&b);
	pd_statuspage_view_cleanup(&v);
}
END_TEST

START_TEST(secrets_masked)
{
	struct pd_statuspage_view v;
	struct pd_err err = {0};
	struct pd_buf b;

	pd_log_add_secret("s3cr3t-canary-key");
	view_init(&v);
	add_probe(&v, "p", "p", PD_EVAL_DOWN, 1, 0);
	snprintf(v.probes[0].last.verdict, sizeof(v.probes[0].last.verdict),
		 "echoed s3cr3t-canary-key back");
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	pd_buf_init(&b, 0);
	ck_assert_int_eq(pd_statuspage_html(&v, &b, &err), 0);
	ck_assert_ptr_null(strstr(b.data, "s3cr3t-canary-key"));
	ck_assert_ptr_nonnull(strstr(b.data, "echoed [REDACTED] back"));
	pd_buf_reset(&b);
	ck_assert_int_eq(pd_statuspage_json(&v, &b, &err), 0);
	ck_assert_ptr_null(strstr(b.data, "s3cr3t-canary-key"));
	ck_assert_ptr_nonnull(strstr(b.data, "echoed [REDACTED] back"));
	pd_buf_cleanup(&b);
	pd_statuspage_view_cleanup(&v);
	pd_log_clear_secrets();
}
END_TEST

START_TEST(output_limit)
{
	struct pd_statuspage_view v;
	struct pd_err err = {0};
	struct pd_buf b;

	view_init(&v);
	add_probe(&v, "p", "p", PD_EVAL_UP, 1, 1);
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	pd_buf_init(&b, 600);
	ck_assert_int_eq(pd_buf_printf(&b, "keep"), 0);
	ck_assert_int_eq(pd_statuspage_html(&v, &b, &err), PD_ERR_INVALID);
	ck_assert_str_eq(b.data, "keep"); /* nothing partial left behind */
	ck_assert_int_eq(pd_statuspage_json(&v, &b, &err), PD_ERR_INVALID);
	ck_assert_str_eq(b.data, "keep");
	pd_buf_cleanup(&b);
	pd_statuspage_view_cleanup(&v);
}
END_TEST

/* A fleet of 1,000 probes: the probes that are down or failed in 24 h keep both charts
 * with a tooltip per bucket, the healthy rest one compact strip each, and the page stays
 * small (it was 26 KB a probe: 1,000 probes overflowed the 16 MiB response cap). */
START_TEST(html_large_fleet_is_compact)
{
	struct pd_statuspage_view v;
	struct pd_err err = {0};
	struct pd_buf b;
	const char *at;
	char name[32];
	size_t detailed = 0;

	view_init(&v);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "p%04d", i);
		add_probe(&v, name, "userid", i == 700 ? PD_EVAL_DOWN : PD_EVAL_UP, 1, i != 700);
		for (size_t k = 0; k < PD_STATUSPAGE_BUCKETS; k++) {
			v.probes[i].buckets[k].count = 90;
			v.probes[i].buckets[k].failures = i == 700 && k > 90 ? 90 : 0;
			v.probes[i].buckets[k].p95_ms = 40;
		}
	}
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	pd_buf_init(&b, 16u << 20);
	ck_assert_int_eq(pd_statuspage_html(&v, &b, &err), 0);
	ck_assert_uint_lt(b.len, 2u << 20);
	for (at = b.data; (at = strstr(at, "<svg class=\"latency\"")) != NULL; at++)
		detailed++;
	ck_assert_uint_eq(detailed, 1); /* only the failing probe */
	at = strstr(b.data, "data-probe=\"p0700\"");
	ck_assert_ptr_nonnull(at);
	ck_assert_ptr_nonnull(strstr(at, "<svg class=\"latency\""));
	/* a healthy day is one green rectangle and one tooltip */
	at = strstr(b.data, "data-probe=\"p0001\"");
	ck_assert_ptr_nonnull(at);
	ck_assert_ptr_nonnull(strstr(at, "<path fill=\"#16a34a\" d=\"M0 0h958v26h-958z\"/>"));
	ck_assert_ptr_nonnull(strstr(b.data, "1000 probes: the first 50"));
	pd_buf_cleanup(&b);
	pd_statuspage_view_cleanup(&v);
}
END_TEST

/* The severity of the open incident a probe belongs to, on every part of both documents;
 * nothing for the probes outside it, whatever their tier. */
START_TEST(severity_is_the_incidents)
{
	struct pd_statuspage_view v;
	struct pd_err err = {0};
	struct pd_buf b;
	cJSON *root, *p;

	view_init(&v);
	add_probe(&v, "userid", "userid", PD_EVAL_UP, 1, 1);
	add_probe(&v, "post-detail", "post-detail", PD_EVAL_DOWN, 1, 0);
	add_probe(&v, "stats", "stats", PD_EVAL_UP, 1, 1);
	snprintf(v.probes[2].tier, sizeof(v.probes[2].tier), "secondary");
	/* one family of the core down: the classifier's P2 (the old tier rule showed P1) */
	v.nincidents = 1;
	snprintf(v.incidents[0].key, sizeof(v.incidents[0].key), "probed:eu-west-1/inc-1");
	v.incidents[0].severity = 2;
	snprintf(v.incidents[0].title, sizeof(v.incidents[0].title),
		 "Elevated errors on /post-detail/");
	v.incidents[0].opened_ms = T0;
	snprintf(v.incidents[0].members, sizeof(v.incidents[0].members), "[\"post-detail\"]");
	v.probes[1].severity = 2;
	snprintf(v.probes[1].incident, sizeof(v.probes[1].incident), "probed:eu-west-1/inc-1");
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);

	pd_buf_init(&b, 0);
	ck_assert_int_eq(pd_statuspage_html(&v, &b, &err), 0);
	ck_assert_ptr_nonnull(
		strstr(b.data, "Current incident <span class=\"pill sev\">P2</span>"));
	ck_assert_ptr_nonnull(strstr(b.data, "<tr data-incident-key=\"probed:eu-west-1/inc-1\"><td>"
					     "Elevated errors on /post-detail/</td><td>P2</td>"));
	ck_assert_ptr_nonnull(strstr(b.data, "<tr data-page=\"post-detail\"><td>post-detail</td>"
					     "<td>/post-detail/</td><td>P2</td>"));
	ck_assert_ptr_nonnull(strstr(b.data, "data-probe=\"post-detail\" data-state=\"down\" "
					     "data-severity=\"P2\">"));
	ck_assert_ptr_nonnull(strstr(b.data, "data-probe=\"userid\" data-state=\"up\">"));
	ck_assert_ptr_nonnull(strstr(b.data, "data-probe=\"stats\" data-state=\"up\">"));
	ck_assert_ptr_null(strstr(b.data, ">P1<"));

	pd_buf_reset(&b);
	ck_assert_int_eq(pd_statuspage_json(&v, &b, &err), 0);
	root = cJSON_Parse(b.data);
	ck_assert_ptr_nonnull(root);
	p = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "incidents"), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(p, "severity")->valuestring, "P2");
	p = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "pages"), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(p, "severity")->valuestring, "P2");
	ck_assert_str_eq(cJSON_GetObjectItem(p, "incident")->valuestring, "probed:eu-west-1/inc-1");
	p = cJSON_GetObjectItem(root, "probes");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 0), "severity")));
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 1), "severity")->valuestring,
			 "P2");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 2), "severity")));
	cJSON_Delete(root);

	/* the incident gone (resolved) while the page is still open: none, not a guess */
	v.nincidents = 0;
	v.probes[1].severity = 0;
	v.probes[1].incident[0] = '\0';
	ck_assert_int_eq(pd_statuspage_derive(&v, &err), 0);
	pd_buf_reset(&b);
	ck_assert_int_eq(pd_statuspage_html(&v, &b, &err), 0);
	ck_assert_ptr_nonnull(
		strstr(b.data, "Current incident <span class=\"pill sev\">none</span>"));
	ck_assert_ptr_nonnull(strstr(b.data,
				     "<td>/post-detail/</td><td title=\"in no incident: not "
				     "ranked by the classifier\">none</td>"));
	ck_assert_ptr_null(strstr(b.data, "data-severity="));
	pd_buf_cleanup(&b);
	pd_statuspage_view_cleanup(&v);
}
END_TEST

static Suite *
statuspage_suite(void)
{
	Suite *s = suite_create("statuspage");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, endpoint_from_url);
	tcase_add_test(tc, html_escape);
	tcase_add_test(tc, derive_states);
	tcase_add_test(tc, draft_investigating);
	tcase_add_test(tc, severity_is_the_incidents);
	tcase_add_test(tc, html_hostile_strings);
	tcase_add_test(tc, json_document);
	tcase_add_test(tc, json_history_numbers);
	tcase_add_test(tc, secrets_masked);
	tcase_add_test(tc, output_limit);
	tcase_add_test(tc, html_large_fleet_is_compact);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(statuspage_suite());
}
