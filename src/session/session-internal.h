/*
 * session/session-internal.h - structures shared by the files of the
 * session engine (state.c, solver.c, readiness.c, outcome.c) and its tests.
 */
#ifndef PT_SESSION_INTERNAL_H
#define PT_SESSION_INTERNAL_H

#include <proctor/session.h>

#include "base/arena.h"
#include "base/map.h"
#include "base/vec.h"
#include "session/expr.h"

#define PT__NONE UINT32_MAX

/*
 * Edge types of a job's static edge list. The first four are the solver's
 * dependency types (enum pt_dep_type, ordered by name); SALVAGES is only
 * read by readiness ("salvages" sorts after "resource", so the list stays
 * sorted by (id, type name)).
 */
#define PT__EDGE_SALVAGES 4

struct pt__span {
	uint32_t off, n;
};

struct pt__edge {
	const char *id;	 /* the id as referenced (qualified) */
	uint32_t target; /* job index, or PT__NONE when no such job */
	uint8_t type;	 /* enum pt_dep_type or PT__EDGE_SALVAGES */
};

/*
 * The resource-program seam. The session asks it for the resource ids a
 * job's `requires` references (RESOURCE edges) and to evaluate it. The
 * default implementation is the expression module (expr.h); tests can
 * install their own with pt__session_set_req_ops().
 */
struct pt__req_expr {
	const char *text; /* the expression as written */
	size_t n_ids;	  /* resource job ids it references */
	const char *const *ids;
	/* manifest entries it reads ("ns::a, ns::b"), or NULL */
	const char *manifests;
};

enum pt__req_status {
	PT__REQ_TRUE = 0,
	PT__REQ_FALSE = 1,   /* an expression evaluated to false */
	PT__REQ_PENDING = 2, /* a referenced resource is not in the map */
};

struct pt__req_ops {
	/*
	 * Compiles job's requires into *ret (opaque). 0 and *ret = NULL when
	 * the job has none; < 0 when it cannot be parsed: no resource edges
	 * (as upstream's get_dependency_set), and, unless -ENOMEM, *ret_err
	 * names the problem ("FILE:LINE: MESSAGE (column C)", owned by the
	 * ops' context for the session's life): the job gets the
	 * BAD_RESOURCE_PROGRAM inhibitor and a problem, and never runs.
	 */
	int (*compile)(void *ctx, const struct pt_job *job, void **ret,
		       const char **ret_err);
	size_t (*count)(const void *prog);
	void (*expr)(const void *prog, size_t i, struct pt__req_expr *ret);
	/* Evaluates (docs/plainbox.md §5.2); *ret_index = the pending / failing
	 * expression. */
	enum pt__req_status (*eval)(void *ctx, const void *prog,
				    const struct pt_session *s,
				    size_t *ret_index);
	void (*release)(void *ctx, void *prog);
	void *ctx;
};

/* A resource job's records: one block holding both views and strings. */
struct pt__resource_list {
	size_t n;
	struct pt_resource_record *recs; /* the public view */
	struct pt_expr_records er;	 /* the evaluator's view */
};

/* resource.c: installs the default ops (the expression module). */
void pt__req_expr_install(struct pt_session *s);

/* Named vectors (PT_VEC types are anonymous, these cross functions). */
struct pt__u32vec {
	uint32_t *v;
	size_t n, cap;
};

struct pt__problemvec {
	struct pt_problem *v;
	size_t n, cap;
};

struct pt__manifest_req {
	const char *id;
	bool expected;
};

struct pt__jobst {
	const struct pt_job *job;
	/* Static edges sorted by (id, type name): offset/count into s->edges.
	 */
	uint32_t edge_off, edge_n;
	void *prog;	      /* compiled requires, or NULL */
	const char *prog_err; /* requires does not compile: why (arena) */
	/* Readiness. */
	struct pt_inhibitor *ib; /* NULL: the shared [UNDESIRED] */
	uint32_t n_ib;
	char *manifest_text; /* related_manifests of REQUIRED_MANIFEST */
	uint32_t run_pos;    /* position in the run list, PT__NONE */
	unsigned attempts;
	/* Results. */
	struct pt_result result;
	PT_VEC(struct pt_result) history;
	/* Effective fields: NULL = the job's value. */
	char *eff_category, *eff_cert, *eff_retry;
	PT_VEC(struct pt__manifest_req) manifest;
};

