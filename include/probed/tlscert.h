/* tlscert.h — TLS certificate expiry of HTTPS probes.
 *
 * Pure functions (no I/O, no clock reads), unit-tested in tests/check_tlscert.c:
 *   - the earliest notAfter of a presented chain, from libcurl's CURLINFO_CERTINFO
 *     ("Expire date:Jan  1 00:00:00 2027 GMT", one slist per certificate);
 *   - the alert level a notAfter gives under the `cert_expiry:` thresholds
 *     (ticket -> P4, chat -> P3, page -> P2; the reasons are in README "Certificate
 *     expiry");
 *   - a verdict that names the cause when curl failed the TLS handshake or the
 *     verification (expired, wrong host name, untrusted issuer, ...).
 * Certinfo is only filled on a fresh handshake: probes never reuse connections
 * (CURLOPT_FRESH_CONNECT + FORBID_REUSE, pd_check_request_at), so every successful
 * HTTPS probe reports its chain; a transfer without one keeps the last known value
 * (the store's probe_cert row). */
#ifndef PROBED_TLSCERT_H
#define PROBED_TLSCERT_H
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include "probed/config.h"

/* "Jan  1 00:00:00 2027 GMT" -> unix seconds; -1 when it does not parse. */
int64_t pd_tlscert_parse_date(const char *s);

/* The earliest "Expire date" over every certificate of ci; -1 when ci is NULL, empty or
 * has no parsable expire date. */
int64_t pd_tlscert_earliest(const struct curl_certinfo *ci);

/* The severity (2 page, 3 chat, 4 ticket; 0 = nothing to say) for a chain whose
 * earliest notAfter is not_after_s, at now_s, under ce. An already expired certificate
 * is page level (the probe itself fails too). not_after_s < 0 (unknown) or ce
 * disabled -> 0. */
int pd_tlscert_severity(const struct pd_cert_expiry *ce, int64_t not_after_s, int64_t now_s);

/* "page", "chat", "ticket" for 2, 3, 4; "none" otherwise. */
const char *pd_tlscert_level_str(int severity);

/* "TLS certificate of PROBE expires in 4d 23h (2026-12-12 01:02:03 UTC): chat level
 * (< 7d)" or "... expired 3h ago ..." into out. */
void pd_tlscert_reason(const char *probe, const struct pd_cert_expiry *ce, int64_t not_after_s,
		       int64_t now_s, char *out, size_t cap);

/* A probe verdict for a failed TLS transfer: curl's message (msg) prefixed with the
 * cause in plain words when it is recognised ("TLS certificate expired: ...",
 * "TLS certificate does not match the host name: ...", "TLS certificate not trusted
 * (unknown or self-signed issuer; set ca_file for a private CA): ..."). Otherwise
 * "TLS handshake failed: MSG". */
void pd_tlscert_verdict(int curl_code, const char *msg, char *out, size_t cap);

#endif
