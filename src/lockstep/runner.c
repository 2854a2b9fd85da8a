/*
 * lockstep/runner.c - runs iterations, builds failure reports and trace
 * files, replays and shrinks traces, and the runner of test binaries.
 *
 * Per-iteration seeds: splitmix64 over the top seed, one draw per
 * iteration, so iteration i's seed depends only on (seed, i).
 */
#include "base/common.h"

#include "base/buf.h"
#include "base/str.h"
#include "lockstep/ctl.h"
#include "lockstep/internal.h"
#include "os/clock.h"
#include "os/file.h"
#include "os/lsos.h"
#include "os/proc.h"

#define DEFAULT_ITERATIONS 100
#define DEFAULT_TIMEOUT_MS 10000
#define REPORT_MAX_STEPS   200 /* schedule lines in a report, the last ones */
#define SHRINK_MAX_RUNS	   200000

struct pt_ls_report *pt_ls_report_free(struct pt_ls_report *r)
{
	if (!r)
		return NULL;
	pt__free(r->test);
	pt__free(r->strategy);
	pt__free(r->reason);
	pt_ls_trace_free(r->trace);
	pt__free(r->trace_path);
	pt__free(r->text);
	pt__free(r);
	return NULL;
}

static int trace_from_run(const char *name, const struct pt_ls_opts *o,
			  const struct pt__ls_strat *s, enum pt_ls_strategy sk,
			  unsigned iteration, uint64_t iter_seed,
			  enum pt_ls_kind kind, const char *reason,
			  const struct pt__ls_step *steps, size_t n,
			  struct pt_ls_trace **ret)
{
	struct pt_ls_trace *t = pt__calloc(1, sizeof(*t));
	char desc[160];

