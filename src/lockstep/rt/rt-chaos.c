/*
 * lockstep/rt/rt-chaos.c - call faults of `proctor run --chaos`
 * (docs/chaos.md), in the same preloaded runtime as lockstep exec: one
 * library, one option block, PROCTOR_PRELOAD=mode=chaos,seed=S,log=PATH,
 * spec=RULE;RULE... (the spec last: it is the rest of the block).
 *
 * Without that block the interposers below are inert: one predictable
 * branch, then the next definition (libc). Under chaos, each interposed
 * call of a kind bumps a per-process counter (only calls that pass the
 * rule's filter count); rule i fails call n when pt__chaos_hit(seed, i,
 * n, rate): the same seed and plan fail the same calls at the same
 * counts. Every injected fault is appended to the log as one line
 * (O_APPEND, one write: lines of concurrent processes do not mix):
 *
 *	<job id> TAB <attempt> TAB <pid> TAB <call> TAB <n> TAB <error> TAB
 *<time>
 *
 * (time: the kernel's realtime clock, seconds since the epoch, to the
 * microsecond).
 *
 * Shells (bash, sh, dash) are left alone unless exe= names them: the job
 * command's own shell would otherwise fail before the program starts.
 * The block is kept in the environment, so the job's child programs are
 * covered too (each with its own counts).
 *
 * malloc rules are decided here too (pt__rt_chaos_alloc, called by the
 * allocator entry points of rt-alloc.c); only allocations of at least the
 * rule's size count. The log line of a fault, like every allocation the
 * runtime itself makes, is never faulted (a thread-local guard).
 */
/* open and open64 are both defined here: no redirection of one to the
 * other by the headers. */
#undef _FILE_OFFSET_BITS
#include "lockstep/rt/rt.h"

#include "base/chaos.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Not declared without _GNU_SOURCE / _LARGEFILE64_SOURCE. */
int open64(const char *path, int flags, ...);
int openat64(int dir, const char *path, int flags, ...);
int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);
int dup3(int fd, int to, int flags);
long syscall(long nr, ...);

RT_REAL(ssize_t, write, (int, const void *, size_t))
RT_REAL(ssize_t, read, (int, void *, size_t))
RT_REAL(int, fsync, (int))
RT_REAL(int, fdatasync, (int))
RT_REAL(int, open, (const char *, int, ...))
RT_REAL(int, open64, (const char *, int, ...))
RT_REAL(int, openat, (int, const char *, int, ...))
RT_REAL(int, openat64, (int, const char *, int, ...))
RT_REAL(int, connect, (int, const struct sockaddr *, socklen_t))
RT_REAL(ssize_t, send, (int, const void *, size_t, int))
RT_REAL(ssize_t, recv, (int, void *, size_t, int))
RT_REAL(int, accept, (int, struct sockaddr *, socklen_t *))
RT_REAL(int, accept4, (int, struct sockaddr *, socklen_t *, int))
RT_REAL(int, close, (int))
RT_REAL(int, dup2, (int, int))
RT_REAL(int, dup3, (int, int, int))

/*
 * The path of an fd is looked up once (readlink of /proc/self/fd costs
 * microseconds) and kept until the fd is closed or replaced: per fd below
 * FD_CACHE, which filtered rules its path matches (bit i: rule i).
 */
#define FD_CACHE 4096
static _Atomic uint32_t fd_match[FD_CACHE]; /* bit 31: known */
#define FD_KNOWN (UINT32_C(1) << 31)

static struct {
	bool active;
	uint64_t seed;
	int log;
	char job[512];
	char attempt[16];
	struct pt_chaos plan;
	bool has_call[PT_CHAOS_NCALLS];
	bool filtered[PT_CHAOS_NCALLS];
	_Atomic uint64_t count[PT_CHAOS_MAX_RULES];
} cx = { .log = -1 };

/* The calling thread is inside the runtime (its allocations never fail). */
static __thread bool in_rt __attribute__((tls_model("initial-exec")));

extern char *program_invocation_short_name;

static void clock_start(void);

static const char *opt(const char *block, const char *key)
{
	const char *p = strstr(block, key);

	while (p && p != block && p[-1] != ',')
		p = strstr(p + 1, key);
	return p ? p + strlen(key) : NULL;
}

