/* slo.h — SLOs, error budgets and multi-window, multi-burn-rate alerts.
 *
 * Pure: objective + rules + a counting function (the store's aggregates in the daemon
 * and probectl, synthetic counts in tests) + now -> status. No I/O, no clock reads.
 *
 * Definitions (the SRE workbook's, over probe results):
 *   error rate(W)   failures / results over the last W (0 when there are no results)
 *   burn rate(W)    error rate(W) / (1 - objective): 1 = the budget lasts exactly the
 *                   SLO period; 14.4 = 2 % of a 30-day budget spent in one hour
 *   SLI             (results - failures) / results over the SLO period (-1: no data)
 *   budget left     1 - (failures / results) / (1 - objective) over the period, as a
 *                   ratio of the whole budget: 1 = untouched, 0 = spent, < 0 = overspent
 *   exhaustion      at the burn rate of the 1 h window (the shortest long window of the
 *                   defaults; the first rule's long window when configured otherwise),
 *                   the rest of the budget is gone in budget_left * period / burn;
 *                   -1 = never (no burn, or nothing left to lose)
 * A rule fires when the burn rate is >= its threshold over BOTH its long and its short
 * window (the short one makes the alert reset soon after the burn stops). The most
 * severe firing rule wins (lowest Pn).
 *
 * A latency objective (`latency: {under: 800ms, target: 95%}`) is evaluated the same way
 * as its own objective: the "results" are those with a latency, the "failures" those at
 * or above `under`, the objective is `target`; its label is "NAME/latency".
 *
 * Default rules (pd_slo_rules_default, the workbook's table 5-8), and their severities
 * on the playbook's ladder:
 *   14.4x over 1h and 5m   P2  2 % of the month's budget in an hour: customers are
 *    6x   over 6h and 30m  P2  hurting now (partial or degraded), page the primary;
 *                              not P1: a full outage already pages P1 through the probes
 *                              themselves, the burn says "degraded", not "down"
 *    3x   over 1d and 2h   P4  10 % of the budget in a day: a ticket, never a page
 *    1x   over 3d and 6h   P4  (the playbook: P4 = ticket-only, never pages)
 */
#ifndef PROBED_SLO_H
#define PROBED_SLO_H
#include <stddef.h>
#include <stdint.h>

#define PD_SLO_MAX_RULES 8
#define PD_SLO_MAX_WINDOWS (2 * PD_SLO_MAX_RULES)

struct pd_slo_rule {
	double burn; /* threshold, x the budget rate */
	int64_t long_ms, short_ms;
	int severity; /* 1..4 */
};

struct pd_slo_cfg {
	char *name;           /* the family (or probe) name; the SLO's name */
	int by_probe;         /* 1: `probe: NAME`, 0: `family: NAME` */
	double objective;     /* availability, 0 < o < 1 (99.9% -> 0.999) */
	int64_t lat_under_ms; /* 0: availability; else a latency objective (see above) */
	int64_t period_ms;    /* `over:` (default 30d) */
	int line, col;
};

/* The workbook's four rules (above); *n = 4. r has room for PD_SLO_MAX_RULES. */
void pd_slo_rules_default(struct pd_slo_rule *r, size_t *n);

struct pd_slo_counts {
	int64_t total, bad; /* results, failures */
};
/* Counts over [since_ms, until_ms); 0, or non-zero to abort the evaluation. */
typedef int (*pd_slo_count_fn)(void *ud, int64_t since_ms, int64_t until_ms,
			       struct pd_slo_counts *out);

/* "NAME" or "NAME/latency" into out: the objective's identity on every surface. */
void pd_slo_label(const struct pd_slo_cfg *o, char *out, size_t cap);
/* error rate / (1 - objective); 0 without results. */
double pd_slo_burn_rate(const struct pd_slo_counts *c, double objective);

struct pd_slo_status {
	double objective;
	int64_t lat_under_ms; /* the objective's */
	int64_t period_ms;
	struct pd_slo_counts period; /* over the whole period */
	double sli;                  /* -1 when no results */
	double budget_left;          /* ratio of the budget (see above); 1 without results */
	double budget_minutes;       /* the whole budget in minutes of total outage */
	size_t nwin;                 /* distinct rule windows, shortest first */
	int64_t win_ms[PD_SLO_MAX_WINDOWS];
	double burn[PD_SLO_MAX_WINDOWS];
	int64_t win_total[PD_SLO_MAX_WINDOWS];
	int severity;          /* of the most severe firing rule; 0 = none */
	int rule;              /* its index, -1 = none */
	int64_t exhaustion_ms; /* -1 = never */
};

/* Evaluate o under rules at now_ms, counting through fn. 0, or fn's non-zero return. */
int pd_slo_evaluate(const struct pd_slo_cfg *o, const struct pd_slo_rule *rules, size_t nrules,
		    pd_slo_count_fn fn, void *ud, int64_t now_ms, struct pd_slo_status *out);
/* The burn rate of window ms in st (-1 when st has no such window). */
double pd_slo_burn_of(const struct pd_slo_status *st, int64_t ms);
/* The status's figures as one line for an incident's evidence:
 * "SLO 99.9% over 30d: SLI 99.812%, budget left -88.0% (of 43.2 min); burn 1h 20.0x,
 * 5m 21.3x, ...; fired: 14.4x over 1h and 5m". */
void pd_slo_evidence(const struct pd_slo_status *st, const struct pd_slo_rule *rules, char *out,
		     size_t cap);

/* ---- from the store (slo_store.c; the daemon, probectl, /metrics, the status page) ----
 * The counts come from the store's per-minute/per-hour aggregates of the objective's
 * probes (pd_store_family_window): a few small rows per window, never every result. */
struct pd_store;
struct pd_config;
struct pd_err;
int pd_slo_store_status(struct pd_store *st, const struct pd_config *cfg,
			const struct pd_slo_cfg *o, int64_t now_ms, struct pd_slo_status *out,
			struct pd_err *err);

#endif