struct pt_session {
	PT_VEC(struct pt__jobst) jobs;
	struct pt_map by_id;   /* id -> index + 1 */
	struct pt_arena arena; /* long-lived strings */
	struct pt_session_callbacks cb;
	const struct pt__req_ops *req;
	struct pt__req_ops req_own; /* the default ops, ctx = the session */
	struct pt_map prog_cache;   /* shared compiled programs (resource.c) */

	/* Static graph (rebuilt lazily after jobs were added). */
	bool graph_dirty;
	PT_VEC(struct pt__edge) edges;
	/*
	 * Hot per-job data in compact arrays (the job states are 176 bytes
	 * each: at 100k jobs, reading them in DFS order misses the cache):
	 * each job's edge range, and its current outcome.
	 */
	PT_VEC(struct pt__span) spans;
	PT_VEC(uint8_t) outcomes;

	/* Lists. */
	PT_VEC(char *) mandatory;
	PT_VEC(char *) desired;
	struct pt__u32vec run_list;
	struct pt__problemvec dup_problems;
	/* Templates whose template-filter does not compile (resource.c). */
	struct pt__problemvec filter_problems;
	PT_VEC(const struct pt_unit *) filter_tpls; /* their templates */
	struct pt__problemvec problems;
	struct pt_arena solve_arena; /* problem strings of the last solve */

	/* Reverse readiness edges: job -> run-list jobs that read it. */
	uint32_t *rdep_off; /* n_jobs + 1 offsets (CSR), or NULL */
	uint32_t *rdep;
	size_t rdep_jobs;

	/* Resource map: id -> struct pt__resource_list *. */
	struct pt_map resources;
	/* Manifest answers: id -> its key copy for true; absent = false. */
	struct pt_map manifest;

	/* Templates: the units to instantiate from, and their diagnostics. */
	struct pt_units *units;
	struct pt_diags *unit_diags;
	bool fake_resources;

	/* Metadata. */
	char *title, *running_job, *app_id;
	void *app_blob;
	size_t app_blob_len;
	bool custom_joblist;
	double last_job_start_time;
	PT_VEC(char *) flags;
	PT_VEC(char *) rejected;
};

/* Frees memory we own behind a const pointer (results, manifest ids). */
static inline void pt__free_const(const void *p)
{
	pt__free((void *)(uintptr_t)p);
}

/* state.c */
void pt__session_set_req_ops(struct pt_session *s,
			     const struct pt__req_ops *ops);
const struct pt__resource_list *
pt__session_resource_list(const struct pt_session *s, const char *id);

/* resource.c */
int pt__session_instantiate(struct pt_session *s, uint32_t job);

/* solver.c */
int pt__graph_build(struct pt_session *s);
/*
 * Solves desired[0..n) (ids) over the session's jobs. Fills run_list
 * (job indexes), problems (strings in arena) and *ret_kept (the desired
 * positions that survived, as a bitmap of n bytes, may be NULL).
 */
int pt__solve(struct pt_session *s, const char *const *desired, size_t n,
	      struct pt__u32vec *run_list, struct pt__problemvec *problems,
	      struct pt_arena *arena, unsigned char *kept);

/* readiness.c: two phases, so that a failed allocation changes nothing. */
struct pt__ready_pending {
	uint32_t job;
	uint32_t n;
	struct pt_inhibitor *ib;
	char *text;
};

struct pt__ready_batch {
	bool full;
	PT_VEC(struct pt__ready_pending) pending; /* by job index (full) */
	uint32_t *rdep_off, *rdep; /* full: the new reverse edges */
	size_t rdep_jobs;
};

/* Phase 1 (may fail, changes nothing): every job of run_list. */
int pt__readiness_prepare_full(struct pt_session *s,
			       const struct pt__u32vec *run_list,
			       struct pt__ready_batch *b);
/* Phase 1: the jobs that read job's outcome or resources. */
int pt__readiness_prepare_job(struct pt_session *s, uint32_t job,
			      struct pt__ready_batch *b);
/* Phase 2 (cannot fail): installs the lists, notifies, frees b. */
void pt__readiness_apply(struct pt_session *s, struct pt__ready_batch *b);
void pt__readiness_discard(struct pt__ready_batch *b);

int pt__readiness_manifest_changed(struct pt_session *s);
/* 0 when job's stored inhibitors equal a fresh computation, 1 if not. */
int pt__readiness_check(const struct pt_session *s, uint32_t job);
void pt__readiness_release(struct pt_session *s);

/* outcome.c */
int pt__pyrepr(struct pt_arena *a, const char *s, bool ascii, char **ret);

#endif
