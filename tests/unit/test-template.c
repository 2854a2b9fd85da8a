/*
 * Templates (docs/plainbox.md §2.5): the default engine (str.format semantics,
 * as data), template-* fields, instantiation with parameters, checksums
 * (expected values from upstream's recipe computed in Python).
 */
#include "base/common.h"

#include <proctor/unit.h>

#include "tap.h"

/* Python: upstream recipe over the unrendered data + parameters. */
#define JINJA_SUM1 "e43d9b69cc5f0de9feedcfcc5e216397942d21f6f589ed95d83ef21035c54663"

static struct pt_records *recs_of(const char *text)
{
	struct pt_records *r = NULL;

	PT_ASSERT_OK(pt_rfc822_parse(text, strlen(text), "res", NULL, NULL,
				     &r));
	return r;
}

PT_TEST(default_engine_format_cases)
{
	static const struct {
		const char *in, *out, *err;
	} cases[] = {
		{ "echo {name} {{literal}} {name!r}", "echo it's {literal} \"it's\"", NULL },
		{ "{name!s}-{__index__}", "it's-7", NULL },
		{ "no fields }} {{", "no fields } {", NULL },
		{ "{missing}", NULL, "missing parameter 'missing'" },
		{ "{}", NULL, "positional field '{}' is not supported (use a named field)" },
		{ "{0}", NULL, "positional field '{0}' is not supported (use a named field)" },
		{ "{name:>10}", NULL, "format spec ':>10' in '{name:>10}' is not supported" },
		{ "{name.upper}", NULL, "attribute or index access '{name.upper}' is not supported" },
		{ "${arr[1]}", NULL, "missing parameter 'arr'" },
		{ "{name!x}", NULL, "unknown conversion '!x' in '{name!x}'" },
		{ "a } b", NULL, "Single '}' encountered in format string" },
		{ "a { b", NULL, "expected '}' before end of string" },
	};
	struct pt_units *u = NULL;
	struct pt_records *r = recs_of("name: it's\n");

	PT_ASSERT_OK(pt_units_new(&u));
	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		const char *err = NULL;
		const char *out = pt_template_format(
			u, cases[i].in, pt_records_get(r, 0), 7, &err);
		if (cases[i].out) {
			PT_ASSERT_STR_EQ(out, cases[i].out);
		} else {
			PT_ASSERT_NULL(out);
			PT_ASSERT_STR_EQ(err, cases[i].err);
		}
	}
	pt_records_free(r);
	pt_units_free(u);
}

static const char tpl_text[] =
	"id: device\nplugin: resource\ncommand: true\n\n"
	"unit: template\ntemplate-resource: device\n"
	"template-filter: device.category == 'NETWORK'\ntemplate-unit: job\n"
	"id: net/{name}\nplugin: shell\n_summary: Test {name} ({__index__})\n"
	"command: echo {name} {{literal}}\n\n"
	"unit: template\nid: other_{x}\ntemplate-resource: dev\n"
	"template-imports: from com.x import device as dev\n"
	"template-id: custom\nplugin: shell\n\n"
	"unit: template\nid: j_{x}\ntemplate-resource: device\n"
	"template-engine: mako\nplugin: shell\n\n"
	"unit: template\nid: bad_{x}\ntemplate-resource: device\n"
	"plugin: shell\ncommand: {missing}\n";

