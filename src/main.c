/* SPDX-License-Identifier: MIT */
#include "ctxrun/cli.h"
#include "ctxrun/gnu_timeout.h"

/*
 * Everything lives in libctxrun; the name ctxrun was invoked under picks
 * the personality (ctxrun(1), REPLACING GNU TIMEOUT; gnu_timeout.h).
 */
int
main(int argc, char **argv)
{
	if (argc > 0 && gnu_timeout_named(argv[0])) {
		return gnu_timeout_main(argc, argv);
	}
	return cli_main(argc, argv);
}
