/* probectl_history.c — the commands that read the results from the database: status
 * (per probe: paging state, last result, the severity of its open incident, its last
 * page and that page's delivery, certificate expiry), history (one probe's results and
 * percentiles), slo (the objectives of the configuration against the stored counts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/buf.h"
#include "probed/classify.h"
#include "probed/clock.h"
#include "probed/config.h"
#include "probed/eval.h"
#include "probed/incident.h"
#include "probed/outcome.h"
#include "probed/slo.h"
#include "probed/store.h"
#include "probectl_int.h"

/* ------------------------------------------------------------------- status */

/* The notifications of a probe's last page: those of its newest incident (probes page
 * through incidents), or of its own dedup key (the control probe pages directly),
 * whichever was queued last. pg->key is "" when neither has any trace. */
static int
probe_page(struct pd_store *st, const struct pd_probe_status *s, struct page *pg,
	   struct pd_err *err)
{
	struct pd_incident_row ir;
	struct page *own = NULL;
	char key[128];
	int64_t id = 0;
	int rc;

	memset(pg, 0, sizeof(*pg));
	memset(&ir, 0, sizeof(ir));
	if ((rc = pd_store_probe_incident(st, s->probe, &id, key, sizeof(key), err)) != 0)
		return rc;
	if (id > 0) {
		if ((rc = pd_store_incident_get(st, id, &ir, err)) != 0 ||
		    (rc = probectl_page_load(st, key, id, ir.notified, pg, err)) != 0)
			goto out;
	}
	if (s->has_state && s->state.dedup_key[0] != '\0') {
		if ((own = malloc(sizeof(*own))) == NULL) {
			rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((rc = probectl_page_load(st, s->state.dedup_key, 0, NULL, own, err)) != 0)
			goto out;
		if (own->n > 0 &&
		    (pg->n == 0 || probectl_page_newest(own) > probectl_page_newest(pg)))
			*pg = *own;
	}
out:
	free(own);
	pd_store_incident_row_cleanup(&ir);
	return rc;
}

/* the stored certificate expiry of every probe, by name */
struct certs {
	struct cert_ent {
		char probe[128];
		int64_t not_after_s;
	} * v;
	size_t n, cap;
};

static int
certs_row(void *ud, const char *probe, int64_t not_after_s, int64_t checked_ms)
{
	struct certs *cs = ud;

	(void)checked_ms;
	if (pd_buf_grow(&cs->v, &cs->cap, cs->n + 1, sizeof(*cs->v)) != 0)
		return PD_ERR_NOMEM;
	snprintf(cs->v[cs->n].probe, sizeof(cs->v[cs->n].probe), "%s", probe);
	cs->v[cs->n++].not_after_s = not_after_s;
	return 0;
}

static int64_t
certs_of(const struct certs *cs, const char *probe)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->v[i].probe, probe) == 0)
			return cs->v[i].not_after_s;
	return -1;
}

