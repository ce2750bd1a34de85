/* probectl_incidents.c — the commands that read the incidents, their timelines and
 * deliveries from the database: incidents, incident, postmortem (also the
 * configuration, for the endpoints), and drill, which loads the whole configuration,
 * writes a drill incident and delivers its notifications through the outbox. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include "probed/buf.h"
#include "probed/classify.h"
#include "probed/clock.h"
#include "probed/comms.h"
#include "probed/config.h"
#include "probed/incident.h"
#include "probed/outbox.h"
#include "probed/runner.h"
#include "probed/store.h"
#include "probectl_int.h"

/* ----------------------------------------------------------------- incidents */

/* One line of text for one target's delivery, into out. */
static void
delivery_text(const struct pd_delivery *d, char *out, size_t cap)
{
	char t1[40], t2[40], earlier[80] = "";

	if (d->state != PD_DELIVERY_DELIVERED && d->delivered_ms > 0) {
		pd_clock_rfc3339(d->delivered_ms, t2, sizeof(t2));
		snprintf(earlier, sizeof(earlier), " (an earlier one delivered at %s)", t2);
	}
	switch (d->state) {
	case PD_DELIVERY_DELIVERED:
		if (d->delivered_ms > 0) {
			pd_clock_rfc3339(d->delivered_ms, t1, sizeof(t1));
			snprintf(out, cap, "delivered at %s (attempt %d)", t1, d->attempts);
		} else {
			snprintf(out, cap, "delivered (time not recorded)");
		}
		break;
	case PD_DELIVERY_QUEUED:
		pd_clock_rfc3339(d->next_at_ms, t1, sizeof(t1));
		snprintf(out, cap, "queued, 0 attempts, next try at %s%s", t1, earlier);
		break;
	case PD_DELIVERY_FAILING:
		pd_clock_rfc3339(d->next_at_ms, t1, sizeof(t1));
		snprintf(out, cap,
			 "failing to deliver: %d attempt%s, next try at %s; last error: %s%s",
			 d->attempts, d->attempts == 1 ? "" : "s", t1, d->last_error, earlier);
		break;
	case PD_DELIVERY_DEAD:
		snprintf(out, cap,
			 "failing to deliver: dead-lettered after %d attempt%s, will not "
			 "be retried; error: %s%s",
			 d->attempts, d->attempts == 1 ? "" : "s", d->last_error, earlier);
		break;
	}
}

/* One incident as JSON, with what became of its notifications (pg). */
static cJSON *
incident_json(const struct pd_incident_row *r, const struct page *pg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddStringToObject(o, "key", r->key);
	cJSON_AddStringToObject(o, "severity", pd_classify_severity_str(r->severity));
	cJSON_AddStringToObject(o, "mode", pd_classify_mode_str((enum pd_mode)r->mode));
	cJSON_AddStringToObject(o, "mode_title", pd_classify_mode_title((enum pd_mode)r->mode));
	probectl_json_str(o, "runbook",
			  r->mode ? pd_classify_mode_runbook((enum pd_mode)r->mode) : NULL);
	cJSON_AddStringToObject(o, "title", r->title);
	probectl_json_str(o, "reason", r->reason);
	probectl_json_str(o, "evidence", r->evidence);
	probectl_json_ts(o, "opened", r->opened_ms);
	probectl_json_ts(o, "resolved", r->resolved_ms);
	cJSON_AddBoolToObject(o, "open", r->resolved_ms == 0);
	cJSON_AddBoolToObject(o, "drill", r->drill);
	cJSON_AddItemToObject(o, "probes", cJSON_Parse(r->members ? r->members : "[]"));
	probectl_json_str(o, "status_message", r->status_message);
	cJSON_AddStringToObject(o, "delivery", probectl_page_summary(pg));
	cJSON_AddItemToObject(o, "deliveries", probectl_page_json(pg));
	return o;
}

struct inc_list {
	const struct cli *c;
	struct pd_store *st;
	struct page *pg;
	cJSON *arr;
	int64_t now;
	size_t n;
	struct pd_err err;
};

