/*
 * unit/load.c - loading unit files and providers (docs/plainbox.md §2.1):
 * which files are read, the namespace from manage.py, unit types.
 */
#include "base/common.h"
#include "base/diag.h"
#include "base/str.h"
#include "base/utf8.h"
#include "os/file.h"
#include "os/path.h"
#include "unit/internal.h"

#include <ctype.h>

#define MAX_FILE   ((size_t)64 << 20)
#define MAX_DEPTH  32

static unsigned line_of(const char *s, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off; i++)
		line += s[i] == '\n';
	return line;
}

/* Builds the unit for a non-job record. */
static int add_other(struct pt_units *u, const struct pt_rfc822_record *rec,
		     enum pt_unit_type t, const char *ns, struct pt_diags *d)
{
	struct pt_unit *unit = pt__arena_zalloc(&u->arena, sizeof(*unit));
	const char *pid;

	if (!unit)
		return -ENOMEM;
	unit->type = t;
	unit->ns = ns;
	unit->file = rec->file;
	unit->line = rec->line_start;
	unit->record = rec;
	pid = pt_rfc822_value(rec, "id");
	if (pid) {
		unit->partial_id = pid;
		unit->id = pt_units_qualify(u, ns, pid);
		if (!unit->id)
			return -ENOMEM;
	} else if (t == PT_UNIT_TEMPLATE || t == PT_UNIT_TEST_PLAN ||
		   t == PT_UNIT_CATEGORY || t == PT_UNIT_MANIFEST_ENTRY) {
		if (d && pt__diags_add(d, PT_SEV_ERROR, PT_EPARSE, rec->file,
				       rec->line_start, "id",
				       "%s unit: field 'id', required field "
				       "missing",
				       pt_unit_type_name(t)) < 0)
			return -ENOMEM;
		return 0;
	}
	if (u->units.n >= u->max_units) {
		if (d && pt__diags_add(d, PT_SEV_ERROR, PT_ETOOBIG, rec->file,
				       rec->line_start, NULL,
				       "more than %zu units", u->max_units) < 0)
			return -ENOMEM;
		return 0;
	}
	if (pt_vec_push(&u->units, unit) < 0)
		return -ENOMEM;
	if (unit->id && (t == PT_UNIT_TEST_PLAN || t == PT_UNIT_TEMPLATE)) {
		struct pt_map *m = t == PT_UNIT_TEST_PLAN ? &u->plan_by_id
							  : &u->template_by_id;
		const struct pt_unit *old = pt__map_gets(m, unit->id);
		if (old) {
			if (d && pt__diags_add(d, PT_SEV_ERROR, PT_EDUPLICATE,
					       rec->file, rec->line_start, "id",
					       "duplicate %s id '%s' (first "
					       "defined at %s:%u)",
					       pt_unit_type_name(t), unit->id,
					       old->file, old->line) < 0)
				return -ENOMEM;
		} else if (pt__map_put(m, unit->id, strlen(unit->id), unit,
				       NULL) < 0) {
			return -ENOMEM;
		}
	}
	return 1;
}

static int load_records(struct pt_units *u, const struct pt_rfc822_record *recs,
			size_t n, const char *ns, struct pt_diags *d)
{
	int added = 0, rc;

	for (size_t i = 0; i < n; i++) {
		const struct pt_rfc822_record *rec = &recs[i];
		const char *type = pt_rfc822_value(rec, "unit");
		enum pt_unit_type t = PT_UNIT_JOB;

		if (type && pt_unit_type_parse(type, &t) < 0) {
			const struct pt_rfc822_field *f =
				pt_rfc822_field(rec, "unit");
			if (d && pt__diags_add(d, PT_SEV_ERROR, PT_ENOTSUP,
					       rec->file,
					       f ? f->line : rec->line_start,
					       "unit",
					       "unknown unit type '%s' (unit "
					       "skipped)",
					       type) < 0)
				return -ENOMEM;
			continue;
		}
		if (t == PT_UNIT_JOB || t == PT_UNIT_SETUP_JOB)
			rc = pt__units_add_job_unit(u, rec, NULL, ns, NULL, NULL, d);
		else
			rc = add_other(u, rec, t, ns, d);
		if (rc < 0)
			return rc;
		added += rc > 0;
	}
	return added;
}

static const char *intern_ns(struct pt_units *u, const char *ns)
{
	return pt__units_intern(u, ns ? ns : "", ns ? strlen(ns) : 0);
}

