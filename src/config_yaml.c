/* config_yaml.c — the loader's side of libyaml: the messages of a load (FILE:LINE:COL at
 * a node, sorted by position), allocation that records out-of-memory instead of failing,
 * walking mappings against a list of known keys (with a did-you-mean) and sequences,
 * YAML syntax errors in words that say what to fix, the parse of one document
 * (pd_config_parse: libyaml's events composed straight into a lean document, with the
 * nesting check on the way), and the conversion of YAML to cJSON (YAML 1.2 core schema scalars,
 * node caps against alias expansion, the position of every object key for the JSON
 * Schema lint), also offered whole as pd_config_yaml_to_json.
 *
 * Scalar typing follows the YAML 1.2 core schema (plain 1, 1.5, true, null, ~ are typed;
 * quoted scalars are strings; no YAML 1.1 yes/no/on/off). The libyaml document API gives
 * an untagged plain scalar and an explicit `!!str` plain scalar the same tag, so write
 * `"5"` (quoted), not `!!str 5`, for a string that looks like a number.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "probed/buf.h"
#include "probed/config.h"
#include "probed/jsonschema.h"
#include "config_int.h"

#define CFG_MAX_JSON_NODES 100000        /* bounds alias ("billion laughs") expansion */
#define CFG_MAX_JSON_NODES_TOTAL 1000000 /* the same, over every expect.json of a file */
/* YAML nesting: expect.json may nest PD_SCHEMA_MAX_DEPTH levels below probes[i].expect */
#define CFG_MAX_DEPTH (PD_SCHEMA_MAX_DEPTH + 8)

/* ---------------------------------------------------------------- errors */

void
pd_config_verror_at(struct cfg_ctx *c, size_t line, size_t col, const char *fmt, va_list ap)
{
	char msg[768];
	char *text = NULL;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (pd_buf_grow(&c->msgs, &c->capmsgs, c->nmsgs + 1, sizeof(*c->msgs)) != 0) {
		c->nomem = 1;
		return;
	}
	if (asprintf(&text, "%s:%zu:%zu: %s", c->file, line, col, msg) < 0) {
		c->nomem = 1;
		return;
	}
	c->msgs[c->nmsgs].line = line;
	c->msgs[c->nmsgs].col = col;
	c->msgs[c->nmsgs].seq = c->nmsgs;
	c->msgs[c->nmsgs].text = text;
	c->nmsgs++;
}

void
pd_config_error_at(struct cfg_ctx *c, size_t line, size_t col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pd_config_verror_at(c, line, col, fmt, ap);
	va_end(ap);
}

/* libyaml marks are 0-based; messages are 1-based. */
void
pd_config_error(struct cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	size_t line = n ? n->start_mark.line + 1 : 1;
	size_t col = n ? n->start_mark.column + 1 : 1;

	va_start(ap, fmt);
	pd_config_verror_at(c, line, col, fmt, ap);
	va_end(ap);
}

int
pd_config_msg_cmp(const void *a, const void *b)
{
	const struct cfg_msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Quote a value for a message: control characters become '?', long text is cut. */
const char *
pd_config_show(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 4 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (o >= CFG_SHOW_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		out[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	out[o] = '\0';
	return out;
}

const char *
pd_config_raw(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* What a message may quote for a scalar: the expansion when it is not secret, the text as
 * written otherwise (which at worst names a variable or a file, never its contents). */
const char *
pd_config_disp(const yaml_node_t *n, const char *expanded, int secret, char *out, size_t cap)
{
	if (secret || expanded == NULL)
		return pd_config_show(pd_config_raw(n), n->data.scalar.length, out, cap);
	return pd_config_show(expanded, strlen(expanded), out, cap);
}

/* ---------------------------------------------------------------- memory */

char *
pd_config_strdup(struct cfg_ctx *c, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		c->nomem = 1;
	return d;
}

void *
pd_config_calloc(struct cfg_ctx *c, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL)
		c->nomem = 1;
	return p;
}

/* ---------------------------------------------------------------- node helpers */

yaml_node_t *
pd_config_node(struct cfg_ctx *c, int idx)
{
	return yaml_document_get_node(&c->doc, idx);
}

int
pd_config_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n == NULL)
		return 1;
	if (n->type != YAML_SCALAR_NODE)
		return 0;
	if (strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
		return 1;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    strcmp((const char *)n->tag, YAML_STR_TAG) != 0)
		return 0;
	v = pd_config_raw(n);
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* "unknown key 'X'" and what to write instead: the nearest key of names[] (a typo), the
 * section where X belongs (a key one level off), or else the keys that are valid here. */
static void
cfg_unknown_key(struct cfg_ctx *c, yaml_node_t *k, const char *what, const char *const names[])
{
	char show[CFG_SHOW_MAX + 8], list[512];
	const char *key = pd_config_raw(k), *near, *where;
	size_t o = 0;

	pd_config_show(key, k->data.scalar.length, show, sizeof(show));
	if ((near = pd_err_nearest(key, names)) != NULL) {
		pd_config_error(c, k, "unknown key '%s' (did you mean '%s'?)", show, near);
		return;
	}
	if ((where = pd_config_key_elsewhere(what, key)) != NULL) {
		pd_config_error(c, k, "unknown key '%s' here (it goes %s)", show, where);
		return;
	}
	list[0] = '\0';
	for (size_t i = 0; names[i] != NULL && o < sizeof(list); i++) {
		int n = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", names[i]);

		if (n < 0)
			break;
		o += (size_t)n;
	}
	pd_config_error(c, k, "unknown key '%s' (expected one of: %s)", show, list);
}

/*
 * Sort the pairs of mapping n into vals[]/keys[] by the position of their key in
 * names[] (NULL-terminated). Unknown, duplicate and non-string keys are errors.
 * Returns 0 when n is a mapping (or null: an empty section), -1 otherwise.
 */
int
pd_config_map(struct cfg_ctx *c, yaml_node_t *n, const char *what, const char *const names[],
	      yaml_node_t *vals[], yaml_node_t *keys[])
{
	for (size_t i = 0; names[i] != NULL; i++)
		vals[i] = keys[i] = NULL;
	if (n != NULL && n->type == YAML_SCALAR_NODE && pd_config_is_null(n))
		return 0;
	if (n == NULL || n->type != YAML_MAPPING_NODE) {
		pd_config_error(c, n, "%s: expected a mapping", what);
		return -1;
	}
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = pd_config_node(c, pr->key);
		yaml_node_t *v = pd_config_node(c, pr->value);
		size_t i;

		if (k == NULL || k->type != YAML_SCALAR_NODE) {
			pd_config_error(c, k, "%s: keys must be strings", what);
			continue;
		}
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(names[i], pd_config_raw(k)) == 0)
				break;
		if (names[i] == NULL) {
			cfg_unknown_key(c, k, what, names);
			continue;
		}
		if (keys[i] != NULL) {
			pd_config_error(c, k, "duplicate key '%s' (first defined at %zu:%zu)",
					names[i], keys[i]->start_mark.line + 1,
					keys[i]->start_mark.column + 1);
			continue;
		}
		keys[i] = k;
		vals[i] = v;
	}
	return 0;
}

