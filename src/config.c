/* SPDX-License-Identifier: MIT */
#include "ctxrun/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "ctxrun/duration.h"
#include "ctxrun/signame.h"
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
 * Validation then walks the raw sections and entries once, finding jobs
 * by name through the spec's hash, with an iterative cycle check, so a
 * file of 10,000 chained jobs costs linear time and no deep recursion.
 */

/* A raw entry that belongs to no section we report on (after a bad "["). */
#define ENTRY_IGNORED (-2)

/* Words longer than this get no suggestion: it would not be a typo. */
#define SUGGEST_MAX_LEN 255

/* Edit-distance cells suggestions may cost in one file (~0.1 s). */
#define SUGGEST_BUDGET 100000000L

#define JOBS_MAX 100000
#define RETRIES_MAX 1000

/*
 * What a pipeline file may hold. No real one comes near these sizes, and
 * an endless file (/dev/zero, `yes |`) is refused after reading at most
 * this much, instead of when memory runs out; a NUL ends it at once, as
 * no text file has one.
 */
#define LINE_MAX_BYTES (64 * 1024)
#define FILE_MAX_BYTES (16 * 1024 * 1024)

/* Where the limits check is in a text read piece by piece. */
struct limits {
	int line;        /* from 1 */
	bool newline;    /* the last byte seen ended it */
	size_t line_len; /* bytes of it so far */
	size_t len;      /* of the text so far */
};

/* A growable string. */
struct sbuf {
	char *buf;
	size_t len, cap;
};

/* One "[...]" header line as the user wrote it. */
struct raw_section {
	char *name;
	int line;
	bool broken; /* a bad line inside: do not also say "no command" */
};

/* One "key = value" line, with its continuation lines joined by "\n". */
struct raw_entry {
	long section; /* index in sections; -1 before any; ENTRY_IGNORED */
	char *key;
	struct sbuf value;
	int line;
	int cont_line; /* first continuation line; 0 when none */
};

/* One message, before it gets its "FILE:LINE: " prefix. */
struct cerror {
	int line;
	size_t seq; /* keeps messages of one line in the order found */
	char *msg;
};

/* The reader's and the handler's shared state. */
struct parser {
	const char *name;
	const char *text;
	size_t len, pos;
	int line;         /* raw line last read, from 1 */
	const char *cur;  /* its bytes, BOM removed, without "\n" */
	size_t cur_len;
	char pending[48]; /* the header marker, inih's next line */
	int suspect;      /* raw line whose stand-in inih may reject, or 0 */
	bool suspect_header, suspect_ok;
	bool orphaned;    /* keys follow a bad "[" header: ignore them */
	bool bad_header_seen;
	int *standin_line; /* inih's line number -> raw line */
	size_t n_standin, cap_standin;
	struct raw_section *sections;
	size_t n_sections, cap_sections;
	struct raw_entry *entries;
	size_t n_entries, cap_entries;
	struct cerror *errors;
	size_t n_errors, cap_errors;
};

enum key {
	KEY_COMMAND,
	KEY_NEEDS,
	KEY_TIMEOUT,
	KEY_GRACE,
	KEY_STOP_SIGNAL,
	KEY_DIRECTORY,
	KEY_ENV,
	KEY_ALLOW_FAILURE,
	KEY_RETRIES,
	KEY_RETRY_DELAY,
	KEY_JOBS,
	KEY_FAIL_FAST,
	KEY_SHELL,
	KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {
	"command", "needs", "timeout", "grace", "stop_signal", "directory",
	"env", "allow_failure", "retries", "retry_delay", "jobs", "fail_fast",
	"shell",
};

static const char *const job_keys[] = {
	"command", "needs", "timeout", "grace", "stop_signal", "directory",
	"env", "allow_failure", "retries", "retry_delay",
};

static const char *const pipeline_keys[] = {
	"timeout", "grace", "stop_signal", "jobs", "fail_fast", "shell",
};

enum sect_kind { SECT_BAD, SECT_PIPELINE, SECT_JOB, SECT_DUP_JOB };

/* What validation made of one raw section. */
struct sect_info {
	enum sect_kind kind;
	size_t job; /* in spec (SECT_JOB) or scratch (SECT_DUP_JOB) */
	const struct raw_entry *needs;
	int seen[KEY_COUNT]; /* line of each key's first use, 0: unused */
};

/* Validation state. */
struct checker {
	struct parser *p;
	struct spec *s;
	struct spec *scratch; /* duplicate jobs: checked, then dropped */
	struct sect_info *sects;
	int pipeline_seen[KEY_COUNT];
	const char **names; /* job names, for suggestions */
	long budget;
	size_t n_jobish; /* [job:...] sections, valid or not */
};

static void parser_init(struct parser *p, const char *name, const char *text,
			size_t len);
static void parser_release(struct parser *p);
static void parse_lines(struct parser *p);
static struct spec *validate(struct parser *p);
static void export_errors(struct parser *p, struct config_errors *errs);
static void add_error(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Make ERRS the one message MSG (taken). */
static void
one_error(struct config_errors *errs, char *msg)
{
	errs->msgs = xmalloc(sizeof(*errs->msgs));
	errs->msgs[0] = msg;
	errs->n = 1;
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
	size_t room = FILE_MAX_BYTES + 1 - l->len;
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
		if (l->line_len > LINE_MAX_BYTES) {
			return "line longer than 64 KiB";
		}
		if (!nl) {
			break;
		}
		l->line_len = 0;
		l->newline = true;
		s = nl + 1;
	}
	return l->len > FILE_MAX_BYTES ? "file larger than 16 MiB" : NULL;
}

/* Parse and validate LEN bytes of TEXT from the file NAME. */
struct spec *
config_parse_buffer(const char *name, const char *text, size_t len,
		    struct config_errors *errs)
{
	struct limits l = { .line = 1 };
	const char *bad = limits_check(&l, text, len);
	struct parser p;
	struct spec *s;

