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
