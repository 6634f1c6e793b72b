/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of the one-command mode: run the built ctxrun on the th
 * helper and check exit statuses, messages, what the command is given
 * (argv, stdio, environment, fds, signal state, process group), deadline
 * escalation, leftover processes and signals sent to ctxrun. Every test
 * also checks that nothing survives ctxrun.
 *
 * Timing bounds hold on a loaded 2-core machine running tests in parallel:
 * lower bounds are the configured durations (minus clock slack), upper
 * bounds are several seconds but well below the grace or timeout a broken
 * program would wait for.
 */
#include "expect.h"
#include "fixture.h"
#include "harness.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRY_LINE "Try 'ctxrun --help' for more information.\n"

TestSuite(cli, .timeout = 30, .init = fx_init, .fini = fx_fini);

/* Expected single stderr line for a stop at the deadline. */
static const char *
timeout_line(const char *sig, const char *dur)
{
	static char buf[256];

	snprintf(buf, sizeof(buf),
		 "ctxrun: %s: %s (deadline exceeded (--timeout %s))\n",
		 h_th_name, sig, dur);
	return buf;
}

/* Assert every stderr line of P starts with "ctxrun: ". */
static void
expect_prefixed(const struct h_proc *p)
{
	const char *s = p->err.data;

	while (*s != '\0') {
		cr_assert(strncmp(s, "ctxrun: ", 8) == 0,
			  "stderr line without prefix in <%s>", p->err.data);
		s = strchr(s, '\n');
		if (s == NULL) {
			break;
		}
		s++;
	}
}

/*
 * Run ctxrun ARG VALUE (as two args, or one when VALUE is NULL) followed by
 * "-- th touch FILE" and expect a usage error whose first line starts with
 * FIRST, followed by the help hint, and that the command did not run.
 */
static void
expect_usage_error(const char *arg, const char *value, const char *first)
{
	const char *file = fx_path("ran");
	struct h_proc p;

	if (value != NULL) {
		h_run(&p, NULL, arg, value, "--", h_th, "touch", file);
	} else {
		h_run(&p, NULL, arg, "--", h_th, "touch", file);
	}
	cr_assert_eq(h_code(&p), 125,
		     "%s '%s': want exit 125, got status %#x; stderr: <%s>",
		     arg, value ? value : "", p.status, p.err.data);
	cr_assert(!fx_exists("ran"), "%s '%s': the command ran", arg,
		  value ? value : "");
	cr_assert(strncmp(p.err.data, first, strlen(first)) == 0,
		  "%s '%s': stderr <%s> does not start with <%s>", arg,
		  value ? value : "", p.err.data, first);
	cr_assert_eq(h_lines(p.err.data), 2, "%s '%s': stderr <%s>", arg,
		     value ? value : "", p.err.data);
	cr_assert(p.err.len >= strlen(TRY_LINE) &&
			  strcmp(p.err.data + p.err.len - strlen(TRY_LINE),
				 TRY_LINE) == 0,
		  "%s '%s': no help hint in <%s>", arg, value ? value : "",
		  p.err.data);
	cr_assert_str_eq(p.out.data, "");
	h_done(&p);
}

/*
 * expect_usage_error() for OPT with each of the N values in BAD, whose
 * message names the option as LONG_NAME: "ctxrun: invalid LONG_NAME
 * 'VALUE'".
 */
static void
expect_values_refused(const char *opt, const char *long_name,
		      const char *const *bad, size_t n)
{
	char first[128];

	for (size_t i = 0; i < n; i++) {
		snprintf(first, sizeof(first), "ctxrun: invalid %s '%s'",
			 long_name, bad[i]);
		expect_usage_error(opt, bad[i], first);
	}
}

/* ---- exit statuses ---- */

/* The command's own exit status comes back unchanged. */
Test(cli, exit_status_passthrough)
{
	static const char *const codes[] = { "0", "3", "42", "255" };
	struct h_proc p;
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		h_run(&p, NULL, "--", h_th, "exit", codes[i]);
		expect_exit(&p, atoi(codes[i]));
		expect_err(&p, "");
		h_done(&p);
	}
}

/* A deadline that does not expire changes neither status nor timing. */
Test(cli, exit_status_passthrough_with_timeout)
{
	struct h_proc p;

	h_run(&p, NULL, "-t", "20", "-g", "20", "--", h_th, "exit", "42");
	expect_exit(&p, 42);
	expect_err(&p, "");
	expect_secs(p.elapsed, 0.0, 5.0);
	h_done(&p);
}

/*
 * A command that exited before the deadline keeps its status when ctxrun
 * hears of the exit only after the deadline (ctxrun was stopped): it was
 * not stopped, so it did not time out (man page, DECISIONS).
 */
Test(cli, exit_heard_after_the_deadline_keeps_its_status)
{
	struct h_proc p;
	char events[4096];
	pid_t pid;

	cr_assert_eq(setenv("GO", fx_path("go"), 1), 0);
	h_start(&p, NULL, "-t", "1s", "--events", fx_path("ev"), "--", "sh",
		"-c", "echo ready $$; exec \"$TH\" await \"$GO\" 20000 5");
	h_wait_ready(&p, &pid, 1, 10000);
	h_kill(&p, SIGSTOP);
	fx_write("go", "");
	/* Stopped, ctxrun cannot reap it: gone means a zombie here. */
	for (int i = 0; i < 2000 && !h_gone(pid); i++) {
		usleep(5000);
	}
	cr_assert(h_gone(pid), "the command did not exit");
	/* The state needed: the deadline has passed, ctxrun stopped. */
	while (h_now() < p.t0 + 1.5) {
		usleep(10000);
	}
	h_kill(&p, SIGCONT);
	h_finish(&p, 20000);
	expect_exit(&p, 5);
	expect_err(&p, "");
	cr_assert(fx_exists("ev"), "no events file");
	fx_read("ev", events, sizeof(events));
	cr_assert_not_null(strstr(events, "\"event\":\"done\",\"status\":5}"),
			   "done event without a cause; events <%s>", events);
	h_done(&p);
}

