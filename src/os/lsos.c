/*
 * os/lsos.c - system calls of lockstep exec (lsos.h).
 */
#define _GNU_SOURCE 1
#include "base/common.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/clock.h"
#include "os/fd.h"
#include "os/lsos.h"
#include "os/proc.h"

int pt__lsos_shm_new(const char *name, size_t size, int *ret_fd, void **ret_map)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	void *p;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = -errno;

		close(fd);
		return e;
	}
	*ret_fd = fd;
	*ret_map = p;
	return 0;
}

void pt__lsos_shm_free(int fd, void *map, size_t size)
{
	if (map)
		munmap(map, size);
	if (fd >= 0)
		close(fd);
}

int pt__lsos_memfile(const char *name, int *ret_fd)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int pt__lsos_memfile_reset(int fd)
{
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	return 0;
}

size_t pt__lsos_memfile_tail(int fd, char *buf, size_t cap)
{
	struct stat sb;
	off_t from;
	ssize_t n;

	buf[0] = '\0';
	if (!cap || fstat(fd, &sb) < 0)
		return 0;
	from = sb.st_size > (off_t)(cap - 1) ? sb.st_size - (off_t)(cap - 1)
					     : 0;
	n = pread(fd, buf, cap - 1, from);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return (size_t)n;
}

int pt__lsos_start(const char *const *argv, const char *const *envp,
		   const int *keep, size_t nkeep, int fd_out, int fd_err,
		   pid_t *ret_pid, int *ret_pidfd)
{
	struct pt_spawn s = { .argv = argv,
			      .envp = envp,
			      .fd_in = -1,
			      .fd_out = fd_out,
			      .fd_err = fd_err };
	int r;

	for (size_t i = 0; i < nkeep; i++)
		if ((r = pt__fd_set_cloexec(keep[i], false)) < 0)
			return r;
	r = pt__spawn(&s, ret_pid, ret_pidfd);
	for (size_t i = 0; i < nkeep; i++)
		pt__fd_set_cloexec(keep[i], true);
	return r;
}

int pt__lsos_read_full(int fd, void *buf, size_t len, int64_t deadline_ns)
{
	char *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline_ns - pt__now_ns();
		ssize_t n;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)PT_MIN(left / 1000000 + 1, INT32_MAX));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		n = read(fd, p, len);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n == 0)
			return -EPIPE;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

int pt__lsos_kill(pid_t pid)
{
	if (pid > 0 && kill(pid, SIGKILL) < 0 && errno != ESRCH)
		return -errno;
	return 0;
}

int pt__lsos_capture(const char *const *argv, size_t cap, int timeout_ms,
		     char **ret, size_t *ret_len)
{
	struct pt_spawn s = {
		.argv = argv, .fd_in = -1, .fd_err = -1, .search = true
	};
	int64_t deadline = pt__now_ns() + (int64_t)timeout_ms * 1000000;
	int fds[2], pidfd = -1, status, r;
	size_t n = 0;
	char *buf;
	pid_t pid;

	if (!(buf = pt__malloc(cap + 1)))
		return -ENOMEM;
	if ((r = pt__pipe(fds, 0)) < 0) {
		pt__free(buf);
		return r;
	}
	s.fd_out = fds[1];
	r = pt__spawn(&s, &pid, &pidfd);
	close(fds[1]);
	if (r < 0) {
		close(fds[0]);
		pt__free(buf);
		return r;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int64_t left = deadline - pt__now_ns();
		ssize_t k;

		if (left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, (int)(left / 1000000 + 1)) <= 0)
			continue;
		k = read(fds[0], buf + n, n < cap ? cap - n : 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = 0;
			break;
		}
		if (n < cap)
			n += (size_t)k;
	}
	close(fds[0]);
	if (r < 0)
		kill(pid, SIGKILL);
	pt__proc_wait(pid, pidfd, -1, &status);
	if (pidfd >= 0)
		close(pidfd);
	if (r < 0) {
		pt__free(buf);
		return r;
	}
	buf[n] = '\0';
	*ret = buf;
	*ret_len = n;
	return 0;
}

int pt__lsos_realpath(const char *path, char *buf, size_t len)
{
	char tmp[PATH_MAX];

	if (!realpath(path, tmp))
		return -errno;
	if (strlen(tmp) >= len)
		return -ENAMETOOLONG;
	memcpy(buf, tmp, strlen(tmp) + 1);
	return 0;
}

int pt__lsos_status(int status, int *ret)
{
	if (WIFEXITED(status)) {
		*ret = WEXITSTATUS(status);
		return 1;
	}
	*ret = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	return 2;
}

int pt__lsos_self_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')))
		*slash = '\0';
	return 0;
}

int pt__lsos_readable(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return -EINVAL;
	return access(path, R_OK) < 0 ? -errno : 0;
}

pid_t pt__lsos_fork(void)
{
	pid_t pid = fork();

	return pid < 0 ? -errno : pid;
}

void pt__lsos_exit(int code)
{
	_exit(code);
}
