/* SPDX-License-Identifier: MIT */
#include "ctxrun/cli.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ctxrun/ctx.h"
#include "ctxrun/duration.h"
#include "ctxrun/job.h"
#include "ctxrun/reaper.h"
#include "ctxrun/signame.h"
#include "ctxrun/util.h"

/*
 * One-command mode follows GNU timeout where the two overlap (exit statuses
 * 124-127, --preserve-status, --kill-after, --foreground) and the SPEC
 * elsewhere. ctxrun's own signals are libev signal watchers, so the handler
 * does nothing but wake the loop (skalibs' self-pipe, done by libev).
 */

#define CTXRUN_VERSION "0.1.0"
#define EXIT_TIMEDOUT 124
#define EXIT_INTERNAL 125
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127

enum verbosity { QUIET, NORMAL, VERBOSE };

struct cli_opts {
	int64_t timeout_ms;
	int64_t grace_ms;
	int stop_signal;
	bool preserve_status;
	bool foreground;
	enum verbosity verbosity;
	char **command;
};

/* One run: the loop and everything hanging from it. */
struct run {
	const struct cli_opts *opts;
	struct ev_loop *loop;
	struct ctx *root;
	struct reaper *reaper;
	struct job *job;
	ev_signal sigs[3];
	int interrupts;
	int handover_signal; /* terminal signal that killed a tty-owning job */
	bool tty_handed;
};

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void run_signal_cb(struct ev_loop *loop, ev_signal *w, int revents);
static void run_job_cb(struct job *j, const struct job_event *ev, void *data);

/* Print the usage summary to OUT. */
static void
usage(FILE *out)
{
	fputs("usage: ctxrun [OPTIONS] -- COMMAND [ARG...]\n"
	      "Run COMMAND under a deadline; stop its whole process tree on\n"
	      "timeout or interruption.\n"
	      "\n"
	      "  -t, --timeout DUR      deadline for the run (default: none)\n"
	      "  -g, --grace DUR        stop signal to SIGKILL (default 10s);\n"
	      "      --kill-after DUR   same as --grace\n"
	      "  -s, --signal SIG       stop signal (default TERM)\n"
	      "      --preserve-status  on timeout, exit with COMMAND's status\n"
	      "      --foreground       keep COMMAND in ctxrun's process group\n"
	      "  -v, --verbose          report the lifecycle on stderr\n"
	      "  -q, --quiet            print no messages of ctxrun's own\n"
	      "  -h, --help             show this help and exit\n"
	      "  -V, --version          show the version and exit\n"
	      "\n"
	      "DUR is a number of seconds (0.5) or has units ms s m h d (1m30s).\n"
	      "Exit status: COMMAND's; 124 on timeout; 125 ctxrun failed;\n"
	      "126 COMMAND cannot run; 127 COMMAND not found.\n"
	      "See ctxrun(1).\n",
	      out);
}

/* Print a usage error with the help hint; return the exit status for it. */
static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ctxrun: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'ctxrun --help' for more information.\n", stderr);
	return EXIT_INTERNAL;
}

/* Parse the duration ARG of option NAME into *MS; print why not. */
static int
parse_duration_opt(const char *name, const char *arg, int64_t *ms)
{
	struct err e;

	if (duration_parse(arg, ms, &e) < 0) {
		usage_error("invalid %s '%s': %s", name, arg, e.msg);
		return -1;
	}
	return 0;
}

/* Parse ARGV into O. Returns 0 to run, -1 after a usage error, 1 when done. */
static int
parse_args(int argc, char **argv, struct cli_opts *o)
{
	enum { OPT_PRESERVE = 256, OPT_FOREGROUND, OPT_KILL_AFTER };
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "grace", required_argument, NULL, 'g' },
		{ "kill-after", required_argument, NULL, OPT_KILL_AFTER },
		{ "signal", required_argument, NULL, 's' },
		{ "preserve-status", no_argument, NULL, OPT_PRESERVE },
		{ "foreground", no_argument, NULL, OPT_FOREGROUND },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct err e;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:t:g:s:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_duration_opt("--timeout", optarg, &o->timeout_ms)) {
				return -1;
			}
			break;
		case 'g':
		case OPT_KILL_AFTER:
			if (parse_duration_opt(c == 'g' ? "--grace" : "--kill-after",
					       optarg, &o->grace_ms)) {
				return -1;
			}
			break;
		case 's':
			if (signame_parse(optarg, &o->stop_signal, &e) < 0) {
				return usage_error("invalid --signal '%s': %s", optarg,
						   e.msg),
				       -1;
			}
			break;
		case OPT_PRESERVE:
			o->preserve_status = true;
			break;
		case OPT_FOREGROUND:
			o->foreground = true;
			break;
		case 'v':
			o->verbosity = VERBOSE;
			break;
		case 'q':
			o->verbosity = QUIET;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			puts("ctxrun " CTXRUN_VERSION);
			return 1;
		case ':':
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]),
			       -1;
		default:
			if (optopt) {
				return usage_error("unknown option '-%c'", optopt), -1;
			}
			return usage_error("unknown option '%s'", argv[optind - 1]), -1;
		}
	}
	if (optind >= argc) {
		return usage_error("missing command (usage: ctxrun [OPTIONS] -- "
				   "COMMAND [ARG...])"),
		       -1;
	}
	if (strcmp(argv[optind - 1], "--") != 0) {
		return usage_error("missing '--' before '%s' (usage: ctxrun "
				   "[OPTIONS] -- COMMAND [ARG...])",
				   argv[optind]),
		       -1;
	}
	o->command = argv + optind;
	return 0;
}

