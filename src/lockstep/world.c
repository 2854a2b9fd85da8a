/*
 * lockstep/world.c - the actor API over the controller (ctl.h): spawn,
 * mailboxes and selective receive, virtual time and timers, monitors,
 * links and exit signals, registries.
 *
 * One world per run, reset between iterations (actors, stacks, nodes and
 * arrays are reused, so an iteration allocates almost nothing). The
 * thread-local `cur_world` is the world of the iteration in progress;
 * actor functions called outside one return PT_ESTATE. Timers fire only
 * when no actor is ready (the controller's idle hook): virtual time then
 * jumps to the earliest one.
 */
#include "base/common.h"

#include "base/vec.h"
#include "lockstep/ctl.h"
#include "os/clock.h"

enum { WAIT_NONE = 0, WAIT_RECV, WAIT_SLEEP };

/* An actor: a controller task plus a mailbox, links and the rest. */
struct ls_actor {
	struct pt__ls_task t; /* first: the controller's view of it */
	uint8_t wait;
	bool trap, timed_out;
	int exit_reason;
	void (*fn)(void *);
	void *fn_arg;
	struct pt__ls_node *mb_head, **mb_tail;
	bool (*match)(const struct pt__ls_node *, void *);
	void *match_ctx;
	uint64_t timer; /* wake-up timer of a receive timeout or a sleep */
	char name[PT_LS_NAME_MAX + 1];
};

enum { TM_SEND = 0, TM_WAKE };

struct ls_timer {
	int64_t when;
	uint64_t ref;
	int kind;
	int pid;
	struct pt__ls_node *node; /* TM_SEND */
};

struct ls_mon {
	uint64_t ref;
	int watcher, target;
};

struct ls_link {
	int a, b;
};

struct ls_reg_entry {
	char *key;
	int pid;
	int64_t value;
};

struct pt_ls_registry {
	struct pt_ls_registry *next;
	enum pt_ls_keys kind;
	PT_VEC(struct ls_reg_entry) e;
};

struct pt__ls_world {
	struct pt__ls_ctl ctl;
	PT_VEC(struct ls_actor *) actors; /* allocated, reused across runs */
	size_t nlive;			  /* actors.v[<nlive] used now */
	int64_t now;
	uint64_t next_ref;
	PT_VEC(struct ls_timer) timers;
	PT_VEC(struct ls_mon) mons;
	PT_VEC(struct ls_link) links;
	struct pt_ls_registry *regs;
	PT_VEC(void *) allocs;
	struct pt__ls_node *free_nodes;
};

static _Thread_local struct pt__ls_world *cur_world;

/* ---- small helpers ------------------------------------------------------ */

#define CUR(w) ((struct ls_actor *)(void *)(w)->ctl.cur)
#define PID(a) ((int)(a)->t.idx)

static struct ls_actor *actor_of(struct pt__ls_world *w, int pid)
{
	return (struct ls_actor *)(void *)pt__ls_ctl_task(&w->ctl, pid);
}

static bool alive(struct pt__ls_world *w, int pid)
{
	struct ls_actor *a = actor_of(w, pid);

	return a && a->t.state != PT_LS_TASK_DONE;
}

static struct pt__ls_node *node_new(struct pt__ls_world *w)
{
	struct pt__ls_node *n = w->free_nodes;

	if (n) {
		w->free_nodes = n->next;
		return n;
	}
	return pt__malloc(sizeof(*n));
}

static void node_put(struct pt__ls_world *w, struct pt__ls_node *n)
{
	n->next = w->free_nodes;
	w->free_nodes = n;
}

static void del_timer_at(struct pt__ls_world *w, size_t i)
{
	if (w->timers.v[i].node)
		node_put(w, w->timers.v[i].node);
	w->timers.v[i] = w->timers.v[--w->timers.n];
}

static void del_timer_ref(struct pt__ls_world *w, uint64_t ref)
{
	pt_vec_foreach(&w->timers, i) {
		if (w->timers.v[i].ref == ref) {
			del_timer_at(w, i);
			return;
		}
	}
}

static int add_timer(struct pt__ls_world *w, int kind, int pid, int64_t ms,
		     struct pt__ls_node *node, uint64_t *ret_ref)
{
	struct ls_timer t = { .when = w->now + (ms > 0 ? ms : 0),
			      .ref = ++w->next_ref,
			      .kind = kind,
			      .pid = pid,
			      .node = node };

	if (pt_vec_push(&w->timers, t) < 0)
		return -ENOMEM;
	*ret_ref = t.ref;
	return 0;
}

/* ---- scheduling ---------------------------------------------------------- */

