/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_OUTPUT_H
#define CTXRUN_OUTPUT_H

/*
 * Job output on its way to ctxrun's stdout and stderr, in one of two forms:
 * `prefixed` (every line as "name | line", whole, as it completes) or
 * `grouped` (a job's output held and written as one block when it ends).
 * The third mode, `raw`, needs no output object: jobs get ctxrun's fds.
 *
 * 1. output_new() once per run, with the mode, the width names are padded
 *    to and whether each of stdout and stderr is coloured.
 * 2. output_job_open() per job attempt: creates a pipe for the job's
 *    stdout and one for its stderr, returns the ends the job writes to
 *    (close-on-exec; the caller passes them to the spawn and closes them
 *    right after) and starts reading the other ends with ev_io.
 * 3. Everything ctxrun writes goes through one queue (outq.h), in the
 *    order it was produced, and leaves it with non-blocking writes: a slow
 *    reader never stalls the loop. While more than OUTQ_MAX_PENDING bytes
 *    wait in the queue, no job pipe is read, so jobs are slowed by their
 *    full pipes and memory stays bounded whatever they print. A line
 *    longer than LINES_MAX is cut into pieces of that size (lines.h); a
 *    grouped block past BLOCK_MEM bytes spills to an unlinked temporary
 *    file (block.h). When the file cannot be made or written (no TMPDIR,
 *    disk full), the block so far goes out as a piece, cut after its last
 *    newline, and the rest is held again: the bytes arrive whole and in
 *    order, only no longer as one block (OUTPUT_EV_PIECES).
 * 4. output_job_close() when the job's processes are gone: reads what is
 *    left in the pipes without waiting for EOF (a stray process holding a
 *    pipe cannot hang the run), flushes a last line without newline (or
 *    queues the whole block), and frees the job's streams.
 * 5. output_finish() once nothing more will be written: the loop keeps
 *    running until the queue is written out, or until the drain window
 *    given has passed, when the rest is dropped.
 * 6. When ctxrun's own stdout or stderr is closed (EPIPE), on_event gets
 *    OUTPUT_EV_CLOSED once, and what is bound for it is dropped from then
 *    on. Any other write error (ENOSPC, EIO, EFBIG...) gives
 *    OUTPUT_EV_LOST, once per fd, and drops the rest bound for that fd
 *    alike: the caller says so, the run goes on.
 *
 * With a log directory (logdir.h), each attempt's output is also written,
 * unprefixed, to its log file as it is read, before it is queued: a job
 * killed mid-run leaves a file that holds all it wrote.
 *
 * With timestamps, each line a job prints starts with the run's elapsed
 * time when it was read, "[12.345s] ", before its prefix (prefixed) or
 * alone (grouped).
 *
 * Job names reach the terminal, in prefixes and ::group:: lines, through
 * escape_term(); the tap gets them as they are.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "ctxrun/err.h"
#include "ctxrun/logdir.h"

enum output_mode { OUTPUT_PREFIXED, OUTPUT_GROUPED, OUTPUT_RAW };
enum output_colour { OUTPUT_COLOUR_AUTO, OUTPUT_COLOUR_ALWAYS,
		     OUTPUT_COLOUR_NEVER };

struct output;
struct output_job;

/* What went wrong on the way out (step 6, step 3); each kind is told once. */
enum output_event_kind {
	OUTPUT_EV_CLOSED, /* fd WHICH is closed (EPIPE): nobody reads */
	OUTPUT_EV_LOST,   /* bytes bound for WHICH are lost: ERR says why */
	OUTPUT_EV_PIECES, /* a grouped block comes in pieces: ERR says why */
	OUTPUT_EV_LOG,    /* job NAME's log file failed (ERR): no more of
			     its output goes there; told once per attempt */
};

struct output_event {
	enum output_event_kind kind;
	int which;             /* 1 or 2 */
	const struct err *err; /* NULL for OUTPUT_EV_CLOSED; borrowed */
	const char *name;      /* OUTPUT_EV_LOG: the job's */
};

/*
 * Called from inside output's functions (a write, a read of a job pipe),
 * never for output that is already gone: it may queue ctxrun's own lines
 * and cancel contexts, but not close jobs or free O.
 */