int
probectl_cmd_status(struct cli *c)
{
	struct pd_store *st = NULL;
	struct pd_probe_status *rows = NULL;
	struct page *pg = calloc(1, sizeof(*pg));
	struct dbsel sel = {0};
	struct pd_incident_sevmap sev; /* the severity: that of the probe's open incident */
	struct certs certs = {0};
	struct pd_err err = {0};
	cJSON *doc = NULL, *arr = NULL;
	int64_t now = pd_clock_wall_ms(NULL);
	size_t n = 0;
	int rc;

	pd_incident_sevmap_init(&sev);
	if (pg == NULL)
		return 1;
	if ((rc = probectl_open_store(c, &st, &sel)) != 0)
		goto out;
	rc = 1;
	if (pd_store_status(st, &rows, &n, &err) != 0 ||
	    pd_incident_sevmap_load(&sev, st, &err) != 0 ||
	    pd_store_certs(st, certs_row, &certs, &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg[0] ? err.msg : "out of memory");
		goto out;
	}
	if (c->json) {
		doc = probectl_json_doc("probed.status/1");
		cJSON_AddStringToObject(doc, "database", sel.path);
		arr = cJSON_AddArrayToObject(doc, "probes");
	} else {
		printf("%-24s %-10s %5s %-4s %-14s %-5s %9s  %-24s %s\n", "NAME", "STATE", "FAILS",
		       "SEV", "LAST RUN", "HTTP", "LATENCY", "LAST PAGE", "LAST VERDICT");
	}
	for (size_t i = 0; i < n; i++) {
		const struct pd_probe_status *s = &rows[i];
		const char *state = s->has_state ? pd_eval_status_str(s->state.status) : "up";
		const char *summary = NULL;
		int sv = pd_incident_sevmap_of(&sev, s->probe, NULL);

		memset(pg, 0, sizeof(*pg));
		if (s->last_page_ms > 0) {
			if (probe_page(st, s, pg, &err) != 0) {
				fprintf(stderr, "probectl: %s\n", err.msg);
				goto out;
			}
			summary = probectl_page_summary(pg);
		}
		if (c->json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "name", s->probe);
			cJSON_AddStringToObject(o, "state", state);
			cJSON_AddBoolToObject(o, "up",
					      !s->has_state || s->state.status == PD_EVAL_UP ||
						      s->state.status == PD_EVAL_FAILING);
			cJSON_AddNumberToObject(o, "consecutive_failures",
						s->has_state ? s->state.consec_fail : 0);
			probectl_json_str(o, "severity",
					  sv > 0 ? pd_classify_severity_str(sv) : NULL);
			probectl_result_fields(o, s->has_result ? &s->last : NULL);
			probectl_json_ts(o, "last_page", s->last_page_ms);
			probectl_json_str(o, "delivery", summary);
			probectl_json_num(o, "incident", (double)pg->incident_id,
					  pg->incident_id > 0);
			probectl_json_str(o, "dedup_key", pg->key);
			cJSON_AddItemToObject(o, "deliveries", probectl_page_json(pg));
			{
				int64_t na = certs_of(&certs, s->probe);

				probectl_json_num(o, "cert_not_after", (double)na, na >= 0);
				probectl_json_num(o, "cert_days_left",
						  (double)(na * 1000 - now) / 86400000.0, na >= 0);
			}
			cJSON_AddItemToArray(arr, o);
		} else {
			char age[40], when[40], page[64], verdict[300];

			probectl_fmt_age(now, s->has_result ? s->last.ts_ms : 0, age, sizeof(age));
			probectl_fmt_age(now, s->last_page_ms, when, sizeof(when));
			if (summary != NULL)
				snprintf(page, sizeof(page), "%s, %s", when,
					 strcmp(summary, "not_sent") == 0 ? "not sent" : summary);
			else
				snprintf(page, sizeof(page), "%s", when);
			if (!s->has_result)
				snprintf(verdict, sizeof(verdict), "-");
			else if (pd_result_ok(&s->last))
				snprintf(verdict, sizeof(verdict), "ok");
			else
				snprintf(verdict, sizeof(verdict), "%s: %s",
					 pd_outcome_str(s->last.outcome), s->last.verdict);
			printf("%-24s %-10s %5d %-4s %-14s %-5d %6.1f ms  %-24s %s\n", s->probe,
			       state, s->has_state ? s->state.consec_fail : 0,
			       sv > 0 ? pd_classify_severity_str(sv) : "-", age,
			       s->has_result ? s->last.http_status : 0,
			       s->has_result ? s->last.total_ms : 0.0, page, verdict);
		}
	}
	if (!c->json && certs.n > 0) {
		/* after the table, so that its columns stay as they were */
		printf("\n%-24s %-24s %s\n", "TLS CERTIFICATE", "NOT AFTER (UTC)", "LEFT");
		for (size_t i = 0; i < certs.n; i++) {
			char when[40], left[32];
			int64_t l = certs.v[i].not_after_s * 1000 - now;

			pd_clock_rfc3339(certs.v[i].not_after_s * 1000, when, sizeof(when));
			if (l >= 0)
				snprintf(left, sizeof(left), "%.1f days", (double)l / 86400000.0);
			else
				snprintf(left, sizeof(left), "EXPIRED %.1f days ago",
					 (double)-l / 86400000.0);
			printf("%-24s %-24s %s\n", certs.v[i].probe, when, left);
		}
	}
	if (doc)
		probectl_print_json(doc);
	rc = 0;
out:
	cJSON_Delete(doc);
	free(certs.v);
	free(rows);
	free(pg);
	free(sel.path);
	pd_incident_sevmap_cleanup(&sev);
	pd_store_free(st);
	return rc;
}

/* ------------------------------------------------------------------ history */

struct hist_ctx {
	const struct cli *c;
	cJSON *arr;
};

static int
hist_row(void *ud, const char *probe, const struct pd_result *r)
{
	struct hist_ctx *h = ud;
	char ts[40];

	if (h->arr) {
		cJSON_AddItemToArray(h->arr, probectl_result_json(probe, r));
		return 0;
	}
	pd_clock_rfc3339(r->ts_ms, ts, sizeof(ts));
	printf("%-24s %-14s %-5d %8.1f ms  %s\n", ts, pd_outcome_str(r->outcome), r->http_status,
	       r->total_ms, pd_result_ok(r) ? "" : r->verdict);
	return 0;
}

