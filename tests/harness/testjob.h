/*
 * tests/harness/testjob.h - a hand-built job with PlainBox's defaults (a
 * bash shell job, no estimate, no timeout), for the runner and executor
 * tests. id and cmd are borrowed; free the job with pt__free.
 */
#ifndef PT_TEST_TESTJOB_H
#define PT_TEST_TESTJOB_H

#include <proctor/unit.h>

#include "base/alloc.h"

static inline struct pt_job *mkjob(const char *id, const char *cmd)
{
	struct pt_job *j = pt__calloc(1, sizeof(*j));

	j->id = id;
	j->partial_id = id;
	j->ns = "";
	j->command = cmd;
	j->shell = "bash";
	j->plugin = PT_PLUGIN_SHELL;
	j->estimated_duration = -1;
	j->timeout = -1;
	return j;
}

#endif
