/*
 * bench/bench-mux.c - session pool round trips against a raw pipe.
 *
 * 1. Peer: two processes ping-pong over a pair of pipes, the parent
 *    writing as many bytes as one pool request frame and the child
 *    answering with as many bytes as the reply frame.
 * 2. The pool: one session on one mock-renderer worker, request/reply
 *    round trips (a query of a small tree), JSON and msgpack, with the
 *    worker running handlers inline (--threads 0) and on a handler thread
 *    (--threads 1). Each figure is the best of ROUNDS runs of DURATION,
 *    the peer's and the pool's runs interleaved.
 * 3. 1,000 concurrent sessions on one worker, driven by 10 threads
 *    (snapshot, query and a pipelined interact per session): lost and
 *    misrouted replies are counted.
 *
 * Usage: bench-mux [PATH-TO-proctor-mock-renderer]
 * Prints "metric NAME VALUE UNIT" lines (bench/README.md).
 */
#define _GNU_SOURCE 1
#include "base/common.h"
#include "os/clock.h"
#include "os/fd.h"

#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <proctor/mux.h>

#define DURATION_NS 300000000LL
#define ROUNDS	    5

static char mock[4096];

static const char *query_text = "{\"type\":\"query\",\"target\":\"tree\"}";
static const char *tree_text =
	"{\"type\":\"snapshot\",\"tree\":{\"id\":\"root\",\"type\":\"column\","
	"\"props\":{\"title\":\"bench\"}}}";

/*
 * CPU seconds used so far by this process and its reaped children (the
 * worker, the ping-pong peer): the second figure of each run, steadier
 * than wall time on a shared machine.
 */
static double cpu_s(void)
{
	struct rusage a, b;

	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec +
			b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec +
			b.ru_utime.tv_usec + b.ru_stime.tv_usec) /
		       1e6;
}

/* CPU microseconds per round trip of the last run. */
static double last_cpu_us;

static json_t *J(const char *s)
{
	return json_loads(s, 0, NULL);
}

/* Frame sizes of one request and its reply in format f. */
static void frame_sizes(enum pt_mux_format f, size_t *req, size_t *rep)
{
	json_t *q = J(query_text), *r;
	char *enc;

	json_object_set_new(q, "session", json_string("pool_1"));
	json_object_set_new(q, "id", json_string("req_12345"));
	pt_mux_encode(f, q, 0, &enc, req);
	pt_free(enc);
	r = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:s, s:s}", "type",
		      "query_response", "target", "tree", "data", "id", "root",
		      "type", "column", "props", "title", "bench", "id",
		      "req_12345", "session", "pool_1");
	pt_mux_encode(f, r, 0, &enc, rep);
	pt_free(enc);
	json_decref(q);
	json_decref(r);
}

/* Raw pipe ping-pong between two processes: round trips per second. */
static double pipe_rate(size_t req, size_t rep)
{
	int a[2], b[2];
	char *buf = pt__calloc(1, PT_MAX(req, rep));
	long n = 0;
	int64_t t0, t;
	pid_t pid;

	double c0 = cpu_s();

	if (pipe(a) || pipe(b))
		return 0;
	pid = fork();
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		while (pt__read_full(a[0], buf, req) == (ssize_t)req)
			if (pt__write_all(b[1], buf, rep) < 0)
				break;
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	t0 = pt__now_ns();
	do {
		for (int i = 0; i < 256; i++) {
			pt__write_all(a[1], buf, req);
			pt__read_full(b[0], buf, rep);
		}
		n += 256;
		t = pt__now_ns();
	} while (t - t0 < DURATION_NS);
	close(a[1]);
	close(b[0]);
	waitpid(pid, NULL, 0);
	pt__free(buf);
	last_cpu_us = (cpu_s() - c0) * 1e6 / (double)n;
	return (double)n * 1e9 / (double)(t - t0);
}

