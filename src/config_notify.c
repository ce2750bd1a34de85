/* config_notify.c — the `notify:` list of probes.yaml: the keys every target has (name,
 * type, url, headers, timeout, severities, role, retry, breaker) and their validation, as
 * the type's ops say (url required, refused or defaulted; a URL that is a credential);
 * then the type's own keys, which its notify_<type>.c reads through the pd_config_notify_*
 * readers defined here (config.h). No branch on a particular type.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "probed/buf.h"
#include "probed/config.h"
#include "probed/log.h"
#include "probed/notify.h"
#include "config_int.h"

#define CFG_MAX_RETRY_MS (3600 * 1000LL) /* retry/breaker durations: at most 1h */

/* ---- notify targets (routing; a type's own keys live in its
 * notify_<type>.c behind struct pd_notify_ops, read through pd_config_notify_*) ---- */
enum {
	NT_NAME,
	NT_TYPE,
	NT_URL,
	NT_HEADERS,
	NT_TIMEOUT,
	NT_SEVERITIES,
	NT_ROLE,
	NT_RETRY,
	NT_BREAKER,
	NT_N
};
static const char *const notify_common_keys[] = {
	"name", "type", "url", "headers", "timeout", "severities", "role", "retry", "breaker", NULL,
};
/* index + 1 = enum pd_notify_role */
static const char *const notify_roles[] = {"page", "chat", "ticket", NULL};
#define CFG_NOTIFY_MAX_KEYS 64

/* The entry being read, for a type's configure (config.h's pd_config_notify_*). */
struct pd_notify_conf {
	struct cfg_ctx *c;
	yaml_node_t *entry;
	const char *const *names; /* every key: common, then every type's own */
	yaml_node_t **v, **k;
};

static int
nc_index(struct pd_notify_conf *nc, const char *key)
{
	for (int i = 0; nc->names[i] != NULL; i++)
		if (strcmp(nc->names[i], key) == 0)
			return i;
	return -1;
}

static yaml_node_t *
nc_value(struct pd_notify_conf *nc, const char *key)
{
	int i = nc_index(nc, key);

	return i < 0 ? NULL : nc->v[i];
}

int
pd_config_notify_has(struct pd_notify_conf *nc, const char *key)
{
	int i = nc_index(nc, key);

	return i >= 0 && nc->k[i] != NULL;
}

void
pd_config_notify_error(struct pd_notify_conf *nc, const char *key, const char *fmt, ...)
{
	yaml_node_t *n = key ? nc_value(nc, key) : NULL;
	va_list ap;

	if (n == NULL)
		n = nc->entry;
	va_start(ap, fmt);
	pd_config_verror_at(nc->c, n->start_mark.line + 1, n->start_mark.column + 1, fmt, ap);
	va_end(ap);
}

void
pd_config_notify_item_error(struct pd_notify_conf *nc, const char *key, size_t i, const char *fmt,
			    ...)
{
	yaml_node_t *n = nc_value(nc, key);
	va_list ap;

	if (n != NULL && n->type == YAML_SEQUENCE_NODE &&
	    i < (size_t)(n->data.sequence.items.top - n->data.sequence.items.start))
		n = pd_config_node(nc->c, n->data.sequence.items.start[i]);
	if (n == NULL)
		n = nc->entry;
	va_start(ap, fmt);
	pd_config_verror_at(nc->c, n->start_mark.line + 1, n->start_mark.column + 1, fmt, ap);
	va_end(ap);
}

char *
pd_config_notify_string(struct pd_notify_conf *nc, const char *key, int *secret)
{
	yaml_node_t *n = nc_value(nc, key);
	int sec = 0;
	char *r;

	if (!pd_config_notify_has(nc, key))
		return NULL;
	r = pd_config_string(nc->c, n, key, &sec);
	if (secret != NULL)
		*secret = sec;
	return r;
}

char *
pd_config_notify_secret(struct pd_notify_conf *nc, const char *key)
{
	char *r = pd_config_notify_string(nc, key, NULL);

	/* a credential even when written in the clear */
	if (r != NULL) {
		pd_log_add_secret(r);
		pd_config_token_line(nc->c, nc_value(nc, key), key, r);
	}
	return r;
}

