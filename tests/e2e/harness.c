/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * The harness runs ctxrun as a child of the test process, which is a child
 * subreaper: ctxrun's own leftovers are re-parented to ctxrun if it is a
 * subreaper itself, and to the test once ctxrun is gone. So after ctxrun
 * has been reaped, any child of the test is something ctxrun failed to
 * stop. Cleanup kills such processes by pid, never by name. Every wait has
 * a deadline; the clock starts just before fork and stops at the reap,
 * which a pidfd (when the kernel has them) reports without polling.
 */

/* How long to keep reading pipes after ctxrun has been reaped. */
#define H_PIPE_LINGER 1.0
#define H_MAX_LIVE 16

typedef bool (*h_cond_fn)(struct h_proc *p, const void *arg);

const char *h_ctxrun;
const char *h_th;
const char *h_th_name;

static char h_ctxrun_path[PATH_MAX];
static char h_th_path[PATH_MAX];
static pid_t h_live[H_MAX_LIVE];
/* Buffers not yet released: a failed assertion skips h_release(). */
static char *h_allocs[2 * H_MAX_LIVE];

static void h_buf_add(struct h_buf *b, const char *data, size_t len);
static void h_buf_free(struct h_buf *b);
static bool h_pump(struct h_proc *p, double deadline, h_cond_fn cond,
		   const void *arg);
static void h_try_reap(struct h_proc *p);
static int h_kill_children(pid_t *killed, int *nkilled, int max, char *desc,
			   size_t size);
static int h_reap_all(char *desc, size_t size);
static void h_abort(struct h_proc *p);

/* Resolve ENV (or DEF) to an absolute path in BUF when it exists. */
static const char *
h_resolve(const char *env, const char *def, char *buf)
{
	const char *path = getenv(env);

	if (path == NULL || *path == '\0') {
		path = def;
	}
	if (realpath(path, buf) == NULL) {
		snprintf(buf, PATH_MAX, "%s", path);
	}
	return buf;
}

/* Prepare the test process to run ctxrun and catch its leftovers. */
void
h_setup(void)
{
	const char *slash;

	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0,
		     "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	/* Writing to a dead ctxrun's stdin must be an error, not a death. */
	signal(SIGPIPE, SIG_IGN);
	/* The tests may themselves run under ctxrun. */
	unsetenv("CTXRUN_DEADLINE");
	unsetenv("CTXRUN_JOB");
	/* Colour and CI wrapping only where a test asks for them. */
	unsetenv("NO_COLOR");
	unsetenv("CLICOLOR_FORCE");
	unsetenv("GITHUB_ACTIONS");
	h_ctxrun = h_resolve("CTXRUN_BIN", "build/ctxrun", h_ctxrun_path);
	h_th = h_resolve("TH_BIN", "build/th", h_th_path);
	slash = strrchr(h_th, '/');
	h_th_name = slash != NULL ? slash + 1 : h_th;
}

/* Kill the ctxruns a failed test left running, then their leftovers. */
void
h_teardown(void)
{
	char desc[1024];
	int i;

	for (i = 0; i < H_MAX_LIVE; i++) {
		if (h_live[i] > 0) {
			kill(h_live[i], SIGKILL);
			waitpid(h_live[i], NULL, 0);
			h_live[i] = 0;
		}
	}
	h_reap_all(desc, sizeof(desc));
	for (i = 0; i < 2 * H_MAX_LIVE; i++) {
		free(h_allocs[i]);
		h_allocs[i] = NULL;
	}
}

/* Seconds on CLOCK_MONOTONIC. */
double
h_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds on CLOCK_REALTIME. */
double
h_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * CHILD: set up the state ctxrun starts with and exec it. Only
 * async-signal-safe calls from here to exec.
 */
