/* incident_notify.c — what the incident manager says: titles, the status-page draft,
 * and the notifications (trigger, update, resolve) queued in the outbox for the targets
 * routed for the incident's severity (the rule is in incident.h, "Notifications"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/comms.h"
#include "probed/incident.h"
#include "probed/log.h"
#include "probed/notify.h"
#include "probed/outcome.h"
#include "incident_int.h"

#define INC_PAYLOAD_PROBES 64 /* probe names listed in a notification (all are counted) */

/* The mode's title in the user's words (classify: upstream). */
const char *
pd_incident_mode_title(const struct pd_incidents *m, int mode, char *buf)
{
	return pd_classify_mode_title_of((enum pd_mode)mode, m->cfg ? &m->cfg->classify : NULL, buf,
					 INC_TITLE_MAX);
}

const struct pd_probe_cfg *
pd_incident_cfg_probe(const struct pd_incidents *m, const char *name)
{
	return m->cfg ? pd_config_probe(m->cfg, name) : NULL;
}

/* Append p's endpoint to list (n entries, their text in buf) unless list or other (the
 * nother endpoints already listed elsewhere) has it. */
void
pd_incident_draft_add(const struct pd_probe_cfg *p, char (*buf)[96], const char **list, size_t *n,
		      const char *const *other, size_t nother)
{
	pd_incident_endpoint(p, buf[*n], sizeof(buf[0]));
	for (size_t j = 0; j < *n; j++)
		if (strcmp(list[j], buf[*n]) == 0)
			return;
	for (size_t j = 0; j < nother; j++)
		if (strcmp(other[j], buf[*n]) == 0)
			return;
	list[*n] = buf[*n];
	(*n)++;
}

/* The status-page draft for the incident's current state. */
void
pd_incident_draft(struct pd_incidents *m, struct inc *i, const struct pd_class_input *in, size_t n,
		  int64_t now)
{
	const char *affected[INC_DRAFT_MAX], *working[256];
	char abuf[INC_DRAFT_MAX][96], wbuf[256][96];
	struct pd_comms_incident ci = {0};
	char mtitle[INC_TITLE_MAX];
	struct pd_buf out;
	struct pd_err err = {0};
	size_t na = 0, nw = 0;
	enum pd_comms_kind kind;

	for (size_t k = 0; k < i->nm && na < INC_DRAFT_MAX; k++) {
		const struct pd_probe_cfg *p = pd_incident_cfg_probe(m, i->m[k].probe);

		if (p != NULL)
			pd_incident_draft_add(p, abuf, affected, &na, NULL, 0);
	}
	for (size_t k = 0; k < n && nw < 256; k++) {
		const struct pd_probe_cfg *p;

		if (in[k].control || in[k].freshness ||
		    pd_incident_member_idx(i, in[k].name) >= 0 || in[k].status != PD_EVAL_UP ||
		    (p = pd_incident_cfg_probe(m, in[k].name)) == NULL)
			continue;
		pd_incident_draft_add(p, wbuf, working, &nw, affected, na);
	}
	if (na == 0)
		return;
	ci.affected = affected;
	ci.naffected = na;
	ci.working = working;
	ci.nworking = nw;
	ci.start_ms = i->row.opened_ms;
	ci.end_ms = i->row.resolved_ms;
	ci.severity = i->row.severity ? pd_classify_severity_str(i->row.severity) : NULL;
	ci.mode = i->row.mode ? pd_incident_mode_title(m, i->row.mode, mtitle) : NULL;
	/* while open, the draft is INVESTIGATING: the classifier's mode is the *likely*
	 * mode, and IDENTIFIED ("a fix is being deployed") is a human's call to make */
	kind = i->row.resolved_ms ? PD_COMMS_RESOLVED : PD_COMMS_INVESTIGATING;
	pd_buf_init(&out, 8192);
	if (pd_comms_status(kind, &ci, &out, &err) == 0 && out.data) {
		if (kind == PD_COMMS_INVESTIGATING) {
			char t0[40];

			pd_clock_rfc3339(i->row.opened_ms, t0, sizeof(t0));
			t0[16] = '\0'; /* to the minute */
			t0[10] = ' ';
			pd_buf_printf(&out, "\nStarted: %s UTC.\n", t0);
		}
		free(i->row.status_message);
		i->row.status_message = strdup(out.data);
	} else {
		pd_log_warn("incident %s: status draft: %s", i->row.key, err.msg);
	}
	pd_buf_cleanup(&out);
	(void)now;
}

