/* runner.h — HTTP transfers through curl's multi *socket* interface on a libev loop
 * (the pattern of curl's evhiperfifo example, with its bugs fixed). Used for probes and
 * for notifications alike. Never blocks the loop. */
#ifndef PROBED_RUNNER_H
#define PROBED_RUNNER_H
#include <stddef.h>
#include <stdint.h>
#include <ev.h>
#include "probed/err.h"
#include "probed/buf.h"
#include "probed/config.h"

struct pd_runner;

struct pd_request {
	const char *url;
	const char *method; /* NULL = GET (POST when body != NULL) */
	const struct pd_header *headers;
	size_t nheaders;
	const char *body; /* copied by libcurl */
	size_t body_len;
	int64_t timeout_ms;         /* total */
	int64_t connect_timeout_ms; /* 0 = min(timeout, 10s) */
	size_t max_body;            /* cap on the response body; 0 = 1 MiB */
	int fresh_connect;          /* 1 = new connection and DNS lookup every time (probes) */
	int certinfo;               /* 1 = collect the TLS chain (resp.cert_not_after_s) */
	const char *ca_file;        /* CURLOPT_CAINFO, NULL = the system's store */
	/* Non-HTTP transfers (a notification target's protocol, e.g. SMTP); all optional.
	 * protocols: CURLOPT_PROTOCOLS_STR (NULL = "http,https"). With upload, body is sent
	 * as an upload (copied; CURLOPT_UPLOAD) instead of POST fields. mail_from/mail_rcpt:
	 * SMTP's envelope. username/password: CURLOPT_USERNAME/PASSWORD (secrets; copied by
	 * libcurl). use_ssl: CURLOPT_USE_SSL (0 = CURLUSESSL_NONE, 1 = TRY, 3 = ALL). */
	const char *protocols;
	int upload;
	const char *mail_from;
	const char *const *mail_rcpt;
	size_t nmail_rcpt;
	const char *username, *password;
	long use_ssl;
};

struct pd_response {
	int curl_code;    /* CURLcode */
	char error[256];  /* curl's error buffer (or strerror); "" when OK */
	long http_status; /* CURLINFO_RESPONSE_CODE: the HTTP status, or for SMTP the
				   * last reply code (250, 451, 554, ...) */
	/* curl's cumulative timings, seconds since start; -1 when unknown */
	double namelookup_s, connect_s, appconnect_s, starttransfer_s, total_s;
	struct pd_buf body;          /* capped; body.over set when the cap was hit */
	int64_t retry_after_s;       /* Retry-After header in seconds, -1 when absent; at most
				   * PD_RUNNER_RETRY_AFTER_MAX_S */
	int64_t ratelimit_remaining; /* X-RateLimit-Remaining, -1 when absent */
	int64_t cert_not_after_s;    /* earliest notAfter of the TLS chain (unix s), -1 when
				   * not collected or no handshake happened */
};

/* Called once per submitted request, on the loop. resp is valid only during the call. */
typedef void (*pd_runner_done_fn)(void *ud, struct pd_response *resp);

struct pd_runner *pd_runner_new(struct ev_loop *loop, struct pd_err *err);
/* Abort in-flight transfers (their callbacks are called with CURLE_ABORTED_BY_CALLBACK)
 * and free. NULL is a no-op. */
void pd_runner_free(struct pd_runner *r);
/* Start a transfer; strings in req are copied. */
int pd_runner_submit(struct pd_runner *r, const struct pd_request *req, pd_runner_done_fn fn,
		     void *ud, struct pd_err *err);
size_t pd_runner_inflight(const struct pd_runner *r);

/* A Retry-After value (len bytes, not NUL-terminated): delay-seconds (at most
 * PD_RUNNER_RETRY_AFTER_MAX_S), or an HTTP-date turned into seconds from now_s (0 when
 * already past). -1 when neither. */
int64_t pd_runner_retry_after(const char *v, size_t len, int64_t now_s);
/* One response header line as libcurl hands it over (not NUL-terminated; CR/LF at the
 * end allowed) -> the fields of resp it sets: Retry-After (pd_runner_retry_after, against
 * the wall clock now) and X-RateLimit-Remaining. A value that is not a number (or a date,
 * for Retry-After) leaves -1. Other headers are ignored. Exposed for the fuzz harnesses. */
#define PD_RUNNER_RETRY_AFTER_MAX_S 2147483648LL /* 2^31, RFC 9110's delta-seconds cap */
void pd_runner_parse_header(struct pd_response *resp, const char *line, size_t len);

#endif
