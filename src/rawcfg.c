/* SPDX-License-Identifier: MIT */
#include "ctxrun/rawcfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "ctxrun/util.h"

/*
 * inih never sees a byte the user wrote. Debian's inih 55 cuts lines at 200
 * bytes (and parses the tail as a new line), cuts values at " ;", cuts
 * section names at 49 bytes and gives the handler no line number. So our
 * reader splits the text into raw lines itself and hands inih a short
 * stand-in for each, keeping what decides inih's structure (indentation,
 * blank, comment, "[", "=" or ":") and encoding the raw line number N:
 *
 *	raw line			stand-in
 *	blank, # or ; comment		""
 *	[name]				"[sN]" then "=hN" (a header marker)
 *	[name (no "]")			"[sN"
 *	key = value			"kN=vN"
 *	= value (no key)		"=vN"
 *	anything else			"tN"
 *
 * each indented by one blank when the raw line is. inih then still decides
 * what every line is (a header, a key, a continuation of the previous key,
 * or an error), and the handler maps the tokens back to the raw line, which
 * is always the one the reader returned last. The "=hN" marker exists
 * because inih never reports a section without keys: a key with an empty
 * name reaches the handler, and resets inih's "previous key" as the header
 * itself did, so the structure is unchanged. Only "tN" and "[sN" can be
 * errors for inih; the handler sees them when they are continuations, so
 * one that never reached it was rejected, and every bad line is reported,
 * not only the first one ini_parse_stream returns.
 *
 * No real file comes near the limits, and an endless one (/dev/zero,
 * `yes |`) is refused after reading at most RAWCFG_FILE_MAX bytes,
 * instead of when memory runs out; a NUL ends it at once, as no text file
 * has one.
 */

/* Where the limits check is in a text read piece by piece. */
struct limits {
	int line;        /* from 1 */
	bool newline;    /* the last byte seen ended it */
	size_t line_len; /* bytes of it so far */
	size_t len;      /* of the text so far */
};

/* The reader's and the handler's shared state. */
struct reader {
	struct rawcfg *rc;
	const char *text;
	size_t len, pos;
	int line;         /* raw line last read, from 1 */
	const char *cur;  /* its bytes, BOM removed, without "\n" */
	size_t cur_len;
	char pending[48]; /* the header marker, inih's next line */
	int suspect;      /* raw line whose stand-in inih may reject, or 0 */
	bool suspect_header, suspect_ok;
	bool orphaned;    /* keys follow a bad "[" header: ignore them */
	int *standin_line; /* inih's line number -> raw line */
	size_t n_standin, cap_standin;
};

static const char *limits_check(struct limits *l, const char *s, size_t n);
static char *reader_cb(char *str, int num, void *stream);
static int handler_cb(void *user, const char *section, const char *key,
		      const char *value);
static void settle_suspect(struct reader *p);
static void *grow(void *arr, size_t n, size_t *cap, size_t size);
static int error_cmp(const void *a, const void *b);

/* Check the LEN bytes at TEXT against the limits. */
const char *
rawcfg_check(const char *text, size_t len, int *line)
{
	struct limits l = { .line = 1 };
	const char *bad = limits_check(&l, text, len);

	*line = l.line;
	return bad;
}

/* Read FD to its end, checking the limits as it goes. */
int
rawcfg_load(int fd, char **text, size_t *len, int *line, const char **bad)
{
	struct limits l = { .line = 1 };
	size_t cap = 65536;

	*text = xmalloc(cap);
	*len = 0;
	*line = 1;
	*bad = NULL;
	for (;;) {
		ssize_t n;

		if (*len == cap) {
			/* One byte past the limit is all it takes to refuse. */
			cap = cap * 2 < RAWCFG_FILE_MAX ? cap * 2
							: RAWCFG_FILE_MAX + 1;
			*text = xrealloc(*text, cap);
		}
		n = read(fd, *text + *len, cap - *len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			int saved = errno;

			free(*text);
			*text = NULL;
			return saved;
		}
		if (n == 0) {
			return 0;
		}
		*bad = limits_check(&l, *text + *len, (size_t)n);
		*len += (size_t)n;
		*line = l.line;
		if (*bad) {
			return 0;
		}
	}
}

