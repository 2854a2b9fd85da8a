/*
 * lockstep/rt/rt-pthread.c - the interposed thread, lock, condition,
 * semaphore, barrier, once, TSD, yield, sleep and time calls (rt.h).
 *
 * While an iteration is under control, the runtime owns the state of the
 * synchronisation objects: nobody else runs, so their state lives in the
 * objects' own memory (glibc's layout, fields chosen so that the static
 * initialisers mean "free") and no libc lock is ever taken. A blocked
 * thread is a blocked task; whoever makes it runnable wakes every waiter
 * of the object, and each retries when the scheduler picks it, so which
 * waiter wins is a scheduling choice.
 *
 * Outside control (inert runtime, or a thread the runtime did not start)
 * every call goes to libc.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lockstep/rt/rt.h"

#define RA     __builtin_return_address(0)
#define OBJ(p) ((uint64_t)(uintptr_t)(p))
#define IDX(x) ((int)(x)->t.idx)

RT_REAL(int, pthread_create,
	(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))
RT_REAL(int, pthread_join, (pthread_t, void **))
RT_REAL(int, pthread_detach, (pthread_t))
RT_REAL(void, pthread_exit, (void *))
RT_REAL(int, pthread_mutex_lock, (pthread_mutex_t *))
RT_REAL(int, pthread_mutex_trylock, (pthread_mutex_t *))
RT_REAL(int, pthread_mutex_timedlock,
	(pthread_mutex_t *, const struct timespec *))
RT_REAL(int, pthread_mutex_unlock, (pthread_mutex_t *))
RT_REAL(int, pthread_mutex_destroy, (pthread_mutex_t *))
RT_REAL(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *))
RT_REAL(int, pthread_cond_timedwait,
	(pthread_cond_t *, pthread_mutex_t *, const struct timespec *))
RT_REAL(int, pthread_cond_signal, (pthread_cond_t *))
RT_REAL(int, pthread_cond_broadcast, (pthread_cond_t *))
RT_REAL(int, pthread_cond_destroy, (pthread_cond_t *))
RT_REAL(int, pthread_rwlock_rdlock, (pthread_rwlock_t *))
RT_REAL(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *))
RT_REAL(int, pthread_rwlock_timedrdlock,
	(pthread_rwlock_t *, const struct timespec *))
RT_REAL(int, pthread_rwlock_wrlock, (pthread_rwlock_t *))
RT_REAL(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *))
RT_REAL(int, pthread_rwlock_timedwrlock,
	(pthread_rwlock_t *, const struct timespec *))
RT_REAL(int, pthread_rwlock_unlock, (pthread_rwlock_t *))
RT_REAL(int, pthread_barrier_init,
	(pthread_barrier_t *, const pthread_barrierattr_t *, unsigned))
RT_REAL(int, pthread_barrier_wait, (pthread_barrier_t *))
RT_REAL(int, pthread_barrier_destroy, (pthread_barrier_t *))
RT_REAL(int, pthread_once, (pthread_once_t *, void (*)(void)))
RT_REAL(int, pthread_key_create, (pthread_key_t *, void (*)(void *)))
RT_REAL(int, sem_init, (sem_t *, int, unsigned))
RT_REAL(int, sem_wait, (sem_t *))
RT_REAL(int, sem_trywait, (sem_t *))
RT_REAL(int, sem_timedwait, (sem_t *, const struct timespec *))
RT_REAL(int, sem_post, (sem_t *))
RT_REAL(int, sem_getvalue, (sem_t *, int *))
RT_REAL(int, sched_yield, (void))
RT_REAL(int, nanosleep, (const struct timespec *, struct timespec *))
RT_REAL(int, clock_nanosleep,
	(clockid_t, int, const struct timespec *, struct timespec *))
RT_REAL(int, usleep, (useconds_t))
RT_REAL(unsigned, sleep, (unsigned))
RT_REAL(int, clock_gettime, (clockid_t, struct timespec *))
RT_REAL(int, gettimeofday, (struct timeval *, void *))
RT_REAL(time_t, time, (time_t *))
RT_REAL(int, poll, (struct pollfd *, nfds_t, int))

/* ---- threads ----------------------------------------------------------------
 */

void *pt__rt_trampoline(void *p);

