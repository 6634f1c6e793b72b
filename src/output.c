/* SPDX-License-Identifier: MIT */
#include "ctxrun/output.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ctxrun/escape.h"
#include "ctxrun/util.h"

/*
 * Every byte leaves through one queue of chunks, each bound for fd 1 or 2,
 * written strictly in order: ctxrun's stdout and stderr usually end on one
 * terminal, and a job's error line must not overtake the lines before it.
 * The price is that a blocked stdout holds stderr back too.
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
 * Prefixed lines are gathered with their prefixes straight into the tail
 * chunk, so one read of a pipe costs one write(2), not one per line, and a
 * line is never torn: only whole lines (or OUTPUT_MAX_LINE pieces) are
 * queued.
 *
 * Every pipe is read into one buffer of the output's, a pipe's worth, and
 * its bytes are passed on before the next read: a job keeps memory of its
 * own only for the incomplete line its last read ended with, as long as it
 * is, or for its grouped block. A thousand jobs that print a line now and
 * then cost a thousand short lines, not a thousand pipe buffers. Nothing
 * that runs while the bytes are passed on reads a pipe: the only callback
 * on that path, on_event, queues lines and cancels contexts, and jobs end
 * from the loop. It may run writer_run() again from inside writer_run(),
 * so that loop takes the queue's head afresh after each call out.
 */

#define CHUNK_SIZE 65536
#define READ_SIZE 65536 /* a pipe's worth (Linux's default pipe size) */
/* So a line with its newline in one read is never too long. */
_Static_assert(READ_SIZE <= OUTPUT_MAX_LINE, "a read holds at most a line");
/* Written chunks kept for reuse: as many as a full queue holds, and two. */
#define MAX_SPARE (OUTPUT_MAX_PENDING / CHUNK_SIZE + 2)
#define SINK_PLAIN 0   /* regular file: write(2) does not wait for long */
#define SINK_REOPENED 1 /* our own O_NONBLOCK description */
#define SINK_SOCKET 2  /* send(MSG_DONTWAIT) */
#define SINK_POLL 3    /* poll(2), then at most PIPE_BUF bytes */

/* A piece of the queue; a grouped block's spill file follows its bytes. */
struct chunk {
	struct chunk *next;
	int which; /* 1 or 2 */
	char *data;
	size_t len, off, cap;
	int file; /* -1: none */
	off_t file_off, file_left;
	int lost_errno; /* reading the file back failed: the rest is lost */
};

/* How ctxrun's fd 1 or 2 is written. */
struct sink {
	struct output *out;
	int fd;  /* 1 or 2 */
	int wfd; /* what we write to: fd, or our reopened description */
	int kind;
	bool closed; /* a write failed: what is bound for it is dropped */
	ev_io io; /* EV_WRITE, while the queue's head waits for this fd */
};

/* One part (stdout or stderr) of a grouped block. */
struct part {
	char *mem;
	size_t len, cap;
	int file; /* spill file, -1 until needed */
	off_t file_len;
	char last; /* last byte held, to end the block with a newline */
};

struct output {
	struct output_opts o;
	unsigned told; /* events told, a bit per kind and fd (output_tell) */
	bool paused; /* too much queued: job pipes are not read */
	bool finished;
	size_t jobs;
	struct output_stream *streams; /* all open, for pausing */
	struct sink sinks[2];
	struct chunk *head, *tail;
	struct chunk *spare; /* written chunks kept for reuse, a list */
	size_t n_spare;
	size_t queued; /* bytes in memory not yet written */
	size_t dropped;
	ev_timer drain;
	output_tap_fn *tap; /* sees output as read, e.g. for --junit */
	void *tap_data;
	/* READ_SIZE + LINE_SLACK bytes every pipe is read into; NULL until used */
	char *rbuf;
};

/* An incomplete line: no newline, shorter than OUTPUT_MAX_LINE. */
struct held {
	char *buf; /* NULL when none */
	size_t len, cap;
	/*
	 * The last read ended a piece of OUTPUT_MAX_LINE bytes: a newline
	 * first thing in the next one ends that line rather than being a line
	 * of its own, so a line of exactly that length is one line however
	 * its bytes were read.
	 */
	bool cut;
};

