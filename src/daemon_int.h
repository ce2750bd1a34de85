/* daemon_int.h — what the files of the daemon (src/daemon*.c) share and nothing else
 * may see: the daemon's and each probe's state, and the calls between daemon.c (wiring,
 * reload, passes) and daemon_probe.c (one probe's run and its result path). The public
 * API is include/probed/daemon.h. */
#ifndef PROBED_DAEMON_INT_H
#define PROBED_DAEMON_INT_H
#include <stddef.h>
#include <stdint.h>
#include <ev.h>
#include "probed/control.h"
#include "probed/daemon.h"
#include "probed/eval.h"
#include "probed/incident.h"
#include "probed/jsonschema.h"
#include "probed/result.h"
#include "probed/sched.h"
#include "probed/store.h"

/* a shape drift counts for 24 h after the change */
#define SHAPE_WINDOW_MS (24LL * 3600 * 1000)

struct probe {
	struct pd_daemon *d;
	char name[128];
	const struct pd_probe_cfg *cfg; /* into d->cfg; NULL once removed */
	struct pd_schema *schema;
	struct pd_sched_entry sched;
	struct pd_eval_state state;
	int64_t next_due_us; /* the fixed-rate grid */
	int64_t run_lateness_us;
	int64_t run_start_ms;
	int has_result;
	struct pd_result last;
	/* windowed facts from the store, refreshed by daemon_incidents() */
	struct pd_window win;
	int64_t win_at_ms; /* 0 = never */
	int64_t win_dirty; /* results since the last refresh */
	double baseline_ms;
	int baseline_hour;    /* UTC hour-of-epoch it was computed for, -1 = never */
	int64_t recovered_ms; /* last confirmed recovery: windows start after it */
	/* shape drift: last fingerprint, when its row was last touched, and until
	 * when the probe counts as drifted (24 h after a change) */
	uint64_t shape_hash;
	int64_t shape_saved_ms;
	int64_t drift_until_ms;
	int64_t cert_not_after_s; /* earliest notAfter seen (unix s), -1 unknown */
	int inflight;
	int removed; /* swept by a reload while in flight: free on completion */
	int mark;
	/* the classify pass touches what changed (daemon.c, "quiet probes"): loud = the
	 * probe may alert or is in an incident, counted in d->nloud; on d->due while it
	 * has results its window has not seen */
	int loud;
	struct probe *due_next, **due_prev;
	struct probe *next;
};

struct pd_daemon {
	struct ev_loop *loop;
	struct pd_daemon_opts opts;
	struct pd_config *cfg;
	struct pd_store *store;
	struct pd_runner *runner;
	struct pd_outbox *outbox;
	struct probe *probes;
	ev_prepare prepare;
	ev_timer commit; /* the batch timer: a batch waits at most PD_STORE_COMMIT_MS */
	ev_timer prune;
	int64_t pruned_rows;                /* results, events, aggregates: this run */
	struct pd_store_pruned pruned_hist; /* the rest: this run */
	ev_timer drain;
	ev_timer heartbeat;
	ev_timer classify;
	struct pd_incidents *incidents;
	int incidents_dirty;
	size_t nloud;            /* probes with loud set */
	int loud_stale;          /* every probe's loudness needs a look (config applied, resync) */
	struct probe *due;       /* probes whose window is behind their results */
	struct probe *control;   /* the control probe, NULL without one (set by apply) */
	int64_t win_deadline_us; /* this pass's budget for quiet probes' window reads */
	/* silences in force, read again when another process commits (PRAGMA
	 * data_version: probectl silence add/expire) and at least every 10 s */
	struct pd_silence *sil;
	size_t nsil, silcap;
	int64_t sil_version, sil_read_ms;
	int64_t slo_last_ms; /* start of the last round of SLO evaluations (mono) */
	size_t slo_next;     /* the objective the next tick evaluates */
	int host_suspect_logged;
	int64_t host_suspect_last_ms; /* when the control target last failed */
	int heartbeat_ok;             /* last ping's outcome, to log only changes */
	int heartbeat_inflight;
	uint64_t store_errors_at_ping;
	int store_failing; /* the last commit failed: heartbeat withheld */
	ev_signal sig_term, sig_int, sig_hup;
	int draining;
	int kick_outbox;
	int rc;
	struct pd_daemon_stats stats;
};

/* ---- daemon.c ---- */
/* Stop p's timer and free it (NULL: nothing). */
void pd_daemon_probe_free(struct probe *p);

/* ---- daemon_probe.c ---- */
/* The sched callback: start p's run on the grid (skipped while the last one runs). */
void pd_daemon_probe_fire(struct pd_sched_entry *e, int64_t lateness_us);
/* Put p on its grid: its spread slot, or soon when resuming an unconfirmed change. */
void pd_daemon_probe_start(struct pd_daemon *d, struct probe *p);
/* Queue one event per notify target for p's own page, in the current batch. */
void pd_daemon_page(struct pd_daemon *d, struct probe *p, const char *action,
		    const struct pd_result *r, int64_t down_since_ms, int consec,
		    enum pd_control_decision dec);
/* pd_store_events callback: push *(int64_t *)ud to the end of a shape drift's window. */
int pd_daemon_drift_row(void *ud, int64_t ts_ms, const char *probe, const char *kind,
			const char *detail);
/* The control probe (a known-good target), or NULL when none is configured. */
struct probe *pd_daemon_control(const struct pd_daemon *d);
/* p has a new result: its window is behind (due), and a failure makes it loud at once. */
void pd_daemon_probe_noted(struct pd_daemon *d, struct probe *p, int failing);
/* The monitoring host is the suspect: the control target fails (control.h). */
int pd_daemon_host_suspect(const struct pd_daemon *d);

#endif
