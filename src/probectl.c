/* probectl.c — the CLI: ad-hoc checks and read-only views of the daemon's database.
 * Commands are a table {name, fn, help}. Exit codes: sysexits (64 usage, 78 config);
 * `check` follows the Nagios plugin convention (0 OK, 2 CRITICAL, 3 UNKNOWN). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ev.h>
#include "probed/check.h"
#include "probed/clock.h"
#include "probed/comms.h"
#include "probed/config.h"
#include "probed/classify.h"
#include "probed/comms.h"
#include "probed/incident.h"
#include "probed/jsonschema.h"
#include "probed/outbox.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/runner.h"
#include "probed/store.h"

#define EX_USAGE 64
#define EX_CONFIG 78
#define NAGIOS_OK 0
#define NAGIOS_CRITICAL 2
#define NAGIOS_UNKNOWN 3

#define DEFAULT_CONFIG "/etc/probed/probes.yaml"

struct cli {
	const char *config;
	const char *db;
	const char *since;
	int json;
	int open_only;
	int argc;
	char **argv;  /* positional arguments after the command */
};

static void
print_diag(void *ud, const char *line)
{
	(void)ud;
	fprintf(stderr, "%s\n", line);
}

static int
load_config(const struct cli *c, struct pd_config **cfg)
{
	struct pd_err err = {0};
	int rc = pd_config_load(c->config, cfg, &err, print_diag, NULL);

	if (rc != 0 && rc != PD_ERR_CONFIG)
		fprintf(stderr, "%s\n", err.msg);
	return rc;
}

/* ------------------------------------------------------------------ validate */

static int
cmd_validate(struct cli *c)
{
	struct pd_config *cfg = NULL;

	if (load_config(c, &cfg) != 0)
		return EX_CONFIG;
	printf("%s: OK (%zu probes, %zu notify targets)\n", c->config, cfg->nprobes, cfg->nnotify);
	pd_config_free(cfg);
	return 0;
}

/* --------------------------------------------------------------------- check */

struct check_run {
	const struct pd_probe_cfg *p;
	struct pd_schema *schema;
	struct pd_result r;
	int done;
};

static void
check_on_done(void *ud, struct pd_response *resp)
{
	struct check_run *run = ud;

	pd_check_response(run->p, run->schema, resp, &run->r);
	run->done = 1;
}

static cJSON *
result_json(const char *name, const struct pd_result *r)
{
	char ts[40];
	cJSON *o = cJSON_CreateObject();

	pd_clock_rfc3339(r->ts_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "ts", ts);
	cJSON_AddBoolToObject(o, "ok", pd_result_ok(r));
	cJSON_AddStringToObject(o, "outcome", pd_outcome_str(r->outcome));
	cJSON_AddNumberToObject(o, "http_status", r->http_status);
	cJSON_AddNumberToObject(o, "total_ms", r->total_ms);
	cJSON_AddNumberToObject(o, "dns_ms", r->dns_ms);
	cJSON_AddNumberToObject(o, "connect_ms", r->connect_ms);
	cJSON_AddNumberToObject(o, "tls_ms", r->tls_ms);
	cJSON_AddNumberToObject(o, "ttfb_ms", r->ttfb_ms);
	cJSON_AddNumberToObject(o, "body_size", (double)r->body_size);
	cJSON_AddStringToObject(o, "verdict", r->verdict);
	return o;
}

static void
print_json(cJSON *o)
{
	char *s = cJSON_Print(o);

	if (s) {
		pd_log_redact(s, strlen(s) + 1);
		printf("%s\n", s);
		cJSON_free(s);
	}
}

