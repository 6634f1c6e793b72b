/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of service and teardown jobs (ctxrun.ini(5), SERVICES
 * AND TEARDOWN JOBS) with real servers: python3's http.server on a free
 * loopback port for tcp: and http://, a shell that prints for log:, a
 * python3 grandchild that speaks the notify protocol, test(1) for exec:.
 * Each test starts and stops its own servers through ctxrun, waits for
 * states (an output line, a file, ctxrun's exit), never for time, and
 * ends with h_done(): nothing may survive the run, probes included.
 * Orders are read from the --events log, which is written as things
 * happen.
 */
#include "expect.h"
#include "fixture.h"
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(services, .init = fx_init, .fini = fx_fini, .timeout = 40);

/* A python3 one-liner sending each argument to $NOTIFY_SOCKET. */
#define NOTIFY_PY                                                            \
	"import os,socket,sys; a=os.environ['NOTIFY_SOCKET']; "             \
	"a='\\0'+a[1:] if a[0]=='@' else a; "                               \
	"s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); "                \
	"[s.sendto(m.encode(),a) for m in sys.argv[1:]]"

/*
 * A loopback TCP port nobody listens on now: the kernel picks it, and it
 * is free again once our socket is closed (the server binds it next).
 */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		  getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Where "NEEDLE" is in the events log E, asserted present. */
static const char *
event_at(const char *e, const char *needle)
{
	const char *at = strstr(e, needle);

	cr_assert_not_null(at, "no <%s> in events <%s>", needle, e);
	return at;
}

/* Assert that A comes before B in the events log E. */
static void
expect_before(const char *e, const char *a, const char *b)
{
	cr_assert(event_at(e, a) < event_at(e, b), "<%s> not before <%s> in "
		  "<%s>", a, b, e);
}

/* Wait up to MS ms for the file NAME in the test's directory. */
static void
wait_file(const char *name, int ms)
{
	double end = h_now() + ms / 1000.;

	while (!fx_exists(name)) {
		cr_assert(h_now() < end, "no file %s after %d ms", name, ms);
		usleep(5000);
	}
}

/* The ini of a web service on PORT, ready by PROBE, needed by "test". */
static char *
web_ini(int port, const char *probe, const char *test)
{
	char *ini;

	cr_assert(asprintf(&ini,
			   "[job:web]\n"
			   "command = exec python3 -m http.server %d "
			   "--bind 127.0.0.1 --directory \"$D\"\n"
			   "service = true\n"
			   "ready = %s\n"
			   "ready_interval = 50ms\n"
			   "[job:test]\n"
			   "needs = web\n"
			   "command = %s\n",
			   port, probe, test) > 0);
	return ini;
}

/*
 * The test job: connect at once (th starts in a millisecond, python3 in
 * fifty: a server not yet listening is caught), then a python3 GET of
 * http://127.0.0.1:PORT/NAME, printing the body.
 */
static char *
get_cmd(int port, const char *name)
{
	char *cmd;

	cr_assert(asprintf(&cmd,
			   "\"$TH\" connect %d && "
			   "python3 -c \"import urllib.request as u; print(u."
			   "urlopen('http://127.0.0.1:%d/%s').read().decode()"
			   ".strip())\"",
			   port, port, name) > 0);
	return cmd;
}

/* Run a web service ready by PROBE (%d: the port); the test job GETs. */
static void
run_web(const char *probe_fmt)
{
	struct h_proc p;
	int port = free_port();
	char probe[128], e[8192];
	char *get, *ini;

	snprintf(probe, sizeof(probe), probe_fmt, port);
	get = get_cmd(port, "hello.txt");
	ini = web_ini(port, probe, get);
	fx_write("hello.txt", "served\n");
	fx_run_ini(&p, (const char *const[]){ "--events", fx_path("e.json"),
					      NULL },
		   ini);
	expect_exit(&p, 0);
	/* The test job ran only once the server answered. */
	expect_out_has(&p, "test | served\n");
	expect_err_has(&p, "ctxrun: web: ready after ");
	expect_err_has(&p, probe);
	fx_read("e.json", e, sizeof(e));
	expect_before(e, "\"event\":\"ready\",\"job\":\"web\"",
		      "\"event\":\"start\",\"job\":\"test\"");
	expect_before(e, "\"event\":\"exit\",\"job\":\"test\"",
		      "\"event\":\"signal\",\"job\":\"web\"");
	event_at(e, "\"event\":\"stopped\",\"job\":\"web\"");
	free(get);
	free(ini);
	h_done(&p);
}

/* ---- each probe kind, with a real process ---- */

Test(services, tcp_probe_waits_for_a_real_server)
{
	run_web("tcp:127.0.0.1:%d");
}

Test(services, http_probe_waits_for_a_2xx_answer)
{
	run_web("http://127.0.0.1:%d/hello.txt");
}

/* A 404 is no readiness: the service fails, its dependent is skipped. */
Test(services, http_probe_404_is_not_ready)
{
	struct h_proc p;
	int port = free_port();
	char probe[128];
	char *ini;

	snprintf(probe, sizeof(probe), "http://127.0.0.1:%d/missing", port);
	cr_assert(asprintf(&ini,
			   "[job:web]\n"
			   "command = exec python3 -m http.server %d "
			   "--bind 127.0.0.1 --directory \"$D\"\n"
			   "service = true\nready = %s\nready_interval = 50ms\n"
			   "ready_timeout = 1500ms\n"
			   "[job:test]\nneeds = web\ncommand = touch \"$D/ran\"\n",
			   port, probe) > 0);
	fx_run_ini(&p, NULL, ini);
	expect_exit(&p, 1);
	expect_err_has(&p, "service \"web\" not ready after 1.5s: ");
	expect_err_has(&p, ": HTTP status 404");
	expect_err_has(&p, "ctxrun: test: skipped (");
	cr_assert_not(fx_exists("ran"));
	free(ini);
	h_done(&p);
}

Test(services, log_probe_matches_a_whole_line)
{
	struct h_proc p;
	char e[8192];

	fx_run_ini(&p, (const char *const[]){ "--events", fx_path("e.json"),
					      NULL },
		   "[job:db]\n"
		   "command = echo 'ready on 4x'; echo booting >&2\n"
		   "  \"$TH\" touch \"$D/booted\"\n"
		   "  echo 'ready on 42' >&2; exec sleep 30\n"
		   "service = true\n"
		   "ready = log:^ready on [0-9]+$\n"
		   "[job:test]\n"
		   "needs = db\n"
		   "command = test -e \"$D/booted\" && echo ok\n");
	expect_exit(&p, 0);
	expect_out_has(&p, "test | ok\n");
	expect_err_has(&p, "ctxrun: db: ready after ");
	fx_read("e.json", e, sizeof(e));
	expect_before(e, "\"event\":\"ready\",\"job\":\"db\"",
		      "\"event\":\"start\",\"job\":\"test\"");
	h_done(&p);
}

/* READY=1 from a grandchild of the service, STATUS= shown with -v. */
Test(services, notify_from_a_grandchild)
{
	struct h_proc p;

	fx_run_ini(&p, (const char *const[]){ "-v", NULL },
		   "[job:db]\n"
		   "command = sh -c 'python3 -c \"$PY\" STATUS=warm READY=1' &"
		   " exec sleep 30\n"
		   "env = PY=" NOTIFY_PY "\n"
		   "service = true\n"
		   "ready = notify\n"
		   "[job:test]\n"
		   "needs = db\n"
		   "command = echo told\n");
	expect_exit(&p, 0);
	expect_out_has(&p, "test | told\n");
	expect_err_has(&p, "ctxrun: db: status: warm\n");
	expect_err_has(&p, "ctxrun: db: ready after ");
	h_done(&p);
}

Test(services, exec_probe_polls_until_exit_0)
{
	struct h_proc p;
	char e[16384];

	fx_run_ini(&p, (const char *const[]){ "-v", "--events",
					      fx_path("e.json"), NULL },
		   "[job:db]\n"
		   "command = \"$TH\" sleep 300; touch \"$D/up\"; exec sleep 30\n"
		   "service = true\n"
		   "ready = exec:test -e \"$D/up\"\n"
		   "ready_interval = 50ms\n"
		   "[job:test]\n"
		   "needs = db\n"
		   "command = test -e \"$D/up\" && echo up\n");
	expect_exit(&p, 0);
	expect_out_has(&p, "test | up\n");
	fx_read("e.json", e, sizeof(e));
	/* At least one attempt failed first, and says how (-v). */
	expect_before(e, "\"event\":\"probe\",\"job\":\"db\"",
		      "\"event\":\"ready\",\"job\":\"db\"");
	expect_err_has(&p, "ctxrun: db: not ready: exec:test -e \"$D/up\": "
			   "exit status 1\n");
	h_done(&p);
}

/* ---- failures ---- */

Test(services, never_ready_fails_after_ready_timeout)
{
	struct h_proc p;
	int port = free_port();
	char *ini;

	cr_assert(asprintf(&ini,
			   "[job:db]\ncommand = exec sleep 30\nservice = true\n"
			   "ready = tcp:127.0.0.1:%d\nready_timeout = 1s\n"
			   "ready_interval = 100ms\n"
			   "[job:test]\nneeds = db\ncommand = touch \"$D/ran\"\n"
			   "[job:lint]\ncommand = exec sleep 30\n",
			   port) > 0);
	fx_run_ini(&p, NULL, ini);
	expect_exit(&p, 1);
	expect_secs(p.elapsed, 0.9, 10.0);
	expect_err_has(&p, "ctxrun: test: skipped (service \"db\" not ready "
			   "after 1s: tcp:127.0.0.1:");
	expect_err_has(&p, ": connection refused)\n");
	/* Fail-fast: the unrelated job is cancelled with that cause. */
	expect_err_has(&p, "ctxrun: lint: SIGTERM (cancelled: service \"db\" "
			   "not ready after 1s");
	cr_assert_not(fx_exists("ran"));
	free(ini);
	h_done(&p);
}

Test(services, service_dying_while_needed_cancels_its_dependents)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:db]\n"
		   "command = while [ ! -e \"$D/test\" ]; do \"$TH\" sleep 10; "
		   "done\n"
		   "  exit 7\n"
		   "service = true\n"
		   "[job:test]\n"
		   "needs = db\n"
		   "command = touch \"$D/test\"; exec sleep 30\n");
	expect_exit(&p, 7);
	expect_secs(p.elapsed, 0.0, 10.0);
	expect_err_has(&p, "ctxrun: test: SIGTERM (cancelled: service \"db\" "
			   "exited: exit status 7)\n");
	h_done(&p);
}

