/* classify.c — the playbook's P1–P4 ladder and outage modes over windowed facts.
 *
 * Pure: (facts of every probe, the incident's members, rules, now) -> verdict. No I/O,
 * no clock reads; one temporary allocation per call (facts + families, O(n log n)).
 *
 * Each probe is first reduced to a few facts (struct facts):
 *   failing   its latest result failed and the state machine is FAILING or DOWN
 *   quota     ... failed with 429: the test key's own quota ran out. That says nothing
 *             about the API: it is never a failure of the family (P1/P2, modes), only
 *             P4 and the evidence note "test key quota exhausted".
 *   errwin    window error rate >= error_rate_low over >= min_window_count results
 *             (429 results left out of both numerator and denominator)
 *   down      confirmed DOWN, or window error rate >= error_rate_high
 *   slow      window p95 >= latency_factor x baseline (the probe's 7-day baseline, else
 *             baseline_latency_ms), or the latest result failed as "slow"
 *   hard      the failure class is an outage: 5xx, shape/invalid_json/empty, dns/
 *             connect/tls/transfer errors, unexpected status, too large; a timeout only
 *             once the run of failures is older than core_timeout_ms
 *   green     none of the above
 * Control probes are ignored everywhere. Probes pinned `severity: P4` only ever give
 * P4 and take no part in the P1/P2/P3 rules or the modes.
 *
 * Severity (the most severe rule wins):
 *   P1  a member's key is rejected (401/403)                              -> Mode 4
 *       every core probe (tier core, not freshness) failing hard, at least one
 *       confirmed, at least one a member
 *       core_family_down_p1: a core member down with a hard failure
 *   P2  a synchronous member down, failing, slow, or over the error-rate floor
 *   P3  a freshness member late (failing, down, or over the error-rate floor);
 *       any P3 becomes P2 once the incident is p3_escalate_ms old
 *   P4  a pinned-P4 member alerting; shape drift; a member failing only with 429
 *   A member pinned P1..P3 that alerts by a failure rule implies its pinned severity
 *   instead of the rule's (a rejected key stays P1, 429 and drift stay P4).
 * Mode (first that holds):
 *   4  a member's key is rejected
 *   2  every synchronous probe (all tiers, site included; at least two) failing, down,
 *      over the error-rate floor or slow
 *   1  some, not all, families fail with http_5xx/shape/invalid_json/empty (a member
 *      among them) while the reference family is green: `classify: reference_probe`
 *      (default "userid", the playbook's /userid/), the family of the probe so named,
 *      else a family so named; none: any core family (and the words name that family,
 *      never a reference that does not exist). The title names `classify: upstream`.
 *   3  a freshness member is late while no synchronous member fails (with every probe
 *      a member: every synchronous probe green; the synchronous failures of another
 *      incident do not take Mode 3 from a batch incident of its own)
 * pd_classify_mode_of(k) is the mode with k the only member: the cause k's own failure
 * indicates, by which the incident manager groups alerts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/classify.h"

#define CL_RUNBOOK_DIR "runbooks/"

struct facts {
	int eligible;   /* counted by the ladder: not control, not pinned P4 */
	int sync;       /* eligible and not a freshness probe */
	int failing;    /* latest result failed (not 429), state FAILING or DOWN */
	int confirmed;  /* failing and DOWN */
	int quota;      /* latest result 429, state FAILING or DOWN */
	int quota_down; /* ... and DOWN */
	int cls;        /* failure class: the latest result's, else the window's commonest */
	int hard;
	int errwin;
	int down;
	int slow;
	int green;
	int64_t eff_count, eff_fail;
	double eff_rate;
	double baseline;
};