struct output_stream {
	struct output_job *job;
	struct output_stream *prev, *next; /* in output.streams */
	ev_io io;
	int which;          /* 1 or 2 */
	int prefix_len;
	const char *prefix; /* "name | ", padded (and coloured), in the job */
	union {
		struct held line;  /* prefixed */
		struct part *part; /* grouped; NULL while it holds nothing */
	};
};

struct output_job {
	struct output *out;
	size_t grouped_mem; /* bytes of both parts in memory */
	struct output_stream s[2];
	char name[]; /* and after its NUL, the prefix or prefixes */
};

static void output_write_cb(struct ev_loop *loop, ev_io *w, int revents);
static void output_drain_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void stream_read_cb(struct ev_loop *loop, ev_io *w, int revents);
static void sink_init(struct sink *k, int fd);
static size_t prefix_format(const struct output *o, const char *name,
			    int which, size_t colour, char *buf, size_t size);
static void stream_init(struct output_job *j, int which, int rfd,
			const char *prefix);
static void stream_release(struct output_stream *s);
static void writer_run(struct output *o);
static bool read_available(struct output_stream *s, bool all);
static void take_lines(struct output_stream *s, const char *p, size_t len);
static void emit_line(struct output_stream *s, const char *held,
		      size_t held_len, const char *p, size_t len);
static void block_queue(struct output_job *j, bool whole);

/* Parse an output mode. */
int
output_mode_parse(const char *arg, enum output_mode *mode)
{
	static const char *const names[] = { "prefixed", "grouped", "raw" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(arg, names[i])) {
			*mode = (enum output_mode)i;
			return 0;
		}
	}
	return -1;
}

/* Parse a colour setting. */
int
output_colour_parse(const char *arg, enum output_colour *when)
{
	static const char *const names[] = { "auto", "always", "never" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(arg, names[i])) {
			*when = (enum output_colour)i;
			return 0;
		}
	}
	return -1;
}

/* Whether to colour what goes to FD. */
bool
output_colour_wanted(enum output_colour when, int fd)
{
	const char *no = getenv("NO_COLOR");
	const char *force = getenv("CLICOLOR_FORCE");

	if (when != OUTPUT_COLOUR_AUTO) {
		return when == OUTPUT_COLOUR_ALWAYS;
	}
	if (no && *no) {
		return false;
	}
	if (force && *force && strcmp(force, "0") != 0) {
		return true;
	}
	return isatty(fd) == 1;
}

/* Create the writer. */
struct output *
output_new(const struct output_opts *opts)
{
	struct output *o = xcalloc(1, sizeof(*o));

	o->o = *opts;
	sink_init(&o->sinks[0], 1);
	sink_init(&o->sinks[1], 2);
	o->sinks[0].out = o->sinks[1].out = o;
	ev_init(&o->drain, output_drain_cb);
	return o;
}

/* Give every piece of output to FN too. */
void
output_set_tap(struct output *o, output_tap_fn *fn, void *data)
{
	o->tap = fn;
	o->tap_data = data;
}

/* Open the streams of a job. */
struct output_job *
output_job_open(struct output *o, const char *name, size_t colour, int fds[2],
		struct err *e)
{
	struct output_job *j;
	size_t name_len = strlen(name) + 1;
	char *shown = escape_term_dup(name);
	size_t len[2] = { prefix_format(o, shown, 1, colour, NULL, 0),
			  prefix_format(o, shown, 2, colour, NULL, 0) };
	/* The common case: both prefixes alike, one copy. */
	bool same = o->o.colour_out == o->o.colour_err;
	char *prefix[2];
	int out[2], err[2];

	if (pipe2(out, O_CLOEXEC) < 0) {
		err_errno(e, errno, "cannot create a pipe for '%s'", shown);
		free(shown);
		return NULL;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		err_errno(e, errno, "cannot create a pipe for '%s'", shown);
		close(out[0]);
		close(out[1]);
		free(shown);
		return NULL;
	}
	/* One allocation: the job, its name and its prefixes. */
	j = xcalloc(1, sizeof(*j) + name_len + len[0] + 1 +
			       (same ? 0 : len[1] + 1));
	j->out = o;
	memcpy(j->name, name, name_len);
	prefix[0] = j->name + name_len;
	prefix_format(o, shown, 1, colour, prefix[0], len[0] + 1);
	prefix[1] = same ? prefix[0] : prefix[0] + len[0] + 1;
	if (!same) {
		prefix_format(o, shown, 2, colour, prefix[1], len[1] + 1);
	}
	free(shown);
	stream_init(j, 1, out[0], prefix[0]);
	stream_init(j, 2, err[0], prefix[1]);
	o->jobs++;
	fds[0] = out[1];
	fds[1] = err[1];
	return j;
}

