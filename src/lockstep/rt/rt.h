/*
 * lockstep/rt/rt.h - the preloaded runtime of `proctor lockstep exec`
 * (libproctor-lockstep-rt.so), shared by its parts:
 *
 *  rt.c         the core: the option block, the fork server, one
 *               controller (ctl.h) per iteration with threads as tasks (a
 *               futex baton per thread: exactly one runs), virtual time,
 *               the outcome and schedule written to the shared memory;
 *  rt-pthread.c the interposed pthread, semaphore, sleep and time calls;
 *  rt-tsan.c    the entry points of -fsanitize=thread instrumentation.
 *
 * Outside `proctor lockstep exec` (no option block) the runtime is inert:
 * every interposed call goes to the next definition (libc).
 *
 * This is the one place of proctor that runs inside a program under test
 * and replaces libc functions: like fiber.c, it talks to the OS directly
 * (futex, fork, mmap) instead of through src/os.
 */
#ifndef PT_LOCKSTEP_RT_H
#define PT_LOCKSTEP_RT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "lockstep/ctl.h"
#include "lockstep/exec.h"

#define RT_API __attribute__((visibility("default")))

enum rt_wait {
	RT_W_NONE = 0,
	RT_W_JOIN,
	RT_W_MUTEX,
	RT_W_COND,
	RT_W_RWLOCK,
	RT_W_SEM,
	RT_W_BARRIER,
	RT_W_ONCE,
	RT_W_SLEEP,
};

struct rt_task {
	struct pt__ls_task t; /* first: the controller's view */
	_Atomic uint32_t go;  /* the baton: 1 when picked */
	uint64_t th;	      /* pthread_t */
	void *(*fn)(void *);
	void *arg;
	uint8_t wait;	   /* enum rt_wait */
	bool signalled;	   /* condition: woken by signal/broadcast */
	bool timed_out;	   /* a timed wait's deadline passed */
	uint64_t wait_obj; /* what it waits on */
	uint64_t wait_seq; /* order of condition waiters */
	uint64_t wait_gen; /* barrier generation it waits to end */
	int64_t wake_at;   /* virtual ns of its timer, 0: none */
	uint32_t spurious_left;
	bool polling;	  /* in poll(), giving way while waiting for I/O */
	uint64_t pc, obj; /* call site and object of its pending op */
};

struct rt {
	bool active; /* an iteration under control runs in this process */
	struct pt__ls_ctl ctl;
	struct pt__ls_strat strat;
	struct rt_task tasks[PT_LSX_MAX_TASKS];
	struct pt__lsx_shm *shm;
	int64_t now; /* virtual time, ns since the start of the iteration */
	uint64_t wait_seq;
};

extern struct rt pt__rt;
extern _Thread_local struct rt_task *pt__rt_self;

/* Virtual clock bases (fixed, so that runs repeat exactly). */
#define RT_REALTIME_BASE (INT64_C(1700000000) * 1000000000)
#define RT_MONO_BASE	 (INT64_C(1000) * 1000000000)

/*
 * A scheduling point of the calling thread: op on obj, called from pc.
 * Returns the caller's task once picked, or NULL when the runtime does not
 * control the caller (the interposer then calls libc).
 */
struct rt_task *pt__rt_enter(uint16_t op, uint64_t obj, const void *pc);
/* Blocks the caller (wait kind w on obj, waiting for task wait_for). */
void pt__rt_block(struct rt_task *me, int w, uint64_t obj, uint32_t wait_for,
		  uint16_t wait_op);
/* Makes a blocked task ready again with op label op. */
void pt__rt_wake(struct rt_task *t, uint16_t op, int32_t arg);
/* Wakes every task blocked with wait kind w on obj. */
void pt__rt_wake_all(int w, uint64_t obj, uint16_t op);
/* Arms the caller's timer at virtual time abs_ns (0: none). */
void pt__rt_arm(struct rt_task *me, int64_t abs_ns);
/* Virtual ns of a POSIX absolute time (realtime or monotonic base). */
int64_t pt__rt_abs_ns(const struct timespec *ts);
/* Ends the iteration now (never returns unless kind is PASS). */
void pt__rt_fail(enum pt_ls_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A new task for a thread about to be created; NULL past the limit. */
struct rt_task *pt__rt_new_task(void *(*fn)(void *), void *arg);
/* The task of a pthread_t, or NULL. */
struct rt_task *pt__rt_find(uint64_t th);
/* The calling thread ends: exit step, joiners woken, next task runs. */
void pt__rt_finish(struct rt_task *me);
/* Runs the TSD destructors of the calling thread (rt-pthread.c). */
void pt__rt_tsd_run(void);

/* Chaos (rt-chaos.c) for the allocator (rt-alloc.c): set when the plan
 * of this process has a malloc rule; then true when an allocation of n
 * bytes is to fail (counted, decided, logged). */
extern bool pt__rt_chaos_malloc;
bool pt__rt_chaos_alloc(size_t n);
/* Chaos for the time calls of rt-pthread.c (outside lockstep control):
 * set when the plan of this process has a clock fault; then the time the
 * program sees for the real time ns (nanoseconds) of clock clk, and the
 * read counted (CLOCK_REALTIME for gettimeofday and time). */
extern bool pt__rt_chaos_clock;
int64_t pt__rt_chaos_time(clockid_t clk, int64_t ns);

/* The next definition of a libc function (dlsym RTLD_NEXT), cached. */
void *pt__rt_next(const char *name);
#define RT_REAL(ret, name, params)           \
 static ret(*real_##name) params;            \
 static inline ret(*get_##name(void)) params \
 {                                           \
  if (!real_##name) {                        \
   void *p_ = pt__rt_next(#name);            \
   memcpy(&real_##name, &p_, sizeof(p_));    \
  }                                          \
  return real_##name;                        \
 }

#endif
