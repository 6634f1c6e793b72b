/* SPDX-License-Identifier: MIT */
#include "ctxrun/run.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ctxrun/cgroup.h"
#include "ctxrun/ctx.h"
#include "ctxrun/duration.h"
#include "ctxrun/escape.h"
#include "ctxrun/exit.h"
#include "ctxrun/job.h"
#include "ctxrun/live.h"
#include "ctxrun/logdir.h"
#include "ctxrun/link.h"
#include "ctxrun/output.h"
#include "ctxrun/pipeline.h"
#include "ctxrun/proc.h"
#include "ctxrun/ptimer.h"
#include "ctxrun/ptree.h"
#include "ctxrun/reaper.h"
#include "ctxrun/remote.h"
#include "ctxrun/reporter.h"
#include "ctxrun/signame.h"
#include "ctxrun/spawn.h"
#include "ctxrun/util.h"
#include "ctxrun/watchdog.h"

/*
 * ctxrun's own signals are libev signal watchers, so a handler does nothing
 * but wake the loop (skalibs' self-pipe, done by libev). The first one
 * (any of signame_interrupts) cancels the root context; a second skips
 * what is left of every grace period. A run ends when its pipeline is
 * done: the watchers are stopped and the loop runs dry, so ev_run()
 * returning means nothing is left to wait for. One command is a pipeline
 * of one job, as errgroup takes one task as one Go().
 */

/* After a cancelled run, how long queued output may take to get out. */
#define RUN_DRAIN_MS 1000

/* One run: the loop and everything hanging from it. */
struct run {
	const struct run_opts *opts;
	const struct spec *spec;
	struct ev_loop *loop;
	struct ctx *root;
	struct reaper *reaper;
	struct reporter *rep;      /* lines, --events, --junit */
	struct pipeline *pipeline;
	struct output *output;     /* NULL: raw, jobs write to our fds */
	struct logdir *logdir;     /* --log-dir, or NULL */
	struct live *live;         /* the live region on a terminal, or NULL */
	ev_tstamp started_at;      /* ev_now() when the loop started */
	int devnull;
	ev_signal sigs[SIGNAME_N_TERMINATING + 1]; /* and GNU's -s signal */
	size_t n_sigs;
	int interrupts;
	int handover_signal; /* terminal signal that killed a tty-owning job */
	bool tty_handed;     /* the one command's group has the terminal */
	int watchdog_fd;     /* -1: none */
	bool watchdog_alive; /* not reaped through the reaper yet */
	pid_t watchdog_pid;
	struct reaper_watch watchdog_watch;
	int stop_signal;     /* the run's, for the final sweep */
	int64_t grace_ms;
	struct proc *sweep;  /* stopping what escaped its job, or NULL */
	struct cgroup_run *cgroup; /* a cgroup per job below it, or NULL */
	struct link *link;   /* run_opts.remote: the supervisor, or NULL */
	bool link_lost;      /* it went: the cause of the run's end */
	bool quiesced;       /* every job done: waiting for output, watchdog */
	int late_signal;     /* the first stop signal after that */
	/* GNU timeout's manners (run_opts.gnu): */
	struct ctx_ear timeout_ear; /* on the root, for its deadline */
	bool gnu_stopping;   /* a signal was passed on, or the time ran out */
};

static void run_signal_cb(struct ev_loop *loop, ev_signal *w, int revents);
static void run_link_lost_cb(struct link *l, void *data);
static void run_gnu_signal(struct run *r, int signo);
static void run_gnu_deadline_cb(struct ctx_ear *ear,
				const struct ctx_cause *cause);
static void run_pipeline_cb(struct pipeline *p, const struct pipeline_event *ev,
			    void *data);

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
	_exit(EXIT_CANCELED);
}

/*
 * GNU's timeout says it sent a signal that came while the command ran,
 * even when the loop hears the command's exit first (libev reaps at a
 * higher priority): a handler notes which came before the exit was
 * heard (run_alone_job() marks that), and run_gnu_signal() asks.
 */
static volatile sig_atomic_t run_exit_heard;
static volatile sig_atomic_t run_came_early[NSIG];

