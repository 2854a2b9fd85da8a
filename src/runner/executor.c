/*
 * runner/executor.c - the local executor: struct pt_runner behind the
 * executor seam (include/proctor/executor.h, docs/run.md). A thin
 * adapter: one indirect call per operation, no copy of output.
 */
#include "base/common.h"

#include <proctor/executor.h>
#include <proctor/runner.h>

struct local {
	struct pt_runner *r;
	struct pt_exec_host host;
	struct pt_exec_iolog_ops log; /* the host's sink, copied */
	struct pt_runner_iolog_ops ops;
};

static int l_open(void *ctx, const struct pt_job *job, unsigned attempt,
		  void **ret, const char **ret_path)
{
	struct local *l = ctx;

	return l->log.open(l->log.ctx, job, attempt, ret, ret_path);
}

static int l_append(void *ctx, void *log, int64_t off, enum pt_stream s,
		    const void *data, size_t len)
{
	struct local *l = ctx;

	return l->log.append(l->log.ctx, log, off, (int)s, data, len);
}

static int l_close(void *ctx, void *log)
{
	struct local *l = ctx;

	return l->log.close(l->log.ctx, log);
}

static int l_on_start(void *ctx, const struct pt_job *job, void *udata,
		      unsigned attempt)
{
	struct local *l = ctx;

	return l->host.on_start(l->host.ctx, job, udata, attempt);
}

static void l_release(void *ex)
{
	struct local *l = ex;

	if (!l)
		return;
	pt_runner_free(l->r);
	pt__free(l);
}

static int l_bind(const struct pt_exec_config *cfg,
		  const struct pt_exec_host *host, void **ret)
{
	struct pt_runner_config rc;
	struct local *l;
	int r;

	if (!cfg || !ret || (cfg->options && cfg->options[0]))
		return -EINVAL; /* the local executor has no options */
	l = pt__calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	if (host)
		l->host = *host;
	pt_runner_config_init(&rc);
	rc.jobs = cfg->jobs;
	rc.timeout = cfg->timeout;
	rc.keep_tmp = cfg->keep_tmp;
	rc.seed = cfg->seed;
	rc.session_id = cfg->session_id;
	rc.cwd = cfg->cwd;
	rc.env = cfg->env;
	rc.chaos = cfg->chaos;
	rc.chaos_log = cfg->chaos_log;
	if (cfg->ports >= 0)
		rc.port_count = (unsigned)cfg->ports;
	if (l->host.on_start) {
		rc.on_start = l_on_start;
		rc.on_start_ctx = l;
	}
	if (l->host.iolog) {
		l->log = *l->host.iolog;
		l->ops = (struct pt_runner_iolog_ops){ l_open, l_append,
						       l_close, l };
		rc.iolog = &l->ops;
	}
	r = pt_runner_new(&rc, &l->r);
	if (r < 0) {
		pt__free(l);
		return r;
	}
	*ret = l;
	return 0;
}

static int l_start(void *ex, const struct pt_exec_spec *spec)
{
	struct local *l = ex;
	struct pt_run_request q;

	/* The runner derives command and directory from the job itself
	 * (docs/runner.md); extra variables and the user come with it. */
	if (!spec || spec->argv || spec->cwd)
		return -EINVAL;
	q = (struct pt_run_request){
		.job = spec->job,
		.order = spec->order,
		.estimate = spec->estimate,
		.attempt = spec->attempt,
		.timeout = spec->timeout,
		.udata = spec->udata,
		.env = spec->env,
		.run_as = spec->run_as,
	};
	return pt_runner_submit(l->r, &q);
}

static int l_step(void *ex, int timeout_ms, struct pt_exec_done *ret)
{
	struct local *l = ex;
	struct pt_run_done d;
	int r = pt_runner_step(l->r, timeout_ms, &d);

	if (r != 1)
		return r;
	*ret = (struct pt_exec_done){
		.job = d.job,
		.udata = d.udata,
		.attempt = d.attempt,
		.started = d.started,
		.timed_out = d.timed_out,
		.wait_status = d.wait_status,
		.lane = d.lane,
		.maxrss_kib = d.maxrss_kib,
		.result = d.result,
	};
	return 1;
}

static int l_fd(void *ex)
{
	return pt_runner_fd(((struct local *)ex)->r);
}

static int l_timeout(void *ex)
{
	return pt_runner_timeout(((struct local *)ex)->r);
}

static size_t l_running(void *ex)
{
	return pt_runner_running(((struct local *)ex)->r);
}

static size_t l_queued(void *ex)
{
	return pt_runner_queued(((struct local *)ex)->r);
}

static void l_cancel(void *ex, bool terminate)
{
	pt_runner_cancel(((struct local *)ex)->r, terminate);
}

static const struct pt_executor_ops local_ops = {
	.name = "local",
	.flags = PT_EXEC_PROCESS_FAULTS,
	.bind = l_bind,
	.start = l_start,
	.attach = NULL,
	.step = l_step,
	.fd = l_fd,
	.timeout = l_timeout,
	.running = l_running,
	.queued = l_queued,
	.cancel = l_cancel,
	.release = l_release,
};

const struct pt_executor_ops *pt_executor_local(void)
{
	return &local_ops;
}
