/*
 * proctor/runner.h - runs jobs: isolated processes, timeouts, io logs,
 * TCP port leases, locks, and the order in which ready jobs start.
 * Design and deviations from PlainBox: docs/runner.md.
 *
 * The runner is an event loop owned by one thread. The caller (the session
 * glue of `proctor run`) submits jobs that are READY (their inhibitors are
 * empty) and collects their completions with pt_runner_step(); it updates
 * readiness with each result and submits what became ready. The runner
 * never decides readiness: it only decides which ready job starts next.
 *
 * Scheduling rule. Up to `jobs` jobs run at once. When a slot is free, the
 * next job to start is, among the submitted jobs whose locks are free:
 *  - with jobs == 1: the one with the lowest `order` (the run-list
 *    position), so -j1 reproduces PlainBox's run order exactly;
 *  - with jobs > 1: the one with the longest estimated duration, ties
 *    (and unknown estimates, which count as 0) broken by lowest `order`
 *    (longest-processing-time first, which shortens the whole run).
 * Reordering ready jobs never breaks a declared ordering: depends, after
 * and before are readiness conditions, so a job that must wait for
 * another is not submitted before that one has finished.
 *
 * Per job: posix_spawn of `<shell> -c <command>` in a new session (own
 * process group), stdin /dev/null, every other inherited fd closed, a
 * private temporary directory (the working directory unless the job has
 * the preserve-cwd flag), a block of TCP ports leased to no other running
 * job (of this or any other proctor process of the same user), and the
 * environment variables PROCTOR_SESSION_ID, PROCTOR_JOB_ID,
 * PROCTOR_TMPDIR (and TMPDIR), PROCTOR_PORT_BASE, PROCTOR_PORT_COUNT,
 * PROCTOR_SEED, PROCTOR_ATTEMPT.
 *
 * Outcomes: exit 0 pass, other exit fail, killed by a signal crash,
 * timeout (PT_OUTCOME_TIMEOUT: SIGTERM to the group, then SIGKILL after
 * the grace period), and PT_OUTCOME_NONE ("not run") for jobs cancelled
 * by pt_runner_cancel(). When a job's main process exits, what is left
 * of its process group is killed.
 *
 * Thread-safety: none; one thread uses a runner. No signal handlers.
 */
#ifndef PROCTOR_RUNNER_H
#define PROCTOR_RUNNER_H

#include <proctor/common.h>
#include <proctor/result.h>
#include <proctor/unit.h>
#if __has_include(<proctor/store.h>)
# include <proctor/store.h> /* enum pt_stream */
#else
enum pt_stream {
	PT_STREAM_STDOUT = 1,
	PT_STREAM_STDERR = 2,
};
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct pt_runner;

/*
 * Where io logs go. By default the runner writes them itself as files in
 * io_log_dir; a caller with a session store passes these instead (the
 * store's pt_store_iolog_open / pt_iolog_append / pt_iolog_free). open is
 * called at a job's first output only: a silent job has no io log.
 */
struct pt_runner_iolog_ops {
	/* A new log for (job, attempt): handle in *ret, and the path its
	 * result's io_log shall name in *ret_path (copied by the runner). */
	int (*open)(void *ctx, const struct pt_job *job, unsigned attempt,
		    void **ret, const char **ret_path);
	int (*append)(void *ctx, void *log, int64_t offset_ns,
		      enum pt_stream stream, const void *data, size_t len);
	/* Ends the log (always called once after a successful open). */
	int (*close)(void *ctx, void *log);
	void *ctx;
};