/* An expired deadline gives 124 and exactly one message. */
Test(cli, timeout_gives_124_and_one_line)
{
	struct h_proc p;

	h_run(&p, NULL, "-t", "0.3", "--", h_th, "sleep", "60000");
	expect_exit(&p, 124);
	expect_err(&p, timeout_line("SIGTERM", "300ms"));
	expect_out(&p, "");
	expect_secs(p.elapsed, 0.29, 3.0);
	h_done(&p);
}

/* Durations in messages are in canonical form. */
Test(cli, timeout_message_canonical_durations)
{
	static const char *const cases[][2] = {
		{ "200ms", "200ms" },
		{ ".25", "250ms" },
		{ "0.3s", "300ms" },
	};
	struct h_proc p;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h_run(&p, NULL, "--timeout", cases[i][0], "--", h_th, "sleep",
		      "60000");
		expect_exit(&p, 124);
		expect_err(&p, timeout_line("SIGTERM", cases[i][1]));
		h_done(&p);
	}
}

/* A positive timeout below 1 ms is 1 ms, not "no deadline". */
Test(cli, sub_millisecond_timeout_is_not_zero)
{
	struct h_proc p;

	/* A positive value below 1 ms means 1 ms, not "no deadline". */
	h_run(&p, NULL, "-t", "0.0001", "--", h_th, "sleep", "60000");
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.0, 3.0);
	h_done(&p);
}

/* Every documented duration form is accepted. */
Test(cli, valid_durations_accepted)
{
	static const char *const durs[] = {
		"90", "0.5", ".5", "1.5s", "500ms", "1m30s", "1h2m", "2h",
		"1d", "0", "0s", "36500d",
	};
	struct h_proc p;
	size_t i;

	for (i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		h_run(&p, NULL, "-t", durs[i], "-g", durs[i], "--", h_th,
		      "exit", "7");
		cr_assert_eq(h_code(&p), 7,
			     "-t %s: status %#x, stderr <%s>", durs[i],
			     p.status, p.err.data);
		expect_err(&p, "");
		h_done(&p);
	}
}

/* Malformed --timeout values are usage errors and nothing runs. */
Test(cli, bad_timeout_is_125)
{
	static const char *const bad[] = {
		"5x", "-1", "+1", "1e3", "1,5", "1 s", " 1", "", "s",
		"ms", "inf", "nan", "0x10", "1..5", ".", "36600d", "1s ",
	};

	expect_values_refused("-t", "--timeout", bad,
			      sizeof(bad) / sizeof(bad[0]));
}

/* The --timeout error message is the documented one. */
Test(cli, bad_timeout_message_exact)
{
	struct h_proc p;

	h_run(&p, NULL, "--timeout=5x", "--", h_th, "exit", "0");
	expect_exit(&p, 125);
	expect_err(&p, "ctxrun: invalid --timeout '5x': unknown unit 'x'\n"
		       TRY_LINE);
	h_done(&p);
}

/* Malformed --grace / --kill-after values are usage errors. */
Test(cli, bad_grace_is_125)
{
	expect_usage_error("-g", "bad", "ctxrun: invalid --grace 'bad'");
	expect_usage_error("--grace", "-1", "ctxrun: invalid --grace '-1'");
	expect_usage_error("--kill-after", "1x", "ctxrun: invalid");
}

/* Unknown --signal values (and 0) are usage errors. */
Test(cli, bad_signal_is_125)
{
	static const char *const bad[] = {
		"FOO", "0", "SIGFOO", "99", "-1", "", "TERM1", "SIG",
	};

	expect_values_refused("-s", "--signal", bad,
			      sizeof(bad) / sizeof(bad[0]));
}

/* The --signal error message is the documented one. */
Test(cli, bad_signal_message_exact)
{
	struct h_proc p;

	h_run(&p, NULL, "--signal", "FOO", "--", h_th, "exit", "0");
	expect_exit(&p, 125);
	expect_err(&p, "ctxrun: invalid --signal 'FOO': unknown signal\n"
		       TRY_LINE);
	h_done(&p);
}

/* No command is a usage error with the help hint. */
Test(cli, missing_command_is_125)
{
	static const char *const argv0[] = { NULL, NULL };
	static const char *const argv1[] = { NULL, "-t", "1", NULL };
	static const char *const argv2[] = { NULL, "-t", "1", "--", NULL };
	static const char *const argv3[] = { NULL, "--", NULL };
	const char *const *cases[] = { argv0, argv1, argv2, argv3 };
	const char *argv[8];
	struct h_proc p;
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		argv[0] = h_ctxrun;
		for (j = 1; cases[i][j] != NULL; j++) {
			argv[j] = cases[i][j];
		}
		argv[j] = NULL;
		h_start_argv(&p, NULL, argv);
		h_finish(&p, 20000);
		expect_exit(&p, 125);
		cr_assert(strncmp(p.err.data, "ctxrun: missing command",
				  23) == 0,
			  "case %zu: stderr <%s>", i, p.err.data);
		expect_err_has(&p, TRY_LINE);
		cr_assert_eq(h_lines(p.err.data), 2, "stderr <%s>",
			     p.err.data);
		h_done(&p);
	}
}

/* Unknown options, and -c or -f next to "-- COMMAND", are usage errors. */
Test(cli, unknown_option_is_125)
{
	struct h_proc p;

	expect_usage_error("--bogus", NULL, "ctxrun: ");
	expect_usage_error("-Z", NULL, "ctxrun: ");
	/* -c and -f do not mix with "-- COMMAND". */
	expect_usage_error("-c", "true", "ctxrun: ");
	expect_usage_error("-f", "x.ini", "ctxrun: ");

	h_run(&p, NULL, "--bogus", "--", h_th, "touch", fx_path("ran"));
	expect_exit(&p, 125);
	expect_err_has(&p, "'--bogus'");
	cr_assert(!fx_exists("ran"));
	h_done(&p);
}

/* A command without the "--" before it is a usage error. */
Test(cli, double_dash_is_required)
{
	struct h_proc p;

	h_run(&p, NULL, "-t", "5", h_th, "touch", fx_path("ran"));
	expect_exit(&p, 125);
	cr_assert(!fx_exists("ran"), "ran without '--'");
	expect_err_has(&p, TRY_LINE);
	h_done(&p);
}

