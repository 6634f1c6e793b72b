/* SPDX-License-Identifier: MIT */
#include "ctxrun/probedef.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <limits.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/util.h"

/*
 * Everything a probe can get wrong in its text is found here, before
 * anything runs: a bad address or regex is a config error (exit 125), not
 * a service that "never became ready" a minute later.
 */

/* Parse the decimal port at S (1..65535) into *PORT; -1 if it is none. */
static int
parse_port(const char *s, unsigned *port)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5 || s[strspn(s, "0123456789")]) {
		return -1;
	}
	v = strtoul(s, NULL, 10);
	if (v < 1 || v > 65535) {
		return -1;
	}
	*port = (unsigned)v;
	return 0;
}

/*
 * Fill D's address from HOST (IPv4, IPv6 without its brackets, or
 * "localhost") and PORT; -1 if HOST is none of these.
 */
static int
set_addr(struct probedef *d, const char *host, unsigned port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&d->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&d->addr;

	memset(&d->addr, 0, sizeof(d->addr));
	if (!strcmp(host, "localhost")) {
		host = "127.0.0.1";
	}
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		d->addr_len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		d->addr_len = sizeof(*in6);
		return 0;
	}
	return -1;
}

/*
 * Parse "HOST:PORT" or "[V6]:PORT" at HP into D's address, with
 * DEFAULT_PORT when the port is left out and that is not 0; -1 with E.
 */
static int
parse_hostport(struct probedef *d, const char *hp, unsigned default_port,
	       struct err *e)
{
	char *host = xstrdup(hp), *colon, *port_text = NULL;
	unsigned port = default_port;
	int rc = -1;

	if (host[0] == '[' && (colon = strchr(host, ']'))) {
		*colon = '\0';
		memmove(host, host + 1, strlen(host));
		port_text = colon[1] == ':' ? colon + 2 : colon[1] ? colon : NULL;
		if (port_text == colon) {
			goto bad;
		}
	} else if ((colon = strrchr(host, ':'))) {
		*colon = '\0';
		port_text = colon + 1;
	}
	if (port_text ? parse_port(port_text, &port) < 0 : !port) {
		err_set(e, 0, "bad port in probe \"%s\" (use HOST:PORT, the "
			"port 1 to 65535)", d->text);
		goto out;
	}
	if (set_addr(d, host, port) == 0) {
		rc = 0;
		goto out;
	}
bad:
	err_set(e, 0, "bad address in probe \"%s\" (use a numeric IPv4 or "
		"[IPv6] address or localhost: a name lookup would block)",
		d->text);
out:
	free(host);
	return rc;
}

/* Parse the rest of an http:// probe, REST after the scheme. */
static int
parse_http(struct probedef *d, const char *rest, struct err *e)
{
	size_t hp_len = strcspn(rest, "/?#");
	char *hp = xstrndup(rest, hp_len);
	int rc = parse_hostport(d, hp, 80, e);

	if (rc == 0) {
		d->host = hp;
		d->arg = xstrdup(rest[hp_len] == '/' ? rest + hp_len : "/");
		if (rest[hp_len] && rest[hp_len] != '/') {
			/* "http://h?x": the path is "/?x". */
			free(d->arg);
			d->arg = xasprintf("/%s", rest + hp_len);
		}
	} else {
		free(hp);
	}
	return rc;
}

/*
 * What a log: regex costs regcomp(), found before it is called. glibc
 * copies the tree of what a repetition repeats ("x+" is "xx*"), so 30 '+'
 * in a row make 2^30 copies; and repeating what can match nothing takes
 * it minutes on a few hundred copies ("((a?|b?)+){64}": more than 9).
 * Both were found by fuzz_probe; a regex that waits for a line needs
 * neither.
 */
enum regex_cost {
	REGEX_CHEAP,
	REGEX_TOO_LARGE,     /* past PROBEDEF_REGEX_MAX_COPIES copies */
	REGEX_LOOPS_ON_NULL, /* *, + or {N} repeats what can match nothing */
};

/* A repetition: +, *, ?, {M}, {M,}, {M,N} or {,N}. */
struct re_repeat {
	unsigned long times; /* the copies of what it repeats */
	bool loops;          /* it may match what it repeats twice */
	bool may_skip;       /* it may match it no times */
};

