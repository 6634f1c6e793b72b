/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_RUN_H
#define CTXRUN_RUN_H

/*
 * One run of ctxrun from start to exit status: the loop, the root context
 * and its deadline, ctxrun's own signals, the lifecycle lines on stderr and
 * the exit status, and the --events and --junit reports it feeds. `cli`
 * decides what to run and calls one of these; only `cli` and `run` print.
 *
 * Both functions return ctxrun's exit status, except when the run was
 * interrupted by a signal (signame_interrupts: SIGINT, SIGTERM, SIGQUIT,
 * SIGUSR1...) or its output was closed: then, with everything released and
 * the tree gone, they re-raise that signal (SIGPIPE for closed output) and
 * do not return.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ctxrun/output.h"
#include "ctxrun/spec.h"

enum run_verbosity { RUN_QUIET, RUN_NORMAL, RUN_VERBOSE };

enum run_cgroup {
	RUN_CGROUP_AUTO, /* when a writable cgroup v2 hierarchy allows it */
	RUN_CGROUP_ON,   /* or fail with 125 */
	RUN_CGROUP_OFF,  /* process groups and marks only */
};

struct run_opts {
	enum run_verbosity verbosity;
	bool preserve_status; /* on timeout, the job's own status, not 124 */
	bool foreground;      /* one command: stay in ctxrun's group */
	int64_t timeout_ms;   /* one command: root deadline; 0 none */
	int64_t grace_ms;     /* one command */
	int stop_signal;      /* one command */
	char **command;       /* one command: argv, exec'd directly */
	const char *events_path; /* --events FILE, or NULL */
	const char *junit_path;  /* --junit FILE, or NULL */
	enum run_cgroup cgroup;  /* --cgroup: a cgroup v2 per job? */
	enum output_mode output; /* the caller's choice or the mode's default */
	enum output_colour colour;
};

/* Run O->command alone, GNU timeout style (SPEC §1, one-command mode). */
int run_command(const struct run_opts *o);

/* Run the pipeline S (ad-hoc -c group or file). */
int run_pipeline(const struct spec *s, const struct run_opts *o);

#endif
