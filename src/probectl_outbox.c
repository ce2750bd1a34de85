/* probectl_outbox.c — the commands on the notifications not yet delivered and on the
 * silences, in the database: outbox (lists; `requeue` writes) and silence (`list`
 * reads; `add` and `expire` write, `add` checks the name against the configuration). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/clock.h"
#include "probed/config.h"
#include "probed/store.h"
#include "probectl_int.h"

/* ------------------------------------------------------------------- outbox */

struct outbox_view {
	cJSON *arr; /* --json */
	int64_t now;
	size_t pending, dead;
};

static int
outbox_row(void *ud, const struct pd_outbox_row *r)
{
	struct outbox_view *v = ud;
	char created[40], next[40];

	if (r->dead)
		v->dead++;
	else
		v->pending++;
	if (v->arr != NULL) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "id", (double)r->id);
		cJSON_AddStringToObject(o, "state", r->dead ? "dead_lettered" : "pending");
		cJSON_AddStringToObject(o, "target", r->target);
		cJSON_AddStringToObject(o, "event", r->event);
		cJSON_AddStringToObject(o, "dedup_key", r->dedup_key);
		probectl_json_ts(o, "created", r->created_ms);
		probectl_json_ts(o, "next_attempt", r->dead ? 0 : r->next_at_ms);
		cJSON_AddNumberToObject(o, "attempts", r->attempts);
		probectl_json_str(o, "last_error", r->last_error[0] ? r->last_error : NULL);
		cJSON_AddItemToArray(v->arr, o);
		return 0;
	}
	pd_clock_rfc3339(r->created_ms, created, sizeof(created));
	if (r->dead)
		snprintf(next, sizeof(next), "never (dead)");
	else
		probectl_fmt_age(v->now, r->next_at_ms, next, sizeof(next));
	printf("%-6lld %-13s %-16.16s %-8s %-24.24s %-20.20s %3d  %-14s %s\n", (long long)r->id,
	       r->dead ? "DEAD-LETTERED" : "pending", r->target, r->event, r->dedup_key, created,
	       r->attempts, next, r->last_error[0] ? r->last_error : "-");
	return 0;
}

/* A row id: a positive decimal number. 0, or -1 when s is not one. */
static int
row_id(const char *s, int64_t *id)
{
	char *end = NULL;

	*id = strtoll(s, &end, 10);
	return end == s || *end != '\0' || *id <= 0 ? -1 : 0;
}

/* Open the database read-only for a listing; with --json, *doc is the document (format,
 * "database", and *arr the array named arr in it), else NULL. 0, or an exit status. */
static int
list_open(const struct cli *c, struct pd_store **st, struct dbsel *sel, const char *format,
	  const char *arr, cJSON **doc, cJSON **arrp)
{
	int rc;

	*doc = NULL;
	if ((rc = probectl_open_store(c, st, sel)) != 0)
		return rc;
	if (c->json) {
		*doc = probectl_json_doc(format);
		cJSON_AddStringToObject(*doc, "database", sel->path);
		*arrp = cJSON_AddArrayToObject(*doc, arr);
	}
	return 0;
}

typedef int (*row_write_fn)(struct pd_store *st, int64_t id, int64_t now_ms, int *n,
			    struct pd_err *err);

/* Choose the database, open it read-write, apply op to row id (0: all) and flush.
 * 0 with *n the rows it changed, or an exit status after a message. */
