/* check_hash.c — the hashes against published FNV-1a test vectors and the properties the
 * callers rely on. */
#include <check.h>
#include <string.h>
#include "testlib.h"
#include "probed/hash.h"

START_TEST(test_fnv1a_vectors)
{
	/* FNV-1a 64 reference values (Fowler, Noll, Vo: "", "a", "foobar") */
	ck_assert_uint_eq(pd_hash_fnv1a(PD_HASH_FNV_OFFSET, "", 0), 0xcbf29ce484222325ULL);
	ck_assert_uint_eq(pd_hash_fnv1a(PD_HASH_FNV_OFFSET, "a", 1), 0xaf63dc4c8601ec8cULL);
	ck_assert_uint_eq(pd_hash_fnv1a(PD_HASH_FNV_OFFSET, "foobar", 6), 0x85944171f73967e8ULL);
	ck_assert_uint_eq(pd_hash_str(PD_HASH_FNV_OFFSET, "foobar"), 0x85944171f73967e8ULL);
	/* folding in pieces is folding the whole */
	ck_assert_uint_eq(pd_hash_fnv1a(pd_hash_fnv1a(PD_HASH_FNV_OFFSET, "foo", 3), "bar", 3),
			  pd_hash_str(PD_HASH_FNV_OFFSET, "foobar"));
}
END_TEST

START_TEST(test_mix64)
{
	/* splitmix64's finalizer: 0 stays 0, neighbours land far apart */
	ck_assert_uint_eq(pd_hash_mix64(0), 0);
	ck_assert_uint_ne(pd_hash_mix64(1), pd_hash_mix64(2));
	ck_assert_uint_ge(__builtin_popcountll(pd_hash_mix64(1) ^ pd_hash_mix64(2)), 16);
}
END_TEST

static Suite *
hash_suite(void)
{
	Suite *s = suite_create("hash");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_fnv1a_vectors);
	tcase_add_test(tc, test_mix64);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(hash_suite());
}