RT_API int pthread_create(pthread_t *th, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_T_CREATE, 0, RA), *t;
	pthread_t id;
	int r;

	if (!me)
		return get_pthread_create()(th, attr, fn, arg);
	t = pt__rt_new_task(fn, arg);
	r = get_pthread_create()(&id, attr, pt__rt_trampoline, t);
	if (r) {
		t->t.state = PT_LS_TASK_DONE;
		pt__ls_ctl_unready(&pt__rt.ctl, &t->t);
		return r;
	}
	t->th = (uint64_t)id;
	*th = id;
	return 0;
}

RT_API int pthread_join(pthread_t th, void **ret)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_T_JOIN, 0, RA), *t;

	if (!me || !(t = pt__rt_find((uint64_t)th)))
		return get_pthread_join()(th, ret);
	if (t == me)
		return EDEADLK;
	me->obj = t->t.idx;
	while (t->t.state != PT_LS_TASK_DONE)
		pt__rt_block(me, RT_W_JOIN, t->t.idx, t->t.idx,
			     PT_LS_OP_T_JOIN);
	/* The thread has left the scheduler; reap the real one. */
	return get_pthread_join()(th, ret);
}

RT_API int pthread_detach(pthread_t th)
{
	pt__rt_enter(PT_LS_OP_T_DETACH, 0, RA);
	return get_pthread_detach()(th);
}

RT_API void pthread_exit(void *ret)
{
	struct rt_task *me = pt__rt_self;

	if (pt__rt.active && me && me->t.state != PT_LS_TASK_DONE)
		pt__rt_finish(me);
	get_pthread_exit()(ret);
	__builtin_unreachable();
}

RT_API int sched_yield(void)
{
	if (pt__rt_enter(PT_LS_OP_YIELD, 0, RA))
		return 0;
	return get_sched_yield()();
}

/* ---- mutexes: __owner = holder's index, __count = recursion ---------------
 */

static int m_kind(pthread_mutex_t *m)
{
	return m->__data.__kind &
	       3; /* normal, recursive, errorcheck, adaptive */
}

static int m_acquire(struct rt_task *me, pthread_mutex_t *m, bool try,
		     const struct timespec *abs)
{
	if (abs)
		pt__rt_arm(me, pt__rt_abs_ns(abs));
	for (;;) {
		int owner = m->__data.__owner;

		if (owner == 0) {
			m->__data.__owner = IDX(me);
			m->__data.__count = 1;
			me->wake_at = 0;
			return 0;
		}
		if (owner == IDX(me)) {
			if (m_kind(m) == PTHREAD_MUTEX_RECURSIVE) {
				if (m->__data.__count == UINT32_MAX)
					return EAGAIN;
				m->__data.__count++;
				return 0;
			}
			if (m_kind(m) == PTHREAD_MUTEX_ERRORCHECK)
				return EDEADLK;
			/* normal: relocking deadlocks, as it would */
		}
		if (try)
			return EBUSY;
		if (abs && me->timed_out) {
			me->timed_out = false;
			return ETIMEDOUT;
		}
		pt__rt_block(me, RT_W_MUTEX, OBJ(m), (uint32_t)owner,
			     PT_LS_OP_MUTEX_LOCK);
	}
}

static int m_release(struct rt_task *me, pthread_mutex_t *m)
{
	if (m->__data.__owner != IDX(me))
		return EPERM;
	if (--m->__data.__count > 0)
		return 0;
	m->__data.__owner = 0;
	pt__rt_wake_all(RT_W_MUTEX, OBJ(m), PT_LS_OP_MUTEX_LOCK);
	return 0;
}

RT_API int pthread_mutex_lock(pthread_mutex_t *m)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_MUTEX_LOCK, OBJ(m), RA);

	return me ? m_acquire(me, m, false, NULL) : get_pthread_mutex_lock()(m);
}

RT_API int pthread_mutex_trylock(pthread_mutex_t *m)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_MUTEX_TRYLOCK, OBJ(m), RA);

	return me ? m_acquire(me, m, true, NULL)
		  : get_pthread_mutex_trylock()(m);
}

RT_API int pthread_mutex_timedlock(pthread_mutex_t *m,
				   const struct timespec *abs)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_MUTEX_LOCK, OBJ(m), RA);

	return me ? m_acquire(me, m, false, abs)
		  : get_pthread_mutex_timedlock()(m, abs);
}

RT_API int pthread_mutex_unlock(pthread_mutex_t *m)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_MUTEX_UNLOCK, OBJ(m), RA);

	return me ? m_release(me, m) : get_pthread_mutex_unlock()(m);
}

