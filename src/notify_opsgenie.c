/* notify_opsgenie.c — Opsgenie Alert API v2.
 *
 *   trigger: POST {url}/v2/alerts                      create, alias = dedup_key
 *   resolve: POST {url}/v2/alerts/{alias}/close?identifierType=alias
 *
 * Authorization: GenieKey <api_key>, from the live config (never stored). Priority
 * P1..P4 is the event's severity (none: P1). Opsgenie answers 202 to both and
 * deduplicates creates by alias, so an at-least-once re-send is harmless. Field caps
 * (message 130, alias 512, description 15000, source 100, 20 tags of 50) are applied
 * here, on UTF-8 character boundaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/notify.h"

#define OG_MESSAGE_MAX 130
#define OG_ALIAS_MAX 512
#define OG_DESCRIPTION_MAX 15000
#define OG_SOURCE_MAX 100
#define OG_TAG_MAX 50
#define OG_TAGS_MAX 20
#define OG_DETAIL_MAX 1000 /* per value; Opsgenie caps the whole map at 8000 chars */

static int
og_is_resolve(const cJSON *event)
{
	return strcmp(pd_notify_jstr(event, "event", "trigger"), "resolve") == 0;
}

static void
og_alias(const cJSON *event, char *out, size_t cap)
{
	pd_notify_truncate(out, cap, pd_notify_jstr(event, "dedup_key", ""), OG_ALIAS_MAX, 0);
}

static void
og_tag(cJSON *tags, const char *v)
{
	char tag[OG_TAG_MAX + 1];

	if (v == NULL || v[0] == '\0' || cJSON_GetArraySize(tags) >= OG_TAGS_MAX)
		return;
	pd_notify_truncate(tag, sizeof(tag), v, OG_TAG_MAX, 0);
	cJSON_AddItemToArray(tags, cJSON_CreateString(tag));
}

static void
og_detail(cJSON *details, const char *k, const char *v)
{
	char val[OG_DETAIL_MAX + 1];

	if (v == NULL || v[0] == '\0')
		return;
	pd_notify_truncate(val, sizeof(val), v, OG_DETAIL_MAX, 1);
	cJSON_AddStringToObject(details, k, val);
}

static void
og_source(const cJSON *event, char *out, size_t cap)
{
	const char *loc = pd_notify_jstr(event, "location", NULL);
	char src[256];

	snprintf(src, sizeof(src), "probed%s%s", loc ? "@" : "", loc ? loc : "");
	pd_notify_truncate(out, cap, src, OG_SOURCE_MAX, 0);
}

static int
og_render_create(const cJSON *event, cJSON *o, struct pd_err *err)
{
	int sev = pd_notify_event_severity(event);
	int drill = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(event, "drill"));
	const char *summary = pd_notify_jstr(event, "summary", "probed alert");
	const char *v;
	char alias[OG_ALIAS_MAX + 1], msg[OG_MESSAGE_MAX + 1], src[OG_SOURCE_MAX + 1];
	char prio[4], num[32];
	struct pd_buf text, desc;
	cJSON *tags, *details;
	int rc = 0;

	pd_buf_init(&text, 0);
	pd_buf_init(&desc, 0);
	snprintf(prio, sizeof(prio), "P%d", sev);
	if (drill && strstr(summary, "DRILL") == NULL)
		pd_buf_printf(&text, "[DRILL] ");
	if (!pd_notify_summary_tagged(summary))
		pd_buf_printf(&text, "[%s] ", prio);
	pd_buf_printf(&text, "%s", summary);
	pd_notify_truncate(msg, sizeof(msg), text.data ? text.data : summary, OG_MESSAGE_MAX, 1);
	og_alias(event, alias, sizeof(alias));
	og_source(event, src, sizeof(src));

	/* description: everything a responder needs on the phone screen */
	pd_buf_printf(&desc, "%s\n", summary);
	if ((v = pd_notify_jstr(event, "reason", NULL)) && v[0])
		pd_buf_printf(&desc, "\nReason: %s", v);
	if ((v = pd_notify_jstr(event, "mode_title", pd_notify_jstr(event, "mode", NULL))))
		pd_buf_printf(&desc, "\nLikely mode: %s", v);
	if ((v = pd_notify_jstr(event, "evidence", NULL)) && v[0])
		pd_buf_printf(&desc, "\nEvidence: %s", v);
	if ((v = pd_notify_jstr(event, "runbook", NULL)))
		pd_buf_printf(&desc, "\nRunbook: %s", v);
	if ((v = pd_notify_jstr(event, "status_message", NULL)) && v[0])
		pd_buf_printf(&desc, "\n\nStatus-page draft:\n%s", v);
	if (desc.data == NULL || text.data == NULL) {
		rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (desc.len > OG_DESCRIPTION_MAX) {
		char *cut = malloc(OG_DESCRIPTION_MAX + 1);

		if (cut == NULL) {
			rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
			goto out;
		}
		pd_notify_truncate(cut, OG_DESCRIPTION_MAX + 1, desc.data, OG_DESCRIPTION_MAX, 1);
		cJSON_AddStringToObject(o, "description", cut);
		free(cut);
	}

	cJSON_AddStringToObject(o, "message", msg);
	cJSON_AddStringToObject(o, "alias", alias);
	if (desc.len <= OG_DESCRIPTION_MAX)
		cJSON_AddStringToObject(o, "description", desc.data);
	tags = cJSON_AddArrayToObject(o, "tags");
	og_tag(tags, "probed");
	og_tag(tags, prio);
	if (drill)
		og_tag(tags, "drill");
	og_tag(tags, pd_notify_jstr(event, "family", NULL));
	og_tag(tags, pd_notify_jstr(event, "mode", NULL));
	og_tag(tags, pd_notify_jstr(event, "outcome", NULL));
	og_tag(tags, pd_notify_jstr(event, "location", NULL));
	details = cJSON_AddObjectToObject(o, "details");
	og_detail(details, "event_id", pd_notify_jstr(event, "event_id", NULL));
	og_detail(details, "probe", pd_notify_jstr(event, "probe", NULL));
	og_detail(details, "family", pd_notify_jstr(event, "family", NULL));
	og_detail(details, "severity", prio);
	og_detail(details, "mode", pd_notify_jstr(event, "mode", NULL));
	og_detail(details, "runbook", pd_notify_jstr(event, "runbook", NULL));
	og_detail(details, "outcome", pd_notify_jstr(event, "outcome", NULL));
	og_detail(details, "location", pd_notify_jstr(event, "location", NULL));
	og_detail(details, "down_since", pd_notify_jstr(event, "down_since", NULL));
	og_detail(details, "dedup_key", pd_notify_jstr(event, "dedup_key", NULL));
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(event, "incident_id"))) {
		snprintf(num, sizeof(num), "%.0f",
			 cJSON_GetObjectItemCaseSensitive(event, "incident_id")->valuedouble);
		og_detail(details, "incident_id", num);
	}
	if (drill)
		og_detail(details, "drill", "true");
	cJSON_AddStringToObject(o, "entity", pd_notify_jstr(event, "probe", "probed"));
	cJSON_AddStringToObject(o, "source", src);
	cJSON_AddStringToObject(o, "priority", prio);
