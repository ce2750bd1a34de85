/* probectl_config.c — the commands that read only the configuration and files, never
 * the database: validate, reload (then signals the daemon), check (probes now over
 * the network; Nagios output), schema (a JSON Schema and a document), runbooks lint
 * (the runbook files). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <ev.h>
#include "probed/buf.h"
#include "probed/check.h"
#include "probed/clock.h"
#include "probed/comms.h"
#include "probed/config.h"
#include "probed/jsonschema.h"
#include "probed/outcome.h"
#include "probed/runner.h"
#include "probectl_int.h"

/* -------------------------------------------------------------------- validate */

int
probectl_cmd_validate(struct cli *c)
{
	struct pd_config *cfg = NULL;

	if (probectl_load_config(c, &cfg) != 0)
		return EX_CONFIG;
	printf("%s: OK (%zu probes, %zu notify targets)\n", c->config, cfg->nprobes, cfg->nnotify);
	pd_config_free(cfg);
	return 0;
}

/* reload --pid PID: validate (without reading ${file:...} secrets, which systemd 252 keeps
 * from ExecReload= processes), then SIGHUP the daemon, which re-reads everything and
 * refuses a file it cannot fully load. The unit's ExecReload= (no /bin/kill needed). */
int
probectl_cmd_reload(struct cli *c)
{
	struct pd_config *cfg = NULL;
	char *end = NULL;
	long pid;

	if (c->argc != 0 || c->pid == NULL) {
		fprintf(stderr, "usage: probectl reload [-c FILE] --pid PID\n");
		return EX_USAGE;
	}
	errno = 0;
	pid = strtol(c->pid, &end, 10);
	if (errno != 0 || end == c->pid || *end != '\0' || pid <= 1) {
		fprintf(stderr, "probectl reload: --pid: '%s' is not a process id\n", c->pid);
		return EX_USAGE;
	}
	c->load_flags |= PD_CONFIG_NO_SECRET_FILES;
	if (probectl_load_config(c, &cfg) != 0)
		return EX_CONFIG;
	pd_config_free(cfg);
	if (kill((pid_t)pid, SIGHUP) != 0) {
		fprintf(stderr, "probectl reload: cannot signal probed (pid %ld): %s\n", pid,
			strerror(errno));
		return 1;
	}
	printf("%s: OK; probed (pid %ld) asked to reload\n", c->config, pid);
	return 0;
}

/* ----------------------------------------------------------------------- check */

struct check_run {
	const struct pd_probe_cfg *p;
	struct pd_schema *schema;
	struct pd_result r;
	int state; /* NAGIOS_OK, _WARNING (slow: over expect.max_latency), _CRITICAL */
};

