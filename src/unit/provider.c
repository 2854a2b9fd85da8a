/*
 * unit/provider.c - providers as PlainBox knows them: a source directory
 * with manage.py, or a "*.provider" definition file (what `manage.py
 * develop` and packages install), and the PROVIDERPATH search list.
 * What jobs get from their provider at run time is in docs/runner.md.
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "base/ini.h"
#include "base/str.h"
#include "os/file.h"
#include "os/path.h"
#include "os/provos.h"
#include "unit/internal.h"

#include <strings.h>

#define SECTION	       "PlainBox Provider"
#define MAX_DEFINITION ((size_t)64 << 10)

/* base + "/" + sub in u's arena when it is a directory, else NULL. */
static const char *subdir(struct pt_units *u, const char *base, const char *sub,
			  int *err)
{
	struct pt_buf b = PT_BUF_INIT;
	const char *r = NULL;

	if (!base)
		return NULL;
	if (pt__buf_addf(&b, "%s/%s", base, sub) < 0) {
		*err = -ENOMEM;
	} else if (pt__path_kind(b.s) == PT_PATH_DIR) {
		r = pt__arena_strndup(&u->arena, b.s, b.len);
		if (!r)
			*err = -ENOMEM;
	}
	pt__buf_release(&b);
	return r;
}

/* The absolute form of path in u's arena (path itself if unresolvable). */
static const char *absolute(struct pt_units *u, const char *path, int *err)
{
	struct pt_buf b = PT_BUF_INIT;
	const char *r;

	if (!path)
		return NULL;
	r = pt__realpath(path, &b) == 0
		    ? pt__arena_strndup(&u->arena, b.s, b.len)
		    : pt__arena_strdup(&u->arena, path);
	if (!r)
		*err = -ENOMEM;
	pt__buf_release(&b);
	return r;
}

static const char *arena_dup(struct pt_units *u, const char *s, int *err)
{
	const char *r;

	if (!s)
		return NULL;
	r = pt__arena_strdup(&u->arena, s);
	if (!r)
		*err = -ENOMEM;
	return r;
}

static bool already(const struct pt_units *u, const char *match0,
		    const char *match1)
{
	pt_vec_foreach(&u->providers, i) {
		const struct pt__provider *p = u->providers.v[i];
		if ((match0 && p->match[0] && !strcmp(p->match[0], match0)) ||
		    (match1 && p->match[1] && !strcmp(p->match[1], match1)))
			return true;
	}
	return false;
}

static int push(struct pt_units *u, struct pt__provider *p)
{
	if (already(u, p->match[0], p->match[1]))
		return 0;
	return pt_vec_push(&u->providers, p);
}

/* locale/, else build/mo/ (PlainBox's effective_locale_dir). */
static const char *locale_of(struct pt_units *u, const char *base, int *err)
{
	const char *r = subdir(u, base, "locale", err);

	return r ? r : subdir(u, base, "build/mo", err);
}

int pt__units_add_provider(struct pt_units *u, const char *dir, const char *ns)
{
	struct pt__provider *p = pt__arena_zalloc(&u->arena, sizeof(*p));
	char *name, *domain;
	int err = 0;

	if (!p)
		return -ENOMEM;
	p->match[0] = subdir(u, dir, "units", &err);
	p->match[1] = subdir(u, dir, "jobs", &err);
	name = pt__manage_py_value(dir, "name");
	domain = pt__manage_py_value(dir, "gettext_domain");
	p->pub.name = arena_dup(u, name, &err);
	p->pub.gettext_domain = arena_dup(u, domain, &err);
	pt__free(name);
	pt__free(domain);
	p->pub.ns = arena_dup(u, ns, &err);
	p->pub.base_dir = absolute(u, dir, &err);
	{
		struct pt_buf mp = PT_BUF_INIT;
		if (pt__buf_addf(&mp, "%s/manage.py", dir) < 0)
			err = -ENOMEM;
		else
			p->pub.manage_py = pt__path_kind(mp.s) == PT_PATH_FILE;
		pt__buf_release(&mp);
	}
	p->pub.units_dir = absolute(u, p->match[0], &err);
	p->pub.jobs_dir = absolute(u, p->match[1], &err);
	p->pub.data_dir = subdir(u, p->pub.base_dir, "data", &err);
	p->pub.bin_dir = subdir(u, p->pub.base_dir, "bin", &err);
	p->pub.locale_dir = locale_of(u, p->pub.base_dir, &err);
	if (err)
		return err;
	return push(u, p) < 0 ? -ENOMEM : 0;
}

/* ---- .provider files */

struct defn {
	struct pt_units *u;
	const char *file;
	const struct pt__ini *ini;
	struct pt_diags *d;
	int err;
};

static const struct pt__ini_entry *field(const struct defn *f, const char *key)
{
	return pt__ini_find(f->ini, SECTION, key);
}

