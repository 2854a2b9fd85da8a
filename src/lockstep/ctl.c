/*
 * lockstep/ctl.c - the controller (ctl.h).
 *
 * A task reaching a sync point records the operation it is about to
 * perform, stays ready and calls schedule(). The strategy picks a ready
 * task; the step (index, op, arg) is appended to the schedule; the picked
 * task is resumed (a direct fiber switch, or nothing at all when it is the
 * caller) and performs its operation. When no task is ready: the iteration
 * passes if the body (task 1) is done, else the idle hook may fire a timer,
 * else it is a deadlock. Any end switches to the main fiber, where
 * pt__ls_ctl_run waits; tasks still alive are abandoned.
 */
#include "base/common.h"

#include "lockstep/ctl.h"
#include "os/clock.h"

int pt__ls_ctl_init(struct pt__ls_ctl *c, size_t stack_size)
{
	memset(c, 0, sizeof(*c));
	c->stack_size = stack_size ? stack_size : 256 * 1024;
	return pt__fiber_main(&c->main);
}

void pt__ls_ctl_reset(struct pt__ls_ctl *c)
{
	pt_vec_foreach(&c->tasks, i) {
		struct pt__ls_task *t = c->tasks.v[i];

		if (t->stack && pt_vec_push(&c->stacks, t->stack) < 0)
			pt__fiber_stack_free(t->stack, c->stack_size);
		t->stack = NULL;
	}
	c->tasks.n = 0;
	c->ready.n = 0;
	c->steps.n = 0;
	c->cur = NULL;
	c->over = false;
	c->kind = PT_LS_PASS;
	c->reason[0] = '\0';
}

void pt__ls_ctl_release(struct pt__ls_ctl *c)
{
	pt__ls_ctl_reset(c);
	pt_vec_foreach(&c->stacks, i)
		pt__fiber_stack_free(c->stacks.v[i], c->stack_size);
	pt_vec_release(&c->stacks);
	pt_vec_release(&c->tasks);
	pt_vec_release(&c->ready);
	pt_vec_release(&c->steps);
	pt__fiber_release(&c->main);
}

void pt__ls_ctl_begin(struct pt__ls_ctl *c, struct pt__ls_strat *s,
		      unsigned max_steps, int64_t deadline_ns)
{
	c->strat = s;
	c->max_steps = max_steps;
	c->deadline_ns = deadline_ns;
}

struct pt__ls_task *pt__ls_ctl_task(struct pt__ls_ctl *c, int idx)
{
	if (idx <= 0 || (size_t)idx > c->tasks.n)
		return NULL;
	return c->tasks.v[idx - 1];
}

int pt__ls_ctl_ready(struct pt__ls_ctl *c, struct pt__ls_task *t)
{
	size_t i;

	t->state = PT_LS_TASK_READY;
	if (t->ready)
		return 0;
	if (pt_vec_reserve(&c->ready, c->ready.n + 1) < 0)
		return -ENOMEM;
	i = c->ready.n;
	while (i > 0 && c->ready.v[i - 1] > t->idx) {
		c->ready.v[i] = c->ready.v[i - 1];
		i--;
	}
	c->ready.v[i] = t->idx;
	c->ready.n++;
	t->ready = true;
	return 0;
}

void pt__ls_ctl_unready(struct pt__ls_ctl *c, struct pt__ls_task *t)
{
	size_t i;

	if (!t->ready)
		return;
	for (i = 0; i < c->ready.n && c->ready.v[i] != t->idx; i++)
		;
	if (i < c->ready.n) {
		memmove(&c->ready.v[i], &c->ready.v[i + 1],
			(c->ready.n - i - 1) * sizeof(c->ready.v[0]));
		c->ready.n--;
	}
	t->ready = false;
}

