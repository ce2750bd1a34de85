/* eval.c — per-probe paging state machine (diagram in include/probed/eval.h). Pure. */
#include <stdio.h>
#include <string.h>
#include "probed/eval.h"

void
pd_eval_init(struct pd_eval_state *st)
{
	memset(st, 0, sizeof(*st));
	st->status = PD_EVAL_UP;
}

void
pd_eval_init_at(struct pd_eval_state *st, int64_t since_ms)
{
	pd_eval_init(st);
	st->since_ms = since_ms;
}

static void
eval_set(struct pd_eval_state *st, enum pd_eval_status s, int64_t now_ms)
{
	st->status = s;
	st->since_ms = now_ms;
}

enum pd_eval_event
pd_eval_step(struct pd_eval_state *st, const struct pd_eval_rules *rules, const char *key_prefix,
	     int ok, int outcome, int64_t now_ms)
{
	int need_fail = rules->failures_before_page < 1 ? 1 : rules->failures_before_page;
	int need_ok = rules->successes_before_resolve < 1 ? 1 : rules->successes_before_resolve;
	enum pd_eval_event ev = PD_EV_NONE;

	st->last_outcome = outcome;
	if (ok) {
		st->consec_ok++;
		st->consec_fail = 0;
	} else {
		if (st->consec_fail == 0 && st->status != PD_EVAL_RECOVERING)
			st->first_fail_ms = now_ms;
		st->consec_fail++;
		st->consec_ok = 0;
	}

	switch (st->status) {
	case PD_EVAL_UP:
	case PD_EVAL_FAILING:
		if (ok) {
			if (st->status == PD_EVAL_FAILING) {
				eval_set(st, PD_EVAL_UP, now_ms);
				ev = PD_EV_FLAP;
			}
			st->first_fail_ms = 0;
			break;
		}
		if (st->consec_fail >= need_fail) {
			eval_set(st, PD_EVAL_DOWN, now_ms);
			st->paged_at_ms = now_ms;
			st->last_page_ms = now_ms;
			snprintf(st->dedup_key, sizeof(st->dedup_key), "probed:%s:%lld",
				 key_prefix ? key_prefix : "", (long long)st->first_fail_ms);
			ev = PD_EV_TRIGGER;
		} else if (st->status == PD_EVAL_UP) {
			eval_set(st, PD_EVAL_FAILING, now_ms);
			ev = PD_EV_FAILING;
		}
		break;
	case PD_EVAL_DOWN:
	case PD_EVAL_RECOVERING:
		if (!ok) {
			if (st->status == PD_EVAL_RECOVERING) {
				eval_set(st, PD_EVAL_DOWN, now_ms);
				ev = PD_EV_RELAPSE;
			}
			break;
		}
		if (st->consec_ok >= need_ok) {
			eval_set(st, PD_EVAL_UP, now_ms);
			st->paged_at_ms = 0;
			st->first_fail_ms = 0;
			ev = PD_EV_RESOLVE;
			/* dedup_key is kept until the caller has queued the resolve;
			 * it is overwritten by the next trigger */
		} else if (st->status == PD_EVAL_DOWN) {
			eval_set(st, PD_EVAL_RECOVERING, now_ms);
			ev = PD_EV_RECOVERING;
		}
		break;
	}
	return ev;
}

enum pd_eval_event
pd_eval_hold(struct pd_eval_state *st, const struct pd_eval_state *prev, int64_t now_ms)
{
	struct pd_eval_state held = *prev;

	/* only a trigger of that step: UP or FAILING before, DOWN after */
	if (st->status != PD_EVAL_DOWN || st->consec_fail < 1 ||
	    (prev->status != PD_EVAL_UP && prev->status != PD_EVAL_FAILING))
		return PD_EV_NONE;
	held.consec_fail = st->consec_fail - 1;
	held.consec_ok = 0;
	held.last_outcome = st->last_outcome;
	if (held.status == PD_EVAL_UP) {
		held.status = PD_EVAL_FAILING;
		held.since_ms = now_ms;
		held.first_fail_ms = st->first_fail_ms;
	}
	*st = held;
	return PD_EV_HELD;
}

void
pd_eval_suppress(struct pd_eval_state *st)
{
	st->dedup_key[0] = '\0';
}

int
pd_eval_paged(const struct pd_eval_state *st)
{
	return st->dedup_key[0] != '\0';
}

int
pd_eval_page_open(const struct pd_eval_state *st)
{
	return (st->status == PD_EVAL_DOWN || st->status == PD_EVAL_RECOVERING) &&
	       pd_eval_paged(st);
}

int64_t
pd_eval_next_delay(const struct pd_eval_state *st, int64_t interval_ms, int64_t confirm_ms)
{
	if (st->status == PD_EVAL_FAILING || st->status == PD_EVAL_RECOVERING)
		return confirm_ms < interval_ms ? confirm_ms : interval_ms;
	return interval_ms;
}

const char *
pd_eval_status_str(enum pd_eval_status s)
{
	switch (s) {
	case PD_EVAL_UP:
		return "up";
	case PD_EVAL_FAILING:
		return "failing";
	case PD_EVAL_DOWN:
		return "down";
	case PD_EVAL_RECOVERING:
		return "recovering";
	}
	return "unknown";
}

const char *
pd_eval_event_str(enum pd_eval_event e)
{
	switch (e) {
	case PD_EV_NONE:
		return "none";
	case PD_EV_FAILING:
		return "failing";
	case PD_EV_TRIGGER:
		return "trigger";
	case PD_EV_FLAP:
		return "flap";
	case PD_EV_RECOVERING:
		return "recovering";
	case PD_EV_RELAPSE:
		return "relapse";
	case PD_EV_RESOLVE:
		return "resolve";
	case PD_EV_HELD:
		return "held";
	}
	return "unknown";
}
