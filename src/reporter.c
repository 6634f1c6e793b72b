/* SPDX-License-Identifier: MIT */
#include "ctxrun/reporter.h"

#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctxrun/duration.h"
#include "ctxrun/escape.h"
#include "ctxrun/events.h"
#include "ctxrun/exit.h"
#include "ctxrun/junit.h"
#include "ctxrun/report.h"
#include "ctxrun/signame.h"
#include "ctxrun/tail.h"
#include "ctxrun/util.h"

/*
 * Lines go through the output queue when there is one, so that a blocked
 * stderr cannot stall the loop and a line comes after what the jobs
 * printed before it; in raw mode the jobs write to our stderr themselves,
 * and so do we, through stdio. One-command mode keeps quiet like GNU
 * timeout: only the stop signal is news there without -v.
 */

struct reporter {
	struct reporter_opts o;
	struct output *output; /* NULL: raw, stdio */
	struct events *events; /* --events, or NULL */
	struct junit *junit;   /* --junit, or NULL */
	struct tail *tail;     /* failed jobs' last lines, or NULL */
	bool output_lost;      /* a write of ours failed, not EPIPE */
	bool draining;         /* reporter_finish() was called */
	bool gnu_exited;       /* GNU's words: the command exited, and
				  GNU's timeout with it */
	double wall_start;     /* Unix time the run started, for --junit */
	ev_tstamp started_at;  /* ev_time() then */
};

static void gnu_say_sending(struct reporter *rep, int sig);
static void reporter_tap_cb(void *data, size_t job, const char *name,
			    int which, const char *p, size_t len);
static void reporter_tail_cb(void *data, size_t job, const char *name,
			     int which, const char *p, size_t len);

/* Unix time now, in seconds: only for what reports print. */
static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Open the report files. */
struct reporter *
reporter_new(const struct reporter_opts *o, struct err *e)
{
	struct reporter *rep = xcalloc(1, sizeof(*rep));

	rep->o = *o;
	rep->started_at = ev_time();
	rep->wall_start = wall_now();
	if (o->events_path &&
	    !(rep->events = events_open(o->loop, o->events_path, e))) {
		reporter_free(rep);
		return NULL;
	}
	if (o->junit_path &&
	    !(rep->junit = junit_open(o->loop, o->junit_path, e))) {
		reporter_free(rep);
		return NULL;
	}
	return rep;
}

/*
 * Send ctxrun's lines through OUT; tap the jobs' output for JUnit and for
 * the failures' last lines, which one command (its output is right
 * there) and -q go without.
 */
void
reporter_set_output(struct reporter *rep, struct output *out)
{
	rep->output = out;
	if (out && rep->junit) {
		output_add_tap(out, reporter_tap_cb, rep);
	}
	if (out && rep->o.failure_lines > 0 && !rep->o.alone &&
	    rep->o.verbosity != VERBOSITY_QUIET) {
		rep->tail = tail_new(rep->o.n_jobs, rep->o.failure_lines);
		output_add_tap(out, reporter_tail_cb, rep);
	}
}

/*
 * In raw mode, ctxrun's own lines go to stderr through stdio: remember
 * when one could not be written, unless for want of a reader (EPIPE).
 */
static void
raw_check(struct reporter *rep)
{
	if (!rep->output && ferror(stderr)) {
		rep->output_lost |= errno != EPIPE;
		clearerr(stderr);
	}
}

/* Write TEXT (LEN bytes) to stderr, through the queue when there is one. */
static void
reporter_put(struct reporter *rep, const char *text, size_t len)
{
	if (rep->output) {
		output_write(rep->output, 2, text, len);
		return;
	}
	fwrite(text, 1, len, stderr);
	raw_check(rep);
}

/* Write a line of ctxrun's own to stderr. */
void
reporter_note(struct reporter *rep, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (len < 0) {
		BUG("out of memory");
	}
	reporter_put(rep, text, (size_t)len);
	free(text);
}

/* Is the verbosity at least LEVEL? */
bool
reporter_says(const struct reporter *rep, enum verbosity level)
{
	return rep->o.verbosity >= level;
}

/* "ctxrun: NAME: ..." at LEVEL. */
void
reporter_say(struct reporter *rep, enum verbosity level, const char *name,
	     const char *fmt, ...)
{
	va_list ap;
	char *text, *shown;

	if (!reporter_says(rep, level)) {
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0) {
		BUG("out of memory");
	}
	va_end(ap);
	/* Causes quote job names too: the whole line is escaped. */
	shown = escape_term_dup(name);
	escape_term(text, text, strlen(text));
	reporter_note(rep, "ctxrun: %s: %s\n", shown, text);
	free(shown);
	free(text);
}

