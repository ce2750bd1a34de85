/* check_notify_email.c — the email target: its keys and their errors, the
 * RFC 5322 message it renders (headers, subject, CR/LF injection, the clock), the SMTP
 * options it hands the runner and its verdicts. Everything through its ops. */
#include <check.h>
#include "testlib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/config.h"
#include "probed/log.h"
#include "probed/notify.h"

static char diag_out[8192];

static void
diag(void *ud, const char *line)
{
	(void)ud;
	strncat(diag_out, line, sizeof(diag_out) - strlen(diag_out) - 2);
	strcat(diag_out, "\n");
}

static struct pd_config *
load(const char *notify_yaml)
{
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	char yaml[8192];

	diag_out[0] = '\0';
	snprintf(yaml, sizeof(yaml),
		 "probes:\n"
		 "  - name: post-detail\n"
		 "    url: http://127.0.0.1:1/post-detail/\n"
		 "notify:\n%s",
		 notify_yaml);
	if (pd_config_load_string(yaml, strlen(yaml), "mail.yaml", &cfg, &err, diag, NULL) != 0)
		return NULL;
	return cfg;
}

#define GOOD                                              \
	"  - name: mail\n"                                \
	"    type: email\n"                               \
	"    url: smtp://127.0.0.1:2525\n"                \
	"    from: probed@example.org\n"                  \
	"    to: [oncall@example.org, sre@example.org]\n" \
	"    username: probed\n"                          \
	"    password: s3cret-mail-pw\n"

static cJSON *
event(const char *action, const char *summary)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "event", action);
	cJSON_AddStringToObject(e, "dedup_key", "probed:fra1/inc-1796608265515");
	cJSON_AddStringToObject(e, "probe", "userid");
	cJSON_AddStringToObject(e, "family", "userid");
	cJSON_AddStringToObject(e, "summary", summary);
	cJSON_AddStringToObject(e, "reason", "HTTP 401 from /userid/");
	cJSON_AddStringToObject(e, "severity", "P1");
	cJSON_AddStringToObject(e, "mode", "key-rejected");
	cJSON_AddStringToObject(e, "mode_title", "API key rejected");
	cJSON_AddStringToObject(e, "runbook", "runbooks/key-rejected.md");
	cJSON_AddStringToObject(e, "status_message", "We are investigating.\nMore soon.");
	cJSON_AddStringToObject(e, "evidence", "userid: 401 x3");
	cJSON_AddStringToObject(e, "event_id", "probed-1796608265515-42");
	return e;
}

/* The message for ev, rendered at now_ms by the configured target. */
static char *
render(const struct pd_notify_cfg *t, cJSON *ev, int64_t now_ms)
{
	const struct pd_notify_ops *ops = pd_notify_ops_for(t->type);
	struct pd_buf b;
	struct pd_err err = {0};

	ck_assert_ptr_nonnull(ops->render_at);
	pd_buf_init(&b, 0);
	ck_assert_int_eq(ops->render_at(t, ev, now_ms, &b, &err), 0);
	cJSON_Delete(ev);
	return b.data;
}

/* The header section (up to the blank line). */
static char *
headers_of(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");

	ck_assert_ptr_nonnull(end);
	return strndup(msg, (size_t)(end - msg) + 2);
}

