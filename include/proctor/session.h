/*
 * proctor/session.h - the session state engine: job states, the dependency
 * solver (run list and problems), readiness inhibitors, results, the
 * resource map and session metadata. Semantics: docs/plainbox.md §3, §4;
 * deviations in docs/session.md.
 *
 * The engine is pure: no I/O, no clock, no threads. Events come in
 * (results, desired lists), state goes out (run list, inhibitors).
 *
 * Jobs are referred to by their index in the session (0 .. job count - 1,
 * stable for the session's life; pt_session_job_index() maps an id to it).
 *
 * Ownership: a session BORROWS the struct pt_job it is given (they must
 * outlive it: typically they belong to a struct pt_units). Everything the
 * session hands out (inhibitors, problems, results, records, strings) is
 * owned by the session and stays valid until the next call that changes
 * the part of the state it belongs to (documented per function), or
 * pt_session_free(). Not thread-safe: one thread at a time.
 */
#ifndef PROCTOR_SESSION_H
#define PROCTOR_SESSION_H

#include <proctor/common.h>
#include <proctor/result.h>
#include <proctor/unit.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pt_session;

/* "No job": returned by lookups that find nothing. */
#define PT_SESSION_NO_JOB ((size_t)-1)

/* ------------------------------------------------------------------ */
/* Dependencies and problems (docs/plainbox.md §4)                     */
/* ------------------------------------------------------------------ */

/*
 * Dependency types. The numeric order is the order of the type NAMES as
 * strings, which is the tie-break of the canonical visit order: a job's
 * dependencies are visited by (qualified id, type name) ascending.
 */
enum pt_dep_type {
	PT_DEP_AFTER = 0,    /* "after": pulls and orders */
	PT_DEP_BEFORE = 1,   /* "before": orders only */
	PT_DEP_DEPENDS = 2,  /* "depends": pulls and orders */
	PT_DEP_RESOURCE = 3, /* "resource" (from requires): pulls, orders */
};

/* "after", "before", "depends", "resource". */
PT_API const char *pt_dep_type_name(enum pt_dep_type t);

enum pt_problem_kind {
	PT_PROBLEM_CYCLE = 0, /* DependencyCycleError */
	PT_PROBLEM_MISSING,   /* DependencyMissingError */
	PT_PROBLEM_UNKNOWN,   /* DependencyUnknownError */
	PT_PROBLEM_DUPLICATE, /* DependencyDuplicateError */
	/*
	 * A job's requires (or a template's template-filter) does not
	 * compile. Not upstream's (which treats it as no requirement): the
	 * job stays on the run list with a BAD_RESOURCE_PROGRAM inhibitor
	 * and never runs; the template instantiates nothing. job_id is the
	 * job's (or the template's) id; job is PT_SESSION_NO_JOB for a
	 * template.
	 */
	PT_PROBLEM_RESOURCE_PROGRAM,
};

/* A problem found while solving (or adding a clashing job). */
struct pt_problem {
	enum pt_problem_kind kind;
	/* The affected job: its index, or PT_SESSION_NO_JOB (UNKNOWN). */
	size_t job;
	const char *job_id;	   /* id of the affected job (always set) */
	const char *missing_id;	   /* MISSING: the id not found */
	enum pt_dep_type dep_type; /* MISSING: how it was referenced */
	size_t trail_len;	   /* CYCLE: ids, first == last: [A, C, B, A] */
	const char *const *trail;
	const struct pt_job *duplicate; /* DUPLICATE: the clashing job */
	/*
	 * Upstream's str(): "dependency cycle detected: A -> B -> A",
	 * "missing dependency: 'X' (depends)", "unknown job referenced: 'X'",
	 * "duplicate job id: 'X'".
	 */
	const char *message;
};

/* ------------------------------------------------------------------ */
/* Readiness inhibitors (docs/plainbox.md §3.3, §3.5)                  */
/* ------------------------------------------------------------------ */

