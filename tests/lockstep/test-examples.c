/*
 * tests/lockstep/test-examples.c - the example bugs: each must be found
 * within its stated iteration budget, reported with its schedule and
 * trace file, and replayed exactly; the correct versions pass every
 * iteration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "examples.h"

/*
 * Finds the bug, then checks the report and the trace file, replays the
 * trace (same kind, same schedule byte for byte) and returns the report.
 */
static struct pt_ls_report *
find_and_replay(const char *name, struct pt_ls_opts o, void (*body)(void *),
		enum pt_ls_kind kind, unsigned budget)
{
	struct pt_ls_report *rep, *rr;
	struct pt_ls_trace *t;
	struct pt_ls_opts ro = { 0 };
	char err[256], *a, *b, want[64];

	o.iterations = budget;
	rep = ls_run(name, o, body, NULL);
	if (rep->kind == PT_LS_PASS)
		PT_FAIL("%s: bug not found in %u iterations", name, budget);
	PT_ASSERT_STR_EQ(pt_ls_kind_name(rep->kind), pt_ls_kind_name(kind));
	PT_ASSERT(rep->iteration >= 1 && rep->iteration <= budget);
	fprintf(stderr, "# %s: %s on iteration %u of %u (%s), %zu steps\n",
		name, pt_ls_kind_name(rep->kind), rep->iteration, budget,
		rep->strategy, rep->fail_step);
	if (getenv("LS_VERBOSE"))
		fprintf(stderr, "%s", rep->text);
	PT_ASSERT_INT_EQ(rep->fail_step, pt_ls_trace_steps(rep->trace));
	PT_ASSERT_NOT_NULL(rep->trace_path);
	PT_ASSERT_NOT_NULL(rep->text);
	snprintf(want, sizeof(want), "on iteration %u.\n", rep->iteration);
	PT_ASSERT(strstr(rep->text, want));
	PT_ASSERT(strstr(rep->text, "<-- FAILED HERE\n"));
	PT_ASSERT(strstr(rep->text, rep->trace_path));
	/* The trace file round-trips and replays to the same failure. */
	if (pt_ls_trace_load(rep->trace_path, &t, err, sizeof(err)) < 0)
		PT_FAIL("load %s: %s", rep->trace_path, err);
	a = ls_text(rep->trace);
	b = ls_text(t);
	PT_ASSERT_STR_EQ(a, b);
	pt_free(b);
	ro.replay = t;
	PT_ASSERT_OK(pt_ls_run(name, &ro, body, NULL, &rr));
	PT_ASSERT_INT_EQ(rr->kind, rep->kind);
	PT_ASSERT_INT_EQ(rr->iteration, rep->iteration);
	PT_ASSERT_STR_EQ(rr->reason, rep->reason);
	PT_ASSERT_NULL(rr->trace_path); /* replays write no trace */
	b = ls_text(rr->trace);
	PT_ASSERT_STR_EQ(a, b);
	pt_free(a);
	pt_free(b);
	pt_ls_report_free(rr);
	pt_ls_trace_free(t);
	return rep;
}

static void must_pass(const char *name, struct pt_ls_opts o,
		      void (*body)(void *))
{
	struct pt_ls_report *rep = ls_run(name, o, body, NULL);

	if (rep->kind != PT_LS_PASS)
		PT_FAIL("%s: false alarm:\n%s", name, rep->text);
	PT_ASSERT_INT_EQ(rep->iterations, o.iterations ? o.iterations : 100);
	PT_ASSERT_NULL(rep->trace);
	pt_ls_report_free(rep);
}

/* Budget 100 (the default iterations) with PCT, the default strategy. */
PT_TEST(counter_lost_update_found_by_pct)
{
	struct pt_ls_report *rep =
		find_and_replay("counter", (struct pt_ls_opts){ .seed = 1 },
				ex_counter_lost_update, PT_LS_FAIL_ASSERT, 100);

	PT_ASSERT(strstr(rep->reason, "r.a == 2: 1 vs 2"));
	pt_ls_report_free(rep);
}

