/*
 * tests/slurm/test-exec.c - the Slurm executor through the executor seam
 * (the ops table only, as a session run uses it), against the one-node
 * cluster: outcomes, output, time-outs, cancellation from outside and by
 * proctor, refusal, and re-attaching after the executor went away.
 */
#include "base/common.h"

#include <proctor/executor.h>
#include <proctor/slurm.h>

#include "base/buf.h"
#include "base/str.h"
#include "os/file.h"
#include "os/proc.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "cluster.h"
#include "testjob.h"

struct host {
	unsigned starts, saves;
	char handles[64][128]; /* by udata tag: the last saved */
	char first[64][128];   /* the first ("? <dir>", before sbatch) */
	struct pt_buf out;
	int refuse_save; /* save_handle returns this once an id is known */
};

static int h_start(void *ctx, const struct pt_job *job, void *udata,
		   unsigned attempt)
{
	struct host *h = ctx;

	(void)job;
	(void)udata;
	(void)attempt;
	h->starts++;
	return 0;
}

static int h_save(void *ctx, const struct pt_job *job, void *udata,
		  unsigned attempt, const char *handle)
{
	struct host *h = ctx;
	uintptr_t tag = (uintptr_t)udata;

	(void)job;
	(void)attempt;
	h->saves++;
	PT_ASSERT(tag < 64);
	snprintf(h->handles[tag], sizeof(h->handles[tag]), "%s", handle);
	if (handle[0] == '?')
		snprintf(h->first[tag], sizeof(h->first[tag]), "%s", handle);
	return handle[0] != '?' ? h->refuse_save : 0;
}

static int h_open(void *ctx, const struct pt_job *job, unsigned attempt,
		  void **ret, const char **ret_path)
{
	(void)ctx;
	(void)attempt;
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
	(void)ctx;
	(void)log;
	return 0;
}

static struct pt_exec_iolog_ops logops = { h_open, h_append, h_close, NULL };

static const char *dir_opt(void)
{
	static char o[600];

	snprintf(o, sizeof(o), "dir=%s/slurm", pt_test_tmpdir());
	return o;
}

static void *bind_opts(struct host *h, unsigned jobs, const char *part)
{
	const struct pt_executor_ops *ops = pt_executor_slurm();
	const char *opts[4] = { dir_opt(), "poll_ms=200", NULL, NULL };
	char pbuf[128];
	struct pt_exec_config cfg = { .jobs = jobs,
				      .session_id = "t1",
				      .seed = 7,
				      .ports = 2,
				      .options = opts };
	struct pt_exec_host host = { .on_start = h_start,
				     .save_handle = h_save,
				     .iolog = &logops,
				     .ctx = h };
	void *ex = NULL;

	logops.ctx = h;
	if (part) {
		snprintf(pbuf, sizeof(pbuf), "partition=%s", part);
		opts[2] = pbuf;
	}
	PT_ASSERT_OK(ops->bind(&cfg, &host, &ex));
	return ex;
}

static void start(void *ex, const struct pt_job *j, uintptr_t tag,
		  double timeout)
{
	struct pt_exec_spec s = { .job = j,
				  .attempt = 1,
				  .order = tag,
				  .estimate = -1,
				  .timeout = timeout,
				  .udata = (void *)tag };

	PT_ASSERT_OK(pt_executor_slurm()->start(ex, &s));
}

struct seen {
	enum pt_outcome outcome;
	int rc;
	bool started, timed_out;
	char comments[512];
	char handle[128];
};

/* Steps until n jobs came back (deadline 60 s); each recorded by tag. */
static void run_until(void *ex, unsigned n, struct seen *by_tag)
{
	const struct pt_executor_ops *ops = pt_executor_slurm();
	unsigned got = 0;

	for (int turns = 0; got < n && turns < 600; turns++) {
		struct pt_exec_done d;
		int r = ops->step(ex, 100, &d);

		PT_ASSERT(r >= 0);
		if (r == 1) {
			struct seen *s = &by_tag[(uintptr_t)d.udata];

			PT_ASSERT_INT_EQ(s->outcome, 0); /* back once */
			s->outcome = d.result.outcome ? d.result.outcome
						      : (enum pt_outcome)99;
			s->rc = d.result.return_code;
			s->started = d.started;
			s->timed_out = d.timed_out;
			snprintf(s->comments, sizeof(s->comments), "%s",
				 d.result.comments ? d.result.comments : "");
			snprintf(s->handle, sizeof(s->handle), "%s",
				 d.handle ? d.handle : "");
			got++;
		}
	}
	PT_ASSERT_UINT_EQ(got, n);
}

