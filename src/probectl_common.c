/* probectl_common.c — what the probectl commands share: loading the configuration, the
 * --json output helpers, which database to read, the delivery state of a page (what
 * became of the notifications of one dedup key, read from the database) and the age of
 * a time for the tables.
 *
 * Which database (one rule for every reading command, never a silent switch):
 *   --db FILE; else store.path of the configuration named by -c or $PROBED_CONFIG (only
 *   that key is read: a secret that cannot be resolved here does not matter); else
 *   store.path of /etc/probed/probes.yaml; else, only when that file does not exist,
 *   /var/lib/probed/probed.db. A configuration that cannot say (unreadable, bad YAML,
 *   bad store.path) is an error (78), and every "no database" error names the rule used.
 *
 * Every --json output is one object {"format": "probed.<command>/1", ...}; a value that
 * is not known is null, never -1 and never left out (see probectl(1)). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "probed/clock.h"
#include "probed/config.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/store.h"
#include "probectl_int.h"

static void
print_diag(void *ud, const char *line)
{
	(void)ud;
	fprintf(stderr, "%s\n", line);
}

int
probectl_load_config(const struct cli *c, struct pd_config **cfg)
{
	struct pd_err err = {0};
	int rc = pd_config_load_flags(c->config, c->load_flags, cfg, &err, print_diag, NULL);

	if (rc != 0 && rc != PD_ERR_CONFIG)
		fprintf(stderr, "%s\n", err.msg);
	return rc;
}

/* ---------------------------------------------------------------------- JSON */

/* The top-level object of every --json output. */
cJSON *
probectl_json_doc(const char *format)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "format", format);
	return o;
}

/* RFC 3339 UTC, or null when ms is 0 (not known / never). */
void
probectl_json_ts(cJSON *o, const char *key, int64_t ms)
{
	char ts[40];

	if (ms <= 0) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	pd_clock_rfc3339(ms, ts, sizeof(ts));
	cJSON_AddStringToObject(o, key, ts);
}

