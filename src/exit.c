/* SPDX-License-Identifier: MIT */
#include "ctxrun/exit.h"

#include <errno.h>

/* 125, 126 or 127 for a start that failed with ERRNUM. */
int
exit_code_of_start(int errnum, bool ours)
{
	/* A fork or exec short of memory or processes is the system's. */
	if (ours || errnum == EAGAIN || errnum == ENOMEM) {
		return EXIT_CANCELED;
	}
	return errnum == ENOENT ? EXIT_ENOENT : EXIT_CANNOT_INVOKE;
}
