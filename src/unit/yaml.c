/*
 * unit/yaml.c - YAML unit files (`*.yaml`, `*.yml`), read with libyaml.
 *
 * Upstream loads each document of a YAML file with PyYAML's Loader and
 * uses the resulting dict as the unit's data: values may be strings,
 * lists, dicts, numbers, booleans or None. proctor keeps one record per
 * document, like a pxu record: each top-level key is a field whose value
 * is a text view of the YAML value (what the pxu parsers of the same
 * field read: list items one per line, nested structures as JSON), and
 * whose `json` member holds the value as Python's json.dumps writes it
 * (the checksum's input) whenever it is not a plain string.
 *
 * Plain scalars are resolved as PyYAML 1.1 does (null, bool, int, float,
 * merge keys); timestamps stay strings. Limits: nesting depth, nodes per
 * file, alias expansion (a "billion laughs" file is an error, not a hang),
 * bytes per record. Any error rejects the whole file, as upstream.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "base/common.h"
#include "base/diag.h"
#include "base/str.h"
#include "unit/internal.h"

#include <inttypes.h>
#include <math.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <yaml.h>

#define MAX_DEPTH    64
#define MAX_NODES    ((size_t)1000000)
#define MAX_EXPANDED ((size_t)1000000)

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ykind kind;
	bool plain;	 /* scalar: plain style, no explicit tag */
	unsigned line;	 /* 1-based */
	const char *tag; /* explicit tag, or NULL */
	const char *s;	 /* scalar text */
	size_t len;
	size_t n;	     /* seq: items; map: pairs */
	struct ynode **kids; /* map: key0, value0, key1, value1, ... */
};

enum yres { R_STR, R_NULL, R_BOOL, R_INT, R_FLOAT, R_MERGE };

struct yval {
	enum yres r;
	bool b;
	int64_t i;
	double f;
};

struct recvec {
	PT_VEC(struct pt_rfc822_record) v;
};

struct yctx {
	struct pt_units *u;
	struct pt_arena tmp; /* the tree; released after the file */
	yaml_parser_t parser;
	struct pt_map anchors; /* name -> struct ynode * (one document) */
	size_t nodes, expanded, max_record;
	const char *file;
	struct pt_diags *d;
	pcre2_code *re_int, *re_float;
	pcre2_match_data *md;
	/* the first error */
	unsigned err_line;
	struct pt_buf err;
	bool failed, oom;
};

static int fail(struct yctx *c, unsigned line, const char *fmt, ...)
	PT_PRINTF(3, 4);

static int fail(struct yctx *c, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return PT_EPARSE;
	c->failed = true;
	c->err_line = line;
	va_start(ap, fmt);
	if (pt__buf_vaddf(&c->err, fmt, ap) < 0)
		c->oom = true;
	va_end(ap);
	return PT_EPARSE;
}

static int nomem(struct yctx *c)
{
	c->oom = true;
	c->failed = true;
	return -ENOMEM;
}

/* ------------------------------------------------------------------ */
/* Events -> tree                                                      */

static int next_event(struct yctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev)) {
		const yaml_parser_t *p = &c->parser;

		if (p->error == YAML_MEMORY_ERROR)
			return nomem(c);
		if (p->context)
			return fail(c, (unsigned)p->problem_mark.line + 1,
				    "YAML: %s %s", p->context,
				    p->problem ? p->problem : "error");
		return fail(c, (unsigned)p->problem_mark.line + 1, "YAML: %s",
			    p->problem ? p->problem : "error");
	}
	return 0;
}

static struct ynode *new_node(struct yctx *c, enum ykind k,
			      const yaml_event_t *ev)
{
	struct ynode *n;

	if (++c->nodes > MAX_NODES) {
		fail(c, (unsigned)ev->start_mark.line + 1,
		     "YAML: more than %zu nodes in the file", MAX_NODES);
		return NULL;
	}
	n = pt__arena_zalloc(&c->tmp, sizeof(*n));
	if (!n) {
		nomem(c);
		return NULL;
	}
	n->kind = k;
	n->line = (unsigned)ev->start_mark.line + 1;
	return n;
}