/* Sequence items of n (null = empty list). Returns -1 (after an error) when n is not a list. */
int
pd_config_seq(struct cfg_ctx *c, yaml_node_t *n, const char *what, yaml_node_item_t **start,
	      size_t *count)
{
	*start = NULL;
	*count = 0;
	if (n != NULL && pd_config_is_null(n))
		return 0;
	if (n == NULL || n->type != YAML_SEQUENCE_NODE) {
		pd_config_error(c, n, "%s: expected a list", what);
		return -1;
	}
	*start = n->data.sequence.items.start;
	*count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	return 0;
}

/* ---------------------------------------------------------------- YAML -> cJSON */

static int
cfg_match_digits(const char **p, const char *digits)
{
	const char *s = *p;

	while (**p != '\0' && strchr(digits, **p) != NULL)
		(*p)++;
	return *p > s;
}

/* YAML 1.2 core schema number: 1 = int/float written in s, 0 = not a number. */
int
pd_config_yaml_number(const char *s, double *out)
{
	static const char dec[] = "0123456789";
	const char *p = s;
	char *end;

	if (strncmp(s, "0o", 2) == 0 && s[2] != '\0') {
		p = s + 2;
		if (!cfg_match_digits(&p, "01234567") || *p != '\0')
			return 0;
		*out = (double)strtoull(s + 2, NULL, 8);
		return 1;
	}
	if (strncmp(s, "0x", 2) == 0 && s[2] != '\0') {
		p = s + 2;
		if (!cfg_match_digits(&p, "0123456789abcdefABCDEF") || *p != '\0')
			return 0;
		*out = (double)strtoull(s + 2, NULL, 16);
		return 1;
	}
	/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	if (*p == '-' || *p == '+')
		p++;
	if (*p == '.') {
		p++;
		if (!cfg_match_digits(&p, dec))
			return 0;
	} else {
		if (!cfg_match_digits(&p, dec))
			return 0;
		if (*p == '.') {
			p++;
			cfg_match_digits(&p, dec);
		}
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!cfg_match_digits(&p, dec))
			return 0;
	}
	if (*p != '\0')
		return 0;
	*out = strtod(s, &end);
	return 1;
}

static int
cfg_yaml_special_float(const char *s)
{
	static const char *const words[] = {
		".inf",  ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
		"-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",  NULL,
	};

	for (size_t i = 0; words[i] != NULL; i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return 0;
}

int
pd_config_yaml_bool(const char *s, int *b)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
		*b = 1;
		return 1;
	}
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
		*b = 0;
		return 1;
	}
	return 0;
}

