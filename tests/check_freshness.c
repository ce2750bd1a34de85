/* check_freshness.c — freshness probes ({date} URLs, deadlines, late verdicts, config
 * errors) and response shape fingerprints (hash, path lists, diffs). Time is explicit. */
#include <stdio.h>
#include <check.h>
#include "testlib.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "probed/check.h"
#include "probed/config.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/store.h"
#include <unistd.h>

/* UTC wall clock of a civil time, through libc (independent of check.c's arithmetic) */
static int64_t
utc_ms(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm) * 1000;
}

static struct pd_config *
load(const char *yaml)
{
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	int rc = pd_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &err, NULL, NULL);

	ck_assert_msg(rc == 0, "config rejected: %s", err.msg);
	return cfg;
}

/* The first config error, or "" when accepted. */
static const char *
load_err(const char *yaml)
{
	static struct pd_err err;
	struct pd_config *cfg = NULL;

	memset(&err, 0, sizeof(err));
	if (pd_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &err, NULL, NULL) == 0) {
		pd_config_free(cfg);
		return "";
	}
	return err.msg;
}

static const char archive_yaml[] =
	"probes:\n"
	"  - name: stats-archive\n"
	"    kind: freshness\n"
	"    url: http://127.0.0.1:9/stats/archive/{date}.json?x={date}\n"
	"    freshness:\n"
	"      deadline: \"06:00\"\n";

static const char field_yaml[] = "probes:\n"
				 "  - name: stats-latest\n"
				 "    kind: freshness\n"
				 "    url: http://127.0.0.1:9/stats/latest.json\n"
				 "    freshness:\n"
				 "      max_age: 26h\n"
				 "      field: meta.generated_at\n";

static void
resp_init(struct pd_response *r, long status, const char *body)
{
	memset(r, 0, sizeof(*r));
	pd_buf_init(&r->body, 1 << 20);
	if (body)
		pd_buf_append(&r->body, body, strlen(body));
	r->http_status = status;
	r->namelookup_s = 0.001;
	r->connect_s = 0.002;
	r->appconnect_s = -1;
	r->starttransfer_s = 0.01;
	r->total_s = 0.02;
	r->retry_after_s = -1;
	r->ratelimit_remaining = -1;
}

static struct pd_result
run_at(const struct pd_probe_cfg *p, long status, const char *body, int64_t now,
       struct pd_shape *shape)
{
	struct pd_response resp;
	struct pd_result r;

	memset(&r, 0, sizeof(r));
	resp_init(&resp, status, body);
	pd_check_response_at(p, NULL, &resp, now, shape, &r);
	pd_buf_cleanup(&resp.body);
	return r;
}

