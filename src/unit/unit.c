/*
 * unit/unit.c - units and jobs from RFC822 records (docs/plainbox.md
 * §2.2-2.4): typed views, job field parsing, the upstream checksum,
 * siblings and after-suspend jobs, the unit collection.
 */
#include "base/chaos.h"
#include "base/common.h"
#include "base/diag.h"
#include "base/sha256.h"
#include "base/str.h"
#include "unit/internal.h"

#include <jansson.h>

#define UNCATEGORISED "com.canonical.plainbox::uncategorised"
#define SUSPEND_NS    "com.canonical.certification"

static const char *const type_names[] = {
	[PT_UNIT_JOB] = "job",
	[PT_UNIT_TEMPLATE] = "template",
	[PT_UNIT_TEST_PLAN] = "test plan",
	[PT_UNIT_CATEGORY] = "category",
	[PT_UNIT_MANIFEST_ENTRY] = "manifest entry",
	[PT_UNIT_PACKAGING_META_DATA] = "packaging meta-data",
	[PT_UNIT_EXPORTER] = "exporter",
	[PT_UNIT_SETUP_JOB] = "setup job",
};

const char *pt_unit_type_name(enum pt_unit_type t)
{
	return (unsigned)t < PT_ARRAY_SIZE(type_names) ? type_names[t] : "?";
}

int pt_unit_type_parse(const char *name, enum pt_unit_type *ret)
{
	for (size_t i = 0; i < PT_ARRAY_SIZE(type_names); i++)
		if (strcmp(name, type_names[i]) == 0) {
			*ret = (enum pt_unit_type)i;
			return 0;
		}
	return PT_ENOTFOUND;
}

const char *pt_unit_value(const struct pt_unit *u, const char *name)
{
	return u ? pt_rfc822_value(u->record, name) : NULL;
}

unsigned pt_unit_field_line(const struct pt_unit *u, const char *name)
{
	const struct pt_rfc822_field *f;
	char key[128];

	if (!u)
		return 0;
	if (strlen(name) < sizeof(key) - 1) {
		key[0] = '_';
		memcpy(key + 1, name, strlen(name) + 1);
		if ((f = pt_rfc822_field(u->record, key)))
			return f->line;
	}
	if ((f = pt_rfc822_field(u->record, name)))
		return f->line;
	return u->line;
}

/* ------------------------------------------------------------------ */

int pt_units_new(struct pt_units **ret)
{
	struct pt_units *u;

	if (!ret)
		return -EINVAL;
	u = pt__calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->max_units = 10000000;
	*ret = u;
	return 0;
}

struct pt_units *pt_units_free(struct pt_units *u)
{
	if (!u)
		return NULL;
	pt_vec_foreach(&u->files, i) pt_records_free(u->files.v[i]);
	pt_vec_release(&u->files);
	pt_vec_release(&u->units);
	pt_vec_release(&u->jobs);
	pt__map_release(&u->job_by_id);
	pt__map_release(&u->plan_by_id);
	pt__map_release(&u->template_by_id);
	pt__map_release(&u->intern);
	pt_vec_release(&u->providers);
	pt__arena_release(&u->arena);
	pt__free(u);
	return NULL;
}

size_t pt_units_count(const struct pt_units *u)
{
	return u ? u->units.n : 0;
}

const struct pt_unit *pt_units_get(const struct pt_units *u, size_t i)
{
	return u && i < u->units.n ? u->units.v[i] : NULL;
}

size_t pt_units_job_count(const struct pt_units *u)
{
	return u ? u->jobs.n : 0;
}

const struct pt_job *pt_units_job(const struct pt_units *u, size_t i)
{
	return u && i < u->jobs.n ? u->jobs.v[i] : NULL;
}

const struct pt_job *pt_units_find_job(const struct pt_units *u,
				       const char *id)
{
	return u && id ? pt__map_gets(&u->job_by_id, id) : NULL;
}

const struct pt_unit *pt_units_find(const struct pt_units *u,
				    enum pt_unit_type t, const char *id)
{
	const struct pt_job *j;

	if (!u || !id)
		return NULL;
	switch (t) {
	case PT_UNIT_TEST_PLAN:
		return pt__map_gets(&u->plan_by_id, id);
	case PT_UNIT_TEMPLATE:
		return pt__map_gets(&u->template_by_id, id);
	case PT_UNIT_JOB:
		j = pt_units_find_job(u, id);
		return j ? j->unit : NULL;
	default:
		break;
	}
	pt_vec_foreach(&u->units, i) {
		const struct pt_unit *x = u->units.v[i];
		if (x->type == t && x->id && strcmp(x->id, id) == 0)
			return x;
	}
	return NULL;
}

const char *pt__units_intern(struct pt_units *u, const char *s, size_t n)
{
	void *v;
	char *copy;

	if (pt__map_find(&u->intern, s, n, &v))
		return v;
	copy = pt__arena_strndup(&u->arena, s, n);
	if (!copy || pt__map_put(&u->intern, copy, n, copy, NULL) < 0)
		return NULL;
	return copy;
}

static const char *qualify_n(struct pt_units *u, const char *ns,
			     const char *id, size_t n)
{
	struct pt_buf b = PT_BUF_INIT;
	const char *r;
	size_t nl;
	char small[256];

	for (const char *c = id; (c = memchr(c, ':', n - (size_t)(c - id)));
	     c++)
		if ((size_t)(c - id) + 1 < n && c[1] == ':')
			return pt__units_intern(u, id, n);
	if (!ns || !*ns)
		return pt__units_intern(u, id, n);
	nl = strlen(ns);
	if (nl + 2 + n <= sizeof(small)) {
		memcpy(small, ns, nl);
		small[nl] = small[nl + 1] = ':';
		memcpy(small + nl + 2, id, n);
		return pt__units_intern(u, small, nl + 2 + n);
	}
	if (pt__buf_adds(&b, ns) < 0 || pt__buf_adds(&b, "::") < 0 ||
	    pt__buf_add(&b, id, n) < 0) {
		pt__buf_release(&b);
		return NULL;
	}
	r = pt__units_intern(u, b.s, b.len);
	pt__buf_release(&b);
	return r;
}

