/*
 * Test plans (docs/plainbox.md §2.6): include-line grammar and select_units
 * order, written as data: each case is a unit file, a plan id and the expected
 * desired / mandatory / bootstrap lists.
 */
#include "base/common.h"

#include <proctor/unit.h>

#include "tap.h"

static void join(struct pt_strlist l, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l.n; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? " " : "",
				      l.v[i]);
}

PT_TEST(include_line_grammar)
{
	static const struct {
		const char *line;
		int rc;
		const char *out; /* pattern [regex] {field=value...} */
	} cases[] = {
		{ "foo", 1, "ns::foo" },
		{ "foo.*", 1, "^ns::foo.*$ regex" },
		{ "^foo$", 1, "^ns::foo$ regex" },
		{ "^foo/[a-z]+", 1, "^ns::foo/[a-z]+$ regex" },
		{ "other::x", 1, "other::x" },
		{ "other::x.*", 1, "^other::x.*$ regex" },
		{ "x certification-status=blocker, category-id=c", 1,
		  "ns::x {^ns::x$ certification_status=blocker}"
		  "{^ns::x$ category_id=c}" },
		{ "x   auto_retry=no,certification_status=non-blocker", 1,
		  "ns::x {^ns::x$ auto_retry=no}"
		  "{^ns::x$ certification_status=non-blocker}" },
		{ "# comment", 0, "" },
		{ "   ", 0, "" },
		{ "a # trailing", 1, "ns::a" },
		{ "x bogus", PT_EPARSE, "expected field=value after the pattern" },
		{ "x foo=bar", PT_EPARSE,
		  "only category_id, certification_status and auto_retry can "
		  "be overridden" },
		{ "x category_id=", PT_EPARSE, "empty value in field=value" },
	};
	struct pt_units *u = NULL;

	PT_ASSERT_OK(pt_units_new(&u));
	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		struct pt_include_line il;
		const char *err = NULL;
		char buf[512];
		size_t o = 0;
		int rc = pt_include_parse(u, cases[i].line, "ns", &il, &err);

		if (rc != cases[i].rc)
			PT_FAIL("'%s': rc %d, expected %d", cases[i].line, rc,
				cases[i].rc);
		if (rc < 0) {
			PT_ASSERT_STR_EQ(err, cases[i].out);
			continue;
		}
		buf[0] = '\0';
		if (rc == 1) {
			o += (size_t)snprintf(buf, sizeof(buf), "%s%s",
					      il.pattern,
					      il.is_regex ? " regex" : "");
			for (size_t k = 0; k < il.n_overrides; k++)
				o += (size_t)snprintf(
					buf + o, sizeof(buf) - o,
					"%s{%s %s=%s}", k ? "" : " ",
					il.overrides[k].pattern,
					il.overrides[k].field,
					il.overrides[k].value);
		}
		PT_ASSERT_STR_EQ(buf, cases[i].out);
	}
	pt_units_free(u);
}

static const char plan_units[] =
	"id: a\nplugin: shell\n\n"
	"id: b\nplugin: shell\n\n"
	"id: c\nplugin: shell\n\n"
	"id: a2\nplugin: shell\n\n"
	"id: x1\nplugin: shell\n\n"
	"id: x2\nplugin: shell\n\n"
	"id: res\nplugin: resource\n\n"
	"id: m\nplugin: shell\n\n"
	"id: n1\nplugin: shell\n\n"
	"id: gen_1\nplugin: shell\ntemplate-id: tpl\n\n"
	"id: gen_2\nplugin: shell\ntemplate-id: tpl\n\n"
	"unit: test plan\nid: main\n_name: Main\n"
	"include:\n"
	" c\n"
	" a.*\n"
	" b certification-status=blocker\n"
	" x.* category-id=cat\n"
	" r.*\n"
	" tpl\n"
	" # a comment\n"
	" a\n"
	"exclude:\n x2\n"
	"mandatory_include:\n m\n"
	"bootstrap_include:\n res missing\n"
	"nested_part:\n other\n"
	"category_overrides:\n apply newcat to c\n"
	"certification_status_overrides:\n apply blocker to gen_.*\n\n"
	"unit: test plan\nid: other\n_name: Other\n"
	"include:\n n1\n gen_2\nexclude:\n a2\n\n"
	"unit: test plan\nid: loop\n_name: L\nnested_part: loop\n"
	"include: nope[\n";

