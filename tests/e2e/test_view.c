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
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
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

/* ---- the live region, on a real pty ---- */

/*
 * What a terminal shows, enough of one to follow the live region: lines
 * as the program wrote them (a line longer than the width wraps on
 * screen and is still one line here, as terminals that reflow keep it),
 * the cursor's line and offset in it; "\r", "\n" (the pty's ONLCR makes
 * it "\r\n"), CSI n A (up, counted in rows of the width), CSI J (clear
 * to the end of the screen) and SGR, which is ignored.
 */
struct term {
	char *line[4096];
	size_t n;      /* lines */
	size_t at;     /* the cursor's line */
	size_t off;    /* and offset in it */
	int width;
	char csi[32];  /* an escape sequence being read */
	size_t csi_len;
	bool esc;
};

/* Rows line I takes at T's width. */
static size_t
term_rows(const struct term *t, size_t i)
{
	size_t len = strlen(t->line[i]);

	return len ? (len + (size_t)t->width - 1) / (size_t)t->width : 1;
}

/* Put C at the cursor. */
static void
term_put(struct term *t, char c)
{
	char *l = t->line[t->at];
	size_t len = strlen(l);

	if (t->off >= len) {
		l = realloc(l, t->off + 2);
		cr_assert_not_null(l);
		memset(l + len, ' ', t->off - len);
		l[t->off + 1] = '\0';
	}
	l[t->off++] = c;
	t->line[t->at] = l;
}

/* Move the cursor N rows up, keeping its column. */
static void
term_up(struct term *t, size_t n)
{
	size_t w = (size_t)t->width, col = t->off % w;
	size_t row = t->off / w;

	while (n--) {
		if (row > 0) {
			row--;
		} else {
			cr_assert_gt(t->at, 0, "cursor up past the first line");
			t->at--;
			row = term_rows(t, t->at) - 1;
		}
	}
	t->off = row * w + col;
}

/* Move the cursor a row down (a line feed), keeping its column. */
static void
term_down(struct term *t)
{
	size_t w = (size_t)t->width;

	if (t->off / w + 1 < term_rows(t, t->at)) {
		t->off += w;
		return;
	}
	t->off %= w;
	if (++t->at == t->n) {
		cr_assert_lt(t->n, 4096);
		t->line[t->n++] = strdup("");
	}
}

/* Run the escape sequence read (CSI params and final byte). */
static void
term_csi(struct term *t)
{
	char final = t->csi[t->csi_len - 1];
	long n = atol(t->csi);

	if (final == 'A') {
		term_up(t, n > 0 ? (size_t)n : 1);
	} else if (final == 'J') {
		t->line[t->at][t->off < strlen(t->line[t->at]) ? t->off
							       : strlen(t->line[t->at])] = '\0';
		while (t->n > t->at + 1) {
			free(t->line[--t->n]);
		}
	} else {
		cr_assert_eq(final, 'm', "unexpected escape sequence '%s'", t->csi);
	}
}

/* Show the LEN bytes at P on T. */
static void
term_feed(struct term *t, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (t->esc) {
			if (c == '[' && !t->csi_len) {
				continue;
			}
			cr_assert_lt(t->csi_len, sizeof(t->csi) - 1);
			t->csi[t->csi_len++] = c;
			t->csi[t->csi_len] = '\0';
			if (c >= 0x40 && c <= 0x7e) {
				term_csi(t);
				t->esc = false;
			}
		} else if (c == '\033') {
			t->esc = true;
			t->csi_len = 0;
		} else if (c == '\r') {
			t->off -= t->off % (size_t)t->width;
		} else if (c == '\n') {
			term_down(t);
		} else {
			term_put(t, c);
		}
	}
}

/* A new terminal WIDTH columns wide. */
static void
term_init(struct term *t, int width)
{
	memset(t, 0, sizeof(*t));
	t->width = width;
	t->line[t->n++] = strdup("");
}

/* Does a line of T hold NEEDLE? Its index, or -1. */
static long
term_find(const struct term *t, const char *needle)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strstr(t->line[i], needle)) {
			return (long)i;
		}
	}
	return -1;
}

