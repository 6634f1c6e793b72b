/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>
#include <signal.h>
#include <string.h>

#include <ev.h>

#include "ctxrun/ctx.h"
#include "ctxrun/job.h"
#include "ctxrun/proc.h"
#include "ctxrun/ptimer.h"
#include "ctxrun/reaper.h"
#include "unit.h"

extern char **environ;

/* What a test saw happen, in order. */
struct seen {
	enum proc_event events[8];
	int n;
	struct proc *p;
	int status;
	size_t leftovers;
	ev_tstamp done_at;
};

static struct ev_loop *loop;
static struct reaper *reaper;
static int fds_before;


/* Each test: a subreaper (as ctxrun is), the loop and a started reaper. */
static void
setup(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	loop = ev_default_loop(0);
	reaper = reaper_new(loop);
	fds_before = unit_open_fds();
}

/* Each test ends with nothing watched, nothing running, no fd leaked. */
static void
teardown(void)
{
	int status;

	cr_assert_eq(reaper_watching(reaper), 0);
	reaper_free(reaper);
	cr_assert_eq(ev_run(loop, EVRUN_NOWAIT), 0, "watchers left active");
	cr_assert_eq(waitpid(-1, &status, WNOHANG), -1, "a child survived");
	cr_assert_eq(errno, ECHILD);
	ptimer_release();
	cr_assert_eq(unit_open_fds(), fds_before, "fd leaked");
}

TestSuite(proc, .init = setup, .fini = teardown, .timeout = 20);

/* Record an event; on PROC_DONE free the proc, as owners do. */
static void
record_cb(struct proc *p, enum proc_event ev, void *data)
{
	struct seen *s = data;

	s->events[s->n++] = ev;
	if (ev == PROC_EXITED) {
		s->status = proc_status(p);
	}
	if (ev == PROC_LEFTOVERS) {
		s->leftovers = proc_leftovers(p);
	}
	if (ev == PROC_DONE) {
		s->done_at = ev_time();
		proc_free(p);
		reaper_stop(reaper);
	}
}

/*
 * Spawn `sh -c SCRIPT` with GRACE_MS and record into S. When the script
 * starts with "ready:", wait until it writes a line to stdout, so that a
 * test signals it only once its traps are in place.
 */
static struct proc *
spawn_sh(const char *script, int64_t grace_ms, struct seen *s)
{
	bool wait_ready = !strncmp(script, "ready:", 6);
	int pipefd[2] = { -1, -1 };

	char *argv[] = { "sh", "-c", (char *)script + (wait_ready ? 6 : 0), NULL };
	struct proc_opts spec = {
		.argv = argv,
		.envp = environ,
		.search_path = true,
		.tty_fd = -1,
		.stdin_fd = -1,
		.stdout_fd = -1,
		.stderr_fd = -1,
		.stop_signal = SIGTERM,
		.grace_ms = grace_ms,
		.on_event = record_cb,
		.data = s,
	};
	struct err e;
	struct proc *p;

	if (wait_ready) {
		cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
		spec.stdout_fd = pipefd[1];
	}
	reaper_start(reaper);
	p = proc_spawn(loop, reaper, &spec, &e);
	cr_assert_not_null(p, "%s", e.msg);
	s->p = p;
	if (wait_ready) {
		char buf[16];

		close(pipefd[1]);
		cr_assert_gt(read(pipefd[0], buf, sizeof(buf)), 0, "never ready");
		close(pipefd[0]);
	}
	return p;
}

Test(proc, exit_status_then_done)
{
	struct seen s = { 0 };

	spawn_sh("exit 3", 1000, &s);
	cr_assert_eq(s.n, 0, "an event fired before the loop ran");
	ev_run(loop, 0);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.events[0], PROC_EXITED);
	cr_assert_eq(s.events[1], PROC_DONE);
	cr_assert(WIFEXITED(s.status));
	cr_assert_eq(WEXITSTATUS(s.status), 3);
}

