/* check_config.c — probes.yaml loading: the real file, defaults and overrides, exact
 * FILE:LINE:COL errors for every bad fixture, durations, sizes, interpolation, secrets. */
#include <check.h>
#include "testlib.h"
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "probed/clock.h"
#include "probed/config.h"
#include "probed/err.h"
#include "probed/jsonschema.h"
#include "probed/log.h"

#ifndef PD_FIXTURES
#error "PD_FIXTURES must point at tests/fixtures"
#endif
#define CFG_DIR PD_FIXTURES "/config/"
#define REAL_PROBES PD_FIXTURES "/../../probes.yaml"

/* ---------------------------------------------------------------- helpers */

#define DIAG_MAX 64

struct diag {
	size_t n;
	char *lines[DIAG_MAX];
};

static void
diag_cb(void *ud, const char *line)
{
	struct diag *d = ud;

	ck_assert_ptr_nonnull(line);
	if (d->n < DIAG_MAX)
		d->lines[d->n] = strdup(line);
	d->n++;
}

static void
diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n && i < DIAG_MAX; i++)
		free(d->lines[i]);
	memset(d, 0, sizeof(*d));
}

static void
diag_dump(const struct diag *d)
{
	for (size_t i = 0; i < d->n && i < DIAG_MAX; i++)
		fprintf(stderr, "  diag[%zu] %s\n", i, d->lines[i]);
}

static int
load_str(const char *yaml, struct pd_config **cfg, struct pd_err *err, struct diag *d)
{
	memset(err, 0, sizeof(*err));
	return pd_config_load_string(yaml, strlen(yaml), "inline.yaml", cfg, err, diag_cb, d);
}

/* Loads yaml that must be valid; fails the test with every diagnostic otherwise. */
static struct pd_config *
load_ok(const char *yaml)
{
	struct pd_config *cfg = NULL;
	struct pd_err err;
	struct diag d = {0};
	int rc = load_str(yaml, &cfg, &err, &d);

	if (rc != 0)
		diag_dump(&d);
	ck_assert_msg(rc == 0, "load failed (%d): %s", rc, err.msg);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(d.n, 0);
	diag_free(&d);
	return cfg;
}

/* Loads yaml that must fail with exactly one error, equal to want ("inline.yaml:" + ...). */
static void
load_fails_with(const char *yaml, const char *want)
{
	struct pd_config *cfg = NULL;
	struct pd_err err;
	struct diag d = {0};
	char full[512];
	int rc = load_str(yaml, &cfg, &err, &d);

	snprintf(full, sizeof(full), "inline.yaml:%s", want);
	if (d.n != 1 || strcmp(d.lines[0], full) != 0) {
		fprintf(stderr, "want: %s\n", full);
		diag_dump(&d);
	}
	ck_assert_int_eq(rc, PD_ERR_CONFIG);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.lines[0], full);
	ck_assert_str_eq(err.msg, full);
	ck_assert_int_eq(err.code, PD_ERR_CONFIG);
	diag_free(&d);
}

static const struct pd_header *
header(const struct pd_header *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].name, name) == 0)
			return &h[i];
	return NULL;
}

static const cJSON *
jpath(const cJSON *j, const char *a, const char *b, const char *c)
{
	const char *keys[] = {a, b, c};

	for (size_t i = 0; i < 3 && keys[i] != NULL && j != NULL; i++)
		j = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
	return j;
}

static int
json_has_string(const cJSON *arr, const char *s)
{
	const cJSON *e;

	cJSON_ArrayForEach(e,
			   arr) if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0) return 1;
	return 0;
}

/* Writes content to a new temp file; returns its path (static buffer per call site). */
static void
write_temp(char *path, size_t cap, const char *content)
{
	int fd;

	snprintf(path, cap, "/tmp/probed-cfgtest-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void
teardown(void)
{
	pd_log_clear_secrets();
}

/* One valid probe; inline cases append to it (their line 4 is the line after it). */
#define P1 "probes:\n  - name: a\n    url: http://h/\n"

/* ---------------------------------------------------------------- the real probes.yaml */

START_TEST(test_real_probes_yaml)
{
	static const char key[] = "tk-test-key-9f8e7d6c";
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	struct diag d = {0};
	const struct pd_probe_cfg *p;
	const struct pd_header *h;
	const cJSON *s;
	char line[256];
	int rc;

	ck_assert_int_eq(setenv("TIKLIVE_TEST_KEY", key, 1), 0);
	rc = pd_config_load(REAL_PROBES, &cfg, &err, diag_cb, &d);
	if (rc != 0)
		diag_dump(&d);
	ck_assert_msg(rc == 0, "%s", err.msg);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(cfg->nprobes, 3);
	ck_assert_str_eq(cfg->path, REAL_PROBES);
	ck_assert_str_eq(cfg->store_path, "/var/lib/probed/probed.db");
	ck_assert_int_eq(cfg->retention_ms, (int64_t)30 * 86400 * 1000);
	ck_assert_int_eq(cfg->incident_retention_ms, (int64_t)90 * 86400 * 1000);
	ck_assert_ptr_null(cfg->location);
	ck_assert_ptr_null(cfg->http_listen);

	static const struct {
		const char *name, *family, *url;
	} want[] = {
		{"userid", "userid", "https://api.tikliveapi.com/userid/?username=tiktok"},
		{"userinfo", "userinfo-by-username",
		 "https://api.tikliveapi.com/userinfo-by-username/?username=tiktok"},
		{"post-detail", "post-detail",
		 "https://api.tikliveapi.com/post-detail/?url=https%3A%2F%2Fwww.tiktok.com%2F"
		 "%40tiktok%2Fvideo%2F7106594312292453675"},
	};
	for (size_t i = 0; i < 3; i++) {
		p = &cfg->probes[i];
		ck_assert_str_eq(p->name, want[i].name);
		ck_assert_str_eq(p->family, want[i].family);
		ck_assert_str_eq(p->url, want[i].url);
		ck_assert_str_eq(p->url_display, want[i].url);
		ck_assert_int_eq(p->url_secret, 0);
		ck_assert_int_eq(p->tier, PD_TIER_CORE);
		ck_assert_str_eq(p->method, "GET");
		ck_assert_ptr_null(p->body);
		ck_assert_int_eq(p->interval_ms, 30000);
		ck_assert_int_eq(p->timeout_ms, 10000);
		ck_assert_int_eq(p->confirm_after_ms, 5000);
		ck_assert_int_eq(p->failures_before_page, 2);
		ck_assert_int_eq(p->successes_before_resolve, 2);
		ck_assert_uint_eq(p->max_body, 1024 * 1024);
		ck_assert_int_eq(p->max_latency_ms, 2000);
		ck_assert_uint_eq(p->nstatus, 1);
		ck_assert_int_eq(p->status[0].lo, 200);
		ck_assert_int_eq(p->status[0].hi, 200);
		ck_assert_ptr_null(p->severity);
		ck_assert_uint_eq(p->nheaders, 1);
		h = header(p->headers, p->nheaders, "X-Api-Key");
		ck_assert_ptr_nonnull(h);
		ck_assert_str_eq(h->value, key);
		ck_assert_int_eq(h->secret, 1);
		ck_assert_ptr_nonnull(p->json_schema);
		ck_assert_str_eq(jpath(p->json_schema, "type", NULL, NULL)->valuestring, "object");
		ck_assert_ptr_eq(pd_config_probe(cfg, want[i].name), p);
	}

	/* /userid/: single key id, non-empty string */
	s = pd_config_probe(cfg, "userid")->json_schema;
	ck_assert(json_has_string(jpath(s, "required", NULL, NULL), "id"));
	ck_assert_str_eq(jpath(s, "properties", "id", "type")->valuestring, "string");
	ck_assert(cJSON_IsNumber(jpath(s, "properties", "id", "minLength")));
	ck_assert_int_eq(jpath(s, "properties", "id", "minLength")->valueint, 1);

	/* /userinfo-by-username/: nested user and stats objects */
	s = pd_config_probe(cfg, "userinfo")->json_schema;
	ck_assert(json_has_string(jpath(s, "required", NULL, NULL), "user"));
	ck_assert(json_has_string(jpath(s, "required", NULL, NULL), "stats"));
	ck_assert_str_eq(jpath(s, "properties", "user", "type")->valuestring, "object");
	ck_assert(json_has_string(
		jpath(jpath(s, "properties", "user", NULL), "required", NULL, NULL), "uniqueId"));
	ck_assert(json_has_string(
		jpath(jpath(s, "properties", "user", NULL), "required", NULL, NULL), "id"));
	ck_assert_int_eq(
		jpath(jpath(s, "properties", "user", "properties"), "uniqueId", "minLength", NULL)
			->valueint,
		1);
	{
		const cJSON *stats = jpath(s, "properties", "stats", NULL);
		const char *counts[] = {"followerCount", "heartCount", "videoCount"};

		ck_assert_str_eq(jpath(stats, "type", NULL, NULL)->valuestring, "object");
		for (size_t i = 0; i < 3; i++) {
			const cJSON *c = jpath(stats, "properties", counts[i], NULL);

			ck_assert(json_has_string(jpath(stats, "required", NULL, NULL), counts[i]));
			ck_assert_str_eq(jpath(c, "type", NULL, NULL)->valuestring, "integer");
			ck_assert(cJSON_IsNumber(jpath(c, "minimum", NULL, NULL)));
			ck_assert_int_eq(jpath(c, "minimum", NULL, NULL)->valueint, 0);
		}
	}

	/* /post-detail/: flat play, hdplay, wmplay URLs */
	s = pd_config_probe(cfg, "post-detail")->json_schema;
	{
		const char *keys[] = {"play", "hdplay", "wmplay"};

		for (size_t i = 0; i < 3; i++) {
			const cJSON *k = jpath(s, "properties", keys[i], NULL);

			ck_assert(json_has_string(jpath(s, "required", NULL, NULL), keys[i]));
			ck_assert_str_eq(jpath(k, "type", NULL, NULL)->valuestring, "string");
			ck_assert_int_eq(jpath(k, "minLength", NULL, NULL)->valueint, 1);
			ck_assert_str_eq(jpath(k, "pattern", NULL, NULL)->valuestring,
					 "^https?://");
		}
	}

	ck_assert_uint_eq(cfg->nnotify, 1);
	ck_assert_str_eq(cfg->notify[0].name, "oncall-webhook");
	ck_assert_int_eq(cfg->notify[0].type, PD_NOTIFY_WEBHOOK);
	ck_assert_str_eq(cfg->notify[0].url, "http://127.0.0.1:9099/hook");
	ck_assert_int_eq(cfg->notify[0].timeout_ms, 10000);

	/* the key is masked in anything that goes through the log redactor */
	snprintf(line, sizeof(line), "GET /userid/ X-Api-Key: %s done", key);
	pd_log_redact(line, sizeof(line));
	ck_assert_ptr_null(strstr(line, key));
	ck_assert_str_eq(line, "GET /userid/ X-Api-Key: [REDACTED] done");
	pd_config_free(cfg);
	diag_free(&d);
}
END_TEST

/* The real schemas accept the real shapes and catch the playbook's outage signatures. */
START_TEST(test_real_probes_schemas_validate)
{
	static const struct {
		const char *probe, *doc;
		int valid;
	} t[] = {
		{"userid", "{\"id\":\"107955\"}", 1},
		{"userid", "{\"id\":\"\"}", 0}, /* 200 with empty id field */
		{"userid", "{}", 0},
		{"userid", "{\"id\":107955}", 0},
		{"userid", "[]", 0},
		{"userinfo",
		 "{\"user\":{\"id\":\"1\",\"uniqueId\":\"tiktok\"},\"stats\":"
		 "{\"followerCount\":1,\"heartCount\":2,\"videoCount\":0}}",
		 1},
		{"userinfo",
		 "{\"user\":{\"id\":\"1\",\"uniqueId\":\"\"},\"stats\":"
		 "{\"followerCount\":1,\"heartCount\":2,\"videoCount\":0}}",
		 0},
		{"userinfo",
		 "{\"user\":{\"id\":\"1\",\"uniqueId\":\"t\"},\"stats\":"
		 "{\"followerCount\":-1,\"heartCount\":2,\"videoCount\":0}}",
		 0},
		{"userinfo",
		 "{\"user\":{\"id\":\"1\",\"uniqueId\":\"t\"},\"stats\":"
		 "{\"followerCount\":1.5,\"heartCount\":2,\"videoCount\":0}}",
		 0},
		{"userinfo", "{\"user\":{\"id\":\"1\",\"uniqueId\":\"t\"}}", 0},
		{"post-detail",
		 "{\"play\":\"https://v/1\",\"hdplay\":\"https://v/2\","
		 "\"wmplay\":\"http://v/3\"}",
		 1},
		{"post-detail",
		 "{\"play\":\"\",\"hdplay\":\"https://v/2\","
		 "\"wmplay\":\"http://v/3\"}",
		 0},
		{"post-detail",
		 "{\"play\":\"https://v/1\",\"hdplay\":\"ftp://v/2\","
		 "\"wmplay\":\"http://v/3\"}",
		 0},
		{"post-detail", "{\"play\":\"https://v/1\",\"hdplay\":\"https://v/2\"}", 0},
	};
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};

	ck_assert_int_eq(setenv("TIKLIVE_TEST_KEY", "k", 1), 0);
	ck_assert_int_eq(pd_config_load(REAL_PROBES, &cfg, &err, NULL, NULL), 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const struct pd_probe_cfg *p = pd_config_probe(cfg, t[i].probe);
		struct pd_schema *sc;
		cJSON *doc = cJSON_Parse(t[i].doc);

		ck_assert_ptr_nonnull(p);
		ck_assert_ptr_nonnull(doc);
		sc = pd_jsonschema_new(p->json_schema, &err);
		ck_assert_msg(sc != NULL, "%s", err.msg);
		ck_assert_msg(pd_jsonschema_validate(sc, doc, NULL, 0, NULL) == t[i].valid,
			      "%s: %s should be %s", t[i].probe, t[i].doc,
			      t[i].valid ? "valid" : "invalid");
		pd_jsonschema_free(sc);
		cJSON_Delete(doc);
	}
	pd_config_free(cfg);
}
END_TEST

/* Without the test key, the real file is rejected at the header line. */
START_TEST(test_real_probes_yaml_key_unset)
{
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	struct diag d = {0};
	char want[512], buf[512];
	FILE *f;
	int lineno = 0, col = 0, rc;

	/* find where the file references the key, independently of the loader */
	f = fopen(REAL_PROBES, "r");
	ck_assert_ptr_nonnull(f);
	for (int n = 1; fgets(buf, sizeof(buf), f) != NULL; n++) {
		char *p = strstr(buf, "${TIKLIVE_TEST_KEY}");

		if (p != NULL && buf[strspn(buf, " ")] != '#') {
			lineno = n;
			col = (int)(p - buf) + 1;
			break;
		}
	}
	fclose(f);
	ck_assert_int_gt(lineno, 0);
	ck_assert_int_eq(unsetenv("TIKLIVE_TEST_KEY"), 0);
	rc = pd_config_load(REAL_PROBES, &cfg, &err, diag_cb, &d);
	ck_assert_int_eq(rc, PD_ERR_CONFIG);
	ck_assert_ptr_null(cfg);
	snprintf(want, sizeof(want), "%s:%d:%d: environment variable TIKLIVE_TEST_KEY is not set",
		 REAL_PROBES, lineno, col);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.lines[0], want);
	diag_free(&d);
}
END_TEST

