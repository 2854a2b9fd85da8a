/*
 * lockstep/strategy.c - random, PCT, fair PCT, POS, IDPCT and replay.
 */
#include "base/common.h"

#include "lockstep/strategy.h"

/*
 * PCT priority bands: initial priorities, above the demoted ones (d - i
 * at the i-th change point), above those of tasks that yielded (each
 * yield lower than the one before).
 */
#define PRIO_INITIAL (UINT64_C(1) << 40)
#define PRIO_DEMOTED (UINT64_C(1) << 32)

void pt__ls_strat_init(struct pt__ls_strat *s, const struct pt_ls_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->kind = o->replay ? PT_LS_REPLAY : o->strategy;
	s->max_steps = o->max_steps ? o->max_steps : 1000;
	s->depth = o->depth ? o->depth : 3;
	if (s->depth > PT_LS_MAX_DEPTH)
		s->depth = PT_LS_MAX_DEPTH;
	s->fair_switch = o->fair_switch ? o->fair_switch : s->max_steps / 2;
	s->resample = o->resample_set ? o->resample_prob : 0.5;
	s->d_min = o->d_min ? o->d_min : 2;
	s->d_max = o->d_max ? o->d_max : 6;
	if (s->d_max > PT_LS_MAX_DEPTH)
		s->d_max = PT_LS_MAX_DEPTH;
	if (s->d_min > s->d_max)
		s->d_min = s->d_max;
	s->fallback = o->replay_fallback_random;
	s->fallback_seed = o->fallback_seed;
}

