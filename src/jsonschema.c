/* jsonschema.c — JSON Schema draft 7 over cJSON.
 *
 * pd_jsonschema_new() compiles the (deep-copied) schema once into a graph of struct js_node:
 * keyword values are decoded, regexes compiled (PCRE2, UTF, JIT when available),
 * "properties" sorted for binary search and every $ref resolved to the node it names.
 * pd_jsonschema_validate() then walks that graph without touching the schema's cJSON
 * keys and without allocating: the instance path is a stack of (key, index) pairs that
 * is rendered only when an error is reported.
 *
 *   compile:  cJSON schema ──► nodes (map cJSON* → node, so shared targets and
 *             recursive refs become graph edges) ──► pending $refs resolved in a loop
 *             (a ref may point to a location not compiled yet; compiling it may add refs)
 *   validate: node × instance ──► 1/0, errors "PATH: KEYWORD DETAIL, got VALUE"
 *
 * Base URIs follow draft 7: "$id" changes the base for its subschema, "$ref" siblings
 * (including "$id") are ignored. Only documents inside the schema are resolvable, plus
 * the draft-07 meta-schema, which is embedded below (it is a fixed, well-known document,
 * so "$ref": "http://json-schema.org/draft-07/schema#" works without a network fetch).
 * Any other remote document stays unresolved: the schema compiles, and validation of
 * an instance that reaches that $ref fails with keyword "$ref".
 *
 * Recursion is bounded three ways: schema nesting at compile time, instance depth at
 * validation time (both PD_SCHEMA_MAX_DEPTH) and evaluation depth (JS_EVAL_MAX), which
 * is what stops a $ref cycle such as {"$ref": "#"} that never descends the instance.
 *
 * One pcre2_match_data lives in the compiled schema, so a struct pd_schema must not be
 * used by two threads at the same time (probed is single-threaded).
 */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "probed/buf.h"
#include "probed/jsonschema.h"
#include "probed/hash.h"
#include "probed/log.h"

#define JS_EVAL_MAX (4 * PD_SCHEMA_MAX_DEPTH)
#define JS_VALUE_MAX 40 /* characters of an instance value quoted in a message */
#define JS_META_URI "http://json-schema.org/draft-07/schema"

/* The draft-07 meta-schema (http://json-schema.org/draft-07/schema#), minified. */
static const char js_meta_text[] =
	"{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"$id\":\"http://jso"
	"n-schema.org/draft-07/schema#\",\"title\":\"Core schema meta-schema\",\"defi"
	"nitions\":{\"schemaArray\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"$ref\":\""
	"#\"}},\"nonNegativeInteger\":{\"type\":\"integer\",\"minimum\":0},\"nonNegativeI"
	"ntegerDefault0\":{\"allOf\":[{\"$ref\":\"#/definitions/nonNegativeInteger\"},"
	"{\"default\":0}]},\"simpleTypes\":{\"enum\":[\"array\",\"boolean\",\"integer\",\"nu"
	"ll\",\"number\",\"object\",\"string\"]},\"stringArray\":{\"type\":\"array\",\"items\""
	":{\"type\":\"string\"},\"uniqueItems\":true,\"default\":[]}},\"type\":[\"object\","
	"\"boolean\"],\"properties\":{\"$id\":{\"type\":\"string\",\"format\":\"uri-referenc"
	"e\"},\"$schema\":{\"type\":\"string\",\"format\":\"uri\"},\"$ref\":{\"type\":\"string\""
	",\"format\":\"uri-reference\"},\"$comment\":{\"type\":\"string\"},\"title\":{\"type"
	"\":\"string\"},\"description\":{\"type\":\"string\"},\"default\":true,\"readOnly\":"
	"{\"type\":\"boolean\",\"default\":false},\"examples\":{\"type\":\"array\",\"items\":"
	"true},\"multipleOf\":{\"type\":\"number\",\"exclusiveMinimum\":0},\"maximum\":{\""
	"type\":\"number\"},\"exclusiveMaximum\":{\"type\":\"number\"},\"minimum\":{\"type\""
	":\"number\"},\"exclusiveMinimum\":{\"type\":\"number\"},\"maxLength\":{\"$ref\":\"#"
	"/definitions/nonNegativeInteger\"},\"minLength\":{\"$ref\":\"#/definitions/n"
	"onNegativeIntegerDefault0\"},\"pattern\":{\"type\":\"string\",\"format\":\"regex"
	"\"},\"additionalItems\":{\"$ref\":\"#\"},\"items\":{\"anyOf\":[{\"$ref\":\"#\"},{\"$re"
	"f\":\"#/definitions/schemaArray\"}],\"default\":true},\"maxItems\":{\"$ref\":\"#"
	"/definitions/nonNegativeInteger\"},\"minItems\":{\"$ref\":\"#/definitions/no"
	"nNegativeIntegerDefault0\"},\"uniqueItems\":{\"type\":\"boolean\",\"default\":f"
	"alse},\"contains\":{\"$ref\":\"#\"},\"maxProperties\":{\"$ref\":\"#/definitions/n"
	"onNegativeInteger\"},\"minProperties\":{\"$ref\":\"#/definitions/nonNegative"
	"IntegerDefault0\"},\"required\":{\"$ref\":\"#/definitions/stringArray\"},\"add"
	"itionalProperties\":{\"$ref\":\"#\"},\"definitions\":{\"type\":\"object\",\"additi"
	"onalProperties\":{\"$ref\":\"#\"},\"default\":{}},\"properties\":{\"type\":\"objec"
	"t\",\"additionalProperties\":{\"$ref\":\"#\"},\"default\":{}},\"patternPropertie"
	"s\":{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#\"},\"propertyNames"
	"\":{\"format\":\"regex\"},\"default\":{}},\"dependencies\":{\"type\":\"object\",\"ad"
	"ditionalProperties\":{\"anyOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#/definitions/stri"
	"ngArray\"}]}},\"propertyNames\":{\"$ref\":\"#\"},\"const\":true,\"enum\":{\"type\":"
	"\"array\",\"items\":true},\"type\":{\"anyOf\":[{\"$ref\":\"#/definitions/simpleTy"
	"pes\"},{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/simpleTypes\"},\"mi"
	"nItems\":1,\"uniqueItems\":true}]},\"format\":{\"type\":\"string\"},\"contentMed"
	"iaType\":{\"type\":\"string\"},\"contentEncoding\":{\"type\":\"string\"},\"if\":{\"$"
	"ref\":\"#\"},\"then\":{\"$ref\":\"#\"},\"else\":{\"$ref\":\"#\"},\"allOf\":{\"$ref\":\"#/d"
	"efinitions/schemaArray\"},\"anyOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
	"\"oneOf\":{\"$ref\":\"#/definitions/schemaArray\"},\"not\":{\"$ref\":\"#\"}},\"defa"
	"ult\":true}";

enum js_type {
	T_NULL = 1 << 0,
	T_BOOLEAN = 1 << 1,
	T_OBJECT = 1 << 2,
	T_ARRAY = 1 << 3,
	T_NUMBER = 1 << 4,
	T_STRING = 1 << 5,
	T_INTEGER = 1 << 6,
};

static const struct {
	const char *name;
	unsigned bit;
} js_type_names[] = {
	{"null", T_NULL},     {"boolean", T_BOOLEAN}, {"object", T_OBJECT},   {"array", T_ARRAY},
	{"number", T_NUMBER}, {"string", T_STRING},   {"integer", T_INTEGER},
};

enum js_kind { K_OBJECT, K_TRUE, K_FALSE };

/* Scalar keywords present on a node. */
enum {
	H_MULTIPLE = 1 << 0,
	H_MAXIMUM = 1 << 1,
	H_MINIMUM = 1 << 2,
	H_XMAXIMUM = 1 << 3,
	H_XMINIMUM = 1 << 4,
	H_MAXLENGTH = 1 << 5,
	H_MINLENGTH = 1 << 6,
	H_MAXITEMS = 1 << 7,
	H_MINITEMS = 1 << 8,
	H_MAXPROPS = 1 << 9,
	H_MINPROPS = 1 << 10,
	H_UNIQUE = 1 << 11,
	H_REF = 1 << 12,
	H_NUMERIC = H_MULTIPLE | H_MAXIMUM | H_MINIMUM | H_XMAXIMUM | H_XMINIMUM,
};

struct js_node;

struct js_prop {
	const char *name;
	struct js_node *schema;
};

struct js_pprop {
	const char *src;
	pcre2_code *re;
	struct js_node *schema;
};

struct js_dep {
	const char *name;
	struct js_node *schema; /* schema form, or NULL */
	const char **req;       /* array form */
	size_t nreq;
};

struct js_list {
	struct js_node **v;
	size_t n;
};

struct js_node {
	enum js_kind kind;
	unsigned has;
	/* $ref: everything else is ignored */
	const char *ref_str;  /* as written; points into the schema copy */
	const char *ref_base; /* base URI in effect (owned by the schema's string list) */
	char *ref_uri;        /* resolved, owned */
	struct js_node *ref;  /* NULL = unresolved (remote) */
	/* any instance */
	unsigned types;
	const cJSON *type_json;
	const cJSON *enum_vals;
	const cJSON *const_val;
	/* numbers */
	double multiple_of, maximum, minimum, xmaximum, xminimum;
	/* strings */
	double max_length, min_length;
	const char *pattern_src;
	pcre2_code *pattern;
	/* arrays */
	double max_items, min_items;
	struct js_node *items;    /* single-schema form */
	struct js_list items_arr; /* array form (items_tuple set) */
	int items_tuple;
	struct js_node *additional_items;
	struct js_node *contains;
	/* objects */
	double max_props, min_props;
	const char **required;
	size_t nrequired;
	struct js_prop *props; /* sorted by name */
	size_t nprops;
	struct js_pprop *pprops;
	size_t npprops;
	struct js_node *additional_props;
	struct js_dep *deps;
	size_t ndeps;
	struct js_node *property_names;
	/* combinators */
	struct js_node *if_, *then_, *else_, *not_;
	struct js_list all_of, any_of, one_of;
};

/* A resolvable URI: a resource (document root or subschema with a non-fragment $id) or
 * a plain-name anchor ("$id": "#foo"). */
struct js_res {
	char *uri;
	const cJSON *json;
	const char *base;
};

struct js_slot {
	const cJSON *key;
	struct js_node *node;
};