RT_API int pthread_mutex_destroy(pthread_mutex_t *m)
{
	if (pt__rt.active && pt__rt_self)
		return m->__data.__owner ? EBUSY : 0;
	return get_pthread_mutex_destroy()(m);
}

/* ---- condition variables: waiters are tasks with wait == RT_W_COND ------- */

static int c_wait(struct rt_task *me, pthread_cond_t *c, pthread_mutex_t *m,
		  const struct timespec *abs)
{
	unsigned count = m->__data.__count;
	bool spurious = false;
	int r;

	if (m->__data.__owner != IDX(me))
		return EPERM;
	m->__data.__count = 1;
	m_release(me, m);
	me->signalled = false;
	me->wait_seq = ++pt__rt.wait_seq;
	if (abs)
		pt__rt_arm(me, pt__rt_abs_ns(abs));
	if (me->spurious_left) {
		/*
		 * A spurious wake-up is a choice: the waiter stays ready; if
		 * the scheduler picks it before a signal, it wakes anyway.
		 */
		me->wait = RT_W_COND;
		me->wait_obj = OBJ(c);
		pt__ls_ctl_sync(&pt__rt.ctl, PT_LS_OP_SPURIOUS, 0);
		if (!me->signalled) {
			me->spurious_left--;
			spurious = true;
		}
		me->wait = RT_W_NONE;
	}
	while (!spurious && !me->signalled && !(abs && me->timed_out))
		pt__rt_block(me, RT_W_COND, OBJ(c), 0, PT_LS_OP_COND_WAIT);
	me->wake_at = 0;
	r = me->signalled || spurious ? 0 : ETIMEDOUT;
	me->timed_out = false;
	/* Reacquire (a scheduling choice among the contenders). */
	pt__ls_ctl_sync(&pt__rt.ctl, PT_LS_OP_MUTEX_LOCK, 0);
	m_acquire(me, m, false, NULL);
	m->__data.__count = count;
	return r;
}

static void c_signal(pthread_cond_t *c, bool all)
{
	struct rt_task *best = NULL;

	for (size_t i = 0; i < pt__rt.ctl.tasks.n; i++) {
		struct rt_task *t = &pt__rt.tasks[i];

		if (t->wait != RT_W_COND || t->wait_obj != OBJ(c) ||
		    t->signalled)
			continue;
		if (all) {
			t->signalled = true;
			pt__rt_wake(t, PT_LS_OP_WAKE, IDX(pt__rt_self));
		} else if (!best || t->wait_seq < best->wait_seq) {
			best = t;
		}
	}
	if (best) {
		best->signalled = true;
		pt__rt_wake(best, PT_LS_OP_WAKE, IDX(pt__rt_self));
	}
}

RT_API int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_COND_WAIT, OBJ(c), RA);

	return me ? c_wait(me, c, m, NULL) : get_pthread_cond_wait()(c, m);
}

RT_API int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				  const struct timespec *abs)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_COND_WAIT, OBJ(c), RA);

	return me ? c_wait(me, c, m, abs)
		  : get_pthread_cond_timedwait()(c, m, abs);
}

RT_API int pthread_cond_signal(pthread_cond_t *c)
{
	if (!pt__rt_enter(PT_LS_OP_COND_SIGNAL, OBJ(c), RA))
		return get_pthread_cond_signal()(c);
	c_signal(c, false);
	return 0;
}

RT_API int pthread_cond_broadcast(pthread_cond_t *c)
{
	if (!pt__rt_enter(PT_LS_OP_COND_BROADCAST, OBJ(c), RA))
		return get_pthread_cond_broadcast()(c);
	c_signal(c, true);
	return 0;
}

RT_API int pthread_cond_destroy(pthread_cond_t *c)
{
	if (!pt__rt.active || !pt__rt_self)
		return get_pthread_cond_destroy()(c);
	for (size_t i = 0; i < pt__rt.ctl.tasks.n; i++)
		if (pt__rt.tasks[i].wait == RT_W_COND &&
		    pt__rt.tasks[i].wait_obj == OBJ(c))
			return EBUSY;
	return 0;
}

/* ---- rwlocks: __readers = readers, __cur_writer = writer's index --------- */