/* ---------------------------------------------------------------- good fixtures */

START_TEST(test_minimal_defaults)
{
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	const struct pd_probe_cfg *p;
	int rc = pd_config_load(CFG_DIR "good_minimal.yaml", &cfg, &err, NULL, NULL);

	ck_assert_msg(rc == 0, "%s", err.msg);
	ck_assert_uint_eq(cfg->nprobes, 1);
	p = &cfg->probes[0];
	ck_assert_str_eq(p->name, "only");
	ck_assert_str_eq(p->family, "only");
	ck_assert_int_eq(p->tier, PD_TIER_CORE);
	ck_assert_str_eq(p->method, "GET");
	ck_assert_int_eq(p->interval_ms, 30000);
	ck_assert_int_eq(p->timeout_ms, 10000);
	ck_assert_int_eq(p->confirm_after_ms, 5000);
	ck_assert_int_eq(p->failures_before_page, 2);
	ck_assert_int_eq(p->successes_before_resolve, 2);
	ck_assert_uint_eq(p->max_body, PD_CONFIG_DEFAULT_MAX_BODY);
	ck_assert_uint_eq(p->nstatus, 1);
	ck_assert_int_eq(p->status[0].lo, 200);
	ck_assert_int_eq(p->status[0].hi, 299);
	ck_assert_int_eq(p->max_latency_ms, 0);
	ck_assert_ptr_null(p->json_schema);
	ck_assert_uint_eq(p->nheaders, 0);
	ck_assert_int_eq(p->line, 3);
	ck_assert_int_eq(p->col, 5);
	ck_assert_str_eq(cfg->store_path, "/var/lib/probed/probed.db");
	ck_assert_int_eq(cfg->retention_ms, (int64_t)30 * 24 * 3600 * 1000);
	ck_assert_uint_eq(cfg->nnotify, 0);
	ck_assert_ptr_null(cfg->location);
	ck_assert_ptr_null(cfg->http_listen);
	ck_assert_ptr_null(cfg->http_bearer_token);
	ck_assert_ptr_null(pd_config_probe(cfg, "absent"));
	pd_config_free(cfg);
}
END_TEST

/* Schema keywords are checked only where they are keywords: names under properties,
 * patternProperties, dependencies and definitions are the API's, enum/const/default/
 * examples are data; "x-" keys and x-allow-unknown-keywords: true are the way out. */
