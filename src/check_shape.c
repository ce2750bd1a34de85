/* check_shape.c — response shape fingerprints: the set of (path, type) a JSON document
 * has, objects used as maps folded like arrays, and the drift between two shapes. Pure. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "probed/buf.h"
#include "probed/check.h"
#include "probed/clock.h"
#include "probed/hash.h"
#include "probed/jsonschema.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/tlscert.h"
#include "check_int.h"

/* ---- shape fingerprints -------------------------------------------------- */

/* fingerprints are stored: they keep the seed they were first made with */
#define FNV_OFF PD_HASH_LEGACY_SEED
#define fnv pd_hash_fnv1a
#define mix64 pd_hash_mix64

/* objects collapsed as maps (see "maps" below), sorted by address */
struct map_set {
	const cJSON **v;
	size_t n, cap;
	int nomem;
};

struct shape_walk {
	uint64_t *tab; /* open addressing set of pair hashes; 0 = empty */
	size_t cap, len;
	uint64_t sum; /* order-independent: sum of mix64 over the set */
	int heap;
	int nomem; /* paths could not be built */
	uint64_t stack[256];
	/* path list (NULL = hash only) */
	char *path;
	size_t plen, pcap;
	char **lines;
	size_t nlines, clines;
	struct map_set maps; /* objects collapsed as maps */
};

/* Add h to the set; 1 when new. */
static int
shape_add(struct shape_walk *w, uint64_t h)
{
	size_t i;

	if (h == 0)
		h = 1;
	if ((w->len + 1) * 2 > w->cap) {
		size_t ncap = w->cap * 2;
		uint64_t *nt = calloc(ncap, sizeof(*nt));

		if (nt == NULL) {
			w->nomem = 1;
			return 0; /* keeps the hash of what fits; the set is only huge when hostile */
		}
		for (size_t k = 0; k < w->cap; k++) {
			if (w->tab[k] == 0)
				continue;
			for (i = (size_t)mix64(w->tab[k]) & (ncap - 1); nt[i] != 0;
			     i = (i + 1) & (ncap - 1))
				;
			nt[i] = w->tab[k];
		}
		if (w->heap)
			free(w->tab);
		w->tab = nt;
		w->cap = ncap;
		w->heap = 1;
	}
	for (i = (size_t)mix64(h) & (w->cap - 1); w->tab[i] != 0; i = (i + 1) & (w->cap - 1))
		if (w->tab[i] == h)
			return 0;
	w->tab[i] = h;
	w->len++;
	w->sum += mix64(h);
	return 1;
}

static int
path_push(struct shape_walk *w, const char *s, size_t n)
{
	if (w->plen + n + 1 > w->pcap) {
		size_t ncap = (w->plen + n + 1) * 2;
		char *np = realloc(w->path, ncap);

		if (np == NULL) {
			w->nomem = 1;
			return -1;
		}
		w->path = np;
		w->pcap = ncap;
	}
	memcpy(w->path + w->plen, s, n);
	w->plen += n;
	w->path[w->plen] = '\0';
	return 0;
}

static void
line_add(struct shape_walk *w, const char *type)
{
	size_t tl = strlen(type);
	char *l;

	if (pd_buf_grow(&w->lines, &w->clines, w->nlines + 1, sizeof(*w->lines)) != 0) {
		w->nomem = 1;
		return;
	}
	l = malloc(w->plen + tl + 2);
	if (l == NULL) {
		w->nomem = 1;
		return;
	}
	memcpy(l, w->path, w->plen);
	l[w->plen] = ':';
	memcpy(l + w->plen + 1, type, tl + 1);
	w->lines[w->nlines++] = l;
}

/* A key is written ".key" in a path, unless it holds a character that would make the
 * path ambiguous or split its line ('.', '[', ']', '{', '}', '"', '\\', a control
 * character):
 * then ["key"], JSON-escaped. Path text and hash input are the same string, so two
 * documents have the same hash exactly when they have the same path list. Keys of the
 * first kind hash as they always did. Returns the segment (malloc'd when quoted, *own
 * set) or NULL when out of memory. */
