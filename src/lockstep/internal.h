/*
 * lockstep/internal.h - what the parts of lockstep share: operation
 * labels, schedule steps, the GenServer message tags, the trace object and
 * the world of an iteration (world.c, the actor API over the controller of
 * ctl.h; docs/lockstep.md explains the seam).
 */
#ifndef PT_LOCKSTEP_INTERNAL_H
#define PT_LOCKSTEP_INTERNAL_H

#include <proctor/lockstep.h>

#include "lockstep/fiber.h"
#include "lockstep/strategy.h"

/* Operations, as recorded in a trace (names in pt__ls_op_names). */
enum pt__ls_op {
	PT_LS_OP_START = 0,
	PT_LS_OP_SPAWN,
	PT_LS_OP_SPAWN_LINK,
	PT_LS_OP_SEND,
	PT_LS_OP_RECV,
	PT_LS_OP_WAKE,	  /* blocked receive woken by a message */
	PT_LS_OP_TIMEOUT, /* receive timeout or sleep over */
	PT_LS_OP_YIELD,
	PT_LS_OP_SLEEP,
	PT_LS_OP_SEND_AFTER,
	PT_LS_OP_CANCEL_TIMER,
	PT_LS_OP_MONITOR,
	PT_LS_OP_DEMONITOR,
	PT_LS_OP_LINK,
	PT_LS_OP_UNLINK,
	PT_LS_OP_KILL,
	PT_LS_OP_ALIVE,
	PT_LS_OP_EXIT,
	PT_LS_OP_CALL,
	PT_LS_OP_CAST,
	PT_LS_OP_REPLY,
	PT_LS_OP_REGISTER,
	PT_LS_OP_UNREGISTER,
	PT_LS_OP_LOOKUP,
	PT_LS_OP_DISPATCH,
	PT_LS_OP_COUNT,
	PT_LS_OP_TRAP,
	/* threads (proctor lockstep exec) */
	PT_LS_OP_T_CREATE,
	PT_LS_OP_T_JOIN,
	PT_LS_OP_T_DETACH,
	PT_LS_OP_T_EXIT,
	PT_LS_OP_MUTEX_LOCK,
	PT_LS_OP_MUTEX_TRYLOCK,
	PT_LS_OP_MUTEX_UNLOCK,
	PT_LS_OP_COND_WAIT,
	PT_LS_OP_COND_SIGNAL,
	PT_LS_OP_COND_BROADCAST,
	PT_LS_OP_RW_RDLOCK,
	PT_LS_OP_RW_WRLOCK,
	PT_LS_OP_RW_UNLOCK,
	PT_LS_OP_SEM_WAIT,
	PT_LS_OP_SEM_POST,
	PT_LS_OP_BARRIER,
	PT_LS_OP_ONCE,
	PT_LS_OP_READ,
	PT_LS_OP_WRITE,
	PT_LS_OP_ATOMIC,
	PT_LS_OP_SPURIOUS, /* a condition wait that may wake spuriously */
	PT_LS_OP__N
};
extern const char *const pt__ls_op_names[PT_LS_OP__N];
#define PT_LS_KIND__N	  (PT_LS_FAIL_EXIT + 1)
#define PT_LS_STRATEGY__N (PT_LS_DFS + 1)
extern const char *const pt__ls_kind_names[PT_LS_KIND__N];
extern const char *const pt__ls_strategy_names[PT_LS_STRATEGY__N];
/* Index of an op name, or -1. */
int pt__ls_op_find(const char *name, size_t len);

/* One step of a schedule: who ran and what it did. */
struct pt__ls_step {
	uint32_t idx;
	uint16_t op;
	bool has_msg; /* a message: its type and payload a, b */
	int32_t arg;  /* target pid, milliseconds, or 0 */
	int32_t mtype;
	int64_t ma, mb;
};

/* System tags of messages (GenServer protocol); user messages are 0. */
enum {
	PT_LS_SYS_USER = 0,
	PT_LS_SYS_CALL,
	PT_LS_SYS_CAST,
	PT_LS_SYS_REPLY,
	PT_LS_SYS_ACK,
	PT_LS_SYS_STOP
};

struct pt__ls_node {
	struct pt__ls_node *next;
	int sys;
	struct pt_ls_msg m;
};

/* Sends with a system tag (a sync point). */
int pt__ls_send_sys(int pid, int sys, const struct pt_ls_msg *m);
/*
 * Receives the oldest node for which match (NULL: any) is true; copies it
 * out (a sync point). timeout_ms < 0: forever; -ETIMEDOUT.
 */