START_TEST(test_url_date_after_deadline)
{
	struct pd_config *cfg = load(archive_yaml);
	struct pd_request req;

	ck_assert_int_eq(cfg->probes[0].kind, PD_KIND_FRESHNESS);
	ck_assert_int_eq(cfg->probes[0].fresh_deadline_ms, 6 * 3600 * 1000);
	pd_check_request_at(&cfg->probes[0], utc_ms(2026, 11, 22, 8, 5, 0), &req);
	ck_assert_str_eq(req.url, "http://127.0.0.1:9/stats/archive/2026-11-22.json?x=2026-11-22");
	/* exactly at the deadline: today's batch */
	pd_check_request_at(&cfg->probes[0], utc_ms(2026, 11, 22, 6, 0, 0), &req);
	ck_assert_str_eq(req.url, "http://127.0.0.1:9/stats/archive/2026-11-22.json?x=2026-11-22");
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_url_date_before_deadline)
{
	struct pd_config *cfg = load(archive_yaml);
	struct pd_request req;
	char date[11];
	int64_t due;

	/* 05:59:59 on March 1st 2024 (a leap year): yesterday is Feb 29 */
	pd_check_request_at(&cfg->probes[0], utc_ms(2024, 3, 1, 5, 59, 59), &req);
	ck_assert_str_eq(req.url, "http://127.0.0.1:9/stats/archive/2024-02-29.json?x=2024-02-29");
	pd_check_batch(&cfg->probes[0], utc_ms(2026, 1, 1, 0, 30, 0), date, &due);
	ck_assert_str_eq(date, "2025-12-31");
	ck_assert_int_eq(due, utc_ms(2025, 12, 31, 6, 0, 0));
	/* the url as configured is left alone (the buffer is the probe's own) */
	ck_assert_ptr_ne(req.url, cfg->probes[0].url);
	ck_assert_str_eq(cfg->probes[0].url,
			 "http://127.0.0.1:9/stats/archive/{date}.json?x={date}");
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_http_probe_url_untouched)
{
	struct pd_config *cfg = load("probes:\n  - name: a\n    url: http://127.0.0.1:9/x\n");
	struct pd_request req;

	ck_assert_int_eq(cfg->probes[0].kind, PD_KIND_HTTP);
	ck_assert_ptr_null(cfg->probes[0].fresh_url_buf);
	pd_check_request_at(&cfg->probes[0], utc_ms(2026, 11, 22, 8, 0, 0), &req);
	ck_assert_ptr_eq(req.url, cfg->probes[0].url);
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_late_by_404)
{
	struct pd_config *cfg = load(archive_yaml);
	struct pd_result r;

	r = run_at(&cfg->probes[0], 404, "not found", utc_ms(2026, 11, 22, 8, 5, 30), NULL);
	ck_assert_int_eq(r.outcome, PD_OUT_LATE);
	ck_assert_str_eq(pd_outcome_str(r.outcome), "late");
	ck_assert_msg(strstr(r.verdict, "stats/archive/2026-11-22.json not there 2h05m after "
					"the 06:00 UTC deadline") != NULL,
		      "%s", r.verdict);
	/* before today's deadline a missing batch is yesterday's, 23h late */
	r = run_at(&cfg->probes[0], 410, "", utc_ms(2026, 11, 22, 5, 0, 0), NULL);
	ck_assert_int_eq(r.outcome, PD_OUT_LATE);
	ck_assert_msg(strstr(r.verdict, "2026-11-21.json not there 23h after") != NULL, "%s",
		      r.verdict);
	/* other statuses keep their own class */
	r = run_at(&cfg->probes[0], 503, "", utc_ms(2026, 11, 22, 8, 0, 0), NULL);
	ck_assert_int_eq(r.outcome, PD_OUT_HTTP_5XX);
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_archive_ok)
{
	struct pd_config *cfg = load(archive_yaml);
	struct pd_result r;

	r = run_at(&cfg->probes[0], 200, "{\"n\":1}", utc_ms(2026, 11, 22, 8, 5, 30), NULL);
	ck_assert_int_eq(r.outcome, PD_OUT_OK);
	ck_assert_str_eq(r.verdict, "ok");
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_late_by_old_field)
{
	struct pd_config *cfg = load(field_yaml);
	int64_t now = utc_ms(2026, 11, 22, 8, 0, 0);
	struct pd_result r;

	ck_assert_int_eq(cfg->probes[0].fresh_max_age_ms, 26LL * 3600 * 1000);
	/* RFC 3339 with an offset: 2026-11-21T07:00:00+02:00 = 05:00Z, 27h before now */
	r = run_at(&cfg->probes[0], 200,
		   "{\"meta\":{\"generated_at\":\"2026-11-21T07:00:00+02:00\"}}", now, NULL);
	ck_assert_int_eq(r.outcome, PD_OUT_LATE);
	ck_assert_str_eq(r.verdict, "meta.generated_at is 27h old > max_age 26h");
	/* epoch seconds */
	r = run_at(&cfg->probes[0], 200, "{\"meta\":{\"generated_at\":1700000000}}", now, NULL);
	ck_assert_int_eq(r.outcome, PD_OUT_LATE);
	pd_config_free(cfg);
}
END_TEST

