/* statuspage.c — what the status page shows, gathered and decided: the daemon's live
 * view of every probe, the 24 h series of each from a compact per-probe cache filled
 * from the store's aggregates in bounded refresh slices (see "the series cache": a
 * request never waits for the store beyond one slice), the open incidents and the error
 * budgets (collect); probe state -> family state -> overall state, the open pages and the
 * drafted INVESTIGATING message, which comms.c renders from the playbook's template
 * (derive). statuspage_render.c turns the
 * view into HTML or JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "probed/buf.h"
#include "probed/comms.h"
#include "probed/hash.h"
#include "probed/incident.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/slo.h"
#include "probed/statuspage.h"
#include "statuspage_int.h"

#ifndef PROBED_VERSION
#define PROBED_VERSION "unknown"
#endif

/* ---- the series cache -------------------------------------------------------------
 *
 * Per probe, the window's closed buckets (ended PD_STATUSPAGE_GRACE_MS ago or more: late
 * results are in) are kept for good in a ring indexed by the absolute bucket number, 8
 * bytes each (counts as saturating uint16: a probe at the minimum interval, 100 ms, has
 * 9,000 results in 15 minutes; p95 and max as 16-bit floats of microseconds, within
 * 0.025 %); the open part (the bucket holding now and, during the grace, the previous
 * one) and the 24 h totals are recomputed when older than PD_STATUSPAGE_CACHE_MS. All of
 * it comes from the store's aggregates (pd_store_series_agg, pd_store_window_stats), in
 * steps: a step fills at most SP_FILL_STEP closed buckets of one probe, or refreshes its
 * open part and totals. pd_statuspage_refresh runs steps until its time budget is spent;
 * collect runs one slice and the HTTP listener runs more on a timer while the page is
 * being viewed. So a render copies memory, and a probe whose series is not complete yet
 * shows what is there (its history "complete": false in /api/status). The whole entry is
 * about 0.9 KB a probe. */

#define SP_FILL_STEP 24 /* closed buckets per step: 360 minute rows */
#define SP_LIVE 2       /* open buckets: now's and, during the grace, the previous one */

struct sp_bucket {
	uint16_t count, failures, p95, max;
};

struct sp_cache {
	char *name;
	int seen;          /* mark for the sweep */
	int64_t ring_from; /* absolute bucket numbers: ring holds [ring_from, closed_to) */
	int64_t closed_to;
	int64_t live_ms;   /* when live and day were computed, INT64_MIN = never */
	int64_t live_from; /* live[0] is bucket live_from, live[k] live_from + k */
	int64_t live_cur;  /* the bucket holding now when computed */
	struct pd_history_stats day;
	struct sp_bucket live[SP_LIVE];
	struct sp_bucket ring[NB];
};

struct pd_statuspage {
	struct sp_cache *ents;
	size_t n, cap;
	size_t cursor;                /* where the next refresh starts (round robin) */
	int64_t viewed_ms;            /* the last collect, INT64_MIN = never */
	int64_t (*mono_us)(void *ud); /* the budget's clock (tests inject one) */
	void *mono_ud;
};

