/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "ctxrun/cgroup.h"
#include "ctxrun/ctx.h"
#include "ctxrun/job.h"
#include "ctxrun/ptree.h"
#include "ctxrun/reaper.h"
#include "unit.h"

/*
 * Jobs on the real loop: `sh -c` scripts under a root context, each run
 * until its JOB_EV_DONE stops the reaper and ev_run() returns. What a job
 * reports is recorded in a trace, which refuses any event after DONE.
 */

#define MAX_EVENTS 16

/* What a job reported, in order. */
struct trace {
	enum job_event_kind kinds[MAX_EVENTS];
	int n;
	int done;
	pid_t start_pid, exit_pid;
	int status;           /* JOB_EV_EXIT's */
	int signal;           /* JOB_EV_SIGNAL's */
	char cause[128];      /* JOB_EV_SIGNAL's, copied */
	enum ctx_cause_kind cause_kind;
	int64_t grace_ms;     /* JOB_EV_KILL's */
	size_t leftovers;     /* JOB_EV_LEFTOVERS's */
	enum job_outcome outcome; /* when DONE came */
};

static struct unit_loop fx;
static struct ctx *root;

/* The loop, a reaper and a root context. */
static void
setup(void)
{
	unit_loop_init(&fx);
	root = ctx_new_root(fx.loop);
}

/* Each test ends with nothing watched, active, running or open. */
static void
teardown(void)
{
	ctx_free(root);
	unit_loop_check(&fx);
}

TestSuite(job, .init = setup, .fini = teardown, .timeout = 30);

/* Record an event; DONE, which must be the last, ends the loop. */
static void
trace_cb(struct job *j, const struct job_event *ev, void *data)
{
	struct trace *t = data;

	cr_assert_eq(t->done, 0, "event %d after JOB_EV_DONE", ev->kind);
	cr_assert_lt(t->n, MAX_EVENTS);
	t->kinds[t->n++] = ev->kind;
	switch (ev->kind) {
	case JOB_EV_START:
		t->start_pid = ev->pid;
		break;
	case JOB_EV_SIGNAL:
		t->signal = ev->signal;
		t->cause_kind = ev->cause_kind;
		snprintf(t->cause, sizeof(t->cause), "%s", ev->cause);
		break;
	case JOB_EV_KILL:
		t->grace_ms = ev->grace_ms;
		break;
	case JOB_EV_EXIT:
		t->exit_pid = ev->pid;
		t->status = ev->status;
		break;
	case JOB_EV_LEFTOVERS:
		t->leftovers = ev->count;
		break;
	case JOB_EV_DONE:
		t->done++;
		t->outcome = job_outcome(j);
		reaper_stop(fx.reaper);
		/* A deadline of the root's may still be pending. */
		ev_break(fx.loop, EVBREAK_ALL);
		break;
	case JOB_EV_SUSPENDED:
		break;
	}
}

/* A job spec named "t" for ARGV, traced into T; the test adjusts it. */
static struct job_opts
spec_of(char **argv, struct trace *t)
{
	return (struct job_opts){
		.name = "t", .argv = argv, .search_path = true,
		.grace_ms = 5000, .stop_signal = SIGTERM, .tty_fd = -1,
		.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
		.on_event = trace_cb, .data = t,
	};
}

/* Create and start a job from SPEC, which must start. */
static struct job *
start(const struct job_opts *spec)
{
	struct job *j = job_new(spec);
	struct err e;

	reaper_start(fx.reaper);
	cr_assert_eq(job_start(j, root, fx.reaper, &e), 0, "%s", e.msg);
	return j;
}

/* Create and start job "t" running `sh -c SCRIPT`, traced into T. */
static struct job *
start_sh(char *script, struct trace *t)
{
	char *argv[] = { "sh", "-c", script, NULL };
	struct job_opts spec = spec_of(argv, t);

	return start(&spec);
}

/* Run the loop until the job of T is done. */
static void
run_to_done(struct trace *t)
{
	ev_run(fx.loop, 0);
	cr_assert_eq(t->done, 1, "the loop ended before JOB_EV_DONE");
}

