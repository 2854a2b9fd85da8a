/*
 * lockstep/rt/rt.c - the core of the preloaded runtime (rt.h).
 *
 * Start: a constructor reads the option block from the environment (and
 * removes it, with LD_PRELOAD, so that programs the program starts are
 * not controlled), maps the shared memory, records the loaded modules (for
 * the controller's symbolisation) and becomes a fork server: for each
 * command from the controller it forks; the child returns from the
 * constructor into the program's main as task 1 of a fresh controller,
 * while the server reports the child's pid and then its wait status.
 *
 * Threads are real threads, so thread-local storage, errno and stacks
 * behave as usual; each has a futex word, its baton. A thread reaching a
 * scheduling point records its operation and calls the controller, which
 * picks the next task; if it is another one, the baton passes (store 1,
 * wake) and the caller waits on its own word. Exactly one thread of the
 * program runs between two scheduling points.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lockstep/rt/rt.h"

struct rt pt__rt;
_Thread_local struct rt_task *pt__rt_self;

void *pt__rt_next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		static const char msg[] = "lockstep runtime: a libc function "
					  "is missing\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	return p;
}

/* ---- the baton ------------------------------------------------------------
 */

static void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void wait_baton(struct rt_task *t)
{
	while (!atomic_exchange(&t->go, 0))
		futex_wait(&t->go, 0);
}

static void rt_switch(struct pt__ls_task *from, struct pt__ls_task *to,
		      bool from_done)
{
	struct rt_task *n = (struct rt_task *)(void *)to;

	atomic_store(&n->go, 1);
	futex_wake(&n->go);
	if (from && !from_done)
		wait_baton((struct rt_task *)(void *)from);
}

/* ---- outcome --------------------------------------------------------------
 */

static void write_tasks(void)
{
	struct pt__lsx_shm *h = pt__rt.shm;

	h->ntasks = (uint32_t)pt__rt.ctl.tasks.n;
	for (size_t i = 0; i < pt__rt.ctl.tasks.n; i++) {
		struct rt_task *t = &pt__rt.tasks[i];

		h->tasks[i].state = t->t.state;
		h->tasks[i].wait_op = t->t.wait_op;
		h->tasks[i].wait_for = t->t.wait_for;
		h->tasks[i].obj = t->wait_obj;
		h->tasks[i].pc = t->pc;
	}
}

static void rt_on_end(struct pt__ls_ctl *c)
{
	struct pt__lsx_shm *h = pt__rt.shm;

	write_tasks();
	snprintf(h->reason, sizeof(h->reason), "%s", c->reason);
	h->kind = c->kind;
	if (c->kind == PT_LS_PASS)
		return; /* the last thread ends; the process exits */
	_exit(PT_LSX_RT_EXIT);
}

void pt__rt_fail(enum pt_ls_kind kind, const char *fmt, ...)
{
	struct pt__lsx_shm *h = pt__rt.shm;
	va_list ap;

	write_tasks();
	va_start(ap, fmt);
	vsnprintf(h->reason, sizeof(h->reason), fmt, ap);
	va_end(ap);
	h->kind = kind;
	_exit(PT_LSX_RT_EXIT);
}

static void rt_on_step(struct pt__ls_ctl *c, const struct pt__ls_step *st,
		       struct pt__ls_task *next)
{
	struct pt__lsx_shm *h = pt__rt.shm;
	struct rt_task *t = (struct rt_task *)(void *)next;
	struct pt__lsx_step *s;
	uint32_t n = h->nsteps;
	uint64_t mask = 0;

