/* SPDX-License-Identifier: MIT */
#include "ctxrun/spawn.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctxrun/exit.h"
#include "ctxrun/util.h"

/* The limit on open fds ctxrun was given, restored in every child. */
static struct rlimit job_nofile;
static bool nofile_raised;

/* Signals every child starts with ignored (spawn_keep_ignored()). */
static sigset_t keep_ignored;
static bool keeps_ignored;

/* The child's stack: what exec needs, plus room for sanitizer runtimes. */
#define STACK_SIZE (128 * 1024)

/* The shell that runs a program the kernel cannot (execvp's ENOEXEC rule). */
#define SCRIPT_SHELL "/bin/sh"

struct child {
	const struct spawn_opts *opts;
	const char *path; /* PATH to search */
	int max_fd;       /* for closing fds where close_range() is missing */
	int err;          /* written by the child before it exits */
	char *script;     /* PATH_MAX bytes: with ENOEXEC, what exec refused */
};

/* The child stack, mapped once with a guard page below it. */
static char *
child_stack(void)
{
	static char *top;
	long page = sysconf(_SC_PAGESIZE);
	char *base;

	if (top) {
		return top;
	}
	base = mmap(NULL, STACK_SIZE + (size_t)page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (base == MAP_FAILED) {
		return NULL;
	}
	mprotect(base, (size_t)page, PROT_NONE);
	top = base + STACK_SIZE + page;
	return top;
}

/*
 * Everything below runs in the child, on ctxrun's memory while ctxrun
 * waits: no allocation, no stdio, nothing that takes a lock, and no
 * sanitizer instrumentation (its runtime knows nothing of this stack).
 */
#define CHILD_CODE __attribute__((no_sanitize("address", "undefined")))

/* Leave the child with E as the reason. */
CHILD_CODE static _Noreturn void
child_fail(struct child *c, int e)
{
	c->err = e ? e : EINVAL;
	_exit(EXIT_ENOENT);
}

/* Close every fd from 3 up. */
CHILD_CODE static void
close_from_3(const struct child *c)
{
	if (close_range(3, ~0U, 0) == 0) {
		return;
	}
	for (int fd = 3; fd < c->max_fd; fd++) {
		close(fd);
	}
}

/*
 * Leave after the exec of PATH failed with E, keeping PATH for the parent
 * when the kernel did not know how to run it (ENOEXEC, a script without
 * "#!"): the parent then runs it with the shell.
 */
CHILD_CODE static _Noreturn void
exec_failed(struct child *c, const char *path, int e)
{
	size_t len = strlen(path) + 1;

	if (e == ENOEXEC && len <= PATH_MAX) {
		memcpy(c->script, path, len);
	}
	child_fail(c, e);
}

/* exec FILE, through the directories of C->path when it has no slash. */
CHILD_CODE static void
exec_program(struct child *c, const char *file)
{
	const struct spawn_opts *r = c->opts;
	size_t flen = strlen(file) + 1;
	char buf[PATH_MAX];
	bool denied = false;

	if (!r->search_path || strchr(file, '/')) {
		execve(file, r->argv, r->envp);
		exec_failed(c, file, errno);
	}
	for (const char *dir = c->path, *end;; dir = end + 1) {
		size_t dlen;

		end = strchrnul(dir, ':');
		dlen = (size_t)(end - dir);
		if (dlen + 1 + flen <= sizeof(buf)) {
			memcpy(buf, dir, dlen);
			/* An empty entry is the working directory. */
			if (dlen) {
				buf[dlen++] = '/';
			}
			memcpy(buf + dlen, file, flen);
			execve(buf, r->argv, r->envp);
			/* As execvp: try the next directory on these. */
			switch (errno) {
			case EACCES:
				denied = true;
				break;
			case ENOENT:
			case ENOTDIR:
			case ESTALE:
			case ENODEV:
			case ETIMEDOUT:
				break;
			default:
				exec_failed(c, buf, errno);
			}
		}
		if (!*end) {
			break;
		}
	}
	child_fail(c, denied ? EACCES : ENOENT);
}

CHILD_CODE static int
child_main(void *arg)
{
	struct child *c = arg;
	const struct spawn_opts *r = c->opts;
	/*
	 * The kernel's struct sigaction, all zero: SIG_DFL (0), no flags, an
	 * empty mask, whatever the architecture's layout. Straight to the
	 * kernel, since glibc refuses its internal signals (32, 33), which an
	 * ignoring parent would otherwise pass on through the exec.
	 */
	static const unsigned long dfl[8];
	static const struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP) {
			syscall(SYS_rt_sigaction, sig, dfl, NULL, (NSIG - 1) / 8);
		}
		if (keeps_ignored && sigismember(&keep_ignored, sig) == 1) {
			sigaction(sig, &ign, NULL);
		}
	}
	if (nofile_raised && setrlimit(RLIMIT_NOFILE, &job_nofile) < 0) {
		child_fail(c, errno);
	}
	if (r->new_group) {
		if (setpgid(0, 0) < 0) {
			child_fail(c, errno);
		}
		/* Allowed from a background group: SIGTTOU is blocked. */
		if (r->tty_fd >= 0 && tcsetpgrp(r->tty_fd, getpid()) < 0) {
			child_fail(c, errno);
		}
	}
	for (int i = 0; i < 3; i++) {
		int fd = r->fds[i];

		/* Onto itself, only close-on-exec needs clearing. */
		if (fd >= 0 && (fd == i ? fcntl(i, F_SETFD, 0)
					: dup2(fd, i)) < 0) {
			child_fail(c, errno);
		}
	}
	close_from_3(c);
	if (r->cwd && chdir(r->cwd) < 0) {
		child_fail(c, errno);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	exec_program(c, r->argv[0]);
	return EXIT_ENOENT;
}

