/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_SCAN_H
#define CTXRUN_SCAN_H

/*
 * Walks of /proc batched per loop iteration, however many jobs need one.
 *
 * A job whose members may sit where killpg() does not reach (they left its
 * group, or its leader is gone) must have /proc walked to find them. Done
 * per job and per signal, stopping a hundred jobs took two hundred walks,
 * and each exit among them one more per job still waiting. Here requests
 * made during one loop iteration are served together early in the next,
 * by a zero-delay timer, with one ptree_walk().
 *
 * 1. scan_new() once per loop (the reaper owns it: see reaper_scan()).
 * 2. A request is embedded in its owner, which fills `visit.m`, `done` and
 *    optionally `precheck`. scan_signal() adds a signal for the members
 *    (outside_only: for those outside the group, which killpg() missed);
 *    scan_count() asks for a count. Both queue the request; a request is
 *    queued at most once, and signals accumulate in order.
 * 3. When served: a request with no signals that asked for a count is
 *    offered to `precheck` first, which may settle it without the walk
 *    (set visit.found, return SCAN_SETTLED) or ask for ctxrun's children
 *    list (SCAN_CHILDREN). The list is read once for the whole batch,
 *    after every first call, so it is newer than anything a precheck read
 *    before asking; each precheck that asked is called again with it and
 *    must then settle or return SCAN_WALK. Prechecks must not queue or
 *    drop requests. Then `done` is called for every request that asked
 *    for a count, with visit.found set.
 * 4. scan_cancel() at any time, from any callback too: the request is
 *    dropped, and `done` is not called.
 */

#include <stdbool.h>

#include <ev.h>

#include "ctxrun/ptree.h"

struct scan;
struct scan_req;

enum scan_verdict { SCAN_SETTLED, SCAN_WALK, SCAN_CHILDREN };

/* ctxrun's children at one instant; n is -1 when they could not be read. */
struct scan_children {
	const pid_t *pids;
	long n;
};

/* KIDS is NULL on the first call, the batch's children list on the second. */
typedef enum scan_verdict scan_precheck_fn(struct scan_req *r,
					   const struct scan_children *kids);
typedef void scan_done_fn(struct scan_req *r);

struct scan_req {
	struct ptree_visit visit;
	scan_precheck_fn *precheck; /* may be NULL */
	scan_done_fn *done;
	/* Owned by the scan. */
	int where;
	size_t slot;
	long walked; /* its place in the walk being served, or SCAN_NO_* */
	bool count;
};

struct scan *scan_new(struct ev_loop *loop);

/* Queue SIG for R's members (with OUTSIDE_ONLY, those outside its group). */
void scan_signal(struct scan *s, struct scan_req *r, int sig, bool outside_only);

/* Queue a count of R's members; R->done gets it. */
void scan_count(struct scan *s, struct scan_req *r);

/* Drop R: not served, not called back. A no-op when R is idle. */
void scan_cancel(struct scan *s, struct scan_req *r);

/* Release S; nothing may be queued. NULL is a no-op. */
void scan_free(struct scan *s);

#endif
