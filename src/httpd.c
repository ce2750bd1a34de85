/* httpd.c — libmicrohttpd on the daemon's libev loop (see httpd.h).
 *
 *   MHD epoll fd readable ──► ev_io ───┐
 *   MHD_get_timeout() expiry ► ev_timer ┼──► httpd_run(): MHD_run() [twice after the
 *   the tick (PD_HTTPD_TICK_S) ► tick ──┘    limit was left] ──► httpd_arm(): ev_timer =
 *     (first shuts overdue and dead connections)                  MHD_get_timeout()
 *
 *   a status page request ► sp_tick: pd_statuspage_refresh() slices (bounded store reads
 *     for the series cache) every PD_STATUSPAGE_TICK_MS while the page is being viewed
 *
 *   /, /api/status, /metrics ► pd_statuspage_collect() / pd_metrics_collect() on the
 *     loop (a copy of what the document shows) ► the connection is suspended ► the
 *     render thread writes HTML, JSON or the exposition ► ev_async ► the connection is
 *     resumed and answered
 *
 * Renders off the loop: at 1,000 probes the HTML or JSON of the status page takes 10-30 ms
 * to write and /metrics ~5 ms (18,000 lines), and on the loop every probe start due
 * meanwhile would wait for it. /metrics goes the same way: pd_metrics_collect on the loop,
 * pd_metrics_format on the thread. The render
 * thread sees only its job (the view, which owns everything it points to, and the
 * buffer), never the daemon; pd_log_redact's list of secrets has its own lock. Requests
 * for the same document that arrive while its render is still queued share it (a page
 * reload storm renders once). At most RENDER_MAX_JOBS renders wait; more answer 503.
 *
 * MHD_run() never blocks in this mode (external polling). After every run the timer is
 * re-armed from MHD_get_timeout(): 0 when MHD still has ready connections (it uses
 * edge-triggered epoll internally, so they would not wake the ev_io again), the idle
 * timeout of the oldest connection otherwise, and stopped when there is nothing to time.
 *
 * Why the extra run and the tick: at its connection limit libmicrohttpd takes
 * the listen socket out of its epoll set, and puts it back only at the *start* of a later
 * MHD_run(). When every connection closed within one run, nothing was left to wake the
 * loop for that later run (no connection, no timeout, the listen socket not watched):
 * the listener stayed deaf for good. So a run that leaves the limit is followed by a
 * second one at once, and the tick runs MHD whatever MHD_get_timeout() says (a net for
 * any other way the listen socket can be left out, e.g. accept() hitting EMFILE): every
 * PD_HTTPD_TICK_S while connections are open, PD_HTTPD_IDLE_TICK_S otherwise.
 *
 * Slow clients: each connection is tracked (MHD_OPTION_NOTIFY_CONNECTION); one that has
 * not sent a whole request head PD_HTTPD_REQUEST_TIMEOUT_S after it opened (or after its
 * previous answer), or whose answer is not done PD_HTTPD_ANSWER_TIMEOUT_S after its head,
 * is shut down (shutdown(2) on its socket: libmicrohttpd then sees the end of the stream
 * and closes and frees it itself). A slowloris trickling a byte every second keeps
 * libmicrohttpd's idle timeout from ever firing; this deadline does not reset.
 *
 * Dead clients: libmicrohttpd 0.9.75 treats a short read as "no more to read" under
 * edge-triggered epoll, so when the last bytes of a client and its FIN arrive together
 * (a slowloris that quits, a connection accepted after its client left) it never reads
 * the end of the stream and keeps the connection until a timeout, holding a slot. The
 * tick peeks at every connection waiting for a request: the end of the stream there
 * means the client is gone, and it is shut down the same way.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <ev.h>
#include <microhttpd.h>
#include "probed/buf.h"
#include "probed/clock.h"
#include "probed/httpd.h"
#include "probed/log.h"
#include "probed/metrics.h"
#include "probed/statuspage.h"

/* One per open connection (its socket_context), in pd_httpd's list. */
struct httpd_conn {
	struct httpd_conn *prev, *next;
	struct MHD_Connection *c;
	int64_t since_ms; /* monotonic: opened, or its head came, or its answer was done */
	int busy;         /* a request head is in and not answered yet */
	int shut;         /* already shut down by the sweep */
};

