/*
 * tests/lockstep/test-actors.c - the actor API, servers and registry
 * under the controller: each body runs a few iterations with assertions
 * inside (PT_LS_ASSERT), and the test checks that every iteration passed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

enum { A = 1, B, C, D, PING, PONG };

/* Runs body for n iterations with random scheduling; all must pass. */
static void all_pass(void (*body)(void *), unsigned n)
{
	struct pt_ls_report *rep =
		ls_run("t",
		       (struct pt_ls_opts){ .seed = pt_test_seed(),
					    .iterations = n,
					    .strategy = PT_LS_RANDOM },
		       body, NULL);

	if (rep->kind != PT_LS_PASS)
		PT_FAIL("iteration failed:\n%s", rep->text);
	pt_ls_report_free(rep);
}

static struct pt_ls_report *one(void (*body)(void *))
{
	return ls_run("t", (struct pt_ls_opts){ .iterations = 1 }, body, NULL);
}

/* ---- outside an iteration ------------------------------------------------ */

PT_TEST(api_outside_iteration_is_estate)
{
	struct pt_ls_msg m = { 0 };

	PT_ASSERT_ERR(pt_ls_self(), PT_ESTATE);
	PT_ASSERT_ERR(pt_ls_send(1, &m), PT_ESTATE);
	PT_ASSERT_ERR(pt_ls_recv(&m), PT_ESTATE);
	PT_ASSERT_ERR(pt_ls_yield(), PT_ESTATE);
	PT_ASSERT_ERR(pt_ls_spawn(NULL, NULL), -EINVAL);
	PT_ASSERT_NULL(pt_ls_registry_new(PT_LS_UNIQUE));
	PT_ASSERT_NULL(pt_ls_alloc(8));
	pt_ls_fail(__FILE__, __LINE__, "ignored outside");
}

/* ---- messages --------------------------------------------------------------
 */

static void echo(void *p)
{
	struct pt_ls_msg m;

	(void)p;
	for (;;) {
		PT_LS_ASSERT(pt_ls_recv(&m) == 0);
		if (m.type == D)
			return;
		m.b = m.a * 10;
		pt_ls_send(m.from, &m);
	}
}

static void body_ping_pong(void *p)
{
	struct pt_ls_msg m = { .type = PING };
	int e = pt_ls_spawn(echo, NULL);

	(void)p;
	PT_LS_ASSERT_INT_EQ(pt_ls_self(), 1);
	PT_LS_ASSERT_INT_EQ(e, 2);
	for (int i = 0; i < 5; i++) {
		m.a = i;
		PT_LS_ASSERT(pt_ls_send(e, &m) == 0);
		PT_LS_ASSERT(pt_ls_recv(&m) == 0);
		PT_LS_ASSERT_INT_EQ(m.from, e);
		PT_LS_ASSERT_INT_EQ(m.b, i * 10);
	}
	m.type = D;
	pt_ls_send(e, &m);
}

PT_TEST(send_recv_ping_pong)
{
	all_pass(body_ping_pong, 50);
}

static bool is_type(const struct pt_ls_msg *m, void *ctx)
{
	return m->type == *(int *)ctx;
}

static void body_selective(void *p)
{
	struct pt_ls_msg m = { 0 };
	int self = pt_ls_self(), want = C;

	(void)p;
	for (int t = A; t <= C; t++) {
		m.type = t;
		pt_ls_send(self, &m);
	}
	/* C first; A and B stay queued in order. */
	PT_LS_ASSERT(pt_ls_recv_match(is_type, &want, -1, &m) == 0);
	PT_LS_ASSERT_INT_EQ(m.type, C);
	PT_LS_ASSERT(pt_ls_recv(&m) == 0);
	PT_LS_ASSERT_INT_EQ(m.type, A);
	want = D;
	PT_LS_ASSERT_INT_EQ(pt_ls_recv_match(is_type, &want, 0, &m),
			    -ETIMEDOUT);
	PT_LS_ASSERT(pt_ls_recv(&m) == 0);
	PT_LS_ASSERT_INT_EQ(m.type, B);
}

PT_TEST(selective_receive_keeps_other_messages)
{
	all_pass(body_selective, 5);
}

static void late_sender(void *p)
{
	pt_ls_sleep(100);
	pt_ls_send((int)(intptr_t)p, &(struct pt_ls_msg){ .type = A });
}

static void body_timeouts(void *p)
{
	struct pt_ls_msg m;

	(void)p;
	PT_LS_ASSERT_INT_EQ(pt_ls_now(), 0);
	pt_ls_spawn(late_sender, (void *)(intptr_t)pt_ls_self());
	/* Virtual time: the 30 ms timeout fires before the sender's 100 ms. */
	PT_LS_ASSERT_INT_EQ(pt_ls_recv_timeout(30, &m), -ETIMEDOUT);
	PT_LS_ASSERT_INT_EQ(pt_ls_now(), 30);
	PT_LS_ASSERT(pt_ls_recv_timeout(1000, &m) == 0);
	PT_LS_ASSERT_INT_EQ(m.type, A);
	PT_LS_ASSERT_INT_EQ(pt_ls_now(), 100);
	PT_LS_ASSERT(pt_ls_sleep(50) == 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_now(), 150);
}

