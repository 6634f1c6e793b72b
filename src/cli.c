/* SPDX-License-Identifier: MIT */
#include "ctxrun/cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/config.h"
#include "ctxrun/duration.h"
#include "ctxrun/escape.h"
#include "ctxrun/exit.h"
#include "ctxrun/remote.h"
#include "ctxrun/report.h"
#include "ctxrun/run.h"
#include "ctxrun/signame.h"
#include "ctxrun/spec.h"
#include "ctxrun/util.h"

/*
 * Three ways to run (ctxrun(1), DESCRIPTION): `-- COMMAND` runs one command exec'd
 * directly, GNU timeout style; `-c CMD...` runs an ad-hoc group; otherwise
 * a pipeline file. Options given on the command line win over the file's
 * [pipeline] keys. Every usage or configuration error is one message, exit
 * 125, and nothing runs.
 */

#define DEFAULT_FILE "ctxrun.ini"

/* A --service and its --ready (NULL: none); both borrowed from argv. */
struct cli_service {
	const char *command;
	const char *ready;
};

struct cli_opts {
	struct run_opts run;
	int64_t timeout_ms, grace_ms;
	int stop_signal;
	bool grace_set, signal_set, jobs_set, output_set, failure_lines_set;
	int jobs_limit;
	int failure_lines;
	bool keep_going;
	bool check;
	const char *file;
	const char *names;
	char **commands; /* -c, in order */
	size_t n_commands;
	struct cli_service *services; /* --service, in order */
	size_t n_services;
	char **positional; /* JOB... or, after --, COMMAND */
	size_t n_positional;
	bool dashdash;
	const char *host;  /* --host */
	/* Only with --remote (remote.h): */
	const char *job_name;
	const char *directory;
	char **env;        /* --env, in order, NULL-terminated */
	size_t n_env;
	double sent_at;    /* --sent: when -t's time was measured; 0: unsaid */
};

/* Long options without a short one. */
enum {
	OPT_HOST = 256,
	OPT_JOB,
	OPT_DIRECTORY,
	OPT_ENV,
	OPT_SENT,
};

/* Print the usage summary to OUT. */
static void
usage(FILE *out)
{
	fputs("usage: ctxrun [OPTIONS] -- COMMAND [ARG...]\n"
	      "       ctxrun [OPTIONS] -c CMD [-c CMD...]\n"
	      "       ctxrun [OPTIONS] [-f FILE] [JOB...]\n"
	      "Run commands under a deadline as one cancellable group; stop\n"
	      "every process they started on timeout, failure or interruption.\n"
	      "\n"
	      "  -t, --timeout DUR      deadline for the whole run (default: none)\n"
	      "  -g, --grace DUR        stop signal to SIGKILL (default 10s);\n"
	      "      --kill-after DUR   same as --grace\n"
	      "  -s, --signal SIG       stop signal (default TERM)\n"
	      "  -c CMD                 run CMD with the shell, as one job of a group\n"
	      "  -n, --names LIST       comma-separated names for the -c jobs\n"
	      "      --service CMD      run CMD as a service every -c job needs\n"
	      "      --ready PROBE      the last --service is ready when PROBE\n"
	      "                         succeeds: exec:CMD, tcp:HOST:PORT,\n"
	      "                         http://HOST:PORT/PATH, log:REGEX, notify\n"
	      "  -f, --file FILE        pipeline file (default ./ctxrun.ini; - reads stdin)\n"
	      "  -j, --jobs N           at most N jobs at once (default: no limit)\n"
	      "  -k, --keep-going       a failure does not cancel the other jobs\n"
	      "  -o, --output MODE      prefixed, grouped or raw (default: raw for\n"
	      "                         one command, prefixed otherwise)\n"
	      "      --color WHEN       auto (default), always or never\n"
	      "      --progress MODE    auto (default), tty: a live status region\n"
	      "                         on the terminal; plain: none\n"
	      "      --timestamps       the run's elapsed time before each job line\n"
	      "      --log-dir DIR      each job's output also to DIR/NAME.log\n"
	      "      --failure-lines N  failed jobs' last N lines after the\n"
	      "                         summary (default 20; 0: none)\n"
	      "      --check            validate and print the plan; run nothing\n"
	      "      --preserve-status  on timeout, exit with the job's status\n"
	      "      --foreground       one command: stay in ctxrun's process group\n"
	      "      --events FILE      write lifecycle events to FILE as JSON Lines\n"
	      "      --junit FILE       write a JUnit XML report to FILE at the end\n"
	      "      --cgroup MODE      a cgroup v2 per job: auto (default), on, off\n"
	      "      --host HOST        run the command or the -c jobs on\n"
	      "                         [user@]name[:port] through ssh\n"
	      "  -v, --verbose          report the whole lifecycle on stderr\n"
	      "  -q, --quiet            print no messages of ctxrun's own\n"
	      "  -h, --help             show this help and exit\n"
	      "  -V, --version          show the version and exit\n"
	      "\n"
	      "DUR is a number of seconds (0.5) or has units ms s m h d (1m30s).\n"
	      "Exit status: the first failing job's; 124 on timeout; 125 ctxrun\n"
	      "failed; 126 COMMAND cannot run; 127 COMMAND not found.\n"
	      "See ctxrun(1) and ctxrun.ini(5).\n",
	      out);
}

