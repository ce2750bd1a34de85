/* check_runner.c — the runner's response header parsing (pd_runner_parse_header), and
 * that a probe resolves its host afresh every time. The other transfer
 * behaviour is exercised by check_outbox and the integration tests. */
#include <check.h>
#include "testlib.h"
#include <dlfcn.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include "probed/runner.h"

static struct pd_response
parsed(const char *line)
{
	struct pd_response r;

	memset(&r, 0, sizeof(r));
	r.retry_after_s = -1;
	r.ratelimit_remaining = -1;
	pd_runner_parse_header(&r, line, strlen(line));
	return r;
}

START_TEST(retry_after_delta_seconds)
{
	ck_assert_int_eq(parsed("Retry-After: 120\r\n").retry_after_s, 120);
	ck_assert_int_eq(parsed("retry-after:7").retry_after_s, 7);
	ck_assert_int_eq(parsed("Retry-After: \t 30 \t\r\n").retry_after_s, 30);
	ck_assert_int_eq(parsed("Retry-After: 0\r\n").retry_after_s, 0);
	ck_assert_int_eq(parsed("X-RateLimit-Remaining: 0\r\n").ratelimit_remaining, 0);
	ck_assert_int_eq(parsed("X-RateLimit-Remaining: 0\r\n").retry_after_s, -1);
}
END_TEST

/* Found by fuzz_timeparse: any number of digits was taken as is (up to 2^63 - 1), and the
 * outbox multiplies Retry-After by 1000 (signed overflow). RFC 9110 caps delta-seconds. */
START_TEST(retry_after_saturates)
{
	int64_t v = parsed("Retry-After: 32000000000\r\n").retry_after_s;

	ck_assert_int_eq(v, PD_RUNNER_RETRY_AFTER_MAX_S);
	ck_assert_int_eq(parsed("Retry-After: 9223372036854775807").retry_after_s,
			 PD_RUNNER_RETRY_AFTER_MAX_S);
	/* more than fits in 64 bits: was -1 (absent, so retried at once), now the cap */
	ck_assert_int_eq(parsed("Retry-After: 99999999999999999999999").retry_after_s,
			 PD_RUNNER_RETRY_AFTER_MAX_S);
	ck_assert_int_eq(parsed("Retry-After: 2147483648").retry_after_s, 2147483648LL);
	ck_assert(PD_RUNNER_RETRY_AFTER_MAX_S <= INT64_MAX / 1000);
}
END_TEST

START_TEST(retry_after_not_a_number)
{
	static const char *const bad[] = {
		"Retry-After: 5 seconds", "Retry-After: -5",
		"Retry-After: +5",        "Retry-After:",
		"Retry-After:  \r\n",     "Retry-After: 32000000000-010::-0T100000Z",
		"Retry-After: 1e3",       "Retry-After: 0x10",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parsed(bad[i]).retry_after_s == -1, "'%s' -> %lld", bad[i],
			      (long long)parsed(bad[i]).retry_after_s);
}
END_TEST

/* The HTTP-date form (RFC 9110 10.2.3): seconds from now; a date already past is 0. */
START_TEST(retry_after_http_date)
{
	ck_assert_int_eq(parsed("Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n").retry_after_s, 0);
	ck_assert_int_eq(pd_runner_retry_after(" Wed, 21 Oct 2015 07:28:30 GMT", 30, 1445412480),
			 30);
}
END_TEST

/* ---- no DNS cache for probes ----
 * getaddrinfo is interposed (this executable's definition comes first for libcurl's
 * resolver thread): the name TEST_HOST resolves to 127.0.0.1 and each lookup is
 * counted, or fails with EAI_NONAME while dns_fail is set. Every other name goes to
 * the real resolver. The test first checks that its lookups are seen at all. */
#define TEST_HOST "probe-dns.test"
static int dns_calls, dns_fail;

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
	    struct addrinfo **res)
{
	int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **) =
		(int (*)(const char *, const char *, const struct addrinfo *,
			 struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo");

	if (node != NULL && strcmp(node, TEST_HOST) == 0) {
		__atomic_add_fetch(&dns_calls, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&dns_fail, __ATOMIC_SEQ_CST))
			return EAI_NONAME;
		node = "127.0.0.1";
	}
	return real(node, service, hints, res);
}

struct probe_out {
	int done, curl_code;
	long status;
};

static void
probe_done(void *ud, struct pd_response *resp)
{
	struct probe_out *o = ud;

	o->done = 1;
	o->curl_code = resp->curl_code;
	o->status = resp->http_status;
}

static struct probe_out
probe_once(struct ev_loop *loop, struct pd_runner *r, const char *url, int fresh)
{
	struct pd_request req;
	struct pd_err err = {0};
	struct probe_out o = {0};

	memset(&req, 0, sizeof(req));
	req.url = url;
	req.timeout_ms = 5000;
	req.fresh_connect = fresh;
	ck_assert_int_eq(pd_runner_submit(r, &req, probe_done, &o, &err), 0);
	for (int i = 0; !o.done && i < 100000; i++)
		ev_run(loop, EVRUN_ONCE);
	ck_assert(o.done);
	return o;
}

START_TEST(probe_resolves_afresh)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pd_err err = {0};
	struct pd_runner *r = pd_runner_new(loop, &err);
	struct pd_test_http srv;
	struct probe_out o;
	char url[128];

	ck_assert_ptr_nonnull(r);
	pd_test_http_start(&srv, 0, &(struct pd_test_reply){.status = 200, .body = "ok"}, 1);
	snprintf(url, sizeof(url), "http://" TEST_HOST ":%d/", srv.port);

	/* the lookup is seen (else this test proves nothing) */
	o = probe_once(loop, r, url, 1);
	ck_assert_int_eq(o.curl_code, 0);
	ck_assert_int_eq(o.status, 200);
	ck_assert_int_eq(__atomic_load_n(&dns_calls, __ATOMIC_SEQ_CST), 1);
	/* the next probe, a moment later, resolves again (libcurl's cache keeps a name
	 * for 60 s by default, per multi handle) */
	o = probe_once(loop, r, url, 1);
	ck_assert_int_eq(o.curl_code, 0);
	ck_assert_int_eq(__atomic_load_n(&dns_calls, __ATOMIC_SEQ_CST), 2);
	/* and a DNS failure shows on the very next probe */
	__atomic_store_n(&dns_fail, 1, __ATOMIC_SEQ_CST);
	o = probe_once(loop, r, url, 1);
	ck_assert_int_eq(o.curl_code, 6); /* CURLE_COULDNT_RESOLVE_HOST */
	ck_assert_int_eq(__atomic_load_n(&dns_calls, __ATOMIC_SEQ_CST), 3);
	__atomic_store_n(&dns_fail, 0, __ATOMIC_SEQ_CST);
	o = probe_once(loop, r, url, 1);
	ck_assert_int_eq(o.curl_code, 0);
	ck_assert_int_eq(pd_test_http_count(&srv), 3);
	pd_runner_free(r);
	pd_test_http_stop(&srv);
	ev_loop_destroy(loop);
}
END_TEST

static Suite *
runner_suite(void)
{
	Suite *s = suite_create("runner");
	TCase *tc = tcase_create("headers");

	tcase_add_test(tc, retry_after_delta_seconds);
	tcase_add_test(tc, retry_after_saturates);
	tcase_add_test(tc, retry_after_not_a_number);
	tcase_add_test(tc, retry_after_http_date);
	suite_add_tcase(s, tc);
	tc = tcase_create("dns");
	tcase_add_test(tc, probe_resolves_afresh);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(runner_suite());
}
