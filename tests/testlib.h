/* testlib.h — what every Check suite shares: a scratch directory per test, its removal,
 * a fake clock, a store on a real SQLite file, file and JSON helpers, the notify suites'
 * neutral event and config, a loopback HTTP receiver, and the runner of a suite (linked
 * into every tests/check_*.c). */
#ifndef PROBED_TESTLIB_H
#define PROBED_TESTLIB_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <check.h>
#include <ev.h>
#include "probed/clock.h"

struct pd_store;
struct pd_runner;
struct pd_outbox;

/* Make a fresh directory $TMPDIR/probed-TAG.XXXXXX (TMPDIR default /tmp) and write its
 * path into out (cap bytes). Fails the running test when it cannot. */
void pd_test_tmpdir(char *out, size_t cap, const char *tag);
/* Remove path and everything below it (a missing path is fine). */
void pd_test_rm_tree(const char *path);
/* Run every test of s (the runner frees s) between curl_global_init and its cleanup; 0 when
 * all passed, 1 otherwise: main()'s exit status. */
int pd_test_run(Suite *s);

/* Is s[0..n) well-formed UTF-8 (by lead and continuation bytes)? */
int pd_test_utf8_valid(const unsigned char *s, size_t n);

/* ---- files and JSON ---- */
struct cJSON;
struct pd_config;
struct pd_err;

/* The whole of path, NUL-terminated (*len: its size, if len); NULL when it cannot be
 * opened. The caller frees it. */
char *pd_test_slurp(const char *path, size_t *len);
/* Write text to path (created or truncated) and chmod it to mode; fails the test when it
 * cannot. */
void pd_test_write_file(const char *path, const char *text, mode_t mode);
/* Member k of object o (NULL when absent), and its string (NULL when absent or not one). */
struct cJSON *pd_test_jget(const struct cJSON *o, const char *k);
const char *pd_test_jstr(const struct cJSON *o, const char *k);

/* ---- the notify suites' neutral event and config ---- */
#define PD_TEST_T0_MS 1795000000000LL /* 2026-11-18T11:06:40Z: where their fake clocks start */
/* pd_test_event's dedup key as an Opsgenie alias: "/" -> "_", "-" and the FNV-1a 64 hash
 * of the key (computed independently: python3 -c 'h=0xcbf29ce484222325
 * for b in b"probed:eu-west-1/inc-1795000000000": h=((h^b)*0x100000001b3)%2**64
 * print("%016x"%h)') */
#define PD_TEST_OG_ALIAS "probed:eu-west-1_inc-1795000000000-6faaf58d5d14ea1d"

/* The neutral event as the incident layer would queue it (post-detail DOWN since
 * PD_TEST_T0_MS, or its recovery for action "resolve"; severity NULL: no incident
 * fields), parsed back from pd_notify_event_json. The caller deletes it. */
struct cJSON *pd_test_event(const char *action, const char *severity);
/* A config with one probe and the given notify: section (its list items); NULL and err
 * set when it does not load. */
struct pd_config *pd_test_notify_cfg_load(const char *notify_yaml, struct pd_err *err);
/* The same, failing the test (with the message) when it does not load. */
struct pd_config *pd_test_notify_cfg(const char *notify_yaml);

/* ---- a fake clock: time moves only when the test moves it ---- */
struct pd_test_clock {
	struct pd_clock clock; /* hand &c->clock (or pd_test_clock_init's result) to the code */
	int64_t now_ms;        /* what wall_ms answers; tests may set it directly */
};

/* Start c at now_ms; returns the struct pd_clock to inject. */
const struct pd_clock *pd_test_clock_init(struct pd_test_clock *c, int64_t now_ms);
void pd_test_clock_set(struct pd_test_clock *c, int64_t now_ms);
void pd_test_clock_advance(struct pd_test_clock *c, int64_t ms);

/* ---- a store on a real SQLite file in a scratch directory ---- */
struct pd_test_store {
	char dir[64];   /* the scratch directory (removed by pd_test_store_close) */
	char path[128]; /* DIR/probed.db */
	struct pd_store *st;
};

/* Create a scratch directory named after tag and set s->path, opening nothing (for tests
 * that open the file themselves, maybe several times). */