static int set_anchor(struct yctx *c, const yaml_char_t *anchor,
		      struct ynode *n)
{
	char *a;

	if (!anchor)
		return 0;
	a = pt__arena_strdup(&c->tmp, (const char *)anchor);
	if (!a || pt__map_put(&c->anchors, a, strlen(a), n, NULL) < 0)
		return nomem(c);
	return 0;
}

static const char *copy_tag(struct yctx *c, const yaml_char_t *tag,
			    bool implicit)
{
	if (!tag || implicit)
		return NULL;
	return pt__arena_strdup(&c->tmp, (const char *)tag);
}

/* Builds the node that starts with ev (consumed by the caller). */
static int build(struct yctx *c, yaml_event_t *ev, int depth,
		 struct ynode **ret)
{
	PT_VEC(struct ynode *) kids = PT_VEC_INIT;
	struct ynode *n;
	const yaml_char_t *anchor = NULL;
	yaml_event_type_t end;
	int rc = 0;

	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		const char *a = (const char *)ev->data.alias.anchor;

		n = pt__map_gets(&c->anchors, a);
		if (!n)
			return fail(c, (unsigned)ev->start_mark.line + 1,
				    "YAML: found undefined alias '%s'", a);
		*ret = n;
		return 0;
	}
	case YAML_SCALAR_EVENT:
		n = new_node(c, Y_SCALAR, ev);
		if (!n)
			return c->oom ? -ENOMEM : PT_EPARSE;
		n->s = pt__arena_strndup(&c->tmp,
					 (const char *)ev->data.scalar.value,
					 ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		n->tag = ev->data.scalar.plain_implicit
				 ? NULL
				 : copy_tag(c, ev->data.scalar.tag,
					    ev->data.scalar.quoted_implicit);
		n->plain = ev->data.scalar.plain_implicit &&
			   ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (!n->s)
			return nomem(c);
		if (set_anchor(c, ev->data.scalar.anchor, n) < 0)
			return -ENOMEM;
		*ret = n;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		n = new_node(c, Y_SEQ, ev);
		anchor = ev->data.sequence_start.anchor;
		end = YAML_SEQUENCE_END_EVENT;
		if (n)
			n->tag = copy_tag(c, ev->data.sequence_start.tag,
					  ev->data.sequence_start.implicit);
		break;
	case YAML_MAPPING_START_EVENT:
		n = new_node(c, Y_MAP, ev);
		anchor = ev->data.mapping_start.anchor;
		end = YAML_MAPPING_END_EVENT;
		if (n)
			n->tag = copy_tag(c, ev->data.mapping_start.tag,
					  ev->data.mapping_start.implicit);
		break;
	default:
		return fail(c, (unsigned)ev->start_mark.line + 1,
			    "YAML: unexpected event %d", (int)ev->type);
	}
	if (!n)
		return c->oom ? -ENOMEM : PT_EPARSE;
	if (depth >= MAX_DEPTH)
		return fail(c, n->line, "YAML: nested deeper than %d levels",
			    MAX_DEPTH);
	for (;;) {
		yaml_event_t e;
		struct ynode *k = NULL;

		rc = next_event(c, &e);
		if (rc < 0)
			break;
		if (e.type == end) {
			yaml_event_delete(&e);
			break;
		}
		rc = build(c, &e, depth + 1, &k);
		yaml_event_delete(&e);
		if (rc < 0)
			break;
		if (pt_vec_push(&kids, k) < 0) {
			rc = nomem(c);
			break;
		}
	}
	if (rc == 0) {
		n->n = n->kind == Y_MAP ? kids.n / 2 : kids.n;
		n->kids = kids.n ? pt__arena_memdup(&c->tmp, kids.v,
						    kids.n * sizeof(*kids.v))
				 : pt__arena_zalloc(&c->tmp, sizeof(*kids.v));
		if (!n->kids)
			rc = nomem(c);
	}
	pt_vec_release(&kids);
	if (rc == 0)
		rc = set_anchor(c, anchor, n);
	if (rc == 0)
		*ret = n;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Scalars: PyYAML's implicit resolvers and constructors (YAML 1.1)   */

