/* config_units.c — the values of probes.yaml: durations ("1h30m"), sizes ("1MiB"),
 * integers, numbers, enums, names, HTTP methods, URLs, header maps, times of day, tokens
 * that go into a header line, and lists of named items with unique names. Each typed getter takes a
 * scalar node, expands it (config_expand.c), checks its bounds and reports a problem at
 * the node; the caller keeps its default when a value is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include "probed/config.h"
#include "probed/log.h"
#include "config_int.h"

#define CFG_MAX_TOKEN 4096  /* routing_key, api_key, bearer_token */
#define CFG_MAX_HEADERS 100 /* per headers: mapping */
/* Upper bounds, so that what the daemon computes from a value cannot overflow
 * (interval_ms * 1000 in microseconds, now + retention, a 100000000000d interval did):
 * ten years for any duration, 256 MiB for a response body held in memory. */
#define CFG_MAX_DURATION_MS ((int64_t)3650 * 86400 * 1000)
#define CFG_MAX_SIZE ((size_t)256 * 1024 * 1024)
#define CFG_NAME_MAX 64

/* ---------------------------------------------------------------- value parsers */

int
pd_config_duration_parse(const char *s, int64_t *ms)
{
	/* rank enforces largest-first, each unit at most once: "1h30m", not "30m1h" */
	static const struct {
		const char *unit;
		size_t len;
		int64_t mul;
	} units[] = {
		{"ms", 2, 1},          {"s", 1, 1000},         {"m", 1, 60 * 1000},
		{"h", 1, 3600 * 1000}, {"d", 1, 86400 * 1000},
	};
	const char *p = s;
	int64_t total = 0;
	size_t last = sizeof(units) / sizeof(units[0]);

	if (s == NULL || *s == '\0')
		return PD_ERR_INVALID;
	while (*p != '\0') {
		int64_t v = 0;
		size_t u;

		if (*p < '0' || *p > '9')
			return PD_ERR_INVALID;
		while (*p >= '0' && *p <= '9') {
			int d = *p - '0';

			if (v > (INT64_MAX - d) / 10)
				return PD_ERR_INVALID;
			v = v * 10 + d;
			p++;
		}
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (strncmp(p, units[u].unit, units[u].len) == 0)
				break;
		if (u == sizeof(units) / sizeof(units[0]) || u >= last)
			return PD_ERR_INVALID;
		last = u;
		p += units[u].len;
		if (v > INT64_MAX / units[u].mul)
			return PD_ERR_INVALID;
		v *= units[u].mul;
		if (total > INT64_MAX - v)
			return PD_ERR_INVALID;
		total += v;
	}
	*ms = total;
	return 0;
}

void
pd_config_duration_format(int64_t ms, char *out, size_t cap)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {
		{"d", 86400000ULL}, {"h", 3600000ULL}, {"m", 60000ULL},
		{"s", 1000ULL},     {"ms", 1ULL},
	};
	uint64_t v;
	size_t o = 0;

	if (out == NULL || cap == 0)
		return;
	out[0] = '\0';
	if (ms == 0) {
		snprintf(out, cap, "0s");
		return;
	}
	if (ms < 0) {
		v = (uint64_t)(-(ms + 1)) + 1;
		o += (size_t)snprintf(out, cap, "-");
	} else {
		v = (uint64_t)ms;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && o < cap; i++) {
		uint64_t q = v / units[i].mul;
		int n;

		if (q == 0)
			continue;
		v -= q * units[i].mul;
		n = snprintf(out + o, cap - o, "%llu%s", (unsigned long long)q, units[i].unit);
		if (n < 0)
			return;
		o += (size_t)n;
	}
}

int
pd_config_size_parse(const char *s, size_t *bytes)
{
	static const struct {
		const char *unit;
		size_t mul;
	} units[] = {
		{"", 1},
		{"B", 1},
		{"KB", 1000},
		{"KiB", 1024},
		{"MB", 1000 * 1000},
		{"MiB", 1024 * 1024},
	};
	const char *p = s;
	size_t v = 0;

	if (s == NULL || *p < '0' || *p > '9')
		return PD_ERR_INVALID;
	while (*p >= '0' && *p <= '9') {
		size_t d = (size_t)(*p - '0');

		if (v > (SIZE_MAX - d) / 10)
			return PD_ERR_INVALID;
		v = v * 10 + d;
		p++;
	}
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		if (strcmp(p, units[u].unit) != 0)
			continue;
		if (v > SIZE_MAX / units[u].mul)
			return PD_ERR_INVALID;
		*bytes = v * units[u].mul;
		return 0;
	}
	return PD_ERR_INVALID;
}

