/* SPDX-License-Identifier: MIT */
#include "ctxrun/reaper.h"

#include <sys/wait.h>
#include <stdbool.h>
#include <stdlib.h>

#include "ctxrun/scan.h"
#include "ctxrun/util.h"

/*
 * libev's own ev_child watchers hash by pid into 16 chains; with thousands of
 * jobs that is a linear search per exit. One catch-all watcher and our own
 * growing table keep the cost per exit flat.
 *
 * Orphan ears are fired in rounds: each round has a number, an ear fires at
 * most once per round, and after each callback the scan starts again from
 * the head. A callback may therefore add or remove any ear without
 * invalidating the walk; the handful of ears (jobs waiting for leftovers)
 * makes the rescans cheap.
 */

struct reaper {
	struct ev_loop *loop;
	ev_child child; /* pid 0: every child */
	struct reaper_watch **buckets;
	size_t nbuckets, count;
	struct reaper_ear *ears;
	uint64_t round;
	struct scan *scan;
};

static void reaper_child_cb(struct ev_loop *loop, ev_child *w, int revents);

/* Create a reaper on LOOP. */
struct reaper *
reaper_new(struct ev_loop *loop)
{
	struct reaper *r = xcalloc(1, sizeof(*r));

	r->loop = loop;
	r->nbuckets = 64;
	r->buckets = xcalloc(r->nbuckets, sizeof(*r->buckets));
	r->scan = scan_new(loop);
	/* trace = 1: stops and continues are reported too. */
	ev_child_init(&r->child, reaper_child_cb, 0, 1);
	return r;
}

/* Start the catch-all child watcher. */
void
reaper_start(struct reaper *r)
{
	ev_child_start(r->loop, &r->child);
}

/* Stop the catch-all child watcher. */
void
reaper_stop(struct reaper *r)
{
	ev_child_stop(r->loop, &r->child);
}

/* Bucket of PID in a table of NBUCKETS (a power of two). */
static size_t
bucket_of(pid_t pid, size_t nbuckets)
{
	return ((uint32_t)pid * 2654435761u) & (nbuckets - 1);
}

/* Double the table when it gets crowded. */
static void
reaper_grow(struct reaper *r)
{
	size_t n = r->nbuckets * 2;
	struct reaper_watch **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < r->nbuckets; i++) {
		struct reaper_watch *w = r->buckets[i], *next;

		for (; w; w = next) {
			size_t j = bucket_of(w->pid, n);

			next = w->next;
			w->next = b[j];
			b[j] = w;
		}
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
}

/* Call FN once when PID exits. */
void
reaper_watch(struct reaper *r, struct reaper_watch *w, pid_t pid,
	     reaper_exit_fn *fn)
{
	size_t i;

	if (w->active) {
		BUG("reaper_watch on a busy watch (pid %d)", (int)pid);
	}
	if (r->count >= r->nbuckets) {
		reaper_grow(r);
	}
	i = bucket_of(pid, r->nbuckets);
	w->pid = pid;
	w->fn = fn;
	w->next = r->buckets[i];
	w->active = 1;
	r->buckets[i] = w;
	r->count++;
}

/* Stop watching. */
void
reaper_unwatch(struct reaper *r, struct reaper_watch *w)
{
	struct reaper_watch **pp;

	if (!w->active) {
		return;
	}
	for (pp = &r->buckets[bucket_of(w->pid, r->nbuckets)]; *pp;
	     pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			w->next = NULL;
			w->active = 0;
			r->count--;
			return;
		}
	}
	BUG("watch for pid %d not in its bucket", (int)w->pid);
}

/* Hear exits of pids nobody watches. */
void
reaper_listen_orphans(struct reaper *r, struct reaper_ear *ear,
		      reaper_orphan_fn *fn)
{
	if (ear->active) {
		BUG("reaper_listen_orphans on a busy ear");
	}
	ear->fn = fn;
	ear->seen = r->round;
	ear->active = 1;
	ear->prev = NULL;
	ear->next = r->ears;
	if (r->ears) {
		r->ears->prev = ear;
	}
	r->ears = ear;
}

/* Stop hearing orphan exits. */
void
reaper_unlisten_orphans(struct reaper *r, struct reaper_ear *ear)
{
	if (!ear->active) {
		return;
	}
	if (ear->prev) {
		ear->prev->next = ear->next;
	} else {
		r->ears = ear->next;
	}
	if (ear->next) {
		ear->next->prev = ear->prev;
	}
	ear->prev = ear->next = NULL;
	ear->active = 0;
}

/* Number of pids being watched. */
size_t
reaper_watching(const struct reaper *r)
{
	return r->count;
}

/* Is PID watched? */
bool
reaper_watches(const struct reaper *r, pid_t pid)
{
	for (struct reaper_watch *w = r->buckets[bucket_of(pid, r->nbuckets)]; w;
	     w = w->next) {
		if (w->pid == pid) {
			return true;
		}
	}
	return false;
}

/* The loop's scan. */
struct scan *
reaper_scan(struct reaper *r)
{
	return r->scan;
}

/* Release R. */
void
reaper_free(struct reaper *r)
{
	if (!r) {
		return;
	}
	if (r->count) {
		BUG("reaper_free with %zu pids watched", r->count);
	}
	ev_child_stop(r->loop, &r->child);
	scan_free(r->scan);
	free(r->buckets);
	free(r);
}

/* Tell every orphan ear, once each, that PID was reaped. */
static void
fire_orphan_ears(struct reaper *r, pid_t pid, int status)
{
	uint64_t round = ++r->round;
	struct reaper_ear *ear;

	for (;;) {
		for (ear = r->ears; ear && ear->seen == round; ear = ear->next) {
		}
		if (!ear) {
			return;
		}
		ear->seen = round;
		ear->fn(ear, pid, status);
	}
}

/* A child was reaped: dispatch by pid. */
static void
reaper_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct reaper *r = container_of(w, struct reaper, child);
	struct reaper_watch *watch;
	pid_t pid = w->rpid;
	int status = w->rstatus;
	bool ended = !WIFSTOPPED(status) && !WIFCONTINUED(status);

	(void)loop;
	(void)revents;
	for (watch = r->buckets[bucket_of(pid, r->nbuckets)]; watch;
	     watch = watch->next) {
		if (watch->pid == pid) {
			if (ended) {
				reaper_unwatch(r, watch);
			}
			watch->fn(watch, status);
			return;
		}
	}
	if (ended) {
		fire_orphan_ears(r, pid, status);
	}
}
