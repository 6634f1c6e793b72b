/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_SIGNAME_H
#define CTXRUN_SIGNAME_H

/*
 * Signal names as users type them and as messages print them. "TERM",
 * "SIGTERM", "term" and "15" all name SIGTERM; 0 is not a signal.
 */

#include "ctxrun/err.h"

/*
 * Parse TEXT into a signal number in *SIGNO. Returns 0, or -1 with E's
 * message saying why ("unknown signal").
 */
int signame_parse(const char *text, int *signo, struct err *e);

/* Return "SIGTERM" for SIGTERM; "SIG37" style for signals without a name. */
const char *signame_name(int signo);

#endif