/* ---------------------------------------------------------------- typed getters */

/* A scalar, expanded; not registered as a secret (the caller decides). NULL on error. */
char *
pd_config_scalar(struct cfg_ctx *c, yaml_node_t *n, const char *what, int *secret)
{
	*secret = 0;
	if (n == NULL || n->type != YAML_SCALAR_NODE) {
		pd_config_error(c, n, "%s: expected a single value, not a %s", what,
				n && n->type == YAML_MAPPING_NODE ? "mapping" : "list");
		return NULL;
	}
	if (pd_config_is_null(n)) {
		pd_config_error(c, n, "%s: missing value", what);
		return NULL;
	}
	return pd_config_expand(c, n, what, secret);
}

/* A free-form string: expanded, and registered as a secret when it used ${...}. */
char *
pd_config_string(struct cfg_ctx *c, yaml_node_t *n, const char *what, int *secret)
{
	int sec = 0;
	char *s = pd_config_scalar(c, n, what, &sec);

	if (s != NULL && sec)
		pd_log_add_secret(s);
	if (secret != NULL)
		*secret = sec;
	return s;
}

/* A value with a unit: its parser, its name and syntax, and its ceiling (as a message says
 * it). */
struct cfg_unit {
	const char *noun;
	const char *syntax;
	const char *max_text;
	int64_t max;
	int (*parse)(const char *s, int64_t *v);
};

static int
cfg_size_parse(const char *s, int64_t *v)
{
	size_t z;

	if (pd_config_size_parse(s, &z) != 0)
		return -1;
	*v = z > (size_t)INT64_MAX ? INT64_MAX : (int64_t)z;
	return 0;
}

static const struct cfg_unit cfg_duration_unit = {
	"duration",
	"a number with a unit: ms, s, m, h, d; e.g. 500ms, 30s, 1m30s",
	"3650d (ten years)",
	CFG_MAX_DURATION_MS,
	pd_config_duration_parse,
};
static const struct cfg_unit cfg_size_unit = {
	"size",         "bytes, or a number with a unit: B, KB, KiB, MB, MiB",
	"256MiB",       (int64_t)CFG_MAX_SIZE,
	cfg_size_parse,
};

/* Scalar n in unit u, from min (a duration in ms when above 1) to u->max. */
static int
cfg_measure(struct cfg_ctx *c, yaml_node_t *n, const char *what, const struct cfg_unit *u,
	    int64_t min, int64_t *out)
{
	char show[CFG_SHOW_MAX + 8], mins[32];
	int secret, rc = -1;
	char *s = pd_config_scalar(c, n, what, &secret);
	int64_t v;

	if (s == NULL)
		return -1;
	if (u->parse(s, &v) != 0) {
		pd_config_error(c, n, "%s: invalid %s '%s' (%s)", what, u->noun,
				pd_config_disp(n, s, secret, show, sizeof(show)), u->syntax);
		goto out;
	}
	if (v > u->max) {
		pd_config_error(c, n, "%s: must be at most %s, got '%s'", what, u->max_text,
				pd_config_disp(n, s, secret, show, sizeof(show)));
		goto out;
	}
	if (v < min) {
		pd_config_duration_format(min, mins, sizeof(mins));
		if (min == 1)
			pd_config_error(c, n, "%s: must be greater than 0", what);
		else
			pd_config_error(c, n, "%s: must be at least %s, got '%s'", what, mins,
					pd_config_disp(n, s, secret, show, sizeof(show)));
		goto out;
	}
	*out = v;
	rc = 0;
out:
	free(s);
	return rc;
}

int
pd_config_duration(struct cfg_ctx *c, yaml_node_t *n, const char *what, int64_t min_ms,
		   int64_t *out)
{
	return cfg_measure(c, n, what, &cfg_duration_unit, min_ms, out);
}

int
pd_config_int(struct cfg_ctx *c, yaml_node_t *n, const char *what, int lo, int hi, int *out)
{
	char show[CFG_SHOW_MAX + 8];
	int secret, rc = -1;
	char *s = pd_config_scalar(c, n, what, &secret);
	long v = 0;
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 9; i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0 || s[i] != '\0' || v < lo || v > hi) {
		pd_config_error(c, n, "%s: expected an integer from %d to %d, got '%s'", what, lo,
				hi, pd_config_disp(n, s, secret, show, sizeof(show)));
		goto out;
	}
	*out = (int)v;
	rc = 0;
