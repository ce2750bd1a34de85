/* check_err.c — the operator's error buffer, the code names and "did you mean". */
#include <string.h>
#include "probed/err.h"
#include "testlib.h"

START_TEST(test_set)
{
	struct pd_err err = {0};
	char long_word[400];

	ck_assert_int_eq(pd_err_set(&err, PD_ERR_IO, "%s: %d", "file", 7), PD_ERR_IO);
	ck_assert_int_eq(err.code, PD_ERR_IO);
	ck_assert_str_eq(err.msg, "file: 7");
	ck_assert_int_eq(pd_err_set(NULL, PD_ERR_DB, "x"), PD_ERR_DB); /* NULL: only the code */
	memset(long_word, 'w', sizeof(long_word) - 1);
	long_word[sizeof(long_word) - 1] = '\0';
	pd_err_set(&err, PD_ERR_INVALID, "%s", long_word); /* cut, still terminated */
	ck_assert_uint_eq(strlen(err.msg), sizeof(err.msg) - 1);
}
END_TEST

START_TEST(test_code_names)
{
	const int codes[] = {PD_OK,     PD_ERR_NOMEM,   PD_ERR_IO,   PD_ERR_CONFIG,
			     PD_ERR_DB, PD_ERR_INVALID, PD_ERR_HTTP, PD_ERR_NOTFOUND};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ck_assert_ptr_nonnull(pd_err_code_str(codes[i]));
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(pd_err_code_str(codes[i]), pd_err_code_str(codes[j]));
	}
	ck_assert_ptr_nonnull(pd_err_code_str(-999));
}
END_TEST

START_TEST(test_nearest)
{
	static const char *const names[] = {"interval", "timeout", "failures_before_page",
					    "max-latency", NULL};

	ck_assert_str_eq(pd_err_nearest("intervall", names), "interval");
	ck_assert_str_eq(pd_err_nearest("tiemout", names), "timeout"); /* a swap: one edit */
	ck_assert_str_eq(pd_err_nearest("Failures-Before-Page", names), "failures_before_page");
	ck_assert_str_eq(pd_err_nearest("max_latency", names), "max-latency");
	ck_assert_ptr_null(pd_err_nearest("interval", names)); /* exact: nothing to suggest */
	ck_assert_ptr_null(pd_err_nearest("zzzzzz", names));   /* nothing close */
	ck_assert_ptr_null(pd_err_nearest("", names));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("err");

	tcase_add_test(tc, test_set);
	tcase_add_test(tc, test_code_names);
	tcase_add_test(tc, test_nearest);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(suite());
}