START_TEST(test_schema_keywords_good)
{
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	struct diag d = {0};
	struct pd_schema *s;
	struct pd_schema_error errs[4];
	size_t nerr = 0;
	cJSON *doc;
	int rc = pd_config_load(CFG_DIR "good_schema_keywords.yaml", &cfg, &err, diag_cb, &d);

	if (rc != 0)
		diag_dump(&d);
	ck_assert_msg(rc == 0, "%s", err.msg);
	ck_assert_uint_eq(cfg->nprobes, 2);
	/* the property named "requird" is a property: required and checked */
	s = pd_jsonschema_new(cfg->probes[0].json_schema, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	doc = cJSON_Parse("{\"requird\": \"\", \"minLenght\": 1}");
	ck_assert_int_eq(pd_jsonschema_validate(s, doc, errs, 4, &nerr), 0);
	ck_assert_uint_eq(nerr, 1);
	ck_assert_str_eq(errs[0].msg, "$.requird: minLength 1, got \"\"");
	cJSON_Delete(doc);
	pd_jsonschema_free(s);
	pd_config_free(cfg);
	diag_free(&d);

	/* the opt-out covers its own object and what is under it, nothing beside it */
	cfg = load_ok(P1 "    expect:\n      json:\n        x-allow-unknown-keywords: true\n"
			 "        nullable: true\n        properties: {a: {nullable: true}}\n");
	pd_config_free(cfg);
	load_fails_with(P1 "    expect:\n      json:\n        properties:\n"
			   "          a: {x-allow-unknown-keywords: true, nullable: true}\n"
			   "        nullable: true\n",
			"8:9: json: unknown JSON Schema keyword 'nullable', which would check "
			"nothing (name extensions 'x-...', or set x-allow-unknown-keywords: true)");
	/* only true opts out */
	load_fails_with(
		P1 "    expect:\n      json: {x-allow-unknown-keywords: false, requird: [a]}\n",
		"5:47: json: unknown JSON Schema keyword 'requird' (did you mean "
		"'required'?)");
}
END_TEST

START_TEST(test_overrides)
{
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	const struct pd_probe_cfg *p;
	const struct pd_header *h;
	const cJSON *s, *e;
	int rc = pd_config_load(CFG_DIR "good_overrides.yaml", &cfg, &err, NULL, NULL);

	ck_assert_msg(rc == 0, "%s", err.msg);
	ck_assert_uint_eq(cfg->nprobes, 3);
	ck_assert_str_eq(cfg->location, "fra1");
	ck_assert_str_eq(cfg->store_path, "/tmp/probed-test.db");
	ck_assert_int_eq(cfg->retention_ms, (int64_t)7 * 86400 * 1000);
	ck_assert_str_eq(cfg->http_listen, "[::1]:9464");
	ck_assert_str_eq(cfg->http_bearer_token, "literal-bearer");

	/* inherits the defaults section */
	p = pd_config_probe(cfg, "inherits");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->interval_ms, 60000);
	ck_assert_int_eq(p->timeout_ms, 4000);
	ck_assert_int_eq(p->failures_before_page, 3);
	ck_assert_int_eq(p->confirm_after_ms, 2000);
	ck_assert_int_eq(p->successes_before_resolve, 4);
	ck_assert_uint_eq(p->max_body, 512 * 1024);
	ck_assert_uint_eq(p->nheaders, 2);
	ck_assert_str_eq(header(p->headers, p->nheaders, "X-Api-Key")->value, "plain-default-key");
	ck_assert_int_eq(header(p->headers, p->nheaders, "X-Api-Key")->secret, 0);
	ck_assert_str_eq(header(p->headers, p->nheaders, "Accept")->value, "application/json");
	ck_assert_int_eq(p->status[0].lo, 200);
	ck_assert_int_eq(p->status[0].hi, 299);

	/* every key overridden */
	p = pd_config_probe(cfg, "overrides");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->family, "userinfo-by-username");
	ck_assert_int_eq(p->tier, PD_TIER_SECONDARY);
	ck_assert_str_eq(p->method, "POST");
	ck_assert_str_eq(p->body, "{\"username\": \"tiktok\"}");
	ck_assert_int_eq(p->interval_ms, 90000);
	ck_assert_int_eq(p->timeout_ms, 500);
	ck_assert_int_eq(p->failures_before_page, 1);
	ck_assert_int_eq(p->confirm_after_ms, 1000);
	ck_assert_int_eq(p->successes_before_resolve, 5);
	ck_assert_uint_eq(p->max_body, 2000000);
	ck_assert_str_eq(p->severity, "P2");
	ck_assert_int_eq(p->max_latency_ms, 1500);
	/* merged: X-Api-Key replaced by x-api-key (one entry), Accept kept, X-Trace added */
	ck_assert_uint_eq(p->nheaders, 3);
	ck_assert_ptr_null(header(p->headers, p->nheaders, "X-Api-Key"));
	h = header(p->headers, p->nheaders, "x-api-key");
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h->value, "probe-key");
	ck_assert_str_eq(header(p->headers, p->nheaders, "Accept")->value, "application/json");
	ck_assert_str_eq(header(p->headers, p->nheaders, "X-Trace")->value, "yes");
	ck_assert_uint_eq(p->nstatus, 3);
	ck_assert_int_eq(p->status[0].lo, 200);
	ck_assert_int_eq(p->status[0].hi, 200);
	ck_assert_int_eq(p->status[1].lo, 201);
	ck_assert_int_eq(p->status[1].hi, 204);
	ck_assert_int_eq(p->status[2].lo, 304);
	ck_assert_int_eq(p->status[2].hi, 304);

	/* YAML scalar typing in the schema: plain scalars typed, quoted ones strings */
	s = p->json_schema;
	ck_assert(cJSON_IsNumber(jpath(s, "properties", "n", "minimum")));
	ck_assert(cJSON_IsNumber(jpath(s, "properties", "n", "maximum")));
	ck_assert(jpath(s, "properties", "n", "maximum")->valuedouble == 1000.0);
	ck_assert(jpath(s, "properties", "n", "multipleOf")->valuedouble == 0.5);
	ck_assert(cJSON_IsTrue(jpath(s, "properties", "flag", "const")));
	ck_assert(cJSON_IsString(jpath(s, "properties", "quoted", "const")));
	ck_assert_str_eq(jpath(s, "properties", "quoted", "const")->valuestring, "true");
	e = jpath(s, "properties", "none", "enum");
	ck_assert_int_eq(cJSON_GetArraySize(e), 8);
	ck_assert(cJSON_IsNull(cJSON_GetArrayItem(e, 0)));
	ck_assert(cJSON_IsNull(cJSON_GetArrayItem(e, 1)));
	ck_assert_str_eq(cJSON_GetArrayItem(e, 2)->valuestring, "null");
	ck_assert_str_eq(cJSON_GetArrayItem(e, 3)->valuestring, "1");
	ck_assert(cJSON_GetArrayItem(e, 4)->valuedouble == 1.0);
	ck_assert(cJSON_GetArrayItem(e, 5)->valuedouble == 16.0);
	ck_assert(cJSON_GetArrayItem(e, 6)->valuedouble == 15.0);
	ck_assert(cJSON_GetArrayItem(e, 7)->valuedouble == -2.5);

	p = pd_config_probe(cfg, "site.status_page-1");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->tier, PD_TIER_SITE);
	ck_assert_str_eq(p->family, "site.status_page-1");
	ck_assert_uint_eq(p->nstatus, 1);
	ck_assert_int_eq(p->status[0].lo, 200);
	ck_assert_int_eq(p->status[0].hi, 200);

	ck_assert_uint_eq(cfg->nnotify, 2);
	ck_assert_str_eq(cfg->notify[0].name, "hook");
	ck_assert_int_eq(cfg->notify[0].type, PD_NOTIFY_WEBHOOK);
	ck_assert_int_eq(cfg->notify[0].timeout_ms, 3000);
	ck_assert_uint_eq(cfg->notify[0].nheaders, 1);
	ck_assert_str_eq(cfg->notify[0].headers[0].value, "Bearer literal");
	ck_assert_int_eq(cfg->notify[0].line, 54);
	ck_assert_int_eq(cfg->notify[0].col, 5);
	ck_assert_str_eq(cfg->notify[1].name, "pd");
	ck_assert_int_eq(cfg->notify[1].type, PD_NOTIFY_PAGERDUTY);
	ck_assert_str_eq(cfg->notify[1].url, "https://events.pagerduty.com/v2/enqueue");
	ck_assert_str_eq(cfg->notify[1].routing_key, "literal-routing-key");
	ck_assert_int_eq(cfg->notify[1].timeout_ms, 10000);
	pd_config_free(cfg);
}
END_TEST

/* ---------------------------------------------------------------- bad fixtures */

struct bad_case {
	const char *file;
	size_t n;
	const char *lines[12]; /* after "FILE:" */
	int prefix;            /* schema errors: the validator's own text follows */
};

#define DUR_HINT " (a number with a unit: ms, s, m, h, d; e.g. 500ms, 30s, 1m30s)"
#define STATUS_HINT " (a code 100-599 or a range like \"200-299\")"

static const struct bad_case bad_cases[] = {
	{"bad_maintenance.yaml",
	 7,
	 {"16:15: weekdays: unknown weekday 'funday' (mon, tue, wed, thu, fri, sat, sun)",
	  "17:11: time: invalid time of day '25:00' (HH:MM, UTC, 00:00 to 23:59)",
	  "18:15: duration: must be greater than 0",
	  "19:14: probes: no probe named 'nope' in this configuration",
	  "20:16: families: no probe family named 'nofam' in this configuration",
	  "22:12: start: 'yesterday' is not an RFC 3339 time (UTC, e.g. 2026-12-07T02:00:00Z)",
	  "26:5: maintenance needs a scope: 'probes: [...]', 'families: [...]' or "
	  "'all: true'"},
	 0},
	{"bad_unknown_top.yaml",
	 2,
	 {"1:1: missing required key 'probes'",
	  "3:1: unknown key 'probe' (did you mean 'probes'?)"},
	 0},
	{"bad_unknown_expect.yaml",
	 1,
	 {"6:7: unknown key 'max_latncy' (did you mean 'max_latency'?)"},
	 0},
	{"bad_duration.yaml", 1, {"2:13: interval: invalid duration '30sec'" DUR_HINT}, 0},
	{"bad_url.yaml",
	 2,
	 {"3:10: url: invalid URL 'ftp://api.tikliveapi.com/userid/': scheme must be http or "
	  "https",
	  "5:10: url: invalid URL 'https:///userid/': expected scheme://host/..."},
	 0},
	{"bad_duplicate.yaml",
	 1,
	 {"7:11: duplicate probe name 'userid' (first defined at 2:11)"},
	 0},
	{"bad_unset_var.yaml",
	 1,
	 {"3:16: environment variable PROBED_TEST_SURELY_UNSET is not set"},
	 0},
	{"bad_file_unreadable.yaml",
	 1,
	 {"7:18: cannot read '/nonexistent/probed-test/pagerduty-key': No such file or "
	  "directory"},
	 0},
	{"bad_status.yaml", 1, {"5:21: status: invalid status '299-200'" STATUS_HINT}, 0},
	{"bad_schema_pattern.yaml", 1, {"6:9: json: invalid JSON Schema: "}, 1},
	{"bad_schema_type.yaml", 1, {"5:13: json: invalid JSON Schema: "}, 1},
	{"bad_syntax.yaml",
	 1,
	 {"4:4: bad indentation: inside a list, a line must start a new item ('- ') or line up "
	  "with the keys of the item above it (YAML: did not find expected '-' indicator, "
	  "while parsing a block collection at 2:3)"},
	 0},
	{"bad_tab.yaml", 1, {"3:1: a tab character: YAML indentation must use spaces"}, 0},
	{"bad_indent.yaml",
	 1,
	 {"4:6: bad indentation: this line is indented more than the key above it, so it reads "
	  "as part of that key's value (YAML: mapping values are not allowed in this "
	  "context)"},
	 0},
	{"bad_multi.yaml",
	 5,
	 {"3:12: timeout: must be greater than 0",
	  "4:25: failures_before_page: expected an integer from 1 to 100, got '0'",
	  "8:11: tier: must be core, secondary or site, got 'primary'",
	  "9:11: name: invalid name 'bad name!' (1-64 characters from A-Z a-z 0-9 _ . -)",
	  "13:7: unknown key 'colour' (expected one of: status, max_latency, json)"},
	 0},
	{"bad_empty_probes.yaml", 1, {"3:9: probes: list is empty (nothing to watch)"}, 0},
	{"bad_dup_key.yaml", 1, {"5:5: duplicate key 'interval' (first defined at 4:5)"}, 0},
	{"bad_notify.yaml",
	 4,
	 {"5:5: webhook is missing required key 'url'",
	  "7:5: pagerduty is missing required key 'routing_key'",
	  "9:11: duplicate notify name 'hook' (first defined at 5:11)",
	  "10:11: type: must be webhook, pagerduty, opsgenie, slack, alertmanager, exec or email, "
	  "got 'teams'"},
	 0},
	{"bad_schema_unknown.yaml",
	 4,
	 {"8:9: json: unknown JSON Schema keyword 'requird' (did you mean 'required'?)",
	  "13:13: json: unknown JSON Schema keyword 'minLenght' (did you mean 'minLength'?)",
	  "16:13: json: unknown JSON Schema keyword 'id' (did you mean 'if'? a property goes "
	  "under 'properties')",
	  "17:13: json: unknown JSON Schema keyword 'propertys' (did you mean "
	  "'properties'?)"},
	 0},
	{"bad_unknown_keys.yaml",
	 11,
	 {"3:3: unknown key 'intervall' (did you mean 'interval'?)",
	  "4:3: unknown key 'status' here (it goes under 'expect:' of each probe)",
	  "6:3: unknown key 'pth' (did you mean 'path'?)",
	  "10:5: unknown key 'timout' (did you mean 'timeout'?)",
	  "11:5: unknown key 'status' here (it goes under 'expect:')",
	  "13:7: unknown key 'stauts' (did you mean 'status'?)",
	  "14:5: unknown key 'notify' here (it goes at the top level: check this line's "
	  "indentation)",
	  "20:5: unknown key 'timeuot' (did you mean 'timeout'?)",
	  "22:3: unknown key 'listn' (did you mean 'listen'?)",
	  "24:3: unknown key 'windw' (did you mean 'window'?)",
	  "27:3: unknown key 'intervl' (did you mean 'interval'?)"},
	 0},
	{"bad_listen.yaml",
	 1,
	 {"5:11: listen: invalid address 'localhost' (host:port, e.g. 127.0.0.1:9464 or "
	  "[::1]:9464)"},
	 0},
};

