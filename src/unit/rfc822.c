/*
 * unit/rfc822.c - the "pxu" RFC822 grammar of docs/plainbox.md §2.1
 * (upstream secure/rfc822.py::gen_rfc822_records), as an incremental
 * line-by-line state machine that works across arbitrary chunk
 * boundaries. Line terminators are "\n", "\r\n" and "\r" (Python's
 * universal newlines). Records and strings go to one arena per input.
 */
#include "base/common.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/map.h"
#include "base/vec.h"
#include "unit/internal.h"

struct pt_records {
	struct pt_arena arena;
	PT_VEC(struct pt_rfc822_record) v;
	const char *file;
	int err;
	unsigned err_line;
	const char *err_msg;
};

/* A field of the record being built: offsets into rec. */
struct raw_field {
	size_t key_off, key_len;
	size_t val_off, val_len;
	unsigned line;
};

struct pt_rfc822_parser {
	struct pt_records *r;
	struct pt_rfc822_limits lim;
	struct pt_buf line; /* a line split across chunks */
	struct pt_buf rec;  /* keys and raw values of the current record */
	PT_VEC(struct raw_field) flds;
	struct pt_map keys; /* interned keys (in the records' arena) */
	bool have_key;      /* the last field takes continuation lines */
	bool cr;            /* last chunk ended in '\r' */
	bool done;
	unsigned lineno;
	unsigned line_start, line_end;
	int err;
};

/* Python's str.isspace() on ASCII: includes \x1c-\x1f. */
bool pt__py_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!pt__py_space((unsigned char)s[i]))
			return false;
	return true;
}

/* Length of the [ \t]* prefix of s[0..n). */
static size_t indent_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/*
 * normalize_rfc822_value: for values with more than one '\n', lone-dot
 * lines lose their dot and textwrap.dedent applies; then strip(). Writes
 * into out (room for n + 1 bytes) and returns the length.
 */
size_t pt__rfc822_normalize(const char *s, size_t n, char *out)
{
	size_t nl = 0, o = 0;
	const char *margin = NULL;
	size_t mlen = 0, b, e;

	for (size_t i = 0; i < n && nl < 2; i++)
		nl += s[i] == '\n';
	if (nl < 2) {
		b = 0, e = n;
		while (b < e && pt__py_space((unsigned char)s[b]))
			b++;
		while (e > b && pt__py_space((unsigned char)s[e - 1]))
			e--;
		memcpy(out, s + b, e - b);
		out[e - b] = '\0';
		return e - b;
	}
	/* Pass 1: dot lines and whitespace-only lines; find the margin. */
	for (size_t i = 0; i < n;) {
		const char *ln = s + i, *end = memchr(ln, '\n', n - i);
		size_t len = end ? (size_t)(end - ln) : n - i;
		size_t ws = 0, ind;
		char *dst = out + o;

		while (ws < len && pt__py_space((unsigned char)ln[ws]))
			ws++;
		if (len && ws == len - 1 && ln[len - 1] == '.')
			len--; /* ^(\s*)\.$ keeps the white space */
		memcpy(dst, ln, len);
		if (indent_len(dst, len) == len)
			len = 0; /* ^[ \t]+$ becomes empty */
		ind = indent_len(dst, len);
		if (ind < len) { /* has a non-[ \t\n] character */
			if (!margin) {
				/* The input keeps the same indent bytes. */
				margin = ln, mlen = ind;
			} else {
				size_t k = 0;
				while (k < mlen && k < ind && margin[k] == dst[k])
					k++;
				mlen = k;
			}
		}
		o += len;
		if (end)
			out[o++] = '\n';
		i += (size_t)(end ? end - ln + 1 : (ptrdiff_t)(n - i));
	}
	/* Pass 2: remove the margin from every line that starts with it. */
	if (mlen) {
		size_t w = 0;

		for (size_t i = 0; i < o;) {
			char *end = memchr(out + i, '\n', o - i);
			size_t len = end ? (size_t)(end - (out + i)) : o - i;
			size_t skip = 0;

			if (len >= mlen && memcmp(out + i, margin, mlen) == 0)
				skip = mlen;
			memmove(out + w, out + i + skip, len - skip);
			w += len - skip;
			i += len;
			if (end) {
				out[w++] = '\n';
				i++;
			}
		}
		o = w;
	}
	b = 0, e = o;
	while (b < e && pt__py_space((unsigned char)out[b]))
		b++;
	while (e > b && pt__py_space((unsigned char)out[e - 1]))
		e--;
	memmove(out, out + b, e - b);
	out[e - b] = '\0';
	return e - b;
}

