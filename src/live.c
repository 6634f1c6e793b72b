/* SPDX-License-Identifier: MIT */
#include "ctxrun/live.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ctxrun/escape.h"
#include "ctxrun/lines.h"
#include "ctxrun/util.h"

/*
 * The region is a few lines at the bottom of the terminal, the cursor
 * left at the end of its last line (no newline after it), so erasing it
 * is "\r", up to its first line, clear to the end of the screen: what
 * follows (a job's line, the region again) starts where it started.
 * Every line is cut one column short of the width, so the terminal never
 * wraps one and the count of rows stays known. When the width changes,
 * terminals that reflow (VTE, kitty, iTerm2, tmux, Windows Terminal) wrap
 * the old lines at the new width: the erase counts their rows at the new
 * width (ctxrun(1), DECISIONS).
 *
 * Redraws are paced: after an erase for output, the region comes back
 * once the loop has queued this iteration's output (a prepare watcher),
 * or LIVE_REDRAW_MS after the last draw when that was sooner (a timer),
 * so a job that floods costs at most ten erase-and-draws a second, not
 * one per read. While it is shown, a one-second timer moves the clocks. Nothing
 * of this exists in plain mode: no live object, no timer, no wake-up.
 */

#define LIVE_LAST_MAX 512 /* bytes of a job's last line kept */
#define LIVE_DEFAULT_COLS 80
#define LIVE_DEFAULT_ROWS 24

enum live_state {
	LIVE_HIDDEN,   /* nothing on screen (yet, or erased for output) */
	LIVE_SHOWN,    /* the region is on screen, the cursor at its end */
	LIVE_FINISHED, /* erased for good */
};

enum live_job_state { LIVE_JOB_WAITING, LIVE_JOB_RUNNING, LIVE_JOB_ENDED };

struct live_job {
	enum live_job_state state;
	ev_tstamp started_at; /* of its running attempt */
	size_t last_len;
	char last[LIVE_LAST_MAX]; /* its last output line, as printed */
};

struct live {
	struct live_opts o;
	enum live_state state;
	const struct pipeline *pipeline; /* for the outcomes; NULL at first */
	struct live_job *jobs;
	size_t n_jobs, running;
	int name_width;
	int cols, rows;       /* of the terminal */
	bool stdout_here;     /* stdout is the same terminal as stderr */
	int *drawn;           /* columns of each line on screen */
	size_t n_drawn, drawn_cap;
	ev_tstamp paced_at;   /* of the last draw that followed output */
	bool paced;           /* the next draw follows output */
	ev_timer redraw;      /* one-shot: the next draw, when paced */
	ev_prepare soon;      /* the next draw, once this iteration's
				 output is queued */
	ev_timer clock;       /* every second while shown */
	ev_signal winch;
	char *buf;            /* what is drawn, built here */
	size_t len, cap;
};

static void live_redraw_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void live_soon_cb(struct ev_loop *loop, ev_prepare *w, int revents);
static void live_clock_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void live_winch_cb(struct ev_loop *loop, ev_signal *w, int revents);
static void live_tap_cb(void *data, size_t job, const char *name, int which,
			const char *p, size_t len);
static void live_overlay_cb(void *data, int which);
static void live_size(struct live *l);
static void live_schedule(struct live *l, bool output);
static void live_draw(struct live *l);
static void live_erase(struct live *l);

/* Parse a --progress mode. */
int
live_progress_parse(const char *arg, enum live_progress *p)
{
	static const char *const names[] = {
		[LIVE_AUTO] = "auto", [LIVE_TTY] = "tty", [LIVE_PLAIN] = "plain",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(arg, names[i])) {
			*p = (enum live_progress)i;
			return 0;
		}
	}
	return -1;
}

