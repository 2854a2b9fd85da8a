/* Tests of base/buf, base/vec and base/arena. */
#include "base/common.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/vec.h"

#include "tap.h"

PT_TEST(buf_starts_empty_and_printable)
{
	struct pt_buf b = PT_BUF_INIT;

	PT_ASSERT_STR_EQ(b.s, "");
	PT_ASSERT_UINT_EQ(b.len, 0);
	pt__buf_release(&b);
	PT_ASSERT_STR_EQ(b.s, "");
}

PT_TEST(buf_appends_and_formats)
{
	struct pt_buf b = PT_BUF_INIT;

	PT_ASSERT_OK(pt__buf_adds(&b, "ab"));
	PT_ASSERT_OK(pt__buf_addch(&b, 'c'));
	PT_ASSERT_OK(pt__buf_addf(&b, "-%d-%s", 42, "x"));
	PT_ASSERT_STR_EQ(b.s, "abc-42-x");
	PT_ASSERT_UINT_EQ(b.len, 8);
	pt__buf_truncate(&b, 2);
	PT_ASSERT_STR_EQ(b.s, "ab");
	pt__buf_release(&b);
}

PT_TEST(buf_grows_past_many_pages)
{
	struct pt_buf b = PT_BUF_INIT;

	for (int i = 0; i < 100000; i++)
		PT_ASSERT_OK(pt__buf_addch(&b, 'a' + i % 26));
	PT_ASSERT_UINT_EQ(b.len, 100000);
	PT_ASSERT_INT_EQ(b.s[99999], 'a' + 99999 % 26);
	PT_ASSERT_INT_EQ(b.s[100000], '\0');
	pt__buf_release(&b);
}

PT_TEST(buf_detach_hands_over)
{
	struct pt_buf b = PT_BUF_INIT;
	size_t len = 0;
	char *s;

	PT_ASSERT_OK(pt__buf_adds(&b, "hello"));
	s = pt__buf_detach(&b, &len);
	PT_ASSERT_STR_EQ(s, "hello");
	PT_ASSERT_UINT_EQ(len, 5);
	PT_ASSERT_STR_EQ(b.s, "");
	pt__free(s);
}

PT_TEST(vec_push_and_reserve)
{
	PT_VEC(int) v = PT_VEC_INIT;

	for (int i = 0; i < 1000; i++)
		PT_ASSERT_OK(pt_vec_push(&v, i * 3));
	PT_ASSERT_UINT_EQ(v.n, 1000);
	PT_ASSERT_INT_EQ(v.v[999], 2997);
	PT_ASSERT_INT_GE(v.cap, 1000);
	pt_vec_release(&v);
	PT_ASSERT_NULL(v.v);
}

PT_TEST(arena_aligns_and_copies)
{
	struct pt_arena a = PT_ARENA_INIT;
	char *s = pt__arena_strndup(&a, "abcdef", 3);
	void *p;

	PT_ASSERT_STR_EQ(s, "abc");
	for (int i = 1; i < 5000; i++) {
		p = pt__arena_alloc(&a, (size_t)(i % 37) + 1);
		PT_ASSERT_NOT_NULL(p);
		PT_ASSERT_UINT_EQ((uintptr_t)p % 8, 0);
	}
	p = pt__arena_alloc(&a, 1 << 20); /* larger than a block */
	PT_ASSERT_NOT_NULL(p);
	memset(p, 1, 1 << 20);
	PT_ASSERT_STR_EQ(s, "abc");
	pt__arena_release(&a);
}
