/* SPDX-License-Identifier: MIT */
/*
 * th: the test helper, one binary with subcommands (the libuv and git
 * pattern). The end-to-end tests run it under ctxrun to play the part of a
 * well-behaved, stubborn or leaky command, and to report what the command
 * was given: argv, environment, fds, signal state, process group.
 *
 * Subcommands that must be observed while running print a "ready" line
 * ("ready <pid> [<pid>...]") to stdout and flush it; the tests wait for that
 * line instead of sleeping. Pids of helpers forked by th are printed only
 * after those helpers have told th (through a pipe) that they are set up.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Exit status of th itself when it is used wrongly or a call fails. */
#define TH_EXIT_USAGE 99

struct th_cmd {
	const char *name;
	int nargs; /* required arguments after the name */
	int (*run)(int argc, char **argv);
	const char *usage;
};

static int th_exit(int argc, char **argv);
static int th_sleep(int argc, char **argv);
static int th_ready_sleep(int argc, char **argv);
static int th_ignore_term(int argc, char **argv);
static int th_grandchild(int argc, char **argv);
static int th_tree(int argc, char **argv);
static int th_argv(int argc, char **argv);
static int th_env(int argc, char **argv);
static int th_fds(int argc, char **argv);
static int th_sigstate(int argc, char **argv);
static int th_pgid(int argc, char **argv);
static int th_cat(int argc, char **argv);
static int th_kill_self(int argc, char **argv);
static int th_stop_self(int argc, char **argv);
static int th_touch(int argc, char **argv);
static int th_connect(int argc, char **argv);
static int th_print(int argc, char **argv);
static int th_flood(int argc, char **argv);
static int th_stdio_ino(int argc, char **argv);
static int th_lines(int argc, char **argv);
static int th_mixed(int argc, char **argv);
static int th_escape(int argc, char **argv);
static int th_pgid_peers(int argc, char **argv);
static int th_contain(int argc, char **argv);
static int th_await(int argc, char **argv);
static int th_forks(int argc, char **argv);
static int th_close_stdout(int argc, char **argv);
static int th_flood_err(int argc, char **argv);
static int th_limit(int argc, char **argv);
static int th_linger(int argc, char **argv);
static int th_catch(int argc, char **argv);
static int th_slow_read(int argc, char **argv);
static int th_pipe_size(int argc, char **argv);

static const struct th_cmd th_cmds[] = {
	{ "exit", 1, th_exit, "exit N" },
	{ "sleep", 1, th_sleep, "sleep MS" },
	{ "ready-sleep", 1, th_ready_sleep, "ready-sleep MS" },
	{ "ignore-term", 1, th_ignore_term, "ignore-term MS" },
	{ "grandchild", 1, th_grandchild, "grandchild MS [ignore-term]" },
	{ "tree", 2, th_tree, "tree N MS" },
	{ "argv", 0, th_argv, "argv [ARG...]" },
	{ "env", 1, th_env, "env NAME" },
	{ "fds", 0, th_fds, "fds" },
	{ "sigstate", 0, th_sigstate, "sigstate [N]" },
	{ "pgid", 0, th_pgid, "pgid" },
	{ "cat", 0, th_cat, "cat" },
	{ "kill-self", 1, th_kill_self, "kill-self SIGNUM" },
	{ "stop-self", 1, th_stop_self, "stop-self MS" },
	{ "touch", 1, th_touch, "touch PATH" },
	{ "connect", 1, th_connect, "connect PORT" },
	{ "print", 2, th_print, "print OUT ERR" },
	{ "flood", 1, th_flood, "flood BYTES" },
	{ "stdio-ino", 0, th_stdio_ino, "stdio-ino" },
	{ "lines", 2, th_lines, "lines N TAG" },
	{ "mixed", 2, th_mixed, "mixed SEED N" },
	{ "escape", 1, th_escape, "escape MS [on-term]" },
	{ "pgid-peers", 0, th_pgid_peers, "pgid-peers" },
	{ "contain", 3, th_contain, "contain KIND exit|stay|wait MS [FILE]" },
	{ "await", 3, th_await, "await PATH MS N" },
	{ "forks", 2, th_forks, "forks N MS" },
	{ "close-stdout", 1, th_close_stdout, "close-stdout MS" },
	{ "flood-err", 1, th_flood_err, "flood-err BYTES" },
	{ "limit", 3, th_limit, "limit nofile|nproc N CMD [ARG...]" },
	{ "linger", 2, th_linger, "linger MS LINGER" },
	{ "catch", 1, th_catch, "catch MS" },
	{ "slow-read", 3, th_slow_read, "slow-read PATH CHUNK MS" },
	{ "pipe-size", 2, th_pipe_size, "pipe-size BYTES MS" },
};

