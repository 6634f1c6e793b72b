/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the benchmark probes: a monotonic clock, pidfds, and a
 * walk of /proc that finds the descendants of a process (with their command
 * lines) so a probe can watch or clean up processes it did not start itself.
 *
 * Every probe makes itself a child subreaper: whatever its supervisor leaves
 * behind is re-parented to the probe, found by the walk, and SIGKILLed
 * through a pidfd (never by name) before the probe exits.
 */
#ifndef BENCH_PROBES_COMMON_H
#define BENCH_PROBES_COMMON_H

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int
pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static inline int
pidfd_kill_(int fd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

static inline void
die(const char *what)
{
	fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* One process found under /proc. */
struct pinfo {
	pid_t pid, ppid;
	char cmd[256]; /* argv joined by spaces, argv[0] reduced to its basename */
};

/* Read /proc/PID/stat's ppid; -1 when gone. */
static inline pid_t
read_ppid(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t n;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return -1;
	}
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1) {
		return -1;
	}
	return ppid;
}

/* Read PID's command line into OUT (basename of argv[0], args by spaces). */
static inline void
read_cmd(pid_t pid, char *out, size_t size)
{
	char path[64], buf[4096];
	int fd;
	ssize_t n;
	char *base, *end;

	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return;
	}
	buf[n] = 0;
	end = buf + n;
	/* basename of argv[0] */
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	for (char *c = base; c < end - 1; c++) {
		if (*c == 0) {
			*c = ' ';
		}
	}
	{
		size_t len = strlen(base);

		if (len >= size) {
			len = size - 1;
		}
		memcpy(out, base, len);
		out[len] = 0;
	}
}

struct pp_pair {
	pid_t pid, ppid;
};

static inline int
pp_cmp(const void *a, const void *b)
{
	const struct pp_pair *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Every live process that descends from ROOT (ROOT excluded). Returns count. */
static inline size_t
descendants(pid_t root, struct pinfo **out, int want_cmd)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct pp_pair *t = NULL;
	size_t n = 0, cap = 0, k = 0;
	struct pinfo *res;

	if (!d) {
		die("opendir /proc");
	}
	while ((e = readdir(d))) {
		char *endp;
		long pid = strtol(e->d_name, &endp, 10);

		if (*endp || pid <= 0) {
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			t = realloc(t, cap * sizeof(*t));
		}
		t[n].pid = (pid_t)pid;
		t[n].ppid = read_ppid((pid_t)pid);
		n++;
	}
	closedir(d);
	qsort(t, n, sizeof(*t), pp_cmp);
	res = calloc(n ? n : 1, sizeof(*res));
	for (size_t i = 0; i < n; i++) {
		/* Walk up the parent chain (bounded: /proc is a moving picture). */
		pid_t p = t[i].ppid;

		for (int depth = 0; depth < 64 && p > 1 && p != root; depth++) {
			struct pp_pair key = { .pid = p }, *hit;

			hit = bsearch(&key, t, n, sizeof(*t), pp_cmp);
			p = hit ? hit->ppid : -1;
		}
		if (p == root && t[i].pid != root) {
			res[k].pid = t[i].pid;
			res[k].ppid = t[i].ppid;
			if (want_cmd) {
				read_cmd(t[i].pid, res[k].cmd, sizeof(res[k].cmd));
			}
			k++;
		}
	}
	free(t);
	*out = res;
	return k;
}

/* SIGKILL every descendant of the calling process and reap what is ours. */
static inline void
kill_all_descendants(void)
{
	for (int round = 0; round < 50; round++) {
		struct pinfo *ps;
		size_t n = descendants(getpid(), &ps, 0);

		for (size_t i = 0; i < n; i++) {
			int fd = pidfd_open_(ps[i].pid);

			/* The pidfd pins the process: re-check it is still ours. */
			if (fd >= 0) {
				pid_t pp = read_ppid(ps[i].pid);

				if (pp == ps[i].ppid) {
					pidfd_kill_(fd, SIGKILL);
				}
				close(fd);
			}
		}
		free(ps);
		while (waitpid(-1, NULL, WNOHANG) > 0) {
		}
		if (n == 0) {
			return;
		}
		usleep(10000);
	}
}

/* Set by SIGTERM, SIGINT or SIGHUP: the probe must clean up and leave. */
static volatile sig_atomic_t stop_requested;

static inline void
on_stop_request(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Leave now if asked to, taking every descendant down first. */
static inline void
check_stop_request(void)
{
	if (stop_requested) {
		kill_all_descendants();
		exit(130);
	}
}

/*
 * Become a subreaper, and turn SIGTERM, SIGINT and SIGHUP into a request
 * that the probe's loops honour (no SA_RESTART: a blocked poll returns).
 */
static inline void
become_subreaper(void)
{
	struct sigaction sa;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		die("PR_SET_CHILD_SUBREAPER");
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_request;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* In the child between fork and exec: the default dispositions back. */
static inline void
reset_child_signals(void)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
}

#endif
