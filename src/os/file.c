/* os/file.c - files and directories (see file.h). */
#define _GNU_SOURCE 1
#include "base/common.h"
#include "base/buf.h"
#include "os/fd.h"
#include "os/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

int pt__read_fd(int fd, size_t limit, char **ret, size_t *ret_len)
{
	struct pt_buf b = PT_BUF_INIT;
	int r;

	for (;;) {
		ssize_t n;

		r = pt__buf_grow(&b, 65536);
		if (r < 0)
			goto fail;
		n = read(fd, b.s + b.len, b.cap - b.len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		b.s[b.len] = '\0';
		if (b.len > limit) {
			r = PT_ETOOBIG;
			goto fail;
		}
	}
	*ret = pt__buf_detach(&b, ret_len);
	return *ret ? 0 : -ENOMEM;
fail:
	pt__buf_release(&b);
	return r;
}

int pt__read_file(const char *path, size_t limit, char **ret, size_t *ret_len)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size > limit) {
		close(fd);
		return PT_ETOOBIG;
	}
	r = pt__read_fd(fd, limit, ret, ret_len);
	close(fd);
	return r;
}

int pt__fsync_dir_of(const char *path)
{
	struct pt_buf b = PT_BUF_INIT;
	struct stat st;
	int fd, r;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		r = pt__buf_adds(&b, path);
	} else {
		const char *slash = strrchr(path, '/');
		if (!slash)
			r = pt__buf_adds(&b, ".");
		else if (slash == path)
			r = pt__buf_adds(&b, "/");
		else
			r = pt__buf_add(&b, path, (size_t)(slash - path));
	}
	if (r < 0)
		return r;
	fd = open(b.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pt__buf_release(&b);
	if (fd < 0)
		return -errno;
	r = pt__io_fsync(fd);
	close(fd);
	return r;
}

int pt__write_file_atomic(const char *path, const void *data, size_t len,
			  mode_t mode)
{
	struct pt_buf tmp = PT_BUF_INIT;
	int fd = -1, r;

	r = pt__buf_addf(&tmp, "%s.next", path);
	if (r < 0)
		return r;
	fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = pt__write_all(fd, data, len);
	if (r == 0)
		r = pt__io_fsync(fd);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	fd = -1;
	if (r == 0 && rename(tmp.s, path) < 0)
		r = -errno;
	if (r == 0)
		r = pt__fsync_dir_of(path);
	else
		unlink(tmp.s);
out:
	pt__buf_release(&tmp);
	return r;
}

int pt__mkdir_p(const char *path, mode_t mode)
{
	char *p = pt__strdup(path);
	int r = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				r = -errno;
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	if (r == 0) {
		struct stat st;
		if (stat(path, &st) < 0)
			r = -errno;
		else if (!S_ISDIR(st.st_mode))
			r = -ENOTDIR;
	}
	pt__free(p);
	return r;
}

static int rm_at(int dfd, const char *name)
{
	struct stat st;
	int r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(dfd, name,
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d;
		struct dirent *e;

		if (fd < 0)
			return -errno;
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			return -errno;
		}
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			r = rm_at(dirfd(d), e->d_name);
			if (r < 0)
				break;
		}
		closedir(d);
		if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
			r = errno == ENOENT ? 0 : -errno;
		return r;
	}
	if (unlinkat(dfd, name, 0) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

int pt__rm_rf(const char *path)
{
	return rm_at(AT_FDCWD, path);
}

int pt__open_excl(const char *path, unsigned mode)
{
	int fd;

	do
		fd = open(path,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  (mode_t)mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}
