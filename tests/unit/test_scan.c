/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ctxrun/ptree.h"
#include "ctxrun/scan.h"
#include "ctxrun/spawn.h"
#include "ctxrun/util.h"
#include "unit.h"

/*
 * The scan's batching contract on real children: shells the test starts,
 * each in a process group of its own and some marked, that wait on a pipe
 * the test holds. Each request belongs to a probe that records what the
 * scan did with it; the loop runs until the scan's timer, its only
 * watcher, has served them.
 */

#define MAX_PIDS 16

/* A request's owner and its record. */
struct probe {
	struct scan_req req;
	struct ptree_match m;
	char name;
	int done;           /* done calls */
	unsigned first_iteration, iteration; /* of the first and last done */
	size_t found, live, sent;
	int first, second;  /* precheck calls without and with children */
	enum scan_verdict first_says, second_says;
	size_t settles_at;  /* visit.found a settling precheck sets */
	bool start_one;     /* start a child in the first precheck call */
	const pid_t *kids;  /* the children list of the second call */
	long nkids;
	struct probe *cancel; /* dropped from the done call */
	bool again;           /* queue a count again from the done call */
};

static struct ev_loop *loop;
static struct scan *scan;
static int fds_before;
static pid_t pids[MAX_PIDS];
static int holds[MAX_PIDS]; /* the pipe each waits on */
static int npids;
static char log_[128]; /* precheck calls in order: "a1 b1 a2 b2 " */
static int read_at = -1; /* children we had when the list was read */

/* The loop and its scan; nothing started yet. */
static void
setup(void)
{
	loop = ev_default_loop(0);
	scan = scan_new(loop);
	fds_before = unit_open_fds();
	npids = 0;
	log_[0] = '\0';
	read_at = -1;
}

/* Kill and reap every child; free the scan; no watcher or fd left. */
static void
teardown(void)
{
	for (int i = 0; i < npids; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
		close(holds[i]);
	}
	scan_free(scan);
	cr_assert_eq(ev_run(loop, EVRUN_NOWAIT), 0, "watchers left active");
	cr_assert_eq(unit_open_fds(), fds_before, "fd leaked");
}

TestSuite(scan, .init = setup, .fini = teardown, .timeout = 20);

/*
 * Start a shell in a group of its own, with MARK in CTXRUN_MARK, that
 * waits on a pipe only the test writes to. It is a member from its exec
 * on, but its marks show in /proc only once the exec is over: it says
 * when.
 */
static pid_t
start_member(const char *mark)
{
	char env[64], *envp[] = { env, NULL };
	char *argv[] = { "/bin/sh", "-c", "echo; read x", NULL };
	struct spawn_opts req = { .argv = argv, .envp = envp, .new_group = true,
				 .tty_fd = -1 };
	int in[2], out[2];
	pid_t pid;
	char c;

	cr_assert_lt(npids, MAX_PIDS);
	snprintf(env, sizeof(env), PTREE_MARK_VAR "=%s", mark);
	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	req.fds[0] = in[0];
	req.fds[1] = out[1];
	req.fds[2] = -1;
	cr_assert_eq(spawn_start(&req, &pid), 0);
	close(in[0]);
	close(out[1]);
	cr_assert_eq(read(out[0], &c, 1), 1, "the shell did not start");
	close(out[0]);
	pids[npids] = pid;
	holds[npids++] = in[1];
	return pid;
}

/* Reap PID, which must have died of SIG; forget it. */
static void
reap(pid_t pid, int sig)
{
	unit_reap(pid, sig);
	for (int i = 0; i < npids; i++) {
		if (pids[i] == pid) {
			close(holds[i]);
			pids[i] = pids[--npids];
			holds[i] = holds[npids];
		}
	}
}

/* Is PID in the N pids of LIST? */
static bool
listed(pid_t pid, const pid_t *list, long n)
{
	for (long i = 0; i < n; i++) {
		if (list[i] == pid) {
			return true;
		}
	}
	return false;
}