Test(proc, own_process_group_default_signals_empty_mask)
{
	struct seen s = { 0 };
	struct proc *p;

	/*
	 * Exit 0 only if the shell leads its group and nothing is blocked or
	 * ignored, glibc's internal signals (32, 33) included.
	 */
	signal(SIGUSR1, SIG_IGN);
	/* glibc's internal signal too, which its sigaction() refuses. */
	syscall(SYS_rt_sigaction, 32, (unsigned long[4]){ 1 /* SIG_IGN */ },
		NULL, (NSIG - 1) / 8);
	/*
	 * The mask and the ignored set are read by a program exec'd last, as
	 * they were at the exec: a shell's own state would include the
	 * SIGCHLD it blocks while it waits for a command it ran.
	 */
	p = spawn_sh("[ \"$(awk '{print $5}' /proc/$$/stat)\" = $$ ] || exit 10; "
		     "exec awk '/^SigBlk:/ { b = $2 } /^SigIgn:/ { i = $2 } "
		     "END { if (b !~ /^0*$/) exit 11; "
		     "if (i !~ /^0*$/) exit 12 }' /proc/self/status",
		     1000, &s);
	cr_assert_eq(getpgid(proc_pid(p)), proc_pid(p));
	ev_run(loop, 0);
	/* 10: not its own group; 11: signals blocked; 12: signals ignored. */
	cr_assert_eq(WEXITSTATUS(s.status), 0, "check %d failed",
		     WEXITSTATUS(s.status));
	signal(SIGUSR1, SIG_DFL);
}

Test(proc, exec_failure_is_reported_by_return_value)
{
	char *argv[] = { "ctxrun-test-no-such-program", NULL };
	struct proc_opts spec = {
		.argv = argv, .envp = environ, .search_path = true, .tty_fd = -1,
		.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
		.stop_signal = SIGTERM, .grace_ms = 1000, .on_event = record_cb,
	};
	struct err e;

	cr_assert_null(proc_spawn(loop, reaper, &spec, &e));
	cr_assert_eq(e.saved_errno, ENOENT);
	cr_assert_str_eq(e.msg, "cannot run 'ctxrun-test-no-such-program': "
				"No such file or directory");
}

Test(proc, stop_escalates_to_sigkill_after_grace)
{
	struct seen s = { 0 };
	ev_tstamp start;
	struct proc *p;

	/* The shell and its sleep both ignore SIGTERM (a trap "" is inherited). */
	p = spawn_sh("ready:trap '' TERM; echo ready; sleep 30; exit 0", 300, &s);
	start = ev_time();
	proc_stop(p);
	proc_stop(p); /* idempotent */
	cr_assert(proc_stop_sent(p));
	ev_run(loop, 0);
	cr_assert_eq(s.events[0], PROC_KILLED);
	cr_assert_eq(s.events[1], PROC_EXITED);
	cr_assert_eq(s.events[s.n - 1], PROC_DONE);
	cr_assert(WIFSIGNALED(s.status) && WTERMSIG(s.status) == SIGKILL);
	cr_assert_geq(s.done_at - start, 0.29, "killed before the grace ended");
	cr_assert_lt(s.done_at - start, 5.0);
}

Test(proc, stop_signal_ends_an_obedient_group_before_grace)
{
	struct seen s = { 0 };
	ev_tstamp start;
	struct proc *p;

	p = spawn_sh("ready:sleep 30 & sleep 30 & echo ready; wait", 30000, &s);
	start = ev_time();
	proc_stop(p);
	ev_run(loop, 0);
	cr_assert(WIFSIGNALED(s.status) && WTERMSIG(s.status) == SIGTERM);
	cr_assert_lt(s.done_at - start, 10.0, "waited for the grace period");
}

Test(proc, leftovers_in_the_group_are_stopped_before_done)
{
	struct seen s = { 0 };
	ev_tstamp start = ev_time();

	/* The leader exits at once; two sleeps stay behind in its group. */
	spawn_sh("sleep 30 & sleep 30 & exit 0", 30000, &s);
	ev_run(loop, 0);
	cr_assert_eq(s.events[0], PROC_EXITED);
	cr_assert_eq(s.events[1], PROC_LEFTOVERS);
	cr_assert_eq(s.events[s.n - 1], PROC_DONE);
	cr_assert_eq(s.leftovers, 2);
	cr_assert_eq(WEXITSTATUS(s.status), 0);
	cr_assert_lt(s.done_at - start, 10.0, "waited for the grace period");
}

