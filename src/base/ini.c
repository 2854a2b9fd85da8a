/*
 * base/ini.c - INI files with Python configparser's rules (ini.h): what
 * Checkbox launchers and .provider files are read with (ConfigParser,
 * delimiters "=", keys case-sensitive, strict, basic interpolation).
 */
#include "base/ini.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "base/map.h"
#include "base/vec.h"

/* Python's MAX_INTERPOLATION_DEPTH. */
#define MAX_DEPTH 10

struct raw {
	const char *section;
	const char *key;
	struct pt_buf value; /* lines joined with '\n' */
	unsigned line;
	size_t blank; /* blank lines seen since the last text line */
};

struct pt__ini {
	struct pt_arena arena;
	PT_VEC(struct pt__ini_entry) e;
	struct pt_map by_key; /* "section\0key" -> entry index + 1 */
};

struct parser {
	const char *file;
	struct pt_diags *d;
	struct pt__ini *ini;
	PT_VEC(struct raw) raw;
	size_t max_entries, max_value;
	int err; /* first error: PT_EPARSE, PT_ETOOBIG or -ENOMEM */
};

static void problem(struct parser *p, int code, unsigned line,
		    const char *field, const char *fmt, ...) PT_PRINTF(5, 6);

static void problem(struct parser *p, int code, unsigned line,
		    const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!p->err || p->err == PT_EPARSE)
		p->err = code;
	if (!p->d)
		return;
	va_start(ap, fmt);
	if (pt__diags_vadd(p->d, PT_SEV_ERROR, code, p->file, line, field, fmt,
			   ap) < 0)
		p->err = -ENOMEM;
	va_end(ap);
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r';
}

/* "section\0key" in the arena; the map key covers both parts. */
static const char *dup_key(struct pt__ini *ini, const char *section,
			   const char *key, size_t *ret_len)
{
	size_t ls = strlen(section), lk = key ? strlen(key) : 0;
	char *s = pt__arena_alloc(&ini->arena, ls + lk + 2);

	if (!s)
		return NULL;
	memcpy(s, section, ls + 1);
	if (key)
		memcpy(s + ls + 1, key, lk + 1);
	else
		s[ls + 1] = '\0';
	*ret_len = ls + 1 + (key ? lk : 0) + (key ? 0 : 1);
	return s;
}

static struct raw *current(struct parser *p)
{
	return p->raw.n ? &p->raw.v[p->raw.n - 1] : NULL;
}

static int add_raw(struct parser *p, const char *section, const char *key,
		   unsigned line)
{
	struct raw r = { .section = section, .key = key, .line = line };
	const char *mk;
	size_t ml;
	void *old;

	if (p->raw.n >= p->max_entries) {
		problem(p, PT_ETOOBIG, line, NULL,
			"more than %zu sections and keys", p->max_entries);
		return PT_ETOOBIG;
	}
	mk = dup_key(p->ini, section, key, &ml);
	if (!mk)
		return -ENOMEM;
	if (pt__map_find(&p->ini->by_key, mk, ml, &old)) {
		const struct raw *o = &p->raw.v[(uintptr_t)old - 1];
		if (key)
			problem(p, PT_EPARSE, line, key,
				"key '%s' of section [%s] is repeated (first "
				"at line %u)",
				key, section, o->line);
		else
			problem(p, PT_EPARSE, line, NULL,
				"section [%s] is repeated (first at line %u)",
				section, o->line);
		return 0;
	}
	r.value = (struct pt_buf)PT_BUF_INIT;
	if (pt_vec_push(&p->raw, r) < 0 ||
	    pt__map_put(&p->ini->by_key, mk, ml, (void *)(uintptr_t)p->raw.n,
			NULL) < 0)
		return -ENOMEM;
	return 1;
}