void pd_test_store_dir(struct pd_test_store *s, const char *tag);
/* pd_test_store_dir, then open a read-write store there (s->st). Returns s->st. */
struct pd_store *pd_test_store_open(struct pd_test_store *s, const char *tag);
/* Open the store at path; fails the test with the store's message when it cannot. */
struct pd_store *pd_test_store_at(const char *path, int readonly);
/* Close s->st and open the same file again (readonly or not), as a restart would. */
struct pd_store *pd_test_store_reopen(struct pd_test_store *s, int readonly);
/* Free s->st (if open) and remove the directory. */
void pd_test_store_close(struct pd_test_store *s);

/* ---- the outbox as the daemon runs it ----
 * A store (pd_test_store), an ev loop, a runner and an outbox on the fake clock; the store
 * is flushed once per loop iteration (an ev_prepare, like the daemon) and a 20 ms timer
 * bounds each EVRUN_ONCE. The test hands the outbox its config. */
struct pd_test_outbox {
	struct pd_test_store db;
	struct pd_test_clock clock;
	struct ev_loop *loop;
	struct pd_store *st; /* db.st */
	struct pd_runner *runner;
	struct pd_outbox *ob;
	ev_prepare flush;
	ev_timer tick;
};

typedef int (*pd_test_outbox_pred)(struct pd_test_outbox *o, const void *arg);

/* Set o up with its clock at t0_ms; its directory is named after tag. */
void pd_test_outbox_init(struct pd_test_outbox *o, const char *tag, int64_t t0_ms);
/* Free the runner first (aborting a transfer calls back into a live outbox), then the
 * outbox (either may already be NULL), the loop and the store. */
void pd_test_outbox_free(struct pd_test_outbox *o);
/* Run the loop until pred holds or timeout_s (real time) passes; returns whether it held. */
int pd_test_outbox_run_until(struct pd_test_outbox *o, pd_test_outbox_pred pred, const void *arg,
			     double timeout_s);
/* Let the loop run for s seconds (to show that nothing happens). */
void pd_test_outbox_run_for(struct pd_test_outbox *o, double s);

/* ---- a loopback HTTP/1.1 receiver ----
 * A forked child listening on 127.0.0.1 answers one request per connection with the next
 * reply of a script (the last one repeats) and "Connection: close". Every complete request
 * is recorded (to files in a scratch directory) before it is answered, so a client that
 * got its answer finds its request counted. Being another process, it serves while the
 * test blocks or runs its own loop; it never outlives the test. */
#define PD_TEST_HTTP_MAX_SCRIPT 16
#define PD_TEST_HTTP_MAX_REQ 64
#define PD_TEST_HTTP_HANG 0     /* status: read the request, keep the connection, never answer */
#define PD_TEST_HTTP_CLOSE (-1) /* status: read the request, close without an answer */

struct pd_test_reply {
	int status;       /* an HTTP status, or PD_TEST_HTTP_HANG / PD_TEST_HTTP_CLOSE */
	int retry_after;  /* > 0: send "Retry-After: N" */
	const char *body; /* the JSON body; NULL: {} (copied, at most 1023 bytes) */
	int delay_ms;     /* wait this long before answering */
};

struct pd_test_request {
	char *line; /* "POST /path HTTP/1.1" */
	char *head; /* request line and headers, up to and with the blank line */
	char *body; /* NUL-terminated */
	size_t body_len;
};

struct pd_test_http_shared;

struct pd_test_http {
	pid_t pid;
	int port;
	char dir[160]; /* req-NNN.head / req-NNN.body */
	struct pd_test_http_shared *sh;
	struct pd_test_request req[PD_TEST_HTTP_MAX_REQ]; /* read on demand */
};

/* Start a receiver on port (0: any free one; h->port tells which) answering script[0..n). */
void pd_test_http_start(struct pd_test_http *h, int port, const struct pd_test_reply *script,
			size_t n);
/* Replace the script: the next request gets script[0]. */
void pd_test_http_script(struct pd_test_http *h, const struct pd_test_reply *script, size_t n);
/* Requests recorded so far. */
int pd_test_http_count(const struct pd_test_http *h);
/* Request i (0-based, < count); owned by h until pd_test_http_stop. */
const struct pd_test_request *pd_test_http_request(struct pd_test_http *h, int i);
/* Request i's body parsed as JSON (fails the test when it is not); the caller deletes it. */
struct cJSON *pd_test_http_json(struct pd_test_http *h, int i);
/* Stop the child (SIGTERM, waitpid), free the requests, remove the directory. Safe twice. */
void pd_test_http_stop(struct pd_test_http *h);
/* A loopback port with nothing listening on it (just bound and closed). */
int pd_test_closed_port(void);

#endif
