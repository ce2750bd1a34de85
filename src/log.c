/* log.c — one event per line on stderr; journald priority prefixes; secret masking; a
 * process that holds a secret is made non-dumpable (no core file, no ptrace by others). */
#include <stdarg.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "probed/buf.h"
#include "probed/clock.h"
#include "probed/log.h"

static enum pd_log_level log_level = PD_LOG_INFO;
static int log_journald;
/* every secret ever configured (a rotated token stays masked too); grows as needed: a
 * fixed cap stopped masking once SIGHUP had rotated enough tokens */
static char **log_secrets;
/* the list is read by the status page's render thread too (httpd.c) */
static pthread_mutex_t log_secrets_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t log_nsecrets, log_capsecrets;

void
pd_log_set_level(enum pd_log_level lvl)
{
	log_level = lvl;
}

void
pd_log_set_journald(int on)
{
	log_journald = on;
}

void
pd_log_add_secret(const char *secret)
{
	if (secret == NULL || secret[0] == '\0')
		return;
	/* a core dump or another user's debugger would show the key in memory: once this
	 * process holds a secret it is not dumpable (systemd's LimitCORE=0 does the same for
	 * the service; this covers probed and probectl run by hand) */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	pthread_mutex_lock(&log_secrets_mu);
	for (size_t i = 0; i < log_nsecrets; i++)
		if (strcmp(log_secrets[i], secret) == 0) {
			pthread_mutex_unlock(&log_secrets_mu);
			return;
		}
	if (pd_buf_grow(&log_secrets, &log_capsecrets, log_nsecrets + 1, sizeof(*log_secrets)) !=
	    0) {
		pthread_mutex_unlock(&log_secrets_mu);
		/* cannot remember it: say so (without it) rather than fail silently */
		fprintf(stderr, "<3>log: out of memory: a secret cannot be masked\n");
		return;
	}
	log_secrets[log_nsecrets] = strdup(secret);
	if (log_secrets[log_nsecrets] != NULL)
		log_nsecrets++;
	pthread_mutex_unlock(&log_secrets_mu);
}

void
pd_log_clear_secrets(void)
{
	pthread_mutex_lock(&log_secrets_mu);
	for (size_t i = 0; i < log_nsecrets; i++)
		free(log_secrets[i]);
	free(log_secrets);
	log_secrets = NULL;
	log_nsecrets = log_capsecrets = 0;
	pthread_mutex_unlock(&log_secrets_mu);
}

void
pd_log_redact(char *s, unsigned long cap)
{
	static const char mask[] = "[REDACTED]";
	const size_t mlen = sizeof(mask) - 1;

	pthread_mutex_lock(&log_secrets_mu);
	for (size_t i = 0; i < log_nsecrets; i++) {
		const char *sec = log_secrets[i];
		size_t slen = strlen(sec);
		char *p = s;

		while ((p = strstr(p, sec)) != NULL) {
			size_t tail = strlen(p + slen);
			size_t newlen = (size_t)(p - s) + mlen + tail;

			if (newlen + 1 > cap) {
				/* no room to expand: blank the secret in place */
				memset(p, '*', slen);
				p += slen;
				continue;
			}
			memmove(p + mlen, p + slen, tail + 1);
			memcpy(p, mask, mlen);
			p += mlen;
		}
	}
	pthread_mutex_unlock(&log_secrets_mu);
}

static const char *
level_word(enum pd_log_level lvl)
{
	switch (lvl) {
	case PD_LOG_ERR:
		return "error";
	case PD_LOG_WARN:
		return "warn";
	case PD_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
pd_log(enum pd_log_level lvl, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one event per line: fold embedded newlines */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	pd_log_redact(line, sizeof(line));
	if (log_journald) {
		fprintf(stderr, "<%d>%s\n", (int)lvl, line);
	} else {
		char ts[40];

		pd_clock_rfc3339(pd_clock_wall_ms(NULL), ts, sizeof(ts));
		fprintf(stderr, "%s %-5s %s\n", ts, level_word(lvl), line);
	}
}
