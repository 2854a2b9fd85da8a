/*
 * The public API as an installed program sees it: only <proctor/proctor.h>,
 * linked against the shared libproctor (so every call here must be an
 * exported symbol, and the public headers must stand on their own).
 */
#include <proctor/proctor.h>

#include "tap.h"

PT_TEST(public_version_and_errors)
{
	PT_ASSERT_STR_EQ(pt_version(), PT_VERSION_STRING);
	PT_ASSERT_STR_EQ(pt_strerror(PT_ELOCKED), "session is locked");
	PT_ASSERT_STR_EQ(pt_outcome_name(PT_OUTCOME_SKIPPED_DEPENDENCY),
			 "skipped-dependency");
	PT_ASSERT_STR_EQ(pt_outcome_class(PT_OUTCOME_TIMEOUT), "fail");
}

PT_TEST(public_load_solve_and_explain)
{
	static const char text[] = "id: a\nplugin: shell\ncommand: true\n\n"
				   "id: b\nplugin: shell\ndepends: a\n"
				   "command: true\n";
	const char *desired[] = { "ns::b" };
	struct pt_load_options opt = { .ns = "ns" };
	const struct pt_job *jobs[2];
	struct pt_units *u = NULL;
	struct pt_session *s = NULL;
	struct pt_diags *d = NULL;
	char why[128];
	size_t b;

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_INT_EQ(pt_units_load_buffer(u, text, sizeof(text) - 1,
					      "t.pxu", &opt, d),
			 2);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	PT_ASSERT_UINT_EQ(pt_units_job_count(u), 2);
	jobs[0] = pt_units_job(u, 0);
	jobs[1] = pt_units_job(u, 1);
	PT_ASSERT_STR_EQ(jobs[1]->id, "ns::b");
	PT_ASSERT_OK(pt_session_new(jobs, 2, &s));
	PT_ASSERT_INT_EQ(pt_session_set_desired(s, desired, 1, true), 0);
	PT_ASSERT_UINT_EQ(pt_session_run_list_count(s), 2);
	b = pt_session_job_index(s, "ns::b");
	PT_ASSERT_UINT_EQ(pt_session_inhibitor_count(s, b), 1);
	pt_inhibitor_format(pt_session_inhibitor(s, b, 0), why, sizeof(why));
	PT_ASSERT_STR_EQ(why, "required dependency 'ns::a' did not run yet");
	pt_session_free(s);
	pt_units_free(u);
	pt_diags_free(d);
}
