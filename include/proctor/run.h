/*
 * proctor/run.h - a session run as a library: create a session from unit
 * files and a plan (or resume one), drive it to its end or until it is
 * cancelled, and render its reports from the store alone. `proctor run`,
 * `resume`, `report` and `why` are thin clients of this API. Design:
 * docs/run.md; what runs a job is behind the executor seam
 * (<proctor/executor.h>).
 *
 * The rules the run owns: a job starts only when the session engine says
 * it can (dependencies, resources, manifest); a job that cannot start
 * gets the outcome its inhibitors imply; every result is committed to
 * the store BEFORE anything that depends on it starts and before it is
 * reported (short passes at -jN may share one commit: docs/runner.md);
 * resource jobs feed templates whose generated jobs join the run;
 * --retries/--repeat/--until-fail/--fail-fast; operator verdicts for
 * manual and *-verify jobs; the running-job rule and the check of
 * changed job definitions on resume.
 *
 * The library never prints: what a command-line tool prints comes
 * through struct pt_run_events. One thread drives a run; no signal
 * handlers (a caller that handles signals gives their fd as wake_fd).
 *
 * Ownership: struct pt_run owns its units, session, store and executor.
 */
#ifndef PROCTOR_RUN_H
#define PROCTOR_RUN_H

#include <proctor/common.h>
#include <proctor/executor.h>
#include <proctor/report.h>
#include <proctor/result.h>
#include <proctor/session.h>
#include <proctor/store.h>
#include <proctor/unit.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pt_run;

/* The options of `proctor run` and `resume`. Strings are copied. */
struct pt_run_options {
	const char *repo;	  /* session repository; NULL: the default */
	const char *const *paths; /* unit files and provider directories */
	size_t n_paths;
	const char *plan;	    /* test plan id; NULL: every job */
	const char *ns;		    /* namespace of unit files given directly */
	const char *const *include; /* POSIX extended regular expressions */
	size_t n_include;	    /* matching whole job ids */
	const char *const *exclude;
	size_t n_exclude;
	unsigned jobs;	  /* jobs at once; 0: resume: the session's */
	double timeout;	  /* default job timeout, s; <= 0: none */
	bool keep_tmp;	  /* keep the jobs' temporary directories */
	unsigned repeat;  /* run every job N times (flaky detection) */
	bool until_fail;  /* with repeat: stop a job at its first fail */
	bool shuffle;	  /* shuffle the order of independent jobs */
	uint64_t seed;	  /* PROCTOR_SEED and the shuffle's seed */
	bool fail_fast;	  /* stop starting jobs after the first failure */
	unsigned retries; /* run a failed job again, up to N times */
	int ports;	  /* TCP ports per job; < 0: the default (4) */
	/* Default budget of jobs without a budget field (0: none); over
	 * budget is a note in the result, a fail with budget_fail. */
	double budget_time;	/* seconds */
	uint64_t budget_memory; /* bytes of peak resident memory */
	bool budget_fail;
	/* An attempt more than slow_factor times its job's median duration
	 * in the repository's history (and 40 ms more) gets a note; 0: 3,
	 * the default; < 0: never (a noisy machine, exact-output tests). */
	double slow_factor;
	/* Seeded faults (docs/chaos.md): "CALL:ERR[:RATE][@FILTER],...",
	 * process faults "kill@T", "kill-one@T", "pause@T:D", injected by
	 * the preloaded runtime at chaos_runtime and by the executor; NULL
	 * or "off": none. Kept in the session: resume injects the same
	 * plan unless given another one or "off". */
	const char *chaos;
	const char *chaos_runtime;
	bool rerun_failed;   /* resume: run failed jobs again */
	bool accept_changed; /* resume: even though definitions changed */
	/*
	 * NULL when an operator answers (events.verdict set); otherwise why
	 * none does ("no terminal", "--non-interactive"): manual,
	 * user-interact and *-verify jobs are then skipped with the comment
	 * "needs an operator: skipped (<no_operator>)".
	 */
	const char *no_operator;
	/*
	 * Manifest answers (a JSON file as checkbox-cli writes it) for the
	 * job com.canonical.plainbox::manifest, whose records are then made
	 * from them (pt_session_run_manifest) instead of running it; NULL:
	 * every entry unanswered. An unreadable or invalid file is a
	 * PT_RUN_MSG_USAGE message and pt_run_new fails. Kept on resume.
	 */
	const char *manifest;
	const struct pt_executor_ops *executor; /* NULL: pt_executor_local() */
	const char *const *executor_options; /* NULL-terminated; may be NULL */
	/*
	 * Checkbox (docs/checkbox.md). As root, jobs without `user: root`
	 * run as normal_user (NULL: none; a user that does not exist is
	 * PT_RUN_MSG_USAGE and no session is made). job_env: "NAME=value"
	 * set for every job whose environment lacks NAME (a launcher's
	 * [environment]; NULL-terminated, may be NULL). launcher_text: the
	 * launcher of the session, kept with it for its submission. With
	 * jobs 0, a run of Checkbox providers is serial (-j1), any other
	 * runs one job per CPU. Kept by resume.
	 */
	const char *normal_user;
	const char *const *job_env;
	const char *launcher_text;
	/*
	 * Manifest answers "ID=VALUE" (a launcher's [manifest]), set after
	 * the manifest file's (pt_manifest_set: true/yes/on, false/no/off or
	 * a number); a bad value is PT_RUN_MSG_USAGE. NULL-terminated, may
	 * be NULL. Kept by resume.
	 */
	const char *const *manifest_answers;
};

