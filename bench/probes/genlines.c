/* SPDX-License-Identifier: MIT */
/*
 * genlines BYTES: write BYTES bytes of 18-byte lines ("0123456789abcdef:\n"
 * style) to stdout in writes of 64 KiB (3640 whole lines), as fast as the
 * pipe takes them. BYTES accepts a K, M or G suffix (powers of 1024).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE 18
#define PER_WRITE 3640

int
main(int argc, char **argv)
{
	static char buf[LINE * PER_WRITE];
	unsigned long long total, done = 0;
	char *end;

	if (argc != 2) {
		fprintf(stderr, "usage: genlines BYTES[K|M|G]\n");
		return 2;
	}
	total = strtoull(argv[1], &end, 10);
	switch (*end) {
	case 'G': total <<= 10; /* fall through */
	case 'M': total <<= 10; /* fall through */
	case 'K': total <<= 10; break;
	}
	for (size_t i = 0; i < PER_WRITE; i++) {
		memcpy(buf + i * LINE, "line-0123456789ab\n", LINE);
		buf[i * LINE + 5] = (char)('a' + i % 26);
	}
	while (done < total) {
		size_t want = total - done < sizeof(buf) ? (size_t)(total - done) : sizeof(buf);
		ssize_t n = write(1, buf, want);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return 1;
		}
		done += (unsigned long long)n;
	}
	return 0;
}
