/* SPDX-License-Identifier: MIT */
#include "ctxrun/block.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/escape.h"
#include "ctxrun/util.h"

/*
 * Each part (stdout, stderr) is memory first and then, once the block is
 * past BLOCK_MEM, a spill file: its bytes go out memory first, then file,
 * which is their order. A part is made only once the job prints to it, so
 * a thousand quiet jobs cost a thousand small blocks.
 */

/* Bytes at the end of a spill file searched for a newline (a pipe's worth). */
#define BLOCK_SPLIT_SCAN 65536

/* One part (stdout or stderr) of a block. */
struct part {
	char *mem;
	size_t len, cap;
	int file; /* spill file, -1 until needed */
	off_t file_len;
	char last; /* last byte held, to end the block with a newline */
};

struct block {
	struct part *part[2]; /* NULL while it holds nothing */
	size_t mem;           /* bytes of both parts in memory */
};

static struct part *part_new(void);
static void part_hold(struct block *b, struct part *pt, const char *p,
		      size_t len);
static bool part_held(const struct part *p);
static struct part *part_split(struct block *b, struct part *pt);
static void part_queue(struct outq *q, struct part **pp, int which,
		       bool newline);
static int spill_open(struct err *e);
static size_t spill_write(int fd, const char *p, size_t len, struct err *e);

/* An empty block. */
struct block *
block_new(void)
{
	return xcalloc(1, sizeof(struct block));
}

/* Hold LEN bytes at P for WHICH: in memory, or past BLOCK_MEM spilled. */
size_t
block_add(struct block *b, int which, const char *p, size_t len,
	  struct err *e)
{
	struct part *pt;
	size_t n;

	if (!len) {
		return 0;
	}
	if (!b->part[which - 1]) {
		b->part[which - 1] = part_new();
	}
	pt = b->part[which - 1];
	if (pt->file < 0 && b->mem + len > BLOCK_MEM &&
	    (pt->file = spill_open(e)) < 0) {
		return 0;
	}
	if (pt->file >= 0) {
		n = spill_write(pt->file, p, len, e);
		pt->file_len += (off_t)n;
		if (n) {
			pt->last = p[n - 1];
		}
		return n;
	}
	part_hold(b, pt, p, len);
	return len;
}

/* Hold the LEN bytes at P for WHICH in memory. */
void
block_hold(struct block *b, int which, const char *p, size_t len)
{
	if (!b->part[which - 1]) {
		b->part[which - 1] = part_new();
	}
	part_hold(b, b->part[which - 1], p, len);
}

/* Does B hold nothing? */
bool
block_empty(const struct block *b)
{
	return !part_held(b->part[0]) && !part_held(b->part[1]);
}

/* Queue B: its stdout part, then its stderr part. */
void
block_queue(struct block *b, struct outq *q, bool whole, const char *github)
{
	struct part *rest[2] = { NULL, NULL };
	bool empty;
	char *line;

	/*
	 * Nothing is added to a piece but GitHub's group lines, which need
	 * the newline before them that a line of over BLOCK_SPLIT_SCAN bytes
	 * may lack.
	 */
	b->mem = 0;
	for (int i = 0; !whole && i < 2; i++) {
		rest[i] = part_split(b, b->part[i]);
	}
	empty = block_empty(b);
	if (github && !empty) {
		line = xasprintf("::group::%s\n", github);
		escape_term(line + 9, line + 9, strlen(github));
		outq_write(q, 1, line, strlen(line));
		free(line);
	}
	part_queue(q, &b->part[0], 1, whole || github);
	part_queue(q, &b->part[1], 2, whole || github);
	if (github && !empty) {
		outq_write(q, 1, "::endgroup::\n", 13);
	}
	b->part[0] = rest[0];
	b->part[1] = rest[1];
}

/* Release B. */
void
block_free(struct block *b)
{
	if (!b) {
		return;
	}
	for (int i = 0; i < 2; i++) {
		if (b->part[i]) {
			if (b->part[i]->file >= 0) {
				close(b->part[i]->file);
			}
			free(b->part[i]->mem);
			free(b->part[i]);
		}
	}
	free(b);
}

/* A part holding nothing yet. */
static struct part *
part_new(void)
{
	struct part *p = xcalloc(1, sizeof(*p));

	p->file = -1;
	return p;
}

