/*
 * Tests of readiness inhibitors (docs/plainbox.md §3.3, §3.5), the outcome of
 * blocked jobs (§3.9), and incremental updates against a full recompute.
 * Ports upstream's get_inhibitor_list_* and ReactionToJobResult cases.
 */
#include "helpers.h"

#include "base/buf.h"
#include "base/rng.h"

static struct tj_set *jobs(const char *const *specs, size_t n)
{
	struct tj_set *set = tj_set_new();

	for (size_t i = 0; i < n; i++)
		tj_make(set, specs[i]);
	return set;
}

#define JOBS(...)                           \
 jobs((const char *const[]){ __VA_ARGS__ }, \
      sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *))

static void result(struct pt_session *s, const char *id, enum pt_outcome o)
{
	struct pt_result r = { .outcome = o, .duration = -1 };
	size_t j = pt_session_job_index(s, id);

	PT_ASSERT(j != PT_SESSION_NO_JOB);
	PT_ASSERT_OK(pt_session_set_result(s, j, &r, NULL, 0));
}

/* A resource result with records "k=v,k2=v2;k=w" (';' between records). */
static void resource_result(struct pt_session *s, const char *id,
			    enum pt_outcome o, const char *recs)
{
	struct pt_result r = { .outcome = o, .duration = -1 };
	struct pt_resource_record rr[8];
	const char *keys[8][8], *vals[8][8];
	struct pt_strlist rl = tj_list(recs, ';');
	struct pt_strlist kv[8];

	PT_ASSERT(rl.n <= 8);
	for (size_t i = 0; i < rl.n; i++) {
		kv[i] = tj_list(rl.v[i], ',');
		for (size_t k = 0; k < kv[i].n; k++) {
			const char *eq = strchr(kv[i].v[k], '=');

			PT_ASSERT_NOT_NULL(eq);
			keys[i][k] = tj_strndup(kv[i].v[k],
						(size_t)(eq - kv[i].v[k]));
			vals[i][k] = eq + 1;
		}
		rr[i] = (struct pt_resource_record){ kv[i].n, keys[i],
						     vals[i] };
	}
	PT_ASSERT_OK(pt_session_set_result(s, pt_session_job_index(s, id), &r,
					   rr, rl.n));
	for (size_t i = 0; i < rl.n; i++) {
		for (size_t k = 0; k < kv[i].n; k++)
			pt__free_const(keys[i][k]);
		tj_list_free(kv[i]);
	}
	tj_list_free(rl);
}

#define INH(s, id) tj_inhibitors((s), (id))

