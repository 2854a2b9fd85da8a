/*
 * Tests of the session state (docs/plainbox.md §3.1, §3.2, §3.6, §3.7): job
 * lookup, results and their history, callbacks, effective fields, metadata,
 * mandatory jobs, jobs added after a solve, and allocation failures.
 */
#include "helpers.h"

struct log {
	char text[4096];
	size_t len;
};

static void logf_(struct log *l, const char *what, struct pt_session *s,
		  size_t job)
{
	l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len,
				   "%s(%s) ", what, pt_session_job(s, job)->id);
}

static void on_added(void *ctx, struct pt_session *s, size_t job)
{
	logf_(ctx, "added", s, job);
}

static void on_result(void *ctx, struct pt_session *s, size_t job)
{
	logf_(ctx, "result", s, job);
}

static void on_ready(void *ctx, struct pt_session *s, size_t job)
{
	logf_(ctx, "ready", s, job);
}

PT_TEST(state_lookup_and_defaults)
{
	struct tj_set *set = tj_set_new();
	struct pt_session *s;

	tj_make(set, "a");
	tj_make(set, "b");
	s = tj_session(set);
	PT_ASSERT_UINT_EQ(pt_session_job_count(s), 2);
	PT_ASSERT_UINT_EQ(pt_session_job_index(s, "b"), 1);
	PT_ASSERT_UINT_EQ(pt_session_job_index(s, "zz"), PT_SESSION_NO_JOB);
	PT_ASSERT(pt_session_job(s, 1) == set->jobs[1]);
	PT_ASSERT_NULL(pt_session_job(s, 2));
	PT_ASSERT_INT_EQ(pt_session_result(s, 0)->outcome, PT_OUTCOME_NONE);
	PT_ASSERT_UINT_EQ(pt_session_result_history_count(s, 0), 0);
	PT_ASSERT_UINT_EQ(pt_session_run_list_count(s), 0);
	PT_ASSERT(!pt_session_in_run_list(s, 0));
	PT_ASSERT_UINT_EQ(pt_session_run_list_get(s, 0), PT_SESSION_NO_JOB);
	PT_ASSERT_ERR(
		pt_session_set_result(s, 7, pt_session_result(s, 0), NULL, 0),
		-EINVAL);
	pt_session_free(s);
	tj_free(set);
	PT_ASSERT_NULL(pt_session_free(NULL));
}

