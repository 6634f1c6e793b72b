/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_BLOCK_H
#define CTXRUN_BLOCK_H

/*
 * A job's grouped block: what the job writes to its stdout and to its
 * stderr, held back while it runs and queued as one block, its stdout
 * part then its stderr part, when it ends (see ctxrun(1), OUTPUT).
 *
 * 1. block_new() per job.
 * 2. block_add() per piece read. Up to BLOCK_MEM bytes of the job's are
 *    held in memory; past that, each part's bytes go to a spill file of
 *    its own, an unlinked temporary file in $TMPDIR (or /tmp). When no
 *    spill file can be made or written (no TMPDIR, disk full), it takes
 *    fewer bytes than given and E says why: the caller queues the block
 *    so far as a piece (block_queue(), not WHOLE) and gives the rest to
 *    block_hold(), which holds it in memory. The bytes still arrive whole
 *    and in order, only no longer as one block.
 * 3. block_queue() hands the block to the write queue: WHOLE, it ends
 *    with a newline (one is added when needed, as the man page promises);
 *    as a piece, each part keeps what follows its last newline for the
 *    next piece, so the blocks of other jobs come between whole lines.
 *    With a GITHUB name, "::group::NAME" and "::endgroup::" lines go
 *    around a block that is not empty, the name made safe for a terminal.
 * 4. block_free().
 *
 * The block owns its memory and spill files until block_queue() hands
 * them to the queue. Nothing here touches the loop.
 */

#include <stdbool.h>
#include <stddef.h>

#include "ctxrun/err.h"
#include "ctxrun/outq.h"

/* Bytes of a job's block held in memory before parts spill (step 2). */
#define BLOCK_MEM (1024 * 1024)

struct block;

/* An empty block. */
struct block *block_new(void);

/*
 * Hold the LEN bytes at P for WHICH (1 or 2); how many it took, all of
 * them unless a spill file failed (E says why; step 2).
 */
size_t block_add(struct block *b, int which, const char *p, size_t len,
		 struct err *e);

/* Hold the LEN bytes at P for WHICH in memory, whatever the size. */
void block_hold(struct block *b, int which, const char *p, size_t len);

/* Does B hold nothing? */
bool block_empty(const struct block *b);

/* Queue B on Q, WHOLE or as a piece, with GITHUB group lines (step 3). */
void block_queue(struct block *b, struct outq *q, bool whole,
		 const char *github);

/* Release B and what it still holds. NULL is a no-op. */
void block_free(struct block *b);

#endif
