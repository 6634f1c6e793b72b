/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <signal.h>
#include <string.h>

#include <ev.h>

#include "ctxrun/ctx.h"
#include "ctxrun/util.h"

TestSuite(ctx, .timeout = 10);

/* A listener that counts how often it fired and keeps the last cause. */
struct counter {
	struct ctx_ear ear;
	int fired;
	struct ctx_cause cause;
	struct ctx *free_me; /* freed from the callback when set */
	struct ctx *cancel_me;
};

/* Record one firing. */
static void
count_cb(struct ctx_ear *ear, const struct ctx_cause *cause)
{
	struct counter *c = container_of(ear, struct counter, ear);

	c->fired++;
	c->cause = *cause;
	if (c->cancel_me) {
		ctx_cancel(c->cancel_me, CTX_CAUSE_CANCELLED, 0, "from a callback");
	}
	if (c->free_me) {
		ctx_free(c->free_me);
		c->free_me = NULL;
	}
}

Test(ctx, cancel_cascades_to_every_descendant)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct ctx *root = ctx_new_root(loop);
	struct ctx *a = ctx_new(root), *b = ctx_new(a), *c = ctx_new(root);
	struct counter ca = { 0 }, cb = { 0 }, cc = { 0 };

	ctx_listen(a, &ca.ear, count_cb);
	ctx_listen(b, &cb.ear, count_cb);
	ctx_listen(c, &cc.ear, count_cb);
	cr_assert_not(ctx_done(b));
	cr_assert_null(ctx_cause(b));
	ctx_cancel(root, CTX_CAUSE_SIGNAL, SIGINT, "interrupted by %s", "SIGINT");
	cr_assert(ctx_done(root) && ctx_done(a) && ctx_done(b) && ctx_done(c));
	cr_assert_eq(ca.fired + cb.fired + cc.fired, 3);
	cr_assert_str_eq(cb.cause.text, "interrupted by SIGINT");
	cr_assert_eq(cb.cause.kind, CTX_CAUSE_SIGNAL);
	cr_assert_eq(cb.cause.value, SIGINT);
	cr_assert(cb.cause.inherited);
	cr_assert_not(ctx_cause(root)->inherited);
	ctx_free(b);
	ctx_free(a);
	ctx_free(c);
	ctx_free(root);
}

Test(ctx, cancel_does_not_go_up_or_sideways)
{
	struct ctx *root = ctx_new_root(ev_default_loop(0));
	struct ctx *a = ctx_new(root), *b = ctx_new(root);

	ctx_cancel(a, CTX_CAUSE_FAILED, 2, "job \"a\" failed");
	cr_assert(ctx_done(a));
	cr_assert_not(ctx_done(root));
	cr_assert_not(ctx_done(b));
	cr_assert_not(ctx_cause(a)->inherited);
	ctx_free(a);
	ctx_free(b);
	ctx_free(root);
}

Test(ctx, first_cause_wins_and_ears_fire_once)
{
	struct ctx *root = ctx_new_root(ev_default_loop(0));
	struct ctx *a = ctx_new(root), *b = ctx_new(a);
	struct counter cb = { 0 };

	ctx_listen(b, &cb.ear, count_cb);
	ctx_cancel(a, CTX_CAUSE_FAILED, 512, "first");
	ctx_cancel(a, CTX_CAUSE_SIGNAL, SIGTERM, "second");
	ctx_cancel(root, CTX_CAUSE_DEADLINE, 0, "third");
	cr_assert_eq(cb.fired, 1);
	cr_assert_str_eq(ctx_cause(a)->text, "first");
	cr_assert_str_eq(ctx_cause(b)->text, "first");
	cr_assert_eq(ctx_cause(b)->kind, CTX_CAUSE_FAILED);
	cr_assert_str_eq(ctx_cause(root)->text, "third");
	ctx_free(b);
	ctx_free(a);
	ctx_free(root);
}

Test(ctx, child_of_done_parent_is_born_done)
{
	struct ctx *root = ctx_new_root(ev_default_loop(0));
	struct ctx *a;

	ctx_cancel(root, CTX_CAUSE_OUTPUT, 0, "output closed");
	a = ctx_new(root);
	cr_assert(ctx_done(a));
	cr_assert_str_eq(ctx_cause(a)->text, "output closed");
	cr_assert(ctx_cause(a)->inherited);
	ctx_free(a);
	ctx_free(root);
}

