/* check_maint.c — maintenance windows and silences, with explicit times (no clock). */
#include <check.h>
#include "testlib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/maint.h"

#define MIN (60LL * 1000)
#define HOUR (60 * MIN)
#define DAY PD_MAINT_DAY_MS
/* 2026-12-07T00:00:00Z, a Monday */
#define MON0 (1796601600LL * 1000)

static char *probes_login[] = {"login"};
static char *families_api[] = {"api"};

START_TEST(test_weekday)
{
	ck_assert_int_eq(pd_maint_weekday(0), 3); /* 1970-01-01: Thursday */
	ck_assert_int_eq(pd_maint_weekday(MON0), 0);
	ck_assert_int_eq(pd_maint_weekday(MON0 - 1), 6); /* Sunday 23:59:59.999 */
	ck_assert_int_eq(pd_maint_weekday(MON0 + 6 * DAY + 23 * HOUR), 6);
	ck_assert_int_eq(pd_maint_weekday(-1), 2); /* 1969-12-31: Wednesday */
	ck_assert_int_eq(pd_maint_weekday_parse("mon"), 0);
	ck_assert_int_eq(pd_maint_weekday_parse("Sunday"), 6);
	ck_assert_int_eq(pd_maint_weekday_parse("SAT"), 5);
	ck_assert_int_eq(pd_maint_weekday_parse("su"), -1);
	ck_assert_int_eq(pd_maint_weekday_parse("funday"), -1);
	ck_assert_int_eq(pd_maint_weekday_parse(""), -1);
}
END_TEST

START_TEST(test_one_off)
{
	struct pd_maint_window w = {0};
	int64_t a = 0, b = 0;

	w.start_ms = MON0 + 2 * HOUR;
	w.duration_ms = 30 * MIN;
	w.all = 1;
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 2 * HOUR - 1, &a, &b), 0);
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 2 * HOUR, &a, &b), 1);
	ck_assert_int_eq(a, MON0 + 2 * HOUR);
	ck_assert_int_eq(b, MON0 + 2 * HOUR + 30 * MIN);
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 2 * HOUR + 30 * MIN - 1, NULL, NULL), 1);
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 2 * HOUR + 30 * MIN, NULL, NULL), 0);
	/* a week later: one-off means once */
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 7 * DAY + 2 * HOUR + MIN, NULL, NULL),
			 0);
}
END_TEST

START_TEST(test_recurring_across_midnight)
{
	struct pd_maint_window w = {0};
	int64_t a = 0, b = 0;

	/* Tuesdays and Thursdays at 23:30 for 1 hour */
	w.weekdays = (1u << 1) | (1u << 3);
	w.time_ms = 23 * HOUR + 30 * MIN;
	w.duration_ms = HOUR;
	w.all = 1;
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 23 * HOUR + 45 * MIN, NULL, NULL), 0);
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + DAY + 23 * HOUR + 29 * MIN, NULL, NULL),
			 0);
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + DAY + 23 * HOUR + 30 * MIN, &a, &b), 1);
	ck_assert_int_eq(a, MON0 + DAY + 23 * HOUR + 30 * MIN);
	ck_assert_int_eq(b, MON0 + 2 * DAY + 30 * MIN);
	/* Wednesday 00:10 is still Tuesday's window */
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 2 * DAY + 10 * MIN, &a, &b), 1);
	ck_assert_int_eq(a, MON0 + DAY + 23 * HOUR + 30 * MIN);
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 2 * DAY + 30 * MIN, NULL, NULL), 0);
	/* Wednesday 23:45: not listed */
	ck_assert_int_eq(
		pd_maint_window_active(&w, MON0 + 2 * DAY + 23 * HOUR + 45 * MIN, NULL, NULL), 0);
	ck_assert_int_eq(
		pd_maint_window_active(&w, MON0 + 3 * DAY + 23 * HOUR + 45 * MIN, NULL, NULL), 1);
	/* the next week too */
	ck_assert_int_eq(
		pd_maint_window_active(&w, MON0 + 8 * DAY + 23 * HOUR + 31 * MIN, NULL, NULL), 1);
}
END_TEST

START_TEST(test_recurring_across_week_end)
{
	struct pd_maint_window w = {0};
	int64_t a = 0, b = 0;

	/* Sundays 23:00 for 2 hours: into Monday */
	w.weekdays = 1u << 6;
	w.time_ms = 23 * HOUR;
	w.duration_ms = 2 * HOUR;
	w.all = 1;
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 30 * MIN, &a, &b), 1);
	ck_assert_int_eq(a, MON0 - HOUR);
	ck_assert_int_eq(b, MON0 + HOUR);
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + HOUR, NULL, NULL), 0);
	ck_assert_int_eq(
		pd_maint_window_active(&w, MON0 + 6 * DAY + 22 * HOUR + 59 * MIN, NULL, NULL), 0);
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 6 * DAY + 23 * HOUR, &a, &b), 1);
	ck_assert_int_eq(b, MON0 + 7 * DAY + HOUR);
	/* a full week long window every Monday at 00:00: always open, ends next Monday */
	w.weekdays = 1u << 0;
	w.time_ms = 0;
	w.duration_ms = PD_MAINT_WEEK_MS;
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 6 * DAY + 23 * HOUR, &a, &b), 1);
	ck_assert_int_eq(a, MON0);
	ck_assert_int_eq(b, MON0 + 7 * DAY);
	ck_assert_int_eq(pd_maint_window_active(&w, MON0 + 7 * DAY, &a, &b), 1);
	ck_assert_int_eq(a, MON0 + 7 * DAY);
}
END_TEST

