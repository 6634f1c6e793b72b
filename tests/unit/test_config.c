/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctxrun/config.h"
#include "ctxrun/util.h"

TestSuite(config, .timeout = 10);

/* Parse TEXT as "t.ini", asserting success. */
static struct spec *
ok(const char *text)
{
	struct config_errors errs;
	struct spec *s;

	s = config_parse_buffer("t.ini", text, strlen(text), &errs);
	cr_assert_not_null(s, "rejected: %s", errs.n ? errs.msgs[0] : "?");
	cr_assert_eq(errs.n, 0);
	config_errors_release(&errs);
	return s;
}

/* Parse TEXT as "t.ini", asserting failure; the caller releases ERRS. */
static void
bad(const char *text, struct config_errors *errs)
{
	struct spec *s = config_parse_buffer("t.ini", text, strlen(text), errs);

	cr_assert_null(s, "accepted:\n%s", text);
	cr_assert_gt(errs->n, 0);
}

/* Assert that TEXT fails with exactly the one message WANT. */
static void
bad_one(const char *text, const char *want)
{
	struct config_errors errs;

	bad(text, &errs);
	cr_assert_eq(errs.n, 1, "%zu messages for:\n%s\nfirst: %s", errs.n,
		     text, errs.msgs[0]);
	cr_assert_str_eq(errs.msgs[0], want);
	config_errors_release(&errs);
}

/* Assert that TEXT fails with exactly the N messages that follow. */
static void
bad_all(const char *text, size_t n, ...)
{
	struct config_errors errs;
	va_list ap;

	bad(text, &errs);
	if (errs.n != n) {
		for (size_t i = 0; i < errs.n; i++) {
			cr_log_error("got: %s", errs.msgs[i]);
		}
	}
	cr_assert_eq(errs.n, n, "%zu messages, want %zu", errs.n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(errs.msgs[i], va_arg(ap, const char *));
	}
	va_end(ap);
	config_errors_release(&errs);
}

/* The job named NAME in S, asserted to exist. */
static struct spec_job *
job(struct spec *s, const char *name)
{
	long i = spec_find(s, name);

	cr_assert_geq(i, 0, "no job \"%s\"", name);
	return &s->jobs[i];
}

/* A heap string of N copies of C. */
static char *
repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/*
 * A whole file.
 */

Test(config, spec_example_parses)
{
	struct spec *s = ok(
		"# ctxrun.ini — full-line comments start with # or ;\n"
		"[pipeline]\n"
		"timeout = 15m        ; root deadline\n"
		"grace = 10s\n"
		"stop_signal = TERM\n"
		"jobs = 4             ; parallel limit\n"
		"fail_fast = true     ; errgroup semantics\n"
		"shell = /bin/sh\n"
		"\n"
		"[job:build]\n"
		"command = make -j4\n"
		"timeout = 5m\n"
		"directory = src\n"
		"env = CC=clang\n"
		"env = CFLAGS=-O2     ; a repeated key adds another variable\n"
		"\n"
		"[job:unit]\n"
		"command = make check\n"
		"needs = build\n"
		"\n"
		"[job:lint]\n"
		"command = ./scripts/lint.sh\n"
		"needs = build\n"
		"allow_failure = true ; its failure is reported\n"
		"\n"
		"[job:e2e]\n"
		"needs = unit, lint\n"
		"stop_signal = INT\n"
		"grace = 30s\n"
		"retries = 2          ; re-run up to 2 more times\n"
		"# indented continuation lines join the command:\n"
		"command = ./e2e/setup.sh\n"
		"  ./e2e/run.sh --all\n");
	struct spec_job *e2e;

	cr_assert_str_eq(s->file, "t.ini");
	cr_assert_eq(s->timeout_ms, 15 * 60000);
	cr_assert_eq(s->grace_ms, 10000);
	cr_assert_eq(s->stop_signal, SIGTERM);
	cr_assert_eq(s->jobs_limit, 4);
	cr_assert(s->fail_fast);
	cr_assert_str_eq(s->shell, "/bin/sh");
	cr_assert_eq(s->n_jobs, 4);
	cr_assert_str_eq(s->jobs[0].name, "build");
	cr_assert_str_eq(s->jobs[1].name, "unit");
	cr_assert_str_eq(s->jobs[2].name, "lint");
	cr_assert_str_eq(s->jobs[3].name, "e2e");
	cr_assert_eq(s->jobs[0].line, 10);
	cr_assert_eq(s->jobs[3].line, 26);
	cr_assert_str_eq(s->jobs[0].command, "make -j4");
	cr_assert_eq(s->jobs[0].timeout_ms, 300000);
	cr_assert_str_eq(s->jobs[0].directory, "src");
	cr_assert_eq(s->jobs[0].n_env, 2);
	cr_assert_str_eq(s->jobs[0].env[0], "CC=clang");
	cr_assert_str_eq(s->jobs[0].env[1], "CFLAGS=-O2");
	cr_assert_null(s->jobs[0].env[2]);
	cr_assert(s->jobs[2].allow_failure);
	cr_assert_not(s->jobs[1].allow_failure);
	e2e = job(s, "e2e");
	cr_assert_str_eq(e2e->command, "./e2e/setup.sh\n./e2e/run.sh --all");
	cr_assert_eq(e2e->n_needs, 2);
	cr_assert_eq(e2e->needs[0], 1);
	cr_assert_eq(e2e->needs[1], 2);
	cr_assert_eq(e2e->stop_signal, SIGINT);
	cr_assert_eq(e2e->grace_ms, 30000);
	cr_assert_eq(e2e->retries, 2);
	cr_assert_null(s->jobs[1].directory);
	cr_assert_null(s->jobs[1].env);
	spec_free(s);
}

Test(config, defaults_without_pipeline_section)
{
	struct spec *s = ok("[job:a]\ncommand = true\n");

	cr_assert_eq(s->timeout_ms, 0);
	cr_assert_eq(s->grace_ms, SPEC_DEFAULT_GRACE_MS);
	cr_assert_eq(s->stop_signal, SIGTERM);
	cr_assert_eq(s->jobs_limit, 0);
	cr_assert(s->fail_fast);
	cr_assert_str_eq(s->shell, SPEC_DEFAULT_SHELL);
	cr_assert_eq(s->jobs[0].grace_ms, SPEC_DEFAULT_GRACE_MS);
	cr_assert_eq(s->jobs[0].stop_signal, SIGTERM);
	cr_assert_not(s->jobs[0].grace_set);
	cr_assert_not(s->jobs[0].signal_set);
	cr_assert_eq(s->jobs[0].retries, 0);
	cr_assert_eq(s->jobs[0].timeout_ms, 0);
	spec_free(s);
}

