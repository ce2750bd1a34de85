/* testlib.h — what every Check suite shares: a scratch directory per test, its removal,
 * and the runner of a suite (linked into every tests/check_*.c). */
#ifndef PROBED_TESTLIB_H
#define PROBED_TESTLIB_H
#include <stddef.h>
#include <check.h>

/* Make a fresh directory $TMPDIR/probed-TAG.XXXXXX (TMPDIR default /tmp) and write its
 * path into out (cap bytes). Fails the running test when it cannot. */
void pd_test_tmpdir(char *out, size_t cap, const char *tag);
/* Remove path and everything below it (a missing path is fine). */
void pd_test_rm_tree(const char *path);
/* Run every test of s (the runner frees s); 0 when all passed, 1 otherwise: main()'s exit
 * status. */
int pd_test_run(Suite *s);

#endif
