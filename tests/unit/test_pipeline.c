/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <ev.h>

#include "ctxrun/group.h"
#include "ctxrun/pipeline.h"
#include "ctxrun/spec.h"

/*
 * The scheduler on real (tiny) shell jobs: start order, ties, skips, the
 * jobs limit, retries, and the errgroup's first error.
 */

static struct ev_loop *loop;
static struct reaper *reaper;
static struct ctx *root;

/* What the pipeline reported, in order. */
struct trace {
	char log[4096]; /* "start:a skip:b done" ... */
	int running, max_running;
	int done;
};

/* Each test: a subreaper, a loop, a reaper and a root context. */
static void
setup(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	loop = ev_default_loop(0);
	reaper = reaper_new(loop);
	reaper_start(reaper);
	root = ctx_new_root(loop);
}

/* Each test ends with nothing watched and no child left. */
static void
teardown(void)
{
	int status;

	ctx_free(root);
	cr_assert_eq(reaper_watching(reaper), 0);
	reaper_free(reaper);
	cr_assert_eq(waitpid(-1, &status, WNOHANG), -1, "a child survived");
}

TestSuite(pipeline, .init = setup, .fini = teardown, .timeout = 30);

/* Append "WHAT:NAME " to the trace. */
static void
note(struct trace *t, const char *what, const char *name)
{
	size_t len = strlen(t->log);

	snprintf(t->log + len, sizeof(t->log) - len, "%s:%s ", what, name);
}

/* Record the events that tell the schedule. */
static void
trace_cb(struct pipeline *p, const struct pipeline_event *ev, void *data)
{
	struct trace *t = data;

	(void)p;
	switch (ev->kind) {
	case PL_EV_JOB:
		if (ev->job_ev->kind == JOB_EV_START) {
			note(t, "start", ev->name);
			if (++t->running > t->max_running) {
				t->max_running = t->running;
			}
		} else if (ev->job_ev->kind == JOB_EV_DONE) {
			t->running--;
		}
		break;
	case PL_EV_SKIP:
		note(t, "skip", ev->name);
		break;
	case PL_EV_RETRY:
		note(t, "retry", ev->name);
		break;
	case PL_EV_ERROR:
		note(t, "error", ev->name);
		break;
	case PL_EV_READY:
		note(t, "ready", ev->name);
		break;
	case PL_EV_STOPPED:
		note(t, "stopped", ev->name);
		break;
	case PL_EV_PROBE:
	case PL_EV_STATUS:
		break;
	case PL_EV_DONE:
		t->done++;
		reaper_stop(reaper);
		break;
	}
}

/* Add a job NAME running COMMAND that needs the jobs named in NEEDS. */
static struct spec_job *
add(struct spec *s, const char *name, const char *command, const char *needs)
{
	struct spec_job *j = spec_add_job(s, name);
	char buf[256], *save = NULL;

	j->command = strdup(command);
	snprintf(buf, sizeof(buf), "%s", needs ? needs : "");
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		j = &s->jobs[s->n_jobs - 1];
		j->needs = realloc(j->needs, (j->n_needs + 1) * sizeof(size_t));
		cr_assert_geq(spec_find(s, w), 0, "need %s not defined yet", w);
		j->needs[j->n_needs++] = (size_t)spec_find(s, w);
	}
	return &s->jobs[s->n_jobs - 1];
}

/* Run S to the end and return the pipeline (the caller frees it). */
static struct pipeline *
run(struct spec *s, int limit, struct trace *t)
{
	struct pipeline *p = pipeline_new(&(struct pipeline_opts){
		.spec = s,
		.root = root,
		.reaper = reaper,
		.stdin_fd = -1,
		.fail_fast = s->fail_fast,
		.jobs_limit = limit,
		.on_event = trace_cb,
		.data = t,
	});

	pipeline_start(p);
	cr_assert_eq(t->done, 0, "finished before the loop ran");
	ev_run(loop, 0);
	cr_assert_eq(t->done, 1);
	return p;
}