const char *pt_units_qualify(struct pt_units *u, const char *ns,
			     const char *id)
{
	return id ? qualify_n(u, ns, id, strlen(id)) : NULL;
}

/* ------------------------------------------------------------------ */
/* Field parsing                                                       */

static bool is_sep(int c)
{
	return c == ',' || pt__py_space(c);
}

int pt__wordlist(struct pt_units *u, const char *text, const char *ns,
		 bool qualify, struct pt_strlist *ret)
{
	const char *words[64];
	PT_VEC(const char *) more = PT_VEC_INIT;
	size_t n = 0;
	const char **v;

	ret->n = 0;
	ret->v = NULL;
	if (!text)
		return 0;
	for (const char *p = text; *p;) {
		const char *b, *e, *w;

		while (*p &&
		       (is_sep((unsigned char)*p) || (qualify && *p == '=')))
			p++;
		if (!*p)
			break;
		if (qualify && *p == '#') {
			/* WordScanner: a comment runs to the end of the line */
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (*p == '"') {
			b = ++p;
			while (*p && *p != '"')
				p++;
			if (qualify && !*p)
				break; /* "Missing end of word": the rest is
					  lost */
			e = p;
			if (*p)
				p++;
		} else {
			b = p;
			while (*p && !is_sep((unsigned char)*p) &&
			       !(qualify && (*p == '#' || *p == '=')))
				p++;
			e = p;
		}
		w = qualify ? qualify_n(u, ns, b, (size_t)(e - b))
			    : pt__units_intern(u, b, (size_t)(e - b));
		if (!w)
			goto nomem;
		if (n < PT_ARRAY_SIZE(words))
			words[n] = w;
		else if (pt_vec_push(&more, w) < 0)
			goto nomem;
		n++;
	}
	if (!n)
		return 0;
	v = pt__arena_alloc(&u->arena, n * sizeof(*v));
	if (!v)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		v[i] = i < PT_ARRAY_SIZE(words)
			       ? words[i]
			       : more.v[i - PT_ARRAY_SIZE(words)];
	pt_vec_release(&more);
	ret->n = n;
	ret->v = v;
	return 0;
nomem:
	pt_vec_release(&more);
	return -ENOMEM;
}

/* A decimal number (digits, optional fraction) at *p: -1 when none. */
static double budget_number(const char **p)
{
	double v = 0, scale = 1;
	bool digits = false;

	for (; **p >= '0' && **p <= '9'; (*p)++, digits = true)
		if (v < 1e12)
			v = v * 10 + (**p - '0');
	if (**p == '.') {
		for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, digits = true)
			if (scale > 1e-9)
				v += (**p - '0') * (scale /= 10);
	}
	return digits ? v : -1;
}

int pt_parse_budget(const char *text, double *secs, uint64_t *bytes)
{
	static const struct {
		const char *suffix;
		double time; /* seconds per unit; 0: a memory unit */
		double mem;
	} units[] = {
		{ "ms", 1e-3, 0 },
		{ "s", 1, 0 },
		{ "m", 60, 0 },
		{ "h", 3600, 0 },
		{ "K", 0, 1024.0 },
		{ "KiB", 0, 1024.0 },
		{ "M", 0, 1048576.0 },
		{ "MiB", 0, 1048576.0 },
		{ "G", 0, 1073741824.0 },
		{ "GiB", 0, 1073741824.0 },
	};
	const char *p = text;
	double t = 0;
	uint64_t m = 0;

	if (!text)
		return PT_EPARSE;
	for (;;) {
		double v;
		const char *w;
		size_t n, i;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		v = budget_number(&p);
		w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		n = (size_t)(p - w);
		for (i = 0; i < PT_ARRAY_SIZE(units); i++)
			if (strlen(units[i].suffix) == n &&
			    !memcmp(w, units[i].suffix, n))
				break;
		if (v <= 0 || i == PT_ARRAY_SIZE(units))
			return PT_EPARSE;
		if (units[i].time > 0) {
			if (t > 0)
				return PT_EPARSE; /* two durations */
			t = v * units[i].time;
		} else {
			if (m || v * units[i].mem > 1e18)
				return PT_EPARSE;
			m = (uint64_t)(v * units[i].mem);
			if (!m)
				return PT_EPARSE;
		}
	}
	if (!(t > 0) && !m)
		return PT_EPARSE;
	*secs = t;
	*bytes = m;
	return 0;
}

/*
 * estimated_duration: a number, or ^(\d+h)?[ :]*(\d+m)?[ :]*(\d+s)?$;
 * -1 when neither (upstream: None).
 */
double pt_parse_duration(const char *text)
{
	const char *p = text;
	double total = 0, v;
	bool any = false;
	char *end;
	static const char units[] = "hms";
	static const double mult[] = { 3600, 60, 1 };
	size_t k = 0;

	if (!text)
		return -1;
	/* The regex form: optional groups in order h, m, s. */
	while (k < 3) {
		const char *q = p;
		unsigned long long n = 0;
		bool digits = false;

		while (*q >= '0' && *q <= '9') {
			if (n < 100000000000ULL)
				n = n * 10 + (unsigned)(*q - '0');
			q++;
			digits = true;
		}
		while (k < 3 && digits && *q != units[k])
			k++;
		if (digits && k < 3) {
			total += (double)n * mult[k];
			any = true;
			p = q + 1;
			k++;
			while (*p == ' ' || *p == ':')
				p++;
			continue;
		}
		break;
	}
	if (any && !*p)
		return total;
	/* float(): Python accepts surrounding white space. */
	p = text;
	while (pt__py_space((unsigned char)*p))
		p++;
	if (!*p || strchr(p, 'x') || strchr(p, 'X'))
		return -1;
	errno = 0;
	v = strtod(p, &end);
	if (end == p)
		return -1;
	while (pt__py_space((unsigned char)*end))
		end++;
	if (*end || v != v || v < 0)
		return -1;
	return v;
}