/* Zeroes o, then ports = -1. */
PT_API void pt_run_options_init(struct pt_run_options *o);

/* What the caller should say, and how the command should end. */
enum pt_run_msg {
	PT_RUN_MSG_NOTE,    /* information ("warning: <solver problem>") */
	PT_RUN_MSG_WARNING, /* the run goes on */
	PT_RUN_MSG_ERROR,   /* the run failed */
	PT_RUN_MSG_USAGE,   /* a bad option value (a pattern) */
	PT_RUN_MSG_INVALID, /* the plan cannot be built: no such plan,
			       nothing selected, changed jobs on resume */
	PT_RUN_MSG_STORAGE, /* session storage locked, corrupt, failing */
};

/* The end of a job's output shown to the operator of a *-verify job. */
struct pt_run_output {
	const char *text; /* stdout and stderr as they came; may be NULL */
	size_t len;
	bool cut; /* only the last PT_RUN_VERIFY_SHOW bytes */
};

#define PT_RUN_VERIFY_SHOW (4u << 10)

/* An operator's answer. comments is copied; NULL: none. */
struct pt_run_verdict {
	enum pt_outcome outcome; /* PASS, FAIL or SKIP */
	const char *comments;
};

/* Callbacks; any may be NULL. ctx is passed to each. */
struct pt_run_events {
	/* Diagnostics of unit loading (and of template instantiation during
	 * the run), from index `from` on. */
	void (*diags)(void *ctx, const struct pt_diags *d, size_t from);
	void (*message)(void *ctx, enum pt_run_msg kind, const char *text);
	/* A job's process is about to start (attempt 1, 2...). */
	void (*job_started)(void *ctx, const struct pt_job *job,
			    unsigned attempt);
	/* A job's final result, durable in the store. */
	void (*job_finished)(void *ctx, const struct pt_job *job,
			     const struct pt_result *res);
	/* resume: the running-job rule gave job_id this result. */
	void (*recovered)(void *ctx, const char *job_id,
			  const struct pt_result *res);
	/* Counts changed, or tick_ms passed: a status line may be drawn
	 * (pt_run_progress). */
	void (*progress)(void *ctx, struct pt_run *run);
	/* user-interact(-verify): the operator is ready (before the command).
	 */
	void (*confirm)(void *ctx, const struct pt_job *job);
	/*
	 * A verdict on a manual job (ran NULL) or a *-verify job (ran: how
	 * its command ended, out: the end of its output). 0 and *ret, or a
	 * negative value when no answer came (the job is skipped: "no
	 * answer from the operator").
	 */
	int (*verdict)(void *ctx, const struct pt_job *job,
		       const struct pt_result *ran,
		       const struct pt_run_output *out,
		       struct pt_run_verdict *ret);
	/* An fd polled with the executor's (a signalfd); -1: none. When it
	 * is readable, wake() is called (it may cancel or abort the run). */
	int wake_fd;
	void (*wake)(void *ctx, struct pt_run *run);
	int tick_ms; /* > 0: progress() at least this often */
	void *ctx;
};

/*
 * A new session from o->paths and o->plan: loads the units, selects and
 * solves the plan, creates the session in the store (its plan, the jobs'
 * definitions as run, the desired list) and shuffles when asked. Errors
 * come with a message (events.message) whose kind says how to end.
 */
