/*
 * base/utf8.h - UTF-8 decoding and encoding, one implementation for the
 * loader (files must be UTF-8), the reports and the expression engine.
 */
#ifndef PT_BASE_UTF8_H
#define PT_BASE_UTF8_H

#include "base/buf.h"
#include "base/common.h"

/*
 * Length of the valid UTF-8 sequence at s[0..n) (1-4), its code point in
 * *cp; 0 when invalid (overlong forms, surrogates, values above
 * U+10FFFF, a sequence cut by n) or n is 0.
 */
size_t pt__utf8_len(const unsigned char *s, size_t n, uint32_t *cp);
/* Offset of the first invalid sequence of s[0..n), or (size_t)-1. */
size_t pt__utf8_invalid_at(const unsigned char *s, size_t n);
/* Appends cp as UTF-8 (surrogates as their 3-byte form). 0 or -ENOMEM. */
int pt__utf8_put(struct pt_buf *b, uint32_t cp);

#endif
