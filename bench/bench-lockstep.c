/*
 * bench/bench-lockstep.c - lockstep scheduling throughput.
 *
 *   - steps/s on a message ping-pong between two actors, with the custom
 *     x86-64 context switch and with the ucontext fallback (swapcontext
 *     makes a sigprocmask syscall per switch), and the peer design: two
 *     threads handing a token to each other (mutex + condition variable),
 *     which is what "threads handed off one at a time" costs per step;
 *   - iterations/s of the lost-update counter example (correct version,
 *     so every iteration runs to the end);
 *   - wall time of 10,000 iterations of a 100-step test (target < 2 s);
 *   - bug-finding power on the lost-update counter: mean iterations to
 *     the first failure over 100 seeds per strategy, against the PCT
 *     bound n * k^(d-1) (docs/peers.md §P2: report measured / bound).
 *
 * Prints "metric NAME VALUE UNIT" lines.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <proctor/lockstep.h>

#include "lockstep/fiber.h"
#include "os/fd.h"
#include "os/proc.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rounds;

static void ponger(void *p)
{
	struct pt_ls_msg m;

	(void)p;
	for (;;) {
		pt_ls_recv(&m);
		if (m.type == 1)
			return;
		pt_ls_send(m.from, &m);
	}
}

static void pinger(void *p)
{
	struct pt_ls_msg m = { 0 };
	int peer = pt_ls_spawn(ponger, NULL);

	(void)p;
	for (long i = 0; i < rounds; i++) {
		pt_ls_send(peer, &m);
		pt_ls_recv(&m);
	}
	m.type = 1;
	pt_ls_send(peer, &m);
}

static double pingpong(long n, bool uc, enum pt_ls_strategy s)
{
	struct pt_ls_opts o = { .iterations = 1,
				.max_steps = 4000000000u,
				.strategy = s,
				.no_trace_file = true,
				.timeout_ms = 600000 };
	struct pt_ls_report *rep;
	double t0, t;

	rounds = n;
	pt__fiber_force_ucontext(uc);
	t0 = now_s();
	if (pt_ls_run("pingpong", &o, pinger, NULL, &rep) < 0 ||
	    rep->kind != PT_LS_PASS) {
		fprintf(stderr, "ping-pong failed\n");
		exit(1);
	}
	t = now_s() - t0;
	pt__fiber_force_ucontext(false);
	{
		double r = (double)rep->total_steps / t;
		pt_ls_report_free(rep);
		return r;
	}
}

/* The peer: two threads passing a token, one running at a time. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn;
static long handoffs;

static void *thread_side(void *p)
{
	int me = (int)(intptr_t)p;

	pthread_mutex_lock(&mu);
	for (long i = 0; i < handoffs; i++) {
		while (turn != me)
			pthread_cond_wait(&cv, &mu);
		turn = !me;
		pthread_cond_signal(&cv);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static double thread_handoffs(long n)
{
	pthread_t a, b;
	double t0;

	handoffs = n;
	turn = 0;
	t0 = now_s();
	pthread_create(&a, NULL, thread_side, (void *)(intptr_t)0);
	pthread_create(&b, NULL, thread_side, (void *)(intptr_t)1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return (double)(2 * n) / (now_s() - t0);
}

/* A 100-step test: two actors yielding 48 times each, plus start/spawn. */
static void yielder(void *p)
{
	(void)p;
	for (int i = 0; i < 48; i++)
		pt_ls_yield();
}

static void hundred(void *p)
{
	(void)p;
	pt_ls_spawn(yielder, NULL);
	for (int i = 0; i < 48; i++)
		pt_ls_yield();
}

/* The counter with an atomic increment: a server, two workers, calls. */
enum { INC = 1, GET, PUT };

static int c_init(void *arg, void **st)
{
	(void)arg;
	*st = pt_ls_alloc(sizeof(long));
	return *st ? 0 : -1;
}

static int c_call(void *st, const struct pt_ls_msg *req, struct pt_ls_from from,
		  struct pt_ls_msg *reply)
{
	long *v = st;

	(void)from;
	if (req->type == INC)
		++*v;
	else if (req->type == PUT)
		*v = req->a;
	reply->a = *v;
	return PT_LS_REPLY;
}

static const struct pt_ls_server_ops c_ops = { .init = c_init,
					       .handle_call = c_call };

static void c_worker(void *p)
{
	struct pt_ls_msg m = { .type = INC }, r;
	int *srv = p;

	pt_ls_call(srv[0], &m, &r);
	pt_ls_send(srv[1], &m);
}

