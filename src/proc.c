/* SPDX-License-Identifier: MIT */
#include "ctxrun/proc.h"

#include <sys/wait.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctxrun/cgroup.h"
#include "ctxrun/duration.h"
#include "ctxrun/ptimer.h"
#include "ctxrun/ptree.h"
#include "ctxrun/scan.h"
#include "ctxrun/spawn.h"
#include "ctxrun/spec.h"
#include "ctxrun/util.h"

/*
 * Spawning is spawn.h's clone(CLONE_VM|CLONE_VFORK): starting a job does
 * not copy ctxrun's page tables, and the exec error comes back as a return
 * value, which saves the notify pipe that git and libuv build.
 */

enum proc_state {
	PROC_RUNNING,  /* leader not yet reaped */
	PROC_DRAINING, /* leader reaped, group members left */
	PROC_FINISHED,
};

/* How far the stop sequence went; it only moves forward. */
enum proc_phase {
	PROC_PHASE_NONE,     /* not asked to stop */
	PROC_PHASE_STOPPING, /* stop signal sent, grace timer armed */
	PROC_PHASE_KILLING,  /* SIGKILL sent (the grace ran out, or none) */
};

struct proc {
	struct ev_loop *loop;
	struct reaper *reaper;
	struct reaper_watch watch;
	struct reaper_ear orphans;
	struct ptimer grace;
	enum proc_state state;
	enum proc_phase phase;
	pid_t pid, pgid, self;
	int status;
	int stop_signal;
	int64_t grace_ms;
	int tty_fd;
	struct ptree_match match;
	char *mark;
	struct cgroup_job *cgroup; /* when set, the job is exactly its members */
	struct scan *scan;
	struct scan_req req; /* its walks of /proc, batched with the others' */
	bool own_group;
	bool group_gone;    /* killpg() said ESRCH: never signal it again */
	bool signalled_all; /* a signal went to every member, not only killpg */
	bool listening;     /* leftovers counted: hearing orphans */
	size_t leftovers;
	proc_event_fn *on_event;
	void *data;
};

static void proc_exit_cb(struct reaper_watch *w, int status);
static void proc_job_control(struct proc *p, int status);
static void tty_reclaim(struct proc *p);
static void proc_orphan_cb(struct reaper_ear *ear, pid_t pid, int status);
static void proc_grace_cb(struct ptimer *t);
static enum scan_verdict proc_precheck(struct scan_req *r,
				       const struct scan_children *kids);
static void proc_counted(struct scan_req *r);
static int spawn_leader(const struct proc_opts *opts, pid_t *pid,
			struct err *e);

/* spawn_leader() could not enter the job's cgroup (E says why). */
enum { NO_CGROUP = INT_MIN };

/* A proc with nothing started yet. */
static struct proc *
proc_new(struct ev_loop *loop, struct reaper *r, int stop_signal,
	 int64_t grace_ms, proc_event_fn *on_event, void *data)
{
	struct proc *p = xcalloc(1, sizeof(*p));

	p->loop = loop;
	p->reaper = r;
	p->scan = reaper_scan(r);
	p->req.visit.m = &p->match;
	p->req.precheck = proc_precheck;
	p->req.done = proc_counted;
	p->self = getpid();
	p->stop_signal = stop_signal;
	p->grace_ms = grace_ms;
	p->tty_fd = -1;
	p->on_event = on_event;
	p->data = data;
	ptimer_init(&p->grace, loop, proc_grace_cb);
	return p;
}

