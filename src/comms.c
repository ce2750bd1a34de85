/* comms.c — status-page drafts and the blameless postmortem from the playbook, and the
 * runbook linter. Pure: text in, text out (see include/probed/comms.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "probed/classify.h"
#include "probed/comms.h"

/* ------------------------------------------------------------------- helpers */

/* Length of the control character at s (C0, DEL, UTF-8 encoded C1), 0 if none. */
static size_t
ctrl_len(const unsigned char *s)
{
	if (s[0] < 0x20 || s[0] == 0x7f)
		return 1;
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	return 0;
}

/* Append s with control characters removed (repl == 0) or each replaced by repl. */
static int
put_clean(struct pd_buf *b, const char *s, char repl)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0;
	int rc;

	while (p[run] != '\0') {
		size_t n = ctrl_len(p + run);

		if (n == 0) {
			run++;
			continue;
		}
		if (run > 0 && (rc = pd_buf_append(b, p, run)) != 0)
			return rc;
		if (repl != 0 && (rc = pd_buf_append(b, &repl, 1)) != 0)
			return rc;
		p += run + n;
		run = 0;
	}
	return run > 0 ? pd_buf_append(b, p, run) : 0;
}

/* Does s have anything left after control characters are stripped? */
static int
usable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL)
		return 0;
	while (*p != '\0') {
		size_t n = ctrl_len(p);

		if (n == 0)
			return 1;
		p += n;
	}
	return 0;
}

static size_t
count_usable(const char *const *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; v != NULL && i < n; i++)
		k += usable(v[i]);
	return k;
}

/* Append the usable entries of v joined as "A", "A and B", "A, B and C". */
static int
put_list(struct pd_buf *b, const char *const *v, size_t n)
{
	size_t total = count_usable(v, n), k = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (!usable(v[i]))
			continue;
		if (k > 0 && (rc = pd_buf_printf(b, "%s", k + 1 == total ? " and " : ", ")) != 0)
			return rc;
		if ((rc = put_clean(b, v[i], 0)) != 0)
			return rc;
		k++;
	}
	return 0;
}

static int
get_tm(int64_t ms, struct tm *tm)
{
	time_t secs = (time_t)(ms / 1000);

	return gmtime_r(&secs, tm) != NULL ? 0 : PD_ERR_INVALID;
}

/* "YYYY-MM-DD HH:MM UTC" */
static int
put_utc(struct pd_buf *b, int64_t ms)
{
	struct tm tm;

	if (get_tm(ms, &tm) != 0)
		return PD_ERR_INVALID;
	return pd_buf_printf(b, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
			     tm.tm_mday, tm.tm_hour, tm.tm_min);
}

void
pd_comms_duration(int64_t ms, char *out, size_t cap)
{
	int64_t sec, min;

	if (cap == 0)
		return;
	if (ms < 0)
		ms = 0;
	/* minutes are the wrong unit for a 10-second blip: seconds below a minute, minutes
	 * and seconds below an hour, hours and minutes (partial minutes round up) above */
	sec = ms / 1000 + (ms % 1000 != 0);
	if (sec < 60) {
		snprintf(out, cap, "%lld s", (long long)sec);
		return;
	}
	if (sec < 3600) {
		if (sec % 60 == 0)
			snprintf(out, cap, "%lld min", (long long)(sec / 60));
		else
			snprintf(out, cap, "%lld min %02lld s", (long long)(sec / 60),
				 (long long)(sec % 60));
		return;
	}
	min = ms / 60000 + (ms % 60000 != 0);
	snprintf(out, cap, "%lld h %02lld min", (long long)(min / 60), (long long)(min % 60));
}

const char *
pd_comms_kind_str(enum pd_comms_kind kind)
{
	switch (kind) {
	case PD_COMMS_INVESTIGATING:
		return "investigating";
	case PD_COMMS_IDENTIFIED:
		return "identified";
	case PD_COMMS_RESOLVED:
		return "resolved";
	}
	return "unknown";
}

static int
valid_severity(const char *s)
{
	return s == NULL || pd_classify_severity_parse(s) != 0;
}