PT_TEST(state_result_history)
{
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	struct pt_result r = { .outcome = PT_OUTCOME_FAIL,
			       .return_code = 1,
			       .duration = 0.5,
			       .comments = "first" };
	struct pt_result hollow = { .outcome = PT_OUTCOME_NONE };
	struct log log = { { 0 }, 0 };
	struct pt_session_callbacks cb = { .result_changed = on_result,
					   .ctx = &log };

	tj_make(set, "a");
	s = tj_session(set);
	pt_session_set_callbacks(s, &cb);
	PT_ASSERT_OK(pt_session_set_result(s, 0, &r, NULL, 0));
	r.outcome = PT_OUTCOME_PASS;
	r.comments = NULL;
	r.io_log = "io-logs/a.log";
	PT_ASSERT_OK(pt_session_set_result(s, 0, &r, NULL, 0));
	/* The same result again is no change: not added to the history. */
	PT_ASSERT_OK(pt_session_set_result(s, 0, &r, NULL, 0));
	PT_ASSERT_UINT_EQ(pt_session_result_history_count(s, 0), 2);
	/* A hollow result becomes current but is not history. */
	PT_ASSERT_OK(pt_session_set_result(s, 0, &hollow, NULL, 0));
	PT_ASSERT_UINT_EQ(pt_session_result_history_count(s, 0), 2);
	PT_ASSERT_INT_EQ(pt_session_result_history(s, 0, 0)->outcome,
			 PT_OUTCOME_FAIL);
	PT_ASSERT_STR_EQ(pt_session_result_history(s, 0, 0)->comments, "first");
	PT_ASSERT_STR_EQ(pt_session_result_history(s, 0, 1)->io_log,
			 "io-logs/a.log");
	PT_ASSERT_NULL(pt_session_result_history(s, 0, 2));
	PT_ASSERT_INT_EQ(pt_session_result(s, 0)->outcome, PT_OUTCOME_NONE);
	PT_ASSERT_STR_EQ(log.text, "result(a) result(a) result(a) result(a) ");
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(state_resource_map_only_for_resource_jobs)
{
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	const char *k[] = { "name" }, *v[] = { "x" };
	struct pt_resource_record rec = { 1, k, v };
	struct pt_result r = { .outcome = PT_OUTCOME_PASS };
	struct pt_result none = { .outcome = PT_OUTCOME_NONE };
	size_t n;

	tj_make(set, "shell");
	tj_make(set, "res plugin=resource");
	s = tj_session(set);
	PT_ASSERT_OK(pt_session_set_result(s, 0, &r, &rec, 1));
	PT_ASSERT(!pt_session_resources(s, "shell", &n));
	/* Outcome NONE (a resumed job that never ran): map untouched. */
	PT_ASSERT_OK(pt_session_set_result(s, 1, &none, &rec, 1));
	PT_ASSERT(!pt_session_resources(s, "res", &n));
	PT_ASSERT_OK(pt_session_set_result(s, 1, &r, &rec, 1));
	PT_ASSERT(pt_session_resources(s, "res", &n));
	PT_ASSERT_UINT_EQ(n, 1);
	PT_ASSERT_STR_EQ(pt_session_resource(s, "res", 0)->keys[0], "name");
	PT_ASSERT_STR_EQ(pt_session_resource(s, "res", 0)->values[0], "x");
	PT_ASSERT_NULL(pt_session_resource(s, "res", 1));
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(state_callbacks_and_added_jobs)
{
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	struct log log = { { 0 }, 0 };
	struct pt_session_callbacks cb = { on_added, on_result, on_ready,
					   &log };
	struct pt_result pass = { .outcome = PT_OUTCOME_PASS };

	tj_make(set, "a");
	tj_make(set, "b depends=a,c");
	tj_make(set, "c");
	s = tj_session(set);
	pt_session_set_callbacks(s, &cb);
	PT_ASSERT_INT_EQ(tj_desire(s, "b"), 0);
	PT_ASSERT_STR_EQ(tj_run_list(s), "a c b");
	PT_ASSERT_STR_EQ(log.text, "ready(a) ready(b) ready(c) ");
	log.len = 0;
	PT_ASSERT_OK(pt_session_set_result(s, 0, &pass, NULL, 0));
	PT_ASSERT_STR_EQ(log.text, "result(a) ready(b) ");
	/* A job added later is UNDESIRED until the next solve. */
	log.len = 0;
	tj_make(set, "d after=b");
	PT_ASSERT_INT_EQ(pt_session_add_job(s, set->jobs[3]), 3);
	PT_ASSERT_STR_EQ(log.text, "added(d) ");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "d"), "undesired");
	PT_ASSERT_INT_EQ(tj_desire(s, "b d"), 0);
	PT_ASSERT_STR_EQ(tj_run_list(s), "a c b d");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "d"),
			 "required dependency 'b' did not run yet");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "b"),
			 "required dependency 'c' did not run yet");
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(state_mandatory_lists)
{
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	const char *m[] = { "m" }, *d[] = { "a", "m" };

	tj_make(set, "a");
	tj_make(set, "m");
	s = tj_session(set);
	PT_ASSERT_OK(pt_session_set_mandatory(s, m, 1));
	PT_ASSERT_OK(pt_session_set_desired(s, d, 2, true));
	PT_ASSERT_STR_EQ(tj_run_list(s), "m a");
	PT_ASSERT_UINT_EQ(pt_session_desired_count(s), 3);
	PT_ASSERT_STR_EQ(pt_session_desired_id(s, 0), "m");
	PT_ASSERT_STR_EQ(pt_session_mandatory_id(s, 0), "m");
	PT_ASSERT_UINT_EQ(pt_session_mandatory_count(s), 1);
	PT_ASSERT_OK(pt_session_set_desired(s, d, 1, false));
	PT_ASSERT_STR_EQ(tj_run_list(s), "a");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "m"), "undesired");
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(state_effective_fields)
{
	struct tj_set *set = tj_set_new();
	struct pt_session *s;

	tj_make(set, "a");
	s = tj_session(set);
	PT_ASSERT_STR_EQ(pt_session_effective(s, 0, "category_id"),
			 "com.canonical.plainbox::uncategorised");
	PT_ASSERT_STR_EQ(pt_session_effective(s, 0, "certification_status"),
			 "non-blocker");
	PT_ASSERT_STR_EQ(pt_session_effective(s, 0, "auto_retry"),
			 "unspecified");
	PT_ASSERT_OK(
		pt_session_override(s, 0, "certification_status", "blocker"));
	PT_ASSERT_OK(pt_session_override(s, 0, "category_id", "c1"));
	PT_ASSERT_OK(pt_session_override(s, 0, "category_id", "c2"));
	PT_ASSERT_OK(pt_session_override(s, 0, "auto_retry", "no"));
	PT_ASSERT_STR_EQ(pt_session_effective(s, 0, "certification_status"),
			 "blocker");
	PT_ASSERT_STR_EQ(pt_session_effective(s, 0, "category_id"), "c2");
	PT_ASSERT_STR_EQ(pt_session_effective(s, 0, "auto_retry"), "no");
	PT_ASSERT_ERR(pt_session_override(s, 0, "summary", "x"), -EINVAL);
	PT_ASSERT_NULL(pt_session_effective(s, 0, "summary"));
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(state_metadata)
{
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	struct pt_session_metadata md;
	const char *rej[] = { "x", "y" };

	s = tj_session(set);
	pt_session_metadata(s, &md);
	PT_ASSERT_NULL(md.title);
	PT_ASSERT_UINT_EQ(md.n_flags, 0);
	PT_ASSERT_OK(pt_session_set_title(s, "my session"));
	PT_ASSERT_OK(pt_session_set_running_job(s, "ns::job"));
	PT_ASSERT_OK(pt_session_set_app_id(s, "com.example"));
	PT_ASSERT_OK(pt_session_set_app_blob(s, "{\"a\":1}", 7));
	pt_session_set_custom_joblist(s, true);
	pt_session_set_last_job_start_time(s, 12.5);
	PT_ASSERT_OK(pt_session_set_flag(s, PT_SESSION_FLAG_INCOMPLETE, true));
	PT_ASSERT_OK(pt_session_set_flag(s, PT_SESSION_FLAG_SUBMITTED, true));
	PT_ASSERT_OK(pt_session_set_flag(s, PT_SESSION_FLAG_INCOMPLETE, true));
	PT_ASSERT_OK(pt_session_set_rejected(s, rej, 2));
	pt_session_metadata(s, &md);
	PT_ASSERT_STR_EQ(md.title, "my session");
	PT_ASSERT_STR_EQ(md.running_job, "ns::job");
	PT_ASSERT_STR_EQ(md.app_id, "com.example");
	PT_ASSERT_UINT_EQ(md.app_blob_len, 7);
	PT_ASSERT_MEM_EQ(md.app_blob, "{\"a\":1}", 7);
	PT_ASSERT(md.custom_joblist);
	PT_ASSERT(md.last_job_start_time == 12.5);
	PT_ASSERT_UINT_EQ(md.n_flags, 2);
	PT_ASSERT_STR_EQ(md.flags[0], "incomplete");
	PT_ASSERT_STR_EQ(md.rejected[1], "y");
	PT_ASSERT(pt_session_has_flag(s, "submitted"));
	PT_ASSERT_OK(pt_session_set_flag(s, PT_SESSION_FLAG_INCOMPLETE, false));
	PT_ASSERT(!pt_session_has_flag(s, "incomplete"));
	PT_ASSERT_OK(pt_session_set_running_job(s, NULL));
	pt_session_metadata(s, &md);
	PT_ASSERT_NULL(md.running_job);
	PT_ASSERT_UINT_EQ(md.n_flags, 1);
	pt_session_free(s);
	tj_free(set);
}

/* Fails the Nth allocation from now on (the allocator seam). The real
 * allocator underneath is libc's: banned in src/, fine in a test. */
#undef malloc
#undef realloc
#undef free
static long fail_at = -1;

static void *fail_malloc(void *ctx, size_t n)
{
	(void)ctx;
	if (fail_at >= 0 && fail_at-- == 0)
		return NULL;
	return malloc(n);
}

static void *fail_realloc(void *ctx, void *p, size_t n)
{
	(void)ctx;
	if (fail_at >= 0 && fail_at-- == 0)
		return NULL;
	return realloc(p, n);
}

static void fail_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/*
 * Every allocation of a solve and of a result can fail: the call reports
 * -ENOMEM and the session keeps its previous, consistent state.
 */
PT_TEST(state_allocation_failures)
{
	struct pt_allocator a = { fail_malloc, fail_realloc, fail_free, NULL };
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	int failures = 0;

	tj_make(set, "r plugin=resource");
	tj_make(set, "a depends=r requires=r.k=v");
	tj_make(set, "b after=a group=g");
	tj_make(set, "c depends=nope");
	s = tj_session(set);
	/* The stand-in programs allocate with asserts: compile them now. */
	PT_ASSERT_OK(pt__graph_build(s));
	pt_set_allocator(&a);
	for (long n = 0;; n++) {
		int r;

		const char *want[] = { "b", "c" };

		fail_at = n;
		r = pt_session_set_desired(s, want, 2, true);
		fail_at = -1;
		if (r >= 0) {
			PT_ASSERT_INT_EQ(r, 1);
			break;
		}
		PT_ASSERT_ERR(r, -ENOMEM);
		failures++;
	}
	PT_ASSERT_STR_EQ(tj_run_list(s), "r a b");
	for (long n = 0;; n++) {
		const char *k[] = { "k" }, *v[] = { "v" };
		struct pt_resource_record rec = { 1, k, v };
		struct pt_result res = { .outcome = PT_OUTCOME_PASS,
					 .comments = "c" };
		int r;

		fail_at = n;
		r = pt_session_set_result(s, 0, &res, &rec, 1);
		fail_at = -1;
		if (r == 0)
			break;
		PT_ASSERT_ERR(r, -ENOMEM);
		failures++;
	}
	pt_set_allocator(NULL);
	PT_ASSERT_INT_GT(failures, 10);
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "a"), "");
	PT_ASSERT_UINT_EQ(pt_session_result_history_count(s, 0), 1);
	pt_session_free(s);
	tj_free(set);
}