	if (!t)
		return -ENOMEM;
	pt__ls_strat_describe(s, desc, sizeof(desc));
	t->test = pt__strdup(name);
	t->binary = o->binary ? pt__strdup(o->binary) : NULL;
	t->strategy = pt__strdup(desc);
	t->reason = pt__strdup(reason);
	t->seed = o->seed;
	t->iterations = o->iterations ? o->iterations : DEFAULT_ITERATIONS;
	t->iteration = iteration;
	t->iter_seed = iter_seed;
	t->strat = sk;
	t->max_steps = s->max_steps;
	t->kind = kind;
	t->nsteps = n;
	t->fail_step = n;
	t->choices = pt__malloc_array(n ? n : 1, sizeof(*t->choices));
	t->steps = pt__malloc_array(n ? n : 1, sizeof(*t->steps));
	if (!t->test || !t->strategy || !t->reason || !t->choices ||
	    !t->steps || (o->binary && !t->binary)) {
		pt_ls_trace_free(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		t->steps[i] = steps[i];
		t->choices[i] = steps[i].idx;
	}
	*ret = t;
	return 0;
}

void pt__ls_add_schedule(struct pt_buf *b, const struct pt_ls_trace *t,
			 size_t mark_step, const char *mark)
{
	char label[512];
	size_t first = 0;

	if (t->nsteps > REPORT_MAX_STEPS) {
		first = t->nsteps - REPORT_MAX_STEPS;
		pt__buf_addf(b, "  ... %zu earlier steps (the trace has all)\n",
			     first);
	}
	for (size_t i = first; i < t->nsteps; i++) {
		pt__ls_step_label(t, &t->steps[i], label, sizeof(label));
		pt__buf_addf(b, "  step %-4zu %s%s%s\n", i + 1, label,
			     i + 1 == mark_step ? "   <-- " : "",
			     i + 1 == mark_step ? mark : "");
	}
}

static int format_report(struct pt_ls_report *r)
{
	struct pt_buf b = PT_BUF_INIT;
	const struct pt_ls_trace *t = r->trace;

	pt__buf_addf(&b,
		     "Lockstep found a concurrency bug on iteration %u.\n"
		     "  test:       %s\n"
		     "  seed:       %" PRIu64 "\n"
		     "  iter seed:  %" PRIu64 "\n"
		     "  strategy:   %s\n"
		     "  trace path: %s\n\n"
		     "Reason: %s: %s\n\nSchedule:\n",
		     r->iteration, r->test, r->seed, r->iter_seed, r->strategy,
		     r->trace_path ? r->trace_path : "(not written)",
		     pt_ls_kind_name(r->kind), r->reason);
	pt__ls_add_schedule(&b, t, r->fail_step, "FAILED HERE");
	if (r->trace_path && t->binary)
		pt__buf_addf(&b,
			     "\nReplay: proctor lockstep replay %s\n"
			     "   (runs: %s --run=%s --lockstep-replay=%s)\n",
			     r->trace_path, t->binary, r->test, r->trace_path);
	else if (r->trace_path)
		pt__buf_addf(&b,
			     "\nReplay: pt_ls_run() with .replay = the trace "
			     "loaded from %s\n",
			     r->trace_path);
	if (b.s == pt__buf_empty)
		return -ENOMEM;
	r->text = pt__buf_detach(&b, NULL);
	return r->text ? 0 : -ENOMEM;
}

int pt__ls_write_trace(struct pt_ls_report *r, const char *trace_dir)
{
	const char *dir = trace_dir;
	struct pt_buf path = PT_BUF_INIT;
	int ret;

	if (!dir || !*dir)
		dir = getenv("PT_LOCKSTEP_TRACE_DIR");
	if (!dir || !*dir)
		dir = "traces";
	if ((ret = pt__mkdir_p(dir, 0755)) < 0)
		return ret;
	if (pt__buf_addf(&path, "%s/%s-iter%u-seed%" PRIu64 ".lockstep", dir,
			 r->test, r->iteration, r->seed) < 0)
		return -ENOMEM;
	if ((ret = pt_ls_trace_save(r->trace, path.s)) < 0) {
		pt__buf_release(&path);
		return ret;
	}
	r->trace_path = pt__buf_detach(&path, NULL);
	return r->trace_path ? 0 : -ENOMEM;
}

/* ---- fork per iteration ------------------------------------------------- */

#define FORK_NAMES 256

/* What a forked iteration hands back, in shared memory. */
struct fork_out {
	uint32_t kind, done, nsteps, nnames;
	char reason[512];
	char names[FORK_NAMES][PT_LS_NAME_MAX + 1];
	struct pt__ls_step steps[]; /* max_steps */
};

static _Thread_local struct fork_out *fork_out;

static void fork_step(struct pt__ls_ctl *c, const struct pt__ls_step *st,
		      struct pt__ls_task *next)
{
	(void)c;
	fork_out->steps[fork_out->nsteps++] = *st;
	/* Names as they appear: a child that dies leaves them too. */
	if (st->idx <= FORK_NAMES && next->name && next->name[0] &&
	    !fork_out->names[st->idx - 1][0])
		snprintf(fork_out->names[st->idx - 1],
			 sizeof(fork_out->names[0]), "%s", next->name);
	if (st->idx <= FORK_NAMES && st->idx > fork_out->nnames)
		fork_out->nnames = st->idx;
}

/*
 * One iteration in a child. The outcome (and the schedule up to the last
 * step, whatever happens to the child) comes back through out.
 *
 * Not inlined: the child ends in _exit, so inlined into pt_ls_run the
 * compiler may drop the caller's pointers that only the parent uses
 * afterwards (the report). A leak checker in the child (valgrind
 * follows forks) then finds that memory unreachable, counts a definite
 * leak, and with --error-exitcode the child's exit status is no longer
 * 0: a passing iteration reported as a crash. As a real call, whatever
 * pt_ls_run still needs is kept in its frame or in registers, where a
 * checker looks.
 */
__attribute__((noinline)) static int
run_forked(struct pt__ls_world *w, struct pt__ls_strat *s, unsigned iter,
	   uint64_t iter_seed, int64_t timeout_ns, void (*body)(void *),
	   void *arg, struct fork_out *out)
{
	pid_t pid;
	int status = 0, r, how, code;

	memset(out, 0, sizeof(*out));
	fflush(NULL);
	if ((pid = pt__lsos_fork()) < 0)
		return pid;
	if (pid == 0) {
		const char *reason;

		fork_out = out;
		pt__ls_world_hook_steps(w, fork_step);
		r = pt__ls_world_run(w, s, iter, iter_seed, s->max_steps,
				     timeout_ns, body, arg);
		if (r < 0)
			pt__lsos_exit(2);
		out->kind = pt__ls_world_result(w, &reason, NULL, NULL);
		snprintf(out->reason, sizeof(out->reason), "%s", reason);
		for (size_t a = 1;
		     a <= pt__ls_world_nactors(w) && a <= FORK_NAMES; a++) {
			const char *nm = pt__ls_world_name(w, (uint32_t)a);

			if (nm)
				snprintf(out->names[a - 1],
					 sizeof(out->names[0]), "%s", nm);
			out->nnames = (uint32_t)a;
		}
		out->done = 1;
		pt__lsos_exit(0);
	}
	r = pt__proc_wait(pid, -1, (int)(timeout_ns / 1000000) + 1000, &status);
	if (r == -ETIMEDOUT) {
		pt__lsos_kill(pid);
		pt__proc_wait(pid, -1, -1, &status);
		out->kind = PT_LS_FAIL_TIMEOUT;
		snprintf(out->reason, sizeof(out->reason),
			 "iteration exceeded its wall-time budget (the forked "
			 "child was killed)");
		return 0;
	}
	if (r < 0)
		return r;
	how = pt__lsos_status(status, &code);
	if (!out->done || how != 1 || code != 0) {
		char st[128];

		pt__proc_status_str(status, st, sizeof(st));
		out->kind = PT_LS_FAIL_CRASH;
		snprintf(out->reason, sizeof(out->reason),
			 "the iteration's process ended with %s", st);
	}
	return 0;
}

int pt_ls_run(const char *name, const struct pt_ls_opts *opts,
	      void (*body)(void *arg), void *arg, struct pt_ls_report **ret)
{
	struct pt_ls_opts o = opts ? *opts : (struct pt_ls_opts){ 0 };
	const struct pt_ls_trace *rt = o.replay;
	struct pt__ls_world *w = NULL;
	struct pt__ls_strat s;
	struct pt_ls_report *rep;
	struct fork_out *fo = NULL;
	size_t fo_size = 0;
	int fo_fd = -1;
	uint64_t state, iter_seed = 0;
	unsigned n, i;
	int r;

	if (!name || !body || !ret)
		return -EINVAL;
	if (rt) {
		/* A replay runs the trace's iteration, with its budget. */
		if (!o.max_steps)
			o.max_steps = rt->max_steps;
		o.seed = rt->seed;
		o.iterations = rt->iterations;
		o.no_trace_file = true;
	}
	n = rt ? 1 : o.iterations ? o.iterations : DEFAULT_ITERATIONS;
	if (!(rep = pt__calloc(1, sizeof(*rep))) ||
	    !(rep->test = pt__strdup(name))) {
		pt_ls_report_free(rep);
		return -ENOMEM;
	}
	pt__ls_strat_init(&s, &o);
	if (rt) {
		s.choices = rt->choices;
		s.nchoices = rt->nsteps;
	}
	if ((r = pt__ls_world_new(o.stack_size, &w)) < 0)
		goto fail;
	if (o.fork) {
		fo_size = sizeof(*fo) +
			  (size_t)s.max_steps * sizeof(fo->steps[0]);
		if ((r = pt__lsos_shm_new("lockstep-iter", fo_size, &fo_fd,
					  (void **)&fo)) < 0)
			goto fail;
	}
	state = o.seed;
	rep->seed = o.seed;
	for (i = 1; i <= n; i++) {
		const struct pt__ls_step *steps;
		const char *reason;
		enum pt_ls_kind kind;
		size_t nsteps;
		unsigned iter = rt ? rt->iteration : i;

		iter_seed = rt ? rt->iter_seed : pt__splitmix64(&state);
		if (o.fork) {
			r = run_forked(w, &s, iter, iter_seed,
				       (int64_t)(o.timeout_ms
							 ? o.timeout_ms
							 : DEFAULT_TIMEOUT_MS) *
					       1000000,
				       body, arg, fo);
			if (r < 0)
				goto fail;
			kind = (enum pt_ls_kind)fo->kind;
			reason = fo->reason;
			steps = fo->steps;
			nsteps = PT_MIN(fo->nsteps, s.max_steps);
		} else {
			r = pt__ls_world_run(
				w, &s, iter, iter_seed, s.max_steps,
				(int64_t)(o.timeout_ms ? o.timeout_ms
						       : DEFAULT_TIMEOUT_MS) *
					1000000,
				body, arg);
			if (r < 0)
				goto fail;
			kind = pt__ls_world_result(w, &reason, &steps, &nsteps);
		}
		rep->iterations = i;
		rep->total_steps += nsteps;
		if (nsteps > s.horizon)
			s.horizon = (unsigned)PT_MIN(nsteps, UINT32_MAX);
		if (kind == PT_LS_PASS)
			continue;
		rep->kind = kind;
		rep->iteration = iter;
		rep->iter_seed = iter_seed;
		rep->fail_step = nsteps;
		r = trace_from_run(name, &o, &s, rt ? rt->strat : s.kind, iter,
				   iter_seed, kind, reason, steps, nsteps,
				   &rep->trace);
		if (r < 0)
			goto fail;
		for (size_t a = 1;
		     a <= (o.fork ? fo->nnames : pt__ls_world_nactors(w));
		     a++) {
			const char *nm =
				o.fork ? (fo->names[a - 1][0] ? fo->names[a - 1]
							      : NULL)
				       : pt__ls_world_name(w, (uint32_t)a);

			if (nm && (r = pt__ls_trace_set_name(
					   rep->trace, (uint32_t)a, nm)) < 0)
				goto fail;
		}
		if (rt) {
			pt__free(rep->trace->strategy);
			rep->trace->strategy = pt__strdup(
				rt->strategy ? rt->strategy : "replay");
			if (!rep->trace->strategy) {
				r = -ENOMEM;
				goto fail;
			}
		}
		if (!(rep->strategy = pt__strdup(rep->trace->strategy)) ||
		    !(rep->reason = pt__strdup(reason))) {
			r = -ENOMEM;
			goto fail;
		}
		if (!o.no_trace_file &&
		    (r = pt__ls_write_trace(rep, o.trace_dir)) < 0)
			goto fail;
		if ((r = format_report(rep)) < 0)
			goto fail;
		break;
	}
	if (!rep->strategy) {
		char desc[160];

		pt__ls_strat_describe(&s, desc, sizeof(desc));
		if (!(rep->strategy = pt__strdup(desc))) {
			r = -ENOMEM;
			goto fail;
		}
	}
	pt__ls_world_free(w);
	pt__ls_strat_release(&s);
	if (fo)
		pt__lsos_shm_free(fo_fd, fo, fo_size);
	*ret = rep;
	return 0;
fail:
	pt__ls_world_free(w);
	pt__ls_strat_release(&s);
	if (fo)
		pt__lsos_shm_free(fo_fd, fo, fo_size);
	pt_ls_report_free(rep);
	return r;
}

/* ---- shrinking ------------------------------------------------------------
 */

struct shrinker {
	const char *name;
	struct pt_ls_opts o;
	const struct pt_ls_trace *orig;
	void (*body)(void *);
	void *arg;
	unsigned runs;
};

/* Strict replay of choices[0..n); the report when the same kind fails. */
static int try_choices(struct shrinker *sh, const uint32_t *choices, size_t n,
		       struct pt_ls_report **ret)
{
	struct pt_ls_trace t = *sh->orig;
	struct pt_ls_report *rep;
	int r;