/* Delivers a node to a's mailbox, waking a if it waits for it. */
static void deliver(struct pt__ls_world *w, struct ls_actor *a,
		    struct pt__ls_node *n)
{
	if (!a || a->t.state == PT_LS_TASK_DONE) {
		node_put(w, n);
		return;
	}
	n->next = NULL;
	*a->mb_tail = n;
	a->mb_tail = &n->next;
	if (a->t.state == PT_LS_TASK_BLOCKED && a->wait == WAIT_RECV &&
	    (!a->match || a->match(n, a->match_ctx))) {
		if (a->timer) {
			del_timer_ref(w, a->timer);
			a->timer = 0;
		}
		a->t.state = PT_LS_TASK_READY;
		a->wait = WAIT_NONE;
		a->t.op = PT_LS_OP_WAKE;
		a->t.arg = n->m.from;
		a->t.has_msg = n->m.type >= 0;
		a->t.mtype = n->m.type;
		a->t.ma = n->m.a;
		a->t.mb = n->m.b;
		if (pt__ls_ctl_ready(&w->ctl, &a->t) < 0)
			pt__ls_ctl_end(&w->ctl, PT_LS_FAIL_CRASH,
				       "out of memory");
	}
}

/* Fires the earliest timer (ties: the older one). */
static void fire_timer(struct pt__ls_world *w)
{
	size_t best = 0;
	struct ls_timer t;
	struct ls_actor *a;

	for (size_t i = 1; i < w->timers.n; i++) {
		struct ls_timer *x = &w->timers.v[i], *b = &w->timers.v[best];
		if (x->when < b->when ||
		    (x->when == b->when && x->ref < b->ref))
			best = i;
	}
	t = w->timers.v[best];
	w->timers.v[best].node = NULL;
	del_timer_at(w, best);
	if (t.when > w->now)
		w->now = t.when;
	a = actor_of(w, t.pid);
	if (t.kind == TM_SEND) {
		deliver(w, a, t.node);
		return;
	}
	if (a && a->t.state == PT_LS_TASK_BLOCKED && a->timer == t.ref) {
		a->timer = 0;
		a->timed_out = a->wait == WAIT_RECV;
		a->t.state = PT_LS_TASK_READY;
		a->wait = WAIT_NONE;
		a->t.op = PT_LS_OP_TIMEOUT;
		a->t.arg = 0;
		a->t.has_msg = false;
		if (pt__ls_ctl_ready(&w->ctl, &a->t) < 0)
			pt__ls_ctl_end(&w->ctl, PT_LS_FAIL_CRASH,
				       "out of memory");
	}
}

/* The controller's idle hook: fire the earliest timer, if any. */
static bool world_idle(void *ctx)
{
	struct pt__ls_world *w = ctx;

	if (!w->timers.n)
		return false;
	fire_timer(w);
	return true;
}

/* After an operation with side effects: leave if it ended us or the run. */
static void settle(struct pt__ls_world *w)
{
	if (w->ctl.over || (CUR(w) && CUR(w)->t.state == PT_LS_TASK_DONE))
		pt__ls_ctl_schedule(&w->ctl);
}

/* A sync point of the calling actor; NULL outside an iteration. */
static struct pt__ls_world *enter(int op, int32_t arg)
{
	struct pt__ls_world *w = cur_world;

	if (!w || !w->ctl.cur)
		return NULL;
	pt__ls_ctl_sync(&w->ctl, (uint16_t)op, arg);
	return w;
}

/* A sync point carrying message m (shown in reports). */
static struct pt__ls_world *enter_msg(int op, int32_t arg,
				      const struct pt_ls_msg *m)
{
	struct pt__ls_world *w = cur_world;

	if (!w || !w->ctl.cur)
		return NULL;
	pt__ls_ctl_sync_msg(&w->ctl, (uint16_t)op, arg, m->type, m->a, m->b);
	return w;
}

/* Blocks the current actor until something makes it ready again. */
static void block(struct pt__ls_world *w, int wait)
{
	CUR(w)->wait = (uint8_t)wait;
	pt__ls_ctl_block(&w->ctl);
}

/* ---- exits, links, monitors ---------------------------------------------- */

static void exit_actor(struct pt__ls_world *w, struct ls_actor *a, int reason,
		       int from);

static void exit_signal(struct pt__ls_world *w, struct ls_actor *to, int from,
			int reason)
{
	struct pt__ls_node *n;

	if (!to || to->t.state == PT_LS_TASK_DONE)
		return;
	if (to->trap && reason != PT_LS_KILLED) {
		if (!(n = node_new(w))) {
			pt__ls_ctl_end(&w->ctl, PT_LS_FAIL_CRASH,
				       "out of memory");
			return;
		}
		memset(n, 0, sizeof(*n));
		n->m.type = PT_LS_EXIT;
		n->m.from = from;
		n->m.a = reason;
		deliver(w, to, n);
	} else if (reason != PT_LS_NORMAL) {
		exit_actor(w, to, reason, from);
	}
}