static const char *const nagios_words[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

static void
check_on_done(void *ud, struct pd_response *resp)
{
	struct check_run *run = ud;

	pd_check_response(run->p, run->schema, resp, &run->r);
	run->state = pd_result_ok(&run->r)           ? NAGIOS_OK
		     : run->r.outcome == PD_OUT_SLOW ? NAGIOS_WARNING
						     : NAGIOS_CRITICAL;
}

/* Plugin output: '|' separates the perfdata and a newline ends the line. */
static void
nagios_clean(char *s)
{
	for (; *s; s++)
		if (*s == '|')
			*s = '/';
		else if (*s == '\n' || *s == '\r')
			*s = ' ';
}

struct nagios_diag {
	char lines[16][300];
	size_t n;
};

static void
nagios_diag(void *ud, const char *line)
{
	struct nagios_diag *d = ud;

	if (d->n < 16)
		snprintf(d->lines[d->n], sizeof(d->lines[0]), "%s", line);
	d->n++;
}

/* UNKNOWN: the monitoring-plugins line, the rest as long output. */
int
probectl_nagios_unknown(const char *first, const struct nagios_diag *more)
{
	char line[1024];

	snprintf(line, sizeof(line), "%s", first);
	nagios_clean(line);
	printf("PROBED UNKNOWN - %s", line);
	if (more != NULL && more->n > 1)
		printf(" (and %zu more)", more->n - 1);
	printf("\n");
	for (size_t i = 1; more != NULL && i < more->n && i < 16; i++) {
		snprintf(line, sizeof(line), "%s", more->lines[i]);
		nagios_clean(line);
		printf("%s\n", line);
	}
	return NAGIOS_UNKNOWN;
}

static void
nagios_print(const struct check_run *runs, size_t n, int worst)
{
	size_t nwarn = 0, ncrit = 0;
	char item[400];
	struct pd_buf b;

	pd_buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		nwarn += runs[i].state == NAGIOS_WARNING;
		ncrit += runs[i].state == NAGIOS_CRITICAL;
	}
	pd_buf_printf(&b, "PROBED %s - ", nagios_words[worst]);
	if (worst == NAGIOS_OK)
		pd_buf_printf(&b, "%zu probe%s ok", n, n == 1 ? "" : "s");
	for (int want = NAGIOS_CRITICAL; want >= NAGIOS_WARNING; want--) {
		size_t k = 0, count = want == NAGIOS_CRITICAL ? ncrit : nwarn;

		if (count == 0)
			continue;
		if (want == NAGIOS_WARNING && ncrit > 0)
			pd_buf_printf(&b, "; %zu slow: ", count);
		else
			pd_buf_printf(&b, "%zu of %zu probe%s %s: ", count, n, n == 1 ? "" : "s",
				      want == NAGIOS_CRITICAL ? "failing" : "slow");
		for (size_t i = 0; i < n; i++) {
			if (runs[i].state != want)
				continue;
			snprintf(item, sizeof(item), "%s%s (%s%s%s)", k++ ? ", " : "",
				 runs[i].p->name,
				 want == NAGIOS_CRITICAL ? pd_outcome_str(runs[i].r.outcome) : "",
				 want == NAGIOS_CRITICAL ? ": " : "", runs[i].r.verdict);
			pd_buf_append(&b, item, strlen(item));
		}
	}
	if (b.data)
		nagios_clean(b.data);
	/* perfdata: latency with the probe's thresholds (warning = expect.max_latency, none
	 * when unset; critical = the timeout), and the HTTP status; U = no value */
	pd_buf_printf(&b, " |");
	for (size_t i = 0; i < n; i++) {
		const struct pd_probe_cfg *p = runs[i].p;
		const struct pd_result *r = &runs[i].r;
		char val[32], warn[32] = "";

		if (r->total_ms >= 0)
			snprintf(val, sizeof(val), "%.3fs", r->total_ms / 1000.0);
		else
			snprintf(val, sizeof(val), "U");
		if (p->max_latency_ms > 0)
			snprintf(warn, sizeof(warn), "%.3f", (double)p->max_latency_ms / 1000.0);
		pd_buf_printf(&b, " '%s_latency'=%s;%s;%.3f;0", p->name, val, warn,
			      (double)p->timeout_ms / 1000.0);
		if (r->http_status > 0)
			pd_buf_printf(&b, " '%s_http_status'=%d;;;0", p->name, r->http_status);
		else
			pd_buf_printf(&b, " '%s_http_status'=U;;;0", p->name);
	}
	printf("%s\n", b.data ? b.data : "");
	/* long output: one line per probe */
	for (size_t i = 0; i < n; i++) {
		const struct pd_result *r = &runs[i].r;
		char line[600];

		if (runs[i].state == NAGIOS_OK)
			snprintf(line, sizeof(line), "%s: OK, HTTP %d, %.0f ms", runs[i].p->name,
				 r->http_status, r->total_ms);
		else
			snprintf(line, sizeof(line), "%s: %s, HTTP %d, %.0f ms: %s: %s",
				 runs[i].p->name, nagios_words[runs[i].state], r->http_status,
				 r->total_ms, pd_outcome_str(r->outcome), r->verdict);
		nagios_clean(line);
		printf("%s\n", line);
	}
	pd_buf_cleanup(&b);
}

