/* fuzz_jsonschema.c — JSON Schema draft 7: compile (pd_jsonschema_new) and validate
 * (pd_jsonschema_validate). Input: a schema followed by zero or more instances, each one
 * JSON value, separated by white space:
 *
 *   {"type": "object", "required": ["id"]}  {"id": "x"}  {"id": 1}
 *
 * Each instance is validated twice, collecting 0 and 4 errors. Properties: validation is
 * deterministic (same verdict both times, with or without error collection); an invalid
 * instance reports at least one error when errors are collected; error strings are
 * NUL-terminated within their fields; when the input is valid UTF-8 so is every error
 * string (an error lands in a stored verdict and in notification bodies, where a
 * receiver may reject invalid UTF-8). */
#include <string.h>
#include <cjson/cJSON.h>
#include "fuzz.h"
#include "probed/jsonschema.h"
#include "probed/log.h"

#define MAX_INSTANCES 8

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static void
check_errors(const struct pd_schema_error *e, size_t n, int utf8)
{
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(memchr(e[i].path, '\0', sizeof(e[i].path)) != NULL, "path unterminated");
		FUZZ_CHECK(memchr(e[i].keyword, '\0', sizeof(e[i].keyword)) != NULL,
			   "keyword unterminated");
		FUZZ_CHECK(memchr(e[i].msg, '\0', sizeof(e[i].msg)) != NULL, "msg unterminated");
		FUZZ_CHECK(e[i].keyword[0] != '\0', "an error without a keyword: %s", e[i].msg);
		if (utf8) {
			FUZZ_CHECK(fuzz_utf8_valid(e[i].msg, strlen(e[i].msg)),
				   "invalid UTF-8 in msg: %s", e[i].msg);
			FUZZ_CHECK(fuzz_utf8_valid(e[i].path, strlen(e[i].path)),
				   "invalid UTF-8 in path: %s", e[i].path);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int done;
	const char *p = (const char *)data, *end = p + size, *next = NULL;
	struct pd_err err = {0};
	struct pd_schema *s;
	cJSON *schema;
	int utf8 = fuzz_utf8_valid((const char *)data, size);

	if (!done) {
		pd_log_set_level(PD_LOG_ERR);
		done = 1;
	}
	schema = cJSON_ParseWithLengthOpts(p, size, &next, 0);
	if (schema == NULL)
		return 0;
	s = pd_jsonschema_new(schema, &err);
	cJSON_Delete(schema); /* the compiled schema holds its own copy */
	if (s == NULL) {
		FUZZ_CHECK(err.msg[0] != '\0', "a schema rejected without a message");
		if (utf8)
			FUZZ_CHECK(fuzz_utf8_valid(err.msg, strlen(err.msg)),
				   "invalid UTF-8 in compile error: %s", err.msg);
		return 0;
	}
	for (int k = 0; k < MAX_INSTANCES && next != NULL; k++) {
		struct pd_schema_error errs[4];
		size_t nerr = 99;
		const char *q = skip_ws(next, end);
		cJSON *doc;
		int v1, v2;

		if (q >= end)
			break;
		doc = cJSON_ParseWithLengthOpts(q, (size_t)(end - q), &next, 0);
		if (doc == NULL)
			break;
		v1 = pd_jsonschema_validate(s, doc, NULL, 0, NULL);
		v2 = pd_jsonschema_validate(s, doc, errs, 4, &nerr);
		FUZZ_CHECK(v1 == 0 || v1 == 1, "validate returned %d", v1);
		FUZZ_CHECK(v1 == v2, "verdict depends on error collection: %d vs %d", v1, v2);
		FUZZ_CHECK(nerr <= 4, "nerr %zu > max", nerr);
		FUZZ_CHECK(v2 == 1 || nerr >= 1, "invalid without an error");
		FUZZ_CHECK(v2 == 0 || nerr == 0, "valid with %zu errors", nerr);
		check_errors(errs, nerr, utf8);
		FUZZ_CHECK(pd_jsonschema_validate(s, doc, NULL, 0, NULL) == v1,
			   "not deterministic");
		cJSON_Delete(doc);
	}
	pd_jsonschema_free(s);
	return 0;
}
