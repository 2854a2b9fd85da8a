/*
 * base/arena.h - bump allocation for many small objects with one lifetime
 * (unit text, interned ids, diagnostics). Freed all at once.
 * Allocations are 8-byte aligned. A value type: PT_ARENA_INIT.
 */
#ifndef PT_BASE_ARENA_H
#define PT_BASE_ARENA_H

#include <stddef.h>

struct pt_arena_block;

struct pt_arena {
	struct pt_arena_block *head;
	size_t total; /* bytes handed out, for accounting */
};

#define PT_ARENA_INIT { .head = NULL, .total = 0 }

void *pt__arena_alloc(struct pt_arena *a, size_t size);
void *pt__arena_zalloc(struct pt_arena *a, size_t size);
/* NUL-terminated copy of s[0..n). */
char *pt__arena_strndup(struct pt_arena *a, const char *s, size_t n);
char *pt__arena_strdup(struct pt_arena *a, const char *s);
void *pt__arena_memdup(struct pt_arena *a, const void *p, size_t n);
void pt__arena_release(struct pt_arena *a);

#endif
