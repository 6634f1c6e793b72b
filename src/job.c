/* SPDX-License-Identifier: MIT */
#include "ctxrun/job.h"

#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/cgroup.h"
#include "ctxrun/duration.h"
#include "ctxrun/exit.h"
#include "ctxrun/proc.h"
#include "ctxrun/ptree.h"
#include "ctxrun/remote.h"
#include "ctxrun/util.h"

/*
 * The outcome is decided by who ended the leader. If the job's context was
 * done while the leader still ran, ctxrun sent the stop signal and whatever
 * the leader then exited with (0 after a clean shutdown, 143, 137) is a
 * consequence of the stop, so the cause decides. A stop that only hit
 * leftovers, after the leader had exited, leaves the leader's status in
 * charge: the job did its work.
 */

extern char **environ;

/*
 * A mark is the run's random part and a counter (see ptree.h): unique to
 * this run in any PID namespace, unlike ctxrun's pid.
 */
static unsigned long mark_seq;

/* Where a job is in its life: started at most once, done once. */
enum job_state {
	JOB_STATE_NEW,     /* job_new() */
	JOB_STATE_RUNNING, /* job_start() spawned its leader */
	JOB_STATE_DONE,    /* it has its outcome (JOB_EV_DONE, or no start) */
};

struct job {
	struct job_opts opts;
	struct ctx *ctx;
	struct ctx_ear ear;
	struct proc *proc;
	struct cgroup_job *cgroup; /* NULL: none */
	int channel_fd; /* a remote job's end of its ssh's stdin; -1: none */
	enum job_state state;
	enum job_outcome outcome; /* set once, on the way to JOB_STATE_DONE */
	int exit_code;
	bool stopped_running; /* ctx done while the leader ran */
	bool killed;
	int signal;
	struct ctx_cause cause; /* its text is cause_text */
	char *cause_text;
	char name[]; /* the copy of the options', in the job's allocation */
};

static void job_done_cb(struct ctx_ear *ear, const struct ctx_cause *cause);
static void job_proc_cb(struct proc *p, enum proc_event ev, void *data);
static char **env_build(const struct job *j, const char *mark,
			char *const *add);

/* Create a job from OPTS. */
struct job *
job_new(const struct job_opts *opts)
{
	size_t name_len = strlen(opts->name) + 1;
	struct job *j = xcalloc(1, sizeof(*j) + name_len);

	j->opts = *opts;
	memcpy(j->name, opts->name, name_len);
	j->opts.name = j->name;
	j->exit_code = -1;
	j->channel_fd = -1;
	return j;
}

/* Emit an event of KIND with the fields in EV. */
static void
job_emit(struct job *j, struct job_event ev)
{
	if (j->opts.on_event) {
		j->opts.on_event(j, &ev, j->opts.data);
	}
}

/* Give J's context its own deadline, its timeout from now. */
static void
job_set_deadline(struct job *j)
{
	struct ev_loop *loop = ctx_loop(j->ctx);
	char d[64];
	char cause[192];

	duration_format(j->opts.timeout_ms, d, sizeof(d));
	ev_now_update(loop);
	snprintf(cause, sizeof(cause), "job \"%s\" timed out after %s",
		 j->name, d);
	ctx_set_deadline(j->ctx,
			 ev_now(loop) + (ev_tstamp)j->opts.timeout_ms / 1000.,
			 cause);
}

/*
 * What is left of J's deadline in whole milliseconds, rounded down so the
 * far side's is never later than ours, and at least 1 (0 would be none);
 * 0 when there is none. *NOW gets the Unix time it was measured at.
 */
static int64_t
remaining_ms(const struct job *j, ev_tstamp *now)
{
	struct ev_loop *loop = ctx_loop(j->ctx);
	ev_tstamp deadline = ctx_deadline(j->ctx);
	int64_t ms;

	ev_now_update(loop);
	*now = ev_now(loop);
	if (!deadline) {
		return 0;
	}
	ms = (int64_t)((deadline - *now) * 1000.);
	return ms >= 1 ? ms : 1;
}