PT_TEST(readiness_undesired_off_run_list)
{
	struct tj_set *set = JOBS("A", "B");
	struct pt_session *s = tj_session(set);

	PT_ASSERT_STR_EQ(INH(s, "A"), "undesired");
	PT_ASSERT_OK(tj_desire(s, "A"));
	PT_ASSERT_STR_EQ(INH(s, "A"), "");
	PT_ASSERT_STR_EQ(INH(s, "B"), "undesired");
	PT_ASSERT(pt_session_can_start(s, 0));
	PT_ASSERT(!pt_session_can_start(s, 1));
	PT_ASSERT_INT_EQ(pt_session_inhibitor(s, 1, 0)->cause,
			 PT_INHIBIT_UNDESIRED);
	PT_ASSERT_NULL(pt_session_inhibitor(s, 1, 1));
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(readiness_depends_outcomes)
{
	static const struct {
		enum pt_outcome o;
		const char *want;
	} t[] = {
		{ PT_OUTCOME_NONE, "required dependency 'B' did not run yet" },
		{ PT_OUTCOME_PASS, "" },
		{ PT_OUTCOME_FAIL, "required dependency 'B' has failed" },
		{ PT_OUTCOME_SKIP, "required dependency 'B' has failed" },
		{ PT_OUTCOME_CRASH, "required dependency 'B' has failed" },
		{ PT_OUTCOME_NOT_SUPPORTED,
		  "required dependency 'B' has failed" },
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(t); i++) {
		struct tj_set *set = JOBS("A depends=B", "B");
		struct pt_session *s = tj_session(set);

		PT_ASSERT_OK(tj_desire(s, "A"));
		result(s, "B", t[i].o);
		PT_ASSERT_STR_EQ(INH(s, "A"), t[i].want);
		PT_ASSERT_INT_EQ(pt_session_can_start(s, 0), !*t[i].want);
		pt_session_free(s);
		tj_free(set);
	}
}

PT_TEST(readiness_after_any_outcome)
{
	struct tj_set *set = JOBS("A after=B", "B");
	struct pt_session *s = tj_session(set);

	PT_ASSERT_OK(tj_desire(s, "A"));
	PT_ASSERT_STR_EQ(INH(s, "A"),
			 "required dependency 'B' did not run yet");
	PT_ASSERT_INT_EQ(pt_session_inhibitor(s, 0, 0)->cause,
			 PT_INHIBIT_PENDING_DEP);
	PT_ASSERT_UINT_EQ(pt_session_inhibitor(s, 0, 0)->related_job, 1);
	result(s, "B", PT_OUTCOME_FAIL);
	PT_ASSERT_STR_EQ(INH(s, "A"), "");
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(readiness_depends_and_after_twice)
{
	struct tj_set *set = JOBS("A depends=C,B after=B", "B", "C");
	struct pt_session *s = tj_session(set);

	PT_ASSERT_OK(tj_desire(s, "A"));
	/* depends in sorted order, then after: B appears twice. */
	PT_ASSERT_STR_EQ(INH(s, "A"),
			 "required dependency 'B' did not run yet | "
			 "required dependency 'C' did not run yet | "
			 "required dependency 'B' did not run yet");
	result(s, "B", PT_OUTCOME_FAIL);
	PT_ASSERT_STR_EQ(INH(s, "A"),
			 "required dependency 'B' has failed | "
			 "required dependency 'C' did not run yet");
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(readiness_salvages)
{
	static const struct {
		enum pt_outcome o;
		const char *want;
	} t[] = {
		{ PT_OUTCOME_NONE, "required dependency 'F' did not fail" },
		{ PT_OUTCOME_PASS, "required dependency 'F' did not fail" },
		{ PT_OUTCOME_CRASH, "required dependency 'F' did not fail" },
		{ PT_OUTCOME_SKIP, "required dependency 'F' did not fail" },
		{ PT_OUTCOME_FAIL, "" },
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(t); i++) {
		struct tj_set *set = JOBS("S salvages=F", "F");
		struct pt_session *s = tj_session(set);

		PT_ASSERT_OK(tj_desire(s, "S F"));
		result(s, "F", t[i].o);
		PT_ASSERT_STR_EQ(INH(s, "S"), t[i].want);
		/* A salvage job whose target did not fail has no outcome. */
		PT_ASSERT_INT_EQ(pt_session_blocked_outcome(s, 0),
				 PT_OUTCOME_NONE);
		pt_session_free(s);
		tj_free(set);
	}
}

PT_TEST(readiness_salvages_unknown_target)
{
	struct tj_set *set = JOBS("S salvages=nope");
	struct pt_session *s = tj_session(set);
	const struct pt_inhibitor *ib;

	PT_ASSERT_OK(tj_desire(s, "S"));
	PT_ASSERT_STR_EQ(INH(s, "S"),
			 "required dependency 'nope' did not fail");
	ib = pt_session_inhibitor(s, 0, 0);
	PT_ASSERT_UINT_EQ(ib->related_job, PT_SESSION_NO_JOB);
	PT_ASSERT_STR_EQ(ib->related_id, "nope");
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(readiness_resources)
{
	struct tj_set *set = JOBS("A requires=R.k=v", "R plugin=resource");
	struct pt_session *s = tj_session(set);
	size_t n = 0;

	PT_ASSERT_OK(tj_desire(s, "A"));
	PT_ASSERT_STR_EQ(tj_run_list(s), "R A");
	PT_ASSERT_STR_EQ(INH(s, "A"),
			 "resource expression 'R.k=v' could not be evaluated "
			 "because the resource it depends on did not run yet");
	resource_result(s, "R", PT_OUTCOME_PASS, "k=w;k=x");
	PT_ASSERT_STR_EQ(INH(s, "A"), "resource expression 'R.k=v' evaluates "
				      "to false");
	PT_ASSERT_INT_EQ(pt_session_inhibitor(s, 0, 0)->cause,
			 PT_INHIBIT_FAILED_RESOURCE);
	PT_ASSERT_STR_EQ(pt_session_inhibitor(s, 0, 0)->related_expression,
			 "R.k=v");
	PT_ASSERT_INT_EQ(pt_session_blocked_outcome(s, 0),
			 PT_OUTCOME_SKIPPED_RESOURCE);
	/* A new result replaces the records. */
	resource_result(s, "R", PT_OUTCOME_PASS, "k=w;k=v,z=1");
	PT_ASSERT_STR_EQ(INH(s, "A"), "");
	PT_ASSERT(pt_session_resources(s, "R", &n));
	PT_ASSERT_UINT_EQ(n, 2);
	PT_ASSERT_STR_EQ(pt_session_resource(s, "R", 1)->values[1], "1");
	/* No record at all: one empty record, where k reads as "". */
	resource_result(s, "R", PT_OUTCOME_PASS, "");
	PT_ASSERT(pt_session_resources(s, "R", &n));
	PT_ASSERT_UINT_EQ(n, 1);
	PT_ASSERT_UINT_EQ(pt_session_resource(s, "R", 0)->n, 0);
	PT_ASSERT_STR_EQ(INH(s, "A"), "resource expression 'R.k=v' evaluates "
				      "to false");
	/* A failed resource job that printed records still feeds them. */
	resource_result(s, "R", PT_OUTCOME_FAIL, "k=v");
	PT_ASSERT_STR_EQ(INH(s, "A"), "");
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(readiness_pending_resource_skips_passed_jobs)
{
	/* R passed but left nothing in the map (not a resource plugin):
	 * the program cannot be evaluated, yet no inhibitor names R. */
	struct tj_set *set = JOBS("A requires=R.k=v|Q.k=v", "R", "Q");
	struct pt_session *s = tj_session(set);

	PT_ASSERT_OK(tj_desire(s, "A"));
	PT_ASSERT_STR_EQ(
		INH(s, "A"),
		"resource expression 'R.k=v|Q.k=v' could not be evaluated "
		"because the resource it depends on did not run yet | "
		"resource expression 'R.k=v|Q.k=v' could not be evaluated "
		"because the resource it depends on did not run yet");
	result(s, "R", PT_OUTCOME_PASS);
	PT_ASSERT_UINT_EQ(pt_session_inhibitor_count(s, 0), 1);
	PT_ASSERT_STR_EQ(pt_session_inhibitor(s, 0, 0)->related_id, "Q");
	result(s, "Q", PT_OUTCOME_PASS);
	PT_ASSERT_STR_EQ(INH(s, "A"), "");
	PT_ASSERT(pt_session_can_start(s, pt_session_job_index(s, "A")));
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(readiness_first_failing_expression_only)
{
	struct tj_set *set =
		JOBS("A requires=R.a=1;R.b=2;R.c=3", "R plugin=resource");
	struct pt_session *s = tj_session(set);

	PT_ASSERT_OK(tj_desire(s, "A"));
	resource_result(s, "R", PT_OUTCOME_PASS, "a=1,b=0,c=0");
	PT_ASSERT_STR_EQ(INH(s, "A"), "resource expression 'R.b=2' evaluates "
				      "to false");
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(readiness_order_of_causes)
{
	struct tj_set *set =
		JOBS("A requires=R.k=v depends=D after=F salvages=S", "D", "F",
		     "S", "R plugin=resource");
	struct pt_session *s = tj_session(set);
	size_t a;

	PT_ASSERT_OK(tj_desire(s, "A"));
	a = pt_session_job_index(s, "A");
	PT_ASSERT_OK(pt_session_require_manifest(s, a, "has_usb", true));
	PT_ASSERT_OK(pt_session_require_manifest(s, a, "has_wifi", true));
	PT_ASSERT_STR_EQ(
		INH(s, "A"),
		"manifest(s): has_usb, has_wifi unmet | "
		"resource expression 'R.k=v' could not be evaluated because "
		"the resource it depends on did not run yet | "
		"required dependency 'D' did not run yet | "
		"required dependency 'F' did not run yet | "
		"required dependency 'S' did not fail");
	PT_ASSERT_INT_EQ(pt_session_blocked_outcome(s, a),
			 PT_OUTCOME_SKIPPED_MANIFEST);
	PT_ASSERT_OK(pt_session_set_manifest(s, "has_usb", true));
	PT_ASSERT(!strncmp(INH(s, "A"), "manifest(s): has_wifi unmet | ", 30));
	PT_ASSERT_OK(pt_session_set_manifest(s, "has_wifi", true));
	PT_ASSERT_INT_EQ(pt_session_inhibitor(s, a, 0)->cause,
			 PT_INHIBIT_PENDING_RESOURCE);
	PT_ASSERT_INT_EQ(pt_session_blocked_outcome(s, a), PT_OUTCOME_NONE);
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(readiness_blocked_outcome)
{
	struct tj_set *set = JOBS("A depends=B,C", "B", "C", "E requires=R.k=v",
				  "F requires=R.k=v flags=fail-on-resource",
				  "R plugin=resource");
	struct pt_session *s = tj_session(set);

	PT_ASSERT_OK(tj_desire(s, "A E F"));
	PT_ASSERT_INT_EQ(pt_session_blocked_outcome(s, 0), PT_OUTCOME_NONE);
	result(s, "B", PT_OUTCOME_FAIL);
	PT_ASSERT_INT_EQ(pt_session_blocked_outcome(s, 0),
			 PT_OUTCOME_SKIPPED_DEPENDENCY);
	result(s, "C", PT_OUTCOME_SKIP);
	PT_ASSERT_INT_EQ(pt_session_blocked_outcome(s, 0), PT_OUTCOME_SKIP);
	resource_result(s, "R", PT_OUTCOME_PASS, "k=w");
	PT_ASSERT_INT_EQ(pt_session_blocked_outcome(s, 3),
			 PT_OUTCOME_SKIPPED_RESOURCE);
	PT_ASSERT_INT_EQ(pt_session_blocked_outcome(s, 4), PT_OUTCOME_FAIL);
	pt_session_free(s);
	tj_free(set);
}

PT_TEST(readiness_cause_names_and_texts)
{
	struct pt_inhibitor ib = { .cause = PT_INHIBIT_UNDESIRED };
	char small[4];

	PT_ASSERT_STR_EQ(pt_inhibitor_cause_name(PT_INHIBIT_NOT_FAILED_DEP),
			 "NOT_FAILED_DEP");
	PT_ASSERT_STR_EQ(pt_inhibitor_cause_name(PT_INHIBIT_REQUIRED_MANIFEST),
			 "REQUIRED_MANIFEST");
	PT_ASSERT_INT_EQ(pt_inhibitor_format(&ib, small, sizeof(small)), 9);
	PT_ASSERT_STR_EQ(small, "und");
	ib.cause = PT_INHIBIT_PENDING_DEP;
	ib.related_id = "it's";
	PT_ASSERT_INT_EQ(pt_inhibitor_format(&ib, NULL, 0),
			 (int)strlen("required dependency \"it's\" did not "
				     "run yet"));
}

PT_TEST(readiness_attempts)
{
	struct tj_set *set = JOBS("A");
	struct pt_session *s = tj_session(set);

	PT_ASSERT_OK(tj_desire(s, "A"));
	PT_ASSERT_UINT_EQ(pt_session_attempts(s, 0), 3);
	PT_ASSERT(pt_session_can_start(s, 0));
	pt_session_set_attempts(s, 0, 0);
	PT_ASSERT(!pt_session_can_start(s, 0));
	pt_session_free(s);
	tj_free(set);
}

/* ------------------------------------------------------------------ */
/* Incremental == full recompute                                       */
/* ------------------------------------------------------------------ */

struct changes {
	size_t n;
	unsigned char seen[512];
};

static void on_ready(void *ctx, struct pt_session *s, size_t job)
{
	struct changes *c = ctx;

	(void)s;
	c->n++;
	if (job < sizeof(c->seen))
		c->seen[job] = 1;
}

static char *snapshot(const struct pt_session *s, size_t job)
{
	return tj_strndup(tj_inhibitors(s, pt_session_job(s, job)->id),
			  strlen(tj_inhibitors(s, pt_session_job(s, job)->id)));
}

PT_TEST_TIMEOUT(readiness_incremental_equals_full, 120)
{
	static const enum pt_outcome outcomes[] = {
		PT_OUTCOME_NONE, PT_OUTCOME_PASS, PT_OUTCOME_PASS,
		PT_OUTCOME_FAIL, PT_OUTCOME_SKIP, PT_OUTCOME_CRASH,
	};
	struct pt_rng rng;

	pt__rng_seed(&rng, pt_test_seed());
	for (int it = 0; it < 150; it++) {
		int n = 2 + (int)pt__rng_below(&rng, 40);
		struct tj_set *set = tj_set_new();
		struct pt_session *s;
		struct changes ch = { 0 };
		struct pt_session_callbacks cb = { .readiness_changed =
							   on_ready,
						   .ctx = &ch };
		const char *ids[200];
		static char names[200][16];
		char *before[64];

		for (int i = 0; i < n; i++) {
			char spec[512];
			size_t off = (size_t)snprintf(
				spec, sizeof(spec), "j%02d%s", i,
				pt__rng_below(&rng, 4) ? ""
						       : " plugin=resource");
			static const char *const f[] = { "depends", "after",
							 "salvages" };

			for (int k = 0; k < 3 && i > 0; k++) {
				int m = (int)pt__rng_below(&rng, 3);

				for (int e = 0; e < m; e++) {
					int t = (int)pt__rng_below(&rng,
								   (uint64_t)i);

					if (e)
						off += (size_t)snprintf(
							spec + off,
							sizeof(spec) - off,
							",j%02d", t);
					else
						off += (size_t)snprintf(
							spec + off,
							sizeof(spec) - off,
							" %s=j%02d", f[k], t);
				}
			}
			if (i > 0 && pt__rng_below(&rng, 3) == 0)
				off += (size_t)snprintf(
					spec + off, sizeof(spec) - off,
					" requires=j%02d.k=v;j%02d.q=%d",
					(int)pt__rng_below(&rng, (uint64_t)i),
					(int)pt__rng_below(&rng, (uint64_t)i),
					(int)pt__rng_below(&rng, 2));
			tj_make(set, spec);
		}
		s = tj_session(set);
		for (int k = 0; k < n; k++) {
			snprintf(names[k], sizeof(names[k]), "j%02d",
				 (int)pt__rng_below(&rng, (uint64_t)n));
			ids[k] = names[k];
		}
		PT_ASSERT_OK(pt_session_set_desired(
			s, ids, pt__rng_below(&rng, (uint64_t)n) + 1, true));
		pt_session_set_callbacks(s, &cb);
		for (int step = 0; step < 3 * n; step++) {
			size_t j = pt__rng_below(&rng, (uint64_t)n);
			enum pt_outcome o = outcomes[pt__rng_below(
				&rng, PT_ARRAY_SIZE(outcomes))];
			struct pt_result r = { .outcome = o };
			struct pt_resource_record rec[3];
			const char *keys[3][2] = { { "k", "q" },
						   { "k", "q" },
						   { "k", "q" } };
			const char *vals[3][2];
			static const char *const kv[] = { "v", "w", "0", "1" };
			size_t nrec = pt__rng_below(&rng, 4);

			for (size_t x = 0; x < nrec; x++) {
				vals[x][0] = kv[pt__rng_below(&rng, 2)];
				vals[x][1] = kv[2 + pt__rng_below(&rng, 2)];
				rec[x] = (struct pt_resource_record){
					pt__rng_below(&rng, 3), keys[x], vals[x]
				};
			}
			for (int k = 0; k < n; k++)
				before[k] = snapshot(s, (size_t)k);
			memset(&ch, 0, sizeof(ch));
			PT_ASSERT_OK(
				pt_session_set_result(s, j, &r, rec, nrec));
			for (int k = 0; k < n; k++) {
				char *now = snapshot(s, (size_t)k);

				if (pt__readiness_check(s, (uint32_t)k))
					PT_FAIL("iteration %d step %d: job %d "
						"is stale: \"%s\"",
						it, step, k, now);
				/* Notified exactly when the list changed. */
				if (!!strcmp(before[k], now) != ch.seen[k])
					PT_FAIL("iteration %d step %d: job %d "
						"\"%s\" -> \"%s\", notified %d",
						it, step, k, before[k], now,
						ch.seen[k]);
				pt__free(now);
				pt__free(before[k]);
			}
		}
		pt_session_free(s);
		tj_free(set);
	}
}

/* Only the jobs that read the result are recomputed. */
PT_TEST(readiness_updates_only_affected_jobs)
{
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	struct changes ch = { 0 };
	struct pt_session_callbacks cb = { .readiness_changed = on_ready,
					   .ctx = &ch };
	char spec[64];

	tj_make(set, "root");
	for (int i = 0; i < 300; i++) {
		snprintf(spec, sizeof(spec), "leaf%03d depends=root", i);
		tj_make(set, spec);
	}
	tj_make(set, "other depends=leaf000");
	s = tj_session(set);
	PT_ASSERT_OK(tj_desire(s, "other"));
	pt_session_set_callbacks(s, &cb);
	result(s, "leaf000", PT_OUTCOME_PASS);
	PT_ASSERT_UINT_EQ(ch.n, 1);
	PT_ASSERT(ch.seen[pt_session_job_index(s, "other")]);
	pt_session_free(s);
	tj_free(set);
}

/* The default programs: the expression module, compat mode (§5). */
PT_TEST(readiness_with_expression_module)
{
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	struct pt_job *a, *b;
	const char *want_pending =
		"resource expression \"R.k == 'v'\" could not be evaluated "
		"because the resource it depends on did not run yet";

	a = tj_make(set, "A");
	a->requires = "R.k == 'v'\n  R.z == '1'  ";
	b = tj_make(set, "B");
	/* The unparenthesised `and` is split: each side over any record. */
	b->requires = "R.a == '1' and R.b == '2'";
	tj_make(set, "ns::R plugin=resource");
	a->ns = "ns";
	b->ns = "ns";
	PT_ASSERT_OK(pt_session_new((const struct pt_job *const *)set->jobs,
				    set->n, &s));
	PT_ASSERT_OK(tj_desire(s, "A B"));
	PT_ASSERT_STR_EQ(tj_run_list(s), "ns::R A B");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "A"), want_pending);
	PT_ASSERT_STR_EQ(pt_session_inhibitor(s, 0, 0)->related_id, "ns::R");
	resource_result(s, "ns::R", PT_OUTCOME_PASS, "k=v,z=0,a=1,b=0;a=0,b=2");
	PT_ASSERT_STR_EQ(
		tj_inhibitors(s, "A"),
		"resource expression \"R.z == '1'\" evaluates to false");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "B"), "");
	resource_result(s, "ns::R", PT_OUTCOME_PASS, "k=v,z=1");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "A"), "");
	PT_ASSERT_STR_EQ(
		tj_inhibitors(s, "B"),
		"resource expression \"R.a == '1' and R.b == '2'\" evaluates "
		"to false");
	pt_session_free(s);
	a->requires = b->requires = NULL; /* literals */
	tj_free(set);
}

/* Jobs with the same (namespace, imports, requires) share one program. */
PT_TEST(readiness_shared_programs)
{
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	struct pt_job *a = tj_make(set, "A"), *b = tj_make(set, "B");
	struct pt_job *c = tj_make(set, "C");

	a->requires = b->requires = "R.k == 'v'";
	c->requires = "R.k == 'w'";
	tj_make(set, "R plugin=resource");
	PT_ASSERT_OK(pt_session_new((const struct pt_job *const *)set->jobs,
				    set->n, &s));
	PT_ASSERT_OK(tj_desire(s, "A B C"));
	PT_ASSERT(s->jobs.v[0].prog == s->jobs.v[1].prog);
	PT_ASSERT(s->jobs.v[0].prog != s->jobs.v[2].prog);
	PT_ASSERT_UINT_EQ(s->prog_cache.n, 2);
	resource_result(s, "R", PT_OUTCOME_PASS, "k=w");
	PT_ASSERT_STR_EQ(
		tj_inhibitors(s, "B"),
		"resource expression \"R.k == 'v'\" evaluates to false");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "C"), "");
	pt_session_free(s);
	a->requires = b->requires = c->requires = NULL; /* literals */
	tj_free(set);
}