int
pd_config_notify_duration(struct pd_notify_conf *nc, const char *key, int64_t min_ms, int64_t *out)
{
	if (!pd_config_notify_has(nc, key))
		return 0;
	return pd_config_duration(nc->c, nc_value(nc, key), key, min_ms, out);
}

char *
pd_config_notify_url(struct pd_notify_conf *nc, const char *key, const char *schemes,
		     char **display)
{
	char *url = NULL;
	int secret;

	*display = NULL;
	if (!pd_config_notify_has(nc, key))
		return NULL;
	if (pd_config_url_of(nc->c, nc_value(nc, key), key, schemes, &url, display, &secret) != 0)
		return NULL;
	return url;
}

char **
pd_config_notify_list(struct pd_notify_conf *nc, const char *key, const char *scalar_hint,
		      size_t *nout)
{
	struct cfg_ctx *c = nc->c;
	yaml_node_t *n = nc_value(nc, key);
	yaml_node_item_t *items;
	size_t cnt;
	char **r;

	*nout = 0;
	if (!pd_config_notify_has(nc, key))
		return NULL;
	if (n != NULL && n->type == YAML_SCALAR_NODE && !pd_config_is_null(n)) {
		pd_config_error(c, n, "%s: expected a list%s", key, scalar_hint ? scalar_hint : "");
		return NULL;
	}
	if (pd_config_seq(c, n, key, &items, &cnt) != 0)
		return NULL;
	if (cnt == 0) {
		pd_config_error(c, n, "%s: list is empty", key);
		return NULL;
	}
	r = pd_config_calloc(c, cnt + 1, sizeof(*r));
	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < cnt; i++) {
		char *s = pd_config_string(c, pd_config_node(c, items[i]), key, NULL);

		if (s != NULL)
			r[(*nout)++] = s;
	}
	return r;
}

int
pd_config_notify_enum(struct pd_notify_conf *nc, const char *key, const char *const *words,
		      const char *expect)
{
	if (!pd_config_notify_has(nc, key))
		return -1;
	return pd_config_enum(nc->c, nc_value(nc, key), key, words, expect);
}

int
pd_config_notify_bool(struct pd_notify_conf *nc, const char *key)
{
	static const char *const words[] = {"false", "true", NULL};

	return pd_config_notify_enum(nc, key, words, "true or false");
}

/* "scheme://host/[REDACTED]": the display form of a URL whose path is a credential
 * (Slack incoming webhooks). The path itself is registered as a secret. */
static char *
cfg_url_redacted(struct cfg_ctx *c, const char *url)
{
	const char *host = strstr(url, "://"), *path;
	struct pd_buf b;
	char *res;

	host = host ? host + 3 : url;
	path = strchr(host, '/');
	if (path == NULL)
		return pd_config_strdup(c, url);
	/* a token-bearing path, not "/" (which would mask every slash in the log) */
	if (strlen(path) >= 8)
		pd_log_add_secret(path);
	pd_buf_init(&b, 0);
	if (pd_buf_append(&b, url, (size_t)(path - url)) != 0 ||
	    pd_buf_append(&b, "/[REDACTED]", 11) != 0) {
		pd_buf_cleanup(&b);
		c->nomem = 1;
		return NULL;
	}
	res = b.data;
	return res;
}

static void
cfg_notify_severities(struct cfg_ctx *c, yaml_node_t *n, unsigned *mask)
{
	yaml_node_item_t *items;
	size_t cnt;

	if (pd_config_seq(c, n, "severities", &items, &cnt) != 0)
		return;
	if (cnt == 0) {
		pd_config_error(c, n, "severities: list is empty (the target would never be used)");
		return;
	}
	for (size_t i = 0; i < cnt; i++) {
		int s = pd_config_enum(c, pd_config_node(c, items[i]), "severities",
				       pd_config_severity_words, "P1, P2, P3 or P4");

		if (s >= 0)
			*mask |= 1u << s;
	}
}

/* A retry or breaker duration: 1s .. 1h (0 stays "the default" when it is bad). */
static void
cfg_retry_duration(struct cfg_ctx *c, yaml_node_t *n, const char *what, int64_t *out)
{
	if (n == NULL || pd_config_duration(c, n, what, 1000, out) != 0)
		return;
	if (*out > CFG_MAX_RETRY_MS) {
		pd_config_error(c, n, "%s: at most 1h", what);
		*out = 0;
	}
}

