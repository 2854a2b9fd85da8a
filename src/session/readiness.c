/*
 * session/readiness.c - readiness inhibitors (docs/plainbox.md §3.5).
 *
 * A job off the run list has [UNDESIRED]. A run-list job's list is built
 * in upstream's order: REQUIRED_MANIFEST, then the resource program
 * (PENDING_RESOURCE per resource id of the first expression that cannot be
 * evaluated, skipping resource jobs that passed; or FAILED_RESOURCE per
 * resource id of the first false expression), then `depends` in sorted id
 * order (PENDING_DEP / FAILED_DEP), `after` (PENDING_DEP), `salvages`
 * (NOT_FAILED_DEP unless the target failed). A job whose requires does not
 * compile gets BAD_RESOURCE_PROGRAM where the resource inhibitors go (not
 * upstream's). A job named in both depends
 * and after gets two PENDING_DEP, as upstream.
 *
 * Upstream recomputes every job after every result. We keep reverse edges
 * (job X -> the run-list jobs whose inhibitors read X's outcome or
 * resources) and recompute only those when X's result arrives: the cost
 * of a result is the size of its reverse list, not of the session.
 */
#include "base/buf.h"
#include "base/common.h"
#include "session/session-internal.h"

static const struct pt_inhibitor undesired = {
	.cause = PT_INHIBIT_UNDESIRED,
	.related_job = PT_SESSION_NO_JOB,
};

struct ibvec {
	struct pt_inhibitor *v;
	size_t n, cap;
};

static enum pt_outcome outcome_of(const struct pt_session *s, uint32_t j)
{
	return j == PT__NONE ? PT_OUTCOME_NONE
			     : (enum pt_outcome)s->outcomes.v[j];
}

static int add(struct ibvec *out, enum pt_inhibitor_cause c, uint32_t job,
	       const char *id, const char *expr)
{
	struct pt_inhibitor ib = {
		.cause = c,
		.related_job = job == PT__NONE ? PT_SESSION_NO_JOB : job,
		.related_id = id,
		.related_expression = expr,
	};

	return pt_vec_push(out, ib);
}

static uint32_t find(const struct pt_session *s, const char *id)
{
	void *v;

	if (!pt__map_find(&s->by_id, id, strlen(id), &v))
		return PT__NONE;
	return (uint32_t)((uintptr_t)v - 1);
}

/*
 * The inhibitors of run-list job j into out (emptied first); the text of
 * a REQUIRED_MANIFEST goes to *ret_text (heap, caller frees), else NULL.
 */
