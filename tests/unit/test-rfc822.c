/*
 * RFC822 grammar (docs/plainbox.md §2.1), data-driven: each case is input text
 * and the expected records "[start-end] key@line="value";" (values as JSON),
 * then "error@LINE" when the input has a syntax error. The expectations
 * were produced by upstream's algorithm (gen_rfc822_records +
 * normalize_rfc822_value); every case also runs split at random chunk
 * boundaries and byte by byte.
 */
#include "base/common.h"
#include "base/buf.h"
#include "base/rng.h"

#include <proctor/unit.h>

#include "tap.h"

static const struct {
	const char *name, *in, *out;
} cases[] = {
	{ "single", "key: value\n", "[1-1] key@1=\"value\";\n" },
	{ "two_records", "a: 1\nb: 2\n\n\n\nc: 3\n", "[1-2] a@1=\"1\"; b@2=\"2\";\n[6-6] c@6=\"3\";\n" },
	{ "comments", "# c\nkey: v\n# c2\nk2: w\n", "[2-4] key@2=\"v\"; k2@4=\"w\";\n" },
	{ "dot_lines", "key:\n line1\n .\n line3\n", "[1-4] key@2=\"line1\\n\\nline3\";\n" },
	{ "dedent", "key:\n   a\n     b\n   c\n", "[1-4] key@2=\"a\\n  b\\nc\";\n" },
	{ "first_and_continued", "key: first\n second\n third\n", "[1-3] key@1=\"first\\nsecond\\nthird\";\n" },
	{ "blank_with_spaces", "a: 1\n   \t\nb: 2\n", "[1-1] a@1=\"1\";\n[3-3] b@3=\"2\";\n" },
	{ "tab_key_is_new_key", "a: 1\n\tb: 2\n", "[1-2] a@1=\"1\"; b@2=\"2\";\n" },
	{ "continuation_without_key", " x\n", "error@1" },
	{ "non_empty_line", "a: 1\nfoo\n", "error@2" },
	{ "duplicate_key", "x: 1\n\na: 1\na: 2\n", "[1-1] x@1=\"1\";\nerror@4" },
	{ "crlf", "a: 1\r\nb: 2\r\n\r\nc: 3", "[1-2] a@1=\"1\"; b@2=\"2\";\n[4-4] c@4=\"3\";\n" },
	{ "lone_cr", "a: 1\rb: 2\r\rc: 3\r", "[1-2] a@1=\"1\"; b@2=\"2\";\n[4-4] c@4=\"3\";\n" },
	{ "dot_single_line", "a: .\n", "[1-1] a@1=\".\";\n" },
	{ "dot_one_newline", "a:\n .\n", "[1-2] a@2=\".\";\n" },
	{ "dot_two_newlines", "a:\n x\n .\n", "[1-3] a@2=\"x\";\n" },
	{ "dot_in_middle_dedent", "a:\n  x\n  .\n  y\n", "[1-4] a@2=\"x\\n\\ny\";\n" },
	{ "mixed_tabs", "a:\n \tx\n  y\n", "[1-3] a@2=\"x\\n y\";\n" },
	{ "no_final_newline", "a: 1\n b", "[1-2] a@1=\"1\\nb\";\n" },
	{ "key_spaces", "a  :  v  \n", "[1-1] a@1=\"v\";\n" },
	{ "empty_value", "a:\n\nb: 1\n", "[1-1] a@2=\"\";\n[3-3] b@3=\"1\";\n" },
	{ "only_comments", "#comment only\n\n\n", "" },
	{ "empty_key", ": v\n", "[1-1] @1=\"v\";\n" },
	{ "colon_in_value", "command: echo a:b\n", "[1-1] command@1=\"echo a:b\";\n" },
	{ "translatable", "_summary: Hello\nid: x\n_description:\n Long\n text\n", "[1-5] _summary@1=\"Hello\"; id@2=\"x\"; _description@4=\"Long\\ntext\";\n" },
	{ "nested_indent", "command:\n  if true; then\n    echo hi\n  fi\n", "[1-4] command@2=\"if true; then\\n  echo hi\\nfi\";\n" },
	{ "dot_dot", "a:\n x\n ..\n", "[1-3] a@2=\"x\\n..\";\n" },
	{ "indented_dot", "a:\n  x\n   .\n", "[1-3] a@2=\"x\";\n" },
	{ "hash_in_value", "a:\n #x\n y\n", "[1-3] a@2=\"#x\\ny\";\n" },
	{ "whitespace_only_cont", "a:\n x\n    \n y\n", "[1-2] a@2=\"x\";\nerror@4" },
};