static int rw_acquire(struct rt_task *me, pthread_rwlock_t *l, bool write,
		      bool try, const struct timespec *abs)
{
	if (abs)
		pt__rt_arm(me, pt__rt_abs_ns(abs));
	for (;;) {
		int w = l->__data.__cur_writer;

		if (w == IDX(me))
			return EDEADLK;
		if (!w && (!write || l->__data.__readers == 0)) {
			if (write)
				l->__data.__cur_writer = IDX(me);
			else
				l->__data.__readers++;
			me->wake_at = 0;
			return 0;
		}
		if (try)
			return EBUSY;
		if (abs && me->timed_out) {
			me->timed_out = false;
			return ETIMEDOUT;
		}
		pt__rt_block(me, RT_W_RWLOCK, OBJ(l), (uint32_t)w,
			     write ? PT_LS_OP_RW_WRLOCK : PT_LS_OP_RW_RDLOCK);
	}
}

#define RW(name, op, write, try)                                     \
 RT_API int name(pthread_rwlock_t *l)                                \
 {                                                                   \
  struct rt_task *me = pt__rt_enter(op, OBJ(l), RA);                 \
  return me ? rw_acquire(me, l, write, try, NULL) : get_##name()(l); \
 }
RW(pthread_rwlock_rdlock, PT_LS_OP_RW_RDLOCK, false, false)
RW(pthread_rwlock_tryrdlock, PT_LS_OP_RW_RDLOCK, false, true)
RW(pthread_rwlock_wrlock, PT_LS_OP_RW_WRLOCK, true, false)
RW(pthread_rwlock_trywrlock, PT_LS_OP_RW_WRLOCK, true, true)

RT_API int pthread_rwlock_timedrdlock(pthread_rwlock_t *l,
				      const struct timespec *abs)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_RW_RDLOCK, OBJ(l), RA);

	return me ? rw_acquire(me, l, false, false, abs)
		  : get_pthread_rwlock_timedrdlock()(l, abs);
}

RT_API int pthread_rwlock_timedwrlock(pthread_rwlock_t *l,
				      const struct timespec *abs)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_RW_WRLOCK, OBJ(l), RA);

	return me ? rw_acquire(me, l, true, false, abs)
		  : get_pthread_rwlock_timedwrlock()(l, abs);
}

RT_API int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_RW_UNLOCK, OBJ(l), RA);

	if (!me)
		return get_pthread_rwlock_unlock()(l);
	if (l->__data.__cur_writer == IDX(me))
		l->__data.__cur_writer = 0;
	else if (l->__data.__readers > 0)
		l->__data.__readers--;
	else
		return EPERM;
	pt__rt_wake_all(RT_W_RWLOCK, OBJ(l), PT_LS_OP_RW_RDLOCK);
	return 0;
}

/* ---- barriers: words 0 count, 1 arrived, 2 generation ----------------------
 */

RT_API int pthread_barrier_init(pthread_barrier_t *b,
				const pthread_barrierattr_t *a, unsigned count)
{
	unsigned *w = (unsigned *)(void *)b;

	if (!pt__rt.active || !pt__rt_self)
		return get_pthread_barrier_init()(b, a, count);
	if (count == 0)
		return EINVAL;
	w[0] = count;
	w[1] = 0;
	w[2] = 0;
	return 0;
}

RT_API int pthread_barrier_wait(pthread_barrier_t *b)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_BARRIER, OBJ(b), RA);
	unsigned *w = (unsigned *)(void *)b, gen;

	if (!me)
		return get_pthread_barrier_wait()(b);
	gen = w[2];
	if (++w[1] >= w[0]) {
		w[1] = 0;
		w[2]++;
		pt__rt_wake_all(RT_W_BARRIER, OBJ(b), PT_LS_OP_BARRIER);
		return PTHREAD_BARRIER_SERIAL_THREAD;
	}
	while (w[2] == gen)
		pt__rt_block(me, RT_W_BARRIER, OBJ(b), 0, PT_LS_OP_BARRIER);
	return 0;
}

RT_API int pthread_barrier_destroy(pthread_barrier_t *b)
{
	if (!pt__rt.active || !pt__rt_self)
		return get_pthread_barrier_destroy()(b);
	return ((unsigned *)(void *)b)[1] ? EBUSY : 0;
}

/* ---- once: 0 not run, 2 done, else 4 * runner's index + 1 -----------------
 */

