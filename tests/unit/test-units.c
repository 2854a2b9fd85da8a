/*
 * Units and jobs (docs/plainbox.md §2.2-2.4): field parsing, checksums
 * (expected values computed with upstream's recipe in Python), siblings and
 * after-suspend jobs, providers and diagnostics.
 */
#include "base/common.h"
#include "base/str.h"
#include "os/file.h"

#include <proctor/unit.h>
#include <sys/stat.h>

#include "tap.h"

static struct pt_units *load(const char *text, const char *ns,
			     struct pt_diags **ret_d)
{
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_load_options opt = { .ns = ns };

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_units_load_buffer(u, text, strlen(text), "t.pxu", &opt,
					  d));
	if (ret_d)
		*ret_d = d;
	else
		pt_diags_free(d);
	return u;
}

static void assert_list(struct pt_strlist l, const char *joined)
{
	char buf[1024] = "";
	size_t o = 0;

	for (size_t i = 0; i < l.n; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s",
				      i ? "|" : "", l.v[i]);
	PT_ASSERT_STR_EQ(buf, joined);
}

PT_TEST(checksum_measured_example)
{
	/* §2.3 (measured): no provider, so no "namespace" key. */
	struct pt_units *u = load("id: a\nplugin: shell\ncommand: true\n"
				  "requires: res_pkg.name == 'x'\n",
				  NULL, NULL);
	const struct pt_job *j = pt_units_find_job(u, "a");

	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_STR_EQ(j->checksum, "de4bf6a2b7080f4137346440c202eb4256ff1f"
				      "f531fd85a756879939db8668db");
	pt_units_free(u);
}

PT_TEST(checksum_namespace_and_non_ascii)
{
	struct pt_units *u = load("id: a\nplugin: shell\ncommand: true\n", "com.example", NULL);
	const struct pt_job *j = pt_units_find_job(u, "com.example::a");

	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_STR_EQ(j->checksum, "8f1dc542f9bd0233e8afc71054633b4f677dba"
				      "5800a1ae11bbbba60998fa6012");
	pt_units_free(u);
	u = load("id: u\nplugin: shell\n_summary: caf\xc3\xa9 \xe2\x98\x83 "
		 "\xf0\x9f\x98\x80 \"q\" \\ tab\there\ncommand: echo \x01\x7f\n",
		 NULL, NULL);
	j = pt_units_find_job(u, "u");
	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_STR_EQ(j->checksum, "3ddd83e6dfa65b10279ebcbc7537f5fe17ca29"
				      "ab779ca764e4ff116b35253d70");
	pt_units_free(u);
}

