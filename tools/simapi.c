/*
 * probed-simapi: a simulated TikTok-data API for the demo, the integration
 * tests and the benchmark.
 *
 * One thread, one libev loop, no other library than libc.  It must never be
 * the bottleneck of a benchmark that opens a new TCP connection per probe, so
 * the hot path is: accept4() a batch, try a read at once (the request is
 * usually already queued on loopback), parse the head in place, answer with a
 * pre-built body in one sendmsg(), close or keep the connection alive.
 *
 * Each endpoint (path without slashes: userid, userinfo-by-username,
 * post-detail, user-posts, post-comments, status, index for "/", stats for
 * /stats/archive/DATE.json) has a mode that the control API under /_sim/
 * switches at run time.  See usage() for the list.
 *
 * Connection states (one ev_timer per connection serves every state):
 *
 *          accept
 *            |
 *            v      request complete      answer now
 *   +----> READ ---------------------+------------------> WRITE --+
 *   |        |  10 s without a whole |  slow:N                    |
 *   |        |  request -> 408/close +------> WAIT --N ms--> WRITE|
 *   |        |                       |  hang                      |
 *   |        |                       +------> HANG --EOF/300 s--> close
 *   |        |                                                    |
 *   +--------------------- keep-alive <---------- all sent <------+
 *                                             |
 *                          close  <-----------+  (error answers: LINGER,
 *                                                 drain input, then close)
 */

#include <ev.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX (16 * 1024) /* request line + headers */
#define BODY_MAX (64 * 1024) /* request body we accept */
#define IN_INITIAL 4096
#define READ_TIMEOUT 10.0  /* whole request, or idle keep-alive */
#define WRITE_TIMEOUT 30.0 /* without progress */
#define HANG_TIMEOUT 300.0
#define LINGER_TIMEOUT 2.0
#define HUGE_SIZE (5 * 1024 * 1024 + 4096)
#define DEEP_DEPTH 100000
#define SLOW_MAX_MS 600000u
#define ACCEPT_BATCH 256
#define EX_USAGE 64

#define USER_ID "6881290705605477381"
#define POST_ID "7106594312292453675"
#define PLAY_URL "https://v16.example.invalid/play.mp4"
#define HDPLAY_URL "https://v16.example.invalid/hd.mp4"
#define WMPLAY_URL "https://v16.example.invalid/wm.mp4"
#define POST_TITLE "Behind the scenes at TikTok #fyp"

#define CT_JSON "application/json"
#define CT_HTML "text/html; charset=utf-8"

enum mode_kind {
	MODE_OK,
	MODE_STATUS, /* arg = HTTP status, JSON error body */
	MODE_HANG,
	MODE_SLOW, /* arg = milliseconds */
	MODE_EMPTY_ID,
	MODE_SHAPE,
	MODE_INVALID_JSON,
	MODE_HUGE,
	MODE_DEEP,
	MODE_EMPTY,
	MODE_LATE,
};

struct mode {
	enum mode_kind kind;
	unsigned arg;
};

enum ep_id {
	EP_USERID,
	EP_USERINFO,
	EP_POST_DETAIL,
	EP_USER_POSTS,
	EP_POST_COMMENTS,
	EP_STATUS,
	EP_INDEX,
	EP_STATS,
	EP_COUNT
};

static const char *const ep_names[EP_COUNT] = {
	[EP_USERID] = "userid",
	[EP_USERINFO] = "userinfo-by-username",
	[EP_POST_DETAIL] = "post-detail",
	[EP_USER_POSTS] = "user-posts",
	[EP_POST_COMMENTS] = "post-comments",
	[EP_STATUS] = "status",
	[EP_INDEX] = "index",
	[EP_STATS] = "stats",
};

enum cstate {
	ST_READ,
	ST_WAIT,
	ST_WRITE,
	ST_HANG,
	ST_LINGER,
};

struct conn {
	ev_io rio;
	ev_io wio;
	ev_timer tm;
	int fd;
	enum cstate state;
	bool keep_alive; /* of the request being answered */
	bool linger;     /* input may be unread: drain before close */
	bool peer_eof;
	char *in;
	size_t in_len;
	size_t in_cap;
	char hdr[512];
	size_t hdr_len;
	size_t hdr_off;
	const char *body;
	size_t body_len;
	size_t body_off;
	char *owned;  /* heap body, freed once sent */
	double delay; /* for ST_WAIT */
	struct conn *prev;
	struct conn *next;
};

/* A parsed request; pointers refer to the connection's input buffer. */
struct req {
	const char *method;
	size_t method_len;
	const char *target;
	size_t target_len;
	const char *body;
	size_t body_len;
	size_t total; /* head + body bytes consumed */
	bool keep_alive;
	bool key_ok;
	bool key_sent; /* an X-Api-Key header was present */
};

/* An answer before it is serialised. */
struct resp {
	int status;
	const char *ctype;
	const char *extra; /* extra header lines, each ending CRLF */
	const char *body;
	size_t body_len;
	char *owned;
	bool hang;
	bool close;
	double delay;
};

static struct mode ep_mode[EP_COUNT];
static unsigned long long ep_requests[EP_COUNT];
static unsigned long long not_found_requests;
static unsigned long long control_requests;
static unsigned long long key_requests; /* API requests that carried X-Api-Key */
static unsigned long long connections_accepted;
static unsigned long long connections_open;

static const char *api_key;
static size_t api_key_len;
static bool quiet;
static int listen_fd = -1;
static struct ev_loop *evl;
static ev_io accept_watcher;
static ev_timer accept_retry;
static struct conn *conns;
static char *huge_body;
static char *deep_body;

static void conn_process(struct conn *);
static void conn_close(struct conn *);

