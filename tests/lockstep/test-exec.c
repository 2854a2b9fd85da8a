/*
 * tests/lockstep/test-exec.c - proctor lockstep exec on the pthread corpus
 * (tests/lockstep/pthread/): every bug is found within its stated budget
 * by the stated strategy and seed, replays exactly and shrinks; every
 * fixed twin passes under every strategy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define ARRAY_N(a) (sizeof(a) / sizeof((a)[0]))

static char *prog(const char *name, bool fixed)
{
	static char buf[8][4096];
	static int k;
	const char *dir = getenv("PT_LS_PT_DIR");

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/pt-%s%s", dir ? dir : ".", name,
		 fixed ? "-fixed" : "");
	return buf[k];
}

static bool have_tsan(void)
{
	const char *t = getenv("PT_LS_TSAN");

	return t && !strcmp(t, "1");
}

static struct pt_ls_report *exec_run(struct pt_ls_exec_opts o)
{
	struct pt_ls_report *rep = NULL;
	char err[512] = "";
	int r;

	if (!o.trace_dir)
		o.trace_dir = pt_test_tmpdir();
	o.err = err;
	o.errlen = sizeof(err);
	r = pt_ls_exec(&o, &rep);
	if (r < 0)
		PT_FAIL("pt_ls_exec(%s): %s: %s", o.argv[0], pt_strerror(r),
			err);
	return rep;
}

/* A bug of the corpus and how it is found (fixed seed 1). */
struct bug {
	const char *name;
	bool tsan;		      /* built with -fsanitize=thread */
	enum pt_ls_strategy strategy; /* the strategy that finds it */
	unsigned bound;		      /* DFS: preemptions */
	unsigned budget;	      /* found within this many iterations */
	enum pt_ls_kind kind;
	unsigned spurious;
};

static const struct bug bugs[] = {
	{ "split-update", false, PT_LS_PCT, 0, 20, PT_LS_FAIL_ASSERT, 0 },
	{ "lock-order", false, PT_LS_RANDOM, 0, 10, PT_LS_FAIL_DEADLOCK, 0 },
	{ "philosophers", false, PT_LS_POS, 0, 10, PT_LS_FAIL_DEADLOCK, 0 },
	{ "lost-wakeup", false, PT_LS_PCT, 0, 10, PT_LS_FAIL_DEADLOCK, 0 },
	{ "cond-if", false, PT_LS_PCT, 0, 10, PT_LS_FAIL_ASSERT, 0 },
	{ "sem-order", false, PT_LS_DFS, 2, 10, PT_LS_FAIL_DEADLOCK, 0 },
	{ "rwlock-upgrade", false, PT_LS_POS, 0, 20, PT_LS_FAIL_ASSERT, 0 },
	{ "barrier-count", false, PT_LS_POS, 0, 10, PT_LS_FAIL_ASSERT, 0 },
	{ "once-init", false, PT_LS_POS, 0, 10, PT_LS_FAIL_ASSERT, 0 },
	{ "sleep-order", false, PT_LS_RANDOM, 0, 1, PT_LS_FAIL_EXIT, 0 },
	{ "timed-wait", false, PT_LS_RANDOM, 0, 1, PT_LS_FAIL_ASSERT, 0 },
	{ "errorcheck", false, PT_LS_DFS, 2, 30, PT_LS_FAIL_ASSERT, 0 },
	{ "tsd-leak", false, PT_LS_RANDOM, 0, 10, PT_LS_FAIL_ASSERT, 0 },
	{ "spurious", false, PT_LS_RANDOM, 0, 10, PT_LS_FAIL_ASSERT, 1 },
	{ "lost-update", true, PT_LS_PCT, 0, 20, PT_LS_FAIL_ASSERT, 0 },
	{ "check-then-act", true, PT_LS_DFS, 2, 40, PT_LS_FAIL_ASSERT, 0 },
	{ "order-violation", true, PT_LS_PCT, 0, 10, PT_LS_FAIL_CRASH, 0 },
	{ "use-after-free", true, PT_LS_POS, 0, 20, 0, 0 },
	{ "dcl", true, PT_LS_RANDOM, 0, 20, PT_LS_FAIL_ASSERT, 0 },
	{ "refcount", true, PT_LS_POS, 0, 20, PT_LS_FAIL_ASSERT, 0 },
	{ "publish", true, PT_LS_POS, 0, 10, PT_LS_FAIL_ASSERT, 0 },
	{ "queue-full", true, PT_LS_POS, 0, 10, PT_LS_FAIL_ASSERT, 0 },
	{ "preempt2", true, PT_LS_DFS, 2, 100, PT_LS_FAIL_ASSERT, 0 },
	{ "preempt3", true, PT_LS_DFS, 3, 300, PT_LS_FAIL_ASSERT, 0 },
	{ "aba", true, PT_LS_POS, 0, 100, PT_LS_FAIL_ASSERT, 0 },
	{ "work-stealing", true, PT_LS_RANDOM, 0, 20, PT_LS_FAIL_ASSERT, 0 },
};

