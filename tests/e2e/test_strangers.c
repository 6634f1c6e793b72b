/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/wait.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "expect.h"
#include "harness.h"

/*
 * ctxrun never takes a stranger for its own. In a PID namespace whose
 * /proc is still the parent namespace's, the numbers /proc shows are
 * other processes' here: ctxrun must notice, and rely on its process
 * groups alone. After ctxrun was SIGKILLed, its watchdog must spare a
 * process that merely carries a copy of a job's CTXRUN_MARK.
 */

TestSuite(strangers, .init = h_setup, .fini = h_teardown, .timeout = 40);

/* PROG's path from PATH into BUF; NULL when PATH has none. */
static const char *
in_path(const char *prog, char *buf, size_t size)
{
	const char *path = getenv("PATH");

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		snprintf(buf, size, "%.*s/%s", (int)len, p, prog);
		if (len && access(buf, X_OK) == 0) {
			return buf;
		}
		p += len + (p[len] == ':');
	}
	return NULL;
}

/* Does ARGV (unshare and its options, then `true`) exit 0 here? */
static bool
runs(const char *const *argv)
{
	struct h_proc p;
	bool ok;

	h_start_argv(&p, NULL, argv);
	h_finish(&p, 10000);
	ok = h_code(&p) == 0;
	h_release(&p);
	return ok;
}

/*
 * As PID 1 of a new PID namespace (UNSHARE with its options, NULL-ended in
 * OPTS), ctxrun times out and stops a job's leftovers as anywhere, well
 * within its bounds, and -v says whether /proc was found foreign.
 */
static void
check_pid_namespace(const char *const *opts, bool foreign)
{
	const char *argv[24], *cmd[] = { "-v", "-t", "0.1", "--", "sleep", "10",
					 NULL };
	const char *left[] = { "-v", "-t", "20", "--", "sh", "-c",
			       "sleep 30 & exit 3", NULL };
	const char *const *runs_of[] = { cmd, left };
	int base = 0;
	struct h_proc p;

	while (opts[base]) {
		argv[base] = opts[base];
		base++;
	}
	argv[base++] = h_ctxrun;
	for (int r = 0; r < 2; r++) {
		int n = base;

		for (const char *const *a = runs_of[r]; *a; a++) {
			argv[n++] = *a;
		}
		argv[n] = NULL;
		h_start_argv(&p, NULL, argv);
		h_finish(&p, 5000);
		expect_exit(&p, r == 0 ? 124 : 3);
		if (foreign) {
			expect_err_has(&p, "ctxrun: containment: ");
			expect_err_has(&p, "/proc is not this PID namespace's");
		} else {
			expect_err_has(&p, "ctxrun: containment: ");
			expect_err_lacks(&p, "/proc is not");
		}
		/* Nothing of the namespace's host is taken for an escapee. */
		expect_err_lacks(&p, "escaped");
		if (r == 1) {
			expect_err_has(&p, "1 leftover process, SIGTERM");
		}
		h_done(&p);
	}
}

/*
 * coreutils' init-parent.sh: `unshare --pid --fork --map-root-user timeout
 * .1 sleep 10` (a Docker entrypoint is PID 1 too), where /proc is the
 * parent namespace's, and the same with a /proc of its own.
 */
Test(strangers, pid_namespace_with_or_without_its_own_proc)
{
	char unshare[PATH_MAX];
	const char *const host[] = { unshare, "--pid", "--fork",
				     "--map-root-user", NULL };
	const char *const own[] = { unshare, "--pid", "--fork", "--mount-proc",
				    "--map-root-user", NULL };

	if (!in_path("unshare", unshare, sizeof(unshare)) ||
	    !runs((const char *const[]){ unshare, "--pid", "--fork",
					 "--map-root-user", "true", NULL })) {
		cr_skip_test("unshare --pid --fork --map-root-user is "
			     "unavailable here (no unshare, or no user "
			     "namespaces)");
	}
	check_pid_namespace(host, true);
	if (!runs((const char *const[]){ unshare, "--pid", "--fork",
					 "--mount-proc", "--map-root-user",
					 "true", NULL })) {
		cr_log_warn("unshare --mount-proc is not permitted here: "
			    "only the case of the parent's /proc was run");
		return;
	}
	check_pid_namespace(own, false);
}

