/* check_outbox.c — the durable outbox against a real HTTP receiver on loopback.
 *
 * Each test starts testlib's loopback receiver (a forked HTTP/1.1 responder answering a
 * scripted list of statuses and recording every request); the parent runs the real
 * pipeline — testlib's outbox fixture: a real SQLite file, pd_runner on an ev loop,
 * pd_outbox — on testlib's fake clock, so backoff is tested by moving time, not by
 * sleeping. The loop is driven with ev_run(EVRUN_ONCE) until the expected state or a
 * generous timeout. */
#include <check.h>
#include "testlib.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <ev.h>
#include <sqlite3.h>
#include <cjson/cJSON.h>
#include "probed/clock.h"
#include "probed/config.h"
#include "probed/log.h"
#include "probed/notify.h"
#include "probed/outbox.h"
#include "probed/runner.h"
#include "probed/store.h"

#define T0_MS 1795000000000LL /* the fake clock starts here (2026-11-18) */
#define WAIT_S 10.0           /* generous bound on "until the expected state" */
#define ROUTING_KEY "R0UT1NG-CANARY-0123456789abcdef"
#define MAX_RX 4

/* ------------------------------------------------------------------ the fixture */

struct fx {
	struct pd_test_outbox ox; /* store, loop, runner, outbox, fake clock */
	struct pd_config *cfg;
	struct pd_test_http rx[MAX_RX];
	size_t nrx;
};

static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	pd_test_outbox_init(&f->ox, "outbox", T0_MS);
}

static void
fx_free(struct fx *f)
{
	pd_test_outbox_free(&f->ox);
	pd_config_free(f->cfg);
	for (size_t i = 0; i < f->nrx; i++)
		pd_test_http_stop(&f->rx[i]);
}

static struct pd_test_http *
fx_rx(struct fx *f, const struct pd_test_reply *steps, size_t nsteps)
{
	ck_assert_uint_lt(f->nrx, MAX_RX);
	pd_test_http_start(&f->rx[f->nrx], 0, steps, nsteps);
	return &f->rx[f->nrx++];
}

/* Load a config (a probe plus the given notify section) and hand it to the outbox. */
static void
fx_config(struct fx *f, const char *notify_yaml)
{
	char yaml[4096];
	struct pd_err err = {0};
	int rc;

	snprintf(yaml, sizeof(yaml),
		 "probes:\n"
		 "  - name: post-detail\n"
		 "    url: http://127.0.0.1:1/post-detail/\n"
		 "notify:\n%s",
		 notify_yaml);
	ck_assert_int_eq(setenv("PD_TEST_ROUTING_KEY", ROUTING_KEY, 1), 0);
	rc = pd_config_load_string(yaml, strlen(yaml), "outbox-test.yaml", &f->cfg, &err, NULL,
				   NULL);
	ck_assert_msg(rc == 0, "config: %s\n%s", err.msg, yaml);
	pd_outbox_set_config(f->ox.ob, f->cfg);
}

/* One webhook target "hook" pointing at port. */
static void
fx_webhook(struct fx *f, int port)
{
	char n[512];

	snprintf(n, sizeof(n),
		 "  - name: hook\n    type: webhook\n    url: http://127.0.0.1:%d/hook\n"
		 "    timeout: 2s\n",
		 port);
	fx_config(f, n);
}

/* Queue an event the way the daemon does (neutral JSON, one row per target) and commit.
 * Returns the row id; *payload (may be NULL) gets the stored JSON (free()). */
static int64_t
fx_add(struct fx *f, const char *target, const char *event, const char *dedup, const char *reason,
       char **payload)
{
	struct pd_notify_event ev = {0};
	struct pd_err err = {0};
	int64_t id = 0;
	char *json;

	ev.event = event;
	ev.dedup_key = dedup;
	ev.probe = "post-detail";
	ev.family = "post-detail";
	ev.tier = "core";
	ev.summary = strcmp(event, "trigger") == 0
			     ? "post-detail DOWN: http_5xx (2 consecutive failures)"
			     : "post-detail RECOVERED after 1m";
	ev.reason = reason ? reason : "status 502, expected 200-299";
	ev.outcome = "http_5xx";
	ev.ts_ms = f->ox.clock.now_ms;
	ev.consecutive_failures = strcmp(event, "trigger") == 0 ? 2 : 0;
	ev.down_since_ms = f->ox.clock.now_ms - 1500;
	json = pd_notify_event_json(&ev);
	ck_assert_ptr_nonnull(json);
	ck_assert_msg(pd_store_outbox_add(f->ox.st, target, dedup, event, json, f->ox.clock.now_ms,
					  &id, &err) == 0,
		      "%s", err.msg);
	ck_assert_msg(pd_store_flush(f->ox.st, &err) == 0, "%s", err.msg);
	if (payload)
		*payload = json;
	else
		free(json);
	return id;
}

struct want_counters {
	uint64_t sent, retried, dead;
};

static int
pred_counters(struct pd_test_outbox *o, const void *arg)
{
	const struct want_counters *w = arg;
	struct pd_outbox_counters c;

	pd_outbox_counters(o->ob, &c);
	return c.sent >= w->sent && c.retried >= w->retried && c.dead >= w->dead &&
	       pd_outbox_inflight(o->ob) == 0 && pd_store_pending(o->st) == 0;
}

/* Wait until the counters reach at least (sent, retried, dead) with nothing in flight,
 * then check they are exactly that. */
static void
fx_wait(struct fx *f, uint64_t sent, uint64_t retried, uint64_t dead)
{
	struct want_counters w = {sent, retried, dead};
	struct pd_outbox_counters c;
	int ok = pd_test_outbox_run_until(&f->ox, pred_counters, &w, WAIT_S);

	pd_outbox_counters(f->ox.ob, &c);
	ck_assert_msg(ok && c.sent == sent && c.retried == retried && c.dead == dead,
		      "counters sent=%llu retried=%llu dead=%llu inflight=%zu, want %llu/%llu/%llu",
		      (unsigned long long)c.sent, (unsigned long long)c.retried,
		      (unsigned long long)c.dead, pd_outbox_inflight(f->ox.ob),
		      (unsigned long long)sent, (unsigned long long)retried,
		      (unsigned long long)dead);
}