#define RENDER_MAX_JOBS 4
#define RENDER_MAX_WAIT 16 /* connections sharing one render */

enum render_kind { RENDER_HTML, RENDER_JSON, RENDER_METRICS };

static const char *const render_path[] = {"/", "/api/status", "/metrics"};
static const char *const render_ctype[] = {"text/html; charset=utf-8", "application/json",
					   PD_METRICS_CONTENT_TYPE};

/* One render of the status page (HTML or JSON) or of /metrics for the connections waiting
 * for it. */
struct render_job {
	struct render_job *next;
	enum render_kind kind;
	int taken;                      /* the thread has it: no more connections join */
	int done;                       /* body is ready (the loop answers) */
	struct pd_statuspage_view view; /* HTML, JSON */
	struct pd_metrics_snap *msnap;  /* metrics */
	struct pd_buf body;
	int rc;
	struct pd_err err;
	struct MHD_Connection *wait[RENDER_MAX_WAIT];
	size_t nwait;
	size_t refs; /* waiting connections not answered yet */
};

struct pd_httpd {
	struct pd_daemon *d;
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	struct pd_statuspage *sp;
	ev_io io;
	ev_timer timer;
	ev_timer tick;
	ev_timer sp_tick;          /* status page series refresh, while the page is viewed */
	struct httpd_conn *conns;  /* open connections (at most PD_HTTPD_MAX_CONN) */
	unsigned nconn;            /* libmicrohttpd's count after the last run */
	unsigned long slow_closed; /* overdue connections shut down, since the last warning */
	int64_t slow_warned_ms;
	unsigned port;
	char addr[96];
	char mhd_msg[256]; /* libmicrohttpd's last message (start errors) */
	char listen[256];  /* http.listen as started */
	int warned_listen; /* a reload changed http.listen: said so once */
	/* the render thread: jobs queued (todo) and finished (done), both under mu */
	pthread_t thread;
	int thread_started, thread_stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct render_job *todo, *done;
	struct render_job *jobs[RENDER_MAX_JOBS]; /* every job not freed yet (loop side) */
	ev_async async;
};

int
pd_httpd_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
		      struct pd_err *err)
{
	char host[256], *end;
	const char *colon, *port;
	struct addrinfo hints, *res = NULL;
	unsigned long pv;
	int rc;

	if (listen == NULL || listen[0] == '\0')
		return pd_err_set(err, PD_ERR_INVALID, "http.listen: empty address");
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (close == NULL || close[1] != ':' ||
		    (size_t)(close - listen - 1) >= sizeof(host))
			return pd_err_set(err, PD_ERR_INVALID,
					  "http.listen: '%s' is not [v6-address]:port", listen);
		memcpy(host, listen + 1, (size_t)(close - listen - 1));
		host[close - listen - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL || colon == listen || (size_t)(colon - listen) >= sizeof(host) ||
		    memchr(listen, ':', (size_t)(colon - listen)) != NULL)
			return pd_err_set(
				err, PD_ERR_INVALID,
				"http.listen: '%s' is not host:port (write IPv6 as [addr]:port)",
				listen);
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = '\0';
	}
	port = colon + 1;
	pv = strtoul(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || *end != '\0' || pv > 65535)
		return pd_err_set(err, PD_ERR_INVALID, "http.listen: bad port in '%s'", listen);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = listen[0] == '[' ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return pd_err_set(err, PD_ERR_INVALID, "http.listen: cannot resolve '%s': %s", host,
				  gai_strerror(rc));
	if (res == NULL || res->ai_addrlen > sizeof(*ss)) {
		freeaddrinfo(res);
		return pd_err_set(err, PD_ERR_INVALID, "http.listen: no address for '%s'", host);
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* ---- responses ----------------------------------------------------------------------- */

static enum MHD_Result
httpd_send(struct MHD_Connection *c, unsigned status, const char *ctype, struct pd_buf *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (body->data == NULL && pd_buf_append(body, "", 0) != 0)
		return MHD_NO;
	/* MUST_FREE hands the malloc'd buffer over to libmicrohttpd */
	r = MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		pd_buf_cleanup(body);
		return MHD_NO;
	}
	body->data = NULL;
	body->len = body->cap = 0;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	/* no scripts, no external anything: only the page's own inline CSS */
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
				"base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"probed\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
httpd_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct pd_buf b;

	pd_buf_init(&b, 0);
	if (pd_buf_printf(&b, "%s\n", text) != 0) {
		pd_buf_cleanup(&b);
		return MHD_NO;
	}
	return httpd_send(c, status, "text/plain; charset=utf-8", &b);
}

