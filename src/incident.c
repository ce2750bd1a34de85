/* incident.c — incident lifecycle (diagram in include/probed/incident.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "probed/comms.h"
#include "probed/incident.h"
#include "probed/log.h"
#include "probed/notify.h"
#include "probed/outcome.h"

#define INC_MAX_OPEN 32
#define INC_DRAFT_MAX 64       /* affected endpoints named in the status draft */
#define INC_PAYLOAD_PROBES 64  /* probe names listed in a notification (all are counted) */

/* Membership has no cap: every probe that joins is kept (and stored) until the incident
 * resolves, so a probe is a member once and joins once, whatever the number of probes
 * (with a 64-member array the 65th probe "joined" again on every pass). The
 * members sit in join order in a growing array, indexed by an open-addressing hash of
 * the name so that the per-pass lookups stay O(1). Members never leave an open incident. */
struct inc_member {
	char *probe;
	int by_window;     /* joined on a window rule (not a confirmed DOWN) */
};

struct inc {
	struct pd_incident_row row;
	struct inc_member *m;   /* join order; m[0] opened the incident */
	size_t nm, mcap;
	uint32_t *slot;         /* hash of member names: index + 1, 0 = empty */
	size_t nslot;           /* a power of two, at least twice nm */
	char **notified;        /* targets that have the trigger of this incident */
	size_t nn;
	int joined;             /* a probe joined after the incident was declared */
	int held;               /* its pages are held by maintenance (a row says so) */
	enum pd_mode cause;     /* the opener's own mode, until the incident has one */
};

struct pd_incidents {
	struct pd_store *st;
	const struct pd_clock *clock;
	const struct pd_config *cfg;
	const struct pd_silence *sil;   /* silences in force (borrowed) */
	size_t nsil;
	struct inc *open[INC_MAX_OPEN];
	size_t nopen;
};

struct pd_incidents *
pd_incidents_new(struct pd_store *st, const struct pd_clock *clock, struct pd_err *err)
{
	struct pd_incidents *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		return NULL;
	}
	m->st = st;
	m->clock = clock;
	return m;
}

static void
inc_free(struct inc *i)
{
	if (i == NULL)
		return;
	for (size_t k = 0; k < i->nm; k++)
		free(i->m[k].probe);
	for (size_t k = 0; k < i->nn; k++)
		free(i->notified[k]);
	free(i->m);
	free(i->slot);
	free(i->notified);
	pd_incident_row_cleanup(&i->row);
	free(i);
}

/* An SLO burn-rate incident has one member, "slo:NAME" (no probe name holds a ':'). It
 * is driven by pd_incidents_slo alone: probes never join it, and it never absorbs them
 * (a budget burn must not merge into an unrelated outage). */
static int
inc_is_slo(const struct inc *i)
{
	return i->nm == 1 && strncmp(i->m[0].probe, "slo:", 4) == 0;
}

void
pd_incidents_free(struct pd_incidents *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nopen; i++)
		inc_free(m->open[i]);
	free(m);
}

void
pd_incidents_set_config(struct pd_incidents *m, const struct pd_config *cfg)
{
	m->cfg = cfg;
}

void
pd_incidents_set_silences(struct pd_incidents *m, const struct pd_silence *s, size_t n)
{
	m->sil = s;
	m->nsil = n;
}

int
pd_incidents_held(const struct pd_incidents *m, const char *probe, const char *family,
		  int64_t now, struct pd_maint_hit *hit)
{
	if (m->cfg == NULL)
		return 0;
	return pd_maint_check(m->cfg->maint, m->cfg->nmaint, m->sil, m->nsil, probe, family, now,
			      hit);
}

void
pd_incident_runbook_url(const char *base_url, const char *file, char *out, size_t cap)
{
	size_t blen;

	if (base_url == NULL || base_url[0] == '\0') {
		snprintf(out, cap, "runbooks/%s", file);
		return;
	}
	blen = strlen(base_url);
	while (blen > 0 && base_url[blen - 1] == '/')
		blen--;
	snprintf(out, cap, "%.*s/%s", (int)blen, base_url, file);
}

void
pd_incident_endpoint_label(const char *url_display, const char *family, char *out, size_t cap)
{
	const char *h = url_display ? strstr(url_display, "://") : NULL;
	const char *path = h ? h + 3 + strcspn(h + 3, "/?#") : NULL;
	size_t n = path ? strcspn(path, "?#") : 0;

	if (cap == 0)
		return;
	if (path == NULL || *path != '/' || n <= 1 || memmem(path, n, "${", 2) != NULL) {
		snprintf(out, cap, "%s", family ? family : "");
		return;
	}
	snprintf(out, cap, "%.*s", (int)n, path);
}

void
pd_incident_endpoint(const struct pd_probe_cfg *p, char *out, size_t cap)
{
	pd_incident_endpoint_label(p->url_display, p->family ? p->family : p->name, out, cap);
}

/* ---- members and notified targets ---- */

static uint32_t
inc_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The member's index in join order, or -1. */
static int
inc_member_idx(const struct inc *i, const char *probe)
{
	size_t mask = i->nslot - 1;

	if (i->nslot == 0)
		return -1;
	for (size_t s = inc_hash(probe) & mask;; s = (s + 1) & mask) {
		uint32_t v = i->slot[s];

		if (v == 0)
			return -1;
		if (strcmp(i->m[v - 1].probe, probe) == 0)
			return (int)(v - 1);
	}
}

static void
inc_slot_put(uint32_t *slot, size_t nslot, const char *probe, size_t idx)
{
	size_t s = inc_hash(probe) & (nslot - 1);

	while (slot[s] != 0)
		s = (s + 1) & (nslot - 1);
	slot[s] = (uint32_t)idx + 1;
}

/* Add probe as a member (a no-op when it already is one). Returns its index, or -1 when
 * out of memory (the incident is unchanged then). */
