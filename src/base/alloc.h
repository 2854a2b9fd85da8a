/*
 * base/alloc.h - every allocation of the library goes through these, and so
 * through the seam of pt_set_allocator().
 *
 * pt__malloc_array and pt__realloc_array check n * size for overflow and
 * return NULL (errno ENOMEM) when it overflows. pt__free(NULL) is a no-op.
 */
#ifndef PT_BASE_ALLOC_H
#define PT_BASE_ALLOC_H

#include <stddef.h>

void *pt__malloc(size_t size);
void *pt__calloc(size_t n, size_t size);
void *pt__realloc(void *p, size_t size);
void *pt__malloc_array(size_t n, size_t size);
void *pt__realloc_array(void *p, size_t n, size_t size);
void pt__free(void *p);

/* Copies of strings; NULL on allocation failure. */
char *pt__strdup(const char *s);
char *pt__strndup(const char *s, size_t n);
void *pt__memdup(const void *p, size_t n);

/* a + b and a * b with overflow detection: false on overflow. */
static inline int pt__add_ok(size_t a, size_t b, size_t *ret)
{
	return !__builtin_add_overflow(a, b, ret);
}

static inline int pt__mul_ok(size_t a, size_t b, size_t *ret)
{
	return !__builtin_mul_overflow(a, b, ret);
}

/* Frees *pp and sets it to NULL. */
#define pt__freep(pp)                                                         \
	do {                                                                  \
		pt__free(*(pp));                                              \
		*(pp) = NULL;                                                 \
	} while (0)

#endif
