/*
 * ls-small: a small pthread program (two threads, a mutex, a condition
 * variable) whose iterations per second bench-lockstep measures under
 * `proctor lockstep exec` and natively.
 */
#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int ready, total;

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	total += 1;
	ready = 1;
	pthread_cond_signal(&c);
	pthread_mutex_unlock(&m);
	return NULL;
}

int main(void)
{
	pthread_t t;

	pthread_create(&t, NULL, worker, NULL);
	pthread_mutex_lock(&m);
	while (!ready)
		pthread_cond_wait(&c, &m);
	pthread_mutex_unlock(&m);
	pthread_join(t, NULL);
	return total == 1 ? 0 : 1;
}
