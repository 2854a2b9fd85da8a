/*
 * unit/launcher.c - Checkbox launcher files (proctor/launcher.h): the
 * sections and keys of checkbox-ng's CONFIG_SPEC that proctor implements,
 * and a clear error for everything else.
 */
#include "base/arena.h"
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "base/ini.h"
#include "base/str.h"
#include "base/vec.h"
#include "os/file.h"

#include <proctor/launcher.h>
#include <strings.h>

#define MAX_WORDS 10000

struct lparse {
	struct pt_launcher *l;
	struct pt_arena arena;
	const char *file;
	struct pt_diags *d;
	int err;
	PT_VEC(struct pt_launcher_kv) env, manifest;
	PT_VEC(struct pt_launcher_report) reports;
	unsigned stock_line; /* line of stock_reports; 0: not written */
};

/* The launcher and its arena in one allocation's lifetime. */
struct launcher_box {
	struct pt_launcher pub;
	struct pt_arena arena;
	struct pt_launcher_kv *env, *manifest;
	struct pt_launcher_report *reports;
};

static void problem(struct lparse *p, unsigned line, const char *field,
		    const char *fmt, ...) PT_PRINTF(4, 5);

static void problem(struct lparse *p, unsigned line, const char *field,
		    const char *fmt, ...)
{
	va_list ap;

	if (!p->err)
		p->err = PT_EPARSE;
	if (!p->d)
		return;
	va_start(ap, fmt);
	if (pt__diags_vadd(p->d, PT_SEV_ERROR, PT_EPARSE, p->file, line, field,
			   fmt, ap) < 0)
		p->err = -ENOMEM;
	va_end(ap);
}

static const char *dup(struct lparse *p, const char *s)
{
	const char *r = pt__arena_strdup(&p->arena, s);

	if (!r)
		p->err = -ENOMEM;
	return r;
}

/*
 * Checkbox's list values: shlex.split(value.replace(",", " ")), POSIX
 * mode: whitespace separates, '...' is literal, "..." and bare words
 * take backslash escapes. An unclosed quote is a problem.
 */
static void split_list(struct lparse *p, const struct pt__ini_entry *e,
		       struct pt_strlist *ret)
{
	PT_VEC(const char *) v = PT_VEC_INIT;
	struct pt_buf w = PT_BUF_INIT;
	const char *s = e->value;
	bool in_word = false;

	for (;;) {
		char c = *s;
		if (c == ',')
			c = ' ';
		if (!c || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (in_word) {
				const char *x = pt__arena_strndup(&p->arena,
								  w.s, w.len);
				if (!x || v.n >= MAX_WORDS ||
				    pt_vec_push(&v, x) < 0) {
					if (v.n >= MAX_WORDS)
						problem(p, e->line, e->key,
							"more than %d words",
							MAX_WORDS);
					else
						p->err = -ENOMEM;
					goto out;
				}
				pt__buf_reset(&w);
				in_word = false;
			}
			if (!*s)
				break;
			s++;
			continue;
		}
		in_word = true;
		if (c == '\'' || c == '"') {
			char q = c;
			s++;
			while (*s && *s != q) {
				if (q == '"' && *s == '\\' &&
				    (s[1] == '"' || s[1] == '\\'))
					s++;
				if (pt__buf_addch(&w, *s == ',' ? ' ' : *s) <
				    0) {
					p->err = -ENOMEM;
					goto out;
				}
				s++;
			}
			if (!*s) {
				problem(p, e->line, e->key,
					"no closing quotation in the value "
					"of '%s'",
					e->key);
				goto out;
			}
			s++;
			continue;
		}
		if (c == '\\' && s[1]) {
			s++;
			c = *s == ',' ? ' ' : *s;
		}
		if (pt__buf_addch(&w, c) < 0) {
			p->err = -ENOMEM;
			goto out;
		}
		s++;
	}
	ret->n = v.n;
	ret->v = v.n ? pt__arena_memdup(&p->arena, v.v, v.n * sizeof(*v.v))
		     : NULL;
	if (v.n && !ret->v)
		p->err = -ENOMEM;
out:
	pt_vec_release(&v);
	pt__buf_release(&w);
}

