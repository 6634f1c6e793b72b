/* SPDX-License-Identifier: MIT */
#include "ctxrun/group.h"

#include <stdio.h>
#include <stdlib.h>

#include "ctxrun/signame.h"
#include "ctxrun/util.h"

/*
 * Only the first error is kept, as errgroup does: it is what the user most
 * needs to see, and everything after it may be a consequence of it.
 */

struct group {
	struct ctx *ctx;
	bool fail_fast;
	bool failed;
	enum job_outcome outcome;
	int exit_code;
	char text[256];
};

/* Create a group under PARENT. */
struct group *
group_new(struct ctx *parent, bool fail_fast)
{
	struct group *g = xcalloc(1, sizeof(*g));

	g->ctx = ctx_new(parent);
	g->fail_fast = fail_fast;
	return g;
}

/* The context jobs of G run under. */
struct ctx *
group_ctx(const struct group *g)
{
	return g->ctx;
}

/* Describe how a job failed: "exit status 2", "killed by SIGSEGV". */
static void
describe_failure(char *buf, size_t size, const char *name,
		 enum job_outcome outcome, int code,
		 const struct ctx_cause *cause)
{
	if (cause && (outcome == JOB_TIMED_OUT ||
		      cause->kind == CTX_CAUSE_FAILED)) {
		snprintf(buf, size, "%s", cause->text);
	} else if (code > 128 && code < 128 + 65) {
		snprintf(buf, size, "job \"%s\" failed: killed by %s", name,
			 signame_name(code - 128));
	} else {
		snprintf(buf, size, "job \"%s\" failed: exit status %d", name, code);
	}
}

/* Report a job's final outcome. */
void
group_report(struct group *g, const char *name, enum job_outcome outcome,
	     int exit_code, const struct ctx_cause *cause, bool allowed)
{
	if ((outcome != JOB_FAILED && outcome != JOB_TIMED_OUT) || allowed ||
	    g->failed) {
		return;
	}
	g->failed = true;
	g->outcome = outcome;
	g->exit_code = exit_code;
	describe_failure(g->text, sizeof(g->text), name, outcome, exit_code,
			 cause);
	if (g->fail_fast) {
		ctx_cancel(g->ctx, CTX_CAUSE_FAILED, exit_code, "%s", g->text);
	}
}

/* Has a failure been reported? */
bool
group_failed(const struct group *g)
{
	return g->failed;
}

/* Outcome of the first failure. */
enum job_outcome
group_error_outcome(const struct group *g)
{
	return g->outcome;
}

/* Exit code of the first failure. */
int
group_error_code(const struct group *g)
{
	return g->exit_code;
}

/* Text of the first failure. */
const char *
group_error_text(const struct group *g)
{
	return g->text;
}

/* Release G. */
void
group_free(struct group *g)
{
	if (!g) {
		return;
	}
	ctx_free(g->ctx);
	free(g);
}
