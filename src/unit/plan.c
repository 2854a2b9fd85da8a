/*
 * unit/plan.c - test plans (docs/plainbox.md §2.6): the include-line
 * grammar, qualifiers, select_units' vote order, nested parts and the
 * field overrides.
 */
#include "base/common.h"
#include "base/diag.h"
#include "base/str.h"
#include "unit/internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define MAX_NESTING 64

/* Characters that make a pattern a regular expression (sre_parse). */
static bool is_meta(int c)
{
	return c && strchr(".^$*+?{}[]\\|()", c) != NULL;
}

static const char *strip_comment_dup(struct pt_units *u, const char *line,
				     size_t n, size_t *ret_len)
{
	const char *h = memchr(line, '#', n);
	struct pt_slice s;

	if (h)
		n = (size_t)(h - line);
	s = pt__slice_strip(pt__slice(line, n));
	*ret_len = s.len;
	return s.p;
	(void)u;
}

/* '^' + qualify(text) + '$' as upstream's qualify_pattern. */
static const char *anchored(struct pt_units *u, const char *ns,
			    const char *text, size_t n)
{
	struct pt_buf b = PT_BUF_INIT;
	const char *q, *r;

	if (n && text[0] == '^')
		text++, n--;
	if (n && text[n - 1] == '$')
		n--;
	q = pt__units_intern(u, text, n);
	q = q ? pt_units_qualify(u, ns, q) : NULL;
	if (!q)
		return NULL;
	if (pt__buf_addf(&b, "^%s$", q) < 0) {
		pt__buf_release(&b);
		return NULL;
	}
	r = pt__arena_strndup(&u->arena, b.s, b.len);
	pt__buf_release(&b);
	return r;
}

static int parse_include(struct pt_units *u, const char *line, size_t len,
			 const char *ns, struct pt_include_line *ret,
			 const char **ret_error)
{
	struct pt_plan_override ov[16];
	struct pt_plan_override *v;
	size_t n, no = 0, i = 0, pb;
	const char *s = strip_comment_dup(u, line, len, &n);
	bool regex = false;

	memset(ret, 0, sizeof(*ret));
	if (!n)
		return 0;
	while (i < n && !pt__py_space((unsigned char)s[i]))
		i++;
	pb = i;
	for (size_t k = 0; k < pb; k++)
		if (is_meta((unsigned char)s[k]))
			regex = true;
	/* field=value[, field=value]* */
	while (i < n) {
		size_t fb, fe, vb, ve;
		char *field;

		while (i < n && (pt__py_space((unsigned char)s[i]) || s[i] == ','))
			i++;
		if (i >= n)
			break;
		fb = i;
		while (i < n && s[i] != '=' && s[i] != ',' &&
		       !pt__py_space((unsigned char)s[i]))
			i++;
		fe = i;
		if (i >= n || s[i] != '=' || fe == fb) {
			*ret_error = "expected field=value after the pattern";
			return PT_EPARSE;
		}
		vb = ++i;
		while (i < n && s[i] != ',' && !pt__py_space((unsigned char)s[i]))
			i++;
		ve = i;
		if (ve == vb) {
			*ret_error = "empty value in field=value";
			return PT_EPARSE;
		}
		if (no == PT_ARRAY_SIZE(ov)) {
			*ret_error = "too many overrides on one line";
			return PT_EPARSE;
		}
		field = pt__arena_strndup(&u->arena, s + fb, fe - fb);
		if (!field)
			return -ENOMEM;
		for (char *c = field; *c; c++)
			if (*c == '-')
				*c = '_';
		if (strcmp(field, "category_id") &&
		    strcmp(field, "certification_status") &&
		    strcmp(field, "auto_retry")) {
			*ret_error = "only category_id, certification_status "
				     "and auto_retry can be overridden";
			return PT_EPARSE;
		}
		ov[no].field = field;
		ov[no].value = pt__arena_strndup(&u->arena, s + vb, ve - vb);
		if (!ov[no].value)
			return -ENOMEM;
		no++;
	}
	if (regex) {
		ret->pattern = anchored(u, ns, s, pb);
	} else {
		const char *id = pt__units_intern(u, s, pb);
		ret->pattern = id ? pt_units_qualify(u, ns, id) : NULL;
	}
	if (!ret->pattern)
		return -ENOMEM;
	ret->is_regex = regex;
	if (no) {
		/* Inline overrides apply to ^qualified-text$ (upstream). */
		const char *pat = anchored(u, ns, s, pb);
		v = pt__arena_alloc(&u->arena, no * sizeof(*v));
		if (!v || !pat)
			return -ENOMEM;
		for (size_t k = 0; k < no; k++) {
			v[k] = ov[k];
			v[k].pattern = pat;
		}
		ret->overrides = v;
		ret->n_overrides = no;
	}
	return 1;
}

