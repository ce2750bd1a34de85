/* daemon_probe.c — one probe's run on the loop: its start on the fixed-rate grid
 * (sched), the submit to the runner, and the result path: check, store, shape drift,
 * certificate expiry, the eval step with the control policy's word (control.h), and the
 * probe's own pages (the control target's, and suppressions). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/check.h"
#include "probed/control.h"
#include "probed/daemon.h"
#include "probed/eval.h"
#include "probed/incident.h"
#include "probed/jsonschema.h"
#include "probed/log.h"
#include "probed/notify.h"
#include "probed/outcome.h"
#include "probed/runner.h"
#include "probed/sched.h"
#include "probed/store.h"
#include "probed/tlscert.h"
#include "daemon_int.h"

static void
daemon_count_lateness(struct pd_daemon *d, int64_t us)
{
	struct pd_daemon_stats *s = &d->stats;

	for (int i = 0; i < 8; i++)
		if (us <= pd_daemon_lateness_bounds_us[i])
			s->lateness_le_us[i]++;
	s->lateness_count++;
	s->lateness_sum_s += (double)us / 1e6;
	if (us > s->lateness_us_max)
		s->lateness_us_max = us;
}

static void
probe_key(const struct pd_daemon *d, const struct probe *p, char *out, size_t cap)
{
	if (d->cfg->location)
		snprintf(out, cap, "%s/%s", d->cfg->location, p->name);
	else
		snprintf(out, cap, "%s", p->name);
}

/* The control probe (a known-good target), or NULL when none is configured. */
struct probe *
pd_daemon_control(const struct pd_daemon *d)
{
	return d->control;
}

/* The control probe as the control policy sees it (configured = 0 without one). */
static struct pd_control_view
daemon_control_view(const struct pd_daemon *d)
{
	const struct probe *c = pd_daemon_control(d);
	struct pd_control_view v = {0};

	if (c == NULL)
		return v;
	v.configured = 1;
	v.has_result = c->has_result;
	v.last_ok = c->has_result && pd_result_ok(&c->last);
	v.last_ts_ms = c->has_result ? c->last.ts_ms : 0;
	v.up = c->state.status == PD_EVAL_UP;
	return v;
}

/* The monitoring host is the suspect: the control target fails (control.h). */
int
pd_daemon_host_suspect(const struct pd_daemon *d)
{
	struct pd_control_view v = daemon_control_view(d);

	return pd_control_host_suspect(&v);
}

/* The control policy's word on p's trigger (control.h). A held page waits for the
 * control target, which is started now. */
static enum pd_control_decision
daemon_control_trigger(struct pd_daemon *d, struct probe *p)
{
	struct pd_control_view v = daemon_control_view(d);
	struct probe *c = pd_daemon_control(d);
	enum pd_control_decision dec;
	int others = 0, failing = 0;

	/* the control's own trigger: do the other live probes' last results all fail? */
	if (p->cfg->control)
		for (const struct probe *o = d->probes; o != NULL; o = o->next) {
			if (o == p || o->cfg == NULL)
				continue;
			others++;
			failing += o->has_result && !pd_result_ok(&o->last);
		}
	dec = pd_control_trigger(&v, p->cfg->control, p->state.first_fail_ms, others, failing,
				 d->draining);
	if (dec == PD_CONTROL_HOLD) {
		if (!c->inflight)
			pd_sched_at(&c->sched, pd_sched_now_us());
		pd_log_debug("probe %s: page held until control target %s reports", p->name,
			     c->name);
	}
	return dec;
}

