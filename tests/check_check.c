/* check_check.c — response -> result classification, over real pd_response values. */
#include <check.h>
#include "testlib.h"
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "probed/check.h"
#include "probed/log.h"
#include "probed/outcome.h"

static struct pd_probe_cfg probe;
static struct pd_status_range st200 = {200, 200};
static cJSON *schema_json;
static struct pd_schema *schema;

static void
setup(void)
{
	struct pd_err err = {0};

	memset(&probe, 0, sizeof(probe));
	probe.name = "userid";
	probe.status = &st200;
	probe.nstatus = 1;
	probe.max_latency_ms = 2000;
	schema_json = cJSON_Parse("{\"type\":\"object\",\"required\":[\"id\"],"
				  "\"properties\":{\"id\":{\"type\":\"string\",\"minLength\":1}}}");
	ck_assert_ptr_nonnull(schema_json);
	schema = pd_jsonschema_new(schema_json, &err);
	ck_assert_msg(schema != NULL, "%s", err.msg);
}

static void
teardown(void)
{
	pd_jsonschema_free(schema);
	cJSON_Delete(schema_json);
	pd_log_clear_secrets();
}

static void
resp_init(struct pd_response *r, long status, const char *body, double total_s)
{
	memset(r, 0, sizeof(*r));
	pd_buf_init(&r->body, 1024);
	if (body)
		pd_buf_append(&r->body, body, strlen(body));
	r->http_status = status;
	r->namelookup_s = 0.001;
	r->connect_s = 0.002;
	r->appconnect_s = -1;
	r->starttransfer_s = total_s * 0.9;
	r->total_s = total_s;
	r->retry_after_s = -1;
	r->ratelimit_remaining = -1;
}

static struct pd_result
run(struct pd_response *resp)
{
	struct pd_result r;

	memset(&r, 0, sizeof(r));
	pd_check_response(&probe, schema, resp, &r);
	pd_buf_cleanup(&resp->body);
	return r;
}

START_TEST(test_ok)
{
	struct pd_response resp;
	struct pd_result r;

	resp_init(&resp, 200, "{\"id\":\"6881290705605477381\"}", 0.120);
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_OK);
	ck_assert_str_eq(r.verdict, "ok");
	ck_assert_int_eq(r.http_status, 200);
	ck_assert_double_eq_tol(r.total_ms, 120.0, 0.01);
	ck_assert_double_eq_tol(r.dns_ms, 1.0, 0.01);
	ck_assert_double_eq_tol(r.connect_ms, 1.0, 0.01);
	ck_assert_double_eq_tol(r.tls_ms, -1, 0.01);
	ck_assert_double_eq_tol(r.ttfb_ms, 106.0, 0.01);
	ck_assert_int_eq(r.body_size, 28);
}
END_TEST

START_TEST(test_empty_id_is_an_outage)
{
	struct pd_response resp;
	struct pd_result r;

	resp_init(&resp, 200, "{\"id\":\"\"}", 0.05);
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_SHAPE);
	ck_assert_str_eq(r.verdict, "$.id: minLength 1, got \"\"");
}
END_TEST

START_TEST(test_status_classes)
{
	static const struct {
		long status;
		int outcome;
	} cases[] = {
		{500, PD_OUT_HTTP_5XX},     {502, PD_OUT_HTTP_5XX},     {503, PD_OUT_HTTP_5XX},
		{401, PD_OUT_KEY_REJECTED}, {403, PD_OUT_KEY_REJECTED}, {429, PD_OUT_QUOTA},
		{404, PD_OUT_HTTP_4XX},     {301, PD_OUT_HTTP_STATUS},  {204, PD_OUT_HTTP_STATUS},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pd_response resp;
		struct pd_result r;

		resp_init(&resp, cases[i].status, "{\"id\":\"1\"}", 0.01);
		r = run(&resp);
		ck_assert_msg(r.outcome == cases[i].outcome, "status %ld -> %s", cases[i].status,
			      pd_outcome_str(r.outcome));
		ck_assert_ptr_nonnull(strstr(r.verdict, "expected 200"));
	}
}
END_TEST

START_TEST(test_quota_mentions_retry_after)
{
	struct pd_response resp;
	struct pd_result r;

	resp_init(&resp, 429, "{}", 0.01);
	resp.retry_after_s = 30;
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_QUOTA);
	ck_assert_ptr_nonnull(strstr(r.verdict, "retry after 30s"));
}
END_TEST

