/* check_httpd.c — the HTTP listener on a real daemon's libev loop.
 *
 * The listener runs on the main thread's loop (as in probed); a client thread talks to it
 * with libcurl over loopback and records what it got, then wakes the loop with an ev_async
 * so the test can assert. Covered: address parsing, routing, bearer token (constant-time
 * compare, /healthz open), 401/404/405, HEAD, keep-alive, oversized headers, the per-IP
 * connection limit, IPv6, a port in use; the listener recovering from a burst close, a
 * slowloris and clients that leave unnoticed. */
#include <check.h>
#include "testlib.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <ev.h>
#include "probed/config.h"
#include "probed/daemon.h"
#include "probed/httpd.h"

static struct pd_test_store sto; /* the scratch directory and sto.path; nothing open */

static void
setup(void)
{
	pd_test_store_dir(&sto, "httpd");
}

static void
teardown(void)
{
	pd_test_store_close(&sto);
}

START_TEST(parse_listen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct pd_err err = {0};
	static const char *const bad[] = {
		"127.0.0.1", "[::1]9464",  "[::1",         "127.0.0.1:99999",
		":80",       "1:2:3:4:80", "127.0.0.1:x",  "127.0.0.1:",
		"",          "[zz::1]:80", "127.0.0.1:-1",
	};

	ck_assert_int_eq(pd_httpd_parse_listen("127.0.0.1:9464", &ss, &len, &err), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9464);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
	ck_assert_int_eq(pd_httpd_parse_listen("[::1]:0", &ss, &len, &err), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_int_eq(pd_httpd_parse_listen("[::]:9464", &ss, &len, &err), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_int_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 9464);
	ck_assert_int_eq(pd_httpd_parse_listen("0.0.0.0:1", &ss, &len, &err), 0);
	ck_assert_int_eq(pd_httpd_parse_listen("localhost:9464", &ss, &len, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		ck_assert_msg(pd_httpd_parse_listen(bad[i], &ss, &len, &err) == PD_ERR_INVALID,
			      "accepted '%s'", bad[i]);
		ck_assert_msg(err.msg[0] != '\0', "no message for '%s'", bad[i]);
	}
	ck_assert_int_eq(pd_httpd_parse_listen(NULL, &ss, &len, &err), PD_ERR_INVALID);
}
END_TEST

/* ---- a live listener ------------------------------------------------------------------ */

#define NREQ 32

struct reply {
	long status;
	long new_conns;
	char ctype[128];
	char allow[64];
	char wwwauth[64];
	char *body;
	size_t len;
	CURLcode rc;
};

struct client {
	unsigned port;
	unsigned port6; /* 0 = no IPv6 */
	struct reply r[NREQ];
	int n;
	int limit_refused;   /* requests refused while the per-IP limit was used up */
	int limit_recovered; /* a request after the idle connections closed */
	ev_async done;
	struct ev_loop *loop;
};

static size_t
on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct reply *r = ud;
	char *nb = realloc(r->body, r->len + sz * n + 1);

	if (nb == NULL)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, sz * n);
	r->len += sz * n;
	r->body[r->len] = '\0';
	return sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t len = sz * n;

	if (len > 14 && strncasecmp(p, "Content-Type: ", 14) == 0)
		snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)(len - 16), p + 14);
	if (len > 7 && strncasecmp(p, "Allow: ", 7) == 0)
		snprintf(r->allow, sizeof(r->allow), "%.*s", (int)(len - 9), p + 7);
	if (len > 18 && strncasecmp(p, "WWW-Authenticate: ", 18) == 0)
		snprintf(r->wwwauth, sizeof(r->wwwauth), "%.*s", (int)(len - 20), p + 18);
	return len;
}

