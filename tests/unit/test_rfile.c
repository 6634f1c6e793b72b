/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of rfile, the report file that never blocks the loop: a FIFO
 * without a reader, the bound on what waits for a reader (a prefix is
 * kept), the drain window, write errors and the sticky-directory rule.
 * Each test runs its own loop to completion.
 */
#include <sys/stat.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ctxrun/rfile.h"

static void rf_setup(void);
static void rf_teardown(void);

TestSuite(rfile, .init = rf_setup, .fini = rf_teardown, .timeout = 10);

#define LINE_LEN 12 /* "line 000000\n" */

static char dir[64];
static struct ev_loop *loop;

/* A temporary directory and a loop of the test's own. */
static void
rf_setup(void)
{
	strcpy(dir, "/tmp/ctxrun-rfile-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
}

/* Remove the loop, and the directory with what the tests make in it. */
static void
rf_teardown(void)
{
	static const char *const names[] = {
		"r", "f", "target", "s/link", "s/dangling", "s/plain", "s",
	};
	char path[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		remove(path);
	}
	rmdir(dir);
	ev_loop_destroy(loop);
}

/* The path of NAME in the directory (a static buffer per call). */
static const char *
path_of(const char *name)
{
	static char bufs[4][128];
	static int next;
	char *buf = bufs[next++ % 4];

	snprintf(buf, 128, "%s/%s", dir, name);
	return buf;
}

/* Write numbered lines to F until TOTAL bytes were given; how many lines. */
static int
write_lines(struct rfile *f, size_t total)
{
	char line[32];
	int n = 0;

	for (size_t done = 0; done < total; done += LINE_LEN, n++) {
		snprintf(line, sizeof(line), "line %06d\n", n);
		rfile_write(f, line, LINE_LEN);
	}
	return n;
}

/* Assert the LEN bytes at BUF are lines 0, 1, ... in order. */
static void
expect_first_lines(const char *buf, size_t len)
{
	char want[32];

	cr_assert_eq(len % LINE_LEN, 0, "%zu bytes: a line was cut", len);
	for (size_t i = 0; i < len / LINE_LEN; i++) {
		snprintf(want, sizeof(want), "line %06d\n", (int)i);
		cr_assert_eq(memcmp(buf + i * LINE_LEN, want, LINE_LEN), 0,
			     "line %zu: <%.12s>", i, buf + i * LINE_LEN);
	}
}

/* The number of bytes in "WHAT 'PATH': N bytes not written: ..." of E. */
static size_t
not_written(const struct err *e, const char *path)
{
	char want[256];
	const char *rest;
	char *end;
	size_t n;

	snprintf(want, sizeof(want), "test file '%s': ", path);
	cr_assert_eq(strncmp(e->msg, want, strlen(want)), 0, "<%s>", e->msg);
	rest = e->msg + strlen(want);
	n = strtoul(rest, &end, 10);
	cr_assert_str_eq(end, " bytes not written: reader too slow");
	return n;
}

/* A regular file takes every write at once, whole. */
Test(rfile, regular_file)
{
	const char *path = path_of("r");
	struct err e;
	struct rfile *f = rfile_open(loop, path, "test file", &e);
	char buf[64] = "";
	FILE *in;

	cr_assert_not_null(f, "%s", e.msg);
	rfile_write(f, "one\n", 4);
	rfile_write(f, "two\n", 4);
	rfile_finish(f, 1000);
	ev_run(loop, 0);
	cr_assert_eq(rfile_close(f, &e), 0, "%s", e.msg);
	in = fopen(path, "r");
	cr_assert_not_null(in);
	cr_assert_eq(fread(buf, 1, sizeof(buf) - 1, in), 8);
	fclose(in);
	cr_assert_str_eq(buf, "one\ntwo\n");
}

struct reader {
	ev_io io;
	char *buf;
	size_t len;
};

/* Read what the FIFO has into the reader. */
static void
reader_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct reader *r = (struct reader *)w;
	char chunk[65536];
	ssize_t n;

	(void)l;
	(void)revents;
	while ((n = read(w->fd, chunk, sizeof(chunk))) > 0) {
		r->buf = realloc(r->buf, r->len + (size_t)n);
		cr_assert_not_null(r->buf);
		memcpy(r->buf + r->len, chunk, (size_t)n);
		r->len += (size_t)n;
	}
}

/*
 * A FIFO nobody reads: the open does not wait, the pipe and then the
 * queue take lines up to the bound, and from the first line that does not
 * fit on every line is dropped. A reader that comes later reads a prefix,
 * whole lines in order, and what is missing is counted exactly.
 */
