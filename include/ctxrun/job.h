/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_JOB_H
#define CTXRUN_JOB_H

/*
 * A job: one command run under a context of its own, and its outcome.
 *
 * The job is where a context meets a process. Its context is a child of the
 * context it is started under, with the job's own timeout on top; when that
 * context is done for any reason, the job stops its processes (stop signal,
 * grace, SIGKILL). When the processes are gone, the outcome is decided:
 * the leader's exit status if ctxrun did not stop it, else "timed out"
 * (its own deadline) or "cancelled" (anything else), with the cause.
 *
 * Lifecycle:
 *   1. job_new(opts): copies the name; argv, env and cwd are borrowed, and
 *      only job_start() reads them.
 *   2. job_start(): derives the context, builds the environment (adding
 *      CTXRUN_JOB and CTXRUN_DEADLINE) and spawns. A job that cannot start
 *      returns -1 with E filled, outcome JOB_FAILED and exit code 126/127,
 *      and fires no events.
 *   3. Events (JOB_EV_*) report the lifecycle as it happens; JOB_EV_DONE is
 *      the last, after which the owner may job_free().
 *   4. job_kill() skips the rest of a grace period (second Ctrl-C).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "ctxrun/ctx.h"
#include "ctxrun/err.h"
#include "ctxrun/reaper.h"

struct job;
struct cgroup_run;

/*
 * How a job ended. Where it is in its life (new, running, done) is the
 * job's own state, kept apart: an outcome is only ever set once.
 */
enum job_outcome {
	JOB_NONE = 0,  /* none yet: not started, or still running */
	JOB_SUCCEEDED,
	JOB_FAILED,    /* non-zero exit, a signal ctxrun did not send, no exec */
	JOB_TIMED_OUT, /* its own deadline expired */
	JOB_CANCELLED, /* its context was cancelled for another reason */
	JOB_SKIPPED,   /* never started */
	JOB_STOPPED,   /* ctxrun stopped it, no longer needed (a service) */
};

/* What happens to a job; pipeline.h has the table of every level. */
enum job_event_kind {
	JOB_EV_START,     /* pid */
	JOB_EV_SIGNAL,    /* stop signal sent: signal, cause */
	JOB_EV_KILL,      /* grace over, SIGKILL sent: grace_ms */
	JOB_EV_EXIT,      /* leader reaped: status (raw wait status) */
	JOB_EV_LEFTOVERS, /* leader left members: count, signal */
	JOB_EV_DONE,      /* everything gone, outcome decided */
	JOB_EV_SUSPENDED, /* stopped from the terminal; see job_resume() */
};

struct job_event {
	enum job_event_kind kind;
	pid_t pid;
	int signal;
	int status;
	size_t count;
	int64_t grace_ms;
	const char *cause; /* borrowed for the callback's duration */
	enum ctx_cause_kind cause_kind;
};

typedef void job_event_fn(struct job *j, const struct job_event *ev,
			  void *data);

struct job_opts {
	const char *name;
	char *const *argv;
	bool search_path;     /* argv[0] looked up in PATH */
	char *const *env_add; /* "KEY=VALUE" added to ctxrun's environment */
	const char *cwd;      /* NULL: ctxrun's */
	int64_t timeout_ms;   /* 0: none of its own */
	int64_t grace_ms;
	int stop_signal;
	bool foreground;      /* see proc.h */
	bool leave_nested;    /* see proc.h */
	int tty_fd;           /* see proc.h; -1 for none */
	int stdin_fd, stdout_fd, stderr_fd; /* -1: ctxrun's own */
	struct cgroup_run *cgroup; /* each attempt gets a cgroup below it; NULL:
				      none (borrowed, outlives the job) */
	/*
	 * A remote job (ctxrun(1), REMOTE JOBS) runs argv on HOST through
	 * ssh and a ctxrun there, given what is left of the job's deadline.
	 * Its ssh reads a pipe whose end the job holds: closing it is the
	 * stop, and SIGKILL reaches ssh only REMOTE_MARGIN_MS after the
	 * grace. env_add and cwd apply on the far side. Borrowed, read by
	 * job_start() only; host NULL: a local job.
	 */
	const char *host;
	const char *ssh_command;   /* NULL: ssh */
	const char *remote_ctxrun; /* NULL: ctxrun */
	job_event_fn *on_event;
	void *data;
};

/* Create a job from OPTS (see step 1). */
struct job *job_new(const struct job_opts *opts);

/* Start J under PARENT (see step 2); 0 or -1 with E filled. */
int job_start(struct job *j, struct ctx *parent, struct reaper *r,
	      struct err *e);

/*
 * Cancel J's own context with KIND and WHY, as its parent's cancellation
 * would: J is stopped (stop signal, grace, SIGKILL). With
 * CTX_CAUSE_STOPPED its outcome is JOB_STOPPED, a stop ctxrun decided
 * (ctxrun.ini(5): a service no job needs any more); with any other kind,
 * JOB_CANCELLED. A no-op unless J is running.
 */
void job_cancel(struct job *j, enum ctx_cause_kind kind, const char *why);

/* SIGKILL J's processes now; a no-op unless J is running. */
void job_kill(struct job *j);

/*
 * Send SIG to J's processes now, as GNU timeout passes on a signal it
 * got (proc_signal(): the first begins the stop sequence), and tell it
 * (JOB_EV_SIGNAL). The outcome stays the leader's own exit status: a
 * signal passed on stops nothing by itself. False, doing nothing, unless
 * J's leader runs: GNU's timeout is gone once its command is.
 */
bool job_forward(struct job *j, int sig);

/* Continue J after JOB_EV_SUSPENDED (see proc_resume()). */
void job_resume(struct job *j);

/* J's name (borrowed). */
const char *job_name(const struct job *j);

/* J's outcome. */
enum job_outcome job_outcome(const struct job *j);

/* Printable outcome: "succeeded", "timed out", ... */
const char *job_outcome_name(enum job_outcome o);

/*
 * J's exit code as a shell reports it: the exit status, 128+N for a death
 * by signal N, 126/127 for a command that could not run; -1 before the
 * leader ends.
 */
int job_exit_code(const struct job *j);

/* Cause of a timed-out or cancelled job; NULL otherwise. Borrowed. */
const struct ctx_cause *job_cause(const struct job *j);

/* The signal that ended the leader, or 0 when it exited (or never ran). */
int job_signal(const struct job *j);

/* Did the stop have to end in SIGKILL? */
bool job_killed(const struct job *j);

/* Release J; only when it is not running. NULL is a no-op. */
void job_free(struct job *j);

#endif
