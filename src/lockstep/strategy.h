/*
 * lockstep/strategy.h - the strategies that pick the next actor. They see
 * only registration indices and step numbers: nothing of actors, messages
 * or fibers, so that any kind of managed task (threads, mutexes) can be
 * scheduled by them (the seam described in docs/lockstep.md).
 *
 * Every random choice comes from one rng seeded with the iteration seed.
 */
#ifndef PT_LOCKSTEP_STRATEGY_H
#define PT_LOCKSTEP_STRATEGY_H

#include <proctor/lockstep.h>

#include "base/rng.h"

#define PT_LS_MAX_DEPTH	    32
#define PT_LS_HIGH_PRIO_MAX 1000000u

struct pt__ls_strat {
	enum pt_ls_strategy kind;
	/* parameters */
	unsigned depth, max_steps, fair_switch, d_min, d_max;
	/*
	 * PCT: change points are drawn from [1, horizon], the length of the
	 * longest run observed so far (the runner updates it after each
	 * iteration), or from [1, max_steps] while nothing was observed.
	 */
	unsigned horizon;
	double resample;
	/* per iteration */
	struct pt_rng rng;
	unsigned cur_depth;
	uint64_t change[PT_LS_MAX_DEPTH]; /* sorted change points */
	unsigned nchange, next_change;
	uint64_t *prio; /* by registration index */
	size_t nprio;	/* capacity of prio */
	unsigned demotions;
	uint64_t yield_floor; /* PCT: priority of the last task that yielded */
	/* replay, and the prefix of PT_LS_DFS */
	const uint32_t *choices;
	size_t nchoices;
	bool fallback, diverged;
	bool lenient;  /* DFS: a prefix choice not ready takes the default */
	uint32_t last; /* the task picked at the previous step */
	unsigned run;  /* steps in a row of last */
	uint32_t yield_idx; /* a task that announced a yield */
	bool last_yielded;  /* the previous step was last's yield */
	uint64_t fallback_seed;
};

/* Fills s from opts (defaults applied); no allocation. */
void pt__ls_strat_init(struct pt__ls_strat *s, const struct pt_ls_opts *o);
void pt__ls_strat_release(struct pt__ls_strat *s);
/* Starts iteration number iteration (1-based) with its seed. */
void pt__ls_strat_begin(struct pt__ls_strat *s, unsigned iteration,
			uint64_t iter_seed);
/* A task with registration index idx (1, 2, ...) appeared. */
int pt__ls_strat_add(struct pt__ls_strat *s, uint32_t idx);
/*
 * Picks the task to run at step (1-based) among the ready indices (sorted
 * ascending, n > 0). 0 and *ret_idx, or PT_EDIVERGED (replay).
 */
int pt__ls_strat_pick(struct pt__ls_strat *s, const uint32_t *ready, size_t n,
		      uint64_t step, uint32_t *ret_idx);
/*
 * Task idx yields: under the priority strategies (PCT, fair PCT, IDPCT)
 * it drops below every task that has not yielded or been demoted, so a
 * retry loop that yields lets the others run instead of spinning forever.
 */
void pt__ls_strat_yield(struct pt__ls_strat *s, uint32_t idx);
/*
 * The non-preemptive choice of DFS: the task of the previous step when it
 * is ready, else the next ready index after it (wrapping). A task that
 * has just yielded, or has run PT_LS_DFS_FAIR steps in a row (a spin
 * loop), gives way: the next ready index after it. Giving way is not a
 * preemption.
 */
#define PT_LS_DFS_FAIR 200
uint32_t pt__ls_strat_default(uint32_t last, bool gives_way,
			      const uint32_t *ready, size_t n);
/* Description, e.g. "pct depth=3 max_steps=1000". */
int pt__ls_strat_describe(const struct pt__ls_strat *s, char *buf, size_t len);

#endif
