/* os/file.c - files and directories (see file.h). */
#define _GNU_SOURCE 1
#include "os/file.h"
#include "base/buf.h"
#include "base/common.h"
#include "base/vec.h"
#include "os/fd.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
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

/* The directory part of path ("." or "/" when it has none); path itself
 * when self_if_dir and it is a directory. */
static int dir_of(struct pt_buf *b, const char *path, bool self_if_dir)
{
	struct stat st;
	const char *slash;

	if (self_if_dir && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return pt__buf_adds(b, path);
	slash = strrchr(path, '/');
	if (!slash)
		return pt__buf_adds(b, ".");
	if (slash == path)
		return pt__buf_adds(b, "/");
	return pt__buf_add(b, path, (size_t)(slash - path));
}

int pt__fsync_dir_of(const char *path)
{
	struct pt_buf b = PT_BUF_INIT;
	int fd, r;

	r = dir_of(&b, path, true);
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

/* "<path>.next.<16 hex digits>", the digits unpredictable. */
static int tmp_name(struct pt_buf *b, const char *path)
{
	static unsigned long long counter;
	unsigned long long x = 0;

	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t)sizeof(x)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = ((unsigned long long)ts.tv_nsec << 20) ^
		    (unsigned long long)getpid() ^
		    __atomic_add_fetch(&counter, 0x9e3779b97f4a7c15ull,
				       __ATOMIC_RELAXED);
	}
	pt__buf_reset(b);
	return pt__buf_addf(b, "%s.next.%016llx", path, x);
}

/* Tries to give the anonymous file fd (O_TMPFILE) the name tmp. */
static int link_anon(int fd, const char *tmp)
{
	char proc[64];

	if (linkat(fd, "", AT_FDCWD, tmp, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != EPERM && errno != ENOENT && errno != EINVAL)
		return -errno;
	/* Without CAP_DAC_READ_SEARCH: through /proc (the documented way). */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	return -errno;
}

#define TMP_TRIES 16

int pt__write_file_atomic(const char *path, const void *data, size_t len,
			  mode_t mode)
{
	struct pt_buf tmp = PT_BUF_INIT;
	bool anon, named = false;
	int fd, r, tries;

	/* An unnamed file in the target's directory: nothing to collide
	 * with or to plant a symlink at while it is written. */
	r = dir_of(&tmp, path, false);
	if (r < 0)
		return r;
	fd = open(tmp.s, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	anon = fd >= 0;
	if (!anon && errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL) {
		r = -errno;
		goto out;
	}
	/* Else a fresh name, created exclusively (O_EXCL never follows a
	 * symlink; O_NOFOLLOW says so twice). */
	for (tries = 0; !anon && tries < TMP_TRIES; tries++) {
		if ((r = tmp_name(&tmp, path)) < 0)
			goto out;
		fd = open(tmp.s,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  mode);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	named = !anon;
	r = pt__write_all(fd, data, len);
	if (r == 0)
		r = pt__io_fsync(fd);
	for (tries = 0; r == 0 && anon && !named; tries++) {
		if ((r = tmp_name(&tmp, path)) < 0)
			break;
		r = link_anon(fd, tmp.s);
		if (r == 0)
			named = true;
		else if (r == -EEXIST && tries + 1 < TMP_TRIES)
			r = 0;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp.s, path) < 0)
		r = -errno;
	if (r == 0)
		r = pt__fsync_dir_of(path);
	else if (named)
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

/*
 * rm -rf without recursion: a directory tree as deep as a job cares to
 * make it must not exhaust the stack. One open directory per level (the
 * fd limit bounds the depth: -EMFILE past it, nothing crashes).
 */
struct rm_level {
	DIR *d;
	char *name; /* in the parent level's directory */
};

int pt__rm_rf(const char *path)
{
	PT_VEC(struct rm_level) st = PT_VEC_INIT;
	struct stat sb;
	int r = 0, fd;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(sb.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	{
		struct rm_level top = { fdopendir(fd), NULL };
		if (!top.d) {
			r = -errno;
			close(fd);
			return r;
		}
		if (pt_vec_push(&st, top) < 0) {
			closedir(top.d);
			return -ENOMEM;
		}
	}
	while (st.n) {
		struct rm_level *lv = &st.v[st.n - 1];
		struct dirent *e;
		int dfd = dirfd(lv->d);

		errno = 0;
		e = r ? NULL : readdir(lv->d);
		if (!e) {
			struct rm_level done = *lv;

			if (!r && errno)
				r = -errno;
			closedir(done.d);
			st.n--;
			if (!r && done.name &&
			    unlinkat(dirfd(st.v[st.n - 1].d), done.name,
				     AT_REMOVEDIR) < 0 &&
			    errno != ENOENT)
				r = -errno;
			pt__free(done.name);
			continue;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				r = -errno;
			continue;
		}
		if (!S_ISDIR(sb.st_mode)) {
			if (unlinkat(dfd, e->d_name, 0) < 0 && errno != ENOENT)
				r = -errno;
			continue;
		}
		fd = openat(dfd, e->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		{
			struct rm_level sub = { fdopendir(fd),
						pt__strdup(e->d_name) };
			if (!sub.d || !sub.name || pt_vec_push(&st, sub) < 0) {
				r = sub.d ? -ENOMEM : -errno;
				if (sub.d)
					closedir(sub.d);
				else
					close(fd);
				pt__free(sub.name);
			}
		}
	}
	pt_vec_release(&st);
	if (!r && rmdir(path) < 0 && errno != ENOENT)
		r = -errno;
	return r;
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
