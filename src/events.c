/* SPDX-License-Identifier: MIT */
#include "ctxrun/events.h"

#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctxrun/escape.h"
#include "ctxrun/rfile.h"
#include "ctxrun/signame.h"
#include "ctxrun/util.h"

/*
 * A line is formatted in memory and handed to the file whole, so a reader
 * never sees half an event and a dropped line is dropped whole (rfile.h).
 * Write errors are kept by the file, not printed: only `run` and `cli`
 * print.
 */

struct events {
	struct rfile *file;
};

/* Open PATH for the log. */
struct events *
events_open(struct ev_loop *loop, const char *path, struct err *e)
{
	struct rfile *file = rfile_open(loop, path, "events file", e);
	struct events *ev;

	if (!file) {
		return NULL;
	}
	ev = xcalloc(1, sizeof(*ev));
	ev->file = file;
	return ev;
}

/* Write `,"KEY":"VALUE"` with VALUE escaped. */
static void
put_string(FILE *f, const char *key, const char *value)
{
	fprintf(f, ",\"%s\":\"", key);
	escape_json(f, value, strlen(value));
	fputc('"', f);
}

/* Write REC as one line. */
void
events_write(struct events *ev, const struct events_rec *rec)
{
	struct timespec ts;
	char *line;
	size_t len;
	FILE *f = open_memstream(&line, &len);

	if (!f) {
		BUG("out of memory");
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(f, "{\"time\":%lld.%03ld", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000);
	put_string(f, "event", rec->event);
	if (rec->job) {
		put_string(f, "job", rec->job);
	}
	if (rec->pid) {
		fprintf(f, ",\"pid\":%ld", (long)rec->pid);
	}
	if (rec->attempt) {
		fprintf(f, ",\"attempt\":%d", rec->attempt);
	}
	if (rec->signal) {
		put_string(f, "signal", signame_name(rec->signal));
	}
	if (rec->has_status) {
		fprintf(f, ",\"status\":%d", rec->status);
	}
	if (rec->cause && rec->cause[0]) {
		put_string(f, "cause", rec->cause);
	}
	if (rec->log) {
		put_string(f, "log", rec->log);
	}
	if (rec->probe) {
		put_string(f, "probe", rec->probe);
	}
	if (rec->text) {
		put_string(f, "text", rec->text);
	}
	if (rec->after > 0) {
		fprintf(f, ",\"after\":%.3f", rec->after);
	}
	fputs("}\n", f);
	if (fclose(f) == EOF) {
		BUG("out of memory");
	}
	rfile_write(ev->file, line, len);
	free(line);
}

/* Write the line of a job event, if it has one. */
void
events_job(struct events *ev, const char *name, int attempt,
	   const struct job_event *jev, const char *log)
{
	struct events_rec rec = {
		.job = name, .pid = jev->pid, .attempt = attempt, .log = log,
	};

	switch (jev->kind) {
	case JOB_EV_START:
		rec.event = "start";
		break;
	case JOB_EV_SIGNAL:
		rec.event = "signal";
		rec.signal = jev->signal;
		rec.cause = jev->cause;
		break;
	case JOB_EV_KILL:
		rec.event = "kill";
		rec.signal = SIGKILL;
		break;
	case JOB_EV_EXIT:
		rec.event = "exit";
		rec.has_status = true;
		if (WIFSIGNALED(jev->status)) {
			rec.signal = WTERMSIG(jev->status);
			rec.status = 128 + rec.signal;
		} else {
			rec.status = WEXITSTATUS(jev->status);
		}
		break;
	default:
		/* Leftovers, suspension and the end are not in the schema. */
		return;
	}
	events_write(ev, &rec);
}

/* Nothing more will be written. */
void
events_finish(struct events *ev, int64_t drain_ms)
{
	if (ev) {
		rfile_finish(ev->file, drain_ms);
	}
}

/* Close the log. */
int
events_close(struct events *ev, struct err *e)
{
	int rc;

	if (!ev) {
		return 0;
	}
	rc = rfile_close(ev->file, e);
	free(ev);
	return rc;
}