PT_TEST(job_fields_parsed)
{
	struct pt_diags *d = NULL;
	struct pt_units *u = load(
		"id: j\n_summary: Sum\nplugin: user-interact-verify\n"
		"purpose:\n Do it\nsteps:\n 1. x\nverification: ok?\n"
		"command: echo hi\nuser: root\n"
		"environ: A, B  C\nflags: noreturn, preserve-locale weird\n"
		"depends: a \"b c\", other::d\nafter: e\nbefore: f\n"
		"salvages: g\nestimated_duration: 1h 2m 3s\ntimeout: 3m 30s\n"
		"requires: package.name == 'x'\nimports: from com.x import y as z\n"
		"group: grp\ncategory_id: cat\ncertification_status: blocker\n"
		"auto_retry: no\nlocks: gpu, net\n",
		"ns", &d);
	const struct pt_job *j = pt_units_find_job(u, "ns::j");

	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_STR_EQ(j->partial_id, "j");
	PT_ASSERT_STR_EQ(j->ns, "ns");
	PT_ASSERT_STR_EQ(j->summary, "Sum");
	PT_ASSERT_STR_EQ(j->description,
			 "PURPOSE:\nDo it\nSTEPS:\n1. x\nVERIFICATION:\nok?");
	PT_ASSERT_INT_EQ(j->plugin, PT_PLUGIN_USER_INTERACT_VERIFY);
	PT_ASSERT_STR_EQ(j->command, "echo hi");
	PT_ASSERT_STR_EQ(j->shell, "bash");
	PT_ASSERT_STR_EQ(j->user, "root");
	assert_list(j->environ, "A|B|C");
	PT_ASSERT_UINT_EQ(j->flags, PT_JOB_NORETURN | PT_JOB_PRESERVE_LOCALE);
	assert_list(j->flag_list, "noreturn|preserve-locale|weird");
	assert_list(j->depends, "ns::a|ns::b c|other::d");
	assert_list(j->after, "ns::e");
	assert_list(j->before, "ns::f");
	assert_list(j->salvages, "ns::g");
	assert_list(j->locks, "gpu|net");
	PT_ASSERT(j->estimated_duration == 3723.0);
	PT_ASSERT(j->timeout == 210.0);
	PT_ASSERT_STR_EQ(j->requires, "package.name == 'x'");
	PT_ASSERT_STR_EQ(j->imports, "from com.x import y as z");
	PT_ASSERT_STR_EQ(j->group, "grp");
	PT_ASSERT_STR_EQ(j->category_id, "ns::cat");
	PT_ASSERT_STR_EQ(j->certification_status, "blocker");
	PT_ASSERT_STR_EQ(j->auto_retry, "no");
	PT_ASSERT_NULL(j->template_id);
	PT_ASSERT_STR_EQ(j->file, "t.pxu");
	PT_ASSERT_INT_EQ(j->line, 1);
	PT_ASSERT_NOT_NULL(j->unit);
	PT_ASSERT_INT_EQ(pt_unit_field_line(j->unit, "summary"), 2);
	pt_units_free(u);
	pt_diags_free(d);
}

PT_TEST(job_defaults)
{
	struct pt_units *u = load("name: legacy\nflags: simple\ncommand: x\n",
				  NULL, NULL);
	const struct pt_job *j = pt_units_find_job(u, "legacy");

	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_INT_EQ(j->plugin, PT_PLUGIN_SHELL);
	PT_ASSERT_STR_EQ(j->category_id,
			 "com.canonical.plainbox::uncategorised");
	PT_ASSERT_STR_EQ(j->certification_status, "non-blocker");
	PT_ASSERT_STR_EQ(j->auto_retry, "unspecified");
	PT_ASSERT(j->estimated_duration < 0);
	PT_ASSERT(j->timeout < 0);
	PT_ASSERT_NULL(j->summary);
	PT_ASSERT_NULL(j->description);
	PT_ASSERT_NULL(j->user);
	PT_ASSERT_UINT_EQ(j->depends.n, 0);
	pt_units_free(u);
}

PT_TEST(estimated_duration_forms)
{
	static const struct {
		const char *in;
		double out;
	} cases[] = {
		{ "1h 2m 3s", 3723 }, { "3m 30s", 210 }, { "90", 90 },
		{ "1:30", -1 },       { "2.5", 2.5 },    { "1h", 3600 },
		{ "5s", 5 },          { "1h:30m", 5400 }, { " 7 ", 7 },
		{ "abc", -1 },        { "", -1 },        { "1m 1h", -1 },
		{ "0x10", -1 },       { "10m", 600 },
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++)
		if (pt_parse_duration(cases[i].in) != cases[i].out)
			PT_FAIL("'%s': %g, expected %g", cases[i].in,
				pt_parse_duration(cases[i].in), cases[i].out);
}