/* Reads the lines; builds raw entries. */
static int read_lines(struct parser *p, const char *text, size_t len)
{
	const char *section = NULL;
	size_t indent_level = SIZE_MAX;
	bool have_opt = false;
	unsigned lineno = 0;

	for (size_t pos = 0; pos < len;) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - l) : len - pos, b = 0, e = ll;
		struct raw *cur;
		int rc;

		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (memchr(l, '\0', ll)) {
			problem(p, PT_EPARSE, lineno, NULL,
				"NUL byte in the line");
			continue;
		}
		while (b < ll && is_blank(l[b]))
			b++;
		while (e > b && is_blank(l[e - 1]))
			e--;
		if (b < e && (l[b] == '#' || l[b] == ';'))
			continue; /* a comment, even inside a value */
		cur = have_opt ? current(p) : NULL;
		if (b == e) {
			if (cur)
				cur->blank++;
			continue;
		}
		if (cur && b > indent_level) {
			/* continuation of the current key's value */
			for (; cur->blank; cur->blank--)
				if (pt__buf_addch(&cur->value, '\n') < 0)
					return -ENOMEM;
			if (pt__buf_addch(&cur->value, '\n') < 0 ||
			    pt__buf_add(&cur->value, l + b, e - b) < 0)
				return -ENOMEM;
			if (cur->value.len > p->max_value) {
				problem(p, PT_ETOOBIG, lineno, cur->key,
					"value longer than %zu bytes",
					p->max_value);
				return PT_ETOOBIG;
			}
			continue;
		}
		indent_level = b;
		have_opt = false;
		if (l[b] == '[') {
			const char *close = NULL;
			for (size_t k = e; k > b + 1; k--)
				if (l[k - 1] == ']') {
					close = l + k - 1;
					break;
				}
			if (close && close > l + b + 1) {
				section = pt__arena_strndup(
					&p->ini->arena, l + b + 1,
					(size_t)(close - (l + b + 1)));
				if (!section)
					return -ENOMEM;
				rc = add_raw(p, section, NULL, lineno);
				if (rc < 0)
					return rc;
				continue;
			}
		}
		if (!section) {
			problem(p, PT_EPARSE, lineno, NULL,
				"a key before any [section]");
			continue;
		}
		{
			const char *eq = memchr(l + b, '=', e - b);
			size_t ke, vb;
			const char *key;

			if (!eq) {
				problem(p, PT_EPARSE, lineno, NULL,
					"not a [section] nor a 'key = value' "
					"line");
				continue;
			}
			ke = (size_t)(eq - l);
			while (ke > b && is_blank(l[ke - 1]))
				ke--;
			if (ke == b) {
				problem(p, PT_EPARSE, lineno, NULL,
					"'=' without a key");
				continue;
			}
			key = pt__arena_strndup(&p->ini->arena, l + b, ke - b);
			if (!key)
				return -ENOMEM;
			rc = add_raw(p, section, key, lineno);
			if (rc < 0)
				return rc;
			if (rc == 0)
				continue;
			vb = (size_t)(eq - l) + 1;
			while (vb < e && is_blank(l[vb]))
				vb++;
			cur = current(p);
			if (pt__buf_add(&cur->value, l + vb, e - vb) < 0)
				return -ENOMEM;
			if (cur->value.len > p->max_value) {
				problem(p, PT_ETOOBIG, lineno, key,
					"value longer than %zu bytes",
					p->max_value);
				return PT_ETOOBIG;
			}
			have_opt = true;
		}
	}
	return 0;
}

/* Index + 1 of (section, key[0..klen)) in the map, or 0. */
static size_t lookup(const struct pt__ini *ini, const char *section,
		     const char *key, size_t klen)
{
	struct pt_buf k = PT_BUF_INIT;
	void *v = NULL;

	if (pt__buf_add(&k, section, strlen(section) + 1) < 0 ||
	    pt__buf_add(&k, key, klen) < 0 ||
	    !pt__map_find(&ini->by_key, k.s, k.len, &v))
		v = NULL;
	pt__buf_release(&k);
	return (size_t)(uintptr_t)v;
}

static const struct raw *find_raw(const struct parser *p, const char *section,
				  const char *key, size_t klen)
{
	size_t i = lookup(p->ini, section, key, klen);

	return i ? &p->raw.v[i - 1] : NULL;
}

