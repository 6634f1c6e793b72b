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
 * closed output) and does not return.
 */

#include <stdbool.h>

#include "ctxrun/output.h"
#include "ctxrun/reporter.h"
#include "ctxrun/spec.h"

enum run_cgroup {
	RUN_CGROUP_AUTO, /* when a writable cgroup v2 hierarchy allows it */
	RUN_CGROUP_ON,   /* or fail with 125 */
	RUN_CGROUP_OFF,  /* process groups and marks only */
};

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
};

/* Run the pipeline S (a group, a file, or one command) with O. */
int run(const struct spec *s, const struct run_opts *o);

#endif
