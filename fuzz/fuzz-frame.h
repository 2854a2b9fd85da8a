/*
 * fuzz/fuzz-frame.h - what the two frame fuzz targets share: the input
 * layout (byte 0: chunk size the stream is fed in, so frames split at
 * every position; byte 1: a small frame limit, to reach the oversize
 * paths; the rest: the stream) and the checks on every decoded message
 * (an object that re-encodes and decodes to an equal value in both
 * formats) and on every error (a known code with a message).
 * Included by one .c file each; the functions are static.
 */
#ifndef PT_FUZZ_FRAME_H
#define PT_FUZZ_FRAME_H

#include "base/common.h"

#include <proctor/mux.h>

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

/*
 * Decodes the stream of a fuzz input in format f; before decoding, calls
 * pre(stream, len) when it is not NULL. Aborts on any broken invariant.
 */
static void fuzz_frames(enum pt_mux_format f, const uint8_t *data,
			size_t size, void (*pre)(const char *s, size_t n))
{
	struct pt_mux_decoder *d = NULL;
	size_t chunk, limit, i;

	if (size < 2)
		return;
	chunk = (size_t)data[0] + 1;
	limit = data[1] ? (size_t)data[1] * 16 : 0;
	data += 2;
	size -= 2;
	if (pre)
		pre((const char *)data, size);
	if (pt_mux_decoder_new(f, limit, &d) < 0)
		return;
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
}

#endif
