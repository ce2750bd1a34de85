/* sdnotify.c — READY=1 / RELOADING=1 / STOPPING=1, WATCHDOG=1 from the event loop and a
 * STATUS= line built from the daemon's live stats. The only file that includes
 * systemd/sd-daemon.h. See sdnotify.h for the sequence. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include "probed/clock.h"
#include "probed/log.h"
#include "probed/sdnotify.h"
#include "probed/store.h"

#define SDN_REASON_MAX 200
#define SDN_MSG_MAX (PD_SDNOTIFY_STATUS_MAX + 64)

struct pd_sdnotify {
	struct ev_loop *loop;
	struct pd_daemon *d; /* borrowed; NULL until pd_sdnotify_start */
	ev_timer watchdog;
	ev_timer status_timer;
	uint64_t watchdog_usec; /* 0 = off */
	double status_interval_s;
	int stopping;
	int have_reload_error;
	char reload_error[SDN_REASON_MAX + 1];
	char status[PD_SDNOTIFY_STATUS_MAX];
};

/* Append to out at *len without ever overflowing; truncation is silent (a STATUS= line). */
static void __attribute__((format(printf, 4, 5)))
sdn_append(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len + 1 >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*len += (size_t)n;
	if (*len >= cap)
		*len = cap - 1;
}

