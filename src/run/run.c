/*
 * run/run.c - a session run (include/proctor/run.h, docs/run.md):
 * creation from units and a plan, and the loop.
 *
 * The loop:
 *  1. every run-list job without a result that can start is given to the
 *     executor (manual jobs are asked of the operator, or skipped); a job
 *     that cannot start and whose inhibitors give an outcome
 *     (skipped-dependency, ...) gets that result at once;
 *  2. the executor's completions are committed to the store FIRST, then
 *     given to the session engine, which updates readiness: so no
 *     dependent starts, and nothing is reported, before its cause is
 *     durable;
 *  3. resource jobs feed the resource map and instantiate templates; the
 *     plan is then selected again so that generated jobs join the run.
 * Cancellation comes from a callback (pt_run_cancel from events.wake):
 * the executor stops starting jobs and ends the running ones, which stay
 * without a result (not run); resume continues the session.
 */
#include "run/run-internal.h"

#include "base/buf.h"
#include "base/chaos.h"
#include "os/clock.h"
#include "os/file.h"
#include "os/muxos.h"
#include "os/runos.h"

#include <proctor/slurm.h>

#include <stdarg.h>

/* ---- small helpers */

int pt__strv_add(struct pt__strv *s, const char *x)
{
	if (s->n + 1 >= s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **v = pt__realloc_array(s->v, cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = pt__strdup(x);
	if (!s->v[s->n])
		return -ENOMEM;
	s->v[++s->n] = NULL;
	return 0;
}

void pt__strv_free(struct pt__strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		pt__free(s->v[i]);
	pt__free(s->v);
	memset(s, 0, sizeof(*s));
}

void pt__run_msg(struct pt_run *run, enum pt_run_msg kind, const char *fmt, ...)
{
	struct pt_buf b = PT_BUF_INIT;
	va_list ap;

	if (!run->ev.message)
		return;
	va_start(ap, fmt);
	if (pt__buf_vaddf(&b, fmt, ap) == 0)
		run->ev.message(run->ev.ctx, kind, b.s);
	va_end(ap);
	pt__buf_release(&b);
}

void pt__run_diags(struct pt_run *run, size_t from)
{
	if (run->ev.diags && pt_diags_count(run->diags) > from)
		run->ev.diags(run->ev.ctx, run->diags, from);
}

static double now_s(void)
{
	return (double)pt__now_ns() / 1e9;
}

bool pt__run_is_fail(enum pt_outcome o)
{
	return !strcmp(pt_outcome_class(o), "fail");
}

static bool is_manual(const struct pt_job *j)
{
	return j->plugin == PT_PLUGIN_MANUAL ||
	       j->plugin == PT_PLUGIN_USER_INTERACT ||
	       j->plugin == PT_PLUGIN_USER_VERIFY ||
	       j->plugin == PT_PLUGIN_USER_INTERACT_VERIFY;
}

static bool matches_any(const regex_t *re, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++) {
		if (regexec(&re[i], id, 0, NULL, 0) == 0)
			return true;
	}
	return false;
}

static int compile_res(struct pt_run *run, const struct pt__strv *v,
		       regex_t **ret)
{
	regex_t *re = pt__calloc(v->n ? v->n : 1, sizeof(*re));
	struct pt_buf a = PT_BUF_INIT;

	if (!re)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		int e;

		/* Patterns match whole ids, as PlainBox's do. */
		pt__buf_reset(&a);
		if (pt__buf_addf(&a, "^(%s)$", v->v[i]) < 0) {
			e = -ENOMEM;
		} else {
			e = regcomp(&re[i], a.s, REG_EXTENDED | REG_NOSUB);
		}
		if (e) {
			char msg[128] = "out of memory";

			if (e > 0)
				regerror(e, &re[i], msg, sizeof(msg));
			pt__run_msg(run, PT_RUN_MSG_USAGE,
				    "bad pattern '%s': %s", v->v[i], msg);
			for (size_t k = 0; k < i; k++)
				regfree(&re[k]);
			pt__free(re);
			pt__buf_release(&a);
			return PT_EPARSE;
		}
	}
	pt__buf_release(&a);
	*ret = re;
	return 0;
}

int pt__run_prepare(struct pt_run *run)
{
	int r;

	if ((r = compile_res(run, &run->include, &run->inc)) < 0)
		return r;
	run->ninc = run->include.n;
	if ((r = compile_res(run, &run->exclude, &run->exc)) < 0)
		return r;
	run->nexc = run->exclude.n;
	return 0;
}

/* ---- which run-list positions to look at (see run.look) */

