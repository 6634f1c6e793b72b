/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the write queue: backpressure (a sink that takes nothing
 * pauses the producer, which resumes as it drains), one order for both
 * sinks, failed sinks and the drain window. Sinks are pipes and files of
 * the test's own; each test runs its own loop.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/outq.h"
#include "sinks.h"

TestSuite(outq, .timeout = 30);

#define PIECE 4096

/* Piece I of a stream of numbered pieces, in the PIECE bytes at BUF. */
static void
piece(char *buf, unsigned i)
{
	for (size_t k = 0; k < PIECE; k += sizeof(i)) {
		memcpy(buf + k, &i, sizeof(i));
	}
}

/*
 * Read what the pipe RFD holds now, checking it continues the numbered
 * pieces from byte *AT on; how many bytes.
 */
static size_t
drain_pipe(int rfd, size_t *at)
{
	char buf[PIECE], want[PIECE];
	size_t total = 0;
	ssize_t n;

	while ((n = read(rfd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++, (*at)++) {
			if (*at % PIECE == 0 || i == 0) {
				piece(want, (unsigned)(*at / PIECE));
			}
			cr_assert_eq(buf[i], want[*at % PIECE],
				     "byte %zu out of order", *at);
		}
		total += (size_t)n;
	}
	return total;
}

Test(outq, a_sink_that_takes_nothing_pauses_the_producer_until_it_drains)
{
	struct sinks k;
	int p[2];
	unsigned sent = 0;
	size_t at = 0;
	char buf[PIECE];

	/* The write end blocks, as a terminal or a shell's pipe would. */
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	sinks_open(&k, p[1], sinks_file());
	/* Nobody reads the pipe: it fills, then the queue grows. */
	while (!outq_paused(k.q)) {
		cr_assert_lt(sent, 10000, "never paused");
		piece(buf, sent++);
		outq_write(k.q, 1, buf, PIECE);
	}
	cr_assert_eq(k.pauses, 1);
	cr_assert_eq(k.resumes, 0);
	cr_assert_gt(outq_queued(k.q), OUTQ_MAX_PENDING);
	cr_assert_leq(outq_queued(k.q), OUTQ_MAX_PENDING + PIECE);
	/* The reader takes what is there; the loop writes more as it can. */
	while (!k.resumes) {
		drain_pipe(p[0], &at);
		ev_run(k.loop, EVRUN_NOWAIT);
	}
	cr_assert_eq(k.pauses, 1);
	cr_assert_leq(outq_queued(k.q), OUTQ_MAX_PENDING / 2);
	cr_assert(!outq_paused(k.q));
	/* The rest arrives whole and in order, and the watcher stops. */
	while (outq_queued(k.q)) {
		drain_pipe(p[0], &at);
		ev_run(k.loop, EVRUN_NOWAIT);
	}
	drain_pipe(p[0], &at);
	cr_assert_eq(at, (size_t)sent * PIECE);
	cr_assert_eq(ev_run(k.loop, EVRUN_NOWAIT), 0, "nothing left active");
	cr_assert_eq(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0,
		     "the sink's own flags are left alone");
	close(p[0]);
	sinks_close(&k);
}

Test(outq, stderr_waits_behind_a_blocked_stdout)
{
	struct sinks k;
	int p[2];
	char buf[PIECE], *err;
	size_t at = 0;
	unsigned sent = 0;

	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	sinks_open(&k, p[1], sinks_file());
	while (!outq_queued(k.q)) {
		piece(buf, sent++);
		outq_write(k.q, 1, buf, PIECE);
	}
	outq_write(k.q, 2, "after\n", 6);
	err = sinks_read(&k, 2, NULL);
	cr_assert_str_eq(err, "", "stderr went out before stdout's lines");
	free(err);
	while (outq_queued(k.q)) {
		drain_pipe(p[0], &at);
		ev_run(k.loop, EVRUN_NOWAIT);
	}
	err = sinks_read(&k, 2, NULL);
	cr_assert_str_eq(err, "after\n");
	free(err);
	close(p[0]);
	sinks_close(&k);
}

Test(outq, a_closed_reader_is_told_once_and_its_bytes_dropped)
{
	struct sinks k;
	char *err;
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	close(p[0]);
	sinks_open(&k, p[1], sinks_file());
	outq_write(k.q, 1, "lost\n", 5);
	outq_write(k.q, 2, "kept\n", 5);
	outq_write(k.q, 1, "lost too\n", 9);
	cr_assert_eq(k.lost[0], 1);
	cr_assert(k.lost_epipe[0]);
	cr_assert(outq_closed(k.q, 1));
	cr_assert_not(outq_closed(k.q, 2));
	cr_assert_eq(outq_queued(k.q), 0);
	err = sinks_read(&k, 2, NULL);
	cr_assert_str_eq(err, "kept\n");
	free(err);
	sinks_close(&k);
}

Test(outq, another_write_error_says_why)
{
	int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	struct sinks k;

	cr_assert_geq(full, 0);
	sinks_open(&k, sinks_file(), full);
	outq_write(k.q, 2, "no room\n", 8);
	cr_assert_eq(k.lost[1], 1);
	cr_assert_not(k.lost_epipe[1]);
	cr_assert_str_eq(k.lost_msg[1],
			 "cannot write to stderr: No space left on device");
	cr_assert(outq_closed(k.q, 2));
	sinks_close(&k);
}

Test(outq, the_drain_window_drops_what_the_reader_did_not_take)
{
	struct sinks k;
	char buf[PIECE];
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	sinks_open(&k, p[1], sinks_file());
	for (unsigned i = 0; i < 32; i++) {
		piece(buf, i);
		outq_write(k.q, 1, buf, PIECE);
	}
	cr_assert_gt(outq_queued(k.q), 0);
	outq_finish(k.q, 10);
	ev_run(k.loop, 0);
	cr_assert_eq(outq_queued(k.q), 0);
	cr_assert_gt(outq_dropped(k.q), 0);
	cr_assert_leq(outq_dropped(k.q), 32 * PIECE);
	close(p[0]);
	sinks_close(&k);
}

Test(outq, reserved_room_counts_once_committed)
{
	struct sinks k;
	size_t room;
	char *dst, *out;

	sinks_open_files(&k);
	dst = outq_reserve(k.q, 1, 6, &room);
	cr_assert_geq(room, 6);
	memcpy(dst, "one\ntwo\n", 8);
	outq_commit(k.q, 4);
	cr_assert_eq(outq_queued(k.q), 4);
	outq_run(k.q);
	out = sinks_read(&k, 1, NULL);
	cr_assert_str_eq(out, "one\n");
	free(out);
	sinks_close(&k);
}