PT_TEST(budget_forms)
{
	static const struct {
		const char *in;
		int r;
		double secs;
		uint64_t bytes;
	} cases[] = {
		{ "2s 64M", 0, 2, 64u << 20 },
		{ "500ms", 0, 0.5, 0 },
		{ "1.5G", 0, 0, 3u << 29 },
		{ " 64KiB  1m ", 0, 60, 64u << 10 },
		{ "1h", 0, 3600, 0 },
		{ "2", PT_EPARSE, 0, 0 },
		{ "2s 3s", PT_EPARSE, 0, 0 },
		{ "1M 2M", PT_EPARSE, 0, 0 },
		{ "0s", PT_EPARSE, 0, 0 },
		{ "", PT_EPARSE, 0, 0 },
		{ "2x", PT_EPARSE, 0, 0 },
		{ "-1s", PT_EPARSE, 0, 0 },
		{ "99999999999999999999G", PT_EPARSE, 0, 0 },
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		double t = -7;
		uint64_t m = 7;
		int r = pt_parse_budget(cases[i].in, &t, &m);

		if (r != cases[i].r ||
		    (r == 0 && (t != cases[i].secs || m != cases[i].bytes)) ||
		    (r != 0 && (t != -7 || m != 7)))
			PT_FAIL("'%s': %d %g %llu", cases[i].in, r, t,
				(unsigned long long)m);
	}
}

PT_TEST(siblings_json_and_after_suspend)
{
	struct pt_diags *d = NULL;
	struct pt_units *u = load(
		"id: j\nplugin: shell\n_summary: S\ncommand: true\n"
		"flags: also-after-suspend preserve-locale\ndepends: x\n"
		"group: g\n\n"
		"id: k\nplugin: shell\n_summary: S\ncommand: true\n"
		"depends: x\ngroup: g\n"
		"siblings: [{\"id\": \"j2\", \"_summary\": \"S2\"}]\n",
		"ns", &d);
	const struct pt_job *j, *s, *k, *k2;

	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	PT_ASSERT_UINT_EQ(pt_units_job_count(u), 4);
	PT_ASSERT_UINT_EQ(pt_units_count(u), 2);
	j = pt_units_job(u, 0);
	s = pt_units_job(u, 1);
	k = pt_units_job(u, 2);
	k2 = pt_units_job(u, 3);
	PT_ASSERT_STR_EQ(j->id, "ns::j");
	PT_ASSERT_STR_EQ(s->id, "ns::after-suspend-j");
	PT_ASSERT_STR_EQ(k->id, "ns::k");
	PT_ASSERT_STR_EQ(k2->id, "ns::j2");
	PT_ASSERT(s->sibling_of == j);
	PT_ASSERT(k2->sibling_of == k);
	PT_ASSERT_INT_EQ(s->index, 1);
	PT_ASSERT_STR_EQ(s->summary, "S after suspend (S3)");
	PT_ASSERT_STR_EQ(s->group, "after-suspend-g");
	assert_list(s->depends, "ns::x|ns::j|com.canonical.certification::"
				"suspend/suspend_advanced_auto");
	PT_ASSERT_UINT_EQ(s->flags, PT_JOB_PRESERVE_LOCALE);
	PT_ASSERT_STR_EQ(s->checksum, "02c114dc283b430573b126f0dbab08a5c26929"
				      "1f7d6efcba8e89c4a18f955181");
	/* The parent runs before the suspend job (not in its checksum). */
	assert_list(j->before, "com.canonical.certification::suspend/"
			       "suspend_advanced_auto");
	PT_ASSERT_STR_EQ(k2->summary, "S2");
	PT_ASSERT_STR_EQ(k2->checksum, "d2543f54621b2873702b8503b67b8a13b4c2"
				       "15d8c94b67e2eac6f7412bb2a2d8");
	pt_units_free(u);
	pt_diags_free(d);
}