RT_API int pthread_once(pthread_once_t *o, void (*fn)(void))
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_ONCE, OBJ(o), RA);

	if (!me)
		return get_pthread_once()(o, fn);
	while (*o != 0 && *o != 2)
		pt__rt_block(me, RT_W_ONCE, OBJ(o), (uint32_t)(*o >> 2),
			     PT_LS_OP_ONCE);
	if (*o == 2)
		return 0;
	*o = (IDX(me) << 2) | 1;
	fn();
	*o = 2;
	pt__rt_wake_all(RT_W_ONCE, OBJ(o), PT_LS_OP_ONCE);
	return 0;
}

/* ---- thread-specific data: destructors run under control ------------------
 */

#define RT_KEYS 1024
static void (*key_dtor[RT_KEYS])(void *);

RT_API int pthread_key_create(pthread_key_t *k, void (*dtor)(void *))
{
	int r = get_pthread_key_create()(k, dtor);

	if (r == 0 && *k < RT_KEYS)
		key_dtor[*k] = dtor;
	return r;
}

void pt__rt_tsd_run(void)
{
	for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
		bool any = false;

		for (unsigned k = 0; k < RT_KEYS; k++) {
			void *v;

			if (!key_dtor[k] || !(v = pthread_getspecific(k)))
				continue;
			pthread_setspecific(k, NULL);
			key_dtor[k](v);
			any = true;
		}
		if (!any)
			break;
	}
}

/* ---- semaphores: the first word is the value -------------------------------
 */

static int s_wait(struct rt_task *me, sem_t *s, bool try,
		  const struct timespec *abs)
{
	_Atomic unsigned *v = (_Atomic unsigned *)(void *)s;

	if (abs)
		pt__rt_arm(me, pt__rt_abs_ns(abs));
	while (*v == 0) {
		if (try || (abs && me->timed_out)) {
			me->timed_out = false;
			errno = try ? EAGAIN : ETIMEDOUT;
			return -1;
		}
		pt__rt_block(me, RT_W_SEM, OBJ(s), 0, PT_LS_OP_SEM_WAIT);
	}
	(*v)--;
	me->wake_at = 0;
	return 0;
}

RT_API int sem_init(sem_t *s, int pshared, unsigned value)
{
	if (!pt__rt.active || !pt__rt_self)
		return get_sem_init()(s, pshared, value);
	memset(s, 0, sizeof(*s));
	*(_Atomic unsigned *)(void *)s = value;
	return 0;
}

RT_API int sem_wait(sem_t *s)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_SEM_WAIT, OBJ(s), RA);

	return me ? s_wait(me, s, false, NULL) : get_sem_wait()(s);
}

RT_API int sem_trywait(sem_t *s)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_SEM_WAIT, OBJ(s), RA);

	return me ? s_wait(me, s, true, NULL) : get_sem_trywait()(s);
}

RT_API int sem_timedwait(sem_t *s, const struct timespec *abs)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_SEM_WAIT, OBJ(s), RA);

	return me ? s_wait(me, s, false, abs) : get_sem_timedwait()(s, abs);
}

RT_API int sem_post(sem_t *s)
{
	if (!pt__rt_enter(PT_LS_OP_SEM_POST, OBJ(s), RA))
		return get_sem_post()(s);
	(*(_Atomic unsigned *)(void *)s)++;
	pt__rt_wake_all(RT_W_SEM, OBJ(s), PT_LS_OP_SEM_WAIT);
	return 0;
}

RT_API int sem_getvalue(sem_t *s, int *ret)
{
	if (!pt__rt.active || !pt__rt_self)
		return get_sem_getvalue()(s, ret);
	*ret = (int)*(_Atomic unsigned *)(void *)s;
	return 0;
}

/* ---- sleep and time: virtual
 * -------------------------------------------------- */

static int v_sleep_until(struct rt_task *me, int64_t abs_ns)
{
	if (abs_ns <= pt__rt.now)
		return 0;
	pt__rt_arm(me, abs_ns);
	while (!me->timed_out)
		pt__rt_block(me, RT_W_SLEEP, 0, 0, PT_LS_OP_SLEEP);
	me->timed_out = false;
	return 0;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

RT_API int nanosleep(const struct timespec *req, struct timespec *rem)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_SLEEP, 0, RA);

	if (!me)
		return get_nanosleep()(req, rem);
	if (rem)
		memset(rem, 0, sizeof(*rem));
	return v_sleep_until(me, pt__rt.now + ts_ns(req));
}

RT_API int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
			   struct timespec *rem)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_SLEEP, 0, RA);

	if (!me)
		return get_clock_nanosleep()(clk, flags, req, rem);
	if (rem)
		memset(rem, 0, sizeof(*rem));
	return v_sleep_until(me, flags & TIMER_ABSTIME
					 ? pt__rt_abs_ns(req)
					 : pt__rt.now + ts_ns(req));
}

