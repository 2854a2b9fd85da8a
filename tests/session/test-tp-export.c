/*
 * Every test plan of the Checkbox corpus ($PT_CORPUS), planned as
 * `proctor plan -p PLAN` and `proctor plan -p PLAN --fake-resources` do
 * (pt_session_plan), compared with the run list PlainBox computes for
 * `checkbox-cli tp-export PLAN` (fake resources; dependencies visited in
 * proctor's canonical order, see docs/checkbox.md). The reference is
 * tests/session/data/tp-export.tsv: "PLAN<TAB>JOBS<TAB>SHA-256 of the
 * run list, one id per line", made by scripts/plainbox-tp-export.py.
 * Asserts that no plan crashes or fails, and the exact number of plans
 * whose run lists are equal, with and without fake resources.
 *
 * The whole comparison takes about 40 s, too long for every `make check`:
 * by default every STRIDE-th plan of tp-export.tsv is compared (only
 * those are selected and planned), all of which must be equal with fake
 * resources, and those without bootstrap jobs also without.
 * PT_TP_EXPORT_STRIDE=1 compares all 832 and asserts the exact figures of
 * docs/checkbox.md; scripts/valgrind.sh sets a large stride (memcheck runs
 * the corpus load and plan selection about 100 times slower).
 */
#include "base/common.h"
#include "base/sha256.h"

#include <proctor/session.h>
#include <proctor/unit.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tap.h"

/* The figures docs/checkbox.md gives. */
#define PLANS	       832
#define EQUAL_FAKE     832
#define EQUAL_NO_FAKE  467
#define DEFAULT_STRIDE 24

struct ref {
	char plan[256];
	unsigned jobs;
	char sha[65];
	char *boot; /* the plan's bootstrap ids, joined ("" when none) */
};

/* Plans that bootstrap the same jobs generate the same jobs. */
static int by_boot(const void *a, const void *b)
{
	return strcmp(((const struct ref *)a)->boot,
		      ((const struct ref *)b)->boot);
}

static struct pt_units *load(const char *c)
{
	struct pt_units *u = NULL;
	char p[2][4096];
	const char *paths[2] = { p[0], p[1] };

	snprintf(p[0], sizeof(p[0]), "%s/providers", c);
	snprintf(p[1], sizeof(p[1]), "%s/checkbox-ng/plainbox/impl/providers",
		 c);
	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT(pt_units_load_paths(u, 2, paths, NULL, NULL) > 0);
	return u;
}

/* A session over every job of u (the planning API attached to it). */
static struct pt_session *session_of(struct pt_units *u)
{
	size_t nj = pt_units_job_count(u);
	const struct pt_job **jobs = pt__calloc(nj + 1, sizeof(*jobs));
	struct pt_session *s = NULL;

	PT_ASSERT_NOT_NULL(jobs);
	for (size_t i = 0; i < nj; i++)
		jobs[i] = pt_units_job(u, i);
	PT_ASSERT_OK(pt_session_new(jobs, nj, &s));
	PT_ASSERT_OK(pt_session_attach_units(s, u, NULL));
	pt__free(jobs);
	return s;
}

/*
 * Plans plan in s; the run list's hash and length. A session is reused
 * from plan to plan: planning sets the mandatory list, every job's
 * effective fields and the desired list again, and the bootstrap results
 * of an earlier plan with the same bootstrap jobs are the ones this plan
 * would get (a job with a result is not run again).
 */
static void plan_one(struct pt_session *s, const char *plan,
		     enum pt_bootstrap_mode mode, char sha[65], unsigned *ret_n)
{
	struct pt_sha256 h;

	PT_ASSERT_OK(pt_session_plan(s, plan, mode, NULL, NULL));
	pt__sha256_init(&h);
	for (size_t i = 0; i < pt_session_run_list_count(s); i++) {
		const char *id =
			pt_session_job(s, pt_session_run_list_get(s, i))->id;
		if (i)
			pt__sha256_update(&h, "\n", 1);
		pt__sha256_update(&h, id, strlen(id));
	}
	pt__sha256_final_hex(&h, sha);
	*ret_n = (unsigned)pt_session_run_list_count(s);
}