static bool get_bool(struct lparse *p, const struct pt__ini_entry *e)
{
	static const char *const yes[] = { "yes", "true" };
	static const char *const no[] = { "no", "false" };

	for (size_t i = 0; i < 2; i++) {
		if (!strcasecmp(e->value, yes[i]))
			return true;
		if (!strcasecmp(e->value, no[i]))
			return false;
	}
	problem(p, e->line, e->key,
		"'%s' in [%s] is not a boolean (yes, no, true or false): "
		"'%s'",
		e->key, e->section, e->value);
	return false;
}

static unsigned get_uint(struct lparse *p, const struct pt__ini_entry *e)
{
	uint64_t v;

	if (pt__parse_u64(e->value, &v) < 0 || v > 1000000) {
		problem(p, e->line, e->key,
			"'%s' in [%s] is not a number (0 to 1000000): '%s'",
			e->key, e->section, e->value);
		return 0;
	}
	return (unsigned)v;
}

static bool one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(v, *set))
			return true;
	return false;
}

static void unsupported(struct lparse *p, const struct pt__ini_entry *e,
			const char *why)
{
	problem(p, e->line, e->key,
		"'%s' in [%s] is not supported by proctor%s%s", e->key,
		e->section, why ? ": " : "", why ? why : "");
}

static void unknown(struct lparse *p, const struct pt__ini_entry *e)
{
	problem(p, e->line, e->key, "unknown key '%s' in [%s]", e->key,
		e->section);
}

static void key_launcher(struct lparse *p, const struct pt__ini_entry *e)
{
	struct pt_launcher *l = p->l;
	static const char *const stock[] = {
		"text",		 "submission_files",	  "none",
		"certification", "certification-staging", NULL
	};

	if (!strcmp(e->key, "launcher_version")) {
		l->version = get_uint(p, e);
		if (!p->err && l->version != 1)
			problem(p, e->line, e->key,
				"launcher_version %u is not supported (only 1)",
				l->version);
	} else if (!strcmp(e->key, "app_id")) {
		l->app_id = dup(p, e->value);
	} else if (!strcmp(e->key, "app_version")) {
		l->app_version = dup(p, e->value);
	} else if (!strcmp(e->key, "session_title")) {
		l->session_title = dup(p, e->value);
	} else if (!strcmp(e->key, "session_desc")) {
		l->session_desc = dup(p, e->value);
	} else if (!strcmp(e->key, "local_submission")) {
		(void)get_bool(p, e); /* remote sessions only */
	} else if (!strcmp(e->key, "stock_reports")) {
		split_list(p, e, &l->stock_reports);
		for (size_t i = 0; i < l->stock_reports.n; i++)
			if (!one_of(l->stock_reports.v[i], stock))
				problem(p, e->line, e->key,
					"stock report '%s' is not supported "
					"by proctor (text, submission_files "
					"or none)",
					l->stock_reports.v[i]);
		p->stock_line = e->line;
	} else {
		unknown(p, e);
	}
}

