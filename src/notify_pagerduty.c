/* notify_pagerduty.c — PagerDuty Events API v2 (trigger / resolve by dedup_key).
 * The routing key is added here, from the live config, never stored in the outbox. */
#include <stdio.h>
#include <string.h>
#include "probed/notify.h"

static const char *
jstr(const cJSON *o, const char *k, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static int
pagerduty_render(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
		 struct pd_err *err)
{
	const char *action = jstr(event, "event", "trigger");
	cJSON *o = cJSON_CreateObject();
	cJSON *payload, *details;
	char *s = NULL;
	char summary[1024];
	int rc = 0;

	if (o == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	cJSON_AddStringToObject(o, "routing_key", t->routing_key ? t->routing_key : "");
	cJSON_AddStringToObject(o, "event_action", strcmp(action, "resolve") == 0 ? "resolve" : "trigger");
	cJSON_AddStringToObject(o, "dedup_key", jstr(event, "dedup_key", ""));
	if (strcmp(action, "resolve") != 0) {
		/* PagerDuty caps summary at 1024 characters */
		snprintf(summary, sizeof(summary), "%s", jstr(event, "summary", ""));
		payload = cJSON_AddObjectToObject(o, "payload");
		cJSON_AddStringToObject(payload, "summary", summary);
		cJSON_AddStringToObject(payload, "source",
					jstr(event, "location", "probed"));
		cJSON_AddStringToObject(payload, "severity", jstr(event, "pd_severity", "critical"));
		cJSON_AddStringToObject(payload, "timestamp", jstr(event, "ts", ""));
		cJSON_AddStringToObject(payload, "component", jstr(event, "probe", ""));
		cJSON_AddStringToObject(payload, "group", jstr(event, "family", ""));
		cJSON_AddStringToObject(payload, "class", jstr(event, "outcome", ""));
		details = cJSON_Duplicate(event, 1);
		if (details)
			cJSON_AddItemToObject(payload, "custom_details", details);
	}
	cJSON_AddStringToObject(o, "client", "probed");
	s = cJSON_PrintUnformatted(o);
	if (s == NULL)
		rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	else if (pd_buf_append(body, s, strlen(s)) != 0)
		rc = pd_err_set(err, PD_ERR_INVALID, "pagerduty body too large");
	if (s)
		cJSON_free(s);
	cJSON_Delete(o);
	return rc;
}

const struct pd_notify_ops pd_notify_pagerduty_ops = {
	.type = PD_NOTIFY_PAGERDUTY,
	.name = "pagerduty",
	.render = pagerduty_render,
};
