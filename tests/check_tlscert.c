/* check_tlscert.c — certificate expiry. The chain's earliest notAfter from
 * libcurl's certinfo, the thresholds (ticket P4 / chat P3 / page P2), the reason and
 * verdict texts, and the `ca_file` / `cert_expiry` config keys with their errors. */
#include <check.h>
#include "testlib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "probed/config.h"
#include "probed/err.h"
#include "probed/tlscert.h"

#define DAY 86400LL
#define DAY_MS (DAY * 1000)

static struct pd_cert_expiry
defaults(void)
{
	struct pd_cert_expiry ce = {1, 21 * DAY_MS, 7 * DAY_MS, 2 * DAY_MS};

	return ce;
}

START_TEST(test_parse_date)
{
	/* the form OpenSSL prints, as curl hands it over (two spaces before a 1-digit day) */
	ck_assert_int_eq(pd_tlscert_parse_date("Jan  1 00:00:00 2027 GMT"), 1798761600LL);
	ck_assert_int_eq(pd_tlscert_parse_date("Dec 31 23:59:59 2026 GMT"), 1798761599LL);
	ck_assert_int_eq(pd_tlscert_parse_date(" Feb 29 12:00:00 2028 GMT"), 1835438400LL);
	ck_assert_int_eq(pd_tlscert_parse_date(""), -1);
	ck_assert_int_eq(pd_tlscert_parse_date("   "), -1);
	ck_assert_int_eq(pd_tlscert_parse_date("not a date"), -1);
	ck_assert_int_eq(pd_tlscert_parse_date(NULL), -1);
}
END_TEST

START_TEST(test_earliest)
{
	struct curl_slist *leaf = NULL, *mid = NULL, *root = NULL;
	struct curl_slist *chain[3];
	struct curl_certinfo ci;

	leaf = curl_slist_append(leaf, "Subject:CN = api.example");
	leaf = curl_slist_append(leaf, "Start date:Jan  1 00:00:00 2026 GMT");
	leaf = curl_slist_append(leaf, "Expire date:Mar 10 08:00:00 2027 GMT");
	mid = curl_slist_append(mid, "Subject:CN = intermediate");
	/* the intermediate ends first: it is the one that counts */
	mid = curl_slist_append(mid, "Expire date:Feb  1 00:00:00 2027 GMT");
	root = curl_slist_append(root, "Expire date:garbage");
	chain[0] = leaf;
	chain[1] = mid;
	chain[2] = root;
	ci.num_of_certs = 3;
	ci.certinfo = chain;
	ck_assert_int_eq(pd_tlscert_earliest(&ci), 1801440000LL);
	ci.num_of_certs = 1;
	ck_assert_int_eq(pd_tlscert_earliest(&ci), 1804665600LL);
	chain[0] = root; /* only an unparsable date */
	ck_assert_int_eq(pd_tlscert_earliest(&ci), -1);
	ci.num_of_certs = 0;
	ck_assert_int_eq(pd_tlscert_earliest(&ci), -1);
	ck_assert_int_eq(pd_tlscert_earliest(NULL), -1);
	curl_slist_free_all(leaf);
	curl_slist_free_all(mid);
	curl_slist_free_all(root);
}
END_TEST

START_TEST(test_severity)
{
	struct pd_cert_expiry ce = defaults();
	int64_t now = 1800000000LL;

	ck_assert_int_eq(pd_tlscert_severity(&ce, now + 30 * DAY, now), 0);
	ck_assert_int_eq(pd_tlscert_severity(&ce, now + 21 * DAY, now), 0); /* boundary: not < */
	ck_assert_int_eq(pd_tlscert_severity(&ce, now + 21 * DAY - 1, now), 4);
	ck_assert_int_eq(pd_tlscert_severity(&ce, now + 7 * DAY, now), 4);
	ck_assert_int_eq(pd_tlscert_severity(&ce, now + 5 * DAY, now), 3);
	ck_assert_int_eq(pd_tlscert_severity(&ce, now + 2 * DAY - 1, now), 2);
	ck_assert_int_eq(pd_tlscert_severity(&ce, now - 1, now), 2); /* expired */
	ck_assert_int_eq(pd_tlscert_severity(&ce, -1, now), 0);      /* unknown */
	/* page off: expired still pages, 1 day left is chat */
	ce.page_ms = 0;
	ck_assert_int_eq(pd_tlscert_severity(&ce, now + DAY, now), 3);
	ck_assert_int_eq(pd_tlscert_severity(&ce, now - DAY, now), 2);
	/* disabled */
	ce = defaults();
	ce.enabled = 0;
	ck_assert_int_eq(pd_tlscert_severity(&ce, now - DAY, now), 0);
	ck_assert_int_eq(pd_tlscert_severity(NULL, now, now), 0);
	ck_assert_str_eq(pd_tlscert_level_str(2), "page");
	ck_assert_str_eq(pd_tlscert_level_str(3), "chat");
	ck_assert_str_eq(pd_tlscert_level_str(4), "ticket");
	ck_assert_str_eq(pd_tlscert_level_str(0), "none");
}
END_TEST