static int
inc_member_add(struct inc *i, const char *probe, int by_window)
{
	int have = inc_member_idx(i, probe);
	char *name;

	if (have >= 0)
		return have;
	if (i->nm >= UINT32_MAX - 1)
		return -1;
	if (i->nm == i->mcap) {
		size_t cap = i->mcap ? 2 * i->mcap : 16;
		struct inc_member *nm = realloc(i->m, cap * sizeof(*nm));

		if (nm == NULL)
			return -1;
		i->m = nm;
		i->mcap = cap;
	}
	if (2 * (i->nm + 1) > i->nslot) {
		size_t nslot = i->nslot ? 2 * i->nslot : 32;
		uint32_t *slot = calloc(nslot, sizeof(*slot));

		if (slot == NULL)
			return -1;
		for (size_t k = 0; k < i->nm; k++)
			inc_slot_put(slot, nslot, i->m[k].probe, k);
		free(i->slot);
		i->slot = slot;
		i->nslot = nslot;
	}
	if ((name = strdup(probe)) == NULL)
		return -1;
	i->m[i->nm].probe = name;
	i->m[i->nm].by_window = by_window;
	inc_slot_put(i->slot, i->nslot, name, i->nm);
	return (int)i->nm++;
}

static int
inc_notified_has(const struct inc *i, const char *target)
{
	for (size_t k = 0; k < i->nn; k++)
		if (strcmp(i->notified[k], target) == 0)
			return 1;
	return 0;
}

/* Record that target has the trigger. 0, or -1 when out of memory. */
static int
inc_notified_add(struct inc *i, const char *target)
{
	char **nn, *name;

	if (inc_notified_has(i, target))
		return 0;
	if ((name = strdup(target)) == NULL)
		return -1;
	if ((nn = realloc(i->notified, (i->nn + 1) * sizeof(*nn))) == NULL) {
		free(name);
		return -1;
	}
	i->notified = nn;
	i->notified[i->nn++] = name;
	return 0;
}

/* ---- members and notified lists <-> JSON ---- */

/* The first max members (all of them with max = (size_t)-1) as a JSON array. */
static char *
inc_members_json(const struct inc *i, size_t max)
{
	cJSON *a = cJSON_CreateArray();
	char *s;

	for (size_t k = 0; k < i->nm && k < max; k++)
		cJSON_AddItemToArray(a, cJSON_CreateString(i->m[k].probe));
	s = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return s;
}

static char *
inc_notified_json(const struct inc *i)
{
	cJSON *a = cJSON_CreateArray();
	char *s;

	for (size_t k = 0; k < i->nn; k++)
		cJSON_AddItemToArray(a, cJSON_CreateString(i->notified[k]));
	s = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return s;
}

static int
inc_save(struct pd_incidents *m, struct inc *i)
{
	struct pd_err err = {0};
	int rc;

	free(i->row.members);
	free(i->row.notified);
	i->row.members = inc_members_json(i, (size_t)-1);
	i->row.notified = inc_notified_json(i);
	rc = pd_store_incident_save(m->st, &i->row, &err);
	if (rc != 0)
		pd_log_err("incident %s: %s", i->row.key, err.msg);
	return rc;
}