static bool is_one_of(const struct ynode *n, const char *const *set)
{
	for (; *set; set++)
		if (strlen(*set) == n->len && memcmp(*set, n->s, n->len) == 0)
			return true;
	return false;
}

static bool re_match(struct yctx *c, pcre2_code *re, const struct ynode *n)
{
	return pcre2_match(re, (PCRE2_SPTR)n->s, n->len, 0, 0, c->md, NULL) >=
	       0;
}

/* value without '_' and the sign; *neg set. */
static size_t digits_only(const struct ynode *n, char *out, size_t size,
			  bool *neg)
{
	size_t k = 0, i = 0;

	*neg = false;
	if (i < n->len && (n->s[i] == '-' || n->s[i] == '+'))
		*neg = n->s[i++] == '-';
	for (; i < n->len && k + 1 < size; i++)
		if (n->s[i] != '_')
			out[k++] = n->s[i];
	out[k] = 0;
	return k;
}

static int construct_int(struct yctx *c, const struct ynode *n, int64_t *ret)
{
	char v[128], *end;
	bool neg;
	size_t len = digits_only(n, v, sizeof(v), &neg);
	uint64_t x = 0;
	int base = 10;
	const char *p = v;

	if (len >= sizeof(v) - 1)
		goto range;
	if (strchr(v, ':')) {
		/* sexagesimal: 1:30 = 90 (the regex checked the digits) */
		for (const char *q = v; *q; q = *end ? end + 1 : end) {
			unsigned long long part;

			errno = 0;
			part = strtoull(q, &end, 10);
			if (errno || x > (UINT64_MAX - part) / 60)
				goto range;
			x = x * 60 + part;
		}
	} else {
		if (v[0] == '0' && v[1] == 'b')
			base = 2, p = v + 2;
		else if (v[0] == '0' && v[1] == 'x')
			base = 16, p = v + 2;
		else if (v[0] == '0' && v[1])
			base = 8, p = v + 1;
		errno = 0;
		x = strtoull(p, &end, base);
		if (errno || *end)
			goto range;
	}
	if (x > (uint64_t)INT64_MAX + neg)
		goto range;
	*ret = neg ? (int64_t)(0 - x) : (int64_t)x;
	return 0;
range:
	return fail(c, n->line, "YAML: integer '%.*s' out of range",
		    (int)(n->len > 64 ? 64 : n->len), n->s);
}

static void construct_float(const struct ynode *n, double *ret)
{
	char v[256];
	bool neg;

	digits_only(n, v, sizeof(v), &neg);
	for (char *p = v; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!strcmp(v, ".inf")) {
		*ret = neg ? -INFINITY : INFINITY;
	} else if (!strcmp(v, ".nan")) {
		*ret = NAN;
	} else if (strchr(v, ':')) {
		double x = 0;
		char *end;

		for (const char *q = v; *q; q = *end == ':' ? end + 1 : end) {
			x = x * 60 + strtod(q, &end);
			if (end == q)
				break;
		}
		*ret = neg ? -x : x;
	} else {
		double x = strtod(v, NULL);
		*ret = neg ? -x : x;
	}
}

