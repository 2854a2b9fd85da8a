/* base/base64.c - base64, standard alphabet, padded (see base64.h). */
#include "base/base64.h"
#include "base/common.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int pt__b64_encode(const void *p, size_t n, struct pt_buf *out)
{
	const unsigned char *s = p;
	size_t need;
	int r;

	if (!pt__mul_ok(n / 3 + 1, 4, &need))
		return -ENOMEM;
	r = pt__buf_grow(out, need);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		size_t k = n - i;

		if (k > 1)
			v |= (uint32_t)s[i + 1] << 8;
		if (k > 2)
			v |= s[i + 2];
		out->s[out->len++] = b64[(v >> 18) & 63];
		out->s[out->len++] = b64[(v >> 12) & 63];
		out->s[out->len++] = k > 1 ? b64[(v >> 6) & 63] : '=';
		out->s[out->len++] = k > 2 ? b64[v & 63] : '=';
	}
	out->s[out->len] = '\0';
	return 0;
}

static int b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict standard base64 (padding required, no white space). */
int pt__b64_decode(const char *s, size_t n, struct pt_buf *out)
{
	int r;

	if (n % 4)
		return PT_EPARSE;
	r = pt__buf_grow(out, n / 4 * 3);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)
				return PT_EPARSE;
			v[k] = b64_val((unsigned char)s[i + k]);
			if (v[k] < 0)
				return PT_EPARSE;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out->s[out->len++] = (char)(w >> 16);
		if (pad < 2)
			out->s[out->len++] = (char)(w >> 8);
		if (pad < 1)
			out->s[out->len++] = (char)w;
	}
	out->s[out->len] = '\0';
	return 0;
}
