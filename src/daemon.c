/* daemon.c — the wiring of the probe pipeline on one libev loop (see daemon.h): builds
 * it from a config and applies reloads (mark-and-sweep on probe names), the incident
 * pass, silences, SLO ticks, the heartbeat, the batch commit and its resync, pruning, the
 * SIGTERM drain, signals and the live views. One probe's run (its start on the grid and
 * the result path) is in daemon_probe.c. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif
#include "probed/buf.h"
#include "probed/check.h"
#include "probed/daemon.h"
#include "probed/classify.h"
#include "probed/control.h"
#include "probed/eval.h"
#include "probed/hash.h"
#include "probed/incident.h"
#include "probed/jsonschema.h"
#include "probed/log.h"
#include "probed/notify.h"
#include "probed/outbox.h"
#include "probed/outcome.h"
#include "probed/runner.h"
#include "probed/sched.h"
#include "probed/store.h"
#include "probed/tlscert.h"
#include "daemon_int.h"

static void due_del(struct probe *p);
static void daemon_set_loud(struct pd_daemon *d, struct probe *p, int loud);

/* Results, aggregates and events per prune pass, each pass its own transaction on the
 * loop. Measured (bench/prune.c, 1,000 probes x 1,000 expired results, 1 M rows): 2000
 * rows took 4.2 ms median, 16 ms p99; 250 rows 0.48 ms median, 1.5 ms p99. Passes follow
 * each other every PRUNE_AGAIN_S while there is more: 5,000 rows/s, above what 1,000
 * probes/s add. */
#define PRUNE_BATCH 250
#define PRUNE_AGAIN_S 0.05
#define WINDOW_BUDGET_US 2000   /* window reads of quiet probes per classify pass */
#define PRUNE_HISTORY_BATCH 500 /* shapes, incidents, dead letters, deliveries per pass */

const int64_t pd_daemon_lateness_bounds_us[8] = {
	1000, 5000, 10000, 50000, 100000, 500000, 1000000, INT64_MAX,
};

static int64_t
daemon_now(const struct pd_daemon *d)
{
	return pd_clock_wall_ms(d->opts.clock);
}

int64_t
pd_daemon_now_ms(const struct pd_daemon *d)
{
	return daemon_now(d);
}

void
pd_daemon_probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	due_del(p);
	daemon_set_loud(p->d, p, 0);
	pd_sched_stop(&p->sched);
	pd_jsonschema_free(p->schema);
	free(p);
}

/* The live probes by name, for one apply: an open-addressing table of twice as many
 * slots as probes (a list walk per configured probe was quadratic: 10,000 probes cost
 * 50 M name compares per reload). */
struct probe_index {
	struct probe **slot;
	size_t mask;
};

static int
probe_index_build(struct probe_index *ix, struct pd_daemon *d)
{
	size_t n = 0, cap = 16;

	for (struct probe *p = d->probes; p; p = p->next)
		n++;
	while (cap < 2 * n)
		cap *= 2;
	if ((ix->slot = calloc(cap, sizeof(*ix->slot))) == NULL)
		return -1;
	ix->mask = cap - 1;
	for (struct probe *p = d->probes; p; p = p->next) {
		size_t h = (size_t)pd_hash_str(PD_HASH_FNV_OFFSET, p->name) & ix->mask;

		while (ix->slot[h] != NULL)
			h = (h + 1) & ix->mask;
		ix->slot[h] = p;
	}
	return 0;
}

static struct probe *
probe_index_find(const struct probe_index *ix, const char *name)
{
	size_t h = (size_t)pd_hash_str(PD_HASH_FNV_OFFSET, name) & ix->mask;

	for (; ix->slot[h] != NULL; h = (h + 1) & ix->mask)
		if (strcmp(ix->slot[h]->name, name) == 0)
			return ix->slot[h];
	return NULL;
}

/* Point p at its new config and compiled schema (ownership of *s taken, *s cleared). */
static void
probe_bind(struct probe *p, const struct pd_probe_cfg *pc, struct pd_schema **s)
{
	pd_jsonschema_free(p->schema);
	p->schema = *s;
	*s = NULL;
	p->cfg = pc;
}

struct schema_key {
	char *json; /* the schema printed compactly: equal text, equal schema */
	size_t probe;
};

static int
schema_key_cmp(const void *a, const void *b)
{
	const struct schema_key *x = a, *y = b;
	int c = strcmp(x->json, y->json);

	return c != 0 ? c : (x->probe > y->probe) - (x->probe < y->probe);
}

/* Compile the schemas of cfg's probes, once per distinct schema: out[i] is probe i's (a
 * reference of its own; NULL without a schema). Probes generated from one template share
 * one compiled schema instead of holding a copy each. 0, or PD_ERR_CONFIG / PD_ERR_NOMEM
 * with err set and nothing left in out. */