/* The live head row of target (attempts, next_at_ms), regardless of due time. */
static int
fx_head(struct fx *f, const char *target, struct pd_outbox_row *out)
{
	struct pd_outbox_row rows[32];
	struct pd_err err = {0};
	size_t n = 0;
	int found = 0;

	ck_assert_msg(pd_store_outbox_due(f->ox.st, INT64_MAX, rows, 32, &n, &err) == 0, "%s",
		      err.msg);
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

/* SELECT an integer from the database file through a separate connection. */
static int64_t
db_int(struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_open_v2(f->ox.db.path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static char *
db_text(struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *v = NULL;

	ck_assert_int_eq(sqlite3_open_v2(f->ox.db.path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		v = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* ================================================================== tests */

/* The delivery policy: defaults by role, page-role cool-down never above its backoff,
 * config overrides. */
/* The webhook body is the stored payload plus the send-time "event_id" (the row's, stable
 * across retries) and "version": true when that is exactly what arrived. */
static int
body_is_stored_plus_ids(const char *body, size_t blen, const char *stored, int64_t id)
{
	cJSON *b = cJSON_ParseWithLength(body, blen), *st = cJSON_Parse(stored);
	const cJSON *eid = b ? cJSON_GetObjectItemCaseSensitive(b, "event_id") : NULL;
	const cJSON *ver = b ? cJSON_GetObjectItemCaseSensitive(b, "version") : NULL;
	char suffix[32];
	int ok;

	snprintf(suffix, sizeof(suffix), "-%lld", (long long)id);
	ok = b != NULL && st != NULL && cJSON_IsString(eid) && cJSON_IsNumber(ver) &&
	     ver->valuedouble == 1 && strncmp(eid->valuestring, "probed-", 7) == 0 &&
	     strlen(eid->valuestring) > strlen(suffix) &&
	     strcmp(eid->valuestring + strlen(eid->valuestring) - strlen(suffix), suffix) == 0;
	if (ok) {
		cJSON_DeleteItemFromObjectCaseSensitive(b, "event_id");
		cJSON_DeleteItemFromObjectCaseSensitive(b, "version");
		ok = cJSON_Compare(b, st, 1);
	}
	cJSON_Delete(b);
	cJSON_Delete(st);
	return ok;
}

START_TEST(test_policy)
{
	struct pd_notify_cfg t;
	struct pd_outbox_policy p;

	pd_outbox_policy(NULL, &p); /* unknown target: the non-page defaults */
	ck_assert_int_eq(p.max_backoff_ms, PD_OUTBOX_MAX_BACKOFF_MS);
	ck_assert_int_eq(p.cooldown_ms, PD_OUTBOX_BREAKER_COOLDOWN_MS);
	memset(&t, 0, sizeof(t));
	t.type = PD_NOTIFY_WEBHOOK; /* ticket role */
	pd_outbox_policy(&t, &p);
	ck_assert_int_eq(p.max_backoff_ms, 300000);
	ck_assert_int_eq(p.max_retry_after_ms, 120000);
	ck_assert_int_eq(p.breaker_failures, 5);
	ck_assert_int_eq(p.cooldown_ms, 60000);
	ck_assert_int_eq(p.max_cooldown_ms, 600000);
	t.type = PD_NOTIFY_PAGERDUTY; /* page role: a page waits at most 5 s per attempt */
	pd_outbox_policy(&t, &p);
	ck_assert_int_eq(p.max_backoff_ms, 5000);
	ck_assert_int_eq(p.cooldown_ms, 5000);
	ck_assert_int_eq(p.max_cooldown_ms, 5000);
	t.type = PD_NOTIFY_WEBHOOK;
	t.role = PD_NOTIFY_ROLE_PAGE; /* a webhook that pages is a page target */
	t.breaker_cooldown_ms = 30000;
	pd_outbox_policy(&t, &p);
	ck_assert_int_eq(p.cooldown_ms, 5000);
	t.retry_max_backoff_ms = 10000; /* configured: the cool-down follows it */
	pd_outbox_policy(&t, &p);
	ck_assert_int_eq(p.max_backoff_ms, 10000);
	ck_assert_int_eq(p.cooldown_ms, 10000);
	t.role = PD_NOTIFY_ROLE_TICKET;
	t.breaker_failures = 3;
	t.breaker_max_cooldown_ms = 20000;
	t.retry_max_after_ms = 7000;
	pd_outbox_policy(&t, &p);
	ck_assert_int_eq(p.breaker_failures, 3);
	ck_assert_int_eq(p.cooldown_ms, 30000);
	ck_assert_int_eq(p.max_cooldown_ms, 30000); /* never below the first cool-down */
	ck_assert_int_eq(p.max_retry_after_ms, 7000);
}
END_TEST

/* Retry-After: delay-seconds or an HTTP-date (RFC 9110), relative to now. */
START_TEST(test_retry_after_parse)
{
	const int64_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */

	ck_assert_int_eq(pd_runner_retry_after(" 120", 4, now), 120);
	ck_assert_int_eq(pd_runner_retry_after("0", 1, now), 0);
	ck_assert_int_eq(pd_runner_retry_after(" Wed, 21 Oct 2015 07:28:30 GMT", 30, now), 30);
	ck_assert_int_eq(pd_runner_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", 29, now), 0);
	ck_assert_int_eq(pd_runner_retry_after("soon", 4, now), -1);
	ck_assert_int_eq(pd_runner_retry_after("-5", 2, now), -1);
	ck_assert_int_eq(pd_runner_retry_after("", 0, now), -1);
	ck_assert_int_eq(pd_runner_retry_after("1\0 2", 4, now),
			 -1); /* a NUL inside: not a number */
}
END_TEST

START_TEST(test_backoff_table)
{
	static const struct {
		int attempt;
		int64_t ms;
	} t[] = {
		{-1, 1000},   {0, 1000},    {1, 2000},         {2, 4000},
		{3, 8000},    {4, 16000},   {5, 32000},        {6, 64000},
		{7, 128000},  {8, 256000},  {9, 300000},       {10, 300000},
		{31, 300000}, {64, 300000}, {1000000, 300000}, {2147483647, 300000},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(pd_outbox_backoff_ms(t[i].attempt) == t[i].ms,
			      "backoff(%d) = %lld, want %lld", t[i].attempt,
			      (long long)pd_outbox_backoff_ms(t[i].attempt), (long long)t[i].ms);
	for (int a = 0; a < 40; a++)
		ck_assert(pd_outbox_backoff_ms(a + 1) >= pd_outbox_backoff_ms(a));
}
END_TEST

/* 2xx: delivered once, row deleted, the body is the stored event byte for byte. */
static const int ok_statuses[] = {200, 201, 202, 204, 299};

/* A long header value (a 3,000-byte bearer token) reaches the receiver whole: it was cut
 * at ~1 KiB, and a cut token reads as a rejected key. */
START_TEST(test_long_header)
{
	struct pd_test_reply step = {.status = 200};
	struct fx f;
	struct pd_test_http *rx;
	char n[4096], tok[3001], want[3100];
	const char *head;

	memset(tok, 'T', sizeof(tok) - 1);
	tok[sizeof(tok) - 1] = '\0';
	fx_init(&f);
	rx = fx_rx(&f, &step, 1);
	snprintf(n, sizeof(n),
		 "  - name: hook\n    type: webhook\n    url: http://127.0.0.1:%d/hook\n"
		 "    timeout: 2s\n    headers: {X-Token: \"%s\"}\n",
		 rx->port, tok);
	fx_config(&f, n);
	fx_add(&f, "hook", "trigger", "probed:post-detail:1", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 1, 0, 0);
	head = pd_test_http_request(rx, 0)->head;
	snprintf(want, sizeof(want), "\r\nX-Token: %s\r\n", tok);
	ck_assert_msg(strstr(head, want) != NULL, "the 3,000-byte header was cut");
	fx_free(&f);
}
END_TEST

START_TEST(test_2xx_delivered)
{
	struct pd_test_reply step = {.status = ok_statuses[_i]};
	struct fx f;
	struct pd_test_http *rx;
	const struct pd_test_request *req;
	const char *head;
	char *payload, *stored;
	int64_t id;

	fx_init(&f);
	rx = fx_rx(&f, &step, 1);
	fx_webhook(&f, rx->port);
	id = fx_add(&f, "hook", "trigger", "probed:post-detail:1", NULL, &payload);
	stored = db_text(&f, "SELECT payload FROM outbox");
	ck_assert_ptr_nonnull(stored);
	ck_assert_str_eq(stored, payload);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 1, 0, 0);
	ck_assert_int_eq(pd_test_http_count(rx), 1);
	req = pd_test_http_request(rx, 0);
	ck_assert_msg(body_is_stored_plus_ids(req->body, req->body_len, stored, id),
		      "body %s\nstored %s", req->body, stored);
	head = req->head;
	ck_assert_msg(strncmp(head, "POST /hook HTTP/1.1\r\n", 21) == 0, "%s", head);
	ck_assert_ptr_nonnull(strcasestr(head, "\r\nContent-Type: application/json\r\n"));
	ck_assert_ptr_null(strcasestr(head, "Expect:"));
	ck_assert_int_eq(db_int(&f, "SELECT count(*) FROM outbox"), 0);
	ck_assert_int_eq(id > 0, 1);
	/* the delivery is logged, at the outbox clock's time, first attempt */
	ck_assert_int_eq(db_int(&f, "SELECT count(*) FROM deliveries WHERE target = 'hook' AND "
				    "dedup_key = 'probed:post-detail:1' AND event = 'trigger' AND "
				    "attempts = 1"),
			 1);
	ck_assert_int_eq(db_int(&f, "SELECT delivered_ms FROM deliveries") == f.ox.clock.now_ms, 1);
	/* nothing more to send: a kick and some loop time send nothing */
	pd_outbox_kick(f.ox.ob);
	pd_test_outbox_run_for(&f.ox, 0.3);
	ck_assert_int_eq(pd_test_http_count(rx), 1);
	free(payload);
	free(stored);
	fx_free(&f);
}
END_TEST

/* 503 three times, then 200: each retry waits backoff/2..backoff of the *moved* clock,
 * a kick before that sends nothing, and the 4th request delivers. */
START_TEST(test_503_backoff_then_200)
{
	static const struct pd_test_reply steps[] = {
		{.status = 503}, {.status = 503}, {.status = 503}, {.status = 200}};
	struct fx f;
	struct pd_test_http *rx;
	struct pd_outbox_row row;

	fx_init(&f);
	rx = fx_rx(&f, steps, 4);
	fx_webhook(&f, rx->port);
	fx_add(&f, "hook", "trigger", "probed:post-detail:2", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	for (int attempt = 0; attempt < 3; attempt++) {
		int64_t back = pd_outbox_backoff_ms(attempt), fail_at = f.ox.clock.now_ms, wait;

		fx_wait(&f, 0, (uint64_t)attempt + 1, 0);
		ck_assert_int_eq(pd_test_http_count(rx), attempt + 1);
		ck_assert(fx_head(&f, "hook", &row));
		ck_assert_int_eq(row.attempts, attempt + 1);
		ck_assert_str_eq(row.last_error, "HTTP 503");
		wait = row.next_at_ms - fail_at;
		ck_assert_msg(wait >= back / 2 && wait <= back,
			      "attempt %d: retry in %lld ms, want %lld..%lld", attempt,
			      (long long)wait, (long long)(back / 2), (long long)back);
		/* not due yet: kicks and loop time send nothing */
		pd_outbox_kick(f.ox.ob);
		pd_test_outbox_run_for(&f.ox, 0.2);
		f.ox.clock.now_ms = row.next_at_ms - 1;
		pd_outbox_kick(f.ox.ob);
		pd_test_outbox_run_for(&f.ox, 0.2);
		ck_assert_int_eq(pd_test_http_count(rx), attempt + 1);
		/* due: the next kick sends */
		f.ox.clock.now_ms = row.next_at_ms;
		pd_outbox_kick(f.ox.ob);
	}
	fx_wait(&f, 1, 3, 0);
	ck_assert_int_eq(pd_test_http_count(rx), 4);
	ck_assert_int_eq(db_int(&f, "SELECT count(*) FROM outbox"), 0);
	/* every attempt carried the same event */
	for (int i = 1; i < 4; i++)
		ck_assert_str_eq(pd_test_http_request(rx, i)->body,
				 pd_test_http_request(rx, 0)->body);
	fx_free(&f);
}
END_TEST

/* The brief's case exactly: 503 then 200 -> delivered on the retry, exactly 2 requests. */
START_TEST(test_503_then_200_two_requests)
{
	static const struct pd_test_reply steps[] = {{.status = 503}, {.status = 200}};
	struct fx f;
	struct pd_test_http *rx;
	struct pd_outbox_row row;

	fx_init(&f);
	rx = fx_rx(&f, steps, 2);
	fx_webhook(&f, rx->port);
	fx_add(&f, "hook", "trigger", "probed:post-detail:3", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 0, 1, 0);
	ck_assert_int_eq(db_int(&f, "SELECT count(*) FROM outbox WHERE dead = 0"), 1);
	ck_assert(fx_head(&f, "hook", &row));
	f.ox.clock.now_ms = row.next_at_ms + 1;
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 1, 1, 0);
	pd_test_outbox_run_for(&f.ox, 0.3);
	ck_assert_int_eq(pd_test_http_count(rx), 2);
	ck_assert_int_eq(db_int(&f, "SELECT count(*) FROM outbox"), 0);
	fx_free(&f);
}
END_TEST

/* 429 with Retry-After: 7 -> next_at = now + 7000 exactly (no jitter). */
START_TEST(test_429_retry_after)
{
	static const struct pd_test_reply steps[] = {{.status = 429, .retry_after = 7},
						     {.status = 200}};
	struct fx f;
	struct pd_test_http *rx;
	struct pd_outbox_row row;
	int64_t fail_at;

	fx_init(&f);
	rx = fx_rx(&f, steps, 2);
	fx_webhook(&f, rx->port);
	fx_add(&f, "hook", "trigger", "probed:post-detail:4", NULL, NULL);
	fail_at = f.ox.clock.now_ms;
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 0, 1, 0);
	ck_assert(fx_head(&f, "hook", &row));
	ck_assert_int_eq(row.next_at_ms, fail_at + 7000);
	ck_assert_int_eq(row.attempts, 1);
	ck_assert_str_eq(row.last_error, "HTTP 429");
	f.ox.clock.now_ms = fail_at + 6999;
	pd_outbox_kick(f.ox.ob);
	pd_test_outbox_run_for(&f.ox, 0.3);
	ck_assert_int_eq(pd_test_http_count(rx), 1);
	f.ox.clock.now_ms = fail_at + 7000;
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 1, 1, 0);
	ck_assert_int_eq(pd_test_http_count(rx), 2);
	fx_free(&f);
}
END_TEST

/* Other 4xx: dead-lettered at once, kept in the table, never retried. */
static const int permanent_statuses[] = {400, 401, 403, 404, 410, 422};

START_TEST(test_4xx_dead_letter)
{
	struct pd_test_reply step = {.status = permanent_statuses[_i]};
	struct fx f;
	struct pd_test_http *rx;
	struct pd_outbox_row row;
	char want[32], *err;

	fx_init(&f);
	rx = fx_rx(&f, &step, 1);
	fx_webhook(&f, rx->port);
	fx_add(&f, "hook", "trigger", "probed:post-detail:5", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 0, 0, 1);
	ck_assert_int_eq(db_int(&f, "SELECT count(*) FROM outbox"), 1);
	ck_assert_int_eq(db_int(&f, "SELECT dead FROM outbox"), 1);
	err = db_text(&f, "SELECT last_error FROM outbox");
	snprintf(want, sizeof(want), "HTTP %d", step.status);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err, want);
	free(err);
	ck_assert(!fx_head(&f, "hook", &row));
	/* an hour later: still not retried */
	f.ox.clock.now_ms += 3600 * 1000;
	pd_outbox_kick(f.ox.ob);
	pd_test_outbox_run_for(&f.ox, 0.3);
	ck_assert_int_eq(pd_test_http_count(rx), 1);
	fx_wait(&f, 0, 0, 1);
	fx_free(&f);
}
END_TEST

/* Transient answers are retried, not dead-lettered. */
static const int transient_statuses[] = {408, 429, 500, 502, 503, 504};

START_TEST(test_transient_retried)
{
	struct pd_test_reply steps[] = {{.status = transient_statuses[_i]}, {.status = 200}};
	struct fx f;
	struct pd_test_http *rx;
	struct pd_outbox_row row;

	fx_init(&f);
	rx = fx_rx(&f, steps, 2);
	fx_webhook(&f, rx->port);
	fx_add(&f, "hook", "trigger", "probed:post-detail:6", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 0, 1, 0);
	ck_assert(fx_head(&f, "hook", &row));
	ck_assert_int_gt(row.next_at_ms, f.ox.clock.now_ms);
	f.ox.clock.now_ms = row.next_at_ms;
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 1, 1, 0);
	ck_assert_int_eq(pd_test_http_count(rx), 2);
	fx_free(&f);
}
END_TEST

/* Receiver down (a closed port): retry scheduled with backoff; when it comes back on
 * the same port, the event is delivered; nothing is lost. */
START_TEST(test_receiver_down_then_up)
{
	static const struct pd_test_reply ok = {.status = 200};
	struct fx f;
	struct pd_outbox_row row;
	struct pd_test_http *rx;
	int port;
	int64_t wait;

	fx_init(&f);
	port = pd_test_closed_port();
	fx_webhook(&f, port);
	fx_add(&f, "hook", "trigger", "probed:post-detail:7", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 0, 1, 0);
	ck_assert(fx_head(&f, "hook", &row));
	ck_assert_int_eq(row.attempts, 1);
	wait = row.next_at_ms - f.ox.clock.now_ms;
	ck_assert_msg(wait >= 500 && wait <= 1000, "retry in %lld ms", (long long)wait);
	ck_assert_msg(row.last_error[0] != '\0' && strstr(row.last_error, "HTTP") == NULL,
		      "last_error '%s'", row.last_error);
	/* second failure: the backoff doubles */
	f.ox.clock.now_ms = row.next_at_ms;
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 0, 2, 0);
	ck_assert(fx_head(&f, "hook", &row));
	ck_assert_int_eq(row.attempts, 2);
	wait = row.next_at_ms - f.ox.clock.now_ms;
	ck_assert_msg(wait >= 1000 && wait <= 2000, "retry in %lld ms", (long long)wait);
	/* the receiver comes back on the same port */
	ck_assert_uint_lt(f.nrx, MAX_RX);
	pd_test_http_start(&f.rx[f.nrx], port, &ok, 1);
	rx = &f.rx[f.nrx++];
	f.ox.clock.now_ms = row.next_at_ms;
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 1, 2, 0);
	ck_assert_int_eq(pd_test_http_count(rx), 1);
	ck_assert_int_eq(db_int(&f, "SELECT count(*) FROM outbox"), 0);
	/* delivered on the third attempt */
	ck_assert_int_eq(db_int(&f, "SELECT attempts FROM deliveries WHERE target = 'hook'"), 3);
	fx_free(&f);
}
END_TEST

/* Strict order per target: the resolve is not sent while its trigger waits for a retry,
 * not even once the resolve itself would be due; then trigger, then resolve. */
START_TEST(test_order_per_target)
{
	static const struct pd_test_reply steps[] = {{.status = 503}, {.status = 200}};
	struct fx f;
	struct pd_test_http *rx;
	struct pd_outbox_row row;
	cJSON *j;

	fx_init(&f);
	rx = fx_rx(&f, steps, 2);
	fx_webhook(&f, rx->port);
	fx_add(&f, "hook", "trigger", "probed:post-detail:8", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 0, 1, 0);
	/* the resolve is queued (due now) while the trigger backs off */
	fx_add(&f, "hook", "resolve", "probed:post-detail:8", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	pd_test_outbox_run_for(&f.ox, 0.3);
	ck_assert_int_eq(pd_test_http_count(rx), 1);
	ck_assert(fx_head(&f, "hook", &row));
	ck_assert_str_eq(row.event, "trigger");
	f.ox.clock.now_ms = row.next_at_ms - 1;
	pd_outbox_kick(f.ox.ob);
	pd_test_outbox_run_for(&f.ox, 0.3);
	ck_assert_int_eq(pd_test_http_count(rx), 1);
	f.ox.clock.now_ms = row.next_at_ms;
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 2, 1, 0);
	ck_assert_int_eq(pd_test_http_count(rx), 3);
	for (int i = 0; i < 3; i++) {
		j = pd_test_http_json(rx, i);
		ck_assert_str_eq(pd_test_jstr(j, "event"), i < 2 ? "trigger" : "resolve");
		ck_assert_str_eq(pd_test_jstr(j, "dedup_key"), "probed:post-detail:8");
		cJSON_Delete(j);
	}
	ck_assert_int_eq(db_int(&f, "SELECT count(*) FROM outbox"), 0);
	fx_free(&f);
}
END_TEST

/* Two targets: one down (closed port) does not stall the other; rows of the live one
 * queued later still go out while the dead one backs off. */
START_TEST(test_dead_target_does_not_stall)
{
	static const struct pd_test_reply ok = {.status = 200};
	struct fx f;
	struct pd_test_http *rx;
	struct pd_outbox_row row;
	char n[1024];

	fx_init(&f);
	rx = fx_rx(&f, &ok, 1);
	snprintf(n, sizeof(n),
		 "  - name: down\n    type: webhook\n    url: http://127.0.0.1:%d/hook\n"
		 "    timeout: 2s\n"
		 "  - name: good\n    type: webhook\n    url: http://127.0.0.1:%d/hook\n"
		 "    timeout: 2s\n",
		 pd_test_closed_port(), rx->port);
	fx_config(&f, n);
	fx_add(&f, "down", "trigger", "probed:post-detail:9", NULL, NULL);
	fx_add(&f, "good", "trigger", "probed:post-detail:9", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 1, 1, 0);
	ck_assert_int_eq(pd_test_http_count(rx), 1);
	/* more events while "down" backs off */
	fx_add(&f, "down", "resolve", "probed:post-detail:9", NULL, NULL);
	fx_add(&f, "good", "resolve", "probed:post-detail:9", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 2, 1, 0);
	ck_assert_int_eq(pd_test_http_count(rx), 2);
	ck_assert(fx_head(&f, "down", &row));
	ck_assert_str_eq(row.event, "trigger");
	ck_assert(!fx_head(&f, "good", &row));
	ck_assert_int_eq(db_int(&f, "SELECT count(*) FROM outbox WHERE target = 'down'"), 2);
	fx_free(&f);
}
END_TEST

static int
pred_sent_or_retried(struct pd_test_outbox *o, const void *arg)
{
	struct pd_outbox_counters c;

	(void)arg;
	pd_outbox_counters(o->ob, &c);
	return c.sent > 0 || c.retried > 0;
}

/* A hung receiver (accepts, never answers) does not block another target either, a kick
 * while its request is in flight does not send it twice, and its timeout is a retry. */
START_TEST(test_hung_target_does_not_stall)
{
	static const struct pd_test_reply hang = {.status = PD_TEST_HTTP_HANG};
	static const struct pd_test_reply ok = {.status = 200};
	struct fx f;
	struct pd_test_http *rxh, *rxg;
	struct pd_outbox_row row;
	struct pd_outbox_counters c;
	char n[1024];

	fx_init(&f);
	rxh = fx_rx(&f, &hang, 1);
	rxg = fx_rx(&f, &ok, 1);
	snprintf(n, sizeof(n),
		 "  - name: hung\n    type: webhook\n    url: http://127.0.0.1:%d/hook\n"
		 "    timeout: 1500ms\n"
		 "  - name: good\n    type: webhook\n    url: http://127.0.0.1:%d/hook\n"
		 "    timeout: 2s\n",
		 rxh->port, rxg->port);
	fx_config(&f, n);
	fx_add(&f, "hung", "trigger", "probed:post-detail:10", NULL, NULL);
	fx_add(&f, "good", "trigger", "probed:post-detail:10", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	/* "good" is delivered while "hung" is still in flight */
	ck_assert(pd_test_outbox_run_until(&f.ox, pred_sent_or_retried, NULL, WAIT_S));
	pd_outbox_counters(f.ox.ob, &c);
	ck_assert_int_eq(c.sent, 1);
	ck_assert_int_eq(c.retried, 0);
	ck_assert_uint_eq(pd_outbox_inflight(f.ox.ob), 1);
	ck_assert_int_eq(pd_test_http_count(rxg), 1);
	/* kicking while it is in flight must not send it again */
	pd_outbox_kick(f.ox.ob);
	pd_outbox_kick(f.ox.ob);
	pd_test_outbox_run_for(&f.ox, 0.3);
	ck_assert_int_eq(pd_test_http_count(rxh), 1);
	fx_wait(&f, 1, 1, 0);
	ck_assert(fx_head(&f, "hung", &row));
	ck_assert_int_eq(row.attempts, 1);
	ck_assert_int_eq(pd_test_http_count(rxh), 1);
	fx_free(&f);
}
END_TEST

/* PagerDuty Events API v2: routing_key from the config (never from the row), action,
 * dedup_key, payload.summary/source/severity; resolve by dedup_key. */
START_TEST(test_pagerduty_render)
{
	static const struct pd_test_reply ok = {.status = 202};
	struct fx f;
	struct pd_test_http *rx;
	cJSON *j, *p;
	char n[1024], *head;

	fx_init(&f);
	rx = fx_rx(&f, &ok, 1);
	snprintf(n, sizeof(n),
		 "  - name: pagerduty\n    type: pagerduty\n"
		 "    url: http://127.0.0.1:%d/v2/enqueue\n"
		 "    routing_key: ${PD_TEST_ROUTING_KEY}\n    timeout: 2s\n",
		 rx->port);
	fx_config(&f, n);
	fx_add(&f, "pagerduty", "trigger", "probed:post-detail:11", NULL, NULL);
	fx_add(&f, "pagerduty", "resolve", "probed:post-detail:11", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 2, 0, 0);
	ck_assert_int_eq(pd_test_http_count(rx), 2);

	head = pd_test_http_request(rx, 0)->head;
	ck_assert_msg(strncmp(head, "POST /v2/enqueue HTTP/1.1\r\n", 27) == 0, "%s", head);
	ck_assert_ptr_nonnull(strcasestr(head, "\r\nContent-Type: application/json\r\n"));
	j = pd_test_http_json(rx, 0);
	ck_assert_str_eq(pd_test_jstr(j, "routing_key"), ROUTING_KEY);
	ck_assert_str_eq(pd_test_jstr(j, "event_action"), "trigger");
	ck_assert_str_eq(pd_test_jstr(j, "dedup_key"), "probed:post-detail:11");
	p = cJSON_GetObjectItemCaseSensitive(j, "payload");
	ck_assert(cJSON_IsObject(p));
	ck_assert_str_eq(pd_test_jstr(p, "summary"),
			 "post-detail DOWN: http_5xx (2 consecutive failures)");
	ck_assert_str_eq(pd_test_jstr(p, "source"), "probed");
	ck_assert_str_eq(pd_test_jstr(p, "severity"), "critical");
	ck_assert_str_eq(pd_test_jstr(p, "component"), "post-detail");
	ck_assert_str_eq(pd_test_jstr(p, "group"), "post-detail");
	ck_assert_str_eq(pd_test_jstr(p, "class"), "http_5xx");
	ck_assert_ptr_nonnull(pd_test_jstr(p, "timestamp"));
	cJSON_Delete(j);

	j = pd_test_http_json(rx, 1);
	ck_assert_str_eq(pd_test_jstr(j, "routing_key"), ROUTING_KEY);
	ck_assert_str_eq(pd_test_jstr(j, "event_action"), "resolve");
	ck_assert_str_eq(pd_test_jstr(j, "dedup_key"), "probed:post-detail:11");
	cJSON_Delete(j);
	fx_free(&f);
}
END_TEST

/* payload.source is the location when the event has one. */
START_TEST(test_pagerduty_source_location)
{
	static const struct pd_test_reply ok = {.status = 202};
	struct pd_notify_event ev = {0};
	struct pd_err err = {0};
	struct fx f;
	struct pd_test_http *rx;
	cJSON *j;
	char n[1024], *json;

	fx_init(&f);
	rx = fx_rx(&f, &ok, 1);
	snprintf(n, sizeof(n),
		 "  - name: pagerduty\n    type: pagerduty\n"
		 "    url: http://127.0.0.1:%d/v2/enqueue\n"
		 "    routing_key: ${PD_TEST_ROUTING_KEY}\n",
		 rx->port);
	fx_config(&f, n);
	ev.event = "trigger";
	ev.dedup_key = "fra1/userid:1";
	ev.probe = "userid";
	ev.family = "userid";
	ev.summary = "fra1 userid DOWN";
	ev.reason = "r";
	ev.location = "fra1";
	ev.ts_ms = f.ox.clock.now_ms;
	json = pd_notify_event_json(&ev);
	ck_assert_ptr_nonnull(json);
	ck_assert_int_eq(pd_store_outbox_add(f.ox.st, "pagerduty", ev.dedup_key, "trigger", json,
					     f.ox.clock.now_ms, NULL, &err),
			 0);
	free(json);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 1, 0, 0);
	j = pd_test_http_json(rx, 0);
	ck_assert_str_eq(pd_test_jstr(cJSON_GetObjectItemCaseSensitive(j, "payload"), "source"),
			 "fra1");
	ck_assert_str_eq(pd_test_jstr(j, "dedup_key"), "fra1/userid:1");
	cJSON_Delete(j);
	fx_free(&f);
}
END_TEST

/* PagerDuty caps payload.summary at 1024 characters: an over-long summary is cut, and
 * cut on a character boundary (a split UTF-8 sequence makes the event invalid). */
START_TEST(test_pagerduty_summary_cap)
{
	static const struct {
		const char *unit;
		size_t reps;
	} cases[] = {{"x", 3000}, {"\xc3\xa9", 1100}, {"\xe2\x82\xac", 700}};
	const struct pd_notify_ops *ops = pd_notify_ops_for(PD_NOTIFY_PAGERDUTY);
	struct pd_notify_cfg t = {0};

	ck_assert_ptr_nonnull(ops);
	ck_assert_str_eq(ops->name, "pagerduty");
	t.name = "pagerduty";
	t.type = PD_NOTIFY_PAGERDUTY;
	t.routing_key = ROUTING_KEY;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t ulen = strlen(cases[c].unit), slen = ulen * cases[c].reps;
		char *summary = malloc(slen + 1);
		struct pd_buf body;
		struct pd_err err = {0};
		cJSON *ev = cJSON_CreateObject(), *j;
		const char *got;

		for (size_t i = 0; i < cases[c].reps; i++)
			memcpy(summary + i * ulen, cases[c].unit, ulen);
		summary[slen] = '\0';
		cJSON_AddStringToObject(ev, "event", "trigger");
		cJSON_AddStringToObject(ev, "dedup_key", "k");
		cJSON_AddStringToObject(ev, "summary", summary);
		pd_buf_init(&body, 0);
		ck_assert_int_eq(ops->render(&t, ev, &body, &err), 0);
		j = cJSON_Parse(body.data);
		ck_assert_ptr_nonnull(j);
		got = pd_test_jstr(cJSON_GetObjectItemCaseSensitive(j, "payload"), "summary");
		ck_assert_ptr_nonnull(got);
		ck_assert_msg(strlen(got) <= 1024 && strlen(got) >= 1000, "case %zu: %zu bytes", c,
			      strlen(got));
		ck_assert_msg(strncmp(got, summary, strlen(got)) == 0, "case %zu: not a prefix", c);
		ck_assert_msg(pd_test_utf8_valid((const unsigned char *)got, strlen(got)),
			      "case %zu: summary cut inside a UTF-8 sequence", c);
		cJSON_Delete(j);
		cJSON_Delete(ev);
		pd_buf_cleanup(&body);
		free(summary);
	}
}
END_TEST