/* A service that forks a daemon and exits is contained like any job. */
Test(services, service_leaving_a_daemon_is_contained)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:db]\n"
		   "command = setsid sh -c 'echo $$ > \"$D/daemon\"; "
		   "exec sleep 30' &\n"
		   "  while [ ! -s \"$D/daemon\" ]; do \"$TH\" sleep 10; done\n"
		   "service = true\n"
		   "[job:test]\n"
		   "needs = db\n"
		   "command = exec sleep 30\n");
	expect_exit(&p, 1);
	expect_err_has(&p, "service \"db\" exited: exit status 0");
	h_done(&p);
}

/* ---- lifecycle ---- */

Test(services, stopped_in_reverse_order_after_the_last_dependent)
{
	struct h_proc p;
	char e[16384];

	fx_run_ini(&p, (const char *const[]){ "--events", fx_path("e.json"),
					      NULL },
		   "[job:db]\ncommand = exec sleep 30\nservice = true\n"
		   "[job:cache]\ncommand = exec sleep 30\nservice = true\n"
		   "needs = db\n"
		   "[job:api]\ncommand = exec sleep 30\nservice = true\n"
		   "needs = db, cache\n"
		   "[job:unit]\ncommand = true\nneeds = db\n"
		   "[job:e2e]\ncommand = \"$TH\" sleep 200\nneeds = api\n");
	expect_exit(&p, 0);
	fx_read("e.json", e, sizeof(e));
	expect_before(e, "\"event\":\"ready\",\"job\":\"cache\"",
		      "\"event\":\"start\",\"job\":\"api\"");
	expect_before(e, "\"event\":\"exit\",\"job\":\"e2e\"",
		      "\"event\":\"signal\",\"job\":\"api\"");
	expect_before(e, "\"event\":\"stopped\",\"job\":\"api\"",
		      "\"event\":\"signal\",\"job\":\"cache\"");
	expect_before(e, "\"event\":\"stopped\",\"job\":\"cache\"",
		      "\"event\":\"signal\",\"job\":\"db\"");
	event_at(e, "\"event\":\"stopped\",\"job\":\"db\"");
	expect_err_has(&p, "ctxrun: db     stopped");
	h_done(&p);
}

