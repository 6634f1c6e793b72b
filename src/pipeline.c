/* SPDX-License-Identifier: MIT */
#include "ctxrun/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxrun/exit.h"
#include "ctxrun/probe.h"
#include "ctxrun/signame.h"
#include "ctxrun/util.h"

/*
 * Each job moves through a small state machine:
 *
 *   WAITING --needs met--> READY --slot free--> RUNNING --done--> DONE
 *                                                  |   ^
 *                                         failed,  v   | delay over
 *                                       retries left RETRY
 *
 * and any state before RUNNING can jump to DONE as "skipped". Ready jobs
 * wait in a min-heap keyed by file position, so ties start in file order
 * and picking the next job costs O(log n) however long the pipeline is.
 * Skipping walks dependents with an explicit stack: a chain of ten thousand
 * jobs must not recurse ten thousand deep.
 *
 * A running service has a second machine, for what it is to the jobs
 * that need it:
 *
 *   STARTING --probe succeeded--> UP --no job needs it--> STOPPING
 *       |                                                  ^
 *       +--probe gave up--> NOT_READY        no job needs it |
 *       +--------------------------------------------------+
 *
 * Its dependents are released when it is UP, not when it is done; it is
 * stopped when the last of them is over. Services go first among the
 * ready jobs and take no slot of the jobs limit: a service holding the
 * only slot would wait forever for a dependent that waits for the slot. A service no job names in its
 * needs is needed by every task (a job that is neither a service nor a
 * teardown job); a teardown job with no needs waits for every job that
 * is not one. A teardown job's needs are met by any outcome.
 */

enum pjob_state { PJ_WAITING, PJ_READY, PJ_RUNNING, PJ_RETRY, PJ_DONE };

enum svc_state { SVC_NONE, SVC_STARTING, SVC_UP, SVC_STOPPING,
		 SVC_NOT_READY };

/* The delay before another attempt, for a job that has retries. */
struct pjob_retry {
	ev_timer timer;
	struct pjob *pj;
};

struct pjob {
	struct pipeline *p;
	size_t idx;
	enum pjob_state state;
	size_t pending;     /* needs not yet satisfied */
	size_t *dependents; /* jobs that need this one, in pipeline.deps */
	size_t n_dependents;
	struct job *job;    /* the running attempt */
	struct output_job *io; /* NULL: the job has ctxrun's fds */
	struct pjob_retry *retry; /* NULL: no retries */
	int64_t retry_delay_ms;
	enum spec_role role;
	enum svc_state svc;  /* services only */
	size_t needers;      /* services: dependents not yet over */
	struct probe *probe; /* a service's, while it asks; NULL: none */
};

struct pipeline {
	struct pipeline_opts o;
	struct ev_loop *loop;
	struct group *group;
	struct ctx_ear ear; /* on the group's context */
	ev_idle kick;       /* deferred start */
	struct pjob *jobs;
	struct spec_dependents deps; /* who needs each job */
	struct pipeline_result *results;
	size_t n, done, running; /* running: jobs in a slot, not services */
	size_t *heap, heap_len;
	bool finished;
	bool scheduling; /* schedule() is on the stack: a nested call returns */
	bool killed;     /* pipeline_kill() was called */
	struct ctx *detached; /* services and teardown jobs run under it */
	size_t tasks_left, others_left; /* not over: tasks, non-teardown */
	size_t *unnamed;     /* services no job needs, teardown jobs with no
				needs: their implicit needs (see above) */
	size_t n_unnamed;
};

static void pipeline_cancel_cb(struct ctx_ear *ear, const struct ctx_cause *c);
static void pipeline_kick_cb(struct ev_loop *loop, ev_idle *w, int revents);
static void pipeline_retry_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void pipeline_job_cb(struct job *j, const struct job_event *ev,
			    void *data);
static void schedule(struct pipeline *p);
static void job_over(struct pipeline *p, size_t i);
static void need_met(struct pipeline *p, size_t i);
static void finalize(struct pipeline *p, size_t i);
static void pipeline_probe_cb(struct probe *pr, enum probe_event_kind kind,
			      const char *text, void *data);
static void pipeline_watch_cb(void *data, size_t job, const char *name,
			      int which, const char *buf, size_t len);

/*
 * Give each job its count of needs and its list of dependents; each
 * service its count of dependents, and the implicit needs of services no
 * job names and of teardown jobs without needs (see above).
 */
