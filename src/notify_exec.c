/* notify_exec.c — the `exec` target: run a command with the event as JSON on stdin.
 *
 *   spawn ──► writing stdin (ev_io, non-blocking) ──► stdin closed
 *     │                                                  │
 *     └──────────── waiting for exit ◄───────────────────┘
 *                     │ timeout: SIGTERM to the group ─► +2 s: SIGKILL
 *                     ▼
 *                   exited / killed ──► callback ──► freed
 *
 * posix_spawn, never a shell: argv comes straight from the config. The child runs in
 * its own process group (so a timeout also stops what a script started), with every
 * signal at its default and none blocked (probed ignores SIGPIPE and libev may block
 * signals; a child must not inherit either), stdout on /dev/null, stderr inherited
 * (into probed's log), and no descriptor above 2. Exit status: libev's default loop
 * reaps every child itself, so there we use an ev_child watcher; on any other loop a
 * pidfd in an ev_io (or, without pidfd support, a 50 ms waitpid poll). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probed/clock.h"
#include "probed/log.h"
#include "probed/notify.h"

extern char **environ;

#define EXEC_KILL_GRACE_S 2.0
#define EXEC_POLL_S 0.05

struct pd_exec {
	struct ev_loop *loop;
	pid_t pid;
	int pidfd; /* -1: ev_child (default loop) or polling */
	int wfd;   /* our end of the child's stdin; -1 once closed */
	char *input;
	size_t len, off;
	ev_io wio;      /* stdin writable */
	ev_io pio;      /* pidfd readable: the child exited */
	ev_child cw;    /* default loop */
	ev_timer poll;  /* no pidfd: waitpid(WNOHANG) every 50 ms */
	ev_timer timer; /* timeout, then the SIGKILL grace */
	int64_t start_ms, timeout_ms;
	int term_sent;
	pd_exec_done_fn fn;
	void *ud;
	struct pd_exec_result res;
};

static void
exec_close_stdin(struct pd_exec *x)
{
	if (x->wfd >= 0) {
		ev_io_stop(x->loop, &x->wio);
		close(x->wfd);
		x->wfd = -1;
	}
}

static void
exec_free(struct pd_exec *x)
{
	exec_close_stdin(x);
	ev_io_stop(x->loop, &x->pio);
	ev_child_stop(x->loop, &x->cw);
	ev_timer_stop(x->loop, &x->poll);
	ev_timer_stop(x->loop, &x->timer);
	if (x->pidfd >= 0)
		close(x->pidfd);
	if (x->input) {
		explicit_bzero(x->input, x->len);
		free(x->input);
	}
	free(x);
}

static void
exec_finish(struct pd_exec *x, int status)
{
	if (WIFEXITED(status)) {
		x->res.exited = 1;
		x->res.exit_status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		x->res.signaled = 1;
		x->res.signal = WTERMSIG(status);
	}
	x->res.elapsed_ms = pd_clock_mono_ms() - x->start_ms;
	x->pid = 0;
	if (x->fn)
		x->fn(x->ud, &x->res);
	exec_free(x);
}

static void
exec_on_child(EV_P_ ev_child *w, int revents)
{
	(void)EV_A;
	(void)revents;
	exec_finish(w->data, w->rstatus);
}

/* pidfd readable, or the poll timer: reap if it has exited. */
static void
exec_try_reap(struct pd_exec *x)
{
	int status = 0;
	pid_t r = waitpid(x->pid, &status, WNOHANG);

	if (r == x->pid) {
		exec_finish(x, status);
	} else if (r < 0 && errno != EINTR) {
		/* someone else reaped it: the status is lost; count it as a failure */
		pd_log_warn("exec: pid %d: %s", (int)x->pid, strerror(errno));
		exec_finish(x, 255 << 8);
	}
}

static void
exec_on_pidfd(EV_P_ ev_io *w, int revents)
{
	(void)EV_A;
	(void)revents;
	exec_try_reap(w->data);
}

static void
exec_on_poll(EV_P_ ev_timer *w, int revents)
{
	(void)EV_A;
	(void)revents;
	exec_try_reap(w->data);
}