static int resolve(struct yctx *c, const struct ynode *n, struct yval *ret)
{
	static const char *const bools_t[] = { "yes",  "Yes",  "YES", "true",
					       "True", "TRUE", "on",  "On",
					       "ON",   NULL };
	static const char *const bools_f[] = { "no",	"No",	 "NO",	"false",
					       "False", "FALSE", "off", "Off",
					       "OFF",	NULL };
	static const char *const nulls[] = { "",     "~",    "null",
					     "Null", "NULL", NULL };
	const char *tag = n->tag;

	*ret = (struct yval){ .r = R_STR };
	if (tag) {
		static const char yaml_tag[] = "tag:yaml.org,2002:";
		const char *t = tag + sizeof(yaml_tag) - 1;

		if (!strcmp(tag, "!") ||
		    (pt__starts_with(tag, yaml_tag) && !strcmp(t, "str")))
			return 0;
		if (pt__starts_with(tag, yaml_tag)) {
			if (!strcmp(t, "null"))
				return ret->r = R_NULL, 0;
			if (!strcmp(t, "bool") &&
			    (is_one_of(n, bools_t) || is_one_of(n, bools_f))) {
				ret->r = R_BOOL;
				ret->b = is_one_of(n, bools_t);
				return 0;
			}
			if (!strcmp(t, "int") && re_match(c, c->re_int, n)) {
				ret->r = R_INT;
				return construct_int(c, n, &ret->i);
			}
			if (!strcmp(t, "float") &&
			    (re_match(c, c->re_float, n) ||
			     re_match(c, c->re_int, n))) {
				ret->r = R_FLOAT;
				construct_float(n, &ret->f);
				return 0;
			}
		}
		return fail(c, n->line,
			    "YAML: tag '%s' is not supported on '%.*s'", tag,
			    (int)(n->len > 64 ? 64 : n->len), n->s);
	}
	if (!n->plain)
		return 0;
	if (is_one_of(n, bools_t) || is_one_of(n, bools_f)) {
		ret->r = R_BOOL;
		ret->b = is_one_of(n, bools_t);
	} else if (n->len && strchr("-+0123456789.", n->s[0]) &&
		   re_match(c, c->re_float, n)) {
		ret->r = R_FLOAT;
		construct_float(n, &ret->f);
	} else if (n->len && strchr("-+0123456789", n->s[0]) &&
		   re_match(c, c->re_int, n)) {
		ret->r = R_INT;
		return construct_int(c, n, &ret->i);
	} else if (n->len == 2 && !memcmp(n->s, "<<", 2)) {
		ret->r = R_MERGE;
	} else if (is_one_of(n, nulls)) {
		ret->r = R_NULL;
	} else if (n->len == 1 && n->s[0] == '=') {
		/* PyYAML's Loader has no constructor for it. */
		return fail(c, n->line,
			    "YAML: could not determine a constructor for the "
			    "tag 'tag:yaml.org,2002:value'");
	}
	return 0;
}

/* Python's repr(float). */
static void py_float_repr(double x, char out[40])
{
	char e[40], digits[20];
	int prec, exp10, nd = 0, decpt;
	char *p;

	if (isnan(x)) {
		snprintf(out, 40, "NaN");
		return;
	}
	if (isinf(x)) {
		snprintf(out, 40, x < 0 ? "-Infinity" : "Infinity");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, x);
		if (strtod(e, NULL) == x)
			break;
	}
	/* e: [-]d[.ddd]e[+-]XX */
	p = e;
	if (*p == '-')
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p != '.' && nd < (int)sizeof(digits) - 1)
			digits[nd++] = *p;
	digits[nd] = 0;
	exp10 = (int)strtol(p + 1, NULL, 10);
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = 0;
	decpt = exp10 + 1;
	{
		char *o = out, *lim = out + 39;

		if (signbit(x))
			*o++ = '-';
		if (decpt <= -4 || decpt > 16) {
			*o++ = digits[0];
			if (nd > 1) {
				*o++ = '.';
				for (int i = 1; i < nd; i++)
					*o++ = digits[i];
			}
			snprintf(o, (size_t)(lim - o), "e%c%02d",
				 exp10 < 0 ? '-' : '+',
				 exp10 < 0 ? -exp10 : exp10);
			return;
		}
		if (decpt <= 0) {
			*o++ = '0';
			*o++ = '.';
			for (int i = 0; i < -decpt; i++)
				*o++ = '0';
			for (int i = 0; i < nd; i++)
				*o++ = digits[i];
		} else {
			for (int i = 0; i < decpt; i++)
				*o++ = i < nd ? digits[i] : '0';
			*o++ = '.';
			if (decpt >= nd)
				*o++ = '0';
			for (int i = decpt; i < nd; i++)
				*o++ = digits[i];
		}
		*o = 0;
	}
}

/* ------------------------------------------------------------------ */
/* Values -> JSON (the checksum) and text (the field)                  */

/*
 * The effective pairs of a mapping, as PyYAML's constructor makes the
 * dict: merge keys flattened first, then the node's own pairs; a later
 * duplicate replaces the value but keeps the first position.
 */