PT_TEST(receive_timeout_and_sleep_use_virtual_time)
{
	all_pass(body_timeouts, 20);
}

static void body_send_after(void *p)
{
	struct pt_ls_msg m = { .type = A };
	int self = pt_ls_self();
	uint64_t r1, r2;

	(void)p;
	PT_LS_ASSERT(pt_ls_send_after(self, &m, 40, &r1) == 0);
	m.type = B;
	PT_LS_ASSERT(pt_ls_send_after(self, &m, 20, &r2) == 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_cancel_timer(r1), 40);
	PT_LS_ASSERT_INT_EQ(pt_ls_cancel_timer(r1), -ENOENT);
	PT_LS_ASSERT(pt_ls_recv(&m) == 0);
	PT_LS_ASSERT_INT_EQ(m.type, B);
	PT_LS_ASSERT_INT_EQ(pt_ls_now(), 20);
	PT_LS_ASSERT_INT_EQ(pt_ls_cancel_timer(r2), -ENOENT);
	/* Nothing else arrives: the cancelled timer never fires. */
	PT_LS_ASSERT_INT_EQ(pt_ls_recv_timeout(100, &m), -ETIMEDOUT);
}

PT_TEST(send_after_and_cancel_timer)
{
	all_pass(body_send_after, 5);
}

/* ---- monitors, links, exits ---------------------------------------------- */

static void exit_with(void *p)
{
	pt_ls_yield();
	pt_ls_exit((int)(intptr_t)p);
}

/* Exits with the reason (a) of the first message it gets. */
static void exit_on_msg(void *p)
{
	struct pt_ls_msg m;

	(void)p;
	pt_ls_recv(&m);
	pt_ls_exit((int)m.a);
}

static void go(int pid, int reason)
{
	pt_ls_send(pid, &(struct pt_ls_msg){ .a = reason });
}

static void wait_forever(void *p)
{
	struct pt_ls_msg m;

	(void)p;
	pt_ls_recv(&m);
}

static void body_monitor(void *p)
{
	struct pt_ls_msg m;
	uint64_t ref, ref2;
	int c = pt_ls_spawn(exit_on_msg, NULL);

	(void)p;
	PT_LS_ASSERT(pt_ls_monitor(c, &ref) == 0);
	go(c, 0x200);
	PT_LS_ASSERT(pt_ls_recv(&m) == 0);
	PT_LS_ASSERT_INT_EQ(m.type, PT_LS_DOWN);
	PT_LS_ASSERT_INT_EQ(m.from, c);
	PT_LS_ASSERT(m.ref == ref);
	PT_LS_ASSERT_INT_EQ(m.a, 0x200);
	PT_LS_ASSERT_INT_EQ(pt_ls_alive(c), 0);
	/* A dead pid: DOWN at once with noproc. */
	PT_LS_ASSERT(pt_ls_monitor(c, &ref2) == 0);
	PT_LS_ASSERT(pt_ls_recv(&m) == 0);
	PT_LS_ASSERT_INT_EQ(m.type, PT_LS_DOWN);
	PT_LS_ASSERT_INT_EQ(m.a, PT_LS_NOPROC);
	PT_LS_ASSERT(m.ref == ref2);
	/* demonitor with flush removes a DOWN already delivered. */
	PT_LS_ASSERT(pt_ls_monitor(c, &ref2) == 0);
	PT_LS_ASSERT(pt_ls_demonitor(ref2, true) == 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_recv_timeout(0, &m), -ETIMEDOUT);
	/* demonitor before the death: no DOWN. */
	c = pt_ls_spawn(exit_on_msg, NULL);
	PT_LS_ASSERT_INT_EQ(pt_ls_alive(c), 1);
	PT_LS_ASSERT(pt_ls_monitor(c, &ref) == 0);
	PT_LS_ASSERT(pt_ls_demonitor(ref, false) == 0);
	go(c, 0x210);
	PT_LS_ASSERT_INT_EQ(pt_ls_recv_timeout(10, &m), -ETIMEDOUT);
}

PT_TEST(monitor_down_noproc_demonitor)
{
	all_pass(body_monitor, 30);
}

static void linked_pair(void *p)
{
	int w = pt_ls_spawn_link(wait_forever, NULL);

	(void)w;
	pt_ls_send((int)(intptr_t)p, &(struct pt_ls_msg){ .type = A, .a = w });
	pt_ls_recv(&(struct pt_ls_msg){ 0 });
}

