/*
 * tests/lockstep/examples.c - example programs with known bugs (and their
 * fixes), written against <proctor/lockstep.h> only.
 */
#include <string.h>

#include <proctor/lockstep.h>

#include "examples.h"

enum { GET = 1, PUT, INC, DONE, INIT, USE, PING, PONG, WRITE, READ, REPL };

/* ---- counter server -------------------------------------------------- */

static int counter_init(void *arg, void **ret_state)
{
	int64_t *v = pt_ls_alloc(sizeof(*v));

	(void)arg;
	if (!v)
		return -1;
	*ret_state = v;
	return 0;
}

static int counter_call(void *state, const struct pt_ls_msg *req,
			struct pt_ls_from from, struct pt_ls_msg *reply)
{
	int64_t *v = state;

	(void)from;
	switch (req->type) {
	case GET:
		reply->a = *v;
		break;
	case PUT:
		*v = req->a;
		break;
	case INC:
		reply->a = ++*v;
		break;
	}
	return PT_LS_REPLY;
}

static const struct pt_ls_server_ops counter_ops = {
	.init = counter_init,
	.handle_call = counter_call,
};

struct worker_arg {
	int server, parent;
	bool atomic;
};

static void counter_worker(void *p)
{
	struct worker_arg *w = p;
	struct pt_ls_msg m = { 0 }, r;

	if (w->atomic) {
		m.type = INC;
		PT_LS_ASSERT(pt_ls_call(w->server, &m, &r) == 0);
	} else {
		m.type = GET;
		PT_LS_ASSERT(pt_ls_call(w->server, &m, &r) == 0);
		m.type = PUT;
		m.a = r.a + 1;
		PT_LS_ASSERT(pt_ls_call(w->server, &m, &r) == 0);
	}
	m.type = DONE;
	pt_ls_send(w->parent, &m);
}

static void noise(void *p)
{
	for (long i = 0; i < (long)(intptr_t)p; i++)
		pt_ls_yield();
}

static void counter(bool atomic, int noise_yields)
{
	struct worker_arg *w = pt_ls_alloc(sizeof(*w));
	struct pt_ls_msg m = { .type = GET }, r;
	int server;

	PT_LS_ASSERT(w);
	PT_LS_ASSERT(pt_ls_server_start(&counter_ops, NULL, &server) == 0);
	w->server = server;
	w->parent = pt_ls_self();
	w->atomic = atomic;
	if (noise_yields)
		pt_ls_spawn(noise, (void *)(intptr_t)noise_yields);
	pt_ls_spawn(counter_worker, w);
	pt_ls_spawn(counter_worker, w);
	pt_ls_recv(&r);
	pt_ls_recv(&r);
	PT_LS_ASSERT(pt_ls_call(server, &m, &r) == 0);
	PT_LS_ASSERT_INT_EQ(r.a, 2);
}

void ex_counter_lost_update(void *arg)
{
	(void)arg;
	counter(false, 0);
}

void ex_counter_atomic(void *arg)
{
	(void)arg;
	counter(true, 0);
}

void ex_counter_with_noise(void *arg)
{
	(void)arg;
	counter(false, 12);
}

/* ---- message ordering -------------------------------------------------- */

static void order_server(void *p)
{
	struct pt_ls_msg m;
	bool ready = false;

	(void)p;
	for (int i = 0; i < 2; i++) {
		pt_ls_recv(&m);
		if (m.type == INIT)
			ready = true;
		else if (m.type == USE)
			PT_LS_ASSERT(ready); /* used before initialised */
	}
}

static void relay(void *p)
{
	struct pt_ls_msg m;

	(void)p;
	pt_ls_recv(&m);
	pt_ls_send((int)m.a, &(struct pt_ls_msg){ .type = INIT });
}

static void message_order(bool fixed)
{
	struct pt_ls_msg init = { .type = INIT }, use = { .type = USE };
	int s = pt_ls_spawn_link(order_server, NULL);
	int r = pt_ls_spawn(relay, NULL);

	if (fixed) {
		pt_ls_send(s, &init);
	} else {
		init.a = s;
		pt_ls_send(r, &init); /* via the relay */
	}
	pt_ls_send(s, &use);
	if (fixed)
		pt_ls_kill(r, PT_LS_KILLED);
}

