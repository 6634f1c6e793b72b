/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_RAWCFG_H
#define CTXRUN_RAWCFG_H

/*
 * A pipeline file as the user wrote it: its "[...]" sections and its
 * "key = value" entries, each with its line, read through inih but never
 * cut or altered by it, and the errors found on the way. `config` turns
 * this into a spec; this module knows no keys and no jobs.
 *
 * 1. rawcfg_check() (or rawcfg_load(), which reads a file and checks as
 *    it goes): is the text a pipeline file at all? No NUL byte, no line
 *    over RAWCFG_LINE_MAX bytes, at most RAWCFG_FILE_MAX bytes in all.
 * 2. rawcfg_parse() splits the text into raw lines itself and hands inih
 *    a short stand-in for each (see rawcfg.c): it counts the lines (the
 *    handler of Debian's inih 55 gets no line number), and inih's 200-byte
 *    line buffer, its inline ";" comments and its 50-byte section names
 *    can never cut or alter what the user wrote. Lines inih rejects
 *    become errors, every one of them, not only the first.
 * 3. The caller reads sections and entries, and adds errors of its own
 *    with rawcfg_error(), so that all of them sort together.
 * 4. rawcfg_messages() gives every error as "NAME:LINE: message", sorted
 *    by line; rawcfg_release().
 *
 * A struct rawcfg owns its sections, entries and errors (every string in
 * them); NAME is borrowed until rawcfg_release(). Nothing here touches
 * the event loop or prints.
 */

#include <stdbool.h>
#include <stddef.h>

/* What a pipeline file may hold (see ctxrun.ini(5)). */
#define RAWCFG_LINE_MAX (64 * 1024)
#define RAWCFG_FILE_MAX (16 * 1024 * 1024)

/* entry.section of a key after a bad "[" header: it belongs nowhere. */
#define RAWCFG_IGNORED (-2)

/* One "[...]" header line. */
struct rawcfg_section {
	char *name; /* between the brackets, as written */
	int line;
	bool broken; /* a bad line inside: do not also say "no command" */
};

/* One "key = value" line, with its continuation lines. */
struct rawcfg_entry {
	long section; /* index in sections; -1 before any; RAWCFG_IGNORED */
	char *key;
	char *value;  /* blanks and comments trimmed; lines joined by "\n" */
	size_t value_len, value_cap;
	int line;
	int cont_line; /* first continuation line; 0 when none */
};

/* One message, before it gets its "NAME:LINE: " prefix. */
struct rawcfg_error {
	int line;
	size_t seq; /* keeps messages of one line in the order found */
	char *msg;
};

struct rawcfg {
	const char *name; /* borrowed */
	struct rawcfg_section *sections;
	size_t n_sections, cap_sections;
	struct rawcfg_entry *entries;
	size_t n_entries, cap_entries;
	struct rawcfg_error *errors;
	size_t n_errors, cap_errors;
	bool bad_header_seen; /* a "[" without "]": its keys were dropped */
};

/*
 * Check the LEN bytes at TEXT against the limits (step 1): NULL, or what
 * is wrong ("NUL byte", "line longer than 64 KiB", "file larger than
 * 16 MiB") with *LINE its line. A last newline starts no line.
 */
const char *rawcfg_check(const char *text, size_t len, int *line);

/*
 * Read FD to its end into *TEXT (*LEN bytes; the caller frees it), and
 * check it as rawcfg_check() does while reading: on the first byte that
 * breaks a limit reading stops, and *BAD and *LINE say what and where
 * (*BAD is NULL otherwise). So an endless file (/dev/zero, a pipe) costs
 * at most RAWCFG_FILE_MAX bytes. Returns 0, or an errno value with *TEXT
 * NULL. FD stays open.
 */
int rawcfg_load(int fd, char **text, size_t *len, int *line,
		const char **bad);

/*
 * Read the LEN bytes at TEXT, a file named NAME, into RC (step 2). The
 * text must pass rawcfg_check(); it need not be NUL-terminated.
 */
void rawcfg_parse(struct rawcfg *rc, const char *name, const char *text,
		  size_t len);

/* Record a message for LINE of RC's file. */
void rawcfg_error(struct rawcfg *rc, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * RC's errors as "NAME:LINE: message", sorted by line: a new array of N
 * new strings, the caller's; NULL when there are none.
 */
char **rawcfg_messages(struct rawcfg *rc, size_t *n);

/* Release what RC owns. */
void rawcfg_release(struct rawcfg *rc);

#endif
