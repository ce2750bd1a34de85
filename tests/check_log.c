/* check_log.c — log lines on stderr: level filter, journald prefix, and the masking of
 * registered secrets (the last line of defence for the API key). Each test captures
 * stderr in a file of its scratch directory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "probed/log.h"
#include "testlib.h"

static char dir[128], path[192];
static int saved = -1;

static void
capture(void)
{
	int fd;

	pd_test_tmpdir(dir, sizeof(dir), "log");
	snprintf(path, sizeof(path), "%s/stderr", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = dup(2);
	ck_assert_int_ge(dup2(fd, 2), 0);
	close(fd);
}

/* Stop capturing; the caller frees what was written. */
static char *
captured(void)
{
	char *s;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	s = pd_test_slurp(path, NULL);
	ck_assert_ptr_nonnull(s);
	pd_test_rm_tree(dir);
	return s;
}

START_TEST(test_levels_and_format)
{
	char *out;

	pd_log_set_journald(0);
	pd_log_set_level(PD_LOG_INFO);
	capture();
	pd_log_err("first %d", 1);
	pd_log_debug("not shown");
	pd_log_info("second");
	out = captured();
	ck_assert_ptr_nonnull(strstr(out, "error first 1\n"));
	ck_assert_ptr_nonnull(strstr(out, "info  second\n"));
	ck_assert_ptr_null(strstr(out, "not shown"));
	ck_assert_int_eq(out[4], '-'); /* a timestamp first: 2026-... */
	free(out);

	pd_log_set_journald(1);
	capture();
	pd_log_warn("to the journal");
	out = captured();
	ck_assert_str_eq(out, "<4>to the journal\n");
	free(out);
}
END_TEST

START_TEST(test_secrets_masked)
{
	const char *key = "canary-key-0123456789";
	char line[128];
	char *out;

	pd_log_set_journald(1);
	pd_log_set_level(PD_LOG_DEBUG);
	pd_log_add_secret(key);
	pd_log_add_secret(""); /* ignored: would mask everything */
	capture();
	pd_log_err("header X-Api-Key: %s; again %s", key, key);
	out = captured();
	ck_assert_ptr_null(strstr(out, key));
	ck_assert_ptr_nonnull(strstr(out, "X-Api-Key: [REDACTED]; again [REDACTED]"));
	free(out);

	snprintf(line, sizeof(line), "url?key=%s&x=1", key);
	pd_log_redact(line, sizeof(line));
	ck_assert_str_eq(line, "url?key=[REDACTED]&x=1");

	/* rotation: cleared secrets are no longer masked, new ones are */
	pd_log_clear_secrets();
	pd_log_add_secret("rotated-key-987");
	snprintf(line, sizeof(line), "%s %s", key, "rotated-key-987");
	pd_log_redact(line, sizeof(line));
	ck_assert_str_eq(line, "canary-key-0123456789 [REDACTED]");
	pd_log_clear_secrets();
}
END_TEST

/* Many secrets (a token rotated by every SIGHUP): each is masked. */
START_TEST(test_many_secrets)
{
	char s[64], line[64];

	for (int i = 0; i < 300; i++) {
		snprintf(s, sizeof(s), "secret-number-%03d", i);
		pd_log_add_secret(s);
	}
	for (int i = 0; i < 300; i += 37) {
		snprintf(line, sizeof(line), "k=secret-number-%03d", i);
		pd_log_redact(line, sizeof(line));
		ck_assert_str_eq(line, "k=[REDACTED]");
	}
	pd_log_clear_secrets();
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, test_levels_and_format);
	tcase_add_test(tc, test_secrets_masked);
	tcase_add_test(tc, test_many_secrets);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(suite());
}
