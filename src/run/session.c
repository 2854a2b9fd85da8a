/*
 * run/session.c - a session and its store: the unit snapshot with the
 * jobs' definitions as run (their RFC822 text), the rebuild of a session
 * for resume (from its providers, whose checksums are compared) and for
 * reading (from the store alone), resource records, reports.
 */
#include "run/run-internal.h"

#include <proctor/slurm.h>

#include "base/buf.h"
#include "os/clock.h"

#include <proctor/submission.h>

/* ---- paths and resource records */

/* Absolute path of a session-relative io log path (heap; NULL: none). */
char *pt__run_abs_path(const struct pt_run *c, const char *rel)
{
	struct pt_buf b = PT_BUF_INIT;

	if (!rel)
		return NULL;
	if (rel[0] == '/' || !c->sess_dir)
		return pt__strdup(rel);
	if (pt__buf_addf(&b, "%s/%s", c->sess_dir, rel) < 0)
		return NULL;
	return pt__buf_detach(&b, NULL);
}

void pt__recset_free(struct pt__recset *x)
{
	for (size_t i = 0; x->rr && i < x->n; i++) {
		pt__free((void *)(uintptr_t)x->rr[i].keys);
		pt__free((void *)(uintptr_t)x->rr[i].values);
	}
	for (size_t i = 0; x->sr && i < x->n; i++)
		pt__free((void *)(uintptr_t)x->sr[i].kv);
	pt__free(x->rr);
	pt__free(x->sr);
	pt_records_free(x->recs);
	memset(x, 0, sizeof(*x));
}

/* The records a resource job printed (RFC822 on its stdout). */
int pt__run_parse_records(struct pt_run *c, const char *id, const char *io_log,
			  struct pt__recset *x)
{
	char *path = pt__run_abs_path(c, io_log), *out = NULL;
	size_t len = 0;
	int r;

	memset(x, 0, sizeof(*x));
	if (io_log && !path)
		return -ENOMEM;
	r = pt_runner_iolog_read(path, PT_STREAM_STDOUT, PT_RUN_STDOUT_LIMIT,
				 &out, &len, NULL);
	pt__free(path);
	if (r < 0)
		return r;
	r = pt__run_parse_text(id, out, len, x);
	pt_free(out);
	return r;
}

/* The records of a resource job's output text. */
int pt__run_parse_text(const char *id, const char *out, size_t len,
		       struct pt__recset *x)
{
	int r;

	memset(x, 0, sizeof(*x));
	r = pt_rfc822_parse(out, len, id, NULL, NULL, &x->recs);
	if (r < 0)
		return r;
	x->n = pt_records_count(x->recs);
	x->rr = pt__calloc(x->n + 1, sizeof(*x->rr));
	x->sr = pt__calloc(x->n + 1, sizeof(*x->sr));
	if (!x->rr || !x->sr)
		return -ENOMEM;
	for (size_t i = 0; i < x->n; i++) {
		const struct pt_rfc822_record *rec = pt_records_get(x->recs, i);
		const char **k = pt__calloc(rec->n + 1, sizeof(*k));
		const char **v = pt__calloc(rec->n + 1, sizeof(*v));
		struct pt_store_kv *kv = pt__calloc(rec->n + 1, sizeof(*kv));

		x->rr[i].keys = k;
		x->rr[i].values = v;
		x->sr[i].kv = kv;
		if (!k || !v || !kv)
			return -ENOMEM;
		for (size_t f = 0; f < rec->n; f++) {
			k[f] = kv[f].key = rec->fields[f].key;
			v[f] = kv[f].value = rec->fields[f].value;
		}
		x->rr[i].n = x->sr[i].n = rec->n;
	}
	return 0;
}

/* ---- the jobs' definitions as run */

/*
 * A job's definition as RFC822 text that loads back to the same job:
 * a first comment line naming its namespace, then its fields as parsed
 * (generated jobs: as rendered; template-* fields dropped), each value
 * on continuation lines (" " + line, " ." for an empty line), so that
 * the loader's dedent and strip give back the same value.
 */
#define NS_LINE "# proctor namespace: "