/* A file without execute permission gives 126. */
Test(cli, not_executable_is_126)
{
	const char *file = fx_path("noexec");
	char want[256];
	struct h_proc p;

	h_write_file(file, "#!/bin/sh\nexit 0\n", 17, 0644);
	h_run(&p, NULL, "--", file);
	expect_exit(&p, 126);
	snprintf(want, sizeof(want), "ctxrun: cannot run '%s': %s\n", file,
		 strerror(EACCES));
	expect_err(&p, want);
	h_done(&p);
}

/* A directory as the command gives 126. */
Test(cli, directory_is_126)
{
	char want[256];
	struct h_proc p;

	h_run(&p, NULL, "-q", "--", fx_dir);
	expect_exit(&p, 126);
	snprintf(want, sizeof(want), "ctxrun: cannot run '%s': ", fx_dir);
	cr_assert(strncmp(p.err.data, want, strlen(want)) == 0,
		  "stderr <%s>", p.err.data);
	cr_assert_eq(h_lines(p.err.data), 1, "stderr <%s>", p.err.data);
	h_done(&p);
}

/* An executable file of unknown format gives 126, with no shell fallback. */
Test(cli, bad_format_is_126)
{
	const char *file = fx_path("badelf");
	char want[256], elf[64];
	struct h_proc p;

	/* An ELF magic with a garbage header: execve fails with ENOEXEC. */
	memset(elf, 0, sizeof(elf));
	memcpy(elf, "\177ELF\002\001\001", 7);
	h_write_file(file, elf, sizeof(elf), 0755);
	h_run(&p, NULL, "--", file);
	expect_exit(&p, 126);
	snprintf(want, sizeof(want), "ctxrun: cannot run '%s': ", file);
	cr_assert(strncmp(p.err.data, want, strlen(want)) == 0,
		  "stderr <%s>", p.err.data);
	h_done(&p);
}

/* A non-executable file found in PATH gives 126. */
Test(cli, not_executable_in_path_is_126)
{
	struct h_proc p;

	h_write_file(fx_path("ctxrun-e2e-noexec"), "#!/bin/sh\nexit 0\n", 17,
		     0644);
	cr_assert_eq(setenv("PATH", fx_dir, 1), 0);
	h_run(&p, NULL, "--", "ctxrun-e2e-noexec");
	expect_exit(&p, 126);
	expect_err_has(&p, "ctxrun: cannot run 'ctxrun-e2e-noexec': ");
	h_done(&p);
}

/* A missing command gives 127, even with -q. */
Test(cli, not_found_is_127)
{
	struct h_proc p;

	h_run(&p, NULL, "--", "ctxrun-e2e-no-such-command", "x");
	expect_exit(&p, 127);
	expect_err(&p, "ctxrun: cannot run 'ctxrun-e2e-no-such-command': "
		       "No such file or directory\n");
	expect_out(&p, "");
	h_done(&p);

	/* Errors are printed even with -q. */
	h_run(&p, NULL, "-q", "-t", "5", "--", "./no/such/file");
	expect_exit(&p, 127);
	expect_err(&p, "ctxrun: cannot run './no/such/file': "
		       "No such file or directory\n");
	h_done(&p);
}

/* The command is looked up in PATH. */
Test(cli, command_found_in_path)
{
	struct h_proc p;

	cr_assert_eq(symlink(h_th, fx_path("th-in-path")), 0);
	cr_assert_eq(setenv("PATH", fx_dir, 1), 0);
	h_run(&p, NULL, "--", "th-in-path", "env", "CTXRUN_JOB");
	expect_exit(&p, 0);
	expect_out(&p, "th-in-path\n");
	expect_err(&p, "");
	h_done(&p);
}

/* A command killed by a signal ctxrun did not send gives 128+N. */
Test(cli, killed_by_own_signal_is_128_plus_n)
{
	char sig[16];
	struct h_proc p;

	snprintf(sig, sizeof(sig), "%d", SIGUSR1);
	h_run(&p, NULL, "-t", "20", "--", h_th, "kill-self", sig);
	expect_exit(&p, 128 + SIGUSR1);
	expect_err(&p, "");
	h_done(&p);

	snprintf(sig, sizeof(sig), "%d", SIGKILL);
	h_run(&p, NULL, "--", h_th, "kill-self", sig);
	expect_exit(&p, 128 + SIGKILL);
	expect_err(&p, "");
	h_done(&p);

	/* Not "sent by ctxrun" even though it is ctxrun's stop signal. */
	snprintf(sig, sizeof(sig), "%d", SIGTERM);
	h_run(&p, NULL, "-t", "20", "--", h_th, "kill-self", sig);
	expect_exit(&p, 128 + SIGTERM);
	expect_err(&p, "");
	h_done(&p);
}

/* --preserve-status reports the command's death by SIGTERM. */
Test(cli, preserve_status_term)
{
	struct h_proc p;

	h_run(&p, NULL, "--preserve-status", "-t", "0.3", "--", h_th, "sleep",
	      "60000");
	expect_exit(&p, 128 + SIGTERM);
	expect_err(&p, timeout_line("SIGTERM", "300ms"));
	h_done(&p);
}

/* --preserve-status reports the SIGKILL after the grace. */
Test(cli, preserve_status_kill_after_grace)
{
	struct h_proc p;

	h_run(&p, NULL, "--preserve-status", "-t", "0.5", "-g", "0.3", "--",
	      h_th, "ignore-term", "60000");
	expect_exit(&p, 128 + SIGKILL);
	expect_secs(p.elapsed, 0.75, 4.0);
	h_done(&p);
}

/* --preserve-status keeps a normal exit status. */
Test(cli, preserve_status_without_timeout)
{
	struct h_proc p;

	h_run(&p, NULL, "--preserve-status", "-t", "20", "--", h_th, "exit",
	      "3");
	expect_exit(&p, 3);
	expect_err(&p, "");
	h_done(&p);
}