static int
cmd_check(struct cli *c)
{
	struct pd_config *cfg = NULL;
	struct check_run *runs = NULL;
	struct pd_runner *runner = NULL;
	struct ev_loop *loop = NULL;
	struct pd_err err = {0};
	size_t n = 0;
	int failed = 0, rc = NAGIOS_UNKNOWN;

	if (load_config(c, &cfg) != 0)
		return EX_CONFIG;
	runs = calloc(cfg->nprobes, sizeof(*runs));
	if (runs == NULL)
		goto out;
	for (size_t i = 0; i < cfg->nprobes; i++) {
		int want = c->argc == 0;

		for (int a = 0; a < c->argc; a++)
			if (strcmp(c->argv[a], cfg->probes[i].name) == 0)
				want = 1;
		if (want)
			runs[n++].p = &cfg->probes[i];
	}
	for (int a = 0; a < c->argc; a++) {
		if (pd_config_probe(cfg, c->argv[a]) == NULL) {
			fprintf(stderr, "probectl: no probe named '%s' in %s\n", c->argv[a], c->config);
			goto out;
		}
	}
	loop = ev_loop_new(EVFLAG_AUTO);
	runner = loop ? pd_runner_new(loop, &err) : NULL;
	if (runner == NULL) {
		fprintf(stderr, "probectl: %s\n", err.msg[0] ? err.msg : "cannot create event loop");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct pd_request req;

		if (runs[i].p->json_schema) {
			runs[i].schema = pd_schema_new(runs[i].p->json_schema, &err);
			if (runs[i].schema == NULL) {
				fprintf(stderr, "probectl: %s: %s\n", runs[i].p->name, err.msg);
				goto out;
			}
		}
		pd_check_request(runs[i].p, &req);
		runs[i].r.ts_ms = pd_clock_wall_ms(NULL);
		if (pd_runner_submit(runner, &req, check_on_done, &runs[i], &err) != 0) {
			fprintf(stderr, "probectl: %s: %s\n", runs[i].p->name, err.msg);
			goto out;
		}
	}
	ev_run(loop, 0);

	if (c->json) {
		cJSON *arr = cJSON_CreateArray();

		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, result_json(runs[i].p->name, &runs[i].r));
		print_json(arr);
		cJSON_Delete(arr);
	} else {
		printf("%-24s %-6s %-5s %10s  %s\n", "NAME", "STATUS", "HTTP", "LATENCY", "VERDICT");
	}
	for (size_t i = 0; i < n; i++) {
		const struct pd_result *r = &runs[i].r;
		char verdict[300];

		if (!pd_result_ok(r))
			failed++;
		if (c->json)
			continue;
		if (pd_result_ok(r))
			snprintf(verdict, sizeof(verdict), "ok");
		else
			snprintf(verdict, sizeof(verdict), "%s: %s", pd_outcome_str(r->outcome),
				 r->verdict);
		printf("%-24s %-6s %-5d %7.0f ms  %s\n", runs[i].p->name,
		       pd_result_ok(r) ? "OK" : "FAIL", r->http_status, r->total_ms, verdict);
	}
	rc = failed ? NAGIOS_CRITICAL : NAGIOS_OK;
out:
	if (runs)
		for (size_t i = 0; i < n; i++)
			pd_schema_free(runs[i].schema);
	free(runs);
	pd_runner_free(runner);
	if (loop)
		ev_loop_destroy(loop);
	pd_config_free(cfg);
	return rc;
}

/* ------------------------------------------------------------ store commands */

static int
open_store(const struct cli *c, struct pd_store **st)
{
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	char *path = NULL;
	int rc;

	if (c->db != NULL) {
		path = strdup(c->db);
	} else if (pd_config_load(c->config, &cfg, &err, NULL, NULL) == 0) {
		path = strdup(cfg->store_path);
		pd_config_free(cfg);
	} else {
		path = strdup("/var/lib/probed/probed.db");
	}
	if (path == NULL)
		return 1;
	rc = pd_store_open(path, 1, st, &err);
	if (rc != 0)
		fprintf(stderr, "probectl: %s\n", err.msg);
	free(path);
	return rc;
}

static void
fmt_age(int64_t now, int64_t then, char *out, size_t cap)
{
	char d[32];

	if (then <= 0) {
		snprintf(out, cap, "-");
		return;
	}
	pd_duration_format(now > then ? (now - then) / 1000 * 1000 : 0, d, sizeof(d));
	snprintf(out, cap, "%s ago", d);
}

