/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_PROC_H
#define CTXRUN_PROC_H

/*
 * One job's processes: a leader started in its own process group, and
 * whatever it starts there.
 *
 * Lifecycle:
 *   1. proc_spawn() starts the leader with default signal dispositions, an
 *      empty signal mask and only fds 0-2, and registers it with the reaper.
 *      Failure to start (not found, not executable, no resources) is
 *      reported by the return value; no event follows.
 *   2. proc_stop() asks it to end: the stop signal and SIGCONT to the whole
 *      group, then SIGKILL to the whole group when the grace period is over
 *      (PROC_KILLED). proc_kill() skips the rest of the grace period.
 *   3. PROC_EXITED fires when the leader has been reaped; proc_status() has
 *      its wait status from then on. If members of its group are still
 *      running, PROC_LEFTOVERS fires and they are stopped the same way
 *      (unless a stop is already under way).
 *   4. PROC_DONE fires once the leader is reaped and the group is empty. It
 *      is the last event; the owner may proc_free() from it.
 *
 * The group is signalled with killpg() only while the leader is unreaped:
 * its pid then still holds the group id, so the id cannot name anyone else.
 * After that, members are found in /proc below ctxrun and signalled through
 * pidfds (see ptree.h). With `foreground` the leader stays in ctxrun's group
 * and its members are always found that way. Processes that left the group
 * (setsid, double fork) are members too when they carry the proc's mark:
 * they get every signal the group gets, and the proc is not done while
 * any of them runs. Where /proc is another PID namespace's (ptree.h), the
 * group is all a proc is: killpg() serves after the leader was reaped
 * too, until it says ESRCH.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "ctxrun/err.h"
#include "ctxrun/reaper.h"

struct proc;
struct ptree_match;
struct cgroup_job;

/* What happens to a proc; pipeline.h has the table of every level. */
enum proc_event {
	PROC_KILLED,    /* the grace period ran out: SIGKILL sent */
	PROC_EXITED,    /* the leader was reaped */
	PROC_LEFTOVERS, /* the leader left members running; stopping them */
	PROC_DONE,      /* leader reaped and group empty: the last event */
	PROC_SUSPENDED, /* the leader holding the terminal was stopped by it
			   (Ctrl-Z, SIGTTIN, SIGTTOU); the terminal is back
			   with ctxrun's group. See proc_resume(). */
};

typedef void proc_event_fn(struct proc *p, enum proc_event ev, void *data);

/* How to start a proc. Strings are borrowed for the duration of the call. */
struct proc_opts {
	char *const *argv;  /* argv[0] names the program */
	char *const *envp;  /* full environment of the leader */
	const char *mark;   /* the job's word in envp's CTXRUN_MARK (see
			       ptree.h); NULL: the group alone is the job */
	bool search_path;   /* look argv[0] up in PATH */
	const char *cwd;    /* NULL: ctxrun's working directory */
	bool foreground;    /* stay in ctxrun's process group */
	int tty_fd;         /* >= 0: give the group this terminal */
	int stdin_fd;       /* -1: ctxrun's own */
	int stdout_fd;      /* -1: ctxrun's own */
	int stderr_fd;      /* -1: ctxrun's own */
	struct cgroup_job *cgroup; /* the job's own cgroup, or NULL (borrowed,
				      outlives the proc); see cgroup.h */
	int stop_signal;    /* first signal of a stop; 0 sends SIGCONT only */
	int64_t grace_ms;   /* stop signal to SIGKILL; 0 = SIGKILL at once;
			       DURATION_FOREVER: none while the leader runs,
			       then SPEC_DEFAULT_GRACE_MS for its leftovers */
	bool leave_nested;  /* while the leader runs, leave a nested run's
			       processes (ptree.h) to it but for SIGKILL */
	proc_event_fn *on_event;
	void *data;
};

/* E->code when ctxrun could not make a process at all (not the program's
 * fault: no memory, no process slot, no entry to the job's cgroup). */
#define PROC_ERR_RESOURCES 1

/*
 * Start the leader described by OPTS on LOOP and watch it with R. Returns
 * the proc, or NULL with E filled (E->saved_errno says why: ENOENT for a
 * program not found; E->code PROC_ERR_RESOURCES when no process could be
 * made, or made in the job's cgroup) and nothing left running. OPTS's fds
 * are not closed.
 */
struct proc *proc_spawn(struct ev_loop *loop, struct reaper *r,
			const struct proc_opts *opts, struct err *e);

/*
 * Stop whatever M finds (see ptree.h) as the leftovers of a leader already
 * reaped: the stop signal and SIGCONT now, SIGKILL after GRACE_MS
 * (PROC_KILLED), PROC_DONE once none is left. Returns NULL when M finds
 * nothing. For what jobs left behind out of their own reach (ctxrun's
 * final sweep).
 */
struct proc *proc_sweep(struct ev_loop *loop, struct reaper *r,
			const struct ptree_match *m, int stop_signal,
			int64_t grace_ms, proc_event_fn *on_event, void *data);
/* Leader's pid. */
pid_t proc_pid(const struct proc *p);

/*
 * Has the leader exited: reaped, or a zombie the reaper has not heard of
 * yet? The exit of a leader can be heard a loop turn after a cancellation
 * that came later (ctxrun was stopped, or busy): this tells the two apart
 * without reaping.
 */
bool proc_exited(const struct proc *p);

/* Leader's wait status; valid once PROC_EXITED fired. */
int proc_status(const struct proc *p);

/* Did ctxrun send the stop signal, and did it have to send SIGKILL? */
bool proc_stop_sent(const struct proc *p);
bool proc_kill_sent(const struct proc *p);

/* Number of leftover members found when the leader exited. */
size_t proc_leftovers(const struct proc *p);

/* Begin the stop sequence; a no-op when one is under way or P is done. */
void proc_stop(struct proc *p);

/* SIGKILL the whole group now; a no-op when P is done. */
void proc_kill(struct proc *p);

/*
 * Send SIG (0: SIGCONT only), then SIGCONT, to every member now, as GNU
 * timeout passes on a signal it got; the first such signal or stop begins
 * the stop sequence, with its grace period. SIGKILL is proc_kill(). A
 * no-op once SIGKILL was sent or P is done.
 */
void proc_signal(struct proc *p, int sig);

/*
 * After PROC_SUSPENDED, once ctxrun itself was continued: give the terminal
 * back to P's group if ctxrun is in the foreground (`fg`, not `bg`), then
 * SIGCONT the group.
 */
void proc_resume(struct proc *p);

/* Release P; stops nothing, so call it after PROC_DONE. NULL is a no-op. */
void proc_free(struct proc *p);

#endif
