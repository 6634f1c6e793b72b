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
	for (size_t k = 0; k < j->n_env; k++) {
		free(j->env[k]);
	}
	free(j->env);
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

/* Level of every job (see spec.h). */
size_t *
spec_levels(const struct spec *s, size_t *max_level)
{
	size_t *level = xcalloc(s->n_jobs, sizeof(*level));
	size_t edges = 0, *stack;

	/* A job is pushed once as a root and at most once per edge into it. */
	for (size_t i = 0; i < s->n_jobs; i++) {
		edges += s->jobs[i].n_needs;
	}
	stack = xmalloc((s->n_jobs + edges + 1) * sizeof(*stack));

	/*
	 * Depth-first with an explicit stack (chains may be thousands deep):
	 * a job is settled once all its needs are; until then its unsettled
	 * needs go on the stack above it.
	 */
	*max_level = 0;
	for (size_t root = 0; root < s->n_jobs; root++) {
		size_t top = 0;

		stack[top++] = root;
		while (top) {
			const struct spec_job *j = &s->jobs[stack[top - 1]];
			size_t l = 1, pushed = 0;

			for (size_t k = 0; k < j->n_needs && !level[stack[top - 1]]; k++) {
				size_t need = j->needs[k];

				if (!level[need]) {
					stack[top + pushed++] = need;
				} else if (level[need] + 1 > l) {
					l = level[need] + 1;
				}
			}
			if (pushed) {
				top += pushed;
				continue;
			}
			if (!level[stack[top - 1]]) {
				level[stack[top - 1]] = l;
			}
			*max_level = level[stack[top - 1]] > *max_level
					     ? level[stack[top - 1]]
					     : *max_level;
			top--;
		}
	}
	free(stack);
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
	free(s);
}
