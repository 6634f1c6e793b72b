/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_EVENTS_H
#define CTXRUN_EVENTS_H

/*
 * The --events log: JSON Lines, one object per lifecycle event, written
 * as it happens so that `tail -f` follows a run (the schema is in
 * ctxrun(1), REPORTS).
 *
 * 1. events_open() opens the file before anything runs, never waiting
 *    for a reader (see rfile.h for a FIFO and /tmp); failure is ctxrun's
 *    own (exit 125).
 * 2. events_write() or events_job() per event: each line goes out whole
 *    at once, as far as the file takes it; the rest waits in a bounded
 *    queue the loop writes out, so a slow reader never stalls the run.
 *    `time` is the wall clock (Unix seconds, milliseconds), taken here.
 * 3. events_finish() after the last event ("done"): the loop writes out
 *    the queue, within the drain window given.
 * 4. events_close(); it says whether every line reached the file.
 *
 * The log owns its file; records and their strings stay the caller's.
 * The formatting knows nothing but what it is given; only the file's
 * writes touch the loop.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "ctxrun/err.h"
#include "ctxrun/job.h"

struct events;

/* One line of the log. Absent fields: NULL, 0 or has_status false. */
struct events_rec {
	const char *event; /* "start", "signal", "kill", "exit", "skip", ... */
	const char *job;   /* job name, any bytes */
	pid_t pid;
	int attempt;       /* 1 for a job's first run */
	int signal;        /* written by name, "SIGTERM" */
	bool has_status;
	int status;        /* exit code 0..255 (128+N after signal N) */
	const char *cause; /* any bytes */
	const char *log;   /* "start": the attempt's --log-dir file */
	const char *probe; /* "ready", "probe": the service's probe */
	const char *text;  /* "status": what the service said */
	double after;      /* "ready": seconds from start; 0: none */
};

/* Open PATH for the log; NULL with E filled when it cannot be opened. */
struct events *events_open(struct ev_loop *loop, const char *path,
			   struct err *e);

/* Write REC as one line. Write errors are kept for events_close(). */
void events_write(struct events *ev, const struct events_rec *rec);

/*
 * Write the line a job event stands for (start, signal, kill, exit) for
 * job NAME's attempt ATTEMPT, whose log file is LOG (or NULL); other job
 * events write nothing.
 */
void events_job(struct events *ev, const char *name, int attempt,
		const struct job_event *jev, const char *log);

/*
 * Nothing more will be written: let the loop write out the queue, giving
 * up after DRAIN_MS ms (0: at once). Again, a new window. NULL: no-op.
 */
void events_finish(struct events *ev, int64_t drain_ms);

/*
 * Close the log; -1 with E filled when a line could not be written (an
 * error, or a reader too slow). NULL is a no-op that returns 0.
 */
int events_close(struct events *ev, struct err *e);

#endif
