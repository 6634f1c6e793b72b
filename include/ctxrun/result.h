/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_RESULT_H
#define CTXRUN_RESULT_H

/*
 * What became of one job of a run, as plain data: the scheduler fills
 * one per job, and the summary, --json and --junit reports read them.
 * Kept apart from the scheduler's header so that the reports, which only
 * read results, do not depend on the scheduler.
 *
 * Ownership: the pipeline owns its results and every string they point
 * to (pipeline_results()); a reader borrows them until pipeline_free().
 */

#include <stdbool.h>

#include <ev.h>

#include "ctxrun/ctx.h"
#include "ctxrun/job.h"

/* What happened to one job, for the summary. Owned by the pipeline. */
struct pipeline_result {
	const char *name;         /* borrowed from the spec */
	enum job_outcome outcome; /* JOB_NONE only before the end */
	bool allowed;             /* failed or timed out, with allow_failure */
	bool killed;              /* its stop needed SIGKILL */
	int exit_code;            /* -1 when it never ran */
	int signal;               /* signal that ended it, 0 when it exited */
	int attempts;
	ev_tstamp started_at;     /* ev_time() at its first start; 0: never ran */
	ev_tstamp duration;       /* seconds, over all attempts */
	const char *cause;        /* why timed out, cancelled, skipped or
				     stopped, or how a service failed;
				     NULL when none; at most 255 bytes */
	enum ctx_cause_kind cause_kind; /* of a job that ran and was stopped */
	bool service;             /* service = true */
	double ready_after;       /* seconds from start to ready; 0: never */
};

#endif