/*
 * Queue the whole lines the pipes hold now; grouped, the block so far, so
 * that it comes before the line saying the job exited. What leftover
 * processes print later makes a second block.
 */
void
output_job_flush(struct output_job *j)
{
	for (int i = 0; j && i < 2; i++) {
		struct output_stream *s = &j->s[i];

		if (s->io.fd >= 0 && read_available(s, true)) {
			stream_release(s);
		}
	}
	if (j && j->out->o.mode == OUTPUT_GROUPED) {
		block_queue(j, true);
		writer_run(j->out);
	}
}

/* Queue what is left and release J. */
void
output_job_close(struct output_job *j)
{
	struct output *o;

	if (!j) {
		return;
	}
	o = j->out;
	for (int i = 0; i < 2; i++) {
		struct output_stream *s = &j->s[i];

		if (s->io.fd >= 0) {
			read_available(s, true);
		}
		if (o->o.mode == OUTPUT_PREFIXED) {
			/* A last line without a newline. */
			if (s->line.len) {
				emit_line(s, s->line.buf, s->line.len, NULL, 0);
			}
			free(s->line.buf);
		}
		stream_release(s);
	}
	if (o->o.mode == OUTPUT_GROUPED) {
		block_queue(j, true);
	}
	o->jobs--;
	free(j);
	writer_run(o);
}

/* The queue's tail chunk for WHICH, with room for NEED more bytes. */
static char *
queue_reserve(struct output *o, int which, size_t need)
{
	struct chunk *t = o->tail;

	if (!t || t->which != which || t->file >= 0 || t->cap - t->len < need) {
		if (o->spare && need <= o->spare->cap) {
			t = o->spare;
			o->spare = t->next;
			o->n_spare--;
			t->next = NULL;
		} else {
			t = xcalloc(1, sizeof(*t));
			t->cap = need > CHUNK_SIZE ? need : CHUNK_SIZE;
			t->data = xmalloc(t->cap);
			t->file = -1;
		}
		t->which = which;
		if (o->tail) {
			o->tail->next = t;
		} else {
			o->head = t;
		}
		o->tail = t;
	}
	return t->data + t->len;
}

/* Count LEN bytes just put at the queue's tail. */
static void
queue_commit(struct output *o, size_t len)
{
	o->tail->len += len;
	o->queued += len;
}

/* Queue ctxrun's own bytes. */
void
output_write(struct output *o, int which, const char *buf, size_t len)
{
	if (o->sinks[which - 1].closed || !len) {
		return;
	}
	memcpy(queue_reserve(o, which, len), buf, len);
	queue_commit(o, len);
	writer_run(o);
}

/* Nothing more will be queued. */
void
output_finish(struct output *o, int64_t drain_ms)
{
	o->finished = true;
	writer_run(o);
	if (!o->head || drain_ms < 0) {
		return;
	}
	ev_timer_stop(o->o.loop, &o->drain);
	ev_timer_set(&o->drain, (ev_tstamp)drain_ms / 1000., 0.);
	ev_timer_start(o->o.loop, &o->drain);
}

/* Bytes dropped when the drain window passed. */
size_t
output_dropped(const struct output *o)
{
	return o->dropped;
}

/* Free every chunk of the queue; count unwritten bytes as dropped. */
static void
output_queue_drop(struct output *o)
{
	while (o->head) {
		struct chunk *c = o->head;

		o->head = c->next;
		o->dropped += c->len - c->off + (size_t)c->file_left;
		if (c->file >= 0) {
			close(c->file);
		}
		free(c->data);
		free(c);
	}
	o->tail = NULL;
	o->queued = 0;
}