struct pd_schema {
	cJSON *doc;  /* deep copy of the caller's schema */
	cJSON *meta; /* parsed meta-schema, when referenced */
	struct js_node *root;
	pcre2_match_data *md;
	struct js_node **nodes;
	size_t nnodes, capnodes;
	struct js_slot *map; /* open addressing, cJSON* → node */
	size_t mapn, mapcap;
	struct js_res *res;
	size_t nres, capres;
	char **strs; /* base URIs */
	size_t nstrs, capstrs;
	unsigned refs; /* pd_jsonschema_ref / pd_jsonschema_free */
};

/* ------------------------------------------------------------------ */
/* small utilities                                                      */

static int
is_integer_value(double d)
{
	return isfinite(d) && floor(d) == d;
}

static size_t
utf8_length(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static void
fmt_number(char *out, size_t cap, double d)
{
	if (!isfinite(d)) {
		snprintf(out, cap, "%s", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	if (floor(d) == d && fabs(d) < 1e15) {
		snprintf(out, cap, "%.0f", d);
		return;
	}
	snprintf(out, cap, "%.15g", d);
	if (strtod(out, NULL) != d)
		snprintf(out, cap, "%.17g", d);
}

/* Bounded writer for values quoted in messages. */
struct wbuf {
	char *p;
	size_t len, cap;
	int trunc;
};

static void
wb_put(struct wbuf *w, const char *s, size_t n)
{
	if (w->trunc)
		return;
	if (n > w->cap - w->len) {
		n = w->cap - w->len;
		w->trunc = 1;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void
wb_str(struct wbuf *w, const char *s)
{
	wb_put(w, s, strlen(s));
}

static void
wb_quoted(struct wbuf *w, const char *s)
{
	char esc[8];

	wb_put(w, "\"", 1);
	for (; *s != '\0' && !w->trunc; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			wb_put(w, esc, 2);
		} else if (ch < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			wb_str(w, esc);
		} else {
			wb_put(w, s, 1);
		}
	}
	wb_put(w, "\"", 1);
}

static void
wb_json(struct wbuf *w, const cJSON *j, int depth)
{
	char num[40];
	const cJSON *c;

	if (depth > 8) {
		w->trunc = 1;
		return;
	}
	if (cJSON_IsNumber(j)) {
		fmt_number(num, sizeof(num), j->valuedouble);
		wb_str(w, num);
	} else if (cJSON_IsString(j)) {
		wb_quoted(w, j->valuestring ? j->valuestring : "");
	} else if (cJSON_IsTrue(j)) {
		wb_str(w, "true");
	} else if (cJSON_IsFalse(j)) {
		wb_str(w, "false");
	} else if (cJSON_IsNull(j)) {
		wb_str(w, "null");
	} else if (cJSON_IsArray(j) || cJSON_IsObject(j)) {
		int obj = cJSON_IsObject(j);

		wb_put(w, obj ? "{" : "[", 1);
		for (c = j->child; c != NULL && !w->trunc; c = c->next) {
			if (c != j->child)
				wb_put(w, ",", 1);
			if (obj) {
				wb_quoted(w, c->string ? c->string : "");
				wb_put(w, ":", 1);
			}
			wb_json(w, c, depth + 1);
		}
		wb_put(w, obj ? "}" : "]", 1);
	} else {
		wb_str(w, "?");
	}
}

/* NUL-terminate; when cut, drop a partial UTF-8 sequence and append "..." (the
 * buffer must hold cap + 4 bytes). */
static void
wb_finish(struct wbuf *w)
{
	size_t k, need;
	unsigned char lead;

	if (w->trunc) {
		k = w->len;
		while (k > 0 && ((unsigned char)w->p[k - 1] & 0xC0) == 0x80)
			k--;
		if (k > 0) {
			lead = (unsigned char)w->p[k - 1];
			need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
			if (k - 1 + need > w->len)
				w->len = k - 1;
		}
		memcpy(w->p + w->len, "...", 3);
		w->len += 3;
	}
	w->p[w->len] = '\0';
}

/* Render j into out (cap >= JS_VALUE_MAX + 4), "..." when cut. */
static void
render_value(char *out, size_t cap, const cJSON *j)
{
	struct wbuf w = {out, 0, cap - 4 < JS_VALUE_MAX ? cap - 4 : JS_VALUE_MAX, 0};

	wb_json(&w, j, 0);
	wb_finish(&w);
}

/* Quote s as a JSON string into out (cap >= JS_VALUE_MAX + 4), "..." when cut. */
static void
render_quoted(char *out, size_t cap, const char *s)
{
	struct wbuf w = {out, 0, cap - 4 < JS_VALUE_MAX ? cap - 4 : JS_VALUE_MAX, 0};

	wb_quoted(&w, s);
	wb_finish(&w);
}

const char *
pd_jsonschema_type_name(const cJSON *j)
{
	if (cJSON_IsNull(j))
		return "null";
	if (cJSON_IsBool(j))
		return "boolean";
	if (cJSON_IsNumber(j))
		return "number";
	if (cJSON_IsString(j))
		return "string";
	if (cJSON_IsArray(j))
		return "array";
	if (cJSON_IsObject(j))
		return "object";
	return "invalid";
}

static unsigned
type_bit(const cJSON *j)
{
	switch (j->type & 0xFF) {
	case cJSON_NULL:
		return T_NULL;
	case cJSON_False:
	case cJSON_True:
		return T_BOOLEAN;
	case cJSON_Number:
		return T_NUMBER;
	case cJSON_String:
	case cJSON_Raw:
		return T_STRING;
	case cJSON_Array:
		return T_ARRAY;
	case cJSON_Object:
		return T_OBJECT;
	default:
		return 0;
	}
}

/* Deep equality, numbers compared numerically, object keys unordered.
 * 1 equal, 0 different, -1 nested too deep to tell. */
static int
json_equal(const cJSON *a, const cJSON *b, int depth)
{
	const cJSON *x, *y;
	int r, na, nb;

	if (depth > PD_SCHEMA_MAX_DEPTH)
		return -1;
	if ((a->type & 0xFF) != (b->type & 0xFF))
		return 0;
	switch (a->type & 0xFF) {
	case cJSON_Number:
		return a->valuedouble == b->valuedouble;
	case cJSON_String:
	case cJSON_Raw:
		return strcmp(a->valuestring ? a->valuestring : "",
			      b->valuestring ? b->valuestring : "") == 0;
	case cJSON_Array:
		for (x = a->child, y = b->child; x != NULL && y != NULL; x = x->next, y = y->next) {
			r = json_equal(x, y, depth + 1);
			if (r != 1)
				return r;
		}
		return x == NULL && y == NULL;
	case cJSON_Object:
		na = nb = 0;
		for (x = a->child; x != NULL; x = x->next)
			na++;
		for (y = b->child; y != NULL; y = y->next)
			nb++;
		if (na != nb)
			return 0;
		for (x = a->child; x != NULL; x = x->next) {
			y = cJSON_GetObjectItemCaseSensitive(b, x->string);
			if (y == NULL)
				return 0;
			r = json_equal(x, y, depth + 1);
			if (r != 1)
				return r;
		}
		return 1;
	default:
		return 1; /* null, true, false: the type says it all */
	}
}

/* x is a multiple of m (m > 0), tolerant of binary floating point: 0.0075 is a
 * multiple of 0.0001 although 0.0075 / 0.0001 == 75.00000000000001. */
static int
is_multiple(double x, double m)
{
	double q, r;

	if (is_integer_value(x) && is_integer_value(m) && fabs(x) < 9e18 && m < 9e18)
		return (int64_t)x % (int64_t)m == 0;
	q = x / m;
	if (!isfinite(q))
		return 0;
	r = nearbyint(q);
	return fabs(q - r) <= 4 * DBL_EPSILON * fmax(1.0, fabs(q));
}

/* ------------------------------------------------------------------ */
/* URIs (RFC 3986 reference resolution, enough for $id / $ref)          */

struct uri {
	const char *scheme, *auth, *path, *query, *frag;
	size_t scheme_len, auth_len, path_len, query_len, frag_len;
	int has_scheme, has_auth, has_query, has_frag;
};

static void
uri_split(const char *u, struct uri *o)
{
	const char *c = u, *d;

	memset(o, 0, sizeof(*o));
	if (isalpha((unsigned char)*c)) {
		for (d = c + 1; isalnum((unsigned char)*d) || *d == '+' || *d == '-' || *d == '.';
		     d++)
			;
		if (*d == ':') {
			o->scheme = c;
			o->scheme_len = (size_t)(d - c);
			o->has_scheme = 1;
			c = d + 1;
		}
	}
	if (c[0] == '/' && c[1] == '/') {
		c += 2;
		o->auth = c;
		while (*c != '\0' && *c != '/' && *c != '?' && *c != '#')
			c++;
		o->auth_len = (size_t)(c - o->auth);
		o->has_auth = 1;
	}
	o->path = c;
	while (*c != '\0' && *c != '?' && *c != '#')
		c++;
	o->path_len = (size_t)(c - o->path);
	if (*c == '?') {
		o->query = ++c;
		while (*c != '\0' && *c != '#')
			c++;
		o->query_len = (size_t)(c - o->query);
		o->has_query = 1;
	}
	if (*c == '#') {
		o->frag = ++c;
		o->frag_len = strlen(c);
		o->has_frag = 1;
	}
}

/* RFC 3986 5.2.4; in is modified, out must hold strlen(in) + 1. */
static void
remove_dots(char *in, char *out)
{
	size_t n = 0;
	char *slash;

	while (*in != '\0') {
		if (strncmp(in, "../", 3) == 0) {
			in += 3;
		} else if (strncmp(in, "./", 2) == 0) {
			in += 2;
		} else if (strncmp(in, "/./", 3) == 0) {
			in += 2;
		} else if (strcmp(in, "/.") == 0) {
			in += 1;
			in[0] = '/';
		} else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
			if (in[3] == '/') {
				in += 3;
			} else {
				in += 2;
				in[0] = '/';
			}
			out[n] = '\0';
			slash = strrchr(out, '/');
			n = slash ? (size_t)(slash - out) : 0;
		} else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
			in += strlen(in);
		} else {
			do
				out[n++] = *in++;
			while (*in != '\0' && *in != '/');
		}
	}
	out[n] = '\0';
}

/* Resolve ref against base (RFC 3986 5.2.2). Returns a malloc'd string or NULL. */
static char *
uri_resolve(const char *base, const char *ref)
{
	struct uri b, r;
	size_t cap = strlen(base) + strlen(ref) + 8;
	char *merged = NULL, *path = NULL, *out = NULL;
	const struct uri *sa, *qa; /* where scheme+authority, query come from */
	size_t n = 0;

	uri_split(base, &b);
	uri_split(ref, &r);
	merged = malloc(cap);
	path = malloc(cap);
	out = malloc(cap);
	if (merged == NULL || path == NULL || out == NULL) {
		free(out);
		out = NULL;
		goto out;
	}
	merged[0] = '\0';
	if (r.has_scheme || r.has_auth) {
		sa = &r;
		qa = &r;
		memcpy(merged, r.path, r.path_len);
		merged[r.path_len] = '\0';
	} else {
		sa = &b;
		if (r.path_len == 0) {
			memcpy(merged, b.path, b.path_len);
			merged[b.path_len] = '\0';
			qa = r.has_query ? &r : &b;
		} else {
			qa = &r;
			if (r.path[0] == '/') {
				memcpy(merged, r.path, r.path_len);
				merged[r.path_len] = '\0';
			} else {
				size_t keep = 0;

				if (b.has_auth && b.path_len == 0) {
					merged[keep++] = '/';
				} else {
					const char *last = NULL;

					for (size_t i = 0; i < b.path_len; i++)
						if (b.path[i] == '/')
							last = b.path + i;
					if (last != NULL) {
						keep = (size_t)(last - b.path) + 1;
						memcpy(merged, b.path, keep);
					}
				}
				memcpy(merged + keep, r.path, r.path_len);
				merged[keep + r.path_len] = '\0';
			}
		}
	}
	remove_dots(merged, path);
	if (r.has_scheme) {
		memcpy(out + n, r.scheme, r.scheme_len);
		n += r.scheme_len;
		out[n++] = ':';
	} else if (b.has_scheme) {
		memcpy(out + n, b.scheme, b.scheme_len);
		n += b.scheme_len;
		out[n++] = ':';
	}
	if (sa->has_auth) {
		out[n++] = '/';
		out[n++] = '/';
		memcpy(out + n, sa->auth, sa->auth_len);
		n += sa->auth_len;
	}
	memcpy(out + n, path, strlen(path));
	n += strlen(path);
	if (qa->has_query) {
		out[n++] = '?';
		memcpy(out + n, qa->query, qa->query_len);
		n += qa->query_len;
	}
	if (r.has_frag && r.frag_len > 0) {
		out[n++] = '#';
		memcpy(out + n, r.frag, r.frag_len);
		n += r.frag_len;
	}
	out[n] = '\0';
out:
	free(merged);
	free(path);
	return out;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s in place. */
static void
pct_decode(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*w++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* ------------------------------------------------------------------ */
/* compiled schema bookkeeping                                          */

static void
node_free(struct js_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	free(n->ref_uri);
	pcre2_code_free(n->pattern);
	free(n->items_arr.v);
	free(n->required);
	free(n->props);
	for (i = 0; i < n->npprops; i++)
		pcre2_code_free(n->pprops[i].re);
	free(n->pprops);
	for (i = 0; i < n->ndeps; i++)
		free(n->deps[i].req);
	free(n->deps);
	free(n->all_of.v);
	free(n->any_of.v);
	free(n->one_of.v);
	free(n);
}

void
pd_jsonschema_free(struct pd_schema *s)
{
	size_t i;

	if (s == NULL || --s->refs > 0)
		return;
	for (i = 0; i < s->nnodes; i++)
		node_free(s->nodes[i]);
	free(s->nodes);
	free(s->map);
	for (i = 0; i < s->nres; i++)
		free(s->res[i].uri);
	free(s->res);
	for (i = 0; i < s->nstrs; i++)
		free(s->strs[i]);
	free(s->strs);
	pcre2_match_data_free(s->md);
	cJSON_Delete(s->doc);
	cJSON_Delete(s->meta);
	free(s);
}

struct pd_schema *
pd_jsonschema_ref(struct pd_schema *s)
{
	if (s != NULL)
		s->refs++;
	return s;
}

static size_t
map_hash(const cJSON *key, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)key;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

static struct js_node *
map_get(const struct pd_schema *s, const cJSON *key)
{
	size_t i;

	if (s->mapcap == 0)
		return NULL;
	for (i = map_hash(key, s->mapcap); s->map[i].key != NULL; i = (i + 1) & (s->mapcap - 1))
		if (s->map[i].key == key)
			return s->map[i].node;
	return NULL;
}

static int
map_put(struct pd_schema *s, const cJSON *key, struct js_node *node)
{
	size_t i;

	if ((s->mapn + 1) * 2 > s->mapcap) {
		size_t ncap = s->mapcap ? s->mapcap * 2 : 64;
		struct js_slot *nm = calloc(ncap, sizeof(*nm));

		if (nm == NULL)
			return -1;
		for (i = 0; i < s->mapcap; i++) {
			size_t j;

			if (s->map[i].key == NULL)
				continue;
			for (j = map_hash(s->map[i].key, ncap); nm[j].key != NULL;
			     j = (j + 1) & (ncap - 1))
				;
			nm[j] = s->map[i];
		}
		free(s->map);
		s->map = nm;
		s->mapcap = ncap;
	}
	for (i = map_hash(key, s->mapcap); s->map[i].key != NULL; i = (i + 1) & (s->mapcap - 1))
		;
	s->map[i].key = key;
	s->map[i].node = node;
	s->mapn++;
	return 0;
}

/* Keep str (malloc'd) for the schema's lifetime; NULL when out of memory (str freed). */
static const char *
keep_str(struct pd_schema *s, char *str)
{
	if (str == NULL)
		return NULL;
	if (pd_buf_grow(&s->strs, &s->capstrs, s->nstrs + 1, sizeof(*s->strs)) < 0) {
		free(str);
		return NULL;
	}
	s->strs[s->nstrs++] = str;
	return str;
}

static const struct js_res *
res_find(const struct pd_schema *s, const char *uri)
{
	for (size_t i = 0; i < s->nres; i++)
		if (strcmp(s->res[i].uri, uri) == 0)
			return &s->res[i];
	return NULL;
}

/* First registration of a URI wins. */
static int
res_add(struct pd_schema *s, const char *uri, const cJSON *json, const char *base)
{
	char *dup;

	if (res_find(s, uri) != NULL)
		return 0;
	if (pd_buf_grow(&s->res, &s->capres, s->nres + 1, sizeof(*s->res)) < 0)
		return -1;
	dup = strdup(uri);
	if (dup == NULL)
		return -1;
	s->res[s->nres].uri = dup;
	s->res[s->nres].json = json;
	s->res[s->nres].base = base;
	s->nres++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* compile                                                              */

struct cctx {
	struct pd_schema *s;
	struct pd_err *err;
	int depth;
	char loc[256]; /* JSON pointer of what is being compiled, for errors */
	size_t loc_len;
	struct js_node **pending;
	size_t npending, cappending;
};

static size_t
loc_push(struct cctx *cc, const char *key)
{
	size_t saved = cc->loc_len;

	if (cc->loc_len + 1 < sizeof(cc->loc))
		cc->loc[cc->loc_len++] = '/';
	for (; *key != '\0' && cc->loc_len + 2 < sizeof(cc->loc); key++) {
		if (*key == '~' || *key == '/') {
			cc->loc[cc->loc_len++] = '~';
			cc->loc[cc->loc_len++] = *key == '~' ? '0' : '1';
		} else {
			cc->loc[cc->loc_len++] = *key;
		}
	}
	cc->loc[cc->loc_len] = '\0';
	return saved;
}

static size_t
loc_push_index(struct cctx *cc, size_t i)
{
	char num[24];

	snprintf(num, sizeof(num), "%zu", i);
	return loc_push(cc, num);
}

static void
loc_pop(struct cctx *cc, size_t saved)
{
	cc->loc_len = saved;
	cc->loc[saved] = '\0';
}

static void
loc_set(struct cctx *cc, const char *where)
{
	snprintf(cc->loc, sizeof(cc->loc), "%s", where);
	cc->loc_len = strlen(cc->loc);
}

static int cc_fail(struct cctx *cc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
cc_fail(struct cctx *cc, const char *fmt, ...)
{
	char detail[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* the tail of a long location names the offending keyword: keep that */
	if (cc->loc_len > 100)
		return pd_err_set(cc->err, PD_ERR_INVALID, "schema ...%s: %s",
				  cc->loc + cc->loc_len - 100, detail);
	return pd_err_set(cc->err, PD_ERR_INVALID, "schema %s: %s", cc->loc, detail);
}

static int
cc_nomem(struct cctx *cc)
{
	return pd_err_set(cc->err, PD_ERR_NOMEM, "schema: out of memory");
}

static struct js_node *compile(struct cctx *cc, const cJSON *j, const char *base);

/* Compile the subschema at j[key] (j's child) into *out. */
static int
compile_child(struct cctx *cc, const cJSON *j, const char *key, const char *base,
	      struct js_node **out)
{
	size_t saved = loc_push(cc, key);

	*out = compile(cc, j, base);
	loc_pop(cc, saved);
	return *out == NULL ? -1 : 0;
}

static int
compile_list(struct cctx *cc, const cJSON *arr, const char *kw, const char *base,
	     struct js_list *out, int allow_empty)
{
	size_t saved, i = 0;
	const cJSON *c;
	int rc = -1;

	saved = loc_push(cc, kw);
	if (!cJSON_IsArray(arr) || (!allow_empty && arr->child == NULL)) {
		cc_fail(cc, "must be %sarray of schemas", allow_empty ? "an " : "a non-empty ");
		goto out;
	}
	out->n = (size_t)cJSON_GetArraySize(arr);
	out->v = calloc(out->n ? out->n : 1, sizeof(*out->v));
	if (out->v == NULL) {
		cc_nomem(cc);
		goto out;
	}
	cJSON_ArrayForEach(c, arr)
	{
		size_t s2 = loc_push_index(cc, i);

		out->v[i] = compile(cc, c, base);
		loc_pop(cc, s2);
		if (out->v[i] == NULL)
			goto out;
		i++;
	}
	rc = 0;
out:
	loc_pop(cc, saved);
	return rc;
}

static int
compile_regex(struct cctx *cc, const char *src, pcre2_code **out)
{
	int ec;
	PCRE2_SIZE off;
	PCRE2_UCHAR msg[120];

	*out = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
			     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY, &ec, &off,
			     NULL);
	if (*out == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		return cc_fail(cc, "invalid regex \"%.60s\": %s at offset %zu", src, (char *)msg,
			       (size_t)off);
	}
	/* JIT is an optimisation only: without it pcre2_match interprets */
	(void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
	return 0;
}

/* Number-valued keyword: 1 present (value in *v), 0 absent, -1 error. */
static int
kw_number(struct cctx *cc, const cJSON *j, const char *kw, int nonneg_int, double *v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, kw);
	size_t saved;

	if (x == NULL)
		return 0;
	if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) ||
	    (nonneg_int && (!is_integer_value(x->valuedouble) || x->valuedouble < 0))) {
		saved = loc_push(cc, kw);
		cc_fail(cc, "must be a %s", nonneg_int ? "non-negative integer" : "number");
		loc_pop(cc, saved);
		return -1;
	}
	*v = x->valuedouble;
	return 1;
}

static int
prop_cmp(const void *a, const void *b)
{
	return strcmp(((const struct js_prop *)a)->name, ((const struct js_prop *)b)->name);
}

static int
compile_types(struct cctx *cc, struct js_node *n, const cJSON *t)
{
	const cJSON *c;
	size_t i, saved = loc_push(cc, "type");
	int rc = -1;

	if (!cJSON_IsString(t) && !(cJSON_IsArray(t) && t->child != NULL)) {
		cc_fail(cc, "must be a type name or a non-empty array of type names");
		goto out;
	}
	n->type_json = t;
	for (c = cJSON_IsArray(t) ? t->child : t; c != NULL;
	     c = cJSON_IsArray(t) ? c->next : NULL) {
		if (!cJSON_IsString(c)) {
			cc_fail(cc, "type names must be strings");
			goto out;
		}
		for (i = 0; i < sizeof(js_type_names) / sizeof(js_type_names[0]); i++)
			if (strcmp(c->valuestring, js_type_names[i].name) == 0)
				break;
		if (i == sizeof(js_type_names) / sizeof(js_type_names[0])) {
			cc_fail(cc, "unknown type \"%.40s\"", c->valuestring);
			goto out;
		}
		n->types |= js_type_names[i].bit;
	}
	rc = 0;
out:
	loc_pop(cc, saved);
	return rc;
}

/* Array of unique-or-not strings → const char * vector. */
static int
compile_strings(struct cctx *cc, const cJSON *arr, const char ***out, size_t *n)
{
	const cJSON *c;
	size_t i = 0;

	if (!cJSON_IsArray(arr))
		return cc_fail(cc, "must be an array of strings");
	*n = (size_t)cJSON_GetArraySize(arr);
	*out = calloc(*n ? *n : 1, sizeof(**out));
	if (*out == NULL)
		return cc_nomem(cc);
	cJSON_ArrayForEach(c, arr)
	{
		if (!cJSON_IsString(c))
			return cc_fail(cc, "must be an array of strings");
		(*out)[i++] = c->valuestring;
	}
	return 0;
}

static int
compile_object_kws(struct cctx *cc, struct js_node *n, const cJSON *j, const char *base)
{
	const cJSON *x, *c;
	size_t saved = cc->loc_len, i;
	int rc = -1;

	if ((x = cJSON_GetObjectItemCaseSensitive(j, "required")) != NULL) {
		saved = loc_push(cc, "required");
		rc = compile_strings(cc, x, &n->required, &n->nrequired);
		loc_pop(cc, saved);
		if (rc < 0)
			return -1;
	}
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "properties")) != NULL) {
		saved = loc_push(cc, "properties");
		if (!cJSON_IsObject(x)) {
			cc_fail(cc, "must be an object of schemas");
			goto fail;
		}
		n->nprops = (size_t)cJSON_GetArraySize(x);
		n->props = calloc(n->nprops ? n->nprops : 1, sizeof(*n->props));
		if (n->props == NULL) {
			cc_nomem(cc);
			goto fail;
		}
		i = 0;
		cJSON_ArrayForEach(c, x)
		{
			n->props[i].name = c->string;
			if (compile_child(cc, c, c->string, base, &n->props[i].schema) < 0)
				goto fail;
			i++;
		}
		qsort(n->props, n->nprops, sizeof(*n->props), prop_cmp);
		loc_pop(cc, saved);
	}
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "patternProperties")) != NULL) {
		saved = loc_push(cc, "patternProperties");
		if (!cJSON_IsObject(x)) {
			cc_fail(cc, "must be an object of schemas");
			goto fail;
		}
		n->pprops = calloc((size_t)cJSON_GetArraySize(x) + 1, sizeof(*n->pprops));
		if (n->pprops == NULL) {
			cc_nomem(cc);
			goto fail;
		}
		cJSON_ArrayForEach(c, x)
		{
			struct js_pprop *pp = &n->pprops[n->npprops];

			pp->src = c->string;
			if (compile_regex(cc, c->string, &pp->re) < 0)
				goto fail;
			n->npprops++;
			if (compile_child(cc, c, c->string, base, &pp->schema) < 0)
				goto fail;
		}
		loc_pop(cc, saved);
	}
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "additionalProperties")) != NULL &&
	    compile_child(cc, x, "additionalProperties", base, &n->additional_props) < 0)
		return -1;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "propertyNames")) != NULL &&
	    compile_child(cc, x, "propertyNames", base, &n->property_names) < 0)
		return -1;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "dependencies")) != NULL) {
		saved = loc_push(cc, "dependencies");
		if (!cJSON_IsObject(x)) {
			cc_fail(cc, "must be an object");
			goto fail;
		}
		n->deps = calloc((size_t)cJSON_GetArraySize(x) + 1, sizeof(*n->deps));
		if (n->deps == NULL) {
			cc_nomem(cc);
			goto fail;
		}
		cJSON_ArrayForEach(c, x)
		{
			struct js_dep *d = &n->deps[n->ndeps++];

			d->name = c->string;
			if (cJSON_IsArray(c)) {
				size_t s2 = loc_push(cc, c->string);

				rc = compile_strings(cc, c, &d->req, &d->nreq);
				loc_pop(cc, s2);
				if (rc < 0)
					goto fail;
			} else if (compile_child(cc, c, c->string, base, &d->schema) < 0) {
				goto fail;
			}
		}
		loc_pop(cc, saved);
	}
	return 0;
