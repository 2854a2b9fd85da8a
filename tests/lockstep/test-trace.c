/*
 * tests/lockstep/test-trace.c - trace files: round trip, show, and every
 * parse error with its line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "examples.h"

static const char small[] =
	"lockstep-trace 1\n"
	"test t1\n"
	"binary /bin/x\n"
	"seed 7\n"
	"iterations 100\n"
	"iteration 3\n"
	"iter-seed 99\n"
	"strategy pos\n"
	"strategy-desc pos resample_prob=0.5 max_steps=1000\n"
	"max-steps 1000\n"
	"kind assert\n"
	"fail-step 4\n"
	"reason assertion failed in P2: x (a.c:1)\n"
	"steps 4\n"
	"1 1 start 0\n"
	"2 1 spawn 0\n"
	"3 2 start 0\n"
	"4 2 send 1\n"
	"end\n";

PT_TEST(trace_parse_format_round_trip)
{
	struct pt_ls_trace *t;
	char err[128], *s;
	size_t n;

	PT_ASSERT_OK(
		pt_ls_trace_parse(small, strlen(small), &t, err, sizeof(err)));
	PT_ASSERT_STR_EQ(pt_ls_trace_test(t), "t1");
	PT_ASSERT_STR_EQ(pt_ls_trace_binary(t), "/bin/x");
	PT_ASSERT_INT_EQ(pt_ls_trace_kind(t), PT_LS_FAIL_ASSERT);
	PT_ASSERT_INT_EQ(pt_ls_trace_steps(t), 4);
	PT_ASSERT_INT_EQ(pt_ls_trace_choice(t, 0), 1);
	PT_ASSERT_INT_EQ(pt_ls_trace_choice(t, 3), 2);
	PT_ASSERT_INT_EQ(pt_ls_trace_choice(t, 4), 0);
	PT_ASSERT_OK(pt_ls_trace_format(t, &s, &n));
	PT_ASSERT_STR_EQ(s, small);
	PT_ASSERT_INT_EQ(n, strlen(small));
	pt_free(s);
	PT_ASSERT_OK(pt_ls_trace_show(t, &s));
	PT_ASSERT_STR_EQ(s, "test:       t1\n"
			    "binary:     /bin/x\n"
			    "seed:       7\n"
			    "iteration:  3 of 100\n"
			    "iter seed:  99\n"
			    "strategy:   pos resample_prob=0.5 max_steps=1000\n"
			    "kind:       assert\n"
			    "reason:     assertion failed in P2: x (a.c:1)\n"
			    "schedule:   4 steps\n"
			    "  step 1    P1 start\n"
			    "  step 2    P1 spawn\n"
			    "  step 3    P2 start\n"
			    "  step 4    P2 send -> P1   <-- FAILED HERE\n");
	pt_free(s);
	pt_ls_trace_free(t);
	/* Comments, blank lines and CRLF are accepted in the header. */
	{
		char crlf[] =
			"lockstep-trace 1\r\n# c\n\ntest x\nsteps 0\nend\n";
		PT_ASSERT_OK(
			pt_ls_trace_parse(crlf, strlen(crlf), &t, NULL, 0));
		PT_ASSERT_INT_EQ(pt_ls_trace_steps(t), 0);
		pt_ls_trace_free(t);
	}
}

/* Actor names and message payloads survive format and parse, and show. */
PT_TEST(trace_names_and_messages_round_trip)
{
	static const char named[] = "lockstep-trace 1\n"
				    "test t2\n"
				    "seed 0\n"
				    "iterations 1\n"
				    "iteration 1\n"
				    "iter-seed 5\n"
				    "strategy random\n"
				    "strategy-desc random max_steps=1000\n"
				    "max-steps 1000\n"
				    "kind deadlock\n"
				    "fail-step 3\n"
				    "actor 2 cache\n"
				    "steps 3\n"
				    "1 1 spawn 0\n"
				    "2 2 start 0\n"
				    "3 1 call 2 msg 7 -3 40\n"
				    "end\n";
	struct pt_ls_trace *t;
	char err[128], *s;
	size_t n;

	PT_ASSERT_OK(
		pt_ls_trace_parse(named, strlen(named), &t, err, sizeof(err)));
	PT_ASSERT_OK(pt_ls_trace_format(t, &s, &n));
	PT_ASSERT_STR_EQ(s, named);
	pt_free(s);
	PT_ASSERT_OK(pt_ls_trace_show(t, &s));
	PT_ASSERT_STR_EQ(s,
			 "test:       t2\n"
			 "seed:       0\n"
			 "iteration:  1 of 1\n"
			 "iter seed:  5\n"
			 "strategy:   random max_steps=1000\n"
			 "kind:       deadlock\n"
			 "schedule:   3 steps\n"
			 "  step 1    P1 spawn\n"
			 "  step 2    P2 (cache) start\n"
			 "  step 3    P1 call -> P2 (cache) {type 7, a -3, b "
			 "40}   <-- FAILED HERE\n");
	pt_free(s);
	pt_ls_trace_free(t);
}

