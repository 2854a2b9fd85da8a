/*
 * fuzz/fuzz-plan.c - the session engine on arbitrary unit files: load
 * (units, templates), solve every job (in reverse order), then walk the
 * run list giving each job a result (resource jobs print one record, which
 * instantiates templates), and solve again with the generated jobs. Checks
 * that the run list has no duplicate, that every inhibitor has a text and
 * that each incremental update equals a full recomputation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "session/session-internal.h"

#undef malloc
#undef calloc
#undef free

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void solve_all(struct pt_session *s)
{
	size_t n = pt_session_job_count(s), rn;
	const char **ids = malloc((n + 1) * sizeof(*ids));
	unsigned char *seen = calloc(n + 1, 1);

	if (!ids || !seen)
		abort();
	for (size_t i = 0; i < n; i++)
		ids[i] = pt_session_job(s, n - 1 - i)->id;
	if (pt_session_set_desired(s, ids, n, true) < 0)
		abort();
	rn = pt_session_run_list_count(s);
	for (size_t i = 0; i < rn; i++) {
		size_t j = pt_session_run_list_get(s, i);

		if (j >= n || seen[j]++)
			abort();
	}
	free(ids);
	free(seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_load_options opt = { .ns = "fz", .max_units = 200 };
	struct pt_units *u = NULL;
	struct pt_session *s = NULL;
	const struct pt_job **jobs = NULL;
	size_t n;

	if (size > 65536)
		return 0;
	if (pt_units_new(&u) < 0)
		abort();
	if (pt_units_load_buffer(u, (const char *)data, size, "fuzz.pxu", &opt,
				 NULL) < 0)
		goto out;
	n = pt_units_job_count(u);
	jobs = malloc((n + 1) * sizeof(*jobs));
	if (!jobs)
		abort();
	for (size_t i = 0; i < n; i++)
		jobs[i] = pt_units_job(u, i);
	if (pt_session_new(jobs, n, &s) < 0)
		goto out;
	pt_session_attach_units(s, u, NULL);
	solve_all(s);
	for (size_t i = 0; i < pt_session_run_list_count(s) && i < 500; i++) {
		size_t j = pt_session_run_list_get(s, i);
		struct pt_result r = { .outcome = i % 3 ? PT_OUTCOME_PASS
							: PT_OUTCOME_FAIL };
		static const char out[] = "name: x\nvalue: 1\n";

		if (!pt_session_can_start(s, j))
			r.outcome = pt_session_blocked_outcome(s, j);
		if (pt_session_set_result_output(s, j, &r, out, sizeof(out) - 1,
						 NULL) < 0)
			abort();
		for (size_t k = 0; k < pt_session_job_count(s); k++) {
			if (k < s->rdep_jobs &&
			    pt__readiness_check(s, (uint32_t)k))
				abort();
			for (size_t x = 0; x < pt_session_inhibitor_count(s, k);
			     x++)
				if (pt_inhibitor_format(
					    pt_session_inhibitor(s, k, x), NULL,
					    0) <= 0)
					abort();
		}
	}
	solve_all(s);
out:
	pt_session_free(s);
	free(jobs);
	pt_units_free(u);
	return 0;
}
