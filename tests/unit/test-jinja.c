/*
 * The jinja2 subset (unit/jinja.c). Expected outputs were produced by
 * Jinja2 3.1 (Environment().from_string(text).render(...)) with the same
 * parameters and environment; the error cases are our own messages.
 */
#include "base/buf.h"
#include "base/common.h"
#include "unit/internal.h"

#include "tap.h"

static const struct {
	const char *in, *out, *err;
} cases[] = {
	{ "{{ name }}-{{ __index__ }}", "eth0-3", NULL },
	{ "a\n {%- if gpu_count > \"1\" %}\n  X\n {%- else %}\n  Y\n {%- endif %}",
	  "a\n  X", NULL },
	{ "a\n {%- if gpu_count > \"3\" %}\n  X\n {%- else %}\n  Y\n {%- endif %}",
	  "a\n  Y", NULL },
	{ "{{ __checkbox_env__.get(\"TEST_SNAP\", \"test-snapd-tools\") }}",
	  "test-snapd-tools", NULL },
	{ "{%- if __checkbox_env__.get(\"GENIO_DEVICE\") == \"G700\" %} UTXD2{%- else %} TXD2{%- endif %} with",
	  " UTXD2 with", NULL },
	{ "{{ path.split('/')[-1] }}|{{ path.split('/')[1] }}", "ttyS0|dev",
	  NULL },
	{ "{{ interface.upper() }}{{ 'AbC'.lower() }}", "ETH0abc", NULL },
	{ "{% set release = '' -%}\n{% if release == '16' -%}\nsixteen\n{% endif %}core{{release}}",
	  "core", NULL },
	{ "{%- if 'Unity' in __system_env__.get(\"XDG_CURRENT_DESKTOP\", \"\") %}U{%- else %}N{%- endif %}",
	  "N", NULL },
	{ "{{ __system_env__[\"SNAP_NAME\"] }}:x", ":x", NULL },
	{ "{%- if \"WWAN_NET_IF\" not in __checkbox_env__ %}no{% endif %}",
	  "no", NULL },
	{ "{{ undefined_thing }}.", ".", NULL },
	{ "{# comment #}x {{- ' y ' -}} z", "x y z", NULL },
	{ "{% if name == 'eth0' and not gpu_count == '1' %}A{% elif name %}B{% else %}C{% endif %}",
	  "A", NULL },
	{ "{% if name == 'x' %}A{% elif gpu_count == '2' %}B{% else %}C{% endif %}",
	  "B", NULL },
	{ "{% if name == 'x' %}A{% elif gpu_count == '3' %}B{% else %}C{% endif %}",
	  "C", NULL },
	{ "{% if name == 'x' or __on_ubuntucore__ %}A{% else %}{% if path %}P{% endif %}{% endif %}",
	  "P", NULL },
	{ "{{ (name) }} {{ 12 }} {{ name[0] }}{{ name[-1] }}", "eth0 12 e0",
	  NULL },
	{ "{{ __index__ > 2 }} {{ __index__ == 3 }}", "True True", NULL },
	{ "{% for x in y %}{% endfor %}", NULL,
	  "unsupported statement '{% for x in y %}'" },
	{ "{{ missing > 1 }}", NULL, "'missing' is undefined" },
	{ "{% if name %}", NULL, "missing endif" },
	{ "{{ name", NULL, "unclosed tag" },
	{ "{{ name.bogus }}", NULL,
	  "attribute 'bogus' is not supported (only method calls)" },
	{ "{{ name.title() }}", NULL, "method 'title' is not supported" },
	{ "{% endif %}", NULL, "endif without if" },
};

static struct pt_records *recs(const char *t)
{
	struct pt_records *r = NULL;
	PT_ASSERT_OK(pt_rfc822_parse(t, strlen(t), NULL, NULL, NULL, &r));
	return r;
}