static void key_other(struct lparse *p, const struct pt__ini_entry *e)
{
	struct pt_launcher *l = p->l;
	const char *s = e->section, *k = e->key;

	if (!strcmp(s, "test plan")) {
		if (!strcmp(k, "unit"))
			l->test_plan = *e->value ? dup(p, e->value) : NULL;
		else if (!strcmp(k, "forced"))
			l->test_plan_forced = get_bool(p, e);
		else if (!strcmp(k, "filter"))
			split_list(p, e, &l->test_plan_filter);
		else
			unknown(p, e);
	} else if (!strcmp(s, "test selection")) {
		if (!strcmp(k, "forced"))
			l->selection_forced = get_bool(p, e);
		else if (!strcmp(k, "exclude"))
			split_list(p, e, &l->exclude);
		else if (!strcmp(k, "match"))
			split_list(p, e, &l->match);
		else
			unknown(p, e);
	} else if (!strcmp(s, "ui")) {
		static const char *const outputs[] = { "show", "hide",
						       "hide-resource-and-"
						       "attachment",
						       "hide-automated", NULL };
		static const char *const verb[] = { "normal", "verbose",
						    "debug", NULL };
		if (!strcmp(k, "type")) {
			if (!strcmp(e->value, "silent"))
				l->ui = PT_LAUNCHER_UI_SILENT;
			else if (!strcmp(e->value, "interactive"))
				l->ui = PT_LAUNCHER_UI_INTERACTIVE;
			else
				problem(p, e->line, k,
					"[ui] type '%s' is not supported "
					"(interactive or silent)",
					e->value);
		} else if (!strcmp(k, "output")) {
			if (!one_of(e->value, outputs))
				problem(p, e->line, k,
					"[ui] output '%s' is not one of show, "
					"hide, hide-resource-and-attachment, "
					"hide-automated",
					e->value);
		} else if (!strcmp(k, "verbosity")) {
			if (!one_of(e->value, verb))
				problem(p, e->line, k,
					"[ui] verbosity '%s' is not one of "
					"normal, verbose, debug",
					e->value);
		} else if (!strcmp(k, "dont_suppress_output")) {
			(void)get_bool(p, e);
		} else if (!strcmp(k, "auto_retry")) {
			l->auto_retry = get_bool(p, e);
		} else if (!strcmp(k, "max_attempts")) {
			l->max_attempts = get_uint(p, e);
		} else if (!strcmp(k, "delay_before_retry")) {
			l->delay_before_retry = get_uint(p, e);
		} else {
			unknown(p, e);
		}
	} else if (!strcmp(s, "agent") || !strcmp(s, "daemon")) {
		if (!strcmp(k, "normal_user"))
			l->normal_user = *e->value ? dup(p, e->value) : NULL;
		else
			unknown(p, e);
	} else if (!strcmp(s, "features")) {
		if (!strcmp(k, "strict_template_expansion"))
			l->strict_template_expansion = get_bool(p, e);
		else if (!strcmp(k, "systemd_based_job_runner"))
			unsupported(p, e, "jobs run as processes of proctor");
		else
			unknown(p, e);
	} else if (!strcmp(s, "restart")) {
		if (!strcmp(k, "strategy"))
			unsupported(p, e,
				    "proctor resumes with `proctor resume`");
		else
			unknown(p, e);
	} else if (!strcmp(s, "config")) {
		if (!strcmp(k, "config_filename"))
			unsupported(p, e,
				    "proctor reads no checkbox.conf; put the "
				    "settings in the launcher");
		else
			unknown(p, e);
	} else if (!strcmp(s, "environment") || !strcmp(s, "manifest")) {
		struct pt_launcher_kv kv = { dup(p, k), dup(p, e->value),
					     e->line };
		if (pt_vec_push(s[0] == 'e' ? &p->env : &p->manifest, kv) < 0)
			p->err = -ENOMEM;
	} else {
		problem(p, e->line, k, "unknown section [%s]", s);
	}
}

/* The parametric sections: [transport:X], [exporter:X], [report:X]. */
static const struct pt__ini_entry *param(const struct pt__ini *ini,
					 const char *kind, const char *name,
					 const char *key)
{
	char sec[512];

	snprintf(sec, sizeof(sec), "%s:%s", kind, name);
	return pt__ini_find(ini, sec, key);
}

static bool has_section(const struct pt__ini *ini, const char *kind,
			const char *name)
{
	char sec[512];

	snprintf(sec, sizeof(sec), "%s:%s", kind, name);
	for (size_t i = 0; i < pt__ini_count(ini); i++) {
		const struct pt__ini_entry *e = pt__ini_get(ini, i);
		if (!e->key && !strcmp(e->section, sec))
			return true;
	}
	return false;
}

static void key_param(struct lparse *p, const struct pt__ini_entry *e)
{
	const char *s = e->section, *k = e->key;
	static const char *const tkeys[] = { "type",	  "stream",  "path",
					     "secure_id", "staging", NULL };

	if (pt__starts_with(s, "transport:")) {
		if (!one_of(k, tkeys))
			unknown(p, e);
		else if (!strcmp(k, "type") && strcmp(e->value, "file") &&
			 strcmp(e->value, "stream"))
			problem(p, e->line, k,
				"transport type '%s' is not supported by "
				"proctor (file or stream)",
				e->value);
		else if (!strcmp(k, "stream") && strcmp(e->value, "stdout") &&
			 strcmp(e->value, "stderr"))
			problem(p, e->line, k,
				"transport stream '%s' is not stdout or "
				"stderr",
				e->value);
		else if (!strcmp(k, "secure_id") || !strcmp(k, "staging"))
			unsupported(p, e,
				    "no upload to the certification site");
	} else if (pt__starts_with(s, "exporter:")) {
		if (!strcmp(k, "options")) {
			struct pt_strlist opts = { 0, NULL };
			split_list(p, e, &opts);
			if (opts.n)
				unsupported(p, e, "exporter options");
		} else if (strcmp(k, "unit")) {
			unknown(p, e);
		}
	} else if (pt__starts_with(s, "report:")) {
		if (strcmp(k, "exporter") && strcmp(k, "transport") &&
		    strcmp(k, "forced"))
			unknown(p, e);
		else if (!strcmp(k, "forced"))
			(void)get_bool(p, e);
	} else {
		problem(p, e->line, k, "unknown section [%s]", s);
	}
}