static int
schemas_compile(const struct pd_config *cfg, struct pd_schema **out, struct pd_err *err)
{
	struct schema_key *keys = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (cfg->nprobes > 0 && (keys = calloc(cfg->nprobes, sizeof(*keys))) == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	for (i = 0; i < cfg->nprobes && rc == 0; i++) {
		if (cfg->probes[i].json_schema == NULL)
			continue;
		keys[n].probe = i;
		keys[n].json = cJSON_PrintUnformatted(cfg->probes[i].json_schema);
		if (keys[n++].json == NULL)
			rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	}
	if (rc == 0)
		qsort(keys, n, sizeof(*keys), schema_key_cmp);
	for (i = 0; i < n && rc == 0; i++) {
		size_t at = keys[i].probe;

		if (i > 0 && strcmp(keys[i].json, keys[i - 1].json) == 0)
			out[at] = pd_jsonschema_ref(out[keys[i - 1].probe]);
		else if ((out[at] = pd_jsonschema_new(cfg->probes[at].json_schema, err)) == NULL)
			rc = PD_ERR_CONFIG;
	}
	for (i = 0; i < n; i++)
		cJSON_free(keys[i].json);
	free(keys);
	if (rc != 0)
		for (i = 0; i < cfg->nprobes; i++) {
			pd_jsonschema_free(out[i]);
			out[i] = NULL;
		}
	return rc;
}

int
pd_daemon_apply(struct pd_daemon *d, struct pd_config *cfg, struct pd_err *err)
{
	struct pd_config *old = d->cfg;
	struct pd_schema **schemas = NULL;
	struct probe_index ix = {0};
	struct probe **pp;
	size_t added = 0, kept = 0, removed = 0;
	int rc = 0;

	for (struct probe *p = d->probes; p; p = p->next)
		p->mark = 0;
	/* compile every schema first, so a failure leaves the old config running */
	if (cfg->nprobes > 0 && (schemas = calloc(cfg->nprobes, sizeof(*schemas))) == NULL) {
		pd_config_free(cfg);
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	}
	if ((rc = schemas_compile(cfg, schemas, err)) != 0) {
		free(schemas);
		pd_config_free(cfg);
		return rc;
	}
	if (probe_index_build(&ix, d) != 0) {
		for (size_t i = 0; i < cfg->nprobes; i++)
			pd_jsonschema_free(schemas[i]);
		free(schemas);
		pd_config_free(cfg);
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	}
	d->cfg = cfg;
	pd_outbox_set_config(d->outbox, cfg);
	pd_incident_set_config(d->incidents, cfg);
	d->incidents_dirty = 1;
	for (size_t i = 0; i < cfg->nprobes; i++) {
		const struct pd_probe_cfg *pc = &cfg->probes[i];
		struct probe *p = probe_index_find(&ix, pc->name);
		int is_new = p == NULL;

		if (is_new) {
			p = calloc(1, sizeof(*p));
			if (p == NULL) {
				rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
				continue;
			}
			p->d = d;
			p->baseline_hour = -1;
			p->cert_not_after_s = -1;
			p->baseline_ms = -1;
			snprintf(p->name, sizeof(p->name), "%s", pc->name);
			pd_eval_init_at(&p->state, daemon_now(d));
			pd_sched_init(&p->sched, d->loop, pd_daemon_probe_fire, p);
			if (pd_store_load_state(d->store, p->name, &p->state, NULL) == 0 &&
			    p->state.status == PD_EVAL_UP)
				p->recovered_ms = p->state.since_ms; /* windows start after it */
			/* a shape drift of the last 24 h stays flagged across restarts */
			pd_store_events(d->store, p->name, daemon_now(d) - SHAPE_WINDOW_MS,
					pd_daemon_drift_row, &p->drift_until_ms, NULL);
			/* the last known certificate expiry */
			(void)pd_store_cert_get(d->store, p->name, &p->cert_not_after_s, NULL);
			if (p->state.status != PD_EVAL_UP)
				pd_log_warn("probe %s: resuming in state %s (%s)", p->name,
					    pd_eval_status_str(p->state.status),
					    p->state.dedup_key[0] ? p->state.dedup_key : "no page");
			p->next = d->probes;
			d->probes = p;
			added++;
		} else {
			kept++;
		}
		probe_bind(p, pc, &schemas[i]);
		p->mark = 1;
		if (is_new || !d->draining) {
			if (is_new || pd_sched_needs_restart(p->next_due_us, pd_sched_now_us(),
							     p->cfg->interval_ms))
				pd_daemon_probe_start(d, p);
		}
	}
	free(ix.slot); /* names are unique: a probe added above is never looked up */
	/* sweep */
	pp = &d->probes;
	while (*pp) {
		struct probe *p = *pp;

		if (p->mark) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		removed++;
		pd_log_info("probe %s: removed from configuration", p->name);
		if (d->incidents != NULL &&
		    pd_incident_cert(d->incidents, p->name, 0, "probe removed from configuration",
				     daemon_now(d)) > 0)
			d->kick_outbox = 1;
		/* the control's own page is per probe; everything else resolves through its
		 * incident, which treats a removed member as recovered */
		if (p->state.status != PD_EVAL_UP) {
			/* never leave a page open for a probe that no longer exists */
			if (p->cfg && pd_control_resolve_on_remove(p->cfg->control,
								   pd_eval_page_open(&p->state))) {
				p->cfg = NULL;
				pd_daemon_page(d, p, "resolve", NULL, p->state.first_fail_ms, 0,
					       PD_CONTROL_SEND);
			}
			pd_eval_init_at(&p->state, daemon_now(d));
			pd_store_save_state(d->store, p->name, &p->state, NULL);
			d->incidents_dirty = 1;
		}
		p->cfg = NULL;
		due_del(p);
		daemon_set_loud(d, p, 0);
		pd_sched_stop(&p->sched);
		if (p->inflight)
			p->removed = 1; /* freed when its transfer completes */
		else
			pd_daemon_probe_free(p);
	}
	d->control = NULL;
	for (struct probe *p = d->probes; p != NULL && d->control == NULL; p = p->next)
		if (p->cfg != NULL && p->cfg->control)
			d->control = p;
	d->loud_stale = 1; /* new rules, new probes: every probe gets a look */
	if (old != NULL)
		pd_log_info(
			"config %s applied: %zu probes (%zu added, %zu kept, %zu removed), %zu notify targets",
			cfg->path ? cfg->path : "-", cfg->nprobes, added, kept, removed,
			cfg->nnotify);
	for (size_t i = 0; i < cfg->nprobes; i++) {
		pd_jsonschema_free(schemas[i]); /* those of probes that could not be added */
		/* compiled (and the compiled schema holds its own copy): the YAML's tree is
		 * not needed any more, ~600 bytes a probe */
		cJSON_Delete(cfg->probes[i].json_schema);
		cfg->probes[i].json_schema = NULL;
	}
	free(schemas);
	pd_config_free(old);
#ifdef __GLIBC__
	/* the load's transient memory (the YAML document: 96 bytes a node, 30 nodes a probe)
	 * back to the system instead of kept as free heap */
	malloc_trim(0);
#endif
	return rc;
}

/* Refresh a probe's windowed facts from the store when they may have changed: at least
 * every 15 s, and on every new result while it is failing or in an incident. */
static int
daemon_refresh_window(struct pd_daemon *d, struct probe *p, int64_t now)
{
	const struct pd_classify_rules *r = &d->cfg->classify;
	struct pd_err err = {0};
	int hour = (int)(now / 3600000);
	int hot = p->state.status != PD_EVAL_UP || (p->has_result && !pd_result_ok(&p->last)) ||
		  p->win.failures > 0 || pd_incident_has_probe(d->incidents, p->name);
	int64_t since;

	if (p->win_at_ms != 0 && now - p->win_at_ms < 15000 && !(hot && p->win_dirty))
		return 0;
	/* a pass reads quiet probes' windows for WINDOW_BUDGET_US at most (at start-up every
	 * probe's is due: 1,000 reads on a day of history stalled the loop 30 ms); the rest
	 * stay due for the next pass. A hot probe's window is always read. */
	if (!hot && pd_sched_now_us() > d->win_deadline_us)
		return 0;
	/* a recovered outage is over: its failures must not re-alert through the window
	 * rules for the rest of the window, so the window starts at the recovery */
	since = now - r->window_ms;
	if (p->recovered_ms > since)
		since = p->recovered_ms;
	if (pd_store_window(d->store, p->name, since, now + 1, &p->win, &err) != 0 &&
	    err.code != PD_ERR_NOTFOUND)
		pd_log_warn("classify: %s: %s", p->name, err.msg);
	p->win_at_ms = now;
	p->win_dirty = 0;
	if (p->baseline_hour != hour) {
		double b = -1;

		if (pd_store_baseline_p95(d->store, p->name, now, 30, &b, &err) != 0)
			b = -1;
		p->baseline_ms = b;
		p->baseline_hour = hour;
	}
	return 1;
}

struct sil_load {
	struct pd_silence *v;
	size_t n, cap;
	int nomem;
};

static int
sil_collect(void *ud, const struct pd_silence *s)
{
	struct sil_load *l = ud;

	if (pd_buf_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v)) != 0) {
		l->nomem = 1;
		return 1;
	}
	l->v[l->n++] = *s;
	return 0;
}

