/* config_int.h — what the files of the config module (src/config*.c) share and nothing
 * else may see: the load context, the limits more than one file checks, and the helpers
 * one file defines for the others. The public API is include/probed/config.h. */
#ifndef PROBED_CONFIG_INT_H
#define PROBED_CONFIG_INT_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include <yaml.h>
#include "probed/config.h"

#define CFG_SHOW_MAX 80                /* longest value quoted in a message */
#define CFG_DEF_TIMEOUT_MS (10 * 1000) /* probes and notify targets */

struct pd_buf;

struct cfg_msg {
	size_t line, col, seq;
	char *text;
};

/* Where the key of one member of a converted JSON object was written, so a message about
 * the member (an unknown JSON Schema keyword) can point at it. */
struct cfg_jmark {
	const cJSON *item;
	const yaml_node_t *key;
};

/* a name and where it stands, for sorting names stably (duplicate names, duplicate keys) */
struct cfg_named {
	const char *name;
	size_t idx;
};

struct cfg_ctx {
	yaml_document_t doc;
	struct cfg_strs *strs; /* the text of doc's scalars (config_yaml.c) */
	const char *file;
	struct cfg_msg *msgs;
	size_t nmsgs, capmsgs;
	size_t json_nodes; /* of the expect.json being converted */
	size_t json_total; /* of every expect.json so far */
	int json_overflow;
	struct cfg_jmark *jmarks; /* of the expect.json being converted */
	size_t njmarks, capjmarks;
	unsigned char *jreported; /* per YAML node: an unknown keyword was reported */
	int nomem;
	unsigned flags; /* PD_CONFIG_* load flags */
};

