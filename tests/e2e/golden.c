/* SPDX-License-Identifier: MIT */
/*
 * Golden files of the end-to-end tests: what ctxrun printed, with its
 * durations normalised, compared with tests/golden/CASE/FILE, or written
 * there with CTXRUN_GOLDEN_UPDATE=1 (`make golden-update`; review the
 * diff).
 */
#include "golden.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether the line being written at D (OUT is the start) is "ctxrun: ...". */
static bool
line_is_ours(const char *out, const char *d)
{
	const char *bol = d;

	while (bol > out && bol[-1] != '\n') {
		bol--;
	}
	return !strncmp(bol, "ctxrun: ", 8);
}

/*
 * Replace durations ("12ms", "1.5s", a last TSV field "0.013") by "T" and
 * squeeze runs of spaces in ctxrun's own lines (the TIME column's width
 * moves the table) to two; returns a copy.
 */
char *
golden_normalise(const char *s)
{
	char *out = malloc(strlen(s) + 1), *d = out;

	cr_assert_not_null(out);
	while (*s) {
		bool start = d == out || d[-1] == ' ' || d[-1] == '\t';

		if (start && isdigit((unsigned char)*s)) {
			const char *e = s;
			bool dot = false;

			while (isdigit((unsigned char)*e) || *e == '.') {
				dot |= *e++ == '.';
			}
			if (!strncmp(e, "ms", 2)) {
				e += 2;
			} else if (*e == 's') {
				e++;
			} else if (!(dot && d > out && d[-1] == '\t' && *e == '\n')) {
				e = s;
			}
			if (e != s && (*e == ' ' || *e == '\n' || *e == '\0')) {
				*d++ = 'T';
				s = e;
				continue;
			}
		}
		if (*s == ' ' && s[1] == ' ' && line_is_ours(out, d)) {
			while (s[1] == ' ') {
				s++;
			}
			*d++ = ' ';
		}
		*d++ = *s++;
	}
	*d = '\0';
	return out;
}

/* Compare TEXT (normalised) with tests/golden/CASE/FILE, or rewrite it. */
void
expect_golden(const char *gcase, const char *file, const char *text)
{
	char path[512], want[16384];
	char *got = golden_normalise(text);
	const char *update = getenv("CTXRUN_GOLDEN_UPDATE");
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "tests/golden/%s/%s", gcase, file);
	if (update && !strcmp(update, "1")) {
		snprintf(want, sizeof(want), "tests/golden/%s", gcase);
		mkdir(want, 0755);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
		cr_assert_eq(write(fd, got, strlen(got)), (ssize_t)strlen(got));
		close(fd);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s (run from the top of the checkout)", path,
		      strerror(errno));
	n = read(fd, want, sizeof(want) - 1);
	close(fd);
	want[n > 0 ? n : 0] = '\0';
	cr_assert_str_eq(got, want, "%s differs:\n--- got ---\n%s--- want ---\n%s",
			 path, got, want);
	free(got);
}

