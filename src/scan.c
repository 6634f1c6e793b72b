/* SPDX-License-Identifier: MIT */
#include "ctxrun/scan.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/util.h"

/*
 * Requests live in two arrays: the queue being filled and the batch being
 * served. Each request knows which one holds it and at which slot, so it
 * can be dropped in O(1) from either; a served slot that is dropped (or
 * queued anew by a callback) is set to NULL and skipped.
 */

enum { REQ_IDLE, REQ_QUEUED, REQ_SERVING };

struct req_list {
	struct scan_req **reqs;
	size_t len, cap;
};

struct scan {
	struct ev_loop *loop;
	pid_t self;
	ev_timer flush;
	struct req_list queue, serving;
	struct ptree_visit *visits; /* the walk's copy of the batch */
	size_t visits_cap;
};

static void scan_flush_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* Create the scan of LOOP. */
struct scan *
scan_new(struct ev_loop *loop)
{
	struct scan *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->self = getpid();
	ev_timer_init(&s->flush, scan_flush_cb, 0., 0.);
	return s;
}

/* Queue R unless it is queued already; take it out of a batch being served. */
static void
enqueue(struct scan *s, struct scan_req *r)
{
	if (r->where == REQ_QUEUED) {
		return;
	}
	if (r->where == REQ_SERVING) {
		s->serving.reqs[r->slot] = NULL;
	}
	if (s->queue.len == s->queue.cap) {
		s->queue.cap = s->queue.cap ? s->queue.cap * 2 : 16;
		s->queue.reqs = xrealloc(s->queue.reqs,
					 s->queue.cap * sizeof(*s->queue.reqs));
	}
	r->where = REQ_QUEUED;
	r->slot = s->queue.len;
	s->queue.reqs[s->queue.len++] = r;
	if (!ev_is_active(&s->flush)) {
		ev_timer_start(s->loop, &s->flush);
	}
}

/* Append SIG to the 0-ended list SIGS unless it is there already. */
static void
sig_add(int *sigs, int sig)
{
	for (int i = 0; i < PTREE_MAX_SIGS; i++) {
		if (sigs[i] == sig) {
			return;
		}
		if (!sigs[i]) {
			sigs[i] = sig;
			return;
		}
	}
	BUG("more than %d signals queued for one job", PTREE_MAX_SIGS);
}

/* Queue SIG for R's members. */
void
scan_signal(struct scan *s, struct scan_req *r, int sig, bool outside_only)
{
	sig_add(outside_only ? r->visit.outside_sigs : r->visit.sigs, sig);
	enqueue(s, r);
}

/* Queue a count of R's members. */
void
scan_count(struct scan *s, struct scan_req *r)
{
	r->count = true;
	enqueue(s, r);
}

/* Forget R's pending work. */
static void
req_reset(struct scan_req *r)
{
	memset(r->visit.sigs, 0, sizeof(r->visit.sigs));
	memset(r->visit.outside_sigs, 0, sizeof(r->visit.outside_sigs));
	r->count = false;
	r->where = REQ_IDLE;
}

/* Drop R. */
void
scan_cancel(struct scan *s, struct scan_req *r)
{
	if (r->where == REQ_QUEUED) {
		struct scan_req *last = s->queue.reqs[--s->queue.len];

		s->queue.reqs[r->slot] = last;
		last->slot = r->slot;
	} else if (r->where == REQ_SERVING) {
		s->serving.reqs[r->slot] = NULL;
	}
	req_reset(r);
}

/* Where a request of the batch stands before the walk (r->walked). */
enum { SCAN_NO_WALK = -1, SCAN_NO_CHILDREN = -2 };

/* R's first verdict: signals to send always need the walk. */
static enum scan_verdict
first_verdict(struct scan_req *r)
{
	if (r->visit.sigs[0] || r->visit.outside_sigs[0] || !r->count ||
	    !r->precheck) {
		return SCAN_WALK;
	}
	return r->precheck(r, NULL);
}

/*
 * Settle what the prechecks can, reading our children once for all that
 * asked, and give each request left its place in the walk.
 */
static size_t
settle(struct scan *s)
{
	struct req_list *b = &s->serving;
	struct scan_children kids = { 0 };
	pid_t *pids = NULL;
	bool asked = false;
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++) {
		struct scan_req *r = b->reqs[i];
		enum scan_verdict v;

		r->visit.found = r->visit.live = r->visit.sent = 0;
		v = first_verdict(r);
		r->walked = v == SCAN_SETTLED ? SCAN_NO_WALK : SCAN_NO_CHILDREN;
		if (v == SCAN_WALK) {
			r->visit.found = 0;
			r->walked = (long)n++;
		}
		asked |= v == SCAN_CHILDREN;
	}
	if (!asked) {
		return n;
	}
	kids.n = ptree_children(s->self, &pids);
	kids.pids = pids;
	for (size_t i = 0; i < b->len; i++) {
		struct scan_req *r = b->reqs[i];

		if (r->walked != SCAN_NO_CHILDREN) {
			continue;
		}
		r->walked = SCAN_NO_WALK;
		if (r->precheck(r, &kids) != SCAN_SETTLED) {
			r->visit.found = 0;
			r->walked = (long)n++;
		}
	}
	free(pids);
	return n;
}

/* Serve the batch: one walk for all that need it, then the callbacks. */
static void
serve(struct scan *s)
{
	struct req_list *b = &s->serving;
	size_t n = settle(s);

	if (s->visits_cap < n) {
		s->visits_cap = n;
		s->visits = xrealloc(s->visits, n * sizeof(*s->visits));
	}
	for (size_t i = 0; i < b->len; i++) {
		struct scan_req *r = b->reqs[i];

		if (r->walked >= 0) {
			s->visits[r->walked] = r->visit;
		}
	}
	ptree_walk(s->visits, n);
	for (size_t i = 0; i < b->len; i++) {
		struct scan_req *r = b->reqs[i];

		if (r->walked >= 0) {
			r->visit.found = s->visits[r->walked].found;
			r->visit.sent = s->visits[r->walked].sent;
			r->visit.live = s->visits[r->walked].live;
		}
	}
}

/* The batch of the last iteration is due. */
static void
scan_flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct scan *s = container_of(w, struct scan, flush);
	struct req_list tmp = s->serving;

	(void)loop;
	(void)revents;
	s->serving = s->queue;
	s->queue = tmp;
	s->queue.len = 0;
	for (size_t i = 0; i < s->serving.len; i++) {
		s->serving.reqs[i]->where = REQ_SERVING;
	}
	serve(s);
	/* Callbacks may drop or queue any request, this one included. */
	for (size_t i = 0; i < s->serving.len; i++) {
		struct scan_req *r = s->serving.reqs[i];
		bool count;

		if (!r) {
			continue;
		}
		count = r->count;
		req_reset(r);
		if (count) {
			r->done(r);
		}
	}
	s->serving.len = 0;
}

/* Release S. */
void
scan_free(struct scan *s)
{
	if (!s) {
		return;
	}
	if (s->queue.len) {
		BUG("scan_free with %zu requests queued", s->queue.len);
	}
	ev_timer_stop(s->loop, &s->flush);
	free(s->queue.reqs);
	free(s->serving.reqs);
	free(s->visits);
	free(s);
}
