/*
 * work-stealing (-fsanitize=thread): a Chase-Lev style deque: the owner
 * pushes and pops at the bottom, a thief steals at the top. Taking the
 * last element, the owner must race the thief with a CAS on top; without
 * it both take the same task. FIXED: the CAS.
 */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>

static long top, bottom;
static int tasks[8], runs[3];

static void push(int v)
{
	tasks[bottom] = v;
	__atomic_store_n(&bottom, bottom + 1, __ATOMIC_SEQ_CST);
}

static int pop(void)
{
	long b = bottom - 1, t;
	int v;

	__atomic_store_n(&bottom, b, __ATOMIC_SEQ_CST);
	t = __atomic_load_n(&top, __ATOMIC_SEQ_CST);
	if (t > b) {
		__atomic_store_n(&bottom, t, __ATOMIC_SEQ_CST);
		return -1;
	}
	v = tasks[b];
	if (t == b) {
#ifdef FIXED
		if (!__atomic_compare_exchange_n(&top, &t, t + 1, false,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			v = -1;
#else
		__atomic_store_n(&top, t + 1, __ATOMIC_SEQ_CST);
#endif
		__atomic_store_n(&bottom, b + 1, __ATOMIC_SEQ_CST);
	}
	return v;
}

static int steal(void)
{
	long t = __atomic_load_n(&top, __ATOMIC_SEQ_CST);
	long b = __atomic_load_n(&bottom, __ATOMIC_SEQ_CST);
	int v;

	if (t >= b)
		return -1;
	v = tasks[t];
	if (!__atomic_compare_exchange_n(&top, &t, t + 1, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return -1;
	return v;
}

static void *thief(void *arg)
{
	int v;

	(void)arg;
	for (int i = 0; i < 2; i++)
		if ((v = steal()) >= 0)
			runs[v]++;
	return NULL;
}

int main(void)
{
	pthread_t t;
	int v;

	push(1);
	push(2);
	pthread_create(&t, NULL, thief, NULL);
	for (int i = 0; i < 2; i++)
		if ((v = pop()) >= 0)
			runs[v]++;
	pthread_join(t, NULL);
	assert(runs[1] <= 1 && runs[2] <= 1);
	return 0;
}