/* the silences in force, for the incident manager. Cheap: one PRAGMA per pass;
 * the rows are read only when another connection committed, or 10 s went by. */
static void
daemon_silences(struct pd_daemon *d, int64_t now)
{
	struct sil_load l = {0};
	struct pd_err err = {0};
	int64_t v = 0;

	if (pd_store_data_version(d->store, &v, &err) != 0)
		v = d->sil_version - 1; /* read them, and say why if that fails too */
	if (v == d->sil_version && d->sil_read_ms != 0 && now - d->sil_read_ms < 10000 &&
	    now >= d->sil_read_ms)
		return;
	if (pd_store_silences(d->store, now, sil_collect, &l, &err) != 0 || l.nomem) {
		pd_log_warn("silences: %s", l.nomem ? "out of memory" : err.msg);
		free(l.v);
		return; /* keep the last good list */
	}
	for (size_t i = 0; i < l.n; i++) {
		int known = 0;

		for (size_t j = 0; j < d->nsil && !known; j++)
			known = d->sil[j].id == l.v[i].id;
		if (!known && l.v[i].created_ms <= now)
			pd_log_warn("silence #%lld: %s %s held until %lld s from now: %s",
				    (long long)l.v[i].id, l.v[i].probe[0] ? "probe" : "family",
				    l.v[i].probe[0] ? l.v[i].probe : l.v[i].family,
				    (long long)((l.v[i].until_ms - now) / 1000), l.v[i].reason);
	}
	for (size_t j = 0; j < d->nsil; j++) {
		int kept = 0;

		for (size_t i = 0; i < l.n && !kept; i++)
			kept = d->sil[j].id == l.v[i].id && l.v[i].until_ms == d->sil[j].until_ms;
		if (!kept && d->sil[j].until_ms > now)
			pd_log_warn("silence #%lld: expired early", (long long)d->sil[j].id);
	}
	free(d->sil);
	d->sil = l.v;
	d->nsil = l.n;
	d->silcap = l.cap;
	d->sil_version = v;
	d->sil_read_ms = now;
	pd_incident_set_silences(d->incidents, d->sil, d->nsil);
}