static void exit_actor(struct pt__ls_world *w, struct ls_actor *a, int reason,
		       int from)
{
	struct pt__ls_node *n;
	size_t i;

	if (a->t.state == PT_LS_TASK_DONE)
		return;
	a->t.state = PT_LS_TASK_DONE;
	a->exit_reason = reason;
	pt__ls_ctl_unready(&w->ctl, &a->t);
	if (a->timer) {
		del_timer_ref(w, a->timer);
		a->timer = 0;
	}
	while ((n = a->mb_head)) {
		a->mb_head = n->next;
		node_put(w, n);
	}
	a->mb_tail = &a->mb_head;
	for (struct pt_ls_registry *r = w->regs; r; r = r->next) {
		for (i = 0; i < r->e.n;) {
			if (r->e.v[i].pid == (int)a->t.idx) {
				pt__free(r->e.v[i].key);
				memmove(&r->e.v[i], &r->e.v[i + 1],
					(r->e.n - i - 1) * sizeof(r->e.v[0]));
				r->e.n--;
			} else {
				i++;
			}
		}
	}
	if (a->t.idx == 1) {
		if (reason != PT_LS_NORMAL) {
			if (from && from != 1)
				pt__ls_ctl_end(
					&w->ctl, PT_LS_FAIL_CRASH,
					"crash: the test body (P1) was killed "
					"by an exit signal from P%d, reason %d",
					from, reason);
			else
				pt__ls_ctl_end(
					&w->ctl, PT_LS_FAIL_CRASH,
					"crash: the test body (P1) exited "
					"with reason %d",
					reason);
		}
	}
	/* Monitors of a: DOWN to their watchers; monitors held by a: gone. */
	for (i = 0; i < w->mons.n;) {
		struct ls_mon m = w->mons.v[i];

		if (m.target != (int)a->t.idx && m.watcher != (int)a->t.idx) {
			i++;
			continue;
		}
		memmove(&w->mons.v[i], &w->mons.v[i + 1],
			(w->mons.n - i - 1) * sizeof(w->mons.v[0]));
		w->mons.n--;
		if (m.target == (int)a->t.idx && m.watcher != (int)a->t.idx) {
			if (!(n = node_new(w))) {
				pt__ls_ctl_end(&w->ctl, PT_LS_FAIL_CRASH,
					       "out of memory");
				continue;
			}
			memset(n, 0, sizeof(*n));
			n->m.type = PT_LS_DOWN;
			n->m.from = (int)a->t.idx;
			n->m.ref = m.ref;
			n->m.a = reason;
			deliver(w, actor_of(w, m.watcher), n);
		}
	}
	/* Links: removed, then each other end gets the exit signal. */
	for (i = 0; i < w->links.n;) {
		struct ls_link l = w->links.v[i];
		int other;

		if (l.a != (int)a->t.idx && l.b != (int)a->t.idx) {
			i++;
			continue;
		}
		w->links.v[i] = w->links.v[--w->links.n];
		other = l.a == (int)a->t.idx ? l.b : l.a;
		exit_signal(w, actor_of(w, other), (int)a->t.idx, reason);
		i = 0; /* the array may have changed under the recursion */
	}
}

/* ---- actors ---------------------------------------------------------------
 */

static void actor_main(void *p)
{
	struct ls_actor *a = p;
	struct pt__ls_world *w = cur_world;

	a->fn(a->fn_arg);
	exit_actor(w, a, PT_LS_NORMAL, 0);
	pt__ls_ctl_schedule(&w->ctl); /* never returns: a is done */
	abort();
}

static int new_actor(struct pt__ls_world *w, void (*fn)(void *), void *arg,
		     struct ls_actor **ret)
{
	struct ls_actor *a;
	int r;

	if (w->nlive == w->actors.n) {
		if (pt_vec_reserve(&w->actors, w->actors.n + 1) < 0)
			return -ENOMEM;
		if (!(a = pt__calloc(1, sizeof(*a))))
			return -ENOMEM;
		w->actors.v[w->actors.n++] = a;
	}
	a = w->actors.v[w->nlive++];
	a->t.state = PT_LS_TASK_READY;
	a->wait = WAIT_NONE;
	a->trap = a->timed_out = false;
	a->exit_reason = 0;
	a->fn = fn;
	a->fn_arg = arg;
	a->mb_head = NULL;
	a->mb_tail = &a->mb_head;
	a->match = NULL;
	a->timer = 0;
	a->name[0] = '\0';
	a->t.name = a->name;
	if ((r = pt__ls_ctl_add(&w->ctl, &a->t, actor_main, a)) < 0) {
		w->nlive--;
		return r;
	}
	*ret = a;
	return 0;
}

static int do_spawn(const char *name, void (*fn)(void *), void *arg, bool link)
{
	struct pt__ls_world *w;
	struct ls_actor *a;
	int r;

	if (!fn)
		return -EINVAL;
	/* The child's pid is known only once picked: its "start" shows it. */
	w = enter(link ? PT_LS_OP_SPAWN_LINK : PT_LS_OP_SPAWN, 0);
	if (!w)
		return PT_ESTATE;
	if ((r = new_actor(w, fn, arg, &a)) < 0)
		return r;
	if (name)
		snprintf(a->name, sizeof(a->name), "%s", name);
	if (link) {
		struct ls_link l = { (int)CUR(w)->t.idx, (int)a->t.idx };
		if (pt_vec_push(&w->links, l) < 0)
			return -ENOMEM;
	}
	return (int)a->t.idx;
}

