/*
 * fuzz/fuzz-envelope.c - the session envelope reader (src/store/envelope.c).
 * Each input is parsed twice: as it is (a gzip stream: exercises inflate
 * errors, truncation and limits) and gzipped here first (so mutations reach
 * the JSON and field validation instead of failing the gzip CRC). Both in
 * full and header-only (peek) mode.
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "store/store-internal.h"

#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(const void *p, size_t n)
{
	struct pt_envelope *e = NULL;
	struct pt_diags *d = NULL;

	if (pt_diags_new(&d) < 0)
		return;
	for (int header_only = 0; header_only < 2; header_only++) {
		if (pt__envelope_parse(p, n, header_only, d, &e) == 0)
			pt__envelope_free(e);
		e = NULL;
	}
	pt_diags_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_buf out = PT_BUF_INIT;
	unsigned char chunk[16384];
	z_stream z;
	int zr;

	if (size > (1u << 20))
		return 0;
	parse(data, size);
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)size;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR ||
		    pt__buf_add(&out, chunk, sizeof(chunk) - z.avail_out) < 0)
			break;
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	if (zr == Z_STREAM_END)
		parse(out.s, out.len);
	pt__buf_release(&out);
	return 0;
}
