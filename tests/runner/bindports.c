/*
 * bindports - a job for the runner's tests: binds and listens on every
 * port of its lease ($PROCTOR_PORT_BASE, $PROCTOR_PORT_COUNT) without
 * SO_REUSEADDR, holds them for argv[1] milliseconds, and exits 0; exits 1
 * (with a message) when a port is taken, 2 when the lease is missing.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <poll.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *b = getenv("PROCTOR_PORT_BASE");
	const char *c = getenv("PROCTOR_PORT_COUNT");
	long base, count, ms = argc > 1 ? strtol(argv[1], NULL, 10) : 100;

	if (!b || !c)
		return 2;
	base = strtol(b, NULL, 10);
	count = strtol(c, NULL, 10);
	if (base <= 0 || count <= 0)
		return 2;
	for (long p = base; p < base + count; p++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)p) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    listen(fd, 1) < 0) {
			fprintf(stderr, "port %ld: %s\n", p, strerror(errno));
			return 1;
		}
		/* kept open until exit */
	}
	printf("%ld\n", base);
	fflush(stdout);
	/*
	 * This program is a job under test, not the test: it holds its ports
	 * for a while so that leases of concurrent jobs overlap. The tests
	 * wait on its exit (pidfd), never on time.
	 */
	poll(NULL, 0, (int)ms);
	return 0;
}