int pt_ls_spawn(void (*fn)(void *arg), void *arg)
{
	return do_spawn(NULL, fn, arg, false);
}

int pt_ls_spawn_link(void (*fn)(void *arg), void *arg)
{
	return do_spawn(NULL, fn, arg, true);
}

int pt_ls_spawn_named(const char *name, bool link, void (*fn)(void *arg),
		      void *arg)
{
	return do_spawn(name, fn, arg, link);
}

int pt_ls_set_name(const char *name)
{
	struct pt__ls_world *w = cur_world;

	if (!w || !CUR(w))
		return PT_ESTATE;
	snprintf(CUR(w)->name, sizeof(CUR(w)->name), "%s", name ? name : "");
	return 0;
}

void pt__ls_wait_for(int pid, int op)
{
	struct pt__ls_world *w = cur_world;

	if (!w || !CUR(w))
		return;
	CUR(w)->t.wait_for = pid > 0 ? (uint32_t)pid : 0;
	CUR(w)->t.wait_op = (uint16_t)op;
}

int pt_ls_self(void)
{
	struct pt__ls_world *w = cur_world;

	return w && CUR(w) ? (int)CUR(w)->t.idx : PT_ESTATE;
}

/* ---- messages -------------------------------------------------------------
 */

int pt__ls_send_sys(int pid, int sys, const struct pt_ls_msg *m)
{
	static const uint16_t ops[] = {
		[PT_LS_SYS_USER] = PT_LS_OP_SEND,
		[PT_LS_SYS_CALL] = PT_LS_OP_CALL,
		[PT_LS_SYS_CAST] = PT_LS_OP_CAST,
		[PT_LS_SYS_REPLY] = PT_LS_OP_REPLY,
		[PT_LS_SYS_ACK] = PT_LS_OP_REPLY,
		[PT_LS_SYS_STOP] = PT_LS_OP_CALL,
	};
	struct pt__ls_world *w;
	struct pt__ls_node *n;

	if (!m)
		return -EINVAL;
	if (!(w = enter_msg(ops[sys], pid, m)))
		return PT_ESTATE;
	if (!(n = node_new(w)))
		return -ENOMEM;
	n->sys = sys;
	n->m = *m;
	n->m.from = (int)CUR(w)->t.idx;
	deliver(w, actor_of(w, pid), n);
	return 0;
}

static int lookup(struct pt_ls_registry *r, const char *key,
		  struct pt_ls_entry *out, size_t max);

int pt__ls_send_via(struct pt_ls_registry *reg, const char *key, int sys,
		    const struct pt_ls_msg *m, bool monitor, int *ret_pid,
		    uint64_t *ret_ref)
{
	static const uint16_t ops[] = {
		[PT_LS_SYS_USER] = PT_LS_OP_SEND,
		[PT_LS_SYS_CALL] = PT_LS_OP_CALL,
		[PT_LS_SYS_CAST] = PT_LS_OP_CAST,
		[PT_LS_SYS_REPLY] = PT_LS_OP_REPLY,
		[PT_LS_SYS_ACK] = PT_LS_OP_REPLY,
		[PT_LS_SYS_STOP] = PT_LS_OP_CALL,
	};
	struct pt__ls_world *w;
	struct pt__ls_node *n;
	struct pt_ls_entry e;
	struct ls_mon mon;
	int pid;

	if (!m || !reg || !key)
		return -EINVAL;
	/* One sync point: the name is resolved when the message leaves. */
	if (!(w = enter_msg(ops[sys], 0, m)))
		return PT_ESTATE;
	pid = lookup(reg, key, &e, 1) > 0 ? e.pid : 0;
	if (!alive(w, pid))
		return -ENOENT;
	if (monitor) {
		mon.ref = ++w->next_ref;
		mon.watcher = (int)CUR(w)->t.idx;
		mon.target = pid;
		if (pt_vec_push(&w->mons, mon) < 0)
			return -ENOMEM;
		*ret_ref = mon.ref;
	}
	if (!(n = node_new(w)))
		return -ENOMEM;
	n->sys = sys;
	n->m = *m;
	if (monitor)
		n->m.ref = mon.ref;
	n->m.from = (int)CUR(w)->t.idx;
	/* The step shows the resolved target. */
	w->ctl.steps.v[w->ctl.steps.n - 1].arg = pid;
	deliver(w, actor_of(w, pid), n);
	*ret_pid = pid;
	return 0;
}

int pt_ls_send(int pid, const struct pt_ls_msg *m)
{
	return pt__ls_send_sys(pid, PT_LS_SYS_USER, m);
}

