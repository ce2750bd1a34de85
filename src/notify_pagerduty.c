/* notify_pagerduty.c — PagerDuty Events API v2 (trigger / resolve by dedup_key).
 * The routing key is added here, from the live config, never stored in the outbox.
 * payload.severity from the event's severity: P1 critical, P2 error, P3 warning,
 * P4 info (no severity: critical — an untriaged page is treated as a P1). */
#include <stdio.h>
#include <string.h>
#include "probed/notify.h"

#define PD_SUMMARY_MAX 1024 /* PagerDuty's cap, in characters; we cut at 1024 bytes */

static const char *const pd_severity[] = {"critical", "error", "warning", "info"};

static int
pagerduty_render(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
		 struct pd_err *err)
{
	const char *action = pd_notify_jstr(event, "event", "trigger");
	const char *runbook = pd_notify_jstr(event, "runbook", NULL);
	cJSON *o = cJSON_CreateObject();
	cJSON *payload, *details, *links, *l;
	char *s = NULL;
	char summary[PD_SUMMARY_MAX + 1], drill[PD_SUMMARY_MAX + 1];
	int rc = 0;

	if (o == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	cJSON_AddStringToObject(o, "routing_key", t->routing_key ? t->routing_key : "");
	cJSON_AddStringToObject(o, "event_action",
				strcmp(action, "resolve") == 0 ? "resolve" : "trigger");
	cJSON_AddStringToObject(o, "dedup_key", pd_notify_jstr(event, "dedup_key", ""));
	if (strcmp(action, "resolve") != 0) {
		const char *text = pd_notify_jstr(event, "summary", "");

		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(event, "drill")) &&
		    strstr(text, "DRILL") == NULL) {
			snprintf(drill, sizeof(drill), "[DRILL] %s", text);
			text = drill;
		}
		pd_notify_truncate(summary, sizeof(summary), text, PD_SUMMARY_MAX, 0);
		payload = cJSON_AddObjectToObject(o, "payload");
		cJSON_AddStringToObject(payload, "summary", summary[0] ? summary : "probed alert");
		cJSON_AddStringToObject(payload, "source",
					pd_notify_jstr(event, "location", "probed"));
		cJSON_AddStringToObject(payload, "severity",
					pd_severity[pd_notify_event_severity(event) - 1]);
		cJSON_AddStringToObject(payload, "timestamp", pd_notify_jstr(event, "ts", ""));
		cJSON_AddStringToObject(payload, "component", pd_notify_jstr(event, "probe", ""));
		cJSON_AddStringToObject(payload, "group", pd_notify_jstr(event, "family", ""));
		cJSON_AddStringToObject(payload, "class", pd_notify_jstr(event, "outcome", ""));
		details = cJSON_Duplicate(event, 1);
		if (details)
			cJSON_AddItemToObject(payload, "custom_details", details);
		if (runbook &&
		    (strncmp(runbook, "https://", 8) == 0 || strncmp(runbook, "http://", 7) == 0)) {
			links = cJSON_AddArrayToObject(o, "links");
			l = cJSON_CreateObject();
			if (links && l) {
				cJSON_AddStringToObject(l, "href", runbook);
				cJSON_AddStringToObject(l, "text", "Runbook");
				cJSON_AddItemToArray(links, l);
			} else {
				cJSON_Delete(l);
			}
		}
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

/* routing_key, required (usually ${file:...}); a secret. */
static const char *const pagerduty_keys[] = {"routing_key", NULL};

static int
pagerduty_configure(struct pd_notify_conf *nc, struct pd_notify_cfg *t)
{
	if (!pd_config_notify_has(nc, "routing_key")) {
		pd_config_notify_error(nc, NULL, "pagerduty is missing required key 'routing_key'");
		return -1;
	}
	t->routing_key = pd_config_notify_secret(nc, "routing_key");
	return t->routing_key != NULL ? 0 : -1;
}

const struct pd_notify_ops pd_notify_pagerduty_ops = {
	.type = PD_NOTIFY_PAGERDUTY,
	.name = "pagerduty",
	.render = pagerduty_render,
	.keys = pagerduty_keys,
	.configure = pagerduty_configure,
	.default_url = "https://events.pagerduty.com/v2/enqueue",
	.default_role = PD_NOTIFY_ROLE_PAGE,
};
