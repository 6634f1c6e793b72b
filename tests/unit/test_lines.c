/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of line assembly: pieces cut anywhere give the same lines,
 * lines of LINES_MAX bytes and longer, CR, a last line without newline,
 * and the prefixes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/lines.h"
#include "ctxrun/util.h"
#include "sinks.h"

TestSuite(lines, .timeout = 30);

#define PREFIX "job | "

/* A growable byte string. */
struct bytes {
	char *p;
	size_t len, cap;
};

/* Append LEN bytes at P to B. */
static void
bytes_add(struct bytes *b, const void *p, size_t len)
{
	if (b->cap - b->len < len) {
		b->cap = 2 * (b->len + len);
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

/* Append N bytes C to B. */
static void
bytes_fill(struct bytes *b, char c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bytes_add(b, &c, 1);
	}
}

/*
 * What the N bytes at TEXT should come out as: each line, and a last one
 * without newline, cut into lines of at most LINES_MAX bytes, after
 * PREFIX.
 */
static struct bytes
expected(const char *text, size_t n, const char *prefix)
{
	struct bytes out = { 0 };
	size_t start = 0;

	while (start < n) {
		const char *nl = memchr(text + start, '\n', n - start);
		size_t len = nl ? (size_t)(nl - text) - start : n - start;
		size_t off = 0;

		do {
			size_t piece = len - off < LINES_MAX ? len - off
							     : LINES_MAX;

			bytes_add(&out, prefix, strlen(prefix));
			bytes_add(&out, text + start + off, piece);
			bytes_add(&out, "\n", 1);
			off += piece;
		} while (off < len);
		start += len + 1;
	}
	return out;
}

/*
 * Give TEXT (N bytes) to a stream whose prefix is PREFIX in pieces of
 * SIZES[i % N_SIZES] bytes (0: a random size up to LINES_MAX, from SEED),
 * then end the stream; what came out, to free.
 */
static struct bytes
assemble(const char *text, size_t n, const char *prefix,
	 const size_t *sizes, size_t n_sizes, unsigned seed)
{
	char *buf = malloc(LINES_MAX + LINES_SLACK);
	struct bytes out = { 0 };
	struct sinks k;
	struct lines l;

	cr_assert_not_null(buf);
	srand(seed);
	sinks_open_files(&k);
	lines_init(&l, k.q, 1, prefix);
	for (size_t off = 0, i = 0; off < n; i++) {
		size_t len = sizes[i % n_sizes];

		len = len ? len : 1 + (size_t)rand() % LINES_MAX;
		len = len < n - off ? len : n - off;
		memcpy(buf, text + off, len);
		/* Newlines in the slack must not count. */
		memset(buf + len, '\n', LINES_SLACK);
		lines_take(&l, buf, len);
		off += len;
	}
	lines_release(&l);
	outq_run(k.q);
	cr_assert_eq(outq_queued(k.q), 0);
	out.p = sinks_read(&k, 1, &out.len);
	sinks_close(&k);
	free(buf);
	return out;
}

/*
 * Assert that TEXT comes out as it should after PREFIX, given in pieces
 * of SIZES.
 */
/* Assemble TEXT with each line loop this CPU has (lines.h); compare. */
static void
check(const struct bytes *text, const char *prefix, const size_t *sizes,
      size_t n_sizes, unsigned seed)
{
	static const enum lines_isa isas[] = { LINES_ISA_BASE, LINES_ISA_AVX2 };
	struct bytes want = expected(text->p, text->len, prefix);

	for (size_t k = 0; k < ARRAY_SIZE(isas); k++) {
		struct bytes got;
		size_t i = 0;

		if (!lines_use(isas[k])) {
			continue;
		}
		got = assemble(text->p, text->len, prefix, sizes, n_sizes,
			       seed);
		while (i < want.len && i < got.len && want.p[i] == got.p[i]) {
			i++;
		}
		cr_assert(i == want.len && i == got.len,
			  "loop %d, prefix of %zu, pieces of %zu (seed %u): "
			  "%zu bytes, %zu expected, first difference at %zu",
			  (int)isas[k], strlen(prefix), sizes[0], seed,
			  got.len, want.len, i);
		free(got.p);
	}
	lines_use(LINES_ISA_AUTO);
	free(want.p);
}

Test(lines, pieces_cut_anywhere_give_the_same_lines)
{
	static const size_t fixed[] = { 1, 3, 63, 64, 65, 4095, 65535,
					LINES_MAX };
	static const size_t mixed[] = { 65535, 1, 2, 65536, 7 };
	static const size_t randomly[] = { 0 };
	struct bytes text = { 0 };
	char line[256];

	srand(1);
	for (int i = 0; i < 2000; i++) {
		int len = rand() % 120;

		memset(line, 'a' + i % 26, (size_t)len);
		bytes_add(&text, line, (size_t)len);
		bytes_add(&text, "\n", 1);
	}
	bytes_add(&text, "\n\n", 2);
	bytes_add(&text, "cr\r\n\r\n", 6);
	for (size_t extra = 0; extra < 3; extra++) {
		bytes_fill(&text, 'm', LINES_MAX - 1 + extra);
		bytes_add(&text, "\n", 1);
		bytes_fill(&text, 'd', 2 * LINES_MAX - 1 + extra);
		bytes_add(&text, "\n", 1);
	}
	bytes_add(&text, "a last line without newline", 27);
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		check(&text, PREFIX, &fixed[i], 1, 0);
	}
	check(&text, PREFIX, mixed, ARRAY_SIZE(mixed), 0);
	for (unsigned seed = 1; seed <= 5; seed++) {
		check(&text, PREFIX, randomly, 1, seed);
	}
	free(text.p);
}