/* Queue one event per notify target, in the current batch. */
void
pd_daemon_page(struct pd_daemon *d, struct probe *p, const char *action, const struct pd_result *r,
	       int64_t down_since_ms, int consec, enum pd_control_decision dec)
{
	char summary[512], reason[320], dur[32];
	struct pd_notify_event ev = {0};
	struct pd_err err = {0};
	int64_t now = pd_daemon_now_ms(d);
	char *json;

	if (strcmp(action, "trigger") == 0 && dec == PD_CONTROL_HOST_DEGRADED) {
		snprintf(summary, sizeof(summary),
			 "%s%smonitoring host degraded: control target %s and every other probe "
			 "fail (%s); probe alerts are suppressed until it recovers",
			 d->cfg->location ? d->cfg->location : "", d->cfg->location ? " " : "",
			 p->name, pd_outcome_str(r->outcome));
		snprintf(reason, sizeof(reason), "%s", r->verdict);
	} else if (strcmp(action, "trigger") == 0) {
		snprintf(summary, sizeof(summary), "%s%s%s DOWN: %s (%d consecutive failures)",
			 d->cfg->location ? d->cfg->location : "", d->cfg->location ? " " : "",
			 p->name, pd_outcome_str(r->outcome), consec);
		snprintf(reason, sizeof(reason), "%s", r->verdict);
	} else {
		pd_config_duration_format(down_since_ms > 0 ? now - down_since_ms : 0, dur,
					  sizeof(dur));
		snprintf(summary, sizeof(summary), "%s%s%s RECOVERED after %s",
			 d->cfg->location ? d->cfg->location : "", d->cfg->location ? " " : "",
			 p->name, dur);
		snprintf(reason, sizeof(reason), "%s",
			 r ? r->verdict : "probe removed from configuration");
	}
	pd_log_redact(reason, sizeof(reason));
	ev.event = action;
	ev.dedup_key = p->state.dedup_key;
	ev.probe = p->name;
	ev.family = p->cfg ? p->cfg->family : p->name;
	ev.tier = p->cfg ? pd_config_tier_str(p->cfg->tier) : NULL;
	ev.summary = summary;
	ev.reason = reason;
	ev.outcome = r ? pd_outcome_str(r->outcome) : NULL;
	ev.location = d->cfg->location;
	ev.ts_ms = now;
	ev.consecutive_failures = consec;
	ev.down_since_ms = down_since_ms;
	json = pd_notify_event_json(&ev);
	if (json == NULL) {
		pd_log_err("probe %s: out of memory building the %s event", p->name, action);
		return;
	}
	for (size_t i = 0; i < d->cfg->nnotify; i++) {
		if (pd_store_outbox_add(d->store, d->cfg->notify[i].name, p->state.dedup_key,
					action, json, now, NULL, &err) != 0)
			pd_log_err("probe %s: cannot queue %s for %s: %s", p->name, action,
				   d->cfg->notify[i].name, err.msg);
	}
	if (d->cfg->nnotify == 0)
		pd_log_warn("probe %s: %s raised but no notify targets are configured", p->name,
			    action);
	pd_store_add_event(d->store, now, p->name, action, summary, NULL);
	free(json);
	d->kick_outbox = 1;
}

/* ---- shape drift ---------------------------------------------------------- */
#define SHAPE_TOUCH_MS 60000

struct shape_scan {
	uint64_t hash;
	int known;    /* hash seen in the window */
	int any;      /* some fingerprint seen in the window */
	char *newest; /* paths of the most recently seen one */
};

static int
shape_scan_row(void *ud, const struct pd_shape_row *r)
{
	struct shape_scan *sc = ud;

	if (r->hash == sc->hash)
		sc->known = 1;
	if (!sc->any && r->hash != sc->hash) {
		sc->any = 1;
		sc->newest = r->paths ? strdup(r->paths) : NULL;
	}
	return 0;
}

/* A passing JSON response's fingerprint: the same as last time costs nothing but a
 * touch of its row once a minute; a change is compared with every fingerprint of the
 * last 24 h, and one never seen there while the schema passes is shape drift. */
static void
daemon_shape(struct pd_daemon *d, struct probe *p, const struct pd_shape *sh, int64_t now)
{
	struct shape_scan sc = {.hash = sh->hash};
	struct pd_err err = {0};
	char detail[600];

	if (sh->hash == p->shape_hash) {
		if (now - p->shape_saved_ms >= SHAPE_TOUCH_MS) {
			if (pd_store_shape_seen(d->store, p->name, sh->hash, NULL, now, &err) != 0)
				pd_log_warn("store: %s", err.msg);
			p->shape_saved_ms = now;
		}
		return;
	}
	if (pd_store_shapes(d->store, p->name, now - SHAPE_WINDOW_MS, shape_scan_row, &sc, &err) !=
		    0 &&
	    err.code != PD_ERR_NOTFOUND)
		pd_log_warn("store: %s", err.msg);
	if (!sc.known && sc.any) {
		size_t n = pd_check_shape_diff(sc.newest, sh->paths, detail, sizeof(detail));

		if (n == 0)
			snprintf(detail, sizeof(detail), "structure changed");
		pd_log_warn("probe %s: shape drift (schema still passes): %s", p->name, detail);
		pd_store_add_event(d->store, now, p->name, "shape_drift", detail, NULL);
		p->drift_until_ms = now + SHAPE_WINDOW_MS;
		d->incidents_dirty = 1;
	}
	free(sc.newest);
	if (pd_store_shape_seen(d->store, p->name, sh->hash, sh->paths, now, &err) != 0)
		pd_log_warn("store: %s", err.msg);
	p->shape_hash = sh->hash;
	p->shape_saved_ms = now;
}