/* Constant-time comparison: the time depends only on the length of the expected token. */
static int
token_equal(const char *got, size_t got_len, const char *want)
{
	size_t want_len = strlen(want);
	unsigned char diff = got_len != want_len;

	for (size_t i = 0; i < want_len; i++)
		diff |= (unsigned char)((i < got_len ? (unsigned char)got[i] : 0) ^
					(unsigned char)want[i]);
	return diff == 0;
}

static int
httpd_authorized(struct MHD_Connection *c, const char *token)
{
	const char *h;
	size_t len;

	if (token == NULL || token[0] == '\0')
		return 1;
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	len = strlen(h);
	while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	return token_equal(h, len, token);
}

/* ---- connections and their deadlines ---------------------------------------------- */

static struct httpd_conn *
httpd_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* A request head came in (busy = 1) or its answer is done (busy = 0): a new phase, with
 * its own deadline, starts now. */
static void
httpd_conn_phase(struct MHD_Connection *c, int busy)
{
	struct httpd_conn *hc = httpd_conn_of(c);

	if (hc == NULL)
		return;
	hc->busy = busy;
	hc->since_ms = pd_clock_mono_ms();
}

static void
httpd_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
		    enum MHD_ConnectionNotificationCode toe)
{
	struct pd_httpd *h = cls;
	struct httpd_conn *hc = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((hc = calloc(1, sizeof(*hc))) == NULL)
			return; /* untracked: only libmicrohttpd's idle timeout applies */
		hc->c = c;
		hc->since_ms = pd_clock_mono_ms();
		hc->next = h->conns;
		if (h->conns != NULL)
			h->conns->prev = hc;
		h->conns = hc;
		*socket_context = hc;
		if (h->tick.repeat != PD_HTTPD_TICK_S) {
			h->tick.repeat = PD_HTTPD_TICK_S; /* connections to watch: tick faster */
			ev_timer_again(h->loop, &h->tick);
		}
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && hc != NULL) {
		if (hc->prev != NULL)
			hc->prev->next = hc->next;
		else
			h->conns = hc->next;
		if (hc->next != NULL)
			hc->next->prev = hc->prev;
		free(hc);
		*socket_context = NULL;
	}
}

/* ---- renders off the loop (see the top of this file) ----------------------------------- */

static void httpd_run(struct pd_httpd *h);

/* Copy what j's document shows (on the loop). */
static int
render_collect(struct pd_httpd *h, struct render_job *j, int64_t now, struct pd_err *err)
{
	if (j->kind != RENDER_METRICS && !ev_is_active(&h->sp_tick))
		ev_timer_again(h->loop, &h->sp_tick);
	if (j->kind == RENDER_METRICS)
		return pd_metrics_collect(h->d, now, PD_HTTPD_BODY_LIMIT, &j->msnap, err);
	return pd_statuspage_collect(h->sp, h->d, now, &j->view, err);
}

/* Write j's document from its copy (on the render thread, or inline). */
static void
render_job_run(struct render_job *j)
{
	if (j->kind == RENDER_METRICS)
		j->rc = pd_metrics_format(j->msnap, &j->body, &j->err);
	else if (j->kind == RENDER_JSON)
		j->rc = pd_statuspage_json(&j->view, &j->body, &j->err);
	else
		j->rc = pd_statuspage_html(&j->view, &j->body, &j->err);
}

