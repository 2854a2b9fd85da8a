/* Tests of errors, diagnostics, rng, base64 and string helpers. */
#include "base/base64.h"
#include "base/buf.h"
#include "base/chaos.h"
#include "base/common.h"
#include "base/diag.h"
#include "base/rng.h"
#include "base/str.h"

#include "tap.h"

PT_TEST(strerror_names_codes)
{
	PT_ASSERT_STR_EQ(pt_strerror(PT_EPARSE), "malformed input");
	PT_ASSERT_STR_EQ(pt_error_name(PT_ELOCKED), "PT_ELOCKED");
	PT_ASSERT_STR_EQ(pt_error_name(-ENOENT), "ENOENT");
	PT_ASSERT_STR_EQ(pt_strerror(0), "success");
	PT_ASSERT_STR_EQ(pt_strerror(-99999), "unknown error");
}

PT_TEST(diags_keep_location_and_count_errors)
{
	struct pt_diags *d = NULL;
	const struct pt_diag *g;

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt__diags_add(d, PT_SEV_WARNING, PT_EPARSE, "b.pxu", 7,
				   "id", "odd %s", "thing"));
	PT_ASSERT_OK(pt__diags_add(d, PT_SEV_ERROR, PT_EPARSE, "a.pxu", 3, NULL,
				   "bad"));
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 2);
	PT_ASSERT_UINT_EQ(pt_diags_errors(d), 1);
	PT_ASSERT_OK(pt__diags_sort(d));
	g = pt_diags_get(d, 0);
	PT_ASSERT_STR_EQ(g->file, "a.pxu");
	PT_ASSERT_UINT_EQ(g->line, 3);
	g = pt_diags_get(d, 1);
	PT_ASSERT_STR_EQ(g->message, "odd thing");
	PT_ASSERT_STR_EQ(g->field, "id");
	PT_ASSERT_NULL(pt_diags_get(d, 2));
	pt_diags_free(d);
}

PT_TEST(rng_is_reproducible_and_uniform_enough)
{
	struct pt_rng a, b;
	unsigned hist[10] = { 0 };

	pt__rng_seed(&a, 12345);
	pt__rng_seed(&b, 12345);
	for (int i = 0; i < 1000; i++)
		PT_ASSERT_UINT_EQ(pt__rng_next(&a), pt__rng_next(&b));
	for (int i = 0; i < 100000; i++)
		hist[pt__rng_below(&a, 10)]++;
	for (int i = 0; i < 10; i++) {
		PT_ASSERT_INT_GT(hist[i], 9000);
		PT_ASSERT_INT_LT(hist[i], 11000);
	}
}

PT_TEST(parse_numbers_strictly)
{
	int64_t i;
	uint64_t u;
	double d;

	PT_ASSERT_OK(pt__parse_i64("-42", &i));
	PT_ASSERT_INT_EQ(i, -42);
	PT_ASSERT_ERR(pt__parse_i64("42x", &i), -EINVAL);
	PT_ASSERT_ERR(pt__parse_u64("", &u), -EINVAL);
	PT_ASSERT_ERR(pt__parse_u64("18446744073709551616", &u), -ERANGE);
	PT_ASSERT_OK(pt__parse_u64("18446744073709551615", &u));
	PT_ASSERT_UINT_EQ(u, UINT64_MAX);
	PT_ASSERT_OK(pt__parse_double("1.5", &d));
	PT_ASSERT(d == 1.5);
	PT_ASSERT_ERR(pt__parse_double(" 1", &d), -EINVAL);
}

PT_TEST(glob_and_strip)
{
	struct pt_slice s = pt__slice_strip(pt__slice("  ab c \n", 8));

	PT_ASSERT(pt__slice_eqs(s, "ab c"));
	PT_ASSERT(pt__glob_match("a*c", "abbbc"));
	PT_ASSERT(pt__glob_match("*", ""));
	PT_ASSERT(!pt__glob_match("a?c", "ac"));
	PT_ASSERT(pt__glob_match("*.pxu", "jobs.pxu"));
	PT_ASSERT(!pt__glob_match("*.pxu", "jobs.pxux"));
}

