/* result.h — one probe run, as stored and shown. Contains no secrets by construction:
 * error/verdict strings are built from curl's error buffer (which can name the host,
 * never headers) and from the schema validator. */
#ifndef PROBED_RESULT_H
#define PROBED_RESULT_H
#include <stddef.h>
#include <stdint.h>

struct pd_result {
	int64_t ts_ms;       /* UTC wall clock at start */
	int64_t lateness_us; /* actual start - scheduled start (>= 0) */
	int outcome;         /* enum pd_outcome; PD_OUT_OK means success */
	int http_status;     /* 0 when no response */
	int curl_code;       /* CURLcode, 0 = transfer OK */
	/* phase timings in milliseconds, each the duration of that phase alone
	 * (not curl's cumulative values); -1 when the phase did not happen */
	double dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms;
	int64_t body_size; /* bytes received (up to the cap) */
	char verdict[256]; /* "ok", or why it failed: "$.id: minLength 1, got \"\"" */
};

static inline int
pd_result_ok(const struct pd_result *r)
{
	return r->outcome == 0;
}

#endif
