/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of what a run shows on a terminal and leaves for CI
 * (ctxrun(1), OUTPUT): --timestamps, --log-dir files, the failed jobs'
 * last lines after the summary, and the live status region, the last on
 * a real pty (forkpty) read as a terminal would show it.
 */
#include "expect.h"
#include "fixture.h"
#include "harness.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(view, .init = fx_init, .fini = fx_fini, .timeout = 60);

/* ---- --timestamps ---- */

/*
 * Does every line of S match the extended regular expression RE? The
 * first that does not is in *BAD.
 */
static bool
every_line_matches(const char *s, const char *re, char *bad, size_t size)
{
	regex_t rx;
	char line[4096];
	bool ok = true;

	cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	while (*s && ok) {
		size_t n = strcspn(s, "\n");

		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		if (regexec(&rx, line, 0, NULL, 0) != 0) {
			snprintf(bad, size, "%s", line);
			ok = false;
		}
		s += n + (s[n] == '\n');
	}
	regfree(&rx);
	return ok;
}

/* The seconds of the stamp on the line holding NEEDLE in S. */
static double
stamp_of(const char *s, const char *needle)
{
	const char *at = strstr(s, needle);

	cr_assert_not_null(at, "no '%s' in <%s>", needle, s);
	while (at > s && at[-1] != '\n') {
		at--;
	}
	cr_assert_eq(*at, '[', "no stamp before '%s' in <%s>", needle, s);
	return strtod(at + 1, NULL);
}

/*
 * Prefixed, every job line (stdout and stderr) starts with the run's
 * elapsed time, then the prefix; a line printed after a pause carries a
 * later time. ctxrun's own lines have none.
 */
Test(view, timestamps_prefixed)
{
	struct h_proc p;
	char bad[4096];

	h_run(&p, NULL, "--timestamps", "-n", "unit,b",
	      "-c", "$TH print first err1; $TH sleep 300; $TH print second err2",
	      "-c", "printf 'no newline'");
	expect_exit(&p, 0);
	cr_assert(every_line_matches(p.out.data,
				     "^\\[[0-9]+\\.[0-9]{3}s\\] (unit|b   ) \\| ",
				     bad, sizeof(bad)),
		  "stdout line <%s>", bad);
	cr_assert(every_line_matches(p.err.data,
				     "^(\\[[0-9]+\\.[0-9]{3}s\\] unit \\| err|ctxrun: )",
				     bad, sizeof(bad)),
		  "stderr line <%s>", bad);
	expect_out_has(&p, "s] b    | no newline\n");
	cr_assert_geq(stamp_of(p.out.data, "| second") -
			      stamp_of(p.out.data, "| first"),
		      0.25, "<%s>", p.out.data);
	h_done(&p);
}

/* Grouped, each line of the block carries the time it was read. */
Test(view, timestamps_grouped)
{
	struct h_proc p;
	char bad[4096];

	h_run(&p, NULL, "--timestamps", "-o", "grouped", "-n", "unit",
	      "-c", "echo first; $TH sleep 300; printf 'second\\nthird'");
	expect_exit(&p, 0);
	cr_assert(every_line_matches(p.out.data,
				     "^\\[[0-9]+\\.[0-9]{3}s\\] (first|second|third)$",
				     bad, sizeof(bad)),
		  "stdout line <%s>", bad);
	cr_assert_eq(h_lines(p.out.data), 3, "<%s>", p.out.data);
	cr_assert_geq(stamp_of(p.out.data, "second") -
			      stamp_of(p.out.data, "first"),
		      0.25, "<%s>", p.out.data);
	h_done(&p);
}

/* Without the option, no line has a stamp. */
Test(view, no_timestamps_by_default)
{
	struct h_proc p;

	h_run(&p, NULL, "-n", "unit", "-c", "echo first");
	expect_exit(&p, 0);
	expect_out(&p, "unit | first\n");
	h_done(&p);
}
