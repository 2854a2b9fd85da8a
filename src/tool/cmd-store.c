/*
 * tool/cmd-store.c - the session repository commands: sessions, show, rm,
 * export, import, break-lock. A client of <proctor/store.h> only; readers
 * never take the session lock, so they work while a run is in progress.
 */
#define _GNU_SOURCE 1
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <proctor/proctor.h>

#include "cmd.h"

/* A macro, not a const object: an object is not a constant expression in
 * C11, and clang rejects it in the static option tables below. */
#define REPO_OPT                             \
 {                                           \
  "repository", required_argument, NULL, 'R' \
 }

/* Exit code for a library error: storage problems are 4. */
static int exit_for(int r)
{
	switch (r) {
	case PT_ELOCKED:
	case PT_ECORRUPT:
	case PT_EINCOMPAT:
		return PT_EXIT_STORAGE;
	default:
		return PT_EXIT_FAILURES;
	}
}

/* Prints the diagnostics (or the bare error) and returns the exit code. */
static int report(const char *cmd, int r, struct pt_diags *d, const char *what)
{
	size_t n = pt_diags_count(d);

	if (n == 0) {
		pt_tool_err(cmd, "%s: %s", what, pt_strerror(r));
	} else {
		for (size_t i = 0; i < n; i++) {
			const struct pt_diag *x = pt_diags_get(d, i);
			pt_tool_err(cmd, "%s: %s", what, x->message);
		}
	}
	return exit_for(r);
}

static void fmt_time(int64_t ns, char *buf, size_t size)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0 || !gmtime_r(&t, &tm) ||
	    !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "-");
}

static void join_flags(const struct pt_store_meta *m, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < m->n_flags && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "," : "",
				      m->flags[i]);
	if (!m->n_flags)
		snprintf(buf, size, "-");
}

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}

/* ---- sessions ----------------------------------------------------------- */

int pt_cmd_sessions(int argc, char **argv)
{
	static const struct option opts[] = { REPO_OPT, { 0, 0, 0, 0 } };
	struct pt_store_list *l = NULL;
	const char *repo = NULL;
	int c, r;

	if (want_help(argc, argv)) {
		printf("usage: proctor sessions [--repository DIR]\n\n"
		       "Lists the sessions of the repository, newest first: "
		       "id, title, flags,\nprogress (jobs with a result / "
		       "jobs planned), start time (UTC) and the\npid of a "
		       "writer holding the session. The repository is "
		       "$PROCTOR_SESSION_REPOSITORY,\nelse "
		       "${XDG_CACHE_HOME:-~/.cache}/proctor/sessions.\n");
		return PT_EXIT_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "R:", opts, NULL)) != -1) {
		if (c == 'R')
			repo = optarg;
		else
			return pt_tool_usage_err("sessions", "bad option");
	}
	if (optind < argc)
		return pt_tool_usage_err("sessions", "unexpected argument '%s'",
					 argv[optind]);
	r = pt_store_list(repo, &l);
	if (r < 0)
		return report("sessions", r, NULL, "cannot list sessions");
	printf("%-16s  %-24s  %-20s  %-11s  %-20s  %s\n", "ID", "TITLE",
	       "FLAGS", "PROGRESS", "STARTED", "WRITER");
	for (size_t i = 0; i < l->n; i++) {
		const struct pt_store_info *s = &l->v[i];
		char flags[256], started[32], prog[32], writer[32];

		if (s->error) {
			printf("%-16s  (unreadable: %s)\n", s->id,
			       pt_strerror(s->error));
			continue;
		}
		join_flags(&s->meta, flags, sizeof(flags));
		fmt_time(s->meta.started_ns, started, sizeof(started));
		snprintf(prog, sizeof(prog), "%zu/%zu", s->n_done, s->n_total);
		if (s->lock_pid > 0)
			snprintf(writer, sizeof(writer), "pid %d", s->lock_pid);
		else
			snprintf(writer, sizeof(writer), "-");
		printf("%-16s  %-24.24s  %-20s  %-11s  %-20s  %s\n", s->id,
		       s->meta.title ? s->meta.title : "-", flags, prog,
		       started, writer);
	}
	pt_store_list_free(l);
	return PT_EXIT_OK;
}

/* ---- show --------------------------------------------------------------- */