static cJSON *
cfg_json_scalar(struct cfg_ctx *c, yaml_node_t *n)
{
	char show[CFG_SHOW_MAX + 8];
	const char *tag = (const char *)n->tag;
	const char *v = pd_config_raw(n);
	int plain_str = 0, b;
	double d;
	cJSON *j = NULL;

	if (memchr(v, '\0', n->data.scalar.length) != NULL) {
		pd_config_error(c, n, "json: value contains a NUL character");
		return NULL;
	}
	if (strcmp(tag, YAML_STR_TAG) == 0) {
		if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return cJSON_CreateString(v);
		plain_str = 1;
	}
	if ((plain_str || strcmp(tag, YAML_NULL_TAG) == 0) && pd_config_is_null(n))
		j = cJSON_CreateNull();
	else if ((plain_str || strcmp(tag, YAML_BOOL_TAG) == 0) && pd_config_yaml_bool(v, &b))
		j = cJSON_CreateBool(b);
	else if ((plain_str || strcmp(tag, YAML_FLOAT_TAG) == 0) && cfg_yaml_special_float(v))
		pd_config_error(c, n, "json: '%s' (infinity/NaN) cannot be represented in JSON", v);
	else if ((plain_str || strcmp(tag, YAML_INT_TAG) == 0 ||
		  strcmp(tag, YAML_FLOAT_TAG) == 0) &&
		 pd_config_yaml_number(v, &d)) {
		if (!isfinite(d)) /* 1e999 */
			pd_config_error(c, n, "json: number '%s' is out of range",
					pd_config_show(v, strlen(v), show, sizeof(show)));
		else
			j = cJSON_CreateNumber(d);
	} else if (plain_str)
		j = cJSON_CreateString(v);
	else
		pd_config_error(c, n, "json: cannot use '%s' with tag %s",
				pd_config_show(v, strlen(v), show, sizeof(show)), tag);
	return j;
}

static void
cfg_json_mark(struct cfg_ctx *c, const cJSON *item, const yaml_node_t *key)
{
	if (pd_buf_grow(&c->jmarks, &c->capjmarks, c->njmarks + 1, sizeof(*c->jmarks)) != 0) {
		c->nomem = 1;
		return;
	}
	c->jmarks[c->njmarks].item = item;
	c->jmarks[c->njmarks].key = key;
	c->njmarks++;
}

int
pd_config_jmark_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct cfg_jmark *)a)->item;
	uintptr_t y = (uintptr_t)((const struct cfg_jmark *)b)->item;

	return x < y ? -1 : x > y;
}

/* pd_jsonschema_lint callback: the message at the key as written in the file (c->jmarks
 * sorted by item). An aliased mapping converts to several objects; its key is
 * reported once. */
void
pd_config_json_lint(void *ud, const cJSON *key, const char *pointer, const char *msg)
{
	struct cfg_ctx *c = ud;
	struct cfg_jmark want = {key, NULL};
	const struct cfg_jmark *m;
	size_t idx;

	(void)pointer;
	m = c->njmarks
		    ? bsearch(&want, c->jmarks, c->njmarks, sizeof(*c->jmarks), pd_config_jmark_cmp)
		    : NULL;
	if (m == NULL) { /* cannot happen: every object member was marked */
		pd_config_error_at(c, 1, 1, "json: %s", msg);
		return;
	}
	idx = (size_t)(m->key - c->doc.nodes.start);
	if (c->jreported != NULL) {
		if (c->jreported[idx])
			return;
		c->jreported[idx] = 1;
	}
	pd_config_error(c, m->key, "json: %s", msg);
}

/* dup[i] = 1 for each pair of mapping n whose (scalar) key an earlier pair has, as
 * cJSON compares keys (C strings). Sorting, not a lookup per key: a mapping of 100,000
 * keys took 13 s with cJSON_GetObjectItemCaseSensitive. -1 when out of memory. */
static int
cfg_json_dups(struct cfg_ctx *c, yaml_node_t *n, unsigned char *dup)
{
	size_t np = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start), m = 0;
	struct cfg_named *keys;

	if (np < 2)
		return 0;
	if ((keys = calloc(np, sizeof(*keys))) == NULL)
		return -1;
	for (size_t i = 0; i < np; i++) {
		yaml_node_t *k = pd_config_node(c, n->data.mapping.pairs.start[i].key);

		if (k->type == YAML_SCALAR_NODE) {
			keys[m].name = pd_config_raw(k);
			keys[m++].idx = i;
		}
	}
	qsort(keys, m, sizeof(*keys), pd_config_named_cmp);
	for (size_t i = 1; i < m; i++)
		if (strcmp(keys[i].name, keys[i - 1].name) == 0)
			dup[keys[i].idx] = 1;
	free(keys);
	return 0;
}

