/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the kept last lines: the same lines however the output
 * was cut into pieces, a last line without newline, a new attempt, and
 * the byte bound.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/tail.h"

TestSuite(tail, .timeout = 30);

/* The kept bytes of JOB as a string (a static buffer). */
static const char *
kept(const struct tail *t, size_t job)
{
	static char buf[TAIL_MAX_BYTES + 1];
	size_t len;
	const char *p = tail_get(t, job, &len);

	memcpy(buf, p ? p : "", len);
	buf[len] = '\0';
	return buf;
}

/* Feed TEXT to JOB of T in pieces of STEP bytes. */
static void
feed(struct tail *t, size_t job, const char *text, size_t step)
{
	size_t len = strlen(text);

	for (size_t at = 0; at < len; at += step) {
		tail_take(t, job, text + at, len - at < step ? len - at : step);
	}
}

/* 100 numbered lines, then "end" without newline when PARTIAL. */
static const char *
numbered(bool partial)
{
	static char buf[2048];
	size_t n = 0;

	for (int i = 0; i < 100; i++) {
		n += (size_t)sprintf(buf + n, "line %d\n", i);
	}
	sprintf(buf + n, "%s", partial ? "end" : "");
	return buf;
}

/* Cut anywhere, the last 3 lines are kept, and only them. */
Test(tail, last_lines_whatever_the_pieces)
{
	for (size_t step = 1; step < 2048; step += step < 16 ? 1 : 97) {
		struct tail *t = tail_new(2, 3);

		feed(t, 0, numbered(false), step);
		feed(t, 1, numbered(true), step);
		cr_assert_str_eq(kept(t, 0), "line 97\nline 98\nline 99\n",
				 "step %zu", step);
		cr_assert_str_eq(kept(t, 1), "line 98\nline 99\nend",
				 "step %zu", step);
		tail_free(t);
	}
}

/* Fewer lines than asked: all of them; a new attempt forgets them. */
Test(tail, few_lines_and_reset)
{
	struct tail *t = tail_new(1, 20);

	feed(t, 0, "a\nb\n", 1);
	cr_assert_str_eq(kept(t, 0), "a\nb\n");
	tail_reset(t, 0);
	cr_assert_str_eq(kept(t, 0), "");
	feed(t, 0, "c\n", 2);
	cr_assert_str_eq(kept(t, 0), "c\n");
	tail_free(t);
}

/* One huge line keeps its last TAIL_MAX_BYTES bytes. */
Test(tail, bounded_bytes)
{
	struct tail *t = tail_new(1, 20);
	char *big = malloc(3 * TAIL_MAX_BYTES + 1);

	cr_assert_not_null(big);
	memset(big, 'x', 3 * TAIL_MAX_BYTES);
	big[3 * TAIL_MAX_BYTES] = '\0';
	big[3 * TAIL_MAX_BYTES - 1] = 'y';
	feed(t, 0, big, 1000);
	cr_assert_eq(strlen(kept(t, 0)), TAIL_MAX_BYTES);
	cr_assert_eq(kept(t, 0)[TAIL_MAX_BYTES - 1], 'y');
	feed(t, 0, big, 3 * TAIL_MAX_BYTES);
	cr_assert_eq(strlen(kept(t, 0)), TAIL_MAX_BYTES);
	free(big);
	tail_free(t);
}
