/* outbox.c — durable delivery engine (contract in include/probed/outbox.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/log.h"
#include "probed/notify.h"
#include "probed/outbox.h"

#define OUTBOX_BATCH 32
#define OUTBOX_MAX_TARGETS 64

struct outbox_send {
	struct pd_outbox *ob;
	int64_t id;
	char target[64];
	char event[16];
	char dedup_key[128];
	int attempts;
};

struct pd_outbox {
	struct ev_loop *loop;
	struct pd_store *store;
	struct pd_runner *runner;
	const struct pd_clock *clock;
	const struct pd_config *cfg;
	ev_timer timer;
	size_t inflight;
	char busy[OUTBOX_MAX_TARGETS][64]; /* targets with a request in flight */
	struct pd_outbox_counters counters;
};

static void outbox_on_timer(EV_P_ ev_timer *w, int revents);

int64_t
pd_outbox_backoff_ms(int attempt)
{
	int64_t ms = 1000;

	for (int i = 0; i < attempt && ms < 300000; i++)
		ms *= 2;
	return ms > 300000 ? 300000 : ms;
}

struct pd_outbox *
pd_outbox_new(struct ev_loop *loop, struct pd_store *store, struct pd_runner *runner,
	      const struct pd_clock *clock, struct pd_err *err)
{
	struct pd_outbox *ob = calloc(1, sizeof(*ob));

	if (ob == NULL) {
		pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		return NULL;
	}
	ob->loop = loop;
	ob->store = store;
	ob->runner = runner;
	ob->clock = clock;
	ev_timer_init(&ob->timer, outbox_on_timer, 0., 0.);
	ob->timer.data = ob;
	return ob;
}

void
pd_outbox_free(struct pd_outbox *ob)
{
	if (ob == NULL)
		return;
	ev_timer_stop(ob->loop, &ob->timer);
	free(ob);
}

void
pd_outbox_set_config(struct pd_outbox *ob, const struct pd_config *cfg)
{
	ob->cfg = cfg;
}

size_t
pd_outbox_inflight(const struct pd_outbox *ob)
{
	return ob->inflight;
}

void
pd_outbox_counters(const struct pd_outbox *ob, struct pd_outbox_counters *c)
{
	*c = ob->counters;
}

static int
outbox_busy(struct pd_outbox *ob, const char *target)
{
	for (size_t i = 0; i < OUTBOX_MAX_TARGETS; i++)
		if (ob->busy[i][0] && strcmp(ob->busy[i], target) == 0)
			return 1;
	return 0;
}

static void
outbox_set_busy(struct pd_outbox *ob, const char *target, int on)
{
	for (size_t i = 0; i < OUTBOX_MAX_TARGETS; i++) {
		if (on && ob->busy[i][0] == '\0') {
			snprintf(ob->busy[i], sizeof(ob->busy[i]), "%s", target);
			return;
		}
		if (!on && strcmp(ob->busy[i], target) == 0) {
			ob->busy[i][0] = '\0';
			return;
		}
	}
}

static const struct pd_notify_cfg *
outbox_target(const struct pd_outbox *ob, const char *name)
{
	if (ob->cfg == NULL)
		return NULL;
	for (size_t i = 0; i < ob->cfg->nnotify; i++)
		if (strcmp(ob->cfg->notify[i].name, name) == 0)
			return &ob->cfg->notify[i];
	return NULL;
}

static void
outbox_arm(struct pd_outbox *ob)
{
	struct pd_err err = {0};
	int64_t next = 0, now;

	ev_timer_stop(ob->loop, &ob->timer);
	if (pd_store_outbox_next_due(ob->store, &next, &err) != 0) {
		pd_log_err("outbox: %s", err.msg);
		next = pd_clock_wall_ms(ob->clock) + 5000;
	}
	if (next == 0)
		return;
	now = pd_clock_wall_ms(ob->clock);
	/* rows of busy targets may already be due: look again within a second */
	ev_timer_set(&ob->timer, next > now ? (double)(next - now) / 1000.0 : 1.0, 0.);
	ev_timer_start(ob->loop, &ob->timer);
}