/* ---- quiet probes -------------------------------------------------------------------
 *
 * The classify pass runs every second, but its cost must follow what changed, not how many
 * probes are configured (10,000 probes at 60 s give ~167 results a second). A probe is
 * loud when it may alert: not UP, its last result failed, its window holds failures or
 * alerts (slow p95), a shape drift counts, or it is a member of an open incident. Only a
 * new result, a window read or the incident pass can change that, and each recomputes it.
 * A quiet probe's window is read again only after new results (the due list), at most
 * every 15 s; rolling time alone only takes results out of a window, which cannot make
 * it alert. The full pass over every probe (pd_incident_update needs all of them: the
 * outage mode is told by the probes that still pass) runs only while a probe is loud, an
 * outage is open, or after a config change or a resync. */

static void
daemon_set_loud(struct pd_daemon *d, struct probe *p, int loud)
{
	loud = loud != 0;
	if (p->loud == loud)
		return;
	p->loud = loud;
	if (loud)
		d->nloud++;
	else
		d->nloud--;
}

static void
due_del(struct probe *p)
{
	if (p->due_prev == NULL)
		return;
	*p->due_prev = p->due_next;
	if (p->due_next != NULL)
		p->due_next->due_prev = p->due_prev;
	p->due_next = NULL;
	p->due_prev = NULL;
}

void
pd_daemon_probe_noted(struct pd_daemon *d, struct probe *p, int failing)
{
	if (failing)
		daemon_set_loud(d, p, 1);
	if (p->due_prev != NULL)
		return;
	p->due_next = d->due;
	if (d->due != NULL)
		d->due->due_prev = &p->due_next;
	d->due = p;
	p->due_prev = &d->due;
}

/* What the classifier sees of p (its window as last read). */
static void
daemon_class_input(struct pd_daemon *d, const struct probe *p, int64_t now,
		   struct pd_class_input *in)
{
	const struct pd_probe_cfg *pc = p->cfg;

	memset(in, 0, sizeof(*in));
	in->name = p->name;
	in->family = pc->family;
	in->tier = pc->tier;
	in->freshness = pc->kind == PD_KIND_FRESHNESS;
	/* `severity: Pn` reaches the ladder here, and only here */
	in->severity_override = pd_classify_severity_parse(pc->severity);
	/* suppressed outages (empty key) are the host's, not the API's */
	in->control = pd_control_host_owned(
		pc->control, p->state.status != PD_EVAL_UP && p->state.status != PD_EVAL_FAILING,
		pd_eval_paged(&p->state));
	in->status = p->state.status;
	in->consec_fail = p->state.consec_fail;
	in->last_outcome = p->has_result ? p->last.outcome : PD_OUT_OK;
	in->fail_since_ms = p->state.consec_fail ? p->state.first_fail_ms : 0;
	/* failures inside a window that overlaps a host outage are the host's: the
	 * window rules wait until the window has rolled past it */
	if (pd_control_window_usable(d->host_suspect_last_ms, now, d->cfg->classify.window_ms))
		in->win = p->win;
	in->baseline_p95_ms = p->baseline_ms;
	in->shape_drift = p->drift_until_ms > now;
}

/* May p alert (see "quiet probes")? in is p's input. */
static int
daemon_is_loud(struct pd_daemon *d, const struct probe *p, const struct pd_class_input *in,
	       int64_t now)
{
	int alerting = 0;

	if (p->state.status != PD_EVAL_UP || p->state.consec_fail != 0 ||
	    (p->has_result && !pd_result_ok(&p->last)) || p->win.failures > 0 ||
	    p->drift_until_ms > now)
		return 1;
	pd_classify_alerting(in, 1, &d->cfg->classify, now, &alerting);
	return alerting != 0 || pd_incident_has_probe(d->incidents, p->name);
}

/* The windows of probes with new results, when due; their loudness after. */
static void
daemon_due_windows(struct pd_daemon *d, int64_t now)
{
	struct probe *p = d->due, *next;

	for (; p != NULL; p = next) {
		struct pd_class_input in;

		next = p->due_next;
		if (p->cfg == NULL) {
			due_del(p);
			continue;
		}
		if (!daemon_refresh_window(d, p, now))
			continue;
		due_del(p);
		daemon_class_input(d, p, now, &in);
		daemon_set_loud(d, p, daemon_is_loud(d, p, &in, now));
	}
}

