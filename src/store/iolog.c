/*
 * store/iolog.c - io logs and attachments of a session.
 *
 * An io log is io-logs/<slug>.<crc>.<attempt>.log in the format of
 * store/iolog.h, whose codec (record encoding, the streaming reader) is
 * here and is the only one: the runner's writer and its reader by path
 * use it too. (PlainBox keeps gzip JSON lines per record; the JSON form
 * is what export writes.)
 */
#include "store/iolog.h"
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "os/fd.h"
#include "os/file.h"
#include "os/runos.h"
#include "store/store-internal.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#define IOLOG_MAGIC	 PT_IOLOG_MAGIC
#define IOLOG_HDR	 PT_IOLOG_HDR
#define IOLOG_MAX_RECORD PT_IOLOG_MAX_REC

struct pt_iolog {
	int fd;
	char *path; /* relative to the session directory */
	struct pt_buf rec;
};

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ---- the codec */

void pt__iolog_encode(unsigned char *hdr, enum pt_stream stream,
		      int64_t offset_ns, const void *data, size_t len,
		      unsigned char *tail)
{
	uLong c;

	memset(hdr, 0, PT_IOLOG_HDR);
	hdr[0] = (unsigned char)stream;
	put_le(hdr + 4, len, 4);
	put_le(hdr + 8, (uint64_t)(offset_ns < 0 ? 0 : offset_ns), 8);
	c = crc32(0L, hdr, PT_IOLOG_HDR);
	c = crc32(c, data ? data : (const void *)"", (uInt)len);
	put_le(tail, c, 4);
}

int pt__iolog_reader_open(struct pt__iolog_reader *r, const char *path)
{
	unsigned char magic[8];
	ssize_t n;
	int fd;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
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
		r->why = "bad magic";
		return PT_ECORRUPT;
	}
	r->fd = fd;
	r->off = 8;
	r->eof = n < 8; /* torn at creation: an empty log */
	r->cap = 64 * 1024;
	r->buf = pt__malloc(r->cap);
	if (!r->buf) {
		pt__iolog_reader_close(r);
		return -ENOMEM;
	}
	return 0;
}

/* Makes at least need bytes available at buf[pos]; 0 at EOF first. */
static int fill(struct pt__iolog_reader *r, size_t need)
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
			pt__read_once(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0)
			return (int)n;
		if (n == 0)
			r->eof = true;
		r->len += (size_t)n;
	}
	return r->len >= need;
}

int pt__iolog_reader_next(struct pt__iolog_reader *r,
			  struct pt_iolog_record *rec)
{
	const unsigned char *h;
	size_t len, whole;
	int f;

