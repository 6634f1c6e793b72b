/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_HARNESS_H
#define CTXRUN_HARNESS_H

/*
 * Harness for the end-to-end tests: run the real ctxrun binary and watch it.
 *
 * 1. h_setup() once per test (the suite's .init): makes the test process a
 *    child subreaper, so whatever ctxrun leaves behind is re-parented to
 *    the test, clears CTXRUN_* from the environment and resolves the
 *    binaries from CTXRUN_BIN and TH_BIN.
 * 2. h_start() forks ctxrun in its own process group with pipes on its
 *    stdout and stderr (and stdin when input is given), a clean signal
 *    state unless the options ask for a dirty one, and starts the clock.
 * 3. h_wait_out() / h_wait_err() / h_wait_ready() pump the pipes until a
 *    string shows up, with a deadline: tests never sleep to synchronise.
 * 4. h_finish() pumps until ctxrun is reaped and both pipes are at EOF, or
 *    kills everything and fails the test when its deadline passes.
 * 5. h_no_survivors() reaps and asserts that nothing was re-parented to
 *    the test; anything found is killed by pid so the test cleans up.
 * 6. h_release() frees the buffers; h_teardown() (the suite's .fini) kills
 *    whatever a failed test left running. h_done() is steps 5 and 6, the
 *    usual end of a run.
 *
 * fixture.h builds the suites' common .init and .fini on steps 1 and 6.
 */

#include <sys/types.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* Paths of the binaries under test, absolute when they exist. */
extern const char *h_ctxrun;
extern const char *h_th;
/* Basename of h_th: the NAME in ctxrun's messages and CTXRUN_JOB. */
extern const char *h_th_name;

struct h_buf {
	char *data; /* NUL-terminated */
	size_t len;
	size_t cap;
};

struct h_opts {
	const char *input; /* written to ctxrun's stdin; NULL: /dev/null */
	size_t input_len;  /* 0: strlen(input) */
	int ignore[8];     /* signals ctxrun starts with ignored, 0-ended */
	int block[8];      /* signals ctxrun starts with blocked, 0-ended */
	bool close_stdout; /* close our read end of stdout at once */
	/*
	 * Files ctxrun's stdout and stderr are opened on (O_WRONLY) in the
	 * child, instead of the pipes, e.g. "/dev/full"; NULL: the pipe.
	 * The pipe then reads EOF at once.
	 */
	const char *stdout_file;
	const char *stderr_file;
	/*
	 * The file to exec, when argv[0] is only the name the program is to
	 * see (the `timeout` personality: "timeout: ..." in its messages);
	 * NULL: argv[0] itself.
	 */
	const char *path;
};

struct h_proc {
	pid_t pid;
	int out_fd;
	int err_fd;
	int in_fd;
	int pidfd;
	size_t in_off;
	const char *input;
	size_t input_len;
	struct h_buf out;
	struct h_buf err;
	double t0;        /* CLOCK_MONOTONIC seconds at spawn */
	double reaped_at; /* CLOCK_MONOTONIC seconds at reap */
	double elapsed;   /* reaped_at - t0 */
	bool reaped;
	bool pipes_held; /* pipes stayed open after ctxrun was reaped */
	int status;      /* raw wait status */
};

/* Prepare the test process; see step 1. */
void h_setup(void);

/* Kill ctxruns still running and anything re-parented to us. */
void h_teardown(void);

/* Seconds on CLOCK_MONOTONIC. */
double h_now(void);

/* Seconds on CLOCK_REALTIME (Unix time). */
double h_wall(void);

/* Start ARGV (NULL-ended, argv[0] a path) with OPTS (may be NULL). */
void h_start_argv(struct h_proc *p, const struct h_opts *opts,
		  const char *const *argv);

/* Wait up to MS ms for NEEDLE on stdout; returns where it starts or NULL. */
const char *h_wait_out(struct h_proc *p, const char *needle, int ms);

/* Wait up to MS ms for NEEDLE on stderr; returns where it starts or NULL. */
const char *h_wait_err(struct h_proc *p, const char *needle, int ms);

