/*
 * fuzz/fuzz-json-frame.c - the JSON-lines frame decoder (src/mux/frame.c).
 *
 * Input layout and checks: fuzz-frame.h. Here also: on every line, the
 * decoder's fast path must agree with jansson whenever it answers.
 */
#include "base/common.h"
#include "mux/frame.h"

#include "fuzz-frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	fuzz_frames(PT_MUX_JSON, data, size, differential);
	return 0;
}
