/* SPDX-License-Identifier: MIT */
/*
 * ctxrun under the name `timeout` (ctxrun(1), REPLACING GNU TIMEOUT), run
 * through a symbolic link named timeout in a temporary folder, with
 * argv[0] "timeout" as a shell's PATH lookup gives it.
 *
 * 1. Every check of coreutils' own timeout tests (timeout.sh,
 *    timeout-parameters.sh, timeout-large-parameters.sh,
 *    timeout-group.sh, init-parent.sh, timeout-blocked.pl), re-expressed,
 *    so that the project does not depend on them.
 * 2. One table of invocations run side by side through the system's GNU
 *    timeout and ours, comparing wait statuses and stderr (skipped, with
 *    a message, where /usr/bin/timeout is missing). Only cases where GNU
 *    9.1 and the coreutils of those tests agree are in it.
 * 3. What the personality adds: the whole tree gets the signals and is
 *    gone at the end, and a SIGKILLed `timeout` still takes its command
 *    down.
 */
#include "expect.h"
#include "harness.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GNU_TIMEOUT "/usr/bin/timeout"

static char t_dir[64];        /* the temporary folder */
static char t_ours[PATH_MAX]; /* its "timeout", a link to ctxrun */
static char t_gnu[PATH_MAX];  /* its "gnu/timeout", to GNU's */

/* h_setup(), then the folder with the links; messages in C's words. */
static void
t_setup(void)
{
	h_setup();
	snprintf(t_dir, sizeof(t_dir), "/tmp/ctxrun-timeout.XXXXXX");
	cr_assert_not_null(mkdtemp(t_dir), "mkdtemp: %s", strerror(errno));
	snprintf(t_ours, sizeof(t_ours), "%s/timeout", t_dir);
	cr_assert_eq(symlink(h_ctxrun, t_ours), 0);
	snprintf(t_gnu, sizeof(t_gnu), "%s/gnu", t_dir);
	cr_assert_eq(mkdir(t_gnu, 0700), 0);
	snprintf(t_gnu, sizeof(t_gnu), "%s/gnu/timeout", t_dir);
	cr_assert_eq(symlink(GNU_TIMEOUT, t_gnu), 0);
	setenv("LC_ALL", "C", 1);
}

/* h_teardown(), then the folder goes. */
static void
t_teardown(void)
{
	char gnu_dir[PATH_MAX];

	h_teardown();
	unlink(t_ours);
	unlink(t_gnu);
	snprintf(gnu_dir, sizeof(gnu_dir), "%s/gnu", t_dir);
	rmdir(gnu_dir);
	rmdir(t_dir);
}

TestSuite(timeout, .init = t_setup, .fini = t_teardown, .timeout = 60);

/* Start the `timeout` at PATH with ARGS (NULL-ended) and O's state. */
static void
t_start_argv(struct h_proc *p, const struct h_opts *o, const char *path,
	     const char *const *args)
{
	const char *argv[32] = { "timeout" };
	struct h_opts opts = { 0 };
	size_t n = 0;

	if (o != NULL) {
		opts = *o;
	}
	opts.path = path;
	while (args[n] != NULL && n + 2 < sizeof(argv) / sizeof(argv[0])) {
		argv[n + 1] = args[n];
		n++;
	}
	argv[n + 1] = NULL;
	h_start_argv(p, &opts, argv);
}

/* Start ours as `timeout` with the given arguments. */
#define t_start(p, opts, ...)                                            \
	t_start_argv((p), (opts), t_ours,                                \
		     (const char *const[]){ __VA_ARGS__, NULL })

/* Start and finish ours within 20 s. */
#define t_run(p, opts, ...)                                              \
	do {                                                             \
		t_start((p), (opts), __VA_ARGS__);                       \
		h_finish((p), 20000);                                    \
	} while (0)

/*
 * Wait for the ready line of P's command, send SIG to P's timeout unless
 * it is 0, and finish P.
 */
static void
t_signal_when_ready(struct h_proc *p, int sig)
{
	pid_t pid;

	cr_assert_eq(h_wait_ready(p, &pid, 1, 10000), 1);
	if (sig) {
		h_kill(p, sig);
	}
	h_finish(p, 20000);
}

