/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <string.h>

#include "ctxrun/duration.h"

TestSuite(duration, .timeout = 10);

/* Parse TEXT, asserting success, and return the milliseconds. */
static int64_t
ok(const char *text)
{
	struct err e;
	int64_t ms = -1;

	cr_assert_eq(duration_parse(text, &ms, &e), 0, "'%s' rejected: %s", text,
		     e.msg);
	return ms;
}

/* Parse TEXT, asserting failure, and return the message. */
static const char *
bad(const char *text)
{
	static struct err e;
	int64_t ms = 12345;

	cr_assert_eq(duration_parse(text, &ms, &e), -1, "'%s' accepted", text);
	cr_assert_eq(ms, 12345, "'%s' wrote a value on failure", text);
	return e.msg;
}

Test(duration, bare_numbers_are_seconds)
{
	cr_assert_eq(ok("90"), 90000);
	cr_assert_eq(ok("0.5"), 500);
	cr_assert_eq(ok(".5"), 500);
	cr_assert_eq(ok("0.3"), 300);
	cr_assert_eq(ok("0"), 0);
	cr_assert_eq(ok("1.25"), 1250);
}

Test(duration, units_and_combinations)
{
	cr_assert_eq(ok("300ms"), 300);
	cr_assert_eq(ok("1.5s"), 1500);
	cr_assert_eq(ok("2m"), 120000);
	cr_assert_eq(ok("1m30s"), 90000);
	cr_assert_eq(ok("1h2m"), 3720000);
	cr_assert_eq(ok("1d"), 86400000);
	cr_assert_eq(ok("0.1h"), 360000);
	cr_assert_eq(ok("1s500ms"), 1500);
}

Test(duration, below_one_ms_is_one_ms_not_zero)
{
	cr_assert_eq(ok("0.0001"), 1);
	cr_assert_eq(ok("0.5ms"), 1);
	cr_assert_eq(ok("0.0000000001s"), 1);
	cr_assert_eq(ok("0.000"), 0);
}

Test(duration, hundred_years_is_the_limit)
{
	cr_assert_eq(ok("36500d"), DURATION_MAX_MS);
	cr_assert(strstr(bad("36501d"), "too large"));
	cr_assert(strstr(bad("99999999999999999999999"), "too large"));
	cr_assert(strstr(bad("876001h"), "too large"));
}

Test(duration, rejects_what_is_not_a_duration)
{
	cr_assert_str_eq(bad("5x"), "unknown unit 'x'");
	cr_assert_str_eq(bad("1m30"), "missing unit after '30'");
	cr_assert_str_eq(bad(""), "empty duration");
	cr_assert(strstr(bad("-5"), "'-5'"));
	cr_assert(strstr(bad("+5"), "'+5'"));
	cr_assert_str_eq(bad("1e3"), "unknown unit 'e'");
	cr_assert_str_eq(bad("1,5"), "unexpected ','");
	cr_assert_str_eq(bad("1 s"), "unexpected ' '");
	cr_assert(strstr(bad("."), "expected a number"));
	cr_assert(strstr(bad("s"), "expected a number"));
	cr_assert_str_eq(bad("1S"), "unknown unit 'S'");
	cr_assert_str_eq(bad("1.2.3"), "unexpected '.'");
}

Test(duration, formats_canonically)
{
	char b[64];

	cr_assert_str_eq(duration_format(200, b, sizeof(b)), "200ms");
	cr_assert_str_eq(duration_format(0, b, sizeof(b)), "0ms");
	cr_assert_str_eq(duration_format(1500, b, sizeof(b)), "1.5s");
	cr_assert_str_eq(duration_format(10000, b, sizeof(b)), "10s");
	cr_assert_str_eq(duration_format(90000, b, sizeof(b)), "1m30s");
	cr_assert_str_eq(duration_format(7200000, b, sizeof(b)), "2h");
	cr_assert_str_eq(duration_format(3723250, b, sizeof(b)), "1h2m3.25s");
}

Test(duration, format_round_trips)
{
	static const int64_t samples[] = { 1, 999, 1000, 1001, 59999, 60000,
					   3599999, 86400000, DURATION_MAX_MS };
	char b[64];

	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		cr_assert_eq(ok(duration_format(samples[i], b, sizeof(b))),
			     samples[i], "%s", b);
	}
}
