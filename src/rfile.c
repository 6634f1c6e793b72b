/* SPDX-License-Identifier: MIT */
#include "ctxrun/rfile.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/util.h"

/*
 * Unlike ctxrun's stdout and stderr (output.c), the file is ours alone, so
 * its description is simply opened O_NONBLOCK. Nothing here can slow a job
 * down the way a full output queue does (output.c stops reading the job
 * pipes): events come from the run's own lifecycle, so the queue is
 * bounded by dropping instead, from the first piece that does not fit on,
 * and a reader never sees a hole in the middle of the log. That is why
 * output.c's queue is not shared: its chunks interleave two fds in one
 * order, carry spill files and pause the job pipes when full, while a
 * report is one byte string for one fd.
 *
 * A FIFO opened O_WRONLY|O_NONBLOCK with no reader fails with ENXIO, and a
 * blocking open would wait for a reader forever. Opened O_RDWR (defined by
 * Linux for a FIFO, see fifo(7)), ctxrun is a reader itself: the open
 * never waits, the pipe buffer fills, and a reader that comes later reads
 * everything from the start.
 */

struct rfile {
	struct ev_loop *loop;
	int fd;
	char *path;
	const char *what;
	char *buf; /* the queue: buf[off, len) */
	size_t off, len, cap;
	size_t unwritten;  /* bytes dropped: bound, drain window */
	int saved_errno;   /* the first write error, 0 when none */
	bool dropping;     /* a piece was dropped: so is every later one */
	ev_io io;          /* EV_WRITE, while the queue holds something */
	ev_timer drain;    /* the drain window of rfile_finish() */
};

static void rfile_writable_cb(struct ev_loop *loop, ev_io *w, int revents);
static void rfile_drain_cb(struct ev_loop *loop, ev_timer *w, int revents);

/*
 * Wait for room in the file. The watcher does not keep the loop alive: a
 * run ends when its jobs do, and only the drain window of rfile_finish()
 * holds the loop for the reader, for a bounded time.
 */
static void
watch_start(struct rfile *f)
{
	if (!ev_is_active(&f->io)) {
		ev_io_start(f->loop, &f->io);
		ev_unref(f->loop);
	}
}

/* Stop waiting for room (libev: ref again before stopping). */
static void
watch_stop(struct rfile *f)
{
	if (ev_is_active(&f->io)) {
		ev_ref(f->loop);
		ev_io_stop(f->loop, &f->io);
	}
}

/*
 * Is the directory PATH is in sticky and world-writable, where another
 * user may have planted the name (what fs.protected_symlinks guards)?
 */
static bool
in_sticky_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	struct stat st;
	bool sticky;

	if (!slash) {
		dir = xstrdup(".");
	} else {
		dir = xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
	}
	sticky = stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
		 (st.st_mode & S_ISVTX) && (st.st_mode & S_IWOTH);
	free(dir);
	return sticky;
}

/* Open PATH with FLAGS, a FIFO without a reader O_RDWR; -1 with errno. */
static int
open_nonblocking(const char *path, int flags)
{
	struct stat st;
	int fd = open(path, flags | O_WRONLY | O_CREAT | O_TRUNC, 0666);

	if (fd >= 0 || errno != ENXIO) {
		return fd;
	}
	/* Not created nor truncated: a FIFO (or a device) is already there. */
	fd = open(path, flags | O_RDWR);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))) {
		close(fd);
		errno = ENXIO;
		return -1;
	}
	return fd;
}

/* Open PATH. */
struct rfile *
rfile_open(struct ev_loop *loop, const char *path, const char *what,
	   struct err *e)
{
	int flags = O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	struct rfile *f;
	struct stat st;
	int fd;