void ex_message_order(void *arg)
{
	(void)arg;
	message_order(false);
}

void ex_message_order_fixed(void *arg)
{
	(void)arg;
	message_order(true);
}

/* ---- two servers calling each other ----------------------------------- */

struct peer {
	int other;
	bool cyclic;
};

static int peer_init(void *arg, void **ret_state)
{
	*ret_state = arg;
	return 0;
}

static int peer_call(void *state, const struct pt_ls_msg *req,
		     struct pt_ls_from from, struct pt_ls_msg *reply)
{
	struct peer *p = state;
	struct pt_ls_msg m = { .type = PONG };

	(void)from;
	if (req->type == PING && (p->cyclic || req->a == 0)) {
		/* handle_call calls the other server: a wait-for edge. */
		PT_LS_ASSERT(pt_ls_call(p->other, &m, reply) == 0);
	}
	reply->a = 1;
	return PT_LS_REPLY;
}

static const struct pt_ls_server_ops peer_ops = {
	.init = peer_init,
	.handle_call = peer_call,
};

struct client_arg {
	int server, parent;
	int64_t a;
};

static void ping_client(void *p)
{
	struct client_arg *c = p;
	struct pt_ls_msg m = { .type = PING, .a = c->a }, r;

	PT_LS_ASSERT(pt_ls_call(c->server, &m, &r) == 0);
	pt_ls_send(c->parent, &(struct pt_ls_msg){ .type = DONE });
}

static void call_cycle(bool cyclic)
{
	struct peer *pa = pt_ls_alloc(sizeof(*pa)),
		    *pb = pt_ls_alloc(sizeof(*pb));
	struct client_arg *ca = pt_ls_alloc(sizeof(*ca)),
			  *cb = pt_ls_alloc(sizeof(*cb));
	struct pt_ls_msg r;
	int a, b;

	PT_LS_ASSERT(pa && pb && ca && cb);
	pa->cyclic = pb->cyclic = cyclic;
	PT_LS_ASSERT(pt_ls_server_start(&peer_ops, pa, &a) == 0);
	PT_LS_ASSERT(pt_ls_server_start(&peer_ops, pb, &b) == 0);
	pa->other = b;
	pb->other = a;
	*ca = (struct client_arg){ a, pt_ls_self(), 0 };
	/* Without the cycle, b's clients never make b call a. */
	*cb = (struct client_arg){ b, pt_ls_self(), cyclic ? 0 : 1 };
	pt_ls_spawn(ping_client, ca);
	pt_ls_spawn(ping_client, cb);
	pt_ls_recv(&r);
	pt_ls_recv(&r);
}

void ex_call_deadlock(void *arg)
{
	(void)arg;
	call_cycle(true);
}

void ex_call_no_deadlock(void *arg)
{
	(void)arg;
	call_cycle(false);
}

/* ---- leader / follower -------------------------------------------------- */

struct replica {
	int64_t value;
	int follower;
	bool sync;
};

static int replica_init(void *arg, void **ret_state)
{
	struct replica *r = pt_ls_alloc(sizeof(*r));

	if (!r)
		return -1;
	if (arg)
		*r = *(struct replica *)arg;
	*ret_state = r;
	return 0;
}

static int replica_call(void *state, const struct pt_ls_msg *req,
			struct pt_ls_from from, struct pt_ls_msg *reply)
{
	struct replica *r = state;
	struct pt_ls_msg m = { .type = REPL, .a = req->a }, ok = { 0 };

	switch (req->type) {
	case WRITE:
		r->value = req->a;
		if (r->sync) {
			PT_LS_ASSERT(pt_ls_call(r->follower, &m, NULL) == 0);
			return PT_LS_REPLY;
		}
		/* Deferred: answer first, replicate after. */
		pt_ls_reply(from, &ok);
		pt_ls_cast(r->follower, &m);
		return PT_LS_NOREPLY;
	case REPL:
		r->value = req->a;
		return PT_LS_REPLY;
	case READ:
		reply->a = r->value;
		return PT_LS_REPLY;
	}
	return PT_LS_REPLY;
}

