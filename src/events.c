/* SPDX-License-Identifier: MIT */
#include "ctxrun/events.h"

#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctxrun/escape.h"
#include "ctxrun/signame.h"
#include "ctxrun/util.h"

/*
 * A line is formatted into the FILE *'s buffer and flushed at once, so a
 * reader never sees half an event (lines are far below BUFSIZ but for
 * absurdly long names, and even then each flush ends on a newline). The
 * first write error is kept, not printed: only `run` and `cli` print.
 */

struct events {
	FILE *f;
	char *path;
	int saved_errno; /* first write error, 0 when none */
};

/* Open PATH for the log. */
struct events *
events_open(const char *path, struct err *e)
{
	FILE *f = fopen(path, "we");
	struct events *ev;

	if (!f) {
		err_errno(e, errno, "cannot open events file '%s'", path);
		return NULL;
	}
	ev = xcalloc(1, sizeof(*ev));
	ev->f = f;
	ev->path = xstrdup(path);
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
	FILE *f = ev->f;

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
	fputs("}\n", f);
	if (fflush(f) == EOF && !ev->saved_errno) {
		ev->saved_errno = errno ? errno : EIO;
	}
}

/* Write the line of a job event, if it has one. */
void
events_job(struct events *ev, const char *name, int attempt,
	   const struct job_event *jev)
{
	struct events_rec rec = {
		.job = name, .pid = jev->pid, .attempt = attempt,
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

/* Close the log. */
int
events_close(struct events *ev, struct err *e)
{
	int rc = 0;

	if (!ev) {
		return 0;
	}
	if (fclose(ev->f) == EOF && !ev->saved_errno) {
		ev->saved_errno = errno ? errno : EIO;
	}
	if (ev->saved_errno) {
		rc = err_errno(e, ev->saved_errno,
			       "cannot write events file '%s'", ev->path);
	}
	free(ev->path);
	free(ev);
	return rc;
}
