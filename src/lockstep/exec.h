/*
 * lockstep/exec.h - what `proctor lockstep exec` (exec.c, the controller)
 * and the preloaded runtime (rt/, inside the program) share: the
 * environment variable that carries the option block, the exit code of a
 * runtime-detected failure, and the layout of the shared memory of an
 * iteration (parameters in, outcome and schedule out).
 *
 * The shared memory is a memfd made by the controller, inherited by the
 * program (its fd number is in the option block) and mapped by the
 * runtime's fork server before it forks the first iteration: each child
 * writes its schedule there step by step, so a child that crashes leaves
 * the schedule up to its last scheduling point.
 */
#ifndef PT_LOCKSTEP_EXEC_H
#define PT_LOCKSTEP_EXEC_H

#include <stdint.h>

/*
 * The option block: "mode=MODE,ctl=FD,st=FD,shm=FD". MODE is "lockstep"
 * (a later fault-injection runtime reads the same variable with its own
 * mode and keys; unknown keys are ignored).
 */
#define PT_LSX_ENV	 "PROCTOR_PRELOAD"
#define PT_LSX_MAGIC	 UINT64_C(0x70746c7378000002)
#define PT_LSX_MAX_TASKS 64 /* threads per iteration (ready sets are masks) */
#define PT_LSX_MAX_MODS	 64
#define PT_LSX_RT_EXIT	 86 /* the child ended because the runtime said so */

/* One scheduling step (32 bytes). */
struct pt__lsx_step {
	uint32_t idx;	/* task that ran */
	uint16_t op;	/* enum pt__ls_op */
	uint16_t arg;	/* e.g. who woke it */
	uint64_t ready; /* ready set before the pick: bit idx-1 */
	uint64_t pc;	/* call site of the operation in the program */
	uint64_t obj;	/* the object (mutex, address...) or 0 */
};

struct pt__lsx_mod {
	uint64_t base, end;
	char path[240];
};

struct pt__lsx_shm {
	uint64_t magic;
	uint64_t size; /* bytes of the whole mapping */
	uint32_t cap;  /* capacity of steps[] and choices[] */
	/* ---- in: the iteration (written by the controller) ---- */
	uint32_t strategy; /* enum pt_ls_strategy */
	uint32_t depth, max_steps, horizon, iteration;
	uint32_t nchoices; /* replay / DFS prefix in choices[] */
	uint32_t lenient; /* DFS: a prefix choice not ready takes the default */
	uint32_t strict_ops; /* replay: the op of each step must match ops[] */
	uint32_t spurious;   /* spurious wake-ups allowed per thread */
	uint64_t iter_seed;
	double resample;
	int64_t vtime_budget_ns;
	/* ---- out: the outcome (written by the child) ---- */
	uint32_t kind;	 /* enum pt_ls_kind; PASS until something ends it */
	uint32_t nsteps; /* steps[] written so far */
	uint32_t ntasks;
	uint32_t nmods; /* written once by the fork server */
	uint64_t start_pc[PT_LSX_MAX_TASKS]; /* start routine of each task */
	/* At the end of an iteration the runtime ended: each task's state. */
	struct pt__lsx_task {
		uint8_t state;	   /* PT_LS_TASK_* */
		uint16_t wait_op;  /* what a blocked task waits in */
		uint32_t wait_for; /* the task it waits for, or 0 */
		uint64_t obj, pc;  /* the object and the call site */
	} tasks[PT_LSX_MAX_TASKS];
	char reason[1024];
	struct pt__lsx_mod mods[PT_LSX_MAX_MODS];
	/* then: struct pt__lsx_step steps[cap]; uint32_t choices[cap];
	 * uint16_t ops[cap] */
};

static inline struct pt__lsx_step *pt__lsx_steps(struct pt__lsx_shm *h)
{
	return (struct pt__lsx_step *)(void *)(h + 1);
}

static inline uint32_t *pt__lsx_choices(struct pt__lsx_shm *h)
{
	return (uint32_t *)(void *)(pt__lsx_steps(h) + h->cap);
}

static inline uint16_t *pt__lsx_ops(struct pt__lsx_shm *h)
{
	return (uint16_t *)(void *)(pt__lsx_choices(h) + h->cap);
}

static inline uint64_t pt__lsx_size(uint32_t cap)
{
	return sizeof(struct pt__lsx_shm) +
	       (uint64_t)cap * (sizeof(struct pt__lsx_step) + 4 + 2);
}

#endif
