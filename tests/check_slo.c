/* check_slo.c — SLI, error budget, burn rates and the multi-window rules (slo.c), over
 * synthetic per-minute counts and an injected clock (now_ms is an argument). */
#include <check.h>
#include "testlib.h"
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include "probed/config.h"
#include "probed/slo.h"
#include "probed/store.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 (1767225600000LL) /* 2026-01-01T00:00:00Z, the first minute */
#define NMIN (40 * 24 * 60)  /* 40 days of minutes */

/* synthetic history: results and failures per UTC minute from T0 */
static struct pd_slo_counts hist[NMIN];
static int64_t calls;

/* prefix sums of hist, rebuilt when dirty */
static int64_t pre_total[NMIN + 1], pre_bad[NMIN + 1];
static int dirty = 1;

static int64_t
minute_idx(int64_t t)
{
	int64_t m = t <= T0 ? 0 : (t - T0 + MIN - 1) / MIN; /* first minute starting >= t */

	return m > NMIN ? NMIN : m;
}

static int
count_fn(void *ud, int64_t since, int64_t until, struct pd_slo_counts *out)
{
	int64_t a, b;

	(void)ud;
	calls++;
	if (dirty) {
		for (int64_t m = 0; m < NMIN; m++) {
			pre_total[m + 1] = pre_total[m] + hist[m].total;
			pre_bad[m + 1] = pre_bad[m] + hist[m].bad;
		}
		dirty = 0;
	}
	a = minute_idx(since);
	b = minute_idx(until);
	if (b < a)
		b = a;
	out->total = pre_total[b] - pre_total[a];
	out->bad = pre_bad[b] - pre_bad[a];
	return 0;
}

/* every minute [from, to) (minute indexes) gets total results with bad failures */
static void
fill(int64_t from, int64_t to, int64_t total, int64_t bad)
{
	for (int64_t m = from; m < to && m < NMIN; m++) {
		hist[m].total = total;
		hist[m].bad = bad;
	}
	dirty = 1;
}

static struct pd_slo_cfg obj999 = {.name = "api", .objective = 0.999, .period_ms = 30 * DAY};
static struct pd_slo_rule rules[PD_SLO_MAX_RULES];
static size_t nrules;

static void
setup(void)
{
	memset(hist, 0, sizeof(hist));
	dirty = 1;
	pd_slo_rules_default(rules, &nrules);
	calls = 0;
}

static int
sev_at(int64_t minute, struct pd_slo_status *st)
{
	struct pd_slo_status tmp;

	if (st == NULL)
		st = &tmp;
	ck_assert_int_eq(
		pd_slo_evaluate(&obj999, rules, nrules, count_fn, NULL, T0 + minute * MIN, st), 0);
	return st->severity;
}

START_TEST(test_defaults_are_the_workbook)
{
	ck_assert_uint_eq(nrules, 4);
	ck_assert(rules[0].burn == 14.4 && rules[0].long_ms == HOUR &&
		  rules[0].short_ms == 5 * MIN);
	ck_assert_int_eq(rules[0].severity, 2);
	ck_assert(rules[1].burn == 6 && rules[1].long_ms == 6 * HOUR &&
		  rules[1].short_ms == 30 * MIN);
	ck_assert_int_eq(rules[1].severity, 2);
	ck_assert(rules[2].burn == 3 && rules[2].long_ms == DAY && rules[2].short_ms == 2 * HOUR);
	ck_assert_int_eq(rules[2].severity, 4);
	ck_assert(rules[3].burn == 1 && rules[3].long_ms == 3 * DAY &&
		  rules[3].short_ms == 6 * HOUR);
	ck_assert_int_eq(rules[3].severity, 4);
}
END_TEST

