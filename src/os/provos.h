/*
 * os/provos.h - system calls for Checkbox providers and job users:
 * resolving paths, listing a provider's executables, the symlink nest,
 * and looking users up (docs/runner.md, "The provider environment").
 */
#ifndef PT_OS_PROVOS_H
#define PT_OS_PROVOS_H

#include "base/buf.h"
#include "base/common.h"

#include <sys/types.h>

/* realpath(3) of path into out; 0 or -errno. */
int pt__realpath(const char *path, struct pt_buf *out);

/* Upper bound on the executables listed per directory. */
#define PT_EXECUTABLES_MAX 100000

/*
 * The executables directly in dir, as PlainBox classifies them: entries
 * that exist and are executable by this process (access F_OK|X_OK),
 * regular files or symlinks to them, hidden ones included, as full
 * paths "dir/name" in byte order of the path. *ret is a heap array of
 * heap strings (free each and the array with pt__free). 0, -errno from
 * opendir, PT_ETOOBIG past PT_EXECUTABLES_MAX, or -ENOMEM.
 */
int pt__list_executables(const char *dir, char ***ret, size_t *ret_n);

/*
 * A directory every user may write to (mode 0777, as PlainBox makes its
 * session share): made, or, when path exists, accepted only if it is a
 * directory (not a symlink) owned by this process's user, then given
 * mode 0777. 0, -EPERM (something else is there) or -errno.
 */
int pt__mkdir_shared(const char *path);

/* symlink(2); 0 or -errno (-EEXIST when path exists). */
int pt__symlink(const char *target, const char *path);
/* chmod(2) / chown(2) (lchown: the link itself is never followed). */
int pt__chmod(const char *path, unsigned mode);
int pt__lchown(const char *path, unsigned uid, unsigned gid);

/* A user of the system (getpwnam_r); strings point into the struct. */
struct pt_pwent {
	unsigned uid, gid;
	char name[256];
	char home[1024];
	char shell[256];
};

/* 0, PT_ENOTFOUND (no such user), PT_ETOOBIG (a field too long), -errno. */
int pt__getpwnam(const char *name, struct pt_pwent *ret);
/* The same by uid. */
int pt__getpwuid(unsigned uid, struct pt_pwent *ret);

#endif