/* Say how a leader ended, at LEVEL. */
static void
say_exit(struct reporter *rep, enum verbosity level, const char *name,
	 int status)
{
	if (WIFSIGNALED(status)) {
		reporter_say(rep, level, name, "killed by %s",
			     signame_name(WTERMSIG(status)));
	} else {
		reporter_say(rep, level, name, "exited with status %d",
			     WEXITSTATUS(status));
	}
}

/*
 * Say a job event in GNU timeout's words: with -v each signal sent to
 * the command while it runs (what goes to its leftovers after it exited,
 * GNU's would not have sent), and a core dump always, as GNU's does.
 */
static void
gnu_job_event(struct reporter *rep, const struct job_event *ev)
{
	const struct reporter_gnu *gnu = rep->o.gnu;
	int sig = ev->kind == JOB_EV_KILL ? SIGKILL : ev->signal;

	if (ev->kind == JOB_EV_EXIT) {
		rep->gnu_exited = true;
		if (WIFSIGNALED(ev->status) && WCOREDUMP(ev->status)) {
			reporter_note(rep, "%s: the monitored command dumped "
					   "core\n",
				      gnu->prog);
		}
		return;
	}
	if ((ev->kind != JOB_EV_SIGNAL && ev->kind != JOB_EV_KILL) ||
	    !gnu->verbose || rep->gnu_exited) {
		return;
	}
	gnu_say_sending(rep, sig);
}

/* Say, in GNU's words, that SIG goes to the command. */
static void
gnu_say_sending(struct reporter *rep, int sig)
{
	const struct reporter_gnu *gnu = rep->o.gnu;
	char *quoted = escape_gnu_quote(gnu->command);

	reporter_note(rep, "%s: sending signal %s to command %s\n", gnu->prog,
		      signame_gnu(sig), quoted);
	free(quoted);
}

void
reporter_gnu_sent_before_exit(struct reporter *rep, int sig)
{
	if (rep->o.gnu && rep->o.gnu->verbose && rep->gnu_exited &&
	    sig != SIGALRM) {
		gnu_say_sending(rep, sig);
	}
}

/* Say what a job event means to a person. */
static void
say_job_event(struct reporter *rep, const char *name,
	      const struct job_event *ev)
{
	enum verbosity level = rep->o.alone ? VERBOSITY_VERBOSE
					    : VERBOSITY_NORMAL;
	char d[64];

	if (rep->o.gnu) {
		gnu_job_event(rep, ev);
		return;
	}
	switch (ev->kind) {
	case JOB_EV_START:
		reporter_say(rep, VERBOSITY_VERBOSE, name, "started (pid %d)",
			     (int)ev->pid);
		break;
	case JOB_EV_SIGNAL:
		/* A sibling's failure: say it is a cancellation, not ours. */
		reporter_say(rep, VERBOSITY_NORMAL, name, "%s (%s%s)",
			     signame_name(ev->signal),
			     ev->cause_kind == CTX_CAUSE_FAILED ? "cancelled: "
								: "",
			     ev->cause);
		break;
	case JOB_EV_KILL:
		reporter_say(rep, level, name, "no exit after %s, SIGKILL",
			     duration_format(ev->grace_ms, d, sizeof(d)));
		break;
	case JOB_EV_EXIT:
		say_exit(rep, level, name, ev->status);
		break;
	case JOB_EV_LEFTOVERS:
		reporter_say(rep, VERBOSITY_VERBOSE, name,
			     "%zu leftover process%s, %s (leader exited)",
			     ev->count, ev->count == 1 ? "" : "es",
			     signame_name(ev->signal));
		break;
	case JOB_EV_SUSPENDED:
	case JOB_EV_DONE:
		break;
	}
}

/* Put a pipeline event into the --events log and the --junit report. */
static void
record(struct reporter *rep, const struct pipeline *p,
       const struct pipeline_event *ev)
{
	struct events_rec rec = { .job = ev->name, .cause = ev->text };
	size_t n;

	switch (ev->kind) {
	case PL_EV_JOB:
		if (rep->events) {
			char *log = rep->o.logdir && ev->job_ev->kind == JOB_EV_START
					    ? logdir_path(rep->o.logdir, ev->name,
							  ev->attempt)
					    : NULL;

			events_job(rep->events, ev->name, ev->attempt,
				   ev->job_ev, log);
			free(log);
		}
		return;
	case PL_EV_ERROR:
		if (rep->events) {
			events_write(rep->events, &(struct events_rec){
				.event = "exit", .job = ev->name, .attempt = 1,
				.has_status = true,
				.status = pipeline_results(p, &n)[ev->job].exit_code,
				.cause = ev->text,
			});
		}
		if (rep->junit) {
			junit_set_error(rep->junit, ev->name, ev->text);
		}
		return;
	case PL_EV_SKIP:
		rec.event = "skip";
		/* A job that ran: the attempt that will not run. */
		rec.attempt = ev->attempt ? ev->attempt + 1 : 0;
		break;
	case PL_EV_RETRY:
		rec.event = "retry";
		rec.attempt = ev->attempt + 1; /* the one about to run */
		break;
	case PL_EV_READY:
		rec.event = "ready";
		rec.probe = ev->text;
		rec.cause = NULL;
		rec.after = ev->ready_after;
		break;
	case PL_EV_PROBE:
		/* One a second for a minute: only when asked for (-v). */
		if (!reporter_says(rep, VERBOSITY_VERBOSE)) {
			return;
		}
		rec.event = "probe";
		break;
	case PL_EV_STATUS:
		rec.event = "status";
		rec.text = ev->text;
		rec.cause = NULL;
		break;
	case PL_EV_STOPPED:
		rec.event = "stopped";
		break;
	case PL_EV_DONE:
		return; /* "done" comes with the exit status, at the end */
	}
	if (rep->events) {
		events_write(rep->events, &rec);
	}
}