/* --signal accepts names in any case, with or without SIG, and numbers. */
Test(cli, stop_signal_names)
{
	static const char *const names[] = { "INT", "int", "SIGINT",
					     "sigint", "SigInt", "2" };
	struct h_proc p;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		h_run(&p, NULL, "--preserve-status", "-s", names[i], "-t",
		      "0.2", "--", h_th, "sleep", "60000");
		cr_assert_eq(h_code(&p), 128 + SIGINT,
			     "-s %s: status %#x, stderr <%s>", names[i],
			     p.status, p.err.data);
		expect_err(&p, timeout_line("SIGINT", "200ms"));
		h_done(&p);
	}
}

/* --signal HUP and KILL are sent as the stop signal. */
Test(cli, stop_signal_hup_and_kill)
{
	struct h_proc p;

	h_run(&p, NULL, "--preserve-status", "--signal=HUP", "-t", "0.2",
	      "--", h_th, "sleep", "60000");
	expect_exit(&p, 128 + SIGHUP);
	expect_err(&p, timeout_line("SIGHUP", "200ms"));
	h_done(&p);

	h_run(&p, NULL, "-s", "KILL", "-t", "0.2", "--", h_th, "ignore-term",
	      "60000");
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.19, 3.0);
	h_done(&p);
}

/* ---- messages ---- */

/* -q silences the timeout message. */
Test(cli, quiet_timeout_prints_nothing)
{
	struct h_proc p;

	h_run(&p, NULL, "-q", "-t", "0.2", "--", h_th, "sleep", "60000");
	expect_exit(&p, 124);
	expect_err(&p, "");
	h_done(&p);

	h_run(&p, NULL, "--quiet", "-t", "0.2", "-g", "0.2", "--", h_th,
	      "ignore-term", "60000");
	expect_exit(&p, 124);
	expect_err(&p, "");
	h_done(&p);
}

/* -q does not silence usage errors. */
Test(cli, quiet_still_prints_usage_errors)
{
	struct h_proc p;

	h_run(&p, NULL, "-q", "-t", "5x", "--", h_th, "exit", "0");
	expect_exit(&p, 125);
	expect_err_has(&p, "ctxrun: invalid --timeout '5x'");
	expect_err_has(&p, TRY_LINE);
	h_done(&p);
	expect_usage_error("--timeout=5x", NULL,
			   "ctxrun: invalid --timeout '5x'");
}

/* -v reports the start (with the right pid) and the exit. */
Test(cli, verbose_lifecycle)
{
	char want[128];
	pid_t pid, pgid;
	struct h_proc p;

	h_run(&p, NULL, "-v", "--", h_th, "pgid");
	expect_exit(&p, 0);
	cr_assert_eq(sscanf(p.out.data, "%d %d", &pid, &pgid), 2);
	snprintf(want, sizeof(want), "ctxrun: %s: started (pid %d)\n",
		 h_th_name, pid);
	expect_err_has(&p, want);
	snprintf(want, sizeof(want), "ctxrun: %s: exited with status 0\n",
		 h_th_name);
	expect_err_has(&p, want);
	expect_prefixed(&p);
	cr_assert(strstr(p.err.data, "started") <
			  strstr(p.err.data, "exited"),
		  "stderr <%s>", p.err.data);
	h_done(&p);

	h_run(&p, NULL, "--verbose", "--", h_th, "exit", "3");
	expect_exit(&p, 3);
	snprintf(want, sizeof(want), "ctxrun: %s: exited with status 3\n",
		 h_th_name);
	expect_err_has(&p, want);
	h_done(&p);
}

/* -v reports the escalation to SIGKILL and the death. */
Test(cli, verbose_escalation)
{
	char want[128];
	struct h_proc p;

	h_run(&p, NULL, "-v", "-t", "0.5", "-g", "0.5", "--", h_th,
	      "ignore-term", "60000");
	expect_exit(&p, 124);
	expect_err_has(&p, timeout_line("SIGTERM", "500ms"));
	snprintf(want, sizeof(want), "ctxrun: %s: no exit after 500ms, "
		 "SIGKILL\n", h_th_name);
	expect_err_has(&p, want);
	snprintf(want, sizeof(want), "ctxrun: %s: killed by SIGKILL\n",
		 h_th_name);
	expect_err_has(&p, want);
	expect_prefixed(&p);
	h_done(&p);
}

/* Escalation adds no line at default verbosity. */
Test(cli, default_verbosity_escalation_is_one_line)
{
	struct h_proc p;

	h_run(&p, NULL, "-t", "0.5", "-g", "0.3", "--", h_th, "ignore-term",
	      "60000");
	expect_exit(&p, 124);
	expect_err(&p, timeout_line("SIGTERM", "500ms"));
	h_done(&p);
}

/* -v reports leftovers being stopped after the leader exits. */
Test(cli, verbose_leftover)
{
	char want[128];
	struct h_proc p;

	h_run(&p, NULL, "-v", "-g", "30", "--", h_th, "grandchild", "60000");
	expect_exit(&p, 0);
	snprintf(want, sizeof(want), "ctxrun: %s: 1 leftover process",
		 h_th_name);
	expect_err_has(&p, want);
	expect_err_has(&p, ", SIGTERM (leader exited)\n");
	expect_prefixed(&p);
	h_done(&p);
}

/* --help and --version print to stdout and exit 0. */
Test(cli, help_and_version)
{
	static const char *const help[] = { "--help", "-h" };
	static const char *const version[] = { "--version", "-V" };
	struct h_proc p;
	size_t i;

	for (i = 0; i < 2; i++) {
		h_run(&p, NULL, help[i]);
		expect_exit(&p, 0);
		expect_err(&p, "");
		cr_assert_not_null(strcasestr(p.out.data, "usage: ctxrun"),
				   "%s: stdout <%s>", help[i], p.out.data);
		cr_assert_not_null(strstr(p.out.data, "--timeout"));
		h_done(&p);

		h_run(&p, NULL, version[i]);
		expect_exit(&p, 0);
		expect_err(&p, "");
		expect_out(&p, "ctxrun 0.1.0\n");
		h_done(&p);
	}
}

/* ---- argv ---- */