/* Print a message and the usage to stderr and exit with TH_EXIT_USAGE. */
static void
th_die(const char *msg)
{
	size_t i;

	fprintf(stderr, "th: %s\nusage:\n", msg);
	for (i = 0; i < sizeof(th_cmds) / sizeof(th_cmds[0]); i++) {
		fprintf(stderr, "  th %s\n", th_cmds[i].usage);
	}
	exit(TH_EXIT_USAGE);
}

/* Parse S as a non-negative decimal number or die. */
static long
th_num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0) {
		th_die("bad number");
	}
	return v;
}

/* Sleep MS milliseconds, resuming after signals that interrupt the sleep. */
static void
th_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
		continue;
	}
}

/* Print "ready <pid>" and flush, so a test can start acting on us. */
static void
th_ready(void)
{
	printf("ready %ld\n", (long)getpid());
	fflush(stdout);
}

/*
 * Fork a child that runs in our process group, takes SIGTERM with ON_TERM
 * (SIG_DFL, SIG_IGN or a handler), tells us through a pipe that it is set
 * up, and sleeps MS. Returns its pid.
 */
static pid_t
th_fork_sleeper(long ms, void (*on_term)(int))
{
	int fds[2];
	char c = 0;
	pid_t pid;

	if (pipe(fds) == -1) {
		perror("th: pipe");
		exit(TH_EXIT_USAGE);
	}
	pid = fork();
	if (pid == -1) {
		perror("th: fork");
		exit(TH_EXIT_USAGE);
	}
	if (pid == 0) {
		close(fds[0]);
		signal(SIGTERM, on_term);
		if (write(fds[1], &c, 1) != 1) {
			_exit(TH_EXIT_USAGE);
		}
		close(fds[1]);
		th_sleep_ms(ms);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1) {
		fprintf(stderr, "th: child %ld died early\n", (long)pid);
		exit(TH_EXIT_USAGE);
	}
	close(fds[0]);
	return pid;
}

static volatile sig_atomic_t th_got_term;

static void
th_on_term(int sig)
{
	(void)sig;
	th_got_term = 1;
}

/*
 * th escape MS [on-term]: leave behind a child out of any job's reach: in a
 * session of its own, with an empty environment (so no CTXRUN_MARK), and
 * sleeping MS. It gets there at once, or with on-term only when SIGTERM
 * reaches it in our group. Print "ready <pid> <childpid>" once it is there
 * (at once) or set up to get there (on-term), and exit 0.
 */
static int
th_escape(int argc, char **argv)
{
	int on_term = argc > 3 && strcmp(argv[3], "on-term") == 0;
	int fds[2];
	char c = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		perror("th: escape");
		return TH_EXIT_USAGE;
	}
	if (pid == 0) {
		char *sleep_argv[] = { "th", "sleep", argv[2], NULL };
		char *no_env[] = { NULL };
		int null = open("/dev/null", O_RDWR);

		close(fds[0]);
		dup2(null, 1);
		if (on_term) {
			signal(SIGTERM, th_on_term);
			if (write(fds[1], &c, 1) != 1) {
				_exit(TH_EXIT_USAGE);
			}
			while (!th_got_term) {
				pause();
			}
		}
		setsid();
		/* The exec closes the pipe: that tells the parent we are out. */
		execve("/proc/self/exe", sleep_argv, no_env);
		_exit(TH_EXIT_USAGE);
	}
	close(fds[1]);
	while (read(fds[0], &c, 1) < 0 && errno == EINTR) {
	}
	close(fds[0]);
	printf("ready %ld %ld\n", (long)getpid(), (long)pid);
	return 0;
}

