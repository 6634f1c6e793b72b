/* SPDX-License-Identifier: MIT */
#include "ctxrun/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctxrun/duration.h"
#include "ctxrun/probedef.h"
#include "ctxrun/rawcfg.h"
#include "ctxrun/remote.h"
#include "ctxrun/signame.h"
#include "ctxrun/util.h"

/*
 * Validation walks the raw sections and entries (rawcfg.h) once, finding
 * jobs by name through the spec's hash, with an iterative cycle check, so
 * a file of 10,000 chained jobs costs linear time and no deep recursion.
 */

/* Words longer than this get no suggestion: it would not be a typo. */
#define SUGGEST_MAX_LEN 255

/* Edit-distance cells suggestions may cost in one file (~0.1 s). */
#define SUGGEST_BUDGET 100000000L

#define JOBS_MAX 100000
#define RETRIES_MAX 1000

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
	KEY_LOG_DIR,
	KEY_FAILURE_LINES,
	KEY_SERVICE,
	KEY_READY,
	KEY_READY_TIMEOUT,
	KEY_READY_INTERVAL,
	KEY_ALWAYS,
	KEY_HOST,
	KEY_SSH_COMMAND,
	KEY_REMOTE_CTXRUN,
	KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {
	"command", "needs", "timeout", "grace", "stop_signal", "directory",
	"env", "allow_failure", "retries", "retry_delay", "jobs", "fail_fast",
	"shell", "log_dir", "failure_lines", "service", "ready",
	"ready_timeout", "ready_interval", "always", "host", "ssh_command",
	"remote_ctxrun",
};

static const char *const job_keys[] = {
	"command", "needs", "timeout", "grace", "stop_signal", "directory",
	"env", "allow_failure", "retries", "retry_delay", "service", "ready",
	"ready_timeout", "ready_interval", "always", "host",
};

static const char *const pipeline_keys[] = {
	"timeout", "grace", "stop_signal", "jobs", "fail_fast", "shell",
	"log_dir", "failure_lines", "ssh_command", "remote_ctxrun",
};

enum sect_kind { SECT_BAD, SECT_PIPELINE, SECT_JOB, SECT_DUP_JOB };

/* What validation made of one raw section. */
struct sect_info {
	enum sect_kind kind;
	size_t job; /* in spec (SECT_JOB) or scratch (SECT_DUP_JOB) */
	const struct rawcfg_entry *needs;
	int seen[KEY_COUNT]; /* line of each key's first use, 0: unused */
};

/* Validation state. */
struct checker {
	struct rawcfg *p;
	struct spec *s;
	struct spec *scratch; /* duplicate jobs: checked, then dropped */
	struct sect_info *sects;
	int pipeline_seen[KEY_COUNT];
	const char **names; /* job names, for suggestions */
	long budget;
	size_t n_jobish; /* [job:...] sections, valid or not */
};

static struct spec *validate(struct rawcfg *p);

/* Make ERRS the one message MSG (taken). */
static void
one_error(struct config_errors *errs, char *msg)
{
	errs->msgs = xmalloc(sizeof(*errs->msgs));
	errs->msgs[0] = msg;
	errs->n = 1;
}

/* Parse and validate LEN bytes of TEXT from the file NAME. */
struct spec *
config_parse_buffer(const char *name, const char *text, size_t len,
		    struct config_errors *errs)
{
	int line;
	const char *bad = rawcfg_check(text, len, &line);
	struct rawcfg p;
	struct spec *s;

	if (bad) {
		one_error(errs, xasprintf("%s:%d: %s", name, line, bad));
		return NULL;
	}
	rawcfg_parse(&p, name, text, len);
	s = validate(&p);
	if (p.n_errors) {
		spec_free(s);
		s = NULL;
	}
	errs->msgs = rawcfg_messages(&p, &errs->n);
	rawcfg_release(&p);
	return s;
}