/* Start children with SET ignored. */
void
spawn_keep_ignored(const sigset_t *set)
{
	keeps_ignored = set != NULL;
	if (set) {
		keep_ignored = *set;
	}
}

/* Lift ctxrun's soft limit on open fds; see spawn.h. */
void
spawn_raise_fd_limit(void)
{
	struct rlimit rl;

	/*
	 * Without close_range(), the child closes every fd up to the limit
	 * one by one: not with a limit of a million.
	 */
	if (close_range(INT_MAX, INT_MAX, 0) < 0 ||
	    getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max) {
		return;
	}
	job_nofile = rl;
	rl.rlim_cur = rl.rlim_max;
	nofile_raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

#if defined(__x86_64__) && defined(SYS_clone3)
#define HAVE_CLONE3_RUN 1

/* clone3()'s arguments, as far as CLONE_INTO_CGROUP (CLONE_ARGS_SIZE_VER2). */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

#define CLONE3_INTO_CGROUP 0x200000000ULL

/*
 * clone3(ARGS), the child calling FN(ARG) on the stack ARGS gives it and
 * exiting with what it returns: the parent gets the pid or -errno. glibc
 * has no such wrapper, and the child cannot return into C code whose
 * stack frame it no longer has, so the call and the jump are one piece of
 * assembly (glibc's clone() is the same for clone).
 */
static long
clone3_run(struct clone3_args *args, int (*fn)(void *), void *arg)
{
	register void *a __asm__("r8") = arg;
	register int (*f)(void *) __asm__("r9") = fn;
	long ret;

	/* syscall keeps every register but rax, rcx and r11: r8, r9 too. */
	__asm__ volatile("syscall\n\t"
			 "testq %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xorl %%ebp, %%ebp\n\t"
			 "movq %%r8, %%rdi\n\t"
			 "callq *%%r9\n\t"
			 "movl %%eax, %%edi\n\t"
			 "movl %[exit], %%eax\n\t"
			 "syscall\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(ret)
			 : "a"((long)SYS_clone3), "D"(args), "S"(sizeof(*args)),
			   "r"(a), "r"(f), [exit] "i"(SYS_exit)
			 : "rcx", "r11", "memory", "cc");
	return ret;
}
#endif

/*
 * Clone the child of C, in the cgroup C's request names if any: its pid,
 * or -errno when no child was made. A cgroup without clone3() (an old
 * kernel, seccomp, valgrind) is -ENOSYS, and not tried again.
 */
static pid_t
clone_child(struct child *c, char *stack)
{
	pid_t p;

	if (!c->opts->in_cgroup) {
		p = clone(child_main, stack, CLONE_VM | CLONE_VFORK | SIGCHLD,
			  c);
		return p < 0 ? -errno : p;
	}
#ifdef HAVE_CLONE3_RUN
	static bool missing;
	struct clone3_args args = {
		.flags = CLONE_VM | CLONE_VFORK | CLONE3_INTO_CGROUP,
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)(stack - STACK_SIZE),
		.stack_size = STACK_SIZE,
		.cgroup = (uint64_t)c->opts->cgroup_fd,
	};

	if (!missing) {
		p = (pid_t)clone3_run(&args, child_main, c);
		/* Kernels before 5.7 reject the flag or the size. */
		missing = p == -ENOSYS || p == -E2BIG || p == -EINVAL ||
			  p == -EPERM;
		if (!missing) {
			return p;
		}
	}
#endif
	return -ENOSYS;
}

