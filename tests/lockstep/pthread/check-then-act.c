/*
 * check-then-act (-fsanitize=thread): two withdrawals check the balance,
 * then subtract; both can pass the check. FIXED: check and subtract
 * under one lock.
 */
#include <assert.h>
#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int balance = 10, paid[2];

static void *withdraw(void *arg)
{
	int *ok = arg;

#ifdef FIXED
	pthread_mutex_lock(&m);
#endif
	if (balance >= 10) {
		balance -= 10;
		*ok = 1;
	}
#ifdef FIXED
	pthread_mutex_unlock(&m);
#endif
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	pthread_create(&a, NULL, withdraw, &paid[0]);
	pthread_create(&b, NULL, withdraw, &paid[1]);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert(!(paid[0] && paid[1])); /* 10 paid out twice */
	(void)m;
	return 0;
}
