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
#include "fixture.h"
#include "harness.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(reports, .init = fx_init, .fini = fx_fini, .timeout = 30);

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

	fx_write("check.py", JSON_CHECK);
	if (shell("python3 '%s' < '%s'", fx_path("check.py"), path) != 0) {
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
		  fx_path("xmllint.err")) != 0) {
		text = slurp(path, NULL);
		cr_assert_fail("%s is not valid JUnit XML (%s): <%s>", path,
			       slurp(fx_path("xmllint.err"), NULL), text);
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
		h_write_file(golden, got, strlen(got), 0644);
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
	const char *ev = fx_path("events.jsonl");
	const char *ju = fx_path("junit.xml");

	h_run(&p, NULL, "-q", "--events", ev, "--junit", ju, "-f",
	      GOLDEN_DIR "/pipeline.ini");
	expect_exit(&p, 3);
	expect_valid_events(ev);
	expect_valid_junit(ju);
	expect_golden(ev, "events.jsonl", event_keys);
	expect_golden(ju, "junit.xml", junit_keys);
	h_done(&p);
}

/* ---- one command ---- */

/* A command that succeeds: start, exit 0, done 0; one passing testcase. */
Test(reports, one_command_success)
{
	struct h_proc p;
	const char *ev = fx_path("e.jsonl");
	const char *ju = fx_path("j.xml");
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
	h_done(&p);
}

/*
 * The deadline stops a command that ignores SIGTERM: signal with the
 * cause, kill, exit by SIGKILL, done 124; the testcase is a failure of
 * type "cancelled" with the cause, since the deadline failed the run.
 */
Test(reports, one_command_timeout)
{
	struct h_proc p;
	const char *ev = fx_path("e.jsonl");
	const char *ju = fx_path("j.xml");

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
	h_done(&p);
}

/* A command that cannot run: an exit 127 with the error, no start. */
Test(reports, one_command_not_found)
{
	struct h_proc p;
	const char *ev = fx_path("e.jsonl");
	const char *ju = fx_path("j.xml");
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
	h_done(&p);
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
	const char *ev = fx_path("e.jsonl");
	const char *ju = fx_path("j.xml");
	const char *file = fx_write("ff.ini", ini);

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
	h_done(&p);
}

/*
 * Names and causes with any bytes: quotes, backslash, a control character
 * and invalid UTF-8 stay valid JSON and XML.
 */
Test(reports, names_with_any_bytes)
{
	struct h_proc p;
	const char *ev = fx_path("e.jsonl");
	const char *ju = fx_path("j.xml");

	h_run(&p, NULL, "--events", ev, "--junit", ju, "-n",
	      "x\xff\"\\\x01<y>", "-c", "exit 1");
	expect_exit(&p, 1);
	expect_valid_events(ev);
	expect_valid_junit(ju);
	expect_file_has(ev, "\"job\":\"x\\ufffd\\\"\\\\\\u0001<y>\"");
	expect_file_has(ev, "\"cause\":\"job \\\"x\\ufffd\\\"\\\\\\u0001<y>\\\" "
			    "failed: exit status 1\"");
	expect_file_has(ju, "name=\"x\xEF\xBF\xBD&quot;\\\xEF\xBF\xBD&lt;y&gt;\"");
	h_done(&p);
}

/*
 * Output past the bound: system-out keeps the first and last 32 KiB and
 * says how much was cut between.
 */
Test(reports, junit_output_is_bounded)
{
	struct h_proc p;
	const char *ju = fx_path("j.xml");
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
	h_done(&p);
}

/* The events file is written as things happen: start is there at once. */
Test(reports, events_written_as_they_happen)
{
	struct h_proc p;
	const char *ev = fx_path("e.jsonl");
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
	h_done(&p);
}

/*
 * Ctrl-C on a group: ctxrun still dies by SIGINT, after writing a
 * complete JUnit file and a last "done" event that names the signal.
 */
Test(reports, sigint_group_writes_complete_reports)
{
	struct h_proc p;
	const char *ev = fx_path("e.jsonl");
	const char *ju = fx_path("j.xml");

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
	h_done(&p);
}

/* Ctrl-C on one command: the reports are complete before the re-raise. */
Test(reports, sigint_one_command_writes_complete_reports)
{
	struct h_proc p;
	const char *ev = fx_path("e.jsonl");
	const char *ju = fx_path("j.xml");
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
	h_done(&p);
}

/* Every signal that stops a run (ctxrun(1), SIGNALS), in one mode. */
struct sig_case {
	int sig;
	bool group;
};

