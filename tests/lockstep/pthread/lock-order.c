/*
 * lock-order: lock-order inversion: one thread takes a then b, the other
 * b then a; a deadlock when each holds its first. FIXED: both a then b.
 */
#include <pthread.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;

static void *transfer_ab(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&a);
	pthread_mutex_lock(&b);
	pthread_mutex_unlock(&b);
	pthread_mutex_unlock(&a);
	return NULL;
}

static void *transfer_ba(void *arg)
{
	(void)arg;
#ifdef FIXED
	pthread_mutex_lock(&a);
	pthread_mutex_lock(&b);
#else
	pthread_mutex_lock(&b);
	pthread_mutex_lock(&a);
#endif
	pthread_mutex_unlock(&a);
	pthread_mutex_unlock(&b);
	return NULL;
}

int main(void)
{
	pthread_t x, y;

	pthread_create(&x, NULL, transfer_ab, NULL);
	pthread_create(&y, NULL, transfer_ba, NULL);
	pthread_join(x, NULL);
	pthread_join(y, NULL);
	return 0;
}
