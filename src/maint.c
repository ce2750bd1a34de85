/* maint.c — maintenance windows and silences (see include/probed/maint.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "probed/maint.h"

void
pd_maint_window_cleanup(struct pd_maint_window *w)
{
	if (w == NULL)
		return;
	free(w->name);
	free(w->reason);
	for (size_t i = 0; i < w->nprobes; i++)
		free(w->probes[i]);
	free(w->probes);
	for (size_t i = 0; i < w->nfamilies; i++)
		free(w->families[i]);
	free(w->families);
	memset(w, 0, sizeof(*w));
}

int
pd_maint_weekday_parse(const char *s)
{
	static const char *const days[] = {
		"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
	};

	if (s == NULL)
		return -1;
	for (int i = 0; i < 7; i++)
		if (strcasecmp(s, days[i]) == 0 ||
		    (strlen(s) == 3 && strncasecmp(s, days[i], 3) == 0))
			return i;
	return -1;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int
pd_maint_weekday(int64_t ms)
{
	/* 1970-01-01 was a Thursday (3 with Monday = 0) */
	int64_t d = floor_div(ms, PD_MAINT_DAY_MS) + 3;
	int64_t r = d % 7;

	return (int)(r < 0 ? r + 7 : r);
}

int
pd_maint_window_active(const struct pd_maint_window *w, int64_t now, int64_t *start, int64_t *end)
{
	int64_t today;

	if (w == NULL || w->duration_ms <= 0)
		return 0;
	if (w->start_ms != 0) {
		if (now < w->start_ms || now - w->start_ms >= w->duration_ms)
			return 0;
		if (start)
			*start = w->start_ms;
		if (end)
			*end = w->start_ms + w->duration_ms;
		return 1;
	}
	/* recurring: the latest occurrence that started at or before now; a week back is
	 * enough, durations are at most a week */
	today = floor_div(now, PD_MAINT_DAY_MS);
	for (int64_t back = 0; back <= 7; back++) {
		int64_t day = today - back, s = day * PD_MAINT_DAY_MS + w->time_ms;

		if (!(w->weekdays & (1u << pd_maint_weekday(day * PD_MAINT_DAY_MS))) || s > now)
			continue;
		if (now - s < w->duration_ms) {
			if (start)
				*start = s;
			if (end)
				*end = s + w->duration_ms;
			return 1;
		}
	}
	return 0;
}

int
pd_maint_window_covers(const struct pd_maint_window *w, const char *probe, const char *family)
{
	if (w->all)
		return 1;
	for (size_t i = 0; probe != NULL && i < w->nprobes; i++)
		if (strcmp(w->probes[i], probe) == 0)
			return 1;
	for (size_t i = 0; family != NULL && i < w->nfamilies; i++)
		if (strcmp(w->families[i], family) == 0)
			return 1;
	return 0;
}

int
pd_maint_silence_active(const struct pd_silence *s, const char *probe, const char *family,
			int64_t now)
{
	if (now < s->created_ms || now >= s->until_ms)
		return 0;
	if (s->probe[0] != '\0')
		return probe != NULL && strcmp(s->probe, probe) == 0;
	return s->family[0] != '\0' && family != NULL && strcmp(s->family, family) == 0;
}

int
pd_maint_check(const struct pd_maint_window *w, size_t nw, const struct pd_silence *s, size_t ns,
	       const char *probe, const char *family, int64_t now, struct pd_maint_hit *hit)
{
	struct pd_maint_hit best;
	int found = 0;

	memset(&best, 0, sizeof(best));
	for (size_t i = 0; i < nw; i++) {
		int64_t a, b;

		if (!pd_maint_window_covers(&w[i], probe, family) ||
		    !pd_maint_window_active(&w[i], now, &a, &b) || (found && b <= best.until_ms))
			continue;
		memset(&best, 0, sizeof(best));
		if (w[i].name != NULL)
			snprintf(best.name, sizeof(best.name), "%s", w[i].name);
		else
			snprintf(best.name, sizeof(best.name), "maintenance #%zu", i + 1);
		snprintf(best.reason, sizeof(best.reason), "%s", w[i].reason ? w[i].reason : "");
		best.start_ms = a;
		best.until_ms = b;
		found = 1;
	}
	for (size_t i = 0; i < ns; i++) {
		if (!pd_maint_silence_active(&s[i], probe, family, now) ||
		    (found && s[i].until_ms <= best.until_ms))
			continue;
		memset(&best, 0, sizeof(best));
		best.silence = 1;
		best.id = s[i].id;
		snprintf(best.name, sizeof(best.name), "silence #%lld", (long long)s[i].id);
		snprintf(best.reason, sizeof(best.reason), "%s", s[i].reason);
		best.start_ms = s[i].created_ms;
		best.until_ms = s[i].until_ms;
		found = 1;
	}
	if (found && hit != NULL)
		*hit = best;
	return found;
}