/*
 * Make PS the spawn of remote job J's ssh (job.h): its argv in *ARGV, for
 * the caller to free, and its stdin the read end of a pipe whose write
 * end J keeps, for the caller to close after the spawn. The stop is ours
 * to give (job_done_cb()): ssh gets only SIGCONT, and SIGKILL after the
 * far side's grace and a margin. -1 with E when there is no pipe.
 */
static int
remote_prepare(struct job *j, struct proc_opts *ps, char ***argv,
	       struct err *e)
{
	int fds[2];
	int64_t grace = j->opts.grace_ms;
	ev_tstamp now;
	int64_t left = remaining_ms(j, &now);

	if (pipe2(fds, O_CLOEXEC) < 0) {
		err_errno(e, errno, "cannot make the channel of remote job '%s'",
			  j->name);
		e->code = PROC_ERR_RESOURCES;
		return -1;
	}
	*argv = remote_argv(&(struct remote_opts){
		.ssh_command = j->opts.ssh_command,
		.ctxrun = j->opts.remote_ctxrun,
		.host = j->opts.host,
		.name = j->name,
		.argv = j->opts.argv,
		.env_add = j->opts.env_add,
		.cwd = j->opts.cwd,
		.timeout_ms = left,
		.sent_at = now,
		.grace_ms = grace,
		.stop_signal = j->opts.stop_signal,
	});
	ps->argv = *argv;
	ps->search_path = true;
	ps->cwd = NULL;
	ps->foreground = false;
	ps->tty_fd = -1;
	ps->stdin_fd = fds[0];
	ps->stop_signal = 0;
	ps->grace_ms = grace == DURATION_FOREVER ? grace
						 : grace + REMOTE_MARGIN_MS;
	j->channel_fd = fds[1];
	return 0;
}

/* Close J's end of its remote channel, if it has one open. */
static void
channel_close(struct job *j)
{
	if (j->channel_fd >= 0) {
		close(j->channel_fd);
		j->channel_fd = -1;
	}
}

/*
 * Spawn J's leader in its cgroup, if it has one; -1 with E and the exit
 * code a shell would give (exit.h) when it cannot start.
 */
static int
job_spawn(struct job *j, struct reaper *r, struct err *e)
{
	char mark[64]; /* this job's word in CTXRUN_MARK */
	char **envp;
	char **ssh_argv = NULL;
	struct proc_opts ps = {
		.argv = j->opts.argv,
		.search_path = j->opts.search_path,
		.cwd = j->opts.cwd,
		.foreground = j->opts.foreground,
		.leave_nested = j->opts.leave_nested,
		.tty_fd = j->opts.tty_fd,
		.stdin_fd = j->opts.stdin_fd,
		.stdout_fd = j->opts.stdout_fd,
		.stderr_fd = j->opts.stderr_fd,
		.stop_signal = j->opts.stop_signal,
		.grace_ms = j->opts.grace_ms,
		.on_event = job_proc_cb,
		.data = j,
	};
	bool resources;

	e->code = 0;
	if (j->opts.host && remote_prepare(j, &ps, &ssh_argv, e) < 0) {
		j->exit_code = exit_code_of_start(e->saved_errno, true);
		return -1;
	}
	/*
	 * The environment and the mark are only read by the spawn (the proc
	 * keeps its own copy of the mark): a thousand running jobs would
	 * otherwise hold a thousand copies of ctxrun's environment.
	 */
	snprintf(mark, sizeof(mark), "%s.%lu", ptree_run_mark(), ++mark_seq);
	/* A remote job's env is the far side's: ssh runs with ours. */
	envp = env_build(j, mark, j->opts.host ? NULL : j->opts.env_add);
	ps.envp = envp;
	ps.mark = mark;
	if (j->opts.cgroup) {
		j->cgroup = cgroup_job_new(j->opts.cgroup, mark_seq, e);
		ps.cgroup = j->cgroup;
	}
	j->proc = !j->opts.cgroup || j->cgroup
			  ? proc_spawn(ctx_loop(j->ctx), r, &ps, e)
			  : NULL;
	free(envp);
	remote_argv_free(ssh_argv);
	if (j->opts.host) {
		close(ps.stdin_fd);
	}
	if (j->proc) {
		return 0;
	}
	channel_close(j);
	/* No cgroup or no process: ctxrun failed, not the program. */
	resources = (j->opts.cgroup && !j->cgroup) ||
		    e->code == PROC_ERR_RESOURCES;
	if (!resources && !j->opts.host && j->opts.cwd &&
	    access(j->opts.cwd, X_OK) < 0) {
		/* The chdir failed, not the program: say so. */
		err_errno(e, errno, "cannot enter directory '%s'", j->opts.cwd);
		e->saved_errno = ENOENT;
	}
	j->exit_code = exit_code_of_start(e->saved_errno, resources);
	return -1;
}

