/*
 * tool/cmd-run.c - `proctor run`, `proctor resume`, `proctor report` and
 * `proctor why`: the glue between the unit loader, the session engine,
 * the store and the runner (docs/runner.md).
 *
 * The loop of a run:
 *  1. every run-list job without a result that can start is submitted to
 *     the runner (manual jobs are asked on the terminal, or skipped);
 *     a job that cannot start and whose inhibitors give an outcome
 *     (skipped-dependency, ...) gets that result at once;
 *  2. the runner's completions are committed to the store FIRST, then
 *     given to the session engine, which updates readiness: so no
 *     dependent starts, and nothing is reported, before its cause is
 *     durable;
 *  3. resource jobs feed the resource map and instantiate templates; the
 *     plan is then selected again so that generated jobs join the run.
 * SIGINT/SIGTERM arrive through a signalfd (no handler runs): the runner
 * stops starting jobs and terminates the running ones, which stay without
 * a result (not run), and the command exits 130; `proctor resume`
 * continues the session.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <proctor/proctor.h>

#include "cmd.h"

/* Bytes of a resource job's or attachment job's stdout that are used. */
#define STDOUT_LIMIT (16u << 20)
/* The end of a *-verify job's output shown to the operator. */
#define VERIFY_SHOW (4u << 10)

struct strv {
	char **v;
	size_t n, cap;
};

static int strv_add(struct strv *s, const char *x)
{
	if (s->n + 1 >= s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = strdup(x);
	if (!s->v[s->n])
		return -ENOMEM;
	s->v[++s->n] = NULL;
	return 0;
}

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Options of run and resume. */
struct opts {
	struct strv paths;
	const char *plan;
	const char *ns; /* namespace of unit files given directly */
	struct strv include, exclude;
	unsigned jobs;
	double timeout;
	bool keep_tmp;
	unsigned repeat;
	bool until_fail;
	bool shuffle;
	uint64_t seed;
	bool seed_given;
	bool fail_fast;
	unsigned retries;
	bool non_interactive;
	struct strv reports; /* "FORMAT:PATH" */
	bool rerun_failed;
	bool accept_changed;
	int ports; /* TCP ports per job; -1: the runner's default */
};

/* Per session job: what this process did with it. */
struct jst {
	bool submitted; /* in the runner now */
	bool done;	/* has its final result */
	bool looking;	/* its run-list position is in ctx.look */
	size_t pos;	/* its run-list position; NOT_LISTED if none */
	unsigned attempt;
	unsigned runs, fails; /* --repeat */
	uint64_t order;	      /* shuffled order key */
};

struct ctx {
	const char *cmd;
	struct opts *o;
	struct pt_units *u;
	struct pt_diags *diags;
	struct pt_session *s;
	struct pt_store *st;
	struct pt_runner *r;
	struct jst *js;
	size_t njs;
	regex_t *inc, *exc;
	size_t ninc, nexc;
	bool tty, interrupted, failed_fast, storage_error;
	int64_t progress_ns; /* when the status line was last drawn */
	bool readonly;	     /* why, report: the store is opened for reading */
	size_t n_done, n_fail, n_total;
	/*
	 * Run-list positions schedule() must look at, a min-heap: all of
	 * them when the run list is made, then those of jobs whose
	 * readiness changed (the session's readiness_changed callback).
	 * Looking at every unfinished job after each result was O(N) per
	 * result: O(N^2) for a run of N independent jobs.
	 */
	size_t *look, n_look, cap_look;
	int sfd;
	char *sess_dir;
	struct pt_store_durations *dur; /* learned from earlier sessions */
	/* Results waiting in the store's commit group (pt_store_group_add):
	 * reported and given to the session only once it is committed. */
	struct waiting {
		size_t k;
		struct pt_result res; /* comments, io_log owned */
	} * wait;
	size_t n_wait;
};

/* ---- small helpers */

static uint64_t random_seed(void)
{
	uint64_t x = 0;

	if (getrandom(&x, sizeof(x), 0) != sizeof(x))
		x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return x % 1000000000000ull; /* short enough to retype */
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int compile_res(const char *cmd, const struct strv *v, regex_t **ret)
{
	regex_t *re = calloc(v->n ? v->n : 1, sizeof(*re));

	if (!re)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		size_t len = strlen(v->v[i]) + 8;
		char *a = malloc(len);
		int e;

		if (!a)
			return -ENOMEM;
		/* Patterns match whole ids, as PlainBox's do. */
		snprintf(a, len, "^(%s)$", v->v[i]);
		e = regcomp(&re[i], a, REG_EXTENDED | REG_NOSUB);
		free(a);
		if (e) {
			char msg[128];
			regerror(e, &re[i], msg, sizeof(msg));
			pt_tool_usage_err(cmd, "bad pattern '%s': %s", v->v[i],
					  msg);
			for (size_t k = 0; k < i; k++)
				regfree(&re[k]);
			free(re);
			return PT_EXIT_USAGE;
		}
	}
	*ret = re;
	return 0;
}

static bool matches_any(const regex_t *re, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++) {
		if (regexec(&re[i], id, 0, NULL, 0) == 0)
			return true;
	}
	return false;
}

static bool is_fail(enum pt_outcome o)
{
	return !strcmp(pt_outcome_class(o), "fail");
}

static bool is_manual(const struct pt_job *j)
{
	return j->plugin == PT_PLUGIN_MANUAL ||
	       j->plugin == PT_PLUGIN_USER_INTERACT ||
	       j->plugin == PT_PLUGIN_USER_VERIFY ||
	       j->plugin == PT_PLUGIN_USER_INTERACT_VERIFY;
}

#define NOT_LISTED SIZE_MAX

/* ---- which run-list positions to look at (see ctx.look) */