Test(config, pipeline_after_jobs_still_sets_their_defaults)
{
	struct spec *s = ok("[job:a]\ncommand = a\n"
			    "[job:b]\ncommand = b\n"
			    "grace = 1s\nstop_signal = 9\n"
			    "[pipeline]\ngrace = 3s\nstop_signal = sigint\n");

	cr_assert_eq(job(s, "a")->grace_ms, 3000);
	cr_assert_eq(job(s, "a")->stop_signal, SIGINT);
	cr_assert_not(job(s, "a")->grace_set);
	cr_assert_eq(job(s, "b")->grace_ms, 1000);
	cr_assert_eq(job(s, "b")->stop_signal, SIGKILL);
	cr_assert(job(s, "b")->grace_set);
	cr_assert(job(s, "b")->signal_set);
	spec_free(s);
}

Test(config, every_job_key)
{
	struct spec *s = ok("[job:x]\n"
			    "command = run\n"
			    "timeout = 1m30s\n"
			    "grace = 0.5\n"
			    "stop_signal = SIGHUP\n"
			    "directory = a dir/with blanks\n"
			    "env = A=1\n"
			    "allow_failure = YES\n"
			    "retries = 1000\n"
			    "retry_delay = 250ms\n");
	struct spec_job *j = &s->jobs[0];

	cr_assert_eq(j->timeout_ms, 90000);
	cr_assert_eq(j->grace_ms, 500);
	cr_assert_eq(j->stop_signal, SIGHUP);
	cr_assert_str_eq(j->directory, "a dir/with blanks");
	cr_assert(j->allow_failure);
	cr_assert_eq(j->retries, 1000);
	cr_assert_eq(j->retry_delay_ms, 250);
	spec_free(s);
}

Test(config, booleans_in_every_spelling)
{
	static const char *const yes[] = { "true", "TRUE", "Yes", "on", "1" };
	static const char *const no[] = { "false", "False", "NO", "off", "0" };
	char text[128];

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		struct spec *s;

		snprintf(text, sizeof(text),
			 "[pipeline]\nfail_fast = %s\n[job:a]\ncommand = a\n"
			 "allow_failure = %s\n", no[i], yes[i]);
		s = ok(text);
		cr_assert_not(s->fail_fast, "%s", no[i]);
		cr_assert(s->jobs[0].allow_failure, "%s", yes[i]);
		spec_free(s);
	}
}

Test(config, pipeline_numbers_and_shell)
{
	struct spec *s = ok("[pipeline]\njobs = 0\nshell = /bin/bash -e\n"
			    "[job:a]\ncommand = a\n");

	cr_assert_eq(s->jobs_limit, 0);
	cr_assert_str_eq(s->shell, "/bin/bash -e");
	spec_free(s);
	s = ok("[pipeline]\njobs = 100000\n[job:a]\ncommand = a\n");
	cr_assert_eq(s->jobs_limit, 100000);
	spec_free(s);
}

Test(config, env_list_in_order_and_on_indented_lines)
{
	struct spec *s = ok("[job:a]\ncommand = a\n"
			    "env = CC=clang\n"
			    "env = CFLAGS=-O2 -g   ; comment\n"
			    "env = X=a;b#c\n"
			    "env = A_1=\n"
			    "env = B=1\n"
			    "  _C=x=y\n");
	struct spec_job *j = &s->jobs[0];

	cr_assert_eq(j->n_env, 6);
	cr_assert_str_eq(j->env[0], "CC=clang");
	cr_assert_str_eq(j->env[1], "CFLAGS=-O2 -g");
	cr_assert_str_eq(j->env[2], "X=a;b#c");
	cr_assert_str_eq(j->env[3], "A_1=");
	cr_assert_str_eq(j->env[4], "B=1");
	cr_assert_str_eq(j->env[5], "_C=x=y");
	cr_assert_null(j->env[6]);
	spec_free(s);
}

Test(config, needs_resolve_to_indices_in_file_order)
{
	struct spec *s = ok("[job:d]\ncommand = d\nneeds = c a,b\n"
			    "[job:a]\ncommand = a\n"
			    "[job:b]\ncommand = b\nneeds = a\n"
			    "[job:c]\ncommand = c\nneeds =\n"
			    "[job:e]\ncommand = e\nneeds = a, ,a,, b\n"
			    "  c\n  d\n");

	cr_assert_eq(s->n_jobs, 5);
	cr_assert_str_eq(s->jobs[0].name, "d");
	cr_assert_eq(s->jobs[0].n_needs, 3);
	cr_assert_eq(s->jobs[0].needs[0], 3);
	cr_assert_eq(s->jobs[0].needs[1], 1);
	cr_assert_eq(s->jobs[0].needs[2], 2);
	cr_assert_eq(s->jobs[2].n_needs, 1);
	cr_assert_eq(s->jobs[3].n_needs, 0);
	/* Duplicates count once; commas, blanks and newlines all separate. */
	cr_assert_eq(s->jobs[4].n_needs, 4);
	cr_assert_eq(s->jobs[4].needs[0], 1);
	cr_assert_eq(s->jobs[4].needs[1], 2);
	cr_assert_eq(s->jobs[4].needs[2], 3);
	cr_assert_eq(s->jobs[4].needs[3], 0);
	spec_free(s);
}

Test(config, job_names_with_odd_bytes)
{
	struct spec *s = ok("[job:<&\"'>]\ncommand = a\n"
			    "[job:caf\xc3\xa9]\ncommand = b\nneeds = <&\"'>\n"
			    "[job:a:b=c;d]\ncommand = c\n"
			    "[job:x#1]\ncommand = d\nneeds = a:b=c;d x#1x\n"
			    "[job:x#1x]\ncommand = e\n");

	cr_assert_str_eq(s->jobs[0].name, "<&\"'>");
	cr_assert_str_eq(s->jobs[1].name, "caf\xc3\xa9");
	cr_assert_eq(s->jobs[1].needs[0], 0);
	cr_assert_str_eq(s->jobs[2].name, "a:b=c;d");
	cr_assert_eq(s->jobs[3].n_needs, 2);
	cr_assert_eq(s->jobs[3].needs[0], 2);
	cr_assert_eq(s->jobs[3].needs[1], 4);
	spec_free(s);
}

