/*
 * bench/bench-solve.c - the session engine on synthetic plans: load,
 * solve (+ readiness) and per-result readiness update, at 1k, 10k and
 * 100k jobs; bytes allocated per job.
 *
 * The generator follows the PlainBox driver's synthetic mode (§8.1):
 * job i draws 0..3 predecessors j < i among the previous `locality` jobs;
 * each edge is `i depends j` (55%), `i after j` (25%) or `j before i`
 * (20%); 5% of the jobs are resource jobs `res_NNNNN`, and an edge to one
 * becomes `requires: res_j.attr == 'vK'` with probability 0.7; the
 * desired list is a random 50%, shuffled.
 *
 * The same plan is measured twice: built by hand as struct pt_job arrays
 * (the engine alone), and as generated pxu text loaded by the unit module
 * (parse + session + solve). A run then walks the run list like a runner:
 * a job that can start gets pass (90%) or fail, a blocked one gets its
 * determined outcome; resource jobs produce 2 records.
 *
 * Peer: PlainBox itself, run in the same process tree on the same plan:
 * with PROCTOR_PLAINBOX_SRC set to a checkbox-ng source directory (the
 * one holding the plainbox package; PROCTOR_PLAINBOX_PYTHON, default
 * python3, must import it), the generated pxu text and desired list are
 * written to a temporary directory and bench/plainbox-solve.py times
 * PlainBox's SessionState, update_desired_job_list, DependencySolver and
 * update_job_result on them; the ratios are against those measurements.
 * Without it, no peer figure is printed (none is copied from a document).
 *
 * Usage: bench-solve [--quick]   (--quick: 1k and 10k only)
 */
#include <proctor/proctor.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rng.h"
#include "os/clock.h"
#include "os/file.h"
#include "plainbox-peer.h"
#include "session/expr.h"

struct plan {
	size_t n;
	struct pt_job *jobs;
	const struct pt_job **ptrs;
	const char **desired;
	size_t n_desired;
	char *pxu;
	size_t pxu_len;
};

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p) {
		fprintf(stderr, "bench-solve: out of memory\n");
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = xmalloc(strlen(s) + 1);

	memcpy(p, s, strlen(s) + 1);
	return p;
}

struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap ? 2 * b->cap + (size_t)n : 4096 + (size_t)n;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			exit(1);
	}
	b->len += (size_t)n;
}

struct list {
	const char **v;
	size_t n;
};

static void push(struct list *l, const char *s)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (!l->v)
		exit(1);
	l->v[l->n++] = s;
}

static struct plan *generate(size_t n, uint64_t seed)
{
	struct plan *p = xmalloc(sizeof(*p));
	struct pt_rng r;
	struct list *dep = xmalloc(n * sizeof(*dep));
	struct list *aft = xmalloc(n * sizeof(*aft));
	struct list *bef = xmalloc(n * sizeof(*bef));
	struct sbuf *req = xmalloc(n * sizeof(*req));
	char **ids = xmalloc(n * sizeof(*ids));
	bool *res = xmalloc(n);
	struct sbuf pxu = { 0 };
	size_t locality = 50;