void
pd_classify_rules_default(struct pd_classify_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->window_ms = 5 * 60 * 1000;
	r->core_timeout_ms = 60 * 1000;
	r->latency_factor = 3.0;
	r->error_rate_low = 0.01;
	r->error_rate_high = 0.10;
	r->min_window_count = 5;
	r->baseline_latency_ms = 500;
	r->core_family_down_p1 = 0;
	r->p3_escalate_ms = 30 * 60 * 1000;
	snprintf(r->reference_probe, sizeof(r->reference_probe), "userid");
	snprintf(r->upstream, sizeof(r->upstream), "TikTok");
}

static int
class_hard(int c)
{
	switch (c) {
	case PD_OUT_DNS:
	case PD_OUT_CONNECT:
	case PD_OUT_TLS:
	case PD_OUT_HTTP_5XX:
	case PD_OUT_HTTP_4XX:
	case PD_OUT_SHAPE:
	case PD_OUT_BODY_TOO_LARGE:
	case PD_OUT_EMPTY:
	case PD_OUT_INVALID_JSON:
	case PD_OUT_HTTP_STATUS:
	case PD_OUT_ERROR:
		return 1;
	default: /* ok; timeout (by duration); key_rejected (own rule); quota; slow */
		return 0;
	}
}

/* Mode 1's signature: the upstream answered, but wrongly. */
static int
class_upstream(int c)
{
	return c == PD_OUT_HTTP_5XX || c == PD_OUT_SHAPE || c == PD_OUT_INVALID_JSON ||
	       c == PD_OUT_EMPTY;
}

/* The commonest failure class of a window, 429 left out; 0 when none. */
static int
window_class(const struct pd_window *w)
{
	int best = 0;

	for (int c = 1; c < PD_OUT__COUNT; c++)
		if (c != PD_OUT_QUOTA && w->by_class[c] > 0 &&
		    (best == 0 || w->by_class[c] > w->by_class[best]))
			best = c;
	return best;
}

static void
facts_of(const struct pd_class_input *p, const struct pd_classify_rules *r, int64_t now_ms,
	 struct facts *f)
{
	int64_t quota_n = p->win.by_class[PD_OUT_QUOTA], min_n = r->min_window_count;
	int bad_state = p->status == PD_EVAL_FAILING || p->status == PD_EVAL_DOWN;

	memset(f, 0, sizeof(*f));
	f->eligible = !p->control && p->severity_override != 4;
	f->sync = f->eligible && !p->freshness;
	if (bad_state && p->last_outcome != PD_OUT_OK) {
		if (p->last_outcome == PD_OUT_QUOTA) {
			f->quota = 1;
			f->quota_down = p->status == PD_EVAL_DOWN;
		} else {
			f->failing = 1;
			f->confirmed = p->status == PD_EVAL_DOWN;
		}
	}
	/* the window without 429s: they say nothing about the API */
	f->eff_count = p->win.count - quota_n;
	f->eff_fail = p->win.failures - quota_n;
	if (f->eff_count < 0)
		f->eff_count = 0;
	if (f->eff_fail < 0)
		f->eff_fail = 0;
	f->eff_rate = f->eff_count > 0 ? (double)f->eff_fail / (double)f->eff_count : 0;
	if (min_n < 1)
		min_n = 1;
	if (f->eff_count >= min_n && f->eff_fail > 0) {
		f->errwin = f->eff_rate >= r->error_rate_low;
		f->down = f->eff_rate >= r->error_rate_high;
	}
	if (f->confirmed)
		f->down = 1;
	f->baseline = p->baseline_p95_ms > 0 ? p->baseline_p95_ms : r->baseline_latency_ms;
	f->slow = (p->win.count >= min_n && p->win.p95_ms >= 0 && f->baseline > 0 &&
		   p->win.p95_ms >= r->latency_factor * f->baseline) ||
		  (f->failing && p->last_outcome == PD_OUT_SLOW);
	if (f->failing)
		f->cls = p->last_outcome;
	else if (f->errwin)
		f->cls = window_class(&p->win);
	f->hard = class_hard(f->cls) ||
		  (f->failing && f->cls == PD_OUT_TIMEOUT && p->fail_since_ms > 0 &&
		   now_ms - p->fail_since_ms > r->core_timeout_ms);
	f->green = !f->failing && !f->quota && !f->errwin && !f->slow;
}

