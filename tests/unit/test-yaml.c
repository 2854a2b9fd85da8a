/*
 * YAML units (unit/yaml.c): the same jobs, plans and checksums as
 * upstream's PyYAML Loader gives (expected checksums computed with
 * upstream's recipe in Python over yaml.load_all), PyYAML's scalar
 * resolution, and every error with file:line and the file rejected.
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"

#include <proctor/unit.h>

#include "tap.h"

static struct pt_units *load(const char *text, const char *name,
			     struct pt_diags **ret_d)
{
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT(pt_units_load_buffer(u, text, strlen(text), name, NULL, d) >=
		  0);
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

static const char doc[] = "id: a\n"
			  "plugin: shell\n"
			  "command: |\n"
			  "  echo \"\xc3\xbc\"\n"
			  "  true\n"
			  "depends:\n"
			  "  - b\n"
			  "  - c\n"
			  "flags: [preserve-locale, also-after-suspend]\n"
			  "estimated_duration: 40\n"
			  "timeout: 1.5e+3\n"
			  "cachable: yes\n"
			  "icon: ~\n"
			  "_summary: null\n"
			  "summary: Sum\n"
			  "siblings:\n"
			  "  - id: a2\n"
			  "    _summary: two\n"
			  "    n: 0x1f\n"
			  "ratio: .5\n"
			  "big: 1e17\n"
			  "octal: 017\n"
			  "sexa: 1:30\n"
			  "quoted: \"12\"\n"
			  "---\n"
			  "id: b\n"
			  "plugin: shell\n"
			  "<<: {command: base, user: nobody}\n"
			  "user: root\n"
			  "---\n"
			  "id: c\n"
			  "plugin: shell\n";

PT_TEST(checksums_and_values_as_pyyaml)
{
	struct pt_diags *d = NULL;
	struct pt_units *u = load(doc, "t.yaml", &d);
	const struct pt_job *a = pt_units_find_job(u, "a");
	const struct pt_job *b = pt_units_find_job(u, "b");
	const struct pt_job *c = pt_units_find_job(u, "c");
	const struct pt_unit *au;

	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	PT_ASSERT_NOT_NULL(a);
	PT_ASSERT_NOT_NULL(b);
	PT_ASSERT_NOT_NULL(c);
	/* json.dumps(sorted(yaml.load_all(...)[i].items())) */
	PT_ASSERT_STR_EQ(a->checksum, "8494b76dd5d00b9c437924180b7bc6b75a3edb"
				      "43195a8f0a7c3449849c070453");
	PT_ASSERT_STR_EQ(b->checksum, "db11f161feb6897be4cbee2a21212a6f26b9cc"
				      "97972fa4240419015e231dcf57");
	PT_ASSERT_STR_EQ(c->checksum, "944332721031258a4f1dc02283e6e4b58ec0db"
				      "5b456e726cd39f8c7437e589e8");
	au = a->unit;
	PT_ASSERT_STR_EQ(pt_rfc822_field(au->record, "depends")->json,
			 "[\"b\",\"c\"]");
	PT_ASSERT_STR_EQ(
		pt_rfc822_field(au->record, "estimated_duration")->json, "40");
	PT_ASSERT_STR_EQ(pt_rfc822_field(au->record, "timeout")->json,
			 "1500.0");
	PT_ASSERT_STR_EQ(pt_rfc822_field(au->record, "ratio")->json, "0.5");
	PT_ASSERT_STR_EQ(pt_rfc822_value(au->record, "cachable"), "True");
	PT_ASSERT_STR_EQ(pt_rfc822_field(au->record, "cachable")->json, "true");
	PT_ASSERT_NULL(pt_rfc822_field(au->record, "big")->json);
	PT_ASSERT_STR_EQ(pt_rfc822_value(au->record, "octal"), "15");
	PT_ASSERT_STR_EQ(pt_rfc822_value(au->record, "sexa"), "90");
	PT_ASSERT_NULL(pt_rfc822_field(au->record, "quoted")->json);
	/* None reads as absent: _summary: null gives summary. */
	PT_ASSERT_NULL(pt_rfc822_value(au->record, "icon"));
	PT_ASSERT_STR_EQ(a->summary, "Sum");
	/* Lists feed the same job fields as pxu text. */
	assert_list(a->depends, "b|c");
	assert_list(a->flag_list, "preserve-locale|also-after-suspend");
	PT_ASSERT(a->flags & PT_JOB_ALSO_AFTER_SUSPEND);
	PT_ASSERT(a->estimated_duration == 40);
	PT_ASSERT(a->timeout == 1500);
	PT_ASSERT_STR_EQ(a->command, "echo \"\xc3\xbc\"\ntrue\n");
	PT_ASSERT_UINT_EQ(a->line, 1);
	PT_ASSERT_UINT_EQ(pt_unit_field_line(au, "depends"), 6);
	/* siblings: the JSON sibling and the after-suspend one */
	PT_ASSERT_NOT_NULL(pt_units_find_job(u, "a2"));
	PT_ASSERT_NOT_NULL(pt_units_find_job(u, "after-suspend-a"));
	/* merge key: own keys win */
	PT_ASSERT_STR_EQ(b->command, "base");
	PT_ASSERT_STR_EQ(b->user, "root");
	PT_ASSERT_UINT_EQ(b->line, 26);
	pt_units_free(u);
	pt_diags_free(d);
}