static void
outbox_on_done(void *ud, struct pd_response *resp)
{
	struct outbox_send *s = ud;
	struct pd_outbox *ob = s->ob;
	struct pd_err err = {0};
	char why[256];
	int rc = 0;

	ob->inflight--;
	outbox_set_busy(ob, s->target, 0);
	if (resp->curl_code != 0)
		snprintf(why, sizeof(why), "%s", resp->error);
	else
		snprintf(why, sizeof(why), "HTTP %ld", resp->http_status);
	pd_log_redact(why, sizeof(why));

	switch (pd_notify_classify(resp)) {
	case PD_NOTIFY_DELIVERED:
		rc = pd_store_outbox_done(ob->store, s->id, &err);
		ob->counters.sent++;
		pd_log_info("notify %s: %s %s delivered (%s, attempt %d)", s->target, s->event,
			    s->dedup_key, why, s->attempts + 1);
		pd_store_add_event(ob->store, pd_clock_wall_ms(ob->clock), NULL, "notify_ok",
				   s->target, NULL);
		break;
	case PD_NOTIFY_RETRY: {
		int64_t back = pd_outbox_backoff_ms(s->attempts);
		int64_t next;

		/* full jitter in [back/2, back] so restarted daemons do not stampede */
		back = back / 2 + (int64_t)(drand48() * (double)(back / 2));
		if (resp->curl_code == 0 && resp->retry_after_s > 0)
			back = resp->retry_after_s * 1000 > 3600000 ? 3600000
								    : resp->retry_after_s * 1000;
		next = pd_clock_wall_ms(ob->clock) + back;
		rc = pd_store_outbox_retry(ob->store, s->id, next, why, &err);
		ob->counters.retried++;
		pd_log_warn("notify %s: %s %s failed (%s), attempt %d, retry in %lld ms", s->target,
			    s->event, s->dedup_key, why, s->attempts + 1, (long long)back);
		break;
	}
	case PD_NOTIFY_PERMANENT:
		rc = pd_store_outbox_dead(ob->store, s->id, why, &err);
		ob->counters.dead++;
		pd_log_err("notify %s: %s %s REJECTED (%s): dead-lettered, will not retry; "
			   "fix the target and see `probectl status`",
			   s->target, s->event, s->dedup_key, why);
		pd_store_add_event(ob->store, pd_clock_wall_ms(ob->clock), NULL, "dead_letter",
				   s->target, NULL);
		break;
	}
	if (rc != 0)
		pd_log_err("outbox: %s", err.msg);
	free(s);
	/* the next row of this target (committed with the next batch) */
	ev_timer_stop(ob->loop, &ob->timer);
	ev_timer_set(&ob->timer, 0., 0.);
	ev_timer_start(ob->loop, &ob->timer);
}

static int
outbox_send(struct pd_outbox *ob, struct pd_outbox_row *row)
{
	const struct pd_notify_cfg *t = outbox_target(ob, row->target);
	const struct pd_notify_ops *ops;
	struct pd_request req = {0};
	struct pd_buf body;
	struct pd_header hdrs[33];
	struct outbox_send *s = NULL;
	struct pd_err err = {0};
	cJSON *event = NULL;
	size_t nh = 0;
	int rc = 0;

	pd_buf_init(&body, 0);
	if (t == NULL || (ops = pd_notify_ops_for(t->type)) == NULL) {
		pd_log_err("notify %s: target is no longer configured; dead-lettering %s %s",
			   row->target, row->event, row->dedup_key);
		pd_store_outbox_dead(ob->store, row->id, "target not configured", NULL);
		ob->counters.dead++;
		goto out;
	}
	event = cJSON_Parse(row->payload);
	if (event == NULL) {
		pd_store_outbox_dead(ob->store, row->id, "corrupt payload", NULL);
		ob->counters.dead++;
		goto out;
	}
	if (ops->render(t, event, &body, &err) != 0) {
		pd_log_err("notify %s: %s", t->name, err.msg);
		pd_store_outbox_dead(ob->store, row->id, err.msg, NULL);
		ob->counters.dead++;
		goto out;
	}
	hdrs[nh++] = (struct pd_header){.name = "Content-Type", .value = "application/json"};
	/* no "Expect: 100-continue" round trip for a small JSON body */
	hdrs[nh++] = (struct pd_header){.name = "Expect", .value = NULL};
	for (size_t i = 0; i < t->nheaders && nh < 33; i++)
		hdrs[nh++] = t->headers[i];
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto out;
	s->ob = ob;
	s->id = row->id;
	s->attempts = row->attempts;
	snprintf(s->target, sizeof(s->target), "%s", row->target);
	snprintf(s->event, sizeof(s->event), "%s", row->event);
	snprintf(s->dedup_key, sizeof(s->dedup_key), "%s", row->dedup_key);
	req.url = t->url;
	req.method = "POST";
	req.headers = hdrs;
	req.nheaders = nh;
	req.body = body.data;
	req.body_len = body.len;
	req.timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 10000;
	req.max_body = 64 * 1024;
	if (pd_runner_submit(ob->runner, &req, outbox_on_done, s, &err) != 0) {
		pd_log_err("notify %s: %s", t->name, err.msg);
		free(s);
		goto out;
	}
	ob->inflight++;
	outbox_set_busy(ob, row->target, 1);
	rc = 1;
out:
	if (body.data)
		explicit_bzero(body.data, body.len);
	pd_buf_cleanup(&body);
	cJSON_Delete(event);
	return rc;
}

void
pd_outbox_kick(struct pd_outbox *ob)
{
	struct pd_outbox_row rows[OUTBOX_BATCH];
	struct pd_err err = {0};
	size_t n = 0;

	memset(rows, 0, sizeof(rows));
	if (pd_store_outbox_due(ob->store, pd_clock_wall_ms(ob->clock), rows, OUTBOX_BATCH, &n,
				&err) != 0) {
		pd_log_err("outbox: %s", err.msg);
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!outbox_busy(ob, rows[i].target))
			outbox_send(ob, &rows[i]);
		pd_outbox_row_cleanup(&rows[i]);
	}
	outbox_arm(ob);
}

static void
outbox_on_timer(EV_P_ ev_timer *w, int revents)
{
	(void)EV_A;
	(void)revents;
	pd_outbox_kick(w->data);
}
