/* notify.c — target table, the neutral event, and the receiver-answer classifier. */
#include <stdlib.h>
#include "probed/clock.h"
#include "probed/notify.h"

extern const struct pd_notify_ops pd_notify_webhook_ops;
extern const struct pd_notify_ops pd_notify_pagerduty_ops;

static const struct pd_notify_ops *const notify_targets[] = {
	&pd_notify_webhook_ops,
	&pd_notify_pagerduty_ops,
};

const struct pd_notify_ops *
pd_notify_ops_for(enum pd_notify_type type)
{
	for (size_t i = 0; i < sizeof(notify_targets) / sizeof(notify_targets[0]); i++)
		if (notify_targets[i]->type == type)
			return notify_targets[i];
	return NULL;
}

char *
pd_notify_event_json(const struct pd_notify_event *ev)
{
	char ts[40];
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;

	if (o == NULL)
		return NULL;
	pd_clock_rfc3339(ev->ts_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(o, "event", ev->event);
	cJSON_AddStringToObject(o, "dedup_key", ev->dedup_key);
	cJSON_AddStringToObject(o, "probe", ev->probe);
	cJSON_AddStringToObject(o, "family", ev->family);
	if (ev->tier)
		cJSON_AddStringToObject(o, "tier", ev->tier);
	cJSON_AddStringToObject(o, "summary", ev->summary);
	cJSON_AddStringToObject(o, "reason", ev->reason);
	if (ev->outcome)
		cJSON_AddStringToObject(o, "outcome", ev->outcome);
	cJSON_AddStringToObject(o, "ts", ts);
	cJSON_AddNumberToObject(o, "consecutive_failures", ev->consecutive_failures);
	if (ev->down_since_ms > 0) {
		pd_clock_rfc3339(ev->down_since_ms, ts, sizeof(ts));
		cJSON_AddStringToObject(o, "down_since", ts);
	}
	if (ev->location)
		cJSON_AddStringToObject(o, "location", ev->location);
	if (ev->severity)
		cJSON_AddStringToObject(o, "severity", ev->severity);
	if (ev->mode)
		cJSON_AddStringToObject(o, "mode", ev->mode);
	if (ev->mode_title)
		cJSON_AddStringToObject(o, "mode_title", ev->mode_title);
	if (ev->runbook)
		cJSON_AddStringToObject(o, "runbook", ev->runbook);
	if (ev->incident_id > 0)
		cJSON_AddNumberToObject(o, "incident_id", (double)ev->incident_id);
	if (ev->probes_json) {
		cJSON *arr = cJSON_Parse(ev->probes_json);

		if (arr)
			cJSON_AddItemToObject(o, "probes", arr);
	}
	if (ev->evidence)
		cJSON_AddStringToObject(o, "evidence", ev->evidence);
	if (ev->status_message)
		cJSON_AddStringToObject(o, "status_message", ev->status_message);
	if (ev->drill)
		cJSON_AddBoolToObject(o, "drill", 1);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

int
pd_notify_routes(const struct pd_notify_cfg *t, int severity)
{
	/* defaults by target type until per-target `severities:` exist:
	 * pagers take P1/P2; everything else takes P1-P3; P4 only reaches webhooks */
	if (severity < 1 || severity > 4)
		return 0;
	if (t->type == PD_NOTIFY_PAGERDUTY)
		return severity <= 2;
	return severity <= 3 || t->type == PD_NOTIFY_WEBHOOK;
}

enum pd_notify_verdict
pd_notify_classify(const struct pd_response *resp)
{
	if (resp->curl_code != 0)
		return PD_NOTIFY_RETRY;
	if (resp->http_status >= 200 && resp->http_status <= 299)
		return PD_NOTIFY_DELIVERED;
	if (resp->http_status == 429 || resp->http_status == 408 || resp->http_status >= 500)
		return PD_NOTIFY_RETRY;
	if (resp->http_status >= 400)
		return PD_NOTIFY_PERMANENT;
	/* 1xx/3xx: a misconfigured URL, but possibly a transient proxy; retry */
	return PD_NOTIFY_RETRY;
}