Test(services, dependent_fails_service_stopped_not_blamed)
{
	struct h_proc p;
	char j[8192];

	fx_run_ini(&p, (const char *const[]){ "--junit", fx_path("j.xml"),
					      NULL },
		   "[job:db]\ncommand = exec sleep 30\nservice = true\n"
		   "[job:test]\ncommand = exit 3\nneeds = db\n");
	expect_exit(&p, 3);
	expect_err_has(&p, "ctxrun: db    stopped");
	expect_err_has(&p, "ctxrun: db: SIGTERM (no longer needed)\n");
	/* A service is a testcase only when it failed. */
	fx_read("j.xml", j, sizeof(j));
	cr_assert_null(strstr(j, "name=\"db\""), "%s", j);
	cr_assert_not_null(strstr(j, "tests=\"1\" failures=\"1\""), "%s", j);
	h_done(&p);
}

/* ---- teardown ---- */

/*
 * Start a run whose teardown job, drop (always = true, needing test),
 * says "dropping" and then runs DROP; Ctrl-C it once test is up.
 */
static void
start_teardown_interrupted(struct h_proc *p, const char *drop)
{
	char ini[512];

	snprintf(ini, sizeof(ini),
		 "[job:test]\n"
		 "command = echo up; exec sleep 30\n"
		 "[job:drop]\n"
		 "always = true\n"
		 "needs = test\n"
		 "command = echo dropping; %s\n",
		 drop);
	fx_start_ini(p, NULL, ini);
	cr_assert_not_null(h_wait_out(p, "test | up\n", 10000));
	h_kill(p, SIGINT);
}

