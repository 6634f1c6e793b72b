/* SPDX-License-Identifier: MIT */
#include "unit.h"

#include <criterion/criterion.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/ptimer.h"
#include "ctxrun/ptree.h"
#include "ctxrun/reaper.h"

/* Count this process's open fds. */
int
unit_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (readdir(d)) {
		n++;
	}
	closedir(d);
	return n;
}

/* A subreaper with the default loop and a reaper, not started. */
void
unit_loop_init(struct unit_loop *u)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	u->loop = ev_default_loop(0);
	u->reaper = reaper_new(u->loop);
	u->fds_before = unit_open_fds();
}

/* Nothing watched, active, running or open any more. */
void
unit_loop_check(struct unit_loop *u)
{
	size_t watching = u->reaper ? reaper_watching(u->reaper) : 0;
	int status;

	/* A watched pid left: freeing the reaper would be a BUG(). */
	cr_assert_eq(watching, 0, "%zu pids still watched", watching);
	reaper_free(u->reaper);
	u->reaper = NULL;
	cr_assert_eq(ev_run(u->loop, EVRUN_NOWAIT), 0, "watchers left active");
	cr_assert_eq(waitpid(-1, &status, WNOHANG), -1, "a child survived");
	cr_assert_eq(errno, ECHILD);
	ptimer_release();
	cr_assert_eq(unit_open_fds(), u->fds_before, "fd leaked");
}

/*
 * Wait for PID's exit through a pidfd, which is readable from then on;
 * without pidfds (valgrind), with waitid() and the test's timeout.
 */
void
unit_await_exit(pid_t pid)
{
	struct pollfd pfd = { .fd = ptree_pidfd_open(pid), .events = POLLIN };
	siginfo_t si;
	int n;

	if (pfd.fd < 0 && errno == ENOSYS) {
		cr_assert_eq(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
		return;
	}
	cr_assert_geq(pfd.fd, 0, "pidfd_open(%d): %s", (int)pid,
		      strerror(errno));
	while ((n = poll(&pfd, 1, 10000)) < 0 && errno == EINTR) {
	}
	close(pfd.fd);
	cr_assert_eq(n, 1, "pid %d did not exit", (int)pid);
}

/* Reap PID, which must have died of SIG. */
void
unit_reap(pid_t pid, int sig)
{
	int st;

	unit_await_exit(pid);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(unit_killed_by(st, sig),
		  "pid %d: wait status %#x, not a death by signal %d", (int)pid,
		  st, sig);
}

/* Default actions for the signals tests send, and an empty mask. */
void
unit_child_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGUSR1, SIGINT, SIGCONT };
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++) {
		sigaction(sigs[i], &sa, NULL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Is STATUS a death by SIG? */
bool
unit_killed_by(int status, int sig)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

/* Is STATUS an exit with CODE? */
bool
unit_exited(int status, int code)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == code;
}
