/*
 * lockstep/ctl.h - the controller: tasks, the ready set, the schedule.
 *
 * It knows a task only by its registration index, its state, the label of
 * the operation it waits to perform and the fiber it runs on; it knows
 * nothing of messages, timers or servers. The actor API (world.c) is one
 * client; threads, mutexes and condition variables can be another
 * (docs/lockstep.md, "The seam").
 *
 * Protocol for a client operation:
 *	pt__ls_ctl_sync(c, OP, arg);   a sync point: returns once picked
 *	...perform the effect atomically...
 *	pt__ls_ctl_block(c);           if it must wait: returns once woken
 * and whoever makes a blocked task runnable sets its op label and calls
 * pt__ls_ctl_ready().
 */
#ifndef PT_LOCKSTEP_CTL_H
#define PT_LOCKSTEP_CTL_H

#include "base/vec.h"
#include "lockstep/internal.h"

enum { PT_LS_TASK_READY = 0, PT_LS_TASK_BLOCKED, PT_LS_TASK_DONE };

struct pt__ls_task {
	uint32_t idx;  /* registration index, 1-based; 1 is the test body */
	uint8_t state; /* PT_LS_TASK_* */
	bool ready;    /* in the ready set */
	uint16_t op;   /* what it will do when picked (enum pt__ls_op) */
	bool has_msg;  /* the op carries a message: mtype, ma, mb below */
	int32_t arg;
	int32_t mtype;
	int64_t ma, mb;
	/*
	 * While blocked: the task it waits for (0: none known) and what it
	 * waits in (an op label); the deadlock report follows these edges to
	 * name a wait-for cycle.
	 */
	uint32_t wait_for;
	uint16_t wait_op;
	const char *name; /* label given at start (owned by the client) */
	struct pt__fiber fiber;
	void *stack;
};

struct pt__ls_ctl {
	struct pt__fiber main;		    /* the caller of pt__ls_ctl_run */
	PT_VEC(struct pt__ls_task *) tasks; /* by index - 1 */
	PT_VEC(uint32_t) ready;		    /* sorted indices */
	struct pt__ls_task *cur;	    /* running task, NULL in main */
	struct pt__ls_strat *strat;
	PT_VEC(struct pt__ls_step) steps; /* the schedule so far */
	unsigned max_steps;
	int64_t deadline_ns;
	PT_VEC(void *) stacks; /* pool, all of stack_size */
	size_t stack_size;
	bool over;
	enum pt_ls_kind kind;
	char reason[512];
	/*
	 * Called when no task is ready and the body is not done: true when
	 * it made a task ready (a timer fired), false for a deadlock.
	 */
	bool (*idle)(void *ctx);
	void *idle_ctx;
	/*
	 * Optional hooks of a client that runs tasks on threads instead of
	 * fibers (the pthread runtime): switch_to resumes to and, unless
	 * from_done, waits until from is picked again (from is NULL from
	 * main); on_end replaces the return to main when the iteration
	 * ends; on_step sees each step as it is recorded.
	 */
	void (*switch_to)(struct pt__ls_task *from, struct pt__ls_task *to,
			  bool from_done);
	void (*on_end)(struct pt__ls_ctl *c);
	void (*on_step)(struct pt__ls_ctl *c, const struct pt__ls_step *st,
			struct pt__ls_task *next);
	/* Pass only when every task is done (threads), not task 1 (actors). */
	bool pass_when_all_done;
	char prefix;	  /* of task labels in reports: 'P' (default) or 'T' */
	const char *noun; /* "actor" (default) or "thread" */
};

int pt__ls_ctl_init(struct pt__ls_ctl *c, size_t stack_size);
void pt__ls_ctl_release(struct pt__ls_ctl *c);
/* Forgets the tasks of the last iteration (their stacks go to the pool). */
void pt__ls_ctl_reset(struct pt__ls_ctl *c);
void pt__ls_ctl_begin(struct pt__ls_ctl *c, struct pt__ls_strat *s,
		      unsigned max_steps, int64_t deadline_ns);
/*
 * Registers t (next index), ready to run entry(arg) with op "start"; with
 * entry NULL, no fiber is made (the client runs t on a thread).
 */
int pt__ls_ctl_add(struct pt__ls_ctl *c, struct pt__ls_task *t,
		   void (*entry)(void *), void *arg);
struct pt__ls_task *pt__ls_ctl_task(struct pt__ls_ctl *c, int idx);
int pt__ls_ctl_ready(struct pt__ls_ctl *c, struct pt__ls_task *t);
void pt__ls_ctl_unready(struct pt__ls_ctl *c, struct pt__ls_task *t);
/* A sync point of the current task. */
void pt__ls_ctl_sync(struct pt__ls_ctl *c, uint16_t op, int32_t arg);
/* Same, for an operation carrying a message (shown in reports). */
void pt__ls_ctl_sync_msg(struct pt__ls_ctl *c, uint16_t op, int32_t arg,
			 int32_t mtype, int64_t ma, int64_t mb);
/* "P3 (name)" or "P3": a task as reports show it. */
int pt__ls_ctl_task_label(struct pt__ls_ctl *c, uint32_t idx, char *buf,
			  size_t len);
/* Blocks the current task until pt__ls_ctl_ready. */
void pt__ls_ctl_block(struct pt__ls_ctl *c);
/* Picks and resumes the next step (the current task may be done). */
void pt__ls_ctl_schedule(struct pt__ls_ctl *c);
/* Ends the iteration with kind (first call wins). */
void pt__ls_ctl_end(struct pt__ls_ctl *c, enum pt_ls_kind kind, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
/* Leaves the current task for good: back to main (after an end). */
void pt__ls_ctl_leave(struct pt__ls_ctl *c);
/* From main: runs until the iteration ends. */
void pt__ls_ctl_run(struct pt__ls_ctl *c);

#endif
