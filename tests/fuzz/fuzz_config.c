/* fuzz_config.c — the configuration loader: YAML (libyaml) -> struct pd_config, with
 * ${VAR} and ${file:...} expansion, durations, sizes, expect.json (YAML -> JSON ->
 * JSON Schema compile). Input: a probes.yaml, as pd_config_load_string gets it.
 *
 * Also, per input:
 *  - pd_config_yaml_to_json on the same bytes (what `probectl schema` uses);
 *  - the first line (up to 64 bytes) through pd_config_duration_parse and pd_config_size_parse, with
 *    round-trip properties: format(parse(s)) parses back to the same value.
 *
 * ${file:...} never reaches a host file: the harness is linked with -Wl,--wrap=open and,
 * while the loader runs, open() is answered only for "/fuzz/NAME" (a private sandbox
 * directory made on the first call, with a key, an empty file, a 70 KB file, a directory
 * and a FIFO); any other path is ENOENT. ${VAR} reads the environment (harmless); the
 * harness sets PD_FUZZ_VAR, PD_FUZZ_EMPTY and TIKLIVE_TEST_KEY. With PD_FUZZ_DEBUG set in
 * the environment, the first error of a rejected input is printed (writing seeds).
 *
 * Properties: a successful load has at least one probe, every probe has a name and a
 * URL, durations are positive and at most ten years, max_body is in 1 B..256 MiB (the
 * bounds that keep the daemon's arithmetic from overflowing); a failed load has a
 * message. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz.h"
#include "probed/config.h"
#include "probed/log.h"

#define MAX_DURATION_MS ((int64_t)3650 * 86400 * 1000) /* config_units.c: ten years */

int __wrap_open(const char *path, int flags, ...);
int __real_open(const char *path, int flags, ...);

static char sandbox[256];
static int guard; /* 1 while the loader runs: only /fuzz/ paths open */

int
__wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	char real[512];

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (!guard)
		return __real_open(path, flags, mode);
	if (strncmp(path, "/fuzz/", 6) != 0 || strstr(path, "..") != NULL ||
	    (size_t)snprintf(real, sizeof(real), "%s/%s", sandbox, path + 6) >= sizeof(real)) {
		errno = ENOENT;
		return -1;
	}
	return __real_open(real, flags & ~(O_CREAT | O_TMPFILE | O_TRUNC), 0);
}

static void
sandbox_remove(void)
{
	static const char *const files[] = {"key", "empty", "big", "fifo", "dir"};
	char p[512];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", sandbox, files[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
	rmdir(sandbox);
}

static void
put(const char *name, const char *text, size_t len)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", sandbox, name);
	if ((f = fopen(p, "wb")) == NULL)
		abort();
	if (len > 0 && fwrite(text, 1, len, f) != len)
		abort();
	fclose(f);
}

static void
init(void)
{
	static char big[70 * 1024];
	char p[512];

	/* under $TMPDIR: scripts/fuzz.sh points it into build-fuzz/ and empties it, as
	 * libFuzzer ends without running atexit() handlers */
	snprintf(sandbox, sizeof(sandbox), "%s/pdfuzz-config.XXXXXX",
		 getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(sandbox) == NULL)
		abort();
	atexit(sandbox_remove);
	put("key", "fuzz-secret\n", 12);
	put("empty", "", 0);
	memset(big, 'k', sizeof(big));
	put("big", big, sizeof(big));
	snprintf(p, sizeof(p), "%s/dir", sandbox);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/fifo", sandbox);
	mkfifo(p, 0600);
	setenv("PD_FUZZ_VAR", "value", 1);
	setenv("PD_FUZZ_EMPTY", "", 1);
	setenv("TIKLIVE_TEST_KEY", "fuzz-key", 1);
	pd_log_set_level(PD_LOG_ERR);
}

