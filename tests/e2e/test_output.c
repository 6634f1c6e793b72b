/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of what ctxrun writes: the output modes (prefixed,
 * grouped, raw), colour, the -q summary, and backpressure from a slow or
 * stuck reader of ctxrun's stdout. Golden files live in tests/golden/;
 * CTXRUN_GOLDEN_UPDATE=1 rewrites them from what ctxrun prints now (review
 * the diff). Durations are normalised before comparing.
 *
 * Jobs reach the helper binary through TH in the environment. The stuck
 * reader tests spawn ctxrun themselves with a pipe on its stdout that the
 * test reads only when it chooses to.
 */
#include "expect.h"
#include "fixture.h"
#include "golden.h"
#include "harness.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void out_teardown(void);

TestSuite(output, .init = fx_init, .fini = out_teardown, .timeout = 60);

/* A ctxrun started by the test itself (not through the harness), or 0. */
static pid_t own_pid;

/* Kill the test's own ctxrun (by pid) if a failed test left it, then the rest. */
static void
out_teardown(void)
{
	if (own_pid > 0) {
		kill(own_pid, SIGKILL);
		waitpid(own_pid, NULL, 0);
		own_pid = 0;
	}
	fx_fini();
}

/*
 * The small failing pipeline of the golden tests, one job at a time so
 * the order is fixed: "ok" succeeds, "bad<&\"'" prints (with "]]>" and a
 * last line without newline) and fails, "later" is then skipped.
 */
#define GOLDEN_PIPELINE                                                      \
	"-j", "1", "-n", "ok,bad<&\"',later",                                \
	"-c", "$TH print 'ok out' 'ok err'",                                 \
	"-c", "$TH print 'bad ]]> out' 'bad err'; printf 'no newline'; exit 2", \
	"-c", "$TH print never never"

/*
 * Run the golden pipeline with ARGS in front and compare with CASE. The
 * failed job's last lines are left out: they come in the order its two
 * pipes were read, which nothing fixes (test_view.c has them).
 */
#define golden_case(gcase, ...)                                              \
	do {                                                                 \
		struct h_proc p;                                             \
                                                                             \
		h_run(&p, NULL, "--failure-lines", "0", __VA_ARGS__,         \
		      GOLDEN_PIPELINE);                                      \
		expect_exit(&p, 2);                                          \
		expect_golden(gcase, "stdout", p.out.data);                  \
		expect_golden(gcase, "stderr", p.err.data);                  \
		h_done(&p);                                                  \
	} while (0)

Test(output, golden_prefixed)
{
	golden_case("prefixed", "-o", "prefixed");
}

Test(output, golden_grouped)
{
	golden_case("grouped", "-o", "grouped");
}

Test(output, golden_grouped_github_actions)
{
	cr_assert_eq(setenv("GITHUB_ACTIONS", "true", 1), 0);
	golden_case("grouped-github", "-o", "grouped");
}

Test(output, golden_quiet_summary)
{
	golden_case("quiet", "-q");
}

Test(output, golden_colour_always)
{
	golden_case("colour", "--color", "always");
}

/* Prefixed is the default of the group modes, raw of one command. */
Test(output, defaults_and_bad_mode)
{
	struct h_proc p;

	h_run(&p, NULL, "-n", "a", "-c", "echo x");
	expect_out(&p, "a | x\n");
	h_release(&p);
	h_run(&p, NULL, "--", h_th, "print", "x", "y");
	expect_out(&p, "x\n");
	expect_err(&p, "y\n");
	h_release(&p);
	h_run(&p, NULL, "-o", "folded", "-c", "echo x");
	expect_exit(&p, 125);
	expect_err(&p, "ctxrun: invalid --output 'folded': expected prefixed, "
		       "grouped or raw\nTry 'ctxrun --help' for more information.\n");
	expect_out(&p, "");
	h_release(&p);
	h_run(&p, NULL, "--color", "sometimes", "-c", "echo x");
	expect_exit(&p, 125);
	expect_err_has(&p, "invalid --color 'sometimes'");
	h_release(&p);
}

/* One command can be prefixed or grouped too: it is then piped. */
Test(output, one_command_prefixed_and_grouped)
{
	struct h_proc p;
	char want[256];

	h_run(&p, NULL, "-o", "prefixed", "--", h_th, "print", "x", "y");
	expect_exit(&p, 0);
	snprintf(want, sizeof(want), "%s | x\n", h_th_name);
	expect_out(&p, want);
	snprintf(want, sizeof(want), "%s | y\n", h_th_name);
	expect_err(&p, want);
	h_release(&p);
	h_run(&p, NULL, "-o", "grouped", "--", h_th, "print", "x", "y");
	expect_exit(&p, 0);
	expect_out(&p, "x\n");
	expect_err(&p, "y\n");
	h_done(&p);
}