PT_API int pt_run_new(const struct pt_run_options *o,
		      const struct pt_run_events *ev, struct pt_run **ret);

/*
 * Resumes the session of st (a writer; owned by the run from now on, also
 * on failure): reloads the units of its stored plan, replays its results,
 * applies the running-job rule, refuses changed definitions unless
 * accept_changed (PT_ECHANGED), clears failed results with rerun_failed.
 * Of o, only jobs, timeout, ports, rerun_failed, accept_changed,
 * no_operator, executor, chaos and chaos_runtime are used (0 / <= 0 /
 * < 0 / NULL: the session's; chaos "off": no faults this time; a session
 * with a chaos plan needs chaos_runtime, or PT_RUN_MSG_USAGE).
 */
PT_API int pt_run_resume(struct pt_store *st, const struct pt_run_options *o,
			 const struct pt_run_events *ev, struct pt_run **ret);

/*
 * A session for reading (report, why, show): rebuilt from the store
 * alone (the job definitions it keeps), without its providers; sessions
 * made before the store kept them are rebuilt from their providers. st
 * (a reader) is owned by the run from now on, also on failure.
 */
PT_API int pt_run_open(struct pt_store *st, const struct pt_run_events *ev,
		       struct pt_run **ret);

/* Replaces the callbacks (for example once a signal fd exists). */
PT_API void pt_run_set_events(struct pt_run *run,
			      const struct pt_run_events *ev);

/*
 * Runs until every job has a result, or the run was cancelled, or the
 * storage failed. Returns 0 or an error.
 */
PT_API int pt_run_drive(struct pt_run *run);

/*
 * From a callback (wake): stop starting jobs; with terminate, running
 * jobs are ended and stay without a result (resume runs them again).
 */
PT_API void pt_run_cancel(struct pt_run *run, bool terminate);
/* From a callback: end every running job at once; drive returns. */
PT_API void pt_run_abort(struct pt_run *run);

/*
 * Records the end in the store: no running job, the incomplete flag
 * cleared when every job has a result, durations learned for the next
 * runs. Call once after drive.
 */
PT_API int pt_run_finish(struct pt_run *run);

/* Where a run stands. */
struct pt_run_progress {
	size_t total;	/* jobs of the run list */
	size_t done;	/* with a final result */
	size_t failed;	/* of them fail, crash or timeout */
	size_t running; /* in the executor */
	size_t per_outcome[PT_OUTCOME_COUNT_]; /* run list, NONE: not run */
	size_t flaky;	    /* passes after failed attempts */
	size_t over_budget; /* jobs with an attempt over its budget */
	size_t slow;	    /* jobs with an attempt > 3x its history's median */
	/* requires/template-filter programs that do not compile (problems
	 * of kind PT_PROBLEM_RESOURCE_PROGRAM): the run has failures */
	size_t program_errors;
	bool interrupted, failed_fast, storage_error;
};

PT_API void pt_run_progress(const struct pt_run *run,
			    struct pt_run_progress *ret);
/* Expected seconds left (estimates / learned durations over -j); O(N). */
PT_API double pt_run_eta(const struct pt_run *run);

/*
 * The attempts this run ran, as they ran (before --repeat folds them into
 * one verdict), with their session and seed; NULL when none. Recorded in
 * the repository's history by pt_run_finish. pt_store_history_flakes()
 * gives per-job statistics (`proctor run --repeat N` prints them).
 */
PT_API const struct pt_store_history *pt_run_history(const struct pt_run *run);

/* The effective options (a resumed run's come from its session). */
PT_API const struct pt_run_options *
pt_run_get_options(const struct pt_run *run);
PT_API struct pt_session *pt_run_session(const struct pt_run *run);
PT_API struct pt_store *pt_run_store(const struct pt_run *run);

/* A report of the session (free with pt_free). */
PT_API int pt_run_report(const struct pt_run *run, enum pt_report_format f,
			 char **ret, size_t *ret_len);

/*
 * Checkbox's submission artefacts of the session (proctor/submission.h):
 * kind "tar" writes the tarball to path (atomically); "json", "junit"
 * and "html" render the document into *ret (free with pt_free()), path
 * unused. 0, -EINVAL (unknown kind) or an error of reading or writing.
 */
PT_API int pt_run_submission(const struct pt_run *run, const char *kind,
			     const char *path, char **ret, size_t *ret_len);

PT_API struct pt_run *pt_run_free(struct pt_run *run);

#ifdef __cplusplus
}
#endif

#endif
