/* SPDX-License-Identifier: MIT */
#include "ctxrun/duration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctxrun/util.h"

/*
 * Parsing works in integers only: a decimal fraction like "0.3" must give
 * exactly 300 ms, which a double does not promise. Each term is
 * int_part * unit + frac * unit / 10^digits, with at most 9 fraction digits
 * kept (the unit's size times 10^9 still fits in 63 bits).
 */

struct unit {
	const char *name;
	int64_t ms;
};

static const struct unit units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 3600 * 1000 },
	{ "d", 24 * 3600 * 1000 },
};

static const struct unit *unit_find(const char *s, size_t len);

/* Parse TEXT into *MS. */
int
duration_parse(const char *text, int64_t *ms, struct err *e)
{
	const char *p = text;
	int64_t total = 0;
	bool tiny = false;

	if (!*p) {
		return err_set(e, 0, "empty duration");
	}
	while (*p) {
		int64_t ipart = 0, frac = 0, scale = 1;
		const char *num = p, *u;
		const struct unit *unit;

		while (*p >= '0' && *p <= '9') {
			if (ipart > DURATION_MAX_MS) {
				return err_set(e, 0, "too large (limit is 100 years)");
			}
			ipart = ipart * 10 + (*p++ - '0');
		}
		if (*p == '.') {
			p++;
			for (; *p >= '0' && *p <= '9'; p++) {
				if (scale < 1000000000) {
					frac = frac * 10 + (*p - '0');
					scale *= 10;
				} else if (*p != '0') {
					tiny = true;
				}
			}
		}
		if (p == num || (p == num + 1 && *num == '.')) {
			return err_set(e, 0, "expected a number at '%s'", num);
		}
		for (u = p; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'); p++) {
		}
		if (u == p) {
			/* A bare number is seconds, but only on its own. */
			if (num != text || *p) {
				if (*p) {
					return err_set(e, 0, "unexpected '%c'", *p);
				}
				return err_set(e, 0, "missing unit after '%s'", num);
			}
			unit = &units[1];
		} else if (!(unit = unit_find(u, (size_t)(p - u)))) {
			return err_set(e, 0, "unknown unit '%.*s'", (int)(p - u), u);
		}
		if (ipart > DURATION_MAX_MS / unit->ms) {
			return err_set(e, 0, "too large (limit is 100 years)");
		}
		total += ipart * unit->ms + frac * unit->ms / scale;
		if (frac * unit->ms % scale) {
			tiny = true;
		}
		if (total > DURATION_MAX_MS) {
			return err_set(e, 0, "too large (limit is 100 years)");
		}
	}
	if (total == 0 && tiny) {
		total = 1;
	}
	*ms = total;
	return 0;
}

/* Write MS in canonical form into BUF. */
char *
duration_format(int64_t ms, char *buf, size_t size)
{
	int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60;
	int64_t sub = ms % 1000;
	size_t len = 0;

	buf[0] = '\0';
	if (ms < 1000) {
		snprintf(buf, size, "%lldms", (long long)ms);
		return buf;
	}
	if (h) {
		len += (size_t)snprintf(buf + len, size - len, "%lldh", (long long)h);
	}
	if (m && len < size) {
		len += (size_t)snprintf(buf + len, size - len, "%lldm", (long long)m);
	}
	if ((s || sub) && len < size) {
		char frac[8] = "";

		if (sub) {
			snprintf(frac, sizeof(frac), ".%03lld", (long long)sub);
			for (size_t i = strlen(frac) - 1; frac[i] == '0'; i--) {
				frac[i] = '\0';
			}
		}
		snprintf(buf + len, size - len, "%lld%ss", (long long)s, frac);
	}
	return buf;
}

/* Find the unit spelled by the LEN bytes at S (lowercase only). */
static const struct unit *
unit_find(const char *s, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strlen(units[i].name) == len && !memcmp(units[i].name, s, len)) {
			return &units[i];
		}
	}
	return NULL;
}
