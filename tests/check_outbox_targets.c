/* check_outbox_targets.c — the outbox's delivery machinery with real targets: the
 * per-target circuit breaker, multi-request Opsgenie rows (create, note, close, message
 * update), exec rows, and Alertmanager re-sends and escalation. Each test runs testlib's
 * outbox fixture (a real SQLite file, pd_runner on an ev loop, pd_outbox) on the fake
 * clock against testlib's loopback HTTP receiver or a real script, with the config and
 * the neutral event the notify suites share (pd_test_notify_cfg, pd_test_event). */
#include <check.h>
#include "testlib.h"
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ev.h>
#include <cjson/cJSON.h>
#include "probed/config.h"
#include "probed/log.h"
#include "probed/notify.h"
#include "probed/outbox.h"
#include "probed/store.h"

#define T0_MS PD_TEST_T0_MS /* the fake clock starts here, at pd_test_event's down_since */
#define WAIT_S 10.0
#define GENIE_KEY "G3N1E-CANARY-0123456789"

/* ================================================================ fixture */

struct fx {
	struct pd_test_outbox ox; /* store, loop, runner, outbox, fake clock */
	struct pd_config *cfg;
};

static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	pd_test_outbox_init(&f->ox, "notify", T0_MS);
}

static void
fx_config(struct fx *f, const char *notify_yaml)
{
	pd_config_free(f->cfg);
	f->cfg = pd_test_notify_cfg(notify_yaml);
	pd_outbox_set_config(f->ox.ob, f->cfg);
}

static void
fx_free(struct fx *f)
{
	pd_test_outbox_free(&f->ox);
	pd_config_free(f->cfg);
}

