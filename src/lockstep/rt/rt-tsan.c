/*
 * lockstep/rt/rt-tsan.c - the entry points that -fsanitize=thread
 * instrumentation calls (gcc and clang emit the same names): every load,
 * store and atomic of an instrumented program is a scheduling point, so
 * that atomicity and order violations on plain memory can interleave. The
 * runtime does not detect races itself: it makes them happen, and the
 * program's own checks (assert, a crash, a wrong exit status) report them.
 *
 * A point where no other thread is ready is skipped at once (nobody could
 * run instead; the schedule does not record it). Function entry/exit and
 * the vptr hooks do nothing. Atomics are performed with the compiler's
 * builtins after the scheduling point, with the order they ask for.
 */
#include <stdint.h>

#include "lockstep/rt/rt.h"

#define RA __builtin_return_address(0)

static inline void point(uint16_t op, const volatile void *addr, void *pc)
{
	struct rt_task *t = pt__rt_self;

	if (!pt__rt.active || !t || pt__rt.ctl.ready.n < 2)
		return;
	pt__rt_enter(op, (uint64_t)(uintptr_t)addr, pc);
}

RT_API void __tsan_init(void);
void __tsan_init(void)
{
}

RT_API void __tsan_func_entry(void *pc);
void __tsan_func_entry(void *pc)
{
	(void)pc;
}

RT_API void __tsan_func_exit(void);
void __tsan_func_exit(void)
{
}

RT_API void __tsan_vptr_update(void **p, void *v);
void __tsan_vptr_update(void **p, void *v)
{
	(void)p;
	(void)v;
}

RT_API void __tsan_vptr_read(void **p);
void __tsan_vptr_read(void **p)
{
	(void)p;
}

#define ACCESS(name, op)                      \
 RT_API void name(void *addr);                \
 void name(void *addr)                        \
 {                                            \
  point(op, addr, RA);                        \
 }                                            \
 RT_API void name##_pc(void *addr, void *pc); \
 void name##_pc(void *addr, void *pc)         \
 {                                            \
  point(op, addr, pc);                        \
 }
#define ACCESSES(n)                                \
 ACCESS(__tsan_read##n, PT_LS_OP_READ)             \
 ACCESS(__tsan_write##n, PT_LS_OP_WRITE)           \
 ACCESS(__tsan_unaligned_read##n, PT_LS_OP_READ)   \
 ACCESS(__tsan_unaligned_write##n, PT_LS_OP_WRITE) \
 ACCESS(__tsan_volatile_read##n, PT_LS_OP_READ)    \
 ACCESS(__tsan_volatile_write##n, PT_LS_OP_WRITE)
ACCESSES(1)
ACCESSES(2)
ACCESSES(4)
ACCESSES(8)
ACCESSES(16)

RT_API void __tsan_read_range(void *addr, unsigned long size);
void __tsan_read_range(void *addr, unsigned long size)
{
	(void)size;
	point(PT_LS_OP_READ, addr, RA);
}

RT_API void __tsan_write_range(void *addr, unsigned long size);
void __tsan_write_range(void *addr, unsigned long size)
{
	(void)size;
	point(PT_LS_OP_WRITE, addr, RA);
}

/*
 * One thread runs at a time and the baton is a full barrier: every atomic
 * is performed sequentially consistent (weaker orders are not explored).
 */
#define ATOMICS(n, T)                                                          \
 RT_API T __tsan_atomic##n##_load(const volatile T *a, int m);                 \
 T __tsan_atomic##n##_load(const volatile T *a, int m)                         \
 {                                                                             \
  (void)m;                                                                     \
  point(PT_LS_OP_ATOMIC, a, RA);                                               \
  return __atomic_load_n(a, __ATOMIC_SEQ_CST);                                 \
 }                                                                             \
 RT_API void __tsan_atomic##n##_store(volatile T *a, T v, int m);              \
 void __tsan_atomic##n##_store(volatile T *a, T v, int m)                      \
 {                                                                             \
  (void)m;                                                                     \
  point(PT_LS_OP_ATOMIC, a, RA);                                               \
  __atomic_store_n(a, v, __ATOMIC_SEQ_CST);                                    \
 }                                                                             \
 RT_API T __tsan_atomic##n##_exchange(volatile T *a, T v, int m);              \
 T __tsan_atomic##n##_exchange(volatile T *a, T v, int m)                      \
 {                                                                             \
  (void)m;                                                                     \
  point(PT_LS_OP_ATOMIC, a, RA);                                               \
  return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);                          \
 }                                                                             \
 RMW(n, T, fetch_add)                                                          \
 RMW(n, T, fetch_sub)                                                          \
 RMW(n, T, fetch_and)                                                          \
 RMW(n, T, fetch_or)                                                           \
 RMW(n, T, fetch_xor)                                                          \
 RMW(n, T, fetch_nand)                                                         \
 RT_API int __tsan_atomic##n##_compare_exchange_strong(volatile T *a, T *c,    \
						       T v, int m, int f);     \
 int __tsan_atomic##n##_compare_exchange_strong(volatile T *a, T *c, T v,      \
						int m, int f)                  \
 {                                                                             \
  (void)m;                                                                     \
  (void)f;                                                                     \
  point(PT_LS_OP_ATOMIC, a, RA);                                               \
  return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST,         \
				     __ATOMIC_SEQ_CST);                        \
 }                                                                             \
 RT_API int __tsan_atomic##n##_compare_exchange_weak(volatile T *a, T *c, T v, \
						     int m, int f);            \
 int __tsan_atomic##n##_compare_exchange_weak(volatile T *a, T *c, T v, int m, \
					      int f)                           \
 {                                                                             \
  return __tsan_atomic##n##_compare_exchange_strong(a, c, v, m, f);            \
 }                                                                             \
 RT_API T __tsan_atomic##n##_compare_exchange_val(volatile T *a, T c, T v,     \
						  int m, int f);               \
 T __tsan_atomic##n##_compare_exchange_val(volatile T *a, T c, T v, int m,     \
					   int f)                              \
 {                                                                             \
  (void)m;                                                                     \
  (void)f;                                                                     \
  point(PT_LS_OP_ATOMIC, a, RA);                                               \
  __atomic_compare_exchange_n(a, &c, v, false, __ATOMIC_SEQ_CST,               \
			      __ATOMIC_SEQ_CST);                               \
  return c;                                                                    \
 }

#define RMW(n, T, op)                                         \
 RT_API T __tsan_atomic##n##_##op(volatile T *a, T v, int m); \
 T __tsan_atomic##n##_##op(volatile T *a, T v, int m)         \
 {                                                            \
  (void)m;                                                    \
  point(PT_LS_OP_ATOMIC, a, RA);                              \
  return __atomic_##op(a, v, __ATOMIC_SEQ_CST);               \
 }

ATOMICS(8, uint8_t)
ATOMICS(16, uint16_t)
ATOMICS(32, uint32_t)
ATOMICS(64, uint64_t)

RT_API void __tsan_atomic_thread_fence(int m);
void __tsan_atomic_thread_fence(int m)
{
	(void)m;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

RT_API void __tsan_atomic_signal_fence(int m);
void __tsan_atomic_signal_fence(int m)
{
	(void)m;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}
