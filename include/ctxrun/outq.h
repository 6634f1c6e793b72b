/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_OUTQ_H
#define CTXRUN_OUTQ_H

/*
 * The write queue: every byte bound for ctxrun's stdout or stderr (its two
 * sinks) leaves through one queue of chunks, in the order it was queued,
 * with writes that never block the loop.
 *
 * 1. outq_new() with the two fds to write (ctxrun's 1 and 2) and the
 *    owner's callbacks. It chooses how to write each fd without blocking
 *    and without touching the fd's flags (see outq.c).
 * 2. Producers queue bytes for sink WHICH (1 or 2): outq_write() copies
 *    them; outq_reserve() and outq_commit() let a producer build many
 *    lines straight in the tail chunk, with one commit; outq_adopt() takes
 *    a grouped block whole, its memory and its spill file.
 * 3. outq_run() writes out as much as the fds take now, and an ev_io per
 *    fd waits for room for the rest. Backpressure: once more than
 *    OUTQ_MAX_PENDING bytes wait in memory, on_pressure(true) tells the
 *    owner to stop producing (to stop reading job pipes); once the queue
 *    is down to half of that, on_pressure(false) to go on. Memory stays
 *    bounded whatever the jobs print: they wait on their full pipes.
 * 4. When a write fails, on_lost: with EPIPE (nobody reads) or any other
 *    error, and for a spill file that cannot be read back. What is bound
 *    for a failed sink is dropped from then on (outq_closed() says so),
 *    so what did arrive is a prefix of the whole, not a whole with holes.
 * 5. outq_finish() once nothing more will be queued: the loop writes out
 *    the rest, within a drain window after which it is dropped
 *    (outq_dropped()); outq_free().
 *
 * The queue owns its chunks, the blocks and spill files it adopted, and
 * the descriptions it opened; the fds it was given stay the caller's.
 * Callbacks run from inside outq_run() (and so from inside any function
 * that queues): they may queue, and outq_run() takes the queue's head
 * afresh after each call out, but they must not free the queue.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "ctxrun/err.h"

/* Bytes in memory past which producers are paused (step 3). */
#define OUTQ_MAX_PENDING (256 * 1024)

struct outq;

/*
 * Bytes bound for sink WHICH are lost from now on: E is NULL when the fd
 * gave EPIPE (nobody reads), else it says why ("cannot write to stdout:
 * ..."). Told at every failure; the owner says once what it must.
 */
typedef void outq_lost_fn(void *data, int which, const struct err *e);

/* Stop (PAUSE) or go on producing (step 3). */
typedef void outq_pressure_fn(void *data, bool pause);

struct outq_opts {
	struct ev_loop *loop;
	int fds[2];                    /* written for WHICH 1 and 2 */
	outq_lost_fn *on_lost;
	outq_pressure_fn *on_pressure; /* NULL: none */
	void *data;
};

/* A grouped block's part, handed to the queue whole (outq_adopt()). */
struct outq_block {
	char *mem;      /* LEN bytes first (xmalloc'd, CAP of them); or NULL */
	size_t len, cap;
	int file;       /* then FILE_LEN bytes of this file from 0; or -1 */
	off_t file_len;
};

/* Create the queue (step 1). */
struct outq *outq_new(const struct outq_opts *opts);

/*
 * Room at the queue's tail for NEED bytes or more bound for WHICH: *ROOM
 * gets how many. Bytes put there count once outq_commit() says so.
 */
char *outq_reserve(struct outq *q, int which, size_t need, size_t *room);

/* Count LEN bytes just put at the tail (after outq_reserve()). */
void outq_commit(struct outq *q, size_t len);

/* Queue a copy of LEN bytes at BUF for WHICH and write what fits. */
void outq_write(struct outq *q, int which, const char *buf, size_t len);

/*
 * Queue B's bytes for WHICH, taking B's memory and file (closed once
 * written); they go out as they were held, read back a chunk at a time.
 */
void outq_adopt(struct outq *q, int which, const struct outq_block *b);

/* Write what the fds take now, and wait for room for the rest (step 3). */
void outq_run(struct outq *q);

/* Is WHICH's fd failed, so that what is queued for it is dropped? */
bool outq_closed(const struct outq *q, int which);

/* Bytes queued in memory and not yet written. */
size_t outq_queued(const struct outq *q);

/* Are producers paused (step 3)? */
bool outq_paused(const struct outq *q);

/*
 * Nothing more will be queued: let the loop write out the queue, giving up
 * after DRAIN_MS ms (then dropping the rest) unless DRAIN_MS is negative.
 */
void outq_finish(struct outq *q, int64_t drain_ms);

/* Bytes dropped when the drain window passed. */
size_t outq_dropped(const struct outq *q);

/* Release Q and what is still queued. NULL is a no-op. */
void outq_free(struct outq *q);

#endif
