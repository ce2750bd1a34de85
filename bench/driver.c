/*
 * bench/driver.c — drives Prometheus blackbox_exporter at the benchmark rate.
 *
 * blackbox_exporter probes only when asked (GET /probe?module=M&target=T), so
 * this program asks it the way Prometheus would, at the same schedule as
 * probed and the floor: N probe URLs (one per line in URLFILE, already
 * pointing at blackbox with the target URL-encoded), each once per interval,
 * starts spread evenly.  Unlike the floor it keeps its connections to blackbox
 * alive: the new connection per probe is blackbox's own, to the target.
 *
 * This program's CPU is not part of the figures, but it shares the machine
 * with blackbox, so it must stay cheap when blackbox falls behind: it uses
 * curl's multi *socket* interface on epoll (work proportional to the sockets
 * that are ready, not to the transfers in flight), and at most MAX_INFLIGHT
 * probes are in flight: a start due while that many are still running is
 * skipped and counted, the way a scraper does not pile up scrapes of a slow
 * target.
 *
 * Each answer is scanned for "probe_success 1" (the status + body check held)
 * or "probe_success 0".  After DURATION seconds it stops starting probes,
 * waits (bounded) for the ones in flight and prints one line on stdout:
 *
 *   requests=R completed=C success=S failed=F errors=E skipped=K inflight_at_exit=I
 *   utime=U stime=S
 *
 * errors = the /probe request itself failed (transport or non-200); the first
 * error and the first failed probe are shown on stderr.
 *
 * usage: driver -f URLFILE -i INTERVAL_MS -d DURATION_S [-t TIMEOUT_MS]
 */
#include <curl/curl.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_URLS 100000
#define BODY_CAP (64 * 1024)
#define MAX_INFLIGHT 512

struct xfer {
	char *body;
	size_t len;
};

static CURLM *multi;
static int epfd = -1;
static int64_t curl_due_us = -1; /* curl's timer, absolute; -1 = none */

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb, room = BODY_CAP - 1 - x->len;

	if (n < room)
		room = n;
	memcpy(x->body + x->len, ptr, room);
	x->len += room;
	x->body[x->len] = '\0';
	return n;
}

static int
on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sockp)
{
	struct epoll_event ev;

	(void)e;
	(void)ud;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = s;
	ev.events =
		((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
	if (sockp == NULL) {
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST)
			epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev);
		curl_multi_assign(multi, s, (void *)1);
	} else {
		epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev);
	}
	return 0;
}

static int
on_timer(CURLM *m, long ms, void *ud)
{
	(void)m;
	(void)ud;
	curl_due_us = ms < 0 ? -1 : now_us() + (int64_t)ms * 1000;
	return 0;
}

static char **
read_urls(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char **urls = NULL;
	char line[8192];
	size_t cnt = 0;

	if (f == NULL) {
		fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
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
	long interval_ms = 1000, duration_s = 10, timeout_ms = 10000;
	char **urls;
	size_t nurls = 0;
	long requests = 0, completed = 0, success = 0, failed = 0, errors = 0;
	long skipped = 0, inflight = 0;
	int running = 0, ch;

	while ((ch = getopt(argc, argv, "f:i:d:t:")) != -1) {
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
		default:
			fprintf(stderr, "usage: driver -f URLFILE -i INTERVAL_MS "
					"-d DURATION_S [-t TIMEOUT_MS]\n");
			return 64;
		}
	}
	if (urlfile == NULL || interval_ms <= 0 || duration_s <= 0 || timeout_ms <= 0) {
		fprintf(stderr, "driver: -f, -i, -d are required and positive\n");
		return 64;
	}
	urls = read_urls(urlfile, &nurls);
	if (urls == NULL || nurls == 0) {
		fprintf(stderr, "driver: no URLs\n");
		return 66;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 70;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		perror("driver: epoll_create1");
		return 71;
	}
	multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
	/* keep-alive pool to blackbox, as large as the in-flight cap */
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)MAX_INFLIGHT);

	const int64_t step_us = (int64_t)interval_ms * 1000 / (int64_t)nurls;
	const int64_t t0 = now_us();
	const int64_t end = t0 + (int64_t)duration_s * 1000000;
	const int64_t hard_end = end + (int64_t)timeout_ms * 1000 + 2000000;
	int64_t slot = 0;
	struct epoll_event evs[256];

	for (;;) {
		int64_t now = now_us();
		CURLMsg *msg;
		int left, nev;

		if (now >= hard_end)
			break;
		while (now < end && t0 + slot * step_us <= now) {
			if (inflight >= MAX_INFLIGHT) {
				skipped++;
				slot++;
				continue;
			}
			CURL *e = curl_easy_init();
			struct xfer *x = calloc(1, sizeof(*x));

			x->body = malloc(BODY_CAP);
			x->body[0] = '\0';
			curl_easy_setopt(e, CURLOPT_URL, urls[slot % (int64_t)nurls]);
			curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
			curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
			curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
			curl_easy_setopt(e, CURLOPT_PRIVATE, x);
			curl_multi_add_handle(multi, e);
			inflight++;
			requests++;
			slot++;
		}

		/* sleep until the next start (whole ms, rounded up) or curl's timer */
		int64_t wake = now < end ? t0 + slot * step_us : now + 1000000;

		if (curl_due_us >= 0 && curl_due_us < wake)
			wake = curl_due_us;
		int wait_ms = wake <= now ? 0 : (int)((wake - now + 999) / 1000);

		nev = epoll_wait(epfd, evs, 256, wait_ms);
		for (int i = 0; i < nev; i++) {
			int act = 0;

			if (evs[i].events & EPOLLIN)
				act |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				act |= CURL_CSELECT_OUT;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				act |= CURL_CSELECT_ERR;
			curl_multi_socket_action(multi, evs[i].data.fd, act, &running);
		}
		if (curl_due_us >= 0 && now_us() >= curl_due_us) {
			curl_due_us = -1;
			curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			struct xfer *x = NULL;
			long status = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			completed++;
			inflight--;
			if (msg->data.result != CURLE_OK || status != 200) {
				if (errors++ == 0)
					fprintf(stderr,
						"driver: first /probe error: "
						"%s, HTTP %ld\n",
						curl_easy_strerror(msg->data.result), status);
			} else if (strstr(x->body, "\nprobe_success 1") != NULL) {
				success++;
			} else if (failed++ == 0) {
				fprintf(stderr, "driver: first failed probe:\n%.*s\n", 3000,
					x->body);
			}
			curl_multi_remove_handle(multi, msg->easy_handle);
			curl_easy_cleanup(msg->easy_handle);
			free(x->body);
			free(x);
		}
		if (now_us() >= end && inflight == 0)
			break;
	}

	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("requests=%ld completed=%ld success=%ld failed=%ld errors=%ld "
	       "skipped=%ld inflight_at_exit=%ld utime=%.3f stime=%.3f\n",
	       requests, completed, success, failed, errors, skipped, inflight,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	/* transfers still running at the hard deadline (reported as
	 * inflight_at_exit) are abandoned with the process, not cleaned up */
	curl_multi_cleanup(multi);
	close(epfd);
	for (size_t i = 0; i < nurls; i++)
		free(urls[i]);
	free(urls);
	curl_global_cleanup();
	return 0;
}