Test(services, teardown_after_success_and_failure)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:a]\ncommand = exit 4\n"
		   "[job:b]\ncommand = true\nneeds = a\n"
		   "[job:drop]\nalways = true\nneeds = b\n"
		   "command = \"$TH\" touch \"$D/dropped\"\n");
	expect_exit(&p, 4);
	cr_assert(fx_exists("dropped"));
	expect_err_has(&p, "ctxrun: b: skipped (job \"a\" failed: exit "
			   "status 4)\n");
	h_done(&p);
	/* After success; without needs, it waits for every other job. */
	fx_run_ini(&p, NULL,
		   "[job:up]\nalways = true\n"
		   "command = test -e \"$D/b\" && echo after\n"
		   "[job:a]\ncommand = true\n"
		   "[job:b]\ncommand = \"$TH\" sleep 100; touch \"$D/b\"\n"
		   "needs = a\n");
	expect_exit(&p, 0);
	expect_out_has(&p, "up | after\n");
	h_done(&p);
}

Test(services, teardown_after_sigint)
{
	struct h_proc p;

	start_teardown_interrupted(&p, "\"$TH\" touch \"$D/dropped\"");
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	expect_out_has(&p, "drop | dropping\n");
	cr_assert(fx_exists("dropped"));
	h_done(&p);
}

