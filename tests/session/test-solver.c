/*
 * Tests of the dependency solver (docs/plainbox.md §3.4, §4): upstream's
 * TestDependencySolver behaviours as data-driven cases, cascades and
 * problem texts, a 100k-deep chain, and equivalence with a literal
 * implementation of upstream's restart-from-scratch loop on random graphs.
 */
#include "helpers.h"

#include "base/rng.h"

struct solver_case {
	const char *name;
	const char *jobs;      /* one job spec per line */
	const char *mandatory; /* space-separated ids, or NULL */
	const char *desired;   /* space-separated ids */
	const char *run_list;  /* expected */
	const char *problems;  /* expected messages joined with " | " */
};

static const struct solver_case cases[] = {
	{ "empty", "A", NULL, "", "", "" },
	{ "direct_deps", "A\nB depends=A\nC depends=B", NULL, "C B A", "A B C",
	  "" },
	{ "independent_groups_deps", "A1\nB1 depends=A1\nA2\nB2 depends=A2",
	  NULL, "B1 A1 B2 A2", "A1 B1 A2 B2", "" },
	{ "visiting_black_node", "A depends=B\nB\nC depends=B", NULL, "A C",
	  "B A C", "" },
	/* Sibling dependencies in (id, type) order: deterministic. */
	{ "sorted_siblings", "A depends=E,C,D,B\nB\nC\nD\nE", NULL, "A",
	  "B C D E A", "" },
	{ "same_id_two_types", "A depends=B after=B\nB", NULL, "A", "B A", "" },
	/* `after` pulls; `before` only orders (both measured upstream). */
	{ "after_pulls_before_does_not", "A after=B\nB\nC before=A", NULL, "A",
	  "B A", "" },
	{ "before_orders", "A after=B\nB\nC before=A", NULL, "A C", "B C A",
	  "" },
	{ "before_deps", "A\nB before=A", NULL, "A B", "B A", "" },
	{ "mixed_after_before_deps", "A after=B\nB\nC before=B", NULL, "A C",
	  "C B A", "" },
	/* `salvages` neither pulls nor orders. */
	{ "salvages_no_order", "S salvages=F\nF", NULL, "S F", "S F", "" },
	{ "salvages_no_pull", "S salvages=F\nF", NULL, "S", "S", "" },
	{ "resource_deps", "A requires=R.k=v\nR plugin=resource", NULL, "A",
	  "R A", "" },
	{ "mandatory_first", "M\nA\nB", "M", "B A", "M B A", "" },
	/* Problems. */
	{ "missing_direct", "A depends=X", NULL, "A", "",
	  "missing dependency: 'X' (depends)" },
	{ "missing_after", "A after=X", NULL, "A", "",
	  "missing dependency: 'X' (after)" },
	{ "missing_resource", "A requires=Y.k=v", NULL, "A", "",
	  "missing dependency: 'Y' (resource)" },
	{ "missing_cascade", "X depends=nope\nY depends=X\nZ", NULL, "Y Z", "Z",
	  "missing dependency: 'nope' (depends) | "
	  "missing dependency: 'X' (depends)" },
	{ "missing_before_is_ignored", "A before=nope", NULL, "A", "A", "" },
	{ "unknown", "A", NULL, "Q A", "A", "unknown job referenced: 'Q'" },
	{ "unknown_after_removal", "X depends=nope", NULL, "X X", "",
	  "missing dependency: 'nope' (depends) | "
	  "unknown job referenced: 'X'" },
	{ "cycle_self", "A depends=A", NULL, "A", "",
	  "dependency cycle detected: A -> A" },
	/* The affected job is the first of the trail (here the root). */
	{ "cycle_simple", "A depends=B\nB depends=A", NULL, "A", "",
	  "dependency cycle detected: A -> B -> A" },
	{ "cycle_longer", "A depends=C\nB depends=A\nC depends=B", NULL, "A",
	  "", "dependency cycle detected: A -> C -> B -> A" },
	/* Below the root: the restarts cascade to the root. */
	{ "cycle_below_root", "R depends=A\nA depends=B\nB depends=A\nZ", NULL,
	  "R Z", "Z",
	  "dependency cycle detected: A -> B -> A | "
	  "missing dependency: 'A' (depends)" },
	{ "cycle_below_root_keeps_b",
	  "R depends=A\nA depends=B\n"
	  "B depends=A\nZ depends=B",
	  NULL, "R Z", "",
	  "dependency cycle detected: A -> B -> A | "
	  "missing dependency: 'A' (depends) | "
	  "missing dependency: 'A' (depends) | "
	  "missing dependency: 'B' (depends)" },
	{ "cycle_after", "A after=B\nB after=A", NULL, "A", "",
	  "dependency cycle detected: A -> B -> A" },
	{ "cycle_via_resource", "A requires=R.k=v\nR depends=A", NULL, "A", "",
	  "dependency cycle detected: A -> R -> A" },
	/* Only the ordering pass sees a cycle through `before`. */
	{ "cycle_before", "A after=B before=B\nB", NULL, "A", "",
	  "dependency cycle detected: B -> A -> B | "
	  "missing dependency: 'B' (after)" },
	{ "cycle_before_keeps_others", "A after=B before=B\nB\nC", NULL, "C A",
	  "C",
	  "dependency cycle detected: B -> A -> B | "
	  "missing dependency: 'B' (after)" },
	/* Groups (§4.4). */
	{ "groups_measured", "G1 group=g\nG2 group=g\nP\nO depends=G2", NULL,
	  "G1 P O G2", "G1 G2 P O", "" },
	{ "groups_external_dep", "G1 group=g depends=X\nG2 group=g\nX\nP", NULL,
	  "P G2 G1", "P X G2 G1", "" },
	{ "groups_internal_order", "G1 group=g after=G2\nG2 group=g", NULL,
	  "G1 G2", "G2 G1", "" },
	{ "groups_internal_cycle",
	  "G1 group=g before=G2\nG2 group=g "
	  "before=G1\nP",
	  NULL, "G1 G2 P", "G2 P",
	  "dependency cycle detected: G1 -> G2 -> G1" },
	{ "groups_external_cycle",
	  "G1 group=g depends=X\nG2 group=g\n"
	  "X after=G2",
	  NULL, "G1", "",
	  "dependency cycle detected: _group_job_g -> X -> _group_job_g | "
	  "missing dependency: 'G2' (after) | "
	  "missing dependency: 'X' (depends)" },
	{ "groups_outer_cycle",
	  "G1 group=g\nG2 group=g after=O\nO after=P\n"
	  "P depends=G1",
	  NULL, "P G2", "",
	  "dependency cycle detected: _group_job_g -> O -> P -> _group_job_g"
	  " | missing dependency: 'G1' (depends) | "
	  "missing dependency: 'P' (after) | "
	  "missing dependency: 'O' (after)" },
	{ "groups_no_cycle",
	  "G1 group=g\nG2 group=g after=O\nO before=P\n"
	  "P depends=G1",
	  NULL, "P G2", "O G1 G2 P", "" },
	{ "no_groups_no_cycle",
	  "T1_1\nT1_2 after=T1_1\nT2_1 after=T2_2\n"
	  "T2_2",
	  NULL, "T2_2 T1_1 T1_2 T2_1", "T2_2 T1_1 T1_2 T2_1", "" },
};