/* Convert node n to cJSON. NULL after reporting an error (or on out-of-memory). */
cJSON *
pd_config_json(struct cfg_ctx *c, yaml_node_t *n, int depth)
{
	cJSON *j = NULL;
	unsigned char *dup = NULL;
	int bad = 0;

	if (c->json_overflow)
		return NULL;
	if (++c->json_nodes > CFG_MAX_JSON_NODES) {
		c->json_overflow = 1;
		pd_config_error(c, n, "json: more than %d nodes (recursive or exploding aliases?)",
				CFG_MAX_JSON_NODES);
		return NULL;
	}
	/* per file too: 400 probes aliasing one 81,000-node anchor built 32 million nodes
	 * (2.6 GB) from 29 KB of YAML */
	if (++c->json_total > CFG_MAX_JSON_NODES_TOTAL) {
		c->json_overflow = 1;
		pd_config_error(c, n,
				"json: more than %d nodes in all the expect.json of this file "
				"(aliases expanded)",
				CFG_MAX_JSON_NODES_TOTAL);
		return NULL;
	}
	if (depth > PD_SCHEMA_MAX_DEPTH) {
		c->json_overflow = 1;
		pd_config_error(c, n, "json: nested deeper than %d levels", PD_SCHEMA_MAX_DEPTH);
		return NULL;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE: {
		size_t before = c->nmsgs;

		j = cfg_json_scalar(c, n);
		if (j == NULL && c->nmsgs == before)
			c->nomem = 1;
		return j;
	}
	case YAML_SEQUENCE_NODE:
		if ((j = cJSON_CreateArray()) == NULL)
			break;
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			cJSON *e = pd_config_json(c, pd_config_node(c, *it), depth + 1);

			if (e == NULL) {
				bad = 1;
			} else if (!cJSON_AddItemToArray(j, e)) {
				cJSON_Delete(e);
				bad = c->nomem = 1;
			}
		}
		break;
	case YAML_MAPPING_NODE:
		if ((j = cJSON_CreateObject()) == NULL)
			break;
		dup = calloc((size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start) + 1,
			     1);
		if (dup == NULL || cfg_json_dups(c, n, dup) != 0) {
			bad = c->nomem = 1;
			break;
		}
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
		     pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = pd_config_node(c, pr->key);
			char show[CFG_SHOW_MAX + 8];
			cJSON *e;

			if (k->type != YAML_SCALAR_NODE) {
				pd_config_error(c, k, "json: object keys must be strings");
				bad = 1;
				continue;
			}
			if (dup[pr - n->data.mapping.pairs.start]) {
				pd_config_error(c, k, "json: duplicate key '%s'",
						pd_config_show(pd_config_raw(k),
							       k->data.scalar.length, show,
							       sizeof(show)));
				bad = 1;
				continue;
			}
			e = pd_config_json(c, pd_config_node(c, pr->value), depth + 1);
			if (e == NULL) {
				bad = 1;
			} else if (!cJSON_AddItemToObject(j, pd_config_raw(k), e)) {
				cJSON_Delete(e);
				bad = c->nomem = 1;
			} else {
				cfg_json_mark(c, e, k);
			}
		}
		break;
	default:
		pd_config_error(c, n, "json: unsupported node");
		return NULL;
	}
	free(dup);
	if (j == NULL)
		c->nomem = 1;
	if (bad) {
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

/* ---------------------------------------------------------------- syntax errors, nesting */

/* Line/col of a byte offset (reader errors carry only the offset). */
static void
cfg_offset_pos(const char *s, size_t len, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* Byte offset of the start of the line holding offset off. */
static size_t
cfg_line_start(const char *s, size_t off)
{
	while (off > 0 && s[off - 1] != '\n')
		off--;
	return off;
}

/* The line before the one starting at ls that holds more than blanks and a comment;
 * its start in *start, its length (no newline) returned; 0 when there is none. */
static size_t
cfg_prev_line(const char *s, size_t ls, size_t *start)
{
	while (ls > 0) {
		size_t e = ls - 1, b = cfg_line_start(s, e), i = b;

		while (i < e && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i < e && s[i] != '#') {
			*start = b;
			return e - b;
		}
		ls = b;
	}
	return 0;
}

/* The "name:a" that YAML reads as one word: the line's first ':', when a key stands
 * before it and no blank after it (not "url: http://..", not "- http://.."). -1 if not. */
static long
cfg_colon_nospace(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n && (s[i] == ' ' || s[i] == '-'))
		i++;
	for (k = i; k < n && s[k] != ':'; k++)
		if (!((s[k] >= 'A' && s[k] <= 'Z') || (s[k] >= 'a' && s[k] <= 'z') ||
		      (s[k] >= '0' && s[k] <= '9') || s[k] == '_' || s[k] == '-' || s[k] == '.'))
			return -1;
	if (k == i || k + 1 >= n || s[k + 1] == ' ' || s[k + 1] == '\t' ||
	    (k + 2 < n && s[k + 1] == '/' && s[k + 2] == '/'))
		return -1;
	return (long)k;
}

/*
 * A libyaml error in words that say what to fix: tabs, indentation, a ':'
 * without a space, a value with ': ' in it, an unclosed quote. libyaml's own words
 * follow in parentheses (they are what a web search finds); anything not recognised
 * is reported in libyaml's words alone.
 */
void
pd_config_syntax_error(struct cfg_ctx *c, yaml_parser_t *parser, const char *yaml, size_t len)
{
	const char *problem = parser->problem ? parser->problem : "cannot parse";
	const char *ctx = parser->context;
	size_t line, col, off = parser->problem_mark.index, ls, ps = 0, pn;
	char raw[256];
	long colon;

	if (parser->error == YAML_READER_ERROR) {
		cfg_offset_pos(yaml, len, parser->problem_offset, &line, &col);
		pd_config_error_at(c, line, col, "YAML: %s", problem);
		return;
	}
	line = parser->problem_mark.line + 1;
	col = parser->problem_mark.column + 1;
	if (ctx != NULL)
		snprintf(raw, sizeof(raw), "YAML: %s, %s at %zu:%zu", problem, ctx,
			 parser->context_mark.line + 1, parser->context_mark.column + 1);
	else
		snprintf(raw, sizeof(raw), "YAML: %s", problem);
	if (off > len)
		off = len;
	ls = cfg_line_start(yaml, off);

	if (strstr(problem, "tab character") != NULL ||
	    (strcmp(problem, "found character that cannot start any token") == 0 && off < len &&
	     yaml[off] == '\t')) {
		/* point at the tab itself (libyaml may point at the line's start) */
		for (size_t i = ls; i < len && yaml[i] != '\n'; i++) {
			if (yaml[i] == '\t') {
				cfg_offset_pos(yaml, len, i, &line, &col);
				break;
			}
		}
		pd_config_error_at(c, line, col,
				   "a tab character: YAML indentation must use spaces");
		return;
	}
	if (strcmp(problem, "found character that cannot start any token") == 0 && off < len &&
	    (yaml[off] == '@' || yaml[off] == '`')) {
		pd_config_error_at(c, line, col,
				   "'%c' cannot start a value: put the value in quotes "
				   "(%s)",
				   yaml[off], raw);
		return;
	}
	if (strcmp(problem, "mapping values are not allowed in this context") == 0) {
		/* "name: a: b": a ': ' inside a value on this very line */
		for (size_t i = ls; i + 1 < off; i++) {
			if (yaml[i] == ':' && (yaml[i + 1] == ' ' || yaml[i + 1] == '\t')) {
				pd_config_error_at(
					c, line, col,
					"a value that contains ': ' must be quoted "
					"(or start the next key on a line of its own) (%s)",
					raw);
				return;
			}
		}
		/* "name:a" on the line above: one word, so this line continues it */
		pn = cfg_prev_line(yaml, ls, &ps);
		colon = pn ? cfg_colon_nospace(yaml + ps, pn) : -1;
		if (colon >= 0) {
			cfg_offset_pos(yaml, len, ps + (size_t)colon, &line, &col);
			pd_config_error_at(c, line, col,
					   "a ':' needs a space after it ('key: value', not "
					   "'key:value') (%s)",
					   raw);
			return;
		}
		for (off = ls; off < len && yaml[off] == ' '; off++)
			;
		cfg_offset_pos(yaml, len, off, &line, &col);
		pd_config_error_at(c, line, col,
				   "bad indentation: this line is indented more than the "
				   "key above it, so it reads as part of that key's value (%s)",
				   raw);
		return;
	}
	if (strcmp(problem, "did not find expected key") == 0 ||
	    strcmp(problem, "did not find expected '-' indicator") == 0) {
		if (problem[23] == '-')
			pd_config_error_at(
				c, line, col,
				"bad indentation: inside a list, a line must start "
				"a new item ('- ') or line up with the keys of the item above "
				"it (%s)",
				raw);
		else
			pd_config_error_at(c, line, col,
					   "bad indentation: this line is indented "
					   "differently from the keys above it (%s)",
					   raw);
		return;
	}
	if (strcmp(problem, "could not find expected ':'") == 0 && ctx != NULL &&
	    strcmp(ctx, "while scanning a simple key") == 0) {
		pd_config_error_at(
			c, parser->context_mark.line + 1, parser->context_mark.column + 1,
			"expected 'key: value': the ':' is missing, or has no space after it "
			"(%s)",
			raw);
		return;
	}
	if (strcmp(problem, "found unexpected end of stream") == 0 && ctx != NULL &&
	    strcmp(ctx, "while scanning a quoted scalar") == 0) {
		pd_config_error_at(
			c, parser->context_mark.line + 1, parser->context_mark.column + 1,
			"this quoted value is never closed: its closing quote is missing "
			"(%s)",
			raw);
		return;
	}
	if (ctx != NULL)
		pd_config_error_at(c, line, col, "YAML: %s (%s at %zu:%zu)", problem, ctx,
				   parser->context_mark.line + 1, parser->context_mark.column + 1);
	else
		pd_config_error_at(c, line, col, "YAML: %s", problem);
}

/*
 * The composer: the events of a document straight into c->doc, instead of
 * yaml_parser_load. It builds what yaml_parser_load builds (the same nodes in the same
 * order, aliases as shared nodes, the same composer errors), only leaner, which matters at
 * 10,000 probes (a 2 MB file, 280,000 nodes): the default tags are not copied into every
 * node (a static string each; pd_config_doc_delete knows them), and a sequence or mapping
 * gets an array of exactly its items instead of libyaml's 16 to start with. Together that
 * was 14 MB of a load's 79 MB peak.
 *
 * libyaml's scanner is quadratic in the flow nesting depth (each token walks the stack
 * of possible simple keys, one per level): 200 KB of '[' took 47 s in
 * yaml_parser_load, 500 KB of "{a: " more than a minute. So the depth is counted as the
 * events come, and a document nested deeper than CFG_MAX_DEPTH is refused a few tokens
 * past that depth, wherever in the stream it is, unless a syntax error comes first.
 */
static yaml_char_t cfg_tag_str[] = YAML_DEFAULT_SCALAR_TAG;
static yaml_char_t cfg_tag_seq[] = YAML_DEFAULT_SEQUENCE_TAG;
static yaml_char_t cfg_tag_map[] = YAML_DEFAULT_MAPPING_TAG;

struct cfg_anchor {
	yaml_char_t *name;
	int index;
	yaml_mark_t mark;
};

struct cfg_open {
	int index;   /* the node being built */
	size_t base; /* where its items start in kids */
};

/* The scalars' text, packed: a malloc of libyaml's per scalar (16 bytes or more, plus
 * malloc's own) was twice what the text of a typical key or value needs. */
struct cfg_strs {
	struct cfg_strs *next;
	size_t used, cap;
	char text[];
};

#define CFG_STRS_CHUNK (64 * 1024)

static yaml_char_t *
cfg_strs_copy(struct cfg_strs **head, const yaml_char_t *s, size_t len)
{
	struct cfg_strs *a = *head;
	char *d;

	if (a == NULL || a->cap - a->used < len + 1) {
		size_t cap = len + 1 > CFG_STRS_CHUNK / 4 ? len + 1 : CFG_STRS_CHUNK;

		if (len >= SIZE_MAX - sizeof(*a) - 1 || (a = malloc(sizeof(*a) + cap)) == NULL)
			return NULL;
		a->used = 0;
		a->cap = cap;
		if (cap == CFG_STRS_CHUNK || *head == NULL) {
			a->next = *head;
			*head = a;
		} else { /* a big one alone: the chunk being filled stays first */
			a->next = (*head)->next;
			(*head)->next = a;
		}
	}
	d = a->text + a->used;
	memcpy(d, s, len);
	d[len] = '\0';
	a->used += len + 1;
	return (yaml_char_t *)d;
}

struct cfg_comp {
	yaml_document_t *doc; /* NULL: events only counted for the depth */
	struct cfg_strs **strs;
	struct cfg_open *open;
	size_t nopen, capopen;
	int *kids; /* items of the open nodes, innermost last */
	size_t nkids, capkids;
	struct cfg_anchor *anchors;
	size_t nanchors, capanchors;
	size_t nnodes, capnodes;
	int depth;
};

static void
cfg_doc_free(yaml_document_t *doc)
{
	for (yaml_node_t *n = doc->nodes.start; n != NULL && n < doc->nodes.top; n++) {
		if (n->tag != cfg_tag_str && n->tag != cfg_tag_seq && n->tag != cfg_tag_map)
			free(n->tag);
		if (n->type == YAML_SEQUENCE_NODE)
			free(n->data.sequence.items.start);
		else if (n->type == YAML_MAPPING_NODE)
			free(n->data.mapping.pairs.start);
	}
	free(doc->nodes.start);
	memset(doc, 0, sizeof(*doc));
}

void
pd_config_doc_delete(struct cfg_ctx *c)
{
	cfg_doc_free(&c->doc);
	while (c->strs != NULL) {
		struct cfg_strs *next = c->strs->next;

		free(c->strs);
		c->strs = next;
	}
}

static void
cfg_comp_free(struct cfg_comp *k)
{
	for (size_t i = 0; i < k->nanchors; i++)
		free(k->anchors[i].name);
	free(k->anchors);
	free(k->open);
	free(k->kids);
	memset(k, 0, sizeof(*k));
}

/* The composer errors of libyaml's loader, in its words, for pd_config_syntax_error. */
static int
cfg_comp_error(yaml_parser_t *parser, const char *context, yaml_mark_t cmark, const char *problem,
	       yaml_mark_t pmark)
{
	parser->error = YAML_COMPOSER_ERROR;
	parser->context = context;
	parser->context_mark = cmark;
	parser->problem = problem;
	parser->problem_mark = pmark;
	return -1;
}

/* Add node index to the innermost open node (none: it is the root). -1 out of memory. */
static int
cfg_comp_add(struct cfg_comp *k, int index)
{
	if (k->nopen == 0)
		return 0;
	if (pd_buf_grow(&k->kids, &k->capkids, k->nkids + 1, sizeof(*k->kids)) != 0)
		return -1;
	k->kids[k->nkids++] = index;
	return 0;
}

/* A new node from event ev (its tag, value and anchor taken from ev). Returns its index,
 * 0 after a composer error, -1 out of memory. */
static int
cfg_comp_node(struct cfg_comp *k, yaml_parser_t *parser, yaml_event_t *ev)
{
	yaml_node_t *n;
	yaml_char_t **tag, **anchor, *deftag;
	int index;

	if (ev->type == YAML_SCALAR_EVENT) {
		tag = &ev->data.scalar.tag;
		anchor = &ev->data.scalar.anchor;
		deftag = cfg_tag_str;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		tag = &ev->data.sequence_start.tag;
		anchor = &ev->data.sequence_start.anchor;
		deftag = cfg_tag_seq;
	} else {
		tag = &ev->data.mapping_start.tag;
		anchor = &ev->data.mapping_start.anchor;
		deftag = cfg_tag_map;
	}
	if (k->nnodes >= INT_MAX - 1 || pd_buf_grow(&k->doc->nodes.start, &k->capnodes,
						    k->nnodes + 1, sizeof(yaml_node_t)) != 0)
		return -1;
	n = &k->doc->nodes.start[k->nnodes];
	memset(n, 0, sizeof(*n));
	k->nnodes++;
	k->doc->nodes.top = k->doc->nodes.start + k->nnodes;
	k->doc->nodes.end = k->doc->nodes.start + k->capnodes;
	index = (int)k->nnodes;
	if (*tag == NULL || strcmp((const char *)*tag, "!") == 0) {
		n->tag = deftag;
	} else {
		n->tag = *tag;
		*tag = NULL;
	}
	n->start_mark = ev->start_mark;
	n->end_mark = ev->end_mark;
	if (ev->type == YAML_SCALAR_EVENT) {
		n->type = YAML_SCALAR_NODE;
		n->data.scalar.value =
			cfg_strs_copy(k->strs, ev->data.scalar.value, ev->data.scalar.length);
		if (n->data.scalar.value == NULL)
			return -1;
		n->data.scalar.length = ev->data.scalar.length;
		n->data.scalar.style = ev->data.scalar.style;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		n->type = YAML_SEQUENCE_NODE;
		n->data.sequence.style = ev->data.sequence_start.style;
	} else {
		n->type = YAML_MAPPING_NODE;
		n->data.mapping.style = ev->data.mapping_start.style;
	}
	if (*anchor != NULL) {
		for (size_t i = 0; i < k->nanchors; i++)
			if (strcmp((const char *)k->anchors[i].name, (const char *)*anchor) == 0) {
				cfg_comp_error(parser, "found duplicate anchor; first occurrence",
					       k->anchors[i].mark, "second occurrence",
					       n->start_mark);
				return 0;
			}
		if (pd_buf_grow(&k->anchors, &k->capanchors, k->nanchors + 1,
				sizeof(*k->anchors)) != 0)
			return -1;
		k->anchors[k->nanchors].name = *anchor;
		k->anchors[k->nanchors].index = index;
		k->anchors[k->nanchors++].mark = n->start_mark;
		*anchor = NULL;
	}
	if (cfg_comp_add(k, index) != 0)
		return -1;
	return index;
}

/* Close the innermost open node: its items into an array of their own. -1 out of memory. */
static int
cfg_comp_close(struct cfg_comp *k, const yaml_event_t *ev)
{
	struct cfg_open *o = &k->open[--k->nopen];
	yaml_node_t *n = &k->doc->nodes.start[o->index - 1];
	size_t cnt = k->nkids - o->base;
	const int *it = k->kids + o->base;

	n->end_mark = ev->end_mark;
	k->nkids = o->base;
	if (cnt == 0)
		return 0;
	if (n->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *a = malloc(cnt * sizeof(*a));

		if (a == NULL)
			return -1;
		memcpy(a, it, cnt * sizeof(*a));
		n->data.sequence.items.start = a;
		n->data.sequence.items.top = n->data.sequence.items.end = a + cnt;
	} else { /* a mapping: the parser gives every key a value (empty when missing) */
		yaml_node_pair_t *a = malloc((cnt / 2) * sizeof(*a));

		if (a == NULL)
			return -1;
		for (size_t i = 0; i + 1 < cnt; i += 2) {
			a[i / 2].key = it[i];
			a[i / 2].value = it[i + 1];
		}
		n->data.mapping.pairs.start = a;
		n->data.mapping.pairs.top = n->data.mapping.pairs.end = a + cnt / 2;
	}
	return 0;
}

/* One node event (start, end, scalar, alias) into k->doc. 0, -1 after a composer error
 * (in parser), -2 out of memory. */
static int
cfg_comp_event(struct cfg_comp *k, yaml_parser_t *parser, yaml_event_t *ev)
{
	int index;

	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if ((index = cfg_comp_node(k, parser, ev)) <= 0)
			return index < 0 ? -2 : -1;
		if (pd_buf_grow(&k->open, &k->capopen, k->nopen + 1, sizeof(*k->open)) != 0)
			return -2;
		k->open[k->nopen].index = index;
		k->open[k->nopen++].base = k->nkids;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return k->nopen > 0 && cfg_comp_close(k, ev) != 0 ? -2 : 0;
	case YAML_SCALAR_EVENT:
		index = cfg_comp_node(k, parser, ev);
		return index < 0 ? -2 : index == 0 ? -1 : 0;
	case YAML_ALIAS_EVENT:
		for (size_t i = 0; i < k->nanchors; i++)
			if (strcmp((const char *)k->anchors[i].name,
				   (const char *)ev->data.alias.anchor) == 0)
				return cfg_comp_add(k, k->anchors[i].index) != 0 ? -2 : 0;
		cfg_comp_error(parser, NULL, ev->start_mark, "found undefined alias",
			       ev->start_mark);
		return -1;
	default:
		return 0;
	}
}