static int
incidents_row(void *ud, const struct pd_incident_row *r)
{
	struct inc_list *l = ud;
	char ts[40], dur[32];
	const char *summary;

	l->n++;
	if (probectl_page_load(l->st, r->key, r->id, r->notified, l->pg, &l->err) != 0)
		return -1;
	if (l->arr) {
		cJSON_AddItemToArray(l->arr, incident_json(r, l->pg));
		return 0;
	}
	summary = probectl_page_summary(l->pg);
	pd_clock_rfc3339(r->opened_ms, ts, sizeof(ts));
	ts[16] = '\0'; /* to the minute */
	pd_config_duration_format(((r->resolved_ms ? r->resolved_ms : l->now) - r->opened_ms) /
					  1000 * 1000,
				  dur, sizeof(dur));
	printf("%-5lld %-3s %-16s %-17s %-9s %-8s %-9s %s%s\n", (long long)r->id,
	       pd_classify_severity_str(r->severity), pd_classify_mode_str((enum pd_mode)r->mode),
	       ts, dur, r->resolved_ms ? "resolved" : "OPEN",
	       strcmp(summary, "not_sent") == 0 ? "not sent" : summary, r->drill ? "[DRILL] " : "",
	       r->title);
	return 0;
}

int
probectl_cmd_incidents(struct cli *c)
{
	struct inc_list l = {c, NULL, NULL, NULL, pd_clock_wall_ms(NULL), 0, {0}};
	struct dbsel sel = {0};
	cJSON *doc = NULL;
	int rc;

	if ((l.pg = calloc(1, sizeof(*l.pg))) == NULL)
		return 1;
	if ((rc = probectl_open_store(c, &l.st, &sel)) != 0)
		goto out;
	rc = 1;
	if (c->json) {
		doc = probectl_json_doc("probed.incidents/1");
		cJSON_AddStringToObject(doc, "database", sel.path);
		cJSON_AddBoolToObject(doc, "open_only", c->open_only);
		l.arr = cJSON_AddArrayToObject(doc, "incidents");
	} else {
		printf("%-5s %-3s %-16s %-17s %-9s %-8s %-9s %s\n", "ID", "SEV", "MODE",
		       "OPENED (UTC)", "DURATION", "STATE", "DELIVERY", "TITLE");
	}
	if (pd_store_incidents(l.st, c->open_only, 0, incidents_row, &l, &l.err) != 0) {
		fprintf(stderr, "probectl: %s\n", l.err.msg);
		goto out;
	}
	if (doc)
		probectl_print_json(doc);
	else if (l.n == 0)
		printf("(no %sincidents)\n", c->open_only ? "open " : "");
	rc = 0;
out:
	cJSON_Delete(doc);
	free(l.pg);
	free(sel.path);
	pd_store_free(l.st);
	return rc;
}

struct tl {
	struct pd_comms_event ev[512];
	char *text[512];
	size_t n;
	cJSON *arr;
};

static int
timeline_row(void *ud, int64_t ts_ms, const char *kind, const char *detail)
{
	struct tl *t = ud;
	char line[700];

	snprintf(line, sizeof(line), "%s: %s", kind, detail ? detail : "");
	if (t->arr) {
		cJSON *o = cJSON_CreateObject();

		probectl_json_ts(o, "ts", ts_ms);
		cJSON_AddStringToObject(o, "kind", kind);
		probectl_json_str(o, "detail", detail);
		cJSON_AddItemToArray(t->arr, o);
	}
	if (t->n < 512) {
		t->text[t->n] = strdup(line);
		t->ev[t->n].ts_ms = ts_ms;
		t->ev[t->n].text = t->text[t->n];
		t->n++;
	}
	return 0;
}

/* The incident named by the one argument, its timeline, and (pg != NULL) its deliveries.
 * 0, or an exit status after a message. */
static int
incident_load(struct cli *c, struct pd_store **st, struct dbsel *sel, struct pd_incident_row *r,
	      struct tl *t, struct page *pg)
{
	struct pd_err err = {0};
	char *end;
	long long id;
	int rc;

	errno = 0;
	id = strtoll(c->argv[0], &end, 10);
	if (*end != '\0' || end == c->argv[0] || id <= 0 || errno != 0) {
		fprintf(stderr, "probectl: '%s' is not an incident id (see probectl incidents)\n",
			c->argv[0]);
		return EX_USAGE;
	}
	if ((rc = probectl_open_store(c, st, sel)) != 0)
		return rc;
	if (pd_store_incident_get(*st, id, r, &err) != 0 ||
	    pd_store_incident_events(*st, id, timeline_row, t, &err) != 0 ||
	    (pg != NULL && probectl_page_load(*st, r->key, r->id, r->notified, pg, &err) != 0)) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static void
tl_free(struct tl *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->text[i]);
	cJSON_Delete(t->arr);
}