/* Result of the job named NAME. */
static const struct pipeline_result *
result(struct pipeline *p, const char *name)
{
	size_t n;
	const struct pipeline_result *r = pipeline_results(p, &n);

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(r[i].name, name)) {
			return &r[i];
		}
	}
	cr_assert_fail("no job %s", name);
	return NULL;
}

Test(pipeline, needs_order_and_file_order_ties_under_a_limit_of_one)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add(s, "c", "true", NULL);
	add(s, "a", "true", NULL);
	add(s, "b", "true", "a c");
	add(s, "d", "true", NULL);
	p = run(s, 1, &t);
	/*
	 * c, a, d are ready at once and go in file order; once a is done, b
	 * (needing a and c) is ready too and, being earlier in the file, goes
	 * before d.
	 */
	cr_assert_str_eq(t.log, "start:c start:a start:b start:d ");
	cr_assert_eq(t.max_running, 1);
	cr_assert_eq(result(p, "b")->outcome, JOB_SUCCEEDED);
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, independent_jobs_run_together_without_a_limit)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add(s, "a", "sleep 0.2", NULL);
	add(s, "b", "sleep 0.2", NULL);
	add(s, "c", "sleep 0.2", NULL);
	p = run(s, 0, &t);
	cr_assert_eq(t.max_running, 3);
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, limit_caps_concurrency)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	for (int i = 0; i < 6; i++) {
		char name[8];

		snprintf(name, sizeof(name), "j%d", i);
		add(s, name, "sleep 0.05", NULL);
	}
	p = run(s, 2, &t);
	cr_assert_eq(t.max_running, 2);
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, failure_skips_dependents_transitively_and_wins)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	s->fail_fast = false;
	add(s, "build", "exit 2", NULL);
	add(s, "unit", "true", "build");
	add(s, "e2e", "true", "unit");
	add(s, "lint", "exit 3", NULL);
	p = run(s, 1, &t);
	cr_assert_eq(result(p, "unit")->outcome, JOB_SKIPPED);
	cr_assert_str_eq(result(p, "unit")->cause, "need \"build\" failed");
	cr_assert_eq(result(p, "e2e")->outcome, JOB_SKIPPED);
	cr_assert_str_eq(result(p, "e2e")->cause, "need \"unit\" was skipped");
	cr_assert_eq(result(p, "lint")->outcome, JOB_FAILED);
	/* Keep going ran lint, but the first error is still build's. */
	cr_assert(group_failed(pipeline_group(p)));
	cr_assert_eq(group_error_code(pipeline_group(p)), 2);
	cr_assert_str_eq(group_error_text(pipeline_group(p)),
			 "job \"build\" failed: exit status 2");
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, fail_fast_cancels_running_and_skips_waiting)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add(s, "bad", "exit 5", NULL);
	add(s, "slow", "sleep 30", NULL);
	add(s, "after", "true", "slow");
	p = run(s, 0, &t);
	cr_assert_eq(result(p, "slow")->outcome, JOB_CANCELLED);
	cr_assert_str_eq(result(p, "slow")->cause, "job \"bad\" failed: exit status 5");
	cr_assert_eq(result(p, "after")->outcome, JOB_SKIPPED);
	cr_assert_eq(group_error_code(pipeline_group(p)), 5);
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, allowed_failure_cancels_nothing_and_dependents_run)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add(s, "lint", "exit 1", NULL)->allow_failure = true;
	add(s, "pkg", "true", "lint");
	p = run(s, 0, &t);
	cr_assert(result(p, "lint")->allowed);
	cr_assert_eq(result(p, "pkg")->outcome, JOB_SUCCEEDED);
	cr_assert_not(group_failed(pipeline_group(p)));
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, retries_run_a_failed_job_again)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;
	char dir[] = "/tmp/ctxrun-retry-XXXXXX", cmd[256];

	cr_assert_not_null(mkdtemp(dir));
	/* Fails on the first two attempts, succeeds on the third. */
	snprintf(cmd, sizeof(cmd),
		 "echo x >> %s/n; [ $(wc -l < %s/n) -ge 3 ]", dir, dir);
	add(s, "flaky", cmd, NULL)->retries = 2;
	p = run(s, 0, &t);
	cr_assert_str_eq(t.log, "start:flaky retry:flaky start:flaky retry:flaky start:flaky ");
	cr_assert_eq(result(p, "flaky")->outcome, JOB_SUCCEEDED);
	cr_assert_eq(result(p, "flaky")->attempts, 3);
	pipeline_free(p);
	spec_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(pipeline, own_timeout_is_retried_but_cancellation_is_not)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;
	struct spec_job *j;

	s->fail_fast = false;
	j = add(s, "slow", "sleep 30", NULL);
	j->timeout_ms = 100;
	j->retries = 1;
	ctx_set_deadline(root, ev_now(loop) + 0.6, "deadline exceeded (test)");
	add(s, "victim", "sleep 30", NULL)->retries = 3;
	p = run(s, 0, &t);
	cr_assert_eq(result(p, "slow")->outcome, JOB_TIMED_OUT);
	cr_assert_eq(result(p, "slow")->attempts, 2);
	cr_assert_eq(result(p, "victim")->outcome, JOB_CANCELLED);
	cr_assert_eq(result(p, "victim")->attempts, 1, "a cancelled job was retried");
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, a_job_that_cannot_start_fails_with_127)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	free(s->shell);
	s->shell = strdup("/nonexistent/shell");
	add(s, "a", "true", NULL);
	add(s, "b", "true", "a");
	p = run(s, 0, &t);
	cr_assert_str_eq(t.log, "error:a skip:b ");
	cr_assert_eq(result(p, "a")->exit_code, 127);
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, cancelled_before_start_skips_everything)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add(s, "a", "true", NULL);
	add(s, "b", "true", "a");
	ctx_cancel(root, CTX_CAUSE_SIGNAL, SIGINT, "interrupted by SIGINT");
	p = run(s, 0, &t);
	cr_assert_str_eq(t.log, "skip:a skip:b ");
	cr_assert_str_eq(result(p, "b")->cause, "interrupted by SIGINT");
	pipeline_free(p);
	spec_free(s);
}

