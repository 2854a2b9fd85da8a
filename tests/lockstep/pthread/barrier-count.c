/*
 * barrier-count: three workers publish a result and meet at a barrier
 * sized for two, so the main thread's check after its own barrier wait
 * can run before the third result is in. FIXED: a barrier for everyone.
 */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>

#define N 2
static pthread_barrier_t b;
static int result[N];

static void *worker(void *arg)
{
	int i = (int)(intptr_t)arg;

	result[i] = i + 1;
	pthread_barrier_wait(&b);
	return NULL;
}

int main(void)
{
	pthread_t t[N];

#ifdef FIXED
	pthread_barrier_init(&b, NULL, N + 1);
#else
	pthread_barrier_init(&b, NULL, N);
#endif
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
#ifdef FIXED
	pthread_barrier_wait(&b);
#endif
	/* Without the main thread in the barrier, nothing orders this. */
	sched_yield();
	assert(result[0] == 1 && result[1] == 2);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	return 0;
}