/* Arguments reach the command unchanged, with no shell in between. */
Test(cli, argv_verbatim)
{
	struct h_proc p;

	h_run(&p, NULL, "--", h_th, "argv", "a b", "'single'", "\"double\"",
	      "$HOME", "a;b", "", "*", "?[x]", "\\n", "a|b&c", "`id`",
	      "$(id)", "~", "  ", "tab\there", "line\nbreak", "-t", "5",
	      "--", "--help", "-v");
	expect_exit(&p, 0);
	expect_out(&p, "[a b]\n['single']\n[\"double\"]\n[$HOME]\n[a;b]\n"
		       "[]\n[*]\n[?[x]]\n[\\n]\n[a|b&c]\n[`id`]\n[$(id)]\n"
		       "[~]\n[  ]\n[tab\there]\n[line\nbreak]\n[-t]\n[5]\n"
		       "[--]\n[--help]\n[-v]\n");
	expect_err(&p, "");
	h_done(&p);
}

/* ---- stdio ---- */

/* ctxrun's stdin is the command's stdin. */
Test(cli, stdin_passed_through)
{
	struct h_opts o = { .input = "hello\nworld\n" };
	struct h_proc p;

	h_run(&p, &o, "-t", "20", "--", h_th, "cat");
	expect_exit(&p, 0);
	expect_out(&p, "hello\nworld\n");
	expect_err(&p, "");
	h_done(&p);

	/* Without input the harness gives /dev/null: cat ends at once. */
	h_run(&p, NULL, "--", h_th, "cat");
	expect_exit(&p, 0);
	expect_out(&p, "");
	h_done(&p);
}

/* A large input passes through stdin intact. */
Test(cli, stdin_large)
{
	struct h_opts o = { 0 };
	struct h_proc p;
	size_t i, n = 300000;
	char *data;

	data = malloc(n + 1);
	cr_assert_not_null(data);
	for (i = 0; i < n; i++) {
		data[i] = (char)('a' + i % 26);
	}
	data[n] = '\0';
	o.input = data;
	o.input_len = n;
	h_run(&p, &o, "--", h_th, "cat");
	expect_exit(&p, 0);
	cr_assert_eq(p.out.len, n);
	cr_assert(memcmp(p.out.data, data, n) == 0);
	h_done(&p);
	free(data);
}

/* The command writes to ctxrun's own stdout and stderr, not copies. */
Test(cli, stdio_is_the_commands_own)
{
	unsigned long long ino[3];
	struct stat out, err, null;
	struct h_proc p;

	h_run(&p, NULL, "--", h_th, "print", "to stdout", "to stderr");
	expect_exit(&p, 0);
	expect_out(&p, "to stdout\n");
	expect_err(&p, "to stderr\n");
	h_done(&p);

	/* Raw, not copied: the command's fds are the very pipes we gave. */
	h_start(&p, NULL, "--", h_th, "stdio-ino");
	cr_assert_eq(fstat(p.out_fd, &out), 0);
	cr_assert_eq(fstat(p.err_fd, &err), 0);
	cr_assert_eq(stat("/dev/null", &null), 0);
	h_finish(&p, 20000);
	expect_exit(&p, 0);
	cr_assert_eq(sscanf(p.out.data, "%llu %llu %llu", &ino[0], &ino[1],
			    &ino[2]),
		     3);
	cr_assert_eq(ino[0], (unsigned long long)null.st_ino);
	cr_assert_eq(ino[1], (unsigned long long)out.st_ino,
		     "stdout is not our pipe");
	cr_assert_eq(ino[2], (unsigned long long)err.st_ino,
		     "stderr is not our pipe");
	h_done(&p);
}

/* The command gets SIGPIPE's default action even if ctxrun ignores it. */
Test(cli, sigpipe_is_default_in_command)
{
	struct h_opts o = { .close_stdout = true, .ignore = { SIGPIPE } };
	struct h_proc p;

	/* Our read end is closed: the command dies of SIGPIPE. */
	h_run(&p, &o, "-t", "20", "--", h_th, "flood", "10000000");
	expect_exit(&p, 128 + SIGPIPE);
	expect_err(&p, "");
	h_done(&p);
}

/* ---- environment ---- */

/* CTXRUN_JOB is the basename of the command. */
Test(cli, env_job_name)
{
	char want[128];
	struct h_proc p;

	h_run(&p, NULL, "--", h_th, "env", "CTXRUN_JOB");
	expect_exit(&p, 0);
	snprintf(want, sizeof(want), "%s\n", h_th_name);
	expect_out(&p, want);
	h_done(&p);
}

/* ctxrun's environment reaches the command. */
Test(cli, env_passed_through)
{
	struct h_proc p;

	cr_assert_eq(setenv("CTXRUN_E2E_VAR", "a b=c;$d", 1), 0);
	h_run(&p, NULL, "-t", "20", "--", h_th, "env", "CTXRUN_E2E_VAR");
	expect_exit(&p, 0);
	expect_out(&p, "a b=c;$d\n");
	h_done(&p);
}

/* Whether S is "<digits>.<3 digits>\n". */
static bool
is_deadline(const char *s)
{
	const char *dot = strchr(s, '.');
	const char *c;

	if (dot == NULL || dot == s) {
		return false;
	}
	for (c = s; c < dot; c++) {
		if (!isdigit((unsigned char)*c)) {
			return false;
		}
	}
	return isdigit((unsigned char)dot[1]) &&
	       isdigit((unsigned char)dot[2]) &&
	       isdigit((unsigned char)dot[3]) && strcmp(dot + 4, "\n") == 0;
}

/* CTXRUN_DEADLINE is now + timeout, with three decimals. */
Test(cli, env_deadline_with_timeout)
{
	struct h_proc p;
	double before, after, v;

	before = h_wall();
	h_run(&p, NULL, "-t", "10", "--", h_th, "env", "CTXRUN_DEADLINE");
	after = h_wall();
	expect_exit(&p, 0);
	cr_assert(is_deadline(p.out.data), "CTXRUN_DEADLINE=<%s>",
		  p.out.data);
	v = strtod(p.out.data, NULL);
	cr_assert(v >= before + 10 - 0.002 && v <= after + 10 + 0.002,
		  "CTXRUN_DEADLINE %.3f not in [%.3f, %.3f]", v, before + 10,
		  after + 10);
	h_done(&p);
}

