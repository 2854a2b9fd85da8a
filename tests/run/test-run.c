/*
 * Tests of the session run (src/run) through the executor seam: an
 * executor of the test's own stands for a cluster (persistent: it hands
 * out external ids) and runs nothing; the run's rules (dependencies,
 * retries and the flaky mark, handles recorded durably, cancellation
 * from the wake fd) are checked on what the store keeps.
 */
#include "base/common.h"
#include "os/file.h"

#include <proctor/run.h>
#include <unistd.h>

#include "tap.h"

/* ---- a fake persistent executor */

struct fake {
	struct pt_exec_host host;
	unsigned lanes;
	struct pt_exec_spec q[16];
	size_t nq;
	struct pt_exec_spec run[16]; /* "running" (hold mode) */
	size_t nrun;
	bool hold;	/* jobs start and never end by themselves */
	bool cancelled; /* with terminate */
	unsigned started;
	char handle[64];
};

static struct fake *fake_now; /* the instance bind made */
static bool fake_hold;

static int f_bind(const struct pt_exec_config *cfg,
		  const struct pt_exec_host *host, void **ret)
{
	struct fake *f = pt__calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->host = *host;
	f->lanes = cfg->jobs;
	f->hold = fake_hold;
	fake_now = f;
	*ret = f;
	return 0;
}

static int f_start(void *ex, const struct pt_exec_spec *spec)
{
	struct fake *f = ex;

	if (f->nq == PT_ARRAY_SIZE(f->q))
		return -ENOMEM;
	f->q[f->nq++] = *spec;
	return 0;
}

/* Starts a job: on_start, then its external id recorded first. */
static int f_launch(struct fake *f, const struct pt_exec_spec *s)
{
	int r = f->host.on_start(f->host.ctx, s->job, s->udata, s->attempt);

	if (r < 0)
		return r;
	snprintf(f->handle, sizeof(f->handle), "fake:%u", ++f->started);
	return f->host.save_handle(f->host.ctx, s->job, s->udata, s->attempt,
				   f->handle);
}

static int f_step(void *ex, int timeout_ms, struct pt_exec_done *d)
{
	struct fake *f = ex;
	struct pt_exec_spec s;

	(void)timeout_ms;
	if (f->hold) {
		/* start everything; end only what cancel ended */
		while (f->nq) {
			s = f->q[0];
			memmove(f->q, f->q + 1, --f->nq * sizeof(*f->q));
			if (f_launch(f, &s) < 0)
				return -EIO;
			f->run[f->nrun++] = s;
		}
		if (!f->cancelled || !f->nrun)
			return 0;
		s = f->run[--f->nrun];
		*d = (struct pt_exec_done){ .job = s.job,
					    .udata = s.udata,
					    .attempt = s.attempt,
					    .started = true,
					    .handle = f->handle };
		d->result.outcome = PT_OUTCOME_NONE;
		d->result.comments = "interrupted";
		return 1;
	}
	if (!f->nq)
		return 0;
	s = f->q[0];
	memmove(f->q, f->q + 1, --f->nq * sizeof(*f->q));
	*d = (struct pt_exec_done){ .job = s.job,
				    .udata = s.udata,
				    .attempt = s.attempt,
				    .started = true,
				    .lane = f->started % f->lanes };
	if (f_launch(f, &s) < 0)
		return -EIO;
	d->handle = f->handle;
	/* The job "flaky" fails its first attempt; "bad" always fails. */
	d->result.outcome =
		(!strcmp(s.job->partial_id, "flaky") && s.attempt == 1) ||
				!strcmp(s.job->partial_id, "bad")
			? PT_OUTCOME_FAIL
			: PT_OUTCOME_PASS;
	d->result.return_code = d->result.outcome == PT_OUTCOME_FAIL;
	d->result.attempt = s.attempt;
	d->result.duration = 0.001;
	d->result.started_ns = 1;
	return 1;
}

/* Re-adopts a job after a crash of the run: it ends (passes) at once. */
static unsigned attached;
static char attached_handles[128];

