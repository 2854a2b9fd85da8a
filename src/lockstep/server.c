/*
 * lockstep/server.c - GenServer-shaped servers over the actor API.
 *
 * start: the starter spawns the server (optionally linked), monitors it
 * and waits (selective receive) for the ACK carrying a fresh reference;
 * the server registers its name if it has one, runs init and answers.
 * call: monitor + send CALL{ref} + selective receive of REPLY{ref} or
 * DOWN{ref}, then demonitor with flush: other messages stay queued, and a
 * server that dies (or never lived) gives PT_EWORKER instead of a hang.
 */
#include "base/common.h"

#include "lockstep/internal.h"

struct start_info {
	const struct pt_ls_server_ops *ops;
	void *arg;
	int parent;
	uint64_t ref;
	struct pt_ls_registry *reg;
	const char *key;
};

struct ref_match {
	uint64_t ref; /* of the awaited (sys) message */
	int sys;
	uint64_t down_ref; /* of the monitor whose DOWN also ends the wait */
};

/* The message (sys, ref) or the DOWN of the monitor down_ref. */
static bool match_ref(const struct pt__ls_node *n, void *ctx)
{
	const struct ref_match *m = ctx;

	if (n->sys == PT_LS_SYS_USER && n->m.type == PT_LS_DOWN)
		return n->m.ref == m->down_ref;
	return n->sys == m->sys && n->m.ref == m->ref;
}

static void server_loop(const struct pt_ls_server_ops *ops, void *state)
{
	struct pt_ls_msg m, reply;
	int sys, r;

	for (;;) {
		if (pt__ls_recv_sys(NULL, NULL, -1, &sys, &m) < 0)
			pt_ls_exit(PT_LS_SHUTDOWN);
		switch (sys) {
		case PT_LS_SYS_CALL: {
			struct pt_ls_from from = { m.from, m.ref };

			memset(&reply, 0, sizeof(reply));
			r = ops->handle_call
				    ? ops->handle_call(state, &m, from, &reply)
				    : PT_LS_REPLY;
			if (r == PT_LS_REPLY || r == PT_LS_STOP)
				pt_ls_reply(from, &reply);
			if (r == PT_LS_STOP)
				return;
			break;
		}
		case PT_LS_SYS_CAST:
			if (ops->handle_cast &&
			    ops->handle_cast(state, &m) == PT_LS_STOP)
				return;
			break;
		case PT_LS_SYS_STOP: {
			struct pt_ls_from from = { m.from, m.ref };

			memset(&reply, 0, sizeof(reply));
			pt_ls_reply(from, &reply);
			pt_ls_exit((int)m.a);
		}
		default:
			if (ops->handle_info &&
			    ops->handle_info(state, &m) == PT_LS_STOP)
				return;
			break;
		}
	}
}

static void server_main(void *p)
{
	struct start_info *si = p;
	const struct pt_ls_server_ops *ops = si->ops;
	struct pt_ls_msg ack = { .ref = si->ref };
	void *state = NULL;
	int r;

	if (si->reg) {
		r = pt_ls_register(si->reg, si->key, 0);
		if (r < 0) {
			ack.a = r;
			ack.b = r == -EEXIST ? pt_ls_whereis(si->reg, si->key)
					     : 0;
			pt__ls_send_sys(si->parent, PT_LS_SYS_ACK, &ack);
			return;
		}
	}
	r = ops->init(si->arg, &state);
	ack.a = r;
	/* PT_LS_IGNORE: the server declines and ends normally. */
	pt__ls_send_sys(si->parent, PT_LS_SYS_ACK, &ack);
	if (r != 0)
		return;
	server_loop(ops, state);
}

static int start(struct pt_ls_registry *reg, const char *key, bool link,
		 const struct pt_ls_server_ops *ops, void *arg, int *ret_pid)
{
	struct start_info *si;
	struct ref_match rm;
	struct pt_ls_msg m;
	uint64_t mref;
	int pid, r, sys = 0;

	if (!ops || !ops->init || (reg && !key))
		return -EINVAL;
	if (pt_ls_self() < 0)
		return PT_ESTATE;
	if (!(si = pt_ls_alloc(sizeof(*si))))
		return -ENOMEM;
	si->ops = ops;
	si->arg = arg;
	si->parent = pt_ls_self();
	si->ref = pt_ls_make_ref();
	si->reg = reg;
	si->key = key;
	pid = pt_ls_spawn_named(ops->name ? ops->name : key, link, server_main,
				si);
	if (pid < 0)
		return pid;
	if ((r = pt_ls_monitor(pid, &mref)) < 0)
		return r;
	/* The ACK (its ref) or the server's DOWN (the monitor's ref). */
	rm.ref = si->ref;
	rm.sys = PT_LS_SYS_ACK;
	rm.down_ref = mref;
	pt__ls_wait_for(pid, PT_LS_OP_START);
	r = pt__ls_recv_sys(match_ref, &rm, -1, &sys, &m);
	pt__ls_wait_for(0, 0);
	if (r < 0)
		return r;
	if (sys == PT_LS_SYS_USER && m.type == PT_LS_DOWN)
		return PT_EWORKER; /* killed before init was over */
	pt_ls_demonitor(mref, true);
	if (m.a == -EEXIST) {
		*ret_pid = (int)m.b;
		return -EEXIST;
	}
	if (m.a == PT_LS_IGNORE)
		return PT_LS_IGNORE;
	if (m.a != 0)
		return (int)m.a;
	*ret_pid = pid;
	return 0;
}