typedef void output_event_fn(struct output *o, const struct output_event *ev,
			     void *data);

/*
 * Called with each piece of a job's output as read from its pipe, before
 * prefixing: the job's index in the spec and its name.
 */
typedef void output_tap_fn(void *data, size_t job, const char *name,
			   int which, const char *p, size_t len);

/*
 * Called before bytes are queued for fd WHICH (1 or 2; 0: either, a
 * grouped block), while something is drawn on the terminal below the
 * output (live.h) that must be erased first. It may queue bytes itself
 * (output_write()), and is called for those too.
 */
typedef void output_overlay_fn(void *data, int which);

/* How many taps an output takes (output_add_tap()). */
#define OUTPUT_TAPS_MAX 4

struct output_opts {
	struct ev_loop *loop;
	enum output_mode mode;    /* OUTPUT_PREFIXED or OUTPUT_GROUPED */
	int width;                /* names are padded to this */
	bool colour_out;          /* escape codes on stdout */
	bool colour_err;          /* escape codes on stderr */
	bool github;              /* grouped: ::group:: lines around blocks */
	bool timestamps;          /* "[12.345s] " before each job line */
	ev_tstamp started_at;     /* ev_now() at the run's start */
	const struct logdir *logdir; /* --log-dir, or NULL; borrowed */
	output_event_fn *on_event;
	void *data;
};

/* Parse "prefixed", "grouped" or "raw" into *MODE; -1 if ARG is none. */
int output_mode_parse(const char *arg, enum output_mode *mode);

/* Parse "auto", "always" or "never" into *WHEN; -1 if ARG is none. */
int output_colour_parse(const char *arg, enum output_colour *when);

/* Give every piece of output read from now on to FN too, after the taps before. */
void output_add_tap(struct output *o, output_tap_fn *fn, void *data);

/* Call FN before anything is queued from now on (NULL: nothing). */
void output_set_overlay(struct output *o, output_overlay_fn *fn, void *data);

/*
 * Whether to colour what goes to FD (ctxrun(1), OUTPUT): WHEN unless
 * auto, then off with NO_COLOR set, on with CLICOLOR_FORCE set and not
 * "0", else on a terminal only.
 */
bool output_colour_wanted(enum output_colour when, int fd);

/* Create the writer. Examines fds 1 and 2 to choose how to write them. */
struct output *output_new(const struct output_opts *opts);

/* One attempt of one job, as output_job_open() is told of it. */
struct output_job_opts {
	const char *name; /* copied */
	size_t index;     /* the job's in the spec: its colour (it wraps) */
	int attempt;      /* 1 for its first run */
};

/*
 * Open the streams of the attempt JO, and its log file. On success
 * FDS[0] and FDS[1] are the job's stdout and stderr; NULL with E (and no
 * fd open) on failure.
 */
struct output_job *output_job_open(struct output *o,
				   const struct output_job_opts *jo, int fds[2],
				   struct err *e);

/*
 * Give every piece of J's output read from now on to FN too (NULL: none),
 * after the run's tap; e.g. a log: probe watching a service. FN may not
 * close jobs or free anything of the output's.
 */
void output_job_watch(struct output_job *j, output_tap_fn *fn, void *data);

/*
 * Queue the whole lines the pipes hold now (before an exit line); grouped,
 * the block so far: output that comes later makes a second block.
 */
void output_job_flush(struct output_job *j);

/* Queue what is left (step 4) and release J. NULL: no-op. */
void output_job_close(struct output_job *j);

/* Queue LEN bytes of ctxrun's own at BUF for fd WHICH (1 or 2), in order. */
void output_write(struct output *o, int which, const char *buf, size_t len);

/*
 * Nothing more will be queued: let the loop write out the queue, giving up
 * after DRAIN_MS ms (then dropping the rest) unless DRAIN_MS is negative.
 */
void output_finish(struct output *o, int64_t drain_ms);

/* Bytes dropped by output_finish() when its window passed. */
size_t output_dropped(const struct output *o);

/* Release O; every job must be closed. NULL is a no-op. */
void output_free(struct output *o);

#endif