static void *
render_main(void *arg)
{
	struct pd_httpd *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct render_job *j, **tail;

		while (h->todo == NULL && !h->thread_stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->thread_stop)
			break;
		j = h->todo;
		h->todo = j->next;
		j->taken = 1;
		pthread_mutex_unlock(&h->mu);
		render_job_run(j);
		pthread_mutex_lock(&h->mu);
		j->next = NULL;
		for (tail = &h->done; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = j;
		ev_async_send(h->loop, &h->async);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static void
render_job_free(struct pd_httpd *h, struct render_job *j)
{
	for (size_t i = 0; i < RENDER_MAX_JOBS; i++)
		if (h->jobs[i] == j)
			h->jobs[i] = NULL;
	if (j->kind != RENDER_METRICS)
		pd_statuspage_view_cleanup(&j->view);
	pd_metrics_snap_free(j->msnap);
	pd_buf_cleanup(&j->body);
	free(j);
}

/* Renders came back: resume their connections, which the next run answers. */
static void
httpd_on_async(EV_P_ ev_async *w, int revents)
{
	struct pd_httpd *h = w->data;
	struct render_job *list;

	(void)EV_A;
	(void)revents;
	pthread_mutex_lock(&h->mu);
	list = h->done;
	h->done = NULL;
	pthread_mutex_unlock(&h->mu);
	while (list != NULL) {
		struct render_job *j = list;

		list = j->next;
		j->next = NULL;
		j->done = 1;
		if (j->rc != 0)
			pd_log_err("http: %s: %s", render_path[j->kind], j->err.msg);
		if (j->refs == 0) {
			render_job_free(h, j);
			continue;
		}
		for (size_t i = 0; i < j->nwait; i++)
			if (j->wait[i] != NULL)
				MHD_resume_connection(j->wait[i]);
	}
	httpd_run(h);
}

/* Forget connection c of job j (answered, or gone); the job goes with its last one once
 * the thread is done with it. */
static void
render_job_leave(struct pd_httpd *h, struct render_job *j, struct MHD_Connection *c)
{
	for (size_t i = 0; i < j->nwait; i++)
		if (j->wait[i] == c)
			j->wait[i] = NULL;
	if (j->refs > 0)
		j->refs--;
	if (j->refs == 0 && j->done)
		render_job_free(h, j);
}

/* A request for the status page or /metrics: join a queued render of the same document, or
 * collect what it shows now and queue one; the connection waits suspended. */
static enum MHD_Result
httpd_render_start(struct pd_httpd *h, struct MHD_Connection *c, void **con_cls,
		   enum render_kind kind, int64_t now)
{
	struct render_job *j = NULL;
	struct pd_err err = {0};
	int slot = -1;

	pthread_mutex_lock(&h->mu);
	for (int i = 0; i < RENDER_MAX_JOBS; i++) {
		struct render_job *x = h->jobs[i];

		if (x == NULL) {
			if (slot < 0)
				slot = i;
		} else if (x->kind == kind && !x->taken && x->nwait < RENDER_MAX_WAIT) {
			j = x;
		}
	}
	if (j != NULL) {
		j->wait[j->nwait++] = c;
		j->refs++;
	}
	pthread_mutex_unlock(&h->mu);
	if (j != NULL) {
		*con_cls = j;
		MHD_suspend_connection(c);
		return MHD_YES;
	}
	if (slot < 0) {
		pd_log_warn("http: %d renders already queued: %s answered 503", RENDER_MAX_JOBS,
			    render_path[kind]);
		return httpd_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "busy: try again");
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return httpd_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	pd_buf_init(&j->body, PD_HTTPD_BODY_LIMIT);
	j->kind = kind;
	if (render_collect(h, j, now, &err) != 0) {
		pd_log_err("http: %s: %s", render_path[kind], err.msg);
		render_job_free(h, j);
		return httpd_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
	}
	j->wait[j->nwait++] = c;
	j->refs = 1;
	h->jobs[slot] = j;
	*con_cls = j;
	MHD_suspend_connection(c);
	pthread_mutex_lock(&h->mu);
	{
		struct render_job **tail;

		for (tail = &h->todo; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = j;
	}
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	return MHD_YES;
}

/* The connection is back from its render: answer it (the last one takes the body, the
 * others a copy). */
static enum MHD_Result
httpd_render_answer(struct pd_httpd *h, struct MHD_Connection *c, void **con_cls)
{
	struct render_job *j = *con_cls;
	const char *ctype = render_ctype[j->kind];
	struct pd_buf copy;
	enum MHD_Result ret;

	*con_cls = h;
	if (j->rc != 0) {
		ret = httpd_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
	} else if (j->refs <= 1) {
		pd_log_debug("http: GET %s -> 200 (%zu bytes)", render_path[j->kind], j->body.len);
		ret = httpd_send(c, MHD_HTTP_OK, ctype, &j->body);
	} else {
		pd_buf_init(&copy, 0);
		if (pd_buf_append(&copy, j->body.data ? j->body.data : "", j->body.len) != 0) {
			pd_buf_cleanup(&copy);
			ret = httpd_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		} else {
			ret = httpd_send(c, MHD_HTTP_OK, ctype, &copy);
		}
	}
	render_job_leave(h, j, c);
	return ret;
}

/* The same on the loop: an unbound listener (the fuzz harness), or no render thread. */
static enum MHD_Result
httpd_render_inline(struct pd_httpd *h, struct MHD_Connection *c, enum render_kind kind,
		    int64_t now)
{
	struct render_job *j = calloc(1, sizeof(*j));
	struct pd_err err = {0};
	enum MHD_Result ret;

	if (j == NULL)
		return httpd_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	pd_buf_init(&j->body, PD_HTTPD_BODY_LIMIT);
	j->kind = kind;
	if (render_collect(h, j, now, &err) != 0) {
		j->rc = -1;
		j->err = err;
	} else {
		render_job_run(j);
	}
	if (j->rc != 0) {
		pd_log_err("http: %s: %s", render_path[kind], j->err.msg);
		ret = httpd_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
	} else {
		pd_log_debug("http: GET %s -> 200 (%zu bytes)", render_path[kind], j->body.len);
		ret = httpd_send(c, MHD_HTTP_OK, render_ctype[kind], &j->body);
	}
	render_job_free(h, j);
	return ret;
}

static void
httpd_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
		   enum MHD_RequestTerminationCode toe)
{
	struct pd_httpd *h = cls;

	(void)toe;
	if (*con_cls != NULL && *con_cls != h) {
		/* ended while waiting for its render (the listener stops) */
		render_job_leave(h, *con_cls, c);
		*con_cls = NULL;
	}
	httpd_conn_phase(c, 0);
}

/* Is the connection past its deadline (see the top of this file)? Pure. */
static int
httpd_conn_overdue(const struct httpd_conn *hc, int64_t now_ms)
{
	int64_t limit =
		1000LL * (hc->busy ? PD_HTTPD_ANSWER_TIMEOUT_S : PD_HTTPD_REQUEST_TIMEOUT_S);

	return now_ms - hc->since_ms >= limit;
}

/* Has the client of a connection waiting for a request gone (end of stream, nothing
 * unread)? Only asked once the connection has waited a while: a pipelined request that
 * libmicrohttpd has already buffered would otherwise look like a gone client. */
static int
httpd_conn_gone(const struct httpd_conn *hc, int fd, int64_t now_ms)
{
	char b;

	return !hc->busy && now_ms - hc->since_ms >= PD_HTTPD_GONE_AFTER_MS &&
	       recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* Shut down every overdue connection, and every one whose client is gone; libmicrohttpd
 * closes them on its next run. */
static void
httpd_sweep(struct pd_httpd *h)
{
	int64_t now = pd_clock_mono_ms();

	for (struct httpd_conn *hc = h->conns; hc != NULL; hc = hc->next) {
		const union MHD_ConnectionInfo *ci;
		int overdue;

		if (hc->shut)
			continue;
		ci = MHD_get_connection_info(hc->c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL || ci->connect_fd == MHD_INVALID_SOCKET)
			continue;
		overdue = httpd_conn_overdue(hc, now);
		if (!overdue && !httpd_conn_gone(hc, ci->connect_fd, now))
			continue;
		(void)shutdown(ci->connect_fd, SHUT_RDWR);
		hc->shut = 1;
		h->slow_closed += overdue;
	}
	if (h->slow_closed > 0 && now - h->slow_warned_ms >= 60000) {
		/* at most once a minute: a hostile client must not flood the log */
		pd_log_warn("http: closed %lu connection(s) that sent no whole request within %ds "
			    "(or took over %ds to be answered); %u of %d connections in use",
			    h->slow_closed, PD_HTTPD_REQUEST_TIMEOUT_S, PD_HTTPD_ANSWER_TIMEOUT_S,
			    h->nconn, PD_HTTPD_MAX_CONN);
		h->slow_closed = 0;
		h->slow_warned_ms = now;
	}
}

static enum MHD_Result
httpd_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
		 const char *version, const char *upload_data, size_t *upload_data_size,
		 void **con_cls)
{
	struct pd_httpd *h = cls;
	const struct pd_config *cfg = pd_daemon_config(h->d);
	int64_t now = pd_daemon_now_ms(h->d);
	enum render_kind kind;

	(void)version;
	(void)upload_data;
	if (*con_cls == NULL)
		httpd_conn_phase(c, 1); /* the head is in: now the answer's deadline runs */
	if (!h->warned_listen &&
	    (cfg->http_listen == NULL || strcmp(cfg->http_listen, h->listen) != 0)) {
		h->warned_listen = 1;
		pd_log_warn(
			"http: http.listen changed in the reloaded configuration; still listening "
			"on %s until probed is restarted",
			h->addr);
	}
	/* the path only (never the query or headers) is logged */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		/* answered at once, before any body is read; MHD then closes the connection */
		pd_log_debug("http: %s %s -> 405", method, url);
		return httpd_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	}
	/* The first call only announces the headers. Answering a GET in the second call
	 * (the request is complete then) keeps the connection alive for the next scrape;
	 * answering in the first makes libmicrohttpd close it. */
	if (*con_cls == NULL) {
		*con_cls = h;
		return MHD_YES;
	}
	if (*con_cls != h) /* back from the render thread */
		return httpd_render_answer(h, c, con_cls);
	if (*upload_data_size != 0) {
		/* a GET with a body: not ours to read */
		*upload_data_size = 0;
		return httpd_text(c, MHD_HTTP_BAD_REQUEST, "unexpected request body");
	}
	if (strcmp(url, "/healthz") == 0)
		return httpd_text(c, MHD_HTTP_OK, "ok");
	if (!httpd_authorized(c, cfg->http_bearer_token)) {
		pd_log_debug("http: %s %s -> 401", method, url);
		return httpd_text(c, MHD_HTTP_UNAUTHORIZED, "unauthorized");
	}
	if (strcmp(url, "/metrics") == 0) {
		kind = RENDER_METRICS;
	} else if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
		kind = RENDER_HTML;
	} else if (strcmp(url, "/api/status") == 0) {
		kind = RENDER_JSON;
	} else {
		pd_log_debug("http: %s %s -> 404", method, url);
		return httpd_text(c, MHD_HTTP_NOT_FOUND, "not found");
	}
	if (h->thread_started)
		return httpd_render_start(h, c, con_cls, kind, now);
	return httpd_render_inline(h, c, kind, now);
}

