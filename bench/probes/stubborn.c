/* SPDX-License-Identifier: MIT */
/*
 * stubborn: a job that does not stop on SIGTERM (nor SIGINT, SIGHUP).
 * The first time one of them arrives it appends "PID NS" (CLOCK_MONOTONIC)
 * to the file named by $STUBBORN_LOG, then keeps sleeping: only SIGKILL
 * ends it. It exits by itself after $STUBBORN_MAX_S seconds (default 30),
 * so a benchmark gone wrong cannot leave it behind for long.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t logged;
static int log_fd = -1;

static void
on_stop(int sig)
{
	struct timespec ts;
	char buf[64];
	int n;

	(void)sig;
	if (logged || log_fd < 0) {
		return;
	}
	logged = 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(buf, sizeof(buf), "%d %lld\n", (int)getpid(),
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	/* O_APPEND: one short write per job, never torn. */
	if (write(log_fd, buf, (size_t)n) < 0) {
		_exit(3);
	}
}

int
main(void)
{
	const char *log = getenv("STUBBORN_LOG");
	const char *max = getenv("STUBBORN_MAX_S");
	struct sigaction sa;
	unsigned left = max ? (unsigned)atoi(max) : 30;

	if (log) {
		log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (left) {
		left = sleep(left) ? left : 0;
		/* sleep() returns early on a signal; go on sleeping the rest. */
	}
	return 0;
}