static int job_text(const struct pt_job *j, struct pt_buf *b)
{
	const struct pt_rfc822_record *rec = j->unit ? j->unit->record : NULL;
	int r;

	pt__buf_reset(b);
	if (!rec)
		return 0;
	r = pt__buf_addf(b, NS_LINE "%s\n", j->ns ? j->ns : "");
	for (size_t i = 0; r == 0 && i < rec->n; i++) {
		const struct pt_rfc822_field *f = &rec->fields[i];
		const char *v = f->value ? f->value : "";

		if (!strncmp(f->key, "template-", 9))
			continue;
		r = pt__buf_addf(b, "%s:\n", f->key);
		while (r == 0) {
			const char *nl = strchr(v, '\n');
			size_t n = nl ? (size_t)(nl - v) : strlen(v);

			if (n == 0)
				r = pt__buf_adds(b, " .\n");
			else
				r = pt__buf_addf(b, " %.*s\n", (int)n, v);
			if (!nl)
				break;
			v = nl + 1;
		}
	}
	return r;
}

int pt__run_put_jobs(struct pt_run *c, size_t from)
{
	size_t n = pt_units_job_count(c->u);
	struct pt_store_job *v;
	struct pt_buf origin = PT_BUF_INIT, text = PT_BUF_INIT;
	size_t *ooff, *toff;
	int r = 0;

	if (from >= n || !c->st || c->readonly)
		return 0;
	v = pt__calloc(n - from, sizeof(*v));
	ooff = pt__calloc(n - from, sizeof(*ooff));
	toff = pt__calloc(n - from, sizeof(*toff));
	if (!v || !ooff || !toff)
		r = -ENOMEM;
	/* One buffer each for origins and texts; offsets, then pointers. */
	for (size_t i = from; r == 0 && i < n; i++) {
		const struct pt_job *j = pt_units_job(c->u, i);
		struct pt_buf one = PT_BUF_INIT;

		ooff[i - from] = origin.len;
		r = pt__buf_addf(&origin, "%s:%u", j->file ? j->file : "?",
				 j->line);
		if (r == 0)
			r = pt__buf_addch(&origin, 0);
		toff[i - from] = text.len;
		if (r == 0)
			r = job_text(j, &one);
		if (r == 0 && one.len)
			r = pt__buf_add(&text, one.s, one.len);
		if (r == 0)
			r = pt__buf_addch(&text, 0);
		pt__buf_release(&one);
	}
	for (size_t i = from; r == 0 && i < n; i++) {
		const struct pt_job *j = pt_units_job(c->u, i);
		struct pt_store_job *x = &v[i - from];

		x->id = j->id;
		x->checksum = j->checksum;
		x->origin = origin.s + ooff[i - from];
		x->text =
			text.s[toff[i - from]] ? text.s + toff[i - from] : NULL;
		x->flags =
			((j->flags & PT_JOB_NORETURN) ? PT_STORE_JOB_NORETURN
						      : 0) |
			(j->template_id ? PT_STORE_JOB_GENERATED : 0) |
			(j->plugin == PT_PLUGIN_RESOURCE ? PT_STORE_JOB_RESOURCE
							 : 0);
	}
	if (r == 0)
		r = pt_store_put_jobs(c->st, v, n - from);
	pt__free(v);
	pt__free(ooff);
	pt__free(toff);
	pt__buf_release(&origin);
	pt__buf_release(&text);
	return r;
}

/*
 * Loads the units of a session from the definitions its store keeps.
 * Returns 1 when it did, 0 when some job has none (a session made before
 * they were kept): the caller then loads its providers.
 */
static int load_stored_units(struct pt_run *c, const struct pt_store_state *st)
{
	char **texts = pt__calloc(st->n_jobs + 1, sizeof(*texts));
	struct pt_diags *quiet = NULL;
	int r = 0;

	if (!texts)
		return -ENOMEM;
	for (size_t i = 0; i < st->n_jobs && r == 0; i++) {
		r = pt_store_job_text(c->st, st->jobs[i].id, &texts[i]);
		if (r == PT_ENOTFOUND)
			r = 1; /* not kept */
	}
	if (r == 0 && (r = pt_units_new(&c->u)) == 0 &&
	    (r = pt_diags_new(&quiet)) == 0) {
		/* What loads here loaded once: problems were reported then. */
		for (size_t i = 0; i < st->n_jobs && r >= 0; i++) {
			struct pt_load_options lo = { 0 };
			const char *t = texts[i], *nl;
			char *ns = NULL;

			if (!strncmp(t, NS_LINE, strlen(NS_LINE)) &&
			    (nl = strchr(t, '\n'))) {
				ns = pt__strndup(t + strlen(NS_LINE),
						 (size_t)(nl - t) -
							 strlen(NS_LINE));
				if (!ns) {
					r = -ENOMEM;
					break;
				}
				lo.ns = ns;
			}
			r = pt_units_load_buffer(c->u, t, strlen(t),
						 st->jobs[i].origin
							 ? st->jobs[i].origin
							 : st->jobs[i].id,
						 &lo, quiet);
			pt__free(ns);
		}
		r = r < 0 ? r : 1;
	} else if (r == 1) {
		r = 0;
	}
	for (size_t i = 0; i < st->n_jobs; i++)
		pt_free(texts[i]);
	pt__free(texts);
	pt_diags_free(quiet);
	return r;
}

