/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/magic.h>

#include "ctxrun/cgroup.h"
#include "ctxrun/spawn.h"
#include "ctxrun/util.h"
#include "unit.h"

/*
 * A run's cgroup below the test's own, where cgroup v2 is writable (as
 * root, or in a delegated subtree); skipped elsewhere. Members are `sleep`
 * processes born in a job's cgroup. .fini kills them by pid and removes
 * every cgroup the test made, whatever the test got to.
 */

#define MAX_PIDS 8

extern char **environ;

static bool writable; /* cgroups can be made here: the tests must pass */
static struct cgroup_run *run;
static struct err run_err;
static char run_path[4096];
static struct cgroup_job *jobs[8];
static pid_t pids[MAX_PIDS];
static int npids;
static int fds_before;

/*
 * Can a cgroup with a cgroup.kill be made below ours? Where the run's
 * would go into RUN_AT.
 */
static bool
cgroup_writable(char *run_at, size_t size)
{
	static const char *const mounts[] = { "/sys/fs/cgroup/unified",
					      "/sys/fs/cgroup" };
	char own[1024] = "", dir[1100], probe[1200], kill_file[1300];
	FILE *f = fopen("/proc/self/cgroup", "re");
	struct statfs sf;
	bool ok;

	while (f && fgets(own, sizeof(own), f) && strncmp(own, "0::", 3)) {
	}
	if (f) {
		fclose(f);
	}
	own[strcspn(own, "\n")] = '\0';
	for (size_t i = 0; i < 2 && !strncmp(own, "0::", 3); i++) {
		if (statfs(mounts[i], &sf) < 0 ||
		    sf.f_type != CGROUP2_SUPER_MAGIC) {
			continue;
		}
		snprintf(dir, sizeof(dir), "%s%s", mounts[i],
			 strcmp(own + 3, "/") ? own + 3 : "");
		snprintf(run_at, size, "%s/ctxrun.%d", dir, (int)getpid());
		snprintf(probe, sizeof(probe), "%s/ctxrun-cgroup-test.%d", dir,
			 (int)getpid());
		if (mkdir(probe, 0755) < 0) {
			return false;
		}
		snprintf(kill_file, sizeof(kill_file), "%s/cgroup.kill", probe);
		ok = access(kill_file, W_OK) == 0;
		rmdir(probe);
		return ok;
	}
	return false;
}

/* The run's cgroup, where one can be made. */
static void
setup(void)
{
	npids = 0;
	memset(jobs, 0, sizeof(jobs));
	run = NULL;
	run_path[0] = '\0';
	fds_before = unit_open_fds();
	writable = cgroup_writable(run_path, sizeof(run_path));
	if (writable) {
		/*
		 * A process that had our pid before us may have died and left
		 * its run's cgroup (a killed run, or a killed test).
		 */
		cgroup_remove(run_path);
		run_path[0] = '\0';
		run = cgroup_run_new(&run_err);
	}
	if (run) {
		snprintf(run_path, sizeof(run_path), "%s",
			 cgroup_run_path(run));
	}
}

/* Kill what was started, then remove every cgroup made. */
static void
teardown(void)
{
	struct stat st;

	for (int i = 0; i < npids; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	for (size_t i = 0; i < sizeof(jobs) / sizeof(*jobs); i++) {
		cgroup_job_free(jobs[i], false);
	}
	cgroup_run_free(run);
	if (run_path[0] && stat(run_path, &st) == 0) {
		cgroup_remove(run_path);
		cr_assert_fail("cgroup_run_free left %s", run_path);
	}
	cr_assert_eq(unit_open_fds(), fds_before, "fd leaked");
}

TestSuite(cgroup, .init = setup, .fini = teardown, .timeout = 20);

/* Skip without cgroups; with them, the run's cgroup must exist. */
static void
need_run(void)
{
	if (!writable) {
		cr_skip_test("no writable cgroup v2 with cgroup.kill here");
	}
	cr_assert_not_null(run, "cgroup_run_new: %s", run_err.msg);
}

/* Job SEQ's cgroup, freed by .fini unless the test frees it first. */
static struct cgroup_job *
new_job(unsigned long seq)
{
	struct err e;

	jobs[seq] = cgroup_job_new(run, seq, &e);
	cr_assert_not_null(jobs[seq], "cgroup_job_new: %s", e.msg);
	return jobs[seq];
}

/* Free job SEQ's cgroup now. */
static void
free_job(unsigned long seq, bool reuse)
{
	cgroup_job_free(jobs[seq], reuse);
	jobs[seq] = NULL;
}

/* Does the cgroup NAME exist below the run's? Its inode in *INO. */
static bool
exists(const char *name, ino_t *ino)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", run_path, name);
	if (stat(path, &st) < 0) {
		return false;
	}
	if (ino) {
		*ino = st.st_ino;
	}
	return true;
}