static void add_json(struct pt_buf *b, const char *s)
{
	pt__buf_addch(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			pt__buf_addf(b, "\\%c", c);
		else if (c == '\n')
			pt__buf_adds(b, "\\n");
		else if (c == '\t')
			pt__buf_adds(b, "\\t");
		else if (c < 0x20)
			pt__buf_addf(b, "\\u%04x", c);
		else
			pt__buf_addch(b, (char)c);
	}
	pt__buf_addch(b, '"');
}

static void dump(struct pt_records *r, struct pt_buf *b)
{
	unsigned line;

	for (size_t i = 0; i < pt_records_count(r); i++) {
		const struct pt_rfc822_record *rec = pt_records_get(r, i);
		pt__buf_addf(b, "[%u-%u]", rec->line_start, rec->line_end);
		for (size_t k = 0; k < rec->n; k++) {
			pt__buf_addf(b, " %s@%u=", rec->fields[k].key,
				     rec->fields[k].line);
			add_json(b, rec->fields[k].value);
			pt__buf_addch(b, ';');
		}
		pt__buf_addch(b, '\n');
	}
	if (pt_records_error(r, &line, NULL))
		pt__buf_addf(b, "error@%u", line);
}

/* Parses in with chunk sizes from rng (0: whole; 1: byte by byte). */
static void parse_dump(const char *in, int mode, struct pt_rng *rng,
		       struct pt_buf *b)
{
	struct pt_rfc822_parser *p = NULL;
	struct pt_records *r = NULL;
	size_t len = strlen(in), off = 0;

	if (mode == 0) {
		PT_ASSERT_OK(pt_rfc822_parse(in, len, "t.pxu", NULL, NULL, &r));
	} else {
		PT_ASSERT_OK(pt_rfc822_parser_new("t.pxu", NULL, &p));
		while (off < len) {
			size_t n = mode == 1 ? 1
					     : 1 + pt__rng_below(rng, 7);
			if (n > len - off)
				n = len - off;
			pt_rfc822_feed(p, in + off, n);
			off += n;
		}
		PT_ASSERT_OK(pt_rfc822_finish(p, NULL, &r));
		pt_rfc822_parser_free(p);
	}
	dump(r, b);
	pt_records_free(r);
}

PT_TEST(rfc822_grammar_cases)
{
	struct pt_rng rng;

	pt__rng_seed(&rng, pt_test_seed());
	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++)
		for (int mode = 0; mode < 5; mode++) {
			struct pt_buf b = PT_BUF_INIT;
			parse_dump(cases[i].in, mode > 2 ? 2 : mode, &rng, &b);
			if (strcmp(b.s, cases[i].out) != 0)
				PT_FAIL("case %s (mode %d):\n  got:      %s\n"
					"  expected: %s",
					cases[i].name, mode, b.s,
					cases[i].out);
			pt__buf_release(&b);
		}
}