/* All of T, a line per line, for messages (a static buffer). */
static const char *
term_dump(const struct term *t)
{
	static char buf[1 << 16];
	size_t len = 0;

	for (size_t i = t->n > 200 ? t->n - 200 : 0; i < t->n; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s|%s\n",
					i == t->at ? ">" : " ", t->line[i]);
		if (len >= sizeof(buf)) {
			break;
		}
	}
	return buf;
}

/* ctxrun on a pty, and the terminal it writes to. */
struct tty_run {
	pid_t pid;
	int master;
	int status;
	struct term term;
	char raw[1 << 18]; /* every byte it wrote, NUL-ended */
	size_t raw_len;
};

/*
 * Start ctxrun with ARGV on a new pty of COLS columns and 20 rows, as a
 * terminal session would (CI unset, TERM=xterm), with ENV ("NAME=VALUE",
 * NULL-ended; NULL for none) set in it.
 */
static void
tty_start(struct tty_run *r, int cols, const char *const *env,
	  const char *const *argv)
{
	struct winsize ws = { .ws_row = 20, .ws_col = (unsigned short)cols };

	memset(r, 0, sizeof(*r));
	term_init(&r->term, cols);
	r->pid = forkpty(&r->master, NULL, NULL, &ws);
	cr_assert_geq(r->pid, 0, "forkpty: %s", strerror(errno));
	if (r->pid == 0) {
		unsetenv("CI");
		setenv("TERM", "xterm", 1);
		for (size_t i = 0; env && env[i]; i++) {
			putenv((char *)env[i]);
		}
		execv(h_ctxrun, (char *const *)argv);
		_exit(127);
	}
	fcntl(r->master, F_SETFL, O_NONBLOCK);
}

/* Read what ctxrun wrote for up to MS ms; false once the pty is closed. */
static bool
tty_pump(struct tty_run *r, int ms)
{
	struct pollfd pfd = { .fd = r->master, .events = POLLIN };
	char buf[4096];
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0) {
		return true;
	}
	while ((n = read(r->master, buf, sizeof(buf))) > 0) {
		term_feed(&r->term, buf, (size_t)n);
		cr_assert_lt(r->raw_len + (size_t)n, sizeof(r->raw));
		memcpy(r->raw + r->raw_len, buf, (size_t)n);
		r->raw_len += (size_t)n;
		r->raw[r->raw_len] = '\0';
	}
	return !(n == 0 || (n < 0 && errno == EIO));
}

/* Pump until a line holds NEEDLE (within MS ms); its index. */
static size_t
tty_wait(struct tty_run *r, const char *needle, int ms)
{
	double end = h_now() + ms / 1000.;
	long i;

	while ((i = term_find(&r->term, needle)) < 0) {
		cr_assert_lt(h_now(), end, "no '%s' on the terminal:\n%s",
			     needle, term_dump(&r->term));
		cr_assert(tty_pump(r, 50), "pty closed before '%s':\n%s",
			  needle, term_dump(&r->term));
	}
	return (size_t)i;
}

/* Pump until ctxrun has exited and closed the pty (within 20 s). */
static void
tty_finish(struct tty_run *r)
{
	double end = h_now() + 20;

	while (tty_pump(r, 50)) {
		cr_assert_lt(h_now(), end, "ctxrun on the pty did not end:\n%s",
			     term_dump(&r->term));
	}
	cr_assert_eq(waitpid(r->pid, &r->status, 0), r->pid);
	close(r->master);
	h_no_survivors();
}

/*
 * At the end the region is gone: no counts line is left, the cursor is
 * at the start of an empty last line, and the summary is there.
 */
static void
expect_clean_end(const struct tty_run *r)
{
	const struct term *t = &r->term;

	cr_assert_lt(term_find(t, " running \xc2\xb7 "), 0,
		     "the region is left:\n%s", term_dump(t));
	cr_assert_eq(t->at, t->n - 1, "%s", term_dump(t));
	cr_assert_str_eq(t->line[t->at], "", "%s", term_dump(t));
	cr_assert_geq(term_find(t, "ctxrun: JOB"), 0, "%s", term_dump(t));
}

/*
 * Check that the lines of job NAME (prefix "NAME | ") on T are exactly
 * "TAG i ..." for i from 0 to N - 1 as `th lines` prints them, in order.
 */
