/* SPDX-License-Identifier: MIT */
#include "ctxrun/spec.h"

#include <ctype.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/util.h"

/* Create an empty spec with the defaults. */
struct spec *
spec_new(const char *file)
{
	struct spec *s = xcalloc(1, sizeof(*s));

	s->file = xstrdup(file);
	s->grace_ms = SPEC_DEFAULT_GRACE_MS;
	s->stop_signal = SIGTERM;
	s->fail_fast = true;
	s->shell = xstrdup(SPEC_DEFAULT_SHELL);
	s->failure_lines = SPEC_DEFAULT_FAILURE_LINES;
	return s;
}

/* Put job IDX into S's name index, which has room for it. */
static void
index_insert(struct spec *s, size_t idx)
{
	size_t i = hash_bytes(s->jobs[idx].name, strlen(s->jobs[idx].name)) & s->index_mask;

	while (s->index[i]) {
		i = (i + 1) & s->index_mask;
	}
	s->index[i] = idx + 1;
}

/* Rebuild S's name index for its jobs, at most half full. */
static void
index_rebuild(struct spec *s)
{
	size_t cap = 16;

	while (cap < 2 * s->n_jobs) {
		cap *= 2;
	}
	free(s->index);
	s->index = xcalloc(cap, sizeof(*s->index));
	s->index_mask = cap - 1;
	for (size_t i = 0; i < s->n_jobs; i++) {
		index_insert(s, i);
	}
}

/* Append a job named NAME with the pipeline's defaults. */
struct spec_job *
spec_add_job(struct spec *s, const char *name)
{
	struct spec_job *j;

	/* Grow in powers of two: a file may hold many thousands of jobs. */
	if ((s->n_jobs & (s->n_jobs - 1)) == 0) {
		s->jobs = xrealloc(s->jobs, (s->n_jobs ? s->n_jobs * 2 : 1) *
						    sizeof(*s->jobs));
	}
	j = &s->jobs[s->n_jobs++];
	memset(j, 0, sizeof(*j));
	j->name = xstrdup(name);
	j->grace_ms = s->grace_ms;
	j->stop_signal = s->stop_signal;
	j->ready_timeout_ms = SPEC_DEFAULT_READY_TIMEOUT_MS;
	j->ready_interval_ms = SPEC_DEFAULT_READY_INTERVAL_MS;
	if (2 * s->n_jobs > s->index_mask) {
		index_rebuild(s);
	} else {
		index_insert(s, s->n_jobs - 1);
	}
	return j;
}

/* Index of the job named NAME, or -1. */
long
spec_find(const struct spec *s, const char *name)
{
	if (!s->index) {
		return -1;
	}
	for (size_t i = hash_bytes(name, strlen(name)) & s->index_mask; s->index[i];
	     i = (i + 1) & s->index_mask) {
		if (!strcmp(s->jobs[s->index[i] - 1].name, name)) {
			return (long)s->index[i] - 1;
		}
	}
	return -1;
}

/*
 * Words the shell gives a meaning of its own (keywords, and built-ins
 * whose program namesake behaves differently or does not exist), after
 * make's list for the same shortcut, plus what make misses: dash's
 * "chdir", the echo, printf and kill whose programs take other options
 * (dash's echo prints "-e"), and bash's own, since /bin/sh may be bash.
 * Only true, false and test stay exec'd: their programs behave the same.
 */
static const char *const shell_words[] = {
	"!", ".", ":", "[", "[[", "]]", "alias", "bg", "bind", "break",
	"builtin", "caller", "case", "cd", "chdir", "command", "compgen",
	"complete", "compopt", "continue", "declare", "dirs", "disown", "do",
	"done", "echo", "elif", "else", "enable", "esac", "eval", "exec",
	"exit", "export", "fc", "fg", "fi", "for", "function", "getopts",
	"hash", "help", "history", "if", "in", "jobs", "kill", "let", "local",
	"login", "logout", "mapfile", "newgrp", "popd", "printf", "pushd",
	"pwd", "read", "readarray", "readonly", "return", "select", "set",
	"shift", "shopt", "source", "suspend", "then", "time", "times", "trap",
	"type", "typeset", "ulimit", "umask", "unalias", "unset", "until",
	"wait", "while", "{", "}",
};

/* Is WORD a shell keyword or built-in? */
static bool
is_shell_word(const char *word)
{
	for (size_t i = 0; i < sizeof(shell_words) / sizeof(shell_words[0]); i++) {
		if (!strcmp(word, shell_words[i])) {
			return true;
		}
	}
	return false;
}

/* The argv for J's command without the shell, or NULL. */
char **
spec_direct_argv(const struct spec *s, const struct spec_job *j)
{
	static const char blanks[] = " \t";
	const char *cmd = j->command, *p;
	char **argv;
	size_t n = 0;

	if (!cmd || strcmp(s->shell, SPEC_DEFAULT_SHELL) != 0) {
		return NULL;
	}
	for (size_t i = 0; i < j->n_env; i++) {
		if (!strncmp(j->env[i], "PATH=", 5)) {
			return NULL;
		}
	}
	for (p = cmd; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr(" \t-_./=:,+@%", *p)) {
			return NULL;
		}
	}
	argv = xcalloc(strlen(cmd) / 2 + 2, sizeof(*argv));
	for (p = cmd + strspn(cmd, blanks); *p; p += strspn(p, blanks)) {
		size_t len = strcspn(p, blanks);

		argv[n++] = xasprintf("%.*s", (int)len, p);
		p += len;
	}
	if (!n || strchr(argv[0], '=') || is_shell_word(argv[0])) {
		spec_argv_free(argv);
		return NULL;
	}
	return argv;
}