/* Read the LEN bytes at TEXT, a file named NAME, into RC. */
void
rawcfg_parse(struct rawcfg *rc, const char *name, const char *text,
	     size_t len)
{
	struct reader p = { .rc = rc, .text = text, .len = len };
	int rc_ini;

	memset(rc, 0, sizeof(*rc));
	rc->name = name;
	rc_ini = ini_parse_stream(reader_cb, &p, handler_cb, &p);
	settle_suspect(&p);
	if (rc_ini < 0) {
		BUG("ini_parse_stream returned %d", rc_ini);
	}
	if (rc_ini > 0) {
		/* We found every line inih rejects; make sure of the first. */
		int line = p.standin_line[rc_ini - 1];
		bool known = false;

		for (size_t i = 0; i < rc->n_errors && !known; i++) {
			known = rc->errors[i].line == line;
		}
		if (!known) {
			rawcfg_error(rc, line, "expected \"key = value\" "
				     "or \"[section]\"");
		}
	}
	free(p.standin_line);
}

/* Record a message for LINE. */
void
rawcfg_error(struct rawcfg *rc, int line, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *msg;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		BUG("bad error format '%s'", fmt);
	}
	msg = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc->errors = grow(rc->errors, rc->n_errors, &rc->cap_errors,
			  sizeof(*rc->errors));
	rc->errors[rc->n_errors] = (struct rawcfg_error){ line, rc->n_errors,
							  msg };
	rc->n_errors++;
}

/* RC's errors as "NAME:LINE: message", sorted by line. */
char **
rawcfg_messages(struct rawcfg *rc, size_t *n)
{
	char **msgs;

	*n = rc->n_errors;
	if (!rc->n_errors) {
		return NULL;
	}
	qsort(rc->errors, rc->n_errors, sizeof(*rc->errors), error_cmp);
	msgs = xcalloc(rc->n_errors, sizeof(*msgs));
	for (size_t i = 0; i < rc->n_errors; i++) {
		msgs[i] = xasprintf("%s:%d: %s", rc->name, rc->errors[i].line,
				    rc->errors[i].msg);
	}
	return msgs;
}

/* Release what RC owns. */
void
rawcfg_release(struct rawcfg *rc)
{
	for (size_t i = 0; i < rc->n_sections; i++) {
		free(rc->sections[i].name);
	}
	for (size_t i = 0; i < rc->n_entries; i++) {
		free(rc->entries[i].key);
		free(rc->entries[i].value);
	}
	for (size_t i = 0; i < rc->n_errors; i++) {
		free(rc->errors[i].msg);
	}
	free(rc->sections);
	free(rc->entries);
	free(rc->errors);
	memset(rc, 0, sizeof(*rc));
}

/*
 * Check the next N bytes at S of a text against the limits, L counting
 * where they are: NULL, or what is wrong on line L->line (counted as
 * next_line() does: a last newline starts no line). Past the file's limit
 * one byte is enough to say so; the rest is not looked at.
 */
static const char *
limits_check(struct limits *l, const char *s, size_t n)
{
	size_t room = RAWCFG_FILE_MAX + 1 - l->len;
	const char *end = s + (n < room ? n : room);

	l->len += (size_t)(end - s);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t seg = (size_t)((nl ? nl : end) - s);

		l->line += l->newline;
		l->newline = false;
		if (memchr(s, '\0', seg)) {
			return "NUL byte";
		}
		l->line_len += seg;
		if (l->line_len > RAWCFG_LINE_MAX) {
			return "line longer than 64 KiB";
		}
		if (!nl) {
			break;
		}
		l->line_len = 0;
		l->newline = true;
		s = nl + 1;
	}
	return l->len > RAWCFG_FILE_MAX ? "file larger than 16 MiB" : NULL;
}

/* True for the blanks inih's isspace() strips (in the C locale). */
static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Narrow [*S, *END) to its text without surrounding blanks. */
static void
trim(const char **s, const char **end)
{
	while (*s < *end && is_blank(**s)) {
		(*s)++;
	}
	while (*end > *s && is_blank((*end)[-1])) {
		(*end)--;
	}
}

/*
 * Length of the N bytes at S before an inline comment: a ";" or "#" that
 * comes first or after a blank.
 */
static size_t
uncommented_len(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((s[i] == ';' || s[i] == '#') &&
		    (i == 0 || is_blank(s[i - 1]))) {
			return i;
		}
	}
	return n;
}

/* First "=" or ":" in [S, END), or END. */
static const char *
first_delim(const char *s, const char *end)
{
	while (s < end && *s != '=' && *s != ':') {
		s++;
	}
	return s;
}

/* Make room for one more element in *ARR of *CAP elements of SIZE bytes. */
static void *
grow(void *arr, size_t n, size_t *cap, size_t size)
{
	if (n < *cap) {
		return arr;
	}
	*cap = *cap ? *cap * 2 : 16;
	return xrealloc(arr, *cap * size);
}

