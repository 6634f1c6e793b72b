/* SPDX-License-Identifier: MIT */
#include "ctxrun/output.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/util.h"

/*
 * Each read gathers whole lines into one buffer with their prefixes and
 * writes it with one write(2): a syscall per chunk, not per line, and a
 * line is never torn, since only whole lines (or OUTPUT_MAX_LINE pieces)
 * leave a stream's buffer.
 */

struct output {
	struct ev_loop *loop;
	int width;
	bool closed; /* ctxrun's stdout or stderr is gone */
	output_closed_fn *on_closed;
	void *data;
	size_t streams;
	char *scratch; /* prefixed lines on their way out */
	size_t scratch_cap;
	output_tap_fn *tap; /* sees output as read, e.g. for --junit */
	void *tap_data;
};

struct output_stream {
	struct output *out;
	ev_io io;
	char *name;
	char *prefix; /* "name | ", padded: built once, copied per line */
	size_t prefix_len;
	int target; /* 1 or 2 */
	char *buf;  /* a partial line, at most OUTPUT_MAX_LINE bytes */
	size_t len, cap;
};

static void stream_read_cb(struct ev_loop *loop, ev_io *w, int revents);

/* Create the writer. */
struct output *
output_new(struct ev_loop *loop, int width, output_closed_fn *on_closed,
	   void *data)
{
	struct output *o = xcalloc(1, sizeof(*o));

	o->loop = loop;
	o->width = width;
	o->on_closed = on_closed;
	o->data = data;
	return o;
}

/* Give every piece of output to FN too. */
void
output_set_tap(struct output *o, output_tap_fn *fn, void *data)
{
	o->tap = fn;
	o->tap_data = data;
}

/* Open a stream for a job's fd WHICH. */
struct output_stream *
output_open(struct output *o, const char *name, int which, int *child_fd,
	    struct err *e)
{
	struct output_stream *s;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0) {
		return err_errno(e, errno, "cannot create a pipe for '%s'", name),
		       NULL;
	}
	/* Only our end is non-blocking; the job sees an ordinary pipe. */
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	s = xcalloc(1, sizeof(*s));
	s->out = o;
	s->name = xstrdup(name);
	s->prefix = xasprintf("%-*s | ", o->width, name);
	s->prefix_len = strlen(s->prefix);
	s->target = which;
	ev_io_init(&s->io, stream_read_cb, fds[0], EV_READ);
	ev_io_start(o->loop, &s->io);
	o->streams++;
	*child_fd = fds[1];
	return s;
}

/* Write all LEN bytes at P to FD, waiting when it is full; false on EPIPE. */
static bool
write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, -1);
		} else if (n < 0 && errno != EINTR) {
			return false;
		}
	}
	return true;
}

/* Make room for NEED more bytes in O's scratch buffer. */
static char *
scratch_reserve(struct output *o, size_t used, size_t need)
{
	if (used + need > o->scratch_cap) {
		o->scratch_cap = (used + need) * 2;
		o->scratch = xrealloc(o->scratch, o->scratch_cap);
	}
	return o->scratch + used;
}

/* Append "name | " and the LEN bytes of a line at P, plus newline. */
static size_t
emit_line(struct output_stream *s, size_t used, const char *p, size_t len)
{
	size_t plen = s->prefix_len;
	char *dst = scratch_reserve(s->out, used, plen + len + 1);

	memcpy(dst, s->prefix, plen);
	memcpy(dst + plen, p, len);
	dst[plen + len] = '\n';
	return used + plen + len + 1;
}

/* Write the lines gathered in O's scratch buffer to S's target. */
static void
flush_scratch(struct output_stream *s, size_t used)
{
	struct output *o = s->out;

	if (!used || o->closed) {
		return;
	}
	if (!write_all(s->target, o->scratch, used)) {
		o->closed = true;
		if (o->on_closed) {
			o->on_closed(o, o->data);
		}
	}
}

/*
 * Move every whole line of S's buffer out; with FINAL, a partial last line
 * too. Lines longer than OUTPUT_MAX_LINE go out in pieces of that size.
 */
static void
drain_lines(struct output_stream *s, bool final)
{
	size_t start = 0, used = 0;

	for (;;) {
		size_t avail = s->len - start, take, skip;
		char *nl = memchr(s->buf + start, '\n', avail);

		if (nl) {
			take = (size_t)(nl - (s->buf + start));
			skip = take + 1;
		} else if (avail >= OUTPUT_MAX_LINE || (final && avail)) {
			take = skip = avail;
		} else {
			break;
		}
		if (take > OUTPUT_MAX_LINE) {
			take = skip = OUTPUT_MAX_LINE;
		}
		used = emit_line(s, used, s->buf + start, take);
		start += skip;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
	flush_scratch(s, used);
}

/* Read what the pipe has now into S's buffer; true at EOF or error. */
static bool
read_available(struct output_stream *s)
{
	for (;;) {
		ssize_t n;

		if (s->cap - s->len < 4096) {
			s->cap = s->cap ? s->cap * 2 : 16384;
			s->buf = xrealloc(s->buf, s->cap);
		}
		n = read(s->io.fd, s->buf + s->len, s->cap - s->len);
		if (n > 0) {
			if (s->out->tap) {
				s->out->tap(s->out->tap_data, s->name, s->target,
					    s->buf + s->len, (size_t)n);
			}
			s->len += (size_t)n;
			drain_lines(s, false);
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		return !(n < 0 && errno == EAGAIN);
	}
}

/* Stop reading S and close its pipe. */
static void
stream_stop(struct output_stream *s)
{
	if (s->io.fd >= 0) {
		ev_io_stop(s->out->loop, &s->io);
		close(s->io.fd);
		s->io.fd = -1;
	}
}

/* Write out the whole lines the pipe holds now. */
void
output_stream_flush(struct output_stream *s)
{
	if (s && s->io.fd >= 0 && read_available(s)) {
		stream_stop(s);
	}
}

/* Deliver what is left and release S. */
void
output_stream_close(struct output_stream *s)
{
	if (!s) {
		return;
	}
	if (s->io.fd >= 0) {
		read_available(s);
	}
	drain_lines(s, true);
	stream_stop(s);
	s->out->streams--;
	free(s->buf);
	free(s->prefix);
	free(s->name);
	free(s);
}

/* Release O. */
void
output_free(struct output *o)
{
	if (!o) {
		return;
	}
	if (o->streams) {
		BUG("output_free with %zu streams open", o->streams);
	}
	free(o->scratch);
	free(o);
}

/* A job wrote to its pipe, or closed it. */
static void
stream_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct output_stream *s = container_of(w, struct output_stream, io);

	(void)loop;
	(void)revents;
	if (read_available(s)) {
		stream_stop(s);
	}
}