static void msg(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
msg(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	fputs("probed-simapi: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---------------------------------------------------------------- modes */

static int
mode_parse(const char *s, struct mode *m)
{
	static const struct {
		const char *name;
		enum mode_kind kind;
	} named[] = {
		{"ok", MODE_OK},
		{"hang", MODE_HANG},
		{"empty-id", MODE_EMPTY_ID},
		{"shape", MODE_SHAPE},
		{"invalid-json", MODE_INVALID_JSON},
		{"huge", MODE_HUGE},
		{"deep", MODE_DEEP},
		{"empty", MODE_EMPTY},
		{"late", MODE_LATE},
	};
	char *end;
	unsigned long v;
	size_t i;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (strcmp(s, named[i].name) == 0) {
			m->kind = named[i].kind;
			m->arg = 0;
			return 0;
		}
	}
	if (strncmp(s, "slow:", 5) == 0) {
		if (s[5] < '0' || s[5] > '9')
			return -1;
		errno = 0;
		v = strtoul(s + 5, &end, 10);
		if (errno != 0 || *end != '\0' || v > SLOW_MAX_MS)
			return -1;
		m->kind = MODE_SLOW;
		m->arg = (unsigned)v;
		return 0;
	}
	if (s[0] >= '1' && s[0] <= '5' && strlen(s) == 3) {
		v = strtoul(s, &end, 10);
		if (*end != '\0' || v < 200 || v > 599)
			return -1;
		m->kind = v == 200 ? MODE_OK : MODE_STATUS;
		m->arg = v == 200 ? 0 : (unsigned)v;
		return 0;
	}
	return -1;
}

static void
mode_format(const struct mode *m, char *buf, size_t len)
{
	static const char *const names[] = {
		[MODE_OK] = "ok",
		[MODE_HANG] = "hang",
		[MODE_EMPTY_ID] = "empty-id",
		[MODE_SHAPE] = "shape",
		[MODE_INVALID_JSON] = "invalid-json",
		[MODE_HUGE] = "huge",
		[MODE_DEEP] = "deep",
		[MODE_EMPTY] = "empty",
		[MODE_LATE] = "late",
	};

	if (m->kind == MODE_SLOW)
		snprintf(buf, len, "slow:%u", m->arg);
	else if (m->kind == MODE_STATUS)
		snprintf(buf, len, "%u", m->arg);
	else
		snprintf(buf, len, "%s", names[m->kind]);
}

/* Returns the endpoint index, EP_COUNT for "*", or -1. */
static int
ep_lookup(const char *name)
{
	int i;

	if (strcmp(name, "*") == 0)
		return EP_COUNT;
	for (i = 0; i < EP_COUNT; i++)
		if (strcmp(name, ep_names[i]) == 0)
			return i;
	return -1;
}

static int
mode_set(const char *endpoint, const char *mode)
{
	struct mode m;
	int ep, i;

	if ((ep = ep_lookup(endpoint)) < 0 || mode_parse(mode, &m) < 0)
		return -1;
	for (i = 0; i < EP_COUNT; i++)
		if (ep == EP_COUNT || ep == i)
			ep_mode[i] = m;
	msg("mode %s=%s", endpoint, mode);
	return 0;
}

/* ------------------------------------------------------- canned bodies */

#define USER_OBJ(id)                                                          \
	"{\"id\":\"" id "\",\"uniqueId\":\"tiktok\",\"nickname\":\"TikTok\"," \
	"\"verified\":true}"
#define STATS_OBJ                                           \
	"{\"followerCount\":78000000,\"followingCount\":1," \
	"\"heartCount\":402000000,\"videoCount\":1200}"
#define POST_OBJ(id, play)                                                 \
	"{\"id\":\"" id "\",\"title\":\"" POST_TITLE "\",\"play\":\"" play \
	"\",\"hdplay\":\"" HDPLAY_URL "\",\"wmplay\":\"" WMPLAY_URL        \
	"\",\"duration\":15,\"create_time\":1654521600}"
#define POST2_OBJ                                                        \
	"{\"id\":\"7106594312292453676\",\"title\":\"Second post\","     \
	"\"play\":\"https://v16.example.invalid/play2.mp4\",\"hdplay\":" \
	"\"https://v16.example.invalid/hd2.mp4\",\"wmplay\":"            \
	"\"https://v16.example.invalid/wm2.mp4\",\"duration\":9,"        \
	"\"create_time\":1654435200}"
#define COMMENT_OBJ(id)                                                      \
	"{\"id\":\"" id "\",\"text\":\"first!\",\"create_time\":1654522000," \
	"\"digg_count\":12,\"user\":{\"id\":\"6900000000000000001\","        \
	"\"uniqueId\":\"fan_one\",\"nickname\":\"Fan One\"}}"
#define COMMENT2_OBJ                                                     \
	"{\"id\":\"7106600000000000002\",\"text\":\"love this\","        \
	"\"create_time\":1654523000,\"digg_count\":3,\"user\":{\"id\":"  \
	"\"6900000000000000002\",\"uniqueId\":\"fan_two\",\"nickname\":" \
	"\"Fan Two\"}}"
#define HTML_PAGE(title, text)                                               \
	"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" title \
	"</title></head>\n<body><h1>" title "</h1><p>" text "</p></body>"    \
	"</html>\n"

/* Bodies by endpoint for ok, empty-id and shape; stats is built per request. */
static const char *const body_ok[EP_COUNT] = {
	[EP_USERID] = "{\"id\":\"" USER_ID "\"}",
	[EP_USERINFO] = "{\"user\":" USER_OBJ(USER_ID) ",\"stats\":" STATS_OBJ "}",
	[EP_POST_DETAIL] =
		"{\"id\":\"" POST_ID "\",\"title\":\"" POST_TITLE "\",\"play\":\"" PLAY_URL
		"\",\"hdplay\":\"" HDPLAY_URL "\",\"wmplay\":\"" WMPLAY_URL "\",\"duration\":15}",
	[EP_USER_POSTS] = "{\"videos\":[" POST_OBJ(
		POST_ID, PLAY_URL) "," POST2_OBJ "],\"cursor\":\"1654435200000\",\"hasMore\":true}",
	[EP_POST_COMMENTS] = "{\"comments\":[" COMMENT_OBJ(
		"7106600000000000001") "," COMMENT2_OBJ "],\"total\":2,"
				       "\"cursor\":2,\"hasMore\":false}",
	[EP_STATUS] = HTML_PAGE("TikLiveAPI status", "All systems operational."),
	[EP_INDEX] = HTML_PAGE("TikLiveAPI",
			       "TikTok data API. Service status: <a href=\"/status/\">/status/"
			       "</a>."),
};

static const char *const body_empty_id[EP_COUNT] = {
	[EP_USERID] = "{\"id\":\"\"}",
	[EP_USERINFO] = "{\"user\":" USER_OBJ("") ",\"stats\":" STATS_OBJ "}",
	[EP_POST_DETAIL] =
		"{\"id\":\"\",\"title\":\"" POST_TITLE "\",\"play\":\"\",\"hdplay\":\"" HDPLAY_URL
		"\",\"wmplay\":\"" WMPLAY_URL "\",\"duration\":15}",
	[EP_USER_POSTS] = "{\"videos\":[" POST_OBJ(
		"", "") "," POST2_OBJ "],\"cursor\":\"1654435200000\",\"hasMore\":true}",
	[EP_POST_COMMENTS] = "{\"comments\":[" COMMENT_OBJ(
		"") "," COMMENT2_OBJ "],\"total\":2,\"cursor\":2,\"hasMore\":false}",
	[EP_STATUS] = HTML_PAGE("TikLiveAPI status", "All systems operational."),
	[EP_INDEX] = HTML_PAGE("TikLiveAPI", ""),
};

static const char *const body_shape[EP_COUNT] = {
	[EP_USERID] = "{\"data\":{\"user_id\":\"" USER_ID "\"}}",
	[EP_USERINFO] = "{\"userInfo\":{\"user\":" USER_OBJ(USER_ID) ",\"stats\":" STATS_OBJ "}}",
	[EP_POST_DETAIL] = "{\"id\":\"" POST_ID "\",\"title\":\"" POST_TITLE
			   "\",\"video\":{\"play\":\"" PLAY_URL "\",\"hdplay\":\"" HDPLAY_URL
			   "\",\"wmplay\":\"" WMPLAY_URL "\"},\"duration\":15}",
	[EP_USER_POSTS] = "{\"data\":{\"videos\":[" POST_OBJ(
		POST_ID, PLAY_URL) "," POST2_OBJ
				   "],\"cursor\":\"1654435200000\",\"hasMore\":true}}",
	[EP_POST_COMMENTS] = "{\"data\":{\"comments\":[" COMMENT_OBJ(
		"7106600000000000001") "," COMMENT2_OBJ "],\"total\":2}}",
	[EP_STATUS] = "{\"status\":\"operational\"}",
	[EP_INDEX] = "{\"page\":\"index\"}",
};

static const char invalid_json_body[] = "{\"id\": \"12";

/*
 * Built once on first use and kept for the life of the process: an array of
 * 1022-byte strings, exactly HUGE_SIZE bytes of valid JSON.
 */
static const char *
huge_get(void)
{
	static const char head[] = "{\"id\":\"" USER_ID "\",\"padding\":[";
	static const char tail[] = "]}";
	size_t off, left, k;
	bool first = true;

	if (huge_body != NULL)
		return huge_body;
	if ((huge_body = malloc(HUGE_SIZE + 1)) == NULL)
		return NULL;
	memcpy(huge_body, head, sizeof(head) - 1);
	off = sizeof(head) - 1;
	left = HUGE_SIZE - off - (sizeof(tail) - 1);
	while (left > 0) {
		size_t sep = first ? 0 : 1;

		/* A full element, unless the rest would be too short for one. */
		k = left >= 2 * 1025 ? 1022 : left - sep - 2;
		if (!first)
			huge_body[off++] = ',';
		huge_body[off++] = '"';
		memset(huge_body + off, 'x', k);
		off += k;
		huge_body[off++] = '"';
		left -= sep + 2 + k;
		first = false;
	}
	memcpy(huge_body + off, tail, sizeof(tail) - 1);
	off += sizeof(tail) - 1;
	huge_body[off] = '\0';
	return huge_body;
}

static const char *
deep_get(void)
{
	if (deep_body != NULL)
		return deep_body;
	if ((deep_body = malloc(2 * DEEP_DEPTH + 1)) == NULL)
		return NULL;
	memset(deep_body, '[', DEEP_DEPTH);
	memset(deep_body + DEEP_DEPTH, ']', DEEP_DEPTH);
	deep_body[2 * DEEP_DEPTH] = '\0';
	return deep_body;
}

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Status";
	}
}

