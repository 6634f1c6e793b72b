/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "expect.h"
#include "fixture.h"
#include "harness.h"

/*
 * Processes that leave their job's process group (setsid, a daemon's double
 * fork) are still part of the job: they are stopped with it, and the run
 * does not end while they live. Each case prints the escapee's pid, so the
 * test can check that exactly that process is gone, and ends with
 * h_no_survivors(): anything ctxrun left behind would have been re-parented
 * to the test.
 */

TestSuite(containment, .init = fx_init, .fini = fx_fini, .timeout = 30);

/* Shell text that starts a TERM-obeying escapee in a new session. */
#define ESCAPE_SETSID "setsid sh -c 'echo ready $$; exec sleep 30' &"

/* Shell text for a classic daemon: double fork, new session, parent gone. */
#define ESCAPE_DAEMON \
	"sh -c \"setsid sh -c 'echo ready \\$\\$; exec sleep 30' &\"; "

/* Run ctxrun ARGS..., wait for the escapee's ready line, return its pid. */
static pid_t
escapee_of(struct h_proc *p)
{
	pid_t pid = 0;

	cr_assert_eq(h_wait_ready(p, &pid, 1, 10000), 1);
	return pid;
}

Test(containment, setsid_escapee_is_stopped_when_the_leader_exits)
{
	struct h_proc p;
	pid_t esc;

	h_start(&p, NULL, "-v", "--", "sh", "-c", ESCAPE_SETSID " sleep 0.2; exit 0");
	esc = escapee_of(&p);
	h_finish(&p, 20000);
	cr_assert_eq(h_code(&p), 0, "status %#x, stderr <%s>", p.status, p.err.data);
	cr_assert(h_gone_within(esc, 2000), "the setsid escapee %d survived", (int)esc);
	cr_assert_not_null(strstr(p.err.data, "leftover"), "stderr <%s>", p.err.data);
	h_done(&p);
}

Test(containment, double_fork_daemon_is_stopped)
{
	struct h_proc p;
	pid_t esc;

	h_start(&p, NULL, "--", "sh", "-c", ESCAPE_DAEMON "sleep 0.2; exit 3");
	esc = escapee_of(&p);
	h_finish(&p, 20000);
	cr_assert_eq(h_code(&p), 3, "the leader's status must decide");
	cr_assert(h_gone_within(esc, 2000), "the daemon %d survived", (int)esc);
	h_done(&p);
}

Test(containment, escapee_is_stopped_on_timeout_while_the_leader_runs)
{
	struct h_proc p;
	pid_t esc;

	h_start(&p, NULL, "-t", "0.5", "--", "sh", "-c", ESCAPE_SETSID " wait");
	esc = escapee_of(&p);
	h_finish(&p, 20000);
	cr_assert_eq(h_code(&p), 124);
	cr_assert(h_gone_within(esc, 2000));
	cr_assert_lt(p.elapsed, 8.0, "waited for the grace: the escapee missed "
				     "the stop signal");
	h_done(&p);
}

Test(containment, escapee_ignoring_term_is_killed_after_grace)
{
	struct h_proc p;
	pid_t esc;

	h_start(&p, NULL, "-g", "0.5", "--", "sh", "-c",
		"setsid sh -c \"trap '' TERM; echo ready \\$\\$; exec sleep 30\" & "
		"sleep 0.2; exit 0");
	esc = escapee_of(&p);
	h_finish(&p, 20000);
	cr_assert_eq(h_code(&p), 0);
	cr_assert(h_gone_within(esc, 2000));
	cr_assert_geq(p.elapsed, 0.5, "killed before the grace was over");
	h_done(&p);
}

Test(containment, escapees_of_group_jobs_are_stopped_and_dependents_wait)
{
	char cmd[512];
	struct h_proc p;

	/* b may only start once a's escapee is gone: it checks the pid file. */
	snprintf(cmd, sizeof(cmd),
		 "[job:a]\ncommand = setsid sh -c 'echo $$ > %s/esc; exec sleep 30' & "
		 "while [ ! -s %s/esc ]; do sleep 0.01; done; exit 0\n"
		 "[job:b]\nneeds = a\ncommand = ! kill -0 $(cat %s/esc) 2>/dev/null\n",
		 fx_dir, fx_dir, fx_dir);
	fx_run_ini(&p, NULL, cmd);
	cr_assert_eq(h_code(&p), 0, "status %#x; stderr <%s>", p.status, p.err.data);
	h_done(&p);
}

