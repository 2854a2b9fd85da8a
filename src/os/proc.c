/* os/proc.c - child processes (see proc.h). */
#define _GNU_SOURCE 1
#include "base/common.h"
#include "os/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/clock.h"
#include "os/fd.h"

extern char **environ;

/*
 * Without pidfd_open (kernels before 5.3, and valgrind, which does not know
 * the syscall), an equivalent fd is made from a pipe: a detached thread
 * waits for the child's exit without reaping it (WNOWAIT) and then closes
 * the write end, so the read end polls readable exactly when a pidfd would.
 */
struct exit_watch {
	pid_t pid;
	int wfd;
};

static void *exit_watch_main(void *arg)
{
	struct exit_watch w = *(struct exit_watch *)arg;
	siginfo_t si;

	pt__free(arg);
	while (waitid(P_PID, (id_t)w.pid, &si, WEXITED | WNOWAIT) < 0 &&
	       errno == EINTR)
		;
	close(w.wfd);
	return NULL;
}

static int emulated_pidfd(pid_t pid)
{
	struct exit_watch *w;
	pthread_attr_t attr;
	pthread_t th;
	int fds[2], r;

	r = pt__pipe(fds, 0);
	if (r < 0)
		return r;
	w = pt__malloc(sizeof(*w));
	if (!w) {
		close(fds[0]);
		close(fds[1]);
		return -ENOMEM;
	}
	w->pid = pid;
	w->wfd = fds[1];
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	r = pthread_create(&th, &attr, exit_watch_main, w);
	pthread_attr_destroy(&attr);
	if (r) {
		pt__free(w);
		close(fds[0]);
		close(fds[1]);
		return -r;
	}
	return fds[0];
}

int pt__pidfd_open(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd >= 0)
		return fd;
	if (errno == ENOSYS)
		return emulated_pidfd(pid);
	return -errno;
}

static int add_fd(posix_spawn_file_actions_t *fa, int fd, int target)
{
	if (fd == -2)
		return 0;
	if (fd == -1)
		return posix_spawn_file_actions_addopen(
			fa, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY,
			0);
	/* dup2 onto itself would keep O_CLOEXEC: spawn clears it for us. */
	return posix_spawn_file_actions_adddup2(fa, fd, target);
}

static bool prep_matches(const struct pt_spawn_prep *p,
			 const struct pt_spawn *s)
{
	return p->valid && p->fd_in == s->fd_in && p->fd_out == s->fd_out &&
	       p->fd_err == s->fd_err && p->new_session == s->new_session &&
	       p->close_fds == s->close_fds && !p->cwd == !s->cwd &&
	       (!s->cwd || !strcmp(p->cwd, s->cwd));
}

void pt__spawn_prep_release(struct pt_spawn_prep *p)
{
	if (p->valid) {
		posix_spawnattr_destroy(&p->attr);
		posix_spawn_file_actions_destroy(&p->fa);
	}
	pt__freep(&p->cwd);
	p->valid = false;
}

