/*
 * fuzz/fuzz-yaml.c - YAML unit files (unit/yaml.c): libyaml events to
 * records, PyYAML's scalar resolution, aliases and merge keys, limits;
 * then what loading does with the records (jobs, siblings, checksums,
 * test-plan selection, template instantiation with one fake record).
 * Any input must give units or one diagnostic, never a crash or hang.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proctor/unit.h>

#include "fuzz-units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_load_options opt = {
		.ns = "fz",
		.limits = { .max_record = 65536, .max_records = 1000 },
	};
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;

	if (pt_units_new(&u) < 0 || pt_diags_new(&d) < 0)
		goto out;
	if (pt_units_load_buffer(u, (const char *)data, size, "fuzz.yaml", &opt,
				 d) < 0)
		goto out;
	for (size_t i = 0; i < pt_units_count(u); i++) {
		const struct pt_unit *x = pt_units_get(u, i);
		char sum[65];

		if (pt_unit_checksum(x, sum) < 0)
			abort();
		if (x->type == PT_UNIT_TEST_PLAN && x->id) {
			struct pt_plan_selection *sel = NULL;

			if (pt_plan_select(u, x->id, NULL, 0, d, &sel) == 0)
				pt_plan_selection_free(sel);
		}
	}
	fuzz_instantiate_templates(u, d);
out:
	pt_units_free(u);
	pt_diags_free(d);
	return 0;
}
