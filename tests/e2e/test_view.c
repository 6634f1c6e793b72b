/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of what a run shows on a terminal and leaves for CI
 * (ctxrun(1), OUTPUT): --timestamps, --log-dir files, the failed jobs'
 * last lines after the summary, and the live status region, the last on
 * a real pty (forkpty) read as a terminal would show it.
 */
#include "expect.h"
#include "fixture.h"
#include "golden.h"
#include "harness.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(view, .init = fx_init, .fini = fx_fini, .timeout = 60);

/* ---- --timestamps ---- */

/*
 * Does every line of S match the extended regular expression RE? The
 * first that does not is in *BAD.
 */
static bool
every_line_matches(const char *s, const char *re, char *bad, size_t size)
{
	regex_t rx;
	char line[4096];
	bool ok = true;

	cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	while (*s && ok) {
		size_t n = strcspn(s, "\n");

		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		if (regexec(&rx, line, 0, NULL, 0) != 0) {
			snprintf(bad, size, "%s", line);
			ok = false;
		}
		s += n + (s[n] == '\n');
	}
	regfree(&rx);
	return ok;
}

/* The seconds of the stamp on the line holding NEEDLE in S. */
static double
stamp_of(const char *s, const char *needle)
{
	const char *at = strstr(s, needle);

	cr_assert_not_null(at, "no '%s' in <%s>", needle, s);
	while (at > s && at[-1] != '\n') {
		at--;
	}
	cr_assert_eq(*at, '[', "no stamp before '%s' in <%s>", needle, s);
	return strtod(at + 1, NULL);
}

/*
 * Prefixed, every job line (stdout and stderr) starts with the run's
 * elapsed time, then the prefix; a line printed after a pause carries a
 * later time. ctxrun's own lines have none.
 */
Test(view, timestamps_prefixed)
{
	struct h_proc p;
	char bad[4096];

	h_run(&p, NULL, "--timestamps", "-n", "unit,b",
	      "-c", "$TH print first err1; $TH sleep 300; $TH print second err2",
	      "-c", "printf 'no newline'");
	expect_exit(&p, 0);
	cr_assert(every_line_matches(p.out.data,
				     "^\\[[0-9]+\\.[0-9]{3}s\\] (unit|b   ) \\| ",
				     bad, sizeof(bad)),
		  "stdout line <%s>", bad);
	cr_assert(every_line_matches(p.err.data,
				     "^(\\[[0-9]+\\.[0-9]{3}s\\] unit \\| err|ctxrun: )",
				     bad, sizeof(bad)),
		  "stderr line <%s>", bad);
	expect_out_has(&p, "s] b    | no newline\n");
	cr_assert_geq(stamp_of(p.out.data, "| second") -
			      stamp_of(p.out.data, "| first"),
		      0.25, "<%s>", p.out.data);
	h_done(&p);
}

/* Grouped, each line of the block carries the time it was read. */
Test(view, timestamps_grouped)
{
	struct h_proc p;
	char bad[4096];

	h_run(&p, NULL, "--timestamps", "-o", "grouped", "-n", "unit",
	      "-c", "echo first; $TH sleep 300; printf 'second\\nthird'");
	expect_exit(&p, 0);
	cr_assert(every_line_matches(p.out.data,
				     "^\\[[0-9]+\\.[0-9]{3}s\\] (first|second|third)$",
				     bad, sizeof(bad)),
		  "stdout line <%s>", bad);
	cr_assert_eq(h_lines(p.out.data), 3, "<%s>", p.out.data);
	cr_assert_geq(stamp_of(p.out.data, "second") -
			      stamp_of(p.out.data, "first"),
		      0.25, "<%s>", p.out.data);
	h_done(&p);
}

/* Without the option, no line has a stamp. */
Test(view, no_timestamps_by_default)
{
	struct h_proc p;

	h_run(&p, NULL, "-n", "unit", "-c", "echo first");
	expect_exit(&p, 0);
	expect_out(&p, "unit | first\n");
	h_done(&p);
}

/* ---- --log-dir ---- */

/* The lines of S that start with PREFIX, without it, as a new string. */
static char *
unprefixed(const char *s, const char *prefix)
{
	size_t plen = strlen(prefix);
	char *out = calloc(1, strlen(s) + 1), *d = out;

	cr_assert_not_null(out);
	while (*s) {
		size_t n = strcspn(s, "\n") + 1;

		if (!strncmp(s, prefix, plen)) {
			memcpy(d, s + plen, n - plen);
			d += n - plen;
		}
		s += n;
		if (s[-1] == '\0') {
			break;
		}
	}
	*d = '\0';
	return out;
}

/* The mode bits of the file NAME in the test's directory. */
static mode_t
mode_of(const char *name)
{
	struct stat st;

	cr_assert_eq(stat(fx_path(name), &st), 0, "%s: %s", name,
		     strerror(errno));
	return st.st_mode & 07777;
}

static char logbuf[1 << 20];

/*
 * Each attempt writes all it printed, stdout and stderr, unprefixed, to
 * NAME.log (NAME.N.log for attempt N), mode 0644 under the umask; the
 * events name the file.
 */
