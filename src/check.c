/* check.c — response -> result: transport errors, status, body, JSON shape, latency (and,
 * through check_fresh.c, the freshness of batch resources). Response shape fingerprints
 * are check_shape.c; what these files share is check_int.h. The first failing check decides the outcome; the order puts the most telling first
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
#include "check_int.h"

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
	out->connect_ms =
		phase_ms(resp->connect_s, resp->namelookup_s > 0 ? resp->namelookup_s : 0);
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
			 "invalid JSON near byte %ld of %zu (or nested too deep)", off,
			 resp->body.len);
	}
	return doc;
}

/* How many bytes of s, at most max, end on a UTF-8 character boundary: for "%.*s", so
 * that a cut never leaves half a character (a verdict goes into stored rows and into
 * notification bodies, where a receiver may reject invalid UTF-8 with a 400). */
int
pd_check_utf8_prefix(const char *s, size_t max)
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

	if (!pd_jsonschema_validate(schema, doc, errs, 4, &nerr)) {
		out->outcome = PD_OUT_SHAPE;
		if (nerr > 1)
			snprintf(out->verdict, sizeof(out->verdict), "%.*s (+%zu more)",
				 pd_check_utf8_prefix(errs[0].msg, 200), errs[0].msg, nerr - 1);
		else if (nerr == 1)
			snprintf(out->verdict, sizeof(out->verdict), "%s", errs[0].msg);
		else
			snprintf(out->verdict, sizeof(out->verdict), "schema validation failed");
	}
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
		else if (out->outcome == PD_OUT_TLS) /* name the cause */
			pd_tlscert_verdict(resp->curl_code, resp->error, out->verdict,
					   sizeof(out->verdict));
		else
			snprintf(out->verdict, sizeof(out->verdict), "%s", resp->error);
		goto out;
	}
	if (fresh && (resp->http_status == 404 || resp->http_status == 410)) {
		pd_check_fresh_missing(p, now_ms, out);
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
		pd_check_fresh_field_check(p, doc, now_ms, out);
		if (out->outcome != PD_OUT_OK)
			goto out;
	}
	if (p->max_latency_ms > 0 && out->total_ms > (double)p->max_latency_ms) {
		out->outcome = PD_OUT_SLOW;
		snprintf(out->verdict, sizeof(out->verdict),
			 "latency %.0f ms > max_latency %lld ms", out->total_ms,
			 (long long)p->max_latency_ms);
		goto out;
	}
	if (shape != NULL && doc != NULL) {
		/* hash only; the path list only when the structure changed */
		shape->hash = pd_check_shape_of(doc, NULL);
		shape->has = 1;
		if (shape->hash != shape->known_hash)
			pd_check_shape_of(doc, &shape->paths);
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
		pd_check_expand_date(p->fresh_url_buf, p->fresh_url_cap, p->url, strlen(p->url),
				     date);
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
	req->certinfo = 1; /* earliest notAfter of the chain */
	req->ca_file = p->ca_file;
}

void
pd_check_request(const struct pd_probe_cfg *p, struct pd_request *req)
{
	pd_check_request_at(p, pd_clock_wall_ms(NULL), req);
}
