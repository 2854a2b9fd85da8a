/*
 * unit/jinja.c - the subset of Jinja2 that Checkbox units use
 * (template-engine: jinja2): {{ expr }}, {% if/elif/else/endif %},
 * {% set name = expr %}, {# comments #}, whitespace control with '-'.
 * Expressions: names, 'strings', integers, (), .attr, .get(k[, d]),
 * .upper() .lower() .strip() .split([sep]), [index], ==, !=, <, <=, >,
 * >=, in, not in, not, and, or. Undefined names print as "" (Jinja's
 * default Undefined); comparing or calling them is an error.
 */
#include "base/common.h"
#include "base/str.h"
#include "unit/internal.h"

#include <ctype.h>

enum vt { V_UNDEF, V_NONE, V_BOOL, V_INT, V_STR, V_DICT, V_LIST };

struct val {
	enum vt t;
	long long i;
	const char *s; /* V_STR, V_LIST (the whole string), V_UNDEF (name) */
	size_t n;
	const char *sep; /* V_LIST: separator, NULL for white space */
	const struct pt_rfc822_record *dict;
};

#define MAX_VARS  32
#define MAX_DEPTH 32
/* Expression nesting: ( [ call arguments, 'not'; the parser recurses. */
#define MAX_EXPR_DEPTH 64
/* Bytes of input quoted in a message. */
#define SHOWN_MAX 80

struct jctx {
	struct pt_units *u;
	const struct pt_jinja_env *env;
	const struct pt_rfc822_record *params;
	const char *index;
	struct pt_buf *err;
	bool exec; /* false: parse only, collecting names */
	void (*name_cb)(void *, const char *, size_t);
	void *cb_ctx;
	const char *p, *end; /* the expression being parsed */
	struct {
		const char *name;
		size_t n;
		struct val v;
	} vars[MAX_VARS];
	size_t nvars;
	unsigned depth; /* expression nesting, up to MAX_EXPR_DEPTH */
	int failed;
};

static int fail(struct jctx *c, const char *fmt, ...) PT_PRINTF(2, 3);

static int fail(struct jctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return -1;
	c->failed = 1;
	va_start(ap, fmt);
	pt__buf_vaddf(c->err, fmt, ap);
	va_end(ap);
	return -1;
}

static void skip_ws(struct jctx *c)
{
	while (c->p < c->end && pt__py_space((unsigned char)*c->p))
		c->p++;
}

static bool accept(struct jctx *c, const char *tok)
{
	size_t n = strlen(tok);

	skip_ws(c);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, tok, n) != 0)
		return false;
	/* Keywords must not run into an identifier. */
	if (isalpha((unsigned char)tok[0]) && c->p + n < c->end &&
	    (isalnum((unsigned char)c->p[n]) || c->p[n] == '_'))
		return false;
	c->p += n;
	return true;
}

static struct val v_str(const char *s, size_t n)
{
	struct val v = { .t = V_STR, .s = s, .n = n };
	return v;
}

static bool truthy(const struct val *v)
{
	switch (v->t) {
	case V_BOOL:
	case V_INT:
		return v->i != 0;
	case V_STR:
		return v->n != 0;
	case V_DICT:
		return v->dict && v->dict->n;
	case V_LIST:
		return true;
	default:
		return false;
	}
}

static const char *dict_get(const struct pt_rfc822_record *d, const char *k,
			    size_t n)
{
	for (size_t i = 0; d && i < d->n; i++)
		if (strlen(d->fields[i].key) == n &&
		    memcmp(d->fields[i].key, k, n) == 0)
			return d->fields[i].value;
	return NULL;
}

static struct val lookup(struct jctx *c, const char *name, size_t n)
{
	struct val v = { .t = V_UNDEF, .s = name, .n = n };
	const char *s;

