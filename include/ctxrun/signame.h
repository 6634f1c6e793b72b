/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_SIGNAME_H
#define CTXRUN_SIGNAME_H

/*
 * Signal names as users type them and as messages print them, and the
 * signals that interrupt a run. "TERM", "SIGTERM", "term" and "15" all
 * name SIGTERM; 0 is not a signal.
 */

#include "ctxrun/err.h"

/*
 * The signals that interrupt a run (ctxrun(1), SIGNALS): every standard
 * signal whose default action ends a process, but SIGKILL and those that
 * report a fault of the process itself (SIGILL, SIGTRAP, SIGABRT, SIGBUS,
 * SIGFPE, SIGSEGV). SIGPIPE and SIGXFSZ count when someone sends them; the
 * kernel's own, for a write of ctxrun's, are a write error (run.c).
 * Real-time signals are left alone: nothing sends them by convention,
 * and valgrind keeps one for itself. ctxrun handles each of these as it
 * does SIGINT; its watchdog ignores them.
 */
#define SIGNAME_N_INTERRUPTS 16
extern const int signame_interrupts[SIGNAME_N_INTERRUPTS];

/*
 * The signals GNU timeout passes on to its command (coreutils' term_sig):
 * those of signame_interrupts and those that report a fault
 * (SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV) when someone sends
 * them. The `timeout` personality handles each (gnu_timeout.h).
 */
#define SIGNAME_N_TERMINATING 22
extern const int signame_terminating[SIGNAME_N_TERMINATING];

/*
 * Parse TEXT into a signal number in *SIGNO: a number, a name with or
 * without "SIG" in any case (also IOT, CLD, IO and POLL), or a real-time
 * signal as RTMIN, RTMIN+N, RTMAX-N or RTMAX. Returns 0, or -1 with E's
 * message saying why ("unknown signal", an N out of range named).
 */
int signame_parse(const char *text, int *signo, struct err *e);

/*
 * The number of signal NAME (without "SIG", any case) as sigabbrev_np()
 * gives it or one of the old aliases (IOT, CLD, IO, POLL); -1 if none.
 */
int signame_lookup(const char *name);

/*
 * Return "SIGTERM" for SIGTERM; a real-time signal as "SIGRTMIN+3" or
 * "SIGRTMAX-1", from the nearer end (as kill -l does); "SIG32" style for
 * the signals glibc keeps for itself.
 */
const char *signame_name(int signo);

/* The name GNU timeout's messages give SIGNO: "TERM", "RTMIN+3", or "0". */
const char *signame_gnu(int signo);

#endif
