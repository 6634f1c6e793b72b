/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of the pipeline modes: ad-hoc groups (-c) and pipeline
 * files (-f), run on the built ctxrun. They check prefixed output, errgroup
 * semantics (first failure wins, cancellation, allow_failure, skipping),
 * scheduling (needs, -j, concurrency, JOB selection), timeouts and retries,
 * escalation, leftovers, the jobs' environment, signals sent to ctxrun,
 * config errors, --check, names, verbosity and a closed stdout. A second
 * suite runs the example pipelines of examples/ as a user would.
 *
 * Commands reach the helpers through the environment ctxrun passes on: TH
 * is the th binary and D the test's temporary directory, which holds
 * "waitfor", a script that waits (bounded) until files exist. Jobs prove
 * what happened, and in which order, with files; the tests never sleep to
 * synchronise, and a job sleeps only to stand for work, so that a broken
 * ctxrun would be caught in the act. Timing bounds hold on a loaded 2-core
 * machine: upper bounds are far below the sleeps and graces a broken
 * program would wait for.
 */
#include "expect.h"
#include "fixture.h"
#include "harness.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void pl_setup(void);

TestSuite(pipeline, .init = pl_setup, .fini = fx_fini, .timeout = 30);
TestSuite(examples, .init = pl_setup, .fini = fx_fini, .timeout = 30);

/* Waits until each argument exists, 20 s at most (then exits 98). */
#define WAITFOR_SCRIPT                                                       \
	"#!/bin/sh\n"                                                        \
	"i=0\n"                                                              \
	"for f in \"$@\"; do\n"                                              \
	"\twhile [ ! -e \"$f\" ]; do\n"                                      \
	"\t\ti=$((i + 1))\n"                                                 \
	"\t\t[ \"$i\" -le 2000 ] || exit 98\n"                               \
	"\t\tsleep 0.01\n"                                                   \
	"\tdone\n"                                                           \
	"done\n"

/* A 60-byte tail that makes the lines of the tearing test long. */
#define LINE_TAIL "-0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLM"

/* One row of the summary table, split into its cells. */
struct row {
	char cell[5][512]; /* JOB OUTCOME STATUS TIME CAUSE */
	int n;
};

/* The common fixture (fixture.h), with the waitfor script in D. */
static void
pl_setup(void)
{
	fx_init();
	h_write_file(fx_path("waitfor"), WAITFOR_SCRIPT,
		     strlen(WAITFOR_SCRIPT), 0755);
}

/* Assert NAME in the temporary directory holds exactly WANT. */
static void
expect_file(const char *name, const char *want)
{
	char buf[4096];

	fx_read(name, buf, sizeof(buf));
	cr_assert_str_eq(buf, want, "file %s holds <%s>, want <%s>", name,
			 buf, want);
}

/* Split the summary line S (LEN bytes, after "ctxrun: ") into R's cells. */
static void
row_split(const char *s, size_t len, struct row *r)
{
	size_t i = 0, k = 0;

	memset(r, 0, sizeof(*r));
	while (len > 0 && s[len - 1] == ' ') {
		len--;
	}
	r->n = 1;
	while (i < len && r->n <= 5) {
		/* Cells are separated by two blanks or more. */
		if (s[i] == ' ' && i + 1 < len && s[i + 1] == ' ') {
			while (i < len && s[i] == ' ') {
				i++;
			}
			if (r->n == 5) {
				break;
			}
			r->n++;
			k = 0;
			continue;
		}
		if (k + 1 < sizeof(r->cell[0])) {
			r->cell[r->n - 1][k++] = s[i];
		}
		i++;
	}
}

/* Find the summary row of job NAME in P's stderr into R; false if none. */
static bool
row_find(const struct h_proc *p, const char *name, struct row *r)
{
	const char *s = strstr(p->err.data, "ctxrun: JOB  "), *eol;
	size_t len;

	if (s == NULL) {
		return false;
	}
	s = strchr(s, '\n');
	while (s != NULL && *++s != '\0') {
		eol = strchr(s, '\n');
		len = eol != NULL ? (size_t)(eol - s) : strlen(s);
		if (len > 8 && strncmp(s, "ctxrun: ", 8) == 0) {
			row_split(s + 8, len - 8, r);
			if (strcmp(r->cell[0], name) == 0) {
				return true;
			}
		}
		s = eol;
	}
	return false;
}

/*
 * Assert the summary row of job NAME has OUTCOME, STATUS and CAUSE (each
 * NULL: not checked; CAUSE "": no cause).
 */
static void
expect_row(const struct h_proc *p, const char *name, const char *outcome,
	   const char *status, const char *cause)
{
	struct row r;

	cr_assert(row_find(p, name, &r), "no summary row for %s in <%s>",
		  name, p->err.data);
	if (outcome != NULL) {
		cr_assert_str_eq(r.cell[1], outcome,
				 "%s: outcome <%s>, want <%s>; stderr <%s>",
				 name, r.cell[1], outcome, p->err.data);
	}
	if (status != NULL) {
		cr_assert_str_eq(r.cell[2], status,
				 "%s: status <%s>, want <%s>; stderr <%s>",
				 name, r.cell[2], status, p->err.data);
	}
	if (cause != NULL) {
		cr_assert_str_eq(r.cell[4], cause,
				 "%s: cause <%s>, want <%s>; stderr <%s>",
				 name, r.cell[4], cause, p->err.data);
	}
}

/* Assert every line of S starts with PREFIX. */
static void
expect_all_lines_start(const char *s, const char *prefix)
{
	const char *line = s;

	while (*line != '\0') {
		cr_assert(strncmp(line, prefix, strlen(prefix)) == 0,
			  "line without <%s> in <%s>", prefix, s);
		line = strchr(line, '\n');
		if (line == NULL) {
			break;
		}
		line++;
	}
}

/* Parse the value after "NAME | " on P's stdout as a deadline in seconds. */
static double
deadline_of(const struct h_proc *p, const char *prefix)
{
	const char *s = strstr(p->out.data, prefix), *dot;
	char *end;
	double v;

	cr_assert_not_null(s, "no <%s> in stdout <%s>", prefix, p->out.data);
	s += strlen(prefix);
	v = strtod(s, &end);
	dot = strchr(s, '.');
	cr_assert(end != s && *end == '\n' && dot != NULL && dot < end &&
			  end - dot == 4,
		  "CTXRUN_DEADLINE <%.*s> is not seconds with 3 decimals",
		  (int)strcspn(s, "\n"), s);
	return v;
}

/* ---- prefixed output ---- */

/* Lines become "NAME | line", padded, stdout and stderr kept apart. */
Test(pipeline, prefixed_output_padded_and_separated)
{
	struct h_proc p;

	h_run(&p, NULL, "-n", "a,long", "-c", "echo hi",
	      "-c", "echo x; echo err >&2");
	expect_exit(&p, 0);
	expect_out_has(&p, "a    | hi\n");
	expect_out_has(&p, "long | x\n");
	cr_assert_eq(h_lines(p.out.data), 2, "stdout <%s>", p.out.data);
	expect_out_lacks(&p, "err");
	expect_err_has(&p, "long | err\n");
	expect_err_lacks(&p, "| hi");
	expect_err_lacks(&p, "| x\n");
	expect_err_lacks(&p, "started");
	h_done(&p);
}

/* A last line without newline is delivered whole, and nothing joins it. */
Test(pipeline, last_line_without_newline)
{
	struct h_proc p;

	h_run(&p, NULL, "-j", "1", "-n", "part,next",
	      "-c", "printf partial; printf oops >&2",
	      "-c", "echo next; echo more >&2");
	expect_exit(&p, 0);
	expect_out(&p, "part | partial\nnext | next\n");
	expect_err_has(&p, "part | oops\nnext | more\n");
	h_done(&p);
}

/* A 200 KB line comes out as prefixed 64 KiB pieces. */
Test(pipeline, long_line_split_in_64k_pieces)
{
	static const size_t sizes[] = { 65536, 65536, 65536, 3392 };
	const char *s = NULL, *eol;
	struct h_proc p;
	size_t i, len;

	h_run(&p, NULL, "-n", "big",
	      "-c", "head -c 200000 /dev/zero | tr '\\0' x; echo; echo end");
	expect_exit(&p, 0);
	cr_assert_eq(p.out.len, 200000 + 5 * strlen("big | ") + 5 + 3,
		     "stdout has %zu bytes", p.out.len);
	s = p.out.data;
	for (i = 0; i < 4; i++) {
		cr_assert(strncmp(s, "big | ", 6) == 0,
			  "piece %zu lacks the prefix", i);
		s += 6;
		eol = strchr(s, '\n');
		cr_assert_not_null(eol);
		len = (size_t)(eol - s);
		cr_assert_eq(len, sizes[i], "piece %zu has %zu bytes", i, len);
		cr_assert_eq(strspn(s, "x"), len, "piece %zu is not all x", i);
		s = eol + 1;
	}
	cr_assert_str_eq(s, "big | end\n");
	h_done(&p);
}

