/* fuzz_httpd.c — the HTTP listener's request handling (src/httpd.c) with libmicrohttpd
 * doing the parsing, exactly as configured in the daemon (limits, strict mode, handler).
 *
 * How: the listener is started without a socket of its own (pd_httpd_new_unbound:
 * MHD_USE_NO_LISTEN_SOCKET, same options otherwise) on a real daemon (a SQLite store in
 * a private temporary directory, a few stored results, bearer token "tok-fuzz", whose
 * loop is never run: no probe goes out). Per input, one end of an AF_UNIX socketpair is
 * handed to it as a client at 127.0.0.1 (pd_httpd_add_connection); the input is written
 * to the other end, which is then half-closed, and the listener is run (pd_httpd_run,
 * what the loop's watchers call) while the answer is read, until the listener closes
 * the connection. Input: raw request bytes, one or more pipelined requests:
 *
 *   GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-fuzz\r\n\r\n
 *
 * Properties: once the client has closed, the listener closes the connection (none is
 * left open: a leak would use up the connection limit); it never spins (each pass
 * makes progress, or it waits for input); every answer starts with an HTTP/1.x status line; without the token only
 * /healthz answers 200 (the token is read from the input, so it may be guessed); the
 * token never appears in an answer. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <ev.h>
#include "fuzz.h"
#include "probed/config.h"
#include "probed/daemon.h"
#include "probed/httpd.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/store.h"

#define TOKEN "tok-fuzz"
#define MAX_RUNS 100000 /* passes of the listener per input */
#define MAX_IDLE 50     /* passes without progress: it waits for more input */

static char tdir[256];
static struct ev_loop *loop;
static struct pd_daemon *daemon_;
static struct pd_httpd *httpd;

static void
cleanup(void)
{
	char p[512];

	pd_httpd_free(httpd);
	pd_daemon_free(daemon_);
	if (loop != NULL)
		ev_loop_destroy(loop);
	snprintf(p, sizeof(p), "%s/probed.db", tdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/probed.db-wal", tdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/probed.db-shm", tdir);
	unlink(p);
	rmdir(tdir);
}

static void
init(void)
{
	char yaml[1024];
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	struct pd_daemon_opts opts = {0};
	struct pd_store *st;

	pd_log_set_level(PD_LOG_ERR);
	/* under $TMPDIR: scripts/fuzz.sh points it into build-fuzz/ and empties it, as
	 * libFuzzer ends without running atexit() handlers */
	snprintf(tdir, sizeof(tdir), "%s/pdfuzz-httpd.XXXXXX",
		 getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tdir) == NULL)
		abort();
	snprintf(yaml, sizeof(yaml),
		 "store:\n  path: %s/probed.db\n"
		 "location: fuzz\n"
		 "http:\n  listen: 127.0.0.1:9464\n  bearer_token: " TOKEN "\n"
		 "probes:\n"
		 "  - name: alpha\n    interval: 1h\n    url: http://127.0.0.1:1/alpha/\n"
		 "  - name: beta\n    family: b\n    tier: secondary\n    interval: 1h\n"
		 "    url: http://127.0.0.1:1/beta/?q=<x>&y=\"z\"\n",
		 tdir);
	if (pd_config_load_string(yaml, strlen(yaml), "fuzz_httpd.yaml", &cfg, &err, NULL, NULL) !=
	    0) {
		fprintf(stderr, "fuzz_httpd: %s\n", err.msg);
		abort();
	}
	loop = ev_loop_new(EVFLAG_AUTO);
	if (loop == NULL || (daemon_ = pd_daemon_new(loop, cfg, &opts, &err)) == NULL) {
		fprintf(stderr, "fuzz_httpd: %s\n", err.msg);
		abort();
	}
	atexit(cleanup);
	st = pd_daemon_store(daemon_);
	for (int i = 0; i < 20; i++) {
		struct pd_result r = {.ts_ms = 1795329000000LL - (20 - i) * 60000LL,
				      .outcome = i % 7 == 3 ? PD_OUT_HTTP_5XX : PD_OUT_OK,
				      .http_status = i % 7 == 3 ? 502 : 200,
				      .dns_ms = 1,
				      .connect_ms = 2,
				      .tls_ms = 3,
				      .ttfb_ms = 40,
				      .total_ms = 50 + i,
				      .body_size = 100};

		snprintf(r.verdict, sizeof(r.verdict), "%s",
			 i % 7 == 3 ? "status 502, expected 200" : "ok");
		if (pd_store_add_result(st, i % 2 ? "alpha" : "beta", &r, &err) != 0)
			abort();
	}
	if (pd_store_flush(st, &err) != 0)
		abort();
	if ((httpd = pd_httpd_new_unbound(daemon_, &err)) == NULL) {
		fprintf(stderr, "fuzz_httpd: %s\n", err.msg);
		abort();
	}
}