/* Release O. */
void
output_free(struct output *o)
{
	if (!o) {
		return;
	}
	if (o->jobs) {
		BUG("output_free with %zu jobs open", o->jobs);
	}
	output_queue_drop(o);
	while (o->spare) {
		struct chunk *c = o->spare;

		o->spare = c->next;
		free(c->data);
		free(c);
	}
	for (int i = 0; i < 2; i++) {
		ev_io_stop(o->o.loop, &o->sinks[i].io);
		if (o->sinks[i].wfd != o->sinks[i].fd) {
			close(o->sinks[i].wfd);
		}
	}
	ev_timer_stop(o->o.loop, &o->drain);
	free(o->rbuf);
	free(o);
}

/* Choose how to write ctxrun's FD without blocking (see the top). */
static void
sink_init(struct sink *k, int fd)
{
	struct stat st;
	char path[64];

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
	ev_io_init(&k->io, output_write_cb, k->wfd, EV_WRITE);
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

/* Stop or start reading every job pipe. */
static void
streams_pause(struct output *o, bool pause)
{
	o->paused = pause;
	for (struct output_stream *s = o->streams; s; s = s->next) {
		if (pause) {
			ev_io_stop(o->o.loop, &s->io);
		} else {
			ev_io_start(o->o.loop, &s->io);
		}
	}
}

/*
 * Tell the caller about an event of KIND for fd WHICH, with E (may be
 * NULL): OUTPUT_EV_LOST once per fd, the others once per run.
 */
static void
output_tell(struct output *o, enum output_event_kind kind, int which,
	    const struct err *e)
{
	int fd_bit = kind == OUTPUT_EV_LOST ? which - 1 : 0;
	unsigned bit = 1u << (2 * (int)kind + fd_bit);

	if (o->told & bit) {
		return;
	}
	o->told |= bit;
	if (o->o.on_event) {
		o->o.on_event(o, &(struct output_event){ .kind = kind,
							 .which = which,
							 .err = e },
			      o->o.data);
	}
}

/*
 * Writing ctxrun's stdout or stderr (K) failed with ERRNUM: drop what is
 * bound for it from now on, and tell the caller. Only EPIPE means nobody
 * reads (the caller stops the run); after ENOSPC, EIO or EFBIG the run has
 * a reader and goes on, and the caller reports the loss. Dropping the rest
 * rather than trying again keeps what did arrive a prefix of the whole,
 * not a whole with holes. The other fd may still work.
 */
static void
sink_fail(struct output *o, struct sink *k, int errnum)
{
	struct err e;

	k->closed = true;
	if (errnum == EPIPE) {
		output_tell(o, OUTPUT_EV_CLOSED, k->fd, NULL);
		return;
	}
	err_errno(&e, errnum, "cannot write to %s",
		  k->fd == 1 ? "stdout" : "stderr");
	output_tell(o, OUTPUT_EV_LOST, k->fd, &e);
}

/* A spill file bound for WHICH could not be read back (ERRNUM). */
static void
spill_lost(struct output *o, int which, int errnum)
{
	struct err e;

	err_errno(&e, errnum, "cannot read back grouped output from its "
			      "temporary file");
	output_tell(o, OUTPUT_EV_LOST, which, &e);
}

/* Refill the head chunk C from its spill file; false when it is done. */
static bool
chunk_refill(struct output *o, struct chunk *c)
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
	o->queued += (size_t)n;
	return true;
}

/* Pop the written head chunk. */
static void
queue_pop(struct output *o)
{
	struct chunk *c = o->head;

	o->head = c->next;
	if (!o->head) {
		o->tail = NULL;
	}
	if (c->file >= 0) {
		close(c->file);
	}
	/*
	 * Spares save a malloc and a free per chunk on the busy path, and
	 * keep the heap from churning while a slow reader drains the queue.
	 */
	if (o->n_spare < MAX_SPARE && c->cap == CHUNK_SIZE) {
		*c = (struct chunk){ .data = c->data, .cap = c->cap, .file = -1,
				     .next = o->spare };
		o->spare = c;
		o->n_spare++;
		return;
	}
	free(c->data);
	free(c);
}

/*
 * Write the queue out as far as the fds take it. When one is full, watch
 * it for room; once the queue is short enough again, read the pipes again.
 */
