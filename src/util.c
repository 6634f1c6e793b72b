/* SPDX-License-Identifier: MIT */
#include "ctxrun/util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The allocators abort rather than return NULL: a supervisor that cannot
 * allocate a few bytes cannot do its job safely anyway, and one exit path is
 * easier to reason about than hundreds of unchecked ones.
 */

/* Print that memory ran out and abort. */
static _Noreturn void
die_oom(size_t size)
{
	fprintf(stderr, "ctxrun: out of memory allocating %zu bytes\n", size);
	abort();
}

/* Report a programmer error at FILE:LINE and abort. */
void
bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ctxrun: BUG at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* malloc that aborts on failure. */
void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p) {
		die_oom(size);
	}
	return p;
}

/* calloc that aborts on failure. */
void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p) {
		die_oom(nmemb * size);
	}
	return p;
}

/* realloc that aborts on failure. */
void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p) {
		die_oom(size);
	}
	return p;
}

/* strdup that aborts on failure. */
char *
xstrdup(const char *s)
{
	size_t len = strlen(s) + 1;

	return memcpy(xmalloc(len), s, len);
}

/* strndup that aborts on failure. */
char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* Return a heap string built from a printf format. */
char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		die_oom(0);
	}
	return s;
}

/* FNV-1a hash of LEN bytes at P. */
size_t
hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h = (h ^ b[i]) * 1099511628211ULL;
	}
	return (size_t)h;
}
