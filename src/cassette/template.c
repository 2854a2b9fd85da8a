/*
 * cassette/template.c - ReqCassette's templates: values matched
 * by named patterns in the request (uri, then query, then body) become
 * markers {{name.i}} in the stored request and, where the same text occurs
 * in it, in the stored response. On replay the incoming request is
 * templated the same way and compared as exact strings; the response's
 * markers get the incoming values.
 *
 * Faithful details: a value's marker index is the position of its first
 * occurrence in the list of matches of its pattern (duplicates included),
 * so indices may skip; longer values are replaced first; text (not JSON
 * strings) is escaped ("\\" -> "\\\\", "{{" -> "\\{\\{", "}}" -> "\\}\\}")
 * before markers go in, and every substituted string is unescaped. Unlike
 * ReqCassette, offsets are bytes throughout (no character/byte mix-up).
 */
#include "base/buf.h"
#include "base/common.h"
#include "cassette/internal.h"

#include <strings.h>

struct strvec {
	char **v;
	size_t n, cap;
};

struct tpl_pat {
	char *name;
	char *source;
	json_t *opts; /* array of Elixir option names, as stored */
	pcre2_code *re;
};

struct pt__tpl {
	PT_VEC(struct tpl_pat) p; /* sorted by name */
	bool allow_keys;
};

/* Per pattern (same order as tpl->p) the matched values, in order. */
struct tpl_vars {
	size_t n;
	struct strvec *l;
};

/* ---- presets ------------------------------------------------------------- */

struct preset_pat {
	const char *name, *source;
	bool caseless;
};

static const struct preset_pat anthropic[] = {
	{ "msg_id", "msg_[a-zA-Z0-9]+", false },
	{ "toolu_id", "toolu_[a-zA-Z0-9]+", false },
	{ "anthropic_request_id", "req_[a-zA-Z0-9]+", false },
	{ NULL, NULL, false },
};
static const struct preset_pat openai[] = {
	{ "chatcmpl_id", "chatcmpl-[a-zA-Z0-9]+", false },
	{ "call_id", "call_[a-zA-Z0-9]+", false },
	{ NULL, NULL, false },
};
static const struct preset_pat common[] = {
	{ "uuid",
	  "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
	  true },
	{ "iso_timestamp",
	  "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})?",
	  false },
	{ NULL, NULL, false },
};

/* ---- building ---------------------------------------------------------------
 */

void pt__tpl_free(struct pt__tpl *t)
{
	if (!t)
		return;
	pt_vec_foreach(&t->p, i) {
		pt__free(t->p.v[i].name);
		pt__free(t->p.v[i].source);
		if (t->p.v[i].opts)
			json_decref(t->p.v[i].opts);
		pcre2_code_free(t->p.v[i].re);
	}
	pt_vec_release(&t->p);
	pt__free(t);
}

static const struct {
	const char *name;
	uint32_t flag;
} elixir_opts[] = {
	{ "caseless", PCRE2_CASELESS },	      { "multiline", PCRE2_MULTILINE },
	{ "dotall", PCRE2_DOTALL },	      { "extended", PCRE2_EXTENDED },
	{ "unicode", PCRE2_UTF | PCRE2_UCP }, { "ungreedy", PCRE2_UNGREEDY },
	{ "firstline", PCRE2_FIRSTLINE },
};

