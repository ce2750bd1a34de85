/* statuspage_render.c — the status page's view (see statuspage.c) rendered: the HTML
 * page (inline CSS + SVG, no script; every inserted string through
 * pd_statuspage_html_escape) and the JSON of /api/status (cJSON). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "probed/classify.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/statuspage.h"
#include "statuspage_int.h"

#define CHART_W 960
#define BAR_W (CHART_W / NB) /* 10 px per bucket */
#define STRIP_H 26
#define LAT_H 72
#define LAT_TOP 14 /* room for the scale label */
/* Above this many probes, only the first DETAIL_MAX that are not up or failed in 24 h get
 * both charts with a tooltip per bucket (~26 KB of HTML a probe); the rest get a compact
 * strip (~0.3 KB): 1,000 probes made a 26 MB page before. */
#define DETAIL_MAX 50

static const char *
state_title(enum pd_statuspage_state s)
{
	switch (s) {
	case PD_STATUSPAGE_UP:
		return "Operational";
	case PD_STATUSPAGE_DEGRADED:
		return "Degraded";
	case PD_STATUSPAGE_DOWN:
		return "Down";
	default:
		return "No data yet";
	}
}

/* ---- HTML --------------------------------------------------------------------------- */

int
pd_statuspage_html_escape(struct pd_buf *out, const char *s)
{
	const char *run = s;
	int rc;

	if (s == NULL)
		return 0;
	for (; *s; s++) {
		const char *esc;
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&':
			esc = "&amp;";
			break;
		case '<':
			esc = "&lt;";
			break;
		case '>':
			esc = "&gt;";
			break;
		case '"':
			esc = "&quot;";
			break;
		case '\'':
			esc = "&#39;";
			break;
		default:
			if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
				esc = "";
			else
				continue;
		}
		if ((rc = pd_buf_append(out, run, (size_t)(s - run))) != 0 ||
		    (rc = pd_buf_append(out, esc, strlen(esc))) != 0)
			return rc;
		run = s + 1;
	}
	return pd_buf_append(out, run, (size_t)(s - run));
}

/* A render into out (from len0 on) failed with rc: cut out back to what it held
 * before and say why, prefixed with what. */
static int
render_fail(struct pd_buf *out, size_t len0, int rc, const char *what, struct pd_err *err)
{
	out->len = len0;
	if (out->data)
		out->data[len0] = '\0';
	if (rc == PD_ERR_NOMEM)
		return pd_err_set(err, rc, "%s: out of memory", what);
	return pd_err_set(err, PD_ERR_INVALID, "%s: output exceeds %zu bytes", what, out->limit);
}

#define ESC(s)                                                     \
	do {                                                       \
		if ((rc = pd_statuspage_html_escape(o, (s))) != 0) \
			return rc;                                 \
	} while (0)
#define PUT(...)                                               \
	do {                                                   \
		if ((rc = pd_buf_printf(o, __VA_ARGS__)) != 0) \
			return rc;                             \
	} while (0)

static const char page_css[] =
	":root{--up:#16a34a;--degraded:#d97706;--down:#dc2626;--unknown:#9ca3af;"
	"--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f4f5f7}"
	"*{box-sizing:border-box}"
	"body{margin:0;background:var(--bg);color:var(--ink);"
	"font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
	"main{max-width:1040px;margin:0 auto;padding:22px 20px 36px}"
	"header{display:flex;justify-content:space-between;align-items:baseline;flex-wrap:wrap;gap:6px}"
	"h1{font-size:24px;margin:0}h2{font-size:16px;margin:0 0 12px}"
	"h3{font-size:14px;margin:12px 0 6px}"
	".meta{color:var(--muted);font-size:13px}"
	".banner{margin:12px 0;padding:11px 18px;border-radius:10px;color:#fff;font-weight:600;font-size:17px}"
	".banner.up{background:var(--up)}.banner.degraded{background:var(--degraded)}"
	".banner.down{background:var(--down)}.banner.unknown{background:var(--unknown)}"
	"section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 18px;margin:12px 0}"
	"section p.meta{margin:6px 0 0}"
	".pill{display:inline-block;padding:1px 10px;border-radius:999px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}"
	".pill.up{background:var(--up)}.pill.degraded{background:var(--degraded)}"
	".pill.down{background:var(--down)}.pill.unknown{background:var(--unknown)}"
	".pill.sev{background:#374151}.pill.maint{background:#6d28d9}"
	".families{display:flex;flex-wrap:wrap;gap:10px;list-style:none;margin:0;padding:0}"
	".families li{border:1px solid var(--line);border-radius:8px;padding:8px 12px;display:flex;"
	"align-items:center;gap:10px}"
	".families small{color:var(--muted)}"
	"section.incident{border-color:#fca5a5;border-left:5px solid var(--down)}"
	"pre.draft{white-space:pre-wrap;background:#fff7ed;border:1px solid #fed7aa;border-radius:8px;"
	"padding:10px 14px;margin:0;font:13px/1.45 ui-monospace,'DejaVu Sans Mono',monospace}"
	"table{border-collapse:collapse;width:100%;font-size:13px}"
	"th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}"
	"th{color:var(--muted);font-weight:600}"
	".probe{padding:12px 0 6px;border-top:1px solid var(--line)}.probe:first-of-type{border-top:0;padding-top:0}"
	".probe .head{display:flex;gap:10px;align-items:center;flex-wrap:wrap;margin-bottom:6px}"
	".probe .stats{margin-left:auto;color:var(--muted);font-size:13px}"
	".probe .stats b{color:var(--ink)}"
	"svg{display:block;width:100%;height:auto;margin:4px 0}"
	".axis{display:flex;justify-content:space-between;color:var(--muted);font-size:11px}"
	".legend{color:var(--muted);font-size:12px;margin:0 0 10px}"
	".legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 12px;vertical-align:-1px}"
	"footer{color:var(--muted);font-size:12px;text-align:center;margin-top:18px}"
	"footer a{color:inherit}"
	".budget{display:inline-block;width:60%;height:10px;background:var(--line);border-radius:5px;"
	"overflow:hidden;margin-right:8px;vertical-align:-1px}.budget i{display:block;height:100%}";