fail:
	loc_pop(cc, saved);
	return -1;
}

static int
compile_array_kws(struct cctx *cc, struct js_node *n, const cJSON *j, const char *base)
{
	const cJSON *x;

	if ((x = cJSON_GetObjectItemCaseSensitive(j, "items")) != NULL) {
		if (cJSON_IsArray(x)) {
			n->items_tuple = 1;
			if (compile_list(cc, x, "items", base, &n->items_arr, 1) < 0)
				return -1;
		} else if (compile_child(cc, x, "items", base, &n->items) < 0) {
			return -1;
		}
	}
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "additionalItems")) != NULL &&
	    compile_child(cc, x, "additionalItems", base, &n->additional_items) < 0)
		return -1;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "contains")) != NULL &&
	    compile_child(cc, x, "contains", base, &n->contains) < 0)
		return -1;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "uniqueItems")) != NULL) {
		if (!cJSON_IsBool(x)) {
			size_t saved = loc_push(cc, "uniqueItems");

			cc_fail(cc, "must be a boolean");
			loc_pop(cc, saved);
			return -1;
		}
		if (cJSON_IsTrue(x))
			n->has |= H_UNIQUE;
	}
	return 0;
}

static int
compile_scalar_kws(struct cctx *cc, struct js_node *n, const cJSON *j)
{
	static const struct {
		const char *kw;
		unsigned bit;
		int nonneg_int;
		size_t off;
	} nums[] = {
		{"multipleOf", H_MULTIPLE, 0, offsetof(struct js_node, multiple_of)},
		{"maximum", H_MAXIMUM, 0, offsetof(struct js_node, maximum)},
		{"minimum", H_MINIMUM, 0, offsetof(struct js_node, minimum)},
		{"exclusiveMaximum", H_XMAXIMUM, 0, offsetof(struct js_node, xmaximum)},
		{"exclusiveMinimum", H_XMINIMUM, 0, offsetof(struct js_node, xminimum)},
		{"maxLength", H_MAXLENGTH, 1, offsetof(struct js_node, max_length)},
		{"minLength", H_MINLENGTH, 1, offsetof(struct js_node, min_length)},
		{"maxItems", H_MAXITEMS, 1, offsetof(struct js_node, max_items)},
		{"minItems", H_MINITEMS, 1, offsetof(struct js_node, min_items)},
		{"maxProperties", H_MAXPROPS, 1, offsetof(struct js_node, max_props)},
		{"minProperties", H_MINPROPS, 1, offsetof(struct js_node, min_props)},
	};
	const cJSON *x;
	size_t i, saved;
	int r;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		r = kw_number(cc, j, nums[i].kw, nums[i].nonneg_int,
			      (double *)(void *)((char *)n + nums[i].off));
		if (r < 0)
			return -1;
		if (r > 0)
			n->has |= nums[i].bit;
	}
	if ((n->has & H_MULTIPLE) && !(n->multiple_of > 0)) {
		saved = loc_push(cc, "multipleOf");
		cc_fail(cc, "must be greater than 0");
		loc_pop(cc, saved);
		return -1;
	}
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "type")) != NULL &&
	    compile_types(cc, n, x) < 0)
		return -1;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "enum")) != NULL) {
		if (!cJSON_IsArray(x)) {
			saved = loc_push(cc, "enum");
			cc_fail(cc, "must be an array");
			loc_pop(cc, saved);
			return -1;
		}
		n->enum_vals = x;
	}
	n->const_val = cJSON_GetObjectItemCaseSensitive(j, "const");
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "pattern")) != NULL) {
		saved = loc_push(cc, "pattern");
		if (!cJSON_IsString(x))
			r = cc_fail(cc, "must be a string");
		else
			r = compile_regex(cc, x->valuestring, &n->pattern);
		loc_pop(cc, saved);
		if (r < 0)
			return -1;
		n->pattern_src = x->valuestring;
	}
	return 0;
}

