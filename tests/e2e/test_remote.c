/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of remote jobs (ctxrun(1), REMOTE JOBS) against a real
 * sshd on loopback (sshd.h), with the ctxrun under test on the far side.
 * Each test starts its own sshd and stops it before checking that nothing
 * survived. A remote job that must be stopped runs `sleep 1000.TAG`, TAG a
 * number unique to the test: the survivor check looks for TAG in every
 * argv on the machine (the far side's processes are not the test's
 * children), and waits for that state, never for a time. Stops use a
 * grace of 1 s, so "within grace + 2 s" is 3 s.
 */
#include "expect.h"
#include "fixture.h"
#include "harness.h"
#include "sshd.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

TestSuite(remote, .init = fx_init, .fini = fx_fini, .timeout = 60);

/* Grace of the stop tests, and the bound on their far side's end. */
#define GRACE "1s"
#define GONE_MS 3000

/* "exec sleep 1000.TAG" after a ready line. */
static const char *
sleeper(const char *tag)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "echo ready; exec sleep 1000.%s", tag);
	return buf;
}

/* The far side of TAG's job is running; the test may now stop it. */
static void
wait_running(struct h_proc *p, const char *tag)
{
	cr_assert(h_wait_out(p, "ready", 20000), "no ready line; stderr <%s>",
		  p->err.data);
	cr_assert(sx_tagged_within(tag, 10000), "no sleep %s", tag);
}

/* Nothing of TAG's job is left anywhere, within grace + 2 s of now. */
static void
expect_gone(const char *tag)
{
	pid_t pid = 0;

	if (!sx_untagged_within(tag, GONE_MS)) {
		int n = sx_tagged(tag, NULL, &pid);

		kill(pid, SIGKILL);
		cr_assert_fail("%d process(es) of tag %s survived, e.g. %d", n,
			       tag, (int)pid);
	}
}

/* End of a test: sshd stopped, then nothing left of the run. */
static void
done(struct h_proc *p)
{
	sx_stop();
	h_done(p);
}

/* One command there: its status, its stdout and stderr kept apart. */
Test(remote, one_command_succeeds_with_streams_apart)
{
	struct h_proc p;

	sx_start();
	h_run(&p, NULL, "--host", sx_host(), "--", "sh", "-c",
	      "echo 1; echo 2 >&2; echo 3; echo 4 >&2");
	expect_exit(&p, 0);
	expect_out(&p, "1\n3\n");
	expect_err(&p, "2\n4\n");
	done(&p);
}

/* A failure status comes back as it is, alone and in a group's summary. */
Test(remote, failure_status)
{
	struct h_proc p;

	sx_start();
	h_run(&p, NULL, "--host", sx_host(), "--", "sh", "-c", "exit 7");
	expect_exit(&p, 7);
	expect_err(&p, "");
	h_release(&p);
	h_run(&p, NULL, "--host", sx_host(), "-n", "far", "-c", "exit 9");
	expect_exit(&p, 9);
	expect_err_has(&p, "far  failed   exit 9");
	done(&p);
}

/* A death by signal there is one here: 128+N, and the summary names it. */
Test(remote, signal_death)
{
	struct h_proc p;

	sx_start();
	h_run(&p, NULL, "--host", sx_host(), "-n", "far", "-c",
	      "kill -USR1 $$");
	expect_exit(&p, 128 + SIGUSR1);
	expect_err_has(&p, "far  failed   SIGUSR1");
	done(&p);
}

/* A command not found there: 127, with the far side's word for it. */
Test(remote, command_not_found)
{
	struct h_proc p;

	sx_start();
	h_run(&p, NULL, "--host", sx_host(), "--", "no-such-command-here");
	expect_exit(&p, 127);
	expect_err_has(&p, "no-such-command-here");
	done(&p);
}

/* No ctxrun on the far side: 127, and the summary names the host. */
Test(remote, missing_remote_ctxrun)
{
	struct h_proc p;
	char want[128];

	sx_start();
	setenv("CTXRUN_REMOTE_CTXRUN", "/nonexistent/ctxrun", 1);
	h_run(&p, NULL, "--host", sx_host(), "-n", "far", "-c", "true");
	expect_exit(&p, 127);
	snprintf(want, sizeof(want), "not found on host %s", sx_host());
	expect_err_has(&p, want);
	expect_err_has(&p, "/nonexistent/ctxrun");
	done(&p);
}

