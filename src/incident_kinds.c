/* incident_kinds.c — the incidents that are not outages: certificate expiry (one per
 * probe), SLO burn rate (one per objective) and drills (recorded and closed at once);
 * each opens, escalates and resolves through the manager's helpers (incident_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/comms.h"
#include "probed/incident.h"
#include "probed/log.h"
#include "probed/slo.h"
#include "incident_int.h"

int
pd_incident_cert(struct pd_incidents *m, const char *probe, int severity, const char *reason,
		 int64_t now)
{
	struct inc *i = NULL;
	size_t idx = 0;
	int queued = 0;

	for (size_t j = 0; j < m->nopen; j++)
		if (m->open[j]->row.mode == PD_MODE_CERT &&
		    pd_incident_member_idx(m->open[j], probe) >= 0) {
			i = m->open[j];
			idx = j;
			break;
		}
	if (severity < 1 || severity > 4) {
		if (i == NULL)
			return 0;
		i->row.resolved_ms = now;
		snprintf(i->row.reason, sizeof(i->row.reason), "%s",
			 reason && reason[0] ? reason : "certificate no longer near expiry");
		pd_incident_event(m, i, now, "resolved", "%s", i->row.reason);
		pd_log_info("incident %s: resolved (%s)", i->row.key, reason ? reason : "");
		queued = pd_incident_notify(m, i, "resolve", INC_TO_NOTIFIED, NULL, NULL, 0, now);
		pd_incident_save(m, i);
		pd_incident_close(m, idx);
		return queued;
	}
	if (i == NULL) {
		if (m->nopen >= INC_MAX_OPEN)
			return 0; /* the slots are for outages; retried on the next result */
		if ((i = calloc(1, sizeof(*i))) == NULL)
			return 0;
		i->row.opened_ms = i->row.last_join_ms = now;
		i->row.mode = PD_MODE_CERT;
		snprintf(i->row.key, sizeof(i->row.key), "probed:%s%scert-%lld-%s",
			 m->cfg && m->cfg->location ? m->cfg->location : "",
			 m->cfg && m->cfg->location ? "/" : "", (long long)now, probe);
		if (pd_incident_member_add(i, probe, 0) < 0 ||
		    (i->row.status_message = strdup("")) == NULL) {
			pd_incident_inc_free(i);
			return 0;
		}
		m->open[m->nopen++] = i;
	} else if (severity >= i->row.severity) {
		/* same or less urgent: never downgraded while open, the reason is updated */
		if (reason && strcmp(reason, i->row.reason) != 0) {
			snprintf(i->row.reason, sizeof(i->row.reason), "%s", reason);
			snprintf(i->row.evidence, sizeof(i->row.evidence), "%s", reason);
			pd_incident_save(m, i);
		}
		return 0;
	}
	if (i->row.id == 0)
		pd_incident_save(m, i); /* an id for the timeline */
	if (i->row.severity != 0)
		pd_incident_event(m, i, now, "severity_changed", "%s -> %s: %s",
				  pd_classify_severity_str(i->row.severity),
				  pd_classify_severity_str(severity), reason ? reason : "");
	else
		pd_incident_event(m, i, now, "declared", "%s %s: %s",
				  pd_classify_severity_str(severity),
				  pd_classify_mode_title(PD_MODE_CERT), reason ? reason : "");
	i->row.severity = severity;
	snprintf(i->row.reason, sizeof(i->row.reason), "%s", reason ? reason : "");
	snprintf(i->row.evidence, sizeof(i->row.evidence), "%s", reason ? reason : "");
	pd_incident_title(m, i);
	pd_log_warn("incident %s: %s %s — %s", i->row.key, pd_classify_severity_str(severity),
		    i->row.title, i->row.reason);
	pd_incident_save(m, i);
	queued = pd_incident_notify(m, i, "trigger", INC_TO_ROUTED, NULL, NULL, 0, now);
	pd_incident_save(m, i);
	return queued;
}

/* ---- SLO burn-rate incidents ---- */

/* The status draft of an SLO incident: the objective's endpoints are the affected ones. */
static void
inc_slo_draft(struct pd_incidents *m, struct inc *i, const struct pd_slo_cfg *o)
{
	const char *affected[INC_DRAFT_MAX];
	char abuf[INC_DRAFT_MAX][96];
	struct pd_comms_incident ci = {0};
	struct pd_buf out;
	struct pd_err err = {0};
	size_t na = 0;

	for (size_t k = 0; m->cfg && k < m->cfg->nprobes && na < INC_DRAFT_MAX; k++) {
		const struct pd_probe_cfg *p = &m->cfg->probes[k];

		if (strcmp(o->by_probe ? p->name : p->family, o->name) == 0)
			pd_incident_draft_add(p, abuf, affected, &na, NULL, 0);
	}
	if (na == 0)
		return;
	ci.affected = affected;
	ci.naffected = na;
	ci.start_ms = i->row.opened_ms;
	ci.end_ms = i->row.resolved_ms;
	ci.severity = pd_classify_severity_str(i->row.severity);
	pd_buf_init(&out, 4096);
	if (pd_comms_status(i->row.resolved_ms ? PD_COMMS_RESOLVED : PD_COMMS_INVESTIGATING, &ci,
			    &out, &err) == 0 &&
	    out.data) {
		free(i->row.status_message);
		i->row.status_message = strdup(out.data);
	}
	pd_buf_cleanup(&out);
}

