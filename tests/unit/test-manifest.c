/*
 * Manifest answers (unit/manifest.c): the file checkbox-cli writes, a
 * launcher's text values, and the records of the manifest resource as
 * plainbox-manifest-resource prints them (defaults for unset entries).
 */
#include "base/common.h"
#include "os/file.h"

#include <proctor/unit.h>

#include "tap.h"

static const char units[] =
	"unit: manifest entry\nid: has_usb\n_name: USB\nvalue-type: bool\n\n"
	"unit: manifest entry\nid: gpus\n_name: GPUs\nvalue-type: natural\n\n"
	"unit: manifest entry\nid: _hidden\n_name: H\nvalue-type: bool\n"
	"resource-key: hid\nhidden-reason: test\n";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	PT_ASSERT_NOT_NULL(f);
	fputs(text, f);
	fclose(f);
}

PT_TEST(manifest_file_and_resource_records)
{
	struct pt_units *u = NULL;
	struct pt_manifest *m = NULL;
	struct pt_diags *d = NULL;
	struct pt_load_options opt = { .ns = "com.x" };
	char path[4096], *text = NULL;
	size_t len = 0;

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_INT_EQ(
		pt_units_load_buffer(u, units, strlen(units), "m.pxu", &opt, d),
		3);
	/* No answers: every entry shows its type's default. */
	PT_ASSERT_OK(pt_manifest_resource(u, NULL, &text, &len));
	PT_ASSERT_STR_EQ(text,
			 "ns: com.x\nhas_usb: False\ngpus: 0\nhid: False\n");
	PT_ASSERT_UINT_EQ(len, strlen(text));
	pt_free(text);

	snprintf(path, sizeof(path), "%s/machine-manifest.json",
		 pt_test_tmpdir());
	write_file(path, "{\n  \"com.x::gpus\": 2,\n  \"com.x::has_usb\": "
			 "true,\n  \"other::y\": false\n}\n");
	PT_ASSERT_OK(pt_manifest_new(&m));
	PT_ASSERT_OK(pt_manifest_load(m, path, d));
	PT_ASSERT_UINT_EQ(pt_manifest_count(m), 3);
	PT_ASSERT_STR_EQ(pt_manifest_get(m, "com.x::has_usb"), "True");
	PT_ASSERT_STR_EQ(pt_manifest_get(m, "com.x::gpus"), "2");
	PT_ASSERT_NULL(pt_manifest_get(m, "com.x::nope"));
	/* A launcher's [manifest] text replaces an answer. */
	PT_ASSERT_OK(pt_manifest_set(m, "com.x::_hidden", "1"));
	PT_ASSERT_OK(pt_manifest_set(m, "com.x::has_usb", "No"));
	PT_ASSERT_INT_EQ(pt_manifest_set(m, "com.x::gpus", "two"), PT_EPARSE);
	PT_ASSERT_OK(pt_manifest_resource(u, m, &text, NULL));
	PT_ASSERT_STR_EQ(text,
			 "ns: com.x\nhas_usb: False\ngpus: 2\nhid: True\n");
	pt_free(text);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	pt_manifest_free(m);
	pt_units_free(u);
	pt_diags_free(d);
}

PT_TEST(manifest_bad_files_are_errors_naming_them)
{
	static const struct {
		const char *text; /* NULL: no file */
		unsigned line;
		const char *msg;
	} cases[] = {
		{ NULL, 0,
		  "cannot read the manifest: No such file or directory" },
		{ "{\"a::x\": tru", 1, "manifest: invalid token near 'tru'" },
		{ "[true]", 1,
		  "manifest: expected a JSON object of entry ids" },
		{ "{\"a::x\": \"yes\"}", 0,
		  "manifest: the value of 'a::x' is neither true/false nor a "
		  "natural number" },
		{ "{\"a::x\": -1}", 0,
		  "manifest: the value of 'a::x' is neither true/false nor a "
		  "natural number" },
		{ "{\"a::x\": true, \"a::x\": false}", 1,
		  "manifest: duplicate object key near '\"a::x\"'" },
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		struct pt_manifest *m = NULL;
		struct pt_diags *d = NULL;
		char path[4096];

		snprintf(path, sizeof(path), "%s/m%zu.json", pt_test_tmpdir(),
			 i);
		if (cases[i].text)
			write_file(path, cases[i].text);
		PT_ASSERT_OK(pt_manifest_new(&m));
		PT_ASSERT_OK(pt_diags_new(&d));
		PT_ASSERT(pt_manifest_load(m, path, d) < 0);
		PT_ASSERT_UINT_EQ(pt_diags_count(d), 1);
		PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->file, path);
		PT_ASSERT_UINT_EQ(pt_diags_get(d, 0)->line, cases[i].line);
		PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->message, cases[i].msg);
		pt_manifest_free(m);
		pt_diags_free(d);
	}
}