static const char *
error_body(int status)
{
	switch (status) {
	case 400:
		return "{\"error\":\"bad request\"}";
	case 401:
		return "{\"error\":\"invalid api key\"}";
	case 404:
		return "{\"error\":\"not found\"}";
	case 405:
		return "{\"error\":\"method not allowed\"}";
	case 408:
		return "{\"error\":\"request timeout\"}";
	case 413:
		return "{\"error\":\"request body too large\"}";
	case 429:
		return "{\"error\":\"rate limit exceeded\"}";
	case 431:
		return "{\"error\":\"request header fields too large\"}";
	case 500:
		return "{\"error\":\"internal server error\"}";
	case 501:
		return "{\"error\":\"not implemented\"}";
	case 502:
		return "{\"error\":\"bad gateway\"}";
	case 503:
		return "{\"error\":\"service unavailable\"}";
	case 504:
		return "{\"error\":\"gateway timeout\"}";
	case 505:
		return "{\"error\":\"http version not supported\"}";
	default:
		return status >= 500 ? "{\"error\":\"server error\"}"
				     : "{\"error\":\"client error\"}";
	}
}

static void
resp_static(struct resp *r, int status, const char *ctype, const char *body)
{
	r->status = status;
	r->ctype = ctype;
	r->body = body;
	r->body_len = strlen(body);
}

static void
resp_error(struct resp *r, int status)
{
	resp_static(r, status, CT_JSON, error_body(status));
	if (status == 429)
		r->extra = "Retry-After: 30\r\nX-RateLimit-Remaining: 0\r\n";
	else if (status == 405)
		r->extra = "Allow: GET, HEAD, POST\r\n";
	else if (status == 503)
		r->extra = "Retry-After: 30\r\n";
}

/* Takes ownership of a heap string built with asprintf. */
static void
resp_owned(struct resp *r, int status, char *body, int len)
{
	if (body == NULL || len < 0) {
		free(body);
		resp_error(r, 500);
		return;
	}
	r->status = status;
	r->ctype = CT_JSON;
	r->owned = body;
	r->body = body;
	r->body_len = (size_t)len;
}