START_TEST(test_field_ok_and_bad)
{
	struct pd_config *cfg = load(field_yaml);
	int64_t now = utc_ms(2026, 11, 22, 8, 0, 0);
	char body[128];
	struct pd_result r;

	r = run_at(&cfg->probes[0], 200,
		   "{\"meta\":{\"generated_at\":\"2026-11-21T06:00:00.250Z\"}}", now, NULL);
	ck_assert_msg(r.outcome == PD_OUT_OK, "%s", r.verdict);
	snprintf(body, sizeof(body), "{\"meta\":{\"generated_at\":%lld}}",
		 (long long)(now / 1000 - 3600));
	r = run_at(&cfg->probes[0], 200, body, now, NULL);
	ck_assert_msg(r.outcome == PD_OUT_OK, "%s", r.verdict);
	/* 26h and one second */
	snprintf(body, sizeof(body), "{\"meta\":{\"generated_at\":%lld}}",
		 (long long)(now / 1000 - 26 * 3600 - 1));
	r = run_at(&cfg->probes[0], 200, body, now, NULL);
	ck_assert_int_eq(r.outcome, PD_OUT_LATE);
	r = run_at(&cfg->probes[0], 200, "{\"meta\":{}}", now, NULL);
	ck_assert_int_eq(r.outcome, PD_OUT_SHAPE);
	ck_assert_str_eq(r.verdict, "freshness field meta.generated_at missing");
	r = run_at(&cfg->probes[0], 200, "{\"meta\":{\"generated_at\":\"yesterday\"}}", now, NULL);
	ck_assert_int_eq(r.outcome, PD_OUT_SHAPE);
	r = run_at(&cfg->probes[0], 200, "{\"meta\":{\"generated_at\":\"2026-11-21T25:00:00Z\"}}",
		   now, NULL);
	ck_assert_int_eq(r.outcome, PD_OUT_SHAPE);
	r = run_at(&cfg->probes[0], 200, "not json", now, NULL);
	ck_assert_int_eq(r.outcome, PD_OUT_INVALID_JSON);
	pd_config_free(cfg);
}
END_TEST

/* Found by fuzz_timeparse: the day was only checked against 31, so "9999-11-31" read as
 * December 1 and "2026-02-30" as March 2. */
START_TEST(test_rfc3339_calendar)
{
	static const char *const bad[] = {
		"2026-11-31T00:00:00Z", "2026-02-29T00:00:00Z",     "2026-02-30T12:00:00Z",
		"1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",     "2026-06-31T00:00:00Z",
		"2026-09-31T00:00:00Z", "9999-11-31T23:59:59.666z", "2026-00-10T00:00:00Z",
		"2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z",
	};
	int64_t ms;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pd_check_rfc3339_parse(bad[i], &ms) != 0, "accepted %s", bad[i]);
	ck_assert_int_eq(pd_check_rfc3339_parse("2024-02-29T00:00:00Z", &ms), 0);
	ck_assert_int_eq(ms, utc_ms(2024, 2, 29, 0, 0, 0));
	ck_assert_int_eq(pd_check_rfc3339_parse("2000-02-29T00:00:00Z", &ms), 0);
	ck_assert_int_eq(pd_check_rfc3339_parse("2026-12-31T23:59:59Z", &ms), 0);
	ck_assert_int_eq(pd_check_rfc3339_parse("2026-11-30t01:00:00+01:00", &ms), 0);
	ck_assert_int_eq(ms, utc_ms(2026, 11, 30, 0, 0, 0));
}
END_TEST

