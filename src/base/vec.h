/*
 * base/vec.h - typed growable arrays.
 *
 *	PT_VEC(struct job *) jobs = PT_VEC_INIT;
 *	if (pt_vec_push(&jobs, j) < 0) goto out_nomem;
 *	pt_vec_foreach(&jobs, i) use(jobs.v[i]);
 *	pt_vec_release(&jobs);
 *
 * A vector is a value: { v, n, cap }. Growth doubles and is overflow checked;
 * a failed push leaves the vector unchanged and returns -ENOMEM.
 */
#ifndef PT_BASE_VEC_H
#define PT_BASE_VEC_H

#include <stddef.h>

#define PT_VEC(type)                                                          \
	struct {                                                              \
		type *v;                                                      \
		size_t n;                                                     \
		size_t cap;                                                   \
	}
#define PT_VEC_INIT { .v = NULL, .n = 0, .cap = 0 }

/* Ensures room for need elements of elem bytes; 0 or -ENOMEM. */
int pt__vec_reserve(void **v, size_t *cap, size_t need, size_t elem);

#define pt_vec_reserve(vec, need)                                             \
	pt__vec_reserve((void **)&(vec)->v, &(vec)->cap, (need),              \
			sizeof(*(vec)->v))

#define pt_vec_push(vec, x)                                                   \
	(pt_vec_reserve((vec), (vec)->n + 1) < 0                              \
		 ? -ENOMEM                                                    \
		 : ((vec)->v[(vec)->n++] = (x), 0))

#define pt_vec_release(vec)                                                   \
	do {                                                                  \
		pt__free((vec)->v);                                           \
		(vec)->v = NULL;                                              \
		(vec)->n = (vec)->cap = 0;                                    \
	} while (0)

#define pt_vec_foreach(vec, i) for (size_t i = 0; i < (vec)->n; i++)

#endif