/* Print a usage error with the help hint; return -1. */
static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ctxrun: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'ctxrun --help' for more information.\n", stderr);
	return -1;
}

/* Close standard output before exiting; -1 after saying it failed. */
int
cli_close_stdout(const char *prog)
{
	bool failed = ferror(stdout);
	int errnum = errno;

	if (fclose(stdout) != 0) {
		failed = true;
		errnum = errno;
	}
	if (!failed) {
		return 0;
	}
	fprintf(stderr, "%s: write error: %s\n", prog, strerror(errnum));
	return -1;
}

/* Parse the duration ARG of option NAME into *MS. */
static int
parse_duration_opt(const char *name, const char *arg, int64_t *ms)
{
	struct err e;

	if (duration_parse(arg, ms, &e) < 0) {
		return usage_error("invalid %s '%s': %s", name, arg, e.msg);
	}
	return 0;
}

/* Parse the number ARG of option NAME, 0 to MAX, into *N. */
static int
parse_number_opt(const char *name, const char *arg, long max, int *n)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (!*arg || *end || arg[0] == '-' || arg[0] == '+' || v > max) {
		return usage_error("invalid %s '%s': expected a number from 0 "
				   "%sto %ld",
				   name, arg, max == 100000 ? "(no limit) " : "",
				   max);
	}
	*n = (int)v;
	return 0;
}

/* Parse the --cgroup mode ARG (named NAME in errors) into *MODE. */
static int
parse_cgroup_opt(const char *name, const char *arg, enum run_cgroup *mode)
{
	if (run_cgroup_parse(arg, mode) < 0) {
		return usage_error("invalid %s '%s': expected auto, on or off",
				   name, arg);
	}
	return 0;
}

/* Handle C, an option of --remote's only, with argument ARG. */
static int
take_remote_option(struct cli_opts *o, int c, const char *arg, char **argv)
{
	static const char *const names[] = { "--job", "--directory", "--env",
					     "--sent" };
	char *end;

	(void)argv;
	if (!o->run.remote) {
		return usage_error("unknown option '%s'", names[c - OPT_JOB]);
	}
	if (c == OPT_SENT) {
		o->sent_at = strtod(arg, &end);
		if (*end || !(o->sent_at > 0)) {
			return usage_error("invalid --sent '%s'", arg);
		}
	} else if (c == OPT_JOB) {
		o->job_name = arg;
	} else if (c == OPT_DIRECTORY) {
		o->directory = arg;
	} else if (!strchr(arg, '=') || arg[0] == '=') {
		return usage_error("invalid --env '%s': expected NAME=VALUE", arg);
	} else {
		o->env = xrealloc(o->env, (o->n_env + 2) * sizeof(*o->env));
		o->env[o->n_env++] = (char *)arg;
		o->env[o->n_env] = NULL;
	}
	return 0;
}

