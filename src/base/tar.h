/*
 * base/tar.h - tar archive members as Python's tarfile writes them
 * (POSIX.1-2001 "pax" format, its default): a 512-byte ustar header per
 * member, a pax extended header before it when the name does not fit
 * the ustar fields, the data padded to 512 bytes, and two zero blocks at
 * the end. No I/O: bytes go to a caller's sink.
 */
#ifndef PT_BASE_TAR_H
#define PT_BASE_TAR_H

#include "base/common.h"

/* Where the archive's bytes go; returns 0 or a negative error. */
typedef int (*pt_tar_sink)(void *ctx, const void *data, size_t len);

/* Longest member name accepted. */
#define PT_TAR_NAME_MAX 4096

/*
 * One regular file member: name (no leading '/', at most
 * PT_TAR_NAME_MAX bytes), mode, mtime (seconds), data[0..len). Returns 0,
 * -EINVAL for a bad name, or the sink's error.
 */
int pt__tar_file(pt_tar_sink sink, void *ctx, const char *name, unsigned mode,
		 int64_t mtime, const void *data, size_t len);
/*
 * The same in pieces, for data streamed by the caller: the header(s) of
 * a member of size bytes, then the caller sends exactly size bytes to the
 * sink, then pt__tar_pad() completes the last block.
 */
int pt__tar_begin(pt_tar_sink sink, void *ctx, const char *name, unsigned mode,
		  int64_t mtime, uint64_t size);
int pt__tar_pad(pt_tar_sink sink, void *ctx, uint64_t size);
/* The end of the archive: two zero blocks. */
int pt__tar_end(pt_tar_sink sink, void *ctx);

#endif
