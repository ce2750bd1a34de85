/* err.c — error buffer helpers. */
#include <stdarg.h>
#include <stdio.h>
#include "probed/err.h"

int
pd_err_set(struct pd_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *
pd_errc_str(int code)
{
	switch (code) {
	case PD_OK: return "ok";
	case PD_ERR_NOMEM: return "out of memory";
	case PD_ERR_IO: return "i/o error";
	case PD_ERR_CONFIG: return "configuration error";
	case PD_ERR_DB: return "database error";
	case PD_ERR_INVALID: return "invalid argument";
	case PD_ERR_HTTP: return "http error";
	case PD_ERR_NOTFOUND: return "not found";
	default: return "unknown error";
	}
}
