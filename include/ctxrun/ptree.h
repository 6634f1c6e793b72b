/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_PTREE_H
#define CTXRUN_PTREE_H

/*
 * The process tree as /proc shows it, for finding a job's processes once
 * its leader may be gone.
 *
 * A job's members are the processes that descend from ctxrun and either sit
 * in the job's process group, carry the job's mark in CTXRUN_MARK (their
 * environment at exec), or descend from a process that does. The mark is
 * what finds a process that left the group (setsid, a daemon's double
 * fork); descent is what makes all this safe: ctxrun is a child subreaper,
 * so everything a job starts stays below it, and a group id or a mark seen
 * in a stranger is never taken for a job's. Signals go
 * through a pidfd opened on each member and re-checked after opening, so a
 * PID recycled between the scan and the signal is never hit.
 *
 * A mark is the run's 128 random bits in hex, a point and the job's number
 * ("3f2a...9c.4"): no other run, in this PID namespace or another, can
 * have it, and a copy only comes from reading a job's environment.
 *
 * All of this holds only when /proc is this PID namespace's: a PID
 * namespace started without mounting its own (unshare --pid without
 * --mount-proc) shows the parent namespace's processes under numbers that
 * mean others here. ptree_proc_ours() says which; when it is not, every
 * walk finds nothing, and callers rely on what is exact without /proc
 * (their children, process groups, cgroups).
 *
 * Nothing here touches the event loop; a scan costs one read of /proc/N/stat
 * per process on the machine, so callers scan only when a job's group may
 * still have members.
 */

#include <stdbool.h>
#include <sys/types.h>

/* Name of the environment variable that carries job marks. */
#define PTREE_MARK_VAR "CTXRUN_MARK"

/* Which processes make up one job. */
struct ptree_match {
	pid_t ancestor;   /* ctxrun itself; never a member */
	pid_t pgid;       /* the job's process group */
	const char *mark; /* a word of CTXRUN_MARK; NULL: match by group only */
	bool any;         /* every descendant of the ancestor is a member */
	pid_t exclude;    /* > 0: never a member, nor anything below it */
	/*
	 * Send outside_sigs but SIGKILL to no process of a run nested in
	 * the job: one that a ctxrun started below marked with a word after
	 * the job's, and what descends from it. That ctxrun passes its own
	 * stop on, as GNU timeout's nested in one another do, and a job
	 * cgroup's signals (cgroup.h) reach no cgroup below it either.
	 */
	bool leave_nested;
};

#define PTREE_MAX_SIGS 3

/* One job's part in a walk shared by many (ptree_walk). */
struct ptree_visit {
	const struct ptree_match *m;
	int sigs[PTREE_MAX_SIGS];         /* to every live member, in order;
					     0 ends the list */
	int outside_sigs[PTREE_MAX_SIGS]; /* then to live members outside the
					     group only (killpg() had the rest) */
	size_t found; /* out: members, zombies included */
	size_t live;  /* out: members not zombies */
	size_t sent;  /* out: signals delivered */
};

/*
 * Walk /proc once for the N jobs of V, which share an ancestor: count each
 * one's members and send them its signals. A process that would be a
 * member of two jobs (one of them started below the other's) is the
 * nearer one's. A walk costs one read of /proc/N/stat per process on the
 * machine, plus one of /proc/N/environ per process below the ancestor and
 * outside every group of V when some job has a mark; this is what lets
 * stopping a hundred jobs cost one walk rather than two hundred.
 */
void ptree_walk(struct ptree_visit *v, size_t n);

/*
 * Count the members of the job M describes. Zombies count: their parent,
 * ctxrun or a live member, will reap them, which is the event that tells
 * the caller to look again.
 */
size_t ptree_count(const struct ptree_match *m);

/*
 * Send SIG to every live member of the job M describes, through a pidfd
 * where the kernel has them. Returns the number of processes signalled.
 */
size_t ptree_signal(const struct ptree_match *m, int sig);

/*
 * Is /proc this PID namespace's: does /proc/self name getpid(), and at one
 * level only? Asked of the kernel once per process, then remembered.
 */
bool ptree_proc_ours(void);

/*
 * The run's part of every job mark (32 hex digits), drawn on the first
 * call; a process forked after that call shares it.
 */
const char *ptree_run_mark(void);

/* Pidfds kept on processes already signalled (the watchdog's). */
struct ptree_pins;

struct ptree_pins *ptree_pins_new(void);

/*
 * Was the process that holds PID now signalled already? True while the
 * process pinned for PID lives (a PID is not reused before its holder is
 * reaped): a dead one's PID may name a new process, which was not.
 */
bool ptree_pins_hold(struct ptree_pins *s, pid_t pid);

/* Keep FD, a pidfd on PID (S owns it from now on). */
void ptree_pins_add(struct ptree_pins *s, pid_t pid, int fd);

/* Close every pidfd of S and free it. NULL is a no-op. */
void ptree_pins_free(struct ptree_pins *s);

/*
 * After ctxrun died: its run's processes that carry one of its marks, for
 * its watchdog. Only the processes proven to descend from the run count
 * (see ptree.c for how, once the run's processes were re-parented away).
 */
struct ptree_orphans;

/*
 * Find the run of ctxrun PARENT, the caller's parent until it died, whose
 * marks start with RUN_MARK (ptree_run_mark()). Waits briefly for the
 * kernel to re-parent the caller. Finds nothing when /proc is not ours.
 */
struct ptree_orphans *ptree_orphans_new(pid_t parent, const char *run_mark);

/*
 * Send SIG, then THEN unless 0, to each live marked process of O that PINS
 * does not hold, and pin it; with PINS NULL, to every one. Returns how
 * many live marked processes O has (signalled now or before).
 */
size_t ptree_orphans_signal(struct ptree_orphans *o, int sig, int then,
			    struct ptree_pins *pins);

/* Free O. NULL is a no-op. */
void ptree_orphans_free(struct ptree_orphans *o);

/*
 * Number of PID's direct children (zombies included), from /proc; -1 when
 * the kernel does not tell (no CONFIG_PROC_CHILDREN, /proc not ours).
 */
long ptree_child_count(pid_t pid);

/* PID's direct children into *OUT (to free); their number, -1 on error. */
long ptree_children(pid_t pid, pid_t **out);

/* Open a pidfd for PID (close-on-exec); -1 with errno when unavailable. */
int ptree_pidfd_open(pid_t pid);

/* Send SIG through PIDFD; -1 with errno on failure (ESRCH: gone). */
int ptree_pidfd_signal(int pidfd, int sig);

#endif