static const int every_stop_signal[] = {
	SIGINT,  SIGTERM, SIGHUP,    SIGQUIT, SIGALRM, SIGUSR1,
	SIGUSR2, SIGXCPU, SIGXFSZ,   SIGVTALRM, SIGPROF, SIGSYS,
	SIGSTKFLT, SIGPOLL, SIGPWR,  SIGPIPE,
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
	cr_assert_eq(chdir(fx_dir), 0);
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
	const char *ev = fx_path("e.jsonl");
	const char *ju = fx_path("j.xml");
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
	h_done(&p);
}

/*
 * ctxrun's stdout closed: the run is cancelled and ends by SIGPIPE, with
 * complete reports whose "done" says so.
 */
Test(reports, stdout_closed_writes_complete_reports)
{
	struct h_opts o = { .close_stdout = true };
	struct h_proc p;
	const char *ev = fx_path("e.jsonl");
	const char *ju = fx_path("j.xml");

	h_run(&p, &o, "--events", ev, "--junit", ju, "-n", "chatty,quiet",
	      "-c", "yes", "-c", "sleep 30");
	expect_signal(&p, SIGPIPE);
	expect_valid_events(ev);
	expect_valid_junit(ju);
	expect_last_line_has(ev, "\"event\":\"done\",\"signal\":\"SIGPIPE\","
				     "\"status\":141,\"cause\":\"output closed\"}");
	expect_file_has(ju, "<skipped message=\"output closed\"/>");
	expect_file_has(ju, "<system-out>y\ny\n");
	h_done(&p);
}

/* The report files are ctxrun's own: no job inherits their fds. */
Test(reports, jobs_do_not_inherit_report_fds)
{
	struct h_proc p;

	h_run(&p, NULL, "--events", fx_path("e.jsonl"), "--junit",
	      fx_path("j.xml"), "--", h_th, "fds");
	expect_exit(&p, 0);
	expect_out(&p, "0 1 2\n");
	h_release(&p);
	h_run(&p, NULL, "-q", "--events", fx_path("e.jsonl"), "--junit",
	      fx_path("j.xml"), "-n", "f", "-c", "\"$TH\" fds");
	expect_exit(&p, 0);
	expect_out(&p, "f | 0 1 2\n");
	h_done(&p);
}

/* ---- files that cannot be opened ---- */

/* An events file that cannot be opened: 125, named, nothing runs. */
Test(reports, unwritable_events_file)
{
	struct h_proc p;

	h_run(&p, NULL, "--events", "/nonexistent-ctxrun/e.jsonl", "--", h_th,
	      "touch", fx_path("ran"));
	expect_exit(&p, 125);
	expect_err(&p, "ctxrun: cannot open events file "
		       "'/nonexistent-ctxrun/e.jsonl': No such file or directory\n");
	cr_assert_neq(access(fx_path("ran"), F_OK), 0, "the command ran");
	h_done(&p);
}

/* A JUnit file that cannot be opened: 125, named, no job runs. */
Test(reports, unwritable_junit_file)
{
	struct h_proc p;
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "touch '%s'", fx_path("ran"));
	h_run(&p, NULL, "--junit", fx_dir, "-c", cmd);
	expect_exit(&p, 125);
	expect_err_has(&p, "ctxrun: cannot open JUnit file '");
	expect_err_has(&p, "': Is a directory\n");
	cr_assert_eq(h_lines(p.err.data), 1, "stderr <%s>", p.err.data);
	cr_assert_neq(access(fx_path("ran"), F_OK), 0, "the job ran");
	h_done(&p);
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

/* ---- FIFOs, readers that do not keep up, and /tmp ---- */

#define LONG_NAME 1500 /* bytes of a flood job's name: long events lines */
#define FLOOD_JOBS 60  /* their start lines alone pass a pipe's 64 KiB */

/*
 * Start ctxrun with the options PRE (NULL-ended), FLOOD_JOBS jobs named
 * LONG_NAME bytes long that run `true`, then the jobs LAST (-c commands,
 * NULL-ended) named by LAST_NAMES (",a,b": a comma before each).
 */
