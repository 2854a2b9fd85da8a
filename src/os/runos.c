/* os/runos.c - system calls for the job runner (see runos.h). */
#define _GNU_SOURCE 1
#include "os/runos.h"
#include "base/common.h"

#include "os/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int pt__ep_new(void)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int pt__ep_add(int ep, int fd, uint64_t data)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

int pt__ep_del(int ep, int fd)
{
	return epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int pt__ep_wait(int ep, struct pt_ep_event *ev, int n, int timeout_ms)
{
	struct epoll_event e[32];
	int r;

	if (n > (int)PT_ARRAY_SIZE(e))
		n = (int)PT_ARRAY_SIZE(e);
	r = epoll_wait(ep, e, n, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < r; i++) {
		ev[i].events = ((e[i].events & EPOLLIN) ? PT_EP_IN : 0) |
			       ((e[i].events & EPOLLHUP) ? PT_EP_HUP : 0) |
			       ((e[i].events & EPOLLERR) ? PT_EP_ERR : 0);
		ev[i].data = e[i].data.u64;
	}
	return r;
}

int pt__port_probe(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int fd, r = 0;

	if (port == 0 || port > 65535)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		r = -errno;
	close(fd);
	return r;
}

int pt__tcp_census(int *fd, char *buf, size_t size)
{
	char text[1024];
	const char *l, *e;
	ssize_t n;

	if (size == 0)
		return -EINVAL;
	if (*fd < 0) {
		*fd = open("/proc/net/sockstat", O_RDONLY | O_CLOEXEC);
		if (*fd < 0) {
			*fd = -1;
			return -errno;
		}
	}
	do
		n = pread(*fd, text, sizeof(text) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	text[n] = 0;
	l = strstr(text, "\nTCP: ");
	if (!l)
		return -ENOENT;
	l += 1;
	e = strchr(l, '\n');
	if (!e)
		return -ENOENT;
	n = e - l;
	/* the memory figure moves with buffered bytes: not a socket count */
	for (const char *m = l; m + 5 <= e; m++) {
		if (!memcmp(m, " mem ", 5)) {
			n = m - l;
			break;
		}
	}
	if ((size_t)n >= size)
		return -ENOSPC;
	memcpy(buf, l, (size_t)n);
	buf[n] = 0;
	return (int)n;
}

int pt__dirwatch_new(void)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int pt__dirwatch_add(int fd, const char *path, enum pt_dirwatch what)
{
	uint32_t mask = what == PT_DIRWATCH_NAMES
				? IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
				: IN_CREATE | IN_MOVED_TO | IN_ATTRIB |
					  IN_DELETE_SELF | IN_MOVE_SELF |
					  IN_ONESHOT;
	int wd =
		inotify_add_watch(fd, path, mask | IN_ONLYDIR | IN_DONT_FOLLOW);

	return wd < 0 ? -errno : wd;
}

int pt__dirwatch_read(int fd, void (*fn)(void *ctx, int wd), void *ctx)
{
	union {
		char b[4096];
		struct inotify_event align;
	} u;

	for (;;) {
		ssize_t n = read(fd, u.b, sizeof(u.b));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off + (ssize_t)sizeof(u.align) <= n;) {
			struct inotify_event ev;

			memcpy(&ev, u.b + off, sizeof(ev));
			fn(ctx, (ev.mask & IN_Q_OVERFLOW) ? -1 : ev.wd);
			off += (ssize_t)sizeof(ev) + ev.len;
		}
	}
}

int pt__mkdtemp(char *tmpl)
{
	return mkdtemp(tmpl) ? 0 : -errno;
}

int pt__mkdir(const char *path, unsigned mode)
{
	return mkdir(path, (mode_t)mode) < 0 ? -errno : 0;
}

/* True when the directory open at fd has only "." and "..". */
static bool dir_is_empty(int fd)
{
	/* One getdents64: if "." and ".." are all it returns, that is all. */
	union {
		char b[4096];
		uint64_t align;
	} u;
	long n = syscall(SYS_getdents64, fd, u.b, sizeof(u.b));
	long off = 0, count = 0;

	if (n < 0)
		return false;
	while (off < n) {
		unsigned short reclen;
		const char *name =
			u.b + off + 19; /* d_ino, d_off, reclen, type */

		memcpy(&reclen, u.b + off + 16, sizeof(reclen));
		if (strcmp(name, ".") && strcmp(name, ".."))
			return false;
		count++;
		off += reclen;
	}
	return count <= 2;
}

/* The directory at fd can be reused as it is: mode 0700, still linked. */
static bool dir_is_pristine(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_nlink > 0 &&
	       (st.st_mode & 07777) == 0700;
}

int pt__dir_make_empty(const char *path)
{
	struct pt_buf child = PT_BUF_INIT;
	struct dirent *e;
	DIR *d;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return -errno;
		return mkdir(path, 0700) < 0 ? -errno : 0;
	}
	/* The common case: a job that left nothing. */
	if (dir_is_pristine(fd) && dir_is_empty(fd)) {
		close(fd);
		return 0;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		pt__buf_reset(&child);
		r = pt__buf_addf(&child, "%s/%s", path, e->d_name);
		if (!r)
			r = pt__rm_rf(child.s);
		if (r < 0)
			break;
	}
	/* A job may have made its directory unusable for the next one. */
	if (!r) {
		struct stat st;
		if (fstat(dirfd(d), &st) < 0)
			r = -errno;
		else if ((st.st_mode & 07777) != 0700 &&
			 fchmod(dirfd(d), 0700) < 0)
			r = -errno;
	}
	closedir(d);
	pt__buf_release(&child);
	return r;
}