/*
 * A requires that does not compile (a missing quote, nesting past the
 * limit, 20,000 parentheses) is not "no requirement": the job stays on
 * the run list, blocked for good by BAD_RESOURCE_PROGRAM (whatever else
 * holds it), its blocked outcome is fail, and the solve reports a
 * problem per such job.
 */
PT_TEST(readiness_bad_resource_program)
{
	struct tj_set *set = tj_set_new();
	struct pt_session *s;
	struct pt_job *a = tj_make(set, "A"), *b = tj_make(set, "B depends=R");
	struct pt_job *c = tj_make(set, "C");
	struct pt_buf deep = PT_BUF_INIT;
	size_t ia, ib, ic;

	for (int i = 0; i < 20000; i++)
		PT_ASSERT_OK(pt__buf_addch(&deep, '('));
	PT_ASSERT_OK(pt__buf_adds(&deep, "R.k"));
	for (int i = 0; i < 20000; i++)
		PT_ASSERT_OK(pt__buf_addch(&deep, ')'));
	a->requires = "R.k == 'v";
	b->requires = "R.k == 'v'\n((((((((((((((((((((((((((((((((((((((((((("
		      "((((((((((((((((((((((((R.k))))))))))))))))))))))))"
		      ")))))))))))))))))))))))))))))))))))))))))))";
	c->requires = deep.s;
	tj_make(set, "R plugin=resource");
	PT_ASSERT_OK(pt_session_new((const struct pt_job *const *)set->jobs,
				    set->n, &s));
	PT_ASSERT_INT_EQ(tj_desire(s, "A B C"), 3);
	ia = pt_session_job_index(s, "A");
	ib = pt_session_job_index(s, "B");
	ic = pt_session_job_index(s, "C");
	PT_ASSERT_STR_EQ(tj_run_list(s), "A R B C");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "A"),
			 "resource program does not compile: <test>:1: "
			 "unterminated string literal (column 8)");
	PT_ASSERT_STR_EQ(
		pt_inhibitor_cause_name(pt_session_inhibitor(s, ia, 0)->cause),
		"BAD_RESOURCE_PROGRAM");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "B"),
			 "resource program does not compile: <test>:2: "
			 "expression nested deeper than 64 (column 65) | "
			 "required dependency 'R' did not run yet");
	PT_ASSERT_STR_EQ(tj_inhibitors(s, "C"),
			 "resource program does not compile: <test>:1: "
			 "expression longer than 4096 bytes");
	PT_ASSERT_STR_EQ(
		tj_problems(s),
		"requires of job 'A' does not compile: <test>:1: "
		"unterminated string literal (column 8) | "
		"requires of job 'B' does not compile: <test>:2: expression "
		"nested deeper than 64 (column 65) | "
		"requires of job 'C' does not compile: <test>:1: expression "
		"longer than 4096 bytes");
	PT_ASSERT_INT_EQ(pt_session_problem(s, 0)->kind,
			 PT_PROBLEM_RESOURCE_PROGRAM);
	PT_ASSERT_UINT_EQ(pt_session_problem(s, 0)->job, ia);
	PT_ASSERT(!pt_session_can_start(s, ia));
	PT_ASSERT_INT_EQ(pt_session_blocked_outcome(s, ia), PT_OUTCOME_FAIL);
	/* Blocked by a pending dependency too: still fail, not "wait". */
	PT_ASSERT_INT_EQ(pt_session_blocked_outcome(s, ib), PT_OUTCOME_FAIL);
	resource_result(s, "R", PT_OUTCOME_PASS, "k=v");
	PT_ASSERT(!pt_session_can_start(s, ib));
	PT_ASSERT(!pt_session_can_start(s, ic));
	pt_session_free(s);
	a->requires = b->requires = c->requires = NULL;
	pt__buf_release(&deep);
	tj_free(set);
}