	for (size_t i = c->nvars; i-- > 0;)
		if (c->vars[i].n == n && !memcmp(c->vars[i].name, name, n))
			return c->vars[i].v;
	if (n == 16 && !memcmp(name, "__checkbox_env__", 16)) {
		v.t = V_DICT;
		v.dict = c->env ? c->env->checkbox_env : NULL;
		return v;
	}
	if (n == 14 && !memcmp(name, "__system_env__", 14)) {
		v.t = V_DICT;
		v.dict = c->env ? c->env->system_env : NULL;
		return v;
	}
	if (n == 17 && !memcmp(name, "__on_ubuntucore__", 17)) {
		v.t = V_BOOL;
		v.i = c->env && c->env->on_ubuntucore;
		return v;
	}
	if (c->name_cb)
		c->name_cb(c->cb_ctx, name, n);
	if (n == 9 && !memcmp(name, "__index__", 9) && c->index) {
		v.t = V_INT;
		v.i = strtoll(c->index, NULL, 10);
		return v;
	}
	if ((s = dict_get(c->params, name, n)))
		return v_str(s, strlen(s));
	return v;
}

static int expr(struct jctx *c, struct val *ret);
static int or_expr(struct jctx *c, struct val *ret);

/* Python str.split: item i (negative from the end) into *ret. */
static int list_item(struct jctx *c, const struct val *l, long long i,
		     struct val *ret)
{
	const char *items[256];
	size_t lens[256], k = 0, sl = l->sep ? strlen(l->sep) : 0;
	const char *p = l->s, *e = l->s + l->n;

	while (p <= e && k < 256) {
		const char *q;
		if (!l->sep) {
			while (p < e && pt__py_space((unsigned char)*p))
				p++;
			if (p >= e)
				break;
			q = p;
			while (q < e && !pt__py_space((unsigned char)*q))
				q++;
		} else {
			q = p;
			while (q + sl <= e && memcmp(q, l->sep, sl) != 0)
				q++;
			if (q + sl > e)
				q = e;
		}
		items[k] = p;
		lens[k++] = (size_t)(q - p);
		if (q >= e)
			break;
		p = q + (l->sep ? sl : 0);
	}
	if (i < 0)
		i += (long long)k;
	if (i < 0 || i >= (long long)k)
		return fail(c, "list index out of range");
	*ret = v_str(items[i], lens[i]);
	return 0;
}

static int string_lit(struct jctx *c, struct val *ret)
{
	char q = *c->p++;
	const char *b = c->p;

	while (c->p < c->end && *c->p != q) {
		if (*c->p == '\\')
			return fail(c, "escapes in string literals are not "
				       "supported");
		c->p++;
	}
	if (c->p >= c->end)
		return fail(c, "unterminated string literal");
	*ret = v_str(b, (size_t)(c->p - b));
	c->p++;
	return 0;
}

static int primary(struct jctx *c, struct val *ret)
{
	skip_ws(c);
	if (c->p >= c->end)
		return fail(c, "expression expected");
	if (*c->p == '\'' || *c->p == '"')
		return string_lit(c, ret);
	if (isdigit((unsigned char)*c->p) ||
	    (*c->p == '-' && c->p + 1 < c->end &&
	     isdigit((unsigned char)c->p[1]))) {
		char *e;
		ret->t = V_INT;
		ret->i = strtoll(c->p, &e, 10);
		c->p = e;
		return 0;
	}
	if (*c->p == '(') {
		c->p++;
		if (expr(c, ret) < 0)
			return -1;
		if (!accept(c, ")"))
			return fail(c, "')' expected");
		return 0;
	}
	if (isalpha((unsigned char)*c->p) || *c->p == '_') {
		const char *b = c->p;
		while (c->p < c->end &&
		       (isalnum((unsigned char)*c->p) || *c->p == '_'))
			c->p++;
		if (c->p - b == 4 && !memcmp(b, "True", 4))
			*ret = (struct val){ .t = V_BOOL, .i = 1 };
		else if (c->p - b == 5 && !memcmp(b, "False", 5))
			*ret = (struct val){ .t = V_BOOL, .i = 0 };
		else if (c->p - b == 4 && !memcmp(b, "None", 4))
			*ret = (struct val){ .t = V_NONE };
		else
			*ret = lookup(c, b, (size_t)(c->p - b));
		return 0;
	}
	return fail(c, "unexpected '%c' in expression", *c->p);
}