/* Two jobs printing 20,000 lines each at once: no line torn or lost. */
Test(pipeline, no_torn_lines_under_concurrent_floods)
{
	const char *s, *eol;
	struct h_proc p;
	long next[2] = { 1, 1 }, v;
	char *end;
	int j;

	h_run(&p, NULL, "-n", "a,b",
	      "-c", "seq -f '%.0f" LINE_TAIL "' 20000",
	      "-c", "seq -f '%.0f" LINE_TAIL "' 20000");
	expect_exit(&p, 0);
	for (s = p.out.data; *s != '\0'; s = eol + 1) {
		eol = strchr(s, '\n');
		cr_assert_not_null(eol, "last line unterminated: <%s>", s);
		cr_assert(strncmp(s, "a | ", 4) == 0 ||
				  strncmp(s, "b | ", 4) == 0,
			  "bad line <%.*s>", (int)(eol - s), s);
		j = s[0] - 'a';
		v = strtol(s + 4, &end, 10);
		cr_assert(v == next[j] &&
				  strncmp(end, LINE_TAIL, strlen(LINE_TAIL)) ==
					  0 &&
				  end + strlen(LINE_TAIL) == eol,
			  "torn or out-of-order line <%.*s> (want %c %ld)",
			  (int)(eol - s), s, 'a' + j, next[j]);
		next[j]++;
	}
	cr_assert_eq(next[0], 20001, "a printed %ld lines", next[0] - 1);
	cr_assert_eq(next[1], 20001, "b printed %ld lines", next[1] - 1);
	h_done(&p);
}

/* ---- errgroup ---- */

/* The first failure cancels the others and its status is the run's. */
Test(pipeline, first_failure_wins_and_cancels)
{
	struct h_proc p;

	h_run(&p, NULL, "-c", "exit 3", "-c", "sleep 30");
	expect_exit(&p, 3);
	expect_secs(p.elapsed, 0.0, 8.0);
	expect_err_has(&p, "ctxrun: exit: exited with status 3\n");
	expect_err_has(&p, "ctxrun: sleep: SIGTERM (cancelled: job \"exit\" "
			   "failed: exit status 3)\n");
	expect_row(&p, "exit", "failed", "exit 3", "");
	expect_row(&p, "sleep", "cancelled", "SIGTERM",
		   "job \"exit\" failed: exit status 3");
	expect_out(&p, "");
	h_done(&p);
}

/* -k lets the others finish and still exits with the first failure. */
Test(pipeline, keep_going_first_failure_status)
{
	struct h_proc p;

	h_run(&p, NULL, "-k", "-n", "first,second,ok",
	      "-c", "touch \"$D/first\"; exit 4",
	      "-c", "\"$D/waitfor\" \"$D/first\"; sleep 0.3; exit 5",
	      "-c", "\"$D/waitfor\" \"$D/first\"; sleep 0.3; "
		    "touch \"$D/ok\"");
	expect_exit(&p, 4);
	cr_assert(fx_exists("ok"), "-k: the last job did not finish");
	expect_err_lacks(&p, "cancelled");
	expect_row(&p, "first", "failed", "exit 4", "");
	expect_row(&p, "second", "failed", "exit 5", "");
	expect_row(&p, "ok", "succeeded", "exit 0", "");
	h_done(&p);
}

/* fail_fast = false in the file works like -k. */
Test(pipeline, fail_fast_false_in_file)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[pipeline]\n"
		   "fail_fast = false\n"
		   "[job:bad]\n"
		   "command = touch \"$D/bad\"; exit 6\n"
		   "[job:ok]\n"
		   "command = \"$D/waitfor\" \"$D/bad\"; sleep 0.3\n"
		   "  touch \"$D/ok\"\n");
	expect_exit(&p, 6);
	cr_assert(fx_exists("ok"));
	expect_row(&p, "ok", "succeeded", "exit 0", "");
	h_done(&p);
}

/* A failing allow_failure job cancels nothing and the run gives 0. */
Test(pipeline, allow_failure_cancels_nothing)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:lint]\n"
		   "command = touch \"$D/lint\"; exit 2\n"
		   "allow_failure = true\n"
		   "[job:slowlint]\n"
		   "command = sleep 30\n"
		   "timeout = 300ms\n"
		   "allow_failure = yes\n"
		   "[job:unit]\n"
		   "command = \"$D/waitfor\" \"$D/lint\"; sleep 0.3\n"
		   "  touch \"$D/unit\"\n");
	expect_exit(&p, 0);
	cr_assert(fx_exists("unit"), "unit was stopped");
	expect_err_lacks(&p, "cancelled");
	expect_row(&p, "lint", "failed (allowed)", "exit 2", NULL);
	expect_row(&p, "slowlint", "timed out (allowed)", "SIGTERM", NULL);
	expect_row(&p, "unit", "succeeded", "exit 0", "");
	h_done(&p);
}

/* Jobs of a pipeline file: a fails, b needs a, c needs b. */
#define FAILING_CHAIN                                                        \
	"[job:a]\n"                                                          \
	"command = exit 2\n"                                                 \
	"[job:b]\n"                                                          \
	"needs = a\n"                                                        \
	"command = touch \"$D/b\"\n"                                         \
	"[job:c]\n"                                                          \
	"needs = b\n"                                                        \
	"command = touch \"$D/c\"\n"

/* Dependents of a failed job are skipped, transitively; nothing runs. */
Test(pipeline, dependents_of_failure_skipped_transitively)
{
	struct h_proc p;
	const char *const opts[] = { "-k", NULL };

	fx_run_ini(&p, opts,
		   FAILING_CHAIN
		   "[job:other]\n"
		   "command = touch \"$D/other\"\n");
	expect_exit(&p, 2);
	cr_assert(!fx_exists("b") && !fx_exists("c"), "a dependent ran");
	cr_assert(fx_exists("other"));
	expect_err_has(&p, "ctxrun: b: skipped (need \"a\" failed)\n");
	expect_err_has(&p, "ctxrun: c: skipped (need \"b\" was skipped)\n");
	expect_row(&p, "a", "failed", "exit 2", "");
	expect_row(&p, "b", "skipped", "-", "need \"a\" failed");
	expect_row(&p, "c", "skipped", "-", "need \"b\" was skipped");
	expect_row(&p, "other", "succeeded", "exit 0", "");
	h_done(&p);
}

/* Without -k too, the dependents of a failure never run. */
Test(pipeline, dependents_of_failure_skipped_fail_fast)
{
	struct h_proc p;

	fx_run_ini(&p, NULL, FAILING_CHAIN);
	expect_exit(&p, 2);
	cr_assert(!fx_exists("b") && !fx_exists("c"), "a dependent ran");
	expect_row(&p, "b", "skipped", "-", NULL);
	expect_row(&p, "c", "skipped", "-", NULL);
	h_done(&p);
}

/* Dependents of an allowed failure run. */
Test(pipeline, dependents_of_allowed_failure_run)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:lint]\n"
		   "command = exit 1\n"
		   "allow_failure = true\n"
		   "[job:package]\n"
		   "needs = lint\n"
		   "command = touch \"$D/package\"\n");
	expect_exit(&p, 0);
	cr_assert(fx_exists("package"), "package did not run");
	expect_row(&p, "lint", "failed (allowed)", "exit 1", NULL);
	expect_row(&p, "package", "succeeded", "exit 0", "");
	h_done(&p);
}

/* ---- scheduling ---- */

/* A job starts only after every job it needs has finished. */
Test(pipeline, needs_ordering)
{
	struct h_proc p;

	/*
	 * Each job checks that its dependents have not started when it ends,
	 * and each dependent that its needs had ended when it started.
	 */
	fx_run_ini(&p, NULL,
		   "[job:c]\n"
		   "needs = a, b\n"
		   "command = touch \"$D/c-started\"\n"
		   "  [ -e \"$D/a-done\" ] && [ -e \"$D/b-done\" ]\n"
		   "[job:a]\n"
		   "command = sleep 0.2\n"
		   "  [ ! -e \"$D/c-started\" ] && touch \"$D/a-done\"\n"
		   "[job:b]\n"
		   "needs = a\n"
		   "command = touch \"$D/b-started\"\n"
		   "  [ -e \"$D/a-done\" ] || exit 7\n"
		   "  sleep 0.2\n"
		   "  [ ! -e \"$D/c-started\" ] && touch \"$D/b-done\"\n");
	expect_exit(&p, 0);
	cr_assert(fx_exists("c-started"));
	expect_row(&p, "a", "succeeded", NULL, NULL);
	expect_row(&p, "b", "succeeded", NULL, NULL);
	expect_row(&p, "c", "succeeded", NULL, NULL);
	h_done(&p);
}