/* Every bug: found within budget, replayed exactly. */
PT_TEST_TIMEOUT(corpus_bugs_are_found_and_replay, 120)
{
	unsigned n = 0;

	for (size_t i = 0; i < ARRAY_N(bugs); i++) {
		const struct bug *b = &bugs[i];
		const char *argv[] = { prog(b->name, false), NULL };
		struct pt_ls_report *rep, *again;

		if (b->tsan && !have_tsan())
			continue;
		rep = exec_run(
			(struct pt_ls_exec_opts){ .argv = argv,
						  .seed = 1,
						  .iterations = b->budget,
						  .strategy = b->strategy,
						  .bound = b->bound,
						  .spurious = b->spurious });
		if (rep->kind == PT_LS_PASS)
			PT_FAIL("%s: not found in %u iterations (%s)", b->name,
				b->budget, rep->strategy);
		if (b->kind && rep->kind != b->kind)
			PT_FAIL("%s: found as %s, expected %s:\n%s", b->name,
				pt_ls_kind_name(rep->kind),
				pt_ls_kind_name(b->kind), rep->text);
		PT_ASSERT(rep->iteration <= b->budget);
		PT_ASSERT_NOT_NULL(rep->trace_path);
		fprintf(stderr, "# %s: %s on iteration %u (%s), %zu steps\n",
			b->name, pt_ls_kind_name(rep->kind), rep->iteration,
			rep->strategy, pt_ls_trace_steps(rep->trace));
		/* The trace replays to the same failure. */
		again = exec_run(
			(struct pt_ls_exec_opts){ .argv = argv,
						  .replay = rep->trace,
						  .spurious = b->spurious });
		if (again->kind != rep->kind)
			PT_FAIL("%s: replay gave %s, not %s: %s", b->name,
				pt_ls_kind_name(again->kind),
				pt_ls_kind_name(rep->kind),
				again->reason ? again->reason : "");
		PT_ASSERT_INT_EQ(pt_ls_trace_steps(again->trace),
				 pt_ls_trace_steps(rep->trace));
		pt_ls_report_free(again);
		pt_ls_report_free(rep);
		n++;
	}
	PT_ASSERT_INT_EQ(n, have_tsan() ? 26 : 14);
}

/* No false report: every fixed twin passes under every strategy. */
PT_TEST_TIMEOUT(corpus_fixed_twins_pass_every_strategy, 120)
{
	static const enum pt_ls_strategy strategies[] = {
		PT_LS_RANDOM,	PT_LS_PCT,   PT_LS_POS,
		PT_LS_FAIR_PCT, PT_LS_IDPCT, PT_LS_DFS,
	};

	for (size_t i = 0; i < ARRAY_N(bugs); i++) {
		const struct bug *b = &bugs[i];
		const char *argv[] = { prog(b->name, true), NULL };

		if (b->tsan && !have_tsan())
			continue;
		for (size_t k = 0; k < ARRAY_N(strategies); k++) {
			struct pt_ls_report *rep = exec_run((
				struct pt_ls_exec_opts){
				.argv = argv,
				.seed = 7,
				.iterations =
					strategies[k] == PT_LS_DFS ? 60 : 20,
				.strategy = strategies[k],
				.bound = 2,
				.spurious = b->spurious });

			if (rep->kind != PT_LS_PASS)
				PT_FAIL("%s (fixed): false report under "
					"%s:\n%s",
					b->name,
					pt_ls_strategy_name(strategies[k]),
					rep->text);
			pt_ls_report_free(rep);
		}
	}
}

