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
	double resample;
	/* per iteration */
	struct pt_rng rng;
	unsigned cur_depth;
	uint64_t change[PT_LS_MAX_DEPTH]; /* sorted change points */
	unsigned nchange, next_change;
	uint64_t *prio; /* by registration index */
	size_t nprio;	/* capacity of prio */
	unsigned demotions;
	/* replay */
	const uint32_t *choices;
	size_t nchoices;
	bool fallback, diverged;
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
/* Description, e.g. "pct depth=3 max_steps=1000". */
int pt__ls_strat_describe(const struct pt__ls_strat *s, char *buf, size_t len);

#endif
