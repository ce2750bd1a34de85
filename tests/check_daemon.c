/* check_daemon.c — the daemon's wiring, in process: a config loaded from a string, a real
 * SQLite file, probes against testlib's loopback receiver and a webhook target on another.
 * The decisions (eval, classify, incidents, outbox) have their own suites; these tests
 * check that the daemon connects them: a result reaches the view and the store, two
 * failures reach the pager once and the recovery resolves it, a reload keeps an unchanged
 * probe's state, and a drain ends the loop. Timeouts are generous real time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "probed/config.h"
#include "probed/daemon.h"
#include "probed/outcome.h"
#include "probed/store.h"
#include "testlib.h"

static struct pd_test_http api, hook;
static char dir[128];
static struct ev_loop *loop;
static ev_timer tick;

static const struct pd_test_reply ok_reply[] = {{200, 0, "{\"id\":\"6881290705605477381\"}", 0}};
static const struct pd_test_reply fail_reply[] = {{500, 0, "{\"error\":\"boom\"}", 0}};
static const struct pd_test_reply hook_ok[] = {{200, 0, NULL, 0}};

static void
on_tick(EV_P_ ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

static void
setup(void)
{
	pd_test_tmpdir(dir, sizeof(dir), "daemon");
	pd_test_http_start(&api, 0, ok_reply, 1);
	pd_test_http_start(&hook, 0, hook_ok, 1);
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	/* each EVRUN_ONCE returns within 20 ms, so a predicate is checked often */
	ev_timer_init(&tick, on_tick, 0.02, 0.02);
	ev_timer_start(loop, &tick);
}

static void
teardown(void)
{
	ev_timer_stop(loop, &tick);
	ev_loop_destroy(loop);
	pd_test_http_stop(&api);
	pd_test_http_stop(&hook);
	pd_test_rm_tree(dir);
}

/* The config: probe "api" (and "extra" when extra) every 100 ms against the receiver. */
static struct pd_config *
config(int extra)
{
	char yaml[2048];
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	int n;

	n = snprintf(yaml, sizeof(yaml),
		     "defaults:\n"
		     "  interval: 100ms\n"
		     "  timeout: 2s\n"
		     "  failures_before_page: 2\n"
		     "  confirm_after: 100ms\n"
		     "  successes_before_resolve: 1\n"
		     "store:\n"
		     "  path: %s/probed.db\n"
		     "classify:\n"
		     "  correlation_window: 10s\n"
		     "probes:\n"
		     "  - name: api\n"
		     "    family: userid\n"
		     "    url: http://127.0.0.1:%d/userid/\n"
		     "    expect:\n"
		     "      status: [200]\n"
		     "      json: {type: object, required: [id],"
		     " properties: {id: {type: string, minLength: 1}}}\n"
		     "%s"
		     "notify:\n"
		     "  - name: hook\n"
		     "    type: webhook\n"
		     "    url: http://127.0.0.1:%d/hook\n"
		     "    timeout: 2s\n",
		     dir, api.port,
		     extra ? "  - name: extra\n    family: other\n    tier: secondary\n"
			     "    url: http://127.0.0.1:1/never\n    interval: 1h\n"
			   : "",
		     hook.port);
	ck_assert_int_lt(n, (int)sizeof(yaml));
	ck_assert_msg(pd_config_load_string(yaml, (size_t)n, "test.yaml", &cfg, &err, NULL, NULL) ==
			      0,
		      "config: %s", err.msg);
	return cfg;
}

static struct pd_daemon *
daemon_start(void)
{
	struct pd_daemon_opts opts = {0};
	struct pd_err err = {0};
	struct pd_daemon *d;

	opts.drain_timeout_s = 5;
	d = pd_daemon_new(loop, config(0), &opts, &err);
	ck_assert_msg(d != NULL, "pd_daemon_new: %s", err.msg);
	return d;
}

/* what the view says about probe "api" */
struct api_view {
	int seen, has_result;
	enum pd_eval_status status;
	int64_t since_ms;
	int outcome;
};

static void
api_view_fn(void *ud, const struct pd_probe_view *v)
{
	struct api_view *a = ud;

	if (strcmp(v->name, "api") != 0)
		return;
	a->seen = 1;
	a->has_result = v->has_result;
	a->status = v->state->status;
	a->since_ms = v->state->since_ms;
	a->outcome = v->has_result ? (int)v->last->outcome : -1;
}

static struct api_view
view(struct pd_daemon *d)
{
	struct api_view a = {0};

	pd_daemon_probes(d, api_view_fn, &a);
	return a;
}