/* Runner settings. Fill with pt_runner_config_init(), then adjust. */
struct pt_runner_config {
	unsigned jobs;		   /* concurrent jobs; 0: online CPUs */
	double timeout;		   /* default job timeout, s; <= 0: none */
	double grace;		   /* SIGTERM to SIGKILL, s (default 3) */
	const char *session_id;	   /* PROCTOR_SESSION_ID; NULL: "" */
	uint64_t seed;		   /* PROCTOR_SEED */
	const char *tmp_root;	   /* parent of job temp dirs; NULL: $TMPDIR
				      or /tmp */
	bool keep_tmp;		   /* keep the temp dirs (--keep-tmp) */
	const char *io_log_dir;	   /* where io logs go; NULL: not kept */
	const char *cwd;	   /* preserve-cwd jobs run here; NULL: the
				      caller's working directory */
	unsigned port_count;	   /* ports per job; 0: no lease (default 4) */
	unsigned port_min;	   /* leases come from [port_min, port_max) */
	unsigned port_max;	   /* (default 20000-32000, below the
				      kernel's ephemeral range) */
	const char *port_lock_dir; /* lock files shared by proctor processes;
				      NULL: pt_runner_port_lock_dir's */
	/* The process faults of `proctor run --chaos` ("kill@T",
	 * "pause@T:D"; call faults in it are the preloaded runtime's):
	 * done to each job's process group at seeded times; a job's
	 * chaos field "off" or a plan of its own wins. NULL: none.
	 * "kill-one@T" kills one process of the group (docs/chaos.md). */
	const char *chaos;
	/* Where the process faults done are logged, a line each (the
	 * session's chaos.log); NULL: not logged. */
	const char *chaos_log;
	bool clean_env;		   /* pass only PATH, HOME, USER, LOGNAME,
				      SHELL, LANG, LC_*, TZ, TERM and the
				      job's environ: names */
	const char *const *env;	   /* extra "NAME=value" for every job,
				      NULL-terminated; may be NULL */
	const struct pt_runner_iolog_ops *iolog; /* NULL: files in
				      io_log_dir (copied at creation) */
	/*
	 * Called just before a job is spawned (the store records the running
	 * job there). A negative return fails the job without starting it,
	 * with the error in its comments. May be NULL.
	 */
	int (*on_start)(void *ctx, const struct pt_job *job, void *udata,
			unsigned attempt);
	void *on_start_ctx;
};

/* Defaults: jobs 0, no timeout, grace 3 s, 4 ports in 20000-32000. */
PT_API void pt_runner_config_init(struct pt_runner_config *c);

/*
 * The directory of the port lease locks: one per machine, the same for
 * every user and environment (XDG_RUNTIME_DIR, TMPDIR do not matter):
 * /tmp/proctor-ports, made mode 1777 when missing, used only when other
 * users cannot tamper with it (a real directory owned by root or by us,
 * sticky if others may write it); else /tmp/proctor-ports-<uid> (made
 * 0700, same check), and *ret_notice says why and that leases are not
 * shared with other users. With dir not NULL, only dir is considered.
 * *ret and *ret_notice (may be set either way) are heap strings (free
 * with pt_free). Returns 0, -EPERM when no safe directory exists
 * (*ret_notice says why), -EINVAL or -ENOMEM.
 */
PT_API int pt_runner_port_lock_dir(const char *dir, char **ret,
				   char **ret_notice);

/*
 * Creates a runner. The config's strings are copied. Fails with -EINVAL
 * for an inconsistent config (for example fewer port blocks than jobs),
 * -EPERM when no safe port lock directory exists (see above).
 */
PT_API int pt_runner_new(const struct pt_runner_config *c,
			 struct pt_runner **ret);

/*
 * Kills every running job (SIGKILL to its group), reaps it, removes its
 * temp dir, and frees the runner. Completions not collected are lost.
 * NULL-safe; returns NULL.
 */
PT_API struct pt_runner *pt_runner_free(struct pt_runner *r);

/*
 * Running a job as another user (the job's `user:` field and the normal
 * user, pt_users_run_as()). From root to another user: the command runs
 * under `setpriv --reuid --regid --init-groups` with HOME, USER and
 * LOGNAME of that user, and the job's temporary directory is given to
 * it. From a normal user to root: `sudo -n -u root -- env NAME=value...
 * <shell> -c <command>` with the job's environment (sudo resets its
 * own; HOME, USER, LOGNAME, SHELL and MAIL are sudo's). refused: the job
 * does not start and fails with this message (sudo -n is not allowed).
 */
struct pt_run_as {
	const char *user; /* user name */
	unsigned uid, gid;
	const char *home;
	bool sudo;	     /* through sudo -n; else setpriv */
	const char *refused; /* non-NULL: fail with this, do not start */
};

/*
 * Who runs each job. normal_user (NULL or "": none) is the user of jobs
 * without `user:` when proctor runs as root (--normal-user, default
 * $SUDO_USER). Fails with PT_ENOTFOUND when that user does not exist
 * (*ret_error, if not NULL, gets a static message).
 */
struct pt_users;

PT_API int pt_users_new(const char *normal_user, struct pt_users **ret,
			const char **ret_error);
PT_API struct pt_users *pt_users_free(struct pt_users *u);
/*
 * How job runs: *ret NULL (as this process: the target, job->user or
 * else the normal user, is none or this process's user) or an entry
 * owned by u. The first job that needs sudo checks once whether
 * `sudo -n true` works; if not, the entries that need it carry a
 * refusal. 0 or -ENOMEM.
 */