static void
link_dependents(struct pipeline *p)
{
	const struct spec *s = p->o.spec;

	spec_dependents_init(&p->deps, s);
	p->unnamed = xcalloc(p->n, sizeof(*p->unnamed));
	for (size_t i = 0; i < p->n; i++) {
		struct pjob *pj = &p->jobs[i];

		pj->role = s->jobs[i].role;
		pj->pending = s->jobs[i].n_needs;
		pj->dependents = p->deps.job + p->deps.start[i];
		pj->n_dependents = p->deps.start[i + 1] - p->deps.start[i];
		pj->needers = pj->n_dependents;
		p->tasks_left += pj->role == SPEC_TASK;
		p->others_left += pj->role != SPEC_TEARDOWN;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct pjob *pj = &p->jobs[i];

		if (pj->role == SPEC_SERVICE && !pj->n_dependents) {
			/* With no task at all it runs until the run ends. */
			pj->needers = p->tasks_left ? 1 : 0;
			p->unnamed[p->n_unnamed++] = i;
		} else if (pj->role == SPEC_TEARDOWN && !pj->pending) {
			pj->pending = p->others_left ? 1 : 0;
			p->unnamed[p->n_unnamed++] = i;
		}
	}
}

/* Create a pipeline. */
struct pipeline *
pipeline_new(const struct pipeline_opts *opts)
{
	struct pipeline *p = xcalloc(1, sizeof(*p));

	p->o = *opts;
	p->loop = ctx_loop(opts->root);
	p->n = opts->spec->n_jobs;
	p->jobs = xcalloc(p->n, sizeof(*p->jobs));
	p->results = xcalloc(p->n, sizeof(*p->results));
	p->heap = xcalloc(p->n, sizeof(*p->heap));
	p->group = group_new(opts->root, opts->fail_fast);
	p->detached = ctx_new_root(p->loop);
	for (size_t i = 0; i < p->n; i++) {
		struct pjob *pj = &p->jobs[i];

		pj->p = p;
		pj->idx = i;
		if (opts->spec->jobs[i].retries > 0) {
			pj->retry = xcalloc(1, sizeof(*pj->retry));
			pj->retry->pj = pj;
			ev_init(&pj->retry->timer, pipeline_retry_cb);
		}
		p->results[i].name = opts->spec->jobs[i].name;
		p->results[i].exit_code = -1;
		p->results[i].service = opts->spec->jobs[i].role == SPEC_SERVICE;
	}
	link_dependents(p);
	ev_idle_init(&p->kick, pipeline_kick_cb);
	return p;
}

/*
 * Push job I on the ready heap: a min-heap of keys, a service's its spec
 * index, any other job's N more, so services come first, then file order.
 */
static void
heap_push(struct pipeline *p, size_t i)
{
	size_t k = p->heap_len++;

	i += p->jobs[i].role == SPEC_SERVICE ? 0 : p->n;
	while (k && p->heap[(k - 1) / 2] > i) {
		p->heap[k] = p->heap[(k - 1) / 2];
		k = (k - 1) / 2;
	}
	p->heap[k] = i;
}

/* Pop the job of the smallest key off the ready heap: its spec index. */
static size_t
heap_pop(struct pipeline *p)
{
	size_t top = p->heap[0], last = p->heap[--p->heap_len], k = 0;

	for (;;) {
		size_t c = 2 * k + 1;

		if (c >= p->heap_len) {
			break;
		}
		if (c + 1 < p->heap_len && p->heap[c + 1] < p->heap[c]) {
			c++;
		}
		if (p->heap[c] >= last) {
			break;
		}
		p->heap[k] = p->heap[c];
		k = c;
	}
	if (p->heap_len) {
		p->heap[k] = last;
	}
	return top < p->n ? top : top - p->n;
}

/* Start scheduling from the loop. */
void
pipeline_start(struct pipeline *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->jobs[i].pending == 0) {
			p->jobs[i].state = PJ_READY;
			heap_push(p, i);
		}
	}
	if (!ctx_done(group_ctx(p->group))) {
		ctx_listen(group_ctx(p->group), &p->ear, pipeline_cancel_cb);
	}
	ev_idle_start(p->loop, &p->kick);
}

/*
 * SIGKILL every running job now; the first time, teardown jobs get their
 * stop signal and grace instead (ctxrun.ini(5)).
 */
void
pipeline_kill(struct pipeline *p)
{
	bool first = !p->killed;

	p->killed = true;
	for (size_t i = 0; i < p->n; i++) {
		struct pjob *pj = &p->jobs[i];

		if (!pj->job) {
			continue;
		}
		if (first && pj->role == SPEC_TEARDOWN) {
			job_cancel(pj->job, CTX_CAUSE_SIGNAL,
				   "interrupted again");
		} else {
			job_kill(pj->job);
		}
	}
}

