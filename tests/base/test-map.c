/* Tests of base/map against a simple model. */
#include "base/common.h"
#include "base/map.h"
#include "base/rng.h"

#include "tap.h"

PT_TEST(map_put_get_replace_delete)
{
	struct pt_map m = PT_MAP_INIT;
	int a = 1, b = 2;
	void *old = NULL;

	PT_ASSERT_INT_EQ(pt__map_put(&m, "k", 1, &a, NULL), 1);
	PT_ASSERT(pt__map_gets(&m, "k") == &a);
	PT_ASSERT_INT_EQ(pt__map_put(&m, "k", 1, &b, &old), 0);
	PT_ASSERT(old == &a);
	PT_ASSERT(pt__map_gets(&m, "k") == &b);
	PT_ASSERT_NULL(pt__map_gets(&m, "missing"));
	PT_ASSERT(pt__map_del(&m, "k", 1, NULL));
	PT_ASSERT(!pt__map_del(&m, "k", 1, NULL));
	PT_ASSERT_UINT_EQ(m.n, 0);
	pt__map_release(&m);
}

PT_TEST(map_matches_model_under_random_ops)
{
	enum { N = 512 };
	struct pt_map m = PT_MAP_INIT;
	static char keys[N][16];
	static int present[N];
	struct pt_rng r;
	size_t count = 0;

	pt__rng_seed(&r, pt_test_seed());
	for (int i = 0; i < N; i++)
		snprintf(keys[i], sizeof(keys[i]), "key%d", i);
	for (int step = 0; step < 20000; step++) {
		int k = (int)pt__rng_below(&r, N);
		size_t len = strlen(keys[k]);
		if (pt__rng_below(&r, 3) == 0) {
			bool had = pt__map_del(&m, keys[k], len, NULL);
			PT_ASSERT_INT_EQ(had, present[k]);
			count -= (size_t)present[k];
			present[k] = 0;
		} else {
			int r2 = pt__map_put(&m, keys[k], len, keys[k], NULL);
			PT_ASSERT_INT_EQ(r2, !present[k]);
			count += (size_t)!present[k];
			present[k] = 1;
		}
		PT_ASSERT_UINT_EQ(m.n, count);
	}
	for (int i = 0; i < N; i++) {
		void *v = NULL;
		bool f = pt__map_find(&m, keys[i], strlen(keys[i]), &v);
		PT_ASSERT_INT_EQ(f, present[i]);
		if (f)
			PT_ASSERT(v == keys[i]);
	}
	pt__map_release(&m);
}