__attribute__((constructor(102))) static void chaos_start(void)
{
	const char *env = getenv(PT_LSX_ENV), *v, *me;
	char copy[PT_CHAOS_MAX_SPEC + 1024], err[256];

	if (!env || strncmp(env, "mode=chaos,", 11) != 0)
		return; /* inert */
	snprintf(copy, sizeof(copy), "%s", env);
	me = program_invocation_short_name ? program_invocation_short_name : "";
	v = opt(copy, "spec=");
	if (!v || pt__chaos_parse(v, &cx.plan, err, sizeof(err)) < 0) {
		static const char msg[] = "chaos runtime: bad option block\n";
		(void)!get_write()(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	if (cx.plan.exe[0] ? strcmp(me, cx.plan.exe) != 0
			   : (!strcmp(me, "bash") || !strcmp(me, "sh") ||
			      !strcmp(me, "dash")))
		return; /* not the program under test */
	if ((v = opt(copy, "seed=")))
		cx.seed = strtoull(v, NULL, 10);
	if ((v = opt(copy, "log="))) {
		char path[1024];
		size_t n = strcspn(v, ",");

		if (n < sizeof(path)) {
			memcpy(path, v, n);
			path[n] = 0;
			cx.log = get_open()(
				path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				0600);
		}
	}
	snprintf(cx.job, sizeof(cx.job), "%s",
		 getenv("PROCTOR_JOB_ID") ? getenv("PROCTOR_JOB_ID") : "-");
	snprintf(cx.attempt, sizeof(cx.attempt), "%s",
		 getenv("PROCTOR_ATTEMPT") ? getenv("PROCTOR_ATTEMPT") : "1");
	for (unsigned i = 0; i < cx.plan.n; i++) {
		cx.has_call[cx.plan.rules[i].call] = true;
		if (cx.plan.rules[i].filter[0])
			cx.filtered[cx.plan.rules[i].call] = true;
	}
	cx.active = true;
	pt__rt_chaos_malloc = cx.has_call[PT_CHAOS_MALLOC];
	clock_start();
}

/* The path of fd (for filters), "" when unknown. */
static void fd_path(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
}

static void addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[64] = "";

	buf[0] = 0;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in = (const void *)sa;
		inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)sa;
		snprintf(buf, len, "%s", un->sun_path);
	}
}

/*
 * The rule that fails this call (its err), or 0: no fault. what is the
 * path or address the call is about (NULL: the fd's path when a rule of
 * this call has a filter).
 */
static bool filter_match(const struct pt_chaos_rule *r, const char *what)
{
	return what && !strncmp(what, r->filter, strlen(r->filter));
}

/* Which filtered rules the fd's path matches (cached, see FD_CACHE). */
static uint32_t fd_rules(int fd)
{
	char path[512];
	uint32_t m = 0;

	if (fd >= 0 && fd < FD_CACHE && (m = atomic_load(&fd_match[fd])))
		return m;
	fd_path(fd, path, sizeof(path));
	for (unsigned i = 0; i < cx.plan.n; i++)
		if (cx.plan.rules[i].filter[0] &&
		    filter_match(&cx.plan.rules[i], path))
			m |= UINT32_C(1) << i;
	m |= FD_KNOWN;
	if (fd >= 0 && fd < FD_CACHE)
		atomic_store(&fd_match[fd], m);
	return m;
}

static void fd_forget(int fd)
{
	if (fd >= 0 && fd < FD_CACHE)
		atomic_store(&fd_match[fd], 0);
}

/* A new fd (its number may have been closed inside libc): forgotten. */
static int fresh(int fd)
{
	if (cx.active)
		fd_forget(fd);
	return fd;
}

/*
 * One line of the log for a fault: call number n of a kind, what was done.
 * Allocations made meanwhile (none with glibc's snprintf of these formats)
 * are never faulted.
 */
static void log_fault(const char *call, uint64_t n, const char *what)
{
	char line[700];
	int len, saved = errno;
	struct timespec ts;

	if (cx.log < 0)
		return;
	in_rt = true;
	/* the kernel's clock: not the process's (faulted or virtual) one */
	if (syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) < 0)
		ts = (struct timespec){ 0 };
	len = snprintf(line, sizeof(line),
		       "%s\t%s\t%d\t%s\t%llu\t%s\t%lld.%06ld\n", cx.job,
		       cx.attempt, (int)getpid(), call, (unsigned long long)n,
		       what, (long long)ts.tv_sec, ts.tv_nsec / 1000);
	if (len > 0 && (size_t)len < sizeof(line))
		(void)!get_write()(cx.log, line, (size_t)len);
	in_rt = false;
	errno = saved;
}