static void body_links(void *p)
{
	struct pt_ls_msg m;
	uint64_t r1, r2;
	int a, b, c;

	(void)p;
	PT_LS_ASSERT_INT_EQ(pt_ls_trap_exit(true), 0);
	/* a spawns b linked; killing b abnormally takes a down too. */
	a = pt_ls_spawn(linked_pair, (void *)(intptr_t)pt_ls_self());
	PT_LS_ASSERT(pt_ls_recv(&m) == 0 && m.type == A);
	b = (int)m.a;
	pt_ls_monitor(a, &r1);
	pt_ls_monitor(b, &r2);
	PT_LS_ASSERT(pt_ls_kill(b, 0x300) == 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_alive(a), 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_alive(b), 0);
	PT_LS_ASSERT(pt_ls_recv(&m) == 0 && m.type == PT_LS_DOWN);
	PT_LS_ASSERT_INT_EQ(m.a, 0x300);
	PT_LS_ASSERT(pt_ls_recv(&m) == 0 && m.type == PT_LS_DOWN);
	PT_LS_ASSERT_INT_EQ(m.a, 0x300);
	/* The root traps exits: a linked child's death is a message. */
	c = pt_ls_spawn_link(exit_with, (void *)(intptr_t)0x400);
	PT_LS_ASSERT(pt_ls_recv(&m) == 0);
	PT_LS_ASSERT_INT_EQ(m.type, PT_LS_EXIT);
	PT_LS_ASSERT_INT_EQ(m.from, c);
	PT_LS_ASSERT_INT_EQ(m.a, 0x400);
	/* Linking to a dead pid: a noproc exit signal. */
	PT_LS_ASSERT(pt_ls_link(c) == 0);
	PT_LS_ASSERT(pt_ls_recv(&m) == 0);
	PT_LS_ASSERT_INT_EQ(m.type, PT_LS_EXIT);
	PT_LS_ASSERT_INT_EQ(m.a, PT_LS_NOPROC);
	/* Unlinked: no signal. */
	c = pt_ls_spawn_link(exit_on_msg, NULL);
	PT_LS_ASSERT(pt_ls_unlink(c) == 0);
	go(c, 0x500);
	PT_LS_ASSERT_INT_EQ(pt_ls_recv_timeout(10, &m), -ETIMEDOUT);
	/* A normal exit of a linked actor sends nothing to a non-trapper. */
	PT_LS_ASSERT_INT_EQ(pt_ls_trap_exit(false), 1);
	c = pt_ls_spawn_link(exit_with, NULL);
	PT_LS_ASSERT_INT_EQ(pt_ls_recv_timeout(10, &m), -ETIMEDOUT);
}

PT_TEST(links_exit_signals_and_trap_exit)
{
	all_pass(body_links, 30);
}

static void body_root_killed(void *p)
{
	(void)p;
	pt_ls_spawn_link(exit_with, (void *)(intptr_t)0x600);
	pt_ls_recv(&(struct pt_ls_msg){ 0 });
}

PT_TEST(root_killed_by_link_is_a_crash)
{
	struct pt_ls_report *rep = one(body_root_killed);

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_CRASH);
	PT_ASSERT_STR_EQ(rep->reason,
			 "crash: the test body (P1) was killed by an exit "
			 "signal from P2, reason 1536");
	pt_ls_report_free(rep);
}

static void crasher(void *p)
{
	(void)p;
	pt_ls_crash("f.c", 7, "boom %d", 3);
}

static void body_child_crash(void *p)
{
	(void)p;
	pt_ls_spawn(crasher, NULL);
	pt_ls_recv(&(struct pt_ls_msg){ 0 });
}

PT_TEST(child_crash_is_a_crash)
{
	struct pt_ls_report *rep = one(body_child_crash);

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_CRASH);
	PT_ASSERT_STR_EQ(rep->reason, "crash in P2: boom 3 (f.c:7)");
	PT_ASSERT_STR_EQ(pt_ls_kind_name(rep->kind), "crash");
	pt_ls_report_free(rep);
}

/* ---- budgets ---------------------------------------------------------------
 */

static void spinner(void *p)
{
	(void)p;
	for (;;)
		pt_ls_yield();
}

PT_TEST(step_budget_exceeded)
{
	struct pt_ls_report *rep = ls_run(
		"spin", (struct pt_ls_opts){ .iterations = 3, .max_steps = 50 },
		spinner, NULL);

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_STEPS);
	PT_ASSERT_INT_EQ(rep->iteration, 1);
	PT_ASSERT_INT_EQ(rep->fail_step, 50);
	PT_ASSERT_STR_EQ(rep->reason, "step budget exceeded: max_steps 50");
	PT_ASSERT_STR_EQ(pt_ls_kind_name(rep->kind), "max_steps");
	pt_ls_report_free(rep);
}

/* ---- servers ----------------------------------------------------------------
 */

struct kv {
	int64_t v;
	struct pt_ls_from pending;
	bool has_pending;
};