/* ---- config_yaml.c: messages, memory, nodes, YAML -> cJSON ---- */
/* A message at line:col (1-based) or at node n (NULL: 1:1); the load goes on. */
void pd_config_verror_at(struct cfg_ctx *c, size_t line, size_t col, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
void pd_config_error_at(struct cfg_ctx *c, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void pd_config_error(struct cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int pd_config_msg_cmp(const void *a, const void *b);   /* qsort: by position, then order */
int pd_config_named_cmp(const void *a, const void *b); /* qsort of struct cfg_named */
const char *pd_config_show(const char *s, size_t len, char *out, size_t cap);
const char *pd_config_raw(const yaml_node_t *n);
const char *pd_config_disp(const yaml_node_t *n, const char *expanded, int secret, char *out,
			   size_t cap);
/* strdup/calloc that set c->nomem on failure */
char *pd_config_strdup(struct cfg_ctx *c, const char *s);
void *pd_config_calloc(struct cfg_ctx *c, size_t n, size_t size);
yaml_node_t *pd_config_node(struct cfg_ctx *c, int idx);
int pd_config_is_null(const yaml_node_t *n);
int pd_config_map(struct cfg_ctx *c, yaml_node_t *n, const char *what, const char *const names[],
		  yaml_node_t *vals[], yaml_node_t *keys[]);
int pd_config_seq(struct cfg_ctx *c, yaml_node_t *n, const char *what, yaml_node_item_t **start,
		  size_t *count);
int pd_config_yaml_number(const char *s, double *out);
int pd_config_yaml_bool(const char *s, int *b);
int pd_config_jmark_cmp(const void *a, const void *b);
void pd_config_json_lint(void *ud, const cJSON *key, const char *pointer, const char *msg);
cJSON *pd_config_json(struct cfg_ctx *c, yaml_node_t *n, int depth);
void pd_config_syntax_error(struct cfg_ctx *c, yaml_parser_t *parser, const char *yaml, size_t len);
/* Free the document of pd_config_parse (its default tags are shared, its scalars' text
 * packed in c->strs). */
void pd_config_doc_delete(struct cfg_ctx *c);
yaml_node_t *pd_config_parse(struct cfg_ctx *c, const char *yaml, size_t len, const char *empty,
			     const char *multi, int *have_doc);

/* ---- config_expand.c: ${VAR}, ${file:/path}, $$ ---- */
/* The expansion of scalar n (a new string), or NULL after reporting the error(s);
 * *secret is set when any ${...} was present. */
char *pd_config_expand(struct cfg_ctx *c, yaml_node_t *n, const char *what, int *secret);
/* Append the whole of path to out (at most max bytes): 0, -1 with *errnum, or -2 when
 * regular_only and it is not a regular file. */
int pd_config_read_file(const char *path, int regular_only, size_t max, struct pd_buf *out,
			int *errnum);

/* ---- config_units.c: typed values (0 / a value, or -1 / NULL after an error at n) ---- */
/* A scalar, expanded; not registered as a secret (the caller decides). */
char *pd_config_scalar(struct cfg_ctx *c, yaml_node_t *n, const char *what, int *secret);
/* A free-form string: expanded, and registered as a secret when it used ${...}. */
char *pd_config_string(struct cfg_ctx *c, yaml_node_t *n, const char *what, int *secret);
int pd_config_duration(struct cfg_ctx *c, yaml_node_t *n, const char *what, int64_t min_ms,
		       int64_t *out);
int pd_config_int(struct cfg_ctx *c, yaml_node_t *n, const char *what, int lo, int hi, int *out);
int pd_config_size(struct cfg_ctx *c, yaml_node_t *n, const char *what, size_t *out);
int pd_config_number(struct cfg_ctx *c, yaml_node_t *n, const char *what, double lo, double hi,
		     double *out);
/* the index in words[] (NULL-terminated) */
int pd_config_enum(struct cfg_ctx *c, yaml_node_t *n, const char *what, const char *const words[],
		   const char *expect);
char *pd_config_name(struct cfg_ctx *c, yaml_node_t *n, const char *what);
char *pd_config_method(struct cfg_ctx *c, yaml_node_t *n);
/* schemes: a target's own ("smtp,smtps"), NULL = http or https */
int pd_config_url_of(struct cfg_ctx *c, yaml_node_t *n, const char *what, const char *schemes,
		     char **url, char **display, int *secret);
int pd_config_url(struct cfg_ctx *c, yaml_node_t *n, const char *what, char **url, char **display,
		  int *secret);
int pd_config_headers(struct cfg_ctx *c, yaml_node_t *n, struct pd_header **out, size_t *nout);
int pd_config_headers_merge(struct cfg_ctx *c, const struct pd_header *base, size_t nbase,
			    const struct pd_header *over, size_t nover, struct pd_header **out,
			    size_t *nout);
int64_t pd_config_time_of_day(const char *s); /* ms after midnight, -1 when invalid */
void pd_config_unique(struct cfg_ctx *c, const char *what, char *const names[],
		      yaml_node_t *const nodes[], size_t n);
/* Item i of a list of named things read from n; returns its name (owned by the item). */
typedef char *(*pd_config_item_fn)(struct cfg_ctx *c, yaml_node_t *n, size_t i, void *ud,
				   yaml_node_t **name_node);
void pd_config_named(struct cfg_ctx *c, yaml_node_item_t *items, size_t cnt, const char *what,
		     pd_config_item_fn read, void *ud, size_t *count);
void pd_config_token_line(struct cfg_ctx *c, const yaml_node_t *n, const char *what, const char *v);

/* ---- config_notify.c: the notify: list ---- */
void pd_config_read_notify(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg);

/* ---- config_sections.c: http, classify, heartbeat, maintenance, runbooks, slo ---- */
void pd_config_classify_defaults(struct pd_config *cfg);
void pd_config_read_http(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg);
void pd_config_read_classify(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg);
void pd_config_read_heartbeat(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg);
void pd_config_read_maintenance(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg);
void pd_config_read_runbooks(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg);
void pd_config_read_slo(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg);

/* ---- config.c: the schema of probes.yaml ---- */
/* Where a key that is unknown in the mapping `what` belongs instead, or NULL. */
const char *pd_config_key_elsewhere(const char *what, const char *key);
/* "P1", "P2", "P3", "P4", NULL: probes, notify severities and slo rules read one */
extern const char *const pd_config_severity_words[];

#endif
