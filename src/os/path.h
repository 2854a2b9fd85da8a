/*
 * os/path.h - paths and directories for the store and the unit loader:
 * listing a directory, the kind of a path, unlink, an atomically replaced
 * symlink, readlink, and random bytes (session ids). Kept in src/os so
 * that no module above it calls the OS directly (docs/os.md).
 */
#ifndef PT_OS_PATH_H
#define PT_OS_PATH_H

#include <sys/stat.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Calls fn for each entry of dir whose name does not start with '.', in
 * the order the directory gives them; a nonzero return of fn stops and
 * is returned. 0, or -errno (-ENOENT for no such directory).
 */
int pt__dir_each(const char *dir, int (*fn)(void *ctx, const char *name),
		 void *ctx);

enum pt_path_kind {
	PT_PATH_NONE = 0, /* does not exist (ENOENT, ENOTDIR) */
	PT_PATH_FILE,	  /* a regular file */
	PT_PATH_DIR,
	PT_PATH_OTHER,
};

/* The kind of path, following symlinks (stat(2)), or -errno. */
int pt__path_kind(const char *path);
/* unlink(2): 0 or -errno. */
int pt__unlink(const char *path);
/*
 * Points link at target atomically: a symlink made at tmp (removed
 * first), renamed over link. 0 or -errno (tmp removed).
 */
int pt__symlink_replace(const char *target, const char *tmp, const char *link);
/* readlink(2) into buf, NUL-terminated: the length, or -errno. */
ssize_t pt__readlink(const char *path, char *buf, size_t size);
/* n bytes from the kernel's random source (getrandom): 0 or -errno. */
int pt__random_bytes(void *buf, size_t n);

/* stat(2): 0 or -errno (errno left as set). */
int pt__stat(const char *path, struct stat *st);
/* The working directory into buf: 0 or -errno (-ERANGE: too small). */
int pt__getcwd(char *buf, size_t size);
/* Whether path exists (access(2) F_OK, following symlinks). */
bool pt__exists(const char *path);

#endif