int pt__ls_recv_sys(bool (*match)(const struct pt__ls_node *n, void *ctx),
		    void *ctx, int64_t timeout_ms, int *ret_sys,
		    struct pt_ls_msg *ret)
{
	struct pt__ls_world *w = enter(PT_LS_OP_RECV, 0);
	struct ls_actor *a;
	struct pt__ls_node **pp, *n;
	bool armed = false;

	if (!w)
		return PT_ESTATE;
	a = CUR(w);
	a->timed_out = false;
	for (;;) {
		for (pp = &a->mb_head; (n = *pp); pp = &n->next) {
			if (match && !match(n, ctx))
				continue;
			*pp = n->next;
			if (a->mb_tail == &n->next)
				a->mb_tail = pp;
			if (a->timer) {
				del_timer_ref(w, a->timer);
				a->timer = 0;
			}
			if (ret_sys)
				*ret_sys = n->sys;
			if (ret)
				*ret = n->m;
			node_put(w, n);
			return 0;
		}
		if (timeout_ms == 0 || a->timed_out) {
			a->timed_out = false;
			return -ETIMEDOUT;
		}
		if (timeout_ms > 0 && !armed) {
			if (add_timer(w, TM_WAKE, (int)a->t.idx, timeout_ms,
				      NULL, &a->timer) < 0)
				return -ENOMEM;
			armed = true;
		}
		a->match = match;
		a->match_ctx = ctx;
		block(w, WAIT_RECV);
		a->match = NULL;
	}
}

struct user_pred {
	bool (*pred)(const struct pt_ls_msg *m, void *ctx);
	void *ctx;
};

static bool user_match(const struct pt__ls_node *n, void *ctx)
{
	const struct user_pred *p = ctx;

	return p->pred(&n->m, p->ctx);
}

int pt_ls_recv_match(bool (*pred)(const struct pt_ls_msg *m, void *ctx),
		     void *ctx, int64_t timeout_ms, struct pt_ls_msg *ret)
{
	struct user_pred p = { pred, ctx };

	return pt__ls_recv_sys(pred ? user_match : NULL, &p, timeout_ms, NULL,
			       ret);
}

int pt_ls_recv(struct pt_ls_msg *ret)
{
	return pt__ls_recv_sys(NULL, NULL, -1, NULL, ret);
}

int pt_ls_recv_timeout(int64_t timeout_ms, struct pt_ls_msg *ret)
{
	return pt__ls_recv_sys(NULL, NULL, timeout_ms, NULL, ret);
}

/* ---- time -----------------------------------------------------------------
 */

int pt_ls_yield(void)
{
	return enter(PT_LS_OP_YIELD, 0) ? 0 : PT_ESTATE;
}

int pt_ls_sleep(int64_t ms)
{
	struct pt__ls_world *w =
		enter(PT_LS_OP_SLEEP, (int32_t)PT_MIN(ms, INT32_MAX));
	int r;

	if (!w)
		return PT_ESTATE;
	if (ms <= 0)
		return 0;
	r = add_timer(w, TM_WAKE, (int)CUR(w)->t.idx, ms, NULL, &CUR(w)->timer);
	if (r < 0)
		return r;
	block(w, WAIT_SLEEP);
	return 0;
}

int64_t pt_ls_now(void)
{
	return cur_world ? cur_world->now : PT_ESTATE;
}

int pt_ls_send_after(int pid, const struct pt_ls_msg *m, int64_t ms,
		     uint64_t *ret_ref)
{
	struct pt__ls_world *w;
	struct pt__ls_node *n;
	uint64_t ref;
	int r;

	if (!m)
		return -EINVAL;
	if (!(w = enter_msg(PT_LS_OP_SEND_AFTER, pid, m)))
		return PT_ESTATE;
	if (!(n = node_new(w)))
		return -ENOMEM;
	n->sys = PT_LS_SYS_USER;
	n->m = *m;
	n->m.from = (int)CUR(w)->t.idx;
	if ((r = add_timer(w, TM_SEND, pid, ms, n, &ref)) < 0) {
		node_put(w, n);
		return r;
	}
	if (ret_ref)
		*ret_ref = ref;
	return 0;
}

int64_t pt_ls_cancel_timer(uint64_t ref)
{
	struct pt__ls_world *w = enter(PT_LS_OP_CANCEL_TIMER, 0);

	if (!w)
		return PT_ESTATE;
	pt_vec_foreach(&w->timers, i) {
		struct ls_timer *t = &w->timers.v[i];

		if (t->ref == ref && t->kind == TM_SEND) {
			int64_t left = t->when - w->now;
			del_timer_at(w, i);
			return left;
		}
	}
	return -ENOENT;
}

/* ---- monitors, links, exits -----------------------------------------------
 */

uint64_t pt_ls_make_ref(void)
{
	return cur_world ? ++cur_world->next_ref : 0;
}