/* A ( of a regex being sized, or the whole. */
struct re_group {
	unsigned long total; /* copies of the atoms in it so far */
	unsigned long last;  /* copies of its last atom, 0 after | */
	bool last_null;      /* the last atom can match nothing */
	bool null_before;    /* the branch could, before the last atom */
	bool branch_null;    /* the branch so far can match nothing */
	bool any_null;       /* one of its ended branches can */
};

/* A + B, or over past PROBEDEF_REGEX_MAX_COPIES: no overflow. */
static unsigned long
copies_add(unsigned long a, unsigned long b)
{
	unsigned long over = PROBEDEF_REGEX_MAX_COPIES + 1;

	return a + b > over ? over : a + b;
}

/* A * B, or over past PROBEDEF_REGEX_MAX_COPIES: no overflow. */
static unsigned long
copies_mul(unsigned long a, unsigned long b)
{
	unsigned long over = PROBEDEF_REGEX_MAX_COPIES + 1;

	return b && a > over / b ? over : a * b;
}

/*
 * Read the repetition at P into *R, with *LEN set to its length; false
 * when P is none. Counts past any limit are past ours: regcomp() refuses
 * more than RE_DUP_MAX anyway.
 */
static bool
repeat_read(const char *p, struct re_repeat *r, size_t *len)
{
	const char *q = p + 1;
	unsigned long m = 0, n;
	char *end;

	*len = 1;
	if (*p == '+' || *p == '*' || *p == '?') {
		*r = (struct re_repeat){ *p == '+' ? 2 : 1, *p != '?',
					 *p != '+' };
		return true;
	}
	if (*p != '{' || !(*q == ',' || (*q >= '0' && *q <= '9'))) {
		return false;
	}
	if (*q != ',') {
		m = strtoul(q, &end, 10);
		q = end;
	}
	n = m;
	if (*q == ',' && q[1] >= '0' && q[1] <= '9') {
		n = strtoul(q + 1, &end, 10);
		q = end;
	} else if (*q == ',') {
		n = ULONG_MAX; /* no end: M + 1 copies, M + ... matches */
		q++;
	}
	if (*q != '}') {
		return false;
	}
	*len = (size_t)(q + 1 - p);
	*r = (struct re_repeat){ n == ULONG_MAX ? m + 1 : n > m ? n : m,
				 n > 1, m == 0 };
	r->times += !r->times;
	return true;
}

/* Apply the repetition R to G's last atom; false if it loops on null. */
static bool
group_repeat(struct re_group *g, const struct re_repeat *r)
{
	if (r->loops && g->last && g->last_null) {
		return false;
	}
	g->total = copies_add(g->total, copies_mul(g->last, r->times - 1));
	g->last = copies_mul(g->last, r->times);
	if (r->may_skip) {
		g->last_null = true;
		g->branch_null = g->null_before;
	}
	return true;
}

/* Add an atom of COPIES copies to G, one that can match nothing or not. */
static void
group_add(struct re_group *g, unsigned long copies, bool null)
{
	g->total = copies_add(g->total, copies);
	g->last = copies;
	g->last_null = null;
	g->null_before = g->branch_null;
	g->branch_null = g->branch_null && null;
}

/* The length of the bracket expression at P ("[...]"), 0 if unended. */
static size_t
bracket_len(const char *p)
{
	const char *q = p + 1;

	q += *q == '^';
	q += *q == ']';
	while (*q && *q != ']') {
		/* [:alpha:], [.-.] and [=e=] may hold a ']'. */
		if (*q == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
			const char *end = strchr(q + 2, q[1]);

			while (end && end[1] != ']') {
				end = strchr(end + 1, q[1]);
			}
			if (!end) {
				return 0;
			}
			q = end + 2;
		} else {
			q++;
		}
	}
	return *q ? (size_t)(q + 1 - p) : 0;
}

/*
 * What the ERE RE costs regcomp(). What regcomp() would refuse may be
 * sized any way: it is refused after.
 */
