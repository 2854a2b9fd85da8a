/*
 * runner/iolog.c - io logs: the writer used while a job runs (when the
 * caller gives no store) and the public reader by path. The format is the
 * store's (proctor/runner.h); one record per read(2) of a job's pipe, so
 * a record the runner writes is at most its read buffer (64 KiB).
 */
#include "runner/runner-internal.h"

#include <zlib.h>

#include "base/buf.h"
#include "os/fd.h"
#include "os/runos.h"

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int pt__iolog_w_init(struct pt_iolog_w *w, const char *path)
{
	w->path = NULL;
	w->fd = -1;
	w->err = 0;
	w->bytes = 0;
	if (path) {
		w->path = pt__strdup(path);
		if (!w->path)
			return -ENOMEM;
	}
	return 0;
}

int pt__iolog_w_add(struct pt_iolog_w *w, int64_t offset_ns,
		    enum pt_stream stream, unsigned char *data, size_t len)
{
	unsigned char *hdr = data - PT_IOLOG_HDR;
	int r;

	w->bytes += len;
	if (!w->path || w->err)
		return w->err;
	if (w->fd < 0) {
		r = pt__open_wr(w->path);
		if (r < 0)
			return w->err = r;
		w->fd = r;
		r = pt__write_all(w->fd, PT_IOLOG_MAGIC, 8);
		if (r < 0)
			return w->err = r;
	}
	uLong c;

	memset(hdr, 0, PT_IOLOG_HDR);
	hdr[0] = (unsigned char)stream;
	put_le(hdr + 4, len, 4);
	put_le(hdr + 8, (uint64_t)(offset_ns < 0 ? 0 : offset_ns), 8);
	c = crc32(0L, hdr, (uInt)(PT_IOLOG_HDR + len));
	put_le(data + len, c, 4);
	r = pt__write_all(w->fd, hdr, PT_IOLOG_HDR + len + PT_IOLOG_TAIL);
	if (r < 0)
		w->err = r;
	return r;
}

int pt__iolog_w_close(struct pt_iolog_w *w)
{
	if (w->fd >= 0)
		w->fd = pt__close(w->fd);
	else
		pt__freep(&w->path); /* no file was written */
	return w->err;
}

void pt__iolog_w_release(struct pt_iolog_w *w)
{
	w->fd = pt__close(w->fd);
	pt__freep(&w->path);
}

/* The reader: buffered, bounded (one record at most in memory). */
struct pt_runner_iolog {
	int fd;
	uint64_t off;	      /* file offset of buf[0] */
	unsigned char *buf;   /* window */
	size_t cap, pos, len; /* buf[pos..len) not consumed */
	bool eof;
};

PT_API int pt_runner_iolog_open(const char *path, struct pt_runner_iolog **ret)
{
	struct pt_runner_iolog *r;
	unsigned char magic[8];
	ssize_t n;
	int fd;

	if (!path || !ret)
		return -EINVAL;
	fd = pt__open_rd(path);
	if (fd < 0)
		return fd;
	n = pt__read_full(fd, magic, 8);
	if (n < 0) {
		pt__close(fd);
		return (int)n;
	}
	if (n == 8 && memcmp(magic, PT_IOLOG_MAGIC, 8)) {
		pt__close(fd);
		return PT_ECORRUPT;
	}
	r = pt__calloc(1, sizeof(*r));
	if (!r) {
		pt__close(fd);
		return -ENOMEM;
	}
	r->fd = fd;
	r->off = 8;
	r->eof = n < 8; /* torn at creation: an empty log, as in the store */
	r->cap = 64 * 1024;
	r->buf = pt__malloc(r->cap);
	if (!r->buf) {
		pt_runner_iolog_close(r);
		return -ENOMEM;
	}
	*ret = r;
	return 0;
}

/* Makes at least need bytes available at buf[pos]; false at EOF first. */
static int fill(struct pt_runner_iolog *r, size_t need)
{
	if (r->len - r->pos >= need)
		return 1;
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->off += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	if (need > r->cap) {
		unsigned char *nb = pt__realloc(r->buf, need);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = need;
	}
	while (r->len < need && !r->eof) {
		ssize_t n =
			pt__read_some(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0)
			return (int)n;
		if (n == 0)
			r->eof = true;
		r->len += (size_t)n;
	}
	return r->len >= need;
}

