/* fuzz_check.c — the response check: status line, headers and body of an HTTP response
 * -> outcome and verdict (pd_check_response_at), with the shape fingerprint, for every
 * probe of a fixed configuration (the three probes of the repository's probes.yaml and
 * probes covering the other branches: freshness by field and by {date}, custom status
 * ranges without a schema, a small max_body, max_latency, a schema whose errors quote
 * the response's keys and values).
 *
 * Input: a raw HTTP/1.x response, as `curl -si` prints it:
 *
 *   HTTP/1.1 429 Too Many Requests\r\n
 *   Retry-After: 30\r\n
 *   \r\n
 *   {"error": "rate limit exceeded"}
 *
 * Header lines go through pd_runner_parse_header, as libcurl's header callback does in
 * the daemon. Two pseudo-headers steer the transport: "X-Fuzz-Curl: N" (a CURLcode:
 * the transfer failed) and "X-Fuzz-Total-Ms: N" (the total time). Input that does not
 * start with "HTTP/" is a 200 response with that body. The body is capped at the probe's
 * max_body as the runner caps it. The clock is fixed (2026-11-22T06:30:00Z).
 *
 * Properties: the outcome is a known one, "ok" exactly when it is PD_OUT_OK; the
 * verdict is non-empty and, when the input is valid UTF-8, valid UTF-8 (it is stored,
 * shown and sent in notification bodies); a transport failure or a capped body never
 * passes; an unexpected status never passes; a passing JSON response has a fingerprint
 * (never 0) and its path list diffs empty against itself. */
#include <string.h>
#include "fuzz.h"
#include "probed/check.h"
#include "probed/config.h"
#include "probed/jsonschema.h"
#include "probed/log.h"
#include "probed/outcome.h"
#include "probed/runner.h"

#define NOW_MS 1795329000000LL /* 2026-11-22T06:30:00Z */

static const char fixture[] =
	"probes:\n"
	"  - name: userid\n"
	"    url: https://api.example.com/userid/?username=tiktok\n"
	"    expect:\n"
	"      status: [200]\n"
	"      max_latency: 2s\n"
	"      json:\n"
	"        type: object\n"
	"        required: [id]\n"
	"        properties:\n"
	"          id: {type: string, minLength: 1}\n"
	"  - name: userinfo\n"
	"    url: https://api.example.com/userinfo-by-username/?username=tiktok\n"
	"    expect:\n"
	"      status: [200]\n"
	"      json:\n"
	"        type: object\n"
	"        required: [user, stats]\n"
	"        properties:\n"
	"          user:\n"
	"            type: object\n"
	"            required: [id, uniqueId]\n"
	"            properties:\n"
	"              id: {type: string, minLength: 1}\n"
	"              uniqueId: {type: string, minLength: 1}\n"
	"          stats:\n"
	"            type: object\n"
	"            required: [followerCount, heartCount, videoCount]\n"
	"            properties:\n"
	"              followerCount: {type: integer, minimum: 0}\n"
	"              heartCount: {type: integer, minimum: 0}\n"
	"              videoCount: {type: integer, minimum: 0}\n"
	"  - name: post-detail\n"
	"    url: https://api.example.com/post-detail/?url=https%3A%2F%2Fwww.tiktok.com%2F\n"
	"    expect:\n"
	"      status: [200]\n"
	"      json:\n"
	"        type: object\n"
	"        required: [play, hdplay, wmplay]\n"
	"        properties:\n"
	"          play: {type: string, minLength: 1, pattern: \"^https?://\"}\n"
	"          hdplay: {type: string, minLength: 1, pattern: \"^https?://\"}\n"
	"          wmplay: {type: string, minLength: 1, pattern: \"^https?://\"}\n"
	"  - name: posts\n"
	"    url: https://api.example.com/user-posts/\n"
	"    max_body: 4KiB\n"
	"    expect:\n"
	"      json:\n"
	"        type: object\n"
	"        required: [videos]\n"
	"        properties:\n"
	"          videos:\n"
	"            type: array\n"
	"            maxItems: 50\n"
	"            uniqueItems: true\n"
	"            items:\n"
	"              type: object\n"
	"              required: [id]\n"
	"              additionalProperties: {type: [string, number, boolean, \"null\"]}\n"
	"              properties:\n"
	"                id: {type: string, pattern: \"^[0-9]+$\"}\n"
	"  - name: batch\n"
	"    kind: freshness\n"
	"    url: https://api.example.com/stats/archive/{date}.json\n"
	"    freshness: {deadline: \"06:00\"}\n"
	"  - name: generated\n"
	"    kind: freshness\n"
	"    url: https://api.example.com/stats/latest.json\n"
	"    freshness: {field: meta.generated_at, max_age: 26h}\n"
	"  - name: counters\n"
	"    url: https://api.example.com/counters/\n"
	"    expect:\n"
	"      json:\n"
	"        type: object\n"
	"        additionalProperties: {type: integer, maximum: 1000}\n"
	"        propertyNames: {maxLength: 64}\n"
	"  - name: plain\n"
	"    url: https://status.example.com/\n"
	"    expect:\n"
	"      status: [200, \"300-399\", 404]\n"
	"      max_latency: 100ms\n";