/* Parse the three inode numbers th stdio-ino printed at S. */
static void
parse_inos(const char *s, unsigned long long ino[3])
{
	cr_assert_eq(sscanf(s, "%llu %llu %llu", &ino[0], &ino[1], &ino[2]), 3,
		     "no inodes in <%s>", s);
}

/* raw: a job's stdout and stderr are ctxrun's own, no pipe between. */
Test(output, raw_jobs_get_ctxruns_fds)
{
	struct h_proc p;
	struct stat out, err;
	unsigned long long ino[3];

	h_start(&p, NULL, "-o", "raw", "-c", "$TH stdio-ino");
	cr_assert_eq(fstat(p.out_fd, &out), 0);
	cr_assert_eq(fstat(p.err_fd, &err), 0);
	h_finish(&p, 20000);
	expect_exit(&p, 0);
	parse_inos(p.out.data, ino);
	cr_assert_eq(ino[1], (unsigned long long)out.st_ino,
		     "job stdout %llu, ctxrun's %llu", ino[1],
		     (unsigned long long)out.st_ino);
	cr_assert_eq(ino[2], (unsigned long long)err.st_ino);
	h_release(&p);

	/* prefixed: the job writes to a pipe of ctxrun's instead. */
	h_start(&p, NULL, "-o", "prefixed", "-c", "$TH stdio-ino");
	cr_assert_eq(fstat(p.out_fd, &out), 0);
	h_finish(&p, 20000);
	parse_inos(strstr(p.out.data, "| ") + 2, ino);
	cr_assert_neq(ino[1], (unsigned long long)out.st_ino);
	h_done(&p);
}

/* Count escape characters in S. */
static int
escapes(const char *s)
{
	int n = 0;

	while ((s = strchr(s, '\033'))) {
		n++;
		s++;
	}
	return n;
}

/* Run two jobs with ARGS and return the escapes seen on stdout and stderr. */
static void
colour_run(int *out, int *err, const char *a1, const char *a2)
{
	struct h_proc p;

	h_run(&p, NULL, a1, a2, "-n", "a,b", "-c", "echo x; exit 1",
	      "-c", "echo y >&2");
	*out = escapes(p.out.data);
	*err = escapes(p.err.data);
	h_release(&p);
}

Test(output, colour_settings)
{
	int out, err;

	colour_run(&out, &err, "--color", "always");
	cr_assert(out > 0 && err > 0, "always: %d %d escapes", out, err);
	/* Into a pipe, auto means none. */
	colour_run(&out, &err, "--color", "auto");
	cr_assert(out == 0 && err == 0, "auto: %d %d escapes", out, err);
	cr_assert_eq(setenv("CLICOLOR_FORCE", "1", 1), 0);
	colour_run(&out, &err, "--color", "auto");
	cr_assert(out > 0 && err > 0, "CLICOLOR_FORCE: %d %d escapes", out, err);
	colour_run(&out, &err, "--color", "never");
	cr_assert(out == 0 && err == 0, "never: %d %d escapes", out, err);
	/* NO_COLOR comes before CLICOLOR_FORCE. */
	cr_assert_eq(setenv("NO_COLOR", "1", 1), 0);
	colour_run(&out, &err, "--color", "auto");
	cr_assert(out == 0 && err == 0, "NO_COLOR: %d %d escapes", out, err);
	colour_run(&out, &err, "--color", "always");
	cr_assert(out > 0 && err > 0, "always over NO_COLOR: %d %d", out, err);
	unsetenv("NO_COLOR");
	cr_assert_eq(setenv("CLICOLOR_FORCE", "0", 1), 0);
	colour_run(&out, &err, "--color", "auto");
	cr_assert(out == 0 && err == 0, "CLICOLOR_FORCE=0: %d %d", out, err);
}

/* Run ctxrun with ARGV on a new pty; return all it showed there. */
static char *
pty_capture(const char *const *argv)
{
	static char seen[65536];
	size_t len = 0;
	int master, status;
	double end = h_now() + 20;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	cr_assert_geq(pid, 0, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		execv(h_ctxrun, (char *const *)argv);
		_exit(127);
	}
	own_pid = pid;
	for (;;) {
		struct pollfd pfd = { .fd = master, .events = POLLIN };
		ssize_t n;

		cr_assert_lt(h_now(), end, "ctxrun on the pty did not end: <%s>",
			     seen);
		if (poll(&pfd, 1, 100) <= 0) {
			continue;
		}
		n = read(master, seen + len, sizeof(seen) - len - 1);
		if (n <= 0) {
			break; /* EIO: the slave side is closed */
		}
		len += (size_t)n;
	}
	seen[len] = '\0';
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	own_pid = 0;
	close(master);
	return seen;
}

