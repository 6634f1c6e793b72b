/* SPDX-License-Identifier: MIT */
#include "ctxrun/ptimer.h"

#include <sys/timerfd.h>
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "ctxrun/util.h"

/* How early the ev_timer fires: libev's rounding is below a millisecond. */
#define EARLY 0.0015

/* The last stretch: one timerfd for the process, armed for the first due. */
static struct {
	struct ev_loop *loop;
	int fd;
	ev_io io;
	struct ptimer *armed; /* sorted by due */
} last = { .fd = -1 };

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Arm the timerfd for the first timer in its last stretch, if any. */
static void
rearm(void)
{
	struct itimerspec its = { 0 };

	if (last.armed) {
		double due = last.armed->due;

		its.it_value.tv_sec = (time_t)due;
		its.it_value.tv_nsec = (long)((due - (double)(time_t)due) * 1e9);
		/* Zero would disarm: a due at the epoch of the clock is past. */
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec) {
			its.it_value.tv_nsec = 1;
		}
	}
	timerfd_settime(last.fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Take T off the last-stretch list. */
static void
unlink_armed(struct ptimer *t)
{
	struct ptimer **pp = &last.armed;

	while (*pp && *pp != t) {
		pp = &(*pp)->next;
	}
	if (*pp) {
		*pp = t->next;
	}
	t->next = NULL;
	t->armed = false;
	/* Only armed timers keep the loop alive. */
	if (!last.armed) {
		ev_unref(last.loop);
	}
}

/* The timerfd expired: fire every timer that is due. */
static void
last_stretch_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	uint64_t expirations;
	double now = mono_now();

	(void)loop;
	(void)w;
	(void)revents;
	while (read(last.fd, &expirations, sizeof(expirations)) < 0 &&
	       errno == EINTR) {
	}
	while (last.armed && last.armed->due <= now) {
		struct ptimer *t = last.armed;

		unlink_armed(t);
		t->cb(t);
	}
	rearm();
}

/* T's early timer fired: start its last stretch. */
static void
early_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ptimer *t = container_of(w, struct ptimer, early);
	struct ptimer **pp = &last.armed;

	(void)loop;
	(void)revents;
	if (t->due <= mono_now() || last.fd < 0) {
		t->cb(t);
		return;
	}
	while (*pp && (*pp)->due <= t->due) {
		pp = &(*pp)->next;
	}
	if (!last.armed) {
		ev_ref(last.loop);
	}
	t->next = *pp;
	*pp = t;
	t->armed = true;
	rearm();
}

/* Open the timerfd once, for LOOP. Without one, ptimers are ev_timers. */
static void
last_init(struct ev_loop *loop)
{
	if (last.loop == loop) {
		return;
	}
	if (last.loop) {
		BUG("ptimers on two loops");
	}
	last.loop = loop;
	last.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (last.fd < 0) {
		return;
	}
	ev_io_init(&last.io, last_stretch_cb, last.fd, EV_READ);
	ev_io_start(loop, &last.io);
	/* An idle timerfd must not keep the loop running. */
	ev_unref(loop);
}

void
ptimer_init(struct ptimer *t, struct ev_loop *loop, ptimer_cb *cb)
{
	ev_init(&t->early, early_cb);
	t->loop = loop;
	t->cb = cb;
	t->next = NULL;
	t->armed = false;
}

void
ptimer_start(struct ptimer *t, double after)
{
	ptimer_stop(t);
	last_init(t->loop);
	t->due = mono_now() + after;
	ev_timer_set(&t->early, after > EARLY ? after - EARLY : 0., 0.);
	ev_timer_start(t->loop, &t->early);
}

void
ptimer_stop(struct ptimer *t)
{
	ev_timer_stop(t->loop, &t->early);
	if (t->armed) {
		unlink_armed(t);
	}
}

bool
ptimer_active(const struct ptimer *t)
{
	return ev_is_active(&t->early) || t->armed;
}

void
ptimer_release(void)
{
	struct ptimer *t;

	while ((t = last.armed)) {
		unlink_armed(t);
	}
	if (last.fd >= 0) {
		ev_ref(last.loop);
		ev_io_stop(last.loop, &last.io);
		close(last.fd);
	}
	last.fd = -1;
	last.loop = NULL;
}
