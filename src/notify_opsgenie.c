/* notify_opsgenie.c — Opsgenie Alert API v2.
 *
 *   trigger: POST {url}/v2/alerts                      create, alias = dedup_key
 *   update:  PUT  {url}/v2/alerts/{alias}/priority?identifierType=alias   then
 *            PUT  .../message, PUT .../description     (a trigger with "update": true:
 *            an escalation of an alert this target has; a second create with the same
 *            alias would only raise its count, leaving priority and text as first sent)
 *   resolve: POST {url}/v2/alerts/{alias}/close?identifierType=alias
 *
 * The alias is pd_notify_alias(dedup_key): path-safe, so it goes into the URL as is,
 * byte for byte the alias of the create (no %2F for the "/" of a location). Opsgenie
 * answers 202 and processes later: the answer's requestId is the receipt (logged).
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

static int
og_is_update(const cJSON *event)
{
	return !og_is_resolve(event) &&
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(event, "update"));
}

static void
og_alias(const cJSON *event, char *out, size_t cap)
{
	pd_notify_alias(pd_notify_jstr(event, "dedup_key", ""), out, cap);
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

/* The alert's message (at most OG_MESSAGE_MAX bytes) and priority "Pn". */
static int
og_message(const cJSON *event, char *msg, size_t cap, char prio[4])
{
	int drill = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(event, "drill"));
	const char *summary = pd_notify_jstr(event, "summary", "probed alert");
	struct pd_buf text;

	pd_buf_init(&text, 0);
	snprintf(prio, 4, "P%d", pd_notify_event_severity(event));
	if (drill && strstr(summary, "DRILL") == NULL)
		pd_buf_printf(&text, "[DRILL] ");
	if (!pd_notify_summary_tagged(summary))
		pd_buf_printf(&text, "[%s] ", prio);
	pd_buf_printf(&text, "%s", summary);
	if (text.data == NULL)
		return -1;
	pd_notify_truncate(msg, cap, text.data, OG_MESSAGE_MAX, 1);
	pd_buf_cleanup(&text);
	return 0;
}

/* The description (everything a responder needs on the phone screen), cut to
 * OG_DESCRIPTION_MAX bytes: a malloc'd string, NULL when out of memory. */
static char *
og_description(const cJSON *event)
{
	const char *summary = pd_notify_jstr(event, "summary", "probed alert");
	const char *v;
	struct pd_buf desc;
	char *out;

	pd_buf_init(&desc, 0);
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
	if (desc.data == NULL)
		return NULL;
	out = malloc(OG_DESCRIPTION_MAX + 1);
	if (out != NULL)
		pd_notify_truncate(out, OG_DESCRIPTION_MAX + 1, desc.data, OG_DESCRIPTION_MAX, 1);
	pd_buf_cleanup(&desc);
	return out;
}

static int
og_render_create(const cJSON *event, cJSON *o, struct pd_err *err)
{
	int drill = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(event, "drill"));
	char alias[OG_ALIAS_MAX + 1], msg[OG_MESSAGE_MAX + 1], src[OG_SOURCE_MAX + 1];
	char prio[4], num[32];
	char *desc;
	cJSON *tags, *details;

	if (og_message(event, msg, sizeof(msg), prio) != 0 ||
	    (desc = og_description(event)) == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	og_alias(event, alias, sizeof(alias));
	og_source(event, src, sizeof(src));
	cJSON_AddStringToObject(o, "message", msg);
	cJSON_AddStringToObject(o, "alias", alias);
	cJSON_AddStringToObject(o, "description", desc);
	free(desc);
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
	return 0;
}

/* body += o as JSON; o is freed. */
static int
og_print(cJSON *o, struct pd_buf *body, struct pd_err *err)
{
	char *s = cJSON_PrintUnformatted(o);
	int rc = 0;

	if (s == NULL)
		rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	else if (pd_buf_append(body, s, strlen(s)) != 0)
		rc = pd_err_set(err, PD_ERR_INVALID, "opsgenie body too large");
	if (s)
		cJSON_free(s);
	cJSON_Delete(o);
	return rc;
}

static int
opsgenie_render(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
		struct pd_err *err)
{
	cJSON *o = cJSON_CreateObject();
	char src[OG_SOURCE_MAX + 1], note[OG_DETAIL_MAX + 1];
	int rc = 0;

