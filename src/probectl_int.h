/* probectl_int.h — what the files of probectl (src/probectl*.c) share and nothing else
 * may see: the parsed command line, the exit codes, the JSON output helpers, which
 * database to read, the delivery state of a page, and each file's commands. */
#ifndef PROBED_PROBECTL_INT_H
#define PROBED_PROBECTL_INT_H
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "probed/config.h"
#include "probed/result.h"
#include "probed/store.h"

#define EX_USAGE 64
#define EX_CONFIG 78
#define NAGIOS_OK 0
#define NAGIOS_WARNING 1
#define NAGIOS_CRITICAL 2
#define NAGIOS_UNKNOWN 3

#define DEFAULT_CONFIG "/etc/probed/probes.yaml"
#define DEFAULT_DB "/var/lib/probed/probed.db"
#define MAX_DELIVERIES 64

#define DEFAULT_RUNBOOKS "/usr/share/probed/runbooks"

struct cmd;

struct cli {
	const struct cmd *cmd;
	const char *config;
	const char *config_src; /* "-c", "PROBED_CONFIG", or NULL: the default */
	const char *db;
	const char *since;
	int json;
	int nagios;
	int open_only;
	unsigned load_flags;                        /* PD_CONFIG_* (validate --no-secret-files) */
	const char *pid;                            /* reload --pid */
	const char *probe, *family, *for_, *reason; /* silence add */
	int argc;
	char **argv; /* positional arguments after the command */
};

struct dbsel {
	char *path;
	char why[600]; /* where the path came from, for error messages */
};

/* What became of the notifications of one dedup key, per target (store.h). */
struct page {
	char key[128];
	int64_t incident_id;
	struct pd_delivery d[MAX_DELIVERIES];
	size_t n;
};

struct nagios_diag; /* probectl_config.c */

/* probectl_common.c */
int probectl_load_config(const struct cli *c, struct pd_config **cfg);
cJSON *probectl_json_doc(const char *format);
void probectl_json_ts(cJSON *o, const char *key, int64_t ms);
void probectl_json_num(cJSON *o, const char *key, double v, int known);
void probectl_json_str(cJSON *o, const char *key, const char *s);
void probectl_result_fields(cJSON *o, const struct pd_result *r);
cJSON *probectl_result_json(const char *name, const struct pd_result *r);
void probectl_print_json(cJSON *o);
int probectl_db_select(const struct cli *c, struct dbsel *sel);
/* Open the database at path for a write (drill, outbox requeue, silences): waits up to
 * 5 s for the daemon's batch to commit instead of STORE_BUSY_MS. */
int probectl_store_open_rw(const char *path, struct pd_store **st, struct pd_err *err);
int probectl_open_store(const struct cli *c, struct pd_store **st, struct dbsel *sel);
int probectl_page_load(struct pd_store *st, const char *key, int64_t incident_id,
		       const char *notified, struct page *pg, struct pd_err *err);
int64_t probectl_page_newest(const struct page *pg);
const char *probectl_page_summary(const struct page *pg);
cJSON *probectl_page_json(const struct page *pg);
void probectl_fmt_age(int64_t now, int64_t then, char *out, size_t cap);

/* probectl.c */
int probectl_usage_error(const struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* probectl_config.c: commands that read the configuration and files */
int probectl_cmd_validate(struct cli *c);
int probectl_cmd_reload(struct cli *c);
int probectl_cmd_check(struct cli *c);
int probectl_cmd_schema(struct cli *c);
int probectl_cmd_runbooks(struct cli *c);
int probectl_nagios_unknown(const char *first, const struct nagios_diag *more);

/* probectl_history.c: commands that read the results */
int probectl_cmd_status(struct cli *c);
int probectl_cmd_history(struct cli *c);
int probectl_cmd_slo(struct cli *c);

/* probectl_incidents.c: commands that read (drill: write) the incidents */
int probectl_cmd_incidents(struct cli *c);
int probectl_cmd_incident(struct cli *c);
int probectl_cmd_postmortem(struct cli *c);
int probectl_cmd_drill(struct cli *c);

/* probectl_outbox.c: commands on the undelivered notifications and the silences */
int probectl_cmd_outbox(struct cli *c);
int probectl_cmd_silence(struct cli *c);

#endif