enum pt_inhibitor_cause {
	PT_INHIBIT_UNDESIRED = 0,
	PT_INHIBIT_PENDING_DEP = 1,
	PT_INHIBIT_FAILED_DEP = 2,
	PT_INHIBIT_PENDING_RESOURCE = 3,
	PT_INHIBIT_FAILED_RESOURCE = 4,
	PT_INHIBIT_NOT_FAILED_DEP = 5,
	PT_INHIBIT_REQUIRED_MANIFEST = 6,
	/* Not upstream's: the job's requires does not compile;
	 * related_expression is "FILE:LINE: MESSAGE (column C)". */
	PT_INHIBIT_BAD_RESOURCE_PROGRAM = 7,
};

/* "UNDESIRED", "PENDING_DEP", ... (the InhibitionCause names). */
PT_API const char *pt_inhibitor_cause_name(enum pt_inhibitor_cause c);

struct pt_inhibitor {
	enum pt_inhibitor_cause cause;
	/* The job causing it, or PT_SESSION_NO_JOB (UNDESIRED, or a
	 * salvages target that is not a job of the session). */
	size_t related_job;
	const char *related_id;		/* its id; NULL for UNDESIRED */
	const char *related_expression; /* *_RESOURCE: the expression text;
					 * BAD_RESOURCE_PROGRAM: the error */
	/*
	 * REQUIRED_MANIFEST: "a, b"; FAILED_RESOURCE: the manifest entries
	 * the expression reads (`manifest.X`, qualified), or NULL.
	 */
	const char *related_manifests;
};

/*
 * Upstream's str() of an inhibitor into buf (snprintf contract: returns
 * the length the whole text needs; buf may be NULL when size is 0):
 * "undesired", "required dependency 'X' did not run yet", ... (§3.3).
 */
PT_API int pt_inhibitor_format(const struct pt_inhibitor *ib, char *buf,
			       size_t size);

/*
 * Upstream's pretty_skip_reason for a job that cannot start, into buf
 * (snprintf contract; 0 and "" when the inhibitors give no reason):
 * "Job cannot be started because of unmet manifest:\n- ns::has_x" (a
 * REQUIRED_MANIFEST, or a false expression that reads `manifest.X`),
 * else "...of failed dependency:\n- ID..." (not counting dependencies
 * skipped by the operator), else "...of unmet resource:\n- EXPRESSION".
 */
