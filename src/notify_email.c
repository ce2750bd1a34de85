/* notify_email.c — e-mail through an SMTP relay (libcurl's SMTP, on the runner's curl
 * multi like every other target: never blocks the loop).
 *
 *   - type: email
 *     url: smtp://relay.example.org:587   # or smtps://...:465 (implicit TLS)
 *     tls: starttls                       # smtp:// only: starttls (default) or none
 *     from: probed@example.org
 *     to: [oncall@example.org]
 *     username: probed                    # optional, with password
 *     password: ${file:/etc/probed/smtp-password}
 *     ca_file: /etc/probed/relay-ca.pem   # optional
 *
 * With smtp:// and tls: starttls (the default) the relay must offer STARTTLS, or nothing
 * is sent (CURLUSESSL_ALL: credentials and the message never travel in the clear); tls:
 * none is for a relay on the same host, and refuses a password. The message is RFC 5322
 * text/plain UTF-8: Subject "[P1] summary" ("[P1] RESOLVED: summary"; "[DRILL]" first in
 * a drill), Date from the outbox's clock, Message-ID from the event_id (the same on every
 * retry of one event, so a re-sent mail is recognisable), and a body with the summary,
 * reason, severity, mode, evidence, status draft, runbook and dedup key. Header values
 * from events have control characters replaced (no CR/LF header injection); addresses
 * are checked when the config is read. SMTP replies: 4xx transient (retried), 5xx
 * permanent (dead letter), no reply (connect, TLS, timeout) retried. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "probed/notify.h"

#define EMAIL_SUBJECT_MAX 200 /* bytes of summary in the subject */
#define EMAIL_LINE_MAX 900    /* body lines are cut below RFC 5322's 998 */

enum email_tls { EMAIL_TLS_STARTTLS = 0, EMAIL_TLS_NONE = 1 };

struct email_cfg {
	char *from;     /* addr-spec */
	char *env_from; /* "<from>" for MAIL FROM */
	char **to;      /* addr-specs (nto + NULL) */
	char **env_to;  /* "<to>" for RCPT TO */
	size_t nto;
	char *username, *password; /* password: secret */
	char *ca_file;
	int tls;
};

static const char *const email_keys[] = {
	"from", "to", "username", "password", "tls", "ca_file", NULL,
};
static const char *const email_tls_words[] = {"starttls", "none", NULL};

/* An addr-spec as written in From/To and the envelope: local@domain of printable ASCII,
 * without spaces, quotes, angle brackets, commas or control characters. Returns NULL or
 * what is wrong. */
const char *pd_notify_email_address_problem(const char *a);
const char *
pd_notify_email_address_problem(const char *a)
{
	const char *at = strchr(a, '@');

	if (strpbrk(a, "\r\n") != NULL)
		return "contains a CR or LF";
	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return "expected one address, local@domain";
	if (strlen(a) > 254)
		return "longer than 254 bytes";
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>\",;()[]\\", *p) != NULL)
			return "contains a space, control, non-ASCII or special character";
	return NULL;
}

static void
email_cfg_free(struct email_cfg *e)
{
	if (e == NULL)
		return;
	free(e->from);
	free(e->env_from);
	for (size_t i = 0; i < e->nto; i++) {
		free(e->to[i]);
		if (e->env_to)
			free(e->env_to[i]);
	}
	free(e->to);
	free(e->env_to);
	free(e->username);
	if (e->password) {
		explicit_bzero(e->password, strlen(e->password));
		free(e->password);
	}
	free(e->ca_file);
	free(e);
}

static void
email_cleanup(struct pd_notify_cfg *t)
{
	email_cfg_free(t->ext);
	t->ext = NULL;
}

static char *
email_angle(const char *a)
{
	size_t n = strlen(a) + 3;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "<%s>", a);
	return s;
}