/* Whether P asks for the live view on stderr. */
bool
live_wanted(enum live_progress p)
{
	const char *term = getenv("TERM");
	const char *ci = getenv("CI");

	if (p != LIVE_AUTO) {
		return p == LIVE_TTY;
	}
	return isatty(STDERR_FILENO) == 1 && term && *term &&
	       strcmp(term, "dumb") != 0 && !(ci && *ci);
}

/* Is fd 1 the terminal fd 2 is? */
static bool
stdout_is_stderr_tty(void)
{
	struct stat out, err;

	return fstat(STDOUT_FILENO, &out) == 0 &&
	       fstat(STDERR_FILENO, &err) == 0 && S_ISCHR(out.st_mode) &&
	       S_ISCHR(err.st_mode) && out.st_rdev == err.st_rdev;
}

/*
 * Watch SIGWINCH. libev catches it with a handler, which an inherited
 * blocked mask would keep from ever running, so it is unblocked then;
 * with a signalfd (LIBEV_FLAGS) libev keeps it blocked itself, and so it
 * stays.
 */
static void
winch_start(struct live *l)
{
	struct sigaction sa;
	sigset_t set;

	ev_signal_init(&l->winch, live_winch_cb, SIGWINCH);
	ev_signal_start(l->o.loop, &l->winch);
	if (sigaction(SIGWINCH, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
	    sa.sa_handler != SIG_IGN) {
		sigemptyset(&set);
		sigaddset(&set, SIGWINCH);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
}

/* Start the live view. */
struct live *
live_new(const struct live_opts *o)
{
	struct live *l = xcalloc(1, sizeof(*l));

	l->o = *o;
	l->n_jobs = o->spec->n_jobs;
	l->jobs = xcalloc(l->n_jobs, sizeof(*l->jobs));
	for (size_t i = 0; i < l->n_jobs; i++) {
		int w = (int)strlen(o->spec->jobs[i].name);

		l->name_width = w > l->name_width ? w : l->name_width;
	}
	l->stdout_here = stdout_is_stderr_tty();
	live_size(l);
	ev_init(&l->redraw, live_redraw_cb);
	ev_prepare_init(&l->soon, live_soon_cb);
	ev_init(&l->clock, live_clock_cb);
	l->clock.repeat = 1.;
	winch_start(l);
	output_add_tap(o->output, live_tap_cb, l);
	output_set_overlay(o->output, live_overlay_cb, l);
	return l;
}

/* Follow a pipeline event. */
void
live_pipeline_event(struct live *l, const struct pipeline *p,
		    const struct pipeline_event *ev)
{
	struct live_job *j;

	l->pipeline = p;
	if (l->state == LIVE_FINISHED) {
		return;
	}
	if (ev->kind != PL_EV_JOB) {
		live_schedule(l, false);
		return;
	}
	j = &l->jobs[ev->job];
	if (ev->job_ev->kind == JOB_EV_START) {
		j->state = LIVE_JOB_RUNNING;
		j->started_at = ev_now(l->o.loop);
		j->last_len = 0;
		l->running++;
	} else if (ev->job_ev->kind == JOB_EV_DONE &&
		   j->state == LIVE_JOB_RUNNING) {
		j->state = LIVE_JOB_ENDED;
		l->running--;
	}
	live_schedule(l, false);
}

/* Erase the region for good and stop. */
void
live_finish(struct live *l)
{
	if (!l || l->state == LIVE_FINISHED) {
		return;
	}
	if (l->state == LIVE_SHOWN) {
		live_erase(l);
	}
	l->state = LIVE_FINISHED;
	output_set_overlay(l->o.output, NULL, NULL);
	ev_timer_stop(l->o.loop, &l->redraw);
	ev_prepare_stop(l->o.loop, &l->soon);
	ev_timer_stop(l->o.loop, &l->clock);
	ev_signal_stop(l->o.loop, &l->winch);
}

/* Release L. */
void
live_free(struct live *l)
{
	if (!l) {
		return;
	}
	free(l->jobs);
	free(l->drawn);
	free(l->buf);
	free(l);
}

/* Read the terminal's size, or take the defaults. */
static void
live_size(struct live *l)
{
	struct winsize ws;
	const char *columns = getenv("COLUMNS");

	l->cols = columns && atoi(columns) > 0 ? atoi(columns)
					       : LIVE_DEFAULT_COLS;
	l->rows = LIVE_DEFAULT_ROWS;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		l->cols = ws.ws_col;
		l->rows = ws.ws_row > 0 ? ws.ws_row : l->rows;
	}
}

/*
 * Draw again once what this iteration of the loop queues is queued. For
 * OUTPUT (an erase, a new last line), not before LIVE_REDRAW_MS after the
 * last draw for output: a line now and then finds the region back at
 * once, a flood redraws it ten times a second. Only the draws for output
 * are paced, so a clock's draw cannot put the pace out of step with the
 * lines.
 */
static void
live_schedule(struct live *l, bool output)
{
	ev_tstamp next = l->paced_at + LIVE_REDRAW_MS / 1000. -
			 ev_now(l->o.loop);

	if (l->state == LIVE_FINISHED || ev_is_active(&l->soon)) {
		return;
	}
	l->paced |= output;
	if (!output || next <= 0) {
		ev_timer_stop(l->o.loop, &l->redraw);
		ev_prepare_start(l->o.loop, &l->soon);
	} else if (!ev_is_active(&l->redraw)) {
		ev_timer_set(&l->redraw, next, 0.);
		ev_timer_start(l->o.loop, &l->redraw);
	}
}

/* Append LEN bytes at P to what is being drawn. */
static void
put(struct live *l, const char *p, size_t len)
{
	if (l->cap - l->len < len) {
		l->cap = l->len + len > 2 * l->cap ? l->len + len : 2 * l->cap;
		l->buf = xrealloc(l->buf, l->cap);
	}
	memcpy(l->buf + l->len, p, len);
	l->len += len;
}

/*
 * Columns a character of lead byte C takes: UTF-8 continuation bytes
 * none, and 2 from U+3000 on (CJK, most emoji), so that a line is cut
 * too short rather than wrapped.
 */
static int
char_cols(unsigned char c)
{
	if (c >= 0x80 && c < 0xc0) {
		return 0;
	}
	return c >= 0xe3 ? 2 : 1;
}

/*
 * Append the LEN bytes at P made safe and cut to *COLS columns, taking
 * what they use from *COLS: escape sequences are left out, tabs become
 * spaces and other control characters '?' (escape_term()).
 */
static void
put_cut(struct live *l, const char *p, size_t len, int *cols)
{
	char clean[LIVE_LAST_MAX + 64];
	size_t n = 0;

	for (size_t i = 0; i < len && n < sizeof(clean); i++) {
		if (p[i] == '\033' && i + 1 < len && p[i + 1] == '[') {
			for (i += 2; i < len && (p[i] < 0x40 || p[i] > 0x7e);) {
				i++;
			}
			continue;
		}
		clean[n++] = p[i] == '\t' ? ' ' : p[i];
	}
	if (!n) {
		return;
	}
	escape_term(clean, clean, n);
	for (size_t i = 0; i < n; i++) {
		int w = char_cols((unsigned char)clean[i]);

		if (w > *cols) {
			break;
		}
		*cols -= w;
		put(l, clean + i, 1);
	}
}

/* "m:ss" of the seconds T into BUF. */
static const char *
clock_format(ev_tstamp t, char *buf, size_t size)
{
	long s = t > 0 ? (long)t : 0;

	snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
	return buf;
}

/* Remember that a line of COLS columns was drawn. */
static void
drawn_add(struct live *l, int cols)
{
	if (l->n_drawn == l->drawn_cap) {
		l->drawn_cap = l->drawn_cap ? 2 * l->drawn_cap : 16;
		l->drawn = xrealloc(l->drawn, l->drawn_cap * sizeof(*l->drawn));
	}
	l->drawn[l->n_drawn++] = cols;
}

/* Draw running job I's line: name, time it has run, last output line. */
static void
draw_job(struct live *l, size_t i, ev_tstamp now)
{
	const struct live_job *j = &l->jobs[i];
	int cols = l->cols - 1;
	char prefix[512], t[32];
	char *name = escape_term_dup(l->o.spec->jobs[i].name);
	size_t plen = lines_prefix(prefix, sizeof(prefix), name,
				   l->name_width, false, i);

	/* The name as prefixed output shows it, and in its colour. */
	if (l->o.colour) {
		snprintf(t, sizeof(t), "\033[%sm", lines_palette(i));
		put(l, t, strlen(t));
	}
	put_cut(l, prefix, plen - 1, &cols);
	if (l->o.colour) {
		put(l, "\033[0m", 4);
	}
	put_cut(l, " ", 1, &cols);
	clock_format(now - j->started_at, t, sizeof(t));
	if (l->o.colour) {
		put(l, "\033[2m", 4);
	}
	put_cut(l, t, strlen(t), &cols);
	if (l->o.colour) {
		put(l, "\033[0m", 4);
	}
	put_cut(l, "  ", 2, &cols);
	put_cut(l, j->last, j->last_len, &cols);
	drawn_add(l, l->cols - 1 - cols);
	free(name);
}

/* Draw the counts line. */
static void
draw_counts(struct live *l, ev_tstamp now)
{
	size_t n, done = 0, failed = 0, skipped = 0, queued;
	const struct pipeline_result *res =
		l->pipeline ? pipeline_results(l->pipeline, &n) : NULL;
	char text[256], t[32];
	int cols = l->cols - 1;
	int len;

	for (size_t i = 0; res && i < n; i++) {
		if (res[i].outcome == JOB_NONE) {
			continue;
		}
		if ((res[i].outcome == JOB_FAILED ||
		     res[i].outcome == JOB_TIMED_OUT) && !res[i].allowed) {
			failed++;
		} else if (res[i].outcome == JOB_SKIPPED) {
			skipped++;
		} else {
			done++;
		}
	}
	queued = l->n_jobs - l->running - done - failed - skipped;
	len = snprintf(text, sizeof(text),
		       "%zu running \u00b7 %zu done \u00b7 %zu failed \u00b7 ",
		       l->running, done, failed);
	if (skipped) {
		len += snprintf(text + len, sizeof(text) - (size_t)len,
				"%zu skipped \u00b7 ", skipped);
	}
	snprintf(text + len, sizeof(text) - (size_t)len, "%zu queued \u00b7 %s",
		 queued, clock_format(now - l->o.started_at, t, sizeof(t)));
	if (l->o.colour && failed) {
		put(l, "\033[31m", 5);
	} else if (l->o.colour) {
		put(l, "\033[1m", 4);
	}
	put_cut(l, text, strlen(text), &cols);
	if (l->o.colour) {
		put(l, "\033[0m", 4);
	}
	drawn_add(l, l->cols - 1 - cols);
}

/*
 * Queue the erase of the region on screen: up to its first row, counted
 * at the width of now, and clear to the end of the screen.
 */
static void
live_erase(struct live *l)
{
	size_t rows = 0;
	char seq[64];
	int n;

	for (size_t i = 0; i < l->n_drawn; i++) {
		rows += l->drawn[i] ? (size_t)(l->drawn[i] + l->cols - 1) /
					      (size_t)l->cols
				    : 1;
	}
	n = rows > 1 ? snprintf(seq, sizeof(seq), "\r\033[%zuA\033[J", rows - 1)
		     : snprintf(seq, sizeof(seq), "\r\033[J");
	l->state = LIVE_HIDDEN; /* before: the write comes back here */
	l->n_drawn = 0;
	output_write(l->o.output, 2, seq, (size_t)n);
}

/* Erase the region if shown and draw it as it is now. */
static void
live_draw(struct live *l)
{
	ev_tstamp now = ev_now(l->o.loop);
	/* Room for the counts line and the cursor's row. */
	size_t room = l->rows > 3 ? (size_t)l->rows - 3 : 1;
	size_t shown = 0, more;

	if (l->state == LIVE_SHOWN) {
		live_erase(l);
	}
	l->len = 0;
	more = l->running > room ? l->running - (room - 1) : 0;
	for (size_t i = 0; i < l->n_jobs && shown + !!more < room; i++) {
		if (l->jobs[i].state == LIVE_JOB_RUNNING) {
			draw_job(l, i, now);
			put(l, "\n", 1);
			shown++;
		}
	}
	if (more) {
		int cols = l->cols - 1;
		char text[64];

		snprintf(text, sizeof(text), "  \u2026 %zu more running", more);
		put_cut(l, text, strlen(text), &cols);
		drawn_add(l, l->cols - 1 - cols);
		put(l, "\n", 1);
	}
	draw_counts(l, now);
	output_write(l->o.output, 2, l->buf, l->len);
	l->state = LIVE_SHOWN;
	if (l->paced) {
		l->paced = false;
		l->paced_at = now;
	}
	ev_timer_stop(l->o.loop, &l->redraw);
	if (!ev_is_active(&l->clock)) {
		ev_timer_again(l->o.loop, &l->clock);
	}
}

/* The pace timer: draw now. */
static void
live_redraw_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct live *l = container_of(w, struct live, redraw);

	(void)loop;
	(void)revents;
	live_draw(l);
}

