/*
 * session/resource.c - the default resource-program seam of the session
 * (session-internal.h, struct pt__req_ops) on top of the expression
 * module (expr.h): `requires` is compiled once per job, in compat mode
 * (PlainBox's textual and/or split, docs/plainbox.md §5.3), with the job's
 * namespace and `imports`; it is evaluated against the session's resource map
 * through a lookup callback, without allocation.
 */
#include "base/common.h"
#include "base/diag.h"
#include "session/expr.h"
#include "session/session-internal.h"

/*
 * Compiled programs are shared by the jobs whose (namespace, imports,
 * requires) are identical (half of the Checkbox corpus's programs are
 * repeats): the handle given to the session is a cache entry.
 */
struct prog_entry {
	struct pt_expr_prog *prog;
	size_t refs;
	size_t key_len;
	char key[]; /* ns \x1f imports \x1f requires */
};

/*
 * Compiles a requires or template-filter text as the session does
 * (compat mode, the unit's namespace and imports). 0 with *ret, or
 * PT_EEXPR / PT_ETOOBIG with *err (a bad imports field included), or
 * -ENOMEM.
 */
static int compile_text(const char *text, const char *ns, const char *imports,
			struct pt_expr_prog **ret, struct pt_expr_error *err)
{
	struct pt_expr_imports *imps = NULL;
	struct pt_expr_opts o = { .mode = PT_EXPR_COMPAT };
	int r;

	r = pt__expr_imports_parse(imports, &imps, err);
	if (r < 0)
		return r;
	o.ns = ns && *ns ? ns : NULL;
	o.imports = imps;
	r = pt__expr_prog_new(text, &o, ret, err);
	pt__expr_imports_free(imps);
	return r;
}

/* The file line of the unit's field (a job or a template). */
static unsigned field_line(const struct pt_unit *unit, unsigned fallback,
			   const char *field)
{
	unsigned l = unit ? pt_unit_field_line(unit, field) : 0;

	return l ? l : fallback;
}

/* The file line of the bad expression (line: its field's, 0 when unknown:
 * then the expression's line within the program). */
static unsigned err_line(unsigned line, const struct pt_expr_error *err)
{
	if (!line)
		return err->line;
	return line + (err->line ? err->line - 1 : 0);
}

static void err_text(char *buf, size_t size, const struct pt_expr_error *err)
{
	bool imports = err->kind == PT_EXPR_ERR_IMPORTS;

	snprintf(buf, size, "%s%s", imports ? "imports: " : "", err->message);
	if (err->column && !imports)
		snprintf(buf + strlen(buf), size - strlen(buf), " (column %u)",
			 err->column);
}

/*
 * "FILE:LINE: MESSAGE (column C)" for a program of a unit that does not
 * compile, in arena a (NULL: out of memory).
 */
static const char *describe(struct pt_arena *a, const char *file, unsigned line,
			    const struct pt_expr_error *err)
{
	char text[256], buf[4096 + 300];

	err_text(text, sizeof(text), err);
	snprintf(buf, sizeof(buf), "%s:%u: %s", file ? file : "<input>",
		 err_line(line, err), text);
	return pt__arena_strdup(a, buf);
}