	if (n >= h->cap)
		pt__rt_fail(PT_LS_FAIL_STEPS, "step budget exceeded: %u steps",
			    h->cap);
	pt_vec_foreach(&c->ready, i)
		mask |= UINT64_C(1) << (c->ready.v[i] - 1);
	s = &pt__lsx_steps(h)[n];
	s->idx = st->idx;
	s->op = st->op;
	s->arg = (uint16_t)st->arg;
	s->ready = mask;
	s->pc = t->pc;
	s->obj = t->obj;
	h->nsteps = n + 1;
	if (h->strict_ops && n < h->nchoices && pt__lsx_ops(h)[n] != st->op)
		pt__rt_fail(PT_LS_FAIL_DIVERGED,
			    "replay diverged at step %u: the trace has T%u %s, "
			    "the program has T%u %s",
			    n + 1, pt__lsx_choices(h)[n],
			    pt__lsx_ops(h)[n] < PT_LS_OP__N
				    ? pt__ls_op_names[pt__lsx_ops(h)[n]]
				    : "?",
			    st->idx,
			    st->op < PT_LS_OP__N ? pt__ls_op_names[st->op]
						 : "?");
}

/* ---- timers: fire the earliest when nobody is ready ------------------------
 */

static bool rt_idle(void *ctx)
{
	struct rt_task *best = NULL;

	(void)ctx;
	for (size_t i = 0; i < pt__rt.ctl.tasks.n; i++) {
		struct rt_task *t = &pt__rt.tasks[i];

		if (t->t.state == PT_LS_TASK_BLOCKED && t->wake_at &&
		    (!best || t->wake_at < best->wake_at))
			best = t;
	}
	if (!best)
		return false;
	if (best->wake_at > pt__rt.shm->vtime_budget_ns)
		pt__rt_fail(PT_LS_FAIL_TIMEOUT,
			    "virtual time budget exceeded: T%u sleeps until "
			    "%.3f s, the budget is %.3f s",
			    best->t.idx, (double)best->wake_at / 1e9,
			    (double)pt__rt.shm->vtime_budget_ns / 1e9);
	if (best->wake_at > pt__rt.now)
		pt__rt.now = best->wake_at;
	best->wake_at = 0;
	best->timed_out = true;
	pt__rt_wake(best, PT_LS_OP_TIMEOUT, 0);
	return true;
}

/* ---- scheduling points ------------------------------------------------------
 */

struct rt_task *pt__rt_enter(uint16_t op, uint64_t obj, const void *pc)
{
	struct rt_task *t = pt__rt_self;

	if (!pt__rt.active || !t || t->t.state == PT_LS_TASK_DONE)
		return NULL;
	t->pc = (uint64_t)(uintptr_t)pc;
	t->obj = obj;
	pt__ls_ctl_sync(&pt__rt.ctl, op, 0);
	return t;
}

void pt__rt_block(struct rt_task *me, int w, uint64_t obj, uint32_t wait_for,
		  uint16_t wait_op)
{
	me->wait = (uint8_t)w;
	me->wait_obj = obj;
	me->t.wait_for = wait_for;
	me->t.wait_op = wait_op;
	pt__ls_ctl_block(&pt__rt.ctl);
	me->wait = RT_W_NONE;
	me->t.wait_for = 0;
}

void pt__rt_wake(struct rt_task *t, uint16_t op, int32_t arg)
{
	if (t->t.state != PT_LS_TASK_BLOCKED)
		return;
	t->t.op = op;
	t->t.arg = arg;
	t->t.has_msg = false;
	if (pt__ls_ctl_ready(&pt__rt.ctl, &t->t) < 0)
		pt__rt_fail(PT_LS_FAIL_CRASH,
			    "lockstep runtime: out of memory");
}

void pt__rt_wake_all(int w, uint64_t obj, uint16_t op)
{
	int32_t by = pt__rt_self ? (int32_t)pt__rt_self->t.idx : 0;

	for (size_t i = 0; i < pt__rt.ctl.tasks.n; i++) {
		struct rt_task *t = &pt__rt.tasks[i];

		if (t->wait == w && t->wait_obj == obj)
			pt__rt_wake(t, op, by);
	}
}

void pt__rt_arm(struct rt_task *me, int64_t abs_ns)
{
	me->timed_out = false;
	me->wake_at = abs_ns > pt__rt.now ? abs_ns : pt__rt.now;
	if (!abs_ns)
		me->wake_at = 0;
}

