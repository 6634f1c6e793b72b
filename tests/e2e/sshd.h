/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_SSHD_H
#define CTXRUN_SSHD_H

/*
 * A real OpenSSH server for the remote-job tests, on loopback only.
 *
 * 1. sx_start() (in a test's body, after fx_init()): host and client keys,
 *    authorized_keys, sshd_config and an ssh_config in the test's
 *    directory; sshd -D on a free 127.0.0.1 port, as whoever runs the
 *    tests (root gets UsePAM no and StrictModes no; /run/sshd is made
 *    when missing, as Debian's unit does). It returns once the port
 *    answers an ssh `true`, with CTXRUN_SSH and CTXRUN_REMOTE_CTXRUN
 *    exported so the jobs' ssh finds it and the far side runs the ctxrun
 *    under test. When sshd cannot start here, the test is skipped with
 *    the reason.
 * 2. sx_host() names it for host = / --host, with the port.
 * 3. sx_stop() before h_done(): sshd is stopped and reaped, and the
 *    session processes it leaves to the test (a subreaper) are given a
 *    bounded time to end, so that h_done() only finds real survivors.
 *
 * The tag helpers find processes by a word of their argv (a unique
 * number the test puts in a command line), the survivor check.
 */

#include <stdbool.h>
#include <sys/types.h>

/* Start sshd for this test (step 1); skips the test when it cannot. */
void sx_start(void);

/* "127.0.0.1:PORT" of the running sshd. */
const char *sx_host(void);

/* Stop sshd and let its session processes end (step 3). */
void sx_stop(void);

/* A word unique to this test and call, for argv tags: "4242.17". */
const char *sx_tag(void);

/* How many processes have TAG in their argv; *PID gets one, if any. */
int sx_tagged(const char *tag, const char *comm, pid_t *pid);

/* Wait up to MS ms until some process with TAG in its argv runs. */
bool sx_tagged_within(const char *tag, int ms);

/* Wait up to MS ms until no process with TAG in its argv is left. */
bool sx_untagged_within(const char *tag, int ms);

#endif