/* Without a deadline there is no CTXRUN_DEADLINE. */
Test(cli, env_deadline_absent_without_timeout)
{
	struct h_proc p;

	h_run(&p, NULL, "--", h_th, "env", "CTXRUN_DEADLINE");
	expect_exit(&p, 0);
	expect_out(&p, "(unset)\n");
	h_done(&p);

	h_run(&p, NULL, "-t", "0", "--", h_th, "env", "CTXRUN_DEADLINE");
	expect_exit(&p, 0);
	expect_out(&p, "(unset)\n");
	h_done(&p);
}

/* Set CTXRUN_DEADLINE to IN seconds from now. */
static void
set_deadline(double in)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.3f", h_wall() + in);
	cr_assert_eq(setenv("CTXRUN_DEADLINE", buf, 1), 0);
}

/*
 * A deadline already over when ctxrun starts still runs the command and
 * stops it at once, as GNU timeout does for a timeout already over: with
 * --preserve-status the status is the command's death by SIGTERM.
 */
Test(cli, deadline_already_over_starts_and_stops_the_command)
{
	struct h_proc p;

	set_deadline(-10);
	h_run(&p, NULL, "--preserve-status", "--", h_th, "sleep", "60000");
	expect_exit(&p, 128 + SIGTERM);
	expect_err_has(&p, "SIGTERM (deadline exceeded (inherited "
			   "CTXRUN_DEADLINE))");
	h_done(&p);
}

/* An inherited CTXRUN_DEADLINE earlier than --timeout wins. */
Test(cli, inherited_deadline_is_honoured)
{
	struct h_proc p;

	set_deadline(0.4);
	h_run(&p, NULL, "-t", "60", "--", h_th, "sleep", "60000");
	expect_exit(&p, 124);
	expect_err_has(&p, "inherited CTXRUN_DEADLINE");
	cr_assert_eq(h_lines(p.err.data), 1, "stderr <%s>", p.err.data);
	expect_secs(p.elapsed, 0.2, 3.0);
	h_done(&p);

	/* Without --timeout too. */
	set_deadline(0.3);
	h_run(&p, NULL, "--", h_th, "sleep", "60000");
	expect_exit(&p, 124);
	expect_err_has(&p, "inherited CTXRUN_DEADLINE");
	expect_secs(p.elapsed, 0.1, 3.0);
	h_done(&p);
}

/* --timeout wins over a later inherited CTXRUN_DEADLINE. */
Test(cli, own_timeout_wins_when_earlier)
{
	struct h_proc p;

	set_deadline(60);
	h_run(&p, NULL, "-t", "0.3", "--", h_th, "sleep", "60000");
	expect_exit(&p, 124);
	expect_err(&p, timeout_line("SIGTERM", "300ms"));
	h_done(&p);
}

/* An inherited deadline is passed on unchanged. */
Test(cli, inherited_deadline_propagates)
{
	char set[64];
	struct h_proc p;
	double want, got;

	want = h_wall() + 100;
	snprintf(set, sizeof(set), "%.3f", want);
	want = strtod(set, NULL);
	cr_assert_eq(setenv("CTXRUN_DEADLINE", set, 1), 0);
	h_run(&p, NULL, "--", h_th, "env", "CTXRUN_DEADLINE");
	expect_exit(&p, 0);
	cr_assert(is_deadline(p.out.data), "CTXRUN_DEADLINE=<%s>",
		  p.out.data);
	got = strtod(p.out.data, NULL);
	cr_assert(got > want - 0.0015 && got < want + 0.0015,
		  "child got %.3f, ctxrun got %s", got, set);
	h_done(&p);
}

/* An invalid CTXRUN_DEADLINE is an error and nothing runs. */
Test(cli, invalid_inherited_deadline_is_125)
{
	static const char *const bad[] = { "abc", "12x", "1.5.5", "inf" };
	struct h_proc p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(setenv("CTXRUN_DEADLINE", bad[i], 1), 0);
		h_run(&p, NULL, "-t", "5", "--", h_th, "touch", fx_path("ran"));
		cr_assert_eq(h_code(&p), 125,
			     "CTXRUN_DEADLINE=%s: status %#x, stderr <%s>",
			     bad[i], p.status, p.err.data);
		cr_assert(!fx_exists("ran"), "CTXRUN_DEADLINE=%s: it ran",
			  bad[i]);
		expect_err_has(&p, "ctxrun: ");
		expect_err_has(&p, "CTXRUN_DEADLINE");
		h_done(&p);
	}
}

/* A nested ctxrun with a long timeout ends at the outer deadline. */
Test(cli, nested_ctxrun_honours_outer_deadline)
{
	struct h_proc p;

	h_run(&p, NULL, "-t", "0.3", "--", h_ctxrun, "-t", "60", "--", h_th,
	      "sleep", "10000");
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.29, 5.0);
	h_done(&p);
}

/* ---- process hygiene ---- */

/* Fds above 2 that ctxrun inherited do not reach the command. */
Test(cli, fds_above_2_not_inherited)
{
	struct h_proc p;
	int fd, fd2;

	fd = open("/dev/null", O_RDONLY); /* no O_CLOEXEC, on purpose */
	cr_assert_neq(fd, -1);
	fd2 = dup2(fd, 42);
	cr_assert_eq(fd2, 42);
	h_run(&p, NULL, "--", h_th, "fds");
	expect_exit(&p, 0);
	expect_out(&p, "0 1 2\n");
	h_done(&p);
	close(fd);
	close(fd2);
}

/* The command gets an empty mask and no ignored signals. */
Test(cli, clean_signal_state_in_command)
{
	struct h_opts o = {
		.ignore = { SIGINT, SIGPIPE, SIGQUIT, SIGUSR1, SIGTSTP },
		.block = { SIGUSR2, SIGALRM, SIGWINCH, SIGQUIT },
	};
	struct h_proc p;

	h_run(&p, &o, "-t", "20", "--", h_th, "sigstate");
	expect_exit(&p, 0);
	expect_out(&p, "mask 0000000000000000\nignored\n");
	h_done(&p);

	/* Same with --foreground, which skips setpgid. */
	h_run(&p, &o, "--foreground", "--", h_th, "sigstate");
	expect_exit(&p, 0);
	expect_out(&p, "mask 0000000000000000\nignored\n");
	h_done(&p);
}

