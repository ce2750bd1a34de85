/* replay_main.c — runs LLVMFuzzerTestOneInput once on every file named on the command
 * line, or on every regular file of a directory named there (not recursive), in name
 * order. Built without libFuzzer, so the corpora replay as regression tests in the
 * normal and the sanitizer builds (ctest fuzz_replay_<name>). A finding aborts (or is
 * reported by the sanitizer); otherwise the exit status is 0, or 1 when a file could not
 * be read or nothing was run. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "fuzz.h"

static int
replay_file(const char *path, double *slowest, char *slowest_name, size_t cap)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, capd = 0;
	struct timespec t0, t1;
	double dt;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (len == capd) {
			uint8_t *nd = realloc(data, capd ? capd * 2 : 4096);

			if (nd == NULL) {
				fprintf(stderr, "replay: %s: out of memory\n", path);
				free(data);
				fclose(f);
				return -1;
			}
			data = nd;
			capd = capd ? capd * 2 : 4096;
		}
		n = fread(data + len, 1, capd - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* libFuzzer hands over an exact-size heap copy: so do we (ASan sees overreads) */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (exact == NULL) {
			free(data);
			return -1;
		}
		memcpy(exact, data, len);
		free(data);
		data = exact;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	LLVMFuzzerTestOneInput(data, len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(data);
	dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (dt > *slowest) {
		*slowest = dt;
		snprintf(slowest_name, cap, "%s", path);
	}
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	size_t runs = 0, failed = 0;
	double slowest = 0;
	char slowest_name[4096] = "";

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *de;
		char **names = NULL;
		size_t n = 0, cap = 0;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (replay_file(argv[i], &slowest, slowest_name, sizeof(slowest_name)) != 0)
				failed++;
			else
				runs++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failed++;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			char path[4096];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			if (n == cap) {
				char **nn = realloc(names, (cap ? cap * 2 : 64) * sizeof(*nn));

				if (nn == NULL)
					break;
				names = nn;
				cap = cap ? cap * 2 : 64;
			}
			if ((names[n] = strdup(path)) != NULL)
				n++;
		}
		closedir(d);
		qsort(names, n, sizeof(*names), name_cmp);
		for (size_t k = 0; k < n; k++) {
			if (replay_file(names[k], &slowest, slowest_name, sizeof(slowest_name)) !=
			    0)
				failed++;
			else
				runs++;
			free(names[k]);
		}
		free(names);
	}
	printf("replay: %zu inputs run, %zu unreadable; slowest %.3f s (%s)\n", runs, failed,
	       slowest, slowest_name[0] ? slowest_name : "-");
	return failed > 0 || runs == 0;
}