/* DFS: "every schedule up to bound K ran, no bug", then found at K+1. */
PT_TEST_TIMEOUT(dfs_bounds_are_exhausted_then_found, 60)
{
	/* A lock-order deadlock needs one preemption (schedules that only
	 * switch when a thread blocks cannot deadlock it). */
	{
		const char *argv[] = { prog("lock-order", false), NULL };
		struct pt_ls_report *rep = exec_run((struct pt_ls_exec_opts){
			.argv = argv, .strategy = PT_LS_DFS, .bound = 0 });

		PT_ASSERT_INT_EQ(rep->kind, PT_LS_PASS);
		PT_ASSERT(rep->exhausted);
		PT_ASSERT_INT_EQ(rep->iterations, 3);
		pt_ls_report_free(rep);
		rep = exec_run((struct pt_ls_exec_opts){
			.argv = argv, .strategy = PT_LS_DFS, .bound = 1 });
		PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_DEADLOCK);
		PT_ASSERT_INT_EQ(pt_ls_trace_preemptions(rep->trace), 1);
		pt_ls_report_free(rep);
	}
	static const struct {
		const char *name;
		unsigned need;
	} cases[] = { { "preempt2", 2 }, { "preempt3", 3 } };

	if (!have_tsan())
		return;
	for (size_t i = 0; i < ARRAY_N(cases); i++) {
		const char *argv[] = { prog(cases[i].name, false), NULL };
		struct pt_ls_report *rep = exec_run(
			(struct pt_ls_exec_opts){ .argv = argv,
						  .iterations = 5000,
						  .strategy = PT_LS_DFS,
						  .bound = cases[i].need - 1 });

		PT_ASSERT_INT_EQ(rep->kind, PT_LS_PASS);
		PT_ASSERT(rep->exhausted);
		fprintf(stderr, "# %s: bound %u exhausted in %u schedules\n",
			cases[i].name, cases[i].need - 1, rep->iterations);
		pt_ls_report_free(rep);
		rep = exec_run(
			(struct pt_ls_exec_opts){ .argv = argv,
						  .iterations = 5000,
						  .strategy = PT_LS_DFS,
						  .bound = cases[i].need });
		PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_ASSERT);
		PT_ASSERT_INT_EQ(pt_ls_trace_preemptions(rep->trace),
				 cases[i].need);
		pt_ls_report_free(rep);
	}
	/* Delay bounding: preempt2 needs two delays. */
	{
		const char *argv[] = { prog("preempt2", false), NULL };
		struct pt_ls_report *rep = exec_run(
			(struct pt_ls_exec_opts){ .argv = argv,
						  .iterations = 5000,
						  .strategy = PT_LS_DFS,
						  .delay_bounding = true,
						  .bound = 1 });

		PT_ASSERT_INT_EQ(rep->kind, PT_LS_PASS);
		PT_ASSERT(rep->exhausted);
		PT_ASSERT_INT_EQ(rep->iterations, 14);
		pt_ls_report_free(rep);
		rep = exec_run((struct pt_ls_exec_opts){ .argv = argv,
							 .iterations = 5000,
							 .strategy = PT_LS_DFS,
							 .delay_bounding = true,
							 .bound = 2 });
		PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_ASSERT);
		pt_ls_report_free(rep);
	}
	/* The fixed twin: the whole bound, no bug. */
	{
		const char *argv[] = { prog("preempt2", true), NULL };
		struct pt_ls_report *rep = exec_run(
			(struct pt_ls_exec_opts){ .argv = argv,
						  .iterations = 5000,
						  .strategy = PT_LS_DFS,
						  .bound = 2 });

		PT_ASSERT_INT_EQ(rep->kind, PT_LS_PASS);
		PT_ASSERT(rep->exhausted);
		pt_ls_report_free(rep);
	}
}

