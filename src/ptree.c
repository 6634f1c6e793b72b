/* SPDX-License-Identifier: MIT */
#include "ctxrun/ptree.h"

#include <sys/random.h>
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
#include <time.h>
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
	bool nested; /* of a run nested in its owner's job (ptree_match) */
	unsigned long long start; /* start time in clock ticks, when asked */
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

/* A map from pid to a number, by open addressing; nothing is deleted. */
struct pidmap {
	pid_t *keys; /* 0: empty */
	long long *vals;
	size_t len, cap; /* cap: 0, or a power of two */
};

struct ptree_pins {
	struct pidmap fds; /* pid -> pidfd, or -1 when none could be had */
};

struct ptree_orphans {
	char *mark; /* the run's: its jobs' words are MARK.N */
	size_t mark_len;
	pid_t self;
	bool usable;         /* the run's first processes were found */
	struct pidmap owned; /* pid -> start time, of the run's processes */
};

static int stat_read(pid_t pid, struct pinfo *out, bool start);
static char *env_marks(pid_t pid);
static void ptable_load(struct ptable *t, bool starts);
static long read_children(pid_t pid, pid_t tid, pid_t **out);
static long long *pidmap_find(const struct pidmap *m, pid_t pid);
static void pidmap_put(struct pidmap *m, pid_t pid, long long val);
static void pidmap_release(struct pidmap *m);
static bool run_marked(const struct ptree_orphans *o, pid_t pid);
static bool proc_names_us(void);
static void random_bits(unsigned char *buf, size_t len);
static pid_t reparented(pid_t parent);
static bool own(struct ptree_orphans *o, pid_t pid, pid_t parent);
static bool own_siblings(struct ptree_orphans *o, pid_t reaper);
static bool descends_from_run(struct ptable *t, struct pinfo *p,
			      struct ptree_orphans *o);
static void signal_orphan(const struct pinfo *p, int sig, int then,
			  struct ptree_pins *pins);
