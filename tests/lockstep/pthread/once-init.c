/*
 * once-init: lazy initialisation by hand: "if not initialised, lock,
 * initialise, unlock" checks outside the lock, so two threads can both
 * initialise. FIXED: pthread_once.
 */
#include <assert.h>
#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int initialised, inits;

static void init(void)
{
	inits++;
	initialised = 1;
}

static void *user(void *arg)
{
	(void)arg;
#ifdef FIXED
	pthread_once(&once, init);
#else
	if (!initialised) {
		pthread_mutex_lock(&m);
		init();
		pthread_mutex_unlock(&m);
	}
#endif
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	pthread_create(&a, NULL, user, NULL);
	pthread_create(&b, NULL, user, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert(inits == 1);
	(void)m;
	(void)once;
	return 0;
}