static int look_push(struct pt_run *c, size_t pos)
{
	size_t i;

	if (c->n_look == c->cap_look) {
		size_t cap = c->cap_look ? 2 * c->cap_look : 64;
		size_t *v = pt__realloc_array(c->look, cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->look = v;
		c->cap_look = cap;
	}
	for (i = c->n_look++; i > 0 && c->look[(i - 1) / 2] > pos;
	     i = (i - 1) / 2)
		c->look[i] = c->look[(i - 1) / 2];
	c->look[i] = pos;
	return 0;
}

static void look_pop(struct pt_run *c)
{
	size_t last = c->look[--c->n_look], i = 0;

	for (;;) {
		size_t m = 2 * i + 1;

		if (m >= c->n_look)
			break;
		if (m + 1 < c->n_look && c->look[m + 1] < c->look[m])
			m++;
		if (c->look[m] >= last)
			break;
		c->look[i] = c->look[m];
		i = m;
	}
	if (c->n_look)
		c->look[i] = last;
}

/* The session's readiness_changed: look at the job again. */
static void on_readiness(void *ctx, struct pt_session *s, size_t job)
{
	struct pt_run *c = ctx;
	struct pt__jst *js = job < c->njs ? &c->js[job] : NULL;

	(void)s;
	if (!js || js->pos == PT_RUN_NOT_LISTED || js->looking || js->done)
		return;
	/* Out of memory: the job is looked at when the list is remade. */
	if (look_push(c, js->pos) == 0)
		js->looking = true;
}

/* The run list was (re)made: positions change, look at every job. */
static int look_all(struct pt_run *c)
{
	size_t n = pt_session_run_list_count(c->s);

	c->n_look = 0;
	for (size_t k = 0; k < c->njs; k++) {
		c->js[k].pos = PT_RUN_NOT_LISTED;
		c->js[k].looking = false;
	}
	/* Ascending positions: each push is already in heap order. */
	for (size_t i = 0; i < n; i++) {
		size_t k = pt_session_run_list_get(c->s, i);
		int r;

		if (k >= c->njs)
			continue;
		c->js[k].pos = i;
		if ((r = look_push(c, i)) < 0)
			return r;
		c->js[k].looking = true;
	}
	return 0;
}

int pt__run_grow_js(struct pt_run *c)
{
	size_t n = pt_session_job_count(c->s);

	if (n > c->njs) {
		struct pt__jst *js = pt__realloc_array(c->js, n, sizeof(*js));
		if (!js)
			return -ENOMEM;
		memset(js + c->njs, 0, (n - c->njs) * sizeof(*js));
		for (size_t k = c->njs; k < n; k++)
			js[k].pos = PT_RUN_NOT_LISTED;
		c->js = js;
		c->njs = n;
	}
	return 0;
}

/* ---- selection */

/* -i/-x: id goes to the desired list, the rejected list, or neither. */
static int filter(struct pt_run *c, const char *id, struct pt__strv *desired,
		  struct pt__strv *rejected)
{
	if (c->ninc && !matches_any(c->inc, c->ninc, id))
		return 0;
	if (matches_any(c->exc, c->nexc, id))
		return pt__strv_add(rejected, id);
	return pt__strv_add(desired, id);
}

/*
 * The desired list: the plan's (bootstrap first), or every job. The jobs
 * an -x pattern removed are the session's rejected jobs.
 */
static int select_desired(struct pt_run *c, struct pt__strv *desired,
			  struct pt__strv *mandatory, struct pt__strv *rejected)
{
	size_t n = pt_units_job_count(c->u);
	int r = 0;

	pt__strv_free(desired);
	pt__strv_free(mandatory);
	pt__strv_free(rejected);
	if (c->o.plan) {
		struct pt_plan_selection *sel = NULL;

		r = pt_plan_select(c->u, c->o.plan, NULL, 0, c->diags, &sel);
		if (r < 0)
			return r;
		for (size_t i = 0; i < sel->bootstrap.n && !r; i++)
			r = pt__strv_add(desired, sel->bootstrap.v[i]);
		for (size_t i = 0; i < sel->desired.n && !r; i++) {
			/* asks questions; checkbox-cli leaves it out too */
			if (!strcmp(sel->desired.v[i],
				    "com.canonical.plainbox::collect-manifest"))
				continue;
			r = filter(c, sel->desired.v[i], desired, rejected);
		}
		for (size_t i = 0; i < sel->mandatory.n && !r; i++)
			r = pt__strv_add(mandatory, sel->mandatory.v[i]);
		pt_plan_selection_free(sel);
		return r;
	}
	for (size_t i = 0; i < n && !r; i++)
		r = filter(c, pt_units_job(c->u, i)->id, desired, rejected);
	return r;
}

static const char *const *strv_v(const struct pt__strv *s)
{
	static const char *const none[1] = { NULL };

	return s->v ? (const char *const *)s->v : none;
}

/* Solves the session for the current selection and stores the list. */
static int resolve(struct pt_run *c)
{
	struct pt__strv desired = { 0 }, mandatory = { 0 }, rejected = { 0 };
	int r = select_desired(c, &desired, &mandatory, &rejected);

	if (r == 0)
		r = pt_session_set_mandatory(c->s, strv_v(&mandatory),
					     mandatory.n);
	if (r == 0)
		r = pt_session_set_rejected(c->s, strv_v(&rejected),
					    rejected.n);
	if (r == 0 && c->st && c->nexc)
		r = pt_store_set_rejected(c->st, strv_v(&rejected), rejected.n);
	if (r == 0)
		r = pt_session_set_desired(c->s, strv_v(&desired), desired.n,
					   true);
	if (r >= 0 && c->st) {
		size_t n = pt_session_desired_count(c->s);
		const char **ids = pt__calloc(n + 1, sizeof(*ids));

		if (!ids)
			r = -ENOMEM;
		for (size_t i = 0; ids && i < n; i++)
			ids[i] = pt_session_desired_id(c->s, i);
		if (ids)
			r = pt_store_set_desired(c->st, ids, n);
		pt__free(ids);
		if (r == 0)
			r = pt_store_set_total(c->st,
					       pt_session_run_list_count(c->s));
	}
	pt__strv_free(&desired);
	pt__strv_free(&mandatory);
	pt__strv_free(&rejected);
	if (r >= 0)
		r = pt__run_grow_js(c);
	c->n_total = pt_session_run_list_count(c->s);
	if (r >= 0)
		r = look_all(c); /* the run list changed */
	return r < 0 ? r : 0;
}

/*
 * After a resource job's result: the session engine has instantiated the
 * templates fed by it (pt_session_attach_units); the new jobs go to the
 * store's snapshot and the plan is selected again (the generated jobs may
 * be selected by it).
 */
static int after_resource(struct pt_run *c, size_t before, size_t nd)
{
	int r;

	pt__run_diags(c, nd);
	if (pt_units_job_count(c->u) == before)
		return 0;
	r = pt__run_put_jobs(c, before);
	if (r == 0)
		r = pt__run_grow_js(c);
	if (r == 0)
		r = resolve(c);
	return r;
}

/*
 * A job's expected duration: its estimated_duration, else the duration
 * learned from earlier sessions of the repository; 0 when unknown.
 */
static double estimate(const struct pt_run *c, const struct pt_job *j)
{
	const struct pt_store_duration *d;

	if (j->estimated_duration > 0)
		return j->estimated_duration;
	d = pt_store_durations_find(c->dur, j->id);
	return d ? d->duration : 0;
}

double pt_run_eta(const struct pt_run *c)
{
	double eta = 0;

	for (size_t i = 0; c->s && i < pt_session_run_list_count(c->s); i++) {
		size_t k = pt_session_run_list_get(c->s, i);
		const struct pt_job *j = pt_session_job(c->s, k);
		if (k < c->njs && !c->js[k].done)
			eta += estimate(c, j);
	}
	return eta / (c->o.jobs ? c->o.jobs : 1);
}

static void progress(struct pt_run *c)
{
	if (c->ev.progress)
		c->ev.progress(c->ev.ctx, c);
}

/* ---- results */

/* After its commit: tells the session, counts and reports a result. */
static int apply(struct pt_run *c, size_t k, const struct pt_result *res,
		 struct pt__recset *x)
{
	const struct pt_job *j = pt_session_job(c->s, k);
	size_t before = pt_units_job_count(c->u), nd = pt_diags_count(c->diags);
	int r;

	r = pt_session_set_result(c->s, k, res, x ? x->rr : NULL, x ? x->n : 0);
	if (r < 0)
		return r;
	c->js[k].done = true;
	c->n_done++;
	if (pt__run_is_fail(res->outcome))
		c->n_fail++;
	if (res->flaky)
		c->n_flaky++;
	if (c->ev.job_finished)
		c->ev.job_finished(c->ev.ctx, j, res);
	progress(c);
	if (j->plugin == PT_PLUGIN_RESOURCE)
		r = after_resource(c, before, nd);
	if (c->o.fail_fast && pt__run_is_fail(res->outcome) &&
	    !c->failed_fast) {
		c->failed_fast = true;
		if (c->ex)
			c->xo->cancel(c->ex, false);
	}
	return r;
}

/* job_id NULL: the waiting results of several jobs. */
static void storage_failed(struct pt_run *c, const char *job_id, int r)
{
	if (job_id)
		pt__run_msg(c, PT_RUN_MSG_STORAGE,
			    "cannot commit the result of %s: %s", job_id,
			    pt_strerror(r));
	else
		pt__run_msg(c, PT_RUN_MSG_STORAGE,
			    "cannot commit the results of %zu jobs: %s",
			    c->n_wait, pt_strerror(r));
	c->storage_error = true;
}

/*
 * Commits the waiting results (one transaction), then applies them in
 * the order they came. On a storage error they are lost (never
 * reported): the run stops, and resume runs those jobs again.
 */
static int flush_waiting(struct pt_run *c)
{
	int r = 0;

	if (c->st && pt_store_group_pending(c->st))
		r = pt_store_group_commit(c->st);
	if (r < 0)
		storage_failed(c, NULL, r);
	for (size_t i = 0; i < c->n_wait; i++) {
		struct pt__waiting *w = &c->wait[i];

		if (r == 0)
			r = apply(c, w->k, &w->res, NULL);
		pt__free((char *)(uintptr_t)w->res.comments);
		pt__free((char *)(uintptr_t)w->res.io_log);
	}
	c->n_wait = 0;
	return r;
}

/*
 * Whether a final result may wait in the commit group: at -jN only (-j1
 * is PlainBox's order, one commit per job), a plain shell job's short
 * pass (pt_store_group_may_wait), nothing that carries more data.
 */
static bool may_wait(const struct pt_run *c, const struct pt_job *j,
		     const struct pt_result *res, const struct pt__recset *x)
{
	return c->st && c->wait && c->o.jobs != 1 && !x &&
	       j->plugin == PT_PLUGIN_SHELL && !(j->flags & PT_JOB_NORETURN) &&
	       pt_store_group_may_wait(res);
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? pt__strdup(s) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

/*
 * Commits a result (durable first), then tells the session. records may
 * be NULL. A short pass may wait in the store's commit group instead
 * (flush_waiting applies it). Returns 0 or an error (storage: the run
 * stops).
 */
static int record(struct pt_run *c, size_t k, const struct pt_result *res,
		  struct pt__recset *x, bool final)
{
	const struct pt_job *j = pt_session_job(c->s, k);
	int r = 0;

	if (final && may_wait(c, j, res, x)) {
		struct pt__waiting *w = &c->wait[c->n_wait];
		bool oom = false;

		r = pt_store_group_add(c->st, j->id, res);
		if (r < 0) {
			storage_failed(c, j->id, r);
			return r;
		}
		c->js[k].done = true; /* not to be started again meanwhile */
		w->k = k;
		w->res = *res;
		w->res.comments = dup_or_null(res->comments, &oom);
		w->res.io_log = dup_or_null(res->io_log, &oom);
		c->n_wait++;
		if (oom)
			return -ENOMEM;
		/* Full (c->wait holds PT_STORE_GROUP_MAX): commit it now. */
		return (size_t)r >= PT_STORE_GROUP_MAX ? flush_waiting(c) : 0;
	}
	/* What waits is committed, and reported, first: the order holds. */
	r = flush_waiting(c);
	if (r < 0)
		return r;
	if (c->st) {
		if (x && j->plugin == PT_PLUGIN_RESOURCE)
			r = pt_store_put_resource(c->st, j->id, x->sr, x->n);
		if (r == 0)
			r = pt_store_commit_result(c->st, j->id, res,
						   (j->flags & PT_JOB_NORETURN)
							   ? PT_SYNC_FULL
							   : PT_SYNC_NORMAL);
		if (r < 0) {
			storage_failed(c, j->id, r);
			return r;
		}
	}
	if (!final)
		return 0;
	return apply(c, k, res, x);
}

/* The inhibitors of a job as one line ("...; ..."). */
static void inhibitor_text(struct pt_run *c, size_t k, char *buf, size_t size)
{
	size_t n = pt_session_inhibitor_count(c->s, k), used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && used + 3 < size; i++) {
		const struct pt_inhibitor *ib =
			pt_session_inhibitor(c->s, k, i);
		if (ib->cause == PT_INHIBIT_PENDING_DEP ||
		    ib->cause == PT_INHIBIT_PENDING_RESOURCE)
			continue; /* not the reason for a skip */
		if (used) {
			memcpy(buf + used, "; ", 3);
			used += 2;
		}
		pt_inhibitor_format(ib, buf + used, size - used);
		used += strlen(buf + used);
	}
}

static bool can_ask(const struct pt_run *c)
{
	return !c->o.no_operator && c->ev.verdict;
}

/*
 * An operator's verdict on a manual or *-verify job (ran: the result of
 * its command, NULL for a manual job). The operator decides, whatever
 * the command's outcome (PlainBox resets it to "undecided"). comment
 * holds the comments.
 */
static void verdict(struct pt_run *c, const struct pt_job *j,
		    const struct pt_result *ran, struct pt_result *res,
		    char *comment, size_t size)
{
	struct pt_run_output out = { 0 };
	struct pt_run_verdict v = { 0 };
	char *text = NULL;

	if (ran) {
		char *path = pt__run_abs_path(c, ran->io_log);
		size_t len = 0;
		bool cut = false;

		if (path &&
		    pt_runner_iolog_read(
			    path, PT_STREAM_STDOUT | PT_STREAM_STDERR,
			    PT_RUN_VERIFY_SHOW, &text, &len, &cut) == 0) {
			out.text = text;
			out.len = len;
			out.cut = cut;
		}
		pt__free(path);
	}
	if (c->ev.verdict(c->ev.ctx, j, ran, &out, &v) < 0) {
		res->outcome = PT_OUTCOME_SKIP;
		res->comments = comment;
		snprintf(comment, size, "no answer from the operator");
	} else {
		res->outcome = v.outcome;
		res->comments = NULL;
		if (v.comments && v.comments[0]) {
			snprintf(comment, size, "%s", v.comments);
			res->comments = comment;
		}
	}
	pt_free(text);
}

static int chaos_block(struct pt_run *c, const char *spec, char **ret);

/*
 * *env with the job's own PROCTOR_PRELOAD first (its chaos field); the
 * array lives in the job's state until its next attempt.
 */
static int chaos_job_env(struct pt_run *c, size_t k, const char *const **env)
{
	const struct pt_job *j = pt_session_job(c->s, k);
	struct pt__jst *js = &c->js[k];
	size_t n = 0;
	int r;

	if (!js->chaos_block) {
		struct pt_chaos plan;
		char err[256];

		if ((r = chaos_block(c,
				     strcmp(j->chaos, "off") ? j->chaos : NULL,
				     &js->chaos_block)) < 0)
			return r;
		/* said once per job: the executor cannot do them */
		if (!(c->xo->flags & PT_EXEC_PROCESS_FAULTS) &&
		    pt__chaos_parse(j->chaos, &plan, err, sizeof(err)) == 0 &&
		    pt__chaos_has_process_faults(&plan))
			pt__run_msg(
				c, PT_RUN_MSG_WARNING,
				"%s: its chaos field's process faults "
				"(kill@, kill-one@, pause@) are not done by "
				"executor '%s'",
				j->id, c->xo->name);
	}
	while (*env && (*env)[n])
		n++;
	pt__free(js->chaos_envv);
	js->chaos_envv = pt__calloc(n + 2, sizeof(*js->chaos_envv));
	if (!js->chaos_envv)
		return -ENOMEM;
	js->chaos_envv[0] = js->chaos_block;
	for (size_t i = 0; i < n; i++)
		js->chaos_envv[i + 1] = (*env)[i];
	*env = js->chaos_envv;
	return 0;
}

static int submit(struct pt_run *c, size_t k, unsigned attempt)
{
	const struct pt_job *j = pt_session_job(c->s, k);
	struct pt_exec_spec q = {
		.job = j,
		.order = c->js[k].order,
		.estimate = estimate(c, j),
		.attempt = attempt,
		.udata = (void *)(uintptr_t)k,
	};
	int r = 0;

	/* The provider environment and the user (docs/runner.md). */
	if (c->jenv)
		r = pt_jobenv_get(c->jenv, j, &q.env);
	/* only the local runner switches users; a cluster job runs as
	 * its submitter (docs/run.md) */
	if (r == 0 && c->users && c->xo == pt_executor_local())
		r = pt_users_run_as(c->users, j, &q.run_as);
	/* The job's chaos field: out of the run's faults, or its own. */
	if (r == 0 && c->o.chaos && j->chaos)
		r = chaos_job_env(c, k, &q.env);
	if (r == 0)
		r = c->xo->start(c->ex, &q);

	if (r == 0) {
		c->js[k].submitted = true;
		c->js[k].attempt = attempt;
	}
	return r;
}

/*
 * com.canonical.plainbox::manifest: its records come from the manifest
 * answers (options.manifest), not from running plainbox-manifest-resource
 * (which needs PlainBox's Python).
 */
static int run_manifest(struct pt_run *c, size_t k)
{
	const struct pt_job *j = pt_session_job(c->s, k);
	struct pt_result res = { .outcome = PT_OUTCOME_PASS,
				 .duration = 0,
				 .attempt = 1,
				 .started_ns = pt__wall_ns() };
	struct pt__recset x = { 0 };
	char *text = NULL;
	size_t len = 0;
	int r = pt_manifest_resource(c->u, c->manifest, &text, &len);

	if (r == 0)
		r = pt__run_parse_text(j->id, text, len, &x);
	pt_free(text);
	if (r == 0)
		r = record(c, k, &res, &x, true);
	pt__recset_free(&x);
	return r;
}

/* Starts what can start, records what is blocked. Returns 1 if it acted. */
static int schedule(struct pt_run *c)
{
	size_t n = pt_session_run_list_count(c->s);
	int acted = 0, r;

	if (c->interrupted || c->failed_fast || c->storage_error || !c->ex)
		return 0;
	while (c->n_look) {
		size_t i = c->look[0], k;
		const struct pt_job *j;
		struct pt__jst *js;

		if (i >= n) { /* cannot happen: look_all follows the list */
			look_pop(c);
			continue;
		}
		k = pt_session_run_list_get(c->s, i);
		j = pt_session_job(c->s, k);
		js = &c->js[k];
		if (js->done || js->submitted) {
			look_pop(c);
			js->looking = false;
			continue;
		}
		if (pt_session_result(c->s, k)->outcome != PT_OUTCOME_NONE) {
			look_pop(c);
			js->looking = false;
			js->done = true; /* resumed */
			continue;
		}
		/*
		 * -j1 is PlainBox's order exactly: nothing after the job in
		 * the executor is looked at (not even a manual or a blocked
		 * one) before that job is done.
		 */
		if (c->o.jobs == 1 &&
		    c->xo->queued(c->ex) + c->xo->running(c->ex) > 0)
			break;
		/* Looked at now; again only when its readiness changes. */
		look_pop(c);
		js->looking = false;
		if (!c->o.shuffle)
			js->order = i + 1;
		if (pt_session_can_start(c->s, k)) {
			/* Without an operator, a user-verify job runs and
			 * stays undecided: checkbox-cli's silent mode. */
			if (is_manual(j) && !can_ask(c) &&
			    j->plugin != PT_PLUGIN_USER_VERIFY) {
				char why[128];
				struct pt_result res = {
					.outcome = PT_OUTCOME_SKIP,
					.duration = 0,
					.attempt = 1,
					.started_ns = pt__wall_ns(),
					.comments = why,
				};
				snprintf(why, sizeof(why),
					 "needs an operator: skipped (%s)",
					 c->o.no_operator ? c->o.no_operator
							  : "no operator");
				r = record(c, k, &res, NULL, true);
				if (r < 0)
					return r;
				return 1; /* readiness changed: rescan */
			}
			if (j->plugin == PT_PLUGIN_MANUAL) {
				struct pt_result res = {
					.attempt = 1,
					.started_ns = pt__wall_ns()
				};
				char comment[512];
				double t0 = now_s();

				verdict(c, j, NULL, &res, comment,
					sizeof(comment));
				res.duration = now_s() - t0;
				r = record(c, k, &res, NULL, true);
				if (r < 0)
					return r;
				return 1;
			}
			if (!strcmp(j->id, PT_MANIFEST_JOB)) {
				r = run_manifest(c, k);
				if (r < 0)
					return r;
				return 1;
			}
			if ((j->plugin == PT_PLUGIN_USER_INTERACT ||
			     j->plugin == PT_PLUGIN_USER_INTERACT_VERIFY) &&
			    c->ev.confirm)
				c->ev.confirm(c->ev.ctx, j);
			/* A job run again (--rerun-failed) counts on. */
			r = submit(c, k,
				   (unsigned)pt_session_result_history_count(
					   c->s, k) +
					   1);
			if (r < 0)
				return r;
			acted = 1;
			continue;
		}
		{
			enum pt_outcome o = pt_session_blocked_outcome(c->s, k);
			char why[1024];
			struct pt_result res = { .outcome = o,
						 .duration = 0,
						 .attempt = 1,
						 .started_ns = pt__wall_ns() };

			if (o == PT_OUTCOME_NONE)
				continue;
			/* an unmet manifest in upstream's words */
			if (o != PT_OUTCOME_SKIPPED_MANIFEST ||
			    pt_session_skip_reason(c->s, k, why, sizeof(why)) <=
				    0)
				inhibitor_text(c, k, why, sizeof(why));
			res.comments = why[0] ? why : NULL;
			r = record(c, k, &res, NULL, true);
			if (r < 0)
				return r;
			return 1;
		}
	}
	return acted;
}

static bool needs_verdict(const struct pt_job *j)
{
	return j->plugin == PT_PLUGIN_USER_VERIFY ||
	       j->plugin == PT_PLUGIN_USER_INTERACT_VERIFY;
}

/* An attempt as it ran, for the history (a hint: failures ignored). */
static void hist_add(struct pt_run *c, const struct pt_job *j,
		     const struct pt_exec_done *d, const struct pt_result *res)
{
	struct pt_store_hist x = {
		.job_id = j->id,
		.session_id = c->st ? pt_store_id(c->st) : "",
		.seed = c->o.seed,
		.outcome = res->outcome,
		.attempt = d->attempt ? d->attempt : 1,
		.duration = res->duration > 0 ? res->duration : 0,
		.maxrss_kib = d->maxrss_kib,
	};

	if (res->outcome == PT_OUTCOME_NONE || x.seed > INT64_MAX)
		return;
	if (!c->hist && pt_store_history_new(&c->hist) < 0)
		return;
	(void)pt_store_history_add(c->hist, &x);
}

const struct pt_store_history *pt_run_history(const struct pt_run *run)
{
	return run ? run->hist : NULL;
}

static void chaos_note(struct pt_run *c, const struct pt_job *j,
		       unsigned attempt, char *buf, size_t size);

/* "1.5 s", "12 ms": a duration for a note. */
static void fmt_secs(char *b, size_t n, double s)
{
	if (s < 1)
		snprintf(b, n, "%.3g ms", s * 1e3);
	else
		snprintf(b, n, "%.3g s", s);
}

static void fmt_bytes(char *b, size_t n, double v)
{
	if (v < 1048576)
		snprintf(b, n, "%.4g KiB", v / 1024);
	else if (v < 1073741824)
		snprintf(b, n, "%.4g MiB", v / 1048576);
	else
		snprintf(b, n, "%.4g GiB", v / 1073741824);
}

/*
 * Budgets and history (docs/run.md, "Budgets"): the attempt's comments
 * with "over budget: ..." and "slower than its history: ..." added;
 * with budget_fail, a pass over budget becomes a fail.
 */
static const char *notes(struct pt_run *c, const struct pt_job *j,
			 const struct pt_exec_done *d, struct pt_result *res,
			 char *buf, size_t size)
{
	struct pt__jst *js = &c->js[(size_t)(uintptr_t)d->udata];
	double bt = j->budget_time > 0 ? j->budget_time : c->o.budget_time;
	uint64_t bm = j->budget_memory ? j->budget_memory : c->o.budget_memory;
	double mem = (double)d->maxrss_kib * 1024, med;
	size_t o = 0, first;
	char a[32], b[32];
	bool over = false;

	char cn[768];

	buf[0] = 0;
	if (res->comments)
		o += (size_t)snprintf(buf, size, "%s", res->comments);
	chaos_note(c, j, d->attempt ? d->attempt : 1, cn, sizeof(cn));
	if (cn[0] && o < size)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? "; " : "",
				      cn);
	if (bt > 0 && res->duration > bt && o < size) {
		fmt_secs(a, sizeof(a), res->duration);
		fmt_secs(b, sizeof(b), bt);
		o += (size_t)snprintf(buf + o, size - o,
				      "%sover budget: ran %s, budget %s",
				      o ? "; " : "", a, b);
		over = true;
	}
	if (bm && d->maxrss_kib && mem > (double)bm && o < size) {
		fmt_bytes(a, sizeof(a), mem);
		fmt_bytes(b, sizeof(b), (double)bm);
		o += (size_t)snprintf(buf + o, size - o,
				      "%sover budget: peak memory %s, budget "
				      "%s",
				      o ? "; " : "", a, b);
		over = true;
	}
	/* Slow: > 3x the median of at least 3 earlier attempts, and 40 ms
	 * more (below that, the noise of starting a process on a loaded
	 * machine: a 4 ms job took 22 ms under a load of 20). */
	double sf = c->o.slow_factor ? c->o.slow_factor : 3;

	if (sf > 0 && pt_store_history_job(c->past, j->id, &first) >= 3 &&
	    (res->outcome == PT_OUTCOME_PASS ||
	     res->outcome == PT_OUTCOME_FAIL) &&
	    (med = pt_store_history_median(c->past, j->id)) > 0 &&
	    res->duration > sf * med && res->duration > med + 0.04 &&
	    o < size) {
		fmt_secs(a, sizeof(a), res->duration);
		fmt_secs(b, sizeof(b), med);
		o += (size_t)snprintf(buf + o, size - o,
				      "%sslower than its history: ran %s, "
				      "more than %gx its median %s",
				      o ? "; " : "", a, sf, b);
		js->slow = true;
	}
	if (over) {
		js->over_budget = true;
		if (c->o.budget_fail && res->outcome == PT_OUTCOME_PASS)
			res->outcome = PT_OUTCOME_FAIL;
	}
	return buf[0] ? buf : NULL;
}

