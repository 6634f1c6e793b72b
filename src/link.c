/* SPDX-License-Identifier: MIT */
#include "ctxrun/link.h"

#include <sys/syscall.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <ev.h>

#include "ctxrun/util.h"

/*
 * Why both: stdin is the channel, and its end-of-file is how the local
 * ctxrun says "stop" (it closes its end) and how a dropped connection
 * shows once sshd notices. The parent's death covers an sshd killed
 * outright, whose session pipes may linger in a grandchild's hands. A
 * pidfd names the parent itself, never a process that took its pid.
 */

/* Where the link is: watching, or done (lost, or stopped). */
enum link_state {
	LINK_WATCHING,
	LINK_DONE,
};

struct link {
	struct link_opts opts;
	struct ev_loop *loop;
	enum link_state state;
	ev_io in;
	ev_io parent;
	ev_idle orphan; /* the parent was gone before we looked */
	int pidfd;      /* -1: none (no pidfd_open, or no parent) */
};

static void link_in_cb(struct ev_loop *loop, ev_io *w, int revents);
static void link_parent_cb(struct ev_loop *loop, ev_io *w, int revents);
static void link_orphan_cb(struct ev_loop *loop, ev_idle *w, int revents);

/* A pidfd for the parent, or -1; *GONE when there is none any more. */
static int
parent_pidfd(bool *gone)
{
	pid_t ppid = getppid();
	int fd;

	*gone = ppid == 1;
	if (*gone) {
		return -1;
	}
	fd = (int)syscall(SYS_pidfd_open, ppid, 0);
	/* It may have died before the open: then getppid() changed. */
	if (getppid() != ppid) {
		*gone = true;
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	/* pidfd_open() makes it close-on-exec: the jobs never see it. */
	return fd;
}

/* Watch stdin and the parent. */
struct link *
link_start(struct ev_loop *loop, const struct link_opts *opts)
{
	struct link *l = xcalloc(1, sizeof(*l));
	bool gone;

	l->opts = *opts;
	l->loop = loop;
	l->state = LINK_WATCHING;
	l->pidfd = parent_pidfd(&gone);
	ev_io_init(&l->in, link_in_cb, STDIN_FILENO, EV_READ);
	ev_io_start(loop, &l->in);
	if (l->pidfd >= 0) {
		ev_io_init(&l->parent, link_parent_cb, l->pidfd, EV_READ);
		ev_io_start(loop, &l->parent);
	}
	ev_idle_init(&l->orphan, link_orphan_cb);
	if (gone) {
		ev_idle_start(loop, &l->orphan);
	}
	return l;
}

/* Stop watching. */
void
link_stop(struct link *l)
{
	if (!l || l->state == LINK_DONE) {
		return;
	}
	l->state = LINK_DONE;
	ev_io_stop(l->loop, &l->in);
	ev_io_stop(l->loop, &l->parent);
	ev_idle_stop(l->loop, &l->orphan);
	if (l->pidfd >= 0) {
		close(l->pidfd);
		l->pidfd = -1;
	}
}

/* Stop L and release it. */
void
link_free(struct link *l)
{
	link_stop(l);
	free(l);
}

/* The supervisor is gone: say so once. */
static void
link_lost(struct link *l)
{
	link_stop(l);
	l->opts.on_lost(l, l->opts.data);
}

/*
 * Stdin is readable: drop what came, and end at end-of-file or an error.
 * One read per wake-up, so stdin needs no O_NONBLOCK (its file
 * description is shared with whoever gave it to us).
 */
static void
link_in_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct link *l = container_of(w, struct link, in);
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	(void)loop;
	(void)revents;
	if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
		return;
	}
	if (n <= 0) {
		link_lost(l);
	}
}

/* The parent died. */
static void
link_parent_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	link_lost(container_of(w, struct link, parent));
}

/* The parent was gone at the start. */
static void
link_orphan_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)loop;
	(void)revents;
	link_lost(container_of(w, struct link, orphan));
}
