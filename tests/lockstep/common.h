/* tests/lockstep/common.h - helpers shared by the lockstep tests. */
#ifndef PT_TESTS_LOCKSTEP_COMMON_H
#define PT_TESTS_LOCKSTEP_COMMON_H

#include <proctor/lockstep.h>

#include "tap.h"

/* Runs body under o (trace files in the test's tmpdir); the report. */
static inline struct pt_ls_report *ls_run(const char *name, struct pt_ls_opts o,
					  void (*body)(void *), void *arg)
{
	struct pt_ls_report *rep = NULL;

	if (!o.trace_dir)
		o.trace_dir = pt_test_tmpdir();
	PT_ASSERT_OK(pt_ls_run(name, &o, body, arg, &rep));
	PT_ASSERT_NOT_NULL(rep);
	return rep;
}

/* Formats a trace and returns the text (free with pt_free). */
static inline char *ls_text(const struct pt_ls_trace *t)
{
	char *s = NULL;
	size_t n;

	PT_ASSERT_OK(pt_ls_trace_format(t, &s, &n));
	return s;
}

#endif
