/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_GOLDEN_H
#define CTXRUN_GOLDEN_H

/*
 * Golden files (tests/golden/CASE/FILE) of what ctxrun prints. Durations
 * ("12ms", "1.5s", a last TSV field "0.013") become "T", and runs of
 * spaces in ctxrun's own lines (the TIME column's width moves the table)
 * become two.
 */

/* TEXT normalised as above, as a new string. */
char *golden_normalise(const char *text);

/*
 * Compare TEXT, normalised, with tests/golden/GCASE/FILE (run from the
 * top of the checkout); with CTXRUN_GOLDEN_UPDATE=1, write it first.
 */
void expect_golden(const char *gcase, const char *file, const char *text);

#endif
