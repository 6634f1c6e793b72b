/* SPDX-License-Identifier: MIT */
#include "ctxrun/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "ctxrun/ptree.h"
#include "ctxrun/util.h"

/*
 * Like systemd's scopes and runc, a job is made of its cgroup. What is
 * ours to write is the cgroup ctxrun was started in (a delegated subtree,
 * or anything as root): the run's cgroup goes below it, and enables no
 * controller, so processes may sit in any cgroup of ours (cgroup v2's
 * "no internal processes" rule binds only where controllers are on).
 */

/* Names a run tries for its cgroup when others of the same PID exist. */
#define RUN_NAME_TRIES 100

struct cgroup_run {
	char *path; /* the run's directory */
	char *rel;  /* the same below the cgroup2 mount, as /proc/PID/cgroup has it */
	int home;   /* cgroup.procs of ctxrun's own cgroup, to move back */
	struct cgroup_job *spare; /* emptied job cgroups, for the next jobs */
};

/*
 * A job's cgroup outlives its job: once empty it waits in the run's spare
 * list for the next job, which saves a mkdir and an rmdir per job (the
 * kernel sets up and tears down a cgroup's files each time; that was a
 * sixth of ctxrun's CPU per short job). An empty cgroup that enables no
 * controller keeps nothing of its past member's that the next one sees.
 */
struct cgroup_job {
	struct cgroup_run *run;
	char *path;
	char *rel;
	int dir;    /* its directory: jobs are cloned into it */
	int procs;  /* its cgroup.procs, opened when first needed, or -1 */
	int events; /* its cgroup.events, re-read from the start when asked */
	bool killed; /* through cgroup.kill: never handed to another job */
	struct cgroup_job *next; /* in the spare list */
};

/* The mount point of the cgroup2 hierarchy, allocated; NULL if none. */
static char *
cgroup2_mount(void)
{
	/* Where systemd puts it (unified, then hybrid): no need to parse. */
	static const char *const usual[] = { "/sys/fs/cgroup",
					     "/sys/fs/cgroup/unified" };
	char *line = NULL, *mnt = NULL;
	size_t cap = 0;
	struct statfs sf;
	FILE *f;

	for (size_t i = 0; i < ARRAY_SIZE(usual); i++) {
		if (statfs(usual[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
			return xstrdup(usual[i]);
		}
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		return NULL;
	}
	while (!mnt && getline(&line, &cap, f) > 0) {
		char point[4096];
		const char *sep = strstr(line, " - ");

		/* id parent major:minor root MOUNT-POINT ... - FSTYPE ... */
		if (sep && !strncmp(sep + 3, "cgroup2 ", 8) &&
		    sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1) {
			mnt = xstrdup(point);
		}
	}
	free(line);
	fclose(f);
	return mnt;
}

/* ctxrun's cgroup below the cgroup2 mount ("0::PATH"), allocated. */
static char *
own_cgroup(void)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char *line = NULL, *path = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		return NULL;
	}
	while (!path && (n = getline(&line, &cap, f)) > 0) {
		if (!strncmp(line, "0::", 3)) {
			line[n - 1] = line[n - 1] == '\n' ? '\0' : line[n - 1];
			path = xstrdup(strcmp(line + 3, "/") ? line + 3 : "");
		}
	}
	free(line);
	fclose(f);
	return path;
}

/*
 * Can whole processes be moved into the cgroup DIR: is its cgroup.type
 * "domain" (or "domain threaded", a threaded subtree's root)? A threaded
 * cgroup, or a "domain invalid" one below it, takes threads only: a job
 * could not be started there (EOPNOTSUPP), and the run must know before
 * its first job. A missing file (no threaded mode) means domain.
 */
static bool
takes_processes(const char *dir)
{
	char *path = xasprintf("%s/cgroup.type", dir);
	char type[32] = "domain";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, type, sizeof(type) - 1) : -1;

	if (fd >= 0) {
		close(fd);
		type[n > 0 ? n : 0] = '\0';
	}
	free(path);
	return !strcmp(type, "domain\n") || !strcmp(type, "domain threaded\n") ||
	       !strcmp(type, "domain");
}

/* Write the pid "0" (the writer) to the cgroup.procs FD: move ourselves. */
static int
move_self(int fd)
{
	return write(fd, "0", 1) == 1 ? 0 : -1;
}

/*
 * Create R's directory below OWN, ctxrun's cgroup in the hierarchy at
 * MNT: "ctxrun.PID", or "ctxrun.PID.N" when that exists. It can: a run
 * killed with its watchdog leaves its cgroup, and the PID comes round
 * again; another run in another PID namespace has the same PID. Which of
 * these it is cannot be told from here, so the directory is left to its
 * owner, dead or alive, and never removed.
 */
