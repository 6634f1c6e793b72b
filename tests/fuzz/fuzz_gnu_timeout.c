/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the `timeout` personality's parsers
 * (gnu_timeout.h). The input is cut at its NUL bytes into words:
 *
 *   - each word goes to gnu_timeout_duration() and gnu_timeout_signal(),
 *     which give a value in range or refuse it;
 *   - the words, after "timeout", are a command line for
 *     gnu_timeout_parse(), which does not exit, resets getopt's state
 *     itself (optind = 0) at each call and prints only getopt_long()'s
 *     complaints, sent to /dev/null here: they slowed the fuzzing down.
 *
 * Build and run with `make fuzz`.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/duration.h"
#include "ctxrun/gnu_timeout.h"

/* Abort (a finding for libFuzzer) unless COND holds. */
static void
check(int cond)
{
	if (!cond) {
		abort();
	}
}

/* Is SIG a signal GNU timeout names: 0, a standard one or a real-time one? */
static int
is_named_signal(int sig)
{
	return (sig >= 0 && sig <= SIGSYS) ||
	       (sig >= SIGRTMIN && sig <= SIGRTMAX);
}

/* Check the two operand parsers on WORD. */
static void
check_word(const char *word)
{
	int64_t ms = -1;
	int sig = -1;

	if (gnu_timeout_duration(word, &ms) == 0) {
		check(ms >= 0 && ms <= DURATION_MAX_MS);
	}
	if (gnu_timeout_signal(word, &sig) == 0) {
		check(is_named_signal(sig));
	}
}

/* Check what gnu_timeout_parse() makes of ARGV (ARGC words). */
static void
check_parse(int argc, char **argv)
{
	static FILE *devnull;
	FILE *saved = stderr;
	struct gnu_timeout_cmd c;
	int rc;

	if (!devnull) {
		devnull = fopen("/dev/null", "w");
	}
	stderr = devnull ? devnull : saved;
	rc = gnu_timeout_parse(argc, argv, &c);
	stderr = saved;
	if (rc < 0) {
		check(c.error != GNU_TIMEOUT_OK);
		check(c.error == GNU_TIMEOUT_BAD_USAGE || c.bad);
		return;
	}
	check(c.error == GNU_TIMEOUT_OK && !c.bad);
	check(c.kill_after_ms >= 0 && c.kill_after_ms <= DURATION_MAX_MS);
	check(is_named_signal(c.signal));
	if (rc > 0) {
		check(c.action != GNU_TIMEOUT_RUN);
		return;
	}
	check(rc == 0 && c.action == GNU_TIMEOUT_RUN);
	check(c.timeout_ms >= 0 && c.timeout_ms <= DURATION_MAX_MS);
	/* COMMAND is one of ARGV's words, after DURATION, and ends ARGV. */
	check(c.argv > argv + 1 && c.argv < argv + argc && c.argv[0]);
	check(c.argv[argc - (c.argv - argv)] == NULL);
}

/* libFuzzer's entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), **argv;
	int argc = 1;

	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < size; i++) {
		argc += text[i] == '\0';
	}
	argc++;
	argv = malloc((size_t)(argc + 1) * sizeof(*argv));
	argv[0] = "timeout";
	argc = 1;
	for (char *w = text; w <= text + size; w += strlen(w) + 1) {
		argv[argc++] = w;
		check_word(w);
	}
	argv[argc] = NULL;
	check_parse(argc, argv);
	free(argv);
	free(text);
	return 0;
}
