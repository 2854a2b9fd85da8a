/*
 * fuzz/fuzz-cassette.c - the cassette loader: JSON, structure checks,
 * migration, canonical forms, then a lookup, the summaries and a dump of
 * whatever loaded; and the undo record of an append (the lock file)
 * applied to a file's text. Must never crash, leak or hang.
 */
#include "base/common.h"
#include "cassette/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pt_cassette_filter re[] = {
		{ "key=[a-z0-9]+", "key=X" },
	};
	static const struct pt_http_header h[] = { { "accept", "*/*" } };
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_http_request req = { .method = "GET",
				       .url = "http://a.test/x?key=abc",
				       .headers = h,
				       .n_headers = 1 };
	struct pt_cassette_info in;
	struct pt_diags *d = NULL;
	struct pt_cassette *c;
	char *text;

	/* the lock file's undo record against a file text: the input split
	 * at its first NUL (record, then text) */
	const uint8_t *nul = memchr(data, 0, size);
	if (nul) {
		size_t rn = (size_t)(nul - data), tn = size - rn - 1;
		char *t = pt__malloc(tn + 1);

		if (t) {
			memcpy(t, nul + 1, tn);
			t[tn] = '\0';
			(void)pt__undo_apply((const char *)data, rn, &t, &tn);
			pt__free(t);
		}
	}
	if (pt_diags_new(&d) < 0)
		return 0;
	o.mode = PT_CASSETTE_REPLAY;
	o.filters = re;
	o.n_filters = 1;
	o.max_bytes = 1 << 20;
	o.max_interactions = 1000;
	if (pt__cassette_from_text("<fuzz>", (const char *)data, size, &o, d,
				   &c) == 0) {
		(void)pt_cassette_find(c, &req);
		for (size_t i = 0; i < pt_cassette_count(c); i++)
			(void)pt_cassette_info(c, i, &in);
		text = pt__cassette_dump(c->doc);
		pt__free(text);
		pt_cassette_free(c);
	}
	pt_diags_free(d);
	return 0;
}
