/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/report.h"

TestSuite(report, .timeout = 10);

/* Four results: a success, a failure, a job stopped by SIGTERM, a skip. */
static void
results(struct pipeline_result r[4])
{
	memset(r, 0, 4 * sizeof(*r));
	r[0] = (struct pipeline_result){ .name = "build", .outcome = JOB_SUCCEEDED,
					 .exit_code = 0, .started_at = 1,
					 .duration = 1.2044 };
	r[1] = (struct pipeline_result){ .name = "unit\ttab", .outcome = JOB_FAILED,
					 .exit_code = 2, .started_at = 1,
					 .duration = 0.3, .allowed = true };
	r[2] = (struct pipeline_result){ .name = "lint", .outcome = JOB_CANCELLED,
					 .exit_code = 143, .signal = 15,
					 .started_at = 1, .duration = 0.1 };
	r[3] = (struct pipeline_result){ .name = "e2e", .outcome = JOB_SKIPPED,
					 .exit_code = -1 };
	r[2].cause = "job \"unit\" failed";
	r[3].cause = "need \"unit\" failed";
}

/* Run FN on the results into a string (caller frees). */
static char *
capture(void (*fn)(FILE *, const struct pipeline_result *, size_t))
{
	struct pipeline_result r[4];
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	cr_assert_not_null(f);
	results(r);
	fn(f, r, 4);
	fclose(f);
	return text;
}

Test(report, quiet_lines_are_one_per_job_and_tab_separated)
{
	char *text = capture(report_summary_lines);

	cr_assert_str_eq(text, "build\tsucceeded\t0\t1.204\n"
			       "unit?tab\tfailed-allowed\t2\t0.300\n"
			       "lint\tcancelled\t143\t0.100\n"
			       "e2e\tskipped\t-\t-\n");
	free(text);
}

/* Remove every "ESC[...m" from S in place. */
static void
strip_sgr(char *s)
{
	char *d = s;

	while (*s) {
		if (*s == '\033') {
			s = strchr(s, 'm') + 1;
			continue;
		}
		*d++ = *s++;
	}
	*d = '\0';
}

Test(report, coloured_table_has_the_plain_tables_columns)
{
	char *plain = capture(report_summary);
	char *colour = capture(report_summary_colour);

	cr_assert_null(strchr(plain, '\033'));
	cr_assert_not_null(strstr(colour, "\033[32msucceeded\033[0m"), "%s", colour);
	cr_assert_not_null(strstr(colour, "\033[33mfailed (allowed)\033[0m"));
	cr_assert_not_null(strstr(colour, "\033[33mskipped\033[0m"));
	strip_sgr(colour);
	cr_assert_str_eq(colour, plain);
	free(plain);
	free(colour);
}