/*
 * The command could not start: GNU's "failed to run command" when it is
 * the command's fault (126, 127); ctxrun's own words for what is ours.
 */
static void
gnu_start_error(struct reporter *rep, const struct pipeline *p,
		const struct pipeline_event *ev)
{
	const struct reporter_gnu *gnu = rep->o.gnu;
	size_t n;
	int code = pipeline_results(p, &n)[ev->job].exit_code;
	char *quoted;

	if ((code != EXIT_ENOENT && code != EXIT_CANNOT_INVOKE) ||
	    !ev->errnum) {
		reporter_note(rep, "%s: %s\n", gnu->prog, ev->text);
		return;
	}
	quoted = escape_gnu_quote(gnu->command);
	reporter_note(rep, "%s: failed to run command %s: %s\n", gnu->prog,
		      quoted, strerror(ev->errnum));
	free(quoted);
}

/* Tell what a pipeline event says happened. */
void
reporter_pipeline_event(struct reporter *rep, const struct pipeline *p,
			const struct pipeline_event *ev)
{
	char d[64];

	if (rep->events || rep->junit) {
		record(rep, p, ev);
	}
	switch (ev->kind) {
	case PL_EV_JOB:
		if (rep->tail && ev->job_ev->kind == JOB_EV_START) {
			tail_reset(rep->tail, ev->job);
		}
		say_job_event(rep, ev->name, ev->job_ev);
		break;
	case PL_EV_ERROR:
		/* Printed whatever the verbosity: the job could not even start. */
		if (rep->o.gnu) {
			gnu_start_error(rep, p, ev);
		} else if (rep->o.alone) {
			reporter_note(rep, "ctxrun: %s\n", ev->text);
		} else {
			reporter_say(rep, VERBOSITY_QUIET, ev->name, "%s",
				     ev->text);
		}
		break;
	case PL_EV_SKIP:
		if (ev->attempt) {
			reporter_say(rep, VERBOSITY_NORMAL, ev->name,
				     "attempt %d skipped (%s)", ev->attempt + 1,
				     ev->text);
		} else {
			reporter_say(rep, VERBOSITY_NORMAL, ev->name,
				     "skipped (%s)", ev->text);
		}
		break;
	case PL_EV_RETRY:
		reporter_say(rep, VERBOSITY_NORMAL, ev->name,
			     "attempt %d failed, retrying in %s", ev->attempt,
			     duration_format(ev->delay_ms, d, sizeof(d)));
		break;
	case PL_EV_READY:
		/* Ready once started says little: with -v only. */
		reporter_say(rep, ev->text ? VERBOSITY_NORMAL
					   : VERBOSITY_VERBOSE,
			     ev->name, "ready after %.3fs%s%s%s",
			     ev->ready_after,
			     ev->text ? " (" : "", ev->text ? ev->text : "",
			     ev->text ? ")" : "");
		break;
	case PL_EV_PROBE:
		reporter_say(rep, VERBOSITY_VERBOSE, ev->name, "not ready: %s",
			     ev->text);
		break;
	case PL_EV_STATUS:
		reporter_say(rep, VERBOSITY_VERBOSE, ev->name, "status: %s",
			     ev->text);
		break;
	case PL_EV_STOPPED:
		reporter_say(rep, VERBOSITY_VERBOSE, ev->name, "stopped (%s)",
			     ev->text);
		break;
	case PL_EV_DONE:
		break;
	}
}

/*
 * Output could not go as asked. Lost: say so (on stderr, if that still
 * works) and let the run go on; it will not exit 0. In pieces: say why,
 * as the bytes themselves are whole.
 */