	if (sh->runs >= SHRINK_MAX_RUNS)
		return 0;
	sh->runs++;
	t.choices = (uint32_t *)(uintptr_t)choices;
	t.nsteps = n;
	sh->o.replay = &t;
	sh->o.replay_fallback_random = false;
	sh->o.no_trace_file = true;
	if ((r = pt_ls_run(sh->name, &sh->o, sh->body, sh->arg, &rep)) < 0)
		return r;
	if (rep->kind != sh->orig->kind) {
		pt_ls_report_free(rep);
		return 0;
	}
	*ret = rep;
	return 1;
}

int pt_ls_shrink(const char *name, const struct pt_ls_opts *opts,
		 const struct pt_ls_trace *t, void (*body)(void *arg),
		 void *arg, struct pt_ls_trace **ret)
{
	struct shrinker sh = { name, opts ? *opts : (struct pt_ls_opts){ 0 },
			       t,    body,
			       arg,  0 };
	struct pt_ls_report *best = NULL, *rep;
	uint32_t *cur = NULL, *cand = NULL;
	size_t n;
	bool changed = true;
	int r;

	if (!name || !t || !body || !ret)
		return -EINVAL;
	if ((r = try_choices(&sh, t->choices, t->nsteps, &best)) <= 0)
		return r < 0 ? r : PT_EFAILED;
	n = best->trace->nsteps;
	cur = pt__malloc_array(n ? n : 1, sizeof(*cur));
	cand = pt__malloc_array(n ? n : 1, sizeof(*cand));
	if (!cur || !cand) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(cur, best->trace->choices, n * sizeof(*cur));
	while (changed) {
		changed = false;
		/* 1. the shortest failing prefix */
		for (size_t len = 0; len < n; len++) {
			if ((r = try_choices(&sh, cur, len, &rep)) < 0)
				goto out;
			if (r) {
				pt_ls_report_free(best);
				best = rep;
				n = best->trace->nsteps;
				memcpy(cur, best->trace->choices,
				       n * sizeof(*cur));
				changed = true;
				break;
			}
		}
		/* 2. remove single steps while the failure reproduces */
		for (size_t i = 0; i < n;) {
			memcpy(cand, cur, i * sizeof(*cur));
			memcpy(cand + i, cur + i + 1,
			       (n - i - 1) * sizeof(*cur));
			if ((r = try_choices(&sh, cand, n - 1, &rep)) < 0)
				goto out;
			if (!r) {
				i++;
				continue;
			}
			pt_ls_report_free(best);
			best = rep;
			n = best->trace->nsteps;
			memcpy(cur, best->trace->choices, n * sizeof(*cur));
			changed = true;
		}
	}
	/* The shrunk trace: the last reproduction, the original's identity. */
	{
		struct pt_ls_trace *s = best->trace;

		best->trace = NULL;
		s->seed = t->seed;
		s->iterations = t->iterations;
		s->iteration = t->iteration;
		s->iter_seed = t->iter_seed;
		s->strat = t->strat;
		*ret = s;
	}
	r = 0;
out:
	pt_ls_report_free(best);
	pt__free(cur);
	pt__free(cand);
	return r;
}

/* ---- the runner of test binaries ------------------------------------------
 */

static struct pt_ls_test *tests_head, **tests_tail = &tests_head;

void pt_ls_test_register(struct pt_ls_test *t)
{
	t->next = NULL;
	*tests_tail = t;
	tests_tail = &t->next;
}

static const char *opt_val(const char *arg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0 || arg[n] != '=')
		return NULL;
	return arg + n + 1;
}

