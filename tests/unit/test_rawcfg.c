/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/rawcfg.h"

TestSuite(rawcfg, .timeout = 10);

/* Read the NUL-terminated TEXT into RC. */
static void
parse(struct rawcfg *rc, const char *text)
{
	const char *bad;
	int line;

	bad = rawcfg_check(text, strlen(text), &line);
	cr_assert_null(bad, "line %d: %s", line, bad);
	rawcfg_parse(rc, "t.ini", text, strlen(text));
}

/* RC's errors as one string, a line each; the caller frees it. */
static char *
messages(struct rawcfg *rc)
{
	size_t n, len = 1;
	char **msgs = rawcfg_messages(rc, &n), *all;

	for (size_t i = 0; i < n; i++) {
		len += strlen(msgs[i]) + 1;
	}
	all = calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		strcat(strcat(all, msgs[i]), "\n");
		free(msgs[i]);
	}
	free(msgs);
	return all;
}

Test(rawcfg, sections_and_entries_keep_their_lines)
{
	struct rawcfg rc;

	parse(&rc, "# a comment\n"
		   "[job:a]\n"
		   "command = make ; echo # shell text\n"
		   "\n"
		   "  ; indented comment\n"
		   "[pipeline]\n"
		   "jobs = 2 ; a comment\n");
	cr_assert_eq(rc.n_errors, 0);
	cr_assert_eq(rc.n_sections, 2);
	cr_assert_str_eq(rc.sections[0].name, "job:a");
	cr_assert_eq(rc.sections[0].line, 2);
	cr_assert_str_eq(rc.sections[1].name, "pipeline");
	cr_assert_eq(rc.sections[1].line, 6);
	cr_assert_eq(rc.n_entries, 2);
	cr_assert_str_eq(rc.entries[0].key, "command");
	cr_assert_str_eq(rc.entries[0].value, "make ; echo # shell text");
	cr_assert_eq(rc.entries[0].line, 3);
	cr_assert_eq(rc.entries[0].section, 0);
	cr_assert_eq(rc.entries[0].cont_line, 0);
	cr_assert_str_eq(rc.entries[1].value, "2");
	cr_assert_eq(rc.entries[1].line, 7);
	cr_assert_eq(rc.entries[1].section, 1);
	rawcfg_release(&rc);
}

Test(rawcfg, continuation_lines_join_and_count)
{
	struct rawcfg rc;

	parse(&rc, "[job:a]\n"
		   "command =\n"
		   "  echo 1\n"
		   "\n"
		   "  echo 2\n"
		   "needs = b\n");
	cr_assert_eq(rc.n_errors, 0);
	cr_assert_eq(rc.n_entries, 2);
	cr_assert_str_eq(rc.entries[0].value, "echo 1\necho 2");
	cr_assert_eq(rc.entries[0].line, 2);
	cr_assert_eq(rc.entries[0].cont_line, 3);
	cr_assert_eq(rc.entries[1].line, 6);
	rawcfg_release(&rc);
}

Test(rawcfg, a_bom_and_crlf_do_not_shift_lines)
{
	struct rawcfg rc;

	parse(&rc, "\xEF\xBB\xBF[job:a]\r\ncommand = x\r\n");
	cr_assert_eq(rc.n_errors, 0);
	cr_assert_str_eq(rc.sections[0].name, "job:a");
	cr_assert_eq(rc.sections[0].line, 1);
	cr_assert_str_eq(rc.entries[0].value, "x");
	cr_assert_eq(rc.entries[0].line, 2);
	rawcfg_release(&rc);
}

Test(rawcfg, long_lines_and_names_arrive_whole)
{
	size_t n = 10000;
	char *text = malloc(3 * n), *p = text;
	struct rawcfg rc;

	p += sprintf(p, "[job:");
	memset(p, 'n', 300);
	p += 300;
	p += sprintf(p, "]\ncommand = ");
	memset(p, 'c', n);
	p += n;
	strcpy(p, "\n");
	parse(&rc, text);
	cr_assert_eq(rc.n_errors, 0);
	cr_assert_eq(strlen(rc.sections[0].name), 4 + 300);
	cr_assert_eq(rc.entries[0].value_len, n);
	cr_assert_eq(rc.entries[0].line, 2);
	rawcfg_release(&rc);
	free(text);
}

Test(rawcfg, every_bad_line_is_an_error_at_its_line)
{
	struct rawcfg rc;
	char *all;

	parse(&rc, "[job:a]\n"
		   "command = x\n"
		   "garbage\n"
		   "= value\n"
		   "[job:b\n"
		   "command = y\n"
		   "more garbage\n");
	all = messages(&rc);
	cr_assert_str_eq(all, "t.ini:3: expected \"key = value\" or "
			      "\"[section]\"\n"
			      "t.ini:4: missing key before \"=\"\n"
			      "t.ini:5: missing \"]\" in section header\n"
			      "t.ini:7: expected \"key = value\" or "
			      "\"[section]\"\n");
	cr_assert(rc.sections[0].broken);
	cr_assert(rc.bad_header_seen);
	/* The keys under the bad header belong to no section. */
	cr_assert_eq(rc.entries[rc.n_entries - 1].section, RAWCFG_IGNORED);
	free(all);
	rawcfg_release(&rc);
}