PT_TEST_TIMEOUT(slurm_executor_outcomes_and_output, 90)
{
	const struct pt_executor_ops *ops = pt_executor_slurm();
	struct host h = { .out = PT_BUF_INIT };
	struct pt_job *a = mkjob("a", "printf 'hi %s' \"$PROCTOR_JOB_ID\""),
		      *b = mkjob("b", "echo no >&2; exit 3"),
		      *c = mkjob("c", "kill -SEGV $$"),
		      *d = mkjob("d", "exec sleep 30"), *e = mkjob("e", NULL);
	struct seen s[8] = { 0 };
	void *ex;

	need_cluster();
	ex = bind_opts(&h, 4, NULL);
	PT_ASSERT_STR_EQ(ops->name, "slurm");
	PT_ASSERT(ops->flags & PT_EXEC_PERSISTENT);
	start(ex, a, 1, 0);
	start(ex, b, 2, 0);
	start(ex, c, 3, 0);
	start(ex, d, 4, 1);
	start(ex, e, 5, 0);
	run_until(ex, 5, s);
	PT_ASSERT_INT_EQ(s[1].outcome, PT_OUTCOME_PASS);
	PT_ASSERT_STR_EQ(s[1].comments, "");
	PT_ASSERT_INT_EQ(s[2].outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_INT_EQ(s[2].rc, 3);
	PT_ASSERT_INT_EQ(s[3].outcome, PT_OUTCOME_CRASH);
	PT_ASSERT_INT_EQ(s[3].rc, -11);
	PT_ASSERT(pt__starts_with(s[3].comments, "killed by signal 11 ("));
	PT_ASSERT_INT_EQ(s[4].outcome, PT_OUTCOME_TIMEOUT);
	PT_ASSERT(s[4].timed_out);
	PT_ASSERT_INT_EQ(s[4].rc, -15);
	PT_ASSERT(pt__starts_with(s[4].comments,
				  "timed out after 1 s: SIGTERM to its "
				  "process group (Slurm job "));
	PT_ASSERT_INT_EQ(s[5].outcome, PT_OUTCOME_FAIL);
	PT_ASSERT(s[5].started); /* its failure is its result */
	PT_ASSERT_STR_EQ(s[5].comments, "job has no command");
	/* output reached the io log sink, stream by stream */
	PT_ASSERT(strstr(h.out.s, "a:1:hi a") != NULL);
	PT_ASSERT(strstr(h.out.s, "b:2:no\n") != NULL);
	/* handles: saved before sbatch ("? name"), then with the id */
	PT_ASSERT(h.handles[1][0] >= '1' && h.handles[1][0] <= '9');
	PT_ASSERT_STR_EQ(h.handles[1], s[1].handle);
	PT_ASSERT_UINT_EQ(h.saves, 8); /* 4 submitted jobs, twice each */
	PT_ASSERT_UINT_EQ(h.starts, 5);
	ops->release(ex);
	pt__free(a);
	pt__free(b);
	pt__free(c);
	pt__free(d);
	pt__free(e);
	pt__buf_release(&h.out);
}

PT_TEST_TIMEOUT(slurm_executor_refused_job_is_a_clear_failure, 60)
{
	const struct pt_executor_ops *ops = pt_executor_slurm();
	struct host h = { .out = PT_BUF_INIT };
	struct pt_job *a = mkjob("a", "true");
	struct seen s[4] = { 0 };
	void *ex;

	need_cluster();
	ex = bind_opts(&h, 2, "no-such-part");
	start(ex, a, 1, 0);
	run_until(ex, 1, s);
	PT_ASSERT_INT_EQ(s[1].outcome, PT_OUTCOME_FAIL);
	PT_ASSERT(s[1].started);
	PT_ASSERT_STR_EQ(s[1].comments,
			 "cannot start: Slurm refused the job: sbatch: error: "
			 "invalid partition specified: no-such-part");
	ops->release(ex);
	pt__free(a);
	pt__buf_release(&h.out);
}

static uint64_t handle_id(const char *h)
{
	uint64_t id = 0;

	PT_ASSERT(sscanf(h, "%" SCNu64, &id) == 1);
	return id;
}

static void scancel(uint64_t id)
{
	char num[32];
	const char *argv[] = { "scancel", num, NULL };
	char *out = NULL, *err = NULL;
	int st = -1;

	snprintf(num, sizeof(num), "%" PRIu64, id);
	PT_ASSERT_OK(pt__run_capture(argv, NULL, 4096, 20000, &st, &out, &err,
				     NULL));
	PT_ASSERT_INT_EQ(st, 0);
	pt__free(out);
	pt__free(err);
}

/* A FIFO the jobs block on until the test writes it (no polling). */
/* A FIFO a job waits on (`read x < PATH`) until open_gate_named(name). */
static const char *gate_named(const char *name)
{
	static char p[2][600];
	static unsigned k;
	char *b = p[k++ % 2];

	snprintf(b, sizeof(p[0]), "%s/%s", pt_test_tmpdir(), name);
	(void)mkfifo(b, 0600);
	return b;
}

static void open_gate_named(const char *name)
{
	int fd = open(gate_named(name), O_WRONLY);

	PT_ASSERT(fd >= 0);
	PT_ASSERT_INT_EQ(write(fd, "go\n", 3), 3);
	close(fd);
}

static const char *gate(void)
{
	return gate_named("gate");
}

static void open_gate(void)
{
	open_gate_named("gate");
}

/* Steps until the job with tag has a handle with a Slurm id. */
static void until_submitted(void *ex, struct host *h, uintptr_t tag)
{
	for (int i = 0; i < 300 && !(h->handles[tag][0] >= '1' &&
				     h->handles[tag][0] <= '9');
	     i++) {
		struct pt_exec_done d;
		PT_ASSERT_INT_EQ(pt_executor_slurm()->step(ex, 100, &d), 0);
	}
	PT_ASSERT(h->handles[tag][0] >= '1' && h->handles[tag][0] <= '9');
}

PT_TEST_TIMEOUT(slurm_executor_job_cancelled_outside_is_a_crash, 60)
{
	const struct pt_executor_ops *ops = pt_executor_slurm();
	struct host h = { .out = PT_BUF_INIT };
	char cmd[800];
	struct pt_job *a;
	struct seen s[4] = { 0 };
	void *ex;

	need_cluster();
	/* The job ignores SIGTERM, so the scancel's SIGTERM only reaches the
	 * wrapper, which then writes no status, and Slurm's SIGKILL ends the
	 * job (KillWait later): the end comes from Slurm's state. A job that
	 * died of the SIGTERM first would leave a status "killed by signal
	 * 15", depending on which process Slurm signalled first. */
	snprintf(cmd, sizeof(cmd),
		 "trap '' TERM; echo waiting; read x < %s; exec sleep 60",
		 gate());
	a = mkjob("a", cmd);
	ex = bind_opts(&h, 2, NULL);
	start(ex, a, 1, 0);
	until_submitted(ex, &h, 1);
	open_gate(); /* returns once the job runs (it opened the FIFO) */
	scancel(handle_id(h.handles[1]));
	run_until(ex, 1, s);
	PT_ASSERT_INT_EQ(s[1].outcome, PT_OUTCOME_CRASH);
	PT_ASSERT(s[1].started);
	PT_ASSERT(strstr(s[1].comments, ": CANCELLED") != NULL);
	PT_ASSERT(strstr(s[1].comments, "(cancelled outside proctor)") != NULL);
	PT_ASSERT(strstr(h.out.s, "a:1:waiting\n") != NULL);
	ops->release(ex);
	pt__free(a);
	pt__buf_release(&h.out);
}

static unsigned count_lines(const char *path)
{
	char *t = NULL;
	size_t n = 0;
	unsigned c = 0;

	if (pt__read_file(path, 1 << 20, &t, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		c += t[i] == '\n';
	pt__free(t);
	return c;
}

PT_TEST_TIMEOUT(slurm_executor_reattaches_after_release_no_job_twice, 90)
{
	const struct pt_executor_ops *ops = pt_executor_slurm();
	struct host h = { .out = PT_BUF_INIT }, h2 = { .out = PT_BUF_INIT };
	char cmd1[1400], cmd2[1400], log[600];
	struct pt_job *a, *b;
	struct seen s[4] = { 0 };
	struct pt_exec_spec sa = { .attempt = 1, .udata = (void *)1 };
	struct pt_exec_spec sb = { .attempt = 1, .udata = (void *)2 };
	void *ex;

	need_cluster();
	snprintf(log, sizeof(log), "%s/ran", pt_test_tmpdir());
	/* a and b wait for their gates, opened when no executor watches:
	 * a could otherwise end while the test waits for b's submission */
	snprintf(cmd1, sizeof(cmd1), "read x < %s; echo a >> %s",
		 gate_named("gate-a"), log);
	snprintf(cmd2, sizeof(cmd2), "read x < %s; echo b >> %s", gate(), log);
	a = mkjob("a", cmd1);
	b = mkjob("b", cmd2);
	ex = bind_opts(&h, 2, NULL);
	start(ex, a, 1, 0);
	start(ex, b, 2, 0);
	until_submitted(ex, &h, 1);
	until_submitted(ex, &h, 2);
	/* the run goes away (as after kill -9): its jobs go on in Slurm */
	ops->release(ex);
	open_gate_named("gate-a");
	open_gate();
	ex = bind_opts(&h2, 2, NULL);
	sa.job = a;
	sb.job = b;
	PT_ASSERT_OK(ops->attach(ex, &sa, h.handles[1]));
	PT_ASSERT_OK(ops->attach(ex, &sb, h.handles[2]));
	run_until(ex, 2, s);
	PT_ASSERT_INT_EQ(s[1].outcome, PT_OUTCOME_PASS);
	PT_ASSERT_INT_EQ(s[2].outcome, PT_OUTCOME_PASS);
	PT_ASSERT_STR_EQ(s[1].handle, h.handles[1]);
	PT_ASSERT_UINT_EQ(count_lines(log), 2); /* each ran once */
	PT_ASSERT_UINT_EQ(h2.starts, 0);	/* nothing submitted again */
	ops->release(ex);
	pt__free(a);
	pt__free(b);
	pt__buf_release(&h.out);
	pt__buf_release(&h2.out);
}

PT_TEST_TIMEOUT(slurm_executor_cancel_scancels_and_resume_reruns, 60)
{
	const struct pt_executor_ops *ops = pt_executor_slurm();
	struct host h = { .out = PT_BUF_INIT }, h2 = { .out = PT_BUF_INIT };
	char cmd[800];
	struct pt_job *a, *q;
	struct seen s[4] = { 0 };
	struct pt_exec_spec sa = { .attempt = 1, .udata = (void *)1 };
	void *ex;

	need_cluster();
	snprintf(cmd, sizeof(cmd), "read x < %s; exec sleep 60", gate());
	a = mkjob("a", cmd);
	q = mkjob("q", "true");
	ex = bind_opts(&h, 1, NULL);
	start(ex, a, 1, 0);
	start(ex, q, 2, 0); /* queued behind a (-j1) */
	until_submitted(ex, &h, 1);
	open_gate();
	ops->cancel(ex, true); /* Ctrl-C */
	run_until(ex, 2, s);
	PT_ASSERT_INT_EQ(s[1].outcome, 99); /* NONE: not run, resumable */
	PT_ASSERT(pt__starts_with(s[1].comments, "interrupted: Slurm job "));
	PT_ASSERT_INT_EQ(s[2].outcome, 99);
	PT_ASSERT_STR_EQ(s[2].comments, "not run: cancelled");
	sa.job = a;
	PT_ASSERT_INT_EQ(ops->start(ex, &sa), PT_ESTATE);
	ops->release(ex);
	/* a resume runs it again rather than taking Slurm's CANCELLED */
	ex = bind_opts(&h2, 1, NULL);
	PT_ASSERT_INT_EQ(ops->attach(ex, &sa, h.handles[1]), PT_ENOTFOUND);
	ops->release(ex);
	pt__free(a);
	pt__free(q);
	pt__buf_release(&h.out);
	pt__buf_release(&h2.out);
}

PT_TEST_TIMEOUT(slurm_executor_many_short_jobs, 120)
{
	const struct pt_executor_ops *ops = pt_executor_slurm();
	struct host h = { .out = PT_BUF_INIT };
	enum { N = 100 };
	struct pt_job *j[N];
	char ids[N][16];
	unsigned pass = 0;
	void *ex;

	need_cluster();
	ex = bind_opts(&h, 32, NULL);
	for (unsigned i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "j%u", i);
		j[i] = mkjob(ids[i], "true");
		start(ex, j[i], 0, 0);
	}
	for (int turns = 0; pass < N && turns < 1000; turns++) {
		struct pt_exec_done d;
		int r = ops->step(ex, 200, &d);

		PT_ASSERT(r >= 0);
		if (r == 1) {
			PT_ASSERT_INT_EQ(d.result.outcome, PT_OUTCOME_PASS);
			PT_ASSERT(d.lane < 32);
			pass++;
		}
		PT_ASSERT(ops->running(ex) <= 32);
	}
	PT_ASSERT_UINT_EQ(pass, N);
	ops->release(ex);
	for (unsigned i = 0; i < N; i++)
		pt__free(j[i]);
	pt__buf_release(&h.out);
}

PT_TEST_TIMEOUT(slurm_executor_crash_between_sbatch_and_save, 60)
{
	const struct pt_executor_ops *ops = pt_executor_slurm();
	struct host h = { .out = PT_BUF_INIT }, h2 = { .out = PT_BUF_INIT };
	char cmd[1400], log[600];
	struct pt_job *a;
	struct seen s[4] = { 0 };
	struct pt_exec_spec sa = { .attempt = 1, .udata = (void *)1 };
	void *ex;

	need_cluster();
	snprintf(log, sizeof(log), "%s/ran", pt_test_tmpdir());
	snprintf(cmd, sizeof(cmd), "echo a >> %s", log);
	a = mkjob("a", cmd);
	ex = bind_opts(&h, 2, NULL);
	start(ex, a, 1, 0);
	until_submitted(ex, &h, 1);
	ops->release(ex);
	/* as if proctor died before the id was saved: only "? <dir>" */
	PT_ASSERT(h.first[1][0] == '?');
	ex = bind_opts(&h2, 2, NULL);
	sa.job = a;
	PT_ASSERT_OK(ops->attach(ex, &sa, h.first[1]));
	run_until(ex, 1, s);
	PT_ASSERT_INT_EQ(s[1].outcome, PT_OUTCOME_PASS);
	PT_ASSERT_STR_EQ(s[1].handle, h.handles[1]); /* found its id */
	PT_ASSERT_UINT_EQ(count_lines(log), 1);
	PT_ASSERT_UINT_EQ(h2.starts, 0);
	ops->release(ex);
	pt__free(a);
	pt__buf_release(&h.out);
}

PT_TEST_TIMEOUT(slurm_executor_unsaved_id_cancels_the_job, 60)
{
	const struct pt_executor_ops *ops = pt_executor_slurm();
	struct host h = { .out = PT_BUF_INIT, .refuse_save = -ENOSPC };
	struct pt_job *a = mkjob("a", "exec sleep 60");
	struct seen s[4] = { 0 };
	void *ex;

	need_cluster();
	ex = bind_opts(&h, 2, NULL);
	start(ex, a, 1, 0);
	run_until(ex, 1, s);
	PT_ASSERT_INT_EQ(s[1].outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_STR_EQ(s[1].comments,
			 "cannot start: its Slurm job id could not be recorded "
			 "(No space left on device); cancelled");
	ops->release(ex);
	pt__free(a);
	pt__buf_release(&h.out);
}

/*
 * The run's extra variables (cfg->env: the --chaos preload) reach the job
 * on the node, a job's own (spec env) win over them; a --chaos process
 * fault is done by the wrapper, said in the comments and the chaos log.
 */
PT_TEST_TIMEOUT(slurm_executor_honours_env_and_does_process_faults, 60)
{
	const struct pt_executor_ops *ops = pt_executor_slurm();
	const char *opts[] = { dir_opt(), "poll_ms=200", NULL };
	const char *env[] = { "PT_EXTRA=a,b", "PT_MINE=run's", NULL };
	const char *own[] = { "PT_MINE=the job's", NULL };
	struct host h = { .out = PT_BUF_INIT };
	struct pt_exec_config cfg = { .jobs = 2,
				      .session_id = "t2",
				      .seed = 7,
				      .ports = 0,
				      .options = opts,
				      .env = env,
				      .chaos = "write:EIO" };
	struct pt_exec_host host = { .save_handle = h_save,
				     .iolog = &logops,
				     .ctx = &h };
	struct pt_job *a = mkjob("a", "printf '%s|%s' \"$PT_EXTRA\" "
				      "\"$PT_MINE\""),
		      *k = mkjob("k", "exec sleep 60");
	char logp[600], *text = NULL;
	size_t len = 0;
	struct pt_exec_spec sp = { .job = a,
				   .attempt = 1,
				   .estimate = -1,
				   .env = own,
				   .udata = (void *)(uintptr_t)1 };
	struct seen s[4] = { 0 };
	void *ex = NULL;

	need_cluster();
	logops.ctx = &h;
	snprintf(logp, sizeof(logp), "%s/chaos.log", pt_test_tmpdir());
	cfg.chaos_log = logp;
	/* a's own plan: none; k gets the run's kill */
	a->chaos = "off";
	cfg.chaos = "write:EIO,kill@0.05";
	PT_ASSERT_OK(ops->bind(&cfg, &host, &ex));
	PT_ASSERT(ops->flags & PT_EXEC_PROCESS_FAULTS);
	PT_ASSERT_OK(ops->start(ex, &sp));
	sp.job = k;
	sp.env = NULL;
	sp.udata = (void *)(uintptr_t)2;
	PT_ASSERT_OK(ops->start(ex, &sp));
	run_until(ex, 2, s);
	PT_ASSERT_INT_EQ(s[1].outcome, PT_OUTCOME_PASS);
	PT_ASSERT_STR_EQ(h.out.s, "a:1:a,b|the job's");
	PT_ASSERT_INT_EQ(s[2].outcome, PT_OUTCOME_CRASH);
	PT_ASSERT_INT_EQ(s[2].rc, -9);
	PT_ASSERT(pt__starts_with(s[2].comments,
				  "killed by signal 9 (Killed) (Slurm job "));
	/* scheduled within k's first 0.05 s; done when the wrapper got
	 * there (later on a loaded node): the comment and the log agree */
	{
		static const char said[] = "; chaos: SIGKILL to its "
					   "process group at ";
		const char *c = strstr(s[2].comments, said);
		char want[64];
		double at;

		PT_ASSERT_NOT_NULL(c);
		PT_ASSERT_INT_EQ(sscanf(c + sizeof(said) - 1, "%lf", &at), 1);
		PT_ASSERT(at > 0 && at < 60);
		PT_ASSERT_OK(pt__read_file(logp, 4096, &text, &len));
		PT_ASSERT(pt__starts_with(text, "k\t1\t"));
		snprintf(want, sizeof(want), "\tkill\t%.3f\t", at);
		PT_ASSERT_NOT_NULL(strstr(text, want));
	}
	PT_ASSERT_NOT_NULL(strstr(text, "\tSIGKILL to the group\t"));
	PT_ASSERT(strchr(text, '\n') + 1 == text + len);
	pt__free(text);
	ops->release(ex);
	pt__free(a);
	pt__free(k);
	pt__buf_release(&h.out);
}