/* ---- the loop ------------------------------------------------------------------------ */

static void
httpd_arm(struct pd_httpd *h)
{
	MHD_UNSIGNED_LONG_LONG t = 0;

	ev_timer_stop(h->loop, &h->timer);
	if (MHD_get_timeout(h->mhd, &t) == MHD_YES) {
		ev_timer_set(&h->timer, (double)t / 1000.0, 0.);
		ev_timer_start(h->loop, &h->timer);
	}
}

/* libmicrohttpd's connection count (this also frees the connections it closed). */
static unsigned
httpd_count(struct pd_httpd *h)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info != NULL ? info->num_connections : 0;
}

static void
httpd_run(struct pd_httpd *h)
{
	/* the count at the start of a run is the one left by the previous run: accepts
	 * happen only inside MHD_run() */
	unsigned before = h->nconn;

	if (MHD_run(h->mhd) != MHD_YES)
		pd_log_debug("http: MHD_run reported an error");
	h->nconn = httpd_count(h);
	if (before >= PD_HTTPD_MAX_CONN && h->nconn < PD_HTTPD_MAX_CONN) {
		/* this run started at the limit, so the listen socket is out of MHD's epoll
		 * set; only the start of a run puts it back (and accepts what waits) */
		pd_log_debug("http: below the connection limit again (%u), listening", h->nconn);
		if (MHD_run(h->mhd) != MHD_YES)
			pd_log_debug("http: MHD_run reported an error");
		h->nconn = httpd_count(h);
	}
	httpd_arm(h);
}

