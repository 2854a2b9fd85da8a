/*
 * os/path.c - paths and directories (os/path.h).
 */
#define _GNU_SOURCE 1
#include "os/path.h"

#include "base/common.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int pt__dir_each(const char *dir, int (*fn)(void *ctx, const char *name),
		 void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int r = 0;

	if (!d)
		return -errno;
	while (!r && (e = readdir(d))) {
		if (e->d_name[0] != '.')
			r = fn(ctx, e->d_name);
	}
	closedir(d);
	return r;
}

int pt__path_kind(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? PT_PATH_NONE
							   : -errno;
	return S_ISREG(st.st_mode)   ? PT_PATH_FILE
	       : S_ISDIR(st.st_mode) ? PT_PATH_DIR
				     : PT_PATH_OTHER;
}

int pt__unlink(const char *path)
{
	return unlink(path) < 0 ? -errno : 0;
}

int pt__symlink_replace(const char *target, const char *tmp, const char *link)
{
	int r = 0;

	(void)unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, link) < 0) {
		r = -errno;
		(void)unlink(tmp);
	}
	return r;
}

ssize_t pt__readlink(const char *path, char *buf, size_t size)
{
	ssize_t n;

	if (!size)
		return -EINVAL;
	n = readlink(path, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

int pt__random_bytes(void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = getrandom((char *)buf + got, n - got, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)k;
	}
	return 0;
}

int pt__stat(const char *path, struct stat *st)
{
	return stat(path, st) < 0 ? -errno : 0;
}

int pt__getcwd(char *buf, size_t size)
{
	return getcwd(buf, size) ? 0 : -errno;
}

bool pt__exists(const char *path)
{
	return access(path, F_OK) == 0;
}