static void
inc_slo_words(struct inc *i, const struct pd_slo_cfg *o, const struct pd_slo_status *s,
	      const struct pd_slo_rule *rules)
{
	char per[32], lw[32], sw[32], ex[48];
	const struct pd_slo_rule *r = s->rule >= 0 ? &rules[s->rule] : NULL;

	pd_config_duration_format(o->period_ms, per, sizeof(per));
	if (o->lat_under_ms > 0) {
		pd_config_duration_format(o->lat_under_ms, lw, sizeof(lw));
		snprintf(i->row.title, sizeof(i->row.title),
			 "Latency budget burning on %s (SLO %.4g%% under %s over %s)", o->name,
			 o->objective * 100, lw, per);
	} else {
		snprintf(i->row.title, sizeof(i->row.title),
			 "Error budget burning on %s (SLO %.4g%% over %s)", o->name,
			 o->objective * 100, per);
	}
	if (r != NULL) {
		pd_config_duration_format(r->long_ms, lw, sizeof(lw));
		pd_config_duration_format(r->short_ms, sw, sizeof(sw));
		if (s->exhaustion_ms >= 60000) {
			char d[24];

			pd_config_duration_format(s->exhaustion_ms - s->exhaustion_ms % 60000, d,
						  sizeof(d));
			snprintf(ex, sizeof(ex), "gone in %s", d);
		} else if (s->exhaustion_ms >= 0) {
			snprintf(ex, sizeof(ex), "gone in under 1m");
		} else {
			snprintf(ex, sizeof(ex), "%s",
				 s->budget_left <= 0 ? "already spent"
						     : "not draining at the 1h rate");
		}
		snprintf(i->row.reason, sizeof(i->row.reason),
			 "burn %.1fx over %s and %.1fx over %s (rule: %gx, %s); %.1f%% of the "
			 "budget left, %s",
			 pd_slo_burn_of(s, r->long_ms), lw, pd_slo_burn_of(s, r->short_ms), sw,
			 r->burn,
			 r->severity <= 2   ? "page"
			 : r->severity == 3 ? "chat"
					    : "ticket",
			 s->budget_left * 100, ex);
	}
	pd_slo_evidence(s, rules, i->row.evidence, sizeof(i->row.evidence));
}

int
pd_incident_slo(struct pd_incidents *m, const struct pd_slo_cfg *o, const struct pd_slo_status *s,
		int64_t now)
{
	const struct pd_slo_rule *rules = m->cfg ? m->cfg->slo_rules : NULL;
	char member[160], label[140];
	struct inc *i = NULL;
	size_t idx = 0;
	int queued = 0;

	if (m->cfg == NULL)
		return 0;
	pd_slo_label(o, label, sizeof(label));
	snprintf(member, sizeof(member), "slo:%s", label);
	for (idx = 0; idx < m->nopen; idx++)
		if (pd_incident_is_slo(m->open[idx]) &&
		    strcmp(m->open[idx]->m[0].probe, member) == 0) {
			i = m->open[idx];
			break;
		}
	if (s->severity == 0) {
		if (i == NULL)
			return 0;
		i->row.resolved_ms = now;
		pd_slo_evidence(s, rules, i->row.evidence, sizeof(i->row.evidence));
		inc_slo_draft(m, i, o);
		pd_incident_event(m, i, now, "resolved", "no burn-rate rule fires: %s",
				  i->row.evidence);
		pd_log_info("incident %s: resolved (%s SLO burn on %s)", i->row.key,
			    pd_classify_severity_str(i->row.severity), label);
		queued = pd_incident_notify(m, i, "resolve", INC_TO_NOTIFIED, NULL, NULL, 0, now);
		pd_incident_save(m, i);
		pd_incident_close(m, idx);
		return queued;
	}
	if (i == NULL) {
		if (m->nopen >= INC_MAX_OPEN || (i = pd_incident_open(m, now)) == NULL)
			return 0;
		snprintf(i->row.key, sizeof(i->row.key), "probed:%s%sslo-%.30s%s-%lld",
			 m->cfg->location ? m->cfg->location : "", m->cfg->location ? "/" : "",
			 o->name, o->lat_under_ms > 0 ? "-latency" : "", (long long)now);
		if (pd_incident_member_add(i, member, 0) < 0) {
			pd_incident_close(m, m->nopen - 1);
			return 0;
		}
		i->row.severity = s->severity;
		inc_slo_words(i, o, s, rules);
		inc_slo_draft(m, i, o);
		pd_incident_save(m, i);
		pd_incident_event(m, i, now, "declared", "%s SLO burn on %s: %s",
				  pd_classify_severity_str(s->severity), label, i->row.reason);
		pd_log_err("incident %s: %s %s — %s", i->row.key,
			   pd_classify_severity_str(s->severity), i->row.title, i->row.reason);
		return pd_incident_notify(m, i, "trigger", INC_TO_ROUTED, NULL, NULL, 0, now);
	}
	if (s->severity < i->row.severity) {
		pd_incident_event(m, i, now, "severity_changed",
				  "%s -> %s: burn-rate rule %d fires",
				  pd_classify_severity_str(i->row.severity),
				  pd_classify_severity_str(s->severity), s->rule + 1);
		i->row.severity = s->severity;
		i->row.last_join_ms = now;
		inc_slo_words(i, o, s, rules);
		inc_slo_draft(m, i, o);
		pd_incident_save(m, i);
		return pd_incident_notify(m, i, "trigger", INC_TO_ROUTED, NULL, NULL, 0, now);
	}
	/* still burning: refresh the figures once a minute (never lowers the severity) */
	if (now - i->row.last_join_ms >= 60000) {
		i->row.last_join_ms = now;
		pd_slo_evidence(s, rules, i->row.evidence, sizeof(i->row.evidence));
		pd_incident_save(m, i);
	}
	return 0;
}

