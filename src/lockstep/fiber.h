/*
 * lockstep/fiber.h - coroutines: a stack per fiber and a switch between
 * them. The only code of lockstep that touches the machine: mmap'd stacks
 * with a guard page, a hand-written x86-64 switch (callee-saved registers,
 * MXCSR and the x87 control word; no syscall), and a ucontext fallback
 * (swapcontext, which also saves the signal mask with a syscall). ASan is
 * told about every switch (__sanitizer_*_switch_fiber) and valgrind about
 * every stack.
 */
#ifndef PT_LOCKSTEP_FIBER_H
#define PT_LOCKSTEP_FIBER_H

#include <stdbool.h>
#include <stddef.h>

struct pt__fiber {
	void *sp;    /* saved stack pointer (custom switch) */
	void *uc;    /* ucontext_t (fallback), heap */
	void *stack; /* usable bottom of the stack (above the guard) */
	size_t size; /* usable size */
	const void *asan_bottom; /* for the main fiber: learnt from ASan */
	size_t asan_size;
	unsigned vg_id; /* valgrind stack id */
	bool vg_on;
	void (*entry)(void *);
	void *arg;
};

/* True when fibers use ucontext (other architectures, or forced). */
bool pt__fiber_uses_ucontext(void);
/* For the benchmark: force the ucontext fallback (before any fiber). */
void pt__fiber_force_ucontext(bool on);

/* An mmap'd stack of size bytes (rounded to pages) plus a guard page. */
int pt__fiber_stack_alloc(size_t size, void **ret_stack, size_t *ret_size);
void pt__fiber_stack_free(void *stack, size_t size);

/* The fiber of the calling (original) stack; release with _release. */
int pt__fiber_main(struct pt__fiber *f);
/*
 * Prepares f to run entry(arg) on stack when first switched to. f may be
 * a fiber made before (its allocations are reused).
 */
int pt__fiber_make(struct pt__fiber *f, void *stack, size_t size,
		   void (*entry)(void *), void *arg);
/* Releases what pt__fiber_make/_main allocated (not the stack). */
void pt__fiber_release(struct pt__fiber *f);
/*
 * Saves the current context in from and resumes to. final: from will
 * never be resumed (lets ASan drop its fake stack).
 */
void pt__fiber_switch(struct pt__fiber *from, struct pt__fiber *to, bool final);

#endif
