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
	int owner; /* OWNER_*, or visit index + 1; 0 until decided */
};

enum {
	OWNER_BELOW = -1,   /* below the ancestor, but of no job */
	OWNER_OUTSIDE = -2, /* not below the ancestor at all */
};

/* The jobs of one walk, found by group and by mark in O(1). */
struct jobs_index {
	struct ptree_visit *v;
	size_t n;
	pid_t ancestor, exclude;
	long any;      /* a visit whose match takes any descendant, or -1 */
	bool marks;    /* some visit has a mark: environments must be read */
	long *by_pgid; /* visit index, -1 empty */
	long *by_mark;
	size_t mask;
};

struct ptable {
	struct pinfo *procs;
	size_t len, cap;
	int32_t *slots; /* index into procs, -1 empty */
	size_t nslots;
};

static int stat_read(pid_t pid, struct pinfo *out);
static char *env_marks(pid_t pid);
static bool mark_in_env(pid_t pid, const char *mark, bool prefix_only);
static void ptable_load(struct ptable *t);
static size_t slot_of(pid_t pid, size_t nslots);
static const struct pinfo *ptable_get(const struct ptable *t, pid_t pid);
static void ptable_release(struct ptable *t);
static void index_build(struct jobs_index *ix, struct ptree_visit *v, size_t n);
static void index_release(struct jobs_index *ix);
static int owner_of(struct ptable *t, struct pinfo *p,
		    const struct jobs_index *ix);

/* Count the members of the job M describes. */
size_t
ptree_count(const struct ptree_match *m)
{
	struct ptree_visit v = { .m = m };

	ptree_walk(&v, 1);
	return v.found;
}

/* Send SIG to every live member of the job M describes. */
size_t
ptree_signal(const struct ptree_match *m, int sig)
{
	struct ptree_visit v = { .m = m, .sigs = { sig } };

	ptree_walk(&v, 1);
	return v.sent;
}

/*
 * Send member P the signals of V (the outside-only ones too when P left
 * the group), through a pidfd opened and then re-checked.
 */
static void
signal_member(const struct pinfo *p, struct ptree_visit *v)
{
	int sigs[2 * PTREE_MAX_SIGS], n = 0;
	struct pinfo now;
	int fd;

	for (int i = 0; i < PTREE_MAX_SIGS && v->sigs[i]; i++) {
		sigs[n++] = v->sigs[i];
	}
	for (int i = 0; p->pgid != v->m->pgid && i < PTREE_MAX_SIGS &&
			v->outside_sigs[i]; i++) {
		sigs[n++] = v->outside_sigs[i];
	}
	if (!n || p->state == 'Z' || p->state == 'X') {
		return;
	}
	fd = ptree_pidfd_open(p->pid);
	/*
	 * The pidfd pins one process. If it is still the one the scan saw
	 * (same group, same parent), it is a member and safe to signal. Its
	 * parent may have died since, of a signal this very walk sent: then
	 * it was re-parented to us, the subreaper, and is still the one.
	 */
	if (fd >= 0 && (stat_read(p->pid, &now) < 0 || now.pgid != p->pgid ||
			(now.ppid != p->ppid && now.ppid != getpid()))) {
		close(fd);
		return;
	}
	if (fd < 0 && errno != ENOSYS) {
		return;
	}
	for (int i = 0; i < n; i++) {
		if ((fd >= 0 ? ptree_pidfd_signal(fd, sigs[i])
			     : kill(p->pid, sigs[i])) == 0) {
			v->sent++;
		}
	}
	if (fd >= 0) {
		close(fd);
	}
}