PT_TEST(test_plan_and_template_lists)
{
	struct pt_diags *d = NULL;
	struct pt_units *u = load("unit: test plan\n"
				  "id: tp\n"
				  "name: TP\n"
				  "include:\n"
				  "  - j1\n"
				  "  - t-.*    certification_status=blocker\n"
				  "bootstrap_include:\n"
				  "  - res\n"
				  "---\n"
				  "id: j1\nplugin: shell\n"
				  "---\n"
				  "id: res\nplugin: resource\n"
				  "---\n"
				  "unit: template\n"
				  "template-resource: res\n"
				  "template-filter:\n"
				  "  - res.k == \"v\"\n"
				  "id: t-{k}\n"
				  "plugin: shell\n"
				  "requires:\n"
				  "  - res.k == \"{k}\"\n",
				  "p.yml", &d);
	struct pt_plan_selection *sel = NULL;
	const struct pt_unit *tpl;
	struct pt_template_info info;
	struct pt_records *r = NULL;
	const struct pt_rfc822_record *rec;
	const struct pt_job *t;

	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	tpl = pt_units_find(u, PT_UNIT_TEMPLATE, "t-{k}");
	PT_ASSERT_NOT_NULL(tpl);
	PT_ASSERT_OK(pt_template_info(u, tpl, &info));
	PT_ASSERT_STR_EQ(info.filter, "res.k == \"v\"");
	PT_ASSERT_OK(pt_rfc822_parse("k: v\n", 5, "r", NULL, NULL, &r));
	rec = pt_records_get(r, 0);
	PT_ASSERT_INT_EQ(pt_template_instantiate(u, tpl, &rec, NULL, 1, d), 1);
	t = pt_units_find_job(u, "t-v");
	PT_ASSERT_NOT_NULL(t);
	PT_ASSERT_STR_EQ(t->requires, "res.k == \"v\"");
	PT_ASSERT_OK(pt_plan_select(u, "tp", NULL, 0, d, &sel));
	assert_list(sel->desired, "j1|t-v");
	assert_list(sel->bootstrap, "res");
	PT_ASSERT_STR_EQ(pt_plan_effective(sel, t, "certification_status"),
			 "blocker");
	pt_plan_selection_free(sel);
	pt_records_free(r);
	pt_units_free(u);
	pt_diags_free(d);
}

/* Each bad input: one error naming file:line, nothing of the file. */
PT_TEST(errors_name_file_and_line)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *msg;
	} cases[] = {
		{ "id: a\nplugin: shell\n  bad: [\n", 3,
		  "YAML: mapping values are not allowed in this context (file "
		  "skipped)" },
		{ "id: a\nplugin: shell\n- x\n", 3,
		  "YAML: while parsing a block mapping did not find expected "
		  "key (file skipped)" },
		{ "id: a\nplugin: shell\n---\n- x\n", 4,
		  "YAML: a unit must be a mapping of fields, not a list (file "
		  "skipped)" },
		{ "id: a\nplugin: shell\n---\njust text\n", 4,
		  "YAML: a unit must be a mapping of fields, not a scalar (file "
		  "skipped)" },
		{ "id: a\nplugin: *nope\n", 2,
		  "YAML: found undefined alias 'nope' (file skipped)" },
		{ "id: !!python/object:os.system x\nplugin: shell\n", 1,
		  "YAML: tag 'tag:yaml.org,2002:python/object:os.system' is "
		  "not supported on 'x' (file skipped)" },
		{ "id: a\n1: x\n", 2,
		  "YAML: mapping key '1' is not a string (file skipped)" },
		{ "id: a\n[x]: y\n", 2,
		  "YAML: a mapping key must be a string (file skipped)" },
		{ "id: a\nn: 99999999999999999999999\n", 2,
		  "YAML: integer '99999999999999999999999' out of range (file "
		  "skipped)" },
		{ "id: a\nv: =\n", 2,
		  "YAML: could not determine a constructor for the tag "
		  "'tag:yaml.org,2002:value' (file skipped)" },
		{ "id: \"a\\q\"\n", 1,
		  "YAML: while parsing a quoted scalar found unknown escape "
		  "character (file skipped)" },
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		struct pt_diags *d = NULL;
		struct pt_units *u = load(cases[i].text, "bad.yaml", &d);
		const struct pt_diag *g;

		PT_ASSERT_UINT_EQ(pt_units_count(u), 0);
		PT_ASSERT_UINT_EQ(pt_diags_count(d), 1);
		g = pt_diags_get(d, 0);
		PT_ASSERT_STR_EQ(g->file, "bad.yaml");
		PT_ASSERT_UINT_EQ(g->line, cases[i].line);
		PT_ASSERT_INT_EQ(g->severity, PT_SEV_ERROR);
		PT_ASSERT_STR_EQ(g->message, cases[i].msg);
		pt_units_free(u);
		pt_diags_free(d);
	}
}

