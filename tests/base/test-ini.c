/*
 * INI reader (base/ini.h), data-driven: each case is an input and either
 * the entries it gives ("[section]@line" for a header, "section.key@line=
 * value" for a key, values with '\n' written as "\n") or the diagnostics
 * ("line:message"). The expected entries are what Python's configparser
 * (ConfigParser(delimiters="="), optionxform=str) gives for the same text.
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/ini.h"

#include "tap.h"

static const struct {
	const char *name, *in, *out;
} cases[] = {
	{ "launcher",
	  "[launcher]\nlauncher_version = 1\napp_id = com.example:trial\n"
	  "[test plan]\nunit = ns::plan\nforced = yes\n",
	  "[launcher]@1 launcher.launcher_version@2=1 "
	  "launcher.app_id@3=com.example:trial [test plan]@4 "
	  "test plan.unit@5=ns::plan test plan.forced@6=yes " },
	{ "case_kept", "[S]\nKey = V\n", "[S]@1 S.Key@2=V " },
	{ "colon_is_no_delimiter", "[s]\na: b = c\n", "[s]@1 s.a: b@2=c " },
	{ "comments", "# top\n[s]\n; semi\nk = v\n   # indented\n",
	  "[s]@2 s.k@4=v " },
	{ "continuation", "[s]\nexclude = a\n  b\n\n  c\n\n\nnext = 1\n",
	  "[s]@1 s.exclude@2=a\\nb\\n\\nc s.next@8=1 " },
	{ "comment_inside_value", "[s]\nk = a\n  # not b\n  c\n",
	  "[s]@1 s.k@2=a\\nc " },
	{ "empty_value", "[s]\nk =\n", "[s]@1 s.k@2= " },
	{ "empty_first_line", "[s]\nk =\n  x\n", "[s]@1 s.k@2=\\nx " },
	{ "percent", "[s]\nk = 100%%\nr = %(k)s done\n",
	  "[s]@1 s.k@2=100% s.r@3=100% done " },
	{ "header_last_bracket", "[a] b]\n", "[a] b]@1 " },
	{ "crlf", "[s]\r\nk = v\r\n", "[s]@1 s.k@2=v " },
	{ "no_newline_at_end", "[s]\nk = v", "[s]@1 s.k@2=v " },
	{ "indented_key_is_continuation_only_deeper", "[s]\n  k = 1\n  j = 2\n",
	  "[s]@1 s.k@2=1 s.j@3=2 " },
	{ "empty", "", "" },
	/* errors */
	{ "key_before_section", "k = v\n[s]\n",
	  "E1:a key before any [section] " },
	{ "no_delimiter", "[s]\njust words\n",
	  "E2:not a [section] nor a 'key = value' line " },
	{ "dup_section", "[s]\n[t]\n[s]\n",
	  "E3:section [s] is repeated (first at line 1) " },
	{ "dup_key", "[s]\nk = 1\nk = 2\n",
	  "E3:key 'k' of section [s] is repeated (first at line 2) " },
	{ "empty_key", "[s]\n= v\n", "E2:'=' without a key " },
	{ "lone_percent", "[s]\nk = 5%\n",
	  "E2:'%' must be followed by '%' or '(name)s' in the value of 'k' "
	  "(write '%%' for a '%') " },
	{ "unknown_reference", "[s]\nk = %(x)s\n",
	  "E2:'x' referenced in the value of 'k' is not a key of [s] " },
	{ "loop_reference", "[s]\nk = %(k)s\n",
	  "E2:'%(...)s' references nest deeper than 10 " },
	{ "nul", "[s]\nk = a\0b\n", "E2:NUL byte in the line " },
	{ "empty_header", "[]\n", "E1:a key before any [section] " },
};

static void add_escaped(struct pt_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			pt__buf_adds(b, "\\n");
		else
			pt__buf_addch(b, *s);
	}
}

PT_TEST(ini_cases)
{
	for (size_t c = 0; c < PT_ARRAY_SIZE(cases); c++) {
		struct pt_buf got = PT_BUF_INIT;
		struct pt_diags *d = NULL;
		struct pt__ini *ini = NULL;
		size_t len = strlen(cases[c].in);
		int rc;

		if (!strcmp(cases[c].name, "nul"))
			len = 10;
		PT_ASSERT_OK(pt_diags_new(&d));
		rc = pt__ini_parse(cases[c].in, len, "l.conf", NULL, d, &ini);
		if (rc == 0) {
			PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
			for (size_t i = 0; i < pt__ini_count(ini); i++) {
				const struct pt__ini_entry *e =
					pt__ini_get(ini, i);
				if (!e->key) {
					pt__buf_addf(&got, "[%s]@%u ",
						     e->section, e->line);
					continue;
				}
				pt__buf_addf(&got, "%s.%s@%u=", e->section,
					     e->key, e->line);
				add_escaped(&got, e->value);
				pt__buf_addch(&got, ' ');
				PT_ASSERT(pt__ini_find(ini, e->section,
						       e->key) == e);
			}
		} else {
			PT_ASSERT_ERR(rc, PT_EPARSE);
			PT_ASSERT_NULL(ini);
			for (size_t i = 0; i < pt_diags_count(d); i++) {
				const struct pt_diag *g = pt_diags_get(d, i);
				PT_ASSERT_STR_EQ(g->file, "l.conf");
				pt__buf_addf(&got, "E%u:%s ", g->line,
					     g->message);
			}
		}
		if (strcmp(got.s, cases[c].out))
			PT_FAIL("case %s: got '%s', want '%s'", cases[c].name,
				got.s, cases[c].out);
		pt__buf_release(&got);
		pt__ini_free(ini);
		pt_diags_free(d);
	}
}

PT_TEST(ini_find_absent)
{
	struct pt__ini *ini = NULL;

	PT_ASSERT_OK(pt__ini_parse("[a]\nk = 1\n", 10, NULL, NULL, NULL, &ini));
	PT_ASSERT_NULL(pt__ini_find(ini, "a", "j"));
	PT_ASSERT_NULL(pt__ini_find(ini, "b", "k"));
	PT_ASSERT_STR_EQ(pt__ini_find(ini, "a", "k")->value, "1");
	pt__ini_free(ini);
}

PT_TEST(ini_limits)
{
	struct pt__ini_limits lim = { .max_len = 16 };
	struct pt__ini *ini = NULL;
	struct pt_diags *d = NULL;
	struct pt_buf big = PT_BUF_INIT;

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(pt__ini_parse("[a]\nk = 12345678901234\n", 22, "f", &lim,
				    d, &ini),
		      PT_ETOOBIG);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->message, "larger than 16 bytes");
	lim = (struct pt__ini_limits){ .max_entries = 2 };
	PT_ASSERT_ERR(
		pt__ini_parse("[a]\nk = 1\nj = 2\n", 16, "f", &lim, d, &ini),
		PT_ETOOBIG);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 1)->message,
			 "more than 2 sections and keys");
	PT_ASSERT_UINT_EQ(pt_diags_get(d, 1)->line, 3);
	/* interpolation cannot blow a value up past max_value */
	lim = (struct pt__ini_limits){ .max_value = 64 };
	pt__buf_adds(&big, "[a]\na = xxxxxxxxxx\nb = %(a)s%(a)s%(a)s%(a)s\n"
			   "c = %(b)s%(b)s\n");
	PT_ASSERT_ERR(pt__ini_parse(big.s, big.len, "f", &lim, d, &ini),
		      PT_ETOOBIG);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 2)->message,
			 "value longer than 64 bytes");
	PT_ASSERT_NULL(ini);
	pt__buf_release(&big);
	pt_diags_free(d);
}
