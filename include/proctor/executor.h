/*
 * proctor/executor.h - the seam between a session run and what executes
 * its jobs: the local runner (pt_executor_local()), and executors that
 * plug in later (a cluster scheduler, persistent workers). The contract
 * and its reasons are in docs/run.md ("The executor seam").
 *
 * A session run decides WHAT may run (readiness, retries, the commit of
 * each result before a dependent starts); an executor decides HOW and
 * WHEN a job it was given runs: it starts it with its environment,
 * directory and limits, streams its output to the io log sink, learns how
 * it ended, and cancels it. The run drives it from one thread:
 *
 *     bind(cfg, host)         -> an executor instance
 *     start(spec)             a ready job; the executor may queue it
 *                             (at most cfg->jobs run at once) and starts
 *                             it when a lane is free and its locks are
 *     attach(spec, handle)    PT_EXEC_PERSISTENT only: after a crash of
 *                             the run, re-adopt a job that host
 *                             save_handle() recorded; it completes as if
 *                             started now
 *     step(timeout_ms, done)  one turn of the executor: 1 and *done for a
 *                             job that ended, 0 when nothing did
 *     fd() / timeout()        what to poll between steps (fd -1: none)
 *     running() / queued()    jobs started / given but not started
 *     cancel(terminate)       stop starting; with terminate, end the
 *                             running jobs too (outcome NONE)
 *     release()               ends every job still running, frees all
 *
 * Rules every executor keeps (tests/runner/test-executor.c checks them
 * for the local one):
 *  - every spec given to start() or attach() comes back from step()
 *    exactly once (cancelled or not), with its udata and attempt;
 *  - host->on_start() is called before a job starts (a negative return
 *    fails it without starting: started false, its error as comments);
 *  - a persistent executor calls host->save_handle() with the job's
 *    external id BEFORE the job can outlive a crash of the run unseen
 *    (the host records it durably before returning);
 *  - output goes to host->iolog when set, opened at the first byte;
 *  - the executor never decides readiness and never touches the store.
 *
 * Thread-safety: none; one thread drives an instance.
 */
#ifndef PROCTOR_EXECUTOR_H
#define PROCTOR_EXECUTOR_H

#include <proctor/common.h>
#include <proctor/result.h>
#include <proctor/unit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bits of struct pt_executor_ops.flags. */
enum pt_exec_flag {
	/* Jobs outlive the process that started them (a cluster job):
	 * save_handle is called and attach() must be set. */
	PT_EXEC_PERSISTENT = 1u << 0,
	/* It does the process faults of --chaos (kill@T, kill-one@T,
	 * pause@T:D: cfg->chaos); without it a run refuses a plan that has
	 * them. Call faults need only cfg->env honoured. */
	PT_EXEC_PROCESS_FAULTS = 1u << 1,
};

/* Streams of a job's output (the store's enum pt_stream values). */
#define PT_EXEC_STDOUT 1
#define PT_EXEC_STDERR 2

/*
 * Where a job's output goes: one log per (job, attempt), opened at its
 * first byte (a silent job has none); records (offset since the start,
 * stream, bytes) appended in the order read; closed once after a
 * successful open. The store's pt_store_iolog_open/pt_iolog_append are
 * the usual sink.
 */
struct pt_exec_iolog_ops {
	int (*open)(void *ctx, const struct pt_job *job, unsigned attempt,
		    void **ret, const char **ret_path);
	int (*append)(void *ctx, void *log, int64_t offset_ns, int stream,
		      const void *data, size_t len);
	int (*close)(void *ctx, void *log);
	void *ctx;
};

struct pt_run_as;

/* A job to execute. Strings and arrays are borrowed until it completes. */
struct pt_exec_spec {
	const struct pt_job *job; /* command, shell, environ, locks, flags */
	const char *const *argv;  /* NULL: <job shell> -c <job command> */
	const char *const *env;	  /* extra "NAME=value", NULL-terminated;
				     NULL: none */
	const char *cwd;	  /* NULL: a private temporary directory (or
				     the run's directory: preserve-cwd) */
	double timeout;		  /* s; <= 0: the job's, else cfg->timeout */
	unsigned attempt;	  /* 1, 2... (PROCTOR_ATTEMPT) */
	uint64_t order;		  /* run-list position: tie-break */
	double estimate;	  /* expected seconds; < 0 unknown */
	void *udata;		  /* returned with the completion */
	/* Another user to run the job as (<proctor/runner.h>); NULL: the
	 * executor's own. An executor that cannot switch users refuses a
	 * spec with one (-ENOTSUP). */
	const struct pt_run_as *run_as;
};

