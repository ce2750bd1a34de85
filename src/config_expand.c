/* config_expand.c — ${...} in a scalar of probes.yaml: ${VAR} (the environment),
 * ${file:/abs/path} (a regular file, at most CFG_MAX_SECRET_FILE bytes, one trailing
 * newline dropped) and $$ (a literal '$'). A scalar that used ${...} is secret: the caller
 * registers its expansion with pd_log_add_secret() and messages quote only the text as
 * written. With PD_CONFIG_NO_SECRET_FILES a ${file:} is checked for syntax, not read.
 * pd_config_read_file, the size-capped read of a whole file, serves probes.yaml too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "probed/buf.h"
#include "probed/config.h"
#include "config_int.h"

#define CFG_MAX_SECRET_FILE (64 * 1024) /* one ${file:...} */


/*
 * Append the whole of path to out, at most max bytes of it. 0, or -1 with *errnum (EISDIR
 * for a directory, EFBIG past max, ENOMEM), or -2 when regular_only and path is not a
 * regular file. regular_only is for files named inside the configuration: a FIFO would
 * block the open() or the read() until some writer came (probectl validate hung, and so
 * would the loop on SIGHUP), a device may never end. O_NONBLOCK makes the open of a FIFO
 * return at once; it is then refused.
 */
int
pd_config_read_file(const char *path, int regular_only, size_t max, struct pd_buf *out, int *errnum)
{
	char chunk[16384];
	struct stat st;
	size_t start = out->len;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK | O_NOCTTY : 0));
	if (fd < 0) {
		*errnum = errno;
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		*errnum = errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		*errnum = EISDIR;
		goto out;
	}
	if (regular_only && !S_ISREG(st.st_mode)) {
		rc = -2;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*errnum = errno;
			goto out;
		}
		if (r == 0)
			break;
		if (out->len - start + (size_t)r > max) {
			*errnum = EFBIG;
			goto out;
		}
		if (pd_buf_append(out, chunk, (size_t)r) != 0) {
			*errnum = ENOMEM;
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* A ${file:} secret: a regular file, one trailing newline dropped (what `echo key > file`
 * and systemd-creds leave). As pd_config_read_file(). */
static int
cfg_read_secret_file(const char *path, struct pd_buf *out, int *errnum)
{
	size_t start = out->len;
	int rc = pd_config_read_file(path, 1, CFG_MAX_SECRET_FILE, out, errnum);

	if (rc == 0 && out->len > start && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	return rc;
}

static int
cfg_var_name_ok(const char *s, size_t len)
{
	if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return 0;
	}
	return 1;
}

/*
 * Expand ${VAR}, ${file:/path} and $$ in scalar n. Returns a new string, or NULL after
 * reporting the error(s). *secret is set when any ${...} was present.
 */
char *
pd_config_expand(struct cfg_ctx *c, yaml_node_t *n, const char *what, int *secret)
{
	const char *s = pd_config_raw(n);
	size_t len = n->data.scalar.length;
	struct pd_buf b;
	char show[CFG_SHOW_MAX + 8];
	char *res = NULL;
	int bad = 0;

	*secret = 0;
	pd_buf_init(&b, 0);
	if (memchr(s, '\0', len) != NULL) {
		pd_config_error(c, n, "%s: value contains a NUL character", what);
		goto out;
	}
	for (size_t i = 0; i < len;) {
		const char *ref, *end, *val;
		char var[256];
		size_t rlen;

		if (s[i] != '$' || i + 1 >= len || (s[i + 1] != '$' && s[i + 1] != '{')) {
			if (pd_buf_append(&b, s + i, 1) != 0)
				goto nomem;
			i++;
			continue;
		}
		if (s[i + 1] == '$') {
			if (pd_buf_append(&b, "$", 1) != 0)
				goto nomem;
			i += 2;
			continue;
		}
		ref = s + i + 2;
		end = memchr(ref, '}', len - i - 2);
		*secret = 1;
		if (end == NULL) {
			pd_config_error(
				c, n, "%s: unterminated '${' (write '$$' for a literal '$')", what);
			bad = 1;
			break;
		}
		rlen = (size_t)(end - ref);
		i = (size_t)(end - s) + 1;
		if (rlen >= 5 && memcmp(ref, "file:", 5) == 0) {
			char *path = strndup(ref + 5, rlen - 5);
			int errnum = 0, rc;

			if (path == NULL)
				goto nomem;
			if (path[0] != '/') {
				pd_config_error(
					c, n, "%s: ${file:%s} needs an absolute path", what,
					pd_config_show(path, strlen(path), show, sizeof(show)));
				bad = 1;
			} else if (c->flags & PD_CONFIG_NO_SECRET_FILES) {
				/* checked for syntax only; the daemon reads the file */
				if (pd_buf_append(&b, "unread-secret", 13) != 0) {
					free(path);
					goto nomem;
				}
			} else if ((rc = cfg_read_secret_file(path, &b, &errnum)) == -2) {
				pd_config_error(
					c, n,
					"cannot read '%s': not a regular file (a FIFO or a "
					"device would block or never end)",
					pd_config_show(path, strlen(path), show, sizeof(show)));
				bad = 1;
			} else if (rc != 0) {
				if (errnum == ENOMEM) {
					free(path);
					goto nomem;
				}
				pd_config_error(
					c, n, "cannot read '%s': %s",
					pd_config_show(path, strlen(path), show, sizeof(show)),
					strerror(errnum));
				bad = 1;
			}
			free(path);
			continue;
		}
		if (!cfg_var_name_ok(ref, rlen) || rlen >= sizeof(var)) {
			pd_config_error(c, n, "%s: invalid variable name '%s' in ${...}", what,
					pd_config_show(ref, rlen, show, sizeof(show)));
			bad = 1;
			continue;
		}
		memcpy(var, ref, rlen);
		var[rlen] = '\0';
		val = getenv(var);
		if (val == NULL) {
			pd_config_error(c, n, "environment variable %s is not set", var);
			bad = 1;
			continue;
		}
		if (pd_buf_append(&b, val, strlen(val)) != 0)
			goto nomem;
	}
	if (bad)
		goto out;
	if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL) {
		pd_config_error(c, n, "%s: expanded value contains a NUL character", what);
		goto out;
	}
	res = pd_config_strdup(c, b.len ? b.data : "");
	goto out;
nomem:
	c->nomem = 1;
out:
	pd_buf_cleanup(&b);
	return res;
}
