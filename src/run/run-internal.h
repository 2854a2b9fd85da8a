/*
 * run/run-internal.h - shared by the files of src/run: the state of a
 * session run (run.c: creation and the loop; session.c: rebuilding a
 * session from the store, the job texts it keeps, reports).
 */
#ifndef PT_RUN_INTERNAL_H
#define PT_RUN_INTERNAL_H

#include "base/buf.h"
#include "base/common.h"

#include <proctor/run.h>
#include <proctor/runner.h>
#include <regex.h>

/* Bytes of a resource job's or attachment job's stdout that are used. */
#define PT_RUN_STDOUT_LIMIT (16u << 20)

#define PT_RUN_NOT_LISTED SIZE_MAX

struct pt__strv {
	char **v; /* NULL-terminated when n > 0 */
	size_t n, cap;
};

int pt__strv_add(struct pt__strv *s, const char *x);
void pt__strv_free(struct pt__strv *s);

/* Per session job: what this run did with it. */
struct pt__jst {
	bool submitted; /* in the executor now */
	bool done;	/* has its final result */
	bool looking;	/* its run-list position is in run.look */
	size_t pos;	/* its run-list position; PT_RUN_NOT_LISTED if none */
	unsigned attempt;
	unsigned runs, fails;	/* --repeat, --retries */
	bool over_budget, slow; /* an attempt was (notes in its result) */
	char *chaos_block; /* the job's own PROCTOR_PRELOAD (chaos field) */
	const char **chaos_envv; /* it and the provider environment */
	uint64_t order;		 /* shuffled order key */
};

/* A resource job's records, for the session and for the store. */
struct pt__recset {
	struct pt_records *recs;
	struct pt_resource_record *rr;
	struct pt_store_record *sr;
	size_t n;
};

/*
 * The call faults of each attempt from the session's chaos log, read
 * incrementally (chaos-notes.c).
 */
struct pt__chaos_notes {
	int fd;
	bool open, skip;
	struct pt_buf tail; /* an incomplete last line */
	struct pt__chaos_pending *v;
	size_t n, cap;
};

/* Lines already in the log (earlier runs of the session) are not read
 * into notes: their attempts have their results. */
void pt__chaos_notes_skip_existing(struct pt__chaos_notes *cn,
				   const char *path);
/* "chaos: N faults: ..." for the attempt, or "" (and forgets it). */
void pt__chaos_notes_get(struct pt__chaos_notes *cn, const char *path,
			 const char *job, unsigned attempt, char *buf,
			 size_t size);
void pt__chaos_notes_release(struct pt__chaos_notes *cn);

struct pt_run {
	struct pt_run_options o; /* strings point into the fields below */
	struct pt__strv paths, include, exclude, exec_opts;
	bool xo_given; /* the caller chose the executor */
	char *plan, *ns, *repo, *no_operator, *manifest_path, *chaos, *chaos_rt;
	char *chaos_logp; /* <session>/chaos.log, for the executor */
	struct pt__chaos_notes chaos_notes;
	struct pt__strv chaos_env;    /* LD_PRELOAD, PROCTOR_PRELOAD... */
	struct pt_manifest *manifest; /* the answers (NULL: none given) */
	/* Checkbox: who runs each job, the provider environment. */
	char *normal_user, *launcher;
	struct pt__strv job_env, manifest_answers;
	struct pt_users *users;
	struct pt_jobenv *jenv;
	struct pt_run_events ev;
	struct pt_units *u;
	struct pt_diags *diags;
	struct pt_session *s;
	struct pt_store *st;
	const struct pt_executor_ops *xo;
	void *ex; /* the executor instance; NULL: none (yet, or aborted) */
	struct pt__jst *js;
	size_t njs;
	regex_t *inc, *exc;
	size_t ninc, nexc;
	bool interrupted, failed_fast, storage_error, readonly;
	size_t n_done, n_fail, n_total, n_flaky, n_over_budget, n_slow;
	/*
	 * Run-list positions schedule() must look at, a min-heap: all of
	 * them when the run list is made, then those of jobs whose
	 * readiness changed (the session's readiness_changed callback).
	 * Looking at every unfinished job after each result was O(N) per
	 * result: O(N^2) for a run of N independent jobs.
	 */
	size_t *look, n_look, cap_look;
	char *sess_dir;
	int64_t started_ns; /* the session's creation; 0: ask the store */
	struct pt_store_durations *dur; /* learned from earlier sessions */
	/* Every attempt this process ran, as it ran (before --repeat folds
	 * the runs into one verdict): the repository's history at the end. */
	struct pt_store_history *hist;
	/* The repository's history at the start: "slower than its history". */
	struct pt_store_history *past;
	/* Results waiting in the store's commit group (pt_store_group_add):
	 * reported and given to the session only once it is committed. */
	struct pt__waiting {
		size_t k;
		struct pt_result res; /* comments, io_log owned */
	} * wait;
	size_t n_wait;
	/* resume: jobs a persistent executor may still run (their handles,
	 * recorded, and no result for that attempt): given to attach(). */
	struct pt__pending {
		size_t k;
		unsigned attempt;
		char *handle;
	} * pending;
	size_t n_pending;
};

/* events.message with a printf format. */
void pt__run_msg(struct pt_run *run, enum pt_run_msg kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* events.diags from index from. */
void pt__run_diags(struct pt_run *run, size_t from);

/* run.c, used by session.c */
struct pt_run *pt__run_alloc(const struct pt_run_events *ev);
int pt__run_set_options(struct pt_run *run, const struct pt_run_options *o);
int pt__run_prepare(struct pt_run *run); /* compiles -i/-x */
int pt__run_load_units(struct pt_run *run);
int pt__run_make_session(struct pt_run *run);
int pt__run_grow_js(struct pt_run *run);
bool pt__run_is_fail(enum pt_outcome o);

/* Sets up users and the provider environment (sess_dir known). */
int pt__run_checkbox_setup(struct pt_run *run);

/* session.c */
char *pt__run_abs_path(const struct pt_run *run, const char *rel);
/*
 * The run's --chaos plan: "off" is none; a plan that does not parse, or
 * one without a fault runtime, is PT_RUN_MSG_USAGE and -EINVAL.
 */
int pt__run_check_chaos(struct pt_run *run);
int pt__run_parse_records(struct pt_run *run, const char *id,
			  const char *io_log, struct pt__recset *x);
void pt__recset_free(struct pt__recset *x);
/* The same from the output text itself. */
int pt__run_parse_text(const char *id, const char *out, size_t len,
		       struct pt__recset *x);
/* The unit snapshot from job index `from` on, with the jobs' texts. */
int pt__run_put_jobs(struct pt_run *run, size_t from);

#endif
