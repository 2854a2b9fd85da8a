/*
 * tests/lockstep/test-conformance.c - the checklist of docs/peers.md §4.6, one
 * test (or more) per item, numbered as there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "examples.h"
#include "lockstep/fiber.h"
#include "lockstep/internal.h"
#include "lockstep/strategy.h"

static const uint32_t ready5[] = { 1, 2, 3, 4, 5 };

static void strat_begin(struct pt__ls_strat *s, struct pt_ls_opts o,
			unsigned iteration, uint64_t seed, unsigned ntasks)
{
	pt__ls_strat_init(s, &o);
	pt__ls_strat_begin(s, iteration, seed);
	for (uint32_t i = 1; i <= ntasks; i++)
		PT_ASSERT_OK(pt__ls_strat_add(s, i));
}

/* 1. Same seed and iterations: identical trace and failing iteration. */
PT_TEST(c01_same_seed_same_trace_bytes)
{
	static const enum pt_ls_strategy s[] = { PT_LS_RANDOM, PT_LS_PCT,
						 PT_LS_POS, PT_LS_IDPCT,
						 PT_LS_FAIR_PCT };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		struct pt_ls_opts o = { .seed = 12345,
					.strategy = s[i],
					.iterations = 300 };
		struct pt_ls_report *a =
			ls_run("det", o, ex_registry_aba, NULL);
		struct pt_ls_report *b =
			ls_run("det", o, ex_registry_aba, NULL);
		char *ta, *tb, *fa, *fb;
		size_t na, nb;

		PT_ASSERT(a->kind != PT_LS_PASS);
		PT_ASSERT_INT_EQ(a->iteration, b->iteration);
		PT_ASSERT(a->iter_seed == b->iter_seed);
		ta = ls_text(a->trace);
		tb = ls_text(b->trace);
		PT_ASSERT_STR_EQ(ta, tb);
		/* The files on disk too, byte for byte. */
		PT_ASSERT_STR_EQ(a->trace_path, b->trace_path);
		PT_ASSERT_OK(pt_ls_trace_format(a->trace, &fa, &na));
		PT_ASSERT_OK(pt_ls_trace_format(b->trace, &fb, &nb));
		PT_ASSERT_INT_EQ(na, nb);
		PT_ASSERT_MEM_EQ(fa, fb, na);
		pt_free(fa);
		pt_free(fb);
		pt_free(ta);
		pt_free(tb);
		pt_ls_report_free(a);
		pt_ls_report_free(b);
	}
}

PT_TEST(c01_different_seeds_differ)
{
	struct pt_ls_report *a = ls_run(
		"det",
		(struct pt_ls_opts){ .seed = 1, .strategy = PT_LS_RANDOM },
		ex_counter_lost_update, NULL);
	struct pt_ls_report *b = ls_run(
		"det",
		(struct pt_ls_opts){ .seed = 2, .strategy = PT_LS_RANDOM },
		ex_counter_lost_update, NULL);

	PT_ASSERT(a->iter_seed != b->iter_seed);
	pt_ls_report_free(a);
	pt_ls_report_free(b);
}

/* 2. PCT with d = 1 never demotes: always the same highest task. */
PT_TEST(c02_pct_depth_1_never_demotes)
{
	for (uint64_t seed = 0; seed < 50; seed++) {
		struct pt__ls_strat s;
		uint32_t first, idx;

		strat_begin(&s,
			    (struct pt_ls_opts){ .depth = 1, .max_steps = 200 },
			    1, seed, 5);
		PT_ASSERT_INT_EQ(s.nchange, 0);
		PT_ASSERT_OK(pt__ls_strat_pick(&s, ready5, 5, 1, &first));
		for (uint64_t step = 2; step <= 200; step++) {
			PT_ASSERT_OK(
				pt__ls_strat_pick(&s, ready5, 5, step, &idx));
			PT_ASSERT_INT_EQ(idx, first);
		}
		PT_ASSERT_INT_EQ(s.demotions, 0);
		pt__ls_strat_release(&s);
	}
}

PT_TEST(c02_pct_depth_3_demotes_at_change_points)
{
	struct pt__ls_strat s;
	uint32_t idx, prev = 0;
	unsigned switches = 0;

	strat_begin(&s, (struct pt_ls_opts){ .depth = 3, .max_steps = 100 }, 1,
		    99, 5);
	PT_ASSERT_INT_EQ(s.nchange, 2);
	for (uint64_t step = 1; step <= 100; step++) {
		PT_ASSERT_OK(pt__ls_strat_pick(&s, ready5, 5, step, &idx));
		if (prev && idx != prev) {
			/* Only at a change point does the choice move. */
			PT_ASSERT(step == s.change[0] || step == s.change[1]);
			switches++;
		}
		prev = idx;
	}
	PT_ASSERT_INT_EQ(s.demotions, 2);
	PT_ASSERT_INT_EQ(switches, 2);
	pt__ls_strat_release(&s);
}