/* Pass SIG on to every running job. */
size_t
pipeline_forward(struct pipeline *p, int sig)
{
	size_t reached = 0;

	for (size_t i = 0; i < p->n; i++) {
		reached += p->jobs[i].job && job_forward(p->jobs[i].job, sig);
	}
	return reached;
}

/* Continue every running job. */
void
pipeline_resume(struct pipeline *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->jobs[i].job) {
			job_resume(p->jobs[i].job);
		}
	}
}

/* Results, one per job. */
const struct pipeline_result *
pipeline_results(const struct pipeline *p, size_t *n)
{
	*n = p->n;
	return p->results;
}

/* The errgroup. */
const struct group *
pipeline_group(const struct pipeline *p)
{
	return p->group;
}

/* Release P. */
void
pipeline_free(struct pipeline *p)
{
	if (!p) {
		return;
	}
	ev_idle_stop(p->loop, &p->kick);
	ctx_unlisten(&p->ear);
	for (size_t i = 0; i < p->n; i++) {
		if (p->jobs[i].retry) {
			ev_timer_stop(p->loop, &p->jobs[i].retry->timer);
			free(p->jobs[i].retry);
		}
		if (p->jobs[i].job) {
			BUG("pipeline_free with job '%s' running",
			    p->results[i].name);
		}
		free((char *)p->results[i].cause);
	}
	spec_dependents_release(&p->deps);
	free(p->unnamed);
	group_free(p->group);
	ctx_free(p->detached);
	free(p->jobs);
	free(p->results);
	free(p->heap);
	free(p);
}

/* Send an event about job I. */
static void
pipeline_emit(struct pipeline *p, enum pipeline_event_kind kind, size_t i,
     const char *text)
{
	struct pipeline_event ev = {
		.kind = kind,
		.job = i,
		.name = p->results[i].name,
		.attempt = p->results[i].attempts,
		.text = text,
		.delay_ms = p->jobs[i].retry_delay_ms,
	};

	p->o.on_event(p, &ev, p->o.data);
}

/* Everything has an outcome: say so, once. */
static void
check_finished(struct pipeline *p)
{
	struct pipeline_event ev = { .kind = PL_EV_DONE };

	if (p->finished || p->done < p->n) {
		return;
	}
	p->finished = true;
	ev_idle_stop(p->loop, &p->kick);
	ctx_unlisten(&p->ear);
	p->o.on_event(p, &ev, p->o.data);
}

/*
 * Give R a copy of TEXT as its cause, cut at 255 bytes as a context's is;
 * none when TEXT is NULL or empty.
 */
static void
result_set_cause(struct pipeline_result *r, const char *text)
{
	free((char *)r->cause);
	r->cause = text && *text ? xstrndup(text, CTX_CAUSE_MAX - 1) : NULL;
}

/* Mark job I skipped with CAUSE (it must not have started) and say so. */
static void
skip_one(struct pipeline *p, size_t i, const char *cause)
{
	struct pipeline_result *r = &p->results[i];

	p->jobs[i].state = PJ_DONE;
	p->done++;
	r->outcome = JOB_SKIPPED;
	result_set_cause(r, cause);
	pipeline_emit(p, PL_EV_SKIP, i, r->cause ? r->cause : "");
	for (size_t d = 0; d < p->jobs[i].n_dependents; d++) {
		size_t k = p->jobs[i].dependents[d];

		/* Its needs are met by any outcome. */
		if (p->jobs[k].role == SPEC_TEARDOWN) {
			need_met(p, k);
		}
	}
	job_over(p, i);
}

/* One need of job I is met: it is ready once all are. */
static void
need_met(struct pipeline *p, size_t i)
{
	struct pjob *pj = &p->jobs[i];

	if (pj->state == PJ_WAITING && --pj->pending == 0) {
		pj->state = PJ_READY;
		heap_push(p, i);
	}
}

/* Release PJ's probe, which runs no more. */
static void
probe_drop(struct pjob *pj)
{
	if (pj->io) {
		output_job_watch(pj->io, NULL, NULL);
	}
	probe_free(pj->probe);
	pj->probe = NULL;
}

/* No unfinished job needs service I any more: stop it, or never start it. */
static void
service_unneeded(struct pipeline *p, size_t i)
{
	struct pjob *pj = &p->jobs[i];

	switch (pj->state) {
	case PJ_WAITING:
	case PJ_READY:
		skip_one(p, i, "no job needs it any more");
		break;
	case PJ_RUNNING:
		if (pj->svc == SVC_STARTING || pj->svc == SVC_UP) {
			pj->svc = SVC_STOPPING;
			if (pj->probe && probe_stop(pj->probe)) {
				probe_drop(pj);
			}
			job_cancel(pj->job, CTX_CAUSE_STOPPED,
				   "no longer needed");
		}
		break;
	default:
		break;
	}
}

