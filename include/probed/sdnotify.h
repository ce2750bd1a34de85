/* sdnotify.h — systemd readiness, watchdog and status for probed (sd_notify(3)).
 *
 *   pd_sdnotify_new ──► pd_sdnotify_start ──► READY=1 + STATUS=
 *                          │  ev_timer every WATCHDOG_USEC/2: WATCHDOG=1 (from the loop,
 *                          │  so a stuck loop stops feeding and systemd restarts it)
 *                          │  ev_timer every status_interval_s: STATUS= when it changed
 *                          ▼
 *   SIGHUP: pd_sdnotify_reload(phase 0) RELOADING=1 ─► (phase 1) READY=1 + STATUS=
 *           a failed reload keeps "reload FAILED: <reason>; running previous config"
 *           in STATUS= until the next good reload
 *   SIGTERM: pd_sdnotify_stopping ─► STOPPING=1 + STATUS=
 *
 * Without $NOTIFY_SOCKET sd_notify() is a no-op and without $WATCHDOG_USEC (or with a
 * $WATCHDOG_PID naming another process) no watchdog timer runs: probed behaves the same
 * under systemd and without it. Everything runs on the daemon's loop (one thread).
 */
#ifndef PROBED_SDNOTIFY_H
#define PROBED_SDNOTIFY_H
#include <stddef.h>
#include <stdint.h>
#include <ev.h>
#include "probed/daemon.h"

#define PD_SDNOTIFY_STATUS_MAX 512

struct pd_sdnotify;

/* A notifier for loop; STATUS= is re-computed every status_interval_s (<= 0: 5 s) and
 * sent when it changed. Reads $NOTIFY_SOCKET / $WATCHDOG_USEC / $WATCHDOG_PID, leaving
 * them set. Returns NULL only when out of memory. Free with pd_sdnotify_free(). */
struct pd_sdnotify *pd_sdnotify_new(struct ev_loop *loop, double status_interval_s);
/* The daemon is up (config loaded, database open): send READY=1 with STATUS= and start
 * the watchdog and status timers. d is borrowed: it must outlive the timers, so free the
 * notifier before pd_daemon_free (or at least before the loop runs again). */
void pd_sdnotify_start(struct pd_sdnotify *sn, struct pd_daemon *d);
/* The pd_daemon_opts.on_reload hook's arguments: phase 0 sends RELOADING=1; phase 1
 * sends READY=1 and STATUS=, with msg (the first config error) when ok == 0. */
void pd_sdnotify_reload(struct pd_sdnotify *sn, int phase, int ok, const char *msg);
/* A graceful shutdown began: STOPPING=1 with STATUS=. The watchdog keeps being fed
 * while in-flight work drains. */
void pd_sdnotify_stopping(struct pd_sdnotify *sn);
/* Stops the timers; NULL is a no-op. Does not notify. */
void pd_sdnotify_free(struct pd_sdnotify *sn);

/* Watchdog period systemd asked for, in microseconds (0 = no watchdog). */
uint64_t pd_sdnotify_watchdog_usec(const struct pd_sdnotify *sn);
/* The STATUS= text currently reported (empty before pd_sdnotify_start). */
const char *pd_sdnotify_status(const struct pd_sdnotify *sn);

/* Format the STATUS= line (no "STATUS=" prefix) into out (cap > 0, always terminated):
 *   "3 probes: 2 up, 1 down; open incidents 1; outbox 0; config OK"
 * nprobes: configured probes; outbox_depth < 0 when unknown; reload_error: NULL or the
 * reason the last reload failed ("reload FAILED: <reason>; running previous config"
 * replaces "config OK" and comes first; control characters in it become spaces).
 * "; store errors N" is added when N > 0. While draining the line starts with
 * "shutting down: N transfers in flight; ". */
void pd_sdnotify_format_status(char *out, size_t cap, size_t nprobes,
			       const struct pd_daemon_stats *st, int64_t outbox_depth,
			       const char *reload_error);

#endif