/* 2 % errors against 99.9 %: burn 20. The 1 h window reaches 14.4 after
 * 14.4 / 20 * 60 = 43.2 minutes (the workbook's detection time), the 5 m window is at
 * 20 from the first minute: the page fires at minute 44, not 43. Once fixed, the 5 m
 * window's burn falls under 14.4 after 2 minutes (8 of 500 failing = 16x, then 12x) and
 * the page stops; nothing else fires (6 h at 3.3x, 1 d at 0.8x). */
START_TEST(test_two_percent_pages_on_the_short_windows)
{
	int64_t onset = 31 * 24 * 60; /* a healthy month first */
	struct pd_slo_status st;

	fill(0, onset, 100, 0);
	fill(onset, onset + 60, 100, 2);
	fill(onset + 60, NMIN, 100, 0);
	ck_assert_int_eq(sev_at(onset, &st), 0);
	ck_assert_int_eq(sev_at(onset + 43, &st), 0);
	ck_assert(pd_slo_burn_of(&st, 5 * MIN) > 19.99 && pd_slo_burn_of(&st, 5 * MIN) < 20.01);
	ck_assert_int_eq(sev_at(onset + 44, &st), 2);
	ck_assert_int_eq(st.rule, 0);
	ck_assert(pd_slo_burn_of(&st, HOUR) >= 14.4);
	/* still paging while it lasts, and for under 5 minutes after the fix */
	for (int64_t m = onset + 44; m <= onset + 61; m++)
		ck_assert_int_eq(sev_at(m, &st), 2);
	for (int64_t m = onset + 62; m <= onset + 4 * 24 * 60; m += 7)
		ck_assert_int_eq(sev_at(m, &st), 0);
}
END_TEST

/* 0.05 % errors: burn 0.5 on every window; evaluated every 10 minutes over a whole
 * month (after a month of the same), it never fires; half the budget is left. */
START_TEST(test_half_a_budget_never_alerts)
{
	struct pd_slo_status st;

	fill(0, NMIN, 2000, 1);
	for (int64_t m = 30 * 24 * 60; m <= 40 * 24 * 60; m += 10)
		ck_assert_int_eq(sev_at(m, &st), 0);
	ck_assert(st.budget_left > 0.4999 && st.budget_left < 0.5001);
	ck_assert(pd_slo_burn_of(&st, HOUR) > 0.4999 && pd_slo_burn_of(&st, HOUR) < 0.5001);
}
END_TEST

/* A one-off 5-minute TOTAL outage in a healthy month, against 99.9 % over 30 d. It
 * spends 5 / 43.2 = 11.6 % of the month's budget in 5 minutes: the workbook's rules
 * page on it (1 h burn 83x, 5 m burn up to 1000x) — that is the rule math, not a bug.
 * From the first minute (1 h at 16.7x, 5 m at 200x) until the outage leaves the 30 m
 * window of the 6x rule (6 h at 13.9x), i.e. 30 minutes after the recovery. Then it only
 * tickets (P4): 2 h at 41.7x and 1 d at 3.5x until the outage leaves the 2 h window,
 * then 6 h at 13.9x and 3 d at 1.16x until it leaves 6 h; then nothing. So with the
 * defaults, "tickets but does not page" holds for a slow burn (next tests), not for a
 * total outage: any burst that spends enough budget to ticket (3x over 1 d = 4.32
 * minutes of total outage at 99.9 %) spends 5 times what pages (14.4x over 1 h = 0.86
 * minutes) within the hour. */
START_TEST(test_five_minute_outage_pages_then_only_tickets)
{
	int64_t t = 31 * 24 * 60, m;
	int paged = 0;
	struct pd_slo_status st;

	fill(0, NMIN, 100, 0);
	fill(t, t + 5, 100, 100);
	for (m = t + 1; m < t + 35; m++)
		paged += sev_at(m, &st) == 2;
	ck_assert_int_eq(paged, 34);
	for (m = t + 35; m < t + 5 + 6 * 60; m++) {
		ck_assert_int_eq(sev_at(m, &st), 4);
		ck_assert_int_ne(st.rule, 0);
		ck_assert_int_ne(st.rule, 1);
	}
	ck_assert_int_eq(sev_at(t + 5 + 6 * 60, &st), 0);
	/* budget: 500 failures of 4,320,000 results -> 1 - 0.0001157 / 0.001 = 88.4 % left */
	ck_assert(st.budget_left > 0.8842 && st.budget_left < 0.8843);
}
END_TEST