static struct pd_config *cfg;
static struct pd_schema **schemas;

static void
init(void)
{
	struct pd_err err = {0};

	pd_log_set_level(PD_LOG_ERR);
	if (pd_config_load_string(fixture, sizeof(fixture) - 1, "fuzz_check.yaml", &cfg, &err, NULL,
				  NULL) != 0) {
		fprintf(stderr, "fuzz_check: fixture: %s\n", err.msg);
		abort();
	}
	schemas = calloc(cfg->nprobes, sizeof(*schemas));
	if (schemas == NULL)
		abort();
	for (size_t i = 0; i < cfg->nprobes; i++)
		if (cfg->probes[i].json_schema != NULL &&
		    (schemas[i] = pd_jsonschema_new(cfg->probes[i].json_schema, &err)) == NULL)
			abort();
}

struct parsed {
	long status;
	int curl_code;
	double total_s;
	const char *hdr[64];
	size_t hdr_len[64], nhdr;
	const char *body;
	size_t body_len;
};

static long
num(const char *p, const char *end)
{
	long v = 0;

	while (p < end && *p == ' ')
		p++;
	for (; p < end && *p >= '0' && *p <= '9' && v < 100000000; p++)
		v = v * 10 + (*p - '0');
	return v;
}

/* Split a raw response; the status line and header lines end in \n (or \r\n). */
static void
parse(const char *p, size_t size, struct parsed *r)
{
	const char *end = p + size, *eol;

	memset(r, 0, sizeof(*r));
	r->status = 200;
	r->total_s = 0.05;
	if (size < 5 || memcmp(p, "HTTP/", 5) != 0) {
		r->body = p;
		r->body_len = size;
		return;
	}
	eol = memchr(p, '\n', size);
	if (eol == NULL)
		eol = end;
	{
		const char *sp = memchr(p, ' ', (size_t)(eol - p));

		r->status = sp ? num(sp + 1, sp + 1 + (eol - sp - 1 < 3 ? eol - sp - 1 : 3)) : 0;
	}
	p = eol < end ? eol + 1 : end;
	while (p < end) {
		size_t len;

		eol = memchr(p, '\n', (size_t)(end - p));
		len = eol ? (size_t)(eol - p) + 1 : (size_t)(end - p);
		if (len == 1 || (len == 2 && p[0] == '\r')) {
			p += len;
			break;
		}
		if (len > 12 && strncasecmp(p, "X-Fuzz-Curl:", 12) == 0)
			r->curl_code = (int)(num(p + 12, p + len) % 100);
		else if (len > 16 && strncasecmp(p, "X-Fuzz-Total-Ms:", 16) == 0)
			r->total_s = (double)num(p + 16, p + len) / 1000.0;
		else if (r->nhdr < sizeof(r->hdr) / sizeof(r->hdr[0])) {
			r->hdr[r->nhdr] = p;
			r->hdr_len[r->nhdr++] = len;
		}
		p += len;
	}
	r->body = p;
	r->body_len = (size_t)(end - p);
}

