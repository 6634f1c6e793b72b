/* SPDX-License-Identifier: MIT */
#include "ctxrun/watchdog.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctxrun/cgroup.h"
#include "ctxrun/duration.h"
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
 * It ignores what interrupts ctxrun, and the rest of what GNU timeout
 * passes on: a signal meant for the run (systemd stopping a unit signals
 * every process in it) must not take away what cleans up after it. A
 * fault of its own still kills it: the kernel does not let it be ignored.
 *
 * Waiting out the grace period polls /proc every 50 ms: this runs only
 * after ctxrun was killed, when the event loop that would do better is
 * gone. Each poll also sends the stop signal to whatever of the run it
 * finds for the first time (a process forked, or marked by its exec, just
 * after the first look): one look alone may miss it, and it would then
 * get SIGKILL without its grace period.
 */

#define POLL_NS 50000000L
#define SLOW_POLL_NS 1000000000L

/* What the watchdog of one run knows, all of it from before the fork. */
struct watch {
	pid_t parent;           /* ctxrun */
	int sig;                /* the run's stop signal */
	int64_t grace_ms;       /* the run's longest grace period */
	const char *cgroup_dir; /* the run's cgroup, or NULL */
	const char *mark;       /* the run's part of its jobs' marks */
};

/* Sleep NS nanoseconds. */
static void
nap(long ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000L,
			       .tv_nsec = ns % 1000000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/*
 * CHILD: send the stop signal and SIGCONT to each process of the run that
 * was not sent them yet: first those in its cgroup, which are its own
 * whatever they did; then those that carry one of its marks and are proven
 * to descend from it (ptree.h), since a mark alone can be a copy. Returns
 * how many processes of the run are alive, signalled now or before.
 */
static size_t
stop_round(const struct watch *w, struct ptree_orphans *o,
	   struct ptree_pins *pins)
{
	/* Signal 0 (GNU timeout's -s 0) only probes: SIGCONT is all. */
	int sig = w->sig ? w->sig : SIGCONT;
	int then = sig != SIGCONT ? SIGCONT : 0;
	size_t live = 0;

	if (w->cgroup_dir) {
		live += cgroup_tree_signal(w->cgroup_dir, sig, then, pins);
	}
	return live + ptree_orphans_signal(o, sig, then, pins);
}

/*
 * CHILD: stop what is left of W's run, with its stop signal then SIGKILL;
 * with a grace of DURATION_FOREVER (GNU timeout without -k) no SIGKILL:
 * it waits for them as long as they run, looking less often after the
 * first second.
 */
static void
stop_orphans(const struct watch *w)
{
	struct ptree_orphans *o = ptree_orphans_new(w->parent, w->mark);
	struct ptree_pins *pins = ptree_pins_new();
	bool forever = w->grace_ms == DURATION_FOREVER;
	long long waited = 0;
	long step;

	while (stop_round(w, o, pins)) {
		if (!forever && waited >= w->grace_ms * 1000000LL) {
			/* The cgroup's are killed by cgroup_cleanup(). */
			ptree_orphans_signal(o, SIGKILL, 0, NULL);
			break;
		}
		step = forever && waited >= SLOW_POLL_NS ? SLOW_POLL_NS
							  : POLL_NS;
		nap(step);
		waited += step;
	}
	ptree_pins_free(pins);
	ptree_orphans_free(o);
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
watchdog_main(int fd, const struct watch *w)
{
	int null = open("/dev/null", O_RDWR);
	ssize_t n;
	char c;

	setpgid(0, 0);
	for (int s = 1; s < NSIG; s++) {
		signal(s, SIG_DFL);
	}
	/* Those GNU's timeout passes on too: a -s SEGV reaches us as well. */
	for (size_t i = 0; i < SIGNAME_N_TERMINATING; i++) {
		signal(signame_terminating[i], SIG_IGN);
	}
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
		stop_orphans(w);
		if (w->cgroup_dir) {
			cgroup_cleanup(w->cgroup_dir);
		}
	}
	_exit(0);
}

/* Start the watchdog. */
int
watchdog_start(int stop_signal, int64_t grace_ms, const char *cgroup_dir,
	       pid_t *pid, struct err *e)
{
	struct watch w = {
		.parent = getpid(),
		.sig = stop_signal,
		.grace_ms = grace_ms,
		.cgroup_dir = cgroup_dir,
		/* Drawn here, before the fork: the jobs' marks share it. */
		.mark = ptree_run_mark(),
	};
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
		watchdog_main(fds[0], &w);
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

/* Wait until the dismissed watchdog has exited. */
void
watchdog_wait(pid_t pid)
{
	sigset_t all, old;

	/* A signal now would end us before it: let it wait its turn. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}