static int
email_configure(struct pd_notify_conf *nc, struct pd_notify_cfg *t)
{
	struct email_cfg *e = calloc(1, sizeof(*e));
	const char *why;
	int rc = 0, tls;

	if (e == NULL) {
		pd_config_notify_error(nc, NULL, "out of memory");
		return -1;
	}
	t->ext = e;
	if (pd_config_notify_has(nc, "headers")) {
		pd_config_notify_error(nc, "headers", "headers is not valid for type email");
		rc = -1;
	}
	if (!pd_config_notify_has(nc, "from")) {
		pd_config_notify_error(nc, NULL, "email is missing required key 'from'");
		rc = -1;
	} else if ((e->from = pd_config_notify_string(nc, "from", NULL)) != NULL) {
		if ((why = pd_notify_email_address_problem(e->from)) != NULL) {
			pd_config_notify_error(nc, "from", "from: %s", why);
			rc = -1;
		} else if ((e->env_from = email_angle(e->from)) == NULL) {
			rc = -1;
		}
	}
	if (!pd_config_notify_has(nc, "to")) {
		pd_config_notify_error(nc, NULL, "email is missing required key 'to'");
		rc = -1;
	} else if ((e->to = pd_config_notify_list(nc, "to",
						  " of addresses, e.g. "
						  "[oncall@example.org]",
						  &e->nto)) != NULL) {
		e->env_to = calloc(e->nto + 1, sizeof(*e->env_to));
		if (e->env_to == NULL) {
			pd_config_notify_error(nc, "to", "out of memory");
			return -1;
		}
		for (size_t i = 0; i < e->nto; i++) {
			if ((why = pd_notify_email_address_problem(e->to[i])) != NULL) {
				pd_config_notify_item_error(nc, "to", i, "to: %s", why);
				rc = -1;
			} else if ((e->env_to[i] = email_angle(e->to[i])) == NULL) {
				rc = -1;
			}
		}
	}
	tls = pd_config_notify_has(nc, "tls")
		      ? pd_config_notify_enum(nc, "tls", email_tls_words, "starttls or none")
		      : EMAIL_TLS_STARTTLS;
	if (tls < 0)
		rc = -1;
	else
		e->tls = tls;
	if (tls == EMAIL_TLS_NONE && t->url != NULL && strncasecmp(t->url, "smtps:", 6) == 0) {
		pd_config_notify_error(nc, "tls",
				       "tls: none contradicts an smtps:// url (TLS "
				       "from the first byte)");
		rc = -1;
	}
	if (pd_config_notify_has(nc, "username"))
		e->username = pd_config_notify_string(nc, "username", NULL);
	if (pd_config_notify_has(nc, "password"))
		e->password = pd_config_notify_secret(nc, "password");
	if (pd_config_notify_has(nc, "username") != pd_config_notify_has(nc, "password")) {
		pd_config_notify_error(nc, NULL, "email: username and password go together");
		rc = -1;
	}
	if (e->password != NULL && tls == EMAIL_TLS_NONE) {
		pd_config_notify_error(nc, "tls", "tls: none would send the password in the clear");
		rc = -1;
	}
	if (pd_config_notify_has(nc, "ca_file"))
		e->ca_file = pd_config_notify_string(nc, "ca_file", NULL);
	return rc;
}

/* s with every control character (CR, LF, TAB, DEL, ...) as a space: one header line. */
static void
email_one_line(struct pd_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char c = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;

		pd_buf_append(b, &c, 1);
	}
}

/* RFC 2047 "B" encoded-words for a header text that is not plain ASCII, each at most
 * 75 bytes and never splitting a UTF-8 character. */
static void
email_header_text(struct pd_buf *b, const char *s)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct pd_buf one;
	int ascii = 1;
	size_t i = 0;

	pd_buf_init(&one, 0);
	email_one_line(&one, s);
	for (size_t k = 0; k < one.len; k++)
		if ((unsigned char)one.data[k] >= 0x80)
			ascii = 0;
	if (ascii || one.data == NULL) {
		if (one.data)
			pd_buf_append(b, one.data, one.len);
		pd_buf_cleanup(&one);
		return;
	}
	while (i < one.len) {
		size_t n = one.len - i;
		const unsigned char *p = (const unsigned char *)one.data + i;

		if (n > 45)
			n = 45;
		while (n < one.len - i && n > 0 && (p[n] & 0xc0) == 0x80)
			n--; /* the next chunk must not start inside a character */
		pd_buf_printf(b, "%s=?UTF-8?B?", i ? "\r\n " : "");
		for (size_t k = 0; k < n; k += 3) {
			unsigned v = (unsigned)p[k] << 16;
			char q[4];

			if (k + 1 < n)
				v |= (unsigned)p[k + 1] << 8;
			if (k + 2 < n)
				v |= p[k + 2];
			q[0] = b64[(v >> 18) & 63];
			q[1] = b64[(v >> 12) & 63];
			q[2] = k + 1 < n ? b64[(v >> 6) & 63] : '=';
			q[3] = k + 2 < n ? b64[v & 63] : '=';
			pd_buf_append(b, q, 4);
		}
		pd_buf_append(b, "?=", 2);
		i += n;
	}
	pd_buf_cleanup(&one);
}

