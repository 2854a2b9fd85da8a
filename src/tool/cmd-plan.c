/*
 * tool/cmd-plan.c - `proctor plan`: load unit files and providers, select
 * jobs (a test plan and/or include/exclude patterns), solve, and print the
 * run list with each job's readiness inhibitors and the problems.
 *
 * The --json output is a stable format, documented in docs/session.md
 * ("proctor plan --json"); keys are always present and in a fixed order.
 */
#define _GNU_SOURCE	      1
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <getopt.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proctor/proctor.h>

#include "cmd.h"

struct pattern {
	const char *text;
	pcre2_code *re;
};

struct patterns {
	struct pattern *v;
	size_t n;
};

static int add_pattern(struct patterns *p, const char *text)
{
	struct pattern *nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
	int err;
	PCRE2_SIZE off;
	char *anchored;
	size_t len = strlen(text);

	if (!nv)
		return -1;
	p->v = nv;
	/* Anchored at both ends, as upstream's id patterns ("^...$"). */
	anchored = malloc(len + 7);
	if (!anchored)
		return -1;
	snprintf(anchored, len + 7, "^(?:%s)$", text);
	p->v[p->n].text = text;
	p->v[p->n].re =
		pcre2_compile((PCRE2_SPTR)anchored, PCRE2_ZERO_TERMINATED,
			      PCRE2_UTF, &err, &off, NULL);
	free(anchored);
	if (!p->v[p->n].re) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(err, msg, sizeof(msg));
		pt_tool_usage_err("plan", "bad pattern '%s': %s", text,
				  (const char *)msg);
		return -2;
	}
	p->n++;
	return 0;
}

static bool re_match(pcre2_code *re, const char *s)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc;

	if (!md)
		return false;
	rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

/* A pattern matches the qualified id, or the partial id as written. */
static bool matches(const struct pattern *p, const struct pt_job *j)
{
	return re_match(p->re, j->id) ||
	       (j->partial_id && re_match(p->re, j->partial_id));
}

static void patterns_free(struct patterns *p)
{
	for (size_t i = 0; i < p->n; i++)
		pcre2_code_free(p->v[i].re);
	free(p->v);
}

/* JSON string (RFC 8259 escapes); NULL gives null. */
static void json_str(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

static void json_ids(FILE *out, const char *const *ids, size_t n)
{
	fputc('[', out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", out);
		json_str(out, ids[i]);
	}
	fputc(']', out);
}

static char *inhibitor_text(const struct pt_inhibitor *ib)
{
	int n = pt_inhibitor_format(ib, NULL, 0);
	char *s;

	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s)
		pt_inhibitor_format(ib, s, (size_t)n + 1);
	return s;
}

static const char *problem_kind(enum pt_problem_kind k)
{
	switch (k) {
	case PT_PROBLEM_CYCLE:
		return "cycle";
	case PT_PROBLEM_MISSING:
		return "missing";
	case PT_PROBLEM_UNKNOWN:
		return "unknown";
	case PT_PROBLEM_DUPLICATE:
		return "duplicate";
	case PT_PROBLEM_RESOURCE_PROGRAM:
		return "program";
	}
	return "?";
}

