/*
 * session/state.c - the session object (docs/plainbox.md §3.1, §3.2, §3.6,
 * §3.7): the job list with its id index, job states (results, history,
 * effective fields, attempts), the mandatory / desired / run lists, problems,
 * the resource map, the manifest and the metadata. Solving is in solver.c,
 * inhibitors in readiness.c.
 */
#include "base/common.h"
#include "session/session-internal.h"

/* ------------------------------------------------------------------ */
/* Jobs                                                                */
/* ------------------------------------------------------------------ */

static int dup_problem(struct pt_session *s, uint32_t first,
		       const struct pt_job *dup)
{
	struct pt_problem p = { .kind = PT_PROBLEM_DUPLICATE };
	const char *id = dup->id;
	char *q = NULL;
	size_t len;
	char *msg;

	if (pt__pyrepr(&s->arena, id, false, &q) < 0)
		return -ENOMEM;
	len = strlen(q) + sizeof("duplicate job id: ");
	msg = pt__arena_alloc(&s->arena, len);
	if (!msg)
		return -ENOMEM;
	snprintf(msg, len, "duplicate job id: %s", q);
	p.job = first;
	p.job_id = s->jobs.v[first].job->id;
	p.duplicate = dup;
	p.message = msg;
	return pt_vec_push(&s->dup_problems, p);
}

int pt_session_add_job(struct pt_session *s, const struct pt_job *job)
{
	struct pt__jobst js = { 0 };
	size_t len;
	void *v;
	int r;

	if (!s || !job || !job->id)
		return -EINVAL;
	len = strlen(job->id);
	if (s->jobs.n >= INT_MAX - 1 || s->jobs.n >= PT__NONE - 1)
		return PT_ETOOBIG;
	if (pt_vec_reserve(&s->jobs, s->jobs.n + 1) < 0 ||
	    pt_vec_reserve(&s->outcomes, s->jobs.n + 1) < 0)
		return -ENOMEM;
	/* One probe: insert, and put the first job back on a clash. */
	r = pt__map_put(&s->by_id, job->id, len,
			(void *)(uintptr_t)(s->jobs.n + 1), &v);
	if (r < 0)
		return r;
	if (r == 0) {
		uint32_t first = (uint32_t)((uintptr_t)v - 1);

		/* Replacing the value keeps the (borrowed) key of the first
		 * job's id: equal bytes, and it lives as long. */
		(void)!pt__map_put(&s->by_id, job->id, len, v, NULL);
		if (strcmp(s->jobs.v[first].job->checksum, job->checksum) == 0)
			return (int)first;
		r = dup_problem(s, first, job);
		return r < 0 ? r : PT_EDUPLICATE;
	}
	js.job = job;
	js.n_ib = 1; /* [UNDESIRED] */
	js.run_pos = PT__NONE;
	js.attempts = 3;
	js.result.duration = -1;
	s->jobs.v[s->jobs.n++] = js;
	s->outcomes.v[s->outcomes.n++] = PT_OUTCOME_NONE;
	s->graph_dirty = true;
	if (s->cb.job_added)
		s->cb.job_added(s->cb.ctx, s, s->jobs.n - 1);
	return (int)(s->jobs.n - 1);
}

int pt_session_new(const struct pt_job *const *jobs, size_t n,
		   struct pt_session **ret)
{
	struct pt_session *s = pt__calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->graph_dirty = true;
	pt__req_expr_install(s);
	if (pt_vec_reserve(&s->jobs, n) < 0 ||
	    pt_vec_reserve(&s->outcomes, n) < 0 ||
	    pt__map_reserve(&s->by_id, n) < 0)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		r = pt_session_add_job(s, jobs[i]);
		if (r < 0 && r != PT_EDUPLICATE) {
			pt_session_free(s);
			return r;
		}
	}
	*ret = s;
	return 0;
nomem:
	pt_session_free(s);
	return -ENOMEM;
}

static void result_release(struct pt_result *r)
{
	pt__free_const(r->comments);
	pt__free_const(r->io_log);
}

