/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/ptree.h"
#include "unit.h"

/*
 * Membership on a real tree of processes: the test forks them, each in the
 * process group the test says, some forking further, some exec'ing a
 * shell with a mark in CTXRUN_MARK. A node is ready (its group joined, its
 * own children ready) when the pipe it inherited says so: at EOF, or for a
 * shell with a line once its exec is over (its marks show in /proc only
 * then, which a close-on-exec pipe would announce too early). Every
 * node's pid goes to a table shared with the children, so that the
 * test finds the grandchildren and .fini kills them all.
 */

#define MAX_NODES 32
#define STAY (-1) /* fork_node(): stay in the parent's group */

static struct nodes {
	int n;
	pid_t pids[MAX_NODES]; /* 0: reaped by the test */
} *nodes;
static int fds_before;
static char prefix[64], mark1[80], mark10[80]; /* unique to this process */

/* A subreaper, as ctxrun is, and an empty table of nodes. */
static void
setup(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	nodes = mmap(NULL, sizeof(*nodes), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(nodes, MAP_FAILED);
	nodes->n = 0;
	snprintf(prefix, sizeof(prefix), "ptree-test.%d.", (int)getpid());
	snprintf(mark1, sizeof(mark1), "%s1", prefix);
	snprintf(mark10, sizeof(mark10), "%s10", prefix);
	fds_before = unit_open_fds();
}

/* Kill every node by pid, reap them all, and check for leaked fds. */
static void
teardown(void)
{
	for (int i = 0; i < nodes->n; i++) {
		if (nodes->pids[i] > 0) {
			kill(nodes->pids[i], SIGKILL);
		}
	}
	while (waitpid(-1, NULL, 0) > 0) {
	}
	munmap(nodes, sizeof(*nodes));
	cr_assert_eq(unit_open_fds(), fds_before, "fd leaked");
}

TestSuite(ptree, .init = setup, .fini = teardown, .timeout = 20);

/*
 * Fork a node that joins group PGID (0: a group of its own; STAY), runs
 * THEN (which may fork nodes of its own), then pauses, or with MARK execs
 * a shell carrying it, which waits on a pipe it holds itself. Returns its
 * pid once it is ready, -1 on failure. Called in the test's children too:
 * no Criterion call here.
 */
static pid_t
fork_node(pid_t pgid, const char *with_mark, void (*then)(void))
{
	char env[128], *envp[] = { env, NULL };
	char *argv[] = { "/bin/sh", "-c", "echo >&3; exec 3>&-; read x", NULL };
	int ready[2], never[2];
	pid_t pid;
	char c;

	snprintf(env, sizeof(env), PTREE_MARK_VAR "=%s",
		 with_mark ? with_mark : "");
	if (pipe2(ready, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		return -1;
	}
	if (pid == 0) {
		/*
		 * Hold no fd but READY's write end, as fd 3, or our own
		 * children would keep our parent's pipes open.
		 */
		close(ready[0]);
		if (dup2(ready[1], 3) < 0 || fcntl(3, F_SETFD, 0) < 0) {
			_exit(127);
		}
		close_range(4, ~0U, 0);
		if (pgid != STAY && setpgid(0, pgid) < 0) {
			_exit(127);
		}
		unit_child_signals();
		if (then) {
			then();
		}
		if (with_mark) {
			if (pipe(never) < 0 || dup2(never[0], 0) < 0) {
				_exit(127);
			}
			execve(argv[0], argv, envp);
			_exit(127);
		}
		close(3);
		for (;;) {
			pause();
		}
	}
	/* Both sides set the group, so that it is set on return. */
	if (pgid != STAY) {
		setpgid(pid, pgid);
	}
	close(ready[1]);
	while (read(ready[0], &c, 1) < 0 && errno == EINTR) {
	}
	close(ready[0]);
	nodes->pids[__atomic_fetch_add(&nodes->n, 1, __ATOMIC_SEQ_CST)] = pid;
	return pid;
}

/* Kill node PID and reap it: its children are re-parented to us. */
static void
end_node(pid_t pid)
{
	kill(pid, SIGKILL);
	unit_reap(pid, SIGKILL);
	for (int i = 0; i < nodes->n; i++) {
		if (nodes->pids[i] == pid) {
			nodes->pids[i] = 0;
		}
	}
}

/* The match for the job of group PGID and mark MARK below us. */
static struct ptree_match
below_us(pid_t pgid, const char *with_mark)
{
	return (struct ptree_match){ .ancestor = getpid(), .pgid = pgid,
				     .mark = with_mark };
}

static pid_t group_g; /* the group a `then` joins */

/* A child of a node, in group_g. */
static void
child_in_group_g(void)
{
	fork_node(group_g, NULL, NULL);
}

Test(ptree, group_members_count_only_below_the_ancestor)
{
	pid_t p, a, x;
	struct ptree_match m;
	struct ptree_visit v = { .m = &m, .sigs = { SIGCONT } };

	/* P leads group G; A, a group of its own, has a child X in G. */
	p = fork_node(0, NULL, NULL);
	group_g = p;
	a = fork_node(0, NULL, child_in_group_g);
	x = nodes->pids[1];
	cr_assert_eq(getpgid(x), p);
	m = below_us(p, NULL);
	cr_assert_eq(ptree_count(&m), 2);
	m.ancestor = a; /* P is not below A */
	cr_assert_eq(ptree_count(&m), 1);
	/* Our own group holds our parent, never below us: only our children. */
	fork_node(STAY, NULL, NULL);
	fork_node(STAY, NULL, NULL);
	m = below_us(getpgrp(), NULL);
	cr_assert_eq(ptree_count(&m), 2);
	/* P dead and unreaped still counts, but is not live nor signalled. */
	kill(p, SIGKILL);
	unit_await_exit(p);
	m = below_us(p, NULL);
	ptree_walk(&v, 1);
	cr_assert_eq(v.found, 2);
	cr_assert_eq(v.live, 1);
	cr_assert_eq(v.sent, 1);
}

/* A child in our group. */
static void
child_here(void)
{
	fork_node(STAY, NULL, NULL);
}

/* A child in a group of its own, with a child of its own in it. */
static void
child_apart(void)
{
	fork_node(0, NULL, child_here);
}

Test(ptree, descendants_of_a_member_are_members_until_orphaned)
{
	pid_t l = fork_node(0, NULL, child_apart), e = nodes->pids[1];
	struct ptree_match m = below_us(l, NULL);
	pid_t *kids;

	cr_assert_neq(getpgid(e), l);
	/* E and F left L's group, but descend from L. */
	cr_assert_eq(ptree_count(&m), 3);
	/* Re-parented to us, unmarked: nothing ties them to L's job now. */
	end_node(l);
	cr_assert_eq(ptree_children(getpid(), &kids), 1);
	cr_assert_eq(kids[0], e);
	free(kids);
	cr_assert_eq(ptree_count(&m), 0);
}

/*
 * Three nodes in groups of their own: marked 1, marked 10 (which only
 * starts like 1), and with 1 among other words (a nested run's marks).
 */
static void
marked_then(void)
{
	char words[200];

	snprintf(words, sizeof(words), "outer.7 %s tail", mark1);
	fork_node(0, mark1, NULL);
	fork_node(0, mark10, NULL);
	fork_node(0, words, NULL);
}

Test(ptree, a_mark_finds_members_that_left_the_group)
{
	pid_t l, stranger = fork_node(0, NULL, NULL), m1, m10, words;
	struct ptree_match m;

	l = fork_node(0, NULL, marked_then);
	m1 = nodes->pids[1];
	m10 = nodes->pids[2];
	words = nodes->pids[3];
	/* L gone, its marked children are ours now, in groups of their own. */
	end_node(l);
	m = below_us(l, mark1);
	cr_assert_eq(ptree_count(&m), 2, "the mark found the wrong ones");
	m.mark = NULL;
	cr_assert_eq(ptree_count(&m), 0, "found by group alone");
	/* Below another ancestor the same marks are a stranger's. */
	m = below_us(l, mark1);
	m.ancestor = stranger;
	cr_assert_eq(ptree_count(&m), 0);
	/* Two signalled: the one whose mark only starts like it is not. */
	m.ancestor = getpid();
	cr_assert_eq(ptree_signal(&m, SIGTERM), 2);
	unit_reap(m1, SIGTERM);
	unit_reap(words, SIGTERM);
	nodes->pids[1] = nodes->pids[3] = 0;
	cr_assert_eq(kill(m10, SIGTERM), 0);
	unit_reap(m10, SIGTERM);
	nodes->pids[2] = 0;
}

Test(ptree, any_takes_every_descendant_and_exclude_cuts_a_subtree)
{
	pid_t a = fork_node(0, NULL, child_here);
	pid_t c = fork_node(0, NULL, child_here);
	struct ptree_match m = { .ancestor = getpid(), .any = true };

	/* A and C lead groups of their own, each with a child in it. */
	cr_assert_eq(ptree_count(&m), 4);
	m.exclude = c;
	cr_assert_eq(ptree_count(&m), 2);
	m.exclude = a;
	cr_assert_eq(ptree_count(&m), 2);
	/* Below C: D alone. */
	m = (struct ptree_match){ .ancestor = c, .any = true };
	cr_assert_eq(ptree_count(&m), 1);
}

Test(ptree, a_walk_gives_a_shared_member_to_the_nearer_job)
{
	pid_t l1 = fork_node(0, NULL, child_apart), l2 = nodes->pids[1];
	struct ptree_match m1 = below_us(l1, NULL), m2 = below_us(l2, NULL);
	struct ptree_visit v[2] = {
		{ .m = &m1, .sigs = { SIGCONT }, .outside_sigs = { SIGCONT } },
		{ .m = &m2, .sigs = { SIGCONT } },
	};

	/* L2 and X descend from L1, a member of job 1, in job 2's group. */
	ptree_walk(v, 2);
	cr_assert_eq(v[0].found, 1);
	cr_assert_eq(v[1].found, 2, "L2's group went to L1's job");
	cr_assert_eq(v[0].sent, 1);
	cr_assert_eq(v[1].sent, 2);
}

Test(ptree, children_are_listed_zombies_included)
{
	pid_t a = fork_node(STAY, NULL, NULL), b = fork_node(STAY, NULL, NULL);
	pid_t *kids;
	long n;
	int fd;

	/* Without pidfds (valgrind), kill() stands in. */
	fd = ptree_pidfd_open(a);
	cr_assert(fd >= 0 || errno == ENOSYS, "pidfd: %s", strerror(errno));
	if (fd >= 0) {
		cr_assert_eq(ptree_pidfd_signal(fd, SIGTERM), 0);
	} else {
		kill(a, SIGTERM);
	}
	unit_await_exit(a);
	n = ptree_children(getpid(), &kids);
	cr_assert_eq(n, 2);
	cr_assert(kids[0] == a ? kids[1] == b : kids[0] == b && kids[1] == a);
	free(kids);
	cr_assert_eq(ptree_child_count(getpid()), 2, "a zombie not counted");
	cr_assert_eq(ptree_child_count(b), 0);
	cr_assert_eq(waitpid(a, NULL, 0), a);
	nodes->pids[0] = 0;
	/* The pidfd still names A, reaped: no other process gets the signal. */
	if (fd >= 0) {
		cr_assert_eq(ptree_pidfd_signal(fd, SIGTERM), -1);
		cr_assert_eq(errno, ESRCH);
		close(fd);
	}
	cr_assert_eq(ptree_child_count(getpid()), 1);
	cr_assert_eq(ptree_child_count(0x7ffffff0), -1);
}
