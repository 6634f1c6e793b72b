/* SPDX-License-Identifier: MIT */
#include "ctxrun/logdir.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/util.h"

/*
 * A job name may hold any byte but blanks; a file name may not hold a
 * slash, and "." or ".." name no file of their own. So '/' and '%' are
 * written as %2F and %25, and a leading '.' as %2E (no hidden files, no
 * "..": ctxrun(1), DECISIONS); every other byte is kept.
 *
 * The file is opened with O_NOFOLLOW, and checked to be a regular file
 * before anything is written: a FIFO planted at the name would block the
 * writer, a device would take the job's output elsewhere. O_NONBLOCK
 * makes the open of a FIFO return at once; fstat() then refuses it.
 */

struct logdir {
	int fd;
	char *path;
};

/* NAME's attempt ATTEMPT as a file name in the directory, a new string. */
static char *
file_name(const char *name, int attempt)
{
	size_t len = strlen(name);
	char *out = xmalloc(3 * len + 32), *d = out;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == '%' || (i == 0 && c == '.')) {
			d += sprintf(d, "%%%02X", c);
		} else {
			*d++ = (char)c;
		}
	}
	if (attempt > 1) {
		sprintf(d, ".%d.log", attempt);
	} else {
		strcpy(d, ".log");
	}
	return out;
}

/* Open (or create) the directory PATH. */
struct logdir *
logdir_open(const char *path, struct err *e)
{
	struct logdir *ld;
	int fd;

	if (mkdir(path, 0777) < 0 && errno != EEXIST) {
		err_errno(e, errno, "cannot create log directory '%s'", path);
		return NULL;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err_errno(e, errno, "cannot open log directory '%s'", path);
		return NULL;
	}
	ld = xcalloc(1, sizeof(*ld));
	ld->fd = fd;
	ld->path = xstrdup(path);
	return ld;
}

/* Create the file of NAME's attempt ATTEMPT. */
int
logdir_create(const struct logdir *ld, const char *name, int attempt,
	      struct err *e)
{
	char *file = file_name(name, attempt);
	char *path = logdir_path(ld, name, attempt);
	struct stat st;
	int fd = openat(ld->fd, file,
			O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NOCTTY |
				O_NONBLOCK | O_CLOEXEC,
			0644);

	if (fd < 0) {
		err_errno(e, errno, "cannot create log file '%s'", path);
	} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(e, 0, "cannot create log file '%s': not a regular file",
			path);
		close(fd);
		fd = -1;
	}
	free(file);
	free(path);
	return fd;
}

/* "DIR/NAME.log" of NAME's attempt ATTEMPT. */
char *
logdir_path(const struct logdir *ld, const char *name, int attempt)
{
	char *file = file_name(name, attempt);
	size_t len = strlen(ld->path);
	char *path = xasprintf("%s%s%s", ld->path,
			       len && ld->path[len - 1] == '/' ? "" : "/",
			       file);

	free(file);
	return path;
}

/* Release LD. */
void
logdir_free(struct logdir *ld)
{
	if (!ld) {
		return;
	}
	close(ld->fd);
	free(ld->path);
	free(ld);
}