/* On a terminal, auto colours the prefixes and the summary; NO_COLOR not. */
Test(output, terminal_gets_colour_in_auto_mode)
{
	/* The live region's cursor moves are test_view.c's. */
	const char *argv[] = { h_ctxrun, "--progress", "plain", "-n", "a,b",
			       "-c", "echo x; exit 3", "-c", "echo y", NULL };
	char *seen = pty_capture(argv);

	cr_assert_not_null(strstr(seen, "\033[36ma |\033[0m x"), "pty: <%s>",
			   seen);
	cr_assert_not_null(strstr(seen, "\033[31mfailed"), "pty: <%s>", seen);
	cr_assert_eq(setenv("NO_COLOR", "1", 1), 0);
	seen = pty_capture(argv);
	cr_assert_eq(escapes(seen), 0, "NO_COLOR on a pty: <%s>", seen);
	cr_assert_not_null(strstr(seen, "a | x"), "pty: <%s>", seen);
	h_no_survivors();
}

/*
 * Check that every line of S is "NAME | TAG i tail" (or "TAG i tail",
 * without PREFIXED), with in-order i.
 */
static void
check_lines(const char *s, int per_tag, bool prefixed)
{
	long next[2] = { 0, 0 };
	const char *tail = "-0123456789abcdefghijklmnopqrstuvwxyz0123456789"
			   "ABCDEFGHIJKLM";

	while (*s) {
		const char *nl = strchr(s, '\n');
		char tag, head[32];
		long i;
		int used = 0;

		cr_assert_not_null(nl, "last line torn: <%.200s>", s);
		/* sscanf(3) measures all its input: give it the line's head. */
		snprintf(head, sizeof(head), "%.*s", (int)(nl - s), s);
		cr_assert(sscanf(head,
				 prefixed ? "%c | %*c %ld %n" : "%c %ld %n",
				 &tag, &i, &used) == 2 &&
				  used > 0,
			  "bad line <%.*s>", (int)(nl - s), s);
		cr_assert(tag == 'a' || tag == 'b', "bad line <%.*s>", (int)(nl - s),
			  s);
		cr_assert_eq(s[prefixed ? 4 : 0], tag, "job %c printed <%.*s>",
			     tag, (int)(nl - s), s);
		cr_assert_eq(i, next[tag - 'a'], "job %c: line %ld after %ld", tag,
			     i, next[tag - 'a'] - 1);
		cr_assert(nl - (s + used) == (long)strlen(tail) &&
				  !strncmp(s + used, tail, strlen(tail)),
			  "torn line <%.*s>", (int)(nl - s), s);
		next[tag - 'a']++;
		s = nl + 1;
	}
	cr_assert_eq(next[0], per_tag);
	cr_assert_eq(next[1], per_tag);
}

/* Two jobs print 100,000 lines each at once: every line whole, in order. */
Test(output, two_floods_of_lines_stay_whole)
{
	struct h_proc p;

	h_start(&p, NULL, "-q", "-n", "a,b", "-c", "$TH lines 100000 a",
		"-c", "$TH lines 100000 b");
	h_finish(&p, 50000);
	expect_exit(&p, 0);
	check_lines(p.out.data, 100000, true);
	h_done(&p);
}

