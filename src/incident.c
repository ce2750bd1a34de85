/* incident.c — the incident manager: the open incidents and their members, loading them
 * back from the store, grouping alerting probes by cause, and each pass's classify /
 * escalate / resolve (lifecycle diagram in include/probed/incident.h); the severity map
 * every surface reads. Words and notifications are in incident_notify.c, the
 * certificate, SLO and drill incidents in incident_kinds.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "probed/buf.h"
#include "probed/incident.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "incident_int.h"

struct pd_incidents *
pd_incident_new(struct pd_store *st, const struct pd_clock *clock, struct pd_err *err)
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

void
pd_incident_inc_free(struct inc *i)
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
	pd_store_incident_row_cleanup(&i->row);
	free(i);
}

/* An SLO burn-rate incident has one member, "slo:NAME" (no probe name holds a ':'). It
 * is driven by pd_incident_slo alone: probes never join it, and it never absorbs them
 * (a budget burn must not merge into an unrelated outage). */
int
pd_incident_is_slo(const struct inc *i)
{
	return i->nm == 1 && strncmp(i->m[0].probe, "slo:", 4) == 0;
}

void
pd_incident_free(struct pd_incidents *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nopen; i++)
		pd_incident_inc_free(m->open[i]);
	free(m);
}

void
pd_incident_set_config(struct pd_incidents *m, const struct pd_config *cfg)
{
	m->cfg = cfg;
}

void
pd_incident_set_silences(struct pd_incidents *m, const struct pd_silence *s, size_t n)
{
	m->sil = s;
	m->nsil = n;
}

int
pd_incident_held(const struct pd_incidents *m, const char *probe, const char *family, int64_t now,
		 struct pd_maint_hit *hit)
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
int
pd_incident_member_idx(const struct inc *i, const char *probe)
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
int
pd_incident_member_add(struct inc *i, const char *probe, int by_window)
{
	int have = pd_incident_member_idx(i, probe);
	char *name;

	if (have >= 0)
		return have;
	if (i->nm >= UINT32_MAX - 1)
		return -1;
	if (pd_buf_grow(&i->m, &i->mcap, i->nm + 1, sizeof(*i->m)) != 0)
		return -1;
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

int
pd_incident_notified_has(const struct inc *i, const char *target)
{
	for (size_t k = 0; k < i->nn; k++)
		if (strcmp(i->notified[k], target) == 0)
			return 1;
	return 0;
}

/* Record that target has the trigger. 0, or -1 when out of memory. */
int
pd_incident_notified_add(struct inc *i, const char *target)
{
	char **nn, *name;

	if (pd_incident_notified_has(i, target))
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
char *
pd_incident_members_json(const struct inc *i, size_t max)
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

int
pd_incident_save(struct pd_incidents *m, struct inc *i)
{
	struct pd_err err = {0};
	int rc;

	free(i->row.members);
	free(i->row.notified);
	i->row.members = pd_incident_members_json(i, (size_t)-1);
	i->row.notified = inc_notified_json(i);
	rc = pd_store_incident_save(m->st, &i->row, &err);
	if (rc != 0)
		pd_log_err("incident %s: %s", i->row.key, err.msg);
	return rc;
}

void
pd_incident_event(struct pd_incidents *m, struct inc *i, int64_t now, const char *kind,
		  const char *fmt, ...)
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
	cJSON_ArrayForEach(e, a)
	{
		if (cJSON_IsString(e) && pd_incident_member_add(i, e->valuestring, 0) < 0)
			rc = PD_ERR_NOMEM;
	}
	cJSON_Delete(a);
	a = cJSON_Parse(r->notified ? r->notified : "[]");
	cJSON_ArrayForEach(e, a)
	{
		if (cJSON_IsString(e) && pd_incident_notified_add(i, e->valuestring) != 0)
			rc = PD_ERR_NOMEM;
	}
	cJSON_Delete(a);
	if (rc != 0) {
		pd_incident_inc_free(i);
		return rc;
	}
	m->open[m->nopen++] = i;
	pd_log_warn("incident %s (%s) is still open: %zu probes", r->key,
		    pd_classify_severity_str(r->severity), i->nm);
	return 0;
}

int
pd_incident_load(struct pd_incidents *m, struct pd_err *err)
{
	return pd_store_incidents(m->st, 1, INC_MAX_OPEN, inc_load_row, m, err);
}

int
pd_incident_reload(struct pd_incidents *m, struct pd_err *err)
{
	for (size_t i = 0; i < m->nopen; i++)
		pd_incident_inc_free(m->open[i]);
	m->nopen = 0;
	return pd_incident_load(m, err);
}

/* ---- queries ---- */

int
pd_incident_has_probe(const struct pd_incidents *m, const char *probe)
{
	for (size_t i = 0; i < m->nopen; i++)
		if (m->open[i]->row.mode != PD_MODE_CERT && /* apart from outages */
		    pd_incident_member_idx(m->open[i], probe) >= 0)
			return 1;
	return 0;
}

/* An incident pd_incident_update manages: an outage, not a drill, a certificate or an
 * SLO incident. */
static int
inc_is_outage(const struct inc *i)
{
	return !i->row.drill && i->row.mode != PD_MODE_CERT && !pd_incident_is_slo(i);
}

size_t
pd_incident_open_outages(const struct pd_incidents *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nopen; i++)
		n += inc_is_outage(m->open[i]);
	return n;
}