static const struct {
	const char *name;
	unsigned bit;
} flag_bits[] = {
	{ "noreturn", PT_JOB_NORETURN },
	{ "autorestart", PT_JOB_AUTORESTART },
	{ "preserve-locale", PT_JOB_PRESERVE_LOCALE },
	{ "reset-locale", PT_JOB_RESET_LOCALE },
	{ "preserve-cwd", PT_JOB_PRESERVE_CWD },
	{ "has-leftovers", PT_JOB_HAS_LEFTOVERS },
	{ "simple", PT_JOB_SIMPLE },
	{ "fail-on-resource", PT_JOB_FAIL_ON_RESOURCE },
	{ "also-after-suspend", PT_JOB_ALSO_AFTER_SUSPEND },
	{ "also-after-suspend-manual", PT_JOB_ALSO_AFTER_SUSPEND_MANUAL },
	{ "cachable", PT_JOB_CACHABLE },
	{ "explicit-fail", PT_JOB_EXPLICIT_FAIL },
	{ "use-chunked-io", PT_JOB_USE_CHUNKED_IO },
};

static const struct {
	const char *name;
	enum pt_plugin plugin;
} plugins[] = {
	{ "shell", PT_PLUGIN_SHELL },
	{ "resource", PT_PLUGIN_RESOURCE },
	{ "attachment", PT_PLUGIN_ATTACHMENT },
	{ "manual", PT_PLUGIN_MANUAL },
	{ "user-interact", PT_PLUGIN_USER_INTERACT },
	{ "user-verify", PT_PLUGIN_USER_VERIFY },
	{ "user-interact-verify", PT_PLUGIN_USER_INTERACT_VERIFY },
};

/* ------------------------------------------------------------------ */
/* Checksum (§2.3)                                                     */

/* JSON text goes to a SHA-256 (the checksum) or to out when set. */
struct jsonw {
	struct pt_sha256 sha;
	struct pt_buf *out;
	int err;
	char buf[512];
	size_t n;
};

static void jw_sink(struct jsonw *w, const char *s, size_t n)
{
	if (!w->out)
		pt__sha256_update(&w->sha, s, n);
	else if (pt__buf_add(w->out, s, n) < 0)
		w->err = -ENOMEM;
}

static void jw_flush(struct jsonw *w)
{
	jw_sink(w, w->buf, w->n);
	w->n = 0;
}

static void jw_put(struct jsonw *w, const char *s, size_t n)
{
	if (w->n + n > sizeof(w->buf)) {
		jw_flush(w);
		if (n > sizeof(w->buf)) {
			jw_sink(w, s, n);
			return;
		}
	}
	memcpy(w->buf + w->n, s, n);
	w->n += n;
}

static void jw_u16(struct jsonw *w, unsigned c)
{
	char e[7];
	static const char hex[] = "0123456789abcdef";

	e[0] = '\\', e[1] = 'u';
	e[2] = hex[(c >> 12) & 15], e[3] = hex[(c >> 8) & 15];
	e[4] = hex[(c >> 4) & 15], e[5] = hex[c & 15];
	jw_put(w, e, 6);
}

