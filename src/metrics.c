/* metrics.c — Prometheus text exposition (format 0.0.4) of the daemon's live state.
 *
 * Families are written whole (HELP, TYPE, then every sample), one probe after another,
 * because the format wants all samples of a metric family together. Probe labels are
 * built once per probe into a small label string and reused for every family.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/buf.h"
#include "probed/classify.h"
#include "probed/eval.h"
#include "probed/incident.h"
#include "probed/log.h"
#include "probed/metrics.h"
#include "probed/slo.h"
#include "probed/store.h"

#ifndef PROBED_VERSION
#define PROBED_VERSION "unknown"
#endif

#define MAX_LABELS 1024 /* one probe's label string, escaped */

/* One probe, copied out of the daemon's view (view pointers are callback-scoped). */
struct mprobe {
	char labels[MAX_LABELS]; /* probe="x",family="y"[,location="z"] */
	enum pd_eval_status status;
	int consec_fail;
	int page_open;
	int severity; /* of its open incident (pd_incident_sevmap), 0 = none */
	int has_result;
	struct pd_result last;
	int64_t cert_not_after_s; /* -1 unknown */
	int64_t held_until_ms;    /* held by maintenance or a silence until, 0 = not */
};

struct mctx {
	const char *location;
	struct pd_incident_sevmap sev; /* the open incidents: the only source of a severity */
	struct mprobe *probes;
	size_t n, cap;
	int nomem;
};

int
pd_metrics_label_value(struct pd_buf *out, const char *s)
{
	const char *run = s;
	int rc;

	for (; *s; s++) {
		const char *esc = NULL;

		switch (*s) {
		case '\\':
			esc = "\\\\";
			break;
		case '"':
			esc = "\\\"";
			break;
		case '\n':
			esc = "\\n";
			break;
		default:
			continue;
		}
		if ((rc = pd_buf_append(out, run, (size_t)(s - run))) != 0 ||
		    (rc = pd_buf_append(out, esc, 2)) != 0)
			return rc;
		run = s + 1;
	}
	return pd_buf_append(out, run, (size_t)(s - run));
}

/* Build `probe="..",family=".."[,location=".."]` into dst. */
static int
probe_labels(char *dst, size_t cap, const char *probe, const char *family, const char *location)
{
	struct pd_buf b;
	int rc;

	pd_buf_init(&b, cap - 1);
	if ((rc = pd_buf_printf(&b, "probe=\"")) != 0 ||
	    (rc = pd_metrics_label_value(&b, probe)) != 0 ||
	    (rc = pd_buf_printf(&b, "\",family=\"")) != 0 ||
	    (rc = pd_metrics_label_value(&b, family)) != 0 || (rc = pd_buf_printf(&b, "\"")) != 0)
		goto out;
	if (location != NULL && location[0] != '\0' &&
	    ((rc = pd_buf_printf(&b, ",location=\"")) != 0 ||
	     (rc = pd_metrics_label_value(&b, location)) != 0 ||
	     (rc = pd_buf_printf(&b, "\"")) != 0))
		goto out;
	snprintf(dst, cap, "%s", b.data);
out:
	pd_buf_cleanup(&b);
	return rc;
}

static void
metrics_on_probe(void *ud, const struct pd_probe_view *v)
{
	struct mctx *c = ud;
	struct mprobe *p;

	if (c->nomem)
		return;
	if (pd_buf_grow(&c->probes, &c->cap, c->n + 1, sizeof(*c->probes)) != 0) {
		c->nomem = 1;
		return;
	}
	p = &c->probes[c->n];
	memset(p, 0, sizeof(*p));
	/* names are [A-Za-z0-9_.-]; a family or location too long for the buffer is cut
	 * by dropping the probe rather than emitting a broken line */
	if (probe_labels(p->labels, sizeof(p->labels), v->name, v->family ? v->family : v->name,
			 c->location) != 0)
		return;
	p->status = v->state->status;
	p->consec_fail = v->state->consec_fail;
	p->page_open = v->state->status == PD_EVAL_DOWN || v->state->status == PD_EVAL_RECOVERING;
	p->severity = pd_incident_sevmap_of(&c->sev, v->name, NULL);
	p->has_result = v->has_result;
	p->cert_not_after_s = v->cert_not_after_s;
	if (v->has_result)
		p->last = *v->last;
	p->held_until_ms = v->maint ? v->maint->until_ms : 0;
	c->n++;
}

