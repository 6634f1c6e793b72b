/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_PTIMER_H
#define CTXRUN_PTIMER_H

/*
 * One-shot timers that fire on time, for deadlines and grace periods.
 *
 * libev waits in whole milliseconds, rounded up (epoll_wait takes
 * milliseconds), so an ev_timer fires up to a millisecond late, half a
 * millisecond on average: a `-t 200ms` would overshoot by that much before
 * ctxrun even signals. A ptimer is an ev_timer set to fire a millisecond
 * early; from there, one timerfd per process, armed at the exact instant
 * (CLOCK_MONOTONIC, nanoseconds), wakes the loop for the last stretch. So
 * a wait costs no more wake-ups than before, and no fd per timer.
 *
 * All ptimers of a process run on one loop. The callback may start or
 * stop any ptimer, its own included.
 */

#include <stdbool.h>

#include <ev.h>

struct ptimer;
typedef void ptimer_cb(struct ptimer *t);

struct ptimer {
	ev_timer early;      /* fires ~1 ms before `due` */
	struct ev_loop *loop;
	double due;          /* CLOCK_MONOTONIC seconds */
	ptimer_cb *cb;
	struct ptimer *next; /* in the list of timers in their last stretch */
	bool armed;          /* on that list */
};

/* Prepare T (inactive) to call CB on LOOP. */
void ptimer_init(struct ptimer *t, struct ev_loop *loop, ptimer_cb *cb);

/* (Re)start T to fire AFTER seconds from now (<= 0: on the next turn). */
void ptimer_start(struct ptimer *t, double after);

/* Stop T if it is pending. */
void ptimer_stop(struct ptimer *t);

/* Is T pending? */
bool ptimer_active(const struct ptimer *t);

/* Close the timerfd (when the loop is done): pending ptimers are dropped. */
void ptimer_release(void);

#endif
