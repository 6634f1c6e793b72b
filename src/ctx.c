/* SPDX-License-Identifier: MIT */
#include "ctxrun/ctx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/ptimer.h"
#include "ctxrun/util.h"

/*
 * Cancellation is two-phase, as libuv reaps children: first the whole
 * subtree is marked done and its timers stopped, then the ears fire. An ear
 * may cancel other contexts or free contexts of the subtree; each context of
 * the walk is pinned while the walk holds it, so a free from an ear only
 * unlinks it and the memory goes when the walk lets go (redis deletes time
 * events the same way while it dispatches them).
 */

/*
 * A deadline of a context's own, kept apart: most contexts only inherit
 * their parent's and need no timer.
 */
struct ctx_timer {
	struct ptimer timer;
	struct ctx *ctx;
	char text[]; /* the cause when it expires */
};

struct ctx {
	struct ev_loop *loop;
	struct ctx *parent;
	struct ctx *children, *prev_sibling, *next_sibling;
	struct ctx_ear *ears;
	struct ctx_timer *own; /* NULL unless its deadline beat the parent's */
	ev_tstamp deadline_at;
	ev_tstamp deadline_wall; /* the same instant as Unix time */
	struct ctx_cause cause;
	int pins;
	bool freed;
};

static void ctx_timer_cb(struct ptimer *t);
static void timer_release(struct ctx *c);
static void cancel_tree(struct ctx *c, const struct ctx_cause *cause);

/* Allocate a context on LOOP, unlinked and active. */
static struct ctx *
ctx_alloc(struct ev_loop *loop)
{
	struct ctx *c = xcalloc(1, sizeof(*c));

	c->loop = loop;
	return c;
}

/* Create a root context on LOOP. */
struct ctx *
ctx_new_root(struct ev_loop *loop)
{
	return ctx_alloc(loop);
}

/* Create a child of PARENT. */
struct ctx *
ctx_new(struct ctx *parent)
{
	struct ctx *c = ctx_alloc(parent->loop);

	c->parent = parent;
	c->next_sibling = parent->children;
	if (parent->children) {
		parent->children->prev_sibling = c;
	}
	parent->children = c;
	c->deadline_at = parent->deadline_at;
	c->deadline_wall = parent->deadline_wall;
	if (parent->cause.kind != CTX_CAUSE_NONE) {
		c->cause = parent->cause;
		c->cause.inherited = true;
	}
	return c;
}

/* Give C the deadline AT (loop time) = WALL (Unix time), keeping the earlier. */
static void
set_deadline(struct ctx *c, ev_tstamp at, ev_tstamp wall, const char *cause)
{
	if (ctx_done(c) || (c->deadline_at && at >= c->deadline_at)) {
		return;
	}
	c->deadline_at = at;
	c->deadline_wall = wall;
	timer_release(c);
	c->own = xmalloc(sizeof(*c->own) + strlen(cause) + 1);
	c->own->ctx = c;
	strcpy(c->own->text, cause);
	ptimer_init(&c->own->timer, c->loop, ctx_timer_cb);
	/* at is loop time, which may be behind: count from the clock. */
	ptimer_start(&c->own->timer, at - ev_time());
}

/* Give C a deadline in loop time. */
void
ctx_set_deadline(struct ctx *c, ev_tstamp deadline_at, const char *cause)
{
	set_deadline(c, deadline_at,
		     ev_time() + (deadline_at - ev_now(c->loop)), cause);
}

/* Give C a deadline in Unix time. */
void
ctx_set_deadline_wall(struct ctx *c, ev_tstamp wall, const char *cause)
{
	/* Sample both clocks together so the conversion is as exact as it gets. */
	ev_now_update(c->loop);
	set_deadline(c, ev_now(c->loop) + (wall - ev_time()), wall, cause);
}

/* Effective deadline of C as Unix time. */
ev_tstamp
ctx_deadline_wall(const struct ctx *c)
{
	return c->deadline_wall;
}

/* The loop C's timers run on. */
struct ev_loop *
ctx_loop(const struct ctx *c)
{
	return c->loop;
}

/* Effective deadline of C. */
ev_tstamp
ctx_deadline(const struct ctx *c)
{
	return c->deadline_at;
}

/* Is C done? */
bool
ctx_done(const struct ctx *c)
{
	return c->cause.kind != CTX_CAUSE_NONE;
}

/* C's cause, or NULL while active. */
const struct ctx_cause *
ctx_cause(const struct ctx *c)
{
	return ctx_done(c) ? &c->cause : NULL;
}