/* Signal SIGNO came: note whether the exit was heard yet, wake the loop. */
static void
run_feed(int signo)
{
	if (!run_exit_heard) {
		run_came_early[signo] = 1;
	}
	ev_feed_signal(signo);
}

/* A signal ctxrun watches in GNU timeout's manners came. */
static void
run_gnu_handler(int signo, siginfo_t *si, void *context)
{
	(void)si;
	(void)context;
	run_feed(signo);
}

/*
 * SIGXFSZ interrupts a run when someone sends it; the kernel sends it too,
 * to ctxrun itself, when a spill file or a report meets a file size limit
 * (ulimit -f), and that is only a failed write (EFBIG), which its writer
 * reports. So does SIGPIPE, which GNU timeout's manners handle, for a
 * write to a closed pipe (EPIPE: `timeout -v` into `| :`). The kernel's
 * come as SI_USER from our own pid.
 */
static void
run_self_handler(int signo, siginfo_t *si, void *context)
{
	(void)context;
	if (si->si_code == SI_USER && si->si_pid == getpid()) {
		return;
	}
	run_feed(signo);
}

/*
 * Does libev catch SIGNO with a handler? Not when it reads its signals
 * from a signalfd (EVFLAG_SIGNALFD, which LIBEV_FLAGS may ask for): it
 * keeps them blocked then, and one unblocked would never reach it.
 */