PT_TEST_TIMEOUT(tp_export_run_lists_equal_plainbox, 600)
{
	const char *c = getenv("PT_CORPUS"), *src = getenv("PT_SRCDIR");
	char path[4096], line[1024];
	struct stat st;
	struct ref *refs = pt__calloc(PLANS + 1, sizeof(*refs));
	size_t n = 0, equal[2] = { 0, 0 };
	struct pt_units *shared, *boot_units = NULL;
	struct pt_session *shared_s, *boot_s = NULL;
	const char *boot_loaded = NULL, *sv = getenv("PT_TP_EXPORT_STRIDE");
	size_t stride = sv && strtoul(sv, NULL, 10) > 0
				? (size_t)strtoul(sv, NULL, 10)
				: DEFAULT_STRIDE;
	size_t sampled = 0, plain = 0, plain_equal = 0;
	FILE *f;

	if (!c || !*c)
		pt_test_skip("PT_CORPUS not set");
	snprintf(path, sizeof(path), "%s/providers", c);
	if (stat(path, &st) < 0)
		pt_test_skip("corpus not present");
	PT_ASSERT_NOT_NULL(refs);
	snprintf(path, sizeof(path), "%s/tests/session/data/tp-export.tsv",
		 src ? src : ".");
	f = fopen(path, "r");
	PT_ASSERT_NOT_NULL(f);
	while (fgets(line, sizeof(line), f) && n <= PLANS) {
		struct ref *r = &refs[n];

		if (line[0] == '#')
			continue;
		PT_ASSERT_INT_EQ(sscanf(line, "%255[^\t]\t%u\t%64s", r->plan,
					&r->jobs, r->sha),
				 3);
		n++;
	}
	fclose(f);
	PT_ASSERT_UINT_EQ(n, PLANS);
	/* The sample, in the file's order: only its plans are selected. */
	for (size_t i = 0; i < n; i += stride)
		refs[sampled++] = refs[i];
	shared = load(c);
	for (size_t i = 0; i < sampled; i++) {
		struct pt_plan_selection *sel = NULL;
		size_t len = 1;

		PT_ASSERT_OK(pt_plan_select(shared, refs[i].plan, NULL, 0, NULL,
					    &sel));
		for (size_t k = 0; k < sel->bootstrap.n; k++)
			len += strlen(sel->bootstrap.v[k]) + 1;
		refs[i].boot = pt__calloc(1, len);
		PT_ASSERT_NOT_NULL(refs[i].boot);
		for (size_t k = 0, o = 0; k < sel->bootstrap.n; k++)
			o += (size_t)snprintf(refs[i].boot + o, len - o, "%s ",
					      sel->bootstrap.v[k]);
		pt_plan_selection_free(sel);
	}
	qsort(refs, sampled, sizeof(*refs), by_boot);
	shared_s = session_of(shared);
	for (size_t i = 0; i < sampled; i++) {
		char sha[65];
		unsigned jobs;
		bool same;

		/* without fake resources: the bootstrap does not run (for a
		 * plan without bootstrap jobs that is all fake resources do) */
		plan_one(shared_s, refs[i].plan, PT_BOOTSTRAP_NONE, sha, &jobs);
		same = !strcmp(sha, refs[i].sha) && jobs == refs[i].jobs;
		equal[0] += same;
		if (!*refs[i].boot) {
			plain++;
			plain_equal += same;
		}
		/*
		 * with: templates instantiate into the units, so each set of
		 * bootstrap jobs gets units of its own (the plans are sorted
		 * by it; the same bootstrap again adds nothing new)
		 */
		if (*refs[i].boot) {
			if (!boot_loaded || strcmp(refs[i].boot, boot_loaded)) {
				pt_session_free(boot_s);
				pt_units_free(boot_units);
				boot_units = load(c);
				boot_s = session_of(boot_units);
				boot_loaded = refs[i].boot;
			}
			plan_one(boot_s, refs[i].plan, PT_BOOTSTRAP_FAKE, sha,
				 &jobs);
		}
		if (!strcmp(sha, refs[i].sha) && jobs == refs[i].jobs)
			equal[1]++;
		else
			printf("# differs with fake resources: %s (%u jobs, "
			       "PlainBox %u)\n",
			       refs[i].plan, jobs, refs[i].jobs);
	}
	pt_session_free(shared_s);
	pt_session_free(boot_s);
	pt_units_free(shared);
	pt_units_free(boot_units);
	for (size_t i = 0; i < sampled; i++)
		pt__free(refs[i].boot);
	pt__free(refs);
	printf("# equal to PlainBox: %zu of %zu compared (every %zu of %zu) "
	       "with fake resources, %zu without\n",
	       equal[1], sampled, stride, n, equal[0]);
	if (stride == 1) {
		PT_ASSERT_UINT_EQ(equal[1], EQUAL_FAKE);
		PT_ASSERT_UINT_EQ(equal[0], EQUAL_NO_FAKE);
	} else {
		PT_ASSERT_UINT_EQ(equal[1], sampled);
		PT_ASSERT_UINT_EQ(plain_equal, plain);
	}
}