/* A host that refuses: ssh's own 255 and its message, named as ssh's. */
Test(remote, refused_connection)
{
	struct h_proc p;
	char host[64], want[128];

	sx_start();
	/* sshd is stopped: its port refuses now. */
	snprintf(host, sizeof(host), "%s", sx_host());
	sx_stop();
	h_run(&p, NULL, "--host", host, "-n", "far", "-c", "true");
	expect_exit(&p, 255);
	expect_err_has(&p, "Connection refused");
	snprintf(want, sizeof(want), "ssh to host %s failed (exit 255)", host);
	expect_err_has(&p, want);
	h_done(&p);
}

/*
 * Quotes, $, newlines, blanks and an empty word in the arguments, the
 * env values and the directory reach the far side as they were written.
 */
Test(remote, quoting_torture)
{
	struct h_proc p;
	char ini[2048];

	sx_start();
	h_run(&p, NULL, "--host", sx_host(), "--", "printf", "[%s]\n", "it's",
	      "say \"hi\"", "$HOME", "`id`", "a\nb", "two  words", "",
	      "100%", "%41", "\\");
	expect_exit(&p, 0);
	expect_out(&p, "[it's]\n[say \"hi\"]\n[$HOME]\n[`id`]\n[a\nb]\n"
		       "[two  words]\n[]\n[100%]\n[%41]\n[\\]\n");
	h_release(&p);
	cr_assert_eq(mkdir(fx_path("a dir 'q'"), 0755), 0);
	snprintf(ini, sizeof(ini),
		 "[job:far]\nhost = %s\ndirectory = %s\n"
		 "env = A=$x 'q\" `y`  z\nenv = B=\n"
		 "command = printf '<%%s>\\n' \"$A\" \"$B\" \"$CTXRUN_JOB\" "
		 "\"$(pwd)\"\n",
		 sx_host(), fx_path("a dir 'q'"));
	fx_run_ini(&p, (const char *const[]){ "-o", "raw", NULL }, ini);
	expect_exit(&p, 0);
	snprintf(ini, sizeof(ini), "<$x 'q\" `y`  z>\n<>\n<far>\n<%s>\n",
		 fx_path("a dir 'q'"));
	expect_out(&p, ini);
	done(&p);
}

/* The run's deadline: the far side's tree is gone within grace + 2 s. */
Test(remote, deadline_stops_the_far_side)
{
	struct h_proc p;
	const char *tag = sx_tag();

	sx_start();
	h_start(&p, NULL, "-t", "3s", "-g", GRACE, "--host", sx_host(), "-n",
		"far", "-c", sleeper(tag));
	wait_running(&p, tag);
	h_finish(&p, 20000);
	expect_exit(&p, 124);
	/* The channel's end stopped it, not SIGKILL to ssh after 1 s + 2 s. */
	expect_secs(p.elapsed, 3.0, 3.0 + 1.9);
	expect_gone(tag);
	done(&p);
}

/* A job's timeout is enforced on the far side: timed out, 124. */
Test(remote, job_timeout_on_the_far_side)
{
	struct h_proc p;
	const char *tag = sx_tag();
	char ini[512];

	sx_start();
	snprintf(ini, sizeof(ini),
		 "[job:far]\nhost = %s\ntimeout = 2s\ngrace = " GRACE "\n"
		 "command = %s\n",
		 sx_host(), sleeper(tag));
	fx_start_ini(&p, NULL, ini);
	wait_running(&p, tag);
	h_finish(&p, 20000);
	expect_exit(&p, 124);
	expect_err_has(&p, "timed out");
	expect_gone(tag);
	done(&p);
}

/*
 * The local deadline is the backstop: a far side that ignores the channel
 * (here no ctxrun at all, a bare sleep) cannot hold the run past its
 * deadline, the grace and the margin.
 */
Test(remote, local_deadline_is_the_backstop)
{
	struct h_proc p;
	const char *tag = sx_tag();
	char script[256];
	pid_t pid = 0;

	sx_start();
	snprintf(script, sizeof(script),
		 "#!/bin/sh\necho ready\nexec sleep 1000.%s </dev/null\n", tag);
	h_write_file(fx_path("deaf"), script, strlen(script), 0755);
	setenv("CTXRUN_REMOTE_CTXRUN", fx_path("deaf"), 1);
	h_start(&p, NULL, "-t", "1s", "-g", GRACE, "--host", sx_host(), "-n",
		"far", "-c", "true");
	wait_running(&p, tag);
	h_finish(&p, 20000);
	expect_exit(&p, 124);
	/* 1 s, the grace, the 2 s margin, and ssh's own start. */
	expect_secs(p.elapsed, 1.0, 1.0 + 1.0 + 2.0 + 2.0);
	/* No ctxrun there to stop it: the test's own clean-up. */
	while (sx_tagged(tag, "sleep", &pid)) {
		kill(pid, SIGKILL);
		sx_untagged_within(tag, 1000);
	}
	done(&p);
}

