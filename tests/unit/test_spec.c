/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctxrun/spec.h"

TestSuite(spec, .timeout = 10);

/* Make job I of S need job NEED. */
static void
need(struct spec *s, size_t i, size_t need)
{
	struct spec_job *j = &s->jobs[i];

	j->needs = realloc(j->needs, (j->n_needs + 1) * sizeof(*j->needs));
	cr_assert_not_null(j->needs);
	j->needs[j->n_needs++] = need;
}

/* A spec of N jobs named "j0", "j1"... without needs. */
static struct spec *
jobs(size_t n)
{
	struct spec *s = spec_new("test");
	char name[16];

	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "j%zu", i);
		spec_add_job(s, name);
	}
	return s;
}

Test(spec, dependents_are_the_needs_reversed_in_file_order)
{
	struct spec *s = jobs(5);
	struct spec_dependents d;

	/* j1 and j3 and j4 need j0; j4 needs j3 too; j2 needs nothing. */
	need(s, 4, 3);
	need(s, 4, 0);
	need(s, 1, 0);
	need(s, 3, 0);
	spec_dependents_init(&d, s);
	cr_assert_eq(d.start[0], 0);
	cr_assert_eq(d.start[1] - d.start[0], 3);
	cr_assert_eq(d.job[0], 1);
	cr_assert_eq(d.job[1], 3);
	cr_assert_eq(d.job[2], 4);
	cr_assert_eq(d.start[2], d.start[1], "j1 has no dependents");
	cr_assert_eq(d.start[3], d.start[2], "j2 has no dependents");
	cr_assert_eq(d.start[4] - d.start[3], 1);
	cr_assert_eq(d.job[d.start[3]], 4);
	cr_assert_eq(d.start[5], 4, "one entry per need");
	spec_dependents_release(&d);
	cr_assert_null(d.start);
	spec_free(s);
}

Test(spec, dependents_of_no_jobs)
{
	struct spec *s = jobs(0);
	struct spec_dependents d;

	spec_dependents_init(&d, s);
	cr_assert_eq(d.start[0], 0);
	spec_dependents_release(&d);
	spec_free(s);
}

Test(spec, levels_are_one_above_the_deepest_need)
{
	struct spec *s = jobs(4);
	size_t max, *level;

	/* j0 <- j1 <- j3, and j0 <- j3: j3 is at level 3, not 2. */
	need(s, 1, 0);
	need(s, 3, 0);
	need(s, 3, 1);
	level = spec_levels(s, &max);
	cr_assert_eq(level[0], 1);
	cr_assert_eq(level[1], 2);
	cr_assert_eq(level[2], 1);
	cr_assert_eq(level[3], 3);
	cr_assert_eq(max, 3);
	free(level);
	spec_free(s);
}

Test(spec, jobs_in_or_behind_a_cycle_have_no_level)
{
	struct spec *s = jobs(5);
	size_t max, *level;

	/* j1 <-> j2 a cycle; j3 needs j2; j4 needs j0 only. */
	need(s, 1, 2);
	need(s, 2, 1);
	need(s, 3, 2);
	need(s, 4, 0);
	level = spec_levels(s, &max);
	cr_assert_eq(level[0], 1);
	cr_assert_eq(level[1], 0);
	cr_assert_eq(level[2], 0);
	cr_assert_eq(level[3], 0);
	cr_assert_eq(level[4], 2);
	cr_assert_eq(max, 2);
	free(level);
	spec_free(s);
}

Test(spec, levels_of_a_long_chain_without_recursion)
{
	size_t n = 100000, max, *level;
	struct spec *s = jobs(n);

	for (size_t i = 1; i < n; i++) {
		need(s, i, i - 1);
	}
	level = spec_levels(s, &max);
	cr_assert_eq(max, n);
	cr_assert_eq(level[n - 1], n);
	free(level);
	spec_free(s);
}