RT_API int usleep(useconds_t us)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_SLEEP, 0, RA);

	if (!me)
		return get_usleep()(us);
	return v_sleep_until(me, pt__rt.now + (int64_t)us * 1000);
}

RT_API unsigned sleep(unsigned s)
{
	struct rt_task *me = pt__rt_enter(PT_LS_OP_SLEEP, 0, RA);

	if (!me)
		return get_sleep()(s);
	v_sleep_until(me, pt__rt.now + (int64_t)s * 1000000000);
	return 0;
}

/* Outside lockstep control: the time of the clock, or under chaos the
 * time the program is to see (rt-chaos.c). */
static int seen_time(clockid_t clk, struct timespec *ts)
{
	int64_t ns;
	int r = get_clock_gettime()(clk, ts);

	if (__builtin_expect(!pt__rt_chaos_clock, 1) || r < 0)
		return r;
	ns = pt__rt_chaos_time(clk, ts_ns(ts));
	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = ns % 1000000000;
	if (ts->tv_nsec < 0) {
		ts->tv_nsec += 1000000000;
		ts->tv_sec--;
	}
	return 0;
}

RT_API int clock_gettime(clockid_t clk, struct timespec *ts)
{
	int64_t ns;

	if (!pt__rt.active)
		return seen_time(clk, ts);
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		ns = RT_REALTIME_BASE + pt__rt.now;
		break;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_BOOTTIME:
		ns = RT_MONO_BASE + pt__rt.now;
		break;
	default:
		return get_clock_gettime()(clk, ts);
	}
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return 0;
}

RT_API int gettimeofday(struct timeval *tv, void *tz)
{
	int64_t ns = RT_REALTIME_BASE + pt__rt.now;
	struct timespec ts;

	if (!pt__rt.active && __builtin_expect(!pt__rt_chaos_clock, 1))
		return get_gettimeofday()(tv, tz);
	if (!pt__rt.active) {
		if (tz)
			get_gettimeofday()(NULL, tz);
		seen_time(CLOCK_REALTIME, &ts);
		ns = ts_ns(&ts);
	}
	tv->tv_sec = (time_t)(ns / 1000000000);
	tv->tv_usec = (suseconds_t)((ns % 1000000000) / 1000);
	return 0;
}

RT_API time_t time(time_t *ret)
{
	time_t t;
	struct timespec ts;

	if (!pt__rt.active && __builtin_expect(!pt__rt_chaos_clock, 1))
		return get_time()(ret);
	if (!pt__rt.active) {
		seen_time(CLOCK_REALTIME_COARSE, &ts);
		t = ts.tv_sec;
	} else {
		t = (time_t)((RT_REALTIME_BASE + pt__rt.now) / 1000000000);
	}
	if (ret)
		*ret = t;
	return t;
}

/*
 * poll: I/O is not scheduled, but waiting for it is a scheduling point. A
 * poll that would block checks its fds without waiting; while another
 * thread is ready it gives way (as a yield) and checks again when picked;
 * when nobody else can run, it waits for real (the data comes from outside
 * the program, e.g. a child process).
 */
RT_API int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct rt_task *me = pt__rt_self;
	int r;

	if (!pt__rt.active || !me || timeout == 0)
		return get_poll()(fds, n, timeout);
	for (;;) {
		size_t others = 0;

		if ((r = get_poll()(fds, n, 0)) != 0)
			return r;
		/* Ready threads that are not themselves waiting for I/O. */
		for (size_t i = 0; i < pt__rt.ctl.ready.n; i++) {
			struct rt_task *t =
				&pt__rt.tasks[pt__rt.ctl.ready.v[i] - 1];

			others += t != me && !t->polling;
		}
		if (pt__rt.ctl.ready.n < 2)
			return get_poll()(fds, n, timeout);
		if (!others) {
			/* Only pollers: wait a little for real, in turn. */
			r = get_poll()(fds, n,
				       timeout < 0 || timeout > 2 ? 2
								  : timeout);
			if (r != 0)
				return r;
		}
		me->polling = true;
		if (!pt__rt_enter(PT_LS_OP_YIELD, 0, RA)) {
			me->polling = false;
			return get_poll()(fds, n, timeout);
		}
		me->polling = false;
	}
}
