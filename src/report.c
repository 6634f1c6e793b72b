/* SPDX-License-Identifier: MIT */
#include "ctxrun/report.h"

#include <stdlib.h>
#include <string.h>

#include "ctxrun/duration.h"
#include "ctxrun/escape.h"
#include "ctxrun/signame.h"
#include "ctxrun/util.h"

/*
 * Columns are sized to their widest cell so the table lines up whatever
 * the job names; the cause, last, is left free to run long. Names and
 * causes (which quote names) go through escape_term() on their way to the
 * terminal; it keeps their length, so widths need no second measure.
 */

/* Say what J is when it is not a plain task: service and probe, teardown. */
static void
plan_role(FILE *out, const struct spec_job *j)
{
	char t[64], i[64];
	char *probe;

	if (j->role == SPEC_TEARDOWN) {
		fputs(", always (teardown)", out);
		return;
	}
	if (j->role != SPEC_SERVICE) {
		return;
	}
	if (!j->ready.text) {
		fputs(", service, ready once started", out);
		return;
	}
	probe = escape_term_dup(j->ready.text);
	fprintf(out, ", service, ready %s within %s", probe,
		duration_format(j->ready_timeout_ms, t, sizeof(t)));
	if (probedef_polled(&j->ready)) {
		fprintf(out, " every %s",
			duration_format(j->ready_interval_ms, i, sizeof(i)));
	}
	free(probe);
}

/* Print job J's line of the plan. */
static void
plan_job(FILE *out, const struct spec *s, const struct spec_job *j, int width)
{
	int64_t timeout = j->timeout_ms;
	char t[64], g[64];
	char *name = escape_term_dup(j->name);

	if (s->timeout_ms && (!timeout || s->timeout_ms < timeout)) {
		timeout = s->timeout_ms;
	}
	fprintf(out, "  %-*s  timeout %s, grace %s, stop %s", width, name,
		timeout ? duration_format(timeout, t, sizeof(t)) : "none",
		duration_format(j->grace_ms, g, sizeof(g)),
		signame_name(j->stop_signal));
	free(name);
	if (j->n_needs) {
		fputs(", needs ", out);
		for (size_t k = 0; k < j->n_needs; k++) {
			name = escape_term_dup(s->jobs[j->needs[k]].name);
			fprintf(out, "%s%s", k ? " " : "", name);
			free(name);
		}
	}
	if (j->retries) {
		fprintf(out, ", retries %d", j->retries);
	}
	if (j->allow_failure) {
		fputs(", allow_failure", out);
	}
	plan_role(out, j);
	if (j->host) {
		/* remote_host_check() let nothing through a terminal acts on. */
		fprintf(out, ", on %s", j->host);
	}
	fputc('\n', out);
}

/* Print S's plan. */
void
report_plan(FILE *out, const struct spec *s)
{
	size_t max_level, *level = spec_levels(s, &max_level);
	int width = 0;
	char t[64], lim[32];

	for (size_t i = 0; i < s->n_jobs; i++) {
		int w = (int)strlen(s->jobs[i].name);

		width = w > width ? w : width;
	}
	fprintf(out, "%s: %zu job%s, at most %s at once, %s, timeout %s\n",
		s->file, s->n_jobs, s->n_jobs == 1 ? "" : "s",
		s->jobs_limit ? (snprintf(lim, sizeof(lim), "%d", s->jobs_limit), lim)
			      : "all",
		s->fail_fast ? "fail-fast" : "keep going",
		s->timeout_ms ? duration_format(s->timeout_ms, t, sizeof(t))
			      : "none");
	for (size_t l = 1; l <= max_level; l++) {
		fprintf(out, "level %zu:\n", l);
		for (size_t i = 0; i < s->n_jobs; i++) {
			if (level[i] == l) {
				plan_job(out, s, &s->jobs[i], width);
			}
		}
	}
	free(level);
}

/* Printable outcome of R. */
const char *
report_outcome(const struct pipeline_result *r)
{
	if (r->allowed) {
		return r->outcome == JOB_TIMED_OUT ? "timed out (allowed)"
						   : "failed (allowed)";
	}
	return job_outcome_name(r->outcome);
}

/* Write R's status into BUF. */
char *
report_status(const struct pipeline_result *r, char *buf, size_t size)
{
	if (r->exit_code < 0) {
		snprintf(buf, size, "-");
	} else if (r->signal) {
		snprintf(buf, size, "%s", signame_name(r->signal));
	} else {
		snprintf(buf, size, "exit %d", r->exit_code);
	}
	return buf;
}

/* The last lines of a failed job R, under a header. */
void
report_failure(FILE *out, const struct pipeline_result *r, const char *tail,
	       size_t len)
{
	char status[64];
	char *name = escape_term_dup(r->name);

	fprintf(out, "\u2500\u2500 %s (%s%s) \u2500\u2500\n", name,
		r->outcome == JOB_TIMED_OUT ? "timed out, " : "",
		report_status(r, status, sizeof(status)));
	fwrite(tail, 1, len, out);
	if (len && tail[len - 1] != '\n') {
		fputc('\n', out);
	}
	free(name);
}

