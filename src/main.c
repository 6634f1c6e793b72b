/* SPDX-License-Identifier: MIT */
#include "ctxrun/cli.h"

/* Everything lives in libctxrun; see cli.h. */
int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
