/* base/tar.c - tar members in pax format (tar.h). */
#include "base/tar.h"
#include "base/buf.h"
#include "base/common.h"

#define BLOCK 512

static const char zeros[BLOCK * 2];

/* Octal v in a field of n bytes (n - 1 digits, NUL). */
static void octal(char *field, size_t n, uint64_t v)
{
	field[n - 1] = '\0';
	for (size_t i = n - 1; i > 0; i--) {
		field[i - 1] = (char)('0' + (v & 7));
		v >>= 3;
	}
}

static int header(pt_tar_sink sink, void *ctx, const char *name,
		  const char *prefix, char type, unsigned mode, int64_t mtime,
		  uint64_t size)
{
	char h[BLOCK];
	unsigned sum = 0;

	memset(h, 0, sizeof(h));
	memcpy(h, name, strlen(name));			       /* name[100] */
	octal(h + 100, 8, mode & 07777);		       /* mode */
	octal(h + 108, 8, 0);				       /* uid */
	octal(h + 116, 8, 0);				       /* gid */
	octal(h + 124, 12, size);			       /* size */
	octal(h + 136, 12, (uint64_t)(mtime < 0 ? 0 : mtime)); /* mtime */
	memset(h + 148, ' ', 8);			       /* chksum */
	h[156] = type;					       /* typeflag */
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8); /* magic, version */
	if (prefix)
		memcpy(h + 345, prefix, strlen(prefix)); /* prefix[155] */
	for (size_t i = 0; i < BLOCK; i++)
		sum += (unsigned char)h[i];
	octal(h + 148, 7, sum);
	h[155] = ' ';
	return sink(ctx, h, BLOCK);
}

static int data(pt_tar_sink sink, void *ctx, const void *p, size_t len)
{
	int rc = len ? sink(ctx, p, len) : 0;

	if (rc == 0 && len % BLOCK)
		rc = sink(ctx, zeros, BLOCK - len % BLOCK);
	return rc;
}

/* A pax record "LEN path=NAME\n", LEN counting itself. */
int pt__tar_pad(pt_tar_sink sink, void *ctx, uint64_t size)
{
	return size % BLOCK ? sink(ctx, zeros, BLOCK - size % BLOCK) : 0;
}

/* A pax record "LEN path=NAME\n", LEN counting itself. */
static int pax_path(struct pt_buf *b, const char *name)
{
	size_t body = strlen(" path=\n") + strlen(name), len = body, digits;

	for (;;) {
		char tmp[24];
		digits = (size_t)snprintf(tmp, sizeof(tmp), "%zu", len);
		if (body + digits == len)
			break;
		len = body + digits;
	}
	return pt__buf_addf(b, "%zu path=%s\n", len, name);
}

int pt__tar_begin(pt_tar_sink sink, void *ctx, const char *name, unsigned mode,
		  int64_t mtime, uint64_t size)
{
	size_t n = name ? strlen(name) : 0;
	char pfx[156], base[101], shortname[101];
	const char *cut = NULL;
	struct pt_buf x = PT_BUF_INIT;
	int rc;

	if (!n || n > PT_TAR_NAME_MAX || name[0] == '/' ||
	    size >= (uint64_t)1 << 33)
		return -EINVAL;
	if (n <= 100)
		return header(sink, ctx, name, NULL, '0', mode, mtime, size);
	/* ustar: prefix "/" name, split at a '/' */
	for (const char *s = name + n - 1; s > name; s--)
		if (*s == '/' && (size_t)(s - name) <= 155 &&
		    n - (size_t)(s - name) - 1 <= 100 && s[1]) {
			cut = s;
			break;
		}
	if (cut) {
		memcpy(pfx, name, (size_t)(cut - name));
		pfx[cut - name] = '\0';
		snprintf(base, sizeof(base), "%s", cut + 1);
		return header(sink, ctx, base, pfx, '0', mode, mtime, size);
	}
	if (pax_path(&x, name) < 0)
		return -ENOMEM;
	snprintf(shortname, sizeof(shortname), "%.100s", name);
	rc = header(sink, ctx, "././@PaxHeader", NULL, 'x', 0644, mtime, x.len);
	rc = rc ? rc : data(sink, ctx, x.s, x.len);
	pt__buf_release(&x);
	return rc ? rc
		  : header(sink, ctx, shortname, NULL, '0', mode, mtime, size);
}

int pt__tar_file(pt_tar_sink sink, void *ctx, const char *name, unsigned mode,
		 int64_t mtime, const void *p, size_t len)
{
	int rc;

	if (!p && len)
		return -EINVAL;
	rc = pt__tar_begin(sink, ctx, name, mode, mtime, len);
	return rc ? rc : data(sink, ctx, p, len);
}

int pt__tar_end(pt_tar_sink sink, void *ctx)
{
	return sink(ctx, zeros, sizeof(zeros));
}