/* ------------------------------------------------------------ helpers */

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decodes %XX and '+' from src[0..len) into dst; -1 if it does not fit. */
static int
url_decode(const char *src, size_t len, char *dst, size_t dstlen)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		char ch = src[i];

		if (ch == '%' && i + 2 < len && (hi = hexval((unsigned char)src[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)src[i + 2])) >= 0) {
			ch = (char)(hi * 16 + lo);
			i += 2;
		} else if (ch == '+')
			ch = ' ';
		if (o + 1 >= dstlen)
			return -1;
		dst[o++] = ch;
	}
	dst[o] = '\0';
	return 0;
}

/* Finds parameter name in an a=b&c=d string; decodes the value into out. */
static bool
form_get(const char *q, size_t qlen, const char *name, char *out, size_t outlen)
{
	size_t i = 0, nlen = strlen(name);

	while (i < qlen) {
		size_t start = i, eq = 0, end;
		bool has_eq = false;

		while (i < qlen && q[i] != '&') {
			if (!has_eq && q[i] == '=') {
				has_eq = true;
				eq = i;
			}
			i++;
		}
		end = i++;
		if (!has_eq)
			continue;
		if (eq - start == nlen && memcmp(q + start, name, nlen) == 0)
			return url_decode(q + eq + 1, end - eq - 1, out, outlen) == 0;
	}
	return false;
}

static bool
token_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