static int compute(const struct pt_session *s, uint32_t j, struct ibvec *out,
		   char **ret_text)
{
	const struct pt__jobst *js = &s->jobs.v[j];
	const struct pt__edge *e =
		js->edge_n ? s->edges.v + js->edge_off : NULL;
	int r = 0;

	out->n = 0;
	*ret_text = NULL;
	if (js->manifest.n) {
		struct pt_buf b = PT_BUF_INIT;

		for (size_t i = 0; i < js->manifest.n && !r; i++) {
			const struct pt__manifest_req *m = &js->manifest.v[i];
			bool have = pt__map_gets(&s->manifest, m->id) != NULL;

			if (have == m->expected)
				continue;
			if (b.len)
				r |= pt__buf_adds(&b, ", ");
			r |= pt__buf_adds(&b, m->id);
		}
		if (!r && b.len) {
			*ret_text = pt__buf_detach(&b, NULL);
			if (!*ret_text)
				r = -ENOMEM;
			else
				r = add(out, PT_INHIBIT_REQUIRED_MANIFEST, j,
					js->job->id, NULL);
			if (r == 0)
				out->v[out->n - 1].related_manifests =
					*ret_text;
		}
		pt__buf_release(&b);
		if (r)
			return -ENOMEM;
	}
	if (js->prog_err) {
		/* requires does not compile: the job can never run. */
		r = add(out, PT_INHIBIT_BAD_RESOURCE_PROGRAM, PT__NONE,
			js->job->id, js->prog_err);
		if (r < 0)
			return r;
	}
	if (js->prog && s->req) {
		size_t idx = 0;
		enum pt__req_status st =
			s->req->eval(s->req->ctx, js->prog, s, &idx);
		struct pt__req_expr x;

		if (st != PT__REQ_TRUE) {
			s->req->expr(js->prog, idx, &x);
			for (size_t k = 0; k < x.n_ids; k++) {
				uint32_t rj = find(s, x.ids[k]);

				if (st == PT__REQ_PENDING &&
				    outcome_of(s, rj) == PT_OUTCOME_PASS)
					continue;
				r = add(out,
					st == PT__REQ_PENDING
						? PT_INHIBIT_PENDING_RESOURCE
						: PT_INHIBIT_FAILED_RESOURCE,
					rj, x.ids[k], x.text);
				if (r < 0)
					return r;
				/* an unmet manifest (skipped-manifest) */
				if (st != PT__REQ_PENDING)
					out->v[out->n - 1].related_manifests =
						x.manifests;
			}
		}
	}
	for (uint32_t k = 0; k < js->edge_n; k++)
		if (e[k].type == PT_DEP_DEPENDS) {
			enum pt_outcome o = outcome_of(s, e[k].target);

			if (o == PT_OUTCOME_NONE)
				r = add(out, PT_INHIBIT_PENDING_DEP,
					e[k].target, e[k].id, NULL);
			else if (o != PT_OUTCOME_PASS)
				r = add(out, PT_INHIBIT_FAILED_DEP, e[k].target,
					e[k].id, NULL);
			if (r < 0)
				return r;
		}
	for (uint32_t k = 0; k < js->edge_n; k++)
		if (e[k].type == PT_DEP_AFTER &&
		    outcome_of(s, e[k].target) == PT_OUTCOME_NONE) {
			r = add(out, PT_INHIBIT_PENDING_DEP, e[k].target,
				e[k].id, NULL);
			if (r < 0)
				return r;
		}
	for (uint32_t k = 0; k < js->edge_n; k++)
		if (e[k].type == PT__EDGE_SALVAGES &&
		    outcome_of(s, e[k].target) != PT_OUTCOME_FAIL) {
			r = add(out, PT_INHIBIT_NOT_FAILED_DEP, e[k].target,
				e[k].id, NULL);
			if (r < 0)
				return r;
		}
	return 0;
}

static bool same_list(const struct pt__jobst *js, const struct ibvec *v)
{
	if (js->n_ib != v->n)
		return false;
	for (size_t i = 0; i < v->n; i++) {
		const struct pt_inhibitor *a = &js->ib[i], *b = &v->v[i];

		if (a->cause != b->cause || a->related_job != b->related_job ||
		    a->related_id != b->related_id ||
		    a->related_expression != b->related_expression)
			return false;
		if ((a->related_manifests == NULL) !=
			    (b->related_manifests == NULL) ||
		    (a->related_manifests &&
		     strcmp(a->related_manifests, b->related_manifests)))
			return false;
	}
	return true;
}

static void set_undesired(struct pt_session *s, uint32_t j)
{
	struct pt__jobst *js = &s->jobs.v[j];
	bool changed = js->ib != NULL || js->n_ib != 1;

	pt__free(js->ib);
	pt__free(js->manifest_text);
	js->ib = NULL;
	js->manifest_text = NULL;
	js->n_ib = 1;
	if (changed && s->cb.readiness_changed)
		s->cb.readiness_changed(s->cb.ctx, s, j);
}

/*
 * Phase 1 for job j: compute its list; when it differs from the stored
 * one, queue a copy (exactly sized) in the batch. Allocation only here.
 */
static int prepare(struct pt_session *s, uint32_t j, struct ibvec *tmp,
		   struct pt__ready_batch *b)
{
	const struct pt__jobst *js = &s->jobs.v[j];
	struct pt__ready_pending p = { .job = j };
	int r;

