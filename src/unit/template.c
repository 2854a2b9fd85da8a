/*
 * unit/template.c - template units (docs/plainbox.md §2.5): the default
 * engine (Python str.format with named fields), the template-* fields,
 * instantiation into jobs with parameters and checksums as upstream.
 */
#include "base/common.h"
#include "base/diag.h"
#include "base/str.h"
#include "unit/internal.h"

#include <ctype.h>

/* Value of parameter name[0..n) in params, or "__index__". */
static const char *param(const struct pt_rfc822_record *params,
			 const char *index, const char *name, size_t n)
{
	if (n == 9 && memcmp(name, "__index__", 9) == 0)
		return index;
	for (size_t i = 0; params && i < params->n; i++)
		if (strlen(params->fields[i].key) == n &&
		    memcmp(params->fields[i].key, name, n) == 0)
			return params->fields[i].value;
	return NULL;
}

/* Python repr() of a str (the common cases). */
static void add_repr(struct pt_buf *b, const char *s)
{
	char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';

	pt__buf_addch(b, q);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\\' || c == (unsigned char)q)
			pt__buf_addf(b, "\\%c", c);
		else if (c == '\n')
			pt__buf_adds(b, "\\n");
		else if (c == '\r')
			pt__buf_adds(b, "\\r");
		else if (c == '\t')
			pt__buf_adds(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			pt__buf_addf(b, "\\x%02x", c);
		else
			pt__buf_addch(b, (char)c);
	}
	pt__buf_addch(b, q);
}

/*
 * string.Formatter().vformat(text, (), params). With out == NULL only
 * collects the referenced names (into names, when not NULL). Returns 0
 * or PT_ETEMPLATE with *err set (a message in the buffer errb).
 */
static int format(const char *text, const struct pt_rfc822_record *params,
		  const char *index, struct pt_buf *out, struct pt_buf *errb,
		  void (*name_cb)(void *, const char *, size_t), void *ctx)
{
	const char *p = text;

	while (*p) {
		const char *f, *e, *conv = NULL, *spec = NULL, *v;
		size_t an;
		int depth = 1;

		if (*p == '}') {
			if (p[1] == '}') {
				if (out)
					pt__buf_addch(out, '}');
				p += 2;
				continue;
			}
			pt__buf_adds(errb,
				     "Single '}' encountered in format string");
			return PT_ETEMPLATE;
		}
		if (*p != '{') {
			const char *q = p;
			while (*q && *q != '{' && *q != '}')
				q++;
			if (out)
				pt__buf_add(out, p, (size_t)(q - p));
			p = q;
			continue;
		}
		if (p[1] == '{') {
			if (out)
				pt__buf_addch(out, '{');
			p += 2;
			continue;
		}
		f = p + 1;
		for (e = f; *e; e++) {
			if (*e == '{')
				depth++;
			else if (*e == '}' && --depth == 0)
				break;
		}
		if (!*e) {
			pt__buf_adds(errb, "expected '}' before end of string");
			return PT_ETEMPLATE;
		}
		/* field_name [!conversion] [:format_spec] */
		for (const char *q = f; q < e; q++) {
			if (*q == '[') {
				while (q < e && *q != ']')
					q++;
				continue;
			}
			if (*q == '!' && !conv && !spec) {
				conv = q;
			} else if (*q == ':') {
				spec = q;
				break;
			}
		}
		an = 0;
		while (f + an < e && f[an] != '.' && f[an] != '[' &&
		       f + an != conv && f + an != spec)
			an++;
		if (name_cb && an)
			name_cb(ctx, f, an);
		if (!out) {
			p = e + 1;
			continue;
		}
		if (!an || strspn(f, "0123456789") >= an) {
			pt__buf_addf(errb,
				     "positional field '{%.*s}' is not "
				     "supported (use a named field)",
				     (int)(e - f), f);
			return PT_ETEMPLATE;
		}
		v = param(params, index, f, an);
		if (!v) {
			pt__buf_addf(errb, "missing parameter '%.*s'", (int)an,
				     f);
			return PT_ETEMPLATE;
		}
		if (f[an] == '.' || f[an] == '[') {
			pt__buf_addf(errb,
				     "attribute or index access '{%.*s}' is "
				     "not supported",
				     (int)(e - f), f);
			return PT_ETEMPLATE;
		}
		if (spec && spec + 1 < e) {
			pt__buf_addf(errb,
				     "format spec '%.*s' in '{%.*s}' is not "
				     "supported",
				     (int)(e - spec), spec, (int)(e - f), f);
			return PT_ETEMPLATE;
		}
		if (conv) {
			size_t cl = (size_t)((spec ? spec : e) - conv - 1);
			if (cl == 1 && conv[1] == 's') {
				pt__buf_adds(out, v);
			} else if (cl == 1 &&
				   (conv[1] == 'r' || conv[1] == 'a')) {
				add_repr(out, v);
			} else {
				pt__buf_addf(errb,
					     "unknown conversion '!%.*s' in "
					     "'{%.*s}'",
					     (int)cl, conv + 1, (int)(e - f),
					     f);
				return PT_ETEMPLATE;
			}
		} else {
			pt__buf_adds(out, v);
		}
		p = e + 1;
	}
	return 0;
}