static int load_text(struct pt_units *u, const char *text, size_t len,
		     const char *file, const char *ns,
		     const struct pt_load_options *opt, struct pt_diags *d)
{
	struct pt_records *r = NULL;
	size_t bad = pt__utf8_invalid_at((const unsigned char *)text, len);
	int rc;

	if (bad != (size_t)-1) {
		if (d && pt__diags_add(d, PT_SEV_ERROR, PT_EPARSE, file,
				       line_of(text, bad), NULL,
				       "not valid UTF-8 at byte %zu (file "
				       "skipped)",
				       bad) < 0)
			return -ENOMEM;
		return 0;
	}
	if (pt__ends_with(file, ".yaml") || pt__ends_with(file, ".yml")) {
		const struct pt_rfc822_record *recs;
		size_t n;

		rc = pt__yaml_records(u, text, len, file,
				      opt ? &opt->limits : NULL, d, &recs, &n);
		if (rc < 0)
			return rc == -ENOMEM ? rc : 0;
		ns = intern_ns(u, ns);
		if (!ns)
			return -ENOMEM;
		return load_records(u, recs, n, ns, d);
	}
	rc = pt_rfc822_parse(text, len, file, opt ? &opt->limits : NULL, NULL,
			     &r);
	if (rc < 0)
		return rc;
	if (pt_records_error(r, NULL, NULL)) {
		unsigned line;
		const char *msg;
		int err = pt_records_error(r, &line, &msg);

		rc = d ? pt__diags_add(d, PT_SEV_ERROR, err, file, line, NULL,
				       "%s (file skipped)", msg)
		       : 0;
		pt_records_free(r);
		return rc < 0 ? rc : 0;
	}
	if (pt_vec_push(&u->files, r) < 0) {
		pt_records_free(r);
		return -ENOMEM;
	}
	ns = intern_ns(u, ns);
	if (!ns)
		return -ENOMEM;
	return load_records(u, pt_records_get(r, 0), pt_records_count(r), ns,
			    d);
}

int pt_units_load_buffer(struct pt_units *u, const char *text, size_t len,
			 const char *file, const struct pt_load_options *opt,
			 struct pt_diags *diags)
{
	if (!u || (!text && len))
		return -EINVAL;
	return load_text(u, text ? text : "", len, file ? file : "<input>",
			 opt ? opt->ns : NULL, opt, diags);
}

int pt__units_read(const char *path, size_t limit, struct pt_diags *d,
		   char **ret, size_t *ret_len)
{
	int rc = pt__read_file(path, limit, ret, ret_len);

	if (rc >= 0)
		return 1;
	if (rc == -ENOMEM)
		return rc;
	rc = d ? pt__diags_add(d, PT_SEV_ERROR, rc, path, 0, NULL,
			       "cannot read: %s", pt_strerror(rc))
	       : 0;
	return rc < 0 ? rc : 0;
}

static int load_file(struct pt_units *u, const char *path, const char *ns,
		     const struct pt_load_options *opt, struct pt_diags *d)
{
	char *text = NULL;
	size_t len = 0, limit = opt && opt->max_file ? opt->max_file : MAX_FILE;
	int rc;

	rc = pt__units_read(path, limit, d, &text, &len);
	if (rc <= 0)
		return rc;
	rc = load_text(u, text, len, path, ns, opt, d);
	pt__free(text);
	return rc;
}

/* Where the setup( call of manage.py starts (the text if none). */
static const char *setup_call(const char *text)
{
	const char *found = NULL;

	for (const char *p = text; (p = strstr(p, "setup(")); p += 6)
		if (p == text || !(isalnum((unsigned char)p[-1]) ||
				   p[-1] == '_' || p[-1] == '.'))
			found = p;
	return found ? found : text;
}

char *pt__manage_py_value(const char *dir, const char *key)
{
	struct pt_buf path = PT_BUF_INIT;
	char *text = NULL, *r = NULL;
	size_t len, kl = strlen(key);

	if (pt__buf_addf(&path, "%s/manage.py", dir) < 0 ||
	    pt__read_file(path.s, 1 << 20, &text, &len) < 0)
		goto out;
	for (const char *p = setup_call(text); (p = strstr(p, key)); p += kl) {
		const char *q = p + kl, *e;
		char quote;

		if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=' || q[1] == '=')
			continue;
		q++;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '"' && *q != '\'')
			continue;
		quote = *q++;
		e = strchr(q, quote);
		if (!e)
			continue;
		r = pt__strndup(q, (size_t)(e - q));
		break;
	}
