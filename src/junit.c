/* SPDX-License-Identifier: MIT */
#include "ctxrun/junit.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctxrun/escape.h"
#include "ctxrun/report.h"
#include "ctxrun/rfile.h"
#include "ctxrun/signame.h"
#include "ctxrun/util.h"

/*
 * Output arrives by job name (the output tap knows no more), so jobs are
 * found through a small hash table of names: a chunk of output costs a
 * hash, not a walk of every job. The head of a stream grows as it fills;
 * the tail ring is allocated only once the head is full, so a job that
 * prints little costs little. No CDATA: a job's "]]>" would end it, and
 * CDATA could not carry NUL anyway; every byte goes through escape_xml().
 * The document is made in memory and handed to the file in one piece: a
 * FIFO takes it as its reader reads (rfile.h).
 */

struct capture {
	char *head; /* the first JUNIT_KEEP bytes */
	size_t head_len, head_cap;
	char *tail; /* ring: the last JUNIT_KEEP bytes after the head */
	size_t tail_len, tail_next;
	unsigned long long total;
};

struct entry {
	char *name;
	char *error;           /* could not start; NULL otherwise */
	struct capture cap[2]; /* stdout, stderr */
};

struct junit {
	struct rfile *file;
	struct entry **slots; /* open addressing by name hash */
	size_t n_slots, n;
};

