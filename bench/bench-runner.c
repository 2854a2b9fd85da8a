/*
 * bench-runner - N trivial jobs (`sh -c true`) at -j2 through the runner,
 * against `xargs -P2` and GNU `parallel -j2` running the same command in
 * the same run. Prints jobs/s, the ratios, the runner's own CPU per job
 * (getrusage of this process, which excludes the jobs) and its RSS after
 * N/5 and after N jobs (memory must stay flat).
 *
 *	./build/bench/bench-runner [N] [--rounds R] [--no-parallel]
 *
 * Runner figures: bare (io logs as files, no store); durable, as
 * `proctor run` does it at -jN: a session in a store, io logs through the
 * store, every result committed (PT_SYNC_NORMAL) before it is reported,
 * results of short passing jobs in groups (pt_store_group_add: one
 * transaction per PT_STORE_GROUP_WINDOW_NS); and durable-each, one
 * transaction per result. The running job is recorded at each start only
 * at -j1 (docs/runner.md), so not here.
 *
 * A second peer is the floor: a plain loop of posix_spawn (the same file
 * actions and flags), two pipes, a pidfd and epoll, the group kill and
 * waitpid, at -j2 - what any runner of this process model pays. The
 * runner's CPU above it is its own bookkeeping.
 *
 * The machine is a shared VM: every figure is the median of R rounds
 * (default 3), the peers measured inside each round.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <proctor/proctor.h>

#include "os/file.h"

extern char **environ;

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

/* Resident set size now (the peak would carry over between modes). */
static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
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

enum mode { BARE, DURABLE, DURABLE_EACH };

static int run_runner(int n, const char *dir, enum mode mode, double *ret_wall,
		      double *ret_cpu, long *rss_fifth, long *rss_end,
		      size_t *ret_commits)
{
	bool durable = mode != BARE, group = mode == DURABLE;
	size_t commits = 0;
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

		snprintf(repo, sizeof(repo), "%s/repo-%d", dir, (int)mode);
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
		int timeout_ms = -1;

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
		/* As proctor run: a due group, or one that would hold up an
		 * idle slot, is committed now; else wait at most until due. */
		if (dur.st && pt_store_group_pending(dur.st)) {
			int64_t left = pt_store_group_due_ns(dur.st) -
				       (int64_t)(now_s() * 1e9);
			if (left <= 0 ||
			    pt_runner_queued(r) + pt_runner_running(r) <
				    c.jobs) {
				e = pt_store_group_commit(dur.st);
				if (e < 0)
					goto out;
				commits++;
			} else {
				timeout_ms = (int)((left + 999999) / 1000000);
			}
		}
		e = pt_runner_step(r, timeout_ms, &d);
		if (e < 0)
			goto out;
		if (e == 1) {
			done++;
			if (d.result.outcome != PT_OUTCOME_PASS)
				failed++;
			if (dur.st && group &&
			    pt_store_group_may_wait(&d.result)) {
				e = pt_store_group_add(dur.st, d.job->id,
						       &d.result);
			} else if (dur.st) {
				e = pt_store_commit_result(dur.st, d.job->id,
							   &d.result,
							   PT_SYNC_NORMAL);
				commits++;
			}
			if (e < 0)
				goto out;
			if (done == n / 5)
				*rss_fifth = rss_kib();
		}
	}
	if (dur.st && pt_store_group_pending(dur.st)) {
		e = pt_store_group_commit(dur.st);
		if (e < 0)
			goto out;
		commits++;
	}
	*ret_wall = now_s() - t0;
	*ret_cpu = cpu_s(RUSAGE_SELF) - c0;
	*rss_end = rss_kib();
	*ret_commits = commits;
	e = failed ? -EIO : 0;
	if (failed)
		fprintf(stderr, "bench-runner: %d jobs failed\n", failed);
out:
	pt_runner_free(r);
	pt_store_free(dur.st);
	free(jobs);
	return e;
}