/* -j 1 runs one job at a time, in file order. */
Test(pipeline, jobs_1_runs_in_file_order)
{
	static const char *const opts[] = { "-j", "1", NULL };
	struct h_proc p;

	fx_run_ini(&p, opts,
		   "[job:zeta]\n"
		   "command = echo start-zeta >> \"$D/log\"; sleep 0.1\n"
		   "  echo end-zeta >> \"$D/log\"\n"
		   "[job:alpha]\n"
		   "command = echo start-alpha >> \"$D/log\"; sleep 0.1\n"
		   "  echo end-alpha >> \"$D/log\"\n"
		   "[job:mid]\n"
		   "command = echo start-mid >> \"$D/log\"; sleep 0.1\n"
		   "  echo end-mid >> \"$D/log\"\n");
	expect_exit(&p, 0);
	expect_file("log", "start-zeta\nend-zeta\nstart-alpha\nend-alpha\n"
			   "start-mid\nend-mid\n");
	h_done(&p);
}

/* jobs = 1 in the file limits as -j 1 does; -c jobs keep their order. */
Test(pipeline, jobs_limit_in_file_and_with_c)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[pipeline]\n"
		   "jobs = 1\n"
		   "[job:one]\n"
		   "command = echo start-one >> \"$D/log\"; sleep 0.1\n"
		   "  echo end-one >> \"$D/log\"\n"
		   "[job:two]\n"
		   "command = echo start-two >> \"$D/log\"; sleep 0.1\n"
		   "  echo end-two >> \"$D/log\"\n");
	expect_exit(&p, 0);
	expect_file("log", "start-one\nend-one\nstart-two\nend-two\n");
	h_release(&p);
	unlink(fx_path("log"));

	h_run(&p, NULL, "-j", "1",
	      "-c", "echo s1 >> \"$D/log\"; sleep 0.1; echo e1 >> \"$D/log\"",
	      "-c", "echo s2 >> \"$D/log\"; sleep 0.1; echo e2 >> \"$D/log\"",
	      "-c", "echo s3 >> \"$D/log\"; sleep 0.1; echo e3 >> \"$D/log\"");
	expect_exit(&p, 0);
	expect_file("log", "s1\ne1\ns2\ne2\ns3\ne3\n");
	h_done(&p);
}

/* Independent jobs start together: each waits for the other's marker. */
Test(pipeline, independent_jobs_run_concurrently)
{
	struct h_proc p;

	h_run(&p, NULL, "-n", "a,b",
	      "-c", "touch \"$D/a\"; \"$D/waitfor\" \"$D/b\"",
	      "-c", "touch \"$D/b\"; \"$D/waitfor\" \"$D/a\"");
	expect_exit(&p, 0);
	expect_secs(p.elapsed, 0.0, 15.0);
	h_done(&p);
	unlink(fx_path("a"));
	unlink(fx_path("b"));

	/* The same in a file, with a third job needing both. */
	fx_run_ini(&p, NULL,
		   "[job:a]\n"
		   "command = touch \"$D/a\"; \"$D/waitfor\" \"$D/b\"\n"
		   "[job:b]\n"
		   "command = touch \"$D/b\"; \"$D/waitfor\" \"$D/a\"\n"
		   "[job:c]\n"
		   "needs = a, b\n"
		   "command = touch \"$D/c\"\n");
	expect_exit(&p, 0);
	cr_assert(fx_exists("c"));
	h_done(&p);
}

/* JOB names on the command line run only those and what they need. */
Test(pipeline, job_selection_runs_transitive_needs)
{
	struct h_proc p;
	const char *f;

	f = fx_write("p.ini",
		     "[job:build]\n"
		     "command = touch \"$D/build\"\n"
		     "[job:gen]\n"
		     "command = touch \"$D/gen\"\n"
		     "[job:unit]\n"
		     "needs = build, gen\n"
		     "command = touch \"$D/unit\"\n"
		     "[job:lint]\n"
		     "needs = build\n"
		     "command = touch \"$D/lint\"\n"
		     "[job:e2e]\n"
		     "needs = unit\n"
		     "command = touch \"$D/e2e\"\n"
		     "[job:docs]\n"
		     "command = touch \"$D/docs\"\n");
	h_run(&p, NULL, "-f", f, "unit", "docs");
	expect_exit(&p, 0);
	cr_assert(fx_exists("build") && fx_exists("gen") &&
		  fx_exists("unit") && fx_exists("docs"));
	cr_assert(!fx_exists("lint") && !fx_exists("e2e"),
		  "a job not selected ran");
	h_done(&p);
}

/* An unknown JOB on the command line is a config error: 125. */
Test(pipeline, unknown_job_is_125_with_suggestion)
{
	struct h_proc p;
	const char *f;
	char want[512];

	f = fx_write("p.ini",
		     "[job:build]\n"
		     "command = touch \"$D/build\"\n");
	h_run(&p, NULL, "-f", f, "biuld");
	expect_exit(&p, 125);
	snprintf(want, sizeof(want),
		 "ctxrun: %s: unknown job \"biuld\" on the command line "
		 "(did you mean \"build\"?)\n",
		 f);
	expect_err(&p, want);
	expect_out(&p, "");
	cr_assert(!fx_exists("build"), "the pipeline ran");
	h_done(&p);
}

/* Options after JOB names are a usage error. */
Test(pipeline, options_after_job_names_is_125)
{
	struct h_proc p;
	const char *f;

	f = fx_write("p.ini",
		     "[job:build]\n"
		     "command = touch \"$D/build\"\n");
	h_run(&p, NULL, "-f", f, "build", "-q");
	expect_exit(&p, 125);
	cr_assert(!fx_exists("build"), "the pipeline ran");
	h_done(&p);
}

/* --foreground belongs to one-command mode. */
Test(pipeline, foreground_with_c_is_125)
{
	struct h_proc p;

	h_run(&p, NULL, "--foreground", "-c", "touch \"$D/ran\"");
	expect_exit(&p, 125);
	cr_assert(!fx_exists("ran"));
	h_done(&p);
}

/* ---- timeouts and retries ---- */

/* The root deadline (-t) gives 124 and names its cause. */
Test(pipeline, root_timeout_124)
{
	struct h_proc p;

	h_run(&p, NULL, "-t", "0.5", "-c", "sleep 30", "-c", "sleep 30");
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.45, 8.0);
	expect_err_has(&p, "ctxrun: sleep: SIGTERM (deadline exceeded "
			   "(--timeout 500ms))\n");
	expect_err_has(&p, "ctxrun: sleep#2: SIGTERM (deadline exceeded "
			   "(--timeout 500ms))\n");
	expect_row(&p, "sleep", NULL, "SIGTERM",
		   "deadline exceeded (--timeout 500ms)");
	expect_row(&p, "sleep#2", NULL, "SIGTERM",
		   "deadline exceeded (--timeout 500ms)");
	h_done(&p);
}

/* The file's timeout is the root deadline; -t on the command line wins. */
Test(pipeline, file_timeout_and_command_line_override)
{
	struct h_proc p;
	const char *f;
	char want[512];

	f = fx_run_ini(&p, NULL,
		       "[pipeline]\n"
		       "timeout = 300ms\n"
		       "[job:slow]\n"
		       "command = sleep 1; touch \"$D/slow\"\n");
	expect_exit(&p, 124);
	snprintf(want, sizeof(want),
		 "ctxrun: slow: SIGTERM (deadline exceeded (timeout in %s "
		 "300ms))\n",
		 f);
	expect_err_has(&p, want);
	cr_assert(!fx_exists("slow"));
	h_done(&p);

	h_run(&p, NULL, "-t", "30", "-f", f);
	expect_exit(&p, 0);
	cr_assert(fx_exists("slow"), "-t 30 did not win over the file");
	h_done(&p);
}

