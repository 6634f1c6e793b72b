/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/wait.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/*
 * Interactive use, on a real pseudo-terminal: ctxrun is started the way a
 * shell starts a foreground job (session leader on the pty, in the
 * foreground group), and the test types into the master side.
 */

TestSuite(tty, .init = h_setup, .fini = h_teardown, .timeout = 30);

struct pty_run {
	pid_t pid;
	int master;
	char seen[8192];
	size_t len;
};

/*
 * CHILD of forkpty: act as a job-control shell running ctxrun as its
 * foreground job. A stopped ctxrun is reported on the terminal and then
 * resumed as `fg` would; the exit status is ctxrun's (128+N for signal N).
 * ctxrun cannot simply be the session leader: its group would be orphaned,
 * and the kernel does not stop orphaned groups on SIGTSTP.
 */
static _Noreturn void
mini_shell(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGTTOU, SIG_IGN);
		tcsetpgrp(STDIN_FILENO, getpid());
		signal(SIGTTOU, SIG_DFL);
		execl(h_ctxrun, "ctxrun", "-t", "20", "--", h_th, "cat", (char *)NULL);
		_exit(127);
	}
	signal(SIGTTOU, SIG_IGN);
	setpgid(pid, pid);
	tcsetpgrp(STDIN_FILENO, pid);
	for (;;) {
		if (waitpid(pid, &status, WUNTRACED) < 0) {
			_exit(126);
		}
		if (!WIFSTOPPED(status)) {
			break;
		}
		tcsetpgrp(STDIN_FILENO, getpgrp());
		dprintf(STDOUT_FILENO, "[ctxrun stopped by %d]\n", WSTOPSIG(status));
		tcsetpgrp(STDIN_FILENO, pid);
		killpg(pid, SIGCONT);
	}
	_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
}

/* Start `ctxrun -t 20 -- th cat` as a shell's foreground job on a new pty. */
static void
pty_start(struct pty_run *t)
{
	memset(t, 0, sizeof(*t));
	t->pid = forkpty(&t->master, NULL, NULL, NULL);
	cr_assert_geq(t->pid, 0, "forkpty: %s", strerror(errno));
	if (t->pid == 0) {
		mini_shell();
	}
}

/* Read the master until NEEDLE has appeared COUNT times, or fail after MS. */
static void
pty_expect(struct pty_run *t, const char *needle, int count, int ms)
{
	double end = h_now() + ms / 1000.0;

	for (;;) {
		int found = 0;
		struct pollfd pfd = { .fd = t->master, .events = POLLIN };
		ssize_t n;

		for (const char *s = t->seen; (s = strstr(s, needle)); s++) {
			found++;
		}
		if (found >= count) {
			return;
		}
		cr_assert_lt(h_now(), end, "waited for %d x <%s>; pty shows <%s>",
			     count, needle, t->seen);
		if (poll(&pfd, 1, 100) <= 0) {
			continue;
		}
		n = read(t->master, t->seen + t->len, sizeof(t->seen) - t->len - 1);
		cr_assert_gt(n, 0, "pty closed; it showed <%s>", t->seen);
		t->len += (size_t)n;
		t->seen[t->len] = '\0';
	}
}

/* Type S on the terminal. */
static void
pty_type(struct pty_run *t, const char *s)
{
	cr_assert_eq(write(t->master, s, strlen(s)), (ssize_t)strlen(s));
}

/* Wait for the shell to exit, failing after MS. */
static int
pty_wait(struct pty_run *t, int ms)
{
	double end = h_now() + ms / 1000.0;
	int status;
	char drain[512];

	while (waitpid(t->pid, &status, WNOHANG) == 0) {
		struct pollfd pfd = { .fd = t->master, .events = POLLIN };

		cr_assert_lt(h_now(), end, "ctxrun did not end; pty <%s>", t->seen);
		if (poll(&pfd, 1, 20) > 0 && read(t->master, drain, sizeof(drain)) < 0) {
			/* EIO once the slave side is closed: just keep waiting. */
			usleep(10000);
		}
	}
	return status;
}

Test(tty, command_reads_the_terminal_and_ctrl_c_interrupts)
{
	struct pty_run t;
	int status;

	pty_start(&t);
	pty_type(&t, "hello\n");
	/* Once echoed by the terminal, once written back by cat. */
	pty_expect(&t, "hello", 2, 10000);
	pty_type(&t, "\x03");
	status = pty_wait(&t, 10000);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGINT,
		  "ctxrun was not killed by SIGINT (shell status %#x); pty <%s>",
		  status, t.seen);
	close(t.master);
	h_no_survivors();
}

Test(tty, ctrl_z_stops_ctxrun_and_fg_hands_the_terminal_back)
{
	struct pty_run t;
	int status;
	char stopped[64];

	pty_start(&t);
	pty_type(&t, "one\n");
	pty_expect(&t, "one", 2, 10000);
	pty_type(&t, "\x1a");
	snprintf(stopped, sizeof(stopped), "[ctxrun stopped by %d]", SIGTSTP);
	pty_expect(&t, stopped, 1, 10000);
	pty_type(&t, "two\n");
	pty_expect(&t, "two", 2, 10000);
	pty_type(&t, "\x04");
	status = pty_wait(&t, 10000);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "shell status %#x; pty showed <%s>", status, t.seen);
	close(t.master);
	h_no_survivors();
}