static int f_attach(void *ex, const struct pt_exec_spec *spec,
		    const char *handle)
{
	struct fake *f = ex;
	size_t n = strlen(attached_handles);

	if (!strcmp(handle, "fake:gone"))
		return PT_ENOTFOUND;
	attached++;
	snprintf(attached_handles + n, sizeof(attached_handles) - n, "%s%s",
		 n ? " " : "", handle);
	/* queued as if started: f_step ends it (no new launch counted) */
	if (f->nq == PT_ARRAY_SIZE(f->q))
		return -ENOMEM;
	f->q[f->nq++] = *spec;
	return 0;
}

static int f_fd(void *ex)
{
	(void)ex;
	return -1;
}

static int f_timeout(void *ex)
{
	struct fake *f = ex;

	return f->nq || (f->cancelled && f->nrun) ? 0 : -1;
}

static size_t f_running(void *ex)
{
	return ((struct fake *)ex)->nrun;
}

static size_t f_queued(void *ex)
{
	return ((struct fake *)ex)->nq;
}

static void f_cancel(void *ex, bool terminate)
{
	struct fake *f = ex;

	f->cancelled = terminate;
}

static void f_release(void *ex)
{
	if (fake_now == ex)
		fake_now = NULL;
	pt__free(ex);
}

static const struct pt_executor_ops fake_ops = {
	.name = "fake",
	.flags = PT_EXEC_PERSISTENT,
	.bind = f_bind,
	.start = f_start,
	.attach = f_attach,
	.step = f_step,
	.fd = f_fd,
	.timeout = f_timeout,
	.running = f_running,
	.queued = f_queued,
	.cancel = f_cancel,
	.release = f_release,
};

/* ---- events */

struct seen {
	unsigned started, finished;
	char order[256]; /* finished ids, space-separated */
	int wake_fd;
};

static void on_started(void *ctx, const struct pt_job *job, unsigned attempt)
{
	struct seen *s = ctx;

	(void)job;
	(void)attempt;
	s->started++;
}

static void on_finished(void *ctx, const struct pt_job *job,
			const struct pt_result *res)
{
	struct seen *s = ctx;
	size_t n = strlen(s->order);

	s->finished++;
	snprintf(s->order + n, sizeof(s->order) - n, "%s%s:%s%s", n ? " " : "",
		 job->partial_id, pt_outcome_name(res->outcome),
		 res->flaky ? "(flaky)" : "");
}

static void on_message(void *ctx, enum pt_run_msg kind, const char *text)
{
	(void)ctx;
	fprintf(stderr, "# message %d: %s\n", (int)kind, text);
}

static const char plan[] = "id: a\nplugin: shell\ncommand: true\n\n"
			   "id: flaky\nplugin: shell\ncommand: true\n\n"
			   "id: b\nplugin: shell\ndepends: a\ncommand: true\n";

static struct pt_run *new_run(struct seen *s, unsigned retries,
			      const char *units)
{
	const char *path = pt_test_path("plan.pxu");
	struct pt_run_options o;
	struct pt_run_events ev = { .job_started = on_started,
				    .job_finished = on_finished,
				    .message = on_message,
				    .wake_fd = s->wake_fd,
				    .ctx = s };
	struct pt_run *run = NULL;

	PT_ASSERT_OK(pt__write_file_atomic(path, units, strlen(units), 0600));
	pt_run_options_init(&o);
	o.paths = &path;
	o.n_paths = 1;
	o.repo = pt_test_path("repo");
	o.jobs = 2;
	o.seed = 5;
	o.retries = retries;
	o.no_operator = "test";
	o.executor = &fake_ops;
	PT_ASSERT_OK(pt_run_new(&o, &ev, &run));
	return run;
}

static struct pt_store_state *load(struct pt_run *run)
{
	struct pt_store_state *st = NULL;

	PT_ASSERT_OK(pt_store_load(pt_run_store(run), &st));
	return st;
}