static int on_done(struct pt_run *c, const struct pt_exec_done *d)
{
	size_t k = (size_t)(uintptr_t)d->udata;
	const struct pt_job *j = pt_session_job(c->s, k);
	struct pt__jst *js = &c->js[k];
	struct pt_result res = d->result;
	struct pt__recset x = { 0 };
	char comment[1024], note[1536];
	bool final = true, retry = false;
	int r = 0;

	js->submitted = false;
	if (!d->started || (res.outcome == PT_OUTCOME_NONE && c->interrupted))
		return 0; /* not run: no result, resume runs it */
	res.lane = d->lane;
	if (j->plugin == PT_PLUGIN_RESOURCE) {
		r = pt__run_parse_records(c, j->id, res.io_log, &x);
		if (r < 0) {
			snprintf(comment, sizeof(comment),
				 "cannot read its records: %s", pt_strerror(r));
			res.comments = comment;
			pt__recset_free(&x);
		}
	} else if (j->plugin == PT_PLUGIN_ATTACHMENT && c->st && res.io_log) {
		char *path = pt__run_abs_path(c, res.io_log), *out = NULL;
		size_t len = 0;

		r = path ? pt_runner_iolog_read(path, PT_STREAM_STDOUT,
						PT_RUN_STDOUT_LIMIT, &out, &len,
						NULL)
			 : -ENOMEM;
		if (r == 0)
			r = pt_store_attach(c->st, j->id, "stdout", out, len,
					    NULL);
		if (r < 0) {
			snprintf(comment, sizeof(comment),
				 "attachment not stored: %s", pt_strerror(r));
			res.comments = comment;
		}
		pt_free(out);
		pt__free(path);
	} else if (needs_verdict(j) && can_ask(c)) {
		verdict(c, j, &d->result, &res, comment, sizeof(comment));
	} else if (j->plugin == PT_PLUGIN_USER_VERIFY &&
		   res.outcome != PT_OUTCOME_TIMEOUT &&
		   res.outcome != PT_OUTCOME_CRASH) {
		/* checkbox-cli's silent mode: the operator decides, and
		 * there is none */
		snprintf(comment, sizeof(comment),
			 "needs an operator to decide (%s); its command ended "
			 "with exit code %d",
			 c->o.no_operator ? c->o.no_operator : "no operator",
			 res.return_code);
		res.outcome = PT_OUTCOME_UNDECIDED;
		res.comments = comment;
	}
	hist_add(c, j, d, &res);
	res.comments = notes(c, j, d, &res, note, sizeof(note));
	/* --repeat / --until-fail, then --retries */
	js->runs++;
	if (pt__run_is_fail(res.outcome))
		js->fails++;
	if (c->o.repeat > 1 && js->runs < c->o.repeat &&
	    !(c->o.until_fail && js->fails))
		retry = true;
	else if (c->o.repeat <= 1 && pt__run_is_fail(res.outcome) &&
		 js->attempt <= c->o.retries)
		retry = true;
	if (retry && !c->interrupted && !c->failed_fast) {
		final = false;
	} else if (c->o.repeat <= 1 && js->fails &&
		   res.outcome == PT_OUTCOME_PASS) {
		/* --retries: a pass after failed attempts is flaky. */
		res.flaky = true;
	} else if (c->o.repeat > 1 && js->fails && js->fails < js->runs) {
		snprintf(comment, sizeof(comment),
			 "flaky: failed %u of %u runs%s%s", js->fails, js->runs,
			 res.comments ? "; last: " : "",
			 res.comments ? res.comments : "");
		res.comments = comment;
		res.outcome = PT_OUTCOME_FAIL;
	} else if (c->o.repeat > 1 && js->fails &&
		   !pt__run_is_fail(res.outcome)) {
		res.outcome = PT_OUTCOME_FAIL;
	}
	if (final) {
		c->n_over_budget += js->over_budget;
		c->n_slow += js->slow;
	}
	r = record(c, k, &res, x.recs ? &x : NULL, final);
	pt__recset_free(&x);
	if (r < 0)
		return r;
	if (!final)
		r = submit(c, k, js->attempt + 1);
	return r;
}

