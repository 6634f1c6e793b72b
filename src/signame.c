/* SPDX-License-Identifier: MIT */
#include "ctxrun/signame.h"

#include <ctype.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctxrun/util.h"

/*
 * Names come from glibc's sigabbrev_np() so the table matches the kernel
 * the program was built for, plus the other names GNU timeout takes (its
 * gnulib str2sig): old aliases glibc gives no abbreviation for, and the
 * real-time signals counted from either end, RTMIN+N and RTMAX-N. Those
 * are counted at run time, since glibc keeps the first few for itself.
 */

/* Second names of signals; sigabbrev_np() gives one name per number. */
static const struct {
	const char *name;
	int signo;
} aliases[] = {
	{ "IOT", SIGABRT },
	{ "CLD", SIGCHLD },
	{ "IO", SIGIO },
	{ "POLL", SIGPOLL },
};

const int signame_interrupts[SIGNAME_N_INTERRUPTS] = {
	SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM,
	SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGPOLL, SIGPWR,
	SIGSYS, SIGPIPE,
};

const int signame_terminating[SIGNAME_N_TERMINATING] = {
	SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM,
	SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGPOLL, SIGPWR,
	SIGSYS, SIGPIPE, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV,
};

/*
 * Parse NAME (without "SIG"), "RTMIN", "RTMIN+N", "RTMAX" or "RTMAX-N" in
 * any case, into *SIGNO: 1 if it is one, 0 if it is no such name, -1 with
 * E filled when its N is past the other end.
 */
static int
parse_realtime(const char *name, int *signo, struct err *e)
{
	bool from_min = !strncasecmp(name, "RTMIN", 5);
	char sign = from_min ? '+' : '-';
	int span = SIGRTMAX - SIGRTMIN;
	const char *digits;
	unsigned long n;

	if (!from_min && strncasecmp(name, "RTMAX", 5)) {
		return 0;
	}
	if (!name[5]) {
		*signo = from_min ? SIGRTMIN : SIGRTMAX;
		return 1;
	}
	digits = name + 6;
	if (name[5] != sign || !isdigit((unsigned char)*digits) ||
	    digits[strspn(digits, "0123456789")]) {
		return 0;
	}
	n = strtoul(digits, NULL, 10);
	if (n > (unsigned long)span) {
		const char *base = from_min ? "RTMIN+" : "RTMAX-";

		return err_set(e, 0, "%s%s is out of range: %s0 to %s%d", base,
			       digits, base, base, span);
	}
	*signo = from_min ? SIGRTMIN + (int)n : SIGRTMAX - (int)n;
	return 1;
}

/* The number of signal NAME, without SIG, or -1. */
int
signame_lookup(const char *name)
{
	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);

		if (abbrev && !strcasecmp(abbrev, name)) {
			return sig;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++) {
		if (!strcasecmp(aliases[i].name, name)) {
			return aliases[i].signo;
		}
	}
	return -1;
}

/* Parse TEXT into a signal number. */
int
signame_parse(const char *text, int *signo, struct err *e)
{
	const char *name = text;
	int found, rt;

	if (isdigit((unsigned char)text[0])) {
		char *end;
		long n = strtol(text, &end, 10);

		if (*end || n <= 0 || n >= NSIG) {
			return err_set(e, 0, "not a signal number");
		}
		*signo = (int)n;
		return 0;
	}
	if (!strncasecmp(name, "SIG", 3)) {
		name += 3;
	}
	found = signame_lookup(name);
	if (found > 0) {
		*signo = found;
		return 0;
	}
	rt = parse_realtime(name, signo, e);
	if (rt) {
		return rt > 0 ? 0 : -1;
	}
	return err_set(e, 0, "unknown signal");
}

/* Return the printable name of SIGNO. */
const char *
signame_name(int signo)
{
	static const char *names[NSIG];
	static char numbered[NSIG][16];
	const char *abbrev;

	if (signo <= 0 || signo >= NSIG) {
		return "SIG?";
	}
	if (names[signo]) {
		return names[signo];
	}
	abbrev = sigabbrev_np(signo);
	if (abbrev) {
		snprintf(numbered[signo], sizeof(numbered[signo]), "SIG%s",
			 abbrev);
	} else if (signo >= SIGRTMIN && signo <= SIGRTMAX) {
		/* As gnulib's sig2str: counted from the nearer end. */
		bool low = signo - SIGRTMIN <= (SIGRTMAX - SIGRTMIN) / 2;
		int n = low ? signo - SIGRTMIN : SIGRTMAX - signo;

		snprintf(numbered[signo], sizeof(numbered[signo]), "SIGRT%s%d",
			 low ? "MIN+" : "MAX-", n);
		if (!n) {
			numbered[signo][8] = '\0'; /* "SIGRTMIN" */
		}
	} else {
		snprintf(numbered[signo], sizeof(numbered[signo]), "SIG%d", signo);
	}
	names[signo] = numbered[signo];
	return names[signo];
}

/* SIGNO's name in GNU timeout's messages. */
const char *
signame_gnu(int signo)
{
	return signo ? signame_name(signo) + 3 : "0";
}