/* A resource result instantiates the templates of that resource (§2.5). */
PT_TEST(state_template_instantiation)
{
	static const char pxu[] =
		"id: res\nplugin: resource\ncommand: echo\n\n"
		"unit: template\ntemplate-resource: res\n"
		"template-filter: res.kind == 'a'\n"
		"id: gen-{name}\nplugin: shell\ncommand: echo {name}\n"
		"depends: res\n\n"
		"id: other\nplugin: shell\ncommand: true\n";
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_session *s = NULL;
	const struct pt_job *jobs[8];
	const char *k[] = { "kind", "name" };
	const char *v1[] = { "a", "x" }, *v2[] = { "b", "y" },
		   *v3[] = { "a", "z" };
	struct pt_resource_record recs[] = { { 2, k, v1 },
					     { 2, k, v2 },
					     { 2, k, v3 } };
	struct pt_result pass = { .outcome = PT_OUTCOME_PASS };
	const char *want[] = { "gen-x", "gen-z" };
	size_t n;

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_units_load_buffer(u, pxu, sizeof(pxu) - 1, "t.pxu",
					  NULL, d));
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	n = pt_units_job_count(u);
	PT_ASSERT_UINT_EQ(n, 2);
	for (size_t i = 0; i < n; i++)
		jobs[i] = pt_units_job(u, i);
	PT_ASSERT_OK(pt_session_new(jobs, n, &s));
	PT_ASSERT_OK(pt_session_attach_units(s, u, d));
	PT_ASSERT_OK(tj_desire(s, "res other"));
	PT_ASSERT_OK(pt_session_set_result(s, pt_session_job_index(s, "res"),
					   &pass, recs, 3));
	PT_ASSERT_UINT_EQ(pt_session_job_count(s), 4);
	PT_ASSERT_STR_EQ(pt_session_job(s, 2)->id, "gen-x");
	PT_ASSERT_STR_EQ(pt_session_job(s, 3)->id, "gen-z");
	PT_ASSERT_STR_EQ(pt_session_job(s, 3)->template_id, "gen-name");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "gen-x"), "undesired");
	PT_ASSERT_OK(pt_session_set_desired(s, want, 2, true));
	PT_ASSERT_STR_EQ(tj_run_list(s), "res gen-x gen-z");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "gen-z"), "");
	/* The same records again: identical instances, nothing new. */
	PT_ASSERT_OK(pt_session_set_result(s, pt_session_job_index(s, "res"),
					   &pass, recs, 3));
	PT_ASSERT_UINT_EQ(pt_session_job_count(s), 4);
	PT_ASSERT_UINT_EQ(pt_session_problem_count(s), 0);
	pt_session_free(s);
	pt_units_free(u);
	pt_diags_free(d);
}

