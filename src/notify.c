/* notify.c — target table, the neutral event, and the receiver-answer classifier. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/classify.h"
#include "probed/clock.h"
#include "probed/hash.h"
#include "probed/buf.h"
#include "probed/notify.h"

extern const struct pd_notify_ops pd_notify_webhook_ops;
extern const struct pd_notify_ops pd_notify_pagerduty_ops;
extern const struct pd_notify_ops pd_notify_opsgenie_ops;
extern const struct pd_notify_ops pd_notify_slack_ops;
extern const struct pd_notify_ops pd_notify_alertmanager_ops;
extern const struct pd_notify_ops pd_notify_exec_ops;
extern const struct pd_notify_ops pd_notify_email_ops;

static const struct pd_notify_ops *const notify_targets[] = {
	&pd_notify_webhook_ops, &pd_notify_pagerduty_ops,    &pd_notify_opsgenie_ops,
	&pd_notify_slack_ops,   &pd_notify_alertmanager_ops, &pd_notify_exec_ops,
	&pd_notify_email_ops,
};

#define NOTIFY_NTYPES (sizeof(notify_targets) / sizeof(notify_targets[0]))

size_t
pd_notify_ntypes(void)
{
	return NOTIFY_NTYPES;
}

const struct pd_notify_ops *
pd_notify_ops_at(size_t i)
{
	return i < NOTIFY_NTYPES ? notify_targets[i] : NULL;
}

/* The type's number is its index in the table. */
const struct pd_notify_ops *
pd_notify_ops_for(enum pd_notify_type type)
{
	return (int)type >= 0 ? pd_notify_ops_at((size_t)type) : NULL;
}

int
pd_notify_type_find(const char *name)
{
	for (size_t i = 0; i < NOTIFY_NTYPES; i++)
		if (strcmp(notify_targets[i]->name, name) == 0)
			return (int)i;
	return -1;
}

const char *const *
pd_notify_type_names(void)
{
	static const char *names[NOTIFY_NTYPES + 1];

	for (size_t i = 0; i < NOTIFY_NTYPES; i++)
		names[i] = notify_targets[i]->name;
	names[NOTIFY_NTYPES] = NULL;
	return names;
}

const char *
pd_notify_type_list(void)
{
	static char list[512];
	size_t o = 0;

	if (list[0] != '\0')
		return list;
	for (size_t i = 0; i < NOTIFY_NTYPES && o < sizeof(list); i++) {
		int n = snprintf(list + o, sizeof(list) - o, "%s%s",
				 i == 0                   ? ""
				 : i + 1 == NOTIFY_NTYPES ? " or "
							  : ", ",
				 notify_targets[i]->name);

		if (n < 0)
			break;
		o += (size_t)n;
	}
	return list;
}

int
pd_notify_render_event(const cJSON *event, struct pd_buf *body, const char *what,
		       struct pd_err *err)
{
	char *s = cJSON_PrintUnformatted(event);
	int rc;

