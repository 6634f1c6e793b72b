/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for a remote job's words (remote.h): the far side
 * decodes its whole command line from what ssh hands it, so the decoder
 * sees whatever a caller of ssh can send. The first byte, modulo 3 (the
 * digits '0', '1' and '2' in the seeds), chooses what the rest is:
 *
 *   0: a word to encode; the result has only the safe characters and
 *      decodes back to the word.
 *   1: bytes to decode, copied to a buffer of their exact size so ASan
 *      sees any read or write past it; what decodes must be shorter and
 *      encode to something that decodes to it again.
 *   2: a host for remote_host_check(); one it accepts keeps the contract
 *      of its header and gives an argv where it follows "--".
 *
 * Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/remote.h"

/* What remote_encode() may write: remote.c's safe set, and '%'. */
static const char encoded_set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz"
				  "0123456789_./:=,+@-%";

/* Abort (a finding for libFuzzer) unless COND holds. */
static void
check(int cond)
{
	if (!cond) {
		abort();
	}
}

/* Encode WORD: only the safe set comes out, and it decodes back. */
static void
check_encode(const char *word)
{
	char *enc = remote_encode(word);

	check(*enc != '\0');
	check(enc[strspn(enc, encoded_set)] == '\0');
	check(remote_decode(enc) == 0);
	check(!strcmp(enc, word));
	free(enc);
}

/* Decode the SIZE bytes at DATA, NUL-terminated in a buffer just so big. */
static void
check_decode(const uint8_t *data, size_t size)
{
	char *word = malloc(size + 1);
	char *enc;
	size_t len;

	memcpy(word, data, size);
	word[size] = '\0';
	len = strlen(word);
	if (remote_decode(word) < 0) {
		free(word);
		return;
	}
	/* Each %XX gives one byte and a lone % none: never longer. */
	check(strlen(word) <= len);
	enc = remote_encode(word);
	check(remote_decode(enc) == 0 && !strcmp(enc, word));
	free(enc);
	free(word);
}

/* Check HOST; one that is accepted must be what remote.h promises. */
static void
check_host(const char *host)
{
	const char *name = strchr(host, '@');
	char *argv[] = { "true", NULL };
	struct remote_opts o = { .host = host, .name = "job", .argv = argv };
	struct err e = { 0 };
	char **v;
	size_t i;

	if (remote_host_check(host, &e) < 0) {
		check(e.msg[0] != '\0');
		return;
	}
	name = name ? name + 1 : host;
	check(host[0] != '-' && name[0] != '-' && name[0] != ':');
	check(!strpbrk(host, " \t\n\r\v\f'\"\\`$;&|<>()*?[]{}!#~"));
	v = remote_argv(&o);
	for (i = 0; v[i] && strcmp(v[i], "--"); i++) {
	}
	/* The destination follows "--", so ssh never takes it for an option. */
	check(v[i] && v[i + 1] && v[i + 1][0] && v[i + 1][0] != '-');
	check(v[i + 2] && !v[i + 3]);
	remote_argv_free(v);
}

/* libFuzzer's entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1) {
		return 0;
	}
	if (data[0] % 3 == 1) {
		check_decode(data + 1, size - 1);
		return 0;
	}
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] % 3 == 0) {
		check_encode(text);
	} else {
		check_host(text);
	}
	free(text);
	return 0;
}