typedef int (*pred_fn)(struct pd_daemon *d, const void *arg);

/* Run the loop until pred holds or timeout_s (real time) passes. */
static int
run_until(struct pd_daemon *d, pred_fn pred, const void *arg, double timeout_s)
{
	ev_tstamp end = ev_time() + timeout_s;

	while (!pred(d, arg)) {
		if (ev_time() > end)
			return 0;
		ev_run(loop, EVRUN_ONCE);
	}
	return 1;
}

static void
run_for(double s)
{
	ev_tstamp end = ev_time() + s;

	while (ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
}

static int
results_at_least(struct pd_daemon *d, const void *arg)
{
	struct pd_daemon_stats st;

	pd_daemon_stats(d, &st);
	return st.results >= (uint64_t) * (const int *)arg && view(d).has_result;
}

static int
status_is(struct pd_daemon *d, const void *arg)
{
	return view(d).status == *(const enum pd_eval_status *)arg;
}

static int
hook_count_at_least(struct pd_daemon *d, const void *arg)
{
	(void)d;
	return pd_test_http_count(&hook) >= *(const int *)arg;
}

/* How many webhook posts carry this event ("trigger" / "resolve") for probe api. */
static int
hook_events(const char *event)
{
	int n = 0;

	for (int i = 0; i < pd_test_http_count(&hook); i++) {
		cJSON *j = pd_test_http_json(&hook, i);
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "event");

		if (cJSON_IsString(e) && strcmp(e->valuestring, event) == 0 &&
		    strstr(pd_test_http_request(&hook, i)->body, "\"api\"") != NULL)
			n++;
		cJSON_Delete(j);
	}
	return n;
}

/* A result goes from the runner through the check and the evaluator to the view, and
 * the ev_prepare commit puts it into the database. */
START_TEST(test_results_reach_view_and_store)
{
	struct pd_daemon *d = daemon_start();
	struct pd_probe_status *rows = NULL;
	enum pd_eval_status up = PD_EVAL_UP;
	struct pd_err err = {0};
	struct pd_store *st;
	size_t n = 0, found = 0;
	int want = 3;
	char db[192];

	ck_assert_int_eq(run_until(d, results_at_least, &want, 20), 1);
	ck_assert_int_eq(run_until(d, status_is, &up, 10), 1);
	ck_assert_int_eq(view(d).outcome, PD_OUT_OK);
	ck_assert_int_ge(pd_test_http_count(&api), 3);
	ck_assert_ptr_nonnull(strstr(pd_test_http_request(&api, 0)->line, "GET /userid/"));
	pd_daemon_free(d);

	/* a second connection reads what the daemon committed */
	snprintf(db, sizeof(db), "%s/probed.db", dir);
	st = pd_test_store_at(db, 1);
	ck_assert_msg(pd_store_status(st, &rows, &n, &err) == 0, "status: %s", err.msg);
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].probe, "api") == 0) {
			found = 1;
			ck_assert_int_eq(rows[i].has_result, 1);
			ck_assert_int_eq(rows[i].last.outcome, PD_OUT_OK);
		}
	ck_assert_uint_eq(found, 1);
	free(rows);
	pd_store_free(st);
	ck_assert_int_eq(pd_test_http_count(&hook), 0); /* nothing failed: nothing sent */
}
END_TEST

/* Two failures page once (one trigger to the webhook, however long it stays down); the
 * recovery sends one resolve. */
START_TEST(test_failures_page_once_and_resolve)
{
	struct pd_daemon *d;
	enum pd_eval_status up = PD_EVAL_UP;
	int one = 1, two = 2;

	pd_test_http_script(&api, fail_reply, 1);
	d = daemon_start();
	ck_assert_int_eq(run_until(d, hook_count_at_least, &one, 30), 1);
	ck_assert_int_eq(view(d).status, PD_EVAL_DOWN);
	run_for(1.5); /* some 15 more failed probes and a classify pass or two */
	ck_assert_int_eq(hook_events("trigger"), 1);
	ck_assert_int_eq(hook_events("resolve"), 0);

	pd_test_http_script(&api, ok_reply, 1);
	ck_assert_int_eq(run_until(d, status_is, &up, 20), 1);
	ck_assert_int_eq(run_until(d, hook_count_at_least, &two, 30), 1);
	run_for(0.5);
	ck_assert_int_eq(hook_events("trigger"), 1);
	ck_assert_int_eq(hook_events("resolve"), 1);
	pd_daemon_free(d);
}
END_TEST