START_TEST(test_config_errors)
{
	const char *e;

	e = load_err("probes:\n  - name: a\n    kind: freshness\n    url: http://h/{date}\n"
		     "    freshness:\n      deadline: \"25:00\"\n");
	ck_assert_msg(strstr(e, "t.yaml:6:17: deadline: invalid time of day '25:00'") != NULL, "%s",
		      e);
	e = load_err("probes:\n  - name: a\n    url: http://h/x\n    freshness:\n"
		     "      deadline: \"06:00\"\n");
	ck_assert_msg(strstr(e, "t.yaml:4:5: freshness: only for probes with kind: freshness") !=
			      NULL,
		      "%s", e);
	e = load_err("probes:\n  - name: a\n    url: http://h/{date}.json\n");
	ck_assert_msg(strstr(e, "t.yaml:3:10: url: {date} is only expanded") != NULL, "%s", e);
	e = load_err("probes:\n  - name: a\n    kind: cron\n    url: http://h/x\n");
	ck_assert_msg(strstr(e, "t.yaml:3:11: kind: must be http or freshness") != NULL, "%s", e);
	e = load_err("probes:\n  - name: a\n    kind: freshness\n    url: http://h/x\n");
	ck_assert_msg(strstr(e, "t.yaml:3:11: kind freshness: nothing to check") != NULL, "%s", e);
	e = load_err("probes:\n  - name: a\n    kind: freshness\n    url: http://h/x\n"
		     "    freshness:\n      field: generated_at\n");
	ck_assert_msg(strstr(e, "t.yaml:6:7: freshness: field needs max_age") != NULL, "%s", e);
	e = load_err("probes:\n  - name: a\n    kind: freshness\n    url: http://h/{date}\n"
		     "    freshness:\n      max_age: 2x\n      field: g\n");
	ck_assert_msg(strstr(e, "t.yaml:6:16: max_age: invalid duration") != NULL, "%s", e);
	e = load_err("probes:\n  - name: a\n    kind: freshness\n    url: http://h/{date}\n"
		     "    freshness:\n      deadline: \"6:00\"\n");
	ck_assert_msg(strstr(e, "deadline: invalid time of day") != NULL, "%s", e);
	e = load_err("probes:\n  - name: a\n    kind: freshness\n    url: http://h/{date}\n"
		     "    freshness:\n      deadline: \"23:59\"\n      color: red\n");
	ck_assert_msg(strstr(e, "t.yaml:7:7: unknown key 'color'") != NULL, "%s", e);
	ck_assert_str_eq(load_err("probes:\n  - name: a\n    kind: freshness\n"
				  "    url: http://h/{date}\n"),
			 "");
}
END_TEST

/* ---- shape fingerprints ---- */

static uint64_t
hash_of(const char *json, char **paths)
{
	cJSON *doc = cJSON_Parse(json);
	uint64_t h;

	ck_assert_ptr_nonnull(doc);
	h = pd_check_shape_of(doc, paths);
	cJSON_Delete(doc);
	return h;
}

START_TEST(test_shape_same_hash)
{
	uint64_t a =
		hash_of("{\"user\":{\"id\":\"1\",\"name\":\"x\"},\"items\":[{\"n\":1},{\"n\":2}],"
			"\"ok\":true,\"z\":null}",
			NULL);
	uint64_t b = hash_of("{\"z\":null,\"ok\":false,\"items\":[{\"n\":99}],"
			     "\"user\":{\"name\":\"another\",\"id\":\"42\"}}",
			     NULL);
	uint64_t c = hash_of("{\"z\":null,\"ok\":false,\"items\":[],"
			     "\"user\":{\"name\":\"another\",\"id\":\"42\"}}",
			     NULL);
	uint64_t d = hash_of("{\"z\":null,\"ok\":false,\"items\":[{\"n\":99}],"
			     "\"user\":{\"name\":\"another\",\"id\":42}}",
			     NULL);

	ck_assert_uint_ne(a, 0);
	ck_assert_uint_eq(a, b); /* values and key order do not matter */
	ck_assert_uint_ne(a, c); /* an empty array loses $.items[] paths */
	ck_assert_uint_ne(a, d); /* retyped */
	ck_assert_uint_ne(hash_of("{\"a\":{\"b\":1}}", NULL), hash_of("{\"b\":{\"a\":1}}", NULL));
	ck_assert_uint_ne(hash_of("[1]", NULL), hash_of("[\"1\"]", NULL));
}
END_TEST