PT_TEST(a_run_through_another_executor_records_handles_and_flaky)
{
	struct seen s = { .wake_fd = -1 };
	struct pt_run *run = new_run(&s, 1, plan);
	struct pt_store_state *st;
	struct pt_run_progress p;

	PT_ASSERT_OK(pt_run_drive(run));
	PT_ASSERT_OK(pt_run_finish(run));
	/* run-list order at -j2 with a fake that ends jobs in start order */
	PT_ASSERT_STR_EQ(s.order, "a:pass b:pass flaky:pass(flaky)");
	PT_ASSERT_UINT_EQ(s.started, 4); /* flaky twice */
	pt_run_progress(run, &p);
	PT_ASSERT_UINT_EQ(p.total, 3);
	PT_ASSERT_UINT_EQ(p.done, 3);
	PT_ASSERT_UINT_EQ(p.per_outcome[PT_OUTCOME_PASS], 3);
	PT_ASSERT_UINT_EQ(p.flaky, 1);
	st = load(run);
	/* every attempt committed; the flaky pass marked; lanes kept */
	PT_ASSERT_UINT_EQ(st->n_results, 4);
	PT_ASSERT_STR_EQ(st->results[1].job_id, "flaky");
	PT_ASSERT_INT_EQ(st->results[1].r.outcome, PT_OUTCOME_FAIL);
	PT_ASSERT(!st->results[1].r.flaky);
	PT_ASSERT_STR_EQ(st->results[3].job_id, "flaky");
	PT_ASSERT_UINT_EQ(st->results[3].r.attempt, 2);
	PT_ASSERT(st->results[3].r.flaky);
	PT_ASSERT_UINT_EQ(st->results[0].r.lane, 0);
	PT_ASSERT_UINT_EQ(st->results[1].r.lane, 1);
	PT_ASSERT_UINT_EQ(st->results[2].r.lane, 0);
	PT_ASSERT_UINT_EQ(st->results[3].r.lane, 1);
	/* a persistent executor's ids, recorded before each job ran */
	PT_ASSERT_UINT_EQ(st->n_handles, 4);
	PT_ASSERT_STR_EQ(st->handles[0].job_id, "a");
	PT_ASSERT_STR_EQ(st->handles[0].handle, "fake:1");
	PT_ASSERT_STR_EQ(st->handles[1].job_id, "b");
	PT_ASSERT_STR_EQ(st->handles[2].job_id, "flaky");
	PT_ASSERT_UINT_EQ(st->handles[2].attempt, 1);
	PT_ASSERT_STR_EQ(st->handles[2].handle, "fake:2");
	PT_ASSERT_STR_EQ(st->handles[3].job_id, "flaky");
	PT_ASSERT_UINT_EQ(st->handles[3].attempt, 2);
	PT_ASSERT_STR_EQ(st->handles[3].handle, "fake:4");
	pt_store_state_free(st);
	pt_run_free(run);
	PT_ASSERT_NULL(fake_now); /* released */
}

PT_TEST(a_failure_skips_its_dependents_and_nothing_is_flaky)
{
	struct seen s = { .wake_fd = -1 };
	struct pt_run *run =
		new_run(&s, 0,
			"id: bad\nplugin: shell\ncommand: false\n\n"
			"id: after\nplugin: shell\ndepends: bad\ncommand: "
			"true\n");
	struct pt_run_progress p;

	PT_ASSERT_OK(pt_run_drive(run));
	PT_ASSERT_STR_EQ(s.order, "bad:fail after:skipped-dependency");
	PT_ASSERT_UINT_EQ(s.started, 1);
	pt_run_progress(run, &p);
	PT_ASSERT_UINT_EQ(p.failed, 1);
	PT_ASSERT_UINT_EQ(p.flaky, 0);
	pt_run_free(run);
}

static void cancel_on_wake(void *ctx, struct pt_run *run)
{
	struct seen *s = ctx;
	char b;

	PT_ASSERT_INT_EQ(read(s->wake_fd, &b, 1), 1);
	pt_run_cancel(run, true);
}

