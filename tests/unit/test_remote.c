/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxrun/remote.h"
#include "ctxrun/util.h"

TestSuite(remote, .timeout = 10);

/* Words that break naive quoting: quotes, $, newlines, blanks, %, empty. */
static const char *const torture[] = {
	"plain", "two words", "it's", "say \"hi\"", "$HOME", "`id`", "$(id)",
	"a\nb", "tab\there", "100%", "%41", "", "back\\slash", "*?[a]",
	"~", "#not a comment", ";&|<>", "caf\xc3\xa9", "-n", "--", "!x",
};

/* Encode WORD, check the result is shell-inert, and decode it back. */
static void
round_trip(const char *word)
{
	char *enc = remote_encode(word);

	cr_assert(*enc, "'%s' encoded to nothing", word);
	cr_assert_eq(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				 "qrstuvwxyz0123456789_./:=,+@-%"),
		     strlen(enc), "'%s' encoded to '%s'", word, enc);
	cr_assert_eq(remote_decode(enc), 0, "'%s' does not decode", enc);
	cr_assert_str_eq(enc, word);
	free(enc);
}

Test(remote, encoding_round_trips_every_torture_word)
{
	for (size_t i = 0; i < ARRAY_SIZE(torture); i++) {
		round_trip(torture[i]);
	}
}

Test(remote, readable_words_stay_as_they_are)
{
	char *enc = remote_encode("--job=build-1.2_x:y@h,z+");

	cr_assert_str_eq(enc, "--job=build-1.2_x:y@h,z+");
	free(enc);
}

Test(remote, decode_rejects_what_encode_never_makes)
{
	const char *bad[] = { "a b", "%", "%4", "%zz", "%00", "a'b", "%4g",
			      "x$y" };
	char buf[16];

	for (size_t i = 1; i < ARRAY_SIZE(bad); i++) {
		snprintf(buf, sizeof(buf), "%s", bad[i]);
		if (!strcmp(bad[i], "%")) {
			continue; /* the empty word */
		}
		cr_assert_eq(remote_decode(buf), -1, "'%s' accepted", bad[i]);
	}
	snprintf(buf, sizeof(buf), "%s", bad[0]);
	cr_assert_eq(remote_decode(buf), -1, "a blank accepted");
}

Test(remote, host_forms)
{
	const char *good[] = { "h", "user@h", "h:22", "u@h.example:2222",
			       "127.0.0.1:65535", "alias-1" };
	const char *bad[] = { "", "-oProxyCommand=x", "@h", "u@", "h:0",
			      "h:65536", "h:x", "h:", "a b", "u@v@h", "h;id",
			      "$(id)" };
	struct err e;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		cr_assert_eq(remote_host_check(good[i], &e), 0, "'%s': %s",
			     good[i], e.msg);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_eq(remote_host_check(bad[i], &e), -1, "'%s' accepted",
			     bad[i]);
		cr_assert(strstr(e.msg, "host"), "'%s': %s", bad[i], e.msg);
	}
}

/*
 * The name after user@ may not start with '-' either (remote.h): ssh
 * would get a host "-oProxyCommand=x". Found by fuzz_remote.
 */
Test(remote, host_name_after_the_user_never_starts_with_a_dash)
{
	const char *bad[] = { "u@-oProxyCommand=x", "u@-h", "u@-:22" };
	struct err e;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_eq(remote_host_check(bad[i], &e), -1, "'%s' accepted",
			     bad[i]);
		cr_assert(strstr(e.msg, "[user@]name[:port]"), "'%s': %s",
			  bad[i], e.msg);
	}
	cr_assert_eq(remote_host_check("u@h-1", &e), 0, "%s", e.msg);
}

