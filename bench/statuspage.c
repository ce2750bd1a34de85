/* bench/statuspage.c — how long the status page takes at scale.
 *
 * Fills a temporary database with PROBES probes x 24 h of results at one per INTERVAL
 * per probe through the real write path (pd_store_add_result + pd_store_flush, so the
 * per-minute and per-hour aggregates are written as the daemon writes them), builds a
 * real daemon over it (not run: its loop never starts, so nothing probes), and times
 * on that daemon:
 *   - pd_statuspage_collect with an empty series cache (cold: a first request, or the
 *     first after the cache expired) and with a filled one (warm);
 *   - pd_statuspage_html and pd_statuspage_json over the collected view;
 *   - when the cache fills in the background (pd_statuspage_refresh), the slices it
 *     takes: how many, the longest, and how long until every series is complete.
 * Each figure is the median (and max) of REPS runs, in ms of wall time, with the median
 * CPU time of the thread where it matters (the machine may be shared), as Markdown
 * (bench/statuspage.sh puts it into bench/RESULTS-statuspage.md).
 *
 *   statuspage [--probes N] [--interval-ms N] [--reps N] [--db PATH] [--keep]
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ev.h>
#include "probed/buf.h"
#include "probed/config.h"
#include "probed/daemon.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/statuspage.h"
#include "probed/store.h"

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL

static int opt_probes = 1000, opt_reps = 7, opt_keep = 0;
static int64_t opt_interval = 30000;
static const char *opt_db = NULL;

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* this thread's CPU time: a slice's own work, without the time the (shared) machine
 * gave to others while it ran */
