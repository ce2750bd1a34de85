/* check_eval.c — the paging state machine, driven with explicit times (no clock). */
#include <check.h>
#include "testlib.h"
#include <stdlib.h>
#include <string.h>
#include "probed/eval.h"
#include "probed/outcome.h"

static const struct pd_eval_rules rules22 = {2, 2};

static enum pd_eval_event
step(struct pd_eval_state *st, const struct pd_eval_rules *r, int ok, int64_t t)
{
	return pd_eval_step(st, r, "api", ok, ok ? PD_OUT_OK : PD_OUT_HTTP_5XX, t);
}

START_TEST(test_two_failures_page_once)
{
	struct pd_eval_state st;

	pd_eval_init(&st);
	ck_assert_int_eq(step(&st, &rules22, 1, 1000), PD_EV_NONE);
	ck_assert_int_eq(step(&st, &rules22, 0, 2000), PD_EV_FAILING);
	ck_assert_int_eq(st.status, PD_EVAL_FAILING);
	ck_assert_str_eq(st.dedup_key, "");
	ck_assert_int_eq(step(&st, &rules22, 0, 3000), PD_EV_TRIGGER);
	ck_assert_int_eq(st.status, PD_EVAL_DOWN);
	ck_assert_str_eq(st.dedup_key, "probed:api:2000");
	ck_assert_int_eq(st.paged_at_ms, 3000);
	/* further failures: no second page */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(step(&st, &rules22, 0, 4000 + i), PD_EV_NONE);
	ck_assert_int_eq(st.consec_fail, 12);
	ck_assert_str_eq(st.dedup_key, "probed:api:2000");
}
END_TEST

START_TEST(test_flap_does_not_page)
{
	struct pd_eval_state st;

	pd_eval_init(&st);
	ck_assert_int_eq(step(&st, &rules22, 0, 1000), PD_EV_FAILING);
	ck_assert_int_eq(step(&st, &rules22, 1, 2000), PD_EV_FLAP);
	ck_assert_int_eq(st.status, PD_EVAL_UP);
	ck_assert_int_eq(step(&st, &rules22, 0, 3000), PD_EV_FAILING);
	ck_assert_int_eq(st.first_fail_ms, 3000);
	ck_assert_int_eq(st.last_page_ms, 0);
}
END_TEST

START_TEST(test_resolve_needs_two_successes)
{
	struct pd_eval_state st;

	pd_eval_init(&st);
	step(&st, &rules22, 0, 1000);
	ck_assert_int_eq(step(&st, &rules22, 0, 2000), PD_EV_TRIGGER);
	ck_assert_int_eq(step(&st, &rules22, 1, 3000), PD_EV_RECOVERING);
	ck_assert_int_eq(st.status, PD_EVAL_RECOVERING);
	/* relapse: same outage, same key, no new trigger */
	ck_assert_int_eq(step(&st, &rules22, 0, 4000), PD_EV_RELAPSE);
	ck_assert_str_eq(st.dedup_key, "probed:api:1000");
	ck_assert_int_eq(step(&st, &rules22, 1, 5000), PD_EV_RECOVERING);
	ck_assert_int_eq(step(&st, &rules22, 1, 6000), PD_EV_RESOLVE);
	ck_assert_int_eq(st.status, PD_EVAL_UP);
	/* the resolve carries the trigger's key */
	ck_assert_str_eq(st.dedup_key, "probed:api:1000");
	/* a new outage gets a new key */
	step(&st, &rules22, 0, 7000);
	ck_assert_int_eq(step(&st, &rules22, 0, 8000), PD_EV_TRIGGER);
	ck_assert_str_eq(st.dedup_key, "probed:api:7000");
	ck_assert_int_eq(st.last_page_ms, 8000);
}
END_TEST

START_TEST(test_threshold_one_and_three)
{
	struct pd_eval_rules r1 = {1, 1}, r3 = {3, 3};
	struct pd_eval_state st;

	pd_eval_init(&st);
	ck_assert_int_eq(step(&st, &r1, 0, 10), PD_EV_TRIGGER);
	ck_assert_int_eq(step(&st, &r1, 1, 20), PD_EV_RESOLVE);

	pd_eval_init(&st);
	ck_assert_int_eq(step(&st, &r3, 0, 10), PD_EV_FAILING);
	ck_assert_int_eq(step(&st, &r3, 0, 20), PD_EV_NONE);
	ck_assert_int_eq(step(&st, &r3, 0, 30), PD_EV_TRIGGER);
	ck_assert_int_eq(step(&st, &r3, 1, 40), PD_EV_RECOVERING);
	ck_assert_int_eq(step(&st, &r3, 1, 50), PD_EV_NONE);
	ck_assert_int_eq(step(&st, &r3, 1, 60), PD_EV_RESOLVE);
}
END_TEST

