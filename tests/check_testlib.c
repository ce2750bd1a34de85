/* check_testlib.c — the shared test helpers themselves: the loopback receiver's script
 * (order, the last reply repeating, Retry-After, bodies, a replaced script, hanging and
 * closing without an answer), what it records, the fake clock, the store fixture and the
 * UTF-8 check. The receiver is driven with blocking libcurl requests. */
#include <check.h>
#include "testlib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include "probed/store.h"

struct got {
	long status;
	CURLcode rc;
	char body[256];
	size_t len;
	char retry_after[32];
};

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct got *g = ud;
	size_t k = size * n;

	if (g->len + k < sizeof(g->body)) {
		memcpy(g->body + g->len, p, k);
		g->len += k;
		g->body[g->len] = '\0';
	}
	return k;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
	struct got *g = ud;
	size_t k = size * n;

	if (k > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		snprintf(g->retry_after, sizeof(g->retry_after), "%.*s",
			 (int)strcspn(p + 12, "\r\n"), p + 12);
	return k;
}

/* One request to the receiver: POST body to path (GET when body is NULL). */
static struct got
req(const struct pd_test_http *h, const char *path, const char *body, long timeout_ms)
{
	struct got g;
	char url[128];
	CURL *c = curl_easy_init();

	memset(&g, 0, sizeof(g));
	ck_assert_ptr_nonnull(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", h->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &g);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	g.rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g.status);
	curl_easy_cleanup(c);
	return g;
}

START_TEST(http_script_in_order_last_repeats)
{
	static const struct pd_test_reply script[] = {
		{.status = 503, .retry_after = 7},
		{.status = 202, .body = "{\"id\":\"42\"}"},
	};
	struct pd_test_http h;
	const struct pd_test_request *r;
	struct got g;
	cJSON *j;

	pd_test_http_start(&h, 0, script, 2);
	ck_assert_int_gt(h.port, 0);
	ck_assert_int_eq(pd_test_http_count(&h), 0);
	g = req(&h, "/first?x=1", "{\"n\":1}", 5000);
	ck_assert_int_eq(g.rc, CURLE_OK);
	ck_assert_int_eq(g.status, 503);
	ck_assert_str_eq(g.retry_after, " 7");
	ck_assert_str_eq(g.body, "{}");
	g = req(&h, "/second", "{\"n\":2}", 5000);
	ck_assert_int_eq(g.status, 202);
	ck_assert_str_eq(g.retry_after, "");
	ck_assert_str_eq(g.body, "{\"id\":\"42\"}");
	g = req(&h, "/third", NULL, 5000);
	ck_assert_int_eq(g.status, 202); /* the last reply repeats */
	ck_assert_int_eq(pd_test_http_count(&h), 3);
	r = pd_test_http_request(&h, 0);
	ck_assert_str_eq(r->line, "POST /first?x=1 HTTP/1.1");
	ck_assert_ptr_nonnull(strstr(r->head, "\r\nHost: 127.0.0.1:"));
	ck_assert_str_eq(r->head + strlen(r->head) - 4, "\r\n\r\n");
	ck_assert_str_eq(r->body, "{\"n\":1}");
	ck_assert_uint_eq(r->body_len, 7);
	ck_assert_str_eq(pd_test_http_request(&h, 2)->line, "GET /third HTTP/1.1");
	ck_assert_uint_eq(pd_test_http_request(&h, 2)->body_len, 0);
	j = pd_test_http_json(&h, 1);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "n")->valueint, 2);
	cJSON_Delete(j);
	pd_test_http_stop(&h);
	pd_test_http_stop(&h); /* safe twice */
}
END_TEST

START_TEST(http_script_replaced)
{
	struct pd_test_http h;

	pd_test_http_start(&h, 0, &(struct pd_test_reply){.status = 500}, 1);
	ck_assert_int_eq(req(&h, "/", NULL, 5000).status, 500);
	ck_assert_int_eq(req(&h, "/", NULL, 5000).status, 500);
	pd_test_http_script(&h, (const struct pd_test_reply[]){{.status = 201}, {.status = 204}},
			    2);
	ck_assert_int_eq(req(&h, "/", NULL, 5000).status, 201); /* from the new script's start */
	ck_assert_int_eq(req(&h, "/", NULL, 5000).status, 204);
	ck_assert_int_eq(pd_test_http_count(&h), 4);
	pd_test_http_stop(&h);
}
END_TEST