/* Common checks; need_affected for the status pages. */
static int
check_incident(const struct pd_comms_incident *inc, int need_affected, struct pd_err *err)
{
	struct tm tm;

	if (inc == NULL)
		return pd_err_set(err, PD_ERR_INVALID, "no incident");
	if (need_affected && count_usable(inc->affected, inc->naffected) == 0)
		return pd_err_set(err, PD_ERR_INVALID, "incident names no affected endpoint");
	if (inc->start_ms <= 0 || get_tm(inc->start_ms, &tm) != 0)
		return pd_err_set(err, PD_ERR_INVALID, "incident has no valid start time");
	if (inc->end_ms != 0 && (inc->end_ms < inc->start_ms || get_tm(inc->end_ms, &tm) != 0))
		return pd_err_set(err, PD_ERR_INVALID, "incident ends before it starts");
	if (!valid_severity(inc->severity))
		return pd_err_set(err, PD_ERR_INVALID, "severity must be P1..P4");
	if (inc->nevents > 0 && inc->events == NULL)
		return pd_err_set(err, PD_ERR_INVALID, "timeline events missing");
	for (size_t i = 0; i < inc->nevents; i++)
		if (inc->events[i].ts_ms < 0 || get_tm(inc->events[i].ts_ms, &tm) != 0)
			return pd_err_set(err, PD_ERR_INVALID, "timeline event %zu has a bad time",
					  i);
	return 0;
}

/* Restore out to len0 and report a render failure. */
static int
render_failed(struct pd_buf *out, size_t len0, int rc, struct pd_err *err)
{
	out->len = len0;
	if (out->data != NULL)
		out->data[len0] = '\0';
	if (rc == PD_ERR_NOMEM)
		return pd_err_set(err, rc, "out of memory rendering incident text");
	return pd_err_set(err, PD_ERR_INVALID, "rendered incident text exceeds the buffer limit");
}

/* ------------------------------------------------------------- status pages */

static int
render_investigating(const struct pd_comms_incident *inc, struct pd_buf *b)
{
	size_t na = count_usable(inc->affected, inc->naffected);
	int rc;

	if ((rc = pd_buf_printf(b, "[INVESTIGATING] Elevated error rates on ")) != 0 ||
	    (rc = put_list(b, inc->affected, inc->naffected)) != 0 ||
	    (rc = pd_buf_printf(b, "\n\nWe are seeing elevated error rates on the ")) != 0 ||
	    (rc = put_list(b, inc->affected, inc->naffected)) != 0 ||
	    (rc = pd_buf_printf(b, " endpoint%s.", na > 1 ? "s" : "")) != 0)
		return rc;
	if (count_usable(inc->working, inc->nworking) > 0) {
		if ((rc = pd_buf_printf(b, " Other endpoints (")) != 0 ||
		    (rc = put_list(b, inc->working, inc->nworking)) != 0 ||
		    (rc = pd_buf_printf(b, ") are unaffected.")) != 0)
			return rc;
	}
	return pd_buf_printf(b, " We are investigating.\n\nNext update: 15 minutes.\n");
}

static int
render_identified(const struct pd_comms_incident *inc, struct pd_buf *b)
{
	size_t nw = count_usable(inc->working, inc->nworking);
	int rc;

	if ((rc = pd_buf_printf(b, "[IDENTIFIED] ")) != 0)
		return rc;
	if (usable(inc->title))
		rc = put_clean(b, inc->title, ' ');
	else if ((rc = pd_buf_printf(b, "Cause identified for ")) == 0)
		rc = put_list(b, inc->affected, inc->naffected);
	if (rc != 0 ||
	    (rc = pd_buf_printf(b, "\n\nWe have identified the cause of the errors on ")) != 0 ||
	    (rc = put_list(b, inc->affected, inc->naffected)) != 0)
		return rc;
	if (usable(inc->mode)) {
		if ((rc = pd_buf_printf(b, ": ")) != 0 || (rc = put_clean(b, inc->mode, ' ')) != 0)
			return rc;
	}
	if ((rc = pd_buf_printf(b, ". A fix is being deployed.")) != 0)
		return rc;
	if (nw > 0) {
		if ((rc = pd_buf_printf(b, " ")) != 0 ||
		    (rc = put_list(b, inc->working, inc->nworking)) != 0 ||
		    (rc = pd_buf_printf(b, " %s fully operational.",
					nw > 1 ? "remain" : "remains")) != 0)
			return rc;
	}
	return pd_buf_printf(b, "\n\nNext update: 30 minutes or on resolution.\n");
}

