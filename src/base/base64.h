/*
 * base/base64.h - base64 with the standard alphabet and padding (RFC 4648
 * section 4): cassette bodies that are not text, and binary fields of
 * session pool messages sent as JSON.
 */
#ifndef PT_BASE_BASE64_H
#define PT_BASE_BASE64_H

#include <stddef.h>

#include "base/buf.h"

/* Appends the encoding of p[0..n) to out; 0 or -ENOMEM. */
int pt__b64_encode(const void *p, size_t n, struct pt_buf *out);
/*
 * Appends the bytes s[0..n) encodes to out: strict (padding required, no
 * white space); 0, PT_EPARSE or -ENOMEM.
 */
int pt__b64_decode(const char *s, size_t n, struct pt_buf *out);

#endif
