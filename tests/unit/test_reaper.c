/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ctxrun/reaper.h"
#include "ctxrun/util.h"
#include "unit.h"

/*
 * The reaper on children the test forks itself: each exits at once with a
 * code of its own, or pauses until the test signals it. Every callback
 * checks what the reaper promises at that instant; the test ends when the
 * last expected report stops the reaper, so ev_run() returns.
 */

#define MAX_KIDS 640

/* A child, its watch and what the reaper told about it. */
struct kid {
	struct reaper_watch w;
	pid_t pid;
	bool reaped;
	int fired;
	int status[4];
	struct reaper_watch *unwatch; /* unwatched from its exit callback */
	struct kid *next;             /* re-watched with W from its callback */
};

/* An orphan ear and the reaped pids it heard, in order. */
struct ear {
	struct reaper_ear ear;
	pid_t pids[MAX_KIDS];
	int status[MAX_KIDS];
	int heard;
	struct reaper_ear *other; /* unlistened from its callback */
};

static struct unit_loop fx;
static struct kid kids[MAX_KIDS];
static int nkids;
static int expected; /* reports still to come before the reaper stops */

/* The loop and a started reaper. */
static void
setup(void)
{
	unit_loop_init(&fx);
	reaper_start(fx.reaper);
	nkids = 0;
}

/* Kill and reap what a failed test left; did anything survive? */
static bool
kill_leftovers(void)
{
	bool left = false;

	for (int i = 0; i < nkids; i++) {
		if (!kids[i].reaped) {
			kill(kids[i].pid, SIGKILL);
			left = true;
		}
	}
	while (waitpid(-1, NULL, 0) > 0) {
		left = true;
	}
	return left;
}

/* Each test ends with nothing watched, active, running or open. */
static void
teardown(void)
{
	cr_assert_not(kill_leftovers(), "a child survived");
	unit_loop_check(&fx);
}

TestSuite(reaper, .init = setup, .fini = teardown, .timeout = 30);

/*
 * Fork a child that exits with CODE at once, or pauses when CODE is -1,
 * until a signal ends it.
 */
static struct kid *
fork_kid(int code)
{
	struct kid *k = &kids[nkids];
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (code >= 0) {
			_exit(code);
		}
		unit_child_signals();
		for (;;) {
			pause();
		}
	}
	*k = (struct kid){ .pid = pid };
	nkids++;
	return k;
}

/* One report fewer to wait for; the last one stops the reaper. */
static void
one_less(void)
{
	if (--expected == 0) {
		reaper_stop(fx.reaper);
	}
}

/* The kid whose pid is PID, or NULL. */
static struct kid *
kid_of(pid_t pid)
{
	for (int i = 0; i < nkids; i++) {
		if (kids[i].pid == pid) {
			return &kids[i];
		}
	}
	return NULL;
}

/* Record on K a report that its watch W had. */
static void
note(struct kid *k, struct reaper_watch *w, int status)
{
	cr_assert_lt(k->fired, 4, "too many reports for pid %d", (int)w->pid);
	k->status[k->fired++] = status;
	kid_of(w->pid)->reaped = !WIFSTOPPED(status) && !WIFCONTINUED(status);
}

/*
 * A watched kid ended: it is unwatched already. Unwatch another, or watch
 * the next kid with the same watch, when the test asks.
 */
static void
exit_cb(struct reaper_watch *w, int status)
{
	struct kid *k = container_of(w, struct kid, w), *next = k->next;

	cr_assert_not(w->active, "the watch still linked in its callback");
	cr_assert_not(reaper_watches(fx.reaper, w->pid));
	note(k, w, status);
	if (k->unwatch) {
		reaper_unwatch(fx.reaper, k->unwatch);
	}
	if (next) {
		k->next = NULL;
		reaper_watch(fx.reaper, w, next->pid, exit_cb);
		kill(next->pid, SIGTERM);
	}
	one_less();
}

/* Record an orphan's pid and status; unlisten the other ear if asked. */
static void
orphan_cb(struct reaper_ear *re, pid_t pid, int status)
{
	struct ear *e = container_of(re, struct ear, ear);
	struct kid *k = kid_of(pid);

	cr_assert_lt(e->heard, MAX_KIDS);
	e->pids[e->heard] = pid;
	e->status[e->heard++] = status;
	if (k) {
		k->reaped = true;
	}
	if (e->other) {
		reaper_unlisten_orphans(fx.reaper, e->other);
	}
	one_less();
}

