/* SPDX-License-Identifier: MIT */
#include "ctxrun/ptree.h"

#include <sys/syscall.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/util.h"

/*
 * A scan reads every /proc/N/stat into a table, indexes it by pid in an
 * open-addressing hash, and decides descent by walking parent links (with a
 * depth bound, since /proc is a moving picture and links read at different
 * instants may form a loop).
 */

struct pinfo {
	pid_t pid, ppid, pgid;
	char state;
	signed char member; /* one of enum verdict, 0 until decided */
};

enum verdict {
	VERDICT_MEMBER = 1,  /* a member of the job */
	VERDICT_BELOW = 2,   /* below the ancestor, but not of the job */
	VERDICT_OUTSIDE = 3, /* not below the ancestor at all */
};

struct ptable {
	struct pinfo *procs;
	size_t len, cap;
	int32_t *slots; /* index into procs, -1 empty */
	size_t nslots;
};

typedef void ptree_visit_fn(const struct pinfo *p, void *data);

static int stat_read(pid_t pid, struct pinfo *out);
static bool mark_in_env(pid_t pid, const char *mark, bool prefix_only);
static void ptable_load(struct ptable *t);
static const struct pinfo *ptable_get(const struct ptable *t, pid_t pid);
static void ptable_release(struct ptable *t);
static size_t members_visit(const struct ptree_match *m, ptree_visit_fn *fn,
			    void *data);

/* Count the members of the job M describes. */
size_t
ptree_count(const struct ptree_match *m)
{
	return members_visit(m, NULL, NULL);
}

struct signal_ctx {
	int sig;
	size_t sent;
};

/* Signal one member through a pidfd opened and then re-checked. */
static void
signal_member(const struct pinfo *p, void *data)
{
	struct signal_ctx *sc = data;
	struct pinfo now;
	int fd;

	if (p->state == 'Z' || p->state == 'X') {
		return;
	}
	fd = ptree_pidfd_open(p->pid);
	if (fd < 0) {
		if (errno == ENOSYS && kill(p->pid, sc->sig) == 0) {
			sc->sent++;
		}
		return;
	}
	/*
	 * The pidfd pins one process. If it is still the one the scan saw
	 * (same group, same parent), it is a member and safe to signal.
	 */
	if (stat_read(p->pid, &now) == 0 && now.pgid == p->pgid &&
	    now.ppid == p->ppid && ptree_pidfd_signal(fd, sc->sig) == 0) {
		sc->sent++;
	}
	close(fd);
}

/* Send SIG to every live member of the job M describes. */
size_t
ptree_signal(const struct ptree_match *m, int sig)
{
	struct signal_ctx sc = { .sig = sig };

	members_visit(m, signal_member, &sc);
	return sc.sent;
}

/* Signal every live process marked with a word starting with PREFIX. */
size_t
ptree_signal_marked(const char *prefix, int sig)
{
	struct ptable t = { 0 };
	size_t n = 0;
	pid_t self = getpid();

	ptable_load(&t);
	for (size_t i = 0; i < t.len; i++) {
		struct pinfo *p = &t.procs[i];
		int fd;

		if (p->pid == self || p->state == 'Z' || p->state == 'X' ||
		    !mark_in_env(p->pid, prefix, true)) {
			continue;
		}
		if (sig == 0) {
			n++;
			continue;
		}
		/* The pidfd pins the process the scan read the mark of. */
		fd = ptree_pidfd_open(p->pid);
		if (fd >= 0 && mark_in_env(p->pid, prefix, true) &&
		    ptree_pidfd_signal(fd, sig) == 0) {
			n++;
		}
		if (fd >= 0) {
			close(fd);
		}
	}
	ptable_release(&t);
	return n;
}

/* Number of PID's direct children. */
long
ptree_child_count(pid_t pid)
{
	char path[64], buf[4096];
	long n = 0;
	ssize_t len;
	int fd;

	/* ctxrun is single-threaded: its one task holds all its children. */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	while ((len = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < len; i++) {
			n += buf[i] == ' ';
		}
	}
	close(fd);
	return n;
}

/* Open a pidfd for PID. */
int
ptree_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* Send SIG through PIDFD. */
int
ptree_pidfd_signal(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
	(void)pidfd;
	(void)sig;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * Does PID's environment (as at exec) hold MARK as a word of CTXRUN_MARK
 * (with PREFIX_ONLY, a word starting with MARK)?
 */
static bool
mark_in_env(pid_t pid, const char *mark, bool prefix_only)
{
	static const char var[] = PTREE_MARK_VAR "=";
	char path[64], *buf = NULL, *p, *end;
	size_t len = 0, cap = 0, mlen = strlen(mark);
	bool found = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return false;
	}
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			buf = xrealloc(buf, cap + 1);
		}
		n = read(fd, buf + len, cap - len);
		len += n > 0 ? (size_t)n : 0;
	} while (n > 0);
	close(fd);
	buf = xrealloc(buf, len + 1);
	buf[len] = '\0';
	for (p = buf; p < buf + len && !found; p += strlen(p) + 1) {
		if (strncmp(p, var, sizeof(var) - 1)) {
			continue;
		}
		/* Words separated by blanks: nested runs append theirs. */
		for (p += sizeof(var) - 1; *p && !found; p = end) {
			p += strspn(p, " ");
			end = p + strcspn(p, " ");
			found = (size_t)(end - p) >= mlen && !memcmp(p, mark, mlen) &&
				(prefix_only || (size_t)(end - p) == mlen);
		}
	}
	free(buf);
	return found;
}

