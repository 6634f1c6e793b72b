/* SPDX-License-Identifier: MIT */
#include "ctxrun/gnu_timeout.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxrun/cli.h"
#include "ctxrun/duration.h"
#include "ctxrun/escape.h"
#include "ctxrun/exit.h"
#include "ctxrun/run.h"
#include "ctxrun/signame.h"
#include "ctxrun/spec.h"
#include "ctxrun/util.h"

/*
 * The grammar is coreutils' timeout.c's, re-expressed (ctxrun is MIT, not
 * GPL): its parse_duration() and gnulib's operand2sig() and str2sig().
 * Every message is GNU's, word for word, after the program name as it was
 * invoked (argv[0], as GNU's error() prints it), so that scripts and
 * people reading logs see no difference; the names in them are quoted as
 * GNU's quote() does (escape.h).
 */

/* Print "PROG: " and a message about BAD, quoted: FMT has one %s for it. */
static void
say(const char *prog, const char *fmt, const char *bad)
{
	char *quoted = escape_gnu_quote(bad);

	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, quoted);
	fputc('\n', stderr);
	free(quoted);
}

/* Print GNU's pointer to --help after a usage error; return 125. */
static int
try_help(const char *prog)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", prog);
	return EXIT_CANCELED;
}

/* Print the help of the personality to stdout. */
static void
usage(const char *prog)
{
	printf("Usage: %s [OPTION] DURATION COMMAND [ARG]...\n", prog);
	fputs("Run COMMAND; if it still runs after DURATION, send it\n"
	      "a signal. This is ctxrun as timeout: GNU timeout's\n"
	      "command line and exit statuses, and every process\n"
	      "COMMAND starts goes with it, wherever it moved to.\n"
	      "\n"
	      "  -f, --foreground   stay in timeout's process group:\n"
	      "                     COMMAND may read the terminal\n"
	      "  -k, --kill-after=DURATION\n"
	      "                     send KILL if COMMAND still runs\n"
	      "                     this long after the first signal\n"
	      "  -p, --preserve-status\n"
	      "                     exit with COMMAND's status, even\n"
	      "                     when it timed out\n"
	      "  -s, --signal=SIGNAL\n"
	      "                     the signal to send on a timeout:\n"
	      "                     a name like HUP or a number (TERM)\n"
	      "  -v, --verbose      say each signal sent, on stderr\n"
	      "      --help         show this help and exit\n"
	      "      --version      show the version and exit\n"
	      "\n"
	      "DURATION is a floating-point number with an optional\n"
	      "unit: s (the default), m, h or d. 0 disables it.\n"
	      "Signals sent to timeout go on to COMMAND; ALRM times\n"
	      "it out at once.\n"
	      "\n"
	      "Exit status: COMMAND's own, or 124 if it timed out\n"
	      "(without -p); 125 if timeout failed; 126 if COMMAND\n"
	      "cannot run; 127 if it was not found; 137 if it needed\n"
	      "KILL. See ctxrun(1), REPLACING GNU TIMEOUT.\n",
	      stdout);
}

/* Was ctxrun invoked as `timeout`? */
bool
gnu_timeout_named(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	return !strcmp(slash ? slash + 1 : argv0, "timeout");
}

/* Multiply *SECONDS by the unit SUFFIX names; false for no unit GNU's. */
static bool
apply_unit(double *seconds, char suffix)
{
	switch (suffix) {
	case '\0':
	case 's':
		return true;
	case 'm':
		*seconds *= 60;
		return true;
	case 'h':
		*seconds *= 60 * 60;
		return true;
	case 'd':
		*seconds *= 60 * 60 * 24;
		return true;
	default:
		return false;
	}
}

/* Parse a GNU duration into milliseconds. */
int
gnu_timeout_duration(const char *text, int64_t *ms)
{
	char *end;
	double seconds, millis;
	int range;
	int64_t whole;

	errno = 0;
	seconds = strtod(text, &end);
	range = errno;
	/*
	 * An underflow is a positive value too small for a double, or a
	 * negative one: GNU takes it as the least value of its sign, so
	 * "1e-10000" is the shortest timeout and " -1e-10000" is negative.
	 */
	if (range == ERANGE && seconds == 0) {
		seconds = __builtin_signbit(seconds) ? -1e-300 : 1e-300;
	}
	/* "!(x >= 0)" is also true of NaN. */
	if (end == text || !(seconds >= 0) || (*end && end[1]) ||
	    !apply_unit(&seconds, *end)) {
		return -1;
	}
	millis = seconds * 1000;
	if (millis >= (double)DURATION_MAX_MS) {
		*ms = DURATION_MAX_MS;
		return 0;
	}
	/* Rounded up: a positive timeout never becomes "none". */
	whole = (int64_t)millis;
	*ms = whole + ((double)whole < millis);
	return 0;
}