	if (bad) {
		one_error(errs, xasprintf("%s:%d: %s", name, l.line, bad));
		return NULL;
	}
	parser_init(&p, name, text, len);
	parse_lines(&p);
	s = validate(&p);
	if (p.n_errors) {
		spec_free(s);
		s = NULL;
	}
	export_errors(&p, errs);
	parser_release(&p);
	return s;
}

/*
 * Read FD into *BUF (*LEN bytes) until its end, or until the text breaks
 * the limits (*BAD says how, at line L->line): 0, or an errno value.
 */
static int
read_all(int fd, char **buf, size_t *len, struct limits *l, const char **bad)
{
	size_t cap = 65536;

	*buf = xmalloc(cap);
	*len = 0;
	for (;;) {
		ssize_t n;

		if (*len == cap) {
			/* One byte past the limit is all it takes to refuse. */
			cap = cap * 2 < FILE_MAX_BYTES ? cap * 2
						       : FILE_MAX_BYTES + 1;
			*buf = xrealloc(*buf, cap);
		}
		n = read(fd, *buf + *len, cap - *len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			int saved = errno;

			free(*buf);
			*buf = NULL;
			return saved;
		}
		if (n == 0) {
			return 0;
		}
		*bad = limits_check(l, *buf + *len, (size_t)n);
		*len += (size_t)n;
		if (*bad) {
			return 0;
		}
	}
}

/* Read PATH ("-": standard input) and parse it. */
struct spec *
config_parse_file(const char *path, struct config_errors *errs)
{
	bool is_stdin = !strcmp(path, "-");
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 ? errno : 0;
	struct limits l = { .line = 1 };
	const char *bad = NULL;
	struct spec *s = NULL;
	char *text = NULL;
	size_t len = 0;

	if (fd >= 0) {
		rc = read_all(fd, &text, &len, &l, &bad);
		if (!is_stdin) {
			close(fd);
		}
	}
	if (rc) {
		/* The one message without a line: there is none to name. */
		one_error(errs, xasprintf("%s: cannot read: %s", path,
					  strerror(rc)));
	} else if (bad) {
		one_error(errs, xasprintf("%s:%d: %s", path, l.line, bad));
	} else {
		s = config_parse_buffer(path, text, len, errs);
	}
	free(text);
	return s;
}

/* Free the messages of ERRS. */
void
config_errors_release(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->msgs[i]);
	}
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

/*
 * Edit distance of A and B, counting a swap of two neighbours as one edit
 * (optimal string alignment): "biuld" is one slip from "build", not two.
 * Returns LIMIT + 1 as soon as two rows in a row exceed LIMIT, as no later
 * row can then come back under it.
 */