/*
 * The line loop copies prefixes and lines in 16-byte steps, with a path
 * of its own for prefixes of up to 16 bytes, lines of up to 32, and
 * either longer than 128 (lines.c): every length on either side of
 * those, each line after each length of prefix.
 */
Test(lines, prefixes_and_lines_of_every_length)
{
	static const size_t sizes[] = { 7, 64, 65536 };
	struct bytes text = { 0 };
	char prefix[301];

	for (size_t len = 0; len <= 300; len++) {
		bytes_fill(&text, (char)('a' + len % 26), len);
		bytes_add(&text, "\n", 1);
	}
	for (size_t plen = 1; plen < sizeof(prefix); plen++) {
		if (plen > 40 && plen % 16 > 1 && plen % 16 < 15 &&
		    plen != 300) {
			continue;
		}
		for (size_t i = 0; i < plen; i++) {
			prefix[i] = (char)('A' + i % 26);
		}
		prefix[plen] = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			check(&text, prefix, &sizes[i], 1, 0);
		}
	}
	free(text.p);
}

Test(lines, a_line_of_exactly_the_longest_length_is_one_line)
{
	static const size_t splits[][2] = {
		{ LINES_MAX, 1 }, { LINES_MAX - 1, 2 }, { 1, LINES_MAX },
		{ LINES_MAX, LINES_MAX },
	};
	struct bytes text = { 0 };

	bytes_fill(&text, 'x', LINES_MAX);
	bytes_add(&text, "\ny\n", 3);
	for (size_t i = 0; i < ARRAY_SIZE(splits); i++) {
		struct bytes got =
			assemble(text.p, text.len, PREFIX, splits[i], 2, 0);

		cr_assert_eq(got.len, 2 * strlen(PREFIX) + LINES_MAX + 3,
			     "split %zu: %zu bytes", i, got.len);
		cr_assert_eq(memcmp(got.p + strlen(PREFIX) + LINES_MAX,
				    "\n" PREFIX "y\n", strlen(PREFIX) + 3), 0);
		free(got.p);
	}
	free(text.p);
}

Test(lines, a_line_one_byte_longer_is_two)
{
	static const size_t whole[] = { LINES_MAX };
	struct bytes text = { 0 }, got;

	bytes_fill(&text, 'x', LINES_MAX + 1);
	bytes_add(&text, "\n", 1);
	got = assemble(text.p, text.len, PREFIX, whole, 1, 0);
	cr_assert_eq(got.len, 2 * strlen(PREFIX) + LINES_MAX + 3);
	cr_assert_str_eq(got.p + got.len - strlen(PREFIX) - 2, PREFIX "x\n");
	free(got.p);
	free(text.p);
}

Test(lines, carriage_returns_are_bytes_like_any_other)
{
	static const size_t ones[] = { 1 };
	static const char text[] = "a\r\nb\rc\n\r\n";
	struct bytes got = assemble(text, strlen(text), PREFIX, ones, 1, 0);

	cr_assert_str_eq(got.p, PREFIX "a\r\n" PREFIX "b\rc\n" PREFIX "\r\n");
	free(got.p);
}

Test(lines, a_last_line_waits_for_its_newline_or_the_end)
{
	char buf[8 + LINES_SLACK] = "a\nb";
	struct sinks k;
	struct lines l;
	char *got;

	sinks_open_files(&k);
	lines_init(&l, k.q, 2, PREFIX);
	lines_take(&l, buf, 3);
	outq_run(k.q);
	got = sinks_read(&k, 2, NULL);
	cr_assert_str_eq(got, PREFIX "a\n", "b is held");
	free(got);
	lines_release(&l);
	outq_run(k.q);
	got = sinks_read(&k, 2, NULL);
	cr_assert_str_eq(got, PREFIX "a\n" PREFIX "b\n");
	free(got);
	got = sinks_read(&k, 1, NULL);
	cr_assert_str_eq(got, "", "stderr's lines go to sink 2 only");
	free(got);
	sinks_close(&k);
}

Test(lines, prefixes_are_padded_and_coloured_from_a_wrapping_palette)
{
	char buf[64];

	cr_assert_eq(lines_prefix(NULL, 0, "ab", 5, false, 0), 8);
	lines_prefix(buf, sizeof(buf), "ab", 5, false, 0);
	cr_assert_str_eq(buf, "ab    | ");
	lines_prefix(buf, sizeof(buf), "long name", 2, false, 0);
	cr_assert_str_eq(buf, "long name | ");
	lines_prefix(buf, sizeof(buf), "ab", 3, true, 11);
	cr_assert_str_eq(buf, "\033[33mab  |\033[0m ");
}