/* The wait status of a process that exited with CODE. */
#define EXITED(code) ((code) << 8)

/* Run ours with ARGS; assert its wait status is STATUS and stderr ERR. */
static void
t_expect(const char *const *args, int status, const char *err)
{
	struct h_proc p;

	t_start_argv(&p, NULL, t_ours, args);
	h_finish(&p, 20000);
	cr_assert_eq(p.status, status, "timeout %s ...: status %#x, want %#x; "
				       "stderr <%s>",
		     args[0], p.status, status, p.err.data);
	if (err != NULL) {
		expect_err(&p, err);
	}
	h_no_survivors();
	h_release(&p);
}

#define T_EXPECT(status, err, ...)                                        \
	t_expect((const char *const[]){ __VA_ARGS__, NULL }, (status), (err))

/* The "Try" line after GNU's usage errors. */
#define TRY "Try 'timeout --help' for more information.\n"

/* timeout.sh: exit statuses without and with a timeout. */
Test(timeout, basic_operation)
{
	T_EXPECT(EXITED(0), "", "10", "true");
	T_EXPECT(EXITED(0), "", "1d", "true");
	T_EXPECT(EXITED(0), "", "0", "true");
	T_EXPECT(EXITED(2), "", "10", "sh", "-c", "exit 2");
	T_EXPECT(EXITED(124), "", ".1", "sleep", "10");
	/* The command's own status even on a timeout: 128 + TERM. */
	T_EXPECT(EXITED(128 + SIGTERM), "", "--preserve-status", ".1", "sleep",
		 "10");
	T_EXPECT(EXITED(128 + SIGTERM), "", "-p", ".1", "sleep", "10");
}

/*
 * timeout.sh: once the KILL after -k was needed, not 124: GNU's dies of
 * its own KILL to its group, and with --foreground exits 137.
 */
Test(timeout, kill_after_is_not_124)
{
	T_EXPECT(SIGKILL, "", "-s0", "-k1", ".1", "sleep", "10");
	T_EXPECT(EXITED(128 + SIGKILL), "", "--foreground", "-s0", "-k1", ".1",
		 "sleep", "10");
}

/* timeout.sh: immune to a SIGCHLD its parent ignored. */
Test(timeout, sigchld_ignored_by_the_parent)
{
	struct h_opts o = { .ignore = { SIGCHLD } };
	struct h_proc p;

	t_run(&p, &o, "10", "true");
	expect_exit(&p, 0);
	h_release(&p);
}

/*
 * timeout.sh (Bug#9098): exec'd by a shell with a child of its own, that
 * child's exit does not confuse it.
 */
Test(timeout, started_with_a_child)
{
	struct h_proc p;

	h_start(&p, NULL, "--cgroup", "off", "--", "sh", "-c",
		"setsid sleep .1 & exec \"$0\" .5 sh -c 'sleep 2; echo foo'",
		t_ours);
	h_finish(&p, 20000);
	expect_exit(&p, 124);
	expect_out(&p, "");
	h_no_survivors();
	h_release(&p);
}

/* timeout.sh: what -v says, exactly, whichever spelling. */
Test(timeout, verbose_output)
{
	static const char want[] =
		"timeout: sending signal 0 to command 'sleep'\n"
		"timeout: sending signal KILL to command 'sleep'\n";

	T_EXPECT(SIGKILL, want, "-v", "-s0", "-k", ".1", ".1", "sleep", "10");
	T_EXPECT(SIGKILL, want, "--verbose", "-s0", "-k", ".1", ".1", "sleep",
		 "10");
	T_EXPECT(EXITED(124), "timeout: sending signal TERM to command "
			      "'sleep'\n",
		 "-v", ".1", "sleep", "10");
	/* Without -v, nothing of its own. */
	T_EXPECT(EXITED(124), "", "-s", "HUP", ".1", "sleep", "10");
}

/*
 * timeout.sh: a SIGPIPE from writing -v's line to a closed pipe neither
 * kills it nor leaves the command running: 124.
 */