static int
file_has(const char *path, const char *needle)
{
	size_t len;
	char *data = pd_test_slurp(path, &len);
	int found = data != NULL && memmem(data, len, needle, strlen(needle)) != NULL;

	free(data);
	return found;
}

/* The routing key never reaches the database: not in a pending row, not after the
 * retry rewrote it, not after delivery. The dedup key is found, so the search works. */
START_TEST(test_routing_key_not_in_db)
{
	static const struct pd_test_reply steps[] = {{.status = 503}, {.status = 202}};
	struct fx f;
	struct pd_test_http *rx;
	struct pd_outbox_row row;
	char n[1024], db[200], wal[200];
	struct pd_err err = {0};

	fx_init(&f);
	rx = fx_rx(&f, steps, 2);
	snprintf(n, sizeof(n),
		 "  - name: pagerduty\n    type: pagerduty\n"
		 "    url: http://127.0.0.1:%d/v2/enqueue\n"
		 "    routing_key: ${PD_TEST_ROUTING_KEY}\n",
		 rx->port);
	fx_config(&f, n);
	snprintf(db, sizeof(db), "%s", f.ox.db.path);
	snprintf(wal, sizeof(wal), "%s-wal", f.ox.db.path);
	fx_add(&f, "pagerduty", "trigger", "probed:post-detail:DEDUP-FINDME", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 0, 1, 0);
	ck_assert_int_eq(pd_test_http_count(rx), 1);
	{ /* the key did go over the wire */
		cJSON *j = pd_test_http_json(rx, 0);

		ck_assert_str_eq(pd_test_jstr(j, "routing_key"), ROUTING_KEY);
		cJSON_Delete(j);
	}
	ck_assert(file_has(db, "DEDUP-FINDME") || file_has(wal, "DEDUP-FINDME"));
	ck_assert(!file_has(db, ROUTING_KEY));
	ck_assert(!file_has(wal, ROUTING_KEY));
	ck_assert(fx_head(&f, "pagerduty", &row));
	f.ox.clock.now_ms = row.next_at_ms;
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 1, 1, 0);
	ck_assert_int_eq(pd_store_flush(f.ox.st, &err), 0);
	ck_assert(!file_has(db, ROUTING_KEY));
	ck_assert(!file_has(wal, ROUTING_KEY));
	{
		char *payloads = db_text(&f, "SELECT group_concat(payload) FROM outbox");

		ck_assert(payloads == NULL || strstr(payloads, ROUTING_KEY) == NULL);
		free(payloads);
	}
	fx_free(&f);
}
END_TEST

