/* SPDX-License-Identifier: MIT */
/*
 * spawnfloor: the floor for running many short jobs, a few at a time.
 *
 *   spawnfloor -j J -n N -c 'CMD'       N times /bin/sh -c CMD, J at once
 *   spawnfloor -j J -n N -x PROG ARGS   N times PROG ARGS (no shell), J at once
 *
 * Nothing but posix_spawn (a clone(CLONE_VM|CLONE_VFORK) in glibc) and
 * wait: what any supervisor must at least pay per job. Exits 1 if a job
 * failed.
 */
#include <sys/wait.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int
main(int argc, char **argv)
{
	long jobs = 2, n = 1, running = 0, started = 0;
	char **child_argv = NULL;
	char *sh_argv[4] = { "/bin/sh", "-c", NULL, NULL };
	int opt, failed = 0, use_path = 0;

	while ((opt = getopt(argc, argv, "+j:n:c:x")) != -1) {
		switch (opt) {
		case 'j': jobs = atol(optarg); break;
		case 'n': n = atol(optarg); break;
		case 'c': sh_argv[2] = optarg; child_argv = sh_argv; break;
		case 'x': use_path = 1; break;
		default: goto usage;
		}
	}
	if (use_path) {
		if (optind >= argc) {
			goto usage;
		}
		child_argv = argv + optind;
	}
	if (!child_argv || jobs < 1) {
		goto usage;
	}
	while (started < n || running) {
		while (started < n && running < jobs) {
			pid_t pid;
			int rc = (use_path ? posix_spawnp : posix_spawn)(
				&pid, child_argv[0], NULL, NULL, child_argv, environ);

			if (rc) {
				fprintf(stderr, "spawnfloor: %s: %s\n", child_argv[0],
					strerror(rc));
				return 2;
			}
			started++;
			running++;
		}
		{
			int status;

			if (wait(&status) > 0) {
				running--;
				failed |= !WIFEXITED(status) || WEXITSTATUS(status);
			}
		}
	}
	return failed;
usage:
	fprintf(stderr, "usage: spawnfloor -j J -n N (-c CMD | -x PROG ARGS...)\n");
	return 2;
}
