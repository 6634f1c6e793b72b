/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of grouped blocks: a block over the in-memory limit goes to
 * a spill file and comes back byte-exact; a block that cannot spill comes
 * out in pieces cut after whole lines; GitHub's group lines.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/block.h"
#include "sinks.h"

TestSuite(block, .timeout = 30);

/* LEN bytes of numbered lines of 100 bytes (the last may be cut); to free. */
static char *
text(size_t len)
{
	char *t = malloc(len + 100);

	cr_assert_not_null(t);
	for (size_t at = 0; at < len; at += 100) {
		snprintf(t + at, 101, "%099zu\n", at / 100);
	}
	return t;
}

/* Add the LEN bytes at P to B for WHICH, a pipe's worth at a time. */
static void
add_all(struct block *b, int which, const char *p, size_t len)
{
	struct err e;

	for (size_t at = 0; at < len; at += 65536) {
		size_t n = len - at < 65536 ? len - at : 65536;

		cr_assert_eq(block_add(b, which, p + at, n, &e), n);
	}
}

Test(block, a_small_block_is_held_in_memory_and_ends_with_a_newline)
{
	struct block *b = block_new();
	struct sinks k;
	struct err e;
	char *out, *err;

	sinks_open_files(&k);
	cr_assert_eq(block_add(b, 2, "warning\n", 8, &e), 8);
	cr_assert_eq(block_add(b, 1, "one\ntwo", 7, &e), 7);
	block_queue(b, k.q, true, NULL);
	outq_run(k.q);
	out = sinks_read(&k, 1, NULL);
	err = sinks_read(&k, 2, NULL);
	cr_assert_str_eq(out, "one\ntwo\n", "a newline is added");
	cr_assert_str_eq(err, "warning\n");
	free(out);
	free(err);
	block_free(b);
	sinks_close(&k);
}

Test(block, a_block_over_the_memory_limit_spills_and_comes_back_exact)
{
	size_t len = BLOCK_MEM + 3 * 65536 + 50, got_len;
	char *t = text(len), *got;
	struct block *b = block_new();
	struct sinks k;
	int fds_before;

	sinks_open_files(&k);
	fds_before = sinks_open_fds();
	add_all(b, 1, t, len);
	cr_assert_eq(sinks_open_fds(), fds_before + 1, "one spill file");
	add_all(b, 2, "e\n", 2);
	block_queue(b, k.q, true, NULL);
	outq_run(k.q);
	cr_assert_eq(outq_queued(k.q), 0);
	cr_assert_eq(sinks_open_fds(), fds_before, "the spill file is closed");
	got = sinks_read(&k, 1, &got_len);
	/* The text ends inside a line: a newline is added. */
	cr_assert_eq(got_len, len + 1);
	cr_assert_eq(memcmp(got, t, len), 0, "the bytes differ");
	cr_assert_eq(got[len], '\n');
	free(got);
	got = sinks_read(&k, 2, NULL);
	cr_assert_str_eq(got, "e\n");
	free(got);
	block_free(b);
	free(t);
	sinks_close(&k);
}

Test(block, a_block_that_cannot_spill_comes_out_in_whole_line_pieces)
{
	size_t len = BLOCK_MEM + 65536 + 50, at = 0, got_len, n = 0;
	char *t = text(len), *got;
	struct block *b = block_new();
	struct sinks k;
	struct err e;

	setenv("TMPDIR", "/nonexistent-ctxrun-dir", 1);
	sinks_open_files(&k);
	while (at < len) {
		size_t piece = len - at < 65536 ? len - at : 65536;
		size_t took = block_add(b, 1, t + at, piece, &e);

		if (took < piece) {
			cr_assert_str_eq(e.msg, "cannot spill grouped output "
				"to TMPDIR '/nonexistent-ctxrun-dir': No such "
				"file or directory");
			/* What the owner does: a piece, and the rest held. */
			block_queue(b, k.q, false, NULL);
			outq_run(k.q);
			block_hold(b, 1, t + at + took, piece - took);
			n++;
			got = sinks_read(&k, 1, &got_len);
			cr_assert_eq(got[got_len - 1], '\n', "a whole line");
			free(got);
		}
		at += piece;
	}
	cr_assert_eq(n, 1, "one piece");
	block_queue(b, k.q, true, NULL);
	outq_run(k.q);
	got = sinks_read(&k, 1, &got_len);
	cr_assert_eq(got_len, len + 1);
	cr_assert_eq(memcmp(got, t, len), 0, "the bytes differ");
	free(got);
	block_free(b);
	free(t);
	sinks_close(&k);
}

Test(block, a_piece_keeps_what_follows_the_last_newline)
{
	struct block *b = block_new();
	struct sinks k;
	struct err e;
	char *out;

	sinks_open_files(&k);
	block_add(b, 1, "a\nb", 3, &e);
	block_queue(b, k.q, false, NULL);
	outq_run(k.q);
	out = sinks_read(&k, 1, NULL);
	cr_assert_str_eq(out, "a\n");
	free(out);
	block_add(b, 1, "c\n", 2, &e);
	block_queue(b, k.q, true, NULL);
	outq_run(k.q);
	out = sinks_read(&k, 1, NULL);
	cr_assert_str_eq(out, "a\nbc\n");
	free(out);
	block_free(b);
	sinks_close(&k);
}

Test(block, github_group_lines_go_around_a_block_that_is_not_empty)
{
	struct block *b = block_new();
	struct sinks k;
	struct err e;
	char *out;

	sinks_open_files(&k);
	block_queue(b, k.q, true, "quiet");
	block_add(b, 1, "x", 1, &e);
	block_queue(b, k.q, true, "un\tit");
	outq_run(k.q);
	out = sinks_read(&k, 1, NULL);
	cr_assert_str_eq(out, "::group::un?it\nx\n::endgroup::\n");
	free(out);
	block_free(b);
	sinks_close(&k);
}
