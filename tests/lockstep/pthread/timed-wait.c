/*
 * timed-wait: a consumer waits at most 10 ms (pthread_cond_timedwait) for
 * a producer that first sleeps 50 ms; it gives up and reports a missing
 * item. FIXED: the producer is quicker than the deadline. Time is
 * virtual: the run takes microseconds.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int item;

static void *producer(void *arg)
{
	(void)arg;
#ifdef FIXED
	usleep(5000);
#else
	usleep(50000);
#endif
	pthread_mutex_lock(&m);
	item = 1;
	pthread_cond_signal(&c);
	pthread_mutex_unlock(&m);
	return NULL;
}

int main(void)
{
	struct timespec dl;
	pthread_t p;
	int r = 0;

	pthread_create(&p, NULL, producer, NULL);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += 10 * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&m);
	while (!item && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&c, &m, &dl);
	pthread_mutex_unlock(&m);
	assert(item == 1);
	pthread_join(p, NULL);
	return 0;
}