Test(rfile, fifo_keeps_a_prefix)
{
	const char *path = path_of("f");
	size_t total = 65536 + RFILE_MAX_PENDING + 100000;
	struct reader r = { 0 };
	struct err e;
	struct rfile *f;
	int lines, fd;

	cr_assert_eq(mkfifo(path, 0600), 0);
	f = rfile_open(loop, path, "test file", &e);
	cr_assert_not_null(f, "%s", e.msg);
	lines = write_lines(f, total);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	ev_io_init(&r.io, reader_cb, fd, EV_READ);
	ev_io_start(loop, &r.io);
	ev_unref(loop); /* only the file's drain holds the loop */
	rfile_finish(f, 5000);
	ev_run(loop, 0);
	ev_ref(loop);
	ev_io_stop(loop, &r.io);
	cr_assert_eq(rfile_close(f, &e), -1);
	reader_cb(loop, &r.io, 0); /* what the pipe still holds */
	close(fd);
	expect_first_lines(r.buf, r.len);
	cr_assert_lt(r.len, (size_t)lines * LINE_LEN);
	cr_assert_geq(r.len, (size_t)RFILE_MAX_PENDING);
	cr_assert_eq(not_written(&e, path), (size_t)lines * LINE_LEN - r.len);
	free(r.buf);
}

/* The drain window passes for a reader that never reads: the rest is dropped. */
Test(rfile, drain_window_passes)
{
	const char *path = path_of("f");
	struct err e;
	struct rfile *f;
	int fd;
	ev_tstamp t0;

	cr_assert_eq(mkfifo(path, 0600), 0);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	f = rfile_open(loop, path, "test file", &e);
	cr_assert_not_null(f, "%s", e.msg);
	write_lines(f, 200000);
	t0 = ev_time();
	rfile_finish(f, 200);
	ev_run(loop, 0);
	cr_assert(ev_time() - t0 >= 0.15 && ev_time() - t0 < 5,
		  "%.3fs", ev_time() - t0);
	cr_assert_eq(rfile_close(f, &e), -1);
	/* The pipe took its 64 KiB, a multiple of the line length or not. */
	cr_assert_gt(not_written(&e, path), 200000 - 65536 - LINE_LEN);
	close(fd);
}

/* A window of 0 drops what waits at once: nothing holds the loop. */
Test(rfile, finish_now_drops)
{
	const char *path = path_of("f");
	struct err e;
	struct rfile *f;

	cr_assert_eq(mkfifo(path, 0600), 0);
	f = rfile_open(loop, path, "test file", &e);
	cr_assert_not_null(f, "%s", e.msg);
	write_lines(f, 100000);
	rfile_finish(f, 1000);
	rfile_finish(f, 0);
	cr_assert_eq(ev_run(loop, 0), 0, "watchers left active");
	cr_assert_eq(rfile_close(f, &e), -1);
	cr_assert_gt(not_written(&e, path), 0);
}

/* A write error is kept and reported; later writes are dropped. */
Test(rfile, write_error)
{
	struct err e;
	struct rfile *f = rfile_open(loop, "/dev/full", "test file", &e);

	cr_assert_not_null(f, "%s", e.msg);
	rfile_write(f, "one\n", 4);
	rfile_write(f, "two\n", 4);
	rfile_finish(f, 1000);
	cr_assert_eq(ev_run(loop, 0), 0);
	cr_assert_eq(rfile_close(f, &e), -1);
	cr_assert_str_eq(e.msg, "cannot write test file '/dev/full': No space "
				"left on device");
}

/*
 * In a sticky world-writable directory a symbolic link is refused, also a
 * dangling one (which would make ctxrun create its target); a plain file
 * is opened as usual.
 */
Test(rfile, sticky_dir_links_refused)
{
	const char *target = path_of("target");
	const char *links[] = { "s/link", "s/dangling" };
	const char *targets[] = { target, path_of("nowhere") };
	char want[256];
	struct stat st;
	struct err e;
	struct rfile *f;

	cr_assert_eq(mkdir(path_of("s"), 0700), 0);
	cr_assert_eq(chmod(path_of("s"), 01777), 0);
	close(open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	for (int i = 0; i < 2; i++) {
		const char *link = path_of(links[i]);

		cr_assert_eq(symlink(targets[i], link), 0);
		cr_assert_null(rfile_open(loop, link, "test file", &e));
		snprintf(want, sizeof(want), "cannot open test file '%s': a "
			 "symbolic link in a sticky world-writable directory "
			 "is not followed", link);
		cr_assert_str_eq(e.msg, want);
	}
	cr_assert_neq(stat(targets[1], &st), 0, "the dangling link's target "
		      "was created");
	f = rfile_open(loop, path_of("s/plain"), "test file", &e);
	cr_assert_not_null(f, "%s", e.msg);
	cr_assert_eq(rfile_close(f, &e), 0);
}