/* ---- rebuilding a session from the store (resume, why, report) */

static const char *plan_get(const struct pt_store_state *st, const char *key)
{
	for (size_t i = 0; i < st->meta.n_plan; i++) {
		if (!strcmp(st->meta.plan[i].key, key))
			return st->meta.plan[i].value;
	}
	return NULL;
}

/* The options of the session's plan, where the caller left them unset. */
static int plan_options(struct pt_run *c, const struct pt_store_state *st)
{
	const char *v;
	int r = 0;

	pt__strv_free(&c->paths);
	pt__strv_free(&c->include);
	pt__strv_free(&c->exclude);
	for (size_t i = 0; i < st->meta.n_plan && r == 0; i++) {
		const struct pt_store_kv *kv = &st->meta.plan[i];
		struct pt__strv *dst =
			!strcmp(kv->key, "path")      ? &c->paths
			: !strcmp(kv->key, "include") ? &c->include
			: !strcmp(kv->key, "exclude") ? &c->exclude
						      : NULL;
		if (dst)
			r = pt__strv_add(dst, kv->value);
	}
	if (r == 0 && (v = plan_get(st, "test-plan")) &&
	    !(c->plan = pt__strdup(v)))
		r = -ENOMEM;
	if (r == 0 && (v = plan_get(st, "namespace")) &&
	    !(c->ns = pt__strdup(v)))
		r = -ENOMEM;
	if (r == 0 && !c->normal_user && (v = plan_get(st, "normal-user")) &&
	    !(c->normal_user = pt__strdup(v)))
		r = -ENOMEM;
	if (r == 0 && !c->launcher && (v = plan_get(st, "launcher")) &&
	    !(c->launcher = pt__strdup(v)))
		r = -ENOMEM;
	for (size_t i = 0; i < st->meta.n_plan && r == 0 && !c->o.job_env; i++)
		if (!strcmp(st->meta.plan[i].key, "job-env"))
			r = pt__strv_add(&c->job_env, st->meta.plan[i].value);
	for (size_t i = 0;
	     i < st->meta.n_plan && r == 0 && !c->o.manifest_answers; i++)
		if (!strcmp(st->meta.plan[i].key, "manifest-answer"))
			r = pt__strv_add(&c->manifest_answers,
					 st->meta.plan[i].value);
	if (r == 0 && (v = plan_get(st, "manifest")) &&
	    !(c->manifest_path = pt__strdup(v)))
		r = -ENOMEM;
	/* the session's chaos plan, unless the caller gives one or "off" */
	if (r == 0 && !c->chaos && (v = plan_get(st, "chaos")) &&
	    !(c->chaos = pt__strdup(v)))
		r = -ENOMEM;
	if (r < 0)
		return r;
	c->o.plan = c->plan;
	c->o.ns = c->ns;
	c->o.normal_user = c->normal_user;
	c->o.launcher_text = c->launcher;
	c->o.job_env = c->job_env.n ? (const char *const *)c->job_env.v : NULL;
	c->o.manifest_answers =
		c->manifest_answers.n
			? (const char *const *)c->manifest_answers.v
			: NULL;
	c->o.manifest = c->manifest_path;
	c->o.chaos = c->chaos;
	c->o.paths = (const char *const *)c->paths.v;
	c->o.n_paths = c->paths.n;
	c->o.include = (const char *const *)c->include.v;
	c->o.n_include = c->include.n;
	c->o.exclude = (const char *const *)c->exclude.v;
	c->o.n_exclude = c->exclude.n;
	if ((v = plan_get(st, "seed")))
		c->o.seed = strtoull(v, NULL, 10);
	if (!c->o.jobs && (v = plan_get(st, "jobs")))
		c->o.jobs = (unsigned)strtoul(v, NULL, 10);
	if (!c->o.jobs)
		c->o.jobs = 1;
	if (!(c->o.timeout > 0) && (v = plan_get(st, "timeout")))
		c->o.timeout = strtod(v, NULL);
	if (!c->o.retries && (v = plan_get(st, "retries")))
		c->o.retries = (unsigned)strtoul(v, NULL, 10);
	if ((v = plan_get(st, "budget"))) {
		unsigned long long m = 0;
		int f = 0;

		if (sscanf(v, "%lf %llu %d", &c->o.budget_time, &m, &f) == 3) {
			c->o.budget_memory = m;
			c->o.budget_fail = f != 0;
		}
	}
	if (!c->xo_given && (v = plan_get(st, "executor"))) {
		/* the executor the session ran with, and its options */
		if (!strcmp(v, "slurm"))
			c->xo = pt_executor_slurm();
		else if (!strcmp(v, "local"))
			c->xo = pt_executor_local();
		else {
			pt__run_msg(c, PT_RUN_MSG_INVALID,
				    "the session ran with executor '%s', which "
				    "this proctor does not have",
				    v);
			return PT_ENOTSUP;
		}
		c->o.executor = c->xo;
		if (!c->exec_opts.n) {
			for (size_t i = 0; i < st->meta.n_plan && r == 0; i++)
				if (!strcmp(st->meta.plan[i].key,
					    "executor-option"))
					r = pt__strv_add(&c->exec_opts,
							 st->meta.plan[i].value);
			if (r < 0)
				return r;
			c->o.executor_options =
				(const char *const *)c->exec_opts.v;
		}
	}
	if (c->o.ports < 0 && (v = plan_get(st, "ports")))
		c->o.ports = (int)strtol(v, NULL, 10);
	return 0;
}