/* Did T see exactly the N events that follow, in order? */
static void
assert_events(const struct trace *t, int n, ...)
{
	va_list ap;

	cr_assert_eq(t->n, n, "%d events, wanted %d", t->n, n);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		int want = va_arg(ap, int);

		cr_assert_eq((int)t->kinds[i], want, "event %d is %d, wanted %d", i,
			     t->kinds[i], want);
	}
	va_end(ap);
}

Test(job, the_exit_status_decides_and_done_comes_last)
{
	char name[] = "build", *ok_argv[] = { "sh", "-c", "exit 0", NULL };
	struct trace t1 = { 0 }, t2 = { 0 };
	struct job_opts spec = spec_of(ok_argv, &t1);
	struct job *ok, *bad;

	spec.name = name;
	ok = start(&spec);
	name[0] = 'X'; /* the job has its own copy */
	cr_assert_str_eq(job_name(ok), "build");
	cr_assert_eq(job_outcome(ok), JOB_NONE);
	cr_assert_eq(job_exit_code(ok), -1);
	cr_assert_eq(t1.n, 1, "only JOB_EV_START comes from job_start()");
	run_to_done(&t1);
	assert_events(&t1, 3, JOB_EV_START, JOB_EV_EXIT, JOB_EV_DONE);
	cr_assert_gt(t1.start_pid, 0);
	cr_assert_eq(t1.exit_pid, t1.start_pid);
	cr_assert(unit_exited(t1.status, 0));
	cr_assert_eq(t1.outcome, JOB_SUCCEEDED, "undecided at JOB_EV_DONE");
	cr_assert_eq(job_exit_code(ok), 0);
	cr_assert_eq(job_signal(ok), 0);
	cr_assert_not(job_killed(ok));
	cr_assert_null(job_cause(ok));
	cr_assert_str_eq(job_outcome_name(job_outcome(ok)), "succeeded");

	bad = start_sh("exit 3", &t2);
	run_to_done(&t2);
	cr_assert_eq(job_outcome(bad), JOB_FAILED);
	cr_assert_eq(job_exit_code(bad), 3);
	cr_assert_null(job_cause(bad));
	cr_assert_str_eq(job_outcome_name(JOB_FAILED), "failed");
	job_free(ok);
	job_free(bad);
}

Test(job, a_cancelled_context_stops_it_and_its_cause_outlives_the_context)
{
	struct trace t = { 0 };
	struct job *j = start_sh("sleep 30", &t);

	ctx_cancel(root, CTX_CAUSE_SIGNAL, SIGINT, "interrupted by SIGINT");
	run_to_done(&t);
	assert_events(&t, 4, JOB_EV_START, JOB_EV_SIGNAL, JOB_EV_EXIT,
		      JOB_EV_DONE);
	cr_assert_eq(t.signal, SIGTERM);
	cr_assert_str_eq(t.cause, "interrupted by SIGINT");
	cr_assert_eq(t.cause_kind, CTX_CAUSE_SIGNAL);
	cr_assert_eq(job_outcome(j), JOB_CANCELLED);
	cr_assert_eq(job_exit_code(j), 128 + SIGTERM);
	cr_assert_eq(job_signal(j), SIGTERM);
	cr_assert_not(job_killed(j));
	/* The context that owned the text is gone; the job kept a copy. */
	ctx_free(root);
	root = NULL;
	cr_assert_eq(job_cause(j)->kind, CTX_CAUSE_SIGNAL);
	cr_assert_eq(job_cause(j)->value, SIGINT);
	cr_assert(job_cause(j)->inherited);
	cr_assert_str_eq(job_cause(j)->text, "interrupted by SIGINT");
	cr_assert_str_eq(job_outcome_name(JOB_CANCELLED), "cancelled");
	job_free(j);
}