PT_API int pt_session_skip_reason(const struct pt_session *s, size_t job,
				  char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Resource records                                                    */
/* ------------------------------------------------------------------ */

/* One resource record: n key/value pairs (string values). */
struct pt_resource_record {
	size_t n;
	const char *const *keys;
	const char *const *values;
};

/* ------------------------------------------------------------------ */
/* The session                                                         */
/* ------------------------------------------------------------------ */

/* Change notifications; any member may be NULL. Called synchronously. */
struct pt_session_callbacks {
	void (*job_added)(void *ctx, struct pt_session *s, size_t job);
	void (*result_changed)(void *ctx, struct pt_session *s, size_t job);
	/* The inhibitor list of job changed (after a solve or a result). */
	void (*readiness_changed)(void *ctx, struct pt_session *s, size_t job);
	void *ctx;
};

/*
 * Creates a session over jobs[0..n) (borrowed). A job whose id is already
 * present is dropped when its checksum is equal, and recorded as a
 * DUPLICATE problem when it differs (the first one stays). 0 or -ENOMEM.
 */
PT_API int pt_session_new(const struct pt_job *const *jobs, size_t n,
			  struct pt_session **ret);
PT_API struct pt_session *pt_session_free(struct pt_session *s);

PT_API void pt_session_set_callbacks(struct pt_session *s,
				     const struct pt_session_callbacks *cb);

/*
 * Adds a job (borrowed). Returns its index: a new one, or the existing
 * job's index when an identical job (same id and checksum) is present.
 * A different job with the same id: PT_EDUPLICATE (and a DUPLICATE
 * problem is recorded). New jobs start UNDESIRED; the run list is not
 * recomputed (call pt_session_set_desired again to include them).
 */
PT_API int pt_session_add_job(struct pt_session *s, const struct pt_job *job);

PT_API size_t pt_session_job_count(const struct pt_session *s);
PT_API const struct pt_job *pt_session_job(const struct pt_session *s,
					   size_t job);
/* Index of the job with this id, or PT_SESSION_NO_JOB. O(1). */
PT_API size_t pt_session_job_index(const struct pt_session *s, const char *id);

/* --- mandatory, desired and run lists --- */

/* Sets the mandatory list (ids, copied). Does not solve. 0 / -ENOMEM. */
PT_API int pt_session_set_mandatory(struct pt_session *s,
				    const char *const *ids, size_t n);

/*
 * Sets the desired list (ids, copied), prepending the mandatory list when
 * include_mandatory, and solves (docs/plainbox.md §3.4 with the deviations of
 * docs/session.md): computes the run list, the problems and every job's
 * inhibitors. Returns the number of problems, or -ENOMEM (the previous
 * state is then kept). Invalidates earlier run list, problem and
 * inhibitor pointers.
 */
PT_API int pt_session_set_desired(struct pt_session *s, const char *const *ids,
				  size_t n, bool include_mandatory);

/* The desired list as solved (mandatory first, problem jobs removed). */
PT_API size_t pt_session_desired_count(const struct pt_session *s);
PT_API const char *pt_session_desired_id(const struct pt_session *s, size_t i);
PT_API size_t pt_session_mandatory_count(const struct pt_session *s);
PT_API const char *pt_session_mandatory_id(const struct pt_session *s,
					   size_t i);

/* The run list: job indexes in execution order. */
PT_API size_t pt_session_run_list_count(const struct pt_session *s);
PT_API size_t pt_session_run_list_get(const struct pt_session *s, size_t i);
PT_API bool pt_session_in_run_list(const struct pt_session *s, size_t job);

/* Problems: duplicates found when adding jobs, then the last solve's. */
PT_API size_t pt_session_problem_count(const struct pt_session *s);
PT_API const struct pt_problem *pt_session_problem(const struct pt_session *s,
						   size_t i);

/* --- readiness --- */

/* The job's inhibitors, in upstream order; [UNDESIRED] off the run list. */
PT_API size_t pt_session_inhibitor_count(const struct pt_session *s,
					 size_t job);
PT_API const struct pt_inhibitor *
pt_session_inhibitor(const struct pt_session *s, size_t job, size_t i);
/* No inhibitor and attempts left (JobState.can_start). */
PT_API bool pt_session_can_start(const struct pt_session *s, size_t job);
/* Remaining attempts (initially 3); the runner decrements on retry. */
PT_API unsigned pt_session_attempts(const struct pt_session *s, size_t job);
PT_API void pt_session_set_attempts(struct pt_session *s, size_t job,
				    unsigned attempts);

/*
 * The outcome a job that cannot start gets (result_utils
 * determine_outcome_and_skip_reason, §3.9): skip, skipped-manifest,
 * skipped-dependency, skipped-resource / fail (fail-on-resource), fail
 * for a requires that does not compile (BAD_RESOURCE_PROGRAM, whatever
 * the other inhibitors), or PT_OUTCOME_NONE when the inhibitors give no
 * outcome.
 */
PT_API enum pt_outcome pt_session_blocked_outcome(const struct pt_session *s,
						  size_t job);

/* --- results (docs/plainbox.md §3.6) --- */

/*
 * Records a result for job: it becomes the current result and, unless it
 * is hollow (outcome NONE and nothing else set), is appended to the
 * history; then readiness is updated for the affected jobs only.
 * For a resource job (plugin resource) with an outcome other than NONE,
 * records[0..n_records) REPLACE its entry in the resource map (no record
 * gives one empty record, as upstream). Strings are copied. Returns 0,
 * -EINVAL (bad index) or -ENOMEM.
 */
PT_API int pt_session_set_result(struct pt_session *s, size_t job,
				 const struct pt_result *r,
				 const struct pt_resource_record *records,
				 size_t n_records);
/*
 * Compiles every job's requires and every template's template-filter of
 * u as a session would (compat mode, the unit's namespace and imports),
 * adding an error to diags (may be NULL) per program that does not
 * compile, at the file and line of the bad expression, field "requires"
 * or "template-filter" ("imports" / "template-imports" when that field is
 * the bad one): "job 'ID': requires does not compile: MESSAGE (column C)".
 * Jobs generated from templates are not checked (the template is).
 * diags is then sorted by file and line. Returns the number of such programs,
 * -EINVAL or -ENOMEM.
 */
PT_API int pt_session_check_units(struct pt_units *u, struct pt_diags *diags);

/*
 * Templates (§2.5): once units are attached, a resource job's result
 * with records instantiates every template of u whose template-resource
 * is that job, one instance per record passing its template-filter. The
 * new jobs are added to u and to the session (UNDESIRED until the next
 * pt_session_set_desired). Problems rendering an instance go to diags
 * (may be NULL). u and diags are borrowed. pt_session_set_result returns
 * -ENOMEM if instantiation runs out of memory; the result itself is
 * recorded by then. A template whose template-filter does not compile
 * instantiates nothing and is a PT_PROBLEM_RESOURCE_PROGRAM from attach
 * on. Returns 0 or -ENOMEM.
 */
PT_API int pt_session_attach_units(struct pt_session *s, struct pt_units *u,
				   struct pt_diags *diags);

/*
 * "Fake resources" (§2.5, checkbox-cli tp-export): template-filter is
 * not applied (one that does not compile is still a problem), so
 * every record given to a resource job instantiates every
 * template of it. Off by default.
 */
PT_API void pt_session_set_fake_resources(struct pt_session *s, bool on);

/*
 * pt_session_set_result for a job's output: for a resource job with an
 * outcome, its stdout (out[0..len)) is parsed as RFC822 records (spec
 * §3.6; the records before a syntax error are kept, the error goes to
 * diags, which may be NULL); for other jobs the output is ignored.
 */
PT_API int pt_session_set_result_output(struct pt_session *s, size_t job,
					const struct pt_result *r,
					const char *out, size_t len,
					struct pt_diags *diags);

/* The current result (outcome NONE before any). */
PT_API const struct pt_result *pt_session_result(const struct pt_session *s,
						 size_t job);
PT_API size_t pt_session_result_history_count(const struct pt_session *s,
					      size_t job);
PT_API const struct pt_result *
pt_session_result_history(const struct pt_session *s, size_t job, size_t i);

/* --- resource map --- */

/*
 * Whether resource job id has an entry in the resource map (it produced a
 * result); the number of its records goes to *ret_count (may be NULL).
 * A job that printed no record has one empty record. Records are valid
 * until the job's next result.
 */
PT_API bool pt_session_resources(const struct pt_session *s, const char *id,
				 size_t *ret_count);
PT_API const struct pt_resource_record *
pt_session_resource(const struct pt_session *s, const char *id, size_t i);

/* --- manifest (setup jobs, REQUIRED_MANIFEST) --- */

/* The id of the built-in manifest resource job. */
#define PT_MANIFEST_JOB "com.canonical.plainbox::manifest"

/*
 * Gives the manifest resource job (PT_MANIFEST_JOB), when the session has
 * it, its result without running it: pass, with the records of
 * pt_manifest_resource() for the attached units (pt_session_attach_units)
 * and the answers m (NULL: every entry unset). Call it where the job would
 * run. Returns 0 (also when the session has no such job), -EINVAL (no
 * units attached) or -ENOMEM.
 */
PT_API int pt_session_run_manifest(struct pt_session *s,
				   const struct pt_manifest *m);

/* Job requires manifest entry id to be expected. 0 / -ENOMEM / -EINVAL. */
PT_API int pt_session_require_manifest(struct pt_session *s, size_t job,
				       const char *manifest_id, bool expected);
/* Sets a manifest answer (missing answers read as false). */
PT_API int pt_session_set_manifest(struct pt_session *s,
				   const char *manifest_id, bool value);

/* --- effective (overridable) fields --- */

/* field: "category_id", "certification_status" or "auto_retry". */
PT_API int pt_session_override(struct pt_session *s, size_t job,
			       const char *field, const char *value);
PT_API const char *pt_session_effective(const struct pt_session *s, size_t job,
					const char *field);

/* --- planning a test plan (checkbox-cli's session assistant) --- */

/* How pt_session_plan bootstraps (runs the plan's bootstrap_include). */
enum pt_bootstrap_mode {
	PT_BOOTSTRAP_NONE = 0, /* no bootstrap: templates stay templates */
	/*
	 * Fake resources, as checkbox-cli tp-export: each bootstrap resource
	 * job that can start gives the record "a: b" (two for graphics_card)
	 * and every template of it instantiates once per record with its
	 * parameters named after themselves; other jobs pass.
	 */
	PT_BOOTSTRAP_FAKE,
	/* Real: ops->run runs each bootstrap job (list-bootstrapped). */
	PT_BOOTSTRAP_RUN,
};

struct pt_bootstrap_ops {
	/*
	 * Runs bootstrap job `job`, which can start, and records its result
	 * (pt_session_set_result_output with its stdout for a resource job).
	 * Returns 0, or a negative error that stops the planning.
	 */
	int (*run)(void *ctx, struct pt_session *s, size_t job);
	void *ctx;
};

/*
 * Plans test plan plan_id (qualified, or a partial id that one plan has)
 * of the units attached to s (pt_session_attach_units) as checkbox-cli
 * does: select_test_plan (mandatory list, test-plan overrides),
 * bootstrap (the plan's bootstrap jobs solved and run in run-list order;
 * a job that cannot start gets its blocked outcome), then
 * finish_bootstrap: the plan selected again among all jobs, generated
 * ones included, minus com.canonical.plainbox::collect-manifest, and
 * solved with the mandatory jobs first. The run list, problems and
 * inhibitors are then the session's. *ret (may be NULL) receives the
 * final selection (free with pt_plan_selection_free). Returns 0,
 * PT_ENOTFOUND (no such plan), -EINVAL (no units attached, or RUN without
 * ops), -ENOMEM, or the error of ops->run.
 */
PT_API int pt_session_plan(struct pt_session *s, const char *plan_id,
			   enum pt_bootstrap_mode mode,
			   const struct pt_bootstrap_ops *ops,
			   struct pt_plan_selection **ret);

/* --- metadata (docs/plainbox.md §3.7) --- */

struct pt_session_metadata {
	const char *title;	 /* NULL when unset */
	const char *running_job; /* id of the job about to run, or NULL */
	const char *app_id;	 /* NULL when unset */
	const void *app_blob;	 /* bytes, NULL when unset */
	size_t app_blob_len;
	bool custom_joblist;
	double last_job_start_time; /* caller's clock; 0 when unset */
	size_t n_flags;		    /* "incomplete", "submitted", ... */
	const char *const *flags;
	size_t n_rejected; /* rejected job ids */
	const char *const *rejected;
};

/* A snapshot of the metadata, valid until the metadata changes. */
PT_API void pt_session_metadata(const struct pt_session *s,
				struct pt_session_metadata *ret);
PT_API int pt_session_set_title(struct pt_session *s, const char *title);
PT_API int pt_session_set_running_job(struct pt_session *s, const char *id);
PT_API int pt_session_set_app_id(struct pt_session *s, const char *app_id);
PT_API int pt_session_set_app_blob(struct pt_session *s, const void *blob,
				   size_t len);
PT_API void pt_session_set_custom_joblist(struct pt_session *s, bool v);
PT_API void pt_session_set_last_job_start_time(struct pt_session *s, double t);
/* Adds (on) or removes (off) a flag. 0 / -ENOMEM. */
PT_API int pt_session_set_flag(struct pt_session *s, const char *flag, bool on);
PT_API bool pt_session_has_flag(const struct pt_session *s, const char *flag);
PT_API int pt_session_set_rejected(struct pt_session *s, const char *const *ids,
				   size_t n);

/* Well-known flag names (§3.7). */
#define PT_SESSION_FLAG_INCOMPLETE		  "incomplete"
#define PT_SESSION_FLAG_SUBMITTED		  "submitted"
#define PT_SESSION_FLAG_BOOTSTRAPPING		  "bootstrapping"
#define PT_SESSION_FLAG_SETTING_UP		  "setting_up"
#define PT_SESSION_FLAG_TESTPLANLESS		  "testplanless"
#define PT_SESSION_FLAG_STRICT_TEMPLATE_EXPANSION "strict_template_expansion"

#ifdef __cplusplus
}
#endif

#endif