START_TEST(test_body_problems)
{
	struct pd_response resp;
	struct pd_result r;

	resp_init(&resp, 200, "", 0.01);
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_EMPTY);

	resp_init(&resp, 200, "{\"id\": \"12", 0.01);
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_INVALID_JSON);

	resp_init(&resp, 200, "{\"id\":\"123\"} this is not JSON", 0.01);
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_INVALID_JSON);
	ck_assert_ptr_nonnull(strstr(r.verdict, "trailing data at byte 12"));

	resp_init(&resp, 200, "{\"id\":\"123\"}\r\n", 0.01);
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_OK);

	resp_init(&resp, 200, "[{\"id\":\"1\"}]", 0.01);
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_SHAPE);
	ck_assert_ptr_nonnull(strstr(r.verdict, "type"));
}
END_TEST

START_TEST(test_deep_nesting_is_invalid_json_not_a_crash)
{
	struct pd_response resp;
	struct pd_result r;
	size_t depth = 100000;
	char *deep = malloc(depth + 1);

	memset(deep, '[', depth);
	deep[depth] = '\0';
	memset(&resp, 0, sizeof(resp));
	pd_buf_init(&resp.body, 0);
	pd_buf_append(&resp.body, deep, depth);
	resp.http_status = 200;
	resp.total_s = 0.01;
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_INVALID_JSON);
	free(deep);
}
END_TEST

START_TEST(test_body_cap)
{
	struct pd_response resp;
	struct pd_result r;
	char big[2048];

	memset(big, 'x', sizeof(big));
	resp_init(&resp, 200, NULL, 0.01);
	ck_assert_int_ne(pd_buf_append(&resp.body, big, sizeof(big)), 0);
	ck_assert_int_eq(resp.body.over, 1);
	resp.curl_code = CURLE_WRITE_ERROR;
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_BODY_TOO_LARGE);
	ck_assert_ptr_nonnull(strstr(r.verdict, "max_body"));
}
END_TEST

START_TEST(test_transport_errors)
{
	static const struct {
		int code;
		int outcome;
	} cases[] = {
		{CURLE_COULDNT_RESOLVE_HOST, PD_OUT_DNS},
		{CURLE_COULDNT_CONNECT, PD_OUT_CONNECT},
		{CURLE_OPERATION_TIMEDOUT, PD_OUT_TIMEOUT},
		{CURLE_PEER_FAILED_VERIFICATION, PD_OUT_TLS},
		{CURLE_SSL_CONNECT_ERROR, PD_OUT_TLS},
		{CURLE_RECV_ERROR, PD_OUT_ERROR},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pd_response resp;
		struct pd_result r;

		resp_init(&resp, 0, NULL, 0.01);
		resp.curl_code = cases[i].code;
		snprintf(resp.error, sizeof(resp.error), "%s", curl_easy_strerror(cases[i].code));
		r = run(&resp);
		ck_assert_int_eq(r.outcome, cases[i].outcome);
		if (cases[i].outcome == PD_OUT_TLS) {
			/* the cause first, then curl's own words */
			ck_assert_msg(strncmp(r.verdict, "TLS ", 4) == 0, "%s", r.verdict);
			ck_assert_ptr_nonnull(strstr(r.verdict, curl_easy_strerror(cases[i].code)));
		} else {
			ck_assert_str_eq(r.verdict, curl_easy_strerror(cases[i].code));
		}
	}
}
END_TEST

START_TEST(test_slow)
{
	struct pd_response resp;
	struct pd_result r;

	resp_init(&resp, 200, "{\"id\":\"1\"}", 2.5);
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_SLOW);
	ck_assert_str_eq(r.verdict, "latency 2500 ms > max_latency 2000 ms");
	/* a shape failure wins over slowness */
	resp_init(&resp, 200, "{\"id\":\"\"}", 2.5);
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_SHAPE);
}
END_TEST