/* Free an argv from spec_direct_argv(). */
void
spec_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++) {
		free(argv[i]);
	}
	free(argv);
}

/* Mark job I and everything it needs in KEEP (no recursion: chains run deep). */
static void
mark_needed(const struct spec *s, size_t i, bool *keep)
{
	size_t *stack = xmalloc(s->n_jobs * sizeof(*stack)), top = 0;

	if (!keep[i]) {
		keep[i] = true;
		stack[top++] = i;
	}
	while (top) {
		const struct spec_job *j = &s->jobs[stack[--top]];

		/* Each job is pushed once, when first marked: N slots suffice. */
		for (size_t k = 0; k < j->n_needs; k++) {
			if (!keep[j->needs[k]]) {
				keep[j->needs[k]] = true;
				stack[top++] = j->needs[k];
			}
		}
	}
	free(stack);
}

/* Release what one job owns. */
static void
spec_job_release(struct spec_job *j)
{
	free(j->name);
	free(j->command);
	for (char **a = j->argv; a && *a; a++) {
		free(*a);
	}
	free(j->argv);
	free(j->needs);
	free(j->directory);
	free(j->host);
	for (size_t k = 0; k < j->n_env; k++) {
		free(j->env[k]);
	}
	free(j->env);
	probedef_release(&j->ready);
}

/* Keep only the named jobs and their transitive needs. */
void
spec_select(struct spec *s, char *const *names, size_t n)
{
	bool *keep = xcalloc(s->n_jobs, sizeof(*keep));
	size_t *new_index = xcalloc(s->n_jobs, sizeof(*new_index));
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		long idx = spec_find(s, names[i]);

		if (idx < 0) {
			BUG("spec_select: unknown job '%s'", names[i]);
		}
		mark_needed(s, (size_t)idx, keep);
	}
	for (size_t i = 0; i < s->n_jobs; i++) {
		if (keep[i]) {
			new_index[i] = kept;
			s->jobs[kept++] = s->jobs[i];
		} else {
			spec_job_release(&s->jobs[i]);
		}
	}
	s->n_jobs = kept;
	index_rebuild(s);
	for (size_t i = 0; i < kept; i++) {
		for (size_t k = 0; k < s->jobs[i].n_needs; k++) {
			s->jobs[i].needs[k] = new_index[s->jobs[i].needs[k]];
		}
	}
	free(keep);
	free(new_index);
}

/* Build the dependents index of S. */
void
spec_dependents_init(struct spec_dependents *d, const struct spec *s)
{
	size_t n = s->n_jobs, *fill = xcalloc(n + 1, sizeof(*fill));

	/* Count each job's dependents, sum the counts into offsets, fill. */
	d->start = xcalloc(n + 1, sizeof(*d->start));
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < s->jobs[i].n_needs; k++) {
			d->start[s->jobs[i].needs[k] + 1]++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		d->start[i + 1] += d->start[i];
	}
	d->job = xmalloc((d->start[n] + 1) * sizeof(*d->job));
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < s->jobs[i].n_needs; k++) {
			size_t need = s->jobs[i].needs[k];

			d->job[d->start[need] + fill[need]++] = i;
		}
	}
	free(fill);
}

/* Release what D holds. */
void
spec_dependents_release(struct spec_dependents *d)
{
	free(d->start);
	free(d->job);
	d->start = d->job = NULL;
}

/* Level of every job (see spec.h). */
size_t *
spec_levels(const struct spec *s, size_t *max_level)
{
	size_t n = s->n_jobs, head = 0, tail = 0;
	size_t *level = xcalloc(n + 1, sizeof(*level));
	size_t *left = xmalloc((n + 1) * sizeof(*left));
	size_t *queue = xmalloc((n + 1) * sizeof(*queue));
	struct spec_dependents d;

	/*
	 * Kahn's walk, no recursion (chains may be thousands deep): a job is
	 * settled once all its needs are, a level above its deepest need.
	 * Until then LEVEL holds the deepest need's level so far. Jobs in or
	 * behind a cycle are never settled.
	 */
	spec_dependents_init(&d, s);
	for (size_t i = 0; i < n; i++) {
		left[i] = s->jobs[i].n_needs;
		if (!left[i]) {
			queue[tail++] = i;
		}
	}
	*max_level = 0;
	while (head < tail) {
		size_t done = queue[head++];

		if (++level[done] > *max_level) {
			*max_level = level[done];
		}
		for (size_t k = d.start[done]; k < d.start[done + 1]; k++) {
			size_t dep = d.job[k];

			level[dep] = level[done] > level[dep] ? level[done]
							      : level[dep];
			if (--left[dep] == 0) {
				queue[tail++] = dep;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		level[i] = left[i] ? 0 : level[i];
	}
	spec_dependents_release(&d);
	free(left);
	free(queue);
	return level;
}

/* Release S. */
void
spec_free(struct spec *s)
{
	if (!s) {
		return;
	}
	for (size_t i = 0; i < s->n_jobs; i++) {
		spec_job_release(&s->jobs[i]);
	}
	free(s->jobs);
	free(s->index);
	free(s->file);
	free(s->shell);
	free(s->log_dir);
	free(s->ssh_command);
	free(s->remote_ctxrun);
	free(s);
}