Test(view, log_dir_files)
{
	struct h_proc p;
	char want[256];

	umask(022);
	fx_run_ini(&p, (const char *const[]){ "--log-dir", fx_path("logs"),
					      "--events", fx_path("ev"), NULL },
		   "[job:unit]\n"
		   "command = echo out; echo err >&2; "
		   "test -e $D/again || { touch $D/again; exit 3; }\n"
		   "retries = 1\n"
		   "[job:lint]\n"
		   "command = $TH lines 1000 x; printf 'no newline'\n");
	expect_exit(&p, 0);
	/* The file has the bytes as they came: no newline is added. */
	fx_read("logs/lint.log", logbuf, sizeof(logbuf));
	cr_assert_eq(strlen(logbuf), strlen(unprefixed(p.out.data, "lint | ")) - 1);
	cr_assert_eq(strncmp(logbuf, unprefixed(p.out.data, "lint | "),
			     strlen(logbuf)), 0);
	cr_assert(strstr(logbuf, "\nno newline") + 11 == logbuf + strlen(logbuf));
	cr_assert_eq(mode_of("logs/lint.log"), 0644);
	for (int i = 0; i < 2; i++) {
		const char *log = i ? "logs/unit.2.log" : "logs/unit.log";

		fx_read(log, logbuf, sizeof(logbuf));
		cr_assert(!strcmp(logbuf, "out\nerr\n") ||
				  !strcmp(logbuf, "err\nout\n"),
			  "%s: <%s>", log, logbuf);
	}
	snprintf(want, sizeof(want), "\"attempt\":2,\"log\":\"%s\"",
		 fx_path("logs/unit.2.log"));
	cr_assert_not_null(strstr(fx_read("ev", logbuf, sizeof(logbuf)), want),
			   "events: <%s>", logbuf);
	h_done(&p);
}

/* The umask is honoured: 077 leaves the files 0600. */
Test(view, log_dir_umask)
{
	struct h_proc p;

	umask(077);
	h_run(&p, NULL, "--log-dir", fx_path("logs"), "-n", "unit", "-c",
	      "echo out");
	expect_exit(&p, 0);
	cr_assert_eq(mode_of("logs/unit.log"), 0600);
	h_done(&p);
}

/*
 * Start job "unit" running CMD (which prints "ready" once it has printed
 * a lot) with ARG (an option) in front, interrupt ctxrun by SIGINT once
 * it is ready, and check that the job's log holds every line it printed,
 * the ones after the stop signal too: what its prefixed lines were,
 * unprefixed. Returns the log.
 */