/* Exporter units proctor writes (docs/checkbox.md). */
static const char *const exporters[] = {
	"com.canonical.plainbox::tar",	 "com.canonical.plainbox::json",
	"com.canonical.plainbox::junit", "com.canonical.plainbox::html",
	"com.canonical.plainbox::text",	 NULL,
};

static void resolve_reports(struct lparse *p, const struct pt__ini *ini)
{
	for (size_t i = 0; i < pt__ini_count(ini); i++) {
		const struct pt__ini_entry *h = pt__ini_get(ini, i);
		const struct pt__ini_entry *ex, *tr, *f, *unit, *type, *x;
		struct pt_launcher_report r = { 0 };
		struct pt_buf id = PT_BUF_INIT;
		const char *name;

		if (h->key || !pt__starts_with(h->section, "report:"))
			continue;
		name = h->section + 7;
		ex = param(ini, "report", name, "exporter");
		tr = param(ini, "report", name, "transport");
		f = param(ini, "report", name, "forced");
		r.name = dup(p, name);
		r.line = h->line;
		r.forced = f && !strcasecmp(f->value, "yes");
		r.forced |= f && !strcasecmp(f->value, "true");
		if (!ex || !tr) {
			problem(p, h->line, ex ? "transport" : "exporter",
				"[report:%s] needs an exporter and a "
				"transport",
				name);
			continue;
		}
		/* an [exporter:X] section, else a built-in exporter's id */
		unit = param(ini, "exporter", ex->value, "unit");
		if (has_section(ini, "exporter", ex->value) && !unit) {
			problem(p, ex->line, "exporter",
				"[exporter:%s] has no unit", ex->value);
			continue;
		}
		(void)!pt__buf_adds(&id, unit ? unit->value : ex->value);
		if (!strstr(id.s, "::")) {
			pt__buf_reset(&id);
			(void)!pt__buf_addf(&id, "com.canonical.plainbox::%s",
					    unit ? unit->value : ex->value);
		}
		if (!one_of(id.s, exporters))
			problem(p, unit ? unit->line : ex->line,
				unit ? "unit" : "exporter",
				"exporter '%s' is not supported by proctor "
				"(tar, json, junit, html or text)",
				id.s);
		r.exporter = dup(p, id.s);
		pt__buf_release(&id);
		if (!has_section(ini, "transport", tr->value)) {
			problem(p, tr->line, "transport",
				"[report:%s] names transport '%s', which has "
				"no [transport:%s] section",
				name, tr->value, tr->value);
			continue;
		}
		type = param(ini, "transport", tr->value, "type");
		if (!type) {
			problem(p, tr->line, "type",
				"[transport:%s] has no type", tr->value);
			continue;
		}
		r.transport_type = dup(p, type->value);
		if (!strcmp(type->value, "stream") && r.exporter &&
		    !strcmp(r.exporter, "com.canonical.plainbox::tar"))
			problem(p, tr->line, "transport",
				"[report:%s] writes the tar exporter's archive "
				"to a stream; give it a file transport",
				name);
		x = param(ini, "transport", tr->value, "path");
		r.path = x ? dup(p, x->value) : NULL;
		x = param(ini, "transport", tr->value, "stream");
		r.stream = dup(p, x ? x->value : "stdout");
		if (!strcmp(type->value, "file") && (!r.path || !*r.path)) {
			problem(p, type->line, "path",
				"[transport:%s] of type file has no path",
				tr->value);
			continue;
		}
		if (pt_vec_push(&p->reports, r) < 0)
			p->err = -ENOMEM;
	}
}

static void defaults(struct lparse *p)
{
	static const char *const stock[] = { "text", "certification",
					     "submission_files" };
	static const char *const star[] = { "*" };
	struct pt_launcher *l = p->l;

	l->version = 1;
	l->app_id = "checkbox-cli";
	l->app_version = "";
	l->session_title = "session title";
	l->session_desc = "";
	l->stock_reports = (struct pt_strlist){ 3, stock };
	l->test_plan_filter = (struct pt_strlist){ 1, star };
	l->max_attempts = 3;
	l->delay_before_retry = 1;
	l->strict_template_expansion = true;
}