static void strv_release(void *vec_v, size_t n)
{
	char **v = vec_v;

	for (size_t i = 0; i < n; i++)
		pt__free(v[i]);
}

static void resources_release(struct pt_session *s)
{
	pt_map_foreach(&s->resources, slot) pt__free(slot->value);
	pt__map_release(&s->resources);
}

struct pt_session *pt_session_free(struct pt_session *s)
{
	if (!s)
		return NULL;
	pt__readiness_release(s);
	for (size_t j = 0; j < s->jobs.n; j++) {
		struct pt__jobst *js = &s->jobs.v[j];

		if (js->prog && s->req && s->req->release)
			s->req->release(s->req->ctx, js->prog);
		result_release(&js->result);
		for (size_t h = 0; h < js->history.n; h++)
			result_release(&js->history.v[h]);
		pt_vec_release(&js->history);
		pt__free(js->eff_category);
		pt__free(js->eff_cert);
		pt__free(js->eff_retry);
		for (size_t m = 0; m < js->manifest.n; m++)
			pt__free_const(js->manifest.v[m].id);
		pt_vec_release(&js->manifest);
	}
	pt_vec_release(&s->jobs);
	pt__map_release(&s->prog_cache);
	pt__map_release(&s->by_id);
	pt__arena_release(&s->arena);
	pt_vec_release(&s->edges);
	pt_vec_release(&s->spans);
	pt_vec_release(&s->outcomes);
	strv_release(s->mandatory.v, s->mandatory.n);
	pt_vec_release(&s->mandatory);
	strv_release(s->desired.v, s->desired.n);
	pt_vec_release(&s->desired);
	pt_vec_release(&s->run_list);
	pt_vec_release(&s->dup_problems);
	pt_vec_release(&s->filter_problems);
	pt_vec_release(&s->filter_tpls);
	pt_vec_release(&s->problems);
	pt__arena_release(&s->solve_arena);
	resources_release(s);
	pt_map_foreach(&s->manifest, slot) pt__free(slot->value);
	pt__map_release(&s->manifest);
	pt__free(s->title);
	pt__free(s->running_job);
	pt__free(s->app_id);
	pt__free(s->app_blob);
	strv_release(s->flags.v, s->flags.n);
	pt_vec_release(&s->flags);
	strv_release(s->rejected.v, s->rejected.n);
	pt_vec_release(&s->rejected);
	pt__free(s);
	return NULL;
}

void pt_session_set_callbacks(struct pt_session *s,
			      const struct pt_session_callbacks *cb)
{
	if (cb)
		s->cb = *cb;
	else
		memset(&s->cb, 0, sizeof(s->cb));
}

void pt__session_set_req_ops(struct pt_session *s,
			     const struct pt__req_ops *ops)
{
	/* Programs compiled by the previous ops are theirs to free. */
	for (size_t j = 0; j < s->jobs.n; j++) {
		struct pt__jobst *js = &s->jobs.v[j];

		if (js->prog && s->req && s->req->release)
			s->req->release(s->req->ctx, js->prog);
		js->prog = NULL;
	}
	s->req = ops;
	s->graph_dirty = true;
}

size_t pt_session_job_count(const struct pt_session *s)
{
	return s->jobs.n;
}

const struct pt_job *pt_session_job(const struct pt_session *s, size_t job)
{
	return job < s->jobs.n ? s->jobs.v[job].job : NULL;
}

size_t pt_session_job_index(const struct pt_session *s, const char *id)
{
	void *v;

	if (!id || !pt__map_find(&s->by_id, id, strlen(id), &v))
		return PT_SESSION_NO_JOB;
	return (size_t)((uintptr_t)v - 1);
}

/* ------------------------------------------------------------------ */
/* Lists and solving                                                   */
/* ------------------------------------------------------------------ */

struct strvec {
	char **v;
	size_t n, cap;
};

