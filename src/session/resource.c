/*
 * session/resource.c - the default resource-program seam of the session
 * (session-internal.h, struct pt__req_ops) on top of the expression
 * module (expr.h): `requires` is compiled once per job, in compat mode
 * (PlainBox's textual and/or split, spec §5.3), with the job's namespace
 * and `imports`; it is evaluated against the session's resource map
 * through a lookup callback, without allocation.
 */
#include "base/common.h"
#include "session/expr.h"
#include "session/session-internal.h"

static int req_compile(void *ctx, const struct pt_job *job, void **ret)
{
	struct pt_expr_imports *imps = NULL;
	struct pt_expr_prog *prog = NULL;
	struct pt_expr_opts o = { .mode = PT_EXPR_COMPAT };
	int r;

	(void)ctx;
	*ret = NULL;
	if (!job->requires)
		return 0;
	r = pt__expr_imports_parse(job->imports, &imps, NULL);
	if (r < 0)
		return r;
	o.ns = job->ns && *job->ns ? job->ns : NULL;
	o.imports = imps;
	r = pt__expr_prog_new(job->requires, &o, &prog, NULL);
	pt__expr_imports_free(imps);
	if (r < 0)
		return r;
	*ret = prog;
	return 0;
}

static size_t req_count(const void *prog)
{
	return pt__expr_prog_count(prog);
}

static void req_expr(const void *prog, size_t i, struct pt__req_expr *ret)
{
	ret->text = pt__expr_prog_text(prog, i);
	ret->ids = pt__expr_prog_ids(prog, i, &ret->n_ids);
}

static const struct pt_expr_records *lookup(void *ctx, const char *id)
{
	const struct pt__resource_list *l =
		pt__session_resource_list(ctx, id);

	return l ? &l->er : NULL;
}

static enum pt__req_status req_eval(void *ctx, const void *prog,
				    const struct pt_session *s,
				    size_t *ret_index)
{
	struct pt_expr_result r;

	(void)ctx;
	/* The evaluator only reads through lookup(); the cast drops the
	 * const the callback type cannot carry. */
	pt__expr_prog_eval(prog, lookup, (void *)(uintptr_t)s, &r);
	*ret_index = r.expr;
	switch (r.status) {
	case PT_EXPR_PASS:
		return PT__REQ_TRUE;
	case PT_EXPR_CANNOT_EVALUATE:
		return PT__REQ_PENDING;
	case PT_EXPR_FAIL:
	case PT_EXPR_ERROR:
		break;
	}
	return PT__REQ_FALSE;
}

static void req_release(void *ctx, void *prog)
{
	(void)ctx;
	pt__expr_prog_free(prog);
}

const struct pt__req_ops pt__req_expr_ops = {
	.compile = req_compile,
	.count = req_count,
	.expr = req_expr,
	.eval = req_eval,
	.release = req_release,
	.ctx = NULL,
};

/* ------------------------------------------------------------------ */
/* Template instantiation (spec §2.5, §3.6)                            */
/* ------------------------------------------------------------------ */

int pt_session_attach_units(struct pt_session *s, struct pt_units *u,
			    struct pt_diags *diags)
{
	s->units = u;
	s->unit_diags = diags;
	return 0;
}

/*
 * After a resource job's result: every template whose template-resource
 * is that job gets one instance per record passing its template-filter
 * (__index__ = the record's position, from 1); the new jobs join the
 * session (UNDESIRED until the next solve), as upstream's add_unit with
 * recompute=False. Nothing happens for a single empty record
 * ([Resource({})]).
 */
int pt__session_instantiate(struct pt_session *s, uint32_t job)
{
	const struct pt__resource_list *l;
	const char *id = s->jobs.v[job].job->id;
	struct pt_rfc822_record *recs = NULL;
	struct pt_rfc822_field *fields = NULL;
	const struct pt_rfc822_record **pass = NULL;
	unsigned *idx = NULL;
	size_t nfields = 0, before;
	int r = 0;

	if (!s->units)
		return 0;
	l = pt__session_resource_list(s, id);
	if (!l || (l->n == 1 && l->recs[0].n == 0))
		return 0;
	for (size_t i = 0; i < l->n; i++)
		nfields += l->recs[i].n;
	recs = pt__calloc(l->n, sizeof(*recs));
	fields = pt__calloc(nfields + 1, sizeof(*fields));
	pass = pt__calloc(l->n, sizeof(*pass));
	idx = pt__calloc(l->n, sizeof(*idx));
	if (!recs || !fields || !pass || !idx) {
		r = -ENOMEM;
		goto out;
	}
	nfields = 0;
	for (size_t i = 0; i < l->n; i++) {
		recs[i].file = id;
		recs[i].n = l->recs[i].n;
		recs[i].fields = fields + nfields;
		for (size_t k = 0; k < l->recs[i].n; k++)
			fields[nfields++] = (struct pt_rfc822_field){
				l->recs[i].keys[k], l->recs[i].values[k], 0
			};
	}
	before = pt_units_job_count(s->units);
	for (size_t t = 0; t < pt_units_count(s->units) && r >= 0; t++) {
		const struct pt_unit *tpl = pt_units_get(s->units, t);
		struct pt_template_info info;
		struct pt_expr_prog *filter = NULL;
		size_t np = 0;

		if (tpl->type != PT_UNIT_TEMPLATE ||
		    pt_template_info(s->units, tpl, &info) < 0 ||
		    !info.resource || strcmp(info.resource, id))
			continue;
		if (info.filter) {
			struct pt_expr_imports *imps = NULL;
			struct pt_expr_opts o = { .mode = PT_EXPR_COMPAT };

			if (pt__expr_imports_parse(info.imports, &imps,
						   NULL) < 0)
				continue;
			o.ns = tpl->ns && *tpl->ns ? tpl->ns : NULL;
			o.imports = imps;
			r = pt__expr_prog_new(info.filter, &o, &filter, NULL);
			pt__expr_imports_free(imps);
			if (r == -ENOMEM)
				break;
			r = 0;
			if (!filter)
				continue; /* a bad filter instantiates nothing */
		}
		for (size_t i = 0; i < l->n; i++) {
			struct pt_expr_result er = { .status = PT_EXPR_PASS };

			if (filter)
				pt__expr_prog_eval_one(filter, id,
						       &l->er.v[i], &er);
			if (er.status != PT_EXPR_PASS)
				continue;
			pass[np] = &recs[i];
			idx[np++] = (unsigned)i + 1;
		}
		pt__expr_prog_free(filter);
		if (np)
			r = pt_template_instantiate(s->units, tpl, pass, idx,
						    np, s->unit_diags);
	}
	/* The jobs the unit module appended join the session. */
	for (size_t k = before; k < pt_units_job_count(s->units); k++) {
		int a = pt_session_add_job(s, pt_units_job(s->units, k));

		if (a < 0 && a != PT_EDUPLICATE && r >= 0)
			r = a;
	}
out:
	pt__free(recs);
	pt__free(fields);
	pt__free(pass);
	pt__free(idx);
	return r < 0 ? r : 0;
}