static void
duration_size(const uint8_t *data, size_t size)
{
	char s[65], f[64];
	size_t n = 0;
	int64_t ms, ms2;
	size_t b;

	while (n < size && n < 64 && data[n] != '\n')
		n++;
	memcpy(s, data, n);
	s[n] = '\0';
	if (pd_config_duration_parse(s, &ms) == 0) {
		FUZZ_CHECK(ms >= 0, "'%s' -> %lld", s, (long long)ms);
		pd_config_duration_format(ms, f, sizeof(f));
		FUZZ_CHECK(pd_config_duration_parse(f, &ms2) == 0 && ms2 == ms,
			   "'%s' -> %lld -> '%s' does not parse back", s, (long long)ms, f);
	}
	if (pd_config_size_parse(s, &b) == 0) {
		snprintf(f, sizeof(f), "%zu", b);
		FUZZ_CHECK(pd_config_size_parse(f, &b) == 0, "'%s' -> '%s' does not parse back", s,
			   f);
	}
}

static void
check_config(const struct pd_config *cfg)
{
	FUZZ_CHECK(cfg->nprobes > 0, "a config without probes loaded");
	FUZZ_CHECK(cfg->store_path != NULL, "no store path");
	FUZZ_CHECK(cfg->retention_ms > 0 && cfg->retention_ms <= MAX_DURATION_MS &&
			   cfg->heartbeat_interval_ms <= MAX_DURATION_MS &&
			   cfg->correlation_ms <= MAX_DURATION_MS &&
			   cfg->classify.window_ms <= MAX_DURATION_MS &&
			   cfg->classify.p3_escalate_ms <= MAX_DURATION_MS,
		   "a duration over ten years");
	for (size_t i = 0; i < cfg->nnotify; i++)
		FUZZ_CHECK(cfg->notify[i].timeout_ms <= MAX_DURATION_MS &&
				   cfg->notify[i].resend_interval_ms <= MAX_DURATION_MS &&
				   cfg->notify[i].resend_resolved_ms <= MAX_DURATION_MS,
			   "notify %s: a duration over ten years", cfg->notify[i].name);
	for (size_t i = 0; i < cfg->nprobes; i++) {
		const struct pd_probe_cfg *p = &cfg->probes[i];

		FUZZ_CHECK(p->name != NULL && p->url != NULL, "probe %zu: no name or url", i);
		FUZZ_CHECK(p->interval_ms > 0 && p->timeout_ms > 0 && p->confirm_after_ms > 0,
			   "probe %s: a duration <= 0", p->name);
		/* the documented bounds: what the daemon computes from them cannot overflow */
		FUZZ_CHECK(p->interval_ms <= MAX_DURATION_MS && p->timeout_ms <= MAX_DURATION_MS &&
				   p->confirm_after_ms <= MAX_DURATION_MS &&
				   p->max_latency_ms <= MAX_DURATION_MS &&
				   p->fresh_max_age_ms <= MAX_DURATION_MS,
			   "probe %s: a duration over ten years", p->name);
		FUZZ_CHECK(p->max_body > 0 && p->max_body <= 256 * 1024 * 1024,
			   "probe %s: max_body %zu", p->name, p->max_body);
		FUZZ_CHECK(pd_config_probe(cfg, p->name) != NULL, "probe %s: lookup", p->name);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int done;
	struct pd_config *cfg = NULL;
	struct pd_err err = {0};
	cJSON *j;
	int rc;

	if (!done) {
		init();
		done = 1;
	}
	duration_size(data, size);
	guard = 1;
	rc = pd_config_load_string((const char *)data, size, "fuzz.yaml", &cfg, &err, NULL, NULL);
	guard = 0;
	if (rc == 0) {
		FUZZ_CHECK(cfg != NULL, "rc 0 without a config");
		check_config(cfg);
		pd_config_free(cfg);
	} else {
		if (getenv("PD_FUZZ_DEBUG") != NULL)
			fprintf(stderr, "fuzz_config: %s\n", err.msg);
		FUZZ_CHECK(cfg == NULL, "rc %d with a config", rc);
		FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a message", rc);
	}
	guard = 1;
	j = pd_config_yaml_to_json((const char *)data, size, "fuzz.yaml", &err);
	guard = 0;
	cJSON_Delete(j);
	/* the mask list is global, capped and never shrinks by itself: start clean */
	pd_log_clear_secrets();
	return 0;
}
