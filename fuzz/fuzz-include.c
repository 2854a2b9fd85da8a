/*
 * fuzz/fuzz-include.c - the test-plan include-line parser, one line at a
 * time, then the whole input as a test plan's include/exclude fields and
 * category overrides, selected over a few jobs (PCRE2 patterns, overrides).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <proctor/unit.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] =
		"id: a\nplugin: shell\n\nid: b.c\nplugin: shell\n\n"
		"id: t1\nplugin: shell\ntemplate-id: tpl\n\n"
		"unit: test plan\nid: p\n_name: P\ninclude:\n";
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_plan_selection *sel = NULL;
	char *text, *line;
	size_t n = 0;

	if (size > 65536 || pt_units_new(&u) < 0)
		return 0;
	/* Each input line on its own. */
	line = malloc(size + 1);
	text = malloc(sizeof(head) + 3 * size + 64);
	if (!line || !text)
		goto out;
	for (size_t i = 0, b = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			struct pt_include_line il;
			const char *err = NULL;
			memcpy(line, data + b, i - b);
			line[i - b] = '\0';
			if (!memchr(line, '\0', i - b) &&
			    pt_include_parse(u, line, "ns", &il, &err) == 1 &&
			    !il.pattern)
				abort();
			b = i + 1;
		}
	}
	/* The whole input as a plan. */
	memcpy(text, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	text[n++] = ' ';
	for (size_t i = 0; i < size; i++) {
		char c = (char)data[i];
		if (c == '\0' || c == '\r')
			c = ' ';
		text[n++] = c;
		if (c == '\n')
			text[n++] = ' ';
	}
	memcpy(text + n, "\nexclude: b.*\n", 14);
	n += 14;
	if (pt_diags_new(&d) == 0 &&
	    pt_units_load_buffer(u, text, n, "fuzz.pxu", NULL, d) >= 0 &&
	    pt_plan_select(u, "p", NULL, 0, d, &sel) == 0) {
		for (size_t i = 0; i < pt_units_job_count(u); i++)
			if (!pt_plan_effective(sel, pt_units_job(u, i),
					       "category_id"))
				abort();
	}
	pt_plan_selection_free(sel);
out:
	free(line);
	free(text);
	pt_diags_free(d);
	pt_units_free(u);
	return 0;
}