out:
	pt__free(text);
	pt__buf_release(&path);
	return r;
}

/*
 * namespace= of manage.py's setup(), else name= up to ':'; NULL if none.
 * The built-in providers of checkbox-ng (categories, exporters,
 * manifest) take their definition from plainbox.impl.providers.special:
 * namespace com.canonical.plainbox.
 */
static char *manage_py_namespace(const char *dir)
{
	char *r = pt__manage_py_value(dir, "namespace"), *c, *text = NULL;
	struct pt_buf path = PT_BUF_INIT;
	size_t len;

	if (r)
		return r;
	r = pt__manage_py_value(dir, "name");
	if (r && (c = strchr(r, ':')))
		*c = '\0';
	if (r || pt__buf_addf(&path, "%s/manage.py", dir) < 0 ||
	    pt__read_file(path.s, 1 << 20, &text, &len) < 0)
		goto out;
	if (strstr(text, "plainbox.impl.providers.special"))
		r = pt__strdup("com.canonical.plainbox");
out:
	pt__free(text);
	pt__buf_release(&path);
	return r;
}

static bool wanted(const char *name, bool legacy)
{
	if (legacy)
		return pt__ends_with(name, ".txt") ||
		       pt__ends_with(name, ".in") ||
		       pt__ends_with(name, ".pxu") ||
		       pt__ends_with(name, ".yaml");
	return pt__ends_with(name, ".pxu") || pt__ends_with(name, ".txt") ||
	       pt__ends_with(name, ".txt.in") ||
	       pt__ends_with(name, ".yaml") || pt__ends_with(name, ".yml");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of a directory, as paths (pt__dir_each). */
struct dir_names {
	PT_VEC(char *) names;
	const char *dir;
};

static int add_dir_name(void *ctx, const char *name)
{
	struct dir_names *x = ctx;
	size_t len = strlen(x->dir) + strlen(name) + 2;
	char *n = pt__malloc(len);

	if (!n || pt_vec_push(&x->names, n) < 0) {
		pt__free(n);
		return -ENOMEM;
	}
	snprintf(n, len, "%s/%s", x->dir, name);
	return 0;
}

/*
 * Calls visit(path, is_dir, ctx) for each entry of dir (hidden ones
 * skipped), in sorted path order, and sums what it returns; stops at the
 * first negative return. A directory that cannot be opened is a
 * diagnostic, not an error.
 */
static int walk_dir(const char *dir, struct pt_diags *d,
		    int (*visit)(const char *path, bool is_dir, void *ctx),
		    void *ctx)
{
	struct dir_names x = { PT_VEC_INIT, dir };
	int rc = 0, added = 0;

	rc = pt__dir_each(dir, add_dir_name, &x);
	if (rc < 0 && rc != -ENOMEM) {
		int e = rc;

		rc = d ? pt__diags_add(d, PT_SEV_ERROR, e, dir, 0, NULL,
				       "cannot open directory: %s",
				       pt_strerror(e))
		       : 0;
		pt_vec_foreach(&x.names, i) pt__free(x.names.v[i]);
		pt_vec_release(&x.names);
		return rc < 0 ? rc : 0;
	}
	if (rc < 0)
		goto out;
	qsort(x.names.v, x.names.n, sizeof(*x.names.v), cmp_str);
	pt_vec_foreach(&x.names, i) {
		int kind = pt__path_kind(x.names.v[i]);

		if (kind != PT_PATH_DIR && kind != PT_PATH_FILE)
			continue;
		rc = visit(x.names.v[i], kind == PT_PATH_DIR, ctx);
		if (rc < 0)
			goto out;
		added += rc;
	}
	rc = added;
out:
	pt_vec_foreach(&x.names, i) pt__free(x.names.v[i]);
	pt_vec_release(&x.names);
	return rc;
}

struct tree_walk {
	struct pt_units *u;
	bool legacy;
	const char *ns;
	const struct pt_load_options *opt;
	struct pt_diags *d;
	int depth;
};

static int load_tree(struct pt_units *u, const char *dir, bool legacy,
		     const char *ns, const struct pt_load_options *opt,
		     struct pt_diags *d, int depth);

static int visit_tree(const char *path, bool is_dir, void *ctx)
{
	struct tree_walk *w = ctx;

	if (is_dir)
		return load_tree(w->u, path, w->legacy, w->ns, w->opt, w->d,
				 w->depth + 1);
	return wanted(path, w->legacy) ? load_file(w->u, path, w->ns, w->opt,
						   w->d)
				       : 0;
}

/* Every wanted file under dir, recursively, in sorted path order. */
static int load_tree(struct pt_units *u, const char *dir, bool legacy,
		     const char *ns, const struct pt_load_options *opt,
		     struct pt_diags *d, int depth)
{
	struct tree_walk w = { u, legacy, ns, opt, d, depth };

	if (depth > MAX_DEPTH)
		return 0;
	return walk_dir(dir, d, visit_tree, &w);
}

static bool is_dir(const char *p)
{
	return pt__path_kind(p) == PT_PATH_DIR;
}

static int load_provider(struct pt_units *u, const char *dir,
			 const struct pt_load_options *opt, struct pt_diags *d,
			 int depth);

static int visit_plain(const char *path, bool is_dir, void *ctx)
{
	struct tree_walk *w = ctx;

	if (is_dir)
		return load_provider(w->u, path, w->opt, w->d, w->depth + 1);
	if (pt__ends_with(path, ".provider"))
		return pt__units_load_provider_file(w->u, path, w->opt, w->d);
	return wanted(path, false) ? load_file(w->u, path,
					       w->opt ? w->opt->ns : NULL,
					       w->opt, w->d)
				   : 0;
}

/*
 * A directory that is no provider: its unit files, and each
 * subdirectory as a provider or again as such a directory (so that
 * `proctor validate providers/` finds every provider's manage.py).
 */
static int load_plain_dir(struct pt_units *u, const char *dir,
			  const struct pt_load_options *opt,
			  struct pt_diags *d, int depth)
{
	struct tree_walk w = { u, false, NULL, opt, d, depth };

	if (depth > MAX_DEPTH)
		return 0;
	return walk_dir(dir, d, visit_plain, &w);
}

static int load_provider(struct pt_units *u, const char *dir,
			 const struct pt_load_options *opt, struct pt_diags *d,
			 int depth)
{
	struct pt_buf p = PT_BUF_INIT;
	char *ns = NULL;
	const char *use;
	int rc = 0, added = 0;
	bool any = false;

	if (!opt || !opt->ns)
		ns = manage_py_namespace(dir);
	use = opt && opt->ns ? opt->ns : ns;
	for (int legacy = 0; legacy < 2; legacy++) {
		pt__buf_reset(&p);
		if (pt__buf_addf(&p, "%s/%s", dir, legacy ? "jobs" : "units") <
		    0) {
			rc = -ENOMEM;
			goto out;
		}
		if (!is_dir(p.s))
			continue;
		any = true;
		rc = load_tree(u, p.s, legacy, use, opt, d, 0);
		if (rc < 0)
			goto out;
		added += rc;
	}
	if (!any) /* not a provider: look inside */
		rc = load_plain_dir(u, dir, opt, d, depth);
	else if ((rc = pt__units_add_provider(u, dir, use ? use : "")) == 0)
		rc = added;
out:
	pt__free(ns);
	pt__buf_release(&p);
	return rc;
}

int pt_units_load_path(struct pt_units *u, const char *path,
		       const struct pt_load_options *opt, struct pt_diags *diags)
{
	if (!u || !path)
		return -EINVAL;
	if (is_dir(path))
		return load_provider(u, path, opt, diags, 0);
	if (pt__ends_with(path, ".provider"))
		return pt__units_load_provider_file(u, path, opt, diags);
	return load_file(u, path, opt ? opt->ns : NULL, opt, diags);
}

int pt__units_load_trees(struct pt_units *u, const char *units_dir,
			 const char *jobs_dir, const char *ns,
			 const struct pt_load_options *opt, struct pt_diags *d)
{
	int rc, added = 0;

	if (units_dir) {
		rc = load_tree(u, units_dir, false, ns, opt, d, 0);
		if (rc < 0)
			return rc;
		added += rc;
	}
	if (jobs_dir) {
		rc = load_tree(u, jobs_dir, true, ns, opt, d, 0);
		if (rc < 0)
			return rc;
		added += rc;
	}
	return added;
}

int pt_units_load_paths(struct pt_units *u, size_t n,
			const char *const *paths,
			const struct pt_load_options *opt,
			struct pt_diags *diags)
{
	int total = 0;

	for (size_t i = 0; i < n; i++) {
		int rc = pt_units_load_path(u, paths[i], opt, diags);
		if (rc < 0)
			return rc;
		total += rc;
	}
	return total;
}
