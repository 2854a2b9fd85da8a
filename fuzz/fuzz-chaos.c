/*
 * fuzz-chaos - the parser of --chaos fault plans (src/base/chaos.c), also
 * run inside every job process by the preloaded runtime: no crash, no
 * over-read; what it accepts has 1..PT_CHAOS_MAX_RULES rules with rates
 * in (0, 1] and known calls and errors.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/chaos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char spec[PT_CHAOS_MAX_SPEC + 2], err[256];
	struct pt_chaos c;

	if (size > PT_CHAOS_MAX_SPEC + 1)
		size = PT_CHAOS_MAX_SPEC + 1;
	memcpy(spec, data, size);
	spec[size] = 0;
	if (pt__chaos_parse(spec, &c, err, sizeof(err)) == 0) {
		if ((!c.n && !c.kill_max && !c.pause_max && !c.kill_one_max) ||
		    c.n > PT_CHAOS_MAX_RULES || c.kill_max < 0 ||
		    c.kill_one_max < 0 || c.pause_max < 0 ||
		    (c.pause_max > 0 && !(c.pause_len > 0)))
			abort();
		for (unsigned i = 0; i < c.n; i++)
			if (!(c.rules[i].rate > 0 && c.rules[i].rate <= 1) ||
			    c.rules[i].call >= PT_CHAOS_NCALLS ||
			    !strcmp(pt__chaos_err_name(c.rules[i].err), "?"))
				abort();
	} else if (!err[0]) {
		abort(); /* an error always says why */
	}
	return 0;
}