/* ---- bounded string building: never overflows, marks truncation with "..." ---- */

struct sb {
	char *p;
	size_t cap, len;
	int full;
};

static void
sb_init(struct sb *b, char *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->full = 0;
	p[0] = '\0';
}

static void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= b->cap - b->len) {
		b->full = 1;
		b->len = b->cap - 1;
		if (b->cap >= 4)
			memcpy(b->p + b->cap - 4, "...", 4);
		return;
	}
	b->len += (size_t)n;
}

/* "250ms", "45s", "2m", "2m30s", "1h", "1h5m" */
static void
dur_fmt(int64_t ms, char *out, size_t cap)
{
	long long s;

	if (ms < 0)
		ms = 0;
	if (ms < 1000) {
		snprintf(out, cap, "%lldms", (long long)ms);
		return;
	}
	s = (long long)(ms / 1000);
	if (s < 60)
		snprintf(out, cap, "%llds", s);
	else if (s < 3600 && s % 60 == 0)
		snprintf(out, cap, "%lldm", s / 60);
	else if (s < 3600)
		snprintf(out, cap, "%lldm%llds", s / 60, s % 60);
	else if (s % 3600 / 60 == 0)
		snprintf(out, cap, "%lldh", s / 3600);
	else
		snprintf(out, cap, "%lldh%lldm", s / 3600, s % 3600 / 60);
}

static void
pct_fmt(double rate, char *out, size_t cap)
{
	double pc = rate * 100;

	if (pc >= 10 || pc == 0)
		snprintf(out, cap, "%.0f%%", pc);
	else
		snprintf(out, cap, "%.1f%%", pc);
}

/* "post-detail: http_5xx for 2m, 100% errors over 5m" / "userid: ok" */
static void
describe(struct sb *b, const struct pd_class_input *p, const struct facts *f,
	 const struct pd_classify_rules *r, int64_t now_ms)
{
	char d[32], w[32], pc[16];
	const char *sep = "";

	dur_fmt(r->window_ms, w, sizeof(w));
	sb_add(b, "%s: ", p->name != NULL ? p->name : "?");
	if (f->quota) {
		sb_add(b, "quota (test key quota exhausted)");
		sep = ", ";
	}
	if (f->failing) {
		sb_add(b, "%s%s%s", p->freshness ? "late: " : "", pd_outcome_str(f->cls),
		       f->confirmed ? "" : " (unconfirmed)");
		if (p->fail_since_ms > 0 && now_ms > p->fail_since_ms) {
			dur_fmt(now_ms - p->fail_since_ms, d, sizeof(d));
			sb_add(b, " for %s", d);
		}
		sep = ", ";
	}
	if (f->eff_fail > 0 && f->eff_count > 0) {
		pct_fmt(f->eff_rate, pc, sizeof(pc));
		sb_add(b, "%s%s errors over %s", sep, pc, w);
		if (!f->failing && f->cls != 0)
			sb_add(b, " (%s)", pd_outcome_str(f->cls));
		sep = ", ";
	}
	if (f->slow && p->win.p95_ms >= 0 && f->baseline > 0) {
		sb_add(b, "%sp95 %.0f ms = %.1fx baseline %.0f ms", sep, p->win.p95_ms,
		       p->win.p95_ms / f->baseline, f->baseline);
		sep = ", ";
	}
	if (p->shape_drift) {
		sb_add(b, "%sshape drift", sep);
		sep = ", ";
	}
	if (sep[0] == '\0')
		sb_add(b, "ok");
}

/* The severity probe i implies on its own; *why gets the rule. confirmed_only: the
 * alerting view (state-machine failures count once confirmed DOWN). */
