/* notify_webhook.c — generic webhook: the neutral event, as is. */
#include <string.h>
#include "probed/notify.h"

static int
webhook_render(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
	       struct pd_err *err)
{
	(void)t;
	return pd_notify_render_event(event, body, "webhook body", err);
}

const struct pd_notify_ops pd_notify_webhook_ops = {
	.type = PD_NOTIFY_WEBHOOK,
	.name = "webhook",
	.render = webhook_render,
	.flags = PD_NOTIFY_F_URL_REQUIRED | PD_NOTIFY_F_IDEMPOTENCY,
};