/* Builds p's file actions and attributes for s. 0 or -errno. */
static int prep_build(struct pt_spawn_prep *p, const struct pt_spawn *s)
{
	sigset_t none, all;
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	int r;

	pt__spawn_prep_release(p);
	if (s->cwd && !(p->cwd = pt__strdup(s->cwd)))
		return -ENOMEM;
	r = posix_spawn_file_actions_init(&p->fa);
	if (r)
		return -r;
	r = posix_spawnattr_init(&p->attr);
	if (r) {
		posix_spawn_file_actions_destroy(&p->fa);
		return -r;
	}
	p->valid = true;
	r = add_fd(&p->fa, s->fd_in == -2 ? -1 : s->fd_in, 0);
	if (!r)
		r = add_fd(&p->fa, s->fd_out, 1);
	if (!r)
		r = add_fd(&p->fa, s->fd_err, 2);
	if (!r && s->cwd)
		r = posix_spawn_file_actions_addchdir_np(&p->fa, s->cwd);
	/* Leaked fds (not O_CLOEXEC) of the caller must not reach jobs. */
	if (!r && s->close_fds)
		r = posix_spawn_file_actions_addclosefrom_np(&p->fa, 3);
	if (s->new_session)
		flags |= POSIX_SPAWN_SETSID;
	/* The child starts with no blocked signals and default handlers. */
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if (!r)
		r = posix_spawnattr_setflags(&p->attr, flags);
	if (!r)
		r = posix_spawnattr_setsigmask(&p->attr, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(&p->attr, &all);
	if (r) {
		pt__spawn_prep_release(p);
		return -r;
	}
	p->fd_in = s->fd_in;
	p->fd_out = s->fd_out;
	p->fd_err = s->fd_err;
	p->new_session = s->new_session;
	p->close_fds = s->close_fds;
	return 0;
}

int pt__spawn_with(struct pt_spawn_prep *p, const struct pt_spawn *s,
		   pid_t *ret_pid, int *ret_pidfd)
{
	char *const *argv, *const *envp;
	pid_t pid;
	int r;

	if (!p || !s || !s->argv || !s->argv[0] || !ret_pid)
		return -EINVAL;
	if (!prep_matches(p, s) && (r = prep_build(p, s)) < 0)
		return r;
	argv = (char *const *)(uintptr_t)s->argv;
	envp = s->envp ? (char *const *)(uintptr_t)s->envp : environ;
	if (s->search)
		r = posix_spawnp(&pid, s->argv[0], &p->fa, &p->attr, argv,
				 envp);
	else
		r = posix_spawn(&pid, s->argv[0], &p->fa, &p->attr, argv, envp);
	if (r)
		return -r;
	if (ret_pidfd) {
		int fd = pt__pidfd_open(pid);
		if (fd < 0) {
			/* Cannot watch it: do not leave it running unwatched. */
			kill(s->new_session ? -pid : pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return fd;
		}
		*ret_pidfd = fd;
	}
	*ret_pid = pid;
	return 0;
}

int pt__spawn(const struct pt_spawn *s, pid_t *ret_pid, int *ret_pidfd)
{
	struct pt_spawn_prep p = { 0 };
	int r = pt__spawn_with(&p, s, ret_pid, ret_pidfd);

	pt__spawn_prep_release(&p);
	return r;
}

int pt__proc_wait(pid_t pid, int pidfd, int timeout_ms, int *ret_status)
{
	int64_t deadline = timeout_ms < 0
				   ? -1
				   : pt__now_ns() + (int64_t)timeout_ms * 1000000;
	int own_fd = -1, status, r = 0;

	if (pidfd < 0 && timeout_ms >= 0) {
		/* A bounded wait needs something to poll. */
		own_fd = pt__pidfd_open(pid);
		if (own_fd < 0)
			return own_fd;
		pidfd = own_fd;
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, pidfd < 0 ? 0 : WNOHANG);

		if (w == pid) {
			if (ret_status)
				*ret_status = status;
			break;
		}
		if (w < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (w == 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			int wait_ms = -1;

			if (deadline >= 0) {
				int64_t left = deadline - pt__now_ns();
				if (left <= 0) {
					r = -ETIMEDOUT;
					break;
				}
				wait_ms = (int)((left + 999999) / 1000000);
			}
			if (poll(&p, 1, wait_ms) < 0 && errno != EINTR) {
				r = -errno;
				break;
			}
		}
	}
	pt__close(own_fd);
	return r;
}

int pt__proc_kill_group(pid_t pgid, int sig)
{
	if (pgid <= 0)
		return -EINVAL;
	if (kill(-pgid, sig) < 0 && errno != ESRCH)
		return -errno;
	return 0;
}

/*
 * /proc/PID/stat of pid: its state, process group, start time and name.
 * 0, or -ESRCH (gone, or unreadable).
 */
static int proc_stat(pid_t pid, char *state, pid_t *pgrp,
		     struct pt_proc_member *m)
{
	char path[64], buf[1024], *open_p, *close_p, *p;
	unsigned long long v = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = pt__read_full(fd, buf, sizeof(buf) - 1);
	pt__close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	/* "pid (comm) state ppid pgrp ...": comm may hold ')' and spaces */
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p || close_p[1] != ' ')
		return -ESRCH;
	*close_p = 0;
	snprintf(m->name, sizeof(m->name), "%s", open_p + 1);
	m->pid = pid;
	p = close_p + 2;
	*state = *p;
	/* fields 3 (state) .. 22 (starttime): 5 is the group */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (!p)
			break;
		p++;
		if (field + 1 == 5)
			*pgrp = (pid_t)strtol(p, NULL, 10);
		if (field + 1 == 22)
			v = strtoull(p, NULL, 10);
	}
	if (!p)
		return -ESRCH;
	m->start = v;
	return 0;
}

static int member_cmp(const void *a, const void *b)
{
	const struct pt_proc_member *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

int pt__proc_group(pid_t pgid, struct pt_proc_member *out, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		struct pt_proc_member m;
		char *end, state = 0;
		long pid = strtol(e->d_name, &end, 10);
		pid_t pg = 0;

		if (*end || pid <= 0 || e->d_name[0] < '0' ||
		    e->d_name[0] > '9')
			continue;
		if (proc_stat((pid_t)pid, &state, &pg, &m) < 0 || pg != pgid ||
		    state == 'Z' || state == 'X')
			continue;
		if (n < max)
			out[n] = m;
		n++;
	}
	closedir(d);
	qsort(out, PT_MIN(n, max), sizeof(*out), member_cmp);
	return n > INT_MAX ? INT_MAX : (int)n;
}

int pt__proc_kill_member(pid_t pgid, pid_t pid, int sig)
{
	struct pt_proc_member m;
	pid_t pg = 0;
	char state = 0;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0), r = 0;

	/* the pidfd pins the process: the check below is about it */
	if (fd < 0 && errno != ENOSYS)
		return -ESRCH;
	if (proc_stat(pid, &state, &pg, &m) < 0 || pg != pgid || state == 'Z' ||
	    state == 'X')
		r = -ESRCH;
	else if (fd >= 0 ? syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0
			 : kill(pid, sig) < 0)
		r = -errno;
	if (fd >= 0)
		pt__close(fd);
	return r;
}