/* Handle one option C with argument ARG; -1 on a usage error. */
static int
take_option(struct cli_opts *o, int c, const char *arg, char **argv)
{
	struct err e;

	switch (c) {
	case 't':
		o->run.timeout_given = true;
		return parse_duration_opt("--timeout", arg, &o->timeout_ms);
	case 'g':
	case 'K':
		o->grace_set = true;
		return parse_duration_opt(c == 'g' ? "--grace" : "--kill-after", arg,
					  &o->grace_ms);
	case 's':
		o->signal_set = true;
		if (signame_parse(arg, &o->stop_signal, &e) < 0) {
			return usage_error("invalid --signal '%s': %s", arg, e.msg);
		}
		return 0;
	case 'j':
		o->jobs_set = true;
		return parse_number_opt("--jobs", arg, 100000, &o->jobs_limit);
	case 'c':
		o->commands = xrealloc(o->commands,
				       (o->n_commands + 1) * sizeof(*o->commands));
		o->commands[o->n_commands++] = (char *)arg;
		return 0;
	case 'n':
		o->names = arg;
		return 0;
	case 'S':
		o->services = xrealloc(o->services, (o->n_services + 1) *
							    sizeof(*o->services));
		o->services[o->n_services++] = (struct cli_service){ arg, NULL };
		return 0;
	case 'R':
		if (!o->n_services || o->services[o->n_services - 1].ready) {
			return usage_error(o->n_services
						   ? "a second --ready for one "
						     "--service ('%s')"
						   : "--ready '%s' needs a "
						     "--service before it",
					   arg);
		}
		o->services[o->n_services - 1].ready = arg;
		return 0;
	case 'f':
		o->file = arg;
		return 0;
	case 'k':
		o->keep_going = true;
		return 0;
	case 'o':
		o->output_set = true;
		if (output_mode_parse(arg, &o->run.output) < 0) {
			return usage_error("invalid --output '%s': expected prefixed, "
					   "grouped or raw",
					   arg);
		}
		return 0;
	case 'L':
		if (output_colour_parse(arg, &o->run.colour) < 0) {
			return usage_error("invalid --color '%s': expected auto, "
					   "always or never",
					   arg);
		}
		return 0;
	case 'P':
		o->run.preserve_status = true;
		return 0;
	case 'T':
		o->run.timestamps = true;
		return 0;
	case 'W':
		if (live_progress_parse(arg, &o->run.progress) < 0) {
			return usage_error("invalid --progress '%s': expected "
					   "auto, tty or plain",
					   arg);
		}
		return 0;
	case 'N':
		o->failure_lines_set = true;
		return parse_number_opt("--failure-lines", arg,
					SPEC_FAILURE_LINES_MAX,
					&o->failure_lines);
	case 'D':
		if (!*arg) {
			return usage_error("invalid --log-dir '': expected a "
					   "directory");
		}
		o->run.log_dir = arg;
		return 0;
	case 'F':
		o->run.foreground = true;
		return 0;
	case 'C':
		o->check = true;
		return 0;
	case 'E':
		o->run.events_path = arg;
		return 0;
	case 'J':
		o->run.junit_path = arg;
		return 0;
	case 'G':
		return parse_cgroup_opt("--cgroup", arg, &o->run.cgroup);
	case OPT_HOST:
		if (remote_host_check(arg, &e) < 0) {
			return usage_error("invalid --host: %s", e.msg);
		}
		o->host = arg;
		return 0;
	case OPT_JOB:
	case OPT_DIRECTORY:
	case OPT_ENV:
	case OPT_SENT:
		return take_remote_option(o, c, arg, argv);
	case 'v':
		o->run.verbosity = VERBOSITY_VERBOSE;
		return 0;
	case 'q':
		o->run.verbosity = VERBOSITY_QUIET;
		return 0;
	case ':':
		return usage_error("option '%s' needs a value", argv[optind - 1]);
	default:
		if (optopt) {
			return usage_error("unknown option '-%c'", optopt);
		}
		return usage_error("unknown option '%s'", argv[optind - 1]);
	}
}

