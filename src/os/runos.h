/*
 * os/runos.h - the system calls the job runner needs beyond fd.h, file.h
 * and proc.h: an epoll set, TCP port probes, advisory file locks, private
 * temporary directories, PATH lookup, the process environment and CPU
 * counts. Kept apart so that src/runner calls no OS function directly.
 */
#ifndef PT_OS_RUNOS_H
#define PT_OS_RUNOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"

/* An epoll event, without the packed-struct quirks of <sys/epoll.h>. */
struct pt_ep_event {
	uint32_t events; /* PT_EP_IN / PT_EP_HUP / PT_EP_ERR bits */
	uint64_t data;
};

enum {
	PT_EP_IN = 1u << 0,
	PT_EP_HUP = 1u << 1,
	PT_EP_ERR = 1u << 2,
};

/* epoll_create1(EPOLL_CLOEXEC); the fd or -errno. */
int pt__ep_new(void);
/* Watches fd for input (level-triggered); data comes back in events. */
int pt__ep_add(int ep, int fd, uint64_t data);
int pt__ep_del(int ep, int fd);
/*
 * Waits up to timeout_ms (-1: forever) for at most n events. Returns the
 * count (0 on timeout or EINTR) or -errno.
 */
int pt__ep_wait(int ep, struct pt_ep_event *ev, int n, int timeout_ms);

/*
 * Directory change notification (inotify), for telling whether a
 * directory kept empty between jobs was touched. pt__dirwatch_new: a
 * non-blocking, close-on-exec inotify fd, or -errno. pt__dirwatch_add:
 * watches the directory at path (not following a symlink); with
 * PT_DIRWATCH_CONTENT for entries made in it (created, linked, moved in)
 * and changes of the directory itself (mode, removal, move), once (the
 * watch ends with its first event, so a job that makes 10,000 files
 * costs one event, not 10,000 wake-ups; add it again to go on), with
 * PT_DIRWATCH_NAMES for entries removed or renamed in it (the removal of
 * a subdirectory is reported there at once, while an open fd on it
 * delays its own IN_DELETE_SELF). Returns the watch descriptor or
 * -errno. pt__dirwatch_read: reads the pending events without blocking
 * and calls fn(ctx, wd) for each (wd -1: the queue overflowed, anything
 * may have changed); 0 when none are left, or -errno.
 */
enum pt_dirwatch { PT_DIRWATCH_CONTENT, PT_DIRWATCH_NAMES };
int pt__dirwatch_new(void);
int pt__dirwatch_add(int fd, const char *path, enum pt_dirwatch what);
int pt__dirwatch_read(int fd, void (*fn)(void *ctx, int wd), void *ctx);

/*
 * True when TCP port is free on every IPv4 address: a socket can bind
 * 0.0.0.0:port without SO_REUSEADDR. 0 free, -EADDRINUSE (or -EACCES)
 * busy, other -errno on failure.
 */
int pt__port_probe(unsigned port);
/*
 * The TCP socket census of this network namespace: the "TCP:" line of
 * /proc/net/sockstat without its memory figure ("inuse N orphan N tw N
 * alloc N"), read through *fd (opened on the first call, -1 before; keep
 * it and close it with pt__close). Cheap (one pread of a short kernel
 * text): two equal censuses mean that, most likely, no TCP socket was
 * created, bound or left in TIME_WAIT in between (counts can net out;
 * see docs/runner.md, TCP ports). Returns the length written to buf
 * (NUL-terminated) or -errno (e.g. no /proc).
 */
int pt__tcp_census(int *fd, char *buf, size_t size);

/*
 * Whether path is a directory other users cannot tamper with: a real
 * directory (not a symlink), owned by root or by us, and sticky when
 * others may write it (so that nobody removes another's files). 0;
 * -ENOENT; -ENOTDIR (a symlink or not a directory); -EPERM (owner or
 * mode), with *ret_uid and *ret_mode (may be NULL) telling which.
 */
int pt__dir_check_safe(const char *path, unsigned *ret_uid, unsigned *ret_mode);
/* mkdir(path) then chmod to exactly mode (umask aside) when it was made
 * by this call: 0, or -errno (-EEXIST when it exists). */
int pt__mkdir_exact(const char *path, unsigned mode);

/* mkdtemp(3) on a template ending in "XXXXXX"; 0 or -errno. */
int pt__mkdtemp(char *tmpl);
/*
 * Makes path an empty directory (mode 0700) owned by us: creates it if
 * missing, else removes everything inside it (not following symlinks)
 * and resets its mode. Costs an open, an fstat, a getdents and a close
 * when it is already empty with mode 0700. 0 or -errno.
 */
int pt__dir_make_empty(const char *path);
/* mkdir(2) with mode; 0 or -errno. */
int pt__mkdir(const char *path, unsigned mode);
/* rmdir(2); 0 or -errno. */
int pt__rmdir(const char *path);
/*
 * A log file to append to: open(path, O_WRONLY|O_CREAT|O_TRUNC|O_APPEND|
 * O_CLOEXEC|O_NOFOLLOW, 0600) (a planted symlink is refused: -ELOOP). The
 * fd or -errno.
 */
int pt__open_wr(const char *path);
/*
 * Appends len bytes to the file at path with a single write
 * (O_WRONLY|O_CREAT|O_APPEND|O_NOFOLLOW, mode 0600), so that lines of
 * concurrent writers do not mix. 0 or -errno (-ELOOP: a symlink).
 */
int pt__append(const char *path, const void *data, size_t len);
/* open(path, O_RDONLY|O_CLOEXEC): the fd or -errno. */
int pt__open_rd(const char *path);

/* The process environment (environ). Borrowed. */
char **pt__environ(void);

/*
 * Looks name up in $PATH as execvp would; the absolute (or relative,
 * if name has a '/') path goes to out. 0 or -ENOENT.
 */
int pt__which(const char *name, struct pt_buf *out);

/* Online CPUs (at least 1). */
unsigned pt__cpu_count(void);

/* $TMPDIR if set and absolute, else "/tmp". Borrowed. */
const char *pt__tmp_root(void);

/* waitpid(pid, WNOHANG): 1 and *status when reaped, 0 if running, -errno. */
int pt__reap(pid_t pid, int *status, uint64_t *maxrss_kib);

/* Effective uid, for per-user directory names. */
unsigned pt__uid(void);

#endif
