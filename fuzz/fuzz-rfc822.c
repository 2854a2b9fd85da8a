/*
 * fuzz/fuzz-rfc822.c - the RFC822 parser (whole buffer vs. chunked feed
 * must agree) and unit loading on top of it (jobs, siblings JSON,
 * checksums). Input: byte 0 picks the chunk size, the rest is the text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proctor/unit.h>

#include "fuzz-units.h"

static void check_same(const struct pt_records *a, const struct pt_records *b)
{
	if (pt_records_count(a) != pt_records_count(b) ||
	    pt_records_error(a, NULL, NULL) != pt_records_error(b, NULL, NULL))
		abort();
	for (size_t i = 0; i < pt_records_count(a); i++) {
		const struct pt_rfc822_record *x = pt_records_get(a, i);
		const struct pt_rfc822_record *y = pt_records_get(b, i);
		if (x->n != y->n || x->line_start != y->line_start ||
		    x->line_end != y->line_end)
			abort();
		for (size_t k = 0; k < x->n; k++)
			if (strcmp(x->fields[k].key, y->fields[k].key) ||
			    strcmp(x->fields[k].value, y->fields[k].value) ||
			    x->fields[k].line != y->fields[k].line)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_rfc822_limits lim = { .max_line = 4096, .max_record = 65536,
					.max_records = 1000 };
	struct pt_records *whole = NULL, *chunked = NULL;
	struct pt_rfc822_parser *p = NULL;
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	const char *text;
	size_t len, chunk;

	if (size < 1)
		return 0;
	chunk = 1 + data[0] % 17;
	text = (const char *)data + 1;
	len = size - 1;
	if (pt_rfc822_parse(text, len, "fuzz.pxu", &lim, NULL, &whole) < 0)
		return 0;
	if (pt_rfc822_parser_new("fuzz.pxu", &lim, &p) == 0) {
		for (size_t off = 0; off < len; off += chunk)
			pt_rfc822_feed(p, text + off,
				       len - off < chunk ? len - off : chunk);
		if (pt_rfc822_finish(p, NULL, &chunked) >= 0) {
			check_same(whole, chunked);
			pt_records_free(chunked);
		}
		pt_rfc822_parser_free(p);
	}
	pt_records_free(whole);

	if (pt_units_new(&u) == 0 && pt_diags_new(&d) == 0) {
		struct pt_load_options opt = { .ns = "fz", .limits = lim };
		pt_units_load_buffer(u, text, len, "fuzz.pxu", &opt, d);
		/* Templates: one fake record with every referenced name. */
		fuzz_instantiate_templates(u, d);
		for (size_t i = 0; i < pt_units_job_count(u); i++)
			if (strlen(pt_units_job(u, i)->checksum) != 64)
				abort();
	}
	pt_units_free(u);
	pt_diags_free(d);
	return 0;
}
