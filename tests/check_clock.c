/* check_clock.c — the injectable clock and the RFC 3339 format. */
#include <string.h>
#include "probed/clock.h"
#include "testlib.h"

START_TEST(test_injected_and_real)
{
	struct pd_test_clock c;
	const struct pd_clock *clk = pd_test_clock_init(&c, 1795000000000LL);
	int64_t a, b;

	ck_assert_int_eq(pd_clock_wall_ms(clk), 1795000000000LL);
	pd_test_clock_advance(&c, 1500);
	ck_assert_int_eq(pd_clock_wall_ms(clk), 1795000001500LL);
	/* NULL is the real clock: after 2026-01-01 and not before the last reading */
	a = pd_clock_wall_ms(NULL);
	ck_assert_int_gt(a, 1767225600000LL);
	ck_assert_int_ge(pd_clock_wall_ms(NULL), a);
	a = pd_clock_mono_ms();
	b = pd_clock_mono_ms();
	ck_assert_int_ge(b, a);
}
END_TEST

START_TEST(test_rfc3339)
{
	char out[40], small[8];

	pd_clock_rfc3339(0, out, sizeof(out));
	ck_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
	pd_clock_rfc3339(1795000000123LL, out, sizeof(out));
	ck_assert_str_eq(out, "2026-11-18T11:06:40.123Z");
	pd_clock_rfc3339(951782400000LL, out, sizeof(out)); /* a leap day */
	ck_assert_str_eq(out, "2000-02-29T00:00:00.000Z");
	pd_clock_rfc3339(1795000000123LL, small, sizeof(small)); /* cut, terminated */
	ck_assert_uint_lt(strlen(small), sizeof(small));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("clock");

	tcase_add_test(tc, test_injected_and_real);
	tcase_add_test(tc, test_rfc3339);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(suite());
}