/* Classify and update incidents from the store's windows. */
static void
daemon_incidents(struct pd_daemon *d)
{
	size_t n = d->cfg->nprobes, k = 0;
	struct pd_class_input *in;
	const struct pd_result **last;
	int64_t now = daemon_now(d);

	d->incidents_dirty = 0;
	daemon_silences(d, now);
	if (pd_daemon_host_suspect(d)) {
		/* the host is the suspect: the control's page speaks for everything */
		if (!d->host_suspect_logged)
			pd_log_warn("classify: control target %s fails; incidents held",
				    pd_daemon_control(d)->name);
		d->host_suspect_logged = 1;
		d->host_suspect_last_ms = now;
		return;
	}
	d->host_suspect_logged = 0;
	d->win_deadline_us = pd_sched_now_us() + WINDOW_BUDGET_US;
	daemon_due_windows(d, now);
	if (d->nloud == 0 && !d->loud_stale && pd_incident_open_outages(d->incidents) == 0)
		return; /* every probe quiet, no outage open: nothing to classify */
	d->stats.classify_passes++;
	in = calloc(n ? n : 1, sizeof(*in));
	last = calloc(n ? n : 1, sizeof(*last));
	if (in == NULL || last == NULL)
		goto out;
	/* one pass over the live probes (a name lookup per probe was quadratic: 84% of
	 * the CPU at 5,000 probes in the benchmark) */
	for (struct probe *p = d->probes; p != NULL && k < n; p = p->next) {
		if (p->cfg == NULL)
			continue;
		if (daemon_refresh_window(d, p, now))
			due_del(p);
		daemon_class_input(d, p, now, &in[k]);
		last[k] = p->has_result ? &p->last : NULL;
		k++;
	}
	if (pd_incident_update(d->incidents, in, last, k, now) > 0)
		d->kick_outbox = 1;
	/* membership may have changed: every probe's loudness, from the same inputs */
	k = 0;
	for (struct probe *p = d->probes; p != NULL && k < n; p = p->next)
		if (p->cfg != NULL)
			daemon_set_loud(d, p, daemon_is_loud(d, p, &in[k++], now));
	d->loud_stale = 0;
out:
	free(in);
	free(last);
}

/* SLO burn rates from the aggregates, and their incidents. One objective per
 * classify tick (1 s), a round over all of them at most every 5 s: measured ~7 ms per
 * objective of 3 probes with 30 days of results at 30 s, so the loop never waits long. */
static void
daemon_slo(struct pd_daemon *d)
{
	int64_t mono = pd_clock_mono_ms(), now = daemon_now(d);
	const struct pd_slo_cfg *o;
	struct pd_slo_status s;
	struct pd_err err = {0};

	if (d->cfg->nslos == 0) {
		if (d->slo_last_ms == 0 || mono - d->slo_last_ms >= 5000) {
			d->slo_last_ms = mono;
			pd_incident_slo_prune(d->incidents, now);
		}
		return;
	}
	if (d->slo_next >= d->cfg->nslos)
		d->slo_next = 0; /* a reload removed objectives */
	if (d->slo_next == 0) {
		if (d->slo_last_ms != 0 && mono - d->slo_last_ms < 5000)
			return;
		d->slo_last_ms = mono;
		pd_incident_slo_prune(d->incidents, now); /* objectives a reload removed */
	}
	o = &d->cfg->slos[d->slo_next];
	d->slo_next = (d->slo_next + 1) % d->cfg->nslos;
	/* the monitoring host is the suspect: its failures are not the API's budget */
	if (pd_daemon_host_suspect(d))
		return;
	if (pd_slo_store_status(d->store, d->cfg, o, now, &s, &err) != 0) {
		pd_log_err("slo %s: %s", o->name, err.msg);
		return;
	}
	if (pd_incident_slo(d->incidents, o, &s, now) > 0)
		d->kick_outbox = 1;
}

static void
daemon_on_classify(EV_P_ ev_timer *w, int revents)
{
	struct pd_daemon *d = w->data;

	(void)EV_A;
	(void)revents;
	if (!d->draining) {
		daemon_incidents(d);
		daemon_slo(d);
	}
	/* a safety net for rows queued by another process (probectl drill) */
	d->kick_outbox = 1;
}

static void
daemon_on_heartbeat_done(void *ud, struct pd_response *resp)
{
	struct pd_daemon *d = ud;
	int ok = resp->curl_code == 0 && resp->http_status >= 200 && resp->http_status <= 299;

	d->heartbeat_inflight = 0;
	if (ok != d->heartbeat_ok) {
		if (ok)
			pd_log_info("heartbeat: delivered (HTTP %ld)", resp->http_status);
		else
			pd_log_warn("heartbeat: failed (%s)",
				    resp->curl_code ? resp->error : "non-2xx status");
	}
	d->heartbeat_ok = ok;
}

/* Dead man's switch: ping only while healthy (the loop runs, and the store committed
 * without error since the last ping), so silence means "look at the monitor". */
static void
daemon_on_heartbeat(EV_P_ ev_timer *w, int revents)
{
	struct pd_daemon *d = w->data;
	struct pd_request req = {0};
	struct pd_err err = {0};

	(void)EV_A;
	(void)revents;
	if (d->cfg->heartbeat_url == NULL || d->draining || d->heartbeat_inflight) {
		w->repeat = 5.0; /* a reload may add one */
		ev_timer_again(d->loop, w);
		return;
	}
	w->repeat = (double)d->cfg->heartbeat_interval_ms / 1000.0;
	ev_timer_again(d->loop, w);
	if (d->store_failing || d->stats.store_errors != d->store_errors_at_ping) {
		d->store_errors_at_ping = d->stats.store_errors;
		pd_log_warn("heartbeat: withheld: the store failed since the last ping");
		d->heartbeat_ok = 0;
		return;
	}
	req.url = d->cfg->heartbeat_url;
	/* a ping never outlives its interval */
	req.timeout_ms =
		d->cfg->heartbeat_interval_ms < 10000 ? d->cfg->heartbeat_interval_ms : 10000;
	req.max_body = 64 * 1024;
	if (pd_runner_submit(d->runner, &req, daemon_on_heartbeat_done, d, &err) != 0)
		pd_log_err("heartbeat: %s", err.msg);
	else
		d->heartbeat_inflight = 1;
}