/* retry: {max_backoff, max_retry_after}; 0 = the outbox's default for the role */
enum { RT_MAX_BACKOFF, RT_MAX_RETRY_AFTER, RT_N };
static const char *const retry_keys[] = {"max_backoff", "max_retry_after", NULL};

static void
cfg_notify_retry(struct cfg_ctx *c, yaml_node_t *n, struct pd_notify_cfg *t)
{
	yaml_node_t *v[RT_N], *k[RT_N];

	if (pd_config_map(c, n, "retry", retry_keys, v, k) != 0)
		return;
	cfg_retry_duration(c, v[RT_MAX_BACKOFF], "max_backoff", &t->retry_max_backoff_ms);
	cfg_retry_duration(c, v[RT_MAX_RETRY_AFTER], "max_retry_after", &t->retry_max_after_ms);
}

/* breaker: {failures, cooldown, max_cooldown}; 0 = the outbox's default */
enum { BK_FAILURES, BK_COOLDOWN, BK_MAX_COOLDOWN, BK_N };
static const char *const breaker_keys[] = {"failures", "cooldown", "max_cooldown", NULL};

static void
cfg_notify_breaker(struct cfg_ctx *c, yaml_node_t *n, struct pd_notify_cfg *t)
{
	yaml_node_t *v[BK_N], *k[BK_N];

	if (pd_config_map(c, n, "breaker", breaker_keys, v, k) != 0)
		return;
	if (v[BK_FAILURES] != NULL)
		pd_config_int(c, v[BK_FAILURES], "failures", 1, 100, &t->breaker_failures);
	cfg_retry_duration(c, v[BK_COOLDOWN], "cooldown", &t->breaker_cooldown_ms);
	cfg_retry_duration(c, v[BK_MAX_COOLDOWN], "max_cooldown", &t->breaker_max_cooldown_ms);
	if (t->breaker_cooldown_ms > 0 && t->breaker_max_cooldown_ms > 0 &&
	    t->breaker_max_cooldown_ms < t->breaker_cooldown_ms)
		pd_config_error(c, v[BK_MAX_COOLDOWN], "max_cooldown: shorter than cooldown");
}

/* Every key a notify entry may have: the common ones, then each type's own (once). */
static const char *const *
cfg_notify_keys(void)
{
	static const char *keys[CFG_NOTIFY_MAX_KEYS + 1];
	size_t n = 0;

	if (keys[0] != NULL)
		return keys;
	for (size_t i = 0; notify_common_keys[i] != NULL; i++)
		keys[n++] = notify_common_keys[i];
	for (size_t t = 0; t < pd_notify_ntypes(); t++) {
		const struct pd_notify_ops *ops = pd_notify_ops_at(t);

		for (size_t i = 0; ops->keys != NULL && ops->keys[i] != NULL; i++) {
			size_t j;

			for (j = 0; j < n; j++)
				if (strcmp(keys[j], ops->keys[i]) == 0)
					break;
			if (j == n && n < CFG_NOTIFY_MAX_KEYS)
				keys[n++] = ops->keys[i];
		}
	}
	keys[n] = NULL;
	return keys;
}

static int
cfg_ops_has_key(const struct pd_notify_ops *ops, const char *key)
{
	for (size_t i = 0; ops != NULL && ops->keys != NULL && ops->keys[i] != NULL; i++)
		if (strcmp(ops->keys[i], key) == 0)
			return 1;
	return 0;
}

