/* SPDX-License-Identifier: MIT */
#include "ctxrun/ptree.h"

#include <sys/syscall.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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
};

struct ptable {
	struct pinfo *procs;
	size_t len, cap;
	int32_t *slots; /* index into procs, -1 empty */
	size_t nslots;
};

typedef void ptree_visit_fn(const struct pinfo *p, void *data);

static int stat_read(pid_t pid, struct pinfo *out);
static void ptable_load(struct ptable *t);
static const struct pinfo *ptable_get(const struct ptable *t, pid_t pid);
static void ptable_release(struct ptable *t);
static size_t members_visit(pid_t ancestor, pid_t pgid, ptree_visit_fn *fn,
			    void *data);

/* Count the members of group PGID below ANCESTOR. */
size_t
ptree_count(pid_t ancestor, pid_t pgid)
{
	return members_visit(ancestor, pgid, NULL, NULL);
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

/* Send SIG to every live member of group PGID below ANCESTOR. */
size_t
ptree_signal(pid_t ancestor, pid_t pgid, int sig)
{
	struct signal_ctx sc = { .sig = sig };

	members_visit(ancestor, pgid, signal_member, &sc);
	return sc.sent;
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

/* Is P a descendant of ANCESTOR according to table T? */
static int
descends(const struct ptable *t, const struct pinfo *p, pid_t ancestor)
{
	for (int depth = 0; p && depth < 4096; depth++) {
		if (p->ppid == ancestor) {
			return 1;
		}
		if (p->ppid <= 1) {
			return 0;
		}
		p = ptable_get(t, p->ppid);
	}
	return 0;
}

/* Call FN for each member of group PGID below ANCESTOR; return the count. */
static size_t
members_visit(pid_t ancestor, pid_t pgid, ptree_visit_fn *fn, void *data)
{
	struct ptable t = { 0 };
	size_t n = 0;

	ptable_load(&t);
	for (size_t i = 0; i < t.len; i++) {
		const struct pinfo *p = &t.procs[i];

		if (p->pgid != pgid || p->pid == ancestor ||
		    !descends(&t, p, ancestor)) {
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