/* One request on handle h (reused: keep-alive). auth/extra may be NULL. */
static void
request(CURL *h, struct client *c, const char *host, unsigned port, const char *method,
	const char *path, const char *auth, const char *extra)
{
	struct reply *r = &c->r[c->n++];
	struct curl_slist *hdrs = NULL;
	char url[256];

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "http://%s:%u%s", host, port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
			 strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ? NULL : method);
	if (auth)
		hdrs = curl_slist_append(hdrs, auth);
	if (extra)
		hdrs = curl_slist_append(hdrs, extra);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	r->rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->new_conns);
	curl_slist_free_all(hdrs);
}

static void *
client_main(void *ud)
{
	struct client *c = ud;
	CURL *h = curl_easy_init();
	char *big = malloc(40001);
	int socks[PD_HTTPD_MAX_CONN_PER_IP];
	struct sockaddr_in sin = {.sin_family = AF_INET};

	memset(big, 'a', 40000);
	big[40000] = '\0';
	memcpy(big, "X-Big: ", 7);
	request(h, c, "127.0.0.1", c->port, "GET", "/healthz", NULL, NULL); /* 0 */
	request(h, c, "127.0.0.1", c->port, "GET", "/metrics", NULL, NULL); /* 1 */
	request(h, c, "127.0.0.1", c->port, "GET", "/metrics", "Authorization: Bearer tok-123",
		NULL); /* 2 */
	request(h, c, "127.0.0.1", c->port, "GET", "/metrics", "Authorization: Bearer tok-123",
		NULL); /* 3 */
	request(h, c, "127.0.0.1", c->port, "GET", "/metrics", "Authorization: bearer  tok-123 ",
		NULL); /* 4 */
	request(h, c, "127.0.0.1", c->port, "GET", "/metrics", "Authorization: Bearer tok-1234",
		NULL); /* 5 */
	request(h, c, "127.0.0.1", c->port, "GET", "/metrics", "Authorization: Bearer tok-12",
		NULL); /* 6 */
	request(h, c, "127.0.0.1", c->port, "GET", "/metrics",
		"Authorization: Basic dG9rLTEyMw==", NULL); /* 7 */
	request(h, c, "127.0.0.1", c->port, "POST", "/metrics", "Authorization: Bearer tok-123",
		NULL); /* 8 */
	request(h, c, "127.0.0.1", c->port, "GET", "/api/status", "Authorization: Bearer tok-123",
		NULL); /* 9 */
	request(h, c, "127.0.0.1", c->port, "GET", "/", "Authorization: Bearer tok-123",
		NULL); /* 10 */
	request(h, c, "127.0.0.1", c->port, "GET", "/nope", "Authorization: Bearer tok-123",
		NULL); /* 11 */
	request(h, c, "127.0.0.1", c->port, "HEAD", "/metrics", "Authorization: Bearer tok-123",
		NULL); /* 12 */
	request(h, c, "127.0.0.1", c->port, "GET", "/metrics", "Authorization: Bearer tok-123",
		big);                                                              /* 13 */
	request(h, c, "127.0.0.1", c->port, "GET", "/api/status?x=1", NULL, NULL); /* 14 */
	if (c->port6)
		request(h, c, "[::1]", c->port6, "GET", "/healthz", NULL, NULL); /* 15 */
	free(big);

	/* use up the per-IP connection limit with idle connections */
	sin.sin_port = htons((uint16_t)c->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < PD_HTTPD_MAX_CONN_PER_IP; i++) {
		socks[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (socks[i] >= 0 && connect(socks[i], (struct sockaddr *)&sin, sizeof(sin)) != 0) {
			close(socks[i]);
			socks[i] = -1;
		}
	}
	usleep(200 * 1000);
	{
		CURL *h2 = curl_easy_init();
		int before = c->n;

		request(h2, c, "127.0.0.1", c->port, "GET", "/healthz", NULL, NULL);
		c->limit_refused = c->r[before].status != 200;
		curl_easy_cleanup(h2);
	}
	for (int i = 0; i < PD_HTTPD_MAX_CONN_PER_IP; i++)
		if (socks[i] >= 0)
			close(socks[i]);
	usleep(200 * 1000);
	{
		CURL *h2 = curl_easy_init();
		int before = c->n;

		request(h2, c, "127.0.0.1", c->port, "GET", "/healthz", NULL, NULL);
		c->limit_recovered = c->r[before].status == 200;
		curl_easy_cleanup(h2);
	}
	curl_easy_cleanup(h);
	ev_async_send(c->loop, &c->done);
	return NULL;
}

static void
on_done(EV_P_ ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(EV_A, EVBREAK_ALL);
}

static int
have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int s = socket(AF_INET6, SOCK_STREAM, 0), ok;

	if (s < 0)
		return 0;
	ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

/* A daemon on loop from yaml, and a listener on 127.0.0.1 (an ephemeral port). */
static struct pd_daemon *
daemon_listening(struct ev_loop *loop, const char *yaml, struct pd_httpd **h)
{
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	struct pd_daemon_opts opts = {0};
	struct pd_daemon *d;

	ck_assert_msg(pd_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &err, NULL, NULL) ==
			      0,
		      "%s", err.msg);
	d = pd_daemon_new(loop, cfg, &opts, &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	*h = pd_httpd_new(d, "127.0.0.1:0", &err);
	ck_assert_msg(*h != NULL, "%s", err.msg);
	return d;
}

START_TEST(live_listener)
{
	char yaml[1024];
	struct pd_err err = {0};
	struct pd_daemon *d;
	struct pd_httpd *h, *h6 = NULL, *dup;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct client *c = calloc(1, sizeof(*c));
	pthread_t th;
	char listen[64];
	cJSON *j;

	ck_assert_ptr_nonnull(c);
	snprintf(yaml, sizeof(yaml),
		 "store:\n  path: %s\n"
		 "http:\n  listen: 127.0.0.1:9464\n  bearer_token: tok-123\n"
		 "probes:\n  - name: alpha\n    interval: 1h\n    url: http://127.0.0.1:1/alpha/\n",
		 sto.path);
	d = daemon_listening(loop, yaml, &h);
	ck_assert_uint_ne(pd_httpd_port(h), 0);
	/* the same port again: in use */
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", pd_httpd_port(h));
	dup = pd_httpd_new(d, listen, &err);
	ck_assert_ptr_null(dup);
	ck_assert_int_eq(err.code, PD_ERR_IO);
	ck_assert_ptr_null(pd_httpd_new(d, "not-an-address", &err));
	ck_assert_int_eq(err.code, PD_ERR_INVALID);
	if (have_ipv6_loopback()) {
		h6 = pd_httpd_new(d, "[::1]:0", &err);
		ck_assert_msg(h6 != NULL, "%s", err.msg);
		c->port6 = pd_httpd_port(h6);
	}
	c->port = pd_httpd_port(h);
	c->loop = loop;
	ev_async_init(&c->done, on_done);
	ev_async_start(loop, &c->done);
	ck_assert_int_eq(pthread_create(&th, NULL, client_main, c), 0);
	ev_run(loop, 0);
	pthread_join(th, NULL);
	ev_async_stop(loop, &c->done);

	ck_assert_int_eq(c->r[0].status, 200);
	ck_assert_str_eq(c->r[0].body, "ok\n");
	ck_assert_int_eq(c->r[1].status, 401);
	ck_assert_str_eq(c->r[1].wwwauth, "Bearer realm=\"probed\"");
	ck_assert_int_eq(c->r[2].status, 200);
	ck_assert_str_eq(c->r[2].ctype, "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(c->r[2].body, "\nprobed_up 1\n"));
	ck_assert_ptr_null(strstr(c->r[2].body, "tok-123"));
	ck_assert_int_eq(c->r[3].status, 200);
	ck_assert_int_eq(c->r[3].new_conns, 0); /* keep-alive: no new connection */
	ck_assert_int_eq(c->r[4].status, 200);  /* scheme case-insensitive, spaces trimmed */
	ck_assert_int_eq(c->r[5].status, 401);
	ck_assert_int_eq(c->r[6].status, 401);
	ck_assert_int_eq(c->r[7].status, 401);
	ck_assert_int_eq(c->r[8].status, 405);
	ck_assert_str_eq(c->r[8].allow, "GET, HEAD");
	ck_assert_int_eq(c->r[9].status, 200);
	ck_assert_str_eq(c->r[9].ctype, "application/json");
	j = cJSON_Parse(c->r[9].body);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "probes")), 1);
	cJSON_Delete(j);
	ck_assert_int_eq(c->r[10].status, 200);
	ck_assert_ptr_nonnull(strstr(c->r[10].body, "<!DOCTYPE html>"));
	ck_assert_int_eq(c->r[11].status, 404);
	ck_assert_int_eq(c->r[12].status, 200);
	ck_assert_uint_eq(c->r[12].len, 0); /* HEAD: no body */
	ck_assert_msg(c->r[13].status == 431 || c->r[13].status == 413 || c->r[13].rc != CURLE_OK,
		      "a 40 kB header got %ld", c->r[13].status);
	ck_assert_int_eq(c->r[14].status, 401); /* a query string does not bypass the token */
	if (c->port6)
		ck_assert_int_eq(c->r[15].status, 200);
	ck_assert_msg(c->limit_refused, "per-IP connection limit not enforced");
	ck_assert_msg(c->limit_recovered, "listener did not recover after the limit");

	for (int i = 0; i < c->n; i++)
		free(c->r[i].body);
	free(c);
	pd_httpd_free(h6);
	pd_httpd_free(h);
	pd_httpd_free(NULL);
	pd_daemon_free(d);
	ev_loop_destroy(loop);
}
END_TEST

