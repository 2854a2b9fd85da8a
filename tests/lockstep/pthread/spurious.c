/*
 * spurious: a consumer waits with `if` instead of `while`; correct only
 * when condition variables never wake spuriously, which POSIX allows.
 * Found with spurious wake-ups enabled (--spurious=1). FIXED: `while`.
 */
#include <assert.h>
#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int ready;

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
	pthread_mutex_lock(&m);
#ifdef FIXED
	while (!ready)
#else
	if (!ready)
#endif
		pthread_cond_wait(&c, &m);
	assert(ready);
	pthread_mutex_unlock(&m);
	pthread_join(p, NULL);
	return 0;
}
