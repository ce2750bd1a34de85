/* statuspage.c — what the status page shows, gathered and decided: the daemon's live
 * view of every probe, the 24 h series of each from the store (cached
 * PD_STATUSPAGE_CACHE_MS per probe, so reloads of the page do not rescan the results
 * table), the open incidents and the error budgets (collect); probe state -> family
 * state -> overall state, the open pages and the drafted INVESTIGATING message, which
 * comms.c renders from the playbook's template (derive). statuspage_render.c turns the
 * view into HTML or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "probed/buf.h"
#include "probed/comms.h"
#include "probed/incident.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/slo.h"
#include "probed/statuspage.h"
#include "statuspage_int.h"

#ifndef PROBED_VERSION
#define PROBED_VERSION "unknown"
#endif

/* ---- the series cache ------------------------------------------------------------- */

struct sp_cache {
	char name[128];
	int64_t computed_ms;
	int64_t window_start_ms;
	int seen; /* mark for the sweep */
	struct pd_history_stats day;
	struct pd_series_bucket b[NB];
};

struct pd_statuspage {
	struct sp_cache *ents;
	size_t n, cap;
};

struct pd_statuspage *
pd_statuspage_new(void)
{
	return calloc(1, sizeof(struct pd_statuspage));
}

void
pd_statuspage_free(struct pd_statuspage *sp)
{
	if (sp == NULL)
		return;
	free(sp->ents);
	free(sp);
}

const char *
pd_statuspage_state_str(enum pd_statuspage_state s)
{
	switch (s) {
	case PD_STATUSPAGE_UP:
		return "up";
	case PD_STATUSPAGE_DEGRADED:
		return "degraded";
	case PD_STATUSPAGE_DOWN:
		return "down";
	default:
		return "unknown";
	}
}

/* ---- collect ------------------------------------------------------------------------ */

struct collect_ctx {
	struct pd_statuspage_view *v;
	size_t cap;
	int nomem;
};