Test(timeout, sigpipe_while_writing_is_no_death)
{
	struct h_opts o = { .close_stdout = true };
	struct h_proc p;

	h_start(&p, &o, "--cgroup", "off", "--", "sh", "-c",
		"exec 2>&1; exec \"$0\" -v .1 sleep 10", t_ours);
	h_finish(&p, 20000);
	expect_exit(&p, 124);
	h_no_survivors();
	h_release(&p);
}

/*
 * timeout.sh: a signal ignored when timeout starts stays ignored in the
 * command: `yes` into a closed pipe gets EPIPE, and says "Broken pipe".
 */
Test(timeout, ignored_sigpipe_stays_ignored)
{
	struct h_opts o = { .ignore = { SIGPIPE }, .close_stdout = true };
	struct h_proc p;

	t_run(&p, &o, "10", "yes");
	expect_exit(&p, 1);
	expect_err_has(&p, "Broken pipe");
	h_no_survivors();
	h_release(&p);
}

/* timeout-parameters.sh: what is invalid is 125, with GNU's words. */
Test(timeout, invalid_parameters)
{
	T_EXPECT(EXITED(125), "timeout: invalid time interval 'invalid'\n" TRY,
		 "invalid", "sleep", "0");
	T_EXPECT(EXITED(125), "timeout: invalid time interval ' -0.1'\n" TRY,
		 " -0.1", "sleep", "0");
	T_EXPECT(EXITED(125),
		 "timeout: invalid time interval ' -1e-10000'\n" TRY,
		 " -1e-10000", "sleep", "0");
	T_EXPECT(EXITED(125), "timeout: invalid time interval 'invalid'\n" TRY,
		 "--kill-after=invalid", "1", "sleep", "0");
	T_EXPECT(EXITED(125), "timeout: invalid time interval '42D'\n" TRY,
		 "42D", "sleep", "0");
	T_EXPECT(EXITED(125), "timeout: 'invalid': invalid signal\n" TRY,
		 "--signal=invalid", "1", "sleep", "0");
}

/* timeout-parameters.sh: floating point, and 1e-10000 is a timeout. */
Test(timeout, floating_point_durations)
{
	T_EXPECT(EXITED(0), "", "10.34", "sleep", "0");
	T_EXPECT(EXITED(0), "", "9.999999999", "sleep", "0");
	T_EXPECT(EXITED(124), "", "1e-10000", "sleep", "10");
}

/* timeout-parameters.sh: 126 cannot run, 127 not found. */
Test(timeout, cannot_run_and_not_found)
{
	T_EXPECT(EXITED(126), "timeout: failed to run command '.': Permission "
			      "denied\n",
		 "10", ".");
	T_EXPECT(EXITED(127), "timeout: failed to run command 'no_such': No "
			      "such file or directory\n",
		 "10", "no_such");
}

/* timeout-large-parameters.sh: too large for the timer is clamped. */
Test(timeout, large_parameters)
{
	struct h_proc p;

	/* A timer that overflowed would fire at once: 124, not 0. */
	t_run(&p, NULL, "9223372036854775808", "sleep", "1");
	expect_exit(&p, 0);
	h_release(&p);
	T_EXPECT(EXITED(0), "", "4294967296", "sleep", "0");
	T_EXPECT(EXITED(0), "", "9223372036854775808d", "sleep", "0");
	T_EXPECT(EXITED(0), "", "2.34e+5d", "sleep", "0");
	T_EXPECT(EXITED(0), "", "1.18973149535723176502e+4932", "sleep", "0");
	T_EXPECT(EXITED(125), "timeout: invalid time interval "
			      "'-1.18973149535723176502e+4932'\n" TRY,
		 "--", "-1.18973149535723176502e+4932", "sleep", "0");
}

/*
 * Start `timeout -v --foreground 25 th catch 20000` (the command in
 * timeout's group, catching signals) and return the command's pid once
 * it is ready.
 */
static pid_t
start_foreground_catcher(struct h_proc *p)
{
	pid_t pid;

	t_start(p, NULL, "-v", "--foreground", "25", h_th, "catch", "20000");
	cr_assert_eq(h_wait_ready(p, &pid, 1, 10000), 1);
	return pid;
}