/* text loads as nothing but one error with message msg. */
static void assert_rejected(const char *text, const char *file, const char *msg)
{
	struct pt_diags *d = NULL;
	struct pt_units *u = load(text, file, &d);

	PT_ASSERT_UINT_EQ(pt_units_count(u), 0);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 1);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->message, msg);
	pt_units_free(u);
	pt_diags_free(d);
}

/* Ten levels of ten references each: 10^9 values once expanded. */
static void bomb(struct pt_buf *b, const char *first, const char *open,
		 const char *close)
{
	pt__buf_reset(b);
	pt__buf_adds(b, first);
	for (int i = 1; i < 10; i++) {
		pt__buf_addf(b, "a%d: &a%d %s", i, i, open);
		for (int k = 0; k < 10; k++)
			pt__buf_addf(b, "%s*a%d", k ? ", " : "", i - 1);
		pt__buf_addf(b, "%s\n", close);
	}
	pt__buf_adds(b, "id: bomb\n");
}

PT_TEST(limits_depth_and_alias_bomb)
{
	static const char expanded[] = "YAML: more than 1000000 values once "
				       "aliases are expanded (file skipped)";
	struct pt_buf b = PT_BUF_INIT;

	/* 100 nested lists */
	pt__buf_adds(&b, "id: a\nv: ");
	for (int i = 0; i < 100; i++)
		pt__buf_addch(&b, '[');
	for (int i = 0; i < 100; i++)
		pt__buf_addch(&b, ']');
	pt__buf_addch(&b, '\n');
	assert_rejected(b.s, "deep.yaml",
			"YAML: nested deeper than 64 levels (file skipped)");
	/* "billion laughs" */
	bomb(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n", "[", "]");
	assert_rejected(b.s, "bomb.yaml", expanded);
	/* the same through merge keys */
	bomb(&b, "a0: &a0 {x: y}\n", "{<<: [", "]}");
	assert_rejected(b.s, "merge.yaml", expanded);
	pt__buf_release(&b);
}

PT_TEST(duplicate_key_warns_last_wins)
{
	struct pt_diags *d = NULL;
	struct pt_units *u =
		load("id: a\nplugin: shell\ncommand: one\ncommand: two\n",
		     "dup.yaml", &d);
	const struct pt_job *j = pt_units_find_job(u, "a");

	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_STR_EQ(j->command, "two");
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 1);
	PT_ASSERT_INT_EQ(pt_diags_get(d, 0)->severity, PT_SEV_WARNING);
	PT_ASSERT_UINT_EQ(pt_diags_get(d, 0)->line, 4);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->message,
			 "duplicate key 'command' (the last value wins, as in "
			 "PyYAML)");
	pt_units_free(u);
	pt_diags_free(d);
}

PT_TEST(floats_as_python_repr)
{
	static const struct {
		const char *yaml, *json;
	} cases[] = {
		{ "1.0", "1.0" },
		{ "0.1", "0.1" },
		{ "1.", "1.0" },
		{ "-2.50", "-2.5" },
		{ "1.5e+3", "1500.0" },
		{ "1.0e+16", "1e+16" },
		{ "1.0e+15", "1000000000000000.0" },
		{ "0.0001", "0.0001" },
		{ "0.00001", "1e-05" },
		{ "1_000.5", "1000.5" },
		{ ".inf", "Infinity" },
		{ "-.Inf", "-Infinity" },
		{ ".NaN", "NaN" },
		{ "1:30.5", "90.5" },
		{ "123456789.125", "123456789.125" },
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		char text[128];
		struct pt_units *u;
		const struct pt_unit *x;

		snprintf(text, sizeof(text), "unit: category\nid: c\nv: %s\n",
			 cases[i].yaml);
		u = load(text, "f.yaml", NULL);
		x = pt_units_find(u, PT_UNIT_CATEGORY, "c");
		PT_ASSERT_NOT_NULL(x);
		PT_ASSERT_STR_EQ(pt_rfc822_field(x->record, "v")->json,
				 cases[i].json);
		pt_units_free(u);
	}
}
