/* check_sdnotify.c — the STATUS= line, and the notifier against a real unix datagram
 * socket (NOTIFY_SOCKET) with the watchdog driven by a real libev loop. The daemon side
 * (READY after start, RELOADING/STOPPING from signals) is covered end to end by
 * tests/integration/test_systemd.sh. */
#include <check.h>
#include "testlib.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "probed/sdnotify.h"

static struct pd_daemon_stats
stats(size_t up, size_t down)
{
	struct pd_daemon_stats st;

	memset(&st, 0, sizeof(st));
	st.probes_up = up;
	st.probes_down = down;
	return st;
}

START_TEST(test_status_ok)
{
	struct pd_daemon_stats st = stats(2, 1);
	char out[PD_SDNOTIFY_STATUS_MAX];

	st.open_incidents = 1;
	pd_sdnotify_format_status(out, sizeof(out), 3, &st, 0, NULL);
	ck_assert_str_eq(out, "3 probes: 2 up, 1 down; open incidents 1; outbox 0; config OK");
	st = stats(1, 0);
	pd_sdnotify_format_status(out, sizeof(out), 1, &st, 7, NULL);
	ck_assert_str_eq(out, "1 probe: 1 up, 0 down; open incidents 0; outbox 7; config OK");
}
END_TEST

START_TEST(test_status_unknown_outbox_and_store_errors)
{
	struct pd_daemon_stats st = stats(0, 2);
	char out[PD_SDNOTIFY_STATUS_MAX];

	st.store_errors = 4;
	st.open_incidents = 1; /* two probes down together: one incident */
	pd_sdnotify_format_status(out, sizeof(out), 2, &st, -1, NULL);
	ck_assert_str_eq(
		out,
		"2 probes: 0 up, 2 down; open incidents 1; outbox ?; store errors 4; config OK");
}
END_TEST

START_TEST(test_status_reload_failed_one_line)
{
	struct pd_daemon_stats st = stats(3, 0);
	char out[PD_SDNOTIFY_STATUS_MAX];

	pd_sdnotify_format_status(out, sizeof(out), 3, &st, 0,
				  "/etc/probed/probes.yaml:4:3: unknown key\n'colour'\r");
	ck_assert_str_eq(out, "reload FAILED: /etc/probed/probes.yaml:4:3: unknown key 'colour' ;"
			      " running previous config; 3 probes: 3 up, 0 down; open incidents 0;"
			      " outbox 0");
	ck_assert_ptr_null(strchr(out, '\n'));
	ck_assert_ptr_null(strstr(out, "config OK"));
}
END_TEST

START_TEST(test_status_draining)
{
	struct pd_daemon_stats st = stats(1, 0);
	char out[PD_SDNOTIFY_STATUS_MAX];

	st.draining = 1;
	st.inflight = 2;
	pd_sdnotify_format_status(out, sizeof(out), 1, &st, 0, NULL);
	ck_assert_str_eq(out, "shutting down: 2 transfers in flight; 1 probe: 1 up, 0 down;"
			      " open incidents 0; outbox 0; config OK");
}
END_TEST

START_TEST(test_status_truncates_safely)
{
	struct pd_daemon_stats st = stats(2, 1);
	char big[1000];
	char out[40];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(out, 'Z', sizeof(out));
	pd_sdnotify_format_status(out, sizeof(out), 3, &st, 0, big);
	ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
	ck_assert(strncmp(out, "reload FAILED: xxx", 18) == 0);
	/* a long reason is cut, the counts still fit in a normal-size buffer */
	{
		char full[PD_SDNOTIFY_STATUS_MAX];

		pd_sdnotify_format_status(full, sizeof(full), 3, &st, 0, big);
		ck_assert_ptr_nonnull(strstr(full, "; 3 probes: 2 up, 1 down;"));
	}
}
END_TEST

/* ---- a real NOTIFY_SOCKET ---- */

struct sock {
	int fd;
	char path[108];
	char dir[64];
};

static void
sock_open(struct sock *s)
{
	struct sockaddr_un sa;

	snprintf(s->dir, sizeof(s->dir), "/tmp/check_sdnotify.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/notify", s->dir);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s->fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", s->path, 1), 0);
}