/* Does P itself belong to the job: in its group, or marked? */
static bool
belongs(const struct pinfo *p, const struct ptree_match *m)
{
	return m->any || p->pgid == m->pgid || (m->mark && mark_in_env(p->pid, m->mark, false));
}

/*
 * Is P a member of the job M describes: a descendant of M's ancestor with
 * itself or some process between it and the ancestor belonging to the job?
 * Verdicts are memoised on every process of the walked path, so a scan
 * stays linear in the number of processes.
 */
static bool
is_member(struct ptable *t, struct pinfo *p, const struct ptree_match *m)
{
	struct pinfo **path = NULL, *q;
	size_t n = 0, cap = 0;
	signed char cur = VERDICT_OUTSIDE;

	for (q = p; q; q = (struct pinfo *)ptable_get(t, q->ppid)) {
		if (q->member) {
			cur = q->member;
			break;
		}
		if (q->pid == m->ancestor) {
			cur = VERDICT_BELOW; /* its children are below it */
			break;
		}
		if (q->pid == m->exclude) {
			break; /* it and all below it are outside */
		}
		if (q->ppid <= 0 || n > t->len) {
			break; /* outside, or a loop in a moving picture */
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			path = xrealloc(path, cap * sizeof(*path));
		}
		path[n++] = q;
	}
	while (n--) {
		if (cur == VERDICT_BELOW && belongs(path[n], m)) {
			cur = VERDICT_MEMBER;
		}
		path[n]->member = cur;
	}
	free(path);
	return p->member == VERDICT_MEMBER;
}

/* Call FN for each member of the job M describes; return the count. */
static size_t
members_visit(const struct ptree_match *m, ptree_visit_fn *fn, void *data)
{
	struct ptable t = { 0 };
	size_t n = 0;

	ptable_load(&t);
	for (size_t i = 0; i < t.len; i++) {
		struct pinfo *p = &t.procs[i];

		if (p->pid == m->ancestor || !is_member(&t, p, m) ||
		    (m->outside_only && p->pgid == m->pgid)) {
			continue;
		}
		n++;
		if (fn) {
			fn(p, data);
		}
	}
	ptable_release(&t);
	return n;
}

/* Read pid, state, ppid and pgid of PID from /proc/PID/stat. */
static int
stat_read(pid_t pid, struct pinfo *out)
{
	char path[64], buf[512], *close_paren;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0) {
		return -1;
	}
	buf[len] = '\0';
	/* The command name may hold spaces and parentheses: skip to the last ')'. */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %c %d %d", &out->state,
				   &out->ppid, &out->pgid) != 3) {
		return -1;
	}
	out->pid = pid;
	out->member = 0;
	return 0;
}

/* Hash slot of PID in a table of NSLOTS (a power of two). */
static size_t
slot_of(pid_t pid, size_t nslots)
{
	return ((uint32_t)pid * 2654435761u) & (nslots - 1);
}

/* Fill T with every process /proc lists. */
static void
ptable_load(struct ptable *t)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;

	if (!dir) {
		return;
	}
	while ((de = readdir(dir))) {
		struct pinfo p;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || stat_read((pid_t)pid, &p) < 0) {
			continue;
		}
		if (t->len == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 256;
			t->procs = xrealloc(t->procs, t->cap * sizeof(*t->procs));
		}
		t->procs[t->len++] = p;
	}
	closedir(dir);
	for (t->nslots = 16; t->nslots < t->len * 2; t->nslots *= 2) {
	}
	t->slots = xmalloc(t->nslots * sizeof(*t->slots));
	memset(t->slots, 0xff, t->nslots * sizeof(*t->slots));
	for (size_t i = 0; i < t->len; i++) {
		size_t s = slot_of(t->procs[i].pid, t->nslots);

		while (t->slots[s] >= 0) {
			s = (s + 1) & (t->nslots - 1);
		}
		t->slots[s] = (int32_t)i;
	}
}

/* Look PID up in T; NULL when /proc did not list it. */
static const struct pinfo *
ptable_get(const struct ptable *t, pid_t pid)
{
	if (!t->nslots) {
		return NULL;
	}
	for (size_t s = slot_of(pid, t->nslots); t->slots[s] >= 0;
	     s = (s + 1) & (t->nslots - 1)) {
		if (t->procs[t->slots[s]].pid == pid) {
			return &t->procs[t->slots[s]];
		}
	}
	return NULL;
}

/* Free T's arrays. */
static void
ptable_release(struct ptable *t)
{
	free(t->procs);
	free(t->slots);
}