void
pd_sdnotify_format_status(char *out, size_t cap, size_t nprobes, const struct pd_daemon_stats *st,
			  int64_t outbox_depth, const char *reload_error)
{
	char reason[SDN_REASON_MAX + 1];
	size_t len = 0, i;

	if (cap == 0)
		return;
	out[0] = '\0';
	if (st->draining)
		sdn_append(out, cap, &len, "shutting down: %zu transfers in flight; ",
			   st->inflight);
	if (reload_error != NULL) {
		/* one line: sd_notify messages are newline-separated assignments */
		for (i = 0; reload_error[i] != '\0' && i < SDN_REASON_MAX; i++) {
			unsigned char c = (unsigned char)reload_error[i];

			reason[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
		}
		reason[i] = '\0';
		sdn_append(out, cap, &len, "reload FAILED: %s; running previous config; ", reason);
	}
	sdn_append(out, cap, &len, "%zu probe%s: %zu up, %zu down; open incidents %zu", nprobes,
		   nprobes == 1 ? "" : "s", st->probes_up, st->probes_down, st->open_incidents);
	if (outbox_depth >= 0)
		sdn_append(out, cap, &len, "; outbox %" PRId64, outbox_depth);
	else
		sdn_append(out, cap, &len, "; outbox ?");
	if (st->store_errors > 0)
		sdn_append(out, cap, &len, "; store errors %" PRIu64, st->store_errors);
	if (reload_error == NULL)
		sdn_append(out, cap, &len, "; config OK");
}

/* Send one notification; failures are logged at debug level only (systemd may be gone
 * during shutdown, and without NOTIFY_SOCKET sd_notify returns 0). */
static void
sdn_send(const char *msg)
{
	int rc = sd_notify(0, msg);

	if (rc < 0)
		pd_log_debug("sd_notify: %s", strerror(-rc));
}

/* Recompute STATUS=; returns 1 when it differs from what was last sent. */
static int
sdn_refresh(struct pd_sdnotify *sn)
{
	struct pd_daemon_stats st;
	struct pd_err err = {0};
	char buf[PD_SDNOTIFY_STATUS_MAX];
	int64_t depth = -1, oldest = 0, dead = 0;
	const struct pd_config *cfg;
	size_t nprobes;

	if (sn->d == NULL)
		return 0;
	pd_daemon_stats(sn->d, &st);
	cfg = pd_daemon_config(sn->d);
	nprobes = cfg != NULL ? cfg->nprobes : st.probes_up + st.probes_down;
	if (pd_store_outbox_stats(pd_daemon_store(sn->d), pd_daemon_now_ms(sn->d), &depth, &oldest,
				  &dead, &err) != 0)
		depth = -1;
	pd_sdnotify_format_status(buf, sizeof(buf), nprobes, &st, depth,
				  sn->have_reload_error ? sn->reload_error : NULL);
	if (strcmp(buf, sn->status) == 0)
		return 0;
	memcpy(sn->status, buf, sizeof(buf));
	return 1;
}

/* Send head (may be NULL) followed by the current STATUS=. */
static void
sdn_send_with_status(struct pd_sdnotify *sn, const char *head)
{
	char msg[SDN_MSG_MAX];

	(void)sdn_refresh(sn);
	snprintf(msg, sizeof(msg), "%s%sSTATUS=%s", head ? head : "", head ? "\n" : "", sn->status);
	sdn_send(msg);
}

static void
sdn_on_watchdog(EV_P_ ev_timer *w, int revents)
{
	(void)EV_A;
	(void)w;
	(void)revents;
	/* fed from the loop itself: if the loop stalls, the feeding stops */
	sdn_send("WATCHDOG=1");
}

static void
sdn_on_status(EV_P_ ev_timer *w, int revents)
{
	struct pd_sdnotify *sn = w->data;

	(void)EV_A;
	(void)revents;
	if (sdn_refresh(sn))
		sdn_send_with_status(sn, NULL);
}

struct pd_sdnotify *
pd_sdnotify_new(struct ev_loop *loop, double status_interval_s)
{
	struct pd_sdnotify *sn = calloc(1, sizeof(*sn));
	uint64_t usec = 0;

	if (sn == NULL)
		return NULL;
	sn->loop = loop;
	sn->status_interval_s = status_interval_s > 0 ? status_interval_s : 5.0;
	/* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		sn->watchdog_usec = usec;
	ev_timer_init(&sn->watchdog, sdn_on_watchdog, 0., 0.);
	sn->watchdog.data = sn;
	ev_timer_init(&sn->status_timer, sdn_on_status, 0., 0.);
	sn->status_timer.data = sn;
	return sn;
}

void
pd_sdnotify_start(struct pd_sdnotify *sn, struct pd_daemon *d)
{
	double half;

	if (sn == NULL)
		return;
	sn->d = d;
	ev_now_update(sn->loop); /* the timers count from now, not from loop creation */
	sdn_send_with_status(sn, "READY=1");
	if (sn->watchdog_usec > 0) {
		half = (double)sn->watchdog_usec / 2e6;
		sdn_send("WATCHDOG=1");
		ev_timer_set(&sn->watchdog, half, half);
		ev_timer_start(sn->loop, &sn->watchdog);
		pd_log_info("systemd watchdog: feeding every %.3fs", half);
	}
	ev_timer_set(&sn->status_timer, sn->status_interval_s, sn->status_interval_s);
	ev_timer_start(sn->loop, &sn->status_timer);
}

void
pd_sdnotify_reload(struct pd_sdnotify *sn, int phase, int ok, const char *msg)
{
	char head[96];
	struct timespec ts;

	if (sn == NULL)
		return;
	if (phase == 0) {
		/* MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) order the reply */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(head, sizeof(head), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
			 (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
		sdn_send(head);
		return;
	}
	if (ok) {
		sn->have_reload_error = 0;
		sn->reload_error[0] = '\0';
	} else {
		sn->have_reload_error = 1;
		snprintf(sn->reload_error, sizeof(sn->reload_error), "%s",
			 msg != NULL && msg[0] != '\0' ? msg : "unknown error");
	}
	sdn_send_with_status(sn, "READY=1");
}

void
pd_sdnotify_stopping(struct pd_sdnotify *sn)
{
	if (sn == NULL || sn->stopping)
		return;
	sn->stopping = 1;
	sdn_send_with_status(sn, "STOPPING=1");
}

void
pd_sdnotify_free(struct pd_sdnotify *sn)
{
	if (sn == NULL)
		return;
	ev_timer_stop(sn->loop, &sn->watchdog);
	ev_timer_stop(sn->loop, &sn->status_timer);
	free(sn);
}

uint64_t
pd_sdnotify_watchdog_usec(const struct pd_sdnotify *sn)
{
	return sn != NULL ? sn->watchdog_usec : 0;
}

const char *
pd_sdnotify_status(const struct pd_sdnotify *sn)
{
	return sn != NULL ? sn->status : "";
}