static double
cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static double
unit(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

static void
die(const char *what, const char *msg)
{
	fprintf(stderr, "statuspage: %s: %s\n", what, msg);
	exit(1);
}

/* log-normal latency around a per-probe median with a daily cycle, ~0.3 % failures */
static struct pd_result
synth(int p, int64_t ts)
{
	struct pd_result r;
	double hour = (double)((ts % DAY_MS) / HOUR_MS);
	double z = (unit() + unit() + unit() + unit() - 2.0) * 1.7;
	double med = 40 + (p % 17) * 20;
	double ms = med * (1 + 0.3 * sin(hour / 24 * 2 * M_PI)) * exp(0.25 * z);

	memset(&r, 0, sizeof(r));
	r.ts_ms = ts;
	r.http_status = 200;
	r.ttfb_ms = ms * 0.9;
	r.total_ms = ms;
	r.body_size = 420;
	strcpy(r.verdict, "ok");
	if (unit() < 0.003) {
		r.outcome = PD_OUT_HTTP_5XX;
		r.http_status = 502;
		snprintf(r.verdict, sizeof(r.verdict), "%s", pd_outcome_str(r.outcome));
	}
	return r;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stat_set {
	double med, max;
};

static struct stat_set
summarize(double *v, int n)
{
	struct stat_set s;

	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	s.med = v[n / 2];
	s.max = v[n - 1];
	return s;
}

static void
row(const char *what, struct stat_set s, int reps, const char *note)
{
	printf("| %s | %.2f | %.2f | | %d | %s |\n", what, s.med / 1000, s.max / 1000, reps, note);
}

/* a row with the median CPU time of this thread as well (c: per run, us) */
static void
row_cpu(const char *what, struct stat_set s, struct stat_set c, int reps, const char *note)
{
	printf("| %s | %.2f | %.2f | %.2f | %d | %s |\n", what, s.med / 1000, s.max / 1000,
	       c.med / 1000, reps, note);
}

static void
fill(const char *path, int64_t now_ms)
{
	struct pd_store *st;
	struct pd_err err = {0};
	char name[32];
	int64_t t0 = now_ms - DAY_MS - HOUR_MS, n = 0;
	double t = now_us();

	if (pd_store_open(path, 0, &st, &err) != 0)
		die("open", err.msg);
	for (int64_t ts = t0; ts < now_ms; ts += opt_interval) {
		for (int p = 0; p < opt_probes; p++) {
			/* the probes spread over the interval, as the scheduler spreads them */
			int64_t pts = ts + (opt_interval * p) / opt_probes;
			struct pd_result r;

			if (pts >= now_ms)
				continue;
			r = synth(p, pts);
			snprintf(name, sizeof(name), "p%04d", p);
			if (pd_store_add_result(st, name, &r, &err) != 0)
				die("add", err.msg);
			if (++n % 5000 == 0 && pd_store_flush(st, &err) != 0)
				die("flush", err.msg);
		}
	}
	if (pd_store_flush(st, &err) != 0)
		die("flush", err.msg);
	pd_store_free(st);
	printf("- fill: %" PRId64 " results (%d probes x 25 h at %" PRId64
	       " ms) in %.1f s through pd_store_add_result\n",
	       n, opt_probes, opt_interval, (now_us() - t) / 1e6);
}

static struct pd_daemon *
daemon_over(const char *path, struct ev_loop *loop)
{
	struct pd_buf y;
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	struct pd_daemon_opts opts = {0};
	struct pd_daemon *d;

	pd_buf_init(&y, 0);
	if (pd_buf_printf(&y, "store:\n  path: %s\nprobes:\n", path) != 0)
		die("config", "out of memory");
	for (int p = 0; p < opt_probes; p++)
		if (pd_buf_printf(&y,
				  "  - name: p%04d\n    interval: 1h\n"
				  "    url: http://127.0.0.1:1/endpoint-%d/\n",
				  p, p) != 0)
			die("config", "out of memory");
	if (pd_config_load_string(y.data, y.len, "bench.yaml", &cfg, &err, NULL, NULL) != 0)
		die("config", err.msg);
	pd_buf_cleanup(&y);
	if ((d = pd_daemon_new(loop, cfg, &opts, &err)) == NULL)
		die("daemon", err.msg);
	return d;
}

static double last_cpu; /* CPU time of the last collect_once / render_once, us */

static double
collect_once(struct pd_statuspage *sp, struct pd_daemon *d, int64_t now_ms,
	     struct pd_statuspage_view *v)
{
	struct pd_err err = {0};
	double t = now_us(), c = cpu_us();

	if (pd_statuspage_collect(sp, d, now_ms, v, &err) != 0)
		die("collect", err.msg);
	last_cpu = cpu_us() - c;
	return now_us() - t;
}

static double
render_once(const struct pd_statuspage_view *v, int json, size_t *len)
{
	struct pd_err err = {0};
	struct pd_buf b;
	double t;
	int rc;

	double c;

	pd_buf_init(&b, 64 * 1024 * 1024);
	t = now_us();
	c = cpu_us();
	rc = json ? pd_statuspage_json(v, &b, &err) : pd_statuspage_html(v, &b, &err);
	last_cpu = cpu_us() - c;
	t = now_us() - t;
	if (rc != 0)
		die("render", err.msg);
	*len = b.len;
	pd_buf_cleanup(&b);
	return t;
}

/* Refresh slices until every series is fresh, as the listener's timer runs them. */
struct slices {
	double n, max, total, cpu_max, over5; /* slices; us; us; us; slices over 5 ms */
};

static struct slices
drain(struct pd_statuspage *sp, struct pd_store *st, int64_t now_ms)
{
	struct slices r = {0, 0, 0, 0, 0};
	int more = 1;

	while (more) {
		double t = now_us(), c = cpu_us();

		more = pd_statuspage_refresh(sp, st, now_ms, PD_STATUSPAGE_SLICE_US);
		t = now_us() - t;
		c = cpu_us() - c;
		if (c > r.cpu_max)
			r.cpu_max = c;
		if (t > 5000)
			r.over5++;
		r.n++;
		r.total += t;
		if (t > r.max)
			r.max = t;
		if (r.n > 1e6)
			die("refresh", "does not converge");
	}
	return r;
}

int
main(int argc, char **argv)
{
	char path[256];
	struct ev_loop *loop;
	struct pd_daemon *d;
	struct pd_statuspage_view v;
	int64_t now_ms;
	double *cold, *warm, *html, *json, *fill_n, *fill_max, *fill_total, *live_n, *live_max,
		*live_total, *fill_cpu, *live_cpu, *fill_over, *live_over, *cold_c, *warm_c,
		*html_c, *json_c;
	size_t hlen = 0, jlen = 0, cache_bytes = 0;
	int64_t checks = 0;
	int complete = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--probes") == 0 && i + 1 < argc)
			opt_probes = atoi(argv[++i]);
		else if (strcmp(argv[i], "--interval-ms") == 0 && i + 1 < argc)
			opt_interval = atoll(argv[++i]);
		else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			opt_reps = atoi(argv[++i]);
		else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			opt_db = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0)
			opt_keep = 1;
		else
			die("usage",
			    "statuspage [--probes N] [--interval-ms N] [--reps N] [--db PATH] "
			    "[--keep]");
	}
	if (opt_probes < 1 || opt_probes > 9999 || opt_interval < 100 || opt_reps < 1)
		die("usage", "--probes 1..9999, --interval-ms >= 100, --reps >= 1");
	pd_log_set_level(PD_LOG_WARN);
	/* a fixed "now" 7 minutes into a 15-minute bucket, so runs are comparable */
	now_ms = (int64_t)time(NULL) * 1000;
	now_ms -= now_ms % (15 * 60 * 1000);
	now_ms += 7 * 60 * 1000 + 12345;
	if (opt_db != NULL)
		snprintf(path, sizeof(path), "%s", opt_db);
	else
		snprintf(path, sizeof(path), "/tmp/pd-bench-statuspage-%d.db", (int)getpid());
	fill(path, now_ms);

	loop = ev_loop_new(EVFLAG_AUTO);
	d = daemon_over(path, loop);
	cold = calloc((size_t)opt_reps, sizeof(double));
	warm = calloc((size_t)opt_reps, sizeof(double));
	html = calloc((size_t)opt_reps, sizeof(double));
	json = calloc((size_t)opt_reps, sizeof(double));
	fill_n = calloc((size_t)opt_reps, sizeof(double));
	fill_max = calloc((size_t)opt_reps, sizeof(double));
	fill_total = calloc((size_t)opt_reps, sizeof(double));
	live_n = calloc((size_t)opt_reps, sizeof(double));
	live_max = calloc((size_t)opt_reps, sizeof(double));
	live_total = calloc((size_t)opt_reps, sizeof(double));
	fill_cpu = calloc((size_t)opt_reps, sizeof(double));
	cold_c = calloc((size_t)opt_reps, sizeof(double));
	warm_c = calloc((size_t)opt_reps, sizeof(double));
	html_c = calloc((size_t)opt_reps, sizeof(double));
	json_c = calloc((size_t)opt_reps, sizeof(double));
	live_cpu = calloc((size_t)opt_reps, sizeof(double));
	fill_over = calloc((size_t)opt_reps, sizeof(double));
	live_over = calloc((size_t)opt_reps, sizeof(double));
	if (!cold || !warm || !html || !json || !fill_n || !fill_max || !fill_total || !live_n ||
	    !live_max || !live_total || !fill_cpu || !live_cpu || !fill_over || !live_over ||
	    !cold_c || !warm_c || !html_c || !json_c)
		die("main", "out of memory");
	for (int r = 0; r < opt_reps; r++) {
		struct pd_statuspage *sp = pd_statuspage_new();
		struct pd_store *st = pd_daemon_store(d);
		struct slices fillr, liver;

		if (sp == NULL)
			die("main", "out of memory");
		/* a first request: one slice of the fill, the rest shown as incomplete */
		cold[r] = collect_once(sp, d, now_ms, &v);
		cold_c[r] = last_cpu;
		pd_statuspage_view_cleanup(&v);
		/* the listener's timer fills the rest, a slice per tick */
		fillr = drain(sp, st, now_ms);
		warm[r] = collect_once(sp, d, now_ms + 1000, &v);
		warm_c[r] = last_cpu;
		html[r] = render_once(&v, 0, &hlen);
		html_c[r] = last_cpu;
		json[r] = render_once(&v, 1, &jlen);
		json_c[r] = last_cpu;
		if (r == 0) {
			for (size_t i = 0; i < v.nprobes; i++) {
				checks += v.probes[i].day.count;
				complete += v.probes[i].series_complete;
			}
			cache_bytes = pd_statuspage_cache_bytes(sp);
		}
		pd_statuspage_view_cleanup(&v);
		/* 10 s later every open part is stale: one refresh round */
		liver = drain(sp, st, now_ms + PD_STATUSPAGE_CACHE_MS + 1000);
		fill_n[r] = fillr.n;
		fill_max[r] = fillr.max;
		fill_total[r] = fillr.total;
		live_n[r] = liver.n;
		live_max[r] = liver.max;
		live_total[r] = liver.total;
		fill_cpu[r] = fillr.cpu_max;
		live_cpu[r] = liver.cpu_max;
		fill_over[r] = fillr.over5;
		live_over[r] = liver.over5;
		pd_statuspage_free(sp);
	}
	printf("- view: %d probes (%d with a complete series after the fill), %" PRId64
	       " checks in the 24 h totals; HTML %zu bytes, JSON %zu bytes; series cache %zu "
	       "bytes (%.0f per probe)\n\n",
	       opt_probes, complete, checks, hlen, jlen, cache_bytes,
	       (double)cache_bytes / opt_probes);
	printf("| step | median ms | max ms | median CPU ms | runs | note |\n"
	       "|---|---|---|---|---|---|\n");
	row_cpu("pd_statuspage_collect, empty cache (cold)", summarize(cold, opt_reps),
		summarize(cold_c, opt_reps), opt_reps,
		"a first request: one refresh slice, the rest incomplete");
	row_cpu("pd_statuspage_collect, cache filled (warm)", summarize(warm, opt_reps),
		summarize(warm_c, opt_reps), opt_reps, "every later request");
	row_cpu("pd_statuspage_html", summarize(html, opt_reps), summarize(html_c, opt_reps),
		opt_reps, "render only");
	row_cpu("pd_statuspage_json", summarize(json, opt_reps), summarize(json_c, opt_reps),
		opt_reps, "render only");
	row("cache fill: total store work", summarize(fill_total, opt_reps), opt_reps,
	    "all slices of the first fill, summed");
	row("cache fill: longest slice", summarize(fill_max, opt_reps), opt_reps,
	    "the longest loop stall of the fill");
	row("cache fill: longest slice, CPU time of this thread", summarize(fill_cpu, opt_reps),
	    opt_reps, "the slice's own work (wall minus preemption)");
	row("10 s later: total store work", summarize(live_total, opt_reps), opt_reps,
	    "open buckets + 24 h totals of every probe");
	row("10 s later: longest slice", summarize(live_max, opt_reps), opt_reps,
	    "the longest loop stall of a refresh round");
	row("10 s later: longest slice, CPU time of this thread", summarize(live_cpu, opt_reps),
	    opt_reps, "the slice's own work (wall minus preemption)");
	printf("\nSlices over 5 ms of wall time: a median of %.0f in the fill, %.0f in a refresh "
	       "round.\n",
	       summarize(fill_over, opt_reps).med, summarize(live_over, opt_reps).med);
	printf("\nSlices (budget %d us each, one every %d ms while the page is viewed): "
	       "the first fill took a median of %.0f slices, a refresh round %.0f.\n",
	       PD_STATUSPAGE_SLICE_US, PD_STATUSPAGE_TICK_MS, summarize(fill_n, opt_reps).med,
	       summarize(live_n, opt_reps).med);
	pd_daemon_free(d);
	ev_loop_destroy(loop);
	free(cold);
	free(warm);
	free(html);
	free(json);
	free(fill_n);
	free(fill_max);
	free(fill_total);
	free(live_n);
	free(live_max);
	free(live_total);
	free(fill_cpu);
	free(cold_c);
	free(warm_c);
	free(html_c);
	free(json_c);
	free(live_cpu);
	free(fill_over);
	free(live_over);
	if (!opt_keep) {
		char aux[300];

		unlink(path);
		snprintf(aux, sizeof(aux), "%s-wal", path);
		unlink(aux);
		snprintf(aux, sizeof(aux), "%s-shm", path);
		unlink(aux);
	}
	return 0;
}
