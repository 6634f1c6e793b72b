/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_TAIL_H
#define CTXRUN_TAIL_H

/*
 * The last lines of each job's latest attempt, kept for the end of a
 * failed run (ctxrun(1), OUTPUT: the failure, last).
 *
 * 1. tail_new() with the number of jobs and of lines to keep.
 * 2. tail_reset() when an attempt starts: what an earlier one printed is
 *    forgotten.
 * 3. tail_take() per piece of the job's output, as read (stdout and
 *    stderr alike, in the order read): only the last LINES lines are
 *    kept, and no more than TAIL_MAX_BYTES of them, so a job that prints
 *    a gigabyte costs a few lines' copy per read, and memory stays small
 *    whatever it prints. A line with no newline yet counts as a line.
 * 4. tail_get() gives the kept bytes; tail_free().
 *
 * The tail owns its buffers. Nothing here touches the loop.
 */

#include <stddef.h>

/* The most bytes kept per job: the end of its last lines. */
#define TAIL_MAX_BYTES (16 * 1024)

struct tail;

/* Keep the last LINES lines (at least 1) of each of N_JOBS jobs. */
struct tail *tail_new(size_t n_jobs, int lines);

/* Forget what job JOB printed so far (a new attempt starts). */
void tail_reset(struct tail *t, size_t job);

/* Take the LEN bytes at P that job JOB printed. */
void tail_take(struct tail *t, size_t job, const char *p, size_t len);

/* The kept bytes of job JOB (*LEN of them; NULL when none). Borrowed. */
const char *tail_get(const struct tail *t, size_t job, size_t *len);

/* Release T. NULL is a no-op. */
void tail_free(struct tail *t);

#endif
