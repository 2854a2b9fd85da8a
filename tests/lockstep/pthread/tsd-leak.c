/*
 * tsd-leak: each worker keeps a buffer in thread-specific data; the
 * destructor returns it to a shared pool count. The count is updated
 * without the lock in the destructor, so two exiting threads lose an
 * update. FIXED: the destructor takes the lock.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_key_t key;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int pool = 2;

static void give_back(void *p)
{
	free(p);
#ifdef FIXED
	pthread_mutex_lock(&m);
	pool++;
	pthread_mutex_unlock(&m);
#else
	int v;

	pthread_mutex_lock(&m);
	v = pool;
	pthread_mutex_unlock(&m);
	pthread_mutex_lock(&m);
	pool = v + 1;
	pthread_mutex_unlock(&m);
#endif
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	pool--;
	pthread_mutex_unlock(&m);
	pthread_setspecific(key, malloc(16));
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	pthread_key_create(&key, give_back);
	pthread_create(&a, NULL, worker, NULL);
	pthread_create(&b, NULL, worker, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert(pool == 2);
	return 0;
}