PT_API int pt_users_run_as(struct pt_users *u, const struct pt_job *job,
			   const struct pt_run_as **ret);
/* The NORMAL_USER of jobs: the normal user, else this process's user. */
PT_API const char *pt_users_normal(const struct pt_users *u);
/*
 * Whether jobs run as a normal user other than this process's (root with
 * a normal user): what they share must then be reachable by that user.
 */
PT_API bool pt_users_switch(const struct pt_users *u);

/*
 * The provider environment of Checkbox jobs (docs/runner.md): per job,
 * "NAME=value" entries for pt_run_request.env.
 *  - PATH: the nest, a directory of symlinks to the executables of every
 *    provider of the job's namespace (first name wins), then $PATH;
 *    unchanged when no provider has that namespace.
 *  - PLAINBOX_SESSION_SHARE: session_share: made with mode 0777, or
 *    used if it is a directory of this user (anything else there, a
 *    symlink say, is -EPERM); its parent must exist.
 *  - from the job's provider (pt_units_job_provider), when known:
 *    PLAINBOX_PROVIDER_DATA, PLAINBOX_PROVIDER_UNITS, CHECKBOX_SHARE (its
 *    location), and unless the job has reset-locale, TEXTDOMAIN and
 *    PLAINBOX_PROVIDER_GETTEXT_DOMAIN, TEXTDOMAINDIR and
 *    PLAINBOX_PROVIDER_LOCALE_DIR; a directory that does not exist is not
 *    set.
 *  - NORMAL_USER (when given), SYSTEMD_IGNORE_CHROOT=1.
 *  - launcher_env ("NAME=value", a launcher's [environment]) for the
 *    names neither the process environment nor the above set.
 * Everything else (PYTHONPATH, CHECKBOX_RUNTIME, ...) passes from the
 * environment as the user gives it.
 */
struct pt_jobenv;

struct pt_jobenv_config {
	const struct pt_units *units;	 /* borrowed for the jobenv's life */
	const char *session_share;	 /* PLAINBOX_SESSION_SHARE */
	const char *const *launcher_env; /* NULL-terminated; may be NULL */
	const char *normal_user;	 /* NORMAL_USER; NULL: not set */
};

/* -EINVAL (no share, a launcher entry without '='), -errno, -ENOMEM. */
PT_API int pt_jobenv_new(const struct pt_jobenv_config *c,
			 struct pt_jobenv **ret);
/* Removes the nests. NULL-safe. */
PT_API struct pt_jobenv *pt_jobenv_free(struct pt_jobenv *e);
/* The entries for job (NULL-terminated, owned by e; stable until free). */
PT_API int pt_jobenv_get(struct pt_jobenv *e, const struct pt_job *job,
			 const char *const **ret);
PT_API const char *pt_jobenv_share(const struct pt_jobenv *e);

/* A job to run. */
struct pt_run_request {
	const struct pt_job *job; /* borrowed until its completion is
				     returned by pt_runner_step() */
	uint64_t order;		  /* run-list position: the tie-break */
	double estimate;	  /* expected seconds; < 0: unknown */
	unsigned attempt;	  /* PROCTOR_ATTEMPT; 0 counts as 1 */
	double timeout;		  /* > 0: overrides job->timeout and the
				     default */
	const char *io_log;	  /* io log path; NULL: derived from
				     io_log_dir, the job id and attempt */
	void *udata;		  /* returned with the completion */
	/* "NAME=value" for this job only, replacing the same names of the
	 * runner's environment (the provider environment, pt_jobenv_get);
	 * NULL-terminated; NULL: none. Borrowed until the completion. */
	const char *const *env;
	/* Another user to run the command as; NULL: the runner's own.
	 * Borrowed until the completion. */
	const struct pt_run_as *run_as;
};

/*
 * Queues a ready job. The job's command, shell, environ, locks, timeout
 * and flags (preserve-cwd, reset-locale) are used. Returns 0,
 * -EINVAL (no job), PT_ESTATE after pt_runner_cancel(), or -ENOMEM.
 */
PT_API int pt_runner_submit(struct pt_runner *r,
			    const struct pt_run_request *req);