/*
 * Give the root context its deadline: --timeout, or an inherited
 * CTXRUN_DEADLINE when that comes first. Returns -1 after printing why the
 * inherited value is unusable.
 */
static int
root_deadline(struct run *r)
{
	const char *inherited = getenv("CTXRUN_DEADLINE");
	ev_tstamp now = ev_now(r->loop);

	if (r->opts->timeout_ms) {
		char d[64];
		char cause[96];

		duration_format(r->opts->timeout_ms, d, sizeof(d));
		snprintf(cause, sizeof(cause), "deadline exceeded (--timeout %s)", d);
		ctx_set_deadline(r->root, now + (ev_tstamp)r->opts->timeout_ms / 1000.,
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

/* Basename of PATH, borrowed from it. */
static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* Should the job's group get the terminal (see proc.h)? */
static int
handover_tty(const struct cli_opts *o)
{
	if (o->foreground || !isatty(STDIN_FILENO) ||
	    tcgetpgrp(STDIN_FILENO) != getpgrp()) {
		return -1;
	}
	return STDIN_FILENO;
}

/* Start the job; return -1 with the exit status for the failure in *STATUS. */
static int
start_job(struct run *r, int *status)
{
	const struct cli_opts *o = r->opts;
	int tty_fd = handover_tty(o);
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
		.on_event = run_job_cb,
		.data = r,
	};
	struct err e;

	r->tty_handed = tty_fd >= 0;
	r->job = job_new(&spec);
	if (job_start(r->job, r->root, r->reaper, &e) < 0) {
		int errnum = e.saved_errno;

		fprintf(stderr, "ctxrun: %s\n", e.msg);
		*status = errnum == EAGAIN || errnum == ENOMEM ? EXIT_INTERNAL
							       : job_exit_code(r->job);
		return -1;
	}
	return 0;
}

/* Set up the loop, the root context and ctxrun's own signals. */
static void
run_init(struct run *r, const struct cli_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->opts = o;
	r->loop = ev_default_loop(EVFLAG_AUTO);
	if (!r->loop) {
		BUG("cannot initialise libev");
	}
	/* Orphans of a job are re-parented to us, not to init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	r->root = ctx_new_root(r->loop);
	r->reaper = reaper_new(r->loop);
	reaper_start(r->reaper);
	/* Installing handlers also overrides an inherited SIG_IGN (SPEC 6.5). */
	for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++) {
		ev_signal_init(&r->sigs[i], run_signal_cb, stop_signals[i]);
		r->sigs[i].data = r;
		ev_signal_start(r->loop, &r->sigs[i]);
	}
}

/* Stop the watchers so the loop runs dry. */
static void
run_quiesce(struct run *r)
{
	/* Like Go's deferred cancel(): releases the root's deadline timer. */
	ctx_cancel(r->root, CTX_CAUSE_CANCELLED, 0, "run finished");
	for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++) {
		ev_signal_stop(r->loop, &r->sigs[i]);
	}
	reaper_stop(r->reaper);
}

/* Release everything R holds. */
static void
run_release(struct run *r)
{
	job_free(r->job);
	reaper_free(r->reaper);
	ctx_free(r->root);
	ev_loop_destroy(r->loop);
}

/* Die by SIGNO with its default action, as the caller expects. */
static _Noreturn void
reraise(int signo)
{
	sigset_t set;

	signal(signo, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, signo);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(signo);
	/* Not reached unless the signal could not kill us. */
	exit(128 + signo);
}