static int kv_init(void *arg, void **ret_state)
{
	struct kv *k = pt_ls_alloc(sizeof(*k));

	if (arg)
		return (int)(intptr_t)arg; /* init refuses */
	if (!k)
		return -ENOMEM;
	*ret_state = k;
	return 0;
}

static int kv_call(void *state, const struct pt_ls_msg *req,
		   struct pt_ls_from from, struct pt_ls_msg *reply)
{
	struct kv *k = state;

	switch (req->type) {
	case A: /* get */
		reply->a = k->v;
		return PT_LS_REPLY;
	case B: /* wait until a cast set 5, then answer (deferred) */
		if (k->v == 5) {
			reply->a = k->v;
			return PT_LS_REPLY;
		}
		k->pending = from;
		k->has_pending = true;
		return PT_LS_NOREPLY;
	case C: /* stop */
		reply->a = -1;
		return PT_LS_STOP;
	case D: /* die without replying */
		pt_ls_exit(0x700);
	}
	return PT_LS_REPLY;
}

static int kv_cast(void *state, const struct pt_ls_msg *msg)
{
	struct kv *k = state;

	k->v = msg->a;
	if (k->has_pending) {
		struct pt_ls_msg r = { .a = k->v };

		k->has_pending = false;
		pt_ls_reply(k->pending, &r);
	}
	return 0;
}

static int kv_info(void *state, const struct pt_ls_msg *msg)
{
	struct kv *k = state;

	k->v += msg->a;
	return 0;
}

static const struct pt_ls_server_ops kv_ops = {
	.init = kv_init,
	.handle_call = kv_call,
	.handle_cast = kv_cast,
	.handle_info = kv_info,
};

static void caster(void *p)
{
	pt_ls_cast((int)(intptr_t)p, &(struct pt_ls_msg){ .a = 5 });
}

static void body_server(void *p)
{
	struct pt_ls_msg m = { .type = A }, r;
	int s, s2;

	(void)p;
	PT_LS_ASSERT_INT_EQ(
		pt_ls_server_start(&kv_ops, (void *)(intptr_t)-77, &s), -77);
	PT_LS_ASSERT(pt_ls_server_start(&kv_ops, NULL, &s) == 0);
	PT_LS_ASSERT(pt_ls_call(s, &m, &r) == 0);
	PT_LS_ASSERT_INT_EQ(r.a, 0);
	/* Plain messages go to handle_info. */
	pt_ls_send(s, &(struct pt_ls_msg){ .type = 99, .a = 3 });
	PT_LS_ASSERT(pt_ls_call(s, &m, &r) == 0);
	PT_LS_ASSERT_INT_EQ(r.a, 3);
	/* A deferred reply: answered when the cast arrives. */
	pt_ls_spawn(caster, (void *)(intptr_t)s);
	m.type = B;
	PT_LS_ASSERT(pt_ls_call(s, &m, &r) == 0);
	PT_LS_ASSERT_INT_EQ(r.a, 5);
	/* Other messages stay in the caller's mailbox during a call. */
	pt_ls_send(pt_ls_self(), &(struct pt_ls_msg){ .type = 42 });
	m.type = A;
	PT_LS_ASSERT(pt_ls_call(s, &m, &r) == 0);
	PT_LS_ASSERT(pt_ls_recv(&r) == 0);
	PT_LS_ASSERT_INT_EQ(r.type, 42);
	/* A server dying during the call: an error, not a hang. */
	m.type = D;
	PT_LS_ASSERT_INT_EQ(pt_ls_call(s, &m, &r), PT_EWORKER);
	PT_LS_ASSERT_INT_EQ(pt_ls_call(s, &m, &r), PT_EWORKER); /* noproc */
	PT_LS_ASSERT_INT_EQ(pt_ls_recv_timeout(0, &r),
			    -ETIMEDOUT); /* no DOWN left */
	/* stop from handle_call; then stop() of a live one. */
	PT_LS_ASSERT(pt_ls_server_start_link(&kv_ops, NULL, &s) == 0);
	m.type = C;
	PT_LS_ASSERT(pt_ls_call(s, &m, &r) == 0);
	PT_LS_ASSERT_INT_EQ(r.a, -1);
	PT_LS_ASSERT(pt_ls_server_start(&kv_ops, NULL, &s2) == 0);
	PT_LS_ASSERT(pt_ls_server_stop(s2, PT_LS_SHUTDOWN) == 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_alive(s2), 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_server_stop(s2, PT_LS_SHUTDOWN), PT_EWORKER);
}

PT_TEST(server_call_cast_info_reply_stop)
{
	all_pass(body_server, 30);
}

