/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_EXIT_H
#define CTXRUN_EXIT_H

/*
 * ctxrun's exit statuses (ctxrun(1), EXIT STATUS), GNU timeout's: the
 * first failing job's own status, or one of these. A job that could not
 * start gets one too, as a shell would give it.
 */

#include <stdbool.h>

enum {
	EXIT_TIMEDOUT = 124,      /* the run's deadline stopped it */
	EXIT_CANCELED = 125,      /* ctxrun's own failure: usage, config, system */
	EXIT_CANNOT_INVOKE = 126, /* the command was found but cannot run */
	EXIT_ENOENT = 127,        /* the command was not found */
};

/*
 * The status of a command that could not start because of ERRNUM: 127
 * when it does not exist, 126 when it cannot run, and 125 when what
 * failed was ours, not the command's (OURS: no cgroup, no process, no
 * memory).
 */
int exit_code_of_start(int errnum, bool ours);

#endif