/* Start the leader described by OPTS and watch it. */
struct proc *
proc_spawn(struct ev_loop *loop, struct reaper *r,
	   const struct proc_opts *opts, struct err *e)
{
	struct proc *p;
	pid_t pid;
	int rc;

	rc = spawn_leader(opts, &pid, e);
	if (rc == NO_CGROUP) {
		/* Its errno is the cgroup's, not the program's (126, 127). */
		e->code = PROC_ERR_RESOURCES;
		return NULL;
	}
	if (rc < 0) {
		err_errno(e, -rc, "cannot start a process for '%s'", opts->argv[0]);
		e->code = PROC_ERR_RESOURCES;
		return NULL;
	}
	if (rc) {
		return err_errno(e, rc, "cannot run '%s'", opts->argv[0]), NULL;
	}
	p = proc_new(loop, r, opts->stop_signal, opts->grace_ms, opts->on_event,
		     opts->data);
	p->pid = pid;
	p->own_group = !opts->foreground;
	p->pgid = p->own_group ? pid : getpgrp();
	p->mark = opts->mark ? xstrdup(opts->mark) : NULL;
	p->match = (struct ptree_match){
		.ancestor = p->self, .pgid = p->pgid, .mark = p->mark,
		.leave_nested = opts->leave_nested,
	};
	p->tty_fd = opts->tty_fd;
	p->cgroup = opts->cgroup;
	/* libev reaps only from the loop, so the exit cannot slip past this. */
	reaper_watch(r, &p->watch, pid, proc_exit_cb);
	return p;
}

/* Stop what M finds as the leftovers of a leader already gone. */
struct proc *
proc_sweep(struct ev_loop *loop, struct reaper *r, const struct ptree_match *m,
	   int stop_signal, int64_t grace_ms, proc_event_fn *on_event, void *data)
{
	struct ptree_visit v = { .m = m };
	struct proc *p;
	size_t n;

	/* Only the live ones: zombies are being reaped anyway. */
	ptree_walk(&v, 1);
	n = v.live;
	if (!n) {
		return NULL;
	}
	p = proc_new(loop, r, stop_signal, grace_ms, on_event, data);
	p->match = *m;
	p->match.mark = NULL;
	p->state = PROC_DRAINING;
	p->leftovers = n;
	p->listening = true;
	reaper_listen_orphans(r, &p->orphans, proc_orphan_cb);
	proc_stop(p);
	return p;
}

/* Leader's pid. */
pid_t
proc_pid(const struct proc *p)
{
	return p->pid;
}

/* Has the leader exited, reaped or not? */
bool
proc_exited(const struct proc *p)
{
	siginfo_t info = { 0 };

	if (p->state != PROC_RUNNING) {
		return true;
	}
	/* WNOWAIT: only look; libev's reap stays the only one (STYLE 8.6). */
	if (waitid(P_PID, (id_t)p->pid, &info,
		   WEXITED | WNOHANG | WNOWAIT) < 0) {
		return false;
	}
	return info.si_pid == p->pid;
}

/* Leader's wait status. */
int
proc_status(const struct proc *p)
{
	return p->status;
}

/* Did ctxrun send the stop signal? */
bool
proc_stop_sent(const struct proc *p)
{
	return p->phase != PROC_PHASE_NONE;
}

/* Did ctxrun have to send SIGKILL? */
bool
proc_kill_sent(const struct proc *p)
{
	return p->phase == PROC_PHASE_KILLING;
}

/* Leftover members found when the leader exited. */
size_t
proc_leftovers(const struct proc *p)
{
	return p->leftovers;
}

/*
 * With /proc another PID namespace's (ptree.h), send SIG, then THEN unless
 * 0, to what is exactly P's without it: its process group, after the
 * leader was reaped too. The group id stays the group's while a member is
 * left (Linux hands out no pid that a process group still uses), and once
 * killpg() says ESRCH it is never used again, so a process that gets the
 * number later is never hit. Members that left the group are out of reach.
 * A --foreground leader shares ctxrun's group: only itself is known, by
 * its pid, which is its own until reaped.
 */
static void
signal_own_group(struct proc *p, int sig, int then)
{
	p->signalled_all = true;
	if (!p->own_group) {
		if (p->state == PROC_RUNNING && kill(p->pid, sig) == 0 && then) {
			kill(p->pid, then);
		}
		return;
	}
	if (p->group_gone) {
		return;
	}
	if (killpg(p->pgid, sig) < 0 && errno == ESRCH) {
		p->group_gone = true;
		return;
	}
	if (then) {
		killpg(p->pgid, then);
	}
}

/*
 * Send SIG, then THEN unless 0, to every member of P's job, safely for the
 * state it is in:
 * killpg() while the leader's pid holds the group id, and a walk of /proc
 * (batched, see scan.h) for members outside the group or after the leader.
 */