PT_TEST(base64_follows_rfc4648_and_decodes_strictly)
{
	/* The test vectors of RFC 4648, section 10. */
	static const char *const v[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = { "Zg=",    "Zg==Zg==", "Z===",
					   "Zm9v\n", "Zm-v",	 "=Zg=" };
	static const unsigned char bin[] = { 0x00, 0xff, 0xfe, 0x80, 0x7f };
	struct pt_buf b = PT_BUF_INIT;

	for (size_t i = 0; i < PT_ARRAY_SIZE(v); i++) {
		pt__buf_reset(&b);
		PT_ASSERT_OK(pt__b64_encode(v[i][0], strlen(v[i][0]), &b));
		PT_ASSERT_STR_EQ(b.len ? b.s : "", v[i][1]);
		pt__buf_reset(&b);
		PT_ASSERT_OK(pt__b64_decode(v[i][1], strlen(v[i][1]), &b));
		PT_ASSERT_UINT_EQ(b.len, strlen(v[i][0]));
		PT_ASSERT(!b.len || !memcmp(b.s, v[i][0], b.len));
	}
	for (size_t i = 0; i < PT_ARRAY_SIZE(bad); i++) {
		pt__buf_reset(&b);
		PT_ASSERT_ERR(pt__b64_decode(bad[i], strlen(bad[i]), &b),
			      PT_EPARSE);
	}
	pt__buf_reset(&b);
	PT_ASSERT_OK(pt__b64_encode(bin, sizeof(bin), &b));
	PT_ASSERT_STR_EQ(b.s, "AP/+gH8=");
	pt__buf_release(&b);
}

PT_TEST(chaos_plan_parse_and_seeded_decisions)
{
	struct pt_chaos c;
	char err[256];
	unsigned hits = 0, same = 0;

	PT_ASSERT_OK(pt__chaos_parse("write:EIO:0.25@/tmp/x;read:short,"
				     "exe=server",
				     &c, err, sizeof(err)));
	PT_ASSERT_UINT_EQ(c.n, 2);
	PT_ASSERT_INT_EQ(c.rules[0].call, PT_CHAOS_WRITE);
	PT_ASSERT_INT_EQ(c.rules[0].err, EIO);
	PT_ASSERT(c.rules[0].rate == 0.25);
	PT_ASSERT_STR_EQ(c.rules[0].filter, "/tmp/x");
	PT_ASSERT_INT_EQ(c.rules[1].err, PT_CHAOS_SHORT);
	PT_ASSERT(c.rules[1].rate == 0.1);
	PT_ASSERT_STR_EQ(c.exe, "server");
	PT_ASSERT_ERR(pt__chaos_parse("fsync:short", &c, err, sizeof(err)),
		      -EINVAL);
	PT_ASSERT_STR_EQ(err, "'fsync:short': unknown or impossible error");
	PT_ASSERT_ERR(pt__chaos_parse("write:EIO:0", &c, err, sizeof(err)),
		      -EINVAL);
	PT_ASSERT_STR_EQ(err, "'0': rate must be in (0, 1]");
	PT_ASSERT_ERR(pt__chaos_parse("", &c, err, sizeof(err)), -EINVAL);
	PT_ASSERT_STR_EQ(err, "no fault rule");
	PT_ASSERT_OK(
		pt__chaos_parse("kill@2,pause@0.5:0.25", &c, err, sizeof(err)));
	PT_ASSERT_UINT_EQ(c.n, 0);
	PT_ASSERT(c.kill_max == 2 && c.pause_max == 0.5 && c.pause_len == 0.25);
	PT_ASSERT_ERR(pt__chaos_parse("pause@1", &c, err, sizeof(err)),
		      -EINVAL);
	PT_ASSERT_STR_EQ(err, "'pause@1': expected kill@SECONDS, "
			      "kill-one@SECONDS or pause@SECONDS:SECONDS");
	PT_ASSERT_OK(pt__chaos_parse("kill-one@1.5", &c, err, sizeof(err)));
	PT_ASSERT(c.kill_one_max == 1.5 && c.kill_max == 0);
	PT_ASSERT_ERR(pt__chaos_parse("kill-one@0", &c, err, sizeof(err)),
		      -EINVAL);
	PT_ASSERT_STR_EQ(err, "'kill-one@0': expected kill@SECONDS, "
			      "kill-one@SECONDS or pause@SECONDS:SECONDS");
	/* The same (seed, rule, count) always decides the same; the rate
	 * holds over many calls. */
	for (uint64_t n = 1; n <= 100000; n++) {
		bool h = pt__chaos_hit(42, 0, n, 0.25);
		hits += h;
		same += h == pt__chaos_hit(42, 0, n, 0.25);
	}
	PT_ASSERT_UINT_EQ(same, 100000);
	PT_ASSERT(hits > 24000 && hits < 26000);
	PT_ASSERT(pt__chaos_hit(1, 0, 1, 1.0));
}

PT_TEST(chaos_plan_malloc_and_clock_faults)
{
	struct pt_chaos c;
	char err[256];
	uint64_t k, lo = 100, hi = 0;

	PT_ASSERT_OK(pt__chaos_parse("malloc:ENOMEM:0.5@>=4K,malloc:ENOMEM,"
				     "clock:jump:-3600@10,clock:fast:2.5",
				     &c, err, sizeof(err)));
	PT_ASSERT_UINT_EQ(c.n, 2);
	PT_ASSERT_INT_EQ(c.rules[0].call, PT_CHAOS_MALLOC);
	PT_ASSERT_INT_EQ(c.rules[0].err, ENOMEM);
	PT_ASSERT(c.rules[0].rate == 0.5);
	PT_ASSERT_UINT_EQ(c.rules[0].min_size, 4096);
	PT_ASSERT_STR_EQ(c.rules[0].filter, "");
	PT_ASSERT_UINT_EQ(c.rules[1].min_size, 0);
	PT_ASSERT(c.clock_jump == -3600 && c.clock_fast == 2.5);
	PT_ASSERT_UINT_EQ(c.clock_jump_within, 10);
	PT_ASSERT_OK(pt__chaos_parse("clock:jump:1.5", &c, err, sizeof(err)));
	PT_ASSERT_UINT_EQ(c.n, 0);
	PT_ASSERT_UINT_EQ(c.clock_jump_within, 100);
	/* The read of the jump: seeded, in [1, N]. */
	for (uint64_t seed = 0; seed < 1000; seed++) {
		k = pt__chaos_jump_read(&c, seed);
		lo = k < lo ? k : lo;
		hi = k > hi ? k : hi;
		PT_ASSERT_UINT_EQ(k, pt__chaos_jump_read(&c, seed));
	}
	PT_ASSERT(lo == 1 && hi == 100);
	PT_ASSERT_OK(
		pt__chaos_parse("malloc:ENOMEM:1@>=2M", &c, err, sizeof(err)));
	PT_ASSERT_UINT_EQ(c.rules[0].min_size, 2u << 20);
	PT_ASSERT_ERR(pt__chaos_parse("malloc:EIO", &c, err, sizeof(err)),
		      -EINVAL);
	PT_ASSERT_STR_EQ(err, "'malloc:EIO': unknown or impossible error");
	PT_ASSERT_ERR(
		pt__chaos_parse("malloc:ENOMEM@4096", &c, err, sizeof(err)),
		-EINVAL);
	PT_ASSERT_STR_EQ(err, "'malloc:ENOMEM@4096': a malloc filter is "
			      "@>=SIZE (bytes, or K, M, G; at most 1T)");
	PT_ASSERT_ERR(
		pt__chaos_parse("malloc:ENOMEM@>=2T", &c, err, sizeof(err)),
		-EINVAL);
	PT_ASSERT_ERR(pt__chaos_parse("malloc:ENOMEM@>=99999999999999999999",
				      &c, err, sizeof(err)),
		      -EINVAL);
	PT_ASSERT_ERR(pt__chaos_parse("clock:jump:0", &c, err, sizeof(err)),
		      -EINVAL);
	PT_ASSERT_STR_EQ(err, "'clock:jump:0': expected clock:jump:SECONDS"
			      "[@READS] or clock:fast:FACTOR (one of each; "
			      "SECONDS non-zero, at most 3153600000; READS "
			      "1..1000000000; FACTOR in (0, 1000])");
	PT_ASSERT_ERR(pt__chaos_parse("clock:fast:2,clock:fast:3", &c, err,
				      sizeof(err)),
		      -EINVAL);
	PT_ASSERT_ERR(pt__chaos_parse("clock:fast:0", &c, err, sizeof(err)),
		      -EINVAL);
	PT_ASSERT_ERR(pt__chaos_parse("clock:fast:nan", &c, err, sizeof(err)),
		      -EINVAL);
	PT_ASSERT_ERR(pt__chaos_parse("clock:jump:5@0", &c, err, sizeof(err)),
		      -EINVAL);
	PT_ASSERT_ERR(pt__chaos_parse("clock:slow:2", &c, err, sizeof(err)),
		      -EINVAL);
	PT_ASSERT_ERR(pt__chaos_parse("clock:", &c, err, sizeof(err)), -EINVAL);
}

/* The process faults' times: seeded by (seed, job, attempt) only, each in
 * its range; the pause lasts a seeded time in (0, D] too. */
PT_TEST(chaos_process_fault_times_are_seeded_in_their_ranges)
{
	struct pt_chaos c;
	struct pt_chaos_times a, b, other;
	char err[128];
	bool lens_differ = false;

	PT_ASSERT_OK(pt__chaos_parse("kill@2,pause@0.5:0.25,kill-one@1", &c,
				     err, sizeof(err)));
	for (unsigned att = 1; att <= 50; att++) {
		pt__chaos_times(&c, NULL, 7, "t::long", att, &a);
		pt__chaos_times(&c, NULL, 7, "t::long", att, &b);
		PT_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
		PT_ASSERT(a.kill > 0 && a.kill <= 2.001);
		PT_ASSERT(a.stop > 0 && a.stop <= 0.501);
		PT_ASSERT(a.stop_len > 0 && a.stop_len <= 0.25);
		PT_ASSERT(a.kill_one > 0 && a.kill_one <= 1.001);
		pt__chaos_times(&c, NULL, 7, "t::long", att + 1, &other);
		lens_differ |= other.stop_len != a.stop_len;
	}
	PT_ASSERT(lens_differ);
	/* another seed, other times; "off" in the job's field: none */
	pt__chaos_times(&c, NULL, 8, "t::long", 1, &b);
	pt__chaos_times(&c, NULL, 7, "t::long", 1, &a);
	PT_ASSERT(a.stop_len != b.stop_len && a.kill != b.kill);
	pt__chaos_times(&c, "off", 7, "t::long", 1, &a);
	PT_ASSERT(a.kill == 0 && a.stop == 0 && a.stop_len == 0 &&
		  a.kill_one == 0);
}
