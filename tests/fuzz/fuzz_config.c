/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the pipeline-file parser: any bytes must give either
 * a valid spec or at least one "NAME:LINE: message", sorted by line, and
 * never a crash, a leak or undefined behaviour. Build and run with
 * `make fuzz` (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/config.h"

/* Abort (a finding for libFuzzer) unless COND holds. */
static void
check(int cond)
{
	if (!cond) {
		abort();
	}
}

/* Check what a valid spec promises: jobs, needs in range, no cycles. */
static void
check_spec(const struct spec *s)
{
	size_t max_level, *levels;

	check(s->n_jobs > 0);
	for (size_t i = 0; i < s->n_jobs; i++) {
		const struct spec_job *j = &s->jobs[i];

		check(j->command && *j->command && j->name && *j->name);
		check(j->line > 0);
		for (size_t k = 0; k < j->n_needs; k++) {
			check(j->needs[k] < s->n_jobs && j->needs[k] != i);
		}
		check(j->n_env == 0 || j->env[j->n_env] == NULL);
	}
	/* spec_levels() requires an acyclic spec; a level per job proves it. */
	levels = spec_levels(s, &max_level);
	check(max_level >= 1 && max_level <= s->n_jobs);
	free(levels);
}

/* Check the messages: each "fuzz.ini:LINE: ...", lines in order. */
static void
check_errors(const struct config_errors *errs)
{
	long prev = 0;

	check(errs->n > 0);
	for (size_t i = 0; i < errs->n; i++) {
		char *end;
		long line;

		check(!strncmp(errs->msgs[i], "fuzz.ini:", 9));
		line = strtol(errs->msgs[i] + 9, &end, 10);
		check(line >= 1 && line >= prev && !strncmp(end, ": ", 2));
		prev = line;
	}
}

/* libFuzzer's entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs;
	struct spec *s = config_parse_buffer("fuzz.ini", (const char *)data,
					     size, &errs);

	if (s) {
		check(errs.n == 0);
		check_spec(s);
	} else {
		check_errors(&errs);
	}
	spec_free(s);
	config_errors_release(&errs);
	return 0;
}