/*
 * The watchdog leaves ctxrun's group before the command starts: a
 * --foreground command shares the group, and a watchdog seen there would
 * be waited for as a leftover of the job, forever.
 */
Test(cli, watchdog_is_never_in_the_command_group)
{
	char want[64];
	struct h_proc p;

	for (int i = 0; i < 20; i++) {
		h_run(&p, NULL, "--foreground", "--", h_th, "pgid-peers");
		expect_exit(&p, 0);
		snprintf(want, sizeof(want), "peers %ld\n", (long)p.pid);
		expect_out(&p, want);
		h_release(&p);
	}
	h_no_survivors();
}

/* The command leads its own process group. */
Test(cli, command_in_own_process_group)
{
	long pid, pgid;
	struct h_proc p;

	h_run(&p, NULL, "-t", "20", "--", h_th, "pgid");
	expect_exit(&p, 0);
	cr_assert_eq(sscanf(p.out.data, "%ld %ld", &pid, &pgid), 2);
	cr_assert_eq(pid, pgid, "command not a group leader: <%s>",
		     p.out.data);
	cr_assert_neq(pgid, (long)p.pid);
	h_done(&p);
}

/* With --foreground the command stays in ctxrun's group. */
Test(cli, foreground_keeps_ctxrun_group)
{
	long pid, pgid;
	struct h_proc p;

	/* The harness makes ctxrun the leader of its own group. */
	h_run(&p, NULL, "--foreground", "-t", "20", "--", h_th, "pgid");
	expect_exit(&p, 0);
	cr_assert_eq(sscanf(p.out.data, "%ld %ld", &pid, &pgid), 2);
	cr_assert_eq(pgid, (long)p.pid, "pgid %ld, ctxrun %ld", pgid,
		     (long)p.pid);
	cr_assert_neq(pid, pgid);
	h_done(&p);
}

/* With --foreground a timeout stops the command, not ctxrun. */
Test(cli, foreground_timeout)
{
	struct h_proc p;

	/* ctxrun must stop the command without signalling itself. */
	h_run(&p, NULL, "--foreground", "-t", "0.3", "--", h_th, "sleep",
	      "60000");
	expect_exit(&p, 124);
	expect_err(&p, timeout_line("SIGTERM", "300ms"));
	expect_secs(p.elapsed, 0.29, 3.0);
	h_done(&p);
}

/* With --foreground leftovers are still stopped. */
Test(cli, foreground_leftover_stopped)
{
	pid_t pids[2];
	struct h_proc p;

	h_start(&p, NULL, "--foreground", "-g", "30", "--", h_th,
		"grandchild", "60000");
	cr_assert_eq(h_wait_ready(&p, pids, 2, 10000), 2);
	h_finish(&p, 20000);
	expect_exit(&p, 0);
	expect_secs(p.elapsed, 0.0, 5.0);
	h_no_survivors();
	cr_assert(h_gone(pids[1]));
	h_release(&p);
}

/* ---- escalation ---- */

/* A command ignoring TERM is killed after the grace. */
Test(cli, escalation_after_grace)
{
	pid_t pid;
	struct h_proc p;

	h_start(&p, NULL, "-t", "0.5", "-g", "0.5", "--", h_th, "ignore-term",
		"60000");
	h_wait_ready(&p, &pid, 1, 10000);
	h_finish(&p, 20000);
	expect_exit(&p, 124);
	expect_err(&p, timeout_line("SIGTERM", "500ms"));
	expect_secs(p.elapsed, 0.95, 4.0);
	h_no_survivors();
	cr_assert(h_gone(pid));
	h_release(&p);
}

/* --kill-after is an alias of --grace. */
Test(cli, kill_after_is_grace_alias)
{
	struct h_proc p;

	h_run(&p, NULL, "-t", "0.5", "--kill-after", "0.5", "--", h_th,
	      "ignore-term", "60000");
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.95, 4.0);
	h_done(&p);
}

/* --grace 0 sends SIGKILL at once, in place of the stop signal. */
Test(cli, grace_zero_kills_at_once)
{
	struct h_proc p;

	h_run(&p, NULL, "-t", "0.5", "-g", "0", "--", h_th, "ignore-term",
	      "60000");
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.49, 2.0);
	h_done(&p);

	h_run(&p, NULL, "--preserve-status", "-t", "0.5", "-g", "0", "--",
	      h_th, "ignore-term", "60000");
	expect_exit(&p, 128 + SIGKILL);
	expect_secs(p.elapsed, 0.49, 2.0);
	h_done(&p);
}

/* A command obeying TERM ends long before the grace. */
Test(cli, term_obeyed_well_before_grace)
{
	struct h_proc p;

	h_run(&p, NULL, "-t", "0.3", "-g", "30", "--", h_th, "ready-sleep",
	      "60000");
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.29, 3.0);
	h_done(&p);
}

/* A stopped command gets SIGCONT after the stop signal. */
Test(cli, stopped_command_is_continued)
{
	pid_t pid;
	struct h_proc p;

	/* The SIGCONT after the stop signal lets a stopped command die. */
	h_start(&p, NULL, "-t", "0.5", "-g", "30", "--", h_th, "stop-self",
		"60000");
	h_wait_ready(&p, &pid, 1, 10000);
	h_finish(&p, 20000);
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.49, 5.0);
	h_done(&p);
}

/* ---- leftovers in the group ---- */

/* A timeout stops every process in the command's group. */
Test(cli, tree_killed_on_timeout)
{
	pid_t pids[4];
	struct h_proc p;
	int i, n;

	h_start(&p, NULL, "-t", "0.5", "--", h_th, "tree", "3", "60000");
	n = h_wait_ready(&p, pids, 4, 10000);
	cr_assert_eq(n, 4, "ready line: <%s>", p.out.data);
	h_finish(&p, 20000);
	expect_exit(&p, 124);
	expect_err(&p, timeout_line("SIGTERM", "500ms"));
	expect_secs(p.elapsed, 0.49, 5.0);
	h_no_survivors();
	for (i = 0; i < n; i++) {
		cr_assert(h_gone(pids[i]), "pid %d survived", pids[i]);
	}
	h_release(&p);
}