/* A job's own timeout that fails the run gives 124, outcome timed out. */
Test(pipeline, job_timeout_124)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:slow]\n"
		   "command = sleep 30\n"
		   "timeout = 300ms\n"
		   "[job:other]\n"
		   "command = sleep 30\n");
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.25, 8.0);
	expect_err_has(&p, "ctxrun: slow: SIGTERM (job \"slow\" timed out "
			   "after 300ms)\n");
	expect_row(&p, "slow", "timed out", "SIGTERM",
		   "job \"slow\" timed out after 300ms");
	expect_row(&p, "other", "cancelled", "SIGTERM",
		   "job \"slow\" timed out after 300ms");
	h_done(&p);
}

/* --preserve-status gives the job's own status instead of 124. */
Test(pipeline, preserve_status_on_timeouts)
{
	static const char *const opts[] = { "--preserve-status", NULL };
	struct h_proc p;

	fx_run_ini(&p, opts,
		   "[job:slow]\n"
		   "command = exec sleep 30\n"
		   "timeout = 300ms\n");
	expect_exit(&p, 128 + SIGTERM);
	h_done(&p);

	h_run(&p, NULL, "--preserve-status", "-t", "0.3", "-c",
	      "exec sleep 30");
	expect_exit(&p, 128 + SIGTERM);
	h_done(&p);
}

/* A job failing twice then succeeding, with retries = 2, succeeds. */
Test(pipeline, retries_until_success)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:flaky]\n"
		   "retries = 2\n"
		   "retry_delay = 100ms\n"
		   "command = n=$(cat \"$D/n\" 2>/dev/null || echo 0)\n"
		   "  n=$((n + 1)); echo $n > \"$D/n\"\n"
		   "  echo \"attempt $n\"\n"
		   "  [ \"$n\" -ge 3 ]\n");
	expect_exit(&p, 0);
	expect_file("n", "3\n");
	expect_out(&p, "flaky | attempt 1\nflaky | attempt 2\n"
		       "flaky | attempt 3\n");
	expect_err_has(&p, "ctxrun: flaky: attempt 1 failed, retrying in "
			   "100ms\n");
	expect_err_has(&p, "ctxrun: flaky: attempt 2 failed, retrying in "
			   "100ms\n");
	expect_err_lacks(&p, "attempt 3 failed");
	expect_row(&p, "flaky", "succeeded", "exit 0", "");
	h_done(&p);
}

/* When the retries run out, the last failure is the run's. */
Test(pipeline, retries_exhausted)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:broken]\n"
		   "retries = 1\n"
		   "command = echo x >> \"$D/attempts\"; exit 5\n");
	expect_exit(&p, 5);
	expect_file("attempts", "x\nx\n");
	expect_err_has(&p, "ctxrun: broken: attempt 1 failed, retrying in ");
	expect_err_lacks(&p, "attempt 2 failed");
	expect_row(&p, "broken", "failed", "exit 5", NULL);
	h_done(&p);
}

/* A job whose own timeout expired is retried; its timeout is per attempt. */
Test(pipeline, timed_out_job_is_retried)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:slow]\n"
		   "timeout = 300ms\n"
		   "retries = 1\n"
		   "command = echo x >> \"$D/attempts\"; sleep 30\n");
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.55, 10.0);
	expect_file("attempts", "x\nx\n");
	expect_err_has(&p, "ctxrun: slow: attempt 1 failed, retrying in ");
	expect_row(&p, "slow", "timed out", "SIGTERM",
		   "job \"slow\" timed out after 300ms");
	h_done(&p);
}

/*
 * Wait for the line "PID is X" that job X ("a" + I) prints first, and
 * return its PID.
 */
static pid_t
pid_before(struct h_proc *p, int i)
{
	char needle[16];
	const char *at, *line;

	snprintf(needle, sizeof(needle), " is %c\n", 'a' + i);
	at = h_wait_out(p, needle, 10000);
	cr_assert_not_null(at, "no '%c' line; stdout <%s> stderr <%s>",
			   'a' + i, p->out.data, p->err.data);
	line = at;
	while (line > p->out.data && line[-1] != '\n') {
		line--;
	}
	return (pid_t)strtol(line, NULL, 10);
}

/*
 * The run's deadline expires while a failed job waits out its retry_delay:
 * the retry is skipped, the job is cancelled by the deadline, and the run
 * ends as a deadline does (124), saying so, not with the failure it meant
 * to retry.
 */
Test(pipeline, deadline_during_retry_delay_is_the_runs_end)
{
	struct h_proc p;
	const char *f;
	char events[4096];

	f = fx_write("p.ini",
		     "[pipeline]\n"
		     "timeout = 500ms\n"
		     "[job:flaky]\n"
		     "retries = 3\n"
		     "retry_delay = 60s\n"
		     "command = echo x >> \"$D/attempts\"; exit 3\n");
	h_run(&p, NULL, "-f", f, "--events", fx_path("ev"));
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.4, 10.0);
	expect_file("attempts", "x\n");
	expect_err_has(&p, "ctxrun: flaky: attempt 2 skipped (deadline "
			   "exceeded (timeout in ");
	expect_row(&p, "flaky", "cancelled", "exit 3", NULL);
	fx_read("ev", events, sizeof(events));
	cr_assert_not_null(strstr(events, "\"event\":\"skip\",\"job\":"
					  "\"flaky\",\"attempt\":2,"),
			   "no skip event; events <%s>", events);
	cr_assert_not_null(strstr(events, "\"event\":\"done\",\"status\":124,"
					  "\"cause\":\"deadline exceeded"),
			   "done event; events <%s>", events);
	h_done(&p);
}

/*
 * Jobs that exited on their own before the run's deadline keep their
 * outcomes, and the run its status, when ctxrun hears of their exits only
 * after the deadline (ctxrun was stopped meanwhile): nothing was stopped.
 * With a job still running, the deadline stops that one alone.
 */
Test(pipeline, exits_heard_after_the_deadline_keep_their_outcome)
{
	for (int running = 0; running <= 1; running++) {
		struct h_proc p;
		pid_t pids[3];

		h_start(&p, NULL, "-t", "1s", "-o", "raw", "-n", "a,b,c",
			"-c", "echo \"$$ is a\"; exec \"$TH\" await \"$D/go\" 20000 0",
			"-c", "echo \"$$ is b\"; exec \"$TH\" await \"$D/go\" 20000 0",
			"-c", running ? "echo \"$$ is c\"; exec \"$TH\" sleep 30000"
				      : "echo \"$$ is c\"");
		/* All three started: none is spawned after the deadline. */
		for (int i = 0; i < 3; i++) {
			pids[i] = pid_before(&p, i);
		}
		h_kill(&p, SIGSTOP);
		fx_write("go", "");
		/* Stopped, ctxrun cannot reap them: gone means zombies. */
		for (int i = 0; i < 2000 && !(h_gone(pids[0]) && h_gone(pids[1]));
		     i++) {
			usleep(5000);
		}
		cr_assert(h_gone(pids[0]) && h_gone(pids[1]), "a, b still run");
		/* The state needed: the deadline has passed, ctxrun stopped. */
		while (h_now() < p.t0 + 1.5) {
			usleep(10000);
		}
		h_kill(&p, SIGCONT);
		h_finish(&p, 20000);
		expect_row(&p, "a", "succeeded", "exit 0", NULL);
		expect_row(&p, "b", "succeeded", "exit 0", NULL);
		expect_err_lacks(&p, "ctxrun: a: SIGTERM");
		expect_err_lacks(&p, "ctxrun: b: SIGTERM");
		if (running) {
			expect_exit(&p, 124);
			expect_row(&p, "c", "cancelled", "SIGTERM",
				   "deadline exceeded (--timeout 1s)");
		} else {
			expect_exit(&p, 0);
		}
		h_done(&p);
		unlink(fx_path("go"));
	}
}

/* A cancelled job is never retried. */
Test(pipeline, cancelled_job_not_retried)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:long]\n"
		   "retries = 3\n"
		   "command = echo x >> \"$D/attempts\"; sleep 30\n"
		   "[job:bad]\n"
		   "command = \"$D/waitfor\" \"$D/attempts\"; exit 2\n");
	expect_exit(&p, 2);
	expect_secs(p.elapsed, 0.0, 10.0);
	expect_file("attempts", "x\n");
	expect_err_lacks(&p, "retrying");
	expect_row(&p, "long", "cancelled", "SIGTERM",
		   "job \"bad\" failed: exit status 2");
	h_done(&p);
}

/* ---- escalation and leftovers ---- */