/* Walk /proc once for the N jobs of V. */
void
ptree_walk(struct ptree_visit *v, size_t n)
{
	struct jobs_index ix;
	struct ptable t = { 0 };

	if (!n) {
		return;
	}
	index_build(&ix, v, n);
	ptable_load(&t);
	for (size_t i = 0; i < t.len; i++) {
		struct pinfo *p = &t.procs[i];
		int owner;

		if (p->pid == ix.ancestor) {
			continue;
		}
		owner = owner_of(&t, p, &ix);
		if (owner > 0) {
			v[owner - 1].found++;
			v[owner - 1].live += p->state != 'Z' && p->state != 'X';
			signal_member(p, &v[owner - 1]);
		}
	}
	ptable_release(&t);
	index_release(&ix);
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

/* PID's direct children, allocated into *OUT; their number, -1 on error. */
long
ptree_children(pid_t pid, pid_t **out)
{
	char path[64], buf[4096], *end;
	size_t cap = 16;
	long n = 0;
	char *all = NULL;
	size_t len = 0;
	ssize_t got;
	int fd;

	*out = NULL;
	/* ctxrun is single-threaded: its one task holds all its children. */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	while ((got = read(fd, buf, sizeof(buf))) > 0) {
		all = xrealloc(all, len + (size_t)got + 1);
		memcpy(all + len, buf, (size_t)got);
		len += (size_t)got;
	}
	close(fd);
	*out = xmalloc(cap * sizeof(**out));
	for (char *p = all; p && p < all + len; p = end) {
		long v;

		all[len] = '\0';
		v = strtol(p, &end, 10);
		if (end == p) {
			break;
		}
		if ((size_t)n == cap) {
			cap *= 2;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[n++] = (pid_t)v;
	}
	free(all);
	return n;
}

/* Number of PID's direct children. */
long
ptree_child_count(pid_t pid)
{
	pid_t *kids;
	long n = ptree_children(pid, &kids);

	free(kids);
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
 * The value of CTXRUN_MARK in PID's environment as at exec, allocated; NULL
 * when it has none (or is gone).
 */
static char *
env_marks(pid_t pid)
{
	static const char var[] = PTREE_MARK_VAR "=";
	char path[64], *buf = NULL, *p, *value = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return NULL;
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
	buf[len] = '\0';
	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		if (!strncmp(p, var, sizeof(var) - 1)) {
			value = xstrdup(p + sizeof(var) - 1);
			break;
		}
	}
	free(buf);
	return value;
}

/*
 * Call FN on each blank-separated word of MARKS (nested runs append
 * theirs) until it returns >= 0; return that, or -1.
 */
static long
marks_find(const char *marks, long (*fn)(const void *data, const char *w,
					 size_t len),
	   const void *data)
{
	long r = -1;

	for (const char *p = marks; p && *p && r < 0;) {
		size_t len;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len) {
			r = fn(data, p, len);
		}
		p += len;
	}
	return r;
}

struct prefix_want {
	const char *mark;
	size_t len;
	bool prefix_only;
};

/* Is word W (LEN bytes) the mark of DATA (or, prefix_only, below it)? */
static long
word_is_mark(const void *data, const char *w, size_t len)
{
	const struct prefix_want *pw = data;

	return len >= pw->len && !memcmp(w, pw->mark, pw->len) &&
			       (pw->prefix_only || len == pw->len)
		       ? 0
		       : -1;
}

/*
 * Does PID's environment (as at exec) hold MARK as a word of CTXRUN_MARK
 * (with PREFIX_ONLY, a word starting with MARK)?
 */
static bool
mark_in_env(pid_t pid, const char *mark, bool prefix_only)
{
	struct prefix_want pw = { mark, strlen(mark), prefix_only };
	char *marks = env_marks(pid);
	bool found = marks_find(marks, word_is_mark, &pw) >= 0;

	free(marks);
	return found;
}

/* Index the N visits of V by group and by mark. */
static void
index_build(struct jobs_index *ix, struct ptree_visit *v, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n) {
		cap *= 2;
	}
	*ix = (struct jobs_index){
		.v = v, .n = n, .ancestor = v[0].m->ancestor, .any = -1,
		.mask = cap - 1,
	};
	ix->by_pgid = xmalloc(cap * sizeof(*ix->by_pgid));
	ix->by_mark = xmalloc(cap * sizeof(*ix->by_mark));
	for (size_t i = 0; i < cap; i++) {
		ix->by_pgid[i] = ix->by_mark[i] = -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ptree_match *m = v[i].m;
		size_t k;

		if (m->ancestor != ix->ancestor) {
			BUG("ptree_walk: jobs below different ancestors");
		}
		ix->exclude = m->exclude ? m->exclude : ix->exclude;
		ix->any = m->any && ix->any < 0 ? (long)i : ix->any;
		if (m->pgid > 0) {
			for (k = slot_of(m->pgid, cap); ix->by_pgid[k] >= 0;
			     k = (k + 1) & ix->mask) {
			}
			ix->by_pgid[k] = (long)i;
		}
		if (m->mark) {
			ix->marks = true;
			for (k = hash_bytes(m->mark, strlen(m->mark)) & ix->mask;
			     ix->by_mark[k] >= 0; k = (k + 1) & ix->mask) {
			}
			ix->by_mark[k] = (long)i;
		}
	}
}

