/*
 * os/lock.h - lock files (flock(2)): the one helper behind every lock
 * file of proctor (a session's writer lock, the learned-durations file,
 * TCP port blocks). A lock held by a process is released by the kernel
 * when the process dies, whatever killed it.
 */
#ifndef PT_OS_LOCK_H
#define PT_OS_LOCK_H

#include <stdbool.h>

enum {
	PT_LOCK_SH = 1,	     /* shared */
	PT_LOCK_EX = 2,	     /* exclusive */
	PT_LOCK_UN = 3,	     /* release */
	PT_LOCK_NB = 1 << 4, /* with SH or EX: fail instead of waiting */
};

/*
 * Opens a lock file, never through a symlink: read-write and created
 * (0600) when create, else read-only. The fd or -errno.
 */
int pt__lock_open(const char *path, bool create);
/*
 * flock(fd, how), EINTR retried: 0, -EWOULDBLOCK when PT_LOCK_NB and
 * another holds it, or -errno.
 */
int pt__lock(int fd, int how);
/*
 * pt__lock with a deadline: waits at most timeout_ms for PT_LOCK_SH or
 * PT_LOCK_EX (PT_ELOCKED then); PT_LOCK_UN releases. flock(2) locks belong
 * to one open of the file, so two opens in one process exclude each other
 * and closing another fd of the file drops nothing.
 */
int pt__lock_wait(int fd, int how, int timeout_ms);
/* Opens (creating) path and takes it exclusively without waiting. */
int pt__lock_take(const char *path);
/*
 * The same for a lock file shared by every user of the machine (the TCP
 * port blocks): opened read-only (flock needs no more), created mode 0644
 * so that other users can open it too, never through a symlink and never
 * blocking on a FIFO. The fd, -EWOULDBLOCK when another holds it, -EBADFD
 * when path is not a regular file, or -errno (-EACCES: another user's
 * file we cannot read, -ELOOP: a symlink).
 */
int pt__lock_take_shared(const char *path);
/* Records this process's pid in the lock file (for messages, break). */
int pt__lock_set_owner(int fd);
/* The pid recorded in the lock file; 0 when none. */
int pt__lock_owner(int fd);
/* Whether a process with this pid exists (one we may not signal too). */
bool pt__pid_alive(int pid);

#endif