Test(containment, nested_run_escapee_is_stopped_by_both)
{
	struct h_proc p;
	char inner[512];
	pid_t esc;

	/* The inner run exits at once and, in turn, is cut short. */
	snprintf(inner, sizeof(inner),
		 "%s -t 0.3 -- sh -c \"%s wait\"; exit 0", h_ctxrun,
		 "setsid sh -c 'echo ready \\$\\$; exec sleep 30' &");
	h_start(&p, NULL, "-t", "20", "--", "sh", "-c", inner);
	esc = escapee_of(&p);
	h_finish(&p, 20000);
	cr_assert_eq(h_code(&p), 0, "status %#x; stderr <%s>", p.status, p.err.data);
	cr_assert(h_gone_within(esc, 2000));
	h_done(&p);
}

/*
 * Run ARGV (ctxrun, ending in a th escape) and check that the escapee, out
 * of its job's group and mark, is stopped soon after the job ends and is
 * not left behind: by the final sweep (SWEPT: its line on stderr), or, in
 * a cgroup, as a leftover of its job like any other.
 */
static void
check_escapee_stopped(const char *const *argv, bool swept)
{
	int pids[2] = { 0, 0 };
	const char *ready;
	struct h_proc p;

	h_start_argv(&p, NULL, argv);
	/* Found anywhere on the line: group mode puts a prefix before it. */
	ready = h_wait_out(&p, "ready ", 10000);
	cr_assert(ready && sscanf(ready, "ready %d %d", &pids[0], &pids[1]) == 2,
		  "no ready line: <%s>", p.out.data);
	h_finish(&p, 20000);
	cr_assert_eq(h_code(&p), 0, "status %#x, stderr <%s>", p.status, p.err.data);
	cr_assert(h_gone_within(pids[1], 2000), "the escapee %d survived",
		  (int)pids[1]);
	cr_assert_eq(strstr(p.err.data, "1 process escaped") != NULL, swept,
		     "stderr <%s>", p.err.data);
	/* Its stop signal worked: no need to wait for a 10 s grace. */
	cr_assert_lt(p.elapsed, 8.0);
	h_done(&p);
}

/* New session and empty environment: neither group nor mark finds it. */
Test(containment, unmarked_escapee_is_stopped_by_the_final_sweep)
{
	check_escapee_stopped((const char *const[]){ h_ctxrun, "--cgroup", "off",
						     "--", h_th, "escape", "30000",
						     NULL },
			      true);
}

/*
 * A leftover that escapes when the stop reaches it must not make the run
 * wait for it forever: the job ends after the grace, the sweep stops it.
 */
Test(containment, leftover_escaping_during_its_stop_does_not_hang_the_run)
{
	check_escapee_stopped((const char *const[]){ h_ctxrun, "--cgroup", "off",
						     "-g", "0.5", "--", h_th,
						     "escape", "30000", "on-term",
						     NULL },
			      true);
}

Test(containment, unmarked_escapee_of_a_group_job_is_swept)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s escape 30000", h_th);
	check_escapee_stopped((const char *const[]){ h_ctxrun, "--cgroup", "off",
						     "-c", cmd, NULL },
			      true);
}

/* In a cgroup, the same escapees are plain members of their job. */
Test(containment, cgroup_holds_unmarked_escapees)
{
	char cmd[512];

	if (!h_cgroups_usable()) {
		cr_skip_test("no writable cgroup v2 hierarchy here");
	}
	snprintf(cmd, sizeof(cmd), "%s escape 30000", h_th);
	check_escapee_stopped((const char *const[]){ h_ctxrun, "--cgroup", "on",
						     "--", h_th, "escape", "30000",
						     NULL },
			      false);
	check_escapee_stopped((const char *const[]){ h_ctxrun, "--cgroup", "on",
						     "-g", "0.5", "--", h_th,
						     "escape", "30000", "on-term",
						     NULL },
			      false);
	check_escapee_stopped((const char *const[]){ h_ctxrun, "--cgroup", "on",
						     "-c", cmd, NULL },
			      false);
}

/* --cgroup on where it cannot be: 125, and nothing runs. */
Test(containment, cgroup_on_without_cgroups_is_125)
{
	struct h_proc p;

	if (h_cgroups_usable()) {
		cr_skip_test("cgroups are usable here");
	}
	h_run(&p, NULL, "--cgroup", "on", "--", h_th, "touch", "/tmp/ctxrun-cg-ran");
	expect_exit(&p, 125);
	expect_err_has(&p, "ctxrun: --cgroup on: ");
	cr_assert(access("/tmp/ctxrun-cg-ran", F_OK) < 0, "the command ran");
	h_release(&p);
}