/* ---- the loop */

void pt_run_cancel(struct pt_run *run, bool terminate)
{
	if (terminate)
		run->interrupted = true;
	else
		run->failed_fast = true;
	if (run->ex)
		run->xo->cancel(run->ex, terminate);
}

void pt_run_abort(struct pt_run *run)
{
	run->interrupted = true;
	if (run->ex) {
		run->xo->release(run->ex);
		run->ex = NULL;
	}
}

/* The earlier of two poll timeouts (-1: none). */
static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	return b < 0 || a < b ? a : b;
}

/*
 * How long the waiting results may still wait, in ms: -1 none wait, 0
 * commit them now (due, or a slot would idle).
 */
static int group_wait_ms(struct pt_run *c)
{
	int64_t left;

	if (!c->n_wait)
		return -1;
	if (c->xo->running(c->ex) + c->xo->queued(c->ex) < c->o.jobs)
		return 0;
	left = pt_store_group_due_ns(c->st) - pt__now_ns();
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

static int run_loop(struct pt_run *c)
{
	int r;

	for (;;) {
		struct pt_exec_done d;
		struct pt_pollfd p[2];
		int t;

		while ((r = schedule(c)) == 1)
			;
		if (r < 0)
			return r;
		if (!c->ex)
			return 0;
		/*
		 * Waiting results are committed when due, and before a slot
		 * would stay idle (a job that depends on them may be next).
		 */
		t = group_wait_ms(c);
		if (t == 0) {
			if ((r = flush_waiting(c)) < 0)
				return r;
			continue;
		}
		if (!c->xo->running(c->ex) && !c->xo->queued(c->ex)) {
			/* Nothing runs: done, unless a step hands something */
			r = c->xo->step(c->ex, 0, &d);
			if (r == 1) {
				if ((r = on_done(c, &d)) < 0)
					return r;
				continue;
			}
			return r;
		}
		p[0] = (struct pt_pollfd){ .fd = c->xo->fd(c->ex),
					   .events = PT_POLL_IN };
		p[1] = (struct pt_pollfd){ .fd = c->ev.wake_fd,
					   .events = PT_POLL_IN };
		t = min_timeout(c->xo->timeout(c->ex), t);
		if (c->ev.tick_ms > 0)
			t = min_timeout(t, c->ev.tick_ms);
		if (t != 0 &&
		    (r = pt__poll(p, c->ev.wake_fd >= 0 ? 2 : 1, t)) < 0)
			return r;
		if (t != 0 && c->ev.wake_fd >= 0 &&
		    (p[1].revents & PT_POLL_IN) && c->ev.wake)
			c->ev.wake(c->ev.ctx, c);
		if (!c->ex)
			return 0;
		/*
		 * One completion at a time, scheduling after each: the jobs it
		 * made ready are submitted before the executor picks the next
		 * job to start (at -j1 the run-list order depends on it).
		 */
		r = c->xo->step(c->ex, 0, &d);
		if (r == 1 && (r = on_done(c, &d)) < 0)
			return r;
		if (r < 0)
			return r;
		progress(c);
	}
}

static int on_start(void *ctx, const struct pt_job *job, void *udata,
		    unsigned attempt)
{
	struct pt_run *c = ctx;
	int r;

	(void)udata;
	if (c->ev.job_started)
		c->ev.job_started(c->ev.ctx, job, attempt);
	/*
	 * The store keeps one running job, PlainBox's running_job_name: it
	 * is meaningful at -j1 (and for noreturn jobs, which run alone in
	 * effect). At -jN a job killed with the executor has no result and
	 * runs again on resume; recording every start would cost a
	 * transaction per job for nothing.
	 */
	if (!c->st || (c->o.jobs != 1 && !(job->flags & PT_JOB_NORETURN)))
		return 0;
	r = pt_store_set_running(c->st, job->id, attempt, pt__wall_ns());
	/* A job that may not come back is recorded durably first. */
	if (r == 0 && (job->flags & PT_JOB_NORETURN)) {
		r = pt_store_begin(c->st);
		if (r == 0)
			r = pt_store_set_running(c->st, job->id, attempt,
						 pt__wall_ns());
		if (r == 0)
			r = pt_store_commit(c->st, PT_SYNC_FULL);
	}
	return r;
}

static int on_handle(void *ctx, const struct pt_job *job, void *udata,
		     unsigned attempt, const char *handle)
{
	struct pt_run *c = ctx;

	(void)udata;
	if (!c->st)
		return 0;
	return pt_store_set_handle(c->st, job->id, attempt, handle,
				   PT_SYNC_FULL);
}

/* io logs go to the store's session directory. */
static int log_open(void *ctx, const struct pt_job *job, unsigned attempt,
		    void **ret, const char **ret_path)
{
	struct pt_run *c = ctx;
	struct pt_iolog *w = NULL;
	int r = pt_store_iolog_open(c->st, job->id, attempt, &w);

	if (r < 0)
		return r;
	*ret = w;
	*ret_path = pt_iolog_path(w);
	return 0;
}

static int log_append(void *ctx, void *log, int64_t off, int s,
		      const void *data, size_t len)
{
	(void)ctx;
	return pt_iolog_append(log, off, (enum pt_stream)s, data, len);
}

static int log_close(void *ctx, void *log)
{
	(void)ctx;
	pt_iolog_free(log);
	return 0;
}

/* ---- chaos (docs/chaos.md) */

#define CHAOS_LOG "chaos.log"

/*
 * "PROCTOR_PRELOAD=mode=chaos,seed=S,log=PATH,spec=..." for spec (the
 * spec is the rest of the block: ',' between rules becomes ';'), or
 * "PROCTOR_PRELOAD=mode=off" (the runtime inert) for NULL.
 */
static int chaos_block(struct pt_run *c, const char *spec, char **ret)
{
	struct pt_buf b = PT_BUF_INIT;
	int r;

	if (!spec)
		r = pt__buf_adds(&b, "PROCTOR_PRELOAD=mode=off");
	else
		r = pt__buf_addf(&b,
				 "PROCTOR_PRELOAD=mode=chaos,seed=%llu,log=%s/"
				 "%s,spec=",
				 (unsigned long long)c->o.seed, c->sess_dir,
				 CHAOS_LOG);
	for (const char *p = spec; r == 0 && p && *p; p++)
		r = pt__buf_addch(&b, *p == ',' ? ';' : *p);
	if (r < 0) {
		pt__buf_release(&b);
		return r;
	}
	*ret = pt__buf_detach(&b, NULL);
	return 0;
}

/* The environment that preloads the fault runtime into every job. */
static int chaos_env(struct pt_run *c)
{
	struct pt_buf b = PT_BUF_INIT;
	const char *old = getenv("LD_PRELOAD"), *aold = getenv("ASAN_OPTIONS");
	int r;

	pt__strv_free(&c->chaos_env);
	if (!c->o.chaos_runtime || !c->sess_dir || strpbrk(c->sess_dir, ",:") ||
	    strpbrk(c->o.chaos_runtime, ":"))
		return -EINVAL;
	r = pt__buf_addf(&b, "LD_PRELOAD=%s%s%s", c->o.chaos_runtime,
			 old && *old ? ":" : "", old ? old : "");
	if (r == 0)
		r = pt__strv_add(&c->chaos_env, b.s);
	pt__buf_reset(&b);
	if (r == 0) {
		char *block = NULL;

		r = chaos_block(c, c->o.chaos, &block);
		if (r == 0)
			r = pt__strv_add(&c->chaos_env, block);
		pt__free(block);
	}
	/* A sanitized program under test must accept a runtime before its
	 * own. */
	if (r == 0)
		r = pt__buf_addf(&b,
				 "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
				 aold ? aold : "", aold && *aold ? ":" : "");
	if (r == 0)
		r = pt__strv_add(&c->chaos_env, b.s);
	pt__buf_release(&b);
	return r;
}

/* A process fault's line of the chaos log (the runner's). */
/*
 * The faults injected into an attempt ("chaos: 2 faults: write EIO at
 * call 3 (pid 12), ..."), from the session's chaos log (chaos-notes.c).
 */
static void chaos_note(struct pt_run *c, const struct pt_job *j,
		       unsigned attempt, char *buf, size_t size)
{
	buf[0] = 0;
	if (c->o.chaos && c->chaos_logp)
		pt__chaos_notes_get(&c->chaos_notes, c->chaos_logp, j->id,
				    attempt, buf, size);
}

static int make_executor(struct pt_run *c)
{
	struct pt_exec_iolog_ops ops = { log_open, log_append, log_close, c };
	struct pt_exec_config cfg = { 0 };
	struct pt_exec_host host = { .on_start = on_start,
				     .save_handle = on_handle,
				     .ctx = c };
	struct pt_diags *d = NULL;

	if (c->st && !c->dur && pt_diags_new(&d) == 0) {
		/* A hint only: a damaged file is replaced at the end. */
		if (pt_store_durations_load(c->o.repo, d, &c->dur) < 0) {
			if (c->ev.diags)
				c->ev.diags(c->ev.ctx, d, 0);
			pt__run_msg(c, PT_RUN_MSG_WARNING,
				    "learned durations ignored");
		}
		pt_diags_free(d);
	}
	/* A hint too: without it, nothing is flagged slow. */
	if (c->st && !c->past &&
	    pt_store_history_load(c->o.repo, NULL, &c->past) < 0)
		pt__run_msg(c, PT_RUN_MSG_WARNING,
			    "job history unreadable: slow jobs not flagged");
	cfg.jobs = c->o.jobs;
	cfg.timeout = c->o.timeout;
	cfg.keep_tmp = c->o.keep_tmp;
	cfg.seed = c->o.seed;
	cfg.session_id = c->st ? pt_store_id(c->st) : "";
	cfg.ports = c->o.ports;
	cfg.options = c->exec_opts.n ? strv_v(&c->exec_opts) : NULL;
	if (c->o.chaos) {
		int e = chaos_env(c);
		if (e < 0)
			return e;
		if (c->xo != pt_executor_local() &&
		    c->xo != pt_executor_slurm())
			pt__run_msg(c, PT_RUN_MSG_WARNING,
				    "--chaos: executor '%s' may not inject "
				    "the faults (local and slurm do)",
				    c->xo->name);
		cfg.env = strv_v(&c->chaos_env);
		cfg.chaos = c->o.chaos;
		pt__free(c->chaos_logp);
		c->chaos_logp = pt__run_abs_path(c, CHAOS_LOG);
		if (!c->chaos_logp)
			return -ENOMEM;
		cfg.chaos_log = c->chaos_logp;
		pt__chaos_notes_skip_existing(&c->chaos_notes, c->chaos_logp);
	}
	if (c->st)
		host.iolog = &ops; /* copied by bind */
	/* a persistent executor keeps its files in the session */
	if (c->st && (c->xo->flags & PT_EXEC_PERSISTENT)) {
		struct pt__strv o = { 0 };
		char *dir = NULL;
		bool has_dir = false;
		int r = 0;

		for (size_t i = 0; i < c->exec_opts.n; i++) {
			has_dir |= !strncmp(c->exec_opts.v[i], "dir=", 4);
			r = r ? r : pt__strv_add(&o, c->exec_opts.v[i]);
		}
		if (!has_dir && r == 0) {
			dir = pt__malloc(strlen(pt_store_dir(c->st)) + 16);
			if (!dir)
				r = -ENOMEM;
			else {
				snprintf(dir, strlen(pt_store_dir(c->st)) + 16,
					 "dir=%s/executor",
					 pt_store_dir(c->st));
				r = pt__strv_add(&o, dir);
			}
		}
		cfg.options = o.n ? strv_v(&o) : NULL;
		if (r == 0)
			r = c->xo->bind(&cfg, &host, &c->ex);
		pt__free(dir);
		pt__strv_free(&o);
		return r;
	}
	return c->xo->bind(&cfg, &host, &c->ex);
}

/*
 * resume with a persistent executor: the jobs it may still run are
 * adopted (attach) instead of run again; one that is gone runs again.
 */
static int attach_pending(struct pt_run *c)
{
	int r = 0;

	for (size_t i = 0; i < c->n_pending && c->ex && r == 0; i++) {
		struct pt__pending *p = &c->pending[i];
		const struct pt_job *j = pt_session_job(c->s, p->k);
		struct pt_exec_spec q = {
			.job = j,
			.order = c->js[p->k].order,
			.estimate = estimate(c, j),
			.attempt = p->attempt,
			.udata = (void *)(uintptr_t)p->k,
		};

		r = c->xo->attach(c->ex, &q, p->handle);
		if (r == 0) {
			c->js[p->k].submitted = true;
			c->js[p->k].attempt = p->attempt;
		} else if (r == PT_ENOTFOUND) {
			r = 0; /* gone: it runs again */
		}
	}
	for (size_t i = 0; i < c->n_pending; i++)
		pt__free(c->pending[i].handle);
	pt__free(c->pending);
	c->pending = NULL;
	c->n_pending = 0;
	return r;
}

int pt_run_drive(struct pt_run *c)
{
	int r, r2;

	if (!c || c->readonly)
		return -EINVAL;
	if (!c->ex && !c->interrupted && (r = make_executor(c)) < 0)
		return r;
	if ((r = attach_pending(c)) < 0)
		return r;
	if (c->st && c->o.jobs != 1 && !c->wait) {
		c->wait = pt__calloc(PT_STORE_GROUP_MAX, sizeof(*c->wait));
		if (!c->wait)
			return -ENOMEM;
	}
	/* Whatever happened since the run list was made (resume, results
	 * cleared by --rerun-failed): every job is looked at first. */
	r = look_all(c);
	if (r == 0)
		r = run_loop(c);
	/* However the loop ended (done, interrupted, error), what waits is
	 * committed and reported. */
	r2 = flush_waiting(c);
	pt__free(c->wait);
	c->wait = NULL;
	return r < 0 ? r : r2;
}

static int record_history(struct pt_run *c)
{
	size_t n = pt_store_history_count(c->hist);
	struct pt_store_hist *v;
	int r;

	if (!n)
		return 0;
	v = pt__calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = *pt_store_history_get(c->hist, i);
	r = pt_store_history_record(c->o.repo, v, n, NULL);
	pt__free(v);
	return r;
}

int pt_run_finish(struct pt_run *c)
{
	struct pt_run_progress p;
	int e = 0;

	if (!c || !c->st || c->readonly || c->storage_error)
		return 0;
	pt_run_progress(c, &p);
	e = pt_store_set_running(c->st, NULL, 0, 0);
	if (e == 0 && !p.per_outcome[PT_OUTCOME_NONE])
		e = pt_store_set_flag(c->st, PT_SESSION_FLAG_INCOMPLETE, false);
	if (e < 0) {
		pt__run_msg(c, PT_RUN_MSG_STORAGE,
			    "cannot update the session: %s", pt_strerror(e));
		c->storage_error = true;
		return e;
	}
	/* For the next sessions' order (docs/runner.md). */
	if ((e = pt_store_learn_durations(c->st, NULL)) < 0)
		pt__run_msg(c, PT_RUN_MSG_WARNING, "durations not learned: %s",
			    pt_strerror(e));
	if ((e = record_history(c)) < 0)
		pt__run_msg(c, PT_RUN_MSG_WARNING, "history not recorded: %s",
			    pt_strerror(e));
	return 0;
}

void pt_run_progress(const struct pt_run *c, struct pt_run_progress *p)
{
	size_t n = c->s ? pt_session_run_list_count(c->s) : 0;

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		size_t k = pt_session_run_list_get(c->s, i);
		const struct pt_result *res = pt_session_result(c->s, k);

		p->per_outcome[res->outcome]++;
		if (res->flaky)
			p->flaky++;
	}
	p->over_budget = c->n_over_budget;
	p->slow = c->n_slow;
	p->total = c->n_total;
	p->done = c->n_done;
	p->failed = c->n_fail;
	p->running = c->ex ? c->xo->running(c->ex) : 0;
	p->interrupted = c->interrupted;
	p->failed_fast = c->failed_fast;
	p->storage_error = c->storage_error;
	/* A requires or template-filter that does not compile is a problem
	 * of the plan that no result shows (a template then generates
	 * nothing): the run must not end as if all passed. */
	for (size_t i = 0; i < pt_session_problem_count(c->s); i++)
		if (pt_session_problem(c->s, i)->kind ==
		    PT_PROBLEM_RESOURCE_PROGRAM)
			p->program_errors++;
}