START_TEST(test_recovery_never_announced_without_page)
{
	struct pd_eval_state st;
	int resolves = 0;

	/* Monit's rule: a recovery is announced only after a confirmed failure */
	pd_eval_init(&st);
	for (int i = 0; i < 100; i++)
		if (step(&st, &rules22, i % 2, i) == PD_EV_RESOLVE)
			resolves++;
	ck_assert_int_eq(resolves, 0);
	ck_assert_int_eq(st.last_page_ms, 0);
}
END_TEST

START_TEST(test_next_delay)
{
	struct pd_eval_state st;

	pd_eval_init(&st);
	ck_assert_int_eq(pd_eval_next_delay(&st, 30000, 5000), 30000);
	step(&st, &rules22, 0, 1);
	ck_assert_int_eq(pd_eval_next_delay(&st, 30000, 5000), 5000);
	step(&st, &rules22, 0, 2);
	ck_assert_int_eq(pd_eval_next_delay(&st, 30000, 5000), 30000);
	step(&st, &rules22, 1, 3);
	ck_assert_int_eq(pd_eval_next_delay(&st, 30000, 5000), 5000);
	/* confirm longer than the interval: never wait longer than the interval */
	ck_assert_int_eq(pd_eval_next_delay(&st, 1000, 5000), 1000);
}
END_TEST

START_TEST(test_hold_from_up)
{
	struct pd_eval_rules r1 = {1, 1};
	struct pd_eval_state st, before;

	/* an earlier outage's key and page time survive a held trigger */
	pd_eval_init_at(&st, 500);
	ck_assert_int_eq(st.since_ms, 500);
	ck_assert_int_eq(step(&st, &r1, 0, 1000), PD_EV_TRIGGER);
	ck_assert_int_eq(step(&st, &r1, 1, 2000), PD_EV_RESOLVE);
	before = st;
	ck_assert_int_eq(step(&st, &r1, 0, 3000), PD_EV_TRIGGER);
	ck_assert_int_eq(pd_eval_hold(&st, &before, 3001), PD_EV_HELD);
	ck_assert_int_eq(st.status, PD_EVAL_FAILING);
	ck_assert_int_eq(st.since_ms, 3001);
	ck_assert_int_eq(st.first_fail_ms, 3000);
	ck_assert_int_eq(st.consec_fail, 0); /* one short of failures_before_page = 1 */
	ck_assert_int_eq(st.consec_ok, 0);
	ck_assert_int_eq(st.last_outcome, PD_OUT_HTTP_5XX);
	ck_assert_int_eq(st.paged_at_ms, 0);
	ck_assert_int_eq(st.last_page_ms, 1000);
	ck_assert_str_eq(st.dedup_key, "probed:api:1000");
	ck_assert_int_eq(pd_eval_paged(&st), 1);
	ck_assert_int_eq(pd_eval_page_open(&st), 0);
	ck_assert_int_eq(pd_eval_next_delay(&st, 30000, 5000), 5000);
	/* released: the next failure pages */
	ck_assert_int_eq(step(&st, &r1, 0, 4000), PD_EV_TRIGGER);
	ck_assert_int_eq(st.status, PD_EVAL_DOWN);
	ck_assert_int_eq(st.last_page_ms, 4000);
	ck_assert_int_eq(pd_eval_page_open(&st), 1);
}
END_TEST