static void counter(void *p)
{
	int *srv = pt_ls_alloc(2 * sizeof(int));
	struct pt_ls_msg m = { .type = GET }, r;

	(void)p;
	pt_ls_server_start(&c_ops, NULL, &srv[0]);
	srv[1] = pt_ls_self();
	pt_ls_spawn(c_worker, srv);
	pt_ls_spawn(c_worker, srv);
	pt_ls_recv(&r);
	pt_ls_recv(&r);
	pt_ls_call(srv[0], &m, &r);
	PT_LS_ASSERT(r.a == 2);
}

/* The lost-update counter: workers get, then put value + 1. */
static void lu_worker(void *p)
{
	struct pt_ls_msg m = { .type = GET }, r;
	int *srv = p;

	pt_ls_call(srv[0], &m, &r);
	m.type = PUT;
	m.a = r.a + 1;
	pt_ls_call(srv[0], &m, &r);
	pt_ls_send(srv[1], &m);
}

static void lost_update(void *p)
{
	int *srv = pt_ls_alloc(2 * sizeof(int));
	struct pt_ls_msg m = { .type = GET }, r;

	(void)p;
	pt_ls_server_start(&c_ops, NULL, &srv[0]);
	srv[1] = pt_ls_self();
	pt_ls_spawn(lu_worker, srv);
	pt_ls_spawn(lu_worker, srv);
	pt_ls_recv(&r);
	pt_ls_recv(&r);
	pt_ls_call(srv[0], &m, &r);
	PT_LS_ASSERT(r.a == 2);
}

/* Mean iterations to the first bug over nseeds seeds (cap: 10,000). */
static double mean_to_bug(struct pt_ls_opts o, unsigned nseeds,
			  unsigned *ret_missed, double *ret_steps)
{
	double sum = 0, steps = 0;
	unsigned found = 0;

	*ret_missed = 0;
	for (unsigned s = 0; s < nseeds; s++) {
		struct pt_ls_report *rep;

		o.seed = s;
		o.iterations = 10000;
		o.no_trace_file = true;
		if (pt_ls_run("lu", &o, lost_update, NULL, &rep) < 0)
			exit(1);
		if (rep->kind == PT_LS_FAIL_ASSERT) {
			sum += rep->iteration;
			steps += (double)rep->fail_step;
			found++;
		} else {
			++*ret_missed;
		}
		pt_ls_report_free(rep);
	}
	*ret_steps = found ? steps / found : 0;
	return found ? sum / found : 0;
}

static double run_iters(void (*body)(void *), unsigned n, enum pt_ls_strategy s,
			double *ret_steps_per_iter)
{
	struct pt_ls_opts o = { .iterations = n,
				.strategy = s,
				.no_trace_file = true };
	struct pt_ls_report *rep;
	double t0 = now_s(), t;

	if (pt_ls_run("bench", &o, body, NULL, &rep) < 0 ||
	    rep->kind != PT_LS_PASS) {
		fprintf(stderr, "iterations failed\n");
		exit(1);
	}
	t = now_s() - t0;
	*ret_steps_per_iter = (double)rep->total_steps / n;
	pt_ls_report_free(rep);
	return t;
}

/* ---- lockstep exec: real programs ------------------------------------- */

/* Runs argv natively n times, one after the other; seconds. */
static double native_runs(const char *const *argv, unsigned n)
{
	double t0 = now_s();

	for (unsigned i = 0; i < n; i++) {
		struct pt_spawn sp = {
			.argv = argv, .fd_in = -1, .fd_out = -1, .fd_err = -2
		};
		pid_t pid;
		int pidfd = -1, st;

		if (pt__spawn(&sp, &pid, &pidfd) < 0)
			return -1;
		pt__proc_wait(pid, pidfd, -1, &st);
		if (pidfd >= 0)
			pt__close(pidfd);
	}
	return now_s() - t0;
}

/* Seconds for o under exec; total steps in *steps. */
static double exec_run(struct pt_ls_exec_opts o, uint64_t *steps)
{
	struct pt_ls_report *rep = NULL;
	char err[256] = "";
	double t0 = now_s(), t;

	o.runtime = LS_RT;
	o.no_trace_file = true;
	o.err = err;
	o.errlen = sizeof(err);
	if (pt_ls_exec(&o, &rep) < 0) {
		fprintf(stderr, "bench-lockstep: exec: %s\n", err);
		return -1;
	}
	t = now_s() - t0;
	if (rep->kind != PT_LS_PASS)
		fprintf(stderr, "bench-lockstep: unexpected %s: %s\n",
			pt_ls_kind_name(rep->kind), rep->reason);
	*steps = rep->total_steps;
	pt_ls_report_free(rep);
	return t;
}