Test(job, started_under_a_done_context_it_is_stopped_at_once)
{
	struct trace t = { 0 };
	struct job *j;

	ctx_cancel(root, CTX_CAUSE_FAILED, 1 << 8, "job \"a\" failed");
	j = start_sh("sleep 30", &t);
	assert_events(&t, 2, JOB_EV_START, JOB_EV_SIGNAL);
	run_to_done(&t);
	cr_assert_eq(job_outcome(j), JOB_CANCELLED);
	cr_assert_eq(job_cause(j)->kind, CTX_CAUSE_FAILED);
	cr_assert_str_eq(job_cause(j)->text, "job \"a\" failed");
	cr_assert_eq(job_exit_code(j), 128 + SIGTERM);
	job_free(j);
}

Test(job, its_own_timeout_is_timed_out_and_leaves_the_parent_alone)
{
	char *argv[] = { "sh", "-c", "sleep 30", NULL };
	struct trace t = { 0 };
	struct job_opts spec = spec_of(argv, &t);
	struct job *j;

	ctx_set_deadline(root, ev_now(fx.loop) + 60, "deadline exceeded");
	spec.name = "slow";
	spec.timeout_ms = 50;
	j = start(&spec);
	run_to_done(&t);
	assert_events(&t, 4, JOB_EV_START, JOB_EV_SIGNAL, JOB_EV_EXIT,
		      JOB_EV_DONE);
	cr_assert_str_eq(t.cause, "job \"slow\" timed out after 50ms");
	cr_assert_eq(t.cause_kind, CTX_CAUSE_DEADLINE);
	cr_assert_eq(job_outcome(j), JOB_TIMED_OUT);
	cr_assert_eq(job_cause(j)->kind, CTX_CAUSE_DEADLINE);
	cr_assert_not(job_cause(j)->inherited);
	cr_assert_eq(job_exit_code(j), 128 + SIGTERM);
	cr_assert_not(ctx_done(root), "the job's timeout cancelled its parent");
	cr_assert_str_eq(job_outcome_name(JOB_TIMED_OUT), "timed out");
	job_free(j);
}

/* Start SCRIPT as a job whose stdout is a pipe; wait for its first line. */
static struct job *
start_ready(char *script, int64_t grace_ms, struct trace *t)
{
	char *argv[] = { "sh", "-c", script, NULL }, c;
	struct job_opts spec = spec_of(argv, t);
	int p[2];
	struct job *j;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	spec.stdout_fd = p[1];
	spec.grace_ms = grace_ms;
	j = start(&spec);
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1, "never ready");
	close(p[0]);
	return j;
}

Test(job, a_stop_ignored_for_the_grace_period_ends_in_sigkill)
{
	struct trace t = { 0 };
	struct job *j;

	j = start_ready("trap '' TERM; echo; sleep 30", 100, &t);
	ctx_cancel(root, CTX_CAUSE_CANCELLED, 0, "stopped");
	run_to_done(&t);
	assert_events(&t, 5, JOB_EV_START, JOB_EV_SIGNAL, JOB_EV_KILL,
		      JOB_EV_EXIT, JOB_EV_DONE);
	cr_assert_eq(t.grace_ms, 100);
	cr_assert(unit_killed_by(t.status, SIGKILL));
	cr_assert(job_killed(j));
	cr_assert_eq(job_exit_code(j), 128 + SIGKILL);
	cr_assert_eq(job_outcome(j), JOB_CANCELLED);
	job_free(j);
}

Test(job, kill_skips_the_rest_of_the_grace)
{
	struct trace t = { 0 };
	struct job *j;
	ev_tstamp start_at;

	j = start_ready("trap '' TERM; echo; sleep 30", 60000, &t);
	start_at = ev_time();
	ctx_cancel(root, CTX_CAUSE_CANCELLED, 0, "stopped");
	job_kill(j);
	run_to_done(&t);
	job_kill(j); /* done: a no-op */
	cr_assert_lt(ev_time() - start_at, 20.0, "waited for the grace");
	assert_events(&t, 4, JOB_EV_START, JOB_EV_SIGNAL, JOB_EV_EXIT,
		      JOB_EV_DONE);
	cr_assert(unit_killed_by(t.status, SIGKILL));
	cr_assert(job_killed(j));
	cr_assert_eq(job_outcome(j), JOB_CANCELLED);
	job_free(j);
}