static int
own_severity(const struct pd_class_input *p, const struct facts *f,
	     const struct pd_classify_rules *r, int confirmed_only, char *why, size_t cap)
{
	int bad = confirmed_only ? f->confirmed : f->failing;
	int quota = confirmed_only ? f->quota_down : f->quota;
	int sev = 0, pinnable = 0;
	const char *name = p->name != NULL ? p->name : "?";

	why[0] = '\0';
	if (p->control)
		return 0;
	if (p->severity_override == 4) {
		if (bad || quota || f->errwin || f->slow || f->down || p->shape_drift) {
			snprintf(why, cap, "%s (pinned P4) failing", name);
			return 4;
		}
		return 0;
	}
	if (bad && f->cls == PD_OUT_KEY_REJECTED) {
		snprintf(why, cap, "test key rejected (401/403) on %s", name);
		return 1;
	}
	if (p->freshness) {
		if (bad || f->errwin) {
			snprintf(why, cap, "freshness probe %s late (%s)", name,
				 pd_outcome_str(f->cls));
			sev = 3;
			pinnable = 1;
		}
	} else if (r->core_family_down_p1 && p->tier == PD_TIER_CORE && f->down && f->hard) {
		snprintf(why, cap, "core endpoint %s down (%s)", name, pd_outcome_str(f->cls));
		sev = 1;
		pinnable = 1;
	} else if (bad || f->down) {
		snprintf(why, cap, "%s %s (%s)", name, f->down ? "down" : "failing",
			 pd_outcome_str(f->cls));
		sev = 2;
		pinnable = 1;
	} else if (f->slow) {
		snprintf(why, cap, "%s p95 %.0f ms >= %.1fx baseline %.0f ms", name, p->win.p95_ms,
			 r->latency_factor, f->baseline);
		sev = 2;
		pinnable = 1;
	} else if (f->errwin) {
		char pc[16];

		pct_fmt(f->eff_rate, pc, sizeof(pc));
		snprintf(why, cap, "%s error rate %s (>= %g%%)", name, pc, r->error_rate_low * 100);
		sev = 2;
		pinnable = 1;
	}
	if (pinnable && p->severity_override >= 1 && p->severity_override <= 3) {
		size_t l = strlen(why);

		snprintf(why + l, cap - l, " (pinned P%d)", p->severity_override);
		return p->severity_override;
	}
	if (sev == 0 && quota) {
		snprintf(why, cap, "test key quota exhausted (429) on %s: not an outage", name);
		sev = 4;
	}
	if (sev == 0 && p->shape_drift) {
		snprintf(why, cap, "shape drift on %s", name);
		sev = 4;
	}
	return sev;
}

/* fam names ref, slashes aside: "userid" matches "userid" and "/userid/" */
static int
fam_is(const char *fam, const char *ref)
{
	size_t l, rl;

	if (fam == NULL || ref == NULL || ref[0] == '\0')
		return 0;
	while (*fam == '/')
		fam++;
	l = strlen(fam);
	while (l > 0 && fam[l - 1] == '/')
		l--;
	rl = strlen(ref);
	return l == rl && strncmp(fam, ref, l) == 0;
}

static const char *
family_of(const struct pd_class_input *p)
{
	if (p->family != NULL && p->family[0] != '\0')
		return p->family;
	return p->name != NULL ? p->name : "";
}

/* The synchronous probes, sorted by family: a family is a run of equal names. */
struct fam_ent {
	const char *fam;
	size_t i;
};

