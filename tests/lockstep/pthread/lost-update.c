/*
 * lost-update (compiled with -fsanitize=thread): two threads increment a
 * plain counter; a load and a store each, so an increment can be lost.
 * FIXED: an atomic increment.
 */
#include <assert.h>
#include <pthread.h>

static int counter;

static void *worker(void *arg)
{
	(void)arg;
#ifdef FIXED
	__atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
#else
	counter++;
#endif
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	pthread_create(&a, NULL, worker, NULL);
	pthread_create(&b, NULL, worker, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert(counter == 2);
	return 0;
}