static void set_error(struct pt_rfc822_parser *p, int err, const char *fmt,
		      ...) PT_PRINTF(3, 4);

static void set_error(struct pt_rfc822_parser *p, int err, const char *fmt,
		      ...)
{
	struct pt_buf b = PT_BUF_INIT;
	va_list ap;

	p->err = err;
	p->r->err = err;
	p->r->err_line = p->lineno;
	va_start(ap, fmt);
	if (pt__buf_vaddf(&b, fmt, ap) == 0)
		p->r->err_msg = pt__arena_strndup(&p->r->arena, b.s, b.len);
	va_end(ap);
	pt__buf_release(&b);
	if (!p->r->err_msg)
		p->r->err_msg = "out of memory";
}

/* Appends a Python-repr-like quoted, truncated form of s to b. */
static void add_repr(struct pt_buf *b, const char *s, size_t n)
{
	pt__buf_addch(b, '\'');
	for (size_t i = 0; i < n && i < 80; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			pt__buf_adds(b, "\\n");
		else if (c == '\t')
			pt__buf_adds(b, "\\t");
		else if (c == '\'' || c == '\\')
			pt__buf_addf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			pt__buf_addf(b, "\\x%02x", c);
		else
			pt__buf_addch(b, (char)c);
	}
	if (n > 80)
		pt__buf_adds(b, "...");
	pt__buf_addch(b, '\'');
}

/* Ends the current record: normalise its values into the arena. */
static int commit_record(struct pt_rfc822_parser *p)
{
	struct pt_records *r = p->r;
	struct pt_rfc822_field *f;
	struct pt_rfc822_record rec;

	p->have_key = false;
	if (!p->flds.n)
		goto reset;
	if (r->v.n >= p->lim.max_records) {
		set_error(p, PT_ETOOBIG, "more than %zu records",
			  p->lim.max_records);
		return p->err;
	}
	f = pt__arena_alloc(&r->arena, p->flds.n * sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < p->flds.n; i++) {
		const struct raw_field *rf = &p->flds.v[i];
		char *v = pt__arena_alloc(&r->arena, rf->val_len + 1);
		const char *ks = p->rec.s + rf->key_off;
		char *k = pt__map_get(&p->keys, ks, rf->key_len);

		if (!k) {
			k = pt__arena_strndup(&r->arena, ks, rf->key_len);
			if (!k || (p->keys.n < 4096 &&
				   pt__map_put(&p->keys, k, rf->key_len, k,
					       NULL) < 0))
				return -ENOMEM;
		}
		if (!v)
			return -ENOMEM;
		pt__rfc822_normalize(p->rec.s + rf->val_off, rf->val_len, v);
		f[i].key = k;
		f[i].value = v;
		f[i].line = rf->line;
		f[i].json = NULL;
	}
	rec.file = r->file;
	rec.line_start = p->line_start;
	rec.line_end = p->line_end;
	rec.n = p->flds.n;
	rec.fields = f;
	if (pt_vec_push(&r->v, rec) < 0)
		return -ENOMEM;
reset:
	p->flds.n = 0;
	pt__buf_reset(&p->rec);
	p->line_start = 0;
	return 0;
}

