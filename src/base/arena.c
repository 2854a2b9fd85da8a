/* base/arena.c - bump allocator over a list of blocks. */
#include "base/common.h"
#include "base/arena.h"

/*
 * Blocks start small and double up to ARENA_BLOCK, so that an arena that
 * holds a few hundred bytes (a compiled expression, say) costs about that
 * much, while a large one still allocates rarely.
 */
#define ARENA_BLOCK       (64 * 1024)
#define ARENA_FIRST_BLOCK 1024

struct pt_arena_block {
	struct pt_arena_block *next;
	size_t used, size;
	max_align_t data[];
};

void *pt__arena_alloc(struct pt_arena *a, size_t size)
{
	struct pt_arena_block *b = a->head;
	size_t need, bsize;

	if (!pt__add_ok(size, 7, &need))
		return NULL;
	need &= ~(size_t)7;
	if (!b || b->size - b->used < need) {
		if (need > ARENA_BLOCK / 4) {
			bsize = need;
		} else {
			bsize = b ? PT_MIN(2 * b->size, (size_t)ARENA_BLOCK)
				  : ARENA_FIRST_BLOCK;
			while (bsize < need)
				bsize *= 2;
		}
		if (!pt__add_ok(bsize, sizeof(*b), &bsize))
			return NULL;
		b = pt__malloc(bsize);
		if (!b)
			return NULL;
		b->size = bsize - sizeof(*b);
		b->used = 0;
		if (need > ARENA_BLOCK / 4 && a->head) {
			/* A big one-off: keep the current block in front. */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	b->used += need;
	a->total += need;
	return (char *)b->data + b->used - need;
}

void *pt__arena_zalloc(struct pt_arena *a, size_t size)
{
	void *p = pt__arena_alloc(a, size);

	if (p)
		memset(p, 0, size);
	return p;
}

void *pt__arena_memdup(struct pt_arena *a, const void *p, size_t n)
{
	void *q = pt__arena_alloc(a, n);

	if (q && n)
		memcpy(q, p, n);
	return q;
}

char *pt__arena_strndup(struct pt_arena *a, const char *s, size_t n)
{
	size_t total;
	char *q;

	if (!pt__add_ok(n, 1, &total))
		return NULL;
	q = pt__arena_alloc(a, total);
	if (!q)
		return NULL;
	if (n)
		memcpy(q, s, n);
	q[n] = '\0';
	return q;
}

char *pt__arena_strdup(struct pt_arena *a, const char *s)
{
	return pt__arena_strndup(a, s, strlen(s));
}

void pt__arena_release(struct pt_arena *a)
{
	struct pt_arena_block *b = a->head, *next;

	for (; b; b = next) {
		next = b->next;
		pt__free(b);
	}
	a->head = NULL;
	a->total = 0;
}
