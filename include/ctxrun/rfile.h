/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_RFILE_H
#define CTXRUN_RFILE_H

/*
 * A report file (--events, --junit): a file ctxrun opens itself and writes
 * without ever blocking the loop, whatever the path is (ctxrun(1),
 * REPORTS and DECISIONS). A regular file takes every write at once; a
 * FIFO or a terminal takes what it has room for, and the rest waits in a
 * queue that an ev_io writes out as the reader makes room.
 *
 * 1. rfile_open() before anything runs: creates or truncates a regular
 *    file (close-on-exec, O_NONBLOCK). A FIFO nobody reads yet is opened
 *    for reading and writing, so the open never waits and a reader may
 *    come later. In a sticky world-writable directory (/tmp) the last
 *    component of PATH is never followed if it is a symbolic link.
 * 2. rfile_write() per piece (an events line, the whole JUnit document):
 *    what the file takes now goes at once, the rest is queued. A piece is
 *    kept whole or dropped whole: once more than RFILE_MAX_PENDING bytes
 *    wait, it is dropped, and so is every later one, so the file always
 *    holds a prefix of what was written. The first write error drops the
 *    queue and every later piece too.
 * 3. rfile_finish() once nothing more will be written: the loop keeps
 *    running until the queue is written out, or until DRAIN_MS ms have
 *    passed, when the rest is dropped (the file may then end inside a
 *    piece: still a prefix). Called again, the new window replaces the
 *    old; 0 drops the rest at once.
 * 4. rfile_close(): says whether everything was written.
 *
 * WHAT names the file in messages ("events file"); it is borrowed and
 * must outlive the rfile.
 */

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "ctxrun/err.h"

/* Bytes a report may have waiting for its reader before pieces are dropped. */
#define RFILE_MAX_PENDING (1024 * 1024)

struct rfile;

/* Open PATH; NULL with E filled ("cannot open WHAT 'PATH': ...") on failure. */
struct rfile *rfile_open(struct ev_loop *loop, const char *path,
			 const char *what, struct err *e);

/* Write, or queue, the LEN bytes at P (step 2). */
void rfile_write(struct rfile *f, const char *p, size_t len);

/* Nothing more will be written: drain within DRAIN_MS ms (step 3). */
void rfile_finish(struct rfile *f, int64_t drain_ms);

/*
 * Close F; -1 with E filled when some bytes did not reach the file: a
 * write error, or pieces dropped for a reader too slow. NULL: returns 0.
 */
int rfile_close(struct rfile *f, struct err *e);

#endif