static int look_push(struct ctx *c, size_t pos)
{
	size_t i;

	if (c->n_look == c->cap_look) {
		size_t cap = c->cap_look ? 2 * c->cap_look : 64;
		size_t *v = realloc(c->look, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->look = v;
		c->cap_look = cap;
	}
	for (i = c->n_look++; i > 0 && c->look[(i - 1) / 2] > pos;
	     i = (i - 1) / 2)
		c->look[i] = c->look[(i - 1) / 2];
	c->look[i] = pos;
	return 0;
}

static void look_pop(struct ctx *c)
{
	size_t last = c->look[--c->n_look], i = 0;

	for (;;) {
		size_t m = 2 * i + 1;

		if (m >= c->n_look)
			break;
		if (m + 1 < c->n_look && c->look[m + 1] < c->look[m])
			m++;
		if (c->look[m] >= last)
			break;
		c->look[i] = c->look[m];
		i = m;
	}
	if (c->n_look)
		c->look[i] = last;
}

/* The session's readiness_changed: look at the job again. */
static void on_readiness(void *ctx, struct pt_session *s, size_t job)
{
	struct ctx *c = ctx;
	struct jst *js = job < c->njs ? &c->js[job] : NULL;

	(void)s;
	if (!js || js->pos == NOT_LISTED || js->looking || js->done)
		return;
	/* Out of memory: the job is looked at when the list is remade. */
	if (look_push(c, js->pos) == 0)
		js->looking = true;
}

/* The run list was (re)made: positions change, look at every job. */
static int look_all(struct ctx *c)
{
	size_t n = pt_session_run_list_count(c->s);

	c->n_look = 0;
	for (size_t k = 0; k < c->njs; k++) {
		c->js[k].pos = NOT_LISTED;
		c->js[k].looking = false;
	}
	/* Ascending positions: each push is already in heap order. */
	for (size_t i = 0; i < n; i++) {
		size_t k = pt_session_run_list_get(c->s, i);
		int r;

		if (k >= c->njs)
			continue;
		c->js[k].pos = i;
		if ((r = look_push(c, i)) < 0)
			return r;
		c->js[k].looking = true;
	}
	return 0;
}

static int grow_js(struct ctx *c)
{
	size_t n = pt_session_job_count(c->s);

	if (n > c->njs) {
		struct jst *js = realloc(c->js, n * sizeof(*js));
		if (!js)
			return -ENOMEM;
		memset(js + c->njs, 0, (n - c->njs) * sizeof(*js));
		for (size_t k = c->njs; k < n; k++)
			js[k].pos = NOT_LISTED;
		c->js = js;
		c->njs = n;
	}
	return 0;
}

/* ---- selection */

/*
 * The desired list: the plan's (bootstrap first), or every job. The jobs
 * an -x pattern removed are the session's rejected jobs.
 */
static int select_desired(struct ctx *c, struct strv *desired,
			  struct strv *mandatory, struct strv *rejected)
{
	size_t n = pt_units_job_count(c->u);
	int r = 0;

	strv_free(desired);
	strv_free(mandatory);
	strv_free(rejected);
	if (c->o->plan) {
		struct pt_plan_selection *sel = NULL;

		r = pt_plan_select(c->u, c->o->plan, NULL, 0, c->diags, &sel);
		if (r < 0)
			return r;
		for (size_t i = 0; i < sel->bootstrap.n && !r; i++)
			r = strv_add(desired, sel->bootstrap.v[i]);
		for (size_t i = 0; i < sel->desired.n && !r; i++) {
			const char *id = sel->desired.v[i];
			if (c->ninc && !matches_any(c->inc, c->ninc, id))
				continue;
			if (matches_any(c->exc, c->nexc, id)) {
				r = strv_add(rejected, id);
				continue;
			}
			r = strv_add(desired, id);
		}
		for (size_t i = 0; i < sel->mandatory.n && !r; i++)
			r = strv_add(mandatory, sel->mandatory.v[i]);
		pt_plan_selection_free(sel);
		return r;
	}
	for (size_t i = 0; i < n && !r; i++) {
		const char *id = pt_units_job(c->u, i)->id;
		if (c->ninc && !matches_any(c->inc, c->ninc, id))
			continue;
		if (matches_any(c->exc, c->nexc, id)) {
			r = strv_add(rejected, id);
			continue;
		}
		r = strv_add(desired, id);
	}
	return r;
}

/* Solves the session for the current selection and stores the list. */
static int resolve(struct ctx *c)
{
	struct strv desired = { 0 }, mandatory = { 0 }, rejected = { 0 };
	int r = select_desired(c, &desired, &mandatory, &rejected);

	if (r == 0)
		r = pt_session_set_mandatory(
			c->s, (const char *const *)mandatory.v, mandatory.n);
	if (r == 0)
		r = pt_session_set_rejected(
			c->s, (const char *const *)rejected.v, rejected.n);
	if (r == 0 && c->st && c->nexc)
		r = pt_store_set_rejected(
			c->st, (const char *const *)rejected.v, rejected.n);
	if (r == 0)
		r = pt_session_set_desired(c->s, (const char *const *)desired.v,
					   desired.n, true);
	if (r >= 0 && c->st) {
		size_t n = pt_session_desired_count(c->s);
		const char **ids = calloc(n + 1, sizeof(*ids));

		if (!ids)
			r = -ENOMEM;
		for (size_t i = 0; ids && i < n; i++)
			ids[i] = pt_session_desired_id(c->s, i);
		if (ids)
			r = pt_store_set_desired(c->st, ids, n);
		free(ids);
		if (r == 0)
			r = pt_store_set_total(c->st,
					       pt_session_run_list_count(c->s));
	}
	strv_free(&desired);
	strv_free(&mandatory);
	strv_free(&rejected);
	if (r >= 0)
		r = grow_js(c);
	c->n_total = pt_session_run_list_count(c->s);
	if (r >= 0)
		r = look_all(c); /* the run list changed */
	return r < 0 ? r : 0;
}

/* ---- the store snapshot */

static int put_jobs(struct ctx *c, size_t from)
{
	size_t n = pt_units_job_count(c->u);
	struct pt_store_job *v;
	char(*origin)[600];
	int r;

	if (from >= n || !c->st || c->readonly)
		return 0;
	v = calloc(n - from, sizeof(*v));
	origin = calloc(n - from, sizeof(*origin));
	if (!v || !origin) {
		free(v);
		free(origin);
		return -ENOMEM;
	}
	for (size_t i = from; i < n; i++) {
		const struct pt_job *j = pt_units_job(c->u, i);
		struct pt_store_job *x = &v[i - from];

		snprintf(origin[i - from], sizeof(origin[0]), "%s:%u",
			 j->file ? j->file : "?", j->line);
		x->id = j->id;
		x->checksum = j->checksum;
		x->origin = origin[i - from];
		x->flags =
			((j->flags & PT_JOB_NORETURN) ? PT_STORE_JOB_NORETURN
						      : 0) |
			(j->template_id ? PT_STORE_JOB_GENERATED : 0) |
			(j->plugin == PT_PLUGIN_RESOURCE ? PT_STORE_JOB_RESOURCE
							 : 0);
	}
	r = pt_store_put_jobs(c->st, v, n - from);
	free(v);
	free(origin);
	return r;
}

/* ---- resource jobs */

struct recset {
	struct pt_records *recs;
	struct pt_resource_record *rr;
	struct pt_store_record *sr;
	size_t n;
};

static void recset_free(struct recset *x)
{
	for (size_t i = 0; x->rr && i < x->n; i++) {
		free((void *)(uintptr_t)x->rr[i].keys);
		free((void *)(uintptr_t)x->rr[i].values);
	}
	for (size_t i = 0; x->sr && i < x->n; i++)
		free((void *)(uintptr_t)x->sr[i].kv);
	free(x->rr);
	free(x->sr);
	pt_records_free(x->recs);
	memset(x, 0, sizeof(*x));
}

/* Absolute path of a session-relative io log path. */
static char *abs_path(struct ctx *c, const char *rel)
{
	char *p;

	if (!rel)
		return NULL;
	if (rel[0] == '/' || !c->sess_dir)
		return strdup(rel);
	if (asprintf(&p, "%s/%s", c->sess_dir, rel) < 0)
		return NULL;
	return p;
}

/* The records a resource job printed (spec §3.6). */
static int parse_records(struct ctx *c, const char *id, const char *io_log,
			 struct recset *x)
{
	char *path = abs_path(c, io_log), *out = NULL;
	size_t len = 0;
	int r;

	memset(x, 0, sizeof(*x));
	r = pt_runner_iolog_read(path, PT_STREAM_STDOUT, STDOUT_LIMIT, &out,
				 &len, NULL);
	free(path);
	if (r < 0)
		return r;
	r = pt_rfc822_parse(out, len, id, NULL, NULL, &x->recs);
	pt_free(out);
	if (r < 0)
		return r;
	x->n = pt_records_count(x->recs);
	x->rr = calloc(x->n + 1, sizeof(*x->rr));
	x->sr = calloc(x->n + 1, sizeof(*x->sr));
	if (!x->rr || !x->sr)
		return -ENOMEM;
	for (size_t i = 0; i < x->n; i++) {
		const struct pt_rfc822_record *rec = pt_records_get(x->recs, i);
		const char **k = calloc(rec->n + 1, sizeof(*k));
		const char **v = calloc(rec->n + 1, sizeof(*v));
		struct pt_store_kv *kv = calloc(rec->n + 1, sizeof(*kv));

		x->rr[i].keys = k;
		x->rr[i].values = v;
		x->sr[i].kv = kv;
		if (!k || !v || !kv)
			return -ENOMEM;
		for (size_t f = 0; f < rec->n; f++) {
			k[f] = kv[f].key = rec->fields[f].key;
			v[f] = kv[f].value = rec->fields[f].value;
		}
		x->rr[i].n = x->sr[i].n = rec->n;
	}
	return 0;
}

/*
 * After a resource job's result: the session engine has instantiated the
 * templates fed by it (pt_session_attach_units); the new jobs go to the
 * store's snapshot and the plan is selected again (the generated jobs may
 * be selected by it).
 */
static int after_resource(struct ctx *c, size_t before, size_t nd)
{
	int r;

	pt_tool_print_diags(stderr, c->diags, nd);
	if (pt_units_job_count(c->u) == before)
		return 0;
	r = put_jobs(c, before);
	if (r == 0)
		r = grow_js(c);
	if (r == 0)
		r = resolve(c);
	return r;
}

/*
 * A job's expected duration: its estimated_duration, else the duration
 * learned from earlier sessions of the repository; 0 when unknown.
 */
static double estimate(const struct ctx *c, const struct pt_job *j)
{
	const struct pt_store_duration *d;

	if (j->estimated_duration > 0)
		return j->estimated_duration;
	d = pt_store_durations_find(c->dur, j->id);
	return d ? d->duration : 0;
}

/* ---- output */

/*
 * The status line. The ETA walks the run list, so the line is redrawn at
 * most every 100 ms: a 100k-job run does not pay O(N) per result.
 */
static void progress(struct ctx *c)
{
	double eta = 0;
	size_t running = pt_runner_running(c->r);
	struct timespec now;
	int64_t now_ns;

	if (!c->tty)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	if (c->progress_ns && now_ns - c->progress_ns < 100000000)
		return;
	c->progress_ns = now_ns;
	for (size_t i = 0; i < pt_session_run_list_count(c->s); i++) {
		size_t k = pt_session_run_list_get(c->s, i);
		const struct pt_job *j = pt_session_job(c->s, k);
		if (k < c->njs && !c->js[k].done)
			eta += estimate(c, j);
	}
	eta /= c->o->jobs ? c->o->jobs : 1;
	fprintf(stderr, "\r\033[K[%zu/%zu] running %zu, failed %zu", c->n_done,
		c->n_total, running, c->n_fail);
	if (eta > 0)
		fprintf(stderr, ", ETA %.0fs", eta);
	fflush(stderr);
}

static void print_result(struct ctx *c, const struct pt_job *j,
			 const struct pt_result *res)
{
	if (c->tty)
		fprintf(stderr, "\r\033[K");
	printf("%s %s", pt_outcome_name(res->outcome), j->id);
	if (res->attempt > 1)
		printf(" (attempt %u)", res->attempt);
	if (res->outcome == PT_OUTCOME_FAIL && !res->comments)
		printf(": exit code %d", res->return_code);
	else if (res->comments)
		printf(": %s", res->comments);
	if (c->tty && res->duration > 0)
		printf(" [%.2fs]", res->duration);
	printf("\n");
	fflush(stdout);
	progress(c);
}

/* ---- results */

/* After its commit: tells the session, counts and prints a result. */
static int apply(struct ctx *c, size_t k, const struct pt_result *res,
		 struct recset *x)
{
	const struct pt_job *j = pt_session_job(c->s, k);
	size_t before = pt_units_job_count(c->u), nd = pt_diags_count(c->diags);
	int r;

	r = pt_session_set_result(c->s, k, res, x ? x->rr : NULL, x ? x->n : 0);
	if (r < 0)
		return r;
	c->js[k].done = true;
	c->n_done++;
	if (is_fail(res->outcome))
		c->n_fail++;
	print_result(c, j, res);
	if (j->plugin == PT_PLUGIN_RESOURCE)
		r = after_resource(c, before, nd);
	if (c->o->fail_fast && is_fail(res->outcome) && !c->failed_fast) {
		c->failed_fast = true;
		pt_runner_cancel(c->r, false);
	}
	return r;
}

/* job_id NULL: the waiting results of several jobs. */
static void storage_failed(struct ctx *c, const char *job_id, int r)
{
	if (job_id)
		pt_tool_err(c->cmd, "cannot commit the result of %s: %s",
			    job_id, pt_strerror(r));
	else
		pt_tool_err(c->cmd, "cannot commit the results of %zu jobs: %s",
			    c->n_wait, pt_strerror(r));
	c->storage_error = true;
}

/*
 * Commits the waiting results (one transaction), then applies them in
 * the order they came. On a storage error they are lost (never
 * reported): the run stops, and resume runs those jobs again.
 */
static int flush_waiting(struct ctx *c)
{
	int r = 0;

	if (c->st && pt_store_group_pending(c->st))
		r = pt_store_group_commit(c->st);
	if (r < 0)
		storage_failed(c, NULL, r);
	for (size_t i = 0; i < c->n_wait; i++) {
		struct waiting *w = &c->wait[i];

		if (r == 0)
			r = apply(c, w->k, &w->res, NULL);
		free((char *)(uintptr_t)w->res.comments);
		free((char *)(uintptr_t)w->res.io_log);
	}
	c->n_wait = 0;
	return r;
}

/*
 * Whether a final result may wait in the commit group: at -jN only (-j1
 * is PlainBox's order, one commit per job), a plain shell job's short
 * pass (pt_store_group_may_wait), nothing that carries more data.
 */
static bool may_wait(const struct ctx *c, const struct pt_job *j,
		     const struct pt_result *res, const struct recset *x)
{
	return c->st && c->wait && c->o->jobs != 1 && !x &&
	       j->plugin == PT_PLUGIN_SHELL && !(j->flags & PT_JOB_NORETURN) &&
	       pt_store_group_may_wait(res);
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

/*
 * Commits a result (durable first), then tells the session. records may
 * be NULL. A short pass may wait in the store's commit group instead
 * (flush_waiting applies it). Returns 0 or an error (storage: the run
 * stops).
 */
static int record(struct ctx *c, size_t k, const struct pt_result *res,
		  struct recset *x, bool final)
{
	const struct pt_job *j = pt_session_job(c->s, k);
	int r = 0;

	if (final && may_wait(c, j, res, x)) {
		struct waiting *w = &c->wait[c->n_wait];
		bool oom = false;

		r = pt_store_group_add(c->st, j->id, res);
		if (r < 0) {
			storage_failed(c, j->id, r);
			return r;
		}
		c->js[k].done = true; /* not to be started again meanwhile */
		w->k = k;
		w->res = *res;
		w->res.comments = dup_or_null(res->comments, &oom);
		w->res.io_log = dup_or_null(res->io_log, &oom);
		c->n_wait++;
		if (oom)
			return -ENOMEM;
		/* Full (c->wait holds PT_STORE_GROUP_MAX): commit it now. */
		return (size_t)r >= PT_STORE_GROUP_MAX ? flush_waiting(c) : 0;
	}
	/* What waits is committed, and reported, first: the order holds. */
	r = flush_waiting(c);
	if (r < 0)
		return r;
	if (c->st) {
		if (x && j->plugin == PT_PLUGIN_RESOURCE)
			r = pt_store_put_resource(c->st, j->id, x->sr, x->n);
		if (r == 0)
			r = pt_store_commit_result(c->st, j->id, res,
						   (j->flags & PT_JOB_NORETURN)
							   ? PT_SYNC_FULL
							   : PT_SYNC_NORMAL);
		if (r < 0) {
			storage_failed(c, j->id, r);
			return r;
		}
	}
	if (!final)
		return 0;
	return apply(c, k, res, x);
}

/* The inhibitors of a job as one line ("...; ..."). */
static void inhibitor_text(struct ctx *c, size_t k, char *buf, size_t size)
{
	size_t n = pt_session_inhibitor_count(c->s, k), used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && used + 3 < size; i++) {
		const struct pt_inhibitor *ib =
			pt_session_inhibitor(c->s, k, i);
		if (ib->cause == PT_INHIBIT_PENDING_DEP ||
		    ib->cause == PT_INHIBIT_PENDING_RESOURCE)
			continue; /* not the reason for a skip */
		if (used) {
			memcpy(buf + used, "; ", 3);
			used += 2;
		}
		pt_inhibitor_format(ib, buf + used, size - used);
		used += strlen(buf + used);
	}
}

static bool ask(const char *prompt, char *answer, size_t size)
{
	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	if (!fgets(answer, (int)size, stdin))
		return false;
	answer[strcspn(answer, "\n")] = 0;
	return true;
}

/*
 * What the operator of a *-verify job sees before the verdict: how its
 * command ended and the end of its output (stdout and stderr as they
 * came), since the output went to the io log, not to the terminal.
 */
static void show_run(struct ctx *c, const struct pt_result *res)
{
	char *path = abs_path(c, res->io_log), *out = NULL;
	size_t len = 0;
	bool cut = false;

	if (res->outcome == PT_OUTCOME_PASS)
		fprintf(stderr, "-- the command passed\n");
	else if (res->comments)
		fprintf(stderr, "-- the command ended: %s: %s\n",
			pt_outcome_name(res->outcome), res->comments);
	else
		fprintf(stderr, "-- the command ended: %s: exit code %d\n",
			pt_outcome_name(res->outcome), res->return_code);
	if (path &&
	    pt_runner_iolog_read(path, PT_STREAM_STDOUT | PT_STREAM_STDERR,
				 VERIFY_SHOW, &out, &len, &cut) == 0 &&
	    len) {
		fprintf(stderr, "-- its output%s:\n",
			cut ? " (the last 4 KiB)" : "");
		fwrite(out, 1, len, stderr);
		if (out[len - 1] != '\n')
			fputc('\n', stderr);
	} else {
		fprintf(stderr, "-- it printed nothing\n");
	}
	pt_free(out);
	free(path);
}

/*
 * An operator's verdict on a manual or *-verify job (ran: the result of
 * its command, NULL for a manual job). The operator decides, whatever
 * the command's outcome (PlainBox resets it to "undecided").
 */
static void verdict(struct ctx *c, const struct pt_job *j,
		    const struct pt_result *ran, struct pt_result *res,
		    char *comment, size_t size)
{
	char a[64];

	if (c->tty)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "\n== %s%s%s\n", j->id, j->summary ? ": " : "",
		j->summary ? j->summary : "");
	if (j->description)
		fprintf(stderr, "%s\n", j->description);
	if (ran)
		show_run(c, ran);
	for (;;) {
		if (!ask("outcome? [p]ass, [f]ail, [s]kip: ", a, sizeof(a))) {
			res->outcome = PT_OUTCOME_SKIP;
			res->comments = comment;
			snprintf(comment, size, "no answer from the operator");
			return;
		}
		if (a[0] == 'p' || a[0] == 'f' || a[0] == 's')
			break;
	}
	res->outcome = a[0] == 'p'   ? PT_OUTCOME_PASS
		       : a[0] == 'f' ? PT_OUTCOME_FAIL
				     : PT_OUTCOME_SKIP;
	res->comments = NULL;
	if (ask("comment (optional): ", comment, size) && comment[0])
		res->comments = comment;
}