static int
family_head(struct pd_buf *o, const char *name, const char *type, const char *help)
{
	/* help texts are constants without backslashes or newlines: no escaping needed */
	return pd_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A float the way Prometheus reads it (%.17g round-trips; NaN/Inf spelled out). */
static int
put_value(struct pd_buf *o, double v)
{
	char tmp[40];
	int n;

	if (isnan(v))
		return pd_buf_printf(o, "NaN\n");
	if (isinf(v))
		return pd_buf_printf(o, "%sInf\n", v < 0 ? "-" : "+");
	if (v == floor(v) && fabs(v) < 1e15) {
		/* most samples (states, counts, codes, sizes): no printf */
		int rc = pd_buf_put_i64(o, (long long)v);

		return rc != 0 ? rc : pd_buf_append(o, "\n", 1);
	}
	/* 15 significant digits: exact for ms timestamps, and hides the binary noise of
	 * sums of curl's microsecond timings (0.000159, not 0.00015900000000000002) */
	n = snprintf(tmp, sizeof(tmp), "%.15g\n", v);
	return pd_buf_append(o, tmp, (size_t)n);
}

/* pre location=".." post when the exporter has a location, else nothing */
static int
put_location(struct pd_buf *o, const struct mctx *c, const char *pre, const char *post)
{
	int rc;

	if (c->location == NULL || c->location[0] == '\0')
		return 0;
	if ((rc = pd_buf_printf(o, "%slocation=\"", pre)) != 0 ||
	    (rc = pd_metrics_label_value(o, c->location)) != 0)
		return rc;
	return pd_buf_printf(o, "\"%s", post);
}

static double
ms_to_s(double ms)
{
	return ms > 0 ? ms / 1000.0 : 0.0;
}

/* The time of the phase after the first byte: total minus the phases before it. */
static double
transfer_ms(const struct pd_result *r)
{
	double sum = 0, t;

	if (r->total_ms < 0 || r->ttfb_ms < 0)
		return 0;
	if (r->dns_ms > 0)
		sum += r->dns_ms;
	if (r->connect_ms > 0)
		sum += r->connect_ms;
	if (r->tls_ms > 0)
		sum += r->tls_ms;
	sum += r->ttfb_ms;
	t = r->total_ms - sum;
	return t > 0 ? t : 0;
}

/* The value of sample k of probe p (k: the index of its label value; 0 when the family
 * has no label of its own). */
typedef double (*probe_value_fn)(const struct mprobe *p, size_t k);

#define PROBE_VALUE(fn, expr)                              \
	static double fn(const struct mprobe *p, size_t k) \
	{                                                  \
		(void)k;                                   \
		return (expr);                             \
	}
PROBE_VALUE(v_success, pd_result_ok(&p->last) ? 1 : 0)
PROBE_VALUE(v_duration, ms_to_s(p->last.total_ms))
PROBE_VALUE(v_status, p->last.http_status)
PROBE_VALUE(v_dns, ms_to_s(p->last.dns_ms))
PROBE_VALUE(v_length, (double)p->last.body_size)
PROBE_VALUE(v_last_ts, (double)p->last.ts_ms / 1000.0)
PROBE_VALUE(v_consec, p->consec_fail)
PROBE_VALUE(v_silenced, p->held_until_ms != 0)
PROBE_VALUE(v_silenced_until, (double)p->held_until_ms / 1000.0)
#undef PROBE_VALUE

static const enum pd_eval_status probe_states[] = {PD_EVAL_UP, PD_EVAL_FAILING, PD_EVAL_DOWN,
						   PD_EVAL_RECOVERING};

/* the phases of probe_http_duration_seconds, in the order of its phase label */
static double
v_phase(const struct mprobe *p, size_t k)
{
	switch (k) {
	case 0:
		return ms_to_s(p->last.dns_ms);
	case 1:
		return ms_to_s(p->last.connect_ms);
	case 2:
		return ms_to_s(p->last.tls_ms);
	case 3:
		return ms_to_s(p->last.ttfb_ms);
	default:
		return ms_to_s(transfer_ms(&p->last));
	}
}

static double
v_state(const struct mprobe *p, size_t k)
{
	return p->status == probe_states[k];
}

/* One gauge family with n samples per probe, label="values[k]" for each k, or one
 * without a label of its own when label is NULL (only probes with a result when
 * need_result). */
static int
probe_label_family(struct pd_buf *o, const struct mctx *c, const char *name, const char *help,
		   int need_result, const char *label, const char *const values[], size_t n,
		   probe_value_fn fn)
{
	int rc;

	if ((rc = family_head(o, name, "gauge", help)) != 0)
		return rc;
	for (size_t i = 0; i < c->n; i++) {
		const struct mprobe *p = &c->probes[i];

		if (need_result && !p->has_result)
			continue;
		for (size_t k = 0; k < n; k++) {
			/* name{labels[,label="value"]} value: appends, no printf (a scrape of
			 * 1,000 probes writes some 18,000 of these lines on the loop) */
			if ((rc = pd_buf_puts(o, name)) != 0 ||
			    (rc = pd_buf_append(o, "{", 1)) != 0 ||
			    (rc = pd_buf_puts(o, p->labels)) != 0)
				return rc;
			if (label != NULL && ((rc = pd_buf_append(o, ",", 1)) != 0 ||
					      (rc = pd_buf_puts(o, label)) != 0 ||
					      (rc = pd_buf_append(o, "=\"", 2)) != 0 ||
					      (rc = pd_buf_puts(o, values[k])) != 0 ||
					      (rc = pd_buf_append(o, "\"", 1)) != 0))
				return rc;
			if ((rc = pd_buf_append(o, "} ", 2)) != 0 ||
			    (rc = put_value(o, fn(p, k))) != 0)
				return rc;
		}
	}
	return 0;
}

/* One gauge family with one sample per probe (only probes with a result when
 * need_result). */
static int
probe_family(struct pd_buf *o, const struct mctx *c, const char *name, const char *help,
	     int need_result, probe_value_fn fn)
{
	return probe_label_family(o, c, name, help, need_result, NULL, NULL, 1, fn);
}

static int
render_probes(struct pd_buf *o, const struct mctx *c)
{
	static const char *const phases[] = {"resolve", "connect", "tls", "processing", "transfer"};
	const char *state_names[4];
	int rc;

	if ((rc = probe_family(
		     o, c, "probe_success",
		     "Whether the last run of the probe succeeded (status, latency and JSON shape).",
		     1, v_success)) != 0 ||
	    (rc = probe_family(o, c, "probe_duration_seconds",
			       "Duration of the last run of the probe in seconds.", 1,
			       v_duration)) != 0 ||
	    (rc = probe_family(o, c, "probe_http_status_code",
			       "HTTP status code of the last run (0 when there was no response).",
			       1, v_status)) != 0 ||
	    (rc = probe_family(o, c, "probe_dns_lookup_time_seconds",
			       "Time spent resolving the name in the last run, in seconds.", 1,
			       v_dns)) != 0 ||
	    (rc = probe_family(
		     o, c, "probe_http_content_length",
		     "Bytes of the response body received in the last run (up to max_body).", 1,
		     v_length)) != 0)
		return rc;
	if ((rc = probe_label_family(o, c, "probe_http_duration_seconds",
				     "Duration of each HTTP phase of the last run, in seconds.", 1,
				     "phase", phases, 5, v_phase)) != 0)
		return rc;
	/* blackbox_exporter's name; only probes whose chain has been seen */
	if ((rc = family_head(o, "probe_ssl_earliest_cert_expiry", "gauge",
			      "Earliest notAfter of the TLS certificate chain presented to the "
			      "probe, seconds since the epoch (last known value).")) != 0)
		return rc;
	for (size_t i = 0; i < c->n; i++)
		if (c->probes[i].cert_not_after_s >= 0 &&
		    (rc = pd_buf_printf(o, "probe_ssl_earliest_cert_expiry{%s} %lld\n",
					c->probes[i].labels,
					(long long)c->probes[i].cert_not_after_s)) != 0)
			return rc;
	if ((rc = probe_family(o, c, "probed_probe_last_run_timestamp_seconds",
			       "Start of the last run of the probe, seconds since the epoch (UTC).",
			       1, v_last_ts)) != 0 ||
	    (rc = probe_family(o, c, "probed_consecutive_failures",
			       "Consecutive failed runs of the probe (0 after a success).", 0,
			       v_consec)) != 0 ||
	    (rc = probe_family(
		     o, c, "probed_silenced",
		     "1 while the probe's pages are held by a maintenance window or a silence "
		     "(it is still probed and recorded), else 0.",
		     0, v_silenced)) != 0 ||
	    (rc = probe_family(
		     o, c, "probed_silenced_until_timestamp_seconds",
		     "End of the maintenance window or silence holding the probe's pages, "
		     "seconds since the epoch (UTC); 0 when not held.",
		     0, v_silenced_until)) != 0)
		return rc;
	for (size_t k = 0; k < 4; k++)
		state_names[k] = pd_eval_status_str(probe_states[k]);
	if ((rc = probe_label_family(
		     o, c, "probed_probe_state",
		     "Paging state of the probe: 1 for the current state, 0 for the "
		     "others (down and recovering mean a page is open).",
		     0, "state", state_names, 4, v_state)) != 0)
		return rc;
	return 0;
}

/* name{severity="Pn"[,location=".."]} counts[n] for n = 1..4, then severity="none" for
 * counts[0] when with_none */
static int
severity_family(struct pd_buf *o, const struct mctx *c, const char *name, const char *help,
		const size_t counts[5], int with_none)
{
	int rc;

	if ((rc = family_head(o, name, "gauge", help)) != 0)
		return rc;
	for (int k = 1; k <= 4 + (with_none != 0); k++) {
		if ((rc = pd_buf_printf(o, "%s{severity=\"%s\"", name,
					k <= 4 ? pd_classify_severity_str(k) : "none")) != 0 ||
		    (rc = put_location(o, c, ",", "")) != 0 ||
		    (rc = pd_buf_printf(o, "} %zu\n", counts[k <= 4 ? k : 0])) != 0)
			return rc;
	}
	return 0;
}

/* Both families by the incident manager's severity (the classifier's), the one every
 * other surface shows: open incidents, and open pages by the severity of the incident
 * their probe belongs to ("none": a page in no incident, e.g. the control target's). */
static int
render_incidents(struct pd_buf *o, const struct mctx *c)
{
	size_t pages[5] = {0};
	int rc;

	for (size_t i = 0; i < c->n; i++)
		if (c->probes[i].page_open)
			pages[c->probes[i].severity]++;
	if ((rc = severity_family(o, c, "probed_open_incidents",
				  "Open incidents by severity (the classifier's P1..P4).",
				  c->sev.counts, 0)) != 0 ||
	    (rc = severity_family(
		     o, c, "probed_open_pages",
		     "Probes with an open page (DOWN or RECOVERING), by the severity of "
		     "the open incident they belong to (none: in no incident).",
		     pages, 1)) != 0)
		return rc;
	return 0;
}

/* A sample without probe labels: name{location=".."} value, or name value. */
static int
global_sample(struct pd_buf *o, const struct mctx *c, const char *name, const char *type,
	      const char *help, double v)
{
	int rc;

	if ((rc = family_head(o, name, type, help)) != 0 ||
	    (rc = pd_buf_printf(o, "%s", name)) != 0)
		return rc;
	if ((rc = put_location(o, c, "{", "}")) != 0)
		return rc;
	if ((rc = pd_buf_printf(o, " ")) != 0)
		return rc;
	return put_value(o, v);
}

/* {location="..",  or { — the opening of a label set that continues */
static int
open_labels(struct pd_buf *o, const struct mctx *c)
{
	int rc;

	if ((rc = pd_buf_printf(o, "{")) != 0)
		return rc;
	return put_location(o, c, "", ",");
}

static int
render_lateness(struct pd_buf *o, const struct mctx *c, const struct pd_daemon_stats *s)
{
	const char *name = "probed_start_lateness_seconds";
	int rc;

	if ((rc = family_head(o, name, "histogram",
			      "How late probe runs started against their schedule, in seconds.")) !=
	    0)
		return rc;
	for (size_t i = 0; i < 8; i++) {
		char le[32];

		if (pd_daemon_lateness_bounds_us[i] == INT64_MAX)
			snprintf(le, sizeof(le), "+Inf");
		else
			snprintf(le, sizeof(le), "%g",
				 (double)pd_daemon_lateness_bounds_us[i] / 1e6);
		if ((rc = pd_buf_printf(o, "%s_bucket", name)) != 0 ||
		    (rc = open_labels(o, c)) != 0 ||
		    (rc = pd_buf_printf(o, "le=\"%s\"} %" PRIu64 "\n", le, s->lateness_le_us[i])) !=
			    0)
			return rc;
	}
	if ((rc = pd_buf_printf(o, "%s_sum", name)) != 0)
		return rc;
	if ((rc = put_location(o, c, "{", "}")) != 0)
		return rc;
	if ((rc = pd_buf_printf(o, " ")) != 0 || (rc = put_value(o, s->lateness_sum_s)) != 0 ||
	    (rc = pd_buf_printf(o, "%s_count", name)) != 0)
		return rc;
	if ((rc = put_location(o, c, "{", "}")) != 0)
		return rc;
	return pd_buf_printf(o, " %" PRIu64 "\n", s->lateness_count);
}

static int
render_daemon(struct pd_buf *o, const struct mctx *c, const struct pd_daemon *d, int64_t now_ms)
{
	struct pd_daemon_stats s;
	struct pd_store_ckpt_stats ck;
	struct pd_err err = {0};
	int64_t depth = 0, oldest_ms = 0, dead = 0;
	int rc, have_outbox;

	pd_daemon_stats(d, &s);
	pd_store_ckpt_stats(pd_daemon_store(d), &ck);
	have_outbox = pd_store_outbox_stats(pd_daemon_store(d), now_ms, &depth, &oldest_ms, &dead,
					    &err) == 0;
	if (!have_outbox)
		pd_log_warn("metrics: outbox stats unavailable: %s", err.msg);
	if (have_outbox &&
	    ((rc = global_sample(o, c, "probed_outbox_depth", "gauge",
				 "Notifications waiting for delivery (not dead-lettered).",
				 (double)depth)) != 0 ||
	     (rc = global_sample(
		      o, c, "probed_outbox_oldest_age_seconds", "gauge",
		      "Age of the oldest notification waiting for delivery (0 when none).",
		      (double)oldest_ms / 1000.0)) != 0 ||
	     (rc = global_sample(o, c, "probed_outbox_dead_letters", "gauge",
				 "Notifications dead-lettered after a permanent failure.",
				 (double)dead)) != 0))
		return rc;
	if ((rc = global_sample(o, c, "probed_results_total", "counter",
				"Probe results recorded since start.", (double)s.results)) != 0 ||
	    (rc = global_sample(o, c, "probed_result_failures_total", "counter",
				"Failed probe results recorded since start.",
				(double)s.failures)) != 0 ||
	    (rc = global_sample(o, c, "probed_store_errors_total", "counter",
				"Failed database writes or commits since start.",
				(double)s.store_errors)) != 0 ||
	    (rc = global_sample(o, c, "probed_store_checkpoints_total", "counter",
				"WAL checkpoints run by the checkpoint thread since start.",
				(double)ck.checkpoints)) != 0 ||
	    (rc = global_sample(o, c, "probed_store_wal_restarts_total", "counter",
				"Times a RESTART checkpoint started the WAL over (at 64 MiB).",
				(double)ck.restarts)) != 0 ||
	    (rc = global_sample(
		     o, c, "probed_store_checkpoint_busy_total", "counter",
		     "WAL checkpoints that could not copy the whole WAL (readers, locks).",
		     (double)ck.busy)) != 0 ||
	    (rc = global_sample(o, c, "probed_store_checkpoint_seconds_total", "counter",
				"Time the checkpoint thread spent checkpointing (off the loop).",
				(double)ck.total_us / 1e6)) != 0 ||
	    (rc = global_sample(o, c, "probed_store_checkpoint_max_seconds", "gauge",
				"The longest WAL checkpoint since start (off the loop).",
				(double)ck.max_us / 1e6)) != 0 ||
	    (rc = global_sample(o, c, "probed_store_wal_frames", "gauge",
				"Pages in the WAL after the last checkpoint.",
				(double)ck.wal_frames)) != 0 ||
	    (rc = global_sample(o, c, "probed_skipped_runs_total", "counter",
				"Probe starts skipped because the previous run was still going.",
				(double)s.skipped)) != 0 ||
	    (rc = global_sample(o, c, "probed_reloads_total", "counter",
				"Configuration reloads (SIGHUP) since start.",
				(double)s.reloads)) != 0 ||
	    (rc = global_sample(o, c, "probed_reload_failures_total", "counter",
				"Configuration reloads rejected since start (old config kept).",
				(double)s.reload_failures)) != 0 ||
	    (rc = global_sample(o, c, "probed_classify_passes_total", "counter",
				"Classify passes over every probe since start (run only while a "
				"probe may alert or an outage is open).",
				(double)s.classify_passes)) != 0 ||
	    (rc = global_sample(o, c, "probed_loud_probes", "gauge",
				"Probes that may alert or are in an open incident.",
				(double)s.loud_probes)) != 0 ||
	    (rc = render_lateness(o, c, &s)) != 0 ||
	    (rc = global_sample(o, c, "probed_start_lateness_max_seconds", "gauge",
				"Worst start lateness since start, in seconds.",
				(double)s.lateness_us_max / 1e6)) != 0 ||
	    (rc = global_sample(o, c, "probed_inflight_transfers", "gauge",
				"HTTP transfers in flight (probes and notifications).",
				(double)s.inflight)) != 0 ||
	    (rc = global_sample(o, c, "probed_probes", "gauge", "Configured probes.",
				(double)c->n)) != 0 ||
	    (rc = global_sample(o, c, "probed_start_time_seconds", "gauge",
				"When the daemon started, seconds since the epoch (UTC).",
				(double)s.started_ms / 1000.0)) != 0 ||
	    (rc = global_sample(o, c, "probed_draining", "gauge",
				"1 while a graceful shutdown finishes in-flight work.",
				s.draining ? 1 : 0)) != 0 ||
	    (rc = global_sample(o, c, "probed_up", "gauge", "1 while the daemon runs and answers.",
				1)) != 0)
		return rc;
	if ((rc = family_head(o, "probed_build_info", "gauge",
			      "Always 1; the labels tell the build.")) != 0 ||
	    (rc = pd_buf_printf(o, "probed_build_info")) != 0 || (rc = open_labels(o, c)) != 0 ||
	    (rc = pd_buf_printf(o, "version=\"")) != 0 ||
	    (rc = pd_metrics_label_value(o, PROBED_VERSION)) != 0 ||
	    (rc = pd_buf_printf(o, "\"} 1\n")) != 0)
		return rc;
	return 0;
}

/* ---- SLOs (from the store's aggregates at scrape time; see slo.h) ---- */

static int
slo_labels(struct pd_buf *o, const struct mctx *c, const char *name, const struct pd_slo_cfg *slo)
{
	int rc;

	if ((rc = pd_buf_printf(o, "%s", name)) != 0 || (rc = open_labels(o, c)) != 0 ||
	    (rc = pd_buf_printf(o, "slo=\"")) != 0 ||
	    (rc = pd_metrics_label_value(o, slo->name)) != 0)
		return rc;
	return pd_buf_printf(o, "\",sli=\"%s\"",
			     slo->lat_under_ms > 0 ? "latency" : "availability");
}

enum {
	SLO_M_OBJECTIVE,
	SLO_M_PERIOD,
	SLO_M_SLI,
	SLO_M_BUDGET,
	SLO_M_EXHAUST,
	SLO_M_ALERT,
	SLO_M_N
};

static int
render_slo(struct pd_buf *o, const struct mctx *c, const struct pd_daemon *d, int64_t now_ms)
{
	static const struct {
		const char *name, *help;
	} fam[SLO_M_N] = {
		{"probed_slo_objective_ratio", "The SLO's objective (0.999 = 99.9%; sli=latency: "
					       "the share under its threshold)."},
		{"probed_slo_period_seconds", "The SLO's period (over:)."},
		{"probed_slo_sli_ratio",
		 "Share of results OK over the SLO period (absent: no results)."},
		{"probed_slo_error_budget_remaining_ratio",
		 "Error budget left over the period: 1 untouched, 0 spent, below 0 overspent."},
		{"probed_slo_time_to_exhaustion_seconds",
		 "When the rest of the budget is gone at the 1h burn rate (absent: never)."},
		{"probed_slo_alert_severity",
		 "Severity (1..4 = P1..P4) of the burn-rate rule that fires now; 0 = none."},
	};
	const struct pd_config *cfg = pd_daemon_config(d);
	struct pd_slo_status *st;
	int rc = 0;

	if (cfg->nslos == 0)
		return 0;
	if ((st = calloc(cfg->nslos, sizeof(*st))) == NULL)
		return PD_ERR_NOMEM;
	for (size_t i = 0; i < cfg->nslos; i++) {
		struct pd_err err = {0};

		if (pd_slo_store_status(pd_daemon_store(d), cfg, &cfg->slos[i], now_ms, &st[i],
					&err) != 0) {
			pd_log_warn("metrics: slo %s: %s", cfg->slos[i].name, err.msg);
			st[i].period_ms = -1; /* left out */
		}
	}
	for (int f = 0; f < SLO_M_N && rc == 0; f++) {
		rc = family_head(o, fam[f].name, "gauge", fam[f].help);
		for (size_t i = 0; i < cfg->nslos && rc == 0; i++) {
			const struct pd_slo_status *s = &st[i];
			double v;

			if (s->period_ms < 0 || (f == SLO_M_SLI && s->sli < 0) ||
			    (f == SLO_M_EXHAUST && s->exhaustion_ms < 0))
				continue;
			v = f == SLO_M_OBJECTIVE ? s->objective
			    : f == SLO_M_PERIOD  ? (double)s->period_ms / 1000.0
			    : f == SLO_M_SLI     ? s->sli
			    : f == SLO_M_BUDGET  ? s->budget_left
			    : f == SLO_M_EXHAUST ? (double)s->exhaustion_ms / 1000.0
						 : s->severity;
			if ((rc = slo_labels(o, c, fam[f].name, &cfg->slos[i])) == 0 &&
			    (rc = pd_buf_printf(o, "} ")) == 0)
				rc = put_value(o, v);
		}
	}
	if (rc == 0)
		rc = family_head(
			o, "probed_slo_burn_rate", "gauge",
			"Error rate over the window / the error budget rate (1 = the budget "
			"lasts the period).");
	for (size_t i = 0; i < cfg->nslos && rc == 0; i++) {
		for (size_t k = 0; k < st[i].nwin && st[i].period_ms >= 0 && rc == 0; k++) {
			char w[32];

			pd_config_duration_format(st[i].win_ms[k], w, sizeof(w));
			if ((rc = slo_labels(o, c, "probed_slo_burn_rate", &cfg->slos[i])) == 0 &&
			    (rc = pd_buf_printf(o, ",window=\"%s\"} ", w)) == 0)
				rc = put_value(o, st[i].burn[k]);
		}
	}
	free(st);
	return rc;
}

struct pd_metrics_snap {
	struct mctx c;
	char *location;     /* c.location points here: the config may be reloaded meanwhile */
	struct pd_buf tail; /* the daemon-wide and SLO families, rendered by collect */
};

void
pd_metrics_snap_free(struct pd_metrics_snap *s)
{
	if (s == NULL)
		return;
	free(s->c.probes);
	pd_incident_sevmap_cleanup(&s->c.sev);
	pd_buf_cleanup(&s->tail);
	free(s->location);
	free(s);
}

static int
metrics_fail(int rc, size_t limit, struct pd_err *err)
{
	if (rc == PD_ERR_NOMEM)
		return pd_err_set(err, rc, "metrics: out of memory");
	return pd_err_set(err, PD_ERR_INVALID, "metrics: output exceeds %zu bytes", limit);
}

int
pd_metrics_collect(const struct pd_daemon *d, int64_t now_ms, size_t limit,
		   struct pd_metrics_snap **out, struct pd_err *err)
{
	const struct pd_config *cfg = pd_daemon_config(d);
	struct pd_metrics_snap *s = calloc(1, sizeof(*s));
	struct pd_err ierr = {0};
	int rc;

	*out = NULL;
	if (s == NULL)
		return metrics_fail(PD_ERR_NOMEM, limit, err);
	pd_incident_sevmap_init(&s->c.sev);
	pd_buf_init(&s->tail, limit);
	if (cfg->location != NULL && (s->location = strdup(cfg->location)) == NULL) {
		rc = PD_ERR_NOMEM;
		goto fail;
	}
	s->c.location = s->location;
	if ((rc = pd_incident_sevmap_load(&s->c.sev, pd_daemon_store(d), &ierr)) == PD_ERR_NOMEM)
		goto fail;
	if (rc != 0) /* no incidents readable: every severity reads none, the rest renders */
		pd_log_warn("metrics: open incidents unavailable: %s", ierr.msg);
	pd_daemon_probes(d, metrics_on_probe, &s->c);
	if (s->c.nomem) {
		rc = PD_ERR_NOMEM;
		goto fail;
	}
	if ((rc = render_daemon(&s->tail, &s->c, d, now_ms)) != 0 ||
	    (rc = render_slo(&s->tail, &s->c, d, now_ms)) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	pd_metrics_snap_free(s);
	return metrics_fail(rc, limit, err);
}

int
pd_metrics_format(struct pd_metrics_snap *s, struct pd_buf *out, struct pd_err *err)
{
	size_t len0 = out->len;
	int rc;

	if ((rc = render_probes(out, &s->c)) != 0 || (rc = render_incidents(out, &s->c)) != 0 ||
	    (s->tail.len > 0 && (rc = pd_buf_append(out, s->tail.data, s->tail.len)) != 0)) {
		out->len = len0;
		if (out->data)
			out->data[len0] = '\0';
		return metrics_fail(rc, out->limit, err);
	}
	/* last line of defence: nothing registered as secret leaves the process */
	pd_log_redact(out->data + len0, out->cap - len0);
	out->len = len0 + strlen(out->data + len0);
	return 0;
}

int
pd_metrics_render(const struct pd_daemon *d, int64_t now_ms, struct pd_buf *out, struct pd_err *err)
{
	struct pd_metrics_snap *s = NULL;
	int rc;

	if ((rc = pd_metrics_collect(d, now_ms, out->limit, &s, err)) != 0)
		return rc;
	rc = pd_metrics_format(s, out, err);
	pd_metrics_snap_free(s);
	return rc;
}
