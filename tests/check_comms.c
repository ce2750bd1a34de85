/* check_comms.c — status-page drafts, the postmortem and the runbook linter, asserted
 * as exact text for fixed inputs. */
#include <check.h>
#include "testlib.h"
#include <stdlib.h>
#include <string.h>
#include "probed/comms.h"

/* Fixed UTC instants (ms since the epoch). */
#define T_0525 1795325100000LL  /* 2026-11-22 05:25:00 */
#define T_0527 1795325232000LL  /* 2026-11-22 05:27:12 */
#define T_0630 1795329000000LL  /* 2026-11-22 06:30:00 */
#define T_N0010 1795392600000LL /* 2026-11-23 00:10:00 */
#define T_0755 1795506900000LL  /* 2026-11-24 07:55:00 */

static const char *const one_affected[] = {"/post-detail/"};
static const char *const working3[] = {"/userid/", "/userinfo-by-username/", "/user-posts/"};

static struct pd_comms_incident
mode1(void)
{
	struct pd_comms_incident inc = {0};

	inc.title = "Upstream shape change on /post-detail/";
	inc.affected = one_affected;
	inc.naffected = 1;
	inc.working = working3;
	inc.nworking = 3;
	inc.mode = "an upstream change in how the play and hdplay fields are returned";
	inc.start_ms = T_0525;
	inc.end_ms = T_0630;
	inc.severity = "P2";
	return inc;
}

/* Render kind into a fresh buffer; the caller frees the string. */
static char *
render(enum pd_comms_kind kind, const struct pd_comms_incident *inc, int *rc)
{
	struct pd_buf b;
	struct pd_err err = {0};
	char *s;

	pd_buf_init(&b, 0);
	*rc = pd_comms_status(kind, inc, &b, &err);
	s = strdup(b.data ? b.data : "");
	pd_buf_cleanup(&b);
	return s;
}

static char *
render_pm(const struct pd_comms_incident *inc, int *rc)
{
	struct pd_buf b;
	struct pd_err err = {0};
	char *s;

	pd_buf_init(&b, 0);
	*rc = pd_comms_postmortem(inc, &b, &err);
	s = strdup(b.data ? b.data : "");
	pd_buf_cleanup(&b);
	return s;
}

/* ------------------------------------------------------------------ duration */

START_TEST(test_duration)
{
	static const struct {
		long long ms;
		const char *want;
	} cases[] = {
		{0, "0 s"},
		{1, "1 s"},       /* a partial second counts */
		{10000, "10 s"},  /* a 10-second blip is 10 s, not 00:01 */
		{59999, "1 min"}, /* 59.999 s rounds up to a minute */
		{60000, "1 min"},
		{60001, "1 min 01 s"},
		{(4 * 60 + 30) * 1000LL, "4 min 30 s"},
		{3599000LL, "59 min 59 s"},
		{(60 + 5) * 60000LL, "1 h 05 min"},
		{(60 + 5) * 60000LL + 1, "1 h 06 min"}, /* a partial minute counts above 1 h */
		{(23 * 60 + 59) * 60000LL, "23 h 59 min"},
		{(2 * 24 * 60 + 2 * 60 + 30) * 60000LL, "50 h 30 min"},
		{100 * 3600000LL, "100 h 00 min"},
		{-5000, "0 s"},
	};
	char out[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pd_comms_duration(cases[i].ms, out, sizeof(out));
		ck_assert_msg(strcmp(out, cases[i].want) == 0, "%lld ms: got %s, want %s",
			      cases[i].ms, out, cases[i].want);
	}
	pd_comms_duration(3600000, out, 3);
	ck_assert_str_eq(out, "1 ");
}
END_TEST

START_TEST(test_kind_str)
{
	ck_assert_str_eq(pd_comms_kind_str(PD_COMMS_INVESTIGATING), "investigating");
	ck_assert_str_eq(pd_comms_kind_str(PD_COMMS_IDENTIFIED), "identified");
	ck_assert_str_eq(pd_comms_kind_str(PD_COMMS_RESOLVED), "resolved");
	ck_assert_str_eq(pd_comms_kind_str((enum pd_comms_kind)9), "unknown");
}
END_TEST