int pt_ls_monitor(int pid, uint64_t *ret_ref)
{
	struct pt__ls_world *w = enter(PT_LS_OP_MONITOR, pid);
	struct ls_mon m;

	if (!w)
		return PT_ESTATE;
	m.ref = ++w->next_ref;
	m.watcher = (int)CUR(w)->t.idx;
	m.target = pid;
	if (!alive(w, pid)) {
		struct pt__ls_node *n = node_new(w);

		if (!n)
			return -ENOMEM;
		memset(n, 0, sizeof(*n));
		n->m.type = PT_LS_DOWN;
		n->m.from = pid;
		n->m.ref = m.ref;
		n->m.a = PT_LS_NOPROC;
		deliver(w, CUR(w), n);
	} else if (pt_vec_push(&w->mons, m) < 0) {
		return -ENOMEM;
	}
	if (ret_ref)
		*ret_ref = m.ref;
	return 0;
}

int pt_ls_demonitor(uint64_t ref, bool flush)
{
	struct pt__ls_world *w = enter(PT_LS_OP_DEMONITOR, 0);
	struct ls_actor *a;
	struct pt__ls_node **pp, *n;

	if (!w)
		return PT_ESTATE;
	a = CUR(w);
	pt_vec_foreach(&w->mons, i) {
		if (w->mons.v[i].ref == ref &&
		    w->mons.v[i].watcher == (int)a->t.idx) {
			memmove(&w->mons.v[i], &w->mons.v[i + 1],
				(w->mons.n - i - 1) * sizeof(w->mons.v[0]));
			w->mons.n--;
			break;
		}
	}
	if (!flush)
		return 0;
	for (pp = &a->mb_head; (n = *pp);) {
		if (n->sys == PT_LS_SYS_USER && n->m.type == PT_LS_DOWN &&
		    n->m.ref == ref) {
			*pp = n->next;
			if (a->mb_tail == &n->next)
				a->mb_tail = pp;
			node_put(w, n);
		} else {
			pp = &n->next;
		}
	}
	return 0;
}

int pt_ls_link(int pid)
{
	struct pt__ls_world *w = enter(PT_LS_OP_LINK, pid);
	int self;

	if (!w)
		return PT_ESTATE;
	self = (int)CUR(w)->t.idx;
	if (pid == self)
		return 0;
	if (!alive(w, pid)) {
		/* Erlang: linking to a dead process is a noproc exit signal. */
		exit_signal(w, CUR(w), pid, PT_LS_NOPROC);
		settle(w);
		return 0;
	}
	pt_vec_foreach(&w->links, i) {
		struct ls_link l = w->links.v[i];
		if ((l.a == self && l.b == pid) || (l.a == pid && l.b == self))
			return 0;
	}
	if (pt_vec_push(&w->links, ((struct ls_link){ self, pid })) < 0)
		return -ENOMEM;
	return 0;
}

int pt_ls_unlink(int pid)
{
	struct pt__ls_world *w = enter(PT_LS_OP_UNLINK, pid);
	int self;

	if (!w)
		return PT_ESTATE;
	self = (int)CUR(w)->t.idx;
	pt_vec_foreach(&w->links, i) {
		struct ls_link l = w->links.v[i];
		if ((l.a == self && l.b == pid) ||
		    (l.a == pid && l.b == self)) {
			w->links.v[i] = w->links.v[--w->links.n];
			break;
		}
	}
	return 0;
}

int pt_ls_trap_exit(bool on)
{
	struct pt__ls_world *w = enter(PT_LS_OP_TRAP, on);
	bool old;

	if (!w)
		return PT_ESTATE;
	old = CUR(w)->trap;
	CUR(w)->trap = on;
	return old;
}

int pt_ls_kill(int pid, int reason)
{
	struct pt__ls_world *w = enter(PT_LS_OP_KILL, pid);
	struct ls_actor *t;

	if (!w)
		return PT_ESTATE;
	t = actor_of(w, pid);
	if (!t || t->t.state == PT_LS_TASK_DONE)
		return 0;
	if (reason == PT_LS_KILLED)
		exit_actor(w, t, PT_LS_KILLED, (int)CUR(w)->t.idx);
	else if (t == CUR(w) && reason != PT_LS_NORMAL && !t->trap)
		exit_actor(w, t, reason, (int)CUR(w)->t.idx);
	else
		exit_signal(w, t, (int)CUR(w)->t.idx, reason);
	settle(w);
	return 0;
}

int pt_ls_alive(int pid)
{
	struct pt__ls_world *w = enter(PT_LS_OP_ALIVE, pid);

	if (!w)
		return PT_ESTATE;
	return alive(w, pid) ? 1 : 0;
}

void pt_ls_exit(int reason)
{
	struct pt__ls_world *w = enter(PT_LS_OP_EXIT, reason);

	if (!w)
		abort(); /* documented: only inside an iteration */
	exit_actor(w, CUR(w), reason, 0);
	pt__ls_ctl_schedule(&w->ctl);
	abort();
}

void *pt_ls_alloc(size_t size)
{
	struct pt__ls_world *w = cur_world;
	void *p;

	if (!w || !(p = pt__calloc(1, size ? size : 1)))
		return NULL;
	if (pt_vec_push(&w->allocs, p) < 0) {
		pt__free(p);
		return NULL;
	}
	return p;
}