static int
cmd_status(struct cli *c)
{
	struct pd_store *st = NULL;
	struct pd_probe_status *rows = NULL;
	struct pd_incident_sevmap sev; /* the severity: that of the probe's open incident */
	struct pd_err err = {0};
	int64_t now = pd_clock_wall_ms(NULL);
	size_t n = 0;
	int rc = 1;

	pd_incident_sevmap_init(&sev);
	if (open_store(c, &st) != 0)
		return NAGIOS_UNKNOWN;
	if (pd_store_status(st, &rows, &n, &err) != 0 ||
	    pd_incident_sevmap_load(&sev, st, &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		goto out;
	}
	if (c->json) {
		cJSON *arr = cJSON_CreateArray();

		for (size_t i = 0; i < n; i++) {
			cJSON *o = rows[i].has_result ? result_json(rows[i].probe, &rows[i].last)
						      : cJSON_CreateObject();
			int sv = pd_incident_sevmap_of(&sev, rows[i].probe, NULL);
			char ts[40];

			if (!rows[i].has_result)
				cJSON_AddStringToObject(o, "name", rows[i].probe);
			cJSON_AddStringToObject(o, "state", rows[i].has_state
				? pd_eval_status_str(rows[i].state.status) : "up");
			cJSON_AddBoolToObject(o, "up", !rows[i].has_state ||
				rows[i].state.status == PD_EVAL_UP || rows[i].state.status == PD_EVAL_FAILING);
			cJSON_AddNumberToObject(o, "consecutive_failures",
						rows[i].has_state ? rows[i].state.consec_fail : 0);
			if (sv > 0)
				cJSON_AddStringToObject(o, "severity", pd_severity_str(sv));
			else
				cJSON_AddNullToObject(o, "severity");
			if (rows[i].last_page_ms > 0) {
				pd_clock_rfc3339(rows[i].last_page_ms, ts, sizeof(ts));
				cJSON_AddStringToObject(o, "last_page", ts);
			} else {
				cJSON_AddNullToObject(o, "last_page");
			}
			if (rows[i].has_state && rows[i].state.dedup_key[0] &&
			    rows[i].state.status != PD_EVAL_UP)
				cJSON_AddStringToObject(o, "dedup_key", rows[i].state.dedup_key);
			cJSON_AddItemToArray(arr, o);
		}
		print_json(arr);
		cJSON_Delete(arr);
	} else {
		printf("%-24s %-10s %5s %-4s %-14s %-5s %9s  %-14s %s\n", "NAME", "STATE", "FAILS",
		       "SEV", "LAST RUN", "HTTP", "LATENCY", "LAST PAGE", "LAST VERDICT");
		for (size_t i = 0; i < n; i++) {
			const struct pd_probe_status *s = &rows[i];
			char age[40], page[40], verdict[300];

			fmt_age(now, s->has_result ? s->last.ts_ms : 0, age, sizeof(age));
			fmt_age(now, s->last_page_ms, page, sizeof(page));
			if (!s->has_result)
				snprintf(verdict, sizeof(verdict), "-");
			else if (pd_result_ok(&s->last))
				snprintf(verdict, sizeof(verdict), "ok");
			else
				snprintf(verdict, sizeof(verdict), "%s: %s",
					 pd_outcome_str(s->last.outcome), s->last.verdict);
			printf("%-24s %-10s %5d %-4s %-14s %-5d %6.1f ms  %-14s %s\n", s->probe,
			       s->has_state ? pd_eval_status_str(s->state.status) : "up",
			       s->has_state ? s->state.consec_fail : 0,
			       pd_severity_str(pd_incident_sevmap_of(&sev, s->probe, NULL)), age,
			       s->has_result ? s->last.http_status : 0,
			       s->has_result ? s->last.total_ms : 0.0, page, verdict);
		}
	}
	rc = 0;
out:
	free(rows);
	pd_incident_sevmap_cleanup(&sev);
	pd_store_free(st);
	return rc;
}

struct hist_ctx {
	const struct cli *c;
	cJSON *arr;
};

static int
hist_row(void *ud, const char *probe, const struct pd_result *r)
{
	struct hist_ctx *h = ud;
	char ts[40];

	if (h->arr) {
		cJSON_AddItemToArray(h->arr, result_json(probe, r));
		return 0;
	}
	pd_clock_rfc3339(r->ts_ms, ts, sizeof(ts));
	printf("%-24s %-14s %-5d %8.1f ms  %s\n", ts, pd_outcome_str(r->outcome), r->http_status,
	       r->total_ms, pd_result_ok(r) ? "" : r->verdict);
	return 0;
}

static int
cmd_history(struct cli *c)
{
	struct pd_store *st = NULL;
	struct pd_history_stats hs = {0};
	struct hist_ctx h = {c, NULL};
	struct pd_err err = {0};
	int64_t since_ms = 3600 * 1000;
	int rc = 1;

	if (c->argc != 1) {
		fprintf(stderr, "usage: probectl history NAME [--since 1h] [--db FILE] [--json]\n");
		return EX_USAGE;
	}
	if (c->since && pd_duration_parse(c->since, &since_ms) != 0) {
		fprintf(stderr, "probectl: bad --since '%s' (use e.g. 30m, 1h, 7d)\n", c->since);
		return EX_USAGE;
	}
	if (open_store(c, &st) != 0)
		return NAGIOS_UNKNOWN;
	if (c->json)
		h.arr = cJSON_CreateArray();
	else
		printf("%-24s %-14s %-5s %11s  %s\n", "TIME (UTC)", "OUTCOME", "HTTP", "LATENCY",
		       "VERDICT");
	if (pd_store_history(st, c->argv[0], pd_clock_wall_ms(NULL) - since_ms, hist_row, &h, &hs,
			     &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		goto out;
	}
	if (c->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", c->argv[0]);
		cJSON_AddNumberToObject(o, "window_s", (double)since_ms / 1000.0);
		cJSON_AddNumberToObject(o, "count", (double)hs.count);
		cJSON_AddNumberToObject(o, "failures", (double)hs.failures);
		cJSON_AddNumberToObject(o, "error_rate", hs.error_rate);
		cJSON_AddNumberToObject(o, "p50_ms", hs.p50_ms);
		cJSON_AddNumberToObject(o, "p95_ms", hs.p95_ms);
		cJSON_AddNumberToObject(o, "p99_ms", hs.p99_ms);
		cJSON_AddItemToObject(o, "results", h.arr);
		h.arr = NULL;
		print_json(o);
		cJSON_Delete(o);
	} else {
		char w[32];

		pd_duration_format(since_ms, w, sizeof(w));
		printf("\n%s over %s: %lld results, %lld failed, error rate %.2f%%, "
		       "p50 %.1f ms, p95 %.1f ms, p99 %.1f ms\n",
		       c->argv[0], w, (long long)hs.count, (long long)hs.failures,
		       hs.error_rate * 100.0, hs.p50_ms, hs.p95_ms, hs.p99_ms);
	}
	rc = 0;
out:
	cJSON_Delete(h.arr);
	pd_store_free(st);
	return rc;
}

/* -------------------------------------------------------------------- schema */

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	struct pd_buf b;
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	pd_buf_init(&b, 64 * 1024 * 1024);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (pd_buf_append(&b, chunk, n) != 0) {
			pd_buf_cleanup(&b);
			b.data = NULL;
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (b.data == NULL)
		pd_buf_append(&b, "", 0);
	*len = b.len;
	return b.data;
}

/* The whole text must be one JSON value (cJSON alone stops after the first value and
 * would accept '{"id":"x"} garbage'); trailing whitespace is fine. NULL otherwise. */
static cJSON *
parse_json_strict(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, 0);

	if (v == NULL)
		return NULL;
	for (; end != NULL && end < text + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
			cJSON_Delete(v);
			return NULL;
		}
	}
	return v;
}