static void
signal_group(struct proc *p, int sig, int then)
{
	bool all;

	if (p->cgroup) {
		pid_t sent_to = 0;

		p->signalled_all = true;
		if (sig == SIGKILL) {
			cgroup_kill(p->cgroup);
			return;
		}
		/*
		 * Most jobs are all in their group: killpg() reaches them at
		 * once, and the cgroup's other members are signalled after.
		 */
		if (p->state == PROC_RUNNING && p->own_group &&
		    killpg(p->pgid, sig) == 0) {
			sent_to = p->pgid;
			if (then) {
				killpg(p->pgid, then);
			}
		}
		cgroup_signal(p->cgroup, sig, then, sent_to);
		return;
	}
	if (!ptree_proc_ours()) {
		signal_own_group(p, sig, then);
		return;
	}
	all = p->state != PROC_RUNNING || !p->own_group ||
	      (killpg(p->pgid, sig) < 0 && errno == ESRCH) ||
	      (then && killpg(p->pgid, then) < 0 && errno == ESRCH);
	if (all || p->mark) {
		p->signalled_all |= all;
		scan_signal(p->scan, &p->req, sig, !all);
		if (then) {
			scan_signal(p->scan, &p->req, then, !all);
		}
	}
}

/*
 * Send SIG as a stop does: then SIGCONT, since a stopped process cannot
 * act on it until continued. Signal 0 (GNU timeout's -s 0) only probes,
 * so SIGCONT alone is what it sends.
 */
static void
send_stop(struct proc *p, int sig)
{
	int first = sig ? sig : SIGCONT;

	signal_group(p, first, first != SIGCONT ? SIGCONT : 0);
}

/*
 * Arm the grace timer of the stop under way, unless it is armed: P's
 * grace period; or, when that is DURATION_FOREVER, none while the leader
 * runs and the default one once it is gone: GNU's timeout would have
 * exited then, and its leftovers may neither outlive the run nor hang it.
 */
static void
arm_grace(struct proc *p)
{
	int64_t ms = p->grace_ms;

	if (ms == DURATION_FOREVER) {
		if (p->state == PROC_RUNNING) {
			return;
		}
		ms = SPEC_DEFAULT_GRACE_MS;
	}
	if (!ptimer_active(&p->grace)) {
		ptimer_start(&p->grace, (double)ms / 1000.);
	}
}

/* Begin the stop sequence with SIG in place of the stop signal. */
static void
stop_with(struct proc *p, int sig)
{
	p->phase = PROC_PHASE_STOPPING;
	if (p->grace_ms == 0 || sig == SIGKILL) {
		proc_kill(p);
		return;
	}
	send_stop(p, sig);
	arm_grace(p);
}

/* Begin the stop sequence. */
void
proc_stop(struct proc *p)
{
	if (p->state == PROC_FINISHED || p->phase != PROC_PHASE_NONE) {
		return;
	}
	stop_with(p, p->stop_signal);
}

/* Send SIG to every member now, as GNU timeout passes a signal on. */
void
proc_signal(struct proc *p, int sig)
{
	if (p->state == PROC_FINISHED || p->phase == PROC_PHASE_KILLING) {
		return;
	}
	if (sig == SIGKILL) {
		proc_kill(p);
	} else if (p->phase == PROC_PHASE_NONE) {
		stop_with(p, sig);
	} else {
		send_stop(p, sig);
	}
}

/* SIGKILL the whole group now. */
void
proc_kill(struct proc *p)
{
	if (p->state == PROC_FINISHED) {
		return;
	}
	ptimer_stop(&p->grace);
	p->phase = PROC_PHASE_KILLING;
	signal_group(p, SIGKILL, 0);
	/*
	 * The killed report as reaped orphans; but a leftover that got out of
	 * the job's reach (left the group and dropped its mark) will not, and
	 * must not be waited for forever: count again.
	 */
	if (p->state == PROC_DRAINING && p->listening) {
		scan_count(p->scan, &p->req);
	}
}