int
probectl_cmd_history(struct cli *c)
{
	struct pd_store *st = NULL;
	struct pd_history_stats hs = {0};
	struct hist_ctx h = {c, NULL};
	struct dbsel sel = {0};
	struct pd_err err = {0};
	int64_t since_ms = 3600 * 1000;
	int rc;

	if (c->since && pd_config_duration_parse(c->since, &since_ms) != 0) {
		fprintf(stderr, "probectl: bad --since '%s' (use e.g. 30m, 1h, 7d)\n", c->since);
		return EX_USAGE;
	}
	if ((rc = probectl_open_store(c, &st, &sel)) != 0)
		goto out;
	rc = 1;
	if (c->json)
		h.arr = cJSON_CreateArray();
	else
		printf("%-24s %-14s %-5s %11s  %s\n", "TIME (UTC)", "OUTCOME", "HTTP", "LATENCY",
		       "VERDICT");
	if (pd_store_history(st, c->argv[0], pd_clock_wall_ms(NULL) - since_ms, hist_row, &h, &hs,
			     &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		goto out;
	}
	if (c->json) {
		cJSON *o = probectl_json_doc("probed.history/1");

		cJSON_AddStringToObject(o, "database", sel.path);
		cJSON_AddStringToObject(o, "name", c->argv[0]);
		cJSON_AddNumberToObject(o, "window_s", (double)since_ms / 1000.0);
		cJSON_AddNumberToObject(o, "count", (double)hs.count);
		cJSON_AddNumberToObject(o, "failures", (double)hs.failures);
		probectl_json_num(o, "error_rate", hs.error_rate, hs.count > 0);
		probectl_json_num(o, "p50_ms", hs.p50_ms, hs.p50_ms >= 0);
		probectl_json_num(o, "p95_ms", hs.p95_ms, hs.p95_ms >= 0);
		probectl_json_num(o, "p99_ms", hs.p99_ms, hs.p99_ms >= 0);
		cJSON_AddItemToObject(o, "results", h.arr);
		h.arr = NULL;
		probectl_print_json(o);
		cJSON_Delete(o);
	} else {
		char w[32];

		pd_config_duration_format(since_ms, w, sizeof(w));
		printf("\n%s over %s: %lld results, %lld failed, error rate %.2f%%, "
		       "p50 %.1f ms, p95 %.1f ms, p99 %.1f ms\n",
		       c->argv[0], w, (long long)hs.count, (long long)hs.failures,
		       hs.error_rate * 100.0, hs.p50_ms, hs.p95_ms, hs.p99_ms);
	}
	rc = 0;
out:
	cJSON_Delete(h.arr);
	free(sel.path);
	pd_store_free(st);
	return rc;
}

/* ---------------------------------------------------------------------- slo */

/* The objectives come from the configuration (secret files not read: only `slo:` and
 * the probes' names and families matter), the counts from the database. */
int
probectl_cmd_slo(struct cli *c)
{
	struct pd_config *cfg = NULL;
	struct pd_store *st = NULL;
	struct dbsel sel = {0};
	struct pd_err err = {0};
	cJSON *doc = NULL, *arr = NULL;
	int64_t now = pd_clock_wall_ms(NULL);
	int rc;

	c->load_flags |= PD_CONFIG_NO_SECRET_FILES;
	if ((rc = probectl_load_config(c, &cfg)) != 0)
		return rc == PD_ERR_CONFIG || rc == PD_ERR_IO ? EX_CONFIG : 1;
	if ((rc = probectl_open_store(c, &st, &sel)) != 0)
		goto out;
	if (c->json) {
		cJSON *rules;

		doc = probectl_json_doc("probed.slo/1");
		cJSON_AddStringToObject(doc, "database", sel.path);
		rules = cJSON_AddArrayToObject(doc, "rules");
		for (size_t r = 0; r < cfg->nslo_rules; r++) {
			cJSON *o = cJSON_CreateObject();
			char w[32];

			cJSON_AddNumberToObject(o, "burn_rate", cfg->slo_rules[r].burn);
			pd_config_duration_format(cfg->slo_rules[r].long_ms, w, sizeof(w));
			cJSON_AddStringToObject(o, "long", w);
			pd_config_duration_format(cfg->slo_rules[r].short_ms, w, sizeof(w));
			cJSON_AddStringToObject(o, "short", w);
			cJSON_AddStringToObject(
				o, "severity",
				pd_classify_severity_str(cfg->slo_rules[r].severity));
			cJSON_AddItemToArray(rules, o);
		}
		arr = cJSON_AddArrayToObject(doc, "objectives");
	} else if (cfg->nslos == 0) {
		printf("no SLO in %s (add `slo: objectives:`; see README \"SLOs and error budgets\")\n",
		       cfg->path);
	} else {
		printf("%-20s %-13s %-9s %-12s %-13s %-8s %s\n", "SLO", "OBJECTIVE", "SLI",
		       "BUDGET LEFT", "EXHAUSTED IN", "ALERT", "BURN RATE (window: x budget)");
	}
	rc = 1;
	for (size_t i = 0; i < cfg->nslos; i++) {
		const struct pd_slo_cfg *o = &cfg->slos[i];
		struct pd_slo_status s;
		char per[32], w[32], label[140];

		if (pd_slo_store_status(st, cfg, o, now, &s, &err) != 0) {
			fprintf(stderr, "probectl: slo %s: %s\n", o->name, err.msg);
			goto out;
		}
		pd_config_duration_format(o->period_ms, per, sizeof(per));
		pd_slo_label(o, label, sizeof(label));
		if (c->json) {
			cJSON *j = cJSON_CreateObject(), *burn;

			cJSON_AddStringToObject(j, "name", label);
			cJSON_AddStringToObject(j, o->by_probe ? "probe" : "family", o->name);
			cJSON_AddStringToObject(j, "sli_kind",
						o->lat_under_ms > 0 ? "latency" : "availability");
			pd_config_duration_format(o->lat_under_ms, w, sizeof(w));
			probectl_json_str(j, "under", o->lat_under_ms > 0 ? w : NULL);
			cJSON_AddNumberToObject(j, "objective", o->objective);
			cJSON_AddStringToObject(j, "over", per);
			cJSON_AddNumberToObject(j, "results", (double)s.period.total);
			cJSON_AddNumberToObject(j, "failures", (double)s.period.bad);
			probectl_json_num(j, "sli", s.sli, s.sli >= 0);
			cJSON_AddNumberToObject(j, "budget_remaining", s.budget_left);
			cJSON_AddNumberToObject(j, "budget_minutes", s.budget_minutes);
			probectl_json_num(j, "exhaustion_seconds", (double)(s.exhaustion_ms / 1000),
					  s.exhaustion_ms >= 0);
			burn = cJSON_AddObjectToObject(j, "burn_rates");
			for (size_t k = 0; k < s.nwin; k++) {
				pd_config_duration_format(s.win_ms[k], w, sizeof(w));
				cJSON_AddNumberToObject(burn, w, s.burn[k]);
			}
			probectl_json_str(j, "alert",
					  s.severity ? pd_classify_severity_str(s.severity) : NULL);
			probectl_json_num(j, "alert_rule", s.rule + 1, s.rule >= 0);
			cJSON_AddItemToArray(arr, j);
		} else {
			char obj[112], sli[16], ex[32], line[400];
			size_t len = 0;

			pd_config_duration_format(o->lat_under_ms, w, sizeof(w));
			snprintf(obj, sizeof(obj), "%.4g%%%s%s/%s", o->objective * 100,
				 o->lat_under_ms > 0 ? "<" : "", o->lat_under_ms > 0 ? w : "", per);
			if (s.sli >= 0)
				snprintf(sli, sizeof(sli), "%.3f%%", s.sli * 100);
			else
				snprintf(sli, sizeof(sli), "-");
			if (s.exhaustion_ms < 0)
				snprintf(ex, sizeof(ex), s.budget_left <= 0 ? "spent" : "never");
			else if (s.exhaustion_ms < 60000)
				snprintf(ex, sizeof(ex), "<1m");
			else
				pd_config_duration_format(s.exhaustion_ms - s.exhaustion_ms % 60000,
							  ex, sizeof(ex));
			line[0] = '\0';
			for (size_t k = 0; k < s.nwin && len < sizeof(line); k++) {
				pd_config_duration_format(s.win_ms[k], w, sizeof(w));
				len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s %.1f",
							k ? "  " : "", w, s.burn[k]);
			}
			printf("%-20s %-13s %-9s %10.1f%%  %-13s %-8s %s\n", label, obj, sli,
			       s.budget_left * 100, ex,
			       s.severity ? pd_classify_severity_str(s.severity) : "-", line);
		}
	}
	if (doc)
		probectl_print_json(doc);
	rc = 0;
out:
	cJSON_Delete(doc);
	free(sel.path);
	pd_store_free(st);
	pd_config_free(cfg);
	return rc;
}