static int decide(unsigned call, int fd, const char *what)
{
	uint32_t fdm = 0;
	int saved = errno;

	if (!cx.has_call[call])
		return 0;
	if (!what && cx.filtered[call])
		fdm = fd_rules(fd);
	for (unsigned i = 0; i < cx.plan.n; i++) {
		const struct pt_chaos_rule *r = &cx.plan.rules[i];
		uint64_t n;

		if (r->call != call)
			continue;
		if (r->filter[0] && (what ? !filter_match(r, what)
					  : !(fdm & (UINT32_C(1) << i))))
			continue;
		n = atomic_fetch_add(&cx.count[i], 1) + 1;
		if (!pt__chaos_hit(cx.seed, i, n, r->rate))
			continue;
		log_fault(pt__chaos_call_name(call), n,
			  pt__chaos_err_name(r->err));
		errno = saved;
		return r->err;
	}
	errno = saved;
	return 0;
}

bool pt__rt_chaos_malloc;
bool pt__rt_chaos_clock;

/*
 * Clock faults. Each clock class has the real time of the start of the
 * process (the constructor) as its base: "fast" stretches the time since
 * the base by the factor; "jump" adds its seconds from the seeded read on
 * (to the realtime class only when negative: the others stay monotonic).
 * The coarse clocks share the base of their precise twin.
 */
enum { CK_REAL, CK_MONO, CK_RAW, CK_BOOT, CK_N };

static struct {
	int64_t base[CK_N];
	int64_t jump;	  /* ns */
	uint64_t jump_at; /* the read that jumps */
	_Atomic uint64_t reads;
} ck;

static int clock_class(clockid_t clk)
{
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		return CK_REAL;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
		return CK_MONO;
	case CLOCK_MONOTONIC_RAW:
		return CK_RAW;
	case CLOCK_BOOTTIME:
		return CK_BOOT;
	default:
		return -1;
	}
}

static void clock_start(void)
{
	static const clockid_t ids[CK_N] = { CLOCK_REALTIME, CLOCK_MONOTONIC,
					     CLOCK_MONOTONIC_RAW,
					     CLOCK_BOOTTIME };

	if (!cx.plan.clock_jump && !cx.plan.clock_fast)
		return;
	for (int i = 0; i < CK_N; i++) {
		struct timespec ts = { 0, 0 };

		/* the kernel's clock, not an interposed one */
		syscall(SYS_clock_gettime, ids[i], &ts);
		ck.base[i] = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	}
	ck.jump = (int64_t)(cx.plan.clock_jump * 1e9);
	ck.jump_at = cx.plan.clock_jump ? pt__chaos_jump_read(&cx.plan, cx.seed)
					: UINT64_MAX;
	pt__rt_chaos_clock = true;
}

int64_t pt__rt_chaos_time(clockid_t clk, int64_t ns)
{
	int k = clock_class(clk);
	uint64_t n;

	if (k < 0)
		return ns;
	n = atomic_fetch_add(&ck.reads, 1) + 1;
	if (cx.plan.clock_fast) {
		double d = (double)(ns - ck.base[k]) * cx.plan.clock_fast;

		/* saturated far beyond any real use (292 years of ns) */
		d = d > 4e18 ? 4e18 : d < -4e18 ? -4e18 : d;
		ns = ck.base[k] + (int64_t)d;
		if (n == 1) {
			char what[64];

			snprintf(what, sizeof(what), "fast x%g",
				 cx.plan.clock_fast);
			log_fault("clock", n, what);
		}
	}
	if (n >= ck.jump_at) {
		if (ck.jump > 0 || k == CK_REAL)
			ns += ck.jump;
		if (n == ck.jump_at) {
			char what[64];

			snprintf(what, sizeof(what), "jump %+g s",
				 cx.plan.clock_jump);
			log_fault("clock", n, what);
		}
	}
	return ns;
}

bool pt__rt_chaos_alloc(size_t size)
{
	int saved = errno;

	if (in_rt)
		return false; /* the runtime's own (logging) */
	for (unsigned i = 0; i < cx.plan.n; i++) {
		const struct pt_chaos_rule *r = &cx.plan.rules[i];
		uint64_t n;

		if (r->call != PT_CHAOS_MALLOC || size < r->min_size)
			continue;
		n = atomic_fetch_add(&cx.count[i], 1) + 1;
		if (!pt__chaos_hit(cx.seed, i, n, r->rate))
			continue;
		log_fault("malloc", n, "ENOMEM");
		errno = saved;
		return true;
	}
	return false;
}

/* A fault's return: -1 with errno, or the short count. */
static ssize_t fault_count(int e, size_t n, ssize_t (*real)(void))
{
	(void)real;
	if (e == PT_CHAOS_SHORT)
		return (ssize_t)(n > 1 ? n / 2 : n);
	errno = e;
	return -1;
}

