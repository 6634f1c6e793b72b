/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_LINK_H
#define CTXRUN_LINK_H

/*
 * The far side of a remote job (`ctxrun --remote`, ctxrun(1), REMOTE
 * JOBS) and its line to the supervisor: the ssh channel on its stdin, and
 * its parent, the sshd session. End-of-file or an error on stdin, or the
 * parent's death, means the supervisor is gone or wants the job stopped:
 * one event, LOST, after which the link watches nothing.
 *
 *   1. link_start(): watches stdin and, through a pidfd, the parent. A
 *      parent already gone (re-parented to init or a subreaper) is LOST
 *      from the loop's next turn, never from inside link_start().
 *   2. on_lost fires at most once.
 *   3. link_stop() before the loop is released; idempotent.
 *
 * Bytes that arrive on stdin are read and dropped: the supervisor sends
 * none, and a job never reads the channel (its stdin is /dev/null).
 */

#include <stdbool.h>

#include <ev.h>

struct link;

typedef void link_lost_fn(struct link *l, void *data);

struct link_opts {
	link_lost_fn *on_lost;
	void *data;
};

/* Watch stdin and the parent on LOOP; never fails (see step 1). */
struct link *link_start(struct ev_loop *loop, const struct link_opts *opts);

/* Stop watching; no event follows. NULL is a no-op. */
void link_stop(struct link *l);

/* Stop L and release it. NULL is a no-op. */
void link_free(struct link *l);

#endif