static void
writer_run(struct output *o)
{
	struct sink *wait = NULL;

	while (o->head) {
		struct chunk *c = o->head;
		struct sink *k = &o->sinks[c->which - 1];
		ssize_t n;

		if (k->closed) {
			/* Nobody is listening: nothing is lost to anyone. */
			o->queued -= c->len - c->off;
			c->off = c->len;
			c->file_left = 0;
		}
		if (c->off == c->len && !chunk_refill(o, c)) {
			int lost = c->lost_errno, which = c->which;

			/* Told after the pop: the callback may write again. */
			queue_pop(o);
			if (lost) {
				spill_lost(o, which, lost);
			}
			continue;
		}
		n = sink_write(k, c->data + c->off, c->len - c->off);
		if (n < 0) {
			sink_fail(o, k, errno);
			continue;
		}
		if (n == 0) {
			wait = k;
			break;
		}
		c->off += (size_t)n;
		o->queued -= (size_t)n;
	}
	for (int i = 0; i < 2; i++) {
		if (&o->sinks[i] == wait) {
			ev_io_start(o->o.loop, &o->sinks[i].io);
		} else {
			ev_io_stop(o->o.loop, &o->sinks[i].io);
		}
	}
	if (!o->head) {
		ev_timer_stop(o->o.loop, &o->drain);
	}
	if (o->paused && o->queued <= OUTPUT_MAX_PENDING / 2) {
		streams_pause(o, false);
	} else if (!o->paused && o->queued > OUTPUT_MAX_PENDING) {
		streams_pause(o, true);
	}
}

/*
 * Put the prefix of NAME's stream WHICH, coloured with palette entry COLOUR
 * if that stream is, into the SIZE bytes at BUF (none when SIZE is 0, to
 * measure it); return its length.
 */
static size_t
prefix_format(const struct output *o, const char *name, int which,
	      size_t colour, char *buf, size_t size)
{
	/* Cyan, yellow, green, magenta, blue, then their bright forms. */
	static const char *const palette[] = { "36", "33", "32", "35", "34",
					       "96", "93", "92", "95", "94" };
	bool colour_on = which == 1 ? o->o.colour_out : o->o.colour_err;
	int n;

	if (colour_on) {
		n = snprintf(buf, size, "\033[%sm%-*s |\033[0m ",
			     palette[colour % ARRAY_SIZE(palette)], o->o.width,
			     name);
	} else {
		n = snprintf(buf, size, "%-*s | ", o->o.width, name);
	}
	if (n < 0) {
		BUG("cannot format the prefix of '%s'", name);
	}
	return (size_t)n;
}

/* Set up stream WHICH of J, reading RFD, its lines prefixed with PREFIX. */
static void
stream_init(struct output_job *j, int which, int rfd, const char *prefix)
{
	struct output *o = j->out;
	struct output_stream *s = &j->s[which - 1];

	/* Only our end is non-blocking; the job sees an ordinary pipe. */
	fcntl(rfd, F_SETFL, O_NONBLOCK);
	s->job = j;
	s->which = which;
	s->prefix = prefix;
	s->prefix_len = (int)strlen(prefix);
	ev_io_init(&s->io, stream_read_cb, rfd, EV_READ);
	s->next = o->streams;
	if (o->streams) {
		o->streams->prev = s;
	}
	o->streams = s;
	if (!o->paused) {
		ev_io_start(o->o.loop, &s->io);
	}
}

/* Stop reading S, close its pipe and take it off the list. Idempotent. */
static void
stream_release(struct output_stream *s)
{
	struct output *o = s->job->out;

	if (s->io.fd < 0) {
		return;
	}
	ev_io_stop(o->o.loop, &s->io);
	close(s->io.fd);
	s->io.fd = -1;
	if (s->prev) {
		s->prev->next = s->next;
	} else {
		o->streams = s->next;
	}
	if (s->next) {
		s->next->prev = s->prev;
	}
	s->prev = s->next = NULL;
}

/*
 * Queue "name | ", the HELD_LEN bytes at HELD and the LEN bytes at P (a
 * line, or a piece of one, in two parts), and a newline; nothing when the
 * stream's destination is closed.
 */
static void
emit_line(struct output_stream *s, const char *held, size_t held_len,
	  const char *p, size_t len)
{
	struct output *o = s->job->out;
	size_t plen = (size_t)s->prefix_len, n = plen + held_len + len + 1;
	char *dst;

	if (o->sinks[s->which - 1].closed) {
		return;
	}
	dst = queue_reserve(o, s->which, n);
	memcpy(dst, s->prefix, plen);
	/* Either part may be empty, and its pointer NULL. */
	if (held_len) {
		memcpy(dst + plen, held, held_len);
	}
	if (len) {
		memcpy(dst + plen + held_len, p, len);
	}
	dst[n - 1] = '\n';
	queue_commit(o, n);
}

