/* check_buf.c — the capped byte buffer, pd_buf_grow and the UTF-8 scrub. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "probed/buf.h"
#include "probed/err.h"
#include "testlib.h"

START_TEST(test_append_and_printf)
{
	struct pd_buf b;

	pd_buf_init(&b, 0);
	ck_assert_int_eq(pd_buf_append(&b, "abc", 3), 0);
	ck_assert_int_eq(pd_buf_printf(&b, "-%d-%s", 42, "x"), 0);
	ck_assert_str_eq(b.data, "abc-42-x");
	ck_assert_uint_eq(b.len, 8);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(pd_buf_append(&b, "0123456789", 10), 0);
	ck_assert_uint_eq(b.len, 8 + 100000);
	ck_assert_int_eq(b.data[b.len], '\0');
	pd_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	pd_buf_cleanup(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

/* The cap: an append that would pass it appends nothing and marks the buffer. */
START_TEST(test_limit)
{
	struct pd_buf b;

	pd_buf_init(&b, 8);
	ck_assert_int_eq(pd_buf_append(&b, "12345", 5), 0);
	ck_assert_int_eq(b.over, 0);
	ck_assert_int_eq(pd_buf_append(&b, "6789", 4), PD_ERR_INVALID);
	ck_assert_int_eq(b.over, 1);
	ck_assert_str_eq(b.data, "12345");
	ck_assert_int_eq(pd_buf_append(&b, "678", 3), 0);
	ck_assert_str_eq(b.data, "12345678");
	ck_assert_int_eq(pd_buf_printf(&b, "%s", "x"), PD_ERR_INVALID);
	ck_assert_str_eq(b.data, "12345678");
	pd_buf_cleanup(&b);
}
END_TEST

START_TEST(test_grow)
{
	int *a = NULL;
	size_t cap = 0;

	ck_assert_int_eq(pd_buf_grow(&a, &cap, 1, sizeof(*a)), 0);
	ck_assert_uint_eq(cap, 8);
	ck_assert_int_eq(pd_buf_grow(&a, &cap, 8, sizeof(*a)), 0);
	ck_assert_uint_eq(cap, 8); /* already holds 8 */
	a[7] = 7;
	ck_assert_int_eq(pd_buf_grow(&a, &cap, 9, sizeof(*a)), 0);
	ck_assert_uint_eq(cap, 16);
	ck_assert_int_eq(a[7], 7); /* contents kept */
	ck_assert_int_eq(pd_buf_grow(&a, &cap, 1000, sizeof(*a)), 0);
	ck_assert_uint_eq(cap, 1024);
	a[999] = 1;
	/* a size that cannot be allocated: -1 and the array as it was */
	ck_assert_int_eq(pd_buf_grow(&a, &cap, SIZE_MAX / 2, sizeof(*a)), -1);
	ck_assert_uint_eq(cap, 1024);
	ck_assert_int_eq(a[7], 7);
	free(a);
}
END_TEST

START_TEST(test_utf8_scrub)
{
	char ok[] = "plain ascii, caf\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x98\x80";
	char cut[] = "caf\xc3"; /* cut mid-character */
	char bad[] = "a\xff"
		     "b\xc0\xaf"
		     "c\xed\xa0\x80"; /* 0xff, overlong '/', a surrogate */
	char lone[] = "x\x80y";

	ck_assert_uint_eq(pd_buf_utf8_scrub(ok), 0);
	ck_assert_uint_eq(pd_buf_utf8_scrub(cut), 1);
	ck_assert_str_eq(cut, "caf?");
	ck_assert_uint_ge(pd_buf_utf8_scrub(bad), 4);
	ck_assert_int_eq(pd_test_utf8_valid((const unsigned char *)bad, strlen(bad)), 1);
	ck_assert_int_eq(bad[0], 'a');
	ck_assert_uint_eq(pd_buf_utf8_scrub(lone), 1);
	ck_assert_str_eq(lone, "x?y");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, test_append_and_printf);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_grow);
	tcase_add_test(tc, test_utf8_scrub);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(suite());
}