/* A partial 5-minute blip (10 % of requests) in a healthy month never fires: 1 h burn
 * 8.3x < 14.4, 6 h 1.4x < 6, 1 d 0.35x < 3. */
START_TEST(test_partial_blip_is_silent)
{
	int64_t t = 31 * 24 * 60;

	fill(0, NMIN, 100, 0);
	fill(t, t + 5, 100, 10);
	for (int64_t m = t; m < t + 4 * 24 * 60; m += 1)
		ck_assert_int_eq(sev_at(m, NULL), 0);
}
END_TEST

/* A slow burn (0.4 %, burn 4) tickets once the 1 d window reaches 3x, never pages. */
START_TEST(test_slow_burn_tickets_never_pages)
{
	int64_t t = 31 * 24 * 60;
	struct pd_slo_status st;

	fill(0, NMIN, 1000, 0);
	fill(t, NMIN, 1000, 4);
	/* 1 d at 4x * k / 1440 >= 3 from k = 1080 minutes (18 h) on */
	ck_assert_int_eq(sev_at(t + 1079, &st), 0);
	ck_assert_int_eq(sev_at(t + 1080, &st), 4);
	ck_assert_int_eq(st.rule, 2);
	for (int64_t m = t; m < t + 4 * 24 * 60; m += 30)
		ck_assert_int_lt(sev_at(m, &st) == 2, 1);
}
END_TEST

/* Budget left by hand: 30 d x 100 results/min = 4,320,000 results; the 99.9 % budget is
 * 4,320 failures (43.2 minutes). 1,080 failures spent -> 75 % left. The last hour holds
 * 12 of them (12 / 6,000 = 0.2 %: burn 2), so the rest lasts 0.75 x 30 d / 2 = 11.25 d. */
START_TEST(test_budget_left_by_hand)
{
	int64_t now = 35 * 24 * 60, from = now - 30 * 24 * 60;
	struct pd_slo_status st;
	char ev[512];

	fill(0, NMIN, 100, 0);
	/* 1068 failures spread over the month: one every 2nd hour ... */
	for (int64_t k = 0; k < 1068; k++)
		hist[from + 60 + k * 40].bad = 1;
	dirty = 1;
	fill(now - 60, now, 100, 0);
	for (int64_t k = 0; k < 12; k++)
		hist[now - 60 + k * 5].bad = 1;
	dirty = 1;
	ck_assert_int_eq(sev_at(now, &st), 0);
	ck_assert_int_eq(st.period.total, 4320000);
	ck_assert_int_eq(st.period.bad, 1080);
	ck_assert(st.budget_left > 0.74999 && st.budget_left < 0.75001);
	ck_assert(st.budget_minutes > 43.199 && st.budget_minutes < 43.201);
	ck_assert(st.sli > 0.99974999 && st.sli < 0.99975001);
	ck_assert(pd_slo_burn_of(&st, HOUR) > 1.9999 && pd_slo_burn_of(&st, HOUR) < 2.0001);
	ck_assert_int_eq(st.exhaustion_ms, (int64_t)(11.25 * DAY));
	pd_slo_evidence(&st, rules, ev, sizeof(ev));
	ck_assert_msg(strstr(ev, "budget left 75.0% of 43.2 min") != NULL, "%s", ev);
	ck_assert_msg(strstr(ev, "1h 2.0x") != NULL, "%s", ev);
}
END_TEST

