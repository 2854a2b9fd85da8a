/* base/vec.c - growth of typed vectors (see vec.h). */
#include "base/common.h"
#include "base/vec.h"

int pt__vec_reserve(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (!pt__mul_ok(ncap, 2, &ncap))
			return -ENOMEM;
	}
	nv = pt__realloc_array(*v, ncap, elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}