/* Body text: lines end in CRLF, other control characters but TAB become spaces, lines
 * are cut at EMAIL_LINE_MAX bytes (libcurl dot-stuffs lines starting with "."). */
static void
email_body_text(struct pd_buf *b, const char *s)
{
	size_t col = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\r')
			continue;
		if (ch == '\n' || col >= EMAIL_LINE_MAX) {
			pd_buf_append(b, "\r\n", 2);
			col = 0;
			if (ch == '\n')
				continue;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			ch = ' ';
		pd_buf_append(b, &ch, 1);
		col++;
	}
	pd_buf_append(b, "\r\n", 2);
}

static void
email_field(struct pd_buf *b, const char *label, const char *v)
{
	struct pd_buf line;

	if (v == NULL || v[0] == '\0')
		return;
	pd_buf_init(&line, 0);
	pd_buf_printf(&line, "%-11s%s", label, v);
	email_body_text(b, line.data);
	pd_buf_cleanup(&line);
}

/* An id for Message-ID: [A-Za-z0-9._-] of s, others as "_". */
static void
email_id_part(struct pd_buf *b, const char *s)
{
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-'))
			c = '_';
		pd_buf_append(b, &c, 1);
	}
}

/* The subject: "[DRILL] " in a drill, "[Pn] ", "RESOLVED: " for a resolve, the summary
 * (cut, its own "[Pn]" tag kept when it has one). Exposed for the tests. */
void pd_notify_email_subject(const cJSON *event, struct pd_buf *out);
void
pd_notify_email_subject(const cJSON *event, struct pd_buf *out)
{
	const char *summary = pd_notify_jstr(event, "summary", "");
	int drill = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(event, "drill"));
	int resolve = strcmp(pd_notify_jstr(event, "event", "trigger"), "resolve") == 0;
	char cut[EMAIL_SUBJECT_MAX + 8];

	pd_notify_truncate(cut, sizeof(cut), summary, EMAIL_SUBJECT_MAX, 1);
	if (drill)
		pd_buf_printf(out, "[DRILL] ");
	if (pd_notify_summary_tagged(cut)) {
		/* "[P1] rest" -> "[P1] RESOLVED: rest" */
		if (resolve)
			pd_buf_printf(out, "%.5sRESOLVED: %s", cut, cut + 5);
		else
			pd_buf_printf(out, "%s", cut);
	} else {
		pd_buf_printf(out, "[P%d] %s%s", pd_notify_event_severity(event),
			      resolve ? "RESOLVED: " : "", cut);
	}
}

static int
email_render_at(const struct pd_notify_cfg *t, const cJSON *event, int64_t now_ms,
		struct pd_buf *body, struct pd_err *err)
{
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	const struct email_cfg *e = t->ext;
	const char *evname = pd_notify_jstr(event, "event", "trigger");
	const char *domain, *mode = pd_notify_jstr(event, "mode", NULL);
	const char *mode_title = pd_notify_jstr(event, "mode_title", NULL);
	time_t secs = (time_t)(now_ms / 1000);
	struct pd_buf subj, line;
	char sev[8];
	struct tm tm;

