/* SPDX-License-Identifier: MIT */
#include "ctxrun/lines.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ctxrun/util.h"

/*
 * Lines are gathered with their prefixes straight into the queue's tail
 * chunk, so one read of a pipe costs one write(2), not one per line, and
 * a line is never torn: only whole lines (or LINES_MAX pieces) are queued.
 *
 * Short lines are the common case, and finding each newline with memchr
 * from the end of the last one makes every line wait for the one before:
 * a call, a load and a compare in a chain, about 20 cycles a line. So the
 * newlines of each 64-byte block are found at once, as a bit mask, and the
 * lines are taken from the mask; lines are copied 16 bytes at a time. Both
 * read, and the copies write, up to LINES_SLACK - 1 bytes past the end:
 * lines come from the caller's buffer, which has LINES_SLACK bytes after
 * them, and go to queue room with LINES_SLACK bytes to spare, which the
 * next line overwrites or nothing writes out.
 *
 * What is left per line is counted in instructions (callgrind, all of
 * ctxrun's per 18-byte line: 67 before, 35 with SSE2, 27 with AVX2, which
 * searches 64 bytes in two compares and copies a line in one move; see
 * lines_use()), so the loop does without what it can:
 * room is checked once per block, for the most its lines can take; the
 * first 16 bytes of the prefix and the first 32 of the line are copied
 * without a test of their length; and the loop comes in two versions
 * (each built for SSE2 and for AVX2), for a prefix of up to 16 bytes (a
 * name of up to 13 characters, not coloured) and for any other, so that
 * the first has no test of it.
 */
#define LINE_VEC_MAX 128 /* longer copies: memcpy is faster */

static void emit_line(struct lines *l, const char *held, size_t held_len,
		      const char *p, size_t len);
static size_t queue_lines(struct lines *l, const char *p, size_t len);
static void held_append(struct lines *l, const char *p, size_t len);

/* The SGR colour of palette entry COLOUR. */
const char *
lines_palette(size_t colour)
{
	/* Cyan, yellow, green, magenta, blue, then their bright forms. */
	static const char *const palette[] = { "36", "33", "32", "35", "34",
					       "96", "93", "92", "95", "94" };

	return palette[colour % ARRAY_SIZE(palette)];
}

/* Put the prefix of a stream of NAME into BUF; return its length. */
size_t
lines_prefix(char *buf, size_t size, const char *name, int width,
	     bool coloured, size_t colour)
{
	int n;

	if (coloured) {
		n = snprintf(buf, size, "\033[%sm%-*s |\033[0m ",
			     lines_palette(colour), width, name);
	} else {
		n = snprintf(buf, size, "%-*s | ", width, name);
	}
	if (n < 0) {
		BUG("cannot format the prefix of '%s'", name);
	}
	return (size_t)n;
}

/* Set up L to queue lines for WHICH on Q, after PREFIX. */
void
lines_init(struct lines *l, struct outq *q, int which, const char *prefix)
{
	*l = (struct lines){ .q = q, .which = which, .prefix = prefix,
			     .prefix_len = (int)strlen(prefix) };
}

/*
 * Queue the whole lines of L's incomplete line followed by the LEN bytes
 * at P, and keep what is left of a line. A line longer than LINES_MAX
 * goes out in pieces of that size as soon as they are whole, so what is
 * kept is always shorter and has no newline.
 */
void
lines_take(struct lines *l, const char *p, size_t len)
{
	bool closed = outq_closed(l->q, l->which);
	const char *end = p + len, *piece_end = NULL;
	size_t whole;

	if (!len) {
		return;
	}
	/*
	 * The last piece ended a line of LINES_MAX bytes: a newline first
	 * thing in this one ends that line rather than being a line of its
	 * own, so a line of exactly that length is one line however its
	 * bytes were read.
	 */
	if (l->cut) {
		l->cut = false;
		if (*p == '\n') {
			p++;
			len--;
		}
	}
	if (l->len) {
		/* Bytes of P that complete the held line, or fill a piece. */
		size_t fits = LINES_MAX - l->len;
		const char *nl = memchr(p, '\n', len);

		if (nl && (size_t)(nl - p) <= fits) {
			emit_line(l, l->buf, l->len, p, (size_t)(nl - p));
			len -= (size_t)(nl - p) + 1;
			p = nl + 1;
		} else if (len >= fits) {
			emit_line(l, l->buf, l->len, p, fits);
			len -= fits;
			p += fits;
			piece_end = p;
		} else {
			held_append(l, p, len);
			return;
		}
		free(l->buf);
		l->buf = NULL;
		l->len = l->cap = 0;
	}
	if (closed) {
		const char *nl = memrchr(p, '\n', len);

		whole = nl ? (size_t)(nl - p) + 1 : 0;
	} else {
		whole = queue_lines(l, p, len);
	}
	p += whole;
	len -= whole;
	/* No newline in what is left: pieces of the longest a line may be. */
	while (len >= LINES_MAX) {
		emit_line(l, NULL, 0, p, LINES_MAX);
		p += LINES_MAX;
		len -= LINES_MAX;
		piece_end = p;
	}
	l->cut = piece_end == end;
	if (len) {
		held_append(l, p, len);
	}
}

