/*
 * base/rng.h - a seeded pseudo-random generator (xoshiro256**, seeded with
 * splitmix64). Every random choice in proctor goes through one of these so
 * a printed seed reproduces a run. Not for cryptography.
 */
#ifndef PT_BASE_RNG_H
#define PT_BASE_RNG_H

#include <stddef.h>
#include <stdint.h>

struct pt_rng {
	uint64_t s[4];
};

void pt__rng_seed(struct pt_rng *r, uint64_t seed);
uint64_t pt__rng_next(struct pt_rng *r);
/* Uniform in [0, n); n > 0 (Lemire's method, unbiased). */
uint64_t pt__rng_below(struct pt_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double pt__rng_double(struct pt_rng *r);
/* Fisher-Yates shuffle of n elements of size elem. */
void pt__rng_shuffle(struct pt_rng *r, void *base, size_t n, size_t elem);
/* splitmix64 step: derives independent seeds from one seed. */
uint64_t pt__splitmix64(uint64_t *state);

#endif
