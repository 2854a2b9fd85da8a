/*
 * preempt2 (-fsanitize=thread, relaxed atomics so that
 * the compiler keeps every access): the reader sees x == 1 then x == 2 only
 * if the writer is preempted after its first store and the reader after
 * its first load: a bug that needs two preemptions (DFS with bound 1
 * explores every schedule and finds nothing). FIXED: the writer stores
 * under the reader's lock.
 */
#include <assert.h>
#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int x;

static void *writer(void *arg)
{
	(void)arg;
#ifdef FIXED
	pthread_mutex_lock(&m);
#endif
	__atomic_store_n(&x, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&x, 2, __ATOMIC_RELAXED);
#ifdef FIXED
	pthread_mutex_unlock(&m);
#endif
	return NULL;
}

static void *reader(void *arg)
{
	int a, b;

	(void)arg;
	pthread_mutex_lock(&m);
	a = __atomic_load_n(&x, __ATOMIC_RELAXED);
	b = __atomic_load_n(&x, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&m);
	assert(!(a == 1 && b == 2));
	return NULL;
}

int main(void)
{
	pthread_t w, r;

	pthread_create(&w, NULL, writer, NULL);
	pthread_create(&r, NULL, reader, NULL);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	return 0;
}