Test(config, repeated_pipeline_sections_merge)
{
	struct spec *s = ok("[pipeline]\ntimeout = 1h\n[job:a]\ncommand = a\n"
			    "[pipeline]\ngrace = 2s\n");

	cr_assert_eq(s->timeout_ms, 3600000);
	cr_assert_eq(s->grace_ms, 2000);
	cr_assert_eq(s->jobs[0].grace_ms, 2000);
	spec_free(s);
}

/*
 * The traps of Debian's inih 55.
 */

Test(config, ten_kb_command_on_one_line_arrives_whole)
{
	char *cmd = repeat('x', 10240), *text;
	struct spec *s;

	memcpy(cmd, "echo ", 5);
	cmd[5000] = ';';
	cmd[6000] = '#';
	text = xasprintf("[job:big]\ncommand = %s\n[job:next]\ncommand = n\n",
			 cmd);
	s = ok(text);
	cr_assert_eq(s->n_jobs, 2);
	cr_assert_eq(strlen(s->jobs[0].command), 10240);
	cr_assert_str_eq(s->jobs[0].command, cmd);
	cr_assert_str_eq(s->jobs[1].command, "n");
	spec_free(s);
	free(text);
	free(cmd);
}

Test(config, semicolon_and_hash_in_command_are_shell_text)
{
	struct spec *s = ok("[job:a]\n"
			    "command = make clean ; make # all\n"
			    "[job:b]\n"
			    "command=echo a;b #c ;d\n"
			    "[job:c]\n"
			    "command = ; starts with a semicolon\n");

	cr_assert_str_eq(s->jobs[0].command, "make clean ; make # all");
	cr_assert_str_eq(s->jobs[1].command, "echo a;b #c ;d");
	cr_assert_str_eq(s->jobs[2].command, "; starts with a semicolon");
	spec_free(s);
}

Test(config, inline_comment_after_other_keys)
{
	struct spec *s = ok("[job:a]\ncommand = a\n"
			    "[job:b]\ncommand = b\n"
			    "needs = a ; comment\n"
			    "timeout = 5s # comment\n"
			    "directory = x;y#z  ;  real comment\n");

	cr_assert_eq(s->jobs[1].n_needs, 1);
	cr_assert_eq(s->jobs[1].needs[0], 0);
	cr_assert_eq(s->jobs[1].timeout_ms, 5000);
	cr_assert_str_eq(s->jobs[1].directory, "x;y#z");
	spec_free(s);
}

Test(config, long_job_and_section_names)
{
	char *name = repeat('n', 100), *text;
	struct spec *s;

	text = xasprintf("[job:%s]\ncommand = a\n[job:b]\ncommand = b\n"
			 "needs = %s\n", name, name);
	s = ok(text);
	cr_assert_str_eq(s->jobs[0].name, name);
	cr_assert_eq(s->jobs[1].needs[0], 0);
	spec_free(s);
	free(text);
	free(name);
}

Test(config, key_line_longer_than_inih_buffer_for_other_keys)
{
	char *dir = repeat('d', 300), *text;
	struct spec *s;

	text = xasprintf("[job:a]\ncommand = a\ndirectory = %s\n"
			 "env = LONG=%s\n", dir, dir);
	s = ok(text);
	cr_assert_str_eq(s->jobs[0].directory, dir);
	cr_assert_eq(s->jobs[0].n_env, 1);
	cr_assert_eq(strlen(s->jobs[0].env[0]), 5 + 300);
	spec_free(s);
	free(text);
	free(dir);
}

Test(config, long_needs_line)
{
	char text[8192];
	size_t len = 0;
	struct spec *s;

	len += (size_t)snprintf(text + len, sizeof(text) - len,
				"[job:all]\ncommand = a\nneeds =");
	for (int i = 0; i < 100; i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					" job%03d,", i);
	}
	len += (size_t)snprintf(text + len, sizeof(text) - len, "\n");
	for (int i = 0; i < 100; i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"[job:job%03d]\ncommand = true\n", i);
	}
	s = ok(text);
	cr_assert_eq(s->jobs[0].n_needs, 100);
	cr_assert_eq(s->jobs[0].needs[99], 100);
	spec_free(s);
}

Test(config, continuation_lines_build_a_script)
{
	struct spec *s = ok("[job:a]\n"
			    "command = ./setup.sh\n"
			    "  for i in 1 2; do ; echo $i # literal\n"
			    "\n"
			    "  # an indented comment is skipped\n"
			    "\t; so is this one\n"
			    "    [ -f x ] && echo y\n"
			    "  done\n"
			    "timeout = 1m\n");

	cr_assert_str_eq(s->jobs[0].command,
			 "./setup.sh\n"
			 "for i in 1 2; do ; echo $i # literal\n"
			 "[ -f x ] && echo y\n"
			 "done");
	cr_assert_eq(s->jobs[0].timeout_ms, 60000);
	spec_free(s);
}

Test(config, command_starting_on_the_next_line)
{
	struct spec *s = ok("[job:a]\ncommand =\n  make\n  make check\n");

	cr_assert_str_eq(s->jobs[0].command, "make\nmake check");
	spec_free(s);
}

Test(config, crlf_and_bom)
{
	struct spec *s = ok("\xef\xbb\xbf[job:a]\r\n"
			    "command = echo hi\r\n"
			    "  echo there \r\n"
			    "\r\n"
			    "timeout = 2s\r\n"
			    "[job:b]\r\n"
			    "command = b\r\n"
			    "needs = a\r\n");

	cr_assert_str_eq(s->jobs[0].name, "a");
	cr_assert_str_eq(s->jobs[0].command, "echo hi\necho there");
	cr_assert_eq(s->jobs[0].timeout_ms, 2000);
	cr_assert_eq(s->jobs[1].needs[0], 0);
	spec_free(s);
}

Test(config, colon_delimiter_and_last_line_without_newline)
{
	struct spec *s = ok("[job:a]\ncommand: echo a=b:c\ntimeout:3s");

	cr_assert_str_eq(s->jobs[0].command, "echo a=b:c");
	cr_assert_eq(s->jobs[0].timeout_ms, 3000);
	spec_free(s);
}

Test(config, text_need_not_be_nul_terminated)
{
	static const char text[] = "[job:a]\ncommand = abcXXXX";
	struct config_errors errs;
	struct spec *s = config_parse_buffer("t.ini", text, sizeof(text) - 5,
					     &errs);

	cr_assert_not_null(s);
	cr_assert_str_eq(s->jobs[0].command, "abc");
	spec_free(s);
	config_errors_release(&errs);
}

/*
 * Every error message.
 */