/* Basic interpolation of r's value into out (configparser's rules). */
static int interpolate(struct parser *p, const struct raw *r, const char *s,
		       size_t n, int depth, struct pt_buf *out)
{
	if (depth > MAX_DEPTH) {
		problem(p, PT_EPARSE, r->line, r->key,
			"'%%(...)s' references nest deeper than %d", MAX_DEPTH);
		return PT_EPARSE;
	}
	for (size_t i = 0; i < n; i++) {
		int rc;
		if (s[i] != '%') {
			if (pt__buf_addch(out, s[i]) < 0)
				return -ENOMEM;
		} else if (i + 1 < n && s[i + 1] == '%') {
			if (pt__buf_addch(out, '%') < 0)
				return -ENOMEM;
			i++;
		} else if (i + 1 < n && s[i + 1] == '(') {
			const char *close = memchr(s + i + 2, ')', n - i - 2);
			const struct raw *ref;
			if (!close || (size_t)(close - s) + 1 >= n ||
			    close[1] != 's') {
				problem(p, PT_EPARSE, r->line, r->key,
					"bad '%%(name)s' reference in the "
					"value of '%s'",
					r->key);
				return PT_EPARSE;
			}
			ref = find_raw(p, r->section, s + i + 2,
				       (size_t)(close - (s + i + 2)));
			if (!ref) {
				problem(p, PT_EPARSE, r->line, r->key,
					"'%.*s' referenced in the value of "
					"'%s' is not a key of [%s]",
					(int)(close - (s + i + 2)), s + i + 2,
					r->key, r->section);
				return PT_EPARSE;
			}
			rc = interpolate(p, r, ref->value.s, ref->value.len,
					 depth + 1, out);
			if (rc < 0)
				return rc;
			i = (size_t)(close - s) + 1;
		} else {
			problem(p, PT_EPARSE, r->line, r->key,
				"'%%' must be followed by '%%' or '(name)s' "
				"in the value of '%s' (write '%%%%' for a "
				"'%%')",
				r->key);
			return PT_EPARSE;
		}
		if (out->len > p->max_value) {
			problem(p, PT_ETOOBIG, r->line, r->key,
				"value longer than %zu bytes", p->max_value);
			return PT_ETOOBIG;
		}
	}
	return 0;
}

static int finish(struct parser *p)
{
	struct pt_buf v = PT_BUF_INIT;
	int rc = 0;

	if (pt_vec_reserve(&p->ini->e, p->raw.n) < 0)
		return -ENOMEM;
	pt_vec_foreach(&p->raw, i) {
		const struct raw *r = &p->raw.v[i];
		struct pt__ini_entry e = { r->section, r->key, NULL, r->line };

		if (r->key) {
			pt__buf_reset(&v);
			rc = interpolate(p, r, r->value.s, r->value.len, 0, &v);
			if (rc == -ENOMEM || rc == PT_ETOOBIG)
				break;
			e.value = pt__arena_strndup(&p->ini->arena, v.s, v.len);
			if (!e.value) {
				rc = -ENOMEM;
				break;
			}
			rc = 0;
		}
		p->ini->e.v[p->ini->e.n++] = e;
	}
	pt__buf_release(&v);
	return rc;
}

int pt__ini_parse(const char *text, size_t len, const char *file,
		  const struct pt__ini_limits *lim, struct pt_diags *d,
		  struct pt__ini **ret)
{
	struct parser p = { .file = file, .d = d };
	size_t max_len = lim && lim->max_len ? lim->max_len : PT_INI_MAX_LEN;
	int rc;

	if (!text && len)
		return -EINVAL;
	p.max_entries =
		lim && lim->max_entries ? lim->max_entries : PT_INI_MAX_ENTRIES;
	p.max_value = lim && lim->max_value ? lim->max_value : PT_INI_MAX_VALUE;
	if (len > max_len) {
		problem(&p, PT_ETOOBIG, 0, NULL, "larger than %zu bytes",
			max_len);
		return p.err == -ENOMEM ? -ENOMEM : PT_ETOOBIG;
	}
	p.ini = pt__calloc(1, sizeof(*p.ini));
	if (!p.ini)
		return -ENOMEM;
	rc = read_lines(&p, text, len);
	if (rc == 0 && !p.err)
		rc = finish(&p);
	pt_vec_foreach(&p.raw, i)
		pt__buf_release(&p.raw.v[i].value);
	pt_vec_release(&p.raw);
	if (rc == 0 && p.err)
		rc = p.err;
	if (rc < 0) {
		pt__ini_free(p.ini);
		return rc;
	}
	*ret = p.ini;
	return 0;
}

struct pt__ini *pt__ini_free(struct pt__ini *ini)
{
	if (!ini)
		return NULL;
	pt__map_release(&ini->by_key);
	pt_vec_release(&ini->e);
	pt__arena_release(&ini->arena);
	pt__free(ini);
	return NULL;
}

size_t pt__ini_count(const struct pt__ini *ini)
{
	return ini ? ini->e.n : 0;
}

const struct pt__ini_entry *pt__ini_get(const struct pt__ini *ini, size_t i)
{
	return ini && i < ini->e.n ? &ini->e.v[i] : NULL;
}

const struct pt__ini_entry *pt__ini_find(const struct pt__ini *ini,
					 const char *section, const char *key)
{
	size_t i;

	if (!ini || !section || !key)
		return NULL;
	i = lookup(ini, section, key, strlen(key));
	return i ? &ini->e.v[i - 1] : NULL;
}
