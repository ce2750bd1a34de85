/* outcome.h — what one probe run ended in. Probe outcomes are data, not errors:
 * the numbers are stored in SQLite, so ONLY EVER APPEND to this enum. */
#ifndef PROBED_OUTCOME_H
#define PROBED_OUTCOME_H

enum pd_outcome {
	PD_OUT_OK = 0,
	PD_OUT_DNS = 1,     /* name did not resolve */
	PD_OUT_CONNECT = 2, /* TCP connect refused / unreachable */
	PD_OUT_TLS = 3,     /* handshake or certificate */
	PD_OUT_TIMEOUT = 4, /* connect or total timeout */
	PD_OUT_HTTP_5XX = 5,
	PD_OUT_HTTP_4XX = 6,     /* unexpected 4xx other than 401/403/429 */
	PD_OUT_KEY_REJECTED = 7, /* 401/403 */
	PD_OUT_QUOTA = 8,        /* 429 */
	PD_OUT_SHAPE = 9,        /* JSON Schema failed */
	PD_OUT_BODY_TOO_LARGE = 10,
	PD_OUT_EMPTY = 11,        /* empty body where JSON was expected */
	PD_OUT_INVALID_JSON = 12, /* body is not JSON (or nested too deep) */
	PD_OUT_SLOW = 13,         /* completed, but over max_latency */
	PD_OUT_HTTP_STATUS = 14,  /* unexpected status not covered above (1xx/2xx/3xx) */
	PD_OUT_ERROR = 15,        /* any other transfer error */
	PD_OUT_LATE = 16,         /* freshness probe: the batch is missing or too old */
	PD_OUT__COUNT
};

/* "ok", "dns", "connect", ... stable names used in output, alerts and metrics. */
const char *pd_outcome_str(int outcome);
/* Inverse of pd_outcome_str; -1 when unknown. */
int pd_outcome_from_str(const char *s);

#endif