/* A JSON string as Python's json.dumps(ensure_ascii=True) writes it. */
static void jw_str(struct jsonw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	jw_put(w, "\"", 1);
	while (*p) {
		const unsigned char *run = p;
		unsigned c;

		while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			jw_put(w, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		c = *p;
		switch (c) {
		case '"': jw_put(w, "\\\"", 2); p++; continue;
		case '\\': jw_put(w, "\\\\", 2); p++; continue;
		case '\n': jw_put(w, "\\n", 2); p++; continue;
		case '\r': jw_put(w, "\\r", 2); p++; continue;
		case '\t': jw_put(w, "\\t", 2); p++; continue;
		case '\b': jw_put(w, "\\b", 2); p++; continue;
		case '\f': jw_put(w, "\\f", 2); p++; continue;
		default: break;
		}
		if (c < 0x80) {
			jw_u16(w, c);
			p++;
			continue;
		}
		/* UTF-8 (validated at load time); bad bytes become U+FFFD. */
		{
			unsigned cp = 0xfffd, len = 1;
			if ((c & 0xe0) == 0xc0 && (p[1] & 0xc0) == 0x80) {
				cp = (c & 0x1fu) << 6 | (p[1] & 0x3fu);
				len = 2;
			} else if ((c & 0xf0) == 0xe0 && (p[1] & 0xc0) == 0x80 &&
				   (p[2] & 0xc0) == 0x80) {
				cp = (c & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 |
				     (p[2] & 0x3fu);
				len = 3;
			} else if ((c & 0xf8) == 0xf0 &&
				   (p[1] & 0xc0) == 0x80 &&
				   (p[2] & 0xc0) == 0x80 &&
				   (p[3] & 0xc0) == 0x80) {
				cp = (c & 0x07u) << 18 | (p[1] & 0x3fu) << 12 |
				     (p[2] & 0x3fu) << 6 | (p[3] & 0x3fu);
				len = 4;
			}
			if (cp >= 0x10000) {
				cp -= 0x10000;
				jw_u16(w, 0xd800 + (cp >> 10));
				jw_u16(w, 0xdc00 + (cp & 0x3ff));
			} else {
				jw_u16(w, cp);
			}
			p += len;
		}
	}
	jw_put(w, "\"", 1);
}

int pt__py_json_str(struct pt_buf *b, const char *s)
{
	struct jsonw w;

	w.out = b;
	w.err = 0;
	w.n = 0;
	jw_str(&w, s);
	jw_flush(&w);
	return w.err;
}

static int cmp_field_key(const void *a, const void *b)
{
	const struct pt_rfc822_field *const *x = a, *const *y = b;
	return strcmp((*x)->key, (*y)->key);
}

/* {"k":"v",...} of rec sorted by key (+ extra key/value at the end). */
static int jw_record(struct jsonw *w, const struct pt_rfc822_record *rec,
		     const char *extra_key, const char *extra_value,
		     bool index_number)
{
	const struct pt_rfc822_field *small[32], **v = small;
	size_t n = rec ? rec->n : 0;

	if (n > PT_ARRAY_SIZE(small)) {
		v = pt__malloc_array(n, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = &rec->fields[i];
	qsort(v, n, sizeof(*v), cmp_field_key);
	jw_put(w, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			jw_put(w, ",", 1);
		jw_str(w, v[i]->key);
		jw_put(w, ":", 1);
		if (index_number && strcmp(v[i]->key, "__index__") == 0)
			jw_put(w, v[i]->value, strlen(v[i]->value));
		else if (v[i]->json)
			jw_put(w, v[i]->json, strlen(v[i]->json));
		else
			jw_str(w, v[i]->value);
	}
	if (extra_key) {
		if (n)
			jw_put(w, ",", 1);
		jw_str(w, extra_key);
		jw_put(w, ":", 1);
		jw_str(w, extra_value);
	}
	jw_put(w, "}", 1);
	if (v != small)
		pt__free(v);
	return 0;
}

int pt_unit_checksum(const struct pt_unit *u, char out[65])
{
	struct jsonw w;
	int rc;

	if (!u || !out)
		return -EINVAL;
	pt__sha256_init(&w.sha);
	w.out = NULL;
	w.n = 0;
	rc = jw_record(&w, u->raw_data ? u->raw_data : u->record, u->ns && *u->ns ? "namespace" : NULL,
		       u->ns, false);
	if (rc == 0 && u->params)
		rc = jw_record(&w, u->params, NULL, NULL, true);
	if (rc < 0)
		return rc;
	jw_flush(&w);
	pt__sha256_final_hex(&w.sha, out);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Jobs                                                                */

static int diag(struct pt_diags *d, enum pt_severity sev, int code,
		const struct pt_unit *u, const char *field, const char *fmt,
		...) PT_PRINTF(6, 7);

static int diag(struct pt_diags *d, enum pt_severity sev, int code,
		const struct pt_unit *u, const char *field, const char *fmt,
		...)
{
	va_list ap;
	int r;

	if (!d)
		return 0;
	va_start(ap, fmt);
	r = pt__diags_vadd(d, sev, code, u->file,
			   field ? pt_unit_field_line(u, field) : u->line,
			   field, fmt, ap);
	va_end(ap);
	return r;
}

/* The job fields, looked up once per record (one pass, no strcmp chains). */
enum {
	F_SUMMARY, F_DESCRIPTION, F_PURPOSE, F_STEPS, F_VERIFICATION,
	F_COMMAND, F_SHELL, F_USER, F_FLAGS, F_PLUGIN, F_DEPENDS, F_AFTER,
	F_BEFORE, F_SALVAGES, F_ENVIRON, F_LOCKS, F_REQUIRES, F_IMPORTS,
	F_GROUP, F_CATEGORY_ID, F_CERT, F_CERT2, F_RETRY, F_RETRY2,
	F_DURATION, F_TIMEOUT, F_TEMPLATE_ID, F_BUDGET, F_CHAOS, F_N
};

static const char *const field_names[F_N] = {
	"summary", "description", "purpose", "steps", "verification",
	"command", "shell", "user", "flags", "plugin", "depends", "after",
	"before", "salvages", "environ", "locks", "requires", "imports",
	"group", "category_id", "certification_status",
	"certification-status", "auto_retry", "auto-retry",
	"estimated_duration", "timeout", "template-id", "budget", "chaos",
};

static int field_slot(const char *k)
{
	/* Candidates by first letter, as slot + 1 (0 ends a row). */
	static const unsigned char first[26][5] = {
		['a' - 'a'] = { F_AFTER + 1, F_RETRY + 1, F_RETRY2 + 1 },
		['b' - 'a'] = { F_BEFORE + 1, F_BUDGET + 1 },
		['c' - 'a'] = { F_COMMAND + 1, F_CATEGORY_ID + 1, F_CERT + 1,
				F_CERT2 + 1, F_CHAOS + 1 },
		['d' - 'a'] = { F_DESCRIPTION + 1, F_DEPENDS + 1 },
		['e' - 'a'] = { F_ENVIRON + 1, F_DURATION + 1 },
		['f' - 'a'] = { F_FLAGS + 1 },
		['g' - 'a'] = { F_GROUP + 1 },
		['i' - 'a'] = { F_IMPORTS + 1 },
		['l' - 'a'] = { F_LOCKS + 1 },
		['p' - 'a'] = { F_PURPOSE + 1, F_PLUGIN + 1 },
		['r' - 'a'] = { F_REQUIRES + 1 },
		['s' - 'a'] = { F_SUMMARY + 1, F_STEPS + 1, F_SHELL + 1,
				F_SALVAGES + 1 },
		['t' - 'a'] = { F_TIMEOUT + 1, F_TEMPLATE_ID + 1 },
		['u' - 'a'] = { F_USER + 1 },
		['v' - 'a'] = { F_VERIFICATION + 1 },
	};
	unsigned c = (unsigned char)k[0] - 'a';

	if (c >= 26)
		return -1;
	for (int i = 0; i < 5 && first[c][i]; i++)
		if (strcmp(k, field_names[first[c][i] - 1]) == 0)
			return first[c][i] - 1;
	return -1;
}

/* description, or PURPOSE:/STEPS:/VERIFICATION: as upstream. */
static const char *job_description(struct pt_units *u, const char *const *fv)
{
	static const int stages[] = { F_PURPOSE, F_STEPS, F_VERIFICATION };
	static const char *const upper[] = { "PURPOSE", "STEPS",
					     "VERIFICATION" };
	struct pt_buf b = PT_BUF_INIT;
	struct pt_slice s;
	char *r = NULL;

	if (fv[F_DESCRIPTION])
		return fv[F_DESCRIPTION];
	if (!fv[F_PURPOSE] && !fv[F_STEPS] && !fv[F_VERIFICATION])
		return NULL;
	for (size_t i = 0; i < 3; i++) {
		const char *v = fv[stages[i]];
		if (v)
			pt__buf_addf(&b, "%s:\n%s\n", upper[i], v);
	}
	s = pt__slice_strip(pt__slice(b.s, b.len));
	if (s.len)
		r = pt__arena_strndup(&u->arena, s.p, s.len);
	pt__buf_release(&b);
	return r;
}

static int parse_flags(struct pt_units *u, struct pt_job *j,
		       const char *text)
{
	int rc = pt__wordlist(u, text, NULL, false, &j->flag_list);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < j->flag_list.n; i++)
		for (size_t k = 0; k < PT_ARRAY_SIZE(flag_bits); k++)
			if (strcmp(j->flag_list.v[i], flag_bits[k].name) == 0)
				j->flags |= flag_bits[k].bit;
	return 0;
}

/* Checks the imports field: "from NS import ID [as ALIAS]" per line. */
static int check_imports(const struct pt_unit *unit, const char *field,
			 const char *text, struct pt_diags *d)
{
	const char *p = text;
	unsigned off = 0;

	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p), ntok = 0;
		char tok[6][8] = { { 0 } };

		for (size_t i = 0; i < n;) {
			size_t b;
			while (i < n && pt__py_space((unsigned char)p[i]))
				i++;
			if (i >= n)
				break;
			b = i;
			while (i < n && !pt__py_space((unsigned char)p[i]))
				i++;
			if (ntok < 6)
				snprintf(tok[ntok], sizeof(tok[0]), "%.*s",
					 (int)(i - b), p + b);
			ntok++;
		}
		if (ntok && ((ntok != 4 && ntok != 6) ||
			     strcmp(tok[0], "from") != 0 ||
			     strcmp(tok[2], "import") != 0 ||
			     (ntok == 6 && strcmp(tok[4], "as") != 0))) {
			if (d && pt__diags_add(d, PT_SEV_ERROR, PT_EPARSE,
					       unit->file,
					       pt_unit_field_line(unit, field) +
						       off,
					       field,
					       "field '%s', expected 'from "
					       "<namespace> import <id> [as "
					       "<alias>]'",
					       field) < 0)
				return -ENOMEM;
		}
		off++;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

/* Adds id to the end of a list (a new array in the arena). */
static int list_append(struct pt_units *u, struct pt_strlist *l,
		       const char *id)
{
	const char **v;

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], id) == 0)
			return 0;
	v = pt__arena_alloc(&u->arena, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (l->n)
		memcpy(v, l->v, l->n * sizeof(*v));
	v[l->n] = id;
	l->v = v;
	l->n++;
	return 0;
}

static bool list_has(const struct pt_strlist *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], id) == 0)
			return true;
	return false;
}