/*
 * A template-filter that references no resource: upstream raises
 * NoResourcesReferenced; here nothing is generated and an error names the
 * template and the line (with fake resources the filter is not read, as
 * upstream's should_instantiate returns before compiling it).
 */
PT_TEST(state_template_filter_no_resources)
{
	static const char pxu[] =
		"id: res\nplugin: resource\ncommand: echo\n\n"
		"unit: template\ntemplate-resource: res\n"
		"template-filter:\n res.kind == 'a'\n 1 == 1\n"
		"id: gen-{name}\nplugin: shell\ncommand: echo {name}\n";
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_session *s = NULL;
	const struct pt_job *jobs[8];
	const char *k[] = { "kind", "name" };
	const char *v1[] = { "a", "x" };
	struct pt_resource_record recs[] = { { 2, k, v1 } };
	struct pt_result pass = { .outcome = PT_OUTCOME_PASS };
	const struct pt_diag *g;

	for (int fake = 0; fake < 2; fake++) {
		PT_ASSERT_OK(pt_units_new(&u));
		PT_ASSERT_OK(pt_diags_new(&d));
		PT_ASSERT_OK(pt_units_load_buffer(u, pxu, sizeof(pxu) - 1,
						  "t.pxu", NULL, d));
		jobs[0] = pt_units_job(u, 0);
		PT_ASSERT_OK(pt_session_new(jobs, 1, &s));
		PT_ASSERT_OK(pt_session_attach_units(s, u, d));
		pt_session_set_fake_resources(s, fake);
		PT_ASSERT_OK(pt_session_set_result(s, 0, &pass, recs, 1));
		if (fake) {
			PT_ASSERT_UINT_EQ(pt_session_job_count(s), 2);
			PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
		} else {
			PT_ASSERT_UINT_EQ(pt_session_job_count(s), 1);
			PT_ASSERT_UINT_EQ(pt_diags_count(d), 1);
			g = pt_diags_get(d, 0);
			PT_ASSERT_INT_EQ(g->severity, PT_SEV_ERROR);
			PT_ASSERT_STR_EQ(g->file, "t.pxu");
			PT_ASSERT_UINT_EQ(g->line, 9);
			PT_ASSERT_STR_EQ(g->message,
					 "template 'gen-{name}': "
					 "NoResourcesReferenced: expression "
					 "did not reference any resources "
					 "(nothing generated)");
		}
		pt_session_free(s);
		pt_units_free(u);
		pt_diags_free(d);
	}
}

