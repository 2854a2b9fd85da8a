/*
 * Providers: a source directory with manage.py, a *.provider definition
 * file (absolute location, relocatable, explicit directories), a
 * directory of definitions as on PROVIDERPATH, the provider of each job,
 * bad definitions (file:line, provider skipped), the PROVIDERPATH list.
 */
#define _DEFAULT_SOURCE 1 /* realpath */
#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "os/file.h"

#include <proctor/unit.h>
#include <sys/stat.h>

#include "tap.h"

static void put(const char *dir, const char *name, const char *text,
		unsigned mode)
{
	struct pt_buf p = PT_BUF_INIT;

	PT_ASSERT_OK(pt__buf_addf(&p, "%s/%s", dir, name));
	for (char *s = strchr(p.s + strlen(dir) + 1, '/'); s;
	     s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p.s, 0755);
		*s = '/';
	}
	PT_ASSERT_OK(pt__write_file_atomic(p.s, text, strlen(text), mode));
	pt__buf_release(&p);
}

/* A provider source tree under root/name. */
static const char *make_provider(const char *root, const char *name)
{
	static char dir[4096];

	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	mkdir(dir, 0755);
	put(dir, "manage.py",
	    "from plainbox.provider_manager import setup\n"
	    "setup(\n    name='checkbox-provider-t',\n"
	    "    namespace=\"com.example\",\n"
	    "    gettext_domain=\"checkbox-provider-t\",\n)\n",
	    0644);
	put(dir, "units/jobs.pxu", "id: a\nplugin: shell\ncommand: tool\n",
	    0644);
	put(dir, "bin/tool", "#!/bin/sh\necho tool\n", 0755);
	put(dir, "data/f.txt", "data\n", 0644);
	return dir;
}

static struct pt_units *load(const char *path, struct pt_diags **ret_d)
{
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_INT_GE(pt_units_load_path(u, path, NULL, d), 0);
	*ret_d = d;
	return u;
}

static char *abs_of(const char *p)
{
	static char buf[4][4096];
	static int k;
	char *r = buf[k++ % 4];

	PT_ASSERT_NOT_NULL(realpath(p, r));
	return r;
}

PT_TEST(provider_source_directory)
{
	const char *dir = make_provider(pt_test_tmpdir(), "src");
	struct pt_diags *d;
	struct pt_units *u = load(dir, &d);
	const struct pt_provider *p;
	struct pt_buf b = PT_BUF_INIT;

	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	PT_ASSERT_UINT_EQ(pt_units_provider_count(u), 1);
	p = pt_units_provider(u, 0);
	PT_ASSERT_STR_EQ(p->name, "checkbox-provider-t");
	PT_ASSERT_STR_EQ(p->ns, "com.example");
	PT_ASSERT_STR_EQ(p->gettext_domain, "checkbox-provider-t");
	PT_ASSERT_STR_EQ(p->base_dir, abs_of(dir));
	pt__buf_addf(&b, "%s/units", abs_of(dir));
	PT_ASSERT_STR_EQ(p->units_dir, b.s);
	PT_ASSERT_NULL(p->jobs_dir);
	PT_ASSERT_NULL(p->locale_dir);
	PT_ASSERT_NULL(p->definition);
	PT_ASSERT_NULL(p->version);
	PT_ASSERT(p->manage_py);
	PT_ASSERT(pt_units_have_checkbox_providers(u));
	pt__buf_reset(&b);
	pt__buf_addf(&b, "%s/bin", abs_of(dir));
	PT_ASSERT_STR_EQ(p->bin_dir, b.s);
	pt__buf_reset(&b);
	pt__buf_addf(&b, "%s/data", abs_of(dir));
	PT_ASSERT_STR_EQ(p->data_dir, b.s);
	PT_ASSERT(pt_units_job_provider(
			  u, pt_units_find_job(u, "com.example::a")) == p);
	pt__buf_release(&b);
	pt_diags_free(d);
	pt_units_free(u);
}

PT_TEST(provider_definition_files)
{
	const char *root = pt_test_tmpdir();
	const char *src = make_provider(root, "tree");
	char defs[4096];
	struct pt_buf t = PT_BUF_INIT;
	struct pt_diags *d;
	struct pt_units *u;
	const struct pt_provider *p;

	snprintf(defs, sizeof(defs), "%s/pp", root);
	mkdir(defs, 0755);
	/* what `manage.py develop` writes */
	pt__buf_addf(&t,
		     "[PlainBox Provider]\ndescription = T\n"
		     "gettext_domain = checkbox-provider-t\n"
		     "location = %s\nname = com.example:t\n"
		     "version = 4.0.0\n\n",
		     src);
	put(defs, "com.example.t.provider", t.s, 0644);
	/* bad ones: skipped with a diagnostic each */
	put(defs, "nover.provider",
	    "[PlainBox Provider]\nname = com.example:nover\n", 0644);
	put(defs, "rel.provider",
	    "[PlainBox Provider]\nname = x:rel\nversion = 1\n"
	    "location = relative/dir\n",
	    0644);
	put(defs, "other.provider", "[Something]\nname = x\n", 0644);
	u = load(defs, &d);
	PT_ASSERT_UINT_EQ(pt_units_provider_count(u), 1);
	p = pt_units_provider(u, 0);
	PT_ASSERT_STR_EQ(p->name, "com.example:t");
	PT_ASSERT_STR_EQ(p->ns, "com.example");
	PT_ASSERT_STR_EQ(p->version, "4.0.0");
	PT_ASSERT(!p->manage_py); /* the definition's location has one, but
				     the definition is what counts */
	PT_ASSERT(pt_units_have_checkbox_providers(u));
	PT_ASSERT_STR_EQ(p->base_dir, abs_of(src));
	PT_ASSERT_NOT_NULL(p->definition);
	PT_ASSERT(pt__ends_with(p->definition, "/pp/com.example.t.provider"));
	PT_ASSERT(pt_units_job_provider(
			  u, pt_units_find_job(u, "com.example::a")) == p);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 3);
	{
		const struct pt_diag *g0 = pt_diags_get(d, 0);
		const struct pt_diag *g1 = pt_diags_get(d, 1);
		const struct pt_diag *g2 = pt_diags_get(d, 2);
		PT_ASSERT(pt__ends_with(g0->file, "/nover.provider"));
		PT_ASSERT_STR_EQ(g0->message,
				 "problem in provider definition, field "
				 "'version': must be set (provider skipped)");
		PT_ASSERT(pt__ends_with(g1->file, "/other.provider"));
		PT_ASSERT_STR_EQ(g1->message, "no [PlainBox Provider] section "
					      "(provider skipped)");
		PT_ASSERT(pt__ends_with(g2->file, "/rel.provider"));
		PT_ASSERT_UINT_EQ(g2->line, 4);
		PT_ASSERT_STR_EQ(g2->message,
				 "problem in provider definition, field "
				 "'location': cannot be relative (provider "
				 "skipped)");
	}
	pt_diags_free(d);
	pt_units_free(u);
	pt__buf_release(&t);
}