/* Spurious wake-ups are a choice only when allowed. */
PT_TEST(spurious_wakeups_only_when_enabled)
{
	const char *argv[] = { prog("spurious", false), NULL };
	struct pt_ls_report *rep =
		exec_run((struct pt_ls_exec_opts){ .argv = argv,
						   .seed = 1,
						   .iterations = 200,
						   .strategy = PT_LS_RANDOM });

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_PASS);
	pt_ls_report_free(rep);
}

static struct pt_ls_report *misc(const char *mode, struct pt_ls_exec_opts o)
{
	const char *argv[] = { prog("misc", false), mode, NULL };

	o.argv = argv;
	o.iterations = o.iterations ? o.iterations : 1;
	return exec_run(o);
}

/* Exit codes, signals, hangs and budgets are reported with a trace. */
PT_TEST(failures_other_than_assertions)
{
	struct pt_ls_report *rep;

	rep = misc("exit", (struct pt_ls_exec_opts){ 0 });
	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_EXIT);
	PT_ASSERT_STR_EQ(rep->reason, "exit 3");
	pt_ls_report_free(rep);
	rep = misc("segv", (struct pt_ls_exec_opts){ 0 });
	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_CRASH);
	PT_ASSERT(!strncmp(rep->reason, "signal 11", 9));
	PT_ASSERT(strstr(rep->text, "step 3    T2 (thread) start   <-- LAST "
				    "STEP\n"));
	pt_ls_report_free(rep);
	rep = misc("spin", (struct pt_ls_exec_opts){ .timeout_ms = 200 });
	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_TIMEOUT);
	PT_ASSERT_STR_EQ(rep->reason,
			 "iteration exceeded its wall-time budget (200 ms): a "
			 "hang outside the scheduler");
	pt_ls_report_free(rep);
	rep = misc("sleep", (struct pt_ls_exec_opts){ .vtime_ms = 60000 });
	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_TIMEOUT);
	PT_ASSERT_STR_EQ(rep->reason,
			 "virtual time budget exceeded: T1 sleeps until "
			 "1800.000 s, the budget is 60.000 s");
	pt_ls_report_free(rep);
	rep = misc("steps", (struct pt_ls_exec_opts){ .max_steps = 300 });
	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_STEPS);
	PT_ASSERT_STR_EQ(rep->reason, "step budget exceeded: max_steps 300");
	PT_ASSERT_INT_EQ(pt_ls_trace_steps(rep->trace), 300);
	pt_ls_report_free(rep);
	rep = misc("threads", (struct pt_ls_exec_opts){ 0 });
	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_CRASH);
	PT_ASSERT_STR_EQ(rep->reason, "more than 64 threads in one iteration "
				      "(the limit of lockstep exec)");
	pt_ls_report_free(rep);
	/* main may end with pthread_exit; a forked child runs freely. */
	rep = misc("mainexit", (struct pt_ls_exec_opts){ .iterations = 5 });
	PT_ASSERT_INT_EQ(rep->kind, PT_LS_PASS);
	pt_ls_report_free(rep);
	rep = misc("fork", (struct pt_ls_exec_opts){ .iterations = 3 });
	PT_ASSERT_INT_EQ(rep->kind, PT_LS_PASS);
	pt_ls_report_free(rep);
	/* Virtual time: half an hour of sleep passes at once. */
	rep = misc("sleep", (struct pt_ls_exec_opts){ .iterations = 3 });
	PT_ASSERT_INT_EQ(rep->kind, PT_LS_PASS);
	pt_ls_report_free(rep);
}

