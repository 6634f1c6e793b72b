/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_UTIL_H
#define CTXRUN_UTIL_H

/*
 * Small helpers every module uses.
 *
 * - x-allocators: allocation never fails for the caller; running out of
 *   memory aborts here, so the rest of the code has no OOM paths.
 * - container_of: recover the owner of an embedded member (libev watchers
 *   are embedded in the struct that owns them).
 * - BUG(): a programmer error; prints where and aborts.
 */

#include <stddef.h>

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define BUG(...) bug_at(__FILE__, __LINE__, __VA_ARGS__)

/* Report a programmer error at FILE:LINE and abort. */
_Noreturn void bug_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* malloc that aborts on failure; never returns NULL. */
void *xmalloc(size_t size);

/* calloc that aborts on failure and on overflow of nmemb * size. */
void *xcalloc(size_t nmemb, size_t size);

/* realloc that aborts on failure; xrealloc(NULL, n) is xmalloc(n). */
void *xrealloc(void *ptr, size_t size);

/* strdup that aborts on failure; the caller owns the copy. */
char *xstrdup(const char *s);

/* strndup that aborts on failure: at most N bytes of S, and a NUL. */
char *xstrndup(const char *s, size_t n);

/* Return a heap string built from a printf format; the caller owns it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* FNV-1a hash of LEN bytes at P, for the open-addressing tables. */
size_t hash_bytes(const void *p, size_t len);

#endif