/* Start PROG in J's cgroup, in a group of its own. */
static pid_t
start_in(struct cgroup_job *j, char *prog)
{
	char *argv[] = { prog, "infinity", NULL };
	struct spawn_opts req = { .argv = argv, .envp = environ,
				 .new_group = true, .tty_fd = -1,
				 .fds = { -1, -1, -1 }, .in_cgroup = true,
				 .cgroup_fd = cgroup_dir(j) };
	struct err e;
	pid_t pid;
	int rc;

	cr_assert_lt(npids, MAX_PIDS);
	rc = spawn_start(&req, &pid);
	if (rc == -ENOSYS) {
		/* No clone3() into a cgroup: move there around the spawn. */
		cr_assert_eq(cgroup_spawn_begin(j, &e), 0, "%s", e.msg);
		req.in_cgroup = false;
		rc = spawn_start(&req, &pid);
		cgroup_spawn_end(j);
	}
	cr_assert_eq(rc, 0, "spawn_start: %s", strerror(rc < 0 ? -rc : rc));
	if (strcmp(prog, "/bin/true")) {
		pids[npids++] = pid;
	}
	return pid;
}

/* Start `sleep` in J's cgroup. */
static pid_t
sleep_in(struct cgroup_job *j)
{
	return start_in(j, "/bin/sleep");
}

/* Reap PID, which must have died of SIG; forget it. */
static void
reap(pid_t pid, int sig)
{
	unit_reap(pid, sig);
	for (int i = 0; i < npids; i++) {
		if (pids[i] == pid) {
			pids[i] = pids[--npids];
		}
	}
}

/* Our cgroup line of /proc/self/cgroup into BUF. */
static void
own_cgroup(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");

	cr_assert_not_null(f);
	while (fgets(buf, (int)size, f) && strncmp(buf, "0::", 3)) {
	}
	fclose(f);
}

Test(cgroup, run_free_removes_the_runs_cgroup_and_all_below)
{
	char want[64], nested[4200], home[1024], now[1024];

	need_run();
	own_cgroup(home, sizeof(home));
	snprintf(want, sizeof(want), "/ctxrun.%d", (int)getpid());
	cr_assert_str_eq(strrchr(run_path, '/'), want);
	cr_assert(exists("cgroup.kill", NULL));
	new_job(1);
	new_job(2);
	cr_assert(exists("job.1", NULL) && exists("job.2", NULL));
	/* What a nested run killed with its job leaves below the job's. */
	snprintf(nested, sizeof(nested), "%s/job.2/ctxrun.1", run_path);
	cr_assert_eq(mkdir(nested, 0755), 0);
	free_job(1, false);
	cr_assert_not(exists("job.1", NULL), "an unwanted cgroup was kept");
	free_job(2, true);
	cr_assert(exists("job.2", NULL), "a spare cgroup was removed");
	cgroup_run_free(run);
	run = NULL;
	cr_assert_not(exists("", NULL), "the run's cgroup is still there");
	own_cgroup(now, sizeof(now));
	cr_assert_str_eq(now, home, "cgroup_run_new did not move us back");
}

Test(cgroup, a_job_cgroup_holds_what_is_started_in_it)
{
	struct cgroup_job *j;
	pid_t a, b;

	need_run();
	j = new_job(1);
	cr_assert_not(cgroup_populated(j));
	cr_assert_eq(cgroup_count(j), 0);
	a = sleep_in(j);
	b = sleep_in(j);
	cr_assert(cgroup_populated(j));
	cr_assert_eq(cgroup_count(j), 2);
	cr_assert(cgroup_holds(j, a) && cgroup_holds(j, b));
	cr_assert_not(cgroup_holds(j, getpid()), "the spawn left us in it");
	cr_assert_not(cgroup_holds(j, getppid()));
	/* Another job's cgroup holds neither. */
	cr_assert_not(cgroup_holds(new_job(2), a));
	cr_assert_eq(cgroup_count(jobs[2]), 0);
}

Test(cgroup, spawn_begin_moves_ctxrun_in_and_end_back)
{
	char home[1024], now[1024];
	struct cgroup_job *j;
	struct err e;

	need_run();
	j = new_job(1);
	own_cgroup(home, sizeof(home));
	cr_assert_eq(cgroup_spawn_begin(j, &e), 0, "%s", e.msg);
	cr_assert(cgroup_holds(j, getpid()));
	cr_assert_eq(cgroup_count(j), 1);
	cgroup_spawn_end(j);
	cr_assert_not(cgroup_holds(j, getpid()));
	cr_assert_not(cgroup_populated(j));
	own_cgroup(now, sizeof(now));
	cr_assert_str_eq(now, home);
}