int
probectl_cmd_incident(struct cli *c)
{
	struct pd_incident_row r;
	struct pd_store *st = NULL;
	struct tl *t = calloc(1, sizeof(*t));
	struct page *pg = calloc(1, sizeof(*pg));
	struct dbsel sel = {0};
	cJSON *probes = NULL, *e;
	char ts[40], line[700];
	int rc = 1;

	memset(&r, 0, sizeof(r));
	if (t == NULL || pg == NULL)
		goto out;
	if (c->json)
		t->arr = cJSON_CreateArray();
	rc = incident_load(c, &st, &sel, &r, t, pg);
	if (rc != 0)
		goto out;
	if (c->json) {
		cJSON *o = incident_json(&r, pg), *doc = probectl_json_doc("probed.incident/1");

		cJSON_AddStringToObject(doc, "database", sel.path);
		/* the incident's fields at the top level, after format and database */
		while (o->child != NULL) {
			cJSON *item = cJSON_DetachItemViaPointer(o, o->child);

			cJSON_AddItemToObject(doc, item->string, item);
		}
		cJSON_Delete(o);
		cJSON_AddItemToObject(doc, "timeline", t->arr);
		t->arr = NULL;
		probectl_print_json(doc);
		cJSON_Delete(doc);
		goto out;
	}
	printf("Incident %lld  %s%s\n", (long long)r.id, r.key, r.drill ? "  [DRILL]" : "");
	printf("  Severity: %s\n  Mode:     %s\n", pd_classify_severity_str(r.severity),
	       pd_classify_mode_title((enum pd_mode)r.mode));
	if (r.mode)
		printf("  Runbook:  runbooks/%s\n", pd_classify_mode_runbook((enum pd_mode)r.mode));
	printf("  Title:    %s\n  Reason:   %s\n  Evidence: %s\n", r.title, r.reason, r.evidence);
	printf("  Probes:   ");
	probes = cJSON_Parse(r.members ? r.members : "[]");
	{
		int k = 0;

		cJSON_ArrayForEach(e, probes) if (cJSON_IsString(e))
			printf("%s%s", k++ ? ", " : "", e->valuestring);
		printf("%s\n", k ? "" : "-");
	}
	pd_clock_rfc3339(r.opened_ms, ts, sizeof(ts));
	printf("  Opened:   %s\n", ts);
	if (r.resolved_ms) {
		pd_clock_rfc3339(r.resolved_ms, ts, sizeof(ts));
		printf("  Resolved: %s\n", ts);
	} else {
		printf("  Resolved: - (open)\n");
	}
	if (pg->n == 0) {
		printf("  Delivery: not sent (no target takes %s)\n",
		       pd_classify_severity_str(r.severity));
	} else {
		printf("  Delivery: %s\n", probectl_page_summary(pg));
		for (size_t i = 0; i < pg->n; i++) {
			delivery_text(&pg->d[i], line, sizeof(line));
			printf("    %-20s %-8s %s\n", pg->d[i].target, pg->d[i].event, line);
		}
	}
	printf("\nStatus-page draft:\n%s\n\nTimeline (UTC):\n",
	       r.status_message && r.status_message[0] ? r.status_message : "(none)");
	for (size_t i = 0; i < t->n; i++) {
		pd_clock_rfc3339(t->ev[i].ts_ms, ts, sizeof(ts));
		printf("  %s  %s\n", ts, t->ev[i].text);
	}
out:
	cJSON_Delete(probes);
	pd_store_incident_row_cleanup(&r);
	if (t != NULL)
		tl_free(t);
	free(t);
	free(pg);
	free(sel.path);
	pd_store_free(st);
	return rc;
}

