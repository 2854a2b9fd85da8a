/*
 * tool/cmd-report.c - `proctor report` and `proctor why`: a session read
 * back from the store alone (pt_run_open: the job definitions it keeps;
 * its providers may be gone), then a report or an explanation.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run-ui.h"

/* Opens and rebuilds a session for reading; 0 or an exit code. */
static int open_run(struct pt_ui *ui, const char *name, struct pt_run **ret)
{
	struct pt_run_events ev;
	struct pt_store *st = NULL;
	int rc = pt_ui_open_store(ui, name, false, &st);

	if (rc)
		return rc;
	pt_ui_events(ui, &ev);
	if (pt_run_open(st, &ev, ret) < 0)
		return ui->exit ? ui->exit : PT_EXIT_FAILURES;
	return 0;
}

/* ---- report */

int pt_cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pt_ui ui = { .cmd = "report", .sfd = -1 };
	struct pt_run *run = NULL;
	const char *fmt = NULL, *outp = "-", *name = NULL;
	enum pt_report_format f;
	char *spec = NULL;
	int ch, rc, r;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			printf("usage: proctor report [SESSION] --format "
			       "junit|tap|tap13|json|html|checkbox [-o "
			       "FILE]\n\n"
			       "Writes a report of a session (default: the "
			       "last one) on stdout or FILE.\n"
			       "checkbox: the submission tarball checkbox-cli "
			       "writes (.tar.xz: submission.json,\n"
			       "submission.junit, submission.html, "
			       "test_output/, attachment_files/); -o FILE\n"
			       "is required. checkbox-json, checkbox-junit, "
			       "checkbox-html: one of its documents.\n");
			return PT_EXIT_OK;
		case 'f':
			fmt = optarg;
			break;
		case 'o':
			outp = optarg;
			break;
		case ':':
			return pt_tool_usage_err("report",
						 "option '%s' needs a value",
						 argv[optind - 1]);
		default:
			return pt_tool_usage_err("report",
						 "unknown option '%s'",
						 argv[optind - 1]);
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return pt_tool_usage_err("report", "unexpected argument '%s'",
					 argv[optind]);
	if (!fmt)
		return pt_tool_usage_err("report", "--format is required");
	if (strcmp(fmt, "checkbox") && strcmp(fmt, "checkbox-json") &&
	    strcmp(fmt, "checkbox-junit") && strcmp(fmt, "checkbox-html") &&
	    pt_report_format_parse(fmt, &f) < 0)
		return pt_tool_usage_err("report",
					 "unknown format '%s' (junit, tap, "
					 "tap13, json, html, checkbox)",
					 fmt);
	if (!strcmp(fmt, "checkbox") && !strcmp(outp, "-"))
		return pt_tool_usage_err("report",
					 "--format checkbox writes a .tar.xz: "
					 "give -o FILE");
	rc = open_run(&ui, name, &run);
	if (rc)
		goto out;
	rc = PT_EXIT_FAILURES;
	if (asprintf(&spec, "%s:%s", fmt, outp) < 0)
		goto out;
	r = pt_ui_write_report(run, spec);
	if (r < 0)
		pt_tool_err("report", "%s: %s", outp, pt_strerror(r));
	else
		rc = PT_EXIT_OK;
out:
	free(spec);
	pt_run_free(run);
	return rc;
}

/* ---- why */

int pt_cmd_why(int argc, char **argv)
{
	struct pt_ui ui = { .cmd = "why", .sfd = -1 };
	struct pt_run *run = NULL;
	struct pt_session *s;
	const char *job, *name = NULL;
	size_t k, n;
	int rc;

	if (argc > 1 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: proctor why JOB [SESSION]\n\n"
		       "Explains why JOB of a session (default: the last "
		       "one) ran, was skipped, or\ncannot start yet.\n");
		return PT_EXIT_OK;
	}
	if (argc < 2 || argv[1][0] == '-')
		return pt_tool_usage_err("why", argc < 2 ? "no JOB given"
							 : "unknown option");
	if (argc > 3)
		return pt_tool_usage_err("why", "unexpected argument '%s'",
					 argv[3]);
	job = argv[1];
	if (argc == 3)
		name = argv[2];
	rc = open_run(&ui, name, &run);
	if (rc)
		goto out;
	rc = PT_EXIT_FAILURES;
	s = pt_run_session(run);
	k = pt_session_job_index(s, job);
	if (k == PT_SESSION_NO_JOB) {
		/* A partial id: the first job whose id ends with ::JOB. */
		for (size_t i = 0; i < pt_session_job_count(s); i++) {
			const char *id = pt_session_job(s, i)->id;
			size_t a = strlen(id), b = strlen(job);
			if (a > b + 2 && !strcmp(id + a - b, job) &&
			    !strncmp(id + a - b - 2, "::", 2)) {
				k = i;
				break;
			}
		}
	}
	if (k == PT_SESSION_NO_JOB) {
		pt_tool_err("why", "no job '%s' in session %s", job,
			    pt_store_id(pt_run_store(run)));
		goto out;
	}
	{
		const struct pt_job *j = pt_session_job(s, k);
		const struct pt_result *res = pt_session_result(s, k);

		if (res->outcome != PT_OUTCOME_NONE) {
			printf("%s: %s", j->id, pt_outcome_name(res->outcome));
			if (res->comments)
				printf(": %s", res->comments);
			else if (res->outcome == PT_OUTCOME_FAIL)
				printf(": exit code %d", res->return_code);
			printf("\n");
		} else if (pt_session_can_start(s, k)) {
			printf("%s: ready to run (no inhibitor)\n", j->id);
		} else {
			n = pt_session_inhibitor_count(s, k);
			printf("%s: cannot start:\n", j->id);
			for (size_t i = 0; i < n; i++) {
				char buf[1024];
				pt_inhibitor_format(
					pt_session_inhibitor(s, k, i), buf,
					sizeof(buf));
				printf("  %s\n", buf);
			}
		}
		for (size_t i = 0; i < pt_session_problem_count(s); i++) {
			const struct pt_problem *p = pt_session_problem(s, i);
			if (p->job == k)
				printf("  problem: %s\n", p->message);
		}
	}
	rc = PT_EXIT_OK;
out:
	pt_run_free(run);
	return rc;
}