static void body_named(void *p)
{
	struct pt_ls_registry *reg = pt_ls_registry_new(PT_LS_UNIQUE);
	struct pt_ls_registry *dup = pt_ls_registry_new(PT_LS_DUPLICATE);
	int s, s2 = 0;

	(void)p;
	PT_LS_ASSERT(pt_ls_server_start_named(reg, "kv", true, &kv_ops, NULL,
					      &s) == 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_whereis(reg, "kv"), s);
	PT_LS_ASSERT_INT_EQ(
		pt_ls_server_start_named(reg, "kv", false, &kv_ops, NULL, &s2),
		-EEXIST);
	PT_LS_ASSERT_INT_EQ(s2, s);
	PT_LS_ASSERT_INT_EQ(
		pt_ls_server_start_named(dup, "kv", false, &kv_ops, NULL, &s2),
		-EINVAL);
	PT_LS_ASSERT(pt_ls_server_stop(s, PT_LS_NORMAL) == 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_whereis(reg, "kv"), 0);
}

PT_TEST(server_start_by_name)
{
	all_pass(body_named, 20);
}

/* ---- by name, ignore, names in reports (issue 18) -------------------------
 */

/* init: arg is what init returns (0, PT_LS_IGNORE or an error). */
static int id_init(void *arg, void **ret_state)
{
	*ret_state = NULL;
	return (int)(intptr_t)arg;
}

/* Replies with its own pid in a and the request's a in b. */
static int id_call(void *state, const struct pt_ls_msg *req,
		   struct pt_ls_from from, struct pt_ls_msg *reply)
{
	(void)state;
	(void)from;
	reply->a = pt_ls_self();
	reply->b = req->a;
	return PT_LS_REPLY;
}

static int id_cast(void *state, const struct pt_ls_msg *msg)
{
	(void)state;
	/* A cast forwards its a to the pid in b. */
	pt_ls_send((int)msg->b, &(struct pt_ls_msg){ .type = A, .a = msg->a });
	return 0;
}

static const struct pt_ls_server_ops id_ops = {
	.init = id_init,
	.handle_call = id_call,
	.handle_cast = id_cast,
	.name = "idsrv",
};

static void body_by_name(void *p)
{
	struct pt_ls_registry *reg = pt_ls_registry_new(PT_LS_UNIQUE);
	struct pt_ls_msg r;
	int s1, s2 = -5;

	(void)p;
	PT_LS_ASSERT(pt_ls_server_start_named(reg, "svc", false, &id_ops, NULL,
					      &s1) == 0);
	PT_LS_ASSERT(pt_ls_call_name(reg, "svc", &(struct pt_ls_msg){ .a = 9 },
				     &r) == 0);
	PT_LS_ASSERT_INT_EQ(r.a, s1);
	PT_LS_ASSERT_INT_EQ(r.b, 9);
	PT_LS_ASSERT(pt_ls_cast_name(reg, "svc",
				     &(struct pt_ls_msg){
					     .a = 4, .b = pt_ls_self() }) == 0);
	PT_LS_ASSERT(pt_ls_recv(&r) == 0);
	PT_LS_ASSERT_INT_EQ(r.a, 4);
	/* stop by name: the holder goes, and with it the name. */
	PT_LS_ASSERT(pt_ls_server_stop_name(reg, "svc", PT_LS_NORMAL) == 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_alive(s1), 0);
	/* Nobody under the name: call and stop are noproc, cast dropped. */
	PT_LS_ASSERT_INT_EQ(pt_ls_call_name(reg, "svc", NULL, &r), PT_EWORKER);
	PT_LS_ASSERT_INT_EQ(pt_ls_server_stop_name(reg, "svc", PT_LS_NORMAL),
			    PT_EWORKER);
	PT_LS_ASSERT_INT_EQ(pt_ls_cast_name(reg, "svc", NULL), 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_call_name(NULL, "svc", NULL, &r), -EINVAL);
	PT_LS_ASSERT_INT_EQ(pt_ls_cast_name(reg, NULL, NULL), -EINVAL);
	/* The name now resolves to the new holder. */
	PT_LS_ASSERT(pt_ls_server_start_named(reg, "svc", false, &id_ops, NULL,
					      &s2) == 0);
	PT_LS_ASSERT(s2 != s1);
	PT_LS_ASSERT(pt_ls_call_name(reg, "svc", NULL, &r) == 0);
	PT_LS_ASSERT_INT_EQ(r.a, s2);
	/* No DOWN of the calls' monitors is left behind. */
	PT_LS_ASSERT_INT_EQ(pt_ls_recv_timeout(0, &r), -ETIMEDOUT);
}

PT_TEST(server_call_cast_stop_by_name)
{
	all_pass(body_by_name, 30);
}

/* The lookup and the send are one step: nothing runs between them. */
static void body_by_name_one_step(void *p)
{
	struct pt_ls_registry *reg = pt_ls_registry_new(PT_LS_UNIQUE);
	struct pt_ls_msg r;
	int s;

	(void)p;
	PT_LS_ASSERT(pt_ls_server_start_named(reg, "svc", false, &id_ops, NULL,
					      &s) == 0);
	PT_LS_ASSERT(pt_ls_call_name(reg, "svc",
				     &(struct pt_ls_msg){ .type = 3, .a = 8 },
				     &r) == 0);
	PT_LS_ASSERT(0); /* end here: the report shows the schedule */
}