static const char *
bucket_color(const struct pd_series_bucket *b)
{
	if (b->count == 0)
		return "#e5e7eb";
	if (b->failures == 0)
		return "#16a34a";
	if (b->failures * 2 < b->count)
		return "#f59e0b";
	return "#dc2626";
}

static void
hhmm(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, cap, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

static void
fmt_ms(double ms, char *out, size_t cap)
{
	if (ms < 0)
		snprintf(out, cap, "–");
	else if (ms >= 10000)
		snprintf(out, cap, "%.1f s", ms / 1000.0);
	else if (ms >= 100)
		snprintf(out, cap, "%.0f ms", ms);
	else
		snprintf(out, cap, "%.1f ms", ms);
}

/* 1, 2, 5 x 10^k at or above v (v > 0). */
static double
nice_ceil(double v)
{
	double e = pow(10.0, floor(log10(v))), m = v / e;

	if (m <= 1.0)
		return e;
	if (m <= 2.0)
		return 2 * e;
	if (m <= 5.0)
		return 5 * e;
	return 10 * e;
}

static int
html_strip(struct pd_buf *o, const struct pd_statuspage_probe *p)
{
	int rc;

	PUT("<svg class=\"strip\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", CHART_W,
	    STRIP_H);
	ESC(p->name);
	PUT(": availability per 15 minutes, last 24 hours\">");
	for (size_t i = 0; i < NB; i++) {
		const struct pd_series_bucket *b = &p->buckets[i];
		char t0[8], t1[8];

		hhmm(b->start_ms, t0, sizeof(t0));
		hhmm(b->start_ms + PD_STATUSPAGE_BUCKET_MS, t1, sizeof(t1));
		PUT("<rect x=\"%zu\" y=\"0\" width=\"%d\" height=\"%d\" rx=\"2\" fill=\"%s\">"
		    "<title>%s–%s UTC: ",
		    i * BAR_W, BAR_W - 2, STRIP_H, bucket_color(b), t0, t1);
		if (b->count == 0)
			PUT("no data");
		else
			PUT("%" PRId64 " checks, %" PRId64 " failed (%.2f%% up)", b->count,
			    b->failures,
			    100.0 * (double)(b->count - b->failures) / (double)b->count);
		PUT("</title></rect>");
	}
	return pd_buf_printf(o, "</svg>");
}

/* The availability strip of a probe drawn compactly: one <path> per colour, a run of
 * equal buckets as one rectangle (a healthy day is a single one), and one tooltip for
 * the whole day instead of one per bucket. */
static int
html_strip_compact(struct pd_buf *o, const struct pd_statuspage_probe *p)
{
	static const char *const colors[] = {"#16a34a", "#f59e0b", "#dc2626", "#e5e7eb"};
	int rc;

	PUT("<svg class=\"strip\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", CHART_W,
	    STRIP_H);
	ESC(p->name);
	PUT(": availability per 15 minutes, last 24 hours\"><title>");
	ESC(p->name);
	if (p->day.count > 0)
		PUT(", last 24 h: %" PRId64 " checks, %" PRId64 " failed", p->day.count,
		    p->day.failures);
	else
		PUT(", last 24 h: no data");
	PUT("</title>");
	for (size_t c = 0; c < sizeof(colors) / sizeof(colors[0]); c++) {
		int open = 0;

		for (size_t i = 0; i < NB;) {
			size_t j = i;

			if (strcmp(bucket_color(&p->buckets[i]), colors[c]) != 0) {
				i++;
				continue;
			}
			while (j < NB && strcmp(bucket_color(&p->buckets[j]), colors[c]) == 0)
				j++;
			if (!open)
				PUT("<path fill=\"%s\" d=\"", colors[c]);
			open = 1;
			PUT("M%zu 0h%zuv%dh-%zuz", i * BAR_W, (j - i) * BAR_W - 2, STRIP_H,
			    (j - i) * BAR_W - 2);
			i = j;
		}
		if (open)
			PUT("\"/>");
	}
	return pd_buf_printf(o, "</svg>");
}

static int
html_latency(struct pd_buf *o, const struct pd_statuspage_probe *p)
{
	const int plot_h = LAT_H - LAT_TOP - 2;
	double maxv = 0, top;
	char lbl[32], half[32];
	int rc;

	for (size_t i = 0; i < NB; i++)
		if (p->buckets[i].p95_ms > maxv)
			maxv = p->buckets[i].p95_ms;
	top = maxv > 0 ? nice_ceil(maxv) : 100;
	fmt_ms(top, lbl, sizeof(lbl));
	fmt_ms(top / 2, half, sizeof(half));
	PUT("<svg class=\"latency\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", CHART_W,
	    LAT_H);
	ESC(p->name);
	PUT(": p95 latency per 15 minutes, last 24 hours\">"
	    "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#e5e7eb\"/>"
	    "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#e5e7eb\" stroke-dasharray=\"4 4\"/>"
	    "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d1d5db\"/>"
	    "<text x=\"2\" y=\"%d\" font-size=\"11\" fill=\"#6b7280\">p95 %s</text>"
	    "<text x=\"2\" y=\"%d\" font-size=\"11\" fill=\"#9ca3af\">%s</text>",
	    LAT_TOP, CHART_W, LAT_TOP, LAT_TOP + plot_h / 2, CHART_W, LAT_TOP + plot_h / 2,
	    LAT_TOP + plot_h, CHART_W, LAT_TOP + plot_h, LAT_TOP - 3, lbl, LAT_TOP + plot_h / 2 - 3,
	    half);
	for (size_t i = 0; i < NB; i++) {
		const struct pd_series_bucket *b = &p->buckets[i];
		double h;
		char t0[8], v[32];

		if (b->p95_ms < 0)
			continue;
		h = b->p95_ms / top * plot_h;
		if (h < 1)
			h = 1;
		hhmm(b->start_ms, t0, sizeof(t0));
		fmt_ms(b->p95_ms, v, sizeof(v));
		PUT("<rect x=\"%zu\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\">"
		    "<title>%s UTC: p95 %s over %" PRId64 " checks</title></rect>",
		    i * BAR_W + 1, LAT_TOP + plot_h - h, BAR_W - 2, h,
		    b->failures > 0 ? "#f87171" : "#6366f1", t0, v, b->count);
	}
	return pd_buf_printf(o, "</svg>");
}

static int
html_probe(struct pd_buf *o, const struct pd_statuspage_view *v,
	   const struct pd_statuspage_probe *p, int detail)
{
	const char *st = pd_statuspage_state_str(p->state);
	char p95[32], t[8], t0[8];
	int rc;

	(void)v;
	PUT("<div class=\"probe\" data-probe=\"");
	ESC(p->name);
	PUT("\" data-state=\"%s\"", st);
	if (p->severity > 0)
		PUT(" data-severity=\"%s\"", pd_classify_severity_str(p->severity));
	PUT("><div class=\"head\"><b>");
	ESC(p->name);
	PUT("</b><span class=\"pill %s\">%s</span>", st, state_title(p->state));
	if (p->severity > 0) /* the severity of its open incident, as everywhere else */
		PUT("<span class=\"pill sev\">%s</span>", pd_classify_severity_str(p->severity));
	if (p->maint[0] != '\0') { /* still probed; its pages are held */
		char until[40];

		pd_statuspage_utc_minute(p->maint_until_ms, until, sizeof(until));
		PUT("<span class=\"pill maint\" title=\"");
		ESC(p->maint);
		PUT(": ");
		ESC(p->maint_reason);
		PUT("\">maintenance until %s</span>", until);
	}
	PUT("<span class=\"meta\">");
	ESC(p->endpoint);
	PUT(" · ");
	ESC(p->family);
	PUT(" · ");
	ESC(p->tier);
	if (p->consec_fail > 0)
		PUT(" · %d consecutive failures", p->consec_fail);
	if (p->cert_not_after_s > 0) {
		char day[40];
		double left = ((double)p->cert_not_after_s * 1000 - (double)v->now_ms) / 86400000.0;

		pd_clock_rfc3339(p->cert_not_after_s * 1000, day, sizeof(day));
		day[10] = '\0';
		PUT(" · <span class=\"cert\" data-cert-not-after=\"%" PRId64
		    "\">TLS certificate %s "
		    "%s (%.0f days%s)</span>",
		    p->cert_not_after_s, left < 0 ? "expired" : "expires", day,
		    left < 0 ? -left : left, left < 0 ? " ago" : "");
	}
	PUT("</span><span class=\"stats\">");
	if (p->day.count > 0) {
		fmt_ms(p->day.p95_ms, p95, sizeof(p95));
		PUT("uptime <b data-uptime=\"%.4f\">%.2f%%</b> · p95 <b>%s</b> · %" PRId64
		    " checks",
		    100.0 * (double)(p->day.count - p->day.failures) / (double)p->day.count,
		    100.0 * (double)(p->day.count - p->day.failures) / (double)p->day.count, p95,
		    p->day.count);
	} else {
		PUT("no results in the last 24 h");
	}
	PUT("</span></div>");
	if (!detail)
		rc = html_strip_compact(o, p);
	else if ((rc = html_strip(o, p)) == 0)
		rc = html_latency(o, p);
	if (rc != 0)
		return rc;
	hhmm(p->buckets[0].start_ms, t0, sizeof(t0));
	hhmm(p->buckets[NB / 2].start_ms, t, sizeof(t));
	PUT("<div class=\"axis\"><span>%s UTC (24 h ago)</span><span>%s UTC</span><span>now</span></div></div>",
	    t0, t);
	return 0;
}

/* The manager's incidents (when any): title, severity, since, members. */
static int
html_manager_incidents(struct pd_buf *o, const struct pd_statuspage_view *v)
{
	char since[40];
	int rc;

	PUT("<table class=\"incidents\"><thead><tr><th>Incident</th><th>Severity</th>"
	    "<th>Opened</th><th>Probes</th><th>Reason</th></tr></thead><tbody>");
	for (size_t i = 0; i < v->nincidents; i++) {
		const struct pd_statuspage_incident *in = &v->incidents[i];

		pd_statuspage_utc_minute(in->opened_ms, since, sizeof(since));
		PUT("<tr data-incident-key=\"");
		ESC(in->key);
		PUT("\"><td>");
		ESC(in->title);
		PUT("</td><td>%s</td><td>%s</td><td>", pd_classify_severity_str(in->severity),
		    since);
		ESC(in->members);
		PUT("</td><td>");
		ESC(in->reason);
		PUT("</td></tr>");
	}
	return pd_buf_printf(o, "</tbody></table><h3>Open pages</h3>");
}

static int
html_incident(struct pd_buf *o, const struct pd_statuspage_view *v)
{
	char since[40], last[40];
	int rc, sev = 0;

	/* the most severe open incident's; pages outside any incident are not ranked */
	for (size_t i = 0; i < v->nincidents; i++)
		if (v->incidents[i].severity > 0 && (sev == 0 || v->incidents[i].severity < sev))
			sev = v->incidents[i].severity;
	PUT("<section class=\"incident\" id=\"incident\"><h2>Current incident "
	    "<span class=\"pill sev\">%s</span></h2>",
	    sev > 0 ? pd_classify_severity_str(sev) : "none");
	if (v->nincidents > 0 && (rc = html_manager_incidents(o, v)) != 0)
		return rc;
	PUT("<table class=\"pages\"><thead><tr><th>Probe</th><th>Endpoint</th><th>Severity</th>"
	    "<th>State</th><th>Failing since</th><th>Failures</th><th>Last result</th></tr>"
	    "</thead><tbody>");
	for (size_t i = 0; i < v->nprobes; i++) {
		const struct pd_statuspage_probe *p = &v->probes[i];
		int64_t t = p->first_fail_ms > 0 ? p->first_fail_ms : p->paged_at_ms;

		if (!p->page_open)
			continue;
		pd_statuspage_utc_minute(t, since, sizeof(since));
		PUT("<tr data-page=\"");
		ESC(p->name);
		PUT("\"><td>");
		ESC(p->name);
		PUT("</td><td>");
		ESC(p->endpoint);
		PUT("</td><td%s>%s</td><td>%s</td><td>%s</td><td>%d</td><td>",
		    p->severity > 0 ? ""
				    : " title=\"in no incident: not ranked by the classifier\"",
		    p->severity > 0 ? pd_classify_severity_str(p->severity) : "none",
		    pd_eval_status_str(p->eval), t > 0 ? since : "–", p->consec_fail);
		if (p->has_result) {
			snprintf(last, sizeof(last), "%s", pd_outcome_str(p->last.outcome));
			ESC(last);
			PUT(": ");
			ESC(p->last.verdict);
		} else {
			PUT("–");
		}
		PUT("</td></tr>");
	}
	PUT("</tbody></table>");
	if (v->incident_message != NULL || v->draft != NULL) {
		PUT("<h3>Drafted status message</h3><pre class=\"draft\" id=\"draft\">");
		ESC(v->incident_message != NULL ? v->incident_message : v->draft);
		PUT("</pre><p class=\"meta\">Drafted from the playbook's Investigating template%s. "
		    "Review it, then post it; next update in 15 minutes.</p>",
		    v->incident_message != NULL ? " by the incident manager" : "");
	}
	return pd_buf_printf(o, "</section>");
}

static int
html_banner(struct pd_buf *o, const struct pd_statuspage_view *v)
{
	size_t down = 0, deg = 0;
	int rc;

	for (size_t k = 0; k < v->nfamilies; k++) {
		if (v->families[k].state == PD_STATUSPAGE_DOWN)
			down++;
		else if (v->families[k].state == PD_STATUSPAGE_DEGRADED)
			deg++;
	}
	PUT("<div class=\"banner %s\" id=\"overall\" data-state=\"%s\">",
	    pd_statuspage_state_str(v->overall), pd_statuspage_state_str(v->overall));
	switch (v->overall) {
	case PD_STATUSPAGE_UP:
		PUT("All systems operational");
		break;
	case PD_STATUSPAGE_DOWN:
		PUT("Major outage: every endpoint family is down");
		break;
	case PD_STATUSPAGE_DEGRADED:
		if (down > 0)
			PUT("Partial outage: %zu of %zu endpoint families down", down,
			    v->nfamilies);
		else
			PUT("Degraded: %zu of %zu endpoint families failing checks", deg,
			    v->nfamilies);
		break;
	default:
		PUT("Waiting for the first results");
		break;
	}
	return pd_buf_printf(o, "</div>");
}

/* " <small>name · N probes</small>", only where it adds something to the endpoint */
static int
html_family_note(struct pd_buf *o, const struct pd_statuspage_family *f)
{
	size_t n = strlen(f->name);
	int same = strlen(f->endpoint) == n + 2 && f->endpoint[0] == '/' &&
		   strncmp(f->endpoint + 1, f->name, n) == 0 && f->endpoint[n + 1] == '/';
	int rc;

	if (same && f->nprobes == 1)
		return 0;
	PUT(" <small>");
	if (!same) {
		ESC(f->name);
		if (f->nprobes > 1)
			PUT(" · ");
	}
	if (f->nprobes > 1)
		PUT("%zu probes", f->nprobes);
	return pd_buf_printf(o, "</small>");
}

/* one bar per objective: the share of the error budget left */
static int
html_budgets(struct pd_buf *o, const struct pd_statuspage_view *v)
{
	int rc;

	PUT("<section id=\"budgets\"><h2>Error budgets</h2><table><tr><th>SLO</th><th>objective</th>"
	    "<th>availability</th><th style=\"width:45%%\">budget left</th></tr>");
	for (size_t i = 0; i < v->nslos; i++) {
		const struct pd_statuspage_slo *s = &v->slos[i];
		double left = s->budget_left, w = left < 0 ? 0 : left > 1 ? 100 : left * 100;
		const char *col = left > 0.5 ? "var(--up)"
				  : left > 0 ? "var(--degraded)"
					     : "var(--down)";
		char per[32];

		pd_config_duration_format(s->period_ms, per, sizeof(per));
		PUT("<tr data-slo=\"");
		ESC(s->name);
		PUT("\" data-budget=\"%.4f\"><td><b>", left);
		ESC(s->name);
		PUT("</b>");
		if (s->severity)
			PUT(" <span class=\"pill sev\">burning (%s)</span>",
			    pd_classify_severity_str(s->severity));
		PUT("</td><td>%.4g%% over %s</td><td>", s->objective * 100, per);
		if (s->sli >= 0)
			PUT("%.3f%%", s->sli * 100);
		else
			PUT("no data");
		PUT("</td><td><div class=\"budget\"><i style=\"width:%.1f%%;background:%s\"></i></div>"
		    "%.1f%% left%s</td></tr>",
		    w, col, left * 100, left <= 0 ? " (spent)" : "");
	}
	return pd_buf_printf(o, "</table></section>");
}

int
pd_statuspage_html(const struct pd_statuspage_view *v, struct pd_buf *out, struct pd_err *err)
{
	struct pd_buf *o = out;
	size_t len0 = out->len;
	char now[40];
	int rc;

	pd_clock_rfc3339(v->now_ms, now, sizeof(now));
	now[19] = '\0'; /* 2026-05-29T05:07:12 */
	now[10] = ' ';
	if ((rc = pd_buf_printf(
		     o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
			"<meta http-equiv=\"refresh\" content=\"30\"><title>Status")) != 0)
		goto out;
	if (v->location[0]) {
		if ((rc = pd_buf_printf(o, " — ")) != 0 ||
		    (rc = pd_statuspage_html_escape(o, v->location)) != 0)
			goto out;
	}
	if ((rc = pd_buf_printf(o, "</title><style>%s</style></head><body><main>", page_css)) !=
		    0 ||
	    (rc = pd_buf_printf(o,
				"<header><h1>Service status</h1><div class=\"meta\">"
				"observed by probed %s",
				v->version)) != 0)
		goto out;
	if (v->location[0]) {
		if ((rc = pd_buf_printf(o, " from <b id=\"location\">")) != 0 ||
		    (rc = pd_statuspage_html_escape(o, v->location)) != 0 ||
		    (rc = pd_buf_printf(o, "</b>")) != 0)
			goto out;
	}
	if ((rc = pd_buf_printf(o, " · updated <time id=\"updated\">%s UTC</time></div></header>",
				now)) != 0 ||
	    (rc = html_banner(o, v)) != 0)
		goto out;
	if ((v->npages > 0 || v->nincidents > 0) && (rc = html_incident(o, v)) != 0)
		goto out;
	if ((rc = pd_buf_printf(o, "<section id=\"families\"><h2>Endpoint families</h2>"
				   "<ul class=\"families\">")) != 0)
		goto out;
	for (size_t k = 0; k < v->nfamilies; k++) {
		const struct pd_statuspage_family *f = &v->families[k];
		const char *st = pd_statuspage_state_str(f->state);

		if ((rc = pd_buf_printf(o, "<li data-family=\"")) != 0 ||
		    (rc = pd_statuspage_html_escape(o, f->name)) != 0 ||
		    (rc = pd_buf_printf(o, "\" data-state=\"%s\"><span><b>", st)) != 0 ||
		    (rc = pd_statuspage_html_escape(o, f->endpoint)) != 0 ||
		    (rc = pd_buf_printf(o, "</b>")) != 0 || (rc = html_family_note(o, f)) != 0 ||
		    (rc = pd_buf_printf(o, "</span><span class=\"pill %s\">%s</span></li>", st,
					state_title(f->state))) != 0)
			goto out;
	}
	if ((rc = pd_buf_printf(o, "</ul></section>")) != 0 ||
	    (v->nslos > 0 && (rc = html_budgets(o, v)) != 0))
		goto out;
	if ((rc = pd_buf_printf(o, "<section id=\"history\"><h2>Last 24 hours</h2>"
				   "<p class=\"legend\">Availability per 15 minutes:"
				   "<i style=\"background:#16a34a\"></i>all checks passed"
				   "<i style=\"background:#f59e0b\"></i>some failed"
				   "<i style=\"background:#dc2626\"></i>most failed"
				   "<i style=\"background:#e5e7eb\"></i>no data"
				   " &nbsp;·&nbsp; p95 latency:"
				   "<i style=\"background:#6366f1\"></i>all passed"
				   "<i style=\"background:#f87171\"></i>with failures</p>")) != 0)
		goto out;
	if (v->nprobes > DETAIL_MAX &&
	    (rc = pd_buf_printf(o,
				"<p class=\"legend\">%zu probes: the first %d that are not up or "
				"failed in the last 24 h are drawn in detail, the others as one "
				"strip each.</p>",
				v->nprobes, DETAIL_MAX)) != 0)
		goto out;
	for (size_t i = 0, ndetail = 0; i < v->nprobes; i++) {
		const struct pd_statuspage_probe *p = &v->probes[i];
		int detail = v->nprobes <= DETAIL_MAX ||
			     (ndetail < DETAIL_MAX &&
			      (p->state != PD_STATUSPAGE_UP || p->day.failures > 0));

		ndetail += detail;
		if ((rc = html_probe(o, v, p, detail)) != 0)
			goto out;
	}
	if ((rc = pd_buf_printf(
		     o, "</section><footer>Times are UTC. The page refreshes every 30 s. "
			"Machine-readable: <a href=\"api/status\">api/status</a> · "
			"<a href=\"metrics\">metrics</a></footer></main></body></html>\n")) != 0)
		goto out;
	pd_log_redact(o->data + len0, o->cap - len0);
	o->len = len0 + strlen(o->data + len0);
out:
	if (rc != 0)
		return render_fail(out, len0, rc, "status page", err);
	return 0;
}

/* ---- JSON --------------------------------------------------------------------------- */

static cJSON *
json_time(int64_t ms)
{
	char t[40];

	if (ms <= 0)
		return cJSON_CreateNull();
	pd_clock_rfc3339(ms, t, sizeof(t));
	return cJSON_CreateString(t);
}

static cJSON *
json_ms(double ms)
{
	if (ms < 0)
		return cJSON_CreateNull();
	return cJSON_CreateNumber(round(ms * 1000.0) / 1000.0);
}

/* "severity": "P1".."P4" and "incident": its key, or both null outside an incident */
static void
json_severity(cJSON *o, const struct pd_statuspage_probe *p)
{
	if (p->severity > 0) {
		cJSON_AddStringToObject(o, "severity", pd_classify_severity_str(p->severity));
		cJSON_AddStringToObject(o, "incident", p->incident);
	} else {
		cJSON_AddNullToObject(o, "severity");
		cJSON_AddNullToObject(o, "incident");
	}
}

/* Append n >= 0 in decimal. */
static char *
put_u64(char *o, uint64_t n)
{
	char t[24];
	int k = 0;

	do
		t[k++] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	while (k > 0)
		*o++ = t[--k];
	return o;
}

/* A latency as json_ms prints it through cJSON (rounded to 0.001 ms; "%1.15g" of that is
 * its decimal digits, trailing zeros dropped; null when negative). */
static char *
put_ms(char *o, double ms)
{
	uint64_t k;
	unsigned frac;

	if (!(ms >= 0) || ms >= 1e12) {
		if (ms >= 1e12) /* not a latency; let printf do it as cJSON would */
			return o + sprintf(o, "%1.15g", round(ms * 1000.0) / 1000.0);
		memcpy(o, "null", 4);
		return o + 4;
	}
	k = (uint64_t)llround(ms * 1000.0);
	o = put_u64(o, k / 1000);
	if ((frac = (unsigned)(k % 1000)) != 0) {
		*o++ = '.';
		*o++ = (char)('0' + frac / 100);
		if ((frac %= 100) != 0) {
			*o++ = (char)('0' + frac / 10);
			if ((frac %= 10) != 0)
				*o++ = (char)('0' + frac);
		}
	}
	return o;
}

/* history's count (what 0), failures (1) or p95_ms (2) array as a raw JSON item. */
static cJSON *
json_raw_series(const struct pd_statuspage_probe *p, int what)
{
	char buf[NB * 32 + 4], *o = buf;

	*o++ = '[';
	for (size_t i = 0; i < NB; i++) {
		const struct pd_series_bucket *b = &p->buckets[i];

		if (i > 0)
			*o++ = ',';
		if (what == 2)
			o = put_ms(o, b->p95_ms);
		else
			o = put_u64(o, (uint64_t)(what == 0 ? b->count : b->failures));
	}
	*o++ = ']';
	*o = '\0';
	return cJSON_CreateRaw(buf);
}

static cJSON *
json_probe(const struct pd_statuspage_view *v, const struct pd_statuspage_probe *p)
{
	cJSON *o = cJSON_CreateObject(), *last, *h, *cnt, *fail, *p95;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "family", p->family);
	cJSON_AddStringToObject(o, "tier", p->tier);
	cJSON_AddStringToObject(o, "endpoint", p->endpoint);
	json_severity(o, p);
	cJSON_AddStringToObject(o, "state", pd_statuspage_state_str(p->state));
	if (p->maint[0] != '\0') {
		cJSON *mt = cJSON_AddObjectToObject(o, "maintenance");
		char until[40];

		pd_clock_rfc3339(p->maint_until_ms, until, sizeof(until));
		cJSON_AddStringToObject(mt, "by", p->maint);
		cJSON_AddStringToObject(mt, "reason", p->maint_reason);
		cJSON_AddStringToObject(mt, "until", until);
	} else {
		cJSON_AddNullToObject(o, "maintenance");
	}
	cJSON_AddStringToObject(o, "paging_state", pd_eval_status_str(p->eval));
	cJSON_AddBoolToObject(o, "page_open", p->page_open);
	cJSON_AddNumberToObject(o, "consecutive_failures", p->consec_fail);
	if (p->cert_not_after_s > 0)
		cJSON_AddNumberToObject(o, "cert_not_after", (double)p->cert_not_after_s);
	else
		cJSON_AddNullToObject(o, "cert_not_after");
	if (p->has_result) {
		last = cJSON_AddObjectToObject(o, "last");
		if (last != NULL) {
			cJSON_AddItemToObject(last, "ts", json_time(p->last.ts_ms));
			cJSON_AddBoolToObject(last, "ok", pd_result_ok(&p->last));
			cJSON_AddStringToObject(last, "outcome", pd_outcome_str(p->last.outcome));
			cJSON_AddNumberToObject(last, "http_status", p->last.http_status);
			cJSON_AddItemToObject(last, "total_ms", json_ms(p->last.total_ms));
			cJSON_AddStringToObject(last, "verdict", p->last.verdict);
		}
	} else {
		cJSON_AddNullToObject(o, "last");
	}
	if (p->day.count > 0)
		cJSON_AddNumberToObject(o, "uptime_24h",
					round(1e6 * (double)(p->day.count - p->day.failures) /
					      (double)p->day.count) /
						1e4);
	else
		cJSON_AddNullToObject(o, "uptime_24h");
	cJSON_AddNumberToObject(o, "checks_24h", (double)p->day.count);
	cJSON_AddNumberToObject(o, "failures_24h", (double)p->day.failures);
	cJSON_AddItemToObject(o, "p95_24h_ms", json_ms(p->day.count > 0 ? p->day.p95_ms : -1));
	h = cJSON_AddObjectToObject(o, "history");
	if (h == NULL)
		return o;
	cJSON_AddItemToObject(h, "start", json_time(v->window_start_ms));
	cJSON_AddNumberToObject(h, "bucket_seconds", PD_STATUSPAGE_BUCKET_MS / 1000);
	cJSON_AddBoolToObject(h, "complete", p->series_complete);
	/* the three arrays as raw JSON text: 288 numbers a probe, formatted here as cJSON
	 * would (json_raw_series), without a node each */
	if ((cnt = json_raw_series(p, 0)) != NULL)
		cJSON_AddItemToObject(h, "count", cnt);
	if ((fail = json_raw_series(p, 1)) != NULL)
		cJSON_AddItemToObject(h, "failures", fail);
	if ((p95 = json_raw_series(p, 2)) != NULL)
		cJSON_AddItemToObject(h, "p95_ms", p95);
	return o;
}

