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
	char path[160];   /* "$.user.stats[0].id" */
	char keyword[32]; /* "minLength" */
	char msg[256];    /* full line: "$.id: minLength 1, got \"\"" */
};

/* Compile schema (deep-copied; the caller keeps ownership of its cJSON). Returns NULL
 * with err filled when the schema itself is invalid (bad regex, bad type name, ...). */
struct pd_schema *pd_jsonschema_new(const cJSON *schema, struct pd_err *err);
/* A compiled schema is immutable, so probes with the same schema share one: ref adds an
 * owner (returns s), free drops one and frees with the last. Validation of a shared
 * schema is safe on one thread (its PCRE2 match data is reused between calls). */
struct pd_schema *pd_jsonschema_ref(struct pd_schema *s);
void pd_jsonschema_free(struct pd_schema *s);
/* j's JSON type as JSON Schema names it: null, boolean, number, string, array, object
 * ("invalid" for a node no parse makes). */
const char *pd_jsonschema_type_name(const cJSON *j);

/* Validate doc. Returns 1 valid, 0 invalid. Up to max errors are written to errs
 * (may be NULL when max is 0); *nerr (may be NULL) receives how many were written. */
int pd_jsonschema_validate(const struct pd_schema *s, const cJSON *doc,
			   struct pd_schema_error *errs, size_t max, size_t *nerr);

/*
 * Unknown keywords. A key of a schema object that draft 7 does not define is legal and
 * ignored, so in a config it is almost always a typo that quietly switches a check off
 * ("requird", "minLenght"). pd_jsonschema_lint() walks every schema position of schema (the
 * subschemas under properties, items, allOf, not, if, definitions, ...; not the names
 * under properties/patternProperties/definitions/dependencies, nor the data of enum,
 * const, default, examples) and calls fn once for each key that is neither a draft-7
 * keyword (annotations included) nor an extension, a key starting with "x-". A schema
 * object with "x-allow-unknown-keywords": true opts itself and all under it out.
 *
 * fn gets the offending member (key->string is the keyword; it points into schema), its
 * JSON pointer ("/properties/x/minLenght") and the message for the operator
 * ("unknown JSON Schema keyword 'minLenght' (did you mean 'minLength'?)"). Both strings
 * live only for the call. Returns how many keys were reported. Never allocates.
 */
typedef void (*pd_schema_lint_fn)(void *ud, const cJSON *key, const char *pointer, const char *msg);
size_t pd_jsonschema_lint(const cJSON *schema, pd_schema_lint_fn fn, void *ud);

#endif
