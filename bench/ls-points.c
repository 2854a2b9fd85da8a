/*
 * ls-points: the program bench-lockstep runs under `proctor lockstep exec`
 * (built with -fsanitize=thread, linked against the lockstep runtime):
 * two threads each add to a shared array N times (argv[1], default
 * 100000): 4 N instrumented accesses, each a scheduling point under exec.
 */
#include <pthread.h>
#include <stdlib.h>

static long n = 100000;
static long cells[2][8];

static void *adder(void *arg)
{
	long *c = arg;

	for (long i = 0; i < n; i++)
		c[i & 7]++;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t a, b;

	if (argc > 1)
		n = atol(argv[1]);
	pthread_create(&a, NULL, adder, cells[0]);
	pthread_create(&b, NULL, adder, cells[1]);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return cells[0][0] == cells[1][0] ? 0 : 1;
}