int pt__ls_recv_sys(bool (*match)(const struct pt__ls_node *n, void *ctx),
		    void *ctx, int64_t timeout_ms, int *ret_sys,
		    struct pt_ls_msg *ret);

/*
 * One sync point: resolves key in reg and sends m there with a system
 * tag; with monitor, also monitors the target and puts the monitor's
 * reference in the message. -ENOENT when no live actor holds the key.
 */
int pt__ls_send_via(struct pt_ls_registry *reg, const char *key, int sys,
		    const struct pt_ls_msg *m, bool monitor, int *ret_pid,
		    uint64_t *ret_ref);
/* The caller waits in op for pid (0: stops waiting); deadlock reports. */
void pt__ls_wait_for(int pid, int op);

enum pt_ls_keys pt__ls_registry_kind(const struct pt_ls_registry *r);

/* The trace object (public opaque struct pt_ls_trace). */
struct pt_ls_trace {
	char *test, *binary, *strategy, *reason;
	uint64_t seed, iter_seed;
	unsigned iterations, iteration, max_steps;
	enum pt_ls_strategy strat;
	enum pt_ls_kind kind;
	size_t fail_step;
	size_t nsteps;
	uint32_t *choices;	   /* nsteps registration indices */
	struct pt__ls_step *steps; /* nsteps, with ops */
	char **names;		   /* by index - 1 (NULL: unnamed), nnames */
	size_t nnames;
	/* lockstep exec: the program, its arguments, each step's source */
	char *program;
	char **args;
	size_t nargs;
	char **locs;	      /* nsteps entries (NULL: unknown) or NULL */
	unsigned preemptions; /* exec: switches away from a ready task */
	unsigned spurious;    /* exec: spurious wake-ups allowed per thread */
};

#define PT_LS_TRACE_MAX_ARGS 256

/* Sets the name of idx in t (a copy, at most PT_LS_NAME_MAX bytes). */
int pt__ls_trace_set_name(struct pt_ls_trace *t, uint32_t idx,
			  const char *name);
/* The name of index idx in t, or NULL. */
const char *pt__ls_trace_name(const struct pt_ls_trace *t, uint32_t idx);
/*
 * "P2 (client) call -> P3 (server) {type 1, a 5, b 0}": a readable step;
 * names from t (may be NULL).
 */
int pt__ls_step_label(const struct pt_ls_trace *t, const struct pt__ls_step *s,
		      char *buf, size_t len);

/*
 * The schedule of t for a report: at most the last 200 steps, one a line,
 * mark_step (1-based) marked "<-- mark".
 */
struct pt_buf;
void pt__ls_add_schedule(struct pt_buf *b, const struct pt_ls_trace *t,
			 size_t mark_step, const char *mark);

/*
 * Writes r->trace to <trace_dir>/<test>-iter<N>-seed<S>.lockstep
 * (trace_dir NULL: $PT_LOCKSTEP_TRACE_DIR, else "traces") and sets
 * r->trace_path.
 */
int pt__ls_write_trace(struct pt_ls_report *r, const char *trace_dir);

/* A reusable world: one per run, reset between iterations. */
struct pt__ls_world;

int pt__ls_world_new(size_t stack_size, struct pt__ls_world **ret);
void pt__ls_world_free(struct pt__ls_world *w);
/*
 * Runs one iteration of body under s. Returns 0 (the outcome is in
 * pt__ls_world_result) or a setup error.
 */
int pt__ls_world_run(struct pt__ls_world *w, struct pt__ls_strat *s,
		     unsigned iteration, uint64_t iter_seed, unsigned max_steps,
		     int64_t timeout_ns, void (*body)(void *), void *arg);
/* Outcome of the last iteration; borrowed pointers valid until next run. */
enum pt_ls_kind pt__ls_world_result(const struct pt__ls_world *w,
				    const char **ret_reason,
				    const struct pt__ls_step **ret_steps,
				    size_t *ret_nsteps);
/* Sees every step of the next iterations as it is recorded (fork mode). */
struct pt__ls_ctl;
struct pt__ls_task;
void pt__ls_world_hook_steps(struct pt__ls_world *w,
			     void (*fn)(struct pt__ls_ctl *c,
					const struct pt__ls_step *st,
					struct pt__ls_task *next));
/* Name of actor idx in the last iteration, or NULL. */
const char *pt__ls_world_name(struct pt__ls_world *w, uint32_t idx);
/* Number of actors of the last iteration. */
size_t pt__ls_world_nactors(const struct pt__ls_world *w);

#endif
