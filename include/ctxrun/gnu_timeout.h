/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_GNU_TIMEOUT_H
#define CTXRUN_GNU_TIMEOUT_H

/*
 * ctxrun's second personality: invoked under the name `timeout`, it is
 * GNU timeout (ctxrun(1), REPLACING GNU TIMEOUT): its command line, its
 * messages, its exit statuses, with ctxrun's containment under them.
 * This module reads GNU's command line and hands run() one job exec'd
 * directly, with run_opts.gnu: what a run then does differently from
 * ctxrun's own is run.h's to say.
 *
 * 1. main() asks gnu_timeout_named() of argv[0], and calls
 *    gnu_timeout_main() rather than cli_main() when it says yes.
 * 2. gnu_timeout_main() parses with gnu_timeout_parse(), prints GNU's
 *    messages for what is wrong (exit 125) or the help or version, else
 *    runs the command; like cli_main(), it may die by a signal rather
 *    than return (run.h).
 *
 * The parsers below are pure (getopt_long() prints its own complaints,
 * as GNU's does) and borrow the strings they are given.
 */

#include <stdbool.h>
#include <stdint.h>

enum gnu_timeout_action {
	GNU_TIMEOUT_RUN,
	GNU_TIMEOUT_HELP,
	GNU_TIMEOUT_VERSION,
};

/* What a command line is wrong by, for GNU's message about it. */
enum gnu_timeout_error {
	GNU_TIMEOUT_OK,
	GNU_TIMEOUT_BAD_USAGE,    /* getopt_long() said why, or no COMMAND */
	GNU_TIMEOUT_BAD_INTERVAL, /* "invalid time interval 'x'" */
	GNU_TIMEOUT_BAD_SIGNAL,   /* "'x': invalid signal" */
};

/* A `timeout` command line, parsed. */
struct gnu_timeout_cmd {
	enum gnu_timeout_action action;
	int64_t timeout_ms;    /* DURATION; 0: none */
	int64_t kill_after_ms; /* -k; 0: none, also when given as 0 */
	int signal;            /* -s; SIGTERM unless given, 0 sends none */
	bool foreground;       /* -f */
	bool preserve_status;  /* -p */
	bool verbose;          /* -v */
	char **argv;           /* COMMAND [ARG]..., NULL-ended, borrowed */
	enum gnu_timeout_error error;
	const char *bad;       /* the operand at fault, borrowed */
};

/* Was ctxrun invoked as `timeout` (ARGV0's base name)? */
bool gnu_timeout_named(const char *argv0);

/*
 * Parse ARGC/ARGV (ARGV[0] the program) into *C: 0 to run, 1 for --help
 * or --version (C->action), -1 with C->error (and C->bad) on a usage
 * error. Options stop at the first operand, as GNU's "+" does.
 */
int gnu_timeout_parse(int argc, char **argv, struct gnu_timeout_cmd *c);

/*
 * Parse DURATION as GNU timeout does into *MS: a floating-point number
 * as strtod() reads it in the C locale (exponents, hex, "inf"), then an
 * optional unit s, m, h or d. Rounded up to whole milliseconds, so the
 * smallest positive value, 1e-10000 included, is 1 ms; values too large
 * are DURATION_MAX_MS. 0 or -1 for what is negative (" -1e-10000" too),
 * not a number, or has anything after its unit.
 */
int gnu_timeout_duration(const char *text, int64_t *ms);

/*
 * Parse SIGNAL as GNU timeout does (coreutils' operand2sig) into *SIGNO:
 * a number (an exit status past 128 names the signal it reports: 137 is
 * SIGKILL), 0 included; or a name in any case, with or without SIG, as
 * signame_lookup() knows it, EXIT (0), RTMIN, RTMAX and an offset from
 * either. 0, or -1 when it is none of those.
 */
int gnu_timeout_signal(const char *text, int *signo);

/* Run ctxrun as GNU timeout with ARGC/ARGV; return its exit status. */
int gnu_timeout_main(int argc, char **argv);

#endif
