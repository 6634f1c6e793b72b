/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_RUN_H
#define CTXRUN_RUN_H

/*
 * One run of ctxrun from start to exit status, whatever its mode: the
 * loop, the root context and its deadline, the containment and the
 * watchdog, ctxrun's own signals and the exit status. A one-command run
 * (`--`) is a pipeline of one job with its own manners (run_opts.alone);
 * what the run tells as it goes is the reporter's (reporter.h). `cli`
 * decides what to run and builds the spec.
 *
 * run() returns ctxrun's exit status, except when the run was interrupted
 * by one of the signals that stop it (signame_interrupts: SIGINT, SIGTERM,
 * SIGHUP, SIGUSR1, ...) or its output was closed: then, with everything
 * released and the tree gone, it re-raises that signal (SIGPIPE for
 * closed output) and does not return. With GNU timeout's manners
 * (run_opts.gnu) it dies instead by the signal its command died of, or
 * by SIGKILL, as struct run_gnu says.
 */

#include <signal.h>
#include <stdbool.h>

#include "ctxrun/live.h"
#include "ctxrun/output.h"
#include "ctxrun/reporter.h"
#include "ctxrun/spec.h"

enum run_cgroup {
	RUN_CGROUP_AUTO, /* when a writable cgroup v2 hierarchy allows it */
	RUN_CGROUP_ON,   /* or fail with 125 */
	RUN_CGROUP_OFF,  /* process groups and marks only */
};

/*
 * GNU timeout's manners, for the `timeout` personality (gnu_timeout.h;
 * ctxrun(1), REPLACING GNU TIMEOUT). Where a run differs from ctxrun's
 * own, and only there, run.c reads these:
 *  - signals: each of signame_terminating it gets (but those ignored at
 *    start, which stay ignored, in ctxrun and in the command) is passed
 *    on to the command as itself, not as the stop signal, and cancels
 *    nothing; SIGALRM is the deadline, now. No second-signal SIGKILL.
 *  - the deadline and the -k grace are the command's alone: no
 *    CTXRUN_DEADLINE is inherited, and without -k (grace
 *    DURATION_FOREVER) no SIGKILL comes while the command runs.
 *  - the exit status is GNU's: the command's own, or death by the signal
 *    it died of when it did not time out; 124 on a timeout (the
 *    command's with preserve_status); death by SIGKILL when the KILL was
 *    needed (137 with foreground, where GNU's does not kill itself).
 *  - a nested ctxrun's jobs (marks, ptree.h) get their signals from it.
 *  - what it tells is in GNU's words (reporter_gnu).
 */
struct run_gnu {
	struct reporter_gnu words;
	sigset_t ignored; /* ignored when ctxrun started: left so */
};

/* Parse a --cgroup mode (auto, on, off) into *MODE; -1 if none of them. */
int run_cgroup_parse(const char *text, enum run_cgroup *mode);

struct run_opts {
	enum verbosity verbosity;
	/*
	 * One command, GNU timeout style: its stdin is ctxrun's, its group
	 * gets the terminal, a Ctrl-Z stops ctxrun too, ctxrun keeps quiet
	 * but for the stop signal, and no summary.
	 */
	bool alone;
	bool foreground;      /* alone: stay in ctxrun's process group */
	bool preserve_status; /* on timeout, the job's own status, not 124 */
	bool timeout_given;   /* the deadline is -t's, not the file's */
	const char *events_path; /* --events FILE, or NULL */
	const char *junit_path;  /* --junit FILE, or NULL */
	enum run_cgroup cgroup;  /* --cgroup: a cgroup v2 per job? */
	enum output_mode output; /* the caller's choice or the mode's default */
	enum output_colour colour;
	bool timestamps;         /* --timestamps */
	const char *log_dir;     /* --log-dir or log_dir: NULL for none */
	int failure_lines;       /* --failure-lines: replayed; 0 for none */
	enum live_progress progress; /* --progress: the live view (live.h) */
	const struct run_gnu *gnu; /* GNU timeout's manners; NULL: ctxrun's */
	/*
	 * alone, as the far side of a remote job (`--remote`, ctxrun(1),
	 * REMOTE JOBS): stdin is the channel to the supervisor, and its
	 * end or the parent's death cancels the run (link.h); the command
	 * reads /dev/null. Cancelled so, the run exits with the command's
	 * status.
	 */
	bool remote;
	double remote_sent_at; /* remote: when the local side measured the
				  time left (remote.h); 0: unknown */
};

/* Run the pipeline S (a group, a file, or one command) with O. */
int run(const struct spec *s, const struct run_opts *o);

#endif