/* A job ignoring its stop signal is killed after the grace (-g). */
Test(pipeline, escalation_after_grace)
{
	struct h_proc p;

	h_start(&p, NULL, "-g", "0.5", "-n", "stubborn,bad",
		"-c", "exec \"$TH\" ignore-term 30000",
		"-c", "\"$D/waitfor\" \"$D/go\"; exit 1");
	cr_assert_not_null(h_wait_out(&p, "stubborn | ready ", 10000),
			   "stubborn never got ready; stderr <%s>",
			   p.err.data);
	fx_write("go", "");
	h_finish(&p, 20000);
	expect_exit(&p, 1);
	expect_err_has(&p, "ctxrun: stubborn: SIGTERM (cancelled: job \"bad\" "
			   "failed: exit status 1)\n");
	expect_err_has(&p, "ctxrun: stubborn: no exit after 500ms, SIGKILL\n");
	expect_row(&p, "stubborn", "cancelled", "SIGKILL",
		   "job \"bad\" failed: exit status 1; killed after grace");
	h_done(&p);
}

/* A job's own grace in the file is not overridden by the default. */
Test(pipeline, escalation_with_job_grace_in_file)
{
	struct h_proc p;

	fx_start_ini(&p, NULL,
		     "[job:stubborn]\n"
		     "command = exec \"$TH\" ignore-term 30000\n"
		     "grace = 300ms\n"
		     "[job:bad]\n"
		     "command = \"$D/waitfor\" \"$D/go\"; exit 1\n");
	cr_assert_not_null(h_wait_out(&p, "stubborn | ready ", 10000),
			   "stubborn never got ready; stderr <%s>",
			   p.err.data);
	fx_write("go", "");
	h_finish(&p, 20000);
	expect_exit(&p, 1);
	/* The default grace (10 s) would take longer than this. */
	expect_secs(p.elapsed, 0.3, 8.0);
	expect_err_has(&p, "ctxrun: stubborn: no exit after 300ms, SIGKILL\n");
	expect_row(&p, "stubborn", "cancelled", "SIGKILL", NULL);
	h_done(&p);
}

/*
 * The command of a job that needs the grandchild job: fail unless the
 * leftover whose pid the leader wrote is gone (or a zombie).
 */
#define CHECK_LEFTOVER_GONE                                                  \
	"command = read r leader child < \"$D/a.out\"\n"                     \
	"  if [ -d /proc/$child ] &&\n"                                      \
	"     [ \"$(cut -d' ' -f3 /proc/$child/stat)\" != Z ]; then\n"       \
	"    echo \"leftover $child still running\"; exit 7\n"               \
	"  fi\n"                                                             \
	"  touch \"$D/b\"\n"

/* A job whose leader left processes ends only when they are gone. */
Test(pipeline, leftovers_stopped_before_dependents)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:a]\n"
		   "command = \"$TH\" grandchild 30000 > \"$D/a.out\"\n"
		   "[job:b]\n"
		   "needs = a\n" CHECK_LEFTOVER_GONE);
	expect_exit(&p, 0);
	expect_secs(p.elapsed, 0.0, 8.0);
	cr_assert(fx_exists("b"), "b did not run");
	expect_row(&p, "a", "succeeded", "exit 0", NULL);
	expect_row(&p, "b", "succeeded", "exit 0", NULL);
	h_done(&p);
}

/* Leftovers ignoring the stop signal are killed after grace first. */
Test(pipeline, leftovers_ignoring_term_killed_before_dependents)
{
	static const char *const opts[] = { "-g", "0.3", NULL };
	struct h_proc p;

	fx_run_ini(&p, opts,
		   "[job:a]\n"
		   "command = \"$TH\" grandchild 30000 ignore-term "
		   "> \"$D/a.out\"\n"
		   "[job:b]\n"
		   "needs = a\n" CHECK_LEFTOVER_GONE);
	expect_exit(&p, 0);
	expect_secs(p.elapsed, 0.3, 8.0);
	cr_assert(fx_exists("b"), "b did not run");
	expect_row(&p, "a", "succeeded", "exit 0", NULL);
	h_done(&p);
}

/*
 * Forty jobs at once hold some 160 fds (two pipes and two cgroup fds
 * each): ctxrun started with a soft limit of 64 lifts its own to the hard
 * limit, and each job still gets the 64 it was given.
 */
Test(pipeline, many_jobs_under_a_low_fd_limit)
{
	enum { JOBS = 40 };
	const char *argv[6 + 2 * JOBS + 1] = {
		"/bin/sh", "-c", "ulimit -S -n 64 && exec \"$0\" \"$@\"",
		h_ctxrun, "-o", "raw",
	};
	struct rlimit rl;
	struct h_proc p;
	int n = 6;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < 4 * JOBS + 64) {
		cr_skip_test("hard limit on open fds too low here");
	}
	for (int i = 0; i < JOBS; i++) {
		argv[n++] = "-c";
		argv[n++] = "ulimit -S -n && exec \"$TH\" sleep 300";
	}
	argv[n] = NULL;
	h_start_argv(&p, NULL, argv);
	h_finish(&p, 20000);
	expect_exit(&p, 0);
	cr_assert_eq(h_lines(p.out.data), JOBS, "stdout <%s>", p.out.data);
	for (const char *s = p.out.data; *s; s = strchr(s, '\n') + 1) {
		cr_assert_eq(strncmp(s, "64\n", 3), 0, "stdout <%s>", p.out.data);
	}
	h_done(&p);
}

/* ---- environment ---- */

/* Each job gets CTXRUN_JOB; CTXRUN_DEADLINE only under a deadline. */
Test(pipeline, env_job_name_and_deadline)
{
	struct h_proc p;
	double before, after, d;

	h_run(&p, NULL, "-n", "one,two", "-c", "\"$TH\" env CTXRUN_JOB",
	      "-c", "\"$TH\" env CTXRUN_JOB; \"$TH\" env CTXRUN_DEADLINE");
	expect_exit(&p, 0);
	/* The jobs' lines may interleave, each job's stay in order. */
	expect_out_has(&p, "one | one\n");
	expect_out_has(&p, "two | two\n");
	expect_out_has(&p, "two | (unset)\n");
	cr_assert(strstr(p.out.data, "two | two\n") <
			  strstr(p.out.data, "two | (unset)\n"),
		  "stdout <%s>", p.out.data);
	h_done(&p);

	before = h_wall();
	h_run(&p, NULL, "-t", "30", "-n", "d", "-c",
	      "\"$TH\" env CTXRUN_DEADLINE");
	after = h_wall();
	expect_exit(&p, 0);
	d = deadline_of(&p, "d | ");
	cr_assert(d >= before + 29.0 && d <= after + 30.5,
		  "CTXRUN_DEADLINE %.3f, want about %.3f + 30", d, before);
	h_done(&p);
}

/* CTXRUN_DEADLINE is the job context's: the earlier of job and root. */
Test(pipeline, env_deadline_of_job_timeout)
{
	struct h_proc p;
	const char *f;
	double before, after, d;

	f = fx_write("p.ini",
		     "[job:short]\n"
		     "timeout = 20s\n"
		     "command = \"$TH\" env CTXRUN_DEADLINE\n"
		     "[job:long]\n"
		     "timeout = 2m\n"
		     "command = \"$TH\" env CTXRUN_DEADLINE\n");
	before = h_wall();
	h_run(&p, NULL, "-t", "60", "-f", f);
	after = h_wall();
	expect_exit(&p, 0);
	d = deadline_of(&p, "short | ");
	cr_assert(d >= before + 19.0 && d <= after + 20.5,
		  "short: CTXRUN_DEADLINE %.3f, want about %.3f + 20", d,
		  before);
	d = deadline_of(&p, "long  | ");
	cr_assert(d >= before + 59.0 && d <= after + 60.5,
		  "long: CTXRUN_DEADLINE %.3f, want about %.3f + 60", d,
		  before);
	h_done(&p);
}