static int
cmd_schema(struct cli *c)
{
	struct pd_schema_error errs[64];
	struct pd_schema *s = NULL;
	struct pd_err err = {0};
	cJSON *schema = NULL, *doc = NULL;
	char *stext = NULL, *dtext = NULL;
	size_t slen = 0, dlen = 0, nerr = 0;
	int rc = 2;

	if (c->argc != 2) {
		fprintf(stderr, "usage: probectl schema SCHEMA DOC   (schema as JSON or YAML)\n");
		return 2;
	}
	stext = slurp(c->argv[0], &slen);
	dtext = slurp(c->argv[1], &dlen);
	if (stext == NULL || dtext == NULL) {
		perror(stext == NULL ? c->argv[0] : c->argv[1]);
		goto out;
	}
	schema = parse_json_strict(stext, slen);
	if (schema == NULL) {
		schema = pd_config_yaml_to_json(stext, slen, c->argv[0], &err);
		if (schema == NULL) {
			fprintf(stderr, "%s\n", err.msg);
			goto out;
		}
	}
	doc = parse_json_strict(dtext, dlen);
	if (doc == NULL) {
		fprintf(stderr, "%s: not valid JSON\n", c->argv[1]);
		goto out;
	}
	s = pd_schema_new(schema, &err);
	if (s == NULL) {
		fprintf(stderr, "%s: %s\n", c->argv[0], err.msg);
		goto out;
	}
	if (pd_schema_validate(s, doc, errs, 64, &nerr)) {
		printf("%s: valid\n", c->argv[1]);
		rc = 0;
	} else {
		for (size_t i = 0; i < nerr; i++)
			printf("%s\n", errs[i].msg);
		rc = 1;
	}
out:
	pd_schema_free(s);
	cJSON_Delete(schema);
	cJSON_Delete(doc);
	free(stext);
	free(dtext);
	return rc;
}

