/* bench/fill.c — history for the benchmark's readers phase (bench/run.sh): N probes named
 * as the benchmark's configs name them (p00001 ...), each with one result every STEP
 * seconds over the SPAN seconds before now, written through the store's own write path
 * (pd_store_add_result, so the minute and hour aggregates are filled as probed fills them;
 * one commit per 5,000 results). About 1 % of the results older than 2 h fail (HTTP 502;
 * none later, so the live run starts healthy), latencies vary around 40 ms, so the status page has a day of real-looking bars to draw.
 *
 * usage: fill DB N SPAN_S STEP_S
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "probed/err.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/result.h"
#include "probed/store.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

int
main(int argc, char **argv)
{
	struct pd_store *st = NULL;
	struct pd_err err = {0};
	struct timespec ts;
	long n, span_s, step_s;
	int64_t now_ms, t0, nres = 0;
	char name[32];

	if (argc != 5 || (n = atol(argv[2])) < 1 || (span_s = atol(argv[3])) < 1 ||
	    (step_s = atol(argv[4])) < 1) {
		fprintf(stderr, "usage: fill DB N SPAN_S STEP_S\n");
		return 64;
	}
	pd_log_set_level(PD_LOG_WARN); /* no "schema migrated" lines in the benchmark's log */
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	t0 = now_ms - (int64_t)span_s * 1000;
	if (pd_store_open(argv[1], 0, &st, &err) != 0) {
		fprintf(stderr, "fill: %s\n", err.msg);
		return 1;
	}
	/* time-major, as probed writes: every probe's result of one step, then the next */
	for (int64_t t = t0; t < now_ms - 1000; t += (int64_t)step_s * 1000) {
		for (long p = 1; p <= n; p++) {
			struct pd_result r;
			int bad = rng() % 100 == 0 && t < now_ms - 2 * 3600 * 1000;

			memset(&r, 0, sizeof(r));
			snprintf(name, sizeof(name), "p%05ld", p);
			r.ts_ms = t + (p * (int64_t)step_s * 1000) / n;
			if (r.ts_ms >= now_ms - 1000)
				continue;
			r.outcome = bad ? PD_OUT_HTTP_5XX : PD_OUT_OK;
			r.http_status = bad ? 502 : 200;
			r.dns_ms = -1;
			r.tls_ms = -1;
			r.connect_ms = 0.1;
			r.ttfb_ms = 20 + (double)(rng() % 4000) / 100.0;
			r.total_ms = r.ttfb_ms + 0.5;
			r.body_size = 40;
			snprintf(r.verdict, sizeof(r.verdict), "%s", bad ? "status 502" : "ok");
			if (pd_store_add_result(st, name, &r, &err) != 0) {
				fprintf(stderr, "fill: %s\n", err.msg);
				return 1;
			}
			if (++nres % 5000 == 0 && pd_store_flush(st, &err) != 0) {
				fprintf(stderr, "fill: %s\n", err.msg);
				return 1;
			}
		}
	}
	if (pd_store_flush(st, &err) != 0) {
		fprintf(stderr, "fill: %s\n", err.msg);
		return 1;
	}
	pd_store_free(st);
	fprintf(stderr, "fill: %lld results for %ld probes over %ld s\n", (long long)nres, n,
		span_s);
	return 0;
}
