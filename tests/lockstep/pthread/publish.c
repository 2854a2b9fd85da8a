/*
 * publish (-fsanitize=thread): a producer raises the "ready" flag before
 * writing the data; the consumer spins on the flag (every load is a
 * scheduling point) and reads stale data. FIXED: data first, then flag.
 */
#include <assert.h>
#include <pthread.h>

static int data, ready;

static void *producer(void *arg)
{
	(void)arg;
#ifdef FIXED
	data = 42;
	__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
#else
	__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	data = 42;
#endif
	return NULL;
}

int main(void)
{
	pthread_t p;

	pthread_create(&p, NULL, producer, NULL);
	while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		;
	assert(data == 42);
	pthread_join(p, NULL);
	return 0;
}