RT_API ssize_t write(int fd, const void *b, size_t n)
{
	int e;

	if (__builtin_expect(!cx.active, 1) || fd == cx.log ||
	    !(e = decide(PT_CHAOS_WRITE, fd, NULL)))
		return get_write()(fd, b, n);
	if (e == PT_CHAOS_SHORT)
		return get_write()(fd, b, n > 1 ? n / 2 : n);
	return fault_count(e, n, NULL);
}

RT_API ssize_t read(int fd, void *b, size_t n)
{
	int e;

	if (__builtin_expect(!cx.active, 1) ||
	    !(e = decide(PT_CHAOS_READ, fd, NULL)))
		return get_read()(fd, b, n);
	if (e == PT_CHAOS_SHORT)
		return get_read()(fd, b, n > 1 ? n / 2 : n);
	return fault_count(e, n, NULL);
}

RT_API int fsync(int fd)
{
	int e;

	if (__builtin_expect(!cx.active, 1) ||
	    !(e = decide(PT_CHAOS_FSYNC, fd, NULL)))
		return get_fsync()(fd);
	errno = e;
	return -1;
}

RT_API int fdatasync(int fd)
{
	int e;

	if (__builtin_expect(!cx.active, 1) ||
	    !(e = decide(PT_CHAOS_FSYNC, fd, NULL)))
		return get_fdatasync()(fd);
	errno = e;
	return -1;
}

#define OPEN_MODE(flags, mode)                           \
 do {                                                    \
  if ((flags) & (O_CREAT | 020000000 /* O_TMPFILE */)) { \
   va_list ap_;                                          \
   va_start(ap_, flags);                                 \
   mode = va_arg(ap_, int);                              \
   va_end(ap_);                                          \
  }                                                      \
 } while (0)

static int open_fault(const char *path)
{
	int e;

	if (__builtin_expect(!cx.active, 1) ||
	    !(e = decide(PT_CHAOS_OPEN, -1, path ? path : "")))
		return 0;
	errno = e;
	return -1;
}

RT_API int open(const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (open_fault(path) < 0)
		return -1;
	return fresh(get_open()(path, flags, mode));
}

RT_API int open64(const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (open_fault(path) < 0)
		return -1;
	return fresh(get_open64()(path, flags, mode));
}

RT_API int openat(int dir, const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (open_fault(path) < 0)
		return -1;
	return fresh(get_openat()(dir, path, flags, mode));
}

RT_API int openat64(int dir, const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (open_fault(path) < 0)
		return -1;
	return fresh(get_openat64()(dir, path, flags, mode));
}

RT_API int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	char what[160];
	int e;

	if (__builtin_expect(!cx.active, 1))
		return get_connect()(fd, sa, len);
	addr_text(sa, what, sizeof(what));
	if (!(e = decide(PT_CHAOS_CONNECT, fd, what)))
		return get_connect()(fd, sa, len);
	errno = e;
	return -1;
}

RT_API ssize_t send(int fd, const void *b, size_t n, int flags)
{
	int e;

	if (__builtin_expect(!cx.active, 1) ||
	    !(e = decide(PT_CHAOS_SEND, fd, NULL)))
		return get_send()(fd, b, n, flags);
	if (e == PT_CHAOS_SHORT)
		return get_send()(fd, b, n > 1 ? n / 2 : n, flags);
	return fault_count(e, n, NULL);
}

RT_API ssize_t recv(int fd, void *b, size_t n, int flags)
{
	int e;

	if (__builtin_expect(!cx.active, 1) ||
	    !(e = decide(PT_CHAOS_RECV, fd, NULL)))
		return get_recv()(fd, b, n, flags);
	if (e == PT_CHAOS_SHORT)
		return get_recv()(fd, b, n > 1 ? n / 2 : n, flags);
	return fault_count(e, n, NULL);
}

RT_API int close(int fd)
{
	if (cx.active)
		fd_forget(fd);
	return get_close()(fd);
}

RT_API int dup2(int fd, int to)
{
	if (cx.active)
		fd_forget(to);
	return get_dup2()(fd, to);
}

RT_API int dup3(int fd, int to, int flags)
{
	if (cx.active)
		fd_forget(to);
	return get_dup3()(fd, to, flags);
}

RT_API int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	int e;

	if (__builtin_expect(!cx.active, 1) ||
	    !(e = decide(PT_CHAOS_ACCEPT, fd, NULL)))
		return fresh(get_accept()(fd, sa, len));
	errno = e;
	return -1;
}

RT_API int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	int e;

	if (__builtin_expect(!cx.active, 1) ||
	    !(e = decide(PT_CHAOS_ACCEPT, fd, NULL)))
		return fresh(get_accept4()(fd, sa, len, flags));
	errno = e;
	return -1;
}