	if (s == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	rc = pd_buf_append(body, s, strlen(s));
	cJSON_free(s);
	return rc ? pd_err_set(err, rc, "%s too large", what) : 0;
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
	if (ev->probe_count > 0)
		cJSON_AddNumberToObject(o, "probe_count", (double)ev->probe_count);
	if (ev->evidence)
		cJSON_AddStringToObject(o, "evidence", ev->evidence);
	if (ev->status_message)
		cJSON_AddStringToObject(o, "status_message", ev->status_message);
	if (ev->drill)
		cJSON_AddBoolToObject(o, "drill", 1);
	if (ev->update)
		cJSON_AddBoolToObject(o, "update", 1);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* fields cut by fixed-size buffers (verdict, reason, summary) can end mid-character:
	 * a receiver may refuse invalid UTF-8 with a 400, which would dead-letter the page */
	if (s != NULL)
		pd_buf_utf8_scrub(s);
	return s;
}

/* Severity masks (bit n-1 = Pn) of each role: the playbook's escalation map. */
#define SEV_MASK(a, b) (((1u << (b)) - 1u) & ~((1u << ((a)-1)) - 1u)) /* Pa..Pb */

enum pd_notify_role
pd_notify_role_of(const struct pd_notify_cfg *t)
{
	const struct pd_notify_ops *ops;

	if (t->role != PD_NOTIFY_ROLE_DEFAULT)
		return t->role;
	ops = pd_notify_ops_for(t->type);
	if (ops != NULL && ops->default_role != PD_NOTIFY_ROLE_DEFAULT)
		return ops->default_role;
	return PD_NOTIFY_ROLE_TICKET;
}

unsigned
pd_notify_severities_of(const struct pd_notify_cfg *t)
{
	if (t->severities != 0)
		return t->severities & SEV_MASK(1, 4);
	switch (pd_notify_role_of(t)) {
	case PD_NOTIFY_ROLE_PAGE:
		return SEV_MASK(1, 2);
	case PD_NOTIFY_ROLE_CHAT:
		return SEV_MASK(1, 3);
	case PD_NOTIFY_ROLE_DEFAULT:
	case PD_NOTIFY_ROLE_TICKET:
		break;
	}
	return SEV_MASK(1, 4);
}

const char *
pd_notify_role_str(enum pd_notify_role r)
{
	switch (r) {
	case PD_NOTIFY_ROLE_PAGE:
		return "page";
	case PD_NOTIFY_ROLE_CHAT:
		return "chat";
	case PD_NOTIFY_ROLE_TICKET:
		return "ticket";
	case PD_NOTIFY_ROLE_DEFAULT:
		break;
	}
	return "default";
}

int
pd_notify_routes(const struct pd_notify_cfg *t, int severity)
{
	if (severity < 1 || severity > 4)
		return 0;
	return (pd_notify_severities_of(t) >> (severity - 1)) & 1u;
}

/* A byte an alias keeps as is: [A-Za-z0-9._:-]. */
static int
alias_ok(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == ':' || ch == '-';
}

void
pd_notify_alias(const char *key, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h;
	size_t len = strlen(key), n = 0, keep;
	int mapped = len > PD_NOTIFY_ALIAS_MAX;

	if (cap == 0)
		return;
	for (size_t i = 0; i < len; i++)
		if (!alias_ok((unsigned char)key[i]))
			mapped = 1;
	if (!mapped) {
		snprintf(out, cap, "%s", key);
		return;
	}
	/* room for "-" and 16 hex digits, within the alias cap and the buffer */
	keep = (cap - 1 < PD_NOTIFY_ALIAS_MAX ? cap - 1 : PD_NOTIFY_ALIAS_MAX);
	keep = keep > 17 ? keep - 17 : 0;
	for (size_t i = 0; i < len && n < keep; i++)
		out[n++] = alias_ok((unsigned char)key[i]) ? key[i] : '_';
	if (n + 17 < cap) {
		h = pd_hash_fnv1a(PD_HASH_FNV_OFFSET, key, len);
		out[n++] = '-';
		for (int b = 60; b >= 0; b -= 4)
			out[n++] = hex[(h >> b) & 15];
	}
	out[n] = '\0';
}

const char *
pd_notify_jstr(const cJSON *o, const char *k, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) && v->valuestring != NULL ? v->valuestring : dflt;
}

int
pd_notify_summary_tagged(const char *summary)
{
	return summary != NULL && summary[0] == '[' && summary[1] == 'P' && summary[2] >= '1' &&
	       summary[2] <= '4' && summary[3] == ']';
}

int
pd_notify_event_severity(const cJSON *event)
{
	int s = pd_classify_severity_parse(pd_notify_jstr(event, "severity", NULL));

	return s > 0 ? s : 1;
}

void
pd_notify_truncate(char *out, size_t cap, const char *s, size_t max_bytes, int ellipsis)
{
	static const char ell[] = "\xe2\x80\xa6"; /* U+2026 */
	size_t len = strlen(s), cut;

	if (cap == 0)
		return;
	if (max_bytes >= cap)
		max_bytes = cap - 1;
	if (len <= max_bytes) {
		memcpy(out, s, len + 1);
		return;
	}
	cut = max_bytes;
	if (ellipsis)
		cut = max_bytes >= sizeof(ell) - 1 ? max_bytes - (sizeof(ell) - 1) : 0;
	/* back off continuation bytes: s[cut] must start a character */
	while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	memcpy(out, s, cut);
	if (ellipsis && cut + sizeof(ell) - 1 <= max_bytes) {
		memcpy(out + cut, ell, sizeof(ell) - 1);
		cut += sizeof(ell) - 1;
	}
	out[cut] = '\0';
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
	/* 4xx, and 3xx: redirects are not followed (a POST must not silently become a GET
	 * somewhere else), so a 3xx is a wrong URL (http:// for https://, a moved API) that
	 * retrying never fixes: dead-letter it loudly, `probectl outbox requeue` after the
	 * fix. 1xx as a final answer: a broken receiver; retry. */
	if (resp->http_status >= 300)
		return PD_NOTIFY_PERMANENT;
	return PD_NOTIFY_RETRY;
}