static void fail_v(enum pt_ls_kind kind, const char *file, int line,
		   const char *fmt, va_list ap) PT_PRINTF(4, 0);
static void fail_v(enum pt_ls_kind kind, const char *file, int line,
		   const char *fmt, va_list ap)
{
	struct pt__ls_world *w = cur_world;
	char msg[400];

	if (!w || !CUR(w))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pt__ls_ctl_end(&w->ctl, kind, "%s in P%u: %s (%s:%d)",
		       kind == PT_LS_FAIL_ASSERT ? "assertion failed" : "crash",
		       CUR(w)->t.idx, msg, file ? file : "?", line);
	pt__ls_ctl_leave(&w->ctl);
}

void pt_ls_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(PT_LS_FAIL_ASSERT, file, line, fmt, ap);
	va_end(ap);
}

void pt_ls_crash(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(PT_LS_FAIL_CRASH, file, line, fmt, ap);
	va_end(ap);
}

/* ---- registry -------------------------------------------------------------
 */

struct pt_ls_registry *pt_ls_registry_new(enum pt_ls_keys kind)
{
	struct pt__ls_world *w = cur_world;
	struct pt_ls_registry *r;

	if (!w || !(r = pt__calloc(1, sizeof(*r))))
		return NULL;
	r->kind = kind;
	r->next = w->regs;
	w->regs = r;
	return r;
}

enum pt_ls_keys pt__ls_registry_kind(const struct pt_ls_registry *r)
{
	return r->kind;
}

#define KEY_MAX 255

int pt_ls_register(struct pt_ls_registry *r, const char *key, int64_t value)
{
	struct pt__ls_world *w = enter(PT_LS_OP_REGISTER, 0);
	struct ls_reg_entry e;

	if (!w)
		return PT_ESTATE;
	if (!r || !key)
		return -EINVAL;
	if (strlen(key) > KEY_MAX)
		return PT_ETOOBIG;
	pt_vec_foreach(&r->e, i) {
		if (strcmp(r->e.v[i].key, key))
			continue;
		if (r->kind == PT_LS_UNIQUE ||
		    r->e.v[i].pid == (int)CUR(w)->t.idx)
			return -EEXIST;
	}
	e.key = pt__strdup(key);
	e.pid = (int)CUR(w)->t.idx;
	e.value = value;
	if (!e.key || pt_vec_push(&r->e, e) < 0) {
		pt__free(e.key);
		return -ENOMEM;
	}
	return 0;
}

int pt_ls_unregister(struct pt_ls_registry *r, const char *key)
{
	struct pt__ls_world *w = enter(PT_LS_OP_UNREGISTER, 0);
	int n = 0;

	if (!w)
		return PT_ESTATE;
	if (!r || !key)
		return -EINVAL;
	for (size_t i = 0; i < r->e.n;) {
		if (r->e.v[i].pid == (int)CUR(w)->t.idx &&
		    !strcmp(r->e.v[i].key, key)) {
			pt__free(r->e.v[i].key);
			memmove(&r->e.v[i], &r->e.v[i + 1],
				(r->e.n - i - 1) * sizeof(r->e.v[0]));
			r->e.n--;
			n++;
		} else {
			i++;
		}
	}
	return n;
}

static int lookup(struct pt_ls_registry *r, const char *key,
		  struct pt_ls_entry *out, size_t max)
{
	int n = 0;

	pt_vec_foreach(&r->e, i) {
		if (strcmp(r->e.v[i].key, key))
			continue;
		if ((size_t)n < max && out) {
			out[n].pid = r->e.v[i].pid;
			out[n].value = r->e.v[i].value;
		}
		n++;
	}
	return n;
}

int pt_ls_lookup(struct pt_ls_registry *r, const char *key,
		 struct pt_ls_entry *out, size_t max)
{
	if (!enter(PT_LS_OP_LOOKUP, 0))
		return PT_ESTATE;
	if (!r || !key)
		return -EINVAL;
	return lookup(r, key, out, max);
}

int pt_ls_whereis(struct pt_ls_registry *r, const char *key)
{
	struct pt_ls_entry e;

	if (!enter(PT_LS_OP_LOOKUP, 0))
		return PT_ESTATE;
	if (!r || !key)
		return -EINVAL;
	return lookup(r, key, &e, 1) > 0 ? e.pid : 0;
}

int pt_ls_dispatch(struct pt_ls_registry *r, const char *key,
		   void (*fn)(const struct pt_ls_entry *e, void *ctx),
		   void *ctx)
{
	struct pt_ls_entry *v;
	int n;

	if (!enter(PT_LS_OP_DISPATCH, 0))
		return PT_ESTATE;
	if (!r || !key || !fn)
		return -EINVAL;
	/* A snapshot: fn runs without the registry changing under it. */
	n = lookup(r, key, NULL, 0);
	if (n == 0)
		return 0;
	if (!(v = pt__malloc_array((size_t)n, sizeof(*v))))
		return -ENOMEM;
	lookup(r, key, v, (size_t)n);
	for (int i = 0; i < n; i++)
		fn(&v[i], ctx);
	pt__free(v);
	return n;
}

