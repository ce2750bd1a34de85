/* testlib.c — shared helpers of the Check suites (see testlib.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testlib.h"

void
pd_test_tmpdir(char *out, size_t cap, const char *tag)
{
	const char *base = getenv("TMPDIR");
	int n;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	n = snprintf(out, cap, "%s/probed-%s.XXXXXX", base, tag);
	ck_assert_msg(n > 0 && (size_t)n < cap, "scratch directory name too long");
	ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp %s failed", out);
}

void
pd_test_rm_tree(const char *path)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;
	char p[4096];

	if (lstat(path, &sb) != 0)
		return;
	if (!S_ISDIR(sb.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if ((size_t)snprintf(p, sizeof(p), "%s/%s", path, de->d_name) < sizeof(p))
				pd_test_rm_tree(p);
		}
		closedir(d);
	}
	rmdir(path);
}

int
pd_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
