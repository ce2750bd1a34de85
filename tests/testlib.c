/* testlib.c — shared helpers of the Check suites (see testlib.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include "probed/config.h"
#include "probed/notify.h"
#include "probed/outbox.h"
#include "probed/runner.h"
#include "probed/store.h"
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
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? 0 : 1;
}

int
pd_test_utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = s[i] < 0x80             ? 1
			   : (s[i] & 0xE0) == 0xC0 ? 2
			   : (s[i] & 0xF0) == 0xE0 ? 3
			   : (s[i] & 0xF8) == 0xF0 ? 4
						   : 0;

		if (k == 0 || i + k > n)
			return 0;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

/* ------------------------------------------------------------------ files and JSON */

char *
pd_test_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t cap = 0, n = 0, r;
	char chunk[65536];

	if (f == NULL)
		return NULL;
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (n + r + 1 > cap) {
			cap = (n + r + 1) * 2;
			data = realloc(data, cap);
			ck_assert_ptr_nonnull(data);
		}
		memcpy(data + n, chunk, r);
		n += r;
	}
	fclose(f);
	if (data == NULL)
		data = calloc(1, 1);
	ck_assert_ptr_nonnull(data);
	data[n] = '\0';
	if (len)
		*len = n;
	return data;
}

void
pd_test_write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