static int64_t
sp_mono_us(void *ud)
{
	struct timespec ts;

	(void)ud;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct pd_statuspage *
pd_statuspage_new(void)
{
	struct pd_statuspage *sp = calloc(1, sizeof(struct pd_statuspage));

	if (sp == NULL)
		return NULL;
	sp->viewed_ms = INT64_MIN;
	sp->mono_us = sp_mono_us;
	return sp;
}

void
pd_statuspage_set_clock(struct pd_statuspage *sp, int64_t (*mono_us)(void *ud), void *ud)
{
	sp->mono_us = mono_us != NULL ? mono_us : sp_mono_us;
	sp->mono_ud = ud;
}

void
pd_statuspage_free(struct pd_statuspage *sp)
{
	if (sp == NULL)
		return;
	for (size_t i = 0; i < sp->n; i++)
		free(sp->ents[i].name);
	free(sp->ents);
	free(sp);
}

static uint16_t
sp_count(int64_t n)
{
	return n <= 0 ? 0 : n >= UINT16_MAX ? UINT16_MAX : (uint16_t)n;
}

/* A latency (-1 = none) as a 16-bit float of microseconds: 0 = none, else c - 1 =
 * e << 11 | m with the value m us (e = 0) or (2048 + m) << (e - 1) us: exact below
 * 2.048 ms, within 1/4096 (0.025 %) above, up to days. Decoding is an ldexp, not an exp:
 * a render decodes 2 x 96 of them per probe. */
static uint16_t
sp_ms_enc(double ms)
{
	double v;
	int e;

	if (!(ms >= 0))
		return 0;
	v = round(ms * 1000);
	if (v < 2048)
		return (uint16_t)(1 + v);
	frexp(v, &e); /* v in [2^(e-1), 2^e), e >= 12 */
	e -= 11;      /* v / 2^(e-1) in [2048, 4096) */
	v = round(ldexp(v, -(e - 1)));
	if (v >= 4096) {
		v /= 2;
		e++;
	}
	if (e > 31)
		return UINT16_MAX;
	return (uint16_t)(1 + ((unsigned)e << 11 | (unsigned)(v - 2048)));
}

static double
sp_ms_dec(uint16_t c)
{
	unsigned e, m;

	if (c == 0)
		return -1;
	e = (unsigned)(c - 1) >> 11;
	m = (unsigned)(c - 1) & 2047;
	if (e == 0)
		return (double)m / 1000;
	return ldexp((double)(2048 + m), (int)e - 1) / 1000;
}

static struct sp_bucket
sp_enc(const struct pd_series_bucket *b)
{
	struct sp_bucket e = {sp_count(b->count), sp_count(b->failures), sp_ms_enc(b->p95_ms),
			      sp_ms_enc(b->max_ms)};

	return e;
}

static void
sp_dec(const struct sp_bucket *e, struct pd_series_bucket *b)
{
	b->count = e->count;
	b->failures = e->failures;
	b->p95_ms = sp_ms_dec(e->p95);
	b->max_ms = sp_ms_dec(e->max);
}

static int64_t
sp_bucket_of(int64_t ms)
{
	int64_t q = ms / PD_STATUSPAGE_BUCKET_MS;

	return (ms % PD_STATUSPAGE_BUCKET_MS != 0 && ms < 0) ? q - 1 : q;
}

/* The buckets at now_ms: *w0 the window's first, *cur the one holding now, *closable
 * the first that is not closed yet. */
static void
sp_span(int64_t now_ms, int64_t *w0, int64_t *cur, int64_t *closable)
{
	*cur = sp_bucket_of(now_ms);
	*w0 = *cur - (NB - 1);
	*closable = sp_bucket_of(now_ms - PD_STATUSPAGE_GRACE_MS);
	if (*closable < *w0)
		*closable = *w0;
}

/* The ring does not hold exactly the closed buckets of the window: some closed since, or
 * none yet, or the clock went back (buckets before ring_from, or after closable). */
static int
sp_needs_fill(const struct sp_cache *e, int64_t w0, int64_t closable)
{
	return e->closed_to != closable || e->ring_from > w0;
}

static int
sp_needs_live(const struct sp_cache *e, int64_t now_ms, int64_t cur)
{
	return e->live_ms == INT64_MIN || now_ms < e->live_ms ||
	       now_ms - e->live_ms >= PD_STATUSPAGE_CACHE_MS || e->live_from != e->closed_to ||
	       e->live_cur != cur;
}

/* One step of e's work at now_ms; 1 if there was one, 0 if e was fresh. */
static int
sp_step(struct sp_cache *e, struct pd_store *st, int64_t now_ms)
{
	struct pd_series_bucket b[SP_FILL_STEP];
	struct pd_err err = {0};
	int64_t w0, cur, closable;
	size_t n;
	int rc;

	sp_span(now_ms, &w0, &cur, &closable);
	if (e->closed_to < w0 || e->ring_from > w0 || e->closed_to > closable) {
		/* the ring's buckets all left the window, or the clock went back: start over */
		e->ring_from = e->closed_to = w0;
		e->live_ms = INT64_MIN;
	}
	if (e->ring_from < w0)
		e->ring_from = w0;
	if (e->closed_to < closable) {
		n = (size_t)(closable - e->closed_to);
		if (n > SP_FILL_STEP)
			n = SP_FILL_STEP;
		rc = pd_store_series_agg(st, e->name, e->closed_to * PD_STATUSPAGE_BUCKET_MS,
					 PD_STATUSPAGE_BUCKET_MS, b, n, NULL, &err);
		if (rc != 0 && rc != PD_ERR_NOTFOUND)
			pd_log_warn("status page: series of %s: %s", e->name, err.msg);
		/* a failure leaves the buckets empty rather than retrying forever */
		for (size_t i = 0; i < n; i++)
			e->ring[(size_t)((e->closed_to + (int64_t)i) % NB)] = sp_enc(&b[i]);
		e->closed_to += (int64_t)n;
		return 1;
	}
	if (!sp_needs_live(e, now_ms, cur))
		return 0;
	n = (size_t)(cur - e->closed_to + 1);
	if (n > SP_LIVE)
		n = SP_LIVE; /* cannot happen: the grace is shorter than a bucket */
	rc = pd_store_series_agg(st, e->name, e->closed_to * PD_STATUSPAGE_BUCKET_MS,
				 PD_STATUSPAGE_BUCKET_MS, b, n, NULL, &err);
	if (rc == 0)
		rc = pd_store_window_stats(st, e->name, w0 * PD_STATUSPAGE_BUCKET_MS,
					   (cur + 1) * PD_STATUSPAGE_BUCKET_MS, &e->day, &err);
	if (rc != 0 && rc != PD_ERR_NOTFOUND)
		pd_log_warn("status page: series of %s: %s", e->name, err.msg);
	if (rc != 0)
		memset(&e->day, 0, sizeof(e->day));
	for (size_t i = 0; i < SP_LIVE; i++)
		e->live[i] = i < n && rc == 0 ? sp_enc(&b[i]) : (struct sp_bucket){0};
	e->live_from = e->closed_to;
	e->live_cur = cur;
	e->live_ms = now_ms;
	return 1;
}

static int
sp_pending(const struct pd_statuspage *sp, int64_t now_ms)
{
	int64_t w0, cur, closable;

	sp_span(now_ms, &w0, &cur, &closable);
	for (size_t i = 0; i < sp->n; i++)
		if (sp_needs_fill(&sp->ents[i], w0, closable) ||
		    sp_needs_live(&sp->ents[i], now_ms, cur))
			return 1;
	return 0;
}

int
pd_statuspage_refresh(struct pd_statuspage *sp, struct pd_store *st, int64_t now_ms,
		      int64_t budget_us)
{
	int64_t t0 = sp->mono_us(sp->mono_ud);
	size_t idle = 0;

	/* round robin from the cursor; a probe is left once it is fresh */
	while (sp->n > 0 && idle < sp->n) {
		struct sp_cache *e = &sp->ents[sp->cursor % sp->n];

		if (!sp_step(e, st, now_ms)) {
			idle++;
			sp->cursor = (sp->cursor + 1) % sp->n;
			continue;
		}
		idle = 0;
		if (sp->mono_us(sp->mono_ud) - t0 >= budget_us)
			break;
	}
	return sp_pending(sp, now_ms);
}

int
pd_statuspage_busy(const struct pd_statuspage *sp, int64_t now_ms)
{
	return sp->viewed_ms != INT64_MIN && now_ms >= sp->viewed_ms &&
	       now_ms - sp->viewed_ms < PD_STATUSPAGE_IDLE_MS;
}

size_t
pd_statuspage_cache_bytes(const struct pd_statuspage *sp)
{
	size_t n = sizeof(*sp) + sp->cap * sizeof(*sp->ents);

	for (size_t i = 0; i < sp->n; i++)
		n += strlen(sp->ents[i].name) + 1;
	return n;
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

/* The cache entry of probe name; hint: where it was last time (probes come in the same
 * order on every request, so the lookup is one comparison). */
static struct sp_cache *
cache_get(struct pd_statuspage *sp, const char *name, size_t hint)
{
	char *dup;

	if (hint < sp->n && strcmp(sp->ents[hint].name, name) == 0)
		return &sp->ents[hint];
	for (size_t i = 0; i < sp->n; i++)
		if (strcmp(sp->ents[i].name, name) == 0)
			return &sp->ents[i];
	if (pd_buf_grow(&sp->ents, &sp->cap, sp->n + 1, sizeof(*sp->ents)) != 0 ||
	    (dup = strdup(name)) == NULL)
		return NULL;
	memset(&sp->ents[sp->n], 0, sizeof(sp->ents[0]));
	sp->ents[sp->n].name = dup;
	sp->ents[sp->n].ring_from = sp->ents[sp->n].closed_to = INT64_MIN;
	sp->ents[sp->n].live_ms = INT64_MIN;
	return &sp->ents[sp->n++];
}

/* Drop cache entries of probes that are no longer configured. */
static void
cache_sweep(struct pd_statuspage *sp)
{
	size_t j = 0;

	for (size_t i = 0; i < sp->n; i++) {
		if (!sp->ents[i].seen) {
			free(sp->ents[i].name);
			continue;
		}
		sp->ents[i].seen = 0;
		if (i != j)
			sp->ents[j] = sp->ents[i];
		j++;
	}
	sp->n = j;
	if (sp->cursor >= sp->n)
		sp->cursor = 0;
}

/* p's series from its cache entry e (NULL: none) at now_ms; 1 when complete. */
static int
series_copy(const struct sp_cache *e, struct pd_statuspage_probe *p, int64_t now_ms)
{
	int64_t w0, cur, closable;

	sp_span(now_ms, &w0, &cur, &closable);
	memset(&p->day, 0, sizeof(p->day));
	p->day.p50_ms = p->day.p95_ms = p->day.p99_ms = p->day.max_ms = -1;
	for (size_t i = 0; i < NB; i++) {
		struct pd_series_bucket *b = &p->buckets[i];
		int64_t k = w0 + (int64_t)i;

		memset(b, 0, sizeof(*b));
		b->start_ms = k * PD_STATUSPAGE_BUCKET_MS;
		b->p95_ms = b->max_ms = -1;
		if (e == NULL)
			continue;
		if (k >= e->ring_from && k < e->closed_to)
			sp_dec(&e->ring[(size_t)(k % NB)], b);
		else if (e->live_ms != INT64_MIN && k >= e->live_from && k < e->live_from + SP_LIVE)
			sp_dec(&e->live[k - e->live_from], b);
	}
	if (e == NULL)
		return 0;
	if (e->live_ms != INT64_MIN)
		p->day = e->day;
	return !sp_needs_fill(e, w0, closable) && e->live_ms != INT64_MIN &&
	       e->live_from == e->closed_to && e->live_cur == cur;
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
	/* the series: the cache's entries, one slice of refresh work, then a copy */
	sp->viewed_ms = now_ms;
	for (size_t i = 0; i < v->nprobes; i++) {
		struct sp_cache *e = cache_get(sp, v->probes[i].name, i);

		if (e == NULL)
			return pd_err_set(err, PD_ERR_NOMEM, "status page: out of memory");
		e->seen = 1;
	}
	cache_sweep(sp);
	pd_statuspage_refresh(sp, pd_daemon_store(d), now_ms, PD_STATUSPAGE_SLICE_US);
	for (size_t i = 0; i < v->nprobes; i++)
		v->probes[i].series_complete =
			series_copy(cache_get(sp, v->probes[i].name, i), &v->probes[i], now_ms);
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
		int paged = fam->npaged > 0;

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

/* The family named name, found or added, through a hash table of family indexes (slots
 * holding index + 1, 0 = free; nslots a power of two above 2 x the probes), so deriving
 * 10,000 probes is linear, not 10,000 x 10,000 name comparisons. */
static struct pd_statuspage_family *
derive_family(struct pd_statuspage_view *v, size_t *slots, size_t nslots,
	      const struct pd_statuspage_probe *p)
{
	size_t i = (size_t)pd_hash_str(PD_HASH_FNV_OFFSET, p->family) & (nslots - 1);
	struct pd_statuspage_family *f;

	for (; slots[i] != 0; i = (i + 1) & (nslots - 1))
		if (strcmp(v->families[slots[i] - 1].name, p->family) == 0)
			return &v->families[slots[i] - 1];
	f = &v->families[v->nfamilies++];
	slots[i] = v->nfamilies;
	f->name = p->family;
	f->endpoint = p->endpoint;
	return f;
}

int
pd_statuspage_derive(struct pd_statuspage_view *v, struct pd_err *err)
{
	size_t nknown = 0, fdown = 0, fbad = 0, nslots = 16, *slots;

	free(v->families);
	free(v->draft);
	v->families = NULL;
	v->draft = NULL;
	v->nfamilies = 0;
	v->npages = 0;
	v->incident_start_ms = 0;
	while (nslots < 2 * v->nprobes)
		nslots *= 2;
	if ((slots = calloc(nslots, sizeof(*slots))) == NULL ||
	    (v->nprobes > 0 && (v->families = calloc(v->nprobes, sizeof(*v->families))) == NULL)) {
		free(slots);
		return pd_err_set(err, PD_ERR_NOMEM, "status page: out of memory");
	}
	for (size_t i = 0; i < v->nprobes; i++) {
		struct pd_statuspage_probe *p = &v->probes[i];
		struct pd_statuspage_family *f;

		p->state = probe_state(p);
		p->page_open = p->eval == PD_EVAL_DOWN || p->eval == PD_EVAL_RECOVERING;
		if (p->page_open) {
			int64_t t = p->first_fail_ms > 0 ? p->first_fail_ms : p->paged_at_ms;

			v->npages++;
			if (t > 0 && (v->incident_start_ms == 0 || t < v->incident_start_ms))
				v->incident_start_ms = t;
		}
		f = derive_family(v, slots, nslots, p);
		f->nprobes++;
		if (p->state == PD_STATUSPAGE_DOWN)
			f->ndown++;
		if (p->state == PD_STATUSPAGE_UNKNOWN)
			f->nunknown++;
		else if (p->state != PD_STATUSPAGE_UP)
			f->nbad++;
		if (p->page_open)
			f->npaged++;
	}
	free(slots);
	for (size_t k = 0; k < v->nfamilies; k++) {
		struct pd_statuspage_family *f = &v->families[k];

		if (f->nunknown == f->nprobes)
			f->state = PD_STATUSPAGE_UNKNOWN;
		else if (f->ndown == f->nprobes - f->nunknown)
			f->state = PD_STATUSPAGE_DOWN;
		else if (f->nbad > 0)
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
