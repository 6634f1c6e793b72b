/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_CTX_H
#define CTXRUN_CTX_H

/*
 * Contexts: Go's context package for one libev loop.
 *
 * A context is "active" until it is cancelled; then it is "done" for good
 * and carries the cause of its cancellation. Contexts form a tree: the root
 * is the whole run, each job's context is a child of it. Cancelling a
 * context cancels all of its descendants with the same cause (marked
 * inherited), and the first cause wins: cancelling a done context does
 * nothing.
 *
 * Lifecycle:
 *
 *   1. ctx_new_root() or ctx_new(parent). The creator owns the context.
 *   2. Optionally ctx_set_deadline(): the context cancels itself with
 *      CTX_CAUSE_DEADLINE when the time comes. The effective deadline is the
 *      earlier of its own and its parent's; only a deadline earlier than the
 *      parent's arms a timer of its own.
 *   3. Listeners embed a struct ctx_ear and ctx_listen() on it. When the
 *      context becomes done each ear fires exactly once, from the loop or
 *      from inside ctx_cancel(); never from ctx_listen().
 *   4. ctx_cancel() with a cause, any number of times.
 *   5. ctx_free(): stops the timer and unlinks from the parent. Children must
 *      have been freed first and every ear removed (BUG otherwise). Freeing
 *      from an ear callback is allowed; the memory is released once the
 *      cancellation that is firing has finished with it.
 */

#include <stdbool.h>

#include <ev.h>

struct ctx;

enum ctx_cause_kind {
	CTX_CAUSE_NONE = 0,  /* still active */
	CTX_CAUSE_CANCELLED, /* cancelled by its owner, no finer reason */
	CTX_CAUSE_DEADLINE,  /* a deadline expired */
	CTX_CAUSE_SIGNAL,    /* ctxrun got a signal; value = signal number */
	CTX_CAUSE_FAILED,    /* a job failed; value = its wait status */
	CTX_CAUSE_OUTPUT,    /* ctxrun's own stdout or stderr closed */
	CTX_CAUSE_STOPPED,   /* its owner no longer needs it (a service) */
};

/* Longest cause text kept, with its NUL; longer ones are cut. */
#define CTX_CAUSE_MAX 256

/*
 * Why a context is done. Owned by the context. The text is stored once, by
 * the context the cancellation started from, and shared by the descendants
 * that inherit it; a descendant never outlives it, so the text of any
 * context's cause is valid until that context is freed. Keep a copy of
 * the text, not of the pointer, to use it after that.
 */
struct ctx_cause {
	enum ctx_cause_kind kind;
	int value;
	bool inherited;   /* came from an ancestor's cancellation */
	const char *text; /* "deadline exceeded (--timeout 30s)" */
};

struct ctx_ear;
typedef void ctx_done_fn(struct ctx_ear *ear, const struct ctx_cause *cause);

/* Embedded in the listener's struct; recover the owner with container_of. */
struct ctx_ear {
	ctx_done_fn *fn;
	struct ctx *ctx; /* NULL when not listening */
	struct ctx_ear *prev, *next;
};

/* Create a root context on LOOP: active, no deadline, no parent. */
struct ctx *ctx_new_root(struct ev_loop *loop);

/*
 * Create an active child of PARENT, inheriting its deadline. A child of a
 * done parent is born done with the parent's cause (ears added later do not
 * fire; check ctx_done()).
 */
struct ctx *ctx_new(struct ctx *parent);

/*
 * Give C the deadline DEADLINE_AT (an ev_now() time); when it expires, C is
 * cancelled with CTX_CAUSE_DEADLINE and CAUSE as text. Keeps the earlier of
 * the new and the current effective deadline. A deadline already past fires
 * from the loop, not from here.
 */
void ctx_set_deadline(struct ctx *c, ev_tstamp deadline_at, const char *cause);

/* The loop C's timers run on. */
struct ev_loop *ctx_loop(const struct ctx *c);

/*
 * Like ctx_set_deadline() with the deadline given as Unix time, e.g. one
 * inherited from a parent process. ctx_deadline_wall() then returns WALL
 * exactly, so a deadline passed down through processes never drifts later.
 */
void ctx_set_deadline_wall(struct ctx *c, ev_tstamp wall, const char *cause);

/* Effective deadline of C as an ev_now() time, or 0 when it has none. */
ev_tstamp ctx_deadline(const struct ctx *c);

/* Effective deadline of C as Unix time, or 0 when it has none. */
ev_tstamp ctx_deadline_wall(const struct ctx *c);

/* Is C done (cancelled or past its deadline)? */
bool ctx_done(const struct ctx *c);

/* C's cause: NULL while C is active; borrowed, valid until ctx_free(). */
const struct ctx_cause *ctx_cause(const struct ctx *c);

/*
 * Cancel C and its descendants with the given cause; the first cause wins.
 * Every ear of every context that becomes done fires before this returns.
 * VALUE is kind-specific (see enum ctx_cause_kind).
 */
void ctx_cancel(struct ctx *c, enum ctx_cause_kind kind, int value,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Start listening: FN fires once, when C becomes done. C must be active and
 * EAR not already listening.
 */
void ctx_listen(struct ctx *c, struct ctx_ear *ear, ctx_done_fn *fn);

/* Stop listening; a no-op when EAR is not listening (or already fired). */
void ctx_unlisten(struct ctx_ear *ear);

/* Release C (see step 5); ctx_free(NULL) is a no-op. */
void ctx_free(struct ctx *c);

#endif