START_TEST(test_bad_fixture)
{
	const struct bad_case *bc = &bad_cases[_i];
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	struct diag d = {0};
	char path[512], want[768];
	int rc;

	ck_assert_int_eq(unsetenv("PROBED_TEST_SURELY_UNSET"), 0);
	snprintf(path, sizeof(path), "%s%s", CFG_DIR, bc->file);
	rc = pd_config_load(path, &cfg, &err, diag_cb, &d);
	if (d.n != bc->n) {
		fprintf(stderr, "%s:\n", bc->file);
		diag_dump(&d);
	}
	ck_assert_int_eq(rc, PD_ERR_CONFIG);
	ck_assert_int_eq(err.code, PD_ERR_CONFIG);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(d.n, bc->n);
	for (size_t i = 0; i < bc->n; i++) {
		snprintf(want, sizeof(want), "%s:%s", path, bc->lines[i]);
		if (bc->prefix && i == bc->n - 1) {
			ck_assert_msg(strncmp(d.lines[i], want, strlen(want)) == 0 &&
					      strlen(d.lines[i]) > strlen(want),
				      "got '%s', want prefix '%s'", d.lines[i], want);
		} else {
			ck_assert_str_eq(d.lines[i], want);
		}
	}
	/* err->msg is the first diagnostic (as much of it as fits) */
	ck_assert(strncmp(err.msg, d.lines[0], sizeof(err.msg) - 1) == 0);
	diag_free(&d);
}
END_TEST

START_TEST(test_missing_file)
{
	struct pd_config *cfg = (struct pd_config *)&cfg;
	struct pd_err err = {0};
	struct diag d = {0};
	int rc = pd_config_load(CFG_DIR "does-not-exist.yaml", &cfg, &err, diag_cb, &d);

	ck_assert_int_eq(rc, PD_ERR_IO);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err.msg, CFG_DIR "does-not-exist.yaml: No such file or directory");
	rc = pd_config_load(CFG_DIR, &cfg, &err, diag_cb, &d);
	ck_assert_int_eq(rc, PD_ERR_IO);
	ck_assert_str_eq(err.msg, CFG_DIR ": Is a directory");
	ck_assert_uint_eq(d.n, 0);
}
END_TEST

/* ---------------------------------------------------------------- inline error cases */

/* the classifier's words: reference_probe names a probe (or a family), with
 * the playbook's defaults; upstream is the upstream's name. */
START_TEST(test_classify_words)
{
	struct pd_config *cfg;

	cfg = load_ok(P1);
	ck_assert_str_eq(cfg->classify.reference_probe, "userid");
	ck_assert_str_eq(cfg->classify.upstream, "TikTok");
	pd_config_free(cfg);
	cfg = load_ok("probes:\n  - {name: login, family: auth, url: http://h/}\n"
		      "classify: {reference_probe: login, upstream: Acme Cloud}\n");
	ck_assert_str_eq(cfg->classify.reference_probe, "login");
	ck_assert_str_eq(cfg->classify.upstream, "Acme Cloud");
	pd_config_free(cfg);
	cfg = load_ok("probes:\n  - {name: login, family: auth, url: http://h/}\n"
		      "classify:\n  reference_probe: auth\n");
	ck_assert_str_eq(cfg->classify.reference_probe, "auth");
	pd_config_free(cfg);
	load_fails_with(P1 "classify:\n  reference_probe: userid\n",
			"5:20: classify: reference_probe: no probe (nor family) is named 'userid'");
	load_fails_with(P1 "classify:\n  upstream: ''\n",
			"5:13: classify: upstream: 1-64 characters on one line (the upstream's "
			"name, e.g. TikTok)");
	load_fails_with(P1 "classify:\n  upstream: "
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
			"5:13: classify: upstream: 1-64 characters on one line (the upstream's "
			"name, e.g. TikTok)");
	load_fails_with(P1 "classify:\n  reference_probes: a\n",
			"5:3: unknown key 'reference_probes' (did you mean 'reference_probe'?)");
}
END_TEST

START_TEST(test_inline_errors)
{
	load_fails_with("", "1:1: empty configuration (at least 'probes' is required)");
	load_fails_with("# only a comment\n",
			"1:1: empty configuration (at least 'probes' is required)");
	load_fails_with("- a\n- b\n", "1:1: expected a mapping at the top level (defaults, "
				      "store, probes, notify, location, http)");
	load_fails_with("probes:\n", "1:8: probes: list is empty (nothing to watch)");
	load_fails_with("probes: {a: 1}\n", "1:9: probes: expected a list");
	load_fails_with("probes:\n  - url: http://h/\n",
			"2:5: probe is missing required key 'name'");
	load_fails_with("probes:\n  - name: a\n", "2:5: probe is missing required key 'url'");
	load_fails_with(P1 "---\n" P1, "5:1: only one YAML document is allowed per file");
	load_fails_with(P1 "    interval: 99ms\n",
			"4:15: interval: must be at least 100ms, got '99ms'");
	load_fails_with(P1 "    interval: 30\n", "4:15: interval: invalid duration '30'" DUR_HINT);
	load_fails_with(P1 "    interval: [30s]\n",
			"4:15: interval: expected a single value, not a list");
	load_fails_with(P1 "    timeout:\n", "4:13: timeout: missing value");
	load_fails_with(P1 "    confirm_after: 0ms\n",
			"4:20: confirm_after: must be greater than 0");
	load_fails_with(P1 "notify:\n  - name: n\n    type: webhook\n    url: http://h/\n"
			   "    retry: {max_backoff: 2h}\n",
			"8:26: max_backoff: at most 1h");
	load_fails_with(P1 "notify:\n  - name: n\n    type: webhook\n    url: http://h/\n"
			   "    breaker: {cooldown: 1m, max_cooldown: 30s}\n",
			"8:43: max_cooldown: shorter than cooldown");
	load_fails_with(P1 "notify:\n  - name: n\n    type: webhook\n    url: http://h/\n"
			   "    breaker: {failures: 0}\n",
			"8:25: failures: expected an integer from 1 to 100, got '0'");
	load_fails_with(
		P1 "    successes_before_resolve: 101\n",
		"4:31: successes_before_resolve: expected an integer from 1 to 100, got '101'");
	load_fails_with(P1 "    failures_before_page: 2.0\n",
			"4:27: failures_before_page: expected an integer from 1 to 100, got '2.0'");
	load_fails_with(P1 "    max_body: 1GiB\n", "4:15: max_body: invalid size '1GiB' (bytes, or "
						   "a number with a unit: B, KB, KiB, MB, MiB)");
	load_fails_with(P1 "    max_body: 0\n", "4:15: max_body: must be greater than 0");
	load_fails_with(P1 "    severity: P5\n",
			"4:15: severity: must be P1, P2, P3 or P4, got 'P5'");
	load_fails_with(P1 "    method: get\n", "4:13: method: invalid HTTP method 'get' "
						"(upper-case, e.g. GET, POST, HEAD)");
	load_fails_with(P1 "    headers: {\"Bad Name\": x}\n",
			"4:15: headers: invalid header name 'Bad Name'");
	load_fails_with(P1 "    headers: {X-A: a, x-a: b}\n",
			"4:23: headers: duplicate header 'x-a'");
	load_fails_with(P1 "    headers: {X-A: \"a\\r\\nX-Injected: 1\"}\n",
			"4:20: headers: value of 'X-A' contains a line break");
	load_fails_with(P1 "    expect: {status: []}\n", "4:22: status: list is empty");
	load_fails_with(P1 "    expect: {status: 600}\n",
			"4:22: status: invalid status '600'" STATUS_HINT);
	load_fails_with(P1 "    expect: {status: \"200-\"}\n",
			"4:22: status: invalid status '200-'" STATUS_HINT);
	load_fails_with(P1 "    expect: {json: {type: [.inf]}}\n",
			"4:28: json: '.inf' (infinity/NaN) cannot be represented in JSON");
	load_fails_with(P1 "    expect: {json: {a: 1, a: 2}}\n", "4:27: json: duplicate key 'a'");
	/* an aliased schema is reported once, where it is written */
	load_fails_with(
		P1 "    expect:\n      json:\n        definitions: {a: &a {maxmum: 3}}\n"
		   "        allOf: [*a, *a]\n",
		"6:30: json: unknown JSON Schema keyword 'maxmum' (did you mean 'maximum'?)");
	load_fails_with(P1 "store: {path: \"\"}\n", "4:15: path: must not be empty");
	load_fails_with(P1 "store: {retention: 1y}\n",
			"4:20: retention: invalid duration '1y'" DUR_HINT);
	load_fails_with(P1 "store: {size: 1}\n",
			"4:9: unknown key 'size' (expected one of: path, retention, "
			"incident_retention)");
	load_fails_with(P1 "store: {incident_retention: 0s}\n",
			"4:29: incident_retention: must be greater than 0");
	load_fails_with(P1 "defaults: {status: [200]}\n",
			"4:12: unknown key 'status' here (it goes under 'expect:' of each probe)");
	load_fails_with(P1 "notify:\n  - name: w\n    type: webhook\n    url: http://h/\n"
			   "    routing_key: k\n",
			"8:5: routing_key is only valid for type pagerduty");
	load_fails_with(P1 "notify:\n  - name: w\n    url: http://h/\n",
			"5:5: notify entry is missing required key 'type' (webhook, pagerduty, "
			"opsgenie, slack, alertmanager, exec or email)");
	load_fails_with(P1 "http: {bearer_token: \"\"}\n", "4:22: bearer_token: must not be empty");
	load_fails_with(P1 "http: {port: 1}\n",
			"4:8: unknown key 'port' (expected one of: listen, bearer_token)");
	load_fails_with(P1 "location: [a]\n",
			"4:11: location: expected a single value, not a list");
	/* runbooks.base_url: an absolute http(s) URL, no query/fragment, bounded */
	load_fails_with(P1 "runbooks: {base_url: /srv/runbooks}\n",
			"4:22: base_url: invalid URL '/srv/runbooks': Bad scheme");
	load_fails_with(
		P1 "runbooks: {base_url: \"ftp://wiki/rb\"}\n",
		"4:22: base_url: invalid URL 'ftp://wiki/rb': scheme must be http or https");
	load_fails_with(P1 "runbooks: {base_url: \"https://wiki/rb?x=1\"}\n",
			"4:22: base_url: no query or fragment (the runbook's file name is "
			"appended to it)");
	load_fails_with(P1 "runbooks: {base_url: \"https://wiki/rb\", url: x}\n",
			"4:41: unknown key 'url' (expected one of: base_url)");
	load_fails_with(P1 "runbooks: {}\n", "4:11: runbooks is missing required key 'base_url'");
	load_fails_with(
		P1
		"runbooks: {base_url: \"https://h/"
		"x"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"\"}\n",
		"4:22: base_url: at most 400 bytes, got 407");
	load_fails_with(P1 "    url: http://h/x\n",
			"4:5: duplicate key 'url' (first defined at 3:5)");
	load_fails_with(
		"probes:\n  - name: "
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"\n    url: http://h/\n",
		"2:11: name: invalid name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' "
		"(1-64 characters from A-Z a-z 0-9 _ . -)");
	/* syntax errors carry libyaml's problem mark */
	load_fails_with("probes: [a\n", "2:1: YAML: did not find expected ',' or ']' "
					"(while parsing a flow sequence at 1:9)");
	/* ... and, where libyaml's words are cryptic, say what to fix first */
	load_fails_with("probes:\n\t- name: a\n",
			"2:1: a tab character: YAML indentation must use spaces");
	load_fails_with("probes:\n  - name: a\n\turl: http://h/\n",
			"3:1: a tab character: YAML indentation must use spaces");
	load_fails_with("probes:\n  - name: a\n   \t url: http://h/\n",
			"3:4: a tab character: YAML indentation must use spaces");
	load_fails_with("defaults:\n  interval: 5s\n timeout: 1s\n" P1,
			"3:2: bad indentation: this line is indented differently from the keys "
			"above it (YAML: did not find expected key, while parsing a block mapping "
			"at 1:1)");
	load_fails_with(P1
			"    expect:\n      json:\n        type: object\n       required: [id]\n",
			"7:8: bad indentation: this line is indented differently from the keys "
			"above it (YAML: did not find expected key, while parsing a block mapping "
			"at 5:7)");
	load_fails_with("probes:\n  - name: a\n    url: http://h/\n      interval: 5s\n",
			"4:7: bad indentation: this line is indented more than the key above it, "
			"so it reads as part of that key's value (YAML: mapping values are not "
			"allowed in this context)");
	load_fails_with("probes:\n  - name:a\n    url: http://h/\n",
			"2:9: a ':' needs a space after it ('key: value', not 'key:value') (YAML: "
			"mapping values are not allowed in this context)");
	load_fails_with("probes:\n  - name: a\n    url:http://h/\n    interval: 5s\n",
			"3:5: expected 'key: value': the ':' is missing, or has no space after it "
			"(YAML: could not find expected ':', while scanning a simple key at 3:5)");
	load_fails_with(
		"probes:\n  - name: a: b\n    url: http://h/\n",
		"2:12: a value that contains ': ' must be quoted (or start the next key on "
		"a line of its own) (YAML: mapping values are not allowed in this context)");
	load_fails_with("probes:\n  - name: a\n    url: \"http://h/\n    interval: 5s\n",
			"3:10: this quoted value is never closed: its closing quote is missing "
			"(YAML: found unexpected end of stream, while scanning a quoted scalar at "
			"3:10)");
	load_fails_with("probes:\n  - name: @a\n    url: http://h/\n",
			"2:11: '@' cannot start a value: put the value in quotes (YAML: found "
			"character that cannot start any token, while scanning for the next token "
			"at 2:11)");
}
END_TEST

