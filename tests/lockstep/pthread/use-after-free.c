/*
 * use-after-free (-fsanitize=thread): the main thread frees a job as soon
 * as the worker has said it took it, but the worker still reads the job
 * after saying so; the freed memory no longer holds the magic number.
 * FIXED: free after join.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

#define MAGIC 0x5a5a5a5a5a5a5a5aull

struct job {
	unsigned long long magic; /* first: malloc's free list overwrites it */
	int value;
};

static struct job *job;
static volatile int taken;
static int seen;

static void *worker(void *arg)
{
	struct job *j = job;

	(void)arg;
	taken = 1;
	assert(j->magic == MAGIC);
	seen = j->value;
	return NULL;
}

int main(void)
{
	pthread_t t;

	job = malloc(sizeof(*job));
	job->magic = MAGIC;
	job->value = 3;
	pthread_create(&t, NULL, worker, NULL);
#ifdef FIXED
	pthread_join(t, NULL);
	free(job);
#else
	while (!taken)
		sched_yield();
	free(job);
	pthread_join(t, NULL);
#endif
	return seen == 3 ? 0 : 1;
}
