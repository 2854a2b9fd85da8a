/*
 * rwlock-upgrade: readers fill a cache when they find it empty by
 * dropping the read lock and taking the write lock; without a second
 * check under the write lock, two readers both fill it. FIXED: check
 * again after the upgrade.
 */
#include <assert.h>
#include <pthread.h>

static pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
static int cache, fills;

static void *reader(void *arg)
{
	(void)arg;
	pthread_rwlock_rdlock(&l);
	if (cache == 0) {
		pthread_rwlock_unlock(&l);
		pthread_rwlock_wrlock(&l);
#ifdef FIXED
		if (cache == 0)
#endif
		{
			cache = 42;
			fills++;
		}
	}
	pthread_rwlock_unlock(&l);
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	pthread_create(&a, NULL, reader, NULL);
	pthread_create(&b, NULL, reader, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert(fills == 1);
	return 0;
}