/* The one did-you-mean of config keys and JSON Schema keywords. */
START_TEST(test_nearest)
{
	static const char *const keys[] = {
		"interval", "timeout", "failures_before_page", "url", "type", "tier", NULL,
	};
	static const char *const kws[] = {"required", "minLength", "maxLength", "if", NULL};

	ck_assert_str_eq(pd_err_nearest("intervall", keys), "interval"); /* insertion */
	ck_assert_str_eq(pd_err_nearest("intreval", keys), "interval");  /* swap = 1 edit */
	ck_assert_str_eq(pd_err_nearest("timout", keys), "timeout");
	ck_assert_str_eq(pd_err_nearest("Timeout", keys), "timeout"); /* case */
	ck_assert_str_eq(pd_err_nearest("failures-before-page", keys), "failures_before_page");
	ck_assert_str_eq(pd_err_nearest("uri", keys), "url");
	ck_assert_str_eq(pd_err_nearest("requird", kws), "required");
	ck_assert_str_eq(pd_err_nearest("minLenght", kws), "minLength");
	ck_assert_str_eq(pd_err_nearest("minlength", kws), "minLength");
	ck_assert_ptr_null(pd_err_nearest("interval", keys)); /* exact: nothing to suggest */
	ck_assert_ptr_null(pd_err_nearest("colour", keys));
	ck_assert_str_eq(pd_err_nearest("tyre", keys), "type"); /* 1 edit: a typo */
	ck_assert_ptr_null(pd_err_nearest("port", keys));       /* 2 edits, short word */
	ck_assert_ptr_null(pd_err_nearest("kind", keys));       /* "tier"/"type": 3 edits */
	ck_assert_ptr_null(pd_err_nearest("", keys));
	ck_assert_ptr_null(pd_err_nearest(NULL, keys));
	ck_assert_ptr_null(pd_err_nearest("x", (const char *const[]){NULL}));
	ck_assert_ptr_null(pd_err_nearest(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", keys));
}
END_TEST

START_TEST(test_inline_good)
{
	struct pd_config *cfg;
	const struct pd_probe_cfg *p;

	/* single int status; null sections are empty; 64-character name */
	cfg = load_ok("defaults:\nstore:\nnotify:\nprobes:\n"
		      "  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		      "    url: https://[::1]:8443/x\n"
		      "    expect: {status: 204, max_latency: 0s, json: ~}\n");
	p = &cfg->probes[0];
	ck_assert_uint_eq(strlen(p->name), 64);
	ck_assert_uint_eq(p->nstatus, 1);
	ck_assert_int_eq(p->status[0].lo, 204);
	ck_assert_int_eq(p->status[0].hi, 204);
	ck_assert_ptr_null(p->json_schema);
	ck_assert_uint_eq(cfg->nnotify, 0);
	ck_assert_ptr_null(cfg->runbooks_base_url);
	pd_config_free(cfg);

	cfg = load_ok(
		P1
		"runbooks:\n  base_url: https://git.example.com/ops/probed/blob/main/runbooks/\n");
	ck_assert_str_eq(cfg->runbooks_base_url,
			 "https://git.example.com/ops/probed/blob/main/runbooks/");
	pd_config_free(cfg);

	/* a target's delivery policy */
	cfg = load_ok(P1 "notify:\n  - name: pd\n    type: webhook\n    url: http://h/\n"
			 "    retry: {max_backoff: 10s, max_retry_after: 1m}\n"
			 "    breaker: {failures: 3, cooldown: 20s, max_cooldown: 5m}\n");
	ck_assert_int_eq(cfg->notify[0].retry_max_backoff_ms, 10000);
	ck_assert_int_eq(cfg->notify[0].retry_max_after_ms, 60000);
	ck_assert_int_eq(cfg->notify[0].breaker_failures, 3);
	ck_assert_int_eq(cfg->notify[0].breaker_cooldown_ms, 20000);
	ck_assert_int_eq(cfg->notify[0].breaker_max_cooldown_ms, 300000);
	pd_config_free(cfg);

	/* listen forms */
	static const char *const good_listen[] = {
		"127.0.0.1:9464",
		"\"[::1]:9464\"",
		"localhost:80",
		"0.0.0.0:65535",
	};
	static const char *const bad_listen[] = {
		"localhost",  "\":80\"", "\"[::1]\"", "h:0",      "h:65536",
		"\"[zz]:1\"", "h:8o",    "a:b:1",     "\"h :1\"",
	};
	for (size_t i = 0; i < sizeof(good_listen) / sizeof(good_listen[0]); i++) {
		char y[256];

		snprintf(y, sizeof(y), P1 "http: {listen: %s}\n", good_listen[i]);
		cfg = load_ok(y);
		ck_assert_ptr_nonnull(cfg->http_listen);
		pd_config_free(cfg);
	}
	for (size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++) {
		char y[256];
		struct pd_err err;
		struct diag d = {0};

		snprintf(y, sizeof(y), P1 "http: {listen: %s}\n", bad_listen[i]);
		cfg = NULL;
		ck_assert_msg(load_str(y, &cfg, &err, &d) == PD_ERR_CONFIG, "%s", bad_listen[i]);
		if (d.n != 1)
			diag_dump(&d);
		ck_assert_uint_eq(d.n, 1);
		ck_assert_msg(strstr(d.lines[0], "inline.yaml:4:16: listen: invalid address") !=
				      NULL,
			      "%s", d.lines[0]);
		diag_free(&d);
	}
}
END_TEST

/* Recursive and exploding aliases in a schema are bounded, not a hang or a crash. */
START_TEST(test_alias_bombs)
{
	struct pd_config *cfg = NULL;
	struct pd_err err;
	struct diag d = {0};
	const char *bomb = P1 "    expect:\n      json:\n"
			      "        a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			      "        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			      "        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			      "        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			      "        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			      "        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
	const char *cycle = P1 "    expect:\n      json: &r {not: *r}\n";
	int rc;

	rc = load_str(bomb, &cfg, &err, &d);
	ck_assert_int_eq(rc, PD_ERR_CONFIG);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_ptr_nonnull(strstr(d.lines[0], "json: more than 100000 nodes"));
	diag_free(&d);
	/* ~40,000 copies of one misspelt keyword: one message, at the key, no quadratic walk */
	rc = load_str(
		P1 "    expect:\n      json:\n        definitions:\n"
		   "          a: &a {foo: 1}\n"
		   "          b: &b {allOf: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}\n"
		   "          c: &c {allOf: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}\n"
		   "          d: &d {allOf: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}\n"
		   "        allOf: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d,"
		   " *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
		&cfg, &err, &d);
	ck_assert_int_eq(rc, PD_ERR_CONFIG);
	if (d.n != 1)
		diag_dump(&d);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.lines[0], "inline.yaml:7:18: json: unknown JSON Schema keyword 'foo', "
				     "which would check nothing (name extensions 'x-...', or set "
				     "x-allow-unknown-keywords: true)");
	diag_free(&d);
	rc = load_str(cycle, &cfg, &err, &d);
	ck_assert_int_eq(rc, PD_ERR_CONFIG);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_ptr_nonnull(strstr(d.lines[0], "json: nested deeper than 256 levels"));
	diag_free(&d);
}
END_TEST

/* ---------------------------------------------------------------- durations, sizes */

static const struct {
	const char *s;
	int64_t ms;
} good_durations[] = {
	{"0s", 0},
	{"0ms", 0},
	{"1ms", 1},
	{"500ms", 500},
	{"30s", 30000},
	{"5m", 300000},
	{"2h", 7200000},
	{"30d", (int64_t)30 * 86400000},
	{"1m30s", 90000},
	{"1h15m", 4500000},
	{"1d2h3m4s5ms", 93784005},
	{"1s500ms", 1500},
	{"90s", 90000},
	{"0d0h0m0s0ms", 0},
	{"106751991167d", (int64_t)106751991167 * 86400000},
	{"9223372036854775807ms", INT64_MAX},
};

static const char *const bad_durations[] = {
	"",
	"0",
	"30",
	"-5s",
	"+5s",
	"5",
	"s",
	"ms",
	"1.5s",
	" 30s",
	"30s ",
	"30 s",
	"30S",
	"1m1m",
	"30s1m",
	"1ms1s",
	"1x",
	"5sec",
	"1y",
	"1w",
	"9223372036854775808ms",
	"106751991168d",
	"9223372036854775807ms1ms",
	"99999999999999999999s",
	"1h-1m",
	"∞",
};

/* Big inputs, each once a minute of CPU or gigabytes (reproduced with
 * fuzz_config's replay: tests/fuzz/corpus/config/finding-*): each is refused at once. */
static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1), *p = s;

	ck_assert_ptr_nonnull(s);
	memcpy(p, head, hl);
	p += hl;
	for (size_t i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, tail, tl + 1);
	return s;
}