/* Webhook: the body is the stored event, byte for byte, even with characters that need
 * escaping and non-ASCII text. */
START_TEST(test_webhook_body_bytes)
{
	static const struct pd_test_reply ok = {.status = 200};
	static const char *reasons[] = {
		"status 502, expected 200-299",
		"$.id: minLength 1, got \"\"",
		"quote \" backslash \\ slash / tab \t newline \n cr \r ctl \x01 end",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9f </script> <b>&amp;</b>",
	};
	struct fx f;
	struct pd_test_http *rx;

	fx_init(&f);
	rx = fx_rx(&f, &ok, 1);
	fx_webhook(&f, rx->port);
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		char dedup[64], sql[128], *payload, *stored;
		const struct pd_test_request *req;
		int64_t id;

		snprintf(dedup, sizeof(dedup), "probed:post-detail:%zu", i);
		id = fx_add(&f, "hook", "trigger", dedup, reasons[i], &payload);
		snprintf(sql, sizeof(sql), "SELECT payload FROM outbox WHERE id = %lld",
			 (long long)id);
		stored = db_text(&f, sql);
		ck_assert_ptr_nonnull(stored);
		ck_assert_str_eq(stored, payload);
		pd_outbox_kick(f.ox.ob);
		fx_wait(&f, i + 1, 0, 0);
		ck_assert_int_eq(pd_test_http_count(rx), (int)i + 1);
		req = pd_test_http_request(rx, (int)i);
		ck_assert_msg(body_is_stored_plus_ids(req->body, req->body_len, stored, id),
			      "reason %zu:\nbody   %s\nstored %s", i, req->body, stored);
		{
			cJSON *j = pd_test_http_json(rx, (int)i);

			ck_assert_str_eq(pd_test_jstr(j, "reason"), reasons[i]);
			ck_assert_str_eq(pd_test_jstr(j, "event"), "trigger");
			ck_assert_str_eq(pd_test_jstr(j, "dedup_key"), dedup);
			ck_assert_str_eq(pd_test_jstr(j, "probe"), "post-detail");
			ck_assert_str_eq(pd_test_jstr(j, "family"), "post-detail");
			ck_assert_ptr_nonnull(pd_test_jstr(j, "summary"));
			ck_assert_ptr_nonnull(pd_test_jstr(j, "ts"));
			ck_assert(cJSON_IsNumber(
				cJSON_GetObjectItemCaseSensitive(j, "consecutive_failures")));
			cJSON_Delete(j);
		}
		free(payload);
		free(stored);
	}
	fx_free(&f);
}
END_TEST