/* How a job ended. Strings are valid until the next step()/release(). */
struct pt_exec_done {
	const struct pt_job *job;
	void *udata;
	unsigned attempt;
	bool started;	     /* false: cancelled (or refused) before start */
	bool timed_out;	     /* its time limit ended it */
	int wait_status;     /* raw wait status when a process ran, else 0 */
	unsigned lane;	     /* where it ran: 0 .. cfg->jobs - 1 (the timeline
				of a report draws one row per lane) */
	const char *handle;  /* the external id it had; NULL: none */
	uint64_t maxrss_kib; /* peak resident memory, KiB; 0: unknown */
	struct pt_result result; /* outcome, return code (-signal when
			     killed), duration, comments (the reason text:
			     timeout, signal, cannot start...), io_log */
};

/* What a run asks of an executor (options of `proctor run`). */
struct pt_exec_config {
	unsigned jobs;		/* lanes: jobs at once (>= 1) */
	double timeout;		/* default per-job timeout, s; <= 0 none */
	const char *session_id; /* PROCTOR_SESSION_ID */
	uint64_t seed;		/* PROCTOR_SEED */
	const char *cwd;	/* the run's directory (preserve-cwd jobs) */
	bool keep_tmp;		/* keep the jobs' temporary directories */
	int ports;		/* TCP ports per job; < 0: the default */
	/* Executor-specific settings, "key=value", NULL-terminated (for
	 * example a cluster partition); unknown keys are -EINVAL. */
	const char *const *options;
	/* Extra "NAME=value" for every job (overriding the run's own
	 * environment), NULL-terminated; NULL: none. */
	const char *const *env;
	/* `--chaos`: its process faults (kill@T, kill-one@T, pause@T:D)
	 * are the executor's to do (PT_EXEC_PROCESS_FAULTS; an executor
	 * without it may refuse a plan with them: -ENOTSUP); NULL: none.
	 * chaos_log: the file that records them, a line each (docs/chaos.md);
	 * NULL: not recorded. */
	const char *chaos;
	const char *chaos_log;
};

/* The run's side of the seam. Every callback may be NULL. */
struct pt_exec_host {
	/* Before a job starts (the run records the running job). */
	int (*on_start)(void *ctx, const struct pt_job *job, void *udata,
			unsigned attempt);
	/*
	 * A persistent executor's external id for a started job: recorded
	 * durably (pt_store_set_handle) before it returns. A negative
	 * return makes the executor cancel the job.
	 */
	int (*save_handle)(void *ctx, const struct pt_job *job, void *udata,
			   unsigned attempt, const char *handle);
	const struct pt_exec_iolog_ops *iolog; /* NULL: output not kept */
	void *ctx;
};

/* An executor implementation. */
struct pt_executor_ops {
	const char *name; /* "local", "slurm"... */
	unsigned flags;	  /* enum pt_exec_flag */
	int (*bind)(const struct pt_exec_config *cfg,
		    const struct pt_exec_host *host, void **ret);
	int (*start)(void *ex, const struct pt_exec_spec *spec);
	/* NULL unless PT_EXEC_PERSISTENT. PT_ENOTFOUND: the job is gone. */
	int (*attach)(void *ex, const struct pt_exec_spec *spec,
		      const char *handle);
	int (*step)(void *ex, int timeout_ms, struct pt_exec_done *ret);
	int (*fd)(void *ex);
	int (*timeout)(void *ex);
	size_t (*running)(void *ex);
	size_t (*queued)(void *ex);
	void (*cancel)(void *ex, bool terminate);
	void (*release)(void *ex);
};

/*
 * The local executor: jobs run on this machine through struct pt_runner
 * (docs/runner.md: isolated process groups, private temporary
 * directories, TCP port leases, locks, longest-first at -jN, run-list
 * order at -j1). Not persistent: a job dies with the run and runs again
 * on resume. Options: none.
 */
PT_API const struct pt_executor_ops *pt_executor_local(void);

#ifdef __cplusplus
}
#endif

#endif
