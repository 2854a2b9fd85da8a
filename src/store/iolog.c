/*
 * store/iolog.c - io logs and attachments of a session.
 *
 * An io log is io-logs/<slug>.<crc>.<attempt>.log: the magic "PTIOLOG1"
 * then records, each a 16-byte little-endian header (stream u8, three zero
 * bytes, length u32, offset_ns i64), the bytes, and a CRC-32 of header and
 * bytes. Records are appended with one write(2) each, so a crash can only
 * tear the last record; the reader stops silently at a torn tail and
 * reports damage anywhere else with its byte offset. (PlainBox keeps gzip
 * JSON lines per record; the JSON form is what export writes.)
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "os/fd.h"
#include "os/file.h"
#include "store/store-internal.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#define IOLOG_MAGIC	 "PTIOLOG1"
#define IOLOG_HDR	 16
#define IOLOG_MAX_RECORD (16u << 20)
#define IOLOG_MAX_FILE	 (1024u << 20)

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
	fd = open(abs.s,
		  O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC |
			  O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		r = -errno;
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
	unsigned char hdr[IOLOG_HDR] = { 0 }, tail[4];
	uLong c;
	int r;

	if (!w || (len && !data) || len > IOLOG_MAX_RECORD ||
	    (stream != PT_STREAM_STDOUT && stream != PT_STREAM_STDERR))
		return -EINVAL;
	hdr[0] = (unsigned char)stream;
	put_le(hdr + 4, len, 4);
	put_le(hdr + 8, (uint64_t)offset_ns, 8);
	c = crc32(0L, hdr, IOLOG_HDR);
	c = crc32(c, data ? data : (const void *)"", (uInt)len);
	put_le(tail, c, 4);
	pt__buf_reset(&w->rec);
	r = pt__buf_add(&w->rec, hdr, IOLOG_HDR);
	if (r == 0)
		r = pt__buf_add(&w->rec, data ? data : "", len);
	if (r == 0)
		r = pt__buf_add(&w->rec, tail, 4);
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
	struct pt_buf abs = PT_BUF_INIT;
	char *data = NULL;
	size_t len = 0, off;
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
		r = pt__read_file(abs.s, IOLOG_MAX_FILE, &data, &len);
	if (r < 0) {
		pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL, "%s",
			       pt_strerror(r));
		goto out;
	}
	if (len < 8 || memcmp(data, IOLOG_MAGIC, 8) != 0) {
		r = len < 8 ? 0 : PT_ECORRUPT; /* torn at creation: empty */
		if (r < 0)
			pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL,
				       "byte 0: bad magic");
		goto out;
	}
	for (off = 8; off + IOLOG_HDR + 4 <= len;) {
		const unsigned char *h = (const unsigned char *)data + off;
		uint64_t n = get_le(h + 4, 4);
		struct pt_iolog_record rec;
		uLong c;

		if ((h[0] != PT_STREAM_STDOUT && h[0] != PT_STREAM_STDERR) ||
		    h[1] || h[2] || h[3] || n > IOLOG_MAX_RECORD) {
			r = PT_ECORRUPT;
			pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL,
				       "byte %zu: bad record header", off);
			goto out;
		}
		if (off + IOLOG_HDR + n + 4 > len)
			break; /* torn tail */
		c = crc32(0L, h, (uInt)(IOLOG_HDR + n));
		if (c != get_le(h + IOLOG_HDR + n, 4)) {
			if (off + IOLOG_HDR + n + 4 == len)
				break; /* the last record, torn in place */
			r = PT_ECORRUPT;
			pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL,
				       "byte %zu: record checksum mismatch",
				       off);
			goto out;
		}
		rec.stream = (enum pt_stream)h[0];
		rec.len = (size_t)n;
		rec.offset_ns = (int64_t)get_le(h + 8, 8);
		rec.data = h + IOLOG_HDR;
		r = fn(ctx, &rec);
		if (r != 0)
			goto out;
		off += IOLOG_HDR + (size_t)n + 4;
	}
	r = 0;
out:
	pt__free(data);
	pt__buf_release(&abs);
	return r;
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
