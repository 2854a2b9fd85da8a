/* base/str.c - string helpers (see str.h). */
#include "base/common.h"
#include "base/str.h"

#include <math.h>

bool pt__is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

struct pt_slice pt__slice_strip(struct pt_slice s)
{
	while (s.len && pt__is_space((unsigned char)s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && pt__is_space((unsigned char)s.p[s.len - 1]))
		s.len--;
	return s;
}

bool pt__slice_eq(struct pt_slice a, struct pt_slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool pt__slice_eqs(struct pt_slice a, const char *s)
{
	return pt__slice_eq(a, pt__slice(s, strlen(s)));
}

bool pt__starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool pt__ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int pt__parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

int pt__parse_i64(const char *s, int64_t *ret)
{
	uint64_t u;
	bool neg = false;
	int r;

	if (s && *s == '-') {
		neg = true;
		s++;
	}
	r = pt__parse_u64(s, &u);
	if (r < 0)
		return r;
	if (neg) {
		if (u > (uint64_t)INT64_MAX + 1)
			return -ERANGE;
		*ret = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	} else {
		if (u > (uint64_t)INT64_MAX)
			return -ERANGE;
		*ret = (int64_t)u;
	}
	return 0;
}

int pt__parse_double(const char *s, double *ret)
{
	char *end;
	double v;

	if (!s || !*s || pt__is_space((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno == ERANGE || isnan(v))
		return -EINVAL;
	*ret = v;
	return 0;
}

bool pt__glob_match(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}
