/*
 * sleep-order: "synchronisation" by sleeping: the main thread waits 1 ms
 * for a worker that needs 2 ms, then reads its result. Under virtual time
 * the sleeps take no real time and the order is what the durations say.
 * FIXED: join before reading.
 */
#include <pthread.h>
#include <unistd.h>

static int result;

static void *worker(void *arg)
{
	(void)arg;
	usleep(2000);
	result = 7;
	return NULL;
}

int main(void)
{
	pthread_t t;
	int r;

	pthread_create(&t, NULL, worker, NULL);
#ifdef FIXED
	pthread_join(t, NULL);
	r = result;
#else
	usleep(1000);
	r = result;
	pthread_join(t, NULL);
#endif
	return r == 7 ? 0 : 3;
}
