/* SPDX-License-Identifier: MIT */
#include "ctxrun/err.h"

#include <stdio.h>
#include <string.h>

/* Set E's message from a format. */
int
err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	e->saved_errno = 0;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Set E's message from a format, followed by the text of ERRNUM. */
int
err_errno(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	e->code = 0;
	e->saved_errno = errnum;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	len = strlen(e->msg);
	snprintf(e->msg + len, sizeof(e->msg) - len, ": %s", strerror(errnum));
	return -1;
}