/* A reload that adds a probe keeps the unchanged probe's state (its since_ms stays). */
START_TEST(test_apply_keeps_unchanged_probe_state)
{
	struct pd_daemon *d = daemon_start();
	enum pd_eval_status up = PD_EVAL_UP;
	struct pd_err err = {0};
	struct api_view before, after;
	int want = 2;

	/* a probe starts UP; wait for real results */
	ck_assert_int_eq(run_until(d, results_at_least, &want, 20), 1);
	ck_assert_int_eq(run_until(d, status_is, &up, 20), 1);
	before = view(d);
	ck_assert_int_eq(before.has_result, 1);
	ck_assert_int_eq(pd_daemon_apply(d, config(1), &err), 0);
	after = view(d);
	ck_assert_int_eq(after.seen, 1);
	ck_assert_int_eq(after.has_result, 1);
	ck_assert_int_eq(after.status, PD_EVAL_UP);
	ck_assert(after.since_ms == before.since_ms);
	ck_assert_uint_eq(pd_daemon_probes(d, NULL, NULL), 2);
	pd_daemon_free(d);
}
END_TEST

static struct pd_daemon_stats
stats(struct pd_daemon *d)
{
	struct pd_daemon_stats st;

	pd_daemon_stats(d, &st);
	return st;
}

static int
loud_is(struct pd_daemon *d, const void *arg)
{
	return stats(d).loud_probes == *(const size_t *)arg;
}

/* The classify pass over every probe runs only while a probe may alert: a healthy daemon
 * skips it (its cost does not grow with idle probes), a failure brings it back, and the
 * recovery makes the probe quiet again. */
START_TEST(test_quiet_probes_skip_the_classify_pass)
{
	struct pd_daemon *d = daemon_start();
	enum pd_eval_status up = PD_EVAL_UP;
	size_t zero = 0, one = 1;
	uint64_t p0;
	int want = 3, trig = 1, two = 2;

	ck_assert_int_eq(run_until(d, results_at_least, &want, 20), 1);
	ck_assert_int_eq(run_until(d, loud_is, &zero, 20), 1);
	run_for(1.5);
	p0 = stats(d).classify_passes;
	ck_assert_uint_ge(p0, 1); /* the config's first look */
	run_for(3.2);             /* three classify ticks, ~30 results */
	ck_assert_uint_eq(stats(d).classify_passes, p0);
	ck_assert_uint_eq(stats(d).loud_probes, 0);

	pd_test_http_script(&api, fail_reply, 1);
	ck_assert_int_eq(run_until(d, loud_is, &one, 20), 1);
	ck_assert_int_eq(run_until(d, hook_count_at_least, &trig, 30), 1);
	ck_assert_uint_gt(stats(d).classify_passes, p0);
	ck_assert_int_eq(hook_events("trigger"), 1);

	pd_test_http_script(&api, ok_reply, 1);
	ck_assert_int_eq(run_until(d, status_is, &up, 20), 1);
	ck_assert_int_eq(run_until(d, loud_is, &zero, 30), 1);
	ck_assert_int_eq(run_until(d, hook_count_at_least, &two, 30), 1);
	ck_assert_int_eq(hook_events("resolve"), 1);
	run_for(1.5);
	p0 = stats(d).classify_passes;
	run_for(2.2);
	ck_assert_uint_eq(stats(d).classify_passes, p0);
	pd_daemon_free(d);
}
END_TEST

static void
on_watchdog(EV_P_ ev_timer *w, int revents)
{
	(void)revents;
	*(int *)w->data = 1;
	ev_break(EV_A, EVBREAK_ALL);
}

/* pd_daemon_shutdown drains and ends the loop on its own (ev_run returns before the
 * watchdog fires). */
START_TEST(test_shutdown_ends_the_loop)
{
	struct pd_daemon *d = daemon_start();
	int want = 2, timed_out = 0;
	ev_timer watchdog;

	ck_assert_int_eq(run_until(d, results_at_least, &want, 20), 1);
	ev_timer_init(&watchdog, on_watchdog, 20., 0.);
	watchdog.data = &timed_out;
	ev_timer_start(loop, &watchdog);
	pd_daemon_shutdown(d);
	ev_run(loop, 0);
	ev_timer_stop(loop, &watchdog);
	ck_assert_int_eq(timed_out, 0);
	pd_daemon_free(d);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("wiring");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_results_reach_view_and_store);
	tcase_add_test(tc, test_failures_page_once_and_resolve);
	tcase_add_test(tc, test_apply_keeps_unchanged_probe_state);
	tcase_add_test(tc, test_shutdown_ends_the_loop);
	tcase_add_test(tc, test_quiet_probes_skip_the_classify_pass);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(suite());
}