/* Apply a "$id" to base; returns the new base (kept by the schema) or NULL on error.
 * With reg, j is registered under its URI (resource) and under "uri#name" when the id
 * carries a plain-name fragment (anchor). */
static const char *
apply_id(struct cctx *cc, const char *base, const char *id, const cJSON *j, int reg)
{
	char *full, *hash;
	const char *nbase;
	int rc = 0;

	full = uri_resolve(base, id);
	if (full == NULL) {
		cc_nomem(cc);
		return NULL;
	}
	hash = strchr(full, '#');
	nbase = keep_str(cc->s, strndup(full, hash ? (size_t)(hash - full) : strlen(full)));
	if (nbase == NULL) {
		free(full);
		cc_nomem(cc);
		return NULL;
	}
	if (reg && hash != NULL && hash[1] != '/')
		rc = res_add(cc->s, full, j, nbase);
	if (reg && rc == 0 && id[0] != '#')
		rc = res_add(cc->s, nbase, j, nbase);
	free(full);
	if (rc < 0) {
		cc_nomem(cc);
		return NULL;
	}
	return nbase;
}

/* "definitions" holds schemas for reuse: compile them so their "$id"s are known and
 * their errors reported at load time, even when nothing refers to them. */
static int
compile_definitions(struct cctx *cc, const cJSON *j, const char *base)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, "definitions"), *c;
	struct js_node *tmp;
	size_t saved;
	int rc = -1;

	if (x == NULL)
		return 0;
	saved = loc_push(cc, "definitions");
	if (!cJSON_IsObject(x)) {
		cc_fail(cc, "must be an object of schemas");
		goto out;
	}
	cJSON_ArrayForEach(c, x)
	{
		if (compile_child(cc, c, c->string, base, &tmp) < 0)
			goto out;
	}
	rc = 0;