/* -v says which containment was chosen. */
Test(containment, verbose_names_the_containment)
{
	struct h_proc p;
	bool usable;

	h_run(&p, NULL, "-v", "--cgroup", "off", "--", "true");
	expect_exit(&p, 0);
	expect_err_has(&p, "ctxrun: containment: process groups and marks "
			   "(cgroups off)\n");
	h_release(&p);
	usable = h_cgroups_usable();
	h_run(&p, NULL, "-v", "--cgroup", "auto", "--", "true");
	expect_exit(&p, 0);
	expect_err_has(&p, usable ? "ctxrun: containment: cgroup /"
				  : "ctxrun: containment: process groups "
				    "and marks (");
	h_release(&p);
}

/* A bad --cgroup or CTXRUN_CGROUP is a usage error. */
Test(containment, bad_cgroup_mode_is_125)
{
	struct h_proc p;

	h_run(&p, NULL, "--cgroup", "maybe", "--", "true");
	expect_exit(&p, 125);
	expect_err_has(&p, "invalid --cgroup 'maybe': expected auto, on or off");
	h_release(&p);
	setenv("CTXRUN_CGROUP", "yes", 1);
	h_run(&p, NULL, "--", "true");
	unsetenv("CTXRUN_CGROUP");
	expect_exit(&p, 125);
	expect_err_has(&p, "invalid CTXRUN_CGROUP 'yes'");
	h_release(&p);
}

Test(containment, killing_ctxrun_stops_the_whole_tree)
{
	struct h_proc p;
	double killed;
	pid_t esc;
	const char *cg;
	char cg_dir[4096];

	/* A child in the group, an escapee out of it; both obey SIGTERM. */
	h_start(&p, NULL, "-v", "-g", "5", "--", "sh", "-c",
		"sleep 30 & " ESCAPE_SETSID " wait");
	esc = escapee_of(&p);
	cg = h_wait_err(&p, "containment: ", 10000);
	cr_assert_not_null(cg, "stderr <%s>", p.err.data);
	cg_dir[0] = '\0';
	sscanf(cg, "containment: cgroup %4095s", cg_dir);
	killed = h_now();
	h_kill(&p, SIGKILL);
	/* ctxrun's stdout is held by the tree: EOF means the tree is gone. */
	h_finish(&p, 20000);
	cr_assert_eq(h_sig(&p), SIGKILL);
	cr_assert(h_gone_within(esc, 2000), "the escapee survived ctxrun's death");
	cr_assert_lt(h_now() - killed, 3.0, "the tree took longer than its "
					      "stop signal needs");
	/* The watchdog itself finishes and is reaped by us, the subreaper. */
	cr_assert(h_children_gone_within(5000), "something outlived the cleanup");
	/* Its cgroups, which ctxrun could not remove, are gone too. */
	cr_assert(!cg_dir[0] || access(cg_dir, F_OK) < 0, "%s is left", cg_dir);
	h_done(&p);
}

/*
 * An emptied job cgroup serves the next job (no mkdir and rmdir per job),
 * a job still running never shares one, and the run removes them all.
 */
Test(containment, emptied_job_cgroups_are_reused_and_removed_at_the_end)
{
	const char *show = "grep '^0::' /proc/self/cgroup";
	char run_dir[256], one[256], two[256];
	struct h_proc p;
	const char *o, *a, *b, *c;

	if (!h_cgroups_usable()) {
		cr_skip_test("no writable cgroup v2 hierarchy here");
	}
	/* One at a time: three jobs, one cgroup. */
	h_run(&p, NULL, "--cgroup", "on", "-v", "-o", "raw", "-j", "1", "-c", show,
	      "-c", show, "-c", show);
	expect_exit(&p, 0);
	o = p.out.data;
	a = strstr(o, "0::");
	cr_assert_not_null(a, "stdout <%s>", o);
	b = strstr(a + 1, "0::");
	cr_assert_not_null(b, "stdout <%s>", o);
	c = strstr(b + 1, "0::");
	cr_assert_not_null(c, "stdout <%s>", o);
	cr_assert(sscanf(a, "0::%255s", one) == 1);
	cr_assert(sscanf(c, "0::%255s", two) == 1);
	cr_assert_str_eq(one, two, "stdout <%s>", o);
	cr_assert(strncmp(b, a, (size_t)(strchr(a, '\n') - a)) == 0,
		  "stdout <%s>", o);
	/* The run's directory, from -v, is gone. */
	a = strstr(p.err.data, "containment: cgroup ");
	cr_assert_not_null(a, "stderr <%s>", p.err.data);
	cr_assert(sscanf(a, "containment: cgroup %255s", run_dir) == 1);
	cr_assert(access(run_dir, F_OK) < 0 && errno == ENOENT,
		  "%s left behind", run_dir);
	h_release(&p);

	/* Two at once: two cgroups. */
	h_run(&p, NULL, "--cgroup", "on", "-o", "raw", "-c",
	      "sleep 0.3; grep '^0::' /proc/self/cgroup", "-c", show);
	expect_exit(&p, 0);
	a = strstr(p.out.data, "0::");
	cr_assert_not_null(a, "stdout <%s>", p.out.data);
	b = strstr(a + 1, "0::");
	cr_assert_not_null(b, "stdout <%s>", p.out.data);
	cr_assert(sscanf(a, "0::%255s", one) == 1);
	cr_assert(sscanf(b, "0::%255s", two) == 1);
	cr_assert_str_neq(one, two, "stdout <%s>", p.out.data);
	h_release(&p);
}

