/*
 * mux-pool: proctor's own session pool (src/mux/pool.c) under lockstep
 * exec: the pool's threads and the callers' threads are scheduled; the
 * worker (the mock renderer, argv[1]) is a separate process that runs
 * freely. Two callers register a session each, make a request, and
 * unregister, concurrently; every request gets its reply and the pool
 * ends with no live session.
 */
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include <jansson.h>
#include <proctor/mux.h>

static struct pt_mux_pool *pool;

static void *caller(void *arg)
{
	char id[PT_MUX_ID_MAX];
	json_t *req = json_pack("{s:s}", "type", "query"), *reply = NULL;

	(void)arg;
	assert(pt_mux_register(pool, NULL, NULL, id) == 0);
	assert(pt_mux_request(pool, id, req, 10000, &reply) == 0);
	assert(reply != NULL);
	json_decref(reply);
	json_decref(req);
	assert(pt_mux_unregister(pool, id) == 0);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *wargv[] = { argc > 1 ? argv[1] : "proctor-mock-renderer",
				"--threads", "0", NULL };
	struct pt_mux_pool_opts o = { 0 };
	struct pt_mux_pool_stats st;
	pthread_t a, b;

	signal(SIGPIPE, SIG_IGN);
	o.argv = wargv;
	o.format = PT_MUX_JSON;
	o.max_sessions = 4;
	o.close_grace_ms = 300;
	assert(pt_mux_pool_new(&o, &pool) == 0);
	pthread_create(&a, NULL, caller, NULL);
	pthread_create(&b, NULL, caller, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pt_mux_pool_stats(pool, &st);
	assert(st.live_sessions == 0 && st.pending_requests == 0);
	pt_mux_pool_free(pool);
	return 0;
}