Test(reaper, a_watched_exit_fires_once_with_its_status)
{
	struct kid *a = fork_kid(42), *b = fork_kid(-1);
	struct ear e = { 0 };

	reaper_watch(fx.reaper, &a->w, a->pid, exit_cb);
	reaper_watch(fx.reaper, &b->w, b->pid, exit_cb);
	reaper_listen_orphans(fx.reaper, &e.ear, orphan_cb);
	cr_assert_eq(reaper_watching(fx.reaper), 2);
	cr_assert(reaper_watches(fx.reaper, a->pid));
	cr_assert(reaper_watches(fx.reaper, b->pid));
	kill(b->pid, SIGUSR1);
	expected = 2;
	ev_run(fx.loop, 0);
	cr_assert_eq(a->fired, 1);
	cr_assert(unit_exited(a->status[0], 42));
	cr_assert_eq(b->fired, 1);
	cr_assert(unit_killed_by(b->status[0], SIGUSR1));
	cr_assert_eq(e.heard, 0, "a watched pid's exit reached an ear");
	cr_assert_eq(reaper_watching(fx.reaper), 0);
	reaper_unlisten_orphans(fx.reaper, &e.ear);
}

/* Walk a stopped kid through continue to its death, checking the watch. */
static void
trace_cb(struct reaper_watch *w, int status)
{
	struct kid *k = container_of(w, struct kid, w);

	note(k, w, status);
	if (WIFSTOPPED(status) || WIFCONTINUED(status)) {
		cr_assert(w->active && reaper_watches(fx.reaper, k->pid),
			  "a stop or continue unwatched the pid");
		kill(k->pid, WIFSTOPPED(status) ? SIGCONT : SIGKILL);
		return;
	}
	cr_assert_not(w->active);
	one_less();
}

Test(reaper, stop_and_continue_fire_and_the_watch_stays)
{
	struct kid *k = fork_kid(-1), *u = fork_kid(-1);
	struct ear e = { 0 };
	siginfo_t si;

	/*
	 * U, unwatched, is stopped before the loop runs: its stop is there to
	 * be reaped with K's, and must not reach the ears.
	 */
	kill(u->pid, SIGSTOP);
	cr_assert_eq(waitid(P_PID, u->pid, &si, WSTOPPED | WNOWAIT), 0);
	reaper_listen_orphans(fx.reaper, &e.ear, orphan_cb);
	reaper_watch(fx.reaper, &k->w, k->pid, trace_cb);
	kill(k->pid, SIGSTOP);
	expected = 1;
	ev_run(fx.loop, 0);
	cr_assert_eq(k->fired, 3);
	cr_assert(WIFSTOPPED(k->status[0]));
	cr_assert_eq(WSTOPSIG(k->status[0]), SIGSTOP);
	cr_assert(WIFCONTINUED(k->status[1]));
	cr_assert(unit_killed_by(k->status[2], SIGKILL));
	cr_assert_eq(e.heard, 0, "a stop reached the orphan ears");
	kill(u->pid, SIGKILL);
	expected = 1;
	reaper_start(fx.reaper);
	ev_run(fx.loop, 0);
	cr_assert_eq(e.heard, 1);
	cr_assert_eq(e.pids[0], u->pid);
	cr_assert(unit_killed_by(e.status[0], SIGKILL));
	reaper_unlisten_orphans(fx.reaper, &e.ear);
}

/*
 * The exit of a child nobody watches, and of a grandchild re-parented to
 * us when its parent exits, reach every ear once; a watched one none.
 */