static void
sock_close(struct sock *s)
{
	close(s->fd);
	unlink(s->path);
	rmdir(s->dir);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* Number of datagrams waiting that equal want (others are drained and ignored). */
static int
sock_count(struct sock *s, const char *want)
{
	char buf[1024];
	int n = 0;
	ssize_t r;

	while ((r = recv(s->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) >= 0) {
		buf[r] = '\0';
		if (strcmp(buf, want) == 0)
			n++;
	}
	ck_assert_int_eq(errno, EAGAIN);
	return n;
}

/* Reads datagrams while the loop runs (a unix datagram queue holds only ~10, and
 * sd_notify blocks when it is full) and counts the WATCHDOG=1 ones. */
struct reader {
	ev_io io;
	struct sock *s;
	int watchdogs;
};

static void
read_dgrams(EV_P_ ev_io *w, int revents)
{
	struct reader *rd = (struct reader *)w;

	(void)EV_A;
	(void)revents;
	rd->watchdogs += sock_count(rd->s, "WATCHDOG=1");
}

static void
stop_loop(EV_P_ ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(EV_A, EVBREAK_ALL);
}

START_TEST(test_watchdog_from_loop)
{
	struct sock s;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pd_sdnotify *sn;
	ev_timer stop;
	struct reader rd;
	char pid[32];

	sock_open(&s);
	setenv("WATCHDOG_USEC", "100000", 1); /* feed every 50 ms */
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	sn = pd_sdnotify_new(loop, 0);
	ck_assert_ptr_nonnull(sn);
	ck_assert_uint_eq(pd_sdnotify_watchdog_usec(sn), 100000);
	/* no daemon: READY=1 with an empty STATUS=, then the timers */
	pd_sdnotify_start(sn, NULL);
	ck_assert_int_eq(sock_count(&s, "WATCHDOG=1"), 1); /* the first feed, at start */
	/* while the loop does not run, nothing is fed */
	usleep(300000);
	ck_assert_int_eq(sock_count(&s, "WATCHDOG=1"), 0);
	ev_now_update(loop);
	ev_timer_init(&stop, stop_loop, 0.6, 0.);
	ev_timer_start(loop, &stop);
	rd.s = &s;
	rd.watchdogs = 0;
	ev_io_init(&rd.io, read_dgrams, s.fd, EV_READ);
	ev_io_start(loop, &rd.io);
	ev_run(loop, 0);
	ev_io_stop(loop, &rd.io);
	{
		int n = rd.watchdogs + sock_count(&s, "WATCHDOG=1");

		/* ~12 in 0.6 s at 50 ms; generous bounds for a loaded machine */
		ck_assert_int_ge(n, 5);
		ck_assert_int_le(n, 14);
	}
	pd_sdnotify_free(sn);
	ev_loop_destroy(loop);
	sock_close(&s);
}
END_TEST

START_TEST(test_watchdog_other_pid_is_off)
{
	struct sock s;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pd_sdnotify *sn;
	char pid[32];

	sock_open(&s);
	setenv("WATCHDOG_USEC", "100000", 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	sn = pd_sdnotify_new(loop, 0);
	ck_assert_uint_eq(pd_sdnotify_watchdog_usec(sn), 0);
	pd_sdnotify_start(sn, NULL);
	ck_assert_int_eq(sock_count(&s, "WATCHDOG=1"), 0);
	pd_sdnotify_free(sn);
	ev_loop_destroy(loop);
	sock_close(&s);
}
END_TEST

START_TEST(test_messages)
{
	struct sock s;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pd_sdnotify *sn;
	char buf[1024];
	ssize_t r;

	sock_open(&s);
	sn = pd_sdnotify_new(loop, 0);
	pd_sdnotify_start(sn, NULL);
	ck_assert_int_eq(sock_count(&s, "READY=1\nSTATUS="), 1);
	pd_sdnotify_reload(sn, 0, 1, "");
	r = recv(s.fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(r, 0);
	buf[r] = '\0';
	ck_assert(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	pd_sdnotify_reload(sn, 1, 1, "");
	ck_assert_int_eq(sock_count(&s, "READY=1\nSTATUS="), 1);
	pd_sdnotify_stopping(sn);
	pd_sdnotify_stopping(sn); /* once only */
	ck_assert_int_eq(sock_count(&s, "STOPPING=1\nSTATUS="), 1);
	pd_sdnotify_free(sn);
	pd_sdnotify_free(NULL);
	ev_loop_destroy(loop);
	sock_close(&s);
}
END_TEST

static Suite *
sdnotify_suite(void)
{
	Suite *s = suite_create("sdnotify");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_status_ok);
	tcase_add_test(tc, test_status_unknown_outbox_and_store_errors);
	tcase_add_test(tc, test_status_reload_failed_one_line);
	tcase_add_test(tc, test_status_draining);
	tcase_add_test(tc, test_status_truncates_safely);
	tcase_add_test(tc, test_watchdog_from_loop);
	tcase_add_test(tc, test_watchdog_other_pid_is_off);
	tcase_add_test(tc, test_messages);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(sdnotify_suite());
}