	if (e == NULL || e->from == NULL || e->nto == 0)
		return pd_err_set(err, PD_ERR_INVALID, "email target %s: not configured", t->name);
	if (gmtime_r(&secs, &tm) == NULL)
		return pd_err_set(err, PD_ERR_INVALID, "email: bad time");
	domain = strchr(e->from, '@') + 1;
	pd_buf_printf(body, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", wd[tm.tm_wday],
		      tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		      tm.tm_sec);
	pd_buf_printf(body, "From: probed <%s>\r\nTo: ", e->from);
	for (size_t i = 0; i < e->nto; i++)
		pd_buf_printf(body, "%s%s", i ? ",\r\n " : "", e->to[i]);
	pd_buf_init(&subj, 0);
	pd_notify_email_subject(event, &subj);
	pd_buf_printf(body, "\r\nSubject: ");
	email_header_text(body, subj.data ? subj.data : "");
	pd_buf_printf(body, "\r\nMessage-ID: <");
	email_id_part(body, pd_notify_jstr(event, "event_id", "probed"));
	pd_buf_printf(body, ".%s@%s>\r\n", evname[0] == 'r' ? "resolve" : "trigger", domain);
	pd_buf_printf(body, "X-Probed-Dedup-Key: ");
	email_one_line(body, pd_notify_jstr(event, "dedup_key", ""));
	pd_buf_printf(body, "\r\nX-Probed-Event: %s\r\n", evname[0] == 'r' ? "resolve" : "trigger");
	pd_buf_printf(body, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
			    "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n"
			    "\r\n");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(event, "drill")))
		email_body_text(body, "THIS IS A DRILL.\n");
	email_body_text(body, subj.data ? subj.data : "");
	email_body_text(body, "");
	snprintf(sev, sizeof(sev), "P%d", pd_notify_event_severity(event));
	email_field(body, "Event:", evname);
	email_field(body, "Severity:", sev);
	pd_buf_init(&line, 0);
	if (mode_title && mode)
		pd_buf_printf(&line, "%s (%s)", mode_title, mode);
	email_field(body, "Mode:", line.data ? line.data : mode);
	pd_buf_cleanup(&line);
	email_field(body, "Probe:", pd_notify_jstr(event, "probe", NULL));
	email_field(body, "Family:", pd_notify_jstr(event, "family", NULL));
	email_field(body, "Reason:", pd_notify_jstr(event, "reason", NULL));
	email_field(body, "Since:", pd_notify_jstr(event, "down_since", NULL));
	email_field(body, "At:", pd_notify_jstr(event, "ts", NULL));
	email_field(body, "Location:", pd_notify_jstr(event, "location", NULL));
	if (pd_notify_jstr(event, "evidence", NULL) != NULL) {
		email_body_text(body, "\nEvidence:");
		email_body_text(body, pd_notify_jstr(event, "evidence", ""));
	}
	if (pd_notify_jstr(event, "status_message", NULL) != NULL) {
		email_body_text(body, "\nStatus page draft:");
		email_body_text(body, pd_notify_jstr(event, "status_message", ""));
	}
	email_body_text(body, "");
	email_field(body, "Runbook:", pd_notify_jstr(event, "runbook", NULL));
	email_field(body, "Dedup key:", pd_notify_jstr(event, "dedup_key", NULL));
	email_field(body, "Event id:", pd_notify_jstr(event, "event_id", NULL));
	pd_buf_cleanup(&subj);
	if (body->over || body->data == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	return 0;
}

/* The ops' render without a clock: the epoch (the outbox calls render_at). */
static int
email_render(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
	     struct pd_err *err)
{
	return email_render_at(t, event, 0, body, err);
}

static int
email_prepare(const struct pd_notify_cfg *t, struct pd_request *req, struct pd_err *err)
{
	const struct email_cfg *e = t->ext;

	if (e == NULL || e->env_from == NULL || e->nto == 0)
		return pd_err_set(err, PD_ERR_INVALID, "email target %s: not configured", t->name);
	req->headers = NULL; /* the message carries its own */
	req->nheaders = 0;
	req->method = NULL;
	req->upload = 1;
	req->mail_from = e->env_from;
	req->mail_rcpt = (const char *const *)e->env_to;
	req->nmail_rcpt = e->nto;
	req->username = e->username;
	req->password = e->password;
	req->ca_file = e->ca_file;
	/* CURLUSESSL_ALL (3): STARTTLS or nothing; smtps:// is TLS anyway */
	req->use_ssl = e->tls == EMAIL_TLS_STARTTLS ? 3 : 0;
	return 0;
}

/* SMTP replies: 2xx delivered; 4xx transient; 5xx permanent (a refused recipient, a
 * rejected login); no reply at all (connect, TLS, timeout) is retried. */
static enum pd_notify_verdict
email_classify(const struct pd_response *resp)
{
	if (resp->http_status >= 500 && resp->http_status <= 599)
		return PD_NOTIFY_PERMANENT;
	if (resp->curl_code == 0 && resp->http_status >= 200 && resp->http_status <= 399)
		return PD_NOTIFY_DELIVERED;
	return PD_NOTIFY_RETRY;
}

const struct pd_notify_ops pd_notify_email_ops = {
	.name = "email",
	.render = email_render,
	.render_at = email_render_at,
	.prepare = email_prepare,
	.classify = email_classify,
	.status_word = "SMTP",
	.keys = email_keys,
	.configure = email_configure,
	.cleanup = email_cleanup,
	.schemes = "smtp,smtps",
	.default_role = PD_NOTIFY_ROLE_TICKET,
	.flags = PD_NOTIFY_F_URL_REQUIRED,
};