static int replica_cast(void *state, const struct pt_ls_msg *msg)
{
	struct replica *r = state;

	if (msg->type == REPL)
		r->value = msg->a;
	return 0;
}

static const struct pt_ls_server_ops replica_ops = {
	.init = replica_init,
	.handle_call = replica_call,
	.handle_cast = replica_cast,
};

static void leader_follower(bool sync)
{
	struct replica cfg = { 0 };
	struct pt_ls_msg w = { .type = WRITE, .a = 42 }, rd = { .type = READ },
			 r;
	int leader, follower;

	PT_LS_ASSERT(pt_ls_server_start(&replica_ops, NULL, &follower) == 0);
	cfg.follower = follower;
	cfg.sync = sync;
	PT_LS_ASSERT(pt_ls_server_start(&replica_ops, &cfg, &leader) == 0);
	PT_LS_ASSERT(pt_ls_call(leader, &w, &r) == 0);
	/* Read-your-writes from the follower. */
	PT_LS_ASSERT(pt_ls_call(follower, &rd, &r) == 0);
	PT_LS_ASSERT_INT_EQ(r.a, 42);
}

void ex_leader_follower(void *arg)
{
	(void)arg;
	leader_follower(false);
}

void ex_leader_follower_sync(void *arg)
{
	(void)arg;
	leader_follower(true);
}

/* ---- check-then-act on a registry --------------------------------------- */

static int session_init(void *arg, void **ret_state)
{
	*ret_state = arg;
	return 0;
}

static int session_call(void *state, const struct pt_ls_msg *req,
			struct pt_ls_from from, struct pt_ls_msg *reply)
{
	(void)state;
	(void)from;
	reply->a = req->a + 1;
	return PT_LS_REPLY;
}

static const struct pt_ls_server_ops session_ops = {
	.init = session_init,
	.handle_call = session_call,
};

struct aba {
	struct pt_ls_registry *reg;
	int parent;
	bool retry;
};

/* Replaces the session: stop the old one, start a new one, same name. */
static void manager(void *p)
{
	struct aba *x = p;
	int old = pt_ls_whereis(x->reg, "session"), pid;

	if (old > 0)
		pt_ls_server_stop(old, PT_LS_SHUTDOWN);
	PT_LS_ASSERT(pt_ls_server_start_named(x->reg, "session", false,
					      &session_ops, NULL, &pid) == 0);
	pt_ls_send(x->parent, &(struct pt_ls_msg){ .type = DONE });
}

static void user(void *p)
{
	struct aba *x = p;
	struct pt_ls_msg m = { .type = PING, .a = 1 }, r;
	int pid, rc;

	for (;;) {
		pid = pt_ls_whereis(x->reg, "session"); /* check */
		if (pid <= 0) {
			pt_ls_yield();
			continue;
		}
		rc = pt_ls_call(pid, &m, &r); /* act */
		if (rc != 0 && x->retry)
			continue; /* the holder changed: look it up again */
		PT_LS_ASSERT(rc == 0);
		break;
	}
	PT_LS_ASSERT_INT_EQ(r.a, 2);
	pt_ls_send(x->parent, &(struct pt_ls_msg){ .type = DONE });
}

static void registry_aba(bool retry)
{
	struct aba *x = pt_ls_alloc(sizeof(*x));
	struct pt_ls_msg r;
	int pid;

	PT_LS_ASSERT(x);
	x->reg = pt_ls_registry_new(PT_LS_UNIQUE);
	x->parent = pt_ls_self();
	x->retry = retry;
	PT_LS_ASSERT(x->reg);
	PT_LS_ASSERT(pt_ls_server_start_named(x->reg, "session", false,
					      &session_ops, NULL, &pid) == 0);
	pt_ls_spawn(user, x);
	pt_ls_spawn(manager, x);
	pt_ls_recv(&r);
	pt_ls_recv(&r);
}

void ex_registry_aba(void *arg)
{
	(void)arg;
	registry_aba(false);
}

void ex_registry_retry(void *arg)
{
	(void)arg;
	registry_aba(true);
}