/* env and directory from the file; directory is relative to the cwd. */
Test(pipeline, env_and_directory_from_file)
{
	struct h_proc p;
	const char *f;
	char real[PATH_MAX], want[PATH_MAX + 128];

	cr_assert_eq(mkdir(fx_path("sub"), 0755), 0);
	cr_assert_eq(mkdir(fx_path("conf"), 0755), 0);
	cr_assert_eq(mkdir(fx_path("conf/sub"), 0755), 0);
	f = fx_write("conf/p.ini",
		     "[job:show]\n"
		     "directory = sub\n"
		     "env = GREETING=hello world\n"
		     "env = EMPTY=\n"
		     "env = CTXRUN_E2E_OVERRIDE=from-file\n"
		     "command = pwd -P; echo \"$GREETING\"\n"
		     "  echo \"[$EMPTY]\"\n"
		     "  echo \"$CTXRUN_E2E_OVERRIDE $CTXRUN_E2E_KEPT\"\n"
		     "  \"$TH\" env CTXRUN_JOB\n");
	cr_assert_eq(setenv("CTXRUN_E2E_OVERRIDE", "inherited", 1), 0);
	cr_assert_eq(setenv("CTXRUN_E2E_KEPT", "kept", 1), 0);
	cr_assert_eq(chdir(fx_dir), 0);
	h_run(&p, NULL, "-f", f);
	expect_exit(&p, 0);
	cr_assert_not_null(realpath(fx_path("sub"), real));
	snprintf(want, sizeof(want),
		 "show | %s\nshow | hello world\nshow | []\n"
		 "show | from-file kept\nshow | show\n",
		 real);
	expect_out(&p, want);
	h_done(&p);
}

/* Jobs read /dev/null, not ctxrun's stdin. */
Test(pipeline, stdin_is_dev_null)
{
	struct h_opts o = { .input = "secret\n" };
	struct h_proc p;

	h_run(&p, &o, "-n", "in", "-c", "readlink /proc/self/fd/0; cat");
	expect_exit(&p, 0);
	expect_out(&p, "in | /dev/null\n");
	h_done(&p);
}

/* ---- signals ---- */

/* SIGINT stops every job, then ctxrun dies by SIGINT. */
Test(pipeline, sigint_stops_all_and_reraises)
{
	struct h_proc p;

	h_start(&p, NULL, "-n", "a,b", "-c", "\"$TH\" ready-sleep 30000",
		"-c", "\"$TH\" ready-sleep 30000");
	cr_assert_not_null(h_wait_out(&p, "a | ready ", 10000),
			   "a not ready; stderr <%s>", p.err.data);
	cr_assert_not_null(h_wait_out(&p, "b | ready ", 10000),
			   "b not ready; stderr <%s>", p.err.data);
	h_kill(&p, SIGINT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	expect_secs(p.reaped_at - p.t0, 0.0, 12.0);
	expect_err_has(&p, "ctxrun: a: SIGTERM (interrupted by SIGINT)\n");
	expect_err_has(&p, "ctxrun: b: SIGTERM (interrupted by SIGINT)\n");
	expect_row(&p, "a", "cancelled", "SIGTERM", "interrupted by SIGINT");
	h_done(&p);
}

/*
 * A job whose leader exited on its own keeps its outcome when an interrupt
 * arrives before ctxrun has looked at the job again: ctxrun is stopped
 * while the leader exits, then hears SIGINT and the exit together.
 */
Test(pipeline, job_that_exited_before_an_interrupt_keeps_its_outcome)
{
	struct h_proc p;
	pid_t pid;

	h_start(&p, NULL, "-o", "raw", "-n", "a,b",
		"-c", "echo ready $$; exec \"$TH\" await \"$D/go\" 20000 0",
		"-c", "exec \"$TH\" sleep 30000");
	h_wait_ready(&p, &pid, 1, 10000);
	h_kill(&p, SIGSTOP);
	fx_write("go", "");
	/* Stopped, ctxrun cannot reap it: gone means a zombie here. */
	for (int i = 0; i < 2000 && !h_gone(pid); i++) {
		usleep(5000);
	}
	cr_assert(h_gone(pid), "a did not exit");
	h_kill(&p, SIGINT);
	h_kill(&p, SIGCONT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	expect_row(&p, "a", "succeeded", "exit 0", NULL);
	expect_row(&p, "b", "cancelled", "SIGTERM", "interrupted by SIGINT");
	expect_err_lacks(&p, "ctxrun: a: SIGTERM");
	h_done(&p);
}

/* A second SIGINT kills jobs that ignore their stop signal at once. */
Test(pipeline, second_sigint_kills_at_once)
{
	struct h_proc p;
	double t;

	h_start(&p, NULL, "-g", "60", "-n", "a,b",
		"-c", "\"$TH\" ignore-term 30000",
		"-c", "\"$TH\" ready-sleep 30000");
	cr_assert_not_null(h_wait_out(&p, "a | ready ", 10000),
			   "a not ready; stderr <%s>", p.err.data);
	cr_assert_not_null(h_wait_out(&p, "b | ready ", 10000),
			   "b not ready; stderr <%s>", p.err.data);
	h_kill(&p, SIGINT);
	cr_assert_not_null(h_wait_err(&p, "ctxrun: a: SIGTERM (interrupted "
					  "by SIGINT)\n",
				      10000),
			   "no stop line; stderr <%s>", p.err.data);
	cr_assert(!p.reaped, "ctxrun ended within the grace; stderr <%s>",
		  p.err.data);
	t = h_now();
	h_kill(&p, SIGINT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	expect_secs(p.reaped_at - t, 0.0, 8.0);
	h_done(&p);
}

/* ---- config errors ---- */

/* Every config error is reported as FILE:LINE, in order; nothing runs. */
Test(pipeline, config_errors_all_reported)
{
	struct h_proc p;
	const char *f, *s;
	char want[1024];
	int i;
	static const char *const errs[] = {
		":2: ",
		(":6: job \"a\" needs unknown job \"biuld\" "
		 "(did you mean \"build\"?)\n"),
		":7: ",
		":9: ",
		":10: ",
	};
	static const char *const words[] = {
		"5x", "biuld", "FOO", "build", "comand",
	};

	f = fx_run_ini(&p, NULL,
		       "[pipeline]\n"
		       "timeout = 5x\n"
		       "\n"
		       "[job:a]\n"
		       "command = \"$TH\" touch \"$D/a\"\n"
		       "needs = biuld\n"
		       "stop_signal = FOO\n"
		       "\n"
		       "[job:build]\n"
		       "comand = \"$TH\" touch \"$D/build\"\n"
		       "[job:ok]\n"
		       "command = \"$TH\" touch \"$D/ok\"\n");
	expect_exit(&p, 125);
	expect_out(&p, "");
	cr_assert(!fx_exists("a") && !fx_exists("build") &&
			  !fx_exists("ok"),
		  "a job ran despite config errors");
	s = p.err.data;
	for (i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "ctxrun: %s%s", f, errs[i]);
		cr_assert(strncmp(s, want, strlen(want)) == 0,
			  "error %d: want <%s> at <%s>; stderr <%s>", i, want,
			  s, p.err.data);
		cr_assert(strstr(s, words[i]) != NULL &&
				  strstr(s, words[i]) < strchr(s, '\n'),
			  "error %d does not name <%s>: <%s>", i, words[i], s);
		s = strchr(s, '\n') + 1;
	}
	expect_all_lines_start(p.err.data, "ctxrun: ");
	cr_assert_eq(h_lines(p.err.data), 5, "stderr <%s>", p.err.data);
	h_done(&p);
}

/* A dependency cycle is reported with its path. */
Test(pipeline, config_cycle_reported)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:a]\n"
		   "command = touch \"$D/a\"\n"
		   "needs = c\n"
		   "[job:b]\n"
		   "command = touch \"$D/b\"\n"
		   "needs = a\n"
		   "[job:c]\n"
		   "command = touch \"$D/c\"\n"
		   "needs = b\n");
	expect_exit(&p, 125);
	/* Either way round is a faithful picture of the cycle. */
	cr_assert(strstr(p.err.data, ":1: dependency cycle: a -> c -> b -> "
				     "a\n") != NULL ||
			  strstr(p.err.data, ":1: dependency cycle: a -> b -> "
					     "c -> a\n") != NULL,
		  "no cycle path in <%s>", p.err.data);
	expect_all_lines_start(p.err.data, "ctxrun: ");
	cr_assert(!fx_exists("a") && !fx_exists("b") && !fx_exists("c"));
	h_done(&p);
}

/* -f - reads the pipeline from standard input. */
Test(pipeline, file_from_stdin)
{
	struct h_opts o = {
		.input = "[job:hello]\n"
			 "command = echo hello from stdin\n",
	};
	struct h_opts bad = {
		.input = "[job:hello]\n"
			 "command = true\n"
			 "timeout = forever\n",
	};
	struct h_proc p;

	h_run(&p, &o, "-f", "-");
	expect_exit(&p, 0);
	expect_out(&p, "hello | hello from stdin\n");
	h_done(&p);

	h_run(&p, &bad, "-f", "-");
	expect_exit(&p, 125);
	expect_err_has(&p, ":3: ");
	expect_err_has(&p, "forever");
	h_done(&p);
}

