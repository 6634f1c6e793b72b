/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_ERR_H
#define CTXRUN_ERR_H

/*
 * Errors reported to a caller.
 *
 * A function that can fail for reasons outside the program (the OS, the
 * user's input) returns -1 or NULL and fills a caller-provided struct err.
 * The message is complete and printable: it names what failed and the value
 * that made it fail ("cannot run 'make': No such file or directory"). Only
 * `cli` prints it.
 */

#include <stdarg.h>

struct err {
	int code;       /* module-specific reason, 0 when unset */
	int saved_errno; /* errno at the failure, 0 when none */
	char msg[512];
};

/* Set E's message from a format; sets code, clears saved_errno; returns -1. */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Set E's message from a format followed by ": strerror(errnum)" and save
 * ERRNUM; returns -1. Pass errno captured before any cleanup.
 */
int err_errno(struct err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