PT_API int pt_runner_iolog_next(struct pt_runner_iolog *r,
				struct pt_runner_iolog_rec *rec)
{
	const unsigned char *h;
	size_t len, whole;
	int f;

	if (!r || !rec)
		return -EINVAL;
	f = fill(r, PT_IOLOG_HDR);
	if (f <= 0)
		return f; /* end, or a torn header */
	h = r->buf + r->pos;
	len = (size_t)get_le(h + 4, 4);
	if ((h[0] != PT_STREAM_STDOUT && h[0] != PT_STREAM_STDERR) || h[1] ||
	    h[2] || h[3] || len > PT_IOLOG_MAX_REC ||
	    get_le(h + 8, 8) > INT64_MAX)
		return PT_ECORRUPT;
	whole = PT_IOLOG_HDR + len + PT_IOLOG_TAIL;
	f = fill(r, whole);
	if (f <= 0)
		return f; /* a torn last record: what a crash leaves */
	h = r->buf + r->pos;
	if (crc32(0L, h, (uInt)(PT_IOLOG_HDR + len)) !=
	    get_le(h + PT_IOLOG_HDR + len, 4)) {
		/* The last record torn in place is the end, as in the store. */
		f = fill(r, whole + 1);
		if (f < 0)
			return f;
		return f == 0 ? 0 : PT_ECORRUPT;
	}
	h = r->buf + r->pos;
	rec->stream = (enum pt_stream)h[0];
	rec->offset_ns = (int64_t)get_le(h + 8, 8);
	rec->data = h + PT_IOLOG_HDR;
	rec->len = len;
	r->pos += whole;
	return 1;
}

PT_API uint64_t pt_runner_iolog_offset(const struct pt_runner_iolog *r)
{
	return r ? r->off + r->pos : 0;
}

PT_API struct pt_runner_iolog *pt_runner_iolog_close(struct pt_runner_iolog *r)
{
	if (r) {
		pt__close(r->fd);
		pt__free(r->buf);
		pt__free(r);
	}
	return NULL;
}

PT_API int pt_runner_iolog_read(const char *path, unsigned mask, size_t limit,
				char **ret, size_t *ret_len,
				bool *ret_truncated)
{
	struct pt_runner_iolog *rd = NULL;
	struct pt_runner_iolog_rec rec;
	struct pt_buf b = PT_BUF_INIT;
	bool trunc = false;
	int r;

	if (!ret)
		return -EINVAL;
	if (path) {
		r = pt_runner_iolog_open(path, &rd);
		if (r < 0)
			return r;
		/*
		 * Keep at most 2 * limit bytes: when the buffer passes that,
		 * drop all but the last limit bytes (amortised O(1) per byte).
		 */
		while ((r = pt_runner_iolog_next(rd, &rec)) > 0) {
			const unsigned char *d = rec.data;
			size_t n = rec.len;

			if (!(mask & (unsigned)rec.stream))
				continue;
			if (n > limit) {
				d += n - limit;
				n = limit;
				pt__buf_reset(&b);
				trunc = true;
			}
			if (b.len + n > 2 * limit && b.len + n > limit) {
				size_t drop = b.len + n - limit;
				if (drop > b.len)
					drop = b.len;
				memmove(b.s, b.s + drop, b.len - drop);
				pt__buf_truncate(&b, b.len - drop);
				trunc = true;
			}
			r = pt__buf_add(&b, d, n);
			if (r < 0)
				break;
		}
		pt_runner_iolog_close(rd);
		if (r < 0) {
			pt__buf_release(&b);
			return r;
		}
		if (b.len > limit) {
			size_t drop = b.len - limit;
			memmove(b.s, b.s + drop, b.len - drop);
			pt__buf_truncate(&b, b.len - drop);
			trunc = true;
		}
	}
	if (ret_len)
		*ret_len = b.len;
	if (ret_truncated)
		*ret_truncated = trunc;
	*ret = b.cap ? pt__buf_detach(&b, NULL) : pt__strdup("");
	return *ret ? 0 : -ENOMEM;
}
