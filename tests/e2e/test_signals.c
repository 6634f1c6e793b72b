/* SPDX-License-Identifier: MIT */
/*
 * Signals by name and signals to ctxrun, on the built binary: the names
 * GNU timeout takes work as stop signals (the job reports which signal it
 * caught), and repeated interruptions say "SIGKILL now" once. Every
 * signal that stops a run is in test_reports.c (with the reports it must
 * leave), and ctxrun started with signals blocked or ignored in
 * test_inherited.c.
 */
#include "expect.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

TestSuite(signals, .init = h_setup, .fini = h_teardown, .timeout = 60);

/*
 * Each name GNU timeout takes and ctxrun(1) promises, with or without SIG
 * and in any case, is the stop signal the job gets at the deadline.
 */
Test(signals, gnu_names_are_stop_signals)
{
	/* Not static: SIGRTMIN and SIGRTMAX are known at run time only. */
	const struct {
		const char *name;
		int sig;
	} cases[] = {
		{ "RTMIN", SIGRTMIN },        { "RTMIN+3", SIGRTMIN + 3 },
		{ "sigrtmin+3", SIGRTMIN + 3 }, { "RTMAX-1", SIGRTMAX - 1 },
		{ "SIGRTMAX", SIGRTMAX },     { "IOT", SIGABRT },
		{ "SIGIOT", SIGABRT },        { "CLD", SIGCHLD },
		{ "sigcld", SIGCHLD },        { "IO", SIGIO },
		{ "SIGIO", SIGIO },           { "POLL", SIGPOLL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = cases[i].name;
		char line[32];
		struct h_proc p;

		h_run(&p, NULL, "-q", "-t", "0.2", "-s", name, "--", h_th,
		      "catch", "30000");
		cr_assert_eq(h_code(&p), 124, "-s %s: status %#x; stderr <%s>",
			     name, p.status, p.err.data);
		snprintf(line, sizeof(line), "caught %d\n", cases[i].sig);
		cr_assert_not_null(strstr(p.out.data, line),
				   "-s %s: want <%s>, stdout <%s>", name, line,
				   p.out.data);
		h_done(&p);
	}
}

/* A real-time offset past the other end is a usage error that names it. */
Test(signals, realtime_offset_out_of_range)
{
	struct h_proc p;

	h_run(&p, NULL, "-s", "RTMIN+31", "--", h_th, "exit", "0");
	expect_exit(&p, 125);
	expect_err(&p, "ctxrun: invalid --signal 'RTMIN+31': RTMIN+31 is "
		       "out of range: RTMIN+0 to RTMIN+30\n"
		       "Try 'ctxrun --help' for more information.\n");
	h_release(&p);
	h_run(&p, NULL, "-s", "sigrtmax-99", "--", h_th, "exit", "0");
	expect_exit(&p, 125);
	expect_err_has(&p, "'sigrtmax-99': RTMAX-99 is out of range: "
			   "RTMAX-0 to RTMAX-30\n");
	h_release(&p);
}

/*
 * A second interruption sends SIGKILL at once and says so; a third finds
 * nothing left to skip and says nothing. ctxrun is stopped while the two
 * arrive, so both are pending together and handled in one turn of its
 * loop, before the job's death can end the run.
 */
Test(signals, sigkill_now_said_once)
{
	struct h_proc p;
	pid_t pid;
	const char *first;

	h_start(&p, NULL, "-g", "30", "--", h_th, "ignore-term", "30000");
	cr_assert_eq(h_wait_ready(&p, &pid, 1, 10000), 1);
	h_kill(&p, SIGINT);
	cr_assert_not_null(h_wait_err(&p, "(interrupted by SIGINT)\n", 10000),
			   "stderr <%s>", p.err.data);
	h_kill(&p, SIGSTOP);
	h_kill(&p, SIGTERM);
	h_kill(&p, SIGHUP);
	h_kill(&p, SIGCONT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	first = strstr(p.err.data, "SIGKILL now\n");
	cr_assert_not_null(first, "stderr <%s>", p.err.data);
	cr_assert_null(strstr(first + 1, "SIGKILL now"),
		       "said more than once: <%s>", p.err.data);
	cr_assert_lt(p.elapsed, 10.0, "the grace was not cut short");
	h_no_survivors();
	cr_assert(h_gone(pid));
	h_release(&p);
}