static void
httpd_on_io(EV_P_ ev_io *w, int revents)
{
	(void)EV_A;
	(void)revents;
	httpd_run(w->data);
}

static void
httpd_on_timer(EV_P_ ev_timer *w, int revents)
{
	(void)EV_A;
	(void)revents;
	httpd_run(w->data);
}

/* One slice of the status page's series refresh (PD_STATUSPAGE_SLICE_US of store reads)
 * every PD_STATUSPAGE_TICK_MS while the page was viewed in the last
 * PD_STATUSPAGE_IDLE_MS; stops after that (the next view starts it again). */
static void
httpd_on_sp_tick(EV_P_ ev_timer *w, int revents)
{
	struct pd_httpd *h = w->data;
	int64_t now = pd_daemon_now_ms(h->d);

	(void)revents;
	if (!pd_statuspage_busy(h->sp, now)) {
		ev_timer_stop(EV_A, w);
		return;
	}
	pd_statuspage_refresh(h->sp, pd_daemon_store(h->d), now, PD_STATUSPAGE_SLICE_US);
}

static void
httpd_on_tick(EV_P_ ev_timer *w, int revents)
{
	struct pd_httpd *h = w->data;

	(void)revents;
	httpd_sweep(h);
	httpd_run(h);
	/* quicker while there are connections to watch */
	w->repeat = h->conns != NULL ? PD_HTTPD_TICK_S : PD_HTTPD_IDLE_TICK_S;
	ev_timer_again(EV_A, w);
}