START_TEST(test_reason)
{
	struct pd_cert_expiry ce = defaults();
	int64_t now = 1800000000LL; /* 2027-01-15 08:00:00 UTC */
	char out[256];

	pd_tlscert_reason("api", &ce, now + 5 * DAY - 3600, now, out, sizeof(out));
	ck_assert_str_eq(out, "TLS certificate of api expires in 4d23h (notAfter 2027-01-20 "
			      "07:00:00 UTC): chat level (< 7d)");
	pd_tlscert_reason("api", &ce, now - 3 * 3600, now, out, sizeof(out));
	ck_assert_str_eq(out, "TLS certificate of api expired 3h0m ago (notAfter 2027-01-15 "
			      "05:00:00 UTC): renew it now");
}
END_TEST

START_TEST(test_verdict)
{
	static const struct {
		int code;
		const char *msg, *want_prefix;
	} cases[] = {
		{CURLE_PEER_FAILED_VERIFICATION, "SSL certificate problem: certificate has expired",
		 "TLS certificate expired: "},
		{CURLE_PEER_FAILED_VERIFICATION,
		 "SSL: no alternative certificate subject name "
		 "matches target host name 'localhost'",
		 "TLS certificate does not match the host name: "},
		{CURLE_PEER_FAILED_VERIFICATION,
		 "SSL: certificate subject name 'a' does not match "
		 "target host name 'b'",
		 "TLS certificate does not match the host name: "},
		{CURLE_PEER_FAILED_VERIFICATION, "SSL certificate problem: self-signed certificate",
		 "TLS certificate not trusted (self-signed"},
		{CURLE_PEER_FAILED_VERIFICATION,
		 "SSL certificate problem: unable to get local "
		 "issuer certificate",
		 "TLS certificate not trusted (unknown issuer"},
		{CURLE_PEER_FAILED_VERIFICATION, "something new",
		 "TLS certificate verification failed: "},
		{CURLE_SSL_CONNECT_ERROR, "OpenSSL SSL_connect: Connection reset by peer",
		 "TLS handshake failed: "},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[256];

		pd_tlscert_verdict(cases[i].code, cases[i].msg, out, sizeof(out));
		ck_assert_msg(strncmp(out, cases[i].want_prefix, strlen(cases[i].want_prefix)) == 0,
			      "%zu: %s", i, out);
		/* curl's own words stay, after the cause */
		ck_assert_ptr_nonnull(strstr(out, cases[i].msg));
	}
}
END_TEST

/* ---- config ---- */

struct diag {
	size_t n;
	char first[512];
};

static void
diag_cb(void *ud, const char *line)
{
	struct diag *d = ud;

	if (d->n++ == 0)
		snprintf(d->first, sizeof(d->first), "%s", line);
}

static int
load(const char *yaml, struct pd_config **cfg, struct diag *d)
{
	struct pd_err err = {0};

	memset(d, 0, sizeof(*d));
	*cfg = NULL;
	return pd_config_load_string(yaml, strlen(yaml), "inline.yaml", cfg, &err, diag_cb, d);
}

