/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_LINES_H
#define CTXRUN_LINES_H

/*
 * Line assembly for prefixed output: the bytes of one job stream (its
 * stdout or its stderr), read in pieces cut anywhere, go to the write
 * queue as whole lines, each as "name | line".
 *
 * 1. lines_prefix() formats a stream's prefix: the name padded to a width,
 *    coloured or not (the caller owns the string).
 * 2. lines_init() per stream, with the queue, the sink (1 or 2) and the
 *    prefix, both borrowed until lines_release().
 * 3. lines_take() per piece read: every line it completes goes to the
 *    queue at once, and only the incomplete line that ends it is kept
 *    (copied), so a stream holds no more than that. A line longer than
 *    LINES_MAX bytes goes out in lines of LINES_MAX bytes as soon as they
 *    are whole; a line of exactly LINES_MAX bytes is one line however its
 *    bytes were read. Nothing is queued for a closed sink (outq_closed()).
 * 4. lines_release() at the end of the stream queues a last line without
 *    newline, with a newline added, and frees what L holds.
 *
 * The struct is embedded in its owner's stream; its fields are private.
 */

#include <stdbool.h>
#include <stddef.h>

#include "ctxrun/outq.h"

/* The longest line that goes out as one (see ctxrun(1), OUTPUT). */
#define LINES_MAX 65536

/*
 * Bytes after a piece given to lines_take() that it may read (never
 * use): the search for newlines reads whole 64-byte blocks.
 */
#define LINES_SLACK 64

struct lines {
	struct outq *q;      /* borrowed */
	const char *prefix;  /* "name | ", padded (and coloured); borrowed */
	int prefix_len;
	int which;           /* 1 or 2 */
	bool cut;            /* the last piece ended LINES_MAX bytes (.c) */
	char *buf;           /* the incomplete line; NULL when none */
	size_t len, cap;
};

/* The SGR parameters ("36") of palette entry COLOUR (any number; it wraps). */
const char *lines_palette(size_t colour);

/*
 * Put the prefix of a stream of NAME into the SIZE bytes at BUF (none
 * when SIZE is 0, to measure it): NAME padded to WIDTH, then " | ", in
 * palette entry COLOUR (any number; it wraps) when COLOURED. Returns its
 * length.
 */
size_t lines_prefix(char *buf, size_t size, const char *name, int width,
		    bool coloured, size_t colour);

/* Set up L to queue lines for WHICH (1 or 2) on Q, after PREFIX. */
void lines_init(struct lines *l, struct outq *q, int which,
		const char *prefix);

/*
 * Queue every line the LEN bytes at P complete (step 3), and keep the
 * rest. LEN is at most LINES_MAX, and LINES_SLACK bytes after P are
 * readable.
 */
void lines_take(struct lines *l, const char *p, size_t len);

/* Queue the last line, if it had no newline, and release L (step 4). */
void lines_release(struct lines *l);

/*
 * The line loop is built twice, with SSE2 (every x86-64) and with AVX2
 * (64 bytes searched in two compares, a line copied in one move; 20 %
 * fewer instructions a line). AUTO, the default, takes the best this CPU
 * has; the tests name each in turn.
 */
enum lines_isa { LINES_ISA_AUTO, LINES_ISA_BASE, LINES_ISA_AVX2 };

/* Use the loop for ISA from now on; false when this CPU has no AVX2. */
bool lines_use(enum lines_isa isa);

#endif