	(void)t;
	if (o == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	if (og_is_resolve(event)) {
		og_source(event, src, sizeof(src));
		pd_notify_truncate(note, sizeof(note),
				   pd_notify_jstr(event, "summary", "recovered"), OG_DETAIL_MAX, 1);
		cJSON_AddStringToObject(o, "source", src);
		cJSON_AddStringToObject(o, "user", "probed");
		cJSON_AddStringToObject(o, "note", note);
	} else if ((rc = og_render_create(event, o, err)) != 0) {
		cJSON_Delete(o);
		return rc;
	}
	return og_print(o, body, err);
}

/* url += {url}/v2/alerts[/{alias}/{action}?identifierType=alias] */
static int
og_url(const struct pd_notify_cfg *t, const cJSON *event, const char *action, struct pd_buf *url,
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
	if (rc == 0 && action != NULL) {
		og_alias(event, alias, sizeof(alias)); /* path-safe: no escaping */
		rc = pd_buf_printf(url, "/%s/%s?identifierType=alias", alias, action);
	}
	return rc ? pd_err_set(err, rc, "opsgenie URL too long") : 0;
}

static int
opsgenie_url(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *url,
	     struct pd_err *err)
{
	return og_url(t, event, og_is_resolve(event) ? "close" : NULL, url, err);
}

enum { OG_UPD_PRIORITY, OG_UPD_MESSAGE, OG_UPD_DESCRIPTION, OG_UPD_N };

static int
opsgenie_requests(const struct pd_notify_cfg *t, const cJSON *event)
{
	(void)t;
	return og_is_update(event) ? OG_UPD_N : 1;
}

/* An update by alias, one field per request (Opsgenie has no "update alert" call):
 * PUT .../priority {"priority"}, PUT .../message {"message"}, PUT .../description
 * {"description"}. The text is the create's, rendered from the escalated event. */
static int
opsgenie_request_step(const struct pd_notify_cfg *t, const cJSON *event, int k, const char **method,
		      struct pd_buf *body, struct pd_buf *url, struct pd_err *err)
{
	static const char *const action[OG_UPD_N] = {"priority", "message", "description"};
	char msg[OG_MESSAGE_MAX + 1], prio[4];
	cJSON *o;
	char *desc;
	int rc;

	if (!og_is_update(event) || k < 0 || k >= OG_UPD_N)
		return pd_err_set(err, PD_ERR_INVALID, "opsgenie: no request %d for this event", k);
	if ((o = cJSON_CreateObject()) == NULL || og_message(event, msg, sizeof(msg), prio) != 0) {
		cJSON_Delete(o);
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	}
	switch (k) {
	case OG_UPD_PRIORITY:
		cJSON_AddStringToObject(o, "priority", prio);
		break;
	case OG_UPD_MESSAGE:
		cJSON_AddStringToObject(o, "message", msg);
		break;
	default:
		if ((desc = og_description(event)) == NULL) {
			cJSON_Delete(o);
			return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		}
		cJSON_AddStringToObject(o, "description", desc);
		free(desc);
		break;
	}
	*method = "PUT";
	if ((rc = og_print(o, body, err)) != 0)
		return rc;
	return og_url(t, event, action[k], url, err);
}

/* {"result":"Request will be processed","took":0.1,"requestId":"..."} */
static int
opsgenie_receipt(const struct pd_notify_cfg *t, const struct pd_response *resp, char *out,
		 size_t cap)
{
	cJSON *o;
	const char *id;
	size_t n = 0;

	(void)t;
	if (cap == 0 || resp->body.data == NULL || resp->body.len == 0)
		return 0;
	o = cJSON_ParseWithLength(resp->body.data, resp->body.len);
	id = pd_notify_jstr(o, "requestId", NULL);
	for (; id != NULL && *id && n + 1 < cap; id++) {
		unsigned char ch = (unsigned char)*id;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_')
			out[n++] = (char)ch;
	}
	out[n] = '\0';
	cJSON_Delete(o);
	return n > 0;
}

static const char *
opsgenie_auth(const struct pd_notify_cfg *t, char *val, size_t cap)
{
	snprintf(val, cap, "GenieKey %s", t->api_key ? t->api_key : "");
	return "Authorization";
}

/* api_key, required; a secret (the GenieKey header). */
static const char *const opsgenie_keys[] = {"api_key", NULL};

static int
opsgenie_configure(struct pd_notify_conf *nc, struct pd_notify_cfg *t)
{
	if (!pd_config_notify_has(nc, "api_key")) {
		pd_config_notify_error(nc, NULL, "opsgenie is missing required key 'api_key'");
		return -1;
	}
	t->api_key = pd_config_notify_secret(nc, "api_key");
	return t->api_key != NULL ? 0 : -1;
}

const struct pd_notify_ops pd_notify_opsgenie_ops = {
	.type = PD_NOTIFY_OPSGENIE,
	.name = "opsgenie",
	.keys = opsgenie_keys,
	.configure = opsgenie_configure,
	.default_url = "https://api.opsgenie.com",
	.default_role = PD_NOTIFY_ROLE_PAGE,
	.render = opsgenie_render,
	.request_url = opsgenie_url,
	.auth_header = opsgenie_auth,
	.requests = opsgenie_requests,
	.request_step = opsgenie_request_step,
	.receipt = opsgenie_receipt,
};