cJSON *
pd_test_jget(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

const char *
pd_test_jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ------------------------------------------------------------------ notify event, config */

cJSON *
pd_test_event(const char *action, const char *severity)
{
	struct pd_notify_event ev = {0};
	char *json;
	cJSON *o;

	ev.event = action;
	ev.dedup_key = "probed:eu-west-1/inc-1795000000000";
	ev.probe = "post-detail";
	ev.family = "post-detail";
	ev.tier = "core";
	ev.summary = strcmp(action, "resolve") == 0
			     ? "post-detail RECOVERED after 5m"
			     : "post-detail DOWN: http_5xx (2 consecutive failures)";
	ev.reason = "status 502, expected 200-299";
	ev.outcome = "http_5xx";
	ev.location = "eu-west-1";
	ev.ts_ms = PD_TEST_T0_MS + 300000;
	ev.consecutive_failures = 2;
	ev.down_since_ms = PD_TEST_T0_MS;
	ev.severity = severity;
	ev.mode = severity ? "mode1-upstream" : NULL;
	ev.mode_title = severity ? "Mode 1: upstream TikTok API down or changed" : NULL;
	ev.runbook = severity ? "runbooks/mode1-upstream-changed.md" : NULL;
	ev.incident_id = severity ? 7 : 0;
	ev.status_message = severity ? "INVESTIGATING - We are seeing errors on /post-detail/ "
				       "since 05:00 UTC. /userid/ works."
				     : NULL;
	json = pd_notify_event_json(&ev);
	ck_assert_ptr_nonnull(json);
	o = cJSON_Parse(json);
	ck_assert_ptr_nonnull(o);
	free(json);
	return o;
}

struct pd_config *
pd_test_notify_cfg_load(const char *notify_yaml, struct pd_err *err)
{
	struct pd_config *cfg = NULL;
	char yaml[8192];

	snprintf(yaml, sizeof(yaml),
		 "probes:\n"
		 "  - name: post-detail\n"
		 "    url: http://127.0.0.1:1/post-detail/\n"
		 "notify:\n%s",
		 notify_yaml);
	if (pd_config_load_string(yaml, strlen(yaml), "notify-test.yaml", &cfg, err, NULL, NULL) !=
	    0)
		return NULL;
	return cfg;
}

struct pd_config *
pd_test_notify_cfg(const char *notify_yaml)
{
	struct pd_err err = {0};
	struct pd_config *cfg = pd_test_notify_cfg_load(notify_yaml, &err);

	ck_assert_msg(cfg != NULL, "config: %s\n%s", err.msg, notify_yaml);
	return cfg;
}

/* ------------------------------------------------------------------ the fake clock */

static int64_t
test_clock_now(void *ud)
{
	return ((const struct pd_test_clock *)ud)->now_ms;
}

const struct pd_clock *
pd_test_clock_init(struct pd_test_clock *c, int64_t now_ms)
{
	c->clock.wall_ms = test_clock_now;
	c->clock.ud = c;
	c->now_ms = now_ms;
	return &c->clock;
}

void
pd_test_clock_set(struct pd_test_clock *c, int64_t now_ms)
{
	c->now_ms = now_ms;
}

void
pd_test_clock_advance(struct pd_test_clock *c, int64_t ms)
{
	c->now_ms += ms;
}

/* ------------------------------------------------------------------ the store fixture */

struct pd_store *
pd_test_store_at(const char *path, int readonly)
{
	struct pd_store *st = NULL;
	struct pd_err err = {0};
	int rc = pd_store_open(path, readonly, &st, &err);

	ck_assert_msg(rc == 0 && st != NULL, "open(%s, readonly=%d): %d %s", path, readonly, rc,
		      err.msg);
	return st;
}

void
pd_test_store_dir(struct pd_test_store *s, const char *tag)
{
	memset(s, 0, sizeof(*s));
	pd_test_tmpdir(s->dir, sizeof(s->dir), tag);
	snprintf(s->path, sizeof(s->path), "%s/probed.db", s->dir);
}

struct pd_store *
pd_test_store_open(struct pd_test_store *s, const char *tag)
{
	pd_test_store_dir(s, tag);
	s->st = pd_test_store_at(s->path, 0);
	return s->st;
}

struct pd_store *
pd_test_store_reopen(struct pd_test_store *s, int readonly)
{
	pd_store_free(s->st);
	s->st = pd_test_store_at(s->path, readonly);
	return s->st;
}

void
pd_test_store_close(struct pd_test_store *s)
{
	pd_store_free(s->st);
	s->st = NULL;
	if (s->dir[0] != '\0')
		pd_test_rm_tree(s->dir);
	s->dir[0] = '\0';
}

/* ------------------------------------------------------------------ the outbox fixture */

static void
outbox_on_flush(EV_P_ ev_prepare *w, int revents)
{
	struct pd_test_outbox *o = w->data;
	struct pd_err err = {0};

	(void)EV_A;
	(void)revents;
	if (pd_store_pending(o->st) > 0 && pd_store_flush(o->st, &err) != 0)
		fprintf(stderr, "flush: %s\n", err.msg);
}

static void
outbox_on_tick(EV_P_ ev_timer *w, int revents)
{
	(void)EV_A;
	(void)w;
	(void)revents;
}

void
pd_test_outbox_init(struct pd_test_outbox *o, const char *tag, int64_t t0_ms)
{
	struct pd_err err = {0};

	memset(o, 0, sizeof(*o));
	o->st = pd_test_store_open(&o->db, tag);
	o->loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(o->loop);
	o->runner = pd_runner_new(o->loop, &err);
	ck_assert_msg(o->runner != NULL, "%s", err.msg);
	o->ob = pd_outbox_new(o->loop, o->st, o->runner, pd_test_clock_init(&o->clock, t0_ms),
			      &err);
	ck_assert_msg(o->ob != NULL, "%s", err.msg);
	ev_prepare_init(&o->flush, outbox_on_flush);
	o->flush.data = o;
	ev_prepare_start(o->loop, &o->flush);
	ev_timer_init(&o->tick, outbox_on_tick, 0.02, 0.02);
	ev_timer_start(o->loop, &o->tick);
}

void
pd_test_outbox_free(struct pd_test_outbox *o)
{
	pd_runner_free(o->runner);
	pd_outbox_free(o->ob);
	ev_prepare_stop(o->loop, &o->flush);
	ev_timer_stop(o->loop, &o->tick);
	ev_loop_destroy(o->loop);
	pd_test_store_close(&o->db);
	o->runner = NULL;
	o->ob = NULL;
	o->loop = NULL;
	o->st = NULL;
}

int
pd_test_outbox_run_until(struct pd_test_outbox *o, pd_test_outbox_pred pred, const void *arg,
			 double timeout_s)
{
	int64_t deadline = pd_clock_mono_ms() + (int64_t)(timeout_s * 1000);

	while (!pred(o, arg)) {
		if (pd_clock_mono_ms() > deadline)
			return 0;
		ev_run(o->loop, EVRUN_ONCE);
	}
	return 1;
}

static int
outbox_pred_never(struct pd_test_outbox *o, const void *arg)
{
	(void)o;
	(void)arg;
	return 0;
}

void
pd_test_outbox_run_for(struct pd_test_outbox *o, double s)
{
	pd_test_outbox_run_until(o, outbox_pred_never, NULL, s);
}

/* ------------------------------------------------------------------ the HTTP receiver */

/* Shared (MAP_SHARED) between the test and its receiver: the script, which the test may
 * replace, and the number of requests recorded, which the receiver publishes. */
struct pd_test_http_shared {
	int nreq; /* requests recorded (their files are complete) */
	int base; /* the request that gets script[0] */
	int n;
	struct {
		int status, retry_after, delay_ms;
		char body[1024];
	} script[PD_TEST_HTTP_MAX_SCRIPT];
};

static int
http_listen(int port, int *bound)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

int
pd_test_closed_port(void)
{
	int port = 0;
	int fd = http_listen(0, &port);

	ck_assert_int_ge(fd, 0);
	close(fd);
	return port;
}

/* Write path atomically: the test only ever sees complete files. */
static void
http_write_file(const char *path, const char *data, size_t len)
{
	char tmp[300];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		_exit(4);
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n <= 0)
			_exit(4);
		data += n;
		len -= (size_t)n;
	}
	close(fd);
	if (rename(tmp, path) != 0)
		_exit(4);
}