static struct pt_mux_pool *start(enum pt_mux_format f, const char *threads,
				 unsigned max)
{
	const char *argv[] = { mock, "--threads", threads, NULL };
	struct pt_mux_pool_opts o = { 0 };
	struct pt_mux_pool *p = NULL;
	int r;

	o.argv = argv;
	o.format = f;
	o.max_sessions = max;
	r = pt_mux_pool_new(&o, &p);
	if (r < 0) {
		fprintf(stderr, "bench-mux: cannot start %s: %s\n", mock,
			pt_strerror(r));
		exit(1);
	}
	return p;
}

static double pool_rate(enum pt_mux_format f, const char *threads)
{
	double c0 = cpu_s();
	struct pt_mux_pool *p = start(f, threads, 8);
	json_t *q = J(query_text), *tree = J(tree_text);
	char id[PT_MUX_ID_MAX];
	long n = 0;
	int64_t t0, t;

	pt_mux_register(p, NULL, NULL, id);
	pt_mux_send(p, id, tree);
	t0 = pt__now_ns();
	do {
		for (int i = 0; i < 256; i++) {
			json_t *r = NULL;
			if (pt_mux_request(p, id, q, 10000, &r) < 0) {
				fprintf(stderr, "bench-mux: request failed\n");
				exit(1);
			}
			json_decref(r);
		}
		n += 256;
		t = pt__now_ns();
	} while (t - t0 < DURATION_NS);
	json_decref(q);
	json_decref(tree);
	pt_mux_pool_free(p); /* reaps the worker: its CPU counts */
	last_cpu_us = (cpu_s() - c0) * 1e6 / (double)n;
	return (double)n * 1e9 / (double)(t - t0);
}

/* ---- 1,000 sessions ---------------------------------------------------- */

struct hammer {
	struct pt_mux_pool *p;
	int index, sessions;
	long ok, lost, misrouted;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	char(*ids)[PT_MUX_ID_MAX] =
		pt__calloc((size_t)h->sessions, PT_MUX_ID_MAX);
	char(*rids)[PT_MUX_ID_MAX] =
		pt__calloc((size_t)h->sessions, PT_MUX_ID_MAX);
	json_t *q = J(query_text);

	for (int s = 0; s < h->sessions; s++) {
		char name[32];
		json_t *m;
		pt_mux_register(h->p, NULL, NULL, ids[s]);
		snprintf(name, sizeof(name), "t%d-%d", h->index, s);
		m = json_pack("{s:s, s:{s:s}}", "type", "snapshot", "tree",
			      "id", name);
		pt_mux_send(h->p, ids[s], m);
		json_decref(m);
	}
	for (int s = 0; s < h->sessions; s++) {
		char name[32];
		json_t *r = NULL;
		snprintf(name, sizeof(name), "t%d-%d", h->index, s);
		if (pt_mux_request(h->p, ids[s], q, 30000, &r) < 0)
			h->lost++;
		else if (strcmp(json_string_value(json_object_get(
					json_object_get(r, "data"), "id")),
				name) != 0)
			h->misrouted++;
		else
			h->ok++;
		json_decref(r);
	}
	for (int s = 0; s < h->sessions; s++) {
		char sel[32];
		json_t *m;
		snprintf(sel, sizeof(sel), "#t%d-%d", h->index, s);
		m = json_pack("{s:s, s:s, s:s}", "type", "interact", "action",
			      "click", "selector", sel);
		pt_mux_interact(h->p, ids[s], m, rids[s]);
		json_decref(m);
	}
	for (int s = 0; s < h->sessions; s++) {
		struct pt_mux_event ev;
		const char *got, *rid;
		char name[32];

		if (pt_mux_next_event(h->p, ids[s], 30000, &ev) != 1) {
			h->lost++;
			continue;
		}
		snprintf(name, sizeof(name), "t%d-%d", h->index, s);
		rid = json_string_value(json_object_get(ev.msg, "id"));
		got = json_string_value(json_object_get(
			json_array_get(json_object_get(ev.msg, "events"), 0),
			"id"));
		if (!rid || strcmp(rid, rids[s]) || !got || strcmp(got, name))
			h->misrouted++;
		else
			h->ok++;
		pt_mux_event_release(&ev);
	}
	for (int s = 0; s < h->sessions; s++)
		pt_mux_unregister(h->p, ids[s]);
	json_decref(q);
	pt__free(ids);
	pt__free(rids);
	return NULL;
}