START_TEST(test_scope)
{
	struct pd_maint_window w = {0};
	struct pd_maint_hit hit;

	w.start_ms = MON0;
	w.duration_ms = HOUR;
	w.reason = (char *)"deploy";
	w.probes = probes_login;
	w.nprobes = 1;
	ck_assert_int_eq(pd_maint_check(&w, 1, NULL, 0, "login", "auth", MON0 + 1, &hit), 1);
	ck_assert_str_eq(hit.name, "maintenance #1");
	ck_assert_str_eq(hit.reason, "deploy");
	ck_assert_int_eq(hit.silence, 0);
	ck_assert_int_eq(hit.until_ms, MON0 + HOUR);
	ck_assert_int_eq(pd_maint_check(&w, 1, NULL, 0, "orders", "api", MON0 + 1, &hit), 0);
	w.probes = NULL;
	w.nprobes = 0;
	w.families = families_api;
	w.nfamilies = 1;
	ck_assert_int_eq(pd_maint_check(&w, 1, NULL, 0, "orders", "api", MON0 + 1, &hit), 1);
	ck_assert_int_eq(pd_maint_check(&w, 1, NULL, 0, "login", "auth", MON0 + 1, &hit), 0);
	ck_assert_int_eq(pd_maint_check(&w, 1, NULL, 0, "login", NULL, MON0 + 1, &hit), 0);
	w.families = NULL;
	w.nfamilies = 0;
	ck_assert_int_eq(pd_maint_check(&w, 1, NULL, 0, "login", "auth", MON0 + 1, &hit), 0);
	w.all = 1;
	ck_assert_int_eq(pd_maint_check(&w, 1, NULL, 0, "login", "auth", MON0 + 1, &hit), 1);
	ck_assert_int_eq(pd_maint_check(&w, 1, NULL, 0, "login", "auth", MON0 + HOUR, &hit), 0);
}
END_TEST

START_TEST(test_silences)
{
	struct pd_silence s[2];
	struct pd_maint_window w = {0};
	struct pd_maint_hit hit;

	memset(s, 0, sizeof(s));
	s[0].id = 7;
	snprintf(s[0].probe, sizeof(s[0].probe), "login");
	snprintf(s[0].reason, sizeof(s[0].reason), "vendor ticket 123");
	s[0].created_ms = MON0;
	s[0].until_ms = MON0 + 30 * MIN;
	s[1].id = 8;
	snprintf(s[1].family, sizeof(s[1].family), "api");
	snprintf(s[1].reason, sizeof(s[1].reason), "rollout");
	s[1].created_ms = MON0;
	s[1].until_ms = MON0 + 10 * MIN;
	ck_assert_int_eq(pd_maint_check(NULL, 0, s, 2, "login", "auth", MON0 - 1, &hit), 0);
	ck_assert_int_eq(pd_maint_check(NULL, 0, s, 2, "login", "auth", MON0, &hit), 1);
	ck_assert_int_eq(hit.silence, 1);
	ck_assert_int_eq(hit.id, 7);
	ck_assert_str_eq(hit.name, "silence #7");
	ck_assert_str_eq(hit.reason, "vendor ticket 123");
	ck_assert_int_eq(pd_maint_check(NULL, 0, s, 2, "orders", "api", MON0 + 9 * MIN, &hit), 1);
	ck_assert_int_eq(hit.id, 8);
	ck_assert_int_eq(pd_maint_check(NULL, 0, s, 2, "orders", "api", MON0 + 10 * MIN, &hit), 0);
	/* a probe-silence does not hold another probe of the same family, and vice versa */
	ck_assert_int_eq(pd_maint_check(NULL, 0, s, 2, "signup", "auth", MON0 + MIN, &hit), 0);
	ck_assert_int_eq(pd_maint_check(NULL, 0, s, 2, "api", "other", MON0 + MIN, &hit), 0);
	/* expired early: until_ms moved to the expiry time */
	s[0].until_ms = MON0 + 5 * MIN;
	ck_assert_int_eq(pd_maint_check(NULL, 0, s, 2, "login", "auth", MON0 + 5 * MIN, &hit), 0);
	/* window and silence together: the one that ends last is reported */
	s[0].until_ms = MON0 + 30 * MIN;
	w.start_ms = MON0;
	w.duration_ms = HOUR;
	w.all = 1;
	w.name = (char *)"deploy";
	ck_assert_int_eq(pd_maint_check(&w, 1, s, 2, "login", "auth", MON0 + MIN, &hit), 1);
	ck_assert_int_eq(hit.silence, 0);
	ck_assert_str_eq(hit.name, "deploy");
	ck_assert_int_eq(hit.until_ms, MON0 + HOUR);
	w.duration_ms = 20 * MIN;
	ck_assert_int_eq(pd_maint_check(&w, 1, s, 2, "login", "auth", MON0 + MIN, &hit), 1);
	ck_assert_int_eq(hit.silence, 1);
	ck_assert_int_eq(hit.until_ms, MON0 + 30 * MIN);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("maint");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_weekday);
	tcase_add_test(tc, test_one_off);
	tcase_add_test(tc, test_recurring_across_midnight);
	tcase_add_test(tc, test_recurring_across_week_end);
	tcase_add_test(tc, test_scope);
	tcase_add_test(tc, test_silences);
	suite_add_tcase(s, tc);
	return pd_test_run(s);
}
