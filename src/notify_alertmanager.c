/* notify_alertmanager.c — Alertmanager API v2: POST {url}/api/v2/alerts.
 *
 * Alertmanager keeps an alert only until its endsAt. A firing alert is therefore sent
 * with endsAt = now + PD_NOTIFY_AM_VALIDITY x resend_interval (what Prometheus does)
 * and the outbox re-sends it every resend_interval while it fires, so it neither
 * times out while the outage lasts nor depends on Alertmanager's resolve_timeout; if
 * probed dies, Alertmanager resolves it by itself a few intervals later. A resolve
 * sends the same labels with endsAt = the resolve time, re-sent for
 * resend_resolved_for so a restarting or clustered Alertmanager still learns it.
 *
 * Labels identify the alert (Alertmanager's fingerprint), so they hold only stable
 * facts: alertname (ProbedIncident for an incident, ProbeDown for one probe), probe,
 * family, severity, mode, location, incident_id, drill. Everything else is an
 * annotation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "probed/clock.h"
#include "probed/notify.h"

#define AM_PATH "/api/v2/alerts"
#define AM_DEF_RESEND_MS 60000

/* "2026-11-22T05:05:32.123Z" (fraction optional) -> ms since the epoch, or -1. */
static int64_t
am_parse_time(const char *s)
{
	struct tm tm;
	int ms = 0, n = 0;
	char frac[8] = "";
	time_t t;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	s += n;
	if (*s == '.') {
		size_t i = 0;

		for (s++; *s >= '0' && *s <= '9'; s++)
			if (i < 3)
				frac[i++] = *s;
		while (i < 3)
			frac[i++] = '0';
		ms = atoi(frac);
	}
	if (*s != 'Z')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t * 1000 + ms;
}

static char *
am_print(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	char *res = s ? strdup(s) : NULL;

	if (s)
		cJSON_free(s);
	return res;
}

static void
am_add(cJSON *o, const char *k, const char *v)
{
	if (v != NULL && v[0] != '\0')
		cJSON_AddStringToObject(o, k, v);
}

int
pd_notify_am_alert(const struct pd_notify_cfg *t, const cJSON *event, int64_t now_ms,
		   struct pd_am_alert *out, struct pd_err *err)
{
	const cJSON *inc = cJSON_GetObjectItemCaseSensitive(event, "incident_id");
	int drill = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(event, "drill"));
	int is_inc = cJSON_IsNumber(inc) && inc->valuedouble > 0;
	const char *v;
	cJSON *labels = cJSON_CreateObject(), *ann = cJSON_CreateObject();
	struct pd_buf desc;
	char sev[4], num[32];
	int64_t starts;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pd_buf_init(&desc, 0);
	if (labels == NULL || ann == NULL)
		goto nomem;
	snprintf(out->target, sizeof(out->target), "%s", t->name ? t->name : "");
	snprintf(out->dedup_key, sizeof(out->dedup_key), "%s",
		 pd_notify_jstr(event, "dedup_key", ""));
	snprintf(sev, sizeof(sev), "P%d", pd_notify_event_severity(event));

	cJSON_AddStringToObject(labels, "alertname", is_inc ? "ProbedIncident" : "ProbeDown");
	am_add(labels, "probe", pd_notify_jstr(event, "probe", NULL));
	am_add(labels, "family", pd_notify_jstr(event, "family", NULL));
	cJSON_AddStringToObject(labels, "severity", sev);
	cJSON_AddStringToObject(labels, "mode", pd_notify_jstr(event, "mode", "unknown"));
	am_add(labels, "location", pd_notify_jstr(event, "location", NULL));
	if (is_inc) {
		snprintf(num, sizeof(num), "%.0f", inc->valuedouble);
		cJSON_AddStringToObject(labels, "incident_id", num);
	}
	if (drill)
		cJSON_AddStringToObject(labels, "drill", "true");

	am_add(ann, "summary", pd_notify_jstr(event, "summary", NULL));
	if ((v = pd_notify_jstr(event, "reason", NULL)) && v[0])
		pd_buf_printf(&desc, "%s", v);
	if ((v = pd_notify_jstr(event, "mode_title", NULL)) && v[0])
		pd_buf_printf(&desc, "%sLikely mode: %s", desc.len ? "\n" : "", v);
	if ((v = pd_notify_jstr(event, "evidence", NULL)) && v[0])
		pd_buf_printf(&desc, "%sEvidence: %s", desc.len ? "\n" : "", v);
	if (desc.data)
		cJSON_AddStringToObject(ann, "description", desc.data);
	am_add(ann, "runbook", pd_notify_jstr(event, "runbook", NULL));
	am_add(ann, "status_message", pd_notify_jstr(event, "status_message", NULL));
	am_add(ann, "outcome", pd_notify_jstr(event, "outcome", NULL));
	am_add(ann, "dedup_key", pd_notify_jstr(event, "dedup_key", NULL));

	out->labels = am_print(labels);
	out->annotations = am_print(ann);
	if (out->labels == NULL || out->annotations == NULL)
		goto nomem;
	if (t->generator_url && (out->generator_url = strdup(t->generator_url)) == NULL)
		goto nomem;
	starts = am_parse_time(pd_notify_jstr(event, "down_since", NULL));
	if (starts < 0)
		starts = am_parse_time(pd_notify_jstr(event, "ts", NULL));
	out->starts_ms = starts > 0 ? starts : now_ms;
	if (strcmp(pd_notify_jstr(event, "event", "trigger"), "resolve") == 0) {
		/* when it recovered (the event's time), not when this request goes out */
		int64_t ends = am_parse_time(pd_notify_jstr(event, "ts", NULL));

		if (ends <= 0)
			ends = now_ms;
		out->ends_ms = ends > out->starts_ms ? ends : out->starts_ms;
	}
	goto out;
