/*
 * fuzz-durations - the reader of a repository's learned durations file
 * (src/store/durations.c): no crash, no over-read; what it accepts has
 * positive-or-zero values and ids that round-trip through find.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_store_durations *d = NULL;
	struct pt_diags *diags = NULL;

	if (pt_diags_new(&diags) < 0)
		return 0;
	if (pt__store_durations_parse((const char *)data, size, "fuzz", diags,
				      &d) == 0) {
		for (size_t i = 0; i < pt_store_durations_count(d); i++) {
			const struct pt_store_duration *x =
				pt_store_durations_get(d, i);
			if (!x || !(x->duration >= 0) || x->updated_ns < 0 ||
			    pt_store_durations_find(d, x->job_id) != x)
				abort();
		}
		pt_store_durations_free(d);
	} else if (d || pt_diags_count(diags) == 0) {
		abort(); /* an error always says why, and returns nothing */
	}
	pt_diags_free(diags);
	return 0;
}