int pt_ls_server_start(const struct pt_ls_server_ops *ops, void *arg,
		       int *ret_pid)
{
	return start(NULL, NULL, false, ops, arg, ret_pid);
}

int pt_ls_server_start_link(const struct pt_ls_server_ops *ops, void *arg,
			    int *ret_pid)
{
	return start(NULL, NULL, true, ops, arg, ret_pid);
}

int pt_ls_server_start_named(struct pt_ls_registry *reg, const char *key,
			     bool link, const struct pt_ls_server_ops *ops,
			     void *arg, int *ret_pid)
{
	if (!reg || pt__ls_registry_kind(reg) != PT_LS_UNIQUE)
		return -EINVAL;
	return start(reg, key, link, ops, arg, ret_pid);
}

/*
 * monitor + send + selective receive on the monitor's reference. With a
 * registry, the name is resolved, monitored and sent to in one sync point.
 */
static int call_sys(struct pt_ls_registry *reg, const char *key, int pid,
		    int sys, const struct pt_ls_msg *req,
		    struct pt_ls_msg *ret_reply, int *ret_pid)
{
	struct ref_match rm;
	struct pt_ls_msg m = { 0 }, got;
	uint64_t ref = 0;
	int r, gsys;

	if (req)
		m = *req;
	if (reg) {
		r = pt__ls_send_via(reg, key, sys, &m, true, &pid, &ref);
		if (r == -ENOENT)
			return PT_EWORKER; /* no such name: noproc */
		if (r < 0)
			return r;
	} else {
		if ((r = pt_ls_monitor(pid, &ref)) < 0)
			return r;
		m.ref = ref; /* the monitor's reference is the call's */
		if ((r = pt__ls_send_sys(pid, sys, &m)) < 0)
			return r;
	}
	rm.ref = ref;
	rm.sys = PT_LS_SYS_REPLY;
	rm.down_ref = ref;
	pt__ls_wait_for(pid, PT_LS_OP_CALL);
	r = pt__ls_recv_sys(match_ref, &rm, -1, &gsys, &got);
	pt__ls_wait_for(0, 0);
	if (r < 0)
		return r;
	if (gsys == PT_LS_SYS_USER && got.type == PT_LS_DOWN)
		return PT_EWORKER; /* the monitor already fired: no demonitor */
	if ((r = pt_ls_demonitor(ref, true)) < 0)
		return r;
	if (ret_reply)
		*ret_reply = got;
	if (ret_pid)
		*ret_pid = pid;
	return 0;
}

int pt_ls_call(int pid, const struct pt_ls_msg *req,
	       struct pt_ls_msg *ret_reply)
{
	return call_sys(NULL, NULL, pid, PT_LS_SYS_CALL, req, ret_reply, NULL);
}

int pt_ls_call_timeout(int pid, const struct pt_ls_msg *req, int64_t timeout_ms,
		       struct pt_ls_msg *ret_reply)
{
	(void)timeout_ms; /* calls never time out under the controller */
	return call_sys(NULL, NULL, pid, PT_LS_SYS_CALL, req, ret_reply, NULL);
}

int pt_ls_call_name(struct pt_ls_registry *reg, const char *key,
		    const struct pt_ls_msg *req, struct pt_ls_msg *ret_reply)
{
	if (!reg || !key)
		return -EINVAL;
	return call_sys(reg, key, 0, PT_LS_SYS_CALL, req, ret_reply, NULL);
}

int pt_ls_cast_name(struct pt_ls_registry *reg, const char *key,
		    const struct pt_ls_msg *msg)
{
	struct pt_ls_msg m = { 0 };
	uint64_t ref;
	int pid, r;

	if (msg)
		m = *msg;
	r = pt__ls_send_via(reg, key, PT_LS_SYS_CAST, &m, false, &pid, &ref);
	return r == -ENOENT ? 0 : r; /* a cast to nobody is dropped */
}

int pt_ls_cast(int pid, const struct pt_ls_msg *msg)
{
	struct pt_ls_msg m = { 0 };

	if (msg)
		m = *msg;
	return pt__ls_send_sys(pid, PT_LS_SYS_CAST, &m);
}

int pt_ls_reply(struct pt_ls_from from, const struct pt_ls_msg *reply)
{
	struct pt_ls_msg m = { 0 };

	if (reply)
		m = *reply;
	m.ref = from.ref;
	return pt__ls_send_sys(from.pid, PT_LS_SYS_REPLY, &m);
}

static int server_stop(struct pt_ls_registry *reg, const char *key, int pid,
		       int reason)
{
	struct pt_ls_msg m = { .a = reason }, down;
	struct ref_match rm = { 0, -1, 0 };
	int r = call_sys(reg, key, pid, PT_LS_SYS_STOP, &m, NULL, &pid);

	if (r < 0)
		return r;
	/* Synchronous: return once the server is gone (its DOWN). */
	if ((r = pt_ls_monitor(pid, &rm.down_ref)) < 0)
		return r;
	pt__ls_wait_for(pid, PT_LS_OP_CALL);
	r = pt__ls_recv_sys(match_ref, &rm, -1, NULL, &down);
	pt__ls_wait_for(0, 0);
	return r;
}

int pt_ls_server_stop(int pid, int reason)
{
	return server_stop(NULL, NULL, pid, reason);
}

int pt_ls_server_stop_name(struct pt_ls_registry *reg, const char *key,
			   int reason)
{
	if (!reg || !key)
		return -EINVAL;
	return server_stop(reg, key, 0, reason);
}