Test(config, unknown_section)
{
	bad_all("[jobs:build]\ncommand = y\n[job:x]\ncommand = x\n"
		"[pipelin]\n[build]\n[weird:x]\n[]\n[job]\n", 6,
		"t.ini:1: unknown section [jobs:build] (did you mean [job:build]?)",
		"t.ini:5: unknown section [pipelin] (did you mean [pipeline]?)",
		"t.ini:6: unknown section [build] (did you mean [job:build]?)",
		"t.ini:7: unknown section [weird:x]",
		"t.ini:8: unknown section []",
		"t.ini:9: unknown section [job] (did you mean [job:NAME]?)");
}

Test(config, bad_job_names)
{
	bad_all("[job:]\n[job:a b]\n[job:a,b]\n[job:ok]\ncommand = a\n", 3,
		"t.ini:1: empty job name in [job:]",
		"t.ini:2: bad job name \"a b\" (no blanks or commas)",
		"t.ini:3: bad job name \"a,b\" (no blanks or commas)");
}

Test(config, duplicate_job)
{
	bad_one("[job:x]\ncommand = a\n\n[job:x]\ncommand = b\n",
		"t.ini:4: job \"x\" defined twice (first at line 1)");
}

Test(config, unknown_key)
{
	bad_all("[job:build]\ncommand = a\ncomand = b\nfoo = 1\n"
		"[pipeline]\ntimout = 1s\ncommand = x\n", 4,
		"t.ini:3: unknown key \"comand\" in [job:build] (did you mean \"command\"?)",
		"t.ini:4: unknown key \"foo\" in [job:build]",
		"t.ini:6: unknown key \"timout\" in [pipeline] (did you mean \"timeout\"?)",
		"t.ini:7: unknown key \"command\" in [pipeline]");
}

Test(config, duplicate_key)
{
	bad_all("[job:x]\ncommand = a\ntimeout = 1s\ntimeout = 2s\n"
		"command = b\n[pipeline]\njobs = 1\n[pipeline]\njobs = 2\n", 3,
		"t.ini:4: duplicate key \"timeout\" in [job:x] (first at line 3)",
		"t.ini:5: duplicate key \"command\" in [job:x] (first at line 2)",
		"t.ini:9: duplicate key \"jobs\" in [pipeline] (first at line 7)");
}

Test(config, bad_durations)
{
	bad_all("[job:x]\ncommand = a\ntimeout = 5x\ngrace = -1s\n"
		"retry_delay = 1e3\n[pipeline]\ntimeout = 101y\ngrace =\n", 5,
		"t.ini:3: bad duration \"5x\" for timeout: unknown unit 'x'",
		"t.ini:4: bad duration \"-1s\" for grace: expected a number at '-1s'",
		"t.ini:5: bad duration \"1e3\" for retry_delay: unknown unit 'e'",
		"t.ini:7: bad duration \"101y\" for timeout: unknown unit 'y'",
		"t.ini:8: bad duration \"\" for grace: empty duration");
}

Test(config, unknown_signals)
{
	bad_all("[job:x]\ncommand = a\nstop_signal = FOO\n"
		"[pipeline]\nstop_signal = 0\n", 2,
		"t.ini:3: unknown signal \"FOO\" for stop_signal",
		"t.ini:5: unknown signal \"0\" for stop_signal");
}

Test(config, bad_booleans)
{
	bad_all("[pipeline]\nfail_fast = maybe\n[job:x]\ncommand = a\n"
		"allow_failure = 2\n", 2,
		"t.ini:2: bad boolean \"maybe\" for fail_fast (use true or false)",
		"t.ini:5: bad boolean \"2\" for allow_failure (use true or false)");
}

Test(config, bad_numbers)
{
	bad_all("[pipeline]\njobs = x\n[job:x]\ncommand = a\nretries = -1\n"
		"[job:y]\ncommand = b\nretries = 1001\n[job:z]\ncommand = c\n"
		"retries = 1.5\n[pipeline]\n", 4,
		"t.ini:2: bad number \"x\" for jobs",
		"t.ini:5: bad number \"-1\" for retries",
		"t.ini:8: bad number \"1001\" for retries (limit is 1000)",
		"t.ini:11: bad number \"1.5\" for retries");
	bad_one("[pipeline]\njobs = 100001\n[job:x]\ncommand = a\n",
		"t.ini:2: bad number \"100001\" for jobs (limit is 100000)");
	bad_one("[pipeline]\njobs = 99999999999999999999999\n[job:x]\n"
		"command = a\n",
		"t.ini:2: bad number \"99999999999999999999999\" for jobs "
		"(limit is 100000)");
}

Test(config, empty_shell_and_directory)
{
	bad_all("[pipeline]\nshell =\n[job:x]\ncommand = a\n"
		"directory = ; none\n", 2, "t.ini:2: empty shell", "t.ini:5: empty directory");
}

Test(config, bad_env)
{
	bad_all("[job:x]\ncommand = a\nenv = NOVALUE\nenv = 1X=y\nenv = A-B=c\n"
		"env = =v\nenv =\n", 5,
		"t.ini:3: bad env \"NOVALUE\" (use NAME=VALUE)",
		"t.ini:4: bad env name \"1X\" (letters, digits and _, not first a digit)",
		"t.ini:5: bad env name \"A-B\" (letters, digits and _, not first a digit)",
		"t.ini:6: bad env name \"\" (letters, digits and _, not first a digit)",
		"t.ini:7: bad env \"\" (use NAME=VALUE)");
}

Test(config, needs_unknown_job)
{
	bad_all("[job:build]\ncommand = b\n[job:unit]\ncommand = u\n"
		"needs = biuld, nothing-like-it\n", 2,
		"t.ini:5: job \"unit\" needs unknown job \"biuld\" (did you mean \"build\"?)",
		"t.ini:5: job \"unit\" needs unknown job \"nothing-like-it\"");
}

Test(config, dependency_cycles)
{
	bad_one("[job:a]\ncommand = a\nneeds = b\n[job:b]\ncommand = b\n"
		"needs = c\n[job:c]\ncommand = c\nneeds = a\n",
		"t.ini:1: dependency cycle: a -> b -> c -> a");
	bad_one("[job:ok]\ncommand = o\n[job:a]\ncommand = a\nneeds = a\n",
		"t.ini:3: dependency cycle: a -> a");
	/* Two separate cycles, and a job that only depends on one. */
	bad_all("[job:x]\ncommand = x\nneeds = p\n"
		"[job:p]\ncommand = p\nneeds = q\n"
		"[job:q]\ncommand = q\nneeds = p\n"
		"[job:m]\ncommand = m\nneeds = n\n"
		"[job:n]\ncommand = n\nneeds = ok m\n"
		"[job:ok]\ncommand = o\n", 2,
		"t.ini:4: dependency cycle: p -> q -> p",
		"t.ini:10: dependency cycle: m -> n -> m");
}

