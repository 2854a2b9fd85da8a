/*
 * bench-runner - N trivial jobs (`sh -c true`) at -j2 through the runner,
 * against `xargs -P2` and GNU `parallel -j2` running the same command in
 * the same run. Prints jobs/s, the ratios, the runner's own CPU per job
 * (getrusage of this process, which excludes the jobs) and its peak RSS
 * after N/5 and after N jobs (memory must stay flat).
 *
 *	./build/bench/bench-runner [N] [--no-parallel]
 *
 * Two runner figures: bare (io logs as files, no store), and durable, as
 * `proctor run` does it: a session in a store, io logs through the store,
 * every result committed (PT_SYNC_NORMAL: in the WAL before the next job
 * can depend on it); the running job is recorded at each start only at
 * -j1 (docs/runner.md), so not here.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <proctor/proctor.h>

#include "os/file.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Runs a shell pipeline; returns its wall time or -1. */
static double time_shell(const char *cmd)
{
	double t0 = now_s();
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench-runner: '%s' failed (status %d)\n", cmd,
			st);
		return -1;
	}
	return now_s() - t0;
}

struct durable {
	struct pt_store *st;
};

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int on_start(void *ctx, const struct pt_job *job, void *udata,
		    unsigned attempt)
{
	struct durable *d = ctx;

	(void)udata;
	return pt_store_set_running(d->st, job->id, attempt, wall_ns());
}

static int log_open(void *ctx, const struct pt_job *job, unsigned attempt,
		    void **ret, const char **ret_path)
{
	struct durable *d = ctx;
	struct pt_iolog *w = NULL;
	int r = pt_store_iolog_open(d->st, job->id, attempt, &w);

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

static int run_runner(int n, const char *dir, bool durable, double *ret_wall,
		      double *ret_cpu, long *rss_fifth, long *rss_end)
{
	struct pt_runner_config c;
	struct pt_runner *r = NULL;
	struct durable dur = { NULL };
	struct pt_runner_iolog_ops ops = { log_open, log_append, log_close,
					   &dur };
	char repo[600];
	struct pt_job *jobs;
	double t0, c0;
	int submitted = 0, done = 0, failed = 0, e;

	pt_runner_config_init(&c);
	c.jobs = 2;
	c.tmp_root = dir;
	c.io_log_dir = dir;
	c.session_id = "bench";
	if (getenv("BENCH_PORTS"))
		c.port_count =
			(unsigned)strtoul(getenv("BENCH_PORTS"), NULL, 10);
	if (durable) {
		struct pt_store_meta meta = { .title = "bench" };

		snprintf(repo, sizeof(repo), "%s/repo", dir);
		e = pt_store_create(repo, &meta, NULL, &dur.st);
		if (e < 0) {
			fprintf(stderr, "bench-runner: store: %s\n",
				pt_strerror(e));
			return e;
		}
		c.iolog = &ops;
		/* as proctor run: the running job is recorded at -j1 only */
		if (c.jobs == 1) {
			c.on_start = on_start;
			c.on_start_ctx = &dur;
		}
	}
	e = pt_runner_new(&c, &r);
	if (e < 0) {
		fprintf(stderr, "bench-runner: %s\n", pt_strerror(e));
		return e;
	}
	jobs = calloc((size_t)n, sizeof(*jobs));
	if (!jobs)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		jobs[i].id = "bench::true";
		jobs[i].partial_id = "true";
		jobs[i].command = "true";
		jobs[i].shell = "/bin/sh";
		jobs[i].timeout = -1;
		jobs[i].estimated_duration = -1;
	}
	t0 = now_s();
	c0 = cpu_s(RUSAGE_SELF);
	/*
	 * Submit as the session glue does: a window of ready jobs ahead of
	 * the running ones, so the queue stays small.
	 */
	while (done < n) {
		struct pt_run_done d;

		while (submitted < n &&
		       pt_runner_queued(r) + pt_runner_running(r) < 8) {
			struct pt_run_request q = { .job = &jobs[submitted],
						    .order =
							    (uint64_t)submitted,
						    .estimate = -1 };
			e = pt_runner_submit(r, &q);
			if (e < 0)
				goto out;
			submitted++;
		}
		e = pt_runner_step(r, -1, &d);
		if (e < 0)
			goto out;
		if (e == 1) {
			done++;
			if (d.result.outcome != PT_OUTCOME_PASS)
				failed++;
			if (dur.st) {
				e = pt_store_commit_result(dur.st, d.job->id,
							   &d.result,
							   PT_SYNC_NORMAL);
				if (e < 0)
					goto out;
			}
			if (done == n / 5)
				*rss_fifth = maxrss_kib();
		}
	}
	*ret_wall = now_s() - t0;
	*ret_cpu = cpu_s(RUSAGE_SELF) - c0;
	*rss_end = maxrss_kib();
	e = failed ? -EIO : 0;
	if (failed)
		fprintf(stderr, "bench-runner: %d jobs failed\n", failed);
out:
	pt_runner_free(r);
	pt_store_free(dur.st);
	free(jobs);
	return e;
}