Test(reaper, unwatched_and_orphaned_exits_reach_every_ear_once)
{
	struct kid *w, *u, *g;
	struct ear ears[2] = { { .heard = 0 }, { .heard = 0 } };
	int hold[2], report[2];
	pid_t gpid;

	cr_assert_eq(pipe(hold), 0);
	cr_assert_eq(pipe(report), 0);
	w = &kids[nkids];
	w->pid = fork();
	cr_assert_geq(w->pid, 0);
	if (w->pid == 0) {
		/* The grandchild exits 7 once the test closes HOLD. */
		pid_t pid = fork();
		char c;

		if (pid == 0) {
			close(hold[1]);
			while (read(hold[0], &c, 1) > 0) {
			}
			_exit(7);
		}
		_exit(write(report[1], &pid, sizeof(pid)) != sizeof(pid));
	}
	nkids++;
	close(report[1]);
	cr_assert_eq(read(report[0], &gpid, sizeof(gpid)), sizeof(gpid));
	close(report[0]);
	close(hold[0]);
	g = &kids[nkids++];
	*g = (struct kid){ .pid = gpid };
	u = fork_kid(5);
	reaper_watch(fx.reaper, &w->w, w->pid, exit_cb);
	reaper_listen_orphans(fx.reaper, &ears[0].ear, orphan_cb);
	reaper_listen_orphans(fx.reaper, &ears[1].ear, orphan_cb);
	close(hold[1]);
	expected = 1 + 2 * 2; /* W's watch; G and U to each ear */
	ev_run(fx.loop, 0);
	cr_assert_eq(w->fired, 1);
	cr_assert_eq(WEXITSTATUS(w->status[0]), 0);
	for (struct ear *e = ears; e < ears + 2; e++) {
		bool saw_u = false, saw_g = false;

		cr_assert_eq(e->heard, 2);
		for (int i = 0; i < 2; i++) {
			int st = e->status[i];

			saw_u |= e->pids[i] == u->pid && unit_exited(st, 5);
			saw_g |= e->pids[i] == g->pid && unit_exited(st, 7);
		}
		cr_assert(saw_u && saw_g, "an ear missed an orphan");
	}
	reaper_unlisten_orphans(fx.reaper, &ears[0].ear);
	reaper_unlisten_orphans(fx.reaper, &ears[1].ear);
}

Test(reaper, an_ear_unlistened_by_another_in_the_same_round_is_not_called)
{
	struct ear e1 = { 0 }, e2 = { 0 };
	struct kid *u1, *u2;

	/* Each ear drops the other: whichever fires first is the only one. */
	e1.other = &e2.ear;
	e2.other = &e1.ear;
	reaper_listen_orphans(fx.reaper, &e1.ear, orphan_cb);
	reaper_listen_orphans(fx.reaper, &e2.ear, orphan_cb);
	u1 = fork_kid(1);
	u2 = fork_kid(2);
	expected = 2;
	ev_run(fx.loop, 0);
	cr_assert_eq(e1.heard + e2.heard, 2);
	cr_assert(e1.heard == 0 || e2.heard == 0, "an unlistened ear fired");
	cr_assert(u1->reaped && u2->reaped);
	reaper_unlisten_orphans(fx.reaper, &e1.ear);
	reaper_unlisten_orphans(fx.reaper, &e2.ear);
	reaper_unlisten_orphans(fx.reaper, &e2.ear); /* a no-op */
}

/* Unwatch ourselves when stopped, then kill our pid: an orphan now. */
static void
unwatch_on_stop_cb(struct reaper_watch *w, int status)
{
	struct kid *k = container_of(w, struct kid, w);

	note(k, w, status);
	cr_assert(WIFSTOPPED(status));
	reaper_unwatch(fx.reaper, w);
	cr_assert_not(reaper_watches(fx.reaper, k->pid));
	kill(k->pid, SIGKILL);
}

Test(reaper, unwatch_from_a_callback_sends_the_exit_to_the_ears)
{
	struct kid *a = fork_kid(0), *b = fork_kid(-1), *c = fork_kid(-1);
	struct ear e = { 0 };

	/* A's exit unwatches B; C unwatches itself when it stops. */
	a->unwatch = &b->w;
	reaper_watch(fx.reaper, &a->w, a->pid, exit_cb);
	reaper_watch(fx.reaper, &b->w, b->pid, exit_cb);
	reaper_watch(fx.reaper, &c->w, c->pid, unwatch_on_stop_cb);
	reaper_listen_orphans(fx.reaper, &e.ear, orphan_cb);
	kill(c->pid, SIGSTOP);
	expected = 2; /* A's watch, C to the ear */
	ev_run(fx.loop, 0);
	cr_assert_eq(a->fired, 1);
	cr_assert_eq(b->fired, 0);
	cr_assert_not(b->w.active);
	cr_assert_eq(c->fired, 1, "an unwatched pid's exit reached its watch");
	cr_assert_eq(e.heard, 1);
	cr_assert_eq(e.pids[0], c->pid);
	cr_assert(unit_killed_by(e.status[0], SIGKILL));
	/* B, unwatched, goes to the ear too. */
	kill(b->pid, SIGKILL);
	expected = 1;
	reaper_start(fx.reaper);
	ev_run(fx.loop, 0);
	cr_assert_eq(b->fired, 0);
	cr_assert_eq(e.heard, 2);
	cr_assert_eq(e.pids[1], b->pid);
	reaper_unlisten_orphans(fx.reaper, &e.ear);
}