static void
rfc3339_now(char *buf, size_t len)
{
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
write_file_atomic(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;
	int rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -1;
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	if (fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0)
		goto out;
	if (rename(tmp, path) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		unlink(tmp);
	return rc;
}

/* ------------------------------------------------------- request parse */

/*
 * Returns 1 with *r filled when a whole request is buffered, 0 when more
 * input is needed, or a negative HTTP status to answer with before closing.
 */
static int
parse_request(struct conn *c, struct req *r)
{
	char *buf = c->in, *p, *end, *line, *eol, *head_end = NULL;
	size_t i, n, lim, skip = 0;
	unsigned long long clen = 0;
	bool have_clen = false, close_tok = false, ka_tok = false;
	int minor;

	memset(r, 0, sizeof(*r));
	/* RFC 9112 2.2: ignore empty lines before the request line. */
	while (skip < c->in_len && (buf[skip] == '\r' || buf[skip] == '\n'))
		skip++;
	if (skip > 0) {
		memmove(buf, buf + skip, c->in_len - skip);
		c->in_len -= skip;
	}
	n = c->in_len;
	lim = n < HEAD_MAX ? n : HEAD_MAX;
	for (i = 0; i < lim; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < n && buf[i + 1] == '\n') {
			head_end = buf + i + 2;
			break;
		}
		if (i + 2 < n && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			head_end = buf + i + 3;
			break;
		}
	}
	if (head_end == NULL)
		return n >= HEAD_MAX ? -431 : 0;
	if ((size_t)(head_end - buf) > HEAD_MAX)
		return -431;

	/* Request line: METHOD SP TARGET SP HTTP/1.x */
	line = buf;
	eol = memchr(line, '\n', (size_t)(head_end - line));
	end = eol > line && eol[-1] == '\r' ? eol - 1 : eol;
	for (p = line; p < end && *p != ' '; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return -400;
	if (p == line || p == end)
		return -400;
	r->method = line;
	r->method_len = (size_t)(p - line);
	r->target = ++p;
	while (p < end && *p != ' ')
		if ((unsigned char)*p++ <= ' ')
			return -400;
	r->target_len = (size_t)(p - r->target);
	if (r->target_len == 0 || p == end)
		return -400;
	p++;
	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' || p[5] > '9' ||
	    p[7] < '0' || p[7] > '9')
		return -400;
	if (p[5] != '1')
		return -505;
	minor = p[7] - '0';

	/* Header fields. */
	for (line = eol + 1; line < head_end; line = eol + 1) {
		char *colon, *v, *vend;
		size_t nlen;

		eol = memchr(line, '\n', (size_t)(head_end - line));
		end = eol > line && eol[-1] == '\r' ? eol - 1 : eol;
		if (end == line)
			break; /* the empty line */
		if (*line == ' ' || *line == '\t')
			return -400; /* obsolete line folding */
		if ((colon = memchr(line, ':', (size_t)(end - line))) == NULL || colon == line)
			return -400;
		for (p = line; p < colon; p++)
			if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
				return -400;
		nlen = (size_t)(colon - line);
		for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
			;
		for (vend = end; vend > v && (vend[-1] == ' ' || vend[-1] == '\t'); vend--)
			;
		if (token_eq(line, nlen, "x-api-key")) {
			r->key_sent = true;
			r->key_ok = api_key != NULL && (size_t)(vend - v) == api_key_len &&
				    memcmp(v, api_key, api_key_len) == 0;
		} else if (token_eq(line, nlen, "content-length")) {
			unsigned long long val = 0;

			if (v == vend)
				return -400;
			for (p = v; p < vend; p++) {
				if (*p < '0' || *p > '9' || val > BODY_MAX * 10ULL)
					return -400;
				val = val * 10 + (unsigned)(*p - '0');
			}
			if (have_clen && val != clen)
				return -400;
			have_clen = true;
			clen = val;
		} else if (token_eq(line, nlen, "transfer-encoding")) {
			return -501;
		} else if (token_eq(line, nlen, "connection")) {
			char *t = v;

			while (t < vend) {
				char *te = memchr(t, ',', (size_t)(vend - t));
				char *ts = t, *tz;

				if (te == NULL)
					te = vend;
				while (ts < te && (*ts == ' ' || *ts == '\t'))
					ts++;
				for (tz = te; tz > ts && (tz[-1] == ' ' || tz[-1] == '\t'); tz--)
					;
				if (token_eq(ts, (size_t)(tz - ts), "close"))
					close_tok = true;
				else if (token_eq(ts, (size_t)(tz - ts), "keep-alive"))
					ka_tok = true;
				t = te + 1;
			}
		}
	}
	if (clen > BODY_MAX)
		return -413;
	r->keep_alive = !close_tok && (minor >= 1 || ka_tok);
	r->body = head_end;
	r->body_len = (size_t)clen;
	r->total = (size_t)(head_end - buf) + (size_t)clen;
	if (r->total > n)
		return 0;
	if (api_key == NULL)
		r->key_ok = true;
	return 1;
}

/* ------------------------------------------------------------ dispatch */

static void
control(const struct req *rq, const char *path, size_t plen, const char *query, size_t qlen,
	struct resp *r)
{
	char ep[64], mode[64], *buf = NULL;
	size_t len = 0;
	FILE *f;
	int i;

	control_requests++;
	if (token_eq(path, plen, "/_sim/mode") || token_eq(path, plen, "/_sim/mode/")) {
		const char *src = query;
		size_t slen = qlen;

		/* POST with a form body instead of a query string. */
		if (!form_get(src, slen, "endpoint", ep, sizeof(ep)) && rq->body_len > 0) {
			src = rq->body;
			slen = rq->body_len;
		}
		if (!form_get(src, slen, "endpoint", ep, sizeof(ep)) ||
		    !form_get(src, slen, "mode", mode, sizeof(mode))) {
			resp_static(r, 400, CT_JSON,
				    "{\"ok\":false,\"error\":"
				    "\"need endpoint= and mode=\"}");
			return;
		}
		if (ep_lookup(ep) < 0) {
			resp_static(r, 400, CT_JSON,
				    "{\"ok\":false,\"error\":"
				    "\"unknown endpoint\"}");
			return;
		}
		if (mode_set(ep, mode) < 0) {
			resp_static(r, 400, CT_JSON,
				    "{\"ok\":false,\"error\":"
				    "\"unknown mode\"}");
			return;
		}
		resp_static(r, 200, CT_JSON, "{\"ok\":true}");
		return;
	}
	if (token_eq(path, plen, "/_sim/reset") || token_eq(path, plen, "/_sim/reset/")) {
		for (i = 0; i < EP_COUNT; i++) {
			ep_mode[i].kind = MODE_OK;
			ep_mode[i].arg = 0;
			ep_requests[i] = 0;
		}
		not_found_requests = 0;
		key_requests = 0;
		msg("reset");
		resp_static(r, 200, CT_JSON, "{\"ok\":true}");
		return;
	}
	if (token_eq(path, plen, "/_sim/modes") || token_eq(path, plen, "/_sim/modes/")) {
		if ((f = open_memstream(&buf, &len)) == NULL) {
			resp_error(r, 500);
			return;
		}
		fputc('{', f);
		for (i = 0; i < EP_COUNT; i++) {
			char m[32];

			mode_format(&ep_mode[i], m, sizeof(m));
			fprintf(f, "%s\"%s\":\"%s\"", i ? "," : "", ep_names[i], m);
		}
		fputc('}', f);
		if (fclose(f) != 0) {
			free(buf);
			resp_error(r, 500);
			return;
		}
		resp_owned(r, 200, buf, (int)len);
		return;
	}
	if (token_eq(path, plen, "/_sim/stats") || token_eq(path, plen, "/_sim/stats/")) {
		unsigned long long total = not_found_requests;

		if ((f = open_memstream(&buf, &len)) == NULL) {
			resp_error(r, 500);
			return;
		}
		fputs("{\"requests\":{", f);
		for (i = 0; i < EP_COUNT; i++) {
			fprintf(f, "%s\"%s\":%llu", i ? "," : "", ep_names[i], ep_requests[i]);
			total += ep_requests[i];
		}
		fprintf(f,
			"},\"not_found\":%llu,\"total\":%llu,"
			"\"control\":%llu,\"with_api_key\":%llu,"
			"\"connections_accepted\":%llu,\"connections_open\":%llu}",
			not_found_requests, total, control_requests, key_requests,
			connections_accepted, connections_open);
		if (fclose(f) != 0) {
			free(buf);
			resp_error(r, 500);
			return;
		}
		resp_owned(r, 200, buf, (int)len);
		return;
	}
	resp_error(r, 404);
}

static bool
path_is(const char *path, size_t plen, const char *name)
{
	size_t n = strlen(name);

	/* "/name/" or "/name" */
	if (plen < n + 1 || path[0] != '/' || memcmp(path + 1, name, n) != 0)
		return false;
	return plen == n + 1 || (plen == n + 2 && path[n + 1] == '/');
}

/* Matches /stats/archive/DATE.json; copies DATE into date. */
static bool
path_stats(const char *path, size_t plen, char *date, size_t dlen)
{
	static const char pre[] = "/stats/archive/", suf[] = ".json";
	size_t i, n;

	if (plen <= sizeof(pre) - 1 + sizeof(suf) - 1 || memcmp(path, pre, sizeof(pre) - 1) != 0 ||
	    memcmp(path + plen - (sizeof(suf) - 1), suf, sizeof(suf) - 1) != 0)
		return false;
	n = plen - (sizeof(pre) - 1) - (sizeof(suf) - 1);
	if (n + 1 > dlen)
		return false;
	for (i = 0; i < n; i++) {
		char ch = path[sizeof(pre) - 1 + i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_'))
			return false;
		date[i] = ch;
	}
	date[n] = '\0';
	return true;
}

static void
stats_body(const struct mode *m, const char *date, struct resp *r)
{
	char now[40], *body = NULL;
	int len;

	rfc3339_now(now, sizeof(now));
	if (m->kind == MODE_SHAPE)
		len = asprintf(&body, "{\"day\":\"%s\",\"generatedAt\":\"%s\"}", date, now);
	else
		len = asprintf(&body, "{\"date\":\"%s\",\"generated_at\":\"%s\"}",
			       m->kind == MODE_EMPTY_ID ? "" : date, now);
	if (len < 0)
		body = NULL;
	resp_owned(r, 200, body, len);
}

static void
dispatch(const struct req *rq, struct resp *r)
{
	const char *t = rq->target, *path, *query = "", *qm;
	size_t tlen = rq->target_len, plen, qlen = 0;
	char date[64] = "";
	const struct mode *m;
	int ep = -1;

	/* absolute-form: http://host/path -> /path */
	if (tlen > 7 && (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0)) {
		const char *s = memchr(t, ':', tlen) + 3;
		const char *slash = memchr(s, '/', tlen - (size_t)(s - t));

		if (slash == NULL) {
			t = "/";
			tlen = 1;
		} else {
			tlen -= (size_t)(slash - t);
			t = slash;
		}
	}
	if (t[0] != '/') {
		resp_error(r, 400);
		r->close = true;
		return;
	}
	path = t;
	plen = tlen;
	if ((qm = memchr(t, '?', tlen)) != NULL) {
		plen = (size_t)(qm - t);
		query = qm + 1;
		qlen = tlen - plen - 1;
	}
	if ((qm = memchr(path, '#', plen)) != NULL)
		plen = (size_t)(qm - path);
	if ((qm = memchr(query, '#', qlen)) != NULL)
		qlen = (size_t)(qm - query);

	if (plen >= 6 && memcmp(path, "/_sim/", 6) == 0) {
		control(rq, path, plen, query, qlen, r);
		return;
	}
	if (!token_eq(rq->method, rq->method_len, "GET") &&
	    !token_eq(rq->method, rq->method_len, "HEAD") &&
	    !token_eq(rq->method, rq->method_len, "POST")) {
		resp_error(r, 405);
		return;
	}
	if (plen == 1)
		ep = EP_INDEX;
	else if (path_stats(path, plen, date, sizeof(date)))
		ep = EP_STATS;
	else
		for (int i = 0; i < EP_COUNT; i++)
			if (i != EP_INDEX && i != EP_STATS && path_is(path, plen, ep_names[i]))
				ep = i;
	if (ep < 0) {
		not_found_requests++;
		resp_error(r, 404);
		return;
	}
	ep_requests[ep]++;
	if (rq->key_sent)
		key_requests++;
	if (!rq->key_ok) {
		resp_error(r, 401);
		return;
	}
	m = &ep_mode[ep];
	switch (m->kind) {
	case MODE_SLOW:
		r->delay = m->arg / 1000.0;
		/* FALLTHROUGH */
	case MODE_OK:
	case MODE_EMPTY_ID:
	case MODE_SHAPE:
		if (ep == EP_STATS) {
			stats_body(m, date, r);
			break;
		}
		if (m->kind == MODE_SHAPE)
			resp_static(r, 200, CT_JSON, body_shape[ep]);
		else if (m->kind == MODE_EMPTY_ID)
			resp_static(r, 200, (ep == EP_STATUS || ep == EP_INDEX) ? CT_HTML : CT_JSON,
				    body_empty_id[ep]);
		else
			resp_static(r, 200, (ep == EP_STATUS || ep == EP_INDEX) ? CT_HTML : CT_JSON,
				    body_ok[ep]);
		break;
	case MODE_STATUS:
		resp_error(r, (int)m->arg);
		break;
	case MODE_HANG:
		r->hang = true;
		break;
	case MODE_INVALID_JSON:
		resp_static(r, 200, CT_JSON, invalid_json_body);
		break;
	case MODE_HUGE:
		if (huge_get() == NULL) {
			resp_error(r, 500);
			break;
		}
		r->status = 200;
		r->ctype = CT_JSON;
		r->body = huge_body;
		r->body_len = HUGE_SIZE;
		break;
	case MODE_DEEP:
		if (deep_get() == NULL) {
			resp_error(r, 500);
			break;
		}
		r->status = 200;
		r->ctype = CT_JSON;
		r->body = deep_body;
		r->body_len = 2 * DEEP_DEPTH;
		break;
	case MODE_EMPTY:
		resp_static(r, 200, CT_JSON, "");
		break;
	case MODE_LATE:
		resp_error(r, 404);
		break;
	}
}

/* --------------------------------------------------------- connections */

static void
timer_set(struct conn *c, double after)
{
	struct ev_loop *loop = evl;

	ev_timer_stop(loop, &c->tm);
	ev_timer_set(&c->tm, after, 0.);
	ev_timer_start(loop, &c->tm);
}

static void
conn_close(struct conn *c)
{
	struct ev_loop *loop = evl;

	ev_io_stop(loop, &c->rio);
	ev_io_stop(loop, &c->wio);
	ev_timer_stop(loop, &c->tm);
	close(c->fd);
	free(c->owned);
	free(c->in);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	connections_open--;
	free(c);
}

/* Serialises the response head into c->hdr and arms the body. */
static void
conn_prepare(struct conn *c, struct resp *r, bool head_only)
{
	int n;

	n = snprintf(c->hdr, sizeof(c->hdr),
		     "HTTP/1.1 %d %s\r\n"
		     "Server: probed-simapi\r\nContent-Type: %s\r\n"
		     "Content-Length: %zu\r\nConnection: %s\r\n%s\r\n",
		     r->status, reason_phrase(r->status), r->ctype, r->body_len,
		     c->keep_alive ? "keep-alive" : "close", r->extra != NULL ? r->extra : "");
	c->hdr_len = n < 0 ? 0 : (size_t)n < sizeof(c->hdr) ? (size_t)n : sizeof(c->hdr) - 1;
	c->hdr_off = 0;
	c->owned = r->owned;
	c->body = r->body;
	c->body_len = head_only ? 0 : r->body_len;
	c->body_off = 0;
}

/* Returns 1 when everything was sent, 0 when the rest waits, -1 on error. */
static int
conn_send(struct conn *c)
{
	for (;;) {
		struct iovec iov[2];
		struct msghdr mh;
		int cnt = 0;
		ssize_t n;
		size_t k;

		if (c->hdr_off < c->hdr_len) {
			iov[cnt].iov_base = c->hdr + c->hdr_off;
			iov[cnt++].iov_len = c->hdr_len - c->hdr_off;
		}
		if (c->body_off < c->body_len) {
			iov[cnt].iov_base = (char *)(uintptr_t)(c->body + c->body_off);
			iov[cnt++].iov_len = c->body_len - c->body_off;
		}
		if (cnt == 0)
			return 1;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)cnt;
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		k = (size_t)n;
		if (c->hdr_off < c->hdr_len) {
			size_t h = c->hdr_len - c->hdr_off;

			if (k < h) {
				c->hdr_off += k;
				continue;
			}
			c->hdr_off = c->hdr_len;
			k -= h;
		}
		c->body_off += k;
	}
}

static void
conn_linger(struct conn *c)
{
	struct ev_loop *loop = evl;

	shutdown(c->fd, SHUT_WR);
	c->state = ST_LINGER;
	ev_io_stop(loop, &c->wio);
	ev_io_start(loop, &c->rio);
	timer_set(c, LINGER_TIMEOUT);
}

/*
 * Called when the whole response is out.  Returns true when the connection
 * is back in ST_READ (and still exists), false when it was closed or lingers.
 */
static bool
conn_done(struct conn *c)
{
	struct ev_loop *loop = evl;

	free(c->owned);
	c->owned = NULL;
	c->body = NULL;
	if (!c->keep_alive || (c->peer_eof && c->in_len == 0)) {
		if (c->linger)
			conn_linger(c);
		else
			conn_close(c);
		return false;
	}
	c->state = ST_READ;
	ev_io_stop(loop, &c->wio);
	ev_io_start(loop, &c->rio);
	timer_set(c, READ_TIMEOUT);
	return true;
}

/* Starts sending what conn_prepare armed; returns like conn_done. */
static bool
conn_start_write(struct conn *c)
{
	struct ev_loop *loop = evl;
	int rc;

	rc = conn_send(c);
	if (rc < 0) {
		conn_close(c);
		return false;
	}
	if (rc == 1)
		return conn_done(c);
	c->state = ST_WRITE;
	ev_io_stop(loop, &c->rio);
	ev_io_start(loop, &c->wio);
	timer_set(c, WRITE_TIMEOUT);
	return false;
}

/* Answers a protocol error and closes after draining the input. */
static void
conn_fail(struct conn *c, int status)
{
	struct resp r;

	memset(&r, 0, sizeof(r));
	resp_error(&r, status);
	c->keep_alive = false;
	c->linger = true;
	c->in_len = 0;
	conn_prepare(c, &r, false);
	conn_start_write(c);
}

/* Handles every complete request in the input buffer. */
static void
conn_process(struct conn *c)
{
	struct ev_loop *loop = evl;

	while (c->state == ST_READ) {
		struct req rq;
		struct resp r;
		int rc;

		rc = parse_request(c, &rq);
		if (rc < 0) {
			conn_fail(c, -rc);
			return;
		}
		if (rc == 0) {
			if (c->peer_eof)
				conn_close(c);
			return;
		}
		memset(&r, 0, sizeof(r));
		dispatch(&rq, &r);
		c->keep_alive = rq.keep_alive && !r.close;
		if (r.hang) {
			c->state = ST_HANG;
			c->in_len = 0;
			if (c->peer_eof) {
				conn_close(c);
				return;
			}
			timer_set(c, HANG_TIMEOUT);
			return;
		}
		conn_prepare(c, &r, token_eq(rq.method, rq.method_len, "HEAD"));
		memmove(c->in, c->in + rq.total, c->in_len - rq.total);
		c->in_len -= rq.total;
		if (r.delay > 0) {
			c->state = ST_WAIT;
			ev_io_stop(loop, &c->rio);
			timer_set(c, r.delay);
			return;
		}
		if (!conn_start_write(c))
			return;
	}
}

/* Reads what is available; returns false if the connection was closed. */
static bool
conn_fill(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_len == c->in_cap) {
			size_t ncap = c->in_cap * 2;
			char *nb;

			if (c->in_cap >= HEAD_MAX + BODY_MAX)
				return true; /* parse decides */
			if (ncap > HEAD_MAX + BODY_MAX)
				ncap = HEAD_MAX + BODY_MAX;
			if ((nb = realloc(c->in, ncap)) == NULL) {
				conn_close(c);
				return false;
			}
			c->in = nb;
			c->in_cap = ncap;
		}
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n > 0) {
			c->in_len += (size_t)n;
			if (c->in_len < c->in_cap)
				return true; /* short read: drained */
			continue;
		}
		if (n == 0) {
			c->peer_eof = true;
			ev_io_stop(evl, &c->rio);
			return true;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		conn_close(c);
		return false;
	}
}