START_TEST(test_shape_paths)
{
	char *p = NULL;
	uint64_t h = hash_of("{\"user\":{\"id\":\"1\"},\"items\":[{\"n\":1},{\"n\":\"2\"}]}", &p);

	ck_assert_ptr_nonnull(p);
	/* sorted by strcmp ('.' sorts before ':') */
	ck_assert_str_eq(p, "$.items:array\n"
			    "$.items[].n:number\n"
			    "$.items[].n:string\n"
			    "$.items[]:object\n"
			    "$.user.id:string\n"
			    "$.user:object\n"
			    "$:object\n");
	ck_assert_uint_eq(
		h, hash_of("{\"items\":[{\"n\":\"x\"},{\"n\":5}],\"user\":{\"id\":\"\"}}", NULL));
	free(p);
}
END_TEST

START_TEST(test_shape_diff)
{
	char *a = NULL, *b = NULL, out[512];
	size_t n;

	hash_of("{\"id\":\"1\",\"y\":2,\"z\":\"s\",\"keep\":[1]}", &a);
	hash_of("{\"id\":\"1\",\"x\":\"new\",\"z\":3,\"keep\":[5]}", &b);
	n = pd_check_shape_diff(a, b, out, sizeof(out));
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(out, "added $.x:string; removed $.y:number; retyped $.z string->number");
	n = pd_check_shape_diff(a, a, out, sizeof(out));
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(out, "");
	/* from nothing known: every path is added */
	n = pd_check_shape_diff(NULL, b, out, sizeof(out));
	ck_assert_uint_eq(n, 6);
	/* truncation stays inside the buffer */
	n = pd_check_shape_diff(a, b, out, 20);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_le(strlen(out), 19);
	free(a);
	free(b);
}
END_TEST

/* an object used as a map (keyed by ids, dates, names) fingerprints as "map of
 * <shape>": new keys are no drift; a field vanishing from the records still is */
enum { K_ID, K_USER, K_NAME, K_UUID };

static char *
map_doc(int kind, int first, int n, int with_age, int drop_one)
{
	size_t cap = 64 + (size_t)n * 96, o;
	char *s = malloc(cap), key[48];

	ck_assert_ptr_nonnull(s);
	o = (size_t)snprintf(s, cap, "{\"ok\":true,\"users\":{");
	for (int i = 0; i < n; i++) {
		switch (kind) {
		case K_ID:
			snprintf(key, sizeof(key), "%d", first + i);
			break;
		case K_USER:
			snprintf(key, sizeof(key), "user%d", first + i);
			break;
		case K_NAME:
			snprintf(key, sizeof(key), "someone-%d", first + i);
			break;
		default:
			snprintf(key, sizeof(key), "%08x-0000-4000-8000-000000000000", first + i);
		}
		o += (size_t)snprintf(s + o, cap - o, "%s\"%s\":{\"name\":\"u%d\"%s}", i ? "," : "",
				      key, i,
				      with_age && !(drop_one && i == n / 2) ? ",\"age\":3" : "");
	}
	snprintf(s + o, cap - o, "}}");
	return s;
}

static uint64_t
map_hash(int kind, int first, int n, int with_age, int drop_one, char **paths)
{
	char *d = map_doc(kind, first, n, with_age, drop_one);
	uint64_t h = hash_of(d, paths);

	free(d);
	return h;
}

