/*
 * fuzz-slurm - the parsers of what Slurm and the batch wrapper hand back
 * (src/slurm/parse.c): squeue output and status files. The first byte
 * picks the parser. No crash, no over-read; an accepted row has a job id
 * and a state name, an accepted status a known way of ending and a code
 * in 0-255; a refusal always says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "slurm/slurm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_row(void *ctx, const struct pt_slurm_row *row)
{
	(void)ctx;
	if (row->id == 0 || !row->state_name[0] || !row->reason || !row->tag ||
	    strchr(row->state_name, '\n') || strchr(row->tag, '\n'))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	char *t;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		struct pt_slurm_status st;
		int r = pt__slurm_parse_status((const char *)data + 1, size - 1,
					       &st, err, sizeof(err));
		if (r == 0 && (st.how < PT_SLURM_HOW_EXIT ||
			       st.how > PT_SLURM_HOW_ERROR || st.code < 0 ||
			       st.code > 255 || st.end < st.start))
			abort();
		if (r < 0 && (r != PT_EPARSE || !err[0]))
			abort();
		return 0;
	}
	/* squeue output is NUL-terminated by the capture (text[len] == 0) */
	t = pt__malloc(size);
	if (!t)
		return 0;
	memcpy(t, data + 1, size - 1);
	t[size - 1] = '\0';
	if (pt__slurm_parse_queue(t, size - 1, check_row, NULL, err,
				  sizeof(err)) < 0 &&
	    !err[0])
		abort();
	pt__free(t);
	return 0;
}