Test(config, job_without_command)
{
	bad_all("[job:a]\ntimeout = 1s\n[job:b]\ncommand =\n[job:c]\n", 3,
		"t.ini:1: job \"a\" has no command",
		"t.ini:3: job \"b\" has no command",
		"t.ini:5: job \"c\" has no command");
}

Test(config, no_jobs)
{
	bad_one("", "t.ini:1: no jobs (add a [job:NAME] section)");
	bad_one("# only a comment\n\n[pipeline]\njobs = 2\n",
		"t.ini:1: no jobs (add a [job:NAME] section)");
}

Test(config, key_outside_any_section)
{
	bad_one("command = make\n[job:a]\ncommand = a\n",
		"t.ini:1: key \"command\" outside any section (add a [job:NAME] "
		"header above it)");
}

Test(config, syntax_errors_are_all_reported)
{
	bad_all("[job:a]\ncommand = a\nno equals sign\n= value\n"
		"[job:b\ncommand = b\n[job:c] junk\ncommand = c\n", 4,
		"t.ini:3: expected \"key = value\" or \"[section]\"",
		"t.ini:4: missing key before \"=\"",
		"t.ini:5: missing \"]\" in section header",
		"t.ini:7: unexpected text after [job:c]");
}

Test(config, nul_byte_names_its_line)
{
	static const char text[] = "[job:a]\ncommand = a\0b\n";
	struct config_errors errs;
	struct spec *s = config_parse_buffer("t.ini", text, sizeof(text) - 1,
					     &errs);

	cr_assert_null(s);
	cr_assert_eq(errs.n, 1);
	cr_assert_str_eq(errs.msgs[0], "t.ini:2: NUL byte");
	config_errors_release(&errs);
}

/* The first NUL is the one error: a file with one is no text at all. */
Test(config, nul_byte_is_the_only_error)
{
	static const char text[] = "[job:a]\ncomand = a\n\0\n[job:b\n";
	struct config_errors errs;

	cr_assert_null(config_parse_buffer("t.ini", text, sizeof(text) - 1,
					   &errs));
	cr_assert_eq(errs.n, 1, "first: %s", errs.msgs[0]);
	cr_assert_str_eq(errs.msgs[0], "t.ini:3: NUL byte");
	config_errors_release(&errs);
}

/* A line may hold 64 KiB, not one byte more; the line is named. */
Test(config, line_of_64_kib_at_most)
{
	size_t max = 64 * 1024, head = strlen("[job:a]\ncommand = ");
	char *text = xmalloc(max + 64);
	struct spec *s;

	memcpy(text, "[job:a]\ncommand = ", head);
	memset(text + head, 'x', max - strlen("command = "));
	strcpy(text + 8 + max, "\n");
	s = ok(text);
	cr_assert_eq(strlen(s->jobs[0].command), max - strlen("command = "));
	spec_free(s);
	strcpy(text + 8 + max, "y\n");
	bad_one(text, "t.ini:2: line longer than 64 KiB");
	free(text);
}

/* A file may hold 16 MiB, not one byte more; the line is named. */
Test(config, file_of_16_mib_at_most)
{
	size_t max = 16 * 1024 * 1024;
	static const char job[] = "[job:a]\ncommand = a\n";
	char *text = xmalloc(max + 2), want[64];
	struct config_errors errs;
	struct spec *s;
	int lines = 0;

	/* The job, then lines of "#" and a newline, 64 bytes each. */
	memcpy(text, job, sizeof(job) - 1);
	memset(text + sizeof(job) - 1, '#', max - (sizeof(job) - 1));
	for (size_t i = sizeof(job) - 1 + 63; i < max; i += 64) {
		text[i] = '\n';
	}
	text[max - 1] = '\n';
	s = config_parse_buffer("t.ini", text, max, &errs);
	cr_assert_not_null(s, "%s", errs.n ? errs.msgs[0] : "");
	spec_free(s);
	config_errors_release(&errs);
	/* One byte more starts a new line: that line broke the limit. */
	text[max] = '#';
	for (size_t i = 0; i < max; i++) {
		lines += text[i] == '\n';
	}
	snprintf(want, sizeof(want), "t.ini:%d: file larger than 16 MiB",
		 lines + 1);
	cr_assert_null(config_parse_buffer("t.ini", text, max + 1, &errs));
	cr_assert_eq(errs.n, 1);
	cr_assert_str_eq(errs.msgs[0], want);
	config_errors_release(&errs);
	free(text);
}

/* /dev/zero: one read, then the NUL ends it. */
Test(config, dev_zero_is_refused_at_once)
{
	struct config_errors errs;

	cr_assert_null(config_parse_file("/dev/zero", &errs));
	cr_assert_eq(errs.n, 1);
	cr_assert_str_eq(errs.msgs[0], "/dev/zero:1: NUL byte");
	config_errors_release(&errs);
}

