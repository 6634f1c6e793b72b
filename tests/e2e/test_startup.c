/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of ctxrun started in a poor state: tiny limits on open
 * files and processes, closed standard fds, an event loop that cannot
 * start, a standard output that cannot be written, a pipeline file that
 * never ends. Whatever goes wrong before anything runs is one line
 * "ctxrun: ...", exit 125, and nothing run; never an abort, never a
 * silent 125, never a run that eats memory.
 *
 * Limits reach ctxrun through "th limit", redirections through /bin/sh.
 * Each command would touch the file "ran" in the test's directory, which
 * proves whether it ran.
 */
#include "expect.h"
#include "fixture.h"
#include "harness.h"

#include <sys/stat.h>

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* th's exit status when th itself failed (see tests/helpers/th.c). */
#define TH_EXIT_USAGE 99

/* The file each command would touch, in the test's directory. */
static char ran[128];

/* The common fixture (fixture.h), and the path of "ran" in it. */
static void
st_setup(void)
{
	fx_init();
	snprintf(ran, sizeof(ran), "%s", fx_path("ran"));
}

TestSuite(startup, .init = st_setup, .fini = fx_fini, .timeout = 60);

/* Assert P failed before running anything: 125, one line holding NEEDLE. */
static void
expect_startup_error(const struct h_proc *p, const char *needle)
{
	expect_exit(p, 125);
	cr_assert_eq(h_lines(p->err.data), 1, "want one line, stderr: <%s>",
		     p->err.data);
	cr_assert(!strncmp(p->err.data, "ctxrun: ", 8), "stderr: <%s>",
		  p->err.data);
	expect_err_has(p, needle);
	expect_out(p, "");
	cr_assert_neq(access(ran, F_OK), 0, "the command ran");
}

/*
 * Run ctxrun under "th limit RES N", with one command (GROUP false) or
 * one -c job (GROUP true) that touches "ran". Skips the test when th
 * cannot set the limit up (RLIMIT_NPROC as root needs user "nobody").
 */
static void
run_limited(struct h_proc *p, const char *res, const char *n, bool group)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s touch %s", h_th, ran);
	if (group) {
		h_start_argv(p, NULL, (const char *const[]){
			h_th, "limit", res, n, h_ctxrun, "-c", cmd, NULL });
	} else {
		h_start_argv(p, NULL, (const char *const[]){
			h_th, "limit", res, n, h_ctxrun, "--", h_th, "touch",
			ran, NULL });
	}
	h_finish(p, 20000);
	if (h_code(p) == TH_EXIT_USAGE && strstr(p->err.data, "th: limit")) {
		cr_skip_test("cannot set the limit up: %s", p->err.data);
	}
}

/* Run as run_limited() says and expect a start-up error holding NEEDLE. */
static void
expect_limited_error(const char *res, const char *n, bool group,
		     const char *needle)
{
	struct h_proc p;

	run_limited(&p, res, n, group);
	expect_startup_error(&p, needle);
	h_done(&p);
}

/* With 4 fds (0, 1, 2, epoll), libev's signal pipe fails: not an abort. */
Test(startup, four_fds_is_one_line_and_125)
{
	expect_limited_error("nofile", "4", false, "Too many open files");
	expect_limited_error("nofile", "4", true, "Too many open files");
}

/*
 * A few fds more, where the watchdog's pipe, the cgroup or the job's
 * pipes run out in turn: the command runs, or ctxrun says in one line
 * why it did not (no silent 125, whatever -v).
 */
Test(startup, few_fds_run_or_say_why)
{
	static const char *const limits[] = { "5", "6", "7", "8" };
	struct h_proc p;

	for (size_t i = 0; i < sizeof(limits) / sizeof(*limits); i++) {
		run_limited(&p, "nofile", limits[i], false);
		if (h_code(&p) == 0) {
			expect_err(&p, "");
			cr_assert_eq(unlink(ran), 0, "exit 0, but nothing ran");
		} else {
			expect_startup_error(&p, "Too many open files");
		}
		h_done(&p);
	}
	/* A group whose watchdog cannot start does not run on without it. */
	expect_limited_error("nofile", "5", true, "watchdog");
}