/* get_record_value for every job field: "_name" wins over "name". */
static void job_values(const struct pt_rfc822_record *rec,
		       const char *v[F_N])
{
	bool tr[F_N] = { false };

	for (int i = 0; i < F_N; i++)
		v[i] = NULL;
	for (size_t i = 0; i < rec->n; i++) {
		const char *k = rec->fields[i].key;
		bool t = k[0] == '_';
		int f = field_slot(k + t);

		if (f < 0 || (tr[f] && !t) || pt__field_null(&rec->fields[i]))
			continue;
		v[f] = rec->fields[i].value;
		tr[f] = t;
	}
}

/* Fills j from its unit. Diagnostics for bad fields. */
static int fill_job(struct pt_units *u, struct pt_job *j,
		    const struct pt_unit *unit, struct pt_diags *d)
{
	const char *ns = unit->ns, *v, *fv[F_N];
	int rc;

	job_values(unit->record, fv);

	j->id = unit->id;
	j->partial_id = unit->partial_id;
	j->ns = ns;
	j->summary = fv[F_SUMMARY];
	j->description = job_description(u, fv);
	j->command = fv[F_COMMAND];
	v = fv[F_SHELL];
	j->shell = v ? v : "bash";
	if (v && strcmp(v, "bash") && strcmp(v, "/bin/bash") &&
	    strcmp(v, "/bin/sh") &&
	    (rc = diag(d, PT_SEV_WARNING, PT_EPARSE, unit, "shell",
		       "field 'shell', only /bin/sh, /bin/bash and bash are "
		       "allowed")) < 0)
		return rc;
	j->user = fv[F_USER];
	if (j->user && strcmp(j->user, "root") &&
	    (rc = diag(d, PT_SEV_WARNING, PT_EPARSE, unit, "user",
		       "field 'user', only 'root' is allowed")) < 0)
		return rc;
	if ((rc = parse_flags(u, j, fv[F_FLAGS])) < 0)
		return rc;
	v = fv[F_PLUGIN];
	j->plugin = PT_PLUGIN_SHELL;
	if (!v || strcmp(v, "None") == 0) {
		if (!(j->flags & PT_JOB_SIMPLE) &&
		    (rc = diag(d, PT_SEV_ERROR, PT_EPARSE, unit, "plugin",
			       "field 'plugin', required field missing")) < 0)
			return rc;
	} else {
		size_t k;
		for (k = 0; k < PT_ARRAY_SIZE(plugins); k++)
			if (strcmp(v, plugins[k].name) == 0)
				break;
		if (k < PT_ARRAY_SIZE(plugins))
			j->plugin = plugins[k].plugin;
		else if ((rc = diag(d, PT_SEV_ERROR, PT_EPARSE, unit, "plugin",
				    "field 'plugin', unknown plugin '%s'",
				    v)) < 0)
			return rc;
	}
	if ((rc = pt__wordlist(u, fv[F_DEPENDS], ns, true,
			       &j->depends)) < 0 ||
	    (rc = pt__wordlist(u, fv[F_AFTER], ns, true,
			       &j->after)) < 0 ||
	    (rc = pt__wordlist(u, fv[F_BEFORE], ns, true,
			       &j->before)) < 0 ||
	    (rc = pt__wordlist(u, fv[F_SALVAGES], ns, true,
			       &j->salvages)) < 0 ||
	    (rc = pt__wordlist(u, fv[F_ENVIRON], NULL, false,
			       &j->environ)) < 0 ||
	    (rc = pt__wordlist(u, fv[F_LOCKS], NULL, false,
			       &j->locks)) < 0)
		return rc;
	j->requires = fv[F_REQUIRES];
	j->imports = fv[F_IMPORTS];
	if (j->imports &&
	    (rc = check_imports(unit, "imports", j->imports, d)) < 0)
		return rc;
	j->group = fv[F_GROUP];
	v = fv[F_CATEGORY_ID];
	j->category_id = pt_units_qualify(u, ns, v ? v : UNCATEGORISED);
	if (!j->category_id)
		return -ENOMEM;
	v = (fv[F_CERT] ? fv[F_CERT] : fv[F_CERT2]);
	j->certification_status = v ? v : "non-blocker";
	if (v && strcmp(v, "non-blocker") && strcmp(v, "blocker") &&
	    (rc = diag(d, PT_SEV_WARNING, PT_EPARSE, unit,
		       "certification_status",
		       "field 'certification_status', must be 'blocker' or "
		       "'non-blocker'")) < 0)
		return rc;
	v = (fv[F_RETRY] ? fv[F_RETRY] : fv[F_RETRY2]);
	j->auto_retry = v ? v : "unspecified";
	v = fv[F_DURATION];
	j->estimated_duration = pt_parse_duration(v);
	if (v && j->estimated_duration < 0 &&
	    (rc = diag(d, PT_SEV_WARNING, PT_EPARSE, unit,
		       "estimated_duration",
		       "field 'estimated_duration', cannot parse '%s'",
		       v)) < 0)
		return rc;
	v = fv[F_TIMEOUT];
	j->timeout = pt_parse_duration(v);
	if (v && j->timeout < 0 &&
	    (rc = diag(d, PT_SEV_ERROR, PT_EPARSE, unit, "timeout",
		       "field 'timeout', cannot parse '%s'", v)) < 0)
		return rc;
	v = fv[F_BUDGET];
	if (v && pt_parse_budget(v, &j->budget_time, &j->budget_memory) < 0 &&
	    (rc = diag(d, PT_SEV_ERROR, PT_EPARSE, unit, "budget",
		       "field 'budget', cannot parse '%s' (expected a "
		       "duration such as 2s or 500ms and/or a memory size "
		       "such as 64M)",
		       v)) < 0)
		return rc;
	v = fv[F_CHAOS];
	j->chaos = v;
	if (v && strcmp(v, "off")) {
		struct pt_chaos plan;
		char err[256];

		if (pt__chaos_parse(v, &plan, err, sizeof(err)) < 0 &&
		    (rc = diag(d, PT_SEV_ERROR, PT_EPARSE, unit, "chaos",
			       "field 'chaos', %s", err)) < 0)
			return rc;
	}
	v = fv[F_TEMPLATE_ID];
	j->template_id = v ? pt_units_qualify(u, ns, v) : NULL;
	j->file = unit->file;
	j->line = unit->line;
	j->unit = unit;
	return pt_unit_checksum(unit, j->checksum);
}

