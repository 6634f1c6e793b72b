/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_GROUP_H
#define CTXRUN_GROUP_H

/*
 * An errgroup: Go's errgroup.WithContext for jobs.
 *
 * The group owns a context derived from its parent; every job of the group
 * runs under it. The first failure reported wins: it becomes the group's
 * error and, when the group is fail-fast, cancels the group's context with
 * that failure as the cause, which stops every sibling. Later failures are
 * only counted. Allowed failures (allow_failure) are reported but never
 * become the group's error.
 *
 * 1. group_new(parent, fail_fast).
 * 2. Start jobs under group_ctx().
 * 3. group_report() each job's final outcome.
 * 4. group_error_*() to build the exit status; group_free().
 */

#include <stdbool.h>

#include "ctxrun/ctx.h"
#include "ctxrun/job.h"

struct group;

/* Create a group under PARENT. */
struct group *group_new(struct ctx *parent, bool fail_fast);

/* The context jobs of G run under (borrowed). */
struct ctx *group_ctx(const struct group *g);

/*
 * Report a job's final outcome. A failure (JOB_FAILED or JOB_TIMED_OUT)
 * that is not ALLOWED becomes G's error if it is the first, and cancels the
 * group under fail-fast with the cause 'job "NAME" failed: exit status N'.
 * CAUSE is the job's own (for a timeout); may be NULL. A CAUSE of kind
 * CTX_CAUSE_FAILED describes the failure itself (a service's) and is
 * the error's text as it is.
 */
void group_report(struct group *g, const char *name, enum job_outcome outcome,
		  int exit_code, const struct ctx_cause *cause, bool allowed);

/* Has a failure been reported? Its outcome and exit code, and its text. */
bool group_failed(const struct group *g);
enum job_outcome group_error_outcome(const struct group *g);
int group_error_code(const struct group *g);
const char *group_error_text(const struct group *g);

/* Release G (its context must have no children left); NULL is a no-op. */
void group_free(struct group *g);

#endif
