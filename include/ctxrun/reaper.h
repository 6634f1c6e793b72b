/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_REAPER_H
#define CTXRUN_REAPER_H

/*
 * The one place that learns about child exits.
 *
 * libev reaps every child of the process (one SIGCHLD handler, one
 * waitpid(-1) loop); the reaper owns the single catch-all ev_child watcher
 * and dispatches each exit by pid through a hash map, so a lookup costs the
 * same with ten jobs or ten thousand. Because ctxrun is a child subreaper,
 * orphans of a job's processes are re-parented to it and their exits arrive
 * here too; nobody watches their pids, so they go to the orphan listeners,
 * which is how a job waiting for its leftovers learns to look again.
 *
 * Lifecycle:
 *   1. reaper_new(loop) on the default loop (ev_child requires it), then
 *      reaper_start().
 *   2. reaper_watch() a pid right after spawning it (before returning to the
 *      loop, so the exit cannot be missed); the watch fires once for the
 *      exit and is unlinked before its callback runs. It also fires, and
 *      stays, when the pid stops or continues (WIFSTOPPED, WIFCONTINUED):
 *      job control needs to know.
 *   3. reaper_listen_orphans() to hear exits of pids nobody watches.
 *   4. reaper_stop() when no child remains, then reaper_free().
 *
 * The reaper also owns the loop's scan (scan.h), which batches the /proc
 * walks that exits and stops make necessary: whoever watches children
 * needs both.
 *
 * The watch and orphan-ear structs are embedded in their owner, who may
 * unwatch or unlisten at any time, including from any callback.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

struct reaper;
struct reaper_watch;
struct reaper_ear;

/* A watched pid exited, stopped or continued; STATUS is its wait status. */
typedef void reaper_exit_fn(struct reaper_watch *w, int status);

/* A pid nobody watches was reaped. */
typedef void reaper_orphan_fn(struct reaper_ear *ear, pid_t pid, int status);

struct reaper_watch {
	pid_t pid;
	reaper_exit_fn *fn;
	struct reaper_watch *next; /* hash chain; owned by the reaper */
	int active;
};

struct reaper_ear {
	reaper_orphan_fn *fn;
	struct reaper_ear *prev, *next;
	uint64_t seen; /* dispatch round it last fired in */
	int active;
};

/* Create a reaper on LOOP, which must be the default loop. */
struct reaper *reaper_new(struct ev_loop *loop);

/* Start or stop the catch-all child watcher. */
void reaper_start(struct reaper *r);
void reaper_stop(struct reaper *r);

/* Call FN once when PID exits. W must not be watching already. */
void reaper_watch(struct reaper *r, struct reaper_watch *w, pid_t pid,
		  reaper_exit_fn *fn);

/* Stop watching; a no-op when W is not watching. */
void reaper_unwatch(struct reaper *r, struct reaper_watch *w);

/* Call FN for every reaped pid nobody watches, until unlistened. */
void reaper_listen_orphans(struct reaper *r, struct reaper_ear *ear,
			   reaper_orphan_fn *fn);

/* Stop listening; a no-op when EAR is not listening. */
void reaper_unlisten_orphans(struct reaper *r, struct reaper_ear *ear);

/* Number of pids being watched. */
size_t reaper_watching(const struct reaper *r);

/* Is PID watched? */
bool reaper_watches(const struct reaper *r, pid_t pid);

/* The loop's scan of /proc. */
struct scan *reaper_scan(struct reaper *r);

/* Release R; reaper_free(NULL) is a no-op. Watches must be gone. */
void reaper_free(struct reaper *r);

#endif