static void
cfg_notify_one(struct cfg_ctx *c, yaml_node_t *n, struct pd_notify_cfg *t, yaml_node_t **name_node)
{
	const char *const *names = cfg_notify_keys();
	yaml_node_t *v[CFG_NOTIFY_MAX_KEYS + 1], *k[CFG_NOTIFY_MAX_KEYS + 1];
	const struct pd_notify_ops *ops = NULL;
	struct pd_notify_conf nc = {.c = c, .entry = n, .names = names, .v = v, .k = k};
	int type = -1, secret;

	*name_node = NULL;
	t->line = (int)n->start_mark.line + 1;
	t->col = (int)n->start_mark.column + 1;
	t->timeout_ms = CFG_DEF_TIMEOUT_MS;
	if (pd_config_map(c, n, "notify", names, v, k) != 0)
		return;
	if (v[NT_NAME] == NULL)
		pd_config_error(c, n, "notify entry is missing required key 'name'");
	else if ((t->name = pd_config_name(c, v[NT_NAME], "name")) != NULL)
		*name_node = v[NT_NAME];
	if (v[NT_TYPE] == NULL)
		pd_config_error(c, n, "notify entry is missing required key 'type' (%s)",
				pd_notify_type_list());
	else
		type = pd_config_enum(c, v[NT_TYPE], "type", pd_notify_type_names(),
				      pd_notify_type_list());
	if (type >= 0) {
		t->type = (enum pd_notify_type)type;
		ops = pd_notify_ops_at((size_t)type);
	}

	/* a type's own key on another type */
	for (size_t i = NT_N; names[i] != NULL; i++) {
		if (k[i] == NULL || ops == NULL || cfg_ops_has_key(ops, names[i]))
			continue;
		for (size_t o = 0; o < pd_notify_ntypes(); o++)
			if (cfg_ops_has_key(pd_notify_ops_at(o), names[i])) {
				pd_config_error(c, k[i], "%s is only valid for type %s", names[i],
						pd_notify_ops_at(o)->name);
				break;
			}
	}

	/* url: required, refused, or a default, as the type says */
	if (v[NT_URL] != NULL && ops != NULL && (ops->flags & PD_NOTIFY_F_NO_URL)) {
		pd_config_error(c, k[NT_URL], "url is not valid for type %s (use command)",
				ops->name);
	} else if (v[NT_URL] != NULL) {
		if (pd_config_url_of(c, v[NT_URL], "url", ops ? ops->schemes : NULL, &t->url,
				     &t->url_display, &secret) == 0 &&
		    ops != NULL && (ops->flags & PD_NOTIFY_F_URL_SECRET)) {
			/* a URL that is a credential even when written in the clear */
			pd_log_add_secret(t->url);
			if (!secret) {
				free(t->url_display);
				t->url_display = cfg_url_redacted(c, t->url);
			}
		}
	} else if (ops != NULL && (ops->flags & PD_NOTIFY_F_URL_REQUIRED)) {
		pd_config_error(c, n, "%s is missing required key 'url'", ops->name);
	} else if (ops != NULL && ops->default_url != NULL) {
		t->url = pd_config_strdup(c, ops->default_url);
		t->url_display = pd_config_strdup(c, ops->default_url);
	}
	if (v[NT_HEADERS] != NULL) {
		if (ops != NULL && (ops->flags & PD_NOTIFY_F_NO_URL))
			pd_config_error(c, k[NT_HEADERS], "headers is not valid for type %s",
					ops->name);
		else
			pd_config_headers(c, v[NT_HEADERS], &t->headers, &t->nheaders);
	}
	if (v[NT_TIMEOUT] != NULL)
		pd_config_duration(c, v[NT_TIMEOUT], "timeout", 1, &t->timeout_ms);
	if (v[NT_ROLE] != NULL) {
		int r = pd_config_enum(c, v[NT_ROLE], "role", notify_roles, "page, chat or ticket");

		if (r >= 0)
			t->role = (enum pd_notify_role)(r + 1);
	}
	if (v[NT_SEVERITIES] != NULL)
		cfg_notify_severities(c, v[NT_SEVERITIES], &t->severities);
	if (k[NT_RETRY] != NULL)
		cfg_notify_retry(c, v[NT_RETRY], t);
	if (k[NT_BREAKER] != NULL)
		cfg_notify_breaker(c, v[NT_BREAKER], t);
	/* the type's own keys */
	if (ops != NULL && ops->configure != NULL)
		ops->configure(&nc, t);
}

static char *
cfg_notify_item(struct cfg_ctx *c, yaml_node_t *n, size_t i, void *ud, yaml_node_t **name_node)
{
	struct pd_config *cfg = ud;

	cfg_notify_one(c, n, &cfg->notify[i], name_node);
	return cfg->notify[i].name;
}

void
pd_config_read_notify(struct cfg_ctx *c, yaml_node_t *n, struct pd_config *cfg)
{
	yaml_node_item_t *items;
	size_t cnt;

	if (pd_config_seq(c, n, "notify", &items, &cnt) != 0 || cnt == 0)
		return;
	cfg->notify = pd_config_calloc(c, cnt, sizeof(*cfg->notify));
	if (cfg->notify != NULL)
		pd_config_named(c, items, cnt, "notify", cfg_notify_item, cfg, &cfg->nnotify);
}
