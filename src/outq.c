/* SPDX-License-Identifier: MIT */
#include "ctxrun/outq.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ctxrun/util.h"

/*
 * One queue for both fds, written strictly in order: ctxrun's stdout and
 * stderr usually end on one terminal, and a job's error line must not
 * overtake the lines before it. The price is that a blocked stdout holds
 * stderr back too.
 *
 * Writes never block, without touching the flags of fds 1 and 2: those
 * open file descriptions are shared with the shell and with other programs
 * on the same terminal, and O_NONBLOCK on them would leak to all of them.
 * A pipe or terminal is opened again through /proc/self/fd, which makes a
 * description of our own to set O_NONBLOCK on; a socket is written with
 * MSG_DONTWAIT; a regular file never blocks for long. If reopening fails,
 * poll(2) says whether there is room, and at most PIPE_BUF bytes go per
 * write, which a writable pipe always takes whole.
 *
 * A callback may run outq_run() again from inside outq_run(), so that
 * loop takes the queue's head afresh after each call out.
 */

#define CHUNK_SIZE 65536
/* Written chunks kept for reuse: as many as a full queue holds, and two. */
#define MAX_SPARE (OUTQ_MAX_PENDING / CHUNK_SIZE + 2)
#define SINK_PLAIN 0   /* regular file: write(2) does not wait for long */
#define SINK_REOPENED 1 /* our own O_NONBLOCK description */
#define SINK_SOCKET 2  /* send(MSG_DONTWAIT) */
#define SINK_POLL 3    /* poll(2), then at most PIPE_BUF bytes */

/* A piece of the queue; an adopted block's spill file follows its bytes. */
struct chunk {
	struct chunk *next;
	int which; /* 1 or 2 */
	char *data;
	size_t len, off, cap;
	int file; /* -1: none */
	off_t file_off, file_left;
	int lost_errno; /* reading the file back failed: the rest is lost */
};

/* How fd 1 or 2 of ctxrun's is written. */
struct sink {
	struct outq *q;
	int which; /* 1 or 2 */
	int fd;    /* as given */
	int wfd;   /* what we write to: fd, or our reopened description */
	int kind;
	bool closed; /* a write failed: what is bound for it is dropped */
	ev_io io; /* EV_WRITE, while the queue's head waits for this fd */
};

struct outq {
	struct outq_opts o;
	bool paused; /* too much queued: producers wait */
	struct sink sinks[2];
	struct chunk *head, *tail;
	struct chunk *spare; /* written chunks kept for reuse, a list */
	size_t n_spare;
	size_t queued; /* bytes in memory not yet written */
	size_t dropped;
	ev_timer drain;
};

static void outq_write_cb(struct ev_loop *loop, ev_io *w, int revents);
static void outq_drain_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void sink_init(struct outq *q, struct sink *k, int which, int fd);
static ssize_t sink_write(struct sink *k, const char *p, size_t len);
static void sink_fail(struct outq *q, struct sink *k, int errnum);
static void spill_lost(struct outq *q, int which, int errnum);
static bool chunk_refill(struct outq *q, struct chunk *c);
static void queue_pop(struct outq *q);
static void queue_pressure(struct outq *q);
static void queue_drop(struct outq *q);

/* Create the queue. */
struct outq *
outq_new(const struct outq_opts *opts)
{
	struct outq *q = xcalloc(1, sizeof(*q));

	q->o = *opts;
	sink_init(q, &q->sinks[0], 1, opts->fds[0]);
	sink_init(q, &q->sinks[1], 2, opts->fds[1]);
	ev_init(&q->drain, outq_drain_cb);
	return q;
}

/* The queue's tail chunk for WHICH, with room for NEED more bytes. */
char *
outq_reserve(struct outq *q, int which, size_t need, size_t *room)
{
	struct chunk *t = q->tail;

	if (!t || t->which != which || t->file >= 0 || t->cap - t->len < need) {
		if (q->spare && need <= q->spare->cap) {
			t = q->spare;
			q->spare = t->next;
			q->n_spare--;
			t->next = NULL;
		} else {
			t = xcalloc(1, sizeof(*t));
			t->cap = need > CHUNK_SIZE ? need : CHUNK_SIZE;
			t->data = xmalloc(t->cap);
			t->file = -1;
		}
		t->which = which;
		if (q->tail) {
			q->tail->next = t;
		} else {
			q->head = t;
		}
		q->tail = t;
	}
	*room = t->cap - t->len;
	return t->data + t->len;
}

/* Count LEN bytes just put at the queue's tail. */
void
outq_commit(struct outq *q, size_t len)
{
	q->tail->len += len;
	q->queued += len;
}