	r = compute(s, j, tmp, &p.text);
	if (r < 0)
		goto fail;
	if (js->ib && js->run_pos != PT__NONE && same_list(js, tmp)) {
		pt__free(p.text);
		return 0;
	}
	p.ib = pt__malloc_array(tmp->n ? tmp->n : 1, sizeof(*p.ib));
	if (!p.ib)
		goto fail;
	if (tmp->n)
		memcpy(p.ib, tmp->v, tmp->n * sizeof(*p.ib));
	p.n = (uint32_t)tmp->n;
	if (pt_vec_push(&b->pending, p) < 0)
		goto fail;
	return 0;
fail:
	pt__free(p.ib);
	pt__free(p.text);
	return -ENOMEM;
}

void pt__readiness_discard(struct pt__ready_batch *b)
{
	for (size_t i = 0; i < b->pending.n; i++) {
		pt__free(b->pending.v[i].ib);
		pt__free(b->pending.v[i].text);
	}
	pt_vec_release(&b->pending);
	pt__free(b->rdep_off);
	pt__free(b->rdep);
	memset(b, 0, sizeof(*b));
}

static bool reads(unsigned type)
{
	return type == PT_DEP_DEPENDS || type == PT_DEP_AFTER ||
	       type == PT_DEP_RESOURCE || type == PT__EDGE_SALVAGES;
}

/* Reverse edges of a run list (CSR): who must be recomputed for X. */
static int build_rdeps(const struct pt_session *s, const uint8_t *inrun,
		       struct pt__ready_batch *b)
{
	size_t n = s->jobs.n, total = 0;
	uint32_t *off = pt__calloc(n + 2, sizeof(*off));
	uint32_t *last = pt__malloc_array(n + 1, sizeof(*last));
	uint32_t *rd = NULL;
	int r = -ENOMEM;

	if (!off || !last)
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t j = 0; j < n; j++)
			last[j] = PT__NONE;
		for (uint32_t R = 0; R < n; R++) {
			const struct pt__jobst *js = &s->jobs.v[R];

			if (!inrun[R])
				continue;
			for (uint32_t e = js->edge_off;
			     e < js->edge_off + js->edge_n; e++) {
				uint32_t t = s->edges.v[e].target;

				if (!reads(s->edges.v[e].type) ||
				    t == PT__NONE || last[t] == R)
					continue;
				last[t] = R;
				if (pass == 0)
					off[t + 1]++;
				else
					rd[off[t]++] = R;
			}
		}
		if (pass == 0) {
			for (size_t j = 0; j < n; j++)
				off[j + 1] += off[j];
			total = off[n];
			rd = pt__malloc_array(total + 1, sizeof(*rd));
			if (!rd)
				goto out;
		}
	}
	/* The fill pass advanced off[t] to the start of t + 1: shift back. */
	memmove(off + 1, off, n * sizeof(*off));
	off[0] = 0;
	b->rdep_off = off;
	b->rdep = rd;
	b->rdep_jobs = n;
	off = NULL;
	rd = NULL;
	r = 0;
out:
	pt__free(off);
	pt__free(last);
	pt__free(rd);
	return r;
}

int pt__readiness_prepare_full(struct pt_session *s,
			       const struct pt__u32vec *run_list,
			       struct pt__ready_batch *b)
{
	struct ibvec tmp = { 0 };
	uint8_t *inrun = pt__calloc(s->jobs.n + 1, 1);
	int r;

	/* In job order, not run-list order: the job states and the edges are
	 * laid out by job index, so this walks memory sequentially. */
	if (!inrun)
		return -ENOMEM;
	for (size_t k = 0; k < run_list->n; k++)
		inrun[run_list->v[k]] = 1;
	b->full = true;
	r = build_rdeps(s, inrun, b);
	for (uint32_t j = 0; r == 0 && j < s->jobs.n; j++)
		if (inrun[j])
			r = prepare(s, j, &tmp, b);
	pt_vec_release(&tmp);
	pt__free(inrun);
	return r;
}

int pt__readiness_prepare_job(struct pt_session *s, uint32_t x,
			      struct pt__ready_batch *b)
{
	struct ibvec tmp = { 0 };
	int r = 0;

