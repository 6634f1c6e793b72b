/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_REPORTER_H
#define CTXRUN_REPORTER_H

/*
 * What a run tells as it goes: the lifecycle lines a person reads on
 * stderr, the --events log and the --junit report. The reporter listens to
 * the pipeline's events and to the output's troubles, so the driver (run.h)
 * only forwards them and keeps to the loop, the signals and the exit
 * status.
 *
 * 1. reporter_new() before anything runs: opens the --events and --junit
 *    files (ctxrun's own failure, exit 125, when one cannot be opened).
 * 2. reporter_set_output() once the output writer exists: ctxrun's own
 *    lines join its queue from then on, after what the jobs printed before
 *    them, and the JUnit report and the failures' last lines (tail.h) tap
 *    every piece of the jobs' output.
 *    Without one (raw mode) they go to stderr through stdio.
 * 3. reporter_pipeline_event() with every pipeline event, reporter_note()
 *    and reporter_say() for the driver's own lines, reporter_summary() and
 *    reporter_failures() at the end of a pipeline run.
 * 4. reporter_finish() queues the "done" event and the JUnit document;
 *    the driver runs the loop until reporter_draining() is false (the
 *    files' watchers keep the loop alive only that long), then
 *    reporter_free() says what could not be written and closes them.
 *
 * The reporter owns its files and its copies; results, names and the
 * output writer stay the caller's. Only it and the driver print.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "ctxrun/err.h"
#include "ctxrun/logdir.h"
#include "ctxrun/output.h"
#include "ctxrun/pipeline.h"

/* How much ctxrun says on stderr (-q, default, -v). */
enum verbosity { VERBOSITY_QUIET, VERBOSITY_NORMAL, VERBOSITY_VERBOSE };

struct reporter;

/*
 * What a run tells in GNU timeout's words (gnu_timeout.h), in place of
 * ctxrun's: "PROG: sending signal TERM to command 'sleep'" with -v, and
 * "PROG: failed to run command 'x': ..." always; nothing else.
 */
struct reporter_gnu {
	const char *prog;    /* as invoked: argv[0] */
	const char *command; /* the command as given, for its name */
	bool verbose;        /* -v: say each signal sent */
};

struct reporter_opts {
	struct ev_loop *loop;
	enum verbosity verbosity;
	enum output_colour colour; /* of the summary on stderr */
	bool alone;                /* one command: GNU timeout's reticence */
	const char *events_path;   /* --events FILE, or NULL */
	const char *junit_path;    /* --junit FILE, or NULL */
	const char *suite;         /* the JUnit testsuite's name, borrowed */
	const struct logdir *logdir; /* --log-dir: named in events; or NULL */
	int failure_lines;         /* replayed per failed job; 0: none */
	size_t n_jobs;             /* of the spec, for the replay */
	const struct reporter_gnu *gnu; /* GNU's words; NULL: ctxrun's */
};

/* Open the report files of O (see step 1); NULL with E on failure. */
struct reporter *reporter_new(const struct reporter_opts *o, struct err *e);

/* Send ctxrun's own lines through OUT from now on (see step 2). */
void reporter_set_output(struct reporter *rep, struct output *out);

/* Write a line of ctxrun's own (FMT ends with its newline) to stderr. */
void reporter_note(struct reporter *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "ctxrun: NAME: ..." at LEVEL; NAME and the text are escaped. */
void reporter_say(struct reporter *rep, enum verbosity level,
		  const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Is ctxrun's verbosity at least LEVEL? */
bool reporter_says(const struct reporter *rep, enum verbosity level);

/* Tell what EV says happened in P: lines, events, JUnit. */
void reporter_pipeline_event(struct reporter *rep, const struct pipeline *p,
			     const struct pipeline_event *ev);

/*
 * GNU's words: SIG came while the command ran, but its exit was heard
 * first, so no JOB_EV_SIGNAL will say it went: say so now, as GNU's
 * timeout, whose handler sends it at once, would have (with -v).
 */
void reporter_gnu_sent_before_exit(struct reporter *rep, int sig);

/*
 * Tell an output trouble: LOST or LOG (a write error, not EPIPE: the run
 * must not exit 0, see reporter_output_lost()) or PIECES. CLOSED is the
 * driver's: it ends the run.
 */
void reporter_output_event(struct reporter *rep, const struct output_event *ev);

/* The end-of-run table of the N results RES (a pipeline run). */
void reporter_summary(struct reporter *rep, const struct pipeline_result *res,
		      size_t n);

/*
 * After the summary, the last lines of each job of RES (N of them) that
 * failed or timed out, not allowed to (ctxrun(1), OUTPUT); nothing
 * without failure_lines, with -q, or without an output writer.
 */
void reporter_failures(struct reporter *rep, const struct pipeline_result *res,
		       size_t n);

/* Has a write of ctxrun's own output failed (not for want of a reader)? */
bool reporter_output_lost(const struct reporter *rep);

/* How the run ended, for the last event. */
struct reporter_end {
	int status;        /* ctxrun's exit status */
	int signal;        /* the signal it re-raises, or 0 */
	const char *cause; /* why, or NULL */
	int64_t drain_ms;  /* how long a slow reader is waited for */
};

/*
 * Queue the "done" event and the JUnit report of the N results RES (see
 * step 4). RES may be NULL when nothing ran.
 */
void reporter_finish(struct reporter *rep, const struct pipeline_result *res,
		     size_t n, const struct reporter_end *end);

/* Are the report files still being written out after reporter_finish()? */
bool reporter_draining(const struct reporter *rep);

/* Give up on what the report files have not taken yet (a late signal). */
void reporter_give_up(struct reporter *rep);

/* Say what was not written, close the files, release REP; NULL: no-op. */
void reporter_free(struct reporter *rep);

#endif