static bool is_jinja(const struct pt_rfc822_record *r)
{
	const char *e = pt_rfc822_value(r, "template-engine");
	return e && strcmp(e, "jinja2") == 0;
}

/* One value with the engine of the unit. */
static int render(struct pt_units *u, bool jinja, const char *text,
		  const struct pt_rfc822_record *params, const char *idx,
		  struct pt_buf *out, struct pt_buf *err)
{
	if (jinja)
		return pt__jinja_render(u, text, &u->jenv, params, idx, out,
					err, NULL, NULL);
	return format(text, params, idx, out, err, NULL, NULL);
}

void pt_units_set_jinja_env(struct pt_units *u, const struct pt_jinja_env *env)
{
	if (u)
		u->jenv =
			env ? *env : (struct pt_jinja_env){ NULL, NULL, false };
}

/* Renders every field of raw with params ("__index__" among them). */
int pt__render_record(struct pt_units *u, const struct pt_rfc822_record *raw,
		      const struct pt_rfc822_record *params,
		      struct pt_rfc822_record **ret, const char **ret_field,
		      struct pt_buf *err)
{
	struct pt_buf out = PT_BUF_INIT;
	struct pt_rfc822_field *df;
	struct pt_rfc822_record *r = pt__units_new_record(u, raw, raw->n, &df);
	const char *idx = params ? pt_rfc822_value(params, "__index__") : NULL;
	bool jinja = is_jinja(raw);
	int rc = 0;

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < raw->n; i++) {
		pt__buf_reset(&out);
		df[i] = raw->fields[i];
		if (render(u, jinja, raw->fields[i].value, params, idx, &out,
			   err) < 0) {
			*ret_field = raw->fields[i].key;
			rc = PT_ETEMPLATE;
			break;
		}
		df[i].value = pt__arena_strndup(&u->arena, out.s, out.len);
		if (!df[i].value) {
			rc = -ENOMEM;
			break;
		}
	}
	pt__buf_release(&out);
	if (rc == 0)
		*ret = r;
	return rc;
}

const char *pt_template_format(struct pt_units *u, const char *text,
			       const struct pt_rfc822_record *params,
			       unsigned index, const char **ret_error)
{
	struct pt_buf out = PT_BUF_INIT, err = PT_BUF_INIT;
	char idx[16];
	const char *r = NULL;

	snprintf(idx, sizeof(idx), "%u", index);
	if (format(text, params, idx, &out, &err, NULL, NULL) == 0)
		r = pt__arena_strndup(&u->arena, out.s, out.len);
	else if (ret_error)
		*ret_error = pt__arena_strndup(&u->arena, err.s, err.len);
	pt__buf_release(&out);
	pt__buf_release(&err);
	return r;
}

/* ------------------------------------------------------------------ */

/* "from NS import ID [as ALIAS]" lines: the id imported as alias. */
static const char *imported(struct pt_units *u, const char *imports,
			    const char *alias)
{
	for (const char *p = imports; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char w[6][256];
		int nw = 0;

		for (size_t i = 0; i < n && nw < 7;) {
			size_t b;
			while (i < n && pt__py_space((unsigned char)p[i]))
				i++;
			if (i >= n)
				break;
			b = i;
			while (i < n && !pt__py_space((unsigned char)p[i]))
				i++;
			if (nw < 6)
				snprintf(w[nw], sizeof(w[0]), "%.*s",
					 (int)(i - b), p + b);
			nw++;
		}
		p = e ? e + 1 : p + n;
		if ((nw == 4 || nw == 6) && !strcmp(w[0], "from") &&
		    !strcmp(w[2], "import") &&
		    strcmp(nw == 6 ? w[5] : w[3], alias) == 0) {
			char id[600];
			snprintf(id, sizeof(id), "%s::%s", w[1], w[3]);
			return pt__units_intern(u, id, strlen(id));
		}
	}
	return NULL;
}

int pt_template_info(struct pt_units *u, const struct pt_unit *tpl,
		     struct pt_template_info *ret)
{
	struct pt_template_info t;
	const char *v;

