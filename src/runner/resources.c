/*
 * runner/resources.c - what happens after a resource job (spec §3.6):
 * its stdout becomes RFC822 records, and every template whose
 * template-resource names that job is instantiated once per record that
 * passes the template's template-filter (evaluated per record with the
 * resource-program engine, compat mode, as upstream does).
 */
#include "runner/runner-internal.h"

#include <proctor/unit.h>

#include "base/diag.h"
#include "base/vec.h"
#include "session/expr.h"

struct one_record {
	const char *id;
	struct pt_expr_records recs;
};

static const struct pt_expr_records *lookup_one(void *ctx, const char *id)
{
	struct one_record *o = ctx;

	return !strcmp(id, o->id) ? &o->recs : NULL;
}

/* True when record passes the filter program (NULL: no filter). */
static bool passes(const struct pt_expr_prog *prog, const char *id,
		   const struct pt_rfc822_record *rec, struct pt_expr_field *fb)
{
	struct pt_expr_record er = { fb, rec->n };
	struct one_record o = { id, { &er, 1 } };
	struct pt_expr_result res;

	if (!prog)
		return true;
	for (size_t i = 0; i < rec->n; i++) {
		fb[i].key = rec->fields[i].key;
		fb[i].value = rec->fields[i].value;
	}
	pt__expr_prog_eval(prog, lookup_one, &o, &res);
	return res.status == PT_EXPR_PASS;
}

PT_API int pt_runner_instantiate(struct pt_units *u, const char *resource_id,
				 const struct pt_records *records,
				 struct pt_diags *diags)
{
	size_t n = pt_records_count(records), nunits = pt_units_count(u);
	PT_VEC(const struct pt_rfc822_record *) pick = PT_VEC_INIT;
	PT_VEC(unsigned) idx = PT_VEC_INIT;
	struct pt_expr_field *fb = NULL;
	size_t maxf = 0;
	int added = 0, r = 0;

	if (!u || !resource_id)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct pt_rfc822_record *rec = pt_records_get(records, i);
		maxf = PT_MAX(maxf, rec->n);
	}
	fb = pt__calloc(maxf + 1, sizeof(*fb));
	if (!fb)
		return -ENOMEM;
	/* Only the units present now: instances are not templates. */
	for (size_t t = 0; t < nunits && r >= 0; t++) {
		const struct pt_unit *tpl = pt_units_get(u, t);
		struct pt_template_info info;
		struct pt_expr_imports *imps = NULL;
		struct pt_expr_prog *prog = NULL;
		struct pt_expr_error err;

		if (tpl->type != PT_UNIT_TEMPLATE)
			continue;
		if (pt_template_info(u, tpl, &info) < 0 || !info.resource ||
		    strcmp(info.resource, resource_id))
			continue;
		if (info.filter) {
			struct pt_expr_opts o = { .mode = PT_EXPR_COMPAT,
						  .ns = tpl->ns };
			r = pt__expr_imports_parse(info.imports, &imps, &err);
			o.imports = imps;
			if (r == 0)
				r = pt__expr_prog_new(info.filter, &o, &prog,
						      &err);
			if (r < 0) {
				pt__expr_imports_free(imps);
				if (r == -ENOMEM)
					break;
				/* A bad filter instantiates nothing. */
				if (diags)
					(void)!pt__diags_add(
					diags, PT_SEV_ERROR, PT_EEXPR,
					tpl->file,
					pt_unit_field_line(tpl,
							   "template-filter"),
					"template-filter", "%s", err.message);
				r = 0;
				continue;
			}
		}
		pick.n = idx.n = 0;
		for (size_t i = 0; i < n && r >= 0; i++) {
			const struct pt_rfc822_record *rec =
				pt_records_get(records, i);

			if (!passes(prog, resource_id, rec, fb))
				continue;
			if (pt_vec_push(&pick, rec) < 0 ||
			    pt_vec_push(&idx, (unsigned)(i + 1)) < 0)
				r = -ENOMEM;
		}
		if (r >= 0 && pick.n) {
			r = pt_template_instantiate(u, tpl, pick.v, idx.v,
						    pick.n, diags);
			if (r > 0)
				added += r;
		}
		pt__expr_prog_free(prog);
		pt__expr_imports_free(imps);
	}
	pt_vec_release(&pick);
	pt_vec_release(&idx);
	pt__free(fb);
	return r < 0 ? r : added;
}