static void
collect_on_probe(void *ud, const struct pd_probe_view *pv)
{
	struct collect_ctx *c = ud;
	struct pd_statuspage_view *v = c->v;
	struct pd_statuspage_probe *p;

	if (c->nomem)
		return;
	if (pd_buf_grow(&v->probes, &c->cap, v->nprobes + 1, sizeof(*v->probes)) != 0) {
		c->nomem = 1;
		return;
	}
	p = &v->probes[v->nprobes++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", pv->name);
	snprintf(p->family, sizeof(p->family), "%s", pv->family ? pv->family : pv->name);
	snprintf(p->tier, sizeof(p->tier), "%s", pv->tier ? pv->tier : "");
	pd_incident_endpoint_label(pv->cfg ? pv->cfg->url_display : NULL, p->family, p->endpoint,
				   sizeof(p->endpoint));
	p->eval = pv->state->status;
	p->consec_fail = pv->state->consec_fail;
	p->first_fail_ms = pv->state->first_fail_ms;
	p->paged_at_ms = pv->state->paged_at_ms;
	snprintf(p->dedup_key, sizeof(p->dedup_key), "%s", pv->state->dedup_key);
	p->has_result = pv->has_result;
	if (pv->has_result)
		p->last = *pv->last;
	p->cert_not_after_s = pv->cert_not_after_s > 0 ? pv->cert_not_after_s : 0;
	if (pv->maint != NULL) {
		snprintf(p->maint, sizeof(p->maint), "%s", pv->maint->name);
		snprintf(p->maint_reason, sizeof(p->maint_reason), "%s", pv->maint->reason);
		p->maint_until_ms = pv->maint->until_ms;
	}
}

static struct sp_cache *
cache_get(struct pd_statuspage *sp, const char *name)
{
	for (size_t i = 0; i < sp->n; i++)
		if (strcmp(sp->ents[i].name, name) == 0)
			return &sp->ents[i];
	if (pd_buf_grow(&sp->ents, &sp->cap, sp->n + 1, sizeof(*sp->ents)) != 0)
		return NULL;
	memset(&sp->ents[sp->n], 0, sizeof(sp->ents[0]));
	snprintf(sp->ents[sp->n].name, sizeof(sp->ents[0].name), "%s", name);
	sp->ents[sp->n].computed_ms = INT64_MIN;
	return &sp->ents[sp->n++];
}

/* Drop cache entries of probes that are no longer configured. */
static void
cache_sweep(struct pd_statuspage *sp)
{
	size_t j = 0;

	for (size_t i = 0; i < sp->n; i++) {
		if (!sp->ents[i].seen)
			continue;
		sp->ents[i].seen = 0;
		if (i != j)
			sp->ents[j] = sp->ents[i];
		j++;
	}
	sp->n = j;
}

static void
series_fill(struct pd_statuspage *sp, struct pd_store *st, struct pd_statuspage_probe *p,
	    int64_t start_ms, int64_t now_ms)
{
	struct sp_cache *e = cache_get(sp, p->name);
	struct pd_err err = {0};
	int rc;

	if (e != NULL && e->window_start_ms == start_ms &&
	    now_ms - e->computed_ms < PD_STATUSPAGE_CACHE_MS && now_ms >= e->computed_ms) {
		e->seen = 1;
		p->day = e->day;
		memcpy(p->buckets, e->b, sizeof(p->buckets));
		return;
	}
	rc = pd_store_series(st, p->name, start_ms, PD_STATUSPAGE_BUCKET_MS, p->buckets, NB,
			     &p->day, &err);
	if (rc != 0 && rc != PD_ERR_NOTFOUND)
		pd_log_warn("status page: series of %s: %s", p->name, err.msg);
	if (e == NULL)
		return;
	e->seen = 1;
	if (rc != 0 && rc != PD_ERR_NOTFOUND) {
		e->computed_ms = INT64_MIN; /* retry on the next request */
		return;
	}
	e->computed_ms = now_ms;
	e->window_start_ms = start_ms;
	e->day = p->day;
	memcpy(e->b, p->buckets, sizeof(e->b));
}

struct inc_ctx {
	struct pd_statuspage_view *v;
	struct pd_incident_sevmap sev; /* every open incident, for the probes' severities */
	int best;                      /* severity of incident_message, 0 = none */
	int nomem;
};

static int
collect_on_incident(void *ud, const struct pd_incident_row *r)
{
	struct inc_ctx *c = ud;
	struct pd_statuspage_view *v = c->v;
	struct pd_statuspage_incident *i;

	if (pd_incident_sevmap_add(&c->sev, r) != 0) {
		c->nomem = 1;
		return 0;
	}
	/* drills, and incidents not declared yet (no severity), are not shown: as in metrics */
	if (r->drill || r->severity < 1 || v->nincidents >= PD_STATUSPAGE_MAX_INCIDENTS)
		return 0;
	i = &v->incidents[v->nincidents++];
	snprintf(i->key, sizeof(i->key), "%s", r->key);
	i->severity = r->severity;
	snprintf(i->title, sizeof(i->title), "%s", r->title);
	snprintf(i->reason, sizeof(i->reason), "%s", r->reason);
	i->opened_ms = r->opened_ms;
	snprintf(i->members, sizeof(i->members), "%s", r->members ? r->members : "[]");
	if (r->status_message != NULL && r->status_message[0] != '\0' &&
	    (c->best == 0 || r->severity < c->best)) {
		char *m = strdup(r->status_message);

		if (m == NULL) {
			c->nomem = 1;
			return 0;
		}
		free(v->incident_message);
		v->incident_message = m;
		c->best = r->severity;
	}
	return 0;
}

int
pd_statuspage_collect(struct pd_statuspage *sp, const struct pd_daemon *d, int64_t now_ms,
		      struct pd_statuspage_view *v, struct pd_err *err)
{
	const struct pd_config *cfg = pd_daemon_config(d);
	struct collect_ctx c = {.v = v};
	struct inc_ctx ic = {0};
	struct pd_err ierr = {0};
	int64_t bucket0;

	memset(v, 0, sizeof(*v));
	v->now_ms = now_ms;
	bucket0 = now_ms - (now_ms % PD_STATUSPAGE_BUCKET_MS);
	v->window_start_ms = bucket0 - (int64_t)(NB - 1) * PD_STATUSPAGE_BUCKET_MS;
	snprintf(v->location, sizeof(v->location), "%s", cfg->location ? cfg->location : "");
	snprintf(v->version, sizeof(v->version), "%s", PROBED_VERSION);
	pd_daemon_probes(d, collect_on_probe, &c);
	if (c.nomem)
		return pd_err_set(err, PD_ERR_NOMEM, "status page: out of memory");
	for (size_t i = 0; i < v->nprobes; i++)
		series_fill(sp, pd_daemon_store(d), &v->probes[i], v->window_start_ms, now_ms);
	cache_sweep(sp);
	/* the incident manager's open incidents; none (or no table) is not an error */
	ic.v = v;
	pd_incident_sevmap_init(&ic.sev);
	if (pd_store_incidents(pd_daemon_store(d), 1, 0, collect_on_incident, &ic, &ierr) != 0)
		pd_log_warn("status page: open incidents unavailable: %s", ierr.msg);
	for (size_t i = 0; i < v->nprobes; i++) {
		struct pd_statuspage_probe *p = &v->probes[i];
		const char *key;

		p->severity = pd_incident_sevmap_of(&ic.sev, p->name, &key);
		snprintf(p->incident, sizeof(p->incident), "%s", key ? key : "");
	}
	pd_incident_sevmap_cleanup(&ic.sev);
	if (ic.nomem)
		return pd_err_set(err, PD_ERR_NOMEM, "status page: out of memory");
	/* the error budget of each objective (a few aggregate rows per window) */
	for (size_t i = 0; i < cfg->nslos && v->nslos < PD_STATUSPAGE_MAX_SLOS; i++) {
		struct pd_statuspage_slo *o = &v->slos[v->nslos];
		struct pd_slo_status s;

		if (pd_slo_store_status(pd_daemon_store(d), cfg, &cfg->slos[i], now_ms, &s,
					&ierr) != 0) {
			pd_log_warn("status page: slo %s: %s", cfg->slos[i].name, ierr.msg);
			continue;
		}
		pd_slo_label(&cfg->slos[i], o->name, sizeof(o->name));
		o->objective = s.objective;
		o->period_ms = s.period_ms;
		o->sli = s.sli;
		o->budget_left = s.budget_left;
		o->severity = s.severity;
		v->nslos++;
	}
	return pd_statuspage_derive(v, err);
}

void
pd_statuspage_view_cleanup(struct pd_statuspage_view *v)
{
	free(v->probes);
	free(v->families);
	free(v->draft);
	free(v->incident_message);
	v->probes = NULL;
	v->families = NULL;
	v->draft = NULL;
	v->incident_message = NULL;
	v->nprobes = v->nfamilies = 0;
}

/* ---- derive ------------------------------------------------------------------------- */

static enum pd_statuspage_state
probe_state(const struct pd_statuspage_probe *p)
{
	switch (p->eval) {
	case PD_EVAL_DOWN:
		return PD_STATUSPAGE_DOWN;
	case PD_EVAL_FAILING:
	case PD_EVAL_RECOVERING:
		return PD_STATUSPAGE_DEGRADED;
	default:
		if (!p->has_result)
			return PD_STATUSPAGE_UNKNOWN;
		return pd_result_ok(&p->last) ? PD_STATUSPAGE_UP : PD_STATUSPAGE_DEGRADED;
	}
}

/* "YYYY-MM-DD HH:MM UTC" of a UTC time in ms. */
void
pd_statuspage_utc_minute(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, cap, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min);
}

