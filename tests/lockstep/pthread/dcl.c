/*
 * dcl (-fsanitize=thread): broken double-checked locking: the instance
 * pointer is published before the instance is initialised, so a reader
 * that sees the pointer can see an empty instance. FIXED: initialise,
 * then publish.
 */
#include <assert.h>
#include <pthread.h>

struct inst {
	int ready;
};
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static struct inst *inst, storage;

static struct inst *get(void)
{
	if (!inst) {
		pthread_mutex_lock(&m);
		if (!inst) {
#ifdef FIXED
			storage.ready = 1;
			inst = &storage;
#else
			inst = &storage;
			storage.ready = 1;
#endif
		}
		pthread_mutex_unlock(&m);
	}
	return inst;
}

static void *user(void *arg)
{
	(void)arg;
	assert(get()->ready == 1);
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	pthread_create(&a, NULL, user, NULL);
	pthread_create(&b, NULL, user, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return 0;
}