/* Start J under PARENT. */
int
job_start(struct job *j, struct ctx *parent, struct reaper *r, struct err *e)
{
	if (j->state != JOB_STATE_NEW) {
		BUG("job '%s' started twice", j->name);
	}
	j->ctx = ctx_new(parent);
	if (j->opts.timeout_ms) {
		job_set_deadline(j);
	}
	if (job_spawn(j, r, e) < 0) {
		j->state = JOB_STATE_DONE;
		j->outcome = JOB_FAILED;
		ctx_free(j->ctx);
		j->ctx = NULL;
		return -1;
	}
	j->state = JOB_STATE_RUNNING;
	job_emit(j, (struct job_event){ .kind = JOB_EV_START,
					.pid = proc_pid(j->proc) });
	if (ctx_done(j->ctx)) {
		/* Born under a parent already cancelled: stop at once. */
		job_done_cb(&j->ear, ctx_cause(j->ctx));
	} else {
		ctx_listen(j->ctx, &j->ear, job_done_cb);
	}
	return 0;
}

/* Cancel J's own context with KIND and WHY. */
void
job_cancel(struct job *j, enum ctx_cause_kind kind, const char *why)
{
	if (j->state == JOB_STATE_RUNNING) {
		ctx_cancel(j->ctx, kind, 0, "%s", why);
	}
}

/* SIGKILL J's processes now. */
void
job_kill(struct job *j)
{
	if (j->state == JOB_STATE_RUNNING) {
		proc_kill(j->proc);
	}
}

/* Pass SIG on to J's processes, as GNU timeout does. */
bool
job_forward(struct job *j, int sig)
{
	if (j->state != JOB_STATE_RUNNING || proc_exited(j->proc)) {
		return false;
	}
	job_emit(j, (struct job_event){ .kind = JOB_EV_SIGNAL,
				    .pid = proc_pid(j->proc),
				    .signal = sig,
				    .cause = "passed on",
				    .cause_kind = CTX_CAUSE_SIGNAL });
	proc_signal(j->proc, sig);
	return true;
}

/* Continue J after a suspension. */
void
job_resume(struct job *j)
{
	if (j->proc) {
		proc_resume(j->proc);
	}
}

/* J's name. */
const char *
job_name(const struct job *j)
{
	return j->name;
}

/* J's outcome. */
enum job_outcome
job_outcome(const struct job *j)
{
	return j->outcome;
}

/* Printable outcome. */
const char *
job_outcome_name(enum job_outcome o)
{
	static const char *const names[] = {
		[JOB_NONE] = "pending",        [JOB_SUCCEEDED] = "succeeded",
		[JOB_FAILED] = "failed",
		[JOB_TIMED_OUT] = "timed out", [JOB_CANCELLED] = "cancelled",
		[JOB_SKIPPED] = "skipped",     [JOB_STOPPED] = "stopped",
	};

	return names[o];
}

/* J's exit code. */
int
job_exit_code(const struct job *j)
{
	return j->exit_code;
}

/* Cause of a timed-out or cancelled job. */
const struct ctx_cause *
job_cause(const struct job *j)
{
	return j->cause.kind != CTX_CAUSE_NONE ? &j->cause : NULL;
}

/* The signal that ended the leader, or 0. */
int
job_signal(const struct job *j)
{
	return j->signal;
}

/* Did the stop end in SIGKILL? */
bool
job_killed(const struct job *j)
{
	return j->killed;
}

/* Release J. */
void
job_free(struct job *j)
{
	if (!j) {
		return;
	}
	if (j->state == JOB_STATE_RUNNING) {
		BUG("job_free on running job '%s'", j->name);
	}
	cgroup_job_free(j->cgroup, !j->stopped_running);
	channel_close(j);
	free(j->cause_text);
	free(j);
}

