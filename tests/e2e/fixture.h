/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_FIXTURE_H
#define CTXRUN_FIXTURE_H

/*
 * The set-up and tear-down the end-to-end suites share, so that a test's
 * body says what it checks and nothing else.
 *
 * 1. fx_init() is a suite's .init: the harness's h_setup(), the th helper
 *    exported to the jobs as TH, and a fresh temporary directory for the
 *    test, exported as D. Criterion runs each test in a process of its
 *    own, so the directory, the environment and the cwd are the test's.
 * 2. The body names files in that directory with fx_path(), and writes,
 *    tests and reads them with fx_write(), fx_exists() and fx_read();
 *    fx_run_ini() writes a pipeline file there and runs ctxrun on it.
 * 3. The body ends each run with h_done() (harness.h): the check that
 *    nothing survived ctxrun stays in the body, because an assertion that
 *    fails in .fini does not fail the test.
 * 4. fx_fini() is the suite's .fini: h_teardown() kills what a failed test
 *    left running, then the directory goes, with everything in it.
 *
 * Paths returned here are borrowed: each lives in one of sixteen static
 * buffers, reused in turn, so a path stays valid for the next fifteen.
 */

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

/* The test's temporary directory (also $D); "" outside a fixture. */
extern const char *fx_dir;

/* Prepare the test process and its directory; see step 1. */
void fx_init(void);

/* Kill what the test left running and remove its directory; step 4. */
void fx_fini(void);

/* The path of NAME in the test's directory. */
const char *fx_path(const char *name);

/* Write TEXT to the new file NAME (mode 0644), or fail; returns its path. */
const char *fx_write(const char *name, const char *text);

/* Whether NAME exists in the test's directory. */
bool fx_exists(const char *name);

/* Read NAME into BUF (SIZE bytes, NUL-ended), "" if missing; returns BUF. */
const char *fx_read(const char *name, char *buf, size_t size);

/*
 * Write INI to p.ini in the test's directory and start ctxrun with OPTS
 * (NULL-ended; NULL for none), then "-f" and the file; returns its path.
 */
const char *fx_start_ini(struct h_proc *p, const char *const *opts,
			 const char *ini);

/* fx_start_ini(), then h_finish() within 20 s; returns the file's path. */
const char *fx_run_ini(struct h_proc *p, const char *const *opts,
		       const char *ini);

#endif