PT_TEST(call_by_name_is_one_sync_point)
{
	struct pt_ls_report *rep = one(body_by_name_one_step);
	size_t n = pt_ls_trace_steps(rep->trace), calls = 0;
	char *text = ls_text(rep->trace);

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_ASSERT);
	/* Exactly one call step of P1, naming the resolved server. */
	PT_ASSERT(strstr(text, " 1 call 2 msg 3 8 0\n"));
	for (size_t i = 0; i < n; i++)
		calls += pt_ls_trace_choice(rep->trace, i) == 1;
	PT_ASSERT(
		strstr(rep->text, "P1 call -> P2 (idsrv) {type 3, a 8, b 0}"));
	PT_ASSERT(
		strstr(rep->text, "P2 (idsrv) reply -> P1 {type 0, a 2, b 8}"));
	PT_ASSERT(!strstr(text, " 1 lookup "));
	PT_ASSERT(calls > 0);
	pt_free(text);
	pt_ls_report_free(rep);
}

static void body_ignore(void *p)
{
	struct pt_ls_registry *reg = pt_ls_registry_new(PT_LS_UNIQUE);
	int s = -5;
	uint64_t ref;
	struct pt_ls_msg r;

	(void)p;
	/* Declining is not failing: its own return, no pid, no name. */
	PT_LS_ASSERT_INT_EQ(
		pt_ls_server_start_named(reg, "svc", true, &id_ops,
					 (void *)(intptr_t)PT_LS_IGNORE, &s),
		PT_LS_IGNORE);
	PT_LS_ASSERT_INT_EQ(s, -5);
	PT_LS_ASSERT_INT_EQ(pt_ls_whereis(reg, "svc"), 0);
	/* The declining server ended normally (pid 2): noproc now. */
	PT_LS_ASSERT(pt_ls_monitor(2, &ref) == 0);
	PT_LS_ASSERT(pt_ls_recv(&r) == 0);
	PT_LS_ASSERT_INT_EQ(r.type, PT_LS_DOWN);
	PT_LS_ASSERT_INT_EQ(r.a, PT_LS_NOPROC);
	PT_LS_ASSERT_INT_EQ(
		pt_ls_server_start(&id_ops, (void *)(intptr_t)-EIO, &s), -EIO);
	PT_LS_ASSERT_INT_EQ(s, -5);
	PT_LS_ASSERT_INT_EQ(pt_ls_server_start(&id_ops, NULL, &s), 0);
	PT_LS_ASSERT(s > 0);
}

PT_TEST(server_init_ignore_is_not_a_failure)
{
	all_pass(body_ignore, 20);
}

static void named_worker(void *p)
{
	(void)p;
	pt_ls_send(1, &(struct pt_ls_msg){ .type = 5, .a = 17, .b = -2 });
}

static void body_names(void *p)
{
	struct pt_ls_msg r;

	(void)p;
	PT_LS_ASSERT_INT_EQ(pt_ls_set_name("main"), 0);
	PT_LS_ASSERT_INT_EQ(
		pt_ls_spawn_named("worker", false, named_worker, NULL), 2);
	PT_LS_ASSERT(pt_ls_recv(&r) == 0);
	PT_LS_ASSERT(0);
}

PT_TEST(reports_name_actors_and_show_messages)
{
	struct pt_ls_report *rep = ls_run(
		"names", (struct pt_ls_opts){ .iterations = 1, .seed = 3 },
		body_names, NULL);
	char *text = ls_text(rep->trace);

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_ASSERT);
	PT_ASSERT(strstr(rep->text, "P1 (main) spawn\n"));
	PT_ASSERT(strstr(rep->text, "P2 (worker) start\n"));
	PT_ASSERT(strstr(rep->text, "P2 (worker) send -> P1 (main) "
				    "{type 5, a 17, b -2}\n"));
	/* The trace keeps the names and payloads. */
	PT_ASSERT(strstr(text, "\nactor 1 main\nactor 2 worker\nsteps "));
	PT_ASSERT(strstr(text, " 2 send 1 msg 5 17 -2\n"));
	pt_free(text);
	pt_ls_report_free(rep);
	PT_ASSERT_ERR(pt_ls_set_name("x"), PT_ESTATE);
}

/* Two named servers calling each other: the cycle is named. */
static int ring_call(void *state, const struct pt_ls_msg *req,
		     struct pt_ls_from from, struct pt_ls_msg *reply)
{
	(void)from;
	(void)req;
	/* state: the registry; call the other one by name. */
	pt_ls_call_name(state, pt_ls_self() == 2 ? "bob" : "alice", NULL,
			reply);
	return PT_LS_REPLY;
}