const char *pt__proc_status_str(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "status 0x%x", (unsigned)status);
	return buf;
}

struct capture_stream {
	int fd;
	char *buf;
	size_t len, cap;
	bool truncated;
};

static int capture_read(struct capture_stream *c, size_t limit)
{
	char tmp[4096];
	ssize_t n;

	do
		n = read(c->fd, tmp, sizeof(tmp));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 1 : -errno;
	if (n == 0)
		return 0;
	if (c->len + (size_t)n > limit) {
		c->truncated = true;
		n = (ssize_t)(limit - c->len);
	}
	if (c->len + (size_t)n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 256;
		char *p;

		while (cap < c->len + (size_t)n + 1)
			cap *= 2;
		p = pt__realloc(c->buf, cap);
		if (!p)
			return -ENOMEM;
		c->buf = p;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, tmp, (size_t)n);
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return 1;
}

int pt__run_capture(const char *const *argv, const char *const *envp,
		    size_t limit, int timeout_ms, int *ret_status,
		    char **ret_out, char **ret_err, bool *ret_truncated)
{
	struct capture_stream cs[2] = { { .fd = -1 }, { .fd = -1 } };
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	int64_t deadline =
		timeout_ms < 0 ? -1
			       : pt__now_ns() + (int64_t)timeout_ms * 1000000;
	pid_t pid = -1;
	int pidfd = -1, status = 0, r;

	r = pt__pipe(po, O_NONBLOCK);
	if (r == 0)
		r = pt__pipe(pe, O_NONBLOCK);
	if (r < 0)
		goto out;
	/* the child's ends block: a program may not expect O_NONBLOCK */
	r = pt__fd_set_nonblock(po[1], false);
	if (r == 0)
		r = pt__fd_set_nonblock(pe[1], false);
	if (r < 0)
		goto out;
	{
		struct pt_spawn sp = { .argv = argv,
				       .envp = envp,
				       .fd_in = -1,
				       .fd_out = po[1],
				       .fd_err = pe[1],
				       .new_session = true, /* not the tty's */
				       .search = true,
				       .close_fds = true };
		r = pt__spawn(&sp, &pid, &pidfd);
	}
	po[1] = pt__close(po[1]);
	pe[1] = pt__close(pe[1]);
	if (r < 0)
		goto out;
	cs[0].fd = po[0];
	cs[1].fd = pe[0];
	while (cs[0].fd >= 0 || cs[1].fd >= 0) {
		struct pollfd p[2];
		int n = 0, wait_ms = -1, k;

		for (int i = 0; i < 2; i++) {
			if (cs[i].fd >= 0)
				p[n++] = (struct pollfd){ .fd = cs[i].fd,
							  .events = POLLIN };
		}
		if (deadline >= 0) {
			int64_t left = deadline - pt__now_ns();
			if (left <= 0) {
				r = -ETIMEDOUT;
				break;
			}
			wait_ms = (int)((left + 999999) / 1000000);
		}
		k = poll(p, (nfds_t)n, wait_ms);
		if (k < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		for (int i = 0, j = 0; k > 0 && i < 2; i++) {
			if (cs[i].fd < 0)
				continue;
			if (p[j++].revents) {
				int e = capture_read(&cs[i], limit);
				if (e < 0) {
					r = e;
					break;
				}
				if (e == 0)
					cs[i].fd = -1; /* closed below */
			}
		}
		if (r < 0)
			break;
	}
	if (r < 0) {
		kill(pid, SIGKILL);
		(void)pt__proc_wait(pid, pidfd, -1, NULL);
		goto out;
	}
	r = pt__proc_wait(
		pid, pidfd,
		deadline < 0 ? -1
			     : (int)((deadline - pt__now_ns()) / 1000000 + 1),
		&status);
	if (r == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		(void)pt__proc_wait(pid, pidfd, -1, NULL);
		goto out;
	}
	if (r < 0)
		goto out;
	if (!cs[0].buf && !(cs[0].buf = pt__strdup("")))
		r = -ENOMEM;
	if (!cs[1].buf && !(cs[1].buf = pt__strdup("")))
		r = -ENOMEM;
	if (r < 0)
		goto out;
	*ret_status = status;
	*ret_out = cs[0].buf;
	*ret_err = cs[1].buf;
	if (ret_truncated)
		*ret_truncated = cs[0].truncated || cs[1].truncated;
	cs[0].buf = cs[1].buf = NULL;
out:
	pt__close(po[0]);
	pt__close(po[1]);
	pt__close(pe[0]);
	pt__close(pe[1]);
	pt__close(pidfd);
	pt__free(cs[0].buf);
	pt__free(cs[1].buf);
	return r;
}

pid_t pt__getpid(void)
{
	return getpid();
}

uid_t pt__geteuid(void)
{
	return geteuid();
}
