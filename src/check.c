/* check.c — response -> result: transport errors, status, body, JSON shape, latency;
 * freshness of batch resources (kind: freshness); response shape fingerprints (drift).
 * The first failing check decides the outcome; the order puts the most telling first
 * (a 502 is reported as http_5xx, not as "invalid JSON"). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "probed/check.h"
#include "probed/clock.h"
#include "probed/hash.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/tlscert.h"

static double
phase_ms(double end_s, double start_s)
{
	if (end_s < 0 || start_s < 0 || end_s < start_s)
		return -1;
	return (end_s - start_s) * 1000.0;
}

static void
check_timings(const struct pd_response *resp, struct pd_result *out)
{
	double conn_end = resp->appconnect_s > 0 ? resp->appconnect_s : resp->connect_s;

	out->dns_ms = resp->namelookup_s >= 0 ? resp->namelookup_s * 1000.0 : -1;
	out->connect_ms = phase_ms(resp->connect_s, resp->namelookup_s > 0 ? resp->namelookup_s : 0);
	out->tls_ms = resp->appconnect_s > 0 ? phase_ms(resp->appconnect_s, resp->connect_s) : -1;
	out->ttfb_ms = phase_ms(resp->starttransfer_s, conn_end);
	out->total_ms = resp->total_s >= 0 ? resp->total_s * 1000.0 : -1;
}

static int
transport_outcome(const struct pd_response *resp)
{
	if (resp->body.over)
		return PD_OUT_BODY_TOO_LARGE;
	switch ((CURLcode)resp->curl_code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return PD_OUT_DNS;
	case CURLE_COULDNT_CONNECT:
		return PD_OUT_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return PD_OUT_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return PD_OUT_TLS;
	default:
		return PD_OUT_ERROR;
	}
}

static int
status_expected(const struct pd_probe_cfg *p, long status)
{
	if (p->nstatus == 0)
		return status >= 200 && status <= 299;
	for (size_t i = 0; i < p->nstatus; i++)
		if (status >= p->status[i].lo && status <= p->status[i].hi)
			return 1;
	return 0;
}

static int
status_outcome(long status)
{
	if (status == 401 || status == 403)
		return PD_OUT_KEY_REJECTED;
	if (status == 429)
		return PD_OUT_QUOTA;
	if (status >= 500 && status <= 599)
		return PD_OUT_HTTP_5XX;
	if (status >= 400 && status <= 499)
		return PD_OUT_HTTP_4XX;
	return PD_OUT_HTTP_STATUS;
}

static void
expected_str(const struct pd_probe_cfg *p, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	if (p->nstatus == 0) {
		snprintf(out, cap, "200-299");
		return;
	}
	for (size_t i = 0; i < p->nstatus && len + 16 < cap; i++) {
		if (p->status[i].lo == p->status[i].hi)
			len += (size_t)snprintf(out + len, cap - len, "%s%d", i ? "," : "",
						p->status[i].lo);
		else
			len += (size_t)snprintf(out + len, cap - len, "%s%d-%d", i ? "," : "",
						p->status[i].lo, p->status[i].hi);
	}
}

/* Parse the body. strict: a body that is not one JSON value fails the probe (schema or
 * freshness field to check); else (fingerprint only) a non-JSON body is silently skipped.
 * Returns the document (caller deletes) or NULL. */