/*
 * Loads the units (from the providers, or for reading from the store
 * when it keeps them) and replays the results in commit order; resource
 * jobs instantiate templates as they go.
 */
static int rebuild(struct pt_run *c, struct pt_store_state *st, bool resume)
{
	int r;

	if ((r = plan_options(c, st)) < 0)
		return r;
	if ((r = pt__run_prepare(c)) < 0)
		return r;
	r = resume ? 0 : load_stored_units(c, st);
	if (r < 0)
		return r;
	if (r == 0 && (r = pt__run_load_units(c)) < 0)
		return r;
	if ((r = pt__run_make_session(c)) < 0 || (r = pt__run_grow_js(c)) < 0)
		return r;
	for (size_t i = 0; i < st->n_results; i++) {
		const struct pt_store_result *sr = &st->results[i];
		size_t k = pt_session_job_index(c->s, sr->job_id);
		const struct pt_job *j;
		struct pt__recset x = { 0 };

		if (k == PT_SESSION_NO_JOB)
			continue; /* a job that no longer exists */
		j = pt_session_job(c->s, k);
		if (j->plugin == PT_PLUGIN_RESOURCE &&
		    sr->r.outcome != PT_OUTCOME_NONE &&
		    pt__run_parse_records(c, j->id, sr->r.io_log, &x) == 0) {
			/* instantiates the templates it feeds */
			r = pt_session_set_result(c->s, k, &sr->r, x.rr, x.n);
			if (r == 0)
				r = pt__run_grow_js(c);
		} else {
			r = pt_session_set_result(c->s, k, &sr->r, NULL, 0);
		}
		pt__recset_free(&x);
		if (r < 0)
			return r;
	}
	r = pt_session_set_rejected(c->s, st->meta.rejected,
				    st->meta.n_rejected);
	if (r == 0)
		r = pt_session_set_desired(c->s, st->desired, st->n_desired,
					   false);
	if (r == 0)
		r = pt__run_grow_js(c);
	c->n_total = pt_session_run_list_count(c->s);
	return r < 0 ? r : 0;
}

