/* slo.c — SLI, error budget, burn rates and the multi-window rules (see slo.h). Pure. */
#include <stdio.h>
#include <string.h>
#include "probed/config.h"
#include "probed/slo.h"

void
pd_slo_rules_default(struct pd_slo_rule *r, size_t *n)
{
	static const struct pd_slo_rule def[] = {
		{14.4, 60 * 60 * 1000LL, 5 * 60 * 1000LL, 2},
		{6.0, 6 * 60 * 60 * 1000LL, 30 * 60 * 1000LL, 2},
		{3.0, 24 * 60 * 60 * 1000LL, 2 * 60 * 60 * 1000LL, 4},
		{1.0, 72 * 60 * 60 * 1000LL, 6 * 60 * 60 * 1000LL, 4},
	};

	memcpy(r, def, sizeof(def));
	*n = sizeof(def) / sizeof(def[0]);
}

void
pd_slo_label(const struct pd_slo_cfg *o, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s", o->name ? o->name : "", o->lat_under_ms > 0 ? "/latency" : "");
}

double
pd_slo_burn_rate(const struct pd_slo_counts *c, double objective)
{
	double budget = 1.0 - objective;

	if (c->total <= 0 || budget <= 0)
		return 0;
	return ((double)c->bad / (double)c->total) / budget;
}

static size_t
slo_add_window(struct pd_slo_status *st, int64_t ms)
{
	size_t i;

	for (i = 0; i < st->nwin; i++)
		if (st->win_ms[i] == ms)
			return i;
	if (st->nwin == PD_SLO_MAX_WINDOWS)
		return PD_SLO_MAX_WINDOWS;
	/* keep them sorted, shortest first */
	for (i = st->nwin; i > 0 && st->win_ms[i - 1] > ms; i--)
		st->win_ms[i] = st->win_ms[i - 1];
	st->win_ms[i] = ms;
	st->nwin++;
	return i;
}

double
pd_slo_burn_of(const struct pd_slo_status *st, int64_t ms)
{
	for (size_t i = 0; i < st->nwin; i++)
		if (st->win_ms[i] == ms)
			return st->burn[i];
	return -1;
}

int
pd_slo_evaluate(const struct pd_slo_cfg *o, const struct pd_slo_rule *rules, size_t nrules,
		pd_slo_count_fn fn, void *ud, int64_t now_ms, struct pd_slo_status *out)
{
	double budget = 1.0 - o->objective, ref;
	int64_t ref_ms;
	int rc;

	memset(out, 0, sizeof(*out));
	out->objective = o->objective;
	out->lat_under_ms = o->lat_under_ms;
	out->period_ms = o->period_ms;
	out->rule = -1;
	out->exhaustion_ms = -1;
	out->budget_minutes = budget * (double)o->period_ms / 60000.0;
	if (nrules > PD_SLO_MAX_RULES)
		nrules = PD_SLO_MAX_RULES;
	for (size_t r = 0; r < nrules; r++) {
		slo_add_window(out, rules[r].long_ms);
		slo_add_window(out, rules[r].short_ms);
	}
	for (size_t i = 0; i < out->nwin; i++) {
		struct pd_slo_counts c = {0, 0};

		if ((rc = fn(ud, now_ms - out->win_ms[i], now_ms, &c)) != 0)
			return rc;
		out->win_total[i] = c.total;
		out->burn[i] = pd_slo_burn_rate(&c, o->objective);
	}
	if ((rc = fn(ud, now_ms - o->period_ms, now_ms, &out->period)) != 0)
		return rc;
	if (out->period.total > 0) {
		double er = (double)out->period.bad / (double)out->period.total;

		out->sli = 1.0 - er;
		out->budget_left = budget > 0 ? 1.0 - er / budget : 0;
	} else {
		out->sli = -1;
		out->budget_left = 1;
	}
	for (size_t r = 0; r < nrules; r++) {
		const struct pd_slo_rule *ru = &rules[r];

		/* exact thresholds (3.0x over a day) must not miss by a rounding error */
		double at = ru->burn * (1 - 1e-9);

		if (pd_slo_burn_of(out, ru->long_ms) >= at &&
		    pd_slo_burn_of(out, ru->short_ms) >= at &&
		    (out->severity == 0 || ru->severity < out->severity)) {
			out->severity = ru->severity;
			out->rule = (int)r;
		}
	}
	/* time to exhaustion at the current (1 h, else the first rule's long window) burn */
	ref_ms = 60 * 60 * 1000LL;
	if ((ref = pd_slo_burn_of(out, ref_ms)) < 0 && nrules > 0) {
		ref_ms = rules[0].long_ms;
		ref = pd_slo_burn_of(out, ref_ms);
	}
	if (ref > 0 && out->budget_left > 0)
		out->exhaustion_ms = (int64_t)(out->budget_left * (double)o->period_ms / ref);
	return 0;
}

void
pd_slo_evidence(const struct pd_slo_status *st, const struct pd_slo_rule *rules, char *out,
		size_t cap)
{
	char per[32], w[32], w2[32];
	size_t len;

	pd_config_duration_format(st->period_ms, per, sizeof(per));
	pd_config_duration_format(st->lat_under_ms, w, sizeof(w));
	len = (size_t)snprintf(out, cap, "SLO %.4g%%%s%s over %s: ", st->objective * 100,
			       st->lat_under_ms > 0 ? " under " : "", st->lat_under_ms > 0 ? w : "",
			       per);
	if (len < cap && st->sli >= 0)
		len += (size_t)snprintf(
			out + len, cap - len, "SLI %.3f%% (%lld %s in %lld results)", st->sli * 100,
			(long long)st->period.bad, st->lat_under_ms > 0 ? "slower" : "failures",
			(long long)st->period.total);
	else if (len < cap)
		len += (size_t)snprintf(out + len, cap - len, "no results yet");
	if (len < cap)
		len += (size_t)snprintf(out + len, cap - len, ", budget left %.1f%% of %.1f min",
					st->budget_left * 100, st->budget_minutes);
	if (len < cap && st->exhaustion_ms >= 0) {
		pd_config_duration_format(st->exhaustion_ms - st->exhaustion_ms % 60000, w,
					  sizeof(w));
		len += (size_t)snprintf(out + len, cap - len, ", exhausted in %s at this rate",
					st->exhaustion_ms < 60000 ? "under 1m" : w);
	}
	for (size_t i = 0; i < st->nwin && len < cap; i++) {
		pd_config_duration_format(st->win_ms[i], w, sizeof(w));
		len += (size_t)snprintf(out + len, cap - len, "%s %s %.1fx", i ? "," : "; burn", w,
					st->burn[i]);
	}
	if (len < cap && st->rule >= 0) {
		const struct pd_slo_rule *r = &rules[st->rule];

		pd_config_duration_format(r->long_ms, w, sizeof(w));
		pd_config_duration_format(r->short_ms, w2, sizeof(w2));
		snprintf(out + len, cap - len, "; fired: %gx over %s and %s", r->burn, w, w2);
	}
}