static int
render_resolved(const struct pd_comms_incident *inc, struct pd_buf *b)
{
	size_t na = count_usable(inc->affected, inc->naffected);
	char dur[32];
	int rc;

	pd_comms_duration(inc->end_ms - inc->start_ms, dur, sizeof(dur));
	if ((rc = pd_buf_printf(b, "[RESOLVED] ")) != 0 ||
	    (rc = put_list(b, inc->affected, inc->naffected)) != 0 ||
	    (rc = pd_buf_printf(b, " fully restored\n\nThe ")) != 0 ||
	    (rc = put_list(b, inc->affected, inc->naffected)) != 0 ||
	    (rc = pd_buf_printf(b, " %s to normal error rates and latency as of ",
				na > 1 ? "endpoints have returned" : "endpoint has returned")) !=
		    0 ||
	    (rc = put_utc(b, inc->end_ms)) != 0)
		return rc;
	return pd_buf_printf(b,
			     ". A postmortem will be published within 5 business days.\n\n"
			     "Total customer-impacting duration: %s.\n",
			     dur);
}

int
pd_comms_status(enum pd_comms_kind kind, const struct pd_comms_incident *inc, struct pd_buf *out,
		struct pd_err *err)
{
	size_t len0 = out->len;
	int rc;

	if ((rc = check_incident(inc, 1, err)) != 0)
		goto out;
	switch (kind) {
	case PD_COMMS_INVESTIGATING:
		rc = render_investigating(inc, out);
		break;
	case PD_COMMS_IDENTIFIED:
		rc = render_identified(inc, out);
		break;
	case PD_COMMS_RESOLVED:
		if (inc->end_ms == 0) {
			rc = pd_err_set(err, PD_ERR_INVALID, "incident is still open");
			goto out;
		}
		rc = render_resolved(inc, out);
		break;
	default:
		rc = pd_err_set(err, PD_ERR_INVALID, "unknown status-page template %d", (int)kind);
		goto out;
	}
	if (rc != 0)
		rc = render_failed(out, len0, rc, err);
out:
	return rc;
}

/* --------------------------------------------------------------- postmortem */

static int
render_timeline(const struct pd_comms_incident *inc, struct pd_buf *b)
{
	struct tm day0, tm;
	int rc;

	if (inc->nevents == 0)
		return pd_buf_printf(b, "HH:MM - [event]\nHH:MM - [event]\nHH:MM - [event]\n");
	get_tm(inc->start_ms, &day0);
	for (size_t i = 0; i < inc->nevents; i++) {
		const struct pd_comms_event *e = &inc->events[i];

		get_tm(e->ts_ms, &tm);
		if (tm.tm_year != day0.tm_year || tm.tm_yday != day0.tm_yday)
			rc = pd_buf_printf(b, "%04d-%02d-%02d ", tm.tm_year + 1900, tm.tm_mon + 1,
					   tm.tm_mday);
		else
			rc = 0;
		if (rc != 0 ||
		    (rc = pd_buf_printf(b, "%02d:%02d - ", tm.tm_hour, tm.tm_min)) != 0 ||
		    (rc = put_clean(b, e->text ? e->text : "", ' ')) != 0 ||
		    (rc = pd_buf_printf(b, "\n")) != 0)
			return rc;
	}
	return 0;
}