static void
start_flood(struct h_proc *p, const char *const *pre,
	    const char *const *last, const char *last_names)
{
	const char *argv[2 * FLOOD_JOBS + 32];
	size_t n = 0, len = 0;
	char *names = malloc(FLOOD_JOBS * (LONG_NAME + 4) + strlen(last_names) + 1);

	cr_assert_not_null(names);
	for (int i = 0; i < FLOOD_JOBS; i++) {
		len += (size_t)sprintf(names + len, "%s%0*d", i ? "," : "",
				       LONG_NAME, i);
	}
	strcpy(names + len, last_names);
	argv[n++] = h_ctxrun;
	for (; *pre; pre++) {
		argv[n++] = *pre;
	}
	argv[n++] = "-n";
	argv[n++] = names;
	for (int i = 0; i < FLOOD_JOBS; i++) {
		argv[n++] = "-c";
		argv[n++] = "true";
	}
	for (; *last; last++) {
		argv[n++] = "-c";
		argv[n++] = *last;
	}
	argv[n] = NULL;
	h_start_argv(p, NULL, argv);
	free(names);
}

/* Make the FIFO NAME in the test's directory; its path. */
static const char *
make_fifo(const char *name)
{
	const char *path = fx_path(name);

	cr_assert_eq(mkfifo(path, 0600), 0, "mkfifo %s: %s", path,
		     strerror(errno));
	return path;
}

/*
 * The last line of P's stderr, after what the jobs wrote there, says some
 * bytes of the report WHAT at PATH were not written; no other line is
 * ctxrun's.
 */
static void
expect_not_written(const struct h_proc *p, const char *what, const char *path)
{
	char want[PATH_MAX + 64];
	const char *line = p->err.data + p->err.len, *rest;

	cr_assert(p->err.len > 0 && line[-1] == '\n', "stderr <%.2000s>",
		  p->err.data);
	for (line--; line > p->err.data && line[-1] != '\n'; line--) {
		continue;
	}
	snprintf(want, sizeof(want), "ctxrun: %s '%s': ", what, path);
	cr_assert_eq(strncmp(line, want, strlen(want)), 0,
		     "last line <%s>, want <%s...>", line, want);
	rest = line + strlen(want);
	rest += strspn(rest, "0123456789");
	cr_assert_str_eq(rest, " bytes not written: reader too slow\n");
	cr_assert_eq(memmem(p->err.data, p->err.len, "ctxrun:", 7), line,
		     "another line of ctxrun's before <%s>", line);
}

/* Does line N (from 0) of TEXT have EVENT (a "start"...) of job NAME? */
static bool
line_is(const char *text, int n, const char *event, const char *name)
{
	char want[LONG_NAME + 64];
	const char *end;

	while (n-- > 0 && text) {
		text = strchr(text, '\n');
		text = text ? text + 1 : NULL;
	}
	if (!text || !(end = strchr(text, '\n'))) {
		return false;
	}
	snprintf(want, sizeof(want), "\"event\":\"%s\",\"job\":\"%s\"", event,
		 name);
	return memmem(text, (size_t)(end - text), want, strlen(want)) != NULL;
}

/* A reader that opens PATH and reads nothing: an fd of the test's. */
static int
stalled_reader(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	return fd;
}

/* Start `th slow-read PATH CHUNK MS` as R: what it reads is R's stdout. */
static void
start_reader(struct h_proc *r, const char *path, const char *chunk,
	     const char *ms)
{
	h_start_argv(r, NULL, (const char *const[]){ h_th, "slow-read", path,
						     chunk, ms, NULL });
}

/*
 * OPT (--events or --junit) on a FIFO nobody opens: the open does not
 * wait for a reader, the deadline stops the command and ctxrun exits 124
 * at once.
 */
static void
expect_fifo_without_reader(const char *opt)
{
	struct h_proc p;
	const char *fifo = make_fifo("report.fifo");

	h_start(&p, NULL, "-t", "0.5", opt, fifo, "--", h_th, "sleep",
		"30000");
	h_finish(&p, 10000);
	expect_exit(&p, 124);
	cr_assert_lt(p.elapsed, 4.0, "took %.2fs", p.elapsed);
	h_done(&p);
}

/*
 * Finish P, which writes the report WHAT to FIFO, whose reader RD reads
 * nothing: P exits with CODE on time, says once what the reader missed,
 * and leaves nothing behind.
 */
static void
finish_stalled(struct h_proc *p, int rd, int code, const char *what,
	       const char *fifo)
{
	h_finish(p, 10000);
	expect_exit(p, code);
	cr_assert_lt(p->elapsed, 5.0, "took %.2fs", p->elapsed);
	expect_not_written(p, what, fifo);
	h_no_survivors();
	close(rd);
	h_release(p);
}

