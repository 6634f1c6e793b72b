/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "ctxrun/signame.h"
#include "ctxrun/util.h"

TestSuite(signame, .timeout = 10);

/* Parse TEXT as a signal, asserting success. */
static int
sig_ok(const char *text)
{
	struct err e;
	int sig = -1;

	cr_assert_eq(signame_parse(text, &sig, &e), 0, "'%s': %s", text, e.msg);
	return sig;
}

/* Parse TEXT, asserting failure, and return the message. */
static const char *
sig_bad(const char *text)
{
	static struct err e;
	int sig = 12345;

	cr_assert_eq(signame_parse(text, &sig, &e), -1, "'%s' accepted as %d",
		     text, sig);
	cr_assert_eq(sig, 12345, "'%s' wrote a value on failure", text);
	return e.msg;
}

Test(signame, names_numbers_any_case)
{
	cr_assert_eq(sig_ok("TERM"), SIGTERM);
	cr_assert_eq(sig_ok("SIGTERM"), SIGTERM);
	cr_assert_eq(sig_ok("term"), SIGTERM);
	cr_assert_eq(sig_ok("sigint"), SIGINT);
	cr_assert_eq(sig_ok("15"), SIGTERM);
	cr_assert_eq(sig_ok("9"), SIGKILL);
	cr_assert_eq(sig_ok("usr1"), SIGUSR1);
	cr_assert_eq(sig_ok("HUP"), SIGHUP);
}

/*
 * The other names GNU timeout takes (gnulib's str2sig): old aliases, and
 * real-time signals counted from either end, with or without SIG, in any
 * case. Either end reaches the other, and no further (RTMIN 34 and RTMAX
 * 64 with glibc on Linux).
 */
Test(signame, gnu_names)
{
	/* Not static: SIGRTMIN and SIGRTMAX are known at run time only. */
	const struct {
		const char *name;
		int sig;
	} cases[] = {
		{ "IOT", SIGABRT },    { "SIGIOT", SIGABRT },
		{ "iot", SIGABRT },    { "ABRT", SIGABRT },
		{ "CLD", SIGCHLD },    { "SIGCLD", SIGCHLD },
		{ "sigcld", SIGCHLD }, { "CHLD", SIGCHLD },
		{ "IO", SIGIO },       { "SIGIO", SIGIO },
		{ "io", SIGIO },       { "POLL", SIGPOLL },
		{ "SIGPOLL", SIGPOLL }, { "Poll", SIGPOLL },
		{ "RTMIN", SIGRTMIN }, { "SIGRTMIN", SIGRTMIN },
		{ "rtmin", SIGRTMIN }, { "RTMAX", SIGRTMAX },
		{ "sigrtmax", SIGRTMAX }, { "RTMIN+3", SIGRTMIN + 3 },
		{ "SIGRTMIN+3", SIGRTMIN + 3 }, { "rtmin+0", SIGRTMIN },
		{ "RTMAX-1", SIGRTMAX - 1 }, { "SigRtMax-1", SIGRTMAX - 1 },
		{ "RTMAX-0", SIGRTMAX }, { "RTMIN+30", SIGRTMAX },
		{ "RTMAX-30", SIGRTMIN },
	};

	cr_assert_eq(SIGRTMAX - SIGRTMIN, 30, "glibc's are 34 to 64");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cr_assert_eq(sig_ok(cases[i].name), cases[i].sig, "%s",
			     cases[i].name);
	}
}

/* An offset past the other end is an error that names it. */
Test(signame, realtime_out_of_range)
{
	cr_assert_str_eq(sig_bad("RTMIN+31"),
			 "RTMIN+31 is out of range: RTMIN+0 to RTMIN+30");
	cr_assert_str_eq(sig_bad("sigrtmax-31"),
			 "RTMAX-31 is out of range: RTMAX-0 to RTMAX-30");
	cr_assert_str_eq(sig_bad("RTMIN+99999999999999999999"),
			 "RTMIN+99999999999999999999 is out of range: "
			 "RTMIN+0 to RTMIN+30");
}

Test(signame, rejects_non_signals)
{
	static const char *const bad_numbers[] = { "0", "-1", "15x", "65" };
	static const char *const bad_names[] = {
		"FOO", "SIG", "", "SIGSIGTERM", "RTMIN-1", "RTMAX+1", "RTMIN+",
		"RTMAX-", "RTMIN3", "RTMIN+3x", "RTMIN+-3", "RTMIN++3",
		"RTMIN+ 3", "RT", "RTMINUS", "I", "CL", "SIGRT",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad_numbers); i++) {
		sig_bad(bad_numbers[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		cr_assert_str_eq(sig_bad(bad_names[i]), "unknown signal",
				 "'%s'", bad_names[i]);
	}
}

Test(signame, prints_names)
{
	cr_assert_str_eq(signame_name(SIGTERM), "SIGTERM");
	cr_assert_str_eq(signame_name(SIGKILL), "SIGKILL");
	cr_assert_str_eq(signame_name(SIGSTKFLT), "SIGSTKFLT");
	cr_assert_str_eq(signame_name(SIGRTMIN), "SIGRTMIN");
	cr_assert_str_eq(signame_name(SIGRTMIN + 3), "SIGRTMIN+3");
	cr_assert_str_eq(signame_name(SIGRTMAX - 1), "SIGRTMAX-1");
	cr_assert_str_eq(signame_name(SIGRTMIN + 15), "SIGRTMIN+15");
	cr_assert_str_eq(signame_name(SIGRTMIN + 16), "SIGRTMAX-14");
	cr_assert_str_eq(signame_name(SIGRTMAX), "SIGRTMAX");
	cr_assert_str_eq(signame_name(32), "SIG32");
}

/* Every name printed parses back to its signal. */
Test(signame, names_parse_back)
{
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig != 32 && sig != 33) {
			cr_assert_eq(sig_ok(signame_name(sig)), sig, "%s",
				     signame_name(sig));
		}
	}
}

/*
 * The signals that interrupt a run: each ends a process by default, none
 * reports a fault of its own or a closed pipe, and none is listed twice.
 */
Test(signame, interrupts)
{
	static const int issue[] = {
		SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGUSR1, SIGUSR2,
		SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGSYS, SIGPIPE,
	};
	static const int never[] = {
		SIGKILL, SIGSTOP, SIGCHLD, SIGCONT, SIGTSTP, SIGTTIN,
		SIGTTOU, SIGWINCH, SIGURG, SIGSEGV, SIGBUS, SIGILL, SIGFPE,
		SIGABRT, SIGTRAP,
	};
	bool seen[NSIG] = { false };

	for (size_t i = 0; i < SIGNAME_N_INTERRUPTS; i++) {
		int sig = signame_interrupts[i];

		cr_assert(sig > 0 && sig < SIGRTMIN, "%d", sig);
		cr_assert(!seen[sig], "%s twice", signame_name(sig));
		seen[sig] = true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(issue); i++) {
		cr_assert(seen[issue[i]], "%s missing", signame_name(issue[i]));
	}
	for (size_t i = 0; i < ARRAY_SIZE(never); i++) {
		cr_assert(!seen[never[i]], "%s listed", signame_name(never[i]));
	}
}