/* Wait up to MS ms for ctxrun to exit (pipes may stay open); whether it did. */
bool h_wait_exit(struct h_proc *p, int ms);

/*
 * Wait up to MS ms for a complete "ready ..." line on stdout (or a job's
 * "name | ready ..." in the group modes) and parse up to MAX pids from it
 * into PIDS; returns how many were parsed, and fails
 * the test (after cleaning up) when no ready line comes.
 */
int h_wait_ready(struct h_proc *p, pid_t *pids, int max, int ms);

/*
 * Pump until ctxrun is reaped and its pipes are at EOF. If that takes more
 * than MS ms, kill ctxrun and its leftovers and fail the test.
 */
void h_finish(struct h_proc *p, int ms);

/* Send SIG to ctxrun (by pid); fails the test when kill(2) does. */
void h_kill(struct h_proc *p, int sig);

/* Assert that no process was left behind (see step 5). */
void h_no_survivors(void);

/*
 * Can ctxrun give each job a cgroup here (--cgroup on works), whatever
 * CTXRUN_CGROUP says? Asked once, remembered.
 */
bool h_cgroups_usable(void);

/* Does ctxrun give each job a cgroup in this run: usable, and not off? */
bool h_cgroups(void);

/* Free P's buffers. */
void h_release(struct h_proc *p);

/*
 * The test is done with P: assert that nothing survived ctxrun (step 5),
 * then free P (step 6). Call it in the test's body, where a failure fails
 * the test.
 */
void h_done(struct h_proc *p);

/* Exit code of a process that exited, -1 when it did not exit. */
int h_code(const struct h_proc *p);

/* Signal that killed the process, 0 when it was not killed. */
int h_sig(const struct h_proc *p);

/* Number of lines in S. */
int h_lines(const char *s);

/* Whether process PID no longer exists (or is a zombie). */
bool h_gone(pid_t pid);

/* The fields of /proc/PID/stat the tests read. */
struct h_pstat {
	pid_t pid;
	pid_t ppid;
	char state;    /* 'R', 'S', 'Z', ... */
	char comm[64]; /* the name between the parentheses, cut to 63 */
};

/* Called by h_each_process() with a process's stat and the caller's DATA. */
typedef void (*h_process_fn)(const struct h_pstat *st, void *data);

/*
 * Read /proc/PID/stat into ST; false when PID is gone or its stat line
 * cannot be parsed (ST is then undefined).
 */
bool h_pstat_read(pid_t pid, struct h_pstat *st);

/*
 * Call FN(st, DATA) for every process /proc lists whose stat can be read,
 * the test's own and zombies included; fails the test when /proc cannot be
 * opened. FN may signal or reap the process it is given.
 */
void h_each_process(h_process_fn fn, void *data);

/*
 * Wait up to MS ms for PID to be gone; whether it is. A process closes
 * its fds before it becomes a zombie, so the EOF a test waited for can
 * come a moment early.
 */
bool h_gone_within(pid_t pid, int ms);

/*
 * Reap every child of the test for up to MS ms (what a killed ctxrun's
 * watchdog and its jobs leave to the test, the subreaper); true when
 * none is left.
 */
bool h_children_gone_within(int ms);

/*
 * Write LEN bytes of DATA to the file PATH, made or truncated, with
 * exactly MODE (whatever the umask), or fail the test.
 */
void h_write_file(const char *path, const char *data, size_t len, mode_t mode);

/* Start ctxrun with the given arguments (no NULL needed). */
#define h_start(p, opts, ...)                                            \
	h_start_argv((p), (opts), (const char *const[]){ h_ctxrun,       \
							 __VA_ARGS__, NULL })

/* Start and finish ctxrun with the given arguments within 20 s. */
#define h_run(p, opts, ...)                                              \
	do {                                                             \
		h_start((p), (opts), __VA_ARGS__);                       \
		h_finish((p), 20000);                                    \
	} while (0)

#endif