static const char *
shape_key(const char *k, size_t kl, size_t *len, char **own)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, o = 2;
	int quote = 0;
	char *q;

	*own = NULL;
	for (size_t i = 0; i < kl; i++) {
		unsigned char ch = (unsigned char)k[i];

		n += ch < 0x20 ? 6 : (ch == '"' || ch == '\\') ? 2 : 1;
		if (ch < 0x20 || ch == '.' || ch == '[' || ch == ']' || ch == '"' || ch == '\\' ||
		    ch == '{' || ch == '}')
			quote = 1;
	}
	if (!quote) {
		*len = kl;
		return k;
	}
	if ((q = malloc(n + 5)) == NULL)
		return NULL;
	q[0] = '[';
	q[1] = '"';
	for (size_t i = 0; i < kl; i++) {
		unsigned char ch = (unsigned char)k[i];

		if (ch < 0x20) {
			memcpy(q + o, "\\u00", 4);
			q[o + 4] = hex[ch >> 4];
			q[o + 5] = hex[ch & 15];
			o += 6;
		} else {
			if (ch == '"' || ch == '\\')
				q[o++] = '\\';
			q[o++] = (char)ch;
		}
	}
	q[o++] = '"';
	q[o++] = ']';
	q[o] = '\0';
	*len = o;
	*own = q;
	return q;
}


/* ---- maps ----
 * An object used as a map (keyed by data: ids, dates, user names) gets a new path per
 * new key, which read as drift on every probe. Such an object is collapsed like an
 * array, its values merged under "{}" ("$.users{}.name:string"), when it has at least
 * SHAPE_MAP_MIN_KEYS members and either
 *   1. every key looks like data: digits only, a date (YYYY-MM-DD...), or 8+ hex
 *      digits and dashes with at least one digit (hex ids, UUIDs); or
 *   2. its values are all objects (or all arrays) of one and the same shape.
 * So new keys are no drift, while a field vanishing from the records still is: from all
 * of them, a path goes; from one record under rule 2, the object stops being a map and
 * its keys come back as paths. "Same shape" compares a structural hash computed bottom
 * up in one pass (a node's type; an object's keys with their values' shapes, or a map's
 * distinct value shapes; an array's distinct element shapes). Known limit: an object
 * crossing the threshold (7 <-> 8 keys) changes its fingerprint once. */
#define SHAPE_MAP_MIN_KEYS 8

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const cJSON *const *)a,
		  y = (uintptr_t) * (const cJSON *const *)b;

	return x < y ? -1 : x > y;
}

static int
map_key_is_data(const char *k)
{
	size_t n = strlen(k), digits = 0;

	if (n == 0)
		return 0;
	if (n >= 10 && isdigit((unsigned char)k[0]) && isdigit((unsigned char)k[1]) &&
	    isdigit((unsigned char)k[2]) && isdigit((unsigned char)k[3]) && k[4] == '-' &&
	    isdigit((unsigned char)k[5]) && isdigit((unsigned char)k[6]) && k[7] == '-' &&
	    isdigit((unsigned char)k[8]) && isdigit((unsigned char)k[9]))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (isdigit((unsigned char)k[i]))
			digits++;
	if (digits == n)
		return 1;
	if (n < 8 || digits == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)k[i]) && k[i] != '-')
			return 0;
	return 1;
}

/* sorted distinct values of v[0..n) folded into h */
static uint64_t
fold_set(uint64_t h, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), u64_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || v[i] != v[i - 1])
			h = mix64(h ^ v[i]) + 0x9e3779b97f4a7c15ULL;
	return h;
}

