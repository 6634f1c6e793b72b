/* SPDX-License-Identifier: MIT */
/*
 * The inherited-state matrix: ctxrun started with one signal blocked or
 * ignored by its parent (env --block-signal=CHLD, nohup, a shell's
 * background job), in each of its three modes: one command (--), a group
 * (-c) and a pipeline file (-f). Whatever it inherits, a run must
 *
 *   (a) run its jobs to completion with the right exit status, and give
 *       them an empty mask and default dispositions;
 *   (b) time out with 124;
 *   (c) be interruptible: SIGTERM and SIGINT to ctxrun, and the inherited
 *       signal itself when ctxrun handles it, stop the job's tree, and
 *       ctxrun dies by that signal.
 *
 * The harness starts ctxrun with the signal state of the case (h_opts);
 * jobs say they are running with a "ready" line. The suite runs twice,
 * with cgroups and with CTXRUN_CGROUP=off, which covers that dimension.
 */
#include "expect.h"
#include "fixture.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(inherited, .init = fx_init, .fini = fx_fini, .timeout = 90);

/* How long one run may take before the test gives up on it (ms). */
#define IN_RUN_MS 10000

enum in_mode { IN_COMMAND, IN_GROUP, IN_FILE };

/* Indices, not pointers: Criterion copies parameters into its workers. */
struct in_case {
	int sig;      /* the signal ctxrun inherits blocked or ignored */
	bool ignored; /* SIG_IGN; else blocked */
	enum in_mode mode;
};

static const int in_sigs[] = { SIGCHLD, SIGINT, SIGTERM,
			       SIGHUP,  SIGALRM, SIGPIPE };
static const char *const in_mode_names[] = { "--", "-c", "-f" };

#define IN_NSIGS (sizeof(in_sigs) / sizeof(in_sigs[0]))
#define IN_NMODES (sizeof(in_mode_names) / sizeof(in_mode_names[0]))

/* "SIGCHLD blocked, -c": the case, for messages. */
static const char *
in_name(const struct in_case *c)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s %s, %s", sigabbrev_np(c->sig),
		 c->ignored ? "ignored" : "blocked", in_mode_names[c->mode]);
	return buf;
}

/*
 * Write a pipeline file in which the job "x" runs th SUB once the job
 * "first" has succeeded; its path.
 */
static const char *
in_write_ini(const char *sub)
{
	char text[256];

	snprintf(text, sizeof(text),
		 "[job:first]\ncommand = \"$TH\" exit 0\n\n"
		 "[job:x]\nneeds = first\ncommand = \"$TH\" %s\n", sub);
	return fx_write("p.ini", text);
}

/*
 * Start ctxrun in C's signal state and mode, its job "x" running th SUB
 * (words separated by single spaces), with "-t TIMEOUT" unless NULL. In
 * the group modes "x" runs beside a job "first" that exits 0.
 */
static void
in_start(struct h_proc *p, const struct in_case *c, const char *timeout,
	 const char *sub)
{
	struct h_opts o = { .ignore = { 0 } };
	char words[128], shell[160];
	const char *argv[16];
	int n = 0;

	if (c->ignored) {
		o.ignore[0] = c->sig;
	} else {
		o.block[0] = c->sig;
	}
	argv[n++] = h_ctxrun;
	if (timeout) {
		argv[n++] = "-t";
		argv[n++] = timeout;
	}
	snprintf(shell, sizeof(shell), "\"$TH\" %s", sub);
	switch (c->mode) {
	case IN_COMMAND:
		snprintf(words, sizeof(words), "%s", sub);
		argv[n++] = "--";
		argv[n++] = h_th;
		for (char *w = strtok(words, " "); w && n < 15;
		     w = strtok(NULL, " ")) {
			argv[n++] = w;
		}
		break;
	case IN_GROUP:
		argv[n++] = "-n";
		argv[n++] = "first,x";
		argv[n++] = "-c";
		argv[n++] = "\"$TH\" exit 0";
		argv[n++] = "-c";
		argv[n++] = shell;
		break;
	case IN_FILE:
		argv[n++] = "-f";
		argv[n++] = in_write_ini(sub);
		break;
	}
	argv[n] = NULL;
	h_start_argv(p, &o, argv);
}

