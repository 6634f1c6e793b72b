/* SPDX-License-Identifier: MIT */
#include "ctxrun/escape.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctxrun/util.h"

/*
 * One decoder serves both formats so they agree on what is valid text.
 * An invalid byte is replaced alone and decoding resumes at the next one
 * (the "maximal subpart" practice of Unicode, simplified): a cut
 * multi-byte character costs one U+FFFD per byte, never the good text
 * after it.
 */

/*
 * Decode the character at S (LEN > 0 bytes left): its code point into *CP
 * and its length as the return value; -1 for a byte that does not start a
 * valid sequence.
 */
static int
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t c = s[0];
	int n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2, c &= 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3, c &= 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4, c &= 0x07;
	} else {
		return -1;
	}
	if ((size_t)n > len) {
		return -1;
	}
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			return -1;
		}
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
		return -1;
	}
	*cp = c;
	return n;
}

/* Write the LEN bytes at S to OUT as JSON string contents. */
void
escape_json(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		int n = utf8_decode(p + i, len - i, &cp);

		if (n < 0) {
			fputs("\\ufffd", out);
			i++;
			continue;
		}
		switch (cp) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (cp < 0x20 || cp == 0x7F) {
				fprintf(out, "\\u%04x", (unsigned)cp);
			} else {
				fwrite(p + i, 1, (size_t)n, out);
			}
		}
		i += (size_t)n;
	}
}

/* Can XML 1.0 carry CP (its production Char)? */
static bool
xml_char(uint32_t cp)
{
	return cp == 0x9 || cp == 0xA || cp == 0xD ||
	       (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
	       cp >= 0x10000;
}

/* Write the LEN bytes at S to OUT as XML character data. */
void
escape_xml(FILE *out, const char *s, size_t len, bool attr)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		int n = utf8_decode(p + i, len - i, &cp);

		if (n < 0 || !xml_char(cp)) {
			fputs("\xEF\xBF\xBD", out); /* U+FFFD */
			i += n < 0 ? 1 : (size_t)n;
			continue;
		}
		switch (cp) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		case '\r':
			fputs("&#13;", out);
			break;
		case '\n':
		case '\t':
			if (attr) {
				fprintf(out, "&#%u;", (unsigned)cp);
				break;
			}
			/* fall through */
		default:
			fwrite(p + i, 1, (size_t)n, out);
		}
		i += (size_t)n;
	}
}

/* Copy the LEN bytes at S to DST, made safe for a terminal. */
void
escape_term(char *dst, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp = 0;
		int n = utf8_decode(p + i, len - i, &cp);
		size_t k = n < 0 ? 1 : (size_t)n;

		if (n < 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
			memset(dst + i, '?', k);
		} else if (dst != s) {
			memcpy(dst + i, p + i, k);
		}
		i += k;
	}
}

/* A copy of S made safe for a terminal. */
char *
escape_term_dup(const char *s)
{
	size_t len = strlen(s);
	char *copy = xmalloc(len + 1);

	escape_term(copy, s, len);
	copy[len] = '\0';
	return copy;
}

/* The letter of C's escape in C (\n for a newline...), or 0. */
static char
c_escape(unsigned char c)
{
	switch (c) {
	case '\a':
		return 'a';
	case '\b':
		return 'b';
	case '\f':
		return 'f';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	case '\v':
		return 'v';
	case '\\':
		return '\\';
	default:
		return 0;
	}
}

/* S quoted as GNU's quote() does in the C locale. */
char *
escape_gnu_quote(const char *s)
{
	size_t len = strlen(s);
	/* At worst each byte becomes \ooo, four bytes. */
	char *out = xmalloc(4 * len + 3), *o = out;

	*o++ = '\'';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc = c_escape(*p);

		if (esc || *p == '\'') {
			*o++ = '\\';
			*o++ = esc ? esc : '\'';
		} else if (*p < 0x20 || *p >= 0x7F) {
			o += sprintf(o, "\\%03o", *p);
		} else {
			*o++ = (char)*p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}