/* A job that needed service I is over. */
static void
release_service(struct pipeline *p, size_t i)
{
	struct pjob *pj = &p->jobs[i];

	if (pj->needers && --pj->needers == 0) {
		service_unneeded(p, i);
	}
}

/*
 * Job I has its outcome: the services it needed may be done with, and
 * the implicit needs (see above) may be met.
 */
static void
job_over(struct pipeline *p, size_t i)
{
	const struct spec_job *sj = &p->o.spec->jobs[i];
	enum spec_role role = p->jobs[i].role;

	if (role == SPEC_TASK && --p->tasks_left == 0) {
		for (size_t k = 0; k < p->n_unnamed; k++) {
			if (p->jobs[p->unnamed[k]].role == SPEC_SERVICE) {
				release_service(p, p->unnamed[k]);
			}
		}
	}
	if (role != SPEC_TEARDOWN && --p->others_left == 0) {
		for (size_t k = 0; k < p->n_unnamed; k++) {
			if (p->jobs[p->unnamed[k]].role == SPEC_TEARDOWN) {
				need_met(p, p->unnamed[k]);
			}
		}
	}
	for (size_t k = 0; k < sj->n_needs; k++) {
		if (p->jobs[sj->needs[k]].role == SPEC_SERVICE) {
			release_service(p, sj->needs[k]);
		}
	}
}

struct skip_item {
	size_t job, via; /* via: the need that was skipped; SIZE_MAX at first */
};

/* Skip job I with CAUSE and, transitively, every dependent still waiting. */
static void
skip(struct pipeline *p, size_t i, const char *cause)
{
	struct skip_item *stack = xmalloc(sizeof(*stack) * 16);
	size_t top = 0, cap = 16;

	stack[top++] = (struct skip_item){ i, SIZE_MAX };
	while (top) {
		struct skip_item it = stack[--top];
		struct pjob *pj = &p->jobs[it.job];
		char why[300];

		if (pj->state != PJ_WAITING && pj->state != PJ_READY) {
			continue;
		}
		if (pj->role == SPEC_TEARDOWN) {
			/* Past the first, skip_one() has met that need. */
			if (it.via == SIZE_MAX) {
				need_met(p, it.job);
			}
			continue;
		}
		if (it.via != SIZE_MAX) {
			snprintf(why, sizeof(why), "need \"%s\" was skipped",
				 p->results[it.via].name);
		}
		skip_one(p, it.job, it.via == SIZE_MAX ? cause : why);
		for (size_t d = 0; d < pj->n_dependents; d++) {
			if (top == cap) {
				cap *= 2;
				stack = xrealloc(stack, cap * sizeof(*stack));
			}
			stack[top++] = (struct skip_item){ pj->dependents[d], it.job };
		}
	}
	free(stack);
}

/* Why dependents of a job that ended with OUTCOME do not run. */
static const char *
need_verb(enum job_outcome outcome)
{
	switch (outcome) {
	case JOB_FAILED:
		return "failed";
	case JOB_TIMED_OUT:
		return "timed out";
	case JOB_CANCELLED:
		return "was cancelled";
	default:
		return "did not succeed";
	}
}

/* Job I has its final outcome: report it and release or skip dependents. */
static void
finalize(struct pipeline *p, size_t i)
{
	struct pjob *pj = &p->jobs[i];
	struct pipeline_result *r = &p->results[i];
	const struct spec_job *sj = &p->o.spec->jobs[i];
	bool ok = r->outcome == JOB_SUCCEEDED || r->outcome == JOB_STOPPED;
	/* A service that was up met its dependents' need then. */
	bool met = r->ready_after > 0;
	struct ctx_cause cause = { .kind = CTX_CAUSE_DEADLINE };
	int code = r->exit_code;
	char why[300];

	pj->state = PJ_DONE;
	p->done++;
	r->allowed = sj->allow_failure &&
		     (r->outcome == JOB_FAILED || r->outcome == JOB_TIMED_OUT);
	if (pj->role == SPEC_SERVICE && r->outcome == JOB_FAILED) {
		/* Its cause says it all; the run fails, never with 0. */
		cause.kind = r->cause ? CTX_CAUSE_FAILED : cause.kind;
		code = pj->svc == SVC_NOT_READY || code <= 0 ? 1 : code;
	}
	cause.text = r->cause ? r->cause : "";
	group_report(p->group, r->name, r->outcome, code, &cause, r->allowed);
	if (r->outcome == JOB_STOPPED) {
		pipeline_emit(p, PL_EV_STOPPED, i, r->cause);
	}
	snprintf(why, sizeof(why), "need \"%s\" %s", r->name,
		 need_verb(r->outcome));
	for (size_t d = 0; d < pj->n_dependents; d++) {
		size_t k = pj->dependents[d];
		enum pjob_state state = p->jobs[k].state;

		if (state != PJ_WAITING && state != PJ_READY) {
			continue;
		}
		if (!ok && !r->allowed) {
			/* A teardown job's need was met all the same. */
			if (!met || p->jobs[k].role != SPEC_TEARDOWN) {
				skip(p, k, why);
			}
		} else if (!met) {
			need_met(p, k);
		}
	}
	job_over(p, i);
	schedule(p);
	check_finished(p);
}