/* A finished (or cancelled) job. */
struct pt_run_done {
	const struct pt_job *job;
	void *udata;
	uint64_t order;
	unsigned attempt;
	bool started; /* false: cancelled before it started */
	bool timed_out;
	int wait_status;	 /* raw waitpid status; 0 if not started */
	struct pt_result result; /* outcome, return code, duration, comments,
				    io_log (the file in io_log_dir, or the
				    path the iolog ops gave; NULL when the
				    job printed nothing or logs are not
				    kept) */
	const char *tmpdir;	 /* the job's temp dir: emptied now (the
				    directory is reused by later jobs and
				    removed by pt_runner_free), or kept
				    as it is with keep_tmp */
	unsigned port_base;	 /* the lease it had; 0 if none */
	unsigned port_count;
	uint64_t out_bytes; /* bytes read from stdout / stderr */
	uint64_t err_bytes;
	uint64_t maxrss_kib; /* peak resident memory of its process and the
				children it waited for (wait4); 0 if unknown */
	unsigned lane; /* the slot it ran in, 0 .. jobs - 1 (0 if not
			  started) */
};

/*
 * Runs the loop once: starts queued jobs while slots are free, reads
 * output, enforces deadlines, and waits at most timeout_ms (-1: no limit)
 * for a job to end. Returns 1 with *ret filled when a job ended (its
 * strings are valid until the next pt_runner_step() or pt_runner_free()),
 * 0 when timeout_ms passed or when nothing is queued or running, or a
 * negative error (the runner stays usable).
 */
PT_API int pt_runner_step(struct pt_runner *r, int timeout_ms,
			  struct pt_run_done *ret);

/* Jobs running now / queued (submitted, not started). */
PT_API size_t pt_runner_running(const struct pt_runner *r);
PT_API size_t pt_runner_queued(const struct pt_runner *r);

/*
 * For callers that poll other fds too (a signalfd, a terminal): an fd
 * that is readable when pt_runner_step() has I/O to handle, and the time
 * in ms until its next deadline (-1: none, 0: work can be done now).
 * Poll both, then call pt_runner_step(r, 0, ...).
 */
PT_API int pt_runner_fd(const struct pt_runner *r);
PT_API int pt_runner_timeout(const struct pt_runner *r);

/*
 * Stops starting jobs: every queued job comes back from pt_runner_step()
 * with started = false and outcome NONE. With terminate, running jobs get
 * SIGTERM (then SIGKILL after the grace period) and come back with
 * outcome NONE and the comment "interrupted"; without, they finish
 * normally (--fail-fast). Further submits fail with PT_ESTATE.
 */
PT_API void pt_runner_cancel(struct pt_runner *r, bool terminate);

/*
 * io logs: a job's output as records (time offset, stream, bytes) in the
 * order read. The format is the store's (docs/store.md), so the store and
 * the runner read each other's logs: the 8 bytes "PTIOLOG1", then records
 * { u8 stream (1 stdout, 2 stderr), 3 zero bytes, u32 length, i64
 * offset_ns since the job started, the bytes, u32 CRC-32 of all that }
 * (little-endian). A crash can only tear the last record, which reads as
 * the end of the log.
 *
 * Readers by path (the store's pt_store_iolog_read needs a session
 * handle); streaming, at most one record in memory.
 */
struct pt_runner_iolog;

struct pt_runner_iolog_rec {
	int64_t offset_ns;
	enum pt_stream stream;
	const unsigned char *data; /* valid until the next call */
	size_t len;
};

PT_API int pt_runner_iolog_open(const char *path, struct pt_runner_iolog **ret);
/*
 * Next record: 1 and *rec filled, 0 at the end (or at a torn last
 * record), PT_ECORRUPT for damage (pt_runner_iolog_offset() says where),
 * or -errno.
 */
PT_API int pt_runner_iolog_next(struct pt_runner_iolog *r,
				struct pt_runner_iolog_rec *rec);
/* Byte offset of the next (or the damaged) record. */
PT_API uint64_t pt_runner_iolog_offset(const struct pt_runner_iolog *r);
PT_API struct pt_runner_iolog *pt_runner_iolog_close(struct pt_runner_iolog *r);

/*
 * The bytes of the streams in mask (PT_STREAM_* bits), concatenated in
 * record order. When they exceed limit, only the LAST limit bytes are
 * kept and *ret_truncated is set (may be NULL). NUL-terminated heap
 * string, free with pt_free(). path NULL (a job that printed nothing)
 * gives "".
 */
PT_API int pt_runner_iolog_read(const char *path, unsigned mask, size_t limit,
				char **ret, size_t *ret_len,
				bool *ret_truncated);

#ifdef __cplusplus
}
#endif

#endif