PT_TEST(template_info_and_instantiation)
{
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_load_options opt = { .ns = "ns" };
	struct pt_records *r = recs_of("name: eth0\ncategory: NETWORK\npath: /x\n"
				       "\nname: wlan0\ncategory: WIRELESS\n");
	const struct pt_rfc822_record *recs[2] = { pt_records_get(r, 0),
						   pt_records_get(r, 1) };
	const struct pt_unit *t;
	struct pt_template_info info;
	const struct pt_job *j;

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_units_load_buffer(u, tpl_text, strlen(tpl_text),
					  "t.pxu", &opt, d));
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	t = pt_units_find(u, PT_UNIT_TEMPLATE, "ns::net/{name}");
	PT_ASSERT_NOT_NULL(t);
	PT_ASSERT_OK(pt_template_info(u, t, &info));
	PT_ASSERT_STR_EQ(info.resource, "ns::device");
	PT_ASSERT_STR_EQ(info.filter, "device.category == 'NETWORK'");
	PT_ASSERT_STR_EQ(info.unit, "job");
	PT_ASSERT_STR_EQ(info.engine, "default");
	PT_ASSERT_STR_EQ(info.id, "net/name");
	PT_ASSERT_NULL(info.imports);

	PT_ASSERT_INT_EQ(pt_template_instantiate(u, t, recs, NULL, 2, d), 2);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	j = pt_units_find_job(u, "ns::net/eth0");
	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_STR_EQ(j->summary, "Test eth0 (1)");
	PT_ASSERT_STR_EQ(j->command, "echo eth0 {literal}");
	PT_ASSERT_STR_EQ(j->template_id, "ns::net/name");
	PT_ASSERT(j->unit->template_unit == t);
	PT_ASSERT_STR_EQ(j->checksum, "34350f8ea6742be407f6e7446599734f1ddcaf"
				      "0ab58f1f0450a0e57a6dd958d0");
	j = pt_units_find_job(u, "ns::net/wlan0");
	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_STR_EQ(j->checksum, "7705af44f56214f016ab13ff0d6c657e0020"
				      "9aea45442ee742dd773925f6ca02");
	PT_ASSERT_UINT_EQ(j->unit->params->n, 2);

	/* Again with the same records: identical jobs are not added. */
	PT_ASSERT_INT_EQ(pt_template_instantiate(u, t, recs, NULL, 2, d), 0);

	/* Imports alias and explicit template-id. */
	t = pt_units_find(u, PT_UNIT_TEMPLATE, "ns::other_{x}");
	PT_ASSERT_OK(pt_template_info(u, t, &info));
	PT_ASSERT_STR_EQ(info.resource, "com.x::device");
	PT_ASSERT_STR_EQ(info.id, "custom");

	/* An unknown engine is reported. */
	t = pt_units_find(u, PT_UNIT_TEMPLATE, "ns::j_{x}");
	PT_ASSERT_INT_EQ(pt_template_instantiate(u, t, recs, NULL, 2, d), 0);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 1);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->message,
			 "template 'ns::j_{x}': template-engine 'mako' is "
			 "not supported");

	/* A record that cannot be rendered is skipped with a diagnostic. */
	t = pt_units_find(u, PT_UNIT_TEMPLATE, "ns::bad_{x}");
	{
		struct pt_records *xr = recs_of("x: 1\n");
		const struct pt_rfc822_record *one = pt_records_get(xr, 0);
		unsigned idx = 5;
		PT_ASSERT_INT_EQ(pt_template_instantiate(u, t, &one, &idx, 1, d),
				 0);
		pt_records_free(xr);
	}
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 2);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 1)->message,
			 "template 'ns::bad_{x}', resource record 5: field "
			 "'command': missing parameter 'missing' (unit not "
			 "generated)");
	PT_ASSERT_INT_EQ(pt_diags_get(d, 1)->line, 31);
	pt_records_free(r);
	pt_units_free(u);
	pt_diags_free(d);
}

PT_TEST(generated_job_siblings_use_unrendered_data)
{
	static const char text[] =
		"unit: template\ntemplate-resource: device\nid: net/{name}\n"
		"plugin: shell\n_summary: Test {name}\nflags: also-after-suspend\n"
		"command: echo {name}\n";
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_load_options opt = { .ns = "ns" };
	struct pt_records *r = recs_of("name: eth0\nother: x\n");
	const struct pt_rfc822_record *rec = pt_records_get(r, 0);
	const struct pt_job *j, *s;

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_units_load_buffer(u, text, strlen(text), "t.pxu", &opt,
					  d));
	PT_ASSERT_INT_EQ(
		pt_template_instantiate(
			u, pt_units_find(u, PT_UNIT_TEMPLATE, "ns::net/{name}"),
			&rec, NULL, 1, d),
		2);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	j = pt_units_find_job(u, "ns::net/eth0");
	s = pt_units_find_job(u, "ns::after-suspend-net/eth0");
	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_NOT_NULL(s);
	PT_ASSERT(s->sibling_of == j);
	PT_ASSERT_STR_EQ(s->summary, "Test eth0 after suspend (S3)");
	PT_ASSERT_STR_EQ(s->command, "echo eth0");
	PT_ASSERT_STR_EQ(s->template_id, "ns::net/name");
	PT_ASSERT_STR_EQ(j->checksum, "680a09d06eed16bdc5f9208ca4333bfd79a6e1"
				      "fe771d81e4528550dadfc52519");
	PT_ASSERT_STR_EQ(s->checksum, "7b49878f222cd8944fbf6ae8dc9dc7ff9fe5ad"
				      "ba6bfed22248c760014ec1b511");
	pt_records_free(r);
	pt_units_free(u);
	pt_diags_free(d);
}

