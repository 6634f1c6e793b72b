/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_LIVE_H
#define CTXRUN_LIVE_H

/*
 * The live status region of a group or pipeline run on a terminal
 * (--progress; ctxrun(1), TERMINAL): below the scrolling output, one line
 * per running job (its name, how long it has run, its last output line
 * cut to the width) and a counts line ("3 running · 12 done · 1 failed ·
 * 4 queued · 0:42"), redrawn in place on ctxrun's stderr.
 *
 * 1. live_new() once the output writer exists: the live view taps the
 *    jobs' output for their last lines and sits over the output
 *    (output_set_overlay()): before any byte is queued, the region is
 *    erased, so no line is ever torn or overwritten; it is drawn again
 *    after, at most every LIVE_REDRAW_MS, and once a second for the
 *    clocks while it is shown. SIGWINCH redraws it at the new width.
 * 2. live_pipeline_event() with every pipeline event: jobs start and end,
 *    and the counts follow.
 * 3. live_finish() before the summary: the region is erased for good and
 *    every watcher stopped (nothing of the live view keeps the loop
 *    alive after it).
 * 4. live_free(), after the output writer is freed.
 *
 * Everything it draws goes through the output's queue, in order with the
 * rest, so a slow terminal never stalls the loop. It borrows the output
 * writer and the spec.
 */

#include <stdbool.h>

#include <ev.h>

#include "ctxrun/output.h"
#include "ctxrun/pipeline.h"
#include "ctxrun/spec.h"

/* The shortest time between two redraws for output, in ms. */
#define LIVE_REDRAW_MS 100

enum live_progress { LIVE_AUTO, LIVE_TTY, LIVE_PLAIN };

struct live;

struct live_opts {
	struct ev_loop *loop;
	struct output *output;   /* borrowed; outlives the live view */
	const struct spec *spec; /* borrowed: the jobs' names */
	bool colour;             /* escape codes for colour on stderr */
	ev_tstamp started_at;    /* ev_now() at the run's start */
};

/* Parse "auto", "tty" or "plain" into *P; -1 if ARG is none of them. */
int live_progress_parse(const char *arg, enum live_progress *p);

/*
 * Whether P asks for the live view on stderr: tty always; auto when
 * stderr is a terminal, TERM is set and not "dumb", and CI is unset or
 * empty; plain never.
 */
bool live_wanted(enum live_progress p);

/* Start the live view over O's output (step 1). */
struct live *live_new(const struct live_opts *o);

/* Follow the pipeline event EV of P (step 2). */
void live_pipeline_event(struct live *l, const struct pipeline *p,
			 const struct pipeline_event *ev);

/* Erase the region for good and stop (step 3). Idempotent. */
void live_finish(struct live *l);

/* Release L. NULL is a no-op. */
void live_free(struct live *l);

#endif
