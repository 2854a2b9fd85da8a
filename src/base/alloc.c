/*
 * base/alloc.c - the allocator seam. The only file allowed to call malloc,
 * realloc and free (see banned.h).
 */
#define PT_ALLOC_IMPLEMENTATION 1
#include "base/common.h"

static void *default_malloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void *default_realloc(void *ctx, void *ptr, size_t size)
{
	(void)ctx;
	return realloc(ptr, size);
}

static void default_free(void *ctx, void *ptr)
{
	(void)ctx;
	free(ptr);
}

static struct pt_allocator allocator = {
	.malloc = default_malloc,
	.realloc = default_realloc,
	.free = default_free,
	.ctx = NULL,
};

void pt_set_allocator(const struct pt_allocator *a)
{
	if (a && a->malloc && a->realloc && a->free) {
		allocator = *a;
		return;
	}
	allocator.malloc = default_malloc;
	allocator.realloc = default_realloc;
	allocator.free = default_free;
	allocator.ctx = NULL;
}

void *pt__malloc(size_t size)
{
	void *p = allocator.malloc(allocator.ctx, size ? size : 1);

	if (!p)
		errno = ENOMEM;
	return p;
}

void *pt__calloc(size_t n, size_t size)
{
	size_t total;
	void *p;

	if (!pt__mul_ok(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	p = pt__malloc(total);
	if (p)
		memset(p, 0, total ? total : 1);
	return p;
}

void *pt__realloc(void *p, size_t size)
{
	void *q = allocator.realloc(allocator.ctx, p, size ? size : 1);

	if (!q)
		errno = ENOMEM;
	return q;
}

void *pt__malloc_array(size_t n, size_t size)
{
	size_t total;

	if (!pt__mul_ok(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return pt__malloc(total);
}

void *pt__realloc_array(void *p, size_t n, size_t size)
{
	size_t total;

	if (!pt__mul_ok(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return pt__realloc(p, total);
}

void pt__free(void *p)
{
	if (p)
		allocator.free(allocator.ctx, p);
}

void pt_free(void *p)
{
	pt__free(p);
}

void *pt__memdup(const void *p, size_t n)
{
	void *q = pt__malloc(n);

	if (q && n)
		memcpy(q, p, n);
	return q;
}

char *pt__strndup(const char *s, size_t n)
{
	size_t total;
	char *q;

	if (!pt__add_ok(n, 1, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	q = pt__malloc(total);
	if (!q)
		return NULL;
	if (n)
		memcpy(q, s, n);
	q[n] = '\0';
	return q;
}

char *pt__strdup(const char *s)
{
	return pt__strndup(s, strlen(s));
}
