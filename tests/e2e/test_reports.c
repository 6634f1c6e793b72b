/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of the reports: --events (JSON Lines) and --junit (JUnit
 * XML), run on the built ctxrun. Every file a test makes is checked with
 * real parsers: each events line with Python's json module on strictly
 * decoded UTF-8, the XML with xmllint against tests/golden/junit.xsd. The
 * golden test compares both files of a small failing pipeline, with times
 * and pids normalised, to tests/golden/reports/; CTXRUN_GOLDEN_UPDATE=1
 * (`make golden-update`) writes them instead.
 *
 * As in test_pipeline.c, TH is the helper binary and D the test's
 * temporary directory; jobs prove what happened with files and "ready"
 * lines, and nothing sleeps to synchronise.
 */
#include "expect.h"
#include "harness.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void rp_setup(void);
static void rp_teardown(void);

TestSuite(reports, .init = rp_setup, .fini = rp_teardown, .timeout = 30);

#define GOLDEN_DIR "tests/golden/reports"
#define GOLDEN_XSD "tests/golden/junit.xsd"

/* Python: every line of stdin is one JSON object, and the bytes are UTF-8. */
#define JSON_CHECK                                                           \
	"import json, sys\n"                                                 \
	"for n, l in enumerate(sys.stdin.buffer.read().decode('utf-8')"      \
	".split('\\n')[:-1], 1):\n"                                          \
	"    o = json.loads(l)\n"                                            \
	"    assert isinstance(o, dict), n\n"                                \
	"    assert isinstance(o['time'], float), n\n"                       \
	"    assert isinstance(o['event'], str), n\n"

static char tmp_dir[64];