int64_t pt__rt_abs_ns(const struct timespec *ts)
{
	int64_t ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;

	/* The two bases are far apart: a deadline tells its clock. */
	return ns >= RT_REALTIME_BASE / 2 ? ns - RT_REALTIME_BASE
					  : ns - RT_MONO_BASE;
}

struct rt_task *pt__rt_new_task(void *(*fn)(void *), void *arg)
{
	struct rt_task *t;
	size_t n = pt__rt.ctl.tasks.n;

	if (n >= PT_LSX_MAX_TASKS)
		pt__rt_fail(PT_LS_FAIL_CRASH,
			    "more than %d threads in one iteration (the limit "
			    "of lockstep exec)",
			    PT_LSX_MAX_TASKS);
	t = &pt__rt.tasks[n];
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
	t->spurious_left = pt__rt.shm->spurious;
	if (pt__ls_ctl_add(&pt__rt.ctl, &t->t, NULL, NULL) < 0)
		pt__rt_fail(PT_LS_FAIL_CRASH,
			    "lockstep runtime: out of memory");
	pt__rt.shm->start_pc[n] = (uint64_t)(uintptr_t)fn;
	pt__rt.shm->ntasks = (uint32_t)(n + 1);
	return t;
}

struct rt_task *pt__rt_find(uint64_t th)
{
	for (size_t i = 0; i < pt__rt.ctl.tasks.n; i++)
		if (pt__rt.tasks[i].th == th)
			return &pt__rt.tasks[i];
	return NULL;
}

void pt__rt_finish(struct rt_task *me)
{
	pt__rt_enter(PT_LS_OP_T_EXIT, 0, NULL);
	pt__rt_tsd_run();
	me->t.state = PT_LS_TASK_DONE;
	pt__ls_ctl_unready(&pt__rt.ctl, &me->t);
	pt__rt_wake_all(RT_W_JOIN, me->t.idx, PT_LS_OP_T_JOIN);
	pt__ls_ctl_schedule(&pt__rt.ctl); /* returns at once: we are done */
}

/* The start of a controlled thread: wait to be picked, run, finish. */
void *pt__rt_trampoline(void *p);
void *pt__rt_trampoline(void *p)
{
	struct rt_task *t = p;
	void *ret;

	pt__rt_self = t;
	wait_baton(t);
	ret = t->fn(t->arg);
	pt__rt_finish(t);
	return ret;
}

/* ---- start: option block, fork server, activation ---------------------------
 */

static int opt_fd(const char *env, const char *key)
{
	const char *p = strstr(env, key);
	long v;

	if (!p)
		return -1;
	v = strtol(p + strlen(key), NULL, 10);
	return v >= 0 && v < 65536 ? (int)v : -1;
}

static int add_mod(struct dl_phdr_info *info, size_t size, void *ctx)
{
	struct pt__lsx_shm *h = ctx;
	uint64_t lo = UINT64_MAX, hi = 0;

	(void)size;
	if (h->nmods >= PT_LSX_MAX_MODS)
		return 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (hi <= lo)
		return 0;
	h->mods[h->nmods].base = info->dlpi_addr;
	h->mods[h->nmods].end = hi;
	if (info->dlpi_name && info->dlpi_name[0])
		snprintf(h->mods[h->nmods].path, sizeof(h->mods[0].path), "%s",
			 info->dlpi_name);
	else if (readlink("/proc/self/exe", h->mods[h->nmods].path,
			  sizeof(h->mods[0].path) - 1) < 0)
		h->mods[h->nmods].path[0] = '\0';
	h->mods[h->nmods].path[sizeof(h->mods[0].path) - 1] = '\0';
	if (h->mods[h->nmods].base == 0 && hi > lo) /* non-PIE executable */
		h->mods[h->nmods].base = 0;
	h->nmods++;
	(void)lo;
	return 0;
}

/* A fork of the program: its child runs uncontrolled (libc calls). */
static void after_fork_child(void)
{
	pt__rt.active = false;
}

