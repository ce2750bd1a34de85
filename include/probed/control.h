/* control.h — the control-probe policy. One probe may be marked `control: true`: it
 * points at a known-good target outside the API, so when it fails too the monitoring
 * host's own network is the suspect, not the API. Pure: plain inputs (the control
 * probe's last result and paging state, a probe's outage start, the other probes'
 * failures, the time) in, a decision out; no I/O, no logging, no clock reads. The
 * daemon looks the control probe up, asks, logs and acts.
 *
 *   a probe's trigger    ──► pd_control_trigger:
 *                              the control's own page:   SEND, or HOST_DEGRADED when
 *                                                        every other probe fails too
 *                              no control configured:    SEND
 *                              control not probed since
 *                              the outage began:         HOLD (probe the control now)
 *                              control fails too:        SUPPRESS (host degraded)
 *                              control healthy:          SEND
 *   a probe's recovery   ──► pd_control_resolve: SEND, or SUPPRESS when its page had
 *                              been suppressed (nothing to resolve)
 *   every incident pass  ──► pd_control_host_suspect: incidents and SLOs wait;
 *                              pd_control_host_owned, pd_control_window_usable: what
 *                              the classifier may count against the API
 */
#ifndef PROBED_CONTROL_H
#define PROBED_CONTROL_H
#include <stdint.h>

enum pd_control_decision {
	PD_CONTROL_SEND = 0,      /* page as usual: the control's own page directly, any
				   * other probe's through its incident */
	PD_CONTROL_HOLD,          /* wait: the control target has not been probed since
				   * this outage began */
	PD_CONTROL_SUPPRESS,      /* no page: the control target fails too (a trigger),
				   * or the outage's page had been suppressed (a recovery) */
	PD_CONTROL_HOST_DEGRADED, /* the control's own page, worded "monitoring host
				   * degraded": every other probe fails too */
};

/* The control probe as the policy sees it. */
struct pd_control_view {
	int configured;     /* a control probe exists; the rest is read only then */
	int has_result;     /* it has reported since the daemon started */
	int last_ok;        /* its last result passed */
	int64_t last_ts_ms; /* when the run of its last result started (UTC ms) */
	int up;             /* its paging state is UP */
};

/* The monitoring host is the suspect: the control target's last result failed, or its
 * paging state is not UP. 0 without a control probe. */
int pd_control_host_suspect(const struct pd_control_view *c);

/* A probe's paging state machine raised a trigger. is_control: the probe is the
 * control itself; fail_since_ms: when its outage began; others, others_failing: the
 * other live probes and how many of them have a failed last result (read only for the
 * control's own trigger); draining: the daemon is stopping (nothing is held then). */
enum pd_control_decision pd_control_trigger(const struct pd_control_view *c, int is_control,
					    int64_t fail_since_ms, int others, int others_failing,
					    int draining);

/* A probe recovered. was_paged: its outage's page went out (a suppressed one did not,
 * and has nothing to resolve). The control's own resolve and any other alike. */
enum pd_control_decision pd_control_resolve(int was_paged);

/* A probe leaves the configuration with its page open (page_open): does it need a
 * resolve of its own? Only the control's page is per probe; every other page resolves
 * through its incident, which counts a removed member as recovered. */
int pd_control_resolve_on_remove(int is_control, int page_open);

/* Does the classifier count a probe as the host's rather than the API's: the control
 * probe itself, or a confirmed outage (DOWN or RECOVERING) whose page was suppressed. */
int pd_control_host_owned(int is_control, int confirmed, int paged);

/* May the classifier use a probe's windowed facts at now_ms? Not while the window
 * (window_ms) still overlaps the last moment the host was the suspect
 * (host_suspect_last_ms, 0 = never): those failures are the host's. */
int pd_control_window_usable(int64_t host_suspect_last_ms, int64_t now_ms, int64_t window_ms);

const char *pd_control_decision_str(enum pd_control_decision dec);

#endif
