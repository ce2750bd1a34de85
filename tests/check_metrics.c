/* check_metrics.c — the Prometheus exposition and the store series behind the status page.
 *
 * - label escaping;
 * - pd_store_series on a real SQLite file: buckets, bounds, nearest-rank p95, totals;
 * - pd_metrics_render over a REAL daemon (config from a string, probes against a closed
 *   loopback port so every run fails fast, run on its own libev loop until the probes
 *   are paged): every line is checked against the text format 0.0.4 grammar, families
 *   are contiguous with HELP/TYPE first, the histogram is cumulative, values are right;
 * - the severity labels are the incident manager's, nothing else: one core family down
 *   while another answers (a forked loopback server) is P2 in probed_open_pages and
 *   probed_open_incidents (the old tier rule said P1); a control target's own page is in
 *   no incident and counts under severity="none".
 */
#include <check.h>
#include "testlib.h"
#include <dirent.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ev.h>
#include "probed/clock.h"
#include "probed/config.h"
#include "probed/daemon.h"
#include "probed/log.h"
#include "probed/metrics.h"
#include "probed/outcome.h"
#include "probed/store.h"

static struct pd_test_store sto; /* the scratch directory and sto.path; nothing open */

static void
setup(void)
{
	pd_test_store_dir(&sto, "metrics");
}

static void
teardown(void)
{
	pd_test_store_close(&sto);
}

START_TEST(label_escaping)
{
	struct pd_buf b;

	pd_buf_init(&b, 0);
	ck_assert_int_eq(pd_metrics_label_value(&b, "a\\b\"c\nd"), 0);
	ck_assert_str_eq(b.data, "a\\\\b\\\"c\\nd");
	pd_buf_reset(&b);
	ck_assert_int_eq(pd_metrics_label_value(&b, "plain-value_1.2"), 0);
	ck_assert_str_eq(b.data, "plain-value_1.2");
	pd_buf_reset(&b);
	ck_assert_int_eq(pd_metrics_label_value(&b, ""), 0);
	ck_assert_uint_eq(b.len, 0);
	pd_buf_cleanup(&b);
}
END_TEST

static void
add(struct pd_store *st, const char *probe, int64_t ts, int ok, double total_ms)
{
	struct pd_result r;
	struct pd_err err = {0};

	memset(&r, 0, sizeof(r));
	r.ts_ms = ts;
	r.outcome = ok ? PD_OUT_OK : PD_OUT_HTTP_5XX;
	r.http_status = ok ? 200 : 502;
	r.dns_ms = r.connect_ms = r.tls_ms = r.ttfb_ms = -1;
	r.total_ms = total_ms;
	snprintf(r.verdict, sizeof(r.verdict), "%s", ok ? "ok" : "status 502");
	ck_assert_msg(pd_store_add_result(st, probe, &r, &err) == 0, "%s", err.msg);
}

