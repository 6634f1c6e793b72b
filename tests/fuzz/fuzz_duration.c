/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for duration_parse(): any bytes are either rejected with
 * a message or give a value in range that formats and parses back to
 * itself. Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/duration.h"

/* libFuzzer's entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), buf[64];
	struct err e;
	int64_t ms = -1, again = -1;

	memcpy(text, data, size);
	text[size] = '\0';
	if (duration_parse(text, &ms, &e) == 0) {
		if (ms < 0 || ms > DURATION_MAX_MS) {
			abort();
		}
		/* The canonical form must mean the same duration. */
		duration_format(ms, buf, sizeof(buf));
		if (duration_parse(buf, &again, &e) != 0 || again != ms) {
			abort();
		}
	} else if (!e.msg[0]) {
		abort();
	}
	free(text);
	return 0;
}