/* Free IX's tables. */
static void
index_release(struct jobs_index *ix)
{
	free(ix->by_pgid);
	free(ix->by_mark);
}

/* The visit whose group is PGID, or -1. */
static long
by_pgid(const struct jobs_index *ix, pid_t pgid)
{
	for (size_t k = slot_of(pgid, ix->mask + 1); ix->by_pgid[k] >= 0;
	     k = (k + 1) & ix->mask) {
		if (ix->v[ix->by_pgid[k]].m->pgid == pgid) {
			return ix->by_pgid[k];
		}
	}
	return -1;
}

/* The visit whose mark is word W of LEN bytes, or -1. */
static long
by_mark(const void *data, const char *w, size_t len)
{
	const struct jobs_index *ix = data;

	for (size_t k = hash_bytes(w, len) & ix->mask; ix->by_mark[k] >= 0;
	     k = (k + 1) & ix->mask) {
		const char *mark = ix->v[ix->by_mark[k]].m->mark;

		if (strlen(mark) == len && !memcmp(mark, w, len)) {
			return ix->by_mark[k];
		}
	}
	return -1;
}

/* The visit P itself belongs to (by group, then mark, then "any"), or -1. */
static long
job_of(const struct pinfo *p, const struct jobs_index *ix)
{
	long j = by_pgid(ix, p->pgid);

	if (j < 0 && ix->marks) {
		char *marks = env_marks(p->pid);

		j = marks_find(marks, by_mark, ix);
		free(marks);
	}
	return j >= 0 ? j : ix->any;
}

/*
 * Which job of IX is P a member of? A process descending from the common
 * ancestor is a member of the nearest job that it, or some process between
 * it and the ancestor, belongs to. Owners are memoised on every process of
 * the walked path, so a walk stays linear in the number of processes, and
 * an environment is read at most once.
 */
static int
owner_of(struct ptable *t, struct pinfo *p, const struct jobs_index *ix)
{
	struct pinfo **path = NULL, *q;
	size_t n = 0, cap = 0;
	int cur = OWNER_OUTSIDE;

	for (q = p; q; q = (struct pinfo *)ptable_get(t, q->ppid)) {
		if (q->owner) {
			cur = q->owner;
			break;
		}
		if (q->pid == ix->ancestor) {
			cur = OWNER_BELOW; /* its children are below it */
			break;
		}
		if (q->pid == ix->exclude) {
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
		if (cur != OWNER_OUTSIDE) {
			long j = job_of(path[n], ix);

			cur = j >= 0 ? (int)j + 1 : cur;
		}
		path[n]->owner = cur;
	}
	free(path);
	return p->owner;
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
	out->owner = 0;
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
