/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_TEST_SINKS_H
#define CTXRUN_TEST_SINKS_H

/*
 * For the tests of the output modules (test_outq.c, test_lines.c,
 * test_block.c): a write queue whose sinks are files or pipes of the
 * test's own instead of ctxrun's stdout and stderr, on a loop of the
 * test's own, and what the sinks got, read back.
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

#include "ctxrun/outq.h"

/* What the queue told: the last loss per sink and pressure changes. */
struct sinks {
	struct ev_loop *loop;
	struct outq *q;
	int fds[2];
	int lost[2];          /* on_lost calls per sink */
	bool lost_epipe[2];   /* the last one was EPIPE (no message) */
	char lost_msg[2][512];
	int pauses, resumes;
};

/* Record a loss. */
static inline void
sinks_lost_cb(void *data, int which, const struct err *e)
{
	struct sinks *k = data;

	k->lost[which - 1]++;
	k->lost_epipe[which - 1] = !e;
	snprintf(k->lost_msg[which - 1], sizeof(k->lost_msg[0]), "%s",
		 e ? e->msg : "");
}

/* Record a pause or a resume, checking they alternate. */
static inline void
sinks_pressure_cb(void *data, bool pause)
{
	struct sinks *k = data;

	cr_assert_eq(pause, k->pauses == k->resumes, "pauses alternate");
	*(pause ? &k->pauses : &k->resumes) += 1;
}

/* An unlinked regular file, for a sink that takes everything at once. */
static inline int
sinks_file(void)
{
	char path[] = "/tmp/ctxrun-sinks-XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);

	cr_assert_geq(fd, 0);
	unlink(path);
	return fd;
}

/* A queue on a loop of its own writing WHICH 1 to OUT and 2 to ERR. */
static inline void
sinks_open(struct sinks *k, int out, int err)
{
	memset(k, 0, sizeof(*k));
	k->loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(k->loop);
	k->fds[0] = out;
	k->fds[1] = err;
	k->q = outq_new(&(struct outq_opts){
		.loop = k->loop,
		.fds = { out, err },
		.on_lost = sinks_lost_cb,
		.on_pressure = sinks_pressure_cb,
		.data = k,
	});
}

/* Both sinks regular files. */
static inline void
sinks_open_files(struct sinks *k)
{
	sinks_open(k, sinks_file(), sinks_file());
}

/*
 * What the file of sink WHICH holds, NUL-terminated, to free; *LEN gets
 * its length (NULL: not wanted).
 */
static inline char *
sinks_read(struct sinks *k, int which, size_t *len)
{
	int fd = k->fds[which - 1];
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)size + 1);

	cr_assert_not_null(buf);
	cr_assert_eq(pread(fd, buf, (size_t)size, 0), size);
	buf[size] = '\0';
	if (len) {
		*len = (size_t)size;
	}
	return buf;
}

/* Free the queue (it must be empty), the loop and the fds. */
static inline void
sinks_close(struct sinks *k)
{
	outq_free(k->q);
	ev_loop_destroy(k->loop);
	close(k->fds[0]);
	close(k->fds[1]);
}

/* The number of fds open in this process. */
static inline int
sinks_open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		n += fcntl(fd, F_GETFD) >= 0;
	}
	return n;
}

#endif