/* ST_HANG and ST_LINGER: throw input away, close on EOF or error. */
static void
conn_drain(struct conn *c)
{
	char scratch[4096];

	for (;;) {
		ssize_t n = read(c->fd, scratch, sizeof(scratch));

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(c);
		return;
	}
}

static void
on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;

	(void)loop;
	(void)revents;
	if (c->state == ST_HANG || c->state == ST_LINGER) {
		conn_drain(c);
		return;
	}
	if (c->state != ST_READ)
		return;
	if (conn_fill(c))
		conn_process(c);
}

static void
on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	size_t before = c->hdr_off + c->body_off;
	int rc;

	(void)loop;
	(void)revents;
	rc = conn_send(c);
	if (rc < 0) {
		conn_close(c);
		return;
	}
	if (rc == 0) {
		if (c->hdr_off + c->body_off != before)
			timer_set(c, WRITE_TIMEOUT);
		return;
	}
	if (conn_done(c))
		conn_process(c);
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;

	(void)loop;
	(void)revents;
	switch (c->state) {
	case ST_READ:
		if (c->in_len > 0)
			conn_fail(c, 408);
		else
			conn_close(c);
		break;
	case ST_WAIT:
		if (conn_start_write(c))
			conn_process(c);
		break;
	case ST_WRITE:
	case ST_HANG:
	case ST_LINGER:
		conn_close(c);
		break;
	}
}