PT_TEST(jinja_subset_cases)
{
	struct pt_units *u = NULL;
	struct pt_records *p = recs("name: eth0\ngpu_count: 2\n"
				    "path: /dev/ttyS0\ninterface: eth0\n");
	struct pt_records *ce = recs("GENIO_DEVICE: G700\n");
	struct pt_records *se = recs("XDG_CURRENT_DESKTOP: ubuntu:GNOME\n");
	struct pt_jinja_env env = { pt_records_get(ce, 0),
				    pt_records_get(se, 0), false };

	PT_ASSERT_OK(pt_units_new(&u));
	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		struct pt_buf out = PT_BUF_INIT, err = PT_BUF_INIT;
		int rc = pt__jinja_render(u, cases[i].in, &env,
					  pt_records_get(p, 0), "3", &out, &err,
					  NULL, NULL);
		if (cases[i].out) {
			if (rc != 0)
				PT_FAIL("case %zu '%s': error %s", i,
					cases[i].in, err.s);
			PT_ASSERT_STR_EQ(out.s, cases[i].out);
		} else {
			PT_ASSERT_INT_EQ(rc, PT_ETEMPLATE);
			PT_ASSERT_STR_EQ(err.s, cases[i].err);
		}
		pt__buf_release(&out);
		pt__buf_release(&err);
	}
	pt_records_free(p);
	pt_records_free(ce);
	pt_records_free(se);
	pt_units_free(u);
}

static void collect(void *ctx, const char *s, size_t n)
{
	struct pt_buf *b = ctx;
	pt__buf_addf(b, "%s%.*s", b->len ? " " : "", (int)n, s);
}

PT_TEST(jinja_referenced_names)
{
	struct pt_units *u = NULL;
	struct pt_buf names = PT_BUF_INIT, err = PT_BUF_INIT;

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt__jinja_render(
		u,
		"{% set r = '' %}{{ a }}{% if b > '1' %}{{ c.upper() }}"
		"{% else %}{{ __checkbox_env__.get('X') }}{{ r }}{% endif %}"
		"{{ d.split('/')[-1] }}",
		NULL, NULL, NULL, NULL, &err, collect, &names));
	PT_ASSERT_STR_EQ(names.s, "a b c d");
	pt__buf_release(&names);
	pt__buf_release(&err);
	pt_units_free(u);
}

/* "{{ " + n times open + "x" + n times close + " }}" (heap). */
static char *nested(size_t n, const char *open, const char *close)
{
	struct pt_buf b = PT_BUF_INIT;

	pt__buf_adds(&b, "{{ ");
	for (size_t i = 0; i < n; i++)
		pt__buf_adds(&b, open);
	pt__buf_adds(&b, "x");
	for (size_t i = 0; i < n; i++)
		pt__buf_adds(&b, close);
	pt__buf_adds(&b, " }}");
	return b.s;
}

/* 20,000 levels of (), [], call arguments and 'not' are an error, not a
 * stack overflow; the top expression and 63 levels inside it still parse. */
PT_TEST(jinja_nesting_is_limited)
{
	static const struct {
		const char *open, *close;
	} kinds[] = { { "(", ")" },
		      { "name[", "]" },
		      { "name.split(", ")" },
		      { "not ", "" } };
	struct pt_units *u = NULL;

	PT_ASSERT_OK(pt_units_new(&u));
	for (size_t k = 0; k < PT_ARRAY_SIZE(kinds); k++) {
		static const size_t depth[] = { 20000, 64, 63 };
		for (size_t d = 0; d < PT_ARRAY_SIZE(depth); d++) {
			struct pt_buf out = PT_BUF_INIT, err = PT_BUF_INIT;
			char *t =
				nested(depth[d], kinds[k].open, kinds[k].close);
			int rc = pt__jinja_render(u, t, NULL, NULL, NULL, &out,
						  &err, NULL, NULL);
			if (d < 2) {
				PT_ASSERT_INT_EQ(rc, PT_ETEMPLATE);
				PT_ASSERT_STR_EQ(
					err.s,
					"expression nested deeper than 64");
			} else if (k == 0 || k == 3) {
				/* Within the limit: parsed and rendered. */
				PT_ASSERT_INT_EQ(rc, 0);
				PT_ASSERT_STR_EQ(out.s ? out.s : "",
						 k == 0 ? "" : "True");
			}
			pt__buf_release(&out);
			pt__buf_release(&err);
			pt__free(t);
			/* Collecting names walks the same parser. */
			t = nested(depth[d], kinds[k].open, kinds[k].close);
			rc = pt__jinja_render(u, t, NULL, NULL, NULL, NULL,
					      &err, NULL, NULL);
			PT_ASSERT_INT_EQ(rc, d < 2 ? PT_ETEMPLATE : 0);
			if (d < 2)
				PT_ASSERT_STR_EQ(
					err.s,
					"expression nested deeper than 64");
			pt__buf_release(&err);
			pt__free(t);
		}
	}
	pt_units_free(u);
}