static void print_result(const struct pt_store_result *x)
{
	printf("  %-18s %s  (attempt %u, rc %d, ",
	       pt_outcome_name(x->r.outcome), x->job_id, x->r.attempt,
	       x->r.return_code);
	if (x->r.duration >= 0)
		printf("%.3f s)", x->r.duration);
	else
		printf("duration unknown)");
	if (x->r.comments)
		printf(" %s", x->r.comments);
	putchar('\n');
}

static int print_rec(void *ctx, const struct pt_iolog_record *rec)
{
	(void)ctx;
	printf("%10.3f %s| ", (double)rec->offset_ns / 1e9,
	       rec->stream == PT_STREAM_STDOUT ? "out" : "err");
	fwrite(rec->data, 1, rec->len, stdout);
	if (!rec->len || ((const char *)rec->data)[rec->len - 1] != '\n')
		putchar('\n');
	return 0;
}

static int show_logs(struct pt_store *s, const struct pt_store_state *st,
		     const char *job)
{
	struct pt_diags *d = NULL;
	int r = 0;

	if (pt_diags_new(&d) < 0)
		return -1;
	for (size_t i = 0; i < st->n_results; i++) {
		const struct pt_store_result *x = &st->results[i];

		if ((job && strcmp(x->job_id, job)) || !x->r.io_log)
			continue;
		printf("== %s attempt %u: %s\n", x->job_id, x->r.attempt,
		       x->r.io_log);
		r = pt_store_iolog_read(s, x->r.io_log, print_rec, NULL, d);
		if (r < 0) {
			report("show", r, d, x->r.io_log);
			break;
		}
	}
	pt_diags_free(d);
	return r;
}

static void show_session(const struct pt_store_state *st, int lock_pid)
{
	const struct pt_store_meta *m = &st->meta;
	char flags[512], t[32];

	join_flags(m, flags, sizeof(flags));
	printf("session   %s\n", st->id);
	printf("title     %s\n", m->title ? m->title : "-");
	printf("flags     %s\n", flags);
	fmt_time(m->started_ns, t, sizeof(t));
	printf("started   %s\n", t);
	printf("progress  %zu results, %zu jobs planned\n", st->n_results,
	       m->total_jobs ? m->total_jobs : st->n_desired);
	printf("running   %s\n", m->running_job ? m->running_job : "-");
	printf("app id    %s\n", m->app_id ? m->app_id : "-");
	printf("plan     ");
	for (size_t i = 0; i < m->n_plan; i++) {
		const char *v = m->plan[i].value;
		/* one line: a launcher's text is shown by its size */
		if (strchr(v, '\n'))
			printf(" %s=(%zu bytes)", m->plan[i].key, strlen(v));
		else
			printf(" %s=%s", m->plan[i].key, v);
	}
	printf("%s\n", m->n_plan ? "" : " -");
	if (lock_pid > 0)
		printf("writer    pid %d\n", lock_pid);
	else
		printf("writer    -\n");
	printf("jobs      %zu in the snapshot, %zu desired, %zu rejected\n",
	       st->n_jobs, st->n_desired, m->n_rejected);
	printf("results\n");
	for (size_t i = 0; i < st->n_results; i++)
		print_result(&st->results[i]);
}

static int show_job(struct pt_store *s, const struct pt_store_state *st,
		    const char *job)
{
	const struct pt_store_job *j = NULL;
	char *text = NULL;
	size_t n = 0;

	for (size_t i = 0; i < st->n_jobs; i++)
		if (!strcmp(st->jobs[i].id, job))
			j = &st->jobs[i];
	for (size_t i = 0; i < st->n_results; i++)
		n += !strcmp(st->results[i].job_id, job);
	if (!j && !n) {
		pt_tool_err("show", "no job '%s' in session %s", job, st->id);
		return PT_EXIT_FAILURES;
	}
	printf("job       %s\n", job);
	if (j) {
		printf("checksum  %s\n", j->checksum);
		printf("origin    %s\n", j->origin ? j->origin : "-");
		printf("flags    %s%s%s%s\n",
		       j->flags & PT_STORE_JOB_NORETURN ? " noreturn" : "",
		       j->flags & PT_STORE_JOB_GENERATED ? " generated" : "",
		       j->flags & PT_STORE_JOB_RESOURCE ? " resource" : "",
		       j->flags ? "" : " -");
	}
	printf("running   %s\n",
	       st->meta.running_job && !strcmp(st->meta.running_job, job)
		       ? "yes"
		       : "no");
	printf("results\n");
	for (size_t i = 0; i < st->n_results; i++)
		if (!strcmp(st->results[i].job_id, job))
			print_result(&st->results[i]);
	for (size_t i = 0; i < st->n_resources; i++) {
		const struct pt_store_resource *x = &st->resources[i];
		if (strcmp(x->job_id, job))
			continue;
		printf("resource records\n");
		for (size_t k = 0; k < x->n_records; k++) {
			for (size_t f = 0; f < x->records[k].n; f++)
				printf("  %s: %s\n", x->records[k].kv[f].key,
				       x->records[k].kv[f].value);
			printf("\n");
		}
	}
	if (pt_store_job_text(s, job, &text) == 0) {
		printf("unit\n%s", text);
		if (*text && text[strlen(text) - 1] != '\n')
			putchar('\n');
		pt_free(text);
	}
	return PT_EXIT_OK;
}

