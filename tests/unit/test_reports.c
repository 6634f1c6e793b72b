/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the report writers: escape (JSON, XML and terminal text
 * from any bytes) and junit (bounded capture, layout, messages), written
 * to memory streams and compared byte for byte.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/escape.h"
#include "ctxrun/junit.h"

TestSuite(escape, .timeout = 10);
TestSuite(junit, .timeout = 10);

/* S (LEN bytes) through escape_json(), as a new string. */
static char *
json(const char *s, size_t len)
{
	char *buf;
	size_t size;
	FILE *f = open_memstream(&buf, &size);

	cr_assert_not_null(f);
	escape_json(f, s, len);
	fclose(f);
	return buf;
}

/* S (LEN bytes) through escape_xml(), as a new string. */
static char *
xml(const char *s, size_t len, bool attr)
{
	char *buf;
	size_t size;
	FILE *f = open_memstream(&buf, &size);

	cr_assert_not_null(f);
	escape_xml(f, s, len, attr);
	fclose(f);
	return buf;
}

/* Assert escaping the string literal IN gives WANT. */
#define expect_json(in, want)                                                \
	do {                                                                 \
		char *got_ = json((in), sizeof(in) - 1);                     \
		cr_assert_str_eq(got_, (want));                              \
		free(got_);                                                  \
	} while (0)

#define expect_xml(in, attr, want)                                           \
	do {                                                                 \
		char *got_ = xml((in), sizeof(in) - 1, (attr));              \
		cr_assert_str_eq(got_, (want));                              \
		free(got_);                                                  \
	} while (0)

#define FFFD "\xEF\xBF\xBD"

Test(escape, json_specials_and_controls)
{
	expect_json("a\"b\\c", "a\\\"b\\\\c");
	expect_json("\n\r\t\b\f", "\\n\\r\\t\\u0008\\u000c");
	expect_json("\x01\x1f\x7f", "\\u0001\\u001f\\u007f");
	expect_json("nul\0byte", "nul\\u0000byte");
	expect_json("</script> ' ok", "</script> ' ok");
}

Test(escape, json_keeps_valid_utf8)
{
	expect_json("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
		    "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
	expect_json("\xEF\xBF\xBF \xF4\x8F\xBF\xBF", "\xEF\xBF\xBF \xF4\x8F\xBF\xBF");
}

Test(escape, json_replaces_invalid_utf8)
{
	expect_json("\xff", "\\ufffd");
	expect_json("a\xC3", "a\\ufffd");              /* cut short */
	expect_json("\xC0\xAF", "\\ufffd\\ufffd");     /* overlong */
	expect_json("\xE0\x80\xAF", "\\ufffd\\ufffd\\ufffd");
	expect_json("\xED\xA0\x80", "\\ufffd\\ufffd\\ufffd"); /* surrogate */
	expect_json("\xF4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd");
	expect_json("\x80x", "\\ufffdx");              /* lone continuation */
	expect_json("\xE2\x82x", "\\ufffd\\ufffdx");   /* good text resumes */
}

Test(escape, xml_entities)
{
	expect_xml("<a href=\"x\">&'</a> ]]>", false,
		   "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt; ]]&gt;");
}

Test(escape, xml_whitespace)
{
	expect_xml("a\tb\nc\rd", false, "a\tb\nc&#13;d");
	expect_xml("a\tb\nc\rd", true, "a&#9;b&#10;c&#13;d");
}

Test(escape, xml_replaces_what_xml_cannot_carry)
{
	expect_xml("a\0b", false, "a" FFFD "b");
	expect_xml("\x01\x08\x0b\x0c\x1f\x7f", false,
		   FFFD FFFD FFFD FFFD FFFD "\x7f");
	expect_xml("\xEF\xBF\xBE\xEF\xBF\xBF", false, FFFD FFFD);
	expect_xml("\xff\xfe", false, FFFD FFFD);
	expect_xml("\xED\xB0\x80", false, FFFD FFFD FFFD);
	expect_xml("\xC3\xA9\xF0\x9F\x98\x80", false, "\xC3\xA9\xF0\x9F\x98\x80");
}

/* S through escape_term_dup() is WANT, as long as S. */
#define expect_term(s, want)                                                 \
	do {                                                                 \
		char *got_ = escape_term_dup(s);                             \
                                                                             \
		cr_assert_str_eq(got_, (want), "escape_term(\"%s\")", (s));   \
		cr_assert_eq(strlen(got_), strlen(s));                       \
		free(got_);                                                  \
	} while (0)

Test(escape, term_turns_each_byte_of_a_control_into_a_mark)
{
	expect_term("a\033[2Jb", "a?[2Jb");
	expect_term("\t\n\r\x7f", "????");
	expect_term("c\xC2\x9B" "1m", "c??1m"); /* C1 CSI */
	expect_term("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 <&\"'>",
		    "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 <&\"'>");
	expect_term("\xff\xC3(\xE2\x82x", "?\?(?\?x");
}

/* A JUnit report of the N results R to a temporary file, as a string. */
static char *
report(struct junit *j, const char *path, const struct pipeline_result *r,
       size_t n)
{
	struct junit_suite suite = { .name = "s", .started_at = 0, .duration = 1.5 };
	struct err e;
	char *buf;
	long size;
	FILE *f;

	junit_write(j, &suite, r, n);
	junit_finish(j, 1000);
	cr_assert_eq(junit_close(j, &e), 0, "%s", e.msg);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size + 1);
	cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	unlink(path);
	return buf;
}

/* A fresh report file; PATH gets its name. */
static struct junit *
open_report(char *path)
{
	struct err e;
	struct junit *j;
	int fd;

	strcpy(path, "/tmp/ctxrun-junit-XXXXXX");
	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	close(fd);
	j = junit_open(EV_DEFAULT, path, &e);
	cr_assert_not_null(j, "%s", e.msg);
	return j;
}