static void bad(struct defn *f, const struct pt__ini_entry *e, const char *key,
		const char *msg)
{
	if (!f->err)
		f->err = PT_EPARSE;
	if (f->d && pt__diags_add(f->d, PT_SEV_ERROR, PT_EPARSE, f->file,
				  e ? e->line : 0, key,
				  "problem in provider definition, field "
				  "'%s': %s (provider skipped)",
				  key, msg) < 0)
		f->err = -ENOMEM;
}

/* A directory field: absolute and existing, or unset. */
static const char *dir_field(struct defn *f, const char *key)
{
	const struct pt__ini_entry *e = field(f, key);

	if (!e)
		return NULL;
	if (!*e->value)
		bad(f, e, key, "cannot be empty");
	else if (e->value[0] != '/')
		bad(f, e, key, "cannot be relative");
	else if (pt__path_kind(e->value) != PT_PATH_DIR)
		bad(f, e, key, "no such directory");
	else
		return e->value;
	return NULL;
}

static bool truthy(const char *v)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };

	for (size_t i = 0; i < PT_ARRAY_SIZE(yes); i++)
		if (!strcasecmp(v, yes[i]))
			return true;
	return false;
}

/* The directory part of path (at least "/" or "."), in u's arena. */
static const char *dirname_of(struct pt_units *u, const char *path, int *err)
{
	const char *slash = strrchr(path, '/');
	const char *r;

	if (!slash)
		r = pt__arena_strdup(&u->arena, ".");
	else
		r = pt__arena_strndup(&u->arena, path,
				      slash == path ? 1
						    : (size_t)(slash - path));
	if (!r)
		*err = -ENOMEM;
	return r;
}

static int load_definition(struct defn *f, const struct pt_load_options *opt)
{
	struct pt_units *u = f->u;
	struct pt__provider *p = pt__arena_zalloc(&u->arena, sizeof(*p));
	const struct pt__ini_entry *name = field(f, "name");
	const struct pt__ini_entry *version = field(f, "version");
	const struct pt__ini_entry *ns = field(f, "namespace");
	const struct pt__ini_entry *reloc = field(f, "relocatable");
	const struct pt__ini_entry *domain = field(f, "gettext_domain");
	const char *loc, *dirs[5] = { NULL };
	static const char *const keys[5] = { "units_dir", "jobs_dir",
					     "data_dir", "bin_dir",
					     "locale_dir" };
	int err = 0, rc;

	if (!p)
		return -ENOMEM;
	if (!name || !*name->value)
		bad(f, name, "name", name ? "cannot be empty" : "must be set");
	if (!version || !*version->value)
		bad(f, version, "version",
		    version ? "cannot be empty" : "must be set");
	if (ns && !*ns->value)
		bad(f, ns, "namespace", "cannot be empty");
	if (reloc && truthy(reloc->value)) {
		loc = dirname_of(u, f->file, &err);
	} else {
		loc = dir_field(f, "location");
		for (size_t i = 0; i < 5; i++)
			dirs[i] = dir_field(f, keys[i]);
	}
	if (f->err)
		return f->err;
	if (err)
		return err;
	loc = absolute(u, loc, &err);
	p->pub.definition = absolute(u, f->file, &err);
	p->pub.name = arena_dup(u, name->value, &err);
	p->pub.version = arena_dup(u, version->value, &err);
	p->pub.gettext_domain =
		arena_dup(u, domain ? domain->value : NULL, &err);
	if (ns) {
		p->pub.ns = arena_dup(u, ns->value, &err);
	} else {
		const char *c = strchr(name->value, ':');
		p->pub.ns = c ? pt__arena_strndup(&u->arena, name->value,
						  (size_t)(c - name->value))
			      : pt__arena_strdup(&u->arena, name->value);
		if (!p->pub.ns)
			err = -ENOMEM;
	}
	p->pub.base_dir = loc;
	for (size_t i = 0; i < 5; i++)
		dirs[i] = dirs[i] ? absolute(u, dirs[i], &err) : NULL;
	p->match[0] = dirs[0] ? dirs[0] : subdir(u, loc, "units", &err);
	p->match[1] = dirs[1] ? dirs[1] : subdir(u, loc, "jobs", &err);
	p->pub.units_dir = p->match[0];
	p->pub.jobs_dir = p->match[1];
	p->pub.data_dir = dirs[2] ? dirs[2] : subdir(u, loc, "data", &err);
	p->pub.bin_dir = dirs[3] ? dirs[3] : subdir(u, loc, "bin", &err);
	p->pub.locale_dir = dirs[4] ? dirs[4] : locale_of(u, loc, &err);
	if (err)
		return err;
	if (already(u, p->match[0], p->match[1]))
		return 0;
	if (pt_vec_push(&u->providers, p) < 0)
		return -ENOMEM;
	rc = pt__units_load_trees(u, p->match[0], p->match[1], p->pub.ns, opt,
				  f->d);
	return rc;
}