/* Without a process to spare, the watchdog cannot start: one line, 125. */
Test(startup, no_process_to_spare_is_one_line_and_125)
{
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[512];

	/* As root the command runs as nobody, who must be able to write. */
	cr_assert_eq(chmod(fx_dir, 0777), 0);
	/* A sanitizer build's leak check needs a thread at exit: none left. */
	snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", asan ? asan : "",
		 asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	expect_limited_error("nproc", "1", false, "cannot start the watchdog");
	expect_limited_error("nproc", "1", true, "cannot start the watchdog");
}

/* An event loop with no backend (LIBEV_FLAGS naming none): not a BUG(). */
Test(startup, no_event_loop_backend_is_one_line_and_125)
{
	struct h_proc p;

	/* 8 is kqueue, which Linux does not have. */
	setenv("LIBEV_FLAGS", "8", 1);
	h_run(&p, NULL, "--", h_th, "touch", ran);
	unsetenv("LIBEV_FLAGS");
	expect_startup_error(&p, "event loop");
	h_done(&p);
}

/*
 * libev reading its signals from a signalfd (LIBEV_FLAGS asking for it)
 * keeps them blocked and installs no handler: ctxrun still hears its job
 * exit, with SIGCHLD inherited ignored too, and a SIGTERM still stops the
 * job before ctxrun dies of it.
 */
Test(startup, signalfd_event_loop_hears_exits_and_signals)
{
	/* EVFLAG_SIGNALFD (0x00200000) with the epoll backend (4). */
	static const char flags[] = "2097156";
	struct h_opts chld_ignored = { .ignore = { SIGCHLD } };
	struct h_proc p;

	for (int i = 0; i < 2; i++) {
		setenv("LIBEV_FLAGS", flags, 1);
		h_start(&p, i ? &chld_ignored : NULL, "--", h_th, "touch",
			ran);
		unsetenv("LIBEV_FLAGS");
		h_finish(&p, 5000);
		expect_exit(&p, 0);
		cr_assert_eq(access(ran, F_OK), 0, "the command did not run");
		h_release(&p);
		unlink(ran);
	}

	setenv("LIBEV_FLAGS", flags, 1);
	h_start(&p, NULL, "-n", "a", "-c", "$TH ready-sleep 30000");
	unsetenv("LIBEV_FLAGS");
	cr_assert_not_null(h_wait_out(&p, "ready", 5000), "stdout: <%s>",
			   p.out.data);
	h_kill(&p, SIGTERM);
	h_finish(&p, 5000);
	cr_assert_eq(h_sig(&p), SIGTERM, "status %#x, stderr: <%s>", p.status,
		     p.err.data);
	expect_err_has(&p, "a: SIGTERM (interrupted by SIGTERM)");
	h_done(&p);
}

/*
 * Started with 0, 1 or 2 closed (each alone and all three), ctxrun runs
 * its command, which finds all three open (/dev/null stands in).
 */
Test(startup, closed_standard_fds)
{
	static const char *const redirs[] = {
		"exec \"$@\" <&-", "exec \"$@\" >&-", "exec \"$@\" 2>&-",
		"exec \"$@\" <&- >&- 2>&-",
	};
	static const char check[] = "test -e /proc/self/fd/0 && "
				    "test -e /proc/self/fd/1 && "
				    "test -e /proc/self/fd/2 && ";
	char script[512], job[640];
	struct h_proc p;

	snprintf(script, sizeof(script), "%sexec \"$0\" touch \"$1\"", check);
	snprintf(job, sizeof(job), "%s%s touch %s", check, h_th, ran);
	for (size_t i = 0; i < sizeof(redirs) / sizeof(*redirs); i++) {
		/* One command, then a -c job. */
		const char *const argv[2][12] = {
			{ "/bin/sh", "-c", redirs[i], "sh", h_ctxrun, "--",
			  "/bin/sh", "-c", script, h_th, ran, NULL },
			{ "/bin/sh", "-c", redirs[i], "sh", h_ctxrun, "-q",
			  "-c", job, NULL },
		};

		for (int mode = 0; mode < 2; mode++) {
			h_start_argv(&p, NULL, argv[mode]);
			h_finish(&p, 20000);
			expect_exit(&p, 0);
			cr_assert_eq(unlink(ran), 0, "%s: %s did not run",
				     redirs[i], mode ? "the -c job" : "COMMAND");
			h_done(&p);
		}
	}
}

