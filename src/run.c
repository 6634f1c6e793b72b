/* SPDX-License-Identifier: MIT */
#include "ctxrun/run.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "ctxrun/cgroup.h"
#include "ctxrun/ctx.h"
#include "ctxrun/duration.h"
#include "ctxrun/escape.h"
#include "ctxrun/events.h"
#include "ctxrun/job.h"
#include "ctxrun/junit.h"
#include "ctxrun/output.h"
#include "ctxrun/pipeline.h"
#include "ctxrun/proc.h"
#include "ctxrun/ptimer.h"
#include "ctxrun/ptree.h"
#include "ctxrun/reaper.h"
#include "ctxrun/report.h"
#include "ctxrun/signame.h"
#include "ctxrun/spawn.h"
#include "ctxrun/util.h"
#include "ctxrun/watchdog.h"

/*
 * ctxrun's own signals are libev signal watchers, so a handler does nothing
 * but wake the loop (skalibs' self-pipe, done by libev). The first one
 * (any of signame_interrupts) cancels the root context; a second skips
 * what is left of every grace period. A run ends when its job or pipeline
 * is done: the watchers are stopped and the loop runs dry, so ev_run()
 * returning means nothing is left to wait for.
 */

#define EXIT_TIMEDOUT 124
#define EXIT_INTERNAL 125
/* After a cancelled run, how long queued output may take to get out. */
#define RUN_DRAIN_MS 1000

/* One run: the loop and everything hanging from it. */
struct run {
	const struct run_opts *opts;
	struct ev_loop *loop;
	struct ctx *root;
	struct reaper *reaper;
	struct job *job;           /* one-command mode */
	struct pipeline *pipeline; /* pipeline mode */
	struct output *output;    /* NULL: raw, jobs write to our fds */
	struct output_job *io;    /* one command's pipes, or NULL */
	int devnull;
	ev_signal sigs[SIGNAME_N_INTERRUPTS];
	int interrupts;
	int handover_signal; /* terminal signal that killed a tty-owning job */
	bool tty_handed;
	int watchdog_fd;     /* -1: none */
	bool watchdog_alive; /* not reaped yet: the run is not over */
	pid_t watchdog_pid;
	struct reaper_watch watchdog_watch;
	int stop_signal;     /* the run's, for the final sweep */
	int64_t grace_ms;
	struct proc *sweep;  /* stopping what escaped its job, or NULL */
	struct cgroup_run *cgroup; /* a cgroup per job below it, or NULL */
	bool quiesced;       /* every job done: waiting for output, watchdog */
	int late_signal;     /* the first stop signal after that */
	bool output_lost;    /* a write to stdout or stderr failed, not EPIPE */
	struct events *events; /* --events, or NULL */
	struct junit *junit;   /* --junit, or NULL */
	bool reports_draining; /* the run is over, the reports are going out */
	double wall_start;     /* Unix time the run started, for --junit */
	ev_tstamp started_at;  /* ev_time() when the run started */
	ev_tstamp job_started_at, job_ended_at; /* one-command mode */
};

static void run_signal_cb(struct ev_loop *loop, ev_signal *w, int revents);
static void run_job_cb(struct job *j, const struct job_event *ev, void *data);
static void say_exit(struct run *r, enum run_verbosity level, const char *name,
		     int status);
static void run_pipeline_cb(struct pipeline *p, const struct pipeline_event *ev,
			    void *data);
static void run_summary(struct run *r);
static bool deadline_hit(const struct run *r);
static void __attribute__((format(printf, 2, 3)))
note(struct run *r, const char *fmt, ...);

/* Make sure fds 0, 1 and 2 are open, so no pipe of ours can land on them. */
static void
std_fds_open(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int null = open("/dev/null", fd ? O_WRONLY : O_RDONLY);

			if (null >= 0 && null != fd) {
				dup2(null, fd);
				close(null);
			}
		}
	}
}

/* Unix time now, in seconds: only for what reports print. */
static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * libev's answer to a system call that failed (its eventfd or signal pipe
 * at start-up, with too few fds left; epoll_wait later) is perror() and
 * abort(): a core dump and 134 for what is ctxrun's own failure, 125, with
 * one line saying why. libev retries the call if this returns, so it must
 * not. At start-up nothing runs yet; later, our exit closes the
 * watchdog's pipe and the watchdog stops the jobs.
 */
static _Noreturn void
run_syserr_cb(const char *msg)
{
	static const char libev[] = "(libev) ";
	int errnum = errno;

	if (!strncmp(msg, libev, sizeof(libev) - 1)) {
		msg += sizeof(libev) - 1;
	}
	fprintf(stderr, "ctxrun: event loop: %s: %s\n", msg, strerror(errnum));
	_exit(EXIT_INTERNAL);
}

/*
 * SIGXFSZ interrupts a run when someone sends it; the kernel sends it too,
 * to ctxrun itself, when a spill file or a report meets a file size limit
 * (ulimit -f), and that is only a failed write (EFBIG), which its writer
 * reports. The kernel's comes as SI_USER from our own pid.
 */
static void
run_xfsz_handler(int signo, siginfo_t *si, void *context)
{
	(void)context;
	if (si->si_code == SI_USER && si->si_pid == getpid()) {
		return;
	}
	ev_feed_signal(signo);
}

