/*
 * The real Checkbox corpus ($PT_CORPUS, test data outside the repo):
 * every provider loads without a crash and with exact unit counts.
 * Cross-check with upstream (in-tree): test plans 832, templates 359,
 * manifest entries 125, packaging meta-data 45, 1,972 jobs once siblings
 * are made (1,974 with the built-in manifest provider's two jobs), YAML
 * files included. Skips when the corpus is absent.
 */
#include "base/common.h"

#include <proctor/unit.h>
#include <ctype.h>
#include <sys/stat.h>

#define FAKE_MADE  546
#define FAKE_DIAGS 0

#include "tap.h"

static const struct {
	const char *dir;
	unsigned jobs_units, setup, templates, plans, categories, manifest,
		packaging, jobs;
} providers[] = {
	{ "providers/base", 917, 3, 317, 600, 45, 108, 28, 1680 },
	{ "providers/certification-client", 0, 0, 0, 122, 0, 0, 0, 0 },
	{ "providers/certification-server", 2, 0, 0, 25, 0, 0, 3, 2 },
	{ "providers/docker", 3, 0, 19, 4, 1, 0, 0, 3 },
	{ "providers/genio", 40, 0, 19, 54, 10, 14, 0, 71 },
	{ "providers/gpgpu", 6, 0, 2, 5, 2, 1, 2, 23 },
	{ "providers/iiotg", 2, 0, 0, 3, 2, 1, 0, 2 },
	{ "providers/resource", 45, 0, 1, 0, 1, 0, 8, 45 },
	{ "providers/sru", 1, 0, 0, 4, 0, 0, 1, 1 },
	{ "providers/tpm2", 127, 0, 0, 10, 1, 1, 3, 127 },
	{ "providers/tutorial", 18, 0, 1, 5, 1, 0, 0, 18 },
};

static const char *corpus(void)
{
	const char *c = getenv("PT_CORPUS");
	struct stat st;
	static char p[4096];

	if (!c || !*c)
		pt_test_skip("PT_CORPUS not set");
	snprintf(p, sizeof(p), "%s/providers", c);
	if (stat(p, &st) < 0)
		pt_test_skip("corpus not present");
	return c;
}

PT_TEST_TIMEOUT(corpus_providers_exact_counts, 60)
{
	const char *c = corpus();
	unsigned tot[8] = { 0 };
	size_t total_jobs = 0, warnings = 0;

	for (size_t i = 0; i < PT_ARRAY_SIZE(providers); i++) {
		struct pt_units *u = NULL;
		struct pt_diags *d = NULL;
		unsigned n[8] = { 0 };
		char p[4096];

		snprintf(p, sizeof(p), "%s/%s", c, providers[i].dir);
		PT_ASSERT_OK(pt_units_new(&u));
		PT_ASSERT_OK(pt_diags_new(&d));
		PT_ASSERT_OK(pt_units_load_path(u, p, NULL, d));
		PT_ASSERT_UINT_EQ(pt_diags_errors(d), 0);
		warnings += pt_diags_count(d);
		for (size_t k = 0; k < pt_units_count(u); k++) {
			const struct pt_unit *x = pt_units_get(u, k);
			switch (x->type) {
			case PT_UNIT_JOB: n[0]++; break;
			case PT_UNIT_SETUP_JOB: n[1]++; break;
			case PT_UNIT_TEMPLATE: n[2]++; break;
			case PT_UNIT_TEST_PLAN: n[3]++; break;
			case PT_UNIT_CATEGORY: n[4]++; break;
			case PT_UNIT_MANIFEST_ENTRY: n[5]++; break;
			case PT_UNIT_PACKAGING_META_DATA: n[6]++; break;
			default: break;
			}
			/* Every namespace comes from manage.py. */
			PT_ASSERT_STR_EQ(x->ns, "com.canonical.certification");
		}
		n[7] = (unsigned)pt_units_job_count(u);
		if (n[0] != providers[i].jobs_units ||
		    n[1] != providers[i].setup ||
		    n[2] != providers[i].templates ||
		    n[3] != providers[i].plans ||
		    n[4] != providers[i].categories ||
		    n[5] != providers[i].manifest ||
		    n[6] != providers[i].packaging || n[7] != providers[i].jobs)
			PT_FAIL("%s: %u %u %u %u %u %u %u %u", providers[i].dir,
				n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]);
		for (int k = 0; k < 8; k++)
			tot[k] += n[k];
		total_jobs += pt_units_job_count(u);
		pt_units_free(u);
		pt_diags_free(d);
	}
	PT_ASSERT_UINT_EQ(tot[3], 832);	      /* upstream's test plans */
	PT_ASSERT_UINT_EQ(tot[2], 359);	      /* upstream's templates */
	/* docs/plainbox.md §9 manifest entries */
	PT_ASSERT_UINT_EQ(tot[5], 125);
	PT_ASSERT_UINT_EQ(tot[6], 45);        /* §9 packaging */
	PT_ASSERT_UINT_EQ(total_jobs, 1972);
	PT_ASSERT_UINT_EQ(warnings, 0);
}