static void
expect_job_lines(const struct term *t, const char *name, const char *tag,
		 int n)
{
	char want[256];
	int next = 0;

	for (size_t i = 0; i < t->n; i++) {
		const char *l = t->line[i];

		if (strncmp(l, name, strlen(name)) != 0 ||
		    strncmp(l + strlen(name), " | ", 3) != 0 ||
		    strncmp(l + strlen(name) + 3, tag, strlen(tag)) != 0) {
			continue;
		}
		snprintf(want, sizeof(want),
			 "%s | %s %d -0123456789abcdefghijklmnopqrstuvwxyz"
			 "0123456789ABCDEFGHIJKLM",
			 name, tag, next);
		cr_assert_str_eq(l, want, "line %zu of:\n%s", i, term_dump(t));
		next++;
	}
	cr_assert_eq(next, n, "%d lines of %s:\n%s", next, name, term_dump(t));
}

/* Each job prints, then waits for $D/go. */
#define WAIT_GO "while [ ! -e $D/go ]; do $TH sleep 20; done"

/*
 * A 3-job pipeline on a terminal: the region shows a line per running
 * job and the counts; every job line arrives whole and in order around
 * it; at the end it is gone, and only the lines and the summary stay.
 */
Test(view, live_region_on_a_pty)
{
	struct tty_run *r = calloc(1, sizeof(*r));
	size_t counts;

	cr_assert_not_null(r);
	tty_start(r, 100, (const char *const[]){ "NO_COLOR=1", NULL },
		  (const char *const[]){
			  h_ctxrun, "-t", "20s", "-n", "aa,b,c",
			  "-c", "$TH lines 300 x; " WAIT_GO "; $TH lines 50 y",
			  "-c", "$TH lines 200 x; echo 'b last words'; " WAIT_GO,
			  "-c", WAIT_GO "; $TH lines 10 z", NULL });
	counts = tty_wait(r, "3 running \xc2\xb7 0 done \xc2\xb7 0 failed "
			     "\xc2\xb7 0 queued \xc2\xb7 0:0",
			  10000);
	/* The region: a line per running job, then the counts, last. */
	tty_wait(r, "  b last words", 10000);
	counts = (size_t)term_find(&r->term, " running \xc2\xb7 ");
	cr_assert_eq(counts, r->term.n - 1, "%s", term_dump(&r->term));
	cr_assert(!strncmp(r->term.line[counts - 3], "aa | 0:0", 8) &&
			  !strncmp(r->term.line[counts - 2], "b  | 0:0", 8) &&
			  strstr(r->term.line[counts - 2], "  b last words") &&
			  !strncmp(r->term.line[counts - 1], "c  | 0:0", 8),
		  "%s", term_dump(&r->term));
	fx_write("go", "");
	tty_finish(r);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
		  "status %#x:\n%s", r->status, term_dump(&r->term));
	expect_clean_end(r);
	expect_job_lines(&r->term, "aa", "x", 300);
	expect_job_lines(&r->term, "aa", "y", 50);
	expect_job_lines(&r->term, "b ", "x", 200);
	expect_job_lines(&r->term, "c ", "z", 10);
	free(r);
}

/* The region's line of job NAME (its prefix "NAME | 0:"), or NULL. */
static const char *
region_line(const struct term *t, const char *prefix)
{
	for (size_t i = t->n; i-- > 0;) {
		if (!strncmp(t->line[i], prefix, strlen(prefix))) {
			return t->line[i];
		}
	}
	return NULL;
}

/* Pump until the region's line starting PREFIX is LEN columns (10 s). */
static void
tty_wait_region_len(struct tty_run *r, const char *prefix, size_t len)
{
	double end = h_now() + 10;
	const char *l;

	while (!(l = region_line(&r->term, prefix)) || strlen(l) != len ||
	       term_find(&r->term, " running \xc2\xb7 ") !=
		       (long)r->term.n - 1) {
		cr_assert_lt(h_now(), end, "no region line of %zu columns:\n%s",
			     len, term_dump(&r->term));
		cr_assert(tty_pump(r, 50), "%s", term_dump(&r->term));
	}
}

/*
 * A job's last line longer than the terminal is cut one column short of
 * the width; when the terminal narrows, SIGWINCH redraws the region at
 * the new width, and what scrolled stays whole.
 */