/* Colour of an outcome word in the summary: SGR parameters, or NULL. */
static const char *
outcome_colour(const struct pipeline_result *r)
{
	if (r->allowed) {
		return "33";
	}
	switch (r->outcome) {
	case JOB_SUCCEEDED:
		return "32";
	case JOB_FAILED:
	case JOB_TIMED_OUT:
		return "31";
	case JOB_CANCELLED:
	case JOB_SKIPPED:
		return "33";
	default:
		return NULL;
	}
}

/* Print the summary table, with the outcome words coloured if COLOUR. */
static void
summary_table(FILE *out, const struct pipeline_result *r, size_t n,
	      bool colour)
{
	int wn = 3, wo = 7, ws = 6, wt = 4;
	char st[32], tm[64];

	for (size_t i = 0; i < n; i++) {
		int l;

		l = (int)strlen(r[i].name);
		wn = l > wn ? l : wn;
		l = (int)strlen(report_outcome(&r[i]));
		wo = l > wo ? l : wo;
		l = (int)strlen(report_status(&r[i], st, sizeof(st)));
		ws = l > ws ? l : ws;
		l = (int)strlen(duration_format((int64_t)(r[i].duration * 1000), tm,
						sizeof(tm)));
		wt = l > wt ? l : wt;
	}
	fprintf(out, "ctxrun: %-*s  %-*s  %-*s  %-*s  %s\n", wn, "JOB", wo,
		"OUTCOME", ws, "STATUS", wt, "TIME", "CAUSE");
	for (size_t i = 0; i < n; i++) {
		const char *time = r[i].started_at
					   ? duration_format((int64_t)(r[i].duration * 1000),
							     tm, sizeof(tm))
					   : "-";
		const char *sgr = colour ? outcome_colour(&r[i]) : NULL;
		char *name = escape_term_dup(r[i].name);
		char *cause = escape_term_dup(r[i].cause ? r[i].cause : "");
		char word[64], line[1024];
		int len;

		/* Escape codes around the padded word keep the columns. */
		snprintf(word, sizeof(word), "%s%s%s%s%s%*s", sgr ? "\033[" : "",
			 sgr ? sgr : "", sgr ? "m" : "", report_outcome(&r[i]),
			 sgr ? "\033[0m" : "",
			 wo - (int)strlen(report_outcome(&r[i])), "");
		len = snprintf(line, sizeof(line), "ctxrun: %-*s  %s  %-*s  %-*s  %s%s",
			       wn, name, word, ws,
			       report_status(&r[i], st, sizeof(st)), wt, time,
			       cause,
			       r[i].killed ? (r[i].cause ? "; killed after grace"
							 : "killed after grace")
					   : "");
		/* No trailing blanks when the last columns are empty. */
		while (len > 0 && (size_t)len < sizeof(line) && line[len - 1] == ' ') {
			line[--len] = '\0';
		}
		fprintf(out, "%s\n", line);
		free(name);
		free(cause);
	}
}

/* Print the summary table. */
void
report_summary(FILE *out, const struct pipeline_result *r, size_t n)
{
	summary_table(out, r, n, false);
}

/* Print the summary table with coloured outcomes. */
void
report_summary_colour(FILE *out, const struct pipeline_result *r, size_t n)
{
	summary_table(out, r, n, true);
}

/* One word for R's outcome, for scripts. */
static const char *
outcome_word(const struct pipeline_result *r)
{
	static const char *const words[] = {
		[JOB_NONE] = "pending",        [JOB_SUCCEEDED] = "succeeded",
		[JOB_FAILED] = "failed",
		[JOB_TIMED_OUT] = "timed-out", [JOB_CANCELLED] = "cancelled",
		[JOB_SKIPPED] = "skipped",     [JOB_STOPPED] = "stopped",
	};

	if (r->allowed) {
		return r->outcome == JOB_TIMED_OUT ? "timed-out-allowed"
						   : "failed-allowed";
	}
	return words[r->outcome];
}

/* Print the summary as one tab-separated line per job. */
void
report_summary_lines(FILE *out, const struct pipeline_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* A tab or newline in a name would break the format. */
		char *name = escape_term_dup(r[i].name);

		fprintf(out, "%s\t%s\t", name, outcome_word(&r[i]));
		free(name);
		if (r[i].exit_code < 0) {
			fputs("-\t", out);
		} else {
			fprintf(out, "%d\t", r[i].exit_code);
		}
		if (r[i].started_at) {
			fprintf(out, "%.3f\n", r[i].duration);
		} else {
			fputs("-\n", out);
		}
	}
}