int
probectl_cmd_postmortem(struct cli *c)
{
	struct pd_incident_row r;
	struct pd_comms_incident ci = {0};
	struct pd_store *st = NULL;
	struct tl *t = calloc(1, sizeof(*t));
	struct pd_config *cfg = NULL;
	struct dbsel sel = {0};
	const char *aff[64];
	char abuf[64][96], mtitle[128];
	struct pd_buf out;
	struct pd_err err = {0};
	cJSON *members = NULL, *e;
	int rc;

	memset(&r, 0, sizeof(r));
	pd_buf_init(&out, 1 << 20);
	if (t == NULL)
		return 1;
	rc = incident_load(c, &st, &sel, &r, t, NULL);
	if (rc != 0)
		goto out;
	/* endpoints: from the config when it is readable, else the probe names */
	pd_config_load(c->config, &cfg, &err, NULL, NULL);
	members = cJSON_Parse(r.members ? r.members : "[]");
	cJSON_ArrayForEach(e, members)
	{
		const struct pd_probe_cfg *p;

		if (!cJSON_IsString(e) || ci.naffected >= 64)
			continue;
		p = cfg ? pd_config_probe(cfg, e->valuestring) : NULL;
		if (p)
			pd_incident_endpoint(p, abuf[ci.naffected], sizeof(abuf[0]));
		else
			snprintf(abuf[ci.naffected], sizeof(abuf[0]), "%s", e->valuestring);
		aff[ci.naffected] = abuf[ci.naffected];
		ci.naffected++;
	}
	ci.affected = aff;
	ci.title = r.title;
	/* the Mode 1 title in the user's words (classify: upstream) when the config loads */
	ci.mode = r.mode ? pd_classify_mode_title_of((enum pd_mode)r.mode,
						     cfg ? &cfg->classify : NULL, mtitle,
						     sizeof(mtitle))
			 : NULL;
	ci.start_ms = r.opened_ms;
	ci.end_ms = r.resolved_ms;
	ci.severity = pd_classify_severity_str(r.severity);
	ci.events = t->ev;
	ci.nevents = t->n;
	if (pd_comms_postmortem(&ci, &out, &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	fputs(out.data, stdout);
out:
	cJSON_Delete(members);
	pd_config_free(cfg);
	pd_buf_cleanup(&out);
	pd_store_incident_row_cleanup(&r);
	tl_free(t);
	free(t);
	free(sel.path);
	pd_store_free(st);
	return rc;
}

int
probectl_cmd_drill(struct cli *c)
{
	struct pd_config *cfg = NULL;
	struct pd_store *st = NULL;
	struct pd_incidents *m = NULL;
	struct pd_runner *runner = NULL;
	struct pd_outbox *ob = NULL;
	struct ev_loop *loop = NULL;
	struct pd_err err = {0};
	char word[4] = "", key[192];
	int64_t now;
	int sev, queued, rc = 1;

	if (strlen(c->argv[0]) == 2) /* "p2" is taken as "P2" */
		snprintf(word, sizeof(word), "%c%c", toupper((unsigned char)c->argv[0][0]),
			 c->argv[0][1]);
	if ((sev = pd_classify_severity_parse(word)) == 0) {
		fprintf(stderr, "probectl: drill: '%s' is not a severity (P1, P2, P3 or P4)\n",
			c->argv[0]);
		return EX_USAGE;
	}
	if (probectl_load_config(c, &cfg) != 0)
		return EX_CONFIG;
	if (probectl_store_open_rw(c->db ? c->db : cfg->store_path, &st, &err) != 0 ||
	    (m = pd_incident_new(st, NULL, &err)) == NULL) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		goto out;
	}
	pd_incident_set_config(m, cfg);
	now = pd_clock_wall_ms(NULL);
	pd_incident_drill_key(m, now, key, sizeof(key));
	queued = pd_incident_drill(m, sev, now, &err);
	if (queued < 0 || pd_store_flush(st, &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		goto out;
	}
	printf("drill %s queued for %d target(s) by the playbook's routing\n",
	       pd_classify_severity_str(sev), queued);
	/* deliver now through the same outbox; what cannot be delivered stays queued for
	 * the daemon, with its dedup key */
	loop = ev_loop_new(EVFLAG_AUTO);
	if (loop == NULL || (runner = pd_runner_new(loop, &err)) == NULL ||
	    (ob = pd_outbox_new(loop, st, runner, NULL, &err)) == NULL) {
		fprintf(stderr, "probectl: %s\n",
			err.msg[0] ? err.msg : "cannot create event loop");
		goto out;
	}
	pd_outbox_set_config(ob, cfg);
	/* only the drill's own rows: the daemon delivers everything else (a row sent by two
	 * processes could go twice, and beside the daemon's breaker) */
	pd_outbox_only(ob, key);
	pd_outbox_kick(ob);
	for (int i = 0; i < 300 && pd_outbox_inflight(ob) > 0; i++) {
		ev_run(loop, EVRUN_ONCE);
		pd_store_flush(st, NULL);
	}
	pd_store_flush(st, NULL);
	{
		struct pd_outbox_counters oc;

		pd_outbox_counters(ob, &oc);
		printf("delivered %llu, retrying later %llu, rejected %llu\n",
		       (unsigned long long)oc.sent, (unsigned long long)oc.retried,
		       (unsigned long long)oc.dead);
	}
	rc = 0;
out:
	pd_outbox_free(ob);
	pd_runner_free(runner);
	if (loop)
		ev_loop_destroy(loop);
	pd_incident_free(m);
	pd_store_free(st);
	pd_config_free(cfg);
	return rc;
}