/*
 * The finished run of start_foreground_catcher() passed the group's
 * SIGUSR1 on: the command caught it and exited 0, and -v said only that.
 */
static void
expect_usr1_passed_on(struct h_proc *p)
{
	char want[PATH_MAX + 64];

	expect_exit(p, 0);
	expect_out_has(p, "caught 10\n");
	snprintf(want, sizeof(want), "timeout: sending signal USR1 to command "
				     "'%s'\n",
		 h_th);
	expect_err(p, want);
}

/*
 * timeout-group.sh: with --foreground the command shares timeout's
 * group; a signal to the whole group (a Ctrl-C of a foreground job) is
 * passed on as itself, and timeout exits with the command at once.
 */
Test(timeout, group_signal_with_foreground)
{
	struct h_proc p;
	pid_t pid = start_foreground_catcher(&p);

	cr_assert_eq(getpgid(pid), p.pid, "not in timeout's group");
	cr_assert_eq(kill(-p.pid, SIGUSR1), 0);
	h_finish(&p, 20000);
	expect_usr1_passed_on(&p);
	cr_assert_lt(p.elapsed, 10.0);
	h_no_survivors();
	h_release(&p);
}

/*
 * A signal that came while the command ran is said with -v even when
 * its exit is heard first: timeout is stopped while the group signal
 * ends the command, so both wait for it when it goes on.
 */
Test(timeout, signal_before_the_exit_heard_after_it)
{
	struct h_proc p;
	pid_t pid = start_foreground_catcher(&p);

	cr_assert_eq(kill(p.pid, SIGSTOP), 0);
	cr_assert_eq(kill(-p.pid, SIGUSR1), 0);
	cr_assert(h_gone_within(pid, 10000), "the command did not exit");
	cr_assert_eq(kill(p.pid, SIGCONT), 0);
	h_finish(&p, 20000);
	expect_usr1_passed_on(&p);
	h_no_survivors();
	h_release(&p);
}

/*
 * timeout-group.sh: killed by SIGKILL, timeout still sends its signal
 * (-s USR1) to the command.
 */
Test(timeout, sigkilled_timeout_signals_its_command)
{
	struct h_proc p;
	pid_t pid;

	t_start(&p, NULL, "-sUSR1", "25", h_th, "catch", "20000");
	cr_assert_eq(h_wait_ready(&p, &pid, 1, 10000), 1);
	h_kill(&p, SIGKILL);
	cr_assert_not_null(h_wait_out(&p, "caught 10\n", 10000),
			   "the command got no USR1: stdout <%s>", p.out.data);
	h_finish(&p, 20000);
	expect_signal(&p, SIGKILL);
	cr_assert(h_gone_within(pid, 5000));
	/* The watchdog and the command were the test's to reap. */
	cr_assert(h_children_gone_within(5000), "something outlived it");
	h_no_survivors();
	h_release(&p);
}

/*
 * Shell text: catch USR1 (and say so), exit half a second later, and say
 * whether ALRM ever came.
 */
#define CATCH_USR1                                                        \
	"trap 'echo got ALRM' ALRM; trap 'echo got USR1; n=10' USR1; "    \
	"n=-1; echo ready $$; "                                           \
	"while [ $n != 0 ]; do sleep 0.05; [ $n -lt 0 ] || n=$((n-1)); done"

/*
 * timeout-group.sh: cascaded timeouts. The outer one's ALRM times it
 * out, and its -s ALRM reaches the inner timeout, which passes its own
 * -s USR1 on: the command gets USR1, never the outer's ALRM (a timeout
 * nested in another signals its own command, as GNU's do), and
 * everything ends at once.
 */
Test(timeout, cascaded_timeouts)
{
	struct h_proc p;

	t_start(&p, NULL, "-sALRM", "30", t_ours, "-sUSR1", "25", "sh", "-c",
		CATCH_USR1);
	t_signal_when_ready(&p, SIGALRM);
	expect_exit(&p, 124);
	expect_out_has(&p, "got USR1\n");
	expect_out_lacks(&p, "got ALRM");
	cr_assert_lt(p.elapsed, 10.0);
	h_no_survivors();
	h_release(&p);
}

