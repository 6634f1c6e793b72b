/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/spawn.h"

extern char **environ;

static char dir[] = "/tmp/ctxrun-spawn-XXXXXX";

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

TestSuite(spawn, .init = setup, .fini = teardown, .timeout = 20);

/* Run ARGV per REQ's other fields; the errno, or its wait status in *ST. */
static int
run(struct spawn_opts *req, char **argv, int *st)
{
	pid_t pid;
	int rc;

	req->argv = argv;
	if (!req->envp) {
		req->envp = environ;
	}
	rc = spawn_start(req, &pid);
	if (rc == 0) {
		cr_assert_eq(waitpid(pid, st, 0), pid);
	}
	return rc;
}

/* A file in the test's directory with MODE and CONTENT. */
static void
make_file(const char *sub, const char *name, mode_t mode, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(content, f);
	fclose(f);
	chmod(path, mode);
}

Test(spawn, path_search_skips_unusable_entries_as_execvp_does)
{
	char path[512], *argv[] = { "ctxrun-spawn-prog", NULL };
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	struct spawn_opts req = { .search_path = true, .tty_fd = -1,
				 .fds = { -1, -1, -1 } };
	int st = 0;

	/* A directory that is missing, one with a non-executable file of the
	 * name, then the real one: EACCES is remembered, the search goes on. */
	make_file("noexec", "ctxrun-spawn-prog", 0644, "#!/bin/sh\nexit 9\n");
	make_file("bin", "ctxrun-spawn-prog", 0755, "#!/bin/sh\nexit 7\n");
	snprintf(path, sizeof(path), "%s/missing:%s/noexec:%s/bin", dir, dir, dir);
	setenv("PATH", path, 1);
	cr_assert_eq(run(&req, argv, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7);

	/* Only the non-executable one: EACCES, and the child reaped. */
	snprintf(path, sizeof(path), "%s/missing:%s/noexec", dir, dir);
	setenv("PATH", path, 1);
	cr_assert_eq(run(&req, argv, &st), EACCES);
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);

	/* Nowhere: ENOENT. */
	snprintf(path, sizeof(path), "%s/missing", dir);
	setenv("PATH", path, 1);
	cr_assert_eq(run(&req, argv, &st), ENOENT);
	if (old) {
		setenv("PATH", old, 1);
		free(old);
	}
}

Test(spawn, a_name_with_a_slash_is_not_searched)
{
	char prog[256], *argv[] = { prog, NULL };
	struct spawn_opts req = { .search_path = true, .tty_fd = -1,
				 .fds = { -1, -1, -1 } };
	int st = 0;

	make_file("bin", "p", 0755, "#!/bin/sh\nexit 5\n");
	snprintf(prog, sizeof(prog), "%s/bin/p", dir);
	cr_assert_eq(run(&req, argv, &st), 0);
	cr_assert_eq(WEXITSTATUS(st), 5);
	snprintf(prog, sizeof(prog), "%s/bin/none", dir);
	cr_assert_eq(run(&req, argv, &st), ENOENT);
}