static int req_compile(void *ctx, const struct pt_job *job, void **ret,
		       const char **ret_err)
{
	struct pt_session *s = ctx;
	struct pt_expr_prog *prog = NULL;
	struct pt_expr_error err;
	const char *ns = job->ns ? job->ns : "";
	const char *im = job->imports ? job->imports : "";
	size_t ln = strlen(ns), li = strlen(im), lr;
	struct prog_entry *e;
	void *found;
	int r;

	*ret = NULL;
	if (!job->requires)
		return 0;
	lr = strlen(job->requires);
	e = pt__malloc(sizeof(*e) + ln + li + lr + 3);
	if (!e)
		return -ENOMEM;
	e->key_len = ln + li + lr + 2;
	memcpy(e->key, ns, ln);
	e->key[ln] = 0x1f;
	memcpy(e->key + ln + 1, im, li);
	e->key[ln + 1 + li] = 0x1f;
	memcpy(e->key + ln + li + 2, job->requires, lr + 1);
	if (pt__map_find(&s->prog_cache, e->key, e->key_len, &found)) {
		pt__free(e);
		((struct prog_entry *)found)->refs++;
		*ret = found;
		return 0;
	}
	r = compile_text(job->requires, ns, job->imports, &prog, &err);
	if (r < 0) {
		if (r != -ENOMEM) {
			unsigned l = field_line(job->unit, job->line,
						err.kind == PT_EXPR_ERR_IMPORTS
							? "imports"
							: "requires");
			*ret_err = describe(&s->arena, job->file, l, &err);
		}
		goto fail;
	}
	e->prog = prog;
	e->refs = 1;
	r = pt__map_put(&s->prog_cache, e->key, e->key_len, e, NULL);
	if (r < 0)
		goto fail;
	*ret = e;
	return 0;
fail:
	pt__expr_prog_free(prog);
	pt__free(e);
	return r;
}

static size_t req_count(const void *h)
{
	return pt__expr_prog_count(((const struct prog_entry *)h)->prog);
}

static void req_expr(const void *h, size_t i, struct pt__req_expr *ret)
{
	const struct pt_expr_prog *prog = ((const struct prog_entry *)h)->prog;

	ret->text = pt__expr_prog_text(prog, i);
	ret->ids = pt__expr_prog_ids(prog, i, &ret->n_ids);
	ret->manifests = pt__expr_prog_manifest_text(prog, i);
}

static const struct pt_expr_records *lookup(void *ctx, const char *id)
{
	const struct pt__resource_list *l = pt__session_resource_list(ctx, id);

	return l ? &l->er : NULL;
}