int pt__ls_ctl_add(struct pt__ls_ctl *c, struct pt__ls_task *t,
		   void (*entry)(void *), void *arg)
{
	void *stack;
	size_t size;
	int r;

	if (c->tasks.n >= INT32_MAX - 1 ||
	    pt_vec_reserve(&c->tasks, c->tasks.n + 1) < 0)
		return -ENOMEM;
	if (!entry) {
		stack = NULL;
	} else if (c->stacks.n) {
		stack = c->stacks.v[--c->stacks.n];
		size = c->stack_size;
	} else if ((r = pt__fiber_stack_alloc(c->stack_size, &stack, &size)) <
		   0) {
		return r;
	}
	if (entry &&
	    (r = pt__fiber_make(&t->fiber, stack, size, entry, arg)) < 0) {
		pt__fiber_stack_free(stack, size);
		return r;
	}
	t->stack = stack;
	t->idx = (uint32_t)(c->tasks.n + 1);
	t->ready = false;
	t->op = PT_LS_OP_START;
	t->arg = 0;
	t->has_msg = false;
	t->wait_for = 0;
	t->wait_op = 0;
	c->tasks.v[c->tasks.n++] = t;
	if ((r = pt__ls_strat_add(c->strat, t->idx)) < 0 ||
	    (r = pt__ls_ctl_ready(c, t)) < 0) {
		t->state = PT_LS_TASK_DONE;
		return r;
	}
	return 0;
}