	f = fill(r, PT_IOLOG_HDR);
	if (f <= 0)
		return f; /* end, or a torn header */
	h = r->buf + r->pos;
	len = (size_t)get_le(h + 4, 4);
	if ((h[0] != PT_STREAM_STDOUT && h[0] != PT_STREAM_STDERR) || h[1] ||
	    h[2] || h[3] || len > PT_IOLOG_MAX_REC ||
	    get_le(h + 8, 8) > INT64_MAX) {
		r->why = "bad record header";
		return PT_ECORRUPT;
	}
	whole = PT_IOLOG_HDR + len + PT_IOLOG_TAIL;
	f = fill(r, whole);
	if (f <= 0)
		return f; /* a torn last record: what a crash leaves */
	h = r->buf + r->pos;
	if (crc32(0L, h, (uInt)(PT_IOLOG_HDR + len)) !=
	    get_le(h + PT_IOLOG_HDR + len, 4)) {
		/* The last record torn in place is the end. */
		f = fill(r, whole + 1);
		if (f < 0)
			return f;
		r->why = "record checksum mismatch";
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

uint64_t pt__iolog_reader_offset(const struct pt__iolog_reader *r)
{
	return r->off + r->pos;
}

void pt__iolog_reader_close(struct pt__iolog_reader *r)
{
	r->fd = pt__close(r->fd);
	pt__freep(&r->buf);
}

/* "<slug>.<crc32 of id>": unique per id even when slugs collide. */
static int job_file_stem(struct pt_buf *b, const char *job_id)
{
	uLong c = crc32(0L, (const Bytef *)job_id, (uInt)strlen(job_id));
	int r = pt__store_slug(b, job_id);

	return r < 0 ? r : pt__buf_addf(b, ".%08lx", (unsigned long)c);
}

int pt__store_iolog_create_at(struct pt_store *s, const char *rel,
			      struct pt_iolog **ret)
{
	struct pt_buf abs = PT_BUF_INIT;
	struct pt_iolog *w = NULL;
	int r, fd = -1;

	if (!pt__store_rel_path_ok(rel, "io-logs"))
		return -EINVAL;
	r = pt__buf_addf(&abs, "%s/%s", s->dir, rel);
	if (r < 0)
		goto out;
	fd = pt__open_wr(abs.s);
	if (fd < 0) {
		r = fd;
		fd = -1;
		goto out;
	}
	r = pt__write_all(fd, IOLOG_MAGIC, 8);
	if (r < 0)
		goto out;
	w = pt__calloc(1, sizeof(*w));
	if (!w) {
		r = -ENOMEM;
		goto out;
	}
	w->fd = fd;
	fd = -1;
	w->rec = (struct pt_buf)PT_BUF_INIT;
	w->path = pt__strdup(rel);
	if (!w->path) {
		r = -ENOMEM;
		goto out;
	}
	*ret = w;
	w = NULL;
out:
	pt_iolog_free(w);
	pt__close(fd);
	pt__buf_release(&abs);
	return r;
}

int pt_store_iolog_open(struct pt_store *s, const char *job_id,
			unsigned attempt, struct pt_iolog **ret)
{
	struct pt_buf rel = PT_BUF_INIT;
	int r;

	if (!s || !job_id || !*job_id || !ret ||
	    strlen(job_id) > PT_STORE_MAX_JOB_ID)
		return -EINVAL;
	if (!s->writer)
		return PT_ESTATE;
	r = pt__buf_adds(&rel, "io-logs/");
	if (r == 0)
		r = job_file_stem(&rel, job_id);
	if (r == 0)
		r = pt__buf_addf(&rel, ".%u.log", attempt);
	if (r == 0)
		r = pt__store_iolog_create_at(s, rel.s, ret);
	pt__buf_release(&rel);
	return r;
}

int pt_iolog_append(struct pt_iolog *w, int64_t offset_ns,
		    enum pt_stream stream, const void *data, size_t len)
{
	unsigned char hdr[PT_IOLOG_HDR], tail[PT_IOLOG_TAIL];
	int r;

	if (!w || (len && !data) || len > IOLOG_MAX_RECORD ||
	    (stream != PT_STREAM_STDOUT && stream != PT_STREAM_STDERR))
		return -EINVAL;
	pt__iolog_encode(hdr, stream, offset_ns, data, len, tail);
	pt__buf_reset(&w->rec);
	r = pt__buf_add(&w->rec, hdr, PT_IOLOG_HDR);
	if (r == 0)
		r = pt__buf_add(&w->rec, data ? data : "", len);
	if (r == 0)
		r = pt__buf_add(&w->rec, tail, PT_IOLOG_TAIL);
	if (r == 0)
		r = pt__write_all(w->fd, w->rec.s, w->rec.len);
	return r;
}

const char *pt_iolog_path(const struct pt_iolog *w)
{
	return w ? w->path : NULL;
}

int pt_iolog_sync(struct pt_iolog *w, enum pt_sync sync)
{
	if (!w)
		return -EINVAL;
	/* NORMAL: every record is already in the kernel (write(2)). */
	return sync == PT_SYNC_FULL ? pt__io_fdatasync(w->fd) : 0;
}

struct pt_iolog *pt_iolog_free(struct pt_iolog *w)
{
	if (!w)
		return NULL;
	pt__close(w->fd);
	pt__free(w->path);
	pt__buf_release(&w->rec);
	pt__free(w);
	return NULL;
}

bool pt__store_rel_path_ok(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	const char *name;

	if (!p || strncmp(p, dir, n) != 0 || p[n] != '/')
		return false;
	name = p + n + 1;
	return *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0 && strlen(name) <= 1024;
}

int pt_store_iolog_read(struct pt_store *s, const char *path,
			int (*fn)(void *ctx, const struct pt_iolog_record *rec),
			void *ctx, struct pt_diags *d)
{
	struct pt__iolog_reader rd;
	struct pt_buf abs = PT_BUF_INIT;
	struct pt_iolog_record rec;
	int r;

	if (!s || !fn)
		return -EINVAL;
	if (!pt__store_rel_path_ok(path, "io-logs")) {
		pt__store_diag(d, PT_SEV_ERROR, -EINVAL, path ? path : "(null)",
			       0, "io_log", "not an io-log path");
		return -EINVAL;
	}
	r = pt__buf_addf(&abs, "%s/%s", s->dir, path);
	if (r == 0)
		r = pt__iolog_reader_open(&rd, abs.s);
	pt__buf_release(&abs);
	if (r == PT_ECORRUPT) {
		pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL, "byte 0: %s",
			       rd.why);
		return r;
	}
	if (r < 0) {
		pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL, "%s",
			       pt_strerror(r));
		return r;
	}
	while ((r = pt__iolog_reader_next(&rd, &rec)) > 0) {
		r = fn(ctx, &rec);
		if (r != 0)
			break;
	}
	if (r == PT_ECORRUPT)
		pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL,
			       "byte %" PRIu64 ": %s",
			       pt__iolog_reader_offset(&rd), rd.why);
	pt__iolog_reader_close(&rd);
	return r; /* 0, an error, or what fn returned to stop */
}

