/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_REPORT_H
#define CTXRUN_REPORT_H

/*
 * What a person reads about a pipeline, written to a FILE *: the plan of
 * --check before anything runs, and the summary table after. Pure: no loop,
 * no state, nothing but the data it is given.
 */

#include <stdio.h>

#include "ctxrun/result.h"
#include "ctxrun/spec.h"

/*
 * Print S's plan: jobs by level (a job's level is one more than its
 * deepest need), in start order within a level, each with its needs and its
 * effective timeout, grace and stop signal.
 */
void report_plan(FILE *out, const struct spec *s);

/* Print the summary table of the N results R: job, outcome, status, time, cause. */
void report_summary(FILE *out, const struct pipeline_result *r, size_t n);

/* The same table, outcome words in colour (green, red, yellow). */
void report_summary_colour(FILE *out, const struct pipeline_result *r,
			   size_t n);

/*
 * The summary for scripts (-q): one line per job in spec order,
 * "NAME<TAB>OUTCOME<TAB>CODE<TAB>SECONDS\n". OUTCOME is one word
 * (succeeded, failed, timed-out, cancelled, skipped, failed-allowed,
 * timed-out-allowed); CODE the exit code (128+N for signal N) or "-" when
 * the job never ran; SECONDS has three decimals, or is "-". Each byte of
 * a control character or of invalid UTF-8 in NAME is printed as "?", as
 * in every name and cause these functions print (escape_term()).
 */
void report_summary_lines(FILE *out, const struct pipeline_result *r,
			  size_t n);

/*
 * The last lines of a failed job R, LEN bytes at TAIL, under a header
 * "── NAME (exit 2) ──" ("(timed out, SIGTERM)" for a job that timed
 * out); a newline is added to a last line without one.
 */
void report_failure(FILE *out, const struct pipeline_result *r,
		    const char *tail, size_t len);

/* Printable outcome of R: "failed (allowed)" for an allowed failure. */
const char *report_outcome(const struct pipeline_result *r);

/* Write R's status into BUF: "0", "exit 2", "SIGTERM", "-"; returns BUF. */
char *report_status(const struct pipeline_result *r, char *buf, size_t size);

#endif