/* No data: SLI unknown, the whole budget left, nothing fires, never exhausted. */
START_TEST(test_no_data)
{
	struct pd_slo_status st;

	ck_assert_int_eq(sev_at(35 * 24 * 60, &st), 0);
	ck_assert(st.sli < 0);
	ck_assert(st.budget_left == 1);
	ck_assert_int_eq(st.exhaustion_ms, -1);
	/* one count per distinct rule window (7: 5m 30m 1h 2h 6h 1d 3d) + the period */
	ck_assert_uint_eq(st.nwin, 7);
	ck_assert_int_eq(calls, 8);
}
END_TEST

/* Configured rules: the most severe firing rule wins, in any order. */
START_TEST(test_custom_rules_most_severe_wins)
{
	struct pd_slo_rule r[2] = {
		{2.0, HOUR, 5 * MIN, 3},
		{10.0, HOUR, 5 * MIN, 1},
	};
	struct pd_slo_status st;
	int64_t t = 31 * 24 * 60;

	fill(0, NMIN, 100, 0);
	fill(t - 60, t, 100, 5); /* 5 %: burn 50 */
	ck_assert_int_eq(pd_slo_evaluate(&obj999, r, 2, count_fn, NULL, T0 + t * MIN, &st), 0);
	ck_assert_int_eq(st.severity, 1);
	ck_assert_int_eq(st.rule, 1);
	ck_assert_uint_eq(st.nwin, 2);
}
END_TEST

/* ---- `slo:` in probes.yaml ---- */
#define CFG_HEAD                                                             \
	"probes:\n"                                                          \
	"  - name: orders\n    family: api\n    url: http://127.0.0.1:1/o\n" \
	"  - name: login\n    url: http://127.0.0.1:1/l\n"

static int
load(const char *yaml, struct pd_config **cfg, struct pd_err *err)
{
	*cfg = NULL;
	return pd_config_load_string(yaml, strlen(yaml), "slo.yaml", cfg, err, NULL, NULL);
}