static bool
run_signal_handled(int signo)
{
	struct sigaction sa;

	return sigaction(signo, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
	       sa.sa_handler != SIG_IGN;
}

/*
 * GNU timeout passes on SIGSEGV and the other fault signals when someone
 * sends them (si_code <= 0: kill, sigqueue, tgkill). A real fault of
 * ctxrun's own must not be taken for one, which would return to the
 * faulting instruction forever: back to the default action, and the
 * fault comes again and ends us (the watchdog stops the jobs).
 */
static void
run_fault_handler(int signo, siginfo_t *si, void *context)
{
	(void)context;
	if (si->si_code > 0) {
		signal(signo, SIG_DFL);
		return;
	}
	run_feed(signo);
}

/* Is SIGNO one of those that report a fault of the process itself? */
static bool
fault_signal(int signo)
{
	return signo == SIGILL || signo == SIGTRAP || signo == SIGABRT ||
	       signo == SIGBUS || signo == SIGFPE || signo == SIGSEGV;
}

/*
 * Watch SIGNO (add it to SET, to unblock), over libev's handler with one
 * of ours where the kernel sends it too; libev's watcher stays fed by it.
 */
static void
run_watch_signal(struct run *r, int signo, sigset_t *set)
{
	ev_signal *w = &r->sigs[r->n_sigs++];
	void (*handler)(int, siginfo_t *, void *) = NULL;

	ev_signal_init(w, run_signal_cb, signo);
	w->data = r;
	ev_signal_start(r->loop, w);
	if (!run_signal_handled(signo)) {
		return; /* libev reads it from a signalfd: blocked, and ours */
	}
	sigaddset(set, signo);
	if (signo == SIGXFSZ || signo == SIGPIPE) {
		handler = run_self_handler;
	} else if (fault_signal(signo)) {
		handler = run_fault_handler;
	} else if (r->opts->gnu) {
		handler = run_gnu_handler;
	}
	if (handler) {
		sigaction(signo, &(struct sigaction){
			.sa_sigaction = handler,
			.sa_flags = SA_SIGINFO | SA_RESTART,
		}, NULL);
	}
}

/*
 * Take ctxrun's signals back from whatever state its parent left them in
 * (ctxrun(1), SIGNALS). A handler for each interrupting signal, which also
 * overrides an inherited SIG_IGN (SIGPIPE's and SIGXFSZ's let the kernel's
 * own pass: EPIPE and EFBIG say the same); and those, with SIGCHLD,
 * unblocked: libev installs its handlers but
 * leaves the mask alone, and a blocked SIGCHLD would leave every exit
 * unheard (GNU timeout's unblock_signal). With a signalfd, libev blocks
 * them itself, and they stay so. Signals ctxrun does not use
 * stay as they came; jobs start with an empty mask anyway (spawn.h).
 * GNU timeout's manners (run.h) watch each of signame_terminating and
 * the stop signal instead, and leave those ignored at start ignored.
 */
static void
run_signals_start(struct run *r)
{
	const struct run_gnu *gnu = r->opts->gnu;
	const int *list = gnu ? signame_terminating : signame_interrupts;
	size_t n = gnu ? SIGNAME_N_TERMINATING : SIGNAME_N_INTERRUPTS;
	int stop = r->spec->stop_signal;
	bool stop_listed = false;
	sigset_t set;

	sigemptyset(&set);
	if (run_signal_handled(SIGCHLD)) {
		sigaddset(&set, SIGCHLD);
	} else {
		/* Ignored, the kernel would reap every child unheard. */
		signal(SIGCHLD, SIG_DFL);
	}
	for (size_t i = 0; i < n; i++) {
		stop_listed |= list[i] == stop;
		if (!gnu || !sigismember(&gnu->ignored, list[i])) {
			run_watch_signal(r, list[i], &set);
		}
	}
	/* GNU's timeout handles the signal it sends, whatever it is. */
	if (gnu && !stop_listed && stop > 0 && stop != SIGKILL &&
	    stop != SIGSTOP && stop != SIGCHLD) {
		run_watch_signal(r, stop, &set);
	}
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/*
 * Set up the loop, the root context and ctxrun's own signals for the run
 * of S; -1 after saying why the loop cannot start (nothing to release
 * then).
 */
static int
run_init(struct run *r, const struct spec *s, const struct run_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->opts = o;
	r->spec = s;
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
	/* Orphans of a job are re-parented to us, not to init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (o->gnu) {
		spawn_keep_ignored(&o->gnu->ignored);
	}
	ev_now_update(r->loop);
	r->started_at = ev_now(r->loop);
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
	/* GNU's timeout knows no deadline but its own. */
	const char *inherited = r->opts->gnu ? NULL : getenv("CTXRUN_DEADLINE");

	if (timeout_ms) {
		char d[64];
		char cause[400];

		ev_tstamp sent = r->opts->remote_sent_at;

		duration_format(timeout_ms, d, sizeof(d));
		snprintf(cause, sizeof(cause), "deadline exceeded (%s %s)", label, d);
		ev_now_update(r->loop);
		/*
		 * The far side counts from when the time left was measured;
		 * here, from ctxrun's start (ctxrun(1), -t), not from after
		 * the cgroups are made: that time is the run's too.
		 */
		if (sent && remote_clocks_agree(sent, ev_now(r->loop))) {
			ctx_set_deadline_wall(r->root,
					      sent + (ev_tstamp)timeout_ms / 1000.,
					      cause);
		} else {
			ctx_set_deadline(r->root,
					 r->started_at +
						 (ev_tstamp)timeout_ms / 1000.,
					 cause);
		}
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
			reporter_note(r->rep, "ctxrun: invalid CTXRUN_DEADLINE "
					      "'%s': expected Unix time in "
					      "seconds\n",
				      inherited);
			return -1;
		}
		ctx_set_deadline_wall(r->root, wall,
				      "deadline exceeded (inherited CTXRUN_DEADLINE)");
	}
	return 0;
}

/* Parse a --cgroup mode. */
int
run_cgroup_parse(const char *text, enum run_cgroup *mode)
{
	static const char *const modes[] = {
		[RUN_CGROUP_AUTO] = "auto", [RUN_CGROUP_ON] = "on",
		[RUN_CGROUP_OFF] = "off",
	};

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		if (!strcmp(text, modes[i])) {
			*mode = (enum run_cgroup)i;
			return 0;
		}
	}
	return -1;
}

/*
 * Open the --events and --junit files before anything runs; -1 after
 * printing why one cannot be opened (ctxrun's own failure, exit 125).
 */