/* init-parent.sh: as the init of a PID namespace, it still times out. */
Test(timeout, init_as_parent)
{
	struct h_proc p;

	h_start_argv(&p, NULL, (const char *const[]){ "/usr/bin/unshare",
		"--pid", "--fork", "--map-root-user", "true", NULL });
	h_finish(&p, 20000);
	if (h_code(&p) != 0) {
		h_release(&p);
		cr_skip_test("unshare --pid --fork --map-root-user fails");
	}
	h_release(&p);
	h_start_argv(&p, NULL, (const char *const[]){ "/usr/bin/unshare",
		"--pid", "--fork", "--map-root-user", t_ours, ".1", "sleep",
		"10", NULL });
	h_finish(&p, 20000);
	expect_exit(&p, 124);
	h_release(&p);
}

/* timeout-blocked.pl: a SIGALRM its parent blocked does not matter. */
Test(timeout, blocked_sigalrm)
{
	struct h_opts o = { .block = { SIGALRM } };
	struct h_proc p;

	t_run(&p, &o, ".1", "sleep", "10");
	expect_exit(&p, 124);
	h_release(&p);
}

/* One invocation for both, what the command catches in OUT if asked. */
struct sbs_case {
	const char *args[12];
	int signal;   /* sent once the command is ready (th), or 0 */
};

/*
 * Wait up to MS ms for PID to have a POSIX timer (/proc/PID/timers): GNU
 * timeout arms its own only after fork() returned the command's pid to
 * it. A signal before that, 9.1 takes for one to itself: it exits and
 * leaves the command running (newer ones block signals around fork).
 */