/* A load error kept until the rest of the stream is read (the parser's own fields). */
struct cfg_perr {
	int set;
	yaml_error_type_t error;
	const char *problem, *context;
	size_t problem_offset;
	int problem_value;
	yaml_mark_t problem_mark, context_mark;
};

static void
cfg_perr_save(struct cfg_perr *e, const yaml_parser_t *parser)
{
	if (e->set)
		return;
	e->set = 1;
	e->error = parser->error;
	e->problem = parser->problem;
	e->context = parser->context;
	e->problem_offset = parser->problem_offset;
	e->problem_value = parser->problem_value;
	e->problem_mark = parser->problem_mark;
	e->context_mark = parser->context_mark;
}

static void
cfg_perr_report(struct cfg_ctx *c, const struct cfg_perr *e, yaml_parser_t *parser,
		const char *yaml, size_t len)
{
	parser->error = e->error;
	parser->problem = e->problem;
	parser->context = e->context;
	parser->problem_offset = e->problem_offset;
	parser->problem_value = e->problem_value;
	parser->problem_mark = e->problem_mark;
	parser->context_mark = e->context_mark;
	if (e->error == YAML_MEMORY_ERROR)
		c->nomem = 1;
	else
		pd_config_syntax_error(c, parser, yaml, len);
}