/* Hold the LEN bytes at P in memory in part PT of B. */
static void
part_hold(struct block *b, struct part *pt, const char *p, size_t len)
{
	if (!len) {
		return;
	}
	if (pt->cap - pt->len < len) {
		pt->cap = (pt->len + len) * 2;
		pt->mem = xrealloc(pt->mem, pt->cap);
	}
	memcpy(pt->mem + pt->len, p, len);
	pt->len += len;
	pt->last = p[len - 1];
	b->mem += len;
}

/* Does part P hold anything? */
static bool
part_held(const struct part *p)
{
	return p && (p->len || p->file_len);
}

/*
 * Take the bytes after PT's last newline out of it, into a new part; NULL
 * when there are none, or no newline to cut at. Where PT spilled, only the
 * last BLOCK_SPLIT_SCAN bytes of the file are searched: a longer last line
 * is cut where the file ends.
 */
static struct part *
part_split(struct block *b, struct part *pt)
{
	struct part *rest;
	char *buf = NULL;
	const char *nl;
	size_t got;

	if (!part_held(pt) || pt->last == '\n') {
		return NULL;
	}
	if (pt->file_len) {
		ssize_t n;

		got = pt->file_len < BLOCK_SPLIT_SCAN ? (size_t)pt->file_len
						      : BLOCK_SPLIT_SCAN;
		buf = xmalloc(got);
		n = pread(pt->file, buf, got, pt->file_len - (off_t)got);
		nl = n == (ssize_t)got ? memrchr(buf, '\n', got) : NULL;
	} else {
		got = pt->len;
		nl = memrchr(pt->mem, '\n', got);
	}
	if (!nl) {
		free(buf);
		return NULL;
	}
	rest = part_new();
	nl++;
	if (buf) {
		part_hold(b, rest, nl, (size_t)(buf + got - nl));
		pt->file_len -= (off_t)(buf + got - nl);
	} else {
		part_hold(b, rest, nl, (size_t)(pt->mem + got - nl));
		pt->len = (size_t)(nl - pt->mem);
	}
	pt->last = '\n';
	free(buf);
	return rest;
}

/*
 * Hand the part at *PP (bound for WHICH) to Q, and drop it. With NEWLINE,
 * end it with a newline when it does not end with one.
 */
static void
part_queue(struct outq *q, struct part **pp, int which, bool newline)
{
	struct part *p = *pp;

	if (!part_held(p)) {
		if (p && p->file >= 0) {
			close(p->file);
		}
		free(p);
		*pp = NULL;
		return;
	}
	outq_adopt(q, which, &(struct outq_block){ .mem = p->mem,
						   .len = p->len,
						   .cap = p->cap,
						   .file = p->file,
						   .file_len = p->file_len });
	if (newline && p->last != '\n') {
		outq_write(q, which, "\n", 1);
	}
	free(p);
	*pp = NULL;
}

/* Where spill files go: $TMPDIR, or /tmp. */
static const char *
spill_dir(void)
{
	const char *dir = getenv("TMPDIR");

	return dir && *dir ? dir : "/tmp";
}

/* Say in E that grouped output cannot be spilled, because of ERRNUM. */
static void
spill_error(struct err *e, int errnum)
{
	const char *dir = getenv("TMPDIR");

	err_errno(e, errnum, "cannot spill grouped output to %s'%s'",
		  dir && *dir ? "TMPDIR " : "", spill_dir());
}

/* Make an unlinked temporary file in spill_dir(); -1 with E on failure. */
static int
spill_open(struct err *e)
{
	const char *dir = spill_dir();
	char *path;
	int fd, errnum;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0) {
		return fd;
	}
	path = xasprintf("%s/ctxrun-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	errnum = errno;
	if (fd >= 0) {
		unlink(path);
	} else {
		spill_error(e, errnum);
	}
	free(path);
	return fd;
}

/*
 * Write the LEN bytes at P to the spill file FD; how many it took, and E
 * when that is not all (disk full, a file size limit).
 */
static size_t
spill_write(int fd, const char *p, size_t len, struct err *e)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			spill_error(e, n < 0 ? errno : ENOSPC);
			break;
		}
		done += (size_t)n;
	}
	return done;
}
