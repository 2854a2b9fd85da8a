/*
 * os/file.h - whole-file reading with a size limit, atomic replacement,
 * directories.
 */
#ifndef PT_OS_FILE_H
#define PT_OS_FILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Reads the whole file at path into a NUL-terminated heap buffer (free
 * with pt__free). Fails with PT_ETOOBIG when it is larger than limit
 * bytes, -errno otherwise. *ret_len excludes the NUL.
 */
int pt__read_file(const char *path, size_t limit, char **ret, size_t *ret_len);
/* Same for an open fd, read from its current offset. */
int pt__read_fd(int fd, size_t limit, char **ret, size_t *ret_len);

/*
 * Replaces path atomically with data: writes an unnamed file in path's
 * directory (O_TMPFILE), fsyncs it, links it as "<path>.next.<16 random
 * hex digits>" and renames that over path, then fsyncs the directory.
 * Where O_TMPFILE is not supported the temporary name is created with
 * O_CREAT|O_EXCL|O_NOFOLLOW before writing. Either way no existing file or
 * planted symlink is ever opened, and concurrent writers of one path each
 * rename a complete file (the last rename wins). On failure path is
 * untouched and the temporary file removed.
 */
int pt__write_file_atomic(const char *path, const void *data, size_t len,
			  mode_t mode);

/* fsync of the directory containing path (or of path if a directory). */
int pt__fsync_dir_of(const char *path);
/* mkdir -p with mode for each created component; 0 if it exists. */
int pt__mkdir_p(const char *path, mode_t mode);
/* rm -rf; 0 when path does not exist. Does not follow symlinks. */
int pt__rm_rf(const char *path);

/*
 * Creates path exclusively for writing (O_EXCL: -EEXIST when it is there,
 * a planted symlink included; close-on-exec) with mode; the fd or -errno.
 */
int pt__open_excl(const char *path, unsigned mode);

#endif
