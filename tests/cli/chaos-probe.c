/*
 * chaos-probe - calls each function the --chaos runtime can fail and
 * prints what it returned ("write -1 ENOSPC", "read 2 ok"), for the exact
 * outputs of tests/cli (chaos_every_call_kind_is_injected). stdio's own
 * writes are libc-internal, not interposed: the report is never faulted.
 *
 * With an argument, the other faults (chaos_malloc_*, chaos_clock_*):
 *   malloc   allocations of 1 MiB by each entry point, one character per
 *            call: '.' it worked, 'x' NULL with ENOMEM ('!' otherwise);
 *   offsets  by how much each clock differs from the kernel's (read with
 *            syscall(2), which no preload sees), in seconds;
 *   rates    how fast each clock runs against the kernel's, over 20 ms of
 *            the kernel's monotonic clock (busy, no sleep);
 *   reads    at which read the monotonic clock jumps (by 30 s or more).
 * Every clock reading is bracketed by two kernel readings taken less than
 * 20 us apart (retried until so), so the figures printed are exact.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	printf("%s %ld %s\n", what, r < 0 ? -1 : r,
	       r < 0 ? strerrorname_np(errno) : "ok");
}

static void mark(int ok_or_errno)
{
	putchar(!ok_or_errno ? '.' : ok_or_errno == ENOMEM ? 'x' : '!');
}

static void allocs(void)
{
	const size_t m = 1 << 20;
	void *p;
	char *small;

	printf("malloc ");
	for (int i = 0; i < 8; i++) {
		errno = 0;
		mark((p = malloc(m)) ? 0 : errno);
		free(p);
	}
	printf("\ncalloc ");
	for (int i = 0; i < 4; i++) {
		errno = 0;
		mark((p = calloc(1, m)) ? 0 : errno);
		free(p);
	}
	/* a failed realloc keeps the block: '!' if it was lost */
	printf("\nrealloc ");
	for (int i = 0; i < 4; i++) {
		if (!(small = malloc(100))) {
			mark(errno);
			continue;
		}
		memset(small, 'a', 100);
		errno = 0;
		p = realloc(small, m);
		mark(p ? 0 : small[99] == 'a' ? errno : -1);
		free(p ? p : small);
	}
	printf("\nposix_memalign ");
	mark(posix_memalign(&p, 64, m));
	free(p);
	printf("\naligned_alloc ");
	errno = 0;
	mark((p = aligned_alloc(64, m)) ? 0 : errno);
	free(p);
	printf("\nvalloc ");
	errno = 0;
	mark((p = valloc(m)) ? 0 : errno);
	free(p);
	/* below the size of the rules of the tests */
	for (int i = 0; i < 1000; i++) {
		if (!(p = malloc(16))) {
			printf("\nsmall NULL\n");
			return;
		}
		free(p);
	}
	printf("\nsmall ok\n");
}

static int64_t ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int64_t kernel(clockid_t clk)
{
	struct timespec t;

	syscall(SYS_clock_gettime, clk, &t);
	return ns_of(&t);
}

enum { C_TOD = 100, C_TIME };

/* The program's view of clock clk (or gettimeofday, time) in ns. */
static int64_t seen(int clk)
{
	struct timespec t;
	struct timeval tv;

	if (clk == C_TOD) {
		gettimeofday(&tv, NULL);
		return (int64_t)tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
	}
	if (clk == C_TIME)
		return (int64_t)time(NULL) * 1000000000;
	clock_gettime(clk, &t);
	return ns_of(&t);
}

/* The kernel clock seen(clk) follows (time: the coarse seconds). */
static clockid_t base_of(int clk)
{
	return clk == C_TOD    ? CLOCK_REALTIME
	       : clk == C_TIME ? CLOCK_REALTIME_COARSE
			       : (clockid_t)clk;
}

/* seen(clk) and the kernel's time then, within 20 us (exact for the
 * coarse ones: the kernel's coarse value did not change). */