struct pair {
	const struct ynode *k, *v;
	bool own; /* a key of the mapping itself (not merged) */
};

struct pairs {
	PT_VEC(struct pair) v;
	struct pt_map index; /* key -> position + 1 */
};

static void pairs_release(struct pairs *p)
{
	pt_vec_release(&p->v);
	pt__map_release(&p->index);
}

static int add_pairs(struct yctx *c, const struct ynode *m, struct pairs *out,
		     int depth, bool *dup, unsigned *dup_line,
		     const char **dup_key);
static int count(struct yctx *c, const struct ynode *n);

static int merge_from(struct yctx *c, const struct ynode *v, struct pairs *out,
		      int depth, bool *dup, unsigned *dup_line,
		      const char **dup_key)
{
	if (v->kind == Y_MAP)
		return add_pairs(c, v, out, depth + 1, dup, dup_line, dup_key);
	if (v->kind == Y_SEQ) {
		/* Earlier mappings win: PyYAML adds them in reverse. */
		for (size_t i = v->n; i-- > 0;) {
			int rc;

			if (v->kids[i]->kind != Y_MAP)
				return fail(c, v->kids[i]->line,
					    "YAML: expected a mapping for "
					    "merging");
			rc = add_pairs(c, v->kids[i], out, depth + 1, NULL,
				       NULL, NULL);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	return fail(c, v->line,
		    "YAML: expected a mapping or list of mappings "
		    "for merging");
}

static int add_pairs(struct yctx *c, const struct ynode *m, struct pairs *out,
		     int depth, bool *dup, unsigned *dup_line,
		     const char **dup_key)
{
	int rc;

	if (depth > MAX_DEPTH)
		return fail(c, m->line, "YAML: nested deeper than %d levels",
			    MAX_DEPTH);
	/* merged mappings count as expanded values (no merge-key bomb) */
	if ((rc = count(c, m)) < 0)
		return rc;
	/* merge keys first */
	for (size_t i = 0; i < m->n; i++) {
		const struct ynode *k = m->kids[2 * i];
		struct yval kv;

		if (k->kind != Y_SCALAR)
			continue;
		if ((rc = resolve(c, k, &kv)) < 0)
			return rc;
		if (kv.r == R_MERGE &&
		    (rc = merge_from(c, m->kids[2 * i + 1], out, depth, NULL,
				     NULL, NULL)) < 0)
			return rc;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct ynode *k = m->kids[2 * i];
		struct yval kv;
		void *pos;

		if (k->kind != Y_SCALAR)
			return fail(c, k->line,
				    "YAML: a mapping key must be a string");
		if ((rc = resolve(c, k, &kv)) < 0)
			return rc;
		if (kv.r == R_MERGE)
			continue;
		if (kv.r != R_STR)
			return fail(c, k->line,
				    "YAML: mapping key '%.*s' is not a string",
				    (int)(k->len > 64 ? 64 : k->len), k->s);
		if (strlen(k->s) != k->len)
			return fail(c, k->line,
				    "YAML: mapping key contains a NUL "
				    "character");
		if (pt__map_find(&out->index, k->s, k->len, &pos)) {
			size_t at = (size_t)(uintptr_t)pos - 1;
			/* only the node's own duplicates are worth a word */
			if (dup && !*dup && out->v.v[at].own) {
				*dup = true;
				*dup_line = k->line;
				*dup_key = k->s;
			}
			out->v.v[at] = (struct pair){ k, m->kids[2 * i + 1],
						      dup != NULL };
			continue;
		}
		if (pt_vec_push(&out->v, ((struct pair){ k, m->kids[2 * i + 1],
							 dup != NULL })) < 0 ||
		    pt__map_put(&out->index, k->s, k->len,
				(void *)(uintptr_t)out->v.n, NULL) < 0)
			return nomem(c);
	}
	return 0;
}

static int count(struct yctx *c, const struct ynode *n)
{
	if (++c->expanded > MAX_EXPANDED)
		return fail(c, n->line,
			    "YAML: more than %zu values once aliases are "
			    "expanded",
			    MAX_EXPANDED);
	return 0;
}

static int scalar_text(struct yctx *c, const struct ynode *n,
		       const struct yval *v, struct pt_buf *b, bool json)
{
	char num[40];

	switch (v->r) {
	case R_NULL:
		return pt__buf_adds(b, json ? "null" : "None");
	case R_BOOL:
		return pt__buf_adds(b, json ? (v->b ? "true" : "false")
					    : (v->b ? "True" : "False"));
	case R_INT:
		return pt__buf_addf(b, "%" PRId64, v->i);
	case R_FLOAT:
		py_float_repr(v->f, num);
		if (!json && !isfinite(v->f))
			snprintf(num, sizeof(num), "%s",
				 isnan(v->f) ? "nan"
				 : v->f < 0  ? "-inf"
					     : "inf");
		return pt__buf_adds(b, num);
	case R_MERGE:
	case R_STR:
		break;
	}
	if (strlen(n->s) != n->len)
		return fail(c, n->line,
			    "YAML: string contains a NUL character");
	if (json)
		return pt__py_json_str(b, n->s);
	return pt__buf_add(b, n->s, n->len);
}

static int to_json(struct yctx *c, const struct ynode *n, struct pt_buf *b,
		   int depth)
{
	int rc;

	if ((rc = count(c, n)) < 0)
		return rc;
	if (depth > MAX_DEPTH)
		return fail(c, n->line, "YAML: nested deeper than %d levels",
			    MAX_DEPTH);
	if (b->len > c->max_record)
		return fail(c, n->line, "YAML: unit larger than %zu bytes",
			    c->max_record);
	if (n->kind == Y_SCALAR) {
		struct yval v;

		if ((rc = resolve(c, n, &v)) < 0)
			return rc;
		rc = scalar_text(c, n, &v, b, true);
		return rc < 0 && !c->failed ? nomem(c) : rc;
	}
	if (n->tag &&
	    strcmp(n->tag, n->kind == Y_SEQ ? "tag:yaml.org,2002:seq"
					    : "tag:yaml.org,2002:map"))
		return fail(c, n->line, "YAML: tag '%s' is not supported",
			    n->tag);
	if (n->kind == Y_SEQ) {
		if (pt__buf_addch(b, '[') < 0)
			return nomem(c);
		for (size_t i = 0; i < n->n; i++) {
			if ((i && pt__buf_addch(b, ',') < 0))
				return nomem(c);
			if ((rc = to_json(c, n->kids[i], b, depth + 1)) < 0)
				return rc;
		}
		return pt__buf_addch(b, ']') < 0 ? nomem(c) : 0;
	} else {
		struct pairs p = { PT_VEC_INIT, PT_MAP_INIT };

		rc = add_pairs(c, n, &p, depth, NULL, NULL, NULL);
		if (rc == 0 && pt__buf_addch(b, '{') < 0)
			rc = nomem(c);
		for (size_t i = 0; rc == 0 && i < p.v.n; i++) {
			if ((i && pt__buf_addch(b, ',') < 0) ||
			    pt__py_json_str(b, p.v.v[i].k->s) < 0 ||
			    pt__buf_addch(b, ':') < 0) {
				rc = nomem(c);
				break;
			}
			rc = to_json(c, p.v.v[i].v, b, depth + 1);
		}
		if (rc == 0 && pt__buf_addch(b, '}') < 0)
			rc = nomem(c);
		pairs_release(&p);
		return rc;
	}
}

/*
 * A top-level value: *ret_text (the field's text), *ret_json (NULL for a
 * string), *ret_null for None.
 */
static int field_value(struct yctx *c, const struct ynode *n,
		       const char **ret_text, const char **ret_json,
		       bool *ret_null)
{
	struct pt_buf t = PT_BUF_INIT, j = PT_BUF_INIT;
	bool flat = n->kind == Y_SEQ;
	struct yval v = { .r = R_STR };
	int rc = 0;

	*ret_null = false;
	*ret_json = NULL;
	if (n->kind == Y_SCALAR) {
		if ((rc = count(c, n)) < 0 || (rc = resolve(c, n, &v)) < 0)
			goto out;
		*ret_null = v.r == R_NULL;
		rc = scalar_text(c, n, &v, &t, false);
		if (rc == 0 && v.r != R_STR)
			rc = scalar_text(c, n, &v, &j, true);
	} else {
		rc = to_json(c, n, &j, 1);
		for (size_t i = 0; rc == 0 && flat && i < n->n; i++)
			flat = n->kids[i]->kind == Y_SCALAR;
		/* A list of scalars: one per line, as pxu writes it. */
		for (size_t i = 0; rc == 0 && flat && i < n->n; i++) {
			if (i && pt__buf_addch(&t, '\n') < 0) {
				rc = -ENOMEM;
				break;
			}
			if ((rc = resolve(c, n->kids[i], &v)) < 0)
				break;
			rc = scalar_text(c, n->kids[i], &v, &t, false);
		}
		if (rc == 0 && !flat)
			rc = pt__buf_add(&t, j.s, j.len);
	}
	if (rc < 0)
		goto out;
	if (t.len > c->max_record || j.len > c->max_record) {
		rc = fail(c, n->line, "YAML: unit larger than %zu bytes",
			  c->max_record);
		goto out;
	}
	*ret_text = pt__arena_strndup(&c->u->arena, t.len ? t.s : "", t.len);
	if (j.len)
		*ret_json = pt__arena_strndup(&c->u->arena, j.s, j.len);
	if (!*ret_text || (j.len && !*ret_json))
		rc = -ENOMEM;
out:
	if (rc < 0 && !c->failed)
		rc = nomem(c);
	pt__buf_release(&t);
	pt__buf_release(&j);
	return rc;
}

/* One document: its record in u's arena. */
static int make_record(struct yctx *c, const struct ynode *root,
		       unsigned line_end, struct pt_rfc822_record *rec)
{
	struct pairs p = { PT_VEC_INIT, PT_MAP_INIT };
	struct pt_rfc822_field *f;
	bool dup = false;
	unsigned dup_line = 0;
	const char *dup_key = NULL;
	size_t total = 0;
	int rc;

	if (root->kind != Y_MAP)
		return fail(c, root->line,
			    "YAML: a unit must be a mapping of fields, not %s",
			    root->kind == Y_SEQ ? "a list" : "a scalar");
	rc = add_pairs(c, root, &p, 1, &dup, &dup_line, &dup_key);
	if (rc < 0)
		goto out;
	if (dup && c->d &&
	    pt__diags_add(c->d, PT_SEV_WARNING, PT_EDUPLICATE, c->file,
			  dup_line, dup_key,
			  "duplicate key '%s' (the last value wins, as in "
			  "PyYAML)",
			  dup_key) < 0) {
		rc = nomem(c);
		goto out;
	}
	f = pt__arena_zalloc(&c->u->arena, (p.v.n ? p.v.n : 1) * sizeof(*f));
	if (!f) {
		rc = nomem(c);
		goto out;
	}
	for (size_t i = 0; i < p.v.n; i++) {
		const struct ynode *k = p.v.v[i].k;
		bool null;

		f[i].key = pt__units_intern(c->u, k->s, k->len);
		f[i].line = k->line;
		if (!f[i].key) {
			rc = nomem(c);
			goto out;
		}
		rc = field_value(c, p.v.v[i].v, &f[i].value, &f[i].json, &null);
		if (rc < 0)
			goto out;
		if (null)
			f[i].json = "null";
		total += k->len + strlen(f[i].value) +
			 (f[i].json ? strlen(f[i].json) : 0);
		if (total > c->max_record) {
			rc = fail(c, k->line,
				  "YAML: unit larger than %zu bytes",
				  c->max_record);
			goto out;
		}
	}
	*rec = (struct pt_rfc822_record){ c->file, root->line, line_end, p.v.n,
					  f };
out:
	pairs_release(&p);
	return rc;
}

static pcre2_code *compile(const char *re)
{
	int err;
	PCRE2_SIZE off;

	return pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &err,
			     &off, NULL);
}

static int parse_stream(struct yctx *c, struct recvec *out, size_t max_records)
{
	yaml_event_t ev;
	int rc;

	for (;;) {
		struct ynode *root = NULL;
		struct pt_rfc822_record rec;
		unsigned end_line;

		if ((rc = next_event(c, &ev)) < 0)
			return rc;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue; /* STREAM_START */
		}
		yaml_event_delete(&ev);
		if ((rc = next_event(c, &ev)) < 0)
			return rc;
		rc = build(c, &ev, 0, &root);
		yaml_event_delete(&ev);
		if (rc < 0)
			return rc;
		if ((rc = next_event(c, &ev)) < 0)
			return rc;
		end_line = (unsigned)ev.start_mark.line;
		yaml_event_delete(&ev);
		if (out->v.n >= max_records)
			return fail(c, root->line,
				    "YAML: more than %zu units in the file",
				    max_records);
		rc = make_record(c, root, end_line ? end_line : root->line,
				 &rec);
		if (rc < 0)
			return rc;
		if (pt_vec_push(&out->v, rec) < 0)
			return nomem(c);
		/* anchors are per document */
		pt__map_release(&c->anchors);
		c->anchors = (struct pt_map)PT_MAP_INIT;
	}
}