/* Open PATH for the report. */
struct junit *
junit_open(struct ev_loop *loop, const char *path, struct err *e)
{
	struct rfile *file = rfile_open(loop, path, "JUnit file", e);
	struct junit *j;

	if (!file) {
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->file = file;
	j->n_slots = 16;
	j->slots = xcalloc(j->n_slots, sizeof(*j->slots));
	return j;
}

/* The slot where NAME is, or the empty one where it would go. */
static struct entry **
junit_slot_of(struct entry **slots, size_t n_slots, const char *name)
{
	size_t i = hash_bytes(name, strlen(name)) & (n_slots - 1);

	while (slots[i] && strcmp(slots[i]->name, name)) {
		i = (i + 1) & (n_slots - 1);
	}
	return &slots[i];
}

/* Double the table of J. */
static void
junit_grow(struct junit *j)
{
	size_t n_slots = j->n_slots * 2;
	struct entry **slots = xcalloc(n_slots, sizeof(*slots));

	for (size_t i = 0; i < j->n_slots; i++) {
		struct entry *e = j->slots[i];

		if (e) {
			*junit_slot_of(slots, n_slots, e->name) = e;
		}
	}
	free(j->slots);
	j->slots = slots;
	j->n_slots = n_slots;
}

/* The entry of job NAME, made when CREATE and missing; else NULL. */
static struct entry *
entry_of(struct junit *j, const char *name, bool create)
{
	struct entry **slot = junit_slot_of(j->slots, j->n_slots, name);

	if (*slot || !create) {
		return *slot;
	}
	if (2 * (j->n + 1) > j->n_slots) {
		junit_grow(j);
		slot = junit_slot_of(j->slots, j->n_slots, name);
	}
	*slot = xcalloc(1, sizeof(**slot));
	(*slot)->name = xstrdup(name);
	j->n++;
	return *slot;
}

/* The smaller of A and B. */
static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Keep LEN bytes at P in C: the head while it has room, then the tail. */
static void
capture_add(struct capture *c, const char *p, size_t len)
{
	size_t first;

	c->total += len;
	if (c->head_len < JUNIT_KEEP) {
		size_t take = min_size(len, JUNIT_KEEP - c->head_len);

		if (c->head_len + take > c->head_cap) {
			size_t cap = c->head_cap ? c->head_cap * 2 : 1024;

			if (cap < c->head_len + take) {
				cap = c->head_len + take;
			}
			c->head_cap = min_size(cap, JUNIT_KEEP);
			c->head = xrealloc(c->head, c->head_cap);
		}
		memcpy(c->head + c->head_len, p, take);
		c->head_len += take;
		p += take;
		len -= take;
	}
	if (!len) {
		return;
	}
	if (!c->tail) {
		c->tail = xmalloc(JUNIT_KEEP);
	}
	if (len >= JUNIT_KEEP) {
		memcpy(c->tail, p + len - JUNIT_KEEP, JUNIT_KEEP);
		c->tail_next = 0;
		c->tail_len = JUNIT_KEEP;
		return;
	}
	first = min_size(len, JUNIT_KEEP - c->tail_next);
	memcpy(c->tail + c->tail_next, p, first);
	memcpy(c->tail, p + first, len - first);
	c->tail_next = (c->tail_next + len) % JUNIT_KEEP;
	c->tail_len = min_size(c->tail_len + len, JUNIT_KEEP);
}

/* Keep output of job NAME. */
void
junit_capture(struct junit *j, const char *name, int which, const char *p,
	      size_t len)
{
	if (len && (which == 1 || which == 2)) {
		capture_add(&entry_of(j, name, true)->cap[which - 1], p, len);
	}
}

/* Job NAME could not start. */
void
junit_set_error(struct junit *j, const char *name, const char *text)
{
	struct entry *e = entry_of(j, name, true);

	free(e->error);
	e->error = xstrdup(text);
}

/*
 * Write C as element TAG: head, a note of what was cut, tail, joined
 * first so a character is not split where the ring wraps.
 */
static void
write_capture(FILE *f, const char *tag, const struct capture *c)
{
	unsigned long long cut = c->total - c->head_len - c->tail_len;
	char note[80];
	size_t note_len = 0, len, start;
	char *buf;

	if (!c->total) {
		return;
	}
	if (cut) {
		note_len = (size_t)snprintf(note, sizeof(note), "\n[ctxrun: "
					    "%llu bytes cut]\n", cut);
	}
	buf = xmalloc(c->head_len + note_len + c->tail_len + 1);
	memcpy(buf, c->head, c->head_len);
	memcpy(buf + c->head_len, note, note_len);
	len = c->head_len + note_len;
	start = c->tail_len < JUNIT_KEEP ? 0 : c->tail_next;
	for (size_t k = 0; k < c->tail_len; k++) {
		buf[len++] = c->tail[(start + k) % JUNIT_KEEP];
	}
	fprintf(f, "      <%s>", tag);
	escape_xml(f, buf, len, false);
	fprintf(f, "</%s>\n", tag);
	free(buf);
}

/* Write attribute KEY with VALUE escaped. */
static void
put_attr(FILE *f, const char *key, const char *value)
{
	fprintf(f, " %s=\"", key);
	escape_xml(f, value, strlen(value), true);
	fputc('"', f);
}

/* The failure or skip message of R: its error, cause or status. */
static void
message(const struct pipeline_result *r, const struct entry *e, char *buf,
	size_t size)
{
	size_t len;

	if (e && e->error) {
		snprintf(buf, size, "%s", e->error);
	} else if (r->cause) {
		snprintf(buf, size, "%s", r->cause);
	} else if (r->signal) {
		snprintf(buf, size, "killed by %s", signame_name(r->signal));
	} else if (r->exit_code >= 0) {
		snprintf(buf, size, "exit status %d", r->exit_code);
	} else {
		snprintf(buf, size, "%s", job_outcome_name(r->outcome));
	}
	len = strlen(buf);
	if (r->killed && len + 1 < size) {
		snprintf(buf + len, size - len, "; killed after grace");
	}
}

/*
 * Does R count as a failure (failed or timed out, allowed or not)? A job
 * the run's deadline stopped timed out too: the run fails with 124 for it,
 * and a CI page must not show it as merely skipped.
 */
static bool
is_failure(const struct pipeline_result *r)
{
	return r->outcome == JOB_FAILED || r->outcome == JOB_TIMED_OUT ||
	       (r->outcome == JOB_CANCELLED && r->cause_kind == CTX_CAUSE_DEADLINE);
}

/* Does R count as skipped (cancelled or never started)? */
static bool
is_skipped(const struct pipeline_result *r)
{
	return !is_failure(r) && r->outcome != JOB_SUCCEEDED;
}

/* Write the testcase of R. */
static void
write_case(FILE *f, const char *classname, const struct pipeline_result *r,
	   const struct entry *e)
{
	bool out = e && (e->cap[0].total || e->cap[1].total);
	char msg[1024];

	fputs("    <testcase", f);
	put_attr(f, "name", r->name);
	put_attr(f, "classname", classname);
	fprintf(f, " time=\"%.3f\"", r->started_at ? r->duration : 0.0);
	if (!is_failure(r) && !is_skipped(r) && !out) {
		fputs("/>\n", f);
		return;
	}
	fputs(">\n", f);
	if (is_failure(r) || is_skipped(r)) {
		message(r, e, msg, sizeof(msg));
		fprintf(f, "      <%s", is_failure(r) ? "failure" : "skipped");
		put_attr(f, "message", msg);
		if (is_failure(r)) {
			put_attr(f, "type", report_outcome(r));
		}
		fputs("/>\n", f);
	}
	if (e) {
		write_capture(f, "system-out", &e->cap[0]);
		write_capture(f, "system-err", &e->cap[1]);
	}
	fputs("    </testcase>\n", f);
}

/*
 * Is R a testcase? A service is one only when it failed: it is the
 * tests' fixture, not a test (ctxrun(1), JUNIT).
 */
static bool
is_case(const struct pipeline_result *r)
{
	return !r->service || is_failure(r);
}

/* Write the report. */
void
junit_write(struct junit *j, const struct junit_suite *suite,
	    const struct pipeline_result *r, size_t n)
{
	size_t failures = 0, skipped = 0, cases = 0;
	time_t t = (time_t)suite->started_at;
	char stamp[32] = "1970-01-01T00:00:00";
	char counts[160];
	struct tm tm;
	char *doc;
	size_t len;
	FILE *f = open_memstream(&doc, &len);

	if (!f) {
		BUG("out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		cases += is_case(&r[i]);
		failures += is_failure(&r[i]);
		skipped += is_case(&r[i]) && is_skipped(&r[i]);
	}
	if (gmtime_r(&t, &tm)) {
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	}
	snprintf(counts, sizeof(counts),
		 " tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\""
		 " time=\"%.3f\"",
		 cases, failures, skipped, suite->duration);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<testsuites name=\"ctxrun\"%s>\n", counts);
	fputs("  <testsuite", f);
	put_attr(f, "name", suite->name);
	fprintf(f, "%s timestamp=\"%s\">\n", counts, stamp);
	for (size_t i = 0; i < n; i++) {
		struct entry *e_i = entry_of(j, r[i].name, false);

		if (is_case(&r[i])) {
			write_case(f, suite->name, &r[i], e_i);
		}
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	if (fclose(f) == EOF) {
		BUG("out of memory");
	}
	rfile_write(j->file, doc, len);
	free(doc);
}

/* Nothing more will be written. */
void
junit_finish(struct junit *j, int64_t drain_ms)
{
	if (j) {
		rfile_finish(j->file, drain_ms);
	}
}

/* Close the file and release J. */
int
junit_close(struct junit *j, struct err *e)
{
	int rc;

	if (!j) {
		return 0;
	}
	rc = rfile_close(j->file, e);
	for (size_t i = 0; i < j->n_slots; i++) {
		struct entry *en = j->slots[i];

		if (en) {
			for (int k = 0; k < 2; k++) {
				free(en->cap[k].head);
				free(en->cap[k].tail);
			}
			free(en->error);
			free(en->name);
			free(en);
		}
	}
	free(j->slots);
	free(j);
	return rc;
}
