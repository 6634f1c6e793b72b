/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <malloc.h>
#include <string.h>

#include "ctxrun/probedef.h"

TestSuite(probedef, .timeout = 10);

/* Bytes malloc() has handed out and not had back (glibc's count). */
static size_t
heap_in_use(void)
{
	return mallinfo2().uordblks;
}

/*
 * "log:" with nothing after it is refused without leaking the regex it
 * compiled first: found by fuzz_probe (LeakSanitizer). Under ASan,
 * mallinfo2() sees none of ASan's heap and its leak check catches it.
 */
Test(probedef, empty_log_regex_refused_without_a_leak)
{
	struct probedef d;
	struct err e;
	size_t before;

	/* The first regcomp() may set up what it keeps for good. */
	cr_assert_eq(probedef_parse(&d, "log:", &e), -1);
	before = heap_in_use();
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(probedef_parse(&d, "log:", &e), -1);
		cr_assert_str_eq(e.msg, "empty regex in probe \"log:\"");
		cr_assert_eq(d.kind, PROBE_NONE);
		cr_assert_null(d.text);
	}
	cr_assert_eq(heap_in_use(), before, "%zu bytes leaked",
		     heap_in_use() - before);
}
