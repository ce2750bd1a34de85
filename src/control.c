/* control.c — the control-probe policy (see include/probed/control.h). Pure. */
#include <stddef.h>
#include "probed/control.h"

int
pd_control_host_suspect(const struct pd_control_view *c)
{
	if (c == NULL || !c->configured)
		return 0;
	return (c->has_result && !c->last_ok) || !c->up;
}

enum pd_control_decision
pd_control_trigger(const struct pd_control_view *c, int is_control, int64_t fail_since_ms,
		   int others, int others_failing, int draining)
{
	if (is_control)
		return others > 0 && others_failing >= others ? PD_CONTROL_HOST_DEGRADED
							      : PD_CONTROL_SEND;
	if (c == NULL || !c->configured)
		return PD_CONTROL_SEND;
	/* a dead network must not be mistaken for a dead API: wait for the control's word
	 * on this outage */
	if (!draining && !(c->has_result && c->last_ts_ms >= fail_since_ms))
		return PD_CONTROL_HOLD;
	if (pd_control_host_suspect(c))
		return PD_CONTROL_SUPPRESS;
	return PD_CONTROL_SEND;
}

enum pd_control_decision
pd_control_resolve(int was_paged)
{
	return was_paged ? PD_CONTROL_SEND : PD_CONTROL_SUPPRESS;
}

int
pd_control_resolve_on_remove(int is_control, int page_open)
{
	return is_control && page_open;
}

int
pd_control_host_owned(int is_control, int confirmed, int paged)
{
	return is_control || (confirmed && !paged);
}

int
pd_control_window_usable(int64_t host_suspect_last_ms, int64_t now_ms, int64_t window_ms)
{
	return host_suspect_last_ms == 0 || now_ms - host_suspect_last_ms > window_ms;
}

const char *
pd_control_decision_str(enum pd_control_decision dec)
{
	switch (dec) {
	case PD_CONTROL_SEND:
		return "send";
	case PD_CONTROL_HOLD:
		return "hold";
	case PD_CONTROL_SUPPRESS:
		return "suppress";
	case PD_CONTROL_HOST_DEGRADED:
		return "host_degraded";
	}
	return "unknown";
}