/*
 * Build J's environment: ctxrun's own without any inherited CTXRUN_JOB,
 * CTXRUN_DEADLINE or CTXRUN_MARK, then the job's additions, then those
 * three for this job, MARK its word in CTXRUN_MARK. One allocation holds
 * the pointers and the new strings; the caller frees it.
 */
static char **
env_build(const struct job *j, const char *mark, char *const *add)
{
	static const char job_var[] = "CTXRUN_JOB=";
	static const char deadline_var[] = "CTXRUN_DEADLINE=";
	static const char mark_var[] = PTREE_MARK_VAR "=";
	const char *outer_mark = getenv(PTREE_MARK_VAR);
	size_t n = 0, extra = 0, k = 0;
	char **envp;
	char *strings, *s;
	size_t strings_len;
	ev_tstamp deadline = ctx_deadline_wall(j->ctx);

	for (char **e = environ; *e; e++) {
		n++;
	}
	for (char *const *e = add; e && *e; e++) {
		extra++;
	}
	strings_len = sizeof(job_var) + strlen(j->name) + sizeof(deadline_var) +
		      32 + sizeof(mark_var) + (outer_mark ? strlen(outer_mark) : 0) +
		      strlen(mark) + 1 + 1;
	envp = xmalloc((n + extra + 4) * sizeof(*envp) + strings_len);
	strings = (char *)(envp + n + extra + 4);
	for (char **e = environ; *e; e++) {
		if (strncmp(*e, job_var, sizeof(job_var) - 1) &&
		    strncmp(*e, deadline_var, sizeof(deadline_var) - 1) &&
		    strncmp(*e, mark_var, sizeof(mark_var) - 1)) {
			envp[k++] = *e;
		}
	}
	for (char *const *e = add; e && *e; e++) {
		envp[k++] = *e;
	}
	s = strings;
	envp[k++] = s;
	s += sprintf(s, "%s%s", job_var, j->name) + 1;
	/* A run nested in a job keeps the outer marks: both runs find it. */
	envp[k++] = s;
	s += sprintf(s, "%s%s%s%s", mark_var, outer_mark ? outer_mark : "",
		     outer_mark && *outer_mark ? " " : "", mark) + 1;
	if (deadline) {
		/*
		 * Whole milliseconds, rounded down: a deadline handed on may be
		 * a little early, never late. The epsilon keeps 416.967 (stored
		 * as 416.96699...) from losing a millisecond. A Unix time is
		 * positive, so the conversion's truncation is floor(): no libm,
		 * which would be ctxrun's only use of it (a dynamic build then
		 * loads it, and it costs RSS).
		 */
		long long ms = (long long)(deadline * 1000. + 1e-6);

		envp[k++] = s;
		sprintf(s, "%s%lld.%03lld", deadline_var, ms / 1000, ms % 1000);
	}
	envp[k] = NULL;
	return envp;
}

/* Give J the cause KIND with TEXT, in J's own copy. */
static void
cause_set(struct job *j, enum ctx_cause_kind kind, const char *text)
{
	free(j->cause_text);
	j->cause_text = xstrndup(text, CTX_CAUSE_MAX - 1);
	j->cause = (struct ctx_cause){ .kind = kind, .text = j->cause_text };
}

/*
 * What a remote job's ssh exit status says of its far side, which ended
 * on its own (ctxrun(1), REMOTE JOBS): 124 with a deadline given is the
 * job timed out there; 255 is ssh's own failure, 127 a command, or the
 * far ctxrun, not found: the cause names the host.
 */
static void
remote_decide(struct job *j)
{
	int code = j->exit_code;
	char text[CTX_CAUSE_MAX];

	if (code == EXIT_TIMEDOUT && ctx_deadline(j->ctx)) {
		j->outcome = JOB_TIMED_OUT;
		snprintf(text, sizeof(text), "job \"%s\" timed out on host %s",
			 j->name, j->opts.host);
		cause_set(j, CTX_CAUSE_DEADLINE, text);
	} else if (code == 255) {
		snprintf(text, sizeof(text), "ssh to host %s failed (exit 255)",
			 j->opts.host);
		cause_set(j, CTX_CAUSE_FAILED, text);
	} else if (code == EXIT_ENOENT) {
		snprintf(text, sizeof(text), "not found on host %s: the command, "
			 "or ctxrun itself", j->opts.host);
		cause_set(j, CTX_CAUSE_FAILED, text);
	}
}