void pt__ls_ctl_end(struct pt__ls_ctl *c, enum pt_ls_kind kind, const char *fmt,
		    ...)
{
	va_list ap;

	if (c->over)
		return;
	c->over = true;
	c->kind = kind;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

void pt__ls_ctl_leave(struct pt__ls_ctl *c)
{
	struct pt__ls_task *self = c->cur;

	c->cur = NULL;
	if (c->on_end) {
		c->on_end(c);
		return;
	}
	if (self)
		pt__fiber_switch(&self->fiber, &c->main, true);
}

int pt__ls_ctl_task_label(struct pt__ls_ctl *c, uint32_t idx, char *buf,
			  size_t len)
{
	struct pt__ls_task *t = pt__ls_ctl_task(c, (int)idx);
	char p = c->prefix ? c->prefix : 'P';

	if (t && t->name && t->name[0])
		return snprintf(buf, len, "%c%u (%s)", p, idx, t->name);
	return snprintf(buf, len, "%c%u", p, idx);
}

/* True when every task is done. */
static bool all_done(const struct pt__ls_ctl *c)
{
	pt_vec_foreach(&c->tasks, i)
		if (c->tasks.v[i]->state != PT_LS_TASK_DONE)
			return false;
	return true;
}

/*
 * The wait-for cycle through blocked tasks, if there is one: follows
 * wait_for edges from every blocked task (at most tasks.n hops each).
 */
static void add_cycle(struct pt__ls_ctl *c, char *p, size_t left)
{
	size_t n = c->tasks.n;

	pt_vec_foreach(&c->tasks, i) {
		struct pt__ls_task *start = c->tasks.v[i], *t = start;
		size_t hops = 0;
		int k;

		if (start->state != PT_LS_TASK_BLOCKED || !start->wait_for)
			continue;
		/* Walk n hops: then we are inside a cycle, if any. */
		while (t && t->state == PT_LS_TASK_BLOCKED && t->wait_for &&
		       hops < n) {
			t = pt__ls_ctl_task(c, (int)t->wait_for);
			hops++;
		}
		if (hops < n || !t)
			continue;
		start = t;
		k = snprintf(p, left, "; wait-for cycle:");
		do {
			char a[64], b[64];

			if (k < 0 || (size_t)k >= left)
				return;
			p += k;
			left -= (size_t)k;
			pt__ls_ctl_task_label(c, t->idx, a, sizeof(a));
			pt__ls_ctl_task_label(c, t->wait_for, b, sizeof(b));
			k = snprintf(p, left, " %s waits in %s for %s%s", a,
				     t->wait_op < PT_LS_OP__N
					     ? pt__ls_op_names[t->wait_op]
					     : "?",
				     b,
				     pt__ls_ctl_task(c, (int)t->wait_for) ==
						     start
					     ? ""
					     : ",");
			t = pt__ls_ctl_task(c, (int)t->wait_for);
		} while (t && t != start);
		return;
	}
}

/* Nobody is ready: pass, fire a timer (true), or deadlock. */
static bool idle(struct pt__ls_ctl *c)
{
	char *p = c->reason;
	size_t left = sizeof(c->reason);
	int k;

	if (c->pass_when_all_done
		    ? all_done(c)
		    : c->tasks.n && c->tasks.v[0]->state == PT_LS_TASK_DONE) {
		pt__ls_ctl_end(c, PT_LS_PASS, "passed");
		return false;
	}
	if (c->idle && c->idle(c->idle_ctx))
		return true;
	if (c->over) /* the hook may end the run */
		return false;
	c->over = true;
	c->kind = PT_LS_FAIL_DEADLOCK;
	k = snprintf(p, left,
		     "no %s ready; blocked:", c->noun ? c->noun : "actor");
	pt_vec_foreach(&c->tasks, i) {
		struct pt__ls_task *t = c->tasks.v[i];
		char a[64];

		if (t->state != PT_LS_TASK_BLOCKED || k < 0 ||
		    (size_t)k >= left)
			continue;
		p += k;
		left -= (size_t)k;
		pt__ls_ctl_task_label(c, t->idx, a, sizeof(a));
		k = snprintf(p, left, " %s (%s)", a,
			     t->op < PT_LS_OP__N ? pt__ls_op_names[t->op]
						 : "?");
	}
	if (k >= 0 && (size_t)k < left)
		add_cycle(c, p + k, left - (size_t)k);
	return false;
}

void pt__ls_ctl_schedule(struct pt__ls_ctl *c)
{
	struct pt__ls_task *self = c->cur, *next;
	struct pt__ls_step st;
	uint32_t idx;

	for (;;) {
		if (c->over)
			break;
		if (c->ready.n == 0) {
			if (!idle(c))
				break;
			continue;
		}
		if (c->steps.n >= c->max_steps) {
			pt__ls_ctl_end(c, PT_LS_FAIL_STEPS,
				       "step budget exceeded: max_steps %u",
				       c->max_steps);
			break;
		}
		if ((c->steps.n & 255) == 255 &&
		    pt__now_ns() > c->deadline_ns) {
			pt__ls_ctl_end(
				c, PT_LS_FAIL_TIMEOUT,
				"iteration exceeded its wall-time budget");
			break;
		}
		if (pt__ls_strat_pick(c->strat, c->ready.v, c->ready.n,
				      c->steps.n + 1, &idx) < 0) {
			pt__ls_ctl_end(c, PT_LS_FAIL_DIVERGED,
				       "replay diverged at step %zu: %s%s%s",
				       c->steps.n + 1,
				       c->steps.n + 1 > c->strat->nchoices
					       ? "the trace ran out"
					       : "the recorded ",
				       c->steps.n + 1 > c->strat->nchoices
					       ? ""
					       : (c->noun ? c->noun : "actor"),
				       c->steps.n + 1 > c->strat->nchoices
					       ? ""
					       : " is not ready");
			break;
		}
		next = c->tasks.v[idx - 1];
		st.idx = idx;
		st.op = next->op;
		st.arg = next->arg;
		st.has_msg = next->has_msg;
		st.mtype = next->mtype;
		st.ma = next->ma;
		st.mb = next->mb;
		if (pt_vec_push(&c->steps, st) < 0) {
			pt__ls_ctl_end(c, PT_LS_FAIL_CRASH, "out of memory");
			break;
		}
		if (c->on_step)
			c->on_step(c, &st, next);
		c->cur = next;
		if (next == self)
			return;
		if (c->switch_to)
			c->switch_to(self, next,
				     self && self->state == PT_LS_TASK_DONE);
		else
			pt__fiber_switch(
				self ? &self->fiber : &c->main, &next->fiber,
				self && self->state == PT_LS_TASK_DONE);
		return;
	}
	pt__ls_ctl_leave(c);
}

void pt__ls_ctl_sync(struct pt__ls_ctl *c, uint16_t op, int32_t arg)
{
	if (op == PT_LS_OP_YIELD)
		pt__ls_strat_yield(c->strat, c->cur->idx);
	c->cur->op = op;
	c->cur->arg = arg;
	c->cur->has_msg = false;
	pt__ls_ctl_schedule(c);
}

void pt__ls_ctl_sync_msg(struct pt__ls_ctl *c, uint16_t op, int32_t arg,
			 int32_t mtype, int64_t ma, int64_t mb)
{
	c->cur->op = op;
	c->cur->arg = arg;
	c->cur->has_msg = true;
	c->cur->mtype = mtype;
	c->cur->ma = ma;
	c->cur->mb = mb;
	pt__ls_ctl_schedule(c);
}

void pt__ls_ctl_block(struct pt__ls_ctl *c)
{
	struct pt__ls_task *t = c->cur;

	t->state = PT_LS_TASK_BLOCKED;
	pt__ls_ctl_unready(c, t);
	pt__ls_ctl_schedule(c);
}

void pt__ls_ctl_run(struct pt__ls_ctl *c)
{
	c->cur = NULL;
	pt__ls_ctl_schedule(c);
}