static int64_t
fx_add(struct fx *f, const char *target, const char *action, const char *severity)
{
	struct pd_err err = {0};
	cJSON *e = pd_test_event(action, severity);
	char *json = cJSON_PrintUnformatted(e);
	int64_t id = 0;

	ck_assert_msg(pd_store_outbox_add(f->ox.st, target, pd_test_jstr(e, "dedup_key"), action,
					  json, f->ox.clock.now_ms, &id, &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(pd_store_flush(f->ox.st, &err), 0);
	free(json);
	cJSON_Delete(e);
	return id;
}

struct want_req {
	struct pd_test_http *s;
	int n;
};

static int
pred_req(struct pd_test_outbox *o, const void *arg)
{
	const struct want_req *w = arg;

	return pd_test_http_count(w->s) >= w->n && pd_outbox_inflight(o->ob) == 0;
}

/* Run until s has n requests and nothing is in flight, then once more (the flush). */
static int
wait_req(struct fx *f, struct pd_test_http *s, int n)
{
	struct want_req w = {s, n};
	int ok = pd_test_outbox_run_until(&f->ox, pred_req, &w, WAIT_S);

	ev_run(f->ox.loop, EVRUN_NOWAIT);
	return ok;
}

static int
outbox_head(struct fx *f, const char *target, struct pd_outbox_row *out)
{
	struct pd_outbox_row rows[16];
	struct pd_err err = {0};
	size_t n = 0;
	int found = 0;

	/* "due" at the far future: every target's head */
	ck_assert_int_eq(pd_store_outbox_due(f->ox.st, INT64_MAX, rows, 16, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		if (!found && strcmp(rows[i].target, target) == 0) {
			*out = rows[i];
			out->payload = NULL;
			found = 1;
		}
		pd_store_outbox_row_cleanup(&rows[i]);
	}
	return found;
}

struct ev_count {
	const char *kind, *detail;
	int n;
};

static int
ev_count_cb(void *ud, int64_t ts_ms, const char *probe, const char *kind, const char *detail)
{
	struct ev_count *c = ud;

	(void)ts_ms;
	(void)probe;
	if (strcmp(kind, c->kind) == 0 && detail != NULL && strcmp(detail, c->detail) == 0)
		c->n++;
	return 0;
}

/* Events of kind for target (detail) recorded in the store. */
static int
events_of(struct fx *f, const char *kind, const char *target)
{
	struct ev_count c = {kind, target, 0};
	struct pd_err err = {0};

	ck_assert_int_eq(pd_store_events(f->ox.st, NULL, 0, ev_count_cb, &c, &err), 0);
	return c.n;
}

/* One dead pager: after PD_OUTBOX_BREAKER_FAILURES transient failures its breaker
 * opens, its rows wait (deferred in the store), another target is not delayed; after
 * the cool-down exactly one probe request goes (half-open); its failure re-opens with
 * twice the cool-down; a success closes it and the queue drains in order. */
START_TEST(test_breaker)
{
	struct fx f;
	struct pd_test_http dead, good;
	struct pd_outbox_row row;
	struct pd_outbox_breaker b;
	char n[1024];
	int64_t open_until;

	fx_init(&f);
	pd_test_http_start(&dead, 0, &(struct pd_test_reply){.status = 503}, 1);
	pd_test_http_start(&good, 0, &(struct pd_test_reply){.status = 200}, 1);
	snprintf(n, sizeof(n),
		 "  - name: pager\n    type: webhook\n    url: http://127.0.0.1:%d/p\n"
		 "    timeout: 2s\n"
		 "  - name: chat\n    type: webhook\n    url: http://127.0.0.1:%d/c\n"
		 "    timeout: 2s\n",
		 dead.port, good.port);
	fx_config(&f, n);
	fx_add(&f, "pager", "trigger", "P1");
	fx_add(&f, "pager", "resolve", "P1");
	for (int i = 1; i <= PD_OUTBOX_BREAKER_FAILURES; i++) {
		pd_outbox_breaker(f.ox.ob, "pager", &b);
		ck_assert_int_eq(b.state, PD_BREAKER_CLOSED);
		ck_assert(outbox_head(&f, "pager", &row));
		f.ox.clock.now_ms =
			row.next_at_ms > f.ox.clock.now_ms ? row.next_at_ms : f.ox.clock.now_ms;
		pd_outbox_kick(f.ox.ob);
		ck_assert(wait_req(&f, &dead, i));
		ck_assert_int_eq(pd_test_http_count(&dead), i);
	}
	pd_outbox_breaker(f.ox.ob, "pager", &b);
	ck_assert_int_eq(b.state, PD_BREAKER_OPEN);
	ck_assert_int_eq(b.failures, PD_OUTBOX_BREAKER_FAILURES);
	ck_assert_int_eq(b.cooldown_ms, PD_OUTBOX_BREAKER_COOLDOWN_MS);
	ck_assert_int_eq(b.open_until_ms, f.ox.clock.now_ms + PD_OUTBOX_BREAKER_COOLDOWN_MS);
	ck_assert_uint_eq(b.opened, 1);
	ck_assert_str_eq(pd_outbox_breaker_str(b.state), "open");
	open_until = b.open_until_ms;
	/* the head row waits in the store until the cool-down is over */
	ck_assert(outbox_head(&f, "pager", &row));
	ck_assert_int_eq(row.next_at_ms, open_until);
	ck_assert_int_eq(row.attempts, PD_OUTBOX_BREAKER_FAILURES);
	/* meanwhile the other target delivers at once */
	fx_add(&f, "chat", "trigger", "P1");
	pd_outbox_kick(f.ox.ob);
	ck_assert(wait_req(&f, &good, 1));
	/* nothing to the pager before the cool-down ends, even if kicked */
	f.ox.clock.now_ms = open_until - 1;
	pd_outbox_kick(f.ox.ob);
	pd_test_outbox_run_for(&f.ox, 0.3);
	ck_assert_int_eq(pd_test_http_count(&dead), PD_OUTBOX_BREAKER_FAILURES);
	/* half-open: one probe; it fails: open again, cool-down doubled */
	f.ox.clock.now_ms = open_until;
	pd_outbox_kick(f.ox.ob);
	pd_outbox_breaker(f.ox.ob, "pager", &b);
	ck_assert_int_eq(b.state, PD_BREAKER_HALF_OPEN);
	pd_outbox_kick(f.ox.ob); /* a second kick while the probe is in flight sends nothing */
	ck_assert(wait_req(&f, &dead, PD_OUTBOX_BREAKER_FAILURES + 1));
	pd_test_outbox_run_for(&f.ox, 0.2);
	ck_assert_int_eq(pd_test_http_count(&dead), PD_OUTBOX_BREAKER_FAILURES + 1);
	pd_outbox_breaker(f.ox.ob, "pager", &b);
	ck_assert_int_eq(b.state, PD_BREAKER_OPEN);
	ck_assert_int_eq(b.cooldown_ms, 2 * PD_OUTBOX_BREAKER_COOLDOWN_MS);
	ck_assert_uint_eq(b.opened, 2);
	ck_assert(outbox_head(&f, "pager", &row));
	ck_assert_int_eq(row.next_at_ms, f.ox.clock.now_ms + 2 * PD_OUTBOX_BREAKER_COOLDOWN_MS);
	/* the pager comes back: the probe succeeds, closes, the resolve follows in order */
	pd_test_http_script(&dead, &(struct pd_test_reply){.status = 202}, 1);
	f.ox.clock.now_ms = row.next_at_ms;
	pd_outbox_kick(f.ox.ob);
	ck_assert(wait_req(&f, &dead, PD_OUTBOX_BREAKER_FAILURES + 3));
	pd_outbox_breaker(f.ox.ob, "pager", &b);
	ck_assert_int_eq(b.state, PD_BREAKER_CLOSED);
	ck_assert_int_eq(b.failures, 0);
	ck_assert_ptr_nonnull(
		strstr(pd_test_http_request(&dead, PD_OUTBOX_BREAKER_FAILURES + 1)->body,
		       "\"event\":\"trigger\""));
	ck_assert_ptr_nonnull(
		strstr(pd_test_http_request(&dead, PD_OUTBOX_BREAKER_FAILURES + 2)->body,
		       "\"event\":\"resolve\""));
	ck_assert(!outbox_head(&f, "pager", &row));
	/* a target never seen reads closed */
	pd_outbox_breaker(f.ox.ob, "nobody", &b);
	ck_assert_int_eq(b.state, PD_BREAKER_CLOSED);
	ck_assert_int_eq(b.failures, 0);
	ck_assert_int_eq(events_of(&f, "breaker_open", "pager"), 2);
	ck_assert_int_eq(events_of(&f, "breaker_closed", "pager"), 1);
	ck_assert_int_eq(events_of(&f, "breaker_open", "chat"), 0);
	pd_test_http_stop(&dead);
	pd_test_http_stop(&good);
	fx_free(&f);
}
END_TEST

/* A permanent answer (4xx) means the target is reachable: it resets the count. */
START_TEST(test_breaker_reset_by_permanent)
{
	struct fx f;
	struct pd_test_http s;
	struct pd_outbox_row row;
	struct pd_outbox_breaker b;
	char n[512];

	fx_init(&f);
	pd_test_http_start(&s, 0, &(struct pd_test_reply){.status = 500}, 1);
	snprintf(n, sizeof(n),
		 "  - name: pager\n    type: webhook\n"
		 "    url: http://127.0.0.1:%d/p\n",
		 s.port);
	fx_config(&f, n);
	fx_add(&f, "pager", "trigger", "P1");
	for (int i = 1; i <= PD_OUTBOX_BREAKER_FAILURES - 1; i++) {
		ck_assert(outbox_head(&f, "pager", &row));
		f.ox.clock.now_ms =
			row.next_at_ms > f.ox.clock.now_ms ? row.next_at_ms : f.ox.clock.now_ms;
		pd_outbox_kick(f.ox.ob);
		ck_assert(wait_req(&f, &s, i));
	}
	pd_outbox_breaker(f.ox.ob, "pager", &b);
	ck_assert_int_eq(b.failures, PD_OUTBOX_BREAKER_FAILURES - 1);
	pd_test_http_script(&s, &(struct pd_test_reply){.status = 400}, 1);
	ck_assert(outbox_head(&f, "pager", &row));
	f.ox.clock.now_ms = row.next_at_ms;
	pd_outbox_kick(f.ox.ob);
	ck_assert(wait_req(&f, &s, PD_OUTBOX_BREAKER_FAILURES));
	pd_outbox_breaker(f.ox.ob, "pager", &b);
	ck_assert_int_eq(b.state, PD_BREAKER_CLOSED);
	ck_assert_int_eq(b.failures, 0);
	pd_test_http_stop(&s);
	fx_free(&f);
}
END_TEST

/* Is needle in the database file or its WAL? */
static int
db_has(struct fx *f, const char *needle)
{
	static const char *const sfx[] = {"", "-wal"};
	int found = 0;

	for (size_t i = 0; i < 2 && !found; i++) {
		char path[160], *data;
		size_t len;

		snprintf(path, sizeof(path), "%s%s", f->ox.db.path, sfx[i]);
		if ((data = pd_test_slurp(path, &len)) == NULL)
			continue;
		found = memmem(data, len, needle, strlen(needle)) != NULL;
		free(data);
	}
	return found;
}

/* Opsgenie through the outbox: the URL per action and the GenieKey header, which never
 * reaches the database. */
START_TEST(test_outbox_opsgenie_requests)
{
	struct fx f;
	struct pd_test_http s;
	char n[512];

	fx_init(&f);
	pd_test_http_start(&s, 0, &(struct pd_test_reply){.status = 202}, 1);
	ck_assert_int_eq(setenv("PD_TEST_GENIE", GENIE_KEY, 1), 0);
	snprintf(n, sizeof(n),
		 "  - name: og\n    type: opsgenie\n    url: http://127.0.0.1:%d\n"
		 "    api_key: ${PD_TEST_GENIE}\n",
		 s.port);
	fx_config(&f, n);
	fx_add(&f, "og", "trigger", "P2");
	fx_add(&f, "og", "resolve", "P2");
	/* queued: the event is in the database (the search works), the key is not */
	ck_assert(db_has(&f, "inc-1795000000000"));
	ck_assert(!db_has(&f, GENIE_KEY));
	pd_outbox_kick(f.ox.ob);
	ck_assert(wait_req(&f, &s, 2));
	ck_assert_str_eq(pd_test_http_request(&s, 0)->line, "POST /v2/alerts HTTP/1.1");
	ck_assert_str_eq(pd_test_http_request(&s, 1)->line, "POST /v2/alerts/" PD_TEST_OG_ALIAS
							    "/close?identifierType=alias HTTP/1.1");
	for (int i = 0; i < 2; i++) {
		ck_assert_ptr_nonnull(strcasestr(pd_test_http_request(&s, i)->head,
						 "\r\nAuthorization: GenieKey " GENIE_KEY "\r\n"));
		ck_assert_ptr_nonnull(strcasestr(pd_test_http_request(&s, i)->head,
						 "\r\nContent-Type: application/json\r\n"));
	}
	ck_assert_ptr_nonnull(strstr(pd_test_http_request(&s, 0)->body, "\"priority\":\"P2\""));
	ck_assert(!db_has(&f, GENIE_KEY));
	pd_test_http_stop(&s);
	fx_free(&f);
}
END_TEST

/* An escalation row for Opsgenie: three PUTs by alias in order, one row delivered, the
 * receiver's requestIds kept with the delivery. */
START_TEST(test_outbox_opsgenie_update)
{
	struct fx f;
	struct pd_test_http s;
	struct pd_outbox_row row;
	struct pd_outbox_counters c;
	struct pd_err err = {0};
	cJSON *e;
	char n[512], *json;

	fx_init(&f);
	pd_test_http_start(&s, 0,
			   &(struct pd_test_reply){
				   .status = 202,
				   .body = "{\"result\":\"Request will be processed\",\"took\":0.1,"
					   "\"requestId\":\"rq-0b5e\"}"},
			   1);
	snprintf(n, sizeof(n),
		 "  - name: og\n    type: opsgenie\n    url: http://127.0.0.1:%d\n"
		 "    api_key: k\n",
		 s.port);
	fx_config(&f, n);
	e = pd_test_event("trigger", "P1");
	cJSON_AddBoolToObject(e, "update", 1);
	json = cJSON_PrintUnformatted(e);
	ck_assert_msg(pd_store_outbox_add(f.ox.st, "og", pd_test_jstr(e, "dedup_key"), "trigger",
					  json, f.ox.clock.now_ms, NULL, &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(pd_store_flush(f.ox.st, &err), 0);
	free(json);
	cJSON_Delete(e);
	pd_outbox_kick(f.ox.ob);
	ck_assert(wait_req(&f, &s, 3));
	ck_assert_str_eq(pd_test_http_request(&s, 0)->line,
			 "PUT /v2/alerts/" PD_TEST_OG_ALIAS
			 "/priority?identifierType=alias HTTP/1.1");
	ck_assert_str_eq(pd_test_http_request(&s, 1)->line,
			 "PUT /v2/alerts/" PD_TEST_OG_ALIAS
			 "/message?identifierType=alias HTTP/1.1");
	ck_assert_str_eq(pd_test_http_request(&s, 2)->line,
			 "PUT /v2/alerts/" PD_TEST_OG_ALIAS
			 "/description?identifierType=alias HTTP/1.1");
	ck_assert_str_eq(pd_test_http_request(&s, 0)->body, "{\"priority\":\"P1\"}");
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(strcasestr(pd_test_http_request(&s, i)->head,
						 "\r\nAuthorization: GenieKey k\r\n"));
	for (int i = 0; i < 500; i++) {
		pd_outbox_counters(f.ox.ob, &c);
		if (c.sent == 1 && pd_outbox_inflight(f.ox.ob) == 0)
			break;
		ev_run(f.ox.loop, EVRUN_ONCE);
	}
	ev_run(f.ox.loop, EVRUN_NOWAIT);
	pd_outbox_counters(f.ox.ob, &c);
	ck_assert_int_eq(c.sent, 1);                 /* one row, delivered once */
	ck_assert_int_eq(pd_test_http_count(&s), 3); /* no create, no fourth request */
	ck_assert(!outbox_head(&f, "og", &row));
	ck_assert_int_eq(pd_store_flush(f.ox.st, &err), 0);
	ck_assert(db_has(&f, "og request id rq-0b5e, rq-0b5e, rq-0b5e"));
	pd_test_http_stop(&s);
	fx_free(&f);
}
END_TEST

/* An update whose second request fails: the row is retried as a whole (from the priority
 * again: the requests are idempotent), never half-delivered. */
START_TEST(test_outbox_opsgenie_update_retry)
{
#define RQ1 "{\"result\":\"Request will be processed\",\"requestId\":\"rq-1\"}"
	/* the second request (the message update) fails, everything else succeeds */
	static const struct pd_test_reply answers[] = {
		{.status = 202, .body = RQ1},
		{.status = 503},
		{.status = 202, .body = RQ1},
	};
#undef RQ1
	struct fx f;
	struct pd_test_http s;
	struct pd_outbox_row row;
	struct pd_outbox_counters c;
	struct pd_err err = {0};
	cJSON *e;
	char n[512], *json;

	fx_init(&f);
	pd_test_http_start(&s, 0, answers, 3);
	snprintf(n, sizeof(n),
		 "  - name: og\n    type: opsgenie\n    url: http://127.0.0.1:%d\n"
		 "    api_key: k\n",
		 s.port);
	fx_config(&f, n);
	e = pd_test_event("trigger", "P1");
	cJSON_AddBoolToObject(e, "update", 1);
	json = cJSON_PrintUnformatted(e);
	ck_assert_msg(pd_store_outbox_add(f.ox.st, "og", pd_test_jstr(e, "dedup_key"), "trigger",
					  json, f.ox.clock.now_ms, NULL, &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(pd_store_flush(f.ox.st, &err), 0);
	free(json);
	cJSON_Delete(e);
	pd_outbox_kick(f.ox.ob);
	ck_assert(wait_req(&f, &s, 2));
	for (int i = 0; i < 500; i++) {
		pd_outbox_counters(f.ox.ob, &c);
		if (c.retried == 1 && pd_outbox_inflight(f.ox.ob) == 0)
			break;
		ev_run(f.ox.loop, EVRUN_ONCE);
	}
	ev_run(f.ox.loop, EVRUN_NOWAIT);
	pd_outbox_counters(f.ox.ob, &c);
	ck_assert_int_eq(c.retried, 1);
	ck_assert_int_eq(c.sent, 0);
	ck_assert_int_eq(pd_test_http_count(&s), 2);
	ck_assert_ptr_nonnull(strstr(pd_test_http_request(&s, 1)->line, "/message?"));
	ck_assert(outbox_head(&f, "og", &row));
	ck_assert_int_eq(row.attempts, 1);
	ck_assert_str_eq(row.last_error, "HTTP 503");
	f.ox.clock.now_ms = row.next_at_ms;
	pd_outbox_kick(f.ox.ob);
	ck_assert(wait_req(&f, &s, 5));
	ck_assert_ptr_nonnull(strstr(pd_test_http_request(&s, 2)->line, "/priority?"));
	ck_assert_ptr_nonnull(strstr(pd_test_http_request(&s, 4)->line, "/description?"));
	pd_test_http_stop(&s);
	fx_free(&f);
}
END_TEST

/* exec rows: the event on stdin, exit 0 delivered, non-zero retried with backoff. */
START_TEST(test_outbox_exec_rows)
{
	struct fx f;
	struct pd_outbox_row row;
	struct pd_outbox_counters c;
	char n[1024], script[160], out[160], *got;
	cJSON *j;

	fx_init(&f);
	snprintf(script, sizeof(script), "%s/notify.sh", f.ox.db.dir);
	snprintf(out, sizeof(out), "%s/events", f.ox.db.dir);
	/* fails while the flag file exists */
	pd_test_write_file(
		script,
		"#!/bin/sh\n[ -e \"$1.fail\" ] && exit 75\n"
		"{ cat; echo; } >> \"$1\"\necho \"$PROBED_TARGET $PROBED_SEVERITY\" >> \"$1.env\"\n",
		0755);
	snprintf(n, sizeof(n),
		 "  - name: script\n    type: exec\n    command: [%s, %s]\n"
		 "    timeout: 5s\n",
		 script, out);
	fx_config(&f, n);
	{
		char flag[200];

		snprintf(flag, sizeof(flag), "%s.fail", out);
		pd_test_write_file(flag, "", 0644);
		fx_add(&f, "script", "trigger", "P3");
		pd_outbox_kick(f.ox.ob);
		for (int i = 0; i < 500; i++) {
			pd_outbox_counters(f.ox.ob, &c);
			if (c.retried == 1 && pd_outbox_inflight(f.ox.ob) == 0)
				break;
			ev_run(f.ox.loop, EVRUN_ONCE);
		}
		ev_run(f.ox.loop, EVRUN_NOWAIT);
		pd_outbox_counters(f.ox.ob, &c);
		ck_assert_int_eq(c.retried, 1);
		ck_assert(outbox_head(&f, "script", &row));
		ck_assert_int_eq(row.attempts, 1);
		ck_assert_str_eq(row.last_error, "exit 75");
		ck_assert_int_gt(row.next_at_ms, f.ox.clock.now_ms);
		unlink(flag);
	}
	f.ox.clock.now_ms = row.next_at_ms;
	pd_outbox_kick(f.ox.ob);
	for (int i = 0; i < 500; i++) {
		pd_outbox_counters(f.ox.ob, &c);
		if (c.sent == 1 && pd_outbox_inflight(f.ox.ob) == 0)
			break;
		ev_run(f.ox.loop, EVRUN_ONCE);
	}
	ev_run(f.ox.loop, EVRUN_NOWAIT);
	pd_outbox_counters(f.ox.ob, &c);
	ck_assert_int_eq(c.sent, 1);
	ck_assert(!outbox_head(&f, "script", &row));
	got = pd_test_slurp(out, NULL);
	ck_assert_ptr_nonnull(got);
	j = cJSON_Parse(got);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(pd_test_jstr(j, "event"), "trigger");
	ck_assert_str_eq(pd_test_jstr(j, "severity"), "P3");
	cJSON_Delete(j);
	free(got);
	snprintf(n, sizeof(n), "%s.env", out);
	got = pd_test_slurp(n, NULL);
	ck_assert_str_eq(got, "script P3\n");
	free(got);
	fx_free(&f);
}
END_TEST

static int
count_am(void *ud, const struct pd_am_alert *a)
{
	(void)a;
	(*(int *)ud)++;
	return 0;
}

static int
am_rows(struct fx *f)
{
	struct pd_err err = {0};
	int n = 0;

	ck_assert_int_eq(pd_store_am_list(f->ox.st, "am", NULL, count_am, &n, &err), 0);
	return n;
}

struct am_seen {
	int n;
	char sev[4][8];
	int64_t ends[4];
};

static int
collect_am(void *ud, const struct pd_am_alert *a)
{
	struct am_seen *w = ud;
	cJSON *l = cJSON_Parse(a->labels);

	ck_assert_ptr_nonnull(l);
	if (w->n < 4) {
		snprintf(w->sev[w->n], sizeof(w->sev[0]), "%s", pd_test_jstr(l, "severity"));
		w->ends[w->n++] = a->ends_ms;
	}
	cJSON_Delete(l);
	return 0;
}

static int
get_first_am(void *ud, const struct pd_am_alert *a)
{
	*(int64_t *)ud = a->ends_ms;
	return 1;
}

/* Alertmanager: the trigger row posts the alert and keeps it; the timer re-posts it
 * every resend_interval with endsAt pushed forward; the resolve row posts the stored
 * label set with endsAt = resolve time; resolved alerts are re-posted until
 * resend_resolved_for has passed, then forgotten. */
START_TEST(test_outbox_alertmanager_resend)
{
	struct fx f;
	struct pd_test_http s;
	struct pd_outbox_am_counters ac;
	struct pd_err err = {0};
	char n[512];
	cJSON *j, *al;
	int64_t ends = 0;
	int before;

	fx_init(&f);
	pd_test_http_start(&s, 0, &(struct pd_test_reply){.status = 200}, 1);
	snprintf(n, sizeof(n),
		 "  - name: am\n    type: alertmanager\n    url: http://127.0.0.1:%d\n"
		 "    resend_interval: 1s\n    resend_resolved_for: 3s\n",
		 s.port);
	fx_config(&f, n);
	pd_test_outbox_run_for(&f.ox,
			       0.4); /* the first round (nothing stored yet) starts the interval */
	ck_assert_int_eq(pd_test_http_count(&s), 0);
	fx_add(&f, "am", "trigger", "P2");
	pd_outbox_kick(f.ox.ob);
	ck_assert(wait_req(&f, &s, 1));
	ck_assert_str_eq(pd_test_http_request(&s, 0)->line, "POST /api/v2/alerts HTTP/1.1");
	j = pd_test_http_json(&s, 0);
	al = cJSON_GetArrayItem(j, 0);
	ck_assert_str_eq(pd_test_jstr(pd_test_jget(al, "labels"), "severity"), "P2");
	ck_assert_str_eq(pd_test_jstr(al, "endsAt"), "2026-11-18T11:06:44.000Z"); /* T0 + 4 x 1 s */
	cJSON_Delete(j);
	ck_assert_int_eq(am_rows(&f), 1);

	/* the re-send timer (real time) compares against the fake clock: nothing is due
	 * until a resend_interval has passed on it */
	f.ox.clock.now_ms += 500;
	pd_test_outbox_run_for(&f.ox, 0.6);
	before = pd_test_http_count(&s);
	f.ox.clock.now_ms += 1000;
	ck_assert(wait_req(&f, &s, before + 1));
	j = pd_test_http_json(&s, before);
	ck_assert_int_eq(cJSON_GetArraySize(j), 1);
	al = cJSON_GetArrayItem(j, 0);
	ck_assert_str_eq(pd_test_jstr(pd_test_jget(al, "labels"), "alertname"), "ProbedIncident");
	ck_assert_str_eq(pd_test_jstr(al, "startsAt"), "2026-11-18T11:06:40.000Z");
	ck_assert_str_eq(pd_test_jstr(al, "endsAt"),
			 "2026-11-18T11:06:45.500Z"); /* moved forward */
	cJSON_Delete(j);
	pd_outbox_am_counters(f.ox.ob, &ac);
	ck_assert_uint_ge(ac.resent, 1);

	/* resolve: the stored labels with endsAt = the resolve event's time */
	f.ox.clock.now_ms += 100;
	fx_add(&f, "am", "resolve", "P2");
	before = pd_test_http_count(&s);
	pd_outbox_kick(f.ox.ob);
	ck_assert(wait_req(&f, &s, before + 1));
	j = pd_test_http_json(&s, before);
	al = cJSON_GetArrayItem(j, 0);
	ck_assert_str_eq(pd_test_jstr(pd_test_jget(al, "labels"), "severity"), "P2");
	ck_assert_str_eq(pd_test_jstr(al, "endsAt"), "2026-11-18T11:11:40.000Z"); /* event ts */
	cJSON_Delete(j);
	ck_assert_int_eq(pd_store_am_list(f.ox.st, "am", NULL, get_first_am, &ends, &err), 1);
	ck_assert_int_eq(ends, T0_MS + 300000);

	/* still re-sent (resolved) a resend_interval later ... */
	before = pd_test_http_count(&s);
	f.ox.clock.now_ms += 1000;
	ck_assert(wait_req(&f, &s, before + 1));
	j = pd_test_http_json(&s, before);
	ck_assert_str_eq(pd_test_jstr(cJSON_GetArrayItem(j, 0), "endsAt"),
			 "2026-11-18T11:11:40.000Z");
	cJSON_Delete(j);
	/* ... and forgotten resend_resolved_for after its end */
	f.ox.clock.now_ms = ends + 3001 + 1000;
	pd_test_outbox_run_for(&f.ox, 0.8);
	ck_assert_int_eq(am_rows(&f), 0);
	before = pd_test_http_count(&s);
	f.ox.clock.now_ms += 2000;
	pd_test_outbox_run_for(&f.ox, 0.8);
	ck_assert_int_eq(pd_test_http_count(&s), before);
	pd_test_http_stop(&s);
	fx_free(&f);
}
END_TEST

/* An escalation changes the label set: the old one is ended, the new one fires. A
 * target dropped from the config has its alerts forgotten. */
START_TEST(test_outbox_alertmanager_escalation)
{
	struct fx f;
	struct pd_test_http s;
	struct pd_err err = {0};
	char n[512];
	struct am_seen seen = {0};
	cJSON *j;

	fx_init(&f);
	pd_test_http_start(&s, 0, &(struct pd_test_reply){.status = 200}, 1);
	snprintf(n, sizeof(n),
		 "  - name: am\n    type: alertmanager\n    url: http://127.0.0.1:%d\n"
		 "    resend_interval: 4s\n",
		 s.port);
	fx_config(&f, n);
	pd_test_outbox_run_for(&f.ox,
			       1.2); /* the first round (nothing stored yet) starts the interval */
	ck_assert_int_eq(pd_test_http_count(&s), 0);
	fx_add(&f, "am", "trigger", "P2");
	pd_outbox_kick(f.ox.ob);
	ck_assert(wait_req(&f, &s, 1));
	f.ox.clock.now_ms += 5000;
	fx_add(&f, "am", "trigger", "P1");
	pd_outbox_kick(f.ox.ob);
	ck_assert(wait_req(&f, &s, 2));
	ck_assert_int_eq(am_rows(&f), 2);
	/* the P2 label set ended at the escalation, the P1 one fires */
	ck_assert_int_eq(pd_store_am_list(f.ox.st, "am", NULL, collect_am, &seen, &err), 0);
	ck_assert_int_eq(seen.n, 2);
	for (int i = 0; i < 2; i++) {
		if (strcmp(seen.sev[i], "P2") == 0)
			ck_assert_int_eq(seen.ends[i], T0_MS + 5000);
		else
			ck_assert(strcmp(seen.sev[i], "P1") == 0 && seen.ends[i] == 0);
	}
	/* the re-send round carries both: the ended one with its endsAt */
	f.ox.clock.now_ms += 4000;
	ck_assert(wait_req(&f, &s, 3));
	j = pd_test_http_json(&s, 2);
	ck_assert_int_eq(cJSON_GetArraySize(j), 2);
	cJSON_Delete(j);
	/* the target disappears from the config */
	fx_config(&f, "  - name: hook\n    type: webhook\n    url: http://127.0.0.1:1/h\n");
	ev_run(f.ox.loop, EVRUN_NOWAIT);
	ck_assert_int_eq(am_rows(&f), 0);
	pd_test_http_stop(&s);
	fx_free(&f);
}
END_TEST

static Suite *
outbox_targets_suite(void)
{
	Suite *s = suite_create("outbox_targets");
	TCase *td = tcase_create("delivery");

	tcase_set_timeout(td, 60);
	tcase_add_test(td, test_breaker);
	tcase_add_test(td, test_breaker_reset_by_permanent);
	tcase_add_test(td, test_outbox_opsgenie_requests);
	tcase_add_test(td, test_outbox_opsgenie_update);
	tcase_add_test(td, test_outbox_opsgenie_update_retry);
	tcase_add_test(td, test_outbox_exec_rows);
	tcase_add_test(td, test_outbox_alertmanager_resend);
	tcase_add_test(td, test_outbox_alertmanager_escalation);
	suite_add_tcase(s, td);
	return s;
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	pd_log_set_level(PD_LOG_ERR);
	return pd_test_run(outbox_targets_suite());
}
