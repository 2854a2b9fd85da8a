/*
 * runner/iolog.c - io logs: the writer used while a job runs (when the
 * caller gives no store) and the public reader by path, both on the
 * store's codec (store/iolog.h: the one implementation of the format);
 * one record per read(2) of a job's pipe, so a record the runner writes
 * is at most its read buffer (64 KiB).
 */
#include "runner/runner-internal.h"

#include "base/buf.h"
#include "os/fd.h"
#include "os/runos.h"
#include "store/iolog.h"

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
	pt__iolog_encode(hdr, stream, offset_ns, data, len, data + len);
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

/* The reader by path: the store's codec (store/iolog.h). */
struct pt_runner_iolog {
	struct pt__iolog_reader rd;
};

PT_API int pt_runner_iolog_open(const char *path, struct pt_runner_iolog **ret)
{
	struct pt_runner_iolog *r;
	int e;

	if (!path || !ret)
		return -EINVAL;
	r = pt__calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	e = pt__iolog_reader_open(&r->rd, path);
	if (e < 0) {
		pt__free(r);
		return e;
	}
	*ret = r;
	return 0;
}

PT_API int pt_runner_iolog_next(struct pt_runner_iolog *r,
				struct pt_runner_iolog_rec *rec)
{
	struct pt_iolog_record x;
	int e;

	if (!r || !rec)
		return -EINVAL;
	e = pt__iolog_reader_next(&r->rd, &x);
	if (e <= 0)
		return e;
	rec->stream = x.stream;
	rec->offset_ns = x.offset_ns;
	rec->data = x.data;
	rec->len = x.len;
	return 1;
}

PT_API uint64_t pt_runner_iolog_offset(const struct pt_runner_iolog *r)
{
	return r ? pt__iolog_reader_offset(&r->rd) : 0;
}

PT_API struct pt_runner_iolog *pt_runner_iolog_close(struct pt_runner_iolog *r)
{
	if (r) {
		pt__iolog_reader_close(&r->rd);
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
