/* check_outcome.c — the stored outcome numbers and their stable names. */
#include <string.h>
#include "probed/outcome.h"
#include "testlib.h"

/* The numbers are stored in SQLite: they must never move. */
START_TEST(test_numbers_and_names)
{
	static const struct {
		int v;
		const char *name;
	} fixed[] = {{PD_OUT_OK, "ok"},
		     {PD_OUT_DNS, "dns"},
		     {PD_OUT_CONNECT, "connect"},
		     {PD_OUT_TLS, "tls"},
		     {PD_OUT_TIMEOUT, "timeout"}};

	ck_assert_int_eq(PD_OUT_OK, 0);
	ck_assert_int_eq(PD_OUT_HTTP_5XX, 5);
	ck_assert_int_eq(PD_OUT_KEY_REJECTED, 7);
	ck_assert_int_eq(PD_OUT_SHAPE, 9);
	ck_assert_int_eq(PD_OUT_LATE, 16);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		ck_assert_str_eq(pd_outcome_str(fixed[i].v), fixed[i].name);
}
END_TEST

START_TEST(test_round_trip)
{
	for (int o = 0; o < PD_OUT__COUNT; o++) {
		const char *s = pd_outcome_str(o);

		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(pd_outcome_from_str(s), o);
		for (int p = 0; p < o; p++)
			ck_assert_str_ne(s, pd_outcome_str(p));
	}
	ck_assert_int_eq(pd_outcome_from_str("no-such-outcome"), -1);
	ck_assert_int_eq(pd_outcome_from_str(""), -1);
	ck_assert_ptr_nonnull(pd_outcome_str(PD_OUT__COUNT + 5));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("outcome");
	TCase *tc = tcase_create("outcome");

	tcase_add_test(tc, test_numbers_and_names);
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(suite());
}
