/* os/muxos.c - system calls for the session pool (see muxos.h). */
#define _GNU_SOURCE 1
#include "os/muxos.h"
#include "base/common.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int pt__poll(struct pt_pollfd *fds, unsigned n, int timeout_ms)
{
	struct pollfd pf[8];
	int r;

	if (n > PT_ARRAY_SIZE(pf))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		pf[i].fd = fds[i].fd;
		pf[i].events =
			(short)((fds[i].events & PT_POLL_IN ? POLLIN : 0) |
				(fds[i].events & PT_POLL_OUT ? POLLOUT : 0));
		pf[i].revents = 0;
	}
	r = poll(pf, n, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	for (unsigned i = 0; i < n; i++) {
		short e = pf[i].revents;
		fds[i].revents = (e & POLLIN ? PT_POLL_IN : 0) |
				 (e & POLLOUT ? PT_POLL_OUT : 0) |
				 (e & POLLHUP ? PT_POLL_HUP : 0) |
				 (e & (POLLERR | POLLNVAL) ? PT_POLL_ERR : 0);
	}
	return r;
}

int pt__wakefd_new(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

void pt__wakefd_signal(int fd)
{
	uint64_t one = 1;

	/* Non-blocking; a full counter is readable already. */
	if (fd >= 0)
		(void)!write(fd, &one, sizeof(one));
}

int64_t pt__cond_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void pt__ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

int pt__open_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	return fd < 0 ? -errno : fd;
}

void pt__exit_now(int code)
{
	_exit(code);
}