START_TEST(test_secret_never_in_verdict)
{
	struct pd_response resp;
	struct pd_result r;

	pd_log_add_secret("canary-5ecret-key");
	resp_init(&resp, 0, NULL, 0.01);
	resp.curl_code = CURLE_COULDNT_RESOLVE_HOST;
	snprintf(resp.error, sizeof(resp.error),
		 "Could not resolve host: canary-5ecret-key.example");
	r = run(&resp);
	ck_assert_ptr_null(strstr(r.verdict, "canary-5ecret-key"));
	ck_assert_ptr_nonnull(strstr(r.verdict, "[REDACTED]"));
}
END_TEST

/* Masking has no cap: after 200 rotated tokens (a SIGHUP each) the newest and the oldest
 * are still masked (a fixed list of 64 stopped masking new ones). */
START_TEST(test_secret_mask_unbounded)
{
	char tok[64], line[128];

	for (int i = 0; i < 200; i++) {
		snprintf(tok, sizeof(tok), "rotated-token-%03d-xyz", i);
		pd_log_add_secret(tok);
	}
	snprintf(line, sizeof(line), "a rotated-token-199-xyz b rotated-token-000-xyz c");
	pd_log_redact(line, sizeof(line));
	ck_assert_str_eq(line, "a [REDACTED] b [REDACTED] c");
}
END_TEST

START_TEST(test_status_ranges)
{
	struct pd_status_range ranges[] = {{200, 299}, {404, 404}};
	struct pd_response resp;
	struct pd_result r;

	probe.status = ranges;
	probe.nstatus = 2;
	resp_init(&resp, 404, "{\"id\":\"x\"}", 0.01);
	r = run(&resp);
	ck_assert_int_eq(r.outcome, PD_OUT_OK);
	resp_init(&resp, 500, "{\"id\":\"x\"}", 0.01);
	r = run(&resp);
	ck_assert_str_eq(r.verdict, "status 500, expected 200-299,404");
}
END_TEST

/* 1 when s is valid UTF-8 (enough for these tests: no overlong/surrogate checks). */
static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC0 ? 1 : -1;

		if (n < 0)
			return 0;
		for (int i = 1; i <= n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return 0;
		p += n + 1;
	}
	return 1;
}

/* Found with fuzz_check's UTF-8 property (check.c cut the first schema
 * error at 200 bytes, "%.200s (+N more)", inside a multi-byte character of the quoted
 * value): the verdict goes into stored rows and notification bodies. */
START_TEST(test_verdict_cut_keeps_utf8)
{
	struct pd_schema *s2;
	cJSON *j = cJSON_Parse(
		"{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}");
	struct pd_err err = {0};
	char body[1024], key[160];
	struct pd_response resp;
	struct pd_result r;

	s2 = pd_jsonschema_new(j, &err);
	ck_assert_ptr_nonnull(s2);
	for (size_t k = 145; k < 155; k++) { /* every alignment of the cut */
		memset(key, 'k', k);
		key[k] = '\0';
		snprintf(body, sizeof(body), "{\"%s\": \"%s\", \"%s2\": \"x\"}", key,
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
			 key);
		resp_init(&resp, 200, body, 0.01);
		memset(&r, 0, sizeof(r));
		pd_check_response(&probe, s2, &resp, &r);
		pd_buf_cleanup(&resp.body);
		ck_assert_int_eq(r.outcome, PD_OUT_SHAPE);
		ck_assert_ptr_nonnull(strstr(r.verdict, " (+1 more)"));
		ck_assert_msg(utf8_ok(r.verdict), "key %zu: %s", k, r.verdict);
	}
	pd_jsonschema_free(s2);
	cJSON_Delete(j);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("check");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ok);
	tcase_add_test(tc, test_secret_mask_unbounded);
	tcase_add_test(tc, test_empty_id_is_an_outage);
	tcase_add_test(tc, test_status_classes);
	tcase_add_test(tc, test_quota_mentions_retry_after);
	tcase_add_test(tc, test_body_problems);
	tcase_add_test(tc, test_deep_nesting_is_invalid_json_not_a_crash);
	tcase_add_test(tc, test_body_cap);
	tcase_add_test(tc, test_transport_errors);
	tcase_add_test(tc, test_slow);
	tcase_add_test(tc, test_secret_never_in_verdict);
	tcase_add_test(tc, test_status_ranges);
	tcase_add_test(tc, test_verdict_cut_keeps_utf8);
	suite_add_tcase(s, tc);
	return pd_test_run(s);
}