/* Copies ids[0..n) into a fresh vector; 0 or -ENOMEM. */
static int strv_copy(struct strvec *out, const char *const *ids, size_t n)
{
	struct strvec v = { 0 };

	if (pt_vec_reserve(&v, n ? n : 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v.v[i] = pt__strdup(ids[i] ? ids[i] : "");
		if (!v.v[i]) {
			strv_release(v.v, i);
			pt_vec_release(&v);
			return -ENOMEM;
		}
	}
	v.n = n;
	*out = v;
	return 0;
}

int pt_session_set_mandatory(struct pt_session *s, const char *const *ids,
			     size_t n)
{
	struct strvec v;

	if (strv_copy(&v, ids, n) < 0)
		return -ENOMEM;
	strv_release(s->mandatory.v, s->mandatory.n);
	pt_vec_release(&s->mandatory);
	s->mandatory.v = v.v;
	s->mandatory.n = v.n;
	s->mandatory.cap = v.cap;
	return 0;
}

/* A RESOURCE_PROGRAM problem per run-list job whose requires does not
 * compile (in run-list order). 0 or -ENOMEM. */
static int program_problems(const struct pt_session *s,
			    const struct pt__u32vec *run,
			    struct pt__problemvec *problems, struct pt_arena *a)
{
	for (size_t k = 0; k < run->n; k++) {
		const struct pt__jobst *js = &s->jobs.v[run->v[k]];
		struct pt_problem p = { .kind = PT_PROBLEM_RESOURCE_PROGRAM };
		char *q = NULL, *msg;
		size_t len;

		if (!js->prog_err)
			continue;
		if (pt__pyrepr(a, js->job->id, false, &q) < 0)
			return -ENOMEM;
		len = strlen(q) + strlen(js->prog_err) + 64;
		msg = pt__arena_alloc(a, len);
		if (!msg)
			return -ENOMEM;
		snprintf(msg, len, "requires of job %s does not compile: %s", q,
			 js->prog_err);
		p.job = run->v[k];
		p.job_id = js->job->id;
		p.message = msg;
		if (pt_vec_push(problems, p) < 0)
			return -ENOMEM;
	}
	return 0;
}

int pt_session_set_desired(struct pt_session *s, const char *const *ids,
			   size_t n, bool include_mandatory)
{
	size_t nm = include_mandatory ? s->mandatory.n : 0, nd = nm + n;
	const char **all = pt__malloc_array(nd + 1, sizeof(*all));
	unsigned char *kept = pt__malloc(nd + 1);
	struct pt__u32vec run = { 0 };
	struct pt__problemvec problems = { 0 };
	struct pt_arena arena = PT_ARENA_INIT;
	struct strvec desired = { 0 };
	struct pt__ready_batch batch = { 0 };
	int r = -ENOMEM;

	if (!all || !kept)
		goto out;
	for (size_t i = 0; i < nm; i++)
		all[i] = s->mandatory.v[i];
	for (size_t i = 0; i < n; i++)
		all[nm + i] = ids[i] ? ids[i] : "";
	r = pt__solve(s, all, nd, &run, &problems, &arena, kept);
	if (r < 0)
		goto out;
	r = program_problems(s, &run, &problems, &arena);
	if (r < 0)
		goto out;
	r = pt__readiness_prepare_full(s, &run, &batch);
	if (r < 0)
		goto out;
	{
		size_t w = 0;

		for (size_t i = 0; i < nd; i++)
			if (kept[i])
				all[w++] = all[i];
		r = strv_copy(&desired, all, w);
		if (r < 0)
			goto out;
	}
	/* Commit. */
	for (size_t k = 0; k < s->run_list.n; k++)
		s->jobs.v[s->run_list.v[k]].run_pos = PT__NONE;
	pt_vec_release(&s->run_list);
	s->run_list = run;
	run = (struct pt__u32vec){ 0 };
	for (size_t k = 0; k < s->run_list.n; k++)
		s->jobs.v[s->run_list.v[k]].run_pos = (uint32_t)k;
	pt_vec_release(&s->problems);
	s->problems = problems;
	problems = (struct pt__problemvec){ 0 };
	pt__arena_release(&s->solve_arena);
	s->solve_arena = arena;
	arena = (struct pt_arena)PT_ARENA_INIT;
	strv_release(s->desired.v, s->desired.n);
	pt_vec_release(&s->desired);
	s->desired.v = desired.v;
	s->desired.n = desired.n;
	s->desired.cap = desired.cap;
	pt__readiness_apply(s, &batch);
	r = (int)s->problems.n;
out:
	pt__readiness_discard(&batch);
	pt__free(all);
	pt__free(kept);
	pt_vec_release(&run);
	pt_vec_release(&problems);
	pt__arena_release(&arena);
	return r;
}

size_t pt_session_desired_count(const struct pt_session *s)
{
	return s->desired.n;
}

const char *pt_session_desired_id(const struct pt_session *s, size_t i)
{
	return i < s->desired.n ? s->desired.v[i] : NULL;
}

size_t pt_session_mandatory_count(const struct pt_session *s)
{
	return s->mandatory.n;
}

const char *pt_session_mandatory_id(const struct pt_session *s, size_t i)
{
	return i < s->mandatory.n ? s->mandatory.v[i] : NULL;
}

size_t pt_session_run_list_count(const struct pt_session *s)
{
	return s->run_list.n;
}

size_t pt_session_run_list_get(const struct pt_session *s, size_t i)
{
	return i < s->run_list.n ? s->run_list.v[i] : PT_SESSION_NO_JOB;
}

bool pt_session_in_run_list(const struct pt_session *s, size_t job)
{
	return job < s->jobs.n && s->jobs.v[job].run_pos != PT__NONE;
}

size_t pt_session_problem_count(const struct pt_session *s)
{
	return s->dup_problems.n + s->filter_problems.n + s->problems.n;
}

const struct pt_problem *pt_session_problem(const struct pt_session *s,
					    size_t i)
{
	if (i < s->dup_problems.n)
		return &s->dup_problems.v[i];
	i -= s->dup_problems.n;
	if (i < s->filter_problems.n)
		return &s->filter_problems.v[i];
	i -= s->filter_problems.n;
	return i < s->problems.n ? &s->problems.v[i] : NULL;
}

unsigned pt_session_attempts(const struct pt_session *s, size_t job)
{
	return job < s->jobs.n ? s->jobs.v[job].attempts : 0;
}

void pt_session_set_attempts(struct pt_session *s, size_t job,
			     unsigned attempts)
{
	if (job < s->jobs.n)
		s->jobs.v[job].attempts = attempts;
}

/* ------------------------------------------------------------------ */
/* Results and resources                                               */
/* ------------------------------------------------------------------ */

static int result_copy(struct pt_result *dst, const struct pt_result *src)
{
	struct pt_result r = *src;

	r.comments = NULL;
	r.io_log = NULL;
	if (src->comments && !(r.comments = pt__strdup(src->comments)))
		return -ENOMEM;
	if (src->io_log && !(r.io_log = pt__strdup(src->io_log))) {
		result_release(&r);
		return -ENOMEM;
	}
	*dst = r;
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool result_equal(const struct pt_result *a, const struct pt_result *b)
{
	return a->outcome == b->outcome && a->return_code == b->return_code &&
	       a->duration == b->duration && a->attempt == b->attempt &&
	       a->started_ns == b->started_ns &&
	       str_eq(a->comments, b->comments) && str_eq(a->io_log, b->io_log);
}

/* MemoryJobResult({}): no outcome and nothing else recorded. */
static bool result_is_hollow(const struct pt_result *r)
{
	return r->outcome == PT_OUTCOME_NONE && !r->comments && !r->io_log &&
	       r->return_code == 0 && r->attempt == 0 && r->started_ns == 0;
}

/*
 * One block holding the records, their pointer arrays and strings; no
 * record gives one empty record (upstream's [Resource({})]).
 */
static struct pt__resource_list *
resource_list_new(const struct pt_resource_record *recs, size_t n)
{
	size_t size = sizeof(struct pt__resource_list), nrec = n ? n : 1;
	size_t npairs = 0, text = 0;
	struct pt__resource_list *l;
	struct pt_expr_record *erecs;
	struct pt_expr_field *fields;
	const char **ptrs;
	char *p;

	for (size_t i = 0; i < n; i++) {
		npairs += recs[i].n;
		for (size_t k = 0; k < recs[i].n; k++)
			text += strlen(recs[i].keys[k]) +
				strlen(recs[i].values[k]) + 2;
	}
	size += nrec * (sizeof(struct pt_resource_record) +
			sizeof(struct pt_expr_record)) +
		npairs * (2 * sizeof(char *) + sizeof(struct pt_expr_field)) +
		text;
	l = pt__malloc(size);
	if (!l)
		return NULL;
	l->n = nrec;
	l->recs = (struct pt_resource_record *)(l + 1);
	erecs = (struct pt_expr_record *)(l->recs + nrec);
	fields = (struct pt_expr_field *)(erecs + nrec);
	ptrs = (const char **)(fields + npairs);
	p = (char *)(ptrs + 2 * npairs);
	l->er.v = erecs;
	l->er.n = nrec;
	if (!n) {
		l->recs[0] = (struct pt_resource_record){ 0, NULL, NULL };
		erecs[0] = (struct pt_expr_record){ NULL, 0 };
	}
	for (size_t i = 0; i < n; i++) {
		const char **keys = ptrs, **values = ptrs + recs[i].n;

		for (size_t k = 0; k < recs[i].n; k++) {
			size_t kl = strlen(recs[i].keys[k]) + 1;
			size_t vl = strlen(recs[i].values[k]) + 1;

			memcpy(p, recs[i].keys[k], kl);
			keys[k] = p;
			p += kl;
			memcpy(p, recs[i].values[k], vl);
			values[k] = p;
			p += vl;
			fields[k] =
				(struct pt_expr_field){ keys[k], values[k] };
		}
		l->recs[i] =
			(struct pt_resource_record){ recs[i].n, keys, values };
		erecs[i] = (struct pt_expr_record){ fields, recs[i].n };
		fields += recs[i].n;
		ptrs += 2 * recs[i].n;
	}
	return l;
}

int pt_session_set_result(struct pt_session *s, size_t job,
			  const struct pt_result *res,
			  const struct pt_resource_record *records,
			  size_t n_records)
{
	struct pt__jobst *js;
	struct pt_result cur, hist = { 0 };
	struct pt__resource_list *rl = NULL;
	bool hollow, resource;

	if (!s || !res || job >= s->jobs.n)
		return -EINVAL;
	js = &s->jobs.v[job];
	/* JobState appends to the history on a real change only (the pod
	 * change notifier), and never a hollow result. */
	hollow = result_is_hollow(res) || result_equal(&js->result, res);
	resource = js->job->plugin == PT_PLUGIN_RESOURCE &&
		   res->outcome != PT_OUTCOME_NONE;
	/* Allocate everything first: on failure nothing has changed. */
	if (result_copy(&cur, res) < 0)
		return -ENOMEM;
	if (!hollow && (result_copy(&hist, res) < 0 ||
			pt_vec_reserve(&js->history, js->history.n + 1) < 0))
		goto nomem;
	if (resource) {
		rl = resource_list_new(records, n_records);
		if (!rl ||
		    pt__map_reserve(&s->resources, s->resources.n + 1) < 0)
			goto nomem;
	}
	{
		struct pt_result old = js->result;
		struct pt__ready_batch batch = { 0 };
		void *old_rl = NULL;
		bool had_rl = false;
		const char *id = js->job->id;
		int r;

		js->result = cur;
		s->outcomes.v[job] = (uint8_t)cur.outcome;
		if (resource) {
			had_rl = pt__map_find(&s->resources, id, strlen(id),
					      &old_rl);
			/* Cannot fail: room was reserved above. */
			(void)!pt__map_put(&s->resources, id, strlen(id), rl,
					   NULL);
		}
		r = pt__readiness_prepare_job(s, (uint32_t)job, &batch);
		if (r < 0) {
			/* Put everything back as it was. */
			js->result = old;
			s->outcomes.v[job] = (uint8_t)old.outcome;
			if (resource) {
				if (had_rl)
					(void)!pt__map_put(&s->resources, id,
							   strlen(id), old_rl,
							   NULL);
				else
					pt__map_del(&s->resources, id,
						    strlen(id), NULL);
			}
			pt__readiness_discard(&batch);
			goto nomem;
		}
		result_release(&old);
		pt__free(old_rl);
		if (!hollow)
			js->history.v[js->history.n++] = hist;
		if (s->cb.result_changed)
			s->cb.result_changed(s->cb.ctx, s, job);
		pt__readiness_apply(s, &batch);
	}
	/* Templates of this resource job (after the result is recorded). */
	if (resource)
		return pt__session_instantiate(s, (uint32_t)job);
	return 0;
nomem:
	result_release(&cur);
	result_release(&hist);
	pt__free(rl);
	return -ENOMEM;
}

const struct pt_result *pt_session_result(const struct pt_session *s,
					  size_t job)
{
	return job < s->jobs.n ? &s->jobs.v[job].result : NULL;
}

size_t pt_session_result_history_count(const struct pt_session *s, size_t job)
{
	return job < s->jobs.n ? s->jobs.v[job].history.n : 0;
}

const struct pt_result *pt_session_result_history(const struct pt_session *s,
						  size_t job, size_t i)
{
	if (job >= s->jobs.n || i >= s->jobs.v[job].history.n)
		return NULL;
	return &s->jobs.v[job].history.v[i];
}

const struct pt__resource_list *
pt__session_resource_list(const struct pt_session *s, const char *id)
{
	return pt__map_gets(&s->resources, id);
}

bool pt_session_resources(const struct pt_session *s, const char *id,
			  size_t *ret_count)
{
	const struct pt__resource_list *l = pt__map_gets(&s->resources, id);

	if (!l)
		return false;
	if (ret_count)
		*ret_count = l->n;
	return true;
}

const struct pt_resource_record *pt_session_resource(const struct pt_session *s,
						     const char *id, size_t i)
{
	const struct pt__resource_list *l = pt__map_gets(&s->resources, id);

	return l && i < l->n ? &l->recs[i] : NULL;
}

/* ------------------------------------------------------------------ */
/* Manifest and effective fields                                       */
/* ------------------------------------------------------------------ */

int pt_session_require_manifest(struct pt_session *s, size_t job,
				const char *manifest_id, bool expected)
{
	struct pt__jobst *js;
	struct pt__manifest_req m;

	if (job >= s->jobs.n || !manifest_id)
		return -EINVAL;
	js = &s->jobs.v[job];
	m.id = pt__strdup(manifest_id);
	m.expected = expected;
	if (!m.id || pt_vec_push(&js->manifest, m) < 0) {
		pt__free_const(m.id);
		return -ENOMEM;
	}
	return pt__readiness_manifest_changed(s);
}

int pt_session_set_manifest(struct pt_session *s, const char *manifest_id,
			    bool value)
{
	size_t len = strlen(manifest_id);
	void *old;

	if (pt__map_find(&s->manifest, manifest_id, len, NULL) == value)
		return 0;
	if (value) {
		char *k = pt__strdup(manifest_id);

		if (!k)
			return -ENOMEM;
		if (pt__map_put(&s->manifest, k, len, k, NULL) < 0) {
			pt__free(k);
			return -ENOMEM;
		}
	} else if (pt__map_del(&s->manifest, manifest_id, len, &old)) {
		pt__free(old);
	}
	return pt__readiness_manifest_changed(s);
}

static char **effective_slot(struct pt__jobst *js, const char *field)
{
	if (!strcmp(field, "category_id"))
		return &js->eff_category;
	if (!strcmp(field, "certification_status"))
		return &js->eff_cert;
	if (!strcmp(field, "auto_retry"))
		return &js->eff_retry;
	return NULL;
}

int pt_session_override(struct pt_session *s, size_t job, const char *field,
			const char *value)
{
	char **slot, *v;

	if (job >= s->jobs.n || !field || !value)
		return -EINVAL;
	slot = effective_slot(&s->jobs.v[job], field);
	if (!slot)
		return -EINVAL;
	v = pt__strdup(value);
	if (!v)
		return -ENOMEM;
	pt__free(*slot);
	*slot = v;
	return 0;
}

const char *pt_session_effective(const struct pt_session *s, size_t job,
				 const char *field)
{
	struct pt__jobst *js;
	char **slot;

	if (job >= s->jobs.n || !field)
		return NULL;
	js = &s->jobs.v[job];
	slot = effective_slot(js, field);
	if (!slot)
		return NULL;
	if (*slot)
		return *slot;
	if (slot == &js->eff_category)
		return js->job->category_id;
	if (slot == &js->eff_cert)
		return js->job->certification_status;
	return js->job->auto_retry;
}

/* ------------------------------------------------------------------ */
/* Metadata                                                            */
/* ------------------------------------------------------------------ */

static int set_str(char **slot, const char *v)
{
	char *c = NULL;

	if (v && !(c = pt__strdup(v)))
		return -ENOMEM;
	pt__free(*slot);
	*slot = c;
	return 0;
}

void pt_session_metadata(const struct pt_session *s,
			 struct pt_session_metadata *ret)
{
	ret->title = s->title;
	ret->running_job = s->running_job;
	ret->app_id = s->app_id;
	ret->app_blob = s->app_blob;
	ret->app_blob_len = s->app_blob_len;
	ret->custom_joblist = s->custom_joblist;
	ret->last_job_start_time = s->last_job_start_time;
	ret->n_flags = s->flags.n;
	ret->flags = (const char *const *)s->flags.v;
	ret->n_rejected = s->rejected.n;
	ret->rejected = (const char *const *)s->rejected.v;
}

int pt_session_set_title(struct pt_session *s, const char *title)
{
	return set_str(&s->title, title);
}

int pt_session_set_running_job(struct pt_session *s, const char *id)
{
	return set_str(&s->running_job, id);
}

int pt_session_set_app_id(struct pt_session *s, const char *app_id)
{
	return set_str(&s->app_id, app_id);
}

int pt_session_set_app_blob(struct pt_session *s, const void *blob, size_t len)
{
	void *c = NULL;

	if (blob && !(c = pt__malloc(len ? len : 1)))
		return -ENOMEM;
	if (blob && len)
		memcpy(c, blob, len);
	pt__free(s->app_blob);
	s->app_blob = c;
	s->app_blob_len = blob ? len : 0;
	return 0;
}

void pt_session_set_custom_joblist(struct pt_session *s, bool v)
{
	s->custom_joblist = v;
}

void pt_session_set_last_job_start_time(struct pt_session *s, double t)
{
	s->last_job_start_time = t;
}

bool pt_session_has_flag(const struct pt_session *s, const char *flag)
{
	for (size_t i = 0; i < s->flags.n; i++)
		if (!strcmp(s->flags.v[i], flag))
			return true;
	return false;
}

int pt_session_set_flag(struct pt_session *s, const char *flag, bool on)
{
	for (size_t i = 0; i < s->flags.n; i++) {
		if (strcmp(s->flags.v[i], flag))
			continue;
		if (!on) {
			pt__free(s->flags.v[i]);
			memmove(&s->flags.v[i], &s->flags.v[i + 1],
				(s->flags.n - i - 1) * sizeof(char *));
			s->flags.n--;
		}
		return 0;
	}
	if (on) {
		char *c = pt__strdup(flag);

		if (!c || pt_vec_push(&s->flags, c) < 0) {
			pt__free(c);
			return -ENOMEM;
		}
	}
	return 0;
}

int pt_session_set_rejected(struct pt_session *s, const char *const *ids,
			    size_t n)
{
	struct strvec v;

	if (strv_copy(&v, ids, n) < 0)
		return -ENOMEM;
	strv_release(s->rejected.v, s->rejected.n);
	pt_vec_release(&s->rejected);
	s->rejected.v = v.v;
	s->rejected.n = v.n;
	s->rejected.cap = v.cap;
	return 0;
}
