/*
 * lockstep/rt/rt-alloc.c - the interposed allocator entry points of the
 * preloaded runtime: malloc returning NULL (ENOMEM) under `proctor run
 * --chaos malloc:ENOMEM...` (docs/chaos.md); everywhere else (no option
 * block, lockstep mode, a chaos plan without a malloc rule) each call goes
 * straight to the next definition (libc's allocator, or whichever the
 * program brought), after one predictable branch.
 *
 * The next definitions are found with dlsym, which may itself allocate:
 * while they are looked up, allocations come from a small static arena
 * (never freed; free and realloc recognise its pointers). The decision
 * and the log line are rt-chaos.c's (pt__rt_chaos_alloc).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lockstep/rt/rt.h"

void *memalign(size_t align, size_t n);
void *valloc(size_t n);
void *pvalloc(size_t n);

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);
static void *(*next_memalign)(size_t, size_t);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_valloc)(size_t);
static void *(*next_pvalloc)(size_t);

/* The bootstrap arena: what dlsym allocates while the allocator is found
 * (a few hundred bytes at most with glibc). Each block has a 16-byte
 * header holding its size, for realloc. */
#define BOOT_SIZE (64 * 1024)
static _Alignas(64) unsigned char boot[BOOT_SIZE];
static _Atomic size_t boot_used;
static _Atomic int resolving;

static bool in_boot(const void *p)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)boot;

	return a >= b && a < b + sizeof(boot);
}

static void *boot_alloc(size_t n, size_t align)
{
	size_t at, old = atomic_load(&boot_used);

	if (align < 16)
		align = 16;
	do {
		at = (old + 16 + align - 1) & ~(align - 1);
		if (n > sizeof(boot) || at + n > sizeof(boot)) {
			errno = ENOMEM;
			return NULL;
		}
	} while (!atomic_compare_exchange_weak(&boot_used, &old, at + n));
	memcpy(boot + at - sizeof(size_t), &n, sizeof(n));
	return boot + at;
}

/* Looks the next allocator up; false while another call is doing it
 * (the caller then uses the arena). */
static bool resolve(void)
{
	/* malloc last: its pointer says that all are known */
	static const struct {
		const char *name;
		void *slot;
	} next[] = {
		{ "free", &next_free },
		{ "calloc", &next_calloc },
		{ "realloc", &next_realloc },
		{ "memalign", &next_memalign },
		{ "posix_memalign", &next_posix_memalign },
		{ "aligned_alloc", &next_aligned_alloc },
		{ "valloc", &next_valloc },
		{ "pvalloc", &next_pvalloc },
		{ "malloc", &next_malloc },
	};

	if (atomic_exchange(&resolving, 1))
		return false;
	for (size_t i = 0; i < sizeof(next) / sizeof(next[0]); i++) {
		void *p = pt__rt_next(next[i].name);

		memcpy(next[i].slot, &p, sizeof(p));
	}
	atomic_store(&resolving, 0);
	return true;
}

/* True when the allocator is known; false: use the arena. */
static inline bool ready(void)
{
	return __builtin_expect(next_malloc != NULL, 1) ||
	       (resolve() && next_malloc);
}

/* An injected failure of an allocation of n bytes. */
static inline bool fail(size_t n)
{
	return __builtin_expect(pt__rt_chaos_malloc, 0) &&
	       pt__rt_chaos_alloc(n);
}

RT_API void *malloc(size_t n)
{
	if (fail(n)) {
		errno = ENOMEM;
		return NULL;
	}
	return ready() ? next_malloc(n) : boot_alloc(n, 16);
}

RT_API void *calloc(size_t k, size_t n)
{
	if (fail(k && n > SIZE_MAX / k ? SIZE_MAX : k * n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (ready())
		return next_calloc(k, n);
	if (k && n > SIZE_MAX / k) {
		errno = ENOMEM;
		return NULL;
	}
	return boot_alloc(k * n, 16); /* never reused: zero */
}

RT_API void *realloc(void *p, size_t n)
{
	void *q;
	size_t old;

	if (n && fail(n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (!in_boot(p))
		return ready() ? next_realloc(p, n) : boot_alloc(n, 16);
	memcpy(&old, (unsigned char *)p - sizeof(size_t), sizeof(old));
	q = ready() ? next_malloc(n ? n : 1) : boot_alloc(n ? n : 1, 16);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	return q;
}

RT_API void free(void *p)
{
	if (__builtin_expect(in_boot(p), 0) || !p)
		return;
	if (ready())
		next_free(p);
}

RT_API void *memalign(size_t align, size_t n)
{
	if (fail(n)) {
		errno = ENOMEM;
		return NULL;
	}
	return ready() ? next_memalign(align, n) : boot_alloc(n, align);
}

RT_API void *aligned_alloc(size_t align, size_t n)
{
	if (fail(n)) {
		errno = ENOMEM;
		return NULL;
	}
	return ready() ? next_aligned_alloc(align, n) : boot_alloc(n, align);
}

RT_API int posix_memalign(void **ret, size_t align, size_t n)
{
	if (fail(n))
		return ENOMEM;
	if (ready())
		return next_posix_memalign(ret, align, n);
	if (!(*ret = boot_alloc(n, align)))
		return ENOMEM;
	return 0;
}

/* The obsolete page-aligned ones (pvalloc rounds the size up to pages). */
RT_API void *valloc(size_t n)
{
	if (fail(n)) {
		errno = ENOMEM;
		return NULL;
	}
	return ready() ? next_valloc(n) : boot_alloc(n, 4096);
}

RT_API void *pvalloc(size_t n)
{
	if (fail(n)) {
		errno = ENOMEM;
		return NULL;
	}
	return ready() ? next_pvalloc(n)
		       : boot_alloc((n + 4095) & ~(size_t)4095, 4096);
}