/* libmicrohttpd's messages are per connection (a client sent a too large header, the
 * connection limit was hit, ...): debug level, so a hostile client cannot flood the log.
 * The last one is kept for the start error. */
static void httpd_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
httpd_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct pd_httpd *h = cls;
	size_t n;

	vsnprintf(h->mhd_msg, sizeof(h->mhd_msg), fmt, ap);
	n = strlen(h->mhd_msg);
	while (n > 0 && (h->mhd_msg[n - 1] == '\n' || h->mhd_msg[n - 1] == '\r'))
		h->mhd_msg[--n] = '\0';
	pd_log_debug("http: %s", h->mhd_msg);
}

static void
httpd_format_addr(const struct sockaddr_storage *ss, unsigned port, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
		snprintf(out, cap, "[%s]:%u", a, port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
		snprintf(out, cap, "%s:%u", a, port);
	}
}

/* listen NULL: no socket of its own (MHD_USE_NO_LISTEN_SOCKET), for pd_httpd_new_unbound */
static struct pd_httpd *
httpd_new(struct pd_daemon *d, const char *listen, struct pd_err *err)
{
	struct pd_httpd *h = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	unsigned port;

	if (listen == NULL) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = AF_INET;
		flags |= MHD_USE_NO_LISTEN_SOCKET;
		port = 0;
	} else if (pd_httpd_parse_listen(listen, &ss, &sslen, err) != 0) {
		return NULL;
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)&ss)->sin6_addr;

		/* [::] serves IPv4 too; a specific v6 address only itself */
		flags |= IN6_IS_ADDR_UNSPECIFIED(a) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
		port = ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		port = ntohs(((const struct sockaddr_in *)&ss)->sin_port);
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		goto fail;
	}
	h->d = d;
	h->loop = pd_daemon_loop(d);
	snprintf(h->listen, sizeof(h->listen), "%s", listen ? listen : "");
	h->warned_listen = listen == NULL; /* nothing to warn about: no socket */
	if ((h->sp = pd_statuspage_new()) == NULL) {
		pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		goto fail;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	ev_async_init(&h->async, httpd_on_async);
	h->async.data = h;
	ev_async_start(h->loop, &h->async);
	/* an unbound listener (pd_httpd_new_unbound: the fuzz harness, which runs MHD by
	 * hand without the loop) renders inline */
	if (listen != NULL) {
		if (pthread_create(&h->thread, NULL, render_main, h) == 0)
			h->thread_started = 1;
		else
			pd_log_warn("http: no render thread: the status page renders on the loop");
	}
	h->mhd = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, httpd_on_request, h,
		/* first, so that every message goes through pd_log */
		MHD_OPTION_EXTERNAL_LOGGER, httpd_mhd_log, h, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&ss, MHD_OPTION_NOTIFY_CONNECTION, httpd_on_connection, h,
		MHD_OPTION_NOTIFY_COMPLETED, httpd_on_completed, h, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)PD_HTTPD_MAX_CONN, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)PD_HTTPD_MAX_CONN_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)PD_HTTPD_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)PD_HTTPD_MEM_LIMIT, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)32,
		MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_END);
	if (h->mhd == NULL) {
		pd_err_set(err, PD_ERR_IO, "http: cannot listen on %s: %s", listen,
			   h->mhd_msg[0] ? h->mhd_msg : "libmicrohttpd failed to start");
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || info->epoll_fd < 0) {
		pd_err_set(err, PD_ERR_IO, "http: libmicrohttpd has no epoll fd");
		goto fail;
	}
	ev_io_init(&h->io, httpd_on_io, info->epoll_fd, EV_READ);
	h->io.data = h;
	ev_io_start(h->loop, &h->io);
	ev_init(&h->timer, httpd_on_timer);
	h->timer.data = h;
	ev_timer_init(&h->tick, httpd_on_tick, PD_HTTPD_IDLE_TICK_S, PD_HTTPD_IDLE_TICK_S);
	h->tick.data = h;
	ev_timer_start(h->loop, &h->tick);
	ev_init(&h->sp_tick, httpd_on_sp_tick);
	h->sp_tick.repeat = PD_STATUSPAGE_TICK_MS / 1000.0;
	h->sp_tick.data = h;
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info != NULL && info->port != 0 ? info->port : port;
	httpd_format_addr(&ss, h->port, h->addr, sizeof(h->addr));
	httpd_arm(h);
	if (listen == NULL)
		return h;
	pd_log_info("http: listening on %s (/metrics, /, /api/status, /healthz)%s", h->addr,
		    pd_daemon_config(d)->http_bearer_token ? "; bearer token required" : "");
	return h;