/*
 * Take ctxrun's signals back from whatever state its parent left them in
 * (ctxrun(1), SIGNALS). A handler for each interrupting signal, which also
 * overrides an inherited SIG_IGN; SIGPIPE ignored, since EPIPE says the
 * same; and those, with SIGCHLD, unblocked: libev installs its handlers but
 * leaves the mask alone, and a blocked SIGCHLD would leave every exit
 * unheard (GNU timeout's unblock_signal). Signals ctxrun does not use
 * stay as they came; jobs start with an empty mask anyway (spawn.h).
 */
static void
run_signals_start(struct run *r)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < SIGNAME_N_INTERRUPTS; i++) {
		int signo = signame_interrupts[i];

		ev_signal_init(&r->sigs[i], run_signal_cb, signo);
		r->sigs[i].data = r;
		ev_signal_start(r->loop, &r->sigs[i]);
		sigaddset(&set, signo);
	}
	/* Over libev's handler, which the watcher stays fed by. */
	sigaction(SIGXFSZ, &(struct sigaction){
		.sa_sigaction = run_xfsz_handler,
		.sa_flags = SA_SIGINFO | SA_RESTART,
	}, NULL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/*
 * Set up the loop, the root context and ctxrun's own signals; -1 after
 * saying why the loop cannot start (nothing to release then).
 */
static int
run_init(struct run *r, const struct run_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->opts = o;
	r->devnull = -1;
	r->watchdog_fd = -1;
	std_fds_open();
	spawn_raise_fd_limit();
	ev_set_syserr_cb(run_syserr_cb);
	r->loop = ev_default_loop(EVFLAG_AUTO);
	if (!r->loop) {
		/* No backend would start: LIBEV_FLAGS names none there is. */
		const char *flags = getenv("LIBEV_FLAGS");

		fprintf(stderr, "ctxrun: cannot start the event loop: no "
				"usable backend%s%s\n",
			flags ? " in LIBEV_FLAGS=" : "", flags ? flags : "");
		return -1;
	}
	r->started_at = ev_time();
	r->wall_start = wall_now();
	/* Orphans of a job are re-parented to us, not to init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	r->root = ctx_new_root(r->loop);
	r->reaper = reaper_new(r->loop);
	reaper_start(r->reaper);
	run_signals_start(r);
	return 0;
}

/*
 * Give the root context its deadline: TIMEOUT_MS (named LABEL in the
 * cause), or an inherited CTXRUN_DEADLINE when that comes first. Returns -1
 * after printing why the inherited value is unusable.
 */
static int
root_deadline(struct run *r, int64_t timeout_ms, const char *label)
{
	const char *inherited = getenv("CTXRUN_DEADLINE");

	if (timeout_ms) {
		char d[64];
		char cause[320];

		duration_format(timeout_ms, d, sizeof(d));
		snprintf(cause, sizeof(cause), "deadline exceeded (%s %s)", label, d);
		ev_now_update(r->loop);
		ctx_set_deadline(r->root,
				 ev_now(r->loop) + (ev_tstamp)timeout_ms / 1000.,
				 cause);
	}
	if (inherited) {
		/* Only what ctxrun writes: digits, at most one point. */
		size_t digits = strspn(inherited, "0123456789");
		const char *rest = inherited + digits;
		double wall = strtod(inherited, NULL);

		if (*rest == '.') {
			rest += 1 + strspn(rest + 1, "0123456789");
		}
		if (!digits || *rest || !(wall > 0)) {
			fprintf(stderr, "ctxrun: invalid CTXRUN_DEADLINE '%s': "
					"expected Unix time in seconds\n",
				inherited);
			return -1;
		}
		ctx_set_deadline_wall(r->root, wall,
				      "deadline exceeded (inherited CTXRUN_DEADLINE)");
	}
	return 0;
}

/*
 * Open the --events and --junit files before anything runs; -1 after
 * printing why one cannot be opened (ctxrun's own failure, exit 125).
 */
static int
reports_open(struct run *r)
{
	const struct run_opts *o = r->opts;
	struct err e;

	if (o->events_path &&
	    !(r->events = events_open(r->loop, o->events_path, &e))) {
		fprintf(stderr, "ctxrun: %s\n", e.msg);
		return -1;
	}
	if (o->junit_path &&
	    !(r->junit = junit_open(r->loop, o->junit_path, &e))) {
		fprintf(stderr, "ctxrun: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* The watchdog was reaped (or stopped, which we ignore). */
static void
run_watchdog_exit_cb(struct reaper_watch *w, int status)
{
	struct run *r = container_of(w, struct run, watchdog_watch);

	if (WIFSTOPPED(status) || WIFCONTINUED(status)) {
		return;
	}
	r->watchdog_alive = false;
	reaper_stop(r->reaper);
}

/*
 * Say (-v) how jobs are contained; WHY_NO_CGROUP names the reason when
 * they have no cgroup. A /proc of another PID namespace (ptree.h) leaves
 * the marks unusable: its process groups are all a job is then.
 */
static void
say_containment(const struct run *r, const char *why_no_cgroup)
{
	static const char foreign[] = "/proc is not this PID namespace's";

	if (r->opts->verbosity < RUN_VERBOSE) {
		return;
	}
	if (r->cgroup && ptree_proc_ours()) {
		fprintf(stderr, "ctxrun: containment: cgroup %s\n",
			cgroup_run_path(r->cgroup));
	} else if (r->cgroup) {
		fprintf(stderr, "ctxrun: containment: cgroup %s "
				"(%s: no marks)\n", cgroup_run_path(r->cgroup),
			foreign);
	} else if (!ptree_proc_ours()) {
		fprintf(stderr, "ctxrun: containment: %s: process groups only "
				"(%s)\n", foreign, why_no_cgroup);
	} else {
		fprintf(stderr, "ctxrun: containment: process groups and marks "
				"(%s)\n", why_no_cgroup);
	}
}

/*
 * Choose how jobs are contained: a cgroup each when --cgroup allows and
 * the hierarchy lets us, else process groups and marks. -1 after saying
 * why --cgroup on cannot be honoured.
 */
static int
run_contain(struct run *r)
{
	struct err e;

	if (r->opts->cgroup == RUN_CGROUP_OFF) {
		say_containment(r, "cgroups off");
		return 0;
	}
	r->cgroup = cgroup_run_new(&e);
	if (!r->cgroup && r->opts->cgroup == RUN_CGROUP_ON) {
		fprintf(stderr, "ctxrun: --cgroup on: %s\n", e.msg);
		return -1;
	}
	say_containment(r, r->cgroup ? NULL : e.msg);
	return 0;
}

/*
 * Start the watchdog that stops the jobs if ctxrun is killed; -1 after
 * saying why it cannot start. Without it, the run does not start either:
 * the jobs would outlive a killed ctxrun (see DECISIONS in ctxrun(1)),
 * and what stopped it (no fd, no process left) would stop them too.
 */
static int
run_watchdog(struct run *r, int stop_signal, int64_t grace_ms)
{
	struct err e;
	pid_t pid;

	r->stop_signal = stop_signal;
	r->grace_ms = grace_ms;
	r->watchdog_fd = watchdog_start(stop_signal, grace_ms,
					r->cgroup ? cgroup_run_path(r->cgroup) : NULL,
					&pid, &e);
	if (r->watchdog_fd < 0) {
		fprintf(stderr, "ctxrun: %s\n", e.msg);
		return -1;
	}
	r->watchdog_alive = true;
	r->watchdog_pid = pid;
	reaper_watch(r->reaper, &r->watchdog_watch, pid, run_watchdog_exit_cb);
	return 0;
}

/*
 * Stop the watchers so the loop runs dry: at once, or once the dismissed
 * watchdog has been reaped, so that nothing of the run outlives it.
 */
static void
run_quiesce(struct run *r)
{
	/* A run cut short gives its output a bounded time to get out. */
	int64_t drain_ms = ctx_done(r->root) ? RUN_DRAIN_MS : -1;

	/* Like Go's deferred cancel(): releases the root's deadline timer. */
	ctx_cancel(r->root, CTX_CAUSE_CANCELLED, 0, "run finished");
	if (r->pipeline) {
		run_summary(r);
	}
	if (r->output) {
		output_finish(r->output, drain_ms);
	}
	/*
	 * Our signal handlers stay, but no longer keep the loop alive:
	 * stopping them would bring back the default actions, and a signal
	 * then would kill us before the watchdog is reaped.
	 */
	r->quiesced = true;
	for (size_t i = 0; i < SIGNAME_N_INTERRUPTS; i++) {
		ev_unref(r->loop);
	}
	watchdog_dismiss(r->watchdog_fd);
	r->watchdog_fd = -1;
	if (!r->watchdog_alive) {
		reaper_stop(r->reaper);
	}
}

/* The final sweep made progress. */
static void
run_sweep_cb(struct proc *p, enum proc_event ev, void *data)
{
	struct run *r = data;
	char d[64];

	(void)p;
	if (ev == PROC_KILLED && r->opts->verbosity >= RUN_NORMAL) {
		note(r, "ctxrun: escaped processes: no exit after %s, SIGKILL\n",
		     duration_format(r->grace_ms, d, sizeof(d)));
	}
	if (ev == PROC_DONE) {
		run_quiesce(r);
	}
}

/*
 * Every job is done. A process still below us got out of its job's reach
 * (left the group and dropped its mark): nothing of the run may outlive
 * it, so stop it as a job's leftovers are stopped, then end the run. The
 * common case costs one read of our children list.
 */
static void
run_sweep(struct run *r)
{
	struct ptree_match all = {
		.ancestor = getpid(), .any = true, .exclude = r->watchdog_pid,
	};
	long children = ptree_child_count(all.ancestor);

	if (children >= 0 && (size_t)children <= reaper_watching(r->reaper)) {
		run_quiesce(r);
		return;
	}
	r->sweep = proc_sweep(r->loop, r->reaper, &all, r->stop_signal,
			      r->grace_ms, run_sweep_cb, r);
	if (!r->sweep) {
		run_quiesce(r);
		return;
	}
	if (r->opts->verbosity >= RUN_NORMAL) {
		size_t n = proc_leftovers(r->sweep);

		note(r, "ctxrun: %zu process%s escaped %s job, %s\n", n,
		     n == 1 ? "" : "es", r->job ? "the" : "its",
		     signame_name(r->stop_signal));
	}
}

/* Release everything R holds. */
static void
run_release(struct run *r)
{
	output_job_close(r->io);
	job_free(r->job);
	pipeline_free(r->pipeline);
	proc_free(r->sweep);
	output_free(r->output);
	cgroup_run_free(r->cgroup);
	events_close(r->events, &(struct err){ 0 });
	junit_close(r->junit, &(struct err){ 0 });
	if (r->devnull >= 0) {
		close(r->devnull);
	}
	reaper_unwatch(r->reaper, &r->watchdog_watch);
	reaper_free(r->reaper);
	ctx_free(r->root);
	if (r->quiesced) {
		for (size_t i = 0; i < SIGNAME_N_INTERRUPTS; i++) {
			ev_ref(r->loop);
			ev_signal_stop(r->loop, &r->sigs[i]);
		}
	}
	ptimer_release();
	ev_loop_destroy(r->loop);
}

/*
 * Release R and die by SIGNO with its default action, as callers expect.
 * Some of them (SIGQUIT, SIGSYS, SIGXCPU, SIGXFSZ) dump core by default:
 * ctxrun dies of the signal, but no core of it is wanted, so core dumps
 * are off first, as GNU timeout does (not dumpable: no core_pattern
 * helper runs either). First of all: releasing R restores the default
 * actions, and another signal may come through from then on.
 */
static _Noreturn void
reraise(struct run *r, int signo)
{
	sigset_t set;

	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	prctl(PR_SET_DUMPABLE, 0);
	run_release(r);
	fflush(stdout);
	signal(signo, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, signo);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(signo);
	/* Not reached unless the signal could not kill us. */
	exit(128 + signo);
}

/* The signal R will re-raise as its end (SPEC §4), or 0. */
static int
interrupt_signal(const struct run *r)
{
	const struct ctx_cause *root = ctx_cause(r->root);

	if (root && root->kind == CTX_CAUSE_SIGNAL) {
		return root->value;
	}
	if (root && root->kind == CTX_CAUSE_OUTPUT) {
		return SIGPIPE;
	}
	return r->handover_signal ? r->handover_signal : r->late_signal;
}

/* Re-raise the signal R was interrupted by, if any. */
static void
reraise_if_interrupted(struct run *r)
{
	int signo = interrupt_signal(r);

	if (signo) {
		reraise(r, signo);
	}
}

/* Why the run ended as it did, for the "done" event; NULL: nothing to say. */
static const char *
run_cause(const struct run *r)
{
	const struct ctx_cause *root = ctx_cause(r->root);

	/* CTX_CAUSE_CANCELLED is run_quiesce()'s "run finished". */
	if (root && root->kind != CTX_CAUSE_CANCELLED &&
	    (root->kind != CTX_CAUSE_DEADLINE || deadline_hit(r))) {
		return root->text;
	}
	if (r->pipeline && group_failed(pipeline_group(r->pipeline))) {
		return group_error_text(pipeline_group(r->pipeline));
	}
	if (r->job && job_cause(r->job)) {
		return job_cause(r->job)->text;
	}
	return NULL;
}

/*
 * The run is over with exit STATUS (or is about to re-raise a signal):
 * write the "done" event and the JUnit report of the N results RES of the
 * suite NAME, and close both files. Comes before any re-raise, so an
 * interrupted run still leaves complete reports. A reader that does not
 * take them gets RUN_DRAIN_MS, and none after a signal that came once the
 * jobs were gone (see run_signal_cb): ctxrun's exit never waits for long.
 */
static void
reports_finish(struct run *r, const char *name,
	       const struct pipeline_result *res, size_t n, int status)
{
	int signo = interrupt_signal(r);
	int64_t drain_ms = r->late_signal ? 0 : RUN_DRAIN_MS;
	struct err e;

	if (r->events) {
		events_write(r->events, &(struct events_rec){
			.event = "done",
			.signal = signo,
			.has_status = true,
			.status = signo ? 128 + signo : status,
			.cause = run_cause(r),
		});
		events_finish(r->events, drain_ms);
	}
	if (r->junit) {
		struct junit_suite suite = {
			.name = name,
			.started_at = r->wall_start,
		};

		ev_now_update(r->loop);
		suite.duration = ev_time() - r->started_at;
		junit_write(r->junit, &suite, res, n);
		junit_finish(r->junit, drain_ms);
	}
	r->reports_draining = true;
	ev_run(r->loop, 0); /* until both are written out or given up */
	r->reports_draining = false;
	if (events_close(r->events, &e) < 0) {
		fprintf(stderr, "ctxrun: %s\n", e.msg);
	}
	r->events = NULL;
	if (junit_close(r->junit, &e) < 0) {
		fprintf(stderr, "ctxrun: %s\n", e.msg);
	}
	r->junit = NULL;
}

/* The result of the one command, as the pipeline would give it. */
static struct pipeline_result
command_result(const struct run *r)
{
	struct pipeline_result res = {
		.name = job_name(r->job),
		.outcome = job_outcome(r->job),
		.killed = job_killed(r->job),
		.exit_code = job_exit_code(r->job),
		.signal = job_signal(r->job),
		.attempts = 1,
		.started_at = r->job_started_at,
		.duration = r->job_ended_at - r->job_started_at,
	};
	const struct ctx_cause *cause = job_cause(r->job);

	/* Borrowed from the job, which outlives the reports. */
	res.cause = cause && *cause->text ? cause->text : NULL;
	res.cause_kind = cause ? cause->kind : CTX_CAUSE_NONE;
	return res;
}

/* End the reports of the one-command run with exit STATUS. */
static void
command_reports_finish(struct run *r, int status)
{
	struct pipeline_result res = { 0 };

	if (r->job) {
		res = command_result(r);
	}
	reports_finish(r, "command line", &res, r->job ? 1 : 0, status);
}

/* Print "ctxrun: NAME: " and the rest of a lifecycle line, at LEVEL. */
static void __attribute__((format(printf, 4, 5)))
say(const struct run *r, enum run_verbosity level, const char *name,
    const char *fmt, ...)
{
	va_list ap;
	char *text, *shown;

	if (r->opts->verbosity < level) {
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
	note((struct run *)r, "ctxrun: %s: %s\n", shown, text);
	free(shown);
	free(text);
}

/*
 * In raw mode, ctxrun's own lines go to stderr through stdio: remember
 * when one could not be written, unless for want of a reader (EPIPE).
 */
static void
raw_check(struct run *r)
{
	if (!r->output && ferror(stderr)) {
		r->output_lost |= errno != EPIPE;
		clearerr(stderr);
	}
}

/*
 * Write a line of ctxrun's own to stderr. With pipes, it joins the output
 * queue, so it comes after what the jobs printed before it and a blocked
 * stderr cannot stall the loop.
 */
static void
note(struct run *r, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int len;

	va_start(ap, fmt);
	if (!r->output) {
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		raw_check(r);
		return;
	}
	len = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (len < 0) {
		BUG("out of memory");
	}
	output_write(r->output, 2, text, (size_t)len);
	free(text);
}

/* Queue (or print, in raw mode) the end-of-run summary of the pipeline. */
static void
run_summary(struct run *r)
{
	size_t n, size = 0;
	const struct pipeline_result *results =
		pipeline_results(r->pipeline, &n);
	bool colour = output_colour_wanted(r->opts->colour, STDERR_FILENO);
	char *text = NULL;
	FILE *mem = r->output ? open_memstream(&text, &size) : stderr;

	if (!mem) {
		BUG("out of memory");
	}
	if (r->opts->verbosity == RUN_QUIET) {
		report_summary_lines(mem, results, n);
	} else if (colour) {
		report_summary_colour(mem, results, n);
	} else {
		report_summary(mem, results, n);
	}
	if (r->output) {
		fclose(mem);
		output_write(r->output, 2, text, size);
		free(text);
	}
	raw_check(r);
}

/* Should the job's group get the terminal (see proc.h)? */
static int
handover_tty(const struct run_opts *o)
{
	if (o->foreground || !isatty(STDIN_FILENO) ||
	    tcgetpgrp(STDIN_FILENO) != getpgrp()) {
		return -1;
	}
	return STDIN_FILENO;
}

/* Basename of PATH, borrowed from it. */
static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* Job NAME could not start (exit CODE, because of TEXT): report it. */
static void
report_not_started(struct run *r, const char *name, int code, const char *text)
{
	if (r->events) {
		events_write(r->events, &(struct events_rec){
			.event = "exit", .job = name, .attempt = 1,
			.has_status = true, .status = code, .cause = text,
		});
	}
	if (r->junit) {
		junit_set_error(r->junit, name, text);
	}
}

/* A piece of a job's output, for the JUnit report. */
static void
run_tap_cb(void *data, const char *name, int which, const char *p, size_t len)
{
	struct run *r = data;

	junit_capture(r->junit, name, which, p, len);
}

/*
 * Output could not go as asked. Closed: nobody is listening, stop the run.
 * Lost: say so (on stderr, if that still works) and let the run go on; it
 * will not exit 0. In pieces: say why, as the bytes themselves are whole.
 */
static void
run_output_cb(struct output *out, const struct output_event *ev, void *data)
{
	struct run *r = data;

	(void)out;
	switch (ev->kind) {
	case OUTPUT_EV_CLOSED:
		ctx_cancel(r->root, CTX_CAUSE_OUTPUT, 0, "output closed");
		break;
	case OUTPUT_EV_LOST:
		r->output_lost = true;
		note(r, "ctxrun: %s\n", ev->err->msg);
		break;
	case OUTPUT_EV_PIECES:
		if (r->opts->verbosity >= RUN_NORMAL) {
			note(r, "ctxrun: %s; blocks over 1 MiB are written in "
				"pieces\n", ev->err->msg);
		}
		break;
	}
}

/*
 * The exit status of a run that would exit STATUS: output lost to a write
 * error fails a run that would have succeeded, as GNU tools fail when
 * their output does; a failure status already says the run failed.
 */
static int
lost_output_status(const struct run *r, int status)
{
	return status == 0 && r->output_lost ? EXIT_INTERNAL : status;
}

/* Create R's output writer for names WIDTH wide, unless the mode is raw. */
static void
run_output_new(struct run *r, int width)
{
	const struct run_opts *o = r->opts;
	const char *gha = getenv("GITHUB_ACTIONS");

	if (o->output == OUTPUT_RAW) {
		return;
	}
	r->output = output_new(&(struct output_opts){
		.loop = r->loop,
		.mode = o->output,
		.width = width,
		.colour_out = output_colour_wanted(o->colour, STDOUT_FILENO),
		.colour_err = output_colour_wanted(o->colour, STDERR_FILENO),
		.github = gha && !strcmp(gha, "true"),
		.on_event = run_output_cb,
		.data = r,
	});
	if (r->junit) {
		output_set_tap(r->output, run_tap_cb, r);
	}
}

/* Start the one command; -1 with the exit status for the failure in *STATUS. */
static int
start_command(struct run *r, int *status)
{
	const struct run_opts *o = r->opts;
	int tty_fd = handover_tty(o);
	int fds[2] = { -1, -1 };
	struct job_spec spec = {
		.name = base_name(o->command[0]),
		.argv = o->command,
		.search_path = true,
		.grace_ms = o->grace_ms,
		.stop_signal = o->stop_signal,
		.foreground = o->foreground,
		.tty_fd = tty_fd,
		.stdin_fd = -1,
		.stdout_fd = -1,
		.stderr_fd = -1,
		.cgroup = r->cgroup,
		.on_event = run_job_cb,
		.data = r,
	};
	struct err e;
	int rc = 0;

	run_output_new(r, (int)strlen(spec.name));
	if (r->output) {
		r->io = output_job_open(r->output, spec.name, 0, fds, &e);
		if (!r->io) {
			note(r, "ctxrun: %s\n", e.msg);
			*status = EXIT_INTERNAL;
			return -1;
		}
		spec.stdout_fd = fds[0];
		spec.stderr_fd = fds[1];
	}
	r->tty_handed = tty_fd >= 0;
	r->job = job_new(&spec);
	if (job_start(r->job, r->root, r->reaper, &e) < 0) {
		int errnum = e.saved_errno;

		note(r, "ctxrun: %s\n", e.msg);
		*status = errnum == EAGAIN || errnum == ENOMEM ? EXIT_INTERNAL
							       : job_exit_code(r->job);
		report_not_started(r, job_name(r->job), job_exit_code(r->job),
				   e.msg);
		rc = -1;
	}
	/* The job has its copies; ours would keep the pipes from ending. */
	if (fds[0] >= 0) {
		close(fds[0]);
		close(fds[1]);
	}
	return rc;
}

/*
 * Say how much output the drain window dropped, if any: a note that joins
 * the queue only when stderr has room for it at once.
 */
static void
run_dropped(struct run *r)
{
	size_t n = r->output ? output_dropped(r->output) : 0;

	if (n && r->opts->verbosity >= RUN_NORMAL) {
		note(r, "ctxrun: %zu bytes of output dropped: stdout or stderr "
			"did not take them in time\n", n);
	}
}

/* Run O->command alone. */
int
run_command(const struct run_opts *o)
{
	struct run r;
	enum job_outcome outcome;
	int status = EXIT_INTERNAL;

	if (run_init(&r, o) < 0) {
		return EXIT_INTERNAL;
	}
	if (reports_open(&r) < 0 || run_contain(&r) < 0) {
		run_quiesce(&r);
		run_release(&r);
		return EXIT_INTERNAL;
	}
	if (root_deadline(&r, o->timeout_ms, "--timeout") == 0) {
		run_watchdog(&r, o->stop_signal, o->grace_ms);
	}
	if (r.watchdog_fd < 0 || start_command(&r, &status) < 0) {
		output_job_close(r.io);
		r.io = NULL;
		run_quiesce(&r);
		ev_run(r.loop, 0); /* until the watchdog is reaped */
		command_reports_finish(&r, status);
		run_release(&r);
		return status;
	}
	ev_run(r.loop, 0);
	run_dropped(&r);
	outcome = job_outcome(r.job);
	status = job_exit_code(r.job);
	if ((outcome == JOB_CANCELLED || outcome == JOB_TIMED_OUT) &&
	    job_cause(r.job)->kind == CTX_CAUSE_DEADLINE && !o->preserve_status) {
		status = EXIT_TIMEDOUT;
	}
	status = lost_output_status(&r, status);
	command_reports_finish(&r, status);
	reraise_if_interrupted(&r);
	run_release(&r);
	return status;
}

/* Width of the longest job name, for the prefix column. */
static int
name_width(const struct spec *s)
{
	int width = 0;

	for (size_t i = 0; i < s->n_jobs; i++) {
		int w = (int)strlen(s->jobs[i].name);

		width = w > width ? w : width;
	}
	return width;
}

/*
 * With --preserve-status, a run ended by its deadline exits with the status
 * of the first job (in file order) the deadline stopped, as GNU timeout
 * exits with its one command's; 124 when the deadline stopped no job.
 */
static int
first_cancelled_status(struct run *r)
{
	size_t n;
	const struct pipeline_result *res = pipeline_results(r->pipeline, &n);

	for (size_t i = 0; i < n; i++) {
		if (res[i].outcome == JOB_CANCELLED && res[i].exit_code >= 0) {
			return res[i].exit_code;
		}
	}
	return EXIT_TIMEDOUT;
}

/*
 * Did the run's deadline stop or skip a job? A deadline that passed while
 * ctxrun was stopped, after every job had ended on its own, did nothing:
 * the jobs keep their outcomes, and so does the run.
 */
static bool
deadline_hit(const struct run *r)
{
	const struct ctx_cause *root = ctx_cause(r->root);
	const struct pipeline_result *res;
	size_t n;

	if (!root || root->kind != CTX_CAUSE_DEADLINE) {
		return false;
	}
	if (!r->pipeline) {
		return r->job && job_cause(r->job);
	}
	res = pipeline_results(r->pipeline, &n);
	for (size_t i = 0; i < n; i++) {
		if (res[i].outcome == JOB_CANCELLED ||
		    res[i].outcome == JOB_SKIPPED) {
			return true;
		}
	}
	return false;
}

/* The exit status of a finished pipeline run (SPEC §4). */
static int
pipeline_status(struct run *r)
{
	const struct group *g = pipeline_group(r->pipeline);

	if (group_failed(g)) {
		if (group_error_outcome(g) == JOB_TIMED_OUT &&
		    !r->opts->preserve_status) {
			return EXIT_TIMEDOUT;
		}
		return group_error_code(g);
	}
	if (deadline_hit(r)) {
		return r->opts->preserve_status ? first_cancelled_status(r)
						: EXIT_TIMEDOUT;
	}
	return 0;
}

/* The longest grace period of S's jobs: the watchdog gives them all that. */
static int64_t
longest_grace(const struct spec *s)
{
	int64_t grace = s->grace_ms;

	for (size_t i = 0; i < s->n_jobs; i++) {
		grace = s->jobs[i].grace_ms > grace ? s->jobs[i].grace_ms : grace;
	}
	return grace;
}

/* Run the pipeline S. */
int
run_pipeline(const struct spec *s, const struct run_opts *o)
{
	struct run r;
	char label[300];
	const struct pipeline_result *results;
	int status;
	size_t n;

	if (run_init(&r, o) < 0) {
		return EXIT_INTERNAL;
	}
	/* Name where the deadline came from: the command line wins. */
	if (o->timeout_ms) {
		snprintf(label, sizeof(label), "--timeout");
	} else {
		snprintf(label, sizeof(label), "timeout in %s", s->file);
	}
	if (reports_open(&r) < 0 || run_contain(&r) < 0 ||
	    root_deadline(&r, s->timeout_ms, label) < 0) {
		run_quiesce(&r);
		run_release(&r);
		return EXIT_INTERNAL;
	}
	if (run_watchdog(&r, s->stop_signal, longest_grace(s)) < 0) {
		run_quiesce(&r);
		reports_finish(&r, s->file, NULL, 0, EXIT_INTERNAL);
		run_release(&r);
		return EXIT_INTERNAL;
	}
	r.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	run_output_new(&r, name_width(s));
	r.pipeline = pipeline_new(&(struct pipeline_opts){
		.spec = s,
		.root = r.root,
		.reaper = r.reaper,
		.output = r.output,
		.stdin_fd = r.devnull,
		.fail_fast = s->fail_fast,
		.jobs_limit = s->jobs_limit,
		.cgroup = r.cgroup,
		.on_event = run_pipeline_cb,
		.data = &r,
	});
	pipeline_start(r.pipeline);
	ev_run(r.loop, 0);
	run_dropped(&r);
	results = pipeline_results(r.pipeline, &n);
	status = lost_output_status(&r, pipeline_status(&r));
	reports_finish(&r, s->file, results, n, status);
	reraise_if_interrupted(&r);
	run_release(&r);
	return status;
}

/* An interrupting signal (SIGINT, SIGTERM, SIGUSR1...) reached ctxrun. */
static void
run_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct run *r = w->data;

	(void)loop;
	(void)revents;
	if (r->quiesced) {
		/* Nothing left to stop: give up on the output, die by it. */
		r->late_signal = r->late_signal ? r->late_signal : w->signum;
		if (r->output) {
			output_finish(r->output, 0);
		}
		if (r->reports_draining) {
			events_finish(r->events, 0);
			junit_finish(r->junit, 0);
		}
		return;
	}
	if (r->interrupts++ == 0) {
		ctx_cancel(r->root, CTX_CAUSE_SIGNAL, w->signum, "interrupted by %s",
			   signame_name(w->signum));
		return;
	}
	/*
	 * "You insist": a second signal skips what is left of the grace.
	 * Said once: a third has nothing left to skip.
	 */
	if (r->interrupts == 2 && r->opts->verbosity >= RUN_NORMAL) {
		note(r, "ctxrun: %s again, SIGKILL now\n", signame_name(w->signum));
	}
	if (r->job) {
		job_kill(r->job);
	}
	if (r->pipeline) {
		pipeline_kill(r->pipeline);
	}
	if (r->sweep) {
		proc_kill(r->sweep);
	}
}

/* Report how a leader ended, at LEVEL. */
static void
say_exit(struct run *r, enum run_verbosity level, const char *name, int status)
{
	if (WIFSIGNALED(status)) {
		say(r, level, name, "killed by %s", signame_name(WTERMSIG(status)));
	} else {
		say(r, level, name, "exited with status %d", WEXITSTATUS(status));
	}
}

/*
 * Report a job event. ALONE is one-command mode, which keeps quiet like GNU
 * timeout: only the stop signal is news there without -v.
 */
static void
say_job_event(struct run *r, const char *name, const struct job_event *ev,
	      bool alone)
{
	enum run_verbosity level = alone ? RUN_VERBOSE : RUN_NORMAL;
	char d[64];

	switch (ev->kind) {
	case JOB_EV_START:
		say(r, RUN_VERBOSE, name, "started (pid %d)", (int)ev->pid);
		break;
	case JOB_EV_SIGNAL:
		/* A sibling's failure: say it is a cancellation, not ours. */
		say(r, RUN_NORMAL, name, "%s (%s%s)", signame_name(ev->signal),
		    ev->cause_kind == CTX_CAUSE_FAILED ? "cancelled: " : "",
		    ev->cause);
		break;
	case JOB_EV_KILL:
		say(r, level, name, "no exit after %s, SIGKILL",
		    duration_format(ev->grace_ms, d, sizeof(d)));
		break;
	case JOB_EV_EXIT:
		say_exit(r, level, name, ev->status);
		break;
	case JOB_EV_LEFTOVERS:
		say(r, RUN_VERBOSE, name, "%zu leftover process%s, %s (leader exited)",
		    ev->count, ev->count == 1 ? "" : "es", signame_name(ev->signal));
		break;
	case JOB_EV_SUSPENDED:
	case JOB_EV_DONE:
		break;
	}
}

/* Something happened to the one command. */
static void
run_job_cb(struct job *j, const struct job_event *ev, void *data)
{
	struct run *r = data;

	if (ev->kind == JOB_EV_EXIT) {
		output_job_flush(r->io);
	}
	if (ev->kind == JOB_EV_DONE) {
		output_job_close(r->io);
		r->io = NULL;
	}
	say_job_event(r, job_name(j), ev, true);
	if (r->events) {
		events_job(r->events, job_name(j), 1, ev);
	}
	switch (ev->kind) {
	case JOB_EV_START:
		r->job_started_at = ev_time();
		break;
	case JOB_EV_EXIT:
		/*
		 * A job holding the terminal gets Ctrl-C instead of us. Like a
		 * shell, take its death by the terminal's signal as our own
		 * interruption.
		 */
		if (r->tty_handed && WIFSIGNALED(ev->status) && !ctx_done(r->root) &&
		    (WTERMSIG(ev->status) == SIGINT || WTERMSIG(ev->status) == SIGQUIT)) {
			r->handover_signal = WTERMSIG(ev->status);
		}
		break;
	case JOB_EV_SUSPENDED:
		/*
		 * Ctrl-Z reached the job, not us: stop ourselves so the shell
		 * sees a stopped job and takes the terminal; on `fg` or `bg`
		 * we are continued and pass that on.
		 */
		raise(SIGTSTP);
		job_resume(j);
		break;
	case JOB_EV_DONE:
		r->job_ended_at = ev_time();
		run_sweep(r);
		break;
	default:
		break;
	}
}

/* Put a pipeline event into the --events log and the --junit report. */
static void
report_pipeline_event(struct run *r, const struct pipeline *p,
		      const struct pipeline_event *ev)
{
	struct events_rec rec = { .job = ev->name, .cause = ev->text };
	size_t n;

	switch (ev->kind) {
	case PL_EV_JOB:
		if (r->events) {
			events_job(r->events, ev->name, ev->attempt, ev->job_ev);
		}
		return;
	case PL_EV_ERROR:
		report_not_started(r, ev->name,
				   pipeline_results(p, &n)[ev->job].exit_code,
				   ev->text);
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
	case PL_EV_DONE:
		return; /* "done" comes with the exit status, at the end */
	}
	if (r->events) {
		events_write(r->events, &rec);
	}
}

/* Something happened in the pipeline. */
static void
run_pipeline_cb(struct pipeline *p, const struct pipeline_event *ev, void *data)
{
	struct run *r = data;
	char d[64];

	if (r->events || r->junit) {
		report_pipeline_event(r, p, ev);
	}
	switch (ev->kind) {
	case PL_EV_JOB:
		say_job_event(r, ev->name, ev->job_ev, false);
		break;
	case PL_EV_ERROR:
		/* Printed whatever the verbosity: the job could not even start. */
		say(r, RUN_QUIET, ev->name, "%s", ev->text);
		break;
	case PL_EV_SKIP:
		if (ev->attempt) {
			say(r, RUN_NORMAL, ev->name, "attempt %d skipped (%s)",
			    ev->attempt + 1, ev->text);
		} else {
			say(r, RUN_NORMAL, ev->name, "skipped (%s)", ev->text);
		}
		break;
	case PL_EV_RETRY:
		say(r, RUN_NORMAL, ev->name, "attempt %d failed, retrying in %s",
		    ev->attempt, duration_format(ev->delay_ms, d, sizeof(d)));
		break;
	case PL_EV_DONE:
		run_sweep(r);
		break;
	}
}