static int
render_postmortem(const struct pd_comms_incident *inc, struct pd_buf *b)
{
	struct tm day0;
	char dur[32];
	int rc;

	get_tm(inc->start_ms, &day0);
	if (inc->end_ms != 0)
		pd_comms_duration(inc->end_ms - inc->start_ms, dur, sizeof(dur));
	else
		snprintf(dur, sizeof(dur), "[HH:MM]");

	if ((rc = pd_buf_printf(b, "## Incident: ")) != 0)
		return rc;
	rc = usable(inc->title) ? put_clean(b, inc->title, ' ')
				: pd_buf_printf(b, "[one-line summary]");
	if (rc != 0 ||
	    (rc = pd_buf_printf(b,
				"\n\nSeverity: %s\n"
				"Duration: %s customer-impacting\n"
				"Date: %04d-%02d-%02d UTC\n"
				"IC: [name]\n"
				"Author: [name, usually IC]\n"
				"\n"
				"## Impact\n"
				"- Customers affected: [count or %%]\n"
				"- Endpoints affected: ",
				inc->severity ? inc->severity : "P[1-4]", dur, day0.tm_year + 1900,
				day0.tm_mon + 1, day0.tm_mday)) != 0)
		return rc;
	rc = count_usable(inc->affected, inc->naffected) > 0
		     ? put_list(b, inc->affected, inc->naffected)
		     : pd_buf_printf(b, "[list]");
	if (rc != 0 ||
	    (rc = pd_buf_printf(b, "\n- Revenue impact: [estimate or \"TBD\"]\n"
				   "- Credit/refund decision: [link to ticket]\n"
				   "\n"
				   "## Timeline (UTC)\n")) != 0 ||
	    (rc = render_timeline(inc, b)) != 0 ||
	    (rc = pd_buf_printf(b, "\n## Root cause\n")) != 0)
		return rc;
	if (usable(inc->mode)) {
		if ((rc = pd_buf_printf(b, "Likely outage mode (probed): ")) != 0 ||
		    (rc = put_clean(b, inc->mode, ' ')) != 0 ||
		    (rc = pd_buf_printf(b, "\n\n")) != 0)
			return rc;
	}
	return pd_buf_printf(b, "[2-3 paragraphs. No names of individuals.\n"
				"Focus on system conditions.]\n"
				"\n"
				"## What went well\n"
				"- [bullet]\n"
				"- [bullet]\n"
				"\n"
				"## What went poorly\n"
				"- [bullet]\n"
				"- [bullet]\n"
				"\n"
				"## Where we got lucky\n"
				"- [bullet]\n"
				"\n"
				"## Action items\n"
				"| # | Item | Owner | Due | Ticket |\n"
				"|---|------|-------|-----|--------|\n"
				"| 1 | ... | ... | ... | ... |\n");
}

int
pd_comms_postmortem(const struct pd_comms_incident *inc, struct pd_buf *out, struct pd_err *err)
{
	size_t len0 = out->len;
	int rc;

	if ((rc = check_incident(inc, 0, err)) != 0)
		goto out;
	if ((rc = render_postmortem(inc, out)) != 0)
		rc = render_failed(out, len0, rc, err);
out:
	return rc;
}

/* ----------------------------------------------------------- runbook linter */

static const char *const sections[] = {"Detect", "Declare", "Communicate", "Mitigate", "RCA"};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* ATX heading level (1..6) of a line, with *text and *tlen set to its trimmed text;
 * 0 when the line is not a heading. */
static int
heading_level(const char *p, size_t n, const char **text, size_t *tlen)
{
	size_t i = 0, lvl = 0;

	while (i < n && i < 3 && p[i] == ' ')
		i++;
	while (i < n && p[i] == '#')
		i++, lvl++;
	if (lvl == 0 || lvl > 6 || (i < n && p[i] != ' ' && p[i] != '\t'))
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	while (n > i && isspace((unsigned char)p[n - 1]))
		n--;
	/* closing sequence: " ##" */
	{
		size_t e = n;

		while (e > i && p[e - 1] == '#')
			e--;
		if (e < n && (e == i || p[e - 1] == ' ' || p[e - 1] == '\t')) {
			n = e;
			while (n > i && isspace((unsigned char)p[n - 1]))
				n--;
		}
	}
	*text = p + i;
	*tlen = n - i;
	return (int)lvl;
}

/* Index of the required section a heading names, or -1. */
static int
section_of(const char *t, size_t n)
{
	for (size_t s = 0; s < NSECTIONS; s++) {
		size_t k = strlen(sections[s]);

		if (n >= k && strncasecmp(t, sections[s], k) == 0 &&
		    (n == k || !isalnum((unsigned char)t[k])))
			return (int)s;
	}
	return -1;
}

/* Fence line: 0-3 spaces then ``` or ~~~ (3 or more). Returns the fence character
 * (0 if none), its run length in *flen, and whether only blanks follow in *bare
 * (a closing fence has no info string). */