static void
conn_new(int fd)
{
	struct ev_loop *loop = evl;
	struct conn *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL || (c->in = malloc(IN_INITIAL)) == NULL) {
		free(c);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->in_cap = IN_INITIAL;
	c->state = ST_READ;
	ev_io_init(&c->rio, on_read, fd, EV_READ);
	ev_io_init(&c->wio, on_write, fd, EV_WRITE);
	ev_timer_init(&c->tm, on_timer, READ_TIMEOUT, 0.);
	c->rio.data = c->wio.data = c->tm.data = c;
	c->next = conns;
	if (conns != NULL)
		conns->prev = c;
	conns = c;
	connections_accepted++;
	connections_open++;
	ev_io_start(loop, &c->rio);
	ev_timer_start(loop, &c->tm);
	/* On loopback the request is often queued already: skip a poll. */
	if (conn_fill(c))
		conn_process(c);
}

static void
on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_io_start(loop, &accept_watcher);
}

static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	int i, fd;

	(void)revents;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_new(fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Out of descriptors: back off instead of spinning. */
			msg("accept: %s; pausing 100 ms", strerror(errno));
			ev_io_stop(loop, w);
			ev_timer_set(&accept_retry, 0.1, 0.);
			ev_timer_start(loop, &accept_retry);
			return;
		}
		msg("accept: %s", strerror(errno));
		return;
	}
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* --------------------------------------------------------------- setup */