PT_TEST(jinja_template_and_job)
{
	static const char text[] =
		"unit: template\ntemplate-resource: graphics_card\n"
		"template-engine: jinja2\nid: gpu/{{ index }}_{{ product_slug }}\n"
		"template-id: gpu/index_product_slug\nplugin: shell\n"
		"depends:\n a\n {%- if gpu_count > \"1\" %}\n  b\n {%- else %}\n"
		"  c\n {%- endif %}\ncommand: echo {{ __checkbox_env__.get("
		"\"X\", \"dflt\") }}\n\n"
		"id: plainjob\nplugin: shell\ntemplate-engine: jinja2\n"
		"command: run {{ __checkbox_env__.get(\"TEST_SNAP\", \"tools\") }}\n";
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_load_options opt = { .ns = "ns" };
	struct pt_records *r = recs_of(
		"index: 1\nproduct_slug: intel\ngpu_count: 2\nvendor: x\n\n"
		"index: 2\nproduct_slug: amd\ngpu_count: 1\n");
	const struct pt_rfc822_record *two[2] = { pt_records_get(r, 0),
						  pt_records_get(r, 1) };
	const struct pt_job *j;

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_units_load_buffer(u, text, strlen(text), "t.pxu", &opt,
					  d));
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	j = pt_units_find_job(u, "ns::plainjob");
	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_STR_EQ(j->command, "run tools");
	PT_ASSERT_INT_EQ(
		pt_template_instantiate(
			u,
			pt_units_find(u, PT_UNIT_TEMPLATE,
				      "ns::gpu/{{ index }}_{{ product_slug }}"),
			two, NULL, 2, d),
		2);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	j = pt_units_find_job(u, "ns::gpu/1_intel");
	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_UINT_EQ(j->depends.n, 2);
	PT_ASSERT_STR_EQ(j->depends.v[1], "ns::b");
	PT_ASSERT_STR_EQ(j->command, "echo dflt");
	PT_ASSERT_STR_EQ(j->template_id, "ns::gpu/index_product_slug");
	/* Parameters: the referenced names only (not vendor), + __index__. */
	PT_ASSERT_UINT_EQ(j->unit->params->n, 4);
	PT_ASSERT_STR_EQ(j->checksum, JINJA_SUM1);
	j = pt_units_find_job(u, "ns::gpu/2_amd");
	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_STR_EQ(j->depends.v[1], "ns::c");
	pt_records_free(r);
	pt_units_free(u);
	pt_diags_free(d);
}

PT_TEST(bad_template_is_one_diagnostic)
{
	static const char text[] =
		"unit: template\ntemplate-resource: r\ntemplate-engine: jinja2\n"
		"id: a_{{ x }}\nplugin: shell\ncommand: {% for y in z %}\n";
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_records *r = recs_of("x: 1\n");
	const struct pt_rfc822_record *rec = pt_records_get(r, 0);

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_units_load_buffer(u, text, strlen(text), "t.pxu", NULL,
					  d));
	PT_ASSERT_INT_EQ(pt_template_instantiate(
				 u, pt_units_find(u, PT_UNIT_TEMPLATE, "a_{{ x }}"),
				 &rec, NULL, 1, d),
			 0);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 1);
	PT_ASSERT_INT_EQ(pt_diags_get(d, 0)->line, 6);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->message,
			 "template 'a_{{ x }}': field 'command': unsupported "
			 "statement '{% for y in z %}'");
	PT_ASSERT_UINT_EQ(pt_units_job_count(u), 0);
	pt_records_free(r);
	pt_units_free(u);
	pt_diags_free(d);
}