static enum pt__req_status req_eval(void *ctx, const void *h,
				    const struct pt_session *s,
				    size_t *ret_index)
{
	struct pt_expr_result r;

	(void)ctx;
	/* The evaluator only reads through lookup(); the cast drops the
	 * const the callback type cannot carry. */
	pt__expr_prog_eval(((const struct prog_entry *)h)->prog, lookup,
			   (void *)(uintptr_t)s, &r);
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

static void req_release(void *ctx, void *h)
{
	struct pt_session *s = ctx;
	struct prog_entry *e = h;

	if (--e->refs)
		return;
	pt__map_del(&s->prog_cache, e->key, e->key_len, NULL);
	pt__expr_prog_free(e->prog);
	pt__free(e);
}

void pt__req_expr_install(struct pt_session *s)
{
	s->req_own = (struct pt__req_ops){
		.compile = req_compile,
		.count = req_count,
		.expr = req_expr,
		.eval = req_eval,
		.release = req_release,
		.ctx = s,
	};
	pt__session_set_req_ops(s, &s->req_own);
}

/* ------------------------------------------------------------------ */
/* Template instantiation (docs/plainbox.md §2.5, §3.6)                */
/* ------------------------------------------------------------------ */

void pt_session_set_fake_resources(struct pt_session *s, bool on)
{
	s->fake_resources = on;
}

/*
 * Compiles the template-filter of tpl into *ret. When it does not
 * compile, *ret = NULL, *ret_err (may be NULL) says why, and (once per
 * template) a PT_PROBLEM_RESOURCE_PROGRAM joins the session's problems.
 * 0 or -ENOMEM.
 */
static int filter_compile(struct pt_session *s, const struct pt_unit *tpl,
			  const struct pt_template_info *info,
			  struct pt_expr_prog **ret,
			  struct pt_expr_error *ret_err)
{
	struct pt_problem p = { .kind = PT_PROBLEM_RESOURCE_PROGRAM,
				.job = PT_SESSION_NO_JOB };
	struct pt_expr_error err;
	const char *why, *id = tpl->id ? tpl->id : "?";
	char *q = NULL, *msg;
	size_t len;
	unsigned line;
	int r;

	*ret = NULL;
	r = compile_text(info->filter, tpl->ns, info->imports, ret, &err);
	if (r == -ENOMEM)
		return r;
	if (r == 0)
		return 0;
	if (ret_err)
		*ret_err = err;
	pt_vec_foreach(&s->filter_tpls, i)
		if (s->filter_tpls.v[i] == tpl)
			return 0;
	line = field_line(tpl, tpl->line,
			  err.kind == PT_EXPR_ERR_IMPORTS ? "template-imports"
							  : "template-filter");
	why = describe(&s->arena, tpl->file, line, &err);
	if (!why || pt__pyrepr(&s->arena, id, false, &q) < 0)
		return -ENOMEM;
	len = strlen(q) + strlen(why) + 64;
	msg = pt__arena_alloc(&s->arena, len);
	if (!msg)
		return -ENOMEM;
	snprintf(msg, len,
		 "template-filter of template %s does not compile: %s", q, why);
	p.job_id = id;
	p.message = msg;
	if (pt_vec_reserve(&s->filter_tpls, s->filter_tpls.n + 1) < 0 ||
	    pt_vec_reserve(&s->filter_problems, s->filter_problems.n + 1) < 0)
		return -ENOMEM;
	s->filter_tpls.v[s->filter_tpls.n++] = tpl;
	s->filter_problems.v[s->filter_problems.n++] = p;
	return 0;
}

int pt_session_attach_units(struct pt_session *s, struct pt_units *u,
			    struct pt_diags *diags)
{
	s->units = u;
	s->unit_diags = diags;
	/* Templates whose filter does not compile are problems from the
	 * first solve on (plan shows them without instantiating). */
	for (size_t t = 0; u && t < pt_units_count(u); t++) {
		const struct pt_unit *tpl = pt_units_get(u, t);
		struct pt_template_info info;
		struct pt_expr_prog *filter = NULL;
		int r;

		if (tpl->type != PT_UNIT_TEMPLATE ||
		    pt_template_info(u, tpl, &info) < 0 || !info.filter)
			continue;
		r = filter_compile(s, tpl, &info, &filter, NULL);
		pt__expr_prog_free(filter);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A template-filter that does not compile: an error naming it. */
static int filter_error(struct pt_session *s, const struct pt_unit *tpl,
			const struct pt_expr_error *err)
{
	if (!s->unit_diags)
		return 0;
	return pt__diags_add(s->unit_diags, PT_SEV_ERROR, err->code, tpl->file,
			     pt_unit_field_line(tpl, "template-filter") +
				     (err->line ? err->line - 1 : 0),
			     "template-filter",
			     "template '%s': %s%s (nothing generated)",
			     tpl->id ? tpl->id : "?",
			     err->kind == PT_EXPR_ERR_NO_RESOURCES
				     ? "NoResourcesReferenced: "
				     : "",
			     err->message);
}

/*
 * Fake resources (checkbox-cli tp-export): the records' contents do not
 * matter; each of the n records instantiates the template with every
 * parameter it references set to the name in upper case (a *_slug name
 * without _slug), "index" to the record's index, as upstream's
 * instantiate_one does with fake_resources.
 */
static int fake_instances(struct pt_session *s, const struct pt_unit *tpl,
			  size_t n)
{
	struct pt_strlist names;
	struct pt_rfc822_record *recs = NULL;
	struct pt_rfc822_field *f = NULL;
	const struct pt_rfc822_record **pass = NULL;
	unsigned *idx = NULL;
	char *text = NULL, *p;
	size_t tlen = 0, nf = 0;
	int r = pt_template_params(s->units, tpl, &names);

	if (r < 0)
		return r;
	for (size_t k = 0; k < names.n; k++)
		tlen += strlen(names.v[k]) + 1;
	recs = pt__calloc(n ? n : 1, sizeof(*recs));
	f = pt__calloc(n * names.n + 1, sizeof(*f));
	pass = pt__calloc(n ? n : 1, sizeof(*pass));
	idx = pt__calloc(n ? n : 1, sizeof(*idx));
	text = pt__malloc(n * (tlen + 24) + 1);
	if (!recs || !f || !pass || !idx || !text) {
		r = -ENOMEM;
		goto out;
	}
	p = text;
	for (size_t i = 0; i < n; i++) {
		recs[i].file = "fake";
		recs[i].fields = f + nf;
		for (size_t k = 0; k < names.n; k++) {
			const char *nm = names.v[k];
			size_t len = strlen(nm);

			if (!strcmp(nm, "__index__"))
				continue;
			f[nf].key = nm;
			f[nf].value = p;
			if (!strcmp(nm, "index")) {
				p += snprintf(p, 24, "%zu", i + 1) + 1;
			} else {
				if (len > 5 && !strcmp(nm + len - 5, "_slug"))
					len -= 5;
				for (size_t c = 0; c < len; c++)
					*p++ = (char)(nm[c] >= 'a' && nm[c] <=
									      'z'
							      ? nm[c] - 'a' +
									'A'
							      : nm[c]);
				*p++ = 0;
			}
			nf++;
			recs[i].n++;
		}
		pass[i] = &recs[i];
		idx[i] = (unsigned)i + 1;
	}
	r = pt_template_instantiate(s->units, tpl, pass, idx, n, s->unit_diags);
out:
	pt__free(recs);
	pt__free(f);
	pt__free(pass);
	pt__free(idx);
	pt__free(text);
	return r < 0 ? r : 0;
}

/*
 * After a resource job's result: every template whose template-resource
 * is that job gets one instance per record passing its template-filter
 * (__index__ counts the records that pass, from 1, as upstream's
 * instantiate_all); the new jobs join the session (UNDESIRED until the next
 * solve), as upstream's add_unit with recompute=False. Nothing happens for a
 * single empty record
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
			fields[nfields++] =
				(struct pt_rfc822_field){ l->recs[i].keys[k],
							  l->recs[i].values[k],
							  0, NULL };
	}
	before = pt_units_job_count(s->units);
	for (size_t t = 0; t < pt_units_count(s->units) && r >= 0; t++) {
		const struct pt_unit *tpl = pt_units_get(s->units, t);
		struct pt_template_info info;
		struct pt_expr_prog *filter = NULL;
		struct pt_expr_error err;
		size_t np = 0;

		if (tpl->type != PT_UNIT_TEMPLATE ||
		    pt_template_info(s->units, tpl, &info) < 0 ||
		    !info.resource || strcmp(info.resource, id))
			continue;
		if (info.filter && !s->fake_resources) {
			/* A filter that does not compile instantiates
			 * nothing (a problem since attach) and says why. */
			r = filter_compile(s, tpl, &info, &filter, &err);
			if (r < 0)
				break;
			if (!filter) {
				/*
				 * Upstream raises (NoResourcesReferenced,
				 * ResourceSyntaxError...) and the session
				 * stops; here the template makes nothing and
				 * the error names it.
				 */
				r = filter_error(s, tpl, &err);
				continue;
			}
		}
		if (s->fake_resources) {
			r = fake_instances(s, tpl, l->n);
			continue;
		}
		for (size_t i = 0; i < l->n; i++) {
			struct pt_expr_result er = { .status = PT_EXPR_PASS };

			if (filter)
				pt__expr_prog_eval_one(filter, id, &l->er.v[i],
						       &er);
			if (er.status != PT_EXPR_PASS)
				continue;
			pass[np] = &recs[i];
			idx[np] = (unsigned)np +
				  1; /* upstream counts the records that pass */
			np++;
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

/* One program of a unit for pt_session_check_units: 1 when it does not
 * compile (diagnostic added), 0, or -ENOMEM. */
static int check_one(const struct pt_unit *unit, const char *file,
		     unsigned line0, bool tpl, const char *id, const char *text,
		     const char *ns, const char *imports, struct pt_diags *d)
{
	struct pt_expr_prog *prog = NULL;
	struct pt_expr_error err;
	const char *field = tpl ? "template-filter" : "requires";
	char msg[256];
	int r = compile_text(text, ns, imports, &prog, &err);

	pt__expr_prog_free(prog);
	if (r == 0 || r == -ENOMEM)
		return r;
	err_text(msg, sizeof(msg), &err);
	if (err.kind == PT_EXPR_ERR_IMPORTS)
		field = tpl ? "template-imports" : "imports";
	if (d && pt__diags_add(d, PT_SEV_ERROR, r, file,
			       err_line(field_line(unit, line0, field), &err),
			       field, "%s '%s': %s does not compile: %s",
			       tpl ? "template" : "job", id ? id : "?",
			       tpl ? "template-filter" : "requires", msg) < 0)
		return -ENOMEM;
	return 1;
}

int pt_session_check_units(struct pt_units *u, struct pt_diags *diags)
{
	int n = 0, r;

	if (!u)
		return -EINVAL;
	for (size_t i = 0; i < pt_units_job_count(u); i++) {
		const struct pt_job *j = pt_units_job(u, i);

		if (!j->requires || j->template_id)
			continue;
		r = check_one(j->unit, j->file, j->line, false, j->id,
			      j->requires, j->ns, j->imports, diags);
		if (r < 0)
			return r;
		n += r;
	}
	for (size_t i = 0; i < pt_units_count(u); i++) {
		const struct pt_unit *t = pt_units_get(u, i);
		struct pt_template_info info;

		if (t->type != PT_UNIT_TEMPLATE)
			continue;
		r = pt_template_info(u, t, &info);
		if (r < 0)
			return r;
		if (!info.filter)
			continue;
		r = check_one(t, t->file, t->line, true, t->id, info.filter,
			      t->ns, info.imports, diags);
		if (r < 0)
			return r;
		n += r;
	}
	/* In file order, with what loading found. */
	if (n && diags && pt__diags_sort(diags) < 0)
		return -ENOMEM;
	return n;
}

/* ------------------------------------------------------------------ */
/* Results from a resource job's output                                */
/* ------------------------------------------------------------------ */

int pt_session_set_result_output(struct pt_session *s, size_t job,
				 const struct pt_result *r, const char *out,
				 size_t len, struct pt_diags *diags)
{
	struct pt_records *recs = NULL;
	struct pt_resource_record *rr = NULL;
	const char **kv = NULL;
	size_t n = 0, pairs = 0, k = 0;
	int ret;

	if (!s || !r || job >= s->jobs.n)
		return -EINVAL;
	if (s->jobs.v[job].job->plugin != PT_PLUGIN_RESOURCE ||
	    r->outcome == PT_OUTCOME_NONE || !out)
		return pt_session_set_result(s, job, r, NULL, 0);
	/* Records before a syntax error are kept (as upstream). */
	ret = pt_rfc822_parse(out, len, s->jobs.v[job].job->id, NULL, diags,
			      &recs);
	if (ret < 0)
		return ret;
	n = pt_records_count(recs);
	for (size_t i = 0; i < n; i++)
		pairs += pt_records_get(recs, i)->n;
	rr = pt__calloc(n + 1, sizeof(*rr));
	kv = pt__calloc(2 * pairs + 1, sizeof(*kv));
	if (!rr || !kv) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pt_rfc822_record *rec = pt_records_get(recs, i);

		rr[i].n = rec->n;
		rr[i].keys = kv + k;
		rr[i].values = kv + k + rec->n;
		for (size_t f = 0; f < rec->n; f++) {
			kv[k + f] = rec->fields[f].key;
			kv[k + rec->n + f] = rec->fields[f].value;
		}
		k += 2 * rec->n;
	}
	ret = pt_session_set_result(s, job, r, rr, n);
out:
	pt__free(rr);
	pt__free(kv);
	pt_records_free(recs);
	return ret;
}