int pt_ls_count(struct pt_ls_registry *r)
{
	if (!enter(PT_LS_OP_COUNT, 0))
		return PT_ESTATE;
	return r ? (int)r->e.n : -EINVAL;
}

int pt_ls_keys(struct pt_ls_registry *r, int pid)
{
	int n = 0;

	if (!enter(PT_LS_OP_LOOKUP, pid))
		return PT_ESTATE;
	if (!r)
		return -EINVAL;
	pt_vec_foreach(&r->e, i)
		n += r->e.v[i].pid == pid;
	return n;
}

/* ---- the world ------------------------------------------------------------
 */

int pt__ls_world_new(size_t stack_size, struct pt__ls_world **ret)
{
	struct pt__ls_world *w = pt__calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	if ((r = pt__ls_ctl_init(&w->ctl, stack_size)) < 0) {
		pt__free(w);
		return r;
	}
	w->ctl.idle = world_idle;
	w->ctl.idle_ctx = w;
	*ret = w;
	return 0;
}

/* Releases everything of the last iteration, keeping what can be reused. */
static void world_reset(struct pt__ls_world *w)
{
	struct pt__ls_node *n;
	struct pt_ls_registry *r;

	for (size_t i = 0; i < w->nlive; i++) {
		struct ls_actor *a = w->actors.v[i];

		while ((n = a->mb_head)) {
			a->mb_head = n->next;
			node_put(w, n);
		}
		a->mb_tail = &a->mb_head;
	}
	w->nlive = 0;
	pt__ls_ctl_reset(&w->ctl);
	while (w->timers.n)
		del_timer_at(w, w->timers.n - 1);
	w->mons.n = 0;
	w->links.n = 0;
	while ((r = w->regs)) {
		w->regs = r->next;
		pt_vec_foreach(&r->e, i)
			pt__free(r->e.v[i].key);
		pt_vec_release(&r->e);
		pt__free(r);
	}
	pt_vec_foreach(&w->allocs, i)
		pt__free(w->allocs.v[i]);
	w->allocs.n = 0;
	w->now = 0;
	w->next_ref = 0;
}

void pt__ls_world_free(struct pt__ls_world *w)
{
	struct pt__ls_node *n;

	if (!w)
		return;
	world_reset(w);
	pt__ls_ctl_release(&w->ctl);
	pt_vec_foreach(&w->actors, i) {
		pt__fiber_release(&w->actors.v[i]->t.fiber);
		pt__free(w->actors.v[i]);
	}
	pt_vec_release(&w->actors);
	pt_vec_release(&w->timers);
	pt_vec_release(&w->mons);
	pt_vec_release(&w->links);
	pt_vec_release(&w->allocs);
	while ((n = w->free_nodes)) {
		w->free_nodes = n->next;
		pt__free(n);
	}
	pt__free(w);
}

int pt__ls_world_run(struct pt__ls_world *w, struct pt__ls_strat *s,
		     unsigned iteration, uint64_t iter_seed, unsigned max_steps,
		     int64_t timeout_ns, void (*body)(void *), void *arg)
{
	struct ls_actor *root;
	int r;

	if (cur_world)
		return PT_ESTATE; /* no iteration inside an iteration */
	world_reset(w);
	pt__ls_strat_begin(s, iteration, iter_seed);
	pt__ls_ctl_begin(&w->ctl, s, max_steps, pt__now_ns() + timeout_ns);
	if ((r = new_actor(w, body, arg, &root)) < 0)
		return r;
	cur_world = w;
	pt__ls_ctl_run(&w->ctl);
	cur_world = NULL;
	return 0;
}

const char *pt__ls_world_name(struct pt__ls_world *w, uint32_t idx)
{
	struct ls_actor *a = actor_of(w, (int)idx);

	return a && a->name[0] ? a->name : NULL;
}

void pt__ls_world_hook_steps(struct pt__ls_world *w,
			     void (*fn)(struct pt__ls_ctl *c,
					const struct pt__ls_step *st,
					struct pt__ls_task *next))
{
	w->ctl.on_step = fn;
}

size_t pt__ls_world_nactors(const struct pt__ls_world *w)
{
	return w->ctl.tasks.n;
}

enum pt_ls_kind pt__ls_world_result(const struct pt__ls_world *w,
				    const char **ret_reason,
				    const struct pt__ls_step **ret_steps,
				    size_t *ret_nsteps)
{
	if (ret_reason)
		*ret_reason = w->ctl.reason;
	if (ret_steps)
		*ret_steps = w->ctl.steps.v;
	if (ret_nsteps)
		*ret_nsteps = w->ctl.steps.n;
	return w->ctl.kind;
}