PT_TEST(duplicates_and_bad_units_are_diagnostics)
{
	struct pt_diags *d = NULL;
	struct pt_units *u = load(
		"id: a\nplugin: shell\n\n"
		"id: a\nplugin: shell\n\n"     /* identical: dropped */
		"id: a\nplugin: manual\n\n"    /* clash: error */
		"unit: frobnicator\nid: f\n\n" /* unknown type */
		"unit: test plan\n_name: no id\n\n"
		"id: b\nplugin: nope\nestimated_duration: soon\n"
		"siblings: [1\n\n"
		"unit: packaging meta-data\nDepends: x\n\n"
		"unit: category\nid: c\n_name: C\n",
		NULL, &d);
	static const char *const want[] = {
		"7:duplicate job id 'a' (first defined at t.pxu:1)",
		"10:unknown unit type 'frobnicator' (unit skipped)",
		"13:test plan unit: field 'id', required field missing",
		"17:field 'plugin', unknown plugin 'nope'",
		"18:field 'estimated_duration', cannot parse 'soon'",
		"19:field 'siblings', ']' expected near end of file",
	};

	PT_ASSERT_UINT_EQ(pt_diags_count(d), PT_ARRAY_SIZE(want));
	for (size_t i = 0; i < PT_ARRAY_SIZE(want); i++) {
		const struct pt_diag *g = pt_diags_get(d, i);
		char buf[256];
		snprintf(buf, sizeof(buf), "%u:%s", g->line, g->message);
		PT_ASSERT_STR_EQ(g->file, "t.pxu");
		PT_ASSERT_STR_EQ(buf, want[i]);
	}
	PT_ASSERT_UINT_EQ(pt_units_job_count(u), 2);
	PT_ASSERT_NOT_NULL(pt_units_find(u, PT_UNIT_CATEGORY, "c"));
	PT_ASSERT_INT_EQ(pt_units_get(u, pt_units_count(u) - 2)->type,
			 PT_UNIT_PACKAGING_META_DATA);
	pt_units_free(u);
	pt_diags_free(d);
}

static void write(const char *path, const char *text)
{
	PT_ASSERT_OK(pt__write_file_atomic(path, text, strlen(text), 0644));
}

PT_TEST(provider_directory_and_namespace)
{
	char p[4096];
	const char *root = pt_test_tmpdir();
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_load_options opt = { .ns = "explicit" };
	const struct pt_diag *g;

	snprintf(p, sizeof(p), "%s/prov/units/sub", root);
	PT_ASSERT_OK(pt__mkdir_p(p, 0755));
	snprintf(p, sizeof(p), "%s/prov/jobs", root);
	PT_ASSERT_OK(pt__mkdir_p(p, 0755));
	snprintf(p, sizeof(p), "%s/prov/manage.py", root);
	write(p, "from x import setup\nsetup(\n    name='2013.com.example:prov',"
		 "\n    namespace = \"com.example\",\n)\n");
	snprintf(p, sizeof(p), "%s/prov/units/b.pxu", root);
	write(p, "id: b\nplugin: shell\ndepends: a\n");
	snprintf(p, sizeof(p), "%s/prov/units/sub/a.pxu", root);
	write(p, "id: a\nplugin: shell\n");
	snprintf(p, sizeof(p), "%s/prov/units/c.yaml", root);
	write(p, "id: c\nplugin: shell\n");
	snprintf(p, sizeof(p), "%s/prov/units/ignored.md", root);
	write(p, "id: c\n");
	snprintf(p, sizeof(p), "%s/prov/units/bad.pxu", root);
	write(p, "id: z\n bad\nfoo\n");
	snprintf(p, sizeof(p), "%s/prov/jobs/r.txt", root);
	write(p, "id: r\nplugin: resource\n");

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	snprintf(p, sizeof(p), "%s/prov", root);
	PT_ASSERT_INT_EQ(pt_units_load_path(u, p, NULL, d), 4);
	PT_ASSERT_UINT_EQ(pt_units_job_count(u), 4);
	PT_ASSERT_STR_EQ(pt_units_job(u, 0)->id, "com.example::b");
	PT_ASSERT_STR_EQ(pt_units_job(u, 1)->id, "com.example::c");
	PT_ASSERT_STR_EQ(pt_units_job(u, 2)->id, "com.example::a");
	PT_ASSERT_STR_EQ(pt_units_job(u, 3)->id, "com.example::r");
	assert_list(pt_units_job(u, 0)->depends, "com.example::a");
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 1);
	g = pt_diags_get(d, 0);
	PT_ASSERT(pt__ends_with(g->file, "/prov/units/bad.pxu"));
	PT_ASSERT_INT_EQ(g->line, 3);
	PT_ASSERT_STR_EQ(g->message,
			 "Unexpected non-empty line: 'foo' (file skipped)");
	pt_units_free(u);

	/* An explicit namespace wins; a name= gives the part before ':'. */
	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_INT_EQ(pt_units_load_path(u, p, &opt, NULL), 4);
	PT_ASSERT_NOT_NULL(pt_units_find_job(u, "explicit::a"));
	pt_units_free(u);
	snprintf(p, sizeof(p), "%s/prov/manage.py", root);
	write(p, "setup(name='2013.com.example:prov')\n");
	snprintf(p, sizeof(p), "%s/prov", root);
	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_INT_EQ(pt_units_load_path(u, p, NULL, NULL), 4);
	PT_ASSERT_NOT_NULL(pt_units_find_job(u, "2013.com.example::a"));
	pt_units_free(u);

	/*
	 * checkbox-ng's built-in providers: the definition comes from
	 * plainbox.impl.providers.special; a name= outside setup() (a
	 * command class's) is not the provider's.
	 */
	snprintf(p, sizeof(p), "%s/prov/manage.py", root);
	write(p, "from plainbox.impl.providers.special import get_x_def\n"
		 "class C:\n    name = \"develop\"\n"
		 "setup(name=x_def.name)\n");
	snprintf(p, sizeof(p), "%s/prov", root);
	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_INT_EQ(pt_units_load_path(u, p, NULL, NULL), 4);
	PT_ASSERT_NOT_NULL(pt_units_find_job(u, "com.canonical.plainbox::a"));
	pt_units_free(u);

	/* A missing path is a diagnostic, not a failure. */
	PT_ASSERT_OK(pt_units_new(&u));
	pt_diags_free(d);
	PT_ASSERT_OK(pt_diags_new(&d));
	snprintf(p, sizeof(p), "%s/nope.pxu", root);
	PT_ASSERT_INT_EQ(pt_units_load_path(u, p, NULL, d), 0);
	PT_ASSERT_UINT_EQ(pt_diags_errors(d), 1);
	pt_units_free(u);
	pt_diags_free(d);
}