static void
h_child(const struct h_opts *o, int in_fd, int out_fd, int err_fd,
	const char *const *argv)
{
	struct sigaction sa;
	sigset_t mask;
	int fd, i, sig, err;
	char msg[] = "harness: exec of ctxrun failed: errno 000\n";

	setpgid(0, 0);
	fd = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
	if (o != NULL && o->stdout_file != NULL) {
		out_fd = open(o->stdout_file, O_WRONLY | O_CLOEXEC);
	}
	if (o != NULL && o->stderr_file != NULL) {
		err_fd = open(o->stderr_file, O_WRONLY | O_CLOEXEC);
	}
	if (fd < 0 || out_fd < 0 || err_fd < 0 || dup2(fd, 0) < 0 ||
	    dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
		_exit(126);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++) {
		sigaction(sig, &sa, NULL);
	}
	sa.sa_handler = SIG_IGN;
	sigemptyset(&mask);
	for (i = 0; o != NULL && i < 8 && o->ignore[i] != 0; i++) {
		sigaction(o->ignore[i], &sa, NULL);
	}
	for (i = 0; o != NULL && i < 8 && o->block[i] != 0; i++) {
		sigaddset(&mask, o->block[i]);
	}
	sigprocmask(SIG_SETMASK, &mask, NULL);
	execv(o != NULL && o->path != NULL ? o->path : argv[0],
	      (char *const *)argv);
	err = errno;
	msg[sizeof(msg) - 5] = (char)('0' + err / 100 % 10);
	msg[sizeof(msg) - 4] = (char)('0' + err / 10 % 10);
	msg[sizeof(msg) - 3] = (char)('0' + err % 10);
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		_exit(126);
	}
	_exit(126);
}

/* Start ctxrun (ARGV[0]) with pipes and the requested signal state. */
void
h_start_argv(struct h_proc *p, const struct h_opts *o,
	     const char *const *argv)
{
	int in[2] = { -1, -1 }, out[2], err[2], i;

	memset(p, 0, sizeof(*p));
	p->in_fd = p->pidfd = -1;
	h_buf_add(&p->out, "", 0);
	h_buf_add(&p->err, "", 0);
	if (o != NULL && o->input != NULL) {
		cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
		p->input = o->input;
		p->input_len = o->input_len ? o->input_len : strlen(o->input);
	}
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	p->t0 = h_now();
	p->pid = fork();
	cr_assert_neq(p->pid, -1, "fork: %s", strerror(errno));
	if (p->pid == 0) {
		h_child(o, in[0], out[1], err[1], argv);
	}
	for (i = 0; i < H_MAX_LIVE; i++) {
		if (h_live[i] == 0) {
			h_live[i] = p->pid;
			break;
		}
	}
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	close(out[1]);
	close(err[1]);
	p->out_fd = out[0];
	p->err_fd = err[0];
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	if (in[0] >= 0) {
		close(in[0]);
		p->in_fd = in[1];
		fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	}
	if (o != NULL && o->close_stdout) {
		close(p->out_fd);
		p->out_fd = -1;
	}
}

/* Condition: the needle ARG is in stdout. */
static bool
h_cond_out(struct h_proc *p, const void *arg)
{
	return strstr(p->out.data, arg) != NULL;
}

/* Condition: the needle ARG is in stderr. */
static bool
h_cond_err(struct h_proc *p, const void *arg)
{
	return strstr(p->err.data, arg) != NULL;
}

/*
 * Find "ready" in the first complete line of stdout that starts with it,
 * alone or after a job's prefix ("name | "), or NULL.
 */
static const char *
h_ready_line(const struct h_proc *p)
{
	const char *s = p->out.data;

	for (;;) {
		const char *nl = strchr(s, '\n');
		const char *bar;

		if (nl == NULL) {
			return NULL;
		}
		bar = memmem(s, (size_t)(nl - s), " | ", 3);
		if (bar != NULL && bar > s) {
			s = bar + 3;
		}
		if (strncmp(s, "ready ", 6) == 0) {
			return s;
		}
		s = nl + 1;
	}
}

/* Condition: a complete ready line is in stdout. */
static bool
h_cond_ready(struct h_proc *p, const void *arg)
{
	(void)arg;
	return h_ready_line(p) != NULL;
}