/*
 * Parse yaml into c->doc. Returns its root node, or NULL with the error reported (empty:
 * the message for a document without one) or c->nomem set. With multi, the whole-load
 * checks too: the nesting depth, and a second document reported with multi (the root is
 * still returned: the load goes on); without, a quick read of the first document.
 * *have_doc tells whether c->doc is to be freed (pd_config_doc_delete).
 *
 * One pass over the events reports what a depth check over the stream followed by
 * yaml_parser_load of one document, then of a second, would: a document nested too deep
 * (anywhere, unless a syntax error comes first) alone; else the first document's syntax
 * or composer error, or the empty message; else the second's error, or multi at its root.
 */
yaml_node_t *
pd_config_parse(struct cfg_ctx *c, const char *yaml, size_t len, const char *empty,
		const char *multi, int *have_doc)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	yaml_document_t extra;
	struct cfg_comp k;
	struct cfg_perr e[2]; /* of the first and the second document */
	int docs = 0, complete = 0, depth = 0, rc;
	yaml_node_t *root = NULL;

	*have_doc = 0;
	memset(&k, 0, sizeof(k));
	k.strs = &c->strs;
	memset(e, 0, sizeof(e));
	memset(&extra, 0, sizeof(extra));
	memset(&c->doc, 0, sizeof(c->doc));
	if (!yaml_parser_initialize(&parser)) {
		c->nomem = 1;
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev)) {
			if (complete < 2 && docs <= 2)
				cfg_perr_save(&e[complete], &parser);
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (multi != NULL &&
		    (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) &&
		    ++depth > CFG_MAX_DEPTH) {
			pd_config_error_at(c, ev.start_mark.line + 1, ev.start_mark.column + 1,
					   "YAML: nested deeper than %d levels", CFG_MAX_DEPTH);
			yaml_event_delete(&ev);
			goto fail;
		}
		if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			docs++;
			k.doc = docs == 1 ? &c->doc : docs == 2 ? &extra : NULL;
			k.nopen = k.nkids = 0;
			for (size_t i = 0; i < k.nanchors; i++) /* anchors are per document */
				free(k.anchors[i].name);
			k.nanchors = 0;
			k.nnodes = k.capnodes = 0;
		} else if (ev.type == YAML_DOCUMENT_END_EVENT) {
			if (docs <= 2)
				complete = docs;
			k.doc = NULL;
		} else if (k.doc != NULL && (rc = cfg_comp_event(&k, &parser, &ev)) != 0) {
			if (rc == -2) {
				yaml_event_delete(&ev);
				c->nomem = 1;
				goto fail;
			}
			cfg_perr_save(&e[docs - 1], &parser);
			parser.error = YAML_NO_ERROR; /* ours, not the parser's: read on */
			k.doc = NULL;
		}
		yaml_event_delete(&ev);
		if (multi == NULL && (complete == 1 || e[0].set))
			break;
	}
	if (e[0].set) {
		cfg_perr_report(c, &e[0], &parser, yaml, len);
		goto fail;
	}
	if (c->doc.nodes.start == c->doc.nodes.top) {
		pd_config_error_at(c, 1, 1, "%s", empty);
		goto fail;
	}
	*have_doc = 1;
	root = c->doc.nodes.start;
	if (multi != NULL && e[1].set)
		cfg_perr_report(c, &e[1], &parser, yaml, len);
	else if (multi != NULL && extra.nodes.start != extra.nodes.top)
		pd_config_error(c, extra.nodes.start, "%s", multi);
	goto out;