void
probectl_json_num(cJSON *o, const char *key, double v, int known)
{
	if (known)
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* A string, or null when s is NULL or empty. */
void
probectl_json_str(cJSON *o, const char *key, const char *s)
{
	if (s != NULL && s[0] != '\0')
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

/* The fields of one result (r NULL: no result yet, every field null). Phase timings are
 * null when the phase did not happen, http_status when there was no response. */
void
probectl_result_fields(cJSON *o, const struct pd_result *r)
{
	probectl_json_ts(o, "ts", r ? r->ts_ms : 0);
	if (r)
		cJSON_AddBoolToObject(o, "ok", pd_result_ok(r));
	else
		cJSON_AddNullToObject(o, "ok");
	probectl_json_str(o, "outcome", r ? pd_outcome_str(r->outcome) : NULL);
	probectl_json_num(o, "http_status", r ? r->http_status : 0, r && r->http_status > 0);
	probectl_json_num(o, "total_ms", r ? r->total_ms : 0, r && r->total_ms >= 0);
	probectl_json_num(o, "dns_ms", r ? r->dns_ms : 0, r && r->dns_ms >= 0);
	probectl_json_num(o, "connect_ms", r ? r->connect_ms : 0, r && r->connect_ms >= 0);
	probectl_json_num(o, "tls_ms", r ? r->tls_ms : 0, r && r->tls_ms >= 0);
	probectl_json_num(o, "ttfb_ms", r ? r->ttfb_ms : 0, r && r->ttfb_ms >= 0);
	probectl_json_num(o, "body_size", r ? (double)r->body_size : 0, r != NULL);
	probectl_json_str(o, "verdict", r ? r->verdict : NULL);
}

cJSON *
probectl_result_json(const char *name, const struct pd_result *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", name);
	probectl_result_fields(o, r);
	return o;
}

void
probectl_print_json(cJSON *o)
{
	char *s = cJSON_Print(o);

	if (s) {
		pd_log_redact(s, strlen(s) + 1);
		printf("%s\n", s);
		cJSON_free(s);
	}
}

/* ------------------------------------------------------------ which database */

/* Apply the rule (top of file). 0 and sel->path set, or an exit status after a
 * message on stderr. */
int
probectl_db_select(const struct cli *c, struct dbsel *sel)
{
	struct pd_err err = {0};
	struct stat sb;
	int rc;

	memset(sel, 0, sizeof(*sel));
	if (c->db != NULL) {
		sel->path = strdup(c->db);
		snprintf(sel->why, sizeof(sel->why), "given with --db");
		return sel->path ? 0 : 1;
	}
	if (c->config_src == NULL && stat(c->config, &sb) != 0 && errno == ENOENT) {
		sel->path = strdup(DEFAULT_DB);
		snprintf(sel->why, sizeof(sel->why),
			 "the default database: no --db, no -c or PROBED_CONFIG, and no %s; "
			 "name the database with --db FILE or the configuration with -c FILE",
			 c->config);
		return sel->path ? 0 : 1;
	}
	rc = pd_config_store_path(c->config, &sel->path, &err);
	if (rc != 0) {
		fprintf(stderr, "probectl: cannot tell which database to read: %s\n", err.msg);
		fprintf(stderr,
			"probectl: the database is store.path of %s (%s); fix it, or "
			"name the database with --db FILE\n",
			c->config, c->config_src ? c->config_src : "the default configuration");
		return rc == PD_ERR_NOMEM ? 1 : EX_CONFIG;
	}
	snprintf(sel->why, sizeof(sel->why), "store.path of %s (%s)", c->config,
		 c->config_src ? c->config_src : "the default configuration");
	return 0;
}

/* Open the database read-only. 0, or an exit status after a message (3: no database). */
int
probectl_open_store(const struct cli *c, struct pd_store **st, struct dbsel *sel)
{
	struct pd_err err = {0};
	int rc;

	*st = NULL;
	if ((rc = probectl_db_select(c, sel)) != 0)
		return rc;
	rc = pd_store_open(sel->path, 1, st, &err);
	if (rc == 0)
		return 0;
	if (c->db != NULL)
		fprintf(stderr, "probectl: %s\n", err.msg);
	else
		fprintf(stderr, "probectl: %s; it is %s\n", err.msg, sel->why);
	return NAGIOS_UNKNOWN;
}

/* ------------------------------------------------------------ delivery state */

/* For targets an incident lists as notified but that have no row at all: the outbox
 * deletes a row only once delivered, so it was delivered (before the delivery log: the
 * time is not known, delivered_ms 0). */
static void
page_add_notified(struct page *pg, const char *notified)
{
	cJSON *a = cJSON_Parse(notified ? notified : "[]"), *e;

	cJSON_ArrayForEach(e, a)
	{
		int seen = 0;

		if (!cJSON_IsString(e))
			continue;
		for (size_t i = 0; i < pg->n; i++)
			if (strcmp(pg->d[i].target, e->valuestring) == 0)
				seen = 1;
		if (seen || pg->n >= MAX_DELIVERIES)
			continue;
		memset(&pg->d[pg->n], 0, sizeof(pg->d[0]));
		snprintf(pg->d[pg->n].target, sizeof(pg->d[0].target), "%s", e->valuestring);
		snprintf(pg->d[pg->n].event, sizeof(pg->d[0].event), "trigger");
		pg->d[pg->n].state = PD_DELIVERY_DELIVERED;
		pg->n++;
	}
	cJSON_Delete(a);
}

int
probectl_page_load(struct pd_store *st, const char *key, int64_t incident_id, const char *notified,
		   struct page *pg, struct pd_err *err)
{
	int rc;

	memset(pg, 0, sizeof(*pg));
	snprintf(pg->key, sizeof(pg->key), "%s", key);
	pg->incident_id = incident_id;
	rc = pd_store_deliveries(st, key, pg->d, MAX_DELIVERIES, &pg->n, err);
	if (rc == 0 && notified != NULL)
		page_add_notified(pg, notified);
	return rc;
}

int64_t
probectl_page_newest(const struct page *pg)
{
	int64_t t = 0;

	for (size_t i = 0; i < pg->n; i++)
		if (pg->d[i].created_ms > t)
			t = pg->d[i].created_ms;
	return t;
}

/* One word for all targets: "failing" when any attempt fails or was dead-lettered,
 * else "queued" when any waits, else "delivered"; "not_sent" when nothing was queued. */
const char *
probectl_page_summary(const struct page *pg)
{
	int queued = 0;

	if (pg->n == 0)
		return "not_sent";
	for (size_t i = 0; i < pg->n; i++) {
		if (pg->d[i].state == PD_DELIVERY_FAILING || pg->d[i].state == PD_DELIVERY_DEAD)
			return "failing";
		if (pg->d[i].state == PD_DELIVERY_QUEUED)
			queued = 1;
	}
	return queued ? "queued" : "delivered";
}

cJSON *
probectl_page_json(const struct page *pg)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < pg->n; i++) {
		const struct pd_delivery *d = &pg->d[i];
		cJSON *o = cJSON_CreateObject();
		int known = d->created_ms > 0; /* 0: delivered before the delivery log */

		cJSON_AddStringToObject(o, "target", d->target);
		cJSON_AddStringToObject(o, "event", d->event);
		cJSON_AddStringToObject(o, "state", pd_store_delivery_state_str(d->state));
		probectl_json_num(o, "attempts", d->attempts, known);
		probectl_json_ts(o, "queued", d->created_ms);
		probectl_json_ts(o, "next_attempt", d->next_at_ms);
		probectl_json_ts(o, "delivered", d->delivered_ms);
		probectl_json_str(o, "last_error", d->last_error);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

void
probectl_fmt_age(int64_t now, int64_t then, char *out, size_t cap)
{
	char d[32];

	if (then <= 0) {
		snprintf(out, cap, "-");
		return;
	}
	pd_config_duration_format(now > then ? (now - then) / 1000 * 1000 : 0, d, sizeof(d));
	snprintf(out, cap, "%s ago", d);
}

int
probectl_store_open_rw(const char *path, struct pd_store **st, struct pd_err *err)
{
	int rc = pd_store_open(path, 0, st, err);

	if (rc == 0)
		pd_store_set_busy_ms(*st, 5000);
	return rc;
}
