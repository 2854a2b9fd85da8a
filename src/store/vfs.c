/*
 * store/vfs.c - the "proctor" SQLite VFS: a thin shim over the default
 * unix VFS whose only job is to let tests fail writes and syncs of the
 * session database (ENOSPC, EIO) through the same kind of hooks as the
 * os/fd.h seam. Every other call is delegated unchanged. Registered once,
 * never as the default VFS.
 */
#include "base/common.h"
#include "store/store-internal.h"

#include <pthread.h>

static struct pt_io_faults faults;
static sqlite3_vfs shim_vfs;
static sqlite3_vfs *base_vfs;

void pt__store_set_faults(const struct pt_io_faults *f)
{
	if (f)
		faults = *f;
	else
		memset(&faults, 0, sizeof(faults));
}

/*
 * SQLite writes each WAL frame as two write(2)s: its 24-byte header, then
 * the page right after it. A WAL file of the shim holds the header back
 * and writes both with one call when the page comes (a commit of two
 * pages: 2 syscalls instead of 4). Every other call on the file writes a
 * held header first, so nothing is reordered or lost: the commit frame
 * is in the kernel before COMMIT returns, as without the shim.
 */
#define WAL_FRAME_HDR 24

struct shim_file {
	sqlite3_file base;
	sqlite3_file *real;	/* follows this struct in the same allocation */
	bool wal;		/* a WAL file: frame headers are joined */
	bool held;		/* hdr waits for its page */
	sqlite3_int64 hdr_off;	/* where hdr goes */
	unsigned char hdr[WAL_FRAME_HDR];
	unsigned char *joined;	/* header + page buffer (pt__malloc) */
	size_t joined_size;
};

/* Writes a held frame header on its own: SQLITE_OK or the error. */
static int flush_held(struct shim_file *p)
{
	if (!p->held)
		return SQLITE_OK;
	p->held = false;
	return p->real->pMethods->xWrite(p->real, p->hdr, WAL_FRAME_HDR,
					 p->hdr_off);
}

#define FLUSH_OR_RETURN(p)                  \
 do {                                       \
  int rc_ = flush_held(p);                  \
  if (rc_ != SQLITE_OK)                     \
   return rc_;                              \
 } while (0)

static int errno_to_sqlite(int err, int ioerr)
{
	return err == -ENOSPC ? SQLITE_FULL : ioerr;
}

static int shim_close(sqlite3_file *f)
{
	struct shim_file *p = (struct shim_file *)f;
	int rc = flush_held(p), rc2;

	pt__freep(&p->joined);
	p->joined_size = 0;
	rc2 = p->real->pMethods->xClose(p->real);
	return rc != SQLITE_OK ? rc : rc2;
}

static int shim_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xRead(p->real, buf, n, off);
}

static int shim_write(sqlite3_file *f, const void *buf, int n,
		      sqlite3_int64 off)
{
	struct shim_file *p = (struct shim_file *)f;

	if (faults.before_write) {
		int r = faults.before_write(faults.ctx, -1, (size_t)n);
		if (r < 0)
			return errno_to_sqlite(r, SQLITE_IOERR_WRITE);
	}
	if (p->wal && n == WAL_FRAME_HDR && !p->held) {
		memcpy(p->hdr, buf, WAL_FRAME_HDR);
		p->hdr_off = off;
		p->held = true;
		return SQLITE_OK;
	}
	if (p->held && off == p->hdr_off + WAL_FRAME_HDR && n > 0) {
		size_t need = WAL_FRAME_HDR + (size_t)n;
		if (need > p->joined_size) {
			unsigned char *j = pt__malloc(need);
			if (j) {
				pt__free(p->joined);
				p->joined = j;
				p->joined_size = need;
			}
		}
		if (need <= p->joined_size) {
			p->held = false;
			memcpy(p->joined, p->hdr, WAL_FRAME_HDR);
			memcpy(p->joined + WAL_FRAME_HDR, buf, (size_t)n);
			return p->real->pMethods->xWrite(p->real, p->joined,
							 (int)need, p->hdr_off);
		}
	}
	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xWrite(p->real, buf, n, off);
}

static int shim_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xTruncate(p->real, size);
}

static int shim_sync(sqlite3_file *f, int flags)
{
	struct shim_file *p = (struct shim_file *)f;

	if (faults.before_fsync) {
		int r = faults.before_fsync(faults.ctx, -1);
		if (r < 0)
			return errno_to_sqlite(r, SQLITE_IOERR_FSYNC);
	}
	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xSync(p->real, flags);
}

static int shim_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xFileSize(p->real, size);
}

static int shim_lock(sqlite3_file *f, int lock)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xLock(p->real, lock);
}

static int shim_unlock(sqlite3_file *f, int lock)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xUnlock(p->real, lock);
}

static int shim_check_reserved(sqlite3_file *f, int *out)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int shim_file_control(sqlite3_file *f, int op, void *arg)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int shim_sector_size(sqlite3_file *f)
{
	struct shim_file *p = (struct shim_file *)f;

	return p->real->pMethods->xSectorSize(p->real);
}