/*
 * Short lines are the common case, and finding each newline with memchr
 * from the end of the last one makes every line wait for the one before:
 * a call, a load and a compare in a chain, about 20 cycles a line. So the
 * newlines of each 64-byte block are found at once, as a bit mask, and the
 * lines are taken from the mask; lines are copied 16 bytes at a time. Both
 * read, and the copies write, up to LINE_SLACK - 1 bytes past the end:
 * lines come from the read buffer, which has LINE_SLACK bytes after its
 * READ_SIZE, and go to queue room with LINE_SLACK bytes to spare, which
 * the next line overwrites or nothing writes out.
 */
#define LINE_SLACK 64
#define LINE_VEC_MAX 128 /* longer copies: memcpy is faster */

/* Bit i set: P[i] is a newline, for i < 64. */
static inline uint64_t
newlines64(const char *p)
{
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n');
	uint64_t m = 0;

	for (int i = 0; i < 4; i++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));

		m |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)) << (16 * i);
	}
	return m;
#else
	uint64_t m = 0;

	for (int i = 0; i < 64; i++) {
		m |= (uint64_t)(p[i] == '\n') << i;
	}
	return m;
#endif
}

/* Copy LEN bytes from SRC to DST, perhaps some more (see above). */
static inline void
line_copy(char *dst, const char *src, size_t len)
{
	if (len > LINE_VEC_MAX) {
		memcpy(dst, src, len);
		return;
	}
	/* A fixed-size memcpy is one vector load and store, inline. */
	for (size_t i = 0; i < len; i += 16) {
		memcpy(dst + i, src + i, 16);
	}
}

/*
 * Queue S's prefix and each whole line of the LEN bytes at P, a read
 * buffer's (see above); how many bytes those lines were.
 */
static size_t
queue_lines(struct output_stream *s, const char *p, size_t len)
{
	struct output *o = s->job->out;
	size_t plen = (size_t)s->prefix_len, start = 0, room = 0, used = 0;
	const char *prefix = s->prefix;
	char *dst = NULL, pbuf[LINE_VEC_MAX + 16];

	if (plen <= LINE_VEC_MAX) {
		memcpy(pbuf, prefix, plen); /* with room to over-read */
		prefix = pbuf;
	}
	for (size_t block = 0; block < len; block += 64) {
		uint64_t m = newlines64(p + block);

		if (len - block < 64) {
			m &= (UINT64_C(1) << (len - block)) - 1;
		}
		for (; m; m &= m - 1) {
			size_t end = block + (size_t)__builtin_ctzll(m) + 1;
			size_t n = plen + end - start;

			if (room < n + LINE_SLACK) {
				if (used) {
					queue_commit(o, used);
				}
				dst = queue_reserve(o, s->which, n + LINE_SLACK);
				room = o->tail->cap - o->tail->len;
				used = 0;
			}
			line_copy(dst + used, prefix, plen);
			line_copy(dst + used + plen, p + start, end - start);
			used += n;
			room -= n;
			start = end;
		}
	}
	if (used) {
		queue_commit(o, used);
	}
	return start;
}

/* Append the LEN bytes at P to the incomplete line H, growing it to need. */
static void
held_append(struct held *h, const char *p, size_t len)
{
	if (h->cap - h->len < len) {
		h->cap = h->len + len > 2 * h->cap ? h->len + len : 2 * h->cap;
		h->cap = h->cap < OUTPUT_MAX_LINE ? h->cap : OUTPUT_MAX_LINE;
		h->buf = xrealloc(h->buf, h->cap);
	}
	memcpy(h->buf + h->len, p, len);
	h->len += len;
}

/*
 * Queue the whole lines of S's incomplete line followed by the LEN bytes
 * at P, and keep what is left of a line. A line longer than
 * OUTPUT_MAX_LINE goes out in pieces of that size as soon as they are
 * whole, so what is kept is always shorter and has no newline. P lies in
 * the read buffer, which has LINE_SLACK bytes after it.
 */