START_TEST(test_config_slo)
{
	struct pd_config *cfg;
	struct pd_err err = {0};

	ck_assert_int_eq(load(CFG_HEAD
			      "slo:\n"
			      "  objectives:\n"
			      "    - family: api\n      availability: 99.9%\n"
			      "    - probe: login\n      availability: 99%\n      over: 7d\n",
			      &cfg, &err),
			 0);
	ck_assert_uint_eq(cfg->nslos, 2);
	ck_assert_str_eq(cfg->slos[0].name, "api");
	ck_assert_int_eq(cfg->slos[0].by_probe, 0);
	ck_assert(cfg->slos[0].objective > 0.99899 && cfg->slos[0].objective < 0.99901);
	ck_assert_int_eq(cfg->slos[0].period_ms, 30 * DAY);
	ck_assert_int_eq(cfg->slos[1].by_probe, 1);
	ck_assert_int_eq(cfg->slos[1].period_ms, 7 * DAY);
	ck_assert_uint_eq(cfg->nslo_rules, 4); /* the workbook's */
	pd_config_free(cfg);

	ck_assert_int_eq(load(CFG_HEAD "slo:\n"
				       "  rules:\n"
				       "    - {burn_rate: 10, long: 1h, short: 5m, severity: P1}\n"
				       "  objectives:\n"
				       "    - family: api\n      availability: 99.5%\n",
			      &cfg, &err),
			 0);
	ck_assert_uint_eq(cfg->nslo_rules, 1);
	ck_assert(cfg->slo_rules[0].burn == 10);
	ck_assert_int_eq(cfg->slo_rules[0].severity, 1);
	ck_assert_int_eq(cfg->slo_rules[0].short_ms, 5 * MIN);
	pd_config_free(cfg);

	/* no SLO: no objectives, default rules */
	ck_assert_int_eq(load(CFG_HEAD, &cfg, &err), 0);
	ck_assert_uint_eq(cfg->nslos, 0);
	ck_assert_uint_eq(cfg->nslo_rules, 4);
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_config_slo_errors)
{
	struct pd_config *cfg;
	struct pd_err err = {0};

	ck_assert_int_eq(load(CFG_HEAD "slo:\n  objectives:\n    - family: api\n"
				       "      availability: 100%\n",
			      &cfg, &err),
			 PD_ERR_CONFIG);
	ck_assert_msg(strstr(err.msg, "slo.yaml:10:21: availability: expected a percentage") !=
			      NULL,
		      "%s", err.msg);
	ck_assert_int_eq(load(CFG_HEAD "slo:\n  objectives:\n    - family: nosuch\n"
				       "      availability: 99%\n",
			      &cfg, &err),
			 PD_ERR_CONFIG);
	ck_assert_msg(
		strstr(err.msg, "slo.yaml:9:15: slo objective: no probe has the family 'nosuch'") !=
			NULL,
		"%s", err.msg);
	ck_assert_int_eq(load(CFG_HEAD "slo:\n  rules:\n    - {burn_rate: 2, long: 5m, short: 1h, "
				       "severity: P2}\n",
			      &cfg, &err),
			 PD_ERR_CONFIG);
	ck_assert_msg(strstr(err.msg, "short: must not exceed long") != NULL, "%s", err.msg);
	ck_assert_int_eq(
		load(CFG_HEAD
		     "slo:\n  objectives:\n    - family: api\n"
		     "      availability: 99%\n    - family: api\n      availability: 9%\n",
		     &cfg, &err),
		PD_ERR_CONFIG);
	ck_assert_msg(strstr(err.msg, "duplicate slo objective 'api'") != NULL, "%s", err.msg);
	ck_assert_int_eq(load(CFG_HEAD "slo:\n  objectives:\n    - family: api\n"
				       "      availabilty: 99%\n",
			      &cfg, &err),
			 PD_ERR_CONFIG);
	/* the period must fit in the retention (results older are pruned) */
	ck_assert_int_eq(load("store:\n  retention: 7d\n" CFG_HEAD "slo:\n  objectives:\n"
			      "    - family: api\n      availability: 99%\n      over: 28d\n",
			      &cfg, &err),
			 PD_ERR_CONFIG);
	ck_assert_msg(strstr(err.msg, "slo.yaml:13:13: slo objective: over 28d is longer than "
				      "store.retention (7d)") != NULL,
		      "%s", err.msg);
}
END_TEST

/* Latency objectives: parsed into a second objective "NAME/latency", counted from the
 * store's aggregates (a real SQLite file): 3 h of results every 10 s on two probes, every
 * 10th at 2 s, the rest at 100 ms, every 50th failed without a response (no latency). */