/* The exit status of a run that went through the loop; may not return. */
static int
run_exit_status(struct run *r)
{
	const struct ctx_cause *root = ctx_cause(r->root);
	enum job_outcome outcome = job_outcome(r->job);
	int code = job_exit_code(r->job);
	int signo = r->handover_signal;

	if (root && root->kind == CTX_CAUSE_SIGNAL) {
		signo = root->value;
	}
	if (signo) {
		run_release(r);
		reraise(signo);
	}
	if ((outcome == JOB_CANCELLED || outcome == JOB_TIMED_OUT) &&
	    job_cause(r->job)->kind == CTX_CAUSE_DEADLINE) {
		code = r->opts->preserve_status ? code : EXIT_TIMEDOUT;
	}
	run_release(r);
	return code;
}

/* Run the one command of O to the end; return ctxrun's exit status. */
static int
run_one(const struct cli_opts *o)
{
	struct run r;
	int status;

	run_init(&r, o);
	if (root_deadline(&r) < 0) {
		run_quiesce(&r);
		run_release(&r);
		return EXIT_INTERNAL;
	}
	if (start_job(&r, &status) < 0) {
		run_quiesce(&r);
		run_release(&r);
		return status;
	}
	ev_run(r.loop, 0);
	return run_exit_status(&r);
}

/* Run ctxrun. */
int
cli_main(int argc, char **argv)
{
	struct cli_opts o = {
		.grace_ms = 10000,
		.stop_signal = SIGTERM,
		.verbosity = NORMAL,
	};
	int rc = parse_args(argc, argv, &o);

	if (rc) {
		return rc > 0 ? 0 : EXIT_INTERNAL;
	}
	return run_one(&o);
}

/* SIGINT, SIGTERM or SIGHUP reached ctxrun. */
static void
run_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct run *r = w->data;

	(void)loop;
	(void)revents;
	if (r->interrupts++ == 0) {
		ctx_cancel(r->root, CTX_CAUSE_SIGNAL, w->signum, "interrupted by %s",
			   signame_name(w->signum));
		return;
	}
	/* "You insist": a second signal skips what is left of the grace. */
	if (r->opts->verbosity >= NORMAL) {
		fprintf(stderr, "ctxrun: %s again, SIGKILL now\n",
			signame_name(w->signum));
	}
	job_kill(r->job);
}

/* Print "ctxrun: NAME: " and the rest of a lifecycle line, at LEVEL. */
static void __attribute__((format(printf, 4, 5)))
say(const struct run *r, enum verbosity level, const struct job *j,
    const char *fmt, ...)
{
	va_list ap;

	if (r->opts->verbosity < level) {
		return;
	}
	fprintf(stderr, "ctxrun: %s: ", job_name(j));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Report how the leader ended, at -v. */
static void
say_exit(struct run *r, struct job *j, int status)
{
	if (WIFSIGNALED(status)) {
		say(r, VERBOSE, j, "killed by %s", signame_name(WTERMSIG(status)));
	} else {
		say(r, VERBOSE, j, "exited with status %d", WEXITSTATUS(status));
	}
	/*
	 * A job holding the terminal gets Ctrl-C instead of us. Like a shell,
	 * take its death by the terminal's signal as our own interruption.
	 */
	if (r->tty_handed && WIFSIGNALED(status) && !ctx_done(r->root) &&
	    (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGQUIT)) {
		r->handover_signal = WTERMSIG(status);
	}
}

/* Something happened to the job. */
static void
run_job_cb(struct job *j, const struct job_event *ev, void *data)
{
	struct run *r = data;
	char d[64];

	switch (ev->kind) {
	case JOB_EV_START:
		say(r, VERBOSE, j, "started (pid %d)", (int)ev->pid);
		break;
	case JOB_EV_SIGNAL:
		say(r, NORMAL, j, "%s (%s)", signame_name(ev->signal), ev->cause);
		break;
	case JOB_EV_KILL:
		say(r, VERBOSE, j, "no exit after %s, SIGKILL",
		    duration_format(ev->grace_ms, d, sizeof(d)));
		break;
	case JOB_EV_EXIT:
		say_exit(r, j, ev->status);
		break;
	case JOB_EV_LEFTOVERS:
		say(r, VERBOSE, j, "%zu leftover process%s, %s (leader exited)",
		    ev->count, ev->count == 1 ? "" : "es",
		    signame_name(ev->signal));
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
		run_quiesce(r);
		break;
	}
}
