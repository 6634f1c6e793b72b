/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_DURATION_H
#define CTXRUN_DURATION_H

/*
 * Durations as users type them: "90" (seconds), "0.5", ".5", "300ms",
 * "1m30s", "2h", "1d". Units ms, s, m, h, d may be combined Go-style, largest
 * first or not. Values are whole milliseconds in an int64_t; "0" means
 * "none" to the callers that give it a meaning. Parsing is strict: no signs,
 * no exponents, no blanks, no locale commas, nothing above 100 years, and a
 * positive value below one millisecond becomes one millisecond (it must never
 * turn into "no deadline").
 */

#include <stddef.h>
#include <stdint.h>

#include "ctxrun/err.h"

/* The largest duration accepted: 100 years of 365 days, in milliseconds. */
#define DURATION_MAX_MS (100LL * 365 * 24 * 3600 * 1000)

/*
 * A grace period that never ends, as GNU timeout's without -k: no SIGKILL
 * while the command runs (proc.h says what becomes of its leftovers).
 * Never parsed from text: only the `timeout` personality sets it.
 */
#define DURATION_FOREVER (-1)

/*
 * Parse TEXT into *MS. Returns 0, or -1 with E's message saying what is
 * wrong without repeating TEXT ("unknown unit 'x'"), so the caller can name
 * the option or file line it came from.
 */
int duration_parse(const char *text, int64_t *ms, struct err *e);

/*
 * Write MS in canonical form ("200ms", "1.5s", "1m30s", "2h") into BUF of
 * SIZE bytes and return BUF. 64 bytes always suffice.
 */
char *duration_format(int64_t ms, char *buf, size_t size);

#endif