/*
 * The floor: n jobs `/bin/sh -c true` at -j2 with what the process model
 * needs and nothing else (posix_spawn with the runner's file actions and
 * flags, two pipes, a pidfd, epoll, the group kill, waitpid). Returns the
 * CPU seconds of this process, or -1.
 */
static double run_floor(int n)
{
	static char sh[] = "/bin/sh", dash_c[] = "-c", cmd[] = "true";
	char *const argv[] = { sh, dash_c, cmd, NULL };
	struct {
		pid_t pid;
		int fd[3]; /* pidfd, stdout, stderr */
	} slot[2] = { { 0, { -1, -1, -1 } }, { 0, { -1, -1, -1 } } };
	int ep = epoll_create1(EPOLL_CLOEXEC), running = 0, started = 0,
	    done = 0;
	double c0 = cpu_s(RUSAGE_SELF);

	if (ep < 0)
		return -1;
	while (done < n) {
		struct epoll_event ev[8];
		int k;

		while (running < 2 && started < n) {
			posix_spawn_file_actions_t fa;
			posix_spawnattr_t at;
			sigset_t none, all;
			int o[2], e[2], i = slot[0].pid ? 1 : 0, rc;

			if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0)
				return -1;
			posix_spawn_file_actions_init(&fa);
			posix_spawnattr_init(&at);
			posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
							 O_RDONLY, 0);
			posix_spawn_file_actions_adddup2(&fa, o[1], 1);
			posix_spawn_file_actions_adddup2(&fa, e[1], 2);
			posix_spawn_file_actions_addclosefrom_np(&fa, 3);
			sigemptyset(&none);
			sigfillset(&all);
			sigdelset(&all, SIGKILL);
			sigdelset(&all, SIGSTOP);
			posix_spawnattr_setflags(
				&at, POSIX_SPAWN_SETSID |
					     POSIX_SPAWN_SETSIGMASK |
					     POSIX_SPAWN_SETSIGDEF);
			posix_spawnattr_setsigmask(&at, &none);
			posix_spawnattr_setsigdefault(&at, &all);
			rc = posix_spawn(&slot[i].pid, argv[0], &fa, &at, argv,
					 environ);
			posix_spawn_file_actions_destroy(&fa);
			posix_spawnattr_destroy(&at);
			close(o[1]);
			close(e[1]);
			if (rc)
				return -1;
			slot[i].fd[0] =
				(int)syscall(SYS_pidfd_open, slot[i].pid, 0);
			slot[i].fd[1] = o[0];
			slot[i].fd[2] = e[0];
			for (int f = 0; f < 3; f++) {
				struct epoll_event add = {
					.events = EPOLLIN,
					.data.u32 = (uint32_t)(i << 2 | f)
				};
				if (epoll_ctl(ep, EPOLL_CTL_ADD, slot[i].fd[f],
					      &add) < 0)
					return -1;
			}
			running++;
			started++;
		}
		k = epoll_wait(ep, ev, 8, -1);
		for (int j = 0; j < k; j++) {
			int i = (int)(ev[j].data.u32 >> 2),
			    f = (int)(ev[j].data.u32 & 3);

			if (slot[i].fd[f] < 0)
				continue;
			if (f > 0) { /* `true` prints nothing: a hang-up */
				close(slot[i].fd[f]);
				slot[i].fd[f] = -1;
				continue;
			}
			kill(-slot[i].pid, SIGKILL);
			waitpid(slot[i].pid, NULL, 0);
			for (f = 0; f < 3; f++) {
				if (slot[i].fd[f] >= 0)
					close(slot[i].fd[f]);
				slot[i].fd[f] = -1;
			}
			slot[i].pid = 0;
			running--;
			done++;
		}
	}
	close(ep);
	return cpu_s(RUSAGE_SELF) - c0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorts v). */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_ROUNDS 15