static long
http_content_length(const char *head)
{
	const char *p = head;

	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			return strtol(p + 15, NULL, 10);
	}
	return 0;
}

/* The child: one request per connection, recorded, then answered per the script. */
static void __attribute__((noreturn))
http_serve(int lfd, const char *dir, struct pd_test_http_shared *sh)
{
	static char buf[1 << 20];

	for (int i = 0;;) {
		size_t len = 0, hlen = 0;
		long clen = -1;
		char path[300], resp[1400], body[1024];
		int fd = accept(lfd, NULL, NULL), k, status, retry_after, delay_ms, m;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			_exit(2);
		}
		for (;;) {
			ssize_t n;
			char *end;

			if (clen >= 0 && len >= hlen + (size_t)clen)
				break;
			n = read(fd, buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = '\0';
			if (clen < 0 && (end = strstr(buf, "\r\n\r\n")) != NULL) {
				hlen = (size_t)(end - buf) + 4;
				clen = http_content_length(buf);
			}
		}
		if (clen < 0 || len < hlen + (size_t)clen) { /* closed before a full request */
			close(fd);
			continue;
		}
		snprintf(path, sizeof(path), "%s/req-%03d.head", dir, i);
		http_write_file(path, buf, hlen);
		snprintf(path, sizeof(path), "%s/req-%03d.body", dir, i);
		http_write_file(path, buf + hlen, len - hlen);
		k = i - __atomic_load_n(&sh->base, __ATOMIC_SEQ_CST);
		if (k >= __atomic_load_n(&sh->n, __ATOMIC_SEQ_CST))
			k = sh->n - 1;
		if (k < 0)
			k = 0;
		status = sh->script[k].status;
		retry_after = sh->script[k].retry_after;
		delay_ms = sh->script[k].delay_ms;
		snprintf(body, sizeof(body), "%s", sh->script[k].body);
		__atomic_store_n(&sh->nreq, ++i, __ATOMIC_SEQ_CST);
		if (status == PD_TEST_HTTP_HANG)
			continue; /* keep the connection open, never answer */
		if (delay_ms > 0) {
			struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};

			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
		if (status == PD_TEST_HTTP_CLOSE) {
			close(fd);
			continue;
		}
		m = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 %d Scripted\r\n"
			     "Content-Type: application/json\r\n",
			     status);
		if (retry_after > 0)
			m += snprintf(resp + m, sizeof(resp) - (size_t)m, "Retry-After: %d\r\n",
				      retry_after);
		m += snprintf(resp + m, sizeof(resp) - (size_t)m,
			      "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(body),
			      body);
		if (write(fd, resp, (size_t)m) < 0)
			_exit(3);
		close(fd);
	}
}

