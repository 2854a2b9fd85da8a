/*
 * session/solver.c - the dependency graph of a session and the solver that
 * turns a desired list into a run list plus problems (docs/plainbox.md §3.4,
 * §4).
 *
 * What upstream does: resolve_dependencies() is a two-pass recursive DFS
 * (pass 1 pulls jobs through depends/after/resource, pass 2 orders the
 * pulled jobs through all four types, with groups), and every problem it
 * raises makes update_desired_job_list() drop the affected job and start
 * again from scratch.
 *
 * What we do (docs/session.md): the same two passes, iterative (explicit
 * stacks, no depth limit), with each job's dependencies visited in
 * ascending (id, type name) order. A problem in pass 1 is repaired in
 * place: the restart would replay the DFS identically up to the first
 * visit of the removed job, so we emit the same cascade of problems the
 * restarts would (the affected job, then each job on the DFS stack below
 * it, as "missing dependency"), roll back what the current root pulled,
 * and continue with the next root. A cycle that only pass 2 sees (through
 * `before` or a group) rolls pass 1 back to the root that pulled the
 * affected job and runs pass 2 again. The result (run list, problem list
 * in order, surviving desired list) equals upstream's loop with that
 * visit order; tests/session/test-solver.c checks it against a literal
 * implementation of the loop on random graphs.
 */
#include "base/buf.h"
#include "base/common.h"
#include "session/session-internal.h"

/* ------------------------------------------------------------------ */
/* The static graph                                                    */
/* ------------------------------------------------------------------ */

static int edge_cmp(const struct pt__edge *a, const struct pt__edge *b)
{
	int c = strcmp(a->id, b->id);

	if (c)
		return c;
	return (int)a->type - (int)b->type;
}

static int edge_qcmp(const void *a, const void *b)
{
	return edge_cmp(a, b);
}

