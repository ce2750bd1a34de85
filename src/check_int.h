/* check_int.h — what the files of the check module (src/check*.c) share: helpers used by
 * more than one of them. The public API is include/probed/check.h. */
#ifndef PROBED_CHECK_INT_H
#define PROBED_CHECK_INT_H
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "probed/check.h"

int pd_check_utf8_prefix(const char *s, size_t max);
void pd_check_expand_date(char *dst, size_t cap, const char *src, size_t srclen, const char *date);
void pd_check_fresh_missing(const struct pd_probe_cfg *p, int64_t now_ms, struct pd_result *out);
int pd_check_digits(const char **q, int n);
void pd_check_fresh_field_check(const struct pd_probe_cfg *p, const cJSON *doc, int64_t now_ms,
				struct pd_result *out);

#endif