static bool can_ask(struct ctx *c)
{
	return !c->o->non_interactive && isatty(0) && isatty(2);
}

static int submit(struct ctx *c, size_t k, unsigned attempt)
{
	const struct pt_job *j = pt_session_job(c->s, k);
	struct pt_run_request q = {
		.job = j,
		.order = c->js[k].order,
		.estimate = estimate(c, j),
		.attempt = attempt,
		.udata = (void *)(uintptr_t)k,
	};
	int r = pt_runner_submit(c->r, &q);

	if (r == 0) {
		c->js[k].submitted = true;
		c->js[k].attempt = attempt;
	}
	return r;
}

/* Starts what can start, records what is blocked. Returns 1 if it acted. */
static int schedule(struct ctx *c)
{
	size_t n = pt_session_run_list_count(c->s);
	int acted = 0, r;

	if (c->interrupted || c->failed_fast || c->storage_error)
		return 0;
	while (c->n_look) {
		size_t i = c->look[0], k;
		const struct pt_job *j;
		struct jst *js;

		if (i >= n) { /* cannot happen: look_all follows the list */
			look_pop(c);
			continue;
		}
		k = pt_session_run_list_get(c->s, i);
		j = pt_session_job(c->s, k);
		js = &c->js[k];
		if (js->done || js->submitted) {
			look_pop(c);
			js->looking = false;
			continue;
		}
		if (pt_session_result(c->s, k)->outcome != PT_OUTCOME_NONE) {
			look_pop(c);
			js->looking = false;
			js->done = true; /* resumed */
			continue;
		}
		/*
		 * -j1 is PlainBox's order exactly: nothing after the job in
		 * the runner is looked at (not even a manual or a blocked one)
		 * before that job is done.
		 */
		if (c->o->jobs == 1 &&
		    pt_runner_queued(c->r) + pt_runner_running(c->r) > 0)
			break;
		/* Looked at now; again only when its readiness changes. */
		look_pop(c);
		js->looking = false;
		if (!c->o->shuffle)
			js->order = i + 1;
		if (pt_session_can_start(c->s, k)) {
			if (is_manual(j) && !can_ask(c)) {
				struct pt_result res = {
					.outcome = PT_OUTCOME_SKIP,
					.duration = 0,
					.attempt = 1,
					.started_ns = wall_ns(),
					.comments =
						c->o->non_interactive
							? "needs an operator: "
							  "skipped "
							  "(--non-interactive)"
							: "needs an operator: "
							  "skipped (no "
							  "terminal)",
				};
				r = record(c, k, &res, NULL, true);
				if (r < 0)
					return r;
				return 1; /* readiness changed: rescan */
			}
			if (j->plugin == PT_PLUGIN_MANUAL) {
				struct pt_result res = { .attempt = 1,
							 .started_ns =
								 wall_ns() };
				char comment[512];
				double t0 = now_s();

				verdict(c, j, NULL, &res, comment,
					sizeof(comment));
				res.duration = now_s() - t0;
				r = record(c, k, &res, NULL, true);
				if (r < 0)
					return r;
				return 1;
			}
			if (j->plugin == PT_PLUGIN_USER_INTERACT ||
			    j->plugin == PT_PLUGIN_USER_INTERACT_VERIFY) {
				char a[8];
				fprintf(stderr, "\n== %s: %s\n", j->id,
					j->description ? j->description
						       : "ready");
				ask("press Enter to start: ", a, sizeof(a));
			}
			/* A job run again (--rerun-failed) counts on. */
			r = submit(c, k,
				   (unsigned)pt_session_result_history_count(
					   c->s, k) +
					   1);
			if (r < 0)
				return r;
			acted = 1;
			continue;
		}
		{
			enum pt_outcome o = pt_session_blocked_outcome(c->s, k);
			char why[1024];
			struct pt_result res = { .outcome = o,
						 .duration = 0,
						 .attempt = 1,
						 .started_ns = wall_ns() };

			if (o == PT_OUTCOME_NONE)
				continue;
			inhibitor_text(c, k, why, sizeof(why));
			res.comments = why[0] ? why : NULL;
			r = record(c, k, &res, NULL, true);
			if (r < 0)
				return r;
			return 1;
		}
	}
	return acted;
}

