/*
 * fuzz/fuzz-trace.c - the lockstep trace parser. A trace that parses must
 * format to text that parses again to the same text, and show must work.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <proctor/lockstep.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_ls_trace *t = NULL, *t2 = NULL;
	char err[256], *a = NULL, *b = NULL, *s = NULL;
	size_t na, nb;

	if (pt_ls_trace_parse((const char *)data, size, &t, err, sizeof(err)) <
	    0)
		return 0;
	if (pt_ls_trace_format(t, &a, &na) < 0)
		abort();
	if (pt_ls_trace_parse(a, na, &t2, err, sizeof(err)) < 0)
		abort();
	if (pt_ls_trace_format(t2, &b, &nb) < 0 || na != nb ||
	    memcmp(a, b, na) != 0)
		abort();
	if (pt_ls_trace_show(t, &s) < 0)
		abort();
	pt_free(s);
	pt_free(a);
	pt_free(b);
	pt_ls_trace_free(t);
	pt_ls_trace_free(t2);
	return 0;
}