Test(view, live_region_follows_the_width)
{
	struct tty_run *r = calloc(1, sizeof(*r));
	struct winsize ws = { .ws_row = 20, .ws_col = 60 };
	char want[400];

	cr_assert_not_null(r);
	tty_start(r, 100, (const char *const[]){ "NO_COLOR=1", NULL },
		  (const char *const[]){
			  h_ctxrun, "-t", "20s", "-n", "long,b",
			  "-c", "printf 'w%0299d\\n' 0; " WAIT_GO,
			  "-c", WAIT_GO, NULL });
	tty_wait_region_len(r, "long | 0:0", 99);
	cr_assert_eq(ioctl(r->master, TIOCSWINSZ, &ws), 0);
	r->term.width = 60;
	tty_wait_region_len(r, "long | 0:0", 59);
	fx_write("go", "");
	tty_finish(r);
	expect_clean_end(r);
	snprintf(want, sizeof(want), "long | w%0299d", 0);
	cr_assert_geq(term_find(&r->term, want), 0, "%s", term_dump(&r->term));
	free(r);
}

/*
 * Ctrl-C on the terminal: the jobs are stopped, the region goes, and
 * ctxrun dies of SIGINT leaving a clean screen (the "^C" the terminal
 * echoed is erased with the region).
 */
Test(view, live_region_ctrl_c_leaves_a_clean_screen)
{
	struct tty_run *r = calloc(1, sizeof(*r));

	cr_assert_not_null(r);
	tty_start(r, 100, (const char *const[]){ "NO_COLOR=1", NULL },
		  (const char *const[]){
			  h_ctxrun, "-t", "20s", "-n", "a,b,c",
			  "-c", "echo started; " WAIT_GO,
			  "-c", WAIT_GO, "-c", WAIT_GO, NULL });
	tty_wait(r, "a | 0:00  started", 10000);
	cr_assert_eq(write(r->master, "\003", 1), 1);
	tty_finish(r);
	cr_assert(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGINT,
		  "status %#x:\n%s", r->status, term_dump(&r->term));
	expect_clean_end(r);
	cr_assert_lt(term_find(&r->term, "^C"), 0, "%s", term_dump(&r->term));
	cr_assert_geq(term_find(&r->term, "ctxrun: a: SIGTERM (interrupted"),
		      0, "%s", term_dump(&r->term));
	free(r);
}

/* Does S hold an SGR sequence (colour, bold)? */
static bool
has_sgr(const char *s)
{
	while ((s = strstr(s, "\033["))) {
		s += 2;
		s += strspn(s, "0123456789;");
		if (*s == 'm') {
			return true;
		}
	}
	return false;
}

/*
 * Colour follows --color and NO_COLOR: the region's counts are bold with
 * colour, and no escape but the cursor's is written without.
 */
Test(view, live_region_colour)
{
	struct tty_run *r = calloc(1, sizeof(*r));
	const char *const argv[] = { h_ctxrun, "-n", "a", "-c",
				     "echo x; " WAIT_GO, NULL };

	cr_assert_not_null(r);
	tty_start(r, 100, NULL, argv);
	tty_wait(r, "a | 0:00  x", 10000);
	fx_write("go", "");
	tty_finish(r);
	cr_assert_not_null(strstr(r->raw, "\033[1m1 running"), "%s", r->raw);
	cr_assert_not_null(strstr(r->raw, "\033[36ma |\033[0m \033[2m0:00"),
			   "%s", r->raw);
	unlink(fx_path("go"));
	tty_start(r, 100, (const char *const[]){ "NO_COLOR=1", NULL }, argv);
	tty_wait(r, "a | 0:00  x", 10000);
	fx_write("go", "");
	tty_finish(r);
	cr_assert(!has_sgr(r->raw), "%s", r->raw);
	free(r);
}

/* Run ARGV on a pty with ENV; true if the region was drawn. */
static bool
region_drawn(const char *const *env, const char *const *argv)
{
	struct tty_run *r = calloc(1, sizeof(*r));
	bool drawn;

	cr_assert_not_null(r);
	tty_start(r, 100, env, argv);
	tty_finish(r);
	drawn = strstr(r->raw, " running \xc2\xb7 ") != NULL;
	free(r);
	return drawn;
}