/* Rows that cannot be sent: a target no longer configured, a corrupt payload. Both are
 * dead-lettered without a request, and do not block what follows. */
START_TEST(test_unsendable_rows)
{
	static const struct pd_test_reply ok = {.status = 200};
	struct pd_err err = {0};
	struct fx f;
	struct pd_test_http *rx;
	char *e;

	fx_init(&f);
	rx = fx_rx(&f, &ok, 1);
	fx_webhook(&f, rx->port);
	fx_add(&f, "gone", "trigger", "probed:post-detail:12", NULL, NULL);
	ck_assert_int_eq(pd_store_outbox_add(f.ox.st, "hook", "probed:post-detail:12", "trigger",
					     "{not json", f.ox.clock.now_ms, NULL, &err),
			 0);
	fx_add(&f, "hook", "resolve", "probed:post-detail:12", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 1, 0, 2);
	ck_assert_int_eq(pd_test_http_count(rx), 1);
	ck_assert_int_eq(db_int(&f, "SELECT count(*) FROM outbox WHERE dead = 1"), 2);
	e = db_text(&f, "SELECT last_error FROM outbox WHERE target = 'gone'");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e, "target not configured");
	free(e);
	fx_free(&f);
}
END_TEST

/* Freeing the outbox while a request is in flight (the documented order: the runner
 * outlives the outbox) must be safe when the runner later finishes that request. */