static bool needs_verdict(const struct pt_job *j)
{
	return j->plugin == PT_PLUGIN_USER_VERIFY ||
	       j->plugin == PT_PLUGIN_USER_INTERACT_VERIFY;
}

static int on_done(struct ctx *c, const struct pt_run_done *d)
{
	size_t k = (size_t)(uintptr_t)d->udata;
	const struct pt_job *j = pt_session_job(c->s, k);
	struct jst *js = &c->js[k];
	struct pt_result res = d->result;
	struct recset x = { 0 };
	char comment[1024];
	bool final = true, retry = false;
	int r = 0;

	js->submitted = false;
	if (!d->started || (res.outcome == PT_OUTCOME_NONE && c->interrupted))
		return 0; /* not run: no result, resume runs it */
	if (j->plugin == PT_PLUGIN_RESOURCE) {
		r = parse_records(c, j->id, res.io_log, &x);
		if (r < 0) {
			snprintf(comment, sizeof(comment),
				 "cannot read its records: %s", pt_strerror(r));
			res.comments = comment;
			recset_free(&x);
		}
	} else if (j->plugin == PT_PLUGIN_ATTACHMENT && c->st && res.io_log) {
		char *path = abs_path(c, res.io_log), *out = NULL;
		size_t len = 0;

		r = pt_runner_iolog_read(path, PT_STREAM_STDOUT, STDOUT_LIMIT,
					 &out, &len, NULL);
		if (r == 0)
			r = pt_store_attach(c->st, j->id, "stdout", out, len,
					    NULL);
		if (r < 0) {
			snprintf(comment, sizeof(comment),
				 "attachment not stored: %s", pt_strerror(r));
			res.comments = comment;
		}
		pt_free(out);
		free(path);
	} else if (needs_verdict(j) && can_ask(c)) {
		verdict(c, j, &d->result, &res, comment, sizeof(comment));
	}
	/* --repeat / --until-fail, then --retries */
	js->runs++;
	if (is_fail(res.outcome))
		js->fails++;
	if (c->o->repeat > 1 && js->runs < c->o->repeat &&
	    !(c->o->until_fail && js->fails))
		retry = true;
	else if (c->o->repeat <= 1 && is_fail(res.outcome) &&
		 js->attempt <= c->o->retries)
		retry = true;
	if (retry && !c->interrupted && !c->failed_fast) {
		final = false;
	} else if (c->o->repeat > 1 && js->fails && js->fails < js->runs) {
		snprintf(comment, sizeof(comment),
			 "flaky: failed %u of %u runs%s%s", js->fails, js->runs,
			 res.comments ? "; last: " : "",
			 res.comments ? res.comments : "");
		res.comments = comment;
		res.outcome = PT_OUTCOME_FAIL;
	} else if (c->o->repeat > 1 && js->fails && !is_fail(res.outcome)) {
		res.outcome = PT_OUTCOME_FAIL;
	}
	r = record(c, k, &res, x.recs ? &x : NULL, final);
	recset_free(&x);
	if (r < 0)
		return r;
	if (!final)
		r = submit(c, k, js->attempt + 1);
	return r;
}

/* ---- the loop */

static int block_signals(struct ctx *c)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	c->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return c->sfd < 0 ? -errno : 0;
}

static void on_signal(struct ctx *c)
{
	struct signalfd_siginfo si;

	while (read(c->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (c->interrupted) {
			/* Second signal: no more grace. */
			c->r = pt_runner_free(c->r);
			return;
		}
		c->interrupted = true;
		if (c->tty)
			fprintf(stderr, "\r\033[K");
		fprintf(stderr,
			"%s: %s: stopping; running jobs are "
			"terminated and recorded as not run\n",
			pt_progname, strsignal((int)si.ssi_signo));
		pt_runner_cancel(c->r, true);
	}
}

/* The earlier of two poll timeouts (-1: none). */
static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	return b < 0 || a < b ? a : b;
}

/*
 * How long the waiting results may still wait, in ms: -1 none wait, 0
 * commit them now (due, or a slot would idle).
 */
