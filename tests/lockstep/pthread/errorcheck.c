/*
 * errorcheck: a logger takes its (error-checking) lock and, when another
 * thread has set the "flush" flag meanwhile, calls flush(), which takes
 * the same lock again: EDEADLK. FIXED: a recursive mutex.
 */
#include <assert.h>
#include <pthread.h>

static pthread_mutex_t m;
static volatile int want_flush;

static void flush(void)
{
	int r = pthread_mutex_lock(&m);

	assert(r == 0);
	want_flush = 0;
	pthread_mutex_unlock(&m);
}

static void *logger(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	sched_yield();
	if (want_flush)
		flush();
	pthread_mutex_unlock(&m);
	return NULL;
}

static void *flusher(void *arg)
{
	(void)arg;
	want_flush = 1;
	return NULL;
}

int main(void)
{
	pthread_mutexattr_t a;
	pthread_t x, y;

	pthread_mutexattr_init(&a);
#ifdef FIXED
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
#else
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
#endif
	pthread_mutex_init(&m, &a);
	pthread_create(&x, NULL, logger, NULL);
	pthread_create(&y, NULL, flusher, NULL);
	pthread_join(x, NULL);
	pthread_join(y, NULL);
	return 0;
}