/* The structural hash of n; objects found to be maps go into ms. */
static uint64_t
shape_struct(struct map_set *ms, const cJSON *n)
{
	/* the type as shape_type names it (true and false alike); the hash lives only in
	 * this call, so its constants are free */
	uint64_t h = mix64(cJSON_IsObject(n)   ? 1
			   : cJSON_IsArray(n)  ? 2
			   : cJSON_IsString(n) ? 3
			   : cJSON_IsNumber(n) ? 4
			   : cJSON_IsBool(n)   ? 5
					       : 6);
	uint64_t *v, sum = 0, small[16];
	size_t k = 0, i;
	int is_map, all_obj = 1, all_arr = 1, keys_data = 1;
	const cJSON *c;

	if (!cJSON_IsObject(n) && !cJSON_IsArray(n))
		return h;
	for (c = n->child; c != NULL; c = c->next)
		k++;
	if (k == 0)
		return h;
	if (k <= sizeof(small) / sizeof(small[0]))
		v = small; /* most containers: no allocation */
	else if ((v = malloc(k * sizeof(*v))) == NULL) {
		ms->nomem = 1;
		return h;
	}
	for (c = n->child, i = 0; c != NULL; c = c->next, i++) {
		v[i] = shape_struct(ms, c);
		all_obj &= cJSON_IsObject(c);
		all_arr &= cJSON_IsArray(c);
		if (keys_data && cJSON_IsObject(n))
			keys_data = map_key_is_data(c->string ? c->string : "");
	}
	if (cJSON_IsArray(n)) {
		h = fold_set(h, v, k);
		if (v != small)
			free(v);
		return h;
	}
	is_map = k >= SHAPE_MAP_MIN_KEYS && keys_data;
	if (!is_map && k >= SHAPE_MAP_MIN_KEYS && (all_obj || all_arr)) {
		is_map = 1;
		for (i = 1; i < k && is_map; i++)
			is_map = v[i] == v[0];
	}
	if (is_map) {
		if (pd_buf_grow(&ms->v, &ms->cap, ms->n + 1, sizeof(*ms->v)) != 0) {
			ms->nomem = 1;
			if (v != small)
				free(v);
			return h;
		}
		ms->v[ms->n++] = n;
		h = fold_set(fnv(h, "{}", 2), v, k);
	} else {
		for (c = n->child, i = 0; c != NULL; c = c->next, i++) {
			const char *key = c->string ? c->string : "";

			sum += mix64(fnv(FNV_OFF, key, strlen(key)) ^ v[i]);
		}
		h = mix64(h ^ sum ^ mix64((uint64_t)k));
	}
	if (v != small)
		free(v);
	return h;
}

static int
map_set_has(const struct map_set *ms, const cJSON *n)
{
	return ms->n > 0 && bsearch(&n, ms->v, ms->n, sizeof(*ms->v), ptr_cmp) != NULL;
}

/* h: FNV state after the node's path; the path text is in w->path when listing. */
static void
shape_node(struct shape_walk *w, const cJSON *n, uint64_t h)
{
	const char *type = pd_jsonschema_type_name(n);
	int listing = w->lines != NULL || w->path != NULL;
	size_t mark = w->plen;

	if (shape_add(w, fnv(fnv(h, ":", 1), type, strlen(type))) && listing && !w->nomem)
		line_add(w, type);
	if (cJSON_IsObject(n) && map_set_has(&w->maps, n)) {
		if (listing && !w->nomem)
			path_push(w, "{}", 2);
		for (const cJSON *c = n->child; c != NULL; c = c->next)
			shape_node(w, c, fnv(h, "{}", 2));
		w->plen = mark;
		if (w->path)
			w->path[mark] = '\0';
	} else if (cJSON_IsObject(n)) {
		for (const cJSON *c = n->child; c != NULL; c = c->next) {
			const char *k = c->string ? c->string : "", *seg;
			size_t kl = strlen(k), sl = 0;
			char *own = NULL;
			uint64_t hk;

			if ((seg = shape_key(k, kl, &sl, &own)) == NULL) {
				w->nomem = 1; /* the hash goes on with the raw key; no list */
				seg = k;
				sl = kl;
			}
			hk = own != NULL ? fnv(h, seg, sl) : fnv(fnv(h, ".", 1), seg, sl);
			if (listing && !w->nomem &&
			    ((own == NULL && path_push(w, ".", 1)) || path_push(w, seg, sl)))
				listing = 0;
			shape_node(w, c, hk);
			free(own);
			w->plen = mark;
			if (w->path)
				w->path[mark] = '\0';
		}
	} else if (cJSON_IsArray(n)) {
		if (listing && !w->nomem)
			path_push(w, "[]", 2);
		for (const cJSON *c = n->child; c != NULL; c = c->next)
			shape_node(w, c, fnv(h, "[]", 2));
		w->plen = mark;
		if (w->path)
			w->path[mark] = '\0';
	}
}

