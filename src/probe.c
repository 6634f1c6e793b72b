/* SPDX-License-Identifier: MIT */
#include "ctxrun/probe.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ctxrun/duration.h"
#include "ctxrun/job.h"
#include "ctxrun/ptree.h"
#include "ctxrun/util.h"

/*
 * Every wait is a watcher: the connect and the answer are ev_io, the
 * pauses and limits ev_timer, an exec: attempt a job whose JOB_EV_DONE
 * ends it. Nothing here blocks, so the run's deadline and Ctrl-C always
 * win. A log: match or a READY=1 is told through a zero timer, from the
 * loop: the output's read loop, which feeds the probe, must not see the
 * owner start jobs under it.
 */

/* The longest line a log: probe matches; the rest of a longer one is not. */
#define PROBE_LINE_MAX 4096

/* An HTTP status line fits in this; the rest of the answer is not kept. */
#define PROBE_HTTP_HEAD 256

/*
 * The answer is read to its end, up to this much, before the socket is
 * closed: closed with bytes unread, it would reset the connection and
 * the server would log a broken pipe for every probe.
 */
#define PROBE_HTTP_DRAIN (64 * 1024)

enum probe_state {
	PROBE_WAITING,   /* between attempts, or listening (told kinds) */
	PROBE_TRYING,    /* an attempt runs */
	PROBE_GIVING_UP, /* time is over; an exec: attempt is being killed */
	PROBE_STOPPING,  /* probe_stop(); an exec: attempt is being killed */
	PROBE_OVER,      /* its last event is told, or probe_stop() is done */
};

struct probe_line {
	char buf[PROBE_LINE_MAX];
	size_t len;
	bool cut; /* past PROBE_LINE_MAX: skip to the newline */
};

struct probe {
	struct probe_opts o;
	struct ev_loop *loop;
	enum probe_state state;
	ev_timer next;     /* the next attempt; a told event (zero) */
	ev_timer attempt;  /* the attempt's own limit */
	ev_timer deadline; /* give up */
	ev_io io;          /* tcp:, http:// socket; notify socket */
	struct job *job;   /* exec: the running attempt */
	int null_fd;       /* exec: /dev/null */
	enum probe_event_kind told; /* what the zero timer tells */
	char last[256];    /* the last attempt's error */
	bool answered;     /* an attempt has ended: `last` is its error */
	char head[PROBE_HTTP_HEAD]; /* http://: the answer so far */
	size_t head_len, sent;
	size_t drained;    /* http://: bytes of the answer read */
	char *request;     /* http:// */
	regex_t rx;        /* log: */
	struct probe_line *lines; /* log: stdout's and stderr's */
	char *env;         /* notify: NOTIFY_SOCKET=@... */
};

static void probe_next_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void probe_attempt_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void probe_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void probe_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void probe_notify_cb(struct ev_loop *loop, ev_io *w, int revents);
static void probe_job_cb(struct job *j, const struct job_event *ev,
			 void *data);
static int notify_bind(struct probe *pr, struct err *e);

/* Create a probe. */
struct probe *
probe_new(const struct probe_opts *opts, struct err *e)
{
	struct probe *pr = xcalloc(1, sizeof(*pr));

	pr->o = *opts;
	pr->loop = ctx_loop(opts->parent);
	pr->null_fd = -1;
	ev_init(&pr->next, probe_next_cb);
	ev_init(&pr->attempt, probe_attempt_cb);
	ev_init(&pr->deadline, probe_deadline_cb);
	ev_init(&pr->io, probe_io_cb);
	pr->io.fd = -1;
	snprintf(pr->last, sizeof(pr->last), "%s",
		 opts->def->kind == PROBE_LOG	   ? "no line matched"
		 : opts->def->kind == PROBE_NOTIFY ? "no READY=1 received"
						   : "no answer");
	switch (opts->def->kind) {
	case PROBE_EXEC:
		pr->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (pr->null_fd < 0) {
			err_errno(e, errno, "cannot open /dev/null");
			probe_free(pr);
			return NULL;
		}
		break;
	case PROBE_HTTP:
		pr->request = xasprintf("GET %s HTTP/1.0\r\nHost: %s\r\n"
					"User-Agent: ctxrun\r\n"
					"Connection: close\r\n\r\n",
					opts->def->arg, opts->def->host);
		break;
	case PROBE_LOG:
		/* Checked by the config: it compiles. */
		if (regcomp(&pr->rx, opts->def->arg, REG_EXTENDED | REG_NOSUB)) {
			BUG("log: regex '%s' does not compile", opts->def->arg);
		}
		pr->lines = xcalloc(2, sizeof(*pr->lines));
		break;
	case PROBE_NOTIFY:
		if (notify_bind(pr, e) < 0) {
			probe_free(pr);
			return NULL;
		}
		break;
	default:
		break;
	}
	return pr;
}

