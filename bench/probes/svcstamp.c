/* SPDX-License-Identifier: MIT */
/*
 * svcstamp: the two ends of "a service is ready, its dependent starts",
 * each stamped with CLOCK_MONOTONIC (ns) into a file, for
 * bench/service-ready.sh.
 *
 *   svcstamp notify FILE      stamp, then READY=1 to $NOTIFY_SOCKET
 *   svcstamp log FILE         stamp, then the line "ready" on stdout
 *   svcstamp listen PORT FILE stamp, then listen on 127.0.0.1:PORT: from
 *                             here a connect succeeds
 *   svcstamp stamp FILE       stamp and exit: the dependent
 *
 * A service then waits for its stop signal, 30 s at most (alarm), and
 * accepts and closes any further connection meanwhile.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>

#include "common.h"

/* Write the time now to PATH. */
static void
stamp(const char *path)
{
	int64_t t = now_ns();
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%lld\n", (long long)t) < 0 || fclose(f) != 0) {
		die("stamp");
	}
}

/* READY=1 to $NOTIFY_SOCKET (abstract when it starts with '@'). */
static void
notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path) || fd < 0) {
		die("NOTIFY_SOCKET");
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@') {
		sa.sun_path[0] = '\0';
	}
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa, len) < 0) {
		die("sendto");
	}
	close(fd);
}

/*
 * Stamp PATH and listen on 127.0.0.1:PORT, then serve. The stamp is
 * (a few microseconds before) when a connect can first succeed: an
 * accept's would come whenever this process gets the CPU, after the
 * prober may have gone on already; and stamped after listen(), the
 * stamp could be cut short by a supervisor quick to stop the service.
 */
static void
listen_and_stamp(int port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		die("bind");
	}
	stamp(path);
	if (listen(fd, 16) < 0) {
		die("listen");
	}
	for (;;) {
		c = accept(fd, NULL, NULL);
		if (c >= 0) {
			close(c);
		}
	}
}

int
main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "stamp")) {
		stamp(argv[2]);
		return 0;
	}
	alarm(30);
	if (argc == 3 && !strcmp(argv[1], "notify")) {
		stamp(argv[2]);
		notify_ready();
	} else if (argc == 3 && !strcmp(argv[1], "log")) {
		stamp(argv[2]);
		if (write(1, "ready\n", 6) != 6) {
			die("write");
		}
	} else if (argc == 4 && !strcmp(argv[1], "listen")) {
		listen_and_stamp(atoi(argv[2]), argv[3]);
	} else {
		fprintf(stderr, "usage: svcstamp notify|log FILE | listen PORT "
				"FILE | stamp FILE\n");
		return 2;
	}
	for (;;) {
		pause();
	}
}