START_TEST(test_big_inputs)
{
	char *yaml, *open_, *close_;
	int64_t t0 = pd_clock_mono_ms();
	struct pd_config *cfg = NULL;
	struct pd_err err;
	struct diag d = {0};

	/* 100,000 levels of flow nesting: 47 s in libyaml's scanner (quadratic in depth) */
	open_ = repeat("probes: ", "[", 100000, "");
	close_ = repeat(open_, "]", 100000, "\n");
	load_fails_with(close_, "1:272: YAML: nested deeper than 264 levels");
	yaml = repeat("probes: ", "{a: ", 100000, "1");
	load_fails_with(yaml, "1:1061: YAML: nested deeper than 264 levels");
	free(open_);
	free(close_);
	free(yaml);
	/* an expect.json object of 60,000 keys: duplicate detection took 13 s (a lookup
	 * per key); the one duplicate is still found */
	{
		size_t cap = 60000 * 16 + 256, o;
		char *y = malloc(cap);

		ck_assert_ptr_nonnull(y);
		o = (size_t)snprintf(y, cap, P1 "    expect: {json: {properties: {");
		for (int i = 0; i < 60000; i++)
			o += (size_t)snprintf(y + o, cap - o, "k%d: {}, ", i);
		snprintf(y + o, cap - o, "k5: {}}}}\n");
		ck_assert_int_eq(load_str(y, &cfg, &err, &d), PD_ERR_CONFIG);
		ck_assert_uint_eq(d.n, 1);
		ck_assert_ptr_nonnull(strstr(d.lines[0], "json: duplicate key 'k5'"));
		diag_free(&d);
		free(y);
	}
	/* headers: the duplicate check is quadratic; more than 100 is an error */
	yaml = repeat(P1 "    headers: {", "X-A: 1, ", 101, "}\n");
	load_fails_with(yaml, "4:14: headers: 101 headers, at most 100");
	free(yaml);
	/* 400 probes aliasing one 81,000-node anchor: 32 million nodes, 2.6 GB, from 29 KB;
	 * now at most 1,000,000 nodes over the whole file */
	{
		size_t cap = 64 * 1024, o;
		char *y = malloc(cap);

		ck_assert_ptr_nonnull(y);
		o = (size_t)snprintf(
			y, cap,
			"probes:\n  - name: p0\n    url: http://h/\n"
			"    expect:\n      json:\n        definitions:\n"
			"          a: {enum: &a [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}\n"
			"          b: {enum: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]}\n"
			"          c: {enum: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]}\n"
			"        enum: [*c]\n");
		for (int i = 1; i < 400; i++)
			o += (size_t)snprintf(y + o, cap - o,
					      "  - {name: p%d, url: \"http://h/\", "
					      "expect: {json: {enum: [*c, *c, *c]}}}\n",
					      i);
		ck_assert_int_eq(load_str(y, &cfg, &err, &d), PD_ERR_CONFIG);
		ck_assert_uint_ge(d.n, 1);
		ck_assert_msg(strstr(d.lines[0], "json: more than 1000000 nodes in all the "
						 "expect.json of this file") != NULL,
			      "%s", d.lines[0]);
		diag_free(&d);
		free(y);
	}
	ck_assert_int_lt(pd_clock_mono_ms() - t0, 10000);
}
END_TEST

/* The daemon computes interval_ms * 1000 (microseconds) and now + retention: a config
 * could validate and then overflow; fuzz_config now checks the bounds. */
START_TEST(test_value_bounds)
{
	struct pd_config *cfg = NULL;
	struct pd_err err;
	struct diag d = {0};

	load_fails_with(P1 "    interval: 100000000000d\n",
			"4:15: interval: must be at most 3650d (ten years), got '100000000000d'");
	load_fails_with(P1 "    timeout: 3650d1ms\n",
			"4:14: timeout: must be at most 3650d (ten years), got '3650d1ms'");
	load_fails_with("store: {retention: 3651d}\n" P1,
			"1:20: retention: must be at most 3650d (ten years), got '3651d'");
	load_fails_with(P1 "    max_body: 18446744073709551615\n",
			"4:15: max_body: must be at most 256MiB, got '18446744073709551615'");
	load_fails_with(P1 "    max_body: 257MiB\n", "4:15: max_body: must be at most 256MiB, "
						     "got '257MiB'");
	ck_assert_int_eq(load_str("store: {retention: 3650d, incident_retention: 180d}\n" P1
				  "    interval: 3650d\n"
				  "    max_body: 256MiB\n",
				  &cfg, &err, &d),
			 0);
	ck_assert_int_eq(cfg->probes[0].interval_ms, (int64_t)3650 * 86400 * 1000);
	ck_assert_int_eq(cfg->incident_retention_ms, (int64_t)180 * 86400 * 1000);
	ck_assert_uint_eq(cfg->probes[0].max_body, 256 * 1024 * 1024);
	pd_config_free(cfg);
	diag_free(&d);
}
END_TEST

START_TEST(test_duration_good)
{
	int64_t ms = -1;

	ck_assert_msg(pd_config_duration_parse(good_durations[_i].s, &ms) == 0, "'%s'",
		      good_durations[_i].s);
	ck_assert_int_eq(ms, good_durations[_i].ms);
}
END_TEST

START_TEST(test_duration_bad)
{
	int64_t ms = 12345;

	ck_assert_msg(pd_config_duration_parse(bad_durations[_i], &ms) == PD_ERR_INVALID, "'%s'",
		      bad_durations[_i]);
	ck_assert_int_eq(ms, 12345);
}
END_TEST

START_TEST(test_duration_format)
{
	static const struct {
		int64_t ms;
		const char *s;
	} t[] = {
		{0, "0s"},
		{1, "1ms"},
		{250, "250ms"},
		{1000, "1s"},
		{1500, "1s500ms"},
		{90000, "1m30s"},
		{3600000, "1h"},
		{86400000, "1d"},
		{93784005, "1d2h3m4s5ms"},
		{-1500, "-1s500ms"},
		{INT64_MAX, "106751991167d7h12m55s807ms"},
	};
	char buf[64], tiny[4];
	int64_t back;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		pd_config_duration_format(t[i].ms, buf, sizeof(buf));
		ck_assert_str_eq(buf, t[i].s);
		if (t[i].ms >= 0) {
			ck_assert_int_eq(pd_config_duration_parse(buf, &back), 0);
			ck_assert_int_eq(back, t[i].ms);
		}
	}
	pd_config_duration_format(INT64_MIN, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-106751991167d7h12m55s808ms");
	pd_config_duration_format(93784005, tiny, sizeof(tiny)); /* truncates, stays terminated */
	ck_assert_uint_lt(strlen(tiny), sizeof(tiny));
	ck_assert_str_eq(tiny, "1d2");
}
END_TEST

START_TEST(test_sizes)
{
	static const struct {
		const char *s;
		size_t bytes;
	} good[] = {
		{"0", 0},
		{"1", 1},
		{"1048576", 1048576},
		{"10B", 10},
		{"1KB", 1000},
		{"1KiB", 1024},
		{"512KiB", 524288},
		{"1MB", 1000000},
		{"1MiB", 1048576},
		{"64MiB", 67108864},
	};
	static const char *const bad[] = {
		"",
		"B",
		"KiB",
		"-1",
		"1.5MiB",
		"1 MiB",
		"1mib",
		"1kb",
		"1K",
		"1M",
		"1GiB",
		"1MiBs",
		" 1",
		"18446744073709551616",
		"18446744073709551615KiB",
	};
	size_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 7;
		ck_assert_msg(pd_config_size_parse(good[i].s, &v) == 0, "'%s'", good[i].s);
		ck_assert_uint_eq(v, good[i].bytes);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		ck_assert_msg(pd_config_size_parse(bad[i], &v) == PD_ERR_INVALID, "'%s'", bad[i]);
		ck_assert_uint_eq(v, 7);
	}
}
END_TEST

START_TEST(test_tier_str_and_free)
{
	ck_assert_str_eq(pd_config_tier_str(PD_TIER_CORE), "core");
	ck_assert_str_eq(pd_config_tier_str(PD_TIER_SECONDARY), "secondary");
	ck_assert_str_eq(pd_config_tier_str(PD_TIER_SITE), "site");
	ck_assert_ptr_null(pd_config_probe(NULL, "x"));
	pd_config_free(NULL);
}
END_TEST

/* ---------------------------------------------------------------- interpolation, secrets */