/* NOTIFY_SOCKET for the service, or NULL. */
const char *
probe_env(const struct probe *pr)
{
	return pr->env;
}

/* Start asking or listening. */
void
probe_start(struct probe *pr)
{
	ev_timer_set(&pr->deadline, (ev_tstamp)pr->o.timeout_ms / 1000., 0.);
	ev_timer_start(pr->loop, &pr->deadline);
	if (probedef_polled(pr->o.def)) {
		ev_timer_set(&pr->next, 0., 0.);
		ev_timer_start(pr->loop, &pr->next);
	} else if (pr->o.def->kind == PROBE_NOTIFY) {
		ev_io_start(pr->loop, &pr->io);
	}
}

/*
 * Tell KIND from the loop, as the last event of a told probe. A notify
 * socket stays open until probe_stop(): systemd-notify(1) waits on it
 * after READY=1 (its barrier), and STATUS= lines keep coming.
 */
static void
tell_later(struct probe *pr, enum probe_event_kind kind)
{
	pr->state = PROBE_OVER;
	pr->told = kind;
	ev_timer_stop(pr->loop, &pr->deadline);
	ev_timer_set(&pr->next, 0., 0.);
	ev_timer_start(pr->loop, &pr->next);
}

/* Match one whole line of a log: probe. */
static void
match_line(struct probe *pr, const char *line, size_t len)
{
	char *copy = xstrndup(line, len);
	bool hit = regexec(&pr->rx, copy, 0, NULL, 0) == 0;

	free(copy);
	if (hit) {
		tell_later(pr, PROBE_EV_READY);
	}
}

/* Feed the service's output to a log: probe. */
void
probe_feed(struct probe *pr, int which, const char *buf, size_t len)
{
	struct probe_line *l;

	if (pr->o.def->kind != PROBE_LOG || pr->state != PROBE_WAITING) {
		return;
	}
	l = &pr->lines[which == 2];
	while (len && pr->state == PROBE_WAITING) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;
		size_t room = sizeof(l->buf) - l->len;
		size_t take = n < room ? n : room;

		if (!l->cut) {
			memcpy(l->buf + l->len, buf, take);
			l->len += take;
			l->cut = take < n;
		}
		if (nl) {
			if (l->len && l->buf[l->len - 1] == '\r') {
				l->len--;
			}
			match_line(pr, l->buf, l->len);
			l->len = 0;
			l->cut = false;
			n++;
		}
		buf += n;
		len -= n;
	}
}

/* Close the attempt's socket and stop its watchers. */
static void
attempt_end(struct probe *pr)
{
	ev_timer_stop(pr->loop, &pr->attempt);
	if (pr->io.fd >= 0 && pr->o.def->kind != PROBE_NOTIFY) {
		ev_io_stop(pr->loop, &pr->io);
		close(pr->io.fd);
		pr->io.fd = -1;
	}
}

/* The probe is over with KIND: say it, last. The owner may free PR. */
static void
finish(struct probe *pr, enum probe_event_kind kind)
{
	char d[64], text[512];
	const char *say = NULL;

	attempt_end(pr);
	ev_timer_stop(pr->loop, &pr->deadline);
	ev_timer_stop(pr->loop, &pr->next);
	ev_io_stop(pr->loop, &pr->io);
	pr->state = PROBE_OVER;
	if (kind == PROBE_EV_GAVE_UP) {
		snprintf(text, sizeof(text), "not ready after %s: %s: %s",
			 duration_format(pr->o.timeout_ms, d, sizeof(d)),
			 pr->o.def->text, pr->last);
		say = text;
	}
	pr->o.on_event(pr, kind, say, pr->o.data);
}