static int
has_str(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* The playbook's INVESTIGATING message for the open pages, plus the UTC times. */
static int
derive_draft(struct pd_statuspage_view *v, struct pd_err *err)
{
	const char **affected = NULL, **working = NULL;
	size_t na = 0, nw = 0;
	struct pd_comms_incident inc = {0};
	int sev = 0;
	struct pd_buf b;
	char t0[40], t1[40];
	int rc = 0;

	if (v->npages == 0)
		return 0;
	affected = calloc(v->nfamilies + 1, sizeof(*affected));
	working = calloc(v->nfamilies + 1, sizeof(*working));
	pd_buf_init(&b, 64 * 1024);
	if (affected == NULL || working == NULL) {
		rc = pd_err_set(err, PD_ERR_NOMEM, "status page: out of memory");
		goto out;
	}
	for (size_t i = 0; i < v->nprobes; i++) {
		const struct pd_statuspage_probe *p = &v->probes[i];

		if (p->page_open && p->severity > 0 && (sev == 0 || p->severity < sev))
			sev = p->severity;
	}
	for (size_t f = 0; f < v->nfamilies; f++) {
		const struct pd_statuspage_family *fam = &v->families[f];
		int paged = 0;

		for (size_t i = 0; i < v->nprobes; i++)
			if (v->probes[i].page_open && strcmp(v->probes[i].family, fam->name) == 0)
				paged = 1;
		if (paged && !has_str(affected, na, fam->endpoint))
			affected[na++] = fam->endpoint;
		else if (fam->state == PD_STATUSPAGE_UP && !has_str(working, nw, fam->endpoint))
			working[nw++] = fam->endpoint;
	}
	inc.affected = affected;
	inc.naffected = na;
	inc.working = working;
	inc.nworking = nw;
	inc.start_ms = v->incident_start_ms > 0 ? v->incident_start_ms : v->now_ms;
	inc.severity = sev > 0 ? pd_classify_severity_str(sev) : NULL;
	if ((rc = pd_comms_status(PD_COMMS_INVESTIGATING, &inc, &b, err)) != 0) {
		pd_log_warn("status page: cannot draft the status message: %s", err->msg);
		rc = 0; /* the page still renders, without a draft */
		goto out;
	}
	pd_statuspage_utc_minute(inc.start_ms, t0, sizeof(t0));
	pd_statuspage_utc_minute(v->now_ms, t1, sizeof(t1));
	if (pd_buf_printf(&b, "\nStarted: %s. Posted: %s.\n", t0, t1) != 0) {
		rc = pd_err_set(err, PD_ERR_NOMEM, "status page: out of memory");
		goto out;
	}
	v->draft = b.data;
	b.data = NULL;
out:
	pd_buf_cleanup(&b);
	free(affected);
	free(working);
	return rc;
}

int
pd_statuspage_derive(struct pd_statuspage_view *v, struct pd_err *err)
{
	size_t nknown = 0, fdown = 0, fbad = 0;

	free(v->families);
	free(v->draft);
	v->families = NULL;
	v->draft = NULL;
	v->nfamilies = 0;
	v->npages = 0;
	v->incident_start_ms = 0;
	if (v->nprobes > 0 && (v->families = calloc(v->nprobes, sizeof(*v->families))) == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "status page: out of memory");
	for (size_t i = 0; i < v->nprobes; i++) {
		struct pd_statuspage_probe *p = &v->probes[i];
		struct pd_statuspage_family *f = NULL;

		p->state = probe_state(p);
		p->page_open = p->eval == PD_EVAL_DOWN || p->eval == PD_EVAL_RECOVERING;
		if (p->page_open) {
			int64_t t = p->first_fail_ms > 0 ? p->first_fail_ms : p->paged_at_ms;

			v->npages++;
			if (t > 0 && (v->incident_start_ms == 0 || t < v->incident_start_ms))
				v->incident_start_ms = t;
		}
		for (size_t k = 0; k < v->nfamilies; k++)
			if (strcmp(v->families[k].name, p->family) == 0)
				f = &v->families[k];
		if (f == NULL) {
			f = &v->families[v->nfamilies++];
			f->name = p->family;
			f->endpoint = p->endpoint;
		}
		f->nprobes++;
		if (p->state == PD_STATUSPAGE_DOWN)
			f->ndown++;
	}
	for (size_t k = 0; k < v->nfamilies; k++) {
		struct pd_statuspage_family *f = &v->families[k];
		size_t unknown = 0, bad = 0;

		for (size_t i = 0; i < v->nprobes; i++) {
			if (strcmp(v->probes[i].family, f->name) != 0)
				continue;
			if (v->probes[i].state == PD_STATUSPAGE_UNKNOWN)
				unknown++;
			else if (v->probes[i].state != PD_STATUSPAGE_UP)
				bad++;
		}
		if (unknown == f->nprobes)
			f->state = PD_STATUSPAGE_UNKNOWN;
		else if (f->ndown == f->nprobes - unknown)
			f->state = PD_STATUSPAGE_DOWN;
		else if (bad > 0)
			f->state = PD_STATUSPAGE_DEGRADED;
		else
			f->state = PD_STATUSPAGE_UP;
		if (f->state != PD_STATUSPAGE_UNKNOWN)
			nknown++;
		if (f->state == PD_STATUSPAGE_DOWN)
			fdown++;
		if (f->state == PD_STATUSPAGE_DOWN || f->state == PD_STATUSPAGE_DEGRADED)
			fbad++;
	}
	if (nknown == 0)
		v->overall = PD_STATUSPAGE_UNKNOWN;
	else if (fdown == nknown)
		v->overall = PD_STATUSPAGE_DOWN;
	else if (fbad > 0)
		v->overall = PD_STATUSPAGE_DEGRADED;
	else
		v->overall = PD_STATUSPAGE_UP;
	return derive_draft(v, err);
}