PT_TEST(select_units_order_and_lists)
{
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_plan_selection *sel = NULL;
	struct pt_load_options opt = { .ns = "ns" };
	char buf[1024];

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_units_load_buffer(u, plan_units, strlen(plan_units),
					  "p.pxu", &opt, d));
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	PT_ASSERT_OK(pt_plan_select(u, "ns::main", NULL, 0, d, &sel));
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	/*
	 * First including qualifier, then job order: c; a.* gives a (a2
	 * is excluded by the nested plan); b; x.* gives x1 (x2 excluded);
	 * r.* matches only the bootstrap job res (excluded from desired);
	 * tpl selects both generated jobs; nested n1 comes last.
	 */
	join(sel->desired, buf, sizeof(buf));
	PT_ASSERT_STR_EQ(buf, "ns::c ns::a ns::b ns::x1 ns::gen_1 ns::gen_2 "
			      "ns::n1");
	join(sel->mandatory, buf, sizeof(buf));
	PT_ASSERT_STR_EQ(buf, "ns::m");
	join(sel->bootstrap, buf, sizeof(buf));
	PT_ASSERT_STR_EQ(buf, "ns::res");
	PT_ASSERT_UINT_EQ(sel->setup.n, 0);
	/* Overrides: inline, category and certification status fields. */
	PT_ASSERT_STR_EQ(pt_plan_effective(sel, pt_units_find_job(u, "ns::b"),
					   "certification_status"),
			 "blocker");
	PT_ASSERT_STR_EQ(pt_plan_effective(sel, pt_units_find_job(u, "ns::a"),
					   "certification_status"),
			 "non-blocker");
	PT_ASSERT_STR_EQ(pt_plan_effective(sel, pt_units_find_job(u, "ns::x2"),
					   "category_id"),
			 "cat");
	PT_ASSERT_STR_EQ(pt_plan_effective(sel, pt_units_find_job(u, "ns::c"),
					   "category_id"),
			 "ns::newcat");
	PT_ASSERT_STR_EQ(pt_plan_effective(sel,
					   pt_units_find_job(u, "ns::gen_2"),
					   "certification_status"),
			 "blocker");
	PT_ASSERT_STR_EQ(pt_plan_effective(sel, pt_units_find_job(u, "ns::c"),
					   "auto_retry"),
			 "unspecified");
	pt_plan_selection_free(sel);

	/* A subset of jobs: selection only among them. */
	{
		const struct pt_job *some[] = {
			pt_units_find_job(u, "ns::x1"),
			pt_units_find_job(u, "ns::a"),
			pt_units_find_job(u, "ns::c"),
		};
		PT_ASSERT_OK(pt_plan_select(u, "ns::main", some, 3, d, &sel));
		join(sel->desired, buf, sizeof(buf));
		PT_ASSERT_STR_EQ(buf, "ns::c ns::a ns::x1");
		PT_ASSERT_UINT_EQ(sel->bootstrap.n, 0);
		pt_plan_selection_free(sel);
	}

	/* A nesting cycle and a bad regex are diagnostics. */
	PT_ASSERT_OK(pt_plan_select(u, "ns::loop", NULL, 0, d, &sel));
	PT_ASSERT_UINT_EQ(sel->desired.n, 0);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 2);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->message,
			 "field 'include', bad pattern '^ns::nope[$' at offset "
			 "11: missing terminating ] for character class");
	PT_ASSERT_INT_EQ(pt_diags_get(d, 0)->line, 74);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 1)->message,
			 "test plan 'ns::loop' includes itself through "
			 "nested_part");
	pt_plan_selection_free(sel);
	PT_ASSERT_ERR(pt_plan_select(u, "ns::none", NULL, 0, d, &sel),
		      PT_ENOTFOUND);
	pt_units_free(u);
	pt_diags_free(d);
}

/* Regexes are matched through a literal-prefix index: same results. */
PT_TEST(regex_prefix_index_keeps_results)
{
	static const char text[] =
		"id: b\nplugin: shell\n\nid: abbc\nplugin: shell\n\n"
		"id: ac\nplugin: shell\n\nid: abc\nplugin: shell\n\n"
		"id: a\nplugin: shell\n\nid: xa\nplugin: shell\n\n"
		"unit: test plan\nid: p\n_name: P\ninclude:\n ab*c\n (?i)B\n"
		" ab?\n .*a\n";
	struct pt_units *u = NULL;
	struct pt_plan_selection *sel = NULL;
	struct pt_load_options opt = { .ns = "ns" };
	char buf[512];

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_units_load_buffer(u, text, strlen(text), "p.pxu", &opt,
					  NULL));
	PT_ASSERT_OK(pt_plan_select(u, "ns::p", NULL, 0, NULL, &sel));
	join(sel->desired, buf, sizeof(buf));
	PT_ASSERT_STR_EQ(buf, "ns::abbc ns::ac ns::abc ns::b ns::a ns::xa");
	pt_plan_selection_free(sel);
	pt_units_free(u);
}