/*
 * A failed commit rolled back the batch: the results, and with them the state changes,
 * incident rows and outbox events they caused. The in-memory state must not stay ahead of
 * the database (a page that was never stored would never be sent, and the recovery would
 * resolve an incident nobody saw): every probe's state and the open incidents are read
 * back from the database, so the next results make the same transitions again and their
 * events go out once a commit succeeds. Until then the heartbeat is withheld.
 */
static void
daemon_resync(struct pd_daemon *d)
{
	struct pd_err err = {0};
	int first = !d->store_failing;

	d->store_failing = 1;
	d->loud_stale = 1;
	for (struct probe *p = d->probes; p != NULL; p = p->next) {
		struct pd_eval_state st;

		/* nothing stored yet: back to the initial state */
		pd_eval_init_at(&st, p->state.since_ms);
		(void)pd_store_load_state(d->store, p->name, &st, NULL);
		p->state = st;
	}
	if (pd_incident_reload(d->incidents, &err) != 0)
		pd_log_err("incidents: reload after a failed commit: %s", err.msg);
	d->incidents_dirty = 1;
	if (first)
		pd_log_warn("store: state rebuilt from the database; pages wait for a successful "
			    "commit, the heartbeat is withheld until then");
}

/* Commit the open batch; after a failure, rebuild the state from the database. */
static void
daemon_commit(struct pd_daemon *d)
{
	struct pd_err err = {0};

	ev_timer_stop(d->loop, &d->commit);
	if (pd_store_pending(d->store) == 0)
		return;
	if (pd_store_flush(d->store, &err) != 0) {
		d->stats.store_errors++;
		pd_log_err("store: commit failed, results of this batch are lost: %s", err.msg);
		daemon_resync(d);
	} else if (d->store_failing) {
		d->store_failing = 0;
		pd_log_info("store: commits succeed again");
	}
}

static void
daemon_on_commit(EV_P_ ev_timer *w, int revents)
{
	(void)EV_A;
	(void)revents;
	daemon_commit(w->data);
}

/*
 * Commits are batched by time (one COMMIT per loop iteration wrote ~6 KB of WAL per
 * 80-byte result at 1,000 probes/s): the batch is committed PD_STORE_COMMIT_MS after its
 * first write, by the commit timer if the loop has nothing else to do by then. It is
 * committed at once when it holds delivery state (the store marks outbox writes urgent)
 * or an outbox kick is due, since events and pages are only read for sending after the
 * commit that stored them; and while draining.
 */
static void
daemon_batch(struct pd_daemon *d)
{
	int64_t max = d->kick_outbox || d->draining ? 0 : PD_STORE_COMMIT_MS;
	int64_t wait = pd_store_batch_wait_ms(d->store, pd_clock_mono_ms(), max);

	if (wait == 0) {
		daemon_commit(d);
	} else if (wait > 0 && !ev_is_active(&d->commit)) {
		ev_timer_set(&d->commit, (double)wait / 1000.0, 0.);
		ev_timer_start(d->loop, &d->commit);
	}
}

static void
daemon_on_prepare(EV_P_ ev_prepare *w, int revents)
{
	struct pd_daemon *d = w->data;

	(void)EV_A;
	(void)revents;
	if (d->incidents_dirty && !d->draining)
		daemon_incidents(d);
	daemon_batch(d);
	if (d->kick_outbox) {
		d->kick_outbox = 0;
		pd_outbox_kick(d->outbox);
	}
	/* the drain waits for probes, notifications and running exec commands alike (an
	 * exec killed here would run again after the restart: a duplicate ticket) */
	if (d->draining && pd_runner_inflight(d->runner) == 0 &&
	    pd_outbox_inflight(d->outbox) == 0) {
		pd_log_info("shutdown: in-flight work finished");
		ev_break(d->loop, EVBREAK_ALL);
	}
}

static void
daemon_on_prune(EV_P_ ev_timer *w, int revents)
{
	struct pd_daemon *d = w->data;
	struct pd_err err = {0};
	struct pd_store_pruned h = {0};
	struct pd_store_pruned *t = &d->pruned_hist;
	int64_t now = daemon_now(d);
	int deleted = 0, more;

	(void)EV_A;
	(void)revents;
	daemon_commit(d); /* the batch so far, with its failure handling, before pruning */
	if (pd_store_prune(d->store, now - d->cfg->retention_ms, PRUNE_BATCH, &deleted, &err) != 0)
		pd_log_err("store: prune: %s", err.msg);
	else if (pd_store_prune_history(d->store, now - d->cfg->retention_ms,
					now - d->cfg->incident_retention_ms, PRUNE_HISTORY_BATCH,
					&h, &err) != 0)
		pd_log_err("store: prune: %s", err.msg);
	d->pruned_rows += deleted;
	t->shapes += h.shapes;
	t->incident_events += h.incident_events;
	t->incidents += h.incidents;
	t->dead_letters += h.dead_letters;
	t->deliveries += h.deliveries;
	t->total += h.total;
	/* more to delete: come back soon, in small steps that never stall the loop */
	more = deleted >= PRUNE_BATCH || h.total >= PRUNE_HISTORY_BATCH;
	if (!more && d->pruned_rows + t->total > 0) {
		/* one line per run of passes, with what went */
		pd_log_info("store: pruned %lld results/events/aggregates, %lld shapes, "
			    "%lld incidents (%lld timeline rows), %lld dead letters, "
			    "%lld deliveries",
			    (long long)d->pruned_rows, (long long)t->shapes,
			    (long long)t->incidents, (long long)t->incident_events,
			    (long long)t->dead_letters, (long long)t->deliveries);
		d->pruned_rows = 0;
		memset(t, 0, sizeof(*t));
	}
	w->repeat = more ? PRUNE_AGAIN_S : 60.0;
	ev_timer_again(d->loop, w);
}