PT_TEST(rfc822_error_messages_and_diags)
{
	struct pt_records *r = NULL;
	struct pt_diags *d = NULL;
	const struct pt_diag *g;
	const char *msg;
	unsigned line;
	const char *in = "id: a\n\nid: b\nid: c\n";

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_INT_EQ(pt_rfc822_parse(in, strlen(in), "x.pxu", NULL, d, &r),
			 1);
	PT_ASSERT_INT_EQ(pt_records_error(r, &line, &msg), PT_EPARSE);
	PT_ASSERT_INT_EQ(line, 4);
	PT_ASSERT_STR_EQ(msg, "Job has a duplicate key 'id' with old value "
			      "'b\\n' and new value 'c'");
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 1);
	g = pt_diags_get(d, 0);
	PT_ASSERT_STR_EQ(g->file, "x.pxu");
	PT_ASSERT_INT_EQ(g->line, 4);
	PT_ASSERT_INT_EQ(g->code, PT_EPARSE);
	pt_records_free(r);
	pt_diags_free(d);

	in = "a: 1\nbad line\n";
	PT_ASSERT_OK(pt_rfc822_parse(in, strlen(in), NULL, NULL, NULL, &r));
	PT_ASSERT_INT_EQ(pt_records_error(r, &line, &msg), PT_EPARSE);
	PT_ASSERT_STR_EQ(msg, "Unexpected non-empty line: 'bad line'");
	PT_ASSERT_STR_EQ(pt_records_get(r, 0) ? "x" : "none", "none");
	pt_records_free(r);
}

PT_TEST(rfc822_translatable_lookup)
{
	struct pt_records *r = NULL;
	const struct pt_rfc822_record *rec;
	const char *in = "summary: plain\n_summary: translated\nid: x\n";

	PT_ASSERT_INT_EQ(pt_rfc822_parse(in, strlen(in), NULL, NULL, NULL, &r),
			 1);
	rec = pt_records_get(r, 0);
	PT_ASSERT_STR_EQ(pt_rfc822_value(rec, "summary"), "translated");
	PT_ASSERT_STR_EQ(pt_rfc822_value(rec, "id"), "x");
	PT_ASSERT_NULL(pt_rfc822_value(rec, "nope"));
	PT_ASSERT_STR_EQ(pt_rfc822_field(rec, "summary")->value, "plain");
	PT_ASSERT_STR_EQ(rec->file, "<input>");
	pt_records_free(r);
}

PT_TEST(rfc822_limits)
{
	struct pt_rfc822_limits lim = { .max_line = 8, .max_record = 32,
					.max_records = 2 };
	struct pt_records *r = NULL;
	struct pt_rfc822_parser *p = NULL;
	unsigned line;
	const char *in;

	in = "a: 1\n\nb: 123456789\n";
	PT_ASSERT_INT_EQ(pt_rfc822_parse(in, strlen(in), NULL, &lim, NULL, &r),
			 1);
	PT_ASSERT_INT_EQ(pt_records_error(r, &line, NULL), PT_ETOOBIG);
	PT_ASSERT_INT_EQ(line, 3);
	pt_records_free(r);

	in = "a: 1\n\nb: 2\n\nc: 3\n";
	PT_ASSERT_INT_EQ(pt_rfc822_parse(in, strlen(in), NULL, &lim, NULL, &r),
			 2);
	PT_ASSERT_INT_EQ(pt_records_error(r, NULL, NULL), PT_ETOOBIG);
	pt_records_free(r);

	in = "a: 1234\nb: 1234\nc: 1234\nd: 1234\ne: 1234\nf: 1234\ng: 1\n";
	PT_ASSERT_INT_EQ(pt_rfc822_parse(in, strlen(in), NULL, &lim, NULL, &r),
			 0);
	PT_ASSERT_INT_EQ(pt_records_error(r, &line, NULL), PT_ETOOBIG);
	pt_records_free(r);

	/* A line without end, fed in pieces, hits the limit too. */
	PT_ASSERT_OK(pt_rfc822_parser_new(NULL, &lim, &p));
	PT_ASSERT_OK(pt_rfc822_feed(p, "a: 12", 5));
	PT_ASSERT_ERR(pt_rfc822_feed(p, "34567", 5), PT_ETOOBIG);
	PT_ASSERT_ERR(pt_rfc822_feed(p, "x", 1), PT_ETOOBIG);
	PT_ASSERT_INT_EQ(pt_rfc822_finish(p, NULL, &r), 0);
	PT_ASSERT_INT_EQ(pt_records_error(r, NULL, NULL), PT_ETOOBIG);
	pt_records_free(r);
	pt_rfc822_parser_free(p);
}