static int
fam_cmp(const void *a, const void *b)
{
	const struct fam_ent *x = a, *y = b;
	int c = strcmp(x->fam, y->fam);

	return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

/* Mode 1: some, not all, families failing upstream-style, a member among them, while
 * the reference family (rules->reference_probe: the family of the probe so named, else
 * a family so named; by default "userid") or, without one, some core family is green.
 * The words name what is true: the reference when there is one, else the green core
 * family. */
static int
mode_upstream(const struct pd_class_input *in, size_t n, const struct facts *f, const int *member,
	      const struct fam_ent *fam, size_t nfam, const struct pd_classify_rules *r,
	      struct sb *why)
{
	int has_ref = 0, ref_green = 0, member_bad = 0, some_ok = 0;
	const char *bad_fam = NULL, *green_core = NULL, *ref_fam = NULL;

	for (size_t i = 0; i < n && ref_fam == NULL; i++)
		if (!in[i].control && in[i].name != NULL &&
		    strcmp(in[i].name, r->reference_probe) == 0)
			ref_fam = family_of(&in[i]);
	for (size_t g = 0, end; g < nfam; g = end) {
		int fam_bad = 0, fam_green = 1, fam_core = 0;

		for (end = g; end < nfam && strcmp(fam[end].fam, fam[g].fam) == 0; end++) {
			size_t j = fam[end].i;

			if (!f[j].green)
				fam_green = 0;
			if (in[j].tier == PD_TIER_CORE)
				fam_core = 1;
			if ((f[j].failing || f[j].errwin) && class_upstream(f[j].cls)) {
				fam_bad = 1;
				if (member == NULL || member[j]) {
					member_bad = 1;
					if (bad_fam == NULL)
						bad_fam = fam[g].fam;
				}
			}
		}
		if (!fam_bad)
			some_ok = 1;
		if (fam_green && fam_core && green_core == NULL)
			green_core = fam[g].fam;
		if (ref_fam != NULL ? strcmp(fam[g].fam, ref_fam) == 0
				    : fam_is(fam[g].fam, r->reference_probe)) {
			has_ref = 1;
			ref_green = fam_green;
		}
	}
	if (!member_bad || !some_ok)
		return 0;
	if (has_ref ? !ref_green : green_core == NULL)
		return 0;
	if (has_ref)
		sb_add(why, "%s fails with 5xx/shape errors while %s stays green", bad_fam,
		       r->reference_probe);
	else
		sb_add(why, "%s fails with 5xx/shape errors while core family %s stays green",
		       bad_fam, green_core);
	return 1;
}

static void
classify_into(const struct pd_class_input *in, size_t n, const int *member,
	      const struct pd_classify_rules *rules, int64_t now_ms, int64_t incident_open_ms,
	      struct facts *f, struct fam_ent *fam, struct pd_verdict *out)
{
	size_t nfam = 0;
	char why[256], best_why[256] = "";
	int sev = 0, key = 0, fresh_late = 0, ncore = 0, core_hard = 0, core_conf = 0;
	int core_member = 0, nsync = 0, sync_bad = 0, sync_member = 0, all_green = 1;
	int sync_member_bad = 0;
	struct sb ev, rs;

	for (size_t i = 0; i < n; i++) {
		facts_of(&in[i], rules, now_ms, &f[i]);
		if (f[i].sync) {
			fam[nfam].fam = family_of(&in[i]);
			fam[nfam++].i = i;
		}
	}
	if (nfam > 1)
		qsort(fam, nfam, sizeof(*fam), fam_cmp);

	/* per-member rules */
	for (size_t i = 0; i < n; i++) {
		int s;

		if (member != NULL && !member[i])
			continue;
		s = own_severity(&in[i], &f[i], rules, 0, why, sizeof(why));
		if (s == 1 && f[i].failing && f[i].cls == PD_OUT_KEY_REJECTED &&
		    in[i].severity_override != 4)
			key = 1;
		if (in[i].freshness && f[i].eligible && (f[i].failing || f[i].errwin || f[i].down))
			fresh_late = 1;
		if (s > 0 && (sev == 0 || s < sev)) {
			sev = s;
			snprintf(best_why, sizeof(best_why), "%s", why);
		}
	}

	/* every core probe failing hard: in the context of all probes */
	for (size_t i = 0; i < n; i++) {
		int is_member = member == NULL || member[i];

		if (f[i].sync) {
			nsync++;
			if (f[i].failing || f[i].down || f[i].errwin || f[i].slow) {
				sync_bad++;
				if (is_member)
					sync_member = 1;
			}
			if (is_member && !f[i].green)
				sync_member_bad = 1;
			if (!f[i].green)
				all_green = 0;
		}
		if (!f[i].sync || in[i].tier != PD_TIER_CORE)
			continue;
		ncore++;
		if (f[i].failing && f[i].hard) {
			core_hard++;
			if (f[i].confirmed)
				core_conf = 1;
			if (is_member)
				core_member = 1;
		}
	}
	if (!key && ncore > 0 && core_hard == ncore && core_conf && core_member) {
		sev = 1;
		snprintf(best_why, sizeof(best_why), "every core probe failing (%d/%d)", core_hard,
			 ncore);
	}
	if (sev == 3 && incident_open_ms > 0 &&
	    now_ms - incident_open_ms >= rules->p3_escalate_ms) {
		char d[32];
		struct sb eb;

		dur_fmt(now_ms - incident_open_ms, d, sizeof(d));
		memcpy(why, best_why, sizeof(why));
		sb_init(&eb, best_why, sizeof(best_why));
		sb_add(&eb, "P3 unresolved for %s, escalated: %s", d, why);
		sev = 2;
	}
	out->severity = sev;
	out->pages = sev == 1 || sev == 2;

	/* mode */
	sb_init(&rs, out->reason, sizeof(out->reason));
	sb_add(&rs, "%s", sev > 0 ? best_why : "nothing wrong");
	if (sev > 0) {
		char mwhy[160];
		struct sb mw;

		sb_init(&mw, mwhy, sizeof(mwhy));
		if (key) {
			out->mode = PD_MODE_KEY;
		} else if (nsync >= 2 && sync_bad == nsync && sync_member) {
			out->mode = PD_MODE_DATABASE;
			sb_add(&mw, "all %d endpoints slow or failing at once", nsync);
		} else if (mode_upstream(in, n, f, member, fam, nfam, rules, &mw)) {
			out->mode = PD_MODE_UPSTREAM;
		} else if (fresh_late && all_green) {
			out->mode = PD_MODE_QUEUE;
			sb_add(&mw, "freshness late while every synchronous endpoint is green");
		} else if (fresh_late && !sync_member_bad) {
			/* the synchronous failures are another incident's cause */
			out->mode = PD_MODE_QUEUE;
			sb_add(&mw, "freshness late; the synchronous endpoints failing now are "
				    "not part of this incident");
		}
		if (mwhy[0] != '\0')
			sb_add(&rs, "; %s", mwhy);
	}
	out->runbook = NULL;
	if (out->mode != PD_MODE_NONE) {
		static const char *const paths[] = {
			[PD_MODE_UPSTREAM] = CL_RUNBOOK_DIR "mode1-upstream-changed.md",
			[PD_MODE_DATABASE] = CL_RUNBOOK_DIR "mode2-database-bottleneck.md",
			[PD_MODE_QUEUE] = CL_RUNBOOK_DIR "mode3-queue-backed-up.md",
			[PD_MODE_KEY] = CL_RUNBOOK_DIR "key-rejected.md",
		};
		out->runbook = paths[out->mode];
	}

	/* evidence: the members, then the other probes (what still works) */
	sb_init(&ev, out->evidence, sizeof(out->evidence));
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			int is_member = member == NULL || member[i];

			if (in[i].control || is_member != (pass == 0))
				continue;
			if (ev.len > 0)
				sb_add(&ev, "; ");
			describe(&ev, &in[i], &f[i], rules, now_ms);
		}
	}
}