Test(cgroup, signal_reaches_every_member_outside_the_skipped_group)
{
	struct cgroup_job *j;
	pid_t a, b, c;

	need_run();
	j = new_job(1);
	a = sleep_in(j);
	b = sleep_in(j);
	c = sleep_in(j);
	/* C's group was signalled already (killpg) by the caller. */
	cr_assert_eq(cgroup_signal(j, SIGTERM, 0, getpgid(c)), 2);
	reap(a, SIGTERM);
	reap(b, SIGTERM);
	/*
	 * SIGCONT, then SIGTERM: a fatal signal decides the exit status as
	 * it is sent, so the SIGKILL after it only tells whether it came.
	 */
	cr_assert_eq(cgroup_signal(j, SIGCONT, SIGTERM, 0), 1);
	kill(c, SIGKILL);
	reap(c, SIGTERM);
	cr_assert_eq(cgroup_signal(j, SIGTERM, 0, 0), 0);
}

Test(cgroup, kill_ends_every_member_at_once)
{
	struct cgroup_job *j;
	pid_t a, b;

	need_run();
	j = new_job(1);
	a = sleep_in(j);
	b = sleep_in(j);
	cgroup_kill(j);
	/* Dead, not reaped: no longer listed, but still held. */
	unit_await_exit(a);
	unit_await_exit(b);
	cr_assert_eq(cgroup_count(j), 0);
	cr_assert(cgroup_holds(j, a) && cgroup_holds(j, b));
	reap(a, SIGKILL);
	reap(b, SIGKILL);
	cr_assert_not(cgroup_populated(j));
}

Test(cgroup, an_emptied_cgroup_is_reused_a_killed_one_never)
{
	ino_t first, again, later;
	struct stat st;
	pid_t pid;
	int status;

	need_run();
	/* Job 1 ran a program that exited: its cgroup is job 2's. */
	pid = start_in(new_job(1), "/bin/true");
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(exists("job.1", &first));
	free_job(1, true);
	new_job(2);
	cr_assert_eq(fstat(cgroup_dir(jobs[2]), &st), 0);
	cr_assert_eq(st.st_ino, first, "an emptied cgroup was not reused");
	cr_assert_not(exists("job.2", NULL));
	/* Killed: removed, and job 3 gets a new one. */
	pid = sleep_in(jobs[2]);
	cgroup_kill(jobs[2]);
	reap(pid, SIGKILL);
	free_job(2, true);
	cr_assert_not(exists("job.1", NULL), "a killed cgroup was kept");
	new_job(3);
	cr_assert(exists("job.3", &again));
	/* Still populated when freed: never handed to job 4. */
	pid = sleep_in(jobs[3]);
	free_job(3, true);
	new_job(4);
	cr_assert(exists("job.4", &later));
	cr_assert_neq(later, again, "a populated cgroup was handed on");
	kill(pid, SIGKILL);
	reap(pid, SIGKILL);
	/* Not wanted again: removed at once. */
	free_job(4, false);
	cr_assert_not(exists("job.4", NULL));
}

/*
 * A "ctxrun.PID" left by a killed run whose PID came round again (or a
 * run of the same PID in another PID namespace) does not stop the run:
 * it gets a name of its own, and the other directory is left alone.
 */
Test(cgroup, a_stale_run_cgroup_of_our_pid_is_stepped_over)
{
	struct cgroup_run *r;
	struct err e;
	char *stale;

	r = cgroup_run_new(&e);
	if (!r) {
		cr_skip_test("no writable cgroup v2 here: %s", e.msg);
	}
	stale = xstrdup(cgroup_run_path(r));
	cgroup_run_free(r);
	cr_assert_eq(access(stale, F_OK), -1, "%s was not removed", stale);
	cr_assert_eq(mkdir(stale, 0755), 0, "mkdir %s: %s", stale,
		     strerror(errno));
	r = cgroup_run_new(&e);
	cr_assert_not_null(r, "with %s there: %s", stale, e.msg);
	cr_assert_str_neq(cgroup_run_path(r), stale);
	cgroup_run_free(r);
	cr_assert_eq(access(stale, F_OK), 0, "the other run's cgroup is gone");
	cr_assert_eq(rmdir(stale), 0);
	free(stale);
}
