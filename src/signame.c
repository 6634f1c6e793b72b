/* SPDX-License-Identifier: MIT */
#include "ctxrun/signame.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Names come from glibc's sigabbrev_np() so the table matches the kernel
 * the program was built for; real-time signals are accepted by number only.
 */

/* Parse TEXT into a signal number. */
int
signame_parse(const char *text, int *signo, struct err *e)
{
	const char *name = text;

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
	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);

		if (abbrev && !strcasecmp(abbrev, name)) {
			*signo = sig;
			return 0;
		}
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
	snprintf(numbered[signo], sizeof(numbered[signo]), "SIG%s",
		 abbrev ? abbrev : "");
	if (!abbrev) {
		snprintf(numbered[signo], sizeof(numbered[signo]), "SIG%d", signo);
	}
	names[signo] = numbered[signo];
	return names[signo];
}