/* Up to two call arguments. */
static int call_args(struct jctx *c, struct val *a, int *na)
{
	*na = 0;
	if (accept(c, ")"))
		return 0;
	do {
		if (*na == 2)
			return fail(c, "too many arguments");
		if (expr(c, &a[(*na)++]) < 0)
			return -1;
	} while (accept(c, ","));
	if (!accept(c, ")"))
		return fail(c, "')' expected");
	return 0;
}

static int postfix(struct jctx *c, struct val *v)
{
	if (primary(c, v) < 0)
		return -1;
	for (;;) {
		if (accept(c, "[")) {
			struct val k;
			if (expr(c, &k) < 0)
				return -1;
			if (!accept(c, "]"))
				return fail(c, "']' expected");
			if (!c->exec)
				continue;
			if (v->t == V_DICT && k.t == V_STR) {
				const char *s = dict_get(v->dict, k.s, k.n);
				/* A missing key is Undefined, as in Jinja. */
				if (s)
					*v = v_str(s, strlen(s));
				else
					*v = (struct val){ .t = V_UNDEF,
							   .s = k.s,
							   .n = k.n };
			} else if (v->t == V_LIST && k.t == V_INT) {
				if (list_item(c, v, k.i, v) < 0)
					return -1;
			} else if (v->t == V_STR && k.t == V_INT) {
				long long i =
					k.i < 0 ? k.i + (long long)v->n : k.i;
				if (i < 0 || i >= (long long)v->n)
					return fail(c, "string index out of "
						       "range");
				*v = v_str(v->s + i, 1);
			} else {
				return fail(c, "unsupported subscript");
			}
		} else if (accept(c, ".")) {
			const char *b;
			size_t n;
			struct val a[2];
			int na;

			skip_ws(c);
			b = c->p;
			while (c->p < c->end &&
			       (isalnum((unsigned char)*c->p) || *c->p == '_'))
				c->p++;
			n = (size_t)(c->p - b);
			if (!n)
				return fail(c, "attribute name expected");
			if (!accept(c, "("))
				return fail(c,
					    "attribute '%.*s' is not "
					    "supported (only method calls)",
					    (int)n, b);
			if (call_args(c, a, &na) < 0)
				return -1;
			if (!c->exec)
				continue;
			if (v->t == V_DICT && n == 3 && !memcmp(b, "get", 3) &&
			    na >= 1 && a[0].t == V_STR) {
				const char *s =
					dict_get(v->dict, a[0].s, a[0].n);
				if (s)
					*v = v_str(s, strlen(s));
				else if (na == 2)
					*v = a[1];
				else
					*v = (struct val){ .t = V_NONE };
			} else if (v->t == V_STR && na == 0 &&
				   ((n == 5 && !memcmp(b, "upper", 5)) ||
				    (n == 5 && !memcmp(b, "lower", 5)))) {
				char *s = pt__arena_strndup(&c->u->arena, v->s,
							    v->n);
				if (!s)
					return fail(c, "out of memory");
				for (char *q = s; *q; q++)
					*q = (char)(b[0] == 'u'
							    ? toupper((
								      unsigned char)*q)
							    : tolower((
								      unsigned char)*q));
				*v = v_str(s, v->n);
			} else if (v->t == V_STR && na == 0 && n == 5 &&
				   !memcmp(b, "strip", 5)) {
				struct pt_slice s =
					pt__slice_strip(pt__slice(v->s, v->n));
				*v = v_str(s.p, s.len);
			} else if (v->t == V_STR && n == 5 &&
				   !memcmp(b, "split", 5) &&
				   (na == 0 ||
				    (na == 1 && a[0].t == V_STR && a[0].n))) {
				v->t = V_LIST;
				v->sep = na ? pt__arena_strndup(&c->u->arena,
								a[0].s, a[0].n)
					    : NULL;
				if (na && !v->sep)
					return fail(c, "out of memory");
			} else if (v->t == V_UNDEF) {
				return fail(c, "'%.*s' is undefined", (int)v->n,
					    v->s);
			} else {
				return fail(c, "method '%.*s' is not supported",
					    (int)n, b);
			}
		} else {
			return 0;
		}
	}
}

