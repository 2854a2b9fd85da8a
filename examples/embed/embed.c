/*
 * examples/embed/embed.c - a program that embeds libproctor: it runs a
 * plan as a durable session through the session-run API
 * (<proctor/run.h>) and prints its own progress, then a TAP report.
 *
 *     embed UNITS REPOSITORY
 *
 * UNITS is a unit file or a provider directory, REPOSITORY the directory
 * that keeps the sessions. Exit 0 when every job passed, 1 otherwise.
 */
#include <stdio.h>

#include <proctor/proctor.h>

struct progress {
	size_t done, total;
};

static void on_finished(void *ctx, const struct pt_job *job,
			const struct pt_result *res)
{
	struct progress *p = ctx;

	printf("[%zu/%zu] %s %s\n", ++p->done, p->total,
	       pt_outcome_name(res->outcome), job->id);
}

static void on_message(void *ctx, enum pt_run_msg kind, const char *text)
{
	(void)ctx;
	fprintf(stderr, "embed: %s%s\n",
		kind == PT_RUN_MSG_WARNING ? "warning: " : "", text);
}

int main(int argc, char **argv)
{
	struct progress p = { 0 };
	struct pt_run_options o;
	struct pt_run_events ev = { .job_finished = on_finished,
				    .message = on_message,
				    .wake_fd = -1,
				    .ctx = &p };
	struct pt_run_progress end;
	struct pt_run *run = NULL;
	char *tap = NULL;
	size_t len = 0;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: embed UNITS REPOSITORY\n");
		return 2;
	}
	pt_run_options_init(&o);
	o.paths = (const char *const *)&argv[1];
	o.n_paths = 1;
	o.repo = argv[2];
	o.jobs = 2;
	o.seed = 1;
	o.no_operator = "embedded"; /* nobody answers manual jobs */
	r = pt_run_new(&o, &ev, &run);
	if (r < 0) {
		fprintf(stderr, "embed: %s\n", pt_strerror(r));
		return 1;
	}
	p.total = pt_session_run_list_count(pt_run_session(run));
	printf("running %zu jobs\n", p.total);
	r = pt_run_drive(run);
	if (r == 0)
		r = pt_run_finish(run);
	pt_run_progress(run, &end);
	printf("done: %zu passed, %zu failed\n",
	       end.per_outcome[PT_OUTCOME_PASS], end.failed);
	if (r == 0)
		r = pt_run_report(run, PT_REPORT_TAP, &tap, &len);
	if (r == 0)
		fwrite(tap, 1, len, stdout);
	pt_free(tap);
	pt_run_free(run);
	if (r < 0) {
		fprintf(stderr, "embed: %s\n", pt_strerror(r));
		return 1;
	}
	return end.failed || end.per_outcome[PT_OUTCOME_PASS] != p.total;
}