struct pt_rfc822_record *pt__units_new_record(struct pt_units *u,
					      const struct pt_rfc822_record *like,
					      size_t n,
					      struct pt_rfc822_field **ret_f)
{
	struct pt_rfc822_record *r = pt__arena_zalloc(&u->arena, sizeof(*r));
	struct pt_rfc822_field *f =
		pt__arena_zalloc(&u->arena, (n ? n : 1) * sizeof(*f));

	if (!r || !f)
		return NULL;
	if (like) {
		/* The file name is copied: like may belong to the caller. */
		r->file = like->file ? pt__arena_strdup(&u->arena, like->file)
				     : NULL;
		if (like->file && !r->file)
			return NULL;
		r->line_start = like->line_start;
		r->line_end = like->line_end;
	}
	r->n = n;
	r->fields = f;
	*ret_f = f;
	return r;
}

static bool ends_with_siblings(const char *k)
{
	size_t n = strlen(k);
	return n >= 8 && strcmp(k + n - 8, "siblings") == 0;
}

/* Python str.replace(old, "") over s, into the arena. */
static char *replace_all(struct pt_units *u, const char *s, const char *old)
{
	size_t n = strlen(old);
	struct pt_buf b = PT_BUF_INIT;
	char *r;

	for (const char *p = s; *p;) {
		const char *q = strstr(p, old);
		if (!q) {
			pt__buf_adds(&b, p);
			break;
		}
		pt__buf_add(&b, p, (size_t)(q - p));
		p = q + n;
	}
	r = pt__arena_strndup(&u->arena, b.s, b.len);
	pt__buf_release(&b);
	return r;
}

/* A copy of the parent's fields minus *siblings, with room for extra. */
static struct pt_rfc822_record *sibling_base(struct pt_units *u,
					     const struct pt_rfc822_record *p,
					     size_t extra,
					     struct pt_rfc822_field **ret_f)
{
	struct pt_rfc822_field *f;
	struct pt_rfc822_record *r =
		pt__units_new_record(u, p, p->n + extra, &f);
	size_t n = 0;

	if (!r)
		return NULL;
	*ret_f = f;
	for (size_t i = 0; i < p->n; i++)
		if (!ends_with_siblings(p->fields[i].key))
			f[n++] = p->fields[i];
	r->n = n;
	return r;
}

/* data[key] = value (dict assignment: replace, else append). */
static void rec_set(struct pt_rfc822_record *r, struct pt_rfc822_field *f,
		    const char *key, const char *value, unsigned line)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(f[i].key, key) == 0) {
			f[i].value = value;
			f[i].json = NULL;
			return;
		}
	f[r->n].key = key;
	f[r->n].value = value;
	f[r->n].line = line;
	f[r->n].json = NULL;
	r->n++;
}

static int add_job(struct pt_units *u, const struct pt_rfc822_record *rec,
		   const struct pt_rfc822_record *raw, const char *ns,
		   const struct pt_unit *tpl,
		   const struct pt_rfc822_record *params, struct pt_job *parent,
		   struct pt_diags *d);

/*
 * Adds a sibling made of data r: for a template-generated parent, r is
 * unrendered (as upstream's _data) and is rendered with its parameters.
 */