static int group_wait_ms(struct ctx *c)
{
	int64_t left;

	if (!c->n_wait)
		return -1;
	if (pt_runner_running(c->r) + pt_runner_queued(c->r) < c->o->jobs)
		return 0;
	left = pt_store_group_due_ns(c->st) - (int64_t)(now_s() * 1e9);
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

static int run_loop(struct ctx *c)
{
	int r;

	for (;;) {
		struct pt_run_done d;
		struct pollfd p[2];
		int t;

		while ((r = schedule(c)) == 1)
			;
		if (r < 0)
			return r;
		if (!c->r)
			return 0;
		/*
		 * Waiting results are committed when due, and before a slot
		 * would stay idle (a job that depends on them may be next).
		 */
		t = group_wait_ms(c);
		if (t == 0) {
			if ((r = flush_waiting(c)) < 0)
				return r;
			continue;
		}
		if (!pt_runner_running(c->r) && !pt_runner_queued(c->r)) {
			/* Nothing runs: done, unless a step hands something */
			r = pt_runner_step(c->r, 0, &d);
			if (r == 1) {
				if ((r = on_done(c, &d)) < 0)
					return r;
				continue;
			}
			return r;
		}
		p[0].fd = pt_runner_fd(c->r);
		p[0].events = POLLIN;
		p[1].fd = c->sfd;
		p[1].events = POLLIN;
		t = min_timeout(pt_runner_timeout(c->r), t);
		if (c->tty)
			t = min_timeout(t, 1000);
		if (t != 0 && poll(p, 2, t) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents & POLLIN)
			on_signal(c);
		if (!c->r)
			return 0;
		/*
		 * One completion at a time, scheduling after each: the jobs it
		 * made ready are submitted before the runner picks the next
		 * job to start (at -j1 the run-list order depends on it).
		 */
		r = pt_runner_step(c->r, 0, &d);
		if (r == 1 && (r = on_done(c, &d)) < 0)
			return r;
		if (r < 0)
			return r;
		progress(c);
	}
}

static int loop(struct ctx *c)
{
	int r, r2;

	if (c->st && c->o->jobs != 1)
		c->wait = calloc(PT_STORE_GROUP_MAX, sizeof(*c->wait));
	/* Whatever happened since the run list was made (resume, results
	 * cleared by --rerun-failed): every job is looked at first. */
	r = look_all(c);
	if (r == 0)
		r = run_loop(c);
	/* However the loop ended (done, interrupted, error), what waits is
	 * committed and reported. */
	r2 = flush_waiting(c);
	free(c->wait);
	c->wait = NULL;
	return r < 0 ? r : r2;
}

static int on_start(void *ctx, const struct pt_job *job, void *udata,
		    unsigned attempt)
{
	struct ctx *c = ctx;
	int r;

	(void)udata;
	/*
	 * The store keeps one running job, PlainBox's running_job_name: it
	 * is meaningful at -j1 (and for noreturn jobs, which run alone in
	 * effect). At -jN a job killed with the runner has no result and
	 * runs again on resume; recording every start would cost a
	 * transaction per job for nothing.
	 */
	if (!c->st || (c->o->jobs != 1 && !(job->flags & PT_JOB_NORETURN)))
		return 0;
	r = pt_store_set_running(c->st, job->id, attempt, wall_ns());
	/* A job that may not come back is recorded durably first. */
	if (r == 0 && (job->flags & PT_JOB_NORETURN)) {
		r = pt_store_begin(c->st);
		if (r == 0)
			r = pt_store_set_running(c->st, job->id, attempt,
						 wall_ns());
		if (r == 0)
			r = pt_store_commit(c->st, PT_SYNC_FULL);
	}
	return r;
}

/* io logs go to the store's session directory. */
static int log_open(void *ctx, const struct pt_job *job, unsigned attempt,
		    void **ret, const char **ret_path)
{
	struct ctx *c = ctx;
	struct pt_iolog *w = NULL;
	int r = pt_store_iolog_open(c->st, job->id, attempt, &w);

	if (r < 0)
		return r;
	*ret = w;
	*ret_path = pt_iolog_path(w);
	return 0;
}

static int log_append(void *ctx, void *log, int64_t off, enum pt_stream s,
		      const void *data, size_t len)
{
	(void)ctx;
	return pt_iolog_append(log, off, s, data, len);
}

static int log_close(void *ctx, void *log)
{
	(void)ctx;
	pt_iolog_free(log);
	return 0;
}

static int make_runner(struct ctx *c)
{
	static struct pt_runner_iolog_ops ops = { log_open, log_append,
						  log_close, NULL };
	struct pt_runner_config cfg;
	struct pt_diags *d = NULL;
	char cwd[PATH_MAX], *lock_dir = NULL;
	int r;

	if (c->st && !c->dur && pt_diags_new(&d) == 0) {
		/* A hint only: a damaged file is replaced at the end. */
		if (pt_store_durations_load(NULL, d, &c->dur) < 0) {
			pt_tool_print_diags(stderr, d, 0);
			pt_tool_err(c->cmd,
				    "warning: learned durations ignored");
		}
		pt_diags_free(d);
	}
	pt_runner_config_init(&cfg);
	cfg.jobs = c->o->jobs;
	cfg.timeout = c->o->timeout;
	cfg.keep_tmp = c->o->keep_tmp;
	cfg.seed = c->o->seed;
	cfg.session_id = c->st ? pt_store_id(c->st) : "";
	cfg.cwd = getcwd(cwd, sizeof(cwd));
	cfg.on_start = on_start;
	cfg.on_start_ctx = c;
	if (c->o->ports >= 0)
		cfg.port_count = (unsigned)c->o->ports;
	if (cfg.port_count) {
		char *notice = NULL;

		r = pt_runner_port_lock_dir(NULL, &lock_dir, &notice);
		if (notice)
			pt_tool_err(c->cmd, "%s%s",
				    r < 0 ? "" : "warning: ", notice);
		pt_free(notice);
		if (r < 0)
			return r;
		cfg.port_lock_dir = lock_dir;
	}
	if (c->st) {
		ops.ctx = c;
		cfg.iolog = &ops;
	}
	r = pt_runner_new(&cfg, &c->r);
	pt_free(lock_dir);
	return r;
}

/* ---- reports */

static int write_report(struct ctx *c, const char *spec)
{
	const char *colon = strchr(spec, ':');
	char fmtname[16];
	enum pt_report_format f;
	struct pt_report_job *jobs;
	struct pt_report_session rs = { 0 };
	struct pt_store_info *info = NULL;
	size_t n = pt_session_run_list_count(c->s), len = 0;
	char **paths;
	char *text = NULL;
	int r;

	if (!colon || (size_t)(colon - spec) >= sizeof(fmtname))
		return PT_EPARSE;
	memcpy(fmtname, spec, (size_t)(colon - spec));
	fmtname[colon - spec] = 0;
	if (pt_report_format_parse(fmtname, &f) < 0)
		return PT_EPARSE;
	jobs = calloc(n + 1, sizeof(*jobs));
	paths = calloc(n + 1, sizeof(*paths));
	if (!jobs || !paths) {
		free(jobs);
		free(paths);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = pt_session_run_list_get(c->s, i);
		const struct pt_job *j = pt_session_job(c->s, k);

		jobs[i].id = j->id;
		jobs[i].summary = j->summary;
		jobs[i].result = *pt_session_result(c->s, k);
		paths[i] = abs_path(c, jobs[i].result.io_log);
		jobs[i].io_log_path = paths[i];
	}
	rs.id = c->st ? pt_store_id(c->st) : NULL;
	rs.title = c->o->plan;
	rs.seed = c->o->seed;
	rs.duration = -1;
	if (c->st && pt_store_peek(NULL, rs.id, NULL, &info) == 0)
		rs.started_ns = info->meta.started_ns;
	r = pt_report_render(f, &rs, jobs, n, 0, &text, &len);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(jobs);
	pt_store_info_free(info);
	if (r < 0)
		return r;
	if (strcmp(colon + 1, "-") != 0)
		r = pt_report_write(colon + 1, text, len);
	else if (fwrite(text, 1, len, stdout) != len)
		r = -EIO;
	pt_free(text);
	return r;
}

/* ---- options */

enum {
	OPT_TIMEOUT = 1000,
	OPT_KEEP_TMP,
	OPT_REPEAT,
	OPT_UNTIL_FAIL,
	OPT_SHUFFLE,
	OPT_FAIL_FAST,
	OPT_RETRIES,
	OPT_NONINTERACTIVE,
	OPT_REPORT,
	OPT_RERUN_FAILED,
	OPT_ACCEPT_CHANGED,
	OPT_SEED,
	OPT_PORTS,
};

static int parse_uint(const char *cmd, const char *opt, const char *s,
		      unsigned max, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > max || s[0] == '-')
		return pt_tool_usage_err(cmd, "%s: bad number '%s'", opt, s);
	*ret = (unsigned)v;
	return 0;
}

static int parse_seed(const char *cmd, const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || !*s || *end || s[0] == '-')
		return pt_tool_usage_err(cmd, "bad seed '%s'", s);
	*ret = v;
	return 0;
}

static void usage_run(FILE *f)
{
	fprintf(f,
		"usage: proctor run PATH... [-p PLAN] [-i RE]... [-x RE]... "
		"[-j N]\n"
		"                   [--timeout S] [--keep-tmp] [--repeat N] "
		"[--until-fail]\n"
		"                   [--shuffle[=SEED]] [--fail-fast] "
		"[--retries N]\n"
		"                   [--non-interactive] [--report "
		"FORMAT:PATH]...\n\n"
		"Runs the jobs of unit files and providers (PATH...) as a "
		"new session:\nthe test plan PLAN, or every job, filtered by "
		"-i/-x (regular expressions\nmatching whole job ids). Each "
		"result is stored durably before dependents\nstart; "
		"`proctor resume` continues an interrupted session.\n\n"
		"  -p, --plan PLAN        the test plan to run\n"
		"  -i, --include RE       only jobs whose id matches RE\n"
		"  -x, --exclude RE       not jobs whose id matches RE\n"
		"  -n, --namespace NS     namespace of unit files given "
		"directly\n"
		"  -j, --jobs N           jobs at once (default: CPUs)\n"
		"      --timeout S        default job timeout in seconds\n"
		"      --keep-tmp         keep every job's temp directory\n"
		"      --ports N          TCP ports leased to each job "
		"(default 4; 0: none)\n"
		"      --repeat N         run every job N times (flaky "
		"detection)\n"
		"      --until-fail       with --repeat: stop a job at its "
		"first failure\n"
		"      --shuffle[=SEED]   shuffle the order of independent "
		"jobs\n"
		"      --fail-fast        stop starting jobs after the first "
		"failure\n"
		"      --retries N        run a failed job again, up to N "
		"times\n"
		"      --non-interactive  skip jobs that need an operator\n"
		"      --report FMT:PATH  write a report (junit, tap, tap13, "
		"json; PATH - is stdout)\n\n"
		"Exit: 0 all passed, 1 failures, 2 usage, 3 invalid plan, 4 "
		"storage locked\nor corrupt, 130 interrupted.\n");
}

static void usage_resume(FILE *f)
{
	fprintf(f,
		"usage: proctor resume [SESSION] [--rerun-failed] "
		"[--accept-changed] [-j N]\n"
		"                      [--timeout S] [--ports N] "
		"[--non-interactive]\n"
		"                      [--report FORMAT:PATH]...\n\n"
		"Continues a session (default: the last one) after an "
		"interruption, a kill\nor a reboot. The job that was running "
		"gets crash (pass for noreturn jobs).\n\n"
		"  --rerun-failed    run failed, crashed and timed-out jobs "
		"again\n"
		"  --accept-changed  resume even though job definitions "
		"changed\n");
}