/* Wait up to MS ms for NEEDLE on stdout. */
const char *
h_wait_out(struct h_proc *p, const char *needle, int ms)
{
	if (!h_pump(p, h_now() + ms / 1000.0, h_cond_out, needle)) {
		return NULL;
	}
	return strstr(p->out.data, needle);
}

/* Wait up to MS ms for NEEDLE on stderr. */
const char *
h_wait_err(struct h_proc *p, const char *needle, int ms)
{
	if (!h_pump(p, h_now() + ms / 1000.0, h_cond_err, needle)) {
		return NULL;
	}
	return strstr(p->err.data, needle);
}

/* Condition: ctxrun has been reaped. */
static bool
h_cond_reaped(struct h_proc *p, const void *arg)
{
	(void)arg;
	return p->reaped;
}

/* Wait up to MS ms for ctxrun to exit; returns whether it did. */
bool
h_wait_exit(struct h_proc *p, int ms)
{
	return h_pump(p, h_now() + ms / 1000.0, h_cond_reaped, NULL);
}

/* Wait for the ready line and parse its pids; fail the test without one. */
int
h_wait_ready(struct h_proc *p, pid_t *pids, int max, int ms)
{
	const char *s;
	char *end;
	long v;
	int n = 0;

	if (!h_pump(p, h_now() + ms / 1000.0, h_cond_ready, NULL)) {
		h_abort(p);
		cr_assert_fail("no ready line within %d ms; stdout: <%s> "
			       "stderr: <%s> status %#x",
			       ms, p->out.data, p->err.data, p->status);
	}
	s = h_ready_line(p) + 6;
	while (n < max) {
		v = strtol(s, &end, 10);
		if (end == s) {
			break;
		}
		pids[n++] = (pid_t)v;
		s = end;
	}
	return n;
}

/* Pump until ctxrun is reaped and the pipes are done, within MS ms. */
void
h_finish(struct h_proc *p, int ms)
{
	if (!h_pump(p, h_now() + ms / 1000.0, NULL, NULL)) {
		h_abort(p);
		cr_assert_fail("ctxrun still running after %d ms; "
			       "stdout: <%s> stderr: <%s>",
			       ms, p->out.data, p->err.data);
	}
}

/* Send SIG to ctxrun. */
void
h_kill(struct h_proc *p, int sig)
{
	cr_assert(!p->reaped, "ctxrun exited before signal %d; stderr: <%s>",
		  sig, p->err.data);
	cr_assert_eq(kill(p->pid, sig), 0, "kill: %s", strerror(errno));
}

/* Assert that nothing was re-parented to the test, killing what was. */
void
h_no_survivors(void)
{
	char desc[1024];
	int n;

	desc[0] = '\0';
	n = h_reap_all(desc, sizeof(desc));
	cr_assert_eq(n, 0, "ctxrun left %d process(es) behind:%s", n, desc);
}

/* Free P's buffers and close what is still open. */
void
h_release(struct h_proc *p)
{
	if (p->out_fd >= 0) {
		close(p->out_fd);
	}
	if (p->err_fd >= 0) {
		close(p->err_fd);
	}
	if (p->in_fd >= 0) {
		close(p->in_fd);
	}
	if (p->pidfd >= 0) {
		close(p->pidfd);
	}
	h_buf_free(&p->out);
	h_buf_free(&p->err);
	memset(p, 0, sizeof(*p));
	p->out_fd = p->err_fd = p->in_fd = p->pidfd = -1;
}

/* Assert that nothing survived ctxrun, then free P. */
void
h_done(struct h_proc *p)
{
	h_no_survivors();
	h_release(p);
}

/* Exit code of P, -1 when it did not exit normally. */
int
h_code(const struct h_proc *p)
{
	if (!p->reaped || !WIFEXITED(p->status)) {
		return -1;
	}
	return WEXITSTATUS(p->status);
}