/* ---- renders off the loop: many status page requests at once -------------------- */

struct burst {
	unsigned port;
	struct ev_loop *loop;
	ev_async done;
	struct reply r[8];
};

static void *
burst_main(void *ud)
{
	struct burst *b = ud;
	CURLM *m = curl_multi_init();
	CURL *e[8];
	int running = 1;

	for (int i = 0; i < 8; i++) {
		char url[128];

		snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", b->port,
			 i % 2 ? "/api/status" : "/");
		e[i] = curl_easy_init();
		curl_easy_setopt(e[i], CURLOPT_URL, url);
		curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(e[i], CURLOPT_WRITEDATA, &b->r[i]);
		curl_easy_setopt(e[i], CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(e[i], CURLOPT_HEADERDATA, &b->r[i]);
		curl_easy_setopt(e[i], CURLOPT_TIMEOUT_MS, 10000L);
		curl_multi_add_handle(m, e[i]);
	}
	for (int k = 0; running && k < 2000; k++) { /* bounded: 2,000 polls of <= 100 ms */
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	for (int i = 0; i < 8; i++) {
		curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &b->r[i].status);
		curl_multi_remove_handle(m, e[i]);
		curl_easy_cleanup(e[i]);
	}
	curl_multi_cleanup(m);
	ev_async_send(b->loop, &b->done);
	return NULL;
}