/* Parses the options shared by run and resume. */
static int parse_opts(const char *cmd, int argc, char **argv, struct opts *o,
		      bool resume)
{
	static const struct option longopts[] = {
		{ "plan", required_argument, NULL, 'p' },
		{ "include", required_argument, NULL, 'i' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "keep-tmp", no_argument, NULL, OPT_KEEP_TMP },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ "until-fail", no_argument, NULL, OPT_UNTIL_FAIL },
		{ "shuffle", optional_argument, NULL, OPT_SHUFFLE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "fail-fast", no_argument, NULL, OPT_FAIL_FAST },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "non-interactive", no_argument, NULL, OPT_NONINTERACTIVE },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "rerun-failed", no_argument, NULL, OPT_RERUN_FAILED },
		{ "accept-changed", no_argument, NULL, OPT_ACCEPT_CHANGED },
		{ "ports", required_argument, NULL, OPT_PORTS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, r;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:i:x:n:j:h", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'h':
			(resume ? usage_resume : usage_run)(stdout);
			return -1;
		case 'p':
			if (resume)
				goto bad;
			o->plan = optarg;
			break;
		case 'n':
			if (resume)
				goto bad;
			o->ns = optarg;
			break;
		case 'i':
		case 'x':
			if (resume)
				goto bad;
			if (strv_add(ch == 'i' ? &o->include : &o->exclude,
				     optarg) < 0)
				return PT_EXIT_FAILURES;
			break;
		case 'j':
			if ((r = parse_uint(cmd, "-j", optarg, 4096, &o->jobs)))
				return r;
			if (!o->jobs)
				return pt_tool_usage_err(
					cmd, "-j: must be at least 1");
			break;
		case OPT_TIMEOUT: {
			char *end;
			o->timeout = strtod(optarg, &end);
			if (*end || !(o->timeout > 0) || o->timeout > 1e7)
				return pt_tool_usage_err(
					cmd, "--timeout: bad duration '%s'",
					optarg);
			break;
		}
		case OPT_KEEP_TMP:
			o->keep_tmp = true;
			break;
		case OPT_REPEAT:
			if ((r = parse_uint(cmd, "--repeat", optarg, 100000,
					    &o->repeat)))
				return r;
			break;
		case OPT_UNTIL_FAIL:
			o->until_fail = true;
			break;
		case OPT_SHUFFLE:
			o->shuffle = true;
			if (optarg) {
				if ((r = parse_seed(cmd, optarg, &o->seed)))
					return r;
				o->seed_given = true;
			}
			break;
		case OPT_SEED:
			if ((r = parse_seed(cmd, optarg, &o->seed)))
				return r;
			o->seed_given = true;
			break;
		case OPT_PORTS: {
			unsigned n;
			if ((r = parse_uint(cmd, "--ports", optarg, 1000, &n)))
				return r;
			o->ports = (int)n;
			break;
		}
		case OPT_FAIL_FAST:
			o->fail_fast = true;
			break;
		case OPT_RETRIES:
			if ((r = parse_uint(cmd, "--retries", optarg, 1000,
					    &o->retries)))
				return r;
			break;
		case OPT_NONINTERACTIVE:
			o->non_interactive = true;
			break;
		case OPT_REPORT: {
			const char *colon = strchr(optarg, ':');
			char f[16];
			enum pt_report_format fmt;

			if (!colon || colon == optarg || !colon[1] ||
			    (size_t)(colon - optarg) >= sizeof(f))
				return pt_tool_usage_err(
					cmd,
					"--report: expected FORMAT:PATH, "
					"got '%s'",
					optarg);
			memcpy(f, optarg, (size_t)(colon - optarg));
			f[colon - optarg] = 0;
			if (pt_report_format_parse(f, &fmt) < 0)
				return pt_tool_usage_err(
					cmd,
					"--report: unknown format '%s' "
					"(junit, tap, tap13, json)",
					f);
			if (strv_add(&o->reports, optarg) < 0)
				return PT_EXIT_FAILURES;
			break;
		}
		case OPT_RERUN_FAILED:
			if (!resume)
				goto bad;
			o->rerun_failed = true;
			break;
		case OPT_ACCEPT_CHANGED:
			if (!resume)
				goto bad;
			o->accept_changed = true;
			break;
		case ':':
			return pt_tool_usage_err(cmd,
						 "option '%s' needs a value",
						 argv[optind - 1]);
		default:
			return pt_tool_usage_err(cmd, "unknown option '%s'",
						 argv[optind - 1]);
		}
		continue;
bad:
		/* A real option of the other command (argv[optind - 1] may
		 * be its value, so name the option itself). */
		if (ch < 256)
			return pt_tool_usage_err(cmd,
						 "option '-%c' is not "
						 "accepted here",
						 ch);
		for (const struct option *lo = longopts; lo->name; lo++)
			if (lo->val == ch)
				return pt_tool_usage_err(
					cmd,
					"option '--%s' is not accepted here",
					lo->name);
		return pt_tool_usage_err(cmd, "unknown option '%s'",
					 argv[optind - 1]);
	}
	if (o->until_fail && o->repeat < 2)
		return pt_tool_usage_err(cmd, "--until-fail needs --repeat N "
					      "(N >= 2)");
	if (o->repeat > 1 && o->retries)
		return pt_tool_usage_err(cmd, "--repeat and --retries cannot "
					      "be combined");
	return 0;
}

/* ---- run */

static int finish(struct ctx *c, int r)
{
	int rc = PT_EXIT_OK;
	size_t per[PT_OUTCOME_COUNT_] = { 0 }, notrun = 0;
	size_t n = c->s ? pt_session_run_list_count(c->s) : 0;

	if (c->tty)
		fprintf(stderr, "\r\033[K");
	if (r < 0 && !c->storage_error)
		pt_tool_err(c->cmd, "%s", pt_strerror(r));
	for (size_t i = 0; i < n; i++) {
		size_t k = pt_session_run_list_get(c->s, i);
		enum pt_outcome o = pt_session_result(c->s, k)->outcome;
		per[o]++;
		if (o == PT_OUTCOME_NONE)
			notrun++;
	}
	if (c->s) {
		printf("%zu jobs:", n);
		for (int o = 1; o < PT_OUTCOME_COUNT_; o++) {
			if (per[o])
				printf(" %zu %s,", per[o],
				       pt_outcome_name((enum pt_outcome)o));
		}
		if (notrun)
			printf(" %zu not run,", notrun);
		printf(" seed %llu\n", (unsigned long long)c->o->seed);
	}
	if (c->st && !c->storage_error) {
		int e = pt_store_set_running(c->st, NULL, 0, 0);
		if (e == 0 && !notrun)
			e = pt_store_set_flag(c->st, PT_SESSION_FLAG_INCOMPLETE,
					      false);
		if (e < 0) {
			pt_tool_err(c->cmd, "cannot update the session: %s",
				    pt_strerror(e));
			c->storage_error = true;
		}
		/* For the next sessions' order (docs/runner.md). */
		if (!c->storage_error &&
		    (e = pt_store_learn_durations(c->st, NULL)) < 0)
			pt_tool_err(c->cmd,
				    "warning: durations not learned: %s",
				    pt_strerror(e));
	}
	for (size_t i = 0; c->s && i < c->o->reports.n && !c->storage_error;
	     i++) {
		int e = write_report(c, c->o->reports.v[i]);
		if (e < 0) {
			pt_tool_err(c->cmd, "report '%s': %s",
				    c->o->reports.v[i], pt_strerror(e));
			rc = PT_EXIT_FAILURES;
		}
	}
	if (c->storage_error)
		rc = PT_EXIT_STORAGE;
	else if (c->interrupted)
		rc = PT_EXIT_INTERRUPTED;
	else if (r < 0)
		rc = PT_EXIT_FAILURES;
	else if (c->n_fail || per[PT_OUTCOME_FAIL] || per[PT_OUTCOME_CRASH] ||
		 per[PT_OUTCOME_TIMEOUT] || rc)
		rc = PT_EXIT_FAILURES;
	if (c->interrupted && c->st)
		printf("interrupted: continue with 'proctor resume %s'\n",
		       pt_store_id(c->st));
	fflush(stdout);
	return rc;
}

static void ctx_free(struct ctx *c)
{
	pt_runner_free(c->r);
	pt_session_free(c->s);
	pt_store_free(c->st);
	pt_store_durations_free(c->dur);
	pt_units_free(c->u);
	pt_diags_free(c->diags);
	for (size_t i = 0; i < c->ninc; i++)
		regfree(&c->inc[i]);
	for (size_t i = 0; i < c->nexc; i++)
		regfree(&c->exc[i]);
	free(c->inc);
	free(c->exc);
	free(c->js);
	free(c->look);
	free(c->sess_dir);
	if (c->sfd >= 0)
		close(c->sfd);
}

static void opts_free(struct opts *o)
{
	strv_free(&o->paths);
	strv_free(&o->include);
	strv_free(&o->exclude);
	strv_free(&o->reports);
}

static int store_error(struct ctx *c, int r, const struct pt_diags *d)
{
	pt_tool_print_diags(stderr, d, 0);
	pt_tool_err(c->cmd, "session storage: %s", pt_strerror(r));
	return r == PT_ELOCKED || r == PT_ECORRUPT || r == PT_EINCOMPAT
		       ? PT_EXIT_STORAGE
		       : PT_EXIT_FAILURES;
}

/* Loads units from o->paths into c. */
static int load_units(struct ctx *c)
{
	struct pt_load_options lo = { .ns = c->o->ns };
	int r;

	if (pt_units_new(&c->u) < 0 || pt_diags_new(&c->diags) < 0)
		return -ENOMEM;
	r = pt_units_load_paths(c->u, c->o->paths.n,
				(const char *const *)c->o->paths.v,
				c->o->ns ? &lo : NULL, c->diags);
	pt_tool_print_diags(stderr, c->diags, 0);
	return r < 0 ? r : 0;
}

