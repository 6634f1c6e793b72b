/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_PIPELINE_H
#define CTXRUN_PIPELINE_H

/*
 * The DAG scheduler: runs the jobs of a spec as one errgroup.
 *
 * A job starts when every job it needs has succeeded (or failed with
 * allow_failure), or is ready for a service, and a slot is free under the
 * jobs limit; ties start in file order, services first. A failed or timed-out job with retries left runs again after
 * its retry_delay, under a fresh context (its timeout applies to each
 * attempt); a cancelled job never does. Dependents of a job that did not
 * succeed are skipped. When the group is cancelled (first failure under
 * fail-fast, the root deadline, an interrupt), jobs that have not started
 * are skipped with that cause and running ones are stopped.
 *
 * 1. pipeline_new(opts): nothing runs yet.
 * 2. pipeline_start(): the first jobs start from the loop, never from here.
 * 3. Events (PL_EV_*) report each job's lifecycle; PL_EV_DONE fires once,
 *    last, when every job has an outcome and every process is gone.
 * 4. pipeline_results() (see result.h) and pipeline_group() for the report
 *    and the exit status; pipeline_free().
 *
 * Events, from the process up (each level passes the one below on and
 * says what it adds):
 *
 *   proc (proc.h)     job (job.h)           pipeline (here)
 *   -                 JOB_EV_START          PL_EV_JOB      spawned: pid
 *   -                 JOB_EV_SIGNAL         PL_EV_JOB      context done:
 *                                                          stop signal sent
 *   PROC_KILLED       JOB_EV_KILL           PL_EV_JOB      grace over
 *   PROC_EXITED       JOB_EV_EXIT           PL_EV_JOB      leader reaped
 *   PROC_LEFTOVERS    JOB_EV_LEFTOVERS      PL_EV_JOB      members left
 *   PROC_SUSPENDED    JOB_EV_SUSPENDED      PL_EV_JOB      Ctrl-Z
 *   PROC_DONE         JOB_EV_DONE           PL_EV_JOB      all gone; the
 *                                                          job has its outcome
 *   -                 (job_start() fails)   PL_EV_ERROR    could not start
 *   -                 -                     PL_EV_RETRY    runs again later
 *   -                 -                     PL_EV_SKIP     will not run
 *   -                 -                     PL_EV_DONE     every job has its
 *                                                          outcome; last
 *
 * proc knows processes and signals; job adds the context (why it was
 * stopped: the cause) and the outcome; the pipeline adds attempts, needs
 * and the group.
 *
 * Services and teardown jobs (ctxrun.ini(5), SERVICES AND TEARDOWN JOBS)
 * run under a context of the pipeline's own, not the group's: a service
 * lives until no unfinished job needs it, and a teardown job runs even
 * after the group was cancelled. Being *ready* is a service's second
 * event, the one its dependents wait for:
 *
 *   -                 -                     PL_EV_READY    a service is
 *                                                          ready: text is
 *                                                          the probe
 *   -                 -                     PL_EV_PROBE    an attempt of its
 *                                                          probe failed: text
 *   -                 -                     PL_EV_STATUS   STATUS= from a
 *                                                          notify probe: text
 *   -                 -                     PL_EV_STOPPED  a service no job
 *                                                          needed is gone
 */

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "ctxrun/ctx.h"
#include "ctxrun/group.h"
#include "ctxrun/job.h"
#include "ctxrun/output.h"
#include "ctxrun/reaper.h"
#include "ctxrun/result.h"
#include "ctxrun/spec.h"

struct pipeline;

enum pipeline_event_kind {
	PL_EV_JOB,   /* a job event: job_ev */
	PL_EV_ERROR, /* a job could not start: text */
	PL_EV_SKIP,  /* a job will not run: text is the cause; with
			attempt > 0, a job waiting to retry was cancelled:
			attempt + 1 will not run, its outcome is cancelled */
	PL_EV_RETRY, /* a failed attempt runs again after delay_ms */
	PL_EV_READY, /* a service is ready after ready_after seconds */
	PL_EV_PROBE, /* a service's probe attempt failed: text */
	PL_EV_STATUS, /* a service said STATUS=text */
	PL_EV_STOPPED, /* a service was stopped, no longer needed */
	PL_EV_DONE,  /* everything is over */
};

struct pipeline_event {
	enum pipeline_event_kind kind;
	int errnum;                     /* PL_EV_ERROR: why, 0 if unknown */
	size_t job;                     /* index in the spec */
	const char *name;
	int attempt;                    /* 1 for the first run */
	const struct job_event *job_ev; /* PL_EV_JOB */
	const char *text;               /* PL_EV_ERROR, PL_EV_SKIP */
	int64_t delay_ms;               /* PL_EV_RETRY */
	double ready_after;             /* PL_EV_READY: seconds since start */
};

typedef void pipeline_event_fn(struct pipeline *p,
			       const struct pipeline_event *ev, void *data);

struct pipeline_opts {
	const struct spec *spec; /* borrowed; must outlive the pipeline */
	struct ctx *root;
	struct reaper *reaper;
	struct output *output;   /* prefixed or grouped; NULL: raw, ctxrun's fds */
	int stdin_fd;            /* -1: ctxrun's own */
	bool give_tty;           /* each job's group gets the terminal on
				    stdin while it runs (one command) */
	bool foreground;         /* jobs stay in ctxrun's process group */
	bool start_cancelled;    /* jobs ready at the start run even when the
				    run is cancelled before its first turn,
				    and are stopped at once (one command: GNU
				    timeout runs its command for a timeout
				    already over) */
	bool leave_nested;       /* see proc.h */
	bool fail_fast;
	int jobs_limit;          /* 0: none */
	struct cgroup_run *cgroup; /* see job_opts; NULL: none */
	pipeline_event_fn *on_event;
	void *data;
};

/* Create a pipeline (see step 1). */
struct pipeline *pipeline_new(const struct pipeline_opts *opts);

/* Start scheduling from the loop (see step 2). */
void pipeline_start(struct pipeline *p);

/*
 * SIGKILL every running job now (a second interrupt); teardown jobs get
 * their stop signal and grace the first time, and those not yet started
 * are skipped.
 */
void pipeline_kill(struct pipeline *p);

/*
 * Pass SIG on to every running job (job_forward()), as GNU timeout does
 * with a signal it got; returns how many jobs it reached.
 */
size_t pipeline_forward(struct pipeline *p, int sig);

/* Continue every running job after a suspension (JOB_EV_SUSPENDED). */
void pipeline_resume(struct pipeline *p);

/* Results, one per job in spec order; *N gets the count. Borrowed. */
const struct pipeline_result *pipeline_results(const struct pipeline *p,
					       size_t *n);

/* The errgroup, for the first failure (borrowed). */
const struct group *pipeline_group(const struct pipeline *p);

/* Release P; only after PL_EV_DONE (or before start). NULL is a no-op. */
void pipeline_free(struct pipeline *p);

#endif