/* An endless text on standard input: reading stops past 16 MiB. */
Test(config, endless_stdin_stops_at_the_limit)
{
	struct config_errors errs;
	int fds[2], saved = dup(STDIN_FILENO);
	pid_t writer;

	cr_assert_eq(pipe(fds), 0);
	writer = fork();
	cr_assert_geq(writer, 0);
	if (writer == 0) {
		static const char yes[] = "y\ny\ny\ny\ny\ny\ny\ny\n";

		close(fds[0]);
		signal(SIGPIPE, SIG_DFL);
		while (write(fds[1], yes, sizeof(yes) - 1) > 0) {
		}
		_exit(0);
	}
	close(fds[1]);
	cr_assert_eq(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
	close(fds[0]);
	cr_assert_null(config_parse_file("-", &errs));
	/* Our end closed, the writer dies of SIGPIPE. */
	dup2(saved, STDIN_FILENO);
	close(saved);
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
	cr_assert_eq(errs.n, 1);
	cr_assert_str_eq(errs.msgs[0], "-:8388609: file larger than 16 MiB");
	config_errors_release(&errs);
}

Test(config, single_value_keys_take_one_line)
{
	bad_one("[job:a]\ncommand = a\ntimeout = 1m\n  2m\n",
		"t.ini:4: \"timeout\" takes one line (only command, needs and env "
		"go on indented lines)");
}

Test(config, five_errors_at_once_sorted_by_line)
{
	/* The cycle is found last but belongs to line 1. */
	bad_all("[job:a]\ncommand = a\nneeds = b\n"
		"[job:b]\ncommand = b\nneeds = a\ntimeout = 5x\n"
		"[jobs:c]\n"
		"[job:d]\ncommand = d\ncomand = d\n"
		"[pipeline]\nfail_fast = maybe\n", 5,
		"t.ini:1: dependency cycle: a -> b -> a",
		"t.ini:7: bad duration \"5x\" for timeout: unknown unit 'x'",
		"t.ini:8: unknown section [jobs:c] (did you mean [job:c]?)",
		"t.ini:11: unknown key \"comand\" in [job:d] (did you mean \"command\"?)",
		"t.ini:13: bad boolean \"maybe\" for fail_fast (use true or false)");
}

/*
 * Files, standard input, suggestions, size.
 */

Test(config, missing_file)
{
	struct config_errors errs;
	struct spec *s = config_parse_file("/nonexistent/ci.ini", &errs);

	cr_assert_null(s);
	cr_assert_eq(errs.n, 1);
	cr_assert_str_eq(errs.msgs[0], "/nonexistent/ci.ini: cannot read: No "
				       "such file or directory");
	config_errors_release(&errs);
	cr_assert_eq(errs.n, 0);
	cr_assert_null(errs.msgs);
}

Test(config, directory_is_unreadable)
{
	struct config_errors errs;
	struct spec *s = config_parse_file("/", &errs);

	cr_assert_null(s);
	cr_assert_str_eq(errs.msgs[0], "/: cannot read: Is a directory");
	config_errors_release(&errs);
}

Test(config, file_errors_name_the_file)
{
	char path[] = "/tmp/ctxrun-config-XXXXXX";
	int fd = mkstemp(path);
	static const char text[] = "[job:a]\ncomand = x\n";
	struct config_errors errs;
	struct spec *s;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
	close(fd);
	s = config_parse_file(path, &errs);
	unlink(path);
	cr_assert_null(s);
	cr_assert_eq(errs.n, 2);
	cr_assert(!strncmp(errs.msgs[0], path, strlen(path)));
	cr_assert_str_eq(errs.msgs[0] + strlen(path),
			 ":1: job \"a\" has no command");
	config_errors_release(&errs);
}

Test(config, dash_reads_standard_input)
{
	static const char text[] = "[job:a]\ncommand = from stdin\n";
	struct config_errors errs;
	struct spec *s;
	int fds[2], saved = dup(STDIN_FILENO);

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(write(fds[1], text, sizeof(text) - 1), sizeof(text) - 1);
	close(fds[1]);
	cr_assert_eq(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
	close(fds[0]);
	s = config_parse_file("-", &errs);
	dup2(saved, STDIN_FILENO);
	close(saved);
	cr_assert_not_null(s);
	cr_assert_str_eq(s->file, "-");
	cr_assert_str_eq(s->jobs[0].command, "from stdin");
	spec_free(s);
	config_errors_release(&errs);
}

Test(config, suggest)
{
	static const char *const keys[] = { "command", "needs", "timeout" };
	static const char *const jobs[] = { "build", "unit", "lint" };
	static const char *const near[] = { "abcxyzghi" };
	static const char *const far[] = { "abwxyzghi" };
	static const char *const two[] = { "xy" };
	char *long_word = repeat('w', 300);
	const char *const long_cands[] = { long_word };

	cr_assert_str_eq(config_suggest("comand", keys, 3), "command");
	cr_assert_str_eq(config_suggest("Command", keys, 3), "command");
	cr_assert_str_eq(config_suggest("nedes", keys, 3), "needs");
	cr_assert_str_eq(config_suggest("timeout", keys, 3), "timeout");
	cr_assert_null(config_suggest("retries", keys, 3));
	cr_assert_null(config_suggest("", keys, 3));
	cr_assert_null(config_suggest("comand", keys, 0));
	/* A swapped pair is one slip. */
	cr_assert_str_eq(config_suggest("biuld", jobs, 3), "build");
	cr_assert_str_eq(config_suggest("lnit", jobs, 3), "unit");
	/* One edit for a short word, len/3 for a long one. */
	cr_assert_null(config_suggest("ab", two, 1));
	cr_assert_str_eq(config_suggest("abcdefghi", near, 1), "abcxyzghi");
	cr_assert_null(config_suggest("abcdefghi", far, 1));
	/* Not a typo any more. */
	cr_assert_null(config_suggest(long_word, long_cands, 1));
	free(long_word);
}

/* Build a file of N jobs, each needing the one before, of about 1 MB. */
static char *
chain_file(int n, size_t *len)
{
	size_t cap = (size_t)n * 160, used = 0;
	char *text = xmalloc(cap);

	for (int i = 0; i < n; i++) {
		used += (size_t)snprintf(text + used, cap - used,
					 "[job:step-%05d]\n"
					 "command = ./run-step --index %05d "
					 "--verbose --log /tmp/step.log ; "
					 "echo done\n"
					 "timeout = 5m\n", i, i);
		if (i) {
			used += (size_t)snprintf(text + used, cap - used,
						 "needs = step-%05d\n", i - 1);
		}
	}
	*len = used;
	return text;
}

Test(config, one_megabyte_chain_of_10000_jobs_parses_fast)
{
	struct config_errors errs;
	struct timespec t0, t1;
	size_t len;
	char *text = chain_file(10000, &len);
	struct spec *s;
	double secs;

	cr_assert_geq(len, 1000000, "only %zu bytes", len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = config_parse_buffer("big.ini", text, len, &errs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_log_info("%zu bytes, 10000 jobs parsed in %.3f s", len, secs);
	cr_assert_not_null(s, "%s", errs.n ? errs.msgs[0] : "");
	cr_assert_eq(s->n_jobs, 10000);
	cr_assert_eq(s->jobs[9999].needs[0], 9998);
	cr_assert_lt(secs, 1.0, "took %.3f s", secs);
	spec_free(s);
	free(text);
}

Test(config, cycle_through_10000_jobs_is_found)
{
	static const char want[] = "big.ini:1: dependency cycle: step-00000 "
				   "-> step-09999 -> step-09998 -> ";
	struct config_errors errs;
	size_t len, header = strlen("[job:step-00000]\n");
	char *text = chain_file(10000, &len), *loop;
	struct spec *s;

	/* The first job needs the last: one 10,000-job cycle. */
	loop = xasprintf("%.*sneeds = step-09999\n%s", (int)header, text,
			 text + header);
	s = config_parse_buffer("big.ini", loop, strlen(loop), &errs);
	cr_assert_null(s);
	cr_assert_eq(errs.n, 1, "%s", errs.msgs[0]);
	cr_assert(!strncmp(errs.msgs[0], want, strlen(want)), "%.100s",
		  errs.msgs[0]);
	cr_assert(strstr(errs.msgs[0], "step-00001 -> step-00000"));
	config_errors_release(&errs);
	free(loop);
	free(text);
}

Test(config, large_file_from_disk)
{
	char path[] = "/tmp/ctxrun-config-XXXXXX";
	int fd = mkstemp(path);
	struct config_errors errs;
	size_t len;
	char *text = chain_file(2000, &len);
	struct spec *s;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	s = config_parse_file(path, &errs);
	unlink(path);
	cr_assert_not_null(s, "%s", errs.n ? errs.msgs[0] : "");
	cr_assert_eq(s->n_jobs, 2000);
	cr_assert_str_eq(s->file, path);
	spec_free(s);
	free(text);
}

Test(config, thousands_of_typos_stay_fast)
{
	struct config_errors errs;
	struct timespec t0, t1;
	size_t len, used;
	char *text = chain_file(3000, &len), *big;
	struct spec *s;
	double secs;

	/* One job needing 3000 near-misses of 3000 names: no quadratic blowup. */
	big = xmalloc(len + 3000 * 16 + 64);
	memcpy(big, text, len);
	used = len + (size_t)sprintf(big + len, "[job:z]\ncommand = z\nneeds =");
	for (int i = 0; i < 3000; i++) {
		used += (size_t)sprintf(big + used, " step-%05dx", i);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = config_parse_buffer("t.ini", big, used, &errs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert_null(s);
	cr_assert_eq(errs.n, 3000);
	/* The first ones still get a suggestion, the budget stops the rest. */
	cr_assert(strstr(errs.msgs[0], "(did you mean \"step-00000\"?)"));
	cr_assert_null(strstr(errs.msgs[2999], "did you mean"));
	cr_log_info("3000 unknown needs checked in %.3f s", secs);
	cr_assert_lt(secs, 2.0, "took %.3f s", secs);
	config_errors_release(&errs);
	free(big);
	free(text);
}

/* The name index finds every job, also after spec_select() renumbers them. */
Test(config, spec_find_by_name_before_and_after_select)
{
	struct spec *s = spec_new("t");
	char name[32], *keep[2];

	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "j%d", i);
		spec_add_job(s, name);
		if (i > 0) {
			/* each needs the one before: j4000 keeps j0..j4000 */
			s->jobs[i].needs = xcalloc(1, sizeof(size_t));
			s->jobs[i].needs[0] = (size_t)i - 1;
			s->jobs[i].n_needs = 1;
		}
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "j%d", i);
		cr_assert_eq(spec_find(s, name), i);
	}
	cr_assert_eq(spec_find(s, "j5000"), -1);
	cr_assert_eq(spec_find(s, ""), -1);
	keep[0] = "j2";
	keep[1] = "j1";
	spec_select(s, keep, 2);
	cr_assert_eq(s->n_jobs, 3);
	cr_assert_eq(spec_find(s, "j0"), 0);
	cr_assert_eq(spec_find(s, "j2"), 2);
	cr_assert_eq(spec_find(s, "j3"), -1);
	spec_free(s);
}

/* Parse a one-job file with COMMAND and return its direct argv (or NULL). */
static char **
direct_of(const char *pipeline_extra, const char *job_extra, const char *command)
{
	char text[512];
	struct spec *s;
	char **argv;

	snprintf(text, sizeof(text), "[pipeline]\n%s[job:a]\ncommand = %s\n%s",
		 pipeline_extra, command, job_extra);
	s = ok(text);
	argv = spec_direct_argv(s, &s->jobs[0]);
	spec_free(s);
	return argv;
}

/* Simple commands skip the shell; anything the shell would act on keeps it. */
Test(config, direct_argv_only_for_simple_commands)
{
	static const char *const shell_needed[] = {
		"echo hi; true", "echo $HOME", "echo 'a b'", "echo \"a\"",
		"ls *.c", "echo ~", "a && b", "a | b", "a > f", "(a)", "a &",
		"echo a\\ b", "A=1 env", "cd /tmp", "exit 3", "set -e", "pwd",
		"[ -e x ]", "! true", "echo `date`", "x # comment",
		/* dash's chdir and echo -e, bash's own built-ins */
		"chdir /", "echo -e x", "printf %s x", "kill -l", "pushd /tmp",
		"shopt -s x", "builtin cd", "umask 077", "wait", "trap",
	};
	static const char *const no_shell[] = { "true", "false", "test -e x" };
	char **argv = direct_of("", "", "  sleep   0.5 --x=y,z:1@h+%  ");

	cr_assert_not_null(argv);
	cr_assert_str_eq(argv[0], "sleep");
	cr_assert_str_eq(argv[1], "0.5");
	cr_assert_str_eq(argv[2], "--x=y,z:1@h+%");
	cr_assert_null(argv[3]);
	spec_argv_free(argv);
	for (size_t i = 0; i < sizeof(shell_needed) / sizeof(*shell_needed); i++) {
		argv = direct_of("", "", shell_needed[i]);
		cr_expect_null(argv, "'%s' skipped the shell", shell_needed[i]);
		spec_argv_free(argv);
	}
	/* Another shell, or a PATH of the job's own, keeps the shell too. */
	argv = direct_of("shell = /bin/bash\n", "", "true");
	cr_expect_null(argv);
	spec_argv_free(argv);
	argv = direct_of("", "env = PATH=/opt/bin\n", "true");
	cr_expect_null(argv);
	spec_argv_free(argv);
	argv = direct_of("", "env = A=1\n", "true");
	cr_expect_not_null(argv);
	spec_argv_free(argv);
	/* Their programs do what the built-ins do: no shell needed. */
	for (size_t i = 0; i < sizeof(no_shell) / sizeof(*no_shell); i++) {
		argv = direct_of("", "", no_shell[i]);
		cr_expect_not_null(argv, "'%s' kept the shell", no_shell[i]);
		spec_argv_free(argv);
	}
}

/*
 * Services and teardown jobs (ctxrun.ini(5), SERVICES).
 */

Test(config, service_keys_parse)
{
	struct spec *s = ok("[job:db]\ncommand = redis-server\nservice = true\n"
			    "ready = tcp:127.0.0.1:6390\nready_timeout = 5s\n"
			    "ready_interval = 100ms\n"
			    "[job:web]\ncommand = w\nservice = yes\n"
			    "ready = http://[::1]:8080/health?x=1\n"
			    "[job:log]\ncommand = l\nservice = true\n"
			    "ready = log:^listening on [0-9]+$\n"
			    "[job:n]\ncommand = n\nservice = true\n"
			    "ready = notify\n"
			    "[job:plain]\ncommand = p\nservice = true\n"
			    "[job:test]\ncommand = t\nneeds = db, web\n"
			    "[job:drop]\ncommand = d\nalways = true\n"
			    "needs = test\n"
			    "[job:upload]\ncommand = u\nalways = true\n"
			    "timeout = 0\n");
	struct spec_job *db = job(s, "db"), *web = job(s, "web");

	cr_assert_eq(db->role, SPEC_SERVICE);
	cr_assert_eq(db->ready.kind, PROBE_TCP);
	cr_assert_str_eq(db->ready.text, "tcp:127.0.0.1:6390");
	cr_assert_eq(db->ready_timeout_ms, 5000);
	cr_assert_eq(db->ready_interval_ms, 100);
	cr_assert_eq(web->ready.kind, PROBE_HTTP);
	cr_assert_str_eq(web->ready.arg, "/health?x=1");
	cr_assert_str_eq(web->ready.host, "[::1]:8080");
	cr_assert_eq(web->ready_timeout_ms, SPEC_DEFAULT_READY_TIMEOUT_MS);
	cr_assert_eq(web->ready_interval_ms, SPEC_DEFAULT_READY_INTERVAL_MS);
	cr_assert_eq(job(s, "log")->ready.kind, PROBE_LOG);
	cr_assert_str_eq(job(s, "log")->ready.arg, "^listening on [0-9]+$");
	cr_assert_eq(job(s, "n")->ready.kind, PROBE_NOTIFY);
	cr_assert_eq(job(s, "plain")->ready.kind, PROBE_NONE);
	cr_assert_eq(job(s, "test")->role, SPEC_TASK);
	cr_assert_eq(job(s, "drop")->role, SPEC_TEARDOWN);
	/* A teardown job has a timeout of its own, 60s unless given. */
	cr_assert_eq(job(s, "drop")->timeout_ms,
		     SPEC_DEFAULT_TEARDOWN_TIMEOUT_MS);
	cr_assert_eq(job(s, "upload")->timeout_ms, 0);
	cr_assert_eq(job(s, "test")->timeout_ms, 0);
	spec_free(s);
}

Test(config, service_keys_bad)
{
	bad_all("[job:a]\ncommand = a\nservice = true\nready = foo:1\n"
		"[job:b]\ncommand = b\nservice = true\nready = tcp:localhost\n"
		"[job:c]\ncommand = c\nservice = true\nready = tcp:db:5432\n"
		"[job:d]\ncommand = d\nservice = true\nready = tcp:1.2.3.4:99999\n"
		"[job:e]\ncommand = e\nservice = true\nready = log:a(\n"
		"[job:f]\ncommand = f\nready = notify\nready_timeout = 1s\n"
		"[job:g]\ncommand = g\nservice = true\nalways = true\n"
		"[job:h]\ncommand = h\nservice = true\nretries = 1\n"
		"[job:i]\ncommand = i\nservice = maybe\nready_interval = 0\n",
		12,
		"t.ini:4: unknown probe \"foo:1\" (use exec:CMD, tcp:HOST:PORT, "
		"http://HOST:PORT/PATH, log:REGEX or notify)",
		"t.ini:8: bad port in probe \"tcp:localhost\" (use HOST:PORT, "
		"the port 1 to 65535)",
		"t.ini:12: bad address in probe \"tcp:db:5432\" (use a numeric "
		"IPv4 or [IPv6] address or localhost: a name lookup would "
		"block)",
		"t.ini:16: bad port in probe \"tcp:1.2.3.4:99999\" (use "
		"HOST:PORT, the port 1 to 65535)",
		"t.ini:20: bad regex in probe \"log:a(\": Unmatched ( or \\(",
		"t.ini:23: ready on job \"f\", which is no service (add "
		"service = true)",
		"t.ini:24: ready_timeout on job \"f\", which is no service (add "
		"service = true)",
		"t.ini:28: job \"g\" cannot be both a service and always (a "
		"teardown job)",
		"t.ini:32: retries on service \"h\" (a service is not restarted)",
		"t.ini:35: bad boolean \"maybe\" for service (use true or false)",
		"t.ini:36: ready_interval must not be 0",
		"t.ini:36: ready_interval on job \"i\", which is no service (add "
		"service = true)");
}

Test(config, service_cycle_and_https)
{
	bad_all("[job:a]\ncommand = a\nservice = true\nneeds = b\n"
		"[job:b]\ncommand = b\nservice = true\nneeds = a\n"
		"[job:c]\ncommand = c\nservice = true\nready = https://x/\n"
		"[job:d]\ncommand = d\nservice = true\nready = exec:\n", 3,
		"t.ini:1: dependency cycle: a -> b -> a",
		"t.ini:12: https probes are not supported: \"https://x/\" (use "
		"exec:curl -fsS URL)",
		"t.ini:16: empty command in probe \"exec:\"");
}

Test(config, remote_keys)
{
	struct spec *s = ok("[pipeline]\nssh_command = ssh -F cfg\n"
			    "remote_ctxrun = /opt/bin/ctxrun\n"
			    "[job:far]\ncommand = a\nhost = me@box:2222\n"
			    "[job:near]\ncommand = b\n");

	cr_assert_str_eq(s->ssh_command, "ssh -F cfg");
	cr_assert_str_eq(s->remote_ctxrun, "/opt/bin/ctxrun");
	cr_assert_str_eq(job(s, "far")->host, "me@box:2222");
	cr_assert_null(job(s, "near")->host);
	spec_free(s);
}

Test(config, bad_remote_keys)
{
	bad_all("[job:x]\ncommand = a\nhost = -oProxyCommand=id\n"
		"[job:y]\ncommand = a\nhost = box:99999\n"
		"[pipeline]\nssh_command =\nhost = box\n", 4,
		"t.ini:3: bad host \"-oProxyCommand=id\" (expected "
		"[user@]name[:port])",
		"t.ini:6: bad port in host \"box:99999\" (1 to 65535)",
		"t.ini:8: bad ssh_command \"\" (one line, not empty)",
		"t.ini:9: unknown key \"host\" in [pipeline]");
	/* A service runs here, where its probe looks. */
	bad_all("[job:db]\ncommand = d\nservice = true\nhost = box\n", 1,
		"t.ini:4: host on service \"db\" (a service runs here, where "
		"its probe looks)");
}