static int add_sibling(struct pt_units *u, struct pt_job *parent,
		       const struct pt_rfc822_record *r, struct pt_diags *d)
{
	const struct pt_unit *unit = parent->unit;
	struct pt_rfc822_record *rendered;
	struct pt_buf err = PT_BUF_INIT;
	const char *field = NULL;
	int rc;

	if (!unit->params)
		return add_job(u, r, NULL, unit->ns, unit->template_unit, NULL,
			       parent, d);
	rc = pt__render_record(u, r, unit->params, &rendered, &field, &err);
	if (rc == PT_ETEMPLATE) {
		rc = diag(d, PT_SEV_ERROR, PT_ETEMPLATE, unit, NULL,
			  "sibling of '%s': field '%s': %s (not generated)",
			  parent->id, field, err.s);
		pt__buf_release(&err);
		return rc < 0 ? rc : 0;
	}
	pt__buf_release(&err);
	if (rc < 0)
		return rc;
	return add_job(u, rendered, r, unit->ns, unit->template_unit,
		       unit->params, parent, d);
}

/* JSON siblings and also-after-suspend(-manual) jobs (§2.4). */
static int add_siblings(struct pt_units *u, struct pt_job *j,
			struct pt_diags *d)
{
	const struct pt_unit *unit = j->unit;
	/* Upstream copies _data: the unrendered fields of generated jobs. */
	const struct pt_rfc822_record *rec =
		unit->raw_data ? unit->raw_data : unit->record;
	/* The JSON is read rendered (tr_siblings), as upstream. */
	const char *sib = pt_unit_value(unit, "siblings");
	int rc, added = 0, depth = 0;

	/* A JSON sibling may be also-after-suspend (depth 2); nothing is
	 * deeper upstream, and nothing here may recurse without end. */
	for (const struct pt_job *p = j->sibling_of; p; p = p->sibling_of)
		depth++;
	if (depth >= 2)
		return 0;

	if (sib) {
		json_error_t err;
		json_t *a = json_loads(sib, JSON_REJECT_DUPLICATES, &err);
		size_t i;
		json_t *o;

		if (!a || !json_is_array(a)) {
			rc = diag(d, PT_SEV_ERROR, PT_EPARSE, unit, "siblings",
				  "field 'siblings', %s",
				  a ? "expected a JSON list of objects"
				    : err.text);
			json_decref(a);
			if (rc < 0)
				return rc;
			goto flags;
		}
		json_array_foreach(a, i, o) {
			struct pt_rfc822_record *r;
			struct pt_rfc822_field *rf;
			const char *k;
			json_t *v;

			if (!json_is_object(o)) {
				rc = diag(d, PT_SEV_ERROR, PT_EPARSE, unit,
					  "siblings",
					  "field 'siblings', entry %zu is not "
					  "an object",
					  i);
				if (rc < 0)
					goto json_fail;
				continue;
			}
			r = sibling_base(u, rec, json_object_size(o), &rf);
			if (!r)
				goto json_nomem;
			json_object_foreach(o, k, v) {
				const char *key = pt__units_intern(u, k,
								   strlen(k));
				const char *val;
				char num[64];
				if (json_is_integer(v)) {
					snprintf(num, sizeof(num),
						 "%" JSON_INTEGER_FORMAT,
						 json_integer_value(v));
					val = pt__arena_strdup(&u->arena, num);
				} else if (json_is_real(v)) {
					snprintf(num, sizeof(num), "%.17g",
						 json_real_value(v));
					val = pt__arena_strdup(&u->arena, num);
				} else if (!json_is_string(v)) {
					rc = diag(d, PT_SEV_ERROR, PT_EPARSE,
						  unit, "siblings",
						  "field 'siblings', value of "
						  "'%s' is not a string",
						  k);
					if (rc < 0)
						goto json_fail;
					continue;
				} else {
					val = pt__arena_strdup(
						&u->arena, json_string_value(v));
				}
				if (!key || !val)
					goto json_nomem;
				rec_set(r, rf, key, val, pt_unit_field_line(
							     unit, "siblings"));
			}
			rc = add_sibling(u, j, r, d);
			if (rc < 0)
				goto json_fail;
			added += rc;
		}
		json_decref(a);
		goto flags;
json_nomem:
		rc = -ENOMEM;
json_fail:
		json_decref(a);
		return rc;
	}
flags:
	for (int manual = 0; manual < 2; manual++) {
		static const char *const prefix[] = { "after-suspend-",
						      "after-suspend-manual-" };
		static const char *const suspend[] = {
			SUSPEND_NS "::suspend/suspend_advanced_auto",
			SUSPEND_NS "::suspend/suspend_advanced"
		};
		unsigned bit = manual ? PT_JOB_ALSO_AFTER_SUSPEND_MANUAL
				      : PT_JOB_ALSO_AFTER_SUSPEND;
		struct pt_rfc822_record *r;
		struct pt_rfc822_field *rf;
		struct pt_buf b = PT_BUF_INIT;
		const char *flags, *dep, *grp;
		char *s;

		if (!(j->flags & bit))
			continue;
		r = sibling_base(u, rec, 5, &rf);
		if (!r)
			return -ENOMEM;
		flags = pt_rfc822_value(r, "flags");
		s = replace_all(u, flags ? flags : "", "also-after-suspend");
		if (!s || !(s = replace_all(u, s, "also-after-suspend-manual")))
			return -ENOMEM;
		rec_set(r, rf, "flags", s, pt_unit_field_line(unit, "flags"));
		/* Lookups take "_flags" first: it must lose the flag too, or
		 * the sibling has a sibling, and so on without end. */
		for (size_t i = 0; i < r->n; i++)
			if (!strcmp(rf[i].key, "_flags"))
				rec_set(r, rf, "_flags", s,
					pt_unit_field_line(unit, "_flags"));
		pt__buf_addf(&b, "%s%s", prefix[manual], j->partial_id);
		rec_set(r, rf, "id", pt__arena_strndup(&u->arena, b.s, b.len),
			unit->line);
		pt__buf_reset(&b);
		pt__buf_addf(&b, "%s after suspend (S3)",
			     j->summary ? j->summary : "None");
		rec_set(r, rf, "_summary", pt__arena_strndup(&u->arena, b.s, b.len),
			unit->line);
		pt__buf_reset(&b);
		dep = pt_rfc822_value(rec, "depends");
		if (dep)
			pt__buf_addf(&b, "%s %s", dep, j->id);
		else
			pt__buf_adds(&b, j->id);
		pt__buf_addf(&b, " %s", suspend[manual]);
		rec_set(r, rf, "depends", pt__arena_strndup(&u->arena, b.s, b.len),
			pt_unit_field_line(unit, "depends"));
		grp = j->group;
		if (grp) {
			pt__buf_reset(&b);
			pt__buf_addf(&b, "%s%s", prefix[manual], grp);
			rec_set(r, rf, "group",
				pt__arena_strndup(&u->arena, b.s, b.len),
				pt_unit_field_line(unit, "group"));
		}
		pt__buf_release(&b);
		for (size_t i = 0; i < r->n; i++)
			if (!r->fields[i].value)
				return -ENOMEM;
		rc = add_sibling(u, j, r, d);
		if (rc < 0)
			return rc;
		added += rc;
	}
	return added;
}