START_TEST(http_hang_close_delay)
{
	static const struct pd_test_reply script[] = {
		{.status = PD_TEST_HTTP_HANG},
		{.status = PD_TEST_HTTP_CLOSE},
		{.status = 200, .delay_ms = 300},
	};
	struct pd_test_http h;
	struct got g;
	int64_t t0;

	pd_test_http_start(&h, 0, script, 3);
	g = req(&h, "/hang", NULL, 500);
	ck_assert_int_eq(g.rc, CURLE_OPERATION_TIMEDOUT);
	ck_assert_int_eq(pd_test_http_count(&h), 1); /* recorded all the same */
	g = req(&h, "/close", NULL, 5000);
	ck_assert_int_eq(g.rc, CURLE_GOT_NOTHING);
	t0 = pd_clock_mono_ms();
	g = req(&h, "/slow", NULL, 5000);
	ck_assert_int_eq(g.status, 200);
	ck_assert_int_ge(pd_clock_mono_ms() - t0, 300);
	ck_assert_int_eq(pd_test_http_count(&h), 3);
	pd_test_http_stop(&h);
}
END_TEST

START_TEST(http_fixed_and_closed_port)
{
	struct pd_test_http h;
	int port = pd_test_closed_port();
	struct got g;

	ck_assert_int_gt(port, 0);
	pd_test_http_start(&h, port, &(struct pd_test_reply){.status = 200}, 1);
	pd_test_http_stop(&h);
	g = req(&h, "/", NULL, 2000); /* h.port survives stop: nothing listens there now */
	ck_assert_int_eq(g.rc, CURLE_COULDNT_CONNECT);
	pd_test_http_start(&h, port, &(struct pd_test_reply){.status = 204}, 1);
	ck_assert_int_eq(h.port, port);
	ck_assert_int_eq(req(&h, "/", NULL, 5000).status, 204);
	pd_test_http_stop(&h);
}
END_TEST

START_TEST(fake_clock)
{
	struct pd_test_clock c;
	const struct pd_clock *k = pd_test_clock_init(&c, 1795000000000LL);

	ck_assert_int_eq(pd_clock_wall_ms(k), 1795000000000LL);
	pd_test_clock_advance(&c, 1500);
	ck_assert_int_eq(pd_clock_wall_ms(k), 1795000001500LL);
	pd_test_clock_set(&c, 42);
	ck_assert_int_eq(pd_clock_wall_ms(k), 42);
}
END_TEST

static int
count_event(void *ud, int64_t ts_ms, const char *probe, const char *kind, const char *detail)
{
	(void)probe;
	(void)kind;
	if (ts_ms == 1000 && detail != NULL && strcmp(detail, "kept") == 0)
		(*(int *)ud)++;
	return 0;
}

START_TEST(store_fixture)
{
	struct pd_test_store s;
	struct pd_store *st = pd_test_store_open(&s, "testlib");
	struct pd_err err = {0};
	char dir[sizeof(s.dir)];
	int n = 0;

	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(access(s.path, F_OK), 0);
	ck_assert_int_eq(pd_store_add_event(st, 1000, "p", "note", "kept", &err), 0);
	ck_assert_int_eq(pd_store_flush(st, &err), 0);
	st = pd_test_store_reopen(&s, 1);
	ck_assert_ptr_eq(st, s.st);
	ck_assert_int_eq(pd_store_events(st, NULL, 0, count_event, &n, &err), 0);
	ck_assert_int_eq(n, 1); /* the same file, reopened */
	snprintf(dir, sizeof(dir), "%s", s.dir);
	pd_test_store_close(&s);
	ck_assert_int_ne(access(dir, F_OK), 0);
	pd_test_store_close(&s); /* safe twice */
}
END_TEST

START_TEST(utf8_valid)
{
	ck_assert(pd_test_utf8_valid((const unsigned char *)"caf\xc3\xa9 \xe2\x82\xac", 9));
	ck_assert(!pd_test_utf8_valid((const unsigned char *)"caf\xc3", 4)); /* cut */
	ck_assert(!pd_test_utf8_valid((const unsigned char *)"\xa9x", 2));   /* stray */
	ck_assert(!pd_test_utf8_valid((const unsigned char *)"\xe2\x28\xa1", 3));
}
END_TEST

static Suite *
testlib_suite(void)
{
	Suite *s = suite_create("testlib");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, http_script_in_order_last_repeats);
	tcase_add_test(tc, http_script_replaced);
	tcase_add_test(tc, http_hang_close_delay);
	tcase_add_test(tc, http_fixed_and_closed_port);
	tcase_add_test(tc, fake_clock);
	tcase_add_test(tc, store_fixture);
	tcase_add_test(tc, utf8_valid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(testlib_suite());
}