/* The loop is about to wait: what this iteration queued is queued. */
static void
live_soon_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct live *l = container_of(w, struct live, soon);

	(void)revents;
	ev_prepare_stop(loop, w);
	live_draw(l);
}

/* A second passed while the region is shown: the clocks move. */
static void
live_clock_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct live *l = container_of(w, struct live, clock);

	(void)loop;
	(void)revents;
	if (!ev_is_active(&l->soon)) {
		live_draw(l);
	}
}

/* The terminal's size changed: draw at the new width now. */
static void
live_winch_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct live *l = container_of(w, struct live, winch);

	(void)loop;
	(void)revents;
	live_size(l);
	ev_timer_stop(l->o.loop, &l->redraw);
	ev_prepare_stop(l->o.loop, &l->soon);
	live_draw(l);
}

/*
 * A piece of job JOB's output: keep its last line (the text after the
 * last carriage return of it, as a progress bar shows it), and draw it
 * soon.
 */
static void
live_tap_cb(void *data, size_t job, const char *name, int which,
	    const char *p, size_t len)
{
	struct live *l = data;
	struct live_job *j = &l->jobs[job];
	const char *start, *cr;

	(void)name;
	(void)which;
	if (l->state == LIVE_FINISHED) {
		return;
	}
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) {
		len--;
	}
	if (!len) {
		return;
	}
	start = memrchr(p, '\n', len);
	start = start ? start + 1 : p;
	cr = memrchr(start, '\r', len - (size_t)(start - p));
	start = cr ? cr + 1 : start;
	j->last_len = len - (size_t)(start - p);
	if (j->last_len > LIVE_LAST_MAX) {
		j->last_len = LIVE_LAST_MAX;
	}
	memcpy(j->last, start, j->last_len);
	live_schedule(l, true);
}

/*
 * Bytes are about to be queued for WHICH: erase the region first (not
 * for stdout when it is not this terminal), and draw it again after.
 */
static void
live_overlay_cb(void *data, int which)
{
	struct live *l = data;

	if (l->state != LIVE_SHOWN || (which == 1 && !l->stdout_here)) {
		return;
	}
	live_erase(l);
	live_schedule(l, true);
}