PT_TEST(provider_relocatable_and_explicit_dirs)
{
	const char *root = pt_test_tmpdir();
	const char *src = make_provider(root, "reloc");
	struct pt_buf t = PT_BUF_INIT, path = PT_BUF_INIT;
	struct pt_diags *d;
	struct pt_units *u;
	const struct pt_provider *p;

	put(src, "r.provider",
	    "[PlainBox Provider]\nname = com.example:r\nversion = 1\n"
	    "relocatable = True\nlocation = /nonexistent\n",
	    0644);
	pt__buf_addf(&path, "%s/r.provider", src);
	u = load(path.s, &d);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	PT_ASSERT_UINT_EQ(pt_units_provider_count(u), 1);
	p = pt_units_provider(u, 0);
	PT_ASSERT_STR_EQ(p->base_dir, abs_of(src));
	PT_ASSERT_NOT_NULL(pt_units_find_job(u, "com.example::a"));
	pt_diags_free(d);
	pt_units_free(u);
	/* explicit directories, namespace given on its own */
	pt__buf_addf(&t,
		     "[PlainBox Provider]\nname = plainname\nversion = 1\n"
		     "namespace = org.ns\nunits_dir = %s/units\n"
		     "bin_dir = %s/bin\n",
		     src, src);
	put(root, "explicit.provider", t.s, 0644);
	pt__buf_reset(&path);
	pt__buf_addf(&path, "%s/explicit.provider", root);
	u = load(path.s, &d);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	p = pt_units_provider(u, 0);
	PT_ASSERT_STR_EQ(p->ns, "org.ns");
	PT_ASSERT_NULL(p->base_dir);
	PT_ASSERT_NULL(p->data_dir);
	PT_ASSERT(pt__ends_with(p->bin_dir, "/reloc/bin"));
	PT_ASSERT_NOT_NULL(pt_units_find_job(u, "org.ns::a"));
	pt_diags_free(d);
	pt_units_free(u);
	pt__buf_release(&t);
	pt__buf_release(&path);
}

PT_TEST(providerpath_dirs)
{
	char **v = NULL;
	size_t n = 0;

	PT_ASSERT_OK(pt_providerpath_dirs("/a::/b/c:", NULL, "/h", &v, &n));
	PT_ASSERT_UINT_EQ(n, 2);
	PT_ASSERT_STR_EQ(v[0], "/a");
	PT_ASSERT_STR_EQ(v[1], "/b/c");
	PT_ASSERT_NULL(v[2]);
	pt_free(v);
	PT_ASSERT_OK(pt_providerpath_dirs(NULL, "", "/home/u", &v, &n));
	PT_ASSERT_UINT_EQ(n, 4);
	PT_ASSERT_STR_EQ(v[0], "/usr/local/share/plainbox-providers-1");
	PT_ASSERT_STR_EQ(v[1], "/usr/share/plainbox-providers-1");
	PT_ASSERT_STR_EQ(v[2], "/home/u/.local/share/plainbox-providers-1");
	PT_ASSERT_STR_EQ(v[3], "/var/tmp/checkbox-providers-develop");
	pt_free(v);
	PT_ASSERT_OK(pt_providerpath_dirs(NULL, "/x", "/home/u", &v, &n));
	PT_ASSERT_STR_EQ(v[2], "/x/plainbox-providers-1");
	pt_free(v);
	PT_ASSERT_OK(pt_providerpath_dirs("", NULL, NULL, &v, &n));
	PT_ASSERT_UINT_EQ(n, 0);
	PT_ASSERT_NULL(v[0]);
	pt_free(v);
}

PT_TEST(provider_without_manage_py_is_not_checkbox)
{
	const char *root = pt_test_tmpdir();
	struct pt_buf d = PT_BUF_INIT;
	struct pt_diags *dg;
	struct pt_units *u;

	pt__buf_addf(&d, "%s/plain", root);
	mkdir(d.s, 0755);
	put(d.s, "units/a.pxu", "id: a\nplugin: shell\ncommand: true\n", 0644);
	u = load(d.s, &dg);
	PT_ASSERT_UINT_EQ(pt_units_provider_count(u), 1);
	PT_ASSERT(!pt_units_provider(u, 0)->manage_py);
	PT_ASSERT(!pt_units_have_checkbox_providers(u));
	pt_diags_free(dg);
	pt_units_free(u);
	pt__buf_release(&d);
}