/* All that `th mixed SEED N` prints, in *LEN bytes. */
static char *
th_mixed_output(const char *seed, const char *n, size_t *len)
{
	char cmd[4096], *buf = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' mixed %s %s", h_th, seed, n);
	f = popen(cmd, "r");
	cr_assert_not_null(f, "popen: %s", strerror(errno));
	*len = 0;
	for (;;) {
		if (cap - *len < 65536) {
			cap = 2 * cap + 65536;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		size_t got = fread(buf + *len, 1, cap - *len, f);

		if (got == 0) {
			break;
		}
		*len += got;
	}
	cr_assert_eq(pclose(f), 0);
	return buf;
}

/*
 * What prefixed output makes of RAW: each line, and each piece of a line
 * of the longest length (65,536 bytes), after PREFIX and newline-ended.
 */
static char *
prefixed(const char *raw, size_t len, const char *prefix, size_t *out_len)
{
	size_t plen = strlen(prefix), cap = 2 * len + 65536, n = 0;
	char *out = malloc(cap);

	cr_assert_not_null(out);
	while (len) {
		const char *nl = memchr(raw, '\n', len);
		size_t take = nl ? (size_t)(nl - raw) : len, skip = nl ? take + 1 : take;

		if (take > 65536) {
			take = skip = 65536;
		}
		if (n + plen + take + 1 > cap) {
			cap = 2 * (n + plen + take + 1);
			out = realloc(out, cap);
			cr_assert_not_null(out);
		}
		memcpy(out + n, prefix, plen);
		memcpy(out + n + plen, raw, take);
		n += plen + take;
		out[n++] = '\n';
		raw += skip;
		len -= skip;
	}
	*out_len = n;
	return out;
}

/*
 * Lines of every length, cut anywhere by the job's writes, come out whole
 * and unchanged after their prefix: short, long (longer than the 128 bytes
 * copied in line) and coloured prefixes.
 */
Test(output, prefixed_lines_of_every_length_stay_whole)
{
	char long_name[151];
	size_t raw_len;
	char *raw = th_mixed_output("7", "20000", &raw_len);

	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	cr_assert_gt(raw_len, 1 << 20, "th mixed printed %zu bytes", raw_len);
	for (int v = 0; v < 3; v++) {
		const char *name = v == 1 ? long_name : "m";
		char prefix[256];
		size_t want_len, at = 0;
		struct h_proc p;
		char *want;

		snprintf(prefix, sizeof(prefix), v == 2 ? "\033[36m%s |\033[0m " : "%s | ",
			 name);
		h_start(&p, NULL, "-q", "--color", v == 2 ? "always" : "never", "-n",
			name, "-c", "$TH mixed 7 20000");
		h_finish(&p, 30000);
		expect_exit(&p, 0);
		want = prefixed(raw, raw_len, prefix, &want_len);
		while (at < want_len && at < p.out.len && want[at] == p.out.data[at]) {
			at++;
		}
		cr_assert(at == want_len && p.out.len == want_len,
			  "prefix <%s>: %zu bytes, want %zu; first difference at %zu: <%.60s> for <%.60s>",
			  prefix, p.out.len, want_len, at, p.out.data + at,
			  at < want_len ? want + at : "");
		free(want);
		h_release(&p);
	}
	free(raw);
	h_no_survivors();
}

/*
 * A job that fills its pipe gets one four times as large, so that it and
 * ctxrun wait for each other a quarter as often (output.c); one that
 * prints a line keeps the default, which costs the kernel less.
 */
Test(output, a_flooding_job_gets_a_larger_pipe)
{
	struct h_proc p;

	h_run(&p, NULL, "-q", "-n", "big,small", "-c",
	      "$TH pipe-size 65536 10000", "-c", "$TH pipe-size 10 0");
	expect_exit(&p, 0);
	cr_assert_not_null(strstr(p.out.data, "\nbig   | pipe 262144\n"),
			   "%.300s", p.out.data);
	cr_assert_not_null(strstr(p.out.data, "small | pipe 65536\n"), "%.300s",
			   p.out.data);
	h_release(&p);
	h_no_survivors();
}

/*
 * A line of exactly 64 KiB is one line, even when ctxrun has read all of
 * it before its newline comes (the pause makes that likely); one byte
 * more and it is two.
 */
Test(output, line_of_the_longest_length_is_one_line)
{
	for (int extra = 0; extra < 2; extra++) {
		char cmd[200], *want;
		size_t want_len = 0, n = 65536 + (size_t)extra;
		struct h_proc p;

		snprintf(cmd, sizeof(cmd),
			 "head -c %zu /dev/zero | tr '\\0' a; sleep 0.2; printf '\\nnext\\n'",
			 n);
		h_run(&p, NULL, "-q", "-n", "m", "-c", cmd);
		expect_exit(&p, 0);
		want = malloc(n + 32);
		cr_assert_not_null(want);
		want_len += (size_t)sprintf(want, "m | ");
		memset(want + want_len, 'a', 65536);
		want_len += 65536;
		want_len += (size_t)sprintf(want + want_len, "%s\nm | next\n",
					    extra ? "\nm | a" : "");
		cr_assert(p.out.len == want_len && !memcmp(p.out.data, want, want_len),
			  "%zu-byte line: got %zu bytes, ending <%s>", n, p.out.len,
			  p.out.data + (p.out.len > 40 ? p.out.len - 40 : 0));
		free(want);
		h_release(&p);
	}
	h_no_survivors();
}

/*
 * Spawn ctxrun with ARGV, its stdout on a pipe (*OUT) and stderr on *ERR;
 * with ERR NULL, stderr on the stdout pipe too.
 */
static pid_t
spawn_own(const char *const *argv, int *out, int *err)
{
	int o[2], e[2] = { -1, -1 };
	pid_t pid;

	cr_assert_eq(pipe2(o, O_CLOEXEC), 0);
	cr_assert(!err || pipe2(e, O_CLOEXEC) == 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* CHILD: async-signal-safe calls only from here to exec. */
		setpgid(0, 0);
		dup2(o[1], 1);
		dup2(err ? e[1] : o[1], 2);
		execv(h_ctxrun, (char *const *)argv);
		_exit(127);
	}
	own_pid = pid;
	close(o[1]);
	*out = o[0];
	if (err) {
		close(e[1]);
		*err = e[0];
	}
	return pid;
}

/*
 * Read FD to its end, pausing PAUSE_US after each read of at most CHUNK
 * bytes; count the lines and check that each one is "NAME | y".
 */
static long
read_slowly(int fd, size_t chunk, int pause_us)
{
	static char buf[65536];
	char line[64];
	size_t ll = 0;
	long lines = 0;
	ssize_t n;

	while ((n = read(fd, buf, chunk)) != 0) {
		if (n < 0 && errno == EINTR) {
			continue;
		}
		cr_assert_gt(n, 0, "read: %s", strerror(errno));
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				cr_assert_lt(ll, sizeof(line) - 1, "overlong line");
				line[ll++] = buf[i];
				continue;
			}
			line[ll] = '\0';
			cr_assert(!strcmp(line, "a | y") || !strcmp(line, "b | y"),
				  "bad line <%s>", line);
			lines++;
			ll = 0;
		}
		if (pause_us) {
			usleep((useconds_t)pause_us);
		}
	}
	cr_assert_eq(ll, 0, "torn last line");
	return lines;
}