int
pd_daemon_drift_row(void *ud, int64_t ts_ms, const char *probe, const char *kind,
		    const char *detail)
{
	int64_t *until = ud;

	(void)probe;
	(void)detail;
	if (strcmp(kind, "shape_drift") == 0 && ts_ms + SHAPE_WINDOW_MS > *until)
		*until = ts_ms + SHAPE_WINDOW_MS;
	return 0;
}

/* record the chain's earliest notAfter (the last known one stays when this
 * transfer had no handshake) and open, escalate or resolve the certificate incident. */
static void
daemon_cert(struct pd_daemon *d, struct probe *p, int64_t not_after_s)
{
	struct pd_err err = {0};
	char reason[256] = "";
	int64_t now = pd_daemon_now_ms(d);
	int sev;

	if (not_after_s >= 0) {
		if (pd_store_cert_save(d->store, p->name, not_after_s, now, &err) != 0)
			pd_log_err("store: %s", err.msg);
		p->cert_not_after_s = not_after_s;
	}
	/* the control target is someone else's site: its certificate is not ours to renew */
	sev = p->cfg->control
		      ? 0
		      : pd_tlscert_severity(&p->cfg->cert_expiry, p->cert_not_after_s, now / 1000);
	if (sev > 0)
		pd_tlscert_reason(p->name, &p->cfg->cert_expiry, p->cert_not_after_s, now / 1000,
				  reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "TLS certificate of %s no longer near expiry",
			 p->name);
	if (pd_incident_cert(d->incidents, p->name, sev, reason, now) > 0)
		d->kick_outbox = 1;
}

static void
probe_on_done(void *ud, struct pd_response *resp)
{
	struct probe *p = ud;
	struct pd_daemon *d = p->d;
	struct pd_eval_state before;
	struct pd_result r = {0};
	struct pd_shape shape = {0};
	struct pd_err err = {0};
	struct pd_eval_rules rules;
	enum pd_eval_event ev;
	enum pd_control_decision dec = PD_CONTROL_SEND;
	char key[200], dur[32];
	int64_t delay_ms, due_us;

	p->inflight = 0;
	if (p->removed || p->cfg == NULL) {
		pd_daemon_probe_free(p);
		return;
	}
	shape.known_hash = p->shape_hash;
	pd_check_response_at(p->cfg, p->schema, resp, pd_daemon_now_ms(d), &shape, &r);
	r.ts_ms = p->run_start_ms;
	r.lateness_us = p->run_lateness_us;
	if (pd_store_add_result(d->store, p->name, &r, &err) != 0) {
		d->stats.store_errors++;
		pd_log_err("store: %s", err.msg);
	}
	if (shape.has)
		daemon_shape(d, p, &shape, pd_daemon_now_ms(d));
	pd_check_shape_cleanup(&shape);
	p->last = r;
	p->has_result = 1;
	daemon_cert(d, p, resp->cert_not_after_s);
	d->stats.results++;
	if (!pd_result_ok(&r))
		d->stats.failures++;
	daemon_count_lateness(d, r.lateness_us);

	before = p->state;
	rules.failures_before_page = p->cfg->failures_before_page;
	rules.successes_before_resolve = p->cfg->successes_before_resolve;
	probe_key(d, p, key, sizeof(key));
	ev = pd_eval_step(&p->state, &rules, key, pd_result_ok(&r), r.outcome, pd_daemon_now_ms(d));
	if (ev == PD_EV_TRIGGER)
		dec = daemon_control_trigger(d, p);
	else if (ev == PD_EV_RESOLVE)
		dec = pd_control_resolve(pd_eval_paged(&before));
	/* held until the control target has been probed since this outage began: stays
	 * FAILING (persisted), re-probed on the confirm schedule */
	if (dec == PD_CONTROL_HOLD)
		ev = pd_eval_hold(&p->state, &before, pd_daemon_now_ms(d));
	if (ev != PD_EV_NONE && ev != PD_EV_HELD) {
		pd_config_duration_format(pd_daemon_now_ms(d) - before.since_ms, dur, sizeof(dur));
		pd_log(ev == PD_EV_TRIGGER ? PD_LOG_ERR
					   : (ev == PD_EV_RESOLVE ? PD_LOG_INFO : PD_LOG_WARN),
		       "probe %s: %s -> %s after %s (%s: %s)", p->name,
		       pd_eval_status_str(before.status), pd_eval_status_str(p->state.status), dur,
		       pd_outcome_str(r.outcome), r.verdict);
		if (p->cfg->control && ev == PD_EV_TRIGGER) {
			/* the control target's own page: "monitoring host degraded" when
			 * everything else fails too */
			pd_daemon_page(d, p, "trigger", &r, p->state.first_fail_ms,
				       p->state.consec_fail, dec);
		} else if (p->cfg->control && ev == PD_EV_RESOLVE && dec == PD_CONTROL_SEND) {
			pd_daemon_page(d, p, "resolve", &r, before.first_fail_ms, 0, dec);
		} else if (ev == PD_EV_TRIGGER && dec == PD_CONTROL_SUPPRESS) {
			/* the control target fails too: the host's own network is the suspect.
			 * One "monitoring host degraded" page (the control probe's) instead of
			 * a storm; the outage counts as not paged. */
			pd_log_warn("probe %s: page suppressed: control target fails too "
				    "(monitoring host degraded)",
				    p->name);
			pd_store_add_event(d->store, pd_daemon_now_ms(d), p->name, "suppressed",
					   "monitoring host degraded", NULL);
			pd_eval_suppress(&p->state);
		} else if (ev == PD_EV_RESOLVE && dec == PD_CONTROL_SUPPRESS) {
			pd_store_add_event(d->store, pd_daemon_now_ms(d), p->name, "resolve",
					   "recovered (its page had been suppressed)", NULL);
		} else {
			pd_store_add_event(d->store, pd_daemon_now_ms(d), p->name,
					   pd_eval_event_str(ev), r.verdict, NULL);
		}
	}
	p->win_dirty++;
	pd_daemon_probe_noted(d, p, p->state.status != PD_EVAL_UP || !pd_result_ok(&r));
	if (ev == PD_EV_RESOLVE) {
		p->recovered_ms = pd_daemon_now_ms(d);
		p->win_at_ms = 0; /* refresh now */
	}
	if (ev != PD_EV_NONE && ev != PD_EV_HELD)
		d->incidents_dirty = 1;
	if (ev != PD_EV_NONE || p->state.status != PD_EVAL_UP || before.consec_fail != 0) {
		if (pd_store_save_state(d->store, p->name, &p->state, &err) != 0)
			pd_log_err("store: %s", err.msg);
	}
	if (d->draining)
		return;
	/* unconfirmed change: re-probe soon instead of waiting a full interval */
	delay_ms = pd_eval_next_delay(&p->state, p->cfg->interval_ms, p->cfg->confirm_after_ms);
	due_us = pd_sched_reprobe_due(pd_sched_now_us(), delay_ms, p->cfg->interval_ms,
				      p->next_due_us);
	if (due_us >= 0)
		pd_sched_at(&p->sched, due_us);
	else if (!pd_sched_armed(&p->sched))
		pd_sched_at(&p->sched, p->next_due_us);
}