/*
 * Comments: whole lines starting with # or ; anywhere, " ;" / " #" after
 * values other than command; in a command both are shell text. Long lines
 * are not cut (Debian's inih reads 200-byte lines).
 */
Test(pipeline, comments_and_literal_shell_text)
{
	struct h_proc p;
	char text[2048], want[1024], word[301];

	memset(word, 'w', 300);
	word[300] = '\0';
	snprintf(text, sizeof(text),
		 "# a comment\n"
		 "; another comment\n"
		 "[pipeline]   ; after a header\n"
		 "timeout = 20s ; why: the machine is slow\n"
		 "\n"
		 "[job:x]\n"
		 "env = V=1 # inline comment\n"
		 "command = echo a; echo \"b # c ; d\" ;echo e#f\n"
		 "    # an indented comment line\n"
		 "  echo \"$V\"\n"
		 "  echo %s\n"
		 "timeout = 10s\t# a tab before the #\n",
		 word);
	fx_run_ini(&p, NULL, text);
	expect_exit(&p, 0);
	snprintf(want, sizeof(want),
		 "x | a\nx | b # c ; d\nx | e#f\nx | 1\nx | %s\n", word);
	expect_out(&p, want);
	h_done(&p);
}

/* A missing pipeline file is an error naming it. */
Test(pipeline, missing_file_is_125)
{
	struct h_proc p;

	h_run(&p, NULL, "-f", "/nonexistent/ctxrun-e2e.ini");
	expect_exit(&p, 125);
	expect_err_has(&p, "ctxrun: /nonexistent/ctxrun-e2e.ini");
	expect_out(&p, "");
	h_done(&p);
}

/* Without -f, ./ctxrun.ini is the pipeline. */
Test(pipeline, default_file_in_cwd)
{
	struct h_proc p;

	fx_write("ctxrun.ini",
		 "[job:here]\n"
		 "command = touch \"$D/here\"\n"
		 "[job:there]\n"
		 "command = touch \"$D/there\"\n");
	cr_assert_eq(chdir(fx_dir), 0);
	h_run(&p, NULL, "-q");
	expect_exit(&p, 0);
	cr_assert(fx_exists("here") && fx_exists("there"));
	h_done(&p);
	unlink(fx_path("here"));
	unlink(fx_path("there"));

	h_run(&p, NULL, "there");
	expect_exit(&p, 0);
	cr_assert(!fx_exists("here") && fx_exists("there"));
	h_done(&p);
}

/* ---- --check ---- */

/* --check prints the documented plan and runs nothing. */
Test(pipeline, check_prints_plan)
{
	struct h_proc p;

	fx_write("ci.ini",
		 "[pipeline]\n"
		 "timeout = 15m\n"
		 "[job:build]\n"
		 "command = touch \"$D/build\"\n"
		 "timeout = 5m\n"
		 "[job:unit]\n"
		 "command = touch \"$D/unit\"\n"
		 "needs = build\n"
		 "[job:lint]\n"
		 "command = touch \"$D/lint\"\n"
		 "needs = build\n"
		 "allow_failure = true\n"
		 "[job:e2e]\n"
		 "needs = unit, lint\n"
		 "stop_signal = INT\n"
		 "grace = 30s\n"
		 "retries = 2\n"
		 "command = touch \"$D/e2e\"\n");
	cr_assert_eq(chdir(fx_dir), 0);
	h_run(&p, NULL, "--check", "-f", "ci.ini");
	expect_exit(&p, 0);
	expect_out(&p,
		   "ci.ini: 4 jobs, at most all at once, fail-fast, "
		   "timeout 15m\n"
		   "level 1:\n"
		   "  build  timeout 5m, grace 10s, stop SIGTERM\n"
		   "level 2:\n"
		   "  unit   timeout 15m, grace 10s, stop SIGTERM, needs "
		   "build\n"
		   "  lint   timeout 15m, grace 10s, stop SIGTERM, needs "
		   "build, allow_failure\n"
		   "level 3:\n"
		   "  e2e    timeout 15m, grace 30s, stop SIGINT, needs unit "
		   "lint, retries 2\n");
	expect_err(&p, "");
	cr_assert(!fx_exists("build") && !fx_exists("unit") &&
		  !fx_exists("lint") && !fx_exists("e2e"),
		  "--check ran a job");
	h_done(&p);
}

/* --check: limits, keep going, "none", and command-line overrides. */
Test(pipeline, check_effective_values)
{
	struct h_proc p;
	const char *f;

	f = fx_write("p.ini",
		     "[pipeline]\n"
		     "jobs = 4\n"
		     "fail_fast = false\n"
		     "[job:x]\n"
		     "command = touch \"$D/x\"\n");
	h_run(&p, NULL, "--check", "-f", f);
	expect_exit(&p, 0);
	expect_out_has(&p, ": 1 job, at most 4 at once, keep going, ");
	expect_out_has(&p, "\n  x  timeout none, grace 10s, stop SIGTERM\n");
	h_release(&p);

	h_run(&p, NULL, "--check", "-t", "45s", "-g", "2s", "-s", "HUP",
	      "-j", "2", "-f", f);
	expect_exit(&p, 0);
	expect_out_has(&p, ": 1 job, at most 2 at once, keep going, "
			   "timeout 45s\n");
	expect_out_has(&p, "\n  x  timeout 45s, grace 2s, stop SIGHUP\n");
	cr_assert(!fx_exists("x"), "--check ran a job");
	h_done(&p);
}

/* --check with a bad file reports the errors and gives 125. */
Test(pipeline, check_with_errors_is_125)
{
	struct h_proc p;
	const char *f;
	char want[512];

	f = fx_write("p.ini",
		     "[job:x]\n"
		     "command = true\n"
		     "retries = many\n");
	h_run(&p, NULL, "--check", "-f", f);
	expect_exit(&p, 125);
	snprintf(want, sizeof(want), "ctxrun: %s:3: ", f);
	expect_err_has(&p, want);
	h_done(&p);
}

/* ---- names ---- */

/* -n names the jobs in order; fewer names name the first jobs. */
Test(pipeline, names_from_option)
{
	struct h_proc p;

	h_run(&p, NULL, "-n", "api,web", "-c", "echo a", "-c", "echo w");
	expect_exit(&p, 0);
	expect_out_has(&p, "api | a\n");
	expect_out_has(&p, "web | w\n");
	expect_row(&p, "api", "succeeded", "exit 0", "");
	expect_row(&p, "web", "succeeded", "exit 0", "");
	h_done(&p);

	h_run(&p, NULL, "-n", "first", "-c", "echo 1", "-c", "echo 2");
	expect_exit(&p, 0);
	expect_out_has(&p, "first | 1\n");
	expect_out_has(&p, "echo  | 2\n");
	h_done(&p);
}

/* Default names: the first word's basename, made unique with #2, #3. */
Test(pipeline, default_names_unique)
{
	struct h_proc p;

	h_run(&p, NULL, "-c", "sleep 0", "-c", "sleep 0", "-c", "sleep 0",
	      "-c", "/bin/echo hi");
	expect_exit(&p, 0);
	expect_out(&p, "echo    | hi\n");
	expect_row(&p, "sleep", "succeeded", NULL, NULL);
	expect_row(&p, "sleep#2", "succeeded", NULL, NULL);
	expect_row(&p, "sleep#3", "succeeded", NULL, NULL);
	expect_row(&p, "echo", "succeeded", NULL, NULL);
	h_done(&p);
}

/*
 * A command without shell syntax is exec'd directly: the job's process is
 * the command itself, leading its group; with shell syntax it is the
 * shell's child (dash forks the last command of -c).
 */
Test(pipeline, simple_command_runs_without_the_shell)
{
	char cmd[512];
	long pid, pgid;
	struct h_proc p;

	snprintf(cmd, sizeof(cmd), "%s pgid", h_th);
	h_run(&p, NULL, "-q", "-c", cmd);
	expect_exit(&p, 0);
	cr_assert_eq(sscanf(p.out.data, "%*s | %ld %ld", &pid, &pgid), 2,
		     "<%s>", p.out.data);
	cr_assert_eq(pid, pgid, "not exec'd directly: <%s>", p.out.data);
	h_done(&p);
}

/* Not found without the shell: the same 127, and a message naming it. */
Test(pipeline, simple_command_not_found_is_127)
{
	struct h_proc p;

	h_run(&p, NULL, "-c", "ctxrun-no-such-command --x", "-c", "sleep 30");
	expect_exit(&p, 127);
	expect_err_has(&p, "ctxrun-no-such-command");
	cr_assert_lt(p.elapsed, 10.0, "the sibling was not stopped");
	h_done(&p);
}

