/* SPDX-License-Identifier: MIT */
#include "ctxrun/tail.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/util.h"

/*
 * Each job's kept bytes are one buffer ending where its output ends.
 * A piece is searched from its end for the newlines that start the last
 * LINES lines: when the piece holds them all, what was kept before is
 * dropped unread; otherwise the piece is appended and the buffer cut the
 * same way. The cost is a search of the piece's last lines, not of the
 * piece.
 */

struct tail_job {
	char *buf;
	size_t len, cap;
};

struct tail {
	int lines;
	size_t n_jobs;
	struct tail_job jobs[];
};

/*
 * Where the last LINES lines of the LEN bytes at P start (a line with no
 * newline yet at the end counts), or 0 when P holds no more than that.
 */
static size_t
last_lines_start(const char *p, size_t len, int lines)
{
	size_t end = len;

	/* The newline that ends the last line is not a line's start. */
	if (end && p[end - 1] == '\n') {
		end--;
	}
	for (int i = 0; i < lines; i++) {
		const char *nl = memrchr(p, '\n', end);

		if (!nl) {
			return 0;
		}
		end = (size_t)(nl - p);
	}
	return end + 1;
}

/* Keep the last lines of N_JOBS jobs. */
struct tail *
tail_new(size_t n_jobs, int lines)
{
	struct tail *t = xcalloc(1, sizeof(*t) + n_jobs * sizeof(t->jobs[0]));

	t->lines = lines > 0 ? lines : 1;
	t->n_jobs = n_jobs;
	return t;
}

/* Forget what job JOB printed so far. */
void
tail_reset(struct tail *t, size_t job)
{
	t->jobs[job].len = 0;
}

/* Put the LEN bytes at P as job J's kept bytes, or after them (APPEND). */
static void
keep(struct tail_job *j, const char *p, size_t len, bool append)
{
	size_t at = append ? j->len : 0;

	if (at + len > j->cap) {
		j->cap = at + len > 2 * j->cap ? at + len : 2 * j->cap;
		j->buf = xrealloc(j->buf, j->cap);
	}
	memcpy(j->buf + at, p, len);
	j->len = at + len;
}

/* Take the LEN bytes at P that job JOB printed. */
void
tail_take(struct tail *t, size_t job, const char *p, size_t len)
{
	struct tail_job *j = &t->jobs[job];
	size_t start = last_lines_start(p, len, t->lines);

	if (start || len >= TAIL_MAX_BYTES) {
		/* The piece holds the last lines: the rest is older. */
		if (len - start > TAIL_MAX_BYTES) {
			start = len - TAIL_MAX_BYTES;
		}
		keep(j, p + start, len - start, false);
		return;
	}
	keep(j, p, len, true);
	start = last_lines_start(j->buf, j->len, t->lines);
	if (j->len - start > TAIL_MAX_BYTES) {
		start = j->len - TAIL_MAX_BYTES;
	}
	if (start) {
		memmove(j->buf, j->buf + start, j->len - start);
		j->len -= start;
	}
}

/* The kept bytes of job JOB. */
const char *
tail_get(const struct tail *t, size_t job, size_t *len)
{
	*len = t->jobs[job].len;
	return *len ? t->jobs[job].buf : NULL;
}

/* Release T. */
void
tail_free(struct tail *t)
{
	if (!t) {
		return;
	}
	for (size_t i = 0; i < t->n_jobs; i++) {
		free(t->jobs[i].buf);
	}
	free(t);
}
