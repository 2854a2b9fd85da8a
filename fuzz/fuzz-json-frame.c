/*
 * fuzz/fuzz-json-frame.c - the JSON-lines frame decoder (src/mux/frame.c).
 *
 * Byte 0 picks the chunk size the input is fed in (so frames split at
 * every position), byte 1 a small frame limit (to reach the oversize
 * paths); the rest is the stream. Every decoded message must re-encode
 * and decode to an equal value, in both formats; and on every line, the
 * decoder's fast path must agree with jansson whenever it answers.
 */
#include "base/common.h"
#include "mux/frame.h"

#include <proctor/mux.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(enum pt_mux_format f, json_t *m)
{
	struct pt_mux_decoder *d = NULL;
	json_t *back = NULL;
	char *enc = NULL;
	size_t len = 0;
	int r = pt_mux_encode(f, m, 0, &enc, &len);

	if (r == PT_EPARSE && f == PT_MUX_JSON)
		return; /* not representable as JSON text */
	if (r < 0 || pt_mux_decoder_new(f, 0, &d) < 0 ||
	    pt_mux_decoder_feed(d, enc, len) < 0 ||
	    pt_mux_decoder_next(d, &back) != 1 || !json_equal(m, back) ||
	    pt_mux_decoder_finish(d) != 0)
		abort();
	json_decref(back);
	pt_mux_decoder_free(d);
	pt_free(enc);
}

/* The fast JSON path against jansson, line by line. */
static void differential(const char *s, size_t n)
{
	while (n) {
		const char *nl = memchr(s, '\n', n);
		size_t len = nl ? (size_t)(nl - s) : n, brackets = 0;
		json_t *fast, *ref;

		for (size_t i = 0; i < len; i++)
			brackets += s[i] == '[' || s[i] == '{';
		/* The decoder bounds nesting first; so do we. */
		fast = brackets <= PT_MUX_MAX_DEPTH ? pt__mux_json_fast(s, len)
						    : NULL;
		if (fast) {
			ref = json_loadb(s, len, JSON_ALLOW_NUL, NULL);
			if (!ref || !json_equal(fast, ref))
				abort();
			json_decref(ref);
			json_decref(fast);
		}
		s += len + (nl ? 1 : 0);
		n -= len + (nl ? 1 : 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_mux_decoder *d = NULL;
	size_t chunk, limit, i;

	if (size < 2)
		return 0;
	chunk = (size_t)data[0] + 1;
	limit = data[1] ? (size_t)data[1] * 16 : 0;
	data += 2;
	size -= 2;
	differential((const char *)data, size);
	if (pt_mux_decoder_new(PT_MUX_JSON, limit, &d) < 0)
		return 0;
	for (i = 0; i <= size; i += chunk) {
		size_t n = PT_MIN(chunk, size - PT_MIN(i, size));
		json_t *m;
		int r;

		if (n && pt_mux_decoder_feed(d, data + i, n) < 0)
			abort();
		while ((r = pt_mux_decoder_next(d, &m)) != 0) {
			if (r == 1) {
				if (!json_is_object(m))
					abort();
				roundtrip(PT_MUX_JSON, m);
				roundtrip(PT_MUX_MSGPACK, m);
				json_decref(m);
			} else if (r != PT_EPARSE && r != PT_ETOOBIG) {
				abort();
			} else if (!pt_mux_decoder_error(d)[0]) {
				abort(); /* an error always says why */
			}
		}
		if (!n)
			break;
	}
	(void)pt_mux_decoder_finish(d);
	pt_mux_decoder_free(d);
	return 0;
}