/* 3. Change points are drawn from [1, max_steps]; both ends reachable. */
PT_TEST(c03_change_points_in_range)
{
	bool lo = false, hi = false;

	for (uint64_t seed = 0; seed < 2000; seed++) {
		struct pt__ls_strat s;

		strat_begin(&s,
			    (struct pt_ls_opts){ .depth = 4, .max_steps = 10 },
			    1, seed, 1);
		PT_ASSERT_INT_EQ(s.nchange, 3);
		for (unsigned i = 0; i < s.nchange; i++) {
			PT_ASSERT(s.change[i] >= 1 && s.change[i] <= 10);
			if (i)
				PT_ASSERT(s.change[i] > s.change[i - 1]);
			lo |= s.change[i] == 1;
			hi |= s.change[i] == 10;
		}
		pt__ls_strat_release(&s);
	}
	PT_ASSERT(lo && hi);
}

/* 4. POS: resample 0 = fixed random priorities; 1 approaches uniform. */
PT_TEST(c04_pos_resample_probability)
{
	struct pt__ls_strat s;
	unsigned count[6] = { 0 };
	uint32_t idx, first;

	strat_begin(&s,
		    (struct pt_ls_opts){ .strategy = PT_LS_POS,
					 .resample_set = true,
					 .resample_prob = 0.0 },
		    1, 5, 5);
	PT_ASSERT_OK(pt__ls_strat_pick(&s, ready5, 5, 1, &first));
	for (uint64_t step = 2; step < 1000; step++) {
		PT_ASSERT_OK(pt__ls_strat_pick(&s, ready5, 5, step, &idx));
		PT_ASSERT_INT_EQ(idx, first);
	}
	pt__ls_strat_release(&s);
	strat_begin(&s,
		    (struct pt_ls_opts){ .strategy = PT_LS_POS,
					 .resample_set = true,
					 .resample_prob = 1.0 },
		    1, 5, 5);
	for (uint64_t step = 1; step <= 10000; step++) {
		PT_ASSERT_OK(pt__ls_strat_pick(&s, ready5, 5, step, &idx));
		count[idx]++;
	}
	for (int i = 1; i <= 5; i++) /* 2000 expected each; 5 sigma ~ 200 */
		PT_ASSERT(count[i] > 1750 && count[i] < 2250);
	pt__ls_strat_release(&s);
	/* The default is 0.5. */
	strat_begin(&s, (struct pt_ls_opts){ .strategy = PT_LS_POS }, 1, 5, 1);
	PT_ASSERT(s.resample == 0.5);
	pt__ls_strat_release(&s);
}

/* 5. Fair PCT switches to random at max_steps / 2 by default. */
PT_TEST(c05_fair_pct_switches_at_half)
{
	struct pt__ls_strat s;
	uint32_t idx, first;
	unsigned moved = 0;

	strat_begin(&s,
		    (struct pt_ls_opts){ .strategy = PT_LS_FAIR_PCT,
					 .depth = 1,
					 .max_steps = 400 },
		    1, 3, 5);
	PT_ASSERT_INT_EQ(s.fair_switch, 200);
	PT_ASSERT_OK(pt__ls_strat_pick(&s, ready5, 5, 1, &first));
	for (uint64_t step = 2; step <= 200; step++) {
		PT_ASSERT_OK(pt__ls_strat_pick(&s, ready5, 5, step, &idx));
		PT_ASSERT_INT_EQ(idx, first); /* PCT, d = 1: fixed */
	}
	for (uint64_t step = 201; step <= 400; step++) {
		PT_ASSERT_OK(pt__ls_strat_pick(&s, ready5, 5, step, &idx));
		moved += idx != first;
	}
	PT_ASSERT(moved > 100); /* random: about 4/5 of 200 */
	pt__ls_strat_release(&s);
}