START_TEST(store_series)
{
	struct pd_store *st = NULL, *ro = NULL;
	struct pd_err err = {0};
	struct pd_series_bucket b[4];
	struct pd_history_stats tot;
	const int64_t s = 1780031100000LL;

	st = pd_test_store_at(sto.path, 0);
	add(st, "p", s - 1, 1, 999); /* before the range */
	add(st, "p", s, 1, 20);      /* bucket 0 */
	add(st, "p", s + 10, 0, 30);
	add(st, "p", s + 999, 1, 10);
	add(st, "p", s + 2000, 0, -1); /* bucket 2: no response */
	add(st, "p", s + 2500, 1, 5);
	add(st, "p", s + 4000, 1, 777);  /* at the end bound: excluded */
	add(st, "other", s + 100, 0, 1); /* another probe */
	ck_assert_int_eq(pd_store_flush(st, &err), 0);

	ck_assert_msg(pd_store_series(st, "p", s, 1000, b, 4, &tot, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(b[0].start_ms, s);
	ck_assert_int_eq(b[3].start_ms, s + 3000);
	ck_assert_int_eq(b[0].count, 3);
	ck_assert_int_eq(b[0].failures, 1);
	ck_assert_double_eq(b[0].p95_ms, 30);
	ck_assert_double_eq(b[0].max_ms, 30);
	ck_assert_int_eq(b[1].count, 0);
	ck_assert_double_eq(b[1].p95_ms, -1);
	ck_assert_int_eq(b[2].count, 2);
	ck_assert_int_eq(b[2].failures, 1);
	ck_assert_double_eq(b[2].p95_ms, 5);
	ck_assert_int_eq(b[3].count, 0);
	ck_assert_int_eq(tot.count, 5);
	ck_assert_int_eq(tot.failures, 2);
	ck_assert_double_eq_tol(tot.error_rate, 0.4, 1e-12);
	ck_assert_double_eq(tot.p50_ms, 10); /* of 5, 10, 20, 30 */
	ck_assert_double_eq(tot.p95_ms, 30);
	ck_assert_double_eq(tot.max_ms, 30);

	/* NULL totals; an unknown probe; bad arguments */
	ck_assert_int_eq(pd_store_series(st, "p", s, 1000, b, 4, NULL, &err), 0);
	b[0].count = 42;
	ck_assert_int_eq(pd_store_series(st, "nope", s, 1000, b, 4, &tot, &err), PD_ERR_NOTFOUND);
	ck_assert_int_eq(b[0].count, 0); /* initialised anyway */
	ck_assert_int_eq(tot.count, 0);
	ck_assert_int_eq(pd_store_series(st, "p", s, 0, b, 4, NULL, &err), PD_ERR_INVALID);

	/* uncommitted rows of the open batch are visible to the writer's own queries */
	add(st, "p", s + 3500, 1, 3);
	ck_assert_int_eq(pd_store_series(st, "p", s, 1000, b, 4, NULL, &err), 0);
	ck_assert_int_eq(b[3].count, 1);
	ck_assert_int_eq(pd_store_flush(st, &err), 0);

	/* a read-only handle (probectl) gets the same */
	ro = pd_test_store_at(sto.path, 1);
	ck_assert_int_eq(pd_store_series(ro, "p", s, 1000, b, 4, &tot, &err), 0);
	ck_assert_int_eq(tot.count, 6);
	ck_assert_double_eq(b[3].p95_ms, 3);
	pd_store_free(ro);
	pd_store_free(st);
}
END_TEST

START_TEST(store_series_day)
{
	struct pd_store *st = NULL;
	struct pd_err err = {0};
	struct pd_series_bucket b[96];
	struct pd_history_stats tot, hist;
	const int64_t s = 1780031100000LL - 24 * 3600 * 1000LL;
	struct timespec t0, t1;
	int64_t sum = 0;
	double ms;

	st = pd_test_store_at(sto.path, 0);
	/* one probe at 10 s for 24 h: 8640 rows; one failure per hour */
	for (int i = 0; i < 8640; i++)
		add(st, "day", s + (int64_t)i * 10000, i % 360 != 7, 10 + (i % 100));
	ck_assert_int_eq(pd_store_flush(st, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(pd_store_series(st, "day", s, 15 * 60 * 1000, b, 96, &tot, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	for (int i = 0; i < 96; i++) {
		ck_assert_int_eq(b[i].count, 90);
		sum += b[i].count;
	}
	ck_assert_int_eq(sum, 8640);
	ck_assert_int_eq(tot.failures, 24);
	/* the totals are exactly what pd_store_history computes over the same rows */
	ck_assert_int_eq(pd_store_history(st, "day", s, NULL, NULL, &hist, &err), 0);
	ck_assert_int_eq(hist.count, tot.count);
	ck_assert_double_eq(hist.p95_ms, tot.p95_ms);
	ck_assert_double_eq(hist.p99_ms, tot.p99_ms);
	fprintf(stderr, "store_series_day: 8640 rows -> 96 buckets in %.2f ms\n", ms);
	pd_store_free(st);
}
END_TEST

/* ---- a real daemon ---------------------------------------------------------------------- */

struct waitctx {
	struct pd_daemon *d;
	int paged;
	int ticks;
};

static void
count_paged(void *ud, const struct pd_probe_view *v)
{
	struct waitctx *w = ud;

	if (v->has_result && v->state->status == PD_EVAL_DOWN)
		w->paged++;
}

static void
on_tick(EV_P_ ev_timer *t, int revents)
{
	struct waitctx *w = t->data;

	(void)revents;
	w->paged = 0;
	pd_daemon_probes(w->d, count_paged, w);
	if (w->paged == 2 || ++w->ticks > 200)
		ev_break(EV_A, EVBREAK_ALL);
}

/* Each family contiguous, HELP then TYPE before its samples; every sample line valid. */
static void
check_grammar(const char *text)
{
	regex_t sample, help, type;
	char *copy = strdup(text), *save = NULL, *line;
	char seen[64][64], cur[64] = "";
	size_t nseen = 0;
	int lines = 0;

	ck_assert_ptr_nonnull(copy);
	ck_assert_int_eq(regcomp(&sample,
				 "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
				 "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\[\\\\\"n])*\""
				 "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\[\\\\\"n])*\")*\\})? "
				 "(-?[0-9.]+(e[-+][0-9]+)?|[+-]Inf|NaN)$",
				 REG_EXTENDED),
			 0);
	ck_assert_int_eq(regcomp(&help, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]+$", REG_EXTENDED),
			 0);
	ck_assert_int_eq(regcomp(&type,
				 "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|histogram)$",
				 REG_EXTENDED),
			 0);
	ck_assert(text[strlen(text) - 1] == '\n');
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		regmatch_t m[2];
		char name[64];

		lines++;
		if (regexec(&help, line, 2, m, 0) == 0) {
			snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
				 line + m[1].rm_so);
			for (size_t i = 0; i < nseen; i++)
				ck_assert_msg(strcmp(seen[i], name) != 0, "family %s appears twice",
					      name);
			ck_assert_uint_lt(nseen, 64);
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
			snprintf(cur, sizeof(cur), "%s", name);
			continue;
		}
		if (regexec(&type, line, 2, m, 0) == 0) {
			snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
				 line + m[1].rm_so);
			ck_assert_str_eq(name, cur);
			continue;
		}
		ck_assert_msg(regexec(&sample, line, 2, m, 0) == 0, "bad line: %s", line);
		snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
			 line + m[1].rm_so);
		/* a sample belongs to the current family (histograms: _bucket/_sum/_count) */
		ck_assert_msg(strncmp(name, cur, strlen(cur)) == 0 &&
				      (name[strlen(cur)] == '\0' ||
				       strcmp(name + strlen(cur), "_bucket") == 0 ||
				       strcmp(name + strlen(cur), "_sum") == 0 ||
				       strcmp(name + strlen(cur), "_count") == 0),
			      "sample %s outside its family (current %s)", name, cur);
	}
	ck_assert_int_gt(lines, 50);
	regfree(&sample);
	regfree(&help);
	regfree(&type);
	free(copy);
}

static double
value_of(const char *text, const char *series)
{
	const char *p = strstr(text, series);

	ck_assert_msg(p != NULL, "no series %s", series);
	ck_assert_msg(p == text || p[-1] == '\n', "%s is not at a line start", series);
	return strtod(p + strlen(series), NULL);
}

START_TEST(render_real_daemon)
{
	char yaml[2048];
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	struct pd_daemon_opts opts = {0};
	struct pd_daemon *d;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct waitctx w = {0};
	ev_timer tick;
	struct pd_buf b;
	double le_prev = 0;
	const char *p;

	snprintf(yaml, sizeof(yaml),
		 "location: 'eu \"west\" \\ 1'\n"
		 "store:\n  path: %s\n"
		 "defaults:\n  interval: 1s\n  timeout: 1s\n  confirm_after: 100ms\n"
		 "probes:\n"
		 "  - name: alpha\n    url: http://127.0.0.1:1/alpha/\n"
		 "  - name: beta\n    family: fam-b\n    tier: secondary\n"
		 "    url: http://127.0.0.1:1/beta/\n",
		 sto.path);
	ck_assert_msg(pd_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &err, NULL, NULL) ==
			      0,
		      "%s", err.msg);
	d = pd_daemon_new(loop, cfg, &opts, &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	w.d = d;
	ev_timer_init(&tick, on_tick, 0.05, 0.05);
	tick.data = &w;
	ev_timer_start(loop, &tick);
	ev_run(loop, 0);
	ev_timer_stop(loop, &tick);
	ck_assert_msg(w.paged == 2, "probes not paged in time (%d)", w.paged);

	pd_buf_init(&b, 0);
	ck_assert_msg(pd_metrics_render(d, pd_clock_wall_ms(NULL), &b, &err) == 0, "%s", err.msg);
	check_grammar(b.data);
	/* values of a connection refused, with the hostile location escaped */
#define L ",location=\"eu \\\"west\\\" \\\\ 1\""
	ck_assert_double_eq(
		value_of(b.data, "probe_success{probe=\"alpha\",family=\"alpha\"" L "} "), 0);
	ck_assert_double_eq(
		value_of(b.data, "probe_success{probe=\"beta\",family=\"fam-b\"" L "} "), 0);
	ck_assert_double_eq(
		value_of(b.data, "probe_http_status_code{probe=\"alpha\",family=\"alpha\"" L "} "),
		0);
	ck_assert_double_eq(value_of(b.data, "probed_probe_state{probe=\"alpha\",family=\"alpha\"" L
					     ",state=\"down\"} "),
			    1);
	ck_assert_double_eq(value_of(b.data, "probed_probe_state{probe=\"alpha\",family=\"alpha\"" L
					     ",state=\"up\"} "),
			    0);
	ck_assert(value_of(b.data, "probed_consecutive_failures{probe=\"beta\",family=\"fam-b\"" L
				   "} ") >= 2);
	/* both fail within the correlation window: one incident; every core probe (alpha)
	 * fails: P1. Both pages count under it, the secondary probe's too: a page has the
	 * severity of its incident, not one of its own (tier, config) */
	ck_assert_double_eq(value_of(b.data, "probed_open_incidents{severity=\"P1\"" L "} "), 1);
	ck_assert_double_eq(value_of(b.data, "probed_open_incidents{severity=\"P2\"" L "} "), 0);
	ck_assert_double_eq(value_of(b.data, "probed_open_pages{severity=\"P1\"" L "} "), 2);
	ck_assert_double_eq(value_of(b.data, "probed_open_pages{severity=\"P2\"" L "} "), 0);
	ck_assert_double_eq(value_of(b.data, "probed_open_pages{severity=\"P3\"" L "} "), 0);
	ck_assert_double_eq(value_of(b.data, "probed_open_pages{severity=\"none\"" L "} "), 0);
	ck_assert_ptr_null(strstr(b.data, "probed_open_incidents{severity=\"none\""));
	ck_assert(value_of(b.data, "probed_results_total{location=\"eu \\\"west\\\" \\\\ 1\"} ") >=
		  4);
	ck_assert_double_eq(
		value_of(b.data, "probed_results_total{location=\"eu \\\"west\\\" \\\\ 1\"} "),
		value_of(b.data,
			 "probed_result_failures_total{location=\"eu \\\"west\\\" \\\\ 1\"} "));
	ck_assert_double_eq(value_of(b.data, "probed_up{location=\"eu \\\"west\\\" \\\\ 1\"} "), 1);
	ck_assert_double_eq(value_of(b.data, "probed_probes{location=\"eu \\\"west\\\" \\\\ 1\"} "),
			    2);
	ck_assert_ptr_nonnull(strstr(b.data,
				     "\nprobed_build_info{location=\"eu \\\"west\\\" \\\\ 1\","
				     "version=\"" PROBED_VERSION "\"} 1\n"));
	/* the histogram is cumulative and ends with +Inf == _count */
	p = b.data;
	while ((p = strstr(p, "\nprobed_start_lateness_seconds_bucket{")) != NULL) {
		double v;

		p = strchr(p, '}');
		v = strtod(p + 2, NULL);
		ck_assert(v >= le_prev);
		le_prev = v;
	}
	ck_assert_double_eq(le_prev,
			    value_of(b.data, "probed_start_lateness_seconds_count{location="
					     "\"eu \\\"west\\\" \\\\ 1\"} "));
	ck_assert_ptr_nonnull(strstr(b.data, "le=\"+Inf\"}"));
	for (const char *ph = "resolve\0connect\0tls\0processing\0transfer\0"; *ph;
	     ph += strlen(ph) + 1) {
		char s[256];

		snprintf(s, sizeof(s),
			 "probe_http_duration_seconds{probe=\"alpha\",family=\"alpha\"" L
			 ",phase=\"%s\"} ",
			 ph);
		ck_assert(value_of(b.data, s) >= 0);
	}
#undef L

	/* an output limit fails cleanly and leaves the buffer as it was */
	{
		struct pd_buf small;

		pd_buf_init(&small, 1000);
		ck_assert_int_eq(pd_buf_printf(&small, "x"), 0);
		ck_assert_int_eq(pd_metrics_render(d, pd_clock_wall_ms(NULL), &small, &err),
				 PD_ERR_INVALID);
		ck_assert_str_eq(small.data, "x");
		pd_buf_cleanup(&small);
	}
	pd_buf_cleanup(&b);
	pd_daemon_free(d);
	ev_loop_destroy(loop);
}
END_TEST

/* ---- severity labels: the incident manager's only ------------------------------------- */

/* The live probe's endpoint: testlib's receiver answering every request 200. */
static const struct pd_test_reply ok_reply = {.status = 200, .body = "{\"id\":\"42\"}"};

struct sevwait {
	struct pd_daemon *d;
	const char *down; /* this probe DOWN ... */
	const char *up;   /* ... while this one has an OK result */
	int down_ok, up_ok, settled, ticks;
};

static void
sev_probe(void *ud, const struct pd_probe_view *v)
{
	struct sevwait *w = ud;

	if (strcmp(v->name, w->down) == 0 && v->has_result && v->state->status == PD_EVAL_DOWN)
		w->down_ok = 1;
	if (strcmp(v->name, w->up) == 0 && v->has_result && pd_result_ok(v->last))
		w->up_ok = 1;
}

static void
sev_tick(EV_P_ ev_timer *t, int revents)
{
	struct sevwait *w = t->data;

	(void)revents;
	w->down_ok = w->up_ok = 0;
	pd_daemon_probes(w->d, sev_probe, w);
	/* a few ticks after both hold: the incident pass (ev_prepare) has run since the page */
	w->settled = w->down_ok && w->up_ok ? w->settled + 1 : 0;
	if (w->settled >= 3 || ++w->ticks > 400)
		ev_break(EV_A, EVBREAK_ALL);
}

/* Run a daemon over yaml until probe down is DOWN and probe up answers; render /metrics. */
static void
sev_render(const char *yaml, const char *down, const char *up, struct pd_buf *b)
{
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	struct pd_daemon_opts opts = {0};
	struct pd_daemon *d;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sevwait w = {.down = down, .up = up};
	ev_timer tick;

	ck_assert_msg(pd_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &err, NULL, NULL) ==
			      0,
		      "%s", err.msg);
	d = pd_daemon_new(loop, cfg, &opts, &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	w.d = d;
	ev_timer_init(&tick, sev_tick, 0.05, 0.05);
	tick.data = &w;
	ev_timer_start(loop, &tick);
	ev_run(loop, 0);
	ev_timer_stop(loop, &tick);
	ck_assert_msg(w.down_ok && w.up_ok, "%s not down or %s not up in time", down, up);
	pd_buf_init(b, 0);
	ck_assert_msg(pd_metrics_render(d, pd_clock_wall_ms(NULL), b, &err) == 0, "%s", err.msg);
	check_grammar(b->data);
	pd_daemon_free(d);
	ev_loop_destroy(loop);
}

START_TEST(severity_one_family_down)
{
	char yaml[2048];
	struct pd_buf b;
	struct pd_test_http srv;

	pd_test_http_start(&srv, 0, &ok_reply, 1);
	/* two core families: userid answers, post-detail is refused. The ladder says P2
	 * (one family down while others are up); the old tier rule said P1 for the page */
	snprintf(yaml, sizeof(yaml),
		 "store:\n  path: %s\n"
		 "defaults:\n  interval: 1s\n  timeout: 1s\n  confirm_after: 100ms\n"
		 "probes:\n"
		 "  - name: userid\n    url: http://127.0.0.1:%d/userid/\n"
		 "  - name: post-detail\n    url: http://127.0.0.1:1/post-detail/\n",
		 sto.path, srv.port);
	sev_render(yaml, "post-detail", "userid", &b);
	ck_assert_int_ge(pd_test_http_count(&srv), 1); /* userid's probes reached it */
	pd_test_http_stop(&srv);
	ck_assert_double_eq(value_of(b.data, "probed_open_incidents{severity=\"P2\"} "), 1);
	ck_assert_double_eq(value_of(b.data, "probed_open_incidents{severity=\"P1\"} "), 0);
	ck_assert_double_eq(value_of(b.data, "probed_open_pages{severity=\"P2\"} "), 1);
	ck_assert_double_eq(value_of(b.data, "probed_open_pages{severity=\"P1\"} "), 0);
	ck_assert_double_eq(value_of(b.data, "probed_open_pages{severity=\"none\"} "), 0);
	pd_buf_cleanup(&b);
}
END_TEST

START_TEST(severity_page_without_incident)
{
	char yaml[2048];
	struct pd_buf b;
	struct pd_test_http srv;

	pd_test_http_start(&srv, 0, &ok_reply, 1);
	/* the control target's own page is not an API incident: no incident, no severity;
	 * the page counts under "none", never under a severity of its own */
	snprintf(yaml, sizeof(yaml),
		 "store:\n  path: %s\n"
		 "defaults:\n  interval: 1s\n  timeout: 1s\n  confirm_after: 100ms\n"
		 "probes:\n"
		 "  - name: userid\n    url: http://127.0.0.1:%d/userid/\n"
		 "  - name: known-good\n    control: true\n    url: http://127.0.0.1:1/\n",
		 sto.path, srv.port);
	sev_render(yaml, "known-good", "userid", &b);
	ck_assert_int_ge(pd_test_http_count(&srv), 1); /* userid's probes reached it */
	pd_test_http_stop(&srv);
	for (int k = 1; k <= 4; k++) {
		char s[64];

		snprintf(s, sizeof(s), "probed_open_incidents{severity=\"P%d\"} ", k);
		ck_assert_double_eq(value_of(b.data, s), 0);
		snprintf(s, sizeof(s), "probed_open_pages{severity=\"P%d\"} ", k);
		ck_assert_double_eq(value_of(b.data, s), 0);
	}
	ck_assert_double_eq(value_of(b.data, "probed_open_pages{severity=\"none\"} "), 1);
	pd_buf_cleanup(&b);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, label_escaping);
	tcase_add_test(tc, store_series);
	tcase_add_test(tc, store_series_day);
	tcase_add_test(tc, render_real_daemon);
	tcase_add_test(tc, severity_one_family_down);
	tcase_add_test(tc, severity_page_without_incident);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(metrics_suite());
}