Test(junit, layout_and_messages)
{
	char path[64];
	struct junit *j = open_report(path);
	struct pipeline_result r[4] = {
		{ .name = "ok", .outcome = JOB_SUCCEEDED, .exit_code = 0,
		  .started_at = 1, .duration = 0.25 },
		{ .name = "bad", .outcome = JOB_FAILED, .exit_code = 139,
		  .signal = 11, .started_at = 1, .duration = 0.5 },
		{ .name = "slow", .outcome = JOB_TIMED_OUT, .exit_code = 143,
		  .signal = 15, .killed = true, .started_at = 1,
		  .cause = "job \"slow\" timed out after 1s" },
		{ .name = "later", .outcome = JOB_SKIPPED, .exit_code = -1,
		  .cause = "need \"bad\" failed" },
	};
	char *got;

	junit_capture(j, "ok", 1, "hello\n", 6);
	junit_capture(j, "bad", 2, "boom", 4);
	got = report(j, path, r, 4);
	cr_assert_str_eq(got,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites name=\"ctxrun\" tests=\"4\" failures=\"2\" errors=\"0\" "
		"skipped=\"1\" time=\"1.500\">\n"
		"  <testsuite name=\"s\" tests=\"4\" failures=\"2\" errors=\"0\" "
		"skipped=\"1\" time=\"1.500\" timestamp=\"1970-01-01T00:00:00\">\n"
		"    <testcase name=\"ok\" classname=\"s\" time=\"0.250\">\n"
		"      <system-out>hello\n</system-out>\n"
		"    </testcase>\n"
		"    <testcase name=\"bad\" classname=\"s\" time=\"0.500\">\n"
		"      <failure message=\"killed by SIGSEGV\" type=\"failed\"/>\n"
		"      <system-err>boom</system-err>\n"
		"    </testcase>\n"
		"    <testcase name=\"slow\" classname=\"s\" time=\"0.000\">\n"
		"      <failure message=\"job &quot;slow&quot; timed out after 1s; "
		"killed after grace\" type=\"timed out\"/>\n"
		"    </testcase>\n"
		"    <testcase name=\"later\" classname=\"s\" time=\"0.000\">\n"
		"      <skipped message=\"need &quot;bad&quot; failed\"/>\n"
		"    </testcase>\n"
		"  </testsuite>\n"
		"</testsuites>\n");
	free(got);
}

Test(junit, capture_keeps_head_and_tail)
{
	char path[64];
	struct junit *j = open_report(path);
	struct pipeline_result r = { .name = "big", .outcome = JOB_SUCCEEDED,
				     .started_at = 1 };
	size_t total = 3 * JUNIT_KEEP + 123;
	char *data = malloc(total), *got, *note, *out, *end;
	char want[64];

	for (size_t i = 0; i < total; i++) {
		data[i] = (char)('a' + (i * 7 + i / 100) % 26);
	}
	/* Odd chunk sizes, so the ring wraps in the middle of a chunk. */
	for (size_t off = 0, n = 1; off < total; off += n, n = n * 3 % 9973 + 1) {
		junit_capture(j, "big", 1, data + off, n < total - off ? n : total - off);
	}
	got = report(j, path, &r, 1);
	out = strstr(got, "<system-out>");
	cr_assert_not_null(out);
	out += strlen("<system-out>");
	note = strstr(out, "\n[ctxrun: ");
	cr_assert_not_null(note);
	cr_assert_eq((size_t)(note - out), (size_t)JUNIT_KEEP);
	cr_assert_eq(memcmp(out, data, JUNIT_KEEP), 0, "head differs");
	snprintf(want, sizeof(want), "\n[ctxrun: %zu bytes cut]\n",
		 total - 2 * JUNIT_KEEP);
	cr_assert_eq(strncmp(note, want, strlen(want)), 0, "note <%.40s>", note);
	note += strlen(want);
	end = strstr(note, "</system-out>");
	cr_assert_not_null(end);
	cr_assert_eq((size_t)(end - note), (size_t)JUNIT_KEEP);
	cr_assert_eq(memcmp(note, data + total - JUNIT_KEEP, JUNIT_KEEP), 0,
		     "tail differs");
	free(got);
	free(data);
}

Test(junit, many_jobs_found_by_name)
{
	char path[64];
	struct junit *j = open_report(path);
	struct pipeline_result r[300];
	char names[300][16];
	char *got, want[64];

	for (int i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "job%d", i);
		r[i] = (struct pipeline_result){ .name = names[i],
						 .outcome = JOB_SUCCEEDED };
		junit_capture(j, names[i], 1 + i % 2, names[i], strlen(names[i]));
	}
	got = report(j, path, r, 300);
	for (int i = 0; i < 300; i++) {
		snprintf(want, sizeof(want), "<system-%s>job%d</system-%s>",
			 i % 2 ? "err" : "out", i, i % 2 ? "err" : "out");
		cr_assert_not_null(strstr(got, want), "%s missing", want);
	}
	free(got);
}

Test(junit, could_not_start_message)
{
	char path[64];
	struct junit *j = open_report(path);
	struct pipeline_result r = { .name = "x", .outcome = JOB_FAILED,
				     .exit_code = 127 };
	char *got;

	junit_set_error(j, "x", "cannot run 'nope': No such file or directory");
	got = report(j, path, &r, 1);
	cr_assert_not_null(strstr(got, "<failure message=\"cannot run &apos;nope"
				       "&apos;: No such file or directory\" "
				       "type=\"failed\"/>"), "%s", got);
	free(got);
}