out:
	free(s);
	return rc;
}

int
pd_config_size(struct cfg_ctx *c, yaml_node_t *n, const char *what, size_t *out)
{
	int64_t v;

	if (cfg_measure(c, n, what, &cfg_size_unit, 1, &v) != 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* One of words[] (NULL-terminated); returns its index or -1 after an error. */
int
pd_config_enum(struct cfg_ctx *c, yaml_node_t *n, const char *what, const char *const words[],
	       const char *expect)
{
	char show[CFG_SHOW_MAX + 8];
	int secret, idx = -1;
	char *s = pd_config_scalar(c, n, what, &secret);

	if (s == NULL)
		return -1;
	for (int i = 0; words[i] != NULL; i++)
		if (strcmp(words[i], s) == 0)
			idx = i;
	if (idx < 0)
		pd_config_error(c, n, "%s: must be %s, got '%s'", what, expect,
				pd_config_disp(n, s, secret, show, sizeof(show)));
	free(s);
	return idx;
}

static int
cfg_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > CFG_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return 0;
	}
	return 1;
}

char *
pd_config_name(struct cfg_ctx *c, yaml_node_t *n, const char *what)
{
	char show[CFG_SHOW_MAX + 8];
	int secret;
	char *s = pd_config_string(c, n, what, &secret);

	if (s != NULL && !cfg_name_ok(s)) {
		pd_config_error(
			c, n, "%s: invalid name '%s' (1-%d characters from A-Z a-z 0-9 _ . -)",
			what, pd_config_disp(n, s, secret, show, sizeof(show)), CFG_NAME_MAX);
		free(s);
		s = NULL;
	}
	return s;
}

static int
cfg_method_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 16)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return 0;
	return 1;
}

char *
pd_config_method(struct cfg_ctx *c, yaml_node_t *n)
{
	char show[CFG_SHOW_MAX + 8];
	int secret;
	char *s = pd_config_scalar(c, n, "method", &secret);

	if (s != NULL && !cfg_method_ok(s)) {
		pd_config_error(
			c, n, "method: invalid HTTP method '%s' (upper-case, e.g. GET, POST, HEAD)",
			pd_config_disp(n, s, secret, show, sizeof(show)));
		free(s);
		s = NULL;
	}
	return s;
}

/* Returns NULL when url is an acceptable http(s) URL, else the reason (maybe in why). */
static const char *
cfg_url_problem(const char *url, const char *schemes, char *why, size_t cap, int *nomem)
{
	CURLU *h = curl_url();
	char *scheme = NULL, *host = NULL;
	const char *res = NULL;
	CURLUcode rc;
	size_t len;

	if (h == NULL) {
		*nomem = 1;
		return "out of memory";
	}
	rc = curl_url_set(h, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		snprintf(why, cap, "%s", curl_url_strerror(rc));
		res = why;
		goto out;
	}
	if (schemes != NULL) { /* a target's own schemes ("smtp,smtps") */
		size_t sl;
		const char *p = schemes;
		int ok = 0;

		if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
			sl = strlen(scheme);
			for (; *p; p += strcspn(p, ","), p += *p == ',')
				if (strncasecmp(p, scheme, sl) == 0 && (p[sl] == ',' || !p[sl]))
					ok = 1;
		}
		if (!ok) {
			snprintf(why, cap, "scheme must be one of %s", schemes);
			res = why;
			goto out;
		}
	} else if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		   (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
		res = "scheme must be http or https";
		goto out;
	}
	if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
		res = "no host";
		goto out;
	}
	/* curl reads "https:///x" as host "x" and "http:/h" as "http://h": insist on the
	 * plain form, a typo should not quietly probe some other host */
	len = strlen(scheme);
	if (strncmp(url + len, "://", 3) != 0 || url[len + 3] == '/') {
		res = "expected scheme://host/...";
		goto out;
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(h);
	return res;
}

/* Expand and check a URL. *display gets the text as written. Returns 0 or -1. */
int
pd_config_url_of(struct cfg_ctx *c, yaml_node_t *n, const char *what, const char *schemes,
		 char **url, char **display, int *secret)
{
	char show[CFG_SHOW_MAX + 8], whybuf[128];
	const char *why;
	int nomem = 0;
	char *s = pd_config_string(c, n, what, secret);

	if (s == NULL)
		return -1;
	why = cfg_url_problem(s, schemes, whybuf, sizeof(whybuf), &nomem);
	if (nomem) {
		c->nomem = 1;
		free(s);
		return -1;
	}
	if (why != NULL) {
		pd_config_error(c, n, "%s: invalid URL '%s': %s", what,
				pd_config_disp(n, s, *secret, show, sizeof(show)), why);
		free(s);
		return -1;
	}
	*display = pd_config_strdup(c, pd_config_raw(n));
	if (*display == NULL) {
		free(s);
		return -1;
	}
	*url = s;
	return 0;
}