/* Run two floods of BYTES each; read slowly if SLOW. Peak RSS in KiB. */
static long
flood_rss(long bytes, bool slow)
{
	char a[64], b[64];
	const char *argv[] = { h_ctxrun, "-q", "-n", "a,b", "-c", a, "-c", b,
			       NULL };
	struct rusage ru;
	int out, err, status;
	pid_t pid;
	long lines;

	snprintf(a, sizeof(a), "$TH flood %ld", bytes);
	snprintf(b, sizeof(b), "$TH flood %ld", bytes);
	pid = spawn_own(argv, &out, &err);
	if (slow) {
		/* Not a sync: the reader is stuck for a while, by design. */
		usleep(300000);
	}
	lines = read_slowly(out, slow ? 16384 : sizeof(a), slow ? 100 : 0);
	cr_assert_eq(lines, bytes, "%ld lines of %ld", lines, bytes);
	cr_assert_eq(wait4(pid, &status, 0, &ru), pid);
	own_pid = 0;
	close(out);
	close(err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x",
		  status);
	return ru.ru_maxrss;
}

/*
 * A reader stuck, then slow, while two jobs flood: ctxrun does not hold
 * what they print (its peak RSS stays near that of a tiny run) and every
 * line arrives whole in the end.
 */
Test(output, slow_reader_bounds_memory)
{
	long base = flood_rss(1000, false);
	long slow = flood_rss(4L << 20, true);

	cr_assert_lt(slow - base, 8 * 1024,
		     "peak RSS %ld KiB with a slow reader, %ld KiB for a tiny "
		     "run", slow, base);
	h_no_survivors();
}

/* Read FD until EOF (bounded by the test timeout) into a string. */
static char *
slurp(int fd)
{
	static char buf[16384];
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf + len, sizeof(buf) - len - 1)) > 0) {
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/*
 * Nobody ever reads ctxrun's stdout: its deadline still fires on time,
 * the jobs are stopped and ctxrun exits 124, dropping what it could not
 * write (and saying so).
 */
Test(output, stuck_reader_does_not_stall_the_deadline)
{
	const char *argv[] = { h_ctxrun, "-t", "1", "-n", "a,b",
			       "-c", "$TH flood 100000000", "-c",
			       "$TH flood 100000000", NULL };
	int out, err, status;
	double t0 = h_now(), took;
	pid_t pid = spawn_own(argv, &out, &err);
	char *text = slurp(err);

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	took = h_now() - t0;
	own_pid = 0;
	close(out);
	close(err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 124,
		  "status %#x; stderr <%s>", status, text);
	/* 1 s deadline, 1 s to drain, slack for a loaded machine. */
	expect_secs(took, 0.9, 6.0);
	cr_assert_not_null(strstr(text, "bytes of output dropped"), "stderr <%s>",
			   text);
	h_no_survivors();
}

/*
 * Nobody reads ctxrun's stdout nor its stderr (one pipe, held open): the
 * deadline fires, the drain window passes, and ctxrun exits 124 even
 * though its note on the dropped bytes cannot be written either.
 */
Test(output, stuck_reader_of_both_does_not_stall_the_exit)
{
	const char *argv[] = { h_ctxrun, "-t", "1", "-n", "a", "-c",
			       "$TH flood 100000000", NULL };
	int out, status = 0;
	double t0 = h_now(), took;
	pid_t pid = spawn_own(argv, &out, NULL), got = 0;

	/* 1 s deadline, 1 s to drain, slack for a loaded machine. */
	while (got == 0 && h_now() - t0 < 10.0) {
		got = waitpid(pid, &status, WNOHANG);
		usleep(20000);
	}
	took = h_now() - t0;
	cr_assert_eq(got, pid, "ctxrun still running after %.1f s", took);
	own_pid = 0;
	close(out);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 124,
		  "status %#x", status);
	expect_secs(took, 0.9, 6.0);
	h_no_survivors();
}