/* Append the N bytes at S to E's value, keeping it NUL-terminated. */
static void
value_add(struct rawcfg_entry *e, const char *s, size_t n)
{
	if (e->value_len + n + 1 > e->value_cap) {
		e->value_cap = (e->value_len + n + 1) * 2;
		e->value = xrealloc(e->value, e->value_cap);
	}
	memcpy(e->value + e->value_len, s, n);
	e->value_len += n;
	e->value[e->value_len] = '\0';
}

/* Split off the next raw line into P->cur; false at the end of the text. */
static bool
next_line(struct reader *p)
{
	const char *start = p->text + p->pos, *nl;
	size_t rest = p->len - p->pos;

	if (p->pos >= p->len) {
		return false;
	}
	nl = memchr(start, '\n', rest);
	p->cur = start;
	p->cur_len = nl ? (size_t)(nl - start) : rest;
	p->pos += p->cur_len + (nl != NULL);
	p->line++;
	/* inih skips a UTF-8 BOM on its first line; so do we. */
	if (p->line == 1 && p->cur_len >= 3 &&
	    !memcmp(p->cur, "\xEF\xBB\xBF", 3)) {
		p->cur += 3;
		p->cur_len -= 3;
	}
	return true;
}

/* Write in OUT (SIZE bytes) the stand-in for the raw line just read. */
static void
make_standin(struct reader *p, char *out, size_t size)
{
	const char *s = p->cur, *end = p->cur + p->cur_len, *indent, *d;
	int n = p->line;

	out[0] = '\0';
	trim(&s, &end);
	if (s == end || *s == '#' || *s == ';') {
		return;
	}
	indent = s > p->cur ? " " : "";
	if (*s == '[') {
		if (memchr(s, ']', (size_t)(end - s))) {
			snprintf(out, size, "%s[s%d]", indent, n);
			snprintf(p->pending, sizeof(p->pending), "%s=h%d",
				 indent, n);
			return;
		}
		snprintf(out, size, "%s[s%d", indent, n);
		p->suspect_header = true;
		p->suspect = n;
		return;
	}
	d = first_delim(s, end);
	if (d == end) {
		snprintf(out, size, "%st%d", indent, n);
		p->suspect_header = false;
		p->suspect = n;
	} else if (d == s) {
		snprintf(out, size, "%s=v%d", indent, n);
	} else {
		snprintf(out, size, "%sk%d=v%d", indent, n, n);
	}
}

/* Report the last line inih could reject if it did not reach the handler. */
static void
settle_suspect(struct reader *p)
{
	if (!p->suspect) {
		return;
	}
	if (!p->suspect_ok && p->suspect_header) {
		rawcfg_error(p->rc, p->suspect,
			     "missing \"]\" in section header");
		/* Its keys would land in the section above: drop them. */
		p->orphaned = true;
		p->rc->bad_header_seen = true;
	} else if (!p->suspect_ok) {
		rawcfg_error(p->rc, p->suspect,
			     "expected \"key = value\" or \"[section]\"");
		if (p->rc->n_sections && !p->orphaned) {
			p->rc->sections[p->rc->n_sections - 1].broken = true;
		}
	}
	p->suspect = 0;
	p->suspect_ok = false;
}

/* inih's fgets-like reader: the stand-in of the next raw line. */
static char *
reader_cb(char *str, int num, void *stream)
{
	struct reader *p = stream;
	char standin[48];

	/* inih has handled the previous stand-in by now. */
	settle_suspect(p);
	if (p->pending[0]) {
		memcpy(standin, p->pending, sizeof(standin));
		p->pending[0] = '\0';
	} else if (next_line(p)) {
		make_standin(p, standin, sizeof(standin));
	} else {
		return NULL;
	}
	if ((size_t)num < sizeof(standin) + 2) {
		BUG("inih line buffer of %d bytes", num);
	}
	p->standin_line = grow(p->standin_line, p->n_standin, &p->cap_standin,
			       sizeof(*p->standin_line));
	p->standin_line[p->n_standin++] = p->line;
	snprintf(str, (size_t)num, "%s\n", standin);
	return str;
}

/* Raw line number of a stand-in token such as "k12", "[s12]" or "=h12". */
static int
token_line(const char *tok)
{
	if (*tok == '[' || *tok == '=') {
		tok++;
	}
	return (int)strtol(tok + 1, NULL, 10);
}

