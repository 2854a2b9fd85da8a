/*
 * store/iolog.h - the io log format, one codec for every reader and
 * writer of io logs (the store's, the runner's by path, export):
 *
 *   "PTIOLOG1", then records: a 16-byte little-endian header (stream u8,
 *   three zero bytes, length u32, offset_ns i64), the bytes, and a
 *   CRC-32 of header and bytes.
 *
 * Records are appended with one write(2) each, so a crash can only tear
 * the last one: the reader ends silently at a torn tail (a short header or
 * record, or a last record whose CRC fails) and reports damage anywhere
 * else (PT_ECORRUPT, with the byte offset). It streams: at most one record
 * in memory.
 */
#ifndef PT_STORE_IOLOG_H
#define PT_STORE_IOLOG_H

#include "base/common.h"

#include <proctor/store.h>

#define PT_IOLOG_MAGIC	 "PTIOLOG1"
#define PT_IOLOG_HDR	 16	     /* stream, 0, 0, 0, u32 len, i64 off */
#define PT_IOLOG_TAIL	 4	     /* CRC-32 of header and bytes */
#define PT_IOLOG_MAX_REC (16u << 20) /* the reader's limit per record */

/*
 * Encodes a record: hdr gets PT_IOLOG_HDR bytes, tail the CRC of hdr and
 * data (PT_IOLOG_TAIL bytes). hdr, data and tail may be contiguous (one
 * write of the whole record).
 */
void pt__iolog_encode(unsigned char *hdr, enum pt_stream stream,
		      int64_t offset_ns, const void *data, size_t len,
		      unsigned char *tail);

/* A streaming reader of one io log file. */
struct pt__iolog_reader {
	int fd;
	uint64_t off;	      /* file offset of buf[0] */
	unsigned char *buf;   /* window */
	size_t cap, pos, len; /* buf[pos..len) not consumed */
	bool eof;
	const char *why; /* what PT_ECORRUPT found (static) */
};

/*
 * Opens path: 0, -errno, or PT_ECORRUPT (bad magic). A file shorter than
 * the magic (torn at creation) reads as an empty log.
 */
int pt__iolog_reader_open(struct pt__iolog_reader *r, const char *path);
/*
 * Next record: 1 and *rec (data valid until the next call), 0 at the end
 * (or a torn tail), PT_ECORRUPT (r->why, at pt__iolog_reader_offset), or
 * -errno.
 */
int pt__iolog_reader_next(struct pt__iolog_reader *r,
			  struct pt_iolog_record *rec);
uint64_t pt__iolog_reader_offset(const struct pt__iolog_reader *r);
void pt__iolog_reader_close(struct pt__iolog_reader *r);

#endif
