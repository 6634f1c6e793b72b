/* SPDX-License-Identifier: MIT */
/*
 * The sshd of the remote-job tests (sshd.h). Everything lives in the
 * test's directory; nothing of the machine's ssh set-up is read or
 * written (-F and -f name our own files; the known hosts are /dev/null).
 */
#include "sshd.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"

#define SSHD "/usr/sbin/sshd"
#define SSH_KEYGEN "/usr/bin/ssh-keygen"
/* Variables the far side must see as the tests run it (sanitizers, and
 * the second pass without cgroups). */
#define SX_ENV "LSAN_OPTIONS ASAN_OPTIONS UBSAN_OPTIONS CTXRUN_CGROUP"

static pid_t sx_pid = -1;
static char sx_host_buf[64];

/* Sleep MS milliseconds: the pace of a bounded poll, never a wait. */
static void
sx_pause(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Run ARGV with stdout and stderr on LOG; its exit code, -1 if none. */
static int
sx_run(const char *const *argv, const char *log)
{
	int status;
	pid_t pid = fork();

	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A 127.0.0.1 port nobody listens on now. */
static int
sx_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		  getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Make the keys and the two configurations for PORT. */
static void
sx_configure(int port)
{
	char buf[4096];
	const char *log = fx_path("sshd.log");
	const char *const host_key[] = { SSH_KEYGEN, "-q", "-t", "ed25519",
					 "-N", "", "-f", fx_path("host_key"),
					 NULL };
	const char *const client_key[] = { SSH_KEYGEN, "-q", "-t", "ed25519",
					   "-N", "", "-f",
					   fx_path("client_key"), NULL };

	if (!fx_exists("host_key")) {
		cr_assert_eq(sx_run(host_key, log), 0, "ssh-keygen failed");
		cr_assert_eq(sx_run(client_key, log), 0, "ssh-keygen failed");
		fx_read("client_key.pub", buf, sizeof(buf));
		fx_write("authorized_keys", buf);
		chmod(fx_path("client_key"), 0600);
	}
	snprintf(buf, sizeof(buf),
		 "ListenAddress 127.0.0.1\nPort %d\nHostKey %s\n"
		 "AuthorizedKeysFile %s\nPidFile none\nUsePAM no\n"
		 "StrictModes no\nPasswordAuthentication no\n"
		 "KbdInteractiveAuthentication no\n"
		 "PermitRootLogin prohibit-password\nAcceptEnv " SX_ENV "\n"
		 "MaxStartups 100\nMaxSessions 100\nLogLevel ERROR\n",
		 port, fx_path("host_key"), fx_path("authorized_keys"));
	fx_write("sshd_config", buf);
	snprintf(buf, sizeof(buf),
		 "Host *\n  Port %d\n  IdentityFile %s\n  IdentitiesOnly yes\n"
		 "  UserKnownHostsFile /dev/null\n  GlobalKnownHostsFile "
		 "/dev/null\n  StrictHostKeyChecking no\n  LogLevel ERROR\n"
		 "  ControlMaster no\n  SendEnv " SX_ENV "\n",
		 port, fx_path("client_key"));
	fx_write("ssh_config", buf);
}

/* Start sshd on PORT; its pid. */
static pid_t
sx_spawn(void)
{
	const char *cfg = fx_path("sshd_config");
	const char *log = fx_path("sshd.log");
	pid_t pid = fork();

	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		setpgid(0, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(SSHD, SSHD, "-D", "-e", "-f", cfg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Is sshd still running (not exited yet)? */
static bool
sx_alive(void)
{
	int status;

	return waitpid(sx_pid, &status, WNOHANG) == 0;
}

/* Wait up to MS ms for an ssh `true` to get through; whether it did. */
static bool
sx_answers(int ms)
{
	const char *const argv[] = { "/usr/bin/ssh", "-F", fx_path("ssh_config"),
				     "-o", "BatchMode=yes", "-o",
				     "ConnectTimeout=5", "-p",
				     strchr(sx_host_buf, ':') + 1, "127.0.0.1",
				     "true", NULL };
	double end = h_now() + ms / 1000.;

	while (h_now() < end && sx_alive()) {
		if (sx_run(argv, fx_path("ssh.log")) == 0) {
			return true;
		}
		sx_pause(20);
	}
	return false;
}

/* Start sshd for this test. */
void
sx_start(void)
{
	char log[2048], env[1024];

	if (access(SSHD, X_OK) < 0 || access(SSH_KEYGEN, X_OK) < 0 ||
	    access("/usr/bin/ssh", X_OK) < 0) {
		cr_skip_test("no OpenSSH here (" SSHD ", ssh, ssh-keygen): "
			     "make test-deps installs it");
	}
	/* Debian's sshd wants its privilege separation directory. */
	if (geteuid() == 0) {
		mkdir("/run/sshd", 0755);
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		int port = sx_free_port();

		sx_configure(port);
		snprintf(sx_host_buf, sizeof(sx_host_buf), "127.0.0.1:%d", port);
		sx_pid = sx_spawn();
		if (sx_answers(10000)) {
			snprintf(env, sizeof(env), "ssh -F %s",
				 fx_path("ssh_config"));
			setenv("CTXRUN_SSH", env, 1);
			setenv("CTXRUN_REMOTE_CTXRUN", h_ctxrun, 1);
			return;
		}
		sx_stop();
	}
	fx_read("sshd.log", log, sizeof(log));
	cr_skip_test("sshd cannot start here: %s", log);
}

/* The host of the running sshd. */
const char *
sx_host(void)
{
	return sx_host_buf;
}

/* What sx_children_of() counts: children of PARENT. */
struct sx_count {
	pid_t parent;
	int n;
};

/* Count ST when it is a child of the parent asked about. */
static void
sx_count_child(const struct h_pstat *st, void *data)
{
	struct sx_count *c = data;

	if (st->ppid == c->parent) {
		c->n++;
	}
}

/* How many processes PARENT has (sshd's sessions, for sx_stop()). */
static int
sx_children_of(pid_t parent)
{
	struct sx_count c = { parent, 0 };

	h_each_process(sx_count_child, &c);
	return c.n;
}

/* Reap ST when it is a zombie left to the test; count it when sshd. */
static void
sx_stray(const struct h_pstat *st, void *data)
{
	int *n = data;

	if (st->pid == sx_pid || st->ppid != getpid()) {
		return;
	}
	if (st->state == 'Z') {
		waitpid(st->pid, NULL, WNOHANG);
	} else if (!strcmp(st->comm, "sshd")) {
		(*n)++;
	}
}

/*
 * Reap what a session left to the test (a subreaper) when a parent in it
 * went first: sshd's own processes, and the far side's that had ended
 * (zombies run nothing). How many sshd processes still run: a live
 * process of a job is not waited for, and h_done() finds it.
 */
static int
sx_strays(void)
{
	int n = 0;

	h_each_process(sx_stray, &n);
	return n;
}

/*
 * Stop sshd once its sessions have ended (bounded: a session that does
 * not end is a survivor, and h_done() says so): stopped earlier, its
 * session processes would be left to the test, and reaped as strays.
 */
void
sx_stop(void)
{
	double end = h_now() + 5;

	if (sx_pid <= 0) {
		return;
	}
	while ((sx_children_of(sx_pid) + sx_strays()) && h_now() < end) {
		sx_pause(10);
	}
	kill(sx_pid, SIGTERM);
	while (waitpid(sx_pid, NULL, 0) < 0 && errno == EINTR) {
	}
	sx_pid = -1;
}

/* A word unique to this test and call. */
const char *
sx_tag(void)
{
	static char buf[64];
	static int seq;

	snprintf(buf, sizeof(buf), "%d%03d", (int)getpid(), ++seq);
	return buf;
}

/* Does process PID have TAG in its argv (and COMM as its name, if set)? */
static bool
sx_has_tag(const char *pid, const char *tag, const char *comm)
{
	char path[300], buf[8192];
	ssize_t n;
	int fd;

	if (comm) {
		snprintf(path, sizeof(path), "/proc/%s/comm", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0) {
			close(fd);
		}
		if (n <= 0 || strncmp(buf, comm, strlen(comm)) ||
		    buf[strlen(comm)] != '\n') {
			return false;
		}
	}
	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return false;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return false; /* a zombie has no argv: it runs nothing */
	}
	for (ssize_t i = 0; i < n; i++) {
		buf[i] = buf[i] ? buf[i] : ' ';
	}
	buf[n] = '\0';
	return strstr(buf, tag) != NULL;
}

/* How many processes have TAG in their argv. */
int
sx_tagged(const char *tag, const char *comm, pid_t *pid)
{
	struct dirent *e;
	DIR *d = opendir("/proc");
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		if (isdigit((unsigned char)e->d_name[0]) &&
		    atoi(e->d_name) != getpid() &&
		    sx_has_tag(e->d_name, tag, comm)) {
			n++;
			if (pid) {
				*pid = atoi(e->d_name);
			}
		}
	}
	closedir(d);
	return n;
}

/* Wait up to MS ms until some process with TAG runs. */
bool
sx_tagged_within(const char *tag, int ms)
{
	double end = h_now() + ms / 1000.;

	while (!sx_tagged(tag, NULL, NULL)) {
		if (h_now() > end) {
			return false;
		}
		sx_pause(5);
	}
	return true;
}

/* Wait up to MS ms until no process with TAG is left. */
bool
sx_untagged_within(const char *tag, int ms)
{
	double end = h_now() + ms / 1000.;

	while (sx_tagged(tag, NULL, NULL)) {
		if (h_now() > end) {
			return false;
		}
		sx_pause(5);
	}
	return true;
}