void
pd_classify(const struct pd_class_input *in, size_t n, const int *member,
	    const struct pd_classify_rules *rules, int64_t now_ms, int64_t incident_open_ms,
	    struct pd_verdict *out)
{
	struct facts *f = NULL;
	struct fam_ent *fam = NULL;

	memset(out, 0, sizeof(*out));
	if (n > 0 &&
	    ((f = calloc(n, sizeof(*f))) == NULL || (fam = calloc(n, sizeof(*fam))) == NULL)) {
		/* no verdict without the facts; an open incident keeps its severity */
		snprintf(out->reason, sizeof(out->reason), "classifier: out of memory");
		goto out;
	}
	classify_into(in, n, member, rules, now_ms, incident_open_ms, f, fam, out);
out:
	free(f);
	free(fam);
}

void
pd_classify_alerting(const struct pd_class_input *in, size_t n,
		     const struct pd_classify_rules *rules, int64_t now_ms, int *alerting)
{
	struct facts f;
	char why[256];

	for (size_t i = 0; i < n; i++) {
		facts_of(&in[i], rules, now_ms, &f);
		alerting[i] = own_severity(&in[i], &f, rules, 1, why, sizeof(why));
	}
}

enum pd_mode
pd_classify_mode_of(const struct pd_class_input *in, size_t n, size_t k,
		    const struct pd_classify_rules *rules, int64_t now_ms)
{
	struct pd_verdict v;
	int *member;

	if (k >= n || (member = calloc(n, sizeof(*member))) == NULL)
		return PD_MODE_NONE;
	member[k] = 1;
	pd_classify(in, n, member, rules, now_ms, 0, &v);
	free(member);
	return v.mode;
}