static void
daemon_on_drain_timeout(EV_P_ ev_timer *w, int revents)
{
	struct pd_daemon *d = w->data;
	struct pd_err err = {0};

	(void)revents;
	pd_log_warn("shutdown: %zu transfers still running after %.0fs; aborting them",
		    pd_runner_inflight(d->runner), d->opts.drain_timeout_s);
	pd_store_flush(d->store, &err);
	ev_break(EV_A, EVBREAK_ALL);
}

void
pd_daemon_shutdown(struct pd_daemon *d)
{
	if (d->draining)
		return;
	d->draining = 1;
	ev_timer_stop(d->loop, &d->heartbeat);
	if (d->opts.on_shutdown)
		d->opts.on_shutdown(d->opts.hook_ud);
	for (struct probe *p = d->probes; p; p = p->next)
		pd_sched_stop(&p->sched);
	pd_log_info("shutdown: finishing %zu in-flight transfers and %zu notifications "
		    "(at most %.0fs)",
		    pd_runner_inflight(d->runner), pd_outbox_inflight(d->outbox),
		    d->opts.drain_timeout_s);
	ev_timer_set(&d->drain, d->opts.drain_timeout_s, 0.);
	ev_timer_start(d->loop, &d->drain);
	ev_prepare_start(d->loop, &d->prepare);
}

int
pd_daemon_reload(struct pd_daemon *d, struct pd_err *err)
{
	struct pd_config *cfg = NULL;
	int rc;

	rc = pd_config_load(d->opts.config_path, &cfg, err, NULL, NULL);
	if (rc != 0) {
		pd_log_err("reload: %s; keeping the running configuration", err->msg);
		return rc;
	}
	rc = pd_daemon_apply(d, cfg, err);
	if (rc != 0)
		pd_log_err("reload: %s", err->msg);
	daemon_commit(d); /* what the reload changed (state of removed probes), now */
	return rc;
}