PT_TEST(invalid_utf8_rejects_the_file)
{
	struct pt_diags *d = NULL;
	struct pt_units *u = load("id: a\nplugin: shell\n_summary: \xff\n",
				  NULL, &d);

	PT_ASSERT_UINT_EQ(pt_units_job_count(u), 0);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 1);
	PT_ASSERT_INT_EQ(pt_diags_get(d, 0)->line, 3);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->message,
			 "not valid UTF-8 at byte 30 (file skipped)");
	pt_units_free(u);
	pt_diags_free(d);
}

/* The allocator seam fails the Nth allocation: every path stays clean. */
static size_t fail_at, alloc_count;

static void *fail_malloc(void *ctx, size_t n)
{
	(void)ctx;
	return ++alloc_count == fail_at ? NULL : (malloc)(n);
}

static void *fail_realloc(void *ctx, void *p, size_t n)
{
	(void)ctx;
	return ++alloc_count == fail_at ? NULL : (realloc)(p, n);
}

static void fail_free(void *ctx, void *p)
{
	(void)ctx;
	(free)(p);
}

PT_TEST_TIMEOUT(allocation_failures_are_clean, 120)
{
	static const char text[] =
		"id: a\nplugin: shell\nflags: also-after-suspend\ngroup: g\n"
		"siblings: [{\"id\": \"a2\"}]\ndepends: b c\n\n"
		"id: b\nplugin: shell\n_purpose: P\n\n"
		"unit: template\nid: t_{n}\ntemplate-resource: r\nplugin: shell\n"
		"flags: also-after-suspend\ncommand: x {n}\n\n"
		"unit: template\nid: j_{{ n }}\ntemplate-engine: jinja2\n"
		"template-resource: r\nplugin: shell\n\n"
		"unit: test plan\nid: p\n_name: P\ninclude:\n a certification-status=blocker\n"
		" b.*\n t_n\nbootstrap_include: b\ncategory_overrides: apply c to a\n";
	struct pt_allocator al = { fail_malloc, fail_realloc, fail_free, NULL };
	bool completed = false;

	for (fail_at = 1; !completed && fail_at < 5000; fail_at++) {
		struct pt_units *u = NULL;
		struct pt_diags *d = NULL;
		struct pt_records *r = NULL;
		struct pt_plan_selection *sel = NULL;
		struct pt_load_options opt = { .ns = "ns" };
		int rc;

		alloc_count = 0;
		pt_set_allocator(&al);
		if (pt_units_new(&u) < 0 || pt_diags_new(&d) < 0)
			goto next;
		rc = pt_units_load_buffer(u, text, strlen(text), "t.pxu", &opt,
					  d);
		if (rc < 0) {
			PT_ASSERT_INT_EQ(rc, -ENOMEM);
			goto next;
		}
		rc = pt_rfc822_parse("n: 1\n", 5, NULL, NULL, NULL, &r);
		if (rc < 0) {
			PT_ASSERT_INT_EQ(rc, -ENOMEM);
			goto next;
		}
		for (size_t i = 0; i < pt_units_count(u); i++) {
			const struct pt_unit *t = pt_units_get(u, i);
			const struct pt_rfc822_record *rec = pt_records_get(r, 0);
			if (t->type != PT_UNIT_TEMPLATE || !rec)
				continue;
			rc = pt_template_instantiate(u, t, &rec, NULL, 1, d);
			if (rc < 0) {
				PT_ASSERT_INT_EQ(rc, -ENOMEM);
				goto next;
			}
		}
		rc = pt_plan_select(u, "ns::p", NULL, 0, d, &sel);
		if (rc < 0) {
			PT_ASSERT_INT_EQ(rc, -ENOMEM);
			goto next;
		}
		completed = alloc_count < fail_at;
next:
		pt_plan_selection_free(sel);
		pt_records_free(r);
		pt_units_free(u);
		pt_diags_free(d);
		pt_set_allocator(NULL);
	}
	PT_ASSERT(completed);
}

