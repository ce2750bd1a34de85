/* runner.c — curl multi *socket* interface on a libev loop.
 *
 * The shape of curl's docs/examples/evhiperfifo.c, with its known problems fixed:
 *  - timer values are converted as ms / 1000.0 (integer division made 0 of 999 ms and spun);
 *  - a timer value of -1 stops the timer;
 *  - libcurl is never called from inside CURLMOPT_TIMERFUNCTION: it only (re)arms an
 *    ev_timer, whose callback calls curl_multi_socket_action on the next iteration;
 *  - curl_multi_info_read is drained after every socket_action;
 *  - each transfer has CURLOPT_PRIVATE -> its struct xfer and its own CURLOPT_ERRORBUFFER;
 *  - both connect and total timeouts are set; the body goes into a capped buffer and the
 *    cap aborts the transfer (a failure, never unbounded memory).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include "probed/runner.h"
#include "probed/tlscert.h"

struct runner_sock {
	ev_io io;
	curl_socket_t fd;
	struct pd_runner *r;
};

struct xfer {
	CURL *easy;
	struct pd_runner *r;
	pd_runner_done_fn fn;
	void *ud;
	struct curl_slist *hdrs;
	struct curl_slist *rcpt; /* SMTP recipients */
	char *upload;            /* a copy of the upload body */
	size_t upload_len, upload_off;
	char errbuf[CURL_ERROR_SIZE];
	struct pd_response resp;
	struct xfer *prev, *next;
};

struct pd_runner {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	size_t inflight;
	struct xfer *xfers; /* doubly-linked list of in-flight transfers */
};

static void runner_drain(struct pd_runner *r);

/* A transfer's handle, headers, upload (wiped: it may hold credentials) and body, freed. */
static void
xfer_free(struct xfer *x)
{
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	curl_slist_free_all(x->rcpt);
	if (x->upload != NULL)
		explicit_bzero(x->upload, x->upload_len);
	free(x->upload);
	pd_buf_cleanup(&x->resp.body);
	free(x);
}

static void
xfer_finish(struct pd_runner *r, struct xfer *x, CURLcode code)
{
	struct pd_response *resp = &x->resp;
	curl_off_t t;
	long status = 0;

	resp->curl_code = (int)code;
	if (code != CURLE_OK) {
		const char *msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(code);
		size_t n;

		snprintf(resp->error, sizeof(resp->error), "%s", msg);
		/* curl's messages end in a newline sometimes */
		n = strlen(resp->error);
		while (n && (resp->error[n - 1] == '\n' || resp->error[n - 1] == '\r'))
			resp->error[--n] = '\0';
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	resp->http_status = status;
#define GET_T(info, field)                                                     \
	do {                                                                   \
		if (curl_easy_getinfo(x->easy, info, &t) == CURLE_OK && t > 0) \
			resp->field = (double)t / 1e6;                         \
	} while (0)
	GET_T(CURLINFO_NAMELOOKUP_TIME_T, namelookup_s);
	GET_T(CURLINFO_CONNECT_TIME_T, connect_s);
	GET_T(CURLINFO_APPCONNECT_TIME_T, appconnect_s);
	GET_T(CURLINFO_STARTTRANSFER_TIME_T, starttransfer_s);
	GET_T(CURLINFO_TOTAL_TIME_T, total_s);
#undef GET_T
	{
		/* only filled on a fresh handshake (probes never reuse one) */
		struct curl_certinfo *ci = NULL;

		if (curl_easy_getinfo(x->easy, CURLINFO_CERTINFO, &ci) == CURLE_OK)
			resp->cert_not_after_s = pd_tlscert_earliest(ci);
	}

	curl_multi_remove_handle(r->multi, x->easy);
	if (x->prev)
		x->prev->next = x->next;
	else
		r->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	r->inflight--;

	if (x->fn)
		x->fn(x->ud, resp);

	xfer_free(x);
}

static void
runner_drain(struct pd_runner *r)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(r->multi, &left)) != NULL) {
		struct xfer *x = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x != NULL)
			xfer_finish(r, x, msg->data.result);
	}
}

static void
runner_on_timer(EV_P_ ev_timer *w, int revents)
{
	struct pd_runner *r = w->data;
	int running = 0;

	(void)revents;
	(void)EV_A;
	curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	runner_drain(r);
}