static size_t ptree_slot_of(pid_t pid, size_t nslots);
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
		/* A nested run passes on its own stop (ptree_match). */
		if (!p->nested || !v->m->leave_nested ||
		    v->outside_sigs[i] == SIGKILL) {
			sigs[n++] = v->outside_sigs[i];
		}
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
	if (fd >= 0 &&
	    (stat_read(p->pid, &now, false) < 0 || now.pgid != p->pgid ||
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

	/* Its numbers are another namespace's: nothing there is surely ours. */
	if (!n || !ptree_proc_ours()) {
		return;
	}
	index_build(&ix, v, n);
	ptable_load(&t, false);
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

/* Is /proc this PID namespace's? */
bool
ptree_proc_ours(void)
{
	static int ours = -1;

	if (ours < 0) {
		ours = proc_names_us();
	}
	return ours;
}

/* The run's part of every job mark. */
const char *
ptree_run_mark(void)
{
	static char mark[33];
	unsigned char bits[16];

	if (!mark[0]) {
		random_bits(bits, sizeof(bits));
		for (size_t i = 0; i < sizeof(bits); i++) {
			snprintf(mark + 2 * i, 3, "%02x", bits[i]);
		}
	}
	return mark;
}

/* An empty set of pins. */
struct ptree_pins *
ptree_pins_new(void)
{
	return xcalloc(1, sizeof(struct ptree_pins));
}

/* Was the process that holds PID now signalled already? */
bool
ptree_pins_hold(struct ptree_pins *s, pid_t pid)
{
	long long *fd = pidmap_find(&s->fds, pid);

	/* Without a pidfd there is no telling: take it for the same one. */
	return fd && (*fd < 0 || ptree_pidfd_signal((int)*fd, 0) == 0);
}

/* Keep FD, a pidfd on PID. */
void
ptree_pins_add(struct ptree_pins *s, pid_t pid, int fd)
{
	long long *old = pidmap_find(&s->fds, pid);

	if (old && *old >= 0) {
		close((int)*old);
	}
	pidmap_put(&s->fds, pid, fd);
}

/* Close S's pidfds and free it. */
void
ptree_pins_free(struct ptree_pins *s)
{
	if (!s) {
		return;
	}
	for (size_t i = 0; i < s->fds.cap; i++) {
		if (s->fds.keys[i] && s->fds.vals[i] >= 0) {
			close((int)s->fds.vals[i]);
		}
	}
	pidmap_release(&s->fds);
	free(s);
}

/*
 * The watchdog's problem: when ctxrun dies, the kernel re-parents all its
 * children (job leaders, the orphans it adopted as their subreaper, the
 * watchdog) to the nearest subreaper above it, or init: R. From then on
 * no ppid chain leads to ctxrun, and R's other children (a shell's, a test
 * harness's, init's) look just like the run's. A mark alone proves
 * nothing: any process may carry a copy of one.
 *
 * What tells them apart is the order in which a thread of R lists its
 * children (/proc/R/task/T/children): the order in which they became its
 * children. fork() appends the child at the tail, and re-parenting moves
 * the dead parent's whole list to the tail in one step, under the
 * tasklist lock (kernel/exit.c, forget_original_parent()). Every process
 * of the run became ctxrun's child after the watchdog did: it is forked
 * before the first job, and a job's orphan is adopted later still. So once
 * the watchdog sees itself re-parented (getppid() changes under that same
 * lock), R's list holds, after the watchdog, every process that was
 * ctxrun's child when it died, then only those that became R's children
 * after that instant; whatever was R's child before comes before the
 * watchdog and is never taken, mark or not. Those found after it, read at once, are the run's roots. A
 * process is the run's when its ppid chain reaches a root or a process
 * already known to be the run's, and stays so when its parent dies and it
 * is re-parented to R in turn: it is known by pid and start time, which
 * no other process can share (a pid is reused only after the pid space
 * wrapped around, never within the clock tick of a start time).
 *
 * The one window left: a process that becomes R's child between ctxrun's
 * death and the watchdog's read (microseconds) is taken for a root, and
 * signalled if it also carries one of the run's marks, which no process
 * has without having read a job's environment. When the watchdog does not
 * find itself in R's lists (no CONFIG_PROC_CHILDREN, /proc not ours), it
 * has no roots, and marks are trusted for nothing.
 */
struct ptree_orphans *
ptree_orphans_new(pid_t parent, const char *run_mark)
{
	struct ptree_orphans *o = xcalloc(1, sizeof(*o));
	pid_t reaper;

	o->mark = xstrdup(run_mark);
	o->mark_len = strlen(run_mark);
	o->self = getpid();
	if (!ptree_proc_ours()) {
		return o;
	}
	reaper = reparented(parent);
	if (reaper == parent) {
		/* Still alive, so its pid is its own: chains to it are sound. */
		o->usable = own(o, parent, 0);
		return o;
	}
	o->usable = own_siblings(o, reaper);
	return o;
}

/* Signal O's live marked processes that PINS does not hold. */
size_t
ptree_orphans_signal(struct ptree_orphans *o, int sig, int then,
		     struct ptree_pins *pins)
{
	struct ptable t = { 0 };
	size_t live = 0;

	if (!o->usable) {
		return 0;
	}
	ptable_load(&t, true);
	for (size_t i = 0; i < t.len; i++) {
		struct pinfo *p = &t.procs[i];

		if (p->state == 'Z' || p->state == 'X' ||
		    !descends_from_run(&t, p, o) || !run_marked(o, p->pid)) {
			continue;
		}
		live++;
		if (!pins || !ptree_pins_hold(pins, p->pid)) {
			signal_orphan(p, sig, then, pins);
		}
	}
	ptable_release(&t);
	return live;
}

/* Free O. */
void
ptree_orphans_free(struct ptree_orphans *o)
{
	if (!o) {
		return;
	}
	pidmap_release(&o->owned);
	free(o->mark);
	free(o);
}

/* PID's direct children, allocated into *OUT; their number, -1 on error. */
long
ptree_children(pid_t pid, pid_t **out)
{
	if (!ptree_proc_ours()) {
		*out = NULL;
		return -1;
	}
	/* ctxrun is single-threaded: its one task holds all its children. */
	return read_children(pid, pid, out);
}

/*
 * The children of thread TID of PID, in the order they became its
 * children, allocated into *OUT; their number, -1 on error.
 */
static long
read_children(pid_t pid, pid_t tid, pid_t **out)
{
	char path[64], buf[4096], *end;
	size_t cap = 16;
	long n = 0;
	char *all = NULL;
	size_t len = 0;
	ssize_t got;
	int fd;

	*out = NULL;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)tid);
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
	   const void *data, bool *more)
{
	long r = -1;
	const char *p = marks;

	while (p && *p && r < 0) {
		size_t len;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len) {
			r = fn(data, p, len);
		}
		p += len;
	}
	if (more) {
		*more = r >= 0 && p[strspn(p, " ")];
	}
	return r;
}