static int cmp_vals(struct jctx *c, const struct val *a, const struct val *b,
		    const char *op, bool *ret)
{
	int r;

	if (a->t == V_UNDEF || b->t == V_UNDEF) {
		const struct val *u = a->t == V_UNDEF ? a : b;
		if (!strcmp(op, "==") || !strcmp(op, "!=")) {
			*ret = (a->t == b->t) == !strcmp(op, "==");
			return 0;
		}
		return fail(c, "'%.*s' is undefined", (int)u->n, u->s);
	}
	if (!strcmp(op, "==") || !strcmp(op, "!=")) {
		bool eq =
			a->t == b->t &&
			((a->t == V_STR && a->n == b->n &&
			  !memcmp(a->s, b->s, a->n)) ||
			 ((a->t == V_INT || a->t == V_BOOL) && a->i == b->i) ||
			 a->t == V_NONE);
		*ret = eq == !strcmp(op, "==");
		return 0;
	}
	if (a->t == V_STR && b->t == V_STR) {
		r = memcmp(a->s, b->s, PT_MIN(a->n, b->n));
		if (!r)
			r = (a->n > b->n) - (a->n < b->n);
	} else if (a->t == V_INT && b->t == V_INT) {
		r = (a->i > b->i) - (a->i < b->i);
	} else {
		return fail(c, "'%s' not supported between these types", op);
	}
	*ret = !strcmp(op, "<")	   ? r < 0
	       : !strcmp(op, "<=") ? r <= 0
	       : !strcmp(op, ">")  ? r > 0
				   : r >= 0;
	return 0;
}

static int contains(struct jctx *c, const struct val *needle,
		    const struct val *hay, bool *ret)
{
	if (hay->t == V_STR && needle->t == V_STR) {
		*ret = needle->n == 0;
		for (size_t i = 0; !*ret && i + needle->n <= hay->n; i++)
			*ret = memcmp(hay->s + i, needle->s, needle->n) == 0;
		return 0;
	}
	if (hay->t == V_DICT && needle->t == V_STR) {
		*ret = dict_get(hay->dict, needle->s, needle->n) != NULL;
		return 0;
	}
	if (hay->t == V_UNDEF)
		return fail(c, "'%.*s' is undefined", (int)hay->n, hay->s);
	return fail(c, "'in' not supported for these types");
}

static int comparison(struct jctx *c, struct val *v)
{
	static const char *const ops[] = { "==", "!=", "<=", ">=", "<", ">" };
	struct val r;
	bool b = false;

	if (postfix(c, v) < 0)
		return -1;
	for (;;) {
		const char *op = NULL;
		bool neg = false, in = false;

		for (size_t i = 0; i < PT_ARRAY_SIZE(ops) && !op; i++)
			if (accept(c, ops[i]))
				op = ops[i];
		if (!op) {
			const char *save = c->p;
			if (accept(c, "not") && accept(c, "in"))
				in = neg = true;
			else if ((c->p = save, accept(c, "in")))
				in = true;
			else
				c->p = save;
		}
		if (!op && !in)
			return 0;
		if (postfix(c, &r) < 0)
			return -1;
		if (!c->exec)
			continue;
		if ((in ? contains(c, v, &r, &b) : cmp_vals(c, v, &r, op, &b)) <
		    0)
			return -1;
		*v = (struct val){ .t = V_BOOL, .i = b != neg };
	}
}

/* Enters one level of expression nesting; false (and an error) past the
 * limit, so that no input can exhaust the stack. */
static bool enter(struct jctx *c)
{
	if (++c->depth > MAX_EXPR_DEPTH) {
		fail(c, "expression nested deeper than %d", MAX_EXPR_DEPTH);
		return false;
	}
	return true;
}