static int
run_mkdir(struct cgroup_run *r, const char *mnt, const char *own,
	  struct err *e)
{
	int pid = (int)getpid();

	for (int n = 1; n <= RUN_NAME_TRIES; n++) {
		int errnum;

		r->rel = n == 1 ? xasprintf("%s/ctxrun.%d", own, pid)
				: xasprintf("%s/ctxrun.%d.%d", own, pid, n);
		r->path = xasprintf("%s%s", mnt, r->rel);
		if (mkdir(r->path, 0755) == 0) {
			return 0;
		}
		errnum = errno;
		err_errno(e, errnum, "cannot create cgroup %s", r->path);
		free(r->rel);
		free(r->path);
		r->rel = r->path = NULL;
		if (errnum != EEXIST) {
			break;
		}
	}
	return -1;
}

/* Create the run's cgroup. */
struct cgroup_run *
cgroup_run_new(struct err *e)
{
	char *mnt = cgroup2_mount(), *own = own_cgroup(), *home = NULL;
	struct cgroup_run *r = NULL;
	char *kill_file = NULL, *procs = NULL;
	int fd = -1;

	if (!mnt || !own) {
		err_set(e, 0, "no cgroup v2 hierarchy");
		goto out;
	}
	r = xcalloc(1, sizeof(*r));
	r->home = -1;
	home = xasprintf("%s%s/cgroup.procs", mnt, own);
	if (run_mkdir(r, mnt, own, e) < 0) {
		goto fail;
	}
	kill_file = xasprintf("%s/cgroup.kill", r->path);
	procs = xasprintf("%s/cgroup.procs", r->path);
	if (access(kill_file, W_OK) < 0) {
		err_set(e, 0, "no cgroup.kill in %s (Linux 5.14 or later needed)",
			r->path);
		goto fail;
	}
	/*
	 * Starting a job in the cgroup (clone3's CLONE_INTO_CGROUP, or the
	 * move around a spawn without it) needs write access to both
	 * cgroup.procs files: open them to know. Not a move of ourselves
	 * there and back to prove it: a migration waits for an RCU grace
	 * period (about 17 ms here, all of a short run's cost), and the
	 * jobs never need it.
	 */
	r->home = open(home, O_WRONLY | O_CLOEXEC);
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (r->home < 0 || fd < 0) {
		err_errno(e, errno, "cannot move processes between %s and %s",
			  home, r->path);
		goto fail;
	}
	if (!takes_processes(r->path)) {
		err_set(e, 0, "cgroup %s takes threads only (cgroup.type)",
			r->path);
		goto fail;
	}
	goto out;
fail:
	cgroup_run_free(r);
	r = NULL;
out:
	if (fd >= 0) {
		close(fd);
	}
	free(kill_file);
	free(procs);
	free(home);
	free(mnt);
	free(own);
	return r;
}

/* The run's cgroup directory. */
const char *
cgroup_run_path(const struct cgroup_run *r)
{
	return r->path;
}