/* Queue a copy of LEN bytes at BUF for WHICH. */
void
outq_write(struct outq *q, int which, const char *buf, size_t len)
{
	size_t room;

	if (q->sinks[which - 1].closed || !len) {
		return;
	}
	memcpy(outq_reserve(q, which, len, &room), buf, len);
	outq_commit(q, len);
	outq_run(q);
}

/* Queue B's bytes for WHICH, taking its memory and file. */
void
outq_adopt(struct outq *q, int which, const struct outq_block *b)
{
	struct chunk *c = xcalloc(1, sizeof(*c));

	c->which = which;
	c->data = b->mem;
	c->len = b->len;
	c->cap = b->cap;
	c->file = b->file;
	c->file_left = b->file_len;
	if (q->tail) {
		q->tail->next = c;
	} else {
		q->head = c;
	}
	q->tail = c;
	q->queued += b->len;
}

/*
 * Write the queue out as far as the fds take it. When one is full, watch
 * it for room; once the queue is short enough again, resume producers.
 */
void
outq_run(struct outq *q)
{
	struct sink *wait = NULL;

	while (q->head) {
		struct chunk *c = q->head;
		struct sink *k = &q->sinks[c->which - 1];
		ssize_t n;

		if (k->closed) {
			/* Nobody is listening: nothing is lost to anyone. */
			q->queued -= c->len - c->off;
			c->off = c->len;
			c->file_left = 0;
		}
		if (c->off == c->len && !chunk_refill(q, c)) {
			int lost = c->lost_errno, which = c->which;

			/* Told after the pop: the callback may write again. */
			queue_pop(q);
			if (lost) {
				spill_lost(q, which, lost);
			}
			continue;
		}
		n = sink_write(k, c->data + c->off, c->len - c->off);
		if (n < 0) {
			sink_fail(q, k, errno);
			continue;
		}
		if (n == 0) {
			wait = k;
			break;
		}
		c->off += (size_t)n;
		q->queued -= (size_t)n;
	}
	for (int i = 0; i < 2; i++) {
		if (&q->sinks[i] == wait) {
			ev_io_start(q->o.loop, &q->sinks[i].io);
		} else {
			ev_io_stop(q->o.loop, &q->sinks[i].io);
		}
	}
	if (!q->head) {
		ev_timer_stop(q->o.loop, &q->drain);
	}
	queue_pressure(q);
}

/* Is WHICH's fd failed? */
bool
outq_closed(const struct outq *q, int which)
{
	return q->sinks[which - 1].closed;
}

/* Bytes queued in memory and not yet written. */
size_t
outq_queued(const struct outq *q)
{
	return q->queued;
}

/* Are producers paused? */
bool
outq_paused(const struct outq *q)
{
	return q->paused;
}

/* Nothing more will be queued. */
void
outq_finish(struct outq *q, int64_t drain_ms)
{
	outq_run(q);
	if (!q->head || drain_ms < 0) {
		return;
	}
	ev_timer_stop(q->o.loop, &q->drain);
	ev_timer_set(&q->drain, (ev_tstamp)drain_ms / 1000., 0.);
	ev_timer_start(q->o.loop, &q->drain);
}

/* Bytes dropped when the drain window passed. */
size_t
outq_dropped(const struct outq *q)
{
	return q->dropped;
}

/* Release Q. */
void
outq_free(struct outq *q)
{
	if (!q) {
		return;
	}
	queue_drop(q);
	while (q->spare) {
		struct chunk *c = q->spare;

		q->spare = c->next;
		free(c->data);
		free(c);
	}
	for (int i = 0; i < 2; i++) {
		ev_io_stop(q->o.loop, &q->sinks[i].io);
		if (q->sinks[i].wfd != q->sinks[i].fd) {
			close(q->sinks[i].wfd);
		}
	}
	ev_timer_stop(q->o.loop, &q->drain);
	free(q);
}

/* Free every chunk of the queue; count unwritten bytes as dropped. */
static void
queue_drop(struct outq *q)
{
	while (q->head) {
		struct chunk *c = q->head;

		q->head = c->next;
		q->dropped += c->len - c->off + (size_t)c->file_left;
		if (c->file >= 0) {
			close(c->file);
		}
		free(c->data);
		free(c);
	}
	q->tail = NULL;
	q->queued = 0;
}

/* Choose how to write FD, for WHICH, without blocking (see the top). */
static void
sink_init(struct outq *q, struct sink *k, int which, int fd)
{
	struct stat st;
	char path[64];

	k->q = q;
	k->which = which;
	k->fd = k->wfd = fd;
	k->kind = SINK_POLL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		k->kind = SINK_PLAIN;
	} else if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
		k->kind = SINK_SOCKET;
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		k->wfd = open(path,
			      O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		k->kind = k->wfd >= 0 ? SINK_REOPENED : SINK_POLL;
		k->wfd = k->wfd >= 0 ? k->wfd : fd;
	}
	ev_io_init(&k->io, outq_write_cb, k->wfd, EV_WRITE);
}