static void
inc_event(struct pd_incidents *m, struct inc *i, int64_t now, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void
inc_event(struct pd_incidents *m, struct inc *i, int64_t now, const char *kind, const char *fmt, ...)
{
	char detail[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	pd_log_redact(detail, sizeof(detail));
	pd_store_incident_event(m->st, i->row.id, now, kind, detail, NULL);
}

static int
inc_load_row(void *ud, const struct pd_incident_row *r)
{
	struct pd_incidents *m = ud;
	struct inc *i;
	cJSON *a;
	const cJSON *e;
	int rc = 0;

	if (m->nopen >= INC_MAX_OPEN)
		return 0;
	i = calloc(1, sizeof(*i));
	if (i == NULL)
		return PD_ERR_NOMEM;
	i->row = *r;
	i->row.members = strdup(r->members ? r->members : "[]");
	i->row.notified = strdup(r->notified ? r->notified : "[]");
	i->row.status_message = strdup(r->status_message ? r->status_message : "");
	a = cJSON_Parse(r->members ? r->members : "[]");
	cJSON_ArrayForEach(e, a) {
		if (cJSON_IsString(e) && inc_member_add(i, e->valuestring, 0) < 0)
			rc = PD_ERR_NOMEM;
	}
	cJSON_Delete(a);
	a = cJSON_Parse(r->notified ? r->notified : "[]");
	cJSON_ArrayForEach(e, a) {
		if (cJSON_IsString(e) && inc_notified_add(i, e->valuestring) != 0)
			rc = PD_ERR_NOMEM;
	}
	cJSON_Delete(a);
	if (rc != 0) {
		inc_free(i);
		return rc;
	}
	m->open[m->nopen++] = i;
	pd_log_warn("incident %s (%s) is still open: %zu probes", r->key,
		    pd_severity_str(r->severity), i->nm);
	return 0;
}

int
pd_incidents_load(struct pd_incidents *m, struct pd_err *err)
{
	return pd_store_incidents(m->st, 1, INC_MAX_OPEN, inc_load_row, m, err);
}

int
pd_incidents_reload(struct pd_incidents *m, struct pd_err *err)
{
	for (size_t i = 0; i < m->nopen; i++)
		inc_free(m->open[i]);
	m->nopen = 0;
	return pd_incidents_load(m, err);
}

/* ---- queries ---- */

int
pd_incidents_has_probe(const struct pd_incidents *m, const char *probe)
{
	for (size_t i = 0; i < m->nopen; i++)
		if (m->open[i]->row.mode != PD_MODE_CERT && /* apart from outages */
		    inc_member_idx(m->open[i], probe) >= 0)
			return 1;
	return 0;
}

size_t
pd_incidents_open_counts(const struct pd_incidents *m, size_t counts[5])
{
	memset(counts, 0, 5 * sizeof(counts[0]));
	for (size_t i = 0; i < m->nopen; i++) {
		int s = m->open[i]->row.severity;

		counts[s >= 1 && s <= 4 ? s : 0]++;
	}
	return m->nopen;
}

/* ---- drafting and notifying ---- */

/* The mode's title in the user's words (classify: upstream). */
#define INC_TITLE_MAX 128
static const char *
inc_mode_title(const struct pd_incidents *m, int mode, char *buf)
{
	return pd_mode_title_of((enum pd_mode)mode, m->cfg ? &m->cfg->classify : NULL, buf,
				INC_TITLE_MAX);
}

static const struct pd_probe_cfg *
cfg_probe(const struct pd_incidents *m, const char *name)
{
	return m->cfg ? pd_config_probe(m->cfg, name) : NULL;
}

/* Append p's endpoint to list (n entries, their text in buf) unless list or other (the
 * nother endpoints already listed elsewhere) has it. */
static void
draft_add(const struct pd_probe_cfg *p, char (*buf)[96], const char **list, size_t *n,
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
static void
inc_draft(struct pd_incidents *m, struct inc *i, const struct pd_class_input *in, size_t n,
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
		const struct pd_probe_cfg *p = cfg_probe(m, i->m[k].probe);

		if (p != NULL)
			draft_add(p, abuf, affected, &na, NULL, 0);
	}
	for (size_t k = 0; k < n && nw < 256; k++) {
		const struct pd_probe_cfg *p;

		if (in[k].control || in[k].freshness || inc_member_idx(i, in[k].name) >= 0 ||
		    in[k].status != PD_EVAL_UP || (p = cfg_probe(m, in[k].name)) == NULL)
			continue;
		draft_add(p, wbuf, working, &nw, affected, na);
	}
	if (na == 0)
		return;
	ci.affected = affected;
	ci.naffected = na;
	ci.working = working;
	ci.nworking = nw;
	ci.start_ms = i->row.opened_ms;
	ci.end_ms = i->row.resolved_ms;
	ci.severity = i->row.severity ? pd_severity_str(i->row.severity) : NULL;
	ci.mode = i->row.mode ? inc_mode_title(m, i->row.mode, mtitle) : NULL;
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

/* Who gets a notification (the rule is in incident.h, "Notifications"). */
enum inc_to {
	INC_TO_ROUTED,   /* trigger: every target routed for the severity (declared, escalated) */
	INC_TO_MISSING,  /* trigger: routed targets that do not have this incident yet (joined) */
	INC_TO_NOTIFIED, /* resolve: every target that got a trigger */
};

static int
inc_sends_to(const struct inc *i, enum inc_to to, const struct pd_notify_cfg *tc)
{
	switch (to) {
	case INC_TO_ROUTED:
		return pd_notify_routes(tc, i->row.severity);
	case INC_TO_MISSING:
		return pd_notify_routes(tc, i->row.severity) && !inc_notified_has(i, tc->name);
	case INC_TO_NOTIFIED:
		return inc_notified_has(i, tc->name);
	}
	return 0;
}

/* Queue action ("trigger" | "resolve") for the incident to the targets `to` selects.
 * Returns how many rows were queued. */
static int
inc_notify(struct pd_incidents *m, struct inc *i, const char *action, enum inc_to to,
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
		int k = inc_member_idx(i, in[j].name);

		if (k >= 0 && (first < 0 || k < first)) {
			first = k;
			pin = &in[j];
			pr = last ? last[j] : NULL;
		}
	}
	pc = cfg_probe(m, pin ? pin->name : (i->nm ? i->m[0].probe : ""));
	if (strcmp(action, "trigger") == 0) {
		snprintf(summary, sizeof(summary), "[%s]%s%s %s%s%s: %s", pd_severity_str(i->row.severity),
			 i->row.drill ? " DRILL" : "", m->cfg && m->cfg->location ? " " : "",
			 m->cfg && m->cfg->location ? m->cfg->location : "",
			 "", i->row.title, i->row.reason);
	} else {
		pd_duration_format(now - i->row.opened_ms, dur, sizeof(dur));
		snprintf(summary, sizeof(summary), "[%s]%s RESOLVED%s%s: %s (after %s)",
			 pd_severity_str(i->row.severity), i->row.drill ? " DRILL" : "",
			 m->cfg && m->cfg->location ? " " : "",
			 m->cfg && m->cfg->location ? m->cfg->location : "", i->row.title, dur);
	}
	/* cert and SLO incidents carry their own reason */
	if (pin == NULL && strcmp(action, "resolve") == 0 && i->nm > 0 &&
	    i->row.mode != PD_MODE_CERT && !inc_is_slo(i))
		snprintf(reason, sizeof(reason), "probe removed from configuration");
	else
		snprintf(reason, sizeof(reason), "%s", pr ? pr->verdict : i->row.reason);
	pd_log_redact(summary, sizeof(summary));
	pd_log_redact(reason, sizeof(reason));
	runbook[0] = '\0';
	if (i->row.mode != PD_MODE_NONE)
		pd_incident_runbook_url(m->cfg ? m->cfg->runbooks_base_url : NULL,
					pd_mode_runbook((enum pd_mode)i->row.mode), runbook,
					sizeof(runbook));
	else if (inc_is_slo(i))
		pd_incident_runbook_url(m->cfg ? m->cfg->runbooks_base_url : NULL,
					"slo-burn-rate.md", runbook, sizeof(runbook));
	ev.event = action;
	ev.dedup_key = i->row.key;
	ev.probe = pin ? pin->name : (i->nm ? i->m[0].probe : "drill");
	ev.family = pin ? pin->family : ev.probe;
	ev.tier = pc ? pd_tier_str(pc->tier) : NULL;
	ev.summary = summary;
	ev.reason = reason;
	ev.outcome = pin ? pd_outcome_str(pin->last_outcome) : NULL;
	ev.location = m->cfg ? m->cfg->location : NULL;
	ev.ts_ms = now;
	ev.consecutive_failures = pin ? pin->consec_fail : 0;
	ev.down_since_ms = i->row.opened_ms;
	ev.severity = pd_severity_str(i->row.severity);
	ev.mode = i->row.mode ? pd_mode_str((enum pd_mode)i->row.mode) : NULL;
	ev.mode_title = i->row.mode ? inc_mode_title(m, i->row.mode, mtitle) : NULL;
	ev.runbook = runbook[0] ? runbook : NULL;
	ev.incident_id = i->row.id;
	/* a bounded list: the first members by name, all of them counted */
	probes = inc_members_json(i, INC_PAYLOAD_PROBES);
	ev.probes_json = probes;
	ev.probe_count = i->nm;
	ev.status_message = i->row.status_message && i->row.status_message[0] ? i->row.status_message : NULL;
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
		if (json_upd != NULL && inc_notified_has(i, tc->name))
			payload = json_upd;
		if (pd_store_outbox_add(m->st, tc->name, i->row.key, action, payload, now, NULL, &err) != 0) {
			pd_log_err("incident %s: cannot queue %s for %s: %s", i->row.key, action,
				   tc->name, err.msg);
			continue;
		}
		queued++;
		if (strcmp(action, "trigger") == 0 && inc_notified_add(i, tc->name) != 0)
			pd_log_err("incident %s: out of memory noting that %s has the trigger",
				   i->row.key, tc->name);
		inc_event(m, i, now, "notify_queued", "%s to %s", action, tc->name);
	}
	if (routed == 0 && to == INC_TO_ROUTED)
		inc_event(m, i, now, "not_routed", "no target takes %s (%s)",
			  pd_severity_str(i->row.severity),
			  i->row.severity == 4 ? "P4 never pages: ticket targets only" : "check notify severities");
	free(json);
	free(json_upd);
	return queued;
}

/* ---- the update ---- */

static void
inc_title(struct pd_incidents *m, struct inc *i)
{
	char eps[200] = "";
	size_t len = 0;

	for (size_t k = 0; k < i->nm && len + 40 < sizeof(eps); k++) {
		const struct pd_probe_cfg *p = cfg_probe(m, i->m[k].probe);
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
		 i->row.mode == PD_MODE_CERT ? "TLS certificate expiring: " :
		 i->row.mode == PD_MODE_DATABASE ? "Every endpoint degraded: " :
		 i->row.mode == PD_MODE_KEY ? "API key rejected: " :
		 i->row.mode == PD_MODE_QUEUE ? "Batch work late: " : "Elevated errors on ",
		 eps);
}

/* ---- grouping by cause (the rule is in incident.h, "Grouping") ---- */

static enum pd_mode
inc_cause(const struct inc *i)
{
	return i->row.mode != PD_MODE_NONE ? (enum pd_mode)i->row.mode : i->cause;
}

/* How plausibly an open incident of cause `have` shares the cause of a probe whose own
 * failure indicates `want` (sync: a synchronous probe): 0 not at all, 1 covered, 2 the
 * same cause. */
static int
inc_covers(enum pd_mode have, enum pd_mode want, int sync)
{
	if (have == PD_MODE_CERT)
		return 0;
	if (have == PD_MODE_KEY || want == PD_MODE_KEY)
		return have == want ? 2 : 0;
	if (have == want)
		return 2;
	if (have == PD_MODE_DATABASE || want == PD_MODE_DATABASE)
		return 1; /* "everything slow": Mode 2 absorbs the rest */
	if (want == PD_MODE_NONE && sync && have == PD_MODE_UPSTREAM)
		return 1; /* an endpoint failing without a telling class, during an outage */
	return 0;
}

/* The open incident probe k joins (the best cover, the newest among equals), or NULL. */
static struct inc *
inc_pick(struct pd_incidents *m, enum pd_mode want, int sync, int64_t now)
{
	struct inc *best = NULL;
	int best_score = 0;

	for (size_t j = m->nopen; j-- > 0;) {
		struct inc *i = m->open[j];
		int sc;

		if (i->row.drill || inc_is_slo(i) ||
		    now - i->row.last_join_ms > m->cfg->correlation_ms)
			continue;
		sc = inc_covers(inc_cause(i), want, sync);
		if (sc > best_score) {
			best = i;
			best_score = sc;
		}
	}
	return best;
}

static struct inc *
inc_open(struct pd_incidents *m, int64_t now)
{
	struct inc *i;

	if (m->nopen >= INC_MAX_OPEN)
		return m->open[m->nopen - 1]; /* never drop an alert: join the newest */
	i = calloc(1, sizeof(*i));
	if (i == NULL)
		return NULL;
	i->row.opened_ms = now;
	i->row.last_join_ms = now;
	snprintf(i->row.key, sizeof(i->row.key), "probed:%s%sinc-%lld",
		 m->cfg && m->cfg->location ? m->cfg->location : "",
		 m->cfg && m->cfg->location ? "/" : "", (long long)now);
	/* two causes may open two incidents in the same pass (the same ms): the
	 * second key gets a suffix, "...inc-<ms>-2", so each keeps its own dedup key */
	for (int sfx = 2, clash = 1; clash && sfx <= INC_MAX_OPEN + 1; sfx++) {
		clash = 0;
		for (size_t j = 0; j < m->nopen && !clash; j++)
			clash = strcmp(m->open[j]->row.key, i->row.key) == 0;
		if (clash)
			snprintf(i->row.key, sizeof(i->row.key), "probed:%s%sinc-%lld-%d",
				 m->cfg && m->cfg->location ? m->cfg->location : "",
				 m->cfg && m->cfg->location ? "/" : "", (long long)now, sfx);
	}
	m->open[m->nopen++] = i;
	return i;
}

static void
inc_close(struct pd_incidents *m, size_t idx)
{
	inc_free(m->open[idx]);
	memmove(&m->open[idx], &m->open[idx + 1], (m->nopen - idx - 1) * sizeof(m->open[0]));
	m->nopen--;
}

int
pd_incidents_update(struct pd_incidents *m, const struct pd_class_input *in,
		    const struct pd_result *const *last, size_t n, int64_t now)
{
	struct pd_classify_rules rules;
	int *alerting = NULL, *member = NULL, *cause = NULL; /* cause: mode per new alert */
	int queued = 0;

	if (m->cfg == NULL || n == 0)
		return 0;
	rules = m->cfg->classify;
	alerting = calloc(n, sizeof(*alerting));
	member = calloc(n, sizeof(*member));
	cause = calloc(n, sizeof(*cause));
	if (alerting == NULL || member == NULL || cause == NULL)
		goto out;
	pd_classify_alerting(in, n, &rules, now, alerting);
	for (size_t k = 0; k < n; k++) {
		/* the paging rule comes first: an unconfirmed failure (FAILING) waits for its
		 * confirmation, and a window rule needs as many failures as a page does */
		if (in[k].control || in[k].status == PD_EVAL_FAILING)
			alerting[k] = 0;
		else if (alerting[k] && in[k].status == PD_EVAL_UP && in[k].win.failures == 1)
			alerting[k] = 0;
	}

	/* 1. join or open, by cause: the probes whose own failure tells a mode first, so
	 * that one which tells none finds their incident in the same pass */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < n; k++) {
			struct inc *target;
			enum pd_mode want;

			if (!alerting[k] || pd_incidents_has_probe(m, in[k].name))
				continue;
			if (pass == 0)
				cause[k] = (int)pd_classify_mode_of(in, n, k, &rules, now);
			want = (enum pd_mode)cause[k];
			if ((want == PD_MODE_NONE) != (pass == 1))
				continue;
			target = inc_pick(m, want, !in[k].freshness, now);
			if (target == NULL) {
				if ((target = inc_open(m, now)) == NULL)
					break;
				if (target->nm == 0)
					target->cause = want;
			}
			if (inc_member_add(target, in[k].name, in[k].status == PD_EVAL_UP) < 0) {
				/* not a member, so it tries again on the next pass; nothing was sent */
				pd_log_err("incident %s: out of memory adding %s", target->row.key,
					   in[k].name);
				continue;
			}
			target->row.last_join_ms = now;
			if (target->row.severity != 0)
				target->joined = 1;
			if (target->row.id == 0)
				inc_save(m, target); /* get an id for the timeline */
			inc_event(m, target, now, target->nm == 1 ? "opened" : "joined",
				  "%s: %s%s%s%s%s", in[k].name, pd_outcome_str(in[k].last_outcome),
				  last && last[k] ? " — " : "", last && last[k] ? last[k]->verdict : "",
				  want != PD_MODE_NONE ? "; indicates " : "",
				  want != PD_MODE_NONE ? pd_mode_str(want) : "");
		}
	}

	/* 2. classify, escalate, resolve */
	for (size_t j = 0; j < m->nopen;) {
		struct inc *i = m->open[j];
		struct pd_verdict v;
		struct pd_maint_hit hold = {0}, h;
		int recovered = 1, changed = 0, was_new = i->row.severity == 0;
		int alone = 0, nheld = 0, nlive = 0;
		char mtitle[INC_TITLE_MAX];

		if (i->row.drill || i->row.mode == PD_MODE_CERT || inc_is_slo(i)) {
			j++;
			continue;
		}
		memset(member, 0, n * sizeof(*member));
		for (size_t k = 0; k < n; k++) {
			int mi = inc_member_idx(i, in[k].name);

			if (mi < 0)
				continue;
			member[k] = 1;
			if (alerting[k] && (alone == 0 || alerting[k] < alone))
				alone = alerting[k];
			if (in[k].status != PD_EVAL_UP || in[k].last_outcome != PD_OUT_OK ||
			    (i->m[mi].by_window && alerting[k]))
				recovered = 0;
			/* a failing member held by maintenance, or one that pages */
			if (!in[k].control && (alerting[k] || in[k].status != PD_EVAL_UP)) {
				if (pd_incidents_held(m, in[k].name, in[k].family, now, &h)) {
					if (nheld++ == 0 || h.until_ms > hold.until_ms)
						hold = h;
				} else if (alerting[k] || in[k].status == PD_EVAL_DOWN) {
					nlive++;
				}
			}
		}
		if (recovered && was_new && i->held) {
			/* it never paged: it closes quietly, nothing is sent */
			i->row.resolved_ms = now;
			inc_event(m, i, now, "resolved", "recovered during maintenance; nothing was sent");
			pd_log_info("incident %s: recovered during maintenance; closed without a page",
				    i->row.key);
			inc_save(m, i);
			inc_close(m, j);
			continue;
		}
		/* held while every failing member is held; a held incident that never paged
		 * stays held while nothing fails (it closes quietly once recovered) */
		if (nlive == 0 && (nheld > 0 || (i->held && was_new))) {
			if (!i->held) {
				char until[40];

				pd_clock_rfc3339(hold.until_ms, until, sizeof(until));
				inc_event(m, i, now, "maintenance", "pages held: %s until %s (%s)",
					  hold.name, until, hold.reason);
				pd_log_warn("incident %s: pages held by %s until %s: %s", i->row.key,
					    hold.name, until, hold.reason);
				i->held = 1;
			}
			j++;
			continue;
		}
		if (i->held) {
			inc_event(m, i, now, "maintenance", "maintenance over, still failing: %s",
				  was_new ? "paging now" : "pages resume");
			pd_log_warn("incident %s: maintenance over, still failing", i->row.key);
			i->held = 0;
		}
		if (recovered && !was_new) {
			i->row.resolved_ms = now;
			inc_draft(m, i, in, n, now);
			inc_event(m, i, now, "resolved", "every probe recovered");
			pd_log_info("incident %s: resolved (%s, open for %llds)", i->row.key,
				    pd_severity_str(i->row.severity),
				    (long long)((now - i->row.opened_ms) / 1000));
			queued += inc_notify(m, i, "resolve", INC_TO_NOTIFIED, in, last, n, now);
			inc_save(m, i);
			inc_close(m, j);
			continue;
		}
		pd_classify(in, n, member, &rules, now, i->row.opened_ms, &v);
		if (v.severity == 0)
			v.severity = alone ? alone : (i->row.severity ? i->row.severity : 0);
		if (v.severity == 0) {
			/* nothing alerting yet (e.g. members recovered before a first verdict) */
			j++;
			continue;
		}
		if (was_new) {
			i->row.severity = v.severity;
			i->row.mode = v.mode;
			snprintf(i->row.reason, sizeof(i->row.reason), "%s", v.reason);
			snprintf(i->row.evidence, sizeof(i->row.evidence), "%s", v.evidence);
			inc_title(m, i);
			inc_draft(m, i, in, n, now);
			inc_event(m, i, now, "declared", "%s %s: %s", pd_severity_str(v.severity),
				  inc_mode_title(m, v.mode, mtitle), v.reason);
			pd_log_err("incident %s: %s %s — %s (%s)", i->row.key,
				   pd_severity_str(v.severity), i->row.title, v.reason,
				   inc_mode_title(m, v.mode, mtitle));
			inc_save(m, i);
			queued += inc_notify(m, i, "trigger", INC_TO_ROUTED, in, last, n, now);
			changed = 1;
		} else if (v.severity < i->row.severity) {
			/* escalate; never silently downgrade while open */
			inc_event(m, i, now, "severity_changed", "%s -> %s: %s",
				  pd_severity_str(i->row.severity), pd_severity_str(v.severity),
				  v.reason);
			pd_log_err("incident %s: escalated %s -> %s: %s", i->row.key,
				   pd_severity_str(i->row.severity), pd_severity_str(v.severity),
				   v.reason);
			i->row.severity = v.severity;
			if (v.mode != PD_MODE_NONE)
				i->row.mode = v.mode;
			snprintf(i->row.reason, sizeof(i->row.reason), "%s", v.reason);
			snprintf(i->row.evidence, sizeof(i->row.evidence), "%s", v.evidence);
			inc_title(m, i);
			inc_draft(m, i, in, n, now);
			inc_save(m, i);
			queued += inc_notify(m, i, "trigger", INC_TO_ROUTED, in, last, n, now);
			changed = 1;
		} else if (i->joined) {
			/* more probes fail together: the incident is updated (members, title,
			 * evidence, status draft; the "joined" rows are in the timeline), but a
			 * target that has the trigger gets nothing: new members do not re-page.
			 * Only a routed target without it yet (added by a reload, or whose row
			 * could not be queued) gets its first trigger now. */
			if (v.mode != PD_MODE_NONE && i->row.mode == PD_MODE_NONE) {
				i->row.mode = v.mode;
			} else if (v.mode == PD_MODE_DATABASE && i->row.mode != PD_MODE_DATABASE &&
				   i->row.mode != PD_MODE_KEY) {
				/* everything is failing now: the wider cause */
				inc_event(m, i, now, "mode_identified", "%s (was %s)",
					  pd_mode_title(v.mode), pd_mode_str((enum pd_mode)i->row.mode));
				i->row.mode = v.mode;
			}
			snprintf(i->row.evidence, sizeof(i->row.evidence), "%s", v.evidence);
			inc_title(m, i);
			inc_draft(m, i, in, n, now);
			inc_save(m, i);
			queued += inc_notify(m, i, "trigger", INC_TO_MISSING, in, last, n, now);
			changed = 1;
		} else if (v.mode != PD_MODE_NONE && v.mode != (enum pd_mode)i->row.mode &&
			   i->row.mode == PD_MODE_NONE) {
			inc_event(m, i, now, "mode_identified", "%s",
				  inc_mode_title(m, v.mode, mtitle));
			i->row.mode = v.mode;
			snprintf(i->row.evidence, sizeof(i->row.evidence), "%s", v.evidence);
			inc_title(m, i);
			inc_draft(m, i, in, n, now);
			changed = 1;
		}
		i->joined = 0;
		if (changed)
			inc_save(m, i);
		j++;
	}