/*
 * Is word W (LEN bytes) a mark of the run whose own part is DATA (a struct
 * ptree_orphans): that part, a point and a job number, all of it?
 */
static long
word_of_run(const void *data, const char *w, size_t len)
{
	const struct ptree_orphans *o = data;
	size_t digits;

	if (len < o->mark_len + 2 || memcmp(w, o->mark, o->mark_len) ||
	    w[o->mark_len] != '.') {
		return -1;
	}
	digits = len - o->mark_len - 1;
	w += o->mark_len + 1;
	for (size_t i = 0; i < digits; i++) {
		if (w[i] < '0' || w[i] > '9') {
			return -1;
		}
	}
	return 0;
}

/* Does PID's environment (as at exec) hold a mark of O's run? */
static bool
run_marked(const struct ptree_orphans *o, pid_t pid)
{
	char *marks = env_marks(pid);
	bool found = marks_find(marks, word_of_run, o, NULL) >= 0;

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
			for (k = ptree_slot_of(m->pgid, cap); ix->by_pgid[k] >= 0;
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
	for (size_t k = ptree_slot_of(pgid, ix->mask + 1); ix->by_pgid[k] >= 0;
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

/*
 * The visit P itself belongs to (by group, then mark, then "any"), or -1.
 * A mark followed by another word in P's CTXRUN_MARK makes P a nested
 * run's process (*NESTED): a ctxrun started in the job marked it.
 */
static long
job_of(const struct pinfo *p, const struct jobs_index *ix, bool *nested)
{
	long j = by_pgid(ix, p->pgid);

	*nested = false;
	if (j < 0 && ix->marks) {
		char *marks = env_marks(p->pid);

		j = marks_find(marks, by_mark, ix, nested);
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
	bool nested = false;

	for (q = p; q; q = (struct pinfo *)ptable_get(t, q->ppid)) {
		if (q->owner) {
			cur = q->owner;
			nested = q->nested;
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
			bool mine;
			long j = job_of(path[n], ix, &mine);

			/* Below a nested run's process is that run's too. */
			nested = j >= 0 ? mine : nested;
			cur = j >= 0 ? (int)j + 1 : cur;
		}
		path[n]->owner = cur;
		path[n]->nested = nested;
	}
	free(path);
	return p->owner;
}

/*
 * Read pid, state, ppid and pgid of PID from /proc/PID/stat, and with
 * START its start time.
 */
static int
stat_read(pid_t pid, struct pinfo *out, bool start)
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
	/* Fields 6 to 21 lie between the group and the start time. */
	out->start = 0;
	if (start && sscanf(close_paren + 1, " %*c %*d %*d %*d %*d %*d %*u "
			    "%*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
			    "%llu", &out->start) != 1) {
		return -1;
	}
	out->pid = pid;
	out->owner = 0;
	out->nested = false;
	return 0;
}

/* Hash slot of PID in a table of NSLOTS (a power of two). */
static size_t
ptree_slot_of(pid_t pid, size_t nslots)
{
	return ((uint32_t)pid * 2654435761u) & (nslots - 1);
}

/* Fill T with every process /proc lists (with STARTS, their start times). */
static void
ptable_load(struct ptable *t, bool starts)
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

		if (*end || pid <= 0 || stat_read((pid_t)pid, &p, starts) < 0) {
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
		size_t s = ptree_slot_of(t->procs[i].pid, t->nslots);

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
	for (size_t s = ptree_slot_of(pid, t->nslots); t->slots[s] >= 0;
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

/*
 * Does /proc/self name us (getpid()), and does /proc/self/status list one
 * pid only in NSpid, from /proc's namespace down to ours? Either fails
 * when /proc is an ancestor namespace's (the same number may mean us in
 * both), or when we are not in it at all.
 */
static bool
proc_names_us(void)
{
	char link[32], status[4096], *end;
	const char *ns;
	ssize_t n = readlink("/proc/self", link, sizeof(link) - 1);
	int fd, levels = 0;

	if (n <= 0) {
		return false;
	}
	link[n] = '\0';
	if (strtol(link, &end, 10) != getpid() || *end) {
		return false;
	}
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, status, sizeof(status) - 1) : -1;
	if (fd >= 0) {
		close(fd);
	}
	status[n > 0 ? n : 0] = '\0';
	ns = strstr(status, "\nNSpid:");
	if (!ns) {
		return true; /* before Linux 4.1: the link is all there is */
	}
	for (ns += 7; *ns && *ns != '\n'; ns = end) {
		strtol(ns, &end, 10);
		if (end == ns) {
			break;
		}
		levels++;
	}
	return levels == 1;
}

/*
 * Fill BUF with LEN random bytes: getrandom() without waiting for the
 * entropy pool (a supervisor may start early at boot), else /dev/urandom,
 * else the clock, our pid and an address, which still differ between runs.
 */
static void
random_bits(unsigned char *buf, size_t len)
{
	struct timespec ts;
	size_t h;
	int fd;

	if (getrandom(buf, len, GRND_NONBLOCK) == (ssize_t)len) {
		return;
	}
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && read(fd, buf, len) == (ssize_t)len) {
		close(fd);
		return;
	}
	if (fd >= 0) {
		close(fd);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	h = hash_bytes(&ts, sizeof(ts)) ^ (size_t)getpid() ^ (size_t)(void *)&ts;
	for (size_t i = 0; i < len; i++) {
		h = hash_bytes(&h, sizeof(h));
		buf[i] = (unsigned char)h;
	}
}

/*
 * Wait up to a second for the kernel to re-parent us from PARENT, which
 * closed our pipe as it died; our new parent, or PARENT if still alive.
 */
static pid_t
reparented(pid_t parent)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 1000 && getppid() == parent; i++) {
		nanosleep(&ms, NULL);
	}
	return getppid();
}

/*
 * Take PID for one of O's run, by pid and start time, if it is (still) a
 * child of PARENT (any parent, when 0). Whether it was taken.
 */
static bool
own(struct ptree_orphans *o, pid_t pid, pid_t parent)
{
	struct pinfo p;

	if (stat_read(pid, &p, true) < 0 || (parent && p.ppid != parent)) {
		return false;
	}
	pidmap_put(&o->owned, pid, (long long)p.start);
	return true;
}

/*
 * Take for O's roots the children of REAPER listed after us (see
 * ptree_orphans_new()). Whether we were found in a list of REAPER's.
 */
static bool
own_siblings(struct ptree_orphans *o, pid_t reaper)
{
	char path[64];
	struct dirent *de;
	bool found = false;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)reaper);
	dir = opendir(path);
	while (dir && !found && (de = readdir(dir))) {
		pid_t *kids;
		long tid = strtol(de->d_name, NULL, 10);
		long n = tid > 0 ? read_children(reaper, (pid_t)tid, &kids) : -1;
		long i = 0;

		while (i < n && kids[i] != o->self) {
			i++;
		}
		found = i < n;
		for (i++; i < n; i++) {
			own(o, kids[i], reaper);
		}
		if (n >= 0) {
			free(kids);
		}
	}
	if (dir) {
		closedir(dir);
	}
	return found;
}

