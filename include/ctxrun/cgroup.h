/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_CGROUP_H
#define CTXRUN_CGROUP_H

/*
 * A cgroup v2 per job, where the hierarchy lets us write: the exact answer
 * to "which processes are this job's", whatever they did (setsid, double
 * fork, a cleared environment), and a race-free forced stop.
 *
 * 1. cgroup_run_new() once per run: finds the cgroup2 mount and ctxrun's
 *    own cgroup (/proc/self/cgroup), and creates "ctxrun.PID" below it
 *    ("ctxrun.PID.N" when a stale or foreign one has that name).
 *    NULL, with why in E, when that is not possible (no cgroup2, not
 *    writable, no cgroup.kill): the caller falls back to process groups
 *    and marks (ptree.h), or refuses with --cgroup on.
 * 2. cgroup_job_new() per job attempt: an emptied cgroup of an earlier
 *    job, or a new "job.SEQ" below the run's.
 * 3. The leader is born in the job's cgroup, and everything it starts
 *    stays there: clone3()'s CLONE_INTO_CGROUP with cgroup_dir() where
 *    the system has it (spawn.h); else cgroup_spawn_begin() /
 *    cgroup_spawn_end() around the spawn, where ctxrun moves itself into
 *    the job's cgroup and back.
 * 4. cgroup_signal() sends signals to every process of the job through
 *    pidfds, each re-checked to still be in the cgroup (by cgroup.procs,
 *    not /proc, which may be another PID namespace's: see ptree.h);
 *    cgroup_kill() SIGKILLs them all at once through cgroup.kill;
 *    cgroup_populated() says whether any is left. A process leaves its
 *    cgroup as it exits, before it is a zombie its parent can reap: an
 *    empty cgroup does not prove every member reaped (proc.c asks the
 *    children list for that).
 * 5. cgroup_job_free() keeps the job's cgroup, once empty, for the next
 *    job (so "job.N" is named after the first job that used it), unless
 *    the caller expects none or cgroup_kill() was used on it, and removes
 *    it otherwise; cgroup_run_free()
 *    removes the run's cgroup and every cgroup below it.
 *
 * Each struct owns its directory and the fds it keeps open on it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ctxrun/err.h"

struct cgroup_run;
struct cgroup_job;
struct ptree_pins;

struct cgroup_run *cgroup_run_new(struct err *e);

/* The run's cgroup directory (for messages and the watchdog). */
const char *cgroup_run_path(const struct cgroup_run *r);

struct cgroup_job *cgroup_job_new(struct cgroup_run *r, unsigned long seq,
				  struct err *e);

/* J's directory (an fd J owns), for CLONE_INTO_CGROUP. */
int cgroup_dir(const struct cgroup_job *j);

/* Move ctxrun into J's cgroup; 0, or -1 with E filled. */
int cgroup_spawn_begin(struct cgroup_job *j, struct err *e);

/* Move ctxrun back where it was. */
void cgroup_spawn_end(struct cgroup_job *j);

/*
 * Send SIG, then THEN unless it is 0, to every process in J, except those
 * in process group SKIP (unless 0), which the caller signalled already;
 * returns how many were signalled. One read of the cgroup for both.
 */
size_t cgroup_signal(struct cgroup_job *j, int sig, int then, pid_t skip);

/*
 * For the watchdog, after ctxrun died: send SIG, then THEN unless 0, to
 * every process in the cgroup DIR and the cgroups below it that PINS does
 * not hold, and pin them there. Returns how many processes the cgroups
 * hold, whether signalled now or before.
 */
size_t cgroup_tree_signal(const char *dir, int sig, int then,
			  struct ptree_pins *pins);

/*
 * Is PID in J, or a dying process or zombie that was? (/proc/PID/cgroup
 * keeps naming a cgroup until the process is reaped, while cgroup.procs
 * and cgroup.events forget it as soon as it exits.)
 */
bool cgroup_holds(struct cgroup_job *j, pid_t pid);

/* How many processes J holds now. */
size_t cgroup_count(struct cgroup_job *j);

/* SIGKILL every process in J at once. */
void cgroup_kill(struct cgroup_job *j);

/* Does J still hold a live process (zombies have left it)? */
bool cgroup_populated(struct cgroup_job *j);

/*
 * Remove the cgroup directory PATH and every cgroup below it, once empty
 * (also used by the watchdog, after ctxrun died).
 */
void cgroup_remove(const char *path);

/*
 * REUSE: later jobs may want the cgroup. A job that was stopped usually
 * dies with its siblings, the run ending: its cgroup is better removed
 * while the others still die than all at once at the end.
 */
void cgroup_job_free(struct cgroup_job *j, bool reuse);
void cgroup_run_free(struct cgroup_run *r);

#endif
