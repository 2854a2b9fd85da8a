/*
 * bench/chaos-calls.c - the program bench-chaos runs under each
 * configuration of the preloaded runtime: ns per malloc+free pair (64
 * bytes), per write(2) of 1 byte to /dev/null and per
 * clock_gettime(CLOCK_MONOTONIC), best of 5 batches. Built without
 * sanitizers (like the programs under test).
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(void)
{
	const long n = 1000000;
	double best[3] = { 1e18, 1e18, 1e18 };
	int fd = open("/dev/null", O_WRONLY);
	char c = 0;
	void *volatile keep;

	for (int round = 0; round < 5; round++) {
		struct timespec ts;
		double t = now_ns();

		for (long i = 0; i < n; i++) {
			keep = malloc(64);
			free(keep);
		}
		t = (now_ns() - t) / (double)n;
		best[0] = t < best[0] ? t : best[0];
		t = now_ns();
		for (long i = 0; i < n; i++)
			if (write(fd, &c, 1) != 1)
				return 1;
		t = (now_ns() - t) / (double)n;
		best[1] = t < best[1] ? t : best[1];
		t = now_ns();
		for (long i = 0; i < n; i++)
			clock_gettime(CLOCK_MONOTONIC, &ts);
		t = (now_ns() - t) / (double)n;
		best[2] = t < best[2] ? t : best[2];
	}
	printf("%.1f %.1f %.1f\n", best[0], best[1], best[2]);
	return 0;
}
