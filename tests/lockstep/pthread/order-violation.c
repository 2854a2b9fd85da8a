/*
 * order-violation (-fsanitize=thread): the worker uses the configuration
 * the main thread sets up only after starting it: a NULL dereference when
 * the worker runs first. FIXED: set up, then start.
 */
#include <pthread.h>
#include <stdlib.h>

struct config {
	int size;
};
static struct config *cfg;
static int used;

static void *worker(void *arg)
{
	(void)arg;
	used = cfg->size;
	return NULL;
}

int main(void)
{
	static struct config c = { 4 };
	pthread_t t;

#ifdef FIXED
	cfg = &c;
	pthread_create(&t, NULL, worker, NULL);
#else
	pthread_create(&t, NULL, worker, NULL);
	cfg = &c;
#endif
	pthread_join(t, NULL);
	return used == 4 ? 0 : 1;
}