static int shim_device_chars(sqlite3_file *f)
{
	struct shim_file *p = (struct shim_file *)f;

	return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int shim_shm_map(sqlite3_file *f, int pg, int pgsz, int extend,
			void volatile **pp)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xShmMap(p->real, pg, pgsz, extend, pp);
}

static int shim_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xShmLock(p->real, off, n, flags);
}

static void shim_shm_barrier(sqlite3_file *f)
{
	struct shim_file *p = (struct shim_file *)f;

	(void)flush_held(p); /* cannot fail here; never held at a barrier */
	p->real->pMethods->xShmBarrier(p->real);
}

static int shim_shm_unmap(sqlite3_file *f, int del)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xShmUnmap(p->real, del);
}

static int shim_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xFetch(p->real, off, n, pp);
}

static int shim_unfetch(sqlite3_file *f, sqlite3_int64 off, void *pg)
{
	struct shim_file *p = (struct shim_file *)f;

	FLUSH_OR_RETURN(p);
	return p->real->pMethods->xUnfetch(p->real, off, pg);
}

/* Version 3 methods; only used when the real file has version 3. */
static const sqlite3_io_methods shim_methods_v3 = {
	3,
	shim_close,
	shim_read,
	shim_write,
	shim_truncate,
	shim_sync,
	shim_file_size,
	shim_lock,
	shim_unlock,
	shim_check_reserved,
	shim_file_control,
	shim_sector_size,
	shim_device_chars,
	shim_shm_map,
	shim_shm_lock,
	shim_shm_barrier,
	shim_shm_unmap,
	shim_fetch,
	shim_unfetch,
};

/* Version 1 methods for files without shm/mmap (journals, temp files). */
static const sqlite3_io_methods shim_methods_v1 = {
	1,
	shim_close,
	shim_read,
	shim_write,
	shim_truncate,
	shim_sync,
	shim_file_size,
	shim_lock,
	shim_unlock,
	shim_check_reserved,
	shim_file_control,
	shim_sector_size,
	shim_device_chars,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
};

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
		     int flags, int *out_flags)
{
	struct shim_file *p = (struct shim_file *)f;
	int rc;

	(void)vfs;
	p->real = (sqlite3_file *)(p + 1);
	p->base.pMethods = NULL;
	p->wal = (flags & SQLITE_OPEN_WAL) != 0;
	p->held = false;
	p->hdr_off = 0;
	p->joined = NULL;
	p->joined_size = 0;
	rc = base_vfs->xOpen(base_vfs, name, p->real, flags, out_flags);
	if (p->real->pMethods) {
		p->base.pMethods = p->real->pMethods->iVersion >= 3
					   ? &shim_methods_v3
					   : &shim_methods_v1;
	}
	return rc;
}

static int shim_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return base_vfs->xDelete(base_vfs, name, sync_dir);
}

static int shim_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return base_vfs->xAccess(base_vfs, name, flags, out);
}

static int shim_full_path(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return base_vfs->xFullPathname(base_vfs, name, n, out);
}

static void *shim_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return base_vfs->xDlOpen(base_vfs, name);
}

static void shim_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	base_vfs->xDlError(base_vfs, n, msg);
}

static void (*shim_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return base_vfs->xDlSym(base_vfs, h, sym);
}

static void shim_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	base_vfs->xDlClose(base_vfs, h);
}

static int shim_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return base_vfs->xRandomness(base_vfs, n, out);
}

static int shim_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return base_vfs->xSleep(base_vfs, us);
}

static int shim_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return base_vfs->xCurrentTime(base_vfs, out);
}

static int shim_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return base_vfs->xGetLastError(base_vfs, n, out);
}

static int shim_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

static int register_rc = SQLITE_OK;

static void do_register(void)
{
	base_vfs = sqlite3_vfs_find(NULL);
	if (!base_vfs || base_vfs->iVersion < 2) {
		register_rc = SQLITE_ERROR;
		return;
	}
	shim_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct shim_file) + base_vfs->szOsFile,
		.mxPathname = base_vfs->mxPathname,
		.zName = PT_STORE_VFS,
		.xOpen = shim_open,
		.xDelete = shim_delete,
		.xAccess = shim_access,
		.xFullPathname = shim_full_path,
		.xDlOpen = shim_dlopen,
		.xDlError = shim_dlerror,
		.xDlSym = shim_dlsym,
		.xDlClose = shim_dlclose,
		.xRandomness = shim_randomness,
		.xSleep = shim_sleep,
		.xCurrentTime = shim_current_time,
		.xGetLastError = shim_last_error,
		.xCurrentTimeInt64 = shim_current_time64,
	};
	register_rc = sqlite3_vfs_register(&shim_vfs, 0);
}

int pt__store_vfs_register(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, do_register);
	return register_rc == SQLITE_OK ? 0 : pt__store_sqlite_err(register_rc);
}