/*
 * auto draws the region on a terminal only: not with CI set, TERM=dumb,
 * -q, one command, raw output or --progress plain; --progress tty wins
 * over CI.
 */
Test(view, live_region_when)
{
	const char *const group[] = { h_ctxrun, "-n", "a", "-c", "$TH sleep 50",
				      NULL };

	cr_assert(region_drawn(NULL, group));
	cr_assert(!region_drawn((const char *const[]){ "CI=true", NULL }, group));
	cr_assert(!region_drawn((const char *const[]){ "TERM=dumb", NULL }, group));
	cr_assert(region_drawn((const char *const[]){ "CI=true", NULL },
			       (const char *const[]){ h_ctxrun, "--progress",
						      "tty", "-n", "a", "-c",
						      "$TH sleep 50", NULL }));
	cr_assert(!region_drawn(NULL, (const char *const[]){
		h_ctxrun, "--progress", "plain", "-c", "$TH sleep 50", NULL }));
	cr_assert(!region_drawn(NULL, (const char *const[]){
		h_ctxrun, "-q", "-c", "$TH sleep 50", NULL }));
	cr_assert(!region_drawn(NULL, (const char *const[]){
		h_ctxrun, "-o", "raw", "-c", "$TH sleep 50", NULL }));
	cr_assert(!region_drawn(NULL, (const char *const[]){
		h_ctxrun, "-o", "prefixed", "--", h_th, "sleep", "50", NULL }));
}

/*
 * Plain mode in CI (CI=true) on a terminal: the lines and the summary,
 * the failure last, and no region, byte for byte.
 */
Test(view, golden_plain_in_ci)
{
	struct tty_run *r = calloc(1, sizeof(*r));
	char *text;

	cr_assert_not_null(r);
	tty_start(r, 100, (const char *const[]){ "CI=true", "NO_COLOR=1", NULL },
		  (const char *const[]){
			  h_ctxrun, "-j", "1", "-n", "ok,bad,later",
			  "-c", "$TH lines 3 ok", "-c", "$TH lines 25 bad; exit 2",
			  "-c", "echo never", NULL });
	tty_finish(r);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2);
	text = strdup(r->raw);
	cr_assert_not_null(text);
	/* The pty's ONLCR: back to the newlines ctxrun wrote. */
	for (char *s = text, *d = text;; s++) {
		if (!(*s == '\r' && s[1] == '\n') && !(*d++ = *s)) {
			break;
		}
	}
	expect_golden("plain-ci", "terminal", text);
	free(text);
	free(r);
}

/*
 * More jobs running than the terminal's 20 rows leave room for: the
 * region keeps to 16 of them and says how many more run.
 */
Test(view, live_region_fits_the_height)
{
	struct tty_run *r = calloc(1, sizeof(*r));
	const char *argv[64] = { h_ctxrun, "-t", "20s" };
	size_t n = 3, counts;

	cr_assert_not_null(r);
	for (int i = 0; i < 25; i++) {
		argv[n++] = "-c";
		argv[n++] = WAIT_GO;
	}
	tty_start(r, 100, (const char *const[]){ "NO_COLOR=1", NULL }, argv);
	counts = tty_wait(r, "25 running \xc2\xb7 ", 10000);
	cr_assert_eq(counts, r->term.n - 1, "%s", term_dump(&r->term));
	cr_assert_str_eq(r->term.line[counts - 1], "  \xe2\x80\xa6 9 more running",
			 "%s", term_dump(&r->term));
	cr_assert_eq(strncmp(r->term.line[counts - 17], "while ", 6), 0, "%s",
		     term_dump(&r->term));
	fx_write("go", "");
	tty_finish(r);
	expect_clean_end(r);
	free(r);
}

/* A --progress that is none of auto, tty and plain is a usage error. */
Test(view, progress_bad_value)
{
	struct h_proc p;

	h_run(&p, NULL, "--progress", "fancy", "-c", "touch $D/ran");
	expect_exit(&p, 125);
	expect_err_has(&p, "invalid --progress 'fancy': expected auto, tty or plain");
	cr_assert(!fx_exists("ran"));
	h_done(&p);
}
