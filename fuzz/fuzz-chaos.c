/*
 * fuzz-chaos - the parser of --chaos fault plans (src/base/chaos.c), also
 * run inside every job process by the preloaded runtime: no crash, no
 * over-read; what it accepts has 1..PT_CHAOS_MAX_RULES rules with rates
 * in (0, 1] and known calls and errors, malloc sizes and clock faults in
 * their bounds (the read of the jump in [1, N]).
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
		if ((!c.n && !c.kill_max && !c.pause_max && !c.kill_one_max &&
		     !c.clock_jump && !c.clock_fast) ||
		    c.n > PT_CHAOS_MAX_RULES || c.kill_max < 0 ||
		    c.kill_one_max < 0 || c.pause_max < 0 ||
		    (c.pause_max > 0 && !(c.pause_len > 0)))
			abort();
		if (c.clock_jump &&
		    (!(c.clock_jump >= -PT_CHAOS_MAX_JUMP &&
		       c.clock_jump <= PT_CHAOS_MAX_JUMP) ||
		     c.clock_jump_within < 1 ||
		     c.clock_jump_within > PT_CHAOS_MAX_READS ||
		     pt__chaos_jump_read(&c, size) < 1 ||
		     pt__chaos_jump_read(&c, size) > c.clock_jump_within))
			abort();
		if (c.clock_fast &&
		    !(c.clock_fast > 0 && c.clock_fast <= PT_CHAOS_MAX_FACTOR))
			abort();
		for (unsigned i = 0; i < c.n; i++)
			if (!(c.rules[i].rate > 0 && c.rules[i].rate <= 1) ||
			    c.rules[i].call >= PT_CHAOS_NCALLS ||
			    !strcmp(pt__chaos_err_name(c.rules[i].err), "?") ||
			    c.rules[i].min_size > PT_CHAOS_MAX_SIZE ||
			    (c.rules[i].min_size &&
			     c.rules[i].call != PT_CHAOS_MALLOC))
				abort();
	} else if (!err[0]) {
		abort(); /* an error always says why */
	}
	return 0;
}