/* th pgid-peers: print the pids of the other processes in our group. */
static int
th_pgid_peers(int argc, char **argv)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	(void)argc;
	(void)argv;
	if (!d) {
		perror("th: /proc");
		return TH_EXIT_USAGE;
	}
	printf("peers");
	while ((de = readdir(d))) {
		char path[300], buf[512], *paren;
		long pid = strtol(de->d_name, NULL, 10), pgid = 0;
		FILE *f;

		if (pid <= 0 || pid == (long)getpid()) {
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "r");
		if (!f) {
			continue;
		}
		paren = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (paren && sscanf(paren, ") %*c %*d %ld", &pgid) == 1 &&
		    pgid == (long)getpgrp()) {
			printf(" %ld", pid);
		}
	}
	closedir(d);
	printf("\n");
	return 0;
}

/* th exit N: exit with status N. */
static int
th_exit(int argc, char **argv)
{
	(void)argc;
	return (int)th_num(argv[2]);
}

/* th sleep MS: sleep, then exit 0. */
static int
th_sleep(int argc, char **argv)
{
	(void)argc;
	th_sleep_ms(th_num(argv[2]));
	return 0;
}

/* th ready-sleep MS: print the ready line, then sleep. */
static int
th_ready_sleep(int argc, char **argv)
{
	(void)argc;
	th_ready();
	th_sleep_ms(th_num(argv[2]));
	return 0;
}

/* th ignore-term MS: ignore SIGTERM, print the ready line, sleep. */
static int
th_ignore_term(int argc, char **argv)
{
	(void)argc;
	signal(SIGTERM, SIG_IGN);
	th_ready();
	th_sleep_ms(th_num(argv[2]));
	return 0;
}

/*
 * th grandchild MS [ignore-term]: leave behind a child in our group that
 * sleeps MS (and holds stdout open), print "ready <pid> <childpid>", exit 0.
 */
static int
th_grandchild(int argc, char **argv)
{
	int ignore = 0;
	long ms = th_num(argv[2]);
	pid_t child;

	if (argc > 3) {
		if (strcmp(argv[3], "ignore-term") != 0) {
			th_die("grandchild: bad option");
		}
		ignore = 1;
	}
	child = th_fork_sleeper(ms, ignore ? SIG_IGN : SIG_DFL);
	printf("ready %ld %ld\n", (long)getpid(), (long)child);
	fflush(stdout);
	return 0;
}

/*
 * th tree N MS: fork N children in our group that sleep MS, print
 * "ready <pid> <child>...", then sleep MS ourselves.
 */
static int
th_tree(int argc, char **argv)
{
	long i, n = th_num(argv[2]);
	long ms = th_num(argv[3]);

	(void)argc;
	printf("ready %ld", (long)getpid());
	for (i = 0; i < n; i++) {
		printf(" %ld", (long)th_fork_sleeper(ms, SIG_DFL));
	}
	printf("\n");
	fflush(stdout);
	th_sleep_ms(ms);
	return 0;
}

/* th argv ARG...: print each ARG as "[ARG]" on its own line. */
static int
th_argv(int argc, char **argv)
{
	int i;

	for (i = 2; i < argc; i++) {
		printf("[%s]\n", argv[i]);
	}
	return 0;
}

/* th env NAME: print the value of NAME, or "(unset)". */
static int
th_env(int argc, char **argv)
{
	const char *v = getenv(argv[2]);

	(void)argc;
	printf("%s\n", v != NULL ? v : "(unset)");
	return 0;
}