static bool
timer_armed_within(pid_t pid, int ms)
{
	double end = h_now() + ms / 1000.0;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/timers", (int)pid);
	while (h_now() < end) {
		FILE *f = fopen(path, "re");
		int c = f != NULL ? fgetc(f) : EOF;
		struct timespec ts = { 0, 5000000 };

		if (f != NULL) {
			fclose(f);
		}
		if (c != EOF) {
			return true;
		}
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Run ARGS through the `timeout` at PATH; sending SIG once it is ready. */
static void
sbs_run(struct h_proc *p, const char *path, const struct sbs_case *c)
{
	pid_t pid;

	t_start_argv(p, NULL, path, c->args);
	if (c->signal) {
		cr_assert_eq(h_wait_ready(p, &pid, 1, 10000), 1,
			     "%s %s: no ready line", path, c->args[0]);
		cr_assert(path != t_gnu || timer_armed_within(p->pid, 10000),
			  "GNU's timeout armed no timer");
		h_kill(p, c->signal);
	}
	h_finish(p, 20000);
}

/*
 * The same invocations through GNU timeout and ours: the same wait
 * status (exit code or death by signal), stderr and stdout.
 */
Test(timeout, side_by_side_with_gnu, .timeout = 180)
{
	const struct sbs_case cases[] = {
		{ { "10", "true" }, 0 },
		{ { "0", "true" }, 0 },
		{ { "10", "sh", "-c", "exit 3" }, 0 },
		{ { ".1", "sleep", "10" }, 0 },
		{ { "-k", "0", ".1", "sleep", "10" }, 0 },
		{ { "--preserve-status", ".1", "sleep", "10" }, 0 },
		{ { "-s", "INT", "--preserve-status", ".1", "sleep", "10" },
		  0 },
		{ { "-s0", "-k1", ".1", "sleep", "10" }, 0 },
		{ { "--foreground", "-s0", "-k1", ".1", "sleep", "10" }, 0 },
		{ { "--foreground", "-s", "KILL", ".1", "sleep", "10" }, 0 },
		{ { "-s", "KILL", ".1", "sleep", "10" }, 0 },
		{ { "-v", ".1", "sleep", "10" }, 0 },
		{ { "--verb", "-s", "HUP", "-k", ".2", ".1", "sleep", "10" },
		  0 },
		{ { "-v", "-s", "40", ".1", "sleep", "10" }, 0 },
		{ { "-v", "-s", "RTMAX-3", ".1", "sleep", "10" }, 0 },
		{ { "-v", "-s", "137", ".1", "sleep", "10" }, 0 },
		{ { "-v", "-s", "sigusr2", ".1", "sleep", "10" }, 0 },
		{ { "-k", ".2", ".1", "sh", "-c", "trap '' TERM; sleep 5" },
		  0 },
		{ { "--foreground", "-k", ".2", ".1", "sh", "-c",
		    "trap '' TERM; sleep 5" }, 0 },
		{ { ".1", "sh", "-c", "trap 'exit 3' TERM; sleep 5 & wait" },
		  0 },
		{ { "--preserve-status", ".1", "sh", "-c",
		    "trap 'exit 3' TERM; sleep 5 & wait" }, 0 },
		{ { "10", "sh", "-c", "kill -USR1 $$" }, 0 },
		{ { "10", "sh", "-c", "kill -TERM $$" }, 0 },
		{ { "invalid", "sleep", "0" }, 0 },
		{ { "--", "-1", "true" }, 0 },
		{ { "1 ", "true" }, 0 },
		{ { "", "true" }, 0 },
		{ { "nan", "true" }, 0 },
		{ { "inf", "true" }, 0 },
		{ { "0x1p-4", "true" }, 0 },
		{ { "-k", "1ms", "1", "true" }, 0 },
		{ { "a\nb'c\\d\x01", "true" }, 0 },
		{ { "--signal=FOO", "1", "true" }, 0 },
		{ { "-s", "99", "1", "true" }, 0 },
		{ { "-s", "32", "1", "true" }, 0 },
		{ { "-s", "RTMIN+31", "1", "true" }, 0 },
		{ { "-s", "-1", "1", "true" }, 0 },
		{ { "-s", "SIG15", "1", "true" }, 0 },
		{ { "1" }, 0 },
		{ { 0 }, 0 },
		{ { "--bogus", "1", "true" }, 0 },
		{ { "-z", "1", "true" }, 0 },
		{ { "-k" }, 0 },
		{ { "--signal" }, 0 },
		{ { "--ver", "1", "true" }, 0 },
		{ { "--verbose=1", "1", "true" }, 0 },
		{ { "10", "no_such" }, 0 },
		{ { "10", "no\nsuch" }, 0 },
		{ { "10", "/etc" }, 0 },
		{ { "10", "." }, 0 },
		{ { "1", "--", "true" }, 0 },
		/* Signals to timeout: what GNU 9.1 handles too. */
		{ { "30", h_th, "ready-sleep", "30000" }, SIGINT },
		{ { "30", h_th, "ready-sleep", "30000" }, SIGTERM },
		{ { "30", h_th, "ready-sleep", "30000" }, SIGHUP },
		{ { "30", h_th, "ready-sleep", "30000" }, SIGQUIT },
		{ { "30", h_th, "ready-sleep", "30000" }, SIGALRM },
		{ { "-v", "30", h_th, "ready-sleep", "30000" }, SIGINT },
		{ { "--preserve-status", "30", h_th, "ready-sleep", "30000" },
		  SIGALRM },
		{ { "-s", "USR1", "30", h_th, "ready-sleep", "30000" },
		  SIGUSR1 },
		{ { "30", h_th, "catch", "30000" }, SIGTERM },
		{ { "30", h_th, "catch", "30000" }, SIGALRM },
		{ { "--foreground", "30", h_th, "catch", "30000" }, SIGHUP },
		{ { "-s", "INT", "-k", ".2", "30", h_th, "ignore-term",
		    "30000" }, SIGALRM },
	};

	if (access(GNU_TIMEOUT, X_OK) != 0) {
		cr_skip_test("no %s to compare with", GNU_TIMEOUT);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct h_proc gnu, ours;

		sbs_run(&gnu, t_gnu, &cases[i]);
		/* Killed by its own KILL, GNU's leaves its command to us. */
		h_children_gone_within(5000);
		sbs_run(&ours, t_ours, &cases[i]);
		h_no_survivors();
		cr_expect_eq(ours.status, gnu.status,
			     "case %zu (timeout %s %s ...): status %#x, GNU's "
			     "%#x; stderr <%s>",
			     i, cases[i].args[0] ? cases[i].args[0] : "",
			     cases[i].args[1] ? cases[i].args[1] : "",
			     ours.status, gnu.status, ours.err.data);
		cr_expect_str_eq(ours.err.data, gnu.err.data,
				 "case %zu (timeout %s ...): stderr <%s>, "
				 "GNU's <%s>",
				 i, cases[i].args[0] ? cases[i].args[0] : "",
				 ours.err.data, gnu.err.data);
		/* The pid in a ready line is no one's business. */
		if (!cases[i].signal) {
			cr_expect_str_eq(ours.out.data, gnu.out.data,
					 "case %zu: stdout", i);
		}
		h_release(&gnu);
		h_release(&ours);
	}
}

/*
 * Every terminating signal GNU timeout handles reaches the command as
 * itself, and timeout ends as the command does (th catch exits 0).
 */
Test(timeout, signals_are_passed_on_as_themselves, .timeout = 120)
{
	static const int sigs[] = {
		SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGTERM,
		SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGSEGV, SIGABRT,
		SIGSTKFLT, SIGPWR, SIGSYS,
	};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct h_proc p;
		char want[32];

		t_start(&p, NULL, "30", h_th, "catch", "20000");
		t_signal_when_ready(&p, sigs[i]);
		snprintf(want, sizeof(want), "caught %d\n", sigs[i]);
		cr_assert_eq(h_code(&p), 0, "signal %d: status %#x", sigs[i],
			     p.status);
		expect_out_has(&p, want);
		h_no_survivors();
		h_release(&p);
	}
}

/* A command killed by a signal passed on: timeout dies of it too. */
Test(timeout, dies_of_the_signal_its_command_died_of)
{
	struct h_proc p;

	t_start(&p, NULL, "30", h_th, "ready-sleep", "30000");
	t_signal_when_ready(&p, SIGUSR2);
	expect_signal(&p, SIGUSR2);
	expect_err(&p, "");
	h_no_survivors();
	h_release(&p);
}

/* SIGALRM is the timeout, now: the -s signal goes, and 124. */
Test(timeout, sigalrm_times_out_now)
{
	struct h_proc p;

	t_start(&p, NULL, "-s", "USR2", "30", h_th, "catch", "20000");
	t_signal_when_ready(&p, SIGALRM);
	expect_exit(&p, 124);
	expect_out_has(&p, "caught 12\n");
	h_no_survivors();
	h_release(&p);
}

/*
 * Ignored when timeout started: ignored in the command, and not passed
 * on (timeout ignores it too, and still times out).
 */
Test(timeout, ignored_signals_stay_ignored)
{
	struct h_opts o = { .ignore = { SIGUSR1, SIGHUP } };
	struct h_proc p;

	t_run(&p, &o, "10", h_th, "sigstate");
	expect_exit(&p, 0);
	expect_out_has(&p, "ignored 1 10\n");
	h_release(&p);
	t_start(&p, &o, ".5", h_th, "ready-sleep", "30000");
	t_signal_when_ready(&p, SIGUSR1);
	expect_exit(&p, 124);
	h_no_survivors();
	h_release(&p);
}

/* Without -k, no KILL: a command that ignores TERM runs to its end. */
Test(timeout, no_kill_without_kill_after)
{
	struct h_proc p;

	t_start(&p, NULL, ".2", h_th, "ignore-term", "1500");
	t_signal_when_ready(&p, 0);
	expect_exit(&p, 124);
	cr_assert_geq(p.elapsed, 1.4, "killed before its end");
	h_no_survivors();
	h_release(&p);
}

/* With -k, KILL once it is over: death by KILL, or 137 in the foreground. */
Test(timeout, kill_after_kills)
{
	struct h_proc p;

	t_start(&p, NULL, "-k", ".3", ".2", h_th, "ignore-term", "30000");
	t_signal_when_ready(&p, 0);
	expect_signal(&p, SIGKILL);
	cr_assert_lt(p.elapsed, 10.0);
	h_no_survivors();
	h_release(&p);
	t_start(&p, NULL, "-f", "-k", ".3", ".2", h_th, "ignore-term", "30000");
	t_signal_when_ready(&p, 0);
	expect_exit(&p, 137);
	h_no_survivors();
	h_release(&p);
}

/* Shell text: a TERM-obeying escapee in a new session, then the leader. */
#define ESCAPE_THEN_SLEEP                                                 \
	"setsid sh -c 'echo ready $$; exec sleep 30' & exec sleep 30"

/*
 * Containment: the timeout stops the escapee too, which left the
 * command's session, and nothing is left behind; GNU's misses it.
 */
Test(timeout, setsid_escapee_is_gone_after_the_timeout)
{
	struct h_proc p;
	pid_t esc;

	t_start(&p, NULL, ".5", "sh", "-c", ESCAPE_THEN_SLEEP);
	cr_assert_eq(h_wait_ready(&p, &esc, 1, 10000), 1);
	h_finish(&p, 20000);
	expect_exit(&p, 124);
	cr_assert(h_gone_within(esc, 2000), "escapee %d survived", (int)esc);
	cr_assert_lt(p.elapsed, 8.0, "the escapee missed the signal");
	h_no_survivors();
	h_release(&p);
}

/* Containment: a SIGKILLed timeout takes its command and escapee down. */
Test(timeout, sigkilled_timeout_takes_the_tree_down)
{
	struct h_proc p;
	pid_t esc;

	t_start(&p, NULL, "30", "sh", "-c", ESCAPE_THEN_SLEEP);
	cr_assert_eq(h_wait_ready(&p, &esc, 1, 10000), 1);
	h_kill(&p, SIGKILL);
	h_finish(&p, 20000);
	expect_signal(&p, SIGKILL);
	cr_assert(h_gone_within(esc, 5000), "escapee %d survived", (int)esc);
	/* The watchdog and the command were the test's to reap. */
	cr_assert(h_children_gone_within(5000), "something outlived it");
	h_no_survivors();
	h_release(&p);
}

/*
 * The wait status of PID, re-parented to the test (the subreaper) once
 * timeout was killed; -1 if it does not end within 10 s.
 */
static int
t_orphan_status(pid_t pid)
{
	double end = h_now() + 10.0;
	struct timespec ts = { 0, 5000000 };
	int status;

	while (h_now() < end) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		if (got == pid) {
			return status;
		}
		if (got < 0 && errno != EINTR) {
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return -1;
}

/*
 * A SIGKILLed timeout's watchdog keeps to -k: without it no SIGKILL, the
 * command that ignores TERM runs to its end; with it, SIGKILL after it.
 */
Test(timeout, sigkilled_timeout_keeps_to_kill_after)
{
	struct h_proc p;
	pid_t pid;
	int status;

	t_start(&p, NULL, "30", h_th, "ignore-term", "1500");
	cr_assert_eq(h_wait_ready(&p, &pid, 1, 10000), 1);
	h_kill(&p, SIGKILL);
	cr_assert(h_wait_exit(&p, 10000));
	status = t_orphan_status(pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "no -k, yet the command ended with status %#x", status);
	h_finish(&p, 20000);
	cr_assert(h_children_gone_within(5000), "something outlived it");
	h_no_survivors();
	h_release(&p);

	t_start(&p, NULL, "-k", ".3", "30", h_th, "ignore-term", "30000");
	cr_assert_eq(h_wait_ready(&p, &pid, 1, 10000), 1);
	h_kill(&p, SIGKILL);
	cr_assert(h_wait_exit(&p, 10000));
	status = t_orphan_status(pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "status %#x, want death by SIGKILL", status);
	h_finish(&p, 20000);
	cr_assert(h_children_gone_within(5000), "something outlived it");
	h_no_survivors();
	h_release(&p);
}

/* --help and --version say what this is, on stdout, and exit 0. */
Test(timeout, help_and_version)
{
	struct h_proc p;

	t_run(&p, NULL, "--help");
	expect_exit(&p, 0);
	expect_out_has(&p,
		       "Usage: timeout [OPTION] DURATION COMMAND [ARG]...\n");
	expect_err(&p, "");
	h_release(&p);
	t_run(&p, NULL, "--version");
	expect_exit(&p, 0);
	expect_out_has(&p, "timeout (ctxrun) ");
	h_release(&p);
}
