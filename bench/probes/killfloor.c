/* SPDX-License-Identifier: MIT */
/*
 * killfloor: the floor for stopping many running jobs, the least a
 * supervisor can do.
 *
 *   killfloor -n N [-F FAILCMD] [-t DEADLINE_MS] [-g GRACE_MS]
 *             (-c CMD | -x PROG ARGS...)
 *
 * Starts N jobs with posix_spawn, each in a process group of its own (as a
 * supervisor does): /bin/sh -c CMD, or with -x PROG ARGS exec'd directly
 * (as ctxrun -c runs a command without shell syntax). With -F, one more
 * job, /bin/sh -c FAILCMD, started last. Then it sleeps in sigtimedwait until
 *   SIGINT, SIGTERM or SIGHUP reaches it, or
 *   the -F job exits with a failure (fail-fast), or
 *   DEADLINE_MS have passed since the jobs were started (-t),
 * and sends SIGTERM to the process group of every job whose leader it has
 * not reaped, kill() after kill() in one loop. With -g, GRACE_MS later every
 * job's group still there gets SIGKILL, in one loop again (a group outlives
 * its leader: `sh` dies of the TERM, a job that ignores it stays). It is a
 * child subreaper, like ctxrun, and exits once every descendant is reaped:
 * 128+N after signal N, 1 after a failure, 124 after the deadline.
 *
 * It prints nothing: bench/probes/deaths times it from outside, exactly as
 * it times the supervisors it is the floor of.
 */
#include "common.h"

#include <getopt.h>
#include <spawn.h>

extern char **environ;

enum { RUNNING, SIGNALLED, FAILED, DEADLINE };

static pid_t *pids;
static char *reaped;
static long njobs;
static pid_t fail_pid;

/*
 * Reap whatever has exited (jobs and orphans alike). Returns -1 once there
 * is nothing left to reap, 1 if the -F job has exited with a failure, else 0.
 */
static int
reap(void)
{
	int status, failed = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (long i = 0; i < njobs; i++) {
			if (pids[i] == pid) {
				reaped[i] = 1;
			}
		}
		if (pid == fail_pid &&
		    (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
			failed = 1;
		}
	}
	if (pid < 0 && errno == ECHILD) {
		return failed ? 1 : -1;
	}
	return failed;
}

/* Wait for SET until DEADLINE (ns, CLOCK_MONOTONIC; 0: no deadline). */
static int
wait_signal(const sigset_t *set, int64_t deadline)
{
	siginfo_t si;
	struct timespec ts;
	int64_t left;

	if (!deadline) {
		return sigwaitinfo(set, &si);
	}
	left = deadline - now_ns();
	if (left <= 0) {
		errno = EAGAIN;
		return -1;
	}
	ts.tv_sec = left / 1000000000;
	ts.tv_nsec = left % 1000000000;
	return sigtimedwait(set, &si, &ts);
}

static void
signal_groups(int sig, int only_unreaped)
{
	for (long i = 0; i < njobs; i++) {
		if (!only_unreaped || !reaped[i]) {
			kill(-pids[i], sig);
		}
	}
}

int
main(int argc, char **argv)
{
	long n = 0, deadline_ms = 0, grace_ms = -1;
	char *sh_argv[4] = { "/bin/sh", "-c", NULL, NULL };
	char *fail_argv[4] = { "/bin/sh", "-c", NULL, NULL };
	char **child_argv = NULL;
	int opt, direct = 0, why = RUNNING, sig = 0;
	sigset_t set, empty;
	posix_spawnattr_t attr;
	int64_t deadline = 0;

	while ((opt = getopt(argc, argv, "+n:c:xF:t:g:")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'c': sh_argv[2] = optarg; child_argv = sh_argv; break;
		case 'x': direct = 1; break;
		case 'F': fail_argv[2] = optarg; break;
		case 't': deadline_ms = atol(optarg); break;
		case 'g': grace_ms = atol(optarg); break;
		default: goto usage;
		}
	}
	if (direct) {
		if (optind >= argc) {
			goto usage;
		}
		child_argv = argv + optind;
	}
	if (!child_argv || n < 1) {
		goto usage;
	}

	/* Every signal that matters is taken by sigtimedwait, never a handler. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		die("PR_SET_CHILD_SUBREAPER");
	}

	/* Each job: own process group, default dispositions, nothing blocked. */
	sigemptyset(&empty);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
				 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &empty);
	posix_spawnattr_setsigdefault(&attr, &set);

	njobs = n + (fail_argv[2] != NULL);
	pids = calloc((size_t)njobs, sizeof(*pids));
	reaped = calloc((size_t)njobs, 1);
	if (!pids || !reaped) {
		die("calloc");
	}
	for (long i = 0; i < njobs; i++) {
		char **av = i < n ? child_argv : fail_argv;
		int rc = (i < n && direct ? posix_spawnp : posix_spawn)(
			&pids[i], av[0], NULL, &attr, av, environ);

		if (rc) {
			fprintf(stderr, "killfloor: %s: %s\n", av[0], strerror(rc));
			njobs = i;
			why = FAILED;
			break;
		}
	}
	if (fail_argv[2] && why == RUNNING) {
		fail_pid = pids[njobs - 1];
	}
	if (deadline_ms > 0) {
		deadline = now_ns() + deadline_ms * 1000000;
	}

	/* Idle until told to stop. */
	while (why == RUNNING) {
		int s = wait_signal(&set, deadline), r;

		if (s < 0) {
			if (errno == EAGAIN) {
				why = DEADLINE;
			} else if (errno != EINTR) {
				die("sigtimedwait");
			}
			continue;
		}
		if (s != SIGCHLD) {
			sig = s;
			why = SIGNALLED;
			continue;
		}
		r = reap();
		if (r == 1) {
			why = FAILED;
		} else if (r < 0) {
			return 0; /* every job ended by itself */
		}
	}

	/* The floor: one kill() per job still running, nothing else between. */
	signal_groups(SIGTERM, 1);

	if (grace_ms >= 0) {
		int64_t kill_at = now_ns() + grace_ms * 1000000;

		for (;;) {
			int s = wait_signal(&set, kill_at);

			if (s == SIGCHLD) {
				if (reap() < 0) {
					break;
				}
				continue;
			}
			if (s < 0 && errno == EINTR) {
				continue;
			}
			/* The grace is over (or we are asked to hurry). */
			signal_groups(SIGKILL, 0);
			break;
		}
	}
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
	}
	return why == SIGNALLED ? 128 + sig : why == DEADLINE ? 124 : 1;
usage:
	fprintf(stderr, "usage: killfloor -n N [-F FAILCMD] [-t DEADLINE_MS] "
			"[-g GRACE_MS] (-c CMD | -x PROG ARGS...)\n");
	return 2;
}
