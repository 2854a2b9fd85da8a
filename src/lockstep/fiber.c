/*
 * lockstep/fiber.c - coroutines for lockstep actors (fiber.h).
 */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS, MAP_STACK */
#include "base/common.h"

#include <ucontext.h>
#include <unistd.h>

#include "lockstep/fiber.h"
#include "os/lsos.h"

#if defined(__SANITIZE_ADDRESS__)
# define PT_ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define PT_ASAN 1
# endif
#endif
#ifndef PT_ASAN
# define PT_ASAN 0
#endif
#if PT_ASAN
# include <sanitizer/asan_interface.h>
# include <sanitizer/common_interface_defs.h>
#endif

#if __has_include(<valgrind/valgrind.h>)
# include <valgrind/valgrind.h>
# define PT_VG_REGISTER(lo, hi) VALGRIND_STACK_REGISTER((lo), (hi))
# define PT_VG_DEREGISTER(id)	VALGRIND_STACK_DEREGISTER(id)
#else
# define PT_VG_REGISTER(lo, hi) 0u
# define PT_VG_DEREGISTER(id)	((void)(id))
#endif

#if defined(__x86_64__) && !defined(PT_LOCKSTEP_UCONTEXT)
# define PT_HAVE_ASM_SWITCH 1
/*
 * pt__ls_ctx_switch(void **save_sp, void *new_sp): pushes the callee-saved
 * registers and the FP control words, saves rsp, loads the other stack and
 * pops the same frame. A new fiber's frame ends with pt__ls_ctx_start,
 * which calls r12(r13).
 */
__asm__(".text\n"
	".globl pt__ls_ctx_switch\n"
	".hidden pt__ls_ctx_switch\n"
	".type pt__ls_ctx_switch,@function\n"
	"pt__ls_ctx_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size pt__ls_ctx_switch,.-pt__ls_ctx_switch\n"
	".globl pt__ls_ctx_start\n"
	".hidden pt__ls_ctx_start\n"
	".type pt__ls_ctx_start,@function\n"
	"pt__ls_ctx_start:\n"
	"	movq %r13, %rdi\n"
	"	callq *%r12\n"
	"	ud2\n"
	".size pt__ls_ctx_start,.-pt__ls_ctx_start\n");
void pt__ls_ctx_switch(void **save_sp, void *new_sp);
void pt__ls_ctx_start(void);
#else
# define PT_HAVE_ASM_SWITCH 0
#endif

static bool force_uc;

#if PT_ASAN
/* The fiber being left by the switch in progress (for ASan's bookkeeping). */
static _Thread_local struct pt__fiber *switch_from;
#endif
/* The fiber being started by makecontext (its entry takes no pointer). */
static _Thread_local struct pt__fiber *starting;

bool pt__fiber_uses_ucontext(void)
{
	return !PT_HAVE_ASM_SWITCH || force_uc;
}

void pt__fiber_force_ucontext(bool on)
{
	force_uc = on;
}

int pt__fiber_stack_alloc(size_t size, void **ret_stack, size_t *ret_size)
{
	return pt__lsos_stack_alloc(size, ret_stack, ret_size);
}

void pt__fiber_stack_free(void *stack, size_t size)
{
	if (!stack)
		return;
#if PT_ASAN
	/* A fiber abandoned mid-call leaves poisoned frames behind. */
	__asan_unpoison_memory_region(stack, size);
#endif
	pt__lsos_stack_free(stack, size);
}

int pt__fiber_main(struct pt__fiber *f)
{
	memset(f, 0, sizeof(*f));
	if (pt__fiber_uses_ucontext()) {
		f->uc = pt__calloc(1, sizeof(ucontext_t));
		if (!f->uc)
			return -ENOMEM;
	}
	return 0;
}

static void finish_switch(void *fake)
{
#if PT_ASAN
	struct pt__fiber *from = switch_from;
	const void *bottom = NULL;
	size_t size = 0;

	__sanitizer_finish_switch_fiber(fake, &bottom, &size);
	if (from && !from->stack) {
		from->asan_bottom = bottom;
		from->asan_size = size;
	}
#else
	(void)fake;
#endif
}

static void first_entry(void *p)
{
	struct pt__fiber *f = p;

	finish_switch(NULL);
	f->entry(f->arg);
	abort(); /* entry functions never return: they switch away */
}

/* getcontext returns twice: kept out of the caller's frame. */
__attribute__((noinline)) static int uc_get(ucontext_t *c)
{
	return getcontext(c);
}

static void uc_entry(void)
{
	first_entry(starting);
}

int pt__fiber_make(struct pt__fiber *f, void *stack, size_t size,
		   void (*entry)(void *), void *arg)
{
	void *uc = f->uc;

	if (f->vg_on)
		PT_VG_DEREGISTER(f->vg_id);
	memset(f, 0, sizeof(*f));
	f->uc = uc; /* kept: fibers are reused */
	f->stack = stack;
	f->size = size;
	f->entry = entry;
	f->arg = arg;
#if PT_ASAN
	__asan_unpoison_memory_region(stack, size);
#endif
	if (pt__fiber_uses_ucontext()) {
		ucontext_t *ctx = f->uc;

		if (!ctx && !(ctx = pt__calloc(1, sizeof(*ctx))))
			return -ENOMEM;
		f->uc = ctx;
		if (uc_get(ctx) < 0)
			return -errno;
		ctx->uc_stack.ss_sp = stack;
		ctx->uc_stack.ss_size = size;
		ctx->uc_link = NULL;
		makecontext(ctx, uc_entry, 0);
	} else {
#if PT_HAVE_ASM_SWITCH
		/*
		 * Frame popped by the first switch, from low to high: MXCSR
		 * + x87 CW, r15, r14, r13 (arg), r12 (entry), rbx, rbp, the
		 * return address. rsp is 16-aligned after that ret.
		 */
		uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
		uint64_t *sp = (uint64_t *)(top - 64);
		uint32_t ctl[2] = { 0x1f80, 0x037f };

		memcpy(&sp[0], ctl, sizeof(ctl));
		sp[1] = 0;
		sp[2] = 0;
		sp[3] = (uint64_t)(uintptr_t)f;
		sp[4] = (uint64_t)(uintptr_t)first_entry;
		sp[5] = 0;
		sp[6] = 0;
		sp[7] = (uint64_t)(uintptr_t)pt__ls_ctx_start;
		f->sp = sp;
#endif
	}
	f->vg_id = PT_VG_REGISTER((char *)stack, (char *)stack + size);
	f->vg_on = true;
	return 0;
}

void pt__fiber_release(struct pt__fiber *f)
{
	if (f->vg_on)
		PT_VG_DEREGISTER(f->vg_id);
	f->vg_on = false;
	pt__freep(&f->uc);
}

void pt__fiber_switch(struct pt__fiber *from, struct pt__fiber *to, bool final)
{
#if PT_ASAN
	void *fake = NULL;

	switch_from = from;
	__sanitizer_start_switch_fiber(final ? NULL : &fake,
				       to->stack ? to->stack : to->asan_bottom,
				       to->stack ? to->size : to->asan_size);
#else
	void *fake = NULL;
	(void) final;
#endif
	if (pt__fiber_uses_ucontext()) {
		starting = to;
		swapcontext(from->uc, to->uc);
	} else {
#if PT_HAVE_ASM_SWITCH
		pt__ls_ctx_switch(&from->sp, to->sp);
#endif
	}
	finish_switch(fake);
}