/* Compare two ints for qsort. */
static int
th_int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* th fds: print the open fd numbers, ascending, space-separated. */
static int
th_fds(int argc, char **argv)
{
	DIR *d;
	struct dirent *e;
	int fds[1024];
	size_t i, n = 0;

	(void)argc;
	(void)argv;
	d = opendir("/proc/self/fd");
	if (d == NULL) {
		perror("th: /proc/self/fd");
		return TH_EXIT_USAGE;
	}
	while ((e = readdir(d)) != NULL && n < 1024) {
		if (e->d_name[0] == '.') {
			continue;
		}
		fds[n] = atoi(e->d_name);
		if (fds[n] != dirfd(d)) {
			n++;
		}
	}
	closedir(d);
	qsort(fds, n, sizeof(fds[0]), th_int_cmp);
	for (i = 0; i < n; i++) {
		printf("%s%d", i > 0 ? " " : "", fds[i]);
	}
	printf("\n");
	return 0;
}

/*
 * th sigstate [N]: print "mask <hex>" (the blocked signals, bit N-1 for
 * signal N) and "ignored" followed by each signal whose disposition is
 * SIG_IGN, then exit N (default 0). A clean child prints
 * "mask 0000000000000000" and "ignored".
 */
static int
th_sigstate(int argc, char **argv)
{
	sigset_t set;
	struct sigaction sa;
	unsigned long long mask = 0;
	int sig;

	sigprocmask(SIG_SETMASK, NULL, &set);
	for (sig = 1; sig < NSIG && sig <= 64; sig++) {
		if (sigismember(&set, sig) == 1) {
			mask |= 1ULL << (sig - 1);
		}
	}
	printf("mask %016llx\nignored", mask);
	for (sig = 1; sig < NSIG; sig++) {
		/* glibc refuses its internal signals (32, 33): skip them. */
		if (sigaction(sig, NULL, &sa) == 0 &&
		    sa.sa_handler == SIG_IGN) {
			printf(" %d", sig);
		}
	}
	printf("\n");
	return argc > 2 ? (int)th_num(argv[2]) : 0;
}

/* th pgid: print "<pid> <pgid>". */
static int
th_pgid(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("%ld %ld\n", (long)getpid(), (long)getpgrp());
	return 0;
}

/*
 * Copy FD to stdout until EOF, reading at most CHUNK bytes at a time and
 * sleeping MS ms after each read; 0, or 1 after saying why.
 */
static int
th_copy(int fd, size_t chunk, long ms)
{
	char *buf = malloc(chunk);
	ssize_t n, off, w;

	if (!buf) {
		perror("th: malloc");
		return 1;
	}
	while ((n = read(fd, buf, chunk)) != 0) {
		if (n == -1) {
			if (errno == EINTR) {
				continue;
			}
			perror("th: read");
			return 1;
		}
		for (off = 0; off < n; off += w) {
			w = write(1, buf + off, (size_t)(n - off));
			if (w == -1) {
				perror("th: write");
				return 1;
			}
		}
		if (ms) {
			th_sleep_ms(ms);
		}
	}
	free(buf);
	return 0;
}

/* th cat: copy stdin to stdout. */
static int
th_cat(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return th_copy(0, 8192, 0);
}

/* th kill-self SIGNUM: die by SIGNUM with its default action. */
static int
th_kill_self(int argc, char **argv)
{
	int sig = (int)th_num(argv[2]);
	sigset_t set;

	(void)argc;
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	fprintf(stderr, "th: still alive after signal %d\n", sig);
	return TH_EXIT_USAGE;
}

/* th stop-self MS: print the ready line, stop ourselves, then sleep MS. */
static int
th_stop_self(int argc, char **argv)
{
	(void)argc;
	th_ready();
	raise(SIGSTOP);
	th_sleep_ms(th_num(argv[2]));
	return 0;
}

/* th touch PATH: create PATH (proof that the command ran). */
static int
th_touch(int argc, char **argv)
{
	int fd;

	(void)argc;
	fd = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		perror("th: touch");
		return 1;
	}
	close(fd);
	return 0;
}

/*
 * th connect PORT: connect to 127.0.0.1:PORT once, at once; exit 0 when
 * it is accepted, 1 when not (proof that a server listened then).
 */
static int
th_connect(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void)argc;
	sa.sin_port = htons((uint16_t)th_num(argv[2]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		perror("th: connect");
		return 1;
	}
	close(fd);
	return 0;
}