static int not_expr(struct jctx *c, struct val *v)
{
	int rc;

	if (!accept(c, "not"))
		return comparison(c, v);
	if (!enter(c))
		return -1;
	rc = not_expr(c, v);
	c->depth--;
	if (rc < 0)
		return -1;
	*v = (struct val){ .t = V_BOOL, .i = !truthy(v) };
	return 0;
}

static int and_expr(struct jctx *c, struct val *v)
{
	if (not_expr(c, v) < 0)
		return -1;
	while (accept(c, "and")) {
		struct val r;
		bool keep = c->exec, t = truthy(v);
		if (!t)
			c->exec = false; /* short circuit */
		if (not_expr(c, &r) < 0)
			return -1;
		c->exec = keep;
		if (t)
			*v = r;
	}
	return 0;
}

static int expr(struct jctx *c, struct val *v)
{
	if (!enter(c))
		return -1;
	if (or_expr(c, v) < 0)
		return -1;
	c->depth--;
	return 0;
}

static int or_expr(struct jctx *c, struct val *v)
{
	if (and_expr(c, v) < 0)
		return -1;
	while (accept(c, "or")) {
		struct val r;
		bool keep = c->exec, t = truthy(v);
		if (t)
			c->exec = false;
		if (and_expr(c, &r) < 0)
			return -1;
		c->exec = keep;
		if (!t)
			*v = r;
	}
	return 0;
}

static int print_val(struct jctx *c, const struct val *v, struct pt_buf *out)
{
	switch (v->t) {
	case V_UNDEF:
		return 0;
	case V_NONE:
		return pt__buf_adds(out, "None");
	case V_BOOL:
		return pt__buf_adds(out, v->i ? "True" : "False");
	case V_INT:
		return pt__buf_addf(out, "%lld", v->i);
	case V_STR:
		return pt__buf_add(out, v->s, v->n);
	default:
		return fail(c, "cannot print this value");
	}
}

/* Evaluates the whole of [b, e) as one expression. */
static int eval_at(struct jctx *c, const char *b, const char *e, struct val *v)
{
	c->p = b;
	c->end = e;
	c->depth = 0;
	if (expr(c, v) < 0)
		return -1;
	skip_ws(c);
	if (c->p != c->end)
		return fail(c, "unexpected '%.*s%s'",
			    (int)PT_MIN(c->end - c->p, SHOWN_MAX), c->p,
			    c->end - c->p > SHOWN_MAX ? "..." : "");
	return 0;
}

/* End of a tag opened at p (after the 2 opening chars), or NULL. */
static const char *tag_end(const char *p, char close)
{
	char q = 0;

	for (; *p; p++) {
		if (q) {
			if (*p == q)
				q = 0;
		} else if (*p == '\'' || *p == '"') {
			q = *p;
		} else if (*p == close && p[1] == '}') {
			return p;
		}
	}
	return NULL;
}

