/* SPDX-License-Identifier: MIT */
/*
 * runstat: run a command and report what it cost itself.
 *
 *   runstat [-D DEPTH] [-i MS] [-m MATCH] [-M MS] [-t SECONDS] -- CMD ARGS...
 *
 * Prints one line:
 *   wall_ms=  the command's wall time
 *   cpu_ms=   CPU time of the command's own process only (user + system,
 *             from /proc/PID/schedstat, read after it exits but before it
 *             is reaped: nanosecond resolution, its children excluded)
 *   hwm_kb=   peak RSS (VmHWM) of the target process alone, sampled every
 *             -i MS (default 20) while it runs; the target is the command
 *             (DEPTH 1, default) or its first child (DEPTH 2, e.g. when the
 *             command is /usr/bin/time)
 *   maxrss_kb= ru_maxrss from wait4(): the figure /usr/bin/time -v prints,
 *             the largest of the command and of every descendant it reaped
 *   concurrent= the most descendants seen at once whose command line is
 *             MATCH (argv joined by spaces, argv[0] as its basename),
 *             scanned every -M MS (default 250); -1 without -m
 *   status=   the command's exit code (128+N when killed by signal N)
 *   limited=  1 when the command was still running after -t SECONDS and
 *             its target was sent SIGTERM (and SIGKILL 2 s later), else 0
 * The probe is a subreaper: what the command leaves behind is SIGKILLed
 * through pidfds before it exits.
 */
#include "common.h"

#include <sys/resource.h>
#include <getopt.h>
#include <poll.h>

static long
read_hwm_kb(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f) {
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmHWM:", 6)) {
			kb = atol(line + 6);
			break;
		}
	}
	fclose(f);
	return kb;
}

static pid_t
first_child(pid_t pid)
{
	char path[80], buf[256];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return 0;
	}
	buf[n] = 0;
	return (pid_t)atol(buf);
}

/* Send SIG to PID (the child, whose pidfd is FD, or a grandchild). */
static void
stop_target(pid_t pid, int fd, int sig)
{
	int tfd;

	if (pid == 0) {
		return;
	}
	tfd = pidfd_open_(pid);
	if (tfd >= 0) {
		pidfd_kill_(tfd, sig);
		close(tfd);
	} else {
		pidfd_kill_(fd, sig);
	}
}

int
main(int argc, char **argv)
{
	int depth = 1, interval = 20, match_interval = 250, opt, fd, status;
	const char *match = NULL;
	double limit_s = 0;
	int limited = 0;
	int64_t term_at = 0;
	pid_t child, target = 0;
	int64_t t0, t_end = 0, next_match = 0;
	long hwm = -1, concurrent = -1;
	long long cpu_ns = -1;
	struct rusage ru;

	while ((opt = getopt(argc, argv, "+D:i:m:M:t:")) != -1) {
		switch (opt) {
		case 'D': depth = atoi(optarg); break;
		case 'i': interval = atoi(optarg); break;
		case 'm': match = optarg; break;
		case 'M': match_interval = atoi(optarg); break;
		case 't': limit_s = atof(optarg); break;
		default:
			fprintf(stderr, "usage: runstat [-D DEPTH] [-i MS] [-m MATCH] "
					"[-M MS] [-t SECONDS] -- CMD...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "runstat: no command\n");
		return 2;
	}
	become_subreaper();
	t0 = now_ns();
	child = fork();
	if (child < 0) {
		die("fork");
	}
	if (child == 0) {
		reset_child_signals();
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "runstat: cannot run %s: %s\n", argv[optind],
			strerror(errno));
		_exit(127);
	}
	fd = pidfd_open_(child);
	if (fd < 0) {
		die("pidfd_open");
	}
	if (match) {
		concurrent = 0;
		next_match = t0 + (int64_t)match_interval * 1000000;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, interval);

		check_stop_request();

		if (r == 1) {
			t_end = now_ns();
			break;
		}
		/*
		 * Past the limit: SIGTERM the target (under /usr/bin/time, the
		 * supervisor, so that time still reports), SIGKILL 2 s later.
		 */
		if (limit_s > 0 && !limited &&
		    now_ns() - t0 > (int64_t)(limit_s * 1e9)) {
			limited = 1;
			term_at = now_ns();
			stop_target(target ? target : child, fd, SIGTERM);
		}
		if (limited && now_ns() - term_at > 2000000000LL) {
			stop_target(target ? target : child, fd, SIGKILL);
		}
		if (!target) {
			target = depth <= 1 ? child : first_child(child);
		}
		if (target) {
			long kb = read_hwm_kb(target);

			hwm = kb > hwm ? kb : hwm;
		}
		if (match && now_ns() >= next_match) {
			struct pinfo *ps;
			size_t n = descendants(getpid(), &ps, 1);
			long k = 0;

			for (size_t i = 0; i < n; i++) {
				k += !strcmp(ps[i].cmd, match);
			}
			free(ps);
			concurrent = k > concurrent ? k : concurrent;
			next_match = now_ns() + (int64_t)match_interval * 1000000;
		}
	}
	{
		/* Exited, not reaped yet: its own CPU time is still readable. */
		siginfo_t si;
		char path[64];
		FILE *f;

		memset(&si, 0, sizeof(si));
		waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT);
		snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)child);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%lld", &cpu_ns) != 1) {
				cpu_ns = -1;
			}
			fclose(f);
		}
	}
	if (wait4(child, &status, 0, &ru) < 0) {
		die("wait4");
	}
	printf("wall_ms=%.3f cpu_ms=%.3f hwm_kb=%ld maxrss_kb=%ld concurrent=%ld "
	       "status=%d limited=%d\n",
	       (double)(t_end - t0) / 1e6, cpu_ns < 0 ? -1. : (double)cpu_ns / 1e6,
	       hwm, ru.ru_maxrss, concurrent,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       limited);
	fflush(stdout);
	kill_all_descendants();
	return 0;
}
