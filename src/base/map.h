/*
 * base/map.h - a string-keyed hash map (open addressing, linear probing,
 * backward-shift deletion, power-of-two capacity, load factor <= 1/2).
 *
 * Keys are (pointer, length) pairs that the map BORROWS: the caller keeps
 * the key bytes alive and unchanged while the entry exists (typically they
 * live in an arena or in the value itself). Values are void pointers.
 * A value type: PT_MAP_INIT, pt__map_release().
 */
#ifndef PT_BASE_MAP_H
#define PT_BASE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pt_map_slot {
	const char *key; /* NULL: empty slot */
	uint32_t len;
	uint32_t hash;
	void *value;
};

struct pt_map {
	struct pt_map_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t n;
};

#define PT_MAP_INIT { .slots = NULL, .cap = 0, .n = 0 }

uint64_t pt__hash_bytes(const void *p, size_t len);

void pt__map_release(struct pt_map *m);
/* Ensures n entries fit without rehashing; 0 or -ENOMEM. */
int pt__map_reserve(struct pt_map *m, size_t n);
/*
 * Inserts or replaces. Returns 1 when a new key was inserted, 0 when an
 * existing value was replaced (the old one goes to *ret_old if not NULL),
 * -ENOMEM or -E2BIG (key longer than 4 GiB).
 */
int pt__map_put(struct pt_map *m, const char *key, size_t len, void *value,
		void **ret_old);
/* True when found; the value goes to *ret_value (if not NULL). */
bool pt__map_find(const struct pt_map *m, const char *key, size_t len,
		  void **ret_value);
/* The value, or NULL when absent (ambiguous if NULL values are stored). */
void *pt__map_get(const struct pt_map *m, const char *key, size_t len);
void *pt__map_gets(const struct pt_map *m, const char *key);
/* Removes; true when the key was present. */
bool pt__map_del(struct pt_map *m, const char *key, size_t len,
		 void **ret_old);

#define pt_map_foreach(m, slot)                                               \
	for (struct pt_map_slot *slot = (m)->slots;                           \
	     slot && slot < (m)->slots + (m)->cap; slot++)                    \
		if (slot->key)

#endif
