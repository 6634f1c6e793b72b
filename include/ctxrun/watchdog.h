/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_WATCHDOG_H
#define CTXRUN_WATCHDOG_H

/*
 * What stops the jobs when ctxrun itself is killed (SIGKILL, the OOM
 * killer) and has no chance to.
 *
 * The watchdog is a small child process in a process group of its own (so
 * a signal to ctxrun's group or terminal does not reach it) that blocks
 * reading a pipe whose only writer is ctxrun. If the pipe ends without a
 * word from ctxrun, ctxrun is dead: the watchdog sends the stop signal and
 * SIGCONT to every process of the run, those in its cgroup first, then
 * those that carry one of its marks (CTXRUN_MARK) and are proven to
 * descend from it (ptree.h: a copy of a mark proves nothing), escapees
 * included. It looks again until they are gone or the grace period is
 * over, signalling each process it finds for the first time, then
 * SIGKILLs what is left, and exits. A grace of DURATION_FOREVER sends no
 * SIGKILL: it waits for them, however long they run.
 *
 * 1. watchdog_start() before the first job starts; watch *PID with the
 *    reaper, as it is a child like any other.
 * 2. watchdog_dismiss() when the run is over: the watchdog exits at once.
 * 3. watchdog_wait() last thing before ctxrun exits, so that nothing of
 *    the run outlives it: the watchdog exits while ctxrun releases the
 *    rest, rather than ctxrun waiting for that first.
 */

#include <stdint.h>
#include <sys/types.h>

#include "ctxrun/err.h"

/*
 * Start the watchdog with the run's stop signal and grace period, and the
 * run's cgroup directory (NULL: none; see cgroup.h), whose processes it
 * kills and whose cgroups it removes last. Returns the write end of its
 * pipe (close-on-exec) and its pid in *PID, or -1 with E filled.
 */
int watchdog_start(int stop_signal, int64_t grace_ms, const char *cgroup_dir,
		   pid_t *pid, struct err *e);

/* Tell the watchdog behind FD that the run ended cleanly; closes FD. */
void watchdog_dismiss(int fd);

/*
 * Wait until the dismissed watchdog PID has exited, and reap it unless
 * libev did (it reaps every child while its loop runs). Signals wait
 * until it is gone.
 */
void watchdog_wait(pid_t pid);

#endif