static void bench_exec(void)
{
	const char *small[] = { LS_SMALL, NULL };
	uint64_t steps;
	double t, tn;
	unsigned n = 1000;

	t = exec_run((struct pt_ls_exec_opts){ .argv = small,
					       .iterations = n,
					       .strategy = PT_LS_RANDOM },
		     &steps);
	tn = native_runs(small, n);
	printf("metric lockstep_exec_iterations_per_s %.0f iterations/s\n",
	       n / t);
	printf("metric lockstep_exec_native_runs_per_s %.0f runs/s\n", n / tn);
	printf("metric lockstep_exec_vs_native_runs_ratio %.2f x\n", tn / t);
	printf("metric lockstep_exec_small_steps_per_iteration %.1f steps\n",
	       (double)steps / n);
#ifdef LS_POINTS
	{
		const char *pts[] = { LS_POINTS, "200000", NULL };
		static const enum pt_ls_strategy ss[] = { PT_LS_PCT,
							  PT_LS_RANDOM };

		for (size_t i = 0; i < 2; i++) {
			t = exec_run(
				(struct pt_ls_exec_opts){ .argv = pts,
							  .iterations = 1,
							  .max_steps = 1000000,
							  .strategy = ss[i] },
				&steps);
			printf("metric lockstep_exec_points_per_s_%s %.0f "
			       "points/s\n",
			       pt_ls_strategy_name(ss[i]), steps / t);
		}
		printf("metric lockstep_exec_points_per_run %" PRIu64
		       " points\n",
		       steps);
		tn = native_runs(pts, 1);
		printf("metric lockstep_exec_points_native_run_s %.4f s\n", tn);
		printf("metric lockstep_exec_points_exec_run_s %.4f s\n", t);
	}
#endif
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	double sw, uc, th, pct, t, spi;

	if (argc > 2 && !strcmp(argv[2], "exec")) {
		bench_exec();
		return 0;
	}
	sw = pingpong(n, false, PT_LS_RANDOM);
	pct = pingpong(n, false, PT_LS_PCT);
	uc = pingpong(n / 4, true, PT_LS_RANDOM);
	th = thread_handoffs(n / 4);
	printf("metric lockstep_pingpong_steps_per_s %.0f steps/s\n", sw);
	printf("metric lockstep_pingpong_pct_steps_per_s %.0f steps/s\n", pct);
	printf("metric lockstep_pingpong_ucontext_steps_per_s %.0f steps/s\n",
	       uc);
	printf("metric thread_handoff_per_s %.0f handoffs/s\n", th);
	printf("metric lockstep_switch_vs_ucontext_ratio %.2f x\n", sw / uc);
	printf("metric lockstep_vs_thread_handoff_ratio %.2f x\n", sw / th);
	t = run_iters(counter, 10000, PT_LS_PCT, &spi);
	printf("metric lockstep_counter_iterations_per_s %.0f iterations/s\n",
	       10000 / t);
	printf("metric lockstep_counter_steps_per_iteration %.1f steps\n", spi);
	t = run_iters(hundred, 10000, PT_LS_PCT, &spi);
	printf("metric lockstep_100step_x10000_s %.3f s\n", t);
	printf("metric lockstep_100step_steps_per_iteration %.1f steps\n", spi);
	{
		static const struct {
			const char *name;
			struct pt_ls_opts o;
		} st[] = {
			{ "random", { .strategy = PT_LS_RANDOM } },
			{ "pct_d1", { .strategy = PT_LS_PCT, .depth = 1 } },
			{ "pct_d2", { .strategy = PT_LS_PCT, .depth = 2 } },
			{ "pct_d3", { .strategy = PT_LS_PCT, .depth = 3 } },
			{ "fair_pct", { .strategy = PT_LS_FAIR_PCT } },
			{ "pos", { .strategy = PT_LS_POS } },
			{ "idpct", { .strategy = PT_LS_IDPCT } },
		};
		/* n = 4 actors (body, server, two workers); k from the runs. */
		double k = 0, steps, pct3 = 0;
		unsigned missed;

		for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
			double m = mean_to_bug(st[i].o, 100, &missed, &steps);

			if (steps > k)
				k = steps;
			printf("metric lockstep_lost_update_mean_iters_%s %.2f "
			       "iterations\n",
			       st[i].name, m);
			printf("metric lockstep_lost_update_missed_%s %u "
			       "seeds_of_100\n",
			       st[i].name, missed);
			if (!strcmp(st[i].name, "pct_d3"))
				pct3 = m;
		}
		printf("metric lockstep_lost_update_k %.0f steps\n", k);
		printf("metric lockstep_lost_update_pct_bound_d3 %.0f iterations\n",
		       4 * k * k);
		printf("metric lockstep_lost_update_pct_d3_measured_vs_bound %.5f "
		       "ratio\n",
		       pct3 / (4 * k * k));
	}
	bench_exec();
	return 0;
}