/* Read PATH ("-": standard input) and parse it. */
struct spec *
config_parse_file(const char *path, struct config_errors *errs)
{
	bool is_stdin = !strcmp(path, "-");
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 ? errno : 0;
	int line = 1;
	const char *bad = NULL;
	struct spec *s = NULL;
	char *text = NULL;
	size_t len = 0;

	if (fd >= 0) {
		rc = rawcfg_load(fd, &text, &len, &line, &bad);
		if (!is_stdin) {
			close(fd);
		}
	}
	if (rc) {
		/* The one message without a line: there is none to name. */
		one_error(errs, xasprintf("%s: cannot read: %s", path,
					  strerror(rc)));
	} else if (bad) {
		one_error(errs, xasprintf("%s:%d: %s", path, line, bad));
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
unknown_section(struct checker *ch, const struct rawcfg_section *sec)
{
	static const char *const kinds[] = { "job", "pipeline" };
	const char *colon = strchr(sec->name, ':'), *hint;
	char *prefix;

	if (colon) {
		prefix = xstrndup(sec->name, (size_t)(colon - sec->name));
		hint = config_suggest(prefix, kinds, 2);
		free(prefix);
	} else {
		hint = config_suggest(sec->name, kinds, 2);
	}
	if (hint && !strcmp(hint, "pipeline")) {
		rawcfg_error(ch->p, sec->line, "unknown section [%s] (did you "
			     "mean [pipeline]?)", sec->name);
	} else if (hint && colon) {
		rawcfg_error(ch->p, sec->line, "unknown section [%s] (did you "
			     "mean [job%s]?)", sec->name, colon);
	} else if (hint || (*sec->name && !colon)) {
		/* "[build]" is most likely a job without its "job:". */
		rawcfg_error(ch->p, sec->line, "unknown section [%s] (did you "
			     "mean [job:%s]?)", sec->name,
			     hint ? "NAME" : sec->name);
	} else {
		rawcfg_error(ch->p, sec->line, "unknown section [%s]",
			     sec->name);
	}
}

/* Classify section I: the pipeline, a new job, a duplicate, or bad. */
static void
check_section(struct checker *ch, size_t i)
{
	const struct rawcfg_section *sec = &ch->p->sections[i];
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
		rawcfg_error(ch->p, sec->line, "empty job name in [job:]");
		return;
	}
	if (name[strcspn(name, " \t\r\v\f,")]) {
		rawcfg_error(ch->p, sec->line, "bad job name \"%s\" (no blanks "
			     "or commas)", name);
		return;
	}
	first = spec_find(ch->s, name);
	if (first >= 0) {
		rawcfg_error(ch->p, sec->line, "job \"%s\" defined twice "
			     "(first at line %d)", name,
			     ch->s->jobs[first].line);
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
get_duration(struct checker *ch, const struct rawcfg_entry *e, int64_t *ms)
{
	struct err err;

	if (duration_parse(e->value, ms, &err) < 0) {
		rawcfg_error(ch->p, e->line, "bad duration \"%s\" for %s: %s",
			     e->value, e->key, err.msg);
		return -1;
	}
	return 0;
}

/* Parse the signal of entry E into *SIGNO; -1 after reporting it. */
static int
get_signal(struct checker *ch, const struct rawcfg_entry *e, int *signo)
{
	struct err err;

	if (signame_parse(e->value, signo, &err) < 0) {
		rawcfg_error(ch->p, e->line, "unknown signal \"%s\" for %s",
			     e->value, e->key);
		return -1;
	}
	return 0;
}

/* Take the path of entry E (key WHAT) into *PATH; an empty one is an error. */
static void
get_path(struct checker *ch, const struct rawcfg_entry *e, const char *what,
	 char **path)
{
	if (!*e->value) {
		rawcfg_error(ch->p, e->line, "empty %s", what);
		return;
	}
	free(*path);
	*path = xstrdup(e->value);
}

/* Parse the boolean of entry E into *B; -1 after reporting it. */
static int
get_bool(struct checker *ch, const struct rawcfg_entry *e, bool *b)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(e->value, yes[i]) ||
		    !strcasecmp(e->value, no[i])) {
			*b = !strcasecmp(e->value, yes[i]);
			return 0;
		}
	}
	rawcfg_error(ch->p, e->line, "bad boolean \"%s\" for %s (use true or "
		     "false)", e->value, e->key);
	return -1;
}