static void
take_lines(struct output_stream *s, const char *p, size_t len)
{
	struct held *h = &s->line;
	struct output *o = s->job->out;
	bool closed = o->sinks[s->which - 1].closed;
	const char *end = p + len, *piece_end = NULL;
	size_t whole;

	if (h->cut) {
		h->cut = false;
		if (*p == '\n') {
			p++;
			len--;
		}
	}
	if (h->len) {
		/* Bytes of P that complete the held line, or fill a piece. */
		size_t fits = OUTPUT_MAX_LINE - h->len;
		const char *nl = memchr(p, '\n', len);

		if (nl && (size_t)(nl - p) <= fits) {
			emit_line(s, h->buf, h->len, p, (size_t)(nl - p));
			len -= (size_t)(nl - p) + 1;
			p = nl + 1;
		} else if (len >= fits) {
			emit_line(s, h->buf, h->len, p, fits);
			len -= fits;
			p += fits;
			piece_end = p;
		} else {
			held_append(h, p, len);
			return;
		}
		free(h->buf);
		*h = (struct held){ 0 };
	}
	if (closed) {
		const char *nl = memrchr(p, '\n', len);

		whole = nl ? (size_t)(nl - p) + 1 : 0;
	} else {
		whole = queue_lines(s, p, len);
	}
	p += whole;
	len -= whole;
	/* No newline in what is left: pieces of the longest a line may be. */
	while (len >= OUTPUT_MAX_LINE) {
		emit_line(s, NULL, 0, p, OUTPUT_MAX_LINE);
		p += OUTPUT_MAX_LINE;
		len -= OUTPUT_MAX_LINE;
		piece_end = p;
	}
	h->cut = piece_end == end;
	if (len) {
		held_append(h, p, len);
	}
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

/* Does part P hold anything? */
static bool
part_held(const struct part *p)
{
	return p && (p->len || p->file_len);
}

/*
 * Append the queue chunks of the part at *PP (bound for WHICH); drop it.
 * With NEWLINE, end it with a newline when it does not end with one.
 */
static void
part_queue(struct output *o, struct part **pp, int which, bool newline)
{
	struct part *p = *pp;
	struct chunk *c;

	if (!part_held(p)) {
		if (p && p->file >= 0) {
			close(p->file);
		}
		free(p);
		*pp = NULL;
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->which = which;
	c->data = p->mem;
	c->len = p->len;
	c->cap = p->cap;
	c->file = p->file;
	c->file_left = p->file_len;
	if (o->tail) {
		o->tail->next = c;
	} else {
		o->head = c;
	}
	o->tail = c;
	o->queued += p->len;
	if (newline && p->last != '\n') {
		output_write(o, which, "\n", 1);
	}
	free(p);
	*pp = NULL;
}

/* A part holding nothing yet. */
static struct part *
part_new(void)
{
	struct part *p = xcalloc(1, sizeof(*p));

	p->file = -1;
	return p;
}

/* Hold the LEN bytes at P in memory in part PT of J's block. */
static void
part_hold(struct output_job *j, struct part *pt, const char *p, size_t len)
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
	j->grouped_mem += len;
}

/*
 * Take the bytes after PT's last newline out of it, into a new part; NULL
 * when there are none, or no newline to cut at. Where PT spilled, only the
 * last READ_SIZE bytes of the file are searched: a longer last line is cut
 * where the file ends.
 */
static struct part *
part_split(struct output_job *j, struct part *pt)
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

		got = pt->file_len < READ_SIZE ? (size_t)pt->file_len
						: READ_SIZE;
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
		part_hold(j, rest, nl, (size_t)(buf + got - nl));
		pt->file_len -= (off_t)(buf + got - nl);
	} else {
		part_hold(j, rest, nl, (size_t)(pt->mem + got - nl));
		pt->len = (size_t)(nl - pt->mem);
	}
	pt->last = '\n';
	free(buf);
	return rest;
}

/*
 * Queue J's block: its stdout part, then its stderr part. WHOLE, it ends
 * with a newline (one is added when needed, as the man page promises).
 * Otherwise it is a piece: each part keeps what follows its last newline
 * for the next piece, so the blocks of other jobs come between whole
 * lines, and nothing is added but GitHub's group lines (which need the
 * newline before them that a line of over READ_SIZE bytes may lack).
 */