PT_TEST_TIMEOUT(corpus_all_at_once_and_builtins, 60)
{
	const char *c = corpus();
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	const struct pt_job *j;
	char p[4096];

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	for (size_t i = 0; i < PT_ARRAY_SIZE(providers); i++) {
		snprintf(p, sizeof(p), "%s/%s", c, providers[i].dir);
		PT_ASSERT_OK(pt_units_load_path(u, p, NULL, d));
	}
	snprintf(p, sizeof(p), "%s/checkbox-ng/plainbox/impl/providers", c);
	PT_ASSERT_OK(pt_units_load_path(u, p, NULL, d));
	PT_ASSERT_UINT_EQ(pt_diags_errors(d), 0);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	PT_ASSERT_UINT_EQ(pt_units_job_count(u), 1974);
	/* The same through the parent directory (providers found inside). */
	{
		struct pt_units *u2 = NULL;
		snprintf(p, sizeof(p), "%s/providers", c);
		PT_ASSERT_OK(pt_units_new(&u2));
		PT_ASSERT_OK(pt_units_load_path(u2, p, NULL, NULL));
		PT_ASSERT_UINT_EQ(pt_units_job_count(u2), 1972);
		for (size_t i = 0; i < pt_units_count(u2); i++)
			PT_ASSERT_STR_EQ(pt_units_get(u2, i)->ns,
					 "com.canonical.certification");
		pt_units_free(u2);
	}
	/* A resource job of the legacy jobs/ directory. */
	j = pt_units_find_job(u, "com.canonical.certification::cpuinfo");
	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_INT_EQ(j->plugin, PT_PLUGIN_RESOURCE);
	pt_units_free(u);
	pt_diags_free(d);
}

/*
 * Every in-tree template instantiated once with upstream's "fake
 * resources" values (each referenced parameter NAME -> "NAME", a *_slug
 * parameter -> its name without _slug, uppercased): exact counts of jobs
 * made (siblings included) and of records that could not be rendered.
 */
PT_TEST_TIMEOUT(corpus_templates_fake_resources, 60)
{
	const char *c = corpus();
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	size_t templates = 0, jinja = 0, made = 0, before;
	char p[4096];

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	for (size_t i = 0; i < PT_ARRAY_SIZE(providers); i++) {
		snprintf(p, sizeof(p), "%s/%s", c, providers[i].dir);
		PT_ASSERT_OK(pt_units_load_path(u, p, NULL, d));
	}
	before = pt_diags_count(d);
	for (size_t i = 0; i < pt_units_count(u); i++) {
		const struct pt_unit *t = pt_units_get(u, i);
		struct pt_strlist names;
		struct pt_template_info info;
		struct pt_records *r = NULL;
		const struct pt_rfc822_record *rec;
		char text[8192];
		size_t o = 0;
		int rc;

		if (t->type != PT_UNIT_TEMPLATE)
			continue;
		templates++;
		PT_ASSERT_OK(pt_template_info(u, t, &info));
		jinja += strcmp(info.engine, "jinja2") == 0;
		PT_ASSERT_OK(pt_template_params(u, t, &names));
		for (size_t k = 0; k < names.n; k++) {
			const char *nm = names.v[k];
			size_t n = strlen(nm);
			if (strcmp(nm, "__index__") == 0)
				continue;
			if (n > 5 && strcmp(nm + n - 5, "_slug") == 0)
				n -= 5;
			o += (size_t)snprintf(text + o, sizeof(text) - o,
					      "%s: ", nm);
			for (size_t q = 0; q < n; q++)
				text[o++] = (char)toupper((unsigned char)nm[q]);
			text[o++] = '\n';
		}
		PT_ASSERT_OK(pt_rfc822_parse(text, o, "fake", NULL, NULL, &r));
		rec = pt_records_get(r, 0);
		rc = pt_template_instantiate(u, t, rec ? &rec : NULL, NULL,
					     rec ? 1 : 0, d);
		PT_ASSERT_OK(rc);
		made += (size_t)rc;
		pt_records_free(r);
	}
	PT_ASSERT_UINT_EQ(templates, 359);
	PT_ASSERT_UINT_EQ(jinja, 55);
	if (made != FAKE_MADE || pt_diags_count(d) - before != FAKE_DIAGS) {
		for (size_t i = before; i < pt_diags_count(d); i++)
			fprintf(stderr, "%s:%u: %s\n", pt_diags_get(d, i)->file,
				pt_diags_get(d, i)->line,
				pt_diags_get(d, i)->message);
		PT_FAIL("made %zu jobs, %zu diagnostics", made,
			pt_diags_count(d) - before);
	}
	pt_units_free(u);
	pt_diags_free(d);
}