/* Signal that killed P, 0 when none did. */
int
h_sig(const struct h_proc *p)
{
	if (!p->reaped || !WIFSIGNALED(p->status)) {
		return 0;
	}
	return WTERMSIG(p->status);
}

/* Count the lines of S (a last line without newline counts). */
int
h_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\n' || s[1] == '\0') {
			n++;
		}
	}
	return n;
}

/* Whether PID is gone (or a zombie). */
bool
h_gone(pid_t pid)
{
	struct h_pstat st;

	if (kill(pid, 0) == -1 && errno == ESRCH) {
		return true;
	}
	return !h_pstat_read(pid, &st) || st.state == 'Z';
}

/*
 * Read /proc/PID/stat into ST. The name may hold spaces and parentheses,
 * so the fields after it are found from the last ')'.
 */
bool
h_pstat_read(pid_t pid, struct h_pstat *st)
{
	char path[64], buf[512];
	const char *lp, *rp;
	long ppid;
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "re");
	if (f == NULL) {
		return false;
	}
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	lp = ok ? strchr(buf, '(') : NULL;
	rp = ok ? strrchr(buf, ')') : NULL;
	if (lp == NULL || rp == NULL || rp < lp ||
	    sscanf(rp, ") %c %ld", &st->state, &ppid) != 2) {
		return false;
	}
	st->pid = pid;
	st->ppid = (pid_t)ppid;
	snprintf(st->comm, sizeof(st->comm), "%.*s", (int)(rp - lp - 1),
		 lp + 1);
	return true;
}

/* Call FN for every process in /proc whose stat can be read. */
void
h_each_process(h_process_fn fn, void *data)
{
	struct h_pstat st;
	struct dirent *e;
	DIR *d = opendir("/proc");

	cr_assert_not_null(d, "opendir /proc: %s", strerror(errno));
	while ((e = readdir(d)) != NULL) {
		long pid;

		if (!isdigit((unsigned char)e->d_name[0])) {
			continue;
		}
		pid = strtol(e->d_name, NULL, 10);
		if (pid > 0 && h_pstat_read((pid_t)pid, &st)) {
			fn(&st, data);
		}
	}
	closedir(d);
}

/* Append LEN bytes of DATA to B, keeping it NUL-terminated. */
static void
h_buf_add(struct h_buf *b, const char *data, size_t len)
{
	char *old = b->data;
	int i;

	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->data = realloc(b->data, b->cap);
		cr_assert_not_null(b->data);
		for (i = 0; i < 2 * H_MAX_LIVE && h_allocs[i] != old; i++) {
			continue;
		}
		if (i < 2 * H_MAX_LIVE) {
			h_allocs[i] = b->data;
		}
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* Free B's data and forget it. */
static void
h_buf_free(struct h_buf *b)
{
	int i;

	for (i = 0; i < 2 * H_MAX_LIVE; i++) {
		if (b->data != NULL && h_allocs[i] == b->data) {
			h_allocs[i] = NULL;
		}
	}
	free(b->data);
	b->data = NULL;
}

/* Read what FD has into B; close it and set it to -1 at EOF. */
static void
h_drain(int *fd, struct h_buf *b)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(*fd, buf, sizeof(buf));
		if (n > 0) {
			h_buf_add(b, buf, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR) {
			continue;
		}
		if (n == -1 && errno == EAGAIN) {
			return;
		}
		close(*fd);
		*fd = -1;
		return;
	}
}

/* Write more of the input to ctxrun's stdin; close it when done. */
static void
h_feed(struct h_proc *p)
{
	ssize_t n;

	while (p->in_off < p->input_len) {
		n = write(p->in_fd, p->input + p->in_off,
			  p->input_len - p->in_off);
		if (n == -1 && errno == EINTR) {
			continue;
		}
		if (n == -1 && errno == EAGAIN) {
			return;
		}
		if (n == -1) {
			break; /* EPIPE: the reader is gone */
		}
		p->in_off += (size_t)n;
	}
	close(p->in_fd);
	p->in_fd = -1;
}

