/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_SPAWN_H
#define CTXRUN_SPAWN_H

/*
 * Starting a program in a new process, the way posix_spawn does it: a
 * clone(CLONE_VM | CLONE_VFORK) child that runs on a stack of its own,
 * prepares the process and execs, while ctxrun waits. Nothing of ctxrun's
 * memory is copied, and an exec error reaches the caller as a return
 * value (the child writes it into ctxrun's memory before it exits).
 *
 * Why not glibc's posix_spawn: per call it maps and unmaps a fresh child
 * stack (the unmap is a TLB shootdown on every core) and calls getrlimit()
 * once per file action, which together were a quarter of ctxrun's own CPU
 * per short job; and it leaves its internal signals (32, 33) ignored in the
 * program. Here the stack is mapped once and reused, since the caller is
 * suspended until the child has exec'd or exited.
 *
 * The child: every signal back to its default action; its own process
 * group when asked; the terminal handed to that group when asked; fds 0-2
 * as given, every other fd closed; the working directory; an empty signal
 * mask; exec, searching PATH (ctxrun's own, as posix_spawnp does) when
 * asked. A file the kernel will not exec (ENOEXEC: a script without "#!")
 * is run as "/bin/sh FILE ARG..." instead, as execvp and every shell do,
 * unless a NUL in its first line makes it a binary (as the shells judge).
 * Signals stay blocked in the child until just before the exec, so no
 * handler of ctxrun's ever runs on its memory there. Asked for a
 * cgroup, the child is born in it: clone3() with CLONE_INTO_CGROUP, which
 * saves the caller two cgroup migrations of its own per spawn.
 */

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

struct spawn_opts {
	char *const *argv; /* argv[0] names the program */
	char *const *envp;
	bool search_path;  /* look argv[0] up in ctxrun's PATH */
	const char *cwd;   /* NULL: ctxrun's working directory */
	bool new_group;    /* setpgid(0, 0) in the child */
	int tty_fd;        /* >= 0 with new_group: give it this terminal */
	int fds[3];        /* the child's 0, 1, 2; -1: ctxrun's own */
	bool in_cgroup;    /* born in the cgroup v2 directory cgroup_fd */
	int cgroup_fd;
};

/*
 * Start OPTS's program: 0 and its pid in *PID; or the errno of the step
 * that failed in the child (the exec, chdir...), the child reaped; or a
 * negative errno when no child could be made (clone, the stack). -ENOSYS
 * with in_cgroup: this system cannot start a child in a cgroup (clone3
 * with CLONE_INTO_CGROUP, x86-64 only here); the caller can move itself
 * into the cgroup around a spawn without one instead.
 */
int spawn_start(const struct spawn_opts *opts, pid_t *pid);

/*
 * From now on, start children with the signals of SET ignored rather than
 * at their default action; NULL: none. For the `timeout` personality: an
 * exec keeps what GNU's timeout left ignored, and scripts count on it
 * (`trap '' PIPE` around `timeout 10 yes | :`). SET is copied.
 */
void spawn_keep_ignored(const sigset_t *set);

/*
 * Lift ctxrun's soft limit on open fds to its hard limit, once, before
 * any spawn: every running job holds four fds (two pipes, two on its
 * cgroup), and the usual soft limit of 1024 stopped a run at 253 jobs at
 * once. Children get the limit ctxrun was started with (a program using
 * select() must not meet fds above 1023 it did not ask for).
 */
void spawn_raise_fd_limit(void);

#endif
