/* base/buf.c - growable NUL-terminated byte buffer. */
#include "base/common.h"
#include "base/buf.h"

char pt__buf_empty[1];

void pt__buf_init(struct pt_buf *b)
{
	b->s = pt__buf_empty;
	b->len = 0;
	b->cap = 0;
}

void pt__buf_release(struct pt_buf *b)
{
	if (b->cap)
		pt__free(b->s);
	pt__buf_init(b);
}

int pt__buf_grow(struct pt_buf *b, size_t extra)
{
	size_t need, cap;
	char *s;

	if (!pt__add_ok(b->len, extra, &need) || !pt__add_ok(need, 1, &need))
		return -ENOMEM;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 32;
	while (cap < need) {
		if (!pt__mul_ok(cap, 2, &cap))
			return -ENOMEM;
	}
	s = pt__realloc(b->cap ? b->s : NULL, cap);
	if (!s)
		return -ENOMEM;
	if (!b->cap)
		s[0] = '\0';
	b->s = s;
	b->cap = cap;
	return 0;
}

void pt__buf_reset(struct pt_buf *b)
{
	pt__buf_truncate(b, 0);
}

void pt__buf_truncate(struct pt_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	if (b->cap)
		b->s[len] = '\0';
}

int pt__buf_add(struct pt_buf *b, const void *data, size_t len)
{
	int r = pt__buf_grow(b, len);

	if (r < 0)
		return r;
	if (len)
		memcpy(b->s + b->len, data, len);
	b->len += len;
	b->s[b->len] = '\0';
	return 0;
}

int pt__buf_adds(struct pt_buf *b, const char *s)
{
	return pt__buf_add(b, s, strlen(s));
}

int pt__buf_addch(struct pt_buf *b, int c)
{
	char ch = (char)c;

	return pt__buf_add(b, &ch, 1);
}

int pt__buf_vaddf(struct pt_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, r;

	va_copy(cp, ap);
	n = vsnprintf(b->cap ? b->s + b->len : NULL,
		      b->cap ? b->cap - b->len : 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	if (b->cap && (size_t)n < b->cap - b->len) {
		b->len += (size_t)n;
		return 0;
	}
	r = pt__buf_grow(b, (size_t)n);
	if (r < 0) {
		if (b->cap)
			b->s[b->len] = '\0';
		return r;
	}
	va_copy(cp, ap);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0) {
		b->s[b->len] = '\0';
		return -EINVAL;
	}
	b->len += (size_t)n;
	return 0;
}

int pt__buf_addf(struct pt_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = pt__buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

char *pt__buf_detach(struct pt_buf *b, size_t *ret_len)
{
	char *s;

	if (!b->cap && pt__buf_grow(b, 0) < 0)
		return NULL;
	s = b->s;
	if (ret_len)
		*ret_len = b->len;
	pt__buf_init(b);
	return s;
}