/* Eight requests for the page and /api/status at once: each waits for a render on the
 * render thread while the loop goes on, and each gets the whole document (a shared render
 * hands the last waiter the body and the others a copy). Freeing the listener afterwards
 * joins the thread (ASan and the leak checker watch it). */
START_TEST(status_renders_off_the_loop)
{
	char yaml[1024];
	struct pd_daemon *d;
	struct pd_httpd *h;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct burst *b = calloc(1, sizeof(*b));
	pthread_t th;

	ck_assert_ptr_nonnull(b);
	snprintf(yaml, sizeof(yaml),
		 "store:\n  path: %s\n"
		 "probes:\n  - name: alpha\n    interval: 1h\n    url: http://127.0.0.1:1/alpha/\n"
		 "  - name: beta\n    interval: 1h\n    url: http://127.0.0.1:1/beta/\n",
		 sto.path);
	d = daemon_listening(loop, yaml, &h);
	b->port = pd_httpd_port(h);
	b->loop = loop;
	ev_async_init(&b->done, on_done);
	ev_async_start(loop, &b->done);
	ck_assert_int_eq(pthread_create(&th, NULL, burst_main, b), 0);
	ev_run(loop, 0);
	pthread_join(th, NULL);
	ev_async_stop(loop, &b->done);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(b->r[i].status, 200);
		if (i % 2) {
			cJSON *j = cJSON_Parse(b->r[i].body);

			ck_assert_str_eq(b->r[i].ctype, "application/json");
			ck_assert_ptr_nonnull(j);
			ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "probes")), 2);
			cJSON_Delete(j);
		} else {
			ck_assert_ptr_nonnull(strstr(b->r[i].body, "<!DOCTYPE html>"));
			ck_assert_ptr_nonnull(strstr(b->r[i].body, "</html>"));
			ck_assert_ptr_nonnull(strstr(b->r[i].body, "beta"));
		}
	}
	for (int i = 0; i < 8; i++)
		free(b->r[i].body);
	free(b);
	pd_httpd_free(h);
	pd_daemon_free(d);
	ev_loop_destroy(loop);
}
END_TEST