void
pd_incident_slo_prune(struct pd_incidents *m, int64_t now)
{
	for (size_t j = 0; m->cfg && j < m->nopen;) {
		struct inc *i = m->open[j];
		int known = 0;

		for (size_t k = 0; pd_incident_is_slo(i) && k < m->cfg->nslos && !known; k++) {
			char label[140];

			pd_slo_label(&m->cfg->slos[k], label, sizeof(label));
			known = strcmp(i->m[0].probe + 4, label) == 0;
		}
		if (!pd_incident_is_slo(i) || known) {
			j++;
			continue;
		}
		i->row.resolved_ms = now;
		pd_incident_event(m, i, now, "resolved",
				  "objective removed from the configuration");
		pd_log_info("incident %s: resolved (its SLO %s was removed)", i->row.key,
			    i->m[0].probe + 4);
		pd_incident_notify(m, i, "resolve", INC_TO_NOTIFIED, NULL, NULL, 0, now);
		pd_incident_save(m, i);
		pd_incident_close(m, j);
	}
}

void
pd_incident_drill_key(const struct pd_incidents *m, int64_t now, char *out, size_t cap)
{
	snprintf(out, cap, "probed:%s%sdrill-%lld",
		 m->cfg && m->cfg->location ? m->cfg->location : "",
		 m->cfg && m->cfg->location ? "/" : "", (long long)now);
}

int
pd_incident_drill(struct pd_incidents *m, int severity, int64_t now, struct pd_err *err)
{
	struct inc *i;
	int queued;

	if (severity < 1 || severity > 4)
		return pd_err_set(err, PD_ERR_INVALID, "drill severity must be P1..P4");
	i = calloc(1, sizeof(*i));
	if (i == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	i->row.opened_ms = now;
	i->row.last_join_ms = now;
	i->row.drill = 1;
	i->row.severity = severity;
	pd_incident_drill_key(m, now, i->row.key, sizeof(i->row.key));
	snprintf(i->row.title, sizeof(i->row.title), "DRILL — this is a drill, not an outage");
	snprintf(i->row.reason, sizeof(i->row.reason),
		 "quarterly incident drill (%s): run the full ritual, mark every post as a drill",
		 pd_classify_severity_str(severity));
	i->row.status_message =
		strdup("[DRILL] This is an incident drill. No service is affected.");
	if (pd_incident_save(m, i) != 0) {
		pd_incident_inc_free(i);
		return pd_err_set(err, PD_ERR_DB, "cannot store the drill");
	}
	pd_incident_event(m, i, now, "declared", "DRILL %s", pd_classify_severity_str(severity));
	queued = pd_incident_notify(m, i, "trigger", INC_TO_ROUTED, NULL, NULL, 0, now);
	/* closed in probed's books at once; the pager's copy stays open until the on-call
	 * acknowledges and resolves it, as the drill ritual asks */
	i->row.resolved_ms = now;
	pd_incident_event(m, i, now, "resolved",
			  "drill recorded; resolve it in the pager when the ritual is done");
	pd_incident_save(m, i);
	pd_incident_inc_free(i);
	return queued;
}