/* 6. IDPCT cycles the depth from d_min to d_max. */
PT_TEST(c06_idpct_cycles_depth)
{
	static const unsigned want[] = { 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 2 };
	struct pt__ls_strat s;

	for (unsigned i = 1; i <= 11; i++) {
		strat_begin(&s, (struct pt_ls_opts){ .strategy = PT_LS_IDPCT },
			    i, i, 1);
		PT_ASSERT_INT_EQ(s.cur_depth, want[i - 1]);
		PT_ASSERT_INT_EQ(s.nchange, want[i - 1] - 1);
		pt__ls_strat_release(&s);
	}
	strat_begin(&s,
		    (struct pt_ls_opts){
			    .strategy = PT_LS_IDPCT, .d_min = 1, .d_max = 2 },
		    4, 1, 1);
	PT_ASSERT_INT_EQ(s.cur_depth, 2);
	pt__ls_strat_release(&s);
}

/* 7. Replay by registration index; divergence; seeded random fallback. */
PT_TEST(c07_replay_divergence_and_fallback)
{
	struct pt_ls_report *rep = ls_run(
		"r", (struct pt_ls_opts){ .seed = 3, .strategy = PT_LS_RANDOM },
		ex_counter_lost_update, NULL);
	struct pt_ls_trace *t;
	struct pt_ls_report *r1, *r2;
	char *text, err[128];
	size_t n;

	PT_ASSERT(rep->kind == PT_LS_FAIL_ASSERT);
	PT_ASSERT_OK(pt_ls_trace_format(rep->trace, &text, &n));
	/* A non-ready index at step 2 (P1 is the only actor then). */
	{
		char *p = strstr(text, "\n2 1 ");

		PT_ASSERT_NOT_NULL(p);
		p[3] = '9';
		PT_ASSERT_OK(pt_ls_trace_parse(text, n, &t, err, sizeof(err)));
		PT_ASSERT_OK(pt_ls_run("r", &(struct pt_ls_opts){ .replay = t },
				       ex_counter_lost_update, NULL, &r1));
		PT_ASSERT_INT_EQ(r1->kind, PT_LS_FAIL_DIVERGED);
		PT_ASSERT_STR_EQ(r1->reason,
				 "replay diverged at step 2: the recorded "
				 "actor is not ready");
		PT_ASSERT_INT_EQ(r1->fail_step, 1);
		pt_ls_report_free(r1);
		/* With the random fallback: seeded, so repeatable. */
		PT_ASSERT_OK(pt_ls_run(
			"r",
			&(struct pt_ls_opts){ .replay = t,
					      .replay_fallback_random = true,
					      .fallback_seed = 77 },
			ex_counter_lost_update, NULL, &r1));
		PT_ASSERT_OK(pt_ls_run(
			"r",
			&(struct pt_ls_opts){ .replay = t,
					      .replay_fallback_random = true,
					      .fallback_seed = 77 },
			ex_counter_lost_update, NULL, &r2));
		PT_ASSERT(r1->kind != PT_LS_FAIL_DIVERGED);
		PT_ASSERT_INT_EQ(r1->kind, r2->kind);
		PT_ASSERT_INT_EQ(r1->total_steps, r2->total_steps);
		if (r1->trace) {
			char *a = ls_text(r1->trace), *b = ls_text(r2->trace);
			PT_ASSERT_STR_EQ(a, b);
			pt_free(a);
			pt_free(b);
		}
		pt_ls_report_free(r1);
		pt_ls_report_free(r2);
		pt_ls_trace_free(t);
		p[3] = '1';
	}
	/* A trace that runs out: cut after step 5. */
	PT_ASSERT_OK(pt_ls_trace_parse(text, n, &t, err, sizeof(err)));
	t->nsteps = t->fail_step = 5;
	PT_ASSERT_OK(pt_ls_run("r", &(struct pt_ls_opts){ .replay = t },
			       ex_counter_lost_update, NULL, &r1));
	PT_ASSERT_INT_EQ(r1->kind, PT_LS_FAIL_DIVERGED);
	PT_ASSERT_STR_EQ(r1->reason,
			 "replay diverged at step 6: the trace ran out");
	pt_ls_report_free(r1);
	pt_ls_trace_free(t);
	pt_free(text);
	pt_ls_report_free(rep);
}