/* Queue the last line, if it had no newline, and release L. */
void
lines_release(struct lines *l)
{
	if (l->len) {
		emit_line(l, l->buf, l->len, NULL, 0);
	}
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}

/*
 * Queue "name | ", the HELD_LEN bytes at HELD and the LEN bytes at P (a
 * line, or a piece of one, in two parts), and a newline; nothing when the
 * stream's destination is closed.
 */
static void
emit_line(struct lines *l, const char *held, size_t held_len, const char *p,
	  size_t len)
{
	size_t plen = (size_t)l->prefix_len, n = plen + held_len + len + 1;
	size_t room;
	char *dst;

	if (outq_closed(l->q, l->which)) {
		return;
	}
	dst = outq_reserve(l->q, l->which, n, &room);
	memcpy(dst, l->prefix, plen);
	/* Either part may be empty, and its pointer NULL. */
	if (held_len) {
		memcpy(dst + plen, held, held_len);
	}
	if (len) {
		memcpy(dst + plen + held_len, p, len);
	}
	dst[n - 1] = '\n';
	outq_commit(l->q, n);
}

/* Bit i set: P[i] is a newline, for i < 64. */
static inline uint64_t
newlines64(const char *p)
{
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n');
	const __m128i *v = (const __m128i *)(const void *)p;
	/* Unrolled by hand: GCC -O2 keeps a loop, with a shift by %cl. */
	uint64_t m0 = (unsigned)_mm_movemask_epi8(
		_mm_cmpeq_epi8(_mm_loadu_si128(v), nl));
	uint64_t m1 = (unsigned)_mm_movemask_epi8(
		_mm_cmpeq_epi8(_mm_loadu_si128(v + 1), nl));
	uint64_t m2 = (unsigned)_mm_movemask_epi8(
		_mm_cmpeq_epi8(_mm_loadu_si128(v + 2), nl));
	uint64_t m3 = (unsigned)_mm_movemask_epi8(
		_mm_cmpeq_epi8(_mm_loadu_si128(v + 3), nl));

	return m0 | m1 << 16 | m2 << 32 | m3 << 48;
#else
	uint64_t m = 0;

	for (int i = 0; i < 64; i++) {
		m |= (uint64_t)(p[i] == '\n') << i;
	}
	return m;
#endif
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_LINES 1

/* newlines64() in two 32-byte compares, for the AVX2 loop. */
static __attribute__((target("avx2,bmi,tune=haswell"))) uint64_t
newlines64_avx2(const char *p)
{
	const __m256i nl = _mm256_set1_epi8('\n');
	const __m256i *v = (const __m256i *)(const void *)p;
	uint64_t lo = (unsigned)_mm256_movemask_epi8(
		_mm256_cmpeq_epi8(_mm256_loadu_si256(v), nl));
	uint64_t hi = (unsigned)_mm256_movemask_epi8(
		_mm256_cmpeq_epi8(_mm256_loadu_si256(v + 1), nl));

	return lo | hi << 32;
}

/* Copy 32 bytes in one load and store (a memcpy makes two of 16). */
static __attribute__((target("avx2,bmi,tune=haswell"))) void
copy32_avx2(char *dst, const char *src)
{
	_mm256_storeu_si256((__m256i *)(void *)dst,
			    _mm256_loadu_si256((const __m256i *)(const void *)src));
}
#endif

/* The newlines of the 64 bytes at P (see newlines64()), with AVX2 if AVX2. */
static inline __attribute__((always_inline)) uint64_t
block_newlines(const char *p, bool avx2)
{
#ifdef HAVE_AVX2_LINES
	if (avx2) {
		return newlines64_avx2(p);
	}
#endif
	(void)avx2;
	return newlines64(p);
}

/* Copy the first 32 bytes of a line, with AVX2 if AVX2. */
static inline __attribute__((always_inline)) void
line_head_copy(char *dst, const char *src, bool avx2)
{
#ifdef HAVE_AVX2_LINES
	if (avx2) {
		copy32_avx2(dst, src);
		return;
	}
#endif
	(void)avx2;
	memcpy(dst, src, 32);
}

/* Copy 16 bytes: a fixed-size memcpy is one vector load and store. */
static inline void
copy16(char *dst, const char *src)
{
	memcpy(dst, src, 16);
}

/*
 * Copy bytes FROM to LEN of SRC to DST, perhaps some more (see the top);
 * the caller copied those before FROM.
 */
static void
copy_rest(char *dst, const char *src, size_t from, size_t len)
{
	if (len > LINE_VEC_MAX) {
		memcpy(dst + from, src + from, len - from);
		return;
	}
	for (size_t i = from; i < len; i += 16) {
		copy16(dst + i, src + i);
	}
}

/*
 * Queue room for NEED bytes and LINES_SLACK more: where it starts, and in
 * *LIM how far lines may go into it. Out of line, and with a ROOM of its
 * own, so that the caller's pointers are not variables whose address is
 * taken: on the path of every line they stay in registers.
 */
static char *
reserve(struct lines *l, size_t need, char **lim)
{
	size_t room;
	char *dst = outq_reserve(l->q, l->which, need + LINES_SLACK, &room);

	*lim = dst + room - LINES_SLACK;
	return dst;
}

/*
 * queue_lines() for a prefix of up to 16 bytes when SHORT_PREFIX, which
 * is a constant in each of the two copies the compiler makes (see the
 * top).
 */
static inline __attribute__((always_inline)) size_t
queue_lines_as(struct lines *l, const char *p, size_t len, bool short_prefix,
	       bool avx2)
{
	size_t plen = (size_t)l->prefix_len;
	const char *prefix = l->prefix, *src = p;
	char *dst = NULL, *base = NULL, *lim = NULL;
	char pbuf[LINE_VEC_MAX + 16];
	struct { char b[16]; } head; /* in a register */

	if (plen <= LINE_VEC_MAX) {
		memcpy(pbuf, prefix, plen); /* with room to over-read */
		prefix = pbuf;
	}
	memcpy(&head, prefix, sizeof(head));
	for (size_t block = 0; block < len; block += 64) {
		uint64_t m = block_newlines(p + block, avx2);
		const char *after = p + block + 1; /* the first newline's */
		size_t most;

		if (len - block < 64) {
			m &= (UINT64_C(1) << (len - block)) - 1;
		}
		if (!m) {
			continue;
		}
		/* Room for the block's lines: 64 at most, exactly when short. */
		most = (size_t)(p + block + 64 - src) + 64 * plen;
		if ((size_t)(lim - dst) < most) {
			most -= (64 - (size_t)__builtin_popcountll(m)) * plen;
			if ((size_t)(lim - dst) < most) {
				if (dst != base) {
					outq_commit(l->q, (size_t)(dst - base));
				}
				base = dst = reserve(l, most, &lim);
			}
		}
		do {
			const char *end = after + __builtin_ctzll(m);
			size_t n = (size_t)(end - src);

			memcpy(dst, &head, sizeof(head));
			if (!short_prefix) {
				copy_rest(dst, prefix, 16, plen);
			}
			dst += plen;
			line_head_copy(dst, src, avx2);
			if (n > 32) {
				copy_rest(dst, src, 32, n);
			}
			dst += n;
			src = end;
			m &= m - 1;
		} while (m);
	}
	if (dst != base) {
		outq_commit(l->q, (size_t)(dst - base));
	}
	return (size_t)(src - p);
}

/*
 * Queue L's prefix and each whole line of the LEN bytes at P (with slack
 * after them; see the top); how many bytes those lines were.
 */
static size_t
queue_lines_short(struct lines *l, const char *p, size_t len)
{
	return queue_lines_as(l, p, len, true, false);
}

static size_t
queue_lines_long(struct lines *l, const char *p, size_t len)
{
	return queue_lines_as(l, p, len, false, false);
}

#ifdef HAVE_AVX2_LINES
static __attribute__((target("avx2,bmi,tune=haswell"))) size_t
queue_lines_short_avx2(struct lines *l, const char *p, size_t len)
{
	return queue_lines_as(l, p, len, true, true);
}

static __attribute__((target("avx2,bmi,tune=haswell"))) size_t
queue_lines_long_avx2(struct lines *l, const char *p, size_t len)
{
	return queue_lines_as(l, p, len, false, true);
}
#endif

/* The loop lines_take() uses; AUTO until the first line. */
static enum lines_isa lines_isa;

/* Use the loop for ISA from now on (see lines.h). */
bool
lines_use(enum lines_isa isa)
{
#ifdef HAVE_AVX2_LINES
	bool avx2 = __builtin_cpu_supports("avx2");
#else
	bool avx2 = false;
#endif

	switch (isa) {
	case LINES_ISA_AUTO:
		lines_isa = avx2 ? LINES_ISA_AVX2 : LINES_ISA_BASE;
		return true;
	case LINES_ISA_AVX2:
		if (!avx2) {
			return false;
		}
		break;
	case LINES_ISA_BASE:
		break;
	}
	lines_isa = isa;
	return true;
}

static size_t
queue_lines(struct lines *l, const char *p, size_t len)
{
	bool short_prefix = l->prefix_len <= 16;

	if (lines_isa == LINES_ISA_AUTO) {
		lines_use(LINES_ISA_AUTO);
	}
#ifdef HAVE_AVX2_LINES
	if (lines_isa == LINES_ISA_AVX2) {
		return short_prefix ? queue_lines_short_avx2(l, p, len)
				    : queue_lines_long_avx2(l, p, len);
	}
#endif
	return short_prefix ? queue_lines_short(l, p, len)
			    : queue_lines_long(l, p, len);
}

/* Append the LEN bytes at P to L's incomplete line, growing it to need. */
static void
held_append(struct lines *l, const char *p, size_t len)
{
	if (l->cap - l->len < len) {
		l->cap = l->len + len > 2 * l->cap ? l->len + len : 2 * l->cap;
		l->cap = l->cap < LINES_MAX ? l->cap : LINES_MAX;
		l->buf = xrealloc(l->buf, l->cap);
	}
	memcpy(l->buf + l->len, p, len);
	l->len += len;
}