/* Continue P after a suspension, with the terminal if ctxrun has it. */
void
proc_resume(struct proc *p)
{
	if (p->state != PROC_RUNNING) {
		return;
	}
	if (p->tty_fd >= 0 && tcgetpgrp(p->tty_fd) == getpgrp()) {
		tcsetpgrp(p->tty_fd, p->pgid);
	}
	signal_group(p, SIGCONT, 0);
}

/* Release P. */
void
proc_free(struct proc *p)
{
	if (!p) {
		return;
	}
	reaper_unwatch(p->reaper, &p->watch);
	reaper_unlisten_orphans(p->reaper, &p->orphans);
	scan_cancel(p->scan, &p->req);
	ptimer_stop(&p->grace);
	free(p->mark);
	free(p);
}

/*
 * Start the leader OPTS describes, in its cgroup if it has one: born there
 * by clone3() where the system can; else ctxrun moves itself in around
 * the spawn (two cgroup migrations, each dearer than the clone).
 */
static int
spawn_leader(const struct proc_opts *opts, pid_t *pid, struct err *e)
{
	struct spawn_opts req = {
		.argv = opts->argv,
		.envp = opts->envp,
		.search_path = opts->search_path,
		.cwd = opts->cwd,
		.new_group = !opts->foreground,
		.tty_fd = opts->foreground ? -1 : opts->tty_fd,
		.fds = { opts->stdin_fd, opts->stdout_fd, opts->stderr_fd },
		.in_cgroup = opts->cgroup != NULL,
		.cgroup_fd = opts->cgroup ? cgroup_dir(opts->cgroup) : -1,
	};
	int rc = spawn_start(&req, pid);

	if (rc != -ENOSYS || !req.in_cgroup) {
		return rc;
	}
	if (cgroup_spawn_begin(opts->cgroup, e) < 0) {
		return NO_CGROUP;
	}
	req.in_cgroup = false;
	rc = spawn_start(&req, pid);
	cgroup_spawn_end(opts->cgroup);
	return rc;
}

