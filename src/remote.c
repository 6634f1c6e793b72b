/* SPDX-License-Identifier: MIT */
#include "ctxrun/remote.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/util.h"

/*
 * The encoding keeps what every shell leaves alone as it is, so a `ps` on
 * the far side still reads `ctxrun --remote -t 2950ms -g 10000ms -s 15
 * --job build -- make`; only the unusual bytes turn into %XX.
 */

static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789_./:=,+@-";

/* Is C left as it is by the encoding? */
static bool
is_safe(unsigned char c)
{
	return c && strchr(safe, c);
}

/* Check HOST as [user@]name[:port]. */
int
remote_host_check(const char *host, struct err *e)
{
	const char *name = strchr(host, '@');
	const char *colon = strrchr(host, ':');
	char *end;
	long port;

	name = name ? name + 1 : host;
	if (host[strcspn(host, " \t\n\r\v\f'\"\\`$;&|<>()*?[]{}!#~")]) {
		return err_set(e, 0, "bad host \"%s\" (blanks or shell "
				     "characters)", host);
	}
	/* Nor after user@: ssh would take "u@-oX" for host "-oX". */
	if (host[0] == '-' || name == host + 1 || !*name || *name == ':' ||
	    *name == '-' || strchr(name, '@')) {
		return err_set(e, 0, "bad host \"%s\" (expected "
				     "[user@]name[:port])", host);
	}
	if (colon) {
		port = strtol(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end || port < 1 ||
		    port > 65535) {
			return err_set(e, 0, "bad port in host \"%s\" (1 to "
					     "65535)", host);
		}
	}
	return 0;
}

/* Append WORD (taken) to the argv *V of *N words. */
static void
push(char ***v, size_t *n, char *word)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = word;
	(*v)[*n] = NULL;
}

/* Append the encoded WORD and a blank to the line *LINE. */
static void
line_add(char **line, const char *word)
{
	char *enc = remote_encode(word);
	char *next = xasprintf("%s %s", *line, enc);

	free(enc);
	free(*line);
	*line = next;
}

/*
 * The far side's ctxrun as the first word of the line: its path goes
 * unencoded, so a path with unusual bytes is quoted for a POSIX shell.
 */
static char *
line_start(const char *ctxrun)
{
	size_t n = strlen(ctxrun), k = 0;
	char *q;

	if (strspn(ctxrun, safe) == n && n) {
		return xasprintf("%s --remote", ctxrun);
	}
	q = xmalloc(4 * n + 3 + sizeof(" --remote"));
	q[k++] = '\'';
	for (size_t i = 0; i < n; i++) {
		if (ctxrun[i] == '\'') {
			memcpy(q + k, "'\\''", 4);
			k += 4;
		} else {
			q[k++] = ctxrun[i];
		}
	}
	q[k++] = '\'';
	memcpy(q + k, " --remote", sizeof(" --remote"));
	return q;
}

/* The remote command line of O, one word for ssh. */
static char *
remote_line(const struct remote_opts *o)
{
	char *line = line_start(o->ctxrun ? o->ctxrun : REMOTE_DEFAULT_CTXRUN);
	char num[32];
	long long sent_ms;

	if (o->timeout_ms) {
		snprintf(num, sizeof(num), "%lldms", (long long)o->timeout_ms);
		line_add(&line, "-t");
		line_add(&line, num);
		/* Rounded down: a deadline counted from it is never late. */
		sent_ms = (long long)(o->sent_at * 1000.);
		snprintf(num, sizeof(num), "%lld.%03lld", sent_ms / 1000,
			 sent_ms % 1000);
		line_add(&line, "--sent");
		line_add(&line, num);
	}
	snprintf(num, sizeof(num), "%lldms", (long long)o->grace_ms);
	line_add(&line, "-g");
	line_add(&line, num);
	snprintf(num, sizeof(num), "%d", o->stop_signal);
	line_add(&line, "-s");
	line_add(&line, num);
	line_add(&line, "--job");
	line_add(&line, o->name);
	if (o->cwd) {
		line_add(&line, "--directory");
		line_add(&line, o->cwd);
	}
	for (char *const *e = o->env_add; e && *e; e++) {
		line_add(&line, "--env");
		line_add(&line, *e);
	}
	line_add(&line, "--");
	for (char *const *a = o->argv; *a; a++) {
		line_add(&line, *a);
	}
	return line;
}

/* The argv that runs O's job through ssh. */
char **
remote_argv(const struct remote_opts *o)
{
	const char *cmd = o->ssh_command ? o->ssh_command : REMOTE_DEFAULT_SSH;
	const char *colon = strrchr(o->host, ':');
	char **v = NULL;
	size_t n = 0;

	for (cmd += strspn(cmd, " \t\n"); *cmd; cmd += strspn(cmd, " \t\n")) {
		size_t len = strcspn(cmd, " \t\n");

		push(&v, &n, xstrndup(cmd, len));
		cmd += len;
	}
	if (!n) {
		push(&v, &n, xstrdup(REMOTE_DEFAULT_SSH));
	}
	push(&v, &n, xstrdup("-o"));
	push(&v, &n, xstrdup("BatchMode=yes"));
	if (colon) {
		push(&v, &n, xstrdup("-p"));
		push(&v, &n, xstrdup(colon + 1));
	}
	push(&v, &n, xstrdup("--"));
	push(&v, &n, colon ? xstrndup(o->host, (size_t)(colon - o->host))
			   : xstrdup(o->host));
	push(&v, &n, remote_line(o));
	return v;
}

/* Release an argv of remote_argv(). */
void
remote_argv_free(char **argv)
{
	for (char **a = argv; a && *a; a++) {
		free(*a);
	}
	free(argv);
}

/* Do the clocks agree the deadline was sent a short while ago? */
bool
remote_clocks_agree(double sent_at, double now)
{
	double ms = (now - sent_at) * 1000.;

	return ms >= 0 && ms <= REMOTE_TRANSIT_MAX_MS;
}

/* WORD encoded. */
char *
remote_encode(const char *word)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(word), k = 0;
	char *out;

	if (!n) {
		return xstrdup("%");
	}
	out = xmalloc(3 * n + 1);
	for (const unsigned char *p = (const unsigned char *)word; *p; p++) {
		if (is_safe(*p)) {
			out[k++] = (char)*p;
		} else {
			out[k++] = '%';
			out[k++] = hex[*p >> 4];
			out[k++] = hex[*p & 15];
		}
	}
	out[k] = '\0';
	return out;
}

/* The value of hex digit C, or -1. */
static int
hex_value(char c)
{
	const char *digits = "0123456789ABCDEF";
	const char *p = c ? strchr(digits, c) : NULL;

	return p ? (int)(p - digits) : -1;
}

/* Decode WORD in place. */
int
remote_decode(char *word)
{
	char *out = word;

	if (!strcmp(word, "%")) {
		*word = '\0';
		return 0;
	}
	for (const char *p = word; *p; p++) {
		int hi, lo;

		if (*p != '%') {
			if (!is_safe((unsigned char)*p)) {
				return -1;
			}
			*out++ = *p;
			continue;
		}
		hi = hex_value(p[1]);
		lo = hi < 0 ? -1 : hex_value(p[2]);
		if (lo < 0 || (hi == 0 && lo == 0)) {
			return -1;
		}
		*out++ = (char)(hi << 4 | lo);
		p += 2;
	}
	*out = '\0';
	return 0;
}