int pt_include_parse(struct pt_units *u, const char *line, const char *ns,
		     struct pt_include_line *ret, const char **ret_error)
{
	struct pt_include_line tmp;
	const char *err = NULL;
	int rc;

	if (!u || !line || !ret)
		return -EINVAL;
	rc = parse_include(u, line, strlen(line), ns, &tmp, &err);
	if (rc == PT_EPARSE && ret_error)
		*ret_error = err;
	if (rc >= 0)
		*ret = tmp;
	return rc;
}

/* ------------------------------------------------------------------ */

/* A qualifier: fixed id or compiled regex; inclusive or exclusive. */
struct qual {
	const char *id;      /* fixed */
	pcre2_code *re;      /* regex */
	const char *pattern; /* its text */
	bool include;
};

struct sel {
	struct pt_units *u;
	struct pt_diags *d;
	const struct pt_job *const *jobs;
	size_t n;
	struct pt_map by_id;       /* id -> index + 1 */
	struct pt_map by_template; /* template_id -> first index + 1 */
	size_t *next_tpl;          /* next index with the same template_id */
	pcre2_match_data *md;
	size_t *by_name;            /* job indexes sorted by id (lazily) */
	PT_VEC(struct qual) quals;  /* desired qualifiers */
	PT_VEC(struct qual) mquals; /* mandatory qualifiers */
	PT_VEC(const char *) boot, setup;
	PT_VEC(struct pt_plan_override) ovs;
	PT_VEC(const struct pt_unit *) stack; /* nesting, for cycles */
};

static int plan_diag(struct sel *s, const struct pt_unit *plan,
		     const char *field, unsigned off, const char *fmt, ...)
	PT_PRINTF(5, 6);

static int plan_diag(struct sel *s, const struct pt_unit *plan,
		     const char *field, unsigned off, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (!s->d)
		return 0;
	va_start(ap, fmt);
	r = pt__diags_vadd(s->d, PT_SEV_ERROR, PT_EPARSE, plan->file,
			   pt_unit_field_line(plan, field) + off, field, fmt,
			   ap);
	va_end(ap);
	return r;
}

static int compile(struct sel *s, const struct pt_unit *plan,
		   const char *field, unsigned off, const char *pattern,
		   pcre2_code **ret)
{
	int err;
	PCRE2_SIZE at;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF, &err, &at, NULL);

	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof(msg));
		*ret = NULL;
		return plan_diag(s, plan, field, off,
				 "field '%s', bad pattern '%s' at offset %zu: %s",
				 field, pattern, (size_t)at, (char *)msg);
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	*ret = re;
	return 1;
}

/* Lines of an include-like field into qualifiers (+ inline overrides). */
static int add_include_field(struct sel *s, const struct pt_unit *plan,
			     const char *field, bool include, bool mandatory)
{
	const char *text = pt_unit_value(plan, field);
	unsigned off = 0;
	int rc;

	for (const char *p = text; p && *p; off++) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		struct pt_include_line il;
		const char *err = NULL;
		struct qual q = { .include = include };

		rc = parse_include(s->u, p, len, plan->ns, &il, &err);
		p = e ? e + 1 : p + len;
		if (rc == PT_EPARSE) {
			rc = plan_diag(s, plan, field, off, "field '%s', %s",
				       field, err);
			if (rc < 0)
				return rc;
			continue;
		}
		if (rc <= 0) {
			if (rc < 0)
				return rc;
			continue;
		}
		if (il.is_regex) {
			q.pattern = il.pattern;
			rc = compile(s, plan, field, off, il.pattern, &q.re);
			if (rc < 0)
				return rc;
			if (!q.re)
				continue;
		} else {
			q.id = il.pattern;
		}
		if ((mandatory ? pt_vec_push(&s->mquals, q)
			       : pt_vec_push(&s->quals, q)) < 0) {
			pcre2_code_free(q.re);
			return -ENOMEM;
		}
		for (size_t k = 0; include && !mandatory && k < il.n_overrides;
		     k++)
			if (pt_vec_push(&s->ovs, il.overrides[k]) < 0)
				return -ENOMEM;
	}
	return 0;
}