/* The statuses of the answers in out (pipelined answers follow each other). */
static void
check_answers(const char *out, size_t len, int authorized)
{
	const char *p = out, *end = out + len;
	int n = 0;

	if (len == 0)
		return;
	FUZZ_CHECK(len >= 12 && memcmp(out, "HTTP/1.", 7) == 0, "answer starts with '%.20s'", out);
	FUZZ_CHECK(memmem(out, len, TOKEN, strlen(TOKEN)) == NULL, "the token is in an answer");
	while (p < end && (p = memmem(p, (size_t)(end - p), "HTTP/1.", 7)) != NULL && n < 64) {
		if (end - p >= 12 && memcmp(p + 8, " 200", 4) == 0 && !authorized) {
			/* only /healthz answers 200 without the token: its body is "ok\n" */
			const char *hdr_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);

			FUZZ_CHECK(hdr_end != NULL, "unterminated answer header");
			FUZZ_CHECK((size_t)(end - hdr_end) >= 4, "short answer");
			FUZZ_CHECK(memmem(p, (size_t)(hdr_end + 2 - p), "Content-Length: 3\r\n",
					  19) != NULL,
				   "200 without the token, not /healthz:\n%.*s", (int)(hdr_end - p),
				   p);
		}
		p += 7;
		n++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int done;
	static char out[1 << 20];
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(40000)};
	struct pd_err err = {0};
	size_t off = 0, olen = 0;
	int sv[2], shut = 0, eof = 0, runs, idle;
	int authorized = memmem(data, size, TOKEN, strlen(TOKEN)) != NULL;

	if (!done) {
		init();
		done = 1;
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	if (pd_httpd_add_connection(httpd, sv[0], (struct sockaddr *)&sin, sizeof(sin), &err) !=
	    0) {
		fprintf(stderr, "fuzz_httpd: %s\n", err.msg);
		abort();
	}
	/* until the listener closes, or nothing moves any more (it waits for more of a
	 * request: libmicrohttpd closes such a connection only at the idle timeout) */
	for (runs = 0, idle = 0; runs < MAX_RUNS && !eof && idle < MAX_IDLE; runs++) {
		ssize_t n;
		int moved = 0;

		if (off < size) {
			n = write(sv[1], data + off, size - off);
			if (n > 0) {
				off += (size_t)n;
				moved = 1;
			} else if (n < 0 && errno != EAGAIN) {
				off = size; /* the listener closed: the rest cannot be sent */
			}
		}
		if (off == size && !shut) {
			shutdown(sv[1], SHUT_WR);
			shut = moved = 1;
		}
		pd_httpd_run(httpd);
		for (;;) {
			char buf[16384];

			n = read(sv[1], buf, sizeof(buf));
			if (n > 0) {
				size_t k = (size_t)n < sizeof(out) - olen ? (size_t)n
									  : sizeof(out) - olen;

				memcpy(out + olen, buf, k);
				olen += k;
				moved = 1;
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				eof = 1;
			break;
		}
		idle = moved ? 0 : idle + 1;
	}
	FUZZ_CHECK(runs < MAX_RUNS,
		   "the listener is still busy after %d runs (%zu of %zu bytes "
		   "sent, %zu answered)",
		   runs, off, size, olen);
	close(sv[1]);
	check_answers(out, olen, authorized);
	for (runs = 0; runs < 100 && pd_httpd_connections(httpd) > 0; runs++)
		pd_httpd_run(httpd);
	FUZZ_CHECK(pd_httpd_connections(httpd) == 0, "%u connections left open",
		   pd_httpd_connections(httpd));
	return 0;
}
