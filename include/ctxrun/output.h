/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_OUTPUT_H
#define CTXRUN_OUTPUT_H

/*
 * Job output in `prefixed` form: every line a job writes to its stdout or
 * stderr comes out on ctxrun's stdout or stderr as "name | line", whole.
 *
 * 1. output_new() once per run, with the width names are padded to.
 * 2. output_open() per job and stream: creates the pipe, returns the end the
 *    job writes to (close-on-exec; the caller passes it to the spawn and
 *    closes it right after) and starts reading the other end with ev_io.
 * 3. Lines are written as they complete, many per write(2). A line longer
 *    than OUTPUT_MAX_LINE is cut into pieces of that size, so memory stays
 *    bounded whatever a job prints.
 * 4. output_stream_close() when the job's processes are gone: reads what is
 *    left in the pipe without waiting for EOF (a stray process holding the
 *    pipe cannot hang the run), flushes a last line without newline, and
 *    frees the stream.
 * 5. When ctxrun's own stdout or stderr is closed (EPIPE), the closed
 *    callback fires once and output is dropped from then on.
 */

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "ctxrun/err.h"

#define OUTPUT_MAX_LINE 65536

struct output;
struct output_stream;

typedef void output_closed_fn(struct output *o, void *data);

/* Called with each piece of a job's output as read from its pipe, before prefixing. */
typedef void output_tap_fn(void *data, const char *name, int which, const char *p, size_t len);

/* Create the writer; names are padded to WIDTH. */
struct output *output_new(struct ev_loop *loop, int width,
			  output_closed_fn *on_closed, void *data);

/* Give every piece of output read from now on to FN too (NULL: none). */
void output_set_tap(struct output *o, output_tap_fn *fn, void *data);

/*
 * Open a stream named NAME (copied) for a job's fd WHICH (1 or 2). On
 * success *CHILD_FD is the write end for the job; NULL with E on failure.
 */
struct output_stream *output_open(struct output *o, const char *name,
				  int which, int *child_fd, struct err *e);

/* Write out the whole lines the pipe holds now (e.g. before an exit line). */
void output_stream_flush(struct output_stream *s);

/* Deliver what is left, flush a partial last line, release S. NULL: no-op. */
void output_stream_close(struct output_stream *s);

/* Release O; every stream must be closed. NULL is a no-op. */
void output_free(struct output *o);

#endif