START_TEST(test_shape_maps)
{
	char *a = NULL, *b = NULL, out[512];
	uint64_t h;

	/* rule 1, numeric ids: other ids, more of them -> the same fingerprint */
	h = map_hash(K_ID, 1000, 10, 1, 0, &a);
	ck_assert_str_eq(a, "$.ok:boolean\n$.users:object\n$.users{}.age:number\n"
			    "$.users{}.name:string\n$.users{}:object\n$:object\n");
	ck_assert_uint_eq(h, map_hash(K_ID, 5000, 30, 1, 0, NULL));
	/* ... but the records losing a field is drift, and the diff says which */
	ck_assert_uint_ne(h, map_hash(K_ID, 5000, 30, 0, 0, &b));
	ck_assert_uint_eq(pd_check_shape_diff(a, b, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "removed $.users{}.age:number");
	free(b);
	b = NULL;
	/* rule 2, names as keys: records of one shape -> a map; new names, no drift */
	h = map_hash(K_USER, 1, 8, 1, 0, NULL);
	ck_assert_uint_eq(h, map_hash(K_NAME, 40, 12, 1, 0, NULL));
	ck_assert_uint_eq(h, map_hash(K_ID, 7, 9, 1, 0, NULL)); /* rule 1 or 2: same map */
	/* a field gone from one record: not one shape any more -> drift, keys listed */
	ck_assert_uint_ne(h, map_hash(K_USER, 1, 8, 1, 1, &b));
	ck_assert_ptr_nonnull(strstr(b, "$.users.user1.age:number\n"));
	ck_assert_ptr_null(strstr(b, "$.users.user5.age"));
	free(b);
	b = NULL;
	/* below the threshold an object stays a record: 7 ids are 7 paths */
	ck_assert_uint_ne(map_hash(K_ID, 1000, 7, 1, 0, NULL), map_hash(K_ID, 2000, 7, 1, 0, NULL));
	/* a record of 8+ fields of one scalar type is no map: a field vanishing is drift */
	ck_assert_uint_ne(hash_of("{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\","
				  "\"f\":\"6\",\"g\":\"7\",\"h\":\"8\",\"i\":\"9\"}",
				  NULL),
			  hash_of("{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\","
				  "\"f\":\"6\",\"g\":\"7\",\"h\":\"8\"}",
				  NULL));
	/* rule 1 with scalar values: counts per date, per UUID */
	ck_assert_uint_eq(hash_of("{\"2026-12-01\":1,\"2026-12-02\":2,\"2026-12-03\":3,"
				  "\"2026-12-04\":4,\"2026-12-05\":5,\"2026-12-06\":6,"
				  "\"2026-12-07\":7,\"2026-12-08\":8}",
				  NULL),
			  hash_of("{\"2026-12-02\":1,\"2026-12-03\":2,\"2026-12-04\":3,"
				  "\"2026-12-05\":4,\"2026-12-06\":5,\"2026-12-07\":6,"
				  "\"2026-12-08\":7,\"2026-12-09\":8,\"2026-12-10T00:00Z\":0}",
				  NULL));
	h = map_hash(K_UUID, 0x1000, 8, 0, 0, NULL);
	ck_assert_uint_eq(h, map_hash(K_UUID, 0xabc00, 20, 0, 0, NULL));
	/* a map value retyped is drift */
	ck_assert_uint_ne(hash_of("{\"1\":1,\"2\":2,\"3\":3,\"4\":4,\"5\":5,\"6\":6,\"7\":7,"
				  "\"8\":8}",
				  NULL),
			  hash_of("{\"1\":1,\"2\":2,\"3\":3,\"4\":4,\"5\":5,\"6\":6,\"7\":7,"
				  "\"8\":\"8\"}",
				  NULL));
	/* a key spelling "{}" is quoted, never confused with a map */
	free(a);
	hash_of("{\"a{}\":1}", &a);
	ck_assert_str_eq(a, "$:object\n$[\"a{}\"]:number\n");
	free(a);
}
END_TEST

/* Found by fuzz_shape: a key holding '\n' split its line of the path list, so the diff
 * of {"id\n":..} and {"d\n":..} was empty although the structure differed; keys with
 * '.', '[' or ']' made two structures share one path list and hash. Such keys are now
 * written ["key"], JSON-escaped; plain keys hash as before. */
START_TEST(test_shape_odd_keys)
{
	char *a = NULL, *b = NULL, out[512];

	hash_of("{\"id\\n\":\"605\"}", &a);
	hash_of("{\"d\\n\":\"605\"}", &b);
	ck_assert_str_eq(a, "$:object\n$[\"id\\u000a\"]:string\n");
	ck_assert_uint_eq(pd_check_shape_diff(a, b, out, sizeof(out)), 2);
	ck_assert_str_eq(out, "added $[\"d\\u000a\"]:string; removed $[\"id\\u000a\"]:string");
	free(a);
	free(b);
	ck_assert_uint_ne(hash_of("{\"a.b\":1,\"a\":{}}", NULL),
			  hash_of("{\"a\":{\"b\":1}}", NULL));
	ck_assert_uint_ne(hash_of("{\"x[]\":1,\"x\":[]}", NULL), hash_of("{\"x\":[1]}", NULL));
	hash_of("{\"a.b\":{\"q\\\"\\\\\":[true]},\"c:d\":0,\"\":null}", &a);
	ck_assert_str_eq(a,
			 "$.:null\n$.c:d:number\n$:object\n$[\"a.b\"]:object\n"
			 "$[\"a.b\"][\"q\\\"\\\\\"]:array\n$[\"a.b\"][\"q\\\"\\\\\"][]:boolean\n");
	free(a);
	/* plain keys keep their hash (stored fingerprints stay valid across the upgrade):
	 * the value computed by the code before this change */
	ck_assert_uint_eq(hash_of("{\"user\":{\"id\":\"1\"},\"items\":[{\"n\":1}],"
				  "\"c d\":{\"e:f\":[]},\"\":1}",
				  NULL),
			  0x05889377284510c9ULL);
}
END_TEST

START_TEST(test_check_fingerprint_only_when_passed)
{
	struct pd_probe_cfg p;
	struct pd_status_range st = {200, 299};
	struct pd_shape sh = {0};
	struct pd_result r;
	uint64_t first;

	memset(&p, 0, sizeof(p));
	p.name = "post-detail";
	p.status = &st;
	p.nstatus = 1;
	/* no schema: the body is parsed for the fingerprint only */
	r = run_at(&p, 200, "{\"id\":\"1\",\"stats\":{\"likes\":3}}", 0, &sh);
	ck_assert_int_eq(r.outcome, PD_OUT_OK);
	ck_assert_int_eq(sh.has, 1);
	ck_assert_ptr_nonnull(sh.paths); /* known_hash 0: a change */
	first = sh.hash;
	/* same shape, known: hash only, no path list */
	sh.known_hash = first;
	r = run_at(&p, 200, "{\"stats\":{\"likes\":300},\"id\":\"2\"}", 0, &sh);
	ck_assert_int_eq(sh.has, 1);
	ck_assert_uint_eq(sh.hash, first);
	ck_assert_ptr_null(sh.paths);
	/* changed: list built */
	r = run_at(&p, 200, "{\"id\":\"2\",\"stats\":{\"likes\":\"3\"}}", 0, &sh);
	ck_assert_uint_ne(sh.hash, first);
	ck_assert_ptr_nonnull(sh.paths);
	ck_assert_ptr_nonnull(strstr(sh.paths, "$.stats.likes:string\n"));
	/* failed (5xx) or not JSON: nothing, and no failure for non-JSON without a schema */
	r = run_at(&p, 502, "{\"id\":1}", 0, &sh);
	ck_assert_int_eq(r.outcome, PD_OUT_HTTP_5XX);
	ck_assert_int_eq(sh.has, 0);
	ck_assert_ptr_null(sh.paths);
	r = run_at(&p, 200, "<html>ok</html>", 0, &sh);
	ck_assert_int_eq(r.outcome, PD_OUT_OK);
	ck_assert_int_eq(sh.has, 0);
	r = run_at(&p, 200, "{\"id\":", 0, &sh);
	ck_assert_int_eq(r.outcome, PD_OUT_OK);
	ck_assert_int_eq(sh.has, 0);
	pd_check_shape_cleanup(&sh);
}
END_TEST

START_TEST(test_shape_big_array)
{
	/* 20000 elements with 3000 distinct keys: the set grows past its stack table */
	size_t cap = 1 << 20, o = 0;
	char *json = malloc(cap), *paths = NULL;
	uint64_t h1, h2;

	ck_assert_ptr_nonnull(json);
	o += (size_t)snprintf(json + o, cap - o, "[");
	for (int i = 0; i < 20000; i++)
		o += (size_t)snprintf(json + o, cap - o, "%s{\"k%d\":%d}", i ? "," : "", i % 3000,
				      i);
	snprintf(json + o, cap - o, "]");
	h1 = hash_of(json, &paths);
	ck_assert_ptr_nonnull(paths);
	ck_assert_ptr_nonnull(strstr(paths, "$[].k2999:number\n"));
	h2 = hash_of(json, NULL);
	ck_assert_uint_eq(h1, h2);
	free(paths);
	free(json);
}
END_TEST

struct shape_seen {
	int n;
	uint64_t hash[4];
	int64_t first[4], last[4];
	char paths[4][64];
};

static int
shape_row(void *ud, const struct pd_shape_row *r)
{
	struct shape_seen *s = ud;

	if (s->n < 4) {
		s->hash[s->n] = r->hash;
		s->first[s->n] = r->first_seen_ms;
		s->last[s->n] = r->last_seen_ms;
		snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", r->paths ? r->paths : "(null)");
	}
	s->n++;
	return 0;
}

START_TEST(test_store_shapes)
{
	struct pd_test_store sto;
	struct pd_store *st = pd_test_store_open(&sto, "shapes");
	struct pd_err err = {0};
	struct shape_seen seen;
	uint64_t big = 0xfedcba9876543210ULL; /* above INT64_MAX: stored as a signed integer */

	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(pd_store_shapes(st, "post-detail", 0, shape_row, &seen, &err),
			 PD_ERR_NOTFOUND);
	ck_assert_int_eq(pd_store_shape_seen(st, "post-detail", big, "$:object\n", 1000, &err), 0);
	ck_assert_int_eq(pd_store_shape_seen(st, "post-detail", 7, "$:array\n", 2000, &err), 0);
	/* touch the first: last_seen moves, the path list stays */
	ck_assert_int_eq(pd_store_shape_seen(st, "post-detail", big, NULL, 3000, &err), 0);
	ck_assert_int_eq(pd_store_flush(st, &err), 0);
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(pd_store_shapes(st, "post-detail", 0, shape_row, &seen, &err), 0);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_uint_eq(seen.hash[0], big); /* most recently seen first */
	ck_assert_int_eq(seen.first[0], 1000);
	ck_assert_int_eq(seen.last[0], 3000);
	ck_assert_str_eq(seen.paths[0], "$:object\n");
	ck_assert_uint_eq(seen.hash[1], 7);
	/* the window: only rows seen since */
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(pd_store_shapes(st, "post-detail", 2500, shape_row, &seen, &err), 0);
	ck_assert_int_eq(seen.n, 1);
	/* survives a reopen */
	st = pd_test_store_reopen(&sto, 1);
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(pd_store_shapes(st, "post-detail", 0, shape_row, &seen, &err), 0);
	ck_assert_int_eq(seen.n, 2);
	pd_test_store_close(&sto);
}
END_TEST

static Suite *
freshness_suite(void)
{
	Suite *s = suite_create("freshness");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_url_date_after_deadline);
	tcase_add_test(tc, test_url_date_before_deadline);
	tcase_add_test(tc, test_http_probe_url_untouched);
	tcase_add_test(tc, test_late_by_404);
	tcase_add_test(tc, test_archive_ok);
	tcase_add_test(tc, test_late_by_old_field);
	tcase_add_test(tc, test_field_ok_and_bad);
	tcase_add_test(tc, test_rfc3339_calendar);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_shape_same_hash);
	tcase_add_test(tc, test_shape_paths);
	tcase_add_test(tc, test_shape_diff);
	tcase_add_test(tc, test_shape_odd_keys);
	tcase_add_test(tc, test_shape_maps);
	tcase_add_test(tc, test_check_fingerprint_only_when_passed);
	tcase_add_test(tc, test_shape_big_array);
	tcase_add_test(tc, test_store_shapes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(freshness_suite());
}