Test(job, leftovers_are_stopped_and_the_leader_keeps_its_outcome)
{
	struct trace t = { 0 };
	struct job *j = start_sh("sleep 30 & exit 4", &t);

	run_to_done(&t);
	assert_events(&t, 4, JOB_EV_START, JOB_EV_EXIT, JOB_EV_LEFTOVERS,
		      JOB_EV_DONE);
	cr_assert_eq(t.leftovers, 1);
	cr_assert_eq(job_outcome(j), JOB_FAILED);
	cr_assert_eq(job_exit_code(j), 4);
	cr_assert_null(job_cause(j));
	job_free(j);
}

/* Start ARGV (in CWD) as a job that cannot start: its exit code. */
static int
cannot_start(char **argv, const char *cwd, int want_errno, const char *want)
{
	struct trace t = { 0 };
	struct job_opts spec = spec_of(argv, &t);
	struct job *j;
	struct err e;
	int code;

	spec.cwd = cwd;
	j = job_new(&spec);
	cr_assert_eq(job_start(j, root, fx.reaper, &e), -1, "%s ran", argv[0]);
	cr_assert_eq(e.saved_errno, want_errno, "%s: %s", argv[0], e.msg);
	cr_assert_str_eq(e.msg, want);
	cr_assert_eq(t.n, 0, "a job that did not start fired events");
	cr_assert_eq(job_outcome(j), JOB_FAILED);
	cr_assert_eq(reaper_watching(fx.reaper), 0);
	code = job_exit_code(j);
	job_free(j);
	return code;
}

Test(job, a_command_that_cannot_run_fails_with_127_or_126)
{
	char dir[] = "/tmp/ctxrun-job-XXXXXX", file[64], nowhere[64], msg[160];
	char *missing[] = { "ctxrun-test-no-such-program", NULL };
	char *plain[] = { file, NULL }, *here[] = { "true", NULL };
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/not-executable", dir);
	snprintf(nowhere, sizeof(nowhere), "%s/nowhere", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(cannot_start(missing, NULL, ENOENT,
				  "cannot run 'ctxrun-test-no-such-program': "
				  "No such file or directory"), 127);
	snprintf(msg, sizeof(msg), "cannot run '%s': Permission denied", file);
	cr_assert_eq(cannot_start(plain, NULL, EACCES, msg), 126);
	snprintf(msg, sizeof(msg), "cannot enter directory '%s': "
		 "No such file or directory", nowhere);
	cr_assert_eq(cannot_start(here, nowhere, ENOENT, msg), 127);
	unlink(file);
	rmdir(dir);
}

/*
 * Run ARGV as job NAME with ENV_ADD, TIMEOUT_MS and CGROUP; its stdout
 * in OUT.
 */
static void
run_output(const char *name, char **argv, char **env_add, int64_t timeout_ms,
	   struct cgroup_run *cgroup, char *out, size_t size)
{
	struct trace t = { 0 };
	struct job_opts spec = spec_of(argv, &t);
	struct job *j;
	size_t len = 0;
	ssize_t n;
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	spec.name = name;
	spec.env_add = env_add;
	spec.timeout_ms = timeout_ms;
	spec.cgroup = cgroup;
	spec.stdout_fd = p[1];
	j = start(&spec);
	close(p[1]);
	run_to_done(&t);
	cr_assert_eq(job_outcome(j), JOB_SUCCEEDED);
	job_free(j);
	while (len < size - 1 &&
	       (n = read(p[0], out + len, size - 1 - len)) > 0) {
		len += (size_t)n;
	}
	close(p[0]);
	out[len] = '\0';
}

Test(job, the_environment_names_the_job_and_carries_its_mark)
{
	char *argv[] = { "sh", "-c",
		"printf '%s|%s|%s|%s' \"$CTXRUN_JOB\" \"$CTXRUN_MARK\" "
		"\"${CTXRUN_DEADLINE-none}\" \"$UNIT_EXTRA\"", NULL };
	char *add[] = { "UNIT_EXTRA=yes", NULL };
	char out[256], want[128], *deadline;
	double at;

	/* What an outer ctxrun set: replaced, except the marks, kept. */
	setenv("CTXRUN_JOB", "outer", 1);
	setenv("CTXRUN_MARK", "outer.1", 1);
	setenv("CTXRUN_DEADLINE", "1.000", 1);
	run_output("envjob", argv, add, 0, NULL, out, sizeof(out));
	/* The run's mark: 128 random bits in hex, then the job's number. */
	snprintf(want, sizeof(want), "envjob|outer.1 %s.", ptree_run_mark());
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "got %s", out);
	cr_assert(strstr(out, "|none|yes"), "got %s", out);
	/* Its own timeout: a deadline as Unix time, 10s from now. */
	run_output("envjob", argv, add, 10000, NULL, out, sizeof(out));
	deadline = strchr(strchr(out, '|') + 1, '|') + 1;
	at = strtod(deadline, NULL);
	cr_assert(at > (double)time(NULL) + 8 && at < (double)time(NULL) + 11,
		  "got %s", out);
	unsetenv("CTXRUN_JOB");
	unsetenv("CTXRUN_MARK");
	unsetenv("CTXRUN_DEADLINE");
}