static struct pt_ls_test *find_test(const char *name)
{
	for (struct pt_ls_test *t = tests_head; t; t = t->next)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

static int main_trace(const char *mode, const char *path, struct pt_ls_opts *ov,
		      const char *binary)
{
	struct pt_ls_trace *t = NULL, *s = NULL;
	struct pt_ls_report *rep = NULL;
	struct pt_ls_test *test;
	struct pt_ls_opts o;
	char err[512], *text;
	int r, code = 2;

	if ((r = pt_ls_trace_load(path, &t, err, sizeof(err))) < 0) {
		fprintf(stderr, "lockstep: %s\n", err);
		return 2;
	}
	if (!strcmp(mode, "show")) {
		if (pt_ls_trace_show(t, &text) < 0)
			goto out;
		fputs(text, stdout);
		pt__free(text);
		code = 0;
		goto out;
	}
	if (!(test = find_test(pt_ls_trace_test(t)))) {
		fprintf(stderr,
			"lockstep: %s: test '%s' is not in this binary\n", path,
			pt_ls_trace_test(t));
		goto out;
	}
	o = test->opts;
	o.binary = binary;
	if (ov->fork)
		o.fork = true;
	o.timeout_ms = ov->timeout_ms ? ov->timeout_ms : o.timeout_ms;
	if (!strcmp(mode, "replay")) {
		o.replay = t;
		o.replay_fallback_random = ov->replay_fallback_random;
		o.fallback_seed = ov->fallback_seed;
		if ((r = pt_ls_run(test->name, &o, test->body, NULL, &rep)) <
		    0) {
			fprintf(stderr, "lockstep: replay: %s\n",
				pt_strerror(r));
			goto out;
		}
		if (rep->kind == PT_LS_PASS) {
			printf("replay of %s: the bug did not reproduce "
			       "(%" PRIu64 " steps, passed)\n",
			       path, rep->total_steps);
			code = 0;
		} else if (rep->kind == PT_LS_FAIL_DIVERGED) {
			printf("replay of %s: diverged: %s\n", path,
			       rep->reason);
			code = 3;
		} else {
			printf("replay of %s: reproduced (%s%s)\n%s", path,
			       pt_ls_kind_name(rep->kind),
			       rep->kind == t->kind ? "" : ", a different kind",
			       rep->text);
			code = 1;
		}
		goto out;
	}
	/* shrink */
	r = pt_ls_shrink(test->name, &o, t, test->body, NULL, &s);
	if (r == PT_EFAILED) {
		printf("shrink of %s: the bug does not reproduce\n", path);
		code = 1;
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "lockstep: shrink: %s\n", pt_strerror(r));
		goto out;
	}
	{
		struct pt_buf out = PT_BUF_INIT;
		size_t len = strlen(path);

		if (pt__ends_with(path, ".lockstep"))
			len -= strlen(".lockstep");
		pt__free(s->binary);
		s->binary = binary ? pt__strdup(binary) : NULL;
		if (pt__buf_add(&out, path, len) < 0 ||
		    pt__buf_adds(&out, ".shrunk.lockstep") < 0 ||
		    (r = pt_ls_trace_save(s, out.s)) < 0) {
			fprintf(stderr, "lockstep: shrink: %s\n",
				pt_strerror(r));
			pt__buf_release(&out);
			goto out;
		}
		printf("shrunk %s: %zu -> %zu steps, written to %s\n", path,
		       t->nsteps, s->nsteps, out.s);
		pt__buf_release(&out);
		code = 0;
	}
out:
	pt_ls_report_free(rep);
	pt_ls_trace_free(t);
	pt_ls_trace_free(s);
	return code;
}