/* ---- creation */

void pt_run_options_init(struct pt_run_options *o)
{
	memset(o, 0, sizeof(*o));
	o->ports = -1;
}

struct pt_run *pt__run_alloc(const struct pt_run_events *ev)
{
	struct pt_run *run = pt__calloc(1, sizeof(*run));

	if (!run)
		return NULL;
	if (ev)
		run->ev = *ev;
	else
		run->ev.wake_fd = -1;
	if (pt_diags_new(&run->diags) < 0)
		return pt_run_free(run);
	return run;
}

static int dup_opt(char **dst, const char *s)
{
	pt__free(*dst);
	*dst = NULL;
	if (s && !(*dst = pt__strdup(s)))
		return -ENOMEM;
	return 0;
}

static int copy_strv(struct pt__strv *dst, const char *const *v, size_t n)
{
	int r = 0;

	pt__strv_free(dst);
	for (size_t i = 0; i < n && !r; i++)
		r = pt__strv_add(dst, v[i]);
	return r;
}

int pt__run_set_options(struct pt_run *run, const struct pt_run_options *o)
{
	size_t nx = 0;
	int r;

	while (o->executor_options && o->executor_options[nx])
		nx++;
	run->o = *o;
	if ((r = dup_opt(&run->plan, o->plan)) ||
	    (r = dup_opt(&run->ns, o->ns)) ||
	    (r = dup_opt(&run->repo, o->repo)) ||
	    (r = dup_opt(&run->no_operator, o->no_operator)) ||
	    (r = dup_opt(&run->chaos, o->chaos)) ||
	    (r = dup_opt(&run->chaos_rt, o->chaos_runtime)) ||
	    (r = dup_opt(&run->normal_user, o->normal_user)) ||
	    (r = dup_opt(&run->launcher, o->launcher_text)) ||
	    (r = dup_opt(&run->manifest_path, o->manifest)) ||
	    (r = copy_strv(&run->paths, o->paths, o->n_paths)) ||
	    (r = copy_strv(&run->include, o->include, o->n_include)) ||
	    (r = copy_strv(&run->exclude, o->exclude, o->n_exclude)) ||
	    (r = copy_strv(&run->exec_opts, o->executor_options, nx)))
		return r;
	for (size_t i = 0; o->job_env && o->job_env[i]; i++)
		if ((r = pt__strv_add(&run->job_env, o->job_env[i])) < 0)
			return r;
	for (size_t i = 0; o->manifest_answers && o->manifest_answers[i]; i++)
		if ((r = pt__strv_add(&run->manifest_answers,
				      o->manifest_answers[i])) < 0)
			return r;
	run->o.plan = run->plan;
	run->o.ns = run->ns;
	run->o.repo = run->repo;
	run->o.no_operator = run->no_operator;
	run->o.chaos = run->chaos;
	run->o.chaos_runtime = run->chaos_rt;
	run->o.normal_user = run->normal_user;
	run->o.launcher_text = run->launcher;
	run->o.job_env = run->job_env.n ? strv_v(&run->job_env) : NULL;
	run->o.manifest_answers =
		run->manifest_answers.n ? strv_v(&run->manifest_answers) : NULL;
	run->o.manifest = run->manifest_path;
	run->o.paths = strv_v(&run->paths);
	run->o.include = strv_v(&run->include);
	run->o.exclude = strv_v(&run->exclude);
	run->o.executor_options = strv_v(&run->exec_opts);
	run->xo_given = o->executor != NULL;
	run->xo = o->executor ? o->executor : pt_executor_local();
	run->o.executor = run->xo;
	return 0;
}