out:
	free(alerting);
	free(member);
	free(cause);
	return queued;
}

/* certificate expiry, one incident per probe (incident.h) */
int
pd_incidents_cert(struct pd_incidents *m, const char *probe, int severity, const char *reason,
		  int64_t now)
{
	struct inc *i = NULL;
	size_t idx = 0;
	int queued = 0;

	for (size_t j = 0; j < m->nopen; j++)
		if (m->open[j]->row.mode == PD_MODE_CERT && inc_member_idx(m->open[j], probe) >= 0) {
			i = m->open[j];
			idx = j;
			break;
		}
	if (severity < 1 || severity > 4) {
		if (i == NULL)
			return 0;
		i->row.resolved_ms = now;
		snprintf(i->row.reason, sizeof(i->row.reason), "%s", reason && reason[0] ? reason :
			 "certificate no longer near expiry");
		inc_event(m, i, now, "resolved", "%s", i->row.reason);
		pd_log_info("incident %s: resolved (%s)", i->row.key, reason ? reason : "");
		queued = inc_notify(m, i, "resolve", INC_TO_NOTIFIED, NULL, NULL, 0, now);
		inc_save(m, i);
		inc_close(m, idx);
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
		if (inc_member_add(i, probe, 0) < 0 ||
		    (i->row.status_message = strdup("")) == NULL) {
			inc_free(i);
			return 0;
		}
		m->open[m->nopen++] = i;
	} else if (severity >= i->row.severity) {
		/* same or less urgent: never downgraded while open, the reason is updated */
		if (reason && strcmp(reason, i->row.reason) != 0) {
			snprintf(i->row.reason, sizeof(i->row.reason), "%s", reason);
			snprintf(i->row.evidence, sizeof(i->row.evidence), "%s", reason);
			inc_save(m, i);
		}
		return 0;
	}
	if (i->row.id == 0)
		inc_save(m, i); /* an id for the timeline */
	if (i->row.severity != 0)
		inc_event(m, i, now, "severity_changed", "%s -> %s: %s",
			  pd_severity_str(i->row.severity), pd_severity_str(severity),
			  reason ? reason : "");
	else
		inc_event(m, i, now, "declared", "%s %s: %s", pd_severity_str(severity),
			  pd_mode_title(PD_MODE_CERT), reason ? reason : "");
	i->row.severity = severity;
	snprintf(i->row.reason, sizeof(i->row.reason), "%s", reason ? reason : "");
	snprintf(i->row.evidence, sizeof(i->row.evidence), "%s", reason ? reason : "");
	inc_title(m, i);
	pd_log_warn("incident %s: %s %s — %s", i->row.key, pd_severity_str(severity),
		    i->row.title, i->row.reason);
	inc_save(m, i);
	queued = inc_notify(m, i, "trigger", INC_TO_ROUTED, NULL, NULL, 0, now);
	inc_save(m, i);
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
			draft_add(p, abuf, affected, &na, NULL, 0);
	}
	if (na == 0)
		return;
	ci.affected = affected;
	ci.naffected = na;
	ci.start_ms = i->row.opened_ms;
	ci.end_ms = i->row.resolved_ms;
	ci.severity = pd_severity_str(i->row.severity);
	pd_buf_init(&out, 4096);
	if (pd_comms_status(i->row.resolved_ms ? PD_COMMS_RESOLVED : PD_COMMS_INVESTIGATING, &ci,
			    &out, &err) == 0 && out.data) {
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

	pd_duration_format(o->period_ms, per, sizeof(per));
	if (o->lat_under_ms > 0) {
		pd_duration_format(o->lat_under_ms, lw, sizeof(lw));
		snprintf(i->row.title, sizeof(i->row.title),
			 "Latency budget burning on %s (SLO %.4g%% under %s over %s)", o->name,
			 o->objective * 100, lw, per);
	} else {
		snprintf(i->row.title, sizeof(i->row.title),
			 "Error budget burning on %s (SLO %.4g%% over %s)", o->name,
			 o->objective * 100, per);
	}
	if (r != NULL) {
		pd_duration_format(r->long_ms, lw, sizeof(lw));
		pd_duration_format(r->short_ms, sw, sizeof(sw));
		if (s->exhaustion_ms >= 60000) {
			char d[24];

			pd_duration_format(s->exhaustion_ms - s->exhaustion_ms % 60000, d, sizeof(d));
			snprintf(ex, sizeof(ex), "gone in %s", d);
		} else if (s->exhaustion_ms >= 0) {
			snprintf(ex, sizeof(ex), "gone in under 1m");
		} else {
			snprintf(ex, sizeof(ex), "%s", s->budget_left <= 0 ? "already spent" :
				 "not draining at the 1h rate");
		}
		snprintf(i->row.reason, sizeof(i->row.reason),
			 "burn %.1fx over %s and %.1fx over %s (rule: %gx, %s); %.1f%% of the "
			 "budget left, %s", pd_slo_burn_of(s, r->long_ms), lw,
			 pd_slo_burn_of(s, r->short_ms), sw, r->burn,
			 r->severity <= 2 ? "page" : r->severity == 3 ? "chat" : "ticket",
			 s->budget_left * 100, ex);
	}
	pd_slo_evidence(s, rules, i->row.evidence, sizeof(i->row.evidence));
}

