/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_PTREE_H
#define CTXRUN_PTREE_H

/*
 * The process tree as /proc shows it, for finding a job's processes once
 * its leader may be gone.
 *
 * A job's members are the processes that descend from ctxrun and sit in the
 * job's process group. Descent is what makes this safe: ctxrun is a child
 * subreaper, so everything a job starts stays below it, and a process group
 * id recycled by a stranger is never mistaken for a job's. Signals go
 * through a pidfd opened on each member and re-checked after opening, so a
 * PID recycled between the scan and the signal is never hit.
 *
 * Nothing here touches the event loop; a scan costs one read of /proc/N/stat
 * per process on the machine, so callers scan only when a job's group may
 * still have members.
 */

#include <stdbool.h>
#include <sys/types.h>

/*
 * Count the members of group PGID below ANCESTOR (ANCESTOR itself never
 * counts). Zombies count: their parent, ctxrun or a live member, will reap
 * them, which is the event that tells the caller to look again.
 */
size_t ptree_count(pid_t ancestor, pid_t pgid);

/*
 * Send SIG to every live member of group PGID below ANCESTOR, through a
 * pidfd where the kernel has them. Returns the number of processes
 * signalled.
 */
size_t ptree_signal(pid_t ancestor, pid_t pgid, int sig);

/* Open a pidfd for PID (close-on-exec); -1 with errno when unavailable. */
int ptree_pidfd_open(pid_t pid);

/* Send SIG through PIDFD; -1 with errno on failure (ESRCH: gone). */
int ptree_pidfd_signal(int pidfd, int sig);

#endif