/* ---- the listener recovers ----------------------------------------------------- */

struct faults {
	unsigned port;
	struct ev_loop *loop;
	ev_async stall, done;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stalled, go;
	int opened;           /* connections opened for the burst */
	long after_burst;     /* /healthz status after the burst close (0 = no answer) */
	long after_gone;      /* ... from an address whose PD_HTTPD_MAX_CONN_PER_IP left */
	double slow_closed_s; /* a trickling client was closed after this long (-1 = not) */
};

static size_t
on_body_discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

/* GET /healthz (2 s at most) from the loopback address src; the status, 0 for none. */
static long
healthz(unsigned port, const char *src)
{
	CURL *h = curl_easy_init();
	char url[64];
	long status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_INTERFACE, src);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body_discard);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	return status;
}

static int
connect_from(const char *src, unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
	int s = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, src, &a.sin_addr);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons((uint16_t)port);
	if (s >= 0 && (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		       connect(s, (struct sockaddr *)&to, sizeof(to)) != 0)) {
		close(s);
		s = -1;
	}
	return s;
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The loop's side of a stall: block (as a busy loop would) until the client has closed
 * its connections, so that libmicrohttpd sees every close in one run. */
static void
on_stall(EV_P_ ev_async *w, int revents)
{
	struct faults *f = w->data;

	(void)EV_A;
	(void)revents;
	pthread_mutex_lock(&f->mu);
	f->stalled = 1;
	pthread_cond_broadcast(&f->cv);
	while (!f->go)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

/* Stall the loop (on_stall) until stall_end(). */
static void
stall_begin(struct faults *f)
{
	pthread_mutex_lock(&f->mu);
	f->stalled = f->go = 0;
	pthread_mutex_unlock(&f->mu);
	ev_async_send(f->loop, &f->stall);
	pthread_mutex_lock(&f->mu);
	while (!f->stalled)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

static void
stall_end(struct faults *f)
{
	pthread_mutex_lock(&f->mu);
	f->go = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static void *
faults_main(void *ud)
{
	struct faults *f = ud;
	int socks[PD_HTTPD_MAX_CONN], slow;
	char src[16], buf[64];
	double t0;

	/* a slowloris: part of a request head, then a byte now and then, never finished */
	slow = connect_from("127.0.0.9", f->port);
	if (slow >= 0 && send(slow, "GET /healthz HTTP/1.1\r\n", 24, 0) != 24) {
		close(slow);
		slow = -1;
	}
	t0 = mono_s();
	/* fill the listener: PD_HTTPD_MAX_CONN connections from four addresses */
	for (int i = 0; i < PD_HTTPD_MAX_CONN; i++) {
		snprintf(src, sizeof(src), "127.0.0.%d", 2 + i / PD_HTTPD_MAX_CONN_PER_IP);
		socks[i] = connect_from(src, f->port);
		f->opened += socks[i] >= 0;
	}
	usleep(300 * 1000); /* accepted */
	/* close every one of them while the loop is stalled */
	stall_begin(f);
	for (int i = 0; i < PD_HTTPD_MAX_CONN; i++)
		if (socks[i] >= 0)
			close(socks[i]);
	stall_end(f);
	f->after_burst = healthz(f->port, "127.0.0.1");
	/* clients that send a little and leave while the loop is busy: their bytes and their
	 * end of stream wait together, which libmicrohttpd 0.9.75 reads as bytes only; the
	 * slots of that address must come back within a tick or two, not at the deadline */
	stall_begin(f);
	for (int i = 0; i < PD_HTTPD_MAX_CONN_PER_IP; i++) {
		int g = connect_from("127.0.0.8", f->port);

		if (g >= 0) {
			(void)send(g, "GET /x", 6, MSG_NOSIGNAL);
			close(g);
		}
	}
	stall_end(f);
	usleep(1000 * 1000);
	f->after_gone = healthz(f->port, "127.0.0.8");
	/* the slowloris: a byte a second until the listener closes it (bounded: 15 s) */
	f->slow_closed_s = -1;
	for (int i = 0; slow >= 0 && i < 15; i++) {
		struct timeval tv = {.tv_sec = 1};
		ssize_t n;

		(void)send(slow, "X", 1, MSG_NOSIGNAL);
		setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(slow, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			f->slow_closed_s = mono_s() - t0;
			break;
		}
	}
	if (slow >= 0)
		close(slow);
	ev_async_send(f->loop, &f->done);
	return NULL;
}

START_TEST(listener_recovers)
{
	char yaml[512];
	struct pd_daemon *d;
	struct pd_httpd *h;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct faults f = {0};
	pthread_t th;

	snprintf(yaml, sizeof(yaml),
		 "store:\n  path: %s\n"
		 "probes:\n  - name: alpha\n    interval: 1h\n    url: http://127.0.0.1:1/alpha/\n",
		 sto.path);
	d = daemon_listening(loop, yaml, &h);
	f.port = pd_httpd_port(h);
	f.loop = loop;
	pthread_mutex_init(&f.mu, NULL);
	pthread_cond_init(&f.cv, NULL);
	ev_async_init(&f.stall, on_stall);
	f.stall.data = &f;
	ev_async_start(loop, &f.stall);
	ev_async_init(&f.done, on_done);
	ev_async_start(loop, &f.done);
	ck_assert_int_eq(pthread_create(&th, NULL, faults_main, &f), 0);
	ev_run(loop, 0);
	pthread_join(th, NULL);
	ev_async_stop(loop, &f.stall);
	ev_async_stop(loop, &f.done);

	ck_assert_int_eq(f.opened, PD_HTTPD_MAX_CONN);
	ck_assert_msg(f.after_burst == 200, "after a burst close /healthz got %ld", f.after_burst);
	ck_assert_msg(f.after_gone == 200, "after clients left /healthz got %ld", f.after_gone);
	ck_assert_msg(f.slow_closed_s >= PD_HTTPD_REQUEST_TIMEOUT_S - 0.5 &&
			      f.slow_closed_s <= PD_HTTPD_REQUEST_TIMEOUT_S + 3,
		      "a trickling client was closed after %.1f s", f.slow_closed_s);
	pthread_mutex_destroy(&f.mu);
	pthread_cond_destroy(&f.cv);
	pd_httpd_free(h);
	pd_daemon_free(d);
	ev_loop_destroy(loop);
}
END_TEST

static Suite *
httpd_suite(void)
{
	Suite *s = suite_create("httpd");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, parse_listen);
	tcase_add_test(tc, live_listener);
	tcase_add_test(tc, status_renders_off_the_loop);
	tcase_add_test(tc, listener_recovers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(httpd_suite());
}