out:
	loc_pop(cc, saved);
	return rc;
}

static struct js_node *
compile(struct cctx *cc, const cJSON *j, const char *base)
{
	struct js_node *n;
	const cJSON *x;
	int ok = 0;

	n = map_get(cc->s, j);
	if (n != NULL)
		return n;
	if (!cJSON_IsObject(j) && !cJSON_IsBool(j)) {
		cc_fail(cc, "must be a schema (object or boolean), got %s",
			pd_jsonschema_type_name(j));
		return NULL;
	}
	if (cc->depth >= PD_SCHEMA_MAX_DEPTH) {
		cc_fail(cc, "nested deeper than %d levels", PD_SCHEMA_MAX_DEPTH);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL || pd_buf_grow(&cc->s->nodes, &cc->s->capnodes, cc->s->nnodes + 1,
				     sizeof(*cc->s->nodes)) < 0) {
		free(n);
		cc_nomem(cc);
		return NULL;
	}
	cc->s->nodes[cc->s->nnodes++] = n;
	if (map_put(cc->s, j, n) < 0) {
		cc_nomem(cc);
		return NULL;
	}
	if (cJSON_IsBool(j)) {
		n->kind = cJSON_IsTrue(j) ? K_TRUE : K_FALSE;
		return n;
	}
	n->kind = K_OBJECT;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "$ref")) != NULL) {
		/* draft 7: all other properties of a "$ref" object are ignored */
		if (!cJSON_IsString(x)) {
			size_t saved = loc_push(cc, "$ref");

			cc_fail(cc, "must be a string");
			loc_pop(cc, saved);
			return NULL;
		}
		n->has |= H_REF;
		n->ref_str = x->valuestring;
		n->ref_base = base;
		if (pd_buf_grow(&cc->pending, &cc->cappending, cc->npending + 1,
				sizeof(*cc->pending)) < 0) {
			cc_nomem(cc);
			return NULL;
		}
		cc->pending[cc->npending++] = n;
		/* a "$ref" object's siblings, its "$id" included, do not apply to it; the
		 * definitions next to it are still where its pointers usually lead */
		cc->depth++;
		ok = compile_definitions(cc, j, base) == 0;
		cc->depth--;
		return ok ? n : NULL;
	}
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "$id")) != NULL) {
		if (!cJSON_IsString(x)) {
			size_t saved = loc_push(cc, "$id");

			cc_fail(cc, "must be a string");
			loc_pop(cc, saved);
			return NULL;
		}
		base = apply_id(cc, base, x->valuestring, j, 1);
		if (base == NULL)
			return NULL;
	}
	cc->depth++;
	if (compile_scalar_kws(cc, n, j) < 0 || compile_array_kws(cc, n, j, base) < 0 ||
	    compile_object_kws(cc, n, j, base) < 0)
		goto out;
	if (compile_definitions(cc, j, base) < 0)
		goto out;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "allOf")) != NULL &&
	    compile_list(cc, x, "allOf", base, &n->all_of, 0) < 0)
		goto out;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "anyOf")) != NULL &&
	    compile_list(cc, x, "anyOf", base, &n->any_of, 0) < 0)
		goto out;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "oneOf")) != NULL &&
	    compile_list(cc, x, "oneOf", base, &n->one_of, 0) < 0)
		goto out;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "not")) != NULL &&
	    compile_child(cc, x, "not", base, &n->not_) < 0)
		goto out;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "if")) != NULL &&
	    compile_child(cc, x, "if", base, &n->if_) < 0)
		goto out;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "then")) != NULL &&
	    compile_child(cc, x, "then", base, &n->then_) < 0)
		goto out;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "else")) != NULL &&
	    compile_child(cc, x, "else", base, &n->else_) < 0)
		goto out;
	ok = 1;
out:
	cc->depth--;
	return ok ? n : NULL;
}

/* Walk JSON pointer ptr (percent-decoded, "" or starting with '/') from root. *tbase gets
 * the base URI in effect at the target (intermediate "$id"s applied). NULL: no such
 * location (cc->err untouched) or out of memory (*nomem set). */
static const cJSON *
ptr_walk(struct cctx *cc, const cJSON *root, const char *ptr, const char *base, const char **tbase,
	 int *nomem)
{
	const cJSON *cur = root, *id;
	char *tok = NULL, *w, *end;
	const char *p = ptr;
	unsigned long idx;

	*nomem = 0;
	tok = malloc(strlen(ptr) + 1);
	if (tok == NULL) {
		*nomem = 1;
		return NULL;
	}
	while (cur != NULL && *p == '/') {
		if (cur != root && cJSON_IsObject(cur) &&
		    cJSON_GetObjectItemCaseSensitive(cur, "$ref") == NULL &&
		    cJSON_IsString(id = cJSON_GetObjectItemCaseSensitive(cur, "$id"))) {
			base = apply_id(cc, base, id->valuestring, cur, 0);
			if (base == NULL) {
				*nomem = 1;
				cur = NULL;
				break;
			}
		}
		for (p++, w = tok; *p != '\0' && *p != '/'; p++) {
			if (p[0] == '~' && p[1] == '0') {
				*w++ = '~';
				p++;
			} else if (p[0] == '~' && p[1] == '1') {
				*w++ = '/';
				p++;
			} else {
				*w++ = *p;
			}
		}
		*w = '\0';
		if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
		} else if (cJSON_IsArray(cur) && isdigit((unsigned char)tok[0]) &&
			   (tok[0] != '0' || tok[1] == '\0')) {
			idx = strtoul(tok, &end, 10);
			cur = *end == '\0' && idx < (unsigned long)cJSON_GetArraySize(cur)
				      ? cJSON_GetArrayItem(cur, (int)idx)
				      : NULL;
		} else {
			cur = NULL;
		}
	}
	free(tok);
	*tbase = base;
	return cur;
}

static int
load_meta(struct cctx *cc)
{
	int saved_depth = cc->depth;
	struct js_node *n;

	if (cc->s->meta != NULL)
		return 0;
	cc->s->meta = cJSON_Parse(js_meta_text);
	if (cc->s->meta == NULL)
		return cc_nomem(cc);
	cc->depth = 0;
	loc_set(cc, JS_META_URI "#");
	n = compile(cc, cc->s->meta, "");
	cc->depth = saved_depth;
	return n == NULL ? -1 : 0;
}

static int
resolve_ref(struct cctx *cc, struct js_node *n)
{
	const struct js_res *r;
	const cJSON *target = NULL;
	const char *tbase = NULL;
	char *docpart = NULL, *frag, *hash;
	int rc = -1, nomem = 0;

	loc_set(cc, n->ref_str);
	n->ref_uri = uri_resolve(n->ref_base ? n->ref_base : "", n->ref_str);
	docpart = n->ref_uri ? strdup(n->ref_uri) : NULL;
	if (docpart == NULL) {
		cc_nomem(cc);
		goto out;
	}
	hash = strchr(docpart, '#');
	frag = hash ? hash + 1 : docpart + strlen(docpart);
	if (hash != NULL)
		*hash = '\0';
	if (res_find(cc->s, docpart) == NULL && strcmp(docpart, JS_META_URI) == 0 &&
	    load_meta(cc) < 0)
		goto out;
	loc_set(cc, n->ref_str);
	if (frag[0] == '\0' || frag[0] == '/') {
		r = res_find(cc->s, docpart);
		if (r != NULL) {
			pct_decode(frag);
			target = ptr_walk(cc, r->json, frag, r->base, &tbase, &nomem);
			if (nomem) {
				cc_nomem(cc);
				goto out;
			}
			if (target == NULL) {
				cc_fail(cc, "$ref \"%.80s\": no such location", n->ref_uri);
				goto out;
			}
		}
	} else {
		r = res_find(cc->s, n->ref_uri);
		if (r != NULL) {
			target = r->json;
			tbase = r->base;
		} else if (res_find(cc->s, docpart) != NULL) {
			cc_fail(cc, "$ref \"%.80s\": no such identifier", n->ref_uri);
			goto out;
		}
	}
	if (target == NULL) {
		pd_log_warn("schema: $ref \"%.200s\" not resolvable (remote references are not "
			    "supported); instances reaching it fail",
			    n->ref_uri);
		rc = 0;
		goto out;
	}
	n->ref = compile(cc, target, tbase);
	if (n->ref == NULL)
		goto out;
	rc = 0;
out:
	free(docpart);
	return rc;
}

/* ------------------------------------------------------------------ */
/* validate                                                             */

struct vseg {
	const char *key; /* NULL: array index */
	size_t idx;
};

struct vctx {
	const struct pd_schema *s;
	struct pd_schema_error *errs;
	size_t max, n;
	int quiet; /* inside anyOf/oneOf/not/if/contains/propertyNames: no reports */
	int edepth;
	size_t sp;
	struct vseg seg[PD_SCHEMA_MAX_DEPTH + 1];
};

/* No more reports will be kept: stop at the first failure. */
#define STOP(c) ((c)->quiet || (c)->n >= (c)->max)
#define FAIL()                    \
	do {                      \
		ok = 0;           \
		if (STOP(c))      \
			return 0; \
	} while (0)

static int
is_ident(const char *k)
{
	if (!(isalpha((unsigned char)*k) || *k == '_'))
		return 0;
	for (k++; *k != '\0'; k++)
		if (!(isalnum((unsigned char)*k) || *k == '_'))
			return 0;
	return 1;
}

static void
render_path(const struct vctx *c, char *out, size_t cap)
{
	struct wbuf w = {out, 0, cap - 4, 0};
	char num[32];
	size_t i;

	wb_put(&w, "$", 1);
	for (i = 0; i < c->sp && !w.trunc; i++) {
		if (c->seg[i].key == NULL) {
			snprintf(num, sizeof(num), "[%zu]", c->seg[i].idx);
			wb_str(&w, num);
		} else if (is_ident(c->seg[i].key)) {
			wb_put(&w, ".", 1);
			wb_str(&w, c->seg[i].key);
		} else {
			wb_put(&w, "[", 1);
			wb_quoted(&w, c->seg[i].key);
			wb_put(&w, "]", 1);
		}
	}
	wb_finish(&w);
}

