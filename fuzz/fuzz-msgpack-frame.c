/*
 * fuzz/fuzz-msgpack-frame.c - the msgpack frame decoder (src/mux/frame.c).
 * Input layout and checks: fuzz-frame.h.
 */
#include "fuzz-frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_frames(PT_MUX_MSGPACK, data, size, NULL);
	return 0;
}