/* A local failure stops a remote sibling, and a remote failure a local one. */
Test(remote, fail_fast_between_local_and_remote)
{
	struct h_proc p;
	const char *far = sx_tag(), *near = sx_tag();
	char ini[1024];

	sx_start();
	snprintf(ini, sizeof(ini),
		 "[pipeline]\ngrace = " GRACE "\n"
		 "[job:far]\nhost = %s\ncommand = %s\n"
		 "[job:near]\ncommand = \"$D/waitfor\" %s; exit 3\n",
		 sx_host(), sleeper(far), far);
	/*
	 * Until the far sleep runs (bounded): then fail. The sleep itself,
	 * not the shell whose argv names it (it has yet to say "ready").
	 */
	fx_write("waitfor", "#!/bin/sh\n"
			    "i=0; until grep -qsa \"^sleep.1000\\.$1\" "
			    "/proc/[0-9]*/cmdline; do "
			    "i=$((i+1)); [ $i -gt 2000 ] && exit 99; "
			    "sleep 0.01; done\n");
	chmod(fx_path("waitfor"), 0755);
	(void)near;
	h_start(&p, NULL, "-f", fx_write("p.ini", ini));
	wait_running(&p, far);
	h_finish(&p, 20000);
	expect_exit(&p, 3);
	expect_gone(far);
	h_release(&p);

	snprintf(ini, sizeof(ini),
		 "[pipeline]\ngrace = " GRACE "\n"
		 "[job:far]\nhost = %s\ncommand = exit 4\n"
		 "[job:near]\ncommand = %s\n",
		 sx_host(), sleeper(near));
	fx_run_ini(&p, NULL, ini);
	expect_exit(&p, 4);
	expect_err_has(&p, "near  cancelled");
	expect_gone(near);
	done(&p);
}