static void
runner_on_io(EV_P_ ev_io *w, int revents)
{
	struct runner_sock *s = w->data;
	struct pd_runner *r = s->r;
	int action = ((revents & EV_READ) ? CURL_CSELECT_IN : 0) |
		     ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	int running = 0;

	(void)EV_A;
	curl_multi_socket_action(r->multi, s->fd, action, &running);
	runner_drain(r);
	/* not when a done callback has submitted a new transfer (its start is on the timer
	 * curl just armed): `running` predates it */
	if (running <= 0 && r->inflight == 0)
		ev_timer_stop(r->loop, &r->timer);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arm the ev_timer; never call libcurl here. */
static int
runner_multi_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct pd_runner *r = userp;

	(void)multi;
	ev_timer_stop(r->loop, &r->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&r->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(r->loop, &r->timer);
	}
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: mirror curl's interest in fd into an ev_io. */
static int
runner_multi_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct pd_runner *r = userp;
	struct runner_sock *s = socketp;
	int kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			ev_io_stop(r->loop, &s->io);
			curl_multi_assign(r->multi, fd, NULL);
			free(s);
		}
		return 0;
	}
	kind = ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1;
		s->fd = fd;
		s->r = r;
		ev_io_init(&s->io, runner_on_io, fd, kind);
		s->io.data = s;
		curl_multi_assign(r->multi, fd, s);
	} else {
		ev_io_stop(r->loop, &s->io);
		ev_io_set(&s->io, fd, kind);
	}
	ev_io_start(r->loop, &s->io);
	return 0;
}

static size_t
runner_on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;

	if (pd_buf_append(&x->resp.body, ptr, n) != 0)
		return 0; /* over the cap (or OOM): abort with CURLE_WRITE_ERROR */
	return n;
}

/* A header value of digits only (delta-seconds, a count), white space around allowed:
 * the number, saturated at max (RFC 9110 5.1/8.8.3: a larger delta-seconds counts as the
 * largest one can represent), or -1 when the value is anything else. */
static int64_t
header_uint(const char *v, size_t len, int64_t max)
{
	size_t i = 0;
	int64_t n = 0;

	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i == len || v[i] < '0' || v[i] > '9')
		return -1;
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++)
		n = n > (max - (v[i] - '0')) / 10 ? max : n * 10 + (v[i] - '0');
	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	return i == len ? n : -1;
}

void
pd_runner_parse_header(struct pd_response *resp, const char *buf, size_t len)
{
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len > 12 && strncasecmp(buf, "Retry-After:", 12) == 0)
		resp->retry_after_s =
			pd_runner_retry_after(buf + 12, len - 12, (int64_t)time(NULL));
	else if (len > 22 && strncasecmp(buf, "X-RateLimit-Remaining:", 22) == 0)
		resp->ratelimit_remaining = header_uint(buf + 22, len - 22, INT64_MAX);
}

int64_t
pd_runner_retry_after(const char *v, size_t len, int64_t now_s)
{
	char tmp[64];
	time_t at;
	int64_t n = header_uint(v, len, PD_RUNNER_RETRY_AFTER_MAX_S);

	if (n >= 0)
		return n;
	/* the HTTP-date form: "Wed, 21 Oct 2015 07:28:00 GMT" */
	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	if (len == 0 || len >= sizeof(tmp) || memchr(v, '\0', len) != NULL)
		return -1;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	at = curl_getdate(tmp, NULL);
	if (at == (time_t)-1)
		return -1;
	if ((int64_t)at <= now_s)
		return 0;
	return (int64_t)at - now_s > PD_RUNNER_RETRY_AFTER_MAX_S ? PD_RUNNER_RETRY_AFTER_MAX_S
								 : (int64_t)at - now_s;
}

static size_t
runner_on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nitems;

	pd_runner_parse_header(&x->resp, buf, n);
	return n;
}

struct pd_runner *
pd_runner_new(struct ev_loop *loop, struct pd_err *err)
{
	struct pd_runner *r;
	static int global_done;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			pd_err_set(err, PD_ERR_HTTP, "curl_global_init failed");
			return NULL;
		}
		global_done = 1;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		return NULL;
	}
	r->loop = loop;
	r->multi = curl_multi_init();
	if (r->multi == NULL) {
		free(r);
		pd_err_set(err, PD_ERR_HTTP, "curl_multi_init failed");
		return NULL;
	}
	ev_timer_init(&r->timer, runner_on_timer, 0., 0.);
	r->timer.data = r;
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, runner_multi_socket);
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, runner_multi_timer);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
	return r;
}

void
pd_runner_free(struct pd_runner *r)
{
	if (r == NULL)
		return;
	while (r->xfers != NULL)
		xfer_finish(r, r->xfers, CURLE_ABORTED_BY_CALLBACK);
	ev_timer_stop(r->loop, &r->timer);
	curl_multi_cleanup(r->multi);
	free(r);
}

size_t
pd_runner_inflight(const struct pd_runner *r)
{
	return r->inflight;
}

/* CURLOPT_READFUNCTION of an upload: the next piece of the copied body. */
static size_t
runner_on_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems, left = x->upload_len - x->upload_off;

	if (n > left)
		n = left;
	memcpy(buf, x->upload + x->upload_off, n);
	x->upload_off += n;
	return n;
}