/* Reap ctxrun if it has exited. */
static void
h_try_reap(struct h_proc *p)
{
	pid_t r;
	int i;

	r = waitpid(p->pid, &p->status, WNOHANG);
	if (r != p->pid) {
		return;
	}
	p->reaped = true;
	p->reaped_at = h_now();
	p->elapsed = p->reaped_at - p->t0;
	for (i = 0; i < H_MAX_LIVE; i++) {
		if (h_live[i] == p->pid) {
			h_live[i] = 0;
		}
	}
}

/*
 * Move data until COND holds (returns true), or, without COND, until ctxrun
 * is reaped and its pipes are at EOF (true). Returns false at DEADLINE, and
 * with COND when everything ended without it.
 */
static bool
h_pump(struct h_proc *p, double deadline, h_cond_fn cond, const void *arg)
{
	struct pollfd pfd[4];
	double now, until;
	int n, timeout;

	for (;;) {
		if (!p->reaped) {
			h_try_reap(p);
		}
		if (cond != NULL && cond(p, arg)) {
			return true;
		}
		if (p->reaped && p->out_fd < 0 && p->err_fd < 0) {
			return cond == NULL;
		}
		now = h_now();
		if (now >= deadline) {
			return false;
		}
		until = deadline;
		if (p->reaped) {
			/* A survivor holds the pipes: no_survivors says who. */
			if (now >= p->reaped_at + H_PIPE_LINGER) {
				p->pipes_held = true;
				if (p->out_fd >= 0) {
					close(p->out_fd);
					p->out_fd = -1;
				}
				if (p->err_fd >= 0) {
					close(p->err_fd);
					p->err_fd = -1;
				}
				continue;
			}
			if (p->reaped_at + H_PIPE_LINGER < until) {
				until = p->reaped_at + H_PIPE_LINGER;
			}
		}
		timeout = (int)((until - now) * 1000) + 1;
		n = 0;
		if (p->out_fd >= 0) {
			pfd[n++] = (struct pollfd){ p->out_fd, POLLIN, 0 };
		}
		if (p->err_fd >= 0) {
			pfd[n++] = (struct pollfd){ p->err_fd, POLLIN, 0 };
		}
		if (p->in_fd >= 0) {
			pfd[n++] = (struct pollfd){ p->in_fd, POLLOUT, 0 };
		}
		if (!p->reaped && p->pidfd >= 0) {
			pfd[n++] = (struct pollfd){ p->pidfd, POLLIN, 0 };
		} else if (!p->reaped && timeout > 10) {
			timeout = 10; /* no pidfd: poll for the exit */
		}
		if (poll(pfd, (nfds_t)n, timeout) == -1 && errno != EINTR) {
			cr_assert_fail("poll: %s", strerror(errno));
		}
		if (p->out_fd >= 0) {
			h_drain(&p->out_fd, &p->out);
		}
		if (p->err_fd >= 0) {
			h_drain(&p->err_fd, &p->err);
		}
		if (p->in_fd >= 0) {
			h_feed(p);
		}
	}
}

/* Kill ctxrun and everything it left, so a failing test cleans up. */
static void
h_abort(struct h_proc *p)
{
	char desc[1024];

	if (!p->reaped) {
		kill(p->pid, SIGKILL);
		if (waitpid(p->pid, &p->status, 0) == p->pid) {
			p->reaped = true;
			p->reaped_at = h_now();
			p->elapsed = p->reaped_at - p->t0;
		}
	}
	h_reap_all(desc, sizeof(desc));
}

/* Append a formatted note to DESC. */
static void
h_note(char *desc, size_t size, const char *what, pid_t pid, const char *comm)
{
	size_t len = strlen(desc);

	if (len + 1 < size) {
		snprintf(desc + len, size - len, " %ld(%s)%s", (long)pid, comm,
			 what);
	}
}

/* What h_kill_children() keeps across its walk of /proc. */
struct h_kill_walk {
	pid_t *killed;
	int *nkilled;
	int max;
	char *desc;
	size_t size;
	int n;
};

