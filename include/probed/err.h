/* err.h — error codes and the operator-facing error buffer (curl's error-buffer idea). */
#ifndef PROBED_ERR_H
#define PROBED_ERR_H

enum pd_errc {
	PD_OK = 0,
	PD_ERR_NOMEM = -1,
	PD_ERR_IO = -2,
	PD_ERR_CONFIG = -3,
	PD_ERR_DB = -4,
	PD_ERR_INVALID = -5,
	PD_ERR_HTTP = -6,
	PD_ERR_NOTFOUND = -7,
};

/* Caller-supplied; functions that fail fill msg with one line for the operator. */
struct pd_err {
	int code;
	char msg[256];
};

/* Fill err (may be NULL) and return code, so callers can `return pd_err_set(...)`. */
int pd_err_set(struct pd_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Static string for an enum pd_errc. */
const char *pd_err_code_str(int code);

/* The "did you mean" of every operator message: the entry of names[] (NULL-terminated)
 * nearest to word by edit distance (a swap of two neighbouring letters counts as one
 * edit; case and '-' versus '_' are not counted), when it is close enough to be a
 * likely typo of it; NULL when none is, or when word equals an entry exactly. The
 * result points into names[]. */
const char *pd_err_nearest(const char *word, const char *const names[]);

#endif