/* A default name steps over a given one that looks like a default. */
Test(pipeline, default_names_skip_given_names)
{
	struct h_proc p;

	h_run(&p, NULL, "--check", "-n", "true#2", "-c", "true", "-c", "true",
	      "-c", "true", "-c", "true");
	expect_exit(&p, 0);
	expect_out_has(&p, "  true#2 ");
	expect_out_has(&p, "  true ");
	expect_out_has(&p, "  true#3 ");
	expect_out_has(&p, "  true#4 ");
	expect_out_lacks(&p, "true#5");
	h_release(&p);
}

/* More names than -c commands is a usage error; nothing runs. */
Test(pipeline, more_names_than_commands_is_125)
{
	struct h_proc p;

	h_run(&p, NULL, "-n", "a,b,c", "-c", "touch \"$D/a\"", "-c",
	      "touch \"$D/b\"");
	expect_exit(&p, 125);
	cr_assert(!fx_exists("a") && !fx_exists("b"), "a job ran");
	expect_out(&p, "");
	h_done(&p);
}

/* A name with a blank is refused, as in a [job:NAME] header; nothing runs. */
Test(pipeline, names_with_blanks_are_125)
{
	static const char *const names[] = { "a b", "a\tb", "a\nb", "ok, b" };
	struct h_proc p;

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		h_run(&p, NULL, "-n", names[i], "-c", "touch \"$D/a\"", "-c",
		      "touch \"$D/b\"");
		expect_exit(&p, 125);
		cr_assert(!fx_exists("a") && !fx_exists("b"), "a job ran");
		cr_assert(!strncmp(p.err.data, "ctxrun: bad job name '", 22),
			  "stderr: <%s>", p.err.data);
		expect_out(&p, "");
		h_done(&p);
	}
}

/* ---- verbosity ---- */

/* -q prints no lifecycle lines, and the summary as one line per job. */
Test(pipeline, quiet_prints_nothing_of_its_own)
{
	struct h_proc p;

	h_run(&p, NULL, "-q", "-c", "exit 3", "-c", "sleep 30");
	expect_exit(&p, 3);
	cr_assert_eq(strncmp(p.err.data, "exit\tfailed\t3\t", 14), 0,
		     "stderr: <%s>", p.err.data);
	expect_err_has(&p, "\nsleep\tcancelled\t143\t");
	cr_assert_eq(h_lines(p.err.data), 2, "stderr: <%s>", p.err.data);
	expect_err_lacks(&p, "ctxrun");
	expect_out(&p, "");
	h_done(&p);

	/* The jobs' own output still comes through. */
	h_run(&p, NULL, "-q", "-n", "a", "-c", "echo out; echo err >&2");
	expect_exit(&p, 0);
	expect_out(&p, "a | out\n");
	cr_assert_eq(strncmp(p.err.data, "a | err\na\tsucceeded\t0\t", 22), 0,
		     "stderr: <%s>", p.err.data);
	h_done(&p);
}

/* -v adds the started lines; the default has none. */
Test(pipeline, verbose_adds_started_lines)
{
	struct h_proc p;

	h_run(&p, NULL, "-v", "-n", "a,b", "-c", "exit 0", "-c", "exit 0");
	expect_exit(&p, 0);
	expect_err_has(&p, "ctxrun: a: started (pid ");
	expect_err_has(&p, "ctxrun: b: started (pid ");
	expect_row(&p, "a", "succeeded", "exit 0", "");
	h_done(&p);

	h_run(&p, NULL, "-n", "a,b", "-c", "exit 0", "-c", "exit 0");
	expect_exit(&p, 0);
	expect_err_lacks(&p, "started");
	expect_err_has(&p, "ctxrun: a: exited with status 0\n");
	expect_row(&p, "b", "succeeded", "exit 0", "");
	h_done(&p);
}

/* ---- output closed ---- */

/* ctxrun's stdout closed while a job prints: cancel, die by SIGPIPE. */
Test(pipeline, stdout_closed_cancels_and_sigpipe)
{
	struct h_opts o = { .close_stdout = true };
	struct h_proc p;

	h_run(&p, &o, "-n", "chatty,quiet", "-c", "yes",
	      "-c", "sleep 30");
	expect_signal(&p, SIGPIPE);
	expect_secs(p.elapsed, 0.0, 8.0);
	expect_err_has(&p, "ctxrun: quiet: SIGTERM (output closed)\n");
	h_done(&p);
}

/* ---- examples ---- */

/* Run examples/NAME with -f, to its end within 20 s. */
static void
run_example(struct h_proc *p, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "examples/%s", name);
	cr_assert_eq(access(path, R_OK), 0,
		     "%s: %s (run the tests from the top of the checkout)",
		     path, strerror(errno));
	h_run(p, NULL, "-f", path);
}

/* examples/ci.ini passes; lint fails but is allowed to. */
Test(examples, ci)
{
	struct h_proc p;

	run_example(&p, "ci.ini");
	expect_exit(&p, 0);
	expect_out_has(&p, "package | package ready\n");
	expect_err_has(&p, "lint    | example.c:12: line longer than 80 "
			   "columns\n");
	expect_row(&p, "build", "succeeded", "exit 0", "");
	expect_row(&p, "unit", "succeeded", "exit 0", "");
	expect_row(&p, "lint", "failed (allowed)", NULL, NULL);
	expect_row(&p, "package", "succeeded", "exit 0", "");
	h_done(&p);
}

/* examples/fail-fast.ini: the quick failure cancels the long jobs. */
Test(examples, fail_fast)
{
	struct h_proc p;

	run_example(&p, "fail-fast.ini");
	expect_exit(&p, 3);
	expect_secs(p.elapsed, 0.0, 10.0);
	expect_row(&p, "migrate", "failed", "exit 3", "");
	expect_row(&p, "api-tests", "cancelled", "SIGTERM",
		   "job \"migrate\" failed: exit status 3");
	expect_row(&p, "ui-tests", "cancelled", "SIGTERM",
		   "job \"migrate\" failed: exit status 3");
	h_done(&p);
}

/* examples/graceful-shutdown.ini: the server cleans up on SIGTERM. */
Test(examples, graceful_shutdown)
{
	struct h_proc p;

	run_example(&p, "graceful-shutdown.ini");
	expect_exit(&p, 124);
	expect_out_has(&p, "server | got SIGTERM, cleaning up\n");
	expect_out_has(&p, "server | clean exit\n");
	expect_err_has(&p, "ctxrun: server: SIGTERM (deadline exceeded "
			   "(timeout in examples/graceful-shutdown.ini 2s))\n");
	expect_row(&p, "server", "cancelled", "exit 0", NULL);
	expect_err_lacks(&p, "SIGKILL");
	h_done(&p);
}

/* examples/timeout.ini: a job times out, is retried once, gives up. */
Test(examples, timeout)
{
	struct h_proc p;

	run_example(&p, "timeout.ini");
	expect_exit(&p, 124);
	expect_err_has(&p, "ctxrun: fetch: attempt 1 failed, retrying in ");
	expect_err_has(&p, "ctxrun: fetch: SIGTERM (job \"fetch\" timed out "
			   "after 500ms)\n");
	expect_row(&p, "fetch", "timed out", NULL,
		   "job \"fetch\" timed out after 500ms");
	expect_row(&p, "report", "skipped", "-", NULL);
	h_done(&p);
}

/*
 * examples/services.ini: the servers answer before the test runs, are
 * stopped after it, and cleanup runs, whether the test passes or not.
 * One test for both runs: the example's port is fixed.
 */
Test(examples, services)
{
	struct h_proc p;

	run_example(&p, "services.ini");
	expect_exit(&p, 0);
	expect_out_has(&p, "test    | web answers\n");
	expect_out_has(&p, "cleanup | dropping test data\n");
	expect_err_has(&p, "ctxrun: worker: ready after ");
	expect_row(&p, "web", "stopped", "SIGTERM", "no longer needed");
	expect_row(&p, "queue", "stopped", "SIGTERM", "no longer needed");
	expect_row(&p, "worker", "stopped", "SIGTERM", "no longer needed");
	expect_row(&p, "test", "succeeded", "exit 0", "");
	h_done(&p);
	cr_assert_eq(setenv("FAIL", "1", 1), 0);
	run_example(&p, "services.ini");
	expect_exit(&p, 1);
	expect_row(&p, "web", "stopped", "SIGTERM", "no longer needed");
	expect_row(&p, "test", "failed", "exit 1", "");
	expect_row(&p, "cleanup", "succeeded", "exit 0", "");
	h_done(&p);
}
