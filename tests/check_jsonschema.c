/* check_jsonschema.c — JSON Schema draft 7: the official test suite, the product's
 * response shapes and their operator messages, and hostile schemas/documents. */
#include <check.h>
#include "testlib.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "probed/err.h"
#include "probed/jsonschema.h"

#ifndef PD_SCHEMA_SUITE
#define PD_SCHEMA_SUITE "/usr/share/json-schema-test-suite/tests/draft7"
#endif

/* Files of the suite directory not run, with the reason. Everything else is run. */
static const struct {
	const char *file, *reason;
} suite_excluded_files[] = {
	{"refRemote.json", "remote $ref (http://localhost:1234/...) needs a network fetch"},
};

/* Individual cases known to be unsupported: file, group description, case description,
 * reason. Empty: every case of every file run must pass. */
static const struct {
	const char *file, *group, *test, *reason;
} suite_skips[] = {
	{NULL, NULL, NULL, NULL}, /* sentinel */
};

static size_t
suite_skip_count(void)
{
	size_t n = 0;

	while (suite_skips[n].file != NULL)
		n++;
	return n;
}

static int
suite_is_skipped(const char *file, const char *group, const char *test)
{
	for (size_t i = 0; suite_skips[i].file != NULL; i++)
		if (strcmp(suite_skips[i].file, file) == 0 &&
		    strcmp(suite_skips[i].group, group) == 0 &&
		    strcmp(suite_skips[i].test, test) == 0)
			return 1;
	return 0;
}

static cJSON *
parse_file(const char *path)
{
	char *text = pd_test_slurp(path, NULL);
	cJSON *j = text != NULL ? cJSON_Parse(text) : NULL;

	free(text);
	return j;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
excluded_file(const char *name)
{
	for (size_t i = 0; i < sizeof(suite_excluded_files) / sizeof(suite_excluded_files[0]); i++)
		if (strcmp(name, suite_excluded_files[i].file) == 0)
			return 1;
	return 0;
}

/* pd_jsonschema_lint over the suite: the only keys it reports are the suite's deliberate
 * $ref targets in non-keyword places (ref.json, "refs with quote"). */
static const char *const suite_unknown[] = {
	"ref.json#/tilda~0field",
	"ref.json#/slash~1field",
	"ref.json#/percent%field",
};

struct suite_lint {
	const char *file;
	size_t n, unexpected;
};

static void
suite_lint_cb(void *ud, const cJSON *key, const char *pointer, const char *msg)
{
	struct suite_lint *sl = ud;
	char where[512];
	size_t i;

	(void)key;
	snprintf(where, sizeof(where), "%s#%s", sl->file, pointer);
	for (i = 0; i < sizeof(suite_unknown) / sizeof(suite_unknown[0]); i++)
		if (strcmp(where, suite_unknown[i]) == 0)
			break;
	if (i == sizeof(suite_unknown) / sizeof(suite_unknown[0])) {
		fprintf(stderr, "LINT %s: %s\n", where, msg);
		sl->unexpected++;
	}
	sl->n++;
}

START_TEST(test_official_suite)
{
	struct suite_lint sl = {NULL, 0, 0};
	DIR *dir;
	struct dirent *de;
	char *names[256] = {NULL}, path[1024];
	size_t nnames = 0, i, passed = 0, failed = 0, skipped = 0, excluded = 0;
	int saw_ref = 0, saw_type = 0;

	dir = opendir(PD_SCHEMA_SUITE);
	ck_assert_msg(dir != NULL, "cannot open %s", PD_SCHEMA_SUITE);
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);

		/* regular *.json files only: the optional/ directory is out of scope */
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (excluded_file(de->d_name)) {
			excluded++;
			continue;
		}
		ck_assert_uint_lt(nnames, sizeof(names) / sizeof(names[0]));
		names[nnames++] = strdup(de->d_name);
	}
	closedir(dir);
	qsort(names, nnames, sizeof(names[0]), cmp_str);

	for (i = 0; i < nnames; i++) {
		cJSON *groups, *g, *t;

		saw_ref |= strcmp(names[i], "ref.json") == 0;
		saw_type |= strcmp(names[i], "type.json") == 0;
		snprintf(path, sizeof(path), "%s/%s", PD_SCHEMA_SUITE, names[i]);
		groups = parse_file(path);
		ck_assert_msg(cJSON_IsArray(groups), "%s: not a JSON array", path);
		cJSON_ArrayForEach(g, groups)
		{
			const char *gdesc = cJSON_GetObjectItem(g, "description")->valuestring;
			struct pd_err err = {0, ""};
			struct pd_schema *s;

			s = pd_jsonschema_new(cJSON_GetObjectItem(g, "schema"), &err);
			sl.file = names[i];
			pd_jsonschema_lint(cJSON_GetObjectItem(g, "schema"), suite_lint_cb, &sl);
			cJSON_ArrayForEach(t, cJSON_GetObjectItem(g, "tests"))
			{
				const char *tdesc =
					cJSON_GetObjectItem(t, "description")->valuestring;
				const cJSON *data = cJSON_GetObjectItem(t, "data");
				int want = cJSON_IsTrue(cJSON_GetObjectItem(t, "valid"));
				struct pd_schema_error errs[8];
				size_t nerr = 99;
				int got, fast;

				if (suite_is_skipped(names[i], gdesc, tdesc)) {
					skipped++;
					continue;
				}
				if (s == NULL) {
					fprintf(stderr, "FAIL %s | %s | %s: schema rejected: %s\n",
						names[i], gdesc, tdesc, err.msg);
					failed++;
					continue;
				}
				got = pd_jsonschema_validate(s, data, errs, 8, &nerr);
				/* the fail-fast path (no error buffer) must agree */
				fast = pd_jsonschema_validate(s, data, NULL, 0, NULL);
				if (got == want && fast == got && (got ? nerr == 0 : nerr >= 1)) {
					passed++;
				} else {
					fprintf(stderr,
						"FAIL %s | %s | %s: want %s, got %s (fast %s, "
						"%zu errors%s%s)\n",
						names[i], gdesc, tdesc, want ? "valid" : "invalid",
						got ? "valid" : "invalid",
						fast ? "valid" : "invalid", nerr,
						nerr ? ", first: " : "", nerr ? errs[0].msg : "");
					failed++;
				}
			}
			pd_jsonschema_free(s);
		}
		cJSON_Delete(groups);
		free(names[i]);
	}
	fprintf(stderr,
		"json-schema-test-suite draft7: %zu files (%zu excluded), %zu passed, %zu failed, "
		"%zu skipped\n",
		nnames, excluded, passed, failed, skipped);
	ck_assert_msg(saw_ref && saw_type, "suite directory incomplete");
	ck_assert_uint_eq(excluded, sizeof(suite_excluded_files) / sizeof(suite_excluded_files[0]));
	ck_assert_uint_eq(skipped, suite_skip_count());
	ck_assert_uint_gt(passed, 300);
	ck_assert_uint_eq(failed, 0);
	ck_assert_uint_eq(sl.unexpected, 0);
	ck_assert_uint_eq(sl.n, sizeof(suite_unknown) / sizeof(suite_unknown[0]));
}
END_TEST

