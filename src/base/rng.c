/* base/rng.c - xoshiro256** (Blackman & Vigna), public domain algorithm. */
#include "base/common.h"
#include "base/rng.h"

uint64_t pt__splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void pt__rng_seed(struct pt_rng *r, uint64_t seed)
{
	uint64_t st = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = pt__splitmix64(&st);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t pt__rng_next(struct pt_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t pt__rng_below(struct pt_rng *r, uint64_t n)
{
	__extension__ typedef unsigned __int128 u128;
	u128 m;
	uint64_t l, t;

	assert(n > 0);
	m = (u128)pt__rng_next(r) * n;
	l = (uint64_t)m;
	if (l < n) {
		t = -n % n;
		while (l < t) {
			m = (u128)pt__rng_next(r) * n;
			l = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

double pt__rng_double(struct pt_rng *r)
{
	return (double)(pt__rng_next(r) >> 11) * 0x1.0p-53;
}

void pt__rng_shuffle(struct pt_rng *r, void *base, size_t n, size_t elem)
{
	unsigned char *b = base, tmp[64];

	assert(elem <= sizeof(tmp));
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)pt__rng_below(r, i);

		if (j == i - 1)
			continue;
		memcpy(tmp, b + (i - 1) * elem, elem);
		memcpy(b + (i - 1) * elem, b + j * elem, elem);
		memcpy(b + j * elem, tmp, elem);
	}
}
