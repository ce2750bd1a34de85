/* check_runner.c — the runner's response header parsing (pd_runner_parse_header). The
 * transfers themselves are exercised by check_outbox and the integration tests. */
#include <check.h>
#include <stdint.h>
#include <string.h>
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
		"Retry-After: 5 seconds", "Retry-After: -5", "Retry-After: +5",
		"Retry-After:", "Retry-After:  \r\n",
		"Retry-After: 32000000000-010::-0T100000Z", "Retry-After: 1e3", "Retry-After: 0x10",
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
	ck_assert_int_eq(pd_runner_retry_after(" Wed, 21 Oct 2015 07:28:30 GMT", 30, 1445412480), 30);
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
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(runner_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