int pt_cmd_show(int argc, char **argv)
{
	static const struct option opts[] = { REPO_OPT,
					      { "job", required_argument, NULL,
						'j' },
					      { "log", no_argument, NULL, 'l' },
					      { 0, 0, 0, 0 } };
	const char *repo = NULL, *job = NULL, *name = NULL;
	struct pt_store_state *st = NULL;
	struct pt_store_info *info = NULL;
	struct pt_store *s = NULL;
	struct pt_diags *d = NULL;
	bool log = false;
	int c, r, rc = PT_EXIT_OK;

	if (want_help(argc, argv)) {
		printf("usage: proctor show [SESSION] [--job ID] [--log] "
		       "[--repository DIR]\n\n"
		       "Shows a session (default: last-session): metadata "
		       "and every result in commit\norder. --job ID shows one "
		       "job: snapshot entry, results, resource records\nand "
		       "unit text. --log prints the io logs (of that job, or "
		       "of all jobs).\nReading never blocks a running "
		       "writer.\n");
		return PT_EXIT_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "R:j:l", opts, NULL)) != -1) {
		if (c == 'R')
			repo = optarg;
		else if (c == 'j')
			job = optarg;
		else if (c == 'l')
			log = true;
		else
			return pt_tool_usage_err("show", "bad option");
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return pt_tool_usage_err("show", "unexpected argument '%s'",
					 argv[optind]);
	if (pt_diags_new(&d) < 0)
		return PT_EXIT_FAILURES;
	r = pt_store_open(repo, name, PT_STORE_READ, d, &s);
	if (r == 0)
		r = pt_store_load(s, &st);
	if (r < 0) {
		rc = report("show", r, d, name ? name : "last-session");
		goto out;
	}
	if (job)
		rc = show_job(s, st, job);
	else if (!log) {
		if (pt_store_peek(repo, st->id, NULL, &info) < 0)
			info = NULL;
		show_session(st, info ? info->lock_pid : 0);
	}
	if (rc == PT_EXIT_OK && log && show_logs(s, st, job) < 0)
		rc = PT_EXIT_STORAGE;
out:
	pt_store_info_free(info);
	pt_store_state_free(st);
	pt_store_free(s);
	pt_diags_free(d);
	return rc;
}

/* ---- rm, break-lock ----------------------------------------------------- */

/* Parses [--repository DIR] SESSION (required) for rm and break-lock. */
static int one_session_args(const char *cmd, int argc, char **argv,
			    const char **repo, char **id)
{
	static const struct option opts[] = { REPO_OPT, { 0, 0, 0, 0 } };
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "R:", opts, NULL)) != -1) {
		if (c == 'R')
			*repo = optarg;
		else
			return pt_tool_usage_err(cmd, "bad option");
	}
	if (optind >= argc)
		return pt_tool_usage_err(cmd, "missing SESSION");
	if (optind + 1 < argc)
		return pt_tool_usage_err(cmd, "unexpected argument '%s'",
					 argv[optind + 1]);
	r = pt_store_resolve(*repo, argv[optind], id);
	if (r < 0) {
		pt_tool_err(cmd, "no session '%s'", argv[optind]);
		return PT_EXIT_FAILURES;
	}
	return PT_EXIT_OK;
}

int pt_cmd_rm(int argc, char **argv)
{
	const char *repo = NULL;
	struct pt_diags *d = NULL;
	char *id = NULL;
	int r, rc;

	if (want_help(argc, argv)) {
		printf("usage: proctor rm SESSION [--repository DIR]\n\n"
		       "Removes a session (SESSION may be 'last-session'). "
		       "Refused while a writer\nholds it.\n");
		return PT_EXIT_OK;
	}
	rc = one_session_args("rm", argc, argv, &repo, &id);
	if (rc != PT_EXIT_OK)
		return rc;
	if (pt_diags_new(&d) < 0) {
		pt_free(id);
		return PT_EXIT_FAILURES;
	}
	r = pt_store_remove(repo, id, d);
	if (r < 0)
		rc = report("rm", r, d, id);
	else
		printf("removed %s\n", id);
	pt_diags_free(d);
	pt_free(id);
	return rc;
}