void
pd_daemon_probe_fire(struct pd_sched_entry *e, int64_t lateness_us)
{
	struct probe *p = e->owner;
	struct pd_daemon *d = p->d;
	struct pd_request req;
	struct pd_err err = {0};
	int64_t now_us = pd_sched_now_us();

	if (d->draining || p->cfg == NULL)
		return;
	/* keep the fixed-rate grid; a confirm re-probe does not move it */
	p->next_due_us = pd_sched_next_due(p->next_due_us, now_us, p->cfg->interval_ms * 1000);
	if (p->inflight) {
		pd_log_debug("probe %s: still running at its next start; skipped", p->name);
		d->stats.skipped++;
		pd_sched_at(&p->sched, p->next_due_us);
		return;
	}
	pd_check_request_at(p->cfg, pd_daemon_now_ms(d), &req);
	p->run_lateness_us = lateness_us;
	p->run_start_ms = pd_daemon_now_ms(d);
	if (pd_runner_submit(d->runner, &req, probe_on_done, p, &err) != 0) {
		pd_log_err("probe %s: %s", p->name, err.msg);
	} else {
		p->inflight = 1;
	}
	pd_sched_at(&p->sched, p->next_due_us);
}

void
pd_daemon_probe_start(struct pd_daemon *d, struct probe *p)
{
	/* resume an unconfirmed change quickly; otherwise take our slot in the interval */
	int quick = p->state.status == PD_EVAL_FAILING || p->state.status == PD_EVAL_RECOVERING ||
		    p->state.status == PD_EVAL_DOWN;

	p->next_due_us = pd_sched_first_due(p->name, pd_sched_now_us(), p->cfg->interval_ms,
					    p->cfg->confirm_after_ms, quick);
	pd_sched_at(&p->sched, p->next_due_us);
	(void)d;
}