Test(services, teardown_after_the_deadline_with_its_own_timeout)
{
	struct h_proc p;

	fx_run_ini(&p, (const char *const[]){ "-t", "300ms", NULL },
		   "[job:test]\ncommand = exec sleep 30\n"
		   "[job:drop]\nalways = true\nneeds = test\ntimeout = 500ms\n"
		   "command = \"$TH\" touch \"$D/dropped\"; exec sleep 30\n");
	expect_exit(&p, 124);
	expect_secs(p.elapsed, 0.7, 10.0);
	cr_assert(fx_exists("dropped"));
	expect_err_has(&p, "ctxrun: drop: SIGTERM (job \"drop\" timed out "
			   "after 500ms)\n");
	h_done(&p);
}

Test(services, second_sigint_stops_teardown)
{
	struct h_proc p;

	start_teardown_interrupted(&p, "exec sleep 30");
	cr_assert_not_null(h_wait_out(&p, "drop | dropping\n", 10000));
	h_kill(&p, SIGINT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	expect_secs(p.elapsed, 0.0, 8.0);
	expect_err_has(&p, "ctxrun: drop: SIGTERM (interrupted again)\n");
	h_done(&p);
}

/* Ctrl-C while an exec: attempt runs: the probe process goes at once. */
Test(services, probes_stop_at_once_on_sigint)
{
	struct h_proc p;

	fx_start_ini(&p, NULL,
		     "[job:db]\ncommand = exec sleep 30\nservice = true\n"
		     "ready = exec:touch \"$D/probing\"; exec sleep 30\n"
		     "ready_interval = 60s\n"
		     "[job:test]\ncommand = true\nneeds = db\n");
	wait_file("probing", 10000);
	h_kill(&p, SIGINT);
	h_finish(&p, 20000);
	expect_signal(&p, SIGINT);
	expect_secs(p.elapsed, 0.0, 8.0);
	expect_err_has(&p, "ctxrun: test: skipped (interrupted by SIGINT)\n");
	h_done(&p);
}

/* ---- bad input ---- */

Test(services, bad_service_keys_run_nothing)
{
	struct h_proc p;

	fx_run_ini(&p, NULL,
		   "[job:db]\ncommand = touch \"$D/ran\"\nservice = true\n"
		   "ready = udp:1.2.3.4:5\n"
		   "[job:t]\ncommand = touch \"$D/ran\"\nready = notify\n"
		   "always = true\n");
	expect_exit(&p, 125);
	expect_err_has(&p, "p.ini:4: unknown probe \"udp:1.2.3.4:5\"");
	expect_err_has(&p, "p.ini:7: ready on job \"t\", which is no service");
	cr_assert_not(fx_exists("ran"));
	h_release(&p);
	/* A log: probe has nothing to read under -o raw. */
	fx_run_ini(&p, (const char *const[]){ "-o", "raw", NULL },
		   "[job:db]\ncommand = touch \"$D/ran\"\nservice = true\n"
		   "ready = log:up\n");
	expect_exit(&p, 125);
	expect_err_has(&p, "ctxrun: -o raw leaves no output for the probe of "
			   "'db' to read (log:up)\n");
	cr_assert_not(fx_exists("ran"));
	h_done(&p);
}

/* ---- no idle wake-ups ---- */

/* Context switches of process PID so far (voluntary and not). */
static long
switches(pid_t pid)
{
	char path[64], line[256];
	long n = 0, v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1) {
			n += v;
		}
	}
	fclose(f);
	return n;
}

/*
 * Services that are up, with no probe pending (tcp:'s is done, notify's
 * socket only listens): ctxrun sleeps in the loop and wakes for nothing.
 * It must reach a 500 ms window without one context switch within 10 s;
 * a probe still polling (every 50 ms here) or a timer would never let it.
 */