static int64_t bracket(int clk, int64_t *k)
{
	clockid_t b = base_of(clk);

	for (;;) {
		int64_t k1 = kernel(b), v = seen(clk), k2 = kernel(b);

		if (clk == C_TIME ? k1 / 1000000000 == k2 / 1000000000
				  : k2 - k1 < 20000) {
			*k = clk == C_TIME ? k1 / 1000000000 * 1000000000 : k1;
			return v;
		}
	}
}

static const struct {
	const char *name;
	int clk;
} clocks[] = {
	{ "realtime", CLOCK_REALTIME },
	{ "realtime_coarse", CLOCK_REALTIME_COARSE },
	{ "monotonic", CLOCK_MONOTONIC },
	{ "monotonic_coarse", CLOCK_MONOTONIC_COARSE },
	{ "monotonic_raw", CLOCK_MONOTONIC_RAW },
	{ "boottime", CLOCK_BOOTTIME },
	{ "gettimeofday", C_TOD },
	{ "time", C_TIME },
};

/* Whether clock c ever went backwards over n readings. */
static const char *backwards(int clk, int n)
{
	int64_t last = seen(clk), v;

	for (int i = 1; i < n; i++, last = v)
		if ((v = seen(clk)) < last)
			return "went backwards";
	return "never backwards";
}

static void offsets(void)
{
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		int64_t k, v = bracket(clocks[i].clk, &k);

		printf("%s %+.2f s, %s\n", clocks[i].name,
		       (double)(v - k) / 1e9, backwards(clocks[i].clk, 10000));
	}
}

static void rates(void)
{
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		int c = clocks[i].clk;
		int64_t k1, k2, v1, v2;

		/* the precise clocks: a coarse one moves by ticks */
		if (c == CLOCK_REALTIME_COARSE || c == CLOCK_MONOTONIC_COARSE ||
		    c == C_TIME)
			continue;
		v1 = bracket(c, &k1);
		while (kernel(base_of(c)) - k1 < 20000000)
			; /* busy: no sleep under test */
		v2 = bracket(c, &k2);
		printf("%s x%.1f, %s\n", clocks[i].name,
		       (double)(v2 - v1) / (double)(k2 - k1),
		       backwards(c, 10000));
	}
}

/* Unbracketed: each read of the program is one read of the runtime. */
static void reads(void)
{
	for (int n = 1; n <= 200; n++) {
		int64_t v = seen(CLOCK_MONOTONIC);

		if (v - kernel(CLOCK_MONOTONIC) >= 30000000000) {
			printf("monotonic jumped at read %d\n", n);
			return;
		}
	}
	printf("monotonic did not jump\n");
}

int main(int argc, char **argv)
{
	char buf[4] = "abc";
	int sp[2] = { -1, -1 }, nul, zero, ls, fd;
	struct sockaddr_in a = { .sin_family = AF_INET };

	if (argc > 1) {
		if (!strcmp(argv[1], "malloc"))
			allocs();
		else if (!strcmp(argv[1], "offsets"))
			offsets();
		else if (!strcmp(argv[1], "rates"))
			rates();
		else if (!strcmp(argv[1], "reads"))
			reads();
		else
			return 2;
		return 0;
	}

	nul = open("/dev/null", O_WRONLY);
	show("open /dev/null", nul < 0 ? -1 : 0);
	show("write /dev/null", (long)write(nul, buf, 4));
	zero = open("/dev/zero", O_RDONLY);
	show("open /dev/zero", zero < 0 ? -1 : 0);
	show("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
	show("write socket", (long)write(sp[0], buf, 4));
	show("read socket", (long)read(sp[1], buf, 4));
	show("fsync", fsync(nul));
	show("send", (long)send(sp[0], buf, 4, 0));
	show("recv", (long)recv(sp[1], buf, 4, 0));
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	show("accept", accept(ls, NULL, NULL));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(1);
	show("connect", connect(fd, (struct sockaddr *)&a, sizeof(a)));
	return 0;
}
