/*
 * base/str.h - small string helpers over (pointer, length) slices and
 * NUL-terminated strings. No allocation unless the name says so.
 */
#ifndef PT_BASE_STR_H
#define PT_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed byte range. */
struct pt_slice {
	const char *p;
	size_t len;
};

#define PT_SLICE(s) ((struct pt_slice){ (s), sizeof(s) - 1 })

static inline struct pt_slice pt__slice(const char *p, size_t len)
{
	struct pt_slice s = { p, len };
	return s;
}

bool pt__is_space(int c);
/* Slice without leading/trailing ASCII white space. */
struct pt_slice pt__slice_strip(struct pt_slice s);
bool pt__slice_eq(struct pt_slice a, struct pt_slice b);
bool pt__slice_eqs(struct pt_slice a, const char *s);
bool pt__starts_with(const char *s, const char *prefix);
bool pt__ends_with(const char *s, const char *suffix);

/*
 * Strict decimal parsing of the whole NUL-terminated string: optional
 * leading '-' (signed only), digits, nothing else. 0, -EINVAL or -ERANGE.
 */
int pt__parse_i64(const char *s, int64_t *ret);
int pt__parse_u64(const char *s, uint64_t *ret);
/* Like strtod over the whole string (no trailing garbage); 0 or -EINVAL. */
int pt__parse_double(const char *s, double *ret);

/*
 * fnmatch-style glob over NUL-terminated strings: '*' any run, '?' one
 * character, no classes. Used by --run=GLOB and id patterns.
 */
bool pt__glob_match(const char *pattern, const char *s);

#endif
