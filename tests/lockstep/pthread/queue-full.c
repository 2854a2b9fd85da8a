/*
 * queue-full (-fsanitize=thread): producers check for room, then push,
 * in two critical sections; two can see the last free slot. FIXED: one
 * critical section.
 */
#include <assert.h>
#include <pthread.h>

#define CAP 1
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int q[CAP + 1], n;

static void *producer(void *arg)
{
	int room;

	(void)arg;
	pthread_mutex_lock(&m);
	room = n < CAP;
#ifndef FIXED
	pthread_mutex_unlock(&m);
	pthread_mutex_lock(&m);
#endif
	if (room)
		q[n++] = 1;
	pthread_mutex_unlock(&m);
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	pthread_create(&a, NULL, producer, NULL);
	pthread_create(&b, NULL, producer, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert(n <= CAP);
	return 0;
}
