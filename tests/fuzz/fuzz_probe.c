/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for probedef_parse(), what follows `ready =`: any text
 * gives either a probe that probe.c can run as it is or a message naming
 * the text, with the probedef left empty; never a crash, a leak (ASan's
 * leak check at exit and every -runs) or undefined behaviour. Build and
 * run with `make fuzz`.
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/probedef.h"

/* Abort (a finding for libFuzzer) unless COND holds. */
static void
check(int cond)
{
	if (!cond) {
		abort();
	}
}

/* Is D all zero bytes, as probedef_release() leaves it? */
static int
is_empty(const struct probedef *d)
{
	static const struct probedef zero;

	return !memcmp(d, &zero, sizeof(zero));
}

/* Check the address of a tcp: or http:// probe: one connect() can take. */
static void
check_addr(const struct probedef *d)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&d->addr;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&d->addr;

	if (d->addr.ss_family == AF_INET) {
		check(d->addr_len == sizeof(*in) && in->sin_port != 0);
	} else {
		check(d->addr.ss_family == AF_INET6);
		check(d->addr_len == sizeof(*in6) && in6->sin6_port != 0);
	}
}

/* Check a parsed probe D of TEXT: what probe.c relies on. */
static void
check_probe(const struct probedef *d, const char *text)
{
	regex_t rx;

	check(d->text && !strcmp(d->text, text));
	switch (d->kind) {
	case PROBE_EXEC:
		check(!strncmp(text, "exec:", 5) && d->arg && *d->arg);
		check(!strcmp(d->arg, text + 5));
		break;
	case PROBE_TCP:
		check(!strncmp(text, "tcp:", 4) && !d->arg && !d->host);
		check_addr(d);
		break;
	case PROBE_HTTP:
		check(!strncmp(text, "http://", 7) && d->host);
		check(d->arg && d->arg[0] == '/');
		check_addr(d);
		break;
	case PROBE_LOG:
		/* probe.c compiles it again, and calls it a BUG if it fails. */
		check(!strncmp(text, "log:", 4) && d->arg && *d->arg);
		check(!regcomp(&rx, d->arg, REG_EXTENDED | REG_NOSUB));
		regfree(&rx);
		break;
	case PROBE_NOTIFY:
		check(!strcmp(text, "notify") && !d->arg);
		break;
	default:
		check(0);
	}
}

/* libFuzzer's entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct probedef d;
	struct err e = { 0 };

	memcpy(text, data, size);
	text[size] = '\0';
	if (probedef_parse(&d, text, &e) == 0) {
		check(e.msg[0] == '\0');
		check_probe(&d, text);
		check(probedef_polled(&d) ==
		      (d.kind != PROBE_LOG && d.kind != PROBE_NOTIFY));
	} else {
		check(e.msg[0] != '\0' && is_empty(&d));
		/* The message names the text, when it has room for it. */
		check(strlen(text) > 200 || strstr(e.msg, text));
	}
	probedef_release(&d);
	check(is_empty(&d));
	free(text);
	return 0;
}