static int
run_reporter_new(struct run *r)
{
	const struct run_opts *o = r->opts;
	struct err e;

	r->rep = reporter_new(&(struct reporter_opts){
		.loop = r->loop,
		.verbosity = o->verbosity,
		.colour = o->colour,
		.alone = o->alone,
		.events_path = o->events_path,
		.junit_path = o->junit_path,
		.suite = r->spec->file,
		.logdir = r->logdir,
		.failure_lines = o->failure_lines,
		.n_jobs = r->spec->n_jobs,
		.gnu = o->gnu ? &o->gnu->words : NULL,
	}, &e);
	if (!r->rep) {
		fprintf(stderr, "ctxrun: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* Open the --log-dir directory; -1 after saying why it cannot be. */
static int
run_logdir_open(struct run *r)
{
	struct err e;

	if (r->opts->log_dir &&
	    !(r->logdir = logdir_open(r->opts->log_dir, &e))) {
		char *shown = escape_term_dup(e.msg);

		fprintf(stderr, "ctxrun: %s\n", shown);
		free(shown);
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

	if (!reporter_says(r->rep, VERBOSITY_VERBOSE)) {
		return;
	}
	if (r->cgroup && ptree_proc_ours()) {
		reporter_note(r->rep, "ctxrun: containment: cgroup %s\n",
			      cgroup_run_path(r->cgroup));
	} else if (r->cgroup) {
		reporter_note(r->rep, "ctxrun: containment: cgroup %s "
				      "(%s: no marks)\n",
			      cgroup_run_path(r->cgroup), foreign);
	} else if (!ptree_proc_ours()) {
		reporter_note(r->rep, "ctxrun: containment: %s: process "
				      "groups only (%s)\n",
			      foreign, why_no_cgroup);
	} else {
		reporter_note(r->rep, "ctxrun: containment: process groups "
				      "and marks (%s)\n",
			      why_no_cgroup);
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
		reporter_note(r->rep, "ctxrun: --cgroup on: %s\n", e.msg);
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
		reporter_note(r->rep, "ctxrun: %s\n", e.msg);
		return -1;
	}
	r->watchdog_alive = true;
	r->watchdog_pid = pid;
	reaper_watch(r->reaper, &r->watchdog_watch, pid, run_watchdog_exit_cb);
	return 0;
}

/*
 * Stop the watchers so the loop runs dry. The dismissed watchdog is not
 * waited for here but at the end of run_release(): it exits while we
 * write the reports and release the rest (its exit, and the round trip
 * of its SIGCHLD through the loop, were a third of a millisecond of the
 * time from a deadline to our exit).
 */
static void
run_quiesce(struct run *r)
{
	/* A run cut short gives its output a bounded time to get out. */
	int64_t drain_ms = ctx_done(r->root) ? RUN_DRAIN_MS : -1;
	size_t n;

	/* Like Go's deferred cancel(): releases the root's deadline timer. */
	ctx_cancel(r->root, CTX_CAUSE_CANCELLED, 0, "run finished");
	live_finish(r->live);
	link_stop(r->link);
	if (r->pipeline && !r->opts->alone) {
		const struct pipeline_result *res =
			pipeline_results(r->pipeline, &n);

		reporter_summary(r->rep, res, n);
		reporter_failures(r->rep, res, n);
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
	for (size_t i = 0; i < r->n_sigs; i++) {
		ev_unref(r->loop);
	}
	watchdog_dismiss(r->watchdog_fd);
	r->watchdog_fd = -1;
	reaper_unwatch(r->reaper, &r->watchdog_watch);
	reaper_stop(r->reaper);
}

/* The final sweep made progress. */
static void
run_sweep_cb(struct proc *p, enum proc_event ev, void *data)
{
	struct run *r = data;
	char d[64];

	(void)p;
	if (ev == PROC_KILLED && reporter_says(r->rep, VERBOSITY_NORMAL)) {
		reporter_note(r->rep, "ctxrun: escaped processes: no exit "
				      "after %s, SIGKILL\n",
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
	if (reporter_says(r->rep, VERBOSITY_NORMAL)) {
		size_t n = proc_leftovers(r->sweep);

		reporter_note(r->rep, "ctxrun: %zu process%s escaped %s job, "
				      "%s\n",
			      n, n == 1 ? "" : "es",
			      r->opts->alone ? "the" : "its",
			      signame_name(r->stop_signal));
	}
}

/* Release everything R holds. */
static void
run_release(struct run *r)
{
	pipeline_free(r->pipeline);
	link_free(r->link);
	proc_free(r->sweep);
	output_free(r->output);
	live_free(r->live);
	cgroup_run_free(r->cgroup);
	reporter_free(r->rep);
	logdir_free(r->logdir);
	if (r->devnull >= 0) {
		close(r->devnull);
	}
	reaper_unwatch(r->reaper, &r->watchdog_watch);
	reaper_free(r->reaper);
	ctx_unlisten(&r->timeout_ear);
	ctx_free(r->root);
	if (r->quiesced) {
		for (size_t i = 0; i < r->n_sigs; i++) {
			ev_ref(r->loop);
			ev_signal_stop(r->loop, &r->sigs[i]);
		}
	}
	ptimer_release();
	ev_loop_destroy(r->loop);
	if (r->watchdog_alive) {
		watchdog_dismiss(r->watchdog_fd); /* done if quiesced */
		watchdog_wait(r->watchdog_pid);
	}
	/*
	 * A process of a job that died as the run ended may have come to
	 * us, a subreaper, as a zombie the loop never reaped: taking it
	 * along would hand it to whoever reaps for our parent. Everything
	 * is gone by now, so no wait here can block.
	 */
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
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

/* The signal R will re-raise as its end (ctxrun(1), EXIT STATUS), or 0. */
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

	if (!root || root->kind != CTX_CAUSE_DEADLINE || !r->pipeline) {
		return false;
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
	/* A command's exit status says it all; a pipeline names the job. */
	if (r->pipeline && !r->opts->alone &&
	    group_failed(pipeline_group(r->pipeline))) {
		return group_error_text(pipeline_group(r->pipeline));
	}
	return NULL;
}

/*
 * The run is over with exit STATUS (or is about to re-raise a signal):
 * queue the last event and the JUnit report, and give a reader that does
 * not take them RUN_DRAIN_MS, none after a signal that came once the jobs
 * were gone (see run_signal_cb): ctxrun's exit never waits for long.
 */
static void
run_reports_finish(struct run *r, int status)
{
	const struct pipeline_result *res = NULL;
	size_t n = 0;

	if (r->pipeline) {
		res = pipeline_results(r->pipeline, &n);
	}
	reporter_finish(r->rep, res, n, &(struct reporter_end){
		.status = status,
		.signal = interrupt_signal(r),
		.cause = run_cause(r),
		.drain_ms = r->late_signal ? 0 : RUN_DRAIN_MS,
	});
	ev_run(r->loop, 0); /* until both are written out or given up */
}

/*
 * Output could not go as asked. Closed: nobody is listening, stop the run;
 * the rest is the reporter's to tell.
 */
static void
run_output_cb(struct output *out, const struct output_event *ev, void *data)
{
	struct run *r = data;

	(void)out;
	if (ev->kind == OUTPUT_EV_CLOSED) {
		ctx_cancel(r->root, CTX_CAUSE_OUTPUT, 0, "output closed");
		return;
	}
	reporter_output_event(r->rep, ev);
}

/*
 * The exit status of a run that would exit STATUS: output lost to a write
 * error fails a run that would have succeeded, as GNU tools fail when
 * their output does; a failure status already says the run failed.
 */
static int
lost_output_status(const struct run *r, int status)
{
	return status == 0 && reporter_output_lost(r->rep) ? EXIT_CANCELED
							   : status;
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
 * Start the live view when --progress asks for it (live_wanted()): in a
 * group or pipeline run whose output passes through ctxrun, and under
 * auto not with -q (ctxrun(1), TERMINAL).
 */
static void
run_live_new(struct run *r)
{
	const struct run_opts *o = r->opts;

	if (o->alone || !r->output || !live_wanted(o->progress) ||
	    (o->progress == LIVE_AUTO && o->verbosity == VERBOSITY_QUIET)) {
		return;
	}
	r->live = live_new(&(struct live_opts){
		.loop = r->loop,
		.output = r->output,
		.spec = r->spec,
		.colour = output_colour_wanted(o->colour, STDERR_FILENO),
		.started_at = r->started_at,
	});
}

/* Create R's output writer, unless the mode is raw. */
static void
run_output_new(struct run *r)
{
	const struct run_opts *o = r->opts;
	const char *gha = getenv("GITHUB_ACTIONS");

	if (o->output == OUTPUT_RAW) {
		return;
	}
	r->output = output_new(&(struct output_opts){
		.loop = r->loop,
		.mode = o->output,
		.width = name_width(r->spec),
		.colour_out = output_colour_wanted(o->colour, STDOUT_FILENO),
		.colour_err = output_colour_wanted(o->colour, STDERR_FILENO),
		.github = gha && !strcmp(gha, "true"),
		.timestamps = o->timestamps,
		.logdir = r->logdir,
		.started_at = r->started_at,
		.on_event = run_output_cb,
		.data = r,
	});
	reporter_set_output(r->rep, r->output);
	run_live_new(r);
}

/*
 * Say how much output the drain window dropped, if any: a note that joins
 * the queue only when stderr has room for it at once.
 */
static void
run_dropped(struct run *r)
{
	size_t n = r->output ? output_dropped(r->output) : 0;

	if (n && reporter_says(r->rep, VERBOSITY_NORMAL)) {
		reporter_note(r->rep, "ctxrun: %zu bytes of output dropped: "
				      "stdout or stderr did not take them in "
				      "time\n",
			      n);
		/*
		 * The loop runs again for the reports: a stuck stderr must
		 * not hold it, so what it did not take now is dropped.
		 */
		output_finish(r->output, 0);
	}
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

/* The exit status of a finished run (ctxrun(1), EXIT STATUS). */
static int
run_status(struct run *r)
{
	const struct group *g = pipeline_group(r->pipeline);
	size_t n;

	if (r->link_lost) {
		/* Nobody may hear it; if someone does, the command's own. */
		int code = pipeline_results(r->pipeline, &n)->exit_code;

		return code >= 0 ? code : EXIT_CANCELED;
	}

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

/*
 * The longest grace period of S's jobs: the watchdog gives them all that.
 * DURATION_FOREVER is the longest of all.
 */
static int64_t
longest_grace(const struct spec *s)
{
	int64_t grace = s->grace_ms;

	for (size_t i = 0; i < s->n_jobs && grace != DURATION_FOREVER; i++) {
		int64_t g = s->jobs[i].grace_ms;

		grace = g > grace || g == DURATION_FOREVER ? g : grace;
	}
	return grace;
}

/*
 * Should the one command's group get the terminal (see proc.h)? Only when
 * ctxrun has it: stdin is a terminal whose foreground group is ours.
 */
static bool
give_tty(const struct run_opts *o)
{
	return o->alone && !o->foreground && !o->remote &&
	       isatty(STDIN_FILENO) &&
	       tcgetpgrp(STDIN_FILENO) == getpgrp();
}

/*
 * Everything before the first job: the reports, the containment, the
 * deadline, the watchdog. -1 after saying why the run cannot start.
 */
static int
run_prepare(struct run *r)
{
	const struct spec *s = r->spec;
	char label[300];

	if (run_logdir_open(r) < 0 || run_reporter_new(r) < 0) {
		return -1;
	}
	/* Name where the deadline came from: the command line wins. */
	if (r->opts->timeout_given) {
		snprintf(label, sizeof(label), "--timeout");
	} else {
		snprintf(label, sizeof(label), "timeout in %s", s->file);
	}
	if (run_contain(r) < 0 || root_deadline(r, s->timeout_ms, label) < 0 ||
	    run_watchdog(r, s->stop_signal, longest_grace(s)) < 0) {
		return -1;
	}
	if (r->opts->gnu) {
		ctx_listen(r->root, &r->timeout_ear, run_gnu_deadline_cb);
	}
	if (!r->opts->alone || r->opts->remote) {
		r->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (r->opts->remote) {
		r->link = link_start(r->loop, &(struct link_opts){
			.on_lost = run_link_lost_cb,
			.data = r,
		});
	}
	run_output_new(r);
	return 0;
}

/*
 * GNU timeout's exit status (run.h), or in *SIGNO the signal to die by
 * instead. It timed out when the deadline or SIGALRM came while the
 * command ran (its context was done before its leader exited), or when
 * the KILL after -k killed it (GNU's -k alarm is a SIGALRM too).
 */
static int
run_gnu_status(const struct run *r, int *signo)
{
	size_t n;
	const struct pipeline_result *res = pipeline_results(r->pipeline, &n);
	const struct ctx_cause *root = ctx_cause(r->root);
	bool deadline = root && root->kind == CTX_CAUSE_DEADLINE;
	bool by_kill = res->killed && res->signal == SIGKILL;
	bool stopped = res->outcome == JOB_TIMED_OUT ||
		       res->outcome == JOB_CANCELLED;
	bool timed_out = by_kill || (deadline && stopped);

	*signo = 0;
	if (res->exit_code < 0) {
		/* It never started: the time ran out, or a signal came. */
		*signo = deadline ? 0 : interrupt_signal(r);
		return deadline ? EXIT_TIMEDOUT : EXIT_CANCELED;
	}
	/* GNU's KILL goes to its own process group too: it dies of it. */
	if (by_kill && !r->opts->foreground) {
		*signo = SIGKILL;
		return 128 + SIGKILL;
	}
	if (res->signal && !timed_out) {
		*signo = res->signal;
		return 128 + res->signal;
	}
	if (timed_out && !by_kill && !r->opts->preserve_status) {
		return EXIT_TIMEDOUT;
	}
	return res->exit_code;
}

/* The run of GNU timeout's manners is over: exit as its status says. */
static int
run_gnu_finish(struct run *r)
{
	int signo;
	int status = run_gnu_status(r, &signo);

	if (signo) {
		reraise(r, signo);
	}
	run_release(r);
	return status;
}

/*
 * The time ran out: the deadline passed, or SIGALRM came. The first time
 * (GNU's first alarm) the job's context stops it, as in any run; after a
 * signal was passed on, or again, GNU's timeout sends the signal again,
 * or SIGKILL at once when -k's is on its way.
 */
static void
run_gnu_timed_out(struct run *r)
{
	bool first = !r->gnu_stopping;

	r->gnu_stopping = true;
	if (first) {
		return;
	}
	pipeline_forward(r->pipeline, r->spec->grace_ms != DURATION_FOREVER
					      ? SIGKILL
					      : r->spec->stop_signal);
}

/* The root is done: if by its deadline, the time ran out. */
static void
run_gnu_deadline_cb(struct ctx_ear *ear, const struct ctx_cause *cause)
{
	struct run *r = container_of(ear, struct run, timeout_ear);

	if (cause->kind == CTX_CAUSE_DEADLINE) {
		run_gnu_timed_out(r);
	}
}

/* Has a job of R started yet? */
static bool
run_started(const struct run *r)
{
	size_t n;
	const struct pipeline_result *res = pipeline_results(r->pipeline, &n);

	for (size_t i = 0; i < n; i++) {
		if (res[i].attempts) {
			return true;
		}
	}
	return false;
}

/*
 * A signal reached ctxrun with GNU timeout's manners (run.h): SIGALRM is
 * the deadline, now; any other is passed on to the command as itself.
 * Before the command started it cancels the run, as ctxrun's own do.
 */
static void
run_gnu_signal(struct run *r, int signo)
{
	if (run_came_early[signo]) {
		run_came_early[signo] = 0;
		reporter_gnu_sent_before_exit(r->rep, signo);
	}
	if (signo == SIGALRM) {
		if (!ctx_done(r->root)) {
			ctx_cancel(r->root, CTX_CAUSE_DEADLINE, 0,
				   "deadline exceeded (SIGALRM)");
		} else {
			run_gnu_timed_out(r);
		}
		return;
	}
	if (r->pipeline && pipeline_forward(r->pipeline, signo)) {
		r->gnu_stopping = true;
	} else if (!r->pipeline || !run_started(r)) {
		ctx_cancel(r->root, CTX_CAUSE_SIGNAL, signo,
			   "interrupted by %s", signame_name(signo));
	} else if (r->sweep) {
		proc_signal(r->sweep, signo);
	}
}

/* Run the pipeline S. */
int
run(const struct spec *s, const struct run_opts *o)
{
	struct run r;
	int status;

	if (run_init(&r, s, o) < 0) {
		return EXIT_CANCELED;
	}
	if (run_prepare(&r) < 0) {
		run_quiesce(&r);
		ev_run(r.loop, 0); /* until the output is written */
		if (r.rep) {
			run_reports_finish(&r, EXIT_CANCELED);
		}
		run_release(&r);
		return EXIT_CANCELED;
	}
	/* A remote command has no terminal: Ctrl-C is ours to pass on. */
	r.tty_handed = give_tty(o) && !s->jobs[0].host;
	r.pipeline = pipeline_new(&(struct pipeline_opts){
		.spec = s,
		.root = r.root,
		.reaper = r.reaper,
		.output = r.output,
		.stdin_fd = o->alone && !o->remote ? -1 : r.devnull,
		.give_tty = r.tty_handed,
		.foreground = o->foreground,
		.start_cancelled = o->alone,
		.leave_nested = o->gnu != NULL,
		.fail_fast = s->fail_fast,
		.jobs_limit = s->jobs_limit,
		.cgroup = r.cgroup,
		.on_event = run_pipeline_cb,
		.data = &r,
	});
	pipeline_start(r.pipeline);
	ev_run(r.loop, 0);
	if (o->gnu) {
		return run_gnu_finish(&r);
	}
	run_dropped(&r);
	status = lost_output_status(&r, run_status(&r));
	run_reports_finish(&r, status);
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
	if (r->quiesced && r->opts->gnu) {
		return; /* GNU's timeout would have exited already */
	}
	if (r->opts->gnu) {
		run_gnu_signal(r, w->signum);
		return;
	}
	if (r->quiesced) {
		/* Nothing left to stop: give up on the output, die by it. */
		r->late_signal = r->late_signal ? r->late_signal : w->signum;
		if (r->output) {
			output_finish(r->output, 0);
		}
		reporter_give_up(r->rep);
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
	if (r->interrupts == 2 && reporter_says(r->rep, VERBOSITY_NORMAL)) {
		reporter_note(r->rep, "ctxrun: %s again, SIGKILL now\n",
			      signame_name(w->signum));
	}
	if (r->pipeline) {
		pipeline_kill(r->pipeline);
	}
	if (r->sweep) {
		proc_kill(r->sweep);
	}
}

/*
 * The far side's supervisor closed the channel, or is gone: stop the
 * command, as a local run stops on its deadline (ctxrun(1), REMOTE JOBS).
 */
static void
run_link_lost_cb(struct link *l, void *data)
{
	struct run *r = data;

	(void)l;
	r->link_lost = !ctx_done(r->root);
	ctx_cancel(r->root, CTX_CAUSE_CANCELLED, 0,
		   "connection to the supervisor lost");
}

/*
 * The one command did what a shell's job does. Holding the terminal, it
 * got Ctrl-C instead of us: like a shell, take its death by the
 * terminal's signal as our own interruption. Ctrl-Z stopped it: stop
 * ourselves so the shell sees a stopped job and takes the terminal; on
 * `fg` or `bg` we are continued and pass that on.
 */
static void
run_alone_job(struct run *r, const struct job_event *ev)
{
	int sig = ev->kind == JOB_EV_EXIT && WIFSIGNALED(ev->status)
			  ? WTERMSIG(ev->status)
			  : 0;

	if (ev->kind == JOB_EV_EXIT) {
		run_exit_heard = 1;
	}
	if (r->tty_handed && !ctx_done(r->root) &&
	    (sig == SIGINT || sig == SIGQUIT)) {
		r->handover_signal = sig;
	}
	if (ev->kind == JOB_EV_SUSPENDED) {
		raise(SIGTSTP);
		pipeline_resume(r->pipeline);
	}
}

/* Something happened in the pipeline. */
static void
run_pipeline_cb(struct pipeline *p, const struct pipeline_event *ev, void *data)
{
	struct run *r = data;

	if (r->live) {
		live_pipeline_event(r->live, p, ev);
	}
	reporter_pipeline_event(r->rep, p, ev);
	if (ev->kind == PL_EV_JOB && r->opts->alone) {
		run_alone_job(r, ev->job_ev);
	}
	if (ev->kind == PL_EV_DONE) {
		run_sweep(r);
	}
}