/* Run ctxrun ARGS... with its standard output redirected as REDIR says. */
#define run_redirected(p, redir, ...)                                        \
	do {                                                                 \
		h_start_argv((p), NULL, (const char *const[]){               \
			"/bin/sh", "-c", "exec \"$@\" " redir, "sh",         \
			h_ctxrun, __VA_ARGS__, NULL });                      \
		h_finish((p), 20000);                                        \
	} while (0)

/*
 * What ctxrun prints and exits after (--help, --version, --check) must
 * reach standard output: a full disk or a closed fd is a write error and
 * 125, as GNU tools have it, not 0 over output that was lost.
 */
Test(startup, help_version_check_into_a_full_disk_are_125)
{
	static const char enospc[] =
		"ctxrun: write error: No space left on device\n";
	struct h_proc p;

	run_redirected(&p, ">/dev/full", "--help");
	expect_exit(&p, 125);
	expect_err(&p, enospc);
	h_release(&p);
	run_redirected(&p, ">/dev/full", "--version");
	expect_exit(&p, 125);
	expect_err(&p, enospc);
	h_release(&p);
	run_redirected(&p, ">/dev/full", "--check", "-c", "true");
	expect_exit(&p, 125);
	expect_err(&p, enospc);
	h_release(&p);
	run_redirected(&p, ">&-", "--help");
	expect_exit(&p, 125);
	expect_err(&p, "ctxrun: write error: Bad file descriptor\n");
	h_release(&p);
	/* Where the output is taken, nothing changes. */
	h_run(&p, NULL, "--version");
	expect_exit(&p, 0);
	expect_err(&p, "");
	h_release(&p);
}

/* -f /dev/zero: the first NUL ends the reading, at once and in one line. */
Test(startup, endless_file_of_nul_is_refused_at_once)
{
	struct h_proc p;

	h_start(&p, NULL, "-f", "/dev/zero");
	/* A reader without a bound takes gigabytes in this time. */
	h_finish(&p, 4000);
	expect_exit(&p, 125);
	expect_err(&p, "ctxrun: /dev/zero:1: NUL byte\n");
	h_release(&p);
}

/* A NUL names its line and ends the file (no later errors); nothing runs. */
Test(startup, nul_byte_names_its_line)
{
	char text[512], want[512];
	const char *path;
	struct h_proc p;
	int n = snprintf(text, sizeof(text), "[job:a]\ncommand = %s touch %s\n"
			 "# a", h_th, ran);

	memcpy(text + n, "\0b\nbogus = 1\n", 14);
	path = fx_path("nul.ini");
	h_write_file(path, text, (size_t)n + 14, 0644);
	snprintf(want, sizeof(want), "ctxrun: %s:3: NUL byte\n", path);
	h_run(&p, NULL, "-f", path);
	expect_exit(&p, 125);
	expect_err(&p, want);
	cr_assert_neq(access(ran, F_OK), 0, "the job ran");
	h_release(&p);
}

/* A line of more than 64 KiB is refused, naming its line. */
Test(startup, huge_line_is_refused)
{
	size_t len = 70000;
	char *text = malloc(len + 64), want[512];
	const char *path;
	struct h_proc p;
	int n = sprintf(text, "[job:a]\ncommand = ");

	memset(text + n, 'x', len);
	text[n + len] = '\n';
	path = fx_path("long.ini");
	h_write_file(path, text, (size_t)n + len + 1, 0644);
	free(text);
	snprintf(want, sizeof(want), "ctxrun: %s:2: line longer than 64 KiB\n",
		 path);
	h_run(&p, NULL, "-f", path);
	expect_exit(&p, 125);
	expect_err(&p, want);
	h_release(&p);
}

/* More than 16 MiB on standard input: reading stops there. */
Test(startup, huge_file_on_stdin_is_refused)
{
	size_t len = 17 << 20;
	char *text = malloc(len + 1);
	struct h_opts o = { .input_len = len };
	struct h_proc p;

	/* "#\n" lines: comments, which would be valid. */
	for (size_t i = 0; i < len; i += 2) {
		text[i] = '#';
		text[i + 1] = '\n';
	}
	text[len] = '\0';
	o.input = text;
	h_run(&p, &o, "-f", "-");
	free(text);
	expect_exit(&p, 125);
	expect_err(&p, "ctxrun: -:8388609: file larger than 16 MiB\n");
	h_release(&p);
}