/* Log a precheck call; return the probe's verdict for it. */
static enum scan_verdict
precheck(struct scan_req *r, const struct scan_children *kids)
{
	struct probe *p = container_of(r, struct probe, req);
	size_t len = strlen(log_);
	enum scan_verdict v = kids ? p->second_says : p->first_says;

	snprintf(log_ + len, sizeof(log_) - len, "%c%c ", p->name,
		 kids ? '2' : '1');
	if (!kids) {
		p->first++;
		if (p->start_one) {
			start_member("");
		}
	} else {
		p->second++;
		p->kids = kids->pids;
		p->nkids = kids->n;
		/*
		 * Read after every first call: what they started is in. Read
		 * once: what the first second call starts is not.
		 */
		if (read_at < 0) {
			read_at = npids;
			start_member("");
		}
		for (int i = 0; i < read_at; i++) {
			cr_assert(listed(pids[i], kids->pids, kids->n),
				  "child %d not listed", (int)pids[i]);
		}
		cr_assert_eq(kids->n, read_at, "not the batch's list");
	}
	if (v == SCAN_SETTLED) {
		r->visit.found = p->settles_at;
	}
	return v;
}

/* Record the count; drop or queue what the test asks. */
static void
done_cb(struct scan_req *r)
{
	struct probe *p = container_of(r, struct probe, req);

	if (!p->done++) {
		p->first_iteration = ev_iteration(loop);
	}
	p->iteration = ev_iteration(loop);
	p->found = r->visit.found;
	p->live = r->visit.live;
	p->sent = r->visit.sent;
	if (p->cancel) {
		scan_cancel(scan, &p->cancel->req);
	}
	if (p->again) {
		p->again = false;
		scan_count(scan, r);
	}
}

/* A probe named NAME for the jobs of group PGID and MARK. */
static void
probe_init(struct probe *p, char name, pid_t pgid, const char *mark)
{
	*p = (struct probe){
		.name = name,
		.m = { .ancestor = getpid(), .pgid = pgid, .mark = mark },
		.first_says = SCAN_WALK,
		.second_says = SCAN_WALK,
	};
	p->req.visit.m = &p->m;
	p->req.done = done_cb;
}

Test(scan, requests_of_one_turn_are_served_together_in_the_next)
{
	pid_t g = start_member("");
	struct probe a, b;

	start_member("scan.b");
	start_member("scan.b other.1");
	start_member("scan.bb"); /* a longer word: not B's mark */
	probe_init(&a, 'a', g, NULL);
	probe_init(&b, 'b', 0, "scan.b");
	scan_count(scan, &a.req);
	scan_count(scan, &b.req);
	scan_count(scan, &a.req); /* queued once: one answer */
	cr_assert_eq(a.done + b.done, 0, "served before the loop ran");
	ev_run(loop, 0);
	cr_assert_eq(a.done, 1);
	cr_assert_eq(b.done, 1);
	cr_assert_eq(a.iteration, b.iteration, "one batch served in two turns");
	cr_assert_eq(a.found, 1);
	cr_assert_eq(a.live, 1);
	cr_assert_eq(b.found, 2);
	cr_assert_eq(a.sent + b.sent, 0);
}