int pt__jinja_render(struct pt_units *u, const char *text,
		     const struct pt_jinja_env *env,
		     const struct pt_rfc822_record *params, const char *index,
		     struct pt_buf *out, struct pt_buf *err,
		     void (*name_cb)(void *, const char *, size_t),
		     void *cb_ctx)
{
	struct jctx c = { .u = u,
			  .env = env,
			  .params = params,
			  .index = index,
			  .err = err,
			  .exec = out != NULL,
			  .name_cb = name_cb,
			  .cb_ctx = cb_ctx };
	/* if-stack: active (render), taken (a branch was chosen), outer. */
	struct {
		bool active, taken, outer;
	} st[MAX_DEPTH];
	int depth = 0;
	bool active = true, ltrim = false;
	const char *p = text;

	while (*p) {
		const char *t = p, *b, *e, *te;
		char kind = 0;
		bool rtrim = false, right = false;
		struct pt_slice seg;

		while (*t && !(t[0] == '{' &&
			       (t[1] == '{' || t[1] == '%' || t[1] == '#')))
			t++;
		seg = pt__slice(p, (size_t)(t - p));
		if (*t) {
			kind = t[1];
			rtrim = t[2] == '-';
		}
		if (ltrim)
			while (seg.len && pt__py_space((unsigned char)*seg.p))
				seg.p++, seg.len--;
		if (rtrim)
			while (seg.len &&
			       pt__py_space((unsigned char)seg.p[seg.len - 1]))
				seg.len--;
		if (active && out)
			pt__buf_add(out, seg.p, seg.len);
		if (!*t)
			break;
		b = t + 2 + rtrim;
		te = tag_end(b, kind == '{' ? '}' : kind);
		if (!te)
			return fail(&c, "unclosed tag"), PT_ETEMPLATE;
		e = te;
		if (e > b && e[-1] == '-')
			e--, right = true;
		ltrim = right;
		p = te + 2;
		if (kind == '#')
			continue;
		c.exec = active && out;
		if (kind == '{') {
			struct val v;
			if (eval_at(&c, b, e, &v) < 0)
				return PT_ETEMPLATE;
			if (c.exec && print_val(&c, &v, out) < 0)
				return PT_ETEMPLATE;
			continue;
		}
		/* {% statement %} */
		c.p = b;
		c.end = e;
		if (accept(&c, "if")) {
			struct val v;
			if (depth == MAX_DEPTH)
				return fail(&c, "if nested too deeply"),
				       PT_ETEMPLATE;
			if (eval_at(&c, c.p, e, &v) < 0)
				return PT_ETEMPLATE;
			st[depth].outer = active;
			st[depth].taken = active && truthy(&v);
			st[depth].active = st[depth].taken;
			active = st[depth++].active;
		} else if (accept(&c, "elif")) {
			struct val v;
			if (!depth)
				return fail(&c, "elif without if"),
				       PT_ETEMPLATE;
			c.exec = st[depth - 1].outer && !st[depth - 1].taken &&
				 out;
			if (eval_at(&c, c.p, e, &v) < 0)
				return PT_ETEMPLATE;
			active = c.exec && truthy(&v);
			st[depth - 1].taken |= active;
		} else if (accept(&c, "else")) {
			if (!depth)
				return fail(&c, "else without if"),
				       PT_ETEMPLATE;
			active = st[depth - 1].outer && !st[depth - 1].taken;
			st[depth - 1].taken = true;
		} else if (accept(&c, "endif")) {
			if (!depth)
				return fail(&c, "endif without if"),
				       PT_ETEMPLATE;
			active = st[--depth].outer;
		} else if (accept(&c, "set")) {
			const char *nb;
			struct val v;
			size_t n;

			skip_ws(&c);
			nb = c.p;
			while (c.p < e &&
			       (isalnum((unsigned char)*c.p) || *c.p == '_'))
				c.p++;
			n = (size_t)(c.p - nb);
			if (!n || !accept(&c, "="))
				return fail(&c, "expected 'set NAME = EXPR'"),
				       PT_ETEMPLATE;
			if (eval_at(&c, c.p, e, &v) < 0)
				return PT_ETEMPLATE;
			if (c.exec || !out) {
				if (c.nvars == MAX_VARS)
					return fail(&c, "too many variables"),
					       PT_ETEMPLATE;
				c.vars[c.nvars].name = nb;
				c.vars[c.nvars].n = n;
				c.vars[c.nvars++].v = v;
			}
		} else {
			struct pt_slice sl =
				pt__slice_strip(pt__slice(b, (size_t)(e - b)));
			return fail(&c,
				    "unsupported statement '{%% %.*s%s %%}'",
				    (int)PT_MIN(sl.len, (size_t)SHOWN_MAX),
				    sl.p, sl.len > SHOWN_MAX ? "..." : ""),
			       PT_ETEMPLATE;
		}
		if (!out)
			active = true; /* collecting: visit every branch */
	}
	if (depth)
		return fail(&c, "missing endif"), PT_ETEMPLATE;
	return 0;
}