/* Deadlocks name who holds what, who waits for what, where; the cycle. */
PT_TEST(deadlock_report_names_the_cycle)
{
	const char *argv[] = { prog("lock-order", false), NULL };
	struct pt_ls_report *rep = exec_run((struct pt_ls_exec_opts){
		.argv = argv, .seed = 3, .strategy = PT_LS_RANDOM });
	const char *cyc;

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_DEADLOCK);
	PT_ASSERT(strstr(rep->reason, "T2 (transfer_ab) waits in mutex_lock "
				      "on 0x"));
	PT_ASSERT(strstr(rep->reason, " held by T3 (transfer_ba) at "
				      "lock-order.c:14;"));
	PT_ASSERT(strstr(rep->reason, " held by T2 (transfer_ab) at "
				      "lock-order.c:28"));
	cyc = strstr(rep->reason, "; wait-for cycle: ");
	PT_ASSERT_NOT_NULL(cyc);
	PT_ASSERT(!strcmp(cyc, "; wait-for cycle: T2 (transfer_ab) -> T3 "
			       "(transfer_ba) -> T2 (transfer_ab)") ||
		  !strcmp(cyc, "; wait-for cycle: T3 (transfer_ba) -> T2 "
			       "(transfer_ab) -> T3 (transfer_ba)"));
	/* Threads by start routine, scheduling points by source line. */
	PT_ASSERT(strstr(rep->text, "Threads:\n  T1 main\n  T2 transfer_ab\n"
				    "  T3 transfer_ba\n"));
	PT_ASSERT(strstr(rep->text, "T1 (main) thread_create at "
				    "lock-order.c:39\n"));
	pt_ls_report_free(rep);
}

/* Same seed, same schedules; a changed trace is a named divergence. */
PT_TEST(runs_repeat_and_divergence_is_named)
{
	const char *argv[] = { prog("split-update", false), NULL };
	struct pt_ls_exec_opts o = { .argv = argv,
				     .seed = 5,
				     .strategy = PT_LS_RANDOM,
				     .no_trace_file = true };
	struct pt_ls_report *a = exec_run(o), *b = exec_run(o), *c;
	struct pt_ls_trace *t;
	char *ta = NULL, *tb = NULL, err[256];
	size_t na, nb;

	PT_ASSERT_OK(pt_ls_trace_format(a->trace, &ta, &na));
	PT_ASSERT_OK(pt_ls_trace_format(b->trace, &tb, &nb));
	PT_ASSERT_STR_EQ(ta, tb);
	PT_ASSERT_INT_EQ(a->iteration, b->iteration);
	/* Step 2 claims a mutex_lock where the program creates a thread. */
	{
		static const char from[] = "\n2 1 thread_create 0";
		char *fixed = malloc(strlen(ta) + 16);
		const char *q = strstr(ta, from);

		PT_ASSERT_NOT_NULL(q);
		PT_ASSERT_NOT_NULL(fixed);
		sprintf(fixed, "%.*s\n2 1 mutex_lock 0%s", (int)(q - ta), ta,
			q + strlen(from));
		PT_ASSERT_OK(pt_ls_trace_parse(fixed, strlen(fixed), &t, err,
					       sizeof(err)));
		free(fixed);
	}
	o.replay = t;
	c = exec_run(o);
	PT_ASSERT_INT_EQ(c->kind, PT_LS_FAIL_DIVERGED);
	PT_ASSERT_STR_EQ(c->reason,
			 "replay diverged at step 2: the trace has T1 "
			 "mutex_lock, the program has T1 thread_create");
	pt_ls_trace_free(t);
	pt_free(ta);
	pt_free(tb);
	pt_ls_report_free(a);
	pt_ls_report_free(b);
	pt_ls_report_free(c);
}

/* shrink reduces preemptions; the result replays. */
PT_TEST(shrink_reduces_preemptions)
{
	const char *argv[] = { prog("split-update", false), NULL };
	struct pt_ls_exec_opts o = { .argv = argv,
				     .seed = 1,
				     .strategy = PT_LS_RANDOM,
				     .no_trace_file = true };
	struct pt_ls_report *rep = exec_run(o), *again;
	struct pt_ls_trace *s = NULL;

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_ASSERT);
	PT_ASSERT(pt_ls_trace_preemptions(rep->trace) > 1);
	PT_ASSERT_OK(pt_ls_exec_shrink(&o, rep->trace, &s));
	/* One preemption is the least this bug needs. */
	PT_ASSERT_INT_EQ(pt_ls_trace_preemptions(s), 1);
	PT_ASSERT_INT_EQ(pt_ls_trace_kind(s), PT_LS_FAIL_ASSERT);
	o.replay = s;
	again = exec_run(o);
	PT_ASSERT_INT_EQ(again->kind, PT_LS_FAIL_ASSERT);
	pt_ls_report_free(again);
	pt_ls_trace_free(s);
	pt_ls_report_free(rep);
	/* A fixed program does not reproduce the trace. */
	{
		const char *fixed[] = { prog("split-update", true), NULL };
		struct pt_ls_report *r2;

		o.argv = fixed;
		o.replay = NULL;
		r2 = exec_run(o);
		PT_ASSERT_INT_EQ(r2->kind, PT_LS_PASS);
		pt_ls_report_free(r2);
	}
}

