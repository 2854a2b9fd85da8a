/*
 * cond-if: two consumers wait for an item with `if` instead of `while`;
 * one item and a broadcast wake both, and the second takes from an empty
 * queue. FIXED: re-check the predicate in a loop.
 */
#include <assert.h>
#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int items, taken;

static void *consumer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
#ifdef FIXED
	while (items == 0 && taken < 1)
		pthread_cond_wait(&c, &m);
	if (items > 0) {
		items--;
		taken++;
	}
#else
	if (items == 0)
		pthread_cond_wait(&c, &m);
	assert(items > 0);
	items--;
	taken++;
#endif
	pthread_mutex_unlock(&m);
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	pthread_create(&a, NULL, consumer, NULL);
	pthread_create(&b, NULL, consumer, NULL);
	pthread_mutex_lock(&m);
	items = 1;
	pthread_cond_broadcast(&c);
	pthread_mutex_unlock(&m);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return taken == 1 ? 0 : 1;
}
