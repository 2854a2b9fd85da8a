/*
 * bindports - a job for the runner's tests: binds and listens on every
 * port of its lease ($PROCTOR_PORT_BASE, $PROCTOR_PORT_COUNT) without
 * SO_REUSEADDR, writes its base port as a line to the FIFO STARTED, holds
 * the ports until it reads one byte from the FIFO GATE (the test writes
 * one byte per job it lets go), and exits 0; exits 1 (with a message) when
 * a port is taken or a FIFO fails, 2 on bad use or a missing lease.
 *
 *	bindports STARTED GATE
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *b = getenv("PROCTOR_PORT_BASE");
	const char *c = getenv("PROCTOR_PORT_COUNT");
	long base, count;
	char line[32], byte;
	int fd, n;

	if (argc != 3 || !b || !c)
		return 2;
	base = strtol(b, NULL, 10);
	count = strtol(c, NULL, 10);
	if (base <= 0 || count <= 0)
		return 2;
	for (long p = base; p < base + count; p++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)p) };
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    listen(s, 1) < 0) {
			fprintf(stderr, "port %ld: %s\n", p, strerror(errno));
			return 1;
		}
		/* kept open until exit */
	}
	printf("%ld\n", base);
	fflush(stdout);
	/* One line: a single write, whole even with other jobs writing. A
	 * non-blocking open fails when the test is gone (no reader). */
	n = snprintf(line, sizeof(line), "%ld\n", base);
	fd = open(argv[1], O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || write(fd, line, (size_t)n) != n) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	close(fd);
	/* The ports are held until the test lets this job go; the read sees
	 * the end of file (no writer) when the test is gone. */
	fd = open(argv[2], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fcntl(fd, F_SETFL, 0) < 0) {
		fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (read(fd, &byte, 1) != 1) {
		fprintf(stderr, "%s: the test is gone\n", argv[2]);
		return 1;
	}
	return 0;
}