static int parse_strategy(const char *v, enum pt_ls_strategy *ret)
{
	for (int s = PT_LS_PCT; s < PT_LS_REPLAY; s++) {
		if (!strcmp(v, pt_ls_strategy_name((enum pt_ls_strategy)s))) {
			*ret = (enum pt_ls_strategy)s;
			return 0;
		}
	}
	return -EINVAL;
}

int pt_ls_main(int argc, char **argv)
{
	struct pt_ls_opts ov = { 0 };
	const char *run = NULL, *trace = NULL, *mode = NULL, *v, *dir = NULL;
	bool list = false, seed_set = false, strat_set = false;
	char binary[4096];
	uint64_t u;
	unsigned ntests = 0, k = 0, failed = 0;

	if (argc < 1 || !argv[0] ||
	    pt__lsos_realpath(argv[0], binary, sizeof(binary)) < 0)
		snprintf(binary, sizeof(binary), "%s",
			 argc > 0 && argv[0] ? argv[0] : "test");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--list")) {
			list = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("usage: %s [--list] [--run=NAME] [--seed=N] "
			       "[--iterations=N]\n"
			       "          [--strategy=pct|random|fair_pct|"
			       "pos|idpct] [--max-steps=N]\n"
			       "          [--trace-dir=DIR] [--timeout-ms=N] "
			       "[--fork]\n"
			       "       %s --lockstep-replay=TRACE "
			       "[--fallback-random=SEED]\n"
			       "       %s --lockstep-shrink=TRACE\n"
			       "       %s --lockstep-show=TRACE\n",
			       argv[0], argv[0], argv[0], argv[0]);
			return 0;
		} else if ((v = opt_val(a, "--run"))) {
			run = v;
		} else if ((v = opt_val(a, "--seed"))) {
			if (pt__parse_u64(v, &ov.seed) < 0)
				goto bad;
			seed_set = true;
		} else if ((v = opt_val(a, "--iterations"))) {
			if (pt__parse_u64(v, &u) < 0 || !u || u > UINT32_MAX)
				goto bad;
			ov.iterations = (unsigned)u;
		} else if ((v = opt_val(a, "--max-steps"))) {
			if (pt__parse_u64(v, &u) < 0 || !u || u > UINT32_MAX)
				goto bad;
			ov.max_steps = (unsigned)u;
		} else if ((v = opt_val(a, "--timeout-ms"))) {
			if (pt__parse_u64(v, &u) < 0 || !u || u > UINT32_MAX)
				goto bad;
			ov.timeout_ms = (unsigned)u;
		} else if ((v = opt_val(a, "--strategy"))) {
			if (parse_strategy(v, &ov.strategy) < 0)
				goto bad;
			strat_set = true;
		} else if (!strcmp(a, "--fork")) {
			ov.fork = true;
		} else if ((v = opt_val(a, "--trace-dir"))) {
			dir = v;
		} else if ((v = opt_val(a, "--fallback-random"))) {
			if (pt__parse_u64(v, &ov.fallback_seed) < 0)
				goto bad;
			ov.replay_fallback_random = true;
		} else if ((v = opt_val(a, "--lockstep-replay"))) {
			mode = "replay", trace = v;
		} else if ((v = opt_val(a, "--lockstep-shrink"))) {
			mode = "shrink", trace = v;
		} else if ((v = opt_val(a, "--lockstep-show"))) {
			mode = "show", trace = v;
		} else {
			fprintf(stderr,
				"%s: unknown option '%s' (try --help)\n",
				argv[0], a);
			return 2;
		}
		continue;