/* Loads units from the paths of the options. */
int pt__run_load_units(struct pt_run *c)
{
	struct pt_load_options lo = { .ns = c->o.ns };
	int r;

	if (pt_units_new(&c->u) < 0)
		return -ENOMEM;
	r = pt_units_load_paths(c->u, c->paths.n, strv_v(&c->paths),
				c->o.ns ? &lo : NULL, c->diags);
	pt__run_diags(c, 0);
	if (r >= 0 && (c->o.manifest || c->manifest_answers.n)) {
		size_t nd = pt_diags_count(c->diags);

		r = pt_manifest_new(&c->manifest);
		if (r == 0 && c->o.manifest)
			r = pt_manifest_load(c->manifest, c->o.manifest,
					     c->diags);
		/* a launcher's answers, over the file's */
		for (size_t i = 0; r >= 0 && i < c->manifest_answers.n; i++) {
			char *kv = c->manifest_answers.v[i];
			char *eq = strchr(kv, '=');
			if (!eq)
				continue;
			*eq = '\0';
			r = pt_manifest_set(c->manifest, kv, eq + 1);
			if (r < 0 && r != -ENOMEM)
				pt__run_msg(c, PT_RUN_MSG_USAGE,
					    "manifest answer %s: '%s' is not "
					    "true, false or a number",
					    kv, eq + 1);
			*eq = '=';
			if (r < 0)
				return r;
		}
		if (r < 0 && r != -ENOMEM) {
			/* the diagnostic names the file and the problem */
			const struct pt_diag *g =
				pt_diags_count(c->diags) > nd
					? pt_diags_get(c->diags, nd)
					: NULL;

			if (g && g->line)
				pt__run_msg(c, PT_RUN_MSG_USAGE, "%s:%u: %s",
					    g->file, g->line, g->message);
			else
				pt__run_msg(c, PT_RUN_MSG_USAGE, "%s: %s",
					    c->o.manifest,
					    g ? g->message : pt_strerror(r));
		}
	}
	return r < 0 ? r : 0;
}