/* Adds or replaces (same name) a pattern; opts is taken. */
static int add_pat(struct pt__tpl *t, const char *name, const char *source,
		   json_t *opts, struct pt_buf *err)
{
	struct tpl_pat p = { 0 };
	uint32_t flags = 0;
	PCRE2_SIZE off;
	size_t i;
	int ec;

	for (i = 0; i < json_array_size(opts); i++) {
		const char *o = json_string_value(json_array_get(opts, i));

		for (size_t k = 0; o && k < PT_ARRAY_SIZE(elixir_opts); k++)
			if (strcmp(o, elixir_opts[k].name) == 0)
				flags |= elixir_opts[k].flag;
	}
	p.re = pcre2_compile((PCRE2_SPTR)source, PCRE2_ZERO_TERMINATED, flags,
			     &ec, &off, NULL);
	if (!p.re) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(ec, msg, sizeof(msg));
		pt__buf_reset(err);
		pt__buf_addf(err, "pattern %s: offset %zu: %s", name,
			     (size_t)off, (char *)msg);
		json_decref(opts);
		return PT_EPARSE;
	}
	p.name = pt__strdup(name);
	p.source = pt__strdup(source);
	p.opts = opts;
	if (!p.name || !p.source)
		goto nomem;
	for (i = 0; i < t->p.n; i++) {
		int c = strcmp(t->p.v[i].name, name);

		if (c == 0) { /* explicit patterns override the preset */
			struct tpl_pat old = t->p.v[i];

			t->p.v[i] = p;
			pt__free(old.name);
			pt__free(old.source);
			json_decref(old.opts);
			pcre2_code_free(old.re);
			return 0;
		}
		if (c > 0)
			break;
	}
	if (pt_vec_reserve(&t->p, t->p.n + 1) < 0)
		goto nomem;
	memmove(&t->p.v[i + 1], &t->p.v[i], (t->p.n - i) * sizeof(p));
	t->p.v[i] = p;
	t->p.n++;
	return 0;
nomem:
	pt__free(p.name);
	pt__free(p.source);
	json_decref(p.opts);
	pcre2_code_free(p.re);
	return -ENOMEM;
}