static enum regex_cost
regex_cost(const char *re)
{
	static const struct re_group empty = { .branch_null = true };
	struct re_group g[64] = { empty };
	struct re_repeat r;
	size_t depth = 0, len;

	for (const char *p = re; *p; p += len) {
		if (repeat_read(p, &r, &len)) {
			if (!group_repeat(&g[depth], &r)) {
				return REGEX_LOOPS_ON_NULL;
			}
		} else if (*p == '(') {
			/* So deep is too large: say so, not size it wrong. */
			if (depth + 1 == ARRAY_SIZE(g)) {
				return REGEX_TOO_LARGE;
			}
			g[++depth] = empty;
		} else if (*p == ')' && depth > 0) {
			struct re_group *in = &g[depth--];

			group_add(&g[depth], in->total + !in->total,
				  in->any_null || in->branch_null);
		} else if (*p == '|') {
			g[depth].any_null |= g[depth].branch_null;
			g[depth].branch_null = true;
			g[depth].last = 0;
		} else {
			/* An escape is one atom; regcomp() sees to a lone [. */
			len = *p == '[' ? bracket_len(p)
					: 1 + (size_t)(*p == '\\' && p[1]);
			len += !len;
			group_add(&g[depth], 1, *p == '^' || *p == '$');
		}
	}
	while (depth > 0) {
		g[0].total = copies_add(g[0].total, g[depth--].total);
	}
	return g[0].total > PROBEDEF_REGEX_MAX_COPIES ? REGEX_TOO_LARGE
						      : REGEX_CHEAP;
}

/*
 * Check the POSIX ERE of a log: probe. An empty one is refused before it
 * is compiled: glibc compiles it, and it was leaked (found by fuzz_probe).
 */
static int
parse_log(struct probedef *d, const char *re, struct err *e)
{
	regex_t rx;
	char why[128];
	int rc;

	if (!*re) {
		return err_set(e, 0, "empty regex in probe \"%s\"", d->text);
	}
	switch (regex_cost(re)) {
	case REGEX_TOO_LARGE:
		return err_set(e, 0, "regex too large in probe \"%s\" (its "
			       "repetitions make more than %d copies)",
			       d->text, PROBEDEF_REGEX_MAX_COPIES);
	case REGEX_LOOPS_ON_NULL:
		return err_set(e, 0, "regex in probe \"%s\" repeats what "
			       "can match nothing, as \"(a?)+\" does: write "
			       "\"a*\"", d->text);
	case REGEX_CHEAP:
		break;
	}
	rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		regerror(rc, &rx, why, sizeof(why));
		return err_set(e, 0, "bad regex in probe \"%s\": %s", d->text,
			       why);
	}
	regfree(&rx);
	d->arg = xstrdup(re);
	return 0;
}

/* Parse TEXT into D. */
int
probedef_parse(struct probedef *d, const char *text, struct err *e)
{
	int rc = 0;

	memset(d, 0, sizeof(*d));
	d->text = xstrdup(text);
	if (!strncmp(text, "exec:", 5)) {
		d->kind = PROBE_EXEC;
		d->arg = xstrdup(text + 5);
		rc = *d->arg ? 0
			     : err_set(e, 0, "empty command in probe \"%s\"",
				       text);
	} else if (!strncmp(text, "tcp:", 4)) {
		d->kind = PROBE_TCP;
		rc = parse_hostport(d, text + 4, 0, e);
	} else if (!strncmp(text, "http://", 7)) {
		d->kind = PROBE_HTTP;
		rc = parse_http(d, text + 7, e);
	} else if (!strncmp(text, "https://", 8)) {
		rc = err_set(e, 0, "https probes are not supported: \"%s\" "
			     "(use exec:curl -fsS URL)", text);
	} else if (!strncmp(text, "log:", 4)) {
		d->kind = PROBE_LOG;
		rc = parse_log(d, text + 4, e);
	} else if (!strcmp(text, "notify")) {
		d->kind = PROBE_NOTIFY;
	} else {
		rc = err_set(e, 0, "unknown probe \"%s\" (use exec:CMD, "
			     "tcp:HOST:PORT, http://HOST:PORT/PATH, log:REGEX "
			     "or notify)", text);
	}
	if (rc < 0) {
		probedef_release(d);
	}
	return rc;
}

/* Is D polled? */
bool
probedef_polled(const struct probedef *d)
{
	return d->kind == PROBE_EXEC || d->kind == PROBE_TCP ||
	       d->kind == PROBE_HTTP;
}

/* Release D's strings. */
void
probedef_release(struct probedef *d)
{
	free(d->text);
	free(d->arg);
	free(d->host);
	memset(d, 0, sizeof(*d));
}