/* Kill ST when it is a child of ours not yet killed, and note it. */
static void
h_kill_child(const struct h_pstat *st, void *data)
{
	struct h_kill_walk *w = data;
	int i;

	if (st->ppid != getpid()) {
		return;
	}
	for (i = 0; i < *w->nkilled && w->killed[i] != st->pid; i++) {
		continue;
	}
	if (i < *w->nkilled) {
		return;
	}
	h_note(w->desc, w->size, " running", st->pid, st->comm);
	kill(st->pid, SIGKILL);
	if (*w->nkilled < w->max) {
		w->killed[(*w->nkilled)++] = st->pid;
	}
	w->n++;
}

/*
 * SIGKILL every live child of ours not yet in KILLED (found through
 * /proc/PID/stat), add them to it and to DESC; returns how many.
 */
static int
h_kill_children(pid_t *killed, int *nkilled, int max, char *desc,
		size_t size)
{
	struct h_kill_walk w = { killed, nkilled, max, desc, size, 0 };

	h_each_process(h_kill_child, &w);
	return w.n;
}

/*
 * Reap every child of ours, killing live ones by pid; note each in DESC
 * and return how many there were.
 */
static int
h_reap_all(char *desc, size_t size)
{
	pid_t killed[256], pid;
	int nkilled = 0, found = 0, i, status, flags = WNOHANG;
	int rounds;

	for (rounds = 0; rounds < 10000; rounds++) {
		pid = waitpid(-1, &status, flags);
		flags = WNOHANG;
		if (pid > 0) {
			for (i = 0; i < nkilled && killed[i] != pid; i++) {
				continue;
			}
			if (i == nkilled) {
				h_note(desc, size, " exited, unreaped", pid,
				       "?");
				found++;
			}
			continue;
		}
		if (pid == -1 && errno == EINTR) {
			continue;
		}
		if (pid == -1) {
			break; /* ECHILD: nothing left */
		}
		/*
		 * Live children: kill the new ones, then block until one of
		 * them is reaped (its own children may be re-parented to us
		 * then, and the next round finds them).
		 */
		found += h_kill_children(killed, &nkilled, 256, desc, size);
		flags = 0;
	}
	return found;
}

/* Can ctxrun give each job a cgroup here, whatever CTXRUN_CGROUP says? */
bool
h_cgroups_usable(void)
{
	static int known = -1;

	if (known < 0) {
		struct h_proc p;

		h_run(&p, NULL, "--cgroup", "on", "--", "true");
		known = h_code(&p) == 0;
		h_release(&p);
	}
	return known;
}

/* Does ctxrun give each job a cgroup here? */
bool
h_cgroups(void)
{
	const char *env = getenv("CTXRUN_CGROUP");

	return h_cgroups_usable() && !(env && !strcmp(env, "off"));
}

/* Wait up to MS ms for PID to be gone. */
bool
h_gone_within(pid_t pid, int ms)
{
	double end = h_now() + ms / 1000.0;

	while (!h_gone(pid)) {
		struct timespec ts = { 0, 5000000 };

		if (h_now() >= end) {
			return false;
		}
		nanosleep(&ts, NULL);
	}
	return true;
}

/* Reap every child of the test for up to MS ms; true when none is left. */
bool
h_children_gone_within(int ms)
{
	double end = h_now() + ms / 1000.0;
	int status;

	while (h_now() < end) {
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid < 0 && errno == ECHILD) {
			return true;
		}
		if (pid == 0) {
			struct timespec ts = { 0, 10000000 };

			nanosleep(&ts, NULL);
		}
	}
	return false;
}

/* Write LEN bytes of DATA to the file PATH, with exactly MODE. */
void
h_write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	cr_assert_neq(fd, -1, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len, "write %s", path);
	cr_assert_eq(fchmod(fd, mode), 0, "chmod %s: %s", path,
		     strerror(errno));
	close(fd);
}
