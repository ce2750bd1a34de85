/* tlscert.c — certificate expiry: chain parsing, thresholds, verdicts (see tlscert.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "probed/tlscert.h"

int64_t
pd_tlscert_parse_date(const char *s)
{
	time_t t;

	if (s == NULL)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return -1;
	t = curl_getdate(s, NULL);
	return t == (time_t)-1 ? -1 : (int64_t)t;
}

int64_t
pd_tlscert_earliest(const struct curl_certinfo *ci)
{
	static const char key[] = "Expire date:";
	int64_t best = -1;

	if (ci == NULL || ci->certinfo == NULL)
		return -1;
	for (int i = 0; i < ci->num_of_certs; i++) {
		for (const struct curl_slist *l = ci->certinfo[i]; l != NULL; l = l->next) {
			int64_t t;

			if (l->data == NULL || strncasecmp(l->data, key, sizeof(key) - 1) != 0)
				continue;
			t = pd_tlscert_parse_date(l->data + sizeof(key) - 1);
			if (t >= 0 && (best < 0 || t < best))
				best = t;
		}
	}
	return best;
}

int
pd_tlscert_severity(const struct pd_cert_expiry *ce, int64_t not_after_s, int64_t now_s)
{
	int64_t left_ms;

	if (ce == NULL || !ce->enabled || not_after_s < 0)
		return 0;
	left_ms = (not_after_s - now_s) * 1000;
	if (ce->page_ms > 0 && left_ms < ce->page_ms)
		return 2;
	if (left_ms <= 0 && (ce->chat_ms > 0 || ce->ticket_ms > 0))
		return 2; /* expired: an outage, whatever the levels left on */
	if (ce->chat_ms > 0 && left_ms < ce->chat_ms)
		return 3;
	if (ce->ticket_ms > 0 && left_ms < ce->ticket_ms)
		return 4;
	return 0;
}

const char *
pd_tlscert_level_str(int severity)
{
	switch (severity) {
	case 2:
		return "page";
	case 3:
		return "chat";
	case 4:
		return "ticket";
	default:
		return "none";
	}
}

/* "4d23h", "5h12m", "42m", "30s" */
static void
span_fmt(int64_t s, char *out, size_t cap)
{
	if (s < 0)
		s = -s;
	if (s >= 86400)
		snprintf(out, cap, "%lldd%lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, cap, "%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, cap, "%lldm", (long long)(s / 60));
	else
		snprintf(out, cap, "%llds", (long long)s);
}

void
pd_tlscert_reason(const char *probe, const struct pd_cert_expiry *ce, int64_t not_after_s,
		  int64_t now_s, char *out, size_t cap)
{
	char left[32], when[32], lim[32] = "";
	time_t t = (time_t)not_after_s;
	struct tm tm;
	int sev = pd_tlscert_severity(ce, not_after_s, now_s);
	int64_t lim_ms = sev == 2   ? ce->page_ms
			 : sev == 3 ? ce->chat_ms
			 : sev == 4 ? ce->ticket_ms
				    : 0;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)not_after_s);
	span_fmt(not_after_s - now_s, left, sizeof(left));
	if (lim_ms > 0)
		pd_config_duration_format(lim_ms, lim, sizeof(lim));
	if (not_after_s <= now_s)
		snprintf(out, cap,
			 "TLS certificate of %s expired %s ago (notAfter %s UTC): "
			 "renew it now",
			 probe ? probe : "?", left, when);
	else
		snprintf(out, cap,
			 "TLS certificate of %s expires in %s (notAfter %s UTC): "
			 "%s level%s%s%s",
			 probe ? probe : "?", left, when, pd_tlscert_level_str(sev),
			 lim[0] ? " (< " : "", lim, lim[0] ? ")" : "");
}

void
pd_tlscert_verdict(int curl_code, const char *msg, char *out, size_t cap)
{
	static const struct {
		const char *needle;
		const char *cause;
	} causes[] = {
		{"certificate has expired", "TLS certificate expired"},
		{"certificate is not yet valid", "TLS certificate not yet valid"},
		{"target host name", "TLS certificate does not match the host name"},
		{"target ipv", "TLS certificate does not match the host name"},
		{"does not match", "TLS certificate does not match the host name"},
		{"self-signed", "TLS certificate not trusted (self-signed; set ca_file to "
				"trust a private CA)"},
		{"self signed", "TLS certificate not trusted (self-signed; set ca_file to "
				"trust a private CA)"},
		{"unable to get local issuer", "TLS certificate not trusted (unknown issuer; "
					       "set ca_file to trust a private CA)"},
		{"unable to get issuer", "TLS certificate not trusted (unknown issuer; set "
					 "ca_file to trust a private CA)"},
		{"certificate revoked", "TLS certificate revoked"},
		{"error setting certificate file", "ca_file unusable"},
		{"CAfile", "ca_file unusable"},
	};
	const char *cause = NULL;

	if (msg == NULL)
		msg = "";
	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
		if (strcasestr(msg, causes[i].needle) != NULL) {
			cause = causes[i].cause;
			break;
		}
	if (cause == NULL)
		cause = curl_code == CURLE_PEER_FAILED_VERIFICATION
				? "TLS certificate verification failed"
				: "TLS handshake failed";
	snprintf(out, cap, "%s: %s", cause, msg);
}