static void
daemon_on_signal(EV_P_ ev_signal *w, int revents)
{
	struct pd_daemon *d = w->data;
	struct pd_err err = {0};

	(void)EV_A;
	(void)revents;
	if (w->signum == SIGHUP) {
		pd_log_info("SIGHUP: reloading %s", d->opts.config_path);
		d->stats.reloads++;
		if (d->opts.on_reload)
			d->opts.on_reload(d->opts.hook_ud, 0, 1, "");
		if (pd_daemon_reload(d, &err) != 0) {
			d->stats.reload_failures++;
			if (d->opts.on_reload)
				d->opts.on_reload(d->opts.hook_ud, 1, 0, err.msg);
		} else if (d->opts.on_reload) {
			d->opts.on_reload(d->opts.hook_ud, 1, 1, "");
		}
		return;
	}
	pd_log_info("%s: shutting down", w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
	pd_daemon_shutdown(d);
}

struct pd_daemon *
pd_daemon_new(struct ev_loop *loop, struct pd_config *cfg, const struct pd_daemon_opts *opts,
	      struct pd_err *err)
{
	struct pd_daemon *d = calloc(1, sizeof(*d));
	const char *db;

	if (d == NULL) {
		pd_config_free(cfg);
		pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		return NULL;
	}
	d->loop = loop;
	d->opts = *opts;
	d->stats.started_ms = pd_clock_wall_ms(opts->clock);
	if (d->opts.drain_timeout_s <= 0)
		d->opts.drain_timeout_s = 15;
	db = opts->db_path ? opts->db_path : cfg->store_path;
	if (pd_store_open(db, 0, &d->store, err) != 0)
		goto fail;
	d->runner = pd_runner_new(loop, err);
	if (d->runner == NULL)
		goto fail;
	d->outbox = pd_outbox_new(loop, d->store, d->runner, opts->clock, err);
	if (d->outbox == NULL)
		goto fail;
	d->incidents = pd_incident_new(d->store, opts->clock, err);
	if (d->incidents == NULL)
		goto fail;
	ev_prepare_init(&d->prepare, daemon_on_prepare);
	d->prepare.data = d;
	ev_prepare_start(loop, &d->prepare);
	ev_timer_init(&d->commit, daemon_on_commit, 0., 0.);
	d->commit.data = d;
	ev_init(&d->prune, daemon_on_prune);
	d->prune.repeat = 5.0; /* first pass soon after start */
	d->prune.data = d;
	ev_timer_again(loop, &d->prune);
	ev_timer_init(&d->drain, daemon_on_drain_timeout, 0., 0.);
	d->drain.data = d;
	ev_init(&d->classify, daemon_on_classify);
	d->classify.data = d;
	d->classify.repeat = 1.0;
	ev_timer_again(loop, &d->classify);
	ev_init(&d->heartbeat, daemon_on_heartbeat);
	d->heartbeat.data = d;
	d->heartbeat_ok = -1;
	d->heartbeat.repeat = 1.0; /* first ping once the first results are in */
	ev_timer_again(loop, &d->heartbeat);
	if (pd_daemon_apply(d, cfg, err) != 0) {
		cfg = NULL;
		goto fail;
	}
	if (pd_incident_load(d->incidents, err) != 0)
		pd_log_err("incidents: %s", err->msg);
	/* events left from before a restart (or a crash) go out now */
	d->kick_outbox = 1;
	return d;
fail:
	if (d->cfg == NULL)
		pd_config_free(cfg);
	pd_daemon_free(d);
	return NULL;
}

void
pd_daemon_free(struct pd_daemon *d)
{
	struct pd_err err = {0};

	if (d == NULL)
		return;
	if (d->loop) {
		ev_prepare_stop(d->loop, &d->prepare);
		ev_timer_stop(d->loop, &d->commit);
		ev_timer_stop(d->loop, &d->prune);
		ev_timer_stop(d->loop, &d->drain);
		ev_timer_stop(d->loop, &d->heartbeat);
		ev_timer_stop(d->loop, &d->classify);
		ev_signal_stop(d->loop, &d->sig_term);
		ev_signal_stop(d->loop, &d->sig_int);
		ev_signal_stop(d->loop, &d->sig_hup);
	}
	/* unlink every probe first: aborting the runner below runs the completion callback
	 * of each in-flight probe, which frees a probe marked removed */
	while (d->probes) {
		struct probe *p = d->probes;

		d->probes = p->next;
		p->cfg = NULL;
		if (p->inflight)
			p->removed = 1;
		else
			pd_daemon_probe_free(p);
	}
	pd_runner_free(d->runner);
	pd_outbox_free(d->outbox);
	pd_incident_free(d->incidents);
	free(d->sil);
	if (d->store && pd_store_flush(d->store, &err) != 0)
		pd_log_err("store: final commit failed: %s", err.msg);
	pd_store_free(d->store);
	pd_config_free(d->cfg);
	free(d);
}

int
pd_daemon_run(struct pd_daemon *d)
{
	ev_signal_init(&d->sig_term, daemon_on_signal, SIGTERM);
	ev_signal_init(&d->sig_int, daemon_on_signal, SIGINT);
	ev_signal_init(&d->sig_hup, daemon_on_signal, SIGHUP);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	ev_signal_start(d->loop, &d->sig_term);
	ev_signal_start(d->loop, &d->sig_int);
	ev_signal_start(d->loop, &d->sig_hup);
	signal(SIGPIPE, SIG_IGN);
	ev_run(d->loop, 0);
	return d->rc;
}

size_t
pd_daemon_probes(const struct pd_daemon *d, pd_daemon_probe_fn fn, void *ud)
{
	struct probe **all;
	struct pd_maint_hit hit;
	int64_t now = daemon_now(d);
	size_t n = 0;

	/* the list is newest-first: walk it once into an array and hand it out reversed,
	 * which is config order for a config loaded in one go (a lookup per configured
	 * probe would be quadratic) */
	for (struct probe *p = d->probes; p; p = p->next)
		n++;
	all = calloc(n ? n : 1, sizeof(*all));
	if (all == NULL)
		return 0;
	n = 0;
	for (struct probe *p = d->probes; p; p = p->next)
		if (p->cfg != NULL)
			all[n++] = p;
	for (size_t i = n; i-- > 0;) {
		const struct probe *p = all[i];
		struct pd_probe_view v;

		v.name = p->name;
		v.family = p->cfg->family;
		v.tier = pd_config_tier_str(p->cfg->tier);
		v.cfg = p->cfg;
		v.state = &p->state;
		v.has_result = p->has_result;
		v.last = &p->last;
		v.cert_not_after_s = p->cert_not_after_s;
		v.maint = pd_incident_held(d->incidents, p->name, p->cfg->family, now, &hit) ? &hit
											     : NULL;
		if (fn)
			fn(ud, &v);
	}
	free(all);
	return n;
}

void
pd_daemon_stats(const struct pd_daemon *d, struct pd_daemon_stats *out)
{
	*out = d->stats;
	out->probes_up = out->probes_down = 0;
	for (struct probe *p = d->probes; p; p = p->next) {
		if (p->state.status == PD_EVAL_DOWN || p->state.status == PD_EVAL_RECOVERING)
			out->probes_down++;
		else
			out->probes_up++;
	}
	out->loud_probes = d->nloud;
	out->inflight = pd_runner_inflight(d->runner);
	{
		size_t counts[5];

		out->open_incidents =
			d->incidents ? pd_incident_open_counts(d->incidents, counts) : 0;
	}
	out->draining = d->draining;
}

struct pd_store *
pd_daemon_store(const struct pd_daemon *d)
{
	return d->store;
}

const struct pd_config *
pd_daemon_config(const struct pd_daemon *d)
{
	return d->cfg;
}

struct ev_loop *
pd_daemon_loop(const struct pd_daemon *d)
{
	return d->loop;
}

struct pd_incidents *
pd_daemon_incidents(const struct pd_daemon *d)
{
	return d->incidents;
}