static int make_session(struct ctx *c)
{
	size_t n = pt_units_job_count(c->u);
	const struct pt_job **jobs = calloc(n + 1, sizeof(*jobs));
	int r;

	if (!jobs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		jobs[i] = pt_units_job(c->u, i);
	r = pt_session_new(jobs, n, &c->s);
	free(jobs);
	if (r == 0) {
		struct pt_session_callbacks cb = { .readiness_changed =
							   on_readiness,
						   .ctx = c };
		pt_session_set_callbacks(c->s, &cb);
	}
	if (r == 0)
		r = pt_session_attach_units(c->s, c->u, c->diags);
	return r;
}

/* Problems of the solve as warnings. */
static void print_problems(struct ctx *c)
{
	for (size_t i = 0; i < pt_session_problem_count(c->s); i++)
		fprintf(stderr, "%s: warning: %s\n", c->cmd,
			pt_session_problem(c->s, i)->message);
}

/* Shuffles the order keys of the run list (independent jobs only move:
 * readiness still orders dependents after their dependencies). */
static void shuffle(struct ctx *c)
{
	size_t n = pt_session_run_list_count(c->s);
	uint64_t x = c->o->seed ? c->o->seed : 1;
	uint64_t *keys = calloc(n + 1, sizeof(*keys));

	if (!keys)
		return;
	for (size_t i = 0; i < n; i++)
		keys[i] = i + 1;
	for (size_t i = n; i > 1; i--) {
		size_t k;
		uint64_t t;

		/* splitmix64 */
		x += 0x9e3779b97f4a7c15ull;
		t = x;
		t = (t ^ (t >> 30)) * 0xbf58476d1ce4e5b9ull;
		t = (t ^ (t >> 27)) * 0x94d049bb133111ebull;
		t ^= t >> 31;
		k = (size_t)(t % i);
		t = keys[i - 1];
		keys[i - 1] = keys[k];
		keys[k] = t;
	}
	for (size_t i = 0; i < n; i++)
		c->js[pt_session_run_list_get(c->s, i)].order = keys[i];
	free(keys);
}

static int prepare(struct ctx *c)
{
	int r;

	c->tty = pt_tool_isatty(2) && pt_tool_isatty(1);
	if ((r = compile_res(c->cmd, &c->o->include, &c->inc)) ||
	    (r = compile_res(c->cmd, &c->o->exclude, &c->exc)))
		return r;
	c->ninc = c->o->include.n;
	c->nexc = c->o->exclude.n;
	return 0;
}

int pt_cmd_run(int argc, char **argv)
{
	struct opts o = { .timeout = 0, .ports = -1 };
	struct ctx c = { .cmd = "run", .o = &o, .sfd = -1 };
	struct pt_diags *sd = NULL;
	struct pt_store_kv *plan = NULL;
	struct pt_store_meta meta = { 0 };
	char seedbuf[32], jobsbuf[16], tbuf[32], rbuf[16], pbuf[16];
	size_t np = 0;
	int r, rc;

	r = parse_opts("run", argc, argv, &o, false);
	if (r) {
		opts_free(&o);
		return r < 0 ? PT_EXIT_OK : r;
	}
	for (int i = optind; i < argc; i++) {
		char *abs = realpath(argv[i], NULL);
		if (!abs) {
			rc = pt_tool_usage_err("run", "%s: %s", argv[i],
					       strerror(errno));
			opts_free(&o);
			return rc;
		}
		r = strv_add(&o.paths, abs);
		free(abs);
	}
	if (!o.paths.n) {
		opts_free(&o);
		return pt_tool_usage_err("run", "no PATH given");
	}
	if (!o.seed_given)
		o.seed = random_seed();
	if (!o.jobs)
		o.jobs = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if ((rc = prepare(&c)))
		goto out;
	rc = PT_EXIT_FAILURES;
	if ((r = load_units(&c)) < 0)
		goto fail;
	if (o.plan) {
		/* a partial id names the plan when only one plan has it */
		const struct pt_unit *tp = pt_units_find_plan(c.u, o.plan);

		if (!tp) {
			pt_tool_err("run", "no test plan '%s'", o.plan);
			rc = PT_EXIT_INVALID;
			goto out;
		}
		o.plan = tp->id;
	}
	if ((r = make_session(&c)) < 0)
		goto fail;
	/* The plan of the session: what resume needs to rebuild it. */
	plan = calloc(o.paths.n + o.include.n + o.exclude.n + 8, sizeof(*plan));
	if (!plan) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < o.paths.n; i++)
		plan[np++] = (struct pt_store_kv){ "path", o.paths.v[i] };
	if (o.plan)
		plan[np++] = (struct pt_store_kv){ "test-plan", o.plan };
	if (o.ns)
		plan[np++] = (struct pt_store_kv){ "namespace", o.ns };
	for (size_t i = 0; i < o.include.n; i++)
		plan[np++] = (struct pt_store_kv){ "include", o.include.v[i] };
	for (size_t i = 0; i < o.exclude.n; i++)
		plan[np++] = (struct pt_store_kv){ "exclude", o.exclude.v[i] };
	snprintf(seedbuf, sizeof(seedbuf), "%llu", (unsigned long long)o.seed);
	snprintf(jobsbuf, sizeof(jobsbuf), "%u", o.jobs);
	snprintf(tbuf, sizeof(tbuf), "%g", o.timeout);
	snprintf(rbuf, sizeof(rbuf), "%u", o.retries);
	plan[np++] = (struct pt_store_kv){ "seed", seedbuf };
	plan[np++] = (struct pt_store_kv){ "jobs", jobsbuf };
	plan[np++] = (struct pt_store_kv){ "timeout", tbuf };
	plan[np++] = (struct pt_store_kv){ "retries", rbuf };
	snprintf(pbuf, sizeof(pbuf), "%d", o.ports);
	plan[np++] = (struct pt_store_kv){ "ports", pbuf };
	meta.title = o.plan;
	meta.plan = plan;
	meta.n_plan = np;
	meta.flags = (const char *[]){ PT_SESSION_FLAG_INCOMPLETE };
	meta.n_flags = 1;
	meta.app_id = "proctor";
	if (pt_diags_new(&sd) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	r = pt_store_create(NULL, &meta, sd, &c.st);
	if (r < 0) {
		rc = store_error(&c, r, sd);
		goto out;
	}
	c.sess_dir = strdup(pt_store_dir(c.st));
	if ((r = put_jobs(&c, 0)) < 0 || (r = resolve(&c)) < 0) {
		rc = store_error(&c, r, NULL);
		goto out;
	}
	print_problems(&c);
	if (!pt_session_run_list_count(c.s)) {
		pt_tool_err("run", "nothing to run: no job selected");
		rc = PT_EXIT_INVALID;
		goto out;
	}
	if (o.shuffle)
		shuffle(&c);
	c.n_total = pt_session_run_list_count(c.s);
	printf("session %s, seed %llu, %zu jobs, -j%u\n", pt_store_id(c.st),
	       (unsigned long long)o.seed, c.n_total, o.jobs);
	fflush(stdout);
	if ((r = block_signals(&c)) < 0 || (r = make_runner(&c)) < 0)
		goto fail;
	r = loop(&c);
	rc = finish(&c, r);
	goto out;
fail:
	pt_tool_err("run", "%s", pt_strerror(r));
out:
	free(plan);
	pt_diags_free(sd);
	ctx_free(&c);
	opts_free(&o);
	return rc;
}

/* ---- rebuilding a session from the store (resume, why, report) */

static const char *plan_get(const struct pt_store_state *st, const char *key)
{
	for (size_t i = 0; i < st->meta.n_plan; i++) {
		if (!strcmp(st->meta.plan[i].key, key))
			return st->meta.plan[i].value;
	}
	return NULL;
}

/* Loads the units of the session's plan and replays its results. */
static int rebuild(struct ctx *c, struct pt_store_state *st, bool apply_rule)
{
	const char *v;
	int r;

	for (size_t i = 0; i < st->meta.n_plan; i++) {
		const struct pt_store_kv *kv = &st->meta.plan[i];
		struct strv *dst =
			!strcmp(kv->key, "path")      ? &c->o->paths
			: !strcmp(kv->key, "include") ? &c->o->include
			: !strcmp(kv->key, "exclude") ? &c->o->exclude
						      : NULL;
		if (dst && strv_add(dst, kv->value) < 0)
			return -ENOMEM;
	}
	c->o->plan = plan_get(st, "test-plan");
	c->o->ns = plan_get(st, "namespace");
	if ((v = plan_get(st, "seed")))
		c->o->seed = strtoull(v, NULL, 10);
	if (!c->o->jobs && (v = plan_get(st, "jobs")))
		c->o->jobs = (unsigned)strtoul(v, NULL, 10);
	if (!c->o->jobs)
		c->o->jobs = 1;
	if (!(c->o->timeout > 0) && (v = plan_get(st, "timeout")))
		c->o->timeout = strtod(v, NULL);
	if (!c->o->retries && (v = plan_get(st, "retries")))
		c->o->retries = (unsigned)strtoul(v, NULL, 10);
	if (c->o->ports < 0 && (v = plan_get(st, "ports")))
		c->o->ports = (int)strtol(v, NULL, 10);
	if ((r = prepare(c)))
		return r > 0 ? -EINVAL : r;
	if ((r = load_units(c)) < 0 || (r = make_session(c)) < 0)
		return r;
	if ((r = grow_js(c)) < 0)
		return r;
	/* Results in commit order; resource jobs instantiate as they go. */
	for (size_t i = 0; i < st->n_results; i++) {
		const struct pt_store_result *sr = &st->results[i];
		size_t k = pt_session_job_index(c->s, sr->job_id);
		const struct pt_job *j;
		struct recset x = { 0 };

		if (k == PT_SESSION_NO_JOB)
			continue; /* a job that no longer exists */
		j = pt_session_job(c->s, k);
		if (j->plugin == PT_PLUGIN_RESOURCE &&
		    sr->r.outcome != PT_OUTCOME_NONE &&
		    parse_records(c, j->id, sr->r.io_log, &x) == 0) {
			/* instantiates the templates it feeds */
			r = pt_session_set_result(c->s, k, &sr->r, x.rr, x.n);
			if (r == 0)
				r = grow_js(c);
		} else {
			r = pt_session_set_result(c->s, k, &sr->r, NULL, 0);
		}
		recset_free(&x);
		if (r < 0)
			return r;
	}
	r = pt_session_set_rejected(c->s, st->meta.rejected,
				    st->meta.n_rejected);
	if (r == 0)
		r = pt_session_set_desired(c->s, st->desired, st->n_desired,
					   false);
	if (r < 0)
		return r;
	if ((r = grow_js(c)) < 0)
		return r;
	if (apply_rule) {
		const char *id = NULL;
		struct pt_result res;

		r = pt_store_running_rule(st, -1, &id, &res);
		if (r == 1) {
			size_t k = pt_session_job_index(c->s, id);
			r = pt_store_commit_result(c->st, id, &res,
						   PT_SYNC_NORMAL);
			if (r == 0 && k != PT_SESSION_NO_JOB)
				r = pt_session_set_result(c->s, k, &res, NULL,
							  0);
			if (r == 0)
				printf("%s %s: %s\n",
				       pt_outcome_name(res.outcome), id,
				       res.comments ? res.comments : "");
		}
	}
	return r < 0 ? r : 0;
}

/* Jobs whose definition changed since the session was created. */
static int check_changed(struct ctx *c, const struct pt_store_state *st)
{
	size_t n = pt_units_job_count(c->u);
	struct pt_store_job *cur = calloc(n + 1, sizeof(*cur));
	const char **ids = NULL;
	int r;

	if (!cur)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cur[i].id = pt_units_job(c->u, i)->id;
		cur[i].checksum = pt_units_job(c->u, i)->checksum;
	}
	r = pt_store_changed_jobs(st, cur, n, &ids);
	free(cur);
	if (r > 0) {
		for (size_t i = 0; ids && ids[i]; i++)
			fprintf(stderr, "%s: job definition changed: %s\n",
				c->cmd, ids[i]);
	}
	pt_free(ids);
	return r;
}