/*
 * Finish P, which writes a report to a FIFO, and R, the reader started
 * on it: both exit 0, and P says nothing of its own.
 */
static void
finish_with_reader(struct h_proc *p, struct h_proc *r)
{
	h_finish(p, 10000);
	h_finish(r, 10000);
	expect_exit(p, 0);
	cr_assert_null(strstr(p->err.data, "ctxrun:"), "stderr <%.2000s>",
		       strstr(p->err.data, "ctxrun:"));
	expect_exit(r, 0);
}

/* --events on a FIFO nobody opens: see above. */
Test(reports, events_fifo_without_reader)
{
	expect_fifo_without_reader("--events");
}

/*
 * A reader that opens the events FIFO and reads nothing, while jobs write
 * far more events than a pipe holds: the deadline still stops the run on
 * time, its jobs are gone, and ctxrun says once what the reader missed.
 */
Test(reports, events_fifo_stalled_reader_deadline_wins)
{
	struct h_proc p;
	const char *fifo = make_fifo("ev.fifo");
	int rd = stalled_reader(fifo);

	start_flood(&p, (const char *const[]){ "-q", "-t", "1", "--events",
					       fifo, NULL },
		    (const char *const[]){ "exec \"$TH\" sleep 30000", NULL },
		    ",sleeper");
	finish_stalled(&p, rd, 124, "events file", fifo);
}

/*
 * Once the jobs are gone, a signal ends the wait for a stalled reader at
 * once: ctxrun dies by it without waiting out the drain window.
 */
Test(reports, events_fifo_stalled_reader_signal_ends_drain)
{
	struct h_proc p;
	const char *fifo = make_fifo("ev.fifo");
	int rd = stalled_reader(fifo);
	double sent;

	start_flood(&p, (const char *const[]){ "-q", "--events", fifo, NULL },
		    (const char *const[]){ "true", NULL }, ",z");
	/* The -q summary comes when every job is done, before the drain. */
	cr_assert_not_null(h_wait_err(&p, "\nz\tsucceeded\t0\t", 10000),
			   "no summary; stderr <%.2000s>", p.err.data);
	h_kill(&p, SIGINT);
	sent = h_now();
	h_finish(&p, 10000);
	expect_signal(&p, SIGINT);
	cr_assert_lt(p.reaped_at - sent, 0.5, "died %.3fs after the signal",
		     p.reaped_at - sent);
	expect_not_written(&p, "events file", fifo);
	h_no_survivors();
	close(rd);
	h_release(&p);
}

/*
 * A reader that comes late, once jobs have already written more events
 * than the FIFO holds, and then reads slowly, still gets every line, in
 * order, the last one "done".
 */
Test(reports, events_fifo_late_slow_reader_gets_every_line)
{
	struct h_proc p, r;
	const char *fifo = make_fifo("ev.fifo");
	const char *got = fx_path("got.jsonl");
	char name[LONG_NAME + 1];

	start_flood(&p, (const char *const[]){ "-q", "-j", "1", "--events",
					       fifo, NULL },
		    (const char *const[]){ "echo ready; exec \"$TH\" await "
					   "\"$D/go\" 20000 0", NULL },
		    ",w");
	cr_assert_not_null(h_wait_out(&p, "| ready", 10000),
			   "w not ready; stderr <%s>", p.err.data);
	start_reader(&r, fifo, "512", "1");
	/* With -j 1, w starts after every flood job is over. */
	cr_assert_not_null(h_wait_out(&r, "\"event\":\"start\",\"job\":\"w\"",
				      10000), "reader got <%.300s>", r.out.data);
	fx_write("go", "");
	finish_with_reader(&p, &r);
	h_write_file(got, r.out.data, r.out.len, 0644);
	expect_valid_events(got);
	cr_assert_eq(h_lines(r.out.data), 2 * FLOOD_JOBS + 3, "%d lines",
		     h_lines(r.out.data));
	/* One job at a time: each one's start and exit, in order. */
	for (int i = 0; i < FLOOD_JOBS; i++) {
		snprintf(name, sizeof(name), "%0*d", LONG_NAME, i);
		cr_assert(line_is(r.out.data, 2 * i, "start", name), "job %d", i);
		cr_assert(line_is(r.out.data, 2 * i + 1, "exit", name), "job %d", i);
	}
	cr_assert(line_is(r.out.data, 2 * FLOOD_JOBS + 1, "exit", "w"));
	expect_last_line_has(got, "\"event\":\"done\",\"status\":0}");
	h_release(&r);
	h_done(&p);
}