static int
db_row_write(const struct cli *c, row_write_fn op, int64_t id, int64_t now_ms, int *n)
{
	struct pd_store *st = NULL;
	struct dbsel sel = {0};
	struct pd_err err = {0};
	int rc;

	if ((rc = probectl_db_select(c, &sel)) != 0)
		return rc;
	if (probectl_store_open_rw(sel.path, &st, &err) != 0 || op(st, id, now_ms, n, &err) != 0 ||
	    pd_store_flush(st, &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		rc = 1;
	}
	free(sel.path);
	pd_store_free(st);
	return rc;
}

/* outbox [requeue ID|all]: the notifications not yet delivered; put dead letters back. */
int
probectl_cmd_outbox(struct cli *c)
{
	struct outbox_view v = {0};
	struct pd_store *st = NULL;
	struct dbsel sel = {0};
	struct pd_err err = {0};
	cJSON *doc = NULL;
	int rc;

	v.now = pd_clock_wall_ms(NULL);
	if (c->argc > 0) {
		int64_t id = 0;
		int n = 0;

		if (strcmp(c->argv[0], "requeue") != 0 || c->argc != 2)
			return probectl_usage_error(c,
						    "expected 'outbox' or 'outbox requeue ID|all'");
		if (strcmp(c->argv[1], "all") != 0 && row_id(c->argv[1], &id) != 0)
			return probectl_usage_error(c, "'%s' is not an outbox row id (or 'all')",
						    c->argv[1]);
		if ((rc = db_row_write(c, pd_store_outbox_requeue, id, v.now, &n)) != 0)
			return rc;
		if (n == 0) {
			fprintf(stderr, "probectl: no dead-lettered row %s\n",
				id ? c->argv[1] : "in the outbox");
			return 1;
		}
		printf("requeued %d dead-lettered notification(s); probed sends them within a "
		       "minute, in order per target\n",
		       n);
		return 0;
	}
	if ((rc = list_open(c, &st, &sel, "probed.outbox/1", "rows", &doc, &v.arr)) != 0)
		goto out;
	if (doc == NULL) {
		printf("%-6s %-13s %-16s %-8s %-24s %-20s %3s  %-14s %s\n", "ID", "STATE", "TARGET",
		       "EVENT", "DEDUP KEY", "CREATED (UTC)", "TRY", "NEXT TRY", "LAST ERROR");
	}
	if (pd_store_outbox_list(st, outbox_row, &v, &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	if (doc != NULL) {
		cJSON_AddNumberToObject(doc, "pending", (double)v.pending);
		cJSON_AddNumberToObject(doc, "dead_lettered", (double)v.dead);
		probectl_print_json(doc);
	} else {
		printf("%zu pending, %zu dead-lettered%s\n", v.pending, v.dead,
		       v.dead ? " (probectl outbox requeue ID|all sends them again)" : "");
	}
	rc = 0;
out:
	cJSON_Delete(doc);
	free(sel.path);
	pd_store_free(st);
	return rc;
}

/* ------------------------------------------------------------------ silence */

#define SILENCE_DEFAULT_MS (60 * 60 * 1000LL)
#define SILENCE_MAX_MS (30LL * 86400 * 1000)

/* Does the configuration name this probe (or family)? 1 yes, 0 no, -1 cannot tell (the
 * configuration does not load here, e.g. a secret only the service can read). */
static int
silence_known(const struct cli *c, const char *probe, const char *family)
{
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	int known = 0;

	if (c->db != NULL && c->config_src == NULL)
		return -1;
	if (pd_config_load_flags(c->config, PD_CONFIG_NO_SECRET_FILES, &cfg, &err, NULL, NULL) != 0)
		return -1;
	known = probe ? pd_config_probe(cfg, probe) != NULL : pd_config_has_family(cfg, family);
	pd_config_free(cfg);
	return known;
}

static int
silence_add(struct cli *c)
{
	struct pd_silence sl = {0};
	struct pd_store *st = NULL;
	struct dbsel sel = {0};
	struct pd_err err = {0};
	const char *name = c->probe ? c->probe : c->family;
	char until[40], dur[32];
	int64_t ms = SILENCE_DEFAULT_MS, now = pd_clock_wall_ms(NULL);
	int rc;

	if ((c->probe == NULL) == (c->family == NULL))
		return probectl_usage_error(
			c, "silence add needs one of --probe NAME or --family NAME");
	if (c->reason == NULL || c->reason[0] == '\0')
		return probectl_usage_error(
			c, "silence add needs --reason TEXT (what the on-call will read)");
	if (strlen(name) >= sizeof(sl.probe))
		return probectl_usage_error(c, "'%s' is too long for a probe or family name", name);
	if (c->for_ != NULL &&
	    (pd_config_duration_parse(c->for_, &ms) != 0 || ms <= 0 || ms > SILENCE_MAX_MS))
		return probectl_usage_error(
			c, "--for '%s' is not a duration from 1s to 30d (e.g. 30m, 2h)", c->for_);
	if (silence_known(c, c->probe, c->family) == 0)
		return probectl_usage_error(c, "no %s named '%s' in %s",
					    c->probe ? "probe" : "probe family", name, c->config);
	snprintf(c->probe ? sl.probe : sl.family, sizeof(sl.probe), "%s", name);
	snprintf(sl.reason, sizeof(sl.reason), "%s", c->reason);
	sl.created_ms = now;
	sl.until_ms = now + ms;
	if ((rc = probectl_db_select(c, &sel)) != 0)
		return rc;
	if (probectl_store_open_rw(sel.path, &st, &err) != 0 ||
	    pd_store_silence_add(st, &sl, &err) != 0 || pd_store_flush(st, &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		rc = 1;
	} else {
		pd_clock_rfc3339(sl.until_ms, until, sizeof(until));
		pd_config_duration_format(ms, dur, sizeof(dur));
		printf("%lld\n", (long long)sl.id);
		fprintf(stderr,
			"silence #%lld: %s %s held until %s (%s): still probed and recorded, "
			"pages held; probed picks it up within seconds, no reload\n",
			(long long)sl.id, c->probe ? "probe" : "family", name, until, dur);
		rc = 0;
	}
	free(sel.path);
	pd_store_free(st);
	return rc;
}

struct sil_view {
	cJSON *arr;
	int64_t now;
	size_t n;
};

static int
silence_row(void *ud, const struct pd_silence *sl)
{
	struct sil_view *v = ud;
	char until[40], left[32];

	v->n++;
	if (v->arr != NULL) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "id", (double)sl->id);
		probectl_json_str(o, "probe", sl->probe);
		probectl_json_str(o, "family", sl->family);
		cJSON_AddStringToObject(o, "reason", sl->reason);
		probectl_json_ts(o, "created", sl->created_ms);
		probectl_json_ts(o, "until", sl->until_ms);
		cJSON_AddItemToArray(v->arr, o);
		return 0;
	}
	pd_clock_rfc3339(sl->until_ms, until, sizeof(until));
	until[19] = '\0';
	until[10] = ' ';
	pd_config_duration_format((sl->until_ms - v->now) / 1000 * 1000, left, sizeof(left));
	printf("%-6lld %-8s %-24s %-20s %-10s %s\n", (long long)sl->id,
	       sl->probe[0] ? "probe" : "family", sl->probe[0] ? sl->probe : sl->family, until,
	       left, sl->reason);
	return 0;
}

int
probectl_cmd_silence(struct cli *c)
{
	const char *sub = c->argv[0];
	struct sil_view v = {0};
	struct pd_store *st = NULL;
	struct dbsel sel = {0};
	struct pd_err err = {0};
	cJSON *doc = NULL;
	int rc;

	v.now = pd_clock_wall_ms(NULL);
	if (strcmp(sub, "add") != 0 && (c->probe || c->family || c->for_ || c->reason))
		return probectl_usage_error(
			c, "--probe, --family, --for and --reason go with 'silence add'");
	if (strcmp(sub, "add") == 0) {
		if (c->argc != 1 || c->json)
			return probectl_usage_error(
				c, "expected 'silence add --probe NAME|--family NAME "
				   "[--for DURATION] --reason TEXT'");
		return silence_add(c);
	}
	if (strcmp(sub, "expire") == 0) {
		int64_t id = 0;
		int n = 0;

		if (c->argc != 2 || c->json)
			return probectl_usage_error(c, "expected 'silence expire ID'");
		if (row_id(c->argv[1], &id) != 0)
			return probectl_usage_error(c, "'%s' is not a silence id", c->argv[1]);
		if ((rc = db_row_write(c, pd_store_silence_expire, id, v.now, &n)) != 0)
			return rc;
		if (n == 0) {
			fprintf(stderr,
				"probectl: no silence #%lld in force (see probectl silence "
				"list)\n",
				(long long)id);
			return 1;
		}
		printf("silence #%lld expired: its pages are no longer held; a failure still "
		       "present pages within seconds\n",
		       (long long)id);
		return 0;
	}
	if (strcmp(sub, "list") != 0 || c->argc != 1)
		return probectl_usage_error(c, "expected 'silence add|list|expire'");
	if ((rc = list_open(c, &st, &sel, "probed.silence/1", "silences", &doc, &v.arr)) != 0)
		goto out;
	if (doc == NULL) {
		printf("%-6s %-8s %-24s %-20s %-10s %s\n", "ID", "SCOPE", "NAME", "UNTIL (UTC)",
		       "LEFT", "REASON");
	}
	if (pd_store_silences(st, v.now, silence_row, &v, &err) != 0) {
		fprintf(stderr, "probectl: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	if (doc != NULL)
		probectl_print_json(doc);
	else
		printf("%zu silence%s in force\n", v.n, v.n == 1 ? "" : "s");
	rc = 0;
out:
	cJSON_Delete(doc);
	free(sel.path);
	pd_store_free(st);
	return rc;
}