enum got_style { GOT_NONE, GOT_VALUE, GOT_TYPED };

static void report(struct vctx *c, const char *kw, const cJSON *x, enum got_style got,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
report(struct vctx *c, const char *kw, const cJSON *x, enum got_style got, const char *fmt, ...)
{
	struct pd_schema_error *e;
	char detail[160], val[JS_VALUE_MAX + 8], gotbuf[JS_VALUE_MAX + 24];
	struct wbuf w;
	va_list ap;

	if (STOP(c))
		return;
	e = &c->errs[c->n++];
	render_path(c, e->path, sizeof(e->path));
	snprintf(e->keyword, sizeof(e->keyword), "%s", kw);
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	gotbuf[0] = '\0';
	if (got != GOT_NONE && x != NULL) {
		render_value(val, sizeof(val), x);
		if (got == GOT_TYPED && (cJSON_IsArray(x) || cJSON_IsObject(x) || cJSON_IsNull(x)))
			snprintf(gotbuf, sizeof(gotbuf), ", got %s", pd_jsonschema_type_name(x));
		else if (got == GOT_TYPED)
			snprintf(gotbuf, sizeof(gotbuf), ", got %s %s", pd_jsonschema_type_name(x),
				 val);
		else
			snprintf(gotbuf, sizeof(gotbuf), ", got %s", val);
	}
	w.p = e->msg;
	w.len = 0;
	w.cap = sizeof(e->msg) - 4;
	w.trunc = 0;
	wb_str(&w, e->path);
	wb_str(&w, ": ");
	wb_str(&w, kw);
	if (detail[0] != '\0') {
		wb_str(&w, " ");
		wb_str(&w, detail);
	}
	wb_str(&w, gotbuf);
	wb_finish(&w);
}

static int v_node(struct vctx *c, const struct js_node *n, const cJSON *x, const char *kw);

/* Run n over x without reporting; 1 valid. */
static int
v_quiet(struct vctx *c, const struct js_node *n, const cJSON *x)
{
	int saved = c->quiet, r;

	if (n->kind == K_TRUE)
		return 1;
	c->quiet = 1;
	r = v_node(c, n, x, NULL);
	c->quiet = saved;
	return r;
}

static int
push_seg(struct vctx *c, const char *key, size_t idx)
{
	if (c->sp >= PD_SCHEMA_MAX_DEPTH) {
		report(c, "depth", NULL, GOT_NONE, "instance nested deeper than %d levels",
		       PD_SCHEMA_MAX_DEPTH);
		return -1;
	}
	c->seg[c->sp].key = key;
	c->seg[c->sp].idx = idx;
	c->sp++;
	return 0;
}

/* Apply n to a child of the current instance (object member key, or array index). */
static int
v_child(struct vctx *c, const struct js_node *n, const cJSON *x, const char *key, size_t idx,
	const char *kw)
{
	int r;

	if (n->kind == K_TRUE)
		return 1;
	if (push_seg(c, key, idx) < 0)
		return 0;
	r = v_node(c, n, x, kw);
	c->sp--;
	return r;
}

static int
v_number(struct vctx *c, const struct js_node *n, const cJSON *x)
{
	double d = x->valuedouble;
	char lim[40];
	int ok = 1;

	if ((n->has & H_MULTIPLE) && !is_multiple(d, n->multiple_of)) {
		fmt_number(lim, sizeof(lim), n->multiple_of);
		report(c, "multipleOf", x, GOT_VALUE, "%s", lim);
		FAIL();
	}
	if ((n->has & H_MAXIMUM) && !(d <= n->maximum)) {
		fmt_number(lim, sizeof(lim), n->maximum);
		report(c, "maximum", x, GOT_VALUE, "%s", lim);
		FAIL();
	}
	if ((n->has & H_XMAXIMUM) && !(d < n->xmaximum)) {
		fmt_number(lim, sizeof(lim), n->xmaximum);
		report(c, "exclusiveMaximum", x, GOT_VALUE, "%s", lim);
		FAIL();
	}
	if ((n->has & H_MINIMUM) && !(d >= n->minimum)) {
		fmt_number(lim, sizeof(lim), n->minimum);
		report(c, "minimum", x, GOT_VALUE, "%s", lim);
		FAIL();
	}
	if ((n->has & H_XMINIMUM) && !(d > n->xminimum)) {
		fmt_number(lim, sizeof(lim), n->xminimum);
		report(c, "exclusiveMinimum", x, GOT_VALUE, "%s", lim);
		FAIL();
	}
	return ok;
}

static int
v_string(struct vctx *c, const struct js_node *n, const cJSON *x)
{
	const char *str = x->valuestring ? x->valuestring : "";
	char pat[JS_VALUE_MAX + 8];
	double len;
	int ok = 1, rc;

	if (n->has & (H_MAXLENGTH | H_MINLENGTH)) {
		len = (double)utf8_length(str);
		if ((n->has & H_MAXLENGTH) && len > n->max_length) {
			report(c, "maxLength", x, GOT_VALUE, "%.0f", n->max_length);
			FAIL();
		}
		if ((n->has & H_MINLENGTH) && len < n->min_length) {
			report(c, "minLength", x, GOT_VALUE, "%.0f", n->min_length);
			FAIL();
		}
	}
	if (n->pattern != NULL) {
		rc = pcre2_match(n->pattern, (PCRE2_SPTR)str, strlen(str), 0, 0, c->s->md, NULL);
		if (rc < 0) {
			render_quoted(pat, sizeof(pat), n->pattern_src);
			if (rc == PCRE2_ERROR_NOMATCH)
				report(c, "pattern", x, GOT_VALUE, "%s", pat);
			else
				report(c, "pattern", x, GOT_VALUE, "%s (match error %d)", pat, rc);
			FAIL();
		}
	}
	return ok;
}

/* ---- uniqueItems in O(n log n) ----
 * Each item gets a 64-bit hash that equal items (json_equal) share: numbers by value
 * (-0 = 0, so 1 and 1.0 hash alike), strings by bytes, arrays in order, objects as an
 * order-free sum over their members. Below PD_SCHEMA_MAX_DEPTH levels the hash stops
 * looking (a constant), so items alike down to that depth still land together and
 * json_equal reports "too deep to compare" as before (items that differ elsewhere are
 * now simply different: the pairwise scan gave up on them). Two objects with duplicate
 * keys may compare equal by json_equal yet hash apart (RFC 8259: names SHOULD be
 * unique). Sorted by (hash, index), only items of one run of
 * equal hashes are compared with json_equal: n log n plus the (rare) collisions. The
 * pair reported is the one the pairwise scan found first: the smallest i, then j. */
#define uq_mix pd_hash_mix64

#define uq_bytes pd_hash_fnv1a

static uint64_t
uq_hash(const cJSON *j, int depth)
{
	uint64_t h = PD_HASH_FNV_OFFSET ^ (uint64_t)(j->type & 0xFF), m;
	const cJSON *x;
	const char *str;
	double d;

	if (depth > PD_SCHEMA_MAX_DEPTH)
		return 0;
	switch (j->type & 0xFF) {
	case cJSON_Number:
		d = j->valuedouble == 0 ? 0.0 : j->valuedouble;
		return uq_mix(uq_bytes(h, &d, sizeof(d)));
	case cJSON_String:
	case cJSON_Raw:
		str = j->valuestring ? j->valuestring : "";
		return uq_mix(uq_bytes(h, str, strlen(str)));
	case cJSON_Array:
		for (x = j->child; x != NULL; x = x->next)
			h = uq_mix(h ^ uq_hash(x, depth + 1)) + 0x9e3779b97f4a7c15ULL;
		return h;
	case cJSON_Object:
		m = 0;
		for (x = j->child; x != NULL; x = x->next) {
			str = x->string ? x->string : "";
			m += uq_mix(uq_bytes(PD_HASH_FNV_OFFSET, str, strlen(str)) ^
				    uq_hash(x, depth + 1));
			h++;
		}
		return uq_mix(h ^ uq_mix(m));
	default:
		return uq_mix(h);
	}
}

struct uq_item {
	uint64_t hash;
	size_t index;
	const cJSON *item;
};

static int
uq_cmp(const void *a, const void *b)
{
	const struct uq_item *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* 1 when the items of array x are unique; otherwise reports and returns 0 */
static int
unique_check(struct vctx *c, const cJSON *x)
{
	struct uq_item *v;
	const cJSON *it, *jt, *at = NULL;
	size_t n = 0, i, j, bi = SIZE_MAX, bj = SIZE_MAX, a, b;
	int r, deep = 0;

	for (it = x->child; it != NULL; it = it->next)
		n++;
	if (n < 2)
		return 1;
	if ((v = malloc(n * sizeof(*v))) == NULL) {
		/* out of memory: the pairwise scan, slow but allocation-free */
		for (it = x->child, i = 0; it != NULL; it = it->next, i++)
			for (jt = it->next, j = i + 1; jt != NULL; jt = jt->next, j++)
				if ((r = json_equal(it, jt, 0)) != 0) {
					bi = i;
					bj = j;
					at = it;
					deep = r < 0;
					goto found;
				}
		return 1;
	}
	for (it = x->child, i = 0; it != NULL; it = it->next, i++) {
		v[i].hash = uq_hash(it, 0);
		v[i].index = i;
		v[i].item = it;
	}
	qsort(v, n, sizeof(*v), uq_cmp);
	for (a = 0; a < n; a = b) {
		for (b = a + 1; b < n && v[b].hash == v[a].hash; b++)
			;
		/* the run [a, b) is in index order: the first equal pair per i is found
		 * with the smallest j; keep the smallest (i, j) over all runs */
		for (i = a; i + 1 < b && v[i].index < bi; i++)
			for (j = i + 1; j < b; j++) {
				r = json_equal(v[i].item, v[j].item, 0);
				if (r == 0)
					continue;
				if (v[i].index < bi || (v[i].index == bi && v[j].index < bj)) {
					bi = v[i].index;
					bj = v[j].index;
					at = v[i].item;
					deep = r < 0;
				}
				break;
			}
	}
	free(v);
	if (bi == SIZE_MAX)
		return 1;
found:
	if (deep)
		report(c, "depth", NULL, GOT_NONE, "items nested deeper than %d levels to compare",
		       PD_SCHEMA_MAX_DEPTH);
	else
		report(c, "uniqueItems", at, GOT_NONE, "items [%zu] and [%zu] are equal", bi, bj);
	return 0;
}

static int
v_array(struct vctx *c, const struct js_node *n, const cJSON *x)
{
	const cJSON *it;
	size_t i, count = 0;
	int ok = 1;

	if (n->has & (H_MAXITEMS | H_MINITEMS)) {
		for (it = x->child; it != NULL; it = it->next)
			count++;
		if ((n->has & H_MAXITEMS) && (double)count > n->max_items) {
			report(c, "maxItems", NULL, GOT_NONE, "%.0f, got %zu items", n->max_items,
			       count);
			FAIL();
		}
		if ((n->has & H_MINITEMS) && (double)count < n->min_items) {
			report(c, "minItems", NULL, GOT_NONE, "%.0f, got %zu items", n->min_items,
			       count);
			FAIL();
		}
	}
	if (n->items != NULL && n->items->kind != K_TRUE) {
		for (it = x->child, i = 0; it != NULL; it = it->next, i++)
			if (!v_child(c, n->items, it, NULL, i, "items"))
				FAIL();
	} else if (n->items_tuple) {
		for (it = x->child, i = 0; it != NULL; it = it->next, i++) {
			if (i < n->items_arr.n) {
				if (!v_child(c, n->items_arr.v[i], it, NULL, i, "items"))
					FAIL();
			} else if (n->additional_items == NULL) {
				break;
			} else if (!v_child(c, n->additional_items, it, NULL, i,
					    "additionalItems")) {
				FAIL();
			}
		}
	}
	if ((n->has & H_UNIQUE) && !unique_check(c, x))
		FAIL();
	if (n->contains != NULL) {
		int found = 0;

		for (it = x->child, i = 0; it != NULL && !found; it = it->next, i++) {
			int saved = c->quiet;

			c->quiet = 1;
			found = v_child(c, n->contains, it, NULL, i, NULL);
			c->quiet = saved;
		}
		if (!found) {
			report(c, "contains", x, GOT_VALUE, "no matching item");
			FAIL();
		}
	}
	return ok;
}

static const struct js_prop *
find_prop(const struct js_node *n, const char *name)
{
	size_t lo = 0, hi = n->nprops, mid;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = strcmp(name, n->props[mid].name);
		if (r == 0)
			return &n->props[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
regex_match(const struct vctx *c, const pcre2_code *re, const char *s)
{
	return pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, c->s->md, NULL) >= 0;
}

static int
v_object(struct vctx *c, const struct js_node *n, const cJSON *x)
{
	const cJSON *m;
	const struct js_prop *p;
	size_t i, k, count = 0;
	int ok = 1, matched;

	if (n->has & (H_MAXPROPS | H_MINPROPS)) {
		for (m = x->child; m != NULL; m = m->next)
			count++;
		if ((n->has & H_MAXPROPS) && (double)count > n->max_props) {
			report(c, "maxProperties", NULL, GOT_NONE, "%.0f, got %zu properties",
			       n->max_props, count);
			FAIL();
		}
		if ((n->has & H_MINPROPS) && (double)count < n->min_props) {
			report(c, "minProperties", NULL, GOT_NONE, "%.0f, got %zu properties",
			       n->min_props, count);
			FAIL();
		}
	}
	for (i = 0; i < n->nrequired; i++) {
		if (cJSON_GetObjectItemCaseSensitive(x, n->required[i]) == NULL) {
			char name[JS_VALUE_MAX + 8];

			render_quoted(name, sizeof(name), n->required[i]);
			report(c, "required", NULL, GOT_NONE, "%s missing", name);
			FAIL();
		}
	}
	if (n->nprops > 0 || n->npprops > 0 || n->additional_props != NULL) {
		for (m = x->child; m != NULL; m = m->next) {
			const char *key = m->string ? m->string : "";

			matched = 0;
			if (n->nprops > 0 && (p = find_prop(n, key)) != NULL) {
				matched = 1;
				if (!v_child(c, p->schema, m, key, 0, "properties"))
					FAIL();
			}
			for (k = 0; k < n->npprops; k++) {
				if (!regex_match(c, n->pprops[k].re, key))
					continue;
				matched = 1;
				if (!v_child(c, n->pprops[k].schema, m, key, 0,
					     "patternProperties"))
					FAIL();
			}
			if (!matched && n->additional_props != NULL &&
			    !v_child(c, n->additional_props, m, key, 0, "additionalProperties"))
				FAIL();
		}
	}
	for (i = 0; i < n->ndeps; i++) {
		const struct js_dep *d = &n->deps[i];

		if (cJSON_GetObjectItemCaseSensitive(x, d->name) == NULL)
			continue;
		if (d->schema != NULL) {
			if (!v_node(c, d->schema, x, "dependencies"))
				FAIL();
			continue;
		}
		for (k = 0; k < d->nreq; k++) {
			if (cJSON_GetObjectItemCaseSensitive(x, d->req[k]) == NULL) {
				char a[JS_VALUE_MAX + 8], b[JS_VALUE_MAX + 8];

				render_quoted(a, sizeof(a), d->req[k]);
				render_quoted(b, sizeof(b), d->name);
				report(c, "dependencies", NULL, GOT_NONE,
				       "%s missing, required by %s", a, b);
				FAIL();
			}
		}
	}
	if (n->property_names != NULL && n->property_names->kind != K_TRUE) {
		for (m = x->child; m != NULL; m = m->next) {
			cJSON name;

			memset(&name, 0, sizeof(name));
			name.type = cJSON_String;
			name.valuestring = m->string ? m->string : (char *)"";
			if (push_seg(c, name.valuestring, 0) < 0) {
				FAIL();
				break;
			}
			if (!v_quiet(c, n->property_names, &name)) {
				report(c, "propertyNames", &name, GOT_VALUE, "invalid name");
				c->sp--;
				FAIL();
				continue;
			}
			c->sp--;
		}
	}
	return ok;
}

static int
v_type_ok(const struct js_node *n, const cJSON *x, unsigned t)
{
	if (n->types & t)
		return 1;
	return t == T_NUMBER && (n->types & T_INTEGER) && is_integer_value(x->valuedouble);
}

static void
report_type(struct vctx *c, const struct js_node *n, const cJSON *x)
{
	char want[80];
	const cJSON *t;
	size_t len = 0;

	want[0] = '\0';
	if (cJSON_IsString(n->type_json)) {
		snprintf(want, sizeof(want), "%s", n->type_json->valuestring);
	} else {
		cJSON_ArrayForEach(t, n->type_json)
		{
			len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s",
						len ? "|" : "", t->valuestring);
			if (len >= sizeof(want))
				break;
		}
	}
	report(c, "type", x, GOT_TYPED, "%s", want);
}

static int
v_keywords(struct vctx *c, const struct js_node *n, const cJSON *x)
{
	const cJSON *e;
	unsigned t = type_bit(x);
	size_t i, matches;
	int ok = 1, r;
	char buf[JS_VALUE_MAX + 8];

	if (n->has & H_REF) {
		if (n->ref == NULL) {
			render_quoted(buf, sizeof(buf), n->ref_uri ? n->ref_uri : n->ref_str);
			report(c, "$ref", NULL, GOT_NONE,
			       "%s unresolved (remote references are not supported)", buf);
			return 0;
		}
		return v_node(c, n->ref, x, NULL);
	}
	if (n->types != 0 && !v_type_ok(n, x, t)) {
		report_type(c, n, x);
		FAIL();
	}
	if (n->enum_vals != NULL) {
		r = 0;
		cJSON_ArrayForEach(e, n->enum_vals)
		{
			r = json_equal(e, x, 0);
			if (r != 0)
				break;
		}
		if (r != 1) {
			render_value(buf, sizeof(buf), n->enum_vals);
			report(c, "enum", x, GOT_VALUE, "%s%s", buf,
			       r < 0 ? " (value nested too deeply)" : "");
			FAIL();
		}
	}
	if (n->const_val != NULL && (r = json_equal(n->const_val, x, 0)) != 1) {
		render_value(buf, sizeof(buf), n->const_val);
		report(c, "const", x, GOT_VALUE, "%s%s", buf,
		       r < 0 ? " (value nested too deeply)" : "");
		FAIL();
	}
	switch (t) {
	case T_NUMBER:
		if ((n->has & H_NUMERIC) && !v_number(c, n, x))
			FAIL();
		break;
	case T_STRING:
		if (!v_string(c, n, x))
			FAIL();
		break;
	case T_ARRAY:
		if (!v_array(c, n, x))
			FAIL();
		break;
	case T_OBJECT:
		if (!v_object(c, n, x))
			FAIL();
		break;
	default:
		break;
	}
	for (i = 0; i < n->all_of.n; i++)
		if (!v_node(c, n->all_of.v[i], x, "allOf"))
			FAIL();
	if (n->any_of.n > 0) {
		for (i = 0; i < n->any_of.n; i++)
			if (v_quiet(c, n->any_of.v[i], x))
				break;
		if (i == n->any_of.n) {
			report(c, "anyOf", x, GOT_VALUE, "no branch matched");
			FAIL();
		}
	}
	if (n->one_of.n > 0) {
		for (i = 0, matches = 0; i < n->one_of.n && matches < 2; i++)
			if (v_quiet(c, n->one_of.v[i], x))
				matches++;
		if (matches != 1) {
			report(c, "oneOf", x, GOT_VALUE, "%s",
			       matches ? "more than one branch matched" : "no branch matched");
			FAIL();
		}
	}
	if (n->not_ != NULL && v_quiet(c, n->not_, x)) {
		report(c, "not", x, GOT_VALUE, "schema matched");
		FAIL();
	}
	if (n->if_ != NULL) {
		if (v_quiet(c, n->if_, x)) {
			if (n->then_ != NULL && !v_node(c, n->then_, x, "then"))
				FAIL();
		} else if (n->else_ != NULL && !v_node(c, n->else_, x, "else")) {
			FAIL();
		}
	}
	return ok;
}

/* kw names the keyword that applied n, so a false subschema reads
 * "$.extra: additionalProperties not allowed" rather than "false schema". */
static int
v_node(struct vctx *c, const struct js_node *n, const cJSON *x, const char *kw)
{
	int r;

	if (n->kind == K_TRUE)
		return 1;
	if (n->kind == K_FALSE) {
		if (kw != NULL)
			report(c, kw, x, GOT_VALUE, "not allowed");
		else
			report(c, "false", x, GOT_VALUE, "schema allows nothing");
		return 0;
	}
	if (c->edepth >= JS_EVAL_MAX) {
		report(c, "$ref", NULL, GOT_NONE,
		       "schema recursion deeper than %d levels (cyclic $ref?)", JS_EVAL_MAX);
		return 0;
	}
	c->edepth++;
	r = v_keywords(c, n, x);
	c->edepth--;
	return r;
}

/* ------------------------------------------------------------------ */
/* public                                                               */

struct pd_schema *
pd_jsonschema_new(const cJSON *schema, struct pd_err *err)
{
	struct pd_schema *s = NULL;
	struct cctx cc;
	size_t i;
	int rc = -1;

	memset(&cc, 0, sizeof(cc));
	if (schema == NULL) {
		pd_err_set(err, PD_ERR_INVALID, "schema: missing");
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		pd_err_set(err, PD_ERR_NOMEM, "schema: out of memory");
		goto out;
	}
	s->refs = 1;
	cc.s = s;
	cc.err = err;
	s->doc = cJSON_Duplicate(schema, 1);
	s->md = pcre2_match_data_create(1, NULL);
	if (s->doc == NULL || s->md == NULL || res_add(s, "", s->doc, "") < 0) {
		cc_nomem(&cc);
		goto out;
	}
	loc_set(&cc, "#");
	s->root = compile(&cc, s->doc, "");
	if (s->root == NULL)
		goto out;
	/* compiling a $ref target may queue further refs: loop until none is left */
	for (i = 0; i < cc.npending; i++)
		if (resolve_ref(&cc, cc.pending[i]) < 0)
			goto out;
	rc = 0;
out:
	free(cc.pending);
	if (rc < 0) {
		pd_jsonschema_free(s);
		s = NULL;
	}
	return s;
}

int
pd_jsonschema_validate(const struct pd_schema *s, const cJSON *doc, struct pd_schema_error *errs,
		       size_t max, size_t *nerr)
{
	struct vctx c;
	int ok;

	c.s = s;
	c.errs = errs;
	c.max = errs != NULL ? max : 0;
	c.n = 0;
	c.quiet = 0;
	c.edepth = 0;
	c.sp = 0;
	if (s == NULL || doc == NULL) {
		report(&c, "document", NULL, GOT_NONE, "%s", s == NULL ? "no schema" : "missing");
		ok = 0;
	} else {
		ok = v_node(&c, s->root, doc, NULL);
	}
	if (nerr != NULL)
		*nerr = c.n;
	return ok;
}

/* ------------------------------------------------------------------ */
/* lint: keys that are not draft-7 keywords                             */

/* What a keyword's value is, for the walk: a schema, schemas, or data never walked. */
enum js_kwval {
	KW_VALUE,        /* data or a number/string/list: not walked */
	KW_ANY,          /* data of any type (const, default): not walked */
	KW_SCHEMA,       /* one schema */
	KW_SCHEMA_LIST,  /* an array of schemas */
	KW_SCHEMA_ITEMS, /* a schema or an array of schemas */
	KW_SCHEMA_MAP,   /* an object of name -> schema */
	KW_DEPS,         /* an object of name -> schema or array of names */
};

/* Every keyword of draft 7 (validation, applicators, annotations, core), the one list
 * the lint and its did-you-mean read. compile() reads the ones that validate. */
static const struct {
	const char *name;
	enum js_kwval value;
} js_keywords[] = {
	{"$id", KW_VALUE},
	{"$schema", KW_VALUE},
	{"$ref", KW_VALUE},
	{"$comment", KW_VALUE},
	{"title", KW_VALUE},
	{"description", KW_VALUE},
	{"default", KW_ANY},
	{"readOnly", KW_VALUE},
	{"writeOnly", KW_VALUE},
	{"examples", KW_VALUE},
	{"multipleOf", KW_VALUE},
	{"maximum", KW_VALUE},
	{"exclusiveMaximum", KW_VALUE},
	{"minimum", KW_VALUE},
	{"exclusiveMinimum", KW_VALUE},
	{"maxLength", KW_VALUE},
	{"minLength", KW_VALUE},
	{"pattern", KW_VALUE},
	{"additionalItems", KW_SCHEMA},
	{"items", KW_SCHEMA_ITEMS},
	{"maxItems", KW_VALUE},
	{"minItems", KW_VALUE},
	{"uniqueItems", KW_VALUE},
	{"contains", KW_SCHEMA},
	{"maxProperties", KW_VALUE},
	{"minProperties", KW_VALUE},
	{"required", KW_VALUE},
	{"additionalProperties", KW_SCHEMA},
	{"definitions", KW_SCHEMA_MAP},
	{"properties", KW_SCHEMA_MAP},
	{"patternProperties", KW_SCHEMA_MAP},
	{"dependencies", KW_DEPS},
	{"propertyNames", KW_SCHEMA},
	{"const", KW_ANY},
	{"enum", KW_VALUE},
	{"type", KW_VALUE},
	{"format", KW_VALUE},
	{"contentMediaType", KW_VALUE},
	{"contentEncoding", KW_VALUE},
	{"if", KW_SCHEMA},
	{"then", KW_SCHEMA},
	{"else", KW_SCHEMA},
	{"allOf", KW_SCHEMA_LIST},
	{"anyOf", KW_SCHEMA_LIST},
	{"oneOf", KW_SCHEMA_LIST},
	{"not", KW_SCHEMA},
	/* later drafts' name for definitions: schemas copied from them keep working, as
	 * "$ref": "#/$defs/x" resolves here as a plain JSON pointer */
	{"$defs", KW_SCHEMA_MAP},
};
#define JS_NKEYWORDS (sizeof(js_keywords) / sizeof(js_keywords[0]))
#define JS_OPT_OUT "x-allow-unknown-keywords"

struct lint {
	pd_schema_lint_fn fn;
	void *ud;
	char ptr[256];
	size_t len;
	size_t n;
};

static size_t
lint_push(struct lint *l, const char *tok)
{
	size_t saved = l->len;

	if (l->len + 1 < sizeof(l->ptr))
		l->ptr[l->len++] = '/';
	for (; *tok != '\0' && l->len + 2 < sizeof(l->ptr); tok++) {
		if (*tok == '~' || *tok == '/') {
			l->ptr[l->len++] = '~';
			l->ptr[l->len++] = *tok == '~' ? '0' : '1';
		} else {
			l->ptr[l->len++] = *tok;
		}
	}
	l->ptr[l->len] = '\0';
	return saved;
}

static void
lint_pop(struct lint *l, size_t saved)
{
	l->len = saved;
	l->ptr[saved] = '\0';
}

static void
lint_report(struct lint *l, const cJSON *member)
{
	const char *cand[JS_NKEYWORDS + 1], *near;
	const char *kw = member->string;
	size_t nc = 0, saved;
	char msg[256];
	int is_obj = cJSON_IsObject(member);

	/* a schema-like value under a misspelt name is nearest to a keyword that takes one */
	for (size_t i = 0; i < JS_NKEYWORDS; i++)
		if (!is_obj || js_keywords[i].value != KW_VALUE)
			cand[nc++] = js_keywords[i].name;
	cand[nc] = NULL;
	near = pd_err_nearest(kw, cand);
	for (size_t i = 0; near != NULL && i < JS_NKEYWORDS; i++)
		if (js_keywords[i].name == near && js_keywords[i].value == KW_SCHEMA_MAP)
			is_obj = 0; /* "propertys": the hint would name the suggestion twice */
	if (near != NULL)
		snprintf(msg, sizeof(msg),
			 "unknown JSON Schema keyword '%.64s' (did you mean "
			 "'%s'?%s)",
			 kw, near, is_obj ? " a property goes under 'properties'" : "");
	else if (is_obj)
		snprintf(msg, sizeof(msg),
			 "unknown JSON Schema keyword '%.64s', which would check "
			 "nothing (a property goes under 'properties'; name extensions 'x-...')",
			 kw);
	else
		snprintf(msg, sizeof(msg),
			 "unknown JSON Schema keyword '%.64s', which would check "
			 "nothing (name extensions 'x-...', or set " JS_OPT_OUT ": true)",
			 kw);
	saved = lint_push(l, kw);
	l->fn(l->ud, member, l->ptr, msg);
	lint_pop(l, saved);
	l->n++;
}

static void lint_schema(struct lint *l, const cJSON *j, int depth);

static void
lint_list(struct lint *l, const cJSON *arr, int depth)
{
	const cJSON *e;
	size_t i = 0;

	cJSON_ArrayForEach(e, arr)
	{
		char num[24];
		size_t saved;

		snprintf(num, sizeof(num), "%zu", i++);
		saved = lint_push(l, num);
		lint_schema(l, e, depth + 1);
		lint_pop(l, saved);
	}
}

static void
lint_map(struct lint *l, const cJSON *obj, int deps, int depth)
{
	const cJSON *e;

	if (!cJSON_IsObject(obj))
		return;
	cJSON_ArrayForEach(e, obj)
	{
		size_t saved;

		if (deps && !cJSON_IsObject(e)) /* dependencies: a list of names is data */
			continue;
		saved = lint_push(l, e->string ? e->string : "");
		lint_schema(l, e, depth + 1);
		lint_pop(l, saved);
	}
}

/* Walk schema j (booleans and non-objects are compile()'s business). */
static void
lint_schema(struct lint *l, const cJSON *j, int depth)
{
	const cJSON *m;

	if (!cJSON_IsObject(j) || depth > PD_SCHEMA_MAX_DEPTH ||
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, JS_OPT_OUT)))
		return;
	cJSON_ArrayForEach(m, j)
	{
		size_t k, saved;

		if (m->string == NULL || strncmp(m->string, "x-", 2) == 0)
			continue;
		for (k = 0; k < JS_NKEYWORDS; k++)
			if (strcmp(js_keywords[k].name, m->string) == 0)
				break;
		if (k == JS_NKEYWORDS) {
			lint_report(l, m);
			continue;
		}
		saved = lint_push(l, m->string);
		switch (js_keywords[k].value) {
		case KW_SCHEMA:
			lint_schema(l, m, depth + 1);
			break;
		case KW_SCHEMA_ITEMS:
			if (cJSON_IsArray(m))
				lint_list(l, m, depth);
			else
				lint_schema(l, m, depth + 1);
			break;
		case KW_SCHEMA_LIST:
			if (cJSON_IsArray(m))
				lint_list(l, m, depth);
			break;
		case KW_SCHEMA_MAP:
			lint_map(l, m, 0, depth);
			break;
		case KW_DEPS:
			lint_map(l, m, 1, depth);
			break;
		case KW_VALUE:
		case KW_ANY:
			break;
		}
		lint_pop(l, saved);
	}
}

size_t
pd_jsonschema_lint(const cJSON *schema, pd_schema_lint_fn fn, void *ud)
{
	struct lint l;

	if (schema == NULL || fn == NULL)
		return 0;
	memset(&l, 0, sizeof(l));
	l.fn = fn;
	l.ud = ud;
	lint_schema(&l, schema, 0);
	return l.n;
}