/* The child of the fork server: becomes task 1 of a fresh controller. */
static void activate(void)
{
	struct pt__lsx_shm *h = pt__rt.shm;
	struct pt_ls_opts o = { 0 };
	struct rt_task *t;

	o.strategy = (enum pt_ls_strategy)h->strategy;
	o.depth = h->depth;
	o.max_steps = h->max_steps;
	o.resample_prob = h->resample;
	o.resample_set = true;
	pt__ls_strat_init(&pt__rt.strat, &o);
	pt__rt.strat.kind = (enum pt_ls_strategy)h->strategy;
	pt__rt.strat.horizon = h->horizon;
	pt__rt.strat.choices = pt__lsx_choices(h);
	pt__rt.strat.nchoices = h->nchoices;
	pt__rt.strat.lenient = h->lenient != 0;
	if (pt__ls_ctl_init(&pt__rt.ctl, 0) < 0)
		pt__rt_fail(PT_LS_FAIL_CRASH,
			    "lockstep runtime: out of memory");
	pt__rt.ctl.switch_to = rt_switch;
	pt__rt.ctl.on_end = rt_on_end;
	pt__rt.ctl.on_step = rt_on_step;
	pt__rt.ctl.idle = rt_idle;
	pt__rt.ctl.pass_when_all_done = true;
	pt__rt.ctl.prefix = 'T';
	pt__rt.ctl.noun = "thread";
	pt__ls_ctl_begin(&pt__rt.ctl, &pt__rt.strat, h->max_steps, INT64_MAX);
	pt__ls_strat_begin(&pt__rt.strat, h->iteration, h->iter_seed);
	h->kind = PT_LS_PASS;
	h->nsteps = 0;
	h->reason[0] = '\0';
	t = pt__rt_new_task(NULL, NULL);
	t->th = (uint64_t)pthread_self();
	pt__rt_self = t;
	pthread_atfork(NULL, NULL, after_fork_child);
	pt__rt.active = true;
	pt__ls_ctl_run(&pt__rt.ctl); /* picks task 1: the baton is ours */
	wait_baton(t);
}

static void serve(int ctl, int st)
{
	for (;;) {
		uint32_t cmd;
		int32_t msg[2];
		int status = 0;
		pid_t pid;

		if (read(ctl, &cmd, sizeof(cmd)) != (ssize_t)sizeof(cmd))
			_exit(0);
		pid = fork();
		if (pid == 0) {
			/* Never outlive the server (a killed controller). */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(ctl);
			close(st);
			activate();
			return;
		}
		msg[0] = pid < 0 ? -errno : pid;
		msg[1] = 0;
		if (write(st, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
			_exit(0);
		if (pid < 0)
			continue;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		msg[0] = 1;
		msg[1] = status;
		if (write(st, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
			_exit(0);
	}
}

__attribute__((constructor(101))) static void rt_start(void)
{
	const char *env = getenv(PT_LSX_ENV);
	struct pt__lsx_shm *h;
	struct stat sb;
	int ctl, st, shm;
	char copy[256];

	if (!env || strncmp(env, "mode=lockstep,", 14) != 0)
		return; /* inert: not under proctor lockstep exec */
	snprintf(copy, sizeof(copy), "%s", env);
	unsetenv(PT_LSX_ENV);
	unsetenv("LD_PRELOAD");
	ctl = opt_fd(copy, "ctl=");
	st = opt_fd(copy, "st=");
	shm = opt_fd(copy, "shm=");
	if (ctl < 0 || st < 0 || shm < 0 || fstat(shm, &sb) < 0 ||
	    (size_t)sb.st_size < sizeof(*h)) {
		static const char msg[] =
			"lockstep runtime: bad option block\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	h = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 shm, 0);
	close(shm);
	if (h == MAP_FAILED || h->magic != PT_LSX_MAGIC ||
	    h->size != (uint64_t)sb.st_size) {
		static const char msg[] =
			"lockstep runtime: bad shared memory\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	pt__rt.shm = h;
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the controller */
	h->nmods = 0;
	dl_iterate_phdr(add_mod, h);
	serve(ctl, st);
}