int pt__run_make_session(struct pt_run *c)
{
	size_t n = pt_units_job_count(c->u);
	const struct pt_job **jobs = pt__calloc(n + 1, sizeof(*jobs));
	int r;

	if (!jobs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		jobs[i] = pt_units_job(c->u, i);
	r = pt_session_new(jobs, n, &c->s);
	pt__free(jobs);
	if (r == 0) {
		struct pt_session_callbacks cb = { .readiness_changed =
							   on_readiness,
						   .ctx = c };
		pt_session_set_callbacks(c->s, &cb);
	}
	if (r == 0)
		r = pt_session_attach_units(c->s, c->u, c->diags);
	return r;
}

/* Shuffles the order keys of the run list (independent jobs only move:
 * readiness still orders dependents after their dependencies). */
static void shuffle(struct pt_run *c)
{
	size_t n = pt_session_run_list_count(c->s);
	uint64_t x = c->o.seed ? c->o.seed : 1;
	uint64_t *keys = pt__calloc(n + 1, sizeof(*keys));

	if (!keys)
		return;
	for (size_t i = 0; i < n; i++)
		keys[i] = i + 1;
	for (size_t i = n; i > 1; i--) {
		size_t k;
		uint64_t t;

		/* splitmix64 */
		x += 0x9e3779b97f4a7c15ull;
		t = x;
		t = (t ^ (t >> 30)) * 0xbf58476d1ce4e5b9ull;
		t = (t ^ (t >> 27)) * 0x94d049bb133111ebull;
		t ^= t >> 31;
		k = (size_t)(t % i);
		t = keys[i - 1];
		keys[i - 1] = keys[k];
		keys[k] = t;
	}
	for (size_t i = 0; i < n; i++)
		c->js[pt_session_run_list_get(c->s, i)].order = keys[i];
	pt__free(keys);
}

static int storage(struct pt_run *c, int r, struct pt_diags *d)
{
	if (d && c->ev.diags)
		c->ev.diags(c->ev.ctx, d, 0);
	pt__run_msg(c,
		    r == PT_ELOCKED || r == PT_ECORRUPT || r == PT_EINCOMPAT
			    ? PT_RUN_MSG_STORAGE
			    : PT_RUN_MSG_ERROR,
		    "session storage: %s", pt_strerror(r));
	return r;
}

/* The plan of the session: what resume needs to rebuild it. */
static int create_store(struct pt_run *c)
{
	const struct pt_run_options *o = &c->o;
	struct pt_store_kv *plan;
	struct pt_store_meta meta = { 0 };
	struct pt_diags *sd = NULL;
	char seedbuf[32], jobsbuf[16], tbuf[32], rbuf[16], pbuf[16], bbuf[64];
	size_t np = 0;
	int r;

	plan = pt__calloc(o->n_paths + o->n_include + o->n_exclude +
				  c->job_env.n + c->manifest_answers.n +
				  c->exec_opts.n + 14,
			  sizeof(*plan));
	if (!plan || pt_diags_new(&sd) < 0) {
		pt__free(plan);
		return -ENOMEM;
	}
	for (size_t i = 0; i < o->n_paths; i++)
		plan[np++] = (struct pt_store_kv){ "path", o->paths[i] };
	if (o->plan)
		plan[np++] = (struct pt_store_kv){ "test-plan", o->plan };
	if (o->manifest)
		plan[np++] = (struct pt_store_kv){ "manifest", o->manifest };
	if (o->ns)
		plan[np++] = (struct pt_store_kv){ "namespace", o->ns };
	for (size_t i = 0; i < o->n_include; i++)
		plan[np++] = (struct pt_store_kv){ "include", o->include[i] };
	for (size_t i = 0; i < o->n_exclude; i++)
		plan[np++] = (struct pt_store_kv){ "exclude", o->exclude[i] };
	if (o->normal_user)
		plan[np++] =
			(struct pt_store_kv){ "normal-user", o->normal_user };
	for (size_t i = 0; i < c->job_env.n; i++)
		plan[np++] = (struct pt_store_kv){ "job-env", c->job_env.v[i] };
	for (size_t i = 0; i < c->manifest_answers.n; i++)
		plan[np++] = (struct pt_store_kv){ "manifest-answer",
						   c->manifest_answers.v[i] };
	if (o->launcher_text)
		plan[np++] =
			(struct pt_store_kv){ "launcher", o->launcher_text };
	snprintf(seedbuf, sizeof(seedbuf), "%llu", (unsigned long long)o->seed);
	snprintf(jobsbuf, sizeof(jobsbuf), "%u", o->jobs);
	snprintf(tbuf, sizeof(tbuf), "%g", o->timeout);
	snprintf(rbuf, sizeof(rbuf), "%u", o->retries);
	plan[np++] = (struct pt_store_kv){ "seed", seedbuf };
	/* resume injects the same faults (docs/chaos.md) */
	if (o->chaos)
		plan[np++] = (struct pt_store_kv){ "chaos", o->chaos };
	plan[np++] = (struct pt_store_kv){ "jobs", jobsbuf };
	plan[np++] = (struct pt_store_kv){ "timeout", tbuf };
	plan[np++] = (struct pt_store_kv){ "retries", rbuf };
	snprintf(pbuf, sizeof(pbuf), "%d", o->ports);
	plan[np++] = (struct pt_store_kv){ "ports", pbuf };
	if (o->budget_time > 0 || o->budget_memory || o->budget_fail) {
		snprintf(bbuf, sizeof(bbuf), "%.9g %llu %d", o->budget_time,
			 (unsigned long long)o->budget_memory,
			 (int)o->budget_fail);
		plan[np++] = (struct pt_store_kv){ "budget", bbuf };
	}
	/* resume uses the same executor (a persistent one re-attaches) */
	plan[np++] = (struct pt_store_kv){ "executor", c->xo->name };
	for (size_t i = 0; i < c->exec_opts.n; i++)
		plan[np++] = (struct pt_store_kv){ "executor-option",
						   c->exec_opts.v[i] };
	meta.title = o->plan;
	meta.plan = plan;
	meta.n_plan = np;
	meta.flags = (const char *[]){ PT_SESSION_FLAG_INCOMPLETE };
	meta.n_flags = 1;
	meta.app_id = "proctor";
	r = pt_store_create(o->repo, &meta, sd, &c->st);
	if (r < 0)
		storage(c, r, sd);
	pt__free(plan);
	pt_diags_free(sd);
	return r;
}

/* Who runs each job; a normal user that does not exist is refused. */
static int make_users(struct pt_run *c)
{
	const char *why = NULL;
	int r;

	if (c->users)
		return 0;
	r = pt_users_new(c->o.normal_user, &c->users, &why);
	if (r < 0)
		pt__run_msg(c,
			    r == -ENOMEM ? PT_RUN_MSG_ERROR : PT_RUN_MSG_USAGE,
			    "normal user '%s': %s",
			    c->o.normal_user ? c->o.normal_user : "",
			    why ? why : pt_strerror(r));
	return r;
}

int pt__run_checkbox_setup(struct pt_run *c)
{
	struct pt_jobenv_config jc = { 0 };
	char *share;
	int r;

	if ((r = make_users(c)) < 0)
		return r;
	/*
	 * The session's directory, unless jobs run as a normal user who
	 * cannot reach it (the repository of root is under /root): then
	 * /var/tmp, which survives a reboot as the session does.
	 */
	if (pt_users_switch(c->users)) {
		struct pt_buf b = PT_BUF_INIT;
		share = pt__buf_addf(&b, "/var/tmp/proctor-share-%s",
				     pt_store_id(c->st)) < 0
				? NULL
				: pt__buf_detach(&b, NULL);
		pt__buf_release(&b);
	} else {
		share = pt__run_abs_path(c, "session-share");
	}
	if (!share)
		return -ENOMEM;
	jc.units = c->u;
	jc.session_share = share;
	jc.launcher_env = c->o.job_env;
	jc.normal_user = pt_users_normal(c->users);
	r = pt_jobenv_new(&jc, &c->jenv);
	if (r < 0)
		pt__run_msg(
			c, r == -ENOMEM ? PT_RUN_MSG_ERROR : PT_RUN_MSG_STORAGE,
			"cannot make the session share %s: %s", share,
			pt_strerror(r));
	pt__free(share);
	return r;
}

int pt__run_check_chaos(struct pt_run *c)
{
	struct pt_chaos plan;
	char err[256];

	if (c->o.chaos && !strcmp(c->o.chaos, "off"))
		c->o.chaos = NULL;
	if (!c->o.chaos)
		return 0;
	if (pt__chaos_parse(c->o.chaos, &plan, err, sizeof(err)) < 0) {
		pt__run_msg(c, PT_RUN_MSG_USAGE, "--chaos: %s", err);
		return -EINVAL;
	}
	if (!(c->xo->flags & PT_EXEC_PROCESS_FAULTS) &&
	    pt__chaos_has_process_faults(&plan)) {
		pt__run_msg(c, PT_RUN_MSG_USAGE,
			    "--chaos: executor '%s' does not do process faults "
			    "(kill@, kill-one@, pause@); its jobs get the call "
			    "faults only",
			    c->xo->name);
		return -ENOTSUP;
	}
	if (!c->o.chaos_runtime || strchr(c->o.chaos_runtime, ':')) {
		pt__run_msg(c, PT_RUN_MSG_USAGE,
			    "--chaos: no fault runtime for '%s'%s", c->o.chaos,
			    c->st ? " (the session's plan; --chaos off "
				    "resumes without faults)"
				  : "");
		return -EINVAL;
	}
	return 0;
}

int pt_run_new(const struct pt_run_options *o, const struct pt_run_events *ev,
	       struct pt_run **ret)
{
	struct pt_run *c;
	int r;

	if (!o || !ret || !o->n_paths)
		return -EINVAL;
	c = pt__run_alloc(ev);
	if (!c)
		return -ENOMEM;
	if ((r = pt__run_set_options(c, o)) < 0)
		goto fail;
	if ((r = pt__run_check_chaos(c)) < 0)
		goto fail;
	if ((r = pt__run_prepare(c)) < 0)
		goto fail;
	if ((r = pt__run_load_units(c)) < 0) {
		if (!c->manifest || r == -ENOMEM)
			pt__run_msg(c, PT_RUN_MSG_ERROR, "%s", pt_strerror(r));
		goto fail;
	}
	/* Checkbox providers' jobs were written to run one at a time. */
	if (!c->o.jobs)
		c->o.jobs = pt_units_have_checkbox_providers(c->u)
				    ? 1
				    : pt__cpu_count();
	if ((r = make_users(c)) < 0)
		goto fail;
	if (o->plan) {
		/* a partial id names the plan when only one plan has it */
		const struct pt_unit *tp = pt_units_find_plan(c->u, o->plan);

		if (!tp) {
			pt__run_msg(c, PT_RUN_MSG_INVALID, "no test plan '%s'",
				    o->plan);
			r = PT_ENOTFOUND;
			goto fail;
		}
		if ((r = dup_opt(&c->plan, tp->id)) < 0)
			goto fail;
		c->o.plan = c->plan;
	}
	if ((r = pt__run_make_session(c)) < 0) {
		pt__run_msg(c, PT_RUN_MSG_ERROR, "%s", pt_strerror(r));
		goto fail;
	}
	if ((r = create_store(c)) < 0)
		goto fail;
	c->sess_dir = pt__strdup(pt_store_dir(c->st));
	if (!c->sess_dir) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = pt__run_checkbox_setup(c)) < 0)
		goto fail;
	if ((r = pt__run_put_jobs(c, 0)) < 0 || (r = resolve(c)) < 0) {
		storage(c, r, NULL);
		goto fail;
	}
	for (size_t i = 0; i < pt_session_problem_count(c->s); i++)
		pt__run_msg(c, PT_RUN_MSG_NOTE, "warning: %s",
			    pt_session_problem(c->s, i)->message);
	if (!pt_session_run_list_count(c->s)) {
		pt__run_msg(c, PT_RUN_MSG_INVALID,
			    "nothing to run: no job selected");
		r = PT_ENOTFOUND;
		goto fail;
	}
	if (o->shuffle)
		shuffle(c);
	c->n_total = pt_session_run_list_count(c->s);
	*ret = c;
	return 0;