/* Service I is ready: the jobs that need it may start. */
static void
service_ready(struct pipeline *p, size_t i)
{
	struct pjob *pj = &p->jobs[i];
	struct pipeline_result *r = &p->results[i];
	struct pipeline_event ev = {
		.kind = PL_EV_READY,
		.job = i,
		.name = r->name,
		.attempt = r->attempts,
		.text = p->o.spec->jobs[i].ready.text,
	};

	pj->svc = SVC_UP;
	/* Never 0: 0 means "never ready". */
	r->ready_after = ev_time() - r->started_at + 1e-9;
	ev.ready_after = r->ready_after;
	p->o.on_event(p, &ev, p->o.data);
	for (size_t d = 0; d < pj->n_dependents; d++) {
		need_met(p, pj->dependents[d]);
	}
	schedule(p);
}

/* Service I has started: it is ready at once, or once its probe says so. */
static void
service_started(struct pipeline *p, size_t i)
{
	struct pjob *pj = &p->jobs[i];

	pj->svc = SVC_STARTING;
	if (!pj->probe) {
		service_ready(p, i);
		return;
	}
	if (p->o.spec->jobs[i].ready.kind == PROBE_LOG) {
		output_job_watch(pj->io, pipeline_watch_cb, pj);
	}
	probe_start(pj->probe);
}

/*
 * Make the probe of service I, before it spawns (a notify probe's socket
 * goes in its environment); false with E when it cannot be. Its time is
 * ready_timeout, or what is left of the run's, if less (ctxrun.ini(5)).
 */
static bool
service_probe_new(struct pipeline *p, size_t i, struct err *e)
{
	const struct spec_job *sj = &p->o.spec->jobs[i];
	ev_tstamp deadline = ctx_deadline(p->o.root);
	int64_t timeout_ms = sj->ready_timeout_ms;

	if (sj->ready.kind == PROBE_LOG && !p->o.output) {
		err_set(e, 0, "%s needs the output of '%s' (not -o raw)",
			sj->ready.text, sj->name);
		return false;
	}
	if (deadline) {
		int64_t left = (int64_t)((deadline - ev_now(p->loop)) * 1000.);

		timeout_ms = left < timeout_ms ? (left > 1 ? left : 1)
					       : timeout_ms;
	}
	p->jobs[i].probe = probe_new(&(struct probe_opts){
		.def = &sj->ready,
		.name = sj->name,
		.parent = p->detached,
		.reaper = p->o.reaper,
		.cgroup = p->o.cgroup,
		.shell = p->o.spec->shell,
		.env_add = sj->env,
		.cwd = sj->directory,
		.timeout_ms = timeout_ms,
		.interval_ms = sj->ready_interval_ms,
		.on_event = pipeline_probe_cb,
		.data = &p->jobs[i],
	}, e);
	return p->jobs[i].probe != NULL;
}

/*
 * The environment additions of service PJ: its env and NOTIFY_SOCKET, as
 * a new array (the strings are borrowed) the caller frees; NULL when it
 * has no notify probe.
 */
static char **
service_env(const struct pjob *pj, const struct spec_job *sj)
{
	const char *notify = pj->probe ? probe_env(pj->probe) : NULL;
	char **env;

	if (!notify) {
		return NULL;
	}
	env = xcalloc(sj->n_env + 2, sizeof(*env));
	for (size_t k = 0; k < sj->n_env; k++) {
		env[k] = sj->env[k];
	}
	env[sj->n_env] = (char *)notify;
	return env;
}

/* Output of a service with a log: probe: the probe reads it too. */
static void
pipeline_watch_cb(void *data, size_t job, const char *name, int which,
		  const char *buf, size_t len)
{
	struct pjob *pj = data;

	(void)job;
	(void)name;
	probe_feed(pj->probe, which, buf, len);
}