int
pd_config_url(struct cfg_ctx *c, yaml_node_t *n, const char *what, char **url, char **display,
	      int *secret)
{
	return pd_config_url_of(c, n, what, NULL, url, display, secret);
}

static int
cfg_header_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch) != NULL))
			return 0;
	}
	return 1;
}

/* headers: {Name: value, ...} -> array. Returns 0 or -1 (errors reported). */
int
pd_config_headers(struct cfg_ctx *c, yaml_node_t *n, struct pd_header **out, size_t *nout)
{
	char show[CFG_SHOW_MAX + 8];
	struct pd_header *h = NULL;
	size_t cnt = 0, cap;
	int bad = 0;

	*out = NULL;
	*nout = 0;
	if (pd_config_is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE) {
		pd_config_error(c, n, "headers: expected a mapping of header name to value");
		return -1;
	}
	cap = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	/* the duplicate check below is quadratic: bound it (and a request's header block) */
	if (cap > CFG_MAX_HEADERS) {
		pd_config_error(c, n, "headers: %zu headers, at most %d", cap, CFG_MAX_HEADERS);
		return -1;
	}
	h = pd_config_calloc(c, cap, sizeof(*h));
	if (h == NULL)
		return -1;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = pd_config_node(c, pr->key);
		yaml_node_t *v = pd_config_node(c, pr->value);
		const char *name;
		char *value;
		int secret, dup = 0;

		if (k == NULL || k->type != YAML_SCALAR_NODE ||
		    !cfg_header_name_ok(pd_config_raw(k))) {
			pd_config_error(c, k, "headers: invalid header name '%s'",
					k && k->type == YAML_SCALAR_NODE
						? pd_config_show(pd_config_raw(k),
								 k->data.scalar.length, show,
								 sizeof(show))
						: "(not a string)");
			bad = 1;
			continue;
		}
		name = pd_config_raw(k);
		for (size_t i = 0; i < cnt; i++) {
			if (strcasecmp(h[i].name, name) == 0) {
				pd_config_error(c, k, "headers: duplicate header '%s'", name);
				dup = 1;
			}
		}
		if (dup) {
			bad = 1;
			continue;
		}
		value = pd_config_string(c, v, "headers", &secret);
		if (value == NULL) {
			bad = 1;
			continue;
		}
		if (strpbrk(value, "\r\n") != NULL) {
			pd_config_error(c, v, "headers: value of '%s' contains a line break", name);
			free(value);
			bad = 1;
			continue;
		}
		h[cnt].name = pd_config_strdup(c, name);
		if (h[cnt].name == NULL) {
			free(value);
			bad = 1;
			continue;
		}
		h[cnt].value = value;
		h[cnt].secret = secret;
		cnt++;
	}
	*out = h;
	*nout = cnt;
	return bad ? -1 : 0;
}

/* base (copied) overlaid with over (copied); same name, case-insensitive: over wins
 * (its value and its spelling of the name). */
int
pd_config_headers_merge(struct cfg_ctx *c, const struct pd_header *base, size_t nbase,
			const struct pd_header *over, size_t nover, struct pd_header **out,
			size_t *nout)
{
	struct pd_header *h = pd_config_calloc(c, nbase + nover, sizeof(*h));
	size_t cnt = 0;

	*out = h;
	*nout = 0;
	if (h == NULL)
		return -1;
	for (size_t pass = 0; pass < 2; pass++) {
		const struct pd_header *src = pass ? over : base;
		size_t nsrc = pass ? nover : nbase;

		for (size_t i = 0; i < nsrc; i++) {
			size_t j;

			for (j = 0; j < cnt; j++)
				if (strcasecmp(h[j].name, src[i].name) == 0)
					break;
			if (j == cnt)
				cnt++;
			free(h[j].name);
			h[j].name = pd_config_strdup(c, src[i].name);
			free(h[j].value);
			h[j].value = pd_config_strdup(c, src[i].value);
			h[j].secret = src[i].secret;
		}
	}
	*nout = cnt;
	return c->nomem ? -1 : 0;
}

/* ---------------------------------------------------------------- more values */