int pt__units_load_provider_file(struct pt_units *u, const char *path,
				 const struct pt_load_options *opt,
				 struct pt_diags *d)
{
	struct pt__ini_limits lim = { .max_len = MAX_DEFINITION };
	struct defn f = { .u = u, .file = path, .d = d };
	struct pt__ini *ini = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = pt__units_read(path, MAX_DEFINITION, d, &text, &len);
	if (rc <= 0)
		return rc;
	rc = pt__ini_parse(text, len, path, &lim, d, &ini);
	pt__free(text);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return 0; /* diagnosed */
	f.ini = ini;
	if (!pt__ini_find(ini, SECTION, "name") && !field(&f, "version")) {
		bool any = false;
		for (size_t i = 0; i < pt__ini_count(ini); i++)
			any |= !strcmp(pt__ini_get(ini, i)->section, SECTION);
		if (!any) {
			rc = d ? pt__diags_add(d, PT_SEV_ERROR, PT_EPARSE, path,
					       0, NULL,
					       "no [" SECTION "] section "
					       "(provider skipped)")
			       : 0;
			pt__ini_free(ini);
			return rc < 0 ? rc : 0;
		}
	}
	rc = load_definition(&f, opt);
	pt__ini_free(ini);
	if (rc == PT_EPARSE)
		return 0; /* diagnosed */
	return rc;
}

/* ---- lookups */

size_t pt_units_provider_count(const struct pt_units *u)
{
	return u ? u->providers.n : 0;
}

const struct pt_provider *pt_units_provider(const struct pt_units *u, size_t i)
{
	return u && i < u->providers.n ? &u->providers.v[i]->pub : NULL;
}

bool pt_units_have_checkbox_providers(const struct pt_units *u)
{
	pt_vec_foreach(&u->providers, i) {
		const struct pt_provider *p = &u->providers.v[i]->pub;
		if (p->manage_py || p->definition)
			return true;
	}
	return false;
}

static bool under(const char *file, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(file, dir, n) && file[n] == '/';
}

const struct pt_provider *pt_units_job_provider(const struct pt_units *u,
						const struct pt_job *job)
{
	if (!u || !job || !job->file)
		return NULL;
	pt_vec_foreach(&u->providers, i) {
		const struct pt__provider *p = u->providers.v[i];
		for (int k = 0; k < 2; k++)
			if (p->match[k] && under(job->file, p->match[k]))
				return &p->pub;
	}
	return NULL;
}

static int add_str(struct pt_buf *b, const char *s, size_t n)
{
	return pt__buf_add(b, s, n) < 0 || pt__buf_addch(b, '\0') < 0 ? -ENOMEM
								      : 0;
}

int pt_providerpath_dirs(const char *providerpath, const char *xdg_data_home,
			 const char *home, char ***ret, size_t *ret_n)
{
	static const char *const fixed[] = {
		"/usr/local/share/plainbox-providers-1",
		"/usr/share/plainbox-providers-1",
	};
	static const char develop[] = "/var/tmp/checkbox-providers-develop";
	struct pt_buf s = PT_BUF_INIT, x = PT_BUF_INIT;
	size_t n = 0, offs;
	char **v, *strs;
	int rc = 0;

	if (providerpath) {
		for (const char *p = providerpath; *p;) {
			const char *e = strchr(p, ':');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			if (l && !rc) {
				rc = add_str(&s, p, l);
				n++;
			}
			p += l + (e ? 1 : 0);
		}
	} else {
		for (size_t i = 0; i < 2 && !rc; i++)
			rc = add_str(&s, fixed[i], strlen(fixed[i]));
		if (!rc && xdg_data_home && *xdg_data_home)
			rc = pt__buf_addf(&x, "%s/plainbox-providers-1",
					  xdg_data_home);
		else if (!rc)
			rc = pt__buf_addf(
				&x, "%s/.local/share/plainbox-providers-1",
				home ? home : "");
		rc = rc ? rc : add_str(&s, x.s, x.len);
		rc = rc ? rc : add_str(&s, develop, sizeof(develop) - 1);
		n = 4;
	}
	pt__buf_release(&x);
	offs = (n + 1) * sizeof(char *);
	v = rc ? NULL : pt__malloc(offs + s.len + 1);
	if (!v) {
		pt__buf_release(&s);
		return -ENOMEM;
	}
	strs = (char *)v + offs;
	memcpy(strs, s.s, s.len + 1);
	for (size_t i = 0, at = 0; i < n; i++) {
		v[i] = strs + at;
		at += strlen(strs + at) + 1;
	}
	v[n] = NULL;
	pt__buf_release(&s);
	*ret = v;
	*ret_n = n;
	return 0;
}