/*
 * Services and teardown jobs (ctxrun.ini(5), SERVICES AND TEARDOWN JOBS).
 */

/* Add a service NAME running COMMAND, ready once started. */
static void
add_service(struct spec *s, const char *name, const char *command,
	    const char *needs)
{
	add(s, name, command, needs)->role = SPEC_SERVICE;
}

/* Add a teardown job NAME running COMMAND. */
static void
add_teardown(struct spec *s, const char *name, const char *command,
	     const char *needs)
{
	struct spec_job *j = add(s, name, command, needs);

	j->role = SPEC_TEARDOWN;
	j->timeout_ms = SPEC_DEFAULT_TEARDOWN_TIMEOUT_MS;
}

Test(pipeline, service_stopped_after_its_last_dependent_in_reverse_order)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add_service(s, "db", "exec sleep 60", NULL);
	add_service(s, "api", "exec sleep 60", "db");
	add(s, "test", "true", "api");
	add(s, "lint", "true", "db");
	p = run(s, 0, &t);
	/*
	 * test is before lint in the file; api goes before db: db is needed
	 * by api until api is gone.
	 */
	cr_assert_str_eq(t.log, "start:db ready:db start:api ready:api "
				"start:test start:lint stopped:api "
				"stopped:db ");
	cr_assert_eq(result(p, "db")->outcome, JOB_STOPPED);
	cr_assert_eq(result(p, "api")->outcome, JOB_STOPPED);
	cr_assert(result(p, "db")->ready_after > 0);
	cr_assert_eq(result(p, "test")->outcome, JOB_SUCCEEDED);
	cr_assert_not(group_failed(pipeline_group(p)));
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, service_that_exits_while_needed_fails_the_run)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add_service(s, "db", "exit 0", NULL);
	add(s, "test", "exec sleep 60", "db");
	p = run(s, 0, &t);
	cr_assert_eq(result(p, "db")->outcome, JOB_FAILED);
	cr_assert_str_eq(result(p, "db")->cause,
			 "service \"db\" exited: exit status 0");
	cr_assert_eq(result(p, "test")->outcome, JOB_CANCELLED);
	/* An exit status of 0 must not make the run succeed. */
	cr_assert_eq(group_error_code(pipeline_group(p)), 1);
	cr_assert_str_eq(group_error_text(pipeline_group(p)),
			 "service \"db\" exited: exit status 0");
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, service_whose_dependent_fails_is_stopped_not_blamed)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add_service(s, "db", "exec sleep 60", NULL);
	add(s, "test", "exit 3", "db");
	add(s, "later", "true", "test");
	p = run(s, 0, &t);
	cr_assert_eq(result(p, "db")->outcome, JOB_STOPPED);
	cr_assert_eq(result(p, "later")->outcome, JOB_SKIPPED);
	cr_assert_eq(group_error_code(pipeline_group(p)), 3);
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, service_no_job_names_lives_as_long_as_the_tasks)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add_service(s, "db", "exec sleep 60", NULL);
	add(s, "a", "sleep 0.1", NULL);
	p = run(s, 0, &t);
	cr_assert_str_eq(t.log, "start:db ready:db start:a stopped:db ");
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, teardown_runs_after_a_failure_and_after_cancellation)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add(s, "fail", "exit 2", NULL);
	add(s, "slow", "exec sleep 60", NULL);
	add(s, "after", "true", "slow");
	add_teardown(s, "drop", "true", "slow after");
	add_teardown(s, "upload", "true", NULL);
	p = run(s, 0, &t);
	cr_assert_eq(result(p, "slow")->outcome, JOB_CANCELLED);
	cr_assert_eq(result(p, "after")->outcome, JOB_SKIPPED);
	cr_assert_eq(result(p, "drop")->outcome, JOB_SUCCEEDED);
	cr_assert_eq(result(p, "upload")->outcome, JOB_SUCCEEDED);
	cr_assert_eq(group_error_code(pipeline_group(p)), 2);
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, teardown_keeps_the_service_it_needs)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add_service(s, "db", "exec sleep 60", NULL);
	add(s, "test", "exit 1", "db");
	add_teardown(s, "drop", "true", "db test");
	p = run(s, 0, &t);
	cr_assert_str_eq(t.log, "start:db ready:db start:test start:drop "
				"stopped:db ");
	cr_assert_eq(result(p, "drop")->outcome, JOB_SUCCEEDED);
	pipeline_free(p);
	spec_free(s);
}