/*
 * A sibling that depends on / comes after a suspend job its parent does
 * not depend on makes the parent run before that suspend job (§2.4; not
 * part of the parent's data, so not of its checksum).
 */
static int add_before_suspend(struct pt_units *u, struct pt_job *parent,
			      const struct pt_job *sib)
{
	const struct pt_strlist *lists[2] = { &sib->depends, &sib->after };

	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < lists[k]->n; i++) {
			const char *id = lists[k]->v[i];
			int rc;
			if (!pt__ends_with(id, "suspend/suspend_advanced_auto") &&
			    !pt__ends_with(id, "suspend/suspend_advanced"))
				continue;
			if (list_has(&parent->depends, id) ||
			    list_has(&parent->after, id))
				continue;
			if ((rc = list_append(u, &parent->before, id)) < 0)
				return rc;
		}
	return 0;
}

static int add_job(struct pt_units *u, const struct pt_rfc822_record *rec,
		   const struct pt_rfc822_record *raw, const char *ns,
		   const struct pt_unit *tpl,
		   const struct pt_rfc822_record *params, struct pt_job *parent,
		   struct pt_diags *d)
{
	struct pt_unit *unit = pt__arena_zalloc(&u->arena, sizeof(*unit));
	struct pt_job *j = pt__arena_zalloc(&u->arena, sizeof(*j));
	struct pt_job *old;
	const char *pid;
	int rc, added;

	if (!unit || !j)
		return -ENOMEM;
	/* A job with template-engine: jinja2 (not from a template) has its
	 * fields rendered too, without parameters (upstream, on access). */
	if (!raw && !params) {
		const char *eng = pt_rfc822_value(rec, "template-engine");
		if (eng && strcmp(eng, "jinja2") == 0) {
			struct pt_rfc822_record *rendered;
			struct pt_buf err = PT_BUF_INIT;
			const char *field = NULL;

			rc = pt__render_record(u, rec, NULL, &rendered, &field,
					       &err);
			if (rc == PT_ETEMPLATE) {
				rc = d ? pt__diags_add(
						 d, PT_SEV_ERROR, PT_ETEMPLATE,
						 rec->file, rec->line_start,
						 field,
						 "field '%s': %s (job skipped)",
						 field, err.s)
				       : 0;
				pt__buf_release(&err);
				return rc < 0 ? rc : 0;
			}
			pt__buf_release(&err);
			if (rc < 0)
				return rc;
			raw = rec;
			rec = rendered;
		}
	}
	pid = pt_rfc822_value(rec, "unit");
	unit->type = pid && strcmp(pid, "setup job") == 0 ? PT_UNIT_SETUP_JOB
							   : PT_UNIT_JOB;
	unit->ns = ns;
	unit->file = rec->file;
	unit->line = rec->line_start;
	unit->record = rec;
	unit->template_unit = tpl;
	unit->params = params;
	unit->raw_data = raw;
	pid = pt_rfc822_value(rec, "id");
	if (!pid)
		pid = pt_rfc822_value(rec, "name");
	if (!pid) {
		rc = diag(d, PT_SEV_ERROR, PT_EPARSE, unit, NULL,
			  "field 'id', required field missing");
		return rc < 0 ? rc : 0;
	}
	unit->partial_id = pid;
	unit->id = pt_units_qualify(u, ns, pid);
	if (!unit->id)
		return -ENOMEM;
	if (!parent && pt_vec_push(&u->units, unit) < 0)
		return -ENOMEM;
	if ((rc = fill_job(u, j, unit, d)) < 0)
		return rc;
	j->sibling_of = parent;
	old = pt__map_gets(&u->job_by_id, j->id);
	if (old) {
		if (strcmp(old->checksum, j->checksum) == 0)
			return 0; /* identical: dropped, as upstream */
		rc = diag(d, PT_SEV_ERROR, PT_EDUPLICATE, unit, NULL,
			  "duplicate job id '%s' (first defined at %s:%u)",
			  j->id, old->file, old->line);
		return rc < 0 ? rc : 0;
	}
	if (u->jobs.n >= u->max_units) {
		rc = diag(d, PT_SEV_ERROR, PT_ETOOBIG, unit, NULL,
			  "more than %zu jobs", u->max_units);
		return rc < 0 ? rc : 0;
	}
	unit->job = j;
	j->index = u->jobs.n;
	if (pt_vec_push(&u->jobs, j) < 0 ||
	    pt__map_put(&u->job_by_id, j->id, strlen(j->id), j, NULL) < 0)
		return -ENOMEM;
	if (parent && (rc = add_before_suspend(u, parent, j)) < 0)
		return rc;
	added = 1;
	rc = add_siblings(u, j, d);
	if (rc < 0)
		return rc;
	return added + rc;
}

int pt__units_add_job_unit(struct pt_units *u,
			   const struct pt_rfc822_record *rec,
			   const struct pt_rfc822_record *raw, const char *ns,
			   const struct pt_unit *tpl,
			   const struct pt_rfc822_record *params,
			   struct pt_diags *d)
{
	return add_job(u, rec, raw, ns, tpl, params, NULL, d);
}