/* Cancel C and its descendants. */
void
ctx_cancel(struct ctx *c, enum ctx_cause_kind kind, int value,
	   const char *fmt, ...)
{
	struct ctx_cause cause = { .kind = kind, .value = value };
	char text[CTX_CAUSE_MAX];
	va_list ap;

	if (kind == CTX_CAUSE_NONE) {
		BUG("ctx_cancel without a cause");
	}
	if (ctx_done(c)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* C owns it (see ctx_destroy()); the subtree borrows it. */
	cause.text = xstrdup(text);
	cancel_tree(c, &cause);
}

/* Start listening on C with EAR. */
void
ctx_listen(struct ctx *c, struct ctx_ear *ear, ctx_done_fn *fn)
{
	if (ctx_done(c) || ear->ctx) {
		BUG("ctx_listen on a done context or a busy ear");
	}
	ear->fn = fn;
	ear->ctx = c;
	ear->prev = NULL;
	ear->next = c->ears;
	if (c->ears) {
		c->ears->prev = ear;
	}
	c->ears = ear;
}

/* Stop listening. */
void
ctx_unlisten(struct ctx_ear *ear)
{
	struct ctx *c = ear->ctx;

	if (!c) {
		return;
	}
	if (ear->prev) {
		ear->prev->next = ear->next;
	} else {
		c->ears = ear->next;
	}
	if (ear->next) {
		ear->next->prev = ear->prev;
	}
	ear->ctx = NULL;
	ear->prev = ear->next = NULL;
}

/* Free the memory of C, unlinked and unpinned. */
static void
ctx_destroy(struct ctx *c)
{
	/* Only the context a cancellation started from owns its text. */
	if (ctx_done(c) && !c->cause.inherited) {
		free((char *)c->cause.text);
	}
	free(c);
}

/* Release C. */
void
ctx_free(struct ctx *c)
{
	if (!c) {
		return;
	}
	if (c->children || c->ears) {
		BUG("ctx_free with %s still attached",
		    c->children ? "children" : "listeners");
	}
	timer_release(c);
	if (c->parent) {
		if (c->prev_sibling) {
			c->prev_sibling->next_sibling = c->next_sibling;
		} else {
			c->parent->children = c->next_sibling;
		}
		if (c->next_sibling) {
			c->next_sibling->prev_sibling = c->prev_sibling;
		}
		c->parent = NULL;
	}
	if (c->pins) {
		c->freed = true;
		return;
	}
	ctx_destroy(c);
}

struct ctx_list {
	struct ctx **items;
	size_t len, cap;
};

/* Append the active contexts of C's subtree to L, parents first. */
static void
collect_active(struct ctx *c, struct ctx_list *l)
{
	if (ctx_done(c)) {
		return;
	}
	if (l->len == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	l->items[l->len++] = c;
	for (struct ctx *child = c->children; child; child = child->next_sibling) {
		collect_active(child, l);
	}
}

/* Fire C's ears one at a time; each is unlinked before it fires. */
static void
fire_ears(struct ctx *c)
{
	struct ctx_ear *ear;

	while ((ear = c->ears)) {
		ctx_unlisten(ear);
		ear->fn(ear, &c->cause);
	}
}

/* Mark C's subtree done with CAUSE, then fire every ear in it. */
static void
cancel_tree(struct ctx *c, const struct ctx_cause *cause)
{
	struct ctx_list l = { 0 };

	collect_active(c, &l);
	for (size_t i = 0; i < l.len; i++) {
		struct ctx *d = l.items[i];

		d->cause = *cause;
		d->cause.inherited = d != c;
		timer_release(d);
		d->pins++;
	}
	for (size_t i = 0; i < l.len; i++) {
		fire_ears(l.items[i]);
	}
	for (size_t i = 0; i < l.len; i++) {
		struct ctx *d = l.items[i];

		if (--d->pins == 0 && d->freed) {
			ctx_destroy(d);
		}
	}
	free(l.items);
}

/* Stop C's own timer, if it has one, and free it. */
static void
timer_release(struct ctx *c)
{
	if (c->own) {
		ptimer_stop(&c->own->timer);
		free(c->own);
		c->own = NULL;
	}
}

/* The context's own deadline expired. */
static void
ctx_timer_cb(struct ptimer *t)
{
	struct ctx_timer *own = container_of(t, struct ctx_timer, timer);

	/* The text is formatted before the cancellation frees the timer. */
	ctx_cancel(own->ctx, CTX_CAUSE_DEADLINE, 0, "%s", own->text);
}