int
pd_incidents_slo(struct pd_incidents *m, const struct pd_slo_cfg *o, const struct pd_slo_status *s,
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
		if (inc_is_slo(m->open[idx]) && strcmp(m->open[idx]->m[0].probe, member) == 0) {
			i = m->open[idx];
			break;
		}
	if (s->severity == 0) {
		if (i == NULL)
			return 0;
		i->row.resolved_ms = now;
		pd_slo_evidence(s, rules, i->row.evidence, sizeof(i->row.evidence));
		inc_slo_draft(m, i, o);
		inc_event(m, i, now, "resolved", "no burn-rate rule fires: %s", i->row.evidence);
		pd_log_info("incident %s: resolved (%s SLO burn on %s)", i->row.key,
			    pd_severity_str(i->row.severity), label);
		queued = inc_notify(m, i, "resolve", INC_TO_NOTIFIED, NULL, NULL, 0, now);
		inc_save(m, i);
		inc_close(m, idx);
		return queued;
	}
	if (i == NULL) {
		if (m->nopen >= INC_MAX_OPEN ||
		    (i = inc_open(m, now)) == NULL)
			return 0;
		snprintf(i->row.key, sizeof(i->row.key), "probed:%s%sslo-%.30s%s-%lld",
			 m->cfg->location ? m->cfg->location : "", m->cfg->location ? "/" : "",
			 o->name, o->lat_under_ms > 0 ? "-latency" : "", (long long)now);
		if (inc_member_add(i, member, 0) < 0) {
			inc_close(m, m->nopen - 1);
			return 0;
		}
		i->row.severity = s->severity;
		inc_slo_words(i, o, s, rules);
		inc_slo_draft(m, i, o);
		inc_save(m, i);
		inc_event(m, i, now, "declared", "%s SLO burn on %s: %s", pd_severity_str(s->severity),
			  label, i->row.reason);
		pd_log_err("incident %s: %s %s — %s", i->row.key, pd_severity_str(s->severity),
			   i->row.title, i->row.reason);
		return inc_notify(m, i, "trigger", INC_TO_ROUTED, NULL, NULL, 0, now);
	}
	if (s->severity < i->row.severity) {
		inc_event(m, i, now, "severity_changed", "%s -> %s: burn-rate rule %d fires",
			  pd_severity_str(i->row.severity), pd_severity_str(s->severity), s->rule + 1);
		i->row.severity = s->severity;
		i->row.last_join_ms = now;
		inc_slo_words(i, o, s, rules);
		inc_slo_draft(m, i, o);
		inc_save(m, i);
		return inc_notify(m, i, "trigger", INC_TO_ROUTED, NULL, NULL, 0, now);
	}
	/* still burning: refresh the figures once a minute (never lowers the severity) */
	if (now - i->row.last_join_ms >= 60000) {
		i->row.last_join_ms = now;
		pd_slo_evidence(s, rules, i->row.evidence, sizeof(i->row.evidence));
		inc_save(m, i);
	}
	return 0;
}