void
reporter_output_event(struct reporter *rep, const struct output_event *ev)
{
	switch (ev->kind) {
	case OUTPUT_EV_CLOSED:
		break;
	case OUTPUT_EV_LOST:
		rep->output_lost = true;
		reporter_note(rep, "ctxrun: %s\n", ev->err->msg);
		break;
	case OUTPUT_EV_LOG:
		rep->output_lost = true;
		reporter_say(rep, VERBOSITY_QUIET, ev->name, "%s",
			     ev->err->msg);
		break;
	case OUTPUT_EV_PIECES:
		if (reporter_says(rep, VERBOSITY_NORMAL)) {
			reporter_note(rep, "ctxrun: %s; blocks over 1 MiB are "
					   "written in pieces\n",
				      ev->err->msg);
		}
		break;
	}
}

/* Queue (or print, in raw mode) the end-of-run table. */
void
reporter_summary(struct reporter *rep, const struct pipeline_result *res,
		 size_t n)
{
	size_t size = 0;
	char *text = NULL;
	FILE *mem = rep->output ? open_memstream(&text, &size) : stderr;

	if (!mem) {
		BUG("out of memory");
	}
	if (rep->o.verbosity == VERBOSITY_QUIET) {
		report_summary_lines(mem, res, n);
	} else if (output_colour_wanted(rep->o.colour, STDERR_FILENO)) {
		report_summary_colour(mem, res, n);
	} else {
		report_summary(mem, res, n);
	}
	if (rep->output) {
		fclose(mem);
		output_write(rep->output, 2, text, size);
		free(text);
	}
	raw_check(rep);
}

/* The failed jobs' last lines, after the summary. */
void
reporter_failures(struct reporter *rep, const struct pipeline_result *res,
		  size_t n)
{
	size_t size = 0, len;
	char *text = NULL;
	FILE *mem;

	if (!rep->tail) {
		return;
	}
	if (!(mem = open_memstream(&text, &size))) {
		BUG("out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		const char *tail = tail_get(rep->tail, i, &len);

		if (tail && !res[i].allowed &&
		    (res[i].outcome == JOB_FAILED ||
		     res[i].outcome == JOB_TIMED_OUT)) {
			report_failure(mem, &res[i], tail, len);
		}
	}
	fclose(mem);
	reporter_put(rep, text, size);
	free(text);
}

/* Has a write of ours failed? */
bool
reporter_output_lost(const struct reporter *rep)
{
	return rep->output_lost;
}

/*
 * Queue the last event and the JUnit report. Comes before any re-raise,
 * so an interrupted run still leaves complete reports; a reader that does
 * not take them gets END->drain_ms.
 */
void
reporter_finish(struct reporter *rep, const struct pipeline_result *res,
		size_t n, const struct reporter_end *end)
{
	if (rep->events) {
		events_write(rep->events, &(struct events_rec){
			.event = "done",
			.signal = end->signal,
			.has_status = true,
			.status = end->signal ? 128 + end->signal : end->status,
			.cause = end->cause,
		});
		events_finish(rep->events, end->drain_ms);
	}
	if (rep->junit) {
		struct junit_suite suite = {
			.name = rep->o.suite,
			.started_at = rep->wall_start,
			.duration = ev_time() - rep->started_at,
		};

		junit_write(rep->junit, &suite, res, n);
		junit_finish(rep->junit, end->drain_ms);
	}
	rep->draining = true;
}

/* Still writing the reports out? */
bool
reporter_draining(const struct reporter *rep)
{
	return rep && rep->draining;
}

/* Give up on what the report files have not taken yet. */
void
reporter_give_up(struct reporter *rep)
{
	if (reporter_draining(rep)) {
		events_finish(rep->events, 0);
		junit_finish(rep->junit, 0);
	}
}

/* Say what was not written, close the files, release REP. */
void
reporter_free(struct reporter *rep)
{
	struct err e;

	if (!rep) {
		return;
	}
	if (events_close(rep->events, &e) < 0 && rep->draining) {
		fprintf(stderr, "ctxrun: %s\n", e.msg);
	}
	if (junit_close(rep->junit, &e) < 0 && rep->draining) {
		fprintf(stderr, "ctxrun: %s\n", e.msg);
	}
	tail_free(rep->tail);
	free(rep);
}

/* A piece of a job's output, for the JUnit report. */
static void
reporter_tap_cb(void *data, size_t job, const char *name, int which,
		const char *p, size_t len)
{
	struct reporter *rep = data;

	(void)job;
	junit_capture(rep->junit, name, which, p, len);
}

/* A piece of a job's output, for its last lines. */
static void
reporter_tail_cb(void *data, size_t job, const char *name, int which,
		 const char *p, size_t len)
{
	struct reporter *rep = data;

	(void)name;
	(void)which;
	tail_take(rep->tail, job, p, len);
}
