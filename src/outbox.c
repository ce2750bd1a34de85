/* outbox.c — durable delivery engine (contract in include/probed/outbox.h).
 *
 * Three kinds of work, all on the loop:
 *   - outbox rows: one in flight per target, strictly in order; HTTP through the
 *     runner, or a command for `exec` targets; a per-target circuit breaker;
 *   - Alertmanager re-sends: an ev_timer re-posts each alertmanager target's stored
 *     alerts every resend_interval (best effort: a failure waits for the next round);
 *   - bookkeeping of what is in flight, so freeing the outbox while the runner still
 *     holds a request (the runner outlives us) is safe: the late callback only frees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include "probed/buf.h"
#include "probed/log.h"
#include "probed/notify.h"
#include "probed/outbox.h"

#define OUTBOX_BATCH 32
#define OUTBOX_MAX_TARGETS 64
#define OUTBOX_MAX_HEADERS 33
#define OUTBOX_RECHECK_MS 60000
#define OUTBOX_AM_MAX_ALERTS 1000 /* per re-send request */

enum send_kind { SEND_ROW, SEND_AM_RESEND };

struct outbox_send {
	struct pd_outbox *ob; /* NULL once the outbox is gone: the callback only frees */
	struct outbox_send *prev, *next;
	enum send_kind kind;
	int64_t id;
	char target[64];
	char event[16];
	char dedup_key[128];
	int attempts;
	int64_t sent_ms;
	struct pd_exec *exec;  /* exec targets */
	struct pd_am_alert am; /* alertmanager trigger: recorded once delivered */
	int has_am;
	cJSON *ev;        /* a row of several requests: its event, for the next one */
	int step, nsteps; /* this request, of ops->requests() (1 for most rows) */
	char event_id[64];
	char receipt[200]; /* the receivers' receipts (Opsgenie requestIds), ", " */
};

struct outbox_breaker {
	char target[64]; /* "" = free slot */
	struct pd_outbox_breaker b;
};

struct outbox_am {
	char target[64]; /* "" = free slot */
	int64_t last_ms; /* last re-send round started (wall ms) */
	int busy;
	int failing; /* last re-send failed (log once per change) */
};

struct pd_outbox {
	struct ev_loop *loop;
	struct pd_store *store;
	struct pd_runner *runner;
	const struct pd_clock *clock;
	const struct pd_config *cfg;
	ev_timer timer;
	ev_timer am_timer;
	size_t inflight;
	char busy[OUTBOX_MAX_TARGETS][64]; /* targets with a row in flight */
	struct outbox_breaker breakers[OUTBOX_MAX_TARGETS];
	struct outbox_am am[OUTBOX_MAX_TARGETS];
	struct outbox_send *sends; /* in flight */
	char only_key[128];        /* non-empty: send only rows of this dedup key */
	struct pd_outbox_counters counters;
	struct pd_outbox_am_counters am_counters;
	uint64_t rng;
};

static void outbox_on_timer(EV_P_ ev_timer *w, int revents);
static void outbox_on_am_timer(EV_P_ ev_timer *w, int revents);

int64_t
pd_outbox_backoff_ms(int attempt)
{
	int64_t ms = 1000;

	for (int i = 0; i < attempt && ms < 300000; i++)
		ms *= 2;
	return ms > 300000 ? 300000 : ms;
}

/* xorshift64*: per-outbox state seeded from getrandom(), so daemons restarted together
 * (or forked test processes) do not pick the same jitter. */
static uint64_t
outbox_rand(struct pd_outbox *ob)
{
	uint64_t x = ob->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ob->rng = x;
	return x * 2685821657736338717ULL;
}

static void
outbox_seed(struct pd_outbox *ob)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (uint64_t)pd_clock_mono_ms() * 6364136223846793005ULL ^ (uint64_t)getpid();
	ob->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
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
	outbox_seed(ob);
	ev_timer_init(&ob->timer, outbox_on_timer, 0., 0.);
	ob->timer.data = ob;
	ev_timer_init(&ob->am_timer, outbox_on_am_timer, 0., 0.);
	ob->am_timer.data = ob;
	return ob;
}

