/*
 * tests/harness/tap.h - proctor's test harness.
 *
 *	PT_TEST(buf_grows) {
 *		struct pt_buf b = PT_BUF_INIT;
 *		PT_ASSERT_OK(pt__buf_adds(&b, "x"));
 *		PT_ASSERT_STR_EQ(b.s, "x");
 *		pt__buf_release(&b);
 *	}
 *
 * Each test runs in a forked child with its own process group and a
 * deadline (PT_TEST_TIMEOUT(name, seconds) to change the 30 s default);
 * a test that hangs is killed with its whole process tree and reported.
 * Tests run in an order shuffled by the seed (printed first; --seed=N or
 * $PT_TEST_SEED reproduces it). The output is TAP 14 on stdout; what tests
 * print goes to stderr. Options: --list, --run=GLOB (fnmatch), --seed=N, --repeat=N,
 * --shard=I/N or $PT_TEST_SHARD (only the tests whose index in the
 * name-sorted list is I modulo N: N processes run every test once),
 * --timeout=SECONDS (multiplies nothing, replaces the default), --no-fork
 * (debugging: first failure ends the process).
 *
 * When $PT_TALLY names a file, one line "PASSED FAILED" is appended to it
 * at exit, so that `make check` can print the total "N passed, N failed".
 */
#ifndef PT_TESTS_TAP_H
#define PT_TESTS_TAP_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct pt_test {
	const char *name;
	void (*fn)(void);
	int timeout_s;
	const char *file;
	int line;
	struct pt_test *next;
};

void pt_test_register(struct pt_test *t);

#define PT_TEST_TIMEOUT(name, seconds)                                        \
	static void pt_test_fn_##name(void);                                  \
	static struct pt_test pt_test_##name = { #name, pt_test_fn_##name,    \
						 (seconds), __FILE__,         \
						 __LINE__, NULL };            \
	__attribute__((constructor)) static void pt_test_reg_##name(void)     \
	{                                                                     \
		pt_test_register(&pt_test_##name);                            \
	}                                                                     \
	static void pt_test_fn_##name(void)

#define PT_TEST(name) PT_TEST_TIMEOUT(name, 0)

/* The seed of this run (also derived per test: pt_test_seed()). */
uint64_t pt_test_seed(void);
/* A fresh private directory for the current test, removed after it. */
const char *pt_test_tmpdir(void);
/* Path of a file NAME inside pt_test_tmpdir() (static buffer rotation). */
const char *pt_test_path(const char *name);
/* Directory of the test executable's sources ($PT_SRCDIR or compiled in). */
const char *pt_test_srcdir(void);

/*
 * Waits until fd is ready for events (POLLIN...) or timeout_ms passes.
 * Returns true when ready. For tests that wait on an event.
 */
bool pt_test_wait_fd(int fd, short events, int timeout_ms);

/*
 * ms scaled as the tests' deadlines are: times $PT_TEST_TIMEOUT when set
 * (slow runs: sanitizers, valgrind), else ms. For a test's own deadline
 * on an event that a slow run only delays.
 */
int pt_test_scaled_ms(int ms);

/* Failure reporting: prints and ends the test. */
__attribute__((noreturn)) void pt_test_fail(const char *file, int line,
					    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Skips the rest of the current test (counted as passed, marked SKIP). */
__attribute__((noreturn)) void pt_test_skip(const char *why);

#define PT_FAIL(...) pt_test_fail(__FILE__, __LINE__, __VA_ARGS__)

#define PT_ASSERT(cond)                                                       \
	do {                                                                  \
		if (!(cond))                                                  \
			PT_FAIL("assertion failed: %s", #cond);               \
	} while (0)

#define PT_ASSERT_INT_OP(a, op, b)                                            \
	do {                                                                  \
		long long pt_a_ = (long long)(a), pt_b_ = (long long)(b);     \
		if (!(pt_a_ op pt_b_))                                        \
			PT_FAIL("%s %s %s: %lld vs %lld", #a, #op, #b, pt_a_, \
				pt_b_);                                       \
	} while (0)

#define PT_ASSERT_INT_EQ(a, b) PT_ASSERT_INT_OP(a, ==, b)
#define PT_ASSERT_INT_NE(a, b) PT_ASSERT_INT_OP(a, !=, b)
#define PT_ASSERT_INT_LT(a, b) PT_ASSERT_INT_OP(a, <, b)
#define PT_ASSERT_INT_LE(a, b) PT_ASSERT_INT_OP(a, <=, b)
#define PT_ASSERT_INT_GT(a, b) PT_ASSERT_INT_OP(a, >, b)
#define PT_ASSERT_INT_GE(a, b) PT_ASSERT_INT_OP(a, >=, b)

#define PT_ASSERT_UINT_EQ(a, b)                                               \
	do {                                                                  \
		unsigned long long pt_a_ = (unsigned long long)(a),           \
				   pt_b_ = (unsigned long long)(b);           \
		if (pt_a_ != pt_b_)                                           \
			PT_FAIL("%s == %s: %llu vs %llu", #a, #b, pt_a_,      \
				pt_b_);                                       \
	} while (0)

#define PT_ASSERT_STR_EQ(a, b)                                                \
	do {                                                                  \
		const char *pt_a_ = (a), *pt_b_ = (b);                        \
		if (!pt_a_ || !pt_b_ || strcmp(pt_a_, pt_b_) != 0)            \
			PT_FAIL("%s == %s:\n  left:  \"%s\"\n  right: \"%s\"", \
				#a, #b, pt_a_ ? pt_a_ : "(null)",             \
				pt_b_ ? pt_b_ : "(null)");                    \
	} while (0)

#define PT_ASSERT_MEM_EQ(a, b, n)                                             \
	do {                                                                  \
		if (memcmp((a), (b), (n)) != 0)                               \
			PT_FAIL("%s == %s: %zu bytes differ", #a, #b,         \
				(size_t)(n));                                 \
	} while (0)

#define PT_ASSERT_NULL(p)                                                     \
	do {                                                                  \
		const void *pt_p_ = (p);                                      \
		if (pt_p_)                                                    \
			PT_FAIL("%s is %p, expected NULL", #p, pt_p_);        \
	} while (0)

#define PT_ASSERT_NOT_NULL(p)                                                 \
	do {                                                                  \
		if (!(p))                                                     \
			PT_FAIL("%s is NULL", #p);                            \
	} while (0)

/* A pt_ call must succeed (>= 0); prints the error name and message. */
#define PT_ASSERT_OK(expr)                                                    \
	do {                                                                  \
		long long pt_r_ = (long long)(expr);                          \
		if (pt_r_ < 0)                                                \
			PT_FAIL("%s failed: %lld %s (%s)", #expr, pt_r_,      \
				pt_test_errname((int)pt_r_),                  \
				pt_test_errmsg((int)pt_r_));                  \
	} while (0)

/* A pt_ call must fail with exactly err. */
#define PT_ASSERT_ERR(expr, err)                                              \
	do {                                                                  \
		long long pt_r_ = (long long)(expr), pt_e_ = (err);           \
		if (pt_r_ != pt_e_)                                           \
			PT_FAIL("%s: got %lld %s, expected %lld %s", #expr,   \
				pt_r_, pt_test_errname((int)pt_r_), pt_e_,    \
				pt_test_errname((int)pt_e_));                 \
	} while (0)

const char *pt_test_errname(int err);
const char *pt_test_errmsg(int err);

#endif
