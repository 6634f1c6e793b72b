/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the --log-dir directory: file names made of job names,
 * attempts, and what is refused at a file's name.
 */
#include <sys/stat.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/logdir.h"

TestSuite(logdir, .timeout = 30);

static char dir[] = "/tmp/ctxrun-logdir-XXXXXX";

/* A fresh directory, opened as a log directory at SUB in it. */
static struct logdir *
fresh(const char *sub, char *path, size_t size)
{
	struct err e;
	struct logdir *ld;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, size, "%s/%s", dir, sub);
	ld = logdir_open(path, &e);
	cr_assert_not_null(ld, "%s", e.msg);
	return ld;
}

/* Remove the directory made by fresh(). */
static void
cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* '/', '%' and a leading '.' are encoded; attempts after the first numbered. */
Test(logdir, names)
{
	char path[256], want[300];
	struct logdir *ld = fresh("logs/", path, sizeof(path));
	char *p;

	p = logdir_path(ld, "unit", 1);
	snprintf(want, sizeof(want), "%sunit.log", path);
	cr_assert_str_eq(p, want);
	free(p);
	p = logdir_path(ld, "a/b%c", 3);
	snprintf(want, sizeof(want), "%sa%%2Fb%%25c.3.log", path);
	cr_assert_str_eq(p, want);
	free(p);
	p = logdir_path(ld, "..", 1);
	snprintf(want, sizeof(want), "%s%%2E..log", path);
	cr_assert_str_eq(p, want);
	free(p);
	logdir_free(ld);
	cleanup();
}

/*
 * A file is created 0644 under the umask and truncated; a symbolic link
 * or a FIFO at its name is refused, and nothing is written through it.
 */
Test(logdir, create_and_refuse)
{
	char path[256], file[300];
	struct logdir *ld = fresh("logs", path, sizeof(path));
	struct stat st;
	struct err e;
	int fd;

	umask(022);
	fd = logdir_create(ld, "unit", 1, &e);
	cr_assert_geq(fd, 0, "%s", e.msg);
	cr_assert_eq(write(fd, "x", 1), 1);
	close(fd);
	fd = logdir_create(ld, "unit", 1, &e);
	cr_assert_geq(fd, 0, "%s", e.msg);
	close(fd);
	snprintf(file, sizeof(file), "%s/unit.log", path);
	cr_assert_eq(stat(file, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
	cr_assert_eq(st.st_size, 0, "truncated");
	snprintf(file, sizeof(file), "%s/link.log", path);
	cr_assert_eq(symlink("/dev/null", file), 0);
	cr_assert_lt(logdir_create(ld, "link", 1, &e), 0);
	cr_assert_eq(e.saved_errno, ELOOP, "%s", e.msg);
	snprintf(file, sizeof(file), "%s/fifo.log", path);
	cr_assert_eq(mkfifo(file, 0644), 0);
	cr_assert_lt(logdir_create(ld, "fifo", 1, &e), 0);
	logdir_free(ld);
	cleanup();
}