const char *
pd_classify_mode_title_of(enum pd_mode m, const struct pd_classify_rules *r, char *buf, size_t cap)
{
	if (m != PD_MODE_UPSTREAM || r == NULL || cap == 0)
		return pd_classify_mode_title(m);
	if (r->upstream[0] != '\0')
		snprintf(buf, cap, "Mode 1: upstream %s API down or changed", r->upstream);
	else
		snprintf(buf, cap, "Mode 1: upstream API down or changed");
	return buf;
}

const char *
pd_classify_mode_str(enum pd_mode m)
{
	switch (m) {
	case PD_MODE_UPSTREAM:
		return "mode1-upstream";
	case PD_MODE_DATABASE:
		return "mode2-database";
	case PD_MODE_QUEUE:
		return "mode3-queue";
	case PD_MODE_KEY:
		return "key-rejected";
	case PD_MODE_CERT:
		return "cert-expiry";
	case PD_MODE_NONE:
	default:
		return "none";
	}
}

const char *
pd_classify_mode_title(enum pd_mode m)
{
	switch (m) {
	case PD_MODE_UPSTREAM:
		return "Mode 1: upstream TikTok API down or changed";
	case PD_MODE_DATABASE:
		return "Mode 2: database is the bottleneck";
	case PD_MODE_QUEUE:
		return "Mode 3: queue or worker backed up";
	case PD_MODE_KEY:
		return "API key rejected";
	case PD_MODE_CERT:
		return "TLS certificate expiring";
	case PD_MODE_NONE:
	default:
		return "no outage mode identified";
	}
}

const char *
pd_classify_mode_runbook(enum pd_mode m)
{
	switch (m) {
	case PD_MODE_UPSTREAM:
		return "mode1-upstream-changed.md";
	case PD_MODE_DATABASE:
		return "mode2-database-bottleneck.md";
	case PD_MODE_QUEUE:
		return "mode3-queue-backed-up.md";
	case PD_MODE_KEY:
		return "key-rejected.md";
	case PD_MODE_CERT:
		return "cert-expiry.md";
	case PD_MODE_NONE:
	default:
		return NULL;
	}
}

const char *
pd_classify_severity_str(int severity)
{
	static const char *const s[] = {"-", "P1", "P2", "P3", "P4"};

	return severity >= 1 && severity <= 4 ? s[severity] : s[0];
}

int
pd_classify_severity_parse(const char *s)
{
	if (s == NULL || s[0] != 'P' || s[1] < '1' || s[1] > '4' || s[2] != '\0')
		return 0;
	return s[1] - '0';
}