/* ------------------------------------------------------------------ */

static struct pd_schema *
schema_from(const char *text)
{
	struct pd_err err = {0, ""};
	cJSON *j = cJSON_Parse(text);
	struct pd_schema *s;

	ck_assert_msg(j != NULL, "bad test schema: %s", text);
	s = pd_jsonschema_new(j, &err);
	ck_assert_msg(s != NULL, "schema rejected: %s", err.msg);
	cJSON_Delete(j);
	return s;
}

/* Validate text; returns validity, fills errs/nerr. */
static int
check_doc(const struct pd_schema *s, const char *text, struct pd_schema_error *errs, size_t max,
	  size_t *nerr)
{
	cJSON *d = cJSON_Parse(text);
	int r;

	ck_assert_msg(d != NULL, "bad test document: %s", text);
	r = pd_jsonschema_validate(s, d, errs, max, nerr);
	ck_assert_int_eq(pd_jsonschema_validate(s, d, NULL, 0, NULL), r);
	cJSON_Delete(d);
	return r;
}

/* Expect exactly one error with this message (and keyword). */
static void
expect_one(const struct pd_schema *s, const char *doc, const char *keyword, const char *msg)
{
	struct pd_schema_error errs[8];
	size_t n = 0;

	ck_assert_int_eq(check_doc(s, doc, errs, 8, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(errs[0].keyword, keyword);
	ck_assert_str_eq(errs[0].msg, msg);
}

static int
is_valid(const struct pd_schema *s, const char *doc)
{
	size_t n = 99;
	struct pd_schema_error errs[4];
	int r = check_doc(s, doc, errs, 4, &n);

	if (r)
		ck_assert_uint_eq(n, 0);
	else
		ck_assert_uint_ge(n, 1);
	return r;
}

static const char userid_schema[] =
	"{\"type\":\"object\",\"required\":[\"id\"],"
	"\"properties\":{\"id\":{\"type\":\"string\",\"minLength\":1}}}";

START_TEST(test_userid_shape)
{
	struct pd_schema *s = schema_from(userid_schema);
	struct pd_schema_error errs[4];
	size_t n = 99;

	ck_assert_int_eq(check_doc(s, "{\"id\":\"123\"}", errs, 4, &n), 1);
	ck_assert_uint_eq(n, 0);
	/* the seed's outage signature: 200 with an empty id */
	expect_one(s, "{\"id\":\"\"}", "minLength", "$.id: minLength 1, got \"\"");
	ck_assert_int_eq(check_doc(s, "{\"id\":\"\"}", errs, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(errs[0].path, "$.id");
	expect_one(s, "{}", "required", "$: required \"id\" missing");
	expect_one(s, "{\"id\":5}", "type", "$.id: type string, got number 5");
	expect_one(s, "[{\"id\":\"1\"}]", "type", "$: type object, got array");
	expect_one(s, "null", "type", "$: type object, got null");
	ck_assert_int_eq(is_valid(s, "{\"id\":\"x\",\"extra\":[1,2]}"), 1);
	pd_jsonschema_free(s);
}
END_TEST

/* Probes with one schema share one compiled copy: each owner drops its own reference and
 * the schema lives until the last one (a use after the first free would be caught by the
 * sanitizer build). */
START_TEST(test_shared_reference)
{
	struct pd_schema *s = schema_from(userid_schema);
	struct pd_schema *t = pd_jsonschema_ref(s);

	ck_assert_ptr_eq(t, s);
	ck_assert_ptr_null(pd_jsonschema_ref(NULL));
	pd_jsonschema_free(s);
	expect_one(t, "{\"id\":\"\"}", "minLength", "$.id: minLength 1, got \"\"");
	ck_assert_int_eq(is_valid(t, "{\"id\":\"x\"}"), 1);
	pd_jsonschema_free(t);
}
END_TEST

static const char userinfo_schema[] =
	"{\"type\":\"object\",\"required\":[\"user\",\"stats\"],\"properties\":{"
	"\"user\":{\"type\":\"object\",\"required\":[\"id\",\"uniqueId\"],\"properties\":{"
	"  \"id\":{\"type\":\"string\",\"minLength\":1},\"uniqueId\":{\"type\":\"string\"},"
	"  \"nickname\":{\"type\":\"string\"}}},"
	"\"stats\":{\"type\":\"object\",\"required\":[\"followerCount\"],\"properties\":{"
	"  \"followerCount\":{\"type\":\"integer\",\"minimum\":0},"
	"  \"heartCount\":{\"type\":\"integer\",\"minimum\":0}}}}}";

START_TEST(test_userinfo_shape)
{
	struct pd_schema *s = schema_from(userinfo_schema);
	struct pd_schema_error errs[8];
	size_t n = 0;

	ck_assert_int_eq(is_valid(s, "{\"user\":{\"id\":\"1\",\"uniqueId\":\"tiktok\"},"
				     "\"stats\":{\"followerCount\":10,\"heartCount\":2.0}}"),
			 1);
	expect_one(s,
		   "{\"user\":{\"id\":\"1\",\"uniqueId\":\"tiktok\"},"
		   "\"stats\":{\"followerCount\":\"12\"}}",
		   "type", "$.stats.followerCount: type integer, got string \"12\"");
	expect_one(s,
		   "{\"user\":{\"id\":\"1\",\"uniqueId\":\"t\"},"
		   "\"stats\":{\"followerCount\":1.5}}",
		   "type", "$.stats.followerCount: type integer, got number 1.5");
	expect_one(s, "{\"user\":{\"id\":\"1\"},\"stats\":{\"followerCount\":1}}", "required",
		   "$.user: required \"uniqueId\" missing");
	expect_one(s, "{\"user\":{\"id\":\"1\",\"uniqueId\":\"t\"}}", "required",
		   "$: required \"stats\" missing");
	expect_one(s,
		   "{\"user\":{\"id\":\"1\",\"uniqueId\":\"t\"},"
		   "\"stats\":{\"followerCount\":-3}}",
		   "minimum", "$.stats.followerCount: minimum 0, got -3");

	/* several independent errors are all collected, up to max */
	ck_assert_int_eq(check_doc(s,
				   "{\"user\":{\"id\":\"\",\"uniqueId\":7},"
				   "\"stats\":{\"followerCount\":-1,\"heartCount\":\"x\"}}",
				   errs, 8, &n),
			 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(errs[0].msg, "$.user.id: minLength 1, got \"\"");
	ck_assert_str_eq(errs[1].msg, "$.user.uniqueId: type string, got number 7");
	ck_assert_str_eq(errs[2].msg, "$.stats.followerCount: minimum 0, got -1");
	ck_assert_str_eq(errs[3].msg, "$.stats.heartCount: type integer, got string \"x\"");
	ck_assert_int_eq(check_doc(s,
				   "{\"user\":{\"id\":\"\",\"uniqueId\":7},"
				   "\"stats\":{\"followerCount\":-1,\"heartCount\":\"x\"}}",
				   errs, 2, &n),
			 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(errs[1].msg, "$.user.uniqueId: type string, got number 7");
	pd_jsonschema_free(s);
}
END_TEST

START_TEST(test_paths_and_values)
{
	struct pd_schema *s = schema_from(
		"{\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
		"\"properties\":{\"id\":{\"type\":\"string\"}}}},"
		"\"weird key\":{\"properties\":{\"a-b\":{\"maxLength\":3}}},"
		"\"long\":{\"maxLength\":3},\"tag\":{\"enum\":[\"a\",\"b\"]},"
		"\"arr\":{\"maxItems\":1,\"uniqueItems\":true},"
		"\"url\":{\"pattern\":\"^https://\"},"
		"\"extra\":false},"
		"\"additionalProperties\":{\"type\":\"integer\"}}");
	struct pd_schema_error errs[4];
	size_t n = 0;

	expect_one(s, "{\"items\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":5}]}", "type",
		   "$.items[2].id: type string, got number 5");
	expect_one(s, "{\"weird key\":{\"a-b\":\"\\u00e9\\u00e9\\u00e9\\u00e9\"}}", "maxLength",
		   "$[\"weird key\"][\"a-b\"]: maxLength 3, "
		   "got \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"");
	ck_assert_int_eq(is_valid(s, "{\"weird key\":{\"a-b\":\"\\u00e9\\u00e9\\u00e9\"}}"), 1);
	expect_one(s, "{\"tag\":\"c\"}", "enum", "$.tag: enum [\"a\",\"b\"], got \"c\"");
	expect_one(s, "{\"url\":\"http://x\"}", "pattern",
		   "$.url: pattern \"^https://\", got \"http://x\"");
	expect_one(s, "{\"extra\":1}", "properties", "$.extra: properties not allowed, got 1");
	expect_one(s, "{\"other\":true}", "type", "$.other: type integer, got boolean true");
	expect_one(s, "{\"arr\":[1,2]}", "maxItems", "$.arr: maxItems 1, got 2 items");

	/* values are cut to ~40 characters */
	ck_assert_int_eq(check_doc(s,
				   "{\"long\":\"0123456789012345678901234567890123456789"
				   "0123456789012345678901234567890123456789\"}",
				   errs, 4, &n),
			 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(errs[0].msg,
			 "$.long: maxLength 3, got \"012345678901234567890123456789012345678...");
	/* never in the middle of a UTF-8 sequence */
	ck_assert_int_eq(check_doc(s,
				   "{\"long\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
				   "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
				   "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}",
				   errs, 4, &n),
			 0);
	ck_assert_str_eq(errs[0].msg, "$.long: maxLength 3, got \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				      "\xc3\xa9...");
	pd_jsonschema_free(s);
}
END_TEST

START_TEST(test_combinators_report_themselves)
{
	struct pd_schema *s = schema_from(
		"{\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":10}]},"
		"\"o\":{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]},"
		"\"n\":{\"not\":{\"type\":\"null\"}},"
		"\"all\":{\"allOf\":[{\"type\":\"string\"},{\"maxLength\":1}]}}}");
	struct pd_schema_error errs[8];
	size_t n = 0;

	expect_one(s, "{\"a\":3}", "anyOf", "$.a: anyOf no branch matched, got 3");
	expect_one(s, "{\"o\":3}", "oneOf", "$.o: oneOf more than one branch matched, got 3");
	expect_one(s, "{\"o\":-0.5}", "oneOf", "$.o: oneOf no branch matched, got -0.5");
	expect_one(s, "{\"n\":null}", "not", "$.n: not schema matched, got null");
	ck_assert_int_eq(is_valid(s, "{\"a\":\"x\",\"o\":0.5,\"n\":1,\"all\":\"x\"}"), 1);
	/* allOf is plain conjunction: the failing inner keyword is named */
	expect_one(s, "{\"all\":\"xy\"}", "maxLength", "$.all: maxLength 1, got \"xy\"");
	ck_assert_int_eq(check_doc(s, "{\"a\":3,\"o\":3,\"n\":null,\"all\":7}", errs, 8, &n), 0);
	ck_assert_uint_eq(n, 4);
	pd_jsonschema_free(s);
}
END_TEST

START_TEST(test_numbers_and_strings)
{
	struct pd_schema *s;

	s = schema_from("{\"type\":\"integer\"}");
	ck_assert_int_eq(is_valid(s, "1.0"), 1);
	ck_assert_int_eq(is_valid(s, "-7"), 1);
	ck_assert_int_eq(is_valid(s, "1e3"), 1);
	ck_assert_int_eq(is_valid(s, "1.5"), 0);
	ck_assert_int_eq(is_valid(s, "\"1\""), 0);
	pd_jsonschema_free(s);

	s = schema_from("{\"multipleOf\":0.1}");
	ck_assert_int_eq(is_valid(s, "0.3"), 1);
	ck_assert_int_eq(is_valid(s, "19.9"), 1);
	ck_assert_int_eq(is_valid(s, "0.35"), 0);
	ck_assert_int_eq(is_valid(s, "1e308"), 0); /* quotient overflows: not a crash */
	pd_jsonschema_free(s);

	s = schema_from("{\"multipleOf\":0.01}");
	ck_assert_int_eq(is_valid(s, "19.99"), 1);
	ck_assert_int_eq(is_valid(s, "19.995"), 0);
	pd_jsonschema_free(s);

	s = schema_from("{\"multipleOf\":3}");
	ck_assert_int_eq(is_valid(s, "9007199254740990"), 1);
	ck_assert_int_eq(is_valid(s, "9007199254740991"), 0);
	pd_jsonschema_free(s);

	/* code points, not bytes; 4-byte sequences count once */
	s = schema_from("{\"minLength\":2,\"maxLength\":2}");
	ck_assert_int_eq(is_valid(s, "\"\\u00e9\\u00e9\""), 1);
	ck_assert_int_eq(is_valid(s, "\"\\ud83d\\udca9\\ud83d\\udca9\""), 1);
	ck_assert_int_eq(is_valid(s, "\"\\u00e9\""), 0);
	ck_assert_int_eq(is_valid(s, "\"\\u00e9\\u00e9\\u00e9\""), 0);
	pd_jsonschema_free(s);

	/* unanchored search, UTF-8 aware */
	s = schema_from("{\"pattern\":\"b.d\"}");
	ck_assert_int_eq(is_valid(s, "\"abcde\""), 1);
	ck_assert_int_eq(is_valid(s, "\"b\\u00e9d\""), 1);
	ck_assert_int_eq(is_valid(s, "\"bd\""), 0);
	pd_jsonschema_free(s);

	s = schema_from("{\"const\":{\"a\":[1,2.0,{\"b\":null}]}}");
	ck_assert_int_eq(is_valid(s, "{\"a\":[1.0,2,{\"b\":null}]}"), 1);
	ck_assert_int_eq(is_valid(s, "{\"a\":[1,2,{\"b\":false}]}"), 0);
	pd_jsonschema_free(s);
}
END_TEST

START_TEST(test_refs_and_ids)
{
	struct pd_schema *s;

	/* plain-name anchor */
	s = schema_from("{\"$id\":\"http://example.com/root.json\","
			"\"definitions\":{\"A\":{\"$id\":\"#foo\",\"type\":\"integer\"}},"
			"\"properties\":{\"a\":{\"$ref\":\"#foo\"}}}");
	ck_assert_int_eq(is_valid(s, "{\"a\":1}"), 1);
	expect_one(s, "{\"a\":\"x\"}", "type", "$.a: type integer, got string \"x\"");
	pd_jsonschema_free(s);

	/* a subschema $id changes the base for what is below it */
	s = schema_from("{\"$id\":\"http://example.com/root.json\","
			"\"definitions\":{\"B\":{\"$id\":\"other.json\",\"definitions\":{"
			"  \"X\":{\"$id\":\"#bar\",\"type\":\"string\"},"
			"  \"Y\":{\"type\":\"boolean\"},"
			"  \"Z\":{\"$ref\":\"#/definitions/Y\"}}}},"
			"\"properties\":{\"b\":{\"$ref\":\"other.json#bar\"},"
			"\"c\":{\"$ref\":\"http://example.com/other.json#/definitions/X\"},"
			"\"d\":{\"$ref\":\"other.json#/definitions/Z\"}}}");
	ck_assert_int_eq(is_valid(s, "{\"b\":\"s\",\"c\":\"s\",\"d\":true}"), 1);
	ck_assert_int_eq(is_valid(s, "{\"b\":1}"), 0);
	ck_assert_int_eq(is_valid(s, "{\"c\":1}"), 0);
	ck_assert_int_eq(is_valid(s, "{\"d\":1}"), 0);
	pd_jsonschema_free(s);

	/* relative folder ids resolve against the enclosing base */
	s = schema_from("{\"$id\":\"http://x.test/\",\"items\":{\"$id\":\"folder/\","
			"\"items\":{\"$ref\":\"int.json\"}},"
			"\"definitions\":{\"i\":{\"$id\":\"http://x.test/folder/int.json\","
			"\"type\":\"integer\"}}}");
	ck_assert_int_eq(is_valid(s, "[[1,2],[3]]"), 1);
	ck_assert_int_eq(is_valid(s, "[[1],[\"a\"]]"), 0);
	pd_jsonschema_free(s);

	/* dot segments (RFC 3986 5.2.4) */
	s = schema_from("{\"$id\":\"http://e.test/a/b/root.json\","
			"\"definitions\":{\"A\":{\"$id\":\"../c/x.json\",\"type\":\"integer\"}},"
			"\"properties\":{\"a\":{\"$ref\":\"http://e.test/a/c/x.json\"},"
			"\"b\":{\"$ref\":\"./../c/./x.json\"}}}");
	ck_assert_int_eq(is_valid(s, "{\"a\":1,\"b\":2}"), 1);
	expect_one(s, "{\"a\":\"x\"}", "type", "$.a: type integer, got string \"x\"");
	expect_one(s, "{\"b\":\"x\"}", "type", "$.b: type integer, got string \"x\"");
	pd_jsonschema_free(s);

	/* "$ref" siblings are ignored, "$id" included */
	s = schema_from("{\"$id\":\"http://x.test/root.json\","
			"\"definitions\":{\"a\":{\"$id\":\"a.json\",\"type\":\"integer\"}},"
			"\"properties\":{\"p\":{\"$id\":\"http://y.test/\",\"$ref\":\"a.json\","
			"\"maxLength\":0}}}");
	ck_assert_int_eq(is_valid(s, "{\"p\":1}"), 1);
	expect_one(s, "{\"p\":\"s\"}", "type", "$.p: type integer, got string \"s\"");
	pd_jsonschema_free(s);

	/* "definitions" next to a "$ref" still register their "$id"s */
	s = schema_from("{\"$id\":\"http://e.test/r.json\",\"$ref\":\"#/definitions/a\","
			"\"definitions\":{\"a\":{\"properties\":{\"p\":{\"$ref\":\"b.json\"}}},"
			"\"b\":{\"$id\":\"b.json\",\"type\":\"integer\"}}}");
	ck_assert_int_eq(is_valid(s, "{\"p\":1}"), 1);
	expect_one(s, "{\"p\":\"x\"}", "type", "$.p: type integer, got string \"x\"");
	pd_jsonschema_free(s);

	/* JSON pointer escapes */
	s = schema_from("{\"definitions\":{\"a/b\":{\"type\":\"integer\"},"
			"\"c~d\":{\"type\":\"string\"},"
			"\"e f\":{\"type\":\"null\"}},\"items\":["
			"{\"$ref\":\"#/definitions/a~1b\"},{\"$ref\":\"#/definitions/c~0d\"},"
			"{\"$ref\":\"#/definitions/e%20f\"}]}");
	ck_assert_int_eq(is_valid(s, "[1,\"x\",null]"), 1);
	ck_assert_int_eq(is_valid(s, "[\"x\"]"), 0);
	ck_assert_int_eq(is_valid(s, "[1,2]"), 0);
	ck_assert_int_eq(is_valid(s, "[1,\"x\",0]"), 0);
	pd_jsonschema_free(s);

	/* the draft-07 meta-schema is known without a fetch */
	s = schema_from("{\"$ref\":\"http://json-schema.org/draft-07/schema#\"}");
	ck_assert_int_eq(is_valid(s, userinfo_schema), 1);
	ck_assert_int_eq(is_valid(s, "{\"type\":\"strin\"}"), 0);
	ck_assert_int_eq(is_valid(s, "{\"properties\":{\"a\":{\"minLength\":-1}}}"), 0);
	pd_jsonschema_free(s);
}
END_TEST

START_TEST(test_remote_ref_unresolved)
{
	struct pd_schema *s = schema_from(
		"{\"properties\":{\"a\":{\"$ref\":\"http://localhost:1234/integer.json\"}}}");
	struct pd_schema_error errs[4];
	size_t n = 0;

	ck_assert_int_eq(is_valid(s, "{\"b\":1}"), 1); /* not reached */
	ck_assert_int_eq(check_doc(s, "{\"a\":1}", errs, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(errs[0].keyword, "$ref");
	ck_assert_str_eq(errs[0].path, "$.a");
	ck_assert_ptr_nonnull(strstr(errs[0].msg, "http://localhost:1234/integer.json"));
	ck_assert_ptr_nonnull(strstr(errs[0].msg, "not supported"));
	pd_jsonschema_free(s);
}
END_TEST

START_TEST(test_schema_is_copied)
{
	struct pd_err err = {0, ""};
	cJSON *j = cJSON_Parse(userid_schema);
	struct pd_schema *s;

	ck_assert_ptr_nonnull(j);
	s = pd_jsonschema_new(j, &err);
	ck_assert_ptr_nonnull(s);
	/* the caller's tree is untouched and can go away */
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(j, "required"));
	cJSON_Delete(j);
	expect_one(s, "{\"id\":\"\"}", "minLength", "$.id: minLength 1, got \"\"");
	pd_jsonschema_free(s);
	pd_jsonschema_free(NULL);
}
END_TEST

static void
expect_rejected(const char *schema, const char *needle)
{
	struct pd_err err = {0, ""};
	cJSON *j = cJSON_Parse(schema);
	struct pd_schema *s;

	ck_assert_ptr_nonnull(j);
	s = pd_jsonschema_new(j, &err);
	cJSON_Delete(j);
	ck_assert_msg(s == NULL, "schema accepted: %s", schema);
	ck_assert_int_eq(err.code, PD_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, needle) != NULL, "message \"%s\" lacks \"%s\"", err.msg,
		      needle);
}

START_TEST(test_bad_schemas)
{
	struct pd_err err = {0, ""};

	expect_rejected("{\"properties\":{\"id\":{\"pattern\":\"([a-z\"}}}",
			"#/properties/id/pattern: invalid regex \"([a-z\"");
	expect_rejected("{\"patternProperties\":{\"*x\":{}}}", "invalid regex");
	expect_rejected("{\"type\":\"strin\"}", "unknown type \"strin\"");
	expect_rejected("{\"type\":[\"string\",3]}", "#/type");
	expect_rejected("{\"minLength\":-1}", "#/minLength: must be a non-negative integer");
	expect_rejected("{\"maxItems\":1.5}", "non-negative integer");
	expect_rejected("{\"multipleOf\":0}", "greater than 0");
	expect_rejected("{\"properties\":5}", "#/properties");
	expect_rejected("{\"items\":[1]}", "#/items/0: must be a schema");
	expect_rejected("{\"allOf\":[]}", "non-empty");
	expect_rejected("{\"required\":[\"a\",1]}", "#/required");
	expect_rejected("{\"$ref\":\"#/definitions/missing\"}", "no such location");
	expect_rejected("{\"$ref\":\"#nope\"}", "no such identifier");
	expect_rejected("5", "must be a schema");
	ck_assert_ptr_null(pd_jsonschema_new(NULL, &err));
	ck_assert_int_eq(err.code, PD_ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------------ */
/* hostile input                                                        */

static cJSON *
deep_array(int levels)
{
	cJSON *root = cJSON_CreateArray(), *cur = root, *a;

	ck_assert_ptr_nonnull(root);
	for (int i = 1; i < levels; i++) {
		a = cJSON_CreateArray();
		ck_assert_ptr_nonnull(a);
		cJSON_AddItemToArray(cur, a);
		cur = a;
	}
	return root;
}

START_TEST(test_deep_document)
{
	cJSON *deep = deep_array(10000), *deep2 = deep_array(10000), *pair;
	struct pd_schema *s;
	struct pd_schema_error errs[4];
	size_t n = 0;

	s = schema_from("{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}");
	ck_assert_int_eq(pd_jsonschema_validate(s, deep, errs, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(errs[0].keyword, "depth");
	ck_assert_ptr_nonnull(strstr(errs[0].msg, "nested deeper than"));
	ck_assert_uint_lt(strlen(errs[0].path), sizeof(errs[0].path));
	ck_assert_int_eq(pd_jsonschema_validate(s, deep, NULL, 0, NULL), 0);
	pd_jsonschema_free(s);

	/* behind a combinator: still terminates, reported as the combinator */
	s = schema_from("{\"anyOf\":[{\"items\":{\"$ref\":\"#\"}}]}");
	ck_assert_int_eq(pd_jsonschema_validate(s, deep, errs, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(errs[0].keyword, "anyOf");
	pd_jsonschema_free(s);

	/* deep equality is bounded too */
	pair = cJSON_CreateArray();
	cJSON_AddItemToArray(pair, deep2);
	cJSON_AddItemReferenceToArray(pair, deep);
	s = schema_from("{\"uniqueItems\":true}");
	ck_assert_int_eq(pd_jsonschema_validate(s, pair, errs, 4, &n), 0);
	ck_assert_str_eq(errs[0].keyword, "depth");
	pd_jsonschema_free(s);
	cJSON_Delete(pair);

	/* a schema that does not descend does not care how deep the document is */
	s = schema_from("{\"type\":\"array\",\"minItems\":1}");
	ck_assert_int_eq(pd_jsonschema_validate(s, deep, errs, 4, &n), 1);
	pd_jsonschema_free(s);

	/* legitimate nesting up to the bound still validates: the innermost array of
	 * deep_array(n) sits n - 1 levels below the root */
	s = schema_from("{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}");
	cJSON_Delete(deep);
	deep = deep_array(PD_SCHEMA_MAX_DEPTH + 1);
	ck_assert_int_eq(pd_jsonschema_validate(s, deep, errs, 4, &n), 1);
	cJSON_Delete(deep);
	deep = deep_array(PD_SCHEMA_MAX_DEPTH + 2);
	ck_assert_int_eq(pd_jsonschema_validate(s, deep, errs, 4, &n), 0);
	ck_assert_str_eq(errs[0].keyword, "depth");
	pd_jsonschema_free(s);
	cJSON_Delete(deep);
}
END_TEST

START_TEST(test_ref_loops)
{
	cJSON *deep = deep_array(10000);
	struct pd_schema *s;
	struct pd_schema_error errs[4];
	size_t n = 0;

	s = schema_from("{\"$ref\":\"#\"}");
	ck_assert_int_eq(pd_jsonschema_validate(s, deep, errs, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(errs[0].keyword, "$ref");
	ck_assert_ptr_nonnull(strstr(errs[0].msg, "recursion"));
	ck_assert_int_eq(is_valid(s, "1"), 0);
	pd_jsonschema_free(s);

	s = schema_from("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},"
			"\"b\":{\"$ref\":\"#/definitions/a\"}},"
			"\"properties\":{\"x\":{\"$ref\":\"#/definitions/a\"}}}");
	ck_assert_int_eq(is_valid(s, "{\"y\":1}"), 1);
	ck_assert_int_eq(pd_jsonschema_validate(s, deep, errs, 4, &n), 1); /* not an object */
	expect_one(s, "{\"x\":1}", "$ref",
		   "$.x: $ref schema recursion deeper than 1024 levels (cyclic $ref?)");
	pd_jsonschema_free(s);

	/* recursion through a combinator over a deep document */
	s = schema_from("{\"allOf\":[{\"items\":{\"$ref\":\"#\"}}],\"oneOf\":[{\"$ref\":\"#\"}]}");
	ck_assert_int_eq(pd_jsonschema_validate(s, deep, errs, 4, &n), 0);
	pd_jsonschema_free(s);
	cJSON_Delete(deep);
}
END_TEST

struct lint_got {
	size_t n;
	char lines[24][300];
};

static void
lint_cb(void *ud, const cJSON *key, const char *pointer, const char *msg)
{
	struct lint_got *g = ud;

	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(key->string);
	if (g->n < 24)
		snprintf(g->lines[g->n], sizeof(g->lines[0]), "%s: %s", pointer, msg);
	g->n++;
}

static void
lint_text(const char *text, struct lint_got *g)
{
	cJSON *j = cJSON_Parse(text);
	size_t n;

	ck_assert_msg(j != NULL, "bad test schema: %s", text);
	memset(g, 0, sizeof(*g));
	n = pd_jsonschema_lint(j, lint_cb, g);
	ck_assert_uint_eq(n, g->n);
	cJSON_Delete(j);
}

/* Unknown keywords: found only in schema positions, with their JSON pointer. */
START_TEST(test_lint_unknown_keywords)
{
	struct lint_got g;

	lint_text("{\"type\":\"object\",\"requird\":[\"id\"],\"properties\":{\"x\":"
		  "{\"type\":\"string\",\"minLenght\":1}}}",
		  &g);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_str_eq(g.lines[0], "/requird: unknown JSON Schema keyword 'requird' (did you "
				     "mean 'required'?)");
	ck_assert_str_eq(g.lines[1], "/properties/x/minLenght: unknown JSON Schema keyword "
				     "'minLenght' (did you mean 'minLength'?)");

	/* every applicator is walked; ~ and / in names are escaped in the pointer */
	lint_text("{\"items\":[{\"a1\":1},{\"items\":{\"a2\":1}}],\"allOf\":[{\"a3\":1}],"
		  "\"anyOf\":[true,{\"a4\":1}],\"oneOf\":[{\"a5\":1}],\"not\":{\"a6\":1},"
		  "\"if\":{\"a7\":1},\"then\":{\"a8\":1},\"else\":{\"a9\":1},"
		  "\"contains\":{\"b1\":1},\"additionalItems\":{\"b2\":1},"
		  "\"additionalProperties\":{\"b3\":1},\"propertyNames\":{\"b4\":1},"
		  "\"patternProperties\":{\"^a/b~\":{\"b5\":1}},\"dependencies\":{\"d\":{\"b6\":1},"
		  "\"e\":[\"f\"]},\"definitions\":{\"g\":{\"b7\":1}},\"$defs\":{\"h\":{\"b8\":1}}}",
		  &g);
	ck_assert_uint_eq(g.n, 17);
	ck_assert_ptr_nonnull(strstr(g.lines[0], "/items/0/a1: "));
	ck_assert_ptr_nonnull(strstr(g.lines[1], "/items/1/items/a2: "));
	ck_assert_ptr_nonnull(strstr(g.lines[3], "/anyOf/1/a4: "));
	ck_assert_ptr_nonnull(strstr(g.lines[13], "/patternProperties/^a~1b~0/b5: "));
	ck_assert_ptr_nonnull(strstr(g.lines[14], "/dependencies/d/b6: "));
	ck_assert_ptr_nonnull(strstr(g.lines[15], "/definitions/g/b7: "));
	ck_assert_ptr_nonnull(strstr(g.lines[16], "/$defs/h/b8: "));

	/* names and data are not keywords; x- keys are extensions; annotations are known */
	lint_text("{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"$id\":\"u\","
		  "\"$comment\":\"c\",\"title\":\"t\",\"description\":\"d\",\"readOnly\":true,"
		  "\"writeOnly\":false,\"format\":\"uri\",\"contentMediaType\":\"a/b\","
		  "\"contentEncoding\":\"base64\",\"properties\":{\"requird\":{\"enum\":"
		  "[{\"minLenght\":1}],\"const\":{\"typ\":1},\"default\":{\"typ\":1},"
		  "\"examples\":[{\"typ\":1}]}},\"required\":[\"typ\"],\"dependencies\":"
		  "{\"minLenght\":[\"requird\"]},\"x-vendor\":{\"anything\":1}}",
		  &g);
	ck_assert_uint_eq(g.n, 0);

	/* the opt-out: its object and what is under it */
	lint_text("{\"properties\":{\"a\":{\"x-allow-unknown-keywords\":true,\"nullable\":true,"
		  "\"items\":{\"foo\":1}}},\"nullable\":true}",
		  &g);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_str_eq(g.lines[0], "/nullable: unknown JSON Schema keyword 'nullable', which "
				     "would check nothing (name extensions 'x-...', or set "
				     "x-allow-unknown-keywords: true)");
	/* an object under an unknown name: maybe a property put one level too high */
	lint_text("{\"type\":\"object\",\"userId\":{\"type\":\"string\"},\"id\":{}}", &g);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_str_eq(g.lines[0],
			 "/userId: unknown JSON Schema keyword 'userId', which would "
			 "check nothing (a property goes under 'properties'; name extensions "
			 "'x-...')");
	ck_assert_str_eq(g.lines[1], "/id: unknown JSON Schema keyword 'id' (did you mean 'if'? "
				     "a property goes under 'properties')");

	/* booleans, non-objects, NULL */
	lint_text("true", &g);
	ck_assert_uint_eq(g.n, 0);
	lint_text("{\"not\":false,\"items\":3}", &g);
	ck_assert_uint_eq(g.n, 0);
	ck_assert_uint_eq(pd_jsonschema_lint(NULL, lint_cb, &g), 0);
}
END_TEST

/* uniqueItems sorts by a hash instead of comparing every pair (a 200k-item
 * array took minutes); equality keeps JSON Schema's meaning, and the pair reported is
 * the first one a pairwise scan finds */
static cJSON *
uq_obj(int i, int flip)
{
	cJSON *o = cJSON_CreateObject(), *t = cJSON_CreateArray();

	cJSON_AddItemToArray(t, cJSON_CreateNumber(i % 7));
	cJSON_AddItemToArray(t, cJSON_CreateString("x"));
	if (flip) {
		cJSON_AddItemToObject(o, "tags", t);
		cJSON_AddNumberToObject(o, "id", i);
	} else {
		cJSON_AddNumberToObject(o, "id", i);
		cJSON_AddItemToObject(o, "tags", t);
	}
	return o;
}

START_TEST(test_unique_items)
{
	struct pd_schema *s = schema_from("{\"uniqueItems\":true}");
	struct pd_schema_error errs[4];
	static const struct {
		const char *doc;
		int valid;
		const char *msg;
	} small[] = {
		{"[1, 1.0]", 0, "items [0] and [1] are equal"},
		{"[0, -0.0]", 0, "items [0] and [1] are equal"},
		{"[5, 7, 7, 5]", 0, "items [0] and [3] are equal"},
		{"[3, 7, 5, 7, 5]", 0, "items [1] and [3] are equal"},
		{"[{\"a\":1,\"b\":[1,{\"c\":2}]}, {\"b\":[1,{\"c\":2.0}],\"a\":1}]", 0,
		 "items [0] and [1] are equal"},
		{"[{\"a\":1,\"b\":2}, {\"a\":2,\"b\":1}, {\"a\":1}, {\"b\":2}]", 1, NULL},
		{"[[1,2], [2,1], [1,2,3], [\"1\",2]]", 1, NULL},
		{"[true, false, null, 0, \"\", [], {}, 1, \"true\"]", 1, NULL},
		{"[1, 1.000001, \"1\", [1], {\"1\":1}]", 1, NULL},
	};
	cJSON *arr, *doc;
	size_t n;
	const int N = 200000;

	for (size_t k = 0; k < sizeof(small) / sizeof(small[0]); k++) {
		doc = cJSON_Parse(small[k].doc);
		ck_assert_ptr_nonnull(doc);
		ck_assert_msg(pd_jsonschema_validate(s, doc, errs, 4, &n) == small[k].valid, "%s",
			      small[k].doc);
		if (small[k].msg != NULL) {
			ck_assert_uint_eq(n, 1);
			ck_assert_str_eq(errs[0].keyword, "uniqueItems");
			ck_assert_msg(strstr(errs[0].msg, small[k].msg) != NULL, "%s: %s",
				      small[k].doc, errs[0].msg);
		}
		cJSON_Delete(doc);
	}
	/* large: distinct objects, keys in either order, then one equal to an earlier one */
	arr = cJSON_CreateArray();
	for (int i = 0; i < N; i++)
		cJSON_AddItemToArray(arr, uq_obj(i, i % 2));
	ck_assert_int_eq(pd_jsonschema_validate(s, arr, errs, 4, &n), 1);
	ck_assert_int_eq(pd_jsonschema_validate(s, arr, NULL, 0, NULL), 1);
	cJSON_AddItemToArray(arr, uq_obj(N - 17, 0));
	cJSON_AddItemToArray(arr, uq_obj(123, 1));
	ck_assert_int_eq(pd_jsonschema_validate(s, arr, errs, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(errs[0].keyword, "uniqueItems");
	ck_assert_msg(strstr(errs[0].msg, "items [123] and [200001] are equal") != NULL, "%s",
		      errs[0].msg);
	ck_assert_int_eq(pd_jsonschema_validate(s, arr, NULL, 0, NULL), 0);
	cJSON_Delete(arr);
	/* large numbers: 1.5, 2.5, ...; then 100000.5 again (as 1000005e-1) */
	arr = cJSON_CreateArray();
	for (int i = 0; i < N; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(i + 0.5));
	ck_assert_int_eq(pd_jsonschema_validate(s, arr, errs, 4, &n), 1);
	cJSON_AddItemToArray(arr, cJSON_CreateNumber(1000005e-1));
	ck_assert_int_eq(pd_jsonschema_validate(s, arr, errs, 4, &n), 0);
	ck_assert_msg(strstr(errs[0].msg, "items [100000] and [200000] are equal") != NULL, "%s",
		      errs[0].msg);
	cJSON_Delete(arr);
	pd_jsonschema_free(s);
}
END_TEST

START_TEST(test_deep_schema_rejected)
{
	cJSON *root = cJSON_CreateObject(), *cur = root, *sub;
	struct pd_err err = {0, ""};
	struct pd_schema *s;

	for (int i = 0; i < 2 * PD_SCHEMA_MAX_DEPTH; i++) {
		sub = cJSON_CreateObject();
		cJSON_AddItemToObject(cur, "items", sub);
		cur = sub;
	}
	s = pd_jsonschema_new(root, &err);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err.msg, "nested deeper than"));
	cJSON_Delete(root);
}
END_TEST

static Suite *
jsonschema_suite(void)
{
	Suite *su = suite_create("jsonschema");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_official_suite);
	tcase_add_test(tc, test_userid_shape);
	tcase_add_test(tc, test_userinfo_shape);
	tcase_add_test(tc, test_paths_and_values);
	tcase_add_test(tc, test_combinators_report_themselves);
	tcase_add_test(tc, test_numbers_and_strings);
	tcase_add_test(tc, test_refs_and_ids);
	tcase_add_test(tc, test_remote_ref_unresolved);
	tcase_add_test(tc, test_schema_is_copied);
	tcase_add_test(tc, test_bad_schemas);
	tcase_add_test(tc, test_deep_document);
	tcase_add_test(tc, test_ref_loops);
	tcase_add_test(tc, test_deep_schema_rejected);
	tcase_add_test(tc, test_lint_unknown_keywords);
	tcase_add_test(tc, test_unique_items);
	tcase_add_test(tc, test_shared_reference);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	return pd_test_run(jsonschema_suite());
}
