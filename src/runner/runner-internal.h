/*
 * runner/runner-internal.h - parts of the runner shared by its files and
 * its tests: the io log writer and the port lease table.
 */
#ifndef PT_RUNNER_INTERNAL_H
#define PT_RUNNER_INTERNAL_H

#include "base/common.h"

#include <proctor/runner.h>

#include "store/iolog.h" /* the format and its codec */

/*
 * An io log being written. The file is created on the first record, so a
 * job that prints nothing costs no file. Memory: none beyond the path;
 * records are written straight through.
 */
struct pt_iolog_w {
	char *path;	/* owned; NULL: output is counted, not kept */
	int fd;		/* -1 until the first record */
	int err;	/* first write error (-errno), kept to report */
	uint64_t bytes; /* payload bytes written */
};

/* path may be NULL (discard). Copies path. 0 or -ENOMEM. */
int pt__iolog_w_init(struct pt_iolog_w *w, const char *path);
/*
 * Appends one record. PT_IOLOG_HDR writable bytes must precede data and
 * PT_IOLOG_TAIL follow it: header and CRC are built there so that one
 * write(2) carries the record. Errors are remembered in w->err.
 */
int pt__iolog_w_add(struct pt_iolog_w *w, int64_t offset_ns,
		    enum pt_stream stream, unsigned char *data, size_t len);
/* Closes the file; returns w->err. Keeps w->path (NULL if no file). */
int pt__iolog_w_close(struct pt_iolog_w *w);
void pt__iolog_w_release(struct pt_iolog_w *w);

/*
 * TCP port leases: blocks of `count` consecutive ports in [min, max),
 * block b = min + b * count. A block is leased to one running job of this
 * process (the table) and of any proctor process of the same user (an
 * flock on <lock_dir>/block-<base>.lock held while leased), and only when
 * every port of it binds right now, or (the fast path, docs/runner.md)
 * when this runner checked it less than PT_PORTS_RECHECK_NS ago, the jobs
 * that had it since ended cleanly, and the TCP census of the namespace
 * (pt__tcp_census) has not changed since that check.
 */
#define PT_PORTS_RECHECK_NS 1000000000LL
/*
 * The census is read at most this often (a pread of procfs: ~2-4 us, a
 * few percent of a short job's cost): a change is seen at most this late.
 */
#define PT_PORTS_CENSUS_TTL_NS 10000000LL

struct pt_ports {
	unsigned min, count, nblocks;
	char *lock_dir;	       /* owned */
	unsigned char *leased; /* per block */
	/* per block: flock held by us and ports known free as of checked */
	unsigned char *trusted;
	int *lock_fd;	       /* per block; cached open fds, -1 if none */
	int64_t *checked_ns;   /* per block: time of the last bind check */
	uint64_t *census;      /* per block: census hash then; 0 unknown */
	unsigned nopen;	       /* open lock fds */
	int census_fd;	       /* /proc/net/sockstat, -1 if not open */
	uint64_t census_last;  /* the census read last, 0 if none */
	int64_t census_ns;     /* when */
	uint64_t census_reads; /* (for tests) */
	uint64_t probes;       /* blocks bind-checked (for tests) */
};

/* The machine's shared lock directory, and the per-user fallback. */
#define PT_PORTS_SHARED_DIR  "/tmp/proctor-ports"
#define PT_PORTS_PRIVATE_FMT "/tmp/proctor-ports-%u"

/*
 * Chooses the lock directory (ports.c, top comment): shared when it is
 * safe (made mode 1777 when missing), else private_dir (made 0700; NULL:
 * no fallback). *ret (heap) is the choice; *ret_notice (heap or NULL)
 * says why shared was not used. 0, -EPERM (no safe directory; *ret NULL,
 * *ret_notice says why) or -ENOMEM.
 */
int pt__ports_lock_dir(const char *shared, const char *private_dir, char **ret,
		       char **ret_notice);

int pt__ports_init(struct pt_ports *p, unsigned min, unsigned max,
		   unsigned count, const char *lock_dir);
void pt__ports_release_all(struct pt_ports *p);
/*
 * Leases a block: its first port goes to *ret_base. Lowest free block
 * first (keeps the set of lock files small). PT_EFULL when no block is
 * free, -errno for a failure of the lock directory.
 */
int pt__ports_lease(struct pt_ports *p, unsigned *ret_base);
/*
 * Returns a block. clean: the job ended by itself with its whole process
 * group (no timeout, cancel, or process outside the group holding its
 * pipes), so it is unlikely to have left a port bound; otherwise the
 * block is bind-checked again before its next lease.
 */
void pt__ports_return(struct pt_ports *p, unsigned base, bool clean);

/*
 * A variable the runner sets for each job (PROCTOR_SESSION_ID, ...,
 * TMPDIR): a value inherited from a parent proctor is stale. Shared with
 * the Slurm executor, which builds the same environment.
 */
bool pt__runner_env_is_ours(const char *kv);

#endif