static int
line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

uint64_t
pd_check_shape_of(const cJSON *doc, char **paths)
{
	struct shape_walk w;
	uint64_t h;

	memset(&w, 0, sizeof(w));
	w.tab = w.stack;
	w.cap = sizeof(w.stack) / sizeof(w.stack[0]);
	if (paths != NULL) {
		*paths = NULL;
		if (path_push(&w, "$", 1) != 0)
			w.nomem = 1;
	}
	shape_struct(&w.maps, doc);
	if (w.maps.n > 1)
		qsort(w.maps.v, w.maps.n, sizeof(*w.maps.v), ptr_cmp);
	shape_node(&w, doc, fnv(FNV_OFF, "$", 1));
	h = mix64(w.sum ^ mix64((uint64_t)w.len));
	if (h == 0)
		h = 1;
	if (paths != NULL && !w.nomem) {
		size_t total = 0, o = 0;
		char *out;

		qsort(w.lines, w.nlines, sizeof(*w.lines), line_cmp);
		for (size_t i = 0; i < w.nlines; i++)
			total += strlen(w.lines[i]) + 1;
		out = malloc(total + 1);
		if (out != NULL) {
			for (size_t i = 0; i < w.nlines; i++) {
				size_t l = strlen(w.lines[i]);

				memcpy(out + o, w.lines[i], l);
				out[o + l] = '\n';
				o += l + 1;
			}
			out[o] = '\0';
			*paths = out;
		}
	}
	for (size_t i = 0; i < w.nlines; i++)
		free(w.lines[i]);
	free(w.lines);
	free(w.path);
	free(w.maps.v);
	if (w.heap)
		free(w.tab);
	return h;
}

void
pd_check_shape_cleanup(struct pd_shape *s)
{
	if (s == NULL)
		return;
	free(s->paths);
	s->paths = NULL;
	s->has = 0;
}

struct shape_pair {
	const char *path, *type;
	size_t plen, tlen;
};

static int
pair_cmp(const void *a, const void *b)
{
	const struct shape_pair *x = a, *y = b;
	size_t n = x->plen < y->plen ? x->plen : y->plen;
	int r = memcmp(x->path, y->path, n);

	if (r != 0)
		return r;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	n = x->tlen < y->tlen ? x->tlen : y->tlen;
	r = memcmp(x->type, y->type, n);
	if (r != 0)
		return r;
	return x->tlen < y->tlen ? -1 : (x->tlen > y->tlen);
}

