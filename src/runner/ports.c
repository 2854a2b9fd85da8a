/*
 * runner/ports.c - the TCP port lease table (see runner-internal.h).
 *
 * Two jobs must never get the same port, including jobs of another
 * proctor process running at the same time (parallel CI jobs, test
 * suites). Inside the process the table says which blocks are leased;
 * across processes an flock on a per-block lock file does. Finally every
 * port of the block is bound once (without SO_REUSEADDR) to check that
 * no unrelated program uses it. The kernel's ephemeral range (32768 and
 * up by default) is avoided by the default range, so outgoing connections
 * of other programs do not land in it.
 *
 * The bind check costs a socket, bind and close per port (~10 us each on
 * a VM), four ports per job by default: the largest part of the runner's
 * CPU per job. So a block that this runner checked, whose jobs since then
 * all ended cleanly (pt__ports_return), is leased again without the check
 * while the TCP census of the network namespace (/proc/net/sockstat: TCP
 * sockets in use, orphaned, in TIME_WAIT, allocated) is the one taken at
 * the check, and for at most PT_PORTS_RECHECK_NS. A job that leaves a
 * socket behind (a daemon that escaped its process group, a connection in
 * TIME_WAIT), like any other program that binds a port, changes the
 * census and the next lease checks again. The flock of such a block stays
 * held between its jobs (no other process may take it meanwhile).
 *
 * Lock files are opened once and kept; blocks are tried lowest first, so
 * a run uses about as many files as it runs jobs at once. They are never
 * deleted: deleting a lock file races with another process locking it.
 *
 * One lease namespace per machine: the lock directory is
 * PT_PORTS_SHARED_DIR for every user and run (whatever XDG_RUNTIME_DIR
 * or TMPDIR say), made mode 1777 by whoever comes first. It is used only
 * when other users cannot tamper with it (pt__dir_check_safe: a real
 * directory owned by root or by us, sticky when others may write). Lock
 * files are made mode 0644 and locked through read-only fds, so every
 * user can lock every file. When the shared directory is not safe (made
 * by another user, say: an administrator can make it root's with a
 * tmpfiles.d line), runs fall back to a private directory per user, with
 * a notice saying that leases are then not shared with other users; when
 * that one is not safe either, the runner refuses (-EPERM) and says why.
 */
#include "runner/runner-internal.h"

#include "base/buf.h"
#include "base/map.h"
#include "os/clock.h"
#include "os/fd.h"
#include "os/file.h"
#include "os/lock.h"
#include "os/runos.h"

/* Why dir is not safe, for a notice (r from pt__dir_check_safe). */
static int why_unsafe(struct pt_buf *b, const char *dir, int r, unsigned uid,
		      unsigned mode)
{
	if (r == -ENOTDIR)
		return pt__buf_addf(b, "%s is a symlink or not a directory",
				    dir);
	if (r == -EPERM && uid != 0 && uid != pt__uid())
		return pt__buf_addf(b, "%s is owned by uid %u", dir, uid);
	if (r == -EPERM)
		return pt__buf_addf(b,
				    "%s is writable by others without the "
				    "sticky bit (mode %04o)",
				    dir, mode);
	return pt__buf_addf(b, "%s: %s", dir, pt_strerror(r));
}

/* Makes dir (mode) when missing and checks it; 0 or as pt__dir_check_safe
 * (uid and mode for why_unsafe). */
static int safe_dir(const char *dir, unsigned mode, unsigned *uid, unsigned *m)
{
	int r = pt__dir_check_safe(dir, uid, m);

	if (r == -ENOENT) {
		r = pt__mkdir_exact(dir, mode);
		if (r < 0 && r != -EEXIST)
			return r;
		r = pt__dir_check_safe(dir, uid, m);
	}
	return r;
}

int pt__ports_lock_dir(const char *shared, const char *private_dir, char **ret,
		       char **ret_notice)
{
	struct pt_buf note = PT_BUF_INIT;
	unsigned uid = 0, mode = 0;
	const char *chosen = NULL;
	int r, e = 0;

	*ret = NULL;
	*ret_notice = NULL;
	r = safe_dir(shared, private_dir ? 01777 : 0700, &uid, &mode);
	if (r == 0) {
		chosen = shared;
	} else {
		e |= pt__buf_adds(&note, "port leases: ");
		e |= why_unsafe(&note, shared, r, uid, mode);
		if (private_dir) {
			r = safe_dir(private_dir, 0700, &uid, &mode);
			if (r == 0) {
				chosen = private_dir;
				e |= pt__buf_addf(&note,
						  "; using %s, not shared with "
						  "other users' runs",
						  private_dir);
			} else {
				e |= pt__buf_adds(&note, ", and ");
				e |= why_unsafe(&note, private_dir, r, uid,
						mode);
			}
		}
		if (!chosen)
			e |= pt__buf_adds(&note, ": refusing to lease ports "
						 "(remove it, or run with "
						 "--ports 0)");
	}
	if (e || (chosen && !(*ret = pt__strdup(chosen)))) {
		pt__buf_release(&note);
		return -ENOMEM;
	}
	if (note.len)
		*ret_notice = pt__buf_detach(&note, NULL);
	pt__buf_release(&note);
	return chosen ? 0 : -EPERM;
}