/* "attachments/<job stem>.<name slug>" */
static int attachment_rel(struct pt_buf *rel, const char *job_id,
			  const char *name)
{
	int r = pt__buf_adds(rel, "attachments/");

	if (r == 0)
		r = job_file_stem(rel, job_id);
	if (r == 0)
		r = pt__buf_addch(rel, '.');
	if (r == 0)
		r = pt__store_slug(rel, name);
	return r;
}

int pt_store_attachment_path(const struct pt_store *s, const char *job_id,
			     const char *name, char **ret)
{
	struct pt_buf rel = PT_BUF_INIT;
	int r;

	if (!s || !job_id || !*job_id || !name || !*name || !ret)
		return -EINVAL;
	r = attachment_rel(&rel, job_id, name);
	if (r == 0 && !(*ret = pt__buf_detach(&rel, NULL)))
		r = -ENOMEM;
	pt__buf_release(&rel);
	return r;
}

int pt_store_attach(struct pt_store *s, const char *job_id, const char *name,
		    const void *data, size_t len, char **ret_path)
{
	struct pt_buf rel = PT_BUF_INIT, abs = PT_BUF_INIT;
	int r;

	if (!s || !job_id || !*job_id || !name || !*name || (len && !data))
		return -EINVAL;
	if (!s->writer)
		return PT_ESTATE;
	r = attachment_rel(&rel, job_id, name);
	if (r == 0)
		r = pt__buf_addf(&abs, "%s/%s", s->dir, rel.s);
	if (r == 0)
		r = pt__write_file_atomic(abs.s, data ? data : "", len, 0600);
	if (r == 0 && ret_path) {
		*ret_path = pt__buf_detach(&rel, NULL);
		if (!*ret_path)
			r = -ENOMEM;
	}
	pt__buf_release(&rel);
	pt__buf_release(&abs);
	return r;
}