/* ------------------------------------------------------------------ runbooks */

/* probectl runbooks lint [DIR|FILE]: every *.md but README.md must have the playbook's
 * five sections (the rules are pd_comms_lint_runbook's). 0 good, 1 problems, 2 unreadable. */

#define DEFAULT_RUNBOOKS "/usr/share/probed/runbooks"

struct lint_ctx {
	const char *file;
	int problems;
};

static void
lint_print(void *ud, const char *msg)
{
	struct lint_ctx *l = ud;

	printf("%s: %s\n", l->file, msg);
	l->problems++;
}

static int
runbook_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 3 && strcmp(d->d_name + n - 3, ".md") == 0 &&
	       strcasecmp(d->d_name, "README.md") != 0;
}

/* Lint one file; problems are added to *problems. 0, or 2 when it cannot be read. */
static int
lint_runbook_file(const char *path, int *problems)
{
	struct lint_ctx l = {path, 0};
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0;
	int rc = 2;

	if (f == NULL) {
		fprintf(stderr, "probectl: %s: %s\n", path, strerror(errno));
		goto out;
	}
	fclose(f);
	text = slurp(path, &len);
	if (text == NULL) {
		fprintf(stderr, "probectl: %s: cannot read\n", path);
		goto out;
	}
	pd_comms_lint_runbook(text, len, lint_print, &l);
	*problems += l.problems;
	rc = 0;
out:
	free(text);
	return rc;
}