int main(int argc, char **argv)
{
	int n = 5000, np;
	bool with_parallel = true;
	char dir[] = "/tmp/bench-runner-XXXXXX", cmd[512];
	double rw = 0, rc = 0, dw = 0, dc = 0, xw, pw = -1;
	long rss1 = 0, rss2 = 0, drss1 = 0, drss2 = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-parallel"))
			with_parallel = false;
		else
			n = (int)strtol(argv[i], NULL, 10);
	}
	if (n < 10)
		n = 10;
	/* The same number of jobs for every peer: parallel's start-up
	 * (~0.2 s) is amortised the same way. */
	np = n;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (run_runner(n, dir, false, &rw, &rc, &rss1, &rss2) < 0 ||
	    run_runner(n, dir, true, &dw, &dc, &drss1, &drss2) < 0)
		return 1;
	snprintf(cmd, sizeof(cmd), "seq %d | xargs -P2 -n1 /bin/sh -c true", n);
	xw = time_shell(cmd);
	if (with_parallel) {
		snprintf(cmd, sizeof(cmd),
			 "seq %d | parallel -j2 /bin/sh -c true >/dev/null",
			 np);
		if (system("command -v parallel >/dev/null 2>&1") == 0)
			pw = time_shell(cmd);
		else
			fprintf(stderr, "bench-runner: GNU parallel missing "
					"(PROCTOR_BENCH_DEPS=1 "
					"scripts/install-deps.sh)\n");
	}
	pt__rm_rf(dir);
	printf("# %d jobs `sh -c true` at -j2; durable = with the store\n", n);
	printf("metric runner_jobs_per_s %.1f jobs/s\n", n / rw);
	printf("metric runner_cpu_per_job_us %.1f us\n", rc / n * 1e6);
	printf("metric durable_jobs_per_s %.1f jobs/s\n", n / dw);
	printf("metric durable_cpu_per_job_us %.1f us\n", dc / n * 1e6);
	printf("metric runner_maxrss_after_%d_jobs %ld KiB\n", n / 5, rss1);
	printf("metric runner_maxrss_after_%d_jobs %ld KiB\n", n, rss2);
	printf("metric durable_maxrss_after_%d_jobs %ld KiB\n", n / 5, drss1);
	printf("metric durable_maxrss_after_%d_jobs %ld KiB\n", n, drss2);
	if (xw > 0) {
		printf("metric xargs_P2_jobs_per_s %.1f jobs/s\n", n / xw);
		printf("metric runner_vs_xargs_ratio %.2f x\n",
		       (n / rw) / (n / xw));
		printf("metric durable_vs_xargs_ratio %.2f x\n",
		       (n / dw) / (n / xw));
	}
	if (pw > 0) {
		printf("metric parallel_j2_jobs_per_s %.1f jobs/s (%d jobs)\n",
		       np / pw, np);
		printf("metric durable_vs_parallel_ratio %.2f x\n",
		       (n / dw) / (np / pw));
	}
	return 0;
}