/* th print OUT ERR: print OUT to stdout and ERR to stderr. */
static int
th_print(int argc, char **argv)
{
	(void)argc;
	printf("%s\n", argv[2]);
	fflush(stdout);
	fprintf(stderr, "%s\n", argv[3]);
	return 0;
}

/* Write BYTES bytes of "C\n" lines to FD with write(2); 1 on error. */
static int
th_flood_fd(int fd, char c, long bytes)
{
	static char buf[4096];
	ssize_t w;
	size_t i, n;

	for (i = 0; i < sizeof(buf); i += 2) {
		buf[i] = c;
		buf[i + 1] = '\n';
	}
	while (bytes > 0) {
		n = bytes < (long)sizeof(buf) ? (size_t)bytes : sizeof(buf);
		w = write(fd, buf, n);
		if (w == -1) {
			perror("th: flood");
			return 1;
		}
		bytes -= w;
	}
	return 0;
}

/*
 * th pipe-size BYTES MS: write a line of BYTES bytes to stdout in one
 * write(2), then print "pipe SIZE": the size of the stdout pipe, once it
 * is larger than 64 KiB or MS ms have passed.
 */
static int
th_pipe_size(int argc, char **argv)
{
	long n = th_num(argv[2]), ms = th_num(argv[3]);
	char *buf = malloc(n > 0 ? (size_t)n : 1);
	int size;

	(void)argc;
	if (!buf || n < 1) {
		th_die("pipe-size: bad size");
	}
	memset(buf, 'p', (size_t)n - 1);
	buf[n - 1] = '\n';
	if (write(1, buf, (size_t)n) != n) {
		perror("th: pipe-size");
		return 1;
	}
	free(buf);
	for (long waited = 0;; waited += 10) {
		size = fcntl(1, F_GETPIPE_SZ);
		if (size < 0 || size > 65536 || waited >= ms) {
			break;
		}
		th_sleep_ms(10);
	}
	printf("pipe %d\n", size);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* th flood BYTES: write BYTES bytes of "y\n" to stdout with write(2). */
static int
th_flood(int argc, char **argv)
{
	(void)argc;
	return th_flood_fd(1, 'y', th_num(argv[2]));
}

/*
 * th lines N TAG: print N numbered lines "TAG i <60 bytes>" to stdout
 * through a large stdio buffer, so that pipe writes cut lines anywhere.
 */
static int
th_lines(int argc, char **argv)
{
	static char buf[1 << 16];
	long n = th_num(argv[2]);

	(void)argc;
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	for (long i = 0; i < n; i++) {
		printf("%s %ld -0123456789abcdefghijklmnopqrstuvwxyz0123456789"
		       "ABCDEFGHIJKLM\n",
		       argv[3], i);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * th mixed SEED N: print N lines of pseudo-random lengths (from SEED; most
 * under 200 bytes, some of thousands, a few longer than ctxrun's longest
 * line) and then a line without a newline, in writes of random sizes, so
 * that lines start and end anywhere in ctxrun's reads and scan blocks.
 */
static int
th_mixed(int argc, char **argv)
{
	static char line[70001];
	unsigned long x = (unsigned long)th_num(argv[2]) * 2654435761UL + 1;
	long n = th_num(argv[3]);
	char *out = NULL;
	size_t len = 0, cap = 0;

	(void)argc;
	for (long i = 0; i <= n; i++) {
		size_t l;

		x = x * 6364136223846793005UL + 1442695040888963407UL;
		l = (x >> 33) % 1000 < 949 ? (x >> 40) % 200
		    : (x >> 33) % 1000 < 999 ? (x >> 40) % 5000
					     : sizeof(line) - 1;
		for (size_t k = 0; k < l; k++) {
			line[k] = (char)('!' + (x >> (k % 40)) % 90);
		}
		if (len + l + 1 > cap) {
			cap = 2 * (len + l + 1);
			out = realloc(out, cap);
			if (!out) {
				return 1;
			}
		}
		memcpy(out + len, line, l);
		len += l;
		if (i < n) {
			out[len++] = '\n';
		}
	}
	for (size_t off = 0; off < len;) {
		size_t want;
		ssize_t w;

		x = x * 6364136223846793005UL + 1442695040888963407UL;
		want = 1 + (x >> 33) % 100000;
		w = write(1, out + off, want < len - off ? want : len - off);
		if (w == -1) {
			perror("th: mixed");
			return 1;
		}
		off += (size_t)w;
	}
	free(out);
	return 0;
}

/* th stdio-ino: print the inode numbers of fds 0, 1 and 2. */
static int
th_stdio_ino(int argc, char **argv)
{
	struct stat st;
	int fd;

	(void)argc;
	(void)argv;
	for (fd = 0; fd <= 2; fd++) {
		if (fstat(fd, &st) == -1) {
			perror("th: fstat");
			return 1;
		}
		printf("%s%llu", fd > 0 ? " " : "",
		       (unsigned long long)st.st_ino);
	}
	printf("\n");
	return 0;
}

/* CHILD: point fds 0, 1 and 2 at /dev/null (a daemon's detachment). */
static void
th_detach_stdio(void)
{
	int null = open("/dev/null", O_RDWR);

	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	if (null > 2) {
		close(null);
	}
}

/*
 * CHILD: become the escapee of KIND (see th_contain) and exec SELF sleep
 * MS. FD, close-on-exec, is the parent's sign: every exec or exit closes
 * it, and a daemon's middle process writes the daemon's pid to it first.
 */
static _Noreturn void
th_contain_child(const char *kind, const char *self, const char *ms, int fd)
{
	char *sleep_argv[] = { "th", "sleep", (char *)ms, NULL };
	char *no_env[] = { NULL };
	pid_t pid;

	if (strcmp(kind, "tree") == 0) {
		th_detach_stdio();
		if (fork() == -1) {
			_exit(TH_EXIT_USAGE);
		}
	} else if (strcmp(kind, "holdout") == 0) {
		/* Stays in the group and keeps stdout and stderr open. */
	} else if (strcmp(kind, "setsid") == 0) {
		setsid();
	} else if (strcmp(kind, "daemon") == 0) {
		setsid();
		pid = fork();
		if (pid != 0) {
			if (pid < 0 || write(fd, &pid, sizeof(pid)) < 0) {
				_exit(TH_EXIT_USAGE);
			}
			_exit(0);
		}
		if (chdir("/") < 0) {
			_exit(TH_EXIT_USAGE);
		}
		th_detach_stdio();
	} else if (strcmp(kind, "nohup") == 0) {
		execlp("nohup", "nohup", self, "sleep", ms, (char *)NULL);
		_exit(127);
	} else if (strcmp(kind, "ignterm") == 0) {
		setsid();
		signal(SIGTERM, SIG_IGN);
	} else if (strcmp(kind, "noenv") == 0) {
		setsid();
		th_detach_stdio();
		execve(self, sleep_argv, no_env);
		_exit(TH_EXIT_USAGE);
	} else {
		_exit(TH_EXIT_USAGE);
	}
	execv(self, sleep_argv);
	_exit(TH_EXIT_USAGE);
}

/* Start an escapee of KIND sleeping MS, once it is in place; its pid. */
static pid_t
th_contain_spawn(const char *kind, const char *self, const char *ms)
{
	pid_t pid, daemon = 0;
	int fds[2];
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		perror("th: contain");
		exit(TH_EXIT_USAGE);
	}
	if (pid == 0) {
		close(fds[0]);
		th_contain_child(kind, self, ms, fds[1]);
	}
	close(fds[1]);
	/* EOF: every process holding the pipe has exec'd or exited. */
	while ((n = read(fds[0], &daemon, sizeof(daemon))) != 0) {
		if (n < 0 && errno != EINTR) {
			break;
		}
	}
	close(fds[0]);
	if (strcmp(kind, "daemon") == 0) {
		waitpid(pid, NULL, 0);
		return daemon;
	}
	return pid;
}

/*
 * th contain KIND exit|stay|wait MS [FILE]: leave an escapee of KIND
 * sleeping MS, print "ready <pid> <escapee>", then exit 0 (exit), create
 * FILE when given and sleep MS (stay), or wait up to MS for FILE to exist
 * and exit 0 (wait). KIND is one of:
 *   tree     two processes in our group, stdio on /dev/null (no escape)
 *   holdout  a child in our group holding stdout and stderr open
 *   setsid   a child in a new session
 *   daemon   a double-forked daemon: new session, parent gone, stdio closed
 *   nohup    a child run through nohup(1), in our group
 *   ignterm  a child in a new session that ignores SIGTERM
 *   noenv    a child in a new session with an empty environment (no mark)
 */
static int
th_contain(int argc, char **argv)
{
	long ms = th_num(argv[4]);
	char self[4096];
	ssize_t n;
	pid_t esc;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		perror("th: /proc/self/exe");
		return TH_EXIT_USAGE;
	}
	self[n] = '\0';
	if (strcmp(argv[3], "exit") != 0 && strcmp(argv[3], "stay") != 0 &&
	    (strcmp(argv[3], "wait") != 0 || argc < 6)) {
		th_die("contain: bad mode");
	}
	esc = th_contain_spawn(argv[2], self, argv[4]);
	printf("ready %ld %ld\n", (long)getpid(), (long)esc);
	fflush(stdout);
	if (strcmp(argv[3], "wait") == 0) {
		char *await_argv[] = { argv[0], "await", argv[5], argv[4], "0",
				       NULL };

		return th_await(5, await_argv);
	}
	if (argc > 5) {
		char *touch_argv[] = { argv[0], "touch", argv[5], NULL };

		if (th_touch(3, touch_argv) != 0) {
			return TH_EXIT_USAGE;
		}
	}
	if (strcmp(argv[3], "stay") == 0) {
		th_sleep_ms(ms);
	}
	return 0;
}

/* th await PATH MS N: wait up to MS for PATH to exist, then exit N (99: never). */
static int
th_await(int argc, char **argv)
{
	long ms = th_num(argv[3]), waited;

	(void)argc;
	for (waited = 0; waited <= ms; waited += 10) {
		if (access(argv[2], F_OK) == 0) {
			return (int)th_num(argv[4]);
		}
		th_sleep_ms(10);
	}
	fprintf(stderr, "th: await: no %s after %ld ms\n", argv[2], ms);
	return TH_EXIT_USAGE;
}

/*
 * th forks N MS: fork up to N children in our group as fast as we can
 * (stopping early when fork fails, as under a pids limit), each sleeping
 * MS with stdio on /dev/null; print "ready <pid> <forked>", sleep MS.
 */
static int
th_forks(int argc, char **argv)
{
	long i, n = th_num(argv[2]), ms = th_num(argv[3]);
	pid_t pid;

	(void)argc;
	for (i = 0; i < n; i++) {
		pid = fork();
		if (pid == -1) {
			break;
		}
		if (pid == 0) {
			th_detach_stdio();
			th_sleep_ms(ms);
			_exit(0);
		}
	}
	printf("ready %ld %ld\n", (long)getpid(), i);
	fflush(stdout);
	th_sleep_ms(ms);
	return 0;
}

/* th close-stdout MS: close stdout, say so on stderr, sleep MS, exit 0. */
static int
th_close_stdout(int argc, char **argv)
{
	(void)argc;
	fflush(stdout);
	close(1);
	fprintf(stderr, "stdout closed\n");
	th_sleep_ms(th_num(argv[2]));
	fprintf(stderr, "still here\n");
	return 0;
}

/* th flood-err BYTES: write BYTES bytes of "e\n" to stderr, none to stdout. */
static int
th_flood_err(int argc, char **argv)
{
	(void)argc;
	return th_flood_fd(2, 'e', th_num(argv[2]));
}

/*
 * th limit nofile|nproc N CMD [ARG...]: exec CMD with that limit, soft
 * and hard, at N, and no fd above 2, so that N means the same whatever
 * the test runner left open. RLIMIT_NPROC does not bind root (nor
 * CAP_SYS_RESOURCE): as root, th first becomes "nobody" (65534), and
 * lowers the limit only then, since a setuid() over the limit would make
 * the exec fail itself.
 */
static int
th_limit(int argc, char **argv)
{
	struct rlimit rl;
	int res = RLIMIT_NOFILE;

	(void)argc;
	if (strcmp(argv[2], "nproc") == 0) {
		res = RLIMIT_NPROC;
	} else if (strcmp(argv[2], "nofile") != 0) {
		th_die("limit: nofile or nproc");
	}
	if (res == RLIMIT_NPROC && geteuid() == 0 &&
	    (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
	     setuid(65534) < 0)) {
		th_die("limit: cannot become nobody");
	}
	rl.rlim_cur = rl.rlim_max = (rlim_t)th_num(argv[3]);
	if (setrlimit(res, &rl) < 0) {
		th_die("limit: setrlimit");
	}
	close_range(3, ~0U, 0);
	execv(argv[4], argv + 4);
	th_die("limit: exec");
	return TH_EXIT_USAGE;
}

static long th_linger_ms;

/* SIGTERM in a lingering child: take th_linger_ms more, then go. */
static void
th_on_term_linger(int sig)
{
	(void)sig;
	th_sleep_ms(th_linger_ms); /* nanosleep: async-signal-safe */
	_exit(0);
}

/*
 * th linger MS LINGER: fork a child in our group that sleeps MS but, on
 * SIGTERM, exits only LINGER ms later (a job that takes a moment to stop);
 * print "ready <pid> <child>" once it is set up, then sleep MS ourselves
 * (SIGTERM ends us at once). A test that finds the child gone when its
 * ctxrun is reaped knows ctxrun waited for it.
 */
static int
th_linger(int argc, char **argv)
{
	long ms = th_num(argv[2]);
	pid_t child;

	(void)argc;
	th_linger_ms = th_num(argv[3]);
	child = th_fork_sleeper(ms, th_on_term_linger);
	printf("ready %ld %ld\n", (long)getpid(), (long)child);
	fflush(stdout);
	th_sleep_ms(ms);
	return 0;
}

static volatile sig_atomic_t th_caught;

/* Remember the first signal caught. */
static void
th_on_any(int sig)
{
	if (!th_caught) {
		th_caught = sig;
	}
}

/*
 * th catch MS: catch every signal that can be caught but SIGCONT (which a
 * stop sequence sends after the stop signal, and pending signals arrive
 * lowest first), print the ready line, and wait up to MS for one; print
 * "caught N" for the first and exit 0, or exit 1 when none came.
 */
static int
th_catch(int argc, char **argv)
{
	long ms = th_num(argv[2]);
	struct sigaction sa;

	(void)argc;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = th_on_any;
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig != SIGCONT) {
			sigaction(sig, &sa, NULL); /* KILL, STOP, 32, 33 fail */
		}
	}
	th_ready();
	for (long waited = 0; !th_caught && waited < ms; waited += 10) {
		th_sleep_ms(10);
	}
	if (!th_caught) {
		return 1;
	}
	printf("caught %d\n", (int)th_caught);
	return 0;
}

/*
 * th slow-read PATH CHUNK MS: open PATH (a FIFO) for reading and copy it to
 * stdout, reading at most CHUNK bytes at a time and sleeping MS ms after
 * each read, until EOF: a reader slower than ctxrun's writes.
 */
static int
th_slow_read(int argc, char **argv)
{
	long chunk = th_num(argv[3]);
	int fd = open(argv[2], O_RDONLY | O_CLOEXEC);

	(void)argc;
	if (fd == -1 || chunk < 1) {
		th_die("slow-read: cannot open PATH, or CHUNK is 0");
	}
	return th_copy(fd, (size_t)chunk, th_num(argv[4]));
}

/* Run the subcommand named by argv[1]. */
int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		th_die("missing command");
	}
	for (i = 0; i < sizeof(th_cmds) / sizeof(th_cmds[0]); i++) {
		if (strcmp(argv[1], th_cmds[i].name) != 0) {
			continue;
		}
		if (argc - 2 < th_cmds[i].nargs) {
			th_die("missing argument");
		}
		return th_cmds[i].run(argc, argv);
	}
	th_die("unknown command");
	return TH_EXIT_USAGE;
}