fail:
	pd_httpd_free(h);
	return NULL;
}

struct pd_httpd *
pd_httpd_new(struct pd_daemon *d, const char *listen, struct pd_err *err)
{
	if (listen == NULL) {
		pd_err_set(err, PD_ERR_INVALID, "http.listen: empty address");
		return NULL;
	}
	return httpd_new(d, listen, err);
}

struct pd_httpd *
pd_httpd_new_unbound(struct pd_daemon *d, struct pd_err *err)
{
	return httpd_new(d, NULL, err);
}

int
pd_httpd_add_connection(struct pd_httpd *h, int fd, const struct sockaddr *addr, socklen_t len,
			struct pd_err *err)
{
	if (MHD_add_connection(h->mhd, fd, addr, len) != MHD_YES)
		return pd_err_set(err, PD_ERR_IO, "http: libmicrohttpd refused the connection");
	httpd_arm(h);
	return 0;
}

void
pd_httpd_run(struct pd_httpd *h)
{
	httpd_run(h);
}

unsigned
pd_httpd_connections(const struct pd_httpd *h)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info != NULL ? info->num_connections : 0;
}

void
pd_httpd_free(struct pd_httpd *h)
{
	if (h == NULL)
		return;
	if (h->thread_started) {
		pthread_mutex_lock(&h->mu);
		h->thread_stop = 1;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thread, NULL);
	}
	if (h->loop != NULL) {
		ev_io_stop(h->loop, &h->io);
		ev_timer_stop(h->loop, &h->timer);
		ev_timer_stop(h->loop, &h->tick);
		ev_timer_stop(h->loop, &h->sp_tick);
		ev_async_stop(h->loop, &h->async);
	}
	/* libmicrohttpd cannot stop with suspended connections: wake those still waiting
	 * for a render (they are closed unanswered) */
	for (size_t i = 0; i < RENDER_MAX_JOBS; i++)
		for (size_t k = 0; h->jobs[i] != NULL && k < h->jobs[i]->nwait; k++)
			if (h->jobs[i]->wait[k] != NULL)
				MHD_resume_connection(h->jobs[i]->wait[k]);
	if (h->mhd != NULL)
		MHD_stop_daemon(h->mhd); /* closes every connection: CLOSED frees each record */
	for (size_t i = 0; i < RENDER_MAX_JOBS; i++)
		if (h->jobs[i] != NULL)
			render_job_free(h, h->jobs[i]);
	if (h->loop != NULL) {
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
	}
	pd_statuspage_free(h->sp);
	free(h);
}

unsigned
pd_httpd_port(const struct pd_httpd *h)
{
	return h->port;
}