out:
	pd_buf_cleanup(&text);
	pd_buf_cleanup(&desc);
	return rc;
}

static int
opsgenie_render(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
		struct pd_err *err)
{
	cJSON *o = cJSON_CreateObject();
	char src[OG_SOURCE_MAX + 1], note[OG_DETAIL_MAX + 1];
	char *s = NULL;
	int rc = 0;

	(void)t;
	if (o == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	if (og_is_resolve(event)) {
		og_source(event, src, sizeof(src));
		pd_notify_truncate(note, sizeof(note), pd_notify_jstr(event, "summary", "recovered"),
				   OG_DETAIL_MAX, 1);
		cJSON_AddStringToObject(o, "source", src);
		cJSON_AddStringToObject(o, "user", "probed");
		cJSON_AddStringToObject(o, "note", note);
	} else if ((rc = og_render_create(event, o, err)) != 0) {
		goto out;
	}
	s = cJSON_PrintUnformatted(o);
	if (s == NULL)
		rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	else if (pd_buf_append(body, s, strlen(s)) != 0)
		rc = pd_err_set(err, PD_ERR_INVALID, "opsgenie body too large");
out:
	if (s)
		cJSON_free(s);
	cJSON_Delete(o);
	return rc;
}

/* RFC 3986 path segment: unreserved characters as is, everything else %XX. */
static int
og_escape(struct pd_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (; *s && rc == 0; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			rc = pd_buf_append(b, s, 1);
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };

			rc = pd_buf_append(b, e, 3);
		}
	}
	return rc;
}

static int
opsgenie_url(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *url,
	     struct pd_err *err)
{
	const char *base = t->url ? t->url : "";
	size_t blen = strlen(base);
	char alias[OG_ALIAS_MAX + 1];
	int rc;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	rc = pd_buf_append(url, base, blen);
	if (rc == 0)
		rc = pd_buf_append(url, "/v2/alerts", 10);
	if (rc == 0 && og_is_resolve(event)) {
		og_alias(event, alias, sizeof(alias));
		rc = pd_buf_append(url, "/", 1);
		if (rc == 0)
			rc = og_escape(url, alias);
		if (rc == 0)
			rc = pd_buf_printf(url, "/close?identifierType=alias");
	}
	return rc ? pd_err_set(err, rc, "opsgenie URL too long") : 0;
}

static const char *
opsgenie_auth(const struct pd_notify_cfg *t, char *val, size_t cap)
{
	snprintf(val, cap, "GenieKey %s", t->api_key ? t->api_key : "");
	return "Authorization";
}

const struct pd_notify_ops pd_notify_opsgenie_ops = {
	.type = PD_NOTIFY_OPSGENIE,
	.name = "opsgenie",
	.render = opsgenie_render,
	.request_url = opsgenie_url,
	.auth_header = opsgenie_auth,
};
