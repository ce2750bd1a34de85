/* probectl.c — the CLI's main(): the command table, option parsing, help and usage
 * errors. The commands live in files grouped by what they read: probectl_config.c
 * (the configuration and files: validate, reload, check, schema, runbooks),
 * probectl_history.c (the results: status, history, slo), probectl_incidents.c (the
 * incidents: incidents, incident, postmortem, drill), probectl_outbox.c (the outbox
 * and silences: outbox, silence); what they share is in probectl_common.c and
 * probectl_int.h. Database handles are read-only but for `drill`, `outbox requeue` and
 * `silence add|expire`, which write; `reload` signals the daemon.
 *
 * Commands are a table {name, fn, help, ...}: each entry also says which options and how
 * many arguments it takes, so `probectl CMD --help` prints that command's own usage and
 * anything else is rejected (64) before the command runs. Exit codes: sysexits (64
 * usage, 78 config); `check` follows the Nagios plugin convention (0 OK, 1 WARNING,
 * 2 CRITICAL, 3 UNKNOWN), and with --nagios never leaves 0-3.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probed/config.h"
#include "probed/log.h"
#include "probectl_int.h"

/* options, as bits: what a command accepts (struct cmd.opts) and what was given */
enum {
	OPT_CONFIG = 1 << 0,
	OPT_DB = 1 << 1,
	OPT_SINCE = 1 << 2,
	OPT_JSON = 1 << 3,
	OPT_OPEN = 1 << 4,
	OPT_NAGIOS = 1 << 5,
	OPT_NO_SECRET_FILES = 1 << 6,
	OPT_PID = 1 << 7,
	OPT_PROBE = 1 << 8,
	OPT_FAMILY = 1 << 9,
	OPT_FOR = 1 << 10,
	OPT_REASON = 1 << 11,
};

/* ---------------------------------------------------------------------- main */

static int cmd_help(struct cli *c);

struct cmd {
	const char *name;
	int (*fn)(struct cli *c);
	const char *help;       /* one line of the command list */
	const char *synopsis;   /* after "usage: probectl " */
	unsigned opts;          /* OPT_* it accepts */
	int min_args, max_args; /* positional arguments; max -1 = any number */
	const char *usage;      /* the rest of `probectl help CMD`: what it does, exit codes */
};

#define HELP_CONFIG                                                                        \
	"  -c, --config FILE  the configuration (default: $PROBED_CONFIG when set, else\n" \
	"                     " DEFAULT_CONFIG ")\n"
#define HELP_DB "      --db FILE      the database to read\n"
#define HELP_DB_RULE                                                                         \
	"\nWhich database: --db FILE; else store.path of the configuration (-c FILE, else\n" \
	"$PROBED_CONFIG, else " DEFAULT_CONFIG "), of which only that key is read\n"         \
	"(an unset ${VAR} secret elsewhere does not matter); else, only when no\n"           \
	"configuration exists at the default place, " DEFAULT_DB ".\n"                       \
	"A configuration that cannot name its database is an error (78), never a reason\n"   \
	"to read another one.\n"
#define HELP_DB_EXIT                                                             \
	"  1   the query failed\n"                                               \
	"  3   the database cannot be opened (not there yet: has probed run?)\n" \
	"  64  bad arguments\n"                                                  \
	"  78  the configuration cannot be read to find store.path\n"

