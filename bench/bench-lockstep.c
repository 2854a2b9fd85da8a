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
 *   - wall time of 10,000 iterations of a 100-step test (target < 2 s).
 *
 * Prints "metric NAME VALUE UNIT" lines.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <proctor/lockstep.h>

#include "lockstep/fiber.h"

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
	struct pt_ls_opts o = { .iterations = 1, .max_steps = 4000000000u,
				.strategy = s, .no_trace_file = true,
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
enum { INC = 1, GET };

static int c_init(void *arg, void **st)
{
	(void)arg;
	*st = pt_ls_alloc(sizeof(long));
	return *st ? 0 : -1;
}

static int c_call(void *st, const struct pt_ls_msg *req,
		  struct pt_ls_from from, struct pt_ls_msg *reply)
{
	long *v = st;

	(void)from;
	if (req->type == INC)
		++*v;
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

static double run_iters(void (*body)(void *), unsigned n,
			enum pt_ls_strategy s, double *ret_steps_per_iter)
{
	struct pt_ls_opts o = { .iterations = n, .strategy = s,
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

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	double sw, uc, th, pct, t, spi;

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
	return 0;
}
