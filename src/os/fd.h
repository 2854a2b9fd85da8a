/*
 * os/fd.h - file descriptor helpers and the I/O fault seam.
 *
 * Every write(2)/fsync(2) of the library goes through pt__io_write() and
 * pt__io_fsync(), so tests can inject ENOSPC or EIO (pt__io_set_faults)
 * and check that a failure is reported and nothing is lost. Reads are
 * not faulted. All functions retry on EINTR and return 0 (or a count) or
 * -errno.
 */
#ifndef PT_OS_FD_H
#define PT_OS_FD_H

#include <stdbool.h>
#include <sys/stat.h>
#include <stddef.h>
#include <sys/types.h>

/* The fault seam: each hook may return -errno to fail the call. */
struct pt_io_faults {
	/* Called before each write; return 0 to proceed or -errno. */
	int (*before_write)(void *ctx, int fd, size_t len);
	/* Called before each fsync/fdatasync; 0 or -errno. */
	int (*before_fsync)(void *ctx, int fd);
	void *ctx;
};

/* Installs hooks (NULL removes them). Process-wide; for tests. */
void pt__io_set_faults(const struct pt_io_faults *f);

ssize_t pt__io_write(int fd, const void *buf, size_t len);
int pt__io_fsync(int fd);
int pt__io_fdatasync(int fd);

/* Writes all len bytes (looping on short writes); 0 or -errno. */
int pt__write_all(int fd, const void *buf, size_t len);
/*
 * Reads up to len bytes, looping until len bytes or EOF. Returns the count
 * read (less than len only at EOF) or -errno.
 */
ssize_t pt__read_full(int fd, void *buf, size_t len);

int pt__fd_set_nonblock(int fd, bool on);
int pt__fd_set_cloexec(int fd, bool on);
/* pipe2(O_CLOEXEC | extra_flags); 0 or -errno. */
int pt__pipe(int fds[2], int extra_flags);
/* Closes fd if >= 0, preserving errno; returns -1 for "fd = pt__close(fd)". */
int pt__close(int fd);

/*
 * Thin file calls. Each returns 0 (or the fd) or -errno, and leaves errno
 * as the call set it, so "if (pt__x(...) < 0) r = -errno;" also holds.
 */
/* open(2) with O_CLOEXEC added. */
int pt__open(const char *path, int flags, mode_t mode);
int pt__fstat(int fd, struct stat *st);
/* One read(2), retried on EINTR: the count, 0 at end of input, or -errno
 * (-EAGAIN on a non-blocking fd with nothing to read). */
ssize_t pt__read_once(int fd, void *buf, size_t len);
/* lseek(fd, off, SEEK_SET). */
int pt__seek(int fd, off_t off);
int pt__ftruncate(int fd, off_t len);
/* A shared read-write mapping of the first len bytes of fd into *ret. */
int pt__map_shared(int fd, size_t len, void **ret);
void pt__unmap(void *p, size_t len);

#endif
