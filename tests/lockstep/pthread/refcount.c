/*
 * refcount (-fsanitize=thread): two owners drop their reference with a
 * plain decrement; a lost update leaves the count at 1 and the object is
 * never released. FIXED: an atomic decrement.
 */
#include <assert.h>
#include <pthread.h>

static int refs = 2, released;

static void put(void)
{
#ifdef FIXED
	if (__atomic_sub_fetch(&refs, 1, __ATOMIC_ACQ_REL) == 0)
		released++;
#else
	if (--refs == 0)
		released++;
#endif
}

static void *owner(void *arg)
{
	(void)arg;
	put();
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	pthread_create(&a, NULL, owner, NULL);
	pthread_create(&b, NULL, owner, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert(released == 1);
	return 0;
}
