/*
 * base/sha256.h - SHA-256 (FIPS 180-4), incremental. Used for unit
 * checksums (docs/plainbox.md §2.3), which must equal upstream's
 * hashlib.sha256(...).hexdigest().
 */
#ifndef PT_BASE_SHA256_H
#define PT_BASE_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pt_sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	unsigned char buf[64];
	size_t nbuf;
};

/* Tests set it to check the portable code on machines with SHA-NI. */
extern bool pt__sha256_force_portable;

void pt__sha256_init(struct pt_sha256 *s);
void pt__sha256_update(struct pt_sha256 *s, const void *data, size_t len);
void pt__sha256_final(struct pt_sha256 *s, unsigned char out[32]);
/* Final digest as 64 lowercase hex digits plus NUL. */
void pt__sha256_final_hex(struct pt_sha256 *s, char out[65]);

#endif