int pt_cmd_break_lock(int argc, char **argv)
{
	const char *repo = NULL;
	struct pt_diags *d = NULL;
	char *id = NULL;
	int r, rc;

	if (want_help(argc, argv)) {
		printf("usage: proctor break-lock SESSION [--repository DIR]\n\n"
		       "Breaks a stale session lock: one still held (by a "
		       "descriptor leaked into\nanother process) although the "
		       "writer that took it is dead. A live writer's\nlock is "
		       "never broken (exit 4). A writer that died normally "
		       "leaves no lock.\n");
		return PT_EXIT_OK;
	}
	rc = one_session_args("break-lock", argc, argv, &repo, &id);
	if (rc != PT_EXIT_OK)
		return rc;
	if (pt_diags_new(&d) < 0) {
		pt_free(id);
		return PT_EXIT_FAILURES;
	}
	r = pt_store_break_lock(repo, id, d);
	if (r < 0)
		rc = report("break-lock", r, d, id);
	else if (r == 0)
		printf("%s is not locked\n", id);
	else
		printf("broke the stale lock of %s\n", id);
	pt_diags_free(d);
	pt_free(id);
	return rc;
}

/* ---- export, import ----------------------------------------------------- */

int pt_cmd_export(int argc, char **argv)
{
	static const struct option opts[] = { REPO_OPT,
					      { "output", required_argument,
						NULL, 'o' },
					      { 0, 0, 0, 0 } };
	const char *repo = NULL, *out = NULL, *name = NULL;
	struct pt_store *s = NULL;
	struct pt_diags *d = NULL;
	int c, r, rc = PT_EXIT_OK;

	if (want_help(argc, argv)) {
		printf("usage: proctor export [SESSION] -o FILE "
		       "[--repository DIR]\n\n"
		       "Writes a session (default: last-session) with its io "
		       "logs and attachments\nas a portable gzip-JSON "
		       "envelope, atomically. See docs/store.md.\n");
		return PT_EXIT_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "R:o:", opts, NULL)) != -1) {
		if (c == 'R')
			repo = optarg;
		else if (c == 'o')
			out = optarg;
		else
			return pt_tool_usage_err("export", "bad option");
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return pt_tool_usage_err("export", "unexpected argument '%s'",
					 argv[optind]);
	if (!out)
		return pt_tool_usage_err("export", "missing -o FILE");
	if (pt_diags_new(&d) < 0)
		return PT_EXIT_FAILURES;
	r = pt_store_open(repo, name, PT_STORE_READ, d, &s);
	if (r == 0)
		r = pt_store_export(s, out, d);
	if (r < 0)
		rc = report("export", r, d, name ? name : "last-session");
	else
		printf("exported %s to %s\n", pt_store_id(s), out);
	pt_store_free(s);
	pt_diags_free(d);
	return rc;
}

int pt_cmd_import(int argc, char **argv)
{
	static const struct option opts[] = { REPO_OPT, { 0, 0, 0, 0 } };
	const char *repo = NULL;
	struct pt_diags *d = NULL;
	char *id = NULL;
	int c, r, rc = PT_EXIT_OK;

	if (want_help(argc, argv)) {
		printf("usage: proctor import FILE [--repository DIR]\n\n"
		       "Creates a session from an envelope written by "
		       "'proctor export', keeping its\nid. Corrupt, truncated "
		       "or incompatible envelopes are refused (exit 4).\n");
		return PT_EXIT_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "R:", opts, NULL)) != -1) {
		if (c == 'R')
			repo = optarg;
		else
			return pt_tool_usage_err("import", "bad option");
	}
	if (optind >= argc)
		return pt_tool_usage_err("import", "missing FILE");
	if (optind + 1 < argc)
		return pt_tool_usage_err("import", "unexpected argument '%s'",
					 argv[optind + 1]);
	if (pt_diags_new(&d) < 0)
		return PT_EXIT_FAILURES;
	r = pt_store_import(repo, argv[optind], d, &id);
	if (r < 0)
		rc = report("import", r, d, argv[optind]);
	else
		printf("imported %s\n", id);
	pt_free(id);
	pt_diags_free(d);
	return rc;
}
