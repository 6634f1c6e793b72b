/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_EXPECT_H
#define CTXRUN_EXPECT_H

/*
 * Assertions on a finished struct h_proc (harness.h), shared by the
 * end-to-end suites. Each failure message shows what the process printed.
 */

#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

/* Assert P exited with code WANT. */
#define expect_exit(p, want)                                                 \
	cr_assert_eq(h_code(p), (want),                                      \
		     "want exit %d, got status %#x (exit %d, signal %d); "   \
		     "stdout: <%.2000s> stderr: <%s>",                       \
		     (want), (p)->status, h_code(p), h_sig(p),               \
		     (p)->out.data, (p)->err.data)

/* Assert P died of signal WANT. */
#define expect_signal(p, want)                                               \
	cr_assert_eq(h_sig(p), (want),                                       \
		     "want death by signal %d, got status %#x (exit %d, "    \
		     "signal %d); stderr: <%s>",                             \
		     (want), (p)->status, h_code(p), h_sig(p), (p)->err.data)

/* Assert P's stdout is exactly WANT. */
#define expect_out(p, want)                                                  \
	cr_assert_str_eq((p)->out.data, (want), "stdout: <%s>, want <%s>",   \
			 (p)->out.data, (want))

/* Assert P's stderr is exactly WANT. */
#define expect_err(p, want)                                                  \
	cr_assert_str_eq((p)->err.data, (want), "stderr: <%s>, want <%s>",   \
			 (p)->err.data, (want))

/* Assert P's stdout contains NEEDLE. */
#define expect_out_has(p, needle)                                            \
	cr_assert_not_null(strstr((p)->out.data, (needle)),                  \
			   "stdout <%.4000s> lacks <%s>", (p)->out.data,     \
			   (needle))

/* Assert P's stdout does not contain NEEDLE. */
#define expect_out_lacks(p, needle)                                          \
	cr_assert_null(strstr((p)->out.data, (needle)),                      \
		       "stdout <%.4000s> has <%s>", (p)->out.data, (needle))

/* Assert P's stderr contains NEEDLE. */
#define expect_err_has(p, needle)                                            \
	cr_assert_not_null(strstr((p)->err.data, (needle)),                  \
			   "stderr <%s> lacks <%s>", (p)->err.data, (needle))

/* Assert P's stderr does not contain NEEDLE. */
#define expect_err_lacks(p, needle)                                          \
	cr_assert_null(strstr((p)->err.data, (needle)),                      \
		       "stderr <%s> has <%s>", (p)->err.data, (needle))

/* Assert LO <= X <= HI (seconds). */
#define expect_secs(x, lo, hi)                                               \
	cr_assert((x) >= (lo) && (x) <= (hi),                                \
		  "took %.3f s, want between %.3f and %.3f s", (x),          \
		  (double)(lo), (double)(hi))

#endif