PT_TEST(trace_of_a_run_round_trips)
{
	struct pt_ls_report *rep = ls_run(
		"rt",
		(struct pt_ls_opts){ .seed = 2, .strategy = PT_LS_RANDOM },
		ex_registry_aba, NULL);
	struct pt_ls_trace *t;
	char *a, *b, err[128];
	size_t n;

	PT_ASSERT_OK(pt_ls_trace_format(rep->trace, &a, &n));
	PT_ASSERT_OK(pt_ls_trace_parse(a, n, &t, err, sizeof(err)));
	b = ls_text(t);
	PT_ASSERT_STR_EQ(a, b);
	pt_free(a);
	pt_free(b);
	pt_ls_trace_free(t);
	pt_ls_report_free(rep);
}

/* Replaces the first occurrence of from by to in small, then parses. */
static void bad(const char *from, const char *to, int code, const char *msg)
{
	char buf[4096], err[256];
	const char *p = strstr(small, from);
	struct pt_ls_trace *t = NULL;
	int r;

	if (!p)
		PT_FAIL("'%s' not in the sample", from);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - small), small, to,
		 p + strlen(from));
	r = pt_ls_trace_parse(buf, strlen(buf), &t, err, sizeof(err));
	PT_ASSERT_ERR(r, code);
	PT_ASSERT_NULL(t);
	PT_ASSERT_STR_EQ(err, msg);
}

PT_TEST(trace_parse_errors_name_the_line)
{
	bad("lockstep-trace 1", "lockstep-trace 2", PT_EPARSE,
	    "line 1: expected 'lockstep-trace 1' (not a trace file?)");
	bad("seed 7\n", "seed x7\n", PT_EPARSE,
	    "line 4: seed: expected a number up to 18446744073709551615, got "
	    "'x7'");
	bad("seed 7\n", "seed 7\nseed 8\n", PT_EPARSE,
	    "line 5: seed: given twice");
	bad("test t1\n", "test t1\ntest t2\n", PT_EPARSE,
	    "line 3: test: given twice");
	bad("test t1\n", "", PT_EPARSE, "line 13: missing 'test' line");
	bad("seed 7\n", "color red\n", PT_EPARSE,
	    "line 4: unknown key 'color'");
	bad("seed 7\n", "seed\n", PT_EPARSE,
	    "line 4: expected 'KEY VALUE', got 'seed'");
	bad("strategy pos\n", "strategy bfs\n", PT_EPARSE,
	    "line 8: strategy: unknown 'bfs'");
	bad("kind assert\n", "kind oops\n", PT_EPARSE,
	    "line 11: kind: unknown 'oops'");
	bad("fail-step 4\n", "fail-step 5\n", PT_EPARSE,
	    "line 14: fail-step 5 beyond 4 steps");
	bad("3 2 start 0\n", "3 0 start 0\n", PT_EPARSE,
	    "line 17: step index: must be at least 1");
	bad("3 2 start 0\n", "4 2 start 0\n", PT_EPARSE,
	    "line 17: step: expected step 3, got 4");
	bad("3 2 start 0\n", "3 2 fly 0\n", PT_EPARSE,
	    "line 17: step: unknown operation 'fly'");
	bad("3 2 start 0\n", "3 2 start\n", PT_EPARSE,
	    "line 17: step: expected 'K INDEX OP ARG [msg TYPE A B] [at PLACE]', "
	    "got "
	    "'3 2 start'");
	bad("3 2 start 0\n", "3 2 start 0 9\n", PT_EPARSE,
	    "line 17: step: expected 'K INDEX OP ARG [msg TYPE A B] [at PLACE]', "
	    "got "
	    "'3 2 start 0 9'");
	bad("3 2 start 0\n", "3 2 start 0 mst 1 2 3\n", PT_EPARSE,
	    "line 17: step: expected 'K INDEX OP ARG [msg TYPE A B] [at PLACE]', "
	    "got "
	    "'3 2 start 0 mst 1 2 3'");
	bad("3 2 start 0\n", "3 2 send 1 msg x 2 3\n", PT_EPARSE,
	    "line 17: step message: invalid in '3 2 send 1 msg x 2 3'");
	bad("seed 7\n", "actor 2\n", PT_EPARSE,
	    "line 4: actor: expected 'INDEX NAME', got '2'");
	bad("seed 7\n", "actor 0 w\n", PT_EPARSE,
	    "line 4: actor index: must be 1..4096");
	bad("seed 7\n", "actor 2 w\nactor 2 v\n", PT_EPARSE,
	    "line 5: actor 2: given twice");
	bad("seed 7\n", "actor 2 a b\n", PT_EPARSE,
	    "line 4: actor: expected 'INDEX NAME', got '2 a b'");
	bad("seed 7\n", "actor 2 a\tb\n", PT_EPARSE,
	    "line 4: actor: control character in name");
	bad("seed 7\n", "program /a\nprogram /b\n", PT_EPARSE,
	    "line 5: program: given twice");
	bad("seed 7\n", "spurious x\n", PT_EPARSE,
	    "line 4: spurious: expected a number up to 4294967295, got 'x'");
	bad("3 2 start 0\n", "3 2 start 0 at\n", PT_EPARSE,
	    "line 17: step: expected 'K INDEX OP ARG [msg TYPE A B] [at "
	    "PLACE]', got '3 2 start 0 at'");
	bad("3 2 start 0\n", "3 2 start 0 on x.c:1\n", PT_EPARSE,
	    "line 17: step: expected 'K INDEX OP ARG [msg TYPE A B] [at "
	    "PLACE]', got '3 2 start 0 on x.c:1'");
	{
		char many[300 * 8 + 16];
		size_t k = 0;

		for (int i = 0; i < 257; i++)
			k += (size_t)snprintf(many + k, sizeof(many) - k,
					      "arg a\n");
		snprintf(many + k, sizeof(many) - k, "seed 7\n");
		bad("seed 7\n", many, PT_ETOOBIG,
		    "line 260: arg: more than 256");
	}
	bad("seed 7\n", "actor 2 0123456789abcdef0123456789abcdef\n",
	    PT_ETOOBIG, "line 4: actor: name longer than 31 bytes");
	bad("3 2 start 0\n", "3 2 start 99999999999\n", PT_EPARSE,
	    "line 17: step argument: invalid '99999999999'");
	bad("3 2 start 0\n", "3 1000001 start 0\n", PT_EPARSE,
	    "line 17: step index: expected a number up to 1000000, got "
	    "'1000001'");
	bad("4 2 send 1\nend\n", "4 2 send 1\n", PT_EPARSE,
	    "line 19: expected 'end'");
	bad("3 2 start 0\n4 2 send 1\nend\n", "3 2 start 0\n", PT_EPARSE,
	    "line 18: expected step 4, got the end");
	bad("end\n", "end\nmore\n", PT_EPARSE, "line 20: text after 'end'");
	bad("steps 4\n", "steps 1000001\n", PT_ETOOBIG,
	    "line 14: steps: more than 1000000");
	bad("steps 4\n", "steps 900000\n", PT_EPARSE,
	    "line 14: steps 900000: the file is too short");
	bad("steps 4\n", "", PT_EPARSE, "line 14: unknown key '1'");
}