/* 8. A shrunk trace reproduces the same kind strictly, and is shorter. */
PT_TEST(c08_shrink_reproduces_and_is_not_longer)
{
	struct pt_ls_report *rep = ls_run(
		"noisy",
		(struct pt_ls_opts){ .seed = 4, .strategy = PT_LS_RANDOM },
		ex_counter_with_noise, NULL);
	struct pt_ls_trace *s, *s2;
	struct pt_ls_report *rr;

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_ASSERT);
	PT_ASSERT_OK(pt_ls_shrink("noisy", NULL, rep->trace,
				  ex_counter_with_noise, NULL, &s));
	fprintf(stderr, "# shrunk %zu -> %zu steps\n",
		pt_ls_trace_steps(rep->trace), pt_ls_trace_steps(s));
	/* The noise actor's yields are not needed: strictly shorter. */
	PT_ASSERT(pt_ls_trace_steps(s) < pt_ls_trace_steps(rep->trace));
	PT_ASSERT_INT_EQ(pt_ls_trace_kind(s), PT_LS_FAIL_ASSERT);
	PT_ASSERT_OK(pt_ls_run("noisy", &(struct pt_ls_opts){ .replay = s },
			       ex_counter_with_noise, NULL, &rr));
	PT_ASSERT_INT_EQ(rr->kind, PT_LS_FAIL_ASSERT);
	PT_ASSERT_INT_EQ(rr->fail_step, pt_ls_trace_steps(s));
	pt_ls_report_free(rr);
	/* Shrinking is idempotent once nothing can go. */
	PT_ASSERT_OK(pt_ls_shrink("noisy", NULL, s, ex_counter_with_noise, NULL,
				  &s2));
	PT_ASSERT_INT_EQ(pt_ls_trace_steps(s2), pt_ls_trace_steps(s));
	pt_ls_trace_free(s2);
	pt_ls_trace_free(s);
	/* A trace of a passing program does not shrink: PT_EFAILED. */
	{
		struct pt_ls_trace *t;
		struct pt_ls_report *ok = ls_run(
			"ok",
			(struct pt_ls_opts){ .iterations = 1, .max_steps = 5 },
			ex_counter_atomic, NULL);

		PT_ASSERT_INT_EQ(ok->kind, PT_LS_FAIL_STEPS);
		t = ok->trace;
		PT_ASSERT_OK(pt_ls_run(
			"ok",
			&(struct pt_ls_opts){ .replay = t, .max_steps = 1000 },
			ex_counter_atomic, NULL, &rr));
		PT_ASSERT_INT_EQ(rr->kind, PT_LS_FAIL_DIVERGED);
		pt_ls_report_free(rr);
		pt_ls_report_free(ok);
	}
	pt_ls_report_free(rep);
}

/* 9. A trace is a pure function of the choices: replay = same steps. */
PT_TEST(c09_trace_is_function_of_choices)
{
	for (uint64_t seed = 1; seed <= 5; seed++) {
		struct pt_ls_report *rep =
			ls_run("pure",
			       (struct pt_ls_opts){ .seed = seed,
						    .strategy = PT_LS_POS,
						    .iterations = 200 },
			       ex_leader_follower, NULL);
		struct pt_ls_report *rr;
		char *a, *b;

		PT_ASSERT(rep->trace);
		PT_ASSERT_OK(pt_ls_run(
			"pure", &(struct pt_ls_opts){ .replay = rep->trace },
			ex_leader_follower, NULL, &rr));
		a = ls_text(rep->trace);
		b = ls_text(rr->trace);
		PT_ASSERT_STR_EQ(a, b);
		pt_free(a);
		pt_free(b);
		pt_ls_report_free(rr);
		pt_ls_report_free(rep);
	}
}

/* 10. Deadlock is "deadlock"; exceeding the time budget is "timeout". */
static void lonely(void *p)
{
	struct pt_ls_msg m;

	(void)p;
	pt_ls_recv(&m);
}

PT_TEST(c10_deadlock_kind)
{
	struct pt_ls_report *rep = ls_run(
		"dl", (struct pt_ls_opts){ .iterations = 5 }, lonely, NULL);

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_DEADLOCK);
	PT_ASSERT_STR_EQ(pt_ls_kind_name(rep->kind), "deadlock");
	PT_ASSERT_STR_EQ(rep->reason, "no actor ready; blocked: P1 (recv)");
	PT_ASSERT_INT_EQ(rep->iteration, 1);
	pt_ls_report_free(rep);
}

static void forever(void *p)
{
	(void)p;
	for (;;)
		pt_ls_yield();
}

PT_TEST(c10_wall_time_budget_is_timeout)
{
	struct pt_ls_report *rep =
		ls_run("slow",
		       (struct pt_ls_opts){ .iterations = 1,
					    .max_steps = 4000000000u,
					    .timeout_ms = 30 },
		       forever, NULL);

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_TIMEOUT);
	PT_ASSERT_STR_EQ(pt_ls_kind_name(rep->kind), "timeout");
	PT_ASSERT_STR_EQ(rep->reason,
			 "iteration exceeded its wall-time budget");
	pt_ls_report_free(rep);
}

/* 11. The registry drops a registration when its process dies. */
static void reg_and_wait(void *p)
{
	struct pt_ls_msg m;

	PT_LS_ASSERT(pt_ls_register(p, "k", 1) == 0);
	pt_ls_recv(&m);
}