	pt__rng_seed(&r, seed);
	p->n = n;
	p->jobs = xmalloc(n * sizeof(*p->jobs));
	p->ptrs = xmalloc(n * sizeof(*p->ptrs));
	for (size_t i = 0; i < n; i++) {
		char id[32];

		res[i] = pt__rng_below(&r, 100) < 5;
		snprintf(id, sizeof(id), res[i] ? "res_%05zu" : "job-%05zu", i);
		ids[i] = xstrdup(id);
	}
	for (size_t i = 1; i < n; i++) {
		size_t k = pt__rng_below(&r, 4);
		size_t lo = i > locality ? i - locality : 0;

		for (size_t e = 0; e < k; e++) {
			size_t j = lo + pt__rng_below(&r, i - lo);
			unsigned t = (unsigned)pt__rng_below(&r, 100);

			if (res[j] && pt__rng_below(&r, 10) < 7) {
				sb_add(&req[i], "%s%s.attr == 'v%d'",
				       req[i].len ? "\n" : "", ids[j],
				       (int)pt__rng_below(&r, 4));
				continue;
			}
			if (t < 55)
				push(&dep[i], ids[j]);
			else if (t < 80)
				push(&aft[i], ids[j]);
			else
				push(&bef[j], ids[i]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct pt_job *j = &p->jobs[i];

		j->id = j->partial_id = ids[i];
		j->ns = "";
		j->shell = "bash";
		j->command = "true";
		j->plugin = res[i] ? PT_PLUGIN_RESOURCE : PT_PLUGIN_SHELL;
		j->depends = (struct pt_strlist){ dep[i].n, dep[i].v };
		j->after = (struct pt_strlist){ aft[i].n, aft[i].v };
		j->before = (struct pt_strlist){ bef[i].n, bef[i].v };
		j->requires = req[i].len ? req[i].s : NULL;
		j->category_id = "com.canonical.plainbox::uncategorised";
		j->certification_status = "non-blocker";
		j->auto_retry = "unspecified";
		j->estimated_duration = -1;
		j->timeout = -1;
		j->file = "<bench>";
		p->ptrs[i] = j;
		sb_add(&pxu, "id: %s\nplugin: %s\ncommand: true\n", ids[i],
		       res[i] ? "resource" : "shell");
		sb_add(&pxu, "_summary: synthetic job %zu\n", i);
		if (dep[i].n) {
			sb_add(&pxu, "depends:");
			for (size_t k = 0; k < dep[i].n; k++)
				sb_add(&pxu, " %s", dep[i].v[k]);
			sb_add(&pxu, "\n");
		}
		if (aft[i].n) {
			sb_add(&pxu, "after:");
			for (size_t k = 0; k < aft[i].n; k++)
				sb_add(&pxu, " %s", aft[i].v[k]);
			sb_add(&pxu, "\n");
		}
		if (bef[i].n) {
			sb_add(&pxu, "before:");
			for (size_t k = 0; k < bef[i].n; k++)
				sb_add(&pxu, " %s", bef[i].v[k]);
			sb_add(&pxu, "\n");
		}
		if (req[i].len) {
			sb_add(&pxu, "requires:");
			for (const char *s = req[i].s; *s;) {
				const char *e = strchr(s, '\n');
				size_t len = e ? (size_t)(e - s) : strlen(s);

				sb_add(&pxu, " %.*s\n", (int)len, s);
				s += len + (e != NULL);
			}
		}
		sb_add(&pxu, "\n");
	}
	/* Desired: a random half, shuffled. */
	p->desired = xmalloc(n * sizeof(*p->desired));
	for (size_t i = 0; i < n; i++)
		if (pt__rng_below(&r, 2))
			p->desired[p->n_desired++] = ids[i];
	pt__rng_shuffle(&r, p->desired, p->n_desired, sizeof(*p->desired));
	p->pxu = pxu.s;
	p->pxu_len = pxu.len;
	free(dep);
	free(aft);
	free(bef);
	free(req);
	free(res);
	free(ids);
	return p;
}

/* Counting allocator: live bytes through the library's seam. */
static size_t live, peak;

static void *c_malloc(void *ctx, size_t n)
{
	size_t *p = malloc(n + 16);

	(void)ctx;
	if (!p)
		return NULL;
	p[0] = n;
	live += n;
	if (live > peak)
		peak = live;
	return (char *)p + 16;
}

static void *c_realloc(void *ctx, void *q, size_t n)
{
	size_t *p = q ? (size_t *)(void *)((char *)q - 16) : NULL;
	size_t old = p ? p[0] : 0;

	(void)ctx;
	p = realloc(p, n + 16);
	if (!p)
		return NULL;
	p[0] = n;
	live += n - old;
	if (live > peak)
		peak = live;
	return (char *)p + 16;
}

static void c_free(void *ctx, void *q)
{
	(void)ctx;
	if (!q)
		return;
	q = (char *)q - 16;
	live -= *(size_t *)q;
	free(q);
}

/* CPU time of this thread: less sensitive to the other users of the
 * shared cores than the wall clock. */
static int64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Walks the run list like a runner; returns the mean update time (ns). */
static double simulate(struct pt_session *s, uint64_t seed, double *ret_p99,
		       double *ret_median, size_t *ret_results)
{
	struct pt_rng r;
	size_t n = pt_session_run_list_count(s), k = 0;
	int64_t *t = xmalloc((n + 1) * sizeof(*t));
	int64_t total = 0;
	static const char *keys[] = { "attr", "name" };
	const char *v0[] = { "v0", "a" }, *v1[] = { "v1", "b" };
	struct pt_resource_record recs[2] = { { 2, keys, v0 },
					      { 2, keys, v1 } };

	pt__rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		size_t job = pt_session_run_list_get(s, i);
		struct pt_result res = { .duration = 0.01 };
		int64_t t0;

		if (pt_session_can_start(s, job))
			res.outcome = pt__rng_below(&r, 10) ? PT_OUTCOME_PASS
							    : PT_OUTCOME_FAIL;
		else
			res.outcome = pt_session_blocked_outcome(s, job);
		if (res.outcome == PT_OUTCOME_NONE)
			res.outcome = PT_OUTCOME_SKIPPED_DEPENDENCY;
		t0 = pt__now_ns();
		if (pt_session_set_result(s, job, &res, recs, 2) < 0) {
			fprintf(stderr, "bench-solve: set_result failed\n");
			exit(1);
		}
		t[k] = pt__now_ns() - t0;
		total += t[k++];
	}
	qsort(t, k, sizeof(*t), cmp_i64);
	*ret_p99 = k ? (double)t[k * 99 / 100] : 0;
	*ret_median = k ? (double)t[k / 2] : 0;
	*ret_results = k;
	free(t);
	return k ? (double)total / (double)k : 0;
}

struct figures {
	double load_ms, solve_ms, pxu_load_ms, pxu_solve_ms, cpu_ms;
	double update_median_us;
	double update_us, update_p99_us, bytes_per_job, retained_per_job;
	size_t run_list, results, problems, programs;
	double prog_bytes;
};

/* PlainBox's figures for the plan of n jobs (the one measure uses). */
struct peer {
	bool ok;
	double state_ms, update_desired_ms, solve_ms, result_update_us;
	size_t run_list;
};

static void run_peer(size_t n, struct peer *pe)
{
	struct plan *p;
	char dir[] = "/tmp/bench-solve-XXXXXX", pxu[4200], desired[4200];
	char reps[8];
	const char *args[] = { pxu, desired, reps };
	struct peer_figures pf;
	FILE *f;

	memset(pe, 0, sizeof(*pe));
	if (!getenv("PROCTOR_PLAINBOX_SRC") || !mkdtemp(dir))
		return;
	p = generate(n, 42 + n);
	snprintf(pxu, sizeof(pxu), "%s/plan.pxu", dir);
	if ((f = fopen(pxu, "w"))) {
		fwrite(p->pxu, 1, p->pxu_len, f);
		fclose(f);
	}
	snprintf(desired, sizeof(desired), "%s/desired.txt", dir);
	if ((f = fopen(desired, "w"))) {
		for (size_t i = 0; i < p->n_desired; i++)
			fprintf(f, "%s\n", p->desired[i]);
		fclose(f);
	}
	snprintf(reps, sizeof(reps), "%d", n >= 100000 ? 1 : 3);
	pe->ok = peer_run("plainbox-solve.py", args, 3, &pf);
	(void)!pt__rm_rf(dir);
	pe->state_ms = peer_get(&pf, "state_ms");
	pe->update_desired_ms = peer_get(&pf, "update_desired_ms");
	pe->solve_ms = peer_get(&pf, "solve_ms");
	pe->result_update_us = peer_get(&pf, "result_update_us");
	pe->run_list = peer_get(&pf, "run_list") > 0
			       ? (size_t)peer_get(&pf, "run_list")
			       : 0;
	pe->ok = pe->ok && pe->solve_ms > 0;
}

static void measure(size_t n, int reps, struct figures *f)
{
	struct plan *p = generate(n, 42 + n);
	struct pt_allocator counting = { c_malloc, c_realloc, c_free, NULL };
	double best_load = 1e300, best_solve = 1e300;
	double best_pload = 1e300, best_psolve = 1e300, best_cpu = 1e300;

	for (int rep = 0; rep < reps; rep++) {
		struct pt_session *s = NULL;
		struct pt_units *u = NULL;
		int64_t t0, t1, t2, c0, c1;

		/* Hand-built jobs: the engine alone. */
		if (rep == 0) {
			live = peak = 0;
			pt_set_allocator(&counting);
		}
		c0 = cpu_ns();
		t0 = pt__now_ns();
		if (pt_session_new(p->ptrs, p->n, &s) < 0)
			exit(1);
		t1 = pt__now_ns();
		if (pt_session_set_desired(s, p->desired, p->n_desired, true) <
		    0)
			exit(1);
		t2 = pt__now_ns();
		c1 = cpu_ns();
		if (ms(c1 - c0) < best_cpu)
			best_cpu = ms(c1 - c0);
		if (rep == 0) {
			f->bytes_per_job = (double)peak / (double)n;
			f->retained_per_job = (double)live / (double)n;
			f->run_list = pt_session_run_list_count(s);
			f->problems = pt_session_problem_count(s);
			/* Allocated by the counting allocator: free under it.
			 */
			pt_session_free(s);
			pt_set_allocator(NULL);
		} else {
			pt_session_free(s);
		}
		if (rep == 0) {
			/* What the compiled `requires` programs alone take. */
			size_t np = 0;

			live = peak = 0;
			pt_set_allocator(&counting);
			for (size_t i = 0; i < p->n; i++) {
				struct pt_expr_prog *prog = NULL;
				bool seen = false;

				if (!p->jobs[i].requires)
					continue;
				/* The session shares identical programs. */
				for (size_t k = i; k-- > 0 && !seen;)
				seen = p->jobs[k].requires &&
				       !strcmp(p->jobs[k].requires,
					       p->jobs[i].requires);
				if (seen)
					continue;
				if (pt__expr_prog_new(p->jobs[i].requires, NULL,
						      &prog, NULL) == 0) {
					np++;
					f->prog_bytes += (double)live;
					live = 0;
					pt__expr_prog_free(prog);
					live = 0;
				}
			}
			pt_set_allocator(NULL);
			f->programs = np;
		}
		if (ms(t1 - t0) < best_load)
			best_load = ms(t1 - t0);
		if (ms(t2 - t1) < best_solve)
			best_solve = ms(t2 - t1);

		/* Generated pxu text through the unit loader. */
		t0 = pt__now_ns();
		if (pt_units_new(&u) < 0 ||
		    pt_units_load_buffer(u, p->pxu, p->pxu_len, "bench.pxu",
					 NULL, NULL) < 0)
			exit(1);
		{
			size_t nj = pt_units_job_count(u);
			const struct pt_job **jobs =
				xmalloc(nj * sizeof(*jobs));

			for (size_t i = 0; i < nj; i++)
				jobs[i] = pt_units_job(u, i);
			if (pt_session_new(jobs, nj, &s) < 0)
				exit(1);
			free(jobs);
		}
		t1 = pt__now_ns();
		if (pt_session_set_desired(s, p->desired, p->n_desired, true) <
		    0)
			exit(1);
		t2 = pt__now_ns();
		if (pt_session_run_list_count(s) != f->run_list) {
			fprintf(stderr,
				"bench-solve: pxu run list %zu != %zu\n",
				pt_session_run_list_count(s), f->run_list);
			exit(1);
		}
		if (ms(t1 - t0) < best_pload)
			best_pload = ms(t1 - t0);
		if (ms(t2 - t1) < best_psolve)
			best_psolve = ms(t2 - t1);
		if (rep == reps - 1) {
			double p99, med;

			f->update_us =
				simulate(s, 7, &p99, &med, &f->results) / 1e3;
			f->update_p99_us = p99 / 1e3;
			f->update_median_us = med / 1e3;
		}
		pt_session_free(s);
		pt_units_free(u);
	}
	f->cpu_ms = best_cpu;
	f->load_ms = best_load;
	f->solve_ms = best_solve;
	f->pxu_load_ms = best_pload;
	f->pxu_solve_ms = best_psolve;
}

int main(int argc, char **argv)
{
	size_t sizes[] = { 1000, 10000, 100000 };
	size_t nsizes = argc > 1 && !strcmp(argv[1], "--quick") ? 2 : 3;
	struct figures f[3];

	for (size_t k = 0; k < nsizes; k++) {
		const char *tag = sizes[k] == 1000    ? "1k"
				  : sizes[k] == 10000 ? "10k"
						      : "100k";

		measure(sizes[k], sizes[k] >= 100000 ? 2 : 5, &f[k]);
		printf("# %zu jobs: run list %zu, %zu problems, %zu results\n",
		       sizes[k], f[k].run_list, f[k].problems, f[k].results);
		printf("metric session_load_%s_ms %.3f ms\n", tag,
		       f[k].load_ms);
		printf("metric solve_%s_ms %.3f ms\n", tag, f[k].solve_ms);
		printf("metric load_solve_%s_ms %.3f ms\n", tag,
		       f[k].load_ms + f[k].solve_ms);
		printf("metric load_solve_cpu_%s_ms %.3f ms\n", tag,
		       f[k].cpu_ms);
		printf("metric pxu_load_%s_ms %.3f ms\n", tag,
		       f[k].pxu_load_ms);
		printf("metric pxu_load_solve_%s_ms %.3f ms\n", tag,
		       f[k].pxu_load_ms + f[k].pxu_solve_ms);
		printf("metric result_update_%s_us %.3f us\n", tag,
		       f[k].update_us);
		printf("metric result_update_median_%s_us %.3f us\n", tag,
		       f[k].update_median_us);
		printf("metric result_update_p99_%s_us %.3f us\n", tag,
		       f[k].update_p99_us);
		printf("metric session_peak_bytes_per_job_%s %.0f B\n", tag,
		       f[k].bytes_per_job);
		printf("metric session_retained_bytes_per_job_%s %.0f B\n", tag,
		       f[k].retained_per_job);
		printf("metric requires_program_bytes_%s %.0f B\n", tag,
		       f[k].programs ? f[k].prog_bytes / (double)f[k].programs
				     : 0);
		printf("metric session_bytes_per_job_without_programs_%s "
		       "%.0f B\n",
		       tag,
		       f[k].retained_per_job -
			       f[k].prog_bytes / (double)sizes[k]);
		if (sizes[k] <= 10000) {
			struct peer pe;

			run_peer(sizes[k], &pe);
			if (!pe.ok) {
				printf("# PlainBox peer not run (set "
				       "PROCTOR_PLAINBOX_SRC, bench/README.md)"
				       "\n");
				continue;
			}
			printf("# PlainBox, same plan: run list %zu\n",
			       pe.run_list);
			printf("metric plainbox_solve_%s_ms %.1f ms\n", tag,
			       pe.solve_ms);
			printf("metric plainbox_load_solve_%s_ms %.1f ms\n",
			       tag, pe.state_ms + pe.update_desired_ms);
			printf("metric plainbox_result_update_%s_us %.0f us\n",
			       tag, pe.result_update_us);
			printf("metric ratio_solve_%s %.0f x\n", tag,
			       pe.solve_ms / f[k].solve_ms);
			printf("metric ratio_load_solve_%s %.0f x\n", tag,
			       (pe.state_ms + pe.update_desired_ms) /
				       (f[k].load_ms + f[k].solve_ms));
			printf("metric ratio_result_update_%s %.0f x\n", tag,
			       pe.result_update_us / f[k].update_us);
		}
	}
	if (nsizes == 3) {
		printf("metric growth_load_solve_cpu_100k_over_10k %.2f x\n",
		       f[2].cpu_ms / f[1].cpu_ms);
		printf("metric growth_load_solve_100k_over_10k %.2f x\n",
		       (f[2].load_ms + f[2].solve_ms) /
			       (f[1].load_ms + f[1].solve_ms));
		printf("metric growth_pxu_load_solve_100k_over_10k %.2f x\n",
		       (f[2].pxu_load_ms + f[2].pxu_solve_ms) /
			       (f[1].pxu_load_ms + f[1].pxu_solve_ms));
	}
	return 0;
}