void
pd_incidents_slo_prune(struct pd_incidents *m, int64_t now)
{
	for (size_t j = 0; m->cfg && j < m->nopen;) {
		struct inc *i = m->open[j];
		int known = 0;

		for (size_t k = 0; inc_is_slo(i) && k < m->cfg->nslos && !known; k++) {
			char label[140];

			pd_slo_label(&m->cfg->slos[k], label, sizeof(label));
			known = strcmp(i->m[0].probe + 4, label) == 0;
		}
		if (!inc_is_slo(i) || known) {
			j++;
			continue;
		}
		i->row.resolved_ms = now;
		inc_event(m, i, now, "resolved", "objective removed from the configuration");
		pd_log_info("incident %s: resolved (its SLO %s was removed)", i->row.key,
			    i->m[0].probe + 4);
		inc_notify(m, i, "resolve", INC_TO_NOTIFIED, NULL, NULL, 0, now);
		inc_save(m, i);
		inc_close(m, j);
	}
}

void
pd_incidents_drill_key(const struct pd_incidents *m, int64_t now, char *out, size_t cap)
{
	snprintf(out, cap, "probed:%s%sdrill-%lld",
		 m->cfg && m->cfg->location ? m->cfg->location : "",
		 m->cfg && m->cfg->location ? "/" : "", (long long)now);
}