/* Ctrl-C while ctxrun's stdout is stuck: it still stops at once. */
Test(output, stuck_reader_does_not_stall_sigint)
{
	const char *argv[] = { h_ctxrun, "-n", "a", "-c", "$TH flood 100000000",
			       NULL };
	int out, err, status;
	pid_t pid = spawn_own(argv, &out, &err);
	struct pollfd pfd = { .fd = out, .events = POLLIN };
	double t0;

	/* Output has come; then the reader stays stuck (by design, no sync). */
	cr_assert_eq(poll(&pfd, 1, 10000), 1, "no output from the job");
	usleep(300000);
	t0 = h_now();
	cr_assert_eq(kill(pid, SIGINT), 0);
	slurp(err);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	own_pid = 0;
	close(out);
	close(err);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT,
		  "status %#x", status);
	expect_secs(h_now() - t0, 0.0, 5.0);
	h_no_survivors();
}

/* A grouped block past the memory limit spills to a file, and is whole. */
Test(output, grouped_block_spills_and_stays_whole)
{
	struct h_proc p;

	/* With no temporary directory, the block comes out in pieces. */
	for (int run = 0; run < 2; run++) {
		if (run == 1) {
			cr_assert_eq(setenv("TMPDIR", "/nonexistent/ctxrun", 1), 0);
		}
		/* 3 MiB of "y\n", past the 1 MiB held in memory. */
		h_start(&p, NULL, "-q", "-o", "grouped", "-n", "a",
			"-c", "echo start; $TH flood 3145728; echo end");
		h_finish(&p, 30000);
		expect_exit(&p, 0);
		cr_assert_eq(p.out.len, 3145728 + strlen("start\nend\n"));
		cr_assert_eq(strncmp(p.out.data, "start\ny\n", 8), 0, "<%.40s>",
			     p.out.data);
		cr_assert_eq(strcmp(p.out.data + p.out.len - 6, "y\nend\n"), 0);
		for (size_t i = 6; i < p.out.len - 4; i += 2) {
			cr_assert(p.out.data[i] == 'y' && p.out.data[i + 1] == '\n',
				  "byte %zu of the block is torn", i);
		}
		h_done(&p);
	}
}

/* Assert that the LEN bytes at GOT are the WANT_LEN bytes at WANT. */
static void
expect_bytes(const char *got, size_t len, const char *want, size_t want_len)
{
	size_t i = 0;

	while (i < len && i < want_len && got[i] == want[i]) {
		i++;
	}
	cr_assert(i == len && len == want_len,
		  "got %zu bytes, want %zu; first difference at byte %zu: "
		  "<%.40s> want <%.40s>", len, want_len, i,
		  got + (i < len ? i : len),
		  want + (i < want_len ? i : want_len));
}

/* How many times NEEDLE occurs in S. */
static int
count(const char *s, const char *needle)
{
	int n = 0;

	for (; (s = strstr(s, needle)); s += strlen(needle)) {
		n++;
	}
	return n;
}

/*
 * With no usable TMPDIR, blocks past 1 MiB come in pieces, cut after a
 * newline: two jobs of 4 MiB each, every line whole, in order, nothing
 * added; why is said once.
 */
Test(output, grouped_without_tmpdir_keeps_lines_whole)
{
	struct h_proc p;

	cr_assert_eq(setenv("TMPDIR", "/nonexistent/ctxrun", 1), 0);
	h_start(&p, NULL, "-o", "grouped", "-n", "a,b",
		"-c", "$TH lines 60000 a", "-c", "$TH lines 60000 b");
	h_finish(&p, 50000);
	expect_exit(&p, 0);
	check_lines(p.out.data, 60000, false);
	cr_assert_eq(count(p.err.data, "ctxrun: cannot spill grouped output to "
				       "TMPDIR '/nonexistent/ctxrun': No such "
				       "file or directory; blocks over 1 MiB "
				       "are written in pieces\n"),
		     1, "stderr: <%s>", p.err.data);
	h_done(&p);
}

/*
 * The same, byte for byte, with lines longer than a pipe's worth and a
 * last line without newline (which the block's end completes).
 */
Test(output, grouped_without_tmpdir_is_byte_exact)
{
	size_t raw_len;
	char *raw = th_mixed_output("11", "20000", &raw_len);
	struct h_proc p;

	cr_assert_gt(raw_len, 3 << 20, "th mixed printed %zu bytes", raw_len);
	cr_assert_eq(setenv("TMPDIR", "/nonexistent/ctxrun", 1), 0);
	h_start(&p, NULL, "-q", "-o", "grouped", "-n", "m",
		"-c", "$TH mixed 11 20000");
	h_finish(&p, 50000);
	expect_exit(&p, 0);
	raw[raw_len++] = '\n';
	expect_bytes(p.out.data, p.out.len, raw, raw_len);
	free(raw);
	h_done(&p);
}

/*
 * Run the mixed output of `th mixed 11 20000` grouped, ctxrun started by
 * the shell command SH (which ends in exec "$0" "$@"), and expect it byte
 * for byte, exit 0 and one line on stderr saying why it came in pieces,
 * naming the error WHY.
 */