static struct tj_set *load_case(const char *jobs)
{
	struct tj_set *set = tj_set_new();
	const char *p = jobs;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *line = tj_strndup(p, len);

		tj_make(set, line);
		pt__free(line);
		p += len;
		if (*p)
			p++;
	}
	return set;
}

PT_TEST(solver_problem_fields)
{
	struct tj_set *set = load_case("A depends=C\nB depends=A\nC depends=B\n"
				       "D after=nope\nE");
	struct pt_session *s = tj_session(set);
	const struct pt_problem *p;

	PT_ASSERT_INT_EQ(tj_desire(s, "A D"), 2);
	p = pt_session_problem(s, 0);
	PT_ASSERT_INT_EQ(p->kind, PT_PROBLEM_CYCLE);
	PT_ASSERT_UINT_EQ(p->trail_len, 4);
	PT_ASSERT_STR_EQ(p->trail[0], "A");
	PT_ASSERT_STR_EQ(p->trail[1], "C");
	PT_ASSERT_STR_EQ(p->trail[2], "B");
	PT_ASSERT_STR_EQ(p->trail[3], "A");
	PT_ASSERT_STR_EQ(p->job_id, "A");
	PT_ASSERT_UINT_EQ(p->job, pt_session_job_index(s, "A"));
	p = pt_session_problem(s, 1);
	PT_ASSERT_INT_EQ(p->kind, PT_PROBLEM_MISSING);
	PT_ASSERT_STR_EQ(p->job_id, "D");
	PT_ASSERT_STR_EQ(p->missing_id, "nope");
	PT_ASSERT_INT_EQ(p->dep_type, PT_DEP_AFTER);
	/* Desired list after the solve: the affected jobs are gone. */
	PT_ASSERT_UINT_EQ(pt_session_desired_count(s), 0);
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(solver_quotes_like_python)
{
	struct tj_set *set =
		load_case("it's depends=say\"hi\"\nb\\c depends=x");
	struct pt_session *s = tj_session(set);

	PT_ASSERT_INT_EQ(tj_desire(s, "it's b\\c caf\xc3\xa9"), 3);
	PT_ASSERT_STR_EQ(tj_problems(s),
			 "missing dependency: 'say\"hi\"' (depends) | "
			 "missing dependency: 'x' (depends) | "
			 "unknown job referenced: 'caf\\xe9'");
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(solver_duplicates)
{
	struct tj_set *set =
		load_case("A checksum=1\nA checksum=1\nB checksum=2\nB "
			  "checksum=3");
	struct pt_session *s = tj_session(set);

	PT_ASSERT_UINT_EQ(pt_session_job_count(s), 2);
	PT_ASSERT_UINT_EQ(pt_session_problem_count(s), 1);
	PT_ASSERT_STR_EQ(pt_session_problem(s, 0)->message,
			 "duplicate job id: 'B'");
	PT_ASSERT(pt_session_problem(s, 0)->duplicate == set->jobs[3]);
	PT_ASSERT_INT_EQ(pt_session_add_job(s, set->jobs[1]), 0);
	PT_ASSERT_ERR(pt_session_add_job(s, set->jobs[3]), PT_EDUPLICATE);
	/* The solve's own problems; the duplicates stay listed first. */
	PT_ASSERT_INT_EQ(tj_desire(s, "A B"), 0);
	PT_ASSERT_UINT_EQ(pt_session_problem_count(s), 2);
	PT_ASSERT_STR_EQ(tj_run_list(s), "A B");
	pt_session_free(s);
	tj_free(set);
}

/* A chain far deeper than upstream's recursion limit (~450). */
PT_TEST_TIMEOUT(solver_deep_chain, 60)
{
	enum { N = 100000 };
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	char spec[64];

	snprintf(spec, sizeof(spec), "j%06d", 0);
	tj_make(set, spec);
	for (int i = 1; i < N; i++) {
		snprintf(spec, sizeof(spec), "j%06d depends=j%06d", i, i - 1);
		tj_make(set, spec);
	}
	s = tj_session(set);
	{
		const char *last = set->jobs[N - 1]->id;

		PT_ASSERT_INT_EQ(pt_session_set_desired(s, &last, 1, true), 0);
	}
	PT_ASSERT_UINT_EQ(pt_session_run_list_count(s), N);
	for (size_t i = 0; i < N; i++)
		PT_ASSERT_UINT_EQ(pt_session_run_list_get(s, i), i);
	/* A missing dependency at the bottom removes the whole chain. */
	set->jobs[0]->depends = tj_list("nope", ',');
	pt_session_free(s);
	s = tj_session(set);
	{
		const char *last = set->jobs[N - 1]->id;

		PT_ASSERT_INT_EQ(pt_session_set_desired(s, &last, 1, true), N);
	}
	PT_ASSERT_UINT_EQ(pt_session_run_list_count(s), 0);
	PT_ASSERT_STR_EQ(pt_session_problem(s, N - 1)->message,
			 "missing dependency: 'j099998' (depends)");
	pt_session_free(s);
	tj_free(set);
}

/* ------------------------------------------------------------------ */
/* The reference: upstream's loop, literally (recursive, restarting).  */
/* ------------------------------------------------------------------ */

#define RMAX 64

struct rdep {
	const char *id;
	int type; /* enum pt_dep_type */
};

struct ref {
	size_t n;
	const struct pt_job *job[RMAX];
	void *prog[RMAX];
	bool in_jl[RMAX];
	bool bref[RMAX][RMAX]; /* before_references: accumulate forever */
	/* The desired list left after the loop. */
	const char *left[RMAX * 4];
	int n_left;
	/* The error of a failed resolve. */
	int err_affected;	 /* job index, or -1 for a non-job */
	const char *err_unknown; /* the unknown id when err_affected < 0 */
	char err[4096];
	/* Solver state. */
	int state[RMAX +
		  8]; /* 0 absent, 1 not visited, 2 visited, 3 finished */
	int pulled[RMAX];
	int pull[RMAX], npull;
	int order[RMAX + 8], norder;
	int trail[RMAX * 4], ntrail;
	/* Groups: virtual node RMAX + g. */
	const char *gname[8];
	int ng;
	int gof[RMAX];
	int gmem[8][RMAX], ngmem[8];
	const char *gext[8][RMAX * 4];
	int ngext[8];
};

static int ref_find(const struct ref *R, const char *id)
{
	for (size_t i = 0; i < R->n; i++)
		if (R->in_jl[i] && !strcmp(R->job[i]->id, id))
			return (int)i;
	return -1;
}

static int rdep_cmp(const void *a, const void *b)
{
	const struct rdep *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : x->type - y->type;
}

/* get_dependency_set, sorted by (id, type name), as a set. */
static size_t ref_depset(struct ref *R, int node, struct rdep *out)
{
	size_t n = 0, w = 0;

	if (node >= RMAX) {
		int g = node - RMAX;

		for (int k = 0; k < R->ngext[g]; k++)
			out[n++] = (struct rdep){ R->gext[g][k], PT_DEP_AFTER };
	} else {
		const struct pt_job *j = R->job[node];

		for (size_t k = 0; k < j->depends.n; k++)
			out[n++] = (struct rdep){ j->depends.v[k],
						  PT_DEP_DEPENDS };
		for (size_t k = 0; k < j->after.n; k++)
			out[n++] = (struct rdep){ j->after.v[k], PT_DEP_AFTER };
		if (R->prog[node]) {
			for (size_t x = 0; x < tj_count(R->prog[node]); x++) {
				struct pt__req_expr e;

				tj_expr(R->prog[node], x, &e);
				for (size_t k = 0; k < e.n_ids; k++)
					out[n++] = (struct rdep){
						e.ids[k], PT_DEP_RESOURCE
					};
			}
		}
		for (size_t k = 0; k < R->n; k++)
			if (R->bref[node][k])
				out[n++] = (struct rdep){ R->job[k]->id,
							  PT_DEP_BEFORE };
	}
	qsort(out, n, sizeof(*out), rdep_cmp);
	for (size_t k = 0; k < n; k++)
		if (!w || rdep_cmp(&out[w - 1], &out[k]))
			out[w++] = out[k];
	return w;
}

static const char *ref_name(struct ref *R, int node)
{
	return node >= RMAX ? R->gname[node - RMAX] : R->job[node]->id;
}

static void ref_cycle(struct ref *R, int from)
{
	size_t off = (size_t)snprintf(R->err, sizeof(R->err),
				      "dependency cycle detected: ");
	int a = R->trail[from];

	for (int k = from; k < R->ntrail; k++)
		off += (size_t)snprintf(R->err + off, sizeof(R->err) - off,
					"%s%s", k > from ? " -> " : "",
					ref_name(R, R->trail[k]));
	if (a >= RMAX)
		a = R->gmem[a - RMAX][0];
	R->err_affected = a;
}

/* Returns 0, or 1 with the error set. pull: pass 1; else group (-1 all). */
static int ref_visit(struct ref *R, int node, bool pull, int group)
{
	struct rdep deps[RMAX * 4];
	size_t nd;

	if (R->state[node] == 3)
		return 0;
	if (R->state[node] == 2) {
		int from = 0;

		while (R->trail[from] != node)
			from++;
		ref_cycle(R, from);
		return 1;
	}
	R->state[node] = 2;
	nd = ref_depset(R, node, deps);
	for (size_t k = 0; k < nd; k++) {
		int t;

		if (pull) {
			if (deps[k].type == PT_DEP_BEFORE)
				continue;
			t = ref_find(R, deps[k].id);
			if (t < 0) {
				char q[512];

				snprintf(q, sizeof(q), "'%s'", deps[k].id);
				snprintf(R->err, sizeof(R->err),
					 "missing dependency: %s (%s)", q,
					 pt_dep_type_name(deps[k].type));
				R->err_affected = node;
				return 1;
			}
		} else {
			t = ref_find(R, deps[k].id);
			if (t < 0 || !R->pulled[t])
				continue;
			if (group < 0) {
				if (R->gof[t] >= 0)
					t = RMAX + R->gof[t];
			} else if (R->gof[t] != group) {
				continue;
			}
		}
		R->trail[R->ntrail++] = t;
		if (ref_visit(R, t, pull, group))
			return 1;
		R->ntrail--;
	}
	R->state[node] = 3;
	if (pull)
		R->pull[R->npull++] = node;
	else
		R->order[R->norder++] = node;
	return 0;
}

static int ref_order(struct ref *R, const int *visit, int n, int group,
		     int *out, int *nout)
{
	for (int k = 0; k < RMAX + 8; k++)
		if (R->state[k])
			R->state[k] = 1;
	R->norder = 0;
	for (int k = 0; k < n; k++) {
		R->ntrail = 1;
		R->trail[0] = visit[k];
		if (ref_visit(R, visit[k], false, group))
			return 1;
	}
	memcpy(out, R->order, (size_t)R->norder * sizeof(int));
	*nout = R->norder;
	return 0;
}

/*
 * resolve_dependencies(jl, desired): 0 with the run list in run[], or 1
 * with the error. desired[k] is a job index, or -1 - k' for unknown ids.
 */
static int ref_resolve(struct ref *R, const int *desired, const char **dids,
		       int nd, int *run, int *nrun)
{
	static int general[RMAX + 8], gorder[8][RMAX], ngorder[8];
	int replaced[RMAX + 8], nrep = 0, ngen = 0;

	memset(R->state, 0, sizeof(R->state));
	for (size_t i = 0; i < R->n; i++)
		R->state[i] = R->in_jl[i] ? 1 : 0;
	R->npull = 0;
	for (int k = 0; k < nd; k++) {
		int j = desired[k];

		if (j < 0 || !R->in_jl[j]) {
			snprintf(R->err, sizeof(R->err),
				 "unknown job referenced: '%s'", dids[k]);
			R->err_affected = j;
			R->err_unknown = dids[k];
			return 1;
		}
		R->ntrail = 1;
		R->trail[0] = j;
		if (ref_visit(R, j, true, -1))
			return 1;
	}
	memset(R->pulled, 0, sizeof(R->pulled));
	for (int k = 0; k < R->npull; k++)
		R->pulled[R->pull[k]] = 1;
	/* add_before_deps. */
	for (int k = 0; k < R->npull; k++) {
		const struct pt_job *j = R->job[R->pull[k]];

		for (size_t b = 0; b < j->before.n; b++) {
			int x = ref_find(R, j->before.v[b]);

			if (x >= 0 && R->pulled[x])
				R->bref[x][R->pull[k]] = true;
		}
	}
	/* create_groups. */
	R->ng = 0;
	for (int k = 0; k < RMAX; k++)
		R->gof[k] = -1;
	for (int k = 0; k < R->npull; k++) {
		int j = R->pull[k], g;
		const char *name = R->job[j]->group;

		if (!name)
			continue;
		for (g = 0; g < R->ng; g++)
			if (!strcmp(R->gname[g] + strlen("_group_job_"), name))
				break;
		if (g == R->ng) {
			static char names[8][64];

			snprintf(names[g], sizeof(names[g]), "_group_job_%s",
				 name);
			R->gname[g] = names[g];
			R->ngmem[g] = 0;
			R->ngext[g] = 0;
			R->ng++;
		}
		R->gof[j] = g;
		R->gmem[g][R->ngmem[g]++] = j;
	}
	if (!R->ng)
		return ref_order(R, R->pull, R->npull, -1, run, nrun);
	for (int g = 0; g < R->ng; g++) {
		for (int m = 0; m < R->ngmem[g]; m++) {
			struct rdep deps[RMAX * 4];
			size_t n = ref_depset(R, R->gmem[g][m], deps);

			for (size_t k = 0; k < n; k++) {
				int t = ref_find(R, deps[k].id);
				bool dup = false;

				if (t >= 0 && R->pulled[t] && R->gof[t] == g)
					continue;
				for (int e = 0; e < R->ngext[g]; e++)
					dup |= !strcmp(R->gext[g][e],
						       deps[k].id);
				if (!dup)
					R->gext[g][R->ngext[g]++] = deps[k].id;
			}
		}
		R->state[RMAX + g] = 1;
	}
	for (int k = 0; k < R->npull; k++) {
		int j = R->pull[k];

		if (R->gof[j] < 0)
			replaced[nrep++] = j;
		else if (R->gmem[R->gof[j]][0] == j)
			replaced[nrep++] = RMAX + R->gof[j];
	}
	if (ref_order(R, replaced, nrep, -1, general, &ngen))
		return 1;
	for (int g = 0; g < R->ng; g++)
		if (ref_order(R, R->gmem[g], R->ngmem[g], g, gorder[g],
			      &ngorder[g]))
			return 1;
	*nrun = 0;
	for (int k = 0; k < ngen; k++) {
		if (general[k] < RMAX) {
			run[(*nrun)++] = general[k];
			continue;
		}
		for (int m = 0; m < ngorder[general[k] - RMAX]; m++)
			run[(*nrun)++] = gorder[general[k] - RMAX][m];
	}
	return 0;
}

/* update_desired_job_list with the restart loop; results as strings. */
static void ref_update(struct ref *R, const char **ids, int nd, char *run_out,
		       char *problems_out, size_t size)
{
	int desired[RMAX * 4], run[RMAX], nrun = 0;
	const char *dids[RMAX * 4];
	size_t poff = 0, roff = 0;

	for (size_t i = 0; i < R->n; i++)
		R->in_jl[i] = true;
	for (int k = 0; k < nd; k++) {
		desired[k] = ref_find(R, ids[k]);
		dids[k] = ids[k];
	}
	problems_out[0] = run_out[0] = 0;
	while (nd > 0) {
		int k;

		if (ref_resolve(R, desired, dids, nd, run, &nrun) == 0)
			break;
		nrun = 0;
		poff += (size_t)snprintf(problems_out + poff, size - poff,
					 "%s%s", poff ? " | " : "", R->err);
		for (k = 0; k < nd; k++) {
			bool eq = R->err_affected >= 0
					  ? desired[k] == R->err_affected
					  : (desired[k] < 0 &&
					     !strcmp(dids[k], R->err_unknown));
			if (eq)
				break;
		}
		if (k < nd) {
			memmove(&desired[k], &desired[k + 1],
				(size_t)(nd - k - 1) * sizeof(int));
			memmove(&dids[k], &dids[k + 1],
				(size_t)(nd - k - 1) * sizeof(char *));
			nd--;
		}
		if (R->err_affected >= 0)
			R->in_jl[R->err_affected] = false;
	}
	for (int k = 0; k < nrun; k++)
		roff += (size_t)snprintf(run_out + roff, size - roff, "%s%s",
					 k ? " " : "", R->job[run[k]]->id);
	for (int k = 0; k < nd; k++)
		R->left[k] = dids[k];
	R->n_left = nd;
}

static void random_graph(struct pt_rng *rng, struct tj_set *set, int n)
{
	static const char *const groups[] = { "g1", "g2", "g3" };

	for (int i = 0; i < n; i++) {
		char spec[1024], list[256];
		size_t off = (size_t)snprintf(spec, sizeof(spec), "j%02d", i);
		static const char *const fields[] = { "depends", "after",
						      "before", "salvages" };

		for (int f = 0; f < 4; f++) {
			int k = (int)pt__rng_below(rng, f == 0 ? 4 : 3);
			size_t lo = 0;

			if (pt__rng_below(rng, 2))
				k = 0;
			for (int e = 0; e < k; e++) {
				int t;

				/* Mostly backwards (a DAG), sometimes not. */
				if (pt__rng_below(rng, 40) == 0)
					lo += (size_t)snprintf(
						list + lo, sizeof(list) - lo,
						"%sm%d", e ? "," : "",
						(int)pt__rng_below(rng, 3));
				else {
					if (i > 0 && pt__rng_below(rng, 12))
						t = (int)pt__rng_below(
							rng, (uint64_t)i);
					else
						t = (int)pt__rng_below(
							rng, (uint64_t)n);
					lo += (size_t)snprintf(
						list + lo, sizeof(list) - lo,
						"%sj%02d", e ? "," : "", t);
				}
			}
			if (k)
				off += (size_t)snprintf(
					spec + off, sizeof(spec) - off,
					" %s=%s", fields[f], list);
		}
		if (i > 0 && pt__rng_below(rng, 5) == 0) {
			int t = (int)pt__rng_below(rng, (uint64_t)i);

			off += (size_t)snprintf(spec + off, sizeof(spec) - off,
						" requires=j%02d.k=v", t);
			if (pt__rng_below(rng, 3) == 0)
				off += (size_t)snprintf(
					spec + off, sizeof(spec) - off,
					"|j%02d.k=w",
					(int)pt__rng_below(rng, (uint64_t)n));
		}
		if (pt__rng_below(rng, 5) == 0)
			off += (size_t)snprintf(spec + off, sizeof(spec) - off,
						" group=%s",
						groups[pt__rng_below(rng, 3)]);
		tj_make(set, spec);
	}
}

PT_TEST_TIMEOUT(solver_equals_restart_loop_on_random_graphs, 120)
{
	struct pt_rng rng;
	static char run_ref[8192], prob_ref[1 << 15];
	int iters = 3000;

	pt__rng_seed(&rng, pt_test_seed());
	for (int it = 0; it < iters; it++) {
		int n = 2 + (int)pt__rng_below(&rng, 30);
		struct tj_set *set = tj_set_new();
		struct pt_session *s;
		struct ref *R = pt__calloc(1, sizeof(*R));
		const char *ids[RMAX * 2];
		static char names[RMAX * 2][16];
		int nd;

		random_graph(&rng, set, n);
		s = tj_session(set);
		R->n = set->n;
		for (size_t i = 0; i < set->n; i++) {
			R->job[i] = set->jobs[i];
			tj_compile(NULL, set->jobs[i], &R->prog[i], NULL);
		}
		/* Two solves on the same session: before_references persist
		 * upstream; stale ones must stay harmless. */
		for (int round = 0; round < 2; round++) {
			nd = (int)pt__rng_below(&rng, (uint64_t)n + 3);
			for (int k = 0; k < nd; k++) {
				int t = (int)pt__rng_below(&rng,
							   (uint64_t)n + 1);

				if (t == n)
					snprintf(names[k], sizeof(names[k]),
						 "u%d",
						 (int)pt__rng_below(&rng, 2));
				else
					snprintf(names[k], sizeof(names[k]),
						 "j%02d", t);
				ids[k] = names[k];
			}
			/* Sometimes a mandatory list: the first nm ids. */
			{
				int nm = round == 1 && nd
						 ? (int)pt__rng_below(
							   &rng, (uint64_t)nd)
						 : 0;

				PT_ASSERT_OK(pt_session_set_mandatory(
					s, ids, (size_t)nm));
				PT_ASSERT_OK(pt_session_set_desired(
					s, ids + nm, (size_t)(nd - nm), true));
			}
			ref_update(R, ids, nd, run_ref, prob_ref,
				   sizeof(prob_ref));
			/* The surviving desired list, as upstream's. */
			if (pt_session_desired_count(s) != (size_t)R->n_left)
				PT_FAIL("iteration %d: desired %zu vs %d", it,
					pt_session_desired_count(s), R->n_left);
			for (int k = 0; k < R->n_left; k++)
				PT_ASSERT_STR_EQ(
					pt_session_desired_id(s, (size_t)k),
					R->left[k]);
			if (strcmp(run_ref, tj_run_list(s)) ||
			    strcmp(prob_ref, tj_problems(s))) {
				for (size_t i = 0; i < set->n; i++) {
					const struct pt_job *j = set->jobs[i];

					fprintf(stderr,
						"job %s group=%s requires=%s\n",
						j->id, j->group ? j->group : "",
						j->requires ? j->requires : "");
					for (size_t k = 0; k < j->depends.n;
					     k++)
						fprintf(stderr,
							"  depends %s\n",
							j->depends.v[k]);
					for (size_t k = 0; k < j->after.n; k++)
						fprintf(stderr, "  after %s\n",
							j->after.v[k]);
					for (size_t k = 0; k < j->before.n; k++)
						fprintf(stderr, "  before %s\n",
							j->before.v[k]);
				}
				for (int k = 0; k < nd; k++)
					fprintf(stderr, "desired %s\n", ids[k]);
				PT_FAIL("iteration %d round %d:\n"
					"  ref run:  %s\n  ours run: %s\n"
					"  ref problems:  %s\n"
					"  ours problems: %s",
					it, round, run_ref, tj_run_list(s),
					prob_ref, tj_problems(s));
			}
		}
		for (size_t i = 0; i < set->n; i++)
			if (R->prog[i])
				tj_release(NULL, R->prog[i]);
		pt__free(R);
		pt_session_free(s);
		tj_free(set);
	}
}

static void run_case(const struct solver_case *c)
{
	struct tj_set *set = load_case(c->jobs);
	struct pt_session *s = tj_session(set);
	int r;

	if (c->mandatory) {
		struct pt_strlist l = tj_list(c->mandatory, ' ');

		PT_ASSERT_OK(pt_session_set_mandatory(s, l.v, l.n));
		tj_list_free(l);
	}
	r = tj_desire(s, c->desired);
	PT_ASSERT_OK(r);
	{
		/* The literal restart loop must agree with the expectation. */
		static char run_ref[8192], prob_ref[8192];
		struct ref *R = pt__calloc(1, sizeof(*R));
		struct pt_strlist m =
			tj_list(c->mandatory ? c->mandatory : "", ' ');
		struct pt_strlist d = tj_list(c->desired, ' ');
		const char *ids[RMAX * 2];
		size_t nd = 0;

		for (size_t i = 0; i < m.n; i++)
			ids[nd++] = m.v[i];
		for (size_t i = 0; i < d.n; i++)
			ids[nd++] = d.v[i];
		R->n = set->n;
		for (size_t i = 0; i < set->n; i++) {
			R->job[i] = set->jobs[i];
			tj_compile(NULL, set->jobs[i], &R->prog[i], NULL);
		}
		ref_update(R, ids, (int)nd, run_ref, prob_ref,
			   sizeof(prob_ref));
		if (strcmp(run_ref, c->run_list) ||
		    strcmp(prob_ref, c->problems))
			PT_FAIL("case %s: reference disagrees:\n  run: %s\n"
				"  problems: %s",
				c->name, run_ref, prob_ref);
		for (size_t i = 0; i < set->n; i++)
			if (R->prog[i])
				tj_release(NULL, R->prog[i]);
		pt__free(R);
		tj_list_free(m);
		tj_list_free(d);
	}
	if (strcmp(tj_run_list(s), c->run_list) ||
	    strcmp(tj_problems(s), c->problems))
		PT_FAIL("case %s:\n  run list: \"%s\" (expected \"%s\")\n"
			"  problems: \"%s\"\n  expected: \"%s\"",
			c->name, tj_run_list(s), c->run_list, tj_problems(s),
			c->problems);
	PT_ASSERT_UINT_EQ(r, pt_session_problem_count(s));
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(solver_cases)
{
	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++)
		run_case(&cases[i]);
}

/*
 * The run list's invariants: every pulling dependency of a run-list job is
 * on the run list before it, every ordering dependency that is on the run
 * list is before it, and the members of a group are contiguous.
 */
static void check_invariants(const struct pt_session *s)
{
	size_t n = pt_session_job_count(s), rn = pt_session_run_list_count(s);
	size_t *pos = pt__calloc(n + 1, sizeof(*pos));

	PT_ASSERT_NOT_NULL(pos);
	for (size_t i = 0; i < rn; i++)
		pos[pt_session_run_list_get(s, i)] = i + 1;
	for (size_t i = 0; i < rn; i++) {
		size_t j = pt_session_run_list_get(s, i);
		const struct pt__jobst *js = &s->jobs.v[j];
		const char *g = js->job->group;

		for (uint32_t e = js->edge_off; e < js->edge_off + js->edge_n;
		     e++) {
			const struct pt__edge *ed = &s->edges.v[e];

			if (ed->type == PT__EDGE_SALVAGES)
				continue;
			if (ed->type != PT_DEP_BEFORE) {
				PT_ASSERT(ed->target != PT__NONE);
				PT_ASSERT(pos[ed->target]);
			}
			if (ed->target != PT__NONE && pos[ed->target] &&
			    pos[ed->target] >= i + 1)
				PT_FAIL("%s runs before its dependency %s (%s)",
					js->job->id, ed->id,
					pt_dep_type_name(ed->type));
		}
		/* A group's members are contiguous. */
		if (g && i > 0) {
			const char *pg =
				pt_session_job(
					s, pt_session_run_list_get(s, i - 1))
					->group;

			if (!pg || strcmp(pg, g))
				for (size_t k = 0; k + 1 < i; k++) {
					const char *kg =
						pt_session_job(
							s,
							pt_session_run_list_get(
								s, k))
							->group;

					if (kg && !strcmp(kg, g))
						PT_FAIL("group %s is split at %s",
							g, js->job->id);
				}
		}
	}
	pt__free(pos);
}

PT_TEST(solver_invariants_on_random_graphs)
{
	struct pt_rng rng;

	pt__rng_seed(&rng, pt_test_seed());
	for (int it = 0; it < 500; it++) {
		int n = 2 + (int)pt__rng_below(&rng, 40);
		struct tj_set *set = tj_set_new();
		struct pt_session *s;
		const char *ids[64];

		random_graph(&rng, set, n);
		s = tj_session(set);
		for (int k = 0; k < n; k++)
			ids[k] = set->jobs[k]->id;
		PT_ASSERT_OK(pt_session_set_desired(s, ids, (size_t)n, true));
		check_invariants(s);
		pt_session_free(s);
		tj_free(set);
	}
}

/* Every job of the real Checkbox corpus, when it is present (§9). */
PT_TEST_TIMEOUT(solver_corpus_all_jobs, 120)
{
	const char *corpus = getenv("PT_CORPUS");
	char path[4096];
	const char *paths[1];
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	struct pt_session *s = NULL;
	const struct pt_job **jobs;
	const char **ids;
	size_t n;
	int r;

	if (!corpus)
		pt_test_skip("PT_CORPUS not set");
	snprintf(path, sizeof(path), "%s/providers", corpus);
	paths[0] = path;
	{
		FILE *f = fopen(path, "r");

		if (!f)
			pt_test_skip("no Checkbox corpus");
		fclose(f);
	}
	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	{
		/* providers/<name>: each a provider directory. */
		static const char *const names[] = {
			"base",
			"resource",
			"certification-client",
			"certification-server",
			"sru",
			"tpm2",
			"gpgpu",
			"genio",
			"iiotg",
			"docker",
		};

		for (size_t i = 0; i < PT_ARRAY_SIZE(names); i++) {
			snprintf(path, sizeof(path), "%s/providers/%s", corpus,
				 names[i]);
			PT_ASSERT_OK(pt_units_load_paths(u, 1, paths, NULL, d));
		}
	}
	n = pt_units_job_count(u);
	PT_ASSERT_INT_GT(n, 1000);
	jobs = pt__calloc(n, sizeof(*jobs));
	ids = pt__calloc(n, sizeof(*ids));
	PT_ASSERT(jobs && ids);
	for (size_t i = 0; i < n; i++) {
		jobs[i] = pt_units_job(u, i);
		ids[i] = jobs[i]->id;
	}
	PT_ASSERT_OK(pt_session_new(jobs, n, &s));
	r = pt_session_set_desired(s, ids, n, true);
	PT_ASSERT_OK(r);
	PT_ASSERT_INT_GT(pt_session_run_list_count(s), 500);
	check_invariants(s);
	/* Deterministic: a second session gives the same run list. */
	{
		struct pt_session *s2 = NULL;

		PT_ASSERT_OK(pt_session_new(jobs, n, &s2));
		PT_ASSERT_INT_EQ(pt_session_set_desired(s2, ids, n, true), r);
		PT_ASSERT_UINT_EQ(pt_session_run_list_count(s2),
				  pt_session_run_list_count(s));
		for (size_t i = 0; i < pt_session_run_list_count(s); i++)
			PT_ASSERT_UINT_EQ(pt_session_run_list_get(s2, i),
					  pt_session_run_list_get(s, i));
		pt_session_free(s2);
	}
	pt_session_free(s);
	pt__free(jobs);
	pt__free(ids);
	pt_units_free(u);
	pt_diags_free(d);
}

/* get_dependency_set + add_before_deps: a job's edges, as a sorted set. */
PT_TEST(solver_dependency_set)
{
	struct tj_set *set = load_case("A depends=C,B,C after=B requires=R.k=v "
				       "salvages=S\nB before=A,nope\nC\nR\nS\n"
				       "D before=A");
	struct pt_session *s = tj_session(set);
	const struct pt__jobst *a;
	char buf[512];
	size_t off = 0;

	PT_ASSERT_OK(pt__graph_build(s));
	a = &s->jobs.v[0];
	for (uint32_t e = a->edge_off; e < a->edge_off + a->edge_n; e++) {
		const struct pt__edge *ed = &s->edges.v[e];

		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s:%s",
					off ? " " : "", ed->id,
					ed->type == PT__EDGE_SALVAGES
						? "salvages"
						: pt_dep_type_name(ed->type));
	}
	PT_ASSERT_STR_EQ(buf, "B:after B:before B:depends C:depends D:before "
			      "R:resource S:salvages");
	/* `before: nope` names no job: ignored (upstream logs it). */
	PT_ASSERT_UINT_EQ(s->jobs.v[1].edge_n, 0);
	pt_session_free(s);
	tj_free(set);
}