	if (!u || !tpl || !ret || tpl->type != PT_UNIT_TEMPLATE)
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	t.imports = pt_unit_value(tpl, "template-imports");
	v = pt_unit_value(tpl, "template-resource");
	if (v) {
		t.resource = imported(u, t.imports, v);
		if (!t.resource)
			t.resource = pt_units_qualify(u, tpl->ns, v);
		if (!t.resource)
			return -ENOMEM;
	}
	t.filter = pt_unit_value(tpl, "template-filter");
	v = pt_unit_value(tpl, "template-unit");
	t.unit = v ? v : "job";
	v = pt_unit_value(tpl, "template-engine");
	t.engine = v ? v : "default";
	v = pt_unit_value(tpl, "template-id");
	if (!v && tpl->partial_id) {
		/* The partial id without characters outside [-_.:/\\\w]. */
		size_t n = 0;
		char *id = pt__arena_strdup(&u->arena, tpl->partial_id);
		if (!id)
			return -ENOMEM;
		for (const char *c = tpl->partial_id; *c; c++)
			if (isalnum((unsigned char)*c) || strchr("-_.:/\\", *c))
				id[n++] = *c;
		id[n] = '\0';
		v = id;
	}
	t.id = v;
	*ret = t;
	return 0;
}

struct names {
	struct pt_units *u;
	PT_VEC(const char *) v;
	int err;
};

static void add_name(void *ctx, const char *s, size_t n)
{
	struct names *nm = ctx;
	const char *x = pt__units_intern(nm->u, s, n);

	if (!x) {
		nm->err = -ENOMEM;
		return;
	}
	pt_vec_foreach(&nm->v, i)
		if (nm->v.v[i] == x)
			return;
	if (pt_vec_push(&nm->v, x) < 0)
		nm->err = -ENOMEM;
}

static bool is_template_key(const char *k)
{
	return strncmp(k, "template-", 9) == 0;
}

int pt_template_params(struct pt_units *u, const struct pt_unit *tpl,
		       struct pt_strlist *ret)
{
	struct names names = { .u = u, .v = PT_VEC_INIT, .err = 0 };
	struct pt_buf err = PT_BUF_INIT;
	struct pt_template_info info;
	const char **v;
	int rc;

	if (!u || !tpl || !ret)
		return -EINVAL;
	if ((rc = pt_template_info(u, tpl, &info)) < 0)
		return rc;
	for (size_t i = 0; i < tpl->record->n; i++) {
		const struct pt_rfc822_field *f = &tpl->record->fields[i];
		if (is_template_key(f->key) || strcmp(f->key, "unit") == 0)
			continue;
		pt__buf_reset(&err);
		if (strcmp(info.engine, "jinja2") == 0)
			pt__jinja_render(u, f->value, &u->jenv, NULL, NULL,
					 NULL, &err, add_name, &names);
		else
			format(f->value, NULL, NULL, NULL, &err, add_name,
			       &names);
	}
	pt__buf_release(&err);
	rc = names.err;
	if (!rc) {
		v = pt__arena_alloc(&u->arena,
				    (names.v.n ? names.v.n : 1) * sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
		} else {
			if (names.v.n)
				memcpy(v, names.v.v, names.v.n * sizeof(*v));
			ret->n = names.v.n;
			ret->v = v;
		}
	}
	pt_vec_release(&names.v);
	return rc;
}

/* A template's id in a message: its first 200 bytes, then "...". */
#define ID_MAX 200
#define ID_SHOWN(tpl)                                              \
 (int)PT_MIN(strlen((tpl)->id ? (tpl)->id : "?"), (size_t)ID_MAX), \
	 (tpl)->id ? (tpl)->id : "?",                              \
	 (tpl)->id &&strlen((tpl)->id) > ID_MAX ? "..." : ""

int pt_template_instantiate(struct pt_units *u, const struct pt_unit *tpl,
			    const struct pt_rfc822_record *const *recs,
			    const unsigned *indexes, size_t n,
			    struct pt_diags *d)
{
	const struct pt_rfc822_record *trec;
	struct pt_template_info info;
	struct names names = { .u = u, .v = PT_VEC_INIT, .err = 0 };
	struct pt_buf out = PT_BUF_INIT, err = PT_BUF_INIT;
	struct pt_rfc822_record *raw;
	struct pt_rfc822_field *rf;
	size_t nraw = 0;
	bool jinja;
	int rc, added = 0;