static int add_preset(struct pt__tpl *t, const struct preset_pat *pp,
		      struct pt_buf *err)
{
	for (; pp->name; pp++) {
		json_t *o = json_array();
		int r;

		if (!o || (pp->caseless &&
			   json_array_append_new(o, json_string("caseless"))))
			return -ENOMEM;
		r = add_pat(t, pp->name, pp->source, o, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int pt__tpl_from_opts(const struct pt_cassette_template *o, struct pt_buf *err,
		      struct pt__tpl **ret)
{
	struct pt__tpl *t;
	int r = 0;

	pt__buf_reset(err);
	if (!o->preset && !o->n_patterns) {
		pt__buf_adds(err, "a template needs a preset or patterns");
		return -EINVAL;
	}
	t = pt__calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->allow_keys = o->allow_key_templates;
	if (o->preset) {
		if (strcmp(o->preset, "anthropic") == 0) {
			r = add_preset(t, anthropic, err);
		} else if (strcmp(o->preset, "openai") == 0) {
			r = add_preset(t, openai, err);
		} else if (strcmp(o->preset, "llm") == 0) {
			r = add_preset(t, anthropic, err);
			if (r == 0)
				r = add_preset(t, openai, err);
		} else if (strcmp(o->preset, "common") == 0) {
			r = add_preset(t, common, err);
		} else {
			pt__buf_addf(err,
				     "unknown preset \"%s\" (available: "
				     "anthropic, common, llm, openai)",
				     o->preset);
			r = -EINVAL;
		}
	}
	for (size_t i = 0; r == 0 && i < o->n_patterns; i++) {
		json_t *opts = json_array();

		if (!o->patterns[i].name || !o->patterns[i].regex || !opts) {
			json_decref(opts);
			r = opts ? -EINVAL : -ENOMEM;
			break;
		}
		r = add_pat(t, o->patterns[i].name, o->patterns[i].regex, opts,
			    err);
	}
	if (r < 0) {
		pt__tpl_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

/* The stored "template" block; NULL result (0) when not enabled. */
int pt__tpl_from_json(json_t *block, struct pt_buf *err, struct pt__tpl **ret)
{
	json_t *pats = json_object_get(block, "patterns"), *v;
	json_t *cfg = json_object_get(block, "config");
	struct pt__tpl *t;
	const char *name;
	int r;

	*ret = NULL;
	if (!json_is_object(block) ||
	    !json_is_true(json_object_get(block, "enabled")))
		return 0;
	if (!json_is_object(pats)) {
		pt__buf_reset(err);
		pt__buf_adds(err, "template.patterns: expected an object");
		return PT_EPARSE;
	}
	t = pt__calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->allow_keys =
		json_is_true(json_object_get(cfg, "allow_key_templates"));
	json_object_foreach(pats, name, v)
	{
		json_t *src =
			json_is_string(v) ? v : json_object_get(v, "source");
		json_t *opts = json_object_get(v, "opts");

		if (!json_is_string(src) || (opts && !json_is_array(opts))) {
			pt__buf_reset(err);
			pt__buf_addf(err,
				     "template.patterns.%s: expected a "
				     "string or {source, opts}",
				     name);
			pt__tpl_free(t);
			return PT_EPARSE;
		}
		opts = opts ? json_deep_copy(opts) : json_array();
		r = opts ? add_pat(t, name, json_string_value(src), opts, err)
			 : -ENOMEM;
		if (r < 0) {
			pt__tpl_free(t);
			return r;
		}
	}
	*ret = t;
	return 0;
}

/* ---- strings ----------------------------------------------------------------
 */

static const char *find_bytes(const char *h, size_t hn, const char *nd,
			      size_t nn)
{
	for (size_t i = 0; i + nn <= hn; i++) {
		const char *p = memchr(h + i, nd[0], hn - nn - i + 1);

		if (!p)
			return NULL;
		i = (size_t)(p - h);
		if (memcmp(p, nd, nn) == 0)
			return p;
	}
	return NULL;
}

/* All non-overlapping occurrences of from, left to right. */
static int replace_all(const char *s, size_t n, const char *from, size_t fl,
		       const char *to, size_t tl, struct pt_buf *out)
{
	size_t i = 0;

	pt__buf_reset(out);
	while (i < n) {
		const char *hit = fl && fl <= n - i
					  ? find_bytes(s + i, n - i, from, fl)
					  : NULL;

		if (!hit)
			break;
		if (pt__buf_add(out, s + i, (size_t)(hit - (s + i))) < 0 ||
		    pt__buf_add(out, to, tl) < 0)
			return -ENOMEM;
		i = (size_t)(hit - s) + fl;
	}
	return pt__buf_add(out, s + i, n - i);
}

static int escape_into(const char *s, size_t n, struct pt_buf *out)
{
	pt__buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		int r;

		if (s[i] == '\\')
			r = pt__buf_adds(out, "\\\\");
		else if (s[i] == '{' && i + 1 < n && s[i + 1] == '{')
			r = pt__buf_adds(out, "\\{\\{"), i++;
		else if (s[i] == '}' && i + 1 < n && s[i + 1] == '}')
			r = pt__buf_adds(out, "\\}\\}"), i++;
		else
			r = pt__buf_addch(out, s[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ReqCassette's unescape: three global replacements, in this order. */
static int unescape(struct pt_buf *b)
{
	static const char *const from[] = { "\\}\\}", "\\{\\{", "\\\\" };
	static const char *const to[] = { "}}", "{{", "\\" };
	struct pt_buf t = PT_BUF_INIT;

	for (int k = 0; k < 3; k++) {
		if (replace_all(b->s, b->len, from[k], strlen(from[k]), to[k],
				strlen(to[k]), &t) < 0) {
			pt__buf_release(&t);
			return -ENOMEM;
		}
		pt__buf_reset(b);
		if (pt__buf_add(b, t.s, t.len) < 0) {
			pt__buf_release(&t);
			return -ENOMEM;
		}
	}
	pt__buf_release(&t);
	return 0;
}

/* ---- extraction ---------------------------------------------------------- */

struct hit {
	size_t start, len, pat;
};

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->pat < y->pat ? -1 : x->pat > y->pat; /* stable-ish */
}

static void tpl_vars_free(struct tpl_vars *v)
{
	for (size_t i = 0; v->l && i < v->n; i++) {
		for (size_t k = 0; k < v->l[i].n; k++)
			pt__free(v->l[i].v[k]);
		pt__free(v->l[i].v);
	}
	pt__free(v->l);
	v->l = NULL;
	v->n = 0;
}

static int extract_string(const struct pt__tpl *t, const char *s, size_t n,
			  struct tpl_vars *v)
{
	PT_VEC(struct hit) h = PT_VEC_INIT, acc = PT_VEC_INIT;
	pcre2_match_data *md = NULL;
	int r = -ENOMEM;

	for (size_t p = 0; p < t->p.n; p++) {
		PCRE2_SIZE at = 0;

		pcre2_match_data_free(md);
		md = pcre2_match_data_create_from_pattern(t->p.v[p].re, NULL);
		if (!md)
			goto out;
		while (at <= n) {
			int rc = pcre2_match(t->p.v[p].re, (PCRE2_SPTR)s, n, at,
					     0, md, NULL);
			PCRE2_SIZE *ov;
			struct hit x;

			if (rc < 0)
				break;
			ov = pcre2_get_ovector_pointer(md);
			x.start = ov[0];
			x.len = ov[1] > ov[0] ? ov[1] - ov[0] : 0;
			x.pat = p;
			if (x.len && pt_vec_push(&h, x) < 0)
				goto out;
			at = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		}
	}
	if (h.n)
		qsort(h.v, h.n, sizeof(*h.v), hit_cmp);
	/* overlaps: the longest wins, then the alphabetically first name
	 * (patterns are sorted by name, so the lower index) */
	for (size_t i = 0; i < h.n; i++) {
		struct hit best = h.v[i];
		size_t o = 0;

		for (size_t k = 0; k < acc.n; k++) {
			struct hit a = acc.v[k];
			bool ov = best.start < a.start + a.len &&
				  a.start < h.v[i].start + h.v[i].len;

			if (!ov) {
				acc.v[o++] = a;
				continue;
			}
			if (a.len > best.len ||
			    (a.len == best.len && a.pat < best.pat))
				best = a;
		}
		acc.n = o;
		if (pt_vec_push(&acc, best) < 0)
			goto out;
	}
	for (size_t i = 0; i < acc.n; i++) {
		char *val = pt__strndup(s + acc.v[i].start, acc.v[i].len);

		if (!val || pt_vec_push(&v->l[acc.v[i].pat], val) < 0) {
			pt__free(val);
			goto out;
		}
	}
	r = 0;
out:
	pcre2_match_data_free(md);
	pt_vec_release(&h);
	pt_vec_release(&acc);
	return r;
}

/* Sorted compact JSON text (ReqCassette's normalised Jason.encode). */
static char *json_text(json_t *j)
{
	char *s =
		json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	char *c = s ? pt__strdup(s) : NULL;

	pt__json_free(s);
	return c;
}

/* Raw query segments sorted (the normaliser). */
static char *sorted_query(const char *q)
{
	json_t *o = json_object();
	char *r = NULL;

	if (o && json_object_set_new(o, "query_string", json_string(q)) == 0 &&
	    pt__sort_query(o) == 0)
		r = pt__strdup(
			json_string_value(json_object_get(o, "query_string")));
	json_decref(o);
	return r;
}

static int body_text(const struct pt_cassette_msg *m, char **ret, size_t *len)
{
	if (m->kind == BODY_JSON) {
		*ret = json_text(m->json);
		*len = *ret ? strlen(*ret) : 0;
	} else {
		*ret = pt__memdup(m->body ? m->body : "", m->body_len + 1);
		*len = m->body_len;
	}
	return *ret ? 0 : -ENOMEM;
}

/* Variables of a request: uri, then the sorted query, then the body. */
static int extract_request(const struct pt__tpl *t, const char *uri,
			   const char *query, const struct pt_cassette_msg *m,
			   struct tpl_vars *v)
{
	char *q = sorted_query(query), *b = NULL;
	size_t bl = 0;
	int r = -ENOMEM;

	v->n = t->p.n;
	v->l = pt__calloc(t->p.n ? t->p.n : 1, sizeof(*v->l));
	if (!v->l || !q || body_text(m, &b, &bl) < 0)
		goto out;
	r = extract_string(t, uri, strlen(uri), v);
	if (r == 0)
		r = extract_string(t, q, strlen(q), v);
	if (r == 0)
		r = extract_string(t, b, bl, v);
out:
	pt__free(q);
	pt__free(b);
	if (r < 0)
		tpl_vars_free(v);
	return r;
}

/* ---- markers
 * ------------------------------------------------------------------ */

struct repl {
	const char *value;
	size_t len;
	char marker[160];
	size_t order;
};

struct repl_vec {
	struct repl *v;
	size_t n;
	size_t cap;
};

static int repl_cmp(const void *a, const void *b)
{
	const struct repl *x = a, *y = b;

	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Placeholder of value k: 0xFF, k in base 6 as bytes 0xF8-0xFD, 0xFE. */
static size_t placeholder(size_t k, char ph[16])
{
	char d[12];
	size_t n = 0, o = 0;

	do {
		d[n++] = (char)(0xF8 + k % 6);
		k /= 6;
	} while (k && n < sizeof(d));
	ph[o++] = (char)0xFF;
	while (n)
		ph[o++] = d[--n];
	ph[o++] = (char)0xFE;
	return o;
}

static bool has_high_bytes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0xF8)
			return true;
	return false;
}

/* s with each placeholder replaced by its value's marker, into out. */
static int expand_placeholders(const char *s, size_t n,
			       const struct repl_vec *rl, struct pt_buf *out)
{
	size_t i = 0;

	while (i < n) {
		const char *p = memchr(s + i, 0xFF, n - i);
		size_t k = 0, j;

		if (!p)
			break;
		if (pt__buf_add(out, s + i, (size_t)(p - (s + i))) < 0)
			return -ENOMEM;
		j = (size_t)(p - s) + 1;
		while (j < n && (unsigned char)s[j] >= 0xF8 &&
		       (unsigned char)s[j] <= 0xFD)
			k = k * 6 + (unsigned char)s[j++] - 0xF8;
		if (j >= n || (unsigned char)s[j] != 0xFE || k >= rl->n)
			return -EINVAL; /* not ours: cannot happen */
		if (pt__buf_adds(out, rl->v[k].marker) < 0)
			return -ENOMEM;
		i = j + 1;
	}
	return pt__buf_add(out, s + i, n - i);
}

/*
 * Values -> markers in s (in place in out). scope: NULL for every
 * variable, else one flag per (pattern, index) in the flat order.
 */
static int replace_in(const struct pt__tpl *t, const struct tpl_vars *v,
		      const bool *scope, const char *s, size_t n,
		      struct pt_buf *out)
{
	struct repl_vec rl = PT_VEC_INIT;
	struct pt_buf cur = PT_BUF_INIT, tmp = PT_BUF_INIT;
	size_t flat = 0;
	int r = -ENOMEM;

	for (size_t p = 0; p < v->n; p++)
		for (size_t i = 0; i < v->l[p].n; i++, flat++) {
			struct repl x;

			if (scope && !scope[flat])
				continue;
			x.value = v->l[p].v[i];
			x.len = strlen(x.value);
			x.order = flat;
			snprintf(x.marker, sizeof(x.marker), "{{%s.%zu}}",
				 t->p.v[p].name, i);
			if (pt_vec_push(&rl, x) < 0)
				goto out;
		}
	if (rl.n)
		qsort(rl.v, rl.n, sizeof(*rl.v), repl_cmp);
	if (pt__buf_add(&cur, s, n) < 0)
		goto out;
	/*
	 * Each value becomes a placeholder made of bytes 0xF8-0xFF, which
	 * UTF-8 text never holds, so a later value can never match inside
	 * an earlier replacement (a value "0" would otherwise rewrite the
	 * ".0" of a marker "{{k.0}}", and each pass could multiply the
	 * text: memory exponential in the number of values). The
	 * placeholders become markers at the end: the output is at most
	 * n * sizeof(marker) bytes.
	 */
	for (size_t k = 0; k < rl.n; k++) {
		char ph[16];
		size_t pl = placeholder(k, ph);

		if (has_high_bytes(rl.v[k].value, rl.v[k].len))
			continue; /* cannot occur in the text */
		if (replace_all(cur.s, cur.len, rl.v[k].value, rl.v[k].len,
				ph, pl, &tmp) < 0)
			goto out;
		pt__buf_reset(&cur);
		if (pt__buf_add(&cur, tmp.s, tmp.len) < 0)
			goto out;
	}
	pt__buf_reset(out);
	r = expand_placeholders(cur.s, cur.len, &rl, out);
out:
	pt_vec_release(&rl);
	pt__buf_release(&cur);
	pt__buf_release(&tmp);
	return r;
}

/* Text: skipped when not UTF-8, else escaped, then markers. */
static int template_text(const struct pt__tpl *t, const struct tpl_vars *v,
			 const bool *scope, const char *s, size_t n,
			 struct pt_buf *out)
{
	struct pt_buf e = PT_BUF_INIT;
	int r;

	if (!pt__utf8_valid(s, n)) {
		pt__buf_reset(out);
		return pt__buf_add(out, s, n);
	}
	r = escape_into(s, n, &e);
	if (r == 0)
		r = replace_in(t, v, scope, e.s, e.len, out);
	pt__buf_release(&e);
	return r;
}

/* JSON: string values (and keys if allowed), not escaped. */
static json_t *template_json(const struct pt__tpl *t, const struct tpl_vars *v,
			     const bool *scope, json_t *j, bool keys)
{
	struct pt_buf b = PT_BUF_INIT;
	json_t *o = NULL, *x;
	const char *k;
	size_t i;

	if (json_is_string(j)) {
		if (replace_in(t, v, scope, json_string_value(j),
			       json_string_length(j), &b) == 0)
			o = json_stringn(b.s, b.len);
	} else if (json_is_object(j)) {
		o = json_object();
		json_object_foreach(j, k, x)
		{
			json_t *nv = template_json(t, v, scope, x, keys);
			const char *nk = k;

			if (keys &&
			    replace_in(t, v, scope, k, strlen(k), &b) == 0)
				nk = b.s;
			if (!o || !nv || json_object_set_new(o, nk, nv) < 0) {
				json_decref(o);
				o = NULL;
				break;
			}
		}
	} else if (json_is_array(j)) {
		o = json_array();
		json_array_foreach(j, i, x)
		{
			if (!o || json_array_append_new(
					  o, template_json(t, v, scope, x,
							   keys)) < 0) {
				json_decref(o);
				o = NULL;
				break;
			}
		}
	} else {
		o = json_incref(j);
	}
	pt__buf_release(&b);
	return o;
}

static int set_str(char **slot, const struct pt_buf *b)
{
	char *c = pt__strndup(b->s, b->len);

	if (!c)
		return -ENOMEM;
	pt__free(*slot);
	*slot = c;
	return 0;
}

/* Templates a message's body in place (blobs are left alone). */
static int template_body(const struct pt__tpl *t, const struct tpl_vars *v,
			 const bool *scope, struct pt_cassette_msg *m,
			 bool keys)
{
	struct pt_buf b = PT_BUF_INIT;
	int r = 0;

	if (m->kind == BODY_JSON) {
		json_t *j = template_json(t, v, scope, m->json, keys);
		char *text = j ? json_text(j) : NULL;

		if (!text) {
			if (j)
				json_decref(j);
			return -ENOMEM;
		}
		json_decref(m->json);
		m->json = j;
		pt__free(m->body);
		m->body = text;
		m->body_len = strlen(text);
	} else if (m->kind == BODY_TEXT) {
		r = template_text(t, v, scope, m->body, m->body_len, &b);
		if (r == 0) {
			r = set_str(&m->body, &b);
			m->body_len = b.len;
		}
	}
	pt__buf_release(&b);
	return r;
}

static int template_request(const struct pt__tpl *t, const struct tpl_vars *v,
			    struct pt_cassette_msg *m)
{
	struct pt_buf b = PT_BUF_INIT;
	char *q = sorted_query(m->query);
	int r = q ? 0 : -ENOMEM;

	if (r == 0) {
		pt__free(m->query);
		m->query = q;
		r = template_text(t, v, NULL, m->uri, strlen(m->uri), &b);
	}
	if (r == 0)
		r = set_str(&m->uri, &b);
	if (r == 0)
		r = template_text(t, v, NULL, m->query, strlen(m->query), &b);
	if (r == 0)
		r = set_str(&m->query, &b);
	if (r == 0)
		r = template_body(t, v, NULL, m, false);
	pt__buf_release(&b);
	return r;
}

/* ---- record
 * ----------------------------------------------------------------------- */

static json_t *block_json(const struct pt__tpl *t, const struct tpl_vars *v)
{
	json_t *b = json_object(), *pats = json_object(), *rec = json_object();
	json_t *cfg = json_object();
	int bad = !b || !pats || !rec || !cfg;

	for (size_t p = 0; !bad && p < t->p.n; p++) {
		json_t *po = json_object(), *l = json_array();

		bad |= !po || !l;
		bad |= json_object_set_new(po, "source",
					   json_string(t->p.v[p].source));
		bad |= json_object_set(po, "opts", t->p.v[p].opts);
		bad |= json_object_set_new(pats, t->p.v[p].name, po);
		/* unique values, in order */
		for (size_t i = 0; !bad && i < v->l[p].n; i++) {
			bool seen = false;

			for (size_t k = 0; k < i && !seen; k++)
				seen = strcmp(v->l[p].v[k], v->l[p].v[i]) == 0;
			if (!seen)
				bad |= json_array_append_new(
					l, json_string(v->l[p].v[i]));
		}
		if (v->l[p].n)
			bad |= json_object_set(rec, t->p.v[p].name, l);
		json_decref(l);
	}
	bad |= json_object_set_new(cfg, "allow_key_templates",
				   json_boolean(t->allow_keys));
	bad |= json_object_set_new(cfg, "debug", json_false());
	bad |= json_object_set_new(b, "enabled", json_true());
	bad |= json_object_set(b, "patterns", pats);
	bad |= json_object_set(b, "recorded_values", rec);
	bad |= json_object_set(b, "config", cfg);
	json_decref(pats);
	json_decref(rec);
	json_decref(cfg);
	if (bad) {
		json_decref(b);
		return NULL;
	}
	return b;
}

int pt__tpl_record(const struct pt__tpl *t, struct pt_cassette_msg *req,
		   struct pt_cassette_msg *resp, json_t **ret_block)
{
	struct tpl_vars v = { 0, NULL };
	bool *scope = NULL;
	char *rt = NULL;
	size_t rl = 0, nflat = 0, flat = 0;
	int r;

	r = extract_request(t, req->uri, req->query, req, &v);
	if (r < 0)
		return r;
	for (size_t p = 0; p < v.n; p++)
		nflat += v.l[p].n;
	scope = pt__calloc(nflat ? nflat : 1, 1);
	r = scope ? body_text(resp, &rt, &rl) : -ENOMEM;
	if (r < 0)
		goto out;
	/* the response is templated only for values that occur in it */
	for (size_t p = 0; p < v.n; p++)
		for (size_t i = 0; i < v.l[p].n; i++, flat++)
			scope[flat] = find_bytes(rt, rl, v.l[p].v[i],
						 strlen(v.l[p].v[i])) != NULL;
	r = template_body(t, &v, scope, resp, t->allow_keys);
	if (r == 0)
		r = template_request(t, &v, req);
	if (r == 0) {
		*ret_block = block_json(t, &v);
		if (!*ret_block)
			r = -ENOMEM;
	}
out:
	pt__free(scope);
	pt__free(rt);
	tpl_vars_free(&v);
	return r;
}

/* ---- replay
 * ------------------------------------------------------------------------- */

struct pt__tpl_match {
	struct tpl_vars v;
	const struct pt__tpl *t;
};

void pt__tpl_match_free(struct pt__tpl_match *m)
{
	if (!m)
		return;
	tpl_vars_free(&m->v);
	pt__free(m);
}

/*
 * Templates the incoming request (method, uri and raw query given apart;
 * body from m) and compares it with the stored, templated one on the
 * match fields (headers never). 1 and *ret on a match, 0 when not.
 */
int pt__tpl_compare(const struct pt__tpl *t, unsigned match,
		    const struct canon *stored, const char *method,
		    const char *uri, const char *query,
		    const struct pt_cassette_msg *m, struct pt__tpl_match **ret)
{
	struct pt_cassette_msg x = { 0 };
	struct pt__tpl_match *mm;
	int r, eq = 1;

	mm = pt__calloc(1, sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	mm->t = t;
	r = extract_request(t, uri, query, m, &mm->v);
	if (r < 0) {
		pt__free(mm);
		return r;
	}
	x.uri = pt__strdup(uri);
	x.query = pt__strdup(query);
	x.kind = m->kind;
	x.body = pt__memdup(m->body ? m->body : "", m->body_len + 1);
	x.body_len = m->body_len;
	x.json = m->json ? json_incref(m->json) : NULL;
	r = x.uri && x.query && x.body ? template_request(t, &mm->v, &x)
				       : -ENOMEM;
	if (r < 0)
		goto out;
	if ((match & PT_MATCH_METHOD) && strcasecmp(stored->method, method))
		eq = 0;
	if ((match & PT_MATCH_URI) && strcmp(stored->uri, x.uri))
		eq = 0;
	if ((match & PT_MATCH_QUERY) && strcmp(stored->query, x.query))
		eq = 0;
	if (match & (PT_MATCH_BODY | PT_MATCH_BODY_JSON)) {
		char *bt = NULL;
		size_t bl = 0;

		r = body_text(&x, &bt, &bl);
		if (r < 0)
			goto out;
		if (stored->kind != x.kind || stored->bkey.len != bl ||
		    memcmp(stored->bkey.s, bt, bl) != 0)
			eq = 0;
		pt__free(bt);
	}
	r = eq;
out:
	pt__msg_clear(&x);
	if (r == 1)
		*ret = mm;
	else
		pt__tpl_match_free(mm);
	return r;
}

/* {{name.i}} -> i-th incoming value, then unescape. */
static int substitute(const struct pt__tpl_match *mm, const char *s, size_t n,
		      struct pt_buf *out)
{
	struct pt_buf cur = PT_BUF_INIT, tmp = PT_BUF_INIT;
	char marker[160];
	int r = -ENOMEM;

	if (pt__buf_add(&cur, s, n) < 0)
		goto out;
	for (size_t p = 0; p < mm->v.n; p++)
		for (size_t i = 0; i < mm->v.l[p].n; i++) {
			const char *val = mm->v.l[p].v[i];

			snprintf(marker, sizeof(marker), "{{%s.%zu}}",
				 mm->t->p.v[p].name, i);
			if (replace_all(cur.s, cur.len, marker, strlen(marker),
					val, strlen(val), &tmp) < 0)
				goto out;
			pt__buf_reset(&cur);
			if (pt__buf_add(&cur, tmp.s, tmp.len) < 0)
				goto out;
		}
	if (unescape(&cur) < 0)
		goto out;
	pt__buf_reset(out);
	r = pt__buf_add(out, cur.s, cur.len);
out:
	pt__buf_release(&cur);
	pt__buf_release(&tmp);
	return r;
}

static json_t *substitute_json(const struct pt__tpl_match *mm, json_t *j)
{
	struct pt_buf b = PT_BUF_INIT;
	json_t *o = NULL, *x;
	const char *k;
	size_t i;

	if (json_is_string(j)) {
		if (substitute(mm, json_string_value(j), json_string_length(j),
			       &b) == 0)
			o = json_stringn(b.s, b.len);
	} else if (json_is_object(j)) {
		o = json_object();
		json_object_foreach(j, k, x)
		{
			json_t *nv = substitute_json(mm, x);

			if (!o || !nv || substitute(mm, k, strlen(k), &b) < 0 ||
			    json_object_set_new(o, b.s, nv) < 0) {
				json_decref(nv);
				json_decref(o);
				o = NULL;
				break;
			}
		}
	} else if (json_is_array(j)) {
		o = json_array();
		json_array_foreach(j, i, x)
		{
			if (!o || json_array_append_new(
					  o, substitute_json(mm, x)) < 0) {
				json_decref(o);
				o = NULL;
				break;
			}
		}
	} else {
		o = json_incref(j);
	}
	pt__buf_release(&b);
	return o;
}

/* Fills the markers of a stored response message in place. */
int pt__tpl_apply(const struct pt__tpl_match *mm, struct pt_cassette_msg *resp)
{
	struct pt_buf b = PT_BUF_INIT;
	int r;

	if (resp->kind == BODY_JSON) {
		json_t *j = substitute_json(mm, resp->json);
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY)
			    : NULL;

		r = s ? 0 : -ENOMEM;
		if (s) {
			pt__free(resp->body);
			resp->body = pt__strdup(s);
			resp->body_len = strlen(s);
			pt__json_free(s);
			json_decref(resp->json);
			resp->json = j;
			j = NULL;
			r = resp->body ? 0 : -ENOMEM;
		}
		if (j)
			json_decref(j);
		return r;
	}
	r = substitute(mm, resp->body, resp->body_len, &b);
	if (r == 0) {
		r = set_str(&resp->body, &b);
		resp->body_len = b.len;
	}
	pt__buf_release(&b);
	return r;
}
