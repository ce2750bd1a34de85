/* probed.c — main() of the daemon: options, config, then the loop. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ev.h>
#include "probed/config.h"
#include "probed/daemon.h"
#include "probed/httpd.h"
#include "probed/log.h"
#include "probed/sdnotify.h"

#define EX_USAGE 64
#define EX_SOFTWARE 70
#define EX_CONFIG 78

#define DEFAULT_CONFIG "/etc/probed/probes.yaml"

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: probed [-c FILE] [--db FILE] [-v] [--journald]\n"
		"       probed -h | --help | -V | --version\n"
		"  -c, --config FILE   probes.yaml (default: $PROBED_CONFIG when set,\n"
		"                      else " DEFAULT_CONFIG ")\n"
		"      --db FILE       SQLite database (overrides store.path)\n"
		"  -v, --verbose       debug logging\n"
		"      --journald      journald priority prefixes instead of timestamps\n"
		"                      (automatic when JOURNAL_STREAM is set)\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n"
		"Runs in the foreground. SIGHUP reloads the config, SIGTERM drains and exits 0.\n"
		"Exit status: 0 stopped by SIGTERM; 64 bad arguments; 70 internal error;\n"
		"78 bad configuration (every error as FILE:LINE:COL on stderr).\n");
}

/* ---- daemon hooks (sd_notify; other listeners may add their calls here) ---- */
struct main_hooks {
	struct pd_sdnotify *sdnotify;
};

static void
main_on_reload(void *ud, int phase, int ok, const char *msg)
{
	struct main_hooks *h = ud;

	pd_sdnotify_reload(h->sdnotify, phase, ok, msg);
}

static void
main_on_shutdown(void *ud)
{
	struct main_hooks *h = ud;

	pd_sdnotify_stopping(h->sdnotify);
}
/* ---- end daemon hooks ---- */

static void
print_diag(void *ud, const char *line)
{
	(void)ud;
	fprintf(stderr, "%s\n", line);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"db", required_argument, NULL, 'd'},
		{"verbose", no_argument, NULL, 'v'},
		{"journald", no_argument, NULL, 'j'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pd_daemon_opts opts = {0};
	struct main_hooks hooks = {0};
	struct pd_config *cfg = NULL;
	struct pd_daemon *d;
	struct pd_httpd *httpd = NULL;
	struct pd_err err = {0};
	struct ev_loop *loop;
	int c, rc;

	/* -c wins over $PROBED_CONFIG, which wins over the default (as for probectl) */
	opts.config_path = getenv("PROBED_CONFIG");
	if (opts.config_path == NULL || opts.config_path[0] == '\0')
		opts.config_path = DEFAULT_CONFIG;
	if (getenv("JOURNAL_STREAM") != NULL)
		pd_log_set_journald(1);
	while ((c = getopt_long(argc, argv, "c:vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 'd':
			opts.db_path = optarg;
			break;
		case 'v':
			pd_log_set_level(PD_LOG_DEBUG);
			break;
		case 'j':
			pd_log_set_journald(1);
			break;
		case 'V':
			printf("probed %s\n", PROBED_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "probed: see 'probed --help'\n");
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr,
			"probed: unexpected argument '%s' (probed takes only options; "
			"see 'probed --help')\n",
			argv[optind]);
		return EX_USAGE;
	}
	rc = pd_config_load(opts.config_path, &cfg, &err, print_diag, NULL);
	if (rc != 0) {
		if (rc != PD_ERR_CONFIG)
			fprintf(stderr, "%s\n", err.msg);
		return EX_CONFIG;
	}
	loop = ev_default_loop(EVFLAG_AUTO);
	/* sd_notify: a no-op without NOTIFY_SOCKET */
	hooks.sdnotify = pd_sdnotify_new(loop, 5.0);
	if (hooks.sdnotify == NULL) {
		pd_config_free(cfg);
		pd_log_err("cannot start: out of memory");
		return EX_SOFTWARE;
	}
	opts.on_reload = main_on_reload;
	opts.on_shutdown = main_on_shutdown;
	opts.hook_ud = &hooks;
	d = pd_daemon_new(loop, cfg, &opts, &err);
	if (d == NULL) {
		pd_sdnotify_free(hooks.sdnotify);
		pd_log_err("cannot start: %s", err.msg);
		return err.code == PD_ERR_CONFIG ? EX_CONFIG : EX_SOFTWARE;
	}
	pd_log_info("probed %s started (pid %d)", PROBED_VERSION, (int)getpid());
	/* ---- HTTP listener: /metrics, status page; off without http.listen ---- */
	if (pd_daemon_config(d)->http_listen != NULL) {
		httpd = pd_httpd_new(d, pd_daemon_config(d)->http_listen, &err);
		if (httpd == NULL) {
			pd_log_err("cannot start: %s", err.msg);
			pd_sdnotify_free(hooks.sdnotify);
			pd_daemon_free(d);
			ev_loop_destroy(loop);
			return err.code == PD_ERR_INVALID ? EX_CONFIG : EX_SOFTWARE;
		}
	}
	/* ---- end HTTP listener ---- */
	pd_sdnotify_start(hooks.sdnotify, d); /* READY=1: config loaded, database open */
	rc = pd_daemon_run(d);
	pd_httpd_free(httpd); /* before the daemon it borrows */
	pd_sdnotify_free(hooks.sdnotify);
	pd_daemon_free(d);
	pd_log_info("probed stopped");
	ev_loop_destroy(loop);
	return rc == 0 ? 0 : EX_SOFTWARE;
}
