/* comms.h — status-page drafts, the blameless postmortem, and the runbook linter.
 *
 * Pure renderers: no I/O, no clock, no globals. Given a description of an incident they
 * render the playbook's three status-page templates (INVESTIGATING / IDENTIFIED /
 * RESOLVED) and its blameless postmortem template as plain text / Markdown.
 *
 * Ownership: every pointer in struct pd_comms_incident is borrowed for the duration of
 * the call only; nothing is retained. Output is APPENDED to a caller-owned struct pd_buf
 * (initialised with pd_buf_init, released with pd_buf_cleanup by the caller). On error
 * the buffer is restored to the length it had on entry (nothing partial is left behind)
 * and the error is returned as a negative enum pd_errc with the detail in *err.
 *
 * Text rules:
 *  - Times are UTC. Status pages say "YYYY-MM-DD HH:MM UTC"; the postmortem's Date is
 *    "YYYY-MM-DD UTC" (the start day) and its Timeline lines are "HH:MM - event", with
 *    the day prefixed ("YYYY-MM-DD HH:MM - event") for events on a later day than the
 *    start.
 *  - Durations are HH:MM (hours may exceed 24 and 99: 26:30, 100:00). A partial minute
 *    counts as a whole one, so customer impact is never under-reported: 0 ms -> 00:00,
 *    1 ms -> 00:01, 1h05m -> 01:05, 1h05m00.001s -> 01:06.
 *  - No escaping (the output is plain text / Markdown), but control characters
 *    (C0, DEL and the UTF-8-encoded C1 range U+0080..U+009F) are removed from endpoint
 *    names, and replaced by a space in free text (title, mode, timeline text), so an
 *    upstream-controlled string can never forge extra lines. An endpoint name that is
 *    empty after stripping is skipped.
 *  - Endpoint lists are joined as "A", "A and B", "A, B and C".
 */
#ifndef PROBED_COMMS_H
#define PROBED_COMMS_H
#include <stddef.h>
#include <stdint.h>
#include "probed/buf.h"
#include "probed/err.h"

/* One timeline entry (alert fired, severity changed, notification sent, recovered...). */
struct pd_comms_event {
	int64_t ts_ms; /* UTC milliseconds since the epoch */
	const char *text;
};

struct pd_comms_incident {
	const char *title;           /* one-line summary, e.g. "Upstream shape change on
					 * /post-detail/"; NULL/"" = derived from affected */
	const char *const *affected; /* endpoints affected, e.g. "/post-detail/" */
	size_t naffected;
	const char *const *working; /* endpoints that still work (may be 0) */
	size_t nworking;
	const char *mode;     /* what was identified, a noun phrase, e.g. "an
					 * upstream change in how play and hdplay are returned";
					 * NULL/"" = not known */
	int64_t start_ms;     /* UTC ms; > 0 */
	int64_t end_ms;       /* UTC ms; 0 = still open */
	const char *severity; /* "P1".."P4"; NULL = unknown (postmortem prompt kept) */
	const struct pd_comms_event *events; /* in time order */
	size_t nevents;
};

/* Which status-page template to render. */
enum pd_comms_kind {
	PD_COMMS_INVESTIGATING = 0,
	PD_COMMS_IDENTIFIED = 1,
	PD_COMMS_RESOLVED = 2,
};

/* "investigating", "identified", "resolved"; "unknown" otherwise. Static string. */
const char *pd_comms_kind_str(enum pd_comms_kind kind);

/* Render one status-page template into out:
 *
 *   [INVESTIGATING] Elevated error rates on /post-detail/
 *
 *   We are seeing elevated error rates on the /post-detail/ endpoint. Other endpoints
 *   (/userid/, /userinfo-by-username/) are unaffected. We are investigating.
 *
 *   Next update: 15 minutes.
 *
 * IDENTIFIED uses the title as headline (or "Cause identified for <affected>"), names the
 * mode, says that a fix is being deployed and which endpoints remain fully operational;
 * "Next update: 30 minutes or on resolution." RESOLVED needs end_ms and gives the UTC time
 * and "Total customer-impacting duration: <pd_comms_duration>."
 * Errors: PD_ERR_INVALID (no usable affected endpoint, start_ms <= 0, end before start,
 * RESOLVED while open, bad severity, bad event times, unknown kind, or out->limit
 * reached), PD_ERR_NOMEM. */
int pd_comms_status(enum pd_comms_kind kind, const struct pd_comms_incident *inc,
		    struct pd_buf *out, struct pd_err *err);

/* Render the playbook's blameless postmortem template as Markdown with Severity,
 * Duration, Date, "Endpoints affected" and the Timeline filled in; every other field
 * keeps the template's prompt ("[name]", "[bullet]", ...). An open incident (end_ms 0)
 * keeps the "[HH:MM]" duration prompt; no events keep the three "HH:MM - [event]"
 * prompt lines; a NULL title keeps "[one-line summary]", a NULL severity "P[1-4]", no
 * affected endpoint "[list]". When mode is set, a line "Likely outage mode (probed):
 * <mode>" precedes the Root cause prompt.
 * Errors: PD_ERR_INVALID (start_ms <= 0, end before start, bad severity, an event with a
 * bad time or events NULL with nevents > 0, or out->limit reached), PD_ERR_NOMEM. */
int pd_comms_postmortem(const struct pd_comms_incident *inc, struct pd_buf *out,
			struct pd_err *err);

/* Format a duration for people: "10 s" below a minute, "4 min 30 s" below an hour,
 * "1 h 05 min" above (partial seconds/minutes round up; negative counts as 0).
 * Always NUL-terminates when cap > 0. */
void pd_comms_duration(int64_t ms, char *out, size_t cap);

/* ---- runbook linter ----------------------------------------------------------------
 * A runbook is Markdown with the five level-2 sections of the playbook, in this order:
 * "## Detect", "## Declare", "## Communicate", "## Mitigate", "## RCA". A heading matches
 * when its text equals the name case-insensitively, or starts with it followed by a
 * non-alphanumeric character ("## Mitigate - first steps"). A section's body runs to the
 * next level-1 or level-2 heading and must contain a non-blank line. Headings inside
 * fenced code blocks (``` or ~~~) are ignored. Other level-2 sections are allowed.
 *
 * report is called once per problem with a message such as
 *   "missing section 'Mitigate'", "empty section 'Detect'",
 *   "section 'Declare' out of order", "duplicate section 'RCA'"
 * (the caller prefixes the file name). Returns the number of problems (0 = good). */
int pd_comms_lint_runbook(const char *text, size_t len, void (*report)(void *ud, const char *msg),
			  void *ud);

#endif