/* Write some of LEN bytes at P to K: how many, 0 when full, -1 on error. */
static ssize_t
sink_write(struct sink *k, const char *p, size_t len)
{
	struct pollfd pfd = { .fd = k->fd, .events = POLLOUT };
	ssize_t n;

	for (;;) {
		switch (k->kind) {
		case SINK_SOCKET:
			n = send(k->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			break;
		case SINK_POLL:
			if (poll(&pfd, 1, 0) == 0) {
				return 0;
			}
			n = write(k->fd, p, len < PIPE_BUF ? len : PIPE_BUF);
			break;
		default:
			n = write(k->wfd, p, len);
			break;
		}
		if (n >= 0) {
			return n;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		}
		if (errno != EINTR) {
			return -1;
		}
	}
}

/*
 * Writing sink K failed with ERRNUM: drop what is bound for it from now
 * on, and tell the owner. Only EPIPE means nobody reads; after ENOSPC, EIO
 * or EFBIG there is a reader, and the owner reports the loss. Dropping
 * the rest rather than trying again keeps what did arrive a prefix of the
 * whole, not a whole with holes. The other fd may still work.
 */
static void
sink_fail(struct outq *q, struct sink *k, int errnum)
{
	struct err e;

	k->closed = true;
	if (errnum == EPIPE) {
		q->o.on_lost(q->o.data, k->which, NULL);
		return;
	}
	err_errno(&e, errnum, "cannot write to %s",
		  k->which == 1 ? "stdout" : "stderr");
	q->o.on_lost(q->o.data, k->which, &e);
}

/* A spill file bound for WHICH could not be read back (ERRNUM). */
static void
spill_lost(struct outq *q, int which, int errnum)
{
	struct err e;

	err_errno(&e, errnum, "cannot read back grouped output from its "
			      "temporary file");
	q->o.on_lost(q->o.data, which, &e);
}

/* Refill the head chunk C from its spill file; false when it is done. */
static bool
chunk_refill(struct outq *q, struct chunk *c)
{
	ssize_t n;

	if (c->file < 0 || c->file_left <= 0) {
		return false;
	}
	if (!c->data) {
		c->cap = CHUNK_SIZE;
		c->data = xmalloc(c->cap);
	}
	n = pread(c->file, c->data,
		  c->file_left < (off_t)c->cap ? (size_t)c->file_left : c->cap,
		  c->file_off);
	if (n <= 0) {
		/* The spill file failed us: what it held is lost. */
		c->lost_errno = n < 0 ? errno : EIO;
		c->file_left = 0;
		return false;
	}
	c->off = 0;
	c->len = (size_t)n;
	c->file_off += n;
	c->file_left -= n;
	q->queued += (size_t)n;
	return true;
}

/* Pop the written head chunk. */
static void
queue_pop(struct outq *q)
{
	struct chunk *c = q->head;

	q->head = c->next;
	if (!q->head) {
		q->tail = NULL;
	}
	if (c->file >= 0) {
		close(c->file);
	}
	/*
	 * Spares save a malloc and a free per chunk on the busy path, and
	 * keep the heap from churning while a slow reader drains the queue.
	 */
	if (q->n_spare < MAX_SPARE && c->cap == CHUNK_SIZE) {
		*c = (struct chunk){ .data = c->data, .cap = c->cap, .file = -1,
				     .next = q->spare };
		q->spare = c;
		q->n_spare++;
		return;
	}
	free(c->data);
	free(c);
}

/* Pause or resume the producers as the queue's length asks (step 3). */
static void
queue_pressure(struct outq *q)
{
	bool pause;

	if (q->paused && q->queued <= OUTQ_MAX_PENDING / 2) {
		pause = false;
	} else if (!q->paused && q->queued > OUTQ_MAX_PENDING) {
		pause = true;
	} else {
		return;
	}
	q->paused = pause;
	if (q->o.on_pressure) {
		q->o.on_pressure(q->o.data, pause);
	}
}

/* ctxrun's stdout or stderr has room again. */
static void
outq_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sink *k = container_of(w, struct sink, io);

	(void)loop;
	(void)revents;
	outq_run(k->q);
}

/* The drain window after the run is over: drop what is still queued. */
static void
outq_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct outq *q = container_of(w, struct outq, drain);

	(void)loop;
	(void)revents;
	queue_drop(q);
	outq_run(q);
}