START_TEST(test_hold_from_failing)
{
	struct pd_eval_state st, before;

	pd_eval_init(&st);
	ck_assert_int_eq(step(&st, &rules22, 0, 1000), PD_EV_FAILING);
	/* held twice in a row: the outage, its start and FAILING's since stay */
	for (int i = 0; i < 2; i++) {
		before = st;
		ck_assert_int_eq(step(&st, &rules22, 0, 2000 + i), PD_EV_TRIGGER);
		ck_assert_int_eq(pd_eval_hold(&st, &before, 2000 + i), PD_EV_HELD);
		ck_assert_int_eq(st.status, PD_EVAL_FAILING);
		ck_assert_int_eq(st.since_ms, 1000);
		ck_assert_int_eq(st.first_fail_ms, 1000);
		ck_assert_int_eq(st.consec_fail, 1);
		ck_assert_str_eq(st.dedup_key, "");
		ck_assert_int_eq(st.last_page_ms, 0);
	}
	/* released by a success: a flap, never a page */
	ck_assert_int_eq(step(&st, &rules22, 1, 3000), PD_EV_FLAP);
	ck_assert_int_eq(st.status, PD_EVAL_UP);
	ck_assert_int_eq(st.last_page_ms, 0);
	/* released by the next failure: the page keeps the outage's first failure */
	step(&st, &rules22, 0, 4000);
	before = st;
	step(&st, &rules22, 0, 5000);
	pd_eval_hold(&st, &before, 5000);
	ck_assert_int_eq(step(&st, &rules22, 0, 6000), PD_EV_TRIGGER);
	ck_assert_str_eq(st.dedup_key, "probed:api:4000");
	ck_assert_int_eq(st.paged_at_ms, 6000);
}
END_TEST

START_TEST(test_hold_only_a_trigger)
{
	struct pd_eval_state st, before, copy;

	pd_eval_init(&st);
	before = st;
	ck_assert_int_eq(step(&st, &rules22, 0, 1000), PD_EV_FAILING);
	memcpy(&copy, &st, sizeof(copy));
	ck_assert_int_eq(pd_eval_hold(&st, &before, 1000), PD_EV_NONE);
	ck_assert_mem_eq(&st, &copy, sizeof(st));
	step(&st, &rules22, 0, 2000);
	before = st; /* DOWN: a relapse or a further failure is no trigger to hold */
	ck_assert_int_eq(step(&st, &rules22, 0, 3000), PD_EV_NONE);
	memcpy(&copy, &st, sizeof(copy));
	ck_assert_int_eq(pd_eval_hold(&st, &before, 3000), PD_EV_NONE);
	ck_assert_mem_eq(&st, &copy, sizeof(st));
	ck_assert_int_eq(st.status, PD_EVAL_DOWN);
}
END_TEST

START_TEST(test_suppress)
{
	struct pd_eval_state st;

	pd_eval_init(&st);
	ck_assert_int_eq(pd_eval_paged(&st), 0);
	step(&st, &rules22, 0, 1000);
	ck_assert_int_eq(step(&st, &rules22, 0, 2000), PD_EV_TRIGGER);
	ck_assert_int_eq(pd_eval_page_open(&st), 1);
	pd_eval_suppress(&st);
	ck_assert_int_eq(pd_eval_paged(&st), 0);
	ck_assert_int_eq(pd_eval_page_open(&st), 0);
	ck_assert_int_eq(st.status, PD_EVAL_DOWN); /* still down, just not paged */
	step(&st, &rules22, 1, 3000);
	ck_assert_int_eq(step(&st, &rules22, 1, 4000), PD_EV_RESOLVE);
	ck_assert_int_eq(pd_eval_paged(&st), 0);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(pd_eval_status_str(PD_EVAL_DOWN), "down");
	ck_assert_str_eq(pd_eval_event_str(PD_EV_TRIGGER), "trigger");
	ck_assert_str_eq(pd_eval_event_str(PD_EV_HELD), "held");
	ck_assert_str_eq(pd_outcome_str(PD_OUT_KEY_REJECTED), "key_rejected");
	ck_assert_int_eq(pd_outcome_from_str("shape"), PD_OUT_SHAPE);
	ck_assert_int_eq(pd_outcome_from_str("nope"), -1);
	for (int i = 0; i < PD_OUT__COUNT; i++)
		ck_assert_int_eq(pd_outcome_from_str(pd_outcome_str(i)), i);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("eval");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_two_failures_page_once);
	tcase_add_test(tc, test_flap_does_not_page);
	tcase_add_test(tc, test_resolve_needs_two_successes);
	tcase_add_test(tc, test_threshold_one_and_three);
	tcase_add_test(tc, test_recovery_never_announced_without_page);
	tcase_add_test(tc, test_next_delay);
	tcase_add_test(tc, test_hold_from_up);
	tcase_add_test(tc, test_hold_from_failing);
	tcase_add_test(tc, test_hold_only_a_trigger);
	tcase_add_test(tc, test_suppress);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return pd_test_run(s);
}
