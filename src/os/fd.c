/* os/fd.c - fd helpers and the I/O fault seam (see fd.h). */
#define _GNU_SOURCE 1
#include "os/fd.h"
#include "base/common.h"
#include "os/clock.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static struct pt_io_faults faults;

void pt__io_set_faults(const struct pt_io_faults *f)
{
	if (f)
		faults = *f;
	else
		memset(&faults, 0, sizeof(faults));
}

ssize_t pt__io_write(int fd, const void *buf, size_t len)
{
	ssize_t n;

	if (faults.before_write) {
		int r = faults.before_write(faults.ctx, fd, len);
		if (r < 0)
			return r;
	}
	do {
		n = write(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int pt__io_fsync(int fd)
{
	if (faults.before_fsync) {
		int r = faults.before_fsync(faults.ctx, fd);
		if (r < 0)
			return r;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

int pt__io_fdatasync(int fd)
{
	if (faults.before_fsync) {
		int r = faults.before_fsync(faults.ctx, fd);
		if (r < 0)
			return r;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

int pt__write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pt__io_write(fd, p, len);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t pt__read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int pt__fd_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

int pt__fd_set_cloexec(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -errno;
	fl = on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, fl) < 0 ? -errno : 0;
}

int pt__pipe(int fds[2], int extra_flags)
{
	return pipe2(fds, O_CLOEXEC | extra_flags) < 0 ? -errno : 0;
}

int pt__close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

int pt__open(const char *path, int flags, mode_t mode)
{
	int fd = open(path, flags | O_CLOEXEC, mode);

	return fd < 0 ? -errno : fd;
}

int pt__fstat(int fd, struct stat *st)
{
	return fstat(fd, st) < 0 ? -errno : 0;
}

ssize_t pt__read_once(int fd, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);

		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -errno;
	}
}

int pt__seek(int fd, off_t off)
{
	return lseek(fd, off, SEEK_SET) < 0 ? -errno : 0;
}

int pt__ftruncate(int fd, off_t len)
{
	return ftruncate(fd, len) < 0 ? -errno : 0;
}

int pt__map_shared(int fd, size_t len, void **ret)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	*ret = p;
	return 0;
}

void pt__unmap(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}
