/* outcome.c — names of probe outcomes. The table index is the stored number. */
#include <string.h>
#include "probed/outcome.h"

static const char *const outcome_names[PD_OUT__COUNT] = {
	[PD_OUT_OK] = "ok",
	[PD_OUT_DNS] = "dns",
	[PD_OUT_CONNECT] = "connect",
	[PD_OUT_TLS] = "tls",
	[PD_OUT_TIMEOUT] = "timeout",
	[PD_OUT_HTTP_5XX] = "http_5xx",
	[PD_OUT_HTTP_4XX] = "http_4xx",
	[PD_OUT_KEY_REJECTED] = "key_rejected",
	[PD_OUT_QUOTA] = "quota",
	[PD_OUT_SHAPE] = "shape",
	[PD_OUT_BODY_TOO_LARGE] = "body_too_large",
	[PD_OUT_EMPTY] = "empty",
	[PD_OUT_INVALID_JSON] = "invalid_json",
	[PD_OUT_SLOW] = "slow",
	[PD_OUT_HTTP_STATUS] = "http_status",
	[PD_OUT_ERROR] = "error",
	[PD_OUT_LATE] = "late",
};

const char *
pd_outcome_str(int outcome)
{
	if (outcome < 0 || outcome >= PD_OUT__COUNT || outcome_names[outcome] == NULL)
		return "unknown";
	return outcome_names[outcome];
}

int
pd_outcome_from_str(const char *s)
{
	for (int i = 0; i < PD_OUT__COUNT; i++)
		if (outcome_names[i] && strcmp(outcome_names[i], s) == 0)
			return i;
	return -1;
}