/* --junit on a FIFO nobody opens: see above. */
Test(reports, junit_fifo_without_reader)
{
	expect_fifo_without_reader("--junit");
}

/*
 * A JUnit report larger than a pipe holds, for a reader that opened the
 * FIFO and reads nothing: ctxrun gives it the drain window, says what it
 * missed, and exits with the jobs' status.
 */
Test(reports, junit_fifo_stalled_reader)
{
	struct h_proc p;
	const char *fifo = make_fifo("j.fifo");
	int rd = stalled_reader(fifo);

	h_start(&p, NULL, "-q", "--junit", fifo, "-n", "big", "-c",
		"\"$TH\" flood 70000; \"$TH\" flood-err 70000");
	finish_stalled(&p, rd, 0, "JUnit file", fifo);
}

/*
 * A reader that opens the JUnit FIFO once the run is under way and reads
 * everything gets the whole document, larger than a pipe holds.
 */
Test(reports, junit_fifo_late_reader_gets_whole_report)
{
	struct h_proc p, r;
	const char *fifo = make_fifo("j.fifo");
	const char *got = fx_path("got.xml");

	h_start(&p, NULL, "-q", "--junit", fifo, "-n", "big,w", "-c",
		"\"$TH\" flood 70000; \"$TH\" flood-err 70000", "-c",
		"echo ready; exec \"$TH\" await \"$D/go\" 20000 0");
	cr_assert_not_null(h_wait_out(&p, "w   | ready", 10000),
			   "w not ready; stderr <%s>", p.err.data);
	start_reader(&r, fifo, "65536", "0");
	fx_write("go", "");
	finish_with_reader(&p, &r);
	cr_assert_gt(r.out.len, 131072, "%zu bytes", r.out.len);
	h_write_file(got, r.out.data, r.out.len, 0644);
	expect_valid_junit(got);
	expect_file_has(got, "tests=\"2\" failures=\"0\"");
	expect_file_has(got, "\n[ctxrun: 4464 bytes cut]\ny\ny\n");
	expect_file_has(got, "\n[ctxrun: 4464 bytes cut]\ne\ne\n");
	expect_file_has(got, "</testsuites>\n");
	h_release(&r);
	h_done(&p);
}

/*
 * A symbolic link planted in a sticky world-writable directory (/tmp's
 * kind) is not followed, whoever owns it: 125, one line naming the file,
 * nothing runs and the link's target is untouched. A plain file there is
 * written as usual, and a link in a directory of one's own is followed.
 */
Test(reports, symlink_in_sticky_dir_not_followed)
{
	char dir[PATH_MAX], link[PATH_MAX + 8], plain[PATH_MAX + 8];
	char want[2 * PATH_MAX];
	const char *target = fx_path("precious");
	const char *opts[] = { "--events", "--junit" };
	const char *whats[] = { "events file", "JUnit file" };
	struct h_proc p;
	char *text;

	snprintf(dir, sizeof(dir), "%s", fx_path("stickyXXXXXX"));
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	cr_assert_eq(chmod(dir, 01777), 0);
	snprintf(link, sizeof(link), "%s/r", dir);
	snprintf(plain, sizeof(plain), "%s/plain", dir);
	h_write_file(target, "precious\n", 9, 0644);
	cr_assert_eq(symlink(target, link), 0, "symlink: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		h_run(&p, NULL, opts[i], link, "--", h_th, "touch",
		      fx_path("ran"));
		expect_exit(&p, 125);
		snprintf(want, sizeof(want), "ctxrun: cannot open %s '%s': a "
			 "symbolic link in a sticky world-writable directory "
			 "is not followed\n", whats[i], link);
		expect_err(&p, want);
		cr_assert_neq(access(fx_path("ran"), F_OK), 0, "it ran");
		text = slurp(target, NULL);
		cr_assert_str_eq(text, "precious\n", "the target was written");
		free(text);
		h_release(&p);
	}
	h_run(&p, NULL, "--events", plain, "--", h_th, "exit", "0");
	expect_exit(&p, 0);
	expect_last_line_has(plain, "\"event\":\"done\",\"status\":0}");
	h_release(&p);
	cr_assert_eq(symlink(target, fx_path("mine")), 0);
	h_run(&p, NULL, "--events", fx_path("mine"), "--", h_th, "exit", "0");
	expect_exit(&p, 0);
	expect_last_line_has(target, "\"event\":\"done\",\"status\":0}");
	h_done(&p);
}