nomem:
	rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	pd_store_am_alert_cleanup(out);
out:
	cJSON_Delete(labels);
	cJSON_Delete(ann);
	pd_buf_cleanup(&desc);
	return rc;
}

int
pd_notify_am_body(const struct pd_notify_cfg *t, const struct pd_am_alert *alerts, size_t n,
		  int64_t now_ms, struct pd_buf *body, struct pd_err *err)
{
	int64_t resend = t->resend_interval_ms > 0 ? t->resend_interval_ms : AM_DEF_RESEND_MS;
	cJSON *arr = cJSON_CreateArray();
	char ts[40];
	char *s = NULL;
	int rc = 0;

	if (arr == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct pd_am_alert *a = &alerts[i];
		cJSON *o = cJSON_CreateObject(), *l = cJSON_Parse(a->labels),
		      *an = cJSON_Parse(a->annotations ? a->annotations : "{}");
		int64_t ends =
			a->ends_ms > 0 ? a->ends_ms : now_ms + PD_NOTIFY_AM_VALIDITY * resend;

		if (o == NULL || !cJSON_IsObject(l) || !cJSON_IsObject(an)) {
			cJSON_Delete(o);
			cJSON_Delete(l);
			cJSON_Delete(an);
			rc = pd_err_set(err, PD_ERR_INVALID, "alert %s: unreadable labels",
					a->dedup_key);
			goto out;
		}
		if (ends < a->starts_ms)
			ends = a->starts_ms;
		cJSON_AddItemToObject(o, "labels", l);
		cJSON_AddItemToObject(o, "annotations", an);
		pd_clock_rfc3339(a->starts_ms, ts, sizeof(ts));
		cJSON_AddStringToObject(o, "startsAt", ts);
		pd_clock_rfc3339(ends, ts, sizeof(ts));
		cJSON_AddStringToObject(o, "endsAt", ts);
		if (a->generator_url && a->generator_url[0])
			cJSON_AddStringToObject(o, "generatorURL", a->generator_url);
		cJSON_AddItemToArray(arr, o);
	}
	s = cJSON_PrintUnformatted(arr);
	if (s == NULL)
		rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	else if (pd_buf_append(body, s, strlen(s)) != 0)
		rc = pd_err_set(err, PD_ERR_INVALID, "alertmanager body too large");
out:
	if (s)
		cJSON_free(s);
	cJSON_Delete(arr);
	return rc;
}

static int
alertmanager_render(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
		    struct pd_err *err)
{
	struct pd_am_alert a;
	int rc;

	if ((rc = pd_notify_am_alert(t, event, pd_clock_wall_ms(NULL), &a, err)) != 0)
		return rc;
	rc = pd_notify_am_body(t, &a, 1, pd_clock_wall_ms(NULL), body, err);
	pd_store_am_alert_cleanup(&a);
	return rc;
}

static int
alertmanager_url(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *url,
		 struct pd_err *err)
{
	const char *base = t->url ? t->url : "";
	size_t blen = strlen(base);
	int rc;

	(void)event;
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	rc = pd_buf_append(url, base, blen);
	/* a url written with the path already is taken as is */
	if (rc == 0 && !(blen >= strlen(AM_PATH) &&
			 strncmp(base + blen - strlen(AM_PATH), AM_PATH, strlen(AM_PATH)) == 0))
		rc = pd_buf_append(url, AM_PATH, strlen(AM_PATH));
	return rc ? pd_err_set(err, rc, "alertmanager URL too long") : 0;
}

/* resend_interval (default 60s), resend_resolved_for (5m), generator_url. */
static const char *const alertmanager_keys[] = {
	"resend_interval",
	"resend_resolved_for",
	"generator_url",
	NULL,
};

static int
alertmanager_configure(struct pd_notify_conf *nc, struct pd_notify_cfg *t)
{
	char *disp = NULL;
	int rc = 0;

	t->resend_interval_ms = 60 * 1000;
	t->resend_resolved_ms = 5 * 60 * 1000;
	if (pd_config_notify_duration(nc, "resend_interval", 1000, &t->resend_interval_ms) != 0)
		rc = -1;
	if (pd_config_notify_duration(nc, "resend_resolved_for", 1, &t->resend_resolved_ms) != 0)
		rc = -1;
	if (pd_config_notify_has(nc, "generator_url")) {
		t->generator_url = pd_config_notify_url(nc, "generator_url", NULL, &disp);
		free(disp);
		if (t->generator_url == NULL)
			rc = -1;
	}
	return rc;
}

const struct pd_notify_ops pd_notify_alertmanager_ops = {
	.type = PD_NOTIFY_ALERTMANAGER,
	.name = "alertmanager",
	.render = alertmanager_render,
	.request_url = alertmanager_url,
	.keys = alertmanager_keys,
	.configure = alertmanager_configure,
	.flags = PD_NOTIFY_F_URL_REQUIRED | PD_NOTIFY_F_RESENDS,
};