static int
inc_sends_to(const struct inc *i, enum inc_to to, const struct pd_notify_cfg *tc)
{
	switch (to) {
	case INC_TO_ROUTED:
		return pd_notify_routes(tc, i->row.severity);
	case INC_TO_MISSING:
		return pd_notify_routes(tc, i->row.severity) &&
		       !pd_incident_notified_has(i, tc->name);
	case INC_TO_NOTIFIED:
		return pd_incident_notified_has(i, tc->name);
	}
	return 0;
}

/* Queue action ("trigger" | "resolve") for the incident to the targets `to` selects.
 * Returns how many rows were queued. */
int
pd_incident_notify(struct pd_incidents *m, struct inc *i, const char *action, enum inc_to to,
		   const struct pd_class_input *in, const struct pd_result *const *last, size_t n,
		   int64_t now)
{
	struct pd_notify_event ev = {0};
	const struct pd_class_input *pin = NULL;
	const struct pd_result *pr = NULL;
	const struct pd_probe_cfg *pc;
	char summary[512], reason[320], dur[32], runbook[PD_CONFIG_RUNBOOK_URL_MAX + 128];
	char *json, *json_upd = NULL, *probes, mtitle[INC_TITLE_MAX];
	int queued = 0, routed = 0, first = -1;

	for (size_t t = 0; m->cfg && t < m->cfg->nnotify; t++)
		routed += inc_sends_to(i, to, &m->cfg->notify[t]);
	if (routed == 0 && to == INC_TO_MISSING)
		return 0; /* the usual join: every routed target has the incident already */
	/* the primary probe: the first member (in join order) still known */
	for (size_t j = 0; j < n; j++) {
		int k = pd_incident_member_idx(i, in[j].name);

		if (k >= 0 && (first < 0 || k < first)) {
			first = k;
			pin = &in[j];
			pr = last ? last[j] : NULL;
		}
	}
	pc = pd_incident_cfg_probe(m, pin ? pin->name : (i->nm ? i->m[0].probe : ""));
	if (strcmp(action, "trigger") == 0) {
		snprintf(summary, sizeof(summary), "[%s]%s%s %s%s%s: %s",
			 pd_classify_severity_str(i->row.severity), i->row.drill ? " DRILL" : "",
			 m->cfg && m->cfg->location ? " " : "",
			 m->cfg && m->cfg->location ? m->cfg->location : "", "", i->row.title,
			 i->row.reason);
	} else {
		pd_config_duration_format(now - i->row.opened_ms, dur, sizeof(dur));
		snprintf(summary, sizeof(summary), "[%s]%s RESOLVED%s%s: %s (after %s)",
			 pd_classify_severity_str(i->row.severity), i->row.drill ? " DRILL" : "",
			 m->cfg && m->cfg->location ? " " : "",
			 m->cfg && m->cfg->location ? m->cfg->location : "", i->row.title, dur);
	}
	/* cert and SLO incidents carry their own reason */
	if (pin == NULL && strcmp(action, "resolve") == 0 && i->nm > 0 &&
	    i->row.mode != PD_MODE_CERT && !pd_incident_is_slo(i))
		snprintf(reason, sizeof(reason), "probe removed from configuration");
	else
		snprintf(reason, sizeof(reason), "%s", pr ? pr->verdict : i->row.reason);
	pd_log_redact(summary, sizeof(summary));
	pd_log_redact(reason, sizeof(reason));
	runbook[0] = '\0';
	if (i->row.mode != PD_MODE_NONE)
		pd_incident_runbook_url(m->cfg ? m->cfg->runbooks_base_url : NULL,
					pd_classify_mode_runbook((enum pd_mode)i->row.mode),
					runbook, sizeof(runbook));
	else if (pd_incident_is_slo(i))
		pd_incident_runbook_url(m->cfg ? m->cfg->runbooks_base_url : NULL,
					"slo-burn-rate.md", runbook, sizeof(runbook));
	ev.event = action;
	ev.dedup_key = i->row.key;
	ev.probe = pin ? pin->name : (i->nm ? i->m[0].probe : "drill");
	ev.family = pin ? pin->family : ev.probe;
	ev.tier = pc ? pd_config_tier_str(pc->tier) : NULL;
	ev.summary = summary;
	ev.reason = reason;
	ev.outcome = pin ? pd_outcome_str(pin->last_outcome) : NULL;
	ev.location = m->cfg ? m->cfg->location : NULL;
	ev.ts_ms = now;
	ev.consecutive_failures = pin ? pin->consec_fail : 0;
	ev.down_since_ms = i->row.opened_ms;
	ev.severity = pd_classify_severity_str(i->row.severity);
	ev.mode = i->row.mode ? pd_classify_mode_str((enum pd_mode)i->row.mode) : NULL;
	ev.mode_title = i->row.mode ? pd_incident_mode_title(m, i->row.mode, mtitle) : NULL;
	ev.runbook = runbook[0] ? runbook : NULL;
	ev.incident_id = i->row.id;
	/* a bounded list: the first members by name, all of them counted */
	probes = pd_incident_members_json(i, INC_PAYLOAD_PROBES);
	ev.probes_json = probes;
	ev.probe_count = i->nm;
	ev.status_message =
		i->row.status_message && i->row.status_message[0] ? i->row.status_message : NULL;
	ev.evidence = i->row.evidence[0] ? i->row.evidence : NULL;
	ev.drill = i->row.drill;
	json = pd_notify_event_json(&ev);
	/* a trigger for a target that has this incident already (an escalation): the same
	 * event marked "update", so a target that keeps one alert per key (Opsgenie)
	 * updates it instead of creating it again */
	if (json != NULL && strcmp(action, "trigger") == 0) {
		ev.update = 1;
		json_upd = pd_notify_event_json(&ev);
	}
	free(probes);
	if (json == NULL)
		return 0;
	for (size_t t = 0; m->cfg && t < m->cfg->nnotify; t++) {
		const struct pd_notify_cfg *tc = &m->cfg->notify[t];
		struct pd_err err = {0};
		const char *payload = json;

		if (!inc_sends_to(i, to, tc))
			continue;
		if (json_upd != NULL && pd_incident_notified_has(i, tc->name))
			payload = json_upd;
		if (pd_store_outbox_add(m->st, tc->name, i->row.key, action, payload, now, NULL,
					&err) != 0) {
			pd_log_err("incident %s: cannot queue %s for %s: %s", i->row.key, action,
				   tc->name, err.msg);
			continue;
		}
		queued++;
		if (strcmp(action, "trigger") == 0 && pd_incident_notified_add(i, tc->name) != 0)
			pd_log_err("incident %s: out of memory noting that %s has the trigger",
				   i->row.key, tc->name);
		pd_incident_event(m, i, now, "notify_queued", "%s to %s", action, tc->name);
	}
	if (routed == 0 && to == INC_TO_ROUTED)
		pd_incident_event(m, i, now, "not_routed", "no target takes %s (%s)",
				  pd_classify_severity_str(i->row.severity),
				  i->row.severity == 4 ? "P4 never pages: ticket targets only"
						       : "check notify severities");
	free(json);
	free(json_upd);
	return queued;
}


void
pd_incident_title(struct pd_incidents *m, struct inc *i)
{
	char eps[200] = "";
	size_t len = 0;

	for (size_t k = 0; k < i->nm && len + 40 < sizeof(eps); k++) {
		const struct pd_probe_cfg *p = pd_incident_cfg_probe(m, i->m[k].probe);
		char ep[96];

		if (p)
			pd_incident_endpoint(p, ep, sizeof(ep));
		else
			snprintf(ep, sizeof(ep), "%.95s", i->m[k].probe);
		if (strstr(eps, ep))
			continue;
		len += (size_t)snprintf(eps + len, sizeof(eps) - len, "%s%s", len ? ", " : "", ep);
	}
	snprintf(i->row.title, sizeof(i->row.title), "%s%.130s",
		 i->row.mode == PD_MODE_CERT       ? "TLS certificate expiring: "
		 : i->row.mode == PD_MODE_DATABASE ? "Every endpoint degraded: "
		 : i->row.mode == PD_MODE_KEY      ? "API key rejected: "
		 : i->row.mode == PD_MODE_QUEUE    ? "Batch work late: "
						   : "Elevated errors on ",
		 eps);
}
