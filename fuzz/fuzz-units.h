/*
 * fuzz/fuzz-units.h - what the unit-file fuzz targets (fuzz-rfc822,
 * fuzz-yaml) do with the units they loaded: every template instantiated
 * once with a made-up record holding each parameter it references.
 * Included by one .c file each; the function is static.
 */
#ifndef PT_FUZZ_UNITS_H
#define PT_FUZZ_UNITS_H

#include <stdio.h>

#include <proctor/unit.h>

static void fuzz_instantiate_templates(struct pt_units *u, struct pt_diags *d)
{
	size_t nu = pt_units_count(u);

	for (size_t i = 0; i < nu; i++) {
		const struct pt_unit *t = pt_units_get(u, i);
		struct pt_strlist names;
		struct pt_records *r = NULL;
		const struct pt_rfc822_record *rec;
		char buf[4096];
		size_t o = 0;

		if (t->type != PT_UNIT_TEMPLATE ||
		    pt_template_params(u, t, &names) < 0)
			continue;
		for (size_t k = 0; k < names.n && o < 3000; k++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
					      "%.100s: v%zu\n", names.v[k], k);
		if (pt_rfc822_parse(buf, o, "fake", NULL, NULL, &r) < 0)
			continue;
		rec = pt_records_get(r, 0);
		pt_template_instantiate(u, t, rec ? &rec : NULL, NULL,
					rec ? 1 : 0, d);
		pt_records_free(r);
	}
}

#endif
