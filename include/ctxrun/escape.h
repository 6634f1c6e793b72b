/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_ESCAPE_H
#define CTXRUN_ESCAPE_H

/*
 * Text made safe for the two report formats and for the terminal, whatever
 * bytes it holds. Job names come from the user, causes quote them, and
 * captured output is whatever a job wrote: none of it is known to be
 * UTF-8, and output may hold NUL. The report writers decode UTF-8 strictly
 * (no overlong forms, no surrogates, nothing above U+10FFFF) and write
 * U+FFFD for each byte that does not start a valid sequence, so what they
 * write is always valid UTF-8. Pure: they only write to the FILE * or the
 * buffer they are given, which stays the caller's.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Write the LEN bytes at S to OUT as the inside of a JSON string (no
 * quotes): `"` and `\` escaped, control characters as \n, \t, ... or
 * \u00XX, invalid UTF-8 as \ufffd.
 */
void escape_json(FILE *out, const char *s, size_t len);

/*
 * Write the LEN bytes at S to OUT as XML 1.0 character data: `<`, `>`,
 * `&`, `"` and `'` as entities (so "]]>" cannot end anything), CR as a
 * character reference so parsers keep it, and every character XML 1.0
 * cannot carry (NUL, other control characters, U+FFFE, U+FFFF, invalid
 * UTF-8) as U+FFFD. With ATTR, tab and newline become character
 * references too, since an attribute value would otherwise lose them to
 * whitespace normalisation.
 */
void escape_xml(FILE *out, const char *s, size_t len, bool attr);

/*
 * Copy the LEN bytes at S to the LEN bytes at DST (which may be S) made
 * safe for a terminal: each byte of a control character (C0, DEL, C1) or
 * of invalid UTF-8 becomes '?', so that a name cannot move the cursor or
 * clear the screen, and its length, which columns are padded by, stays.
 */
void escape_term(char *dst, const char *s, size_t len);

/* A copy of the string S made safe for a terminal (escape_term); to free. */
char *escape_term_dup(const char *s);

/*
 * S quoted as GNU tools quote a name in a message in the C locale
 * (gnulib's quote()), as a new string to free: 'name', with \a \b \f \n
 * \r \t \v, the backslash and the quote as C escapes, and each other byte
 * that is not printable ASCII as \ooo.
 */
char *escape_gnu_quote(const char *s);

#endif