void
pd_test_http_script(struct pd_test_http *h, const struct pd_test_reply *script, size_t n)
{
	struct pd_test_http_shared *sh = h->sh;

	ck_assert_msg(n >= 1 && n <= PD_TEST_HTTP_MAX_SCRIPT, "script of %zu replies", n);
	__atomic_store_n(&sh->n, 0, __ATOMIC_SEQ_CST);
	for (size_t k = 0; k < n; k++) {
		sh->script[k].status = script[k].status;
		sh->script[k].retry_after = script[k].retry_after;
		sh->script[k].delay_ms = script[k].delay_ms;
		ck_assert(script[k].body == NULL ||
			  strlen(script[k].body) < sizeof(sh->script[k].body));
		snprintf(sh->script[k].body, sizeof(sh->script[k].body), "%s",
			 script[k].body != NULL ? script[k].body : "{}");
	}
	__atomic_store_n(&sh->base, __atomic_load_n(&sh->nreq, __ATOMIC_SEQ_CST), __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->n, (int)n, __ATOMIC_SEQ_CST);
}

void
pd_test_http_start(struct pd_test_http *h, int port, const struct pd_test_reply *script, size_t n)
{
	pid_t parent = getpid();
	sigset_t term, old;
	int lfd;

	memset(h, 0, sizeof(*h));
	h->sh = mmap(NULL, sizeof(*h->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		     0);
	ck_assert_msg(h->sh != MAP_FAILED, "mmap: %s", strerror(errno));
	pd_test_http_script(h, script, n);
	pd_test_tmpdir(h->dir, sizeof(h->dir), "http");
	lfd = http_listen(port, &h->port);
	ck_assert_msg(lfd >= 0, "receiver: cannot listen on 127.0.0.1:%d: %s", port,
		      strerror(errno));
	/* Check's SIGTERM handler (inherited by the test) kills the whole process group: the
	 * receiver must not run it, even for a SIGTERM that comes before it could reset it */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	h->pid = fork();
	if (h->pid == 0) {
		/* never outlive the test, even when an assertion ends it early */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		signal(SIGTERM, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		alarm(120);
		http_serve(lfd, h->dir, h->sh);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(lfd);
	ck_assert_int_ge(h->pid, 0);
}

int
pd_test_http_count(const struct pd_test_http *h)
{
	return __atomic_load_n(&h->sh->nreq, __ATOMIC_SEQ_CST);
}

static char *
http_slurp(const char *path, size_t *len)
{
	char *data = pd_test_slurp(path, len);

	ck_assert_msg(data != NULL, "%s: %s", path, strerror(errno));
	return data;
}

const struct pd_test_request *
pd_test_http_request(struct pd_test_http *h, int i)
{
	struct pd_test_request *r;
	char path[300];
	size_t len;

	ck_assert_msg(i >= 0 && i < pd_test_http_count(h) && i < PD_TEST_HTTP_MAX_REQ,
		      "request %d of %d", i, pd_test_http_count(h));
	r = &h->req[i];
	if (r->head == NULL) {
		snprintf(path, sizeof(path), "%s/req-%03d.head", h->dir, i);
		r->head = http_slurp(path, &len);
		r->line = strndup(r->head, strcspn(r->head, "\r\n"));
		ck_assert_ptr_nonnull(r->line);
		snprintf(path, sizeof(path), "%s/req-%03d.body", h->dir, i);
		r->body = http_slurp(path, &r->body_len);
	}
	return r;
}

cJSON *
pd_test_http_json(struct pd_test_http *h, int i)
{
	const struct pd_test_request *r = pd_test_http_request(h, i);
	cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);

	ck_assert_msg(j != NULL, "request %d: body is not JSON: %s", i, r->body);
	return j;
}

void
pd_test_http_stop(struct pd_test_http *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		waitpid(h->pid, NULL, 0);
		h->pid = 0;
	}
	for (int i = 0; i < PD_TEST_HTTP_MAX_REQ; i++) {
		free(h->req[i].line);
		free(h->req[i].head);
		free(h->req[i].body);
		h->req[i].line = h->req[i].head = h->req[i].body = NULL;
	}
	if (h->sh != NULL && h->sh != MAP_FAILED)
		munmap(h->sh, sizeof(*h->sh));
	h->sh = NULL;
	if (h->dir[0] != '\0')
		pd_test_rm_tree(h->dir);
	h->dir[0] = '\0';
}