void pt__ls_strat_release(struct pt__ls_strat *s)
{
	pt__freep(&s->prio);
	s->nprio = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * PCT: d-1 distinct change points drawn uniformly from [1, k], k the
 * observed run length (horizon) or max_steps before any run.
 */
static void draw_change_points(struct pt__ls_strat *s, unsigned depth)
{
	unsigned want = depth > 0 ? depth - 1 : 0;
	unsigned k =
		s->horizon ? PT_MIN(s->horizon, s->max_steps) : s->max_steps;

	if (want > k)
		want = k;
	s->nchange = 0;
	while (s->nchange < want) {
		uint64_t c = pt__rng_below(&s->rng, k) + 1;
		bool dup = false;

		for (unsigned i = 0; i < s->nchange; i++)
			dup |= s->change[i] == c;
		if (!dup)
			s->change[s->nchange++] = c;
	}
	qsort(s->change, s->nchange, sizeof(s->change[0]), cmp_u64);
	s->next_change = 0;
}

void pt__ls_strat_begin(struct pt__ls_strat *s, unsigned iteration,
			uint64_t iter_seed)
{
	pt__rng_seed(&s->rng,
		     s->kind == PT_LS_REPLAY ? s->fallback_seed : iter_seed);
	s->demotions = 0;
	s->diverged = false;
	s->last = 0;
	s->run = 0;
	s->yield_idx = 0;
	s->last_yielded = false;
	s->yield_floor = PRIO_DEMOTED;
	s->cur_depth = s->depth;
	if (s->kind == PT_LS_IDPCT)
		s->cur_depth = s->d_min + (iteration > 0 ? iteration - 1 : 0) %
						  (s->d_max - s->d_min + 1);
	s->nchange = 0;
	if (s->kind == PT_LS_PCT || s->kind == PT_LS_FAIR_PCT ||
	    s->kind == PT_LS_IDPCT)
		draw_change_points(s, s->cur_depth);
}

int pt__ls_strat_add(struct pt__ls_strat *s, uint32_t idx)
{
	if (idx >= s->nprio) {
		size_t n = s->nprio ? s->nprio : 16;
		uint64_t *p;

		while (n <= idx)
			n *= 2;
		p = pt__realloc_array(s->prio, n, sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + s->nprio, 0, (n - s->nprio) * sizeof(*p));
		s->prio = p;
		s->nprio = n;
	}
	switch (s->kind) {
	case PT_LS_PCT:
	case PT_LS_FAIR_PCT:
	case PT_LS_IDPCT:
		/* Initial priorities lie above every demoted one. */
		s->prio[idx] = PRIO_INITIAL +
			       pt__rng_below(&s->rng, PT_LS_HIGH_PRIO_MAX);
		break;
	case PT_LS_POS:
		s->prio[idx] = pt__rng_next(&s->rng);
		break;
	default:
		break;
	}
	return 0;
}

/* The ready task of highest priority; ties go to the lower index. */
static size_t highest(const struct pt__ls_strat *s, const uint32_t *ready,
		      size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (s->prio[ready[i]] > s->prio[ready[best]])
			best = i;
	return best;
}

static uint32_t pick_pct(struct pt__ls_strat *s, const uint32_t *ready,
			 size_t n, uint64_t step)
{
	size_t b = highest(s, ready, n);

	/*
	 * At the i-th change point the task that would run next drops to
	 * priority d - i, below every initial priority and every earlier
	 * demotion; then the highest is chosen again.
	 */
	while (s->next_change < s->nchange &&
	       s->change[s->next_change] <= step) {
		if (s->change[s->next_change] == step) {
			s->demotions++;
			s->prio[ready[b]] =
				PRIO_DEMOTED +
				(s->cur_depth > s->demotions
					 ? s->cur_depth - s->demotions
					 : 0);
			b = highest(s, ready, n);
		}
		s->next_change++;
	}
	return ready[b];
}

void pt__ls_strat_yield(struct pt__ls_strat *s, uint32_t idx)
{
	s->yield_idx = idx;
	if ((s->kind == PT_LS_PCT || s->kind == PT_LS_FAIR_PCT ||
	     s->kind == PT_LS_IDPCT) &&
	    idx < s->nprio)
		s->prio[idx] = --s->yield_floor;
}

uint32_t pt__ls_strat_default(uint32_t last, bool gives_way,
			      const uint32_t *ready, size_t n)
{
	uint32_t from = gives_way ? last + 1 : last;

	for (size_t i = 0; i < n; i++)
		if (ready[i] >= from)
			return ready[i];
	return ready[0];
}

static int pick(struct pt__ls_strat *s, const uint32_t *ready, size_t n,
		uint64_t step, uint32_t *ret_idx);

int pt__ls_strat_pick(struct pt__ls_strat *s, const uint32_t *ready, size_t n,
		      uint64_t step, uint32_t *ret_idx)
{
	int r;

	/*
	 * A task that ran PT_LS_DFS_FAIR steps in a row while others were
	 * ready spins: under the priority strategies it gives way as if it
	 * had yielded (a spin loop would otherwise starve the task it
	 * waits for, a false max_steps).
	 */
	if (s->run >= PT_LS_DFS_FAIR && n > 1 && s->kind != PT_LS_DFS &&
	    s->kind != PT_LS_REPLAY) {
		uint64_t saved = s->yield_idx;

		pt__ls_strat_yield(s, s->last);
		s->yield_idx = (uint32_t)saved;
		s->run = 0;
	}
	r = pick(s, ready, n, step, ret_idx);

	if (r == 0) {
		s->run = *ret_idx == s->last ? s->run + 1 : 1;
		s->last = *ret_idx;
		s->last_yielded = s->yield_idx && *ret_idx == s->yield_idx;
		if (s->last_yielded)
			s->yield_idx = 0;
	}
	return r;
}

static int pick(struct pt__ls_strat *s, const uint32_t *ready, size_t n,
		uint64_t step, uint32_t *ret_idx)
{
	switch (s->kind) {
	case PT_LS_DFS:
		if (step <= s->nchoices) {
			uint32_t want = s->choices[step - 1];

			for (size_t i = 0; i < n; i++) {
				if (ready[i] == want) {
					*ret_idx = want;
					return 0;
				}
			}
			if (!s->lenient)
				return PT_EDIVERGED;
		}
		*ret_idx = pt__ls_strat_default(
			s->last, s->last_yielded || s->run >= PT_LS_DFS_FAIR,
			ready, n);
		return 0;
	case PT_LS_RANDOM:
		*ret_idx = ready[pt__rng_below(&s->rng, n)];
		return 0;
	case PT_LS_FAIR_PCT:
		if (step > s->fair_switch) {
			*ret_idx = ready[pt__rng_below(&s->rng, n)];
			return 0;
		}
		*ret_idx = pick_pct(s, ready, n, step);
		return 0;
	case PT_LS_PCT:
	case PT_LS_IDPCT:
		*ret_idx = pick_pct(s, ready, n, step);
		return 0;
	case PT_LS_POS:
		if (pt__rng_double(&s->rng) < s->resample)
			for (size_t i = 0; i < n; i++)
				s->prio[ready[i]] = pt__rng_next(&s->rng);
		*ret_idx = ready[highest(s, ready, n)];
		return 0;
	case PT_LS_REPLAY:
		if (!s->diverged && step <= s->nchoices) {
			uint32_t want = s->choices[step - 1];

			for (size_t i = 0; i < n; i++) {
				if (ready[i] == want) {
					*ret_idx = want;
					return 0;
				}
			}
		}
		if (!s->fallback)
			return PT_EDIVERGED;
		/* The tail (from the first divergence) is seeded random. */
		s->diverged = true;
		*ret_idx = ready[pt__rng_below(&s->rng, n)];
		return 0;
	}
	return PT_ESTATE;
}

int pt__ls_strat_describe(const struct pt__ls_strat *s, char *buf, size_t len)
{
	const char *name = pt_ls_strategy_name(s->kind);

	switch (s->kind) {
	case PT_LS_PCT:
		return snprintf(buf, len, "%s depth=%u max_steps=%u", name,
				s->depth, s->max_steps);
	case PT_LS_FAIR_PCT:
		return snprintf(buf, len,
				"%s depth=%u fair_switch=%u max_steps=%u", name,
				s->depth, s->fair_switch, s->max_steps);
	case PT_LS_IDPCT:
		return snprintf(buf, len, "%s d_min=%u d_max=%u max_steps=%u",
				name, s->d_min, s->d_max, s->max_steps);
	case PT_LS_POS:
		return snprintf(buf, len, "%s resample_prob=%g max_steps=%u",
				name, s->resample, s->max_steps);
	case PT_LS_DFS:
		return snprintf(buf, len, "%s prefix=%zu max_steps=%u", name,
				s->nchoices, s->max_steps);
	default:
		return snprintf(buf, len, "%s max_steps=%u", name,
				s->max_steps);
	}
}