int pt__dir_check_safe(const char *path, unsigned *ret_uid, unsigned *ret_mode)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -errno;
	if (ret_uid)
		*ret_uid = (unsigned)st.st_uid;
	if (ret_mode)
		*ret_mode = (unsigned)st.st_mode & 07777;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return -EPERM;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return -EPERM;
	return 0;
}

int pt__mkdir_exact(const char *path, unsigned mode)
{
	if (mkdir(path, 0700) < 0)
		return -errno;
	/* Made by us just now: set the mode the umask may have cut. */
	if (chmod(path, (mode_t)mode) < 0)
		return -errno;
	return 0;
}

int pt__rmdir(const char *path)
{
	return rmdir(path) < 0 ? -errno : 0;
}

int pt__open_wr(const char *path)
{
	int fd = open(path,
		      O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC |
			      O_NOFOLLOW,
		      0600);

	return fd < 0 ? -errno : fd;
}

int pt__append(const char *path, const void *data, size_t len)
{
	int fd = open(path,
		      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
		      0600);
	ssize_t n;
	int r = 0;

	if (fd < 0)
		return -errno;
	do
		n = write(fd, data, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	close(fd);
	return r;
}

int pt__open_rd(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

char **pt__environ(void)
{
	return environ;
}

int pt__which(const char *name, struct pt_buf *out)
{
	const char *path = getenv("PATH");
	const char *p;

	if (!name || !*name)
		return -ENOENT;
	if (strchr(name, '/')) {
		pt__buf_reset(out);
		return pt__buf_adds(out, name);
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int r;

		pt__buf_reset(out);
		r = pt__buf_addf(out, "%.*s%s%s", (int)n, p, n ? "/" : "",
				 name);
		if (r < 0)
			return r;
		if (access(out->s, X_OK) == 0) {
			struct stat st;
			if (stat(out->s, &st) == 0 && S_ISREG(st.st_mode))
				return 0;
		}
		if (!end)
			break;
		p = end;
	}
	pt__buf_reset(out);
	return -ENOENT;
}

unsigned pt__cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1u : (unsigned)n;
}

const char *pt__tmp_root(void)
{
	const char *t = getenv("TMPDIR");

	return t && t[0] == '/' ? t : "/tmp";
}

int pt__reap(pid_t pid, int *status, uint64_t *maxrss_kib)
{
	for (;;) {
		struct rusage ru;
		pid_t w = wait4(pid, status, WNOHANG, &ru);

		if (w == pid && maxrss_kib)
			*maxrss_kib =
				ru.ru_maxrss > 0 ? (uint64_t)ru.ru_maxrss : 0;

		if (w == pid)
			return 1;
		if (w == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

unsigned pt__uid(void)
{
	return (unsigned)geteuid();
}