static int ring_init(void *arg, void **ret_state)
{
	*ret_state = arg;
	return 0;
}

static const struct pt_ls_server_ops ring_ops = {
	.init = ring_init,
	.handle_call = ring_call,
};

static void ring_client(void *p)
{
	struct pt_ls_msg r;

	pt_ls_call_name(p, "alice", NULL, &r);
}

static void body_ring(void *p)
{
	struct pt_ls_registry *reg = pt_ls_registry_new(PT_LS_UNIQUE);
	struct pt_ls_msg r;
	int a, b;

	(void)p;
	PT_LS_ASSERT(pt_ls_server_start_named(reg, "alice", false, &ring_ops,
					      reg, &a) == 0);
	PT_LS_ASSERT(pt_ls_server_start_named(reg, "bob", false, &ring_ops, reg,
					      &b) == 0);
	pt_ls_spawn_named("client", false, ring_client, reg);
	pt_ls_call_name(reg, "bob", NULL, &r);
}

PT_TEST(deadlock_report_shows_the_wait_for_cycle)
{
	struct pt_ls_report *rep =
		ls_run("ring",
		       (struct pt_ls_opts){ .iterations = 50,
					    .strategy = PT_LS_RANDOM },
		       body_ring, NULL);

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_DEADLOCK);
	PT_ASSERT_STR_EQ(
		strstr(rep->reason, "; wait-for cycle:"),
		"; wait-for cycle: P2 (alice) waits in call for P3 (bob), "
		"P3 (bob) waits in call for P2 (alice)");
	PT_ASSERT(!strncmp(rep->reason,
			   "no actor ready; blocked: P1 (recv) P2 (alice) "
			   "(recv) P3 (bob) (recv) P4 (client) (recv)",
			   strlen("no actor ready; blocked: P1 (recv) P2 "
				  "(alice) (recv) P3 (bob) (recv) P4 (client) "
				  "(recv)")));
	pt_ls_report_free(rep);
}

/* ---- fork per iteration (issue 15) --------------------------------------- */

static int leaked; /* changed by every iteration's body */

static void abort_worker(void *p)
{
	int *counter = p, v = *counter;

	pt_ls_yield();
	*counter = v + 1;
	pt_ls_send(1, &(struct pt_ls_msg){ .type = A });
}

/* A lost update detected with abort(): only survivable in a child. */
static void body_abort(void *p)
{
	int *counter = pt_ls_alloc(sizeof(*counter));
	struct pt_ls_msg m;

	(void)p;
	leaked++;
	pt_ls_spawn_named("w", false, abort_worker, counter);
	pt_ls_spawn_named("w", false, abort_worker, counter);
	pt_ls_recv(&m);
	pt_ls_recv(&m);
	if (*counter != 2)
		abort();
}

PT_TEST(fork_per_iteration_survives_abort_and_replays)
{
	struct pt_ls_opts o = { .seed = 1,
				.iterations = 50,
				.strategy = PT_LS_RANDOM,
				.fork = true };
	struct pt_ls_report *rep = ls_run("abort", o, body_abort, NULL), *again;

	PT_ASSERT_INT_EQ(rep->kind, PT_LS_FAIL_CRASH);
	PT_ASSERT_STR_EQ(rep->reason, "the iteration's process ended with "
				      "signal 6 (Aborted)");
	PT_ASSERT(strstr(rep->text, "P2 (w) start\n"));
	PT_ASSERT(pt_ls_trace_steps(rep->trace) > 5);
	/* Nothing an iteration changed reached this process. */
	PT_ASSERT_INT_EQ(leaked, 0);
	o.replay = rep->trace;
	again = ls_run("abort", o, body_abort, NULL);
	PT_ASSERT_INT_EQ(again->kind, PT_LS_FAIL_CRASH);
	PT_ASSERT_INT_EQ(pt_ls_trace_steps(again->trace),
			 pt_ls_trace_steps(rep->trace));
	pt_ls_report_free(again);
	pt_ls_report_free(rep);
	/* Forked and not: the same schedules, the same first failure. */
	o = (struct pt_ls_opts){ .seed = 4, .iterations = 100, .fork = true };
	rep = ls_run("c", o, body_ping_pong, NULL);
	PT_ASSERT_INT_EQ(rep->kind, PT_LS_PASS);
	pt_ls_report_free(rep);
}

/* ---- registry ---------------------------------------------------------------
 */

struct reg_arg {
	struct pt_ls_registry *u, *d;
	int parent;
};

static void registrant(void *p)
{
	struct reg_arg *x = p;
	struct pt_ls_msg m;

	PT_LS_ASSERT(pt_ls_register(x->d, "topic", pt_ls_self()) == 0);
	PT_LS_ASSERT(pt_ls_register(x->d, "other", 1) == 0);
	pt_ls_send(x->parent, &(struct pt_ls_msg){ .type = A });
	pt_ls_recv(&m); /* until told to exit */
}

