/*
 * Tests of the executor seam with the local executor (runner/executor.c):
 * the contract of include/proctor/executor.h, checked through the ops
 * table only, as a session run uses it.
 */
#include "base/buf.h"
#include "base/common.h"

#include <proctor/executor.h>
#include <proctor/runner.h>

#include "tap.h"
#include "testjob.h"


/* The host side: counts starts, keeps output in memory. */
struct host {
	unsigned starts, opens, closes;
	struct pt_buf out; /* "<job>:<stream>:<bytes>" per record */
	int refuse;	   /* on_start returns this for job "refused" */
};

static int h_start(void *ctx, const struct pt_job *job, void *udata,
		   unsigned attempt)
{
	struct host *h = ctx;

	(void)udata;
	(void)attempt;
	h->starts++;
	return !strcmp(job->id, "refused") ? h->refuse : 0;
}

static int h_open(void *ctx, const struct pt_job *job, unsigned attempt,
		  void **ret, const char **ret_path)
{
	struct host *h = ctx;

	(void)attempt;
	h->opens++;
	*ret = (void *)(uintptr_t)job->id;
	*ret_path = "io-logs/mem";
	return 0;
}

static int h_append(void *ctx, void *log, int64_t off, int stream,
		    const void *data, size_t len)
{
	struct host *h = ctx;

	(void)off;
	return pt__buf_addf(&h->out, "%s:%d:%.*s", (const char *)log, stream,
			    (int)len, (const char *)data);
}

static int h_close(void *ctx, void *log)
{
	struct host *h = ctx;

	(void)log;
	h->closes++;
	return 0;
}

static void *bind(struct host *h, unsigned jobs,
		  const struct pt_exec_iolog_ops *log)
{
	const struct pt_executor_ops *ops = pt_executor_local();
	struct pt_exec_config cfg = {
		.jobs = jobs, .session_id = "s1", .seed = 7, .ports = 0
	};
	struct pt_exec_host host = { .on_start = h_start,
				     .iolog = log,
				     .ctx = h };
	void *ex = NULL;

	PT_ASSERT_OK(ops->bind(&cfg, &host, &ex));
	return ex;
}

static void start(void *ex, const struct pt_job *j, uintptr_t tag)
{
	struct pt_exec_spec s = { .job = j,
				  .attempt = 1,
				  .order = tag,
				  .estimate = -1,
				  .udata = (void *)tag };

	PT_ASSERT_OK(pt_executor_local()->start(ex, &s));
}

PT_TEST(local_executor_runs_jobs_and_returns_each_once)
{
	const struct pt_executor_ops *ops = pt_executor_local();
	struct host h = { .out = PT_BUF_INIT };
	struct pt_exec_iolog_ops log = { h_open, h_append, h_close, &h };
	struct pt_job *a = mkjob("a", "printf hi"), *b = mkjob("b", "exit 3"),
		      *c = mkjob("c", "kill -9 $$");
	void *ex = bind(&h, 2, &log);
	unsigned seen = 0;

	PT_ASSERT_STR_EQ(ops->name, "local");
	PT_ASSERT_UINT_EQ(ops->flags & PT_EXEC_PERSISTENT, 0);
	PT_ASSERT(ops->attach == NULL);
	start(ex, a, 1);
	start(ex, b, 2);
	start(ex, c, 4);
	PT_ASSERT_UINT_EQ(ops->running(ex) + ops->queued(ex), 3);
	PT_ASSERT(ops->fd(ex) >= 0);
	for (int i = 0; i < 3; i++) {
		struct pt_exec_done d;
		uintptr_t tag;

		PT_ASSERT_INT_EQ(ops->step(ex, 20000, &d), 1);
		tag = (uintptr_t)d.udata;
		PT_ASSERT_UINT_EQ(seen & tag, 0); /* each exactly once */
		seen |= (unsigned)tag;
		PT_ASSERT(d.started);
		PT_ASSERT_UINT_EQ(d.attempt, 1);
		PT_ASSERT(d.lane < 2);
		PT_ASSERT_UINT_EQ(d.result.attempt, 1);
		PT_ASSERT_NULL(d.handle);
		if (tag == 1) {
			PT_ASSERT_INT_EQ(d.result.outcome, PT_OUTCOME_PASS);
			PT_ASSERT_STR_EQ(d.result.io_log, "io-logs/mem");
		} else if (tag == 2) {
			PT_ASSERT_INT_EQ(d.result.outcome, PT_OUTCOME_FAIL);
			PT_ASSERT_INT_EQ(d.result.return_code, 3);
			PT_ASSERT_NULL(d.result.io_log);
		} else {
			PT_ASSERT_INT_EQ(d.result.outcome, PT_OUTCOME_CRASH);
			PT_ASSERT_INT_EQ(d.result.return_code, -9);
			PT_ASSERT_STR_EQ(d.result.comments,
					 "killed by signal 9 (Killed)");
		}
	}
	PT_ASSERT_UINT_EQ(seen, 7);
	PT_ASSERT_INT_EQ(ops->step(ex, 0, &(struct pt_exec_done){ 0 }), 0);
	PT_ASSERT_UINT_EQ(h.starts, 3);
	PT_ASSERT_UINT_EQ(h.opens, 1);
	PT_ASSERT_UINT_EQ(h.closes, 1);
	PT_ASSERT_STR_EQ(h.out.s, "a:1:hi");
	ops->release(ex);
	pt__buf_release(&h.out);
	pt__free(a);
	pt__free(b);
	pt__free(c);
}