static void body_reg_death(void *p)
{
	struct pt_ls_registry *r = pt_ls_registry_new(PT_LS_UNIQUE);
	uint64_t ref;
	struct pt_ls_msg m;
	int c;

	(void)p;
	c = pt_ls_spawn(reg_and_wait, r);
	while (pt_ls_whereis(r, "k") != c)
		pt_ls_yield();
	pt_ls_monitor(c, &ref);
	pt_ls_send(c, &(struct pt_ls_msg){ 0 });
	pt_ls_recv(&m);
	PT_LS_ASSERT_INT_EQ(m.type, PT_LS_DOWN);
	PT_LS_ASSERT_INT_EQ(pt_ls_whereis(r, "k"), 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_count(r), 0);
	/* The name is free again. */
	PT_LS_ASSERT(pt_ls_register(r, "k", 2) == 0);
}

PT_TEST(c11_registry_removed_on_death)
{
	struct pt_ls_report *rep =
		ls_run("reg",
		       (struct pt_ls_opts){ .strategy = PT_LS_RANDOM,
					    .iterations = 50 },
		       body_reg_death, NULL);

	if (rep->kind != PT_LS_PASS)
		PT_FAIL("%s", rep->text);
	pt_ls_report_free(rep);
}

/* 12. A call with a timeout does not time out under the controller. */
static int slow_init(void *arg, void **ret_state)
{
	*ret_state = arg;
	return 0;
}

static int slow_call(void *state, const struct pt_ls_msg *req,
		     struct pt_ls_from from, struct pt_ls_msg *reply)
{
	(void)state;
	(void)from;
	pt_ls_sleep(60000); /* a minute of virtual time */
	reply->a = req->a * 2;
	return PT_LS_REPLY;
}

static const struct pt_ls_server_ops slow_ops = { .init = slow_init,
						  .handle_call = slow_call };

static void body_call_timeout(void *p)
{
	struct pt_ls_msg m = { .a = 21 }, r;
	int s;

	(void)p;
	PT_LS_ASSERT(pt_ls_server_start(&slow_ops, NULL, &s) == 0);
	PT_LS_ASSERT(pt_ls_call_timeout(s, &m, 5, &r) == 0);
	PT_LS_ASSERT_INT_EQ(r.a, 42);
	PT_LS_ASSERT_INT_EQ(pt_ls_now(), 60000);
}

PT_TEST(c12_call_timeout_ignored)
{
	struct pt_ls_report *rep =
		ls_run("ct", (struct pt_ls_opts){ .iterations = 10 },
		       body_call_timeout, NULL);

	if (rep->kind != PT_LS_PASS)
		PT_FAIL("%s", rep->text);
	pt_ls_report_free(rep);
}

/* Model: at most one actor runs between sync points (a shared flag). */
static int running;

static void exclusive(void *p)
{
	for (int i = 0; i < 20; i++) {
		PT_LS_ASSERT_INT_EQ(running, 0);
		running = 1;
		for (volatile int k = 0; k < 50; k++)
			;
		running = 0;
		pt_ls_yield();
	}
	(void)p;
}

static void body_exclusive(void *p)
{
	(void)p;
	running = 0;
	for (int i = 0; i < 4; i++)
		pt_ls_spawn(exclusive, NULL);
}

PT_TEST(model_one_actor_between_sync_points)
{
	struct pt_ls_report *rep =
		ls_run("excl",
		       (struct pt_ls_opts){ .strategy = PT_LS_RANDOM,
					    .iterations = 50 },
		       body_exclusive, NULL);

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_PASS);
	pt_ls_report_free(rep);
}

/* The ucontext fallback finds and replays the same bug identically. */
PT_TEST(ucontext_backend_same_trace)
{
	struct pt_ls_opts o = { .seed = 5, .strategy = PT_LS_RANDOM };
	struct pt_ls_report *a, *b;
	char *ta, *tb;

	a = ls_run("uc", o, ex_registry_aba, NULL);
	pt__fiber_force_ucontext(true);
	PT_ASSERT(pt__fiber_uses_ucontext());
	b = ls_run("uc", o, ex_registry_aba, NULL);
	pt__fiber_force_ucontext(false);
	PT_ASSERT(a->trace && b->trace);
	ta = ls_text(a->trace);
	tb = ls_text(b->trace);
	PT_ASSERT_STR_EQ(ta, tb);
	pt_free(ta);
	pt_free(tb);
	pt_ls_report_free(a);
	pt_ls_report_free(b);
}