START_TEST(test_interpolation_and_secrets)
{
	static const char env_secret[] = "env-s3cret-value";
	static const char file_secret[] = "file-s3cret-value";
	char kpath[64], yaml[1024], line[256];
	struct pd_config *cfg;
	const struct pd_probe_cfg *p;
	const struct pd_header *h;

	ck_assert_int_eq(setenv("PD_TEST_SECRET", env_secret, 1), 0);
	ck_assert_int_eq(setenv("PD_TEST_HOST", "127.0.0.1:8080", 1), 0);
	write_temp(kpath, sizeof(kpath), "file-s3cret-value\n");
	snprintf(yaml, sizeof(yaml),
		 "defaults:\n"
		 "  headers:\n"
		 "    X-Api-Key: ${PD_TEST_SECRET}\n"
		 "    X-Plain: costs $$5 and $ more$\n"
		 "probes:\n"
		 "  - name: a\n"
		 "    url: http://${PD_TEST_HOST}/userid/?k=${PD_TEST_SECRET}\n"
		 "    headers: {X-File: \"Bearer ${file:%s}\"}\n"
		 "    body: \"${PD_TEST_SECRET}$${PD_TEST_SECRET}\"\n"
		 "notify:\n"
		 "  - {name: pd, type: pagerduty, routing_key: \"${file:%s}\","
		 " url: \"http://127.0.0.1:1/${PD_TEST_SECRET}\"}\n",
		 kpath, kpath);
	cfg = load_ok(yaml);
	p = &cfg->probes[0];
	h = header(p->headers, p->nheaders, "X-Api-Key");
	ck_assert_str_eq(h->value, env_secret);
	ck_assert_int_eq(h->secret, 1);
	h = header(p->headers, p->nheaders, "X-Plain");
	ck_assert_str_eq(h->value, "costs $5 and $ more$");
	ck_assert_int_eq(h->secret, 0);
	h = header(p->headers, p->nheaders, "X-File");
	ck_assert_str_eq(h->value, "Bearer file-s3cret-value"); /* one newline stripped */
	ck_assert_int_eq(h->secret, 1);
	ck_assert_str_eq(p->url, "http://127.0.0.1:8080/userid/?k=env-s3cret-value");
	ck_assert_str_eq(p->url_display, "http://${PD_TEST_HOST}/userid/?k=${PD_TEST_SECRET}");
	ck_assert_int_eq(p->url_secret, 1);
	ck_assert_str_eq(p->body, "env-s3cret-value${PD_TEST_SECRET}");
	ck_assert_str_eq(cfg->notify[0].routing_key, file_secret);
	ck_assert_str_eq(cfg->notify[0].url, "http://127.0.0.1:1/env-s3cret-value");
	ck_assert_str_eq(cfg->notify[0].url_display, "http://127.0.0.1:1/${PD_TEST_SECRET}");

	/* all secrets are masked by the log redactor; ordinary text is not */
	snprintf(line, sizeof(line), "k=%s f=%s body=%s $5", env_secret, file_secret,
		 "env-s3cret-value");
	pd_log_redact(line, sizeof(line));
	ck_assert_str_eq(line, "k=[REDACTED] f=[REDACTED] body=[REDACTED] $5");
	pd_config_free(cfg);

	/* only one trailing newline goes; "\n\n" keeps one, which a header then rejects */
	write_temp(kpath, sizeof(kpath), "two\n\n");
	snprintf(yaml, sizeof(yaml), P1 "    body: \"${file:%s}\"\n", kpath);
	cfg = load_ok(yaml);
	ck_assert_str_eq(cfg->probes[0].body, "two\n");
	pd_config_free(cfg);
	unlink(kpath);
	unsetenv("PD_TEST_SECRET");
	unsetenv("PD_TEST_HOST");
}
END_TEST

START_TEST(test_interpolation_errors)
{
	char yaml[512], want[512], dpath[64];

	ck_assert_int_eq(unsetenv("PD_TEST_UNSET_A"), 0);
	ck_assert_int_eq(unsetenv("PD_TEST_UNSET_B"), 0);
	load_fails_with(P1 "location: \"${PD_TEST_UNSET_A}\"\n",
			"4:11: environment variable PD_TEST_UNSET_A is not set");
	load_fails_with(P1 "location: x${oops\n",
			"4:11: location: unterminated '${' (write '$$' for a literal '$')");
	load_fails_with(P1 "location: ${}\n", "4:11: location: invalid variable name '' in ${...}");
	load_fails_with(P1 "location: ${1X}\n",
			"4:11: location: invalid variable name '1X' in ${...}");
	load_fails_with(P1 "location: ${file:relative/key}\n",
			"4:11: location: ${file:relative/key} needs an absolute path");
	pd_test_tmpdir(dpath, sizeof(dpath), "cfgtest-dir");
	snprintf(yaml, sizeof(yaml), P1 "location: ${file:%s}\n", dpath);
	snprintf(want, sizeof(want), "4:11: cannot read '%s': Is a directory", dpath);
	load_fails_with(yaml, want);

	/* Found by fuzz_config (a timeout): ${file:FIFO} blocked in open() until some
	 * writer came, so `probectl validate` hung (and SIGHUP would freeze the loop). Not
	 * a regular file (FIFO, device) is now an error, at once. The test fails by the
	 * Check timeout (CK_DEFAULT_TIMEOUT) when it blocks. */
	{
		char fifo[80];
		int64_t t0;

		snprintf(fifo, sizeof(fifo), "%s/fifo", dpath);
		ck_assert_int_eq(mkfifo(fifo, 0600), 0);
		snprintf(yaml, sizeof(yaml), P1 "location: ${file:%s}\n", fifo);
		snprintf(want, sizeof(want),
			 "4:11: cannot read '%s': not a regular file (a FIFO or "
			 "a device would block or never end)",
			 fifo);
		t0 = pd_clock_mono_ms();
		load_fails_with(yaml, want);
		ck_assert_int_lt(pd_clock_mono_ms() - t0, 2000);
		unlink(fifo);
		snprintf(yaml, sizeof(yaml), P1 "location: ${file:/dev/zero}\n");
		load_fails_with(yaml,
				"4:11: cannot read '/dev/zero': not a regular file (a FIFO or "
				"a device would block or never end)");
	}
	pd_test_rm_tree(dpath);
	/* keys are one header line: CR/LF (a file ending in CRLF) is an error, value unshown */
	{
		char kpath[] = "/tmp/probed-cfgtest-key-XXXXXX";
		int fd = mkstemp(kpath);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "R0UTING\r\n", 9), 9);
		close(fd);
		snprintf(yaml, sizeof(yaml),
			 P1 "notify:\n  - name: pd\n    type: pagerduty\n"
			    "    routing_key: ${file:%s}\n",
			 kpath);
		load_fails_with(yaml, "7:18: routing_key: contains a control character (CR); a key "
				      "is one line of printable characters");
		unlink(kpath);
	}
	load_fails_with(
		P1 "location: eu-west-1-frankfurt-datacenter-rack-42-row-7-aisle-3-the-long-one\n",
		"4:11: location: at most 48 bytes (it is part of every incident key), got 65");
	load_fails_with(P1 "    interval: 100000000000d\n",
			"4:15: interval: must be at most 3650d (ten years), got '100000000000d'");

	/* both unset variables in one value are reported */
	{
		struct pd_config *cfg = NULL;
		struct pd_err err;
		struct diag d = {0};

		ck_assert_int_eq(load_str(P1 "location: ${PD_TEST_UNSET_A}-${PD_TEST_UNSET_B}\n",
					  &cfg, &err, &d),
				 PD_ERR_CONFIG);
		ck_assert_uint_eq(d.n, 2);
		ck_assert_str_eq(d.lines[0], "inline.yaml:4:11: environment variable "
					     "PD_TEST_UNSET_A is not set");
		ck_assert_str_eq(d.lines[1], "inline.yaml:4:11: environment variable "
					     "PD_TEST_UNSET_B is not set");
		diag_free(&d);
	}
}
END_TEST

/* A value built from ${VAR} never shows its expansion in any error. */
START_TEST(test_secret_never_in_errors)
{
	static const char canary[] = "CANARY-7c1e d00d"; /* the space makes the URL invalid */
	char kpath[64], yaml[1024];
	struct pd_config *cfg = NULL;
	struct pd_err err;
	struct diag d = {0};
	int rc;

	ck_assert_int_eq(setenv("PD_TEST_CANARY", canary, 1), 0);
	write_temp(kpath, sizeof(kpath), "CANARY-7c1e d00d\n");
	snprintf(yaml, sizeof(yaml),
		 "probes:\n"
		 "  - name: ${PD_TEST_CANARY}\n"
		 "    url: https://${PD_TEST_CANARY}/x\n"
		 "    interval: ${PD_TEST_CANARY}\n"
		 "    method: ${PD_TEST_CANARY}\n"
		 "    tier: ${PD_TEST_CANARY}\n"
		 "    failures_before_page: ${PD_TEST_CANARY}\n"
		 "    max_body: ${PD_TEST_CANARY}\n"
		 "    expect: {status: \"${PD_TEST_CANARY}\"}\n"
		 "    headers: {X-K: \"a\\n${file:%s}\"}\n"
		 "  - name: b\n"
		 "    url: \"http://h/${file:%s}\"\n"
		 "http: {listen: \"${PD_TEST_CANARY}\"}\n",
		 kpath, kpath);
	rc = load_str(yaml, &cfg, &err, &d);
	ck_assert_int_eq(rc, PD_ERR_CONFIG);
	ck_assert_ptr_null(cfg);
	if (d.n != 11)
		diag_dump(&d);
	ck_assert_uint_eq(d.n, 11);
	for (size_t i = 0; i < d.n; i++) {
		ck_assert_msg(strstr(d.lines[i], "CANARY-") == NULL, "leak: %s", d.lines[i]);
		ck_assert_msg(strstr(d.lines[i], "d00d") == NULL, "leak: %s", d.lines[i]);
	}
	ck_assert_ptr_null(strstr(err.msg, "CANARY-"));
	ck_assert_str_eq(d.lines[0], "inline.yaml:2:11: name: invalid name '${PD_TEST_CANARY}' "
				     "(1-64 characters from A-Z a-z 0-9 _ . -)");
	ck_assert(strncmp(d.lines[1],
			  "inline.yaml:3:10: url: invalid URL "
			  "'https://${PD_TEST_CANARY}/x': ",
			  63) == 0);
	diag_free(&d);
	unlink(kpath);
	unsetenv("PD_TEST_CANARY");
}
END_TEST

/* ---------------------------------------------------------------- store path only */

/* pd_config_store_path(yaml) must give want (NULL: must fail with an error starting
 * with "FILE:" + want_err). */
static void
store_path_is(const char *yaml, const char *want, const char *want_err)
{
	char path[64], full[512];
	char *got = (char *)path;
	struct pd_err err = {0};
	int rc;

	write_temp(path, sizeof(path), yaml);
	rc = pd_config_store_path(path, &got, &err);
	if (want != NULL) {
		ck_assert_msg(rc == 0, "%s: %s", yaml, err.msg);
		ck_assert_str_eq(got, want);
	} else {
		snprintf(full, sizeof(full), "%s:%s", path, want_err);
		ck_assert_int_eq(rc, PD_ERR_CONFIG);
		ck_assert_ptr_null(got);
		ck_assert_msg(strncmp(err.msg, full, strlen(full)) == 0, "got '%s', want '%s'",
			      err.msg, full);
	}
	free(got);
	unlink(path);
}

/* The composer (pd_config_parse: events straight into the document, not yaml_parser_load):
 * what it reports, and where, is what libyaml's loader reported. */