	if (!s->rdep_off || x >= s->rdep_jobs)
		return 0;
	for (uint32_t k = s->rdep_off[x]; k < s->rdep_off[x + 1] && !r; k++)
		r = prepare(s, s->rdep[k], &tmp, b);
	pt_vec_release(&tmp);
	return r;
}

static void apply_one(struct pt_session *s, struct pt__ready_pending *p)
{
	struct pt__jobst *js = &s->jobs.v[p->job];

	pt__free(js->ib);
	pt__free(js->manifest_text);
	js->ib = p->ib;
	js->n_ib = p->n;
	js->manifest_text = p->text;
	/* related_manifests points into text, which moved with it. */
	p->ib = NULL;
	p->text = NULL;
	if (s->cb.readiness_changed)
		s->cb.readiness_changed(s->cb.ctx, s, p->job);
}

void pt__readiness_apply(struct pt_session *s, struct pt__ready_batch *b)
{
	if (b->full) {
		pt__free(s->rdep_off);
		pt__free(s->rdep);
		s->rdep_off = b->rdep_off;
		s->rdep = b->rdep;
		s->rdep_jobs = b->rdep_jobs;
		b->rdep_off = NULL;
		b->rdep = NULL;
		for (size_t j = 0; j < s->jobs.n; j++)
			if (s->jobs.v[j].run_pos == PT__NONE)
				set_undesired(s, (uint32_t)j);
		for (size_t k = 0; k < b->pending.n; k++)
			apply_one(s, &b->pending.v[k]);
	} else {
		for (size_t k = 0; k < b->pending.n; k++)
			apply_one(s, &b->pending.v[k]);
	}
	pt__readiness_discard(b);
}

int pt__readiness_manifest_changed(struct pt_session *s)
{
	struct pt__ready_batch b = { 0 };
	struct ibvec tmp = { 0 };
	int r = 0;

	for (size_t k = 0; k < s->run_list.n && !r; k++) {
		uint32_t j = s->run_list.v[k];

		if (s->jobs.v[j].manifest.n)
			r = prepare(s, j, &tmp, &b);
	}
	pt_vec_release(&tmp);
	if (r < 0) {
		pt__readiness_discard(&b);
		return r;
	}
	pt__readiness_apply(s, &b);
	return 0;
}

int pt__readiness_check(const struct pt_session *s, uint32_t j)
{
	const struct pt__jobst *js = &s->jobs.v[j];
	struct ibvec tmp = { 0 };
	char *text = NULL;
	int r;

	if (js->run_pos == PT__NONE)
		return js->ib == NULL && js->n_ib == 1 ? 0 : 1;
	r = compute(s, j, &tmp, &text);
	if (r == 0)
		r = js->ib && same_list(js, &tmp) ? 0 : 1;
	if (r == 0 && js->n_ib &&
	    js->ib[0].cause == PT_INHIBIT_REQUIRED_MANIFEST &&
	    js->ib[0].related_manifests != js->manifest_text)
		r = 1;
	pt__free(text);
	pt_vec_release(&tmp);
	return r;
}

void pt__readiness_release(struct pt_session *s)
{
	for (size_t j = 0; j < s->jobs.n; j++) {
		pt__free(s->jobs.v[j].ib);
		pt__free(s->jobs.v[j].manifest_text);
	}
	pt__free(s->rdep_off);
	pt__free(s->rdep);
	s->rdep_off = NULL;
	s->rdep = NULL;
}

size_t pt_session_inhibitor_count(const struct pt_session *s, size_t job)
{
	if (job >= s->jobs.n)
		return 0;
	return s->jobs.v[job].n_ib;
}

const struct pt_inhibitor *pt_session_inhibitor(const struct pt_session *s,
						size_t job, size_t i)
{
	const struct pt__jobst *js;

	if (job >= s->jobs.n)
		return NULL;
	js = &s->jobs.v[job];
	if (i >= js->n_ib)
		return NULL;
	return js->ib ? &js->ib[i] : &undesired;
}

bool pt_session_can_start(const struct pt_session *s, size_t job)
{
	if (job >= s->jobs.n)
		return false;
	return s->jobs.v[job].n_ib == 0 && s->jobs.v[job].attempts > 0;
}