Test(pipeline, services_go_first_and_take_no_slot)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	add(s, "lint", "true", NULL);
	add_service(s, "db", "exec sleep 60", NULL);
	add(s, "test", "true", "db");
	/* With one slot, a service holding it would starve "test". */
	p = run(s, 1, &t);
	cr_assert_str_eq(t.log, "start:db ready:db start:lint start:test "
				"stopped:db ");
	cr_assert_eq(result(p, "test")->outcome, JOB_SUCCEEDED);
	pipeline_free(p);
	spec_free(s);
}

/*
 * Keep going: a service that dies after it was up takes with it the
 * dependents still waiting for another need, not the teardown job.
 */
Test(pipeline, service_dying_skips_dependents_still_waiting)
{
	struct spec *s = spec_new("t");
	struct trace t = { 0 };
	struct pipeline *p;

	s->fail_fast = false;
	/* Seconds apart: db is surely gone before slow is. */
	add_service(s, "db", "exit 5", NULL);
	add(s, "slow", "sleep 2", NULL);
	add(s, "test", "true", "db slow");
	add_teardown(s, "drop", "true", "db slow");
	p = run(s, 0, &t);
	cr_assert_eq(result(p, "db")->outcome, JOB_FAILED);
	cr_assert_eq(result(p, "test")->outcome, JOB_SKIPPED);
	cr_assert_str_eq(result(p, "test")->cause, "need \"db\" failed");
	cr_assert_eq(result(p, "drop")->outcome, JOB_SUCCEEDED);
	pipeline_free(p);
	spec_free(s);
}