static void
block_queue(struct output_job *j, bool whole)
{
	struct output *o = j->out;
	struct part *rest[2] = { NULL, NULL };
	bool empty;
	char *line;

	j->grouped_mem = 0;
	for (int i = 0; !whole && i < 2; i++) {
		rest[i] = part_split(j, j->s[i].part);
	}
	empty = !part_held(j->s[0].part) && !part_held(j->s[1].part);
	if (o->o.github && !empty) {
		line = xasprintf("::group::%s\n", j->name);
		escape_term(line + 9, line + 9, strlen(j->name));
		output_write(o, 1, line, strlen(line));
		free(line);
	}
	part_queue(o, &j->s[0].part, 1, whole || o->o.github);
	part_queue(o, &j->s[1].part, 2, whole || o->o.github);
	if (o->o.github && !empty) {
		output_write(o, 1, "::endgroup::\n", 13);
	}
	j->s[0].part = rest[0];
	j->s[1].part = rest[1];
}

/*
 * J's block cannot be spilled (E says why): tell the caller, once, and
 * write the block so far as a piece.
 */
static void
block_piece(struct output_job *j, const struct err *e)
{
	output_tell(j->out, OUTPUT_EV_PIECES, 1, e);
	block_queue(j, false);
	writer_run(j->out);
}

/*
 * Hold LEN bytes at P in S's part of the block. Past OUTPUT_GROUP_MEM bytes
 * for the job they go to a spill file. When none can be made or written,
 * the block so far goes out as a piece and the rest is held in memory
 * again: the bytes still arrive whole and in order, not as one block.
 */
static void
block_append(struct output_stream *s, const char *p, size_t len)
{
	struct output_job *j = s->job;
	struct err e;

	if (j->out->sinks[s->which - 1].closed || !len) {
		return;
	}
	if (!s->part) {
		s->part = part_new();
	}
	if (s->part->file < 0 && j->grouped_mem + len > OUTPUT_GROUP_MEM &&
	    (s->part->file = spill_open(&e)) < 0) {
		block_piece(j, &e);
	}
	if (s->part && s->part->file >= 0) {
		size_t n = spill_write(s->part->file, p, len, &e);

		s->part->file_len += (off_t)n;
		if (n) {
			s->part->last = p[n - 1];
		}
		if (n == len) {
			return;
		}
		p += n;
		len -= n;
		block_piece(j, &e);
	}
	if (!s->part) {
		s->part = part_new();
	}
	part_hold(j, s->part, p, len);
}

/*
 * Read what the pipe has now into S's buffer and pass it on; true at EOF
 * or error. Without ALL, stop once reading is paused.
 */
static bool
read_available(struct output_stream *s, bool all)
{
	struct output *o = s->job->out;

	for (;;) {
		ssize_t n;

		if (!all && o->paused) {
			return false;
		}
		/* A pipe's worth per read(2), once any job prints at all. */
		if (!o->rbuf) {
			o->rbuf = xcalloc(1, READ_SIZE + LINE_SLACK);
		}
		n = read(s->io.fd, o->rbuf, READ_SIZE);
		if (n > 0) {
			if (o->tap) {
				o->tap(o->tap_data, s->job->name, s->which,
				       o->rbuf, (size_t)n);
			}
			if (o->o.mode == OUTPUT_GROUPED) {
				block_append(s, o->rbuf, (size_t)n);
			} else {
				take_lines(s, o->rbuf, (size_t)n);
			}
			/* One write for many small reads, within the bound. */
			if (o->queued >= CHUNK_SIZE) {
				writer_run(o);
			}
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		writer_run(o);
		return !(n < 0 && errno == EAGAIN);
	}
}

/* A job wrote to its pipe, or closed it. */
static void
stream_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct output_stream *s = container_of(w, struct output_stream, io);

	(void)loop;
	(void)revents;
	if (read_available(s, false)) {
		stream_release(s);
	}
}

/* ctxrun's stdout or stderr has room again. */
static void
output_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sink *k = container_of(w, struct sink, io);
	(void)loop;
	(void)revents;
	writer_run(k->out);
}

/* The drain window after the run is over: drop what is still queued. */
static void
output_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct output *o = container_of(w, struct output, drain);

	(void)loop;
	(void)revents;
	output_queue_drop(o);
	writer_run(o);
}