static void sort_edges(struct pt__edge *e, size_t n)
{
	if (n > 12) {
		qsort(e, n, sizeof(*e), edge_qcmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct pt__edge x = e[i];
		size_t j = i;

		while (j > 0 && edge_cmp(&e[j - 1], &x) > 0) {
			e[j] = e[j - 1];
			j--;
		}
		e[j] = x;
	}
}

static uint32_t lookup(const struct pt_session *s, const char *id)
{
	void *v;

	if (!pt__map_find(&s->by_id, id, strlen(id), &v))
		return PT__NONE;
	return (uint32_t)((uintptr_t)v - 1);
}

static size_t prog_ids(const struct pt_session *s, const void *prog,
		       struct pt__req_expr *buf, size_t *ret_total)
{
	size_t n = s->req->count(prog), total = 0;

	for (size_t i = 0; i < n; i++) {
		struct pt__req_expr x;

		s->req->expr(prog, i, &x);
		total += x.n_ids;
		if (buf)
			buf[i] = x;
	}
	*ret_total = total;
	return n;
}

/*
 * Builds every job's sorted, de-duplicated edge list: depends, after,
 * resource ids of requires, salvages, and the reverse of `before` (job X
 * gets a BEFORE edge to J when J names X in its before field).
 */
int pt__graph_build(struct pt_session *s)
{
	size_t n = s->jobs.n, total = 0;
	uint32_t *count = NULL, *fill = NULL;
	int r = -ENOMEM;

	if (!s->graph_dirty)
		return 0;
	/* Compile the resource programs not compiled yet. */
	for (size_t i = 0; i < n; i++) {
		struct pt__jobst *js = &s->jobs.v[i];

		if (js->prog || js->prog_err || !s->req || !js->job->requires)
			continue;
		if (s->req->compile(s->req->ctx, js->job, &js->prog,
				    &js->prog_err) < 0)
			js->prog = NULL;
	}
	count = pt__calloc(n + 1, sizeof(*count));
	fill = pt__calloc(n + 1, sizeof(*fill));
	if (!count || !fill)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct pt_job *j = s->jobs.v[i].job;
		size_t ids = 0;

		if (s->jobs.v[i].prog)
			prog_ids(s, s->jobs.v[i].prog, NULL, &ids);
		count[i] += (uint32_t)(j->depends.n + j->after.n +
				       j->salvages.n + ids);
		for (size_t k = 0; k < j->before.n; k++) {
			uint32_t x = lookup(s, j->before.v[k]);

			if (x != PT__NONE)
				count[x]++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		fill[i] = (uint32_t)total;
		total += count[i];
	}
	s->edges.n = 0;
	/* At least one slot: readers index edges.v + edge_off even when a
	 * graph has no edge at all, and arithmetic on NULL is undefined. */
	if (pt_vec_reserve(&s->edges, total ? total : 1) < 0)
		goto out;
	s->edges.n = total;
	for (size_t i = 0; i < n; i++) {
		const struct pt_job *j = s->jobs.v[i].job;
		struct pt__edge *e = s->edges.v;
#define ADD(list, t)                   \
 for (size_t k = 0; k < (list).n; k++) \
 e[fill[i]++] = (struct pt__edge){ (list).v[k], lookup(s, (list).v[k]), (t) }
		ADD(j->depends, PT_DEP_DEPENDS);
		ADD(j->after, PT_DEP_AFTER);
		ADD(j->salvages, PT__EDGE_SALVAGES);
#undef ADD
		if (s->jobs.v[i].prog) {
			const void *prog = s->jobs.v[i].prog;
			size_t ne = s->req->count(prog);

			for (size_t x = 0; x < ne; x++) {
				struct pt__req_expr ex;

				s->req->expr(prog, x, &ex);
				for (size_t k = 0; k < ex.n_ids; k++)
					e[fill[i]++] = (struct pt__edge){
						ex.ids[k], lookup(s, ex.ids[k]),
						PT_DEP_RESOURCE
					};
			}
		}
		for (size_t k = 0; k < j->before.n; k++) {
			uint32_t x = lookup(s, j->before.v[k]);

			if (x != PT__NONE)
				e[fill[x]++] =
					(struct pt__edge){ j->id, (uint32_t)i,
							   PT_DEP_BEFORE };
		}
	}
	/* Sort and de-duplicate each list (a dependency set, as upstream). */
	total = 0;
	for (size_t i = 0; i < n; i++) {
		/* No edges at all: edges.v is NULL, and NULL + 0 is UB. */
		struct pt__edge *e =
			count[i] ? s->edges.v + (fill[i] - count[i]) : NULL;
		size_t m = count[i], w = 0;

		sort_edges(e, m);
		for (size_t k = 0; k < m; k++) {
			if (w && edge_cmp(&e[w - 1], &e[k]) == 0)
				continue;
			e[w++] = e[k];
		}
		if (w)
			memmove(s->edges.v + total, e, w * sizeof(*e));
		s->jobs.v[i].edge_off = (uint32_t)total;
		s->jobs.v[i].edge_n = (uint32_t)w;
		total += w;
	}
	s->edges.n = total;
	s->spans.n = 0;
	if (pt_vec_reserve(&s->spans, n + 1) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		s->spans.v[i] = (struct pt__span){ s->jobs.v[i].edge_off,
						   s->jobs.v[i].edge_n };
	s->spans.n = n;
	s->graph_dirty = false;
	r = 0;
out:
	pt__free(count);
	pt__free(fill);
	return r;
}

/* ------------------------------------------------------------------ */
/* The solver                                                          */
/* ------------------------------------------------------------------ */

enum { NOT_VISITED = 0, VISITED = 1, FINISHED = 2 };

struct frame {
	uint32_t node;
	uint32_t next; /* next edge (absolute index) or next external dep */
	uint32_t end;  /* end of the node's edges */
};

struct group {
	const char *name;	     /* "_group_job_<name>" */
	struct pt__u32vec members;   /* in pull order */
	PT_VEC(struct pt__edge) ext; /* external deps, sorted by id, unique */
	struct pt__u32vec order;     /* the members, ordered */
};

struct solver {
	struct pt_session *s;
	struct pt_arena *arena;
	struct pt__problemvec *problems;
	size_t n; /* jobs */
	/* Desired list. */
	size_t nd;
	const char *const *did;
	uint32_t *dj;		/* job per position, PT__NONE if unknown */
	unsigned char *deleted; /* per position */
	uint32_t *next_occ;	/* next position of the same job */
	uint32_t *first_occ;	/* per job: first remaining position */
	/* Pass 1. */
	unsigned char *removed; /* per job: dropped from the job list */
	unsigned char *st1;	/* per job */
	uint32_t *root_of;	/* per job: desired position that pulled it */
	uint32_t *root_start;	/* per position: pull length at its start */
	struct pt__u32vec pull;
	/* DFS stack, shared by both passes. */
	struct frame *stack;
	size_t sp;
	uint32_t *stackpos; /* per node: index in the stack */
	/* Pass 2. */
	unsigned char *st2; /* per node (jobs, then groups) */
	uint32_t *gof;	    /* per job: group index or PT__NONE */
	PT_VEC(struct group) groups;
	struct pt_map group_by_name;
	struct pt__u32vec order; /* pass 2 output (jobs) */
};

static const char *node_id(struct solver *sv, uint32_t node)
{
	if (node < sv->n)
		return sv->s->jobs.v[node].job->id;
	return sv->groups.v[node - sv->n].name; /* set to "_group_job_<g>" */
}

static void delete_first_occ(struct solver *sv, uint32_t job)
{
	uint32_t p = sv->first_occ[job];

	while (p != PT__NONE && sv->deleted[p])
		p = sv->next_occ[p];
	if (p == PT__NONE)
		return;
	sv->deleted[p] = 1;
	sv->first_occ[job] = sv->next_occ[p];
}

static int add_problem(struct solver *sv, struct pt_problem *p,
		       struct pt_buf *msg)
{
	p->message = pt__arena_strndup(sv->arena, msg->s, msg->len);
	pt__buf_release(msg);
	if (!p->message)
		return -ENOMEM;
	return pt_vec_push(sv->problems, *p);
}

static int repr_add(struct solver *sv, struct pt_buf *b, const char *s,
		    bool ascii)
{
	char *q;

	if (pt__pyrepr(sv->arena, s, ascii, &q) < 0)
		return -ENOMEM;
	return pt__buf_adds(b, q);
}

static int problem_missing(struct solver *sv, uint32_t job, const char *id,
			   unsigned type)
{
	struct pt_problem p = { .kind = PT_PROBLEM_MISSING };
	struct pt_buf b = PT_BUF_INIT;

	p.job = job;
	p.job_id = sv->s->jobs.v[job].job->id;
	p.missing_id = id;
	p.dep_type = (enum pt_dep_type)type;
	if (pt__buf_adds(&b, "missing dependency: ") < 0 ||
	    repr_add(sv, &b, id, false) < 0 ||
	    pt__buf_addf(&b, " (%s)", pt_dep_type_name(p.dep_type)) < 0) {
		pt__buf_release(&b);
		return -ENOMEM;
	}
	return add_problem(sv, &p, &b);
}

static int problem_unknown(struct solver *sv, const char *id)
{
	struct pt_problem p = { .kind = PT_PROBLEM_UNKNOWN };
	struct pt_buf b = PT_BUF_INIT;

	p.job = PT_SESSION_NO_JOB;
	p.job_id = pt__arena_strdup(sv->arena, id);
	if (!p.job_id || pt__buf_adds(&b, "unknown job referenced: ") < 0 ||
	    repr_add(sv, &b, id, true) < 0) {
		pt__buf_release(&b);
		return -ENOMEM;
	}
	{
		uint32_t j = lookup(sv->s, id);

		if (j != PT__NONE)
			p.job = j;
	}
	return add_problem(sv, &p, &b);
}

/* A cycle: the stack from index from to the top, then node again. */
static int problem_cycle(struct solver *sv, size_t from, uint32_t node,
			 uint32_t affected)
{
	struct pt_problem p = { .kind = PT_PROBLEM_CYCLE };
	struct pt_buf b = PT_BUF_INIT;
	size_t len = sv->sp - from + 1;
	const char **trail = pt__arena_alloc(sv->arena, len * sizeof(*trail));

	if (!trail)
		return -ENOMEM;
	for (size_t i = from; i < sv->sp; i++)
		trail[i - from] = node_id(sv, sv->stack[i].node);
	trail[len - 1] = node_id(sv, node);
	p.job = affected;
	p.job_id = sv->s->jobs.v[affected].job->id;
	p.trail = trail;
	p.trail_len = len;
	if (pt__buf_adds(&b, "dependency cycle detected: ") < 0)
		goto nomem;
	for (size_t i = 0; i < len; i++)
		if (pt__buf_addf(&b, "%s%s", i ? " -> " : "", trail[i]) < 0)
			goto nomem;
	return add_problem(sv, &p, &b);
nomem:
	pt__buf_release(&b);
	return -ENOMEM;
}

static void remove_job(struct solver *sv, uint32_t job)
{
	sv->removed[job] = 1;
	delete_first_occ(sv, job);
}

/* Forgets what was pulled from pull position start on. */
static void rollback(struct solver *sv, size_t start)
{
	for (size_t k = start; k < sv->pull.n; k++)
		sv->st1[sv->pull.v[k]] = NOT_VISITED;
	sv->pull.n = start;
}

static bool pulls(unsigned type)
{
	return type == PT_DEP_DEPENDS || type == PT_DEP_AFTER ||
	       type == PT_DEP_RESOURCE;
}

/*
 * The problem at stack index i (the affected job) as the restarts would
 * see it: remove it, then every job below it on the stack gets "missing
 * dependency" on the one above it and is removed too; then abandon the
 * root (roll back what it pulled).
 */
static int cascade(struct solver *sv, size_t i, size_t root_start)
{
	int r;

	remove_job(sv, sv->stack[i].node);
	while (i-- > 0) {
		const struct frame *f = &sv->stack[i];
		const struct pt__edge *e = &sv->s->edges.v[f->next - 1];

		r = problem_missing(sv, f->node, e->id, e->type);
		if (r < 0)
			return r;
		remove_job(sv, f->node);
	}
	for (size_t k = 0; k < sv->sp; k++)
		sv->st1[sv->stack[k].node] = NOT_VISITED;
	sv->sp = 0;
	rollback(sv, root_start);
	return 0;
}

static void push(struct solver *sv, uint32_t node, unsigned char *st)
{
	struct pt__span sp = { 0, 0 };

	if (node < sv->n)
		sp = sv->s->spans.v[node];
	else
		sp.n = (uint32_t)sv->groups.v[node - sv->n].ext.n;
	st[node] = VISITED;
	sv->stackpos[node] = (uint32_t)sv->sp;
	sv->stack[sv->sp++] = (struct frame){ node, sp.off, sp.off + sp.n };
}

/* Pass 1 from desired position `from` on. */
static int pass1(struct solver *sv, size_t from)
{
	const struct pt__edge *edges = sv->s->edges.v;
	int r;

	for (size_t pos = from; pos < sv->nd; pos++) {
		uint32_t j = sv->dj[pos];
		size_t start = sv->pull.n;

		if (sv->deleted[pos])
			continue;
		sv->root_start[pos] = (uint32_t)start;
		if (j == PT__NONE || sv->removed[j]) {
			r = problem_unknown(sv, sv->did[pos]);
			if (r < 0)
				return r;
			sv->deleted[pos] = 1;
			if (j != PT__NONE && sv->first_occ[j] == pos)
				sv->first_occ[j] = sv->next_occ[pos];
			continue;
		}
		if (sv->st1[j] != NOT_VISITED)
			continue;
		push(sv, j, sv->st1);
		while (sv->sp) {
			struct frame *f = &sv->stack[sv->sp - 1];
			const struct pt__edge *e = NULL;

			while (f->next < f->end) {
				e = &edges[f->next++];
				if (pulls(e->type))
					break;
				e = NULL;
			}
			if (!e) {
				sv->st1[f->node] = FINISHED;
				sv->root_of[f->node] = (uint32_t)pos;
				if (pt_vec_push(&sv->pull, f->node) < 0)
					return -ENOMEM;
				sv->sp--;
				continue;
			}
			if (e->target == PT__NONE || sv->removed[e->target]) {
				r = problem_missing(sv, f->node, e->id,
						    e->type);
				if (r < 0)
					return r;
				r = cascade(sv, sv->sp - 1, start);
				if (r < 0)
					return r;
				break;
			}
			if (sv->st1[e->target] == FINISHED)
				continue;
			if (sv->st1[e->target] == VISITED) {
				size_t i = sv->stackpos[e->target];

				r = problem_cycle(sv, i, e->target, e->target);
				if (r < 0)
					return r;
				r = cascade(sv, i, start);
				if (r < 0)
					return r;
				break;
			}
			push(sv, e->target, sv->st1);
		}
	}
	return 0;
}

/*
 * Pass 2 neighbour iteration. mode < 0: the general graph (members
 * replaced by their group's node); mode >= 0: inside group `mode`.
 * Returns the next node to visit from frame f, or PT__NONE when done.
 */
static uint32_t next_node(struct solver *sv, struct frame *f, long mode)
{
	const struct pt__edge *edges = sv->s->edges.v;

	if (f->node >= sv->n) {
		const struct group *g = &sv->groups.v[f->node - sv->n];

		while (f->next < g->ext.n) {
			uint32_t t = g->ext.v[f->next++].target;

			if (sv->gof[t] != PT__NONE)
				return (uint32_t)sv->n + sv->gof[t];
			return t;
		}
		return PT__NONE;
	}
	for (;;) {
		const struct pt__edge *e;
		uint32_t t;

		if (f->next >= f->end)
			return PT__NONE;
		e = &edges[f->next++];
		t = e->target;
		if (e->type == PT__EDGE_SALVAGES || t == PT__NONE ||
		    sv->removed[t] || sv->st1[t] != FINISHED)
			continue;
		if (mode >= 0) {
			if (sv->gof[t] != (uint32_t)mode)
				continue;
			return t;
		}
		if (sv->gof[t] != PT__NONE)
			return (uint32_t)sv->n + sv->gof[t];
		return t;
	}
}

/*
 * A DFS in postorder over roots[0..n) into out. On a cycle, returns 1 with
 * the problem added and *ret_affected set.
 */
static int dfs2(struct solver *sv, const uint32_t *roots, size_t n, long mode,
		struct pt__u32vec *out, uint32_t *ret_affected)
{
	for (size_t k = 0; k < n; k++) {
		uint32_t root = roots[k];

		if (sv->st2[root] != NOT_VISITED)
			continue;
		push(sv, root, sv->st2);
		while (sv->sp) {
			struct frame *f = &sv->stack[sv->sp - 1];
			uint32_t t = next_node(sv, f, mode);

			if (t == PT__NONE) {
				sv->st2[f->node] = FINISHED;
				if (pt_vec_push(out, f->node) < 0)
					return -ENOMEM;
				sv->sp--;
				continue;
			}
			if (sv->st2[t] == FINISHED)
				continue;
			if (sv->st2[t] == VISITED) {
				size_t i = sv->stackpos[t];
				uint32_t a = sv->stack[i].node;
				int r;

				if (a >= sv->n)
					a = sv->groups.v[a - sv->n]
						    .members.v[0];
				r = problem_cycle(sv, i, t, a);
				sv->sp = 0;
				if (r < 0)
					return r;
				*ret_affected = a;
				return 1;
			}
			push(sv, t, sv->st2);
		}
	}
	return 0;
}

static void groups_release(struct solver *sv)
{
	for (size_t g = 0; g < sv->groups.n; g++) {
		pt_vec_release(&sv->groups.v[g].members);
		pt_vec_release(&sv->groups.v[g].ext);
		pt_vec_release(&sv->groups.v[g].order);
	}
	sv->groups.n = 0;
	pt__map_release(&sv->group_by_name);
}

/*
 * Pass 2 over the pull solution. 0 with sv->order set, 1 when a cycle
 * was found (problem added, *ret_affected set), or -ENOMEM.
 */
static int pass2(struct solver *sv, uint32_t *ret_affected)
{
	const struct pt__jobst *jobs = sv->s->jobs.v;
	struct pt__u32vec roots = { 0 };
	int r = -ENOMEM;

	groups_release(sv);
	sv->order.n = 0;
	for (size_t k = 0; k < sv->pull.n; k++) {
		uint32_t j = sv->pull.v[k];
		const char *gname = jobs[j].job->group;
		void *v;

		sv->gof[j] = PT__NONE;
		sv->st2[j] = NOT_VISITED;
		if (!gname)
			continue;
		if (pt__map_find(&sv->group_by_name, gname, strlen(gname),
				 &v)) {
			sv->gof[j] = (uint32_t)(uintptr_t)v;
		} else {
			struct group g = { 0 };
			struct pt_buf b = PT_BUF_INIT;

			if (pt__buf_addf(&b, "_group_job_%s", gname) < 0)
				goto out;
			g.name = pt__arena_strndup(sv->arena, b.s, b.len);
			pt__buf_release(&b);
			if (!g.name || pt_vec_push(&sv->groups, g) < 0)
				goto out;
			sv->gof[j] = (uint32_t)(sv->groups.n - 1);
			if (pt__map_put(
				    &sv->group_by_name, gname, strlen(gname),
				    (void *)(uintptr_t)sv->gof[j], NULL) < 0)
				goto out;
		}
		if (pt_vec_push(&sv->groups.v[sv->gof[j]].members, j) < 0)
			goto out;
	}
	if (!sv->groups.n) {
		r = dfs2(sv, sv->pull.v, sv->pull.n, -1, &sv->order,
			 ret_affected);
		goto out;
	}
	/* External dependencies of each group, sorted by id, unique. */
	for (size_t g = 0; g < sv->groups.n; g++) {
		struct group *gr = &sv->groups.v[g];

		sv->st2[sv->n + g] = NOT_VISITED;
		for (size_t m = 0; m < gr->members.n; m++) {
			const struct pt__jobst *js = &jobs[gr->members.v[m]];

			for (uint32_t e = js->edge_off;
			     e < js->edge_off + js->edge_n; e++) {
				const struct pt__edge *ed = &sv->s->edges.v[e];
				uint32_t t = ed->target;

				if (ed->type == PT__EDGE_SALVAGES ||
				    t == PT__NONE || sv->removed[t] ||
				    sv->st1[t] != FINISHED ||
				    sv->gof[t] == (uint32_t)g)
					continue;
				if (pt_vec_push(&gr->ext,
						((struct pt__edge){
							jobs[t].job->id, t,
							PT_DEP_AFTER })) < 0)
					goto out;
			}
		}
		sort_edges(gr->ext.v, gr->ext.n);
		{
			size_t w = 0;

			for (size_t k = 0; k < gr->ext.n; k++)
				if (!w || gr->ext.v[w - 1].target !=
						  gr->ext.v[k].target)
					gr->ext.v[w++] = gr->ext.v[k];
			gr->ext.n = w;
		}
	}
	/* The general graph: each group at its first member's place. */
	for (size_t k = 0; k < sv->pull.n; k++) {
		uint32_t j = sv->pull.v[k], node = j;

		if (sv->gof[j] != PT__NONE) {
			if (sv->groups.v[sv->gof[j]].members.v[0] != j)
				continue;
			node = (uint32_t)sv->n + sv->gof[j];
		}
		if (pt_vec_push(&roots, node) < 0)
			goto out;
	}
	{
		struct pt__u32vec general = { 0 };

		r = dfs2(sv, roots.v, roots.n, -1, &general, ret_affected);
		for (size_t g = 0; r == 0 && g < sv->groups.n; g++) {
			struct group *gr = &sv->groups.v[g];

			r = dfs2(sv, gr->members.v, gr->members.n, (long)g,
				 &gr->order, ret_affected);
		}
		for (size_t k = 0; r == 0 && k < general.n; k++) {
			uint32_t node = general.v[k];

			if (node < sv->n) {
				if (pt_vec_push(&sv->order, node) < 0)
					r = -ENOMEM;
				continue;
			}
			struct group *gr = &sv->groups.v[node - sv->n];

			for (size_t m = 0; r == 0 && m < gr->order.n; m++)
				if (pt_vec_push(&sv->order, gr->order.v[m]) < 0)
					r = -ENOMEM;
		}
		pt_vec_release(&general);
	}
out:
	pt_vec_release(&roots);
	return r;
}

int pt__solve(struct pt_session *s, const char *const *desired, size_t nd,
	      struct pt__u32vec *run_list, struct pt__problemvec *problems,
	      struct pt_arena *arena, unsigned char *kept)
{
	struct solver sv = { 0 };
	size_t n = s->jobs.n, nodes;
	int r = -ENOMEM;

	r = pt__graph_build(s);
	if (r < 0)
		return r;
	r = -ENOMEM;
	sv.s = s;
	sv.arena = arena;
	sv.problems = problems;
	sv.n = n;
	sv.nd = nd;
	sv.did = desired;
	nodes = n + 1; /* jobs; group nodes follow (at most one per job) */
	sv.dj = pt__malloc_array(nd + 1, sizeof(uint32_t));
	sv.deleted = pt__calloc(nd + 1, 1);
	sv.next_occ = pt__malloc_array(nd + 1, sizeof(uint32_t));
	sv.root_start = pt__malloc_array(nd + 1, sizeof(uint32_t));
	sv.first_occ = pt__malloc_array(n + 1, sizeof(uint32_t));
	sv.removed = pt__calloc(n + 1, 1);
	sv.st1 = pt__calloc(n + 1, 1);
	sv.root_of = pt__malloc_array(n + 1, sizeof(uint32_t));
	sv.gof = pt__malloc_array(n + 1, sizeof(uint32_t));
	sv.st2 = pt__calloc(2 * nodes, 1);
	sv.stackpos = pt__malloc_array(2 * nodes, sizeof(uint32_t));
	sv.stack = pt__malloc_array(2 * nodes, sizeof(*sv.stack));
	if (!sv.dj || !sv.deleted || !sv.next_occ || !sv.root_start ||
	    !sv.first_occ || !sv.removed || !sv.st1 || !sv.root_of || !sv.gof ||
	    !sv.st2 || !sv.stackpos || !sv.stack)
		goto out;
	for (size_t j = 0; j < n; j++) {
		sv.first_occ[j] = PT__NONE;
		sv.gof[j] = PT__NONE;
	}
	/* Occurrence chains, built backwards so first_occ ends first. */
	for (size_t p = nd; p-- > 0;) {
		uint32_t j = lookup(s, desired[p]);

		sv.dj[p] = j;
		sv.next_occ[p] = PT__NONE;
		if (j != PT__NONE) {
			sv.next_occ[p] = sv.first_occ[j];
			sv.first_occ[j] = (uint32_t)p;
		}
	}
	{
		size_t from = 0;

		for (;;) {
			uint32_t a = PT__NONE;

			r = pass1(&sv, from);
			if (r < 0)
				goto out;
			r = pass2(&sv, &a);
			if (r < 0)
				goto out;
			if (r == 0)
				break;
			/* A cycle only pass 2 sees: drop the job and pull
			 * again from the root that pulled it. */
			from = sv.root_of[a];
			remove_job(&sv, a);
			rollback(&sv, sv.root_start[from]);
		}
	}
	run_list->n = 0;
	if (pt_vec_reserve(run_list, sv.order.n) < 0) {
		r = -ENOMEM;
		goto out;
	}
	if (sv.order.n)
		memcpy(run_list->v, sv.order.v, sv.order.n * sizeof(uint32_t));
	run_list->n = sv.order.n;
	if (kept)
		for (size_t p = 0; p < nd; p++)
			kept[p] = !sv.deleted[p];
	r = 0;
out:
	groups_release(&sv);
	pt_vec_release(&sv.groups);
	pt_vec_release(&sv.pull);
	pt_vec_release(&sv.order);
	pt__free(sv.dj);
	pt__free(sv.deleted);
	pt__free(sv.next_occ);
	pt__free(sv.root_start);
	pt__free(sv.first_occ);
	pt__free(sv.removed);
	pt__free(sv.st1);
	pt__free(sv.root_of);
	pt__free(sv.gof);
	pt__free(sv.st2);
	pt__free(sv.stackpos);
	pt__free(sv.stack);
	return r;
}