static void
grouped_spill_fails(const char *sh, const char *why)
{
	size_t raw_len;
	char *raw = th_mixed_output("11", "20000", &raw_len), want[256];
	struct h_proc p;

	h_start_argv(&p, NULL, (const char *const[]){
		"/bin/sh", "-c", sh, h_ctxrun, "-o", "grouped", "-n", "m",
		"-c", "$TH mixed 11 20000", NULL });
	h_finish(&p, 50000);
	expect_exit(&p, 0);
	raw[raw_len++] = '\n';
	expect_bytes(p.out.data, p.out.len, raw, raw_len);
	snprintf(want, sizeof(want), "ctxrun: cannot spill grouped output to "
		 "TMPDIR '%s': %s; blocks over 1 MiB are written in pieces\n",
		 getenv("TMPDIR"), why);
	cr_assert_eq(count(p.err.data, want), 1, "stderr: <%s>, want <%s>",
		     p.err.data, want);
	free(raw);
	h_done(&p);
}

/*
 * A spill file that meets a file size limit (as on a full disk): the
 * output still arrives whole, and ctxrun neither dies of SIGXFSZ nor
 * drops a byte.
 */
Test(output, grouped_spill_past_the_file_size_limit_is_byte_exact)
{
	cr_assert_eq(setenv("TMPDIR", "/tmp", 1), 0);
	/* 128 blocks: 64 KiB (dash) or 128 KiB (bash), under 1 MiB. */
	grouped_spill_fails("ulimit -f 128 && exec \"$0\" \"$@\"",
			    "File too large");
}

/* The same on a really full disk: a tmpfs of 256 KiB, when root may mount. */
Test(output, grouped_spill_on_a_full_disk_is_byte_exact)
{
	const char *dir = fx_path("full");
	const char *mnt = "mount -t tmpfs -o size=256k ctxrun-full \"$TMPDIR\"";
	char sh[256];
	struct h_proc p;

	cr_assert_eq(mkdir(dir, 0700), 0, "mkdir %s: %s", dir, strerror(errno));
	cr_assert_eq(setenv("TMPDIR", dir, 1), 0);
	/* The mount lives in a mount namespace of ctxrun's own. */
	h_start_argv(&p, NULL, (const char *const[]){
		"/bin/sh", "-c", "exec unshare -m /bin/sh -c \"$0\"", mnt,
		NULL });
	h_finish(&p, 10000);
	if (h_code(&p) != 0) {
		cr_skip_test("cannot mount a tmpfs in a new mount namespace "
			     "(needs root and unshare(1)): %s", p.err.data);
	}
	h_release(&p);
	snprintf(sh, sizeof(sh), "exec unshare -m /bin/sh -c '%s && exec "
		 "\"$0\" \"$@\"' \"$0\" \"$@\"", mnt);
	grouped_spill_fails(sh, "No space left on device");
	cr_assert_eq(rmdir(dir), 0, "rmdir %s: %s", dir, strerror(errno));
}

/*
 * ctxrun's stdout on a full disk is not a closed output: the loss is
 * said once on stderr, the job is not stopped and keeps its status.
 */
Test(output, full_stdout_does_not_stop_the_job)
{
	const char *go = fx_path("go");
	char cmd[256];
	struct h_opts o = { .stdout_file = "/dev/full" };
	struct h_proc p;

	snprintf(cmd, sizeof(cmd), "echo first; exec \"$TH\" await %s 20000 3",
		 go);
	h_start(&p, &o, "-v", "-o", "prefixed", "--", "sh", "-c", cmd);
	cr_assert_not_null(h_wait_err(&p, "ctxrun: cannot write to stdout: "
					  "No space left on device\n", 10000),
			   "stderr: <%s>", p.err.data);
	/* The job heard of nothing: let it go on to its end. */
	fx_write("go", "");
	h_finish(&p, 20000);
	expect_exit(&p, 3);
	expect_err_has(&p, "ctxrun: sh: exited with status 3\n");
	expect_err_lacks(&p, "SIGTERM");
	cr_assert_eq(count(p.err.data, "cannot write"), 1, "stderr: <%s>",
		     p.err.data);
	h_done(&p);
}

/*
 * In a group, a full stdout does not cancel the jobs: the next job runs,
 * the first failure still decides, and a run whose output was lost does
 * not exit 0 but 125.
 */