PT_TEST(the_wake_fd_cancels_a_run_and_running_jobs_stay_without_result)
{
	struct seen s = { 0 };
	struct pt_run_events ev;
	struct pt_run *run;
	struct pt_store_state *st;
	struct pt_run_progress p;
	int fds[2];

	PT_ASSERT_OK(pipe(fds));
	s.wake_fd = fds[0];
	fake_hold = true;
	run = new_run(&s, 0, plan);
	ev = (struct pt_run_events){ .job_started = on_started,
				     .job_finished = on_finished,
				     .wake_fd = fds[0],
				     .wake = cancel_on_wake,
				     .ctx = &s };
	pt_run_set_events(run, &ev);
	/* the signal is already there: the run sees it once jobs run */
	PT_ASSERT_INT_EQ(write(fds[1], "x", 1), 1);
	PT_ASSERT_OK(pt_run_drive(run));
	fake_hold = false;
	PT_ASSERT_UINT_EQ(s.started, 2); /* a and flaky; b waits for a */
	PT_ASSERT_UINT_EQ(s.finished, 0);
	pt_run_progress(run, &p);
	PT_ASSERT(p.interrupted);
	PT_ASSERT_UINT_EQ(p.per_outcome[PT_OUTCOME_NONE], 3);
	st = load(run);
	PT_ASSERT_UINT_EQ(st->n_results, 0);
	PT_ASSERT_UINT_EQ(st->n_handles, 2); /* to re-attach after a crash */
	pt_store_state_free(st);
	pt_run_free(run);
	close(fds[0]);
	close(fds[1]);
}

/*
 * The run dies while a persistent executor runs two jobs (their ids
 * recorded); resume adopts them (attach) instead of running them again,
 * and the job that depended on one of them runs once it passed.
 */
PT_TEST(resume_reattaches_what_a_persistent_executor_still_runs)
{
	struct seen s = { .wake_fd = -1 };
	struct pt_run_events ev = { .job_started = on_started,
				    .job_finished = on_finished,
				    .message = on_message,
				    .wake_fd = -1,
				    .ctx = &s };
	struct pt_run_options o;
	struct pt_run *run;
	struct pt_store *st = NULL;
	struct pt_store_state *state;
	int fds[2];

	/* 1: a and flaky start, then the run is cancelled and freed
	 * without their results, as a crash would leave it */
	PT_ASSERT_OK(pipe(fds));
	s.wake_fd = fds[0];
	fake_hold = true;
	run = new_run(&s, 0, plan);
	ev.wake_fd = fds[0];
	ev.wake = cancel_on_wake;
	pt_run_set_events(run, &ev);
	PT_ASSERT_INT_EQ(write(fds[1], "x", 1), 1);
	PT_ASSERT_OK(pt_run_drive(run));
	fake_hold = false;
	pt_run_free(run);
	close(fds[0]);
	close(fds[1]);
	PT_ASSERT_UINT_EQ(s.started, 2);
	/* 2: resume with the same executor */
	memset(&s, 0, sizeof(s));
	s.wake_fd = -1;
	ev.wake_fd = -1;
	ev.wake = NULL;
	attached = 0;
	attached_handles[0] = 0;
	PT_ASSERT_OK(pt_store_open(pt_test_path("repo"), NULL, PT_STORE_WRITE,
				   NULL, &st));
	pt_run_options_init(&o);
	o.executor = &fake_ops;
	o.no_operator = "test";
	PT_ASSERT_OK(pt_run_resume(st, &o, &ev, &run));
	PT_ASSERT_OK(pt_run_drive(run));
	PT_ASSERT_UINT_EQ(attached, 2);
	PT_ASSERT_STR_EQ(attached_handles, "fake:1 fake:2");
	/* b started anew; a and flaky came back through attach */
	PT_ASSERT_UINT_EQ(s.finished, 3);
	PT_ASSERT_NOT_NULL(strstr(s.order, "b:pass"));
	PT_ASSERT_NOT_NULL(strstr(s.order, "a:pass"));
	PT_ASSERT_NOT_NULL(strstr(s.order, "flaky:fail"));
	PT_ASSERT_OK(pt_store_load(pt_run_store(run), &state));
	PT_ASSERT_UINT_EQ(state->n_results, 3);
	for (size_t i = 0; i < state->n_results; i++)
		PT_ASSERT_UINT_EQ(state->results[i].r.attempt, 1);
	pt_store_state_free(state);
	pt_run_free(run);
}