/* Record the "[...]" header being read: inih accepted it as one. */
static void
section_add(struct reader *p)
{
	const char *s = p->cur, *end = p->cur + p->cur_len, *close, *rest;
	struct rawcfg *rc = p->rc;
	struct rawcfg_section *sec;

	trim(&s, &end);
	close = memchr(s, ']', (size_t)(end - s));
	rc->sections = grow(rc->sections, rc->n_sections, &rc->cap_sections,
			    sizeof(*rc->sections));
	sec = &rc->sections[rc->n_sections++];
	sec->name = xstrndup(s + 1, (size_t)(close - s - 1));
	sec->line = p->line;
	sec->broken = false;
	p->orphaned = false;
	rest = close + 1;
	trim(&rest, &end);
	if (rest < end && *rest != ';' && *rest != '#') {
		rawcfg_error(rc, p->line, "unexpected text after [%s]",
			     sec->name);
	}
}

/* Record the key line being read, in inih's current SECTION. */
static void
entry_add(struct reader *p, const char *section)
{
	const char *s = p->cur, *end = p->cur + p->cur_len, *d, *v;
	struct rawcfg *rc = p->rc;
	struct rawcfg_entry *e;
	size_t n;

	trim(&s, &end);
	d = first_delim(s, end);
	rc->entries = grow(rc->entries, rc->n_entries, &rc->cap_entries,
			   sizeof(*rc->entries));
	e = &rc->entries[rc->n_entries++];
	memset(e, 0, sizeof(*e));
	e->line = p->line;
	e->section = -1;
	if (p->orphaned) {
		e->section = RAWCFG_IGNORED;
	} else if (*section) {
		e->section = (long)rc->n_sections - 1;
		if (!rc->n_sections ||
		    rc->sections[e->section].line != token_line(section)) {
			BUG("inih section '%s' is not the last one", section);
		}
	}
	for (v = d; v > s && is_blank(v[-1]); v--) {
	}
	e->key = xstrndup(s, (size_t)(v - s));
	/* In a command, ";" and "#" are shell text; elsewhere they comment. */
	v = d + 1;
	n = (size_t)(end - v);
	if (strcmp(e->key, "command")) {
		n = uncommented_len(v, n);
	}
	end = v + n;
	trim(&v, &end);
	value_add(e, v, (size_t)(end - v));
}

/* Append the raw line being read to the entry of the key KEY continues. */
static void
entry_continue(struct reader *p, const char *key)
{
	const char *s = p->cur, *end = p->cur + p->cur_len;
	struct rawcfg *rc = p->rc;
	struct rawcfg_entry *e;

	if (!rc->n_entries ||
	    rc->entries[rc->n_entries - 1].line != token_line(key)) {
		BUG("inih continues '%s', not the last key", key);
	}
	e = &rc->entries[rc->n_entries - 1];
	if (p->suspect == p->line) {
		p->suspect_ok = true;
	}
	trim(&s, &end);
	if (strcmp(e->key, "command")) {
		end = s + uncommented_len(s, (size_t)(end - s));
		trim(&s, &end);
	}
	/* "command =" then an indented block: no empty first line. */
	if (e->value_len) {
		value_add(e, "\n", 1);
	}
	value_add(e, s, (size_t)(end - s));
	if (!e->cont_line) {
		e->cont_line = p->line;
	}
}

/* inih's handler: map stand-ins back to raw lines. Nonzero is OK to inih. */
static int
handler_cb(void *user, const char *section, const char *key,
	   const char *value)
{
	struct reader *p = user;

	if (!*key && value[0] == 'h') {
		/* A header marker: inih took the line before it as a header. */
		if (token_line(value) != p->line ||
		    token_line(section) != p->line) {
			BUG("marker '%s' in section '%s'", value, section);
		}
		section_add(p);
	} else if (!*key) {
		rawcfg_error(p->rc, p->line, "missing key before \"%c\"",
			     *first_delim(p->cur, p->cur + p->cur_len));
	} else if (key[0] == 'k' && value[0] == 'v' &&
		   !strcmp(key + 1, value + 1)) {
		entry_add(p, section);
	} else if (strncmp(value, "=h", 2)) {
		/* A continuation; a marker's own continuation adds nothing. */
		if (token_line(value) != p->line) {
			BUG("stand-in '%s' is not line %d", value, p->line);
		}
		entry_continue(p, key);
	}
	return 1;
}

/* Order errors by line, then by when they were found. */
static int
error_cmp(const void *a, const void *b)
{
	const struct rawcfg_error *x = a, *y = b;

	if (x->line != y->line) {
		return x->line < y->line ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}