/* An attempt failed with WHY: tell it, then wait for the next. */
static void
attempt_failed(struct probe *pr, const char *why)
{
	char text[512];
	int64_t pause = pr->o.interval_ms;

	attempt_end(pr);
	snprintf(pr->last, sizeof(pr->last), "%s", why);
	pr->answered = true;
	pr->state = PROBE_WAITING;
	ev_timer_set(&pr->next, (ev_tstamp)pause / 1000., 0.);
	ev_timer_start(pr->loop, &pr->next);
	snprintf(text, sizeof(text), "%s: %s", pr->o.def->text, why);
	pr->o.on_event(pr, PROBE_EV_FAILED, text, pr->o.data);
}

/* strerror(ERRNUM) as a cause reads: "connection refused". */
static void
attempt_failed_errno(struct probe *pr, int errnum)
{
	char why[128];

	snprintf(why, sizeof(why), "%s", strerror(errnum));
	if (why[0] >= 'A' && why[0] <= 'Z' && !(why[1] >= 'A' && why[1] <= 'Z')) {
		why[0] = (char)(why[0] - 'A' + 'a');
	}
	attempt_failed(pr, why);
}

/* Start an exec: attempt: the command through the service's shell. */
static void
exec_attempt(struct probe *pr, int64_t limit_ms)
{
	char *argv[] = { (char *)pr->o.shell, "-c", pr->o.def->arg, NULL };
	char name[300];
	struct err e;

	snprintf(name, sizeof(name), "%s (probe)", pr->o.name);
	pr->job = job_new(&(struct job_opts){
		.name = name,
		.argv = argv,
		.env_add = pr->o.env_add,
		.cwd = pr->o.cwd,
		.timeout_ms = limit_ms,
		.grace_ms = 0, /* disposable: SIGKILL at once */
		.stop_signal = SIGKILL,
		.tty_fd = -1,
		.stdin_fd = pr->null_fd,
		.stdout_fd = pr->null_fd,
		.stderr_fd = pr->null_fd,
		.cgroup = pr->o.cgroup,
		.on_event = probe_job_cb,
		.data = pr,
	});
	if (job_start(pr->job, pr->o.parent, pr->o.reaper, &e) < 0) {
		job_free(pr->job);
		pr->job = NULL;
		attempt_failed(pr, e.msg);
	}
}

/* Start a tcp: or http:// attempt: a non-blocking connect. */
static void
socket_attempt(struct probe *pr)
{
	const struct probedef *d = pr->o.def;
	int fd = socket(d->addr.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		attempt_failed_errno(pr, errno);
		return;
	}
	pr->head_len = pr->sent = pr->drained = 0;
	ev_io_set(&pr->io, fd, EV_WRITE);
	if (connect(fd, (const struct sockaddr *)&d->addr, d->addr_len) < 0 &&
	    errno != EINPROGRESS) {
		int errnum = errno;

		close(fd);
		pr->io.fd = -1;
		attempt_failed_errno(pr, errnum);
		return;
	}
	/* Connected or not, the socket says so when writable. */
	ev_io_start(pr->loop, &pr->io);
}

/* Make the next attempt of a polled probe. */
static void
attempt_start(struct probe *pr)
{
	int64_t limit = pr->o.interval_ms > PROBE_ATTEMPT_MIN_MS
				? pr->o.interval_ms
				: PROBE_ATTEMPT_MIN_MS;

	pr->state = PROBE_TRYING;
	if (pr->o.def->kind == PROBE_EXEC) {
		/* The job's own timeout stops it: SIGKILL, reaped, done. */
		exec_attempt(pr, limit);
		return;
	}
	ev_timer_set(&pr->attempt, (ev_tstamp)limit / 1000., 0.);
	ev_timer_start(pr->loop, &pr->attempt);
	socket_attempt(pr);
}