/* Create job SEQ's cgroup below R's. */
struct cgroup_job *
cgroup_job_new(struct cgroup_run *r, unsigned long seq, struct err *e)
{
	struct cgroup_job *j = r->spare;

	if (j) {
		r->spare = j->next;
		j->next = NULL;
		return j;
	}
	j = xcalloc(1, sizeof(*j));
	j->run = r;
	j->rel = xasprintf("%s/job.%lu", r->rel, seq);
	j->path = xasprintf("%s/job.%lu", r->path, seq);
	j->dir = j->procs = j->events = -1;
	if (mkdir(j->path, 0755) == 0) {
		j->dir = open(j->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (j->dir < 0 || (j->events = openat(j->dir, "cgroup.events",
					      O_RDONLY | O_CLOEXEC)) < 0) {
		err_errno(e, errno, "cannot create cgroup %s", j->path);
		cgroup_job_free(j, false);
		return NULL;
	}
	return j;
}

/*
 * Remove the cgroup directory PATH and the cgroups below it (a nested
 * ctxrun killed with its job leaves its own there). Its last process may
 * have been reaped a moment ago and the kernel still count it: retry
 * briefly on EBUSY.
 */
void
cgroup_remove(const char *path)
{
	struct timespec ms = { 0, 1000000 };
	struct dirent *de;
	DIR *d;

	/* Usually empty, with nothing below: one call. */
	if (rmdir(path) == 0 || errno != EBUSY) {
		return;
	}
	d = opendir(path);
	while (d && (de = readdir(d))) {
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") &&
		    strcmp(de->d_name, "..")) {
			char *sub = xasprintf("%s/%s", path, de->d_name);

			cgroup_remove(sub);
			free(sub);
		}
	}
	if (d) {
		closedir(d);
	}
	for (int tries = 0; rmdir(path) < 0 && errno == EBUSY && tries < 20;
	     tries++) {
		nanosleep(&ms, NULL);
	}
}

/*
 * J's cgroup.procs, opened on first use: most jobs end without anyone
 * reading it, and every fd ctxrun holds counts against its limit and is
 * copied at each spawn.
 */
static int
procs_fd(struct cgroup_job *j)
{
	if (j->procs < 0) {
		j->procs = openat(j->dir, "cgroup.procs", O_RDWR | O_CLOEXEC);
	}
	return j->procs;
}

/* J's directory, for clone3()'s CLONE_INTO_CGROUP. */
int
cgroup_dir(const struct cgroup_job *j)
{
	return j->dir;
}

/* Move ctxrun into J's cgroup. */
int
cgroup_spawn_begin(struct cgroup_job *j, struct err *e)
{
	int fd = procs_fd(j);

	if (fd < 0 || move_self(fd) < 0) {
		return err_errno(e, errno, "cannot enter cgroup %s", j->path);
	}
	return 0;
}

/* Move ctxrun back to its own cgroup. */
void
cgroup_spawn_end(struct cgroup_job *j)
{
	if (move_self(j->run->home) < 0) {
		BUG("cannot leave cgroup %s: %s", j->path, strerror(errno));
	}
}

/*
 * The pids listed by FD, a cgroup.procs, allocated; NULL on error.
 * cgroup.procs, like every seq_file, starts over when read from offset 0:
 * the fd a job keeps open serves every read, with no path lookup.
 */
static char *
read_procs(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf;
	ssize_t n;

	if (fd < 0) {
		return NULL;
	}
	buf = xmalloc(cap + 1);
	while ((n = pread(fd, buf + len, cap - len, (off_t)len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* Is PID in J, by its /proc/PID/cgroup (which names it until reaped)? */
static bool
still_in(const struct cgroup_job *j, pid_t pid)
{
	char path[64], buf[4096];
	size_t rel = strlen(j->rel);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return false;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return false;
	}
	buf[n] = '\0';
	for (char *line = buf; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (!strncmp(line, "0::", 3) && !strncmp(line + 3, j->rel, rel) &&
		    (line[3 + rel] == '\n' || line[3 + rel] == '\0')) {
			return true;
		}
	}
	return false;
}

/* Which processes of a cgroup get which signals (signal_listed()). */
struct listed_sigs {
	int sig, then;            /* THEN: 0 for none */
	pid_t skip;               /* > 0: not those of this process group */
	struct ptree_pins *pins;  /* not those it holds, and pin the others */
};

/* Order pids for bsearch(). */
static int
pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* The pids in PROCS (a cgroup.procs read), sorted, into *OUT; how many. */
static size_t
parse_procs(const char *procs, pid_t **out)
{
	size_t n = 0, cap = 0;
	char *end;

	*out = NULL;
	for (const char *p = procs; p && *p; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p) {
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[n++] = (pid_t)pid;
	}
	if (n) {
		qsort(*out, n, sizeof(**out), pid_cmp);
	}
	return n;
}

/* Pidfds open at once in signal_listed(): a cgroup may hold thousands. */
#define PIDFD_BATCH 256

/*
 * Send W's signals to the N pids of PIDS (N at most PIDFD_BATCH) that FD,
 * a cgroup.procs, still lists once each has a pidfd; how many were sent.
 * A pid may be reaped and reused after the read that found it: a second
 * read, after the pidfds were opened, that lists it again shows that the
 * pidfd's process is the one the cgroup holds, or dead (signalling it does
 * nothing then). No /proc is needed, which may be another PID
 * namespace's (ptree.h).
 */
static size_t
signal_batch(int fd, const struct listed_sigs *w, const pid_t *pids,
	     size_t n)
{
	int fds[PIDFD_BATCH];
	pid_t *again;
	char *procs;
	size_t m, sent = 0;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		fds[i] = -1;
		if ((w->skip && getpgid(pids[i]) == w->skip) ||
		    (w->pins && ptree_pins_hold(w->pins, pids[i]))) {
			continue;
		}
		fds[i] = ptree_pidfd_open(pids[i]);
		any |= fds[i] >= 0;
	}
	procs = any ? read_procs(fd) : NULL;
	m = parse_procs(procs, &again);
	free(procs);
	for (size_t i = 0; i < n; i++) {
		if (fds[i] < 0) {
			continue;
		}
		if (bsearch(&pids[i], again, m, sizeof(*again), pid_cmp) &&
		    ptree_pidfd_signal(fds[i], w->sig) == 0) {
			sent++;
			if (w->then) {
				ptree_pidfd_signal(fds[i], w->then);
			}
			if (w->pins) {
				ptree_pins_add(w->pins, pids[i], fds[i]);
				continue;
			}
		}
		close(fds[i]);
	}
	free(again);
	return sent;
}

/*
 * Send W's signals to the processes FD (a cgroup.procs) lists, adding
 * their number to *LISTED; returns how many were signalled.
 */
static size_t
signal_listed(int fd, const struct listed_sigs *w, size_t *listed)
{
	char *procs = read_procs(fd);
	pid_t *pids;
	size_t n = parse_procs(procs, &pids), sent = 0;

	free(procs);
	*listed += n;
	for (size_t i = 0; i < n; i += PIDFD_BATCH) {
		sent += signal_batch(fd, w, pids + i,
				     n - i < PIDFD_BATCH ? n - i : PIDFD_BATCH);
	}
	free(pids);
	return sent;
}

/* Send SIG, then THEN unless 0, to every process in J outside group SKIP. */
size_t
cgroup_signal(struct cgroup_job *j, int sig, int then, pid_t skip)
{
	size_t listed = 0;

	return signal_listed(procs_fd(j), &(struct listed_sigs){
		.sig = sig, .then = then, .skip = skip }, &listed);
}

/* Signal the processes of DIR and of the cgroups below it. */
size_t
cgroup_tree_signal(const char *dir, int sig, int then, struct ptree_pins *pins)
{
	char *path = xasprintf("%s/cgroup.procs", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t listed = 0;
	struct dirent *de;
	DIR *d;

	free(path);
	if (fd >= 0) {
		signal_listed(fd, &(struct listed_sigs){
			.sig = sig, .then = then, .pins = pins }, &listed);
		close(fd);
	}
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") &&
		    strcmp(de->d_name, "..")) {
			char *sub = xasprintf("%s/%s", dir, de->d_name);

			listed += cgroup_tree_signal(sub, sig, then, pins);
			free(sub);
		}
	}
	if (d) {
		closedir(d);
	}
	return listed;
}

/* Was PID, a child of ours, in J when it died (or is it still)? */
bool
cgroup_holds(struct cgroup_job *j, pid_t pid)
{
	return still_in(j, pid);
}

/* How many processes J holds (a snapshot: nothing is pinned). */
size_t
cgroup_count(struct cgroup_job *j)
{
	char *procs = read_procs(procs_fd(j));
	size_t n = 0;

	for (const char *p = procs; p && *p; p++) {
		n += *p == '\n';
	}
	free(procs);
	return n;
}

/* SIGKILL every process in J. */
void
cgroup_kill(struct cgroup_job *j)
{
	char *path = xasprintf("%s/cgroup.kill", j->path);
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	free(path);
	/*
	 * Linux (6.18 at least) remembers the kill: clone3() into this
	 * cgroup then SIGKILLs the new child at once (the kill sequence it
	 * compares is the parent's cgroup's, not the target's).
	 */
	j->killed = true;
	if (fd < 0 || write(fd, "1", 1) != 1) {
		cgroup_signal(j, SIGKILL, 0, 0);
	}
	if (fd >= 0) {
		close(fd);
	}
}

/* Does J still hold a process? */
bool
cgroup_populated(struct cgroup_job *j)
{
	char buf[256];
	ssize_t n = pread(j->events, buf, sizeof(buf) - 1, 0);

	if (n <= 0) {
		return true;
	}
	buf[n] = '\0';
	return strstr(buf, "populated 1") != NULL;
}

/* Close J's fds and free J; its directory stays. */
static void
cgroup_job_release(struct cgroup_job *j)
{
	if (j->dir >= 0) {
		close(j->dir);
	}
	if (j->procs >= 0) {
		close(j->procs);
	}
	if (j->events >= 0) {
		close(j->events);
	}
	free(j->path);
	free(j->rel);
	free(j);
}

/*
 * Done with J: keep its cgroup for the next job if REUSE and it is empty,
 * else remove it.
 */
void
cgroup_job_free(struct cgroup_job *j, bool reuse)
{
	if (!j) {
		return;
	}
	if (reuse && !j->killed && j->dir >= 0 && j->events >= 0 &&
	    !cgroup_populated(j)) {
		j->next = j->run->spare;
		j->run->spare = j;
		return;
	}
	cgroup_remove(j->path);
	cgroup_job_release(j);
}

/* Remove R's cgroup and free R. */
void
cgroup_run_free(struct cgroup_run *r)
{
	if (!r) {
		return;
	}
	while (r->spare) {
		struct cgroup_job *j = r->spare;

		r->spare = j->next;
		cgroup_remove(j->path);
		cgroup_job_release(j);
	}
	if (r->path) {
		cgroup_remove(r->path);
	}
	if (r->home >= 0) {
		close(r->home);
	}
	free(r->path);
	free(r->rel);
	free(r);
}