/* The running-job rule: the job that was running gets crash (or pass). */
static int running_rule(struct pt_run *c, const struct pt_store_state *st)
{
	const char *id = NULL;
	struct pt_result res;
	int r = pt_store_running_rule(st, -1, &id, &res);

	/* A persistent executor may still run it: attach decides. */
	for (size_t i = 0; r == 1 && i < st->n_handles; i++)
		if ((c->xo->flags & PT_EXEC_PERSISTENT) && c->xo->attach &&
		    !strcmp(st->handles[i].job_id, id) &&
		    st->handles[i].attempt == res.attempt)
			r = 0;
	if (r == 1) {
		size_t k = pt_session_job_index(c->s, id);
		r = pt_store_commit_result(c->st, id, &res, PT_SYNC_NORMAL);
		if (r == 0 && k != PT_SESSION_NO_JOB)
			r = pt_session_set_result(c->s, k, &res, NULL, 0);
		if (r == 0 && c->ev.recovered)
			c->ev.recovered(c->ev.ctx, id, &res);
	}
	return r < 0 ? r : 0;
}

/* Jobs whose definition changed since the session was created. */
static int check_changed(struct pt_run *c, const struct pt_store_state *st)
{
	size_t n = pt_units_job_count(c->u);
	struct pt_store_job *cur = pt__calloc(n + 1, sizeof(*cur));
	const char **ids = NULL;
	int r;

	if (!cur)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cur[i].id = pt_units_job(c->u, i)->id;
		cur[i].checksum = pt_units_job(c->u, i)->checksum;
	}
	r = pt_store_changed_jobs(st, cur, n, &ids);
	pt__free(cur);
	for (size_t i = 0; r > 0 && ids && ids[i]; i++)
		pt__run_msg(c, PT_RUN_MSG_NOTE, "job definition changed: %s",
			    ids[i]);
	pt_free(ids);
	return r;
}

static int attach_store(struct pt_run *c, struct pt_store *st,
			struct pt_store_state **ret)
{
	int r;

	c->st = st;
	c->sess_dir = pt__strdup(pt_store_dir(st));
	if (!c->sess_dir)
		return -ENOMEM;
	r = pt_store_load(st, ret);
	if (r == 0)
		c->started_ns = (*ret)->meta.started_ns;
	return r;
}

/*
 * A run for the session of store (owned from now on, also on failure)
 * with its state loaded; errors are reported through events.message.
 */
static int open_store(struct pt_store *store, const struct pt_run_options *o,
		      const struct pt_run_events *ev, struct pt_run **ret,
		      struct pt_store_state **ret_st)
{
	struct pt_run *c;
	int r;