int pt__ports_init(struct pt_ports *p, unsigned min, unsigned max,
		   unsigned count, const char *lock_dir)
{
	memset(p, 0, sizeof(*p));
	p->census_fd = -1;
	if (count == 0)
		return 0;
	if (min == 0 || max > 65536 || min >= max || max - min < count)
		return -EINVAL;
	p->min = min;
	p->count = count;
	p->nblocks = (max - min) / count;
	p->lock_dir = pt__strdup(lock_dir);
	p->leased = pt__calloc(p->nblocks, 1);
	p->trusted = pt__calloc(p->nblocks, 1);
	p->lock_fd = pt__malloc_array(p->nblocks, sizeof(int));
	p->checked_ns = pt__calloc(p->nblocks, sizeof(int64_t));
	p->census = pt__calloc(p->nblocks, sizeof(uint64_t));
	if (!p->lock_dir || !p->leased || !p->trusted || !p->lock_fd ||
	    !p->checked_ns || !p->census) {
		pt__ports_release_all(p);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < p->nblocks; i++)
		p->lock_fd[i] = -1;
	return 0;
}

void pt__ports_release_all(struct pt_ports *p)
{
	if (p->lock_fd) {
		for (unsigned i = 0; i < p->nblocks; i++)
			pt__close(p->lock_fd[i]);
	}
	pt__freep(&p->lock_fd);
	pt__freep(&p->leased);
	pt__freep(&p->trusted);
	pt__freep(&p->checked_ns);
	pt__freep(&p->census);
	p->census_fd = pt__close(p->census_fd);
	pt__freep(&p->lock_dir);
	p->nblocks = 0;
}

/* Takes the cross-process lock of block b: 0, -EWOULDBLOCK or -errno. */
static int lock_block(struct pt_ports *p, unsigned b)
{
	struct pt_buf path = PT_BUF_INIT;
	int r;

	if (p->lock_fd[b] >= 0)
		return pt__lock(p->lock_fd[b], PT_LOCK_EX | PT_LOCK_NB);
	r = pt__buf_addf(&path, "%s/block-%u.lock", p->lock_dir,
			 p->min + b * p->count);
	if (r < 0)
		return r;
	r = pt__lock_take_shared(path.s);
	if (r == -ENOENT) {
		r = pt__mkdir_p(p->lock_dir, 0700);
		if (r == 0)
			r = pt__lock_take_shared(path.s);
	}
	pt__buf_release(&path);
	/* Another user's file we may not read, a symlink, or not a file:
	 * never followed nor waited on; the block is skipped. */
	if (r == -EACCES || r == -EBADFD || r == -ELOOP)
		return -EWOULDBLOCK;
	if (r < 0)
		return r;
	p->lock_fd[b] = r;
	p->nopen++;
	return 0;
}

/*
 * Hash of the TCP census, read at most every PT_PORTS_CENSUS_TTL_NS; 0
 * when it cannot be read (no fast path).
 */
static uint64_t census_now(struct pt_ports *p, int64_t now)
{
	char buf[128];
	int n;
	uint64_t h;

	if (p->census_last && now - p->census_ns < PT_PORTS_CENSUS_TTL_NS)
		return p->census_last;
	p->census_reads++;
	n = pt__tcp_census(&p->census_fd, buf, sizeof(buf));
	if (n <= 0)
		return p->census_last = 0;
	h = pt__hash_bytes(buf, (size_t)n);
	p->census_ns = now;
	return p->census_last = h ? h : 1;
}

/* Gives up our hold on block b (flock released, to be checked again). */
static void untrust(struct pt_ports *p, unsigned b)
{
	if (p->trusted[b])
		(void)!pt__lock(p->lock_fd[b], PT_LOCK_UN);
	p->trusted[b] = 0;
}

int pt__ports_lease(struct pt_ports *p, unsigned *ret_base)
{
	int64_t now = pt__now_ns();
	uint64_t census = census_now(p, now);

	for (unsigned b = 0; b < p->nblocks; b++) {
		unsigned base = p->min + b * p->count, i;
		int r;

		if (p->leased[b])
			continue;
		if (p->trusted[b] && census && census == p->census[b] &&
		    now - p->checked_ns[b] < PT_PORTS_RECHECK_NS) {
			p->leased[b] = 1; /* nothing moved since the check */
			*ret_base = base;
			return 0;
		}
		if (!p->trusted[b]) {
			r = lock_block(p, b);
			if (r == -EWOULDBLOCK || r == -EAGAIN)
				continue; /* another proctor process has it */
			if (r < 0)
				return r;
		}
		p->probes++;
		for (i = 0; i < p->count; i++) {
			if (pt__port_probe(base + i) < 0)
				break;
		}
		if (i < p->count) {
			/* some program uses a port of it */
			(void)!pt__lock(p->lock_fd[b], PT_LOCK_UN);
			p->trusted[b] = 0;
			continue;
		}
		p->trusted[b] = 1;
		p->checked_ns[b] = now;
		p->census[b] = census;
		p->leased[b] = 1;
		*ret_base = base;
		return 0;
	}
	return PT_EFULL;
}

void pt__ports_return(struct pt_ports *p, unsigned base, bool clean)
{
	unsigned b;

	if (!p->count || base < p->min)
		return;
	b = (base - p->min) / p->count;
	if (b >= p->nblocks || !p->leased[b])
		return;
	p->leased[b] = 0;
	/* A clean block keeps its flock until its next lease (fast path). */
	if (!clean)
		untrust(p, b);
	/* Bound the number of cached fds: far blocks are closed. */
	if (p->nopen > 64) {
		untrust(p, b);
		p->lock_fd[b] = pt__close(p->lock_fd[b]);
		p->nopen--;
	}
}
