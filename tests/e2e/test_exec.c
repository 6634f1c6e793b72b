/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of how a command is run: a script without "#!" runs
 * with /bin/sh, as execvp, GNU timeout and every shell run it; a -c
 * command that a shell built-in or keyword begins goes through the shell
 * even where ctxrun skips the shell for simple commands, and does just
 * what /bin/sh -c does with it.
 */
#include "expect.h"
#include "fixture.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char script[128];

/* The common fixture (fixture.h), with the script "s.sh" in D. */
static void
ex_setup(void)
{
	static const char text[] = "printf 'out %s|%s|%s\\n' \"$0\" \"$1\" "
				   "\"$2\"\nexit 7\n";

	fx_init();
	snprintf(script, sizeof(script), "%s", fx_path("s.sh"));
	h_write_file(script, text, sizeof(text) - 1, 0755);
}

TestSuite(exec, .init = ex_setup, .fini = fx_fini, .timeout = 60);

/* Assert P ran the script, which printed ARGS ("$1|$2") and exited 7. */
static void
expect_script(struct h_proc *p, const char *args)
{
	char want[256];

	snprintf(want, sizeof(want), "out %s|%s\n", script, args);
	expect_exit(p, 7);
	expect_out(p, want);
	h_done(p);
}

/* One command: the script runs with its arguments, its status comes back. */
Test(exec, script_without_shebang_runs_with_sh)
{
	char path[4096];
	struct h_proc p;

	h_run(&p, NULL, "--", script, "a", "b c");
	expect_err(&p, "");
	expect_script(&p, "a|b c");
	/* Found through PATH, $0 is where it was found, as execvp has it. */
	snprintf(path, sizeof(path), "%s:%s", fx_dir, getenv("PATH"));
	setenv("PATH", path, 1);
	h_run(&p, NULL, "--", "s.sh", "a");
	expect_err(&p, "");
	expect_script(&p, "a|");
}

/* A -c job that is a simple command runs a script without "#!" too. */
Test(exec, script_without_shebang_as_c_job)
{
	char cmd[256];
	struct h_proc p;

	snprintf(cmd, sizeof(cmd), "%s a", script);
	h_run(&p, NULL, "-q", "-o", "raw", "-c", cmd);
	expect_script(&p, "a|");
}

/*
 * Built-ins, special built-ins and keywords do under -c what /bin/sh -c
 * does with them: the same output and the same exit status (dash's
 * chdir is no program, and its echo prints "-e").
 */
Test(exec, builtins_do_what_sh_does)
{
	static const char *const cmds[] = {
		"cd /tmp", "cd /nonexistent", "chdir /", "exit 3", "umask 077",
		"umask", "export A=1", "set -e", "eval exit 4", "exec true",
		". /dev/null", "trap", "unset HOME", "wait", "command -v sh",
		"ulimit -n", "echo -e x", "printf %s x", "kill -l 9",
		"pushd /tmp", "readonly A=1", "type cd",
	};
	struct h_proc sh, p;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++) {
		h_start_argv(&sh, NULL, (const char *const[]){
			"/bin/sh", "-c", cmds[i], NULL });
		h_finish(&sh, 20000);
		h_run(&p, NULL, "-q", "-o", "raw", "-c", cmds[i]);
		cr_assert_eq(h_code(&p), h_code(&sh),
			     "'%s': exit %d, /bin/sh -c gives %d; stderr <%s>",
			     cmds[i], h_code(&p), h_code(&sh), p.err.data);
		cr_assert_str_eq(p.out.data, sh.out.data,
				 "'%s': stdout <%s>, /bin/sh -c gives <%s>",
				 cmds[i], p.out.data, sh.out.data);
		h_release(&sh);
		h_done(&p);
	}
}
