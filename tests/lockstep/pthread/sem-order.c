/*
 * sem-order: a bounded buffer (one slot) whose producer takes the mutex
 * before waiting for a free slot: with the buffer full, it sleeps holding
 * the mutex the consumer needs. FIXED: wait for the slot first.
 */
#include <pthread.h>
#include <semaphore.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static sem_t empty, full;
static int slot, sum;

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= 3; i++) {
#ifdef FIXED
		sem_wait(&empty);
		pthread_mutex_lock(&m);
#else
		pthread_mutex_lock(&m);
		sem_wait(&empty);
#endif
		slot = i;
		pthread_mutex_unlock(&m);
		sem_post(&full);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++) {
		sem_wait(&full);
		pthread_mutex_lock(&m);
		sum += slot;
		pthread_mutex_unlock(&m);
		sem_post(&empty);
	}
	return NULL;
}

int main(void)
{
	pthread_t p, c;

	sem_init(&empty, 0, 1);
	sem_init(&full, 0, 0);
	pthread_create(&p, NULL, producer, NULL);
	pthread_create(&c, NULL, consumer, NULL);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	return sum == 6 ? 0 : 1;
}