/*
 * A cgroup that takes threads only (cgroup.type "threaded") cannot hold a
 * job: under one, --cgroup auto falls back to process groups and marks,
 * knowing it before the first job, instead of failing every job with 125.
 */
Test(containment, threaded_cgroup_falls_back_to_process_groups)
{
	static const char script[] =
		"own=$(sed -n 's/^0:://p' /proc/self/cgroup)\n"
		"mnt=$(awk '$3 == \"cgroup2\" { print $2; exit }' /proc/mounts)\n"
		"t=\"$mnt${own%/}/ctxrun-e2e-threaded-$$\"\n"
		"mkdir \"$t\" 2>/dev/null || { echo skip; exit 0; }\n"
		"echo threaded >\"$t/cgroup.type\" 2>/dev/null ||"
		" { rmdir \"$t\"; echo skip; exit 0; }\n"
		"sh -c 'echo $$ >\"$1/cgroup.procs\" && exec \"$2\" -v -- true'"
		" _ \"$t\" \"$CTXRUN\"\n"
		"echo \"rc=$?\"\n"
		"rmdir \"$t\"\n";
	struct h_proc p;

	if (!h_cgroups()) {
		cr_skip_test("ctxrun uses no cgroups in this run");
	}
	cr_assert_eq(setenv("CTXRUN", h_ctxrun, 1), 0);
	h_start_argv(&p, NULL,
		     (const char *const[]){ "/bin/sh", "-c", script, NULL });
	h_finish(&p, 20000);
	if (strstr(p.out.data, "skip")) {
		h_done(&p);
		cr_skip_test("no cgroup v2 here that can be made threaded");
	}
	cr_assert_not_null(strstr(p.out.data, "rc=0"), "stdout <%s> stderr <%s>",
			   p.out.data, p.err.data);
	expect_err_has(&p, "takes threads only (cgroup.type)");
	h_done(&p);
}

/*
 * No process is moved between cgroups on a normal run (ctxrun(1),
 * DECISIONS): each job is cloned straight into its cgroup, and ctxrun and
 * its watchdog stay where they were started. A write to a cgroup.procs
 * waits in the kernel for an RCU grace period, milliseconds on a path
 * that has gone cold between two runs. strace -y names the file behind
 * every fd written to.
 */
Test(containment, no_process_is_moved_between_cgroups)
{
	const char *const modes[][8] = {
		{ "--", "true" },
		{ "-j", "1", "-c", "true", "-c", "true", "-c", "true" },
	};
	static char trace[1 << 18];
	char asan[512];
	const char *outer = getenv("ASAN_OPTIONS");
	struct h_proc p;

	if (!h_cgroups_usable()) {
		cr_skip_test("no writable cgroup v2 hierarchy here");
	}
	if (access("/usr/bin/strace", X_OK) < 0) {
		cr_skip_test("strace is not installed (make test-deps)");
	}
	/* LeakSanitizer cannot work under ptrace (an ASan build's tests). */
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sdetect_leaks=0",
		 outer ? outer : "", outer && *outer ? ":" : "");
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		const char *argv[24] = { "/usr/bin/strace", "-f", "-qq", "-y",
					 "-E", asan, "-e", "trace=openat,write",
					 "-o", fx_path("trace"), h_ctxrun, "-v",
					 "--cgroup", "on" };
		size_t n = 14;
		const char *line;

		for (size_t i = 0; i < 8 && modes[m][i]; i++) {
			argv[n++] = modes[m][i];
		}
		h_start_argv(&p, NULL, argv);
		h_finish(&p, 20000);
		expect_exit(&p, 0);
		expect_err_has(&p, "containment: cgroup ");
		fx_read("trace", trace, sizeof(trace));
		/* The trace saw the run's cgroups being made and used. */
		cr_assert_not_null(strstr(trace, "/cgroup.events>"), "trace <%s>",
				   trace);
		for (line = trace; (line = strstr(line, "write(")); line++) {
			const char *end = strchr(line, '\n');
			const char *procs = strstr(line, "/cgroup.procs>");

			cr_assert(!procs || (end && procs > end),
				  "a process was moved: %.*s",
				  (int)(end ? end - line : 200), line);
		}
		h_release(&p);
	}
	h_done(&p);
}