static void
one(size_t i, const struct parsed *in, int utf8)
{
	const struct pd_probe_cfg *p = &cfg->probes[i];
	struct pd_response resp;
	struct pd_shape shape = {.known_hash = 0};
	struct pd_result out;
	size_t vlen;

	memset(&resp, 0, sizeof(resp));
	memset(&out, 0, sizeof(out));
	resp.curl_code = in->curl_code;
	if (in->curl_code != 0)
		snprintf(resp.error, sizeof(resp.error), "fuzz transport error %d", in->curl_code);
	resp.http_status = in->status;
	resp.retry_after_s = -1;
	resp.ratelimit_remaining = -1;
	resp.namelookup_s = 0.001;
	resp.connect_s = 0.002;
	resp.appconnect_s = 0.004;
	resp.starttransfer_s = in->total_s > 0.005 ? in->total_s - 0.001 : in->total_s;
	resp.total_s = in->total_s;
	for (size_t k = 0; k < in->nhdr; k++)
		pd_runner_parse_header(&resp, in->hdr[k], in->hdr_len[k]);
	FUZZ_CHECK(resp.retry_after_s >= -1, "retry_after_s %lld", (long long)resp.retry_after_s);
	pd_buf_init(&resp.body, p->max_body);
	if (in->body_len > 0 && pd_buf_append(&resp.body, in->body, in->body_len) == PD_ERR_NOMEM)
		abort();
	pd_check_response_at(p, schemas[i], &resp, NOW_MS, &shape, &out);

	FUZZ_CHECK(out.outcome >= 0 && out.outcome < PD_OUT__COUNT, "outcome %d", out.outcome);
	vlen = strnlen(out.verdict, sizeof(out.verdict));
	FUZZ_CHECK(vlen < sizeof(out.verdict), "verdict unterminated");
	FUZZ_CHECK(vlen > 0, "empty verdict (outcome %s)", pd_outcome_str(out.outcome));
	FUZZ_CHECK((out.outcome == PD_OUT_OK) == (strcmp(out.verdict, "ok") == 0),
		   "outcome %s with verdict '%s'", pd_outcome_str(out.outcome), out.verdict);
	if (utf8)
		FUZZ_CHECK(fuzz_utf8_valid(out.verdict, vlen),
			   "probe %s: invalid UTF-8 in verdict: %s", p->name, out.verdict);
	if (in->curl_code != 0 || resp.body.over)
		FUZZ_CHECK(out.outcome != PD_OUT_OK, "a failed transfer passed");
	if (resp.body.over)
		FUZZ_CHECK(out.outcome == PD_OUT_BODY_TOO_LARGE, "capped body: %s", out.verdict);
	if (out.outcome == PD_OUT_OK) {
		int want = 0;

		for (size_t k = 0; k < p->nstatus; k++)
			want |= in->status >= p->status[k].lo && in->status <= p->status[k].hi;
		if (p->nstatus == 0)
			want = in->status >= 200 && in->status <= 299;
		FUZZ_CHECK(want, "status %ld passed probe %s", in->status, p->name);
	}
	FUZZ_CHECK(!shape.has || shape.hash != 0, "fingerprint 0");
	FUZZ_CHECK(!shape.has || out.outcome == PD_OUT_OK, "fingerprint of a failure");
	if (shape.paths != NULL) {
		char diff[256];

		FUZZ_CHECK(pd_check_shape_diff(shape.paths, shape.paths, diff, sizeof(diff)) == 0,
			   "a path list differs from itself: %s", diff);
	}
	pd_check_shape_cleanup(&shape);
	pd_buf_cleanup(&resp.body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int done;
	struct parsed in;
	int utf8 = fuzz_utf8_valid((const char *)data, size);

	if (!done) {
		init();
		done = 1;
	}
	parse((const char *)data, size, &in);
	for (size_t i = 0; i < cfg->nprobes; i++)
		one(i, &in, utf8);
	return 0;
}