int
pd_statuspage_json(const struct pd_statuspage_view *v, struct pd_buf *out, struct pd_err *err)
{
	cJSON *root = cJSON_CreateObject(), *arr, *it;
	char *text = NULL;
	size_t len0 = out->len;
	int rc = PD_ERR_NOMEM;

	if (root == NULL)
		goto out;
	cJSON_AddItemToObject(root, "generated_at", json_time(v->now_ms));
	if (v->location[0])
		cJSON_AddStringToObject(root, "location", v->location);
	else
		cJSON_AddNullToObject(root, "location");
	cJSON_AddStringToObject(root, "version", v->version);
	cJSON_AddStringToObject(root, "overall", pd_statuspage_state_str(v->overall));
	if ((arr = cJSON_AddArrayToObject(root, "families")) == NULL)
		goto out;
	for (size_t k = 0; k < v->nfamilies; k++) {
		if ((it = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, it);
		cJSON_AddStringToObject(it, "name", v->families[k].name);
		cJSON_AddStringToObject(it, "endpoint", v->families[k].endpoint);
		cJSON_AddStringToObject(it, "state", pd_statuspage_state_str(v->families[k].state));
		cJSON_AddNumberToObject(it, "probes", (double)v->families[k].nprobes);
		cJSON_AddNumberToObject(it, "probes_down", (double)v->families[k].ndown);
	}
	if (v->nslos > 0 && (arr = cJSON_AddArrayToObject(root, "slos")) != NULL) {
		for (size_t k = 0; k < v->nslos; k++) {
			const struct pd_statuspage_slo *s = &v->slos[k];

			if ((it = cJSON_CreateObject()) == NULL)
				goto out;
			cJSON_AddItemToArray(arr, it);
			cJSON_AddStringToObject(it, "name", s->name);
			cJSON_AddNumberToObject(it, "objective", s->objective);
			cJSON_AddNumberToObject(it, "period_seconds",
						(double)(s->period_ms / 1000));
			if (s->sli >= 0)
				cJSON_AddNumberToObject(it, "sli", s->sli);
			else
				cJSON_AddNullToObject(it, "sli");
			cJSON_AddNumberToObject(it, "budget_remaining", s->budget_left);
			if (s->severity)
				cJSON_AddStringToObject(it, "burning",
							pd_classify_severity_str(s->severity));
			else
				cJSON_AddNullToObject(it, "burning");
		}
	}
	if ((arr = cJSON_AddArrayToObject(root, "pages")) == NULL)
		goto out;
	for (size_t i = 0; i < v->nprobes; i++) {
		const struct pd_statuspage_probe *p = &v->probes[i];

		if (!p->page_open)
			continue;
		if ((it = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, it);
		cJSON_AddStringToObject(it, "probe", p->name);
		cJSON_AddStringToObject(it, "family", p->family);
		cJSON_AddStringToObject(it, "endpoint", p->endpoint);
		json_severity(it, p);
		cJSON_AddStringToObject(it, "state", pd_eval_status_str(p->eval));
		cJSON_AddItemToObject(
			it, "since",
			json_time(p->first_fail_ms > 0 ? p->first_fail_ms : p->paged_at_ms));
		cJSON_AddItemToObject(it, "paged_at", json_time(p->paged_at_ms));
		cJSON_AddNumberToObject(it, "consecutive_failures", p->consec_fail);
		cJSON_AddStringToObject(it, "dedup_key", p->dedup_key);
		if (p->has_result) {
			cJSON_AddStringToObject(it, "outcome", pd_outcome_str(p->last.outcome));
			cJSON_AddStringToObject(it, "reason", p->last.verdict);
		}
	}
	if ((arr = cJSON_AddArrayToObject(root, "incidents")) == NULL)
		goto out;
	for (size_t i = 0; i < v->nincidents; i++) {
		const struct pd_statuspage_incident *in = &v->incidents[i];
		cJSON *members;

		if ((it = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, it);
		cJSON_AddStringToObject(it, "key", in->key);
		cJSON_AddStringToObject(it, "severity", pd_classify_severity_str(in->severity));
		cJSON_AddStringToObject(it, "title", in->title);
		cJSON_AddStringToObject(it, "reason", in->reason);
		cJSON_AddItemToObject(it, "opened", json_time(in->opened_ms));
		members = cJSON_Parse(in->members);
		if (members == NULL) /* cut by the view's buffer: pass the text on */
			members = cJSON_CreateString(in->members);
		cJSON_AddItemToObject(it, "members", members);
	}
	if (v->incident_message != NULL || v->draft != NULL) {
		const char *msg = v->incident_message != NULL ? v->incident_message : v->draft;
		const char *nl = strchr(msg, '\n');

		if ((it = cJSON_AddObjectToObject(root, "draft")) == NULL)
			goto out;
		cJSON_AddStringToObject(it, "template", "investigating");
		cJSON_AddStringToObject(it, "source",
					v->incident_message != NULL ? "incident" : "pages");
		if (nl != NULL) {
			char title[512];

			snprintf(title, sizeof(title), "%.*s", (int)(nl - msg), msg);
			cJSON_AddStringToObject(it, "title", title);
		}
		cJSON_AddStringToObject(it, "text", msg);
		cJSON_AddItemToObject(it, "started", json_time(v->incident_start_ms));
	} else {
		cJSON_AddNullToObject(root, "draft");
	}
	if ((arr = cJSON_AddArrayToObject(root, "probes")) == NULL)
		goto out;
	for (size_t i = 0; i < v->nprobes; i++) {
		if ((it = json_probe(v, &v->probes[i])) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, it);
	}
	if ((text = cJSON_PrintUnformatted(root)) == NULL)
		goto out;
	if ((rc = pd_buf_append(out, text, strlen(text))) != 0 ||
	    (rc = pd_buf_append(out, "\n", 1)) != 0)
		goto out;
	pd_log_redact(out->data + len0, out->cap - len0);
	out->len = len0 + strlen(out->data + len0);
	rc = 0;
out:
	cJSON_Delete(root);
	free(text);
	if (rc != 0)
		return render_fail(out, len0, rc, "status JSON", err);
	return 0;
}