	if (in_sticky_dir(path)) {
		flags |= O_NOFOLLOW;
	}
	fd = open_nonblocking(path, flags);
	if (fd < 0) {
		int errnum = errno;

		if (errnum == ELOOP && (flags & O_NOFOLLOW) &&
		    lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
			err_set(e, 0, "cannot open %s '%s': a symbolic link in "
				"a sticky world-writable directory is not "
				"followed", what, path);
		} else {
			err_errno(e, errnum, "cannot open %s '%s'", what, path);
		}
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->loop = loop;
	f->fd = fd;
	f->path = xstrdup(path);
	f->what = what;
	ev_io_init(&f->io, rfile_writable_cb, fd, EV_WRITE);
	ev_init(&f->drain, rfile_drain_cb);
	return f;
}

/* Forget what is queued, counting it as not written. */
static void
rfile_queue_drop(struct rfile *f)
{
	f->unwritten += f->len - f->off;
	f->off = f->len = 0;
	watch_stop(f);
	ev_timer_stop(f->loop, &f->drain);
}

/*
 * Write as much of the LEN bytes at P as the file takes now; how many.
 * A write error is kept, and drops the queue.
 */
static size_t
rfile_put(struct rfile *f, const char *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(f->fd, p + done, len - done);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		}
		f->saved_errno = n < 0 ? errno : EIO;
		rfile_queue_drop(f);
		break;
	}
	return done;
}

/* Append the LEN bytes at P to the queue and wait for room. */
static void
queue_add(struct rfile *f, const char *p, size_t len)
{
	if (f->off && f->cap - f->len < len) {
		memmove(f->buf, f->buf + f->off, f->len - f->off);
		f->len -= f->off;
		f->off = 0;
	}
	if (f->cap - f->len < len) {
		f->cap = f->len + len > 2 * f->cap ? f->len + len : 2 * f->cap;
		f->buf = xrealloc(f->buf, f->cap);
	}
	memcpy(f->buf + f->len, p, len);
	f->len += len;
	watch_start(f);
}

/* Write, or queue, a piece. */
void
rfile_write(struct rfile *f, const char *p, size_t len)
{
	size_t queued = f->len - f->off;

	if (f->saved_errno || f->dropping) {
		f->unwritten += len;
		return;
	}
	if (!queued) {
		size_t n = rfile_put(f, p, len);

		p += n;
		len -= n;
		if (f->saved_errno) {
			f->unwritten += len;
			return;
		}
	} else if (queued + len > RFILE_MAX_PENDING) {
		f->dropping = true;
		f->unwritten += len;
		return;
	}
	/* Queued after a part that went: the piece is never cut. */
	if (len) {
		queue_add(f, p, len);
	}
}

/* Nothing more will be written. */
void
rfile_finish(struct rfile *f, int64_t drain_ms)
{
	if (!f || f->len == f->off) {
		return;
	}
	if (drain_ms <= 0) {
		rfile_queue_drop(f);
		return;
	}
	ev_timer_stop(f->loop, &f->drain);
	ev_timer_set(&f->drain, (ev_tstamp)drain_ms / 1000., 0.);
	ev_timer_start(f->loop, &f->drain);
}

/* Close F. */
int
rfile_close(struct rfile *f, struct err *e)
{
	int rc = 0;

	if (!f) {
		return 0;
	}
	rfile_queue_drop(f);
	if (close(f->fd) < 0 && errno != EINTR && !f->saved_errno) {
		f->saved_errno = errno;
	}
	if (f->saved_errno) {
		rc = err_errno(e, f->saved_errno, "cannot write %s '%s'",
			       f->what, f->path);
	} else if (f->unwritten) {
		rc = err_set(e, 0, "%s '%s': %zu bytes not written: reader too "
			     "slow", f->what, f->path, f->unwritten);
	}
	free(f->buf);
	free(f->path);
	free(f);
	return rc;
}

/* The reader made room: write out what the queue holds. */
static void
rfile_writable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rfile *f = container_of(w, struct rfile, io);
	size_t n;

	(void)loop;
	(void)revents;
	n = rfile_put(f, f->buf + f->off, f->len - f->off);
	if (f->saved_errno) {
		return; /* rfile_put() dropped the queue */
	}
	f->off += n;
	if (f->off == f->len) {
		f->off = f->len = 0;
		watch_stop(f);
		ev_timer_stop(f->loop, &f->drain);
	}
}

/* The drain window passed: drop what the reader did not take. */
static void
rfile_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rfile *f = container_of(w, struct rfile, drain);

	(void)loop;
	(void)revents;
	rfile_queue_drop(f);
}
