/*
 * tool/cmd-flakes.c - `proctor flakes`: jobs of the repository's history
 * by flake rate, with the sessions and seeds of their failed attempts.
 * Also the table `proctor run --repeat N` prints at its end.
 */
#define _GNU_SOURCE 1
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proctor/proctor.h>

#include "cmd.h"

/* Failed attempts shown per job. */
#define EVIDENCE_MAX 5

static bool is_fail(enum pt_outcome o)
{
	return o == PT_OUTCOME_FAIL || o == PT_OUTCOME_CRASH ||
	       o == PT_OUTCOME_TIMEOUT;
}

int pt_tool_print_flakes(FILE *out, const struct pt_store_history *h, bool all,
			 bool evidence)
{
	struct pt_store_flake *v = NULL;
	size_t n = 0;
	int r = pt_store_history_flakes(h, all, &v, &n);

	if (r < 0)
		return r;
	fprintf(out, "%5s  %-11s  %-8s  %s\n", "RATE", "FAILS/RUNS", "SESSIONS",
		"JOB");
	for (size_t i = 0; i < n; i++) {
		size_t first, m = pt_store_history_job(h, v[i].job_id, &first);
		char fr[32];
		unsigned shown = 0, fails = 0;

		snprintf(fr, sizeof(fr), "%u/%u", v[i].fails, v[i].runs);
		fprintf(out, "%4.0f%%  %-11s  %-8u  %s\n", v[i].rate * 100, fr,
			v[i].sessions, v[i].job_id);
		/* The newest failures first: where to look again. */
		for (size_t k = first + m; evidence && k-- > first;) {
			const struct pt_store_hist *x =
				pt_store_history_get(h, k);
			if (!is_fail(x->outcome))
				continue;
			if (shown++ < EVIDENCE_MAX)
				fprintf(out,
					"       %s: session %s, seed %llu, "
					"attempt %u\n",
					pt_outcome_name(x->outcome),
					*x->session_id ? x->session_id : "-",
					(unsigned long long)x->seed,
					x->attempt);
			else
				fails++;
		}
		if (fails)
			fprintf(out, "       (%u more)\n", fails);
	}
	pt_free(v);
	return (int)n;
}

int pt_cmd_flakes(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repository", required_argument, NULL, 'R' },
		{ "all", no_argument, NULL, 'a' },
		{ 0, 0, 0, 0 },
	};
	struct pt_store_history *h = NULL;
	struct pt_diags *d = NULL;
	const char *repo = NULL;
	bool all = false;
	int c, r;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (strcmp(argv[i], "--help") && strcmp(argv[i], "-h"))
			continue;
		printf("usage: proctor flakes [--repository DIR] [--all]\n\n"
		       "Lists the jobs whose attempts both passed and failed "
		       "in the repository's\nhistory (the last %u attempts of "
		       "each job, across sessions), highest\nflake rate "
		       "first: failed attempts / attempts that passed or "
		       "failed, the\nsessions they ran in, and under each "
		       "job its newest failed attempts\n(session, seed, "
		       "attempt) to run again with --seed.\n\n"
		       "  -R, --repository DIR  the session repository\n"
		       "  -a, --all             every job with a measured "
		       "attempt, flaky or not\n\n"
		       "Exit: 0 no flaky job, 1 some flaky job, 2 usage, "
		       "4 history unreadable.\n",
		       PT_STORE_HISTORY_PER_JOB);
		return PT_EXIT_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "R:a", opts, NULL)) != -1) {
		if (c == 'R')
			repo = optarg;
		else if (c == 'a')
			all = true;
		else
			return pt_tool_usage_err("flakes", "bad option");
	}
	if (optind < argc)
		return pt_tool_usage_err("flakes", "unexpected argument '%s'",
					 argv[optind]);
	if (pt_diags_new(&d) < 0)
		return PT_EXIT_FAILURES;
	r = pt_store_history_load(repo, d, &h);
	if (r < 0) {
		pt_tool_print_diags(stderr, d, 0);
		pt_tool_err("flakes", "cannot read the history: %s",
			    pt_strerror(r));
		pt_diags_free(d);
		return PT_EXIT_STORAGE;
	}
	pt_diags_free(d);
	r = pt_tool_print_flakes(stdout, h, all, true);
	if (r < 0) {
		pt_tool_err("flakes", "%s", pt_strerror(r));
		r = PT_EXIT_FAILURES;
	} else if (all) {
		struct pt_store_flake *v = NULL;
		size_t n = 0;

		r = pt_store_history_flakes(h, false, &v, &n) < 0 || n
			    ? PT_EXIT_FAILURES
			    : PT_EXIT_OK;
		pt_free(v);
	} else {
		r = r ? PT_EXIT_FAILURES : PT_EXIT_OK;
	}
	pt_store_history_free(h);
	return r;
}
