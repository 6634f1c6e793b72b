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
 * Send SIG to every live process on the machine whose CTXRUN_MARK has a
 * word starting with PREFIX, wherever it now sits in the tree (used after
 * ctxrun itself died, when descent proves nothing any more). Returns how
 * many were signalled; with SIG 0, how many there are.
 */
size_t ptree_signal_marked(const char *prefix, int sig);

/*
 * Number of PID's direct children (zombies included), from /proc; -1 when
 * the kernel does not tell (no CONFIG_PROC_CHILDREN).
 */
long ptree_child_count(pid_t pid);

/* PID's direct children into *OUT (to free); their number, -1 on error. */
long ptree_children(pid_t pid, pid_t **out);

/* Open a pidfd for PID (close-on-exec); -1 with errno when unavailable. */
int ptree_pidfd_open(pid_t pid);

/* Send SIG through PIDFD; -1 with errno on failure (ESRCH: gone). */
int ptree_pidfd_signal(int pidfd, int sig);

#endif