static void thousand(enum pt_mux_format f)
{
	enum { THREADS = 10, PER = 100 };
	struct pt_mux_pool *p = start(f, "2", THREADS * PER);
	struct hammer h[THREADS];
	pthread_t th[THREADS];
	long ok = 0, lost = 0, mis = 0;
	int64_t t0 = pt__now_ns(), t;
	const char *fmt = f == PT_MUX_JSON ? "json" : "msgpack";

	for (int i = 0; i < THREADS; i++) {
		h[i] = (struct hammer){ p, i, PER, 0, 0, 0 };
		pthread_create(&th[i], NULL, hammer_main, &h[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ok += h[i].ok;
		lost += h[i].lost;
		mis += h[i].misrouted;
	}
	t = pt__now_ns();
	pt_mux_pool_free(p);
	printf("metric mux_1000_sessions_%s_replies_ok %ld replies\n", fmt, ok);
	printf("metric mux_1000_sessions_%s_lost %ld replies\n", fmt, lost);
	printf("metric mux_1000_sessions_%s_misrouted %ld replies\n", fmt, mis);
	printf("metric mux_1000_sessions_%s_ms %.1f ms\n", fmt,
	       (double)(t - t0) / 1e6);
}

int main(int argc, char **argv)
{
	static const enum pt_mux_format fmts[] = { PT_MUX_JSON,
						   PT_MUX_MSGPACK };

	signal(SIGPIPE, SIG_IGN);
	if (argc > 1) {
		snprintf(mock, sizeof(mock), "%s", argv[1]);
	} else {
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = 0;
		snprintf(mock, sizeof(mock),
			 "%s/../src/mux/proctor-mock-renderer", dirname(self));
	}
	if (access(mock, X_OK) != 0) {
		fprintf(stderr, "bench-mux: no worker at %s\n", mock);
		return 1;
	}
	for (size_t k = 0; k < PT_ARRAY_SIZE(fmts); k++) {
		enum pt_mux_format f = fmts[k];
		const char *fmt = f == PT_MUX_JSON ? "json" : "msgpack";
		double peer = 0, inl = 0, thr = 0, r;
		double peer_cpu = 1e9, inl_cpu = 1e9;
		size_t req, rep;

		/* Rounds interleave the peer and the pool so that both meet
		 * the same machine load; the best round of each counts. */
		frame_sizes(f, &req, &rep);
		for (int round = 0; round < ROUNDS; round++) {
			r = pipe_rate(req, rep);
			peer = PT_MAX(peer, r);
			peer_cpu = PT_MIN(peer_cpu, last_cpu_us);
			r = pool_rate(f, "0");
			inl = PT_MAX(inl, r);
			inl_cpu = PT_MIN(inl_cpu, last_cpu_us);
			thr = PT_MAX(thr, pool_rate(f, "1"));
		}
		printf("metric mux_%s_frame_bytes %zu+%zu bytes\n", fmt, req,
		       rep);
		printf("metric mux_%s_raw_pipe_rtt %.0f round-trips/s\n", fmt,
		       peer);
		printf("metric mux_%s_pool_rtt %.0f round-trips/s\n", fmt, inl);
		printf("metric mux_%s_pool_vs_pipe %.2f ratio\n", fmt,
		       inl / peer);
		printf("metric mux_%s_raw_pipe_cpu %.1f us/round-trip\n", fmt,
		       peer_cpu);
		printf("metric mux_%s_pool_cpu %.1f us/round-trip\n", fmt,
		       inl_cpu);
		printf("metric mux_%s_pool_vs_pipe_cpu %.2f ratio\n", fmt,
		       peer_cpu / inl_cpu);
		printf("metric mux_%s_pool_threaded_worker_rtt %.0f "
		       "round-trips/s\n",
		       fmt, thr);
		printf("metric mux_%s_pool_threaded_worker_vs_pipe %.2f ratio\n",
		       fmt, thr / peer);
	}
	thousand(PT_MUX_JSON);
	thousand(PT_MUX_MSGPACK);
	return 0;
}
