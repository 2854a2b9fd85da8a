/*
 * os/lock.c - lock files (os/lock.h).
 */
#define _GNU_SOURCE 1
#include "os/lock.h"

#include "base/common.h"
#include "os/clock.h"
#include "os/fd.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int pt__lock_open(const char *path, bool create)
{
	int fd = create ? open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			       0600)
			: open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	return fd < 0 ? -errno : fd;
}

int pt__lock(int fd, int how)
{
	int op = (how & 0xf) == PT_LOCK_SH   ? LOCK_SH
		 : (how & 0xf) == PT_LOCK_EX ? LOCK_EX
					     : LOCK_UN;

	if (how & PT_LOCK_NB)
		op |= LOCK_NB;
	while (flock(fd, op) < 0) {
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
	}
	return 0;
}

int pt__lock_wait(int fd, int how, int timeout_ms)
{
	int64_t deadline = pt__now_ns() + (int64_t)timeout_ms * 1000000;
	long wait_us = 100;

	if ((how & 0xf) == PT_LOCK_UN)
		return pt__lock(fd, PT_LOCK_UN);
	for (;;) {
		struct timespec ts;
		int r = pt__lock(fd, (how & 0xf) | PT_LOCK_NB);

		if (r != -EWOULDBLOCK)
			return r;
		if (pt__now_ns() >= deadline)
			return PT_ELOCKED;
		/* flock(2) has no timed wait: back off from 0.1 to 16 ms. */
		ts.tv_sec = 0;
		ts.tv_nsec = wait_us * 1000;
		nanosleep(&ts, NULL);
		if (wait_us < 16000)
			wait_us *= 2;
	}
}

int pt__lock_take(const char *path)
{
	int fd = pt__lock_open(path, true), r;

	if (fd < 0)
		return fd;
	r = pt__lock(fd, PT_LOCK_EX | PT_LOCK_NB);
	if (r < 0) {
		pt__close(fd);
		return r;
	}
	return fd;
}

int pt__lock_take_shared(const char *path)
{
	int fd = open(path,
		      O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		      0644);
	struct stat st;
	int r;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pt__close(fd);
		return -EBADFD;
	}
	r = pt__lock(fd, PT_LOCK_EX | PT_LOCK_NB);
	if (r < 0) {
		pt__close(fd);
		return r;
	}
	return fd;
}

int pt__lock_set_owner(int fd)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, strlen(pid), 0) < 0)
		return -errno;
	return 0;
}

int pt__lock_owner(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long v = 0;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
		v = v * 10 + (buf[i] - '0');
		if (v > INT_MAX)
			return 0;
	}
	return (int)v;
}

bool pt__pid_alive(int pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}