/*
 * The number of signal NAME (upper case, no leading SIG) as gnulib's
 * str2sig() reads it: digits, a name, RTMIN+N or RTMAX-N (the sign and
 * N as strtol() takes them), EXIT for 0; -1 for none of those.
 */
static int
str2sig(const char *name)
{
	char *end;
	long n;
	int span = SIGRTMAX - SIGRTMIN;

	if (name[0] >= '0' && name[0] <= '9') {
		n = strtol(name, &end, 10);
		return !*end && n <= SIGRTMAX ? (int)n : -1;
	}
	if (!strcmp(name, "EXIT")) {
		return 0;
	}
	if (!strncmp(name, "RTMIN", 5)) {
		n = strtol(name + 5, &end, 10);
		return !*end && n >= 0 && n <= span ? SIGRTMIN + (int)n : -1;
	}
	if (!strncmp(name, "RTMAX", 5)) {
		n = strtol(name + 5, &end, 10);
		return !*end && n <= 0 && n >= -span ? SIGRTMAX + (int)n : -1;
	}
	return signame_lookup(name);
}

/* Parse a signal operand as GNU timeout does. */
int
gnu_timeout_signal(const char *text, int *signo)
{
	int sig;

	if (text[0] >= '0' && text[0] <= '9') {
		char *end;
		long n;

		errno = 0;
		n = strtol(text, &end, 10);
		if (*end || errno || n != (int)n) {
			return -1;
		}
		/* A shell's status of a death by signal N is 128 + N. */
		sig = (int)n & ((int)n >= 0xFF ? 0xFF : 0x7F);
	} else {
		char *upper = xstrdup(text);

		for (char *p = upper; *p; p++) {
			if (*p >= 'a' && *p <= 'z') {
				*p = (char)(*p - 'a' + 'A');
			}
		}
		sig = str2sig(upper);
		if (sig < 0 && !strncmp(upper, "SIG", 3)) {
			sig = str2sig(upper + 3);
		}
		free(upper);
	}
	/* What has a name: 0, the standard signals, the real-time ones. */
	if (sig < 0 || (sig > SIGSYS && sig < SIGRTMIN) || sig > SIGRTMAX) {
		return -1;
	}
	*signo = sig;
	return 0;
}

/* Say in *CMD that ERROR is wrong with BAD; return -1. */
static int
refuse(struct gnu_timeout_cmd *cmd, enum gnu_timeout_error error,
       const char *bad)
{
	cmd->error = error;
	cmd->bad = bad;
	return -1;
}

/*
 * Take option C with argument ARG into *CMD; -1 on a usage error. The
 * error is set only then: a good -k before --help is no error (found by
 * fuzz_gnu_timeout).
 */
static int
take_option(struct gnu_timeout_cmd *cmd, int c, const char *arg)
{
	switch (c) {
	case 'f':
		cmd->foreground = true;
		return 0;
	case 'k':
		if (gnu_timeout_duration(arg, &cmd->kill_after_ms) < 0) {
			return refuse(cmd, GNU_TIMEOUT_BAD_INTERVAL, arg);
		}
		return 0;
	case 'p':
		cmd->preserve_status = true;
		return 0;
	case 's':
		if (gnu_timeout_signal(arg, &cmd->signal) < 0) {
			return refuse(cmd, GNU_TIMEOUT_BAD_SIGNAL, arg);
		}
		return 0;
	case 'v':
		cmd->verbose = true;
		return 0;
	case 'h':
		cmd->action = GNU_TIMEOUT_HELP;
		return 0;
	case 'V':
		cmd->action = GNU_TIMEOUT_VERSION;
		return 0;
	default:
		return refuse(cmd, GNU_TIMEOUT_BAD_USAGE, NULL);
	}
}

/* Parse a `timeout` command line. */
int
gnu_timeout_parse(int argc, char **argv, struct gnu_timeout_cmd *cmd)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "kill-after", required_argument, NULL, 'k' },
		{ "preserve-status", no_argument, NULL, 'p' },
		{ "signal", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*cmd = (struct gnu_timeout_cmd){ .signal = SIGTERM };
	/* As GNU's: getopt_long() says what is wrong with an option. */
	opterr = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+fk:ps:v", longopts, NULL)) !=
	       -1) {
		if (take_option(cmd, c, optarg) < 0) {
			return -1;
		}
		/* GNU's usage() exits at once: later options go unread. */
		if (cmd->action != GNU_TIMEOUT_RUN) {
			return 1;
		}
	}
	if (argc - optind < 2) {
		return refuse(cmd, GNU_TIMEOUT_BAD_USAGE, NULL);
	}
	if (gnu_timeout_duration(argv[optind], &cmd->timeout_ms) < 0) {
		return refuse(cmd, GNU_TIMEOUT_BAD_INTERVAL, argv[optind]);
	}
	cmd->argv = argv + optind + 1;
	return 0;
}

