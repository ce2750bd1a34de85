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
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
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