Test(job, with_a_cgroup_run_it_runs_in_a_cgroup_of_its_own)
{
	char *argv[] = { "cat", "/proc/self/cgroup", NULL };
	struct cgroup_run *cg;
	char out[4096], want[64];
	struct err e;

	cg = cgroup_run_new(&e);
	if (!cg) {
		cr_skip_test("no cgroup here (see the cgroup suite): %s",
			     e.msg);
	}
	run_output("cg", argv, NULL, 0, cg, out, sizeof(out));
	cgroup_run_free(cg);
	snprintf(want, sizeof(want), "/ctxrun.%d/job.", (int)getpid());
	cr_assert_not_null(strstr(out, want), "its cgroups: %s", out);
}

/*
 * Make clone3() fail with ENOSYS in this process (the test's own), as
 * seccomp or valgrind do: spawns then move ctxrun into the job's cgroup.
 */
static void
no_clone3(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };

	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

/* Remove the (empty) job cgroups of CG from under it. */
static void
remove_job_cgroups(struct cgroup_run *cg)
{
	DIR *d = opendir(cgroup_run_path(cg));
	struct dirent *de;
	char path[4096];

	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "job.", 4)) {
			snprintf(path, sizeof(path), "%s/%s",
				 cgroup_run_path(cg), de->d_name);
			cr_assert_eq(rmdir(path), 0, "%s: %s", path,
				     strerror(errno));
		}
	}
	closedir(d);
}

/*
 * A job that cannot enter its cgroup did not start because of ctxrun, not
 * of the program: 125, never the 126 or 127 of a program that cannot run.
 */
Test(job, a_cgroup_it_cannot_enter_fails_it_with_125)
{
	char *argv[] = { "true", NULL };
	struct trace t = { 0 };
	struct job_opts spec = spec_of(argv, &t);
	struct cgroup_run *cg;
	struct job *j;
	char out[64];
	struct err e;

	cg = cgroup_run_new(&e);
	if (!cg) {
		cr_skip_test("no cgroup here (see the cgroup suite): %s",
			     e.msg);
	}
	no_clone3();
	/* The first job leaves its cgroup for the next, which loses it. */
	run_output("cg", argv, NULL, 0, cg, out, sizeof(out));
	remove_job_cgroups(cg);
	spec.cgroup = cg;
	j = job_new(&spec);
	cr_assert_eq(job_start(j, root, fx.reaper, &e), -1, "it ran");
	cr_assert_not_null(strstr(e.msg, "cannot enter cgroup"), "%s", e.msg);
	cr_assert_eq(job_exit_code(j), 125, "%s", e.msg);
	job_free(j);
	cgroup_run_free(cg);
}
