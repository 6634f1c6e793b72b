/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_CONFIG_H
#define CTXRUN_CONFIG_H

/*
 * Pipeline files (INI) into a struct spec.
 *
 * 1. config_parse_*() reads the text into raw sections and entries, each
 *    with its line, through inih but never cut or altered by it (rawcfg.h).
 * 2. Validation, here, turns the raw entries into a spec, or into every
 *    error found, each "FILE:LINE: message", sorted by line.
 *
 * Nothing here touches the event loop or prints.
 */

#include <stdio.h>

#include "ctxrun/spec.h"

/* Errors found in a file, in line order. Owned by the caller. */
struct config_errors {
	char **msgs; /* "ci.ini:12: job \"unit\" needs unknown job \"biuld\" ..." */
	size_t n;
};

/*
 * Parse and validate the LEN bytes at TEXT, read from the file named NAME
 * (used in messages and copied to spec.file). Returns a spec, or NULL with
 * ERRS filled (at least one message). ERRS is always overwritten (empty on
 * success), so release it either way. TEXT need not be NUL-terminated.
 * A text that is no pipeline file at all, with a NUL byte, a line of more
 * than 64 KiB or more than 16 MiB in all, gets that one error and no
 * other: "NAME:LINE: NUL byte" (see ctxrun.ini(5)).
 */
struct spec *config_parse_buffer(const char *name, const char *text, size_t len,
				 struct config_errors *errs);

/*
 * Read the file PATH ("-": standard input, named "-" in messages) and parse
 * it as above. A file that cannot be read gives one error naming it and the
 * reason, "PATH: cannot read: REASON", the only message without a line.
 * Reading stops at the first byte past the limits above, so an endless
 * file (/dev/zero, a pipe) costs at most 16 MiB.
 */
struct spec *config_parse_file(const char *path, struct config_errors *errs);

/* Free the messages of ERRS (not ERRS itself). */
void config_errors_release(struct config_errors *errs);

/*
 * Levenshtein-closest of the N CANDIDATES to WORD when close enough to be a
 * likely typo (distance <= max(1, len/3)), else NULL. Borrowed. A swap of
 * two neighbouring characters counts as one edit ("biuld" -> "build"), and
 * words over 255 bytes get no suggestion. Ties go to the first candidate.
 */
const char *config_suggest(const char *word, const char *const *candidates,
			   size_t n);

#endif
