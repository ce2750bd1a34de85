/* notify_webhook.c — generic webhook: the neutral event, as is. */
#include <string.h>
#include "probed/notify.h"

static int
webhook_render(const struct pd_notify_cfg *t, const cJSON *event, struct pd_buf *body,
	       struct pd_err *err)
{
	char *s = cJSON_PrintUnformatted(event);
	int rc;

	(void)t;
	if (s == NULL)
		return pd_err_set(err, PD_ERR_NOMEM, "out of memory");
	rc = pd_buf_append(body, s, strlen(s));
	cJSON_free(s);
	return rc ? pd_err_set(err, rc, "webhook body too large") : 0;
}

const struct pd_notify_ops pd_notify_webhook_ops = {
	.type = PD_NOTIFY_WEBHOOK,
	.name = "webhook",
	.render = webhook_render,
	.flags = PD_NOTIFY_F_URL_REQUIRED | PD_NOTIFY_F_IDEMPOTENCY,
};
