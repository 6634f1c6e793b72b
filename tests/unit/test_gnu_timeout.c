/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the `timeout` personality's command line: GNU timeout's
 * durations (coreutils' parse_duration), signals (operand2sig), options,
 * and GNU's quoting of names in messages (escape_gnu_quote). What each
 * case expects is what coreutils' timeout gives, or, where 9.1 and the
 * coreutils of its own tests differ, what the tests ask.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/duration.h"
#include "ctxrun/escape.h"
#include "ctxrun/gnu_timeout.h"
#include "ctxrun/signame.h"

TestSuite(gnu_timeout, .timeout = 10);

/* TEXT as a duration in ms, asserting it parses. */
static int64_t
ms_of(const char *text)
{
	int64_t ms = -1;

	cr_assert_eq(gnu_timeout_duration(text, &ms), 0, "'%s' refused", text);
	return ms;
}

/* Assert that TEXT is no duration, and that a refusal writes nothing. */
static void
bad_duration(const char *text)
{
	int64_t ms = 4242;

	cr_assert_eq(gnu_timeout_duration(text, &ms), -1, "'%s' taken as %lld",
		     text, (long long)ms);
	cr_assert_eq(ms, 4242);
}

Test(gnu_timeout, durations_as_strtod_reads_them)
{
	cr_assert_eq(ms_of("10"), 10000);
	cr_assert_eq(ms_of("10.34"), 10340);
	cr_assert_eq(ms_of(".5"), 500);
	cr_assert_eq(ms_of("1."), 1000);
	cr_assert_eq(ms_of(" 1"), 1000); /* strtod skips leading blanks */
	cr_assert_eq(ms_of("1e3"), 1000000);
	cr_assert_eq(ms_of("0x10"), 16000);
	cr_assert_eq(ms_of("0"), 0);
	cr_assert_eq(ms_of("-0"), 0); /* not below 0: no timeout */
}

Test(gnu_timeout, units_s_m_h_d)
{
	cr_assert_eq(ms_of("2s"), 2000);
	cr_assert_eq(ms_of("1.5m"), 90000);
	cr_assert_eq(ms_of("2h"), 7200000);
	cr_assert_eq(ms_of("1d"), 86400000);
	cr_assert_eq(ms_of(".5s"), 500);
	bad_duration("42D");
	bad_duration("1ms");
	bad_duration("1x");
	bad_duration("1 ");
	bad_duration("1s ");
}

/*
 * Rounded up to the millisecond: a positive timeout never turns into
 * none, and 1e-10000 (an underflow) is the shortest there is.
 */
Test(gnu_timeout, tiny_values_round_up)
{
	cr_assert_eq(ms_of("9.999999999"), 10000);
	cr_assert_eq(ms_of("0.0001"), 1);
	cr_assert_eq(ms_of("1e-300"), 1);
	cr_assert_eq(ms_of("1e-10000"), 1);
	cr_assert_eq(ms_of("1e-10000d"), 1);
}

/* Too large for the timer: clamped, not refused (timeout-large-parameters). */
Test(gnu_timeout, huge_values_clamp)
{
	cr_assert_eq(ms_of("4294967296"), DURATION_MAX_MS);
	cr_assert_eq(ms_of("9223372036854775808d"), DURATION_MAX_MS);
	cr_assert_eq(ms_of("2.34e+5d"), DURATION_MAX_MS);
	cr_assert_eq(ms_of("1.18973149535723176502e+4932"), DURATION_MAX_MS);
	cr_assert_eq(ms_of("inf"), DURATION_MAX_MS);
	cr_assert_eq(ms_of("1e308d"), DURATION_MAX_MS);
}

Test(gnu_timeout, negative_and_malformed_refused)
{
	bad_duration("invalid");
	bad_duration("");
	bad_duration(" -0.1");
	bad_duration("-1");
	bad_duration(" -1e-10000"); /* negative, however small */
	bad_duration("-1.18973149535723176502e+4932");
	bad_duration("nan");
	bad_duration("s");
}

/* TEXT as a -s operand, asserting it is a signal. */
static int
sig_of(const char *text)
{
	int sig = -1;

	cr_assert_eq(gnu_timeout_signal(text, &sig), 0, "'%s' refused", text);
	return sig;
}

/* Assert that TEXT is no signal to GNU timeout. */
static void
bad_signal(const char *text)
{
	int sig = 4242;

	cr_assert_eq(gnu_timeout_signal(text, &sig), -1, "'%s' taken as %d",
		     text, sig);
	cr_assert_eq(sig, 4242);
}

Test(gnu_timeout, signal_names_as_gnu_reads_them)
{
	cr_assert_eq(sig_of("TERM"), SIGTERM);
	cr_assert_eq(sig_of("term"), SIGTERM);
	cr_assert_eq(sig_of("Term"), SIGTERM);
	cr_assert_eq(sig_of("SIGKILL"), SIGKILL);
	cr_assert_eq(sig_of("sigkill"), SIGKILL);
	cr_assert_eq(sig_of("IOT"), SIGABRT);
	cr_assert_eq(sig_of("CLD"), SIGCHLD);
	cr_assert_eq(sig_of("POLL"), SIGPOLL);
	cr_assert_eq(sig_of("EXIT"), 0);
	cr_assert_eq(sig_of("SIGEXIT"), 0);
	cr_assert_eq(sig_of("SIG15"), SIGTERM);
	bad_signal("invalid");
	bad_signal("SIGSIG15");
	bad_signal("EMT");
	bad_signal("");
	bad_signal("sig");
}

/* Numbers: 0 sends none; past 128, a shell's status of that death. */
Test(gnu_timeout, signal_numbers)
{
	cr_assert_eq(sig_of("0"), 0);
	cr_assert_eq(sig_of("15"), SIGTERM);
	cr_assert_eq(sig_of("00015"), SIGTERM);
	cr_assert_eq(sig_of("137"), SIGKILL);
	cr_assert_eq(sig_of("128"), 0);
	cr_assert_eq(sig_of("264"), SIGFPE);
	cr_assert_eq(sig_of("256"), 0);
	cr_assert_eq(sig_of("31"), SIGSYS);
	cr_assert_eq(sig_of("64"), SIGRTMAX);
	bad_signal("32"); /* glibc's own */
	bad_signal("33");
	bad_signal("65");
	bad_signal("99");
	bad_signal("127");
	bad_signal("255");
	bad_signal("4294967311");
	bad_signal("1x");
	bad_signal(" 1");
	bad_signal("+1");
	bad_signal("-1");
	bad_signal("0x10");
}

/* RTMIN and RTMAX with an offset as strtol() reads it, within range. */
Test(gnu_timeout, realtime_signals)
{
	cr_assert_eq(sig_of("RTMIN"), SIGRTMIN);
	cr_assert_eq(sig_of("rtmin+5"), SIGRTMIN + 5);
	cr_assert_eq(sig_of("RTMIN5"), SIGRTMIN + 5);
	cr_assert_eq(sig_of("RTMIN 5"), SIGRTMIN + 5);
	cr_assert_eq(sig_of("RTMIN+03"), SIGRTMIN + 3);
	cr_assert_eq(sig_of("RTMIN-0"), SIGRTMIN);
	cr_assert_eq(sig_of("SIGRTMAX"), SIGRTMAX);
	cr_assert_eq(sig_of("RTMAX-3"), SIGRTMAX - 3);
	cr_assert_eq(sig_of("RTMAX+0"), SIGRTMAX);
	cr_assert_eq(sig_of("RTMIN+30"), SIGRTMIN + 30);
	bad_signal("RTMIN+31");
	bad_signal("RTMAX-31");
	bad_signal("RTMIN-1");
	bad_signal("RTMAX1");
	bad_signal("RTMIN+ 3");
	bad_signal("SIGRTMINX");
}

/* The names -v prints. */
Test(gnu_timeout, signal_names_printed)
{
	cr_assert_str_eq(signame_gnu(SIGTERM), "TERM");
	cr_assert_str_eq(signame_gnu(SIGKILL), "KILL");
	cr_assert_str_eq(signame_gnu(0), "0");
	cr_assert_str_eq(signame_gnu(SIGRTMIN + 6), "RTMIN+6");
	cr_assert_str_eq(signame_gnu(SIGRTMAX - 14), "RTMAX-14");
	cr_assert_str_eq(signame_gnu(SIGRTMAX), "RTMAX");
	cr_assert_str_eq(signame_gnu(SIGPOLL), "POLL");
}

/*
 * Parse the NULL-ended ARGV into *C and return what the parser did.
 * ARGV is copied to a static array because c->argv points into it and
 * PARSE's compound literal ends with the assertion that made it.
 */
static int
parse(struct gnu_timeout_cmd *c, const char *const *argv)
{
	static char *copy[32];
	int argc = 0;

	while (argv[argc]) {
		cr_assert_lt(argc, 31);
		copy[argc] = (char *)argv[argc];
		argc++;
	}
	copy[argc] = NULL;
	return gnu_timeout_parse(argc, copy, c);
}

#define PARSE(c, ...)                                                     \
	parse((c), (const char *const[]){ "timeout", __VA_ARGS__, NULL })

Test(gnu_timeout, options_and_operands)
{
	struct gnu_timeout_cmd c;

	cr_assert_eq(PARSE(&c, "-f", "-p", "-v", "-s", "HUP", "-k", "2", "1.5",
			   "sleep", "9"), 0);
	cr_assert(c.foreground && c.preserve_status && c.verbose);
	cr_assert_eq(c.signal, SIGHUP);
	cr_assert_eq(c.kill_after_ms, 2000);
	cr_assert_eq(c.timeout_ms, 1500);
	cr_assert_str_eq(c.argv[0], "sleep");
	cr_assert_str_eq(c.argv[1], "9");
	cr_assert_null(c.argv[2]);

	cr_assert_eq(PARSE(&c, "--foreground", "--preserve-status", "--verbose",
			   "--signal=0", "--kill-after=0", "0", "true"), 0);
	cr_assert(c.foreground && c.preserve_status && c.verbose);
	cr_assert_eq(c.signal, 0);
	cr_assert_eq(c.kill_after_ms, 0);
	cr_assert_eq(c.timeout_ms, 0);

	/* Defaults: TERM, no -k. Abbreviated long options, glued values. */
	cr_assert_eq(PARSE(&c, "--verb", "-sKILL", "-k.5", "1", "true"), 0);
	cr_assert_eq(c.signal, SIGKILL);
	cr_assert_eq(c.kill_after_ms, 500);
	cr_assert_eq(PARSE(&c, "1", "true"), 0);
	cr_assert_eq(c.signal, SIGTERM);
	cr_assert_eq(c.kill_after_ms, 0);
	cr_assert(!c.verbose && !c.foreground && !c.preserve_status);
}

/* Options stop at the first operand ("+"); "--" ends them too. */
Test(gnu_timeout, options_stop_at_the_first_operand)
{
	struct gnu_timeout_cmd c;

	cr_assert_eq(PARSE(&c, "1", "-v", "-s", "x"), 0);
	cr_assert(!c.verbose);
	cr_assert_str_eq(c.argv[0], "-v");
	cr_assert_eq(PARSE(&c, "--", "1", "true", "--help"), 0);
	cr_assert_str_eq(c.argv[0], "true");
	cr_assert_str_eq(c.argv[1], "--help");
	cr_assert_eq(PARSE(&c, "1", "--", "true"), 0);
	cr_assert_str_eq(c.argv[0], "--");
}

Test(gnu_timeout, usage_errors_name_what)
{
	struct gnu_timeout_cmd c;

	cr_assert_eq(PARSE(&c, "x", "true"), -1);
	cr_assert_eq(c.error, GNU_TIMEOUT_BAD_INTERVAL);
	cr_assert_str_eq(c.bad, "x");
	cr_assert_eq(PARSE(&c, "-k", "y", "1", "true"), -1);
	cr_assert_eq(c.error, GNU_TIMEOUT_BAD_INTERVAL);
	cr_assert_str_eq(c.bad, "y");
	cr_assert_eq(PARSE(&c, "--signal=FOO", "1", "true"), -1);
	cr_assert_eq(c.error, GNU_TIMEOUT_BAD_SIGNAL);
	cr_assert_str_eq(c.bad, "FOO");
	/* An error stops the parse, as GNU's usage() exits at once. */
	cr_assert_eq(PARSE(&c, "-s", "FOO", "-k", "y", "1", "true"), -1);
	cr_assert_eq(c.error, GNU_TIMEOUT_BAD_SIGNAL);
	/* No COMMAND, or nothing at all: only the pointer to --help. */
	cr_assert_eq(PARSE(&c, "1"), -1);
	cr_assert_eq(c.error, GNU_TIMEOUT_BAD_USAGE);
	cr_assert_null(c.bad);
	cr_assert_eq(parse(&c, (const char *const[]){ "timeout", NULL }), -1);
	cr_assert_eq(c.error, GNU_TIMEOUT_BAD_USAGE);
}

Test(gnu_timeout, help_and_version_win_where_they_come)
{
	struct gnu_timeout_cmd c;

	cr_assert_eq(PARSE(&c, "--help", "x"), 1);
	cr_assert_eq(c.action, GNU_TIMEOUT_HELP);
	cr_assert_eq(PARSE(&c, "--version"), 1);
	cr_assert_eq(c.action, GNU_TIMEOUT_VERSION);
	/* A bad option first is what is reported. */
	cr_assert_eq(PARSE(&c, "-k", "bad", "--help"), -1);
	cr_assert_eq(c.error, GNU_TIMEOUT_BAD_INTERVAL);
}

/*
 * A good -k or -s before --help is no error: found by fuzz_gnu_timeout,
 * which had C->error BAD_INTERVAL and C->bad "1" from "--kill 1 --version".
 */
Test(gnu_timeout, options_before_help_leave_no_error)
{
	struct gnu_timeout_cmd c;

	cr_assert_eq(PARSE(&c, "--kill", "1", "--version"), 1);
	cr_assert_eq(c.error, GNU_TIMEOUT_OK);
	cr_assert_null(c.bad);
	cr_assert_eq(PARSE(&c, "-s", "HUP", "--help"), 1);
	cr_assert_eq(c.error, GNU_TIMEOUT_OK);
	cr_assert_null(c.bad);
}

Test(gnu_timeout, named_timeout)
{
	cr_assert(gnu_timeout_named("timeout"));
	cr_assert(gnu_timeout_named("/usr/local/bin/timeout"));
	cr_assert(gnu_timeout_named("./timeout"));
	cr_assert(!gnu_timeout_named("ctxrun"));
	cr_assert(!gnu_timeout_named("timeout2"));
	cr_assert(!gnu_timeout_named("/bin/timeout/"));
	cr_assert(!gnu_timeout_named("gtimeout"));
}

/* S quoted, freed here; checked against WANT. */
static void
quotes_as(const char *s, const char *want)
{
	char *got = escape_gnu_quote(s);

	cr_assert_str_eq(got, want, "quote of <%s>", s);
	free(got);
}

/* What GNU's timeout prints in the C locale (LC_ALL=C timeout 'NAME' 1). */
Test(gnu_timeout, quotes_as_gnu_in_the_c_locale)
{
	quotes_as("sleep", "'sleep'");
	quotes_as("", "''");
	quotes_as("a'b", "'a\\'b'");
	quotes_as("a\\b", "'a\\\\b'");
	quotes_as("a\"b $x `y` ?", "'a\"b $x `y` ?'");
	quotes_as("a\nb\tc\rd", "'a\\nb\\tc\\rd'");
	quotes_as("\a\b\f\v", "'\\a\\b\\f\\v'");
	quotes_as("\x01" "2", "'\\0012'");
	quotes_as("\x7f", "'\\177'");
	quotes_as("\xc3\xa9", "'\\303\\251'");
}
