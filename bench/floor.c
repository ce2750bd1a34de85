/*
 * bench/floor.c — the floor of the probed benchmark.
 *
 * The least a monitor can do and still make the same requests: N URLs, each
 * fetched once per interval, the starts spread evenly over the interval, a new
 * TCP connection per request (CURLOPT_FRESH_CONNECT + CURLOPT_FORBID_REUSE),
 * the same request headers as probed, bodies read and thrown away, no status
 * check, no JSON, no storage.  One curl multi handle driven by
 * curl_multi_poll(); no busy waiting (the loop sleeps until the next start or
 * until curl needs it, rounded up to whole milliseconds).
 *
 * After DURATION seconds it stops starting requests, waits (bounded) for the
 * ones in flight and prints one line on stdout:
 *
 *   requests=R completed=C ok=O errors=E utime=U stime=S maxrss_kb=K
 *
 * ok = transfer finished with CURLE_OK and HTTP 200 (counted, not checked).
 * utime/stime/maxrss come from getrusage(RUSAGE_SELF) at the end.
 *
 * usage: floor -f URLFILE -i INTERVAL_MS -d DURATION_S [-t TIMEOUT_MS]
 *              [-H "Name: value"]...
 */
#include <curl/curl.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_URLS 100000
#define MAX_HEADERS 16

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

static char **
read_urls(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char **urls = NULL;
	char line[4096];
	size_t cnt = 0;

	if (f == NULL) {
		fprintf(stderr, "floor: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	urls = calloc(MAX_URLS, sizeof(*urls));
	if (urls == NULL)
		goto out;
	while (cnt < MAX_URLS && fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\r\n");

		line[len] = '\0';
		if (len == 0)
			continue;
		urls[cnt] = strdup(line);
		if (urls[cnt] == NULL)
			break;
		cnt++;
	}
out:
	fclose(f);
	*n = cnt;
	return urls;
}

int
main(int argc, char **argv)
{
	const char *urlfile = NULL;
	long interval_ms = 1000, duration_s = 10, timeout_ms = 5000;
	struct curl_slist *hdrs = NULL;
	char **urls;
	size_t nurls = 0;
	long requests = 0, completed = 0, ok = 0, errors = 0;
	int running = 0, ch;
	CURLM *multi;
	struct rusage ru;

	while ((ch = getopt(argc, argv, "f:i:d:t:H:")) != -1) {
		switch (ch) {
		case 'f':
			urlfile = optarg;
			break;
		case 'i':
			interval_ms = strtol(optarg, NULL, 10);
			break;
		case 'd':
			duration_s = strtol(optarg, NULL, 10);
			break;
		case 't':
			timeout_ms = strtol(optarg, NULL, 10);
			break;
		case 'H':
			hdrs = curl_slist_append(hdrs, optarg);
			break;
		default:
			fprintf(stderr, "usage: floor -f URLFILE -i INTERVAL_MS "
					"-d DURATION_S [-t TIMEOUT_MS] [-H HEADER]...\n");
			return 64;
		}
	}
	if (urlfile == NULL || interval_ms <= 0 || duration_s <= 0 || timeout_ms <= 0) {
		fprintf(stderr, "floor: -f, -i, -d are required and positive\n");
		return 64;
	}
	urls = read_urls(urlfile, &nurls);
	if (urls == NULL || nurls == 0) {
		fprintf(stderr, "floor: no URLs\n");
		return 66;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 70;
	multi = curl_multi_init();

	/* slot j starts urls[j % n] at t0 + j * interval / n */
	const int64_t step_us = (int64_t)interval_ms * 1000 / (int64_t)nurls;
	const int64_t t0 = now_us();
	const int64_t end = t0 + (int64_t)duration_s * 1000000;
	const int64_t hard_end = end + (int64_t)timeout_ms * 1000 + 2000000;
	int64_t slot = 0;

	for (;;) {
		int64_t now = now_us();
		CURLMsg *msg;
		int left;

		if (now >= hard_end)
			break;
		while (now < end && t0 + slot * step_us <= now) {
			CURL *e = curl_easy_init();

			curl_easy_setopt(e, CURLOPT_URL, urls[slot % (int64_t)nurls]);
			curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
			curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
			curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
			curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
			curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
			curl_easy_setopt(e, CURLOPT_USERAGENT, "probed-floor/1");
			curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
			if (hdrs != NULL)
				curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
			curl_multi_add_handle(multi, e);
			requests++;
			slot++;
		}
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			long status = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			completed++;
			if (msg->data.result == CURLE_OK && status == 200)
				ok++;
			else
				errors++;
			curl_multi_remove_handle(multi, msg->easy_handle);
			curl_easy_cleanup(msg->easy_handle);
		}
		now = now_us();
		if (now >= end && running == 0)
			break;

		/* sleep until the next start (rounded up to a whole ms) or
		 * until curl wants us; curl_multi_poll caps it by curl's timer */
		int wait_ms = 1000;

		if (now < end) {
			int64_t d = t0 + slot * step_us - now;

			if (d < 0)
				d = 0;
			wait_ms = (int)((d + 999) / 1000);
		}
		curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
	}

	getrusage(RUSAGE_SELF, &ru);
	printf("requests=%ld completed=%ld ok=%ld errors=%ld utime=%.3f "
	       "stime=%.3f maxrss_kb=%ld inflight_at_exit=%d\n",
	       requests, completed, ok, errors,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss,
	       running);
	/* transfers still running at the hard deadline (reported as
	 * inflight_at_exit) are abandoned with the process, not cleaned up */
	curl_multi_cleanup(multi);
	curl_slist_free_all(hdrs);
	for (size_t i = 0; i < nurls; i++)
		free(urls[i]);
	free(urls);
	curl_global_cleanup();
	return 0;
}
