/*
 * echo-pair - a small line-echo server and a client for it, in one
 * program, written to show what `proctor run --chaos` finds.
 *
 *	echo-pair robust|fragile [MESSAGES]
 *
 * The listening socket (127.0.0.1, an ephemeral port) exists before the
 * fork, so the client never races the server's start. The server (the
 * child) accepts one connection and echoes what it reads; the client
 * sends MESSAGES lines (default 200) and checks every echo.
 *
 * robust: every call is written for the faults chaos injects: reads and
 * writes loop over short counts and EINTR, accept retries EAGAIN, EINTR,
 * ECONNABORTED and EMFILE, connect retries ECONNREFUSED, ETIMEDOUT and
 * EINTR on a fresh socket (bounded: 1000 tries). fragile: the same
 * protocol with one call each and no retry, as code that was only ever
 * tested on a quiet machine often is.
 *
 * Exit 0 when every echo matched, 1 otherwise (with the reason on
 * stderr).
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static bool robust;

static bool again(int e)
{
	return e == EINTR || e == EAGAIN || e == EWOULDBLOCK;
}

/* Writes all of n bytes (robust) or calls write once (fragile). */
static int put(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && robust && again(errno))
			continue;
		if (w < 0)
			return -errno;
		if (!robust && (size_t)w != n)
			return -EPROTO; /* a short write loses the rest */
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The same calls on every run, whatever the scheduling, so that a seed's
 * faults fall on the same call counts: frames go out at once (TCP_NODELAY;
 * after a short write the rest of a frame would otherwise wait for the
 * peer's delayed ACK, about 40 ms), and a read starts only once all the
 * bytes still missing from the frame are there (poll with SO_RCVLOWAT), so
 * the only short reads are the ones chaos makes. (A blocking read with the
 * low mark set copies what is there, then can miss the wakeup for the rest.)
 */
static void nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void wait_for(int fd, size_t n)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int lowat = (int)n;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

/* Reads exactly n bytes: 0, -EPIPE at end of input, or -errno. */
static int get(int fd, char *b, size_t n)
{
	while (n) {
		ssize_t r;

		wait_for(fd, n);
		r = read(fd, b, n);

		if (r < 0 && robust && again(errno))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		if (!robust && (size_t)r != n)
			return -EPROTO; /* a short read is taken as a frame */
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int serve(int ls)
{
	char buf[64];
	int c, r;

	for (unsigned tries = 0;; tries++) {
		c = accept(ls, NULL, NULL);
		if (c >= 0) {
			nodelay(c);
			break;
		}
		if (!robust || tries >= 1000 ||
		    !(again(errno) || errno == ECONNABORTED || errno == EMFILE))
			return 1;
	}
	/* Fixed-size frames: 16 bytes each. */
	while ((r = get(c, buf, 16)) == 0)
		if (put(c, buf, 16) < 0)
			return 1;
	return r == -EPIPE ? 0 : 1;
}

static int dial(const struct sockaddr_in *a)
{
	for (unsigned tries = 0; tries < 1000; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		nodelay(fd);
		if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0)
			return fd;
		close(fd);
		if (!robust || !(errno == ECONNREFUSED || errno == ETIMEDOUT ||
				 errno == EINTR))
			return -errno;
	}
	return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 200;
	int ls, fd, st = 0, r = 0;
	pid_t pid;

	if (argc < 2 ||
	    (strcmp(argv[1], "robust") && strcmp(argv[1], "fragile"))) {
		fprintf(stderr, "usage: echo-pair robust|fragile [MESSAGES]\n");
		return 2;
	}
	robust = !strcmp(argv[1], "robust");
	signal(SIGPIPE, SIG_IGN);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(ls, 4) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &alen) < 0) {
		perror("echo-pair: listen");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("echo-pair: fork");
		return 1;
	}
	if (pid == 0)
		_exit(serve(ls));
	close(ls);
	fd = dial(&a);
	if (fd < 0) {
		fprintf(stderr, "echo-pair: connect: %s\n", strerror(-fd));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 1;
	}
	for (unsigned i = 0; i < n && r == 0; i++) {
		char out[17], in[16];

		snprintf(out, sizeof(out), "message %7u\n", i % 10000000u);
		r = put(fd, out, 16);
		if (r == 0)
			r = get(fd, in, 16);
		if (r == 0 && memcmp(in, out, 16) != 0)
			r = -EBADMSG;
		if (r < 0)
			fprintf(stderr, "echo-pair: message %u: %s\n", i,
				strerror(-r));
	}
	close(fd);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		fprintf(stderr, "echo-pair: the server failed\n");
		r = -1;
	}
	if (r == 0)
		printf("%u messages echoed\n", n);
	return r == 0 ? 0 : 1;
}