PT_TEST(counter_lost_update_found_by_every_strategy)
{
	static const enum pt_ls_strategy s[] = { PT_LS_RANDOM, PT_LS_PCT,
						 PT_LS_FAIR_PCT, PT_LS_POS,
						 PT_LS_IDPCT };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		pt_ls_report_free(find_and_replay(
			"counter",
			(struct pt_ls_opts){ .seed = 7, .strategy = s[i] },
			ex_counter_lost_update, PT_LS_FAIL_ASSERT, 200));
}

PT_TEST(counter_atomic_passes)
{
	must_pass("counter_ok", (struct pt_ls_opts){ .seed = 1 },
		  ex_counter_atomic);
	must_pass("counter_ok",
		  (struct pt_ls_opts){ .seed = 2,
				       .iterations = 300,
				       .strategy = PT_LS_RANDOM },
		  ex_counter_atomic);
	must_pass("counter_ok",
		  (struct pt_ls_opts){ .seed = 3, .strategy = PT_LS_POS },
		  ex_counter_atomic);
}

PT_TEST(message_order_race_found)
{
	struct pt_ls_report *rep =
		find_and_replay("order", (struct pt_ls_opts){ .seed = 1 },
				ex_message_order, PT_LS_FAIL_ASSERT, 100);

	PT_ASSERT(strstr(rep->reason, "assertion failed: ready"));
	pt_ls_report_free(rep);
}

PT_TEST(message_order_fixed_passes)
{
	must_pass("order_ok", (struct pt_ls_opts){ .seed = 1 },
		  ex_message_order_fixed);
	must_pass("order_ok",
		  (struct pt_ls_opts){ .seed = 1, .strategy = PT_LS_RANDOM },
		  ex_message_order_fixed);
}

PT_TEST(call_deadlock_found)
{
	struct pt_ls_report *rep =
		find_and_replay("deadlock", (struct pt_ls_opts){ .seed = 1 },
				ex_call_deadlock, PT_LS_FAIL_DEADLOCK, 100);

	/* The root waits for its clients; both servers wait for each other. */
	PT_ASSERT(strstr(rep->reason, "no actor ready; blocked: P1"));
	PT_ASSERT(strstr(rep->text, "Reason: deadlock: "));
	pt_ls_report_free(rep);
}

PT_TEST(call_no_deadlock_passes)
{
	must_pass("no_deadlock", (struct pt_ls_opts){ .seed = 1 },
		  ex_call_no_deadlock);
}

/* The spec's anecdote: POS finds this one at once. Budget: 20 with POS. */
PT_TEST(leader_follower_staleness_found_by_pos)
{
	struct pt_ls_report *rep = find_and_replay(
		"leader_follower",
		(struct pt_ls_opts){ .seed = 1, .strategy = PT_LS_POS },
		ex_leader_follower, PT_LS_FAIL_ASSERT, 20);

	PT_ASSERT(strstr(rep->reason, "r.a == 42: 0 vs 42"));
	pt_ls_report_free(rep);
}

PT_TEST(leader_follower_sync_passes)
{
	must_pass("leader_follower_ok",
		  (struct pt_ls_opts){ .seed = 1, .strategy = PT_LS_POS },
		  ex_leader_follower_sync);
	must_pass("leader_follower_ok", (struct pt_ls_opts){ .seed = 1 },
		  ex_leader_follower_sync);
}

PT_TEST(registry_aba_found)
{
	struct pt_ls_report *rep = find_and_replay(
		"registry_aba", (struct pt_ls_opts){ .seed = 1 },
		ex_registry_aba, PT_LS_FAIL_ASSERT, 100);

	PT_ASSERT(strstr(rep->reason, "assertion failed: rc == 0"));
	pt_ls_report_free(rep);
}

PT_TEST(registry_retry_passes)
{
	must_pass("registry_ok", (struct pt_ls_opts){ .seed = 1 },
		  ex_registry_retry);
	must_pass("registry_ok",
		  (struct pt_ls_opts){ .seed = 9, .strategy = PT_LS_RANDOM },
		  ex_registry_retry);
}