int
pd_runner_submit(struct pd_runner *r, const struct pd_request *req, pd_runner_done_fn fn, void *ud,
		 struct pd_err *err)
{
	struct xfer *x;
	int64_t ct;
	int rc = 0;

	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	x->r = r;
	x->fn = fn;
	x->ud = ud;
	x->resp.retry_after_s = -1;
	x->resp.ratelimit_remaining = -1;
	x->resp.cert_not_after_s = -1;
	x->resp.namelookup_s = x->resp.connect_s = x->resp.appconnect_s = -1;
	x->resp.starttransfer_s = x->resp.total_s = -1;
	pd_buf_init(&x->resp.body, req->max_body ? req->max_body : PD_CONFIG_DEFAULT_MAX_BODY);
	x->easy = curl_easy_init();
	if (x->easy == NULL) {
		rc = pd_err_set(err, PD_ERR_HTTP, "curl_easy_init failed");
		goto out;
	}
	for (size_t i = 0; i < req->nheaders; i++) {
		/* sized to the header: a long bearer token must not be cut (it would read as a
		 * rejected key: a P1 for nothing) */
		const char *name = req->headers[i].name, *value = req->headers[i].value;
		size_t cap = strlen(name) + (value ? strlen(value) : 0) + 3;
		char *line = malloc(cap);
		struct curl_slist *n = NULL;

		if (line != NULL) {
			if (value == NULL) /* remove a header curl would add */
				snprintf(line, cap, "%s:", name);
			else if (value[0] == '\0')
				snprintf(line, cap, "%s;", name);
			else
				snprintf(line, cap, "%s: %s", name, value);
			n = curl_slist_append(x->hdrs, line);
			explicit_bzero(line, cap);
			free(line);
		}
		if (n == NULL) {
			rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
			goto out;
		}
		x->hdrs = n;
	}
	ct = req->connect_timeout_ms;
	if (ct <= 0)
		ct = req->timeout_ms < 10000 ? req->timeout_ms : 10000;

	curl_easy_setopt(x->easy, CURLOPT_URL, req->url);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR,
			 req->protocols != NULL ? req->protocols : "http,https");
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)ct);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, runner_on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, runner_on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "probed/" PROBED_VERSION);
	curl_easy_setopt(x->easy, CURLOPT_ACCEPT_ENCODING, "");
	if (x->hdrs)
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	if (req->fresh_connect) {
		curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(x->easy, CURLOPT_FORBID_REUSE, 1L);
		/* resolve afresh too. The multi handle shares one DNS cache (60 s by
		 * default) among its transfers: a DNS change or failure showed up to a minute
		 * late, and the DNS time read ~0. */
		curl_easy_setopt(x->easy, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	}
	if (req->certinfo)
		curl_easy_setopt(x->easy, CURLOPT_CERTINFO, 1L);
	if (req->ca_file != NULL)
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, req->ca_file);
	if (req->mail_from != NULL)
		curl_easy_setopt(x->easy, CURLOPT_MAIL_FROM, req->mail_from);
	for (size_t i = 0; i < req->nmail_rcpt; i++) {
		struct curl_slist *n = curl_slist_append(x->rcpt, req->mail_rcpt[i]);

		if (n == NULL) {
			rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
			goto out;
		}
		x->rcpt = n;
	}
	if (x->rcpt != NULL)
		curl_easy_setopt(x->easy, CURLOPT_MAIL_RCPT, x->rcpt);
	if (req->username != NULL)
		curl_easy_setopt(x->easy, CURLOPT_USERNAME, req->username);
	if (req->password != NULL)
		curl_easy_setopt(x->easy, CURLOPT_PASSWORD, req->password);
	if (req->use_ssl != 0)
		curl_easy_setopt(x->easy, CURLOPT_USE_SSL, req->use_ssl);
	if (req->upload) {
		x->upload_len = req->body_len;
		x->upload = malloc(req->body_len + 1);
		if (x->upload == NULL) {
			rc = pd_err_set(err, PD_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (req->body_len > 0)
			memcpy(x->upload, req->body, req->body_len);
		curl_easy_setopt(x->easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(x->easy, CURLOPT_READFUNCTION, runner_on_read);
		curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
		curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
	} else if (req->body != NULL) {
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(x->easy, CURLOPT_COPYPOSTFIELDS, req->body);
	}
	if (req->method != NULL && strcmp(req->method, req->body ? "POST" : "GET") != 0) {
		if (strcmp(req->method, "HEAD") == 0)
			curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
		else
			curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, req->method);
	}

	if (curl_multi_add_handle(r->multi, x->easy) != CURLM_OK) {
		rc = pd_err_set(err, PD_ERR_HTTP, "curl_multi_add_handle failed");
		goto out;
	}
	x->next = r->xfers;
	if (r->xfers)
		r->xfers->prev = x;
	r->xfers = x;
	r->inflight++;
	return 0;
out:
	xfer_free(x);
	return rc;
}
