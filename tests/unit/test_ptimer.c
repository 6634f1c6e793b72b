/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <time.h>

#include <ev.h>

#include "ctxrun/ptimer.h"

static struct ev_loop *loop;

static void
setup(void)
{
	loop = ev_default_loop(0);
}

static void
teardown(void)
{
	ptimer_release();
}

TestSuite(ptimer, .init = setup, .fini = teardown, .timeout = 20);

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct fired {
	struct ptimer t;
	double at;
	int order;
	int count;
};

static int order;

static void
record_cb(struct ptimer *t)
{
	struct fired *f = (struct fired *)t;

	f->at = mono();
	f->order = ++order;
	f->count++;
}

Test(ptimer, fires_once_never_before_its_due_and_in_order)
{
	struct fired a = { 0 }, b = { 0 }, c = { 0 };
	double start = mono();

	ptimer_init(&a.t, loop, record_cb);
	ptimer_init(&b.t, loop, record_cb);
	ptimer_init(&c.t, loop, record_cb);
	ptimer_start(&b.t, 0.030);
	ptimer_start(&a.t, 0.0101);
	ptimer_start(&c.t, 0.0102);
	cr_assert(ptimer_active(&a.t));
	/* The loop ends when no ptimer is pending: the timerfd holds no ref. */
	ev_run(loop, 0);
	cr_assert_eq(a.count, 1);
	cr_assert_eq(b.count, 1);
	cr_assert_eq(c.count, 1);
	cr_assert_geq(a.at - start, 0.0101);
	cr_assert_geq(c.at - start, 0.0102);
	cr_assert_geq(b.at - start, 0.030);
	cr_assert_eq(a.order, 1);
	cr_assert_eq(c.order, 2);
	cr_assert_eq(b.order, 3);
	cr_assert(!ptimer_active(&b.t));
}

Test(ptimer, a_stopped_timer_never_fires_even_in_its_last_stretch)
{
	struct fired a = { 0 }, b = { 0 };
	int tries = 0;

	ptimer_init(&a.t, loop, record_cb);
	ptimer_init(&b.t, loop, record_cb);
	/*
	 * Stop b in its last stretch and a before it: a loaded machine may
	 * wake the loop after b's due, and then it starts again.
	 */
	do {
		a.count = b.count = 0;
		ptimer_start(&a.t, 0.050);
		ptimer_start(&b.t, 0.005);
		while (!b.t.armed && !a.count && !b.count) {
			ev_run(loop, EVRUN_ONCE);
		}
		ptimer_stop(&a.t);
		ptimer_stop(&b.t);
	} while ((a.count || b.count) && ++tries < 100);
	cr_assert_eq(a.count + b.count, 0, "never caught in the last stretch");
	ev_run(loop, 0);
	cr_assert_eq(a.count, 0);
	cr_assert_eq(b.count, 0);
	cr_assert(!ptimer_active(&a.t));
	cr_assert(!ptimer_active(&b.t));
}

static void
restart_cb(struct ptimer *t)
{
	struct fired *f = (struct fired *)t;

	if (++f->count < 3) {
		ptimer_start(t, 0.002);
	}
}

Test(ptimer, a_callback_may_restart_its_timer)
{
	struct fired a = { 0 };
	double start = mono();

	ptimer_init(&a.t, loop, restart_cb);
	ptimer_start(&a.t, 0.002);
	ev_run(loop, 0);
	cr_assert_eq(a.count, 3);
	cr_assert_geq(mono() - start, 0.006);
}

Test(ptimer, a_due_already_past_fires_on_the_next_turn)
{
	struct fired a = { 0 };

	ptimer_init(&a.t, loop, record_cb);
	ptimer_start(&a.t, -1.);
	ev_run(loop, 0);
	cr_assert_eq(a.count, 1);
}