/* Parse an HTTP answer's status line; -1 until it is whole. */
static int
http_status(const char *head, size_t len)
{
	const char *eol = memchr(head, '\n', len);
	int code;

	if (!eol) {
		return -1;
	}
	if (sscanf(head, "HTTP/%*d.%*d %3d", &code) != 1) {
		return 0;
	}
	return code;
}

/*
 * Read what the http:// attempt's socket has: its head kept, the rest
 * counted. -1 while more is to come; else 0 (the end, or enough).
 */
static int
http_take(struct probe *pr)
{
	char buf[4096];

	for (;;) {
		size_t room = sizeof(pr->head) - 1 - pr->head_len;
		ssize_t n = read(pr->io.fd, room ? pr->head + pr->head_len : buf,
				 room ? room : sizeof(buf));

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			return -1;
		}
		if (n <= 0) {
			return 0;
		}
		pr->head_len += room ? (size_t)n : 0;
		pr->drained += (size_t)n;
		if (pr->drained >= PROBE_HTTP_DRAIN) {
			return 0;
		}
	}
}

/* The http:// attempt's socket is readable: is the answer 2xx or 3xx? */
static void
http_read(struct probe *pr)
{
	int code;
	char why[64];

	if (http_take(pr) < 0) {
		return; /* more to come */
	}
	code = http_status(pr->head, pr->head_len);
	if (code >= 200 && code < 400) {
		finish(pr, PROBE_EV_READY);
		return;
	}
	if (code > 0) {
		snprintf(why, sizeof(why), "HTTP status %d", code);
	} else {
		snprintf(why, sizeof(why), "no HTTP status line");
	}
	attempt_failed(pr, why);
}

/* The http:// request goes out; the answer is awaited. */
static void
http_send(struct probe *pr)
{
	size_t len = strlen(pr->request);
	ssize_t n = send(pr->io.fd, pr->request + pr->sent, len - pr->sent,
			 MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	if (n < 0) {
		attempt_failed_errno(pr, errno);
		return;
	}
	pr->sent += (size_t)n;
	if (pr->sent == len) {
		ev_io_stop(pr->loop, &pr->io);
		ev_io_set(&pr->io, pr->io.fd, EV_READ);
		ev_io_start(pr->loop, &pr->io);
	}
}

/* The attempt's socket is writable (connected, or failed) or readable. */
static void
probe_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *pr = container_of(w, struct probe, io);
	int err = 0;
	socklen_t len = sizeof(err);

	(void)loop;
	if (revents & EV_READ) {
		http_read(pr);
		return;
	}
	if (pr->sent == 0 &&
	    (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)) {
		attempt_failed_errno(pr, err ? err : errno);
		return;
	}
	if (pr->o.def->kind == PROBE_TCP) {
		finish(pr, PROBE_EV_READY);
		return;
	}
	http_send(pr);
}

/* The exec: attempt's job ended: its exit status says. */
static void
probe_job_cb(struct job *j, const struct job_event *ev, void *data)
{
	struct probe *pr = data;
	enum probe_state was = pr->state;
	enum job_outcome outcome = job_outcome(j);
	char why[64];

	if (ev->kind != JOB_EV_DONE) {
		return;
	}
	if (outcome == JOB_TIMED_OUT) {
		snprintf(why, sizeof(why), "timed out");
	} else {
		snprintf(why, sizeof(why), "exit status %d", job_exit_code(j));
	}
	job_free(j);
	pr->job = NULL;
	if (was == PROBE_STOPPING) {
		pr->state = PROBE_OVER;
		pr->o.on_event(pr, PROBE_EV_STOPPED, NULL, pr->o.data);
	} else if (was == PROBE_GIVING_UP) {
		finish(pr, PROBE_EV_GAVE_UP);
	} else if (outcome == JOB_SUCCEEDED) {
		finish(pr, PROBE_EV_READY);
	} else {
		attempt_failed(pr, why);
	}
}

/* Time for the next attempt; or, for a told probe, to tell. */
static void
probe_next_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe *pr = container_of(w, struct probe, next);

	(void)loop;
	(void)revents;
	if (pr->state == PROBE_OVER) {
		pr->o.on_event(pr, pr->told, NULL, pr->o.data);
		return;
	}
	attempt_start(pr);
}