int pt__yaml_records(struct pt_units *u, const char *text, size_t len,
		     const char *file, const struct pt_rfc822_limits *lim,
		     struct pt_diags *d, const struct pt_rfc822_record **ret,
		     size_t *ret_n)
{
	struct yctx c = { 0 };
	struct recvec recs = { PT_VEC_INIT };
	size_t max_records = lim && lim->max_records ? lim->max_records
						     : PT_RFC822_MAX_RECORDS;
	int rc;

	c.u = u;
	/* records outlive the caller's path string */
	c.file = pt__units_intern(u, file, strlen(file));
	if (!c.file)
		return -ENOMEM;
	c.d = d;
	c.anchors = (struct pt_map)PT_MAP_INIT;
	c.max_record =
		lim && lim->max_record ? lim->max_record : PT_RFC822_MAX_RECORD;
	c.tmp = (struct pt_arena)PT_ARENA_INIT;
	pt__buf_init(&c.err);
	c.re_int = compile("^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9]"
			   "[0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*"
			   "(?::[0-5]?[0-9])+)$");
	c.re_float = compile("^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+]"
			     "[0-9]+)?|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|"
			     "[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|"
			     "[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$");
	c.md = c.re_int ? pcre2_match_data_create_from_pattern(c.re_int, NULL)
			: NULL;
	if (!c.re_int || !c.re_float || !c.md ||
	    !yaml_parser_initialize(&c.parser)) {
		rc = -ENOMEM;
		goto out;
	}
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)text,
				     len);
	yaml_parser_set_encoding(&c.parser, YAML_UTF8_ENCODING);
	rc = parse_stream(&c, &recs, max_records);
	yaml_parser_delete(&c.parser);
	if (c.oom) {
		rc = -ENOMEM;
	} else if (c.failed) {
		rc = d ? pt__diags_add(d, PT_SEV_ERROR, PT_EPARSE, file,
				       c.err_line, NULL, "%s (file skipped)",
				       c.err.s)
		       : 0;
		rc = rc < 0 ? rc : PT_EPARSE;
	} else if (rc == 0) {
		/* An empty stream has no records (and a NULL vector):
		 * one zeroed slot keeps the pointer valid. */
		struct pt_rfc822_record *v =
			recs.v.n
				? pt__arena_memdup(&u->arena, recs.v.v,
						   recs.v.n * sizeof(*recs.v.v))
				: pt__arena_zalloc(&u->arena, sizeof(*v));

		if (!v) {
			rc = -ENOMEM;
		} else {
			*ret = v;
			*ret_n = recs.v.n;
		}
	}
out:
	pt_vec_release(&recs.v);
	pt__map_release(&c.anchors);
	pt__arena_release(&c.tmp);
	pt__buf_release(&c.err);
	pcre2_match_data_free(c.md);
	pcre2_code_free(c.re_int);
	pcre2_code_free(c.re_float);
	return rc;
}