size_t
pd_incident_open_counts(const struct pd_incidents *m, size_t counts[5])
{
	memset(counts, 0, 5 * sizeof(counts[0]));
	for (size_t i = 0; i < m->nopen; i++) {
		int s = m->open[i]->row.severity;

		counts[s >= 1 && s <= 4 ? s : 0]++;
	}
	return m->nopen;
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

		if (i->row.drill || pd_incident_is_slo(i) ||
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

struct inc *
pd_incident_open(struct pd_incidents *m, int64_t now)
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

void
pd_incident_close(struct pd_incidents *m, size_t idx)
{
	pd_incident_inc_free(m->open[idx]);
	memmove(&m->open[idx], &m->open[idx + 1], (m->nopen - idx - 1) * sizeof(m->open[0]));
	m->nopen--;
}

/* Restate the incident from verdict v: its evidence, title and status draft. */
static void
inc_restate(struct pd_incidents *m, struct inc *i, const struct pd_verdict *v,
	    const struct pd_class_input *in, size_t n, int64_t now)
{
	snprintf(i->row.evidence, sizeof(i->row.evidence), "%s", v->evidence);
	pd_incident_title(m, i);
	pd_incident_draft(m, i, in, n, now);
}

int
pd_incident_update(struct pd_incidents *m, const struct pd_class_input *in,
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

			if (!alerting[k] || pd_incident_has_probe(m, in[k].name))
				continue;
			if (pass == 0)
				cause[k] = (int)pd_classify_mode_of(in, n, k, &rules, now);
			want = (enum pd_mode)cause[k];
			if ((want == PD_MODE_NONE) != (pass == 1))
				continue;
			target = inc_pick(m, want, !in[k].freshness, now);
			if (target == NULL) {
				if ((target = pd_incident_open(m, now)) == NULL)
					break;
				if (target->nm == 0)
					target->cause = want;
			}
			if (pd_incident_member_add(target, in[k].name, in[k].status == PD_EVAL_UP) <
			    0) {
				/* not a member, so it tries again on the next pass; nothing was sent */
				pd_log_err("incident %s: out of memory adding %s", target->row.key,
					   in[k].name);
				continue;
			}
			target->row.last_join_ms = now;
			if (target->row.severity != 0)
				target->joined = 1;
			if (target->row.id == 0)
				pd_incident_save(m, target); /* get an id for the timeline */
			pd_incident_event(m, target, now, target->nm == 1 ? "opened" : "joined",
					  "%s: %s%s%s%s%s", in[k].name,
					  pd_outcome_str(in[k].last_outcome),
					  last && last[k] ? " — " : "",
					  last && last[k] ? last[k]->verdict : "",
					  want != PD_MODE_NONE ? "; indicates " : "",
					  want != PD_MODE_NONE ? pd_classify_mode_str(want) : "");
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

		if (!inc_is_outage(i)) {
			j++;
			continue;
		}
		memset(member, 0, n * sizeof(*member));
		for (size_t k = 0; k < n; k++) {
			int mi = pd_incident_member_idx(i, in[k].name);

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
				if (pd_incident_held(m, in[k].name, in[k].family, now, &h)) {
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
			pd_incident_event(m, i, now, "resolved",
					  "recovered during maintenance; nothing was sent");
			pd_log_info(
				"incident %s: recovered during maintenance; closed without a page",
				i->row.key);
			pd_incident_save(m, i);
			pd_incident_close(m, j);
			continue;
		}
		/* held while every failing member is held; a held incident that never paged
		 * stays held while nothing fails (it closes quietly once recovered) */
		if (nlive == 0 && (nheld > 0 || (i->held && was_new))) {
			if (!i->held) {
				char until[40];

				pd_clock_rfc3339(hold.until_ms, until, sizeof(until));
				pd_incident_event(m, i, now, "maintenance",
						  "pages held: %s until %s (%s)", hold.name, until,
						  hold.reason);
				pd_log_warn("incident %s: pages held by %s until %s: %s",
					    i->row.key, hold.name, until, hold.reason);
				i->held = 1;
			}
			j++;
			continue;
		}
		if (i->held) {
			pd_incident_event(m, i, now, "maintenance",
					  "maintenance over, still failing: %s",
					  was_new ? "paging now" : "pages resume");
			pd_log_warn("incident %s: maintenance over, still failing", i->row.key);
			i->held = 0;
		}
		if (recovered && !was_new) {
			i->row.resolved_ms = now;
			pd_incident_draft(m, i, in, n, now);
			pd_incident_event(m, i, now, "resolved", "every probe recovered");
			pd_log_info("incident %s: resolved (%s, open for %llds)", i->row.key,
				    pd_classify_severity_str(i->row.severity),
				    (long long)((now - i->row.opened_ms) / 1000));
			queued += pd_incident_notify(m, i, "resolve", INC_TO_NOTIFIED, in, last, n,
						     now);
			pd_incident_save(m, i);
			pd_incident_close(m, j);
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
			inc_restate(m, i, &v, in, n, now);
			pd_incident_event(m, i, now, "declared", "%s %s: %s",
					  pd_classify_severity_str(v.severity),
					  pd_incident_mode_title(m, v.mode, mtitle), v.reason);
			pd_log_err("incident %s: %s %s — %s (%s)", i->row.key,
				   pd_classify_severity_str(v.severity), i->row.title, v.reason,
				   pd_incident_mode_title(m, v.mode, mtitle));
			pd_incident_save(m, i);
			queued += pd_incident_notify(m, i, "trigger", INC_TO_ROUTED, in, last, n,
						     now);
			changed = 1;
		} else if (v.severity < i->row.severity) {
			/* escalate; never silently downgrade while open */
			pd_incident_event(m, i, now, "severity_changed", "%s -> %s: %s",
					  pd_classify_severity_str(i->row.severity),
					  pd_classify_severity_str(v.severity), v.reason);
			pd_log_err("incident %s: escalated %s -> %s: %s", i->row.key,
				   pd_classify_severity_str(i->row.severity),
				   pd_classify_severity_str(v.severity), v.reason);
			i->row.severity = v.severity;
			if (v.mode != PD_MODE_NONE)
				i->row.mode = v.mode;
			snprintf(i->row.reason, sizeof(i->row.reason), "%s", v.reason);
			inc_restate(m, i, &v, in, n, now);
			pd_incident_save(m, i);
			queued += pd_incident_notify(m, i, "trigger", INC_TO_ROUTED, in, last, n,
						     now);
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
				pd_incident_event(m, i, now, "mode_identified", "%s (was %s)",
						  pd_classify_mode_title(v.mode),
						  pd_classify_mode_str((enum pd_mode)i->row.mode));
				i->row.mode = v.mode;
			}
			inc_restate(m, i, &v, in, n, now);
			pd_incident_save(m, i);
			queued += pd_incident_notify(m, i, "trigger", INC_TO_MISSING, in, last, n,
						     now);
			changed = 1;
		} else if (v.mode != PD_MODE_NONE && v.mode != (enum pd_mode)i->row.mode &&
			   i->row.mode == PD_MODE_NONE) {
			pd_incident_event(m, i, now, "mode_identified", "%s",
					  pd_incident_mode_title(m, v.mode, mtitle));
			i->row.mode = v.mode;
			inc_restate(m, i, &v, in, n, now);
			changed = 1;
		}
		i->joined = 0;
		if (changed)
			pd_incident_save(m, i);
		j++;
	}
out:
	free(alerting);
	free(member);
	free(cause);
	return queued;
}

/* certificate expiry, one incident per probe (incident.h) */

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
		if (pd_buf_grow(&m->v, &m->cap, m->n + 1, sizeof(*m->v)) != 0)
			return PD_ERR_NOMEM;
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
	cJSON_ArrayForEach(e, a)
	{
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