/*
 * Does P (in T, read with start times) descend from O's run? Answers are
 * memoised on the walked path, as in owner_of(), and every process found
 * to descend is remembered, for when it is re-parented away from the run.
 */
static bool
descends_from_run(struct ptable *t, struct pinfo *p, struct ptree_orphans *o)
{
	struct pinfo **path = NULL, *q;
	size_t n = 0, cap = 0;
	int cur = OWNER_OUTSIDE;

	for (q = p; q; q = (struct pinfo *)ptable_get(t, q->ppid)) {
		long long *start = pidmap_find(&o->owned, q->pid);

		if (q->owner) {
			cur = q->owner;
			break;
		}
		if (start && (unsigned long long)*start == q->start) {
			cur = q->owner = OWNER_BELOW;
			break;
		}
		if (q->pid == o->self || q->ppid <= 0 || n > t->len) {
			break; /* the watchdog, the top, or a loop */
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			path = xrealloc(path, cap * sizeof(*path));
		}
		path[n++] = q;
	}
	while (n--) {
		path[n]->owner = cur;
		if (cur == OWNER_BELOW) {
			pidmap_put(&o->owned, path[n]->pid,
				   (long long)path[n]->start);
		}
	}
	free(path);
	return p->owner == OWNER_BELOW;
}

