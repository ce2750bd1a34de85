/* fuzz_timeparse.c — the two parsers of times a server sends: Retry-After (a response
 * header: pd_runner_parse_header, as libcurl's header callback calls it) and RFC 3339
 * timestamps (pd_check_rfc3339_parse: the field of a freshness probe).
 * Input: one value, e.g. "120" or "2026-11-22T05:05:32.123+02:00" (both parsers get it).
 *
 * Properties:
 *  - Retry-After is -1 (absent/unreadable) or delta-seconds in [0, 2^31] (RFC 9110's
 *    bound for delta-seconds: larger values count as 2^31), so that callers can turn it
 *    into milliseconds without overflow;
 *  - the same value with CR/LF, or "X-RateLimit-Remaining" instead, does not crash and
 *    leaves Retry-After alone;
 *  - an accepted RFC 3339 timestamp names a real instant: formatted back
 *    (pd_clock_rfc3339) it parses to the same milliseconds, and without an offset or
 *    leap second it is the same calendar date and time of day as written. */
#include <string.h>
#include "fuzz.h"
#include "probed/check.h"
#include "probed/clock.h"
#include "probed/log.h"
#include "probed/runner.h"

#define MAX_LEN 4096

static void
retry_after(const char *v, size_t n)
{
	static char line[MAX_LEN + 64];
	struct pd_response r;
	size_t len;

	memset(&r, 0, sizeof(r));
	r.retry_after_s = -1;
	r.ratelimit_remaining = -1;
	len = (size_t)snprintf(line, sizeof(line), "Retry-After: ");
	memcpy(line + len, v, n);
	pd_runner_parse_header(&r, line, len + n);
	FUZZ_CHECK(r.retry_after_s == -1 ||
			   (r.retry_after_s >= 0 && r.retry_after_s <= 2147483648LL),
		   "Retry-After: '%.*s' -> %lld", (int)n, v, (long long)r.retry_after_s);
	FUZZ_CHECK(r.ratelimit_remaining == -1, "X-RateLimit-Remaining set by Retry-After");
	{
		int64_t first = r.retry_after_s;

		memcpy(line + len + n, "\r\n", 2);
		pd_runner_parse_header(&r, line, len + n + 2);
		/* an HTTP-date counts from the wall clock: a second may pass between calls */
		FUZZ_CHECK(r.retry_after_s == first || (first > 0 && r.retry_after_s >= first - 1 &&
							r.retry_after_s <= first),
			   "CRLF changes Retry-After");
		len = (size_t)snprintf(line, sizeof(line), "x-ratelimit-remaining:");
		memcpy(line + len, v, n);
		pd_runner_parse_header(&r, line, len + n);
		FUZZ_CHECK(r.retry_after_s == first, "X-RateLimit-Remaining changes Retry-After");
		FUZZ_CHECK(r.ratelimit_remaining >= -1, "X-RateLimit-Remaining %lld",
			   (long long)r.ratelimit_remaining);
	}
}

static void
rfc3339(const char *s)
{
	int64_t ms, ms2;
	char out[64];

	if (pd_check_rfc3339_parse(s, &ms) != 0)
		return;
	pd_clock_rfc3339(ms, out, sizeof(out));
	/* years 0000..9999 only format as four digits; an offset can leave that range */
	if (out[0] >= '0' && out[0] <= '9' && out[4] == '-')
		FUZZ_CHECK(pd_check_rfc3339_parse(out, &ms2) == 0 && ms2 == ms,
			   "'%s' -> %lld -> '%s' does not parse back", s, (long long)ms, out);
	/* "YYYY-MM-DDTHH:MM:SS" + Z, no offset, no leap second: the same date and time */
	if (strlen(s) >= 20 && (s[19] == 'Z' || s[19] == 'z' || s[19] == '.') &&
	    memcmp(s + 17, "60", 2) != 0 && strchr(s + 19, '+') == NULL &&
	    strchr(s + 19, '-') == NULL)
		FUZZ_CHECK(memcmp(s, out, 10) == 0 && memcmp(s + 11, out + 11, 8) == 0,
			   "'%s' read as %s", s, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int done;
	char s[MAX_LEN + 1];

	if (!done) {
		pd_log_set_level(PD_LOG_ERR);
		done = 1;
	}
	if (size > MAX_LEN)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	retry_after(s, size);
	rfc3339(s);
	return 0;
}
