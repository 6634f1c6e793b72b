/* SPDX-License-Identifier: MIT */
#include "ctxrun/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/block.h"
#include "ctxrun/escape.h"
#include "ctxrun/lines.h"
#include "ctxrun/outq.h"
#include "ctxrun/util.h"

/*
 * The job streams: each job's two pipes, read with ev_io and passed on,
 * prefixed, to line assembly (lines.h), or grouped, to the job's block
 * (block.h); both queue on the write queue (outq.h), whose backpressure
 * stops and starts the reading here.
 *
 * Every pipe is read into one buffer of the output's, a pipe's worth, and
 * its bytes are passed on before the next read: a job keeps memory of its
 * own only for the incomplete line its last read ended with, as long as it
 * is, or for its grouped block. A thousand jobs that print a line now and
 * then cost a thousand short lines, not a thousand pipe buffers. Nothing
 * that runs while the bytes are passed on reads a pipe: the only callback
 * on that path, on_event, queues lines and cancels contexts, and jobs end
 * from the loop.
 */

#define READ_SIZE 65536 /* a pipe's worth (Linux's default pipe size) */
#define OUTPUT_STAMP_MAX 32 /* "[12345678.123s] " and more */
#define GROWN_SIZE (4 * READ_SIZE) /* a grown pipe's, and the most read */
#define GROWN_MAX 4 /* streams whose pipe is grown, at a time */
/* So a line with its newline in one piece is never too long. */
_Static_assert(READ_SIZE <= LINES_MAX, "a piece holds at most a line");

struct output {
	struct output_opts o;
	unsigned told; /* events told, a bit per kind and fd (output_tell) */
	size_t jobs;
	struct output_stream *streams; /* all open, for pausing */
	struct outq *q;
	struct output_tap {
		output_tap_fn *fn; /* sees output as read, e.g. for --junit */
		void *data;
	} taps[OUTPUT_TAPS_MAX];
	size_t n_taps;
	output_overlay_fn *overlay; /* erases what is drawn below, or NULL */
	void *overlay_data;
	/* Where every pipe is read: GROWN_SIZE + LINES_SLACK bytes, or NULL */
	char *rbuf;
	char *sbuf; /* grouped with timestamps: a read, stamped; or NULL */
	size_t sbuf_cap;
	size_t grown; /* streams whose pipe is grown */
};

/* A job pipe's size (see stream_grow()). */
enum stream_pipe {
	STREAM_PIPE_DEFAULT, /* as created: grown once it fills */
	STREAM_PIPE_GROWN,   /* GROWN_SIZE */
	STREAM_PIPE_KEPT,    /* the kernel would not grow it */
};

struct output_stream {
	struct output_job *job;
	struct output_stream *prev, *next; /* in output.streams */
	ev_io io;
	int which;          /* 1 or 2 */
	enum stream_pipe pipe;
	struct lines lines; /* prefixed */
	const char *prefix; /* prefixed: "name | ", padded (and coloured) */
	char *stamped;      /* timestamps, prefixed: "[T] " and the prefix */
	bool mid_line;      /* timestamps, grouped: the last read ended so */
};

struct output_job {
	struct output *out;
	struct block *block; /* grouped; NULL when prefixed */
	int log;             /* its --log-dir file, or -1 */
	int attempt;
	size_t index;        /* in the spec */
	output_tap_fn *watch; /* see output_job_watch(); NULL: none */
	void *watch_data;
	struct output_stream s[2];
	char name[]; /* and after its NUL, the prefix or prefixes */
};

static void output_lost_cb(void *data, int which, const struct err *e);
static void output_pressure_cb(void *data, bool pause);
static void stream_read_cb(struct ev_loop *loop, ev_io *w, int revents);
static void output_tell(struct output *o, enum output_event_kind kind,
			int which, const struct err *e);
static size_t prefix_format(const struct output *o, const char *name,
			    int which, size_t colour, char *buf, size_t size);
static void stream_init(struct output_job *j, int which, int rfd,
			const char *prefix);
static void stream_release(struct output_stream *s);
static void stream_stamp(struct output_stream *s);
static size_t stamp_format(const struct output *o, char *buf);
static bool read_available(struct output_stream *s, bool all);
static const char *grouped_stamp(struct output_stream *s, const char *p,
				 size_t *len);
static void stream_lines(struct output_stream *s, const char *p, size_t len);
static void stream_grow(struct output_stream *s);
static void grouped_take(struct output_stream *s, const char *p, size_t len);
static void grouped_queue(struct output_job *j, bool whole);
static void log_write(struct output_job *j, const char *p, size_t len);

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
	o->q = outq_new(&(struct outq_opts){
		.loop = opts->loop,
		.fds = { 1, 2 },
		.on_lost = output_lost_cb,
		.on_pressure = output_pressure_cb,
		.data = o,
	});
	return o;
}

