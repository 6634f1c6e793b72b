/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_JUNIT_H
#define CTXRUN_JUNIT_H

/*
 * The --junit report: a JUnit XML file with one testcase per job (the
 * layout is in ctxrun(1), REPORTS), for CI systems.
 *
 * 1. junit_open() opens the file before anything runs, so an unwritable
 *    path stops the run before it starts; it never waits for a reader
 *    (see rfile.h for a FIFO and /tmp).
 * 2. junit_capture() while jobs run, with every piece of a job's output
 *    (the output tap): per job and stream it keeps the first and the last
 *    JUNIT_KEEP bytes and counts what fell between, so memory stays
 *    bounded whatever a job prints.
 *    junit_set_error() gives a job that could not start its message.
 * 3. junit_write() once at the end, from the run's results: makes the
 *    whole document and writes it as far as the file takes it now; the
 *    rest waits for the loop. Well-formed XML 1.0 whatever the bytes
 *    (see escape.h).
 * 4. junit_finish(): the loop writes out the rest within the drain window.
 * 5. junit_close() closes the file and releases the report.
 *
 * The report owns its file and its copies of names and output; results
 * stay the caller's. Only the file's writes touch the loop.
 */

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "ctxrun/err.h"
#include "ctxrun/result.h"

/* Bytes kept at each end of a job's stdout and of its stderr. */
#define JUNIT_KEEP 32768

struct junit;

/* The testsuite: what the run was. */
struct junit_suite {
	const char *name;  /* testsuite name and every testcase's classname */
	double started_at; /* wall clock, Unix seconds */
	double duration;   /* seconds */
};

/* Open PATH for the report; NULL with E filled when it cannot be opened. */
struct junit *junit_open(struct ev_loop *loop, const char *path,
			 struct err *e);

/* Keep LEN bytes at P that job NAME wrote to its fd WHICH (1 or 2). */
void junit_capture(struct junit *j, const char *name, int which, const char *p,
		   size_t len);

/* Job NAME could not start: TEXT (copied) is its failure message. */
void junit_set_error(struct junit *j, const char *name, const char *text);

/* Write the report of the N results R of SUITE (step 3). Call once. */
void junit_write(struct junit *j, const struct junit_suite *suite,
		 const struct pipeline_result *r, size_t n);

/*
 * Nothing more will be written: let the loop write out the rest, giving
 * up after DRAIN_MS ms (0: at once). Again, a new window. NULL: no-op.
 */
void junit_finish(struct junit *j, int64_t drain_ms);

/*
 * Close the file and release J; -1 with E filled when the report did not
 * reach the file whole (an error, or a reader too slow). NULL: returns 0.
 */
int junit_close(struct junit *j, struct err *e);

#endif