	if (!u || !tpl || (!recs && n))
		return -EINVAL;
	if ((rc = pt_template_info(u, tpl, &info)) < 0)
		return rc;
	jinja = strcmp(info.engine, "jinja2") == 0;
	if ((!jinja && strcmp(info.engine, "default") != 0) ||
	    strcmp(info.unit, "job") != 0) {
		bool eng = !jinja && strcmp(info.engine, "default") != 0;
		if (d &&
		    pt__diags_add(
			    d, PT_SEV_ERROR, PT_ENOTSUP, tpl->file,
			    pt_unit_field_line(tpl, eng ? "template-engine"
							: "template-unit"),
			    NULL, "template '%.*s%s': %s '%s' is not supported",
			    ID_SHOWN(tpl),
			    eng ? "template-engine" : "template-unit",
			    eng ? info.engine : info.unit) < 0)
			return -ENOMEM;
		return 0; /* one bad template must not stop the others */
	}
	trec = tpl->record;
	/* data: the template's fields minus template-*, plus three. */
	raw = pt__units_new_record(u, trec, trec->n + 3, &rf);
	if (!raw)
		return -ENOMEM;
	for (size_t i = 0; i < trec->n; i++) {
		const struct pt_rfc822_field *f = &trec->fields[i];
		if (is_template_key(f->key) || strcmp(f->key, "unit") == 0)
			continue;
		rf[nraw++] = *f;
		pt__buf_reset(&err);
		if (jinja)
			rc = pt__jinja_render(u, f->value, &u->jenv, NULL, NULL,
					      NULL, &err, add_name, &names);
		else
			rc = format(f->value, NULL, NULL, NULL, &err, add_name,
				    &names);
		if (rc == PT_ETEMPLATE && jinja) {
			/* A syntax error: no record can be rendered. */
			rc = d ? pt__diags_add(
					 d, PT_SEV_ERROR, PT_ETEMPLATE,
					 tpl->file, f->line, f->key,
					 "template '%.*s%s': field '%s': %s",
					 ID_SHOWN(tpl), f->key, err.s)
			       : 0;
			pt_vec_release(&names.v);
			pt__buf_release(&err);
			return rc < 0 ? rc : 0;
		}
	}
	rf[nraw++] = (struct pt_rfc822_field){ "template-engine", info.engine,
					       tpl->line, NULL };
	rf[nraw++] =
		(struct pt_rfc822_field){ "template-id", info.id ? info.id : "",
					  tpl->line, NULL };
	rf[nraw++] =
		(struct pt_rfc822_field){ "unit", info.unit, tpl->line, NULL };
	raw->n = nraw;
	if (names.err) {
		rc = names.err;
		goto out;
	}
	for (size_t r = 0; r < n; r++) {
		unsigned index = indexes ? indexes[r] : (unsigned)r + 1;
		const struct pt_rfc822_record *res = recs[r];
		struct pt_rfc822_record *params, *rendered;
		struct pt_rfc822_field *pf, *df;
		size_t np = 0;
		char idx[16];
		bool ok = true;

		snprintf(idx, sizeof(idx), "%u", index);
		/* Parameters: only the referenced keys, plus __index__. */
		params = pt__units_new_record(u, res, (res ? res->n : 0) + 1,
					      &pf);
		rendered = pt__units_new_record(u, trec, nraw, &df);
		if (!params || !rendered) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; res && i < res->n; i++) {
			bool used = false;
			pt_vec_foreach(&names.v, k) used |= strcmp(
				names.v.v[k], res->fields[i].key) == 0;
			if (!used || !strcmp(res->fields[i].key, "__index__"))
				continue;
			/* Copied into u: the caller's records may go away
			 * before u (the checksum reads the parameters). */
			pf[np] = res->fields[i];
			pf[np].key = pt__arena_strdup(&u->arena, pf[np].key);
			pf[np].value =
				pt__arena_strdup(&u->arena, pf[np].value);
			if (!pf[np].key || !pf[np++].value) {
				rc = -ENOMEM;
				goto out;
			}
		}
		pf[np].key = "__index__";
		pf[np].value = pt__arena_strdup(&u->arena, idx);
		pf[np].line = 0;
		if (!pf[np++].value) {
			rc = -ENOMEM;
			goto out;
		}
		params->n = np;
		for (size_t i = 0; i < nraw && ok; i++) {
			pt__buf_reset(&out);
			pt__buf_reset(&err);
			df[i] = rf[i];
			if (render(u, jinja, rf[i].value, params, idx, &out,
				   &err) < 0) {
				ok = false;
				if (d &&
				    pt__diags_add(d, PT_SEV_ERROR, PT_ETEMPLATE,
						  tpl->file, rf[i].line,
						  rf[i].key,
						  "template '%.*s%s', resource "
						  "record %u: field '%s': %s "
						  "(unit not generated)",
						  ID_SHOWN(tpl), index,
						  rf[i].key, err.s) < 0) {
					rc = -ENOMEM;
					goto out;
				}
				break;
			}
			df[i].value =
				pt__arena_strndup(&u->arena, out.s, out.len);
			if (!df[i].value) {
				rc = -ENOMEM;
				goto out;
			}
		}
		if (!ok)
			continue;
		rc = pt__units_add_job_unit(u, rendered, raw, tpl->ns, tpl,
					    params, d);
		if (rc < 0)
			goto out;
		added += rc;
	}
	rc = added;
out:
	pt_vec_release(&names.v);
	pt__buf_release(&out);
	pt__buf_release(&err);
	return rc;
}