/* Parse the number (0..MAX) of entry E into *N; -1 after reporting it. */
static int
get_number(struct checker *ch, const struct rawcfg_entry *e, long max, int *n)
{
	const char *s = e->value;
	long v = 0;

	if (!*s || s[strspn(s, "0123456789")]) {
		rawcfg_error(ch->p, e->line, "bad number \"%s\" for %s", s,
			     e->key);
		return -1;
	}
	for (; *s && v <= max; s++) {
		v = v * 10 + (*s - '0');
	}
	if (v > max) {
		rawcfg_error(ch->p, e->line, "bad number \"%s\" for %s (limit "
			     "is %ld)", e->value, e->key, max);
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
set_env(struct checker *ch, struct spec_job *j, const struct rawcfg_entry *e)
{
	const char *s = e->value;

	/* One variable per line: "env = A=1" may go on with "  B=2". */
	do {
		size_t len = strcspn(s, "\n"), name = strcspn(s, "=\n");

		if (name == len) {
			rawcfg_error(ch->p, e->line, "bad env \"%.*s\" (use "
				     "NAME=VALUE)", (int)len, s);
		} else if (!env_name_ok(s, name)) {
			rawcfg_error(ch->p, e->line, "bad env name \"%.*s\" "
				     "(letters, digits and _, not first a "
				     "digit)", (int)name, s);
		} else {
			/* Room for it and the NULL, doubling. */
			if (((j->n_env + 1) & j->n_env) == 0) {
				size_t n = 2 * (j->n_env + 1);

				j->env = xrealloc(j->env, n * sizeof(*j->env));
			}
			j->env[j->n_env++] = xstrndup(s, len);
			j->env[j->n_env] = NULL;
		}
		s += len + (s[len] == '\n');
	} while (*s);
}

/* Parse the probe of entry E into J's ready. */
static void
get_probe(struct checker *ch, const struct rawcfg_entry *e,
	  struct spec_job *j)
{
	struct err err;

	if (probedef_parse(&j->ready, e->value, &err) < 0) {
		rawcfg_error(ch->p, e->line, "%s", err.msg);
	}
}

/* Parse the duration of entry E into *MS, where 0 would mean nothing. */
static void
get_nonzero_duration(struct checker *ch, const struct rawcfg_entry *e,
		     int64_t *ms)
{
	if (get_duration(ch, e, ms) == 0 && !*ms) {
		rawcfg_error(ch->p, e->line, "%s must not be 0", e->key);
	}
}

/* Apply key K of entry E, one of the service keys, to job J. */
static void
set_service_key(struct checker *ch, struct spec_job *j, enum key k,
		const struct rawcfg_entry *e)
{
	bool yes = false;

	switch (k) {
	case KEY_SERVICE:
	case KEY_ALWAYS:
		if (get_bool(ch, e, &yes) < 0 || !yes) {
			break;
		}
		if (j->role != SPEC_TASK) {
			rawcfg_error(ch->p, e->line, "job \"%s\" cannot be "
				     "both a service and always (a teardown "
				     "job)", j->name);
			break;
		}
		j->role = k == KEY_SERVICE ? SPEC_SERVICE : SPEC_TEARDOWN;
		break;
	case KEY_READY:
		get_probe(ch, e, j);
		break;
	case KEY_READY_TIMEOUT:
		get_nonzero_duration(ch, e, &j->ready_timeout_ms);
		break;
	case KEY_READY_INTERVAL:
		get_nonzero_duration(ch, e, &j->ready_interval_ms);
		break;
	default:
		BUG("key %d in a job", (int)k);
	}
}

/* Set job J's host from entry E: [user@]name[:port]. */
static void
set_host(struct checker *ch, struct spec_job *j, const struct rawcfg_entry *e)
{
	struct err err;

	if (remote_host_check(e->value, &err) < 0) {
		rawcfg_error(ch->p, e->line, "%s", err.msg);
		return;
	}
	j->host = xstrdup(e->value);
}

/* Set *WORD from entry E, a remote jobs' program: one line, not empty. */
static void
set_remote_word(struct checker *ch, char **word, const struct rawcfg_entry *e)
{
	if (!*e->value || strchr(e->value, '\n')) {
		rawcfg_error(ch->p, e->line, "bad %s \"%s\" (one line, not "
			     "empty)", e->key, e->value);
		return;
	}
	free(*word);
	*word = xstrdup(e->value);
}

/* Apply key K of entry E to job J. */
static void
set_job_key(struct checker *ch, struct sect_info *si, struct spec_job *j,
	    enum key k, const struct rawcfg_entry *e)
{
	switch (k) {
	case KEY_COMMAND:
		j->command = xstrdup(e->value);
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
		if (!*e->value) {
			rawcfg_error(ch->p, e->line, "empty directory");
		}
		j->directory = xstrdup(e->value);
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
	case KEY_HOST:
		set_host(ch, j, e);
		break;
	default:
		set_service_key(ch, j, k, e);
	}
}

/* Apply key K of entry E to the pipeline. */
static void
set_pipeline_key(struct checker *ch, enum key k, const struct rawcfg_entry *e)
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
		get_path(ch, e, "shell", &s->shell);
		break;
	case KEY_LOG_DIR:
		get_path(ch, e, "log_dir", &s->log_dir);
		break;
	case KEY_FAILURE_LINES:
		get_number(ch, e, SPEC_FAILURE_LINES_MAX, &s->failure_lines);
		break;
	case KEY_SSH_COMMAND:
	case KEY_REMOTE_CTXRUN:
		set_remote_word(ch, k == KEY_SSH_COMMAND ? &s->ssh_command
							 : &s->remote_ctxrun, e);
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
check_entry(struct checker *ch, const struct rawcfg_entry *e)
{
	const struct rawcfg_section *sec = &ch->p->sections[e->section];
	struct sect_info *si = &ch->sects[e->section];
	bool pipe = si->kind == SECT_PIPELINE;
	const char *const *keys = pipe ? pipeline_keys : job_keys;
	size_t n = pipe ? ARRAY_SIZE(pipeline_keys) : ARRAY_SIZE(job_keys);
	int *seen = pipe ? ch->pipeline_seen : si->seen;
	int k = key_find(keys, n, e->key);
	const char *hint;

	if (k < 0) {
		hint = config_suggest(e->key, keys, n);
		rawcfg_error(ch->p, e->line, "unknown key \"%s\" in [%s]%s%s%s",
			     e->key, sec->name, hint ? " (did you mean \"" : "",
			     hint ? hint : "", hint ? "\"?)" : "");
		return;
	}
	if (seen[k] && k != KEY_ENV) {
		rawcfg_error(ch->p, e->line, "duplicate key \"%s\" in [%s] "
			     "(first at line %d)", e->key, sec->name, seen[k]);
		return;
	}
	seen[k] = seen[k] ? seen[k] : e->line;
	if (e->cont_line && k != KEY_COMMAND && k != KEY_NEEDS &&
	    k != KEY_ENV) {
		rawcfg_error(ch->p, e->cont_line, "\"%s\" takes one line (only "
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
	char *copy = xstrdup(si->needs->value), *save = NULL, *word;
	const char *hint;
	long idx;

	for (word = strtok_r(copy, ", \t\r\v\f\n", &save); word;
	     word = strtok_r(NULL, ", \t\r\v\f\n", &save)) {
		idx = spec_find(ch->s, word);
		if (idx < 0) {
			hint = suggest(ch, word, ch->names, ch->s->n_jobs);
			rawcfg_error(ch->p, si->needs->line, "job \"%s\" needs "
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
			rawcfg_error(ch->p, j->line,
				     "dependency cycle: %s -> %s", j->name,
				     j->name);
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

/*
 * Check the keys that only fit a service, or do not fit one, against J's
 * role; give a teardown job its own default timeout (ctxrun.ini(5)).
 */
static void
check_role(struct checker *ch, const struct sect_info *si,
	   struct spec_job *j)
{
	static const enum key service_only[] = { KEY_READY, KEY_READY_TIMEOUT,
						 KEY_READY_INTERVAL };

	if (j->role != SPEC_SERVICE) {
		for (size_t k = 0; k < ARRAY_SIZE(service_only); k++) {
			if (si->seen[service_only[k]]) {
				rawcfg_error(ch->p, si->seen[service_only[k]],
					     "%s on job \"%s\", which is no "
					     "service (add service = true)",
					     key_names[service_only[k]],
					     j->name);
			}
		}
	}
	if (j->role == SPEC_SERVICE && si->seen[KEY_RETRIES]) {
		rawcfg_error(ch->p, si->seen[KEY_RETRIES], "retries on service "
			     "\"%s\" (a service is not restarted)", j->name);
	}
	/* Its probe and its notify socket look on this host. */
	if (j->role == SPEC_SERVICE && si->seen[KEY_HOST]) {
		rawcfg_error(ch->p, si->seen[KEY_HOST], "host on service "
			     "\"%s\" (a service runs here, where its probe "
			     "looks)", j->name);
	}
	if (j->role == SPEC_TEARDOWN && !si->seen[KEY_TIMEOUT]) {
		j->timeout_ms = SPEC_DEFAULT_TEARDOWN_TIMEOUT_MS;
	}
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
			rawcfg_error(ch->p, j->line,
				     "job \"%s\" has no command", j->name);
		}
		check_role(ch, si, &ch->s->jobs[si->job]);
	}
	if (!ch->n_jobish && !ch->p->bad_header_seen) {
		rawcfg_error(ch->p, 1, "no jobs (add a [job:NAME] section)");
	}
	free(stamp);
}

/* Report the cycle PATH[0..N) (each needs the next, the last the first). */
static void
report_cycle(struct checker *ch, const size_t *path, size_t n)
{
	size_t first = 0, len = 0;
	char *text, *end;

	/* Start at the job that comes first in the file. */
	for (size_t i = 1; i < n; i++) {
		first = path[i] < path[first] ? i : first;
	}
	/* "a -> b -> a": every name, the first twice, joined by arrows. */
	for (size_t i = 0; i <= n; i++) {
		len += strlen(ch->s->jobs[path[(first + i) % n]].name) + 4;
	}
	end = text = xmalloc(len);
	for (size_t i = 0; i <= n; i++) {
		const char *name = ch->s->jobs[path[(first + i) % n]].name;

		end = stpcpy(stpcpy(end, i ? " -> " : ""), name);
	}
	rawcfg_error(ch->p, ch->s->jobs[path[first]].line,
		     "dependency cycle: %s", text);
	free(text);
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
validate(struct rawcfg *p)
{
	struct checker ch = { .p = p, .budget = SUGGEST_BUDGET };

	ch.s = spec_new(p->name);
	ch.scratch = spec_new(p->name);
	ch.sects = xcalloc(p->n_sections + 1, sizeof(*ch.sects));
	for (size_t i = 0; i < p->n_sections; i++) {
		check_section(&ch, i);
	}
	for (size_t i = 0; i < p->n_entries; i++) {
		const struct rawcfg_entry *e = &p->entries[i];

		if (e->section == -1) {
			rawcfg_error(p, e->line, "key \"%s\" outside any "
				     "section (add a [job:NAME] header above "
				     "it)", e->key);
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