/* Bad input: a program that is not there, a missing runtime. */
PT_TEST(exec_errors_are_clear)
{
	const char *argv[] = { "/nonexistent/prog", NULL };
	const char *ok[] = { prog("misc", false), "ok", NULL };
	struct pt_ls_report *rep = NULL;
	char err[512];
	struct pt_ls_exec_opts o = { .argv = argv,
				     .err = err,
				     .errlen = sizeof(err) };

	PT_ASSERT_ERR(pt_ls_exec(&o, &rep), -ENOENT);
	PT_ASSERT_STR_EQ(err, "/nonexistent/prog: No such file or directory");
	PT_ASSERT_NULL(rep);
	o.argv = ok;
	o.runtime = "/nonexistent/rt.so";
	PT_ASSERT_ERR(pt_ls_exec(&o, &rep), -ENOENT);
	PT_ASSERT_STR_EQ(err,
			 "the runtime /nonexistent/rt.so is not there (give "
			 "--runtime=PATH or PROCTOR_LOCKSTEP_RT)");
	o.argv = NULL;
	PT_ASSERT_ERR(pt_ls_exec(&o, &rep), -EINVAL);
}

/* proctor's own threaded code: the cassette session and the mux pool. */
PT_TEST_TIMEOUT(proctor_session_and_pool_under_exec, 120)
{
	static const enum pt_ls_strategy strategies[] = {
		PT_LS_RANDOM,
		PT_LS_PCT,
		PT_LS_POS,
		PT_LS_DFS,
	};
	char sess[4096], pool[4096];
	const char *dir = getenv("PT_LS_PT_DIR"),
		   *mock = getenv("PT_MOCK_RENDERER");

	PT_ASSERT_NOT_NULL(dir);
	PT_ASSERT_NOT_NULL(mock);
	snprintf(sess, sizeof(sess), "%s/ls-drv-cassette-session", dir);
	snprintf(pool, sizeof(pool), "%s/ls-drv-mux-pool", dir);
	for (size_t k = 0; k < ARRAY_N(strategies); k++) {
		const char *argv[] = { sess, NULL };
		struct pt_ls_report *rep = exec_run(
			(struct pt_ls_exec_opts){ .argv = argv,
						  .seed = 3,
						  .iterations = 100,
						  .strategy = strategies[k],
						  .bound = 1 });

		if (rep->kind != PT_LS_PASS)
			PT_FAIL("cassette session under %s:\n%s",
				pt_ls_strategy_name(strategies[k]), rep->text);
		PT_ASSERT(rep->total_steps > 100);
		pt_ls_report_free(rep);
	}
	/*
	 * The pool talks to a worker process: its schedules depend on when
	 * the worker answers, so DFS and replay (which need a program
	 * that is deterministic under a schedule) are not used on it.
	 */
	for (size_t k = 0; k < 3; k++) {
		const char *argv[] = { pool, mock, NULL };
		struct pt_ls_report *rep = exec_run(
			(struct pt_ls_exec_opts){ .argv = argv,
						  .seed = 3,
						  .iterations = 10,
						  .strategy = strategies[k] });

		if (rep->kind != PT_LS_PASS)
			PT_FAIL("mux pool under %s:\n%s",
				pt_ls_strategy_name(strategies[k]), rep->text);
		pt_ls_report_free(rep);
	}
}
