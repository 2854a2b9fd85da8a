/*
 * fuzz/fuzz-template.c - template units (src/unit/template.c, both
 * engines): loads the input as a unit file, and instantiates every
 * template with the resource records, then formats every field of every
 * template with the default engine on the first record.
 *
 * Input: the unit file up to the first NUL byte; what follows the NUL (if
 * anything) is the resource job's output (RFC822 records), else one fixed
 * record.
 *
 * Besides memory errors, it aborts when instantiation fails other than
 * with -ENOMEM, when a generated job has no id, or when a formatting
 * failure leaves no message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "unit/internal.h"

#undef malloc
#undef free

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed[] = "name: eth0\nvalue: 1\n\nname: {x}\nvalue: 2\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_load_options opt = { .ns = "fz", .max_units = 200 };
	struct pt_units *u = NULL;
	struct pt_records *recs = NULL;
	const struct pt_rfc822_record **rv = NULL;
	struct pt_diags *d = NULL;
	const uint8_t *nul;
	size_t tn, nrec, nunits;
	int rc;

	if (size > 65536)
		return 0;
	nul = memchr(data, 0, size);
	tn = nul ? (size_t)(nul - data) : size;
	if (pt_units_new(&u) < 0 || pt_diags_new(&d) < 0)
		abort();
	if (nul)
		rc = pt_rfc822_parse((const char *)nul + 1, size - tn - 1, NULL,
				     NULL, NULL, &recs);
	else
		rc = pt_rfc822_parse(fixed, sizeof(fixed) - 1, NULL, NULL, NULL,
				     &recs);
	if (rc < 0)
		abort(); /* only -ENOMEM; a syntax error keeps the records */
	if (pt_units_load_buffer(u, (const char *)data, tn, "fuzz.pxu", &opt,
				 d) < 0)
		goto out;
	nrec = recs ? PT_MIN(pt_records_count(recs), 50) : 0;
	rv = malloc((nrec + 1) * sizeof(*rv));
	if (!rv)
		abort();
	for (size_t i = 0; i < nrec; i++)
		rv[i] = pt_records_get(recs, i);
	nunits = pt_units_count(u);
	for (size_t i = 0; i < nunits; i++) {
		const struct pt_unit *t = pt_units_get(u, i);
		struct pt_strlist names;
		size_t before = pt_units_job_count(u);

		if (t->type != PT_UNIT_TEMPLATE)
			continue;
		if (pt_template_params(u, t, &names) < 0)
			abort();
		rc = pt_template_instantiate(u, t, rv, NULL, nrec, d);
		if (rc < 0 && rc != -ENOMEM)
			abort();
		if (rc > 0 && pt_units_job_count(u) != before + (size_t)rc)
			abort();
		for (size_t j = before; j < pt_units_job_count(u); j++)
			if (!pt_units_job(u, j)->id)
				abort();
		for (size_t f = 0; nrec && f < t->record->n; f++) {
			const char *e = NULL;
			if (!pt_template_format(u, t->record->fields[f].value,
						rv[0], 1, &e) &&
			    (!e || !*e))
				abort();
		}
	}
out:
	free(rv);
	pt_records_free(recs);
	pt_diags_free(d);
	pt_units_free(u);
	return 0;
}