/* Opens a session for resume/why/report. */
static int open_session(struct ctx *c, const char *name, bool write,
			struct pt_store_state **ret)
{
	struct pt_diags *d = NULL;
	char *id = NULL;
	int r;

	if (pt_diags_new(&d) < 0)
		return PT_EXIT_FAILURES;
	c->readonly = !write;
	r = pt_store_resolve(NULL, name, &id);
	if (r == 0)
		r = pt_store_open(NULL, id,
				  write ? PT_STORE_WRITE : PT_STORE_READ, d,
				  &c->st);
	pt_free(id);
	if (r == 0)
		r = pt_store_load(c->st, ret);
	if (r < 0) {
		if (r == PT_ENOTFOUND) {
			pt_tool_err(c->cmd, "no session '%s'",
				    name ? name : "last-session");
			r = PT_EXIT_FAILURES;
		} else {
			r = store_error(c, r, d);
		}
		pt_diags_free(d);
		return r;
	}
	pt_diags_free(d);
	c->sess_dir = strdup(pt_store_dir(c->st));
	return 0;
}

int pt_cmd_resume(int argc, char **argv)
{
	struct opts o = { .ports = -1 };
	struct ctx c = { .cmd = "resume", .o = &o, .sfd = -1 };
	struct pt_store_state *st = NULL;
	const char *name = NULL;
	int r, rc;

	r = parse_opts("resume", argc, argv, &o, true);
	if (r) {
		opts_free(&o);
		return r < 0 ? PT_EXIT_OK : r;
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc) {
		opts_free(&o);
		return pt_tool_usage_err("resume", "unexpected argument '%s'",
					 argv[optind]);
	}
	rc = open_session(&c, name, true, &st);
	if (rc)
		goto out;
	rc = PT_EXIT_FAILURES;
	r = rebuild(&c, st, true);
	if (r < 0)
		goto fail;
	r = check_changed(&c, st);
	if (r > 0 && !o.accept_changed) {
		pt_tool_err("resume",
			    "%d job(s) changed since the session "
			    "started; use --accept-changed to "
			    "resume anyway",
			    r);
		rc = PT_EXIT_INVALID;
		goto out;
	}
	if (o.rerun_failed) {
		struct pt_result none = { .outcome = PT_OUTCOME_NONE,
					  .duration = -1 };
		for (size_t k = 0; k < pt_session_job_count(c.s); k++) {
			enum pt_outcome oc = pt_session_result(c.s, k)->outcome;
			if (is_fail(oc) ||
			    oc == PT_OUTCOME_SKIPPED_DEPENDENCY) {
				r = pt_session_set_result(c.s, k, &none, NULL,
							  0);
				if (r < 0)
					goto fail;
			}
		}
	}
	c.n_total = pt_session_run_list_count(c.s);
	for (size_t i = 0; i < c.n_total; i++) {
		size_t k = pt_session_run_list_get(c.s, i);
		enum pt_outcome oc = pt_session_result(c.s, k)->outcome;
		if (oc != PT_OUTCOME_NONE) {
			c.n_done++;
			c.js[k].done = true;
			if (is_fail(oc))
				c.n_fail++;
		}
	}
	printf("session %s, seed %llu, %zu jobs, %zu done, -j%u\n",
	       pt_store_id(c.st), (unsigned long long)o.seed, c.n_total,
	       c.n_done, o.jobs);
	fflush(stdout);
	if ((r = pt_store_set_flag(c.st, PT_SESSION_FLAG_INCOMPLETE, true)) <
		    0 ||
	    (r = block_signals(&c)) < 0 || (r = make_runner(&c)) < 0)
		goto fail;
	r = loop(&c);
	rc = finish(&c, r);
	goto out;
fail:
	pt_tool_err("resume", "%s", pt_strerror(r));
out:
	pt_store_state_free(st);
	ctx_free(&c);
	opts_free(&o);
	return rc;
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
	struct opts o = { 0 };
	struct ctx c = { .cmd = "report", .o = &o, .sfd = -1 };
	struct pt_store_state *st = NULL;
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
			       "junit|tap|tap13|json [-o FILE]\n\n"
			       "Writes a report of a session (default: the "
			       "last one) on stdout or FILE.\n");
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
	if (pt_report_format_parse(fmt, &f) < 0)
		return pt_tool_usage_err("report",
					 "unknown format '%s' (junit, tap, "
					 "tap13, json)",
					 fmt);
	rc = open_session(&c, name, false, &st);
	if (rc)
		goto out;
	rc = PT_EXIT_FAILURES;
	r = rebuild(&c, st, false);
	if (r < 0) {
		pt_tool_err("report", "%s", pt_strerror(r));
		goto out;
	}
	if (asprintf(&spec, "%s:%s", fmt, outp) < 0)
		goto out;
	r = write_report(&c, spec);
	if (r < 0)
		pt_tool_err("report", "%s: %s", outp, pt_strerror(r));
	else
		rc = PT_EXIT_OK;
out:
	free(spec);
	pt_store_state_free(st);
	ctx_free(&c);
	opts_free(&o);
	return rc;
}

/* ---- why */

int pt_cmd_why(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ctx c = { .cmd = "why", .o = &o, .sfd = -1 };
	struct pt_store_state *st = NULL;
	const char *job, *name = NULL;
	size_t k, n;
	int rc, r;

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
	rc = open_session(&c, name, false, &st);
	if (rc)
		goto out;
	rc = PT_EXIT_FAILURES;
	r = rebuild(&c, st, false);
	if (r < 0) {
		pt_tool_err("why", "%s", pt_strerror(r));
		goto out;
	}
	k = pt_session_job_index(c.s, job);
	if (k == PT_SESSION_NO_JOB) {
		/* A partial id: the first job whose id ends with ::JOB. */
		for (size_t i = 0; i < pt_session_job_count(c.s); i++) {
			const char *id = pt_session_job(c.s, i)->id;
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
			    pt_store_id(c.st));
		goto out;
	}
	{
		const struct pt_job *j = pt_session_job(c.s, k);
		const struct pt_result *res = pt_session_result(c.s, k);

		if (res->outcome != PT_OUTCOME_NONE) {
			printf("%s: %s", j->id, pt_outcome_name(res->outcome));
			if (res->comments)
				printf(": %s", res->comments);
			else if (res->outcome == PT_OUTCOME_FAIL)
				printf(": exit code %d", res->return_code);
			printf("\n");
		} else if (pt_session_can_start(c.s, k)) {
			printf("%s: ready to run (no inhibitor)\n", j->id);
		} else {
			n = pt_session_inhibitor_count(c.s, k);
			printf("%s: cannot start:\n", j->id);
			for (size_t i = 0; i < n; i++) {
				char buf[1024];
				pt_inhibitor_format(
					pt_session_inhibitor(c.s, k, i), buf,
					sizeof(buf));
				printf("  %s\n", buf);
			}
		}
		for (size_t i = 0; i < pt_session_problem_count(c.s); i++) {
			const struct pt_problem *p = pt_session_problem(c.s, i);
			if (p->job == k)
				printf("  problem: %s\n", p->message);
		}
	}
	rc = PT_EXIT_OK;
out:
	pt_store_state_free(st);
	ctx_free(&c);
	opts_free(&o);
	return rc;
}