int main(int argc, char **argv)
{
	int n = 5000, rounds = 3, only = -1;
	bool with_parallel = true;
	char dir[] = "/tmp/bench-runner-XXXXXX", cmd[512];
	/* per round: wall and CPU per mode, xargs wall, floor CPU */
	double w[3][MAX_ROUNDS], cpu[3][MAX_ROUNDS], xw[MAX_ROUNDS],
		fc[MAX_ROUNDS], pw = -1;
	long rss1[3] = { 0 }, rss2[3] = { 0 };
	size_t commits[3] = { 0 };
	static const char *const name[3] = { "runner", "durable",
					     "durable_each" };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-parallel"))
			with_parallel = false;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = (int)strtol(argv[++i], NULL, 10);
		else
			n = (int)strtol(argv[i], NULL, 10);
	}
	if (n < 10)
		n = 10;
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 3;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "seq %d | xargs -P2 -n1 /bin/sh -c true", n);
	for (int k = 0; k < rounds; k++) {
		if (only >= 0) { /* profiling one mode: nothing else */
			if (run_runner(n, dir, (enum mode)only, &w[0][k],
				       &cpu[0][k], &rss1[0], &rss2[0],
				       &commits[0]) < 0)
				return 1;
			printf("metric %s_cpu_per_job_us %.1f us\n", name[only],
			       cpu[0][k] / n * 1e6);
			continue;
		}
		for (int m = 0; m < 3; m++) {
			if (run_runner(n, dir, (enum mode)m, &w[m][k],
				       &cpu[m][k], &rss1[m], &rss2[m],
				       &commits[m]) < 0)
				return 1;
		}
		xw[k] = time_shell(cmd);
		fc[k] = run_floor(n);
		if (xw[k] < 0 || fc[k] < 0)
			return 1;
		/* Each round starts with empty sessions. */
		pt__rm_rf(dir);
		if (pt__mkdir_p(dir, 0700) < 0)
			return 1;
	}
	if (only >= 0)
		return 0;
	if (with_parallel) {
		/* The same number of jobs (parallel's ~0.2 s start-up is
		 * amortised the same way); once: it is slow. */
		snprintf(cmd, sizeof(cmd),
			 "seq %d | parallel -j2 /bin/sh -c true >/dev/null", n);
		if (system("command -v parallel >/dev/null 2>&1") == 0)
			pw = time_shell(cmd);
		else
			fprintf(stderr, "bench-runner: GNU parallel missing "
					"(PROCTOR_BENCH_DEPS=1 "
					"scripts/install-deps.sh)\n");
	}
	pt__rm_rf(dir);
	printf("# %d jobs `sh -c true` at -j2, median of %d rounds; durable ="
	       " with the store (grouped commits), durable_each = one"
	       " transaction per result\n",
	       n, rounds);
	{
		double x = median(xw, rounds),
		       floor_us = median(fc, rounds) / n * 1e6;

		printf("metric xargs_P2_jobs_per_s %.1f jobs/s\n", n / x);
		printf("metric floor_cpu_per_job_us %.1f us\n", floor_us);
		for (int m = 0; m < 3; m++) {
			double wm = median(w[m], rounds),
			       cm = median(cpu[m], rounds) / n * 1e6;

			printf("metric %s_jobs_per_s %.1f jobs/s\n", name[m],
			       n / wm);
			printf("metric %s_cpu_per_job_us %.1f us\n", name[m],
			       cm);
			printf("metric %s_cpu_over_floor_us %.1f us\n", name[m],
			       cm - floor_us);
			printf("metric %s_vs_xargs_ratio %.2f x\n", name[m],
			       x / wm);
			printf("metric %s_rss_after_%d_jobs %ld KiB\n", name[m],
			       n / 5, rss1[m]);
			printf("metric %s_rss_after_%d_jobs %ld KiB\n", name[m],
			       n, rss2[m]);
			if (m > 0)
				printf("metric %s_results_per_commit %.1f\n",
				       name[m], (double)n / (double)commits[m]);
		}
		if (pw > 0) {
			printf("metric parallel_j2_jobs_per_s %.1f jobs/s\n",
			       n / pw);
			printf("metric durable_vs_parallel_ratio %.2f x\n",
			       pw / median(w[1], rounds));
		}
	}
	return 0;
}