int
pd_incidents_drill(struct pd_incidents *m, int severity, int64_t now, struct pd_err *err)
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
	pd_incidents_drill_key(m, now, i->row.key, sizeof(i->row.key));
	snprintf(i->row.title, sizeof(i->row.title), "DRILL — this is a drill, not an outage");
	snprintf(i->row.reason, sizeof(i->row.reason),
		 "quarterly incident drill (%s): run the full ritual, mark every post as a drill",
		 pd_severity_str(severity));
	i->row.status_message = strdup("[DRILL] This is an incident drill. No service is affected.");
	if (inc_save(m, i) != 0) {
		inc_free(i);
		return pd_err_set(err, PD_ERR_DB, "cannot store the drill");
	}
	inc_event(m, i, now, "declared", "DRILL %s", pd_severity_str(severity));
	queued = inc_notify(m, i, "trigger", INC_TO_ROUTED, NULL, NULL, 0, now);
	/* closed in probed's books at once; the pager's copy stays open until the on-call
	 * acknowledges and resolves it, as the drill ritual asks */
	i->row.resolved_ms = now;
	inc_event(m, i, now, "resolved", "drill recorded; resolve it in the pager when the ritual is done");
	inc_save(m, i);
	inc_free(i);
	return queued;
}

/* ---- one severity, everywhere (the map every surface reads) ---- */