/* "HH:MM" (or "HH:MM:SS"), 00:00 .. 23:59:59 -> ms after midnight; -1 when invalid. */
int64_t
pd_config_time_of_day(const char *s)
{
	int v[3] = {0, 0, 0}, n = 0;
	const char *q = s;

	while (n < 3) {
		if (q[0] < '0' || q[0] > '9' || q[1] < '0' || q[1] > '9')
			return -1;
		v[n++] = (q[0] - '0') * 10 + (q[1] - '0');
		q += 2;
		if (*q == '\0')
			break;
		if (*q++ != ':')
			return -1;
	}
	if (*q != '\0' || n < 2 || v[0] > 23 || v[1] > 59 || v[2] > 59)
		return -1;
	return ((int64_t)v[0] * 3600 + v[1] * 60 + v[2]) * 1000;
}

/* qsort: by name, then by index (a stable sort by name) */
int
pd_config_named_cmp(const void *a, const void *b)
{
	const struct cfg_named *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r != 0)
		return r;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* A list of named things (probes, notify targets, maintenance windows): the caller has
 * allocated its array of cnt; *count is set to cnt once the rest is allocated, then item i
 * is read by read (which returns its name and sets its name node), and names used twice
 * are reported. */
void
pd_config_named(struct cfg_ctx *c, yaml_node_item_t *items, size_t cnt, const char *what,
		pd_config_item_fn read, void *ud, size_t *count)
{
	yaml_node_t **name_nodes = pd_config_calloc(c, cnt, sizeof(*name_nodes));
	char **names = pd_config_calloc(c, cnt, sizeof(*names));

	if (name_nodes != NULL && names != NULL) {
		*count = cnt;
		for (size_t i = 0; i < cnt; i++)
			names[i] = read(c, pd_config_node(c, items[i]), i, ud, &name_nodes[i]);
		pd_config_unique(c, what, names, name_nodes, cnt);
	}
	free(name_nodes);
	free(names);
}

/* Report names[i] that repeat an earlier one, in file order. nodes[i] NULL = no name. */
void
pd_config_unique(struct cfg_ctx *c, const char *what, char *const names[],
		 yaml_node_t *const nodes[], size_t n)
{
	struct cfg_named *v = pd_config_calloc(c, n, sizeof(*v));
	size_t *first = pd_config_calloc(c, n, sizeof(*first));
	size_t m = 0;

	if (v == NULL || first == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		first[i] = i;
		if (names[i] != NULL && nodes[i] != NULL) {
			v[m].name = names[i];
			v[m].idx = i;
			m++;
		}
	}
	qsort(v, m, sizeof(*v), pd_config_named_cmp);
	for (size_t i = 1; i < m; i++)
		if (strcmp(v[i].name, v[i - 1].name) == 0)
			first[v[i].idx] = first[v[i - 1].idx];
	for (size_t i = 0; i < n; i++) {
		char show[CFG_SHOW_MAX + 8];
		const yaml_node_t *f;

		if (first[i] == i)
			continue;
		f = nodes[first[i]];
		pd_config_error(c, nodes[i], "duplicate %s name '%s' (first defined at %zu:%zu)",
				what, pd_config_disp(nodes[i], names[i], 1, show, sizeof(show)),
				f->start_mark.line + 1, f->start_mark.column + 1);
	}
out:
	free(v);
	free(first);
}

/* A key or token goes into a header line: a control character (a CR/LF from a file that
 * ends in "\r\n", say) would split or corrupt it. The value is secret: never shown. */
void
pd_config_token_line(struct cfg_ctx *c, const yaml_node_t *n, const char *what, const char *v)
{
	if (v == NULL)
		return;
	if (strlen(v) > CFG_MAX_TOKEN) {
		pd_config_error(c, n, "%s: longer than %d bytes", what, CFG_MAX_TOKEN);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			pd_config_error(c, n,
					"%s: contains a control character (%s); a key is one "
					"line of printable characters",
					what,
					*p == '\r'   ? "CR"
					: *p == '\n' ? "LF"
					: *p == '\t' ? "TAB"
						     : "other");
			return;
		}
}

/* A plain number in [lo, hi]; 0 ok, -1 error (reported). */
int
pd_config_number(struct cfg_ctx *c, yaml_node_t *n, const char *what, double lo, double hi,
		 double *out)
{
	const char *raw = n->type == YAML_SCALAR_NODE ? pd_config_raw(n) : "";
	double v;

	if (!pd_config_yaml_number(raw, &v) || v < lo || v > hi) {
		pd_config_error(c, n, "%s: expected a number from %g to %g", what, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}