static void sum_values(const struct pt_ls_entry *e, void *ctx)
{
	*(int64_t *)ctx += e->value;
}

static void body_registry(void *p)
{
	struct reg_arg *x = pt_ls_alloc(sizeof(*x));
	struct pt_ls_entry e[4];
	struct pt_ls_msg m;
	int64_t sum = 0;
	char big[300];
	int a, b;

	(void)p;
	PT_LS_ASSERT(x);
	x->u = pt_ls_registry_new(PT_LS_UNIQUE);
	x->d = pt_ls_registry_new(PT_LS_DUPLICATE);
	PT_LS_ASSERT(x->u && x->d);
	x->parent = pt_ls_self();
	PT_LS_ASSERT(pt_ls_register(x->u, "me", 7) == 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_register(x->u, "me", 8), -EEXIST);
	PT_LS_ASSERT_INT_EQ(pt_ls_lookup(x->u, "me", e, 4), 1);
	PT_LS_ASSERT_INT_EQ(e[0].pid, 1);
	PT_LS_ASSERT_INT_EQ(e[0].value, 7);
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	PT_LS_ASSERT_INT_EQ(pt_ls_register(x->u, big, 0), PT_ETOOBIG);
	a = pt_ls_spawn(registrant, x);
	b = pt_ls_spawn(registrant, x);
	pt_ls_recv(&m);
	pt_ls_recv(&m);
	PT_LS_ASSERT_INT_EQ(pt_ls_lookup(x->d, "topic", e, 4), 2);
	PT_LS_ASSERT_INT_EQ(pt_ls_count(x->d), 4);
	PT_LS_ASSERT_INT_EQ(pt_ls_keys(x->d, a), 2);
	PT_LS_ASSERT_INT_EQ(pt_ls_dispatch(x->d, "topic", sum_values, &sum), 2);
	PT_LS_ASSERT_INT_EQ(sum, a + b);
	/* Death removes the entries of the dead. */
	pt_ls_kill(a, PT_LS_KILLED);
	PT_LS_ASSERT_INT_EQ(pt_ls_lookup(x->d, "topic", e, 4), 1);
	PT_LS_ASSERT_INT_EQ(e[0].pid, b);
	PT_LS_ASSERT_INT_EQ(pt_ls_count(x->d), 2);
	PT_LS_ASSERT_INT_EQ(pt_ls_keys(x->d, a), 0);
	/* unregister: only the caller's own entries. */
	PT_LS_ASSERT_INT_EQ(pt_ls_unregister(x->d, "topic"), 0);
	PT_LS_ASSERT_INT_EQ(pt_ls_unregister(x->u, "me"), 1);
	PT_LS_ASSERT_INT_EQ(pt_ls_whereis(x->u, "me"), 0);
	pt_ls_send(b, &m);
}

PT_TEST(registry_unique_duplicate_lookup_dispatch_count)
{
	all_pass(body_registry, 30);
}

/* ---- allocation failures ---------------------------------------------------
 */

static long alloc_count, alloc_fail_at;

static void *fail_malloc(void *ctx, size_t size)
{
	(void)ctx;
	if (++alloc_count == alloc_fail_at)
		return NULL;
	return malloc(size);
}

static void *fail_realloc(void *ctx, void *p, size_t size)
{
	(void)ctx;
	if (++alloc_count == alloc_fail_at)
		return NULL;
	return realloc(p, size);
}

static void plain_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/*
 * Fails the Nth allocation, for every N until a run needs fewer: each run
 * must end cleanly (an error, or a report), never crash or leak (ASan and
 * valgrind check the leaks).
 */
PT_TEST(allocation_failures_are_clean)
{
	static const struct pt_allocator fa = { fail_malloc, fail_realloc,
						plain_free, NULL };
	static void (*const bodies[])(void *) = { body_server, body_registry,
						  body_root_killed,
						  body_links };
	long n, total = 0;

	for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++)
		for (n = 1;; n++) {
			struct pt_ls_report *rep = NULL;
			struct pt_ls_opts o = { .seed = 1,
						.iterations = 3,
						.trace_dir = pt_test_tmpdir() };
			int r;

			alloc_count = 0;
			alloc_fail_at = n;
			pt_set_allocator(&fa);
			r = pt_ls_run("oom", &o, bodies[b], NULL, &rep);
			pt_set_allocator(NULL);
			if (r < 0) {
				PT_ASSERT_INT_EQ(r, -ENOMEM);
				PT_ASSERT_NULL(rep);
			} else {
				PT_ASSERT_NOT_NULL(rep);
				pt_ls_report_free(rep);
			}
			if (alloc_count < n) {
				total += n - 1;
				break; /* this run had no failure: all paths
					  seen */
			}
			PT_ASSERT(n < 100000);
		}
	fprintf(stderr, "# %ld allocation points\n", total);
}