/* Parse ARGV into O. Returns 0 to run, -1 after a usage error, 1 when done. */
static int
parse_args(int argc, char **argv, struct cli_opts *o)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "grace", required_argument, NULL, 'g' },
		{ "kill-after", required_argument, NULL, 'K' },
		{ "signal", required_argument, NULL, 's' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "color", required_argument, NULL, 'L' },
		{ "colour", required_argument, NULL, 'L' },
		{ "names", required_argument, NULL, 'n' },
		{ "service", required_argument, NULL, 'S' },
		{ "ready", required_argument, NULL, 'R' },
		{ "file", required_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'C' },
		{ "preserve-status", no_argument, NULL, 'P' },
		{ "timestamps", no_argument, NULL, 'T' },
		{ "progress", required_argument, NULL, 'W' },
		{ "log-dir", required_argument, NULL, 'D' },
		{ "failure-lines", required_argument, NULL, 'N' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "events", required_argument, NULL, 'E' },
		{ "junit", required_argument, NULL, 'J' },
		{ "cgroup", required_argument, NULL, 'G' },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "job", required_argument, NULL, OPT_JOB },
		{ "directory", required_argument, NULL, OPT_DIRECTORY },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "sent", required_argument, NULL, OPT_SENT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:t:g:s:j:kc:n:f:o:vqhV", longopts,
				NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == 'V') {
			puts("ctxrun " CTXRUN_VERSION);
			return 1;
		}
		if (take_option(o, c, optarg, argv) < 0) {
			return -1;
		}
	}
	o->dashdash = optind > 1 && !strcmp(argv[optind - 1], "--");
	o->positional = argv + optind;
	o->n_positional = (size_t)(argc - optind);
	return 0;
}

/* Check that the options fit one-command mode. */
static int
check_command_mode(const struct cli_opts *o)
{
	if (!o->n_positional) {
		return usage_error("missing command (usage: ctxrun [OPTIONS] -- "
				   "COMMAND [ARG...])");
	}
	if (o->n_commands || o->file || o->check || o->names ||
	    o->n_services) {
		return usage_error("'-- COMMAND' cannot be combined with %s",
				   o->n_commands   ? "-c"
				   : o->file	   ? "-f"
				   : o->check	   ? "--check"
				   : o->n_services ? "--service"
						   : "-n");
	}
	return 0;
}

/*
 * Name a -c job after the first word of CMD, made unique among S's jobs.
 * NEXT[i] is the next "#N" to try for the name of job i, so a thousand
 * jobs of one command are named in linear time.
 */
static char *
default_name(const struct spec *s, const char *cmd, int *next)
{
	size_t len = strcspn(cmd += strspn(cmd, " \t\n"), " \t\n;&|()<>");
	char base[128];
	char *name;
	const char *slash;
	long first;
	int n;

	snprintf(base, sizeof(base), "%.*s", (int)len, cmd);
	slash = strrchr(base, '/');
	if (slash && slash[1]) {
		memmove(base, slash + 1, strlen(slash));
	}
	if (!base[0]) {
		snprintf(base, sizeof(base), "job");
	}
	first = spec_find(s, base);
	if (first < 0) {
		return xstrdup(base);
	}
	n = next[first] > 2 ? next[first] : 2;
	for (name = xasprintf("%s#%d", base, n); spec_find(s, name) >= 0;
	     name = xasprintf("%s#%d", base, ++n)) {
		free(name);
	}
	next[first] = n + 1;
	return name;
}

/*
 * Add O's --service jobs to S, each named after its command and ready by
 * its --ready, with NEXT as default_name() wants it; -1 after a usage
 * error.
 */
static int
add_services(struct spec *s, const struct cli_opts *o, int *next)
{
	struct err e;

	for (size_t i = 0; i < o->n_services; i++) {
		char *name = default_name(s, o->services[i].command, next);
		struct spec_job *j = spec_add_job(s, name);

		free(name);
		j->command = xstrdup(o->services[i].command);
		j->role = SPEC_SERVICE;
		if (o->services[i].ready &&
		    probedef_parse(&j->ready, o->services[i].ready, &e) < 0) {
			return usage_error("invalid --ready: %s", e.msg);
		}
	}
	return 0;
}

/* Make job J need every one of the first N jobs of S (the services). */
static void
need_services(struct spec_job *j, size_t n)
{
	j->needs = n ? xcalloc(n, sizeof(*j->needs)) : NULL;
	for (size_t k = 0; k < n; k++) {
		j->needs[k] = k;
	}
	j->n_needs = n;
}