static void
send_unlink(struct pd_outbox *ob, struct outbox_send *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else if (ob->sends == s)
		ob->sends = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static void
send_free(struct outbox_send *s)
{
	if (s->has_am)
		pd_store_am_alert_cleanup(&s->am);
	cJSON_Delete(s->ev);
	free(s);
}

void
pd_outbox_free(struct pd_outbox *ob)
{
	struct outbox_send *s, *next;

	if (ob == NULL)
		return;
	ev_timer_stop(ob->loop, &ob->timer);
	ev_timer_stop(ob->loop, &ob->am_timer);
	for (s = ob->sends; s != NULL; s = next) {
		next = s->next;
		s->prev = s->next = NULL;
		s->ob = NULL;
		if (s->exec != NULL) {
			/* its row stays in the outbox and runs again after the restart */
			pd_notify_exec_cancel(s->exec);
			send_free(s);
		}
		/* HTTP: the runner still owns the transfer; its callback frees s */
	}
	free(ob);
}

/* ---------------------------------------------------------------- breakers */

static struct outbox_breaker *
breaker_find(const struct pd_outbox *ob, const char *target)
{
	for (size_t i = 0; i < OUTBOX_MAX_TARGETS; i++)
		if (ob->breakers[i].target[0] && strcmp(ob->breakers[i].target, target) == 0)
			return (struct outbox_breaker *)&ob->breakers[i];
	return NULL;
}

static struct outbox_breaker *
breaker_get(struct pd_outbox *ob, const char *target)
{
	struct outbox_breaker *b = breaker_find(ob, target);

	if (b != NULL)
		return b;
	for (size_t i = 0; i < OUTBOX_MAX_TARGETS; i++) {
		if (ob->breakers[i].target[0] == '\0') {
			b = &ob->breakers[i];
			memset(b, 0, sizeof(*b));
			snprintf(b->target, sizeof(b->target), "%s", target);
			return b;
		}
	}
	return NULL; /* more targets than slots: no breaker, always closed */
}

void
pd_outbox_breaker(const struct pd_outbox *ob, const char *target, struct pd_outbox_breaker *out)
{
	const struct outbox_breaker *b = breaker_find(ob, target);

	if (b != NULL)
		*out = b->b;
	else
		memset(out, 0, sizeof(*out));
}

const char *
pd_outbox_breaker_str(enum pd_breaker_state s)
{
	switch (s) {
	case PD_BREAKER_CLOSED:
		return "closed";
	case PD_BREAKER_OPEN:
		return "open";
	case PD_BREAKER_HALF_OPEN:
		return "half-open";
	}
	return "?";
}

/* The target answered (2xx, or a permanent 4xx): close. */
static void
breaker_ok(struct pd_outbox *ob, const char *target)
{
	struct outbox_breaker *b = breaker_find(ob, target);
	char dur[32];

	if (b == NULL)
		return;
	if (b->b.state != PD_BREAKER_CLOSED) {
		pd_config_duration_format(b->b.cooldown_ms, dur, sizeof(dur));
		pd_log_info("notify %s: circuit breaker %s -> closed (target answers again; "
			    "last cool-down %s)",
			    target, pd_outbox_breaker_str(b->b.state), dur);
		pd_store_add_event(ob->store, pd_clock_wall_ms(ob->clock), NULL, "breaker_closed",
				   target, NULL);
	}
	b->b.state = PD_BREAKER_CLOSED;
	b->b.failures = 0;
	b->b.cooldown_ms = 0;
	b->b.open_until_ms = 0;
}

void
pd_outbox_policy(const struct pd_notify_cfg *t, struct pd_outbox_policy *out)
{
	int page = t != NULL && pd_notify_role_of(t) == PD_NOTIFY_ROLE_PAGE;

	out->max_backoff_ms = t && t->retry_max_backoff_ms > 0 ? t->retry_max_backoff_ms
			      : page                           ? PD_OUTBOX_PAGE_MAX_BACKOFF_MS
							       : PD_OUTBOX_MAX_BACKOFF_MS;
	out->max_retry_after_ms = t && t->retry_max_after_ms > 0 ? t->retry_max_after_ms
								 : PD_OUTBOX_MAX_RETRY_AFTER_MS;
	out->breaker_failures =
		t && t->breaker_failures > 0 ? t->breaker_failures : PD_OUTBOX_BREAKER_FAILURES;
	out->cooldown_ms = t && t->breaker_cooldown_ms > 0 ? t->breaker_cooldown_ms
							   : PD_OUTBOX_BREAKER_COOLDOWN_MS;
	out->max_cooldown_ms = t && t->breaker_max_cooldown_ms > 0
				       ? t->breaker_max_cooldown_ms
				       : PD_OUTBOX_BREAKER_MAX_COOLDOWN_MS;
	if (page) {
		/* a page waits for the breaker no longer than for its own backoff */
		if (out->cooldown_ms > out->max_backoff_ms)
			out->cooldown_ms = out->max_backoff_ms;
		if (out->max_cooldown_ms > out->max_backoff_ms)
			out->max_cooldown_ms = out->max_backoff_ms;
	}
	if (out->max_cooldown_ms < out->cooldown_ms)
		out->max_cooldown_ms = out->cooldown_ms;
}

static const struct pd_notify_cfg *outbox_target(const struct pd_outbox *ob, const char *name);

/* A transient failure at now. Returns when the next attempt may go if the breaker is
 * (now) open, else 0. */
static int64_t
breaker_fail(struct pd_outbox *ob, const char *target, int64_t now)
{
	struct outbox_breaker *b = breaker_get(ob, target);
	struct pd_outbox_policy pol;
	enum pd_breaker_state from;
	char dur[32];

	if (b == NULL)
		return 0;
	pd_outbox_policy(outbox_target(ob, target), &pol);
	b->b.failures++;
	from = b->b.state;
	if (from == PD_BREAKER_HALF_OPEN) {
		b->b.cooldown_ms *= 2;
		if (b->b.cooldown_ms > pol.max_cooldown_ms)
			b->b.cooldown_ms = pol.max_cooldown_ms;
	} else if (from == PD_BREAKER_CLOSED && b->b.failures >= pol.breaker_failures) {
		b->b.cooldown_ms = pol.cooldown_ms;
	} else {
		return from == PD_BREAKER_OPEN ? b->b.open_until_ms : 0;
	}
	b->b.state = PD_BREAKER_OPEN;
	b->b.open_until_ms = now + b->b.cooldown_ms;
	b->b.opened++;
	pd_config_duration_format(b->b.cooldown_ms, dur, sizeof(dur));
	pd_log_warn("notify %s: circuit breaker %s -> open after %d consecutive failures; "
		    "no attempts for %s, other targets are not affected",
		    target, pd_outbox_breaker_str(from), b->b.failures, dur);
	pd_store_add_event(ob->store, now, NULL, "breaker_open", target, NULL);
	return b->b.open_until_ms;
}

/* May a row of target go now? OPEN past its cool-down turns HALF_OPEN (one probe). */
static int
breaker_allows(struct pd_outbox *ob, const char *target, int64_t now)
{
	struct outbox_breaker *b = breaker_find(ob, target);

	if (b == NULL || b->b.state != PD_BREAKER_OPEN)
		return 1;
	if (now < b->b.open_until_ms)
		return 0;
	b->b.state = PD_BREAKER_HALF_OPEN;
	pd_log_info("notify %s: circuit breaker open -> half-open: one probe request", target);
	return 1;
}

/* ---------------------------------------------------------------- config, counters */

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

/* does t's type have the capability flag f (PD_NOTIFY_F_*)? */
static int
outbox_type_has(const struct pd_notify_cfg *t, unsigned f)
{
	const struct pd_notify_ops *ops = t != NULL ? pd_notify_ops_for(t->type) : NULL;

	return ops != NULL && (ops->flags & f) != 0;
}

struct stale_am {
	const struct pd_outbox *ob;
	char names[OUTBOX_MAX_TARGETS][64];
	size_t n;
};

static int
outbox_find_stale_am(void *ud, const struct pd_am_alert *a)
{
	struct stale_am *sa = ud;
	const struct pd_notify_cfg *t = outbox_target(sa->ob, a->target);

	if (outbox_type_has(t, PD_NOTIFY_F_RESENDS))
		return 0;
	for (size_t i = 0; i < sa->n; i++)
		if (strcmp(sa->names[i], a->target) == 0)
			return 0;
	if (sa->n == OUTBOX_MAX_TARGETS)
		return 1;
	snprintf(sa->names[sa->n++], sizeof(sa->names[0]), "%s", a->target);
	return 0;
}

/* Alerts kept for targets that are gone (or no longer alertmanagers): forget them. */
static void
outbox_drop_stale_am(struct pd_outbox *ob)
{
	struct stale_am *sa = calloc(1, sizeof(*sa));
	struct pd_err err = {0};

	if (sa == NULL)
		return;
	sa->ob = ob;
	if (pd_store_am_list(ob->store, NULL, NULL, outbox_find_stale_am, sa, &err) < 0)
		pd_log_err("outbox: %s", err.msg);
	for (size_t i = 0; i < sa->n; i++) {
		pd_log_info("notify %s: no longer an alertmanager target; forgetting its alerts",
			    sa->names[i]);
		if (pd_store_am_prune(ob->store, sa->names[i], 0, NULL, &err) != 0)
			pd_log_err("outbox: %s", err.msg);
	}
	free(sa);
}

void
pd_outbox_set_config(struct pd_outbox *ob, const struct pd_config *cfg)
{
	int64_t min_resend = 0;

	ob->cfg = cfg;
	ev_timer_stop(ob->loop, &ob->am_timer);
	for (size_t i = 0; cfg != NULL && i < cfg->nnotify; i++) {
		const struct pd_notify_cfg *t = &cfg->notify[i];

		if (outbox_type_has(t, PD_NOTIFY_F_RESENDS) &&
		    (min_resend == 0 || t->resend_interval_ms < min_resend))
			min_resend = t->resend_interval_ms > 0 ? t->resend_interval_ms : 60000;
	}
	if (ob->store != NULL)
		outbox_drop_stale_am(ob);
	if (min_resend > 0) {
		/* a quarter of the shortest interval: a round is at most 25% late */
		double tick = (double)min_resend / 4000.0;

		if (tick < 0.25)
			tick = 0.25;
		if (tick > 15.0)
			tick = 15.0;
		ev_timer_set(&ob->am_timer, tick, tick);
		ev_timer_start(ob->loop, &ob->am_timer);
	}
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

void
pd_outbox_am_counters(const struct pd_outbox *ob, struct pd_outbox_am_counters *c)
{
	*c = ob->am_counters;
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

/* A request's body or URL (they may hold credentials), wiped and freed. */
static void
outbox_buf_wipe(struct pd_buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->len);
	pd_buf_cleanup(b);
}

/* Send s is under way: in the list of sends, counted in flight. */
static void
outbox_track(struct pd_outbox *ob, struct outbox_send *s)
{
	s->next = ob->sends;
	if (ob->sends)
		ob->sends->prev = s;
	ob->sends = s;
	ob->inflight++;
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
	now = pd_clock_wall_ms(ob->clock);
	/* rows of busy targets may already be due: look again within a second; and at least
	 * once a minute, for rows another process queued (`probectl outbox requeue`) */
	if (next == 0 || next - now > OUTBOX_RECHECK_MS)
		next = now + OUTBOX_RECHECK_MS;
	ev_timer_set(&ob->timer, next > now ? (double)(next - now) / 1000.0 : 1.0, 0.);
	ev_timer_start(ob->loop, &ob->timer);
}

/* ---------------------------------------------------------------- row completion */

/* One attempt of a row ended with verdict; why is safe to log (redacted). */
static void
outbox_finish(struct pd_outbox *ob, struct outbox_send *s, enum pd_notify_verdict verdict,
	      const char *why, int64_t retry_after_s)
{
	struct pd_err err = {0};
	int64_t now = pd_clock_wall_ms(ob->clock);
	int rc = 0;

	switch (verdict) {
	case PD_NOTIFY_DELIVERED:
		rc = pd_store_outbox_delivered(ob->store, s->id, now, &err);
		ob->counters.sent++;
		if (s->receipt[0]) {
			char detail[300];

			/* the receiver's receipt: "delivered" is traceable (Opsgenie: GET
			 * /v2/alerts/requests/ID says what became of the request) */
			pd_log_info("notify %s: %s %s delivered (%s, request id %s, attempt %d)",
				    s->target, s->event, s->dedup_key, why, s->receipt,
				    s->attempts + 1);
			snprintf(detail, sizeof(detail), "%s request id %s", s->target, s->receipt);
			pd_store_add_event(ob->store, now, NULL, "notify_ok", detail, NULL);
		} else {
			pd_log_info("notify %s: %s %s delivered (%s, attempt %d)", s->target,
				    s->event, s->dedup_key, why, s->attempts + 1);
			pd_store_add_event(ob->store, now, NULL, "notify_ok", s->target, NULL);
		}
		if (rc == 0 && s->has_am &&
		    (rc = pd_store_am_fire(ob->store, &s->am, now, &err)) != 0)
			pd_log_err("notify %s: cannot keep the alert for re-sends", s->target);
		breaker_ok(ob, s->target);
		break;
	case PD_NOTIFY_RETRY: {
		int64_t back = pd_outbox_backoff_ms(s->attempts);
		int64_t next, until;
		struct pd_outbox_policy pol;

		pd_outbox_policy(outbox_target(ob, s->target), &pol);
		if (back > pol.max_backoff_ms)
			back = pol.max_backoff_ms;
		/* full jitter in [back/2, back] so restarted daemons do not stampede */
		back = back / 2 + (int64_t)(outbox_rand(ob) % (uint64_t)(back / 2 + 1));
		if (retry_after_s > 0) /* the receiver's word, within our cap */
			back = retry_after_s * 1000 > pol.max_retry_after_ms
				       ? pol.max_retry_after_ms
				       : retry_after_s * 1000;
		next = now + back;
		until = breaker_fail(ob, s->target, now);
		if (until > next)
			next = until;
		rc = pd_store_outbox_retry(ob->store, s->id, next, why, &err);
		ob->counters.retried++;
		pd_log_warn("notify %s: %s %s failed (%s), attempt %d, retry in %lld ms", s->target,
			    s->event, s->dedup_key, why, s->attempts + 1, (long long)(next - now));
		break;
	}
	case PD_NOTIFY_PERMANENT:
		rc = pd_store_outbox_dead(ob->store, s->id, why, &err);
		ob->counters.dead++;
		pd_log_err("notify %s: %s %s REJECTED (%s): dead-lettered, will not retry; "
			   "fix the target and see `probectl status`",
			   s->target, s->event, s->dedup_key, why);
		pd_store_add_event(ob->store, now, NULL, "dead_letter", s->target, NULL);
		breaker_ok(ob, s->target);
		break;
	}
	if (rc != 0)
		pd_log_err("outbox: %s", err.msg);
	/* the next row of this target (committed with the next batch) */
	ev_timer_stop(ob->loop, &ob->timer);
	ev_timer_set(&ob->timer, 0., 0.);
	ev_timer_start(ob->loop, &ob->timer);
}

static void outbox_am_done(struct pd_outbox *ob, struct outbox_send *s, struct pd_response *resp);
static int outbox_submit_step(struct pd_outbox *ob, const struct pd_notify_cfg *t,
			      const struct pd_notify_ops *ops, struct outbox_send *s,
			      struct pd_err *err);

/* Seconds the receiver asked us to wait (Retry-After, either form); a 429 that does not
 * say waits PD_OUTBOX_429_WAIT_MS: rate limits last longer than a second. 0 = no ask. */
static int64_t
outbox_retry_after_s(const struct pd_response *resp)
{
	if (resp->curl_code != 0)
		return 0;
	if (resp->retry_after_s > 0)
		return resp->retry_after_s;
	if (resp->http_status == 429)
		return PD_OUTBOX_429_WAIT_MS / 1000;
	return 0;
}

/* An accepted answer: note the receiver's receipt, when its protocol has one. */
static void
outbox_note_receipt(struct pd_outbox *ob, struct outbox_send *s, const struct pd_response *resp)
{
	const struct pd_notify_cfg *t = outbox_target(ob, s->target);
	const struct pd_notify_ops *ops = t ? pd_notify_ops_for(t->type) : NULL;
	char id[96];
	size_t len = strlen(s->receipt);

	if (ops == NULL || ops->receipt == NULL)
		return;
	if (ops->receipt(t, resp, id, sizeof(id)) != 1) {
		/* Opsgenie always sends one: a 2xx without it is not Opsgenie's answer (a proxy,
		 * a captive portal, a wrong URL), and the alert may never exist */
		pd_log_warn("notify %s: %s %s: HTTP %ld without a request id: accepted, but not "
			    "traceable (is the URL really %s's?)",
			    s->target, s->event, s->dedup_key, resp->http_status, ops->name);
		return;
	}
	if (len + strlen(id) + 3 < sizeof(s->receipt))
		snprintf(s->receipt + len, sizeof(s->receipt) - len, "%s%s", len ? ", " : "", id);
}

static void
outbox_on_done(void *ud, struct pd_response *resp)
{
	struct outbox_send *s = ud;
	struct pd_outbox *ob = s->ob;
	enum pd_notify_verdict verdict;
	char why[256];

	if (ob == NULL) { /* the outbox was freed; the row is retried after the restart */
		send_free(s);
		return;
	}
	send_unlink(ob, s);
	ob->inflight--;
	if (s->kind == SEND_AM_RESEND) {
		outbox_am_done(ob, s, resp);
		send_free(s);
		return;
	}
	outbox_set_busy(ob, s->target, 0);
	{
		/* the type's own verdict and words (SMTP's reply codes) */
		const struct pd_notify_cfg *tt = outbox_target(ob, s->target);
		const struct pd_notify_ops *o = tt ? pd_notify_ops_for(tt->type) : NULL;

		if (resp->curl_code != 0)
			snprintf(why, sizeof(why), "%s", resp->error);
		else
			snprintf(why, sizeof(why), "%s %ld",
				 o && o->status_word ? o->status_word : "HTTP", resp->http_status);
		verdict = o && o->classify ? o->classify(resp) : pd_notify_classify(resp);
	}
	pd_log_redact(why, sizeof(why));
	if (verdict == PD_NOTIFY_DELIVERED)
		outbox_note_receipt(ob, s, resp);
	if (verdict == PD_NOTIFY_DELIVERED && s->step + 1 < s->nsteps) {
		/* the next request of the row (an Opsgenie update: priority, message,
		 * description); a failure retries the whole row, the requests are idempotent */
		const struct pd_notify_cfg *t = outbox_target(ob, s->target);
		const struct pd_notify_ops *ops = t ? pd_notify_ops_for(t->type) : NULL;
		struct pd_err err = {0};

		s->step++;
		if (ops != NULL && ops->request_step != NULL &&
		    outbox_submit_step(ob, t, ops, s, &err) == 0)
			return;
		if (ops == NULL || ops->request_step == NULL)
			snprintf(err.msg, sizeof(err.msg), "target no longer configured");
		snprintf(why, sizeof(why), "request %d of %d: %.200s", s->step + 1, s->nsteps,
			 err.msg);
		pd_log_redact(why, sizeof(why));
		verdict = PD_NOTIFY_RETRY;
	}
	outbox_finish(ob, s, verdict, why, outbox_retry_after_s(resp));
	send_free(s);
}

static void
outbox_on_exec_done(void *ud, const struct pd_exec_result *res)
{
	struct outbox_send *s = ud;
	struct pd_outbox *ob = s->ob;
	char why[256];

	s->exec = NULL; /* it frees itself after this call */
	send_unlink(ob, s);
	ob->inflight--;
	outbox_set_busy(ob, s->target, 0);
	pd_notify_exec_describe(res, why, sizeof(why));
	outbox_finish(ob, s, pd_notify_exec_classify(res), why, 0);
	send_free(s);
}

/* ---------------------------------------------------------------- sending a row */

struct am_vec {
	struct pd_am_alert *a;
	size_t n, cap;
	int nomem;
};

static int
am_vec_add(void *ud, const struct pd_am_alert *a)
{
	struct am_vec *v = ud;
	struct pd_am_alert *c;

	if (v->n >= OUTBOX_AM_MAX_ALERTS)
		return 1;
	if (pd_buf_grow(&v->a, &v->cap, v->n + 1, sizeof(*v->a)) != 0) {
		v->nomem = 1;
		return 1;
	}
	c = &v->a[v->n];
	*c = *a;
	c->labels = strdup(a->labels);
	c->annotations = strdup(a->annotations);
	c->generator_url = a->generator_url ? strdup(a->generator_url) : NULL;
	if (c->labels == NULL || c->annotations == NULL ||
	    (a->generator_url != NULL && c->generator_url == NULL)) {
		pd_store_am_alert_cleanup(c);
		v->nomem = 1;
		return 1;
	}
	v->n++;
	return 0;
}

static void
am_vec_free(struct am_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		pd_store_am_alert_cleanup(&v->a[i]);
	free(v->a);
	memset(v, 0, sizeof(*v));
}

/* Alertmanager rows: a trigger sends its alert (kept in s for the store once
 * delivered); a resolve ends the stored label sets of its dedup key and sends them
 * with endsAt (or, when none was stored, the alert built from the event). */
static int
outbox_am_row_body(struct pd_outbox *ob, const struct pd_notify_cfg *t, const cJSON *event,
		   struct outbox_send *s, struct pd_buf *body, struct pd_err *err)
{
	int64_t now = pd_clock_wall_ms(ob->clock);
	struct am_vec v = {0};
	struct pd_am_alert a;
	int rc;

	if ((rc = pd_notify_am_alert(t, event, now, &a, err)) != 0)
		return rc;
	if (a.ends_ms == 0) {
		rc = pd_notify_am_body(t, &a, 1, now, body, err);
		s->am = a;
		s->has_am = 1;
		return rc;
	}
	if ((rc = pd_store_am_resolve(ob->store, t->name, s->dedup_key, a.ends_ms, NULL, err)) ==
		    0 &&
	    (rc = pd_store_am_list(ob->store, t->name, s->dedup_key, am_vec_add, &v, err)) == 0) {
		if (v.nomem)
			rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		else if (v.n > 0)
			rc = pd_notify_am_body(t, v.a, v.n, now, body, err);
		else
			rc = pd_notify_am_body(t, &a, 1, now, body, err);
	}
	am_vec_free(&v);
	pd_store_am_alert_cleanup(&a);
	return rc;
}

static int
outbox_start_exec(struct pd_outbox *ob, const struct pd_notify_cfg *t, const cJSON *event,
		  struct outbox_send *s, const struct pd_buf *body)
{
	char ev[64], key[200], sev[32], tgt[96];
	const char *env[6];
	char eid[96];
	struct pd_err err = {0};

	snprintf(ev, sizeof(ev), "PROBED_EVENT=%s", s->event);
	snprintf(key, sizeof(key), "PROBED_DEDUP_KEY=%s", s->dedup_key);
	snprintf(sev, sizeof(sev), "PROBED_SEVERITY=P%d", pd_notify_event_severity(event));
	snprintf(tgt, sizeof(tgt), "PROBED_TARGET=%s", t->name);
	env[0] = ev;
	env[1] = key;
	env[2] = sev;
	env[3] = tgt;
	snprintf(eid, sizeof(eid), "PROBED_EVENT_ID=%s", pd_notify_jstr(event, "event_id", ""));
	env[4] = eid;
	env[5] = NULL;
	s->exec = pd_notify_exec_start(ob->loop, t, body->data ? body->data : "", body->len, env,
				       outbox_on_exec_done, s, &err);
	if (s->exec == NULL) {
		pd_log_redact(err.msg, sizeof(err.msg));
		pd_log_err("notify %s: %s", t->name, err.msg);
		outbox_finish(ob, s, PD_NOTIFY_RETRY, err.msg, 0);
		return -1;
	}
	return 0;
}

/* Hand one request of s's row (body and url already built; url empty: t->url) to the
 * runner; s is then in flight. 0, or -1 with err set (s still ours). */
static int
outbox_submit(struct pd_outbox *ob, const struct pd_notify_cfg *t, const struct pd_notify_ops *ops,
	      struct outbox_send *s, const char *method, const struct pd_buf *body,
	      const struct pd_buf *url, struct pd_err *err)
{
	struct pd_request req = {0};
	struct pd_header hdrs[OUTBOX_MAX_HEADERS];
	char auth[8192]; /* "GenieKey <key>": any key a config accepts fits */
	const char *auth_name;
	size_t nh = 0;
	int rc;

	auth[0] = '\0';
	hdrs[nh++] = (struct pd_header){.name = "Content-Type", .value = "application/json"};
	/* no "Expect: 100-continue" round trip for a small JSON body */
	hdrs[nh++] = (struct pd_header){.name = "Expect", .value = NULL};
	if (ops->auth_header != NULL &&
	    (auth_name = ops->auth_header(t, auth, sizeof(auth))) != NULL)
		hdrs[nh++] =
			(struct pd_header){.name = (char *)auth_name, .value = auth, .secret = 1};
	if (ops->flags & PD_NOTIFY_F_IDEMPOTENCY) /* draft-ietf-httpapi-idempotency-key-header */
		hdrs[nh++] = (struct pd_header){.name = "Idempotency-Key", .value = s->event_id};
	for (size_t i = 0; i < t->nheaders && nh < OUTBOX_MAX_HEADERS; i++)
		hdrs[nh++] = t->headers[i];
	req.url = url->data ? url->data : t->url;
	req.method = method;
	req.headers = hdrs;
	req.nheaders = nh;
	req.body = body->data;
	req.body_len = body->len;
	req.timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 10000;
	req.max_body = 64 * 1024;
	req.protocols = ops->schemes;
	/* the type's transport options (another protocol, its envelope and credentials) */
	if (ops->prepare != NULL && (rc = ops->prepare(t, &req, err)) != 0) {
		explicit_bzero(auth, sizeof(auth));
		return -1;
	}
	rc = pd_runner_submit(ob->runner, &req, outbox_on_done, s, err);
	explicit_bzero(auth, sizeof(auth));
	if (rc != 0)
		return -1;
	outbox_track(ob, s);
	outbox_set_busy(ob, s->target, 1);
	return 0;
}

/* Request s->step of a row of several (ops->request_step) for target t, submitted. 0, or
 * -1 with err set: PD_ERR_NOMEM/INVALID from rendering, anything else from the runner. */
static int
outbox_submit_step(struct pd_outbox *ob, const struct pd_notify_cfg *t,
		   const struct pd_notify_ops *ops, struct outbox_send *s, struct pd_err *err)
{
	struct pd_buf body, url;
	const char *method = "POST";
	int rc;

	pd_buf_init(&body, 0);
	pd_buf_init(&url, 0);
	rc = ops->request_step(t, s->ev, s->step, &method, &body, &url, err);
	if (rc == 0)
		rc = outbox_submit(ob, t, ops, s, method, &body, &url, err);
	outbox_buf_wipe(&body);
	outbox_buf_wipe(&url);
	return rc;
}

static int
outbox_send(struct pd_outbox *ob, struct pd_outbox_row *row)
{
	const struct pd_notify_cfg *t = outbox_target(ob, row->target);
	const struct pd_notify_ops *ops = NULL;
	struct pd_buf body, url;
	struct outbox_send *s = NULL;
	struct pd_err err = {0};
	cJSON *event = NULL;
	int rc = 0;

	pd_buf_init(&body, 0);
	pd_buf_init(&url, 0);
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
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto out;
	/* every payload says which event it is: the same id on every retry of this row,
	 * another for any other row (also sent as Idempotency-Key to webhooks) */
	snprintf(s->event_id, sizeof(s->event_id), "probed-%lld-%lld", (long long)row->created_ms,
		 (long long)row->id);
	if (!cJSON_HasObjectItem(event, "event_id"))
		cJSON_AddStringToObject(event, "event_id", s->event_id);
	if (!cJSON_HasObjectItem(event, "version"))
		cJSON_AddNumberToObject(event, "version", PD_NOTIFY_PAYLOAD_VERSION);
	s->ob = ob;
	s->kind = SEND_ROW;
	s->id = row->id;
	s->attempts = row->attempts;
	s->sent_ms = pd_clock_wall_ms(ob->clock);
	s->nsteps = 1;
	snprintf(s->target, sizeof(s->target), "%s", row->target);
	snprintf(s->event, sizeof(s->event), "%s", row->event);
	snprintf(s->dedup_key, sizeof(s->dedup_key), "%s", row->dedup_key);
	if (ops->requests != NULL && ops->request_step != NULL &&
	    (s->nsteps = ops->requests(t, event)) > 1) {
		/* several requests (an Opsgenie update): the first now, the next ones as
		 * each is accepted (outbox_on_done) */
		s->ev = event;
		event = NULL;
		if (outbox_submit_step(ob, t, ops, s, &err) == 0) {
			s = NULL;
			rc = 1;
		} else if (err.code == PD_ERR_NOMEM || err.code == PD_ERR_INVALID) {
			pd_log_err("notify %s: %s", t->name, err.msg);
			pd_store_outbox_dead(ob->store, row->id, err.msg, NULL);
			ob->counters.dead++;
		} else {
			pd_log_err("notify %s: %s", t->name, err.msg);
		}
		goto out;
	}
	s->nsteps = 1;
	if (ops->flags & PD_NOTIFY_F_RESENDS)
		rc = outbox_am_row_body(ob, t, event, s, &body, &err);
	else if (ops->render_at != NULL)
		rc = ops->render_at(t, event, pd_clock_wall_ms(ob->clock), &body, &err);
	else
		rc = ops->render(t, event, &body, &err);
	if (rc == 0 && ops->request_url != NULL)
		rc = ops->request_url(t, event, &url, &err);
	if (rc != 0) {
		rc = 0;
		pd_log_err("notify %s: %s", t->name, err.msg);
		pd_store_outbox_dead(ob->store, row->id, err.msg, NULL);
		ob->counters.dead++;
		goto out;
	}
	if (ops->flags & PD_NOTIFY_F_COMMAND) {
		/* on failure outbox_finish has recorded the retry */
		if (outbox_start_exec(ob, t, event, s, &body) != 0)
			goto out;
		outbox_track(ob, s);
		s = NULL;
		outbox_set_busy(ob, row->target, 1);
		rc = 1;
		goto out;
	}
	if (outbox_submit(ob, t, ops, s, "POST", &body, &url, &err) != 0) {
		pd_log_err("notify %s: %s", t->name, err.msg);
		goto out;
	}
	s = NULL;
	rc = 1;
out:
	if (s != NULL)
		send_free(s);
	outbox_buf_wipe(&body);
	outbox_buf_wipe(&url);
	cJSON_Delete(event);
	return rc;
}

void
pd_outbox_kick(struct pd_outbox *ob)
{
	struct pd_outbox_row rows[OUTBOX_BATCH];
	struct pd_err err = {0};
	int64_t now = pd_clock_wall_ms(ob->clock);
	size_t n = 0;

	memset(rows, 0, sizeof(rows));
	if (pd_store_outbox_due(ob->store, now, rows, OUTBOX_BATCH, &n, &err) != 0) {
		pd_log_err("outbox: %s", err.msg);
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if ((ob->only_key[0] == '\0' || strcmp(rows[i].dedup_key, ob->only_key) == 0) &&
		    !outbox_busy(ob, rows[i].target) && breaker_allows(ob, rows[i].target, now))
			outbox_send(ob, &rows[i]);
		pd_store_outbox_row_cleanup(&rows[i]);
	}
	if (ob->only_key[0] == '\0')
		outbox_arm(ob);
}

void
pd_outbox_only(struct pd_outbox *ob, const char *dedup_key)
{
	snprintf(ob->only_key, sizeof(ob->only_key), "%s", dedup_key ? dedup_key : "");
}

static void
outbox_on_timer(EV_P_ ev_timer *w, int revents)
{
	(void)EV_A;
	(void)revents;
	pd_outbox_kick(w->data);
}

/* ---------------------------------------------------------------- Alertmanager re-sends */

static struct outbox_am *
am_state(struct pd_outbox *ob, const char *target)
{
	struct outbox_am *free_slot = NULL;

	for (size_t i = 0; i < OUTBOX_MAX_TARGETS; i++) {
		if (ob->am[i].target[0] == '\0') {
			if (free_slot == NULL)
				free_slot = &ob->am[i];
		} else if (strcmp(ob->am[i].target, target) == 0) {
			return &ob->am[i];
		}
	}
	if (free_slot != NULL) {
		memset(free_slot, 0, sizeof(*free_slot));
		snprintf(free_slot->target, sizeof(free_slot->target), "%s", target);
	}
	return free_slot;
}

static void
outbox_am_done(struct pd_outbox *ob, struct outbox_send *s, struct pd_response *resp)
{
	struct outbox_am *st = am_state(ob, s->target);
	struct pd_err err = {0};
	char why[256];

	if (st != NULL)
		st->busy = 0;
	if (resp->curl_code != 0)
		snprintf(why, sizeof(why), "%s", resp->error);
	else
		snprintf(why, sizeof(why), "HTTP %ld", resp->http_status);
	pd_log_redact(why, sizeof(why));
	if (pd_notify_classify(resp) == PD_NOTIFY_DELIVERED) {
		ob->am_counters.resent++;
		if (pd_store_am_sent(ob->store, s->target, s->sent_ms, &err) != 0)
			pd_log_err("outbox: %s", err.msg);
		if (st != NULL && st->failing)
			pd_log_info("notify %s: alert re-sends accepted again (%s)", s->target,
				    why);
		if (st != NULL)
			st->failing = 0;
		return;
	}
	ob->am_counters.failed++;
	if (st != NULL && !st->failing)
		pd_log_warn("notify %s: alert re-send failed (%s); Alertmanager will time the "
			    "alerts out if this lasts; next try in one resend_interval",
			    s->target, why);
	if (st != NULL)
		st->failing = 1;
}

static void
outbox_am_resend(struct pd_outbox *ob, const struct pd_notify_cfg *t, struct outbox_am *st,
		 int64_t now)
{
	const struct pd_notify_ops *ops = pd_notify_ops_for(t->type);
	struct am_vec v = {0};
	struct pd_buf body, url;
	struct pd_request req = {0};
	struct pd_header hdrs[OUTBOX_MAX_HEADERS];
	struct outbox_send *s = NULL;
	struct pd_err err = {0};
	size_t nh = 0;

	pd_buf_init(&body, 0);
	pd_buf_init(&url, 0);
	st->last_ms = now;
	if (pd_store_am_prune(ob->store, t->name, now - t->resend_resolved_ms, NULL, &err) != 0 ||
	    pd_store_am_list(ob->store, t->name, NULL, am_vec_add, &v, &err) != 0) {
		pd_log_err("outbox: %s", err.msg);
		goto out;
	}
	if (v.n == 0)
		goto out;
	if (pd_notify_am_body(t, v.a, v.n, now, &body, &err) != 0 ||
	    ops->request_url(t, NULL, &url, &err) != 0) {
		pd_log_err("notify %s: %s", t->name, err.msg);
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	s->ob = ob;
	s->kind = SEND_AM_RESEND;
	s->sent_ms = now;
	snprintf(s->target, sizeof(s->target), "%s", t->name);
	hdrs[nh++] = (struct pd_header){.name = "Content-Type", .value = "application/json"};
	hdrs[nh++] = (struct pd_header){.name = "Expect", .value = NULL};
	for (size_t i = 0; i < t->nheaders && nh < OUTBOX_MAX_HEADERS; i++)
		hdrs[nh++] = t->headers[i];
	req.url = url.data;
	req.method = "POST";
	req.headers = hdrs;
	req.nheaders = nh;
	req.body = body.data;
	req.body_len = body.len;
	req.timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 10000;
	req.max_body = 64 * 1024;
	if (pd_runner_submit(ob->runner, &req, outbox_on_done, s, &err) != 0) {
		pd_log_err("notify %s: %s", t->name, err.msg);
		goto out;
	}
	outbox_track(ob, s);
	s = NULL;
	st->busy = 1;
	pd_log_debug("notify %s: re-sending %zu alert(s)", t->name, v.n);
out:
	free(s);
	am_vec_free(&v);
	pd_buf_cleanup(&body);
	pd_buf_cleanup(&url);
}

static void
outbox_on_am_timer(EV_P_ ev_timer *w, int revents)
{
	struct pd_outbox *ob = w->data;
	int64_t now = pd_clock_wall_ms(ob->clock);
	struct pd_outbox_breaker b;

	(void)EV_A;
	(void)revents;
	for (size_t i = 0; ob->cfg != NULL && i < ob->cfg->nnotify; i++) {
		const struct pd_notify_cfg *t = &ob->cfg->notify[i];
		struct outbox_am *st;

		if (!outbox_type_has(t, PD_NOTIFY_F_RESENDS) ||
		    (st = am_state(ob, t->name)) == NULL || st->busy ||
		    now - st->last_ms < t->resend_interval_ms)
			continue;
		/* a target whose breaker is not closed gets no extra traffic */
		pd_outbox_breaker(ob, t->name, &b);
		if (b.state != PD_BREAKER_CLOSED)
			continue;
		outbox_am_resend(ob, t, st, now);
	}
}