/*
 * Send SIG, then THEN unless 0, to P through a pidfd, once its start time
 * shows it is still the process read; pin it in PINS unless NULL.
 */
static void
signal_orphan(const struct pinfo *p, int sig, int then,
	      struct ptree_pins *pins)
{
	int fd = ptree_pidfd_open(p->pid);
	struct pinfo now;

	if (fd < 0 && errno != ENOSYS) {
		return;
	}
	if (stat_read(p->pid, &now, true) < 0 || now.start != p->start) {
		if (fd >= 0) {
			close(fd);
		}
		return;
	}
	if (fd < 0) {
		/* No pidfds (before Linux 5.3): the start time was checked. */
		if (kill(p->pid, sig) == 0 && then) {
			kill(p->pid, then);
		}
	} else if (ptree_pidfd_signal(fd, sig) == 0 && then) {
		ptree_pidfd_signal(fd, then);
	}
	if (pins) {
		ptree_pins_add(pins, p->pid, fd);
	} else if (fd >= 0) {
		close(fd);
	}
}

/* Where PID's value is in M; NULL when M has none. */
static long long *
pidmap_find(const struct pidmap *m, pid_t pid)
{
	if (!m->cap) {
		return NULL;
	}
	for (size_t k = ptree_slot_of(pid, m->cap); m->keys[k];
	     k = (k + 1) & (m->cap - 1)) {
		if (m->keys[k] == pid) {
			return &m->vals[k];
		}
	}
	return NULL;
}

/* Set PID's value in M to VAL, growing M at half full. */
static void
pidmap_put(struct pidmap *m, pid_t pid, long long val)
{
	long long *old = pidmap_find(m, pid);
	size_t k;

	if (old) {
		*old = val;
		return;
	}
	if (2 * (m->len + 1) > m->cap) {
		struct pidmap big = { .cap = m->cap ? 2 * m->cap : 64 };

		big.keys = xcalloc(big.cap, sizeof(*big.keys));
		big.vals = xmalloc(big.cap * sizeof(*big.vals));
		for (size_t i = 0; i < m->cap; i++) {
			if (m->keys[i]) {
				pidmap_put(&big, m->keys[i], m->vals[i]);
			}
		}
		pidmap_release(m);
		*m = big;
	}
	for (k = ptree_slot_of(pid, m->cap); m->keys[k]; k = (k + 1) & (m->cap - 1)) {
	}
	m->keys[k] = pid;
	m->vals[k] = val;
	m->len++;
}

/* Free M's arrays. */
static void
pidmap_release(struct pidmap *m)
{
	free(m->keys);
	free(m->vals);
}
