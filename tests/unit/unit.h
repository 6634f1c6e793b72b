/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_TESTS_UNIT_H
#define CTXRUN_TESTS_UNIT_H

/*
 * What the unit tests that run processes share (tests/unit/unit.c).
 *
 * A test on the loop:
 *   1. unit_loop_init() in .init: this process becomes a subreaper, as
 *      ctxrun is, and gets the default loop and a reaper, not started.
 *   2. The test starts the reaper, its children and jobs, and runs the
 *      loop to completion.
 *   3. unit_loop_check() in .fini, once the test freed what it made:
 *      frees the reaper and asserts that nothing is left watched, active,
 *      running or open.
 */

#include <sys/types.h>
#include <stdbool.h>

#include <ev.h>

struct reaper;

struct unit_loop {
	struct ev_loop *loop;
	struct reaper *reaper; /* NULL once the test freed it itself */
	int fds_before;
};

/* Number of fds this process has open. */
int unit_open_fds(void);

/* Set up U (see step 1). */
void unit_loop_init(struct unit_loop *u);

/* Check and release U (see step 3). */
void unit_loop_check(struct unit_loop *u);

/*
 * Wait until our child PID has exited, leaving it unreaped; fail the test
 * after 10 seconds (not its timeout: .fini still cleans up).
 */
void unit_await_exit(pid_t pid);

/* Reap our child PID, which must have died of signal SIG. */
void unit_reap(pid_t pid, int sig);

/*
 * In a child the test forked: the signals tests send back to their default
 * action, none blocked, whatever the test runner set. Async-signal-safe.
 */
void unit_child_signals(void);

/* Is wait status STATUS a death by signal SIG? An exit with CODE? */
bool unit_killed_by(int status, int sig);
bool unit_exited(int status, int code);

#endif