/* The attempt took too long. */
static void
probe_attempt_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe *pr = container_of(w, struct probe, attempt);

	(void)loop;
	(void)revents;
	attempt_failed(pr, "timed out");
}

/* Time is over: give up, once an exec: attempt is gone. */
static void
probe_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe *pr = container_of(w, struct probe, deadline);

	(void)loop;
	(void)revents;
	if (pr->state == PROBE_TRYING && !pr->answered) {
		/*
		 * The attempt under way, cut short, says only "timed out":
		 * an earlier one's error ("HTTP status 404") says more.
		 */
		snprintf(pr->last, sizeof(pr->last), "timed out");
	}
	if (pr->job) {
		pr->state = PROBE_GIVING_UP;
		ev_timer_stop(pr->loop, &pr->next);
		job_cancel(pr->job, CTX_CAUSE_STOPPED, "probe gave up");
		return;
	}
	finish(pr, PROBE_EV_GAVE_UP);
}

/* Handle one notify datagram: READY=1, STATUS=... */
static void
notify_message(struct probe *pr, char *msg)
{
	char *save = NULL;

	for (char *line = strtok_r(msg, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "READY=1") && pr->state == PROBE_WAITING) {
			tell_later(pr, PROBE_EV_READY);
		} else if (!strncmp(line, "STATUS=", 7)) {
			pr->o.on_event(pr, PROBE_EV_STATUS, line + 7,
				       pr->o.data);
		}
	}
}

/* Datagrams on the notify socket. */
static void
probe_notify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *pr = container_of(w, struct probe, io);
	char buf[4096];

	(void)loop;
	(void)revents;
	for (;;) {
		/* Passed fds (a barrier's) are closed by not taking them. */
		ssize_t n = recv(w->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return;
		}
		buf[n] = '\0';
		notify_message(pr, buf);
	}
}

/*
 * Bind PR's notify socket to an abstract name unique to this run and
 * service: nothing to clean up on disk, whatever ends ctxrun.
 */
static int
notify_bind(struct probe *pr, struct err *e)
{
	static unsigned long seq;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int len;

	if (fd < 0) {
		return err_errno(e, errno, "cannot make the notify socket of "
				 "'%s'", pr->o.name);
	}
	len = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
		       "ctxrun/%s/notify/%lu", ptree_run_mark(), ++seq);
	if (bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			     (size_t)len)) < 0) {
		int errnum = errno;

		close(fd);
		return err_errno(e, errnum, "cannot bind the notify socket "
				 "of '%s'", pr->o.name);
	}
	pr->env = xasprintf("NOTIFY_SOCKET=@%s", sa.sun_path + 1);
	ev_io_init(&pr->io, probe_notify_cb, fd, EV_READ);
	return 0;
}

/* Stop now. */
bool
probe_stop(struct probe *pr)
{
	ev_timer_stop(pr->loop, &pr->deadline);
	ev_timer_stop(pr->loop, &pr->next);
	attempt_end(pr);
	ev_io_stop(pr->loop, &pr->io);
	if (pr->job) {
		pr->state = PROBE_STOPPING;
		job_cancel(pr->job, CTX_CAUSE_STOPPED, "probe stopped");
		return false;
	}
	pr->state = PROBE_OVER;
	return true;
}

/* Release PR. */
void
probe_free(struct probe *pr)
{
	if (!pr) {
		return;
	}
	if (pr->job) {
		BUG("probe_free with an attempt of '%s' running", pr->o.name);
	}
	ev_timer_stop(pr->loop, &pr->deadline);
	ev_timer_stop(pr->loop, &pr->next);
	ev_timer_stop(pr->loop, &pr->attempt);
	ev_io_stop(pr->loop, &pr->io);
	if (pr->io.fd >= 0) {
		close(pr->io.fd);
	}
	if (pr->null_fd >= 0) {
		close(pr->null_fd);
	}
	if (pr->o.def->kind == PROBE_LOG) {
		regfree(&pr->rx);
	}
	free(pr->lines);
	free(pr->request);
	free(pr->env);
	free(pr);
}