Test(reaper, a_watch_is_free_again_inside_its_exit_callback)
{
	struct kid *a = fork_kid(3), *b = fork_kid(-1);

	/* A's callback watches B with A's watch, and ends B. */
	a->next = b;
	reaper_watch(fx.reaper, &a->w, a->pid, exit_cb);
	expected = 2;
	ev_run(fx.loop, 0);
	/* B's exit came through A's watch, so it counts on A. */
	cr_assert_eq(a->fired, 2);
	cr_assert(unit_exited(a->status[0], 3));
	cr_assert(unit_killed_by(a->status[1], SIGTERM));
	cr_assert(b->reaped && a->w.pid == b->pid && !a->w.active);
	cr_assert_eq(reaper_watching(fx.reaper), 0);
}

/* Count a report for one of many kids; they carry their index's code. */
static void
many_cb(struct reaper_watch *w, int status)
{
	struct kid *k = container_of(w, struct kid, w);

	note(k, w, status);
	cr_assert_eq(WEXITSTATUS(status), (int)(k - kids) % 251,
		     "pid %d got another's status", (int)k->pid);
	one_less();
}

/*
 * Hundreds of kids, every eighth watched: few pids for the range they
 * span, so that a table of any size has some share a slot, and enough to
 * make it grow. Every third watched is unwatched again before it exits.
 */
Test(reaper, hundreds_of_pids_are_dispatched_by_pid)
{
	struct ear e = { 0 };
	int n = 600, watched = 0, unwatched = 0;

	for (int i = 0; i < n; i++) {
		struct kid *k = fork_kid(i % 251);

		if (i % 8 == 0) {
			reaper_watch(fx.reaper, &k->w, k->pid, many_cb);
			watched++;
		}
	}
	cr_assert_eq(reaper_watching(fx.reaper), (size_t)watched);
	for (int i = 0; i < n; i += 24) {
		reaper_unwatch(fx.reaper, &kids[i].w);
		unwatched++;
	}
	cr_assert_eq(reaper_watching(fx.reaper), (size_t)(watched - unwatched));
	for (int i = 0; i < n; i++) {
		bool want = i % 8 == 0 && i % 24 != 0;

		cr_assert_eq(reaper_watches(fx.reaper, kids[i].pid), want);
	}
	reaper_listen_orphans(fx.reaper, &e.ear, orphan_cb);
	expected = n;
	ev_run(fx.loop, 0);
	for (int i = 0; i < n; i++) {
		int want = i % 8 == 0 && i % 24 != 0;

		cr_assert_eq(kids[i].fired, want, "kid %d", i);
	}
	cr_assert_eq(e.heard, n - watched + unwatched);
	for (int i = 0; i < e.heard; i++) {
		struct kid *k = kid_of(e.pids[i]);

		cr_assert(k && k->fired == 0);
		cr_assert_eq(WEXITSTATUS(e.status[i]), (int)(k - kids) % 251);
	}
	cr_assert_eq(reaper_watching(fx.reaper), 0);
	reaper_unlisten_orphans(fx.reaper, &e.ear);
}

Test(reaper, stop_and_free_leave_no_active_watcher)
{
	cr_assert_neq(ev_run(fx.loop, EVRUN_NOWAIT), 0, "not started");
	reaper_stop(fx.reaper);
	cr_assert_eq(ev_run(fx.loop, EVRUN_NOWAIT), 0);
	reaper_start(fx.reaper);
	reaper_free(fx.reaper); /* started: free stops it */
	fx.reaper = NULL;
	cr_assert_eq(ev_run(fx.loop, EVRUN_NOWAIT), 0, "active once freed");
	reaper_free(NULL);
}