Test(output, full_stdout_fails_the_run_without_cancelling_it)
{
	struct h_opts o = { .stdout_file = "/dev/full" };
	struct h_proc p;

	for (int grouped = 0; grouped < 2; grouped++) {
		const char *mode = grouped ? "grouped" : "prefixed";

		h_run(&p, &o, "-o", mode, "-j", "1", "-n", "a,b",
		      "-c", "echo a-out", "-c", "echo b-err >&2");
		expect_exit(&p, 125);
		cr_assert_eq(count(p.err.data, "ctxrun: cannot write to "
					       "stdout: No space left on "
					       "device\n"),
			     1, "stderr: <%s>", p.err.data);
		expect_err_has(&p, grouped ? "\nb-err\n" : "\nb | b-err\n");
		expect_err_has(&p, "ctxrun: b: exited with status 0\n");
		expect_err_lacks(&p, "output closed");
		h_release(&p);
		h_run(&p, &o, "-o", mode, "-j", "1", "-n", "a,b",
		      "-c", "echo a-out", "-c", "exit 3");
		expect_exit(&p, 3);
		expect_err_has(&p, "ctxrun: b: exited with status 3\n");
		h_release(&p);
	}
	/* One command, grouped: its block is lost, not its status. */
	h_run(&p, &o, "-o", "grouped", "--", h_th, "print", "out", "err");
	expect_exit(&p, 125);
	expect_err(&p, "err\nctxrun: cannot write to stdout: No space left "
		       "on device\n");
	h_done(&p);
}

/*
 * A full stderr loses ctxrun's own lines and the jobs' error lines, but
 * stops nothing: the next job runs and prints, and the status says the
 * run failed (the job's, else 125); raw mode too.
 */
Test(output, full_stderr_does_not_cancel_the_run)
{
	struct h_opts o = { .stderr_file = "/dev/full" };
	struct h_proc p;

	h_run(&p, &o, "-j", "1", "-n", "a,b", "-c", "echo a-err >&2",
	      "-c", "echo b-out; exit 3");
	expect_exit(&p, 3);
	expect_out(&p, "b | b-out\n");
	h_release(&p);
	h_run(&p, &o, "-j", "1", "-n", "a,b", "-c", "echo a-err >&2",
	      "-c", "echo b-out");
	expect_exit(&p, 125);
	expect_out(&p, "b | b-out\n");
	h_release(&p);
	h_run(&p, &o, "-o", "raw", "-j", "1", "-n", "a,b", "-c", "true",
	      "-c", "echo b-out");
	expect_exit(&p, 125);
	expect_out(&p, "b-out\n");
	h_done(&p);
}

/* Whether S holds a raw ESC, SOH or 0xFF, the bytes of the names below. */
static bool
raw_bytes(const char *s)
{
	return strchr(s, '\033') || strchr(s, '\001') || strchr(s, '\377');
}

/*
 * Job names with control bytes and invalid UTF-8 (from -n and from a
 * file's sections) reach the terminal escaped, one '?' per byte, in
 * prefixes, ::group:: lines, lifecycle lines and the summary.
 */
Test(output, names_are_escaped_on_the_terminal)
{
	const char *ini, *want;
	struct h_proc p;

	h_run(&p, NULL, "-j", "1", "-n", "a\033[2Jb,c\377d",
	      "-c", "echo hi; exit 2", "-c", "echo never");
	expect_exit(&p, 2);
	expect_out(&p, "a?[2Jb | hi\n");
	expect_err_has(&p, "ctxrun: a?[2Jb: exited with status 2\n");
	expect_err_has(&p, "ctxrun: c?d: skipped (job \"a?[2Jb\" failed: "
			   "exit status 2)\n");
	expect_err_has(&p, "ctxrun: a?[2Jb  failed");
	expect_err_has(&p, "ctxrun: c?d     skipped  ");
	cr_assert(!raw_bytes(p.out.data) && !raw_bytes(p.err.data),
		  "stdout <%s> stderr <%s>", p.out.data, p.err.data);
	h_release(&p);

	ini = fx_write("names.ini", "[job:x\001y]\ncommand = echo one\n"
				    "[job:\303(z]\ncommand = echo two >&2\n"
				    "needs = x\001y\n");
	cr_assert_eq(setenv("GITHUB_ACTIONS", "true", 1), 0);
	h_run(&p, NULL, "-o", "grouped", "-f", ini);
	expect_exit(&p, 0);
	expect_out(&p, "::group::x?y\none\n::endgroup::\n"
		       "::group::?(z\n::endgroup::\n");
	expect_err_has(&p, "two\nctxrun: ?(z: exited with status 0\n");
	expect_err_has(&p, "ctxrun: x?y: exited with status 0\n");
	cr_assert(!raw_bytes(p.out.data) && !raw_bytes(p.err.data) &&
			  !strchr(p.err.data, '\303'),
		  "stdout <%s> stderr <%s>", p.out.data, p.err.data);
	h_release(&p);
	h_run(&p, NULL, "-q", "-f", ini);
	expect_exit(&p, 0);
	expect_out(&p, "x?y | one\n");
	want = "?(z | two\nx?y\tsucceeded\t0\t";
	cr_assert(!strncmp(p.err.data, want, strlen(want)), "stderr <%s>",
		  p.err.data);
	h_done(&p);
}