/* The probe of a service says something. */
static void
pipeline_probe_cb(struct probe *pr, enum probe_event_kind kind,
		  const char *text, void *data)
{
	struct pjob *pj = data;
	struct pipeline *p = pj->p;
	struct pipeline_result *r = &p->results[pj->idx];

	(void)pr;
	switch (kind) {
	case PROBE_EV_FAILED:
		pipeline_emit(p, PL_EV_PROBE, pj->idx, text);
		break;
	case PROBE_EV_STATUS:
		pipeline_emit(p, PL_EV_STATUS, pj->idx, text);
		break;
	case PROBE_EV_READY:
		/* notify listens on while the service runs (probe.h). */
		if (p->o.spec->jobs[pj->idx].ready.kind != PROBE_NOTIFY) {
			probe_drop(pj);
		}
		service_ready(p, pj->idx);
		break;
	case PROBE_EV_GAVE_UP:
		probe_drop(pj);
		pj->svc = SVC_NOT_READY;
		free((char *)r->cause);
		r->cause = xasprintf("service \"%.100s\" %s", r->name, text);
		r->cause_kind = CTX_CAUSE_FAILED;
		job_cancel(pj->job, CTX_CAUSE_STOPPED, r->cause);
		break;
	case PROBE_EV_STOPPED:
		probe_drop(pj);
		if (!pj->job) {
			/* The service was gone first: it waited for this. */
			finalize(p, pj->idx);
		}
		break;
	}
}

/*
 * What a service's end means: stopped when ctxrun stopped it; failed
 * when it never became ready, or ended on its own while needed (ctxrun.ini(5)).
 */
static void
service_outcome(struct pjob *pj, struct pipeline_result *r)
{
	char how[64];

	if (pj->svc == SVC_NOT_READY) {
		r->outcome = JOB_FAILED;
		return;
	}
	if (pj->svc == SVC_STOPPING ||
	    (r->outcome != JOB_SUCCEEDED && r->outcome != JOB_FAILED)) {
		return;
	}
	r->outcome = JOB_FAILED;
	if (r->signal) {
		snprintf(how, sizeof(how), "killed by %s",
			 signame_name(r->signal));
	} else {
		snprintf(how, sizeof(how), "exit status %d", r->exit_code);
	}
	free((char *)r->cause);
	r->cause = xasprintf("service \"%.200s\" exited: %s", r->name, how);
	r->cause_kind = CTX_CAUSE_FAILED;
}

/* Build the job spec for an attempt of job I; the caller sets the argv. */
static struct job_opts
attempt_spec(struct pipeline *p, size_t i, int out_fd, int err_fd)
{
	const struct spec_job *sj = &p->o.spec->jobs[i];

	return (struct job_opts){
		.name = sj->name,
		.env_add = sj->env,
		.cwd = sj->directory,
		.timeout_ms = sj->timeout_ms,
		.grace_ms = sj->grace_ms,
		.stop_signal = sj->stop_signal,
		.foreground = p->o.foreground,
		.leave_nested = p->o.leave_nested,
		.tty_fd = p->o.give_tty ? STDIN_FILENO : -1,
		.stdin_fd = p->o.stdin_fd,
		.stdout_fd = out_fd,
		.stderr_fd = err_fd,
		.cgroup = p->o.cgroup,
		.host = sj->host,
		.ssh_command = p->o.spec->ssh_command,
		.remote_ctxrun = p->o.spec->remote_ctxrun,
		.on_event = pipeline_job_cb,
		.data = &p->jobs[i],
	};
}

/* Open the output streams of job I; false (with E) when it cannot. */
static bool
open_streams(struct pipeline *p, size_t i, int *out_fd, int *err_fd,
	     struct err *e)
{
	struct pjob *pj = &p->jobs[i];
	int fds[2];

	*out_fd = *err_fd = -1;
	if (!p->o.output) {
		return true;
	}
	pj->io = output_job_open(p->o.output,
				 &(struct output_job_opts){
					 .name = p->results[i].name,
					 .index = i,
					 .attempt = p->results[i].attempts,
				 },
				 fds, e);
	if (!pj->io) {
		return false;
	}
	*out_fd = fds[0];
	*err_fd = fds[1];
	return true;
}

