/* SPDX-License-Identifier: MIT */
/*
 * deaths: timestamp the deaths of a supervisor's jobs with pidfds + poll.
 *
 *   deaths -n COUNT -m MATCH [-s SIG | -T TRIGGER | -e LOG -g GRACE_MS]
 *          [-w WAIT_MS] [-S STARTUP_MS] [-d SETTLE_MS] -- SUPERVISOR ARGS...
 *
 * Starts SUPERVISOR, waits until COUNT of its descendants have the command
 * line MATCH (argv joined by spaces, argv[0] as its basename), opens a pidfd
 * on each, then measures from t0:
 *   -s SIG      t0 = the moment the probe sends SIG to the supervisor (after
 *               SETTLE_MS more, so the supervisor sits idle in its loop);
 *   -T TRIGGER  t0 = the death of the descendant whose command line contains
 *               TRIGGER (the job that fails);
 *   -e LOG      escalation: each job (bench/probes/stubborn) appends
 *               "PID NS" to LOG when the stop signal reaches it; per job,
 *               escalation = death - that instant - GRACE_MS.
 * and prints one line:
 *   gone_ms=X exit_ms=Y alive=K jobs=N early=E    (-s, -T; E: with -T, jobs
 *               already dead when the probe woke up to the trigger's death,
 *               counted as gone at t0; rt_t0=1 when the probe waited for
 *               the trigger as a SCHED_FIFO process, to wake up at once)
 *   esc_ms=X term_ms=T exit_ms=Y alive=K jobs=N   (-e; term_ms: the stop
 *   signal's arrival at the first job, from the moment all jobs were seen)
 * where X is the last job's death after t0 and Y the supervisor's exit after
 * t0, or "never" when still alive WAIT_MS after t0. Whatever is left is then
 * SIGKILLed through pidfds (the probe is a subreaper, so nothing escapes).
 */
#include "common.h"

#include <getopt.h>
#include <poll.h>
#include <sched.h>

static void
usage(void)
{
	fprintf(stderr, "usage: deaths -n COUNT -m MATCH [-s SIG | -T TRIGGER | "
			"-e LOG -g GRACE_MS] [-w WAIT_MS] [-S STARTUP_MS] "
			"[-d SETTLE_MS] -- CMD...\n");
	exit(2);
}

static void
fmt_ms(char *buf, size_t size, int64_t ns, int valid)
{
	if (valid) {
		snprintf(buf, size, "%.3f", (double)ns / 1e6);
	} else {
		snprintf(buf, size, "never");
	}
}

