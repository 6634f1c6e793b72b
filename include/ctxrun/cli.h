/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_CLI_H
#define CTXRUN_CLI_H

/*
 * The command line: options and usage errors, --help, --version and
 * --check, and what to run: one command, a -c group or a pipeline file,
 * as a spec. The run itself (the loop, the signals, the exit status) is
 * run.h's, and what it tells on the way is reporter.h's; these three are
 * the only modules that print, and only run.h calls ev_run().
 *
 * main() calls cli_main() and returns what it returns. When ctxrun was
 * interrupted by a signal (SIGINT, SIGTERM, SIGHUP or any other of
 * signame_interrupts), cli_main() does not return: once the whole tree is
 * gone it re-raises the signal with its default action, core dumps off, so
 * the caller sees a death by that signal.
 */

/* ctxrun's version, for --version in either personality. */
#define CTXRUN_VERSION "0.1.0"

/* Run ctxrun with ARGC/ARGV; return its exit status (0..255). */
int cli_main(int argc, char **argv);

/*
 * Close standard output after printing to it, before exiting, as GNU
 * tools' close_stdout() does: a write that failed (a full disk,
 * /dev/full, a closed fd) is a failure, -1 after "PROG: write error: ..."
 * on stderr, and not an exit status of 0 over output that never arrived.
 */
int cli_close_stdout(const char *prog);

#endif