/* The attempt of job I could not start: it failed with CODE, as E says. */
static void
attempt_failed_to_start(struct pipeline *p, size_t i, int code,
			const struct err *e)
{
	struct pjob *pj = &p->jobs[i];
	struct pipeline_result *r = &p->results[i];
	struct pipeline_event ev = {
		.kind = PL_EV_ERROR,
		.errnum = e->saved_errno,
		.job = i,
		.name = r->name,
		.attempt = r->attempts,
		.text = e->msg,
	};

	output_job_close(pj->io);
	pj->io = NULL;
	probe_free(pj->probe); /* made before the spawn, never started */
	pj->probe = NULL;
	r->outcome = JOB_FAILED;
	r->exit_code = code; /* set first: the event's reader may want it */
	p->o.on_event(p, &ev, p->o.data);
	finalize(p, i);
}

/* Start an attempt of job I. */
static void
start_attempt(struct pipeline *p, size_t i)
{
	struct pjob *pj = &p->jobs[i];
	struct pipeline_result *r = &p->results[i];
	const struct spec *s = p->o.spec;
	const struct spec_job *sj = &s->jobs[i];
	/*
	 * Only the spawn reads the argv: built for each attempt, it costs a
	 * running job nothing.
	 */
	char *sh_argv[] = { s->shell, "-c", sj->command, NULL };
	char **direct = NULL;
	struct job_opts js;
	struct err e;
	int out_fd, err_fd;
	char **env = NULL;

	pj->state = PJ_RUNNING;
	r->attempts++;
	if (!r->started_at) {
		r->started_at = ev_time();
	}
	if ((sj->ready.kind != PROBE_NONE && !service_probe_new(p, i, &e)) ||
	    !open_streams(p, i, &out_fd, &err_fd, &e)) {
		attempt_failed_to_start(p, i, EXIT_CANCELED, &e);
		return;
	}
	js = attempt_spec(p, i, out_fd, err_fd);
	env = service_env(pj, sj);
	js.env_add = env ? env : js.env_add;
	if (!sj->argv) {
		direct = spec_direct_argv(s, sj);
	}
	js.argv = sj->argv ? sj->argv : direct ? direct : sh_argv;
	js.search_path = sj->argv || direct;
	pj->job = job_new(&js);
	p->running += pj->role != SPEC_SERVICE;
	if (job_start(pj->job, pj->role == SPEC_TASK ? group_ctx(p->group)
						     : p->detached,
		      p->o.reaper, &e) < 0) {
		int code = job_exit_code(pj->job);

		p->running -= pj->role != SPEC_SERVICE;
		job_free(pj->job);
		pj->job = NULL;
		attempt_failed_to_start(p, i, code, &e);
	} else if (pj->role == SPEC_SERVICE) {
		service_started(p, i);
	}
	free(env);
	spec_argv_free(direct);
	/* The job has its copies; ours would keep the pipes from ending. */
	if (out_fd >= 0) {
		close(out_fd);
		close(err_fd);
	}
}

/* Start ready jobs while slots are free and the group is not cancelled. */
static void
schedule(struct pipeline *p)
{
	int limit = p->o.jobs_limit;

	/*
	 * A job that cannot start finishes at once and schedules again; the
	 * loop below picks that up, so thousands of such jobs cannot recurse.
	 */
	if (p->scheduling) {
		return;
	}
	p->scheduling = true;
	/* A service at the top needs no slot (see above). */
	while (p->heap_len && (limit <= 0 || p->running < (size_t)limit ||
			       p->heap[0] < p->n)) {
		size_t i = heap_pop(p);
		struct pjob *pj = &p->jobs[i];

		if (pj->state != PJ_READY) {
			continue;
		}
		if (pj->role != SPEC_TEARDOWN) {
			/* Once cancelled, the cancel callback skips it. */
			if (!ctx_done(group_ctx(p->group))) {
				start_attempt(p, i);
			}
		} else if (p->killed) {
			skip_one(p, i, "interrupted again");
		} else {
			start_attempt(p, i);
		}
	}
	p->scheduling = false;
}

/* An attempt of job PJ is over: retry it or settle its outcome. */
static void
attempt_done(struct pjob *pj)
{
	struct pipeline *p = pj->p;
	struct pipeline_result *r = &p->results[pj->idx];
	const struct spec_job *sj = &p->o.spec->jobs[pj->idx];
	const struct ctx_cause *cause = job_cause(pj->job);

	r->outcome = job_outcome(pj->job);
	r->exit_code = job_exit_code(pj->job);
	r->killed = job_killed(pj->job);
	r->signal = job_signal(pj->job);
	r->duration = ev_time() - r->started_at;
	if (pj->svc != SVC_NOT_READY) {
		result_set_cause(r, cause ? cause->text : NULL);
		r->cause_kind = cause ? cause->kind : CTX_CAUSE_NONE;
	}
	if (pj->role == SPEC_SERVICE) {
		service_outcome(pj, r);
	}
	job_free(pj->job);
	pj->job = NULL;
	p->running -= pj->role != SPEC_SERVICE;
	if (pj->probe) {
		/* No probe process may outlive its service. */
		if (!probe_stop(pj->probe)) {
			return; /* PROBE_EV_STOPPED finalizes */
		}
		probe_drop(pj);
	}
	if ((r->outcome == JOB_FAILED || r->outcome == JOB_TIMED_OUT) &&
	    r->attempts <= sj->retries && !ctx_done(group_ctx(p->group))) {
		pj->state = PJ_RETRY;
		pj->retry_delay_ms = sj->retry_delay_ms;
		pipeline_emit(p, PL_EV_RETRY, pj->idx, NULL);
		ev_timer_set(&pj->retry->timer,
			     (ev_tstamp)sj->retry_delay_ms / 1000., 0.);
		ev_timer_start(p->loop, &pj->retry->timer);
		schedule(p);
		return;
	}
	finalize(p, pj->idx);
}