/* One line s[0..n), without its terminator; nl: it had one. */
static int process_line(struct pt_rfc822_parser *p, const char *s, size_t n,
			bool nl)
{
	const char *colon;
	int rc;

	p->lineno++;
	if (n > p->lim.max_line) {
		set_error(p, PT_ETOOBIG, "line longer than %zu bytes",
			  p->lim.max_line);
		return p->err;
	}
	if (n && s[0] == '#')
		return 0;
	if (is_blank(s, n))
		return commit_record(p);
	if (s[0] == ' ') {
		if (!p->have_key) {
			set_error(p, PT_EPARSE, "Unexpected multi-line value");
			return p->err;
		}
		if (p->rec.len + n > p->lim.max_record)
			goto too_big;
		if (pt__buf_add(&p->rec, s + 1, n - 1) < 0 ||
		    (nl && pt__buf_addch(&p->rec, '\n') < 0))
			return -ENOMEM;
		p->flds.v[p->flds.n - 1].val_len += n - 1 + nl;
		p->line_end = p->lineno;
		return 0;
	}
	colon = memchr(s, ':', n);
	if (colon) {
		struct raw_field f;
		size_t kb = 0, ke = (size_t)(colon - s), vb = ke + 1;

		if (!p->line_start)
			p->line_start = p->lineno;
		while (kb < ke && pt__py_space((unsigned char)s[kb]))
			kb++;
		while (ke > kb && pt__py_space((unsigned char)s[ke - 1]))
			ke--;
		while (vb < n && pt__py_space((unsigned char)s[vb]))
			vb++;
		for (size_t i = 0; i < p->flds.n; i++) {
			const struct raw_field *o = &p->flds.v[i];
			struct pt_buf m = PT_BUF_INIT;

			if (o->key_len != ke - kb ||
			    memcmp(p->rec.s + o->key_off, s + kb, ke - kb))
				continue;
			pt__buf_adds(&m, "Job has a duplicate key ");
			add_repr(&m, s + kb, ke - kb);
			pt__buf_adds(&m, " with old value ");
			add_repr(&m, p->rec.s + o->val_off, o->val_len);
			pt__buf_adds(&m, " and new value ");
			add_repr(&m, s + vb, n - vb);
			set_error(p, PT_EPARSE, "%s", m.s);
			pt__buf_release(&m);
			return p->err;
		}
		if (p->rec.len + n + 1 > p->lim.max_record)
			goto too_big;
		f.key_off = p->rec.len;
		f.key_len = ke - kb;
		if (pt__buf_add(&p->rec, s + kb, ke - kb) < 0)
			return -ENOMEM;
		f.val_off = p->rec.len;
		f.val_len = 0;
		f.line = p->lineno;
		if (vb < n) {
			if (pt__buf_add(&p->rec, s + vb, n - vb) < 0 ||
			    (nl && pt__buf_addch(&p->rec, '\n') < 0))
				return -ENOMEM;
			f.val_len = n - vb + nl;
		} else {
			f.line++; /* the value starts on the next line */
		}
		if ((rc = pt_vec_push(&p->flds, f)) < 0)
			return rc;
		p->have_key = true;
		p->line_end = p->lineno;
		return 0;
	}
	{
		struct pt_buf m = PT_BUF_INIT;
		pt__buf_adds(&m, "Unexpected non-empty line: ");
		add_repr(&m, s, n);
		set_error(p, PT_EPARSE, "%s", m.s);
		pt__buf_release(&m);
	}
	return p->err;
too_big:
	set_error(p, PT_ETOOBIG, "record larger than %zu bytes",
		  p->lim.max_record);
	return p->err;
}

static void fill_limits(struct pt_rfc822_limits *dst,
			const struct pt_rfc822_limits *src)
{
	*dst = src ? *src : (struct pt_rfc822_limits){ 0, 0, 0 };
	if (!dst->max_line)
		dst->max_line = PT_RFC822_MAX_LINE;
	if (!dst->max_record)
		dst->max_record = PT_RFC822_MAX_RECORD;
	if (!dst->max_records)
		dst->max_records = PT_RFC822_MAX_RECORDS;
}

int pt_rfc822_parser_new(const char *file, const struct pt_rfc822_limits *lim,
			 struct pt_rfc822_parser **ret)
{
	struct pt_rfc822_parser *p;

	if (!ret)
		return -EINVAL;
	p = pt__calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->r = pt__calloc(1, sizeof(*p->r));
	if (!p->r) {
		pt__free(p);
		return -ENOMEM;
	}
	p->r->file = pt__arena_strdup(&p->r->arena, file ? file : "<input>");
	if (!p->r->file) {
		pt_rfc822_parser_free(p);
		return -ENOMEM;
	}
	fill_limits(&p->lim, lim);
	pt__buf_init(&p->line);
	pt__buf_init(&p->rec);
	*ret = p;
	return 0;
}

struct pt_rfc822_parser *pt_rfc822_parser_free(struct pt_rfc822_parser *p)
{
	if (!p)
		return NULL;
	pt_records_free(p->r);
	pt__buf_release(&p->line);
	pt__buf_release(&p->rec);
	pt_vec_release(&p->flds);
	pt__map_release(&p->keys);
	pt__free(p);
	return NULL;
}