static void print_json(FILE *out, const struct pt_session *s, const char *plan,
		       const char *const *desired, size_t n_desired,
		       const struct pt_plan_selection *sel)
{
	size_t n = pt_session_run_list_count(s);

	fputs("{\n  \"format\": \"proctor-plan/1\",\n  \"test_plan\": ", out);
	json_str(out, plan);
	fputs(",\n  \"desired\": ", out);
	json_ids(out, desired, n_desired);
	fputs(",\n  \"mandatory\": ", out);
	if (sel)
		json_ids(out, sel->mandatory.v, sel->mandatory.n);
	else
		fputs("[]", out);
	fputs(",\n  \"bootstrap\": ", out);
	if (sel)
		json_ids(out, sel->bootstrap.v, sel->bootstrap.n);
	else
		fputs("[]", out);
	fputs(",\n  \"run_list\": [", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", out);
		json_str(out,
			 pt_session_job(s, pt_session_run_list_get(s, i))->id);
	}
	fputs("],\n  \"inhibitors\": {", out);
	for (size_t i = 0; i < n; i++) {
		size_t j = pt_session_run_list_get(s, i);
		size_t ni = pt_session_inhibitor_count(s, j);

		fputs(i ? ",\n    " : "\n    ", out);
		json_str(out, pt_session_job(s, j)->id);
		fputs(": [", out);
		for (size_t k = 0; k < ni; k++) {
			const struct pt_inhibitor *ib =
				pt_session_inhibitor(s, j, k);
			char *text = inhibitor_text(ib);

			fputs(k ? ", " : "", out);
			fputs("{\"cause\": ", out);
			json_str(out, pt_inhibitor_cause_name(ib->cause));
			fputs(", \"related_job\": ", out);
			json_str(out, ib->related_id);
			fputs(", \"related_expression\": ", out);
			json_str(out, ib->related_expression);
			fputs(", \"text\": ", out);
			json_str(out, text);
			fputc('}', out);
			free(text);
		}
		fputc(']', out);
	}
	fputs(n ? "\n  },\n  \"problems\": [" : "},\n  \"problems\": [", out);
	for (size_t i = 0; i < pt_session_problem_count(s); i++) {
		const struct pt_problem *p = pt_session_problem(s, i);

		fputs(i ? ",\n    " : "\n    ", out);
		fputs("{\"kind\": ", out);
		json_str(out, problem_kind(p->kind));
		fputs(", \"job\": ", out);
		json_str(out, p->job_id);
		fputs(", \"missing\": ", out);
		json_str(out,
			 p->kind == PT_PROBLEM_MISSING ? p->missing_id : NULL);
		fputs(", \"dep_type\": ", out);
		json_str(out, p->kind == PT_PROBLEM_MISSING
				      ? pt_dep_type_name(p->dep_type)
				      : NULL);
		fputs(", \"trail\": ", out);
		if (p->kind == PT_PROBLEM_CYCLE)
			json_ids(out, p->trail, p->trail_len);
		else
			fputs("null", out);
		fputs(", \"message\": ", out);
		json_str(out, p->message);
		fputc('}', out);
	}
	fputs(pt_session_problem_count(s) ? "\n  ]\n}\n" : "]\n}\n", out);
}

static void print_text(FILE *out, const struct pt_session *s)
{
	size_t n = pt_session_run_list_count(s);

	fprintf(out, "run list: %zu jobs\n", n);
	for (size_t i = 0; i < n; i++) {
		size_t j = pt_session_run_list_get(s, i);
		size_t ni = pt_session_inhibitor_count(s, j);

		fprintf(out, "%5zu  %s", i + 1, pt_session_job(s, j)->id);
		for (size_t k = 0; k < ni; k++) {
			char *text =
				inhibitor_text(pt_session_inhibitor(s, j, k));

			fprintf(out, "%s%s", k ? "; " : "  [",
				text ? text : "?");
			free(text);
		}
		fputs(ni ? "]\n" : "\n", out);
	}
	fprintf(out, "problems: %zu\n", pt_session_problem_count(s));
	for (size_t i = 0; i < pt_session_problem_count(s); i++)
		fprintf(out, "  %s\n", pt_session_problem(s, i)->message);
}

/*
 * --bootstrap: the bootstrap jobs run for real, one at a time, their
 * stdout kept in memory (what a resource job prints feeds the session).
 */
#define BOOT_STDOUT_LIMIT ((size_t)64 << 20)

struct boot {
	struct pt_runner *r;
	struct pt_jobenv *jenv; /* the provider environment, as a run's */
	char share[4096];	/* PLAINBOX_SESSION_SHARE of the bootstrap */
	struct pt_diags *d;
	char *out;
	size_t len;
	bool truncated;
};

static int boot_open(void *ctx, const struct pt_job *job, unsigned attempt,
		     void **ret, const char **ret_path)
{
	(void)job;
	(void)attempt;
	*ret = ctx;
	*ret_path = "memory";
	return 0;
}

