/* bench/prune.c — how long one retention chunk holds the event loop.
 *
 * Fills a temporary database with PROBES probes x ROWS results each, all older than the
 * cutoff, through the real write path (pd_store_add_result: results and their per-minute
 * aggregates, batched), then calls pd_store_prune(cutoff, CHUNK) until nothing is left,
 * as the daemon's prune timer does, timing each call (the delete and its commit, on the
 * calling thread: the loop in the daemon). Prints the chunk times: median, p99, max.
 *
 *   prune [--probes N] [--rows N] [--chunk N]
 *
 * Build (from the top of the tree, after cmake --build BUILD):
 *   gcc -O2 -Iinclude bench/prune.c BUILD/libprobecore.a $(pkg-config --libs sqlite3 \
 *       libcurl libcjson yaml-0.1 libpcre2-8 libsystemd libmicrohttpd) -lev -lm -o prune
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "probed/clock.h"
#include "probed/store.h"

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int probes = 1000, rows = 1000, chunk = 2000;
	char dir[] = "/tmp/prune-bench.XXXXXX", path[64], name[32];
	struct pd_store *st;
	struct pd_err err = {0};
	int64_t *t, base = 1700000000000LL, sum = 0;
	size_t n = 0, cap;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--probes") == 0)
			probes = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--rows") == 0)
			rows = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--chunk") == 0)
			chunk = atoi(argv[i + 1]);
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/db", dir);
	if (pd_store_open(path, 0, &st, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	/* one result per probe per second, as 1,000 probes every 1 s write them */
	for (int r = 0; r < rows; r++) {
		for (int p = 0; p < probes; p++) {
			struct pd_result res;

			memset(&res, 0, sizeof(res));
			res.ts_ms = base + (int64_t)r * 1000 + p;
			res.http_status = 200;
			res.total_ms = 3.5 + p % 7;
			res.lateness_us = 300;
			snprintf(name, sizeof(name), "p%05d", p);
			if (pd_store_add_result(st, name, &res, &err) != 0) {
				fprintf(stderr, "fill, row %d: %s\n", r, err.msg);
				return 1;
			}
		}
		if (r % 10 == 9) {
			if (pd_store_flush(st, &err) != 0) {
				fprintf(stderr, "%s\n", err.msg);
				return 1;
			}
			usleep(50000); /* let the checkpoint thread catch up, as between batches */
		}
	}
	pd_store_flush(st, &err);
	cap = (size_t)probes * (size_t)rows / (size_t)(chunk > 0 ? chunk : 1) + 1024;
	t = calloc(cap, sizeof(*t));
	for (;;) {
		int deleted = 0;
		int64_t t0 = now_us(), dt;

		if (pd_store_prune(st, base + (int64_t)rows * 1000 + 60000, chunk, &deleted,
				   &err) != 0) {
			struct pd_store_ckpt_stats cs;

			pd_store_ckpt_stats(st, &cs);
			fprintf(stderr,
				"prune, chunk %zu: %s (checkpoints %lld, "
				"max %lld us, WAL %lld frames)\n",
				n, err.msg, (long long)cs.checkpoints, (long long)cs.max_us,
				(long long)cs.wal_frames);
			return 1;
		}
		dt = now_us() - t0;
		if (deleted == 0)
			break;
		if (n < cap)
			t[n++] = dt;
		sum += dt;
		usleep(2000); /* the checkpoint thread runs beside it, as in the daemon */
	}
	qsort(t, n, sizeof(*t), cmp64);
	if (n > 0)
		printf("probes=%d rows=%d (%d in all) chunk=%d: %zu chunks, per chunk "
		       "median %.2f ms, p99 %.2f ms, max %.2f ms, mean %.2f ms\n",
		       probes, rows, probes * rows, chunk, n, t[n / 2] / 1000.0,
		       t[n * 99 / 100] / 1000.0, t[n - 1] / 1000.0, sum / 1000.0 / (double)n);
	free(t);
	pd_store_free(st);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	return system(path) == 0 ? 0 : 1;
}