int
probectl_cmd_check(struct cli *c)
{
	struct pd_config *cfg = NULL;
	struct check_run *runs = NULL;
	struct pd_runner *runner = NULL;
	struct ev_loop *loop = NULL;
	struct nagios_diag nd = {0};
	struct pd_err err = {0};
	char msg[600];
	size_t n = 0;
	int worst = NAGIOS_OK, rc = NAGIOS_UNKNOWN, lrc;

	/* with --nagios everything goes to stdout as a plugin line: never 78 */
	lrc = c->nagios ? pd_config_load(c->config, &cfg, &err, nagios_diag, &nd)
			: probectl_load_config(c, &cfg);
	if (lrc != 0) {
		if (c->nagios)
			return probectl_nagios_unknown(err.msg, &nd);
		return EX_CONFIG;
	}
	runs = calloc(cfg->nprobes, sizeof(*runs));
	if (runs == NULL)
		goto out;
	for (int a = 0; a < c->argc; a++) {
		if (pd_config_probe(cfg, c->argv[a]) == NULL) {
			snprintf(msg, sizeof(msg), "no probe named '%s' in %s", c->argv[a],
				 c->config);
			if (c->nagios)
				probectl_nagios_unknown(msg, NULL);
			else
				fprintf(stderr, "probectl: %s\n", msg);
			goto out;
		}
	}
	for (size_t i = 0; i < cfg->nprobes; i++) {
		int want = c->argc == 0;

		for (int a = 0; a < c->argc; a++)
			if (strcmp(c->argv[a], cfg->probes[i].name) == 0)
				want = 1;
		if (want)
			runs[n++].p = &cfg->probes[i];
	}
	loop = ev_loop_new(EVFLAG_AUTO);
	runner = loop ? pd_runner_new(loop, &err) : NULL;
	if (runner == NULL) {
		snprintf(msg, sizeof(msg), "%s", err.msg[0] ? err.msg : "cannot create event loop");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		struct pd_request req;

		if (runs[i].p->json_schema) {
			runs[i].schema = pd_jsonschema_new(runs[i].p->json_schema, &err);
			if (runs[i].schema == NULL) {
				snprintf(msg, sizeof(msg), "%s: %s", runs[i].p->name, err.msg);
				goto fail;
			}
		}
		pd_check_request(runs[i].p, &req);
		runs[i].r.ts_ms = pd_clock_wall_ms(NULL);
		if (pd_runner_submit(runner, &req, check_on_done, &runs[i], &err) != 0) {
			snprintf(msg, sizeof(msg), "%s: %s", runs[i].p->name, err.msg);
			goto fail;
		}
	}
	ev_run(loop, 0);
	for (size_t i = 0; i < n; i++)
		if (runs[i].state > worst)
			worst = runs[i].state;

	if (c->nagios) {
		nagios_print(runs, n, worst);
	} else if (c->json) {
		cJSON *o = probectl_json_doc("probed.check/1"), *arr = cJSON_CreateArray();

		cJSON_AddStringToObject(o, "status", nagios_words[worst]);
		for (size_t i = 0; i < n; i++) {
			cJSON *r = probectl_result_json(runs[i].p->name, &runs[i].r);

			cJSON_AddStringToObject(r, "status", nagios_words[runs[i].state]);
			probectl_json_num(r, "max_latency_ms", (double)runs[i].p->max_latency_ms,
					  runs[i].p->max_latency_ms > 0);
			cJSON_AddNumberToObject(r, "timeout_ms", (double)runs[i].p->timeout_ms);
			cJSON_AddItemToArray(arr, r);
		}
		cJSON_AddItemToObject(o, "probes", arr);
		probectl_print_json(o);
		cJSON_Delete(o);
	} else {
		printf("%-24s %-6s %-5s %10s  %s\n", "NAME", "STATUS", "HTTP", "LATENCY",
		       "VERDICT");
		for (size_t i = 0; i < n; i++) {
			const struct pd_result *r = &runs[i].r;
			char verdict[300];

			if (pd_result_ok(r))
				snprintf(verdict, sizeof(verdict), "ok");
			else
				snprintf(verdict, sizeof(verdict), "%s: %s",
					 pd_outcome_str(r->outcome), r->verdict);
			printf("%-24s %-6s %-5d %7.0f ms  %s\n", runs[i].p->name,
			       runs[i].state == NAGIOS_OK        ? "OK"
			       : runs[i].state == NAGIOS_WARNING ? "SLOW"
								 : "FAIL",
			       r->http_status, r->total_ms, verdict);
		}
	}
	rc = worst;
	goto out;
fail:
	if (c->nagios)
		probectl_nagios_unknown(msg, NULL);
	else
		fprintf(stderr, "probectl: %s\n", msg);
out:
	if (runs)
		for (size_t i = 0; i < n; i++)
			pd_jsonschema_free(runs[i].schema);
	free(runs);
	pd_runner_free(runner);
	if (loop)
		ev_loop_destroy(loop);
	pd_config_free(cfg);
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

/* Unknown keywords are rejected as in probes.yaml (pd_jsonschema_lint): "SCHEMA: /ptr: msg". */
static void
schema_lint_cb(void *ud, const cJSON *key, const char *pointer, const char *msg)
{
	(void)key;
	fprintf(stderr, "%s: %s: %s\n", (const char *)ud, pointer, msg);
}

int
probectl_cmd_schema(struct cli *c)
{
	struct pd_schema_error errs[64];
	struct pd_schema *s = NULL;
	struct pd_err err = {0};
	cJSON *schema = NULL, *doc = NULL;
	char *stext = NULL, *dtext = NULL;
	size_t slen = 0, dlen = 0, nerr = 0;
	int rc = 2;

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
	if (pd_jsonschema_lint(schema, schema_lint_cb, c->argv[0]) > 0)
		goto out;
	s = pd_jsonschema_new(schema, &err);
	if (s == NULL) {
		fprintf(stderr, "%s: %s\n", c->argv[0], err.msg);
		goto out;
	}
	if (pd_jsonschema_validate(s, doc, errs, 64, &nerr)) {
		printf("%s: valid\n", c->argv[1]);
		rc = 0;
	} else {
		for (size_t i = 0; i < nerr; i++)
			printf("%s\n", errs[i].msg);
		rc = 1;
	}
out:
	pd_jsonschema_free(s);
	cJSON_Delete(schema);
	cJSON_Delete(doc);
	free(stext);
	free(dtext);
	return rc;
}

/* ------------------------------------------------------------------ runbooks */

/* probectl runbooks lint [DIR|FILE]: every *.md but README.md must have the playbook's
 * five sections (the rules are pd_comms_lint_runbook's). 0 good, 1 problems, 2 unreadable. */

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

int
probectl_cmd_runbooks(struct cli *c)
{
	struct dirent **ents = NULL;
	struct stat sb;
	const char *dir;
	int n = -1, rc = 0, problems = 0, files = 0;

	if (strcmp(c->argv[0], "lint") != 0) {
		fprintf(stderr,
			"probectl: runbooks: unknown action '%s' (the only one is 'lint'; "
			"see 'probectl help runbooks')\n",
			c->argv[0]);
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
	if (!S_ISDIR(sb.st_mode)) { /* one file named explicitly */
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