/*
 * Start OPTS's program once, as spawn_start() does; with ENOEXEC, the file
 * the exec refused is in SCRIPT (PATH_MAX bytes).
 */
static int
spawn_once(const struct spawn_opts *opts, pid_t *pid, char *script)
{
	static int max_fd;
	struct child c = { .opts = opts, .script = script };
	char *stack = child_stack();
	sigset_t all, old;
	pid_t p;
	int rc = 0;

	if (!stack) {
		return -errno;
	}
	if (!max_fd) {
		long n = sysconf(_SC_OPEN_MAX);

		max_fd = n > 0 && n < INT_MAX ? (int)n : 65536;
	}
	c.max_fd = max_fd;
	c.path = getenv("PATH");
	if (!c.path) {
		c.path = "/bin:/usr/bin";
	}
	/* No handler of ours may run in the child, on our memory. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	p = clone_child(&c, stack);
	if (p < 0) {
		rc = p;
	} else if (c.err) {
		rc = c.err;
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {
		}
	} else {
		*pid = p;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/*
 * Is PATH a binary rather than a script: a NUL in its first line? What
 * bash and dash ask before they run a file the kernel refused (execvp
 * does not ask, and a program for another system then fails as a script).
 */
static bool
is_binary(const char *path)
{
	char head[256];
	const char *nl;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, head, sizeof(head));

	if (fd >= 0) {
		close(fd);
	}
	if (n <= 0) {
		return false;
	}
	nl = memchr(head, '\n', (size_t)n);
	return memchr(head, '\0', nl ? (size_t)(nl - head) : (size_t)n) != NULL;
}

/*
 * Run SCRIPT, a file the kernel would not exec, with the shell as execvp
 * and the shells do: "/bin/sh SCRIPT ARG...", the rest of OPTS unchanged;
 * ENOEXEC still for a binary. A second spawn, rather than a fallback in
 * the child: the child may not allocate, and an argv of any length does
 * not fit its fixed stack; scripts without "#!" are rare enough to pay
 * for the first attempt.
 */
static int
spawn_script(const struct spawn_opts *opts, char *script, pid_t *pid)
{
	struct spawn_opts sh = *opts;
	size_t argc = 0;
	char **argv;
	int rc;

	if (is_binary(script)) {
		return ENOEXEC;
	}
	while (opts->argv[argc]) {
		argc++;
	}
	argv = xcalloc(argc + 2, sizeof(*argv));
	argv[0] = SCRIPT_SHELL;
	argv[1] = script;
	memcpy(argv + 2, opts->argv + 1, argc * sizeof(*argv));
	sh.argv = argv;
	sh.search_path = false;
	rc = spawn_once(&sh, pid, script);
	free(argv);
	/* No shell to run it with: the script's own error is the news. */
	return rc == ENOENT ? ENOEXEC : rc;
}

int
spawn_start(const struct spawn_opts *opts, pid_t *pid)
{
	char script[PATH_MAX];
	int rc;

	script[0] = '\0';
	rc = spawn_once(opts, pid, script);
	if (rc == ENOEXEC && script[0]) {
		rc = spawn_script(opts, script, pid);
	}
	return rc;
}
