/* notify_slack.c — Slack incoming webhook: {"text": fallback, "blocks": [...]}.
 *
 * The URL (hooks.slack.com/services/T…/B…/secret) is a credential: config registers it
 * as a secret and shows it redacted. Text in mrkdwn is escaped (&, <, >) as Slack asks,
 * and cut to Slack's limits (header 150, section 3000, field 2000 characters) on
 * UTF-8 boundaries. Slack answers 200 "ok"; 4xx (invalid_payload, no_service,
 * channel_is_archived) are permanent, 429 and 5xx transient. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/notify.h"

#define SL_HEADER_MAX 150
#define SL_SECTION_MAX 3000
#define SL_FIELD_MAX 2000
#define SL_TEXT_MAX 3000

static const char *const sl_emoji[] = {
	":red_circle:",
	":large_orange_circle:",
	":large_yellow_circle:",
	":white_circle:",
};
/* the playbook's names for P1..P4 */
static const char *const sl_words[] = {
	"customer-facing down",
	"partial or degraded",
	"batch slowness",
	"cosmetic",
};

/* Escape mrkdwn control characters into b, then cut b to max bytes. */
static int
sl_escape(struct pd_buf *b, const char *s, size_t max)
{
	char *cut;
	int rc = 0;

	for (; *s && rc == 0; s++) {
		switch (*s) {
		case '&':
			rc = pd_buf_append(b, "&amp;", 5);
			break;
		case '<':
			rc = pd_buf_append(b, "&lt;", 4);
			break;
		case '>':
			rc = pd_buf_append(b, "&gt;", 4);
			break;
		default:
			rc = pd_buf_append(b, s, 1);
		}
	}
	if (rc != 0 || b->data == NULL || b->len <= max)
		return rc;
	if ((cut = malloc(max + 1)) == NULL)
		return PD_ERR_NOMEM;
	/* never leave half an entity: cut before a trailing '&' run */
	pd_notify_truncate(cut, max + 1, b->data, max, 1);
	{
		char *amp = strrchr(cut, '&');

		if (amp && strchr(amp, ';') == NULL)
			memcpy(amp, "\xe2\x80\xa6", 4);
	}
	pd_buf_reset(b);
	rc = pd_buf_append(b, cut, strlen(cut));
	free(cut);
	return rc;
}

static cJSON *
sl_text(const char *type, const char *text)
{
	cJSON *t = cJSON_CreateObject();

	if (t == NULL)
		return NULL;
	cJSON_AddStringToObject(t, "type", type);
	cJSON_AddStringToObject(t, "text", text);
	if (strcmp(type, "plain_text") == 0)
		cJSON_AddBoolToObject(t, "emoji", 1);
	return t;
}

static void
sl_block(cJSON *blocks, const char *type, cJSON *text)
{
	cJSON *b = cJSON_CreateObject();

	if (b == NULL) {
		cJSON_Delete(text);
		return;
	}
	cJSON_AddStringToObject(b, "type", type);
	if (text)
		cJSON_AddItemToObject(b, "text", text);
	cJSON_AddItemToArray(blocks, b);
}

/* A section of mrkdwn: "*title*\nvalue" (title may be NULL), escaped and capped. */
static int
sl_section(cJSON *blocks, const char *title, const char *value, const char *pre, const char *post)
{
	struct pd_buf v, all;
	int rc;

	pd_buf_init(&v, 0);
	pd_buf_init(&all, 0);
	rc = sl_escape(&v, value, SL_SECTION_MAX - 200);
	if (rc == 0 && title)
		rc = pd_buf_printf(&all, "*%s*\n", title);
	if (rc == 0)
		rc = pd_buf_printf(&all, "%s%s%s", pre ? pre : "", v.data ? v.data : "",
				   post ? post : "");
	if (rc == 0)
		sl_block(blocks, "section", sl_text("mrkdwn", all.data));
	pd_buf_cleanup(&v);
	pd_buf_cleanup(&all);
	return rc;
}

static void
sl_field(cJSON *fields, const char *title, const char *value)
{
	struct pd_buf v, all;

	if (value == NULL || value[0] == '\0')
		return;
	pd_buf_init(&v, 0);
	pd_buf_init(&all, 0);
	if (sl_escape(&v, value, SL_FIELD_MAX - 100) == 0 &&
	    pd_buf_printf(&all, "*%s*\n%s", title, v.data ? v.data : "") == 0)
		cJSON_AddItemToArray(fields, sl_text("mrkdwn", all.data));
	pd_buf_cleanup(&v);
	pd_buf_cleanup(&all);
}