static int
listen_on(const char *spec, char *shown, size_t shownlen, unsigned *port_out)
{
	char host[256], *colon;
	const char *port;
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1, one = 1, rc;
	size_t len = strlen(spec);

	if (len >= sizeof(host))
		return -1;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		memcpy(host, spec + 1, (size_t)(rb - spec - 1));
		host[rb - spec - 1] = '\0';
		port = rb + 2;
	} else if ((colon = strrchr(spec, ':')) != NULL) {
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		port = colon + 1;
	} else {
		return -1;
	}
	if (*port == '\0')
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0) {
		fprintf(stderr, "probed-simapi: %s: %s\n", spec, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "probed-simapi: cannot listen on %s: %s\n", spec, strerror(errno));
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		char a[INET6_ADDRSTRLEN] = "?";

		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
			*port_out = ntohs(s6->sin6_port);
			snprintf(shown, shownlen, "[%s]:%u", a, *port_out);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
			*port_out = ntohs(s4->sin_port);
			snprintf(shown, shownlen, "%s:%u", a, *port_out);
		}
	}
	return fd;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
usage(FILE *f)
{
	fputs("usage: probed-simapi [--listen HOST:PORT] [--port-file FILE] [--pid-file FILE]\n"
	      "                     [--key KEY] [--mode ENDPOINT=MODE]... [--quiet]\n"
	      "\n"
	      "  --listen HOST:PORT  address to serve (default 127.0.0.1:8080; [::1]:PORT\n"
	      "                      for IPv6; port 0 picks a free port)\n"
	      "  --port-file FILE    write the bound port to FILE (atomically) once listening\n"
	      "  --pid-file FILE     write the process id to FILE\n"
	      "  --key KEY           require header X-Api-Key: KEY (not on /_sim/)\n"
	      "  --mode EP=MODE      initial mode; repeatable\n"
	      "  --quiet             no messages on stderr\n"
	      "\n"
	      "endpoints: userid userinfo-by-username post-detail user-posts post-comments\n"
	      "           status (/status/) index (/) stats (/stats/archive/DATE.json), * = all\n"
	      "modes:     ok 500 502 503 401 429 (any 2xx-5xx code) hang slow:MS empty-id\n"
	      "           shape invalid-json huge deep empty late\n"
	      "control:   GET|POST /_sim/mode?endpoint=EP&mode=MODE, GET /_sim/modes,\n"
	      "           GET /_sim/stats, POST /_sim/reset (all modes ok, counters 0)\n",
	      f);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"port-file", required_argument, NULL, 'p'},
		{"pid-file", required_argument, NULL, 'P'},
		{"key", required_argument, NULL, 'k'},
		{"mode", required_argument, NULL, 'm'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *listen_spec = "127.0.0.1:8080", *port_file = NULL;
	const char *pid_file = NULL;
	struct ev_loop *loop;
	ev_signal sig_term, sig_int;
	char shown[300] = "", text[64];
	char *modes[64];
	size_t i, nmodes = 0;
	unsigned port = 0;
	int ch, rc = 1;

	while ((ch = getopt_long(argc, argv, "l:p:P:k:m:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen_spec = optarg;
			break;
		case 'p':
			port_file = optarg;
			break;
		case 'P':
			pid_file = optarg;
			break;
		case 'k':
			api_key = optarg;
			api_key_len = strlen(optarg);
			break;
		case 'm':
			if (nmodes == sizeof(modes) / sizeof(modes[0])) {
				fprintf(stderr, "probed-simapi: too many "
						"--mode\n");
				return EX_USAGE;
			}
			modes[nmodes++] = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	for (i = 0; i < nmodes; i++) {
		char *eq = strchr(modes[i], '=');

		if (eq == NULL) {
			fprintf(stderr, "probed-simapi: --mode wants "
					"ENDPOINT=MODE\n");
			return EX_USAGE;
		}
		*eq = '\0';
		if (mode_set(modes[i], eq + 1) < 0) {
			fprintf(stderr, "probed-simapi: bad --mode %s=%s\n", modes[i], eq + 1);
			return EX_USAGE;
		}
		*eq = '=';
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if ((listen_fd = listen_on(listen_spec, shown, sizeof(shown), &port)) < 0)
		return 1;

	loop = evl = EV_DEFAULT;
	ev_io_init(&accept_watcher, on_accept, listen_fd, EV_READ);
	ev_io_start(loop, &accept_watcher);
	ev_timer_init(&accept_retry, on_accept_retry, 0.1, 0.);
	ev_signal_init(&sig_term, on_signal, SIGTERM);
	ev_signal_start(loop, &sig_term);
	ev_signal_init(&sig_int, on_signal, SIGINT);
	ev_signal_start(loop, &sig_int);

	if (pid_file != NULL) {
		snprintf(text, sizeof(text), "%ld\n", (long)getpid());
		if (write_file_atomic(pid_file, text) != 0) {
			fprintf(stderr, "probed-simapi: %s: %s\n", pid_file, strerror(errno));
			goto out;
		}
	}
	if (port_file != NULL) {
		snprintf(text, sizeof(text), "%u\n", port);
		if (write_file_atomic(port_file, text) != 0) {
			fprintf(stderr, "probed-simapi: %s: %s\n", port_file, strerror(errno));
			goto out;
		}
	}
	msg("listening on %s%s", shown, api_key != NULL ? " (api key required)" : "");
	ev_run(loop, 0);
	msg("exiting");
	rc = 0;
out:
	while (conns != NULL)
		conn_close(conns);
	ev_io_stop(loop, &accept_watcher);
	ev_timer_stop(loop, &accept_retry);
	ev_signal_stop(loop, &sig_term);
	ev_signal_stop(loop, &sig_int);
	close(listen_fd);
	free(huge_body);
	free(deep_body);
	ev_loop_destroy(loop);
	return rc;
}