PT_TEST(trace_parse_limits)
{
	struct pt_ls_trace *t = NULL;
	char err[128];
	char *big = calloc(1, 8000);
	size_t n;

	PT_ASSERT_NOT_NULL(big);
	/* A line over 4096 bytes. */
	n = (size_t)snprintf(big, 8000, "lockstep-trace 1\ntest ");
	memset(big + n, 'x', 5000);
	PT_ASSERT_ERR(pt_ls_trace_parse(big, n + 5000, &t, err, sizeof(err)),
		      PT_ETOOBIG);
	PT_ASSERT_STR_EQ(err, "line 2: line longer than 4096 bytes");
	/* A text value over 1024 bytes. */
	memcpy(big + n + 2000, "\n", 1);
	PT_ASSERT_ERR(pt_ls_trace_parse(big, n + 2001, &t, err, sizeof(err)),
		      PT_ETOOBIG);
	PT_ASSERT_STR_EQ(err, "line 2: test: longer than 1024 bytes");
	/* A NUL byte. */
	PT_ASSERT_ERR(pt_ls_trace_parse("lockstep-trace 1\nte\0st x\n", 24, &t,
					err, sizeof(err)),
		      PT_EPARSE);
	PT_ASSERT_STR_EQ(err, "line 2: NUL byte in line");
	/* The whole input over the limit. */
	PT_ASSERT_ERR(pt_ls_trace_parse(big, PT_LS_TRACE_MAX_BYTES + 1u, &t,
					err, sizeof(err)),
		      PT_ETOOBIG);
	PT_ASSERT_STR_EQ(err, "trace larger than 16777216 bytes");
	PT_ASSERT_ERR(pt_ls_trace_parse("", 0, &t, err, sizeof(err)),
		      PT_EPARSE);
	PT_ASSERT_STR_EQ(err, "line 1: empty trace");
	PT_ASSERT_NULL(t);
	free(big);
}

PT_TEST(trace_load_errors_name_the_file)
{
	struct pt_ls_trace *t = NULL;
	char err[256], want[512];
	const char *p = pt_test_path("x.lockstep");
	FILE *f;

	PT_ASSERT_ERR(pt_ls_trace_load(p, &t, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: %s", p, pt_strerror(-ENOENT));
	PT_ASSERT_STR_EQ(err, want);
	f = fopen(p, "w");
	PT_ASSERT_NOT_NULL(f);
	fputs("lockstep-trace 1\ntest a\nsteps 1\n1 1 start 0\n", f);
	fclose(f);
	PT_ASSERT_ERR(pt_ls_trace_load(p, &t, err, sizeof(err)), PT_EPARSE);
	snprintf(want, sizeof(want), "%s:5: expected 'end'", p);
	PT_ASSERT_STR_EQ(err, want);
	PT_ASSERT_NULL(t);
}