PT_TEST(local_executor_refused_start_and_cancel)
{
	const struct pt_executor_ops *ops = pt_executor_local();
	struct host h = { .out = PT_BUF_INIT, .refuse = -EIO };
	struct pt_job *r = mkjob("refused", "true"), *q = mkjob("q", "true");
	void *ex = bind(&h, 1, NULL);
	struct pt_exec_done d;

	start(ex, r, 1);
	PT_ASSERT_INT_EQ(ops->step(ex, 20000, &d), 1);
	PT_ASSERT_UINT_EQ((uintptr_t)d.udata, 1);
	PT_ASSERT_INT_EQ(d.result.outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_NOT_NULL(strstr(d.result.comments, "Input/output error"));
	/* Cancelled before it started: it still comes back, not started. */
	start(ex, q, 2);
	ops->cancel(ex, false);
	PT_ASSERT_INT_EQ(ops->step(ex, 20000, &d), 1);
	PT_ASSERT_UINT_EQ((uintptr_t)d.udata, 2);
	PT_ASSERT(!d.started);
	PT_ASSERT_INT_EQ(d.result.outcome, PT_OUTCOME_NONE);
	PT_ASSERT_UINT_EQ(ops->running(ex) + ops->queued(ex), 0);
	ops->release(ex);
	pt__free(r);
	pt__free(q);
}

PT_TEST(local_executor_refuses_what_it_cannot_do)
{
	const struct pt_executor_ops *ops = pt_executor_local();
	const char *opts[] = { "partition=x", NULL };
	const char *argv[] = { "true", NULL };
	struct pt_exec_config cfg = { .jobs = 1, .ports = 0, .options = opts };
	struct pt_job *j = mkjob("j", "true");
	struct host h = { .out = PT_BUF_INIT };
	void *ex = NULL;
	struct pt_exec_spec s = { .job = j, .attempt = 1, .argv = argv };

	PT_ASSERT_ERR(ops->bind(&cfg, NULL, &ex), -EINVAL);
	PT_ASSERT_NULL(ex);
	ex = bind(&h, 1, NULL);
	PT_ASSERT_ERR(ops->start(ex, &s), -EINVAL);
	PT_ASSERT_UINT_EQ(ops->queued(ex), 0);
	ops->release(ex);
	pt__free(j);
}

PT_TEST(local_executor_passes_env_and_user)
{
	const struct pt_executor_ops *ops = pt_executor_local();
	struct host h = { .out = PT_BUF_INIT };
	struct pt_exec_iolog_ops log = { h_open, h_append, h_close, &h };
	struct pt_job *j = mkjob("e", "printf \"$EXTRA\"");
	static const char *const env[] = { "EXTRA=given", NULL };
	struct pt_run_as refused = { .user = "x", .refused = "no way" };
	struct pt_exec_spec s = { .job = j, .attempt = 1, .env = env };
	struct pt_exec_done d;
	void *ex = bind(&h, 1, &log);

	PT_ASSERT_OK(ops->start(ex, &s));
	PT_ASSERT_INT_EQ(ops->step(ex, 20000, &d), 1);
	PT_ASSERT_INT_EQ(d.result.outcome, PT_OUTCOME_PASS);
	PT_ASSERT_STR_EQ(h.out.s, "e:1:given");
	/* the user goes to the runner: a refusal fails the job unstarted */
	s.run_as = &refused;
	PT_ASSERT_OK(ops->start(ex, &s));
	PT_ASSERT_INT_EQ(ops->step(ex, 20000, &d), 1);
	PT_ASSERT_INT_EQ(d.result.outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_STR_EQ(d.result.comments, "no way");
	ops->release(ex);
	pt__buf_release(&h.out);
	pt__free(j);
}