void
pd_incident_sevmap_init(struct pd_incident_sevmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
pd_incident_sevmap_cleanup(struct pd_incident_sevmap *m)
{
	free(m->v);
	pd_incident_sevmap_init(m);
}

/* Index of probe in m->v, or where it would go (*found 0). */
static size_t
sevmap_find(const struct pd_incident_sevmap *m, const char *probe, int *found)
{
	size_t lo = 0, hi = m->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->v[mid].probe, probe);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
sevmap_put(struct pd_incident_sevmap *m, const char *probe, const struct pd_incident_row *r)
{
	struct pd_incident_sev *e;
	int found;
	size_t at = sevmap_find(m, probe, &found);

	if (found) {
		e = &m->v[at];
		if (r->severity >= e->severity)
			return 0;
	} else {
		if (m->n == m->cap) {
			size_t ncap = m->cap ? m->cap * 2 : 16;
			struct pd_incident_sev *nv = realloc(m->v, ncap * sizeof(*nv));

			if (nv == NULL)
				return PD_ERR_NOMEM;
			m->v = nv;
			m->cap = ncap;
		}
		memmove(&m->v[at + 1], &m->v[at], (m->n - at) * sizeof(m->v[0]));
		m->n++;
		e = &m->v[at];
		snprintf(e->probe, sizeof(e->probe), "%s", probe);
	}
	e->severity = r->severity;
	snprintf(e->key, sizeof(e->key), "%s", r->key);
	return 0;
}

int
pd_incident_sevmap_add(struct pd_incident_sevmap *m, const struct pd_incident_row *r)
{
	cJSON *a;
	const cJSON *e;
	int rc = 0;

	if (r->resolved_ms != 0 || r->drill || r->severity < 1 || r->severity > 4)
		return 0;
	m->counts[r->severity]++;
	a = cJSON_Parse(r->members ? r->members : "[]");
	cJSON_ArrayForEach(e, a) {
		if (cJSON_IsString(e) && e->valuestring[0] != '\0' &&
		    (rc = sevmap_put(m, e->valuestring, r)) != 0)
			break;
	}
	cJSON_Delete(a);
	return rc;
}

static int
sevmap_on_row(void *ud, const struct pd_incident_row *r)
{
	return pd_incident_sevmap_add(ud, r);
}

int
pd_incident_sevmap_load(struct pd_incident_sevmap *m, struct pd_store *st, struct pd_err *err)
{
	int rc = pd_store_incidents(st, 1, 0, sevmap_on_row, m, err);

	if (rc == PD_ERR_NOMEM) /* from sevmap_on_row, which has no err to fill */
		return pd_err_set(err, rc, "incident severities: out of memory");
	return rc;
}

int
pd_incident_sevmap_of(const struct pd_incident_sevmap *m, const char *probe, const char **key)
{
	int found = 0;
	size_t at = 0;

	if (probe != NULL)
		at = sevmap_find(m, probe, &found);
	if (key != NULL)
		*key = found ? m->v[at].key : NULL;
	return found ? m->v[at].severity : 0;
}