/* Say what is wrong with the command line of PROG (see CMD); 125. */
static int
usage_error(const char *prog, const struct gnu_timeout_cmd *cmd)
{
	if (cmd->error == GNU_TIMEOUT_BAD_INTERVAL) {
		say(prog, "invalid time interval %s", cmd->bad);
	} else if (cmd->error == GNU_TIMEOUT_BAD_SIGNAL) {
		say(prog, "%s: invalid signal", cmd->bad);
	}
	return try_help(prog);
}

/*
 * The signals ctxrun was started with ignored, which GNU timeout leaves
 * ignored in itself and in the command: a SIGPIPE ignored around
 * `timeout 10 yes | :` must reach `yes` as an EPIPE. Not those GNU's
 * timeout handles whatever their state (SIGALRM, the one -s names,
 * SIGCHLD) nor SIGTTIN and SIGTTOU, which it resets for the command.
 */
static void
ignored_at_start(sigset_t *set, int stop_signal)
{
	sigemptyset(set);
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		struct sigaction sa;

		if (sig == SIGALRM || sig == stop_signal || sig == SIGCHLD ||
		    sig == SIGTTIN || sig == SIGTTOU || sig == SIGKILL ||
		    sig == SIGSTOP) {
			continue;
		}
		if (!sigaction(sig, NULL, &sa) && sa.sa_handler == SIG_IGN) {
			sigaddset(set, sig);
		}
	}
}

/* Run CMD's command under PROG's name, GNU timeout's way. */
static int
run_timeout(const char *prog, const struct gnu_timeout_cmd *cmd)
{
	const char *base = strrchr(cmd->argv[0], '/');
	struct run_gnu gnu = {
		.words = { .prog = prog, .command = cmd->argv[0],
			   .verbose = cmd->verbose },
	};
	struct run_opts o = {
		.verbosity = VERBOSITY_QUIET,
		.alone = true,
		.foreground = cmd->foreground,
		.preserve_status = cmd->preserve_status,
		.timeout_given = true,
		.output = OUTPUT_RAW,
		.gnu = &gnu,
	};
	const char *cgroup = getenv("CTXRUN_CGROUP");
	struct spec *s;
	struct spec_job *j;
	size_t argc = 0;
	int status;

	/* How the tests choose the containment, as for ctxrun's own. */
	if (cgroup && *cgroup && run_cgroup_parse(cgroup, &o.cgroup) < 0) {
		fprintf(stderr, "%s: invalid CTXRUN_CGROUP '%s': expected "
				"auto, on or off\n",
			prog, cgroup);
		return EXIT_CANCELED;
	}
	ignored_at_start(&gnu.ignored, cmd->signal);
	s = spec_new("command line");
	s->timeout_ms = cmd->timeout_ms;
	s->stop_signal = cmd->signal;
	s->grace_ms = cmd->kill_after_ms ? cmd->kill_after_ms
					 : DURATION_FOREVER;
	j = spec_add_job(s, base && base[1] ? base + 1 : cmd->argv[0]);
	while (cmd->argv[argc]) {
		argc++;
	}
	j->argv = xcalloc(argc + 1, sizeof(*j->argv));
	for (size_t i = 0; i < argc; i++) {
		j->argv[i] = xstrdup(cmd->argv[i]);
	}
	j->stop_signal = s->stop_signal;
	j->grace_ms = s->grace_ms;
	/* run() may not return: it dies by the command's signal. */
	status = run(s, &o);
	spec_free(s);
	return status;
}

/* Run ctxrun as GNU timeout. */
int
gnu_timeout_main(int argc, char **argv)
{
	const char *prog = argv[0];
	struct gnu_timeout_cmd cmd;
	int rc = gnu_timeout_parse(argc, argv, &cmd);

	if (rc < 0) {
		return usage_error(prog, &cmd);
	}
	if (rc > 0) {
		if (cmd.action == GNU_TIMEOUT_HELP) {
			usage(prog);
		} else {
			puts("timeout (ctxrun) " CTXRUN_VERSION);
		}
		return cli_close_stdout(prog) == 0 ? 0 : EXIT_CANCELED;
	}
	return run_timeout(prog, &cmd);
}
