/*
 * lost-wakeup: the consumer tests the flag without holding the lock and
 * then waits; the producer's signal can come between the test and the
 * wait, and the consumer sleeps forever. FIXED: test and wait under the
 * lock, in a loop.
 */
#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static volatile int ready;

static void *producer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	ready = 1;
	pthread_cond_signal(&c);
	pthread_mutex_unlock(&m);
	return NULL;
}

int main(void)
{
	pthread_t p;

	pthread_create(&p, NULL, producer, NULL);
#ifdef FIXED
	pthread_mutex_lock(&m);
	while (!ready)
		pthread_cond_wait(&c, &m);
	pthread_mutex_unlock(&m);
#else
	int busy = !ready;

	sched_yield(); /* a scheduling point between test and wait */
	if (busy) {
		pthread_mutex_lock(&m);
		pthread_cond_wait(&c, &m);
		pthread_mutex_unlock(&m);
	}
#endif
	pthread_join(p, NULL);
	return 0;
}