static int boot_append(void *ctx, void *log, int64_t offset_ns,
		       enum pt_stream stream, const void *data, size_t len)
{
	struct boot *b = ctx;
	char *n;

	(void)log;
	(void)offset_ns;
	if (stream != PT_STREAM_STDOUT || !len)
		return 0;
	if (b->len + len > BOOT_STDOUT_LIMIT) {
		b->truncated = true;
		return 0;
	}
	n = realloc(b->out, b->len + len + 1);
	if (!n)
		return -ENOMEM;
	memcpy(n + b->len, data, len);
	b->out = n;
	b->len += len;
	n[b->len] = 0;
	return 0;
}

static int boot_close(void *ctx, void *log)
{
	(void)ctx;
	(void)log;
	return 0;
}

/*
 * The bootstrap jobs' provider environment (pt_jobenv), with a session
 * share of their own in the temporary directory.
 */
static int boot_env(struct boot *b, const struct pt_units *u)
{
	const char *tmp = getenv("TMPDIR");
	struct pt_jobenv_config jc = { 0 };

	snprintf(b->share, sizeof(b->share), "%s/proctor-plan-share-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(b->share)) {
		b->share[0] = 0;
		return -errno;
	}
	jc.units = u;
	jc.session_share = b->share;
	return pt_jobenv_new(&jc, &b->jenv);
}

static int boot_run(void *ctx, struct pt_session *s, size_t j)
{
	struct boot *b = ctx;
	const struct pt_job *job = pt_session_job(s, j);
	struct pt_run_request q = { .job = job, .estimate = -1, .attempt = 1 };
	struct pt_run_done done;
	int r;

	b->len = 0;
	b->truncated = false;
	/* the provider's scripts on PATH and its variables, as in a run */
	r = b->jenv ? pt_jobenv_get(b->jenv, job, &q.env) : 0;
	if (r == 0)
		r = pt_runner_submit(b->r, &q);
	while (r >= 0 && (r = pt_runner_step(b->r, -1, &done)) == 0)
		;
	if (r < 0)
		return r;
	fprintf(stderr, "bootstrap: %s %s%s\n",
		pt_outcome_name(done.result.outcome), job->id,
		b->truncated ? " (output truncated)" : "");
	done.result.io_log = NULL;
	return pt_session_set_result_output(s, j, &done.result,
					    b->out ? b->out : "", b->len, b->d);
}

static void usage(void)
{
	printf("usage: proctor plan [-p PLAN] [-i RE]... [-x RE]... [--json] "
	       "[--namespace NS] PATH...\n\n"
	       "Loads unit files and providers, selects jobs, solves their "
	       "dependencies and\nprints the run list, each job's readiness "
	       "inhibitors and the problems.\nWithout -p or -i every job is "
	       "desired. Exit status 3 when the solve\nreports problems (or "
	       "the plan is unknown), 1 on unit-file errors.\n\n"
	       "  -p, --test-plan PLAN  select with test plan PLAN "
	       "(qualified or partial id)\n"
	       "  -i, --include RE      also desire jobs whose id matches RE "
	       "(anchored)\n"
	       "  -x, --exclude RE      do not desire jobs whose id matches "
	       "RE (anchored)\n"
	       "      --json            JSON output (docs/session.md)\n"
	       "  -f, --fake-resources  with -p: run the bootstrap jobs with "
	       "fake resources\n"
	       "                        so that templates instantiate "
	       "(as checkbox-cli tp-export)\n"
	       "  -n, --namespace NS    namespace of units given as files\n"
	       "  -b, --bootstrap       with -p: run the bootstrap jobs for "
	       "real (as checkbox-cli\n"
	       "                        list-bootstrapped), one at a time\n"
	       "  -m, --manifest FILE   manifest answers (JSON, as checkbox-cli "
	       "writes them):\n"
	       "                        com.canonical.plainbox::manifest gets "
	       "its result\n");
}

