/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_PROBEDEF_H
#define CTXRUN_PROBEDEF_H

/*
 * A readiness probe as written after `ready =` (ctxrun.ini(5), SERVICES),
 * parsed and checked into plain data: which kind, and the command,
 * address, path or regular expression it needs. `config` parses one per
 * service and reports what is wrong with its line; `probe` runs it.
 *
 * The address of a tcp: or http:// probe is numeric (or `localhost`):
 * a name lookup would block the loop, and a probe must never do that.
 *
 * Ownership: a struct probedef owns its strings; probedef_release()
 * frees them. Pure: no loop, no I/O.
 */

#include <sys/socket.h>
#include <stdbool.h>

#include "ctxrun/err.h"

enum probe_kind {
	PROBE_NONE = 0, /* no probe: ready once started */
	PROBE_EXEC,     /* exec:CMD, ready when CMD exits 0 */
	PROBE_TCP,      /* tcp:HOST:PORT, ready when a connect succeeds */
	PROBE_HTTP,     /* http://HOST[:PORT][/PATH], a 2xx or 3xx answer */
	PROBE_LOG,      /* log:REGEX, a line of the service's output matches */
	PROBE_NOTIFY,   /* notify: READY=1 on the job's NOTIFY_SOCKET */
};

struct probedef {
	enum probe_kind kind;
	char *text;  /* as written, for messages; NULL for PROBE_NONE */
	char *arg;   /* exec: the command; log: the regex; http: the path */
	char *host;  /* http: the Host header, as written */
	struct sockaddr_storage addr; /* tcp, http */
	socklen_t addr_len;
};

/*
 * The most copies of its atoms the repetitions of a log: regex may make
 * ("a{1,100}" makes 100, "(a+)+" 4). glibc's regcomp() copies the tree
 * for each repetition, so 30 '+' in a row take 2^30 copies and all memory.
 */
#define PROBEDEF_REGEX_MAX_COPIES 10000

/*
 * Parse TEXT into D: 0, or -1 with E saying what is wrong in a way that
 * names TEXT ("unknown probe \"foo\" (use ...)"). D is left empty on
 * failure.
 */
int probedef_parse(struct probedef *d, const char *text, struct err *e);

/* Is D polled (an attempt every ready_interval) rather than told? */
bool probedef_polled(const struct probedef *d);

/* Release D's strings and make it PROBE_NONE. */
void probedef_release(struct probedef *d);

#endif