/* "apply VALUE to PATTERN" lines. */
static int add_override_field(struct sel *s, const struct pt_unit *plan,
			      const char *f1, const char *f2,
			      const char *target)
{
	const char *field = pt_unit_value(plan, f1) ? f1 : f2;
	const char *text = pt_unit_value(plan, field);
	unsigned off = 0;

	for (const char *p = text; p && *p; off++) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p), n;
		const char *l = strip_comment_dup(s->u, p, len, &n);
		char w[4][512];
		int nw = 0;
		struct pt_plan_override o;

		p = e ? e + 1 : p + len;
		if (!n)
			continue;
		for (size_t i = 0; i < n && nw < 5;) {
			size_t b;
			while (i < n && pt__py_space((unsigned char)l[i]))
				i++;
			if (i >= n)
				break;
			b = i;
			while (i < n && !pt__py_space((unsigned char)l[i]))
				i++;
			if (nw < 4)
				snprintf(w[nw], sizeof(w[0]), "%.*s",
					 (int)(i - b), l + b);
			nw++;
		}
		if (nw != 4 || strcmp(w[0], "apply") || strcmp(w[2], "to")) {
			int rc = plan_diag(s, plan, field, off,
					   "field '%s', expected 'apply VALUE "
					   "to PATTERN'",
					   field);
			if (rc < 0)
				return rc;
			continue;
		}
		o.field = target;
		o.value = strcmp(target, "category_id") == 0
				  ? pt_units_qualify(s->u, plan->ns, w[1])
				  : pt__arena_strdup(&s->u->arena, w[1]);
		o.pattern = anchored(s->u, plan->ns, w[3], strlen(w[3]));
		if (!o.value || !o.pattern || pt_vec_push(&s->ovs, o) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* A WordList field of job ids, qualified, appended to v (no dups). */
static int add_id_field(struct sel *s, const struct pt_unit *plan,
			const char *field, void *vec)
{
	PT_VEC(const char *) *v = vec;
	struct pt_strlist l;
	int rc = pt__wordlist(s->u, pt_unit_value(plan, field), plan->ns, true,
			      &l);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++) {
		bool dup = false;
		for (size_t k = 0; k < v->n && !dup; k++)
			dup = strcmp(v->v[k], l.v[i]) == 0;
		if (!dup && pt_vec_push(v, l.v[i]) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int cmp_override(const void *a, const void *b)
{
	const struct pt_plan_override *x = a, *y = b;
	int c = strcmp(x->pattern, y->pattern);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static int add_plan(struct sel *s, const struct pt_unit *plan)
{
	size_t ov0 = s->ovs.n, b0 = s->boot.n;
	struct pt_strlist nested;
	int rc;

	for (size_t i = 0; i < s->stack.n; i++)
		if (s->stack.v[i] == plan)
			return plan_diag(s, plan, "nested_part", 0,
					 "test plan '%s' includes itself "
					 "through nested_part",
					 plan->id);
	if (s->stack.n >= MAX_NESTING)
		return plan_diag(s, plan, "nested_part", 0,
				 "nested_part deeper than %d", MAX_NESTING);
	if (pt_vec_push(&s->stack, plan) < 0)
		return -ENOMEM;
	if ((rc = add_include_field(s, plan, "include", true, false)) < 0 ||
	    (rc = add_include_field(s, plan, "exclude", false, false)) < 0 ||
	    (rc = add_include_field(s, plan, "mandatory_include", true,
				    true)) < 0 ||
	    (rc = add_override_field(s, plan, "category_overrides",
				     "category-overrides", "category_id")) <
		    0 ||
	    (rc = add_override_field(s, plan, "certification_status_overrides",
				     "certification-status-overrides",
				     "certification_status")) < 0 ||
	    (rc = add_id_field(s, plan, "bootstrap_include", &s->boot)) < 0 ||
	    (rc = add_id_field(s, plan, "setup_include", &s->setup)) < 0)
		return rc;
	/* Bootstrap jobs are not desired (upstream: excluding qualifier). */
	for (size_t i = b0; i < s->boot.n; i++) {
		struct qual q = { .id = s->boot.v[i], .include = false };
		if (pt_vec_push(&s->quals, q) < 0)
			return -ENOMEM;
	}
	/* This plan's overrides sorted by pattern, as TestPlanUnitSupport. */
	if (s->ovs.n > ov0)
		qsort(s->ovs.v + ov0, s->ovs.n - ov0, sizeof(*s->ovs.v),
		      cmp_override);
	if ((rc = pt__wordlist(s->u, pt_unit_value(plan, "nested_part"),
			       plan->ns, true, &nested)) < 0)
		return rc;
	for (size_t i = 0; i < nested.n; i++) {
		const struct pt_unit *np =
			pt_units_find(s->u, PT_UNIT_TEST_PLAN, nested.v[i]);
		if (!np) {
			rc = plan_diag(s, plan, "nested_part", 0,
				       "field 'nested_part', unknown test plan "
				       "'%s'",
				       nested.v[i]);
			if (rc < 0)
				return rc;
			continue;
		}
		/* Nested parts select and are mandatory as upstream. */
		if ((rc = add_plan(s, np)) < 0)
			return rc;
	}
	s->stack.n--;
	return 0;
}

/* Calls fn for every job index that q matches, in job order. */
static bool matches(struct sel *s, const struct qual *q, size_t i)
{
	const struct pt_job *j = s->jobs[i];

	if (q->id)
		return strcmp(j->id, q->id) == 0 ||
		       (j->template_id && strcmp(j->template_id, q->id) == 0);
	return pcre2_match(q->re, (PCRE2_SPTR)j->id, PCRE2_ZERO_TERMINATED, 0,
			   0, s->md, NULL) >= 0;
}

/*
 * The literal prefix every match of an anchored pattern "^...$" starts
 * with (conservative: stops at the first special character, drops a
 * character that a quantifier may remove; none with '|').
 */
static size_t literal_prefix(const char *re)
{
	size_t n = 0;

	if (re[0] != '^' || strchr(re, '|'))
		return 0;
	re++;
	while (re[n] && !is_meta((unsigned char)re[n]))
		n++;
	if (n && (re[n] == '*' || re[n] == '?' || re[n] == '{'))
		n--;
	return n;
}

struct id_idx {
	const char *id;
	size_t idx;
};

static int cmp_by_id(const void *a, const void *b)
{
	return strcmp(((const struct id_idx *)a)->id,
		      ((const struct id_idx *)b)->id);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return (x > y) - (x < y);
}

/* Matching job indexes of q, ascending, into out (returns count). */
static size_t match_all(struct sel *s, const struct qual *q, size_t *out)
{
	size_t k = 0;

	if (q->id) {
		void *v;
		size_t a = SIZE_MAX;
		if (pt__map_find(&s->by_id, q->id, strlen(q->id), &v))
			a = (size_t)(uintptr_t)v - 1;
		if (pt__map_find(&s->by_template, q->id, strlen(q->id), &v)) {
			for (size_t t = (size_t)(uintptr_t)v - 1; t != SIZE_MAX;
			     t = s->next_tpl[t]) {
				if (a != SIZE_MAX && a < t) {
					out[k++] = a;
					a = SIZE_MAX;
				}
				if (t != a)
					out[k++] = t;
			}
		}
		if (a != SIZE_MAX)
			out[k++] = a;
		return k;
	}
	{
		const char *pat = q->pattern;
		size_t plen, lo = 0, hi;

		plen = pat ? literal_prefix(pat) : 0;
		if (!plen || !s->by_name) {
			for (size_t i = 0; i < s->n; i++)
				if (matches(s, q, i))
					out[k++] = i;
			return k;
		}
		/* Binary search the ids that start with the prefix. */
		hi = s->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strncmp(s->jobs[s->by_name[mid]]->id, pat + 1,
				    plen) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < s->n &&
		       strncmp(s->jobs[s->by_name[lo]]->id, pat + 1, plen) == 0;
		     lo++)
			if (matches(s, q, s->by_name[lo]))
				out[k++] = s->by_name[lo];
		qsort(out, k, sizeof(*out), cmp_size);
		return k;
	}
}

/* select_units: first including qualifier, then job order; excludes win. */
static int select_ids(struct sel *s, const struct qual *q, size_t nq,
		      struct pt_units *u, struct pt_strlist *ret)
{
	unsigned char *mark = pt__calloc(s->n ? s->n : 1, 1);
	size_t *idx = pt__malloc_array(s->n ? s->n : 1, sizeof(size_t));
	PT_VEC(size_t) order = PT_VEC_INIT;
	const char **v;
	size_t nv = 0;
	int rc = -ENOMEM;

	if (!mark || !idx)
		goto out;
	for (size_t k = 0; k < nq; k++) {
		size_t m;
		if (q[k].include)
			continue;
		m = match_all(s, &q[k], idx);
		for (size_t i = 0; i < m; i++)
			mark[idx[i]] = 2; /* excluded */
	}
	for (size_t k = 0; k < nq; k++) {
		size_t m;
		if (!q[k].include)
			continue;
		m = match_all(s, &q[k], idx);
		for (size_t i = 0; i < m; i++) {
			if (mark[idx[i]])
				continue;
			mark[idx[i]] = 1;
			if (pt_vec_push(&order, idx[i]) < 0)
				goto out;
		}
	}
	v = pt__arena_alloc(&u->arena, (order.n ? order.n : 1) * sizeof(*v));
	if (!v)
		goto out;
	pt_vec_foreach(&order, i) v[nv++] = s->jobs[order.v[i]]->id;
	ret->n = nv;
	ret->v = v;
	rc = 0;
out:
	pt__free(mark);
	pt__free(idx);
	pt_vec_release(&order);
	return rc;
}

/* Only ids of jobs that exist, in the written order. */
static int existing(struct sel *s, const char *const *ids, size_t n,
		    struct pt_strlist *ret)
{
	const char **v = pt__arena_alloc(&s->u->arena,
					 (n ? n : 1) * sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (pt__map_find(&s->by_id, ids[i], strlen(ids[i]), NULL))
			v[k++] = ids[i];
	ret->n = k;
	ret->v = v;
	return 0;
}

struct plan_sel {
	struct pt_plan_selection pub;
	pcre2_code **res; /* compiled override patterns, parallel */
	pcre2_match_data *md;
	/* Overrides whose pattern is a plain id: id -> last index + 1, and
	 * the previous index with the same id (SIZE_MAX ends). */
	struct pt_map lit;
	size_t *lit_prev;
	size_t *regex;   /* indexes of the other overrides */
	size_t nregex;
};

/*
 * The id a "^...$" override pattern stands for when its only special
 * characters are dots (as in "^com.canonical.certification::x$"): it is
 * then matched as that exact id (docs/unit.md: a dot there matches only
 * a dot), which turns the per-job override lookup into a hash lookup.
 */
static bool literal_body(const char *pat, const char **ret, size_t *ret_len)
{
	size_t n = strlen(pat);

	if (n < 2 || pat[0] != '^' || pat[n - 1] != '$')
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (pat[i] != '.' && is_meta((unsigned char)pat[i]))
			return false;
	*ret = pat + 1;
	*ret_len = n - 2;
	return true;
}

static void sel_release(struct sel *s)
{
	pt_vec_foreach(&s->quals, i) pcre2_code_free(s->quals.v[i].re);
	pt_vec_foreach(&s->mquals, i) pcre2_code_free(s->mquals.v[i].re);
	pt_vec_release(&s->quals);
	pt_vec_release(&s->mquals);
	pt_vec_release(&s->boot);
	pt_vec_release(&s->setup);
	pt_vec_release(&s->ovs);
	pt_vec_release(&s->stack);
	pt__map_release(&s->by_id);
	pt__map_release(&s->by_template);
	pt__free(s->next_tpl);
	pt__free(s->by_name);
	pcre2_match_data_free(s->md);
}

int pt_plan_select(const struct pt_units *cu, const char *plan_id,
		   const struct pt_job *const *jobs, size_t n,
		   struct pt_diags *diags, struct pt_plan_selection **ret)
{
	/* Selection only adds interned strings to the units' arena. */
	struct pt_units *u = (struct pt_units *)(uintptr_t)cu;
	const struct pt_unit *plan;
	struct sel s;
	struct plan_sel *ps = NULL;
	size_t *last = NULL;
	int rc = -ENOMEM;

	if (!u || !plan_id || !ret)
		return -EINVAL;
	plan = pt_units_find(u, PT_UNIT_TEST_PLAN, plan_id);
	if (!plan)
		return PT_ENOTFOUND;
	memset(&s, 0, sizeof(s));
	s.u = u;
	s.d = diags;
	if (!jobs) {
		jobs = (const struct pt_job *const *)u->jobs.v;
		n = u->jobs.n;
	}
	s.jobs = jobs;
	s.n = n;
	s.md = pcre2_match_data_create(4, NULL);
	s.next_tpl = pt__malloc_array(n ? n : 1, sizeof(size_t));
	last = pt__malloc_array(n ? n : 1, sizeof(size_t));
	if (!s.md || !s.next_tpl || !last ||
	    pt__map_reserve(&s.by_id, n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct pt_job *j = jobs[i];
		void *v;

		s.next_tpl[i] = SIZE_MAX;
		if (pt__map_put(&s.by_id, j->id, strlen(j->id),
				(void *)(uintptr_t)(i + 1), NULL) < 0)
			goto out;
		if (!j->template_id)
			continue;
		if (pt__map_find(&s.by_template, j->template_id,
				 strlen(j->template_id), &v)) {
			size_t first = (size_t)(uintptr_t)v - 1;
			s.next_tpl[last[first]] = i;
			last[first] = i;
		} else {
			if (pt__map_put(&s.by_template, j->template_id,
					strlen(j->template_id),
					(void *)(uintptr_t)(i + 1), NULL) < 0)
				goto out;
			last[i] = i;
		}
	}
	if ((rc = add_plan(&s, plan)) < 0)
		goto out;
	rc = -ENOMEM;
	/* Ids in sorted order, for regexes with a literal prefix. */
	{
		struct id_idx *v = pt__malloc_array(n ? n : 1, sizeof(*v));
		s.by_name = pt__malloc_array(n ? n : 1, sizeof(size_t));
		if (!v || !s.by_name) {
			pt__free(v);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			v[i] = (struct id_idx){ jobs[i]->id, i };
		qsort(v, n, sizeof(*v), cmp_by_id);
		for (size_t i = 0; i < n; i++)
			s.by_name[i] = v[i].idx;
		pt__free(v);
	}
	ps = pt__calloc(1, sizeof(*ps));
	if (!ps)
		goto out;
	if (select_ids(&s, s.quals.v, s.quals.n, u, &ps->pub.desired) < 0 ||
	    select_ids(&s, s.mquals.v, s.mquals.n, u, &ps->pub.mandatory) < 0 ||
	    existing(&s, s.boot.v, s.boot.n, &ps->pub.bootstrap) < 0 ||
	    existing(&s, s.setup.v, s.setup.n, &ps->pub.setup) < 0)
		goto out;
	ps->md = s.md;
	s.md = NULL;
	if (s.ovs.n) {
		struct pt_plan_override *o =
			pt__arena_alloc(&u->arena, s.ovs.n * sizeof(*o));
		ps->res = pt__calloc(s.ovs.n, sizeof(*ps->res));
		if (!o || !ps->res)
			goto out;
		memcpy(o, s.ovs.v, s.ovs.n * sizeof(*o));
		ps->pub.overrides = o;
		ps->pub.n_overrides = s.ovs.n;
		ps->lit_prev = pt__malloc_array(s.ovs.n, sizeof(size_t));
		ps->regex = pt__malloc_array(s.ovs.n, sizeof(size_t));
		if (!ps->lit_prev || !ps->regex)
			goto out;
		for (size_t i = 0; i < s.ovs.n; i++) {
			int err;
			PCRE2_SIZE at;
			const char *lid;
			size_t llen;
			void *prev;

			if (literal_body(o[i].pattern, &lid, &llen)) {
				ps->lit_prev[i] =
					pt__map_find(&ps->lit, lid, llen, &prev)
						? (size_t)(uintptr_t)prev - 1
						: SIZE_MAX;
				if (pt__map_put(&ps->lit, lid, llen,
						(void *)(uintptr_t)(i + 1),
						NULL) < 0)
					goto out;
				continue;
			}
			ps->regex[ps->nregex++] = i;
			ps->res[i] = pcre2_compile((PCRE2_SPTR)o[i].pattern,
						   PCRE2_ZERO_TERMINATED,
						   PCRE2_UTF, &err, &at, NULL);
			if (!ps->res[i] && diags &&
			    pt__diags_add(diags, PT_SEV_ERROR, PT_EPARSE,
					  plan->file, plan->line, NULL,
					  "bad override pattern '%s'",
					  o[i].pattern) < 0)
				goto out;
		}
	}
	*ret = &ps->pub;
	ps = NULL;
	rc = 0;
out:
	if (ps)
		pt_plan_selection_free(&ps->pub);
	pt__free(last);
	sel_release(&s);
	return rc;
}

struct pt_plan_selection *pt_plan_selection_free(struct pt_plan_selection *p)
{
	struct plan_sel *ps = (struct plan_sel *)p;

	if (!ps)
		return NULL;
	for (size_t i = 0; ps->res && i < ps->pub.n_overrides; i++)
		pcre2_code_free(ps->res[i]);
	pt__free(ps->res);
	pt__map_release(&ps->lit);
	pt__free(ps->lit_prev);
	pt__free(ps->regex);
	pcre2_match_data_free(ps->md);
	pt__free(ps);
	return NULL;
}

static bool re_match(struct plan_sel *ps, size_t i, const char *s)
{
	return s && ps->res[i] &&
	       pcre2_match(ps->res[i], (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0,
			   0, ps->md, NULL) >= 0;
}

const char *pt_plan_effective(const struct pt_plan_selection *p,
			      const struct pt_job *job, const char *field)
{
	struct plan_sel *ps = (struct plan_sel *)(uintptr_t)p;
	const char *v;

	if (!job || !field)
		return NULL;
	if (strcmp(field, "category_id") == 0)
		v = job->category_id;
	else if (strcmp(field, "certification_status") == 0)
		v = job->certification_status;
	else if (strcmp(field, "auto_retry") == 0)
		v = job->auto_retry;
	else
		return NULL;
	/* Later overrides win: find the last one that applies. */
	{
		size_t best = SIZE_MAX;
		const char *keys[2] = { job->id, job->template_id };

		if (!ps || !ps->pub.n_overrides)
			return v;
		for (int k = 0; k < 2; k++) {
			void *head;
			if (!keys[k] || !pt__map_find(&ps->lit, keys[k],
						      strlen(keys[k]), &head))
				continue;
			for (size_t i = (size_t)(uintptr_t)head - 1;
			     i != SIZE_MAX; i = ps->lit_prev[i])
				if (strcmp(ps->pub.overrides[i].field, field) ==
				    0) {
					if (best == SIZE_MAX || i > best)
						best = i;
					break;
				}
		}
		for (size_t r = ps->nregex; r-- > 0;) {
			size_t i = ps->regex[r];
			if (best != SIZE_MAX && i < best)
				break;
			if (strcmp(ps->pub.overrides[i].field, field) == 0 &&
			    (re_match(ps, i, job->id) ||
			     re_match(ps, i, job->template_id))) {
				best = i;
				break;
			}
		}
		if (best != SIZE_MAX)
			v = ps->pub.overrides[best].value;
	}
	return v;
}

const struct pt_unit *pt_units_find_plan(const struct pt_units *u,
					 const char *id)
{
	const struct pt_unit *found;

	if (!u || !id)
		return NULL;
	found = pt_units_find(u, PT_UNIT_TEST_PLAN, id);
	if (found || strstr(id, "::"))
		return found;
	for (size_t i = 0; i < u->units.n; i++) {
		const struct pt_unit *x = u->units.v[i];

		if (x->type != PT_UNIT_TEST_PLAN || !x->partial_id ||
		    strcmp(x->partial_id, id) || x == found)
			continue;
		if (found && strcmp(found->id, x->id))
			return NULL; /* ambiguous */
		found = x;
	}
	return found;
}