/* Sleep 10 ms. */
static void
nap(void)
{
	struct timespec ts = { 0, 10000000L };

	nanosleep(&ts, NULL);
}

/*
 * Start th sleep 30000 outside of ctxrun's tree: a child of the test in a
 * process group of its own, with ENTRY ("CTXRUN_MARK=...") for its whole
 * environment. Returns once its exec shows ENTRY in /proc.
 */
static pid_t
start_stranger(const char *entry)
{
	char path[64], env[512];
	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		char *const argv[] = { (char *)h_th, "sleep", "30000", NULL };
		char *const envp[] = { (char *)entry, NULL };

		setpgid(0, 0);
		execve(h_th, argv, envp);
		_exit(127);
	}
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "re");
		size_t n = f ? fread(env, 1, sizeof(env) - 1, f) : 0;

		if (f) {
			fclose(f);
		}
		env[n] = '\0';
		if (!strcmp(env, entry)) {
			return pid;
		}
		nap();
	}
	kill(pid, SIGKILL);
	cr_assert_fail("the stranger %d did not exec", (int)pid);
	return -1;
}

/* What children_but() counts: children of the test but KEEP's two. */
struct children_count {
	const pid_t *keep;
	int n;
};

/* Count ST when it is a child of the test not in KEEP. */
static void
count_child(const struct h_pstat *st, void *data)
{
	struct children_count *c = data;

	if (st->ppid == getpid() && st->pid != c->keep[0] &&
	    st->pid != c->keep[1]) {
		c->n++;
	}
}

/* How many children the test has besides KEEP (two pids), zombies too. */
static int
children_but(const pid_t *keep)
{
	struct children_count c = { keep, 0 };

	h_each_process(count_child, &c);
	return c.n;
}

/*
 * Wait up to MS ms until the test has no child but KEEP: the dead ctxrun's
 * tree and its watchdog, re-parented to the test, are gone and reaped.
 * Whether that happened.
 */
static bool
only_strangers_left(const pid_t *keep, int ms)
{
	double end = h_now() + ms / 1000.0;

	while (h_now() < end) {
		while (waitpid(-1, NULL, WNOHANG) > 0) {
		}
		if (children_but(keep) == 0) {
			return true;
		}
		nap();
	}
	return false;
}

/*
 * The watchdog of a SIGKILLed ctxrun stops the job's tree, an escapee out
 * of its group found by its mark included, but spares the processes that
 * are not the run's: one carries a copy of the job's mark, the other the
 * mark and one digit more (a prefix match takes it for job 1N's).
 */
Test(strangers, watchdog_spares_copies_of_a_mark)
{
	char mark[256] = "", exact[300], longer[300];
	const char *at;
	pid_t esc = 0, strangers[2];
	struct h_proc p;

	h_start(&p, NULL, "--", "sh", "-c",
		"echo mark=$CTXRUN_MARK; "
		"setsid sh -c 'echo ready $$; exec sleep 30' & wait");
	cr_assert_eq(h_wait_ready(&p, &esc, 1, 10000), 1);
	at = h_wait_out(&p, "mark=", 10000);
	cr_assert(at && sscanf(at, "mark=%255s", mark) == 1, "stdout <%s>",
		  p.out.data);
	snprintf(exact, sizeof(exact), "CTXRUN_MARK=%s", mark);
	snprintf(longer, sizeof(longer), "CTXRUN_MARK=%s7", mark);
	strangers[0] = start_stranger(exact);
	strangers[1] = start_stranger(longer);
	h_kill(&p, SIGKILL);
	/* ctxrun's stdout is held by the tree: EOF means the tree is gone. */
	h_finish(&p, 20000);
	cr_assert_eq(h_sig(&p), SIGKILL);
	cr_assert(only_strangers_left(strangers, 10000),
		  "the run's processes or its watchdog are still there");
	cr_assert(h_gone(esc), "the escapee %d survived", (int)esc);
	for (int i = 0; i < 2; i++) {
		bool gone = h_gone(strangers[i]);

		kill(strangers[i], SIGKILL);
		waitpid(strangers[i], NULL, 0);
		cr_assert(!gone, "the watchdog killed the stranger with <%s>",
			  i ? longer : exact);
	}
	h_done(&p);
}