/* A script without "#!" runs as "/bin/sh SCRIPT ARG...", as execvp has it. */
Test(spawn, a_script_without_shebang_runs_with_sh)
{
	char prog[256], out[256], got[1024] = "", want[1024];
	char *argv[] = { prog, "a", "b c", NULL };
	char *by_name[] = { "ctxrun-spawn-script", "d", NULL };
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	struct spawn_opts req = { .search_path = true, .tty_fd = -1,
				 .fds = { -1, -1, -1 } };
	int st = 0, fd;

	make_file("bin", "ctxrun-spawn-script", 0755,
		  "echo \"$0|$1|$2\" >>\"${0%/bin/*}/out\"\nexit 6\n");
	snprintf(prog, sizeof(prog), "%s/bin/ctxrun-spawn-script", dir);
	cr_assert_eq(run(&req, argv, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 6, "status %#x", st);
	/* Found through PATH: $0 is the file found. */
	snprintf(out, sizeof(out), "%s/bin", dir);
	setenv("PATH", out, 1);
	cr_assert_eq(run(&req, by_name, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 6, "status %#x", st);
	if (old) {
		setenv("PATH", old, 1);
		free(old);
	}
	snprintf(out, sizeof(out), "%s/out", dir);
	fd = open(out, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_gt(read(fd, got, sizeof(got) - 1), 0);
	close(fd);
	snprintf(want, sizeof(want), "%s|a|b c\n%s|d|\n", prog, prog);
	cr_assert_str_eq(got, want);
	/* A NUL in the first line: a binary, not a script, as shells judge. */
	snprintf(prog, sizeof(prog), "%s/bin/binary", dir);
	fd = open(prog, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	cr_assert_eq(write(fd, "exit 6 \0\n", 9), 9);
	close(fd);
	cr_assert_eq(run(&req, argv, &st), ENOEXEC);
}

Test(spawn, fds_directory_group_and_environment)
{
	char out[256], *argv[] = { "/bin/sh", "-c",
		"echo \"$(pwd) $(ls /proc/$$/fd | tr '\\n' ' ')$SPAWN_T\"; "
		"[ \"$(cut -d' ' -f5 /proc/$$/stat)\" = $$ ]", NULL };
	char *envp[] = { "SPAWN_T=yes", "PATH=/usr/bin:/bin", NULL };
	int p[2], extra = open("/dev/null", O_RDONLY); /* not close-on-exec */
	struct spawn_opts req = { .envp = envp, .cwd = dir, .new_group = true,
				 .tty_fd = -1 };
	ssize_t n;
	int st = 0;

	cr_assert(pipe(p) == 0);
	req.fds[0] = -1;
	req.fds[1] = p[1];
	req.fds[2] = -1;
	cr_assert_eq(run(&req, argv, &st), 0);
	close(p[1]);
	n = read(p[0], out, sizeof(out) - 1);
	close(p[0]);
	close(extra);
	cr_assert_gt(n, 0);
	out[n] = '\0';
	/* Its fds: 0, 1, 2 and the one ls reads the directory with. */
	cr_assert(strstr(out, dir) == out, "%s", out);
	cr_assert(strstr(out, " 0 1 2 3 yes\n"), "%s", out);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "not its own group");
}

Test(spawn, a_missing_directory_is_enoent)
{
	char cwd[256], *argv[] = { "/bin/true", NULL };
	struct spawn_opts req = { .cwd = cwd, .tty_fd = -1,
				 .fds = { -1, -1, -1 } };
	int st;

	snprintf(cwd, sizeof(cwd), "%s/nowhere", dir);
	cr_assert_eq(run(&req, argv, &st), ENOENT);
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
}

Test(spawn, the_callers_signal_mask_is_kept)
{
	char *argv[] = { "/bin/true", NULL };
	struct spawn_opts req = { .tty_fd = -1, .fds = { -1, -1, -1 } };
	sigset_t set, now;
	int st;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	cr_assert_eq(run(&req, argv, &st), 0);
	sigprocmask(SIG_BLOCK, NULL, &now);
	cr_assert_eq(sigismember(&now, SIGUSR2), 1);
	cr_assert_eq(sigismember(&now, SIGTERM), 0);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* A new cgroup v2 directory below ours, its path in PATH; false if none. */
static bool
make_cgroup(char *path, size_t size)
{
	static const char *const mounts[] = { "/sys/fs/cgroup/unified",
					      "/sys/fs/cgroup" };
	char line[512] = "", probe[600];
	FILE *f = fopen("/proc/self/cgroup", "re");

	while (f && fgets(line, sizeof(line), f) && strncmp(line, "0::", 3)) {
	}
	if (f) {
		fclose(f);
	}
	if (strncmp(line, "0::", 3)) {
		return false;
	}
	line[strcspn(line, "\n")] = '\0';
	for (size_t i = 0; i < sizeof(mounts) / sizeof(*mounts); i++) {
		snprintf(probe, sizeof(probe), "%s/cgroup.controllers",
			 mounts[i]);
		if (access(probe, F_OK) < 0) {
			continue;
		}
		snprintf(path, size, "%s%s/ctxrun-spawn-test.%d", mounts[i],
			 strcmp(line + 3, "/") ? line + 3 : "", (int)getpid());
		return mkdir(path, 0755) == 0;
	}
	return false;
}

Test(spawn, the_child_is_born_in_the_cgroup_it_is_given)
{
	char cg[1024], out[256], got[4096] = "", *argv[] = { "sh", "-c",
		"exec cat /proc/self/cgroup", NULL };
	struct spawn_opts req = { .search_path = true, .tty_fd = -1,
				 .fds = { -1, -1, -1 }, .in_cgroup = true };
	const char *rel;
	FILE *f;
	int st = -1, rc;

	if (!make_cgroup(cg, sizeof(cg))) {
		cr_skip_test("no writable cgroup v2 here");
	}
	snprintf(out, sizeof(out), "%s/cgroup", dir);
	req.fds[1] = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	req.cgroup_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(req.fds[1], 0);
	cr_assert_geq(req.cgroup_fd, 0);
	rc = run(&req, argv, &st);
	close(req.fds[1]);
	close(req.cgroup_fd);
	rmdir(cg);
	if (rc == -ENOSYS) {
		cr_skip_test("no clone3() with CLONE_INTO_CGROUP here");
	}
	cr_assert_eq(rc, 0, "spawn_start: %s", strerror(rc < 0 ? -rc : rc));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	f = fopen(out, "re");
	cr_assert_not_null(f);
	fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	/* The cgroup v2 line names the new cgroup, relative to the mount. */
	rel = strstr(cg, "/ctxrun-spawn-test.");
	cr_assert_not_null(strstr(got, rel), "the child's cgroups: %s", got);
	/* And we stayed where we were. */
	f = fopen("/proc/self/cgroup", "re");
	cr_assert_not_null(f);
	memset(got, 0, sizeof(got));
	fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	cr_assert_null(strstr(got, rel), "ours: %s", got);
}