static cJSON *
check_parse(const struct pd_response *resp, int strict, struct pd_result *out)
{
	const char *end = NULL;
	cJSON *doc;

	if (resp->body.len == 0) {
		if (strict) {
			out->outcome = PD_OUT_EMPTY;
			snprintf(out->verdict, sizeof(out->verdict), "empty body, expected JSON");
		}
		return NULL;
	}
	if (!strict) {
		const char *q = resp->body.data, *stop = q + resp->body.len;

		while (q < stop && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
			q++;
		if (q == stop || (*q != '{' && *q != '['))
			return NULL;
	}
	doc = cJSON_ParseWithLengthOpts(resp->body.data, resp->body.len, &end, 0);
	if (doc != NULL && end != NULL) {
		/* one JSON value and nothing after it but white space */
		const char *p = end, *stop = resp->body.data + resp->body.len;

		while (p < stop && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		if (p < stop) {
			if (strict) {
				out->outcome = PD_OUT_INVALID_JSON;
				snprintf(out->verdict, sizeof(out->verdict),
					 "invalid JSON: trailing data at byte %ld of %zu",
					 (long)(end - resp->body.data), resp->body.len);
			}
			cJSON_Delete(doc);
			return NULL;
		}
	}
	if (doc == NULL && strict) {
		const char *at = cJSON_GetErrorPtr();
		long off = (at && at >= resp->body.data && at <= resp->body.data + resp->body.len)
				   ? (long)(at - resp->body.data)
				   : -1;
		out->outcome = PD_OUT_INVALID_JSON;
		snprintf(out->verdict, sizeof(out->verdict),
			 "invalid JSON near byte %ld of %zu (or nested too deep)", off, resp->body.len);
	}
	return doc;
}

/* How many bytes of s, at most max, end on a UTF-8 character boundary: for "%.*s", so
 * that a cut never leaves half a character (a verdict goes into stored rows and into
 * notification bodies, where a receiver may reject invalid UTF-8 with a 400). */
static int
utf8_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	while (n == max && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		max = --n; /* s[n] continues the character that starts before it */
	return (int)n;
}

/* Drop an incomplete UTF-8 sequence at the end of s (what a snprintf cut leaves). */
static void
utf8_trim_tail(char *s)
{
	size_t n = strlen(s), k = n, need;
	unsigned char lead;

	while (k > 0 && ((unsigned char)s[k - 1] & 0xC0) == 0x80)
		k--;
	if (k == 0)
		return;
	lead = (unsigned char)s[k - 1];
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (need > 1 && k - 1 + need > n)
		s[k - 1] = '\0';
}

static void
check_schema(const struct pd_schema *schema, const cJSON *doc, struct pd_result *out)
{
	struct pd_schema_error errs[4];
	size_t nerr = 0;

	if (!pd_schema_validate(schema, doc, errs, 4, &nerr)) {
		out->outcome = PD_OUT_SHAPE;
		if (nerr > 1)
			snprintf(out->verdict, sizeof(out->verdict), "%.*s (+%zu more)",
				 utf8_prefix(errs[0].msg, 200), errs[0].msg, nerr - 1);
		else if (nerr == 1)
			snprintf(out->verdict, sizeof(out->verdict), "%s", errs[0].msg);
		else
			snprintf(out->verdict, sizeof(out->verdict), "schema validation failed");
	}
}

/* ---- freshness ---------------------------------------------------------- */

#define DAY_MS 86400000LL

static int64_t
floor_div64(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian; H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div64(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div64(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

void
pd_check_batch(const struct pd_probe_cfg *p, int64_t now_ms, char date[11], int64_t *due_ms)
{
	int64_t day = floor_div64(now_ms, DAY_MS);
	int y, m, d;

	if (now_ms - day * DAY_MS < p->fresh_deadline_ms)
		day--; /* before today's deadline: yesterday's batch */
	civil_from_days(day, &y, &m, &d);
	y = y < 0 ? 0 : (y > 9999 ? 9999 : y);
	date[0] = (char)('0' + y / 1000);
	date[1] = (char)('0' + y / 100 % 10);
	date[2] = (char)('0' + y / 10 % 10);
	date[3] = (char)('0' + y % 10);
	date[4] = '-';
	date[5] = (char)('0' + m / 10);
	date[6] = (char)('0' + m % 10);
	date[7] = '-';
	date[8] = (char)('0' + d / 10);
	date[9] = (char)('0' + d % 10);
	date[10] = '\0';
	if (due_ms != NULL)
		*due_ms = day * DAY_MS + p->fresh_deadline_ms;
}

/* Copy src to dst (cap bytes), each {date} replaced by date. */
static void
expand_date(char *dst, size_t cap, const char *src, size_t srclen, const char *date)
{
	size_t o = 0;

	for (size_t i = 0; i < srclen && o + 1 < cap; ) {
		if (strncmp(src + i, "{date}", 6) == 0 && i + 6 <= srclen) {
			for (size_t j = 0; date[j] != '\0' && o + 1 < cap; j++)
				dst[o++] = date[j];
			i += 6;
		} else {
			dst[o++] = src[i++];
		}
	}
	if (cap > 0)
		dst[o] = '\0';
}

/* "27h", "2h05m", "45m", "30s" */
static void
age_format(int64_t ms, char *out, size_t cap)
{
	int64_t s = (ms < 0 ? -ms : ms) / 1000, h = s / 3600, m = (s % 3600) / 60;
	const char *sign = ms < 0 ? "-" : "";

	if (h > 0 && m > 0)
		snprintf(out, cap, "%s%lldh%02lldm", sign, (long long)h, (long long)m);
	else if (h > 0)
		snprintf(out, cap, "%s%lldh", sign, (long long)h);
	else if (m > 0)
		snprintf(out, cap, "%s%lldm", sign, (long long)m);
	else
		snprintf(out, cap, "%s%llds", sign, (long long)s);
}

/* A 404/410 for the batch: late by now - due. */
static void
fresh_missing(const struct pd_probe_cfg *p, int64_t now_ms, struct pd_result *out)
{
	const char *disp = p->url_display ? p->url_display : (p->url ? p->url : "");
	const char *path = strstr(disp, "://");
	char date[11], where[160], late[32], dl[8];
	size_t len;
	int64_t due;

	pd_check_batch(p, now_ms, date, &due);
	/* the resource, without scheme, host and query: "stats/archive/2026-11-22.json" */
	path = path ? strchr(path + 3, '/') : NULL;
	path = path ? path + 1 : disp;
	len = strcspn(path, "?#");
	expand_date(where, sizeof(where), path, len, date);
	age_format(now_ms - due, late, sizeof(late));
	snprintf(dl, sizeof(dl), "%02d:%02d", (int)(p->fresh_deadline_ms / 3600000),
		 (int)(p->fresh_deadline_ms / 60000 % 60));
	out->outcome = PD_OUT_LATE;
	snprintf(out->verdict, sizeof(out->verdict),
		 "%s not there %s after the %s UTC deadline (status %d)", where[0] ? where : "batch",
		 late, dl, out->http_status);
}

/* Digits at *q (exactly n); -1 when not. */
static int
digits(const char **q, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*q)++) {
		if (**q < '0' || **q > '9')
			return -1;
		v = v * 10 + (**q - '0');
	}
	return v;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : days[m - 1];
}

/* RFC 3339 ("2026-11-22T05:05:32Z", ".123", "+02:00"; ' ' or 't' for T) -> ms. 0 ok. */
int
pd_check_rfc3339_parse(const char *s, int64_t *ms)
{
	const char *q = s;
	int y, mo, d, h, mi, se, frac = 0, fdig = 0;
	int64_t off = 0, v;

	/* the day must exist in its month (RFC 3339 5.7): 2026-11-31 is not December 1 */
	if ((y = digits(&q, 4)) < 0 || *q++ != '-' || (mo = digits(&q, 2)) < 1 || mo > 12 ||
	    *q++ != '-' || (d = digits(&q, 2)) < 1 || d > days_in_month(y, mo) ||
	    (*q != 'T' && *q != 't' && *q != ' '))
		return -1;
	q++;
	if ((h = digits(&q, 2)) < 0 || h > 23 || *q++ != ':' || (mi = digits(&q, 2)) < 0 ||
	    mi > 59 || *q++ != ':' || (se = digits(&q, 2)) < 0 || se > 60)
		return -1;
	if (*q == '.') {
		q++;
		if (*q < '0' || *q > '9')
			return -1;
		for (; *q >= '0' && *q <= '9'; q++, fdig++)
			if (fdig < 3)
				frac = frac * 10 + (*q - '0');
		for (int i = fdig; i < 3; i++)
			frac *= 10;
	}
	if (*q == 'Z' || *q == 'z') {
		q++;
	} else if (*q == '+' || *q == '-') {
		int sign = *q++ == '-' ? -1 : 1, oh, om;

		if ((oh = digits(&q, 2)) < 0 || oh > 23 || *q++ != ':' || (om = digits(&q, 2)) < 0 ||
		    om > 59)
			return -1;
		off = sign * ((int64_t)oh * 60 + om) * 60000;
	} else {
		return -1;
	}
	if (*q != '\0')
		return -1;
	v = days_from_civil(y, mo, d) * DAY_MS + ((int64_t)h * 3600 + mi * 60 + se) * 1000 + frac;
	*ms = v - off;
	return 0;
}

/* The freshness field (dotted path) of doc as ms since the epoch. 0 ok, -1 missing,
 * -2 not a timestamp. */
static int
fresh_field_ms(const cJSON *doc, const char *field, int64_t *ms)
{
	const cJSON *n = doc;
	const char *q = field;
	char key[128];

	while (*q != '\0' && n != NULL) {
		size_t len = strcspn(q, ".");

		if (len >= sizeof(key) || !cJSON_IsObject(n))
			return -1;
		memcpy(key, q, len);
		key[len] = '\0';
		n = cJSON_GetObjectItemCaseSensitive(n, key);
		q += len;
		if (*q == '.')
			q++;
	}
	if (n == NULL)
		return -1;
	if (cJSON_IsNumber(n)) {
		double v = n->valuedouble;

		if (!(v > -1e11 && v < 1e11))
			return -2; /* epoch seconds only */
		*ms = (int64_t)(v * 1000.0);
		return 0;
	}
	if (cJSON_IsString(n) && n->valuestring != NULL)
		return pd_check_rfc3339_parse(n->valuestring, ms) == 0 ? 0 : -2;
	return -2;
}

static void
fresh_field_check(const struct pd_probe_cfg *p, const cJSON *doc, int64_t now_ms,
		  struct pd_result *out)
{
	char age[32], max[32];
	int64_t ts = 0;
	int rc = doc ? fresh_field_ms(doc, p->fresh_field, &ts) : -1;

	if (rc != 0) {
		out->outcome = PD_OUT_SHAPE;
		snprintf(out->verdict, sizeof(out->verdict), "freshness field %.*s %s",
			 utf8_prefix(p->fresh_field, 100), p->fresh_field, rc == -1 ? "missing" :
			 "is not a timestamp (RFC 3339 or epoch seconds)");
		return;
	}
	if (now_ms - ts > p->fresh_max_age_ms) {
		age_format(now_ms - ts, age, sizeof(age));
		age_format(p->fresh_max_age_ms, max, sizeof(max));
		out->outcome = PD_OUT_LATE;
		snprintf(out->verdict, sizeof(out->verdict), "%.*s is %s old > max_age %s",
			 utf8_prefix(p->fresh_field, 100), p->fresh_field, age, max);
	}
}

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
	uint64_t *tab;           /* open addressing set of pair hashes; 0 = empty */
	size_t cap, len;
	uint64_t sum;            /* order-independent: sum of mix64 over the set */
	int heap;
	int nomem;               /* paths could not be built */
	uint64_t stack[256];
	/* path list (NULL = hash only) */
	char *path;
	size_t plen, pcap;
	char **lines;
	size_t nlines, clines;
	struct map_set maps;     /* objects collapsed as maps */
};

static const char *
shape_type(const cJSON *n)
{
	if (cJSON_IsObject(n))
		return "object";
	if (cJSON_IsArray(n))
		return "array";
	if (cJSON_IsString(n))
		return "string";
	if (cJSON_IsNumber(n))
		return "number";
	if (cJSON_IsBool(n))
		return "boolean";
	return "null";
}

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
			for (i = (size_t)mix64(w->tab[k]) & (ncap - 1); nt[i] != 0; i = (i + 1) & (ncap - 1))
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

	if (w->nlines == w->clines) {
		size_t nc = w->clines ? w->clines * 2 : 32;
		char **nl = realloc(w->lines, nc * sizeof(*nl));

		if (nl == NULL) {
			w->nomem = 1;
			return;
		}
		w->lines = nl;
		w->clines = nc;
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
	uintptr_t x = (uintptr_t)*(const cJSON *const *)a, y = (uintptr_t)*(const cJSON *const *)b;

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
	uint64_t h = mix64(cJSON_IsObject(n) ? 1 : cJSON_IsArray(n) ? 2 : cJSON_IsString(n) ? 3 :
			   cJSON_IsNumber(n) ? 4 : cJSON_IsBool(n) ? 5 : 6);
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
		if (ms->n == ms->cap) {
			size_t nc = ms->cap ? ms->cap * 2 : 8;
			const cJSON **nv = realloc(ms->v, nc * sizeof(*nv));

			if (nv == NULL) {
				ms->nomem = 1;
				if (v != small)
					free(v);
				return h;
			}
			ms->v = nv;
			ms->cap = nc;
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
	const char *type = shape_type(n);
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
pd_shape_of(const cJSON *doc, char **paths)
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
pd_shape_cleanup(struct pd_shape *s)
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
	for (const char *q = list; q && *q && k < cnt; ) {
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
		int w = snprintf(out + o, cap - o, "%s%.*s", *i > start ? "|" : "",
				 (int)v[*i].tlen, v[*i].type);

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
pd_shape_diff(const char *old_paths, const char *new_paths, char *out, size_t cap)
{
	struct diff_part add = { .len = 0 }, rem = { .len = 0 }, ret = { .len = 0 };
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
		const struct diff_part *parts[3] = { &add, &rem, &ret };
		static const char *const names[3] = { "added", "removed", "retyped" };

		for (int k = 0; k < 3 && cap > 0; k++) {
			int w;

			if (parts[k]->count == 0)
				continue;
			w = snprintf(out + o_len, cap - o_len, "%s%s %s", o_len ? "; " : "", names[k],
				     parts[k]->text);
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

void
pd_check_response_at(const struct pd_probe_cfg *p, const struct pd_schema *schema,
		     const struct pd_response *resp, int64_t now_ms, struct pd_shape *shape,
		     struct pd_result *out)
{
	int fresh = p->kind == PD_KIND_FRESHNESS;
	cJSON *doc = NULL;

	out->outcome = PD_OUT_OK;
	out->http_status = (int)resp->http_status;
	out->curl_code = resp->curl_code;
	out->body_size = (int64_t)resp->body.len;
	snprintf(out->verdict, sizeof(out->verdict), "ok");
	check_timings(resp, out);
	if (shape != NULL) {
		free(shape->paths);
		shape->paths = NULL;
		shape->has = 0;
		shape->hash = 0;
	}

	if (resp->curl_code != 0 || resp->body.over) {
		out->outcome = transport_outcome(resp);
		if (out->outcome == PD_OUT_BODY_TOO_LARGE)
			snprintf(out->verdict, sizeof(out->verdict),
				 "body larger than max_body (%zu bytes)", resp->body.limit);
		else if (out->outcome == PD_OUT_TLS)   /* name the cause */
			pd_tlscert_verdict(resp->curl_code, resp->error, out->verdict,
					   sizeof(out->verdict));
		else
			snprintf(out->verdict, sizeof(out->verdict), "%s", resp->error);
		goto out;
	}
	if (fresh && (resp->http_status == 404 || resp->http_status == 410)) {
		fresh_missing(p, now_ms, out);
		goto out;
	}
	if (!status_expected(p, resp->http_status)) {
		char exp[96];

		expected_str(p, exp, sizeof(exp));
		out->outcome = status_outcome(resp->http_status);
		if (out->outcome == PD_OUT_QUOTA && resp->retry_after_s >= 0)
			snprintf(out->verdict, sizeof(out->verdict),
				 "status 429 (quota; retry after %llds), expected %s",
				 (long long)resp->retry_after_s, exp);
		else
			snprintf(out->verdict, sizeof(out->verdict), "status %ld, expected %s",
				 resp->http_status, exp);
		goto out;
	}
	{
		int strict = schema != NULL || (fresh && p->fresh_field != NULL);

		if (strict || shape != NULL) {
			doc = check_parse(resp, strict, out);
			if (out->outcome != PD_OUT_OK)
				goto out;
		}
	}
	if (schema != NULL) {
		check_schema(schema, doc, out);
		if (out->outcome != PD_OUT_OK)
			goto out;
	}
	if (fresh && p->fresh_field != NULL) {
		fresh_field_check(p, doc, now_ms, out);
		if (out->outcome != PD_OUT_OK)
			goto out;
	}
	if (p->max_latency_ms > 0 && out->total_ms > (double)p->max_latency_ms) {
		out->outcome = PD_OUT_SLOW;
		snprintf(out->verdict, sizeof(out->verdict), "latency %.0f ms > max_latency %lld ms",
			 out->total_ms, (long long)p->max_latency_ms);
		goto out;
	}
	if (shape != NULL && doc != NULL) {
		/* hash only; the path list only when the structure changed */
		shape->hash = pd_shape_of(doc, NULL);
		shape->has = 1;
		if (shape->hash != shape->known_hash)
			pd_shape_of(doc, &shape->paths);
	}
out:
	cJSON_Delete(doc);
	/* curl error text can name the URL's host; make sure no secret leaks through */
	pd_log_redact(out->verdict, sizeof(out->verdict));
	utf8_trim_tail(out->verdict);
}

void
pd_check_response(const struct pd_probe_cfg *p, const struct pd_schema *schema,
		  const struct pd_response *resp, struct pd_result *out)
{
	pd_check_response_at(p, schema, resp, pd_clock_wall_ms(NULL), NULL, out);
}

void
pd_check_request_at(const struct pd_probe_cfg *p, int64_t now_ms, struct pd_request *req)
{
	memset(req, 0, sizeof(*req));
	req->url = p->url;
	if (p->kind == PD_KIND_FRESHNESS && p->fresh_url_buf != NULL && p->url != NULL) {
		char date[11];

		/* the probe's own buffer, sized by the config for every {date}: no allocation */
		pd_check_batch(p, now_ms, date, NULL);
		expand_date(p->fresh_url_buf, p->fresh_url_cap, p->url, strlen(p->url), date);
		req->url = p->fresh_url_buf;
	}
	req->method = p->method;
	req->headers = p->headers;
	req->nheaders = p->nheaders;
	req->body = p->body;
	req->body_len = p->body ? strlen(p->body) : 0;
	req->timeout_ms = p->timeout_ms;
	req->max_body = p->max_body;
	req->fresh_connect = 1;
	req->certinfo = 1;           /* earliest notAfter of the chain */
	req->ca_file = p->ca_file;
}

void
pd_check_request(const struct pd_probe_cfg *p, struct pd_request *req)
{
	pd_check_request_at(p, pd_clock_wall_ms(NULL), req);
}
