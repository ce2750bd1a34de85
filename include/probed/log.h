/* log.h — one event per line on stderr, with a journald priority prefix ("<3>").
 * Never log a header value: pd_log_add_secret() registers strings that are masked
 * as "[REDACTED]" in every line as a last line of defence. */
#ifndef PROBED_LOG_H
#define PROBED_LOG_H

enum pd_log_level { PD_LOG_ERR = 3, PD_LOG_WARN = 4, PD_LOG_INFO = 6, PD_LOG_DEBUG = 7 };

void pd_log_set_level(enum pd_log_level lvl);
/* Prefix lines with "<N>" (journald) instead of a timestamp + level word. */
void pd_log_set_journald(int on);
/* Register a secret (copied); occurrences are masked. Empty strings are ignored. The first
 * secret makes the process non-dumpable (prctl PR_SET_DUMPABLE 0): no core file holds it. */
void pd_log_add_secret(const char *secret);
void pd_log_clear_secrets(void);
/* Mask registered secrets in s (in place, NUL-terminated, at most cap bytes). */
void pd_log_redact(char *s, unsigned long cap);

void pd_log(enum pd_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pd_log_err(...) pd_log(PD_LOG_ERR, __VA_ARGS__)
#define pd_log_warn(...) pd_log(PD_LOG_WARN, __VA_ARGS__)
#define pd_log_info(...) pd_log(PD_LOG_INFO, __VA_ARGS__)
#define pd_log_debug(...) pd_log(PD_LOG_DEBUG, __VA_ARGS__)

#endif
