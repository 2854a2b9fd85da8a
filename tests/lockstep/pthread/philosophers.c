/*
 * philosophers: three dining philosophers each take the left fork then
 * the right one: a deadlock when all hold their left fork. FIXED: the
 * last philosopher takes the right fork first (a global order).
 */
#include <pthread.h>
#include <stdint.h>

#define N 3
static pthread_mutex_t fork_[N] = { PTHREAD_MUTEX_INITIALIZER,
				    PTHREAD_MUTEX_INITIALIZER,
				    PTHREAD_MUTEX_INITIALIZER };
static int meals;

static void *philosopher(void *arg)
{
	int i = (int)(intptr_t)arg, l = i, r = (i + 1) % N;

#ifdef FIXED
	if (i == N - 1) {
		l = r;
		r = i;
	}
#endif
	pthread_mutex_lock(&fork_[l]);
	pthread_mutex_lock(&fork_[r]);
	meals++;
	pthread_mutex_unlock(&fork_[r]);
	pthread_mutex_unlock(&fork_[l]);
	return NULL;
}

int main(void)
{
	pthread_t t[N];

	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, philosopher, (void *)(intptr_t)i);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	return meals == N ? 0 : 1;
}
