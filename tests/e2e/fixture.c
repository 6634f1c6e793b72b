/* SPDX-License-Identifier: MIT */
#include "fixture.h"

#include <sys/stat.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * One directory per test, made before the body and removed after it, so
 * that no test makes, names or cleans up its own. The environment carries
 * it (D) and the helper (TH) to ctxrun and so to every job, which lets a
 * job's command say "$D/go" instead of a path pasted in.
 */

#define FX_ARGS 32

static char fx_dir_buf[64];
const char *fx_dir = fx_dir_buf;

/* Remove one entry met by nftw (directories after their contents). */
static int
fx_remove_cb(const char *path, const struct stat *st, int flag,
	     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Prepare the test process, export TH, make the directory and export D. */
void
fx_init(void)
{
	h_setup();
	cr_assert_eq(setenv("TH", h_th, 1), 0);
	strcpy(fx_dir_buf, "/tmp/ctxrun-e2e-XXXXXX");
	cr_assert_not_null(mkdtemp(fx_dir_buf), "mkdtemp: %s",
			   strerror(errno));
	cr_assert_eq(setenv("D", fx_dir_buf, 1), 0);
}

/* Kill what a failed test left running, and remove its directory. */
void
fx_fini(void)
{
	h_teardown();
	if (fx_dir_buf[0] != '\0') {
		nftw(fx_dir_buf, fx_remove_cb, 16, FTW_DEPTH | FTW_PHYS);
		fx_dir_buf[0] = '\0';
	}
}

/* The path of NAME in the directory, in the next of sixteen buffers. */
const char *
fx_path(const char *name)
{
	static char bufs[16][PATH_MAX];
	static int next;
	char *buf = bufs[next++ % 16];

	snprintf(buf, PATH_MAX, "%s/%s", fx_dir_buf, name);
	return buf;
}

/* Write TEXT to NAME in the directory; its path. */
const char *
fx_write(const char *name, const char *text)
{
	const char *path = fx_path(name);

	h_write_file(path, text, strlen(text), 0644);
	return path;
}

/* Whether NAME exists in the directory. */
bool
fx_exists(const char *name)
{
	return access(fx_path(name), F_OK) == 0;
}

/* Read NAME in the directory into BUF, or "" when it cannot be read. */
const char *
fx_read(const char *name, char *buf, size_t size)
{
	FILE *f = fopen(fx_path(name), "re");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* Write INI to p.ini and start ctxrun OPTS... -f on it; its path. */
const char *
fx_start_ini(struct h_proc *p, const char *const *opts, const char *ini)
{
	const char *argv[FX_ARGS];
	const char *path = fx_write("p.ini", ini);
	int n = 0;

	argv[n++] = h_ctxrun;
	for (; opts != NULL && *opts != NULL; opts++) {
		cr_assert_lt(n, FX_ARGS - 3, "too many options");
		argv[n++] = *opts;
	}
	argv[n++] = "-f";
	argv[n++] = path;
	argv[n] = NULL;
	h_start_argv(p, NULL, argv);
	return path;
}

/* Write INI to p.ini and run ctxrun OPTS... -f on it to its end. */
const char *
fx_run_ini(struct h_proc *p, const char *const *opts, const char *ini)
{
	const char *path = fx_start_ini(p, opts, ini);

	h_finish(p, 20000);
	return path;
}