/* Ctrl-C: ctxrun dies by SIGINT, and nothing runs on the far side. */
Test(remote, interrupt)
{
	struct h_proc p;
	const char *tag = sx_tag();
	double t;

	sx_start();
	h_start(&p, NULL, "-g", GRACE, "--host", sx_host(), "-n", "far", "-c",
		sleeper(tag));
	wait_running(&p, tag);
	t = h_now();
	h_kill(&p, SIGINT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	/* The channel's end stopped it, not SIGKILL to ssh after 1 s + 2 s. */
	expect_secs(p.reaped_at - t, 0, 1.9);
	expect_err_has(&p, "interrupted by SIGINT");
	expect_gone(tag);
	done(&p);
}

/* kill -9 of the local ssh (a dropped connection): the far side stops. */
Test(remote, dropped_connection)
{
	struct h_proc p;
	const char *tag = sx_tag();
	pid_t ssh = 0;

	sx_start();
	h_start(&p, NULL, "-g", GRACE, "--host", sx_host(), "-n", "far", "-c",
		sleeper(tag));
	wait_running(&p, tag);
	cr_assert_eq(sx_tagged(tag, "ssh", &ssh), 1, "no local ssh");
	kill(ssh, SIGKILL);
	expect_gone(tag);
	h_finish(&p, 20000);
	expect_exit(&p, 128 + SIGKILL);
	done(&p);
}

/* kill -9 of the local ctxrun: its watchdog, and the far side, stop all. */
Test(remote, killed_supervisor)
{
	struct h_proc p;
	const char *tag = sx_tag();

	sx_start();
	h_start(&p, NULL, "-g", GRACE, "--host", sx_host(), "-n", "far", "-c",
		sleeper(tag));
	wait_running(&p, tag);
	h_kill(&p, SIGKILL);
	expect_gone(tag);
	h_finish(&p, 20000);
	expect_signal(&p, SIGKILL);
	/* Its watchdog and ssh were left to the test, a subreaper. */
	sx_stop();
	cr_assert(h_children_gone_within(5000));
	h_done(&p);
}

/* The far side's CTXRUN_DEADLINE is never later than the local one. */
Test(remote, remaining_deadline_is_never_later)
{
	struct h_proc p;
	char ini[512];
	double here, there;
	const char *l, *r;

	sx_start();
	snprintf(ini, sizeof(ini),
		 "[pipeline]\ntimeout = 30s\n"
		 "[job:near]\ncommand = echo \"L=$CTXRUN_DEADLINE\"\n"
		 "[job:far]\nhost = %s\ncommand = echo \"R=$CTXRUN_DEADLINE\"\n",
		 sx_host());
	fx_run_ini(&p, NULL, ini);
	expect_exit(&p, 0);
	l = strstr(p.out.data, "L=");
	r = strstr(p.out.data, "R=");
	cr_assert(l && r, "stdout <%s>", p.out.data);
	here = strtod(l + 2, NULL);
	there = strtod(r + 2, NULL);
	cr_assert(here > 0 && there > 0 && there <= here,
		  "far %.3f, near %.3f", there, here);
	cr_assert(here - there < 5, "far %.3f, near %.3f", there, here);
	done(&p);
}

/* examples/remote.ini, with the test's sshd as localhost. */
Test(remote, example)
{
	struct h_proc p;
	char cwd[4096];

	sx_start();
	cr_assert(getcwd(cwd, sizeof(cwd)));
	h_start(&p, NULL, "-f", "examples/remote.ini");
	h_finish(&p, 20000);
	expect_exit(&p, 124);
	expect_out_has(&p, "hello  | it's \"$HOME\", unexpanded on ");
	expect_out_has(&p, "as job hello\n");
	expect_out_has(&p, "slow   | working\n");
	/* The far deadline, or the local one a moment later: both time out. */
	expect_err_has(&p, "slow    timed out");
	expect_err_has(&p, "report  skipped");
	expect_secs(p.elapsed, 2.0, 2.0 + 3.0);
	done(&p);
}

/*
 * The far side alone, without ssh: `ctxrun --remote` reading a pipe from
 * `sleep 1000.WRITER`, under a shell that stands for sshd. Returns the
 * tag of the job's sleep; *WRITER gets the writer's.
 */
static const char *
start_far_side(struct h_proc *p, const char **writer)
{
	static char job[32], cmd[1024];

	snprintf(job, sizeof(job), "%s", sx_tag());
	*writer = sx_tag();
	snprintf(cmd, sizeof(cmd),
		 "sleep 1000.%s | '%s' --remote -g 1000ms --job far -- sh -c "
		 "echo%%20ready%%3B%%20exec%%20sleep%%201000.%s; echo $?",
		 *writer, h_ctxrun, job);
	h_start_argv(p, NULL, (const char *const[]){ "/bin/sh", "-c", cmd,
						     NULL });
	wait_running(p, job);
	return job;
}

/*
 * The pid of the writer's sleep, once it runs: the shell forks it before
 * ctxrun, but nothing orders its exec before the job's ready line.
 */
static pid_t
writer_pid(const char *writer)
{
	double end = h_now() + 10;
	pid_t pid = 0;

	while (sx_tagged(writer, "sleep", &pid) != 1) {
		cr_assert(h_now() < end, "no sleep %s", writer);
		poll(NULL, 0, 5);
	}
	return pid;
}

/* End-of-file on the channel stops the far side's job. */
Test(remote, far_side_stops_at_end_of_channel)
{
	struct h_proc p;
	const char *writer, *job = start_far_side(&p, &writer);
	pid_t pid = writer_pid(writer);

	kill(pid, SIGKILL);
	expect_gone(job);
	h_finish(&p, 20000);
	expect_err_has(&p, "connection to the supervisor lost");
	/* The far side exits with its command's status: SIGTERM's 143. */
	expect_out_has(&p, "ready\n143\n");
	h_done(&p);
}

/* The death of its parent (sshd) stops the far side's job too. */
Test(remote, far_side_stops_when_its_parent_dies)
{
	struct h_proc p;
	const char *writer, *job = start_far_side(&p, &writer);
	pid_t pid = 0;

	h_kill(&p, SIGKILL);
	expect_gone(job);
	/* The writer still holds the channel open: it was not EOF. */
	cr_assert_eq(sx_tagged(writer, "sleep", &pid), 1);
	kill(pid, SIGKILL);
	h_finish(&p, 20000);
	expect_err_has(&p, "connection to the supervisor lost");
	cr_assert(h_children_gone_within(5000));
	h_done(&p);
}
