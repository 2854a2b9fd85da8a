/*
 * chaos-probe - calls each function the --chaos runtime can fail and
 * prints what it returned ("write -1 ENOSPC", "read 2 ok"), for the exact
 * outputs of tests/cli (chaos_every_call_kind_is_injected). stdio's own
 * writes are libc-internal, not interposed: the report is never faulted.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	printf("%s %ld %s\n", what, r < 0 ? -1 : r,
	       r < 0 ? strerrorname_np(errno) : "ok");
}

int main(void)
{
	char buf[4] = "abc";
	int sp[2] = { -1, -1 }, nul, zero, ls, fd;
	struct sockaddr_in a = { .sin_family = AF_INET };

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