/* Leftovers of an exited leader are stopped; its status is kept. */
Test(cli, leader_exit_leftover_stopped)
{
	pid_t pids[2];
	struct h_proc p;

	h_start(&p, NULL, "-g", "30", "--", h_th, "grandchild", "60000");
	cr_assert_eq(h_wait_ready(&p, pids, 2, 10000), 2);
	h_finish(&p, 20000);
	expect_exit(&p, 0);
	expect_err(&p, "");
	expect_secs(p.elapsed, 0.0, 5.0);
	cr_assert(!p.pipes_held, "a leftover kept stdout open");
	h_no_survivors();
	cr_assert(h_gone(pids[1]));
	h_release(&p);
}

/* Leftovers ignoring TERM are killed after the grace. */
Test(cli, leader_exit_leftover_ignoring_term)
{
	pid_t pids[2];
	struct h_proc p;

	h_start(&p, NULL, "-g", "0.5", "--", h_th, "grandchild", "60000",
		"ignore-term");
	cr_assert_eq(h_wait_ready(&p, pids, 2, 10000), 2);
	h_finish(&p, 20000);
	expect_exit(&p, 0);
	expect_secs(p.elapsed, 0.45, 4.0);
	h_no_survivors();
	cr_assert(h_gone(pids[1]));
	h_release(&p);
}

/* ---- signals to ctxrun ---- */

/* Send SIG to ctxrun running a ready command; expect death by SIG. */
static void
expect_interrupt(int sig, const char *name, const struct h_opts *o)
{
	char want[128];
	pid_t pid;
	struct h_proc p;
	double sent;

	h_start(&p, o, "-g", "30", "--", h_th, "ready-sleep", "60000");
	h_wait_ready(&p, &pid, 1, 10000);
	sent = h_now();
	h_kill(&p, sig);
	h_finish(&p, 20000);
	expect_signal(&p, sig);
	snprintf(want, sizeof(want),
		 "ctxrun: %s: SIGTERM (interrupted by %s)\n", h_th_name, name);
	expect_err(&p, want);
	expect_secs(p.reaped_at - sent, 0.0, 5.0);
	h_no_survivors();
	cr_assert(h_gone(pid), "command %d survived", pid);
	h_release(&p);
}

/* SIGINT to ctxrun stops the command and ctxrun dies of SIGINT. */
Test(cli, sigint_to_ctxrun)
{
	expect_interrupt(SIGINT, "SIGINT", NULL);
}

/* SIGTERM to ctxrun stops the command and ctxrun dies of SIGTERM. */
Test(cli, sigterm_to_ctxrun)
{
	expect_interrupt(SIGTERM, "SIGTERM", NULL);
}

/* SIGHUP to ctxrun stops the command and ctxrun dies of SIGHUP. */
Test(cli, sighup_to_ctxrun)
{
	expect_interrupt(SIGHUP, "SIGHUP", NULL);
}

/* ctxrun honours SIGINT even when started with it ignored. */
Test(cli, sigint_honoured_when_started_ignored)
{
	struct h_opts o = { .ignore = { SIGINT } };

	expect_interrupt(SIGINT, "SIGINT", &o);
}

/* -q silences the interruption message. */
Test(cli, quiet_interrupt)
{
	pid_t pid;
	struct h_proc p;

	h_start(&p, NULL, "-q", "--", h_th, "ready-sleep", "60000");
	h_wait_ready(&p, &pid, 1, 10000);
	h_kill(&p, SIGINT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	expect_err(&p, "");
	h_done(&p);
}

/* A second SIGINT while stopping sends SIGKILL at once. */
Test(cli, second_sigint_kills_at_once)
{
	pid_t pid;
	struct h_proc p;
	double sent;

	h_start(&p, NULL, "-g", "30", "--", h_th, "ignore-term", "60000");
	h_wait_ready(&p, &pid, 1, 10000);
	sent = h_now();
	h_kill(&p, SIGINT);
	cr_assert_not_null(h_wait_err(&p, "interrupted by SIGINT", 5000),
			   "no stop message; stderr <%s>", p.err.data);
	h_kill(&p, SIGINT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	expect_secs(p.reaped_at - sent, 0.0, 5.0);
	h_no_survivors();
	cr_assert(h_gone(pid));
	h_release(&p);
}

/* Repeated SIGTERM while leftovers are stopped kills them at once. */
Test(cli, interrupt_during_leftover_stop)
{
	pid_t pids[2];
	struct h_proc p;
	double sent;
	int i;

	/* The leader exited; its leftover ignores TERM; grace is long. */
	h_start(&p, NULL, "-v", "-g", "30", "--", h_th, "grandchild",
		"60000", "ignore-term");
	cr_assert_eq(h_wait_ready(&p, pids, 2, 10000), 2);
	cr_assert_not_null(h_wait_err(&p, "leftover", 5000),
			   "stderr <%s>", p.err.data);
	/*
	 * The leftover is already being stopped, so the first SIGTERM may
	 * count as the first interruption; a repeated one must SIGKILL at
	 * once. Repeat it, so that two signals cannot merge into one.
	 */
	sent = h_now();
	for (i = 0; i < 25 && !p.reaped; i++) {
		h_kill(&p, SIGTERM);
		h_wait_exit(&p, 200);
	}
	h_finish(&p, 20000);
	/*
	 * The contract does not say whether the leader's status (0) or the
	 * interruption decides here; either is fine, a 30 s wait is not.
	 */
	cr_assert(h_code(&p) == 0 || h_sig(&p) == SIGTERM,
		  "status %#x, stderr <%s>", p.status, p.err.data);
	expect_secs(p.reaped_at - sent, 0.0, 5.0);
	h_no_survivors();
	cr_assert(h_gone(pids[1]));
	h_release(&p);
}