/*
 * "_flags: also-after-suspend" (lookups take "_flags" first): the sibling
 * loses the flag there too, so it has no sibling of its own. This used to
 * make after-suspend-after-suspend-... without end (found by
 * fuzz-template). And a JSON sibling that is also-after-suspend gets its
 * after-suspend sibling, and no deeper.
 */
PT_TEST(siblings_underscore_flags_do_not_recurse)
{
	struct pt_diags *d = NULL;
	struct pt_units *u = load(
		"id: x\nplugin: shell\ncommand: true\n"
		"_flags: also-after-suspend preserve-locale\n\n"
		"id: k\nplugin: shell\ncommand: true\n"
		"siblings: [{\"id\": \"k2\", \"_flags\": \"also-after-suspend\"}]"
		"\n",
		"ns", &d);

	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	PT_ASSERT_UINT_EQ(pt_units_job_count(u), 5);
	PT_ASSERT_STR_EQ(pt_units_job(u, 0)->id, "ns::x");
	PT_ASSERT_STR_EQ(pt_units_job(u, 1)->id, "ns::after-suspend-x");
	PT_ASSERT_UINT_EQ(pt_units_job(u, 1)->flags, PT_JOB_PRESERVE_LOCALE);
	PT_ASSERT_STR_EQ(pt_units_job(u, 2)->id, "ns::k");
	PT_ASSERT_STR_EQ(pt_units_job(u, 3)->id, "ns::k2");
	PT_ASSERT_STR_EQ(pt_units_job(u, 4)->id, "ns::after-suspend-k2");
	PT_ASSERT_UINT_EQ(pt_units_job(u, 4)->flags, 0);
	pt_diags_free(d);
	pt_units_free(u);
}