static int
slack_render(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
	     struct pd_err *err)
{
	int resolve = strcmp(pd_notify_jstr(event, "event", "trigger"), "resolve") == 0;
	int sev = pd_notify_event_severity(event);
	int drill = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(event, "drill"));
	const char *summary = pd_notify_jstr(event, "summary", "probed alert");
	const char *probe = pd_notify_jstr(event, "probe", "");
	const char *v;
	char header[SL_HEADER_MAX + 1], fallback[SL_TEXT_MAX + 1], sevtext[64];
	struct pd_buf h, ctx, runbook;
	cJSON *o = cJSON_CreateObject(), *blocks, *sect, *fields, *elems;
	char *s = NULL;
	int rc = 0;

	(void)t;
	pd_buf_init(&h, 0);
	pd_buf_init(&ctx, 0);
	pd_buf_init(&runbook, 0);
	if (o == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	snprintf(sevtext, sizeof(sevtext), "P%d %s", sev, sl_words[sev - 1]);

	/* header and the notification fallback */
	if (resolve)
		pd_buf_printf(&h, "%s:white_check_mark: RESOLVED: %s", drill ? "DRILL " : "",
			      probe[0] ? probe : summary);
	else
		pd_buf_printf(&h, "%s%s P%d %s: %s", drill ? ":construction: DRILL " : "",
			      sl_emoji[sev - 1], sev, sl_words[sev - 1],
			      probe[0] ? probe : summary);
	pd_notify_truncate(header, sizeof(header), h.data ? h.data : "probed", SL_HEADER_MAX, 1);
	pd_buf_reset(&h);
	if (drill && strstr(summary, "DRILL") == NULL)
		pd_buf_printf(&h, "[DRILL] ");
	if (resolve)
		pd_buf_printf(&h, ":white_check_mark: RESOLVED: ");
	else if (pd_notify_summary_tagged(summary))
		pd_buf_printf(&h, "%s ", sl_emoji[sev - 1]);
	else
		pd_buf_printf(&h, "%s [P%d] ", sl_emoji[sev - 1], sev);
	if (sl_escape(&h, summary, SL_TEXT_MAX) != 0 || h.data == NULL) {
		rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		goto out;
	}
	pd_notify_truncate(fallback, sizeof(fallback), h.data, SL_TEXT_MAX, 1);
	cJSON_AddStringToObject(o, "text", fallback);

	blocks = cJSON_AddArrayToObject(o, "blocks");
	sl_block(blocks, "header", sl_text("plain_text", header));
	if ((rc = sl_section(blocks, NULL, summary, "*", "*")) != 0)
		goto nomem;
	if (!resolve && (v = pd_notify_jstr(event, "reason", NULL)) && v[0] &&
	    (rc = sl_section(blocks, "Reason", v, NULL, NULL)) != 0)
		goto nomem;

	sect = cJSON_CreateObject();
	fields = cJSON_CreateArray();
	if (sect == NULL || fields == NULL) {
		cJSON_Delete(sect);
		cJSON_Delete(fields);
		goto nomem;
	}
	cJSON_AddStringToObject(sect, "type", "section");
	sl_field(fields, "Severity", sevtext);
	sl_field(fields, "Likely mode",
		 pd_notify_jstr(event, "mode_title", pd_notify_jstr(event, "mode", NULL)));
	sl_field(fields, "Probe", probe);
	sl_field(fields, "Family", pd_notify_jstr(event, "family", NULL));
	sl_field(fields, "Class", pd_notify_jstr(event, "outcome", NULL));
	sl_field(fields, resolve ? "Down since" : "Since (UTC)",
		 pd_notify_jstr(event, "down_since", pd_notify_jstr(event, "ts", NULL)));
	sl_field(fields, "Location", pd_notify_jstr(event, "location", NULL));
	if (cJSON_GetArraySize(fields) > 0) {
		cJSON_AddItemToObject(sect, "fields", fields);
		cJSON_AddItemToArray(blocks, sect);
	} else {
		cJSON_Delete(fields);
		cJSON_Delete(sect);
	}

	if ((v = pd_notify_jstr(event, "runbook", NULL)) != NULL && v[0]) {
		/* a URL becomes a link; a repository path is shown as code */
		if (strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) == 0) {
			pd_buf_printf(&runbook, "*Runbook:* <");
			sl_escape(&runbook, v, 1000);
			pd_buf_printf(&runbook, "|open the runbook>");
		} else {
			pd_buf_printf(&runbook, "*Runbook:* `");
			sl_escape(&runbook, v, 1000);
			pd_buf_printf(&runbook, "`");
		}
		if (runbook.data == NULL)
			goto nomem;
		sl_block(blocks, "section", sl_text("mrkdwn", runbook.data));
	}
	if ((v = pd_notify_jstr(event, "evidence", NULL)) != NULL && v[0] &&
	    (rc = sl_section(blocks, "Evidence", v, NULL, NULL)) != 0)
		goto nomem;
	if ((v = pd_notify_jstr(event, "status_message", NULL)) != NULL && v[0] &&
	    (rc = sl_section(blocks, "Status-page draft", v, "```", "```")) != 0)
		goto nomem;

	/* context: the dedup key (for searching the pager's log) and the drill marker */
	pd_buf_printf(&ctx, "%sprobed · dedup_key `", drill ? "*THIS IS A DRILL* · " : "");
	sl_escape(&ctx, pd_notify_jstr(event, "dedup_key", ""), 300);
	pd_buf_printf(&ctx, "`");
	if (ctx.data == NULL)
		goto nomem;
	sect = cJSON_CreateObject();
	elems = cJSON_CreateArray();
	if (sect == NULL || elems == NULL) {
		cJSON_Delete(sect);
		cJSON_Delete(elems);
		goto nomem;
	}
	cJSON_AddStringToObject(sect, "type", "context");
	cJSON_AddItemToArray(elems, sl_text("mrkdwn", ctx.data));
	cJSON_AddItemToObject(sect, "elements", elems);
	cJSON_AddItemToArray(blocks, sect);

	s = cJSON_PrintUnformatted(o);
	if (s == NULL)
		goto nomem;
	if (pd_buf_append(body, s, strlen(s)) != 0)
		rc = pd_err_set(err, PD_ERR_INVALID, "slack body too large");
	goto out;
nomem:
	rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
out:
	if (s)
		cJSON_free(s);
	cJSON_Delete(o);
	pd_buf_cleanup(&h);
	pd_buf_cleanup(&ctx);
	pd_buf_cleanup(&runbook);
	return rc;
}

const struct pd_notify_ops pd_notify_slack_ops = {
	.type = PD_NOTIFY_SLACK,
	.name = "slack",
	.render = slack_render,
	.default_role = PD_NOTIFY_ROLE_CHAT,
	/* an incoming-webhook URL is a credential even when written in the clear */
	.flags = PD_NOTIFY_F_URL_REQUIRED | PD_NOTIFY_F_URL_SECRET,
};
