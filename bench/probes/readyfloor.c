/* SPDX-License-Identifier: MIT */
/*
 * readyfloor: the floor for "a service is ready, its dependent starts",
 * the least a supervisor can do on this machine: spawn the service, learn
 * that it is ready in the cheapest way its kind allows, and posix_spawn
 * the dependent at once; then stop the service (SIGTERM) and reap both.
 * No context, no cgroup, no output handling, no reports.
 *
 *   readyfloor notify SVCSTAMP T0 T1     a datagram socket, blocking recv
 *   readyfloor log SVCSTAMP T0 T1        a pipe on the service's stdout,
 *                                        blocking reads up to "ready\n"
 *   readyfloor tcp PORT MS SVCSTAMP T0 T1  a connect every MS ms
 *
 * SVCSTAMP is the svcstamp probe: the service is "svcstamp KIND T0" (or
 * "listen PORT T0"), the dependent "svcstamp stamp T1". Every wait is
 * bounded (10 s); the service is killed by its pid on the way out.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <spawn.h>
#include <stddef.h>

#include "common.h"

extern char **environ;

static pid_t service = -1;

/* Kill the service, if any, and exit with CODE. */
static void
finish(int code)
{
	int status;

	if (service > 0) {
		kill(service, SIGTERM);
		waitpid(service, &status, 0);
	}
	exit(code);
}

/* Spawn ARGV with ENVP, stdout on OUT (-1: ours); its pid. */
static pid_t
spawn(char *const argv[], char *const envp[], int out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	if (out >= 0) {
		posix_spawn_file_actions_adddup2(&fa, out, 1);
	}
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) != 0) {
		die("posix_spawn");
	}
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* The notify kind: bind, spawn the service, wait for its datagram. */
static void
ready_notify(char *svc, char *t0)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[64], env[80], buf[256];
	char *argv[] = { svc, "notify", t0, NULL };
	char **envp;
	size_t n = 0;
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int len = snprintf(name, sizeof(name), "readyfloor/%d", (int)getpid());

	memcpy(sa.sun_path + 1, name, (size_t)len);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				       1 + (size_t)len)) < 0) {
		die("bind");
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(env, sizeof(env), "NOTIFY_SOCKET=@%s", name);
	while (environ[n]) {
		n++;
	}
	envp = calloc(n + 2, sizeof(*envp));
	memcpy(envp, environ, n * sizeof(*envp));
	envp[n] = env;
	service = spawn(argv, envp, -1);
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf) - 1, 0);

		if (r < 0) {
			finish(3);
		}
		buf[r] = '\0';
		if (strstr(buf, "READY=1")) {
			break;
		}
	}
	free(envp);
}

/* The log kind: read the service's stdout up to the line "ready". */
static void
ready_log(char *svc, char *t0)
{
	char *argv[] = { svc, "log", t0, NULL };
	char buf[4096];
	size_t have = 0;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		die("pipe2");
	}
	service = spawn(argv, environ, p[1]);
	close(p[1]);
	while (!memmem(buf, have, "ready\n", 6)) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t r;

		if (poll(&pf, 1, 10000) != 1 || have == sizeof(buf) ||
		    (r = read(p[0], buf + have, sizeof(buf) - have)) <= 0) {
			finish(3);
		}
		have += (size_t)r;
	}
}

/* The tcp kind: spawn the service, connect every MS ms until accepted. */
static void
ready_tcp(int port, int ms, char *svc, char *t0)
{
	char pbuf[16];
	char *argv[] = { svc, "listen", pbuf, t0, NULL };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int64_t end;

	snprintf(pbuf, sizeof(pbuf), "%d", port);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	service = spawn(argv, environ, -1);
	end = now_ns() + 10000000000LL;
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 &&
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return;
		}
		if (fd >= 0) {
			close(fd);
		}
		if (now_ns() > end) {
			finish(3);
		}
		usleep((useconds_t)ms * 1000);
	}
}

int
main(int argc, char **argv)
{
	char *svc, *t1;
	int status;
	pid_t dep;

	if (argc == 5 && !strcmp(argv[1], "notify")) {
		svc = argv[2];
		t1 = argv[4];
		ready_notify(svc, argv[3]);
	} else if (argc == 5 && !strcmp(argv[1], "log")) {
		svc = argv[2];
		t1 = argv[4];
		ready_log(svc, argv[3]);
	} else if (argc == 7 && !strcmp(argv[1], "tcp")) {
		svc = argv[4];
		t1 = argv[6];
		ready_tcp(atoi(argv[2]), atoi(argv[3]), svc, argv[5]);
	} else {
		fprintf(stderr, "usage: readyfloor notify|log SVCSTAMP T0 T1 | "
				"tcp PORT MS SVCSTAMP T0 T1\n");
		return 2;
	}
	{
		char *dargv[] = { svc, "stamp", t1, NULL };

		dep = spawn(dargv, environ, -1);
		waitpid(dep, &status, 0);
	}
	finish(0);
	return 0;
}