static void
exec_on_timer(EV_P_ ev_timer *w, int revents)
{
	struct pd_exec *x = w->data;

	(void)revents;
	if (!x->term_sent) {
		x->term_sent = 1;
		x->res.timed_out = 1;
		kill(-x->pid, SIGTERM);
		ev_timer_set(&x->timer, EXEC_KILL_GRACE_S, 0.);
		ev_timer_start(EV_A, &x->timer);
		return;
	}
	kill(-x->pid, SIGKILL);
}

static void
exec_on_writable(EV_P_ ev_io *w, int revents)
{
	struct pd_exec *x = w->data;

	(void)EV_A;
	(void)revents;
	while (x->off < x->len) {
		ssize_t n = write(x->wfd, x->input + x->off, x->len - x->off);

		if (n > 0) {
			x->off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* EPIPE: the command does not read its stdin; its exit status decides */
		break;
	}
	exec_close_stdin(x);
}

/* Is this environment entry passed to a command? Only the basics a program needs: not
 * probed's secrets (a ${VAR} key), not CREDENTIALS_DIRECTORY, NOTIFY_SOCKET or
 * anything else of the service's. */
static int
exec_env_keep(const char *e)
{
	static const char *const keep[] = {"PATH=",   "HOME=", "LANG=",    "LANGUAGE=", "TZ=",
					   "TMPDIR=", "USER=", "LOGNAME=", "SHELL=",    NULL};

	if (strncmp(e, "LC_", 3) == 0)
		return 1;
	for (size_t i = 0; keep[i] != NULL; i++)
		if (strncmp(e, keep[i], strlen(keep[i])) == 0)
			return 1;
	return 0;
}

/* The allowed part of environ, then extra (PROBED_*). The array is malloc'd; strings
 * borrowed. */
static char **
exec_env(const char *const *extra)
{
	size_t n = 0, m = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	while (extra && extra[m])
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (exec_env_keep(environ[i]))
			env[k++] = environ[i];
	for (size_t j = 0; j < m; j++)
		env[k++] = (char *)extra[j];
	env[k] = NULL;
	return env;
}

struct pd_exec *
pd_notify_exec_start(struct ev_loop *loop, const struct pd_notify_cfg *t, const char *input,
		     size_t len, const char *const *env, pd_exec_done_fn fn, void *ud,
		     struct pd_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct pd_exec *x = NULL;
	sigset_t none, all;
	char **envp = NULL;
	int fds[2] = {-1, -1}, fa_ok = 0, attr_ok = 0, rc;
	pid_t pid;

	if (t->command == NULL || t->ncommand == 0 || t->command[0] == NULL) {
		pd_err_set(err, PD_ERR_CONFIG, "exec target %s has no command", t->name);
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL || (len > 0 && (x->input = malloc(len)) == NULL) ||
	    (envp = exec_env(env)) == NULL) {
		pd_err_set(err, PD_ERR_NOMEM, "out of memory");
		goto fail;
	}
	x->loop = loop;
	x->pidfd = -1;
	x->wfd = -1;
	if (len > 0)
		memcpy(x->input, input, len);
	x->len = len;
	x->fn = fn;
	x->ud = ud;
	x->timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 10000;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		pd_err_set(err, PD_ERR_IO, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK) != 0) {
		pd_err_set(err, PD_ERR_IO, "fcntl: %s", strerror(errno));
		goto fail;
	}
	if (posix_spawn_file_actions_init(&fa) != 0 || (fa_ok = 1, 0) ||
	    posix_spawn_file_actions_adddup2(&fa, fds[0], 0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0 ||
	    posix_spawn_file_actions_addclosefrom_np(&fa, 3) != 0 ||
	    posix_spawnattr_init(&attr) != 0 || (attr_ok = 1, 0)) {
		pd_err_set(err, PD_ERR_NOMEM, "posix_spawn setup failed");
		goto fail;
	}
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if (posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						    POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawnattr_setpgroup(&attr, 0) != 0 ||
	    posix_spawnattr_setsigmask(&attr, &none) != 0 ||
	    posix_spawnattr_setsigdefault(&attr, &all) != 0) {
		pd_err_set(err, PD_ERR_INVALID, "posix_spawn attributes failed");
		goto fail;
	}
	if (strchr(t->command[0], '/') != NULL)
		rc = posix_spawn(&pid, t->command[0], &fa, &attr, t->command, envp);
	else
		rc = posix_spawnp(&pid, t->command[0], &fa, &attr, t->command, envp);
	if (rc != 0) {
		pd_err_set(err, PD_ERR_IO, "cannot run %s: %s", t->command[0], strerror(rc));
		goto fail;
	}
	x->pid = pid;
	x->start_ms = pd_clock_mono_ms();
	close(fds[0]);
	fds[0] = -1;
	x->wfd = fds[1];
	fds[1] = -1;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);

	ev_io_init(&x->wio, exec_on_writable, x->wfd, EV_WRITE);
	x->wio.data = x;
	ev_io_init(&x->pio, exec_on_pidfd, -1, EV_READ);
	x->pio.data = x;
	ev_child_init(&x->cw, exec_on_child, pid, 0);
	x->cw.data = x;
	ev_timer_init(&x->poll, exec_on_poll, EXEC_POLL_S, EXEC_POLL_S);
	x->poll.data = x;
	ev_timer_init(&x->timer, exec_on_timer, (double)x->timeout_ms / 1000.0, 0.);
	x->timer.data = x;
	if (ev_is_default_loop(loop)) {
		ev_child_start(loop, &x->cw);
	} else {
		x->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (x->pidfd >= 0) {
			ev_io_set(&x->pio, x->pidfd, EV_READ);
			ev_io_start(loop, &x->pio);
		} else {
			ev_timer_start(loop, &x->poll);
		}
	}
	ev_timer_start(loop, &x->timer);
	if (x->len > 0)
		ev_io_start(loop, &x->wio);
	else
		exec_close_stdin(x);
	return x;
fail:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	free(envp);
	if (x) {
		free(x->input);
		free(x);
	}
	return NULL;
}