int pt_cmd_plan(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "test-plan", required_argument, NULL, 'p' },
		{ "include", required_argument, NULL, 'i' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "json", no_argument, NULL, 'J' },
		{ "fake-resources", no_argument, NULL, 'f' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "manifest", required_argument, NULL, 'm' },
		{ "bootstrap", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct patterns inc = { 0 }, exc = { 0 };
	struct pt_load_options opt = { 0 };
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_session *s = NULL;
	struct pt_plan_selection *sel = NULL;
	const struct pt_job **jobs = NULL;
	const char **desired = NULL;
	const char *plan = NULL, *manifest_path = NULL;
	struct pt_manifest *manifest = NULL;
	size_t nj, nd = 0;
	bool json = false, fake = false, boot_real = false;
	struct boot boot = { 0 };
	struct pt_runner_iolog_ops io = { boot_open, boot_append, boot_close,
					  &boot };
	int c, rc = PT_EXIT_FAILURES, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:i:x:fn:m:bh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'p':
			plan = optarg;
			break;
		case 'i':
		case 'x':
			r = add_pattern(c == 'i' ? &inc : &exc, optarg);
			if (r == -2) {
				rc = PT_EXIT_USAGE;
				goto out;
			}
			if (r < 0)
				goto nomem;
			break;
		case 'J':
			json = true;
			break;
		case 'f':
			fake = true;
			break;
		case 'n':
			opt.ns = optarg;
			break;
		case 'm':
			manifest_path = optarg;
			break;
		case 'b':
			boot_real = true;
			break;
		case 'h':
			usage();
			rc = PT_EXIT_OK;
			goto out;
		default:
			rc = pt_tool_usage_err("plan", "bad option");
			goto out;
		}
	}
	if (optind >= argc) {
		rc = pt_tool_usage_err("plan", "no PATH given");
		goto out;
	}
	if ((fake || boot_real) && !plan) {
		rc = pt_tool_usage_err("plan", "--%s needs -p",
				       fake ? "fake-resources" : "bootstrap");
		goto out;
	}
	if (fake && boot_real) {
		rc = pt_tool_usage_err("plan",
				       "--fake-resources and "
				       "--bootstrap exclude each other");
		goto out;
	}
	if (pt_units_new(&u) < 0 || pt_diags_new(&d) < 0)
		goto nomem;
	r = pt_units_load_paths(u, (size_t)(argc - optind),
				(const char *const *)argv + optind, &opt, d);
	if (r < 0) {
		pt_tool_err("plan", "%s", pt_strerror(r));
		goto out;
	}
	if (manifest_path) {
		size_t nd0 = pt_diags_count(d);

		if (pt_manifest_new(&manifest) < 0)
			goto nomem;
		r = pt_manifest_load(manifest, manifest_path, d);
		if (r == -ENOMEM)
			goto nomem;
		if (r < 0) {
			pt_tool_print_diags(stderr, d, nd0);
			rc = PT_EXIT_USAGE;
			goto out;
		}
	}
	nj = pt_units_job_count(u);
	jobs = calloc(nj + 1, sizeof(*jobs));
	if (!jobs)
		goto nomem;
	for (size_t i = 0; i < nj; i++)
		jobs[i] = pt_units_job(u, i);
	if (pt_session_new(jobs, nj, &s) < 0 ||
	    pt_session_attach_units(s, u, d) < 0)
		goto nomem;
	if (plan) {
		struct pt_bootstrap_ops ops = { boot_run, &boot };

		if (boot_real) {
			struct pt_runner_config rc0;

			pt_runner_config_init(&rc0);
			rc0.jobs = 1;
			rc0.port_count = 0;
			rc0.iolog = &io;
			boot.d = d;
			r = pt_runner_new(&rc0, &boot.r);
			if (r == 0)
				r = boot_env(&boot, u);
			if (r < 0) {
				pt_tool_err("plan", "bootstrap: %s",
					    pt_strerror(r));
				goto out;
			}
		}
		r = pt_session_plan(s, plan,
				    fake	? PT_BOOTSTRAP_FAKE
				    : boot_real ? PT_BOOTSTRAP_RUN
						: PT_BOOTSTRAP_NONE,
				    &ops, &sel);
		if (r == PT_ENOTFOUND) {
			pt_tool_err("plan", "no test plan '%s'", plan);
			rc = PT_EXIT_INVALID;
			goto out;
		}
		if (r < 0) {
			pt_tool_err("plan", "test plan '%s': %s", plan,
				    pt_strerror(r));
			goto out;
		}
		plan = pt_units_find_plan(u, plan)->id;
		nj = pt_units_job_count(u);
		free(jobs);
		jobs = calloc(nj + 1, sizeof(*jobs));
		desired = calloc(nj + 1, sizeof(*desired));
		if (!jobs || !desired)
			goto nomem;
		for (size_t i = 0; i < nj; i++)
			jobs[i] = pt_units_job(u, i);
		/* what the plan desired (collect-manifest never is) */
		for (size_t i = 0; i < sel->desired.n; i++)
			if (strcmp(sel->desired.v[i],
				   "com.canonical.plainbox::collect-manifest"))
				desired[nd++] = sel->desired.v[i];
	}
	if (!desired && !(desired = calloc(nj + 1, sizeof(*desired))))
		goto nomem;
	for (size_t p = 0; p < inc.n; p++)
		for (size_t i = 0; i < nj; i++) {
			bool dup = false;

			if (!matches(&inc.v[p], jobs[i]))
				continue;
			for (size_t k = 0; k < nd && !dup; k++)
				dup = !strcmp(desired[k], jobs[i]->id);
			if (!dup)
				desired[nd++] = jobs[i]->id;
		}
	if (!plan && !inc.n)
		for (size_t i = 0; i < nj; i++)
			desired[nd++] = jobs[i]->id;
	if (exc.n) {
		size_t w = 0;

		for (size_t k = 0; k < nd; k++) {
			size_t j = pt_session_job_index(s, desired[k]);
			bool out = false;

			for (size_t p = 0; p < exc.n && !out; p++)
				out = j != PT_SESSION_NO_JOB &&
				      matches(&exc.v[p], jobs[j]);
			if (!out)
				desired[w++] = desired[k];
		}
		nd = w;
	}
	if ((!plan || inc.n || exc.n) &&
	    pt_session_set_desired(s, desired, nd, true) < 0)
		goto nomem;
	/* The manifest resource needs no run: its records are the answers. */
	if (manifest && pt_session_run_manifest(s, manifest) < 0)
		goto nomem;
	pt_tool_print_diags(stderr, d, 0);
	if (json) {
		/* desired: the list given to the solver, mandatory first. */
		size_t nm = pt_session_mandatory_count(s);
		const char **all = calloc(nm + nd + 1, sizeof(*all));

		if (!all)
			goto nomem;
		for (size_t i = 0; i < nm; i++)
			all[i] = pt_session_mandatory_id(s, i);
		for (size_t i = 0; i < nd; i++)
			all[nm + i] = desired[i];
		print_json(stdout, s, plan, all, nm + nd, sel);
		free(all);
	} else {
		print_text(stdout, s);
	}
	rc = pt_session_problem_count(s) ? PT_EXIT_INVALID
	     : pt_diags_errors(d)	 ? PT_EXIT_FAILURES
					 : PT_EXIT_OK;
	goto out;
nomem:
	pt_tool_err("plan", "out of memory");
	rc = PT_EXIT_FAILURES;
out:
	pt_session_free(s);
	pt_plan_selection_free(sel);
	pt_runner_free(boot.r);
	pt_jobenv_free(boot.jenv);
	if (boot.share[0])
		rmdir(boot.share); /* left when a job wrote to it */
	free(boot.out);
	pt_units_free(u);
	pt_manifest_free(manifest);
	pt_diags_free(d);
	free(jobs);
	free(desired);
	patterns_free(&inc);
	patterns_free(&exc);
	return rc;
}