Test(remote, argv_puts_user_options_first_and_the_port_apart)
{
	char *cmd[] = { "true", NULL };
	char **v = remote_argv(&(struct remote_opts){
		.ssh_command = "  ssh -F /tmp/cfg\t-q ",
		.host = "me@box:2222",
		.name = "j",
		.argv = cmd,
		.grace_ms = 1500,
		.stop_signal = 2,
		.timeout_ms = 2950,
		.sent_at = 1796280000.1239,
	});
	const char *want[] = { "ssh", "-F", "/tmp/cfg", "-q", "-o",
			       "BatchMode=yes", "-p", "2222", "--", "me@box",
			       "ctxrun --remote -t 2950ms --sent 1796280000.123 "
			       "-g 1500ms -s 2 --job j "
			       "-- true",
			       NULL };

	for (size_t i = 0; want[i]; i++) {
		cr_assert(v[i], "argv ends at %zu", i);
		cr_assert_str_eq(v[i], want[i]);
	}
	cr_assert_null(v[ARRAY_SIZE(want) - 1]);
	remote_argv_free(v);
}

/* The far side counts from the send time only when the clocks agree. */
Test(remote, clocks_agree_only_on_a_short_connection)
{
	cr_assert(remote_clocks_agree(1000.0, 1000.0));
	cr_assert(remote_clocks_agree(1000.0, 1000.5));
	cr_assert(remote_clocks_agree(1000.0, 1010.0));
	cr_assert(!remote_clocks_agree(1000.0, 1010.5));
	cr_assert(!remote_clocks_agree(1000.0, 999.9));
}

/*
 * The remote line through a real POSIX shell, as sshd hands it to the
 * login shell, with a script that prints its words in ctxrun's place
 * (its path has a blank and a quote): every word it gets must decode to
 * what went in.
 */
Test(remote, a_real_shell_leaves_every_word_alone)
{
	char *cmd[ARRAY_SIZE(torture) + 1];
	char *env[] = { "A=$x 'q\" \ny", "B=", NULL };
	const char *head[] = { "--remote", "-g", "0ms", "-s", "15",
			       "--job", "a b", "--directory", "/t m",
			       "--env", env[0], "--env", env[1], "--" };
	char dir[] = "/tmp/ctxrun-remote-XXXXXX";
	char **v, *line, *got = NULL, *script;
	size_t cap = 0, n, k = 0;
	FILE *sh;

	cr_assert(mkdtemp(dir));
	script = xasprintf("%s/it's ctxrun", dir);
	sh = fopen(script, "w");
	cr_assert(sh);
	fputs("#!/bin/sh\nfor w; do printf '%s\\n' \"$w\"; done\n", sh);
	fclose(sh);
	cr_assert_eq(chmod(script, 0755), 0);

	memcpy(cmd, torture, sizeof(torture));
	cmd[ARRAY_SIZE(torture)] = NULL;
	v = remote_argv(&(struct remote_opts){
		.ctxrun = script,
		.host = "h",
		.name = "a b",
		.argv = cmd,
		.env_add = env,
		.cwd = "/t m",
		.stop_signal = 15,
	});
	for (n = 0; v[n + 1]; n++) {
	}
	/* A path with unusual bytes is quoted for a POSIX shell. */
	line = xasprintf("'%s/it'\\''s ctxrun' --remote ", dir);
	cr_assert(!strncmp(v[n], line, strlen(line)), "%s", v[n]);
	sh = popen(v[n], "r");
	cr_assert(sh);
	while (getline(&got, &cap, sh) > 0) {
		got[strcspn(got, "\n")] = '\0';
		cr_assert_eq(remote_decode(got), 0, "'%s'", got);
		if (k < ARRAY_SIZE(head)) {
			cr_assert_str_eq(got, head[k]);
		} else {
			cr_assert_lt(k - ARRAY_SIZE(head), ARRAY_SIZE(torture));
			cr_assert_str_eq(got, torture[k - ARRAY_SIZE(head)]);
		}
		k++;
	}
	cr_assert_eq(k, ARRAY_SIZE(head) + ARRAY_SIZE(torture));
	cr_assert_eq(pclose(sh), 0);
	free(got);
	free(line);
	remote_argv_free(v);
	unlink(script);
	rmdir(dir);
	free(script);
}