static char
fence_of(const char *p, size_t n, size_t *flen, int *bare)
{
	size_t i = 0, k = 0;
	char c;

	while (i < n && i < 3 && p[i] == ' ')
		i++;
	if (i >= n || (p[i] != '`' && p[i] != '~'))
		return 0;
	c = p[i];
	while (i + k < n && p[i + k] == c)
		k++;
	if (k < 3)
		return 0;
	*flen = k;
	*bare = 1;
	for (i += k; i < n; i++)
		if (!isspace((unsigned char)p[i]))
			*bare = 0;
	return c;
}

static int
blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)p[i]))
			return 0;
	return 1;
}

enum lint_problem { LINT_MISSING, LINT_ORDER, LINT_DUP, LINT_EMPTY };

static int
lint_report(void (*report)(void *, const char *), void *ud, enum lint_problem what,
	    const char *name)
{
	char msg[128];

	switch (what) {
	case LINT_MISSING:
		snprintf(msg, sizeof(msg), "missing section '%s'", name);
		break;
	case LINT_ORDER:
		snprintf(msg, sizeof(msg), "section '%s' out of order", name);
		break;
	case LINT_DUP:
		snprintf(msg, sizeof(msg), "duplicate section '%s'", name);
		break;
	case LINT_EMPTY:
		snprintf(msg, sizeof(msg), "empty section '%s'", name);
		break;
	}
	if (report)
		report(ud, msg);
	return 1;
}

int
pd_comms_lint_runbook(const char *text, size_t len, void (*report)(void *ud, const char *msg),
		      void *ud)
{
	int seen[NSECTIONS], body[NSECTIONS], dup[NSECTIONS];
	int order[NSECTIONS]; /* sections in document order (first occurrence) */
	int lis[NSECTIONS], inlis[NSECTIONS], prev[NSECTIONS];
	size_t norder = 0, pos = 0, flen = 0, best = 0;
	int cur = -1, problems = 0, best_end = -1;
	char fence = 0;

	for (size_t s = 0; s < NSECTIONS; s++)
		seen[s] = body[s] = dup[s] = inlis[s] = 0;
	while (text != NULL && pos < len) {
		const char *p = text + pos, *nl = memchr(p, '\n', len - pos), *t;
		size_t n = nl ? (size_t)(nl - p) : len - pos, tl, fl = 0;
		int lvl, bare = 0;
		char f;

		pos += n + (nl != NULL);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		f = fence_of(p, n, &fl, &bare);
		if (fence != 0) {
			if (f == fence && fl >= flen && bare)
				fence = 0;
			if (cur >= 0)
				body[cur] = 1;
			continue;
		}
		if (f != 0) {
			fence = f;
			flen = fl;
			if (cur >= 0)
				body[cur] = 1;
			continue;
		}
		lvl = heading_level(p, n, &t, &tl);
		if (lvl == 1 || lvl == 2) {
			int s = lvl == 2 ? section_of(t, tl) : -1;

			cur = s;
			if (s >= 0) {
				if (seen[s])
					dup[s] = 1;
				else
					order[norder++] = s;
				seen[s] = 1;
			}
			continue;
		}
		if (cur >= 0 && !blank(p, n))
			body[cur] = 1;
	}

	/* Longest increasing run of section indexes (in document order): anything outside
	 * it is the section that is out of place. */
	for (size_t i = 0; i < norder; i++) {
		lis[i] = 1;
		prev[i] = -1;
		for (size_t j = 0; j < i; j++)
			if (order[j] < order[i] && lis[j] + 1 > lis[i]) {
				lis[i] = lis[j] + 1;
				prev[i] = (int)j;
			}
		if ((size_t)lis[i] > best) {
			best = (size_t)lis[i];
			best_end = (int)i;
		}
	}
	for (int i = best_end; i >= 0; i = prev[i])
		inlis[order[i]] = 1;

	for (size_t s = 0; s < NSECTIONS; s++) {
		if (!seen[s]) {
			problems += lint_report(report, ud, LINT_MISSING, sections[s]);
			continue;
		}
		if (!inlis[s])
			problems += lint_report(report, ud, LINT_ORDER, sections[s]);
		if (dup[s])
			problems += lint_report(report, ud, LINT_DUP, sections[s]);
		if (!body[s])
			problems += lint_report(report, ud, LINT_EMPTY, sections[s]);
	}
	return problems;
}
