/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/cgroup.h"
#include "ctxrun/util.h"

TestSuite(cgroup, .timeout = 20);

/*
 * A "ctxrun.PID" left by a killed run whose PID came round again (or a
 * run of the same PID in another PID namespace) does not stop the run:
 * it gets a name of its own, and the other directory is left alone.
 */
Test(cgroup, a_stale_run_cgroup_of_our_pid_is_stepped_over)
{
	struct cgroup_run *r;
	struct err e;
	char *stale;

	r = cgroup_run_new(&e);
	if (!r) {
		cr_skip_test("no writable cgroup v2 here: %s", e.msg);
	}
	stale = xstrdup(cgroup_run_path(r));
	cgroup_run_free(r);
	cr_assert_eq(access(stale, F_OK), -1, "%s was not removed", stale);
	cr_assert_eq(mkdir(stale, 0755), 0, "mkdir %s: %s", stale,
		     strerror(errno));
	r = cgroup_run_new(&e);
	cr_assert_not_null(r, "with %s there: %s", stale, e.msg);
	cr_assert_str_neq(cgroup_run_path(r), stale);
	cgroup_run_free(r);
	cr_assert_eq(access(stale, F_OK), 0, "the other run's cgroup is gone");
	cr_assert_eq(rmdir(stale), 0);
	free(stale);
}
