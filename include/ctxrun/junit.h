/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_JUNIT_H
#define CTXRUN_JUNIT_H

/*
 * The --junit report: a JUnit XML file with one testcase per job (SPEC
 * §5, §6.14; the layout is documented in ctxrun(1)), for CI systems.
 *
 * 1. junit_open() creates or truncates the file (close-on-exec) before
 *    anything runs, so an unwritable path stops the run before it starts.
 * 2. junit_capture() while jobs run, with every piece of a job's output
 *    (the output tap): per job and stream it keeps the first and the last
 *    JUNIT_KEEP bytes and counts what fell between, so memory stays
 *    bounded whatever a job prints.
 *    junit_set_error() gives a job that could not start its message.
 * 3. junit_write() once at the end, from the run's results: writes the
 *    whole document and closes the file. Well-formed XML 1.0 whatever the
 *    bytes (see escape.h).
 * 4. junit_free().
 *
 * The report owns its FILE * and its copies of names and output; results
 * stay the caller's. Pure of the loop.
 */

#include <stddef.h>

#include "ctxrun/err.h"
#include "ctxrun/pipeline.h"

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
struct junit *junit_open(const char *path, struct err *e);

/* Keep LEN bytes at P that job NAME wrote to its fd WHICH (1 or 2). */
void junit_capture(struct junit *j, const char *name, int which, const char *p,
		   size_t len);

/* Job NAME could not start: TEXT (copied) is its failure message. */
void junit_set_error(struct junit *j, const char *name, const char *text);

/*
 * Write the report of the N results R of SUITE and close the file; -1 with
 * E filled when it could not be written. Call once.
 */
int junit_write(struct junit *j, const struct junit_suite *suite,
		const struct pipeline_result *r, size_t n, struct err *e);

/* Release J (closing the file if junit_write() did not); NULL: no-op. */
void junit_free(struct junit *j);

#endif
