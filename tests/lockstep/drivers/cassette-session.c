/*
 * cassette-session: proctor's own src/cassette/session.c under lockstep
 * exec (compiled into this driver with -fsanitize=thread when the build
 * allows, so its atomics and plain accesses are scheduling points too).
 * Three threads take sequential indices of one cassette from a shared
 * local session while the main thread holds the outer use: the indices
 * handed out must be 0..8, each once. A second key, started and ended by
 * each thread (nested uses), must never hand out an index twice while a
 * use is active.
 */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>

#include <proctor/cassette.h>

#define THREADS 3
#define PER	3

static struct pt_cassette_session *s;
static int64_t got[THREADS][PER];

static void *taker(void *arg)
{
	int i = (int)(intptr_t)arg;

	for (int k = 0; k < PER; k++)
		got[i][k] = pt_cassette_session_next(s, "cassettes/a.json");
	assert(pt_cassette_session_start(s, "cassettes/b.json") > 0);
	assert(pt_cassette_session_next(s, "cassettes/b.json") >= 0);
	assert(pt_cassette_session_end(s, "cassettes/b.json") == 0);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	int seen[THREADS * PER] = { 0 };

	assert(pt_cassette_session_new(&s) == 0);
	assert(pt_cassette_session_start(s, "cassettes/a.json") > 0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, taker, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < PER; k++) {
			assert(got[i][k] >= 0 && got[i][k] < THREADS * PER);
			assert(seen[got[i][k]]++ == 0);
		}
	assert(pt_cassette_session_current(s, "cassettes/a.json") ==
	       THREADS * PER);
	assert(pt_cassette_session_end(s, "cassettes/a.json") == 0);
	pt_cassette_session_free(s);
	return 0;
}