Test(proc, kill_skips_the_grace)
{
	struct seen s = { 0 };
	ev_tstamp start;
	struct proc *p;

	p = spawn_sh("ready:trap '' TERM; echo ready; sleep 30", 60000, &s);
	start = ev_time();
	proc_stop(p);
	proc_kill(p);
	cr_assert(proc_kill_sent(p));
	ev_run(loop, 0);
	cr_assert(WIFSIGNALED(s.status) && WTERMSIG(s.status) == SIGKILL);
	cr_assert_lt(s.done_at - start, 10.0);
}

/* What a job test saw. */
struct job_seen {
	int events[16];
	int n;
	int done;
};

/* Record a job event; stop the reaper when the job is done. */
static void
job_record_cb(struct job *j, const struct job_event *ev, void *data)
{
	struct job_seen *s = data;

	(void)j;
	s->events[s->n++] = ev->kind;
	if (ev->kind == JOB_EV_DONE) {
		s->done++;
		reaper_stop(reaper);
	}
}

/* Run `sh -c SCRIPT` as a job under PARENT with TIMEOUT_MS to the end. */
static struct job *
run_job(struct ctx *parent, const char *script, int64_t timeout_ms,
	struct job_seen *s)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	struct job_opts spec = {
		.name = "t", .argv = argv, .search_path = true,
		.timeout_ms = timeout_ms, .grace_ms = 5000, .stop_signal = SIGTERM,
		.tty_fd = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
		.on_event = job_record_cb, .data = s,
	};
	struct job *j = job_new(&spec);
	struct err e;

	reaper_start(reaper);
	cr_assert_eq(job_start(j, parent, reaper, &e), 0, "%s", e.msg);
	ev_run(loop, 0);
	cr_assert_eq(s->done, 1);
	return j;
}

Test(proc, job_own_timeout_is_timed_out)
{
	struct ctx *root = ctx_new_root(loop);
	struct job_seen s = { 0 };
	struct job *j = run_job(root, "sleep 30", 100, &s);

	cr_assert_eq(job_outcome(j), JOB_TIMED_OUT);
	cr_assert_eq(job_exit_code(j), 128 + SIGTERM);
	cr_assert_str_eq(job_cause(j)->text, "job \"t\" timed out after 100ms");
	cr_assert_eq(s.events[0], JOB_EV_START);
	cr_assert_eq(s.events[1], JOB_EV_SIGNAL);
	cr_assert_not(ctx_done(root), "a job's timeout cancelled its parent");
	job_free(j);
	ctx_free(root);
}

Test(proc, job_parent_deadline_is_cancelled_with_its_cause)
{
	struct ctx *root = ctx_new_root(loop);
	struct job_seen s = { 0 };
	struct job *j;

	ctx_set_deadline(root, ev_now(loop) + 0.1, "deadline exceeded (--timeout 100ms)");
	j = run_job(root, "sleep 30", 0, &s);
	cr_assert_eq(job_outcome(j), JOB_CANCELLED);
	cr_assert_eq(job_cause(j)->kind, CTX_CAUSE_DEADLINE);
	cr_assert_str_eq(job_cause(j)->text, "deadline exceeded (--timeout 100ms)");
	job_free(j);
	ctx_free(root);
}

Test(proc, job_exit_codes_decide_the_outcome)
{
	struct ctx *root = ctx_new_root(loop);
	struct job_seen s1 = { 0 }, s2 = { 0 }, s3 = { 0 };
	struct job *ok = run_job(root, "exit 0", 0, &s1);
	struct job *bad = run_job(root, "exit 7", 0, &s2);
	struct job *sig = run_job(root, "kill -USR1 $$", 0, &s3);

	cr_assert_eq(job_outcome(ok), JOB_SUCCEEDED);
	cr_assert_eq(job_outcome(bad), JOB_FAILED);
	cr_assert_eq(job_exit_code(bad), 7);
	cr_assert_eq(job_outcome(sig), JOB_FAILED);
	cr_assert_eq(job_exit_code(sig), 128 + SIGUSR1);
	cr_assert_null(job_cause(sig));
	job_free(ok);
	job_free(bad);
	job_free(sig);
	ctx_free(root);
}