/* -------------------------------------------------------------- status pages */

START_TEST(test_investigating)
{
	struct pd_comms_incident inc = mode1();
	int rc;
	char *s = render(PD_COMMS_INVESTIGATING, &inc, &rc);

	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(
		s,
		"[INVESTIGATING] Elevated error rates on /post-detail/\n"
		"\n"
		"We are seeing elevated error rates on the /post-detail/ endpoint. Other endpoints "
		"(/userid/, /userinfo-by-username/ and /user-posts/) are unaffected. "
		"We are investigating.\n"
		"\n"
		"Next update: 15 minutes.\n");
	free(s);
}
END_TEST

START_TEST(test_investigating_all_down)
{
	static const char *const all[] = {"/userid/", "/userinfo-by-username/", "/post-detail/"};
	struct pd_comms_incident inc = mode1();
	int rc;
	char *s;

	inc.affected = all;
	inc.naffected = 3;
	inc.working = NULL;
	inc.nworking = 0;
	inc.end_ms = 0;
	s = render(PD_COMMS_INVESTIGATING, &inc, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(
		s, "[INVESTIGATING] Elevated error rates on /userid/, /userinfo-by-username/ and "
		   "/post-detail/\n"
		   "\n"
		   "We are seeing elevated error rates on the /userid/, /userinfo-by-username/ and "
		   "/post-detail/ endpoints. We are investigating.\n"
		   "\n"
		   "Next update: 15 minutes.\n");
	free(s);
}
END_TEST

START_TEST(test_identified)
{
	struct pd_comms_incident inc = mode1();
	int rc;
	char *s;

	inc.end_ms = 0;
	s = render(PD_COMMS_IDENTIFIED, &inc, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(
		s,
		"[IDENTIFIED] Upstream shape change on /post-detail/\n"
		"\n"
		"We have identified the cause of the errors on /post-detail/: an upstream change "
		"in how the play and hdplay fields are returned. A fix is being deployed. "
		"/userid/, /userinfo-by-username/ and /user-posts/ remain fully operational.\n"
		"\n"
		"Next update: 30 minutes or on resolution.\n");
	free(s);
}
END_TEST

START_TEST(test_identified_minimal)
{
	static const char *const two[] = {"/post-detail/", "/post-comments/"};
	static const char *const w1[] = {"/userid/"};
	struct pd_comms_incident inc = mode1();
	int rc;
	char *s;

	inc.title = "";
	inc.mode = NULL;
	inc.affected = two;
	inc.naffected = 2;
	inc.working = w1;
	inc.nworking = 1;
	s = render(PD_COMMS_IDENTIFIED, &inc, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(
		s,
		"[IDENTIFIED] Cause identified for /post-detail/ and /post-comments/\n"
		"\n"
		"We have identified the cause of the errors on /post-detail/ and /post-comments/. "
		"A fix is being deployed. /userid/ remains fully operational.\n"
		"\n"
		"Next update: 30 minutes or on resolution.\n");
	free(s);
}
END_TEST

START_TEST(test_resolved)
{
	struct pd_comms_incident inc = mode1();
	int rc;
	char *s = render(PD_COMMS_RESOLVED, &inc, &rc);

	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(
		s,
		"[RESOLVED] /post-detail/ fully restored\n"
		"\n"
		"The /post-detail/ endpoint has returned to normal error rates and latency as of "
		"2026-11-22 06:30 UTC. A postmortem will be published within 5 business days.\n"
		"\n"
		"Total customer-impacting duration: 1 h 05 min.\n");
	free(s);
}
END_TEST

START_TEST(test_resolved_multiday_plural)
{
	static const char *const two[] = {"/user-posts/", "/post-comments/"};
	struct pd_comms_incident inc = mode1();
	int rc;
	char *s;

	inc.affected = two;
	inc.naffected = 2;
	inc.end_ms = T_0755; /* 2d 02h30m later */
	s = render(PD_COMMS_RESOLVED, &inc, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(
		s, "[RESOLVED] /user-posts/ and /post-comments/ fully restored\n"
		   "\n"
		   "The /user-posts/ and /post-comments/ endpoints have returned to normal error "
		   "rates and latency as of 2026-11-24 07:55 UTC. A postmortem will be published "
		   "within 5 business days.\n"
		   "\n"
		   "Total customer-impacting duration: 50 h 30 min.\n");
	free(s);
}
END_TEST

START_TEST(test_resolved_zero)
{
	struct pd_comms_incident inc = mode1();
	int rc;
	char *s;

	inc.end_ms = inc.start_ms;
	s = render(PD_COMMS_RESOLVED, &inc, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(s, "as of 2026-11-22 05:25 UTC."));
	ck_assert_ptr_nonnull(strstr(s, "\n\nTotal customer-impacting duration: 0 s.\n"));
	free(s);
}
END_TEST

START_TEST(test_appends_and_restores)
{
	struct pd_comms_incident inc = mode1();
	struct pd_buf b;
	struct pd_err err = {0};

	pd_buf_init(&b, 0);
	ck_assert_int_eq(pd_buf_printf(&b, "subject\n"), 0);
	ck_assert_int_eq(pd_comms_status(PD_COMMS_RESOLVED, &inc, &b, &err), 0);
	ck_assert_ptr_eq(strstr(b.data, "subject\n[RESOLVED] /post-detail/ fully"), b.data);

	/* an open incident cannot be RESOLVED: error, buffer as it was */
	pd_buf_reset(&b);
	pd_buf_printf(&b, "keep");
	inc.end_ms = 0;
	ck_assert_int_eq(pd_comms_status(PD_COMMS_RESOLVED, &inc, &b, &err), PD_ERR_INVALID);
	ck_assert_str_eq(b.data, "keep");
	ck_assert_ptr_nonnull(strstr(err.msg, "open"));
	pd_buf_cleanup(&b);

	/* the buffer's limit is hit half-way: nothing partial is left */
	inc = mode1();
	pd_buf_init(&b, 60);
	pd_buf_printf(&b, "x");
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(pd_comms_status(PD_COMMS_INVESTIGATING, &inc, &b, &err), PD_ERR_INVALID);
	ck_assert_uint_eq(b.len, 1);
	ck_assert_str_eq(b.data, "x");
	ck_assert_ptr_nonnull(strstr(err.msg, "limit"));
	ck_assert_int_eq(pd_comms_postmortem(&inc, &b, &err), PD_ERR_INVALID);
	ck_assert_str_eq(b.data, "x");
	pd_buf_cleanup(&b);
}
END_TEST

START_TEST(test_invalid_inputs)
{
	static const char *const only_ctrl[] = {"\r\n\x1b", ""};
	struct pd_comms_incident inc;
	struct pd_buf b;
	struct pd_err err;

	pd_buf_init(&b, 0);

	inc = mode1();
	inc.naffected = 0;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(pd_comms_status(PD_COMMS_INVESTIGATING, &inc, &b, &err), PD_ERR_INVALID);
	ck_assert_int_eq(err.code, PD_ERR_INVALID);

	inc.affected = only_ctrl; /* nothing usable after stripping */
	inc.naffected = 2;
	ck_assert_int_eq(pd_comms_status(PD_COMMS_IDENTIFIED, &inc, &b, &err), PD_ERR_INVALID);

	inc = mode1();
	inc.start_ms = 0;
	ck_assert_int_eq(pd_comms_status(PD_COMMS_INVESTIGATING, &inc, &b, &err), PD_ERR_INVALID);
	ck_assert_int_eq(pd_comms_postmortem(&inc, &b, &err), PD_ERR_INVALID);

	inc = mode1();
	inc.end_ms = inc.start_ms - 1;
	ck_assert_int_eq(pd_comms_status(PD_COMMS_RESOLVED, &inc, &b, &err), PD_ERR_INVALID);

	inc = mode1();
	inc.severity = "P5";
	ck_assert_int_eq(pd_comms_postmortem(&inc, &b, &err), PD_ERR_INVALID);
	inc.severity = "P1x";
	ck_assert_int_eq(pd_comms_postmortem(&inc, &b, &err), PD_ERR_INVALID);

	inc = mode1();
	inc.nevents = 2; /* events NULL */
	ck_assert_int_eq(pd_comms_postmortem(&inc, &b, &err), PD_ERR_INVALID);

	inc = mode1();
	ck_assert_int_eq(pd_comms_status((enum pd_comms_kind)7, &inc, &b, &err), PD_ERR_INVALID);
	ck_assert_int_eq(pd_comms_status(PD_COMMS_INVESTIGATING, NULL, &b, &err), PD_ERR_INVALID);

	ck_assert_uint_eq(b.len, 0);
	/* and the same incident is fine once repaired */
	ck_assert_int_eq(pd_comms_status(PD_COMMS_INVESTIGATING, &inc, &b, &err), 0);
	ck_assert_uint_gt(b.len, 0);
	pd_buf_cleanup(&b);
}
END_TEST

START_TEST(test_control_chars)
{
	static const char *const hostile[] = {
		"/post-\x1b[31mdetail/\r\n[RESOLVED] fake", /* ESC, CR, LF */
		"\x07\x7f",                                 /* nothing left: skipped */
		"/user\xc2\x9b"
		"2Jposts/",      /* UTF-8 encoded C1 (CSI) */
		"/caf\xc3\xa9/", /* real UTF-8 stays */
	};
	struct pd_comms_incident inc = mode1();
	int rc;
	char *s;

	inc.affected = hostile;
	inc.naffected = 4;
	inc.working = NULL;
	inc.nworking = 0;
	inc.title = "Shape\nchange";
	inc.mode = "tab\there";
	s = render(PD_COMMS_IDENTIFIED, &inc, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(
		s,
		"[IDENTIFIED] Shape change\n"
		"\n"
		"We have identified the cause of the errors on /post-[31mdetail/[RESOLVED] fake, "
		"/user2Jposts/ and /caf\xc3\xa9/: tab here. A fix is being deployed.\n"
		"\n"
		"Next update: 30 minutes or on resolution.\n");
	free(s);
}
END_TEST

/* ---------------------------------------------------------------- postmortem */

START_TEST(test_postmortem)
{
	static const struct pd_comms_event ev[] = {
		{T_0525, "alert fired: post-detail http_5xx (2 consecutive failures)"},
		{T_0527, "severity P2, mode 1 (upstream changed)\r\nforged line"},
		{T_0630, "recovered"},
		{T_N0010, "postmortem drafted"},
	};
	struct pd_comms_incident inc = mode1();
	int rc;
	char *s;

	inc.events = ev;
	inc.nevents = 4;
	s = render_pm(&inc, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(
		s, "## Incident: Upstream shape change on /post-detail/\n"
		   "\n"
		   "Severity: P2\n"
		   "Duration: 1 h 05 min customer-impacting\n"
		   "Date: 2026-11-22 UTC\n"
		   "IC: [name]\n"
		   "Author: [name, usually IC]\n"
		   "\n"
		   "## Impact\n"
		   "- Customers affected: [count or %]\n"
		   "- Endpoints affected: /post-detail/\n"
		   "- Revenue impact: [estimate or \"TBD\"]\n"
		   "- Credit/refund decision: [link to ticket]\n"
		   "\n"
		   "## Timeline (UTC)\n"
		   "05:25 - alert fired: post-detail http_5xx (2 consecutive failures)\n"
		   "05:27 - severity P2, mode 1 (upstream changed)  forged line\n"
		   "06:30 - recovered\n"
		   "2026-11-23 00:10 - postmortem drafted\n"
		   "\n"
		   "## Root cause\n"
		   "Likely outage mode (probed): an upstream change in how the play and hdplay "
		   "fields are returned\n"
		   "\n"
		   "[2-3 paragraphs. No names of individuals.\n"
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
	free(s);
}
END_TEST

START_TEST(test_postmortem_prompts)
{
	static const char want[] = "## Incident: [one-line summary]\n"
				   "\n"
				   "Severity: P[1-4]\n"
				   "Duration: [HH:MM] customer-impacting\n"
				   "Date: 2026-11-24 UTC\n"
				   "IC: [name]\n"
				   "Author: [name, usually IC]\n"
				   "\n"
				   "## Impact\n"
				   "- Customers affected: [count or %]\n"
				   "- Endpoints affected: [list]\n"
				   "- Revenue impact: [estimate or \"TBD\"]\n"
				   "- Credit/refund decision: [link to ticket]\n"
				   "\n"
				   "## Timeline (UTC)\n"
				   "HH:MM - [event]\n"
				   "HH:MM - [event]\n"
				   "HH:MM - [event]\n"
				   "\n"
				   "## Root cause\n"
				   "[2-3 paragraphs. No names of individuals.\n";
	struct pd_comms_incident inc = {0};
	int rc;
	char *s;

	inc.start_ms = T_0755; /* open, nothing known but the start */
	s = render_pm(&inc, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strncmp(s, want, strlen(want)) == 0, "got:\n%s", s);
	ck_assert_ptr_null(strstr(s, "Likely outage mode"));
	free(s);
}
END_TEST

START_TEST(test_postmortem_multiday_duration)
{
	struct pd_comms_incident inc = mode1();
	int rc;
	char *s;

	inc.severity = "P1";
	inc.end_ms = T_0755;
	s = render_pm(&inc, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(s, "\nSeverity: P1\nDuration: 50 h 30 min customer-impacting\n"
					"Date: 2026-11-22 UTC\n"));
	free(s);
}
END_TEST

/* -------------------------------------------------------------- runbook lint */

struct lint_msgs {
	char text[1024];
};

static void
collect(void *ud, const char *msg)
{
	struct lint_msgs *m = ud;

	strncat(m->text, msg, sizeof(m->text) - strlen(m->text) - 2);
	strcat(m->text, "\n");
}

static int
lint(const char *md, struct lint_msgs *m)
{
	memset(m, 0, sizeof(*m));
	return pd_comms_lint_runbook(md, md ? strlen(md) : 0, collect, m);
}

#define GOOD                                        \
	"# Runbook: upstream changed\n\nIntro.\n\n" \
	"## Detect\nprobectl status\n\n"            \
	"## Declare\nP2.\n\n"                       \
	"## Communicate\nINVESTIGATING.\n\n"        \
	"## Mitigate\nDegrade.\n\n"                 \
	"## RCA\nPostmortem.\n"

START_TEST(test_lint_good)
{
	struct lint_msgs m;

	ck_assert_int_eq(lint(GOOD, &m), 0);
	ck_assert_str_eq(m.text, "");
	/* case-insensitive, trailing words and closing hashes, CRLF, extra sections */
	ck_assert_int_eq(lint("## detect\r\nx\r\n## DECLARE ##\r\nx\r\n## Notes\r\n\r\n"
			      "## Communicate: templates\r\nx\r\n## Mitigate - first\r\nx\r\n"
			      "## rca (postmortem)\r\nx",
			      &m),
			 0);
	/* indentation up to three spaces still makes a heading */
	ck_assert_int_eq(lint("   ## Detect\nx\n## Declare\nx\n## Communicate\nx\n"
			      "## Mitigate\nx\n## RCA\n```sh\nprobectl postmortem 1\n```\n",
			      &m),
			 0);
}
END_TEST

START_TEST(test_lint_missing)
{
	struct lint_msgs m;

	ck_assert_int_eq(lint("## Detect\nx\n## Declare\nx\n## Communicate\nx\n## RCA\nx\n", &m),
			 1);
	ck_assert_str_eq(m.text, "missing section 'Mitigate'\n");
	ck_assert_int_eq(lint("", &m), 5);
	ck_assert_int_eq(lint(NULL, &m), 5);
	ck_assert_str_eq(m.text, "missing section 'Detect'\nmissing section 'Declare'\n"
				 "missing section 'Communicate'\nmissing section 'Mitigate'\n"
				 "missing section 'RCA'\n");
	/* look-alikes are not the section */
	ck_assert_int_eq(lint("## Detection\nx\n### Declare\nx\n#Communicate\nx\n"
			      "## Mitigate\nx\n## RCA\nx\n",
			      &m),
			 3);
	ck_assert_str_eq(m.text, "missing section 'Detect'\nmissing section 'Declare'\n"
				 "missing section 'Communicate'\n");
}
END_TEST

START_TEST(test_lint_empty)
{
	struct lint_msgs m;

	ck_assert_int_eq(lint("## Detect\n\n   \n## Declare\nx\n## Communicate\nx\n"
			      "## Mitigate\nx\n## RCA\n\t\n",
			      &m),
			 2);
	ck_assert_str_eq(m.text, "empty section 'Detect'\nempty section 'RCA'\n");
	/* a level-1 heading ends the section; text after it does not count */
	ck_assert_int_eq(lint("## Detect\nx\n## Declare\nx\n## Communicate\nx\n"
			      "## Mitigate\n# Appendix\ntext\n## RCA\nx\n",
			      &m),
			 1);
	ck_assert_str_eq(m.text, "empty section 'Mitigate'\n");
}
END_TEST

START_TEST(test_lint_order_and_dup)
{
	struct lint_msgs m;

	/* Mitigate moved up: only Mitigate is out of place */
	ck_assert_int_eq(lint("## Detect\nx\n## Mitigate\nx\n## Declare\nx\n## Communicate\nx\n"
			      "## RCA\nx\n",
			      &m),
			 1);
	ck_assert_str_eq(m.text, "section 'Mitigate' out of order\n");
	ck_assert_int_eq(lint("## RCA\nx\n## Detect\nx\n## Declare\nx\n## Communicate\nx\n"
			      "## Mitigate\nx\n",
			      &m),
			 1);
	ck_assert_str_eq(m.text, "section 'RCA' out of order\n");
	ck_assert_int_eq(lint(GOOD "## Detect\nagain\n", &m), 1);
	ck_assert_str_eq(m.text, "duplicate section 'Detect'\n");
}
END_TEST

START_TEST(test_lint_fences)
{
	struct lint_msgs m;

	/* "## Mitigate" inside a code block is code, not a heading; the block is Declare's body */
	ck_assert_int_eq(lint("## Detect\nx\n## Declare\n```\n## Mitigate\n```\n"
			      "## Communicate\nx\n## RCA\nx\n",
			      &m),
			 1);
	ck_assert_str_eq(m.text, "missing section 'Mitigate'\n");
	/* a ``` line with an info string does not close a ~~~~ fence; ~~~~ does */
	ck_assert_int_eq(lint("## Detect\n~~~~\n```sh\n## Declare\n~~~~\n## Declare\nx\n"
			      "## Communicate\nx\n## Mitigate\nx\n## RCA\nx\n",
			      &m),
			 0);
	/* a shorter run, or one with an info string, does not close a fence */
	ck_assert_int_eq(lint("## Detect\n````\n```\n## Declare\n````\n## Declare\nx\n"
			      "## Communicate\nx\n## Mitigate\n```\n```sh\n## Detect\n```\n"
			      "## RCA\nx\n",
			      &m),
			 0);
	/* an unclosed fence swallows the rest */
	ck_assert_int_eq(lint("## Detect\n```\n## Declare\nx\n## Communicate\nx\n"
			      "## Mitigate\nx\n## RCA\nx\n",
			      &m),
			 4);
}
END_TEST

static Suite *
comms_suite(void)
{
	Suite *s = suite_create("comms");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_kind_str);
	tcase_add_test(tc, test_investigating);
	tcase_add_test(tc, test_investigating_all_down);
	tcase_add_test(tc, test_identified);
	tcase_add_test(tc, test_identified_minimal);
	tcase_add_test(tc, test_resolved);
	tcase_add_test(tc, test_resolved_multiday_plural);
	tcase_add_test(tc, test_resolved_zero);
	tcase_add_test(tc, test_appends_and_restores);
	tcase_add_test(tc, test_invalid_inputs);
	tcase_add_test(tc, test_control_chars);
	tcase_add_test(tc, test_postmortem);
	tcase_add_test(tc, test_postmortem_prompts);
	tcase_add_test(tc, test_postmortem_multiday_duration);
	tcase_add_test(tc, test_lint_good);
	tcase_add_test(tc, test_lint_missing);
	tcase_add_test(tc, test_lint_empty);
	tcase_add_test(tc, test_lint_order_and_dup);
	tcase_add_test(tc, test_lint_fences);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(comms_suite());
}
