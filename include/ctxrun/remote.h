/* SPDX-License-Identifier: MIT */
#ifndef CTXRUN_REMOTE_H
#define CTXRUN_REMOTE_H

/*
 * A remote job's words on the wire (ctxrun(1), REMOTE JOBS): the local
 * side runs `ssh -o BatchMode=yes HOST ctxrun --remote WORD...`, and the
 * ctxrun on the far side decodes the words back into a one-command run.
 * Pure: no loop, no process; job.h spawns the argv, cli.h decodes it.
 *
 * OpenSSH joins the command words with blanks and hands the line to the
 * remote user's login shell, which may be sh, bash, zsh, csh or fish.
 * Rather than quote for a shell we cannot know, every word after
 * `--remote` is encoded with only characters no shell treats specially:
 * a byte outside [A-Za-z0-9_./:=,+@-] becomes %XX, and an empty word is
 * a lone %. The far side undoes it with remote_decode().
 *
 * The words are an ordinary one-command line of ctxrun's, with options
 * only --remote takes: --job NAME (CTXRUN_JOB), --directory DIR, --env
 * NAME=VALUE (repeated), --sent TIME. The deadline goes as the time
 * remaining, never as a time of day: the two clocks may differ. The time
 * it was measured at goes along, only so the far side can take the time
 * the connection took off it when the two clocks agree that it was short
 * (remote_clocks_agree()): the far deadline is then never the later one.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ctxrun/err.h"

/* The ssh program when neither CTXRUN_SSH nor ssh_command names one. */
#define REMOTE_DEFAULT_SSH "ssh"
/* The far side's ctxrun when CTXRUN_REMOTE_CTXRUN and remote_ctxrun do not
 * name one: found in the remote user's PATH. */
#define REMOTE_DEFAULT_CTXRUN "ctxrun"
/* How long after the grace the local ssh gets SIGKILL: time for the far
 * side to stop its tree and say so (ctxrun(1), REMOTE JOBS). */
#define REMOTE_MARGIN_MS 2000

/* Where and how to run one remote job; all borrowed for the call. */
struct remote_opts {
	const char *ssh_command; /* program and options, split at blanks;
				    NULL: REMOTE_DEFAULT_SSH */
	const char *ctxrun;      /* the far side's; NULL: the default */
	const char *host;        /* [user@]name[:port], remote_host_check()ed */
	const char *name;        /* CTXRUN_JOB there */
	char *const *argv;       /* the command, exec'd there */
	char *const *env_add;    /* "NAME=VALUE", NULL-terminated, or NULL */
	const char *cwd;         /* NULL: the remote user's home */
	int64_t timeout_ms;      /* time remaining; 0: no deadline */
	double sent_at;          /* Unix time when timeout_ms was measured */
	int64_t grace_ms;
	int stop_signal;
};

/*
 * Check HOST as `[user@]name[:port]`: a name without blanks or a leading
 * '-', a port from 1 to 65535. 0, or -1 with E saying what is wrong.
 */
int remote_host_check(const char *host, struct err *e);

/*
 * The argv that runs O's job: the ssh command's words, `-o BatchMode=yes`
 * (after the user's options, so theirs win: ssh takes the first value),
 * `-p PORT` when HOST has one, `--`, `[user@]name`, and the remote command
 * line as one word. The caller frees it with remote_argv_free().
 */
char **remote_argv(const struct remote_opts *o);
void remote_argv_free(char **argv);

/* Longest connection time the far side believes of the two clocks. */
#define REMOTE_TRANSIT_MAX_MS 10000

/*
 * Do the clocks agree that SENT_AT, the local time the deadline was
 * measured at, is 0 to REMOTE_TRANSIT_MAX_MS before NOW, the far side's
 * time (both Unix times)? Then the far deadline counts from SENT_AT and
 * is never later than the local one; else from NOW (the clocks disagree:
 * the connection's time is not known).
 */
bool remote_clocks_agree(double sent_at, double now);

/* WORD encoded as above; the caller frees it. */
char *remote_encode(const char *word);

/*
 * Decode WORD in place; 0, or -1 when it is not an encoded word (a %
 * without two hex digits, a byte that would have been encoded, %00).
 */
int remote_decode(char *word);

#endif