START_TEST(test_config_and_type)
{
	struct pd_config *cfg = load(GOOD);
	const struct pd_notify_ops *ops;

	ck_assert_msg(cfg != NULL, "%s", diag_out);
	ops = pd_notify_ops_for(cfg->notify[0].type);
	ck_assert_str_eq(ops->name, "email");
	ck_assert_int_eq(pd_notify_type_find("email"), (int)cfg->notify[0].type);
	ck_assert_int_eq(pd_notify_role_of(&cfg->notify[0]), PD_NOTIFY_ROLE_TICKET);
	ck_assert_ptr_nonnull(cfg->notify[0].ext);
	ck_assert_ptr_nonnull(strstr(pd_notify_type_list(), "exec or email"));
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_render_headers)
{
	struct pd_config *cfg = load(GOOD);
	char *m, *h;

	ck_assert_msg(cfg != NULL, "%s", diag_out);
	/* the injected clock, not the machine's: Mon, 07 Dec 2026 01:51:05 UTC */
	m = render(&cfg->notify[0], event("trigger", "[P1] API key rejected"), 1796608265515);
	h = headers_of(m);
	ck_assert_ptr_nonnull(strstr(h, "Date: Mon, 07 Dec 2026 01:51:05 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "From: probed <probed@example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "To: oncall@example.org,\r\n sre@example.org\r\n"));
	/* the summary's own tag is not doubled */
	ck_assert_ptr_nonnull(strstr(h, "\r\nSubject: [P1] API key rejected\r\n"));
	ck_assert_ptr_nonnull(
		strstr(h, "Message-ID: <probed-1796608265515-42.trigger@example.org>"));
	ck_assert_ptr_nonnull(strstr(h, "X-Probed-Dedup-Key: probed:fra1/inc-1796608265515\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "Content-Type: text/plain; charset=utf-8\r\n"));
	/* the body: reason, mode, the status draft (its lines in CRLF), runbook, dedup key */
	ck_assert_ptr_nonnull(strstr(m, "Reason:    HTTP 401 from /userid/\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Mode:      API key rejected (key-rejected)\r\n"));
	ck_assert_ptr_nonnull(
		strstr(m, "Status page draft:\r\nWe are investigating.\r\nMore soon.\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Runbook:   runbooks/key-rejected.md\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Dedup key: probed:fra1/inc-1796608265515\r\n"));
	/* no bare LF anywhere */
	for (const char *p = strchr(m, '\n'); p != NULL; p = strchr(p + 1, '\n'))
		ck_assert_int_eq(p[-1], '\r');
	free(h);
	free(m);
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_render_subjects)
{
	struct pd_config *cfg = load(GOOD);
	cJSON *ev;
	char *m;

	ck_assert_msg(cfg != NULL, "%s", diag_out);
	/* an untagged summary gets the severity; a resolve says so */
	m = render(&cfg->notify[0], event("trigger", "userid down"), 0);
	ck_assert_ptr_nonnull(strstr(m, "\r\nSubject: [P1] userid down\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	free(m);
	m = render(&cfg->notify[0], event("resolve", "[P1] API key rejected"), 0);
	ck_assert_ptr_nonnull(strstr(m, "\r\nSubject: [P1] RESOLVED: API key rejected\r\n"));
	ck_assert_ptr_nonnull(strstr(m, ".resolve@example.org>"));
	free(m);
	ev = event("trigger", "[P1] drill");
	cJSON_AddBoolToObject(ev, "drill", 1);
	m = render(&cfg->notify[0], ev, 0);
	ck_assert_ptr_nonnull(strstr(m, "\r\nSubject: [DRILL] [P1] drill\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "THIS IS A DRILL."));
	free(m);
	/* not ASCII: an RFC 2047 encoded-word ("é" = C3 A9) */
	m = render(&cfg->notify[0], event("trigger", "caf\xc3\xa9"), 0);
	ck_assert_ptr_nonnull(strstr(m, "\r\nSubject: =?UTF-8?B?W1AxXSBjYWbDqQ==?=\r\n"));
	free(m);
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_render_crlf_injection)
{
	struct pd_config *cfg = load(GOOD);
	cJSON *ev;
	char *m, *h;

	ck_assert_msg(cfg != NULL, "%s", diag_out);
	ev = event("trigger", "down\r\nBcc: victim@evil.example\r\n\r\nfake body");
	cJSON_ReplaceItemInObject(ev, "dedup_key", cJSON_CreateString("k\r\nBcc: x@evil.example"));
	cJSON_ReplaceItemInObject(ev, "event_id", cJSON_CreateString("id>\r\nBcc: y@evil"));
	m = render(&cfg->notify[0], ev, 0);
	h = headers_of(m);
	/* the text stays on its header line: no header of its own, no early end of headers */
	ck_assert_ptr_null(strstr(h, "\r\nBcc:"));
	ck_assert_ptr_nonnull(
		strstr(h, "Subject: [P1] down  Bcc: victim@evil.example    fake body\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "X-Probed-Dedup-Key: k  Bcc: x@evil.example\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "Message-ID: <id___Bcc__y_evil.trigger@example.org>"));
	ck_assert_ptr_nonnull(strstr(h, "MIME-Version: 1.0\r\n"));
	free(h);
	free(m);
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_config_errors)
{
	struct pd_config *cfg;

	/* an address with CR/LF (header injection through the config) */
	cfg = load("  - name: mail\n    type: email\n    url: smtp://127.0.0.1:25\n"
		   "    from: \"probed@example.org\\r\\nBcc: x@evil.example\"\n"
		   "    to: [ops@example.org, \"a b@example.org\"]\n");
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(diag_out, "mail.yaml:8:11: from: contains a CR or LF") != NULL, "%s",
		      diag_out);
	ck_assert_msg(strstr(diag_out, "mail.yaml:9:27: to: contains a space") != NULL, "%s",
		      diag_out);
	/* required keys; the scheme; another type's key; a key of ours on another type */
	cfg = load("  - name: mail\n    type: email\n    url: https://relay.example.org\n"
		   "    routing_key: abc\n"
		   "  - name: hook\n    type: webhook\n    url: http://127.0.0.1:1/h\n"
		   "    from: a@b.c\n");
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(diag_out, "mail.yaml:5:5: email is missing required key 'from'") !=
			      NULL,
		      "%s", diag_out);
	ck_assert_msg(strstr(diag_out, "mail.yaml:5:5: email is missing required key 'to'") != NULL,
		      "%s", diag_out);
	ck_assert_msg(strstr(diag_out, "mail.yaml:7:10: url: invalid URL 'https://relay.example.org"
				       "': scheme must be one of smtp,smtps") != NULL,
		      "%s", diag_out);
	ck_assert_msg(strstr(diag_out,
			     "mail.yaml:8:5: routing_key is only valid for type pagerduty") != NULL,
		      "%s", diag_out);
	ck_assert_msg(strstr(diag_out, "mail.yaml:12:5: from is only valid for type email") != NULL,
		      "%s", diag_out);
	/* a password over a plain connection; tls: none with smtps; a lone username */
	cfg = load("  - name: mail\n    type: email\n    url: smtp://127.0.0.1:25\n"
		   "    from: a@example.org\n    to: [b@example.org]\n    tls: none\n"
		   "    username: u\n    password: p\n"
		   "  - name: m2\n    type: email\n    url: smtps://127.0.0.1:465\n"
		   "    from: a@example.org\n    to: [b@example.org]\n    tls: none\n"
		   "    username: u\n"
		   "  - name: m3\n    type: email\n    url: smtp://127.0.0.1:25\n"
		   "    from: a@example.org\n    to: b@example.org\n    tls: maybe\n");
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(diag_out, "mail.yaml:10:10: tls: none would send the password in "
				       "the clear") != NULL,
		      "%s", diag_out);
	ck_assert_msg(strstr(diag_out, "mail.yaml:18:10: tls: none contradicts an smtps:// url") !=
			      NULL,
		      "%s", diag_out);
	ck_assert_msg(strstr(diag_out,
			     "mail.yaml:13:5: email: username and password go together") != NULL,
		      "%s", diag_out);
	ck_assert_msg(strstr(diag_out, "mail.yaml:24:9: to: expected a list of addresses") != NULL,
		      "%s", diag_out);
	ck_assert_msg(strstr(diag_out,
			     "mail.yaml:25:10: tls: must be starttls or none, got 'maybe'") != NULL,
		      "%s", diag_out);
}
END_TEST

START_TEST(test_password_secret_and_prepare)
{
	struct pd_config *cfg = load(GOOD);
	const struct pd_notify_ops *ops;
	struct pd_request req = {0};
	struct pd_err err = {0};
	char line[128] = "AUTH with s3cret-mail-pw failed";

	ck_assert_msg(cfg != NULL, "%s", diag_out);
	pd_log_redact(line, sizeof(line));
	ck_assert_ptr_null(strstr(line, "s3cret-mail-pw"));
	ops = pd_notify_ops_for(cfg->notify[0].type);
	ck_assert_str_eq(ops->schemes, "smtp,smtps");
	ck_assert_int_eq(ops->prepare(&cfg->notify[0], &req, &err), 0);
	ck_assert_int_eq(req.upload, 1);
	ck_assert_str_eq(req.mail_from, "<probed@example.org>");
	ck_assert_uint_eq(req.nmail_rcpt, 2);
	ck_assert_str_eq(req.mail_rcpt[1], "<sre@example.org>");
	ck_assert_str_eq(req.username, "probed");
	ck_assert_str_eq(req.password, "s3cret-mail-pw");
	ck_assert_int_eq(req.use_ssl, 3); /* CURLUSESSL_ALL: STARTTLS or nothing */
	ck_assert_uint_eq(req.nheaders, 0);
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_classify)
{
	struct pd_config *cfg = load(GOOD);
	const struct pd_notify_ops *ops;
	struct pd_response r = {0};

	ck_assert_msg(cfg != NULL, "%s", diag_out);
	ops = pd_notify_ops_for(cfg->notify[0].type);
	r.http_status = 250;
	ck_assert_int_eq(ops->classify(&r), PD_NOTIFY_DELIVERED);
	r.curl_code = 55; /* CURLE_SEND_ERROR after a refused RCPT */
	r.http_status = 451;
	ck_assert_int_eq(ops->classify(&r), PD_NOTIFY_RETRY);
	r.http_status = 554;
	ck_assert_int_eq(ops->classify(&r), PD_NOTIFY_PERMANENT);
	r.http_status = 535; /* login rejected */
	ck_assert_int_eq(ops->classify(&r), PD_NOTIFY_PERMANENT);
	r.curl_code = 7; /* could not connect: no reply */
	r.http_status = 0;
	ck_assert_int_eq(ops->classify(&r), PD_NOTIFY_RETRY);
	pd_config_free(cfg);
}
END_TEST

static Suite *
email_suite(void)
{
	Suite *s = suite_create("notify_email");
	TCase *tc = tcase_create("email");

	tcase_add_test(tc, test_config_and_type);
	tcase_add_test(tc, test_render_headers);
	tcase_add_test(tc, test_render_subjects);
	tcase_add_test(tc, test_render_crlf_injection);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_password_secret_and_prepare);
	tcase_add_test(tc, test_classify);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	pd_log_set_level(PD_LOG_ERR);
	return pd_test_run(email_suite());
}