fail:
	pt_run_free(c);
	return r;
}

/* ---- accessors */

void pt_run_set_events(struct pt_run *run, const struct pt_run_events *ev)
{
	if (ev)
		run->ev = *ev;
	else
		memset(&run->ev, 0, sizeof(run->ev));
	if (!ev)
		run->ev.wake_fd = -1;
}

const struct pt_run_options *pt_run_get_options(const struct pt_run *run)
{
	return run ? &run->o : NULL;
}

struct pt_session *pt_run_session(const struct pt_run *run)
{
	return run ? run->s : NULL;
}

struct pt_store *pt_run_store(const struct pt_run *run)
{
	return run ? run->st : NULL;
}

struct pt_run *pt_run_free(struct pt_run *c)
{
	if (!c)
		return NULL;
	if (c->ex)
		c->xo->release(c->ex);
	pt_session_free(c->s);
	pt_store_free(c->st);
	pt_store_durations_free(c->dur);
	pt_store_history_free(c->hist);
	pt_store_history_free(c->past);
	pt_units_free(c->u);
	pt_manifest_free(c->manifest);
	pt__free(c->manifest_path);
	pt_diags_free(c->diags);
	for (size_t i = 0; c->inc && i < c->ninc; i++)
		regfree(&c->inc[i]);
	for (size_t i = 0; c->exc && i < c->nexc; i++)
		regfree(&c->exc[i]);
	pt__free(c->inc);
	pt__free(c->exc);
	for (size_t k = 0; c->js && k < c->njs; k++)
		pt__free(c->js[k].chaos_block), pt__free(c->js[k].chaos_envv);
	pt__free(c->js);
	pt__free(c->look);
	pt__free(c->sess_dir);
	pt__free(c->chaos);
	pt__free(c->chaos_rt);
	pt__free(c->chaos_logp);
	pt__chaos_notes_release(&c->chaos_notes);
	pt__strv_free(&c->chaos_env);
	pt__free(c->wait);
	for (size_t i = 0; i < c->n_pending; i++)
		pt__free(c->pending[i].handle);
	pt__free(c->pending);
	pt__strv_free(&c->paths);
	pt__strv_free(&c->include);
	pt__strv_free(&c->exclude);
	pt__strv_free(&c->exec_opts);
	pt__free(c->plan);
	pt__free(c->ns);
	pt__free(c->repo);
	pt__free(c->no_operator);
	pt__free(c->normal_user);
	pt__free(c->launcher);
	pt__strv_free(&c->job_env);
	pt__strv_free(&c->manifest_answers);
	pt_jobenv_free(c->jenv);
	pt_users_free(c->users);
	pt__free(c);
	return NULL;
}