START_TEST(test_config)
{
	char ca[] = "/tmp/check_tlscert_caXXXXXX", yaml[2048];
	struct pd_config *cfg;
	struct diag d;
	int fd = mkstemp(ca);

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(yaml, sizeof(yaml),
		 "defaults:\n"
		 "  ca_file: %s\n"
		 "  cert_expiry: {ticket: 30d, chat: 10d}\n"
		 "probes:\n"
		 "  - name: a\n"
		 "    url: https://127.0.0.1/\n"
		 "  - name: b\n"
		 "    url: https://127.0.0.1/\n"
		 "    cert_expiry: false\n"
		 "  - name: c\n"
		 "    url: https://127.0.0.1/\n"
		 "    cert_expiry: {page: off}\n",
		 ca);
	ck_assert_int_eq(load(yaml, &cfg, &d), 0);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->probes[0].ca_file, ca);
	ck_assert_int_eq(cfg->probes[0].cert_expiry.enabled, 1);
	ck_assert_int_eq(cfg->probes[0].cert_expiry.ticket_ms, 30 * DAY_MS);
	ck_assert_int_eq(cfg->probes[0].cert_expiry.chat_ms, 10 * DAY_MS);
	ck_assert_int_eq(cfg->probes[0].cert_expiry.page_ms, 2 * DAY_MS); /* built-in */
	ck_assert_int_eq(cfg->probes[1].cert_expiry.enabled, 0);
	ck_assert_int_eq(cfg->probes[2].cert_expiry.page_ms, 0);
	ck_assert_int_eq(cfg->probes[2].cert_expiry.chat_ms, 10 * DAY_MS);
	pd_config_free(cfg);

	/* no defaults: the built-in 21d / 7d / 2d and no ca_file */
	ck_assert_int_eq(load("probes:\n  - name: a\n    url: https://x.example/\n", &cfg, &d), 0);
	ck_assert_ptr_null(cfg->probes[0].ca_file);
	ck_assert_int_eq(cfg->probes[0].cert_expiry.enabled, 1);
	ck_assert_int_eq(cfg->probes[0].cert_expiry.ticket_ms, 21 * DAY_MS);
	ck_assert_int_eq(cfg->probes[0].cert_expiry.chat_ms, 7 * DAY_MS);
	ck_assert_int_eq(cfg->probes[0].cert_expiry.page_ms, 2 * DAY_MS);
	pd_config_free(cfg);
	unlink(ca);

	/* a missing ca_file: FILE:LINE:COL of the value, the path and the reason */
	ck_assert_int_eq(load("probes:\n  - name: a\n    url: https://x.example/\n"
			      "    ca_file: /nonexistent/ca.pem\n",
			      &cfg, &d),
			 PD_ERR_CONFIG);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_msg(strncmp(d.first,
			      "inline.yaml:4:14: ca_file: cannot read "
			      "'/nonexistent/ca.pem': No such file or directory",
			      66) == 0,
		      "%s", d.first);

	/* thresholds out of order */
	ck_assert_int_eq(load("defaults:\n  cert_expiry:\n    chat: 1d\n    page: 3d\n"
			      "probes:\n  - name: a\n    url: https://x.example/\n",
			      &cfg, &d),
			 PD_ERR_CONFIG);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.first, "inline.yaml:4:11: cert_expiry: page must not be longer than "
				  "chat (page is the most urgent level)");
	/* unknown key, bad value, bad duration */
	ck_assert_int_eq(load("probes:\n  - name: a\n    url: https://x.example/\n"
			      "    cert_expiry: {warn: 3d}\n",
			      &cfg, &d),
			 PD_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(d.first, "inline.yaml:4:19: "));
	ck_assert_int_eq(load("probes:\n  - name: a\n    url: https://x.example/\n"
			      "    cert_expiry: sometimes\n",
			      &cfg, &d),
			 PD_ERR_CONFIG);
	ck_assert_str_eq(d.first, "inline.yaml:4:18: cert_expiry: expected false (off), true, or "
				  "a mapping of ticket, chat, page thresholds (e.g. ticket: 21d)");
	ck_assert_int_eq(load("probes:\n  - name: a\n    url: https://x.example/\n"
			      "    cert_expiry: {ticket: soon}\n",
			      &cfg, &d),
			 PD_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(d.first, "inline.yaml:4:27: ticket: invalid duration 'soon'"));
}
END_TEST

static Suite *
tlscert_suite(void)
{
	Suite *s = suite_create("tlscert");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_date);
	tcase_add_test(tc, test_earliest);
	tcase_add_test(tc, test_severity);
	tcase_add_test(tc, test_reason);
	tcase_add_test(tc, test_verdict);
	tcase_add_test(tc, test_config);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(tlscert_suite());
}