Test(ctx, deadline_is_the_earlier_of_parent_and_own)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct ctx *root = ctx_new_root(loop);
	struct ctx *late, *early, *none;
	ev_tstamp now = ev_now(loop);

	ctx_set_deadline(root, now + 10, "root deadline");
	late = ctx_new(root);
	early = ctx_new(root);
	none = ctx_new(root);
	ctx_set_deadline(late, now + 20, "late");
	ctx_set_deadline(early, now + 1, "early");
	cr_assert_float_eq(ctx_deadline(root), now + 10, 1e-9);
	cr_assert_float_eq(ctx_deadline(late), now + 10, 1e-9);
	cr_assert_float_eq(ctx_deadline(early), now + 1, 1e-9);
	cr_assert_float_eq(ctx_deadline(none), now + 10, 1e-9);
	ctx_free(late);
	ctx_free(early);
	ctx_free(none);
	ctx_free(root);
	/* Every timer is stopped: the loop has nothing left to wait for. */
	cr_assert_eq(ev_run(loop, 0), 0);
}

Test(ctx, wall_deadline_is_kept_exactly_and_inherited)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct ctx *root = ctx_new_root(loop), *child, *early;
	ev_tstamp wall = ev_time() + 100.123;

	ctx_set_deadline_wall(root, wall, "inherited");
	child = ctx_new(root);
	early = ctx_new(root);
	ctx_set_deadline(early, ev_now(loop) + 1, "early");
	cr_assert_eq(ctx_deadline_wall(root), wall, "a wall deadline drifted");
	cr_assert_eq(ctx_deadline_wall(child), wall);
	cr_assert_float_eq(ctx_deadline(root) - ev_now(loop), 100.123, 0.05);
	cr_assert_float_eq(ctx_deadline_wall(early) - ev_time(), 1.0, 0.05);
	ctx_free(child);
	ctx_free(early);
	ctx_free(root);
}

Test(ctx, deadline_expiry_cancels_from_the_loop)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct ctx *root = ctx_new_root(loop);
	struct ctx *parent = ctx_new(root), *child = ctx_new(parent);
	struct counter cp = { 0 }, cc = { 0 };
	ev_tstamp start = ev_time();

	ctx_set_deadline(parent, ev_now(loop) + 0.05, "job \"p\" timed out after 50ms");
	ctx_listen(parent, &cp.ear, count_cb);
	ctx_listen(child, &cc.ear, count_cb);
	cr_assert_eq(cp.fired, 0, "fired before the loop ran");
	ev_run(loop, 0);
	cr_assert_geq(ev_time() - start, 0.045);
	cr_assert_eq(cp.fired, 1);
	cr_assert_eq(cc.fired, 1);
	cr_assert_eq(cp.cause.kind, CTX_CAUSE_DEADLINE);
	cr_assert_not(cp.cause.inherited);
	cr_assert(cc.cause.inherited);
	cr_assert_str_eq(cc.cause.text, "job \"p\" timed out after 50ms");
	cr_assert_not(ctx_done(root));
	ctx_free(child);
	ctx_free(parent);
	ctx_free(root);
}

Test(ctx, past_deadline_fires_from_the_loop_not_the_call)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct ctx *root = ctx_new_root(loop);
	struct counter c = { 0 };

	ctx_listen(root, &c.ear, count_cb);
	ctx_set_deadline(root, ev_now(loop) - 5, "already past");
	cr_assert_not(ctx_done(root));
	ev_run(loop, 0);
	cr_assert_eq(c.fired, 1);
	ctx_free(root);
}

Test(ctx, cancel_stops_descendant_timers)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct ctx *root = ctx_new_root(loop), *a = ctx_new(root);
	ev_tstamp start = ev_time();

	ctx_set_deadline(a, ev_now(loop) + 30, "far away");
	ctx_cancel(root, CTX_CAUSE_CANCELLED, 0, "done");
	ev_run(loop, 0);
	cr_assert_lt(ev_time() - start, 5.0, "a cancelled context kept its timer");
	ctx_free(a);
	ctx_free(root);
}

Test(ctx, ears_may_free_and_cancel_during_the_cascade)
{
	struct ctx *root = ctx_new_root(ev_default_loop(0));
	struct ctx *a = ctx_new(root), *b = ctx_new(root), *other = ctx_new_root(ev_default_loop(0));
	struct counter ca = { 0 }, cb = { 0 };

	/* a's listener frees b before b's listener had its turn, and cancels another tree. */
	ctx_listen(a, &ca.ear, count_cb);
	ctx_listen(b, &cb.ear, count_cb);
	ca.cancel_me = other;
	ctx_unlisten(&cb.ear);
	ca.free_me = b;
	ctx_cancel(root, CTX_CAUSE_CANCELLED, 0, "stop");
	cr_assert_eq(ca.fired, 1);
	cr_assert_eq(cb.fired, 0, "an unlistened ear fired");
	cr_assert(ctx_done(other));
	ctx_unlisten(&cb.ear); /* no-op after the fact */
	ctx_free(a);
	ctx_free(root);
	ctx_free(other);
	ctx_free(NULL);
}

Test(ctx, free_with_children_is_a_bug, .signal = SIGABRT, .init = cr_redirect_stderr)
{
	struct ctx *root = ctx_new_root(ev_default_loop(0));

	(void)ctx_new(root);
	ctx_free(root);
}