START_TEST(test_composer)
{
	struct pd_config *cfg;
	char *deep = repeat("x: ", "[", 300, ""), *deep2, *yaml;
	size_t dl;
	cJSON *j;
	struct pd_err err = {0};

	/* aliases are shared nodes: an anchored probe body used twice, an anchored schema */
	cfg = load_ok("defaults: {interval: 5s}\n"
		      "probes:\n"
		      "  - name: a\n    url: &u http://h/\n"
		      "    expect: {json: &j {type: object, required: [id]}}\n"
		      "  - name: b\n    url: *u\n    expect: {json: *j}\n");
	ck_assert_uint_eq(cfg->nprobes, 2);
	ck_assert_str_eq(cfg->probes[1].url, "http://h/");
	ck_assert_ptr_nonnull(cfg->probes[1].json_schema);
	ck_assert_str_eq(cJSON_GetObjectItem(cfg->probes[1].json_schema, "type")->valuestring,
			 "object");
	pd_config_free(cfg);
	/* explicit tags are kept, "!" and none are the default ones */
	cfg = load_ok("probes:\n  - name: ! a\n    url: !!str http://h/\n"
		      "    expect: {json: {type: ! object, minLength: !!int 2}}\n");
	ck_assert_str_eq(cfg->probes[0].name, "a");
	pd_config_free(cfg);
	load_fails_with(P1 "    expect: {json: {type: object, minLength: !foo 1}}\n",
			"4:46: json: cannot use '1' with tag !foo");
	/* composer errors, at the alias or the anchor, in libyaml's words */
	load_fails_with(P1 "    interval: *nope\n", "4:15: YAML: found undefined alias");
	load_fails_with("store: &a {}\nprobes: &a []\n",
			"2:9: YAML: second occurrence (found duplicate anchor; "
			"first occurrence at 1:8)");
	/* an anchor of the first document does not reach the second */
	load_fails_with(P1 "---\nx: *u\n", "5:4: YAML: found undefined alias");
	load_fails_with("probes:\n  - name: a\n    url: &u http://h/\n---\nx: *u\n",
			"5:4: YAML: found undefined alias");
	/* a second document: its syntax error, or else the message at its root */
	load_fails_with(P1 "---\nx: [1,\n",
			"6:1: YAML: did not find expected node content (while parsing a flow "
			"node at 6:1)");
	load_fails_with(P1 "--- \n", "5:1: only one YAML document is allowed per file");
	load_fails_with(P1 "...\n---\n  x: 1\n", "6:3: only one YAML document is allowed per file");
	/* the nesting check reads the whole stream: too deep in a third document, or after
	 * a composer error, is what is reported; a syntax error first wins */
	dl = strlen(deep);
	deep2 = repeat(deep, "]", 300, "\n");
	ck_assert_uint_gt(strlen(deep2), dl);
	yaml = malloc(strlen(deep2) + 64);
	ck_assert_ptr_nonnull(yaml);
	sprintf(yaml, "%s---\na: 1\n---\n%s", P1, deep2);
	load_fails_with(yaml, "7:267: YAML: nested deeper than 264 levels");
	sprintf(yaml, "a: *nope\n%s", deep2);
	load_fails_with(yaml, "2:267: YAML: nested deeper than 264 levels");
	sprintf(yaml, "a: [1\nb: 2\n%s", deep2);
	load_fails_with(yaml, "2:2: YAML: did not find expected ',' or ']' (while parsing a "
			      "flow sequence at 1:4)");
	/* pd_config_yaml_to_json (probectl schema): the same composer */
	j = pd_config_yaml_to_json("a: &x [1, 2]\nb: *x\n", 19, "t.yaml", &err);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "b")), 2);
	cJSON_Delete(j);
	ck_assert_ptr_null(pd_config_yaml_to_json("a: 1\n---\nb: *x\n", 15, "t.yaml", &err));
	ck_assert_str_eq(err.msg, "t.yaml:3:4: YAML: found undefined alias");
	ck_assert_ptr_null(pd_config_yaml_to_json("# none\n", 7, "t.yaml", &err));
	ck_assert_str_eq(err.msg, "t.yaml:1:1: empty document");
	/* the quick read of store.path: the first document only, no nesting check */
	store_path_is("store: {path: /a.db}\n---\nx: *nope\n", "/a.db", NULL);
	store_path_is("store: {path: *nope}\n", NULL, "1:15: YAML: found undefined alias");
	free(yaml);
	free(deep2);
	free(deep);
}
END_TEST

START_TEST(test_store_path_only)
{
	static const char unset_secret[] =
		"defaults:\n  headers:\n    X-Api-Key: ${PD_TEST_UNSET_VAR}\n"
		"store:\n  path: /srv/p.db\n  retention: 1d\n"
		"probes:\n  - name: a\n    url: http://h/\n";
	char *got = (char *)unset_secret;
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	char path[64];

	unsetenv("PD_TEST_UNSET_VAR");
	/* the full load fails on the secret; the store path is still known */
	write_temp(path, sizeof(path), unset_secret);
	ck_assert_int_eq(pd_config_load(path, &cfg, &err, NULL, NULL), PD_ERR_CONFIG);
	ck_assert_ptr_null(cfg);
	ck_assert_int_eq(pd_config_store_path(path, &got, &err), 0);
	ck_assert_str_eq(got, "/srv/p.db");
	free(got);
	unlink(path);
	/* an unreadable ${file:...} credential, a bad probe: not looked at */
	store_path_is("notify:\n  - name: pd\n    type: pagerduty\n"
		      "    routing_key: ${file:/nonexistent/credential}\n"
		      "probes:\n  - name: a\n    url: not-a-url\n    typo_key: 1\n"
		      "store: {path: /x/y.db}\n",
		      "/x/y.db", NULL);
	/* no store section, no path, a null path: the default */
	store_path_is("probes: []\n", "/var/lib/probed/probed.db", NULL);
	store_path_is("store:\n  retention: 5d\n", "/var/lib/probed/probed.db", NULL);
	store_path_is("store:\n", "/var/lib/probed/probed.db", NULL);
	/* ${VAR} in the path itself is expanded; unset is an error at its position */
	setenv("PD_TEST_STATE_DIR", "/var/tmp/st", 1);
	store_path_is("store:\n  path: ${PD_TEST_STATE_DIR}/p.db\n", "/var/tmp/st/p.db", NULL);
	unsetenv("PD_TEST_STATE_DIR");
	store_path_is("store:\n  path: ${PD_TEST_STATE_DIR}/p.db\n", NULL,
		      "2:9: environment variable PD_TEST_STATE_DIR is not set");
	/* what would make the path ambiguous or unusable is an error, never a default */
	store_path_is("store:\n  path: ''\n", NULL, "2:9: path: must not be empty");
	store_path_is("store:\n  path: [a, b]\n", NULL,
		      "2:9: path: expected a single value, not a list");
	store_path_is("store:\n  path:\n", NULL, "2:8: path: missing value");
	store_path_is("", NULL, "1:1: empty configuration");
	store_path_is("- a\n", NULL, "1:1: expected a mapping at the top level");
	/* a typo on the way to the path is an error, not the default database */
	store_path_is("stor:\n  path: /a.db\n", NULL, "1:1: unknown key 'stor'");
	store_path_is("store:\n  paht: /a.db\n", NULL, "2:3: unknown key 'paht'");
	store_path_is("store: /a.db\n", NULL, "1:8: store: expected a mapping");
	store_path_is("store:\n  path: /a.db\n  path: /b.db\n", NULL,
		      "3:3: duplicate key 'path' (first defined at 2:3)");
	store_path_is("store: {path: /a.db\n", NULL, "2:1: YAML: ");
	/* unreadable file: PD_ERR_IO with the reason */
	got = path;
	ck_assert_int_eq(pd_config_store_path(CFG_DIR "does-not-exist.yaml", &got, &err),
			 PD_ERR_IO);
	ck_assert_ptr_null(got);
	ck_assert_str_eq(err.msg, CFG_DIR "does-not-exist.yaml: No such file or directory");
}
END_TEST

START_TEST(test_maintenance_ok)
{
	struct pd_config *cfg = load_ok("probes:\n"
					"  - name: login\n"
					"    url: https://api.example.com/login\n"
					"    family: auth\n"
					"maintenance:\n"
					"  - name: deploy\n"
					"    start: 2026-12-07T02:00:00Z\n"
					"    duration: 20m\n"
					"    probes: [login]\n"
					"    reason: planned deploy\n"
					"  - weekdays: [sun, Monday]\n"
					"    time: \"23:30\"\n"
					"    duration: 1h\n"
					"    families: [auth]\n"
					"    reason: upstream window\n"
					"  - weekdays: sat\n"
					"    time: \"00:00\"\n"
					"    duration: 7d\n"
					"    all: true\n"
					"    reason: freeze\n");

	ck_assert_uint_eq(cfg->nmaint, 3);
	ck_assert_str_eq(cfg->maint[0].name, "deploy");
	ck_assert_int_eq(cfg->maint[0].start_ms, 1796608800000LL);
	ck_assert_int_eq(cfg->maint[0].duration_ms, 20 * 60000);
	ck_assert_uint_eq(cfg->maint[0].nprobes, 1);
	ck_assert_str_eq(cfg->maint[0].probes[0], "login");
	ck_assert_ptr_null(cfg->maint[1].name);
	ck_assert_uint_eq(cfg->maint[1].weekdays, (1u << 6) | 1u);
	ck_assert_int_eq(cfg->maint[1].time_ms, (23 * 60 + 30) * 60000LL);
	ck_assert_str_eq(cfg->maint[1].families[0], "auth");
	ck_assert_str_eq(cfg->maint[1].reason, "upstream window");
	ck_assert_int_eq(cfg->maint[2].all, 1);
	ck_assert_uint_eq(cfg->maint[2].weekdays, 1u << 5);
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_maintenance_one_error)
{
	load_fails_with("probes:\n"
			"  - name: login\n"
			"    url: https://api.example.com/login\n"
			"maintenance:\n"
			"  - start: 2026-12-07T02:00:00Z\n"
			"    weekdays: mon\n"
			"    duration: 1m\n"
			"    all: true\n"
			"    reason: x\n",
			"6:5: maintenance: 'start' (one-off) and 'weekdays' (recurring) exclude "
			"each other");
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("real");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_real_probes_yaml);
	tcase_add_test(tc, test_real_probes_yaml_key_unset);
	tcase_add_test(tc, test_real_probes_schemas_validate);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_minimal_defaults);
	tcase_add_test(tc, test_schema_keywords_good);
	tcase_add_test(tc, test_overrides);
	tcase_add_test(tc, test_maintenance_ok);
	tcase_add_test(tc, test_maintenance_one_error);
	tcase_add_loop_test(tc, test_bad_fixture, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_inline_errors);
	tcase_add_test(tc, test_classify_words);
	tcase_add_test(tc, test_nearest);
	tcase_add_test(tc, test_inline_good);
	tcase_add_test(tc, test_alias_bombs);
	tcase_add_test(tc, test_big_inputs);
	tcase_add_test(tc, test_value_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_loop_test(tc, test_duration_good, 0,
			    sizeof(good_durations) / sizeof(good_durations[0]));
	tcase_add_loop_test(tc, test_duration_bad, 0,
			    sizeof(bad_durations) / sizeof(bad_durations[0]));
	tcase_add_test(tc, test_duration_format);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_tier_str_and_free);
	suite_add_tcase(s, tc);

	tc = tcase_create("secrets");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_interpolation_and_secrets);
	tcase_add_test(tc, test_interpolation_errors);
	tcase_add_test(tc, test_secret_never_in_errors);
	tcase_add_test(tc, test_store_path_only);
	tcase_add_test(tc, test_composer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(config_suite());
}