/* A resource job's stdout, parsed: records before a syntax error stay. */
PT_TEST(state_result_from_output)
{
	static const char out[] = "name: a\nver: 1\n\nname: b\nver: 2\n\n"
				  "this line is not a field\n\nname: c\n";
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	struct pt_diags *d = NULL;
	struct pt_result pass = { .outcome = PT_OUTCOME_PASS };
	size_t n = 0;

	tj_make(set, "res plugin=resource");
	tj_make(set, "sh");
	s = tj_session(set);
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_session_set_result_output(s, 0, &pass, out,
						  sizeof(out) - 1, d));
	PT_ASSERT(pt_session_resources(s, "res", &n));
	PT_ASSERT_UINT_EQ(n, 2);
	PT_ASSERT_STR_EQ(pt_session_resource(s, "res", 1)->keys[1], "ver");
	PT_ASSERT_STR_EQ(pt_session_resource(s, "res", 1)->values[1], "2");
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 1);
	PT_ASSERT_UINT_EQ(pt_diags_get(d, 0)->line, 7);
	/* Other jobs: the output is not read. */
	PT_ASSERT_OK(pt_session_set_result_output(s, 1, &pass, out,
						  sizeof(out) - 1, d));
	PT_ASSERT(!pt_session_resources(s, "sh", &n));
	PT_ASSERT_INT_EQ(pt_session_result(s, 1)->outcome, PT_OUTCOME_PASS);
	pt_session_free(s);
	pt_diags_free(d);
	tj_free(set);
}