static int
cmd_runbooks(struct cli *c)
{
	struct dirent **ents = NULL;
	struct stat sb;
	const char *dir;
	int n = -1, rc = 0, problems = 0, files = 0;

	if (c->argc < 1 || c->argc > 2 || strcmp(c->argv[0], "lint") != 0) {
		fprintf(stderr, "usage: probectl runbooks lint [DIR]   (default %s, else ./runbooks)\n",
			DEFAULT_RUNBOOKS);
		return EX_USAGE;
	}
	if (c->argc == 2)
		dir = c->argv[1];
	else if (stat(DEFAULT_RUNBOOKS, &sb) == 0 && S_ISDIR(sb.st_mode))
		dir = DEFAULT_RUNBOOKS;
	else
		dir = "runbooks";
	if (stat(dir, &sb) != 0) {
		fprintf(stderr, "probectl: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	if (!S_ISDIR(sb.st_mode)) {     /* one file named explicitly */
		if (!S_ISREG(sb.st_mode)) {
			fprintf(stderr, "probectl: %s: not a directory or a regular file\n", dir);
			return 2;
		}
		rc = lint_runbook_file(dir, &problems);
		files = 1;
		goto out;
	}
	n = scandir(dir, &ents, runbook_filter, alphasort);
	if (n < 0) {
		fprintf(stderr, "probectl: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		files++;
		if (lint_runbook_file(path, &problems) != 0)
			rc = 2;
	}
	if (files == 0) {
		printf("%s: no runbooks (*.md) found\n", dir);
		problems++;
	}
out:
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (rc == 0 && problems == 0)
		printf("%s: %d runbook%s OK\n", dir, files, files == 1 ? "" : "s");
	else if (problems > 0)
		fprintf(stderr, "%d problem%s in %s\n", problems, problems == 1 ? "" : "s", dir);
	return rc != 0 ? rc : problems > 0 ? 1 : 0;
}

/* ----------------------------------------------------------------- incidents */

static cJSON *
incident_json(const struct pd_incident_row *r)
{
	cJSON *o = cJSON_CreateObject();
	char ts[40];

	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddStringToObject(o, "key", r->key);
	cJSON_AddStringToObject(o, "severity", pd_severity_str(r->severity));
	cJSON_AddStringToObject(o, "mode", pd_mode_str((enum pd_mode)r->mode));
	cJSON_AddStringToObject(o, "mode_title", pd_mode_title((enum pd_mode)r->mode));
	if (r->mode)
		cJSON_AddStringToObject(o, "runbook", pd_mode_runbook((enum pd_mode)r->mode));
	cJSON_AddStringToObject(o, "title", r->title);
	cJSON_AddStringToObject(o, "reason", r->reason);
	cJSON_AddStringToObject(o, "evidence", r->evidence);
	pd_clock_rfc3339(r->opened_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(o, "opened", ts);
	if (r->resolved_ms) {
		pd_clock_rfc3339(r->resolved_ms, ts, sizeof(ts));
		cJSON_AddStringToObject(o, "resolved", ts);
	} else {
		cJSON_AddNullToObject(o, "resolved");
	}
	cJSON_AddBoolToObject(o, "open", r->resolved_ms == 0);
	cJSON_AddItemToObject(o, "probes", cJSON_Parse(r->members ? r->members : "[]"));
	cJSON_AddItemToObject(o, "notified", cJSON_Parse(r->notified ? r->notified : "[]"));
	cJSON_AddStringToObject(o, "status_message", r->status_message ? r->status_message : "");
	cJSON_AddBoolToObject(o, "drill", r->drill);
	return o;
}

struct inc_list {
	const struct cli *c;
	cJSON *arr;
	int64_t now;
	size_t n;
};

static int
incidents_row(void *ud, const struct pd_incident_row *r)
{
	struct inc_list *l = ud;
	char ts[40], dur[32];

	l->n++;
	if (l->arr) {
		cJSON_AddItemToArray(l->arr, incident_json(r));
		return 0;
	}
	pd_clock_rfc3339(r->opened_ms, ts, sizeof(ts));
	ts[16] = '\0'; /* to the minute */
	pd_duration_format(((r->resolved_ms ? r->resolved_ms : l->now) - r->opened_ms) / 1000 * 1000,
			   dur, sizeof(dur));
	printf("%-5lld %-3s %-16s %-17s %-9s %-8s %s%s\n", (long long)r->id,
	       pd_severity_str(r->severity), pd_mode_str((enum pd_mode)r->mode), ts, dur,
	       r->resolved_ms ? "resolved" : "OPEN", r->drill ? "[DRILL] " : "", r->title);
	return 0;
}

static int
cmd_incidents(struct cli *c)
{
	struct pd_store *st = NULL;
	struct inc_list l = {c, NULL, pd_clock_wall_ms(NULL), 0};
	struct pd_err err = {0};
	int rc = 1;

	if (open_store(c, &st) != 0)
		return NAGIOS_UNKNOWN;
	if (c->json)
		l.arr = cJSON_CreateArray();
	else
		printf("%-5s %-3s %-16s %-17s %-9s %-8s %s\n", "ID", "SEV", "MODE", "OPENED (UTC)",
		       "DURATION", "STATE", "TITLE");
	if (pd_store_incidents(st, c->open_only, 0, incidents_row, &l, &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		goto out;
	}
	if (l.arr)
		print_json(l.arr);
	else if (l.n == 0)
		printf("(no %sincidents)\n", c->open_only ? "open " : "");
	rc = 0;
out:
	cJSON_Delete(l.arr);
	pd_store_free(st);
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
		char ts[40];

		pd_clock_rfc3339(ts_ms, ts, sizeof(ts));
		cJSON_AddStringToObject(o, "ts", ts);
		cJSON_AddStringToObject(o, "kind", kind);
		cJSON_AddStringToObject(o, "detail", detail ? detail : "");
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

static int
incident_load(struct cli *c, const char *usage, struct pd_store **st, struct pd_incident_row *r,
	      struct tl *t)
{
	struct pd_err err = {0};
	char *end;
	long long id;

	if (c->argc != 1) {
		fprintf(stderr, "usage: %s\n", usage);
		return EX_USAGE;
	}
	id = strtoll(c->argv[0], &end, 10);
	if (*end != '\0' || id <= 0) {
		fprintf(stderr, "probectl: '%s' is not an incident id (see probectl incidents)\n",
			c->argv[0]);
		return EX_USAGE;
	}
	if (open_store(c, st) != 0)
		return NAGIOS_UNKNOWN;
	if (pd_store_incident_get(*st, id, r, &err) != 0 ||
	    pd_store_incident_events(*st, id, timeline_row, t, &err) != 0) {
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

static int
cmd_incident(struct cli *c)
{
	struct pd_incident_row r;
	struct pd_store *st = NULL;
	struct tl *t = calloc(1, sizeof(*t));
	char ts[40];
	int rc;

	memset(&r, 0, sizeof(r));
	if (t == NULL)
		return 1;
	if (c->json)
		t->arr = cJSON_CreateArray();
	rc = incident_load(c, "probectl incident ID [--db FILE] [--json]", &st, &r, t);
	if (rc != 0)
		goto out;
	if (c->json) {
		cJSON *o = incident_json(&r);

		cJSON_AddItemToObject(o, "timeline", t->arr);
		t->arr = NULL;
		print_json(o);
		cJSON_Delete(o);
		goto out;
	}
	printf("Incident %lld  %s%s\n", (long long)r.id, r.key, r.drill ? "  [DRILL]" : "");
	printf("  Severity: %s\n  Mode:     %s\n", pd_severity_str(r.severity),
	       pd_mode_title((enum pd_mode)r.mode));
	if (r.mode)
		printf("  Runbook:  runbooks/%s\n", pd_mode_runbook((enum pd_mode)r.mode));
	printf("  Title:    %s\n  Reason:   %s\n  Evidence: %s\n", r.title, r.reason, r.evidence);
	printf("  Probes:   %s\n  Notified: %s\n", r.members, r.notified);
	pd_clock_rfc3339(r.opened_ms, ts, sizeof(ts));
	printf("  Opened:   %s\n", ts);
	if (r.resolved_ms) {
		pd_clock_rfc3339(r.resolved_ms, ts, sizeof(ts));
		printf("  Resolved: %s\n", ts);
	} else {
		printf("  Resolved: - (open)\n");
	}
	printf("\nStatus-page draft:\n%s\n\nTimeline (UTC):\n",
	       r.status_message && r.status_message[0] ? r.status_message : "(none)");
	for (size_t i = 0; i < t->n; i++) {
		pd_clock_rfc3339(t->ev[i].ts_ms, ts, sizeof(ts));
		printf("  %s  %s\n", ts, t->ev[i].text);
	}
out:
	pd_incident_row_cleanup(&r);
	tl_free(t);
	free(t);
	pd_store_free(st);
	return rc;
}

static int
cmd_postmortem(struct cli *c)
{
	struct pd_incident_row r;
	struct pd_comms_incident ci = {0};
	struct pd_store *st = NULL;
	struct tl *t = calloc(1, sizeof(*t));
	struct pd_config *cfg = NULL;
	const char *aff[64];
	char abuf[64][96];
	struct pd_buf out;
	struct pd_err err = {0};
	cJSON *members = NULL, *e;
	int rc;

	memset(&r, 0, sizeof(r));
	pd_buf_init(&out, 1 << 20);
	if (t == NULL)
		return 1;
	rc = incident_load(c, "probectl postmortem ID [--db FILE]", &st, &r, t);
	if (rc != 0)
		goto out;
	/* endpoints: from the config when it is readable, else the probe names */
	pd_config_load(c->config, &cfg, &err, NULL, NULL);
	members = cJSON_Parse(r.members ? r.members : "[]");
	cJSON_ArrayForEach(e, members) {
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
	ci.mode = r.mode ? pd_mode_title((enum pd_mode)r.mode) : NULL;
	ci.start_ms = r.opened_ms;
	ci.end_ms = r.resolved_ms;
	ci.severity = pd_severity_str(r.severity);
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
	pd_incident_row_cleanup(&r);
	tl_free(t);
	free(t);
	pd_store_free(st);
	return rc;
}

static int
cmd_drill(struct cli *c)
{
	struct pd_config *cfg = NULL;
	struct pd_store *st = NULL;
	struct pd_incidents *m = NULL;
	struct pd_runner *runner = NULL;
	struct pd_outbox *ob = NULL;
	struct ev_loop *loop = NULL;
	struct pd_err err = {0};
	char word[4] = "";
	int sev, queued, rc = 1;

	if (c->argc == 1 && strlen(c->argv[0]) == 2) /* "p2" is taken as "P2" */
		snprintf(word, sizeof(word), "%c%c", toupper((unsigned char)c->argv[0][0]), c->argv[0][1]);
	if ((sev = pd_severity_parse(word)) == 0) {
		fprintf(stderr, "usage: probectl drill P1|P2|P3|P4 [-c FILE] [--db FILE]\n");
		return EX_USAGE;
	}
	if (load_config(c, &cfg) != 0)
		return EX_CONFIG;
	if (pd_store_open(c->db ? c->db : cfg->store_path, 0, &st, &err) != 0 ||
	    (m = pd_incidents_new(st, NULL, &err)) == NULL) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		goto out;
	}
	pd_incidents_set_config(m, cfg);
	queued = pd_incidents_drill(m, sev, pd_clock_wall_ms(NULL), &err);
	if (queued < 0 || pd_store_flush(st, &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		goto out;
	}
	printf("drill %s queued for %d target(s) by the playbook's routing\n", pd_severity_str(sev),
	       queued);
	/* deliver now through the same outbox; what cannot be delivered stays queued for
	 * the daemon, with its dedup key */
	loop = ev_loop_new(EVFLAG_AUTO);
	if (loop == NULL || (runner = pd_runner_new(loop, &err)) == NULL ||
	    (ob = pd_outbox_new(loop, st, runner, NULL, &err)) == NULL) {
		fprintf(stderr, "probectl: %s\n", err.msg[0] ? err.msg : "cannot create event loop");
		goto out;
	}
	pd_outbox_set_config(ob, cfg);
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
	pd_incidents_free(m);
	pd_store_free(st);
	pd_config_free(cfg);
	return rc;
}

/* ---------------------------------------------------------------------- main */

static int cmd_help(struct cli *c);

static const struct {
	const char *name;
	int (*fn)(struct cli *c);
	const char *help;
} commands[] = {
	{"validate", cmd_validate, "validate [-c FILE]            check the config; 0 or 78 with FILE:LINE:COL"},
	{"check", cmd_check, "check [-c FILE] [NAME...] [--json]  probe now; 0 OK, 2 failed, 3 could not run"},
	{"status", cmd_status, "status [--db FILE] [--json]   per probe: last result, state, last page"},
	{"history", cmd_history, "history NAME [--since 1h] [--db FILE] [--json]  results, p50/p95, error rate"},
	{"schema", cmd_schema, "schema SCHEMA DOC             validate a JSON document; 0 valid, 1 invalid, 2 unreadable"},
	{"incidents", cmd_incidents, "incidents [--open] [--db FILE] [--json]  incidents, newest first"},
	{"incident", cmd_incident, "incident ID [--db FILE] [--json]  one incident: severity, mode, status draft, timeline"},
	{"postmortem", cmd_postmortem, "postmortem ID [--db FILE]     the blameless postmortem template, filled (Markdown)"},
	{"drill", cmd_drill, "drill P1|P2|P3|P4 [-c FILE] [--db FILE]  send a clearly marked drill through the real routing"},
	{"runbooks", cmd_runbooks, "runbooks lint [DIR]           each runbook has Detect/Declare/Communicate/Mitigate/RCA; 0 ok, 1 problems, 2 unreadable"},
	{"help", cmd_help, "help                          this text"},
};

static int
cmd_help(struct cli *c)
{
	(void)c;
	printf("usage: probectl COMMAND [options]\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %s\n", commands[i].help);
	printf("\nCommon options: -c/--config FILE (default %s), --db FILE, --json\n",
	       DEFAULT_CONFIG);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"db", required_argument, NULL, 'd'},
		{"since", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"open", no_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli c = {0};
	const char *cmd;
	int opt;

	c.config = getenv("PROBED_CONFIG") ? getenv("PROBED_CONFIG") : DEFAULT_CONFIG;
	pd_log_set_level(PD_LOG_WARN);
	if (argc < 2) {
		cmd_help(&c);
		return EX_USAGE;
	}
	cmd = argv[1];
	argv++;
	argc--;
	while ((opt = getopt_long(argc, argv, "c:d:s:jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': c.config = optarg; break;
		case 'd': c.db = optarg; break;
		case 's': c.since = optarg; break;
		case 'j': c.json = 1; break;
		case 'o': c.open_only = 1; break;
		case 'h': cmd_help(&c); return 0;
		default: return EX_USAGE;
		}
	}
	c.argc = argc - optind;
	c.argv = argv + optind;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return commands[i].fn(&c);
	fprintf(stderr, "probectl: unknown command '%s' (try probectl help)\n", cmd);
	return EX_USAGE;
}