static const char *
log_whole_after_stop(const char *arg, const char *cmd)
{
	struct h_proc p;

	h_start(&p, NULL, "--log-dir", fx_path("logs"), arg, "-n", "unit",
		"-c", cmd);
	cr_assert_not_null(h_wait_out(&p, "unit | ready\n", 10000));
	h_kill(&p, SIGINT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	fx_read("logs/unit.log", logbuf, sizeof(logbuf));
	cr_assert_str_eq(logbuf, unprefixed(p.out.data, "unit | "));
	h_done(&p);
	return logbuf;
}

/* Stopped by SIGINT while it prints, a job leaves its log whole. */
Test(view, log_dir_complete_after_sigint)
{
	const char *log = log_whole_after_stop(
		"-v", "exec 2>/dev/null; trap '$TH lines 500 y; exit 0' TERM; "
		      "$TH lines 2000 x; echo ready; "
		      "while :; do $TH sleep 20; done");

	cr_assert_not_null(strstr(log, "y 499"), "<%s>", log);
}

/* A job that ignores the stop signal and is SIGKILLed leaves it whole too. */
Test(view, log_dir_complete_after_sigkill)
{
	const char *log = log_whole_after_stop(
		"-g300ms", "exec 2>/dev/null; trap 'echo got TERM' TERM; "
			   "$TH lines 2000 x; echo ready; "
			   "while :; do echo tick; $TH sleep 20; done");

	cr_assert_not_null(strstr(log, "got TERM\ntick\n"), "<%s>", log);
}

/*
 * A symbolic link planted at a log file's name is never followed: the
 * job does not start (ctxrun's failure, 125), and its target is left
 * alone. A FIFO there is refused too, without waiting for a reader
 * (the open fails with ENXIO; with a reader, fstat() refuses it).
 */
Test(view, log_dir_refuses_planted_files)
{
	struct h_proc p;
	char buf[64];

	cr_assert_eq(mkdir(fx_path("logs"), 0755), 0);
	fx_write("target", "precious\n");
	cr_assert_eq(symlink(fx_path("target"), fx_path("logs/unit.log")), 0);
	cr_assert_eq(mkfifo(fx_path("logs/lint.log"), 0644), 0);
	h_run(&p, NULL, "--log-dir", fx_path("logs"), "-k", "-n", "unit,lint",
	      "-c", "echo out", "-c", "echo out");
	expect_exit(&p, 125);
	expect_err_has(&p, "unit: cannot create log file");
	expect_err_has(&p, "lint: cannot create log file");
	expect_out_lacks(&p, "out");
	cr_assert_str_eq(fx_read("target", buf, sizeof(buf)), "precious\n");
	h_done(&p);
}

/*
 * A log directory that cannot be made is ctxrun's own failure before
 * anything runs; raw output cannot be logged (a usage error); the
 * file's log_dir is used, and --log-dir wins over it.
 */
Test(view, log_dir_errors_and_the_file_key)
{
	struct h_proc p;
	char buf[64];

	fx_write("file", "");
	h_run(&p, NULL, "--log-dir", fx_path("file/logs"), "-n", "unit",
	      "-c", "touch $D/ran");
	expect_exit(&p, 125);
	expect_err_has(&p, "cannot create log directory");
	cr_assert(!fx_exists("ran"));
	h_done(&p);
	h_run(&p, NULL, "--log-dir", fx_path("logs"), "--", "true");
	expect_exit(&p, 125);
	expect_err_has(&p, "--log-dir needs");
	h_done(&p);
	fx_run_ini(&p, NULL, "[pipeline]\nlog_dir = $D/nope\n"
			     "[job:unit]\ncommand = echo out\n");
	h_done(&p);
	cr_assert_str_eq(fx_read("logs/unit.log", buf, sizeof(buf)), "");
	cr_assert_eq(chdir(fx_dir), 0);
	fx_run_ini(&p, NULL, "[pipeline]\nlog_dir = flogs\n"
			     "[job:unit]\ncommand = echo out\n");
	expect_exit(&p, 0);
	cr_assert_str_eq(fx_read("flogs/unit.log", buf, sizeof(buf)),
			 "out\n");
	h_done(&p);
	fx_run_ini(&p, (const char *const[]){ "--log-dir", "clogs", NULL },
		   "[pipeline]\nlog_dir = flogs2\n"
		   "[job:unit]\ncommand = echo out\n");
	expect_exit(&p, 0);
	cr_assert(fx_exists("clogs/unit.log") && !fx_exists("flogs2"));
	h_done(&p);
}

/* ---- the failure, last ---- */

/*
 * A pipeline with a failed job (30 lines on stdout), one that timed out
 * and one allowed to fail: after the summary, the last 20 lines of the
 * first two, each under its header; nothing of the allowed one.
 */
#define FAILURE_INI                                                          \
	"[pipeline]\nfail_fast = false\njobs = 1\n"                          \
	"[job:bad<&\"']\ncommand = $TH lines 30 x; exit 2\n"                 \
	"[job:slow]\ntimeout = 200ms\n"                                      \
	"command = echo before; exec $TH sleep 10000\n"                      \
	"[job:allowed]\nallow_failure = true\ncommand = echo mine; exit 1\n" \
	"[job:fine]\ncommand = echo fine\n"

Test(view, golden_failure_replay)
{
	struct h_proc p;

	fx_run_ini(&p, NULL, FAILURE_INI);
	expect_exit(&p, 2);
	expect_golden("failure", "stdout", p.out.data);
	expect_golden("failure", "stderr", p.err.data);
	h_done(&p);
}

/* --failure-lines N keeps N lines; 0 and -q none. */
Test(view, failure_lines_option)
{
	struct h_proc p;

	fx_run_ini(&p, (const char *const[]){ "--failure-lines", "3", NULL },
		   FAILURE_INI);
	expect_err_has(&p, "\xe2\x94\x80\xe2\x94\x80 bad<&\"' (exit 2) "
			   "\xe2\x94\x80\xe2\x94\x80\n"
			   "x 27 ");
	expect_err_lacks(&p, "\nx 26 ");
	h_done(&p);
	fx_run_ini(&p, (const char *const[]){ "--failure-lines", "0", NULL },
		   FAILURE_INI);
	expect_err_lacks(&p, "(exit 2) \xe2\x94\x80");
	h_done(&p);
	fx_run_ini(&p, (const char *const[]){ "-q", NULL }, FAILURE_INI);
	expect_err_lacks(&p, "(exit 2) \xe2\x94\x80");
	h_done(&p);
	h_run(&p, NULL, "--failure-lines", "-1", "-c", "true");
	expect_exit(&p, 125);
	h_done(&p);
}

/*
 * Only the last attempt's lines are repeated; a run that succeeds
 * repeats nothing. The file's failure_lines is taken.
 */
Test(view, failure_lines_of_the_last_attempt)
{
	struct h_proc p;

	fx_run_ini(&p, NULL, "[pipeline]\nfailure_lines = 1\n"
			     "[job:unit]\nretries = 1\n"
			     "command = if test -e $D/once; then echo second; "
			     "else touch $D/once; echo first; fi; exit 3\n");
	expect_exit(&p, 3);
	expect_err_has(&p, "(exit 3) \xe2\x94\x80\xe2\x94\x80\nsecond\n");
	expect_err_lacks(&p, "\nfirst\n");
	h_done(&p);
	h_run(&p, NULL, "-n", "unit", "-c", "echo fine");
	expect_exit(&p, 0);
	expect_err_lacks(&p, "\xe2\x94\x80");
	h_done(&p);
}
