/* eval.h — the per-probe paging state machine. Pure: no I/O, no clock reads.
 *
 *            fail (n < failures_before_page)
 *     +----+ ---------------------------> +---------+
 *     | UP |                              | FAILING |--+ fail (n < N): stay
 *     +----+ <--------------------------- +---------+<-+
 *       ^          ok (flap, no page)          | fail (n >= N): TRIGGER (page)
 *       |                                      v
 *       |  ok (n >= successes_before_resolve) +------+
 *       +------------------------------------ | DOWN |<-+ fail: stay
 *         RESOLVE (only after a confirmed     +------+--+
 *         page, Monit's rule)                   |  ^
 *                                         ok    v  | fail
 *                                         +------------+
 *                                         | RECOVERING |--+ ok (n < M): stay
 *                                         +------------+<-+
 * (RECOVERING -> UP on the M-th success emits RESOLVE.)
 *
 * A trigger can be held (pd_eval_hold, HELD): the caller wants more evidence before it
 * pages (the control target, control.h). The probe stays FAILING one failure short of
 * the page: the next failure raises the trigger again (and the caller decides again),
 * a success is a FLAP.
 */
#ifndef PROBED_EVAL_H
#define PROBED_EVAL_H
#include <stdint.h>

enum pd_eval_status {
	PD_EVAL_UP = 0,
	PD_EVAL_FAILING = 1,    /* failing, not yet confirmed: no page yet */
	PD_EVAL_DOWN = 2,       /* confirmed; page sent */
	PD_EVAL_RECOVERING = 3, /* succeeded after DOWN, not yet confirmed */
};

struct pd_eval_state {
	enum pd_eval_status status;
	int consec_fail;
	int consec_ok;
	int64_t since_ms;      /* when status last changed (UTC ms) */
	int64_t first_fail_ms; /* first failure of the current run of failures, 0 if none */
	int64_t paged_at_ms;   /* when the current page was raised, 0 if none */
	int64_t last_page_ms;  /* most recent trigger ever raised, 0 if never */
	int last_outcome;      /* enum pd_outcome of the last result */
	char dedup_key[128];   /* stable key of the current outage ("" when none) */
};

struct pd_eval_rules {
	int failures_before_page;     /* >= 1 */
	int successes_before_resolve; /* >= 1 */
};

enum pd_eval_event {
	PD_EV_NONE = 0,
	PD_EV_FAILING,    /* UP -> FAILING */
	PD_EV_TRIGGER,    /* -> DOWN: raise a page */
	PD_EV_FLAP,       /* FAILING -> UP without a page */
	PD_EV_RECOVERING, /* DOWN -> RECOVERING */
	PD_EV_RELAPSE,    /* RECOVERING -> DOWN (same outage, no new page) */
	PD_EV_RESOLVE,    /* -> UP: resolve the page */
	PD_EV_HELD,       /* a TRIGGER held by the caller (pd_eval_hold): stays FAILING */
};

void pd_eval_init(struct pd_eval_state *st);
/* pd_eval_init, UP as of since_ms. */
void pd_eval_init_at(struct pd_eval_state *st, int64_t since_ms);
/* Feed one result. key_prefix names the outage in the dedup key
 * ("probed:<key_prefix>:<first_fail_ms>"). Returns what happened. */
enum pd_eval_event pd_eval_step(struct pd_eval_state *st, const struct pd_eval_rules *rules,
				const char *key_prefix, int ok, int outcome, int64_t now_ms);
/* Hold the trigger the last pd_eval_step just raised; prev is the state before that
 * step. The state goes back to prev, FAILING (since now_ms when prev was UP), one
 * failure short of the page, with that step's outcome as its last: no page, no key.
 * Returns PD_EV_HELD; PD_EV_NONE, with nothing changed, when that step raised no
 * trigger. */
enum pd_eval_event pd_eval_hold(struct pd_eval_state *st, const struct pd_eval_state *prev,
				int64_t now_ms);
/* The current outage's page is not sent (suppressed): its key is cleared, so the outage
 * counts as never paged and its recovery resolves nothing. */
void pd_eval_suppress(struct pd_eval_state *st);
/* 1 when the current (or, right after a RESOLVE, the last) outage was paged. */
int pd_eval_paged(const struct pd_eval_state *st);
/* 1 when a page is open: DOWN or RECOVERING with its key. */
int pd_eval_page_open(const struct pd_eval_state *st);
/* Delay before the next run: confirm_ms while a change is unconfirmed
 * (FAILING, RECOVERING), interval_ms otherwise. */
int64_t pd_eval_next_delay(const struct pd_eval_state *st, int64_t interval_ms, int64_t confirm_ms);

const char *pd_eval_status_str(enum pd_eval_status s);
const char *pd_eval_event_str(enum pd_eval_event e);

#endif
