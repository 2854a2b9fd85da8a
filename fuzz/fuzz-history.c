/*
 * fuzz-history - the reader of a repository's job history file
 * (src/store/history.c): no crash, no over-read; what it accepts is in
 * job order, has attempts >= 1, and every job's entries are found again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_store_history *h = NULL;
	struct pt_diags *diags = NULL;

	if (pt_diags_new(&diags) < 0)
		return 0;
	if (pt__store_history_parse((const char *)data, size, "fuzz", diags,
				    &h) == 0) {
		struct pt_store_flake *f = NULL;
		size_t nf = 0;

		for (size_t i = 0; i < pt_store_history_count(h); i++) {
			const struct pt_store_hist *x =
				pt_store_history_get(h, i);
			size_t first,
				n = pt_store_history_job(h, x->job_id, &first);
			if (x->attempt < 1 || !(x->duration >= 0) ||
			    i < first || i >= first + n)
				abort();
			(void)pt_store_history_median(h, x->job_id);
		}
		if (pt_store_history_flakes(h, true, &f, &nf) == 0) {
			for (size_t i = 0; i < nf; i++)
				if (f[i].fails > f[i].runs || !f[i].sessions)
					abort();
			pt_free(f);
		}
		pt_store_history_free(h);
	} else if (h || pt_diags_count(diags) == 0) {
		abort(); /* an error always says why, and returns nothing */
	}
	pt_diags_free(diags);
	return 0;
}