/* Remove one entry met by nftw (directories after their contents). */
static int
tmp_remove_cb(const char *path, const struct stat *st, int flag,
	      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Prepare the test process and a temporary directory, exported as D. */
static void
rp_setup(void)
{
	h_setup();
	cr_assert_eq(setenv("TH", h_th, 1), 0);
	strcpy(tmp_dir, "/tmp/ctxrun-rp-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp_dir), "mkdtemp: %s", strerror(errno));
	cr_assert_eq(setenv("D", tmp_dir, 1), 0);
}

/* Kill what a failed test left running, and remove its directory. */
static void
rp_teardown(void)
{
	h_teardown();
	if (tmp_dir[0] != '\0') {
		nftw(tmp_dir, tmp_remove_cb, 16, FTW_DEPTH | FTW_PHYS);
		tmp_dir[0] = '\0';
	}
}

/* The path of NAME in the temporary directory (a static buffer per call). */
static const char *
tmp_path(const char *name)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *buf = bufs[next++ % 8];

	snprintf(buf, PATH_MAX, "%s/%s", tmp_dir, name);
	return buf;
}

/* Read all of PATH into a new NUL-terminated buffer; *LEN gets its size. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	size_t size = 0;

	cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
	buf = malloc(1);
	cr_assert_not_null(buf);
	for (;;) {
		char chunk[8192];
		size_t n = fread(chunk, 1, sizeof(chunk), f);

		if (!n) {
			break;
		}
		buf = realloc(buf, size + n + 1);
		cr_assert_not_null(buf);
		memcpy(buf + size, chunk, n);
		size += n;
	}
	fclose(f);
	buf[size] = '\0';
	if (len) {
		*len = size;
	}
	return buf;
}

/* Write LEN bytes of TEXT to PATH. */
static void
spit(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wbe");

	cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* Run the shell command built from FMT; its exit status, -1 if it died. */
static int __attribute__((format(printf, 1, 2)))
shell(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Assert every line of the events file PATH is a JSON object (Python). */
static void
expect_valid_events(const char *path)
{
	char *text;

	spit(tmp_path("check.py"), JSON_CHECK, strlen(JSON_CHECK));
	if (shell("python3 '%s' < '%s'", tmp_path("check.py"), path) != 0) {
		text = slurp(path, NULL);
		cr_assert_fail("%s is not valid JSON Lines: <%s>", path, text);
	}
}

/* Assert the JUnit file PATH is well-formed and valid by the XSD. */
static void
expect_valid_junit(const char *path)
{
	char *text;

	if (shell("xmllint --noout --schema %s '%s' 2>'%s'", GOLDEN_XSD, path,
		  tmp_path("xmllint.err")) != 0) {
		text = slurp(path, NULL);
		cr_assert_fail("%s is not valid JUnit XML (%s): <%s>", path,
			       slurp(tmp_path("xmllint.err"), NULL), text);
	}
}

/* Assert the file PATH contains NEEDLE. */
static void
expect_file_has(const char *path, const char *needle)
{
	char *text = slurp(path, NULL);

	cr_assert_not_null(strstr(text, needle), "%s <%s> lacks <%s>", path, text,
			   needle);
	free(text);
}

/* The file PATH ends with a whole line, and that line has NEEDLE. */
static void
expect_last_line_has(const char *path, const char *needle)
{
	char *text = slurp(path, NULL);
	size_t len = strlen(text);
	char *start;

	cr_assert(len > 0 && text[len - 1] == '\n', "%s: <%s> does not end "
		  "with a whole line", path, text);
	text[len - 1] = '\0';
	start = strrchr(text, '\n');
	start = start ? start + 1 : text;
	cr_assert(strstr(start, needle), "last line <%s>", start);
	free(text);
}

/*
 * Copy TEXT with the value after each of the PREFIXES (NULL-ended)
 * replaced by "0": times, pids and timestamps differ from run to run.
 */
static char *
normalise(const char *text, const char *const *prefixes)
{
	char *out = malloc(strlen(text) + 1), *o = out;

	cr_assert_not_null(out);
	while (*text) {
		size_t plen = 0;

		for (const char *const *p = prefixes; *p; p++) {
			if (!strncmp(text, *p, strlen(*p))) {
				plen = strlen(*p);
				break;
			}
		}
		if (!plen) {
			*o++ = *text++;
			continue;
		}
		memcpy(o, text, plen);
		o += plen;
		text += plen;
		text += strspn(text, "0123456789.-:T");
		*o++ = '0';
	}
	*o = '\0';
	return out;
}

/*
 * Compare the file PATH, normalised, with the golden file NAME; write it
 * there instead under CTXRUN_GOLDEN_UPDATE=1.
 */
static void
expect_golden(const char *path, const char *name,
	      const char *const *prefixes)
{
	char golden[PATH_MAX];
	char *got = normalise(slurp(path, NULL), prefixes);
	char *want;
	const char *update = getenv("CTXRUN_GOLDEN_UPDATE");

	snprintf(golden, sizeof(golden), "%s/%s", GOLDEN_DIR, name);
	if (update && !strcmp(update, "1")) {
		spit(golden, got, strlen(got));
		return;
	}
	want = slurp(golden, NULL);
	cr_assert_str_eq(got, want, "%s differs from %s (make golden-update "
			 "rewrites it):\n--- got\n%s\n--- want\n%s",
			 path, golden, got, want);
	free(want);
	free(got);
}

static const char *const event_keys[] = { "\"time\":", "\"pid\":", NULL };
static const char *const junit_keys[] = { " time=\"", " timestamp=\"",
					  NULL };

/* ---- golden files ---- */

/*
 * A failing pipeline, one job at a time: a name with <&"' and output with
 * ]]>, invalid UTF-8, NUL, ESC and CR; an allowed timeout, a retry, a
 * failure and the skips it causes. Both files match their golden copies.
 */
Test(reports, golden_pipeline)
{
	struct h_proc p;
	const char *ev = tmp_path("events.jsonl");
	const char *ju = tmp_path("junit.xml");

	h_run(&p, NULL, "-q", "--events", ev, "--junit", ju, "-f",
	      GOLDEN_DIR "/pipeline.ini");
	expect_exit(&p, 3);
	expect_valid_events(ev);
	expect_valid_junit(ju);
	expect_golden(ev, "events.jsonl", event_keys);
	expect_golden(ju, "junit.xml", junit_keys);
	h_no_survivors();
	h_release(&p);
}

/* ---- one command ---- */

/* A command that succeeds: start, exit 0, done 0; one passing testcase. */
Test(reports, one_command_success)
{
	struct h_proc p;
	const char *ev = tmp_path("e.jsonl");
	const char *ju = tmp_path("j.xml");
	char want[256];

	h_run(&p, NULL, "--events", ev, "--junit", ju, "--", h_th, "exit", "0");
	expect_exit(&p, 0);
	expect_err(&p, "");
	expect_valid_events(ev);
	expect_valid_junit(ju);
	snprintf(want, sizeof(want), "\"event\":\"start\",\"job\":\"%s\",\"pid\":",
		 h_th_name);
	expect_file_has(ev, want);
	snprintf(want, sizeof(want), "\"event\":\"exit\",\"job\":\"%s\",\"pid\":",
		 h_th_name);
	expect_file_has(ev, want);
	expect_file_has(ev, ",\"attempt\":1,\"status\":0}\n");
	expect_last_line_has(ev, "\"event\":\"done\",\"status\":0}");
	expect_file_has(ju, "tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\"");
	snprintf(want, sizeof(want), "<testcase name=\"%s\" classname=\"command "
		 "line\" time=\"", h_th_name);
	expect_file_has(ju, want);
	h_no_survivors();
	h_release(&p);
}

/*
 * The deadline stops a command that ignores SIGTERM: signal with the
 * cause, kill, exit by SIGKILL, done 124; the testcase is a failure of
 * type "cancelled" with the cause, since the deadline failed the run.
 */
Test(reports, one_command_timeout)
{
	struct h_proc p;
	const char *ev = tmp_path("e.jsonl");
	const char *ju = tmp_path("j.xml");

	h_run(&p, NULL, "-t", "0.3", "-g", "0.3", "--events", ev, "--junit", ju,
	      "--", h_th, "ignore-term", "30000");
	expect_exit(&p, 124);
	expect_valid_events(ev);
	expect_valid_junit(ju);
	expect_file_has(ev, ",\"attempt\":1,\"signal\":\"SIGTERM\",\"cause\":"
			    "\"deadline exceeded (--timeout 300ms)\"}\n");
	expect_file_has(ev, "\"event\":\"kill\"");
	expect_file_has(ev, ",\"signal\":\"SIGKILL\"}\n");
	expect_file_has(ev, ",\"signal\":\"SIGKILL\",\"status\":137}\n");
	expect_last_line_has(ev, "\"event\":\"done\",\"status\":124,\"cause\":"
				     "\"deadline exceeded (--timeout 300ms)\"}");
	/* The deadline failed the run (124): a failure, not a skip. */
	expect_file_has(ju, "<failure message=\"deadline exceeded (--timeout "
			    "300ms); killed after grace\" type=\"cancelled\"/>");
	expect_file_has(ju, " failures=\"1\" errors=\"0\" skipped=\"0\"");
	h_no_survivors();
	h_release(&p);
}

/* A command that cannot run: an exit 127 with the error, no start. */
Test(reports, one_command_not_found)
{
	struct h_proc p;
	const char *ev = tmp_path("e.jsonl");
	const char *ju = tmp_path("j.xml");
	char *text;

	h_run(&p, NULL, "--events", ev, "--junit", ju, "--",
	      "ctxrun-no-such-command");
	expect_exit(&p, 127);
	expect_valid_events(ev);
	expect_valid_junit(ju);
	text = slurp(ev, NULL);
	cr_assert_null(strstr(text, "\"start\""), "events <%s>", text);
	free(text);
	expect_file_has(ev, "\"event\":\"exit\",\"job\":\"ctxrun-no-such-command\","
			    "\"attempt\":1,\"status\":127,\"cause\":\"cannot run "
			    "'ctxrun-no-such-command'");
	expect_file_has(ev, "\"event\":\"done\",\"status\":127}\n");
	expect_file_has(ju, "<failure message=\"cannot run &apos;ctxrun-no-such-"
			    "command&apos;: No such file or directory\" "
			    "type=\"failed\"/>");
	h_no_survivors();
	h_release(&p);
}

/* ---- groups and pipelines ---- */

/*
 * Fail-fast: a failure stops a running sibling (signal with the failure as
 * cause, exit by SIGTERM) and skips a dependent; JUnit has the failure,
 * the cancelled sibling and the skipped job as skipped, with causes.
 */
Test(reports, fail_fast_pipeline)
{
	static const char ini[] =
		"[job:sleeper]\n"
		"command = touch \"$D/up\"; exec \"$TH\" sleep 30000\n"
		"[job:bad]\n"
		"command = i=0; while [ ! -e \"$D/up\" ] && [ $i -lt 2000 ]; "
		"do i=$((i + 1)); sleep 0.01; done; exit 2\n"
		"[job:after]\n"
		"needs = bad\n"
		"command = true\n";
	struct h_proc p;
	const char *ev = tmp_path("e.jsonl");
	const char *ju = tmp_path("j.xml");
	const char *file = tmp_path("ff.ini");

	spit(file, ini, strlen(ini));
	h_run(&p, NULL, "--events", ev, "--junit", ju, "-f", file);
	expect_exit(&p, 2);
	expect_valid_events(ev);
	expect_valid_junit(ju);
	expect_file_has(ev, "\"event\":\"exit\",\"job\":\"bad\"");
	expect_file_has(ev, ",\"status\":2}\n");
	expect_file_has(ev, "\"event\":\"signal\",\"job\":\"sleeper\"");
	expect_file_has(ev, ",\"signal\":\"SIGTERM\",\"cause\":\"job \\\"bad\\\" "
			    "failed: exit status 2\"}\n");
	expect_file_has(ev, ",\"signal\":\"SIGTERM\",\"status\":143}\n");
	expect_file_has(ev, "\"event\":\"skip\",\"job\":\"after\",\"cause\":");
	expect_last_line_has(ev, "\"event\":\"done\",\"status\":2,\"cause\":\"job "
				     "\\\"bad\\\" failed: exit status 2\"}");
	expect_file_has(ju, "tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"2\"");
	expect_file_has(ju, "<failure message=\"exit status 2\" type=\"failed\"/>");
	expect_file_has(ju, "<skipped message=\"job &quot;bad&quot; failed: "
			    "exit status 2\"/>");
	h_no_survivors();
	h_release(&p);
}

/*
 * Names and causes with any bytes: quotes, backslash, a control character
 * and invalid UTF-8 stay valid JSON and XML.
 */
Test(reports, names_with_any_bytes)
{
	struct h_proc p;
	const char *ev = tmp_path("e.jsonl");
	const char *ju = tmp_path("j.xml");

	h_run(&p, NULL, "--events", ev, "--junit", ju, "-n",
	      "x\xff\"\\\x01<y>", "-c", "exit 1");
	expect_exit(&p, 1);
	expect_valid_events(ev);
	expect_valid_junit(ju);
	expect_file_has(ev, "\"job\":\"x\\ufffd\\\"\\\\\\u0001<y>\"");
	expect_file_has(ev, "\"cause\":\"job \\\"x\\ufffd\\\"\\\\\\u0001<y>\\\" "
			    "failed: exit status 1\"");
	expect_file_has(ju, "name=\"x\xEF\xBF\xBD&quot;\\\xEF\xBF\xBD&lt;y&gt;\"");
	h_no_survivors();
	h_release(&p);
}

/*
 * Output past the bound: system-out keeps the first and last 32 KiB and
 * says how much was cut between.
 */
Test(reports, junit_output_is_bounded)
{
	struct h_proc p;
	const char *ju = tmp_path("j.xml");
	size_t len;
	char *text;

	h_run(&p, NULL, "-q", "--junit", ju, "-n", "flood", "-c",
	      "\"$TH\" flood 300000");
	expect_exit(&p, 0);
	expect_valid_junit(ju);
	expect_file_has(ju, "\n[ctxrun: 234464 bytes cut]\n");
	text = slurp(ju, &len);
	cr_assert(len > 65536 && len < 70000, "JUnit file of %zu bytes", len);
	free(text);
	h_no_survivors();
	h_release(&p);
}

/* The events file is written as things happen: start is there at once. */
Test(reports, events_written_as_they_happen)
{
	struct h_proc p;
	const char *ev = tmp_path("e.jsonl");
	const char *ready;
	char want[64];

	h_start(&p, NULL, "--events", ev, "-n", "w", "-c",
		"exec \"$TH\" ready-sleep 30000");
	ready = h_wait_out(&p, "w | ready ", 10000);
	cr_assert_not_null(ready, "no ready line; stderr <%s>", p.err.data);
	snprintf(want, sizeof(want), "\"job\":\"w\",\"pid\":%ld,",
		 strtol(ready + strlen("w | ready "), NULL, 10));
	expect_file_has(ev, want);
	expect_valid_events(ev);
	h_kill(&p, SIGTERM);
	h_finish(&p, 20000);
	expect_signal(&p, SIGTERM);
	h_no_survivors();
	h_release(&p);
}

/*
 * Ctrl-C on a group: ctxrun still dies by SIGINT, after writing a
 * complete JUnit file and a last "done" event that names the signal.
 */
Test(reports, sigint_group_writes_complete_reports)
{
	struct h_proc p;
	const char *ev = tmp_path("e.jsonl");
	const char *ju = tmp_path("j.xml");

	h_start(&p, NULL, "--events", ev, "--junit", ju, "-n", "a,b", "-c",
		"\"$TH\" ready-sleep 30000", "-c", "\"$TH\" ready-sleep 30000");
	cr_assert_not_null(h_wait_out(&p, "a | ready ", 10000),
			   "a not ready; stderr <%s>", p.err.data);
	cr_assert_not_null(h_wait_out(&p, "b | ready ", 10000),
			   "b not ready; stderr <%s>", p.err.data);
	h_kill(&p, SIGINT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	expect_valid_events(ev);
	expect_valid_junit(ju);
	expect_last_line_has(ev, "\"event\":\"done\",\"signal\":\"SIGINT\","
				     "\"status\":130,\"cause\":\"interrupted by SIGINT\"}");
	expect_file_has(ju, "tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"2\"");
	expect_file_has(ju, "<skipped message=\"interrupted by SIGINT\"/>");
	expect_file_has(ju, "<system-out>ready ");
	h_no_survivors();
	h_release(&p);
}

/* Ctrl-C on one command: the reports are complete before the re-raise. */
Test(reports, sigint_one_command_writes_complete_reports)
{
	struct h_proc p;
	const char *ev = tmp_path("e.jsonl");
	const char *ju = tmp_path("j.xml");
	pid_t pid;

	h_start(&p, NULL, "--events", ev, "--junit", ju, "--", h_th,
		"ready-sleep", "30000");
	cr_assert_eq(h_wait_ready(&p, &pid, 1, 10000), 1);
	h_kill(&p, SIGINT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	expect_valid_events(ev);
	expect_valid_junit(ju);
	expect_last_line_has(ev, "\"event\":\"done\",\"signal\":\"SIGINT\","
				     "\"status\":130,\"cause\":\"interrupted by SIGINT\"}");
	expect_file_has(ju, "<skipped message=\"interrupted by SIGINT\"/>");
	h_no_survivors();
	h_release(&p);
}

/* Every signal that stops a run (ctxrun(1), SIGNALS), in one mode. */
struct sig_case {
	int sig;
	bool group;
};

static const int every_stop_signal[] = {
	SIGINT,  SIGTERM, SIGHUP,    SIGQUIT, SIGALRM, SIGUSR1,
	SIGUSR2, SIGXCPU, SIGXFSZ,   SIGVTALRM, SIGPROF, SIGSYS,
	SIGSTKFLT, SIGPOLL, SIGPWR,
};

#define N_STOP_SIGNALS                                                       \
	(sizeof(every_stop_signal) / sizeof(every_stop_signal[0]))

/* Free the parameter array. */
static void
sig_free_cases(struct criterion_test_params *crp)
{
	cr_free(crp->params);
}

ParameterizedTestParameters(reports, every_stop_signal)
{
	size_t n = 2 * N_STOP_SIGNALS;
	struct sig_case *cases = cr_malloc(n * sizeof(*cases));

	for (size_t i = 0; i < n; i++) {
		cases[i] = (struct sig_case){ every_stop_signal[i / 2], i % 2 };
	}
	return cr_make_param_array(struct sig_case, cases, n, sig_free_cases);
}

/*
 * Start ctxrun in D (so that a core it dumped would land there) with core
 * dumps allowed, running C's job: th linger, whose child takes 300 ms to
 * go after SIGTERM, and in a group a second job beside it.
 */
static void
sig_start(struct h_proc *p, const struct sig_case *c, const char *ev,
	  const char *ju)
{
	struct rlimit core, big;
	int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	cr_assert_neq(here, -1);
	cr_assert_eq(getrlimit(RLIMIT_CORE, &core), 0);
	big = (struct rlimit){ core.rlim_max, core.rlim_max };
	cr_assert_eq(setrlimit(RLIMIT_CORE, &big), 0);
	cr_assert_eq(chdir(tmp_dir), 0);
	if (c->group) {
		h_start(p, NULL, "--events", ev, "--junit", ju, "-n", "x,y",
			"-c", "\"$TH\" linger 30000 300", "-c",
			"\"$TH\" sleep 30000");
	} else {
		h_start(p, NULL, "--events", ev, "--junit", ju, "--", h_th,
			"linger", "30000", "300");
	}
	cr_assert_eq(fchdir(here), 0);
	close(here);
	cr_assert_eq(setrlimit(RLIMIT_CORE, &core), 0);
}

/*
 * Each signal that stops a run, sent to ctxrun while a job runs: the job's
 * whole tree is gone by the time ctxrun is reaped (its child lingers after
 * SIGTERM, so ctxrun must have waited), the events file ends with the
 * "done" line naming the cause, the JUnit file is complete, and ctxrun
 * died by that very signal, without a core dump.
 */
ParameterizedTest(struct sig_case *c, reports, every_stop_signal)
{
	const char *name = sigabbrev_np(c->sig);
	const char *ev = tmp_path("e.jsonl");
	const char *ju = tmp_path("j.xml");
	char want[256];
	struct h_proc p;
	pid_t pids[2];
	double sent;

	sig_start(&p, c, ev, ju);
	cr_assert_eq(h_wait_ready(&p, pids, 2, 10000), 2);
	sent = h_now();
	h_kill(&p, c->sig);
	cr_assert(h_wait_exit(&p, 20000), "SIG%s: ctxrun did not exit; "
		  "stderr <%s>", name, p.err.data);
	cr_assert(h_gone(pids[0]) && h_gone(pids[1]), "SIG%s%s: the job's "
		  "tree outlived ctxrun", name, c->group ? " (group)" : "");
	cr_assert_lt(p.reaped_at - sent, 5.0);
	h_finish(&p, 20000);
	expect_signal(&p, c->sig);
	cr_assert(!WCOREDUMP(p.status), "SIG%s: ctxrun dumped core", name);
	expect_valid_events(ev);
	snprintf(want, sizeof(want), "\"event\":\"done\",\"signal\":\"SIG%s\","
		 "\"status\":%d,\"cause\":\"interrupted by SIG%s\"}", name,
		 128 + c->sig, name);
	expect_last_line_has(ev, want);
	expect_valid_junit(ju);
	snprintf(want, sizeof(want), "message=\"interrupted by SIG%s\"", name);
	expect_file_has(ju, want);
	expect_file_has(ju, "</testsuites>");
	h_no_survivors();
	h_release(&p);
}

/*
 * ctxrun's stdout closed: the run is cancelled and ends by SIGPIPE, with
 * complete reports whose "done" says so.
 */
Test(reports, stdout_closed_writes_complete_reports)
{
	struct h_opts o = { .close_stdout = true };
	struct h_proc p;
	const char *ev = tmp_path("e.jsonl");
	const char *ju = tmp_path("j.xml");

	h_start(&p, &o, "--events", ev, "--junit", ju, "-n", "chatty,quiet",
		"-c", "yes", "-c", "sleep 30");
	h_finish(&p, 20000);
	expect_signal(&p, SIGPIPE);
	expect_valid_events(ev);
	expect_valid_junit(ju);
	expect_last_line_has(ev, "\"event\":\"done\",\"signal\":\"SIGPIPE\","
				     "\"status\":141,\"cause\":\"output closed\"}");
	expect_file_has(ju, "<skipped message=\"output closed\"/>");
	expect_file_has(ju, "<system-out>y\ny\n");
	h_no_survivors();
	h_release(&p);
}

/* The report files are ctxrun's own: no job inherits their fds. */
Test(reports, jobs_do_not_inherit_report_fds)
{
	struct h_proc p;

	h_run(&p, NULL, "--events", tmp_path("e.jsonl"), "--junit",
	      tmp_path("j.xml"), "--", h_th, "fds");
	expect_exit(&p, 0);
	expect_out(&p, "0 1 2\n");
	h_release(&p);
	h_run(&p, NULL, "-q", "--events", tmp_path("e.jsonl"), "--junit",
	      tmp_path("j.xml"), "-n", "f", "-c", "\"$TH\" fds");
	expect_exit(&p, 0);
	expect_out(&p, "f | 0 1 2\n");
	h_no_survivors();
	h_release(&p);
}

/* ---- files that cannot be opened ---- */

/* An events file that cannot be opened: 125, named, nothing runs. */
Test(reports, unwritable_events_file)
{
	struct h_proc p;

	h_run(&p, NULL, "--events", "/nonexistent-ctxrun/e.jsonl", "--", h_th,
	      "touch", tmp_path("ran"));
	expect_exit(&p, 125);
	expect_err(&p, "ctxrun: cannot open events file "
		       "'/nonexistent-ctxrun/e.jsonl': No such file or directory\n");
	cr_assert_neq(access(tmp_path("ran"), F_OK), 0, "the command ran");
	h_no_survivors();
	h_release(&p);
}

/* A JUnit file that cannot be opened: 125, named, no job runs. */
Test(reports, unwritable_junit_file)
{
	struct h_proc p;
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "touch '%s'", tmp_path("ran"));
	h_run(&p, NULL, "--junit", tmp_dir, "-c", cmd);
	expect_exit(&p, 125);
	expect_err_has(&p, "ctxrun: cannot open JUnit file '");
	expect_err_has(&p, "': Is a directory\n");
	cr_assert_eq(h_lines(p.err.data), 1, "stderr <%s>", p.err.data);
	cr_assert_neq(access(tmp_path("ran"), F_OK), 0, "the job ran");
	h_no_survivors();
	h_release(&p);
}

/* --events needs a value, like every option that takes one. */
Test(reports, events_without_value)
{
	struct h_proc p;

	h_run(&p, NULL, "--events");
	expect_exit(&p, 125);
	expect_err_has(&p, "ctxrun: option '--events' needs a value\n");
	expect_err_has(&p, "Try 'ctxrun --help' for more information.\n");
	h_release(&p);
}