void
pd_notify_exec_cancel(struct pd_exec *x)
{
	int status;

	if (x == NULL)
		return;
	if (x->pid > 0) {
		kill(-x->pid, SIGKILL);
		/* on the default loop libev reaps it; elsewhere we must, or it stays a zombie */
		if (!ev_is_default_loop(x->loop))
			while (waitpid(x->pid, &status, 0) < 0 && errno == EINTR)
				;
	}
	exec_free(x);
}

enum pd_notify_verdict
pd_notify_exec_classify(const struct pd_exec_result *res)
{
	return res->exited && res->exit_status == 0 && !res->timed_out ? PD_NOTIFY_DELIVERED
								       : PD_NOTIFY_RETRY;
}

void
pd_notify_exec_describe(const struct pd_exec_result *res, char *out, size_t cap)
{
	if (res->timed_out)
		snprintf(out, cap, "timed out after %lld ms (%s %d)", (long long)res->elapsed_ms,
			 res->signaled ? "killed by signal" : "exit",
			 res->signaled ? res->signal : res->exit_status);
	else if (res->signaled)
		snprintf(out, cap, "killed by signal %d (%s)", res->signal, strsignal(res->signal));
	else
		snprintf(out, cap, "exit %d", res->exit_status);
}

/* The command gets the neutral event, exactly as stored. */
static int
exec_render(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
	    struct pd_err *err)
{
	(void)t;
	return pd_notify_render_event(event, body, "exec input", err);
}

/* command, required: argv, run without a shell. */
static const char *const exec_keys[] = {"command", NULL};

static int
exec_configure(struct pd_notify_conf *nc, struct pd_notify_cfg *t)
{
	if (!pd_config_notify_has(nc, "command")) {
		pd_config_notify_error(nc, NULL, "exec is missing required key 'command'");
		return -1;
	}
	t->command = pd_config_notify_list(nc, "command",
					   " (argv, run without a shell), e.g. "
					   "[/usr/local/bin/notify, --flag]",
					   &t->ncommand);
	if (t->command == NULL)
		return -1;
	if (t->ncommand > 0 && t->command[0][0] == '\0') {
		pd_config_notify_item_error(nc, "command", 0, "command: the program is empty");
		return -1;
	}
	return 0;
}

const struct pd_notify_ops pd_notify_exec_ops = {
	.type = PD_NOTIFY_EXEC,
	.name = "exec",
	.render = exec_render,
	.keys = exec_keys,
	.configure = exec_configure,
	.flags = PD_NOTIFY_F_NO_URL | PD_NOTIFY_F_COMMAND,
};
