/* check.h — turn an HTTP response into a probe result: status, latency, body cap,
 * JSON parse and JSON Schema verdict, and the failure class. Pure. */
#ifndef PROBED_CHECK_H
#define PROBED_CHECK_H
#include "probed/config.h"
#include "probed/jsonschema.h"
#include "probed/result.h"
#include "probed/runner.h"

/* schema may be NULL (no body check). out->ts_ms and lateness are left to the caller. */
void pd_check_response(const struct pd_probe_cfg *p, const struct pd_schema *schema,
		       const struct pd_response *resp, struct pd_result *out);

#endif

#ifndef PROBED_CHECK_REQUEST
#define PROBED_CHECK_REQUEST
/* Fill req from the probe's config (pointers borrowed from p; valid while p is).
 * Probes always use a fresh connection, as a monitor must. */
void pd_check_request(const struct pd_probe_cfg *p, struct pd_request *req);
#endif

#ifndef PROBED_CHECK_FRESHNESS
#define PROBED_CHECK_FRESHNESS
/* ---- freshness probes and shape fingerprints (additive API) ---- */
#include <stdint.h>
#include <cjson/cJSON.h>

/* The structure of a JSON response: the set of "path:type" pairs ("$.user.id:string",
 * "$.items[].id:number"; arrays collapsed to [], types object, array, string, number,
 * boolean, null), hashed to 64 bits independently of the values and of key order. */
struct pd_shape {
	uint64_t known_hash; /* in: the probe's last known hash (0 = none) */
	int has;             /* out: 1 = computed (the response passed and is JSON) */
	uint64_t hash;       /* out: never 0 when has */
	char *paths;         /* out: the sorted pairs, one per line ("\n"-terminated),
			       * built only when hash != known_hash (else NULL); malloc'd */
};
void pd_check_shape_cleanup(struct pd_shape *s);
/* Fingerprint of a parsed document; *paths (paths may be NULL) gets the malloc'd list
 * (NULL when out of memory). Never returns 0. */
uint64_t pd_check_shape_of(const cJSON *doc, char **paths);
/* Differences between two path lists (as built above), old -> new, written to out as
 * "added $.x:string; removed $.y:number; retyped $.z string->number" (truncated to
 * cap). Returns the number of differing paths. */
size_t pd_check_shape_diff(const char *old_paths, const char *new_paths, char *out, size_t cap);

/* The batch a freshness probe checks at now_ms (UTC): today's from its deadline of the
 * day on, yesterday's before. date gets YYYY-MM-DD, *due_ms the batch's deadline. */
void pd_check_batch(const struct pd_probe_cfg *p, int64_t now_ms, char date[11], int64_t *due_ms);
/* pd_check_request at now_ms: a freshness probe's {date} is expanded into the probe's
 * own buffer (p->fresh_url_buf; no allocation), which req->url points at until the
 * probe's next request. pd_check_request uses the real clock. */
void pd_check_request_at(const struct pd_probe_cfg *p, int64_t now_ms, struct pd_request *req);
/* pd_check_response at now_ms (freshness verdicts), with the response's fingerprint in
 * *shape when shape != NULL and the response passed (the body is parsed once; without
 * a schema a body starting with { or [ is parsed for the fingerprint only, never
 * failing the probe). pd_check_response uses the real clock and no shape. A freshness
 * probe is PD_OUT_LATE when its batch answers 404/410 after the deadline, or when its
 * field is older than max_age (a missing/unreadable field is PD_OUT_SHAPE). */
void pd_check_response_at(const struct pd_probe_cfg *p, const struct pd_schema *schema,
			  const struct pd_response *resp, int64_t now_ms, struct pd_shape *shape,
			  struct pd_result *out);
/* An RFC 3339 timestamp ("2026-11-22T05:05:32Z", fractions, "+02:00" offsets; ' ' or
 * 't' for the T) -> ms since the epoch (UTC). 0 ok, -1 not a timestamp. */
int pd_check_rfc3339_parse(const char *s, int64_t *ms);
#endif