/* Give every piece of output to FN too. */
void
output_add_tap(struct output *o, output_tap_fn *fn, void *data)
{
	if (o->n_taps == OUTPUT_TAPS_MAX) {
		BUG("more than %d output taps", OUTPUT_TAPS_MAX);
	}
	o->taps[o->n_taps++] = (struct output_tap){ fn, data };
}

/* Call FN before anything is queued. */
void
output_set_overlay(struct output *o, output_overlay_fn *fn, void *data)
{
	o->overlay = fn;
	o->overlay_data = data;
}

/* Bytes for WHICH (0: either) are about to be queued: tell the overlay. */
static inline void
overlay_before(struct output *o, int which)
{
	if (o->overlay) {
		o->overlay(o->overlay_data, which);
	}
}

/* Give J's output to FN too. */
void
output_job_watch(struct output_job *j, output_tap_fn *fn, void *data)
{
	j->watch = fn;
	j->watch_data = data;
}

/* Open the streams of a job. */
struct output_job *
output_job_open(struct output *o, const struct output_job_opts *jo,
		int fds[2], struct err *e)
{
	const char *name = jo->name;
	size_t colour = jo->index;
	struct output_job *j;
	size_t name_len = strlen(name) + 1;
	char *shown = escape_term_dup(name);
	size_t len[2] = { prefix_format(o, shown, 1, colour, NULL, 0),
			  prefix_format(o, shown, 2, colour, NULL, 0) };
	/* The common case: both prefixes alike, one copy. */
	bool same = o->o.colour_out == o->o.colour_err;
	char *prefix[2];
	int out[2], err[2];

	int log = -1;

	if (o->o.logdir &&
	    (log = logdir_create(o->o.logdir, name, jo->attempt, e)) < 0) {
		free(shown);
		return NULL;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		err_errno(e, errno, "cannot create a pipe for '%s'", shown);
		goto fail;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		err_errno(e, errno, "cannot create a pipe for '%s'", shown);
		close(out[0]);
		close(out[1]);
		goto fail;
	}
	/* One allocation: the job, its name and its prefixes. */
	j = xcalloc(1, sizeof(*j) + name_len + len[0] + 1 +
			       (same ? 0 : len[1] + 1));
	j->out = o;
	j->log = log;
	j->attempt = jo->attempt;
	j->index = jo->index;
	memcpy(j->name, name, name_len);
	prefix[0] = j->name + name_len;
	prefix_format(o, shown, 1, colour, prefix[0], len[0] + 1);
	prefix[1] = same ? prefix[0] : prefix[0] + len[0] + 1;
	if (!same) {
		prefix_format(o, shown, 2, colour, prefix[1], len[1] + 1);
	}
	free(shown);
	if (o->o.mode == OUTPUT_GROUPED) {
		j->block = block_new();
	} else if (o->o.timestamps) {
		j->s[0].stamped = xmalloc(OUTPUT_STAMP_MAX + len[0] + 1);
		j->s[1].stamped = xmalloc(OUTPUT_STAMP_MAX + len[1] + 1);
	}
	stream_init(j, 1, out[0], prefix[0]);
	stream_init(j, 2, err[0], prefix[1]);
	o->jobs++;
	fds[0] = out[1];
	fds[1] = err[1];
	return j;
fail:
	if (log >= 0) {
		close(log);
	}
	free(shown);
	return NULL;
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
	if (j && j->block) {
		grouped_queue(j, true);
		outq_run(j->out->q);
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
		if (!j->block) {
			/* A last line without a newline. */
			if (s->lines.len) {
				overlay_before(o, s->which);
			}
			stream_stamp(s);
			lines_release(&s->lines);
		}
		stream_release(s);
		free(s->stamped);
	}
	if (j->block) {
		grouped_queue(j, true);
		block_free(j->block);
	}
	if (j->log >= 0) {
		close(j->log);
	}
	o->jobs--;
	free(j);
	outq_run(o->q);
}

/* Queue ctxrun's own bytes. */
void
output_write(struct output *o, int which, const char *buf, size_t len)
{
	overlay_before(o, which);
	outq_write(o->q, which, buf, len);
}

/* Nothing more will be queued. */
void
output_finish(struct output *o, int64_t drain_ms)
{
	outq_finish(o->q, drain_ms);
}