fail:
	pd_config_doc_delete(c);
out:
	cfg_comp_free(&k);
	cfg_doc_free(&extra);
	yaml_parser_delete(&parser);
	return root;
}

/* ---------------------------------------------------------------- YAML -> cJSON, whole */

cJSON *
pd_config_yaml_to_json(const char *yaml, size_t len, const char *name, struct pd_err *err)
{
	struct cfg_ctx c;
	yaml_node_t *root;
	cJSON *j = NULL;
	int have_doc = 0;

	memset(&c, 0, sizeof(c));
	c.file = name ? name : "(yaml)";
	root = pd_config_parse(&c, yaml, len, "empty document", "only one YAML document is allowed",
			       &have_doc);
	if (root != NULL)
		j = pd_config_json(&c, root, 0);
	if (have_doc)
		pd_config_doc_delete(&c);
	if (c.nomem) {
		pd_err_set(err, PD_ERR_NOMEM, "%s: out of memory", c.file);
	} else if (c.nmsgs > 0) {
		qsort(c.msgs, c.nmsgs, sizeof(*c.msgs), pd_config_msg_cmp);
		pd_err_set(err, PD_ERR_INVALID, "%s", c.msgs[0].text);
	}
	if ((c.nomem || c.nmsgs > 0) && j != NULL) {
		cJSON_Delete(j);
		j = NULL;
	}
	for (size_t i = 0; i < c.nmsgs; i++)
		free(c.msgs[i].text);
	free(c.msgs);
	free(c.jmarks);
	return j;
}