int
main(int argc, char **argv)
{
	long count = 0, wait_ms = 3000, startup_ms = 10000, settle_ms = 100,
	     grace_ms = 0;
	const char *match = NULL, *trigger = NULL, *log = NULL;
	int sig = 0, opt;
	pid_t sup;
	int sup_fd, *fds, trig_fd = -1, exit_seen = 0;
	pid_t *pids, trig_pid = 0;
	char sup_cmd[256];
	int64_t *death, t0, t_seen, sup_death = 0, deadline;
	size_t have = 0, alive, early = 0;
	int rt_t0 = 0;

	while ((opt = getopt(argc, argv, "n:m:s:T:e:g:w:S:d:")) != -1) {
		switch (opt) {
		case 'n': count = atol(optarg); break;
		case 'm': match = optarg; break;
		case 's': sig = atoi(optarg); break;
		case 'T': trigger = optarg; break;
		case 'e': log = optarg; break;
		case 'g': grace_ms = atol(optarg); break;
		case 'w': wait_ms = atol(optarg); break;
		case 'S': startup_ms = atol(optarg); break;
		case 'd': settle_ms = atol(optarg); break;
		default: usage();
		}
	}
	if (optind >= argc || count <= 0 || !match || (!sig && !trigger && !log)) {
		usage();
	}
	if (log) {
		/* A fresh log for each run: lines are matched by pid. */
		int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (lfd < 0) {
			die(log);
		}
		close(lfd);
	}
	become_subreaper();
	sup = fork();
	if (sup < 0) {
		die("fork");
	}
	if (sup == 0) {
		reset_child_signals();
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "deaths: cannot run %s: %s\n", argv[optind],
			strerror(errno));
		_exit(127);
	}
	sup_fd = pidfd_open_(sup);
	if (sup_fd < 0) {
		die("pidfd_open");
	}
	pids = calloc((size_t)count, sizeof(*pids));
	fds = calloc((size_t)count, sizeof(*fds));
	death = calloc((size_t)count, sizeof(*death));

	/* Wait until COUNT matching jobs (and the trigger) are running. */
	read_cmd(sup, sup_cmd, sizeof(sup_cmd));
	deadline = now_ns() + startup_ms * 1000000;
	for (;;) {
		struct pinfo *ps;
		size_t n = descendants(getpid(), &ps, 1);

		for (size_t i = 0; i < n; i++) {
			int known = 0;

			if (strcmp(ps[i].cmd, match)) {
				/*
				 * The trigger: not the supervisor, nor a copy of it
				 * between fork and exec (same command line).
				 */
				if (trigger && !trig_pid && have == (size_t)count &&
				    ps[i].pid != sup && strcmp(ps[i].cmd, sup_cmd) &&
				    strstr(ps[i].cmd, trigger)) {
					int fd = pidfd_open_(ps[i].pid);
					char again[256];

					read_cmd(ps[i].pid, again, sizeof(again));
					if (fd >= 0 && !strcmp(again, ps[i].cmd)) {
						trig_pid = ps[i].pid;
						trig_fd = fd;
					} else if (fd >= 0) {
						close(fd);
					}
				}
				continue;
			}
			if (have == (size_t)count) {
				continue;
			}
			for (size_t j = 0; j < have; j++) {
				known |= pids[j] == ps[i].pid;
			}
			if (!known) {
				int fd = pidfd_open_(ps[i].pid);
				char again[256];

				/* Still the same process once pinned? */
				read_cmd(ps[i].pid, again, sizeof(again));
				if (fd >= 0 && !strcmp(again, match)) {
					pids[have] = ps[i].pid;
					fds[have++] = fd;
				} else if (fd >= 0) {
					close(fd);
				}
			}
		}
		free(ps);
		if (have == (size_t)count && (!trigger || trig_pid)) {
			break;
		}
		if (now_ns() > deadline) {
			printf("error=startup seen=%zu/%ld trigger=%s\n", have, count,
			       trigger ? (trig_pid ? "seen" : "missing") : "-");
			kill_all_descendants();
			return 3;
		}
		usleep(5000);
		check_stop_request();
	}
	t_seen = now_ns();

	/* t0 */
	if (sig) {
		usleep((useconds_t)settle_ms * 1000);
		check_stop_request();
		t0 = now_ns();
		kill(sup, sig);
	} else if (trigger) {
		/*
		 * The trigger polled together with the jobs: a job that dies
		 * before it is an error. But t0 is this probe's wake-up, which a
		 * loaded machine can delay past the supervisor's own reaction
		 * (the floor's kill loop, say): jobs found dead by the wake-up
		 * that also finds the trigger dead died after it (the supervisor
		 * reacted to it) and count as gone at t0 ("early" below).
		 */
		struct pollfd *pf = calloc((size_t)count + 1, sizeof(*pf));
		struct pollfd q = { .fd = trig_fd, .events = POLLIN };
		int64_t until = now_ns() + startup_ms * 1000000;
		struct sched_param rt = { .sched_priority = 1 }, normal = { 0 };

		/*
		 * Woken by the trigger's death ahead of everything else (where
		 * allowed): on a busy machine the wake-up of an ordinary process
		 * can come after the supervisor has already killed the jobs. Only
		 * for t0: the deaths after it are timestamped as usual.
		 */
		rt_t0 = sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &rt) == 0;

		pf[0] = (struct pollfd){ .fd = trig_fd, .events = POLLIN };
		for (size_t i = 0; i < have; i++) {
			pf[i + 1] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		}
		for (;;) {
			int64_t left = until - now_ns();
			int r;

			if (left <= 0) {
				printf("error=trigger-never-died\n");
				kill_all_descendants();
				return 3;
			}
			r = poll(pf, (nfds_t)have + 1, (int)(left / 1000000) + 1);
			check_stop_request();
			if (r < 0 && errno != EINTR) {
				die("poll");
			}
			if (r > 0) {
				break;
			}
		}
		t0 = now_ns();
		if (rt_t0) {
			sched_setscheduler(0, SCHED_OTHER, &normal);
		}
		/* Polled again: it may have died while poll went through the jobs. */
		if (poll(&q, 1, 0) != 1) {
			printf("error=job-died-before-trigger\n");
			kill_all_descendants();
			return 3;
		}
		for (size_t i = 0; i < have; i++) {
			if (pf[i + 1].revents & (POLLIN | POLLHUP)) {
				death[i] = t0;
				early++;
			}
		}
		free(pf);
	} else {
		t0 = t_seen;
	}

	/* Timestamp every death until all are gone or WAIT_MS has passed. */
	{
		struct pollfd *pf = calloc((size_t)count + 1, sizeof(*pf));
		size_t *idx = calloc((size_t)count + 1, sizeof(*idx));

		deadline = t0 + wait_ms * 1000000;
		alive = have - early;
		for (;;) {
			size_t np = 0;
			int64_t left = deadline - now_ns();
			int r;

			for (size_t i = 0; i < have; i++) {
				if (!death[i]) {
					pf[np] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
					idx[np++] = i;
				}
			}
			if (!exit_seen) {
				pf[np] = (struct pollfd){ .fd = sup_fd, .events = POLLIN };
				idx[np++] = SIZE_MAX;
			}
			if (!np || left <= 0) {
				break;
			}
			r = poll(pf, (nfds_t)np, (int)(left / 1000000) + 1);
			check_stop_request();
			if (r < 0 && errno != EINTR) {
				die("poll");
			}
			if (r <= 0) {
				continue;
			}
			{
				int64_t t = now_ns();

				for (size_t k = 0; k < np; k++) {
					if (!(pf[k].revents & (POLLIN | POLLHUP))) {
						continue;
					}
					if (idx[k] == SIZE_MAX) {
						exit_seen = 1;
						sup_death = t;
					} else {
						death[idx[k]] = t;
						alive--;
					}
				}
			}
		}
		free(pf);
		free(idx);
	}

	{
		char gone[32], ex[32];
		int64_t last = 0;

		for (size_t i = 0; i < have; i++) {
			if (death[i] > last) {
				last = death[i];
			}
		}
		fmt_ms(ex, sizeof(ex), sup_death - t0, exit_seen);
		if (log) {
			/* Escalation per job: death - its stop signal - grace. */
			FILE *f = fopen(log, "r");
			int64_t worst = INT64_MIN, first_term = INT64_MAX;
			size_t matched = 0;
			long lp;
			long long lns;

			while (f && fscanf(f, "%ld %lld", &lp, &lns) == 2) {
				for (size_t i = 0; i < have; i++) {
					if (pids[i] == (pid_t)lp) {
						int64_t esc = death[i] - lns - grace_ms * 1000000;

						if (lns < first_term) {
							first_term = lns;
						}
						matched++;
						if (death[i] && esc > worst) {
							worst = esc;
						}
					}
				}
			}
			if (f) {
				fclose(f);
			}
			fmt_ms(gone, sizeof(gone), worst,
			       alive == 0 && matched == have && worst != INT64_MIN);
			printf("esc_ms=%s term_ms=%.3f exit_ms=%s alive=%zu jobs=%zu "
			       "signalled=%zu\n",
			       gone, first_term == INT64_MAX ? -1. : (double)(first_term - t0) / 1e6,
			       ex, alive, have, matched);
		} else {
			fmt_ms(gone, sizeof(gone), last - t0, alive == 0);
			printf("gone_ms=%s exit_ms=%s alive=%zu jobs=%zu early=%zu "
			       "rt_t0=%d\n", gone, ex, alive, have, early, rt_t0);
		}
		fflush(stdout);
	}
	kill_all_descendants();
	return 0;
}
