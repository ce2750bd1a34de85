/* jsonschema.h — JSON Schema draft 7 over cJSON.
 *
 * Supports every draft-7 keyword except remote $ref and "format" (ignored, as the spec
 * allows). Local $ref ("#", "#/definitions/x", JSON pointers, $id-based refs inside the
 * same document) is resolved. "pattern"/"patternProperties" use PCRE2 (UTF mode).
 * Recursion is bounded (PD_SCHEMA_MAX_DEPTH), so hostile documents cannot blow the stack.
 */
#ifndef PROBED_JSONSCHEMA_H
#define PROBED_JSONSCHEMA_H
#include <stddef.h>
#include <cjson/cJSON.h>
#include "probed/err.h"

#define PD_SCHEMA_MAX_DEPTH 256

struct pd_schema;

struct pd_schema_error {
	char path[160];     /* "$.user.stats[0].id" */
	char keyword[32];   /* "minLength" */
	char msg[256];      /* full line: "$.id: minLength 1, got \"\"" */
};

/* Compile schema (deep-copied; the caller keeps ownership of its cJSON). Returns NULL
 * with err filled when the schema itself is invalid (bad regex, bad type name, ...). */
struct pd_schema *pd_schema_new(const cJSON *schema, struct pd_err *err);
void pd_schema_free(struct pd_schema *s);

/* Validate doc. Returns 1 valid, 0 invalid. Up to max errors are written to errs
 * (may be NULL when max is 0); *nerr (may be NULL) receives how many were written. */
int pd_schema_validate(const struct pd_schema *s, const cJSON *doc,
		       struct pd_schema_error *errs, size_t max, size_t *nerr);

#endif