int pt_rfc822_feed(struct pt_rfc822_parser *p, const char *data, size_t len)
{
	size_t i = 0;
	int rc;

	if (p->err || p->done)
		return p->err ? p->err : PT_ESTATE;
	if (p->cr && len && data[0] == '\n')
		i = 1;
	p->cr = false;
	while (i < len) {
		size_t j = i, n;
		const char *s;

		while (j < len && data[j] != '\n' && data[j] != '\r')
			j++;
		if (j == len) {
			if (p->line.len + (len - i) > p->lim.max_line) {
				p->lineno++;
				set_error(p, PT_ETOOBIG,
					  "line longer than %zu bytes",
					  p->lim.max_line);
				return p->err;
			}
			if (pt__buf_add(&p->line, data + i, len - i) < 0)
				return p->err = -ENOMEM;
			break;
		}
		if (p->line.len) {
			if (pt__buf_add(&p->line, data + i, j - i) < 0)
				return p->err = -ENOMEM;
			s = p->line.s, n = p->line.len;
		} else {
			s = data + i, n = j - i;
		}
		rc = process_line(p, s, n, true);
		pt__buf_reset(&p->line);
		if (rc < 0)
			return p->err = rc;
		if (data[j] == '\r') {
			if (j + 1 < len && data[j + 1] == '\n')
				j++;
			else if (j + 1 == len)
				p->cr = true;
		}
		i = j + 1;
	}
	return 0;
}

int pt_rfc822_finish(struct pt_rfc822_parser *p, struct pt_diags *diags,
		     struct pt_records **ret)
{
	int rc = p->err;

	if (p->done)
		return PT_ESTATE;
	if (!rc && p->line.len) {
		rc = process_line(p, p->line.s, p->line.len, false);
		pt__buf_reset(&p->line);
	}
	if (!rc)
		rc = commit_record(p);
	if (rc == -ENOMEM)
		return -ENOMEM;
	p->done = true;
	if (p->r->err && diags &&
	    pt__diags_add(diags, PT_SEV_ERROR, p->r->err, p->r->file,
			  p->r->err_line, NULL, "%s", p->r->err_msg) < 0)
		return -ENOMEM;
	*ret = p->r;
	p->r = NULL;
	return (int)PT_MIN((*ret)->v.n, (size_t)INT_MAX);
}

int pt_rfc822_parse(const char *text, size_t len, const char *file,
		    const struct pt_rfc822_limits *lim, struct pt_diags *diags,
		    struct pt_records **ret)
{
	struct pt_rfc822_parser *p;
	int rc;

	if (!ret || (!text && len))
		return -EINVAL;
	rc = pt_rfc822_parser_new(file, lim, &p);
	if (rc < 0)
		return rc;
	rc = pt_rfc822_feed(p, text, len);
	if (rc != -ENOMEM)
		rc = pt_rfc822_finish(p, diags, ret);
	pt_rfc822_parser_free(p);
	return rc;
}

size_t pt_records_count(const struct pt_records *r)
{
	return r ? r->v.n : 0;
}

const struct pt_rfc822_record *pt_records_get(const struct pt_records *r,
					      size_t i)
{
	return r && i < r->v.n ? &r->v.v[i] : NULL;
}

int pt_records_error(const struct pt_records *r, unsigned *ret_line,
		     const char **ret_message)
{
	if (!r || !r->err)
		return 0;
	if (ret_line)
		*ret_line = r->err_line;
	if (ret_message)
		*ret_message = r->err_msg;
	return r->err;
}

struct pt_records *pt_records_free(struct pt_records *r)
{
	if (!r)
		return NULL;
	pt__arena_release(&r->arena);
	pt_vec_release(&r->v);
	pt__free(r);
	return NULL;
}

const struct pt_rfc822_field *pt_rfc822_field(const struct pt_rfc822_record *rec,
					      const char *key)
{
	for (size_t i = 0; rec && i < rec->n; i++)
		if (strcmp(rec->fields[i].key, key) == 0)
			return pt__field_null(&rec->fields[i])
				       ? NULL
				       : &rec->fields[i];
	return NULL;
}

const char *pt_rfc822_value(const struct pt_rfc822_record *rec,
			    const char *name)
{
	const struct pt_rfc822_field *f = NULL;

	for (size_t i = 0; rec && i < rec->n; i++) {
		const char *k = rec->fields[i].key;
		if (pt__field_null(&rec->fields[i]))
			continue;
		if (k[0] == '_' && strcmp(k + 1, name) == 0)
			return rec->fields[i].value;
		if (!f && strcmp(k, name) == 0)
			f = &rec->fields[i];
	}
	return f ? f->value : NULL;
}
