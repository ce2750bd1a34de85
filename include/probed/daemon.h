/* daemon.h — the probed daemon: config + scheduler + runner + checks + store + paging +
 * outbox, all on one libev loop in one thread.
 *
 *   sched (ev_timer) -> runner (curl multi) -> check -> store (batched) -> eval
 *        ^                                                                 |
 *        +--------- confirm re-probe / next interval <---------------------+
 *   incident pass (every 1 s, and after a state change): store windows -> classify ->
 *        incidents (rows, timeline, outbox rows in the same batch)
 *   ev_prepare: commit the batch, then kick the outbox (sends only committed rows)
 * The map of all modules is docs/DESIGN.md.
 */
#ifndef PROBED_DAEMON_H
#define PROBED_DAEMON_H
#include <ev.h>
#include "probed/clock.h"
#include "probed/config.h"
#include "probed/err.h"
#include "probed/eval.h"
#include "probed/result.h"

struct pd_daemon;

struct pd_daemon_opts {
	const char *config_path;      /* re-read on SIGHUP */
	const char *db_path;          /* overrides store.path when non-NULL */
	const struct pd_clock *clock; /* NULL = real */
	double drain_timeout_s;       /* SIGTERM: bound on finishing in-flight work (default 15) */
	/* Optional hooks (sd_notify, the HTTP listener): called on the loop.
	 * on_reload: before (phase 0) and after (phase 1, ok = 1 applied / 0 kept old, msg =
	 * the reason) a SIGHUP reload. on_shutdown: when a graceful shutdown begins. */
	void (*on_reload)(void *ud, int phase, int ok, const char *msg);
	void (*on_shutdown)(void *ud);
	void *hook_ud;
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

/* ---- live views (for the HTTP listener, metrics, status page, sd_notify) ---- */

/* One probe as the daemon sees it now. Pointers are valid during the callback only. */
struct pd_probe_view {
	const char *name;
	const char *family;
	const char *tier; /* "core" | "secondary" | "site" */
	const struct pd_probe_cfg *cfg;
	const struct pd_eval_state *state;
	int has_result;                   /* 0 until the first result since start */
	const struct pd_result *last;     /* valid when has_result */
	int64_t cert_not_after_s;         /* earliest notAfter of the TLS chain (unix s,
					* last known, kept across restarts); -1 unknown */
	const struct pd_maint_hit *maint; /* held by maintenance or a silence, else
					   * NULL (valid during the call) */
};
typedef void (*pd_daemon_probe_fn)(void *ud, const struct pd_probe_view *v);
/* Call fn for every configured probe, in config order. Returns the count. */
size_t pd_daemon_probes(const struct pd_daemon *d, pd_daemon_probe_fn fn, void *ud);

struct pd_daemon_stats {
	uint64_t results;      /* results recorded since start */
	uint64_t failures;     /* of which failed */
	uint64_t store_errors; /* failed store writes/commits since start */
	uint64_t skipped;      /* starts skipped because the last run was still going */
	uint64_t reloads, reload_failures;
	uint64_t classify_passes;   /* full classify passes (every probe); skipped when all quiet */
	size_t loud_probes;         /* probes that may alert or are in an incident */
	int64_t lateness_us_max;    /* worst start lateness since start */
	uint64_t lateness_le_us[8]; /* cumulative histogram of start lateness, bounds below */
	uint64_t lateness_count;
	double lateness_sum_s;
	size_t probes_up, probes_down; /* down = DOWN or RECOVERING (a page is open) */
	size_t open_incidents;         /* incidents open now */
	size_t inflight;               /* transfers in flight (probes + notifications) */
	int64_t started_ms;            /* UTC */
	int draining;
};
/* Bounds of lateness_le_us, in microseconds (the last is +Inf). */
extern const int64_t pd_daemon_lateness_bounds_us[8];
void pd_daemon_stats(const struct pd_daemon *d, struct pd_daemon_stats *out);

/* Borrowed handles for read-only use by the HTTP listener (same thread). */
struct pd_store *pd_daemon_store(const struct pd_daemon *d);
/* Wall-clock now (UTC ms) by the daemon's clock (the injected one in tests). */
int64_t pd_daemon_now_ms(const struct pd_daemon *d);
const struct pd_config *pd_daemon_config(const struct pd_daemon *d);
struct ev_loop *pd_daemon_loop(const struct pd_daemon *d);
struct pd_incidents;
struct pd_incidents *pd_daemon_incidents(const struct pd_daemon *d);

#endif