/*
 * Build the spec of an ad-hoc group from O's --service and -c commands
 * and -n names: services first, every -c job needing every one.
 */
static struct spec *
spec_from_commands(const struct cli_opts *o)
{
	struct spec *s = spec_new("command line");
	char *names = o->names ? xstrdup(o->names) : NULL;
	char *cursor = names;
	int *next = xcalloc(o->n_commands + o->n_services, sizeof(*next));

	if (add_services(s, o, next) < 0) {
		free(names);
		free(next);
		spec_free(s);
		return NULL;
	}
	for (size_t i = 0; i < o->n_commands; i++) {
		char *given = cursor ? strsep(&cursor, ",") : NULL;
		char *name = given && *given ? xstrdup(given)
					     : default_name(s, o->commands[i], next);
		/* As a [job:NAME] header of a file would have it. */
		bool blank = name[strcspn(name, " \t\n\r\v\f")];

		if (blank || spec_find(s, name) >= 0) {
			usage_error(blank ? "bad job name '%s' in --names "
					    "(no blanks or commas)"
					  : "duplicate job name '%s' in "
					    "--names",
				    name);
			free(name);
			free(names);
			free(next);
			spec_free(s);
			return NULL;
		}
		need_services(spec_add_job(s, name), o->n_services);
		s->jobs[s->n_jobs - 1].command = xstrdup(o->commands[i]);
		free(name);
	}
	if (cursor) {
		usage_error("more --names than -c commands ('%s' has no command)",
			    cursor);
		spec_free(s);
		s = NULL;
	}
	free(names);
	free(next);
	return s;
}

/* Read the pipeline file of O; print every error. */
static struct spec *
spec_from_file(const struct cli_opts *o)
{
	struct config_errors errs = { 0 };
	const char *path = o->file ? o->file : DEFAULT_FILE;
	struct spec *s;

	if (!o->file && access(DEFAULT_FILE, F_OK) < 0 && errno == ENOENT) {
		usage_error("missing command, and no %s here (usage: ctxrun "
			    "[OPTIONS] -- COMMAND, -c CMD or -f FILE)",
			    DEFAULT_FILE);
		return NULL;
	}
	s = config_parse_file(path, &errs);
	for (size_t i = 0; i < errs.n; i++) {
		/* They quote section names, the file's bytes: escape them. */
		char *msg = escape_term_dup(errs.msgs[i]);

		fprintf(stderr, "ctxrun: %s\n", msg);
		free(msg);
	}
	config_errors_release(&errs);
	return s;
}

/* Keep only the jobs named on the command line, and what they need. */
static int
select_jobs(struct spec *s, const struct cli_opts *o)
{
	const char **names;
	int rc = 0;

	if (!o->n_positional) {
		return 0;
	}
	names = xcalloc(s->n_jobs, sizeof(*names));
	for (size_t i = 0; i < s->n_jobs; i++) {
		names[i] = s->jobs[i].name;
	}
	for (size_t i = 0; i < o->n_positional && rc == 0; i++) {
		const char *want = o->positional[i];
		const char *hint;

		if (want[0] == '-') {
			rc = usage_error("options go before job names ('%s')", want);
		} else if (spec_find(s, want) < 0) {
			hint = config_suggest(want, names, s->n_jobs);
			fprintf(stderr, "ctxrun: %s: unknown job \"%s\" on the command line%s%s%s\n",
				s->file, want, hint ? " (did you mean \"" : "",
				hint ? hint : "", hint ? "\"?)" : "");
			rc = -1;
		}
	}
	free(names);
	if (rc == 0) {
		spec_select(s, o->positional, o->n_positional);
	}
	return rc;
}

/* Command-line options win over the file's [pipeline] keys. */
static void
apply_overrides(struct spec *s, const struct cli_opts *o)
{
	if (o->run.timeout_given) {
		s->timeout_ms = o->timeout_ms;
	}
	if (o->jobs_set) {
		s->jobs_limit = o->jobs_limit;
	}
	if (o->keep_going) {
		s->fail_fast = false;
	}
	if (o->failure_lines_set) {
		s->failure_lines = o->failure_lines;
	}
	for (size_t i = 0; i < s->n_jobs; i++) {
		struct spec_job *j = &s->jobs[i];

		if (o->grace_set && !j->grace_set) {
			j->grace_ms = o->grace_ms;
		}
		if (o->signal_set && !j->signal_set) {
			j->stop_signal = o->stop_signal;
		}
	}
	if (o->grace_set) {
		s->grace_ms = o->grace_ms;
	}
	if (o->signal_set) {
		s->stop_signal = o->stop_signal;
	}
}