/* Give the terminal back to ctxrun's group if P's group still holds it. */
static void
tty_reclaim(struct proc *p)
{
	sigset_t ttou, old;

	if (p->tty_fd < 0 || tcgetpgrp(p->tty_fd) != p->pgid) {
		return;
	}
	/* From a background group, tcsetpgrp() is allowed with SIGTTOU blocked. */
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	tcsetpgrp(p->tty_fd, getpgrp());
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* Leader reaped and group empty: release what P holds and say so. */
static void
finish(struct proc *p)
{
	p->state = PROC_FINISHED;
	ptimer_stop(&p->grace);
	reaper_unlisten_orphans(p->reaper, &p->orphans);
	scan_cancel(p->scan, &p->req);
	tty_reclaim(p);
	p->on_event(p, PROC_DONE, p->data);
}

/*
 * Is one of KIDS (our children) unwatched and in P's cgroup: a member
 * that exited (cgroup.events already said empty) but that we have not
 * reaped yet? ctxrun must not finish the job, and perhaps exit, before
 * reaping it. A member leaves its cgroup before it is a zombie its parent
 * can reap, so the list must be read after cgroup.events (scan.h).
 */
static bool
members_unreaped(const struct proc *p, const struct scan_children *kids)
{
	for (long i = 0; i < kids->n; i++) {
		if (!reaper_watches(p->reaper, kids->pids[i]) &&
		    cgroup_holds(p->cgroup, kids->pids[i])) {
			return true;
		}
	}
	return false;
}

/*
 * Settle a count without walking /proc when possible: the common case is
 * an empty job and no stray process. A cgroup is exact: one read proves
 * it empty (our other children may be other jobs' escapees: a daemon
 * re-parented to us stays in its own job's cgroup), and the children
 * list then shows a member that died but is not reaped yet. Without a
 * cgroup, an empty group proves the first; for the second, anything that
 * left the group and outlived its parent was re-parented to us (we are a
 * subreaper), so it shows as a child nobody watches. Once the leftovers
 * are known, a group that still has processes needs no count: the last
 * of them to go is reaped by us, which asks again.
 */
static enum scan_verdict
proc_precheck(struct scan_req *r, const struct scan_children *kids)
{
	struct proc *p = container_of(r, struct proc, req);

	if (kids) {
		/* No list, or more children than we watch: look closer. */
		if (kids->n < 0 || (!p->cgroup && (size_t)kids->n >
						     reaper_watching(p->reaper))) {
			return SCAN_WALK;
		}
		r->visit.found = p->cgroup && members_unreaped(p, kids);
		return SCAN_SETTLED;
	}
	if (p->cgroup) {
		/* Processes in cgroups below the job's own count as one. */
		if (!cgroup_populated(p->cgroup)) {
			return SCAN_CHILDREN;
		}
		r->visit.found = cgroup_count(p->cgroup);
		r->visit.found += !r->visit.found;
		return SCAN_SETTLED;
	}
	if (!ptree_proc_ours()) {
		/* Only the group can tell (see signal_own_group()). */
		if (p->own_group && !p->group_gone && killpg(p->pgid, 0) < 0 &&
		    errno == ESRCH) {
			p->group_gone = true;
		}
		r->visit.found = p->own_group && !p->group_gone;
		return SCAN_SETTLED;
	}
	if (!p->own_group) {
		return SCAN_WALK;
	}
	if (killpg(p->pgid, 0) == 0) {
		if (!p->listening) {
			return SCAN_WALK;
		}
		r->visit.found = 1;
		return SCAN_SETTLED;
	}
	return errno == ESRCH ? SCAN_CHILDREN : SCAN_WALK;
}

/*
 * The leader stopped or continued. Only a stop by the terminal matters: the
 * job's group holds the terminal, so the shell cannot take it back, and
 * ctxrun must step in as a shell would.
 */
static void
proc_job_control(struct proc *p, int status)
{
	int sig = WIFSTOPPED(status) ? WSTOPSIG(status) : 0;

	if (p->tty_fd < 0 || tcgetpgrp(p->tty_fd) != p->pgid ||
	    (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU)) {
		return;
	}
	tty_reclaim(p);
	p->on_event(p, PROC_SUSPENDED, p->data);
}

/* The leader was reaped. */
static void
proc_exit_cb(struct reaper_watch *w, int status)
{
	struct proc *p = container_of(w, struct proc, watch);

	if (WIFSTOPPED(status) || WIFCONTINUED(status)) {
		proc_job_control(p, status);
		return;
	}
	if (p->state != PROC_RUNNING) {
		BUG("leader %d reaped twice", (int)p->pid);
	}
	p->status = status;
	p->state = PROC_DRAINING;
	p->on_event(p, PROC_EXITED, p->data);
	/* Jobs that end together share the proof that they are over. */
	scan_count(p->scan, &p->req);
}

/* The leftovers were counted (first time) or counted again. */
static void
proc_counted(struct scan_req *r)
{
	struct proc *p = container_of(r, struct proc, req);

	if (p->state != PROC_DRAINING) {
		return;
	}
	if (!r->visit.found) {
		finish(p);
		return;
	}
	if (p->listening) {
		return;
	}
	p->listening = true;
	p->leftovers = r->visit.found;
	reaper_listen_orphans(p->reaper, &p->orphans, proc_orphan_cb);
	switch (p->phase) {
	case PROC_PHASE_NONE:
		p->on_event(p, PROC_LEFTOVERS, p->data);
		proc_stop(p);
		break;
	/*
	 * A stop is under way, but a process that left the group while it
	 * began may have missed its signal: repeat the last one to whatever
	 * is left.
	 */
	case PROC_PHASE_STOPPING:
		if (!p->signalled_all) {
			send_stop(p, p->stop_signal);
		}
		arm_grace(p);
		break;
	case PROC_PHASE_KILLING:
		proc_kill(p);
		break;
	}
}

/* An orphan was reaped: maybe it was the last member of P's job. */
static void
proc_orphan_cb(struct reaper_ear *ear, pid_t pid, int status)
{
	struct proc *p = container_of(ear, struct proc, orphans);

	(void)pid;
	(void)status;
	scan_count(p->scan, &p->req);
}

/* The grace period is over: SIGKILL the group. */
static void
proc_grace_cb(struct ptimer *t)
{
	struct proc *p = container_of(t, struct proc, grace);

	p->on_event(p, PROC_KILLED, p->data);
	proc_kill(p);
}