	if (!store || !o || !ret) {
		pt_store_free(store);
		return -EINVAL;
	}
	c = pt__run_alloc(ev);
	if (!c) {
		pt_store_free(store);
		return -ENOMEM;
	}
	if ((r = attach_store(c, store, ret_st)) < 0 ||
	    (r = pt__run_set_options(c, o)) < 0) {
		pt__run_msg(c, PT_RUN_MSG_ERROR, "%s", pt_strerror(r));
		pt_store_state_free(*ret_st);
		*ret_st = NULL;
		pt_run_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/*
 * The attempts a persistent executor may still be running: a handle was
 * recorded and the job has no result for that attempt (the run died
 * before it came back). drive() gives them to attach().
 */
static int pending_handles(struct pt_run *c, const struct pt_store_state *st)
{
	if (!(c->xo->flags & PT_EXEC_PERSISTENT) || !c->xo->attach ||
	    !st->n_handles)
		return 0;
	c->pending = pt__calloc(st->n_handles, sizeof(*c->pending));
	if (!c->pending)
		return -ENOMEM;
	for (size_t i = 0; i < st->n_handles; i++) {
		const struct pt_store_handle *h = &st->handles[i];
		size_t k = pt_session_job_index(c->s, h->job_id);
		struct pt__pending *p;

		if (k == PT_SESSION_NO_JOB || k >= c->njs || c->js[k].done ||
		    pt_session_result_history_count(c->s, k) >= h->attempt)
			continue;
		p = &c->pending[c->n_pending];
		p->k = k;
		p->attempt = h->attempt;
		p->handle = pt__strdup(h->handle);
		if (!p->handle)
			return -ENOMEM;
		c->n_pending++;
	}
	return 0;
}

int pt_run_resume(struct pt_store *store, const struct pt_run_options *o,
		  const struct pt_run_events *ev, struct pt_run **ret)
{
	struct pt_store_state *st = NULL;
	struct pt_run *c = NULL;
	int r = open_store(store, o, ev, &c, &st);

	if (r < 0)
		return r;
	if ((r = rebuild(c, st, true)) < 0) {
		pt__run_msg(c, PT_RUN_MSG_ERROR, "%s", pt_strerror(r));
		goto fail;
	}
	/* a bad --chaos changes nothing in the session */
	if ((r = pt__run_check_chaos(c)) < 0)
		goto fail;
	if ((r = running_rule(c, st)) < 0) {
		pt__run_msg(c, PT_RUN_MSG_ERROR, "%s", pt_strerror(r));
		goto fail;
	}
	if ((r = pt__run_checkbox_setup(c)) < 0)
		goto fail;
	r = check_changed(c, st);
	if (r > 0 && !o->accept_changed) {
		pt__run_msg(c, PT_RUN_MSG_INVALID,
			    "%d job(s) changed since the session started; use "
			    "--accept-changed to resume anyway",
			    r);
		r = PT_ECHANGED;
		goto fail;
	}
	if (o->rerun_failed) {
		struct pt_result none = { .outcome = PT_OUTCOME_NONE,
					  .duration = -1 };
		for (size_t k = 0; k < pt_session_job_count(c->s); k++) {
			enum pt_outcome oc =
				pt_session_result(c->s, k)->outcome;
			if (pt__run_is_fail(oc) ||
			    oc == PT_OUTCOME_SKIPPED_DEPENDENCY) {
				r = pt_session_set_result(c->s, k, &none, NULL,
							  0);
				if (r < 0) {
					pt__run_msg(c, PT_RUN_MSG_ERROR, "%s",
						    pt_strerror(r));
					goto fail;
				}
			}
		}
	}
	for (size_t i = 0; i < c->n_total; i++) {
		size_t k = pt_session_run_list_get(c->s, i);
		enum pt_outcome oc = pt_session_result(c->s, k)->outcome;
		if (oc != PT_OUTCOME_NONE) {
			c->n_done++;
			c->js[k].done = true;
			if (pt__run_is_fail(oc))
				c->n_fail++;
		}
	}
	if ((r = pending_handles(c, st)) < 0) {
		pt__run_msg(c, PT_RUN_MSG_ERROR, "%s", pt_strerror(r));
		goto fail;
	}
	pt_store_state_free(st);
	*ret = c;
	return 0;
fail:
	pt_store_state_free(st);
	pt_run_free(c);
	return r;
}

int pt_run_open(struct pt_store *store, const struct pt_run_events *ev,
		struct pt_run **ret)
{
	struct pt_store_state *st = NULL;
	struct pt_run_options o;
	struct pt_run *c = NULL;
	size_t lost = 0;
	int r;

	pt_run_options_init(&o);
	r = open_store(store, &o, ev, &c, &st);
	if (r < 0)
		return r;
	c->readonly = true;
	if ((r = rebuild(c, st, false)) < 0) {
		pt__run_msg(c, PT_RUN_MSG_ERROR, "%s", pt_strerror(r));
		goto fail;
	}
	for (size_t i = 0; i < st->n_results; i++)
		if (pt_session_job_index(c->s, st->results[i].job_id) ==
		    PT_SESSION_NO_JOB)
			lost++;
	/* Never an empty (or shortened) report of a session with results. */
	if (lost) {
		pt__run_msg(c, PT_RUN_MSG_ERROR,
			    "session %s: %zu of its %zu results belong to "
			    "jobs whose definitions are neither in the session "
			    "nor in its providers",
			    pt_store_id(c->st), lost, st->n_results);
		r = PT_ENOTFOUND;
		goto fail;
	}
	pt_store_state_free(st);
	*ret = c;
	return 0;
fail:
	pt_store_state_free(st);
	pt_run_free(c);
	return r;
}

/* ---- reports */

int pt_run_report(const struct pt_run *c, enum pt_report_format f, char **ret,
		  size_t *ret_len)
{
	struct pt_report_job *jobs;
	struct pt_report_attachment *atts;
	struct pt_report_session rs = { 0 };
	struct pt_store_info *info = NULL;
	size_t n = pt_session_run_list_count(c->s);
	char **paths; /* per job: io log, attachment */
	int r = 0;

	jobs = pt__calloc(n + 1, sizeof(*jobs));
	atts = pt__calloc(n + 1, sizeof(*atts));
	paths = pt__calloc(2 * n + 1, sizeof(*paths));
	if (!jobs || !atts || !paths) {
		pt__free(jobs);
		pt__free(atts);
		pt__free(paths);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t k = pt_session_run_list_get(c->s, i);
		const struct pt_job *j = pt_session_job(c->s, k);
		char *rel = NULL;

		jobs[i].id = j->id;
		jobs[i].summary = j->summary;
		jobs[i].category = j->category_id;
		jobs[i].result = *pt_session_result(c->s, k);
		paths[2 * i] = pt__run_abs_path(c, jobs[i].result.io_log);
		jobs[i].io_log_path = paths[2 * i];
		/* An attachment job's stdout, stored with the session. */
		if (j->plugin != PT_PLUGIN_ATTACHMENT || !c->st ||
		    jobs[i].result.outcome == PT_OUTCOME_NONE)
			continue;
		r = pt_store_attachment_path(c->st, j->id, "stdout", &rel);
		if (r == 0) {
			paths[2 * i + 1] = pt__run_abs_path(c, rel);
			atts[i] = (struct pt_report_attachment){
				"stdout", paths[2 * i + 1]
			};
			jobs[i].attachments = &atts[i];
			jobs[i].n_attachments = paths[2 * i + 1] ? 1 : 0;
		}
		pt_free(rel);
	}
	if (r < 0)
		goto out;
	rs.id = c->st ? pt_store_id(c->st) : NULL;
	rs.title = c->o.plan;
	rs.seed = c->o.seed;
	rs.duration = -1;
	rs.started_ns = c->started_ns;
	if (!rs.started_ns && c->st &&
	    pt_store_peek(c->o.repo, rs.id, NULL, &info) == 0)
		rs.started_ns = info->meta.started_ns;
	r = pt_report_render(f, &rs, jobs, n, 0, ret, ret_len);
out:
	for (size_t i = 0; i < 2 * n; i++)
		pt__free(paths[i]);
	pt__free(paths);
	pt__free(atts);
	pt__free(jobs);
	pt_store_info_free(info);
	return r;
}

/* ---- Checkbox's submission */

/*
 * The category units: those of the run's units, else (a session read
 * back from the store keeps only job definitions) of its providers when
 * they are still there; none otherwise (names are then empty).
 */
static int category_units(const struct pt_run *c, struct pt_units **own,
			  const struct pt_units **ret)
{
	bool any = false;

	*ret = c->u;
	for (size_t i = 0; c->u && i < pt_units_count(c->u) && !any; i++)
		any = pt_units_get(c->u, i)->type == PT_UNIT_CATEGORY;
	if (any || !c->paths.n)
		return 0;
	if (pt_units_new(own) < 0)
		return -ENOMEM;
	/* best effort: problems of providers changed since are not ours */
	if (pt_units_load_paths(*own, c->paths.n,
				(const char *const *)c->paths.v, NULL,
				NULL) == -ENOMEM) {
		*own = pt_units_free(*own);
		return -ENOMEM;
	}
	*ret = *own;
	return 0;
}

int pt_run_submission(const struct pt_run *c, const char *kind,
		      const char *path, char **ret, size_t *ret_len)
{
	struct pt_submission s = { 0 };
	struct pt_units *own = NULL;
	int r;

	if (!c || !kind)
		return -EINVAL;
	if (strcmp(kind, "tar") && strcmp(kind, "json") &&
	    strcmp(kind, "junit") && strcmp(kind, "html"))
		return -EINVAL;
	if ((!strcmp(kind, "tar") && !path) || (strcmp(kind, "tar") && !ret))
		return -EINVAL;
	r = category_units(c, &own, &s.units);
	if (r < 0)
		return r;
	s.session = c->s;
	s.session_dir = c->sess_dir;
	s.testplan_id = c->o.plan;
	s.launcher_text = c->launcher;
	s.mtime = pt__wall_ns() / 1000000000;
	if (!strcmp(kind, "tar"))
		r = pt_submission_write(&s, path);
	else if (!strcmp(kind, "json"))
		r = pt_submission_json(&s, ret, ret_len);
	else if (!strcmp(kind, "junit"))
		r = pt_submission_junit(&s, ret, ret_len);
	else
		r = pt_submission_html(&s, ret, ret_len);
	pt_units_free(own);
	return r;
}