START_TEST(test_free_with_inflight)
{
	static const struct pd_test_reply hang = {.status = PD_TEST_HTTP_HANG};
	struct fx f;
	struct pd_test_http *rx;

	fx_init(&f);
	rx = fx_rx(&f, &hang, 1);
	fx_webhook(&f, rx->port);
	fx_add(&f, "hook", "trigger", "probed:post-detail:13", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	for (int i = 0; i < 500 && pd_test_http_count(rx) == 0; i++)
		pd_test_outbox_run_for(&f.ox, 0.02);
	ck_assert_int_eq(pd_test_http_count(rx), 1);
	ck_assert_uint_eq(pd_outbox_inflight(f.ox.ob), 1);
	pd_outbox_free(f.ox.ob);
	f.ox.ob = NULL;
	pd_runner_free(f.ox.runner); /* aborts the transfer: its callback must not touch f.ox.ob */
	f.ox.runner = NULL;
	/* the row is still there for the next start */
	ck_assert_int_eq(db_int(&f, "SELECT count(*) FROM outbox WHERE dead = 0"), 1);
	fx_free(&f);
}
END_TEST

/* One retry against a 503 receiver in a fresh fixture: next_at - now, or -1. Run in
 * forked children: restarted daemons must not all pick the same jitter. */
static int64_t
one_retry_delay(void)
{
	static const struct pd_test_reply s503 = {.status = 503};
	struct fx f;
	struct pd_test_http *rx;
	struct pd_outbox_row row;
	int64_t d = -1;

	fx_init(&f);
	rx = fx_rx(&f, &s503, 1);
	fx_webhook(&f, rx->port);
	fx_add(&f, "hook", "trigger", "probed:post-detail:14", NULL, NULL);
	pd_outbox_kick(f.ox.ob);
	fx_wait(&f, 0, 1, 0);
	if (fx_head(&f, "hook", &row))
		d = row.next_at_ms - f.ox.clock.now_ms;
	fx_free(&f);
	return d;
}

START_TEST(test_jitter_differs_between_processes)
{
	int64_t d[4];
	int distinct = 0;

	for (int i = 0; i < 4; i++) {
		int fds[2];
		pid_t pid;
		int status;

		ck_assert_int_eq(pipe(fds), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			int64_t v;

			close(fds[0]);
			v = one_retry_delay();
			if (write(fds[1], &v, sizeof(v)) != (ssize_t)sizeof(v))
				_exit(1);
			_exit(0);
		}
		close(fds[1]);
		ck_assert_int_eq(read(fds[0], &d[i], sizeof(d[i])), (ssize_t)sizeof(d[i]));
		close(fds[0]);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		ck_assert_msg(d[i] >= 500 && d[i] <= 1000, "delay %lld", (long long)d[i]);
	}
	for (int i = 1; i < 4; i++)
		if (d[i] != d[0])
			distinct = 1;
	ck_assert_msg(distinct, "four processes all chose the same jitter: %lld ms",
		      (long long)d[0]);
}
END_TEST

static Suite *
outbox_suite(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("outbox");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_backoff_table);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_long_header);
	tcase_add_test(tc, test_retry_after_parse);
	tcase_add_loop_test(tc, test_2xx_delivered, 0,
			    sizeof(ok_statuses) / sizeof(ok_statuses[0]));
	tcase_add_test(tc, test_503_backoff_then_200);
	tcase_add_test(tc, test_503_then_200_two_requests);
	tcase_add_test(tc, test_429_retry_after);
	tcase_add_loop_test(tc, test_4xx_dead_letter, 0,
			    sizeof(permanent_statuses) / sizeof(permanent_statuses[0]));
	tcase_add_loop_test(tc, test_transient_retried, 0,
			    sizeof(transient_statuses) / sizeof(transient_statuses[0]));
	tcase_add_test(tc, test_receiver_down_then_up);
	tcase_add_test(tc, test_order_per_target);
	tcase_add_test(tc, test_dead_target_does_not_stall);
	tcase_add_test(tc, test_hung_target_does_not_stall);
	tcase_add_test(tc, test_pagerduty_render);
	tcase_add_test(tc, test_pagerduty_source_location);
	tcase_add_test(tc, test_pagerduty_summary_cap);
	tcase_add_test(tc, test_routing_key_not_in_db);
	tcase_add_test(tc, test_webhook_body_bytes);
	tcase_add_test(tc, test_unsendable_rows);
	tcase_add_test(tc, test_free_with_inflight);
	tcase_add_test(tc, test_jitter_differs_between_processes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	pd_log_set_level(PD_LOG_ERR);
	return pd_test_run(outbox_suite());
}
