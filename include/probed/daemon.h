/* daemon.h — the probed daemon: config + scheduler + runner + checks + store + paging +
 * outbox, all on one libev loop in one thread.
 *
 *   sched (ev_timer) -> runner (curl multi) -> check -> store (batched) -> eval
 *        ^                                                                 |
 *        +--------- confirm re-probe / next interval <---------------------+-> outbox rows
 *   ev_prepare: commit the batch, then kick the outbox (sends only committed rows)
 */
#ifndef PROBED_DAEMON_H
#define PROBED_DAEMON_H
#include <ev.h>
#include "probed/clock.h"
#include "probed/config.h"
#include "probed/err.h"

struct pd_daemon;

struct pd_daemon_opts {
	const char *config_path;  /* re-read on SIGHUP */
	const char *db_path;      /* overrides store.path when non-NULL */
	const struct pd_clock *clock; /* NULL = real */
	double drain_timeout_s;   /* SIGTERM: bound on finishing in-flight work (default 15) */
};

/* Takes ownership of cfg (even on failure). */
struct pd_daemon *pd_daemon_new(struct ev_loop *loop, struct pd_config *cfg,
				const struct pd_daemon_opts *opts, struct pd_err *err);
void pd_daemon_free(struct pd_daemon *d);
/* Install SIGTERM/SIGINT/SIGHUP watchers and run the loop until shut down. Returns 0 on
 * a clean shutdown. */
int pd_daemon_run(struct pd_daemon *d);
/* Apply a new config (ownership taken): mark-and-sweep by probe name. */
int pd_daemon_apply(struct pd_daemon *d, struct pd_config *cfg, struct pd_err *err);
/* Re-read opts->config_path; on error keep the running config. */
int pd_daemon_reload(struct pd_daemon *d, struct pd_err *err);
/* Begin a graceful shutdown (what SIGTERM does). */
void pd_daemon_shutdown(struct pd_daemon *d);

#endif
