/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_LOGDIR_H
#define CTXRUN_LOGDIR_H

/*
 * The --log-dir directory (ctxrun(1), OUTPUT): one file per attempt of
 * each job, NAME.log for the first and NAME.N.log for attempt N, holding
 * all the attempt wrote to its stdout and stderr as it came, unprefixed.
 *
 * 1. logdir_open() before anything runs: opens the directory (creating
 *    it, one level, when it is missing) and keeps it open, so that each
 *    file is created relative to it (openat) whatever happens to the path.
 * 2. logdir_create() per attempt: a regular file, mode 0644 under the
 *    umask, truncated, close-on-exec; a symbolic link or anything but a
 *    regular file planted at its name is refused, never followed or
 *    written through. logdir_path() names it for messages and events.
 * 3. logdir_free().
 *
 * The log directory owns its fd; the files' fds are the caller's.
 */

#include "ctxrun/err.h"

struct logdir;

/* Open (or create) the directory PATH; NULL with E on failure. */
struct logdir *logdir_open(const char *path, struct err *e);

/*
 * Create the file of attempt ATTEMPT (1 for the first) of job NAME and
 * return its fd, open for writing; -1 with E on failure.
 */
int logdir_create(const struct logdir *ld, const char *name, int attempt,
		  struct err *e);

/* "DIR/NAME.log" of NAME's attempt ATTEMPT, as a new string. */
char *logdir_path(const struct logdir *ld, const char *name, int attempt);

/* Release LD. NULL is a no-op. */
void logdir_free(struct logdir *ld);

#endif