START_TEST(test_latency_objective_from_the_store)
{
	struct pd_test_store sto;
	char yaml[1024];
	struct pd_config *cfg;
	struct pd_store *st;
	struct pd_err err = {0};
	struct pd_slo_status ss;
	int64_t now = T0 + 31 * DAY, total, slow, want_total = 0, want_slow = 0;
	const char *names[2] = {"orders", "orders2"};

	st = pd_test_store_open(&sto, "slo");
	snprintf(yaml, sizeof(yaml),
		 "store:\n  path: %s\n"
		 "probes:\n"
		 "  - {name: orders, family: api, url: 'http://127.0.0.1:1/o'}\n"
		 "  - {name: orders2, family: api, url: 'http://127.0.0.1:1/p'}\n"
		 "slo:\n  objectives:\n"
		 "    - family: api\n      availability: 99%%\n      over: 1d\n"
		 "      latency: {under: 800ms, target: 95%%}\n",
		 sto.path);
	ck_assert_int_eq(load(yaml, &cfg, &err), 0);
	ck_assert_uint_eq(cfg->nslos, 2);
	ck_assert_int_eq(cfg->slos[1].lat_under_ms, 800);
	ck_assert(cfg->slos[1].objective > 0.9499 && cfg->slos[1].objective < 0.9501);
	ck_assert_int_eq(cfg->slos[1].period_ms, DAY);
	{
		char label[64];

		pd_slo_label(&cfg->slos[1], label, sizeof(label));
		ck_assert_str_eq(label, "api/latency");
		pd_slo_label(&cfg->slos[0], label, sizeof(label));
		ck_assert_str_eq(label, "api");
	}
	for (int p = 0; p < 2; p++)
		for (int64_t k = 0; k < 3 * 360; k++) {
			struct pd_result r;

			memset(&r, 0, sizeof(r));
			r.ts_ms = now - 3 * HOUR + k * 10000;
			r.total_ms = k % 10 == 3 ? 2000 : 100;
			r.outcome = 0;
			r.http_status = 200;
			snprintf(r.verdict, sizeof(r.verdict), "ok");
			if (k % 50 == 7) {
				r.outcome = 4; /* a timeout: no response, no latency */
				r.total_ms = -1;
				r.http_status = 0;
			}
			if (r.total_ms >= 0) {
				want_total++;
				want_slow += r.total_ms >= 800;
			}
			ck_assert_int_eq(pd_store_add_result(st, names[p], &r, &err), 0);
		}
	ck_assert_int_eq(pd_store_flush(st, &err), 0);
	ck_assert_int_eq(
		pd_store_family_latency(st, names, 2, now - DAY, now, 800, &total, &slow, &err), 0);
	ck_assert_int_eq(total, want_total);
	ck_assert_int_eq(slow, want_slow);
	/* the last 5 minutes only: 30 per probe, 3 slow, 1 without latency (k % 50 == 7
	 * at k = 1057) */
	ck_assert_int_eq(
		pd_store_family_latency(st, names, 2, now - 5 * MIN, now, 800, &total, &slow, &err),
		0);
	ck_assert_int_eq(total, 58);
	ck_assert_int_eq(slow, 6);
	/* the objective: 216 slow of 2116 (10.2 %) against 5 % allowed: burn 2.04, budget
	 * 1 - 2.04 = -104 % */
	ck_assert_int_eq(pd_slo_store_status(st, cfg, &cfg->slos[1], now, &ss, &err), 0);
	ck_assert_int_eq(ss.period.total, 2116);
	ck_assert_int_eq(ss.period.bad, 216);
	ck_assert_int_eq(want_total, 2116);
	ck_assert_int_eq(want_slow, 216);
	ck_assert(fabs(ss.budget_left - (1 - (216.0 / 2116) / 0.05)) < 1e-9);
	ck_assert(pd_slo_burn_of(&ss, HOUR) > 1.9 && pd_slo_burn_of(&ss, HOUR) < 2.1);
	/* 2x: under 14.4, 6 and 3; over 1 on 3d and 6h: the slow-burn ticket */
	ck_assert_int_eq(ss.severity, 4);
	ck_assert_int_eq(ss.rule, 3);
	pd_config_free(cfg);
	pd_test_store_close(&sto);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("slo");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_defaults_are_the_workbook);
	tcase_add_test(tc, test_two_percent_pages_on_the_short_windows);
	tcase_add_test(tc, test_half_a_budget_never_alerts);
	tcase_add_test(tc, test_five_minute_outage_pages_then_only_tickets);
	tcase_add_test(tc, test_partial_blip_is_silent);
	tcase_add_test(tc, test_slow_burn_tickets_never_pages);
	tcase_add_test(tc, test_budget_left_by_hand);
	tcase_add_test(tc, test_no_data);
	tcase_add_test(tc, test_custom_rules_most_severe_wins);
	tcase_add_test(tc, test_config_slo);
	tcase_add_test(tc, test_config_slo_errors);
	tcase_add_test(tc, test_latency_objective_from_the_store);
	suite_add_tcase(s, tc);
	return pd_test_run(s);
}