/* Split a path list into pairs sorted by (path, type). NULL list = empty. */
static struct shape_pair *
pairs_of(const char *list, size_t *n)
{
	struct shape_pair *v;
	size_t cnt = 0, k = 0;

	*n = 0;
	for (const char *q = list; q && *q; q++)
		cnt += *q == '\n';
	v = calloc(cnt + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (const char *q = list; q && *q && k < cnt;) {
		const char *eol = strchr(q, '\n'), *colon = eol;

		while (colon > q && *colon != ':')
			colon--;
		if (colon == q) {
			q = eol + 1;
			continue;
		}
		v[k].path = q;
		v[k].plen = (size_t)(colon - q);
		v[k].type = colon + 1;
		v[k].tlen = (size_t)(eol - colon - 1);
		k++;
		q = eol + 1;
	}
	qsort(v, k, sizeof(*v), pair_cmp);
	*n = k;
	return v;
}

/* Compare the path of a and b. */
static int
path_cmp(const struct shape_pair *a, const struct shape_pair *b)
{
	size_t n = a->plen < b->plen ? a->plen : b->plen;
	int r = memcmp(a->path, b->path, n);

	if (r != 0)
		return r;
	return a->plen < b->plen ? -1 : (a->plen > b->plen);
}

/* Types of the group of pairs with the same path from v[*i]; advances *i. */
static void
group_types(const struct shape_pair *v, size_t n, size_t *i, char *out, size_t cap)
{
	size_t o = 0, start = *i;

	out[0] = '\0';
	for (; *i < n && path_cmp(&v[*i], &v[start]) == 0; (*i)++) {
		int w = snprintf(out + o, cap - o, "%s%.*s", *i > start ? "|" : "", (int)v[*i].tlen,
				 v[*i].type);

		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
	for (; *i < n && path_cmp(&v[*i], &v[start]) == 0; (*i)++)
		;
}

struct diff_part {
	char text[512];
	size_t len;
	size_t count;
};

/* retyped (a, b: old and new types) when b != NULL, else "path:a" */
static void
part_add(struct diff_part *d, const struct shape_pair *p, const char *a, const char *b)
{
	int w;

	if (d->len + 8 >= sizeof(d->text)) {
		d->count++;
		return;
	}
	if (b != NULL)
		w = snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s%.*s %s->%s",
			     d->count ? ", " : "", (int)p->plen, p->path, a, b);
	else
		w = snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s%.*s:%s",
			     d->count ? ", " : "", (int)p->plen, p->path, a);
	if (w < 0 || d->len + (size_t)w >= sizeof(d->text))
		d->len = sizeof(d->text) - 1;
	else
		d->len += (size_t)w;
	d->count++;
}

size_t
pd_check_shape_diff(const char *old_paths, const char *new_paths, char *out, size_t cap)
{
	struct diff_part add = {.len = 0}, rem = {.len = 0}, ret = {.len = 0};
	struct shape_pair *o, *n;
	size_t no = 0, nn = 0, i = 0, j = 0, o_len = 0;
	char ta[64], tb[64];

	if (cap > 0)
		out[0] = '\0';
	o = pairs_of(old_paths, &no);
	n = pairs_of(new_paths, &nn);
	if (o == NULL || n == NULL) {
		free(o);
		free(n);
		if (cap > 0)
			snprintf(out, cap, "shape changed (out of memory listing paths)");
		return 1;
	}
	while (i < no || j < nn) {
		int c = i >= no ? 1 : (j >= nn ? -1 : path_cmp(&o[i], &n[j]));
		const struct shape_pair *po = i < no ? &o[i] : NULL, *pn = j < nn ? &n[j] : NULL;

		if (c < 0) {
			group_types(o, no, &i, ta, sizeof(ta));
			part_add(&rem, po, ta, NULL);
		} else if (c > 0) {
			group_types(n, nn, &j, tb, sizeof(tb));
			part_add(&add, pn, tb, NULL);
		} else {
			group_types(o, no, &i, ta, sizeof(ta));
			group_types(n, nn, &j, tb, sizeof(tb));
			if (strcmp(ta, tb) != 0)
				part_add(&ret, po, ta, tb);
		}
	}
	{
		const struct diff_part *parts[3] = {&add, &rem, &ret};
		static const char *const names[3] = {"added", "removed", "retyped"};

		for (int k = 0; k < 3 && cap > 0; k++) {
			int w;

			if (parts[k]->count == 0)
				continue;
			w = snprintf(out + o_len, cap - o_len, "%s%s %s", o_len ? "; " : "",
				     names[k], parts[k]->text);
			if (w < 0 || o_len + (size_t)w >= cap) {
				o_len = cap - 1;
				break;
			}
			o_len += (size_t)w;
		}
	}
	free(o);
	free(n);
	return add.count + rem.count + ret.count;
}