static size_t
edit_distance(const char *a, size_t alen, const char *b, size_t blen,
	      size_t limit)
{
	size_t rows[3][SUGGEST_MAX_LEN + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *tmp;
	size_t prev_lowest = 0;

	for (size_t i = 0; i <= alen; i++) {
		prev[i] = i;
	}
	for (size_t j = 1; j <= blen; j++) {
		size_t lowest = cur[0] = j;

		for (size_t i = 1; i <= alen; i++) {
			size_t v = prev[i - 1] + (a[i - 1] != b[j - 1]);

			v = prev[i] + 1 < v ? prev[i] + 1 : v;
			v = cur[i - 1] + 1 < v ? cur[i - 1] + 1 : v;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[i - 2] + 1 < v) {
				v = prev2[i - 2] + 1;
			}
			cur[i] = v;
			lowest = v < lowest ? v : lowest;
		}
		if (lowest > limit && prev_lowest > limit) {
			return limit + 1;
		}
		prev_lowest = lowest;
		tmp = prev2;
		prev2 = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[alen];
}

/* Closest candidate to WORD when it looks like a typo of it, else NULL. */
const char *
config_suggest(const char *word, const char *const *candidates, size_t n)
{
	size_t len = strlen(word), limit = len / 3 > 1 ? len / 3 : 1;
	size_t best_d = limit + 1;
	const char *best = NULL;

	if (len > SUGGEST_MAX_LEN) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		size_t clen = strlen(candidates[i]), d;

		/* Length alone rules most candidates out, cheaply. */
		if (clen > len + limit || clen + limit < len) {
			continue;
		}
		d = edit_distance(word, len, candidates[i], clen, best_d - 1);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best;
}

/*
 * Reading: raw lines into stand-ins, and the handler back into raw data.
 */

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

/* A NUL-terminated copy of the N bytes at S. */
static char *
dup_range(const char *s, size_t n)
{
	char *copy = xmalloc(n + 1);

	memcpy(copy, s, n);
	copy[n] = '\0';
	return copy;
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

/* Append the N bytes at S to SB, keeping it NUL-terminated. */
static void
sbuf_add(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->len + n + 1 > sb->cap) {
		sb->cap = (sb->len + n + 1) * 2;
		sb->buf = xrealloc(sb->buf, sb->cap);
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

/* Record a message for LINE. */
static void
add_error(struct parser *p, int line, const char *fmt, ...)
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
	p->errors = grow(p->errors, p->n_errors, &p->cap_errors,
			 sizeof(*p->errors));
	p->errors[p->n_errors] = (struct cerror){ line, p->n_errors, msg };
	p->n_errors++;
}

/* Prepare P to read LEN bytes of TEXT named NAME. */
static void
parser_init(struct parser *p, const char *name, const char *text, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->text = text;
	p->len = len;
}

/* Split off the next raw line into P->cur; false at the end of the text. */
static bool
next_line(struct parser *p)
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
make_standin(struct parser *p, char *out, size_t size)
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
settle_suspect(struct parser *p)
{
	if (!p->suspect) {
		return;
	}
	if (!p->suspect_ok && p->suspect_header) {
		add_error(p, p->suspect, "missing \"]\" in section header");
		/* Its keys would land in the section above: drop them. */
		p->orphaned = true;
		p->bad_header_seen = true;
	} else if (!p->suspect_ok) {
		add_error(p, p->suspect,
			  "expected \"key = value\" or \"[section]\"");
		if (p->n_sections && !p->orphaned) {
			p->sections[p->n_sections - 1].broken = true;
		}
	}
	p->suspect = 0;
	p->suspect_ok = false;
}

/* inih's fgets-like reader: the stand-in of the next raw line. */
static char *
reader_cb(char *str, int num, void *stream)
{
	struct parser *p = stream;
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
section_add(struct parser *p)
{
	const char *s = p->cur, *end = p->cur + p->cur_len, *close, *rest;
	struct raw_section *sec;

	trim(&s, &end);
	close = memchr(s, ']', (size_t)(end - s));
	p->sections = grow(p->sections, p->n_sections, &p->cap_sections,
			   sizeof(*p->sections));
	sec = &p->sections[p->n_sections++];
	sec->name = dup_range(s + 1, (size_t)(close - s - 1));
	sec->line = p->line;
	sec->broken = false;
	p->orphaned = false;
	rest = close + 1;
	trim(&rest, &end);
	if (rest < end && *rest != ';' && *rest != '#') {
		add_error(p, p->line, "unexpected text after [%s]", sec->name);
	}
}

/* Record the key line being read, in inih's current SECTION. */
static void
entry_add(struct parser *p, const char *section)
{
	const char *s = p->cur, *end = p->cur + p->cur_len, *d, *v;
	struct raw_entry *e;
	size_t n;

	trim(&s, &end);
	d = first_delim(s, end);
	p->entries = grow(p->entries, p->n_entries, &p->cap_entries,
			  sizeof(*p->entries));
	e = &p->entries[p->n_entries++];
	memset(e, 0, sizeof(*e));
	e->line = p->line;
	e->section = -1;
	if (p->orphaned) {
		e->section = ENTRY_IGNORED;
	} else if (*section) {
		e->section = (long)p->n_sections - 1;
		if (!p->n_sections ||
		    p->sections[e->section].line != token_line(section)) {
			BUG("inih section '%s' is not the last one", section);
		}
	}
	for (v = d; v > s && is_blank(v[-1]); v--) {
	}
	e->key = dup_range(s, (size_t)(v - s));
	/* In a command, ";" and "#" are shell text; elsewhere they comment. */
	v = d + 1;
	n = (size_t)(end - v);
	if (strcmp(e->key, "command")) {
		n = uncommented_len(v, n);
	}
	end = v + n;
	trim(&v, &end);
	sbuf_add(&e->value, v, (size_t)(end - v));
}

/* Append the raw line being read to the entry of the key KEY continues. */
static void
entry_continue(struct parser *p, const char *key)
{
	const char *s = p->cur, *end = p->cur + p->cur_len;
	struct raw_entry *e;

	if (!p->n_entries ||
	    p->entries[p->n_entries - 1].line != token_line(key)) {
		BUG("inih continues '%s', not the last key", key);
	}
	e = &p->entries[p->n_entries - 1];
	if (p->suspect == p->line) {
		p->suspect_ok = true;
	}
	trim(&s, &end);
	if (strcmp(e->key, "command")) {
		end = s + uncommented_len(s, (size_t)(end - s));
		trim(&s, &end);
	}
	/* "command =" then an indented block: no empty first line. */
	if (e->value.len) {
		sbuf_add(&e->value, "\n", 1);
	}
	sbuf_add(&e->value, s, (size_t)(end - s));
	if (!e->cont_line) {
		e->cont_line = p->line;
	}
}

/* inih's handler: map stand-ins back to raw lines. Nonzero is OK to inih. */
static int
handler_cb(void *user, const char *section, const char *key,
	   const char *value)
{
	struct parser *p = user;

	if (!*key && value[0] == 'h') {
		/* A header marker: inih took the line before it as a header. */
		if (token_line(value) != p->line ||
		    token_line(section) != p->line) {
			BUG("marker '%s' in section '%s'", value, section);
		}
		section_add(p);
	} else if (!*key) {
		add_error(p, p->line, "missing key before \"%c\"",
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

/* Run inih over the text, filling P's sections, entries and errors. */
static void
parse_lines(struct parser *p)
{
	int rc = ini_parse_stream(reader_cb, p, handler_cb, p);

	settle_suspect(p);
	if (rc < 0) {
		BUG("ini_parse_stream returned %d", rc);
	}
	if (rc > 0) {
		/* We found every line inih rejects; make sure of the first. */
		int line = p->standin_line[rc - 1];
		bool known = false;

		for (size_t i = 0; i < p->n_errors && !known; i++) {
			known = p->errors[i].line == line;
		}
		if (!known) {
			add_error(p, line,
				  "expected \"key = value\" or \"[section]\"");
		}
	}
}

/* Release what P owns. */
static void
parser_release(struct parser *p)
{
	for (size_t i = 0; i < p->n_sections; i++) {
		free(p->sections[i].name);
	}
	for (size_t i = 0; i < p->n_entries; i++) {
		free(p->entries[i].key);
		free(p->entries[i].value.buf);
	}
	for (size_t i = 0; i < p->n_errors; i++) {
		free(p->errors[i].msg);
	}
	free(p->sections);
	free(p->entries);
	free(p->errors);
	free(p->standin_line);
}

/* Order errors by line, then by when they were found. */
static int
error_cmp(const void *a, const void *b)
{
	const struct cerror *x = a, *y = b;

	if (x->line != y->line) {
		return x->line < y->line ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hand P's errors to ERRS as "FILE:LINE: message", sorted by line. */
static void
export_errors(struct parser *p, struct config_errors *errs)
{
	errs->msgs = NULL;
	errs->n = p->n_errors;
	if (!p->n_errors) {
		return;
	}
	qsort(p->errors, p->n_errors, sizeof(*p->errors), error_cmp);
	errs->msgs = xcalloc(p->n_errors, sizeof(*errs->msgs));
	for (size_t i = 0; i < p->n_errors; i++) {
		errs->msgs[i] = xasprintf("%s:%d: %s", p->name,
					  p->errors[i].line, p->errors[i].msg);
	}
}

/*
 * Validation: raw sections and entries into a spec.
 */

/* Suggestion for WORD among N CANDIDATES, while the budget lasts. */
static const char *
suggest(struct checker *ch, const char *word, const char *const *cands,
	size_t n)
{
	size_t len = strlen(word) + 1;

	/*
	 * Thousands of typos against thousands of jobs must not take minutes:
	 * charge the worst case of each look-up, and stop suggesting when the
	 * budget is spent.
	 */
	len = len > SUGGEST_MAX_LEN ? 1 : len;
	if ((double)n * (double)(len * len) > (double)ch->budget) {
		ch->budget = 0;
		return NULL;
	}
	ch->budget -= (long)(n * len * len);
	return config_suggest(word, cands, n);
}

/* Report the section name of SEC, which is neither pipeline nor job. */
static void
unknown_section(struct checker *ch, const struct raw_section *sec)
{
	static const char *const kinds[] = { "job", "pipeline" };
	const char *colon = strchr(sec->name, ':'), *hint;
	char *prefix;

	if (colon) {
		prefix = dup_range(sec->name, (size_t)(colon - sec->name));
		hint = config_suggest(prefix, kinds, 2);
		free(prefix);
	} else {
		hint = config_suggest(sec->name, kinds, 2);
	}
	if (hint && !strcmp(hint, "pipeline")) {
		add_error(ch->p, sec->line, "unknown section [%s] (did you "
			  "mean [pipeline]?)", sec->name);
	} else if (hint && colon) {
		add_error(ch->p, sec->line, "unknown section [%s] (did you "
			  "mean [job%s]?)", sec->name, colon);
	} else if (hint || (*sec->name && !colon)) {
		/* "[build]" is most likely a job without its "job:". */
		add_error(ch->p, sec->line, "unknown section [%s] (did you "
			  "mean [job:%s]?)", sec->name,
			  hint ? "NAME" : sec->name);
	} else {
		add_error(ch->p, sec->line, "unknown section [%s]", sec->name);
	}
}

/* Classify section I: the pipeline, a new job, a duplicate, or bad. */
static void
check_section(struct checker *ch, size_t i)
{
	const struct raw_section *sec = &ch->p->sections[i];
	struct sect_info *si = &ch->sects[i];
	const char *name;
	long first;

	si->kind = SECT_BAD;
	if (!strcmp(sec->name, "pipeline")) {
		si->kind = SECT_PIPELINE;
		return;
	}
	if (strncmp(sec->name, "job:", 4)) {
		unknown_section(ch, sec);
		return;
	}
	ch->n_jobish++;
	name = sec->name + 4;
	if (!*name) {
		add_error(ch->p, sec->line, "empty job name in [job:]");
		return;
	}
	if (name[strcspn(name, " \t\r\v\f,")]) {
		add_error(ch->p, sec->line, "bad job name \"%s\" (no blanks or "
			  "commas)", name);
		return;
	}
	first = spec_find(ch->s, name);
	if (first >= 0) {
		add_error(ch->p, sec->line, "job \"%s\" defined twice (first "
			  "at line %d)", name, ch->s->jobs[first].line);
		si->kind = SECT_DUP_JOB;
		si->job = ch->scratch->n_jobs;
		spec_add_job(ch->scratch, name)->line = sec->line;
		return;
	}
	si->kind = SECT_JOB;
	si->job = ch->s->n_jobs;
	spec_add_job(ch->s, name)->line = sec->line;
}

/* Parse the duration of entry E into *MS; -1 after reporting it. */
static int
get_duration(struct checker *ch, const struct raw_entry *e, int64_t *ms)
{
	struct err err;

	if (duration_parse(e->value.buf, ms, &err) < 0) {
		add_error(ch->p, e->line, "bad duration \"%s\" for %s: %s",
			  e->value.buf, e->key, err.msg);
		return -1;
	}
	return 0;
}

/* Parse the signal of entry E into *SIGNO; -1 after reporting it. */
static int
get_signal(struct checker *ch, const struct raw_entry *e, int *signo)
{
	struct err err;

	if (signame_parse(e->value.buf, signo, &err) < 0) {
		add_error(ch->p, e->line, "unknown signal \"%s\" for %s",
			  e->value.buf, e->key);
		return -1;
	}
	return 0;
}

/* Parse the boolean of entry E into *B; -1 after reporting it. */
static int
get_bool(struct checker *ch, const struct raw_entry *e, bool *b)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(e->value.buf, yes[i]) ||
		    !strcasecmp(e->value.buf, no[i])) {
			*b = !strcasecmp(e->value.buf, yes[i]);
			return 0;
		}
	}
	add_error(ch->p, e->line, "bad boolean \"%s\" for %s (use true or "
		  "false)", e->value.buf, e->key);
	return -1;
}

/* Parse the number (0..MAX) of entry E into *N; -1 after reporting it. */
static int
get_number(struct checker *ch, const struct raw_entry *e, long max, int *n)
{
	const char *s = e->value.buf;
	long v = 0;

	if (!*s || s[strspn(s, "0123456789")]) {
		add_error(ch->p, e->line, "bad number \"%s\" for %s", s,
			  e->key);
		return -1;
	}
	for (; *s && v <= max; s++) {
		v = v * 10 + (*s - '0');
	}
	if (v > max) {
		add_error(ch->p, e->line, "bad number \"%s\" for %s (limit is "
			  "%ld)", e->value.buf, e->key, max);
		return -1;
	}
	*n = (int)v;
	return 0;
}

/* True when the N bytes at S make an environment variable's name. */
static bool
env_name_ok(const char *s, size_t n)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "abcdefghijklmnopqrstuvwxyz0123456789_";

	return n && !(s[0] >= '0' && s[0] <= '9') && strspn(s, ok) >= n;
}

/* Add each line of env entry E, "NAME=VALUE", to job J. */
static void
set_env(struct checker *ch, struct spec_job *j, const struct raw_entry *e)
{
	const char *s = e->value.buf;

	/* One variable per line: "env = A=1" may go on with "  B=2". */
	do {
		size_t len = strcspn(s, "\n"), name = strcspn(s, "=\n");

		if (name == len) {
			add_error(ch->p, e->line, "bad env \"%.*s\" (use "
				  "NAME=VALUE)", (int)len, s);
		} else if (!env_name_ok(s, name)) {
			add_error(ch->p, e->line, "bad env name \"%.*s\" "
				  "(letters, digits and _, not first a digit)",
				  (int)name, s);
		} else {
			/* Room for it and the NULL, doubling. */
			if (((j->n_env + 1) & j->n_env) == 0) {
				size_t n = 2 * (j->n_env + 1);

				j->env = xrealloc(j->env, n * sizeof(*j->env));
			}
			j->env[j->n_env++] = dup_range(s, len);
			j->env[j->n_env] = NULL;
		}
		s += len + (s[len] == '\n');
	} while (*s);
}

/* Apply key K of entry E to job J. */
static void
set_job_key(struct checker *ch, struct sect_info *si, struct spec_job *j,
	    enum key k, const struct raw_entry *e)
{
	switch (k) {
	case KEY_COMMAND:
		j->command = xstrdup(e->value.buf);
		break;
	case KEY_NEEDS:
		si->needs = e;
		break;
	case KEY_TIMEOUT:
		get_duration(ch, e, &j->timeout_ms);
		break;
	case KEY_GRACE:
		j->grace_set = get_duration(ch, e, &j->grace_ms) == 0;
		break;
	case KEY_STOP_SIGNAL:
		j->signal_set = get_signal(ch, e, &j->stop_signal) == 0;
		break;
	case KEY_DIRECTORY:
		if (!*e->value.buf) {
			add_error(ch->p, e->line, "empty directory");
		}
		j->directory = xstrdup(e->value.buf);
		break;
	case KEY_ENV:
		set_env(ch, j, e);
		break;
	case KEY_ALLOW_FAILURE:
		get_bool(ch, e, &j->allow_failure);
		break;
	case KEY_RETRIES:
		get_number(ch, e, RETRIES_MAX, &j->retries);
		break;
	case KEY_RETRY_DELAY:
		get_duration(ch, e, &j->retry_delay_ms);
		break;
	default:
		BUG("key %d in a job", (int)k);
	}
}

/* Apply key K of entry E to the pipeline. */
static void
set_pipeline_key(struct checker *ch, enum key k, const struct raw_entry *e)
{
	struct spec *s = ch->s;

	switch (k) {
	case KEY_TIMEOUT:
		get_duration(ch, e, &s->timeout_ms);
		break;
	case KEY_GRACE:
		get_duration(ch, e, &s->grace_ms);
		break;
	case KEY_STOP_SIGNAL:
		get_signal(ch, e, &s->stop_signal);
		break;
	case KEY_JOBS:
		get_number(ch, e, JOBS_MAX, &s->jobs_limit);
		break;
	case KEY_FAIL_FAST:
		get_bool(ch, e, &s->fail_fast);
		break;
	case KEY_SHELL:
		if (!*e->value.buf) {
			add_error(ch->p, e->line, "empty shell");
			break;
		}
		free(s->shell);
		s->shell = xstrdup(e->value.buf);
		break;
	default:
		BUG("key %d in [pipeline]", (int)k);
	}
}

/* The key of entry E among the N names KEYS, or -1. */
static int
key_find(const char *const *keys, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(keys[i], key)) {
			for (int k = 0; k < KEY_COUNT; k++) {
				if (!strcmp(key_names[k], key)) {
					return k;
				}
			}
		}
	}
	return -1;
}

/* Check entry E against its section and apply it. */
static void
check_entry(struct checker *ch, const struct raw_entry *e)
{
	const struct raw_section *sec = &ch->p->sections[e->section];
	struct sect_info *si = &ch->sects[e->section];
	bool pipe = si->kind == SECT_PIPELINE;
	const char *const *keys = pipe ? pipeline_keys : job_keys;
	size_t n = pipe ? ARRAY_SIZE(pipeline_keys) : ARRAY_SIZE(job_keys);
	int *seen = pipe ? ch->pipeline_seen : si->seen;
	int k = key_find(keys, n, e->key);
	const char *hint;

	if (k < 0) {
		hint = config_suggest(e->key, keys, n);
		add_error(ch->p, e->line, "unknown key \"%s\" in [%s]%s%s%s",
			  e->key, sec->name, hint ? " (did you mean \"" : "",
			  hint ? hint : "", hint ? "\"?)" : "");
		return;
	}
	if (seen[k] && k != KEY_ENV) {
		add_error(ch->p, e->line, "duplicate key \"%s\" in [%s] (first "
			  "at line %d)", e->key, sec->name, seen[k]);
		return;
	}
	seen[k] = seen[k] ? seen[k] : e->line;
	if (e->cont_line && k != KEY_COMMAND && k != KEY_NEEDS &&
	    k != KEY_ENV) {
		add_error(ch->p, e->cont_line, "\"%s\" takes one line (only "
			  "command, needs and env go on indented lines)",
			  e->key);
		return;
	}
	if (pipe) {
		set_pipeline_key(ch, (enum key)k, e);
	} else {
		struct spec *owner = si->kind == SECT_JOB ? ch->s : ch->scratch;

		set_job_key(ch, si, &owner->jobs[si->job], (enum key)k, e);
	}
}

/* Resolve the needs of the job of section SI into indices. */
static void
resolve_needs(struct checker *ch, const struct sect_info *si, size_t *stamp)
{
	struct spec_job *j = &ch->s->jobs[si->job];
	char *copy = xstrdup(si->needs->value.buf), *save = NULL, *word;
	const char *hint;
	long idx;

	for (word = strtok_r(copy, ", \t\r\v\f\n", &save); word;
	     word = strtok_r(NULL, ", \t\r\v\f\n", &save)) {
		idx = spec_find(ch->s, word);
		if (idx < 0) {
			hint = suggest(ch, word, ch->names, ch->s->n_jobs);
			add_error(ch->p, si->needs->line, "job \"%s\" needs "
				  "unknown job \"%s\"%s%s%s", j->name, word,
				  hint ? " (did you mean \"" : "",
				  hint ? hint : "", hint ? "\"?)" : "");
			continue;
		}
		/* "needs = a, a" is one need, not two. */
		if (stamp[idx] == si->job + 1) {
			continue;
		}
		stamp[idx] = si->job + 1;
		/* Said here, as the cycle walk would only find one cycle. */
		if ((size_t)idx == si->job) {
			add_error(ch->p, j->line, "dependency cycle: %s -> %s",
				  j->name, j->name);
			continue;
		}
		if ((j->n_needs & (j->n_needs - 1)) == 0) {
			size_t cap = j->n_needs ? 2 * j->n_needs : 1;

			j->needs = xrealloc(j->needs, cap * sizeof(*j->needs));
		}
		j->needs[j->n_needs++] = (size_t)idx;
	}
	free(copy);
}

/* Resolve every job's needs, and check each job has a command. */
static void
check_jobs(struct checker *ch)
{
	size_t *stamp = xcalloc(ch->s->n_jobs, sizeof(*stamp));

	ch->names = xcalloc(ch->s->n_jobs, sizeof(*ch->names));
	for (size_t i = 0; i < ch->s->n_jobs; i++) {
		ch->names[i] = ch->s->jobs[i].name;
	}
	for (size_t i = 0; i < ch->p->n_sections; i++) {
		const struct sect_info *si = &ch->sects[i];
		const struct spec_job *j;

		if (si->kind != SECT_JOB) {
			continue;
		}
		j = &ch->s->jobs[si->job];
		if (si->needs) {
			resolve_needs(ch, si, stamp);
		}
		if ((!j->command || !*j->command) &&
		    !ch->p->sections[i].broken) {
			add_error(ch->p, j->line, "job \"%s\" has no command",
				  j->name);
		}
	}
	if (!ch->n_jobish && !ch->p->bad_header_seen) {
		add_error(ch->p, 1, "no jobs (add a [job:NAME] section)");
	}
	free(stamp);
}

/* Report the cycle PATH[0..N) (each needs the next, the last the first). */
static void
report_cycle(struct checker *ch, const size_t *path, size_t n)
{
	struct sbuf sb = { 0 };
	size_t first = 0;

	/* Start at the job that comes first in the file. */
	for (size_t i = 1; i < n; i++) {
		first = path[i] < path[first] ? i : first;
	}
	for (size_t i = 0; i <= n; i++) {
		const char *name = ch->s->jobs[path[(first + i) % n]].name;

		if (i) {
			sbuf_add(&sb, " -> ", 4);
		}
		sbuf_add(&sb, name, strlen(name));
	}
	add_error(ch->p, ch->s->jobs[path[first]].line, "dependency cycle: %s",
		  sb.buf);
	free(sb.buf);
}

/* Report each dependency cycle once, at a header line of a job in it. */
static void
check_cycles(struct checker *ch)
{
	const struct spec *s = ch->s;
	size_t max_level, *level = spec_levels(s, &max_level);
	size_t *path = xmalloc((s->n_jobs + 1) * sizeof(*path));
	size_t *pos = xmalloc((s->n_jobs + 1) * sizeof(*pos));
	unsigned char *color = xcalloc(s->n_jobs + 1, 1);

	/*
	 * A job without a level is in or behind a cycle, and needs a job
	 * without a level. Walk from each along its first such need: a walk
	 * that meets itself has found a new cycle, one that meets an earlier
	 * walk has not.
	 */
	for (size_t i = 0; i < s->n_jobs; i++) {
		size_t n = 0, cur = i;

		while (!level[cur] && !color[cur]) {
			const struct spec_job *j = &s->jobs[cur];
			size_t k = 0;

			color[cur] = 1;
			pos[cur] = n;
			path[n++] = cur;
			while (level[j->needs[k]]) {
				k++;
			}
			cur = j->needs[k];
		}
		if (!level[cur] && color[cur] == 1) {
			report_cycle(ch, path + pos[cur], n - pos[cur]);
		}
		for (size_t k = 0; k < n; k++) {
			color[path[k]] = 2;
		}
	}
	free(level);
	free(path);
	free(pos);
	free(color);
}

/* Turn P's raw sections and entries into a spec, recording every error. */
static struct spec *
validate(struct parser *p)
{
	struct checker ch = { .p = p, .budget = SUGGEST_BUDGET };

	ch.s = spec_new(p->name);
	ch.scratch = spec_new(p->name);
	ch.sects = xcalloc(p->n_sections + 1, sizeof(*ch.sects));
	for (size_t i = 0; i < p->n_sections; i++) {
		check_section(&ch, i);
	}
	for (size_t i = 0; i < p->n_entries; i++) {
		const struct raw_entry *e = &p->entries[i];

		if (e->section == -1) {
			add_error(p, e->line, "key \"%s\" outside any section "
				  "(add a [job:NAME] header above it)", e->key);
		} else if (e->section >= 0 &&
			   ch.sects[e->section].kind != SECT_BAD) {
			check_entry(&ch, e);
		}
	}
	check_jobs(&ch);
	check_cycles(&ch);
	/* [pipeline] may come after the jobs: defaults go in last. */
	for (size_t i = 0; i < ch.s->n_jobs; i++) {
		struct spec_job *j = &ch.s->jobs[i];

		j->grace_ms = j->grace_set ? j->grace_ms : ch.s->grace_ms;
		j->stop_signal = j->signal_set ? j->stop_signal
					       : ch.s->stop_signal;
	}
	spec_free(ch.scratch);
	free(ch.sects);
	free(ch.names);
	return ch.s;
}
