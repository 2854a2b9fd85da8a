/*
 * base/map.c - string hash map. Linear probing keeps lookups to one or two
 * cache lines at load <= 1/2; backward-shift deletion avoids tombstones so
 * long-lived maps (readiness indexes) never degrade.
 */
#include "base/common.h"
#include "base/map.h"

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

/* A small word-at-a-time hash with murmur3's finaliser. Not for security. */
uint64_t pt__hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)len * 0x100000001b3ULL);
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, s, 8);
		h ^= fmix64(w);
		h = rotl64(h, 27) * 0x87c37b91114253d5ULL + 0x52dce729;
		s += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, s, len);
	h ^= fmix64(w ^ ((uint64_t)len << 56));
	return fmix64(h);
}

void pt__map_release(struct pt_map *m)
{
	pt__free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

static struct pt_map_slot *probe(const struct pt_map *m, const char *key,
				 uint32_t len, uint32_t hash)
{
	size_t mask = m->cap - 1;
	size_t i = hash & mask;

	for (;;) {
		struct pt_map_slot *s = &m->slots[i];

		if (!s->key)
			return s;
		if (s->hash == hash && s->len == len &&
		    memcmp(s->key, key, len) == 0)
			return s;
		i = (i + 1) & mask;
	}
}

static int rehash(struct pt_map *m, size_t ncap)
{
	struct pt_map_slot *old = m->slots, *slots;
	size_t ocap = m->cap;

	slots = pt__calloc(ncap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	m->slots = slots;
	m->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].key)
			*probe(m, old[i].key, old[i].len, old[i].hash) = old[i];
	}
	pt__free(old);
	return 0;
}

int pt__map_reserve(struct pt_map *m, size_t n)
{
	size_t need, cap = m->cap ? m->cap : 16;

	if (!pt__mul_ok(n, 2, &need))
		return -ENOMEM;
	while (cap < need) {
		if (!pt__mul_ok(cap, 2, &cap))
			return -ENOMEM;
	}
	return cap == m->cap ? 0 : rehash(m, cap);
}

int pt__map_put(struct pt_map *m, const char *key, size_t len, void *value,
		void **ret_old)
{
	struct pt_map_slot *s;
	uint32_t hash;
	int r;

	if (len > UINT32_MAX)
		return -E2BIG;
	if ((m->n + 1) * 2 > m->cap) {
		r = pt__map_reserve(m, m->n + 1);
		if (r < 0)
			return r;
	}
	hash = (uint32_t)pt__hash_bytes(key, len);
	s = probe(m, key, (uint32_t)len, hash);
	if (s->key) {
		if (ret_old)
			*ret_old = s->value;
		s->value = value;
		return 0;
	}
	s->key = key;
	s->len = (uint32_t)len;
	s->hash = hash;
	s->value = value;
	m->n++;
	return 1;
}

bool pt__map_find(const struct pt_map *m, const char *key, size_t len,
		  void **ret_value)
{
	struct pt_map_slot *s;

	if (!m->cap || len > UINT32_MAX)
		return false;
	s = probe(m, key, (uint32_t)len, (uint32_t)pt__hash_bytes(key, len));
	if (!s->key)
		return false;
	if (ret_value)
		*ret_value = s->value;
	return true;
}

void *pt__map_get(const struct pt_map *m, const char *key, size_t len)
{
	void *v = NULL;

	return pt__map_find(m, key, len, &v) ? v : NULL;
}

void *pt__map_gets(const struct pt_map *m, const char *key)
{
	return pt__map_get(m, key, strlen(key));
}

bool pt__map_del(struct pt_map *m, const char *key, size_t len,
		 void **ret_old)
{
	struct pt_map_slot *s;
	size_t mask, i, j;

	if (!m->cap || len > UINT32_MAX)
		return false;
	s = probe(m, key, (uint32_t)len, (uint32_t)pt__hash_bytes(key, len));
	if (!s->key)
		return false;
	if (ret_old)
		*ret_old = s->value;
	mask = m->cap - 1;
	i = (size_t)(s - m->slots);
	/* Backward shift: pull later members of the cluster into the hole. */
	for (j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;

		/* Move j to i if its home is not in the cyclic range (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = NULL;
	m->slots[i].value = NULL;
	m->n--;
	return true;
}