/* Bytes dropped when the drain window passed. */
size_t
output_dropped(const struct output *o)
{
	return outq_dropped(o->q);
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
	outq_free(o->q);
	free(o->rbuf);
	free(o->sbuf);
	free(o);
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
 * Put the prefix of NAME's stream WHICH, coloured with palette entry COLOUR
 * if that stream is, into the SIZE bytes at BUF (none when SIZE is 0, to
 * measure it); return its length.
 */
static size_t
prefix_format(const struct output *o, const char *name, int which,
	      size_t colour, char *buf, size_t size)
{
	bool coloured = which == 1 ? o->o.colour_out : o->o.colour_err;

	return lines_prefix(buf, size, name, o->o.width, coloured, colour);
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
	if (!j->block) {
		lines_init(&s->lines, o->q, which, prefix);
	}
	ev_io_init(&s->io, stream_read_cb, rfd, EV_READ);
	s->next = o->streams;
	if (o->streams) {
		o->streams->prev = s;
	}
	o->streams = s;
	if (!outq_paused(o->q)) {
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
	if (s->pipe == STREAM_PIPE_GROWN) {
		o->grown--;
	}
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

/* Queue J's block, WHOLE or as a piece (see block.h). */
static void
grouped_queue(struct output_job *j, bool whole)
{
	struct output *o = j->out;

	if (!block_empty(j->block)) {
		overlay_before(o, 0);
	}
	block_queue(j->block, o->q, whole, o->o.github ? j->name : NULL);
}

/*
 * The elapsed time of the run now, "[12.345s] ", into BUF (room for
 * OUTPUT_STAMP_MAX bytes); its length. The loop's time, taken once per
 * iteration, is the time the bytes were read to the millisecond.
 */
static size_t
stamp_format(const struct output *o, char *buf)
{
	double t = ev_now(o->o.loop) - o->o.started_at;
	int n = snprintf(buf, OUTPUT_STAMP_MAX, "[%.3fs] ", t > 0 ? t : 0.);

	if (n < 0 || n >= OUTPUT_STAMP_MAX) {
		BUG("timestamp of %f s too long", t);
	}
	return (size_t)n;
}

/* With timestamps, give S's lines the prefix "[T] name | " of now. */
static void
stream_stamp(struct output_stream *s)
{
	size_t n, plen;

	if (!s->stamped) {
		return;
	}
	n = stamp_format(s->job->out, s->stamped);
	plen = strlen(s->prefix);
	memcpy(s->stamped + n, s->prefix, plen + 1);
	s->lines.prefix = s->stamped;
	s->lines.prefix_len = (int)(n + plen);
}

/*
 * The *LEN bytes at P with "[T] " at the start of each line (grouped,
 * with timestamps); *LEN gets the new length. Borrowed from the output
 * until the next call.
 */
static const char *
grouped_stamp(struct output_stream *s, const char *p, size_t *len)
{
	struct output *o = s->job->out;
	char stamp[OUTPUT_STAMP_MAX];
	size_t slen = stamp_format(o, stamp), out = 0;
	const char *end = p + *len;

	/* At worst every byte is a newline that starts a line. */
	if (o->sbuf_cap < *len * (slen + 1) + slen) {
		o->sbuf_cap = *len * (slen + 1) + slen;
		o->sbuf = xrealloc(o->sbuf, o->sbuf_cap);
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		if (!s->mid_line) {
			memcpy(o->sbuf + out, stamp, slen);
			out += slen;
		}
		memcpy(o->sbuf + out, p, n);
		out += n;
		p += n;
		s->mid_line = !nl;
	}
	*len = out;
	return o->sbuf;
}

/*
 * Hold LEN bytes at P in S's part of the job's block. When a spill file
 * cannot be made or written (E says why), tell the caller, once, write
 * the block so far as a piece, and hold the rest in memory again: the
 * bytes still arrive whole and in order, not as one block.
 */
static void
grouped_take(struct output_stream *s, const char *p, size_t len)
{
	struct output_job *j = s->job;
	struct err e;
	size_t n;

	if (outq_closed(j->out->q, s->which)) {
		return;
	}
	if (j->out->o.timestamps) {
		p = grouped_stamp(s, p, &len);
	}
	n = block_add(j->block, s->which, p, len, &e);
	if (n < len) {
		output_tell(j->out, OUTPUT_EV_PIECES, 1, &e);
		grouped_queue(j, false);
		outq_run(j->out->q);
		block_hold(j->block, s->which, p + n, len - n);
	}
}

/*
 * The LEN bytes at P (with LINES_SLACK after them) to S's lines, in
 * pieces of at most LINES_MAX bytes (lines.h).
 */
static void
stream_lines(struct output_stream *s, const char *p, size_t len)
{
	for (size_t off = 0; off < len; off += LINES_MAX) {
		lines_take(&s->lines, p + off,
			   len - off < LINES_MAX ? len - off : LINES_MAX);
	}
}

/*
 * A read of S's pipe took half a default pipe or more (a full one may
 * hold a little less than READ_SIZE, as the kernel fills it by pages):
 * its job writes faster than we read. A pipe four
 * times the default size lets it write on while we pass on what it
 * wrote, and lets us read that in one read(2): the job and ctxrun wait
 * for each other, and switch, a quarter as often. At most GROWN_MAX at a
 * time: under backpressure a pipe holds what it can take, in kernel
 * memory, and pipes count against the user's limit
 * (pipe-user-pages-soft in proc(5)).
 */
static void
stream_grow(struct output_stream *s)
{
	struct output *o = s->job->out;

	if (s->pipe != STREAM_PIPE_DEFAULT || o->grown >= GROWN_MAX) {
		return;
	}
	if (fcntl(s->io.fd, F_SETPIPE_SZ, GROWN_SIZE) < 0) {
		s->pipe = STREAM_PIPE_KEPT;
		return;
	}
	s->pipe = STREAM_PIPE_GROWN;
	o->grown++;
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

		if (!all && outq_paused(o->q)) {
			return false;
		}
		/*
		 * A grown pipe's worth per read(2) while the queue is empty
		 * (its fd keeps up), else a default pipe's: under
		 * backpressure a read, prefixed, stays as short as it was.
		 * The buffer is made once any job prints at all, and its
		 * pages beyond what reads fill are never touched.
		 */
		if (!o->rbuf) {
			o->rbuf = xcalloc(1, GROWN_SIZE + LINES_SLACK);
		}
		n = read(s->io.fd, o->rbuf,
			 outq_queued(o->q) ? READ_SIZE : GROWN_SIZE);
		if (n > 0) {
			if ((size_t)n >= READ_SIZE / 2) {
				stream_grow(s);
			}
			for (size_t i = 0; i < o->n_taps; i++) {
				o->taps[i].fn(o->taps[i].data, s->job->index,
					      s->job->name, s->which, o->rbuf,
					      (size_t)n);
			}
			if (s->job->log >= 0) {
				log_write(s->job, o->rbuf, (size_t)n);
			}
			if (s->job->watch) {
				s->job->watch(s->job->watch_data, s->job->index,
					      s->job->name, s->which, o->rbuf,
					      (size_t)n);
			}
			if (s->job->block) {
				grouped_take(s, o->rbuf, (size_t)n);
			} else {
				overlay_before(o, s->which);
				stream_stamp(s);
				stream_lines(s, o->rbuf, (size_t)n);
			}
			/* One write for many small reads, a read's worth. */
			if (outq_queued(o->q) >= READ_SIZE) {
				outq_run(o->q);
			}
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		outq_run(o->q);
		return !(n < 0 && errno == EAGAIN);
	}
}

/*
 * Write the LEN bytes at P to J's log file. A regular file takes them
 * whole (logdir.h refuses anything else), so this never waits for a
 * reader; a failed write closes the file and is told once.
 *
 * NEEDSWORK: a regular file's write(2) is a copy to the page cache, but
 * a disk the kernel throttles (dirty pages over their limit, a hung NFS
 * server) can still hold it; only a writer thread or io_uring would keep
 * the loop free of that (ctxrun(1), DECISIONS).
 */
static void
log_write(struct output_job *j, const char *p, size_t len)
{
	struct err e;

	while (len) {
		ssize_t n = write(j->log, p, len);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			char *path = logdir_path(j->out->o.logdir, j->name,
						 j->attempt);

			err_errno(&e, n < 0 ? errno : ENOSPC,
				  "cannot write log file '%s'", path);
			free(path);
			close(j->log);
			j->log = -1;
			if (j->out->o.on_event) {
				j->out->o.on_event(j->out, &(struct output_event){
					.kind = OUTPUT_EV_LOG,
					.err = &e,
					.name = j->name,
				}, j->out->o.data);
			}
			return;
		}
		p += n;
		len -= (size_t)n;
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

/* Bytes bound for WHICH are lost: nobody reads (E NULL), or E says why. */
static void
output_lost_cb(void *data, int which, const struct err *e)
{
	output_tell(data, e ? OUTPUT_EV_LOST : OUTPUT_EV_CLOSED, which, e);
}

/* The queue is too long (PAUSE) or short again: stop or start reading. */
static void
output_pressure_cb(void *data, bool pause)
{
	struct output *o = data;

	for (struct output_stream *s = o->streams; s; s = s->next) {
		if (pause) {
			ev_io_stop(o->o.loop, &s->io);
		} else {
			ev_io_start(o->o.loop, &s->io);
		}
	}
}