Test(services, no_wake_ups_while_services_run)
{
	struct h_proc p;
	int port = free_port();
	bool quiet = false;
	long before;
	char *ini;

	cr_assert(asprintf(&ini,
			   "[job:web]\ncommand = exec python3 -m http.server %d "
			   "--bind 127.0.0.1\nservice = true\n"
			   "ready = tcp:127.0.0.1:%d\nready_interval = 50ms\n"
			   "[job:n]\nservice = true\nready = notify\n"
			   "env = PY=" NOTIFY_PY "\n"
			   "command = python3 -c \"$PY\" READY=1; exec sleep 30\n"
			   "[job:test]\nneeds = web, n\n"
			   "command = echo idle; exec sleep 30\n",
			   port, port) > 0);
	fx_start_ini(&p, NULL, ini);
	cr_assert_not_null(h_wait_out(&p, "test | idle\n", 10000));
	before = switches(p.pid);
	for (double end = h_now() + 10; !quiet && h_now() < end;) {
		long now;

		usleep(500000);
		now = switches(p.pid);
		quiet = now == before;
		before = now;
	}
	h_kill(&p, SIGINT);
	h_finish(&p, 20000);
	cr_assert(quiet, "ctxrun kept waking up with its services idle");
	expect_signal(&p, SIGINT);
	free(ini);
	h_done(&p);
}

/* ---- the command-line form ---- */

/* --service/--ready: every -c job waits for the service, which stops. */
Test(services, command_line_service_and_ready)
{
	struct h_proc p;
	int port = free_port();
	char svc[160], ready[64], test[64];

	snprintf(svc, sizeof(svc), "python3 -m http.server %d --bind "
		 "127.0.0.1", port);
	snprintf(ready, sizeof(ready), "http://127.0.0.1:%d/", port);
	snprintf(test, sizeof(test), "\"$TH\" connect %d && echo up", port);
	h_run(&p, NULL, "--service", svc, "--ready", ready, "-n", "a,b",
	      "-c", test, "-c", test);
	expect_exit(&p, 0);
	expect_out_has(&p, "a       | up\n");
	expect_out_has(&p, "b       | up\n");
	expect_err_has(&p, "ctxrun: python3: ready after ");
	expect_err_has(&p, "ctxrun: python3  stopped");
	h_done(&p);
}

Test(services, command_line_bad_ready_is_125)
{
	struct h_proc p;

	h_run(&p, NULL, "--ready", "notify", "-c", "true");
	expect_exit(&p, 125);
	expect_err_has(&p, "ctxrun: --ready 'notify' needs a --service "
			   "before it\n");
	h_release(&p);
	h_run(&p, NULL, "--service", "sleep 30", "--ready", "tcp:db:1", "-c",
	      "true");
	expect_exit(&p, 125);
	expect_err_has(&p, "ctxrun: invalid --ready: bad address in probe "
			   "\"tcp:db:1\"");
	h_release(&p);
	/* A service runs here, where its probe looks: not with --host. */
	h_run(&p, NULL, "--host", "box", "--service", "sleep 30", "-c",
	      "true");
	expect_exit(&p, 125);
	expect_err_has(&p, "ctxrun: --host with --service: a service runs "
			   "here, where its probe looks\n");
	h_done(&p);
}

/* --check shows what each job is: service and probe, teardown. */
Test(services, check_shows_services_probes_and_teardown)
{
	struct h_proc p;

	fx_run_ini(&p, (const char *const[]){ "--check", NULL },
		   "[job:db]\ncommand = x\nservice = true\n"
		   "ready = tcp:127.0.0.1:5432\nready_timeout = 30s\n"
		   "[job:mq]\ncommand = x\nservice = true\nready = notify\n"
		   "[job:web]\ncommand = x\nservice = true\n"
		   "[job:test]\ncommand = x\nneeds = db, mq, web\n"
		   "[job:drop]\ncommand = x\nalways = true\nneeds = test\n");
	expect_exit(&p, 0);
	expect_out_has(&p, "  db    timeout none, grace 10s, stop SIGTERM, "
			   "service, ready tcp:127.0.0.1:5432 within 30s every "
			   "500ms\n");
	expect_out_has(&p, "  mq    timeout none, grace 10s, stop SIGTERM, "
			   "service, ready notify within 1m\n");
	expect_out_has(&p, "  web   timeout none, grace 10s, stop SIGTERM, "
			   "service, ready once started\n");
	expect_out_has(&p, "  drop  timeout 1m, grace 10s, stop SIGTERM, "
			   "needs test, always (teardown)\n");
	h_done(&p);
}