/*
 * Run S with O's options; -1 after a usage error. Log files need the
 * jobs' output to pass through ctxrun: not with raw output.
 */
static int
run_spec(struct cli_opts *o, const struct spec *s)
{
	if (!o->run.log_dir) {
		o->run.log_dir = s->log_dir;
	}
	o->run.failure_lines = s->failure_lines;
	if (o->run.log_dir && o->run.output == OUTPUT_RAW) {
		return usage_error("--log-dir needs the output of the jobs: "
				   "-o prefixed or -o grouped, not raw");
	}
	/* run() may not return: it re-raises an interruption. */
	return run(s, &o->run);
}

/*
 * Remote jobs (ctxrun(1), REMOTE JOBS): --host puts every job of S on
 * that host, and CTXRUN_SSH and CTXRUN_REMOTE_CTXRUN win over the file's
 * ssh_command and remote_ctxrun, as GIT_SSH_COMMAND does over git's.
 */
static void
apply_remote(struct spec *s, const struct cli_opts *o)
{
	const char *ssh = getenv("CTXRUN_SSH");
	const char *ctxrun = getenv("CTXRUN_REMOTE_CTXRUN");

	for (size_t i = 0; o->host && i < s->n_jobs; i++) {
		free(s->jobs[i].host);
		s->jobs[i].host = xstrdup(o->host);
	}
	if (ssh && *ssh) {
		free(s->ssh_command);
		s->ssh_command = xstrdup(ssh);
	}
	if (ctxrun && *ctxrun) {
		free(s->remote_ctxrun);
		s->remote_ctxrun = xstrdup(ctxrun);
	}
}

/* Basename of PATH, borrowed from it. */
static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/*
 * Run O's one command: a pipeline of one job named after the command's
 * base name, exec'd directly, with its own manners (run_opts.alone).
 */
static int
run_command(struct cli_opts *o)
{
	struct spec *s;
	struct spec_job *j;
	size_t argc = o->n_positional;
	int status;

	if (check_command_mode(o) < 0) {
		return EXIT_CANCELED;
	}
	s = spec_new("command line");
	j = spec_add_job(s, o->job_name ? o->job_name
					: base_name(o->positional[0]));
	j->argv = xcalloc(argc + 1, sizeof(*j->argv));
	for (size_t i = 0; i < argc; i++) {
		j->argv[i] = xstrdup(o->positional[i]);
	}
	j->directory = o->directory ? xstrdup(o->directory) : NULL;
	for (size_t i = 0; i < o->n_env; i++) {
		j->env = xrealloc(j->env, (i + 2) * sizeof(*j->env));
		j->env[i] = xstrdup(o->env[i]);
		j->env[i + 1] = NULL;
	}
	j->n_env = o->n_env;
	o->grace_set = o->signal_set = true;
	o->run.remote_sent_at = o->sent_at;
	apply_overrides(s, o);
	apply_remote(s, o);
	o->run.alone = true;
	o->run.output = o->output_set ? o->run.output : OUTPUT_RAW;
	status = run_spec(o, s);
	spec_free(s);
	return status < 0 ? EXIT_CANCELED : status;
}

/*
 * A log: probe reads its service's output, which -o raw leaves to the
 * terminal: refuse the combination before anything runs; -1 if found.
 */
static int
check_log_probes(const struct spec *s, enum output_mode mode)
{
	for (size_t i = 0; mode == OUTPUT_RAW && i < s->n_jobs; i++) {
		if (s->jobs[i].ready.kind == PROBE_LOG) {
			return usage_error("-o raw leaves no output for the "
					   "probe of '%s' to read (%s)",
					   s->jobs[i].name,
					   s->jobs[i].ready.text);
		}
	}
	return 0;
}