bad:
		fprintf(stderr, "%s: invalid value in '%s'\n", argv[0], a);
		return 2;
	}
	if (mode)
		return main_trace(mode, trace, &ov, binary);
	for (struct pt_ls_test *t = tests_head; t; t = t->next)
		if (!run || pt__glob_match(run, t->name))
			ntests++;
	if (list) {
		for (struct pt_ls_test *t = tests_head; t; t = t->next)
			if (!run || pt__glob_match(run, t->name))
				printf("%s\n", t->name);
		return 0;
	}
	printf("TAP version 14\n1..%u\n", ntests);
	for (struct pt_ls_test *t = tests_head; t; t = t->next) {
		struct pt_ls_opts o = t->opts;
		struct pt_ls_report *rep;
		int r;

		if (run && !pt__glob_match(run, t->name))
			continue;
		k++;
		if (seed_set)
			o.seed = ov.seed;
		if (ov.iterations)
			o.iterations = ov.iterations;
		if (ov.max_steps)
			o.max_steps = ov.max_steps;
		if (ov.timeout_ms)
			o.timeout_ms = ov.timeout_ms;
		if (strat_set)
			o.strategy = ov.strategy;
		if (dir)
			o.trace_dir = dir;
		if (ov.fork)
			o.fork = true;
		o.binary = binary;
		fflush(stdout);
		r = pt_ls_run(t->name, &o, t->body, NULL, &rep);
		if (r < 0) {
			printf("not ok %u - %s # error: %s\n", k, t->name,
			       pt_strerror(r));
			failed++;
			continue;
		}
		if (rep->kind == PT_LS_PASS) {
			printf("ok %u - %s # %u iterations, %" PRIu64 " steps, "
			       "%s\n",
			       k, t->name, rep->iterations, rep->total_steps,
			       rep->strategy);
		} else {
			printf("not ok %u - %s # %s on iteration %u\n", k,
			       t->name, pt_ls_kind_name(rep->kind),
			       rep->iteration);
			fprintf(stderr, "%s", rep->text ? rep->text : "");
			failed++;
		}
		pt_ls_report_free(rep);
	}
	fflush(stdout);
	return failed ? 1 : 0;
}