Test(rawcfg, messages_sort_by_line_then_by_order_found)
{
	struct rawcfg rc;
	char *all;

	parse(&rc, "key = before any section\n");
	rawcfg_error(&rc, 9, "nine");
	rawcfg_error(&rc, 2, "two, first");
	rawcfg_error(&rc, 2, "two, second");
	rawcfg_error(&rc, 1, "one");
	all = messages(&rc);
	cr_assert_str_eq(all, "t.ini:1: one\n"
			      "t.ini:2: two, first\n"
			      "t.ini:2: two, second\n"
			      "t.ini:9: nine\n");
	cr_assert_eq(rc.entries[0].section, -1);
	free(all);
	rawcfg_release(&rc);
}

Test(rawcfg, no_errors_no_messages)
{
	struct rawcfg rc;
	size_t n = 1;

	parse(&rc, "");
	cr_assert_null(rawcfg_messages(&rc, &n));
	cr_assert_eq(n, 0);
	rawcfg_release(&rc);
}

/* A text of LINES lines "a\n", then a line of LEN 'x' bytes and NEWLINE. */
static char *
long_line(int lines, size_t len, bool newline, size_t *total)
{
	char *t = malloc(2 * (size_t)lines + len + 2);

	for (int i = 0; i < lines; i++) {
		memcpy(t + 2 * i, "a\n", 2);
	}
	memset(t + 2 * lines, 'x', len);
	*total = 2 * (size_t)lines + len;
	if (newline) {
		t[(*total)++] = '\n';
	}
	return t;
}

Test(rawcfg, a_line_of_exactly_the_limit_passes)
{
	size_t len;
	char *t = long_line(2, RAWCFG_LINE_MAX, true, &len);
	int line = 0;

	cr_assert_null(rawcfg_check(t, len, &line));
	free(t);
}

Test(rawcfg, a_line_over_the_limit_is_refused_at_its_line)
{
	size_t len;
	char *t = long_line(2, RAWCFG_LINE_MAX + 1, false, &len);
	int line = 0;

	cr_assert_str_eq(rawcfg_check(t, len, &line),
			 "line longer than 64 KiB");
	cr_assert_eq(line, 3);
	free(t);
}

Test(rawcfg, a_nul_byte_is_refused_at_its_line)
{
	int line = 0;

	cr_assert_str_eq(rawcfg_check("a\nb\n\0", 5, &line), "NUL byte");
	cr_assert_eq(line, 3, "a last newline starts the next line");
	cr_assert_str_eq(rawcfg_check("a\nb\0\n", 5, &line), "NUL byte");
	cr_assert_eq(line, 2);
}

Test(rawcfg, a_file_over_the_limit_is_refused)
{
	size_t len = RAWCFG_FILE_MAX + 1;
	char *t = malloc(len);
	int line = 0;

	/* Lines of 1023 bytes and a newline. */
	for (size_t i = 0; i < len; i++) {
		t[i] = i % 1024 == 1023 ? '\n' : 'k';
	}
	cr_assert_null(rawcfg_check(t, len - 1, &line));
	cr_assert_str_eq(rawcfg_check(t, len, &line),
			 "file larger than 16 MiB");
	free(t);
}

Test(rawcfg, load_reads_a_file_to_its_end)
{
	char path[] = "/tmp/ctxrun-rawcfg-XXXXXX", *text;
	const char *bad;
	int fd = mkstemp(path), line;
	size_t len;

	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(write(fd, "[job:a]\ncommand = x\n", 20), 20);
	lseek(fd, 0, SEEK_SET);
	cr_assert_eq(rawcfg_load(fd, &text, &len, &line, &bad), 0);
	cr_assert_null(bad);
	cr_assert_eq(len, 20);
	cr_assert_eq(memcmp(text, "[job:a]\ncommand = x\n", 20), 0);
	free(text);
	close(fd);
}

Test(rawcfg, load_stops_at_the_first_byte_past_a_limit)
{
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC), line = 0;
	const char *bad;
	char *text;
	size_t len;

	cr_assert_geq(fd, 0);
	cr_assert_eq(rawcfg_load(fd, &text, &len, &line, &bad), 0);
	cr_assert_str_eq(bad, "NUL byte");
	cr_assert_eq(line, 1);
	cr_assert_leq(len, 65536, "one read, not the endless file");
	free(text);
	close(fd);
}

Test(rawcfg, load_gives_the_errno_of_a_failed_read)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), line;
	const char *bad;
	char *text = "not touched";
	size_t len;

	cr_assert_geq(fd, 0);
	cr_assert_eq(rawcfg_load(fd, &text, &len, &line, &bad), EISDIR);
	cr_assert_null(text);
	close(fd);
}