/* Run a group of -c commands or a pipeline file. */
static int
run_many(struct cli_opts *o)
{
	struct spec *s;
	int status;

	if (o->run.foreground) {
		return usage_error("--foreground works with '-- COMMAND' only");
	}
	if ((o->n_commands || o->n_services) && (o->file || o->n_positional)) {
		const char *what = o->n_commands ? "-c" : "--service";

		if (o->file) {
			return usage_error("%s cannot be combined with -f", what);
		}
		return usage_error("unexpected '%s' after %s commands",
				   o->positional[0], what);
	}
	if (o->names && !o->n_commands) {
		return usage_error("--names needs -c commands");
	}
	if (o->host && o->n_services) {
		return usage_error("--host with --service: a service runs "
				   "here, where its probe looks");
	}
	if (o->host && !o->n_commands) {
		return usage_error("--host works with -c or '-- COMMAND' (a file "
				   "says host = for each job)");
	}
	s = o->n_commands || o->n_services ? spec_from_commands(o)
					   : spec_from_file(o);
	if (!s || select_jobs(s, o) < 0) {
		spec_free(s);
		return -1;
	}
	apply_overrides(s, o);
	apply_remote(s, o);
	if (o->check) {
		report_plan(stdout, s);
		spec_free(s);
		return cli_close_stdout("ctxrun");
	}
	o->run.output = o->output_set ? o->run.output : OUTPUT_PREFIXED;
	if (check_log_probes(s, o->run.output) < 0) {
		spec_free(s);
		return -1;
	}
	status = run_spec(o, s);
	spec_free(s);
	return status;
}

/*
 * The far side of a remote job: ARGV with its `--remote` taken out and
 * the words after it decoded (remote.h), in a new array whose words are
 * ARGV's; NULL after saying which word is not an encoded one.
 */
static char **
remote_args(int argc, char **argv)
{
	char **v = xcalloc((size_t)argc, sizeof(*v));

	v[0] = argv[0];
	for (int i = 2; i < argc; i++) {
		v[i - 1] = argv[i];
		if (remote_decode(argv[i]) < 0) {
			usage_error("--remote: bad word '%s'", argv[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

/* Free what parsing the arguments allocated in O (its words are argv's). */
static void
cli_opts_release(struct cli_opts *o)
{
	free(o->commands);
	free(o->services);
	free(o->env);
}

/* Run ctxrun. */
int
cli_main(int argc, char **argv)
{
	struct cli_opts o = {
		.run = { .verbosity = VERBOSITY_NORMAL },
		.grace_ms = SPEC_DEFAULT_GRACE_MS,
		.stop_signal = SIGTERM,
	};
	const char *cgroup = getenv("CTXRUN_CGROUP");
	int rc = cgroup && *cgroup ? parse_cgroup_opt("CTXRUN_CGROUP", cgroup,
						       &o.run.cgroup)
				   : 0;
	char **decoded = NULL;

	if (rc == 0 && argc > 1 && !strcmp(argv[1], "--remote")) {
		decoded = remote_args(argc, argv);
		rc = decoded ? 0 : -1;
		o.run.remote = true;
		argc--;
		argv = decoded;
	}
	rc = rc < 0 ? rc : parse_args(argc, argv, &o);
	if (rc == 0 && o.run.remote && !o.dashdash) {
		rc = usage_error("--remote runs one command (-- COMMAND)");
	}
	if (rc != 0) {
		/* --help or --version: printed, if standard output took it. */
		rc = rc > 0 && cli_close_stdout("ctxrun") == 0 ? 0
								: EXIT_CANCELED;
	} else if (o.dashdash) {
		rc = run_command(&o);
	} else if (!o.n_commands && !o.file && o.n_positional &&
		   access(DEFAULT_FILE, F_OK) < 0) {
		rc = usage_error("missing '--' before '%s' (usage: ctxrun "
				 "[OPTIONS] -- COMMAND [ARG...])",
				 o.positional[0]);
	} else {
		rc = run_many(&o);
	}
	/* The one way out: what is freed here is freed after every run. */
	cli_opts_release(&o);
	free(decoded);
	return rc < 0 ? EXIT_CANCELED : rc;
}
