/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_PROBE_H
#define CTXRUN_PROBE_H

/*
 * A readiness probe at work for one service (ctxrun.ini(5), Probes): it
 * asks, or listens, until the service is ready or the time is over.
 *
 * Polled kinds (exec:, tcp:, http://) make one attempt at a time, never
 * two at once: the first from the loop right after probe_start(), each
 * next one ready_interval after the last ended. An attempt may take
 * PROBE_ATTEMPT_MIN_MS or ready_interval, whichever is longer. An exec:
 * attempt is a job of its own (same shell, environment and directory as
 * the service, output to /dev/null, in the run's cgroup), SIGKILLed when
 * it is stopped: a probe is disposable. tcp: and http:// are
 * non-blocking sockets on the loop. Told kinds wait: log: for a line of
 * the service's output (probe_feed()), notify for READY=1 on a datagram
 * socket the probe binds in the abstract namespace, named to the service
 * in NOTIFY_SOCKET (probe_env()).
 *
 * 1. probe_new(opts): nothing runs; a notify probe binds its socket.
 * 2. The owner spawns the service with probe_env() added, then
 *    probe_start().
 * 3. Events: PROBE_EV_FAILED for each failed attempt and PROBE_EV_STATUS
 *    for each STATUS= message, then one of PROBE_EV_READY or
 *    PROBE_EV_GAVE_UP (its text: "not ready after 60s: tcp:...: connection
 *    refused"), sent when nothing of the probe runs any more: from that
 *    callback on, the owner may probe_free() it. A notify probe still
 *    listens after READY (STATUS= lines; systemd-notify(1) waits for its
 *    socket) until probe_stop(), which is then true.
 * 4. probe_stop() ends it early (the service is no longer needed, or
 *    ended): true when nothing of it runs any more; false while an exec:
 *    attempt is being killed, and PROBE_EV_STOPPED follows when it is
 *    gone. No other event follows probe_stop().
 * 5. probe_free().
 *
 * The probe borrows its opts' pointers (the definition, the strings,
 * the parent context, the reaper and cgroup): they outlive it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctxrun/ctx.h"
#include "ctxrun/err.h"
#include "ctxrun/probedef.h"
#include "ctxrun/reaper.h"

struct probe;
struct cgroup_run;

/* The shortest time an attempt may take, whatever ready_interval. */
#define PROBE_ATTEMPT_MIN_MS 1000

enum probe_event_kind {
	PROBE_EV_FAILED,  /* an attempt failed: text says how */
	PROBE_EV_STATUS,  /* notify: STATUS=text */
	PROBE_EV_READY,   /* the service is ready; the last event */
	PROBE_EV_GAVE_UP, /* not ready in time: text; the last event */
	PROBE_EV_STOPPED, /* after probe_stop() said false; the last event */
};

typedef void probe_event_fn(struct probe *pr, enum probe_event_kind kind,
			    const char *text, void *data);

struct probe_opts {
	const struct probedef *def; /* not PROBE_NONE */
	const char *name;           /* the service's */
	struct ctx *parent;         /* exec: attempts run under it */
	struct reaper *reaper;      /* exec: */
	struct cgroup_run *cgroup;  /* exec: NULL: none */
	const char *shell;          /* exec: */
	char *const *env_add;       /* exec: the service's env */
	const char *cwd;            /* exec: NULL: ctxrun's */
	int64_t timeout_ms;         /* give up this long after probe_start() */
	int64_t interval_ms;        /* between polled attempts */
	probe_event_fn *on_event;
	void *data;
};

/* Create a probe (step 1); NULL with E when its socket cannot be made. */
struct probe *probe_new(const struct probe_opts *opts, struct err *e);

/*
 * "NOTIFY_SOCKET=@..." for the service's environment (borrowed), or NULL
 * for any kind but notify.
 */
const char *probe_env(const struct probe *pr);

/* Start asking or listening (step 2); events come from the loop. */
void probe_start(struct probe *pr);

/*
 * LEN bytes of the service's output at BUF (stdout and stderr, as read;
 * WHICH says which): a log: probe matches each whole line. The match is
 * told from the loop, not from here.
 */
void probe_feed(struct probe *pr, int which, const char *buf, size_t len);

/* Stop now (step 4): true when nothing runs any more. */
bool probe_stop(struct probe *pr);

/* Release PR (see steps 3 and 4); NULL is a no-op. */
void probe_free(struct probe *pr);

#endif
