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