/* Wait for ctxrun to exit and its pipes to end, or fail naming C. */
static void
in_finish(struct h_proc *p, const struct in_case *c)
{
	cr_assert(h_wait_exit(p, IN_RUN_MS), "%s: no exit in %d ms; stdout "
		  "<%s> stderr <%s>", in_name(c), IN_RUN_MS, p->out.data,
		  p->err.data);
	h_finish(p, IN_RUN_MS);
}

/* (a) The job runs to its end, in a clean signal state, and its status. */
static void
in_completes(const struct in_case *c)
{
	const char *mask, *ign;
	struct h_proc p;

	in_start(&p, c, NULL, "sigstate 3");
	in_finish(&p, c);
	cr_assert_eq(h_code(&p), 3, "%s: status %#x; stderr <%s>", in_name(c),
		     p.status, p.err.data);
	mask = c->mode == IN_COMMAND ? "mask 0000000000000000\n"
				     : "| mask 0000000000000000\n";
	ign = c->mode == IN_COMMAND ? "ignored\n" : "| ignored\n";
	cr_assert(strstr(p.out.data, mask) && strstr(p.out.data, ign),
		  "%s: the job's signal state: <%s>", in_name(c), p.out.data);
	h_done(&p);
}

/* (b) A short deadline stops the job: 124, at once. */
static void
in_times_out(const struct in_case *c)
{
	struct h_proc p;

	in_start(&p, c, "0.2", "sleep 30000");
	in_finish(&p, c);
	cr_assert_eq(h_code(&p), 124, "%s: status %#x; stderr <%s>",
		     in_name(c), p.status, p.err.data);
	cr_assert_lt(p.elapsed, 5.0, "%s: took %.2f s", in_name(c), p.elapsed);
	h_done(&p);
}

/* (c) SIG to ctxrun while the job runs: the tree goes, ctxrun dies of SIG. */
static void
in_interrupted_by(const struct in_case *c, int sig)
{
	struct h_proc p;
	pid_t pids[2];
	double sent;

	in_start(&p, c, NULL, "tree 1 30000");
	cr_assert_eq(h_wait_ready(&p, pids, 2, IN_RUN_MS), 2, "%s", in_name(c));
	sent = h_now();
	h_kill(&p, sig);
	cr_assert(h_wait_exit(&p, IN_RUN_MS), "%s, %s to ctxrun: no exit in "
		  "%d ms; stderr <%s>", in_name(c), sigabbrev_np(sig),
		  IN_RUN_MS, p.err.data);
	cr_assert_eq(h_sig(&p), sig, "%s, %s to ctxrun: status %#x; "
		     "stderr <%s>", in_name(c), sigabbrev_np(sig), p.status,
		     p.err.data);
	cr_assert_lt(p.reaped_at - sent, 5.0, "%s: took %.2f s", in_name(c),
		     p.reaped_at - sent);
	cr_assert(h_gone(pids[0]) && h_gone(pids[1]),
		  "%s, %s: the job's tree outlived ctxrun", in_name(c),
		  sigabbrev_np(sig));
	h_finish(&p, IN_RUN_MS);
	h_done(&p);
}

/* Run the three checks of case C. */
static void
in_run(const struct in_case *c)
{
	in_completes(c);
	in_times_out(c);
	in_interrupted_by(c, SIGTERM);
	in_interrupted_by(c, SIGINT);
	/* The inherited signal itself, where it is one that stops a run. */
	if (c->sig == SIGHUP || c->sig == SIGALRM) {
		in_interrupted_by(c, c->sig);
	}
}

/* Free the parameter array. */
static void
in_free_cases(struct criterion_test_params *crp)
{
	cr_free(crp->params);
}

ParameterizedTestParameters(inherited, matrix)
{
	size_t n = IN_NSIGS * 2 * IN_NMODES, i = 0;
	struct in_case *cases = cr_malloc(n * sizeof(*cases));

	for (size_t s = 0; s < IN_NSIGS; s++) {
		for (int ign = 0; ign < 2; ign++) {
			for (size_t m = 0; m < IN_NMODES; m++) {
				cases[i++] = (struct in_case){
					.sig = in_sigs[s],
					.ignored = ign,
					.mode = (enum in_mode)m,
				};
			}
		}
	}
	return cr_make_param_array(struct in_case, cases, n, in_free_cases);
}

ParameterizedTest(struct in_case *c, inherited, matrix)
{
	in_run(c);
}