/* Decide J's outcome from how its leader ended. */
static void
decide(struct job *j)
{
	int status = proc_status(j->proc);

	j->exit_code = WIFEXITED(status)	 ? WEXITSTATUS(status)
		       : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
					     : EXIT_CANCELED;
	j->killed = proc_kill_sent(j->proc);
	j->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	/*
	 * The far ctxrun exits as a one-command run does: 128+N for a death
	 * by signal N, which is what it was (ctxrun(1), REMOTE JOBS).
	 */
	if (j->opts.host && !j->signal && j->exit_code > 128 &&
	    j->exit_code <= 128 + 64) {
		j->signal = j->exit_code - 128;
	}
	if (j->stopped_running && j->cause.kind == CTX_CAUSE_STOPPED) {
		j->outcome = JOB_STOPPED;
	} else if (j->stopped_running) {
		j->outcome = j->cause.kind == CTX_CAUSE_DEADLINE && !j->cause.inherited
				     ? JOB_TIMED_OUT
				     : JOB_CANCELLED;
	} else {
		j->outcome = j->exit_code == 0 ? JOB_SUCCEEDED : JOB_FAILED;
		if (j->opts.host) {
			remote_decide(j);
		}
	}
}

/* J's context is done: stop its processes. */
static void
job_done_cb(struct ctx_ear *ear, const struct ctx_cause *cause)
{
	struct job *j = container_of(ear, struct job, ear);

	/*
	 * A leader that has exited, reaped or still a zombie, ended on its
	 * own, whatever the context says now (ctxrun may hear the exit only
	 * after a deadline that passed while it was stopped): if it left
	 * processes, the count that finds them stops them (PROC_LEFTOVERS).
	 */
	if (proc_exited(j->proc)) {
		return;
	}
	j->cause = *cause;
	/* The context that owns the text may go before the job does. */
	free(j->cause_text);
	j->cause_text = xstrdup(cause->text);
	j->cause.text = j->cause_text;
	j->stopped_running = true;
	/*
	 * A signal passed on (job_forward()) began the stop already: the
	 * context only says why it ends now (run.h: GNU's later alarms).
	 */
	if (proc_stop_sent(j->proc)) {
		return;
	}
	/* Remote: the far side hears the channel close and stops its tree. */
	channel_close(j);
	job_emit(j, (struct job_event){ .kind = JOB_EV_SIGNAL,
				    .pid = proc_pid(j->proc),
				    .signal = j->opts.grace_ms ? j->opts.stop_signal
							       : SIGKILL,
				    .cause = cause->text,
				    .cause_kind = cause->kind });
	proc_stop(j->proc);
}

/* Something happened to J's processes. */
static void
job_proc_cb(struct proc *p, enum proc_event ev, void *data)
{
	struct job *j = data;

	switch (ev) {
	case PROC_KILLED:
		job_emit(j, (struct job_event){ .kind = JOB_EV_KILL,
					    .pid = proc_pid(p),
					    .grace_ms = j->opts.grace_ms });
		break;
	case PROC_EXITED:
		job_emit(j, (struct job_event){ .kind = JOB_EV_EXIT,
					    .pid = proc_pid(p),
					    .status = proc_status(p) });
		break;
	case PROC_LEFTOVERS:
		job_emit(j, (struct job_event){ .kind = JOB_EV_LEFTOVERS,
					    .pid = proc_pid(p),
					    .count = proc_leftovers(p),
					    .signal = j->opts.stop_signal });
		break;
	case PROC_SUSPENDED:
		job_emit(j, (struct job_event){ .kind = JOB_EV_SUSPENDED,
					    .pid = proc_pid(p) });
		break;
	case PROC_DONE:
		channel_close(j);
		decide(j);
		j->state = JOB_STATE_DONE;
		ctx_unlisten(&j->ear);
		ctx_free(j->ctx);
		j->ctx = NULL;
		proc_free(j->proc);
		j->proc = NULL;
		job_emit(j, (struct job_event){ .kind = JOB_EV_DONE });
		break;
	}
}
