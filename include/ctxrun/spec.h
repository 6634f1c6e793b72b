/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_SPEC_H
#define CTXRUN_SPEC_H

/*
 * A pipeline as plain data: what to run, in which order, under which
 * limits. Built by `config` from a file or by `cli` from -c options, read by
 * `pipeline`; it has no behaviour of its own.
 *
 * Ownership: a struct spec owns everything it points to (strings, arrays);
 * spec_free() releases it all. Jobs are in file order; `needs` holds indices
 * into `jobs`, already resolved and checked for cycles.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctxrun/probedef.h"

/*
 * What a job is to the scheduler (ctxrun.ini(5), SERVICES): a task runs
 * to its end; a service runs until no unfinished job needs it, and its
 * dependents wait for it to be ready; a teardown job (always = true) runs
 * once its needs are over, whatever their outcome, even after the run was
 * cancelled.
 */
enum spec_role { SPEC_TASK = 0, SPEC_SERVICE, SPEC_TEARDOWN };

struct spec_job {
	char *name;
	char *command;      /* shell text, run as `shell -c command` */
	char **argv;        /* or, when set, exec'd directly (one-command mode) */
	size_t *needs;      /* indices into spec.jobs */
	size_t n_needs;
	int64_t timeout_ms; /* 0: none of its own */
	int64_t grace_ms;   /* defaults to the pipeline's */
	int stop_signal;    /* defaults to the pipeline's */
	bool grace_set;     /* grace_ms / stop_signal were given for the job, */
	bool signal_set;    /* so a pipeline-wide override leaves them alone */
	char *directory;    /* NULL: ctxrun's working directory */
	char **env;         /* "KEY=VALUE", NULL-terminated; NULL when none */
	size_t n_env;
	bool allow_failure;
	char *host;         /* [user@]name[:port]: run there over ssh
			       (ctxrun.ini(5), REMOTE JOBS); NULL: here */
	int retries;        /* extra attempts after a failure */
	int64_t retry_delay_ms;
	int line;           /* line of its [job:NAME] header; 0 when not from a file */
	enum spec_role role;
	struct probedef ready;     /* service: PROBE_NONE, ready once started */
	int64_t ready_timeout_ms;  /* service: defaults to 60s */
	int64_t ready_interval_ms; /* service, polled probes: 500ms */
};

struct spec {
	char *file;         /* where it came from: "ci.ini", "-" or "command line" */
	int64_t timeout_ms; /* root deadline; 0: none */
	int64_t grace_ms;
	int stop_signal;
	int jobs_limit;     /* 0: no limit */
	bool fail_fast;
	char *shell;
	char *log_dir;      /* log_dir: a log file per attempt there; NULL */
	int failure_lines;  /* failed jobs' last lines after the summary */
	char *ssh_command;   /* remote jobs' ssh and its options; NULL: ssh */
	char *remote_ctxrun; /* ctxrun on the far side; NULL: from PATH */
	struct spec_job *jobs;
	size_t n_jobs;
	size_t *index;      /* name hash for spec_find: job index + 1, 0 empty */
	size_t index_mask;
};

/* Defaults of a pipeline: no timeout, grace 10s, SIGTERM, fail-fast, /bin/sh. */
#define SPEC_DEFAULT_GRACE_MS 10000
#define SPEC_DEFAULT_SHELL "/bin/sh"
#define SPEC_DEFAULT_FAILURE_LINES 20
#define SPEC_FAILURE_LINES_MAX 10000
#define SPEC_DEFAULT_READY_TIMEOUT_MS 60000
#define SPEC_DEFAULT_READY_INTERVAL_MS 500
#define SPEC_DEFAULT_TEARDOWN_TIMEOUT_MS 60000

/* Create an empty spec with the defaults above; FILE is copied. */
struct spec *spec_new(const char *file);

/* Append a job named NAME (copied) with the pipeline's defaults; return it. */
struct spec_job *spec_add_job(struct spec *s, const char *name);

/*
 * J's command as an argv to exec without the shell, when the shell would do
 * nothing but split it into words and look the first up in PATH (as make
 * does for simple commands): S's shell is the default one, the text has
 * only letters, digits, blanks and -_./=:,+@% (no quoting, expansion,
 * redirection or operator), no word before the first is an assignment,
 * the first word is not a shell keyword or built-in without a program of
 * the same behaviour, and J does not set PATH. NULL otherwise; the caller
 * frees the argv and its words with spec_argv_free().
 */
char **spec_direct_argv(const struct spec *s, const struct spec_job *j);
void spec_argv_free(char **argv);

/* Index of the job named NAME, or -1; O(1), files hold thousands of jobs. */
long spec_find(const struct spec *s, const char *name);

/*
 * Keep only the jobs named in NAMES (N of them) and everything they need,
 * transitively, in file order; indices are renumbered. The names must exist.
 */
void spec_select(struct spec *s, char *const *names, size_t n);

/*
 * Who needs each job ("dependents"), the reverse of the jobs' needs, in
 * one index: the jobs that need job I are job[start[I]] up to, not
 * including, job[start[I + 1]], in file order. Built once from the needs
 * by spec_dependents_init(); the caller owns it and releases it with
 * spec_dependents_release(). It does not follow later changes to S.
 */
struct spec_dependents {
	size_t *start; /* n_jobs + 1 offsets into job */
	size_t *job;   /* start[n_jobs] job indices */
};

/* Build the dependents index D of S (see above). */
void spec_dependents_init(struct spec_dependents *d, const struct spec *s);

/* Release what D holds. */
void spec_dependents_release(struct spec_dependents *d);

/*
 * Level of every job, as a new array the caller frees: 1 for a job with no
 * needs, else one more than its deepest need; 0 for a job in a dependency
 * cycle or needing one, directly or not. *MAX_LEVEL gets the highest.
 */
size_t *spec_levels(const struct spec *s, size_t *max_level);

/* Release S and everything it owns; NULL is a no-op. */
void spec_free(struct spec *s);

#endif
