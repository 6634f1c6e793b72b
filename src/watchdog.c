/* SPDX-License-Identifier: MIT */
#include "ctxrun/watchdog.h"

#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctxrun/cgroup.h"
#include "ctxrun/ptree.h"
#include "ctxrun/signame.h"

/*
 * PR_SET_PDEATHSIG on each leader would be simpler, but it reaches only the
 * leader, not processes that left its group, and posix_spawn gives no
 * place to set it. The watchdog sees the whole marked tree instead.
 *
 * It sits in a process group of its own rather than a session: out of
 * reach of the terminal's signals all the same, and a group can be
 * entered from both sides of the fork, so it is never seen in ctxrun's.
 *
 * It is forked, not exec'd: it needs nothing but the few functions below,
 * and a fork of a freshly started ctxrun is small. After the fork it drops
 * every fd but its pipe (the job output pipes and ctxrun's stdout must not
 * be held open by it) and every signal handler libev installed. Signals
 * stay blocked from before the fork until then, so that no handler of
 * ctxrun's runs in it, and its mask ends up empty whatever ctxrun's was.
 * It ignores what interrupts ctxrun: a signal meant for the run (systemd
 * stopping a unit signals every process in it) must not take away what
 * cleans up after it.
 *
 * Waiting out the grace period polls /proc every 50 ms: this runs only
 * after ctxrun was killed, when the event loop that would do better is
 * gone.
 */

#define POLL_NS 50000000L

/* Sleep NS nanoseconds. */
static void
nap(long ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000L,
			       .tv_nsec = ns % 1000000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* CHILD: stop everything marked by ctxrun PARENT, with SIG then SIGKILL. */
static void
stop_orphans(pid_t parent, int sig, int64_t grace_ms)
{
	char prefix[32];
	long waited = 0;

	snprintf(prefix, sizeof(prefix), "%d.", (int)parent);
	if (!ptree_signal_marked(prefix, sig)) {
		return;
	}
	ptree_signal_marked(prefix, SIGCONT);
	while (waited < grace_ms * 1000000L) {
		nap(POLL_NS);
		waited += POLL_NS;
		if (!ptree_signal_marked(prefix, 0)) {
			return;
		}
	}
	ptree_signal_marked(prefix, SIGKILL);
}

/*
 * CHILD: after the marked processes, whatever is left in the run's cgroup
 * DIR (an escapee without its mark) is killed, and the cgroups ctxrun
 * could not remove are removed.
 */
static void
cgroup_cleanup(const char *dir)
{
	char path[4096], events[256];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
	}
	/* The killed leave the cgroup as they die: wait for that, briefly. */
	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	for (int tries = 0; tries < 40; tries++) {
		ssize_t n = -1;

		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, events, sizeof(events) - 1);
			close(fd);
		}
		events[n > 0 ? n : 0] = '\0';
		if (n <= 0 || !strstr(events, "populated 1")) {
			break;
		}
		nap(POLL_NS);
	}
	cgroup_remove(dir);
}

/* CHILD: wait for ctxrun to dismiss us or die; clean up after a death. */
static _Noreturn void
watchdog_main(int fd, pid_t parent, int sig, int64_t grace_ms,
	      const char *cgroup_dir)
{
	int null = open("/dev/null", O_RDWR);
	ssize_t n;
	char c;

	setpgid(0, 0);
	for (int s = 1; s < NSIG; s++) {
		signal(s, SIG_DFL);
	}
	for (size_t i = 0; i < SIGNAME_N_INTERRUPTS; i++) {
		signal(signame_interrupts[i], SIG_IGN);
	}
	signal(SIGPIPE, SIG_IGN);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (fd != 3) {
		dup2(fd, 3);
	}
	syscall(SYS_close_range, 4, ~0U, 0);
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	while ((n = read(3, &c, 1)) < 0 && errno == EINTR) {
	}
	if (n != 1) {
		stop_orphans(parent, sig, grace_ms);
		if (cgroup_dir) {
			cgroup_cleanup(cgroup_dir);
		}
	}
	_exit(0);
}

/* Start the watchdog. */
int
watchdog_start(int stop_signal, int64_t grace_ms, const char *cgroup_dir,
	       pid_t *pid, struct err *e)
{
	pid_t parent = getpid();
	sigset_t all, old;
	int fds[2], errnum;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		return err_errno(e, errno, "cannot create the watchdog's pipe");
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	*pid = fork();
	errnum = errno;
	if (*pid == 0) {
		close(fds[1]);
		watchdog_main(fds[0], parent, stop_signal, grace_ms,
			      cgroup_dir);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (*pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return err_errno(e, errnum, "cannot start the watchdog");
	}
	/*
	 * The child moves to a group of its own too, but may not have run yet:
	 * until it leaves ours, a --foreground job's scan would take it for a
	 * member of the job, and wait for it. Whichever call runs first wins,
	 * as a shell does it for its jobs.
	 */
	setpgid(*pid, *pid);
	close(fds[0]);
	return fds[1];
}

/* Tell the watchdog the run ended cleanly. */
void
watchdog_dismiss(int fd)
{
	ssize_t n;

	if (fd < 0) {
		return;
	}
	while ((n = write(fd, "k", 1)) < 0 && errno == EINTR) {
	}
	close(fd);
}