Test(scan, prechecks_run_first_and_share_one_children_list)
{
	struct probe p[4], *a = &p[0], *b = &p[1], *c = &p[2], *d = &p[3];

	/*
	 * Each job a group of one. A and B ask for the list, each starting a
	 * child first; A then settles on its own, B asks for the walk. C has
	 * a signal to send: never prechecked. D settles at once.
	 */
	for (int i = 0; i < 4; i++) {
		probe_init(&p[i], (char)('a' + i), start_member(""), NULL);
		p[i].req.precheck = precheck;
	}
	a->first_says = b->first_says = SCAN_CHILDREN;
	a->start_one = b->start_one = true;
	a->second_says = d->first_says = SCAN_SETTLED;
	a->settles_at = 42;
	d->settles_at = 7;
	scan_count(scan, &a->req);
	scan_count(scan, &b->req);
	scan_signal(scan, &c->req, SIGCONT, false);
	scan_count(scan, &c->req);
	scan_count(scan, &d->req);
	ev_run(loop, 0);
	/* Every first call, then the list once, then the second calls. */
	cr_assert_eq(strlen(log_), 15, "calls: %s", log_);
	for (const char *call = "a1b1d1a2b2"; *call; call += 2) {
		char name[3] = { call[0], call[1], '\0' };

		cr_assert_not_null(strstr(log_, name), "calls: %s", log_);
	}
	cr_assert_lt(strrchr(log_, '1'), strchr(log_, '2'), "calls: %s", log_);
	cr_assert_eq(c->first + c->second, 0, "signals, yet prechecked");
	cr_assert_eq(a->kids, b->kids, "the children list read twice");
	cr_assert_eq(a->nkids, 6);
	cr_assert_eq(a->found, 42, "the walk overwrote a settled count");
	cr_assert_eq(b->found, 1);
	cr_assert_eq(c->found, 1);
	cr_assert_eq(c->sent, 1);
	cr_assert_eq(d->found, 7);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(p[i].done, 1, "probe %c", p[i].name);
	}
}

Test(scan, signals_go_to_members_and_outside_only_to_those_outside)
{
	pid_t leader = start_member("scan.j"), away = start_member("scan.j");
	struct probe p;

	/* AWAY left the group (it has one of its own) but carries the mark. */
	probe_init(&p, 'p', leader, "scan.j");
	scan_signal(scan, &p.req, SIGTERM, true);
	scan_count(scan, &p.req);
	ev_run(loop, 0);
	cr_assert_eq(p.found, 2);
	cr_assert_eq(p.sent, 1, "the group was signalled as if outside");
	reap(away, SIGTERM);
	/* Signals accumulate: both go to every member, the leader now. */
	scan_signal(scan, &p.req, SIGCONT, false);
	scan_signal(scan, &p.req, SIGTERM, false);
	scan_count(scan, &p.req);
	ev_run(loop, 0);
	cr_assert_eq(p.done, 2);
	cr_assert_eq(p.found, 1);
	cr_assert_eq(p.sent, 2);
	reap(leader, SIGTERM);
}

Test(scan, dropped_requests_are_neither_served_nor_called_back)
{
	pid_t g = start_member("");
	struct probe a, b, c, d;

	probe_init(&a, 'a', g, NULL);
	probe_init(&b, 'b', g, NULL);
	probe_init(&c, 'c', g, NULL);
	probe_init(&d, 'd', g, NULL);
	/* B and C drop each other from their done calls: one is called. */
	b.cancel = &c;
	c.cancel = &b;
	/* A's signal is dropped with it; queued again, A only counts. */
	scan_signal(scan, &a.req, SIGTERM, false);
	scan_cancel(scan, &a.req);
	scan_cancel(scan, &a.req); /* idle: a no-op */
	scan_cancel(scan, &d.req); /* never queued: a no-op */
	scan_count(scan, &b.req);
	scan_count(scan, &c.req);
	ev_run(loop, 0);
	cr_assert_eq(a.done, 0);
	cr_assert_eq(b.done + c.done, 1, "a dropped request was called back");
	scan_count(scan, &a.req);
	ev_run(loop, 0);
	cr_assert_eq(a.done, 1);
	cr_assert_eq(a.found, 1);
	cr_assert_eq(a.sent, 0, "a dropped signal was sent");
}

Test(scan, a_request_queued_from_its_callback_is_served_in_a_later_turn)
{
	pid_t g = start_member("");
	struct probe a;

	probe_init(&a, 'a', g, NULL);
	a.again = true;
	scan_count(scan, &a.req);
	ev_run(loop, 0);
	cr_assert_eq(a.done, 2);
	cr_assert_gt(a.iteration, a.first_iteration, "twice in one turn");
	cr_assert_eq(a.found, 1);
}