/* Something happened to a running attempt. */
static void
pipeline_job_cb(struct job *j, const struct job_event *ev, void *data)
{
	struct pjob *pj = data;
	struct pipeline *p = pj->p;
	struct pipeline_event pev = {
		.kind = PL_EV_JOB,
		.job = pj->idx,
		.name = job_name(j),
		.attempt = p->results[pj->idx].attempts,
		.job_ev = ev,
	};

	if (ev->kind == JOB_EV_EXIT) {
		/* What it printed comes before the line saying it exited. */
		output_job_flush(pj->io);
	}
	if (ev->kind == JOB_EV_DONE) {
		output_job_close(pj->io);
		pj->io = NULL;
	}
	p->o.on_event(p, &pev, p->o.data);
	if (ev->kind == JOB_EV_DONE) {
		attempt_done(pj);
	}
}

/* The retry delay is over: run the job again, if a slot is free. */
static void
pipeline_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pjob *pj = container_of(w, struct pjob_retry, timer)->pj;

	(void)loop;
	(void)revents;
	pj->state = PJ_READY;
	heap_push(pj->p, pj->idx);
	schedule(pj->p);
}

/*
 * The group was cancelled while job I waited to run again: the attempt it
 * waited for is skipped, and the job is cancelled with CAUSE. Its last
 * failure does not stand alone: it had retries left, and what ended the
 * run (the deadline, an interrupt) is what the run must report.
 */
static void
cancel_retry(struct pipeline *p, size_t i, const struct ctx_cause *cause)
{
	struct pipeline_result *r = &p->results[i];

	ev_timer_stop(p->loop, &p->jobs[i].retry->timer);
	r->outcome = JOB_CANCELLED;
	r->cause_kind = cause->kind;
	result_set_cause(r, cause->text);
	pipeline_emit(p, PL_EV_SKIP, i, r->cause ? r->cause : "");
	finalize(p, i);
}

/* The group was cancelled: nothing new starts; waiting jobs are skipped. */
static void
pipeline_cancel_cb(struct ctx_ear *ear, const struct ctx_cause *cause)
{
	struct pipeline *p = container_of(ear, struct pipeline, ear);

	/* Cancelled before the first turn: the kick starts them, then skips. */
	if (p->o.start_cancelled && ev_is_active(&p->kick)) {
		return;
	}

	for (size_t i = 0; i < p->n; i++) {
		struct pjob *pj = &p->jobs[i];

		if (pj->role == SPEC_TEARDOWN) {
			continue; /* it runs all the same */
		}
		if (pj->state == PJ_WAITING || pj->state == PJ_READY) {
			/* Each gets the group's cause, not "need X was skipped". */
			skip_one(p, i, cause->text);
		} else if (pj->state == PJ_RETRY) {
			cancel_retry(p, i, cause);
		} else if (pj->role == SPEC_SERVICE && !pj->needers) {
			/* No task to wait for: it ran until the run ended. */
			service_unneeded(p, i);
		}
	}
	schedule(p);
	check_finished(p);
}

/* First turn of the loop after pipeline_start(). */
static void
pipeline_kick_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct pipeline *p = container_of(w, struct pipeline, kick);

	(void)revents;
	ev_idle_stop(loop, w);
	if (ctx_done(group_ctx(p->group)) && p->o.start_cancelled) {
		/* Each is born under a done context, and stopped at once. */
		while (p->heap_len) {
			start_attempt(p, heap_pop(p));
		}
	}
	if (ctx_done(group_ctx(p->group))) {
		/* Cancelled before anything started. */
		pipeline_cancel_cb(&p->ear, ctx_cause(group_ctx(p->group)));
		return;
	}
	schedule(p);
	check_finished(p);
}
