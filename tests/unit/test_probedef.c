/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <sys/resource.h>
#include <malloc.h>
#include <stdio.h>
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

/* Parse "log:RE" and return -1 or 0 with E filled. */
static int
parse_log(const char *re, struct err *e)
{
	struct probedef d;
	char text[256];
	int rc;

	snprintf(text, sizeof(text), "log:%s", re);
	rc = probedef_parse(&d, text, e);
	probedef_release(&d);
	return rc;
}

/*
 * A regex whose repetitions make glibc's regcomp() copy its tree past
 * PROBEDEF_REGEX_MAX_COPIES is refused before it is compiled: "a" and
 * 30 '+' took 2^30 copies and all memory (found by fuzz_probe, with
 * "log:!" and 250 bytes). The address space is bounded here so that,
 * unfixed, regcomp() says "Memory exhausted" rather than eat the
 * machine; not under ASan, whose shadow memory is past any bound.
 */
Test(probedef, regex_repetitions_past_the_limit_refused)
{
	const char *big[] = { "a++++++++++++++++++++++++++++++",
			      "(((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+",
			      "(a{100}){101}", "x{2}{5001}", "(ab|c){10000}",
			      "a{1,10001}", "[)(]{100}(b{10}){1000}" };
	struct err e;

#if !defined(__SANITIZE_ADDRESS__)
	struct rlimit lim = { 512 << 20, 512 << 20 };

	cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
#endif
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		cr_assert_eq(parse_log(big[i], &e), -1, "'%s' accepted",
			     big[i]);
		cr_assert(strstr(e.msg, "regex too large in probe"), "'%s': %s",
			  big[i], e.msg);
	}
}

/* What stays within the limit is compiled as before. */
Test(probedef, regex_repetitions_within_the_limit_taken)
{
	const char *fine[] = { "^listening on [0-9]{1,5}$", "((a+)+)+",
			       "(a{100}){100}", "a{10000}", "[(]+{3}",
			       "x{,9}y{2,}", "[[:alpha:]]+ (ok|ready)",
			       "\\(+" };
	struct err e;

	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		cr_assert_eq(parse_log(fine[i], &e), 0, "'%s': %s", fine[i],
			     e.msg);
	}
}

/*
 * A *, + or {N} that repeats what can match nothing is refused: glibc's
 * regcomp() took more than 9 minutes on "((g?|h?)+){64}", 256 copies, and
 * fuzz_probe found "g+++++*++++++++" (11 s under ASan). '?' does not
 * loop: ".*?", written for PCRE's lazy star, stays as it was.
 */
Test(probedef, regex_repeating_what_can_match_nothing_refused)
{
	const char *loops[] = { "(a?|b?)+", "a?+", "(a*)*", "()+",
				"((g?|h?)+){64}", "x{0,3}{2}", "(a|)*",
				"(^)+", "g+++++*++++++++", "(a|b*)+" };
	const char *fine[] = { ".*?", "(a?)?", "(a|b?)?", "(a?b)+",
			       "([0-9]+\\.){3}[0-9]+", "( ?[a-z]+)*",
			       "a*b+", "(a|b)*", "x{0,1}{1}" };
	struct err e;

	for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
		cr_assert_eq(parse_log(loops[i], &e), -1, "'%s' accepted",
			     loops[i]);
		cr_assert(strstr(e.msg, "repeats what can match nothing"),
			  "'%s': %s", loops[i], e.msg);
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		cr_assert_eq(parse_log(fine[i], &e), 0, "'%s': %s", fine[i],
			     e.msg);
	}
}