static const struct cmd commands[] = {
	{"validate", probectl_cmd_validate,
	 "validate [-c FILE]             check the config; 0 or 78 with FILE:LINE:COL",
	 "validate [-c FILE] [--no-secret-files]", OPT_CONFIG | OPT_NO_SECRET_FILES, 0, 0,
	 "Parse the configuration and check all of it, as probed does at start and reload:\n"
	 "keys, durations, URLs, JSON Schemas, ${VAR} and ${file:...} references.\n"
	 "\nOptions:\n" HELP_CONFIG
	 "      --no-secret-files  check each ${file:PATH} for syntax only, do not read it\n"
	 "\nExit status:\n"
	 "  0   valid: prints \"FILE: OK (N probes, M notify targets)\"\n"
	 "  64  bad arguments\n"
	 "  78  invalid: every error as FILE:LINE:COL: message on stderr, in file order\n"},
	{"reload", probectl_cmd_reload,
	 "reload [-c FILE] --pid PID     validate, then ask probed to reload (systemctl reload)",
	 "reload [-c FILE] --pid PID", OPT_CONFIG | OPT_PID, 0, 0,
	 "What `systemctl reload probed` runs (the unit's ExecReload=): validate the\n"
	 "configuration as `validate --no-secret-files` does (systemd 252 does not let reload\n"
	 "commands read the service's credentials), then send SIGHUP to PID. probed loads the\n"
	 "file again, secrets included, and keeps its running configuration when anything is\n"
	 "wrong (the reason goes to the journal and to STATUS=).\n"
	 "\nOptions:\n" HELP_CONFIG
	 "      --pid PID      the daemon's process id ($MAINPID in the unit)\n"
	 "\nExit status:\n"
	 "  0   valid, and the signal was sent\n"
	 "  1   the signal could not be sent\n"
	 "  64  bad arguments (no --pid)\n"
	 "  78  invalid: every error as FILE:LINE:COL: message on stderr; nothing sent\n"},
	{"check", probectl_cmd_check,
	 "check [-c FILE] [--json|--nagios] [NAME...]  probe now; 0 OK, 1 slow, 2 failed, 3 could not run",
	 "check [-c FILE] [--json | --nagios] [NAME...]", OPT_CONFIG | OPT_JSON | OPT_NAGIOS, 0, -1,
	 "Run the named probes (all of them without NAME) once, now, with the checks of the\n"
	 "configuration. Nothing is stored and nobody is paged. A probe is OK; WARNING\n"
	 "(SLOW in the table) when it answered correctly but slower than its\n"
	 "expect.max_latency; CRITICAL (FAIL) for any other failure.\n"
	 "\nOptions:\n" HELP_CONFIG
	 "      --json         one probed.check/1 JSON object instead of the table\n"
	 "      --nagios       a monitoring-plugins (Nagios, Icinga) plugin line:\n"
	 "                       PROBED OK - 3 probes ok | 'userid_latency'=0.212s;2.000;10.000;0 ...\n"
	 "                     perfdata per probe: NAME_latency in seconds (warning = its\n"
	 "                     max_latency, empty when unset; critical = its timeout) and\n"
	 "                     NAME_http_status (U: no answer); then one line per probe\n"
	 "\nExit status (the Nagios plugin convention):\n"
	 "  0   OK: every probe passed\n"
	 "  1   WARNING: some answered slower than max_latency, none failed otherwise\n"
	 "  2   CRITICAL: at least one probe failed\n"
	 "  3   UNKNOWN: could not run (for example an unknown NAME); with --nagios also a\n"
	 "      bad configuration (its FILE:LINE:COL on the output line) or bad arguments\n"
	 "  64  bad arguments (without --nagios)\n"
	 "  78  bad configuration (without --nagios; FILE:LINE:COL on stderr)\n"},
	{"status", probectl_cmd_status,
	 "status [--db FILE] [--json]    per probe: state, last result, last page and its delivery",
	 "status [-c FILE | --db FILE] [--json]", OPT_CONFIG | OPT_DB | OPT_JSON, 0, 0,
	 "Per probe, from probed's database: state (up, failing, down, recovering),\n"
	 "consecutive failures, the last run (age, HTTP status, latency, verdict) and the\n"
	 "last page with what became of it: delivered (every target accepted it), queued\n"
	 "(waiting for its first attempt), failing (attempts fail and are retried, or it\n"
	 "was dead-lettered), not sent (no target takes it).\n"
	 "\nOptions:\n" HELP_CONFIG HELP_DB
	 "      --json         one probed.status/1 JSON object instead of the table\n" HELP_DB_RULE
	 "\nExit status:\n"
	 "  0   printed\n" HELP_DB_EXIT},
	{"history", probectl_cmd_history,
	 "history NAME [--since 1h] [--db FILE] [--json]  results, p50/p95/p99, error rate",
	 "history NAME [--since DURATION] [-c FILE | --db FILE] [--json]",
	 OPT_CONFIG | OPT_DB | OPT_SINCE | OPT_JSON, 1, 1,
	 "The results of probe NAME over a window, oldest first, then a summary: count,\n"
	 "failures, error rate and the p50, p95 and p99 latency.\n"
	 "\nOptions:\n"
	 "      --since DURATION  the window: 30m, 1h (the default), 1m30s, 7d, ...\n" HELP_CONFIG
		 HELP_DB
	 "      --json         one probed.history/1 JSON object instead of the table\n" HELP_DB_RULE
	 "\nExit status:\n"
	 "  0   printed (also when the window is empty)\n" HELP_DB_EXIT},
	{"schema", probectl_cmd_schema,
	 "schema SCHEMA DOC              validate a JSON document; 0 valid, 1 invalid, 2 unreadable",
	 "schema SCHEMA DOC", 0, 2, 2,
	 "Validate the JSON document DOC against the JSON Schema (draft 7) SCHEMA, given as\n"
	 "JSON or YAML, the way expect.json is checked. Prints \"DOC: valid\" or one line\n"
	 "per violation, with its path and keyword. Either may be - for standard input.\n"
	 "\nExit status:\n"
	 "  0   valid\n"
	 "  1   invalid\n"
	 "  2   unreadable, not JSON, or a bad schema\n"
	 "  64  bad arguments\n"},
	{"incidents", probectl_cmd_incidents,
	 "incidents [--open] [--db FILE] [--json]  incidents, newest first, with their delivery",
	 "incidents [--open] [-c FILE | --db FILE] [--json]",
	 OPT_CONFIG | OPT_DB | OPT_OPEN | OPT_JSON, 0, 0,
	 "Incidents, newest first: id, severity (P1-P4), outage mode, UTC start, duration,\n"
	 "state, what became of its notifications (delivered, queued, failing, not sent)\n"
	 "and title.\n"
	 "\nOptions:\n"
	 "      --open         only the open ones\n" HELP_CONFIG HELP_DB
	 "      --json         one probed.incidents/1 JSON object instead of the table\n" HELP_DB_RULE
	 "\nExit status:\n"
	 "  0   printed\n" HELP_DB_EXIT},
	{"incident", probectl_cmd_incident,
	 "incident ID [--db FILE] [--json]  one incident: severity, mode, delivery per target, timeline",
	 "incident ID [-c FILE | --db FILE] [--json]", OPT_CONFIG | OPT_DB | OPT_JSON, 1, 1,
	 "One incident: severity, likely outage mode and its runbook, the evidence, the\n"
	 "probes involved, per notification target what became of the trigger and the\n"
	 "resolve (delivered at T; queued, next try at T; failing to deliver: N attempts,\n"
	 "last error; dead-lettered), the drafted status-page message and the timeline.\n"
	 "\nOptions:\n" HELP_CONFIG HELP_DB
	 "      --json         one probed.incident/1 JSON object instead of the text\n" HELP_DB_RULE
	 "\nExit status:\n"
	 "  0   printed\n"
	 "  1   no such incident, or the query failed\n"
	 "  3   the database cannot be opened (not there yet: has probed run?)\n"
	 "  64  bad arguments (ID is not a number)\n"
	 "  78  the configuration cannot be read to find store.path\n"},
	{"postmortem", probectl_cmd_postmortem,
	 "postmortem ID [--db FILE]      the blameless postmortem template, filled (Markdown)",
	 "postmortem ID [-c FILE] [--db FILE]", OPT_CONFIG | OPT_DB, 1, 1,
	 "The blameless postmortem template in Markdown, with Severity, Duration, Date, the\n"
	 "endpoints affected (from the configuration when it loads) and the Timeline filled\n"
	 "from the stored events; every other field is a prompt.\n"
	 "\nOptions:\n" HELP_CONFIG HELP_DB HELP_DB_RULE "\nExit status:\n"
	 "  0   printed\n"
	 "  1   no such incident, or the query failed\n"
	 "  3   the database cannot be opened\n"
	 "  64  bad arguments\n"
	 "  78  the configuration cannot be read to find store.path\n"},
	{"drill", probectl_cmd_drill,
	 "drill P1|P2|P3|P4 [-c FILE] [--db FILE]  send a clearly marked drill through the real routing",
	 "drill P1|P2|P3|P4 [-c FILE] [--db FILE]", OPT_CONFIG | OPT_DB, 1, 1,
	 "Record a drill incident of that severity and send it, marked as a drill, to the\n"
	 "targets the routing picks for it (the playbook's quarterly drill). What cannot be\n"
	 "delivered now stays queued for probed. Needs the whole configuration (the\n"
	 "targets and their secrets) and opens the database read-write (--db, else\n"
	 "store.path).\n"
	 "\nOptions:\n" HELP_CONFIG
	 "      --db FILE      the database to write (default: store.path)\n"
	 "\nExit status:\n"
	 "  0   queued (and the delivery counts printed)\n"
	 "  1   the database or the delivery machinery failed\n"
	 "  64  bad arguments\n"
	 "  78  bad configuration\n"},
	{"runbooks", probectl_cmd_runbooks,
	 "runbooks lint [DIR|FILE]       each runbook has Detect/Declare/Communicate/Mitigate/RCA",
	 "runbooks lint [DIR | FILE]", 0, 1, 2,
	 "Check that every runbook (each *.md but README.md) has the playbook's five\n"
	 "sections: Detect, Declare, Communicate, Mitigate, RCA. The default directory is\n" DEFAULT_RUNBOOKS
	 " when it exists, else ./runbooks.\n"
	 "\nExit status:\n"
	 "  0   every runbook complete\n"
	 "  1   problems (listed, one per line)\n"
	 "  2   unreadable\n"
	 "  64  bad arguments\n"},
	{"outbox", probectl_cmd_outbox,
	 "outbox [requeue ID|all] [--json]  undelivered notifications; re-queue dead letters",
	 "outbox [requeue ID | requeue all] [-c FILE | --db FILE] [--json]",
	 OPT_CONFIG | OPT_DB | OPT_JSON, 0, 2,
	 "The notifications not delivered yet, oldest first: pending (retrying: attempts,\n"
	 "next try, last error) and dead-lettered (rejected by the receiver, e.g. a 4xx, and\n"
	 "never retried on their own). `requeue ID` (or `requeue all`) puts dead letters back\n"
	 "in the queue, due now with their attempts reset: fix the target first. probed sends\n"
	 "them within a minute, in order per target (a re-queued trigger goes before newer\n"
	 "rows of its target).\n"
	 "\nOptions:\n" HELP_CONFIG HELP_DB
	 "      --json         {\"format\": \"probed.outbox/1\", \"database\", \"pending\",\n"
	 "                     \"dead_lettered\", \"rows\": [{id, state, target, event,\n"
	 "                     dedup_key, created, next_attempt, attempts, last_error}]}\n"
	 "\nExit status:\n"
	 "  0   listed, or re-queued\n"
	 "  1   nothing to re-queue, or a database error\n"
	 "  3   no database\n"
	 "  64  bad arguments\n"},
	{"silence", probectl_cmd_silence,
	 "silence add|list|expire        hold a probe's or family's pages (maintenance)",
	 "silence add (--probe NAME | --family NAME) [--for DURATION] --reason TEXT\n"
	 "       probectl silence list [-c FILE | --db FILE] [--json]\n"
	 "       probectl silence expire ID [-c FILE | --db FILE]",
	 OPT_CONFIG | OPT_DB | OPT_JSON | OPT_PROBE | OPT_FAMILY | OPT_FOR | OPT_REASON, 1, 2,
	 "An ad-hoc maintenance window, kept in the database: the running probed picks it up\n"
	 "within seconds, without a reload. While a probe is silenced it is still probed and\n"
	 "recorded; its pages are held (logged, on the incident timeline, \"maintenance\" on\n"
	 "the status page). A failure still present when the silence ends pages at once; a\n"
	 "recovery inside it closes the incident quietly (nothing is sent). Windows planned\n"
	 "ahead go in the configuration (maintenance:, see probed.yaml(5)).\n"
	 "  add      prints the new silence's id on stdout (what it did on stderr)\n"
	 "  list     the silences in force, oldest first\n"
	 "  expire   end silence ID now\n"
	 "\nOptions:\n" HELP_CONFIG HELP_DB "      --probe NAME   silence one probe\n"
	 "      --family NAME  silence every probe of a family\n"
	 "      --for DURATION how long (default 1h, at most 30d): 30m, 2h, 1d\n"
	 "      --reason TEXT  why (required): what the on-call reads\n"
	 "      --json         list: {\"format\": \"probed.silence/1\", \"database\",\n"
	 "                     \"silences\": [{id, probe, family, reason, created, until}]}\n" HELP_DB_RULE
	 "\nExit status:\n"
	 "  0   added (the id printed), listed, or expired\n"
	 "  1   no such silence in force, or a database error\n"
	 "  3   list: no database\n"
	 "  64  bad arguments (also: a probe or family the configuration does not name)\n"
	 "  78  the configuration cannot be read to find store.path\n"},
	{"slo", probectl_cmd_slo,
	 "slo [-c FILE] [--db FILE] [--json]  per SLO: SLI, error budget left, burn rates, alert",
	 "slo [-c FILE] [--db FILE] [--json]", OPT_CONFIG | OPT_DB | OPT_JSON, 0, 0,
	 "Per objective of the configuration's `slo:` (family or probe): the objective and\n"
	 "its period, the SLI over the period (share of results OK), the error budget left\n"
	 "(100% = untouched, 0 = spent, negative = overspent), when the rest is gone at the\n"
	 "1h burn rate, the burn rate of every rule window (1 = the budget lasts exactly the\n"
	 "period) and the severity of the burn-rate rule that fires now (- = none).\n"
	 "The objectives come from the configuration (secret files are not read), the counts\n"
	 "from the database.\n"
	 "\nOptions:\n" HELP_CONFIG HELP_DB
	 "      --json         {\"format\": \"probed.slo/1\", \"database\", \"rules\": [{burn_rate,\n"
	 "                     long, short, severity}], \"objectives\": [{name, family|probe,\n"
	 "                     sli_kind (availability|latency), under, objective, over,\n"
	 "                     results, failures, sli, budget_remaining,\n"
	 "                     budget_minutes, exhaustion_seconds, burn_rates: {WINDOW: x},\n"
	 "                     alert, alert_rule}]}\n" HELP_DB_RULE "\nExit status:\n"
	 "  0   printed\n" HELP_DB_EXIT},
	{"help", cmd_help, "help [COMMAND]                 this list, or one command's usage",
	 "help [COMMAND]", 0, 0, 1,
	 "The command list, or the usage of COMMAND (the same as probectl COMMAND --help).\n"
	 "\nExit status:\n"
	 "  0   printed\n"
	 "  64  unknown command\n"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cmd *
cmd_find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
help_list(FILE *f)
{
	fprintf(f, "usage: probectl COMMAND [options] [arguments]\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].help);
	fprintf(f,
		"\nOptions (each command takes those its usage lists):\n"
		"  -c, --config FILE  the configuration (default: $PROBED_CONFIG when set, else\n"
		"                     " DEFAULT_CONFIG ")\n"
		"      --db FILE      the database (default: store.path of the configuration)\n"
		"      --json         versioned JSON (\"format\": \"probed.COMMAND/1\"; unknown values\n"
		"                     are null): check, status, history, incidents, incident,\n"
		"                     outbox, silence\n"
		"      --nagios       check: a monitoring-plugins line, exit 0-3\n"
		"  -h, --help         this list; with a command, its usage (options, exit codes)\n"
		"  -V, --version      print the version\n"
		"\n'probectl help COMMAND' or 'probectl COMMAND --help' for one command.\n"
		"Bad arguments exit 64. See probectl(1).\n");
}

static void
help_cmd(const struct cmd *cmd)
{
	printf("usage: probectl %s\n\n%s", cmd->synopsis, cmd->usage);
}

static int
cmd_help(struct cli *c)
{
	const struct cmd *cmd;

	if (c->argc == 0) {
		help_list(stdout);
		return 0;
	}
	if ((cmd = cmd_find(c->argv[0])) == NULL) {
		fprintf(stderr, "probectl: unknown command '%s' (see 'probectl help')\n",
			c->argv[0]);
		return EX_USAGE;
	}
	help_cmd(cmd);
	return 0;
}

/* A usage error: 64 with the message and a pointer to the command's usage; with
 * --nagios (check) the plugin's UNKNOWN line and 3 instead. */
int
probectl_usage_error(const struct cli *c, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->nagios && (c->cmd == NULL || c->cmd->fn == probectl_cmd_check)) {
		char line[700];

		snprintf(line, sizeof(line), "probectl: %s", msg);
		return probectl_nagios_unknown(line, NULL);
	}
	if (c->cmd != NULL)
		fprintf(stderr, "probectl: %s\nusage: probectl %s  (see 'probectl help %s')\n", msg,
			c->cmd->synopsis, c->cmd->name);
	else
		fprintf(stderr, "probectl: %s (see 'probectl help')\n", msg);
	return EX_USAGE;
}

static const struct {
	unsigned bit;
	const char *name;
} opt_names[] = {
	{OPT_CONFIG, "-c/--config"},
	{OPT_DB, "--db"},
	{OPT_SINCE, "--since"},
	{OPT_JSON, "--json"},
	{OPT_OPEN, "--open"},
	{OPT_NAGIOS, "--nagios"},
	{OPT_NO_SECRET_FILES, "--no-secret-files"},
	{OPT_PID, "--pid"},
	{OPT_PROBE, "--probe"},
	{OPT_FAMILY, "--family"},
	{OPT_FOR, "--for"},
	{OPT_REASON, "--reason"},
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"db", required_argument, NULL, 'd'},
		{"since", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"open", no_argument, NULL, 'o'},
		{"no-secret-files", no_argument, NULL, 'S'},
		{"pid", required_argument, NULL, 'P'},
		{"probe", required_argument, NULL, 'p'},
		{"family", required_argument, NULL, 'f'},
		{"for", required_argument, NULL, 'F'},
		{"reason", required_argument, NULL, 'r'},
		{"nagios", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cli c = {0};
	char bad[300] = "";
	unsigned given = 0;
	int opt, help = 0, version = 0;

	/* `probectl history x | head`: a closed pipe is a write error, not a signal death */
	signal(SIGPIPE, SIG_IGN);
	pd_log_set_level(PD_LOG_WARN);
	c.config = getenv("PROBED_CONFIG");
	if (c.config != NULL && c.config[0] != '\0') {
		c.config_src = "PROBED_CONFIG";
	} else {
		c.config = DEFAULT_CONFIG;
	}
	/* options may come before or after the command (GNU getopt permutes); the first
	 * problem is reported once the command is known, in its terms */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			c.config = optarg;
			c.config_src = "-c";
			given |= OPT_CONFIG;
			break;
		case 'd':
			c.db = optarg;
			given |= OPT_DB;
			break;
		case 's':
			c.since = optarg;
			given |= OPT_SINCE;
			break;
		case 'j':
			c.json = 1;
			given |= OPT_JSON;
			break;
		case 'o':
			c.open_only = 1;
			given |= OPT_OPEN;
			break;
		case 'n':
			c.nagios = 1;
			given |= OPT_NAGIOS;
			break;
		case 'S':
			c.load_flags |= PD_CONFIG_NO_SECRET_FILES;
			given |= OPT_NO_SECRET_FILES;
			break;
		case 'P':
			c.pid = optarg;
			given |= OPT_PID;
			break;
		case 'p':
			c.probe = optarg;
			given |= OPT_PROBE;
			break;
		case 'f':
			c.family = optarg;
			given |= OPT_FAMILY;
			break;
		case 'F':
			c.for_ = optarg;
			given |= OPT_FOR;
			break;
		case 'r':
			c.reason = optarg;
			given |= OPT_REASON;
			break;
		case 'h':
			help = 1;
			break;
		case 'V':
			version = 1;
			break;
		case ':':
			if (bad[0] == '\0')
				snprintf(bad, sizeof(bad), "option '%s' needs an argument",
					 argv[optind - 1]);
			break;
		default:
			if (bad[0] == '\0') {
				if (optopt != 0)
					snprintf(bad, sizeof(bad), "unknown option '-%c'", optopt);
				else
					snprintf(bad, sizeof(bad), "unknown option '%s'",
						 argv[optind - 1]);
			}
			break;
		}
	}
	c.argc = argc - optind;
	c.argv = argv + optind;
	if (c.argc > 0) {
		c.cmd = cmd_find(c.argv[0]);
		if (c.cmd == NULL)
			return probectl_usage_error(&c, "unknown command '%s'", c.argv[0]);
		c.argc--;
		c.argv++;
	}
	if (bad[0] != '\0')
		return probectl_usage_error(&c, "%s", bad);
	if (version) {
		printf("probectl %s\n", PROBED_VERSION);
		return 0;
	}
	if (c.cmd == NULL) {
		help_list(help ? stdout : stderr);
		return help ? 0 : EX_USAGE;
	}
	if (help) {
		help_cmd(c.cmd);
		return 0;
	}
	for (size_t i = 0; i < sizeof(opt_names) / sizeof(opt_names[0]); i++)
		if ((given & opt_names[i].bit) && !(c.cmd->opts & opt_names[i].bit))
			return probectl_usage_error(&c, "%s does not take %s", c.cmd->name,
						    opt_names[i].name);
	if (c.json && c.nagios)
		return probectl_usage_error(&c, "--json and --nagios exclude each other");
	if (c.argc < c.cmd->min_args)
		return probectl_usage_error(&c, "%s needs %d argument%s", c.cmd->name,
					    c.cmd->min_args, c.cmd->min_args == 1 ? "" : "s");
	if (c.cmd->max_args >= 0 && c.argc > c.cmd->max_args)
		return probectl_usage_error(&c, "unexpected argument '%s'",
					    c.argv[c.cmd->max_args]);
	return c.cmd->fn(&c);
}