/* An array of n elements in the arena (never NULL unless out of memory). */
static void *copy_out(struct lparse *p, const void *v, size_t n, size_t size)
{
	void *r = pt__arena_zalloc(&p->arena, n * size + 1);

	if (!r)
		p->err = -ENOMEM;
	else if (n)
		memcpy(r, v, n * size);
	return r;
}

int pt_launcher_parse(const char *text, size_t len, const char *file,
		      struct pt_diags *diags, struct pt_launcher **ret)
{
	struct pt__ini_limits lim = { .max_len = PT_LAUNCHER_MAX };
	struct launcher_box *box;
	struct pt__ini *ini = NULL;
	struct lparse p = { .file = file ? file : "<input>", .d = diags };
	int rc;

	rc = pt__ini_parse(text, len, p.file, &lim, diags, &ini);
	if (rc < 0)
		return rc;
	box = pt__calloc(1, sizeof(*box));
	if (!box) {
		pt__ini_free(ini);
		return -ENOMEM;
	}
	p.l = &box->pub;
	defaults(&p);
	for (size_t i = 0; i < pt__ini_count(ini) && p.err != -ENOMEM; i++) {
		const struct pt__ini_entry *e = pt__ini_get(ini, i);
		if (!e->key) {
			if (!strcmp(e->section, "DEFAULT"))
				problem(&p, e->line, NULL,
					"[DEFAULT] section is not supported");
			continue;
		}
		if (!strcmp(e->section, "DEFAULT"))
			continue;
		if (!strcmp(e->section, "launcher"))
			key_launcher(&p, e);
		else if (strchr(e->section, ':'))
			key_param(&p, e);
		else
			key_other(&p, e);
	}
	if (p.err != -ENOMEM)
		resolve_reports(&p, ini);
	/* checkbox-cli skips the certification upload of a silent session
	 * that has no [transport:c3]; proctor has no upload at all */
	for (size_t i = 0; p.stock_line && i < box->pub.stock_reports.n; i++) {
		const char *r = box->pub.stock_reports.v[i];
		if (pt__starts_with(r, "certification") &&
		    box->pub.ui != PT_LAUNCHER_UI_SILENT)
			problem(&p, p.stock_line, "stock_reports",
				"stock report '%s' uploads to the "
				"certification site, which proctor does not "
				"do (allowed in a silent launcher, where "
				"checkbox-cli skips it)",
				r);
	}
	box->pub.file = dup(&p, p.file);
	box->pub.text = pt__arena_strndup(&p.arena, text ? text : "", len);
	if (!box->pub.text)
		p.err = -ENOMEM;
	pt__ini_free(ini);
	if (!p.err) {
		box->env = copy_out(&p, p.env.v, p.env.n, sizeof(*p.env.v));
		box->manifest = copy_out(&p, p.manifest.v, p.manifest.n,
					 sizeof(*p.manifest.v));
		box->reports = copy_out(&p, p.reports.v, p.reports.n,
					sizeof(*p.reports.v));
	}
	box->pub.n_environment = p.env.n;
	box->pub.n_manifest = p.manifest.n;
	box->pub.n_reports = p.reports.n;
	pt_vec_release(&p.env);
	pt_vec_release(&p.manifest);
	pt_vec_release(&p.reports);
	if (p.err) {
		pt__arena_release(&p.arena);
		pt__free(box);
		return p.err;
	}
	box->pub.environment = box->env;
	box->pub.manifest = box->manifest;
	box->pub.reports = box->reports;
	box->arena = p.arena;
	*ret = &box->pub;
	return 0;
}

int pt_launcher_load(const char *path, struct pt_diags *diags,
		     struct pt_launcher **ret)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!path)
		return -EINVAL;
	rc = pt__read_file(path, PT_LAUNCHER_MAX, &text, &len);
	if (rc < 0) {
		if (rc != -ENOMEM && diags &&
		    pt__diags_add(diags, PT_SEV_ERROR, rc, path, 0, NULL,
				  "cannot read the launcher: %s",
				  pt_strerror(rc)) < 0)
			rc = -ENOMEM;
		return rc;
	}
	rc = pt_launcher_parse(text, len, path, diags, ret);
	pt__free(text);
	return rc;
}

struct pt_launcher *pt_launcher_free(struct pt_launcher *l)
{
	struct launcher_box *box;

	if (!l)
		return NULL;
	box = pt_container_of(l, struct launcher_box, pub);
	pt__arena_release(&box->arena);
	pt__free(box);
	return NULL;
}
